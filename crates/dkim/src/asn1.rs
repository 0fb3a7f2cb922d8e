//! The ASN.1 structures DKIM keys use, read and written with the RustCrypto DER crates (`der`,
//! `spki`, `pkcs1`, `pkcs8`): SubjectPublicKeyInfo (RFC 5280 §4.1.2.7), RSAPublicKey (RFC 8017
//! §A.1.1) and the algorithm of a PKCS#8 PrivateKeyInfo / OneAsymmetricKey (RFC 5208 §5, RFC
//! 5958 §2). Key records are untrusted input from DNS: only strict DER is accepted (RFC 6376
//! §3.6.1 says `p=` is DER), and no input makes these functions panic.
//!
//! One exception to the crates: the RSA key in the form nearly every record publishes is read
//! by [`rsa_spki_usual`], a few byte comparisons for that one shape (the `der` crate's general
//! reader was half the instructions of parsing a key record). It accepts nothing the full read
//! refuses and gives the same numbers (property-tested); anything else goes to the full read.

use der::asn1::{AnyRef, BitStringRef, UintRef};
use der::{Decode as _, Encode as _};
use spki::{AlgorithmIdentifierRef, ObjectIdentifier, SubjectPublicKeyInfoRef};

/// rsaEncryption, 1.2.840.113549.1.1.1 (RFC 8017 §A.1).
pub(crate) const OID_RSA_ENCRYPTION: ObjectIdentifier =
    ObjectIdentifier::new_unwrap("1.2.840.113549.1.1.1");
/// id-Ed25519, 1.3.101.112 (RFC 8410 §3).
pub(crate) const OID_ED25519: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.3.101.112");

/// A human name for a key algorithm OID, for error messages.
pub(crate) fn oid_name(oid: ObjectIdentifier) -> &'static str {
    match oid.to_string().as_str() {
        "1.2.840.113549.1.1.1" => "RSA",
        "1.3.101.112" => "Ed25519",
        "1.3.101.113" => "Ed448",
        "1.3.101.110" => "X25519",
        "1.3.101.111" => "X448",
        "1.2.840.10045.2.1" => "elliptic curve (id-ecPublicKey)",
        "1.2.840.10040.4.1" => "DSA",
        "1.2.840.113549.1.1.10" => "RSASSA-PSS",
        _ => "an unknown algorithm",
    }
}

/// Number of significant bits of a big-endian magnitude without leading zeros.
pub(crate) fn bit_len(magnitude: &[u8]) -> usize {
    match magnitude.first() {
        None => 0,
        Some(&b) => (magnitude.len() - 1) * 8 + (8 - b.leading_zeros() as usize),
    }
}

/// RSAPublicKey ::= SEQUENCE { modulus INTEGER, publicExponent INTEGER } (RFC 8017 §A.1.1):
/// `(n, e)` as big-endian magnitudes without leading zeros, or `None` when the bytes are not
/// exactly that structure in DER (negative or zero-padded integers and trailing bytes
/// included).
pub(crate) fn rsa_public_key(der_bytes: &[u8]) -> Option<(&[u8], &[u8])> {
    let key = pkcs1::RsaPublicKey::from_der(der_bytes).ok()?;
    let n = key.modulus.as_bytes();
    let e = key.public_exponent.as_bytes();
    if n.first().is_none_or(|&b| b == 0) || e.first().is_none_or(|&b| b == 0) {
        return None; // zero
    }
    Some((n, e))
}

/// The AlgorithmIdentifier of an RSA key as nearly every key is published, whole: a SEQUENCE
/// of rsaEncryption and NULL parameters (RFC 3279 §2.3.1, RFC 8017 §A.1).
const RSA_ALGORITHM: [u8; 15] = [
    0x30, 0x0d, 0x06, 0x09, 0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x01, 0x01, 0x05, 0x00,
];

/// The modulus and exponent of an RSA key published in the usual form, read without the `der`
/// crate: a SubjectPublicKeyInfo (RFC 5280 §4.1.2.7) whose AlgorithmIdentifier is exactly
/// [`RSA_ALGORITHM`], whose BIT STRING has no unused bits and holds an RSAPublicKey (RFC 8017
/// §A.1.1) of two positive INTEGERs in minimal form, every length definite and minimal (X.690
/// §10.1) in at most three bytes, nothing after any of it. The same `(n, e)` as [`spki`] then
/// [`rsa_public_key`] give (a property test compares them); `None` for anything else, which
/// those two then read.
pub(crate) fn rsa_spki_usual(der_bytes: &[u8]) -> Option<(&[u8], &[u8])> {
    let key = whole(der_bytes, 0x30)?.strip_prefix(&RSA_ALGORITHM)?;
    let rsa = whole(key, 0x03)?.strip_prefix(&[0])?; // no unused bits
    let (n, rest) = tlv(whole(rsa, 0x30)?, 0x02)?;
    let e = whole(rest, 0x02)?;
    Some((positive(n)?, positive(e)?))
}

