//! Key generation, the key record to publish, and checking a published record.

use crate::key::{HashAlgorithm, KeyRecord, KeyRecordError, KeyType, PublicKey};
use crate::signing_key::{KeyLoadError, SigningKey};
use mailstamp_dns::{Answer, FailureKind, Name};
use serde::{Serialize, Serializer};
use std::fmt;

/// RSA key sizes [`generate_rsa`] makes.
pub const RSA_KEY_SIZES: [usize; 3] = [2048, 3072, 4096];

/// Longest character-string of a TXT record (RFC 1035 §3.3.14).
pub const MAX_TXT_STRING: usize = 255;

/// Why no key was generated.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum KeygenError {
    /// RSA keys under 2048 bits are refused: RFC 8301 §3.2 says signers SHOULD use at least
    /// 2048 bits, and 1024-bit keys are within reach of factoring.
    #[error(
        "RSA keys under 2048 bits are refused (RFC 8301 §3.2: signers SHOULD use at least 2048 bits)"
    )]
    RsaTooSmall {
        /// The size asked for.
        bits: usize,
    },
    /// Only 2048, 3072 and 4096 bits are offered (keys above 4096 bits do not fit DNS
    /// comfortably and ring does not sign with them).
    #[error("RSA key size {bits} is not offered; choose 2048, 3072 or 4096")]
    RsaUnsupportedSize {
        /// The size asked for.
        bits: usize,
    },
    /// The operating system's random number generator failed.
    #[error("the random number generator failed")]
    Random,
    /// The new key could not be encoded or reloaded.
    #[error("the generated key could not be encoded: {0}")]
    Encoding(String),
}

/// A newly generated key: the private key to store and the signing key to use.
#[derive(Debug)]
pub struct GeneratedKey {
    /// The private key as PKCS#8 PEM (LF line endings). The caller writes it to a file
    /// readable by its owner only.
    pub private_key_pem: String,
    /// The same key, loaded for signing.
    pub signing_key: SigningKey,
}

impl GeneratedKey {
    /// The key record to publish for it.
    pub fn record(&self) -> KeyRecordText {
        KeyRecordText::new(self.signing_key.public_key())
    }
}

/// Generates an RSA key of 2048, 3072 or 4096 bits with the `rsa` crate, drawing its
/// randomness from `rng` (the caller's, like the clock: use `rand::rngs::OsRng` in
/// production).
///
/// Signing needs no randomness: RSASSA-PKCS1-v1_5 (RFC 8017 §8.2) and Ed25519 (RFC 8032
/// §5.1.6) signatures are deterministic, so only key generation takes an RNG.
pub fn generate_rsa<R: rand::RngCore + rand::CryptoRng>(
    bits: usize,
    rng: &mut R,
) -> Result<GeneratedKey, KeygenError> {
    use rsa::pkcs8::EncodePrivateKey as _;
    if bits < 2048 {
        return Err(KeygenError::RsaTooSmall { bits });
    }
    if !RSA_KEY_SIZES.contains(&bits) {
        return Err(KeygenError::RsaUnsupportedSize { bits });
    }
    let key =
        rsa::RsaPrivateKey::new(rng, bits).map_err(|e| KeygenError::Encoding(e.to_string()))?;
    let der = key
        .to_pkcs8_der()
        .map_err(|e| KeygenError::Encoding(e.to_string()))?;
    finish(der.as_bytes())
}

/// Generates an Ed25519 key (RFC 8463) from 32 bytes of `rng`, written as PKCS#8 **v1**
/// (RFC 8410 §7), the form OpenSSL 3.0 and Python `cryptography` read (they refuse the v2
/// form with the public key embedded that ring's own generator writes). Both forms are read
/// by [`SigningKey::from_pem`].
pub fn generate_ed25519<R: rand::RngCore + rand::CryptoRng>(
    rng: &mut R,
) -> Result<GeneratedKey, KeygenError> {
    let mut seed = [0u8; 32];
    rng.try_fill_bytes(&mut seed)
        .map_err(|_| KeygenError::Random)?;
    let der = crate::asn1::ed25519_pkcs8_v1(&seed)
        .ok_or_else(|| KeygenError::Encoding("PKCS#8 encoding failed".to_owned()))?;
    finish(&der)
}

