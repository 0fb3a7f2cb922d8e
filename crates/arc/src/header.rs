//! The three ARC header fields (RFC 8617 §4.1) and their grouping into sets by instance
//! (§4.2).

use crate::result::{ArcProblem, ArcResult, FieldKind};
use mailstamp_dkim::{Canonicalizations, SigningAlgorithm, TagList};
use mailstamp_dns::Name;
use mailstamp_message::{HeaderField, Message};
use std::collections::BTreeMap;
use std::ops::Range;

/// The highest instance a chain may reach (RFC 8617 §4.2.1).
pub const MAX_INSTANCE: u32 = 50;

/// The longest ARC field (name, value and folding) mailstamp reads; a longer one makes the
/// chain `fail` (RFC 8617 §9.1 warns about header growth). 64 KiB is far above what any
/// sealer writes (an AMS with a long `h=` and a 4096-bit `b=` is under 2 KiB).
pub const MAX_FIELD_LEN: usize = 64 * 1024;

/// The kind of an ARC field from its name, or `None` for any other field.
pub fn field_kind(field: &HeaderField<'_>) -> Option<FieldKind> {
    if field.is_named("ARC-Seal") {
        Some(FieldKind::Seal)
    } else if field.is_named("ARC-Message-Signature") {
        Some(FieldKind::Ams)
    } else if field.is_named("ARC-Authentication-Results") {
        Some(FieldKind::Aar)
    } else {
        None
    }
}

fn is_wsp(b: u8) -> bool {
    matches!(b, b' ' | b'\t' | b'\r' | b'\n')
}

fn trim(v: &[u8]) -> &[u8] {
    let start = v.iter().position(|&b| !is_wsp(b)).unwrap_or(v.len());
    let end = v.iter().rposition(|&b| !is_wsp(b)).map_or(start, |e| e + 1);
    &v[start..end]
}

/// Reads an instance value (`1*2DIGIT` in practice; RFC 8617 §4.2.1: 1..=50).
fn instance_value(kind: FieldKind, v: &[u8]) -> Result<u32, ArcProblem> {
    let v = trim(v);
    let invalid = |reason: String| ArcProblem::InvalidInstance { kind, reason };
    if v.is_empty() || !v.iter().all(u8::is_ascii_digit) {
        return Err(invalid(format!(
            "i={:?} is not a number",
            String::from_utf8_lossy(v)
        )));
    }
    let digits = std::str::from_utf8(v).unwrap_or("0");
    let n: u64 = digits.parse().unwrap_or(u64::MAX);
    if n == 0 {
        return Err(invalid("i=0: instances start at 1".to_owned()));
    }
    if n > u64::from(MAX_INSTANCE) {
        return Err(ArcProblem::TooManySets { instance: n });
    }
    Ok(n as u32)
}

/// Splits an ARC-Authentication-Results value into its instance and its authres-payload
/// (RFC 8617 §4.1.1: `arc-info = instance [CFWS] ";" authres-payload`). Returns the instance
/// and the payload's byte range in `value` (trimmed).
pub fn parse_aar(value: &[u8]) -> Result<(u32, Range<usize>), ArcProblem> {
    let kind = FieldKind::Aar;
    let invalid = |reason: &str| ArcProblem::InvalidInstance {
        kind,
        reason: reason.to_owned(),
    };
    let semi = value
        .iter()
        .position(|&b| b == b';')
        .ok_or_else(|| invalid("no \"i=N;\" before the results"))?;
    let head = trim(&value[..semi]);
    let Some(rest) = head.strip_prefix(b"i") else {
        return Err(invalid("the value does not start with i="));
    };
    let rest = trim(rest);
    let Some(num) = rest.strip_prefix(b"=") else {
        return Err(invalid("the value does not start with i="));
    };
    let instance = instance_value(kind, num)?;
    let mut start = semi + 1;
    let mut end = value.len();
    while start < end && is_wsp(value[start]) {
        start += 1;
    }
    while end > start && is_wsp(value[end - 1]) {
        end -= 1;
    }
    if start == end {
        return Err(ArcProblem::Malformed {
            instance,
            kind,
            reason: "no authserv-id and results after i=".to_owned(),
        });
    }
    Ok((instance, start..end))
}

/// The instance of an AMS or ARC-Seal from its tag list.
fn tag_instance(kind: FieldKind, tags: &TagList<'_>) -> Result<u32, ArcProblem> {
    match tags.get("i") {
        Some(v) => instance_value(kind, v),
        None => Err(ArcProblem::InvalidInstance {
            kind,
            reason: "no i= tag".to_owned(),
        }),
    }
}

