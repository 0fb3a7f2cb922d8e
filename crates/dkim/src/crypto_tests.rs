//! Tests of the signature backend (`crypto.rs`), beside it rather than inside so that the
//! backend module depends on none of the crate's own types.

use crate::crypto::verify_rsa;
use crate::key::PublicKey;
use crate::signature::SigningAlgorithm;

/// [`verify_rsa`] for a [`PublicKey`] (what `check_signature` does for RSA).
fn verify_rsa_key(
    key: &PublicKey,
    algorithm: SigningAlgorithm,
    data: &[u8],
    signature: &[u8],
) -> bool {
    key.rsa_parts().is_some_and(|(ne, prepared)| {
        verify_rsa(
            prepared,
            ne,
            key.bits(),
            algorithm == SigningAlgorithm::RsaSha1,
            data,
            signature,
        )
    })
}

mod tests {
    use super::verify_rsa_key;
    use crate::crypto::*;
    use crate::key::PublicKey;
    use crate::signature::SigningAlgorithm;

    const RSA_PEM: &str =
        include_str!("../../../testdata/keys/default._domainkey.example.org.rsa2048.pem");
    const ED25519_PEM: &str =
        include_str!("../../../testdata/keys/ed25519._domainkey.example.org.pem");

    fn sha256(data: &[u8]) -> Vec<u8> {
        use sha2::Digest as _;
        sha2::Sha256::digest(data).to_vec()
    }

    #[test]
    fn backend_is_the_one_the_features_ask_for() {
        assert_eq!(
            BACKEND,
            if cfg!(feature = "aws-lc") {
                "aws-lc"
            } else {
                "ring"
            }
        );
    }

    #[test]
    fn rfc8017_rsa_sign_then_verify_and_tampering_fails() {
        let key = crate::SigningKey::from_pem(RSA_PEM).unwrap();
        let public = key.public_key();
        let signature = key.sign(b"header block").unwrap();
        assert_eq!(signature.len(), 256);
        for _ in 0..2 {
            // Twice: under aws-lc the second check uses the parsed key kept on first use.
            assert!(verify_rsa_key(
                public,
                SigningAlgorithm::RsaSha256,
                b"header block",
                &signature
            ));
        }
        assert!(!verify_rsa_key(
            public,
            SigningAlgorithm::RsaSha256,
            b"header blocK",
            &signature
        ));
        assert!(!verify_rsa_key(
            public,
            SigningAlgorithm::RsaSha1,
            b"header block",
            &signature
        ));
        // RSASSA-PKCS1-v1_5 is deterministic: the same key and data, the same signature.
        assert_eq!(key.sign(b"header block").unwrap(), signature);
    }

    #[test]
    fn rfc8032_ed25519_sign_then_verify_and_another_key_fails() {
        // The RFC 8463 Appendix A key: a valid key that did not make the signature.
        use base64::Engine as _;
        let b64 = base64::engine::general_purpose::STANDARD;
        let key: [u8; 32] = b64
            .decode("11qYAYKxCrfVS/7TyWQHOg7hcvPapiMlrwIaaPcHURo=")
            .unwrap()
            .try_into()
            .unwrap();
        let key = PublicKey::from_der(crate::KeyType::Ed25519, &key).unwrap();
        let ed = crate::SigningKey::from_pem(ED25519_PEM).unwrap();
        let digest = sha256(b"signed data");
        let signature = ed.sign(b"signed data").unwrap();
        let own = ed.public_key();
        let check = |key: &PublicKey, digest: &[u8]| {
            let (raw, kept) = key.ed25519_kept().unwrap();
            verify_ed25519(kept, raw, digest, &signature)
        };
        for _ in 0..2 {
            // Twice: the second check uses the decompressed key kept on first use.
            assert!(check(own, &digest));
            assert!(!check(own, &sha256(b"other data")));
            assert!(!check(&key, &digest));
        }
        // Ed25519 is deterministic too (RFC 8032 §5.1.6).
        assert_eq!(ed.sign(b"signed data").unwrap(), signature);
    }

    #[test]
    fn wrong_key_type_never_verifies() {
        let ed = crate::SigningKey::from_pem(ED25519_PEM).unwrap();
        assert!(!verify_rsa_key(
            ed.public_key(),
            SigningAlgorithm::RsaSha256,
            b"x",
            &[0; 256]
        ));
    }
}