fn finish(pkcs8: &[u8]) -> Result<GeneratedKey, KeygenError> {
    let signing_key = SigningKey::from_pkcs8_der(pkcs8)
        .map_err(|e: KeyLoadError| KeygenError::Encoding(e.to_string()))?;
    Ok(GeneratedKey {
        private_key_pem: crate::pem::encode("PRIVATE KEY", pkcs8)
            .ok_or_else(|| KeygenError::Encoding("PEM encoding failed".to_owned()))?,
        signing_key,
    })
}

/// The key record to publish for a public key (RFC 6376 §3.6.1).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KeyRecordText {
    key_type: KeyType,
    public_key: Vec<u8>,
    testing: bool,
}

impl KeyRecordText {
    /// The record for `key`, without flags.
    pub fn new(key: &PublicKey) -> KeyRecordText {
        KeyRecordText {
            key_type: key.key_type(),
            public_key: key.to_record_der(),
            testing: false,
        }
    }

    /// Adds (or removes) `t=y`: receivers must treat signed mail like unsigned mail while the
    /// domain tests DKIM.
    pub fn with_testing(mut self, testing: bool) -> KeyRecordText {
        self.testing = testing;
        self
    }

    /// The record value on one line: `v=DKIM1; k=rsa; p=...` (for web DNS panels).
    pub fn value(&self) -> String {
        use base64::Engine as _;
        let p = base64::engine::general_purpose::STANDARD.encode(&self.public_key);
        let t = if self.testing { " t=y;" } else { "" };
        format!("v=DKIM1; k={};{t} p={p}", self.key_type)
    }

    /// The value split into character-strings of at most 255 bytes (RFC 1035 §3.3.14);
    /// receivers join them with nothing in between (RFC 6376 §3.6.2.2).
    pub fn txt_strings(&self) -> Vec<String> {
        split_txt(&self.value())
            .into_iter()
            .map(str::to_owned)
            .collect()
    }

    /// The value as a master-file TXT rdata: the strings quoted, in parentheses when there are
    /// several (`( "v=DKIM1; ..." "..." )`).
    pub fn zone_rdata(&self) -> String {
        let quoted: Vec<String> = self.txt_strings().iter().map(|s| quote_txt(s)).collect();
        if quoted.len() == 1 {
            quoted.concat()
        } else {
            format!("( {} )", quoted.join("\n\t"))
        }
    }

    /// A master-file line: `<name>. IN TXT ( "..." "..." )`.
    ///
    /// ```
    /// use mailstamp_dkim::{KeyRecord, KeyRecordText, key_record_name};
    ///
    /// let rec = KeyRecord::parse(b"k=ed25519; p=11qYAYKxCrfVS/7TyWQHOg7hcvPapiMlrwIaaPcHURo=").unwrap();
    /// let text = KeyRecordText::new(rec.public_key.as_ref().unwrap()).with_testing(true);
    /// let name = key_record_name("brisbane", "football.example.com").unwrap();
    /// assert_eq!(
    ///     text.zone_line(&name),
    ///     "brisbane._domainkey.football.example.com. IN TXT \"v=DKIM1; k=ed25519; t=y; p=11qYAYKxCrfVS/7TyWQHOg7hcvPapiMlrwIaaPcHURo=\""
    /// );
    /// ```
    pub fn zone_line(&self, name: &Name) -> String {
        format!("{} IN TXT {}", name.to_fqdn(), self.zone_rdata())
    }
}

impl fmt::Display for KeyRecordText {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.value())
    }
}

