//! Verification results: the RFC 8601 result token, the problem, and the details.

use crate::canon::Canonicalizations;
use crate::header_names::HeaderNames;
use crate::key::{KeyRecordError, KeyType};
use crate::signature::SignatureError;
use mailstamp_dns::{FailureKind, Name};
use serde::{Serialize, Serializer};
use std::fmt;
use std::str::FromStr;

pub(crate) fn ser_name<S: Serializer>(name: &Name, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_str(name.as_str())
}

fn ser_failure<S: Serializer>(kind: &FailureKind, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_str(kind.as_str())
}

/// The result of one DKIM signature, with exactly the tokens of RFC 8601 §2.7.1.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum DkimResult {
    /// The message was not signed.
    None,
    /// The signature verified.
    Pass,
    /// The signature was acceptable but did not verify.
    Fail,
    /// The signature was not acceptable to the verifier's policy (RFC 8301: rsa-sha1, RSA keys
    /// under 1024 bits).
    Policy,
    /// The signature could not be processed for another reason (here: not checked because of
    /// the signature limit).
    Neutral,
    /// A likely transient error, such as a DNS failure fetching the key.
    TempError,
    /// An unrecoverable error: a malformed, expired or future-dated signature, a malformed key
    /// record, a missing key.
    PermError,
}

impl DkimResult {
    /// Every result, in declaration order.
    pub const ALL: [DkimResult; 7] = [
        DkimResult::None,
        DkimResult::Pass,
        DkimResult::Fail,
        DkimResult::Policy,
        DkimResult::Neutral,
        DkimResult::TempError,
        DkimResult::PermError,
    ];

    /// The RFC 8601 token.
    pub fn as_str(self) -> &'static str {
        match self {
            DkimResult::None => "none",
            DkimResult::Pass => "pass",
            DkimResult::Fail => "fail",
            DkimResult::Policy => "policy",
            DkimResult::Neutral => "neutral",
            DkimResult::TempError => "temperror",
            DkimResult::PermError => "permerror",
        }
    }
}

impl fmt::Display for DkimResult {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A string that is not a DKIM result token.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown DKIM result {0:?}")]
pub struct UnknownDkimResult(pub String);

impl FromStr for DkimResult {
    type Err = UnknownDkimResult;
    /// Parses a token case-insensitively.
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        DkimResult::ALL
            .into_iter()
            .find(|r| r.as_str().eq_ignore_ascii_case(s))
            .ok_or_else(|| UnknownDkimResult(s.to_owned()))
    }
}

