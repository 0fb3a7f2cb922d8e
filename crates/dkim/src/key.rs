//! DKIM key records (RFC 6376 §3.6.1, RFC 8463 §4) and their public keys.

use crate::asn1;
use crate::tag::{Tag, TagIter, TagList, TagListError, duplicate, is_fws, same_name};
use serde::Serialize;
use std::collections::HashMap;
use std::fmt;
use std::sync::Arc;

/// Key type (`k=` of a key record, RFC 6376 §3.6.1; RFC 8463 §4 adds `ed25519`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum KeyType {
    /// RSA (`k=rsa`, the default).
    Rsa,
    /// Ed25519 (`k=ed25519`, RFC 8463).
    Ed25519,
}

impl KeyType {
    /// The `k=` token.
    pub fn as_str(self) -> &'static str {
        match self {
            KeyType::Rsa => "rsa",
            KeyType::Ed25519 => "ed25519",
        }
    }
}

impl fmt::Display for KeyType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Hash algorithm of a signature (the part of `a=` after the dash, RFC 6376 §3.3).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum HashAlgorithm {
    /// SHA-256 (RFC 6376 §3.3.2).
    Sha256,
    /// SHA-1: never a pass unless explicitly allowed (RFC 8301 §3.1).
    Sha1,
}

impl HashAlgorithm {
    /// The length of a digest, in bytes (32 for SHA-256, 20 for SHA-1).
    pub fn digest_len(self) -> usize {
        match self {
            HashAlgorithm::Sha256 => 32,
            HashAlgorithm::Sha1 => 20,
        }
    }

    /// The token used in `a=` and in a key record's `h=`.
    pub fn as_str(self) -> &'static str {
        match self {
            HashAlgorithm::Sha256 => "sha256",
            HashAlgorithm::Sha1 => "sha1",
        }
    }
}

/// Why a key record cannot be used (RFC 6376 §3.6.1 and §6.1.2).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, thiserror::Error)]
#[serde(tag = "kind", rename_all = "snake_case")]
#[non_exhaustive]
pub enum KeyRecordError {
    /// The record is not a valid tag list (RFC 6376 §3.2).
    #[error("key record syntax error: {error}")]
    Syntax {
        /// The tag-list error, with its byte offset.
        error: TagListError,
    },
    /// `v=` is present but is not `DKIM1` (RFC 6376 §3.6.1).
    #[error("key record has v={found:?} at byte {offset}; only v=DKIM1 is defined")]
    IncompatibleVersion {
        /// The value found.
        found: String,
        /// Byte offset of the value.
        offset: usize,
    },
    /// The required `p=` tag is missing (RFC 6376 §3.6.1).
    #[error("key record has no p= tag (the public key is required)")]
    MissingPublicKey,
    /// `k=` names a key type this verifier does not know (RFC 6376 §3.6.1, §6.1.2 step 6).
    #[error("key record has k={found:?} at byte {offset}; only rsa and ed25519 are defined")]
    UnknownKeyType {
        /// The value found.
        found: String,
        /// Byte offset of the value.
        offset: usize,
    },
    /// `p=` is not valid base64 (RFC 6376 §3.6.1).
    #[error("p= is not valid base64 (byte {offset})")]
    InvalidBase64 {
        /// Byte offset of the first bad character in the record.
        offset: usize,
    },
    /// `p=` decodes, but not to a key of the declared type (RFC 6376 §3.6.1, RFC 8463 §4).
    #[error("p= is not a usable {key_type} key: {reason}")]
    InvalidKey {
        /// The declared key type.
        key_type: KeyType,
        /// What is wrong.
        reason: String,
    },
}

/// A public key from a key record: what the signature check needs, parsed once.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PublicKey {
    material: Material,
}

/// The key. Small, so that a [`KeyRecord`] (and its `Result`) is moved in a few registers'
/// worth of copies rather than by a `memmove` call: the RSA variant keeps only the DER and
/// reads its numbers again when they are needed (a few dozen instructions, against the
/// signature check's hundreds of thousands).
#[derive(Debug, Clone)]
enum Material {
    /// The DER the key was read from, a SubjectPublicKeyInfo or a bare RSAPublicKey (decoded
    /// once from `p=` and kept whole, so that reading a key record allocates once; its modulus
    /// and exponent are read again by [`rsa_numbers`]), and what the signature backend keeps
    /// for it (made on first use, [`crate::crypto`]).
    Rsa(Vec<u8>, crate::crypto::Prepared),
    /// The raw 32-byte key, and what the signature backend keeps for it (made on first use,
    /// [`crate::crypto`]).
    Ed25519([u8; 32], crate::crypto::Ed25519Kept),
}

