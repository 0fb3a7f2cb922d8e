//! The DKIM-Signature header field (RFC 6376 §3.5) and its validation (§6.1.1).

use crate::canon::{Canonicalization, Canonicalizations};
use crate::header_names::HeaderNames;
use crate::key::{HashAlgorithm, KeyType};
use crate::names::dns_labels;
use crate::tag::{Tag, TagList, TagListError, is_fws};
use mailstamp_dns::Name;
use serde::Serialize;
use std::fmt;
use std::str::FromStr;

/// A signing algorithm (`a=`, RFC 6376 §3.3, RFC 8463 §3).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
pub enum SigningAlgorithm {
    /// `rsa-sha256` (RFC 6376 §3.3.2).
    #[serde(rename = "rsa-sha256")]
    RsaSha256,
    /// `ed25519-sha256` (RFC 8463 §3).
    #[serde(rename = "ed25519-sha256")]
    Ed25519Sha256,
    /// `rsa-sha1` (RFC 6376 §3.3.1): parsed, but never a pass unless
    /// [`crate::Policy::dangerous_accept_rsa_sha1`] is set (RFC 8301 §3.1). mailstamp never
    /// signs with it.
    #[serde(rename = "rsa-sha1")]
    RsaSha1,
}

impl SigningAlgorithm {
    /// The `a=` token.
    pub fn as_str(self) -> &'static str {
        match self {
            SigningAlgorithm::RsaSha256 => "rsa-sha256",
            SigningAlgorithm::Ed25519Sha256 => "ed25519-sha256",
            SigningAlgorithm::RsaSha1 => "rsa-sha1",
        }
    }

    /// The key type the algorithm needs.
    pub fn key_type(self) -> KeyType {
        match self {
            SigningAlgorithm::RsaSha256 | SigningAlgorithm::RsaSha1 => KeyType::Rsa,
            SigningAlgorithm::Ed25519Sha256 => KeyType::Ed25519,
        }
    }

    /// The hash algorithm.
    pub fn hash(self) -> HashAlgorithm {
        match self {
            SigningAlgorithm::RsaSha256 | SigningAlgorithm::Ed25519Sha256 => HashAlgorithm::Sha256,
            SigningAlgorithm::RsaSha1 => HashAlgorithm::Sha1,
        }
    }
}

impl fmt::Display for SigningAlgorithm {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// An `a=` value that is not a known algorithm.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown signing algorithm {0:?} (expected rsa-sha256 or ed25519-sha256)")]
pub struct UnknownAlgorithm(pub String);

impl FromStr for SigningAlgorithm {
    type Err = UnknownAlgorithm;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "rsa-sha256" => Ok(SigningAlgorithm::RsaSha256),
            "ed25519-sha256" => Ok(SigningAlgorithm::Ed25519Sha256),
            "rsa-sha1" => Ok(SigningAlgorithm::RsaSha1),
            _ => Err(UnknownAlgorithm(s.to_owned())),
        }
    }
}