/// Why a signature did not pass. Each variant cites the RFC section it follows and names the
/// [`DkimResult`] it yields ([`DkimProblem::result`]).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "code", rename_all = "snake_case")]
#[non_exhaustive]
pub enum DkimProblem {
    /// The DKIM-Signature field is malformed or unusable (RFC 6376 §3.5, §6.1.1). `permerror`.
    MalformedSignature {
        /// What is wrong, with the tag and byte offset.
        error: SignatureError,
    },
    /// The signature uses rsa-sha1, which verifiers must not consider valid (RFC 8301 §3.1).
    /// `policy`.
    Sha1Refused,
    /// The signature expired (`x=` plus the allowed clock skew is in the past; RFC 6376 §3.5
    /// `x=`). RFC 6376 §6.1.1 makes this PERMFAIL, written `permerror` (RFC 8601 §2.7.1 keeps
    /// `fail` for signatures that were checked and did not verify). `permerror`.
    Expired {
        /// `x=`.
        expiration: u64,
        /// The verification time.
        now: u64,
    },
    /// The signature timestamp (`t=`) lies further in the future than the allowed clock
    /// skew. RFC 6376 §3.5 `t=`: "Verifiers MAY ignore signatures with a timestamp in the
    /// future"; mailstamp refuses them. `permerror`.
    TimestampInFuture {
        /// `t=`.
        timestamp: u64,
        /// The verification time.
        now: u64,
    },
    /// Not checked: the message carries more usable signatures than the verifier's limit
    /// (RFC 6376 §6.1 allows verifiers to limit the signatures they try; see
    /// [`crate::verify_for_authors`] for which are tried). `neutral`.
    NotChecked {
        /// The limit.
        limit: usize,
    },
    /// No key record: the name does not exist or has no TXT record (RFC 6376 §6.1.2 step 3).
    /// `permerror`.
    KeyNotFound {
        /// The name queried.
        #[serde(serialize_with = "ser_name")]
        name: Name,
    },
    /// The key could not be fetched because of a DNS failure (RFC 6376 §6.1.2 step 3).
    /// `temperror`.
    KeyUnavailable {
        /// The name queried.
        #[serde(serialize_with = "ser_name")]
        name: Name,
        /// How the lookup failed.
        #[serde(serialize_with = "ser_failure")]
        failure: FailureKind,
    },
    /// More than one TXT record at the key name: ambiguous, so none is used (RFC 6376 §6.1.2
    /// step 3 leaves the choice to the verifier). `permerror`.
    MultipleKeyRecords {
        /// The name queried.
        #[serde(serialize_with = "ser_name")]
        name: Name,
        /// How many records.
        count: usize,
    },
    /// The key record does not parse (RFC 6376 §3.6.1, §6.1.2 steps 4–6). `permerror`.
    InvalidKeyRecord {
        /// What is wrong.
        error: KeyRecordError,
    },
    /// The key record's `p=` is empty: the key was revoked (RFC 6376 §3.6.1, §6.1.2 step 6).
    /// `permerror`.
    KeyRevoked,
    /// The key type (`k=`) does not match the signature algorithm (`a=`) (RFC 6376 §3.6.1
    /// `k=`, §6.1.2 step 6). `permerror`.
    KeyTypeMismatch {
        /// The key's type.
        key_type: KeyType,
        /// The signature's algorithm.
        algorithm: String,
    },
    /// The key record's `h=` does not allow the signature's hash algorithm (RFC 6376 §3.6.1
    /// `h=`, §6.1.2 step 5). `permerror`.
    HashNotAllowedByKey {
        /// The signature's hash algorithm.
        hash: String,
    },
    /// The key record's `s=` does not include `email` or `*` (RFC 6376 §3.6.1 `s=`).
    /// `permerror`.
    ServiceNotAllowed,
    /// The key has `t=s` but the signature's `i=` domain is not exactly `d=` (RFC 6376 §3.6.1
    /// `t=s`). `permerror`.
    StrictIdentityMismatch,
    /// The RSA key is shorter than 1024 bits (RFC 8301 §3.2: verifiers must not consider such
    /// signatures valid). `policy`.
    KeyTooShort {
        /// The key size.
        bits: usize,
    },
    /// The RSA key is longer than the 8192 bits this verifier supports. `permerror`.
    KeyTooLong {
        /// The key size.
        bits: usize,
    },
    /// `l=` is larger than the canonical body (RFC 6376 §3.5 `l=`: "This value MUST NOT be
    /// larger than the actual number of octets in the canonicalized message body"). `fail`.
    BodyLengthExceedsBody {
        /// `l=`.
        length: u64,
        /// The canonical body length.
        canonical_length: u64,
    },
    /// `bh=` does not have the length of the signature's hash (32 bytes for SHA-256), so it
    /// can never match the body (RFC 6376 §3.5 `bh=`, §6.1.3 step 3). Decided before any key
    /// is fetched. `fail`, like any body hash that does not verify.
    WrongBodyHashLength {
        /// Decoded length of `bh=`, in bytes.
        length: usize,
        /// The digest length of the hash algorithm.
        expected: usize,
        /// Byte offset of the `bh=` value in the field value.
        offset: usize,
    },
    /// The body hash does not match `bh=`: the body was changed after signing (RFC 6376
    /// §6.1.3 step 3). `fail`.
    BodyHashMismatch,
    /// The signature does not verify against the key: a signed header field was changed, or
    /// the key does not belong to the signer (RFC 6376 §6.1.3 step 4). `fail`.
    SignatureMismatch,
    /// The message has no empty line between its header section and its body (RFC 5322 §2.1):
    /// the header section stops at a line that is neither a header field nor a continuation.
    /// RFC 6376 hashes "the body" (§3.4.3, §3.7), which RFC 5322 §2.1 defines only as what
    /// follows that empty line, so what was signed as body cannot be told; dkimpy refuses such
    /// a message outright ("Unexpected characters in RFC822 header"). `permerror` (RFC 8601
    /// §2.7.1: an unrecoverable error), for every signature that is otherwise well-formed,
    /// before any DNS query.
    MissingSeparator {
        /// The line number of the line where the header section stops (1 = first line).
        line: usize,
        /// Its byte offset in the (normalised) message.
        offset: usize,
    },
    /// The verifier was given precomputed body hashes ([`crate::BodySource::Hashes`]) that
    /// lack the one this signature needs (RFC 6376 §3.7 step 1): the caller's omission, not
    /// the signer's. `temperror` (RFC 8601 §2.7.1: the verification could not be completed;
    /// never a pass, and DMARC then says `temperror` rather than `fail`).
    BodyHashNotSupplied,
}

