//! Result tokens, dispositions and problems (RFC 9989 §9.2, RFC 8601 §2.7.1).

use mailstamp_dns::{FailureKind, Name};
use serde::Serialize;
use std::fmt;

/// The DMARC result, exactly the RFC 8601 / RFC 9989 §9.2 tokens.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum DmarcResult {
    /// No DMARC Policy Record exists for the Author Domain (or DMARC does not apply).
    None,
    /// A record exists and an Authenticated Identifier is aligned with the Author Domain.
    Pass,
    /// A record exists and no Authenticated Identifier is aligned.
    Fail,
    /// A transient error, such as a DNS server being unreachable; a later attempt might give a
    /// final result.
    TempError,
    /// An unrecoverable error, such as an improperly formatted DMARC Policy Record.
    PermError,
}

impl DmarcResult {
    /// The token: `none`, `pass`, `fail`, `temperror` or `permerror`.
    pub fn as_str(self) -> &'static str {
        match self {
            DmarcResult::None => "none",
            DmarcResult::Pass => "pass",
            DmarcResult::Fail => "fail",
            DmarcResult::TempError => "temperror",
            DmarcResult::PermError => "permerror",
        }
    }
}

impl fmt::Display for DmarcResult {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A string that is not a DMARC result token.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown DMARC result {0:?} (expected none, pass, fail, temperror or permerror)")]
pub struct UnknownResult(pub String);

impl std::str::FromStr for DmarcResult {
    type Err = UnknownResult;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        [
            DmarcResult::None,
            DmarcResult::Pass,
            DmarcResult::Fail,
            DmarcResult::TempError,
            DmarcResult::PermError,
        ]
        .into_iter()
        .find(|r| r.as_str().eq_ignore_ascii_case(s))
        .ok_or_else(|| UnknownResult(s.to_owned()))
    }
}

/// What the Domain Owner asks the receiver to do with the message: the policy that applies
/// after `t=y` has been taken into account (RFC 9989 §4.7, §9.1 `policy.dmarc`). `none` unless
/// the result is `fail`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Disposition {
    /// No special handling.
    None,
    /// Treat as suspicious.
    Quarantine,
    /// Reject.
    Reject,
}

impl Disposition {
    /// `none`, `quarantine` or `reject`.
    pub fn as_str(self) -> &'static str {
        match self {
            Disposition::None => "none",
            Disposition::Quarantine => "quarantine",
            Disposition::Reject => "reject",
        }
    }
}

impl From<crate::Policy> for Disposition {
    fn from(p: crate::Policy) -> Self {
        match p {
            crate::Policy::None => Disposition::None,
            crate::Policy::Quarantine => Disposition::Quarantine,
            crate::Policy::Reject => Disposition::Reject,
        }
    }
}

impl fmt::Display for Disposition {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The result of an underlying mechanism (SPF or DKIM) as given to the evaluation: the RFC 8601
/// tokens of both (RFC 7208 §2.6, RFC 8601 §2.7.1).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum MechanismResult {
    /// `none`.
    None,
    /// `pass`: the identifier is authenticated.
    Pass,
    /// `fail`.
    Fail,
    /// `softfail` (SPF).
    SoftFail,
    /// `neutral`.
    Neutral,
    /// `policy` (DKIM).
    Policy,
    /// `temperror`: the mechanism could not decide because of a transient error.
    TempError,
    /// `permerror`.
    PermError,
}

impl MechanismResult {
    const ALL: [MechanismResult; 8] = [
        MechanismResult::None,
        MechanismResult::Pass,
        MechanismResult::Fail,
        MechanismResult::SoftFail,
        MechanismResult::Neutral,
        MechanismResult::Policy,
        MechanismResult::TempError,
        MechanismResult::PermError,
    ];

    /// The token.
    pub fn as_str(self) -> &'static str {
        match self {
            MechanismResult::None => "none",
            MechanismResult::Pass => "pass",
            MechanismResult::Fail => "fail",
            MechanismResult::SoftFail => "softfail",
            MechanismResult::Neutral => "neutral",
            MechanismResult::Policy => "policy",
            MechanismResult::TempError => "temperror",
            MechanismResult::PermError => "permerror",
        }
    }

    /// True for `pass`: the domain is an Authenticated Identifier (RFC 9989 §3.2.1).
    pub fn is_pass(self) -> bool {
        self == MechanismResult::Pass
    }
}

impl fmt::Display for MechanismResult {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A string that is not an SPF or DKIM result token.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error(
    "unknown result {0:?} (expected none, pass, fail, softfail, neutral, policy, temperror or \
     permerror)"
)]
pub struct UnknownMechanismResult(pub String);

impl std::str::FromStr for MechanismResult {
    type Err = UnknownMechanismResult;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        MechanismResult::ALL
            .into_iter()
            .find(|r| r.as_str().eq_ignore_ascii_case(s))
            .ok_or_else(|| UnknownMechanismResult(s.to_owned()))
    }
}

/// Which step of the evaluation a DNS query belonged to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Stage {
    /// DMARC Policy Discovery for the Author Domain (RFC 9989 §4.10.1).
    PolicyDiscovery,
    /// A tree walk for the Organizational Domain of an identifier (RFC 9989 §4.10.2).
    OrganizationalDomain,
    /// The existence test of the Author Domain for `np` (RFC 9989 §3.2.13, Appendix A.4).
    AuthorDomainExistence,
    /// External report destination verification (RFC 9990 §4).
    ReportAuthorization,
}

