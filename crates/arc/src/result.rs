//! The chain validation status (RFC 8617 §4.4), the problems that make a chain fail, and the
//! verdict of a validation.

use mailstamp_dns::{FailureKind, Name};
use serde::Serialize;
use std::fmt;
use std::str::FromStr;

fn ser_name<S: serde::Serializer>(name: &Name, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_str(name.as_str())
}

fn ser_failure<S: serde::Serializer>(kind: &FailureKind, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_str(kind.as_str())
}

/// Chain Validation Status (RFC 8617 §4.4), with exactly the tokens of the `arc` method in the
/// RFC 8601 registry (RFC 8617 §10.1): also the `cv=` value of an ARC-Seal.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum ArcResult {
    /// No ARC set on the message (§4.4, §5.2 step 1).
    None,
    /// The chain validated (§5.2 step 7).
    Pass,
    /// The chain is present and did not validate (§5.2, §5.2.1: every error is permanent).
    Fail,
}

impl ArcResult {
    /// The RFC 8601 / `cv=` token.
    pub fn as_str(self) -> &'static str {
        match self {
            ArcResult::None => "none",
            ArcResult::Pass => "pass",
            ArcResult::Fail => "fail",
        }
    }
}

impl fmt::Display for ArcResult {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A token that is not an ARC result.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown ARC result {0:?} (expected none, pass or fail)")]
pub struct UnknownArcResult(pub String);

impl FromStr for ArcResult {
    type Err = UnknownArcResult;
    /// Parses a token case-insensitively (RFC 8601 §2.2 tokens are case-insensitive).
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.to_ascii_lowercase().as_str() {
            "none" => Ok(ArcResult::None),
            "pass" => Ok(ArcResult::Pass),
            "fail" => Ok(ArcResult::Fail),
            _ => Err(UnknownArcResult(s.to_owned())),
        }
    }
}

/// The three ARC header fields (RFC 8617 §4.1).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum FieldKind {
    /// ARC-Authentication-Results (§4.1.1).
    Aar,
    /// ARC-Message-Signature (§4.1.2).
    Ams,
    /// ARC-Seal (§4.1.3).
    Seal,
}

impl FieldKind {
    /// The header field name.
    pub fn field_name(self) -> &'static str {
        match self {
            FieldKind::Aar => "ARC-Authentication-Results",
            FieldKind::Ams => "ARC-Message-Signature",
            FieldKind::Seal => "ARC-Seal",
        }
    }

    /// The short name used in RFC 8617 (AAR, AMS, AS).
    pub fn short(self) -> &'static str {
        match self {
            FieldKind::Aar => "AAR",
            FieldKind::Ams => "AMS",
            FieldKind::Seal => "AS",
        }
    }
}

impl fmt::Display for FieldKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.short())
    }
}