/// Two keys are equal when their components are: an RSA key read from a SubjectPublicKeyInfo
/// equals the same key read from a bare RSAPublicKey.
impl PartialEq for Material {
    fn eq(&self, other: &Material) -> bool {
        match (self, other) {
            (Material::Rsa(a, _), Material::Rsa(b, _)) => {
                rsa_numbers(a).ok() == rsa_numbers(b).ok()
            }
            (Material::Ed25519(a, _), Material::Ed25519(b, _)) => a == b,
            _ => false,
        }
    }
}

impl Eq for Material {}

/// An RSA key's modulus and exponent, big-endian, without leading zeros.
type RsaNumbers<'a> = (&'a [u8], &'a [u8]);

/// The modulus and exponent (big-endian, without leading zeros) of an RSA key's DER: a
/// SubjectPublicKeyInfo of rsaEncryption or a bare RSAPublicKey (both occur in the wild), or
/// why the DER is neither. The usual form is read by [`asn1::rsa_spki_usual`], inlined here.
#[inline(always)]
fn rsa_numbers(der: &[u8]) -> Result<RsaNumbers<'_>, String> {
    match asn1::rsa_spki_usual(der) {
        Some(n_e) => Ok(n_e),
        None => rsa_numbers_in_full(der),
    }
}

/// [`rsa_numbers`] for any other form, through the `der` crate's readers.
#[cold]
#[inline(never)]
fn rsa_numbers_in_full(der: &[u8]) -> Result<RsaNumbers<'_>, String> {
    let rsa = match asn1::spki(der) {
        Some((oid, key)) if oid == asn1::OID_RSA_ENCRYPTION => key,
        Some((oid, _)) => {
            return Err(format!(
                "the SubjectPublicKeyInfo holds {} key",
                asn1::oid_name(oid)
            ));
        }
        None => der,
    };
    asn1::rsa_public_key(rsa).ok_or_else(|| {
        "neither a SubjectPublicKeyInfo nor an RSAPublicKey (DER) structure".to_owned()
    })
}

impl PublicKey {
    /// Parses the DER key of a `p=` tag: for RSA a SubjectPublicKeyInfo or a bare
    /// RSAPublicKey (both occur in the wild); for Ed25519 the raw 32-byte key (RFC 8463 §4).
    pub fn from_der(key_type: KeyType, der_bytes: &[u8]) -> Result<PublicKey, KeyRecordError> {
        match key_type {
            KeyType::Rsa => PublicKey::rsa_from_der(der_bytes.to_vec()),
            KeyType::Ed25519 => PublicKey::ed25519_from_bytes(der_bytes),
        }
    }

    /// An RSA key from DER it keeps (see [`PublicKey::from_der`]). Inlined: its result,
    /// returned through memory, was written in words and read back in wider loads, which
    /// stalled (no store forwarding).
    #[inline(always)]
    fn rsa_from_der(der_bytes: Vec<u8>) -> Result<PublicKey, KeyRecordError> {
        if let Err(reason) = rsa_numbers(&der_bytes) {
            return Err(KeyRecordError::InvalidKey {
                key_type: KeyType::Rsa,
                reason,
            });
        }
        Ok(PublicKey {
            material: Material::Rsa(der_bytes, crate::crypto::Prepared::default()),
        })
    }

    /// An Ed25519 key from the bytes of `p=`: exactly the raw 32-byte key (RFC 8463 §4).
    fn ed25519_from_bytes(der_bytes: &[u8]) -> Result<PublicKey, KeyRecordError> {
        let invalid = |reason: String| KeyRecordError::InvalidKey {
            key_type: KeyType::Ed25519,
            reason,
        };
        match <[u8; 32]>::try_from(der_bytes) {
            Ok(raw) => Ok(PublicKey::from_ed25519_raw(raw)),
            Err(_) if asn1::spki(der_bytes).is_some() => Err(invalid(
                "an Ed25519 key must be published as the raw 32-byte key (RFC 8463 §4), \
                 not wrapped in a SubjectPublicKeyInfo"
                    .to_owned(),
            )),
            Err(_) => Err(invalid(format!(
                "an Ed25519 key is 32 bytes, this one is {}",
                der_bytes.len()
            ))),
        }
    }

    /// Decodes the base64 `p=` value (not empty) of a key record of `key_type` and parses the
    /// key. `Err(Ok(index))` for invalid base64 at `index` of `value`. Inlined, as
    /// [`PublicKey::rsa_from_der`] is.
    #[inline(always)]
    fn from_base64(
        key_type: KeyType,
        value: &[u8],
    ) -> Result<PublicKey, Result<usize, KeyRecordError>> {
        match key_type {
            KeyType::Rsa => {
                let der_bytes = crate::b64::decode_usually_strict(value).map_err(Ok)?;
                PublicKey::rsa_from_der(der_bytes).map_err(Err)
            }
            KeyType::Ed25519 => {
                let mut short = [0u8; 48];
                if let Some(bytes) = crate::b64::decode_strict_short(value, &mut short) {
                    // The usual key made here, where it is built in place: through
                    // `ed25519_from_bytes`, the key came back through memory and was read
                    // back in wider loads than it was written with (no store forwarding).
                    if let Ok(raw) = <[u8; 32]>::try_from(bytes) {
                        return Ok(PublicKey::from_ed25519_raw(raw));
                    }
                    return PublicKey::ed25519_from_bytes(bytes).map_err(Err);
                }
                let bytes = crate::b64::decode(value).map_err(Ok)?;
                PublicKey::ed25519_from_bytes(&bytes).map_err(Err)
            }
        }
    }

