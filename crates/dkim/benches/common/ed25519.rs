//! The Ed25519 key of `testdata/keys` in each implementation's form, for the `dkim` bench's
//! `ed25519/*` group and the `ed25519_cpu` example (included by both with `#[path]`).

/// The key pair, its public key, and a signature of the data in ring's and dalek's forms.
pub struct Ed25519Fixture {
    /// ring's key pair.
    pub ring_pair: ring::signature::Ed25519KeyPair,
    /// The 32-byte public key.
    pub public: [u8; 32],
    /// ring's signature of the data.
    pub signature: Vec<u8>,
    /// dalek's key pair, from the same seed.
    pub dalek: ed25519_dalek::SigningKey,
    /// The same signature in dalek's form.
    pub dalek_signature: ed25519_dalek::Signature,
}

/// The DER inside a `PRIVATE KEY` PEM block.
pub fn pkcs8_der(pem: &str) -> Vec<u8> {
    use base64::Engine as _;
    let b64: String = pem.lines().filter(|l| !l.starts_with("-----")).collect();
    base64::engine::general_purpose::STANDARD
        .decode(b64)
        .expect("PEM base64")
}

/// The key of `pem` in each form, with a signature of `data`.
pub fn ed25519_fixture(pem: &str, data: &[u8]) -> Ed25519Fixture {
    let der = pkcs8_der(pem);
    let ring_pair = ring::signature::Ed25519KeyPair::from_pkcs8_maybe_unchecked(&der).expect("key");
    let public: [u8; 32] = ring::signature::KeyPair::public_key(&ring_pair)
        .as_ref()
        .try_into()
        .expect("32 bytes");
    let signature = ring_pair.sign(data).as_ref().to_vec();
    // The seed: the 32 bytes after the CurvePrivateKey OCTET STRING header (RFC 8410 §7).
    let at = der
        .windows(2)
        .position(|w| w == [0x04, 0x20])
        .expect("CurvePrivateKey")
        + 2;
    let seed: [u8; 32] = der[at..at + 32].try_into().expect("seed");
    let dalek = ed25519_dalek::SigningKey::from_bytes(&seed);
    assert_eq!(dalek.verifying_key().as_bytes(), &public);
    let dalek_signature = ed25519_dalek::Signature::from_slice(&signature).expect("64 bytes");
    Ed25519Fixture {
        ring_pair,
        public,
        signature,
        dalek,
        dalek_signature,
    }
}
