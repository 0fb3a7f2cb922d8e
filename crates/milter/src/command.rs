//! Commands the MTA sends to the milter (`SMFIC_*`): decode and encode.
//!
//! Strings are kept as the bytes that were sent (without their NUL): the wire carries no
//! charset, and a hostile MTA may send anything but NUL inside them.

use crate::error::{DecodeError, EncodeError};
use crate::field::{Reader, write_frame};
use crate::flags::{Actions, ProtocolFlags};

/// The command bytes (`SMFIC_*`).
pub mod code {
    /// `SMFIC_ABORT`
    pub const ABORT: u8 = b'A';
    /// `SMFIC_BODY`
    pub const BODY: u8 = b'B';
    /// `SMFIC_CONNECT`
    pub const CONNECT: u8 = b'C';
    /// `SMFIC_MACRO`
    pub const MACRO: u8 = b'D';
    /// `SMFIC_BODYEOB`
    pub const BODYEOB: u8 = b'E';
    /// `SMFIC_HELO`
    pub const HELO: u8 = b'H';
    /// `SMFIC_QUIT_NC`
    pub const QUIT_NC: u8 = b'K';
    /// `SMFIC_HEADER`
    pub const HEADER: u8 = b'L';
    /// `SMFIC_MAIL`
    pub const MAIL: u8 = b'M';
    /// `SMFIC_EOH`
    pub const EOH: u8 = b'N';
    /// `SMFIC_OPTNEG`
    pub const OPTNEG: u8 = b'O';
    /// `SMFIC_QUIT`
    pub const QUIT: u8 = b'Q';
    /// `SMFIC_RCPT`
    pub const RCPT: u8 = b'R';
    /// `SMFIC_DATA`
    pub const DATA: u8 = b'T';
    /// `SMFIC_UNKNOWN`
    pub const UNKNOWN: u8 = b'U';
}

/// The three numbers of option negotiation (`O`), in either direction: from the MTA, what it
/// offers; from the milter, what it wants.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct OptNeg {
    /// Protocol version (the MTA's offer, or the milter's choice).
    pub version: u32,
    /// Actions offered (MTA) or requested (milter).
    pub actions: Actions,
    /// Protocol flags offered (MTA) or requested (milter).
    pub protocol: ProtocolFlags,
}

/// The address family of the SMTP client in a connect command.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Family {
    /// `U`: unknown (for example mail submitted on the command line); no port or address.
    Unknown,
    /// `L`: a Unix-domain socket; the address is a path and the port 0.
    Unix,
    /// `4`: IPv4.
    Inet,
    /// `6`: IPv6.
    Inet6,
}

impl Family {
    /// The family byte.
    pub fn to_byte(self) -> u8 {
        match self {
            Family::Unknown => b'U',
            Family::Unix => b'L',
            Family::Inet => b'4',
            Family::Inet6 => b'6',
        }
    }

    /// The family for a byte.
    pub fn from_byte(b: u8) -> Option<Family> {
        match b {
            b'U' => Some(Family::Unknown),
            b'L' => Some(Family::Unix),
            b'4' => Some(Family::Inet),
            b'6' => Some(Family::Inet6),
            _ => None,
        }
    }
}

/// The data of a connect command (`C`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConnectInfo {
    /// The client's host name as the MTA knows it (often `[192.0.2.1]` or `unknown` when reverse
    /// DNS failed).
    pub hostname: Vec<u8>,
    /// The address family.
    pub family: Family,
    /// The client's port (0 for [`Family::Unix`] and [`Family::Unknown`]).
    pub port: u16,
    /// The client's address as text (empty for [`Family::Unknown`]): an IPv4 or IPv6 address
    /// (some MTAs prefix IPv6 with `IPv6:`), or a socket path.
    pub address: Vec<u8>,
}

/// A command from the MTA.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Command {
    /// `O`: option negotiation, always the first command.
    OptNeg(OptNeg),
    /// `C`: the SMTP client connected.
    Connect(ConnectInfo),
    /// `H`: HELO or EHLO with its argument.
    Helo(Vec<u8>),
    /// `M`: MAIL FROM: the sender (with its angle brackets) and the ESMTP arguments.
    Mail {
        /// The reverse path as sent, usually `<a@b>` or `<>`.
        sender: Vec<u8>,
        /// ESMTP parameters such as `SIZE=1234` or `BODY=8BITMIME`.
        args: Vec<Vec<u8>>,
    },
    /// `R`: RCPT TO: the recipient (with its angle brackets) and the ESMTP arguments.
    Rcpt {
        /// The forward path as sent.
        recipient: Vec<u8>,
        /// ESMTP parameters.
        args: Vec<Vec<u8>>,
    },
    /// `D`: macro definitions for the command whose byte is `stage`, sent just before it.
    Macros {
        /// The command byte the macros apply to (`C`, `H`, `M`, `R`, `T`, `N`, `E`, ...).
        stage: u8,
        /// Name and value pairs, names as the MTA wrote them (`j`, `{daemon_name}`).
        pairs: Vec<(Vec<u8>, Vec<u8>)>,
    },
    /// `T`: DATA.
    Data,
    /// `L`: one header field.
    Header {
        /// The field name.
        name: Vec<u8>,
        /// The value, LF between folded lines; see [`crate::header`] for the leading space.
        value: Vec<u8>,
    },
    /// `N`: end of the header.
    EndOfHeaders,
    /// `B`: a chunk of the body (CRLF line endings, at most 65 535 bytes from real MTAs).
    Body(Vec<u8>),
    /// `E`: end of the message. Real MTAs send no data; old ones may put a last body chunk here.
    EndOfMessage(Vec<u8>),
    /// `A`: abort the current message (the connection goes on).
    Abort,
    /// `Q`: the MTA is done with this milter connection.
    Quit,
    /// `K`: quit this SMTP connection but keep the milter connection for a new one.
    QuitNewConnection,
    /// `U`: an SMTP command the MTA did not recognise, as the client sent it.
    Unknown(Vec<u8>),
}

