//! Sealing (RFC 8617 §5.1): adding the next ARC set.

use crate::header::{self, MAX_INSTANCE, collect_sets, field_kind};
use crate::result::{ArcResult, FieldKind};
use crate::validate::canon_field;
use mailstamp_dkim::{
    BodyHashSet, BodyHashSpec, BodySource, Canonicalization, DEFAULT_SIGNED_HEADERS, HashAlgorithm,
    SignError, SigningAlgorithm, SigningKey, key_record_name,
};
use mailstamp_message::Message;

/// What signs a seal: [`SigningKey`] (ring; RSA 2048–4096 bits or Ed25519, the keys and the
/// signing code of DKIM), or a caller's own implementation (a key held elsewhere).
pub trait SealKey {
    /// The algorithm of the signatures: `rsa-sha256` or `ed25519-sha256`.
    fn algorithm(&self) -> SigningAlgorithm;
    /// Signs `data` (canonical header fields) as DKIM does (RFC 6376 §3.7, RFC 8463 §3).
    fn sign(&self, data: &[u8]) -> Result<Vec<u8>, SignError>;
}

impl SealKey for SigningKey {
    fn algorithm(&self) -> SigningAlgorithm {
        SigningKey::algorithm(self)
    }
    fn sign(&self, data: &[u8]) -> Result<Vec<u8>, SignError> {
        SigningKey::sign(self, data)
    }
}

impl<K: SealKey + ?Sized> SealKey for &K {
    fn algorithm(&self) -> SigningAlgorithm {
        (**self).algorithm()
    }
    fn sign(&self, data: &[u8]) -> Result<Vec<u8>, SignError> {
        (**self).sign(data)
    }
}

/// Why a seal could not be made: caller input, hence an `Err`.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum SealError {
    /// The domain or selector does not make a key name, or the key failed.
    #[error(transparent)]
    Sign(#[from] SignError),
    /// The chain status given does not fit the message: `none` with ARC sets present, or
    /// `pass`/`fail` without any (RFC 8617 §5.1 step 4.3: `cv=` is the status determined
    /// during validation).
    #[error("chain status {given} does not fit a message with {instances} ARC set(s)")]
    StatusMismatch {
        /// The status given.
        given: ArcResult,
        /// The newest instance on the message.
        instances: u32,
    },
    /// `pass` was given but the existing sets are not complete (one AAR, AMS and AS per
    /// instance 1..N): only a `fail` chain can be sealed then (RFC 8617 §5.1.2).
    #[error("chain status pass given, but the ARC sets on the message are incomplete: {reason}")]
    IncompleteChain {
        /// What is missing.
        reason: String,
    },
    /// The Authentication-Results payload for the AAR is empty or holds a line break or
    /// control character that is not folding.
    #[error("invalid Authentication-Results payload for the AAR: {reason}")]
    InvalidPayload {
        /// Why.
        reason: String,
    },
    /// A header field name to sign is invalid, or one the AMS must not sign (RFC 8617
    /// §4.1.2).
    #[error("the AMS must not sign {name:?} (RFC 8617 §4.1.2)")]
    ForbiddenHeader {
        /// The name.
        name: String,
    },
    /// The message has no From field; the AMS signs it like a DKIM signature (RFC 6376 §5.4).
    #[error("the message has no From header field (RFC 6376 §5.4)")]
    NoFromField,
    /// Precomputed body hashes ([`BodySource::Hashes`]) lack the one the AMS needs
    /// ([`Sealer::body_hash_spec`]).
    #[error("the relaxed sha256 body hash the AMS needs was not computed")]
    BodyHashNotSupplied,
}

/// Why no set was added: RFC 8617 §5.1 stops without sealing.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(tag = "reason", rename_all = "snake_case")]
pub enum NotSealed {
    /// The newest ARC-Seal already says `cv=fail` (RFC 8617 §5.1 step 2, §5.1.3: a broken
    /// chain cannot be continued).
    ChainAlreadyFailed {
        /// The newest instance.
        instance: u32,
    },
    /// The chain already has 50 sets (RFC 8617 §4.2.1).
    ChainFull,
}

