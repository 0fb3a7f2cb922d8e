//! Every command and every reply encodes and decodes back to itself, with the exact bytes the
//! protocol description gives for a few of them.

use mailstamp_milter::{
    Actions, Command, ConnectInfo, Family, MacroStage, Modification, OptNeg, ProtocolFlags, Reply,
    ReplyCode,
};

fn command_roundtrip(c: &Command) -> Vec<u8> {
    let bytes = c.to_bytes().unwrap();
    assert_eq!(
        u32::from_be_bytes(bytes[..4].try_into().unwrap()) as usize,
        bytes.len() - 4
    );
    assert_eq!(bytes[4], c.code());
    assert_eq!(&Command::decode(bytes[4], &bytes[5..]).unwrap(), c);
    bytes
}

fn reply_roundtrip(r: &Reply) -> Vec<u8> {
    let bytes = r.to_bytes().unwrap();
    assert_eq!(
        u32::from_be_bytes(bytes[..4].try_into().unwrap()) as usize,
        bytes.len() - 4
    );
    assert_eq!(bytes[4], r.code());
    assert_eq!(&Reply::decode(bytes[4], &bytes[5..]).unwrap(), r);
    bytes
}

fn v(s: &str) -> Vec<u8> {
    s.as_bytes().to_vec()
}

pub fn every_command() -> Vec<Command> {
    vec![
        Command::OptNeg(OptNeg {
            version: 6,
            actions: Actions::ALL_KNOWN,
            protocol: ProtocolFlags::from_bits_retain(0x1f_ffff),
        }),
        Command::Connect(ConnectInfo {
            hostname: v("h"),
            family: Family::Inet,
            port: 25,
            address: v("192.0.2.1"),
        }),
        Command::Connect(ConnectInfo {
            hostname: v("[2001:db8::1]"),
            family: Family::Inet6,
            port: 587,
            address: v("2001:db8::1"),
        }),
        Command::Connect(ConnectInfo {
            hostname: v("localhost"),
            family: Family::Unix,
            port: 0,
            address: v("/run/smtp.sock"),
        }),
        Command::Connect(ConnectInfo {
            hostname: v("localhost"),
            family: Family::Unknown,
            port: 0,
            address: vec![],
        }),
        Command::Helo(v("client.example")),
        Command::Mail {
            sender: v("<a@b>"),
            args: vec![v("SIZE=1"), v("BODY=8BITMIME")],
        },
        Command::Mail {
            sender: v("<>"),
            args: vec![],
        },
        Command::Rcpt {
            recipient: v("<c@d>"),
            args: vec![v("NOTIFY=NEVER")],
        },
        Command::Macros {
            stage: b'C',
            pairs: vec![(v("j"), v("mx")), (v("{daemon_name}"), v(""))],
        },
        Command::Macros {
            stage: b'E',
            pairs: vec![],
        },
        Command::Data,
        Command::Header {
            name: v("Subject"),
            value: v(" a\n\tb"),
        },
        Command::Header {
            name: v("X-Empty"),
            value: vec![],
        },
        Command::EndOfHeaders,
        Command::Body(v("line\r\n")),
        Command::Body(vec![]),
        Command::Body(vec![0; 65_535]),
        Command::EndOfMessage(vec![]),
        Command::EndOfMessage(v("last chunk")),
        Command::Abort,
        Command::Quit,
        Command::QuitNewConnection,
        Command::Unknown(v("XFOO bar")),
    ]
}

pub fn every_reply() -> Vec<Reply> {
    vec![
        Reply::Accept,
        Reply::Continue,
        Reply::Discard,
        Reply::Reject,
        Reply::Tempfail,
        Reply::Skip,
        Reply::Progress,
        Reply::ReplyCode(ReplyCode::new(550, Some("5.7.1"), "rejected by policy").unwrap()),
        Reply::ReplyCode(ReplyCode::new(451, Some("4.7.1"), "").unwrap()),
        Reply::ReplyCode(ReplyCode::new(554, None, "go away").unwrap()),
        Reply::OptNeg {
            optneg: OptNeg {
                version: 6,
                actions: Actions::ADDHDRS,
                protocol: ProtocolFlags::HDR_LEADSPC,
            },
            macros: vec![],
        },
        Reply::OptNeg {
            optneg: OptNeg {
                version: 6,
                actions: Actions::ADDHDRS | Actions::SETSYMLIST,
                protocol: ProtocolFlags::EMPTY,
            },
            macros: vec![
                (MacroStage::Connect, v("j {daemon_name}")),
                (MacroStage::EndOfHeaders, v("i")),
            ],
        },
        Reply::Modify(Modification::AddHeader {
            name: v("Authentication-Results"),
            value: v(" mx; none"),
        }),
        Reply::Modify(Modification::InsertHeader {
            index: 0,
            name: v("X-A"),
            value: v("b"),
        }),
        Reply::Modify(Modification::ChangeHeader {
            index: 2,
            name: v("X-A"),
            value: v(""),
        }),
        Reply::Modify(Modification::ReplaceBody(v("new body\r\n"))),
        Reply::Modify(Modification::AddRcpt(v("<e@f>"))),
        Reply::Modify(Modification::AddRcptPar {
            recipient: v("<e@f>"),
            args: vec![v("NOTIFY=NEVER")],
        }),
        Reply::Modify(Modification::DelRcpt(v("<c@d>"))),
        Reply::Modify(Modification::ChangeFrom {
            sender: v("<g@h>"),
            args: vec![],
        }),
        Reply::Modify(Modification::Quarantine(v("suspicious"))),
    ]
}

#[test]
fn every_command_roundtrips() {
    let all = every_command();
    let codes: std::collections::BTreeSet<u8> = all.iter().map(Command::code).collect();
    assert_eq!(codes.len(), 15, "every command byte is covered");
    for c in &all {
        command_roundtrip(c);
    }
}

#[test]
fn every_reply_roundtrips() {
    let all = every_reply();
    let codes: std::collections::BTreeSet<u8> = all.iter().map(Reply::code).collect();
    assert_eq!(codes.len(), 18, "every reply byte is covered");
    for r in &all {
        reply_roundtrip(r);
    }
}

#[test]
fn exact_bytes() {
    assert_eq!(command_roundtrip(&Command::Abort), b"\0\0\0\x01A");
    assert_eq!(
        command_roundtrip(&Command::Header {
            name: v("To"),
            value: v(" x")
        }),
        b"\0\0\0\x07LTo\0 x\0"
    );
    assert_eq!(
        command_roundtrip(&Command::Macros {
            stage: b'M',
            pairs: vec![(v("i"), v("Q1"))]
        }),
        b"\0\0\0\x07DMi\0Q1\0"
    );
    assert_eq!(reply_roundtrip(&Reply::Continue), b"\0\0\0\x01c");
    assert_eq!(
        reply_roundtrip(&Reply::ReplyCode(
            ReplyCode::new(550, Some("5.7.1"), "no").unwrap()
        )),
        b"\0\0\0\x0ey550 5.7.1 no\0"
    );
    assert_eq!(
        reply_roundtrip(&Reply::Modify(Modification::ChangeHeader {
            index: 1,
            name: v("X"),
            value: v("")
        })),
        b"\0\0\0\x08m\0\0\0\x01X\0\0"
    );
}