impl Command {
    /// The command byte.
    pub fn code(&self) -> u8 {
        match self {
            Command::OptNeg(_) => code::OPTNEG,
            Command::Connect(_) => code::CONNECT,
            Command::Helo(_) => code::HELO,
            Command::Mail { .. } => code::MAIL,
            Command::Rcpt { .. } => code::RCPT,
            Command::Macros { .. } => code::MACRO,
            Command::Data => code::DATA,
            Command::Header { .. } => code::HEADER,
            Command::EndOfHeaders => code::EOH,
            Command::Body(_) => code::BODY,
            Command::EndOfMessage(_) => code::BODYEOB,
            Command::Abort => code::ABORT,
            Command::Quit => code::QUIT,
            Command::QuitNewConnection => code::QUIT_NC,
            Command::Unknown(_) => code::UNKNOWN,
        }
    }

    /// Decodes a command from its code byte and data (the frame without its length prefix and
    /// code). Strict: every string must end with its NUL and nothing may follow the last field,
    /// except in `O`, where bytes after the three numbers are ignored (room for extensions).
    pub fn decode(code: u8, data: &[u8]) -> Result<Command, DecodeError> {
        let mut r = Reader::new(code, data);
        let cmd = match code {
            code::OPTNEG => {
                let version = r.u32("version")?;
                let actions = Actions::from_bits_retain(r.u32("actions")?);
                let protocol = ProtocolFlags::from_bits_retain(r.u32("protocol")?);
                r.rest();
                Command::OptNeg(OptNeg {
                    version,
                    actions,
                    protocol,
                })
            }
            code::CONNECT => {
                let hostname = r.cstr("hostname")?.to_vec();
                let at = r.pos();
                let family = Family::from_byte(r.u8("family")?)
                    .ok_or_else(|| r.invalid("family", at, "not one of U, L, 4, 6"))?;
                let (port, address) = match family {
                    Family::Unknown => (0, Vec::new()),
                    _ => (r.u16("port")?, r.cstr("address")?.to_vec()),
                };
                Command::Connect(ConnectInfo {
                    hostname,
                    family,
                    port,
                    address,
                })
            }
            code::HELO => Command::Helo(r.cstr("helo")?.to_vec()),
            code::MAIL | code::RCPT => {
                let mut args = r.cstr_array("args")?;
                if args.is_empty() {
                    return Err(r.invalid("args", 0, "no address"));
                }
                let address = args.remove(0);
                if code == code::MAIL {
                    Command::Mail {
                        sender: address,
                        args,
                    }
                } else {
                    Command::Rcpt {
                        recipient: address,
                        args,
                    }
                }
            }
            code::MACRO => {
                let stage = r.u8("stage")?;
                let mut pairs = Vec::new();
                while !r.is_empty() {
                    let name = r.cstr("macro name")?.to_vec();
                    // A name without its value (an odd count) is taken as an empty value.
                    let value = if r.is_empty() {
                        Vec::new()
                    } else {
                        r.cstr("macro value")?.to_vec()
                    };
                    pairs.push((name, value));
                }
                Command::Macros { stage, pairs }
            }
            code::DATA => Command::Data,
            code::HEADER => {
                let name = r.cstr("header name")?.to_vec();
                let value = r.cstr("header value")?.to_vec();
                Command::Header { name, value }
            }
            code::EOH => Command::EndOfHeaders,
            code::BODY => Command::Body(r.rest().to_vec()),
            code::BODYEOB => Command::EndOfMessage(r.rest().to_vec()),
            code::ABORT => Command::Abort,
            code::QUIT => Command::Quit,
            code::QUIT_NC => Command::QuitNewConnection,
            code::UNKNOWN => Command::Unknown(r.cstr("command")?.to_vec()),
            other => {
                return Err(DecodeError::UnknownCode {
                    command: crate::Code(other),
                    kind: "command",
                    len: data.len(),
                });
            }
        };
        r.end()?;
        Ok(cmd)
    }