impl std::fmt::Display for NotSealed {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            NotSealed::ChainAlreadyFailed { instance } => write!(
                f,
                "the newest ARC-Seal (i={instance}) says cv=fail; a failed chain is not \
                 continued (RFC 8617 §5.1 step 2)"
            ),
            NotSealed::ChainFull => {
                f.write_str("the chain already has 50 ARC sets (RFC 8617 §4.2.1)")
            }
        }
    }
}

/// A new ARC set: three complete header fields (name, value, folding; no final line ending).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ArcSet {
    /// The instance of the set.
    pub instance: u32,
    /// The `cv=` of its seal.
    pub cv: ArcResult,
    /// `ARC-Authentication-Results: …`.
    pub aar: String,
    /// `ARC-Message-Signature: …`.
    pub ams: String,
    /// `ARC-Seal: …`.
    pub seal: String,
    /// True when the message had bare LF line endings: [`ArcSet::header_bytes`] writes LF.
    pub line_endings_normalized: bool,
}

impl ArcSet {
    /// The three fields, newest-first order as sealers write them (ARC-Seal, then the AMS,
    /// then the AAR), each ending with CRLF (LF for a bare-LF message).
    pub fn header_bytes(&self) -> Vec<u8> {
        let mut out = Vec::new();
        for f in [&self.seal, &self.ams, &self.aar] {
            if self.line_endings_normalized {
                out.extend_from_slice(f.replace("\r\n", "\n").as_bytes());
                out.push(b'\n');
            } else {
                out.extend_from_slice(f.as_bytes());
                out.extend_from_slice(b"\r\n");
            }
        }
        out
    }

    /// The sealed message: the set, then `original` unchanged.
    pub fn prepend_to(&self, original: &[u8]) -> Vec<u8> {
        let mut out = self.header_bytes();
        out.extend_from_slice(original);
        out
    }

    /// The value of the ARC-Seal field (after `ARC-Seal:`).
    pub fn seal_value(&self) -> &str {
        value_of(&self.seal)
    }

    /// The value of the AMS field.
    pub fn ams_value(&self) -> &str {
        value_of(&self.ams)
    }

    /// The value of the AAR field.
    pub fn aar_value(&self) -> &str {
        value_of(&self.aar)
    }
}

fn value_of(field: &str) -> &str {
    field.split_once(':').map_or("", |(_, v)| v.trim_start())
}

/// The outcome of [`Sealer::seal`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SealOutcome {
    /// The new set, to prepend to the message.
    Sealed(ArcSet),
    /// RFC 8617 §5.1 says not to seal.
    NotSealed(NotSealed),
}

/// An ARC sealer: a key, the signing domain (`d=`) and selector (`s=`), and the header fields
/// the AMS signs.
#[derive(Debug)]
pub struct Sealer<K = SigningKey> {
    key: K,
    domain: String,
    selector: String,
    headers: Option<Vec<String>>,
}

/// The AMS header list when none is given: DKIM's default list
/// ([`DEFAULT_SIGNED_HEADERS`]) plus DKIM-Signature (RFC 8617 §4.1.2: "SHOULD include any
/// DKIM-Signature header fields"), each field present signed once per occurrence.
fn default_headers(message: &Message<'_>) -> Vec<String> {
    let mut names: Vec<String> = Vec::new();
    for wanted in DEFAULT_SIGNED_HEADERS
        .iter()
        .copied()
        .chain(["dkim-signature"])
    {
        let count = message.fields().filter(|f| f.is_named(wanted)).count();
        names.extend(std::iter::repeat_n(wanted.to_owned(), count));
    }
    names
}