    /// An Ed25519 key from its raw 32 bytes.
    #[inline]
    pub(crate) fn from_ed25519_raw(raw: [u8; 32]) -> PublicKey {
        PublicKey {
            material: Material::Ed25519(raw, Default::default()),
        }
    }

    /// The key type.
    pub fn key_type(&self) -> KeyType {
        match self.material {
            Material::Rsa(..) => KeyType::Rsa,
            Material::Ed25519(..) => KeyType::Ed25519,
        }
    }

    /// Key size in bits: the RSA modulus length, or 256 for Ed25519.
    pub fn bits(&self) -> usize {
        match &self.material {
            Material::Rsa(der, _) => rsa_numbers(der).map_or(0, |(n, _)| asn1::bit_len(n)),
            Material::Ed25519(..) => 256,
        }
    }

    /// RSA modulus and exponent.
    #[cfg(test)]
    pub(crate) fn rsa_components(&self) -> Option<RsaNumbers<'_>> {
        self.rsa_parts().map(|(n_e, _)| n_e)
    }

    /// RSA modulus and exponent, and what the signature backend keeps for the key.
    pub(crate) fn rsa_parts(&self) -> Option<(RsaNumbers<'_>, &crate::crypto::Prepared)> {
        match &self.material {
            // Read when the key was made: `None` only for an Ed25519 key.
            Material::Rsa(der, prepared) => rsa_numbers(der).ok().map(|n_e| (n_e, prepared)),
            Material::Ed25519(..) => None,
        }
    }

    /// The raw Ed25519 key, and what the signature backend keeps for it.
    pub(crate) fn ed25519_kept(&self) -> Option<(&[u8; 32], &crate::crypto::Ed25519Kept)> {
        match &self.material {
            Material::Ed25519(k, kept) => Some((k, kept)),
            Material::Rsa(..) => None,
        }
    }

    /// The bytes a key record's `p=` carries for this key: SubjectPublicKeyInfo DER for RSA,
    /// the raw key for Ed25519.
    pub fn to_record_der(&self) -> Vec<u8> {
        match &self.material {
            Material::Rsa(der, _) => rsa_numbers(der)
                .ok()
                .and_then(|(n, e)| asn1::rsa_spki(n, e))
                .unwrap_or_default(),
            Material::Ed25519(k, _) => k.to_vec(),
        }
    }
}

/// Key record flags (`t=`, RFC 6376 §3.6.1).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct KeyFlags {
    /// `t=y`: the domain is testing DKIM; verifiers must not treat signed mail differently
    /// from unsigned mail. Reported in verdicts.
    pub testing: bool,
    /// `t=s`: the `i=` domain of signatures must equal `d=` exactly (no subdomains).
    pub strict: bool,
}

/// A parsed DKIM key record (the TXT record at `<selector>._domainkey.<domain>`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KeyRecord {
    /// `k=` (default `rsa`).
    pub key_type: KeyType,
    /// `p=` decoded; `None` when `p=` is empty: the key is revoked.
    pub public_key: Option<PublicKey>,
    /// `h=`: the hash algorithms the key may be used with, as listed (lower case); `None`
    /// when absent (all allowed).
    pub hash_algorithms: Option<Vec<String>>,
    /// `s=`: service types (lower case); `None` when absent (`*`).
    pub service_types: Option<Vec<String>>,
    /// `t=` flags.
    pub flags: KeyFlags,
    /// `n=` notes, if any (for humans only).
    pub notes: Option<String>,
}

fn colon_list(value: &[u8]) -> Vec<String> {
    value
        .split(|&b| b == b':')
        .map(|item| {
            String::from_utf8_lossy(item)
                .trim_matches(|c: char| is_fws(c as u8) && c.is_ascii())
                .to_ascii_lowercase()
        })
        .filter(|s| !s.is_empty())
        .collect()
}

/// The tags of a key record (RFC 6376 §3.6.1), read in one pass without collecting the list.
#[derive(Default)]
struct KeyTags<'a> {
    v: Option<Value<'a>>,
    k: Option<Value<'a>>,
    p: Option<Value<'a>>,
    t: Option<Value<'a>>,
    h: Option<Value<'a>>,
    s: Option<Value<'a>>,
    n: Option<Value<'a>>,
}