/// Under the `aws-lc` feature only (run with `cargo test -p mailstamp-dkim --features aws-lc`):
/// AWS-LC and ring, both built then, agree signature for signature.
#[cfg(feature = "aws-lc")]
mod aws_lc_against_ring {
    use super::verify_rsa_key;
    use crate::crypto::*;
    use crate::key::PublicKey;
    use crate::signature::SigningAlgorithm;

    const RSA_PEM: &str =
        include_str!("../../../testdata/keys/default._domainkey.example.org.rsa2048.pem");
    const ED25519_PEM: &str =
        include_str!("../../../testdata/keys/ed25519._domainkey.example.org.pem");

    fn der(pem: &str) -> Vec<u8> {
        crate::signing_key::private_key_der(pem).unwrap().1
    }

    #[test]
    fn rsa_signatures_are_identical_and_cross_verify() {
        let der = der(RSA_PEM);
        let ours = KeyPair::rsa_from_pkcs8(&der).unwrap();
        let theirs = ring::signature::RsaKeyPair::from_pkcs8(&der).unwrap();
        let data = b"the canonical header block";
        let signature = ours.sign(data).unwrap();
        let mut expected = vec![0; theirs.public().modulus_len()];
        theirs
            .sign(
                &ring::signature::RSA_PKCS1_SHA256,
                &ring::rand::SystemRandom::new(),
                data,
                &mut expected,
            )
            .unwrap();
        assert_eq!(signature, expected);
        let public = PublicKey::from_der(crate::KeyType::Rsa, ours.public_key_bytes()).unwrap();
        let (n, e) = public.rsa_components().unwrap();
        assert!(
            ring::signature::RsaPublicKeyComponents { n, e }
                .verify(
                    &ring::signature::RSA_PKCS1_2048_8192_SHA256,
                    data,
                    &signature
                )
                .is_ok()
        );
        assert!(verify_rsa_key(
            &public,
            SigningAlgorithm::RsaSha256,
            data,
            &expected
        ));
        assert!(!verify_rsa_key(
            &public,
            SigningAlgorithm::RsaSha256,
            b"other",
            &expected
        ));
    }

    #[test]
    fn ed25519_signatures_are_identical_and_cross_verify() {
        let der = der(ED25519_PEM);
        let ours = KeyPair::ed25519_from_pkcs8(&der).unwrap();
        let theirs = ring::signature::Ed25519KeyPair::from_pkcs8_maybe_unchecked(&der).unwrap();
        let digest = [7u8; 32];
        let signature = ours.sign(&digest).unwrap();
        assert_eq!(signature, theirs.sign(&digest).as_ref());
        let key: [u8; 32] = ours.public_key_bytes().try_into().unwrap();
        assert!(
            ring::signature::UnparsedPublicKey::new(&ring::signature::ED25519, key)
                .verify(&digest, &signature)
                .is_ok()
        );
        assert!(verify_ed25519(
            &Ed25519Kept::default(),
            &key,
            &digest,
            &signature
        ));
        assert!(!verify_ed25519(
            &Ed25519Kept::default(),
            &key,
            &[8u8; 32],
            &signature
        ));
    }
}

/// ed25519-dalek (what [`verify_ed25519`](crate::crypto::verify_ed25519) runs and what signs
/// under ring, the default build) against ring: the same verdict on valid signatures, damaged
/// ones, non-canonical `S`, small-order and non-canonical keys and `R`, wrong keys and wrong
/// lengths, and the same signature bytes.
#[cfg(not(feature = "aws-lc"))]
mod dalek_against_ring {
    use crate::crypto::*;
    use ed25519_dalek as dalek;

    /// ℓ, the order of the base point (RFC 8032 §5.1), little-endian.
    const L: [u8; 32] = [
        0xed, 0xd3, 0xf5, 0x5c, 0x1a, 0x63, 0x12, 0x58, 0xd6, 0x9c, 0xf7, 0xa2, 0xde, 0xf9, 0xde,
        0x14, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x10,
    ];

    fn hex32(s: &str) -> [u8; 32] {
        let bytes: Vec<u8> = (0..64)
            .step_by(2)
            .map(|i| u8::from_str_radix(&s[i..i + 2], 16).unwrap())
            .collect();
        bytes.try_into().unwrap()
    }

