//! The ASN.1 structures DKIM keys use, read and written with the RustCrypto DER crates (`der`,
//! `spki`, `pkcs1`, `pkcs8`): SubjectPublicKeyInfo (RFC 5280 §4.1.2.7), RSAPublicKey (RFC 8017
//! §A.1.1) and the algorithm of a PKCS#8 PrivateKeyInfo / OneAsymmetricKey (RFC 5208 §5, RFC
//! 5958 §2). Key records are untrusted input from DNS: only strict DER is accepted (RFC 6376
//! §3.6.1 says `p=` is DER), and no input makes these functions panic.

use der::asn1::{AnyRef, BitStringRef, UintRef};
use der::{Decode as _, Encode as _, Reader as _};
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

/// The content of the AlgorithmIdentifier of an RSA key as nearly every key is published:
/// rsaEncryption with NULL parameters (RFC 3279 §2.3.1, RFC 8017 §A.1).
const RSA_ALGORITHM: [u8; 13] = [
    0x06, 0x09, 0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x01, 0x01, 0x05, 0x00,
];

/// The key bytes of a SubjectPublicKeyInfo (RFC 5280 §4.1.2.7) whose AlgorithmIdentifier is
/// exactly [`RSA_ALGORITHM`], read without decoding the OID's arcs and the parameters: the
/// AlgorithmIdentifier is read as any DER value and its content compared. Whatever this
/// accepts, [`spki`] accepts with the RSA OID and the same key bytes; `None` for anything
/// else, which [`spki`] then reads.
pub(crate) fn rsa_spki_key(der_bytes: &[u8]) -> Option<&[u8]> {
    let mut reader = der::SliceReader::new(der_bytes).ok()?;
    let (algorithm, key) = reader
        .sequence(|r| Ok((AnyRef::decode(r)?, BitStringRef::decode(r)?)))
        .ok()?;
    let key = reader.finish(key).ok()?;
    (der::Tagged::tag(&algorithm) == der::Tag::Sequence && algorithm.value() == RSA_ALGORITHM)
        .then(|| key.as_bytes())
        .flatten()
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

    #[test]
    fn rsa_spki_key_reads_the_usual_form_and_leaves_the_rest_to_spki() {
        let n = [0x80u8; 200];
        let spki_der = rsa_spki(&n, &[1, 0, 1]).unwrap();
        let key = rsa_public_key_der(&n, &[1, 0, 1]);
        assert_eq!(rsa_spki_key(&spki_der), Some(&key[..]));
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
        assert_eq!(rsa_spki_key(&bare), None);
        assert_eq!(spki(&bare), Some((OID_RSA_ENCRYPTION, &key[..])));
        assert_eq!(rsa_spki_key(&key), None);
    }

    proptest::proptest! {
        /// Whatever the shortcut accepts, the full SubjectPublicKeyInfo reader accepts as an
        /// RSA key with the same key bytes, on damaged forms of a real key.
        #[test]
        fn rsa_spki_key_accepts_only_what_spki_accepts(
            edits in proptest::collection::vec((0usize..300, proptest::prelude::any::<u8>()), 0..3),
            cut in 0usize..320,
        ) {
            let mut der_bytes = rsa_spki(&[0x80u8; 200], &[1, 0, 1]).unwrap();
            for (at, byte) in edits {
                if let Some(b) = der_bytes.get_mut(at) {
                    *b = byte;
                }
            }
            der_bytes.truncate(cut);
            if let Some(key) = rsa_spki_key(&der_bytes) {
                proptest::prop_assert_eq!(spki(&der_bytes), Some((OID_RSA_ENCRYPTION, key)));
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
            assert!(rsa_spki_key(bad).is_none());
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
