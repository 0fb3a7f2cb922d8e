//! Signing (RFC 6376 §5) through [`crate::crypto`], several keys in one pass.

use crate::canon::{
    BodyHashSet, BodyHashSpec, BodySource, Canonicalization, Canonicalizations,
    canonicalize_header, canonicalize_header_no_crlf,
};
use crate::key::HashAlgorithm;
use crate::names::{dns_labels, key_record_name};
use crate::sign_error::SignError;
use crate::signature::SigningAlgorithm;
use crate::signing_key::SigningKey;
use mailstamp_dns::Name;
use mailstamp_message::Message;
use serde::Serialize;
use std::fmt;

/// The header fields signed by default: RFC 6376 §5.4.1's list plus the MIME fields,
/// Message-ID and List-Unsubscribe-Post (RFC 8058 §4 requires it to be signed). Only the ones
/// present in the message are signed, each oversigned by default.
pub const DEFAULT_SIGNED_HEADERS: &[&str] = &[
    "from",
    "reply-to",
    "subject",
    "date",
    "to",
    "cc",
    "resent-date",
    "resent-from",
    "resent-to",
    "resent-cc",
    "in-reply-to",
    "references",
    "list-id",
    "list-help",
    "list-unsubscribe",
    "list-unsubscribe-post",
    "list-subscribe",
    "list-post",
    "list-owner",
    "list-archive",
    "message-id",
    "mime-version",
    "content-type",
    "content-transfer-encoding",
];

/// Longest line of a generated DKIM-Signature field, in columns (a folding tab counts as 8).
pub const MAX_LINE_COLUMNS: usize = 78;

/// Which header fields a signature covers.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum HeaderSelection {
    /// [`DEFAULT_SIGNED_HEADERS`] that the message has.
    Default,
    /// These names: each listed once per occurrence in the message (plus once when
    /// oversigning); a name the message lacks is listed once, so that adding it later breaks
    /// the signature.
    Names(Vec<String>),
    /// Exactly this `h=` list, in this order.
    Exact(Vec<String>),
}

/// One key and the parameters of the signature it makes.
#[derive(Debug)]
pub struct Signer {
    key: SigningKey,
    domain: Name,
    selector: String,
    canonicalization: Canonicalizations,
    headers: HeaderSelection,
    oversign: bool,
    expire_after: Option<u64>,
    body_length: bool,
    identity: Option<String>,
}

impl Signer {
    /// A signer for `d=domain`, `s=selector` with the defaults: relaxed/relaxed, the default
    /// header list oversigned, `t=` only.
    pub fn new(key: SigningKey, domain: &str, selector: &str) -> Result<Signer, SignError> {
        key_record_name(selector, domain)?;
        let domain_name =
            dns_labels(domain.as_bytes()).map_err(|reason| SignError::InvalidDomain {
                domain: domain.to_owned(),
                reason,
            })?;
        Ok(Signer {
            key,
            domain: domain_name,
            selector: selector.to_owned(),
            canonicalization: Canonicalizations::RELAXED,
            headers: HeaderSelection::Default,
            oversign: true,
            expire_after: None,
            body_length: false,
            identity: None,
        })
    }

    /// Sets the canonicalizations (`c=`).
    pub fn with_canonicalization(mut self, c: Canonicalizations) -> Signer {
        self.canonicalization = c;
        self
    }

    /// Sets which header fields are signed.
    pub fn with_headers(mut self, headers: HeaderSelection) -> Signer {
        self.headers = headers;
        self
    }

    /// Turns oversigning on or off (on by default): an oversigned name is listed once more in
    /// `h=` than the message has it, so the field cannot be added later (RFC 6376 §8.15).
    pub fn with_oversigning(mut self, oversign: bool) -> Signer {
        self.oversign = oversign;
        self
    }

    /// Adds `x=` this many seconds after `t=`.
    pub fn with_expiry(mut self, seconds: u64) -> Signer {
        self.expire_after = Some(seconds);
        self
    }

    /// Adds `l=` with the canonical body length. RFC 6376 §8.2 explains the risk: content
    /// appended below the signed body keeps the signature valid.
    pub fn with_body_length(mut self, on: bool) -> Signer {
        self.body_length = on;
        self
    }