/// What a key record keeps of a tag: its value and where the value starts.
#[derive(Clone, Copy)]
struct Value<'a> {
    value: &'a [u8],
    value_offset: usize,
}

impl<'a> KeyTags<'a> {
    /// Reads the tag list as [`TagList::parse`] does (the same errors, duplicates included).
    /// A tag the record knows is a duplicate when its slot is already taken; the names of
    /// other tags are kept on the stack to be compared, and a record of more such tags than
    /// that is read through [`TagList::parse`]. With `unchecked_p`, the value of a plain
    /// `p=` is not checked for refused bytes (see [`TagIter`]).
    fn parse(txt: &'a [u8], unchecked_p: bool) -> Result<KeyTags<'a>, TagListError> {
        match unchecked_p {
            true => KeyTags::read(TagIter::<b'p'>::new(txt), txt),
            false => KeyTags::read(TagIter::<0>::new(txt), txt),
        }
    }

    /// [`KeyTags::parse`] with the given iterator over `txt`.
    #[inline(always)]
    fn read<const UNCHECKED: u8>(
        mut iter: TagIter<'a, UNCHECKED>,
        txt: &'a [u8],
    ) -> Result<KeyTags<'a>, TagListError> {
        const ON_STACK: usize = 8;
        let mut others = [""; ON_STACK];
        let mut n_others = 0;
        let mut dup = None;
        let mut tags = KeyTags::default();
        while let Some(tag) = iter.next_inlined() {
            let tag = tag?;
            let seen = match tags.slot(tag.name) {
                Some(slot) => slot.replace(Value {
                    value: tag.value,
                    value_offset: tag.value_offset,
                }),
                None => {
                    let Some(name) = others.get_mut(n_others) else {
                        return Ok(KeyTags::from_list(&TagList::parse(txt)?));
                    };
                    *name = tag.name;
                    n_others += 1;
                    others[..n_others - 1]
                        .iter()
                        .any(|&n| same_name(n, tag.name))
                        .then_some(Value {
                            value: tag.value,
                            value_offset: tag.value_offset,
                        })
                }
            };
            if dup.is_none() && seen.is_some() {
                dup = Some(duplicate(&tag));
            }
        }
        // Syntax errors anywhere in the list come before duplicates, as in TagList::parse.
        match dup {
            Some(e) => Err(e),
            None => Ok(tags),
        }
    }

    fn from_list(list: &TagList<'a>) -> KeyTags<'a> {
        let mut tags = KeyTags::default();
        for &tag in list.tags() {
            tags.keep(tag);
        }
        tags
    }

    /// The slot of a tag the record knows; `None` for any other (unknown tags are ignored,
    /// RFC 6376 §3.6.1; `g=` was removed).
    fn slot(&mut self, name: &str) -> Option<&mut Option<Value<'a>>> {
        Some(match name {
            "v" => &mut self.v,
            "k" => &mut self.k,
            "p" => &mut self.p,
            "t" => &mut self.t,
            "h" => &mut self.h,
            "s" => &mut self.s,
            "n" => &mut self.n,
            _ => return None,
        })
    }

    fn keep(&mut self, tag: Tag<'a>) {
        if let Some(slot) = self.slot(tag.name) {
            *slot = Some(Value {
                value: tag.value,
                value_offset: tag.value_offset,
            });
        }
    }
}

impl KeyRecord {
    /// Parses a key record (the TXT strings already joined, RFC 6376 §3.6.2.2).
    ///
    /// Unknown tags are ignored; `g=` (removed by RFC 6376) is ignored. `v=`, when present,
    /// must be `DKIM1`; this parser accepts it anywhere in the record (RFC 6376 §3.6.1 asks
    /// for it first, but records with it elsewhere exist and are unambiguous).
    ///
    /// ```
    /// use mailstamp_dkim::{KeyRecord, KeyType};
    ///
    /// let rec = KeyRecord::parse(b"v=DKIM1; k=ed25519; t=y; p=11qYAYKxCrfVS/7TyWQHOg7hcvPapiMlrwIaaPcHURo=").unwrap();
    /// assert_eq!(rec.key_type, KeyType::Ed25519);
    /// assert!(rec.flags.testing);
    /// assert_eq!(rec.public_key.unwrap().bits(), 256);
    /// assert!(KeyRecord::parse(b"v=DKIM1; p=").unwrap().is_revoked());
    /// ```
    pub fn parse(txt: &[u8]) -> Result<KeyRecord, KeyRecordError> {
        // First with `p=` read up to its `;` without the tag reader's check for refused bytes
        // (the key's own scan of hundreds of bytes): base64 refuses every such byte itself,
        // so a record read this way is exactly the record read with the check. On any error,
        // the record is read again with the check, which gives the error it always gave (a
        // refused byte in `p=` is a syntax error, named as such).
        KeyRecord::parse_tags(txt, true).or_else(|_| KeyRecord::parse_tags(txt, false))
    }