/// Splits a TXT value into pieces of at most 255 bytes, never inside a UTF-8 character.
///
/// ```
/// let long = "a".repeat(600);
/// let parts = mailstamp_dkim::split_txt(&long);
/// assert_eq!(parts.iter().map(|p| p.len()).collect::<Vec<_>>(), [255, 255, 90]);
/// ```
pub fn split_txt(value: &str) -> Vec<&str> {
    let mut out = Vec::new();
    let mut rest = value;
    while rest.len() > MAX_TXT_STRING {
        let mut cut = MAX_TXT_STRING;
        while !rest.is_char_boundary(cut) {
            cut -= 1;
        }
        let (head, tail) = rest.split_at(cut);
        out.push(head);
        rest = tail;
    }
    if !rest.is_empty() || out.is_empty() {
        out.push(rest);
    }
    out
}

/// Quotes one character-string for a master file (RFC 1035 §5.1): `"` and `\` escaped,
/// bytes outside printable ASCII as `\DDD`.
pub fn quote_txt(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 2);
    out.push('"');
    for &b in s.as_bytes() {
        match b {
            b'"' | b'\\' => {
                out.push('\\');
                out.push(char::from(b));
            }
            0x20..=0x7e => out.push(char::from(b)),
            _ => out.push_str(&format!("\\{b:03}")),
        }
    }
    out.push('"');
    out
}

fn ser_name<S: Serializer>(name: &Name, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_str(name.as_str())
}

fn ser_failure<S: Serializer>(kind: &FailureKind, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_str(kind.as_str())
}

/// A finding of [`check_key`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
#[non_exhaustive]
pub enum KeyFinding {
    /// No TXT record at the name (error: signatures get `permerror`).
    NotFound,
    /// The lookup failed (error: signatures get `temperror`).
    DnsFailure {
        /// How.
        #[serde(serialize_with = "ser_failure")]
        failure: FailureKind,
    },
    /// Several TXT records at the name (error: mailstamp treats it as `permerror`).
    MultipleRecords {
        /// How many.
        count: usize,
    },
    /// The record does not parse (error).
    Invalid {
        /// Why.
        error: KeyRecordError,
    },
    /// `p=` is empty: the key is revoked (error).
    Revoked,
    /// An RSA key under 1024 bits: no verifier accepts it (RFC 8301 §3.2) (error).
    RsaTooShort {
        /// Key size.
        bits: usize,
    },
    /// An RSA key under 2048 bits: accepted, but RFC 8301 §3.2 says signers SHOULD use 2048
    /// (warning).
    RsaWeak {
        /// Key size.
        bits: usize,
    },
    /// `h=` does not allow sha256, so no signature with this key can pass (error).
    Sha256NotAllowed,
    /// `s=` does not allow email (error).
    NotForEmail,
    /// `t=y`: the domain is testing DKIM (warning).
    Testing,
    /// The published key is not the public half of the given private key (error).
    PrivateKeyMismatch,
}

impl KeyFinding {
    /// True when the finding keeps signatures made with this key from passing.
    pub fn is_error(&self) -> bool {
        match self {
            KeyFinding::NotFound
            | KeyFinding::DnsFailure { .. }
            | KeyFinding::MultipleRecords { .. }
            | KeyFinding::Invalid { .. }
            | KeyFinding::Revoked
            | KeyFinding::RsaTooShort { .. }
            | KeyFinding::Sha256NotAllowed
            | KeyFinding::NotForEmail
            | KeyFinding::PrivateKeyMismatch => true,
            KeyFinding::RsaWeak { .. } | KeyFinding::Testing => false,
        }
    }
}