    /// Adds `i=` (an address at or below the signing domain; `@domain` form allowed).
    pub fn with_identity(mut self, identity: &str) -> Result<Signer, SignError> {
        let bad = || SignError::InvalidIdentity {
            identity: identity.to_owned(),
        };
        let (local, dom) = identity.rsplit_once('@').ok_or_else(bad)?;
        if local
            .bytes()
            .any(|b| b <= b' ' || b == b';' || b == b'=' || b >= 0x7f)
        {
            return Err(bad());
        }
        let dom = dns_labels(dom.as_bytes()).map_err(|_| bad())?;
        if !dom.is_subdomain_of(&self.domain) {
            return Err(bad());
        }
        self.identity = Some(format!("{local}@{dom}"));
        Ok(self)
    }

    /// The key.
    pub fn key(&self) -> &SigningKey {
        &self.key
    }

    /// The signing domain (`d=`).
    pub fn domain(&self) -> &Name {
        &self.domain
    }

    /// The selector (`s=`).
    pub fn selector(&self) -> &str {
        &self.selector
    }

    /// The body hash this signer's signature needs (its body canonicalization, SHA-256, the
    /// whole body): what to register in a [`crate::BodyHashSet`] before the body streams in.
    pub fn body_hash_spec(&self) -> BodyHashSpec {
        BodyHashSpec {
            canonicalization: self.canonicalization.body,
            algorithm: HashAlgorithm::Sha256,
            limit: None,
        }
    }

    /// The `h=` list for `message`.
    pub fn header_list(&self, message: &Message<'_>) -> Result<Vec<String>, SignError> {
        let count = |name: &str| message.fields_named(name).count();
        let list: Vec<String> = match &self.headers {
            HeaderSelection::Exact(names) => names.clone(),
            HeaderSelection::Default => {
                let mut out = Vec::new();
                for name in DEFAULT_SIGNED_HEADERS {
                    let n = count(name);
                    if n > 0 {
                        let times = n + usize::from(self.oversign);
                        out.extend(std::iter::repeat_n((*name).to_owned(), times));
                    }
                }
                out
            }
            HeaderSelection::Names(names) => {
                let mut out: Vec<String> = Vec::new();
                let mut seen: Vec<String> = Vec::new();
                for name in names {
                    let lower = name.trim().to_ascii_lowercase();
                    if seen.contains(&lower) {
                        continue;
                    }
                    let n = count(&lower);
                    let times = if n == 0 {
                        1
                    } else {
                        n + usize::from(self.oversign)
                    };
                    out.extend(std::iter::repeat_n(lower.clone(), times));
                    seen.push(lower);
                }
                out
            }
        };
        if let Some(bad) = list
            .iter()
            .find(|n| n.is_empty() || !n.bytes().all(|b| (33..=126).contains(&b) && b != b':'))
        {
            return Err(SignError::InvalidHeaderName { name: bad.clone() });
        }
        if !list.iter().any(|n| n.eq_ignore_ascii_case("from")) {
            return Err(SignError::FromNotSigned);
        }
        Ok(list)
    }
}

/// Something the caller should tell the user about a signature that was made.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
#[non_exhaustive]
pub enum SignWarning {
    /// `l=` was added: anyone can append content below the signed body without breaking the
    /// signature (RFC 6376 §8.2).
    BodyLength {
        /// Index of the signature in [`SignedFields::fields`].
        signature: usize,
    },
}

impl fmt::Display for SignWarning {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            SignWarning::BodyLength { .. } => f.write_str(
                "l= lets anyone append content below the signed body without breaking the \
                 signature (RFC 6376 §8.2); use it only if a mailing list must add a footer",
            ),
        }
    }
}

/// One generated DKIM-Signature field.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct SignatureField {
    /// The whole field, `DKIM-Signature: ...`, folded with CRLF + TAB at ≤ 78 columns, without
    /// a final line ending.
    pub text: String,
    /// `d=`.
    pub domain: String,
    /// `s=`.
    pub selector: String,
    /// `a=`.
    pub algorithm: SigningAlgorithm,
    /// `h=`.
    pub signed_headers: Vec<String>,
    /// `l=`, when added.
    pub body_length: Option<u64>,
}

/// The output of [`sign`]: the field(s) to prepend to the message.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct SignedFields {
    /// One field per signer, in signer order (the first goes on top).
    pub fields: Vec<SignatureField>,
    /// Things to tell the user.
    pub warnings: Vec<SignWarning>,
    /// The message had bare LF line endings: [`SignedFields::header_bytes`] and
    /// [`SignedFields::prepend_to`] then write LF too, so the file keeps one convention.
    pub line_endings_normalized: bool,
}

impl SignedFields {
    /// The fields, each ending with a line ending (CRLF, or LF for a bare-LF message).
    pub fn header_bytes(&self) -> Vec<u8> {
        let mut out = Vec::new();
        for f in &self.fields {
            if self.line_endings_normalized {
                out.extend_from_slice(f.text.replace("\r\n", "\n").as_bytes());
                out.push(b'\n');
            } else {
                out.extend_from_slice(f.text.as_bytes());
                out.extend_from_slice(b"\r\n");
            }
        }
        out
    }

