//! Option negotiation: the milter states what it wants ([`MilterOptions`]), [`negotiate`]
//! intersects that with the MTA's offer and reports what was not granted ([`Negotiated`]).

use crate::command::OptNeg;
use crate::error::SessionError;
use crate::flags::{Actions, ProtocolFlags};
use crate::reply::{MacroStage, Reply};

/// The protocol version this crate speaks.
pub const PROTOCOL_VERSION: u32 = 6;

/// The oldest MTA version accepted.
pub const MIN_MTA_VERSION: u32 = 2;

/// What the milter asks for in negotiation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MilterOptions {
    /// The actions the milter may take at end of message.
    pub actions: Actions,
    /// The protocol flags the milter wants set (steps to skip, steps it will not answer,
    /// options).
    pub protocol: ProtocolFlags,
    /// Macros to ask for per stage (space-separated names, braces as the MTA expects them, e.g.
    /// `{auth_authen} i`). Sent only when the MTA grants [`Actions::SETSYMLIST`], which is then
    /// requested automatically.
    pub macros: Vec<(MacroStage, String)>,
}

impl Default for MilterOptions {
    /// The defaults for an authentication milter (verify, then add a result header field):
    ///
    /// * actions [`Actions::ADDHDRS`] (add `Authentication-Results`) and [`Actions::CHGHDRS`]
    ///   (remove forged `Authentication-Results` carrying our authserv-id);
    /// * [`ProtocolFlags::HDR_LEADSPC`], so header values arrive byte-exact for DKIM;
    /// * [`ProtocolFlags::NR_HDR`]: no reply per header field (one round trip saved per field;
    ///   nothing is decided on a single field);
    /// * [`ProtocolFlags::SKIP`], so the milter can stop the body once it has what it needs;
    /// * [`ProtocolFlags::NOUNKNOWN`] and [`ProtocolFlags::NODATA`]: steps it has no use for.
    ///
    /// Connect, HELO, MAIL, RCPT, end of headers and body chunks still expect a reply, so the
    /// daemon can refuse early (for example an SPF `fail` at MAIL).
    fn default() -> Self {
        MilterOptions {
            actions: Actions::ADDHDRS | Actions::CHGHDRS,
            protocol: ProtocolFlags::HDR_LEADSPC
                | ProtocolFlags::NR_HDR
                | ProtocolFlags::SKIP
                | ProtocolFlags::NOUNKNOWN
                | ProtocolFlags::NODATA,
            macros: Vec::new(),
        }
    }
}

/// The outcome of negotiation: what is in effect for the connection, and what the milter asked
/// for but did not get (log it once; the session works with what was granted).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Negotiated {
    /// The version replied: the MTA's, capped at [`PROTOCOL_VERSION`].
    pub version: u32,
    /// The actions granted (requested and offered).
    pub actions: Actions,
    /// The protocol flags in effect (requested and offered).
    pub protocol: ProtocolFlags,
    /// The MTA's offer as received.
    pub offered: OptNeg,
    /// Actions requested but not offered.
    pub missing_actions: Actions,
    /// Protocol flags requested but not offered.
    pub missing_protocol: ProtocolFlags,
    /// The macro lists sent in the reply (empty unless [`Actions::SETSYMLIST`] was granted).
    pub macros: Vec<(MacroStage, String)>,
}

impl Negotiated {
    /// Whether everything asked for was granted.
    pub fn is_complete(&self) -> bool {
        self.missing_actions.is_empty() && self.missing_protocol.is_empty()
    }

    /// One line for the log when something was not granted, e.g.
    /// `MTA (version 6) did not grant actions ADDHDRS; protocol flags HDR_LEADSPC`.
    pub fn shortfall(&self) -> Option<String> {
        if self.is_complete() {
            return None;
        }
        let mut parts = Vec::new();
        if !self.missing_actions.is_empty() {
            parts.push(format!("actions {}", self.missing_actions));
        }
        if !self.missing_protocol.is_empty() {
            parts.push(format!("protocol flags {}", self.missing_protocol));
        }
        Some(format!(
            "MTA (version {}) did not grant {}",
            self.offered.version,
            parts.join("; ")
        ))
    }

    /// Whether the MTA waits for a reply to the command with this byte. Macros, abort, quit and
    /// the negotiation itself get none (the session answers negotiation); the `NR_*` flags in
    /// effect remove the others; end of message always gets one.
    pub fn expects_reply(&self, command: u8) -> bool {
        use crate::command::code as c;
        let nr = |flag| !self.protocol.contains(flag);
        match command {
            c::CONNECT => nr(ProtocolFlags::NR_CONN),
            c::HELO => nr(ProtocolFlags::NR_HELO),
            c::MAIL => nr(ProtocolFlags::NR_MAIL),
            c::RCPT => nr(ProtocolFlags::NR_RCPT),
            c::DATA => nr(ProtocolFlags::NR_DATA),
            c::HEADER => nr(ProtocolFlags::NR_HDR),
            c::EOH => nr(ProtocolFlags::NR_EOH),
            c::BODY => nr(ProtocolFlags::NR_BODY),
            c::UNKNOWN => nr(ProtocolFlags::NR_UNKN),
            c::BODYEOB => true,
            _ => false,
        }
    }

