//! Replies the milter sends to the MTA (`SMFIR_*`): verdicts, modifications, progress and the
//! negotiation reply. Encode (the milter side) and decode (the MTA side, for load generators and
//! tests).

use crate::command::OptNeg;
use crate::error::{Code, DecodeError, EncodeError};
use crate::field::{Reader, write_frame};
use crate::flags::{Actions, ProtocolFlags};

/// The reply bytes (`SMFIR_*`).
pub mod code {
    /// `SMFIR_ADDRCPT`
    pub const ADDRCPT: u8 = b'+';
    /// `SMFIR_DELRCPT`
    pub const DELRCPT: u8 = b'-';
    /// `SMFIR_ADDRCPT_PAR`
    pub const ADDRCPT_PAR: u8 = b'2';
    /// `SMFIR_ACCEPT`
    pub const ACCEPT: u8 = b'a';
    /// `SMFIR_REPLBODY`
    pub const REPLBODY: u8 = b'b';
    /// `SMFIR_CONTINUE`
    pub const CONTINUE: u8 = b'c';
    /// `SMFIR_DISCARD`
    pub const DISCARD: u8 = b'd';
    /// `SMFIR_CHGFROM`
    pub const CHGFROM: u8 = b'e';
    /// `SMFIR_ADDHEADER`
    pub const ADDHEADER: u8 = b'h';
    /// `SMFIR_INSHEADER`
    pub const INSHEADER: u8 = b'i';
    /// `SMFIR_CHGHEADER`
    pub const CHGHEADER: u8 = b'm';
    /// `SMFIR_PROGRESS`
    pub const PROGRESS: u8 = b'p';
    /// `SMFIR_QUARANTINE`
    pub const QUARANTINE: u8 = b'q';
    /// `SMFIR_REJECT`
    pub const REJECT: u8 = b'r';
    /// `SMFIR_SKIP`
    pub const SKIP: u8 = b's';
    /// `SMFIR_TEMPFAIL`
    pub const TEMPFAIL: u8 = b't';
    /// `SMFIR_REPLYCODE`
    pub const REPLYCODE: u8 = b'y';
    /// The negotiation reply (`SMFIC_OPTNEG`, same byte as the command).
    pub const OPTNEG: u8 = b'O';
}

/// A specific SMTP reply (`y`): a 4xx or 5xx code, an optional enhanced status code
/// (RFC 3463) and one line of text, sent as `550 5.7.1 text`.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct ReplyCode {
    code: u16,
    enhanced: Option<String>,
    text: String,
}

impl ReplyCode {
    /// Checks and builds a reply: `code` in 400..=599; `enhanced`, when given, is
    /// `class.subject.detail` whose class is the code's first digit; `text` is one line with no
    /// control character but tab (use an empty text for none). `%` in the text is doubled on the wire (the
    /// MTA treats the text as a format string) and undoubled when decoded.
    pub fn new(code: u16, enhanced: Option<&str>, text: &str) -> Result<ReplyCode, EncodeError> {
        let invalid = |field, reason| EncodeError::Invalid {
            command: Code(code::REPLYCODE),
            field,
            reason,
        };
        if !(400..=599).contains(&code) {
            return Err(invalid("code", "must be 4xx or 5xx"));
        }
        if let Some(esc) = enhanced
            && !is_enhanced_code(esc.as_bytes(), code)
        {
            return Err(invalid(
                "enhanced code",
                "must be class.subject.detail with the class of the code",
            ));
        }
        if text.chars().any(|c| c.is_control() && c != '\t') {
            return Err(invalid(
                "text",
                "must not contain CR, LF or other control characters",
            ));
        }
        if enhanced.is_none()
            && text
                .split(' ')
                .next()
                .is_some_and(|w| is_enhanced_code(w.as_bytes(), code))
        {
            return Err(invalid(
                "text",
                "starts like an enhanced status code; pass it as one",
            ));
        }
        Ok(ReplyCode {
            code,
            enhanced: enhanced.map(str::to_owned),
            text: text.to_owned(),
        })
    }

    /// The three-digit code.
    pub fn code(&self) -> u16 {
        self.code
    }

