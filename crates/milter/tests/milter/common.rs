//! Helpers shared by the test modules.

use std::path::PathBuf;

use mailstamp_milter::{
    Actions, Command, Event, FrameDecoder, MilterOptions, OptNeg, ProtocolFlags, Reply, Session,
};

/// Reads a hex fixture from `tests/data`: `#` comments and white space are ignored.
pub fn hex_fixture(name: &str) -> Vec<u8> {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/data")
        .join(name);
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let digits: String = text
        .lines()
        .filter(|l| !l.trim_start().starts_with('#'))
        .flat_map(|l| l.chars())
        .filter(|c| !c.is_whitespace())
        .collect();
    assert!(
        digits.len().is_multiple_of(2),
        "{name}: odd number of hex digits"
    );
    (0..digits.len())
        .step_by(2)
        .map(|i| {
            u8::from_str_radix(&digits[i..i + 2], 16).unwrap_or_else(|e| panic!("{name}: {e}"))
        })
        .collect()
}

/// The offer of a current Postfix: version 6, every action and protocol flag.
pub fn postfix_offer() -> OptNeg {
    OptNeg {
        version: 6,
        actions: Actions::from_bits_retain(0x1ff),
        protocol: ProtocolFlags::from_bits_retain(0x1f_ffff),
    }
}

/// Decodes everything a milter sent.
pub fn replies(bytes: &[u8]) -> Vec<Reply> {
    let mut d = FrameDecoder::new();
    d.feed(bytes);
    let mut out = Vec::new();
    while let Some(r) = d.poll_reply().expect("well-formed replies") {
        out.push(r);
    }
    d.finish().expect("whole frames");
    out
}

/// A session with the default options, negotiated with a Postfix offer (its reply discarded).
pub fn negotiated_session(options: MilterOptions, offer: OptNeg) -> Session {
    let mut s = Session::new(options);
    match s.handle(Command::OptNeg(offer)) {
        Ok(Some(Event::Negotiated(_))) => {}
        other => panic!("negotiation: {other:?}"),
    }
    s.take_output();
    s
}

/// Sends `command` and answers `Continue` when a reply is expected.
pub fn step(s: &mut Session, command: Command) -> Option<Event> {
    let e = s.handle(command).expect("command accepted");
    if s.expects_reply() && !matches!(e, Some(Event::EndOfMessage { .. })) {
        s.reply(mailstamp_milter::Verdict::Continue)
            .expect("continue");
    }
    e
}

pub fn mail(sender: &str) -> Command {
    Command::Mail {
        sender: sender.as_bytes().to_vec(),
        args: vec![],
    }
}

pub fn rcpt(recipient: &str) -> Command {
    Command::Rcpt {
        recipient: recipient.as_bytes().to_vec(),
        args: vec![],
    }
}

pub fn header(name: &str, value: &str) -> Command {
    Command::Header {
        name: name.as_bytes().to_vec(),
        value: value.as_bytes().to_vec(),
    }
}