impl DkimProblem {
    /// The result this problem yields.
    pub fn result(&self) -> DkimResult {
        match self {
            DkimProblem::MalformedSignature { .. } => DkimResult::PermError,
            DkimProblem::Sha1Refused => DkimResult::Policy,
            DkimProblem::Expired { .. } => DkimResult::PermError,
            DkimProblem::TimestampInFuture { .. } => DkimResult::PermError,
            DkimProblem::NotChecked { .. } => DkimResult::Neutral,
            DkimProblem::KeyNotFound { .. } => DkimResult::PermError,
            DkimProblem::KeyUnavailable { .. } => DkimResult::TempError,
            DkimProblem::MultipleKeyRecords { .. } => DkimResult::PermError,
            DkimProblem::InvalidKeyRecord { .. } => DkimResult::PermError,
            DkimProblem::KeyRevoked => DkimResult::PermError,
            DkimProblem::KeyTypeMismatch { .. } => DkimResult::PermError,
            DkimProblem::HashNotAllowedByKey { .. } => DkimResult::PermError,
            DkimProblem::ServiceNotAllowed => DkimResult::PermError,
            DkimProblem::StrictIdentityMismatch => DkimResult::PermError,
            DkimProblem::KeyTooShort { .. } => DkimResult::Policy,
            DkimProblem::KeyTooLong { .. } => DkimResult::PermError,
            DkimProblem::BodyLengthExceedsBody { .. } => DkimResult::Fail,
            DkimProblem::BodyHashMismatch => DkimResult::Fail,
            DkimProblem::WrongBodyHashLength { .. } => DkimResult::Fail,
            DkimProblem::SignatureMismatch => DkimResult::Fail,
            DkimProblem::MissingSeparator { .. } => DkimResult::PermError,
            DkimProblem::BodyHashNotSupplied => DkimResult::TempError,
        }
    }

    /// A stable snake_case code (the `code` field of the JSON form).
    pub fn code(&self) -> &'static str {
        match self {
            DkimProblem::MalformedSignature { .. } => "malformed_signature",
            DkimProblem::Sha1Refused => "sha1_refused",
            DkimProblem::Expired { .. } => "expired",
            DkimProblem::TimestampInFuture { .. } => "timestamp_in_future",
            DkimProblem::NotChecked { .. } => "not_checked",
            DkimProblem::KeyNotFound { .. } => "key_not_found",
            DkimProblem::KeyUnavailable { .. } => "key_unavailable",
            DkimProblem::MultipleKeyRecords { .. } => "multiple_key_records",
            DkimProblem::InvalidKeyRecord { .. } => "invalid_key_record",
            DkimProblem::KeyRevoked => "key_revoked",
            DkimProblem::KeyTypeMismatch { .. } => "key_type_mismatch",
            DkimProblem::HashNotAllowedByKey { .. } => "hash_not_allowed_by_key",
            DkimProblem::ServiceNotAllowed => "service_not_allowed",
            DkimProblem::StrictIdentityMismatch => "strict_identity_mismatch",
            DkimProblem::KeyTooShort { .. } => "key_too_short",
            DkimProblem::KeyTooLong { .. } => "key_too_long",
            DkimProblem::BodyLengthExceedsBody { .. } => "body_length_exceeds_body",
            DkimProblem::BodyHashMismatch => "body_hash_mismatch",
            DkimProblem::WrongBodyHashLength { .. } => "wrong_body_hash_length",
            DkimProblem::SignatureMismatch => "signature_mismatch",
            DkimProblem::MissingSeparator { .. } => "missing_separator",
            DkimProblem::BodyHashNotSupplied => "body_hash_not_supplied",
        }
    }

    /// The RFC section the verdict follows.
    pub fn rfc_section(&self) -> &'static str {
        match self {
            DkimProblem::MalformedSignature { .. } => "RFC 6376 §3.5, §6.1.1",
            DkimProblem::Sha1Refused => "RFC 8301 §3.1",
            DkimProblem::Expired { .. } => "RFC 6376 §3.5 (x=), §6.1.1",
            DkimProblem::TimestampInFuture { .. } => "RFC 6376 §3.5 (t=)",
            DkimProblem::NotChecked { .. } => "RFC 6376 §6.1",
            DkimProblem::KeyNotFound { .. }
            | DkimProblem::KeyUnavailable { .. }
            | DkimProblem::MultipleKeyRecords { .. } => "RFC 6376 §6.1.2",
            DkimProblem::InvalidKeyRecord { .. } => "RFC 6376 §3.6.1",
            DkimProblem::KeyRevoked => "RFC 6376 §3.6.1 (p=)",
            DkimProblem::KeyTypeMismatch { .. } => "RFC 6376 §3.6.1 (k=)",
            DkimProblem::HashNotAllowedByKey { .. } => "RFC 6376 §3.6.1 (h=)",
            DkimProblem::ServiceNotAllowed => "RFC 6376 §3.6.1 (s=)",
            DkimProblem::StrictIdentityMismatch => "RFC 6376 §3.6.1 (t=s)",
            DkimProblem::KeyTooShort { .. } => "RFC 8301 §3.2",
            DkimProblem::KeyTooLong { .. } => "RFC 8301 §3.2",
            DkimProblem::BodyLengthExceedsBody { .. } => "RFC 6376 §3.5 (l=)",
            DkimProblem::BodyHashMismatch => "RFC 6376 §6.1.3 step 3",
            DkimProblem::WrongBodyHashLength { .. } => "RFC 6376 §3.5 (bh=), §6.1.3 step 3",
            DkimProblem::SignatureMismatch => "RFC 6376 §6.1.3 step 4",
            DkimProblem::MissingSeparator { .. } => "RFC 5322 §2.1, RFC 6376 §3.7",
            DkimProblem::BodyHashNotSupplied => "RFC 6376 §3.7",
        }
    }
}