/// Why a DKIM-Signature field cannot be used (RFC 6376 §3.5, §6.1.1). Every variant makes the
/// signature `permerror`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, thiserror::Error)]
#[serde(tag = "kind", rename_all = "snake_case")]
#[non_exhaustive]
pub enum SignatureError {
    /// Not a valid tag list, or a tag appears twice (RFC 6376 §3.2).
    #[error("{error}")]
    Syntax {
        /// The tag-list error, with its byte offset in the field value.
        error: TagListError,
    },
    /// A required tag (`v a b bh d h s`) is missing (RFC 6376 §3.5, §6.1.1).
    #[error("the required tag {tag}= is missing")]
    MissingTag {
        /// The tag name.
        tag: &'static str,
    },
    /// `v=` is not `1` (RFC 6376 §3.5, §6.1.1 "incompatible version").
    #[error("v={found:?} at byte {offset}: only version 1 is defined")]
    IncompatibleVersion {
        /// The value found.
        found: String,
        /// Byte offset of the value.
        offset: usize,
    },
    /// `a=` is not a known algorithm (RFC 6376 §3.5, §6.1.1).
    #[error("a={found:?} at byte {offset} is not a known algorithm")]
    UnsupportedAlgorithm {
        /// The value found.
        found: String,
        /// Byte offset of the value.
        offset: usize,
    },
    /// `c=` is not `simple` or `relaxed` for header and body (RFC 6376 §3.5).
    #[error("c={found:?} at byte {offset} is not a known canonicalization")]
    UnsupportedCanonicalization {
        /// The value found.
        found: String,
        /// Byte offset of the value.
        offset: usize,
    },
    /// `q=` does not offer `dns/txt` (RFC 6376 §3.5).
    #[error("q={found:?} at byte {offset} does not offer dns/txt")]
    UnsupportedQueryMethod {
        /// The value found.
        found: String,
        /// Byte offset of the value.
        offset: usize,
    },
    /// A tag value does not follow its syntax (RFC 6376 §3.5).
    #[error("{tag}= at byte {offset} is invalid: {reason}")]
    InvalidTagValue {
        /// The tag name.
        tag: &'static str,
        /// Byte offset of the value.
        offset: usize,
        /// What is wrong.
        reason: String,
    },
    /// `h=` does not list From (RFC 6376 §5.4, §6.1.1: "the From header field MUST be signed").
    #[error("h= at byte {offset} does not include From")]
    FromNotSigned {
        /// Byte offset of the `h=` value.
        offset: usize,
    },
    /// The `i=` domain is neither `d=` nor a subdomain of it (RFC 6376 §3.5, §6.1.1).
    #[error("i={identity} is not within d={domain}")]
    IdentityNotInDomain {
        /// The `i=` value (decoded).
        identity: String,
        /// The `d=` value.
        domain: String,
    },
    /// `x=` is earlier than `t=` (RFC 6376 §3.5: "the value of the x= tag MUST be greater than
    /// the value of the t= tag").
    #[error("x={expiration} is earlier than t={timestamp}")]
    ExpiresBeforeTimestamp {
        /// `t=`.
        timestamp: u64,
        /// `x=`.
        expiration: u64,
    },
}

/// The agent or user identifier (`i=`, RFC 6376 §3.5), decoded from dkim-quoted-printable.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Identity {
    /// The local part (may be empty).
    pub local_part: String,
    /// The domain.
    #[serde(serialize_with = "crate::result::ser_name")]
    pub domain: Name,
}

impl fmt::Display for Identity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}@{}", self.local_part, self.domain)
    }
}

/// A parsed and validated DKIM-Signature field (RFC 6376 §3.5).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Signature {
    /// `a=`.
    pub algorithm: SigningAlgorithm,
    /// `c=` (default `simple/simple`).
    pub canonicalization: Canonicalizations,
    /// `d=`, the signing domain identifier (SDID).
    pub domain: Name,
    /// `s=`, the selector, as written.
    pub selector: String,
    /// `h=`, the signed header field names, as written.
    pub signed_headers: HeaderNames,
    /// `bh=`, decoded.
    pub body_hash: Vec<u8>,
    /// `b=`, decoded.
    pub signature: Vec<u8>,
    /// `l=`, the body length count (values beyond `u64` are clamped).
    pub body_length: Option<u64>,
    /// `i=`, decoded.
    pub identity: Option<Identity>,
    /// `t=`, signature timestamp (Unix seconds).
    pub timestamp: Option<u64>,
    /// `x=`, expiration (Unix seconds).
    pub expiration: Option<u64>,
    /// Byte range of the `b=` value, surrounding whitespace included, in the field value: the
    /// part emptied when hashing the field (RFC 6376 §3.5 `b=`, §3.7).
    pub b_value_range: std::ops::Range<usize>,
}

fn text(v: &[u8]) -> String {
    String::from_utf8_lossy(v).into_owned()
}

fn required<'t>(
    tag: Option<&'t Tag<'t>>,
    name: &'static str,
) -> Result<&'t Tag<'t>, SignatureError> {
    tag.ok_or(SignatureError::MissingTag { tag: name })
}

/// The tags of RFC 6376 §3.5, found in one pass over the list (a tag list has no duplicates).
#[derive(Default)]
struct Known<'t> {
    v: Option<&'t Tag<'t>>,
    a: Option<&'t Tag<'t>>,
    b: Option<&'t Tag<'t>>,
    bh: Option<&'t Tag<'t>>,
    c: Option<&'t Tag<'t>>,
    d: Option<&'t Tag<'t>>,
    h: Option<&'t Tag<'t>>,
    i: Option<&'t Tag<'t>>,
    l: Option<&'t Tag<'t>>,
    q: Option<&'t Tag<'t>>,
    s: Option<&'t Tag<'t>>,
    t: Option<&'t Tag<'t>>,
    x: Option<&'t Tag<'t>>,
}