    /// [`KeyRecord::parse`], with `p=` read unchecked or not ([`KeyTags::parse`]).
    fn parse_tags(txt: &[u8], unchecked_p: bool) -> Result<KeyRecord, KeyRecordError> {
        let tags =
            KeyTags::parse(txt, unchecked_p).map_err(|error| KeyRecordError::Syntax { error })?;
        if let Some(v) = tags.v
            && v.value != b"DKIM1"
        {
            return Err(KeyRecordError::IncompatibleVersion {
                found: String::from_utf8_lossy(v.value).into_owned(),
                offset: v.value_offset,
            });
        }
        let key_type = match tags.k {
            None => KeyType::Rsa,
            Some(k) => match k.value {
                b"rsa" => KeyType::Rsa,
                b"ed25519" => KeyType::Ed25519,
                other => {
                    return Err(KeyRecordError::UnknownKeyType {
                        found: String::from_utf8_lossy(other).into_owned(),
                        offset: k.value_offset,
                    });
                }
            },
        };
        let p = tags.p.ok_or(KeyRecordError::MissingPublicKey)?;
        let mut flags = KeyFlags::default();
        if let Some(t) = tags.t {
            for flag in t.value.split(|&b| b == b':') {
                let flag = flag
                    .iter()
                    .position(|&b| !is_fws(b))
                    .map_or(&[][..], |start| {
                        let end = flag.iter().rposition(|&b| !is_fws(b)).unwrap_or(start);
                        &flag[start..=end]
                    });
                match flag {
                    b"y" | b"Y" => flags.testing = true,
                    b"s" | b"S" => flags.strict = true,
                    _ => {} // unknown flags are ignored (RFC 6376 §3.6.1)
                }
            }
        }
        let hash_algorithms = tags.h.map(|h| colon_list(h.value));
        let service_types = tags.s.map(|s| colon_list(s.value));
        let notes = tags
            .n
            .map(|n| String::from_utf8_lossy(n.value).into_owned());
        // The key last, just before the record is made (the other tags give no error): made
        // earlier, it was kept on the stack in words and copied into the record in wider
        // loads, which stalled (no store forwarding).
        let public_key = if p.value.iter().all(|&b| is_fws(b)) {
            None
        } else {
            Some(
                PublicKey::from_base64(key_type, p.value).map_err(|e| match e {
                    Ok(i) => KeyRecordError::InvalidBase64 {
                        offset: p.value_offset + i,
                    },
                    Err(e) => e,
                })?,
            )
        };
        Ok(KeyRecord {
            key_type,
            public_key,
            hash_algorithms,
            service_types,
            flags,
            notes,
        })
    }

    /// True when `p=` is empty: the key has been revoked (RFC 6376 §3.6.1).
    pub fn is_revoked(&self) -> bool {
        self.public_key.is_none()
    }

    /// True when `h=` is absent or lists `alg` (RFC 6376 §3.6.1).
    pub fn allows_hash(&self, alg: HashAlgorithm) -> bool {
        self.hash_algorithms
            .as_ref()
            .is_none_or(|list| list.iter().any(|h| h == alg.as_str()))
    }

    /// True when `s=` is absent or lists `email` or `*` (RFC 6376 §3.6.1).
    pub fn allows_email(&self) -> bool {
        self.service_types
            .as_ref()
            .is_none_or(|list| list.iter().any(|s| s == "email" || s == "*"))
    }
}

/// Parsed key records, keyed by the record text, so that a key is parsed once per key record
/// rather than once per message or signature.
///
/// The cache holds at most [`KeyCache::limit`] records; when full, it starts over (records are
/// cheap to re-parse, and a bound matters more than a clever eviction). It does not know about
/// TTLs: that is the resolver's business, and a changed record is a different key here.
#[derive(Debug, Clone)]
pub struct KeyCache {
    entries: HashMap<Box<[u8]>, Arc<Result<KeyRecord, KeyRecordError>>>,
    limit: usize,
}

impl Default for KeyCache {
    fn default() -> Self {
        KeyCache::new()
    }
}

impl KeyCache {
    /// Default number of records kept.
    pub const DEFAULT_LIMIT: usize = 4096;

    /// An empty cache holding up to [`KeyCache::DEFAULT_LIMIT`] records.
    pub fn new() -> KeyCache {
        KeyCache::with_limit(Self::DEFAULT_LIMIT)
    }

    /// An empty cache holding up to `limit` records (at least one).
    pub fn with_limit(limit: usize) -> KeyCache {
        KeyCache {
            entries: HashMap::new(),
            limit: limit.max(1),
        }
    }

