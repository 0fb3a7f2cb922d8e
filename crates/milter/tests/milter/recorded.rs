//! The recorded session of `tests/data/postfix_session.*.hex`: what a Postfix MTA sends for two
//! messages on one connection (the second after an abort), replayed through the decoder and the
//! session; the replies must match the recorded milter side byte for byte, however the MTA's
//! bytes are split into reads.

use mailstamp_milter::{
    Event, Family, FrameDecoder, MilterOptions, Modification, Reply, Session, Stage, Verdict,
};

use crate::common::{hex_fixture, replies};

/// What the application saw: each event with the macros it looked up then.
#[derive(Debug)]
struct Seen {
    event: Event,
    queue_id: Option<String>,
    auth: Option<String>,
}

/// Replays `mta` split into reads of `chunk` bytes; returns the events and the milter's bytes.
fn replay(mta: &[u8], chunk: usize) -> (Vec<Seen>, Vec<u8>) {
    let mut decoder = FrameDecoder::new();
    let mut session = Session::new(MilterOptions::default());
    let mut seen = Vec::new();
    let mut out = Vec::new();
    for piece in mta.chunks(chunk) {
        decoder.feed(piece);
        while let Some(command) = decoder.poll_command().expect("the recording decodes") {
            let Some(event) = session.handle(command).expect("the recording is in order") else {
                continue;
            };
            let macros = session.macros();
            let queue_id = macros.get("i").map(str::to_owned);
            let auth = macros.get("{auth_authen}").map(str::to_owned);
            match &event {
                Event::Rcpt { recipient, .. } if recipient == "<nobody@example.net>" => {
                    session.reply(Verdict::Reject).unwrap();
                }
                Event::EndOfMessage { .. } if auth.is_some() => {
                    let value = format!(
                        "mx.example.net; auth=pass smtp.auth={}",
                        auth.as_deref().unwrap_or("")
                    );
                    let add = Modification::AddHeader {
                        name: b"Authentication-Results".to_vec(),
                        value: value.into_bytes(),
                    };
                    session.end_of_message(&[add], Verdict::Accept).unwrap();
                }
                Event::EndOfMessage { .. } => {
                    let delete = Modification::ChangeHeader {
                        index: 1,
                        name: b"Authentication-Results".to_vec(),
                        value: Vec::new(),
                    };
                    session
                        .end_of_message(&[delete], Verdict::Continue)
                        .unwrap();
                }
                _ if session.expects_reply() => session.reply(Verdict::Continue).unwrap(),
                _ => {}
            }
            out.extend(session.take_output());
            seen.push(Seen {
                event,
                queue_id,
                auth,
            });
        }
    }
    decoder
        .finish()
        .expect("the recording ends on a frame boundary");
    assert!(session.is_closed(), "the recording ends with quit");
    (seen, out)
}

#[test]
fn replies_match_the_recording_byte_for_byte() {
    let mta = hex_fixture("postfix_session.mta.hex");
    let expected = hex_fixture("postfix_session.milter.hex");
    for chunk in [mta.len(), 1, 3, 7, 64, 1000] {
        let (_, out) = replay(&mta, chunk);
        assert_eq!(out, expected, "reads of {chunk} bytes");
    }
}