impl fmt::Display for DkimProblem {
    /// A sentence a postmaster can act on.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            DkimProblem::MalformedSignature { error } => {
                write!(f, "the DKIM-Signature field is malformed: {error}")
            }
            DkimProblem::Sha1Refused => f.write_str(
                "the signature uses rsa-sha1, which is no longer accepted (RFC 8301); the \
                 signer must switch to rsa-sha256 or ed25519-sha256",
            ),
            DkimProblem::Expired { expiration, now } => write!(
                f,
                "the signature expired at {expiration} (x=), {} seconds before the check",
                now.saturating_sub(*expiration)
            ),
            DkimProblem::TimestampInFuture { timestamp, now } => write!(
                f,
                "the signature timestamp t={timestamp} is {} seconds in the future, more than \
                 the allowed clock skew (a wrong clock at the signer or here)",
                timestamp.saturating_sub(*now)
            ),
            DkimProblem::NotChecked { limit } => write!(
                f,
                "not checked: at most {limit} signatures of a message are verified (those of \
                 the From domain first)"
            ),
            DkimProblem::KeyNotFound { name } => write!(
                f,
                "no DKIM key is published at {name} (the selector or domain is wrong, or the \
                 key was removed)"
            ),
            DkimProblem::KeyUnavailable { name, failure } => write!(
                f,
                "the DKIM key at {name} could not be fetched ({failure}); try again later"
            ),
            DkimProblem::MultipleKeyRecords { name, count } => write!(
                f,
                "{name} publishes {count} TXT records; a DKIM key name must hold exactly one"
            ),
            DkimProblem::InvalidKeyRecord { error } => {
                write!(f, "the published DKIM key record is invalid: {error}")
            }
            DkimProblem::KeyRevoked => {
                f.write_str("the DKIM key was revoked (its record has an empty p=)")
            }
            DkimProblem::KeyTypeMismatch {
                key_type,
                algorithm,
            } => write!(
                f,
                "the published key is a {key_type} key but the signature uses {algorithm}"
            ),
            DkimProblem::HashNotAllowedByKey { hash } => write!(
                f,
                "the key record's h= does not allow {hash}, the hash the signature uses"
            ),
            DkimProblem::ServiceNotAllowed => {
                f.write_str("the key record's s= does not allow its use for email")
            }
            DkimProblem::StrictIdentityMismatch => {
                f.write_str("the key record has t=s, but the signature's i= domain differs from d=")
            }
            DkimProblem::KeyTooShort { bits } => write!(
                f,
                "the RSA key has only {bits} bits; keys under 1024 bits are refused (RFC 8301), \
                 and signers should use 2048"
            ),
            DkimProblem::KeyTooLong { bits } => write!(
                f,
                "the RSA key has {bits} bits; keys over 8192 bits are not supported"
            ),
            DkimProblem::BodyLengthExceedsBody {
                length,
                canonical_length,
            } => write!(
                f,
                "l={length} is longer than the body ({canonical_length} canonical bytes): the \
                 body was truncated after signing"
            ),
            DkimProblem::BodyHashMismatch => f.write_str(
                "the body hash does not match: the body was modified after signing (often by \
                 a mailing list footer or a content filter)",
            ),
            DkimProblem::WrongBodyHashLength {
                length,
                expected,
                offset,
            } => write!(
                f,
                "bh= at byte {offset} decodes to {length} bytes, but the body hash of this \
                 algorithm has {expected}: it cannot match any body"
            ),
            DkimProblem::SignatureMismatch => f.write_str(
                "the signature does not verify: a signed header field was modified after \
                 signing, or the published key is not the signing key",
            ),
            DkimProblem::MissingSeparator { line, .. } => write!(
                f,
                "the message has no empty line between header and body: line {line} is \
                 neither a header field nor a continuation, so the signed body cannot be \
                 told (the blank line was probably removed in transit)"
            ),
            DkimProblem::BodyHashNotSupplied => f.write_str(
                "not verified: the body hash this signature needs was not computed (the \
                 verifier's body hashes were prepared for other signatures); try again",
            ),
        }
    }
}

