//! What a hostile or broken MTA (or a careless application) can do, and the typed error each
//! gets.

use mailstamp_milter::{
    Actions, Code, Command, DecodeError, FrameDecoder, MilterOptions, Modification, OptNeg,
    ProtocolFlags, Session, SessionError, Verdict,
};

use crate::common::{header, mail, negotiated_session, postfix_offer, rcpt, replies, step};

#[test]
fn truncated_frame() {
    let mut d = FrameDecoder::new();
    d.feed(b"\0\0\0\x10Hclient");
    assert_eq!(d.poll_command(), Ok(None));
    assert_eq!(
        d.finish(),
        Err(DecodeError::TruncatedFrame {
            offset: 0,
            have: 11,
            need: 20
        })
    );
    let mut d = FrameDecoder::new();
    d.feed(b"\0\0");
    assert_eq!(
        d.finish(),
        Err(DecodeError::TruncatedFrame {
            offset: 0,
            have: 2,
            need: 4
        })
    );
}

#[test]
fn length_zero() {
    let mut d = FrameDecoder::new();
    d.feed(b"\0\0\0\x01A\0\0\0\0");
    assert_eq!(d.poll_command(), Ok(Some(Command::Abort)));
    assert_eq!(d.poll_command(), Err(DecodeError::EmptyFrame { offset: 5 }));
    // The stream cannot be resynchronised: the error stays.
    d.feed(b"\0\0\0\x01A");
    assert_eq!(d.poll_command(), Err(DecodeError::EmptyFrame { offset: 5 }));
}

#[test]
fn length_over_the_cap_is_refused_before_the_data_arrives() {
    let mut d = FrameDecoder::new();
    d.feed(&(mailstamp_milter::DEFAULT_MAX_FRAME_LEN + 1).to_be_bytes());
    d.feed(b"B");
    assert_eq!(
        d.poll_command(),
        Err(DecodeError::FrameTooLarge {
            offset: 0,
            command: Some(Code(b'B')),
            len: mailstamp_milter::DEFAULT_MAX_FRAME_LEN + 1,
            max: mailstamp_milter::DEFAULT_MAX_FRAME_LEN,
        })
    );
    // A full body chunk fits the default comfortably.
    let mut d = FrameDecoder::new();
    d.feed(&Command::Body(vec![b'x'; 65_535]).to_bytes().unwrap());
    assert!(matches!(d.poll_command(), Ok(Some(Command::Body(b))) if b.len() == 65_535));
    let mut d = FrameDecoder::with_max_frame_len(1024);
    d.feed(b"\xff\xff\xff\xff");
    assert!(matches!(
        d.poll_command(),
        Err(DecodeError::FrameTooLarge {
            command: None,
            len: u32::MAX,
            ..
        })
    ));
}

#[test]
fn unknown_command_byte() {
    let mut d = FrameDecoder::new();
    d.feed(b"\0\0\0\x03Zab");
    assert_eq!(
        d.poll_command(),
        Err(DecodeError::UnknownCode {
            command: Code(b'Z'),
            kind: "command",
            len: 2
        })
    );
    assert_eq!(
        DecodeError::UnknownCode {
            command: Code(0xff),
            kind: "command",
            len: 0
        }
        .to_string(),
        "unknown command byte 0xff (0 data bytes)"
    );
}

#[test]
fn missing_nul() {
    let cases: &[(u8, &[u8], &str, usize)] = &[
        (b'H', b"client", "helo", 0),
        (b'C', b"host", "hostname", 0),
        (b'C', b"host\x004\x00\x19192.0.2.1", "address", 8),
        (b'M', b"<a@b>\0SIZE=1", "args", 6),
        (b'L', b"Subject\0 no end", "header value", 8),
        (b'D', b"Cj\0mx", "macro value", 3),
        (b'U', b"XFOO", "command", 0),
    ];
    for &(code, data, field, offset) in cases {
        assert_eq!(
            Command::decode(code, data),
            Err(DecodeError::MissingNul {
                command: Code(code),
                field,
                offset
            }),
            "{}",
            Code(code)
        );
    }
}