    /// The enhanced status code, if any.
    pub fn enhanced(&self) -> Option<&str> {
        self.enhanced.as_deref()
    }

    /// The text (with single `%`).
    pub fn text(&self) -> &str {
        &self.text
    }

    /// Whether it is a temporary (4xx) reply.
    pub fn is_temporary(&self) -> bool {
        self.code < 500
    }

    /// The reply line as the MTA will send it to the client (`550 5.7.1 text`, `%` single).
    pub fn line(&self) -> String {
        let mut s = self.code.to_string();
        if let Some(e) = &self.enhanced {
            s.push(' ');
            s.push_str(e);
        }
        if !self.text.is_empty() {
            s.push(' ');
            s.push_str(&self.text);
        }
        s
    }

    fn wire(&self) -> Vec<u8> {
        self.line().replace('%', "%%").into_bytes()
    }

    fn parse(r: &Reader<'_>, raw: &[u8]) -> Result<ReplyCode, DecodeError> {
        let text = std::str::from_utf8(raw).map_err(|_| r.invalid("reply", 0, "not UTF-8"))?;
        let digits = text
            .get(..3)
            .filter(|d| d.bytes().all(|b| b.is_ascii_digit()));
        let code: u16 = digits
            .and_then(|d| d.parse().ok())
            .filter(|c| (400..=599).contains(c))
            .ok_or_else(|| r.invalid("code", 0, "not a 4xx or 5xx code"))?;
        let rest = &text[3..];
        let rest = match rest.strip_prefix(' ') {
            Some(rest) => rest,
            None if rest.is_empty() => rest,
            None => return Err(r.invalid("reply", 3, "code not followed by a space")),
        };
        let (enhanced, text) = match rest.split_once(' ') {
            Some((w, t)) if is_enhanced_code(w.as_bytes(), code) => (Some(w), t),
            None if is_enhanced_code(rest.as_bytes(), code) => (Some(rest), ""),
            _ => (None, rest),
        };
        Ok(ReplyCode {
            code,
            enhanced: enhanced.map(str::to_owned),
            text: text.replace("%%", "%"),
        })
    }
}

fn is_enhanced_code(s: &[u8], code: u16) -> bool {
    let mut parts = s.split(|&b| b == b'.');
    let (Some(class), Some(subject), Some(detail), None) =
        (parts.next(), parts.next(), parts.next(), parts.next())
    else {
        return false;
    };
    let digits =
        |p: &[u8], max: usize| !p.is_empty() && p.len() <= max && p.iter().all(u8::is_ascii_digit);
    let first = b'0' + (code / 100) as u8;
    class == [first] && digits(subject, 3) && digits(detail, 3)
}

/// The stage a requested macro list applies to (`SMFIM_*`), in the negotiation reply.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum MacroStage {
    /// `SMFIM_CONNECT` (0)
    Connect,
    /// `SMFIM_HELO` (1)
    Helo,
    /// `SMFIM_ENVFROM` (2)
    Mail,
    /// `SMFIM_ENVRCPT` (3)
    Rcpt,
    /// `SMFIM_DATA` (4)
    Data,
    /// `SMFIM_EOM` (5)
    EndOfMessage,
    /// `SMFIM_EOH` (6)
    EndOfHeaders,
    /// Another number.
    Other(u32),
}

impl MacroStage {
    /// The stage number on the wire.
    pub fn to_u32(self) -> u32 {
        match self {
            MacroStage::Connect => 0,
            MacroStage::Helo => 1,
            MacroStage::Mail => 2,
            MacroStage::Rcpt => 3,
            MacroStage::Data => 4,
            MacroStage::EndOfMessage => 5,
            MacroStage::EndOfHeaders => 6,
            MacroStage::Other(n) => n,
        }
    }

    /// The stage for a wire number.
    pub fn from_u32(n: u32) -> MacroStage {
        match n {
            0 => MacroStage::Connect,
            1 => MacroStage::Helo,
            2 => MacroStage::Mail,
            3 => MacroStage::Rcpt,
            4 => MacroStage::Data,
            5 => MacroStage::EndOfMessage,
            6 => MacroStage::EndOfHeaders,
            n => MacroStage::Other(n),
        }
    }
}

