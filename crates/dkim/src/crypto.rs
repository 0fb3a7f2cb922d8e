//! The signature backend, chosen here and nowhere else.
//!
//! * **ring** (the default): RSA, and the Ed25519 keys. Fast to start, which suits the
//!   one-message-per-process CLI. Ed25519 signing and verification run in **ed25519-dalek**,
//!   which measures faster than ring at both on x86_64 (curve25519-dalek picks its AVX2 code
//!   at run time; `cargo bench -p mailstamp-dkim --bench dkim -- ed25519`, the
//!   `ed25519_cpu` example, BENCHMARKS.md). It verifies with the key decompressed once and
//!   kept with the [`PublicKey`](crate::PublicKey). ring still reads the keys (PKCS#8,
//!   seeds), so their formats and errors are unchanged.
//! * **aws-lc-rs** (cargo feature `aws-lc`): the same operations through AWS-LC, faster per
//!   operation on x86_64 (RSA verify, Ed25519 sign) but slower to start (it seeds its
//!   DRBG at first use). Meant for long-running signers and verifiers (the milter, bulk checks).
//!   An RSA public key is parsed into AWS-LC's form once, on first use, and kept with the
//!   [`PublicKey`](crate::PublicKey) (so a key cached by [`crate::KeyCache`] is parsed once for
//!   every message). AWS-LC keeps Ed25519 too: it signs faster than dalek, and dalek's
//!   verification measured level with it (see `ed25519` below).
//!
//! All of them implement RSASSA-PKCS1-v1_5 (RFC 8017 §8.2) and Ed25519 (RFC 8032)
//! deterministically and produce identical signatures for the same key and data; the tests of
//! this module (`crypto_tests.rs`) run under either build ([`BACKEND`] says which is built in)
//! and check that dalek and ring accept exactly the same Ed25519 signatures.
//!
//! This module is the bottom of the crate: it knows the backend's types and plain bytes, and
//! none of the crate's own (keys, signatures), so nothing here depends back on them.
//!
//! SHA-1 for the legacy `rsa-sha1` body hash stays with ring in `canon` (it is no signature
//! operation), and SHA-256 with sha2.

#[cfg(not(feature = "aws-lc"))]
use ring as backend;

#[cfg(feature = "aws-lc")]
use aws_lc_rs as backend;

use backend::signature as sig;
use backend::signature::KeyPair as _;

/// The name of the signature backend built in: `"ring"` or `"aws-lc"`.
#[cfg(not(feature = "aws-lc"))]
pub const BACKEND: &str = "ring";

/// The name of the signature backend built in: `"ring"` or `"aws-lc"`.
#[cfg(feature = "aws-lc")]
pub const BACKEND: &str = "aws-lc";

/// A private key of the backend.
pub(crate) enum KeyPair {
    Rsa(sig::RsaKeyPair),
    Ed25519(ed25519::Signer),
}

/// The backend's words for why it refused a key.
pub(crate) type Rejected = String;

impl KeyPair {
    /// An RSA key from PKCS#8 DER (RFC 5208).
    pub(crate) fn rsa_from_pkcs8(der: &[u8]) -> Result<KeyPair, Rejected> {
        sig::RsaKeyPair::from_pkcs8(der)
            .map(KeyPair::Rsa)
            .map_err(|e| e.to_string())
    }

    /// An Ed25519 key from PKCS#8 DER (v1 or v2, RFC 8410), read by the backend (which
    /// checks a v2 key's public key against its seed).
    pub(crate) fn ed25519_from_pkcs8(der: &[u8]) -> Result<KeyPair, Rejected> {
        ed25519::Signer::from_pkcs8(der).map(KeyPair::Ed25519)
    }

    /// An Ed25519 key from its 32-byte seed (RFC 8032 §5.1.5), read by the backend.
    pub(crate) fn ed25519_from_seed(seed: &[u8]) -> Result<KeyPair, Rejected> {
        ed25519::Signer::from_seed(seed).map(KeyPair::Ed25519)
    }