/// What a person needs to know about one signature.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct SignatureDetails {
    /// Position among the message's DKIM-Signature fields (0 = topmost).
    pub index: usize,
    /// Byte offset of the DKIM-Signature field in the (normalised) message.
    pub field_offset: usize,
    /// Signing domain (`d=`), as written when it could not be validated.
    pub domain: Option<String>,
    /// Selector (`s=`).
    pub selector: Option<String>,
    /// Algorithm (`a=`), as written.
    pub algorithm: Option<String>,
    /// Agent or user identifier (`i=`), decoded.
    pub identity: Option<String>,
    /// Canonicalizations (`c=`).
    pub canonicalization: Option<Canonicalizations>,
    /// Signed header field names (`h=`), as written.
    pub signed_headers: HeaderNames,
    /// Signature timestamp (`t=`).
    pub timestamp: Option<u64>,
    /// Expiration (`x=`).
    pub expiration: Option<u64>,
    /// Body length count (`l=`).
    pub body_length: Option<u64>,
    /// With `l=`: how many canonical body bytes follow the signed part and are not covered by
    /// the signature (RFC 6376 §8.2). `Some(0)` when `l=` covers the whole body.
    pub unsigned_body_bytes: Option<u64>,
    /// The key's type, once the key record was read.
    pub key_type: Option<KeyType>,
    /// The key's size in bits.
    pub key_bits: Option<usize>,
    /// The key record has `t=y`: the domain is testing DKIM (RFC 6376 §3.6.1).
    pub testing: bool,
    /// Whether the body hash matched `bh=` (`None` when not computed).
    pub body_hash_matched: Option<bool>,
    /// Whether the signature verified against the key (`None` when not checked).
    pub signature_matched: Option<bool>,
    /// The message had bare LF line endings, converted to CRLF before hashing.
    pub line_endings_normalized: bool,
    /// The signature's `b=` value as written, folding whitespace removed (`None` when the
    /// field is not a tag list or has no `b=`). The Authentication-Results writer takes its
    /// `header.b` property from it (RFC 8601 §2.7.1, RFC 6008 §4: a prefix unique among the
    /// message's signatures, hence the whole value here), so nothing re-parses a signature.
    /// Not part of the JSON form (the pipeline reports the chosen prefix as `header_b`).
    #[serde(skip)]
    pub signature_b: Option<String>,
}

/// Forensics for a failing signature: what was hashed, and what came out.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Forensics {
    /// The canonicalized header block that was hashed and signed: the selected fields in `h=`
    /// order, then the DKIM-Signature field with `b=` emptied (RFC 6376 §3.7). Shown lossily
    /// as text in JSON.
    #[serde(serialize_with = "ser_lossy")]
    pub canonical_headers: Vec<u8>,
    /// The body hash computed here, base64.
    pub computed_body_hash: String,
    /// The body hash the signature states (`bh=`), base64.
    pub stated_body_hash: String,
    /// The length of the canonical body.
    pub canonical_body_length: u64,
}