    /// Appends the command's frame (length prefix included) to `out`. On error `out` is left
    /// as it was.
    pub fn encode(&self, out: &mut Vec<u8>) -> Result<(), EncodeError> {
        write_frame(out, self.code(), |w| {
            match self {
                Command::OptNeg(o) => {
                    w.u32(o.version);
                    w.u32(o.actions.bits());
                    w.u32(o.protocol.bits());
                }
                Command::Connect(c) => {
                    w.cstr(&c.hostname, "hostname")?;
                    w.u8(c.family.to_byte());
                    if c.family != Family::Unknown {
                        w.u16(c.port);
                        w.cstr(&c.address, "address")?;
                    }
                }
                Command::Helo(h) => w.cstr(h, "helo")?,
                Command::Mail {
                    sender: address,
                    args,
                }
                | Command::Rcpt {
                    recipient: address,
                    args,
                } => {
                    w.cstr(address, "address")?;
                    for a in args {
                        w.cstr(a, "args")?;
                    }
                }
                Command::Macros { stage, pairs } => {
                    w.u8(*stage);
                    for (n, v) in pairs {
                        w.cstr(n, "macro name")?;
                        w.cstr(v, "macro value")?;
                    }
                }
                Command::Header { name, value } => {
                    w.cstr(name, "header name")?;
                    w.cstr(value, "header value")?;
                }
                Command::Body(b) | Command::EndOfMessage(b) => w.bytes(b),
                Command::Unknown(u) => w.cstr(u, "command")?,
                Command::Data
                | Command::EndOfHeaders
                | Command::Abort
                | Command::Quit
                | Command::QuitNewConnection => {}
            }
            Ok(())
        })
    }

    /// The command's frame as a new vector.
    pub fn to_bytes(&self) -> Result<Vec<u8>, EncodeError> {
        let mut out = Vec::new();
        self.encode(&mut out)?;
        Ok(out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Code;

    fn roundtrip(c: Command) {
        let bytes = c.to_bytes().unwrap();
        let len = u32::from_be_bytes(bytes[..4].try_into().unwrap()) as usize;
        assert_eq!(len, bytes.len() - 4);
        assert_eq!(Command::decode(bytes[4], &bytes[5..]).unwrap(), c);
    }

    #[test]
    fn connect_families() {
        roundtrip(Command::Connect(ConnectInfo {
            hostname: b"mx.example".to_vec(),
            family: Family::Inet6,
            port: 25,
            address: b"2001:db8::1".to_vec(),
        }));
        roundtrip(Command::Connect(ConnectInfo {
            hostname: b"localhost".to_vec(),
            family: Family::Unknown,
            port: 0,
            address: Vec::new(),
        }));
        let e = Command::decode(b'C', b"h\0X").unwrap_err();
        assert_eq!(
            e,
            DecodeError::Invalid {
                command: Code(b'C'),
                field: "family",
                offset: 2,
                reason: "not one of U, L, 4, 6"
            }
        );
        let e = Command::decode(b'C', b"h\x004\0").unwrap_err();
        assert!(matches!(
            e,
            DecodeError::Truncated {
                field: "port",
                offset: 3,
                need: 2,
                have: 1,
                ..
            }
        ));
    }

    #[test]
    fn exact_bytes_of_a_connect() {
        let c = Command::Connect(ConnectInfo {
            hostname: b"h".to_vec(),
            family: Family::Inet,
            port: 25,
            address: b"1.2.3.4".to_vec(),
        });
        assert_eq!(c.to_bytes().unwrap(), b"\0\0\0\x0eCh\x004\x00\x191.2.3.4\0");
    }

    #[test]
    fn strictness() {
        assert!(matches!(
            Command::decode(b'H', b"x"),
            Err(DecodeError::MissingNul { offset: 0, .. })
        ));
        assert!(matches!(
            Command::decode(b'H', b"x\0y"),
            Err(DecodeError::TrailingData {
                offset: 2,
                len: 1,
                ..
            })
        ));
        assert!(matches!(
            Command::decode(b'M', b""),
            Err(DecodeError::Invalid { field: "args", .. })
        ));
        assert!(matches!(
            Command::decode(b'D', b""),
            Err(DecodeError::Truncated { field: "stage", .. })
        ));
        assert!(matches!(
            Command::decode(b'O', b"\0\0\0\x06"),
            Err(DecodeError::Truncated { .. })
        ));
        assert!(matches!(
            Command::decode(b'Z', b""),
            Err(DecodeError::UnknownCode { .. })
        ));
        assert!(matches!(
            Command::decode(b'A', b"x"),
            Err(DecodeError::TrailingData { .. })
        ));
        // An odd macro list ends with an empty value.
        assert_eq!(
            Command::decode(b'D', b"Cj\0").unwrap(),
            Command::Macros {
                stage: b'C',
                pairs: vec![(b"j".to_vec(), Vec::new())]
            }
        );
    }

    #[test]
    fn nul_inside_a_string_is_refused() {
        let mut out = b"keep".to_vec();
        let e = Command::Helo(b"a\0b".to_vec())
            .encode(&mut out)
            .unwrap_err();
        assert_eq!(
            e,
            EncodeError::NulInString {
                command: Code(b'H'),
                field: "helo",
                offset: 1
            }
        );
        assert_eq!(out, b"keep");
    }
}