    /// The public key as the backend writes it: a DER RSAPublicKey (RFC 8017 §A.1.1) for RSA,
    /// the raw 32 bytes for Ed25519.
    pub(crate) fn public_key_bytes(&self) -> &[u8] {
        match self {
            KeyPair::Rsa(pair) => pair.public_key().as_ref(),
            KeyPair::Ed25519(signer) => signer.public_key(),
        }
    }

    /// Signs: RSASSA-PKCS1-v1_5 with SHA-256 over `data` (RFC 6376 §3.3.1), or Ed25519 over
    /// `data` as given (DKIM passes the SHA-256 digest, RFC 8463 §3). `None` when the backend
    /// fails (ring checks every RSA signature before returning it).
    pub(crate) fn sign(&self, data: &[u8]) -> Option<Vec<u8>> {
        match self {
            KeyPair::Rsa(pair) => {
                let rng = backend::rand::SystemRandom::new();
                let mut out = vec![0u8; rsa_modulus_len(pair)];
                pair.sign(&sig::RSA_PKCS1_SHA256, &rng, data, &mut out)
                    .ok()?;
                Some(out)
            }
            KeyPair::Ed25519(signer) => Some(signer.sign(data)),
        }
    }
}

#[cfg(not(feature = "aws-lc"))]
fn rsa_modulus_len(pair: &sig::RsaKeyPair) -> usize {
    pair.public().modulus_len()
}

#[cfg(feature = "aws-lc")]
fn rsa_modulus_len(pair: &sig::RsaKeyPair) -> usize {
    pair.public_modulus_len()
}

/// The verification parameters for an RSA key of `bits` (RFC 8301 §3.2 leaves 1024-2047-bit
/// keys to the caller's policy, hence the legacy range); `sha1` for `rsa-sha1`.
fn rsa_params(sha1: bool, bits: usize) -> &'static sig::RsaParameters {
    match sha1 {
        true => &sig::RSA_PKCS1_1024_8192_SHA1_FOR_LEGACY_USE_ONLY,
        false if bits >= 2048 => &sig::RSA_PKCS1_2048_8192_SHA256,
        false => &sig::RSA_PKCS1_1024_8192_SHA256_FOR_LEGACY_USE_ONLY,
    }
}

/// Checks an RSASSA-PKCS1-v1_5 signature (SHA-256, or SHA-1 when `sha1`) with the key's
/// modulus `n` and exponent `e` (big-endian), its size in `bits`, and what the backend keeps
/// for the key (`prepared`).
pub(crate) fn verify_rsa(
    prepared: &Prepared,
    (n, e): (&[u8], &[u8]),
    bits: usize,
    sha1: bool,
    data: &[u8],
    signature: &[u8],
) -> bool {
    prepared.verify_rsa(rsa_params(sha1, bits), n, e, data, signature)
}

/// What an Ed25519 [`PublicKey`](crate::PublicKey) keeps for the backend, made on first use:
/// under ring, dalek's decompressed key; nothing under `aws-lc`.
pub(crate) type Ed25519Kept = ed25519::Kept;

/// Checks an Ed25519 signature over `message` (RFC 8032 §5.1.7) with the key `key`, through
/// what `kept` keeps for it.
pub(crate) use ed25519::verify as verify_ed25519;

/// Ed25519 under ring: ed25519-dalek signs and verifies (measured faster than ring at both:
/// BENCHMARKS.md). The key is still read by ring (PKCS#8 or seed), so the key formats and
/// their errors are ring's.
#[cfg(not(feature = "aws-lc"))]
mod ed25519 {
    use super::{Rejected, sig};
    use ed25519_dalek as dalek;

    /// A private key that signs with dalek.
    pub(crate) struct Signer {
        key: dalek::SigningKey,
    }

    impl Signer {
        /// A key from PKCS#8 DER: read (and so checked) by ring, signed with by dalek from
        /// the seed the file holds (RFC 8410 §7).
        pub(super) fn from_pkcs8(der: &[u8]) -> Result<Signer, Rejected> {
            let pair =
                sig::Ed25519KeyPair::from_pkcs8_maybe_unchecked(der).map_err(|e| e.to_string())?;
            let seed = crate::asn1::ed25519_pkcs8_seed(der)
                .ok_or_else(|| "no 32-byte seed (RFC 8410 §7 CurvePrivateKey)".to_owned())?;
            Signer::new(&pair, &seed)
        }

