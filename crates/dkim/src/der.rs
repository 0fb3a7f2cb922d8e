//! The few DER (X.690) structures DKIM keys use: SubjectPublicKeyInfo (RFC 5280 §4.1),
//! RSAPublicKey (RFC 8017 §A.1.1) and the algorithm of a PKCS#8 PrivateKeyInfo (RFC 5208 §5).
//! Read-only parsing of untrusted bytes never panics; the writer only wraps known-good keys.

pub(crate) const TAG_INTEGER: u8 = 0x02;
pub(crate) const TAG_BIT_STRING: u8 = 0x03;
pub(crate) const TAG_OCTET_STRING: u8 = 0x04;
pub(crate) const TAG_NULL: u8 = 0x05;
pub(crate) const TAG_OID: u8 = 0x06;
pub(crate) const TAG_SEQUENCE: u8 = 0x30;

/// rsaEncryption, 1.2.840.113549.1.1.1 (RFC 8017 §A.1).
pub(crate) const OID_RSA_ENCRYPTION: &[u8] =
    &[0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x01, 0x01];
/// id-Ed25519, 1.3.101.112 (RFC 8410 §3).
pub(crate) const OID_ED25519: &[u8] = &[0x2b, 0x65, 0x70];

/// A human name for a key algorithm OID, for error messages.
pub(crate) fn oid_name(oid: &[u8]) -> &'static str {
    match oid {
        OID_RSA_ENCRYPTION => "RSA",
        OID_ED25519 => "Ed25519",
        [0x2b, 0x65, 0x71] => "Ed448",
        [0x2b, 0x65, 0x6e] => "X25519",
        [0x2b, 0x65, 0x6f] => "X448",
        [0x2a, 0x86, 0x48, 0xce, 0x3d, 0x02, 0x01] => "elliptic curve (id-ecPublicKey)",
        [0x2a, 0x86, 0x48, 0xce, 0x38, 0x04, 0x01] => "DSA",
        [0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x01, 0x0a] => "RSASSA-PSS",
        _ => "an unknown algorithm",
    }
}

/// Reads one TLV: `(tag, content, rest)`. Definite lengths of up to 4 length octets only.
pub(crate) fn read_tlv(input: &[u8]) -> Option<(u8, &[u8], &[u8])> {
    let (&tag, rest) = input.split_first()?;
    let (&first, rest) = rest.split_first()?;
    let (len, rest) = if first < 0x80 {
        (usize::from(first), rest)
    } else {
        let n = usize::from(first & 0x7f);
        if n == 0 || n > 4 || rest.len() < n {
            return None;
        }
        let len = rest[..n]
            .iter()
            .fold(0usize, |acc, &b| (acc << 8) | usize::from(b));
        (len, &rest[n..])
    };
    if rest.len() < len {
        return None;
    }
    Some((tag, &rest[..len], &rest[len..]))
}

/// Reads a TLV with the expected tag.
pub(crate) fn expect(input: &[u8], tag: u8) -> Option<(&[u8], &[u8])> {
    match read_tlv(input)? {
        (t, content, rest) if t == tag => Some((content, rest)),
        _ => None,
    }
}

/// A positive INTEGER's magnitude without leading zero octets.
fn unsigned(content: &[u8]) -> Option<&[u8]> {
    if content.first().is_some_and(|&b| b & 0x80 != 0) {
        return None; // negative
    }
    let start = content.iter().position(|&b| b != 0)?;
    Some(&content[start..])
}

/// Number of significant bits of a big-endian magnitude without leading zeros.
pub(crate) fn bit_len(magnitude: &[u8]) -> usize {
    match magnitude.first() {
        None => 0,
        Some(&b) => (magnitude.len() - 1) * 8 + (8 - b.leading_zeros() as usize),
    }
}

/// RSAPublicKey ::= SEQUENCE { modulus INTEGER, publicExponent INTEGER }: `(n, e)` without
/// leading zeros, or `None` when the bytes are not exactly that.
pub(crate) fn rsa_public_key(der: &[u8]) -> Option<(&[u8], &[u8])> {
    let (seq, rest) = expect(der, TAG_SEQUENCE)?;
    if !rest.is_empty() {
        return None;
    }
    let (n, seq) = expect(seq, TAG_INTEGER)?;
    let (e, seq) = expect(seq, TAG_INTEGER)?;
    if !seq.is_empty() {
        return None;
    }
    Some((unsigned(n)?, unsigned(e)?))
}