/// The instance of any ARC field.
pub fn instance_of(kind: FieldKind, value: &[u8]) -> Result<u32, ArcProblem> {
    match kind {
        FieldKind::Aar => parse_aar(value).map(|(i, _)| i),
        FieldKind::Ams | FieldKind::Seal => {
            let tags = TagList::parse(value).map_err(|e| ArcProblem::InvalidInstance {
                kind,
                reason: format!("the tag list does not parse: {e}"),
            })?;
            tag_instance(kind, &tags)
        }
    }
}

fn text(v: &[u8]) -> String {
    String::from_utf8_lossy(v).into_owned()
}

fn b64(v: &[u8]) -> Option<Vec<u8>> {
    use base64::Engine as _;
    let clean: Vec<u8> = v.iter().copied().filter(|&b| !is_wsp(b)).collect();
    base64::engine::general_purpose::STANDARD.decode(clean).ok()
}

/// The tags an AMS and an ARC-Seal share: algorithm, signing domain, selector, signature.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Common {
    /// `i=`.
    pub instance: u32,
    /// `a=`.
    pub algorithm: SigningAlgorithm,
    /// `d=`.
    pub domain: Name,
    /// `s=`.
    pub selector: String,
    /// `b=`, decoded.
    pub signature: Vec<u8>,
    /// `t=`.
    pub timestamp: Option<u64>,
    /// The span of the value emptied when hashing the field itself: the `b=` value with its
    /// surrounding whitespace (RFC 6376 §3.5, §3.7), as a range of the field value.
    pub b_value_range: Range<usize>,
}

fn common(kind: FieldKind, tags: &TagList<'_>) -> Result<Common, ArcProblem> {
    let instance = tag_instance(kind, tags)?;
    let malformed = |reason: String| ArcProblem::Malformed {
        instance,
        kind,
        reason,
    };
    let need = |name: &str| {
        tags.get(name)
            .ok_or_else(|| malformed(format!("the required tag {name}= is missing")))
    };
    let a = text(need("a")?);
    let algorithm: SigningAlgorithm = a.parse().map_err(|e| malformed(format!("a=: {e}")))?;
    let d = text(need("d")?);
    let domain = Name::parse(&d).map_err(|e| malformed(format!("d={d:?}: {e}")))?;
    let selector = text(need("s")?);
    if selector.is_empty() {
        return Err(malformed("s= is empty".to_owned()));
    }
    let b_tag = tags
        .tag("b")
        .ok_or_else(|| malformed("the required tag b= is missing".to_owned()))?;
    let signature = b64(b_tag.value).ok_or_else(|| malformed("b= is not base64".to_owned()))?;
    if signature.is_empty() {
        return Err(malformed("b= is empty".to_owned()));
    }
    let timestamp = match tags.get("t") {
        None => None,
        Some(t) => Some(
            text(trim(t))
                .parse::<u64>()
                .map_err(|_| malformed(format!("t={:?} is not a number", text(t))))?,
        ),
    };
    Ok(Common {
        instance,
        algorithm,
        domain,
        selector,
        signature,
        timestamp,
        b_value_range: b_tag.after_equals..b_tag.spec_end,
    })
}

/// An ARC-Message-Signature (RFC 8617 §4.1.2): a DKIM-Signature without `v=` whose `i=` is
/// the instance.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MessageSignature {
    /// The tags shared with the ARC-Seal.
    pub common: Common,
    /// `c=` (default `simple/simple`, RFC 6376 §3.5).
    pub canonicalization: Canonicalizations,
    /// `h=`, as written.
    pub signed_headers: Vec<String>,
    /// `bh=`, decoded.
    pub body_hash: Vec<u8>,
    /// `l=`.
    pub body_length: Option<u64>,
    /// `x=`.
    pub expiration: Option<u64>,
}

/// Names an AMS must not sign (RFC 8617 §4.1.2).
const FORBIDDEN_IN_AMS: &[&str] = &[
    "arc-seal",
    "arc-message-signature",
    "arc-authentication-results",
    "authentication-results",
];