const FORBIDDEN: &[&str] = &[
    "arc-seal",
    "arc-message-signature",
    "arc-authentication-results",
    "authentication-results",
];

/// Normalises an Authentication-Results payload for the AAR: every whitespace run (folds
/// included) becomes one space; a CR or LF that is not part of a fold, or another control
/// character, is refused so that the payload cannot end the field.
fn clean_payload(payload: &str) -> Result<String, SealError> {
    let bytes = payload.as_bytes();
    let mut out = String::with_capacity(payload.len());
    let mut i = 0;
    let mut space = false;
    while i < bytes.len() {
        let c = bytes[i];
        match c {
            b' ' | b'\t' => space = true,
            b'\r' | b'\n' => {
                let mut j = i;
                if bytes.get(j) == Some(&b'\r') {
                    j += 1;
                }
                if bytes.get(j) == Some(&b'\n') {
                    j += 1;
                }
                let fold = matches!(bytes.get(j), Some(b' ' | b'\t'));
                let end = j >= bytes.len();
                if !fold && !end {
                    return Err(SealError::InvalidPayload {
                        reason: "a line break that is not folding".to_owned(),
                    });
                }
                space = true;
                i = j;
                continue;
            }
            0..=0x1f | 0x7f => {
                return Err(SealError::InvalidPayload {
                    reason: format!("control character 0x{c:02x}"),
                });
            }
            _ => {
                if space && !out.is_empty() {
                    out.push(' ');
                }
                space = false;
                let ch_len = utf8_len(c);
                out.push_str(&payload[i..(i + ch_len).min(payload.len())]);
                i += ch_len;
                continue;
            }
        }
        i += 1;
    }
    let out = out.trim_end_matches([';', ' ']).to_owned();
    if out.is_empty() {
        return Err(SealError::InvalidPayload {
            reason: "empty (it needs at least the authserv-id)".to_owned(),
        });
    }
    Ok(out)
}

fn utf8_len(first: u8) -> usize {
    match first {
        0xf0..=0xff => 4,
        0xe0..=0xef => 3,
        0xc0..=0xdf => 2,
        _ => 1,
    }
}

/// The authres-payload for an AAR from the message's Authentication-Results fields of
/// `authserv_id` (RFC 8617 §4.1.1: "the combined authres-payload with all of the
/// authentication results from within the participating ADMD"): the authserv-id once, then
/// the results of every such field, top to bottom, separated by `; `. `None` when the message
/// has no Authentication-Results field of that authserv-id.
pub fn combined_authres_payload(message: &Message<'_>, authserv_id: &str) -> Option<String> {
    let mut results: Vec<String> = Vec::new();
    let mut found = false;
    for field in message.fields_named("Authentication-Results") {
        let value = String::from_utf8_lossy(field.value());
        let (id, rest) = value.split_once(';').unwrap_or((&value, ""));
        let id = id.split_whitespace().next().unwrap_or("");
        if !id.eq_ignore_ascii_case(authserv_id) {
            continue;
        }
        found = true;
        let rest = rest.split_whitespace().collect::<Vec<_>>().join(" ");
        let rest = rest.trim_end_matches([';', ' ']).trim();
        if !rest.is_empty() {
            results.push(rest.to_owned());
        }
    }
    found.then(|| {
        std::iter::once(authserv_id.to_owned())
            .chain(results)
            .collect::<Vec<_>>()
            .join("; ")
    })
}