    /// The negotiation reply to send.
    pub fn reply(&self) -> Reply {
        Reply::OptNeg {
            optneg: OptNeg {
                version: self.version,
                actions: self.actions,
                protocol: self.protocol,
            },
            macros: self
                .macros
                .iter()
                .map(|(s, l)| (*s, l.clone().into_bytes()))
                .collect(),
        }
    }
}

/// Intersects the milter's wishes with the MTA's offer.
///
/// The version must be 2 to 6 ([`SessionError::UnsupportedVersion`] otherwise); the reply uses
/// the MTA's version (never more than 6, the only version whose extensions this crate
/// implements; an older MTA simply offers fewer flags). Nothing outside the offer is ever
/// requested: MTAs drop a milter that asks for more than they offered.
pub fn negotiate(offer: &OptNeg, wanted: &MilterOptions) -> Result<Negotiated, SessionError> {
    if !(MIN_MTA_VERSION..=PROTOCOL_VERSION).contains(&offer.version) {
        return Err(SessionError::UnsupportedVersion {
            version: offer.version,
        });
    }
    let mut want_actions = wanted.actions;
    if !wanted.macros.is_empty() {
        want_actions |= Actions::SETSYMLIST;
    }
    let actions = want_actions & offer.actions;
    let protocol = wanted.protocol & offer.protocol;
    let macros = if actions.contains(Actions::SETSYMLIST) {
        wanted.macros.clone()
    } else {
        Vec::new()
    };
    Ok(Negotiated {
        version: offer.version.min(PROTOCOL_VERSION),
        actions,
        protocol,
        offered: *offer,
        missing_actions: want_actions - offer.actions,
        missing_protocol: wanted.protocol - offer.protocol,
        macros,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn offer(version: u32, actions: u32, protocol: u32) -> OptNeg {
        OptNeg {
            version,
            actions: Actions::from_bits_retain(actions),
            protocol: ProtocolFlags::from_bits_retain(protocol),
        }
    }

    #[test]
    fn full_offer_grants_everything() {
        let n = negotiate(&offer(6, 0x1ff, 0x1f_ffff), &MilterOptions::default()).unwrap();
        assert!(n.is_complete());
        assert_eq!(n.shortfall(), None);
        assert_eq!(n.version, 6);
        assert_eq!(n.actions, Actions::ADDHDRS | Actions::CHGHDRS);
        assert!(!n.expects_reply(b'L'));
        assert!(n.expects_reply(b'B'));
        assert!(n.expects_reply(b'E'));
        assert!(!n.expects_reply(b'D'));
    }

    #[test]
    fn partial_offer_reports_the_shortfall() {
        // An old MTA: version 2, only ADDHDRS and the seven NO* flags.
        let n = negotiate(&offer(2, 0x01, 0x7f), &MilterOptions::default()).unwrap();
        assert_eq!(n.version, 2);
        assert_eq!(n.actions, Actions::ADDHDRS);
        assert_eq!(n.missing_actions, Actions::CHGHDRS);
        assert!(
            n.missing_protocol
                .contains(ProtocolFlags::HDR_LEADSPC | ProtocolFlags::NR_HDR)
        );
        assert!(n.expects_reply(b'L'));
        assert_eq!(
            n.shortfall().unwrap(),
            "MTA (version 2) did not grant actions CHGHDRS; protocol flags NR_HDR|NOUNKNOWN|NODATA|SKIP|HDR_LEADSPC"
        );
    }

    #[test]
    fn versions() {
        assert!(negotiate(&offer(1, 0, 0), &MilterOptions::default()).is_err());
        assert!(negotiate(&offer(7, 0, 0), &MilterOptions::default()).is_err());
        assert_eq!(
            negotiate(&offer(4, 0, 0), &MilterOptions::default())
                .unwrap()
                .version,
            4
        );
    }

    #[test]
    fn macro_lists_need_setsymlist() {
        let wanted = MilterOptions {
            macros: vec![(MacroStage::Mail, "{auth_authen}".to_owned())],
            ..MilterOptions::default()
        };
        let n = negotiate(&offer(6, 0x1ff, 0x1f_ffff), &wanted).unwrap();
        assert!(n.actions.contains(Actions::SETSYMLIST));
        assert_eq!(n.macros.len(), 1);
        let n = negotiate(&offer(6, 0xff, 0x1f_ffff), &wanted).unwrap();
        assert!(n.macros.is_empty());
        assert_eq!(n.missing_actions, Actions::SETSYMLIST);
    }
}