impl MessageSignature {
    /// Parses an AMS value. Unknown tags (including `v=`) are ignored, as RFC 8617 §4.1.2
    /// and RFC 6376 §3.2 require.
    pub fn parse(value: &[u8]) -> Result<MessageSignature, ArcProblem> {
        let kind = FieldKind::Ams;
        let tags = TagList::parse(value).map_err(|e| ArcProblem::InvalidInstance {
            kind,
            reason: format!("the tag list does not parse: {e}"),
        })?;
        let common = common(kind, &tags)?;
        let instance = common.instance;
        let malformed = |reason: String| ArcProblem::Malformed {
            instance,
            kind,
            reason,
        };
        let canonicalization = match tags.get("c") {
            None => Canonicalizations::SIMPLE,
            Some(c) => text(trim(c))
                .parse()
                .map_err(|e| malformed(format!("c=: {e}")))?,
        };
        let h = tags
            .get("h")
            .ok_or_else(|| malformed("the required tag h= is missing".to_owned()))?;
        let signed_headers: Vec<String> = h.split(|&c| c == b':').map(|n| text(trim(n))).collect();
        if signed_headers.iter().any(String::is_empty) {
            return Err(malformed("h= has an empty field name".to_owned()));
        }
        if let Some(bad) = signed_headers
            .iter()
            .find(|n| FORBIDDEN_IN_AMS.contains(&n.to_ascii_lowercase().as_str()))
        {
            return Err(ArcProblem::AmsSignsForbiddenField {
                instance,
                name: bad.clone(),
            });
        }
        let bh = tags
            .get("bh")
            .ok_or_else(|| malformed("the required tag bh= is missing".to_owned()))?;
        let body_hash = b64(bh).ok_or_else(|| malformed("bh= is not base64".to_owned()))?;
        let number = |name: &str| -> Result<Option<u64>, ArcProblem> {
            match tags.get(name) {
                None => Ok(None),
                Some(v) => text(trim(v))
                    .parse::<u64>()
                    .map(Some)
                    .map_err(|_| malformed(format!("{name}={:?} is not a number", text(v)))),
            }
        };
        Ok(MessageSignature {
            body_length: number("l")?,
            expiration: number("x")?,
            common,
            canonicalization,
            signed_headers,
            body_hash,
        })
    }
}

/// An ARC-Seal (RFC 8617 §4.1.3).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Seal {
    /// The tags shared with the AMS.
    pub common: Common,
    /// `cv=`.
    pub cv: ArcResult,
}

/// The tags an ARC-Seal may carry (RFC 8617 §4.1.3).
const SEAL_TAGS: &[&str] = &["i", "a", "b", "cv", "d", "s", "t"];

impl Seal {
    /// Parses an ARC-Seal value: `h=` and any tag but i, a, b, cv, d, s, t are refused
    /// (RFC 8617 §4.1.3).
    pub fn parse(value: &[u8]) -> Result<Seal, ArcProblem> {
        let kind = FieldKind::Seal;
        let tags = TagList::parse(value).map_err(|e| ArcProblem::InvalidInstance {
            kind,
            reason: format!("the tag list does not parse: {e}"),
        })?;
        let instance = tag_instance(kind, &tags)?;
        if tags.get("h").is_some() {
            return Err(ArcProblem::SealHasHeaderList { instance });
        }
        if let Some(t) = tags.tags().iter().find(|t| !SEAL_TAGS.contains(&t.name)) {
            return Err(ArcProblem::SealUnknownTag {
                instance,
                tag: t.name.to_owned(),
            });
        }
        let cv = seal_cv(&tags).ok_or_else(|| ArcProblem::Malformed {
            instance,
            kind,
            reason: "cv= is missing or not none, pass or fail".to_owned(),
        })?;
        let common = common(kind, &tags)?;
        Ok(Seal { common, cv })
    }
}

fn seal_cv(tags: &TagList<'_>) -> Option<ArcResult> {
    tags.get("cv")
        .and_then(|v| std::str::from_utf8(trim(v)).ok())
        .and_then(|s| s.parse().ok())
}

/// The `cv=` of an ARC-Seal value, read leniently (for RFC 8617 §5.1 step 2 and §5.2 step 2,
/// which look at the newest seal before anything else is checked).
pub fn cv_of(value: &[u8]) -> Option<ArcResult> {
    TagList::parse(value).ok().and_then(|t| seal_cv(&t))
}

/// The ARC fields of one instance, as found (duplicates kept so they can be reported).
#[derive(Debug, Clone, Default)]
pub struct SetFields<'m> {
    /// ARC-Authentication-Results fields.
    pub aar: Vec<HeaderField<'m>>,
    /// ARC-Message-Signature fields.
    pub ams: Vec<HeaderField<'m>>,
    /// ARC-Seal fields.
    pub seal: Vec<HeaderField<'m>>,
}

