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
    key.rsa_components().is_some_and(|ne| {
        verify_rsa(
            key.prepared(),
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
        let own = ed.public_key().ed25519().unwrap();
        assert!(verify_ed25519(own, &digest, &signature));
        assert!(!verify_ed25519(own, &sha256(b"other data"), &signature));
        assert!(!verify_ed25519(key.ed25519().unwrap(), &digest, &signature));
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
        assert!(verify_ed25519(&key, &digest, &signature));
        assert!(!verify_ed25519(&key, &[8u8; 32], &signature));
    }
}