        /// A key from its 32-byte seed, read by ring as well.
        pub(super) fn from_seed(seed: &[u8]) -> Result<Signer, Rejected> {
            let pair = sig::Ed25519KeyPair::from_seed_unchecked(seed).map_err(|e| e.to_string())?;
            let seed = seed
                .try_into()
                .map_err(|_| "an Ed25519 seed is 32 bytes".to_owned())?;
            Signer::new(&pair, seed)
        }

        /// The signer for `pair`, a key ring has read, made from `seed`.
        fn new(pair: &sig::Ed25519KeyPair, seed: &[u8; 32]) -> Result<Signer, Rejected> {
            use super::sig::KeyPair as _;
            let key = dalek::SigningKey::from_bytes(seed);
            // The same public key, or the seed is not the one ring read.
            if key.verifying_key().as_bytes()[..] != *pair.public_key().as_ref() {
                return Err("the public key does not belong to the private key".to_owned());
            }
            Ok(Signer { key })
        }

        /// The raw 32-byte public key.
        pub(super) fn public_key(&self) -> &[u8] {
            AsRef::<dalek::VerifyingKey>::as_ref(&self.key).as_bytes()
        }

        /// The 64-byte signature of `data` (RFC 8032 §5.1.6; deterministic, the same bytes as
        /// ring's).
        pub(super) fn sign(&self, data: &[u8]) -> Vec<u8> {
            dalek::Signer::sign(&self.key, data).to_bytes().to_vec()
        }
    }

    /// dalek's decompressed key (`None`: the bytes are no point of the curve), made at the
    /// first verification and kept with the [`PublicKey`](crate::PublicKey): a key cached by
    /// [`crate::KeyCache`] is decompressed once. A `OnceBox` (one pointer, where a `OnceLock`
    /// of a box takes two words), so that a key record is at most 128 bytes, which the
    /// compiler moves without a `memmove` call. Two threads verifying with a new key at once
    /// may both decompress it; one result is kept.
    pub(crate) type Kept = once_cell::race::OnceBox<Option<dalek::VerifyingKey>>;

    /// dalek's `verify`, not `verify_strict`: the cofactorless check `[S]B = R + [k]A` with
    /// `S` below the group order and `R` compared as encoded, as ring checks it. It accepts
    /// exactly what ring accepts on the cases of `crypto_tests.rs` (small-order and
    /// non-canonical keys and `R` included, which `verify_strict` refuses and ring does not).
    pub(crate) fn verify(kept: &Kept, key: &[u8; 32], message: &[u8], signature: &[u8]) -> bool {
        let Ok(signature) = dalek::Signature::from_slice(signature) else {
            return false; // not 64 bytes
        };
        kept.get_or_init(|| Box::new(dalek::VerifyingKey::from_bytes(key).ok()))
            .as_ref()
            .is_some_and(|k| dalek::Verifier::verify(k, message, &signature).is_ok())
    }
}

/// Ed25519 under `aws-lc`: AWS-LC signs and verifies. Its signing is faster than dalek's; its
/// verification measured level with dalek's in the side-by-side row, and it refuses
/// non-canonical key encodings (RFC 8032 §5.1.3) that ring and dalek accept, so using dalek
/// here would change this build's verdicts.
#[cfg(feature = "aws-lc")]
mod ed25519 {
    use super::{Rejected, sig};

    /// A private key that signs with AWS-LC.
    pub(crate) struct Signer {
        pair: sig::Ed25519KeyPair,
    }

    impl Signer {
        /// A key from PKCS#8 DER, read by AWS-LC.
        pub(super) fn from_pkcs8(der: &[u8]) -> Result<Signer, Rejected> {
            sig::Ed25519KeyPair::from_pkcs8_maybe_unchecked(der)
                .map(|pair| Signer { pair })
                .map_err(|e| e.to_string())
        }