/// Writes `Name: tag=value; tag=value…` folding at `; ` (CRLF and one space) so that no line
/// passes 78 columns where a tag allows it. A fold replaces a space, so relaxed canonicalization (the only one
/// ARC-Seal uses, and the one mailstamp's AMS uses) sees the same text folded or not; `b=`
/// values are never broken, so a validator that reads the fields gets the exact text signed.
fn folded(name: &str, parts: &[String]) -> String {
    let mut out = format!("{name}:");
    let mut col = out.len();
    for (idx, part) in parts.iter().enumerate() {
        let piece = if idx + 1 < parts.len() {
            format!("{part};")
        } else {
            part.clone()
        };
        if col + 1 + piece.len() > 78 && idx > 0 {
            // A space, not a tab, starts the continuation: dkimpy's arc_verify finds the AMS
            // of an instance by the text " i=N;" in its raw value.
            out.push_str("\r\n ");
            col = 1;
        } else {
            out.push(' ');
            col += 1;
        }
        out.push_str(&piece);
        col += piece.len();
    }
    out
}

fn b64(data: &[u8]) -> String {
    use base64::Engine as _;
    base64::engine::general_purpose::STANDARD.encode(data)
}

impl<K: SealKey> Sealer<K> {
    /// A sealer for `d=domain`, `s=selector`. The key name must be a valid DNS name.
    pub fn new(key: K, domain: &str, selector: &str) -> Result<Sealer<K>, SealError> {
        key_record_name(selector, domain)?;
        Ok(Sealer {
            key,
            domain: domain.trim_end_matches('.').to_owned(),
            selector: selector.to_owned(),
            headers: None,
        })
    }

    /// The header fields the AMS signs, as its `h=` lists them (each name once per
    /// occurrence to sign). ARC and Authentication-Results fields are refused (RFC 8617
    /// §4.1.2), and From must be among them.
    pub fn with_headers<S: AsRef<str>>(mut self, names: &[S]) -> Result<Sealer<K>, SealError> {
        let mut list = Vec::with_capacity(names.len());
        for n in names {
            let n = n.as_ref().trim();
            let bad_char = n.is_empty()
                || n.bytes()
                    .any(|b| !(b'!'..=b'~').contains(&b) || b == b':' || b == b';');
            if bad_char {
                return Err(SignError::InvalidHeaderName { name: n.to_owned() }.into());
            }
            if FORBIDDEN.contains(&n.to_ascii_lowercase().as_str()) {
                return Err(SealError::ForbiddenHeader { name: n.to_owned() });
            }
            list.push(n.to_owned());
        }
        if !list.iter().any(|n| n.eq_ignore_ascii_case("from")) {
            return Err(SignError::FromNotSigned.into());
        }
        self.headers = Some(list);
        Ok(self)
    }

    /// The signing domain.
    pub fn domain(&self) -> &str {
        &self.domain
    }

    /// The selector.
    pub fn selector(&self) -> &str {
        &self.selector
    }

    /// The key (for checking it against its published record).
    pub fn key(&self) -> &K {
        &self.key
    }

    /// Adds the next ARC set to `message` (RFC 8617 §5.1) at time `now` (`t=`).
    ///
    /// * `chain` is the chain validation status the sealer determined for the message as it
    ///   arrived ([`crate::validate`]); it becomes the seal's `cv=`.
    /// * `authres_payload` is the authserv-id and the results of the sealer's own assessment,
    ///   as in an Authentication-Results field after the colon (RFC 8617 §4.1.1); see
    ///   [`combined_authres_payload`].
    ///
    /// When the newest seal on the message already says `cv=fail`, or the chain has 50 sets,
    /// nothing is sealed ([`SealOutcome::NotSealed`], §5.1 step 2). With `chain` = `fail` the
    /// new seal says `cv=fail` and signs only the new set (§5.1.2).
    pub fn seal(
        &self,
        message: &Message<'_>,
        chain: ArcResult,
        authres_payload: &str,
        now: u64,
    ) -> Result<SealOutcome, SealError> {
        self.seal_with_body(message, chain, authres_payload, now, BodySource::Message)
    }

    /// The body hash the AMS of a new set needs (relaxed, SHA-256, the whole body): what to
    /// register in a [`mailstamp_dkim::BodyHashSet`] before the body streams in.
    pub fn body_hash_spec(&self) -> BodyHashSpec {
        BodyHashSpec {
            canonicalization: Canonicalization::Relaxed,
            algorithm: HashAlgorithm::Sha256,
            limit: None,
        }
    }

