//! Fuzz target bodies, as plain functions so they run on stable Rust without libFuzzer
//! (`fuzz/fuzz_targets/milter_session.rs` calls them; so do this crate's property tests).
//!
//! They check invariants with `assert!`: a failed assertion is the bug a fuzzer reports.

use mailstamp_milter::{
    Command, Event, FrameDecoder, MilterOptions, Modification, Reply, ReplyCode, Session, Verdict,
};

/// Feeds `data` to a [`FrameDecoder`] in pieces whose sizes come from the data itself, hands
/// every decoded command to a [`Session`] and answers every command that expects a reply (with
/// a verdict and, at end of message, modifications picked from the data).
///
/// Checks: nothing panics; every decoded command encodes and decodes back to itself; the
/// session's output is a sequence of well-formed replies; after a fatal error the session is
/// closed.
///
/// # Panics
///
/// When an invariant is broken: that is a bug for the fuzzer to report.
pub fn session(data: &[u8]) {
    let mut decoder = FrameDecoder::with_max_frame_len(64 * 1024);
    let mut session = Session::new(MilterOptions::default());
    let mut out = Vec::new();
    let mut pos = 0;
    let mut choice = data.first().copied().unwrap_or(0);
    'feed: while pos < data.len() {
        let step = 1 + (data[pos] as usize % 97);
        let end = (pos + step).min(data.len());
        decoder.feed(&data[pos..end]);
        pos = end;
        loop {
            let command = match decoder.poll_command() {
                Ok(Some(c)) => c,
                Ok(None) => break,
                Err(_) => break 'feed,
            };
            check_command_roundtrip(&command);
            match session.handle(command) {
                Ok(Some(Event::EndOfMessage { .. })) => {
                    choice = choice.wrapping_add(1);
                    let mods = modifications(choice);
                    if session.end_of_message(&mods, verdict(choice)).is_err() {
                        session
                            .end_of_message(&[], Verdict::Continue)
                            .expect("a plain verdict is always allowed");
                    }
                }
                Ok(_) => {
                    if session.expects_reply() {
                        choice = choice.wrapping_add(1);
                        if choice.is_multiple_of(5) {
                            session.progress().expect("progress while a reply is owed");
                        }
                        if session.reply(verdict(choice)).is_err() {
                            session
                                .reply(Verdict::Continue)
                                .expect("continue is always allowed");
                        }
                    }
                }
                Err(e) => {
                    if e.is_fatal() {
                        assert!(session.is_closed());
                        break 'feed;
                    }
                }
            }
            out.extend(session.take_output());
        }
    }
    let _ = decoder.finish();
    check_replies(&out);
}

fn verdict(choice: u8) -> Verdict {
    match choice % 8 {
        0 => Verdict::Accept,
        1 => Verdict::Reject,
        2 => Verdict::Tempfail,
        3 => Verdict::Discard,
        4 => Verdict::Skip,
        5 => Verdict::ReplyCode(ReplyCode::new(550, Some("5.7.1"), "no 100%").expect("valid")),
        _ => Verdict::Continue,
    }
}

fn modifications(choice: u8) -> Vec<Modification> {
    let mut mods = vec![Modification::AddHeader {
        name: b"X-Test".to_vec(),
        value: b"v".to_vec(),
    }];
    if choice.is_multiple_of(2) {
        mods.push(Modification::ChangeHeader {
            index: 1,
            name: b"Subject".to_vec(),
            value: Vec::new(),
        });
    }
    if choice.is_multiple_of(3) {
        mods.push(Modification::ReplaceBody(b"body\r\n".to_vec()));
    }
    if choice.is_multiple_of(7) {
        mods.push(Modification::AddHeader {
            name: b"Bad Name".to_vec(),
            value: b"v".to_vec(),
        });
    }
    mods
}

fn check_command_roundtrip(command: &Command) {
    let bytes = command.to_bytes().expect("a decoded command encodes");
    let back = Command::decode(bytes[4], &bytes[5..]).expect("an encoded command decodes");
    assert_eq!(&back, command);
}

fn check_replies(out: &[u8]) {
    let mut d = FrameDecoder::with_max_frame_len(u32::MAX);
    d.feed(out);
    while let Some(reply) = d
        .poll_reply()
        .expect("the session writes well-formed replies")
    {
        let bytes = reply.to_bytes().expect("a decoded reply encodes");
        assert_eq!(Reply::decode(bytes[4], &bytes[5..]).as_ref(), Ok(&reply));
    }
    d.finish().expect("the session writes whole frames");
}