impl fmt::Display for KeyFinding {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            KeyFinding::NotFound => f.write_str("no key record is published at this name"),
            KeyFinding::DnsFailure { failure } => write!(f, "the DNS lookup failed ({failure})"),
            KeyFinding::MultipleRecords { count } => {
                write!(
                    f,
                    "{count} TXT records are published; a key name must hold exactly one"
                )
            }
            KeyFinding::Invalid { error } => write!(f, "the record is invalid: {error}"),
            KeyFinding::Revoked => f.write_str("the key is revoked (empty p=)"),
            KeyFinding::RsaTooShort { bits } => write!(
                f,
                "the RSA key has {bits} bits; verifiers refuse keys under 1024 bits (RFC 8301)"
            ),
            KeyFinding::RsaWeak { bits } => write!(
                f,
                "the RSA key has {bits} bits; RFC 8301 recommends at least 2048"
            ),
            KeyFinding::Sha256NotAllowed => {
                f.write_str("h= does not allow sha256, so no signature with this key can pass")
            }
            KeyFinding::NotForEmail => f.write_str("s= does not allow the key's use for email"),
            KeyFinding::Testing => {
                f.write_str("t=y: the domain is testing DKIM; receivers ignore the results")
            }
            KeyFinding::PrivateKeyMismatch => {
                f.write_str("the published key does not match the private key")
            }
        }
    }
}

/// What [`check_key`] found about a published key record.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct KeyCheck {
    /// The name checked.
    #[serde(serialize_with = "ser_name")]
    pub name: Name,
    /// The TXT records found (strings joined; invalid UTF-8 replaced).
    pub records: Vec<String>,
    /// The key type, when the record parsed.
    pub key_type: Option<KeyType>,
    /// The key size in bits, when the record parsed and is not revoked.
    pub bits: Option<usize>,
    /// `t=y`.
    pub testing: bool,
    /// `t=s`.
    pub strict: bool,
    /// Whether the published key is the public half of the private key given (`None` when no
    /// private key was given or no key was published).
    pub matches_private_key: Option<bool>,
    /// Errors and warnings, in the order found.
    pub findings: Vec<KeyFinding>,
}

impl KeyCheck {
    /// True when a single record parsed and nothing keeps signatures from passing.
    pub fn is_usable(&self) -> bool {
        self.key_type.is_some() && !self.findings.iter().any(KeyFinding::is_error)
    }
}

/// The public half of a PEM private key, for checking a published record
/// ([`check_key_public`]). Unlike [`SigningKey::from_pem`], which refuses RSA keys under 2048
/// bits for signing, this reads any RSA key a verifier accepts (RFC 8301 §3.2: 1024 to
/// [`crate::MAX_RSA_BITS`] bits) and Ed25519 keys.
pub fn public_key_from_pem(text: &str) -> Result<PublicKey, KeyLoadError> {
    match SigningKey::from_pem(text) {
        Ok(key) => Ok(key.public_key().clone()),
        Err(KeyLoadError::RsaKeySize { bits })
            if (crate::MIN_RSA_BITS..=crate::MAX_RSA_BITS).contains(&bits) =>
        {
            weak_rsa_public(text).ok_or(KeyLoadError::RsaKeySize { bits })
        }
        Err(e) => Err(e),
    }
}

/// Reads the single private-key block of `text` as an RSA key with the `rsa` crate (PKCS#8 or
/// PKCS#1, any size) and returns its public half. `from_pem` already validated the file.
fn weak_rsa_public(text: &str) -> Option<PublicKey> {
    use rsa::pkcs1::{DecodeRsaPrivateKey as _, EncodeRsaPublicKey as _};
    use rsa::pkcs8::DecodePrivateKey as _;
    let (_, der) = crate::signing_key::private_key_der(text).ok()?;
    let key = rsa::RsaPrivateKey::from_pkcs8_der(&der)
        .or_else(|_| rsa::RsaPrivateKey::from_pkcs1_der(&der))
        .ok()?;
    let public = key.to_public_key().to_pkcs1_der().ok()?;
    PublicKey::from_der(KeyType::Rsa, public.as_bytes()).ok()
}

/// Checks the answer to the TXT query for `name` (see [`crate::key_record_name`]): does a record
/// parse, what are its flags and size, and does it match `private_key`?
pub fn check_key(name: Name, answer: &Answer, private_key: Option<&SigningKey>) -> KeyCheck {
    check_key_public(name, answer, private_key.map(SigningKey::public_key))
}