    /// [`Sealer::seal`] with the AMS body hash taken from `body`: [`BodySource::Message`]
    /// hashes the message's body (what [`Sealer::seal`] does); [`BodySource::Hashes`] takes
    /// the hash of [`Sealer::body_hash_spec`] computed while the body streamed in, `message`
    /// then holding only the header section. A missing hash is
    /// [`SealError::BodyHashNotSupplied`].
    pub fn seal_with_body(
        &self,
        message: &Message<'_>,
        chain: ArcResult,
        authres_payload: &str,
        now: u64,
        body: BodySource<'_>,
    ) -> Result<SealOutcome, SealError> {
        let payload = clean_payload(authres_payload)?;
        // §5.1 step 2 and 3: the newest instance and its cv=, read leniently (the chain may be
        // broken in any way; only a fail seal can be added then).
        let mut newest: u32 = 0;
        let mut newest_cv_fail = false;
        let mut any_arc = false;
        for f in message.fields() {
            let Some(kind) = field_kind(&f) else { continue };
            any_arc = true;
            let instance = match header::instance_of(kind, f.value()) {
                Ok(i) => i,
                Err(crate::ArcProblem::TooManySets { .. }) => MAX_INSTANCE + 1,
                Err(_) => continue,
            };
            if instance > newest {
                newest = instance;
                newest_cv_fail = false;
            }
            if instance == newest
                && kind == FieldKind::Seal
                && header::cv_of(f.value()) == Some(ArcResult::Fail)
            {
                newest_cv_fail = true;
            }
        }
        if newest_cv_fail {
            return Ok(SealOutcome::NotSealed(NotSealed::ChainAlreadyFailed {
                instance: newest,
            }));
        }
        if newest >= MAX_INSTANCE {
            return Ok(SealOutcome::NotSealed(NotSealed::ChainFull));
        }
        let instance = newest + 1;
        let has_chain = any_arc;
        match (chain, has_chain) {
            (ArcResult::None, false) | (ArcResult::Pass | ArcResult::Fail, true) => {}
            _ => {
                return Err(SealError::StatusMismatch {
                    given: chain,
                    instances: newest,
                });
            }
        }
        if message.fields_named("From").next().is_none() {
            return Err(SealError::NoFromField);
        }
        let relaxed = Canonicalization::Relaxed;
        let algorithm = self.key.algorithm();
        let t = now.to_string();

        // AAR (§4.1.1).
        let aar = format!("ARC-Authentication-Results: i={instance}; {payload}");

        // AMS (§4.1.2): relaxed/relaxed, tags in alphabetical order.
        let names = match &self.headers {
            Some(h) => h.clone(),
            None => default_headers(message),
        };
        let mut bodies = BodyHashSet::new();
        bodies.add(self.body_hash_spec());
        let bh = body
            .resolve(bodies, message)
            .pop()
            .flatten()
            .ok_or(SealError::BodyHashNotSupplied)?;
        let ams_tags = |b: &str| -> Vec<String> {
            vec![
                format!("a={algorithm}"),
                format!("b={b}"),
                format!("bh={}", b64(&bh.digest)),
                "c=relaxed/relaxed".to_owned(),
                format!("d={}", self.domain),
                format!("h={}", names.join(":")),
                format!("i={instance}"),
                format!("s={}", self.selector),
                format!("t={t}"),
            ]
        };
        let mut data = Vec::with_capacity(2048);
        mailstamp_dkim::append_signed_fields(message, &names, relaxed, &mut data);
        canon_field(
            relaxed,
            format!("ARC-Message-Signature: {}", ams_tags("").join("; ")).as_bytes(),
            true,
            &mut data,
        );
        let ams_b = b64(&self.key.sign(&data)?);
        let ams = folded("ARC-Message-Signature", &ams_tags(&ams_b));

        // AS (§4.1.3, §5.1.1, §5.1.2).
        let seal_tags = |b: &str| -> Vec<String> {
            vec![
                format!("a={algorithm}"),
                format!("b={b}"),
                format!("cv={chain}"),
                format!("d={}", self.domain),
                format!("i={instance}"),
                format!("s={}", self.selector),
                format!("t={t}"),
            ]
        };
        let mut data = Vec::with_capacity(4096);
        if chain != ArcResult::Fail && instance > 1 {
            let sets = collect_sets(message).map_err(|p| SealError::IncompleteChain {
                reason: p.to_string(),
            })?;
            for i in 1..instance {
                let set = sets.get(&i).ok_or_else(|| SealError::IncompleteChain {
                    reason: format!("no ARC set i={i}"),
                })?;
                for kind in [FieldKind::Aar, FieldKind::Ams, FieldKind::Seal] {
                    match set.of(kind) {
                        [one] => canon_field(relaxed, one.raw(), false, &mut data),
                        other => {
                            return Err(SealError::IncompleteChain {
                                reason: format!("{} {kind} fields for i={i}", other.len()),
                            });
                        }
                    }
                }
            }
        }
        canon_field(relaxed, aar.as_bytes(), false, &mut data);
        canon_field(relaxed, ams.as_bytes(), false, &mut data);
        canon_field(
            relaxed,
            format!("ARC-Seal: {}", seal_tags("").join("; ")).as_bytes(),
            true,
            &mut data,
        );
        let seal_b = b64(&self.key.sign(&data)?);
        let seal = folded("ARC-Seal", &seal_tags(&seal_b));
        Ok(SealOutcome::Sealed(ArcSet {
            instance,
            cv: chain,
            aar: fold_aar(&aar),
            ams,
            seal,
            line_endings_normalized: message.line_endings_normalized(),
        }))
    }
}