/// A message modification, sent only in answer to end of message and only when its action was
/// negotiated ([`Modification::required_action`]).
///
/// Header values are given as they follow `Name:`. Whether the MTA inserts a space after the
/// colon depends on [`ProtocolFlags::HDR_LEADSPC`]; [`crate::Session`] takes care of it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Modification {
    /// `h`: append a header field.
    AddHeader {
        /// Field name.
        name: Vec<u8>,
        /// Field value (LF or CRLF followed by white space between folded lines).
        value: Vec<u8>,
    },
    /// `i`: insert a header field at a position (0 is the top).
    InsertHeader {
        /// Position among all header fields.
        index: u32,
        /// Field name.
        name: Vec<u8>,
        /// Field value.
        value: Vec<u8>,
    },
    /// `m`: change the `index`-th field (counting from 1) named `name`; an empty value deletes it.
    ChangeHeader {
        /// Occurrence of the name, from 1.
        index: u32,
        /// Field name.
        name: Vec<u8>,
        /// New value; empty deletes the field.
        value: Vec<u8>,
    },
    /// `b`: replace the body (may be sent several times; the parts are concatenated).
    ReplaceBody(Vec<u8>),
    /// `+`: add a recipient.
    AddRcpt(Vec<u8>),
    /// `2`: add a recipient with ESMTP arguments.
    AddRcptPar {
        /// The recipient.
        recipient: Vec<u8>,
        /// ESMTP arguments.
        args: Vec<Vec<u8>>,
    },
    /// `-`: remove a recipient (as it was given in RCPT).
    DelRcpt(Vec<u8>),
    /// `e`: change the envelope sender, with optional ESMTP arguments.
    ChangeFrom {
        /// The new sender.
        sender: Vec<u8>,
        /// ESMTP arguments.
        args: Vec<Vec<u8>>,
    },
    /// `q`: quarantine the message, with a reason.
    Quarantine(Vec<u8>),
}

impl Modification {
    /// The reply byte.
    pub fn code(&self) -> u8 {
        match self {
            Modification::AddHeader { .. } => code::ADDHEADER,
            Modification::InsertHeader { .. } => code::INSHEADER,
            Modification::ChangeHeader { .. } => code::CHGHEADER,
            Modification::ReplaceBody(_) => code::REPLBODY,
            Modification::AddRcpt(_) => code::ADDRCPT,
            Modification::AddRcptPar { .. } => code::ADDRCPT_PAR,
            Modification::DelRcpt(_) => code::DELRCPT,
            Modification::ChangeFrom { .. } => code::CHGFROM,
            Modification::Quarantine(_) => code::QUARANTINE,
        }
    }

    /// The action that must have been negotiated for the MTA to accept it.
    pub fn required_action(&self) -> Actions {
        match self {
            Modification::AddHeader { .. } | Modification::InsertHeader { .. } => Actions::ADDHDRS,
            Modification::ChangeHeader { .. } => Actions::CHGHDRS,
            Modification::ReplaceBody(_) => Actions::CHGBODY,
            Modification::AddRcpt(_) => Actions::ADDRCPT,
            Modification::AddRcptPar { .. } => Actions::ADDRCPT_PAR,
            Modification::DelRcpt(_) => Actions::DELRCPT,
            Modification::ChangeFrom { .. } => Actions::CHGFROM,
            Modification::Quarantine(_) => Actions::QUARANTINE,
        }
    }
}

/// A reply from the milter.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Reply {
    /// `a`: accept; the milter wants nothing more of this message (or connection).
    Accept,
    /// `c`: continue.
    Continue,
    /// `d`: discard the message silently.
    Discard,
    /// `r`: reject with a 5xx (the recipient only, in answer to RCPT).
    Reject,
    /// `t`: reject with a 4xx (the recipient only, in answer to RCPT).
    Tempfail,
    /// `y`: reject with this code and text.
    ReplyCode(ReplyCode),
    /// `s`: send no more body chunks (needs [`ProtocolFlags::SKIP`]).
    Skip,
    /// `p`: still working; resets the MTA's timer. The real reply follows.
    Progress,
    /// `O`: the negotiation reply, with the macro lists the milter asks for (needs
    /// [`Actions::SETSYMLIST`]).
    OptNeg {
        /// Version, actions and protocol flags chosen.
        optneg: OptNeg,
        /// Per stage, a space-separated list of macro names.
        macros: Vec<(MacroStage, Vec<u8>)>,
    },
    /// A modification (end of message only).
    Modify(Modification),
}