/// Why a chain is `fail` (or why one AMS does not validate, for oldest-pass). Each variant
/// cites the section of RFC 8617 (or RFC 8301 / RFC 6376, which ARC imports) it enforces.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, thiserror::Error)]
#[serde(tag = "code", rename_all = "snake_case")]
#[non_exhaustive]
pub enum ArcProblem {
    /// An instance above 50 (RFC 8617 §4.2.1, §5.2 step 1: more than 50 sets is `fail`).
    #[error("instance {instance} is above the limit of 50 ARC sets (RFC 8617 §4.2.1, §5.2 step 1)")]
    TooManySets {
        /// The instance found.
        instance: u64,
    },
    /// An ARC field whose `i=` is missing or not a number in 1..=50 (RFC 8617 §4.2.1).
    #[error("{kind} field without a valid instance tag: {reason} (RFC 8617 §4.2.1)")]
    InvalidInstance {
        /// Which field.
        kind: FieldKind,
        /// What is wrong.
        reason: String,
    },
    /// The newest ARC-Seal says `cv=fail` (RFC 8617 §5.2 step 2).
    #[error("the newest ARC-Seal (i={instance}) reports cv=fail (RFC 8617 §5.2 step 2)")]
    NewestSealFailed {
        /// The newest instance.
        instance: u32,
    },
    /// A set lacks one of its three fields (RFC 8617 §4.2.1, §5.2 step 3.1).
    #[error("ARC set i={instance} has no {kind} field (RFC 8617 §5.2 step 3.1)")]
    MissingField {
        /// The instance.
        instance: u32,
        /// The missing field.
        kind: FieldKind,
    },
    /// A set has two fields of one kind (RFC 8617 §4.2.1, §5.2 step 3.1).
    #[error(
        "ARC set i={instance} has {count} {kind} fields; exactly one is allowed (RFC 8617 §5.2 step 3.1)"
    )]
    DuplicateField {
        /// The instance.
        instance: u32,
        /// The repeated field.
        kind: FieldKind,
        /// How many there are.
        count: usize,
    },
    /// The instances do not run 1..N without gaps (RFC 8617 §5.2 step 3.2).
    #[error(
        "ARC set i={instance} is missing: instances must run 1..={newest} without gaps (RFC 8617 §5.2 step 3.2)"
    )]
    MissingInstance {
        /// The first missing instance.
        instance: u32,
        /// The newest instance (N).
        newest: u32,
    },
    /// An ARC-Seal with the wrong `cv=` for its position (RFC 8617 §5.2 step 3.3).
    #[error(
        "ARC-Seal i={instance} has cv={found}, expected cv={expected} (RFC 8617 §5.2 step 3.3)"
    )]
    WrongChainValidation {
        /// The instance.
        instance: u32,
        /// The `cv=` found.
        found: String,
        /// The `cv=` required there.
        expected: ArcResult,
    },
    /// A field that does not follow its syntax (RFC 8617 §4.1; RFC 6376 §3.2, §3.5).
    #[error("{kind} i={instance} is malformed: {reason} (RFC 8617 §4.1)")]
    Malformed {
        /// The instance.
        instance: u32,
        /// Which field.
        kind: FieldKind,
        /// What is wrong.
        reason: String,
    },
    /// An ARC-Seal with an `h=` tag (RFC 8617 §4.1.3: "MUST result in a cv status of fail").
    #[error(
        "ARC-Seal i={instance} has an h= tag, which an ARC-Seal must not have (RFC 8617 §4.1.3)"
    )]
    SealHasHeaderList {
        /// The instance.
        instance: u32,
    },
    /// An ARC-Seal with a tag other than i, a, b, cv, d, s, t (RFC 8617 §4.1.3).
    #[error(
        "ARC-Seal i={instance} has the tag {tag}=; only i, a, b, cv, d, s and t are defined (RFC 8617 §4.1.3)"
    )]
    SealUnknownTag {
        /// The instance.
        instance: u32,
        /// The tag name.
        tag: String,
    },
    /// An ARC field longer than mailstamp reads (RFC 8617 §9.1, header field size).
    #[error("{kind} field of {length} bytes is longer than the {limit} bytes read (RFC 8617 §9.1)")]
    FieldTooLong {
        /// Which field.
        kind: FieldKind,
        /// Its length.
        length: usize,
        /// The limit.
        limit: usize,
    },
    /// The AMS signs an ARC or Authentication-Results field (RFC 8617 §4.1.2).
    #[error("AMS i={instance} signs {name}, which it must not (RFC 8617 §4.1.2)")]
    AmsSignsForbiddenField {
        /// The instance.
        instance: u32,
        /// The field name in `h=`.
        name: String,
    },
    /// `a=rsa-sha1` (RFC 8301 §3.1: verifiers must not consider it valid).
    #[error("{kind} i={instance} uses rsa-sha1, which RFC 8301 §3.1 forbids")]
    Sha1Refused {
        /// The instance.
        instance: u32,
        /// Which field.
        kind: FieldKind,
    },
    /// The AMS has expired (`x=`, RFC 6376 §3.5 as imported by RFC 8617 §4.1.2).
    #[error("AMS i={instance} expired at {expiration} (now {now}) (RFC 6376 §3.5 x=)")]
    Expired {
        /// The instance.
        instance: u32,
        /// `x=`.
        expiration: u64,
        /// The verification time.
        now: u64,
    },
    /// The key query failed (RFC 8617 §5.2.1: every error, DNS included, is permanent).
    #[error("{kind} i={instance}: the key at {name} could not be fetched ({}); ARC treats it as permanent (RFC 8617 §5.2.1)", failure.as_str())]
    KeyUnavailable {
        /// The instance.
        instance: u32,
        /// Which field.
        kind: FieldKind,
        /// The key name.
        #[serde(serialize_with = "ser_name")]
        name: Name,
        /// How the query failed.
        #[serde(serialize_with = "ser_failure")]
        failure: FailureKind,
    },
    /// No key record (RFC 6376 §6.1.2 as imported by RFC 8617 §5.2).
    #[error("{kind} i={instance}: no key record at {name} (RFC 6376 §6.1.2)")]
    KeyNotFound {
        /// The instance.
        instance: u32,
        /// Which field.
        kind: FieldKind,
        /// The key name.
        #[serde(serialize_with = "ser_name")]
        name: Name,
    },
    /// The key record cannot be used (RFC 6376 §3.6.1, §6.1.2; RFC 8301 §3.2 key sizes).
    #[error("{kind} i={instance}: unusable key: {reason} (RFC 6376 §6.1.2, RFC 8301 §3.2)")]
    KeyUnusable {
        /// The instance.
        instance: u32,
        /// Which field.
        kind: FieldKind,
        /// What is wrong with the key.
        reason: String,
    },
    /// The body hash of the AMS does not match (RFC 6376 §6.1.3 step 3).
    #[error(
        "AMS i={instance}: the body hash does not match; the body changed after it was sealed (RFC 6376 §6.1.3)"
    )]
    BodyHashMismatch {
        /// The instance.
        instance: u32,
    },
    /// The validator was given precomputed body hashes
    /// ([`mailstamp_dkim::BodySource::Hashes`]) without the one this AMS needs: the
    /// caller's omission. `fail`, like every ARC problem (ARC has no temporary result).
    #[error(
        "AMS i={instance}: its body hash was not computed (the validator's body hashes were prepared for other signatures)"
    )]
    BodyHashNotSupplied {
        /// The instance.
        instance: u32,
    },
    /// The AMS signature does not verify (RFC 8617 §5.2 step 4).
    #[error(
        "AMS i={instance}: the signature does not verify over the signed header fields (RFC 8617 §5.2 step 4)"
    )]
    AmsSignatureMismatch {
        /// The instance.
        instance: u32,
    },
    /// The ARC-Seal signature does not verify (RFC 8617 §5.2 step 6).
    #[error(
        "ARC-Seal i={instance}: the signature does not verify over the ARC sets 1..={instance} (RFC 8617 §5.2 step 6)"
    )]
    SealSignatureMismatch {
        /// The instance.
        instance: u32,
    },
}