impl<'m> SetFields<'m> {
    fn list(&mut self, kind: FieldKind) -> &mut Vec<HeaderField<'m>> {
        match kind {
            FieldKind::Aar => &mut self.aar,
            FieldKind::Ams => &mut self.ams,
            FieldKind::Seal => &mut self.seal,
        }
    }

    /// The fields of one kind.
    pub fn of(&self, kind: FieldKind) -> &[HeaderField<'m>] {
        match kind {
            FieldKind::Aar => &self.aar,
            FieldKind::Ams => &self.ams,
            FieldKind::Seal => &self.seal,
        }
    }
}

/// Every ARC field of a message grouped by instance (RFC 8617 §4.2, §5.2 step 1). Sets are
/// defined by `i=` alone: RFC 8617 does not require a set's fields to be adjacent, so a set
/// whose fields are spread over the header is grouped like any other.
///
/// Fails on the first field that is too long, has no readable instance, or an instance above
/// 50.
pub fn collect_sets<'m>(
    message: &'m Message<'_>,
) -> Result<BTreeMap<u32, SetFields<'m>>, ArcProblem> {
    let mut sets: BTreeMap<u32, SetFields<'m>> = BTreeMap::new();
    let mut first_error = None;
    for field in message.fields() {
        let Some(kind) = field_kind(&field) else {
            continue;
        };
        if field.raw().len() > MAX_FIELD_LEN {
            return Err(ArcProblem::FieldTooLong {
                kind,
                length: field.raw().len(),
                limit: MAX_FIELD_LEN,
            });
        }
        match instance_of(kind, field.value()) {
            Ok(i) => sets.entry(i).or_default().list(kind).push(field),
            // More than 50 sets outranks every other problem (§5.2 step 1).
            Err(e @ ArcProblem::TooManySets { .. }) => return Err(e),
            Err(e) => {
                first_error.get_or_insert(e);
            }
        }
    }
    match first_error {
        Some(e) => Err(e),
        None => Ok(sets),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn aar_instance_and_payload() {
        let v = b" i=2 ;  example.org; arc=pass  ";
        let (i, r) = parse_aar(v).unwrap();
        assert_eq!(i, 2);
        assert_eq!(&v[r], b"example.org; arc=pass");
        assert!(matches!(
            parse_aar(b"i=0; x"),
            Err(ArcProblem::InvalidInstance { .. })
        ));
        assert!(matches!(
            parse_aar(b"i=51; x"),
            Err(ArcProblem::TooManySets { instance: 51 })
        ));
        assert!(matches!(
            parse_aar(b"i=99999999999999999999999; x"),
            Err(ArcProblem::TooManySets { .. })
        ));
        assert!(parse_aar(b"example.org; arc=none").is_err());
        assert!(matches!(
            parse_aar(b"i=1;  "),
            Err(ArcProblem::Malformed { .. })
        ));
    }

    #[test]
    fn seal_refuses_h_and_unknown_tags() {
        let base = "i=1; a=rsa-sha256; cv=none; d=example.org; s=s; t=1; b=AAAA";
        let seal = Seal::parse(base.as_bytes()).unwrap();
        assert_eq!(seal.cv, ArcResult::None);
        assert_eq!(seal.common.instance, 1);
        assert_eq!(
            Seal::parse(format!("{base}; h=from").as_bytes()),
            Err(ArcProblem::SealHasHeaderList { instance: 1 })
        );
        assert_eq!(
            Seal::parse(format!("{base}; x=5").as_bytes()),
            Err(ArcProblem::SealUnknownTag {
                instance: 1,
                tag: "x".to_owned()
            })
        );
        assert!(matches!(
            Seal::parse(b"i=1; a=rsa-sha256; cv=maybe; d=example.org; s=s; b=AAAA"),
            Err(ArcProblem::Malformed { .. })
        ));
    }

    #[test]
    fn ams_ignores_unknown_tags_but_not_arc_fields_in_h() {
        let base = "i=1; a=rsa-sha256; d=example.org; s=s; h=from:to; bh=AAAA; b=AAAA; v=1; zz=9";
        let ams = MessageSignature::parse(base.as_bytes()).unwrap();
        assert_eq!(ams.signed_headers, ["from", "to"]);
        assert_eq!(ams.canonicalization, Canonicalizations::SIMPLE);
        let bad = "i=1; a=rsa-sha256; d=example.org; s=s; h=from:ARC-Seal; bh=AAAA; b=AAAA";
        assert!(matches!(
            MessageSignature::parse(bad.as_bytes()),
            Err(ArcProblem::AmsSignsForbiddenField { .. })
        ));
        let sha1 = "i=1; a=rsa-sha1; d=example.org; s=s; h=from; bh=AAAA; b=AAAA";
        assert!(MessageSignature::parse(sha1.as_bytes()).is_ok());
    }
}