/// The content of the value of tag `tag` that `b` holds, nothing after it.
fn whole(b: &[u8], tag: u8) -> Option<&[u8]> {
    match tlv(b, tag)? {
        (content, []) => Some(content),
        _ => None,
    }
}

/// A value of tag `tag` at the start of `b`: `(content, what follows)`. The length is the
/// short form or the minimal long form of one or two bytes.
fn tlv(b: &[u8], tag: u8) -> Option<(&[u8], &[u8])> {
    // Byte by byte rather than as slice patterns with guards, which compiled to a test of
    // each pattern's length and tag in turn.
    let (&[t, l], rest) = b.split_first_chunk::<2>()?;
    if t != tag {
        return None;
    }
    let (len, rest) = match l {
        0..=0x7f => (usize::from(l), rest),
        0x81 => match rest.split_first()? {
            (&l, rest) if l >= 0x80 => (usize::from(l), rest),
            _ => return None,
        },
        0x82 => match rest.split_first_chunk::<2>()? {
            (&[h, l], rest) if h != 0 => (usize::from(h) << 8 | usize::from(l), rest),
            _ => return None,
        },
        _ => return None,
    };
    rest.split_at_checked(len)
}

/// The magnitude of a positive INTEGER's content in minimal form: a leading zero only before a
/// byte with its top bit set, no top bit set in the first byte, not zero.
fn positive(content: &[u8]) -> Option<&[u8]> {
    match *content {
        [0, b, ..] if b >= 0x80 => content.get(1..),
        [b, ..] if b != 0 && b < 0x80 => Some(content),
        _ => None,
    }
}

/// SubjectPublicKeyInfo ::= SEQUENCE { algorithm AlgorithmIdentifier, subjectPublicKey BIT
/// STRING } (RFC 5280 §4.1.2.7): `(algorithm OID, key bytes)`, or `None` when the bytes are
/// not that structure in DER or the BIT STRING has unused bits.
pub(crate) fn spki(der_bytes: &[u8]) -> Option<(ObjectIdentifier, &[u8])> {
    let info = SubjectPublicKeyInfoRef::from_der(der_bytes).ok()?;
    Some((info.algorithm.oid, info.subject_public_key.as_bytes()?))
}

/// The algorithm OID of a PKCS#8 PrivateKeyInfo (RFC 5208 §5) or OneAsymmetricKey (RFC 5958
/// §2: v2, with the public key), or `None` when the bytes are not one.
pub(crate) fn pkcs8_algorithm(der_bytes: &[u8]) -> Option<ObjectIdentifier> {
    pkcs8::PrivateKeyInfo::from_der(der_bytes)
        .ok()
        .map(|info| info.algorithm.oid)
}

/// The 32-byte seed of a PKCS#8 Ed25519 private key (RFC 8410 §7: the privateKey OCTET STRING
/// holds a `CurvePrivateKey`, itself an OCTET STRING of the 32-byte seed of RFC 8032 §5.1.5),
/// or `None` when the bytes are not one.
#[cfg_attr(
    feature = "aws-lc",
    allow(
        dead_code,
        reason = "only the ring build signs Ed25519 from the seed, with dalek"
    )
)]
pub(crate) fn ed25519_pkcs8_seed(der_bytes: &[u8]) -> Option<[u8; 32]> {
    let info = pkcs8::PrivateKeyInfo::from_der(der_bytes).ok()?;
    if info.algorithm.oid != OID_ED25519 {
        return None;
    }
    let seed = der::asn1::OctetStringRef::from_der(info.private_key).ok()?;
    seed.as_bytes().try_into().ok()
}

/// True when `der_bytes` is a PKCS#1 RSAPrivateKey (RFC 8017 §A.1.2).
pub(crate) fn is_pkcs1_private_key(der_bytes: &[u8]) -> bool {
    pkcs1::RsaPrivateKey::from_der(der_bytes).is_ok()
}