impl Reply {
    /// The reply byte.
    pub fn code(&self) -> u8 {
        match self {
            Reply::Accept => code::ACCEPT,
            Reply::Continue => code::CONTINUE,
            Reply::Discard => code::DISCARD,
            Reply::Reject => code::REJECT,
            Reply::Tempfail => code::TEMPFAIL,
            Reply::ReplyCode(_) => code::REPLYCODE,
            Reply::Skip => code::SKIP,
            Reply::Progress => code::PROGRESS,
            Reply::OptNeg { .. } => code::OPTNEG,
            Reply::Modify(m) => m.code(),
        }
    }

    /// Decodes a reply from its code byte and data (strict, like [`crate::Command::decode`]).
    pub fn decode(code: u8, data: &[u8]) -> Result<Reply, DecodeError> {
        let mut r = Reader::new(code, data);
        let reply = match code {
            code::ACCEPT => Reply::Accept,
            code::CONTINUE => Reply::Continue,
            code::DISCARD => Reply::Discard,
            code::REJECT => Reply::Reject,
            code::TEMPFAIL => Reply::Tempfail,
            code::SKIP => Reply::Skip,
            code::PROGRESS => Reply::Progress,
            code::REPLYCODE => {
                let raw = r.cstr("reply")?;
                Reply::ReplyCode(ReplyCode::parse(&r, raw)?)
            }
            code::OPTNEG => {
                let version = r.u32("version")?;
                let actions = Actions::from_bits_retain(r.u32("actions")?);
                let protocol = ProtocolFlags::from_bits_retain(r.u32("protocol")?);
                let mut macros = Vec::new();
                while !r.is_empty() {
                    let stage = MacroStage::from_u32(r.u32("macro stage")?);
                    macros.push((stage, r.cstr("macro list")?.to_vec()));
                }
                Reply::OptNeg {
                    optneg: OptNeg {
                        version,
                        actions,
                        protocol,
                    },
                    macros,
                }
            }
            code::ADDHEADER => {
                let name = r.cstr("header name")?.to_vec();
                let value = r.cstr("header value")?.to_vec();
                Reply::Modify(Modification::AddHeader { name, value })
            }
            code::INSHEADER | code::CHGHEADER => {
                let index = r.u32("index")?;
                let name = r.cstr("header name")?.to_vec();
                let value = r.cstr("header value")?.to_vec();
                Reply::Modify(if code == code::INSHEADER {
                    Modification::InsertHeader { index, name, value }
                } else {
                    Modification::ChangeHeader { index, name, value }
                })
            }
            code::REPLBODY => Reply::Modify(Modification::ReplaceBody(r.rest().to_vec())),
            code::ADDRCPT => Reply::Modify(Modification::AddRcpt(r.cstr("recipient")?.to_vec())),
            code::DELRCPT => Reply::Modify(Modification::DelRcpt(r.cstr("recipient")?.to_vec())),
            code::QUARANTINE => Reply::Modify(Modification::Quarantine(r.cstr("reason")?.to_vec())),
            code::ADDRCPT_PAR | code::CHGFROM => {
                let mut args = r.cstr_array("args")?;
                if args.is_empty() {
                    return Err(r.invalid("args", 0, "no address"));
                }
                let address = args.remove(0);
                Reply::Modify(if code == code::CHGFROM {
                    Modification::ChangeFrom {
                        sender: address,
                        args,
                    }
                } else {
                    Modification::AddRcptPar {
                        recipient: address,
                        args,
                    }
                })
            }
            other => {
                return Err(DecodeError::UnknownCode {
                    command: Code(other),
                    kind: "reply",
                    len: data.len(),
                });
            }
        };
        r.end()?;
        Ok(reply)
    }