    /// Encodings of the points of small order, canonical and not (the sign bit of x = 0, y at
    /// or above p), plus two byte strings that are no point at all.
    fn odd_points() -> Vec<[u8; 32]> {
        let mut points: Vec<[u8; 32]> = [
            // order 1, 2, 4, 4, 8, 8, 8, 8
            "0100000000000000000000000000000000000000000000000000000000000000",
            "ecffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f",
            "0000000000000000000000000000000000000000000000000000000000000000",
            "0000000000000000000000000000000000000000000000000000000000000080",
            "26e8958fc2b227b045c3f489f2ef98f0d5dfac05d3c63339b13802886d53fc05",
            "26e8958fc2b227b045c3f489f2ef98f0d5dfac05d3c63339b13802886d53fc85",
            "c7176a703d4dd84fba3c0b760d10670f2a2053fa2c39ccc64ec7fd7792ac037a",
            "c7176a703d4dd84fba3c0b760d10670f2a2053fa2c39ccc64ec7fd7792ac03fa",
            // x = 0 with the sign bit set
            "0100000000000000000000000000000000000000000000000000000000000080",
            "ecffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff",
            // no point: y = 2 and y = 3 have no x
            "0200000000000000000000000000000000000000000000000000000000000000",
            "0300000000000000000000000000000000000000000000000000000000000000",
        ]
        .iter()
        .map(|h| hex32(h))
        .collect();
        // y = p + k for k below 19 (non-canonical encodings of y = k), both signs.
        for k in 0u8..19 {
            let mut y = hex32("edffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f");
            y[0] += k;
            points.push(y);
            y[31] |= 0x80;
            points.push(y);
        }
        points
    }

    /// `a + b` of two little-endian 256-bit numbers, modulo 2^256.
    fn add(a: &[u8; 32], b: &[u8; 32]) -> [u8; 32] {
        let mut out = [0u8; 32];
        let mut carry = 0u16;
        for i in 0..32 {
            let t = u16::from(a[i]) + u16::from(b[i]) + carry;
            out[i] = t as u8;
            carry = t >> 8;
        }
        out
    }

    fn ring_accepts(key: &[u8], message: &[u8], signature: &[u8]) -> bool {
        ring::signature::UnparsedPublicKey::new(&ring::signature::ED25519, key)
            .verify(message, signature)
            .is_ok()
    }

    fn ours_accepts(key: &[u8], message: &[u8], signature: &[u8]) -> bool {
        <[u8; 32]>::try_from(key)
            .is_ok_and(|k| verify_ed25519(&Ed25519Kept::default(), &k, message, signature))
    }

    fn strict_accepts(key: &[u8], message: &[u8], signature: &[u8]) -> bool {
        let Ok(key) = <[u8; 32]>::try_from(key) else {
            return false;
        };
        let Ok(signature) = dalek::Signature::from_slice(signature) else {
            return false;
        };
        dalek::VerifyingKey::from_bytes(&key)
            .is_ok_and(|k| k.verify_strict(message, &signature).is_ok())
    }

    /// Asserts that ring and ours agree; returns the verdict.
    #[track_caller]
    fn agree(key: &[u8], message: &[u8], signature: &[u8]) -> bool {
        let ring = ring_accepts(key, message, signature);
        assert_eq!(
            ours_accepts(key, message, signature),
            ring,
            "key {key:02x?} message {message:02x?} signature {signature:02x?}"
        );
        ring
    }

    fn pair(i: u8) -> (ring::signature::Ed25519KeyPair, dalek::SigningKey) {
        let seed = [i.wrapping_mul(37) ^ 0x5a; 32];
        (
            ring::signature::Ed25519KeyPair::from_seed_unchecked(&seed).unwrap(),
            dalek::SigningKey::from_bytes(&seed),
        )
    }