impl Stage {
    /// Short lower-case label.
    pub fn as_str(self) -> &'static str {
        match self {
            Stage::PolicyDiscovery => "policy discovery",
            Stage::OrganizationalDomain => "organizational domain",
            Stage::AuthorDomainExistence => "author domain existence",
            Stage::ReportAuthorization => "report authorization",
        }
    }
}

/// Why the result is not `pass`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case", tag = "problem")]
#[non_exhaustive]
pub enum DmarcProblem {
    /// The message has no RFC5322.From domain: DMARC validation is not possible (RFC 9989
    /// §5.3.1). Yields `none`.
    NoAuthorDomain,
    /// The RFC5322.From field gives more than one domain: DMARC validation is not possible and
    /// the process terminates (RFC 9989 §5.3.1, §11.5), or, when the receiver evaluates each
    /// domain, there were more than its limit (§11.5: "the DMARC evaluation is incomplete").
    /// Yields `none`.
    MultipleAuthorDomains {
        /// How many distinct domains.
        count: usize,
        /// The receiver's limit when each domain is evaluated; `None` when multiple domains are
        /// not evaluated at all.
        limit: Option<usize>,
    },
    /// No DMARC Policy Record applies to the Author Domain: the DMARC mechanism does not apply
    /// (RFC 9989 §4.10.1, §5.3.2). Yields `none`.
    NoPolicy,
    /// The applicable record has no valid `p` tag, or an invalid `sp` or `np` tag, and no valid
    /// `rua` URI, so "the Mail Receiver applies no DMARC processing" (RFC 9989 §4.10.1); the
    /// record is improperly formatted in the sense of §9.2. Yields `permerror`.
    InvalidPolicyRecord {
        /// Where the record was found.
        #[serde(serialize_with = "crate::ser::name")]
        domain: Name,
        /// The tags that made it unusable ([`crate::Record::policy_defects`]).
        defects: Vec<crate::PolicyDefect>,
    },
    /// A DNS query needed for the evaluation failed (RFC 9989 §4.10.1, §5.3.6: the message
    /// "cannot be considered to pass or fail"). Yields `temperror`.
    DnsFailure {
        /// The step the query belonged to.
        stage: Stage,
        /// The name queried.
        #[serde(serialize_with = "crate::ser::name")]
        name: Name,
        /// How it failed.
        #[serde(serialize_with = "crate::ser::failure")]
        kind: FailureKind,
    },
    /// No SPF or DKIM identifier was authenticated (RFC 9989 §5.3.5). Yields `fail`.
    NoAuthenticatedIdentifier,
    /// Identifiers were authenticated but none is aligned with the Author Domain (RFC 9989
    /// §4.4, §5.3.5). Yields `fail`.
    NotAligned,
    /// No identifier passed, and an identifier that would be aligned has a `temperror` result:
    /// the underlying check did not complete (RFC 9989 §5.3.6). Yields `temperror`.
    MechanismTempError,
}

impl DmarcProblem {
    /// The result this problem yields.
    pub fn result(&self) -> DmarcResult {
        match self {
            DmarcProblem::NoAuthorDomain => DmarcResult::None,
            DmarcProblem::MultipleAuthorDomains { .. } => DmarcResult::None,
            DmarcProblem::NoPolicy => DmarcResult::None,
            DmarcProblem::InvalidPolicyRecord { .. } => DmarcResult::PermError,
            DmarcProblem::DnsFailure { .. } => DmarcResult::TempError,
            DmarcProblem::NoAuthenticatedIdentifier => DmarcResult::Fail,
            DmarcProblem::NotAligned => DmarcResult::Fail,
            DmarcProblem::MechanismTempError => DmarcResult::TempError,
        }
    }
}

impl fmt::Display for DmarcProblem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            DmarcProblem::NoAuthorDomain => f.write_str("no RFC5322.From domain"),
            DmarcProblem::MultipleAuthorDomains { count, limit: None } => write!(
                f,
                "{count} different RFC5322.From domains: DMARC validation not possible"
            ),
            DmarcProblem::MultipleAuthorDomains {
                count,
                limit: Some(limit),
            } => write!(
                f,
                "{count} different RFC5322.From domains, more than the limit of {limit}: \
                 evaluation incomplete"
            ),
            DmarcProblem::NoPolicy => f.write_str("no DMARC policy record applies"),
            DmarcProblem::InvalidPolicyRecord { domain, defects } => {
                write!(f, "the record at _dmarc.{domain} is not used: ")?;
                if defects.is_empty() {
                    f.write_str("it has no valid policy")?;
                }
                for (i, d) in defects.iter().enumerate() {
                    if i > 0 {
                        f.write_str(", ")?;
                    }
                    write!(f, "{d}")?;
                }
                f.write_str(", and it has no valid rua (RFC 9989 §4.10.1)")
            }
            DmarcProblem::DnsFailure { stage, name, kind } => {
                write!(
                    f,
                    "DNS failure ({kind}) for {name} during {}",
                    stage.as_str()
                )
            }
            DmarcProblem::NoAuthenticatedIdentifier => {
                f.write_str("no SPF or DKIM identifier authenticated")
            }
            DmarcProblem::NotAligned => {
                f.write_str("no authenticated identifier aligned with the author domain")
            }
            DmarcProblem::MechanismTempError => {
                f.write_str("an identifier that would align has a temporary error")
            }
        }
    }
}
