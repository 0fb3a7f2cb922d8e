//! The inputs of an evaluation besides the Author Domain: the SPF and DKIM results and the
//! domains they are about (RFC 9989 §4.4), read by discovery (whether the walk may stop) and by
//! alignment.

use crate::record::{Alignment, Record};
use crate::result::MechanismResult;
use mailstamp_dns::Name;
use serde::Serialize;
use std::fmt;

/// The underlying mechanism of an identifier.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Mechanism {
    /// SPF: the MAIL FROM identity (or HELO for a null reverse-path), RFC 9989 §4.4.2.
    Spf,
    /// DKIM: the `d=` of a signature, RFC 9989 §4.4.1.
    Dkim,
}

impl Mechanism {
    /// `spf` or `dkim`.
    pub fn as_str(self) -> &'static str {
        match self {
            Mechanism::Spf => "spf",
            Mechanism::Dkim => "dkim",
        }
    }
}

impl fmt::Display for Mechanism {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A domain checked by SPF or DKIM and the result of that check.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Identifier {
    /// The result of the check.
    pub result: MechanismResult,
    /// The domain: the SPF domain, or the DKIM signing domain (`d=`).
    pub domain: Name,
}

/// The inputs of an evaluation besides the Author Domain: plain results and domains.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Identifiers {
    /// The SPF check of the MAIL FROM identity (RFC 9989 §3.2.4).
    pub spf: Option<Identifier>,
    /// One entry per DKIM signature checked.
    pub dkim: Vec<Identifier>,
}

impl Identifiers {
    /// No identifiers.
    pub fn new() -> Identifiers {
        Identifiers::default()
    }

    /// Sets the SPF result for `domain`, the domain SPF checked.
    pub fn with_spf(mut self, result: MechanismResult, domain: Name) -> Identifiers {
        self.spf = Some(Identifier { result, domain });
        self
    }

    /// Sets the SPF result from the SMTP envelope: the MAIL FROM domain, or for a null
    /// reverse-path (`mail_from_domain` is `None`) the HELO identity, which is what SPF checked
    /// then (RFC 7208 §2.4, RFC 9989 §3.2.4).
    pub fn with_spf_envelope(
        self,
        result: MechanismResult,
        mail_from_domain: Option<Name>,
        helo: Name,
    ) -> Identifiers {
        self.with_spf(result, mail_from_domain.unwrap_or(helo))
    }

    /// Adds a DKIM signature's result and signing domain (`d=`).
    pub fn with_dkim(mut self, result: MechanismResult, domain: Name) -> Identifiers {
        self.dkim.push(Identifier { result, domain });
        self
    }

    /// Every identifier with its mechanism, SPF first.
    pub(crate) fn iter(&self) -> impl Iterator<Item = (Mechanism, &Identifier)> {
        self.spf
            .iter()
            .map(|i| (Mechanism::Spf, i))
            .chain(self.dkim.iter().map(|i| (Mechanism::Dkim, i)))
    }

    /// The identifiers whose alignment can matter: passing ones, and temperror ones.
    fn that_count(&self) -> impl Iterator<Item = (Mechanism, &Identifier)> {
        self.iter()
            .filter(|(_, i)| matches!(i.result, MechanismResult::Pass | MechanismResult::TempError))
    }

    /// With `record` at the Author Domain, whether the discovery's walk may stop: `None` when
    /// an identifier that counts needs relaxed alignment, so the Organizational Domain is
    /// needed; otherwise `Some(identical)`, `identical` being true when at least one identifier
    /// counts and every one that counts is `author` (then `author` is their Organizational
    /// Domain too). RFC 9989 §4.10.2, "no need to perform"; without a policy (no `effective`
    /// policy) there is no DMARC processing at all. One pass over the identifiers.
    pub(crate) fn walk_not_needed(&self, author: &Name, record: &Record) -> Option<bool> {
        let mut counted = false;
        let mut identical = true;
        let mut needs_walk = false;
        for (mech, id) in self.that_count() {
            counted = true;
            if id.domain != *author {
                identical = false;
                needs_walk |= mode_of(record, mech) == Alignment::Relaxed;
            }
        }
        (record.effective.is_none() || !needs_walk).then_some(counted && identical)
    }
}

/// The alignment mode `record` asks of identifiers of `mech` (`aspf=` or `adkim=`).
pub(crate) fn mode_of(record: &Record, mech: Mechanism) -> Alignment {
    match mech {
        Mechanism::Spf => record.spf_alignment,
        Mechanism::Dkim => record.dkim_alignment,
    }
}