#[test]
fn short_optneg() {
    let e = Command::decode(b'O', b"\0\0\0\x06\0\0\x01").unwrap_err();
    assert_eq!(
        e,
        DecodeError::Truncated {
            command: Code(b'O'),
            field: "actions",
            offset: 4,
            need: 4,
            have: 3
        }
    );
}

#[test]
fn unsupported_version_closes_the_session() {
    for version in [0, 1, 7, u32::MAX] {
        let mut s = Session::new(MilterOptions::default());
        let e = s
            .handle(Command::OptNeg(OptNeg {
                version,
                ..postfix_offer()
            }))
            .unwrap_err();
        assert_eq!(e, SessionError::UnsupportedVersion { version });
        assert!(e.is_fatal());
        assert!(s.is_closed());
        assert!(!s.has_output());
    }
}

#[test]
fn out_of_order_commands() {
    // Before negotiation only negotiation (or quit) is allowed.
    let mut s = Session::new(MilterOptions::default());
    assert_eq!(
        s.handle(mail("<a@b>")),
        Err(SessionError::OutOfOrder {
            command: Code(b'M'),
            state: "start"
        })
    );
    assert!(s.is_closed());
    assert_eq!(
        s.handle(Command::Quit),
        Err(SessionError::Closed {
            command: Code(b'Q')
        })
    );

    let cases: Vec<(Vec<Command>, Command, &str)> = vec![
        (vec![], Command::OptNeg(postfix_offer()), "negotiated"),
        (vec![], rcpt("<c@d>"), "negotiated"),
        (vec![], header("Subject", " x"), "negotiated"),
        (vec![], Command::Body(vec![]), "negotiated"),
        (vec![], Command::EndOfMessage(vec![]), "negotiated"),
        (
            vec![Command::Helo(b"h".to_vec())],
            Command::Connect(connect()),
            "helo",
        ),
        (
            vec![mail("<a@b>"), rcpt("<c@d>")],
            Command::Helo(b"h".to_vec()),
            "rcpt",
        ),
        (
            vec![mail("<a@b>"), Command::EndOfHeaders],
            header("X", "y"),
            "end-of-headers",
        ),
        (
            vec![mail("<a@b>"), Command::Body(vec![])],
            Command::Data,
            "body",
        ),
        (
            vec![mail("<a@b>"), Command::Body(vec![])],
            mail("<a@b>"),
            "body",
        ),
        (
            vec![mail("<a@b>"), Command::Body(vec![])],
            Command::EndOfHeaders,
            "body",
        ),
    ];
    for (before, command, state) in cases {
        let mut s = negotiated_session(MilterOptions::default(), postfix_offer());
        for c in before {
            step(&mut s, c);
        }
        let code = command.code();
        assert_eq!(
            s.handle(command),
            Err(SessionError::OutOfOrder {
                command: Code(code),
                state
            })
        );
        assert!(s.is_closed());
    }
}

fn connect() -> mailstamp_milter::ConnectInfo {
    mailstamp_milter::ConnectInfo {
        hostname: b"h".to_vec(),
        family: mailstamp_milter::Family::Inet,
        port: 1,
        address: b"192.0.2.1".to_vec(),
    }
}