fn ser_lossy<S: Serializer>(b: &[u8], s: S) -> Result<S::Ok, S::Error> {
    s.serialize_str(&String::from_utf8_lossy(b))
}

/// The verdict on one DKIM-Signature field.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct DkimVerdict {
    /// The result.
    pub result: DkimResult,
    /// Why it is not `pass` (always `Some` unless the result is `pass`).
    pub problem: Option<DkimProblem>,
    /// Details of the signature and key.
    pub details: SignatureDetails,
    /// For a signature whose hashes were computed and that did not pass: what was hashed.
    pub forensics: Option<Forensics>,
}

impl DkimVerdict {
    pub(crate) fn problem(problem: DkimProblem, details: SignatureDetails) -> DkimVerdict {
        DkimVerdict {
            result: problem.result(),
            problem: Some(problem),
            details,
            forensics: None,
        }
    }

    /// A short reason: the problem sentence, or `"ok"` for a pass.
    pub fn reason(&self) -> String {
        self.problem
            .as_ref()
            .map_or_else(|| "ok".to_owned(), ToString::to_string)
    }
}

/// The verdicts on all DKIM-Signature fields of a message.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct DkimReport {
    /// One verdict per DKIM-Signature field, top to bottom.
    pub signatures: Vec<DkimVerdict>,
    /// The message had bare LF line endings, converted to CRLF before hashing.
    pub line_endings_normalized: bool,
}

impl DkimReport {
    /// A one-word summary: `none` without signatures; otherwise the best result, in the order
    /// pass, temperror, fail, policy, neutral, permerror (a temporary error may still become a
    /// pass, so it outranks the final failures).
    pub fn result(&self) -> DkimResult {
        const ORDER: [DkimResult; 6] = [
            DkimResult::Pass,
            DkimResult::TempError,
            DkimResult::Fail,
            DkimResult::Policy,
            DkimResult::Neutral,
            DkimResult::PermError,
        ];
        ORDER
            .into_iter()
            .find(|r| self.signatures.iter().any(|v| v.result == *r))
            .unwrap_or(DkimResult::None)
    }

    /// The verdicts that passed.
    pub fn passing(&self) -> impl Iterator<Item = &DkimVerdict> {
        self.signatures
            .iter()
            .filter(|v| v.result == DkimResult::Pass)
    }

    /// True when at least one signature passed.
    pub fn has_pass(&self) -> bool {
        self.passing().next().is_some()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rfc8601_2_7_1_tokens_round_trip() {
        for r in DkimResult::ALL {
            assert_eq!(r.as_str().parse::<DkimResult>().unwrap(), r);
            assert_eq!(r.to_string(), r.as_str());
        }
        assert_eq!("PASS".parse::<DkimResult>().unwrap(), DkimResult::Pass);
        assert!("softfail".parse::<DkimResult>().is_err());
    }

    #[test]
    fn problems_serialize_with_code() {
        let p = DkimProblem::KeyTooShort { bits: 512 };
        let json = serde_json::to_string(&p).unwrap();
        assert_eq!(json, r#"{"code":"key_too_short","bits":512}"#);
        assert_eq!(p.code(), "key_too_short");
        assert_eq!(p.result(), DkimResult::Policy);
        assert!(p.to_string().contains("512 bits"));
    }

    #[test]
    fn report_summary_order() {
        let v = |p: DkimProblem| DkimVerdict::problem(p, SignatureDetails::default());
        let mut report = DkimReport {
            signatures: vec![],
            line_endings_normalized: false,
        };
        assert_eq!(report.result(), DkimResult::None);
        report.signatures.push(v(DkimProblem::KeyRevoked));
        assert_eq!(report.result(), DkimResult::PermError);
        report.signatures.push(v(DkimProblem::BodyHashMismatch));
        assert_eq!(report.result(), DkimResult::Fail);
        report.signatures.push(v(DkimProblem::KeyUnavailable {
            name: Name::parse("a.b").unwrap(),
            failure: FailureKind::Timeout,
        }));
        assert_eq!(report.result(), DkimResult::TempError);
        assert!(!report.has_pass());
    }
}