    /// The signed message: the fields, then `original` unchanged, byte for byte.
    pub fn prepend_to(&self, original: &[u8]) -> Vec<u8> {
        let mut out = self.header_bytes();
        out.extend_from_slice(original);
        out
    }
}

/// Builds a folded header field, keeping every line within [`MAX_LINE_COLUMNS`].
struct Folder {
    text: String,
    col: usize,
}

const FOLD: &str = "\r\n\t";
const FOLD_COLS: usize = 8;

impl Folder {
    fn new(start: &str) -> Folder {
        Folder {
            text: start.to_owned(),
            col: start.len(),
        }
    }

    /// Appends an unbreakable word, preceded by a space (or a fold when it does not fit).
    fn word(&mut self, w: &str, space: bool) {
        let need = w.len() + usize::from(space);
        if self.col + need > MAX_LINE_COLUMNS && self.col > FOLD_COLS {
            self.text.push_str(FOLD);
            self.col = FOLD_COLS;
        } else if space {
            self.text.push(' ');
            self.col += 1;
        }
        self.text.push_str(w);
        self.col += w.len();
    }

    /// Appends text that may be broken anywhere (base64).
    fn breakable(&mut self, mut s: &str) {
        while !s.is_empty() {
            let room = MAX_LINE_COLUMNS.saturating_sub(self.col);
            if room == 0 {
                self.text.push_str(FOLD);
                self.col = FOLD_COLS;
                continue;
            }
            let take = room.min(s.len());
            let (head, tail) = s.split_at(take);
            self.text.push_str(head);
            self.col += take;
            s = tail;
        }
    }
}

/// Appends the canonical form of the fields named in `names` (an `h=` list: a
/// [`HeaderNames`](crate::HeaderNames), or any strings), each occurrence
/// taken bottom-up (RFC 6376 §5.4.2), each with its CRLF: the header part of the data a DKIM
/// (or ARC-Message-Signature, RFC 8617 §4.1.2) signature covers.
pub fn append_signed_fields<N: AsRef<str>>(
    message: &Message<'_>,
    names: impl IntoIterator<Item = N>,
    canon: Canonicalization,
    out: &mut Vec<u8>,
) {
    // Which fields are taken; on the stack for the usual header of fewer than 128 fields.
    let mut small = [false; 128];
    let mut large = Vec::new();
    let used: &mut [bool] = match small.get_mut(..message.field_count()) {
        Some(used) => used,
        None => {
            large.resize(message.field_count(), false);
            &mut large
        }
    };
    for name in names {
        let name = name.as_ref();
        if let Some(f) = message
            .fields()
            .rev()
            .find(|f| !used[f.index()] && f.is_named(name))
        {
            used[f.index()] = true;
            canonicalize_header(canon, f.raw(), out);
        }
    }
}

/// Signs `message` with every signer in one pass over the body (each distinct body
/// canonicalization is hashed once), `now` being the signing time (`t=`) in Unix seconds.
///
/// The message itself is not changed: prepend the returned fields
/// ([`SignedFields::prepend_to`]).
///
/// ```
/// use mailstamp_dkim::{Policy, SigningKey, Signer, sign, verify, DkimResult};
/// use mailstamp_dns::{Zone, resolve_sync};
/// use mailstamp_message::Message;
///
/// // RFC 8032 §7.1 test 1 seed (the RFC 8463 example key)
/// let seed = [0x9d, 0x61, 0xb1, 0x9d, 0xef, 0xfd, 0x5a, 0x60, 0xba, 0x84, 0x4a, 0xf4, 0x92,
///     0xec, 0x2c, 0xc4, 0x44, 0x49, 0xc5, 0x69, 0x7b, 0x32, 0x69, 0x19, 0x70, 0x3b, 0xac, 0x03,
///     0x1c, 0xae, 0x7f, 0x60];
/// let key = SigningKey::from_ed25519_seed(&seed).unwrap();
/// let signer = Signer::new(key, "example.com", "sel").unwrap();
/// let raw = b"From: a@example.com\r\nSubject: hi\r\n\r\nHello\r\n";
/// let signed = sign(&Message::parse(raw), &[signer], 1_700_000_000).unwrap();
/// let out = signed.prepend_to(raw);
/// assert!(out.ends_with(raw));
///
/// let mut zone = Zone::new();
/// let name = mailstamp_dkim::key_record_name("sel", "example.com").unwrap();
/// zone.add_txt(&name, ["v=DKIM1; k=ed25519; p=11qYAYKxCrfVS/7TyWQHOg7hcvPapiMlrwIaaPcHURo="]);
/// let report = resolve_sync(verify(&Message::parse(&out), &Policy::default(), 1_700_000_000), &zone);
/// assert_eq!(report.result(), DkimResult::Pass);
/// ```
pub fn sign(
    message: &Message<'_>,
    signers: &[Signer],
    now: u64,
) -> Result<SignedFields, SignError> {
    sign_with_body(message, signers, now, BodySource::Message)
}