#[test]
fn liberal_where_real_mtas_are() {
    let mut s = negotiated_session(MilterOptions::default(), postfix_offer());
    // Macros for a stage nobody asked about, abort before any message, HELO skipped.
    assert_eq!(
        s.handle(Command::Macros {
            stage: b'Z',
            pairs: vec![]
        }),
        Ok(None)
    );
    step(&mut s, Command::Connect(connect()));
    step(&mut s, Command::Abort);
    step(&mut s, mail("<a@b>"));
    // EHLO again after STARTTLS is a connection-level command; so is a second HELO.
    step(&mut s, Command::Abort);
    step(&mut s, Command::Helo(b"h".to_vec()));
    step(&mut s, Command::Helo(b"h".to_vec()));
    // A second MAIL without abort restarts the message.
    step(&mut s, mail("<a@b>"));
    step(&mut s, mail("<a@b>"));
    // DATA and end of headers may be skipped; an unknown command may come at any time.
    step(&mut s, rcpt("<c@d>"));
    step(&mut s, Command::Unknown(b"XYZZY".to_vec()));
    step(&mut s, Command::Body(b"x".to_vec()));
    step(&mut s, Command::EndOfMessage(vec![]));
    s.end_of_message(&[], Verdict::Continue).unwrap();
    // Quit-new-connection: a new SMTP connection follows on the same milter connection.
    step(&mut s, Command::QuitNewConnection);
    step(&mut s, Command::Connect(connect()));
    step(&mut s, Command::Quit);
    assert!(s.is_closed());
}

#[test]
fn a_reply_is_owed_before_the_next_command() {
    let mut s = negotiated_session(MilterOptions::default(), postfix_offer());
    s.handle(Command::Connect(connect())).unwrap();
    assert!(s.expects_reply());
    let e = s.handle(Command::Helo(b"h".to_vec())).unwrap_err();
    assert_eq!(
        e,
        SessionError::ReplyOutstanding {
            command: Code(b'H'),
            pending: Code(b'C')
        }
    );
    assert!(s.is_closed());
}

#[test]
fn no_reply_where_none_is_expected() {
    let mut s = negotiated_session(MilterOptions::default(), postfix_offer());
    step(&mut s, mail("<a@b>"));
    s.take_output();
    // NR_HDR was granted: no reply to a header field.
    s.handle(header("Subject", " x")).unwrap();
    assert!(!s.expects_reply());
    assert_eq!(
        s.reply(Verdict::Continue),
        Err(SessionError::NoReplyExpected { reply: Code(b'c') })
    );
    assert_eq!(
        s.progress(),
        Err(SessionError::NoReplyExpected { reply: Code(b'p') })
    );
    // Not a fatal error: the session goes on.
    assert!(!s.is_closed());
    s.handle(Command::Abort).unwrap();
    assert!(!s.expects_reply());
    assert!(!s.has_output());
}

#[test]
fn without_nr_hdr_headers_need_a_reply() {
    let offer = OptNeg {
        protocol: ProtocolFlags::from_bits_retain(0x7f),
        ..postfix_offer()
    };
    let mut s = negotiated_session(MilterOptions::default(), offer);
    step(&mut s, mail("<a@b>"));
    s.handle(header("Subject", "x")).unwrap();
    assert!(s.expects_reply());
    s.progress().unwrap();
    s.reply(Verdict::Continue).unwrap();
    let codes: Vec<u8> = replies(&s.take_output()).iter().map(|r| r.code()).collect();
    assert_eq!(codes, b"cpc");
}

#[test]
fn modification_not_negotiated() {
    // The MTA grants ADDHDRS only.
    let offer = OptNeg {
        actions: Actions::ADDHDRS,
        ..postfix_offer()
    };
    let mut s = negotiated_session(MilterOptions::default(), offer);
    let n = s.negotiated().unwrap().clone();
    assert_eq!(n.missing_actions, Actions::CHGHDRS);
    assert_eq!(
        n.shortfall().unwrap(),
        "MTA (version 6) did not grant actions CHGHDRS"
    );
    step(&mut s, mail("<a@b>"));
    s.take_output();
    s.handle(Command::EndOfMessage(vec![])).unwrap();
    let add = Modification::AddHeader {
        name: b"X-A".to_vec(),
        value: b"1".to_vec(),
    };
    let change = Modification::ChangeHeader {
        index: 1,
        name: b"X-B".to_vec(),
        value: Vec::new(),
    };
    let body = Modification::ReplaceBody(b"x".to_vec());
    let e = s
        .end_of_message(&[add.clone(), change], Verdict::Continue)
        .unwrap_err();
    assert_eq!(
        e,
        SessionError::NotNegotiated {
            reply: Code(b'm'),
            needs: Actions::CHGHDRS,
            granted: Actions::ADDHDRS
        }
    );
    assert!(!e.is_fatal());
    let e = s.end_of_message(&[body], Verdict::Continue).unwrap_err();
    assert!(matches!(
        e,
        SessionError::NotNegotiated {
            reply: Code(b'b'),
            ..
        }
    ));
    // Nothing was emitted, and the session still waits for the end-of-message reply.
    assert!(!s.has_output());
    assert!(s.expects_reply());
    s.end_of_message(&[add], Verdict::Accept).unwrap();
    let codes: Vec<u8> = replies(&s.take_output()).iter().map(|r| r.code()).collect();
    assert_eq!(codes, b"ha");
}