    /// Appends the reply's frame to `out`. On error `out` is left as it was.
    pub fn encode(&self, out: &mut Vec<u8>) -> Result<(), EncodeError> {
        write_frame(out, self.code(), |w| {
            match self {
                Reply::Accept
                | Reply::Continue
                | Reply::Discard
                | Reply::Reject
                | Reply::Tempfail
                | Reply::Skip
                | Reply::Progress => {}
                Reply::ReplyCode(rc) => w.cstr(&rc.wire(), "reply")?,
                Reply::OptNeg { optneg, macros } => {
                    w.u32(optneg.version);
                    w.u32(optneg.actions.bits());
                    w.u32(optneg.protocol.bits());
                    for (stage, list) in macros {
                        w.u32(stage.to_u32());
                        w.cstr(list, "macro list")?;
                    }
                }
                Reply::Modify(m) => match m {
                    Modification::AddHeader { name, value } => {
                        w.cstr(name, "header name")?;
                        w.cstr(value, "header value")?;
                    }
                    Modification::InsertHeader { index, name, value }
                    | Modification::ChangeHeader { index, name, value } => {
                        w.u32(*index);
                        w.cstr(name, "header name")?;
                        w.cstr(value, "header value")?;
                    }
                    Modification::ReplaceBody(b) => w.bytes(b),
                    Modification::AddRcpt(a) | Modification::DelRcpt(a) => {
                        w.cstr(a, "recipient")?
                    }
                    Modification::Quarantine(q) => w.cstr(q, "reason")?,
                    Modification::AddRcptPar { recipient: a, args }
                    | Modification::ChangeFrom { sender: a, args } => {
                        w.cstr(a, "address")?;
                        for x in args {
                            w.cstr(x, "args")?;
                        }
                    }
                },
            }
            Ok(())
        })
    }

    /// The reply's frame as a new vector.
    pub fn to_bytes(&self) -> Result<Vec<u8>, EncodeError> {
        let mut out = Vec::new();
        self.encode(&mut out)?;
        Ok(out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reply_code_validation() {
        assert!(ReplyCode::new(250, None, "ok").is_err());
        assert!(ReplyCode::new(550, Some("4.7.1"), "x").is_err());
        assert!(ReplyCode::new(550, Some("5.7"), "x").is_err());
        assert!(ReplyCode::new(550, Some("5.7.1"), "a\r\nb").is_err());
        assert!(ReplyCode::new(550, None, "5.7.1 sneaky").is_err());
        let rc = ReplyCode::new(550, Some("5.7.1"), "100% spam").unwrap();
        assert_eq!(rc.line(), "550 5.7.1 100% spam");
        let bytes = Reply::ReplyCode(rc.clone()).to_bytes().unwrap();
        assert_eq!(&bytes[4..], b"y550 5.7.1 100%% spam\0");
        assert_eq!(
            Reply::decode(bytes[4], &bytes[5..]).unwrap(),
            Reply::ReplyCode(rc)
        );
    }

    #[test]
    fn reply_code_decoding_is_tolerant_of_missing_parts() {
        let d = |s: &[u8]| Reply::decode(b'y', s);
        assert_eq!(
            d(b"451\0").unwrap(),
            Reply::ReplyCode(ReplyCode::new(451, None, "").unwrap())
        );
        assert_eq!(
            d(b"451 4.3.0\0").unwrap(),
            Reply::ReplyCode(ReplyCode::new(451, Some("4.3.0"), "").unwrap())
        );
        assert!(d(b"250 ok\0").is_err());
        assert!(d(b"45\0").is_err());
        assert!(d(b"451x\0").is_err());
    }

    #[test]
    fn optneg_reply_with_macro_lists() {
        let r = Reply::OptNeg {
            optneg: OptNeg {
                version: 6,
                actions: Actions::ADDHDRS,
                protocol: ProtocolFlags::HDR_LEADSPC,
            },
            macros: vec![
                (MacroStage::Mail, b"{auth_authen} i".to_vec()),
                (MacroStage::Other(9), Vec::new()),
            ],
        };
        let bytes = r.to_bytes().unwrap();
        assert_eq!(Reply::decode(bytes[4], &bytes[5..]).unwrap(), r);
    }
}