impl ArcProblem {
    /// A stable snake_case code for JSON and tests.
    pub fn code(&self) -> &'static str {
        match self {
            ArcProblem::TooManySets { .. } => "too_many_sets",
            ArcProblem::InvalidInstance { .. } => "invalid_instance",
            ArcProblem::NewestSealFailed { .. } => "newest_seal_failed",
            ArcProblem::MissingField { .. } => "missing_field",
            ArcProblem::DuplicateField { .. } => "duplicate_field",
            ArcProblem::MissingInstance { .. } => "missing_instance",
            ArcProblem::WrongChainValidation { .. } => "wrong_chain_validation",
            ArcProblem::Malformed { .. } => "malformed",
            ArcProblem::SealHasHeaderList { .. } => "seal_has_header_list",
            ArcProblem::SealUnknownTag { .. } => "seal_unknown_tag",
            ArcProblem::FieldTooLong { .. } => "field_too_long",
            ArcProblem::AmsSignsForbiddenField { .. } => "ams_signs_forbidden_field",
            ArcProblem::Sha1Refused { .. } => "sha1_refused",
            ArcProblem::Expired { .. } => "expired",
            ArcProblem::KeyUnavailable { .. } => "key_unavailable",
            ArcProblem::KeyNotFound { .. } => "key_not_found",
            ArcProblem::KeyUnusable { .. } => "key_unusable",
            ArcProblem::BodyHashMismatch { .. } => "body_hash_mismatch",
            ArcProblem::BodyHashNotSupplied { .. } => "body_hash_not_supplied",
            ArcProblem::AmsSignatureMismatch { .. } => "ams_signature_mismatch",
            ArcProblem::SealSignatureMismatch { .. } => "seal_signature_mismatch",
        }
    }

    /// The result this problem gives the chain: every problem is `fail` (RFC 8617 §5.2,
    /// §5.2.1). One exhaustive match, so a new problem has to say what it means.
    pub fn result(&self) -> ArcResult {
        match self {
            ArcProblem::TooManySets { .. }
            | ArcProblem::InvalidInstance { .. }
            | ArcProblem::NewestSealFailed { .. }
            | ArcProblem::MissingField { .. }
            | ArcProblem::DuplicateField { .. }
            | ArcProblem::MissingInstance { .. }
            | ArcProblem::WrongChainValidation { .. }
            | ArcProblem::Malformed { .. }
            | ArcProblem::SealHasHeaderList { .. }
            | ArcProblem::SealUnknownTag { .. }
            | ArcProblem::FieldTooLong { .. }
            | ArcProblem::AmsSignsForbiddenField { .. }
            | ArcProblem::Sha1Refused { .. }
            | ArcProblem::Expired { .. }
            | ArcProblem::KeyUnavailable { .. }
            | ArcProblem::KeyNotFound { .. }
            | ArcProblem::KeyUnusable { .. }
            | ArcProblem::BodyHashMismatch { .. }
            | ArcProblem::BodyHashNotSupplied { .. }
            | ArcProblem::AmsSignatureMismatch { .. }
            | ArcProblem::SealSignatureMismatch { .. } => ArcResult::Fail,
        }
    }

    /// The instance the problem is about, when it is about one.
    pub fn instance(&self) -> Option<u32> {
        match self {
            ArcProblem::TooManySets { .. }
            | ArcProblem::InvalidInstance { .. }
            | ArcProblem::FieldTooLong { .. } => None,
            ArcProblem::NewestSealFailed { instance }
            | ArcProblem::MissingField { instance, .. }
            | ArcProblem::DuplicateField { instance, .. }
            | ArcProblem::MissingInstance { instance, .. }
            | ArcProblem::WrongChainValidation { instance, .. }
            | ArcProblem::Malformed { instance, .. }
            | ArcProblem::SealHasHeaderList { instance }
            | ArcProblem::SealUnknownTag { instance, .. }
            | ArcProblem::AmsSignsForbiddenField { instance, .. }
            | ArcProblem::Sha1Refused { instance, .. }
            | ArcProblem::Expired { instance, .. }
            | ArcProblem::KeyUnavailable { instance, .. }
            | ArcProblem::KeyNotFound { instance, .. }
            | ArcProblem::KeyUnusable { instance, .. }
            | ArcProblem::BodyHashMismatch { instance }
            | ArcProblem::BodyHashNotSupplied { instance }
            | ArcProblem::AmsSignatureMismatch { instance }
            | ArcProblem::SealSignatureMismatch { instance } => Some(*instance),
        }
    }
}