    /// The maximum number of records kept.
    pub fn limit(&self) -> usize {
        self.limit
    }

    /// Number of records cached.
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    /// True when nothing is cached.
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// Forgets every record.
    pub fn clear(&mut self) {
        self.entries.clear();
    }

    /// The parsed form of a key record, parsing it only on first sight.
    pub fn get_or_parse(&mut self, txt: &[u8]) -> Arc<Result<KeyRecord, KeyRecordError>> {
        if let Some(hit) = self.entries.get(txt) {
            return Arc::clone(hit);
        }
        if self.entries.len() >= self.limit {
            self.entries.clear();
        }
        let parsed = Arc::new(KeyRecord::parse(txt));
        self.entries.insert(txt.into(), Arc::clone(&parsed));
        parsed
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    // RFC 8463 A.2
    const ED_RECORD: &[u8] = b"v=DKIM1; k=ed25519; p=11qYAYKxCrfVS/7TyWQHOg7hcvPapiMlrwIaaPcHURo=";
    const RSA_RECORD: &[u8] = b"v=DKIM1; k=rsa; p=MIGfMA0GCSqGSIb3DQEBAQUAA4GNADCBiQKBgQDkHlOQoBTzWRiGs5V6NpP3idY6Wk08a5qhdR6wy5bdOKb2jLQiY/J16JYi0Qvx/byYzCNb3W91y3FutACDfzwQ/BC/e/8uBsCR+yz1Lxj+PL6lHvqMKrM3rG4hstT5QjvHO9PzoxZyVYLzBfO2EeC3Ip3G+2kryOTIKT+l/K4w3QIDAQAB";

    /// A key record, and the `Result` that returns it, is at most 128 bytes, which the
    /// compiler moves with a few register-wide copies; larger, it was moved by a `memmove`
    /// call that read back what the parse had just written (BENCHMARKS.md, session 9).
    #[test]
    fn a_key_record_is_moved_without_memmove() {
        assert!(std::mem::size_of::<Result<KeyRecord, KeyRecordError>>() <= 128);
    }

    #[test]
    fn rfc8463_a2_records_parse() {
        let ed = KeyRecord::parse(ED_RECORD).unwrap();
        assert_eq!(ed.key_type, KeyType::Ed25519);
        assert!(ed.public_key.as_ref().unwrap().ed25519_kept().is_some());
        let rsa = KeyRecord::parse(RSA_RECORD).unwrap();
        let key = rsa.public_key.unwrap();
        assert_eq!(key.bits(), 1024);
        assert_eq!(key.rsa_components().unwrap().1, [1, 0, 1]);
        // round trip through the record form
        assert_eq!(
            PublicKey::from_der(KeyType::Rsa, &key.to_record_der()).unwrap(),
            key
        );
    }

    #[test]
    fn rfc6376_3_6_1_bare_rsa_public_key_accepted() {
        let spki = KeyRecord::parse(RSA_RECORD).unwrap().public_key.unwrap();
        let record = spki.to_record_der();
        let (_, bare) = asn1::spki(&record).unwrap();
        assert_eq!(PublicKey::from_der(KeyType::Rsa, bare).unwrap(), spki);
    }

    #[test]
    fn rfc6376_3_6_1_tags_flags_and_defaults() {
        let r = KeyRecord::parse(b"s=email:web:fine; x1 = extra ; t = y:n:s:extra; h=md5:sha1; p=")
            .unwrap();
        assert!(r.is_revoked());
        assert_eq!(r.key_type, KeyType::Rsa);
        assert!(r.flags.testing && r.flags.strict);
        assert!(r.allows_email());
        assert!(r.allows_hash(HashAlgorithm::Sha1));
        assert!(!r.allows_hash(HashAlgorithm::Sha256));
        let r = KeyRecord::parse(b"s=chat; p=").unwrap();
        assert!(!r.allows_email());
        let r = KeyRecord::parse(b"p=").unwrap();
        assert!(r.allows_email() && r.allows_hash(HashAlgorithm::Sha256));
    }

    #[test]
    fn rfc6376_3_6_1_errors() {
        assert!(matches!(
            KeyRecord::parse(b"v=DKIM3; p="),
            Err(KeyRecordError::IncompatibleVersion { offset: 2, .. })
        ));
        assert!(matches!(
            KeyRecord::parse(b"k=foobar; p="),
            Err(KeyRecordError::UnknownKeyType { .. })
        ));
        assert!(matches!(
            KeyRecord::parse(b"k=rsa; t; p="),
            Err(KeyRecordError::Syntax { .. })
        ));
        assert_eq!(
            KeyRecord::parse(b"v=DKIM1"),
            Err(KeyRecordError::MissingPublicKey)
        );
        assert_eq!(KeyRecord::parse(b""), Err(KeyRecordError::MissingPublicKey));
        assert_eq!(
            KeyRecord::parse(b"p=MIGf*MA0"),
            Err(KeyRecordError::InvalidBase64 { offset: 6 })
        );
        // The byte named is the first that cannot stand where it is (offsets in the record).
        for (record, offset) in [
            (&b"p=Z"[..], 2),           // a lone last symbol
            (b"p=Zm9vY ", 6),           // the same, before whitespace
            (b"p=Zg=!", 5),             // junk after the padding
            (b"p=Zg===", 6),            // too much padding
            (b"p=Zm9==", 6),            // padding after three symbols, one too many
            (b"p=Z!m9!", 3),            // the first invalid byte
            (b"k=ed25519; p=Zg=!", 16), // the same rules for an Ed25519 key
        ] {
            assert_eq!(
                KeyRecord::parse(record),
                Err(KeyRecordError::InvalidBase64 { offset }),
                "{}",
                String::from_utf8_lossy(record)
            );
        }
        assert!(matches!(
            KeyRecord::parse(b"p=AAAA"),
            Err(KeyRecordError::InvalidKey {
                key_type: KeyType::Rsa,
                ..
            })
        ));
        // RFC 8463 §4: Ed25519 keys are raw, not SubjectPublicKeyInfo
        let e = KeyRecord::parse(
            b"v=DKIM1; k=ed25519; p=MCowBQYDK2VwAyEA3SUqa9UbfciWkk7tlcJ9P1VD5pXAasg0JUn/OgjVbKE=",
        )
        .unwrap_err();
        assert!(e.to_string().contains("raw 32-byte"), "{e}");
        assert!(matches!(
            KeyRecord::parse(b"k=ed25519; p=AAAA"),
            Err(KeyRecordError::InvalidKey {
                key_type: KeyType::Ed25519,
                ..
            })
        ));
    }

    /// RFC 6376 §3.6.1: `p=` is DER. BER forms the hand-written reader let through (a long-form
    /// length where the short form fits, trailing bytes inside the AlgorithmIdentifier, bytes
    /// after the key) are refused, as the RustCrypto `der`/`spki`/`pkcs1` readers do.
    #[test]
    fn issue_17_22_p_must_be_der() {
        use base64::Engine as _;
        let b64 = base64::engine::general_purpose::STANDARD;
        let p = &RSA_RECORD[RSA_RECORD.windows(2).position(|w| w == b"p=").unwrap() + 2..];
        let good = b64.decode(p).unwrap();
        assert_eq!(&good[..5], [0x30, 0x81, 0x9f, 0x30, 0x0d]);
        assert!(PublicKey::from_der(KeyType::Rsa, &good).is_ok());
        // AlgorithmIdentifier length in long form (30 81 0d instead of 30 0d).
        let mut ber = vec![0x30, 0x81, 0xa0, 0x30, 0x81, 0x0d];
        ber.extend_from_slice(&good[5..]);
        // An extra NULL after the parameters of the AlgorithmIdentifier.
        let mut extra = vec![0x30, 0x81, 0xa1, 0x30, 0x0f];
        extra.extend_from_slice(&good[5..5 + 13]);
        extra.extend_from_slice(&[0x05, 0x00]);
        extra.extend_from_slice(&good[5 + 13..]);
        // A bare RSAPublicKey with its modulus padded by a superfluous zero octet.
        let key = PublicKey::from_der(KeyType::Rsa, &good).unwrap();
        let (n, e) = key.rsa_components().unwrap();
        let mut padded = vec![0x02, 0x81, (n.len() + 2) as u8, 0, 0];
        padded.extend_from_slice(n);
        padded.extend_from_slice(&[0x02, e.len() as u8]);
        padded.extend_from_slice(e);
        let mut bare = vec![0x30, 0x81, padded.len() as u8];
        bare.extend_from_slice(&padded);
        for (what, bad) in [
            ("ber length", &ber),
            ("extra field", &extra),
            ("padded integer", &bare),
        ] {
            assert!(
                matches!(
                    PublicKey::from_der(KeyType::Rsa, bad),
                    Err(KeyRecordError::InvalidKey { .. })
                ),
                "{what} accepted"
            );
        }
    }

    #[test]
    fn rfc6376_3_2_key_record_tag_list_errors_as_tag_list() {
        let syntax = |txt: &[u8]| match KeyRecord::parse(txt) {
            Err(KeyRecordError::Syntax { error }) => error,
            other => panic!("{other:?}"),
        };
        assert_eq!(
            syntax(b"p=; a=1; p="),
            TagList::parse(b"p=; a=1; p=").unwrap_err()
        );
        // A syntax error after a duplicate wins, as in TagList::parse.
        assert!(matches!(
            syntax(b"a=1; a=2; t").kind,
            crate::TagListErrorKind::MissingEquals { .. }
        ));
        // More tags than the stack keeps: the same answers through TagList.
        let many: String = (0..20).map(|i| format!("x{i}=1; ")).collect();
        assert!(
            KeyRecord::parse(format!("{many}p=").as_bytes())
                .unwrap()
                .is_revoked()
        );
        let dup = format!("{many}x3=2; p=");
        assert_eq!(
            syntax(dup.as_bytes()),
            TagList::parse(dup.as_bytes()).unwrap_err()
        );
    }

    proptest::proptest! {
        /// The key record's own pass over the tag list fails exactly where TagList::parse fails.
        #[test]
        fn key_tags_fail_as_tag_list(
            txt in proptest::collection::vec(proptest::sample::select(b"abkvp1=; \t\r\n\x01".to_vec()), 0..80)
        ) {
            proptest::prop_assert_eq!(
                KeyTags::parse(&txt, false).err(),
                TagList::parse(&txt).err()
            );
        }
    }

    #[test]
    fn refused_bytes_in_p_are_still_syntax_errors() {
        // Read first without the tag reader's check of `p=`, then again with it: the error
        // is the tag list's, at the byte, as before.
        for (txt, offset) in [
            (
                &b"v=DKIM1; p=11qYAYKxCrfVS/7TyWQH\x01Og7hcvPapiMlrwIaaPcHURo="[..],
                31,
            ),
            (
                b"v=DKIM1; k=ed25519; p=11qYAYKxCrfVS/7TyWQHOg7hcvPapiMlrwIaaPcHURo=\x7f",
                66,
            ),
            (b"p=MIGf\x00MA0; v=DKIM2", 6),
        ] {
            match KeyRecord::parse(txt) {
                Err(KeyRecordError::Syntax { error }) => {
                    assert!(
                        matches!(error.kind, crate::TagListErrorKind::InvalidValueByte { .. }),
                        "{error:?}"
                    );
                    assert_eq!(error.offset, offset);
                }
                other => panic!("{other:?}"),
            }
        }
        // Whitespace and padding in `p=` are still read.
        let folded = b"v=DKIM1; k=ed25519; p=11qYAYKxCrfVS/7TyWQH\r\n Og7hcvPapiMlrwIaaPcHURo= ;";
        assert_eq!(
            KeyRecord::parse(folded).unwrap(),
            KeyRecord::parse(ED_RECORD).unwrap()
        );
    }

    proptest::proptest! {
        /// Reading `p=` unchecked first changes nothing: the same record, or the same error,
        /// as the checking reader alone, on records of the usual tags with bytes of every
        /// kind put in anywhere.
        #[test]
        fn unchecked_p_reads_as_the_checking_reader(
            pieces in proptest::collection::vec(0usize..9, 0..6),
            noise in proptest::collection::vec(
                (
                    0usize..400,
                    proptest::prop_oneof![
                        3 => proptest::sample::select(b" \t\r\n;=\x00\x01\x7f\x80A".to_vec()),
                        1 => proptest::prelude::any::<u8>(),
                    ],
                ),
                0..3,
            ),
        ) {
            let rsa_p = &RSA_RECORD[16..];
            let ed_p = &ED_RECORD[20..];
            let mut txt = Vec::new();
            for (i, &piece) in pieces.iter().enumerate() {
                if i > 0 {
                    txt.extend_from_slice(b"; ");
                }
                txt.extend_from_slice(match piece {
                    0 => &b"v=DKIM1"[..],
                    1 => b"k=rsa",
                    2 => b"k=ed25519",
                    3 => rsa_p,
                    4 => ed_p,
                    5 => b"p=",
                    6 => b"t=y:s",
                    7 => b"h=sha256",
                    _ => b"n=note",
                });
            }
            for &(at, byte) in &noise {
                txt.insert(at % (txt.len() + 1), byte);
            }
            proptest::prop_assert_eq!(
                KeyRecord::parse(&txt),
                KeyRecord::parse_tags(&txt, false)
            );
        }
    }

    #[test]
    fn base64_with_whitespace() {
        assert_eq!(
            crate::b64::decode(b"AQ Ab\r\n\tAA==").unwrap(),
            [1, 0, 27, 0]
        );
        assert_eq!(crate::b64::decode(b"AQAB").unwrap(), [1, 0, 1]);
        assert_eq!(crate::b64::decode(b"AQ A!"), Err(4));
    }

    #[test]
    fn cache_parses_once_and_stays_bounded() {
        let mut cache = KeyCache::with_limit(2);
        let a = cache.get_or_parse(ED_RECORD);
        let b = cache.get_or_parse(ED_RECORD);
        assert!(Arc::ptr_eq(&a, &b));
        cache.get_or_parse(RSA_RECORD);
        assert_eq!(cache.len(), 2);
        cache.get_or_parse(b"p=");
        assert_eq!(cache.len(), 1);
    }
}