/// [`sign`] with the body hashes taken from `body`: [`BodySource::Message`] hashes the
/// message's body (what [`sign`] does); [`BodySource::Hashes`] takes hashes computed while
/// the body streamed in ([`Signer::body_hash_spec`] says which), `message` then holding only
/// the header section. A missing hash is [`SignError::BodyHashNotSupplied`].
///
/// ```
/// use mailstamp_dkim::{BodyHashSet, BodySource, SigningKey, Signer, sign, sign_with_body};
/// use mailstamp_message::Message;
///
/// let key = || SigningKey::from_ed25519_seed(&[7; 32]).unwrap();
/// let signer = Signer::new(key(), "example.com", "sel").unwrap();
/// let mut set = BodyHashSet::new();
/// set.add(signer.body_hash_spec());
/// set.update(b"Hello\r\n");
/// let hashes = set.finish_hashes();
/// let header = b"From: a@example.com\r\nSubject: hi\r\n\r\n";
/// let streamed = sign_with_body(&Message::parse(header), &[signer], 1, BodySource::Hashes(&hashes)).unwrap();
/// let signer = Signer::new(key(), "example.com", "sel").unwrap();
/// let whole = sign(&Message::parse(b"From: a@example.com\r\nSubject: hi\r\n\r\nHello\r\n"), &[signer], 1).unwrap();
/// assert_eq!(streamed.fields[0].text, whole.fields[0].text);
/// ```
pub fn sign_with_body(
    message: &Message<'_>,
    signers: &[Signer],
    now: u64,
    body: BodySource<'_>,
) -> Result<SignedFields, SignError> {
    if signers.is_empty() {
        return Err(SignError::NoSigners);
    }
    if message.fields_named("from").next().is_none() {
        return Err(SignError::NoFromField);
    }
    let lists = signers
        .iter()
        .map(|s| s.header_list(message))
        .collect::<Result<Vec<_>, _>>()?;
    let mut bodies = BodyHashSet::new();
    let ids: Vec<usize> = signers
        .iter()
        .map(|s| bodies.add(s.body_hash_spec()))
        .collect();
    let hashes = body.resolve(bodies, message);

    use base64::Engine as _;
    let b64 = base64::engine::general_purpose::STANDARD;
    let mut fields = Vec::with_capacity(signers.len());
    let mut warnings = Vec::new();
    for (i, (signer, names)) in signers.iter().zip(lists).enumerate() {
        let Some(body) = hashes.get(ids[i]).and_then(Option::as_ref) else {
            let spec = signer.body_hash_spec();
            return Err(SignError::BodyHashNotSupplied {
                spec: format!("{} {}", spec.canonicalization, spec.algorithm.as_str()),
            });
        };
        let algorithm = signer.key.algorithm();
        let body_length = signer.body_length.then_some(body.canonical_length);
        let mut f = Folder::new("DKIM-Signature:");
        f.word("v=1;", true);
        f.word(&format!("a={algorithm};"), true);
        f.word(&format!("c={};", signer.canonicalization), true);
        f.word(&format!("d={};", signer.domain), true);
        f.word(&format!("s={};", signer.selector), true);
        if let Some(id) = &signer.identity {
            f.word(&format!("i={id};"), true);
        }
        f.word(&format!("t={now};"), true);
        if let Some(exp) = signer.expire_after {
            f.word(&format!("x={};", now.saturating_add(exp)), true);
        }
        if let Some(l) = body_length {
            f.word(&format!("l={l};"), true);
            warnings.push(SignWarning::BodyLength { signature: i });
        }
        for (k, name) in names.iter().enumerate() {
            let piece = match (k == 0, k + 1 == names.len()) {
                (true, true) => format!("h={name};"),
                (true, false) => format!("h={name}:"),
                (false, true) => format!("{name};"),
                (false, false) => format!("{name}:"),
            };
            f.word(&piece, k == 0);
        }
        f.word(&format!("bh={};", b64.encode(&body.digest)), true);
        f.word("b=", true);

        let canon = signer.canonicalization.header;
        let mut data = Vec::with_capacity(1024);
        append_signed_fields(message, &names, canon, &mut data);
        canonicalize_header_no_crlf(canon, f.text.as_bytes(), &mut data);
        let signature = signer.key.sign(&data)?;
        f.breakable(&b64.encode(&signature));
        fields.push(SignatureField {
            text: f.text,
            domain: signer.domain.to_string(),
            selector: signer.selector.clone(),
            algorithm,
            signed_headers: names,
            body_length,
        });
    }
    Ok(SignedFields {
        fields,
        warnings,
        line_endings_normalized: message.line_endings_normalized(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    pub(crate) const SEED: [u8; 32] = [
        0x9d, 0x61, 0xb1, 0x9d, 0xef, 0xfd, 0x5a, 0x60, 0xba, 0x84, 0x4a, 0xf4, 0x92, 0xec, 0x2c,
        0xc4, 0x44, 0x49, 0xc5, 0x69, 0x7b, 0x32, 0x69, 0x19, 0x70, 0x3b, 0xac, 0x03, 0x1c, 0xae,
        0x7f, 0x60,
    ];

    fn signer() -> Signer {
        Signer::new(
            SigningKey::from_ed25519_seed(&SEED).unwrap(),
            "example.com",
            "sel",
        )
        .unwrap()
    }

    #[test]
    fn rfc6376_5_4_1_default_headers_oversigned() {
        let m = Message::parse(
            b"From: a@example.com\r\nTo: b@x\r\nTo: c@x\r\nX-Other: 1\r\nReceived: x\r\n\r\n",
        );
        let list = signer().header_list(&m).unwrap();
        assert_eq!(list, ["from", "from", "to", "to", "to"]);
        let list = signer().with_oversigning(false).header_list(&m).unwrap();
        assert_eq!(list, ["from", "to", "to"]);
        let list = signer()
            .with_headers(HeaderSelection::Names(vec![
                "From".into(),
                "X-Other".into(),
                "Reply-To".into(),
            ]))
            .header_list(&m)
            .unwrap();
        assert_eq!(list, ["from", "from", "x-other", "x-other", "reply-to"]);
        let e = signer()
            .with_headers(HeaderSelection::Exact(vec!["to".into()]))
            .header_list(&m)
            .unwrap_err();
        assert_eq!(e, SignError::FromNotSigned);
    }

    #[test]
    fn rfc6376_5_4_no_from_refused() {
        let m = Message::parse(b"To: b@x\r\n\r\nbody\r\n");
        assert_eq!(
            sign(&m, &[signer()], 1).unwrap_err(),
            SignError::NoFromField
        );
        assert_eq!(sign(&m, &[], 1).unwrap_err(), SignError::NoSigners);
    }

    #[test]
    fn field_is_folded_within_78_columns() {
        let m = Message::parse(b"From: a@example.com\r\nTo: b@x\r\nSubject: s\r\nDate: d\r\nMessage-ID: <x@y>\r\nMIME-Version: 1.0\r\nContent-Type: text/plain\r\n\r\nbody\r\n");
        let out = sign(
            &m,
            &[signer().with_expiry(3600).with_body_length(true)],
            1_700_000_000,
        )
        .unwrap();
        let text = &out.fields[0].text;
        for line in text.split("\r\n") {
            let cols = line.len()
                + if line.starts_with('\t') {
                    FOLD_COLS - 1
                } else {
                    0
                };
            assert!(cols <= MAX_LINE_COLUMNS, "{cols}: {line:?}");
        }
        assert!(text.contains("x=1700003600;"));
        assert!(text.contains("t=1700000000;"));
        assert!(text.contains("l=6;"));
        assert_eq!(out.warnings, [SignWarning::BodyLength { signature: 0 }]);
        assert!(crate::Signature::parse(text.split_once(':').unwrap().1.as_bytes()).is_ok());
    }

    #[test]
    fn signer_validates_its_parameters() {
        let key = || SigningKey::from_ed25519_seed(&SEED).unwrap();
        assert!(matches!(
            Signer::new(key(), "bad domain", "s"),
            Err(SignError::InvalidDomain { .. })
        ));
        assert!(matches!(
            Signer::new(key(), "example.com", "a;b"),
            Err(SignError::InvalidSelector { .. })
        ));
        assert!(signer().with_identity("joe@sub.example.com").is_ok());
        assert!(signer().with_identity("@example.com").is_ok());
        assert!(signer().with_identity("joe@example.org").is_err());
    }
}