impl<'t> Known<'t> {
    fn of(tags: &'t TagList<'t>) -> Known<'t> {
        let mut k = Known::default();
        for tag in tags.tags() {
            let slot = match tag.name {
                "v" => &mut k.v,
                "a" => &mut k.a,
                "b" => &mut k.b,
                "bh" => &mut k.bh,
                "c" => &mut k.c,
                "d" => &mut k.d,
                "h" => &mut k.h,
                "i" => &mut k.i,
                "l" => &mut k.l,
                "q" => &mut k.q,
                "s" => &mut k.s,
                "t" => &mut k.t,
                "x" => &mut k.x,
                _ => continue, // unknown tags are ignored (RFC 6376 §3.2)
            };
            *slot = Some(tag);
        }
        k
    }
}

fn invalid(tag: &'static str, t: &Tag<'_>, reason: impl Into<String>) -> SignatureError {
    SignatureError::InvalidTagValue {
        tag,
        offset: t.value_offset,
        reason: reason.into(),
    }
}

/// Checks a selector: what [`dns_labels`] accepts, without building a [`Name`] for ASCII.
fn check_labels(value: &[u8]) -> Result<(), String> {
    let simple = !value.is_empty()
        && value.len() <= mailstamp_dns::MAX_NAME_LEN
        && value.split(|&b| b == b'.').all(|label| {
            !label.is_empty()
                && label.len() <= mailstamp_dns::MAX_LABEL_LEN
                && label
                    .iter()
                    .all(|&b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
        });
    if simple {
        Ok(())
    } else {
        dns_labels(value).map(|_| ())
    }
}

fn trim_fws(v: &[u8]) -> &[u8] {
    let start = v.iter().position(|&c| !is_fws(c)).unwrap_or(v.len());
    let end = v.iter().rposition(|&c| !is_fws(c)).map_or(start, |e| e + 1);
    &v[start..end]
}

fn canonicalizations(v: &[u8]) -> Option<Canonicalizations> {
    let one = |t: &[u8]| match t {
        b"simple" => Some(Canonicalization::Simple),
        b"relaxed" => Some(Canonicalization::Relaxed),
        _ => None,
    };
    Some(match v.iter().position(|&c| c == b'/') {
        Some(p) => Canonicalizations {
            header: one(&v[..p])?,
            body: one(&v[p + 1..])?,
        },
        None => Canonicalizations {
            header: one(v)?,
            body: Canonicalization::Simple,
        },
    })
}

fn number(tag: &'static str, t: &Tag<'_>, max_digits: usize) -> Result<u64, SignatureError> {
    let v = t.value;
    if v.is_empty() || !v.iter().all(u8::is_ascii_digit) {
        return Err(invalid(tag, t, "not a decimal number"));
    }
    if v.len() > max_digits {
        return Err(invalid(tag, t, format!("more than {max_digits} digits")));
    }
    Ok(v.iter().fold(0u64, |acc, &d| {
        acc.saturating_mul(10).saturating_add(u64::from(d - b'0'))
    }))
}

/// Decodes dkim-quoted-printable (RFC 6376 §2.11): `=XX` hex escapes, folding whitespace
/// ignored.
fn dkim_quoted_printable(v: &[u8]) -> Option<Vec<u8>> {
    let mut out = Vec::with_capacity(v.len());
    let mut i = 0;
    while i < v.len() {
        match v[i] {
            b'=' => {
                let hex = v.get(i + 1..i + 3)?;
                let s = std::str::from_utf8(hex).ok()?;
                out.push(u8::from_str_radix(s, 16).ok()?);
                i += 3;
            }
            b if is_fws(b) => i += 1,
            b => {
                out.push(b);
                i += 1;
            }
        }
    }
    Some(out)
}

impl Signature {
    /// Parses and validates the value of a DKIM-Signature field (everything after the colon),
    /// following RFC 6376 §6.1.1. Unknown tags are ignored. `rsa-sha1` parses; refusing it is
    /// the verifier's policy (RFC 8301).
    ///
    /// ```
    /// use mailstamp_dkim::{Signature, SigningAlgorithm};
    ///
    /// let sig = Signature::parse(b" v=1; a=ed25519-sha256; c=relaxed/relaxed;\r\n d=football.example.com;\r\n i=@football.example.com; q=dns/txt; s=brisbane; t=1528637909;\r\n h=from : to : subject; bh=2jUSOH9NhtVGCQWNr9BrIAPreKQjO6Sn7XIkfJVOzv8=;\r\n b=/gCrinpcQOoIfuHNQIbq4pgh9kyIK3AQ").unwrap();
    /// assert_eq!(sig.algorithm, SigningAlgorithm::Ed25519Sha256);
    /// assert_eq!(sig.domain.as_str(), "football.example.com");
    /// assert_eq!(sig.signed_headers, ["from", "to", "subject"]);
    /// ```
    pub fn parse(value: &[u8]) -> Result<Signature, SignatureError> {
        let tags = TagList::parse(value).map_err(|error| SignatureError::Syntax { error })?;
        Signature::from_tags(&tags)
    }

    /// Validates an already parsed tag list (see [`Signature::parse`]).
    pub fn from_tags(tags: &TagList<'_>) -> Result<Signature, SignatureError> {
        let known = Known::of(tags);
        let v = required(known.v, "v")?;
        if v.value != b"1" {
            return Err(SignatureError::IncompatibleVersion {
                found: text(v.value),
                offset: v.value_offset,
            });
        }
        let a = required(known.a, "a")?;
        let b = required(known.b, "b")?;
        let bh = required(known.bh, "bh")?;
        let d = required(known.d, "d")?;
        let h = required(known.h, "h")?;
        let s = required(known.s, "s")?;

        let algorithm = match a.value {
            b"rsa-sha256" => SigningAlgorithm::RsaSha256,
            b"ed25519-sha256" => SigningAlgorithm::Ed25519Sha256,
            b"rsa-sha1" => SigningAlgorithm::RsaSha1,
            other => {
                return Err(SignatureError::UnsupportedAlgorithm {
                    found: text(other),
                    offset: a.value_offset,
                });
            }
        };
        let canonicalization = match known.c {
            None => Canonicalizations::SIMPLE,
            Some(c) => canonicalizations(c.value).ok_or_else(|| {
                SignatureError::UnsupportedCanonicalization {
                    found: text(c.value),
                    offset: c.value_offset,
                }
            })?,
        };
        if let Some(q) = known.q {
            let offers_txt = q
                .value
                .split(|&c| c == b':')
                .any(|m| trim_fws(m) == b"dns/txt");
            if !offers_txt {
                return Err(SignatureError::UnsupportedQueryMethod {
                    found: text(q.value),
                    offset: q.value_offset,
                });
            }
        }
        let domain = dns_labels(d.value).map_err(|r| invalid("d", d, r))?;
        check_labels(s.value).map_err(|r| invalid("s", s, r))?;
        let selector = text(s.value);

        let mut signed_headers = HeaderNames::with_capacity(h.value.len());
        for name in h.value.split(|&c| c == b':') {
            let name = trim_fws(name);
            if name.is_empty() || !name.iter().all(|&c| (33..=126).contains(&c)) {
                return Err(invalid("h", h, "empty or invalid header field name"));
            }
            // printable ASCII, checked above
            signed_headers.push_plain(std::str::from_utf8(name).unwrap_or_default());
        }
        if !signed_headers
            .iter()
            .any(|n| n.eq_ignore_ascii_case("from"))
        {
            return Err(SignatureError::FromNotSigned {
                offset: h.value_offset,
            });
        }

        let identity = match known.i {
            None => None,
            Some(i) => {
                let decoded = dkim_quoted_printable(i.value)
                    .ok_or_else(|| invalid("i", i, "invalid quoted-printable escape"))?;
                let decoded =
                    String::from_utf8(decoded).map_err(|_| invalid("i", i, "not UTF-8"))?;
                let (local, dom) = decoded
                    .rsplit_once('@')
                    .ok_or_else(|| invalid("i", i, "no @domain part"))?;
                let dom_name = dns_labels(dom.as_bytes()).map_err(|r| invalid("i", i, r))?;
                if !dom_name.is_subdomain_of(&domain) {
                    return Err(SignatureError::IdentityNotInDomain {
                        identity: decoded.clone(),
                        domain: domain.to_string(),
                    });
                }
                Some(Identity {
                    local_part: local.to_owned(),
                    domain: dom_name,
                })
            }
        };

        let body_hash =
            crate::b64::decode(bh.value).map_err(|_| invalid("bh", bh, "not base64"))?;
        let signature = crate::b64::decode(b.value).map_err(|_| invalid("b", b, "not base64"))?;
        let body_length = known.l.map(|l| number("l", l, 76)).transpose()?;
        // RFC 6376 §3.5: sig-t-tag and sig-x-tag are `1*12DIGIT`; a longer value (such as
        // x=99999999999999999999, "never expires") is a syntax error, not a clamp.
        let timestamp = known.t.map(|t| number("t", t, 12)).transpose()?;
        let expiration = known.x.map(|x| number("x", x, 12)).transpose()?;
        if let (Some(t), Some(x)) = (timestamp, expiration)
            && x < t
        {
            return Err(SignatureError::ExpiresBeforeTimestamp {
                timestamp: t,
                expiration: x,
            });
        }
        Ok(Signature {
            algorithm,
            canonicalization,
            domain,
            selector,
            signed_headers,
            body_hash,
            signature,
            body_length,
            identity,
            timestamp,
            expiration,
            b_value_range: b.after_equals..b.spec_end,
        })
    }

    /// The DNS name of the key record: `<selector>._domainkey.<domain>` (RFC 6376 §3.6.2.1).
    pub fn key_name(&self) -> Result<Name, mailstamp_dns::NameError> {
        const SUFFIX: &str = "._domainkey";
        // The prefix is joined on the stack: a selector is at most a DNS name long.
        let mut buf = [0u8; mailstamp_dns::MAX_NAME_LEN + SUFFIX.len() + 1];
        let selector = self.selector.as_bytes();
        if let Some(room) = buf.get_mut(..selector.len() + SUFFIX.len()) {
            let (head, tail) = room.split_at_mut(selector.len());
            head.copy_from_slice(selector);
            tail.copy_from_slice(SUFFIX.as_bytes());
            if let Ok(prefix) = std::str::from_utf8(room) {
                return self.domain.prepend(prefix);
            }
        }
        let mut prefix = String::with_capacity(self.selector.len() + SUFFIX.len());
        prefix.push_str(&self.selector);
        prefix.push_str(SUFFIX);
        self.domain.prepend(&prefix)
    }

    /// The body canonicalization.
    pub fn body_canonicalization(&self) -> Canonicalization {
        self.canonicalization.body
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const BASE: &str = "v=1; a=rsa-sha256; d=example.com; s=sel; h=From:To; bh=AAAA; b=AAAA";

    fn err(value: &str) -> SignatureError {
        Signature::parse(value.as_bytes()).unwrap_err()
    }

    #[test]
    fn rfc6376_3_5_minimal_signature_and_defaults() {
        let s = Signature::parse(BASE.as_bytes()).unwrap();
        assert_eq!(s.canonicalization, Canonicalizations::SIMPLE);
        assert_eq!(s.key_name().unwrap().as_str(), "sel._domainkey.example.com");
        assert_eq!(&BASE[s.b_value_range.clone()], "AAAA");
        let v = "b= AA\r\n AA ; v=1; a=rsa-sha256; d=example.com; s=sel; h=From; bh=AAAA";
        let s = Signature::parse(v.as_bytes()).unwrap();
        assert_eq!(&v[s.b_value_range.clone()], " AA\r\n AA ");
        assert!(s.identity.is_none() && s.body_length.is_none());
    }

    #[test]
    fn rfc6376_6_1_1_required_tags() {
        for tag in ["v", "a", "b", "bh", "d", "h", "s"] {
            let value: Vec<&str> = BASE
                .split("; ")
                .filter(|t| !t.starts_with(&format!("{tag}=")))
                .collect();
            assert_eq!(err(&value.join("; ")), SignatureError::MissingTag { tag });
        }
    }

    #[test]
    fn rfc6376_6_1_1_version_algorithm_canonicalization_query() {
        assert!(matches!(
            err(&BASE.replace("v=1", "v=5")),
            SignatureError::IncompatibleVersion { .. }
        ));
        assert!(matches!(
            err(&BASE.replace("rsa-sha256", "rsa-md5")),
            SignatureError::UnsupportedAlgorithm { .. }
        ));
        assert!(matches!(
            err(&format!("{BASE}; c=future")),
            SignatureError::UnsupportedCanonicalization { .. }
        ));
        assert!(matches!(
            err(&format!("{BASE}; q=http")),
            SignatureError::UnsupportedQueryMethod { .. }
        ));
        assert!(matches!(
            err(&format!("{BASE}; q=dns/special")),
            SignatureError::UnsupportedQueryMethod { .. }
        ));
        assert!(Signature::parse(format!("{BASE}; q=dns/txt").as_bytes()).is_ok());
        let s = Signature::parse(BASE.replace("rsa-sha256", "rsa-sha1").as_bytes()).unwrap();
        assert_eq!(s.algorithm.hash(), HashAlgorithm::Sha1);
    }

    #[test]
    fn rfc6376_5_4_from_must_be_signed() {
        assert!(matches!(
            err(&BASE.replace("From:To", "To:Subject")),
            SignatureError::FromNotSigned { .. }
        ));
        assert!(Signature::parse(BASE.replace("From:To", " to : FROM ").as_bytes()).is_ok());
        assert!(matches!(
            err(&BASE.replace("From:To", "From::To")),
            SignatureError::InvalidTagValue { tag: "h", .. }
        ));
    }

    #[test]
    fn rfc6376_3_5_identity_within_domain() {
        let s = Signature::parse(format!("{BASE}; i=joe=40x@Sub.Example.com").as_bytes()).unwrap();
        let i = s.identity.unwrap();
        assert_eq!(i.local_part, "joe@x");
        assert_eq!(i.domain.as_str(), "sub.example.com");
        assert!(matches!(
            err(&format!("{BASE}; i=@badexample.com")),
            SignatureError::IdentityNotInDomain { .. }
        ));
        assert!(matches!(
            err(&format!("{BASE}; i=nodomain")),
            SignatureError::InvalidTagValue { tag: "i", .. }
        ));
        assert!(matches!(
            err(&format!("{BASE}; i=a=zz@example.com")),
            SignatureError::InvalidTagValue { tag: "i", .. }
        ));
    }

    #[test]
    fn rfc6376_3_5_timestamps_and_length() {
        assert_eq!(
            err(&format!("{BASE}; t=200; x=100")),
            SignatureError::ExpiresBeforeTimestamp {
                timestamp: 200,
                expiration: 100
            }
        );
        let s = Signature::parse(format!("{BASE}; t=100; x=100; l=0").as_bytes()).unwrap();
        assert_eq!(
            (s.timestamp, s.expiration, s.body_length),
            (Some(100), Some(100), Some(0))
        );
        assert!(matches!(
            err(&format!("{BASE}; l=-1")),
            SignatureError::InvalidTagValue { tag: "l", .. }
        ));
        assert!(matches!(
            err(&format!("{BASE}; t=12a")),
            SignatureError::InvalidTagValue { tag: "t", .. }
        ));
        let huge = "9".repeat(76);
        let s = Signature::parse(format!("{BASE}; l={huge}").as_bytes()).unwrap();
        assert_eq!(s.body_length, Some(u64::MAX));
        let s = "9".repeat(77);
        assert!(matches!(
            err(&format!("{BASE}; l={s}")),
            SignatureError::InvalidTagValue { tag: "l", .. }
        ));
    }

    #[test]
    fn issue_17_8_t_and_x_are_at_most_12_digits() {
        // RFC 6376 §3.5: sig-t-tag = %x74 [FWS] "=" [FWS] 1*12DIGIT, the same for x=.
        let twelve = "9".repeat(12);
        let s = Signature::parse(format!("{BASE}; t=1; x={twelve}").as_bytes()).unwrap();
        assert_eq!(s.expiration, Some(999_999_999_999));
        for tag in ["t", "x"] {
            let e = err(&format!("{BASE}; {tag}=99999999999999999999"));
            let SignatureError::InvalidTagValue {
                tag: named,
                offset,
                reason,
            } = e
            else {
                panic!("{tag}: {e:?}")
            };
            assert_eq!(named, tag);
            assert_eq!(offset, BASE.len() + 4);
            assert!(reason.contains("12 digits"), "{reason}");
            assert!(matches!(
                err(&format!("{BASE}; {tag}=0{twelve}")),
                SignatureError::InvalidTagValue { .. }
            ));
        }
    }

    #[test]
    fn rfc6376_3_5_domain_syntax() {
        // dkimpy test.message.baddomain
        assert!(matches!(
            err(&BASE.replace("example.com", "legitimate.com(.attacker.com")),
            SignatureError::InvalidTagValue { tag: "d", .. }
        ));
        assert!(matches!(
            err(&BASE.replace("s=sel", "s=a b")),
            SignatureError::InvalidTagValue { tag: "s", .. }
        ));
        assert!(matches!(
            err(&BASE.replace("bh=AAAA", "bh=A!AA")),
            SignatureError::InvalidTagValue { tag: "bh", .. }
        ));
        assert!(matches!(
            err(&format!("{BASE}; {BASE}")),
            SignatureError::Syntax { .. }
        ));
    }
}