/// The outcome of checking one signature (an AMS or an ARC-Seal).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "result", rename_all = "snake_case")]
pub enum SignatureCheck {
    /// It verified.
    Pass,
    /// It did not verify, for this reason.
    Fail {
        /// Why.
        problem: ArcProblem,
    },
    /// It was not checked: RFC 8617 §5.2 stopped before it (or it is an older AMS, which
    /// only oldest-pass looks at, after a newer one failed).
    NotChecked,
}

impl SignatureCheck {
    /// True for [`SignatureCheck::Pass`].
    pub fn is_pass(&self) -> bool {
        matches!(self, SignatureCheck::Pass)
    }
}

/// What a validator saw of one ARC set: who sealed it, what it said, and how its signatures
/// fared.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct SetReport {
    /// The instance (`i=`, RFC 8617 §4.2.1).
    pub instance: u32,
    /// The sealer: `d=` of the ARC-Seal.
    pub domain: Option<String>,
    /// `s=` of the ARC-Seal.
    pub selector: Option<String>,
    /// `a=` of the ARC-Seal.
    pub algorithm: Option<String>,
    /// `cv=` of the ARC-Seal.
    pub cv: Option<String>,
    /// `d=` of the AMS (usually the sealer's domain too).
    pub ams_domain: Option<String>,
    /// The AAR payload after `i=N;`: the authserv-id and the results the sealer saw.
    pub authentication_results: Option<String>,
    /// The AMS check (RFC 8617 §5.2 steps 4 and 5).
    pub ams: SignatureCheck,
    /// The ARC-Seal check (RFC 8617 §5.2 step 6).
    pub seal: SignatureCheck,
}

/// The result of validating a message's ARC chain (RFC 8617 §5.2).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ArcVerdict {
    /// `none`, `pass` or `fail`.
    pub result: ArcResult,
    /// The newest instance found (N), 0 without ARC fields.
    pub instances: u32,
    /// The instance the chain failed at, when it failed at one.
    pub failed_instance: Option<u32>,
    /// Why the chain failed.
    pub problem: Option<ArcProblem>,
    /// RFC 8617 §5.2 step 5 (`header.oldest-pass`, §6): for a passing chain, 0 when every AMS
    /// validates, otherwise the oldest instance M+1 whose AMS validates when AMS M does not
    /// (so every AMS from there to N validates). `None` unless the chain passes.
    pub oldest_pass: Option<u32>,
    /// One report per instance 1..=N that was found, oldest first.
    pub sets: Vec<SetReport>,
    /// True when the message had bare LF line endings and was validated as if it had CRLF.
    pub line_endings_normalized: bool,
}

impl ArcVerdict {
    /// A message without ARC fields.
    pub fn none() -> ArcVerdict {
        ArcVerdict {
            result: ArcResult::None,
            instances: 0,
            failed_instance: None,
            problem: None,
            oldest_pass: None,
            sets: Vec::new(),
            line_endings_normalized: false,
        }
    }

    /// The sealers (ARC-Seal `d=`) in instance order, oldest first.
    pub fn sealers(&self) -> impl Iterator<Item = &str> {
        self.sets.iter().filter_map(|s| s.domain.as_deref())
    }

    /// The report of one instance.
    pub fn set(&self, instance: u32) -> Option<&SetReport> {
        self.sets.iter().find(|s| s.instance == instance)
    }
}