/// [`check_key`] with the public half of the private key ([`public_key_from_pem`]), so that
/// any key a verifier accepts can be checked, including 1024-bit RSA keys that mailstamp does
/// not sign with (they get the [`KeyFinding::RsaWeak`] warning).
pub fn check_key_public(name: Name, answer: &Answer, private_key: Option<&PublicKey>) -> KeyCheck {
    let txts: Vec<Vec<u8>> = answer.txts().map(|t| t.joined()).collect();
    let mut check = KeyCheck {
        name,
        records: txts
            .iter()
            .map(|t| String::from_utf8_lossy(t).into_owned())
            .collect(),
        key_type: None,
        bits: None,
        testing: false,
        strict: false,
        matches_private_key: None,
        findings: Vec::new(),
    };
    if let Answer::Failed(failure) = answer {
        check
            .findings
            .push(KeyFinding::DnsFailure { failure: *failure });
        return check;
    }
    let txt = match txts.as_slice() {
        [] => {
            check.findings.push(KeyFinding::NotFound);
            return check;
        }
        [one] => one,
        many => {
            check
                .findings
                .push(KeyFinding::MultipleRecords { count: many.len() });
            return check;
        }
    };
    let record = match KeyRecord::parse(txt) {
        Ok(r) => r,
        Err(error) => {
            check.findings.push(KeyFinding::Invalid { error });
            return check;
        }
    };
    check.key_type = Some(record.key_type);
    check.testing = record.flags.testing;
    check.strict = record.flags.strict;
    let Some(key) = record.public_key.as_ref() else {
        check.findings.push(KeyFinding::Revoked);
        return check;
    };
    let bits = key.bits();
    check.bits = Some(bits);
    if key.key_type() == KeyType::Rsa {
        if bits < crate::MIN_RSA_BITS {
            check.findings.push(KeyFinding::RsaTooShort { bits });
        } else if bits < 2048 {
            check.findings.push(KeyFinding::RsaWeak { bits });
        }
    }
    if !record.allows_hash(HashAlgorithm::Sha256) {
        check.findings.push(KeyFinding::Sha256NotAllowed);
    }
    if !record.allows_email() {
        check.findings.push(KeyFinding::NotForEmail);
    }
    if record.flags.testing {
        check.findings.push(KeyFinding::Testing);
    }
    if let Some(private) = private_key {
        let matches = private == key;
        check.matches_private_key = Some(matches);
        if !matches {
            check.findings.push(KeyFinding::PrivateKeyMismatch);
        }
    }
    check
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::names::key_record_name;
    use mailstamp_dns::{RData, Record, Txt};

    fn txt_answer(name: &Name, strings: &[&str]) -> Answer {
        Answer::Records(
            vec![Record {
                name: name.clone(),
                ttl: 300,
                data: RData::Txt(Txt::new(strings.iter().map(|s| s.as_bytes().to_vec()))),
            }]
            .into(),
        )
    }

    #[test]
    fn rfc8301_3_2_small_rsa_refused() {
        assert_eq!(
            generate_rsa(1024, &mut rand::rngs::OsRng).unwrap_err(),
            KeygenError::RsaTooSmall { bits: 1024 }
        );
        assert_eq!(
            generate_rsa(2500, &mut rand::rngs::OsRng).unwrap_err(),
            KeygenError::RsaUnsupportedSize { bits: 2500 }
        );
        assert!(
            generate_rsa(1024, &mut rand::rngs::OsRng)
                .unwrap_err()
                .to_string()
                .contains("RFC 8301")
        );
    }

    /// A deterministic RNG for tests (not cryptographically secure; only marked so to fit
    /// the API).
    struct Counter(u8);
    impl rand::RngCore for Counter {
        fn next_u32(&mut self) -> u32 {
            rand_core_fill::next_u32(self)
        }
        fn next_u64(&mut self) -> u64 {
            rand_core_fill::next_u64(self)
        }
        fn fill_bytes(&mut self, dest: &mut [u8]) {
            for b in dest {
                self.0 = self.0.wrapping_add(1);
                *b = self.0;
            }
        }
        fn try_fill_bytes(&mut self, dest: &mut [u8]) -> Result<(), rand::Error> {
            self.fill_bytes(dest);
            Ok(())
        }
    }
    impl rand::CryptoRng for Counter {}
    mod rand_core_fill {
        pub fn next_u32(r: &mut impl rand::RngCore) -> u32 {
            let mut b = [0; 4];
            r.fill_bytes(&mut b);
            u32::from_le_bytes(b)
        }
        pub fn next_u64(r: &mut impl rand::RngCore) -> u64 {
            let mut b = [0; 8];
            r.fill_bytes(&mut b);
            u64::from_le_bytes(b)
        }
    }

    #[test]
    fn issue_17_24_rfc8410_7_ed25519_keygen_writes_pkcs8_v1_and_reads_v2() {
        use base64::Engine as _;
        // The caller's RNG makes the key (issue 12): the same seed gives the same key.
        let a = generate_ed25519(&mut Counter(0)).unwrap();
        let b = generate_ed25519(&mut Counter(0)).unwrap();
        assert_eq!(a.private_key_pem, b.private_key_pem);
        let body: String = a
            .private_key_pem
            .lines()
            .filter(|l| !l.starts_with("-----"))
            .collect();
        let der = base64::engine::general_purpose::STANDARD
            .decode(body)
            .unwrap();
        // RFC 8410 §7: OneAsymmetricKey version 0 (v1), no public key: 48 bytes.
        let mut want = vec![
            0x30, 0x2e, 0x02, 0x01, 0x00, 0x30, 0x05, 0x06, 0x03, 0x2b, 0x65, 0x70, 0x04, 0x22,
            0x04, 0x20,
        ];
        want.extend(1..=32u8);
        assert_eq!(der, want);
        // A v2 key (ring writes them, with the public key) still loads.
        let v2 = ring::signature::Ed25519KeyPair::generate_pkcs8(&ring::rand::SystemRandom::new())
            .unwrap();
        assert_eq!(v2.as_ref()[4], 1, "version 1 = v2");
        assert!(SigningKey::from_pkcs8_der(v2.as_ref()).is_ok());
    }

    #[test]
    fn rfc8463_ed25519_keygen_record_and_check() {
        let key = generate_ed25519(&mut rand::rngs::OsRng).unwrap();
        assert!(
            key.private_key_pem
                .starts_with("-----BEGIN PRIVATE KEY-----\n")
        );
        let reloaded = SigningKey::from_pem(&key.private_key_pem).unwrap();
        assert_eq!(reloaded.public_key(), key.signing_key.public_key());
        let record = key.record().with_testing(true);
        assert!(record.value().starts_with("v=DKIM1; k=ed25519; t=y; p="));
        let name = key_record_name("s1", "example.com").unwrap();
        let strings = record.txt_strings();
        let refs: Vec<&str> = strings.iter().map(String::as_str).collect();
        let check = check_key(
            name.clone(),
            &txt_answer(&name, &refs),
            Some(&key.signing_key),
        );
        assert_eq!(check.matches_private_key, Some(true));
        assert_eq!(check.findings, [KeyFinding::Testing]);
        assert!(check.is_usable());
        let other = generate_ed25519(&mut rand::rngs::OsRng).unwrap();
        let check = check_key(
            name.clone(),
            &txt_answer(&name, &refs),
            Some(&other.signing_key),
        );
        assert_eq!(check.matches_private_key, Some(false));
        assert!(!check.is_usable());
    }

    #[test]
    fn issue_17_5_keycheck_accepts_a_1024_bit_key_a_verifier_accepts() {
        use rsa::pkcs8::{EncodePrivateKey as _, LineEnding};
        let key = rsa::RsaPrivateKey::new(&mut rand::rngs::OsRng, 1024).unwrap();
        let pem = key.to_pkcs8_pem(LineEnding::LF).unwrap();
        // Signing still refuses it (RFC 8301 §3.2: signers SHOULD use 2048) ...
        assert!(matches!(
            SigningKey::from_pem(&pem),
            Err(KeyLoadError::RsaKeySize { bits: 1024 })
        ));
        // ... but its public half is what a verifier checks, and verifiers accept 1024 bits.
        let public = public_key_from_pem(&pem).unwrap();
        assert_eq!(public.bits(), 1024);
        let record = KeyRecordText::new(&public).value();
        let name = key_record_name("s1024", "example.com").unwrap();
        let check = check_key_public(name.clone(), &txt_answer(&name, &[&record]), Some(&public));
        assert_eq!(check.matches_private_key, Some(true));
        assert_eq!(check.findings, [KeyFinding::RsaWeak { bits: 1024 }]);
        assert!(check.is_usable());
        // PKCS#1 too.
        use rsa::pkcs1::EncodeRsaPrivateKey as _;
        let pkcs1 = key.to_pkcs1_pem(LineEnding::LF).unwrap();
        assert_eq!(public_key_from_pem(&pkcs1).unwrap(), public);
        // 512 bits is below what any verifier accepts.
        let small = rsa::RsaPrivateKey::new(&mut rand::rngs::OsRng, 512).unwrap();
        let pem = small.to_pkcs8_pem(LineEnding::LF).unwrap();
        assert!(matches!(
            public_key_from_pem(&pem),
            Err(KeyLoadError::RsaKeySize { bits: 512 })
        ));
    }

    #[test]
    fn rfc1035_3_3_14_txt_splitting_and_quoting() {
        assert_eq!(split_txt(""), [""]);
        assert_eq!(split_txt(&"x".repeat(255)).len(), 1);
        assert_eq!(split_txt(&"x".repeat(256)).len(), 2);
        let s = format!("{}\u{e9}", "a".repeat(254));
        let parts = split_txt(&s);
        assert_eq!(parts[0].len(), 254);
        assert_eq!(quote_txt("a\"b\\c\u{1}"), "\"a\\\"b\\\\c\\001\"");
    }

    #[test]
    fn check_key_reports_every_failure() {
        let name = key_record_name("s", "example.com").unwrap();
        let c = check_key(name.clone(), &Answer::NxDomain, None);
        assert_eq!(c.findings, [KeyFinding::NotFound]);
        let c = check_key(name.clone(), &Answer::Failed(FailureKind::Timeout), None);
        assert!(matches!(c.findings[0], KeyFinding::DnsFailure { .. }));
        let c = check_key(name.clone(), &txt_answer(&name, &["v=DKIM1; p="]), None);
        assert_eq!(c.findings, [KeyFinding::Revoked]);
        let c = check_key(name.clone(), &txt_answer(&name, &["v=DKIM1: p=x"]), None);
        assert!(matches!(c.findings[0], KeyFinding::Invalid { .. }));
        // RFC 8463 A.2 RSA key: 1024 bits
        let c = check_key(
            name.clone(),
            &txt_answer(
                &name,
                &[
                    "v=DKIM1; k=rsa; h=sha1; s=chat; p=MIGfMA0GCSqGSIb3DQEBAQUAA4GNADCBiQKBgQDkHlOQoBTzWRiGs5V6NpP3idY6Wk08a5qhdR6wy5bdOKb2jLQiY/J16JYi0Qvx/byYzCNb3W91y3FutACDfzwQ/BC/e/8uBsCR+yz1Lxj+PL6lHvqMKrM3rG4hstT5QjvHO9PzoxZyVYLzBfO2EeC3Ip3G+2kryOTIKT+l/K4w3QIDAQAB",
                ],
            ),
            None,
        );
        assert_eq!(
            c.findings,
            [
                KeyFinding::RsaWeak { bits: 1024 },
                KeyFinding::Sha256NotAllowed,
                KeyFinding::NotForEmail
            ]
        );
        assert!(!c.is_usable());
    }
}