/// The SubjectPublicKeyInfo of an RSA key (the form `openssl rsa -pubout` writes and most DKIM
/// records publish), from its modulus and exponent; `None` only if they cannot be encoded.
pub(crate) fn rsa_spki(n: &[u8], e: &[u8]) -> Option<Vec<u8>> {
    let rsa = pkcs1::RsaPublicKey {
        modulus: UintRef::new(n).ok()?,
        public_exponent: UintRef::new(e).ok()?,
    }
    .to_der()
    .ok()?;
    SubjectPublicKeyInfoRef {
        algorithm: AlgorithmIdentifierRef {
            oid: OID_RSA_ENCRYPTION,
            parameters: Some(AnyRef::NULL),
        },
        subject_public_key: BitStringRef::from_bytes(&rsa).ok()?,
    }
    .to_der()
    .ok()
}

/// The PKCS#8 **v1** encoding of an Ed25519 private key (RFC 8410 §7): version 0, algorithm
/// id-Ed25519 without parameters, the 32-byte seed as a `CurvePrivateKey` OCTET STRING inside
/// the privateKey OCTET STRING, and no public key.
pub(crate) fn ed25519_pkcs8_v1(seed: &[u8; 32]) -> Option<Vec<u8>> {
    let mut curve_private_key = Vec::with_capacity(34);
    curve_private_key.extend_from_slice(&[0x04, 0x20]);
    curve_private_key.extend_from_slice(seed);
    pkcs8::PrivateKeyInfo::new(
        AlgorithmIdentifierRef {
            oid: OID_ED25519,
            parameters: None,
        },
        &curve_private_key,
    )
    .to_der()
    .ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rsa_public_key_der(n: &[u8], e: &[u8]) -> Vec<u8> {
        pkcs1::RsaPublicKey {
            modulus: UintRef::new(n).unwrap(),
            public_exponent: UintRef::new(e).unwrap(),
        }
        .to_der()
        .unwrap()
    }

    #[test]
    fn round_trip_rsa_public_key_and_spki() {
        let n = [0x80u8; 200];
        let der_bytes = rsa_public_key_der(&n, &[1, 0, 1]);
        let (pn, pe) = rsa_public_key(&der_bytes).unwrap();
        assert_eq!(pn, n);
        assert_eq!(pe, [1, 0, 1]);
        assert_eq!(bit_len(pn), 1600);
        let spki_der = rsa_spki(&n, &[1, 0, 1]).unwrap();
        let (oid, key) = spki(&spki_der).unwrap();
        assert_eq!(oid, OID_RSA_ENCRYPTION);
        assert_eq!(key, der_bytes);
        assert_eq!(oid_name(oid), "RSA");
    }

    /// The full read: [`spki`] with the RSA OID, then [`rsa_public_key`].
    fn full_read(der_bytes: &[u8]) -> Option<(&[u8], &[u8])> {
        match spki(der_bytes)? {
            (oid, key) if oid == OID_RSA_ENCRYPTION => rsa_public_key(key),
            _ => None,
        }
    }

    #[test]
    fn rsa_spki_usual_reads_the_usual_form_and_leaves_the_rest_to_spki() {
        // Moduli of 1024 to 4096 bits (two-byte lengths), and small ones (one-byte and short
        // lengths), with the exponents seen in the wild.
        for n_len in [1, 40, 64, 120, 127, 128, 200, 256, 512] {
            for e in [&[3u8][..], &[1, 0, 1], &[0x80], &[0xff, 0xff]] {
                let n: Vec<u8> = (0..n_len).map(|i| (i as u8) | 0x81).collect();
                let spki_der = rsa_spki(&n, e).unwrap();
                assert_eq!(
                    rsa_spki_usual(&spki_der),
                    Some((&n[..], e)),
                    "{n_len} {e:?}"
                );
                assert_eq!(full_read(&spki_der), Some((&n[..], e)));
            }
        }
        let n = [0x80u8; 200];
        let key = rsa_public_key_der(&n, &[1, 0, 1]);
        // Absent parameters: a valid SPKI, read by `spki` only.
        let bare = SubjectPublicKeyInfoRef {
            algorithm: AlgorithmIdentifierRef {
                oid: OID_RSA_ENCRYPTION,
                parameters: None,
            },
            subject_public_key: BitStringRef::from_bytes(&key).unwrap(),
        }
        .to_der()
        .unwrap();
        assert_eq!(rsa_spki_usual(&bare), None);
        assert_eq!(full_read(&bare), Some((&n[..], &[1, 0, 1][..])));
        // A bare RSAPublicKey, and a length in a non-minimal long form, are not the usual form.
        assert_eq!(rsa_spki_usual(&key), None);
        let long = [0x30, 0x81, 0x03, 0x02, 0x01, 0x03];
        assert_eq!(rsa_spki_usual(&long), None);
        assert_eq!(spki(&long), None);
    }

    proptest::proptest! {
        /// Whatever the quick read accepts, the full read (`spki`, then `pkcs1`) accepts with
        /// the same modulus and exponent: on damaged forms of real keys of several sizes,
        /// edited mostly in their headers (the first 40 bytes, the exponent at the end), cut
        /// short or lengthened.
        #[test]
        fn rsa_spki_usual_accepts_only_what_the_full_read_accepts(
            n_len in 1usize..300,
            n_first in proptest::prelude::any::<u8>(),
            e in proptest::collection::vec(proptest::prelude::any::<u8>(), 1..5),
            edits in proptest::collection::vec(
                (proptest::prelude::any::<bool>(), 0usize..40, proptest::prelude::any::<u8>()),
                0..4,
            ),
            cut in 0usize..8,
            extra in proptest::collection::vec(proptest::prelude::any::<u8>(), 0..3),
        ) {
            let mut n = vec![0x5au8; n_len];
            n[0] = n_first;
            let Some(mut der_bytes) = rsa_spki(&n, &e) else {
                return Ok(());
            };
            let len = der_bytes.len();
            for (from_end, at, byte) in edits {
                let at = if from_end { len.saturating_sub(at % 12 + 1) } else { at };
                if let Some(b) = der_bytes.get_mut(at) {
                    *b = byte;
                }
            }
            der_bytes.truncate(len.saturating_sub(cut % 4));
            der_bytes.extend_from_slice(&extra);
            let quick = rsa_spki_usual(&der_bytes);
            if quick.is_some() {
                proptest::prop_assert_eq!(quick, full_read(&der_bytes));
            }
        }

        /// The quick read accepts every well-formed usual key, whatever its numbers.
        #[test]
        fn rsa_spki_usual_reads_every_usual_key(
            n in proptest::collection::vec(proptest::prelude::any::<u8>(), 1..600),
            e in proptest::collection::vec(proptest::prelude::any::<u8>(), 1..5),
        ) {
            if let Some(der_bytes) = rsa_spki(&n, &e) {
                proptest::prop_assert_eq!(rsa_spki_usual(&der_bytes), full_read(&der_bytes));
            }
        }
    }

    #[test]
    fn hostile_der_is_rejected_not_panicking() {
        for bad in [
            &b""[..],
            &[0x30],
            &[0x30, 0x80],
            &[0x30, 0x85, 1, 1, 1, 1, 1],
            &[0x30, 0x84, 0xff, 0xff, 0xff, 0xff],
            &[0x30, 0x03, 0x02, 0x01],
            &[0x30, 0x06, 0x02, 0x01, 0x80, 0x02, 0x01, 0x03], // negative modulus
            &[0x30, 0x06, 0x02, 0x01, 0x00, 0x02, 0x01, 0x03], // zero modulus
            &[0x30, 0x02, 0x02, 0x00],
        ] {
            assert!(rsa_public_key(bad).is_none());
            assert!(spki(bad).is_none());
            assert!(rsa_spki_usual(bad).is_none());
            assert!(pkcs8_algorithm(bad).is_none());
            assert!(!is_pkcs1_private_key(bad));
        }
        assert_eq!(bit_len(&[]), 0);
        assert_eq!(bit_len(&[1]), 1);
    }

    #[test]
    fn rfc8410_7_ed25519_v1_encoding() {
        let der_bytes = ed25519_pkcs8_v1(&[7; 32]).unwrap();
        assert_eq!(
            der_bytes[..16],
            [
                0x30, 0x2e, 0x02, 0x01, 0x00, 0x30, 0x05, 0x06, 0x03, 0x2b, 0x65, 0x70, 0x04, 0x22,
                0x04, 0x20
            ]
        );
        assert_eq!(pkcs8_algorithm(&der_bytes), Some(OID_ED25519));
        assert_eq!(ed25519_pkcs8_seed(&der_bytes), Some([7; 32]));
        // Not Ed25519, or a seed of another length: no seed.
        let mut short = der_bytes.clone();
        short[1] -= 1;
        short[13] -= 1;
        short[15] -= 1;
        short.pop();
        assert_eq!(pkcs8_algorithm(&short), Some(OID_ED25519));
        assert_eq!(ed25519_pkcs8_seed(&short), None);
        assert_eq!(ed25519_pkcs8_seed(&der_bytes[..40]), None);
    }
}