#[test]
fn header_injection_in_a_modification_is_refused() {
    let mut s = negotiated_session(MilterOptions::default(), postfix_offer());
    step(&mut s, mail("<a@b>"));
    s.take_output();
    s.handle(Command::EndOfMessage(vec![])).unwrap();
    for (name, value) in [
        (&b"X-A"[..], &b"ok\r\nX-Injected: 1"[..]),
        (b"X-A", b"ok\n"),
        (b"X A", b"ok"),
        (b"", b"ok"),
        (b"X-A", b"nul\0"),
    ] {
        let m = Modification::AddHeader {
            name: name.to_vec(),
            value: value.to_vec(),
        };
        let e = s.end_of_message(&[m], Verdict::Continue).unwrap_err();
        assert!(matches!(e, SessionError::Encode(_)), "{e}");
    }
    assert!(!s.has_output());
    // A folded value is fine; with HDR_LEADSPC the session adds the space after the colon.
    let m = Modification::AddHeader {
        name: b"X-A".to_vec(),
        value: b"a;\r\n\tb".to_vec(),
    };
    s.end_of_message(&[m], Verdict::Continue).unwrap();
    let r = replies(&s.take_output());
    assert_eq!(
        r[0],
        mailstamp_milter::Reply::Modify(Modification::AddHeader {
            name: b"X-A".to_vec(),
            value: b" a;\r\n\tb".to_vec()
        })
    );
}

#[test]
fn modifications_only_at_end_of_message() {
    let mut s = negotiated_session(MilterOptions::default(), postfix_offer());
    s.handle(mail("<a@b>")).unwrap();
    let add = Modification::AddHeader {
        name: b"X-A".to_vec(),
        value: b"1".to_vec(),
    };
    let e = s.end_of_message(&[add], Verdict::Continue).unwrap_err();
    assert!(matches!(
        e,
        SessionError::ReplyNotAllowed {
            reply: Code(b'h'),
            command: Code(b'M'),
            ..
        }
    ));
    let e = s.end_of_message(&[], Verdict::Continue).unwrap_err();
    assert!(matches!(
        e,
        SessionError::ReplyNotAllowed {
            command: Code(b'M'),
            ..
        }
    ));
    s.reply(Verdict::Continue).unwrap();
}

#[test]
fn garbage_after_negotiation_ends_the_session_cleanly() {
    let mut d = FrameDecoder::new();
    let mut s = Session::new(MilterOptions::default());
    let mut bytes = Command::OptNeg(postfix_offer()).to_bytes().unwrap();
    bytes.extend_from_slice(b"\0\0\0\x02Hx");
    d.feed(&bytes);
    s.handle(d.poll_command().unwrap().unwrap()).unwrap();
    let e = d.poll_command().unwrap_err();
    assert_eq!(
        e,
        DecodeError::MissingNul {
            command: Code(b'H'),
            field: "helo",
            offset: 0
        }
    );
    let e: SessionError = e.into();
    assert!(e.is_fatal());
    let _ = ProtocolFlags::EMPTY;
}
