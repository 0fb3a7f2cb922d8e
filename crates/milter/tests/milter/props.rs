//! Property tests: arbitrary bytes never panic the decoder or the session, and encode → decode
//! is the identity for arbitrary commands and replies.

use mailstamp_milter::{
    Actions, Command, ConnectInfo, Family, FrameDecoder, MacroStage, Modification, OptNeg,
    ProtocolFlags, Reply, ReplyCode,
};
use proptest::prelude::*;

/// The fuzz body (behind the crate's `fuzzing` feature), compiled into this test as well.
#[path = "../../src/fuzzing.rs"]
#[allow(dead_code)]
mod fuzzing;

/// Bytes without NUL (what a NUL-terminated field can carry).
fn cstring() -> impl Strategy<Value = Vec<u8>> {
    proptest::collection::vec(1u8..=255, 0..24)
}

fn args() -> impl Strategy<Value = Vec<Vec<u8>>> {
    proptest::collection::vec(cstring(), 0..4)
}

fn any_command() -> impl Strategy<Value = Command> {
    let family = prop_oneof![Just(Family::Inet), Just(Family::Inet6), Just(Family::Unix)];
    prop_oneof![
        (any::<u32>(), any::<u32>(), any::<u32>()).prop_map(|(v, a, p)| Command::OptNeg(OptNeg {
            version: v,
            actions: Actions::from_bits_retain(a),
            protocol: ProtocolFlags::from_bits_retain(p),
        })),
        (cstring(), family, any::<u16>(), cstring()).prop_map(
            |(hostname, family, port, address)| {
                Command::Connect(ConnectInfo {
                    hostname,
                    family,
                    port,
                    address,
                })
            }
        ),
        cstring().prop_map(|hostname| Command::Connect(ConnectInfo {
            hostname,
            family: Family::Unknown,
            port: 0,
            address: vec![],
        })),
        cstring().prop_map(Command::Helo),
        (cstring(), args()).prop_map(|(sender, args)| Command::Mail { sender, args }),
        (cstring(), args()).prop_map(|(recipient, args)| Command::Rcpt { recipient, args }),
        (
            any::<u8>(),
            proptest::collection::vec((cstring(), cstring()), 0..4)
        )
            .prop_map(|(stage, pairs)| Command::Macros { stage, pairs }),
        Just(Command::Data),
        (cstring(), cstring()).prop_map(|(name, value)| Command::Header { name, value }),
        Just(Command::EndOfHeaders),
        proptest::collection::vec(any::<u8>(), 0..200).prop_map(Command::Body),
        proptest::collection::vec(any::<u8>(), 0..20).prop_map(Command::EndOfMessage),
        Just(Command::Abort),
        Just(Command::Quit),
        Just(Command::QuitNewConnection),
        cstring().prop_map(Command::Unknown),
    ]
}

fn reply_code() -> impl Strategy<Value = ReplyCode> {
    (
        4u16..=5,
        0u16..100,
        proptest::option::of((0u16..1000, 0u16..1000)),
        "[a-zA-Z%][ -~]{0,30}",
    )
        .prop_map(|(class, rest, esc, text)| {
            let code = class * 100 + rest;
            let esc = esc.map(|(s, d)| format!("{class}.{s}.{d}"));
            ReplyCode::new(code, esc.as_deref(), &text).expect("valid by construction")
        })
}

fn any_reply() -> impl Strategy<Value = Reply> {
    prop_oneof![
        Just(Reply::Accept),
        Just(Reply::Continue),
        Just(Reply::Discard),
        Just(Reply::Reject),
        Just(Reply::Tempfail),
        Just(Reply::Skip),
        Just(Reply::Progress),
        reply_code().prop_map(Reply::ReplyCode),
        (
            any::<u32>(),
            any::<u32>(),
            any::<u32>(),
            proptest::collection::vec((any::<u32>(), cstring()), 0..3)
        )
            .prop_map(|(v, a, p, m)| Reply::OptNeg {
                optneg: OptNeg {
                    version: v,
                    actions: Actions::from_bits_retain(a),
                    protocol: ProtocolFlags::from_bits_retain(p),
                },
                macros: m
                    .into_iter()
                    .map(|(s, l)| (MacroStage::from_u32(s), l))
                    .collect(),
            }),
        (cstring(), cstring())
            .prop_map(|(name, value)| Reply::Modify(Modification::AddHeader { name, value })),
        (any::<u32>(), cstring(), cstring()).prop_map(|(index, name, value)| Reply::Modify(
            Modification::InsertHeader { index, name, value }
        )),
        (any::<u32>(), cstring(), cstring()).prop_map(|(index, name, value)| Reply::Modify(
            Modification::ChangeHeader { index, name, value }
        )),
        proptest::collection::vec(any::<u8>(), 0..200)
            .prop_map(|b| Reply::Modify(Modification::ReplaceBody(b))),
        cstring().prop_map(|a| Reply::Modify(Modification::AddRcpt(a))),
        (cstring(), args()).prop_map(|(recipient, args)| Reply::Modify(Modification::AddRcptPar {
            recipient,
            args
        })),
        cstring().prop_map(|a| Reply::Modify(Modification::DelRcpt(a))),
        (cstring(), args())
            .prop_map(|(sender, args)| Reply::Modify(Modification::ChangeFrom { sender, args })),
        cstring().prop_map(|a| Reply::Modify(Modification::Quarantine(a))),
    ]
}

