//! The macros (Sendmail "symbols") the MTA defines before a command, kept per stage.

/// The command a set of macro definitions belongs to (the stage byte of a `D` command).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Stage {
    /// `C`: connect.
    Connect,
    /// `H`: HELO.
    Helo,
    /// `M`: MAIL.
    Mail,
    /// `R`: RCPT (replaced at each recipient).
    Rcpt,
    /// `T`: DATA.
    Data,
    /// `L`: a header field.
    Header,
    /// `N`: end of headers.
    EndOfHeaders,
    /// `B`: a body chunk.
    Body,
    /// `E`: end of message.
    EndOfMessage,
    /// `U`: an unknown SMTP command.
    Unknown,
    /// Any other stage byte (kept, like the rest, until the connection or message ends).
    Other,
}

impl Stage {
    const COUNT: usize = 11;

    /// The stage for a `D` command's stage byte.
    pub fn from_byte(b: u8) -> Stage {
        match b {
            b'C' => Stage::Connect,
            b'H' => Stage::Helo,
            b'M' => Stage::Mail,
            b'R' => Stage::Rcpt,
            b'T' => Stage::Data,
            b'L' => Stage::Header,
            b'N' => Stage::EndOfHeaders,
            b'B' => Stage::Body,
            b'E' => Stage::EndOfMessage,
            b'U' => Stage::Unknown,
            _ => Stage::Other,
        }
    }

    /// Whether its macros belong to one message (cleared after end of message or abort).
    pub fn is_message_stage(self) -> bool {
        matches!(
            self,
            Stage::Mail
                | Stage::Rcpt
                | Stage::Data
                | Stage::Header
                | Stage::EndOfHeaders
                | Stage::Body
                | Stage::EndOfMessage
        )
    }

    /// Lookup order: the latest stage of a message first, the connection last.
    const LOOKUP: [Stage; Stage::COUNT] = [
        Stage::EndOfMessage,
        Stage::Body,
        Stage::EndOfHeaders,
        Stage::Header,
        Stage::Data,
        Stage::Rcpt,
        Stage::Mail,
        Stage::Unknown,
        Stage::Helo,
        Stage::Connect,
        Stage::Other,
    ];
}

/// The macros in effect, by stage.
///
/// * A `D` command replaces all macros of its stage (so each RCPT's `{rcpt_addr}` replaces the
///   previous one).
/// * Connect and HELO macros last for the connection (until quit-new-connection); the macros
///   of MAIL and later stages are cleared when the message ends (end of message answered, or
///   abort) and, apart from MAIL's own, when a new MAIL starts.
/// * Names are stored without braces: `get("daemon_name")` and `get("{daemon_name}")` find
///   the same macro, as do `get("i")` and `get("{i}")`.
/// * Names and values are text: bytes that are not UTF-8 are replaced (U+FFFD).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Macros {
    stages: [Vec<(String, String)>; Stage::COUNT],
}

/// `{name}` and `name` are the same macro.
fn normalize(name: &str) -> &str {
    name.strip_prefix('{')
        .and_then(|n| n.strip_suffix('}'))
        .unwrap_or(name)
}

impl Macros {
    /// An empty set.
    pub fn new() -> Self {
        Self::default()
    }

    /// The value of a macro, looking in the latest stage first (end of message, ..., MAIL,
    /// HELO, connect).
    pub fn get(&self, name: &str) -> Option<&str> {
        let name = normalize(name);
        Stage::LOOKUP.iter().find_map(|s| self.get_in(*s, name))
    }

    /// The value of a macro defined for one stage.
    pub fn get_in(&self, stage: Stage, name: &str) -> Option<&str> {
        let name = normalize(name);
        self.stages[stage as usize]
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.as_str())
    }

    /// The macros of one stage, names without braces, in the order they were sent.
    pub fn stage(&self, stage: Stage) -> &[(String, String)] {
        &self.stages[stage as usize]
    }

    /// Every macro in effect, in lookup order (a name defined in two stages appears twice; the
    /// first is the one [`Macros::get`] returns).
    pub fn iter(&self) -> impl Iterator<Item = (Stage, &str, &str)> {
        Stage::LOOKUP.iter().flat_map(move |s| {
            self.stages[*s as usize]
                .iter()
                .map(move |(n, v)| (*s, n.as_str(), v.as_str()))
        })
    }

    /// Whether no macro is defined.
    pub fn is_empty(&self) -> bool {
        self.stages.iter().all(Vec::is_empty)
    }

    /// Replaces the macros of `stage` (what a `D` command does).
    pub fn define(&mut self, stage: Stage, pairs: &[(Vec<u8>, Vec<u8>)]) {
        let slot = &mut self.stages[stage as usize];
        slot.clear();
        for (n, v) in pairs {
            let name = String::from_utf8_lossy(n);
            let name = normalize(&name).to_owned();
            let value = String::from_utf8_lossy(v).into_owned();
            match slot.iter_mut().find(|(k, _)| *k == name) {
                Some(existing) => existing.1 = value,
                None => slot.push((name, value)),
            }
        }
    }

    /// Clears the macros of MAIL and later stages (end of a message).
    pub fn clear_message(&mut self) {
        for s in Stage::LOOKUP {
            if s.is_message_stage() {
                self.stages[s as usize].clear();
            }
        }
    }

    /// Clears the macros of the stages after MAIL (a new MAIL keeps its own).
    pub(crate) fn clear_after_mail(&mut self) {
        for s in Stage::LOOKUP {
            if s.is_message_stage() && s != Stage::Mail {
                self.stages[s as usize].clear();
            }
        }
    }

    /// Clears everything (a new SMTP connection on the same milter connection).
    pub fn clear(&mut self) {
        for s in &mut self.stages {
            s.clear();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pairs(p: &[(&str, &str)]) -> Vec<(Vec<u8>, Vec<u8>)> {
        p.iter()
            .map(|(n, v)| (n.as_bytes().to_vec(), v.as_bytes().to_vec()))
            .collect()
    }

    #[test]
    fn braces_and_precedence() {
        let mut m = Macros::new();
        m.define(
            Stage::Connect,
            &pairs(&[
                ("j", "mx.example"),
                ("{daemon_name}", "smtpd"),
                ("{x}", "conn"),
            ]),
        );
        m.define(Stage::Mail, &pairs(&[("i", "4ABC"), ("{x}", "mail")]));
        assert_eq!(m.get("daemon_name"), Some("smtpd"));
        assert_eq!(m.get("{daemon_name}"), Some("smtpd"));
        assert_eq!(m.get("{j}"), Some("mx.example"));
        assert_eq!(m.get("i"), Some("4ABC"));
        assert_eq!(m.get("x"), Some("mail"));
        assert_eq!(m.get_in(Stage::Connect, "x"), Some("conn"));
        m.clear_message();
        assert_eq!(m.get("i"), None);
        assert_eq!(m.get("x"), Some("conn"));
        assert_eq!(m.iter().count(), 3);
        m.clear();
        assert!(m.is_empty());
    }

    #[test]
    fn a_stage_is_replaced_whole() {
        let mut m = Macros::new();
        m.define(
            Stage::Rcpt,
            &pairs(&[("{rcpt_addr}", "a@x"), ("{rcpt_host}", "x")]),
        );
        m.define(
            Stage::Rcpt,
            &pairs(&[("{rcpt_addr}", "b@y"), ("{rcpt_addr}", "c@z")]),
        );
        assert_eq!(m.get("rcpt_addr"), Some("c@z"));
        assert_eq!(m.get("rcpt_host"), None);
        assert_eq!(Stage::from_byte(b'?'), Stage::Other);
    }
}