        /// A key from its 32-byte seed, read by AWS-LC.
        pub(super) fn from_seed(seed: &[u8]) -> Result<Signer, Rejected> {
            sig::Ed25519KeyPair::from_seed_unchecked(seed)
                .map(|pair| Signer { pair })
                .map_err(|e| e.to_string())
        }

        /// The raw 32-byte public key.
        pub(super) fn public_key(&self) -> &[u8] {
            use super::sig::KeyPair as _;
            self.pair.public_key().as_ref()
        }

        /// The 64-byte signature of `data` (RFC 8032 §5.1.6).
        pub(super) fn sign(&self, data: &[u8]) -> Vec<u8> {
            self.pair.sign(data).as_ref().to_vec()
        }
    }

    /// Nothing: AWS-LC reads the key at each verification.
    #[derive(Debug, Default, Clone)]
    pub(crate) struct Kept;

    pub(crate) fn verify(_: &Kept, key: &[u8; 32], message: &[u8], signature: &[u8]) -> bool {
        sig::UnparsedPublicKey::new(&sig::ED25519, key)
            .verify(message, signature)
            .is_ok()
    }
}

/// What an RSA [`PublicKey`](crate::PublicKey) keeps for the backend: AWS-LC's parsed RSA key,
/// made on first use (one per parameter set: `rsa-sha1` and `rsa-sha256` use the same key with
/// different digests). Nothing under ring, whose API parses the components at each
/// verification. The slots are allocated at the first verification, not when the key record
/// is read, and shared by the clones made after it. Kept in the key's RSA variant, as an
/// Ed25519 key keeps its [`Ed25519Kept`] in its own: beside the key's material it made every
/// key record 16 bytes larger under `aws-lc`, too large to be moved without a `memmove` call.
#[derive(Default, Clone)]
pub(crate) struct Prepared {
    #[cfg(feature = "aws-lc")]
    rsa: std::sync::OnceLock<std::sync::Arc<RsaSlots>>,
}

/// AWS-LC's parsed RSA key, one slot per parameter set.
#[cfg(feature = "aws-lc")]
type RsaSlots = [std::sync::OnceLock<Option<sig::ParsedPublicKey>>; 3];

impl Prepared {
    #[cfg(not(feature = "aws-lc"))]
    fn verify_rsa(
        &self,
        params: &'static sig::RsaParameters,
        n: &[u8],
        e: &[u8],
        data: &[u8],
        signature: &[u8],
    ) -> bool {
        sig::RsaPublicKeyComponents { n, e }
            .verify(params, data, signature)
            .is_ok()
    }

    #[cfg(feature = "aws-lc")]
    fn verify_rsa(
        &self,
        params: &'static sig::RsaParameters,
        n: &[u8],
        e: &[u8],
        data: &[u8],
        signature: &[u8],
    ) -> bool {
        let slot = [
            &sig::RSA_PKCS1_2048_8192_SHA256,
            &sig::RSA_PKCS1_1024_8192_SHA256_FOR_LEGACY_USE_ONLY,
            &sig::RSA_PKCS1_1024_8192_SHA1_FOR_LEGACY_USE_ONLY,
        ]
        .iter()
        .position(|p| std::ptr::eq(*p, params));
        let Some(slot) = slot else {
            return sig::RsaPublicKeyComponents { n, e }
                .verify(params, data, signature)
                .is_ok();
        };
        self.rsa.get_or_init(Default::default)[slot]
            .get_or_init(|| {
                sig::RsaPublicKeyComponents { n, e }
                    .to_parsed_public_key(params)
                    .ok()
            })
            .as_ref()
            .is_some_and(|p| p.verify_sig(data, signature).is_ok())
    }
}

impl std::fmt::Debug for Prepared {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Prepared")
    }
}

/// Always equal: a cache derived from the key, not part of its value.
impl PartialEq for Prepared {
    fn eq(&self, _: &Prepared) -> bool {
        true
    }
}

impl Eq for Prepared {}