/// Arbitrary bytes that start with a valid negotiation, so the session gets past it.
fn session_bytes() -> impl Strategy<Value = Vec<u8>> {
    (
        proptest::collection::vec(any_command(), 0..20),
        proptest::collection::vec(any::<u8>(), 0..64),
    )
        .prop_map(|(commands, noise)| {
            let mut out = Vec::new();
            Command::OptNeg(OptNeg {
                version: 6,
                actions: Actions::ALL_KNOWN,
                protocol: ProtocolFlags::from_bits_retain(0x1f_ffff),
            })
            .encode(&mut out)
            .unwrap();
            for c in commands {
                c.encode(&mut out).unwrap();
            }
            out.extend(noise);
            out
        })
}

/// A plausible conversation: negotiation, connect, HELO, a few messages (each ended by end of
/// message or abort), quit; macros and unknown commands sprinkled in; contents arbitrary.
fn conversation_bytes() -> impl Strategy<Value = Vec<u8>> {
    let macros = (
        any::<u8>(),
        proptest::collection::vec((cstring(), cstring()), 0..3),
    )
        .prop_map(|(stage, pairs)| Command::Macros { stage, pairs });
    let message = (
        (cstring(), args()).prop_map(|(sender, args)| Command::Mail { sender, args }),
        proptest::collection::vec(
            (cstring(), args()).prop_map(|(recipient, args)| Command::Rcpt { recipient, args }),
            1..3,
        ),
        proptest::collection::vec(
            (cstring(), cstring()).prop_map(|(name, value)| Command::Header { name, value }),
            0..5,
        ),
        proptest::collection::vec(
            proptest::collection::vec(any::<u8>(), 0..64).prop_map(Command::Body),
            0..3,
        ),
        any::<bool>(),
        proptest::option::of(macros),
    )
        .prop_map(|(mail, rcpts, headers, body, abort, extra)| {
            let mut c = vec![mail];
            c.extend(rcpts);
            c.push(Command::Data);
            c.extend(headers);
            c.push(Command::EndOfHeaders);
            c.extend(body);
            c.extend(extra);
            c.push(if abort {
                Command::Abort
            } else {
                Command::EndOfMessage(vec![])
            });
            c
        });
    (
        any::<u32>(),
        any::<u32>(),
        proptest::collection::vec(message, 0..4),
        proptest::option::of(cstring().prop_map(Command::Unknown)),
    )
        .prop_map(|(actions, protocol, messages, unknown)| {
            let mut commands = vec![
                Command::OptNeg(OptNeg {
                    version: 6,
                    actions: Actions::from_bits_retain(actions),
                    protocol: ProtocolFlags::from_bits_retain(protocol),
                }),
                Command::Connect(ConnectInfo {
                    hostname: b"h".to_vec(),
                    family: Family::Inet,
                    port: 25,
                    address: b"192.0.2.1".to_vec(),
                }),
                Command::Helo(b"h".to_vec()),
            ];
            commands.extend(unknown);
            commands.extend(messages.into_iter().flatten());
            commands.push(Command::Quit);
            let mut out = Vec::new();
            for c in commands {
                c.encode(&mut out).unwrap();
            }
            out
        })
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 512, ..ProptestConfig::default() })]

    #[test]
    fn command_encode_decode_is_identity(c in any_command()) {
        let bytes = c.to_bytes().unwrap();
        prop_assert_eq!(Command::decode(bytes[4], &bytes[5..]).unwrap(), c);
    }

    #[test]
    fn reply_encode_decode_is_identity(r in any_reply()) {
        let bytes = r.to_bytes().unwrap();
        prop_assert_eq!(Reply::decode(bytes[4], &bytes[5..]).unwrap(), r);
    }

    #[test]
    fn arbitrary_bytes_never_panic_the_decoder(data in proptest::collection::vec(any::<u8>(), 0..512)) {
        let mut d = FrameDecoder::with_max_frame_len(128);
        d.feed(&data);
        while let Ok(Some(_)) = d.poll_command() {}
        let mut d = FrameDecoder::new();
        d.feed(&data);
        while let Ok(Some(_)) = d.poll_reply() {}
        let _ = d.finish();
        // Any code byte with any data.
        if let Some((&code, rest)) = data.split_first() {
            let _ = Command::decode(code, rest);
            let _ = Reply::decode(code, rest);
        }
    }

    #[test]
    fn arbitrary_bytes_never_panic_the_session(data in proptest::collection::vec(any::<u8>(), 0..512)) {
        fuzzing::session(&data);
    }

    #[test]
    fn plausible_conversations_run_to_quit(data in conversation_bytes()) {
        fuzzing::session(&data);
        // Replayed whole, the conversation is accepted to the end whatever the offer.
        let mut d = FrameDecoder::new();
        d.feed(&data);
        let mut s = mailstamp_milter::Session::new(mailstamp_milter::MilterOptions::default());
        let mut last = None;
        while let Some(c) = d.poll_command().unwrap() {
            last = s.handle(c).unwrap();
            if s.expects_reply() {
                if s.pending_command() == Some(b'E') {
                    s.end_of_message(&[], mailstamp_milter::Verdict::Continue).unwrap();
                } else {
                    s.reply(mailstamp_milter::Verdict::Continue).unwrap();
                }
            }
        }
        prop_assert_eq!(last, Some(mailstamp_milter::Event::Quit));
        prop_assert!(s.is_closed());
    }

    #[test]
    fn arbitrary_command_sequences_never_panic_the_session(data in session_bytes()) {
        fuzzing::session(&data);
    }
}