/// SubjectPublicKeyInfo ::= SEQUENCE { algorithm AlgorithmIdentifier, subjectPublicKey BIT
/// STRING }: `(algorithm OID, key bytes)`.
pub(crate) fn spki(der: &[u8]) -> Option<(&[u8], &[u8])> {
    let (seq, rest) = expect(der, TAG_SEQUENCE)?;
    if !rest.is_empty() {
        return None;
    }
    let (alg, seq) = expect(seq, TAG_SEQUENCE)?;
    let (oid, _params) = expect(alg, TAG_OID)?;
    let (bits, seq) = expect(seq, TAG_BIT_STRING)?;
    if !seq.is_empty() {
        return None;
    }
    let (&unused, key) = bits.split_first()?;
    if unused != 0 {
        return None;
    }
    Some((oid, key))
}

/// The algorithm OID of a PKCS#8 PrivateKeyInfo / OneAsymmetricKey (RFC 5208 §5, RFC 5958 §2).
pub(crate) fn pkcs8_algorithm(der: &[u8]) -> Option<&[u8]> {
    let (seq, _) = expect(der, TAG_SEQUENCE)?;
    let (_version, seq) = expect(seq, TAG_INTEGER)?;
    let (alg, seq) = expect(seq, TAG_SEQUENCE)?;
    let (oid, _) = expect(alg, TAG_OID)?;
    expect(seq, TAG_OCTET_STRING)?;
    Some(oid)
}

fn push_len(out: &mut Vec<u8>, len: usize) {
    if len < 0x80 {
        out.push(len as u8);
    } else {
        let bytes = len.to_be_bytes();
        let skip = bytes
            .iter()
            .position(|&b| b != 0)
            .unwrap_or(bytes.len() - 1);
        out.push(0x80 | (bytes.len() - skip) as u8);
        out.extend_from_slice(&bytes[skip..]);
    }
}

fn tlv(tag: u8, parts: &[&[u8]]) -> Vec<u8> {
    let len: usize = parts.iter().map(|p| p.len()).sum();
    let mut out = Vec::with_capacity(len + 6);
    out.push(tag);
    push_len(&mut out, len);
    for p in parts {
        out.extend_from_slice(p);
    }
    out
}

/// Wraps an RSAPublicKey in a SubjectPublicKeyInfo (the form `openssl rsa -pubout` writes and
/// most DKIM records publish).
pub(crate) fn rsa_spki(rsa_public_key: &[u8]) -> Vec<u8> {
    let oid = tlv(TAG_OID, &[OID_RSA_ENCRYPTION]);
    let null = tlv(TAG_NULL, &[]);
    let alg = tlv(TAG_SEQUENCE, &[&oid, &null]);
    let bits = tlv(TAG_BIT_STRING, &[&[0], rsa_public_key]);
    tlv(TAG_SEQUENCE, &[&alg, &bits])
}

/// An RSAPublicKey from its modulus and exponent (big-endian magnitudes).
pub(crate) fn rsa_public_key_der(n: &[u8], e: &[u8]) -> Vec<u8> {
    fn int(m: &[u8]) -> Vec<u8> {
        let m = &m[m.iter().position(|&b| b != 0).unwrap_or(m.len())..];
        if m.first().is_none_or(|&b| b & 0x80 != 0) {
            tlv(TAG_INTEGER, &[&[0], m])
        } else {
            tlv(TAG_INTEGER, &[m])
        }
    }
    tlv(TAG_SEQUENCE, &[&int(n), &int(e)])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip_rsa_public_key_and_spki() {
        let n = [0x80u8; 200];
        let der = rsa_public_key_der(&n, &[1, 0, 1]);
        let (pn, pe) = rsa_public_key(&der).unwrap();
        assert_eq!(pn, n);
        assert_eq!(pe, [1, 0, 1]);
        assert_eq!(bit_len(pn), 1600);
        let spki_der = rsa_spki(&der);
        let (oid, key) = spki(&spki_der).unwrap();
        assert_eq!(oid, OID_RSA_ENCRYPTION);
        assert_eq!(key, der);
        assert_eq!(oid_name(oid), "RSA");
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
            &[0x30, 0x02, 0x02, 0x00],
        ] {
            assert!(rsa_public_key(bad).is_none());
            assert!(spki(bad).is_none());
            assert!(pkcs8_algorithm(bad).is_none());
        }
        assert_eq!(bit_len(&[]), 0);
        assert_eq!(bit_len(&[1]), 1);
    }
}