#[test]
fn events_and_macros_of_the_recording() {
    let mta = hex_fixture("postfix_session.mta.hex");
    let (seen, _) = replay(&mta, mta.len());
    let kinds: Vec<&str> = seen
        .iter()
        .map(|s| match &s.event {
            Event::Negotiated(_) => "optneg",
            Event::Connect { .. } => "connect",
            Event::Helo { .. } => "helo",
            Event::MailFrom { .. } => "mail",
            Event::Rcpt { .. } => "rcpt",
            Event::Data => "data",
            Event::Header(_) => "header",
            Event::EndOfHeaders => "eoh",
            Event::BodyChunk(_) => "body",
            Event::EndOfMessage { .. } => "eom",
            Event::Abort => "abort",
            Event::Quit => "quit",
            Event::QuitNewConnection => "quit-nc",
            Event::Unknown { .. } => "unknown",
        })
        .collect();
    assert_eq!(
        kinds,
        [
            "optneg", "connect", "helo", "mail", "rcpt", "rcpt", "header", "header", "header",
            "header", "header", "header", "eoh", "body", "body", "eom", "abort", "mail", "rcpt",
            "rcpt", "header", "eoh", "body", "eom", "quit"
        ]
    );

    let Event::Negotiated(n) = &seen[0].event else {
        unreachable!()
    };
    assert!(n.is_complete(), "{:?}", n.shortfall());

    match &seen[1].event {
        Event::Connect {
            hostname,
            family,
            port,
            address,
            ip,
        } => {
            assert_eq!(hostname, "client.example.org");
            assert_eq!(*family, Family::Inet);
            assert_eq!(*port, 52345);
            assert_eq!(address, "192.0.2.10");
            assert_eq!(*ip, Some("192.0.2.10".parse().unwrap()));
        }
        other => panic!("{other:?}"),
    }
    match &seen[3].event {
        Event::MailFrom { sender, args } => {
            assert_eq!(sender, "<alice@example.org>");
            assert_eq!(args, &["SIZE=512", "BODY=8BITMIME"]);
        }
        other => panic!("{other:?}"),
    }
    assert_eq!(seen[3].queue_id.as_deref(), Some("4XyZ1234"));
    assert_eq!(seen[3].auth.as_deref(), Some("alice"));
    match &seen[5].event {
        Event::Rcpt { recipient, args } => {
            assert_eq!(recipient, "<carol@example.net>");
            assert_eq!(args, &["NOTIFY=NEVER"]);
        }
        other => panic!("{other:?}"),
    }

    // Header fields arrive with their leading space (HDR_LEADSPC) and rebuild byte for byte.
    let fields: Vec<Vec<u8>> = seen
        .iter()
        .filter_map(|s| match &s.event {
            Event::Header(f) => Some(f.raw()),
            _ => None,
        })
        .collect();
    assert_eq!(
        fields[1],
        b"DKIM-Signature: v=1; a=rsa-sha256; c=relaxed/relaxed; d=example.org;\r\n\ts=sel; h=from:to:subject; bh=AAAA; b=BBBB"
    );
    assert_eq!(fields[4], b"Subject: Hello");
    assert_eq!(fields[5], b"X-Tight:no-space");

    match &seen[13].event {
        Event::BodyChunk(b) => assert_eq!(b, b"Hello Bob,\r\n\r\n"),
        other => panic!("{other:?}"),
    }

    // The second message: new queue id, no authentication left over from the first.
    match &seen[17].event {
        Event::MailFrom { sender, args } => {
            assert_eq!(sender, "<>");
            assert!(args.is_empty());
        }
        other => panic!("{other:?}"),
    }
    assert_eq!(seen[17].queue_id.as_deref(), Some("5AbCdEf"));
    assert_eq!(seen[17].auth, None);
    assert!(matches!(seen[24].event, Event::Quit));
}

#[test]
fn recorded_replies_decode_as_expected() {
    let expected = hex_fixture("postfix_session.milter.hex");
    let codes: Vec<u8> = replies(&expected).iter().map(Reply::code).collect();
    assert_eq!(
        codes,
        [&b"O"[..], &[b'c'; 8], b"ha", b"crccc", b"mc"].concat()
    );
}

#[test]
fn connection_macros_outlive_messages() {
    let mta = hex_fixture("postfix_session.mta.hex");
    // Stop just before quit.
    let without_quit = &mta[..mta.len() - 5];
    let mut decoder = FrameDecoder::new();
    let mut session = Session::new(MilterOptions::default());
    decoder.feed(without_quit);
    while let Some(command) = decoder.poll_command().unwrap() {
        if session.handle(command).unwrap().is_some() && session.expects_reply() {
            if session.pending_command() == Some(b'E') {
                session.end_of_message(&[], Verdict::Continue).unwrap();
            } else {
                session.reply(Verdict::Continue).unwrap();
            }
        }
    }
    let m = session.macros();
    assert_eq!(m.get("j"), Some("mx.example.net"));
    assert_eq!(m.get("daemon_name"), Some("mx.example.net"));
    assert_eq!(m.get("{client_addr}"), Some("192.0.2.10"));
    assert_eq!(m.get("{cipher_bits}"), Some("256"));
    assert_eq!(m.get("i"), None, "message macros end with the message");
    assert!(m.stage(Stage::Mail).is_empty());
}