/// Folds an AAR after its `;` separators (the payload is one line after
/// [`clean_payload`]); relaxed canonicalization sees the same text.
fn fold_aar(aar: &str) -> String {
    let mut out = String::with_capacity(aar.len() + 16);
    let mut col = 0;
    for (idx, word) in aar.split(' ').enumerate() {
        if idx > 0 {
            if col + 1 + word.len() > 78 && col > 8 {
                out.push_str("\r\n\t");
                col = 8;
            } else {
                out.push(' ');
                col += 1;
            }
        }
        out.push_str(word);
        col += word.len();
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn payload_cleaning() {
        assert_eq!(
            clean_payload("mx.example;\r\n  spf=pass  smtp.mailfrom=a;\r\n").unwrap(),
            "mx.example; spf=pass smtp.mailfrom=a"
        );
        assert!(clean_payload("mx.example;\r\nX-Evil: 1").is_err());
        assert!(clean_payload("mx\u{0}").is_err());
        assert!(clean_payload("  ").is_err());
        assert_eq!(clean_payload("mx; x=\"jörg\"").unwrap(), "mx; x=\"jörg\"");
    }

    #[test]
    fn folding_keeps_words_whole() {
        let parts: Vec<String> = (0..20).map(|i| format!("t{i}=value{i}")).collect();
        let f = folded("ARC-Seal", &parts);
        for line in f.split("\r\n") {
            assert!(line.len() <= 78, "{line}");
        }
        // Continuation lines start with one space: dkimpy finds " i=N;" in the raw value.
        assert!(f.split("\r\n").skip(1).all(|l| l.starts_with(" t")), "{f}");
        assert_eq!(
            f.replace("\r\n ", " "),
            format!("ARC-Seal: {}", parts.join("; "))
        );
        let a = fold_aar(&format!(
            "ARC-Authentication-Results: i=1; {}",
            "x=y; ".repeat(40)
        ));
        assert!(a.split("\r\n").all(|l| l.len() <= 78));
    }
}