    #[test]
    fn rfc8032_signatures_are_identical_and_verdicts_agree_on_damage() {
        use ring::signature::KeyPair as _;
        let messages: [&[u8]; 4] = [b"", b"x", &[0x5a; 32], &[7; 300]];
        for i in 0..6u8 {
            let (ring_pair, dalek_key) = pair(i);
            let key = ring_pair.public_key().as_ref().to_vec();
            assert_eq!(dalek_key.verifying_key().as_bytes()[..], key[..]);
            let (_, other) = pair(i + 100);
            let other = other.verifying_key().to_bytes();
            for message in messages {
                let signature = ring_pair.sign(message).as_ref().to_vec();
                let ours = dalek::Signer::sign(&dalek_key, message).to_bytes();
                assert_eq!(ours[..], signature[..], "deterministic, RFC 8032 §5.1.6");
                assert!(agree(&key, message, &signature));
                // The same Prepared across calls: the kept key gives the same verdicts.
                let prepared = Ed25519Kept::default();
                let k: [u8; 32] = key[..].try_into().unwrap();
                assert!(verify_ed25519(&prepared, &k, message, &signature));
                assert!(!verify_ed25519(&prepared, &k, b"other", &signature));
                assert!(verify_ed25519(&prepared, &k, message, &signature));
                // Every byte of the signature damaged, one at a time.
                for at in 0..64 {
                    let mut bad = signature.clone();
                    bad[at] ^= 1 << (at % 8);
                    assert!(!agree(&key, message, &bad));
                }
                // Damaged message, other key, damaged key.
                let mut m = message.to_vec();
                m.push(0);
                assert!(!agree(&key, &m, &signature));
                assert!(!agree(&other, message, &signature));
                for at in [0, 13, 31] {
                    let mut bad = key.clone();
                    bad[at] ^= 0x40;
                    assert!(!agree(&bad, message, &signature));
                }
                // Non-canonical S: S + ℓ (the same scalar), ℓ itself, the top bits set.
                let s: [u8; 32] = signature[32..].try_into().unwrap();
                for bad_s in [add(&s, &L), L, {
                    let mut t = s;
                    t[31] |= 0xe0;
                    t
                }] {
                    let mut bad = signature[..32].to_vec();
                    bad.extend_from_slice(&bad_s);
                    assert!(!agree(&key, message, &bad));
                }
                // Wrong lengths of the signature and of the key.
                for len in [0, 32, 63] {
                    assert!(!agree(&key, message, &signature[..len]));
                }
                let mut long = signature.clone();
                long.push(0);
                assert!(!agree(&key, message, &long));
                assert!(!agree(&key[..31], message, &signature));
                let mut long_key = key.clone();
                long_key.push(0);
                assert!(!agree(&long_key, message, &signature));
            }
        }
    }

    #[test]
    fn rfc8032_small_order_and_non_canonical_points_get_ring_verdicts() {
        // Keys and R among the odd points, S of 0, 1, ℓ − 1 and ℓ: with A and R of small
        // order, [S]B = R + [k]A holds for S = 0 whenever [k]A = R, whatever the message.
        let points = odd_points();
        let mut l_minus_1 = L;
        l_minus_1[0] -= 1;
        let mut one = [0u8; 32];
        one[0] = 1;
        let mut accepted = 0;
        let mut strict_refused = 0;
        for key in &points {
            for r in &points {
                for s in [[0u8; 32], one, l_minus_1, L] {
                    for message in [&b""[..], b"m"] {
                        let mut signature = r.to_vec();
                        signature.extend_from_slice(&s);
                        if agree(key, message, &signature) {
                            accepted += 1;
                            if !strict_accepts(key, message, &signature) {
                                strict_refused += 1;
                            }
                        }
                    }
                }
            }
        }
        // The identity as key and R with S = 0 is accepted by ring (cofactorless, no check
        // of small order), and so by dalek's `verify`; `verify_strict` would refuse it,
        // which is why `verify_ed25519` does not use it.
        let identity = &points[0];
        let mut signature = identity.to_vec();
        signature.extend_from_slice(&[0; 32]);
        assert!(agree(identity, b"anything", &signature));
        assert!(!strict_accepts(identity, b"anything", &signature));
        assert!(
            accepted > 0 && strict_refused == accepted,
            "{accepted} {strict_refused}"
        );
    }

    #[test]
    fn signing_key_from_pem_signs_as_ring_does() {
        let pem = include_str!("../../../testdata/keys/ed25519._domainkey.example.org.pem");
        let der = crate::signing_key::private_key_der(pem).unwrap().1;
        let ring_pair = ring::signature::Ed25519KeyPair::from_pkcs8_maybe_unchecked(&der).unwrap();
        let ours = KeyPair::ed25519_from_pkcs8(&der).unwrap();
        for data in [&[0u8; 32][..], b"header"] {
            assert_eq!(ours.sign(data).unwrap(), ring_pair.sign(data).as_ref());
        }
        let seed = crate::asn1::ed25519_pkcs8_seed(&der).unwrap();
        let from_seed = KeyPair::ed25519_from_seed(&seed).unwrap();
        assert_eq!(from_seed.public_key_bytes(), ours.public_key_bytes());
        assert_eq!(from_seed.sign(b"x"), ours.sign(b"x"));
    }
}
