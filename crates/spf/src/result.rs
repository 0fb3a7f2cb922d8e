//! The SPF result vocabulary: results, qualifiers and identities.

use serde::{Deserialize, Serialize};
use std::fmt;
use std::str::FromStr;

/// The result of `check_host()` (RFC 7208 §2.6), with exactly the RFC 8601 tokens.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum SpfResult {
    /// No syntactically valid DNS domain name was extracted, or no SPF record was found
    /// (RFC 7208 §2.6.1).
    None,
    /// The domain owner has explicitly stated that it is not asserting whether the IP address
    /// is authorized (RFC 7208 §2.6.2).
    Neutral,
    /// The client is authorized to inject mail with the given identity (RFC 7208 §2.6.3).
    Pass,
    /// The client is not authorized to use the domain in the given identity (RFC 7208 §2.6.4).
    Fail,
    /// A weak statement that the host is probably not authorized (RFC 7208 §2.6.5).
    SoftFail,
    /// A transient (generally DNS) error while performing the check (RFC 7208 §2.6.6).
    TempError,
    /// The domain's published records could not be correctly interpreted (RFC 7208 §2.6.7).
    PermError,
}

impl SpfResult {
    /// Every result, in the order of RFC 7208 §2.6.
    pub const ALL: [SpfResult; 7] = [
        SpfResult::None,
        SpfResult::Neutral,
        SpfResult::Pass,
        SpfResult::Fail,
        SpfResult::SoftFail,
        SpfResult::TempError,
        SpfResult::PermError,
    ];

    /// The RFC 8601 token: `none`, `neutral`, `pass`, `fail`, `softfail`, `temperror`,
    /// `permerror`.
    pub fn as_str(self) -> &'static str {
        match self {
            SpfResult::None => "none",
            SpfResult::Neutral => "neutral",
            SpfResult::Pass => "pass",
            SpfResult::Fail => "fail",
            SpfResult::SoftFail => "softfail",
            SpfResult::TempError => "temperror",
            SpfResult::PermError => "permerror",
        }
    }
}

impl fmt::Display for SpfResult {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A string that is not one of the seven SPF result tokens.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error(
    "unknown SPF result {0:?} (expected none, neutral, pass, fail, softfail, temperror or permerror)"
)]
pub struct UnknownResult(pub String);

impl FromStr for SpfResult {
    type Err = UnknownResult;

    /// Parses a result token, ignoring ASCII case.
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        SpfResult::ALL
            .into_iter()
            .find(|r| r.as_str().eq_ignore_ascii_case(s))
            .ok_or_else(|| UnknownResult(s.to_owned()))
    }
}

/// The qualifier of a directive (RFC 7208 §4.6.2): the result a matching mechanism yields.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum Qualifier {
    /// `+` (the default): pass.
    #[default]
    Pass,
    /// `-`: fail.
    Fail,
    /// `~`: softfail.
    SoftFail,
    /// `?`: neutral.
    Neutral,
}

impl Qualifier {
    /// The result a match with this qualifier yields (RFC 7208 §4.6.2).
    pub fn result(self) -> SpfResult {
        match self {
            Qualifier::Pass => SpfResult::Pass,
            Qualifier::Fail => SpfResult::Fail,
            Qualifier::SoftFail => SpfResult::SoftFail,
            Qualifier::Neutral => SpfResult::Neutral,
        }
    }

    /// The qualifier character: `+`, `-`, `~` or `?`.
    pub fn symbol(self) -> char {
        match self {
            Qualifier::Pass => '+',
            Qualifier::Fail => '-',
            Qualifier::SoftFail => '~',
            Qualifier::Neutral => '?',
        }
    }

    /// The qualifier for a character, if it is one.
    pub fn from_symbol(c: u8) -> Option<Qualifier> {
        match c {
            b'+' => Some(Qualifier::Pass),
            b'-' => Some(Qualifier::Fail),
            b'~' => Some(Qualifier::SoftFail),
            b'?' => Some(Qualifier::Neutral),
            _ => None,
        }
    }
}

/// Which identity a check authorizes (RFC 7208 §2.3, §2.4), as the `identity=` key of
/// `Received-SPF` (RFC 7208 §9.1) names it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Identity {
    /// The SMTP `MAIL FROM` reverse-path; for a null reverse-path, `postmaster@<HELO domain>`
    /// (RFC 7208 §2.4).
    MailFrom,
    /// The SMTP `HELO`/`EHLO` domain (RFC 7208 §2.3).
    Helo,
}

impl Identity {
    /// `mailfrom` or `helo`.
    pub fn as_str(self) -> &'static str {
        match self {
            Identity::MailFrom => "mailfrom",
            Identity::Helo => "helo",
        }
    }
}

impl fmt::Display for Identity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rfc7208_2_6_result_tokens_round_trip() {
        for r in SpfResult::ALL {
            assert_eq!(r.as_str().parse::<SpfResult>(), Ok(r));
            assert_eq!(r.to_string(), r.as_str());
            assert_eq!(
                r.as_str().to_ascii_uppercase().parse::<SpfResult>(),
                Ok(r),
                "tokens are case-insensitive"
            );
        }
        assert!("unknown".parse::<SpfResult>().is_err());
        assert_eq!(
            serde_json::to_string(&SpfResult::SoftFail).unwrap(),
            "\"softfail\""
        );
    }

    #[test]
    fn rfc7208_4_6_2_qualifiers() {
        for (c, r) in [
            (b'+', SpfResult::Pass),
            (b'-', SpfResult::Fail),
            (b'~', SpfResult::SoftFail),
            (b'?', SpfResult::Neutral),
        ] {
            let q = Qualifier::from_symbol(c).unwrap();
            assert_eq!(q.result(), r);
            assert_eq!(q.symbol() as u8, c);
        }
        assert_eq!(Qualifier::from_symbol(b'!'), None);
        assert_eq!(Qualifier::default(), Qualifier::Pass);
    }

    #[test]
    fn rfc7208_9_1_identity_tokens() {
        assert_eq!(Identity::MailFrom.to_string(), "mailfrom");
        assert_eq!(Identity::Helo.as_str(), "helo");
    }
}
