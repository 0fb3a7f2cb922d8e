//! Runs one Ed25519 operation of one implementation in a loop, for measuring CPU time per
//! operation on a loaded host (`perf stat -e task-clock` counts only the time the process ran,
//! where criterion's wall clock also counts the time other processes took):
//!
//! ```text
//! cargo build --release -p mailstamp-dkim --example ed25519_cpu [--features aws-lc]
//! perf stat -e task-clock target/release/examples/ed25519_cpu verify-dalek 20000
//! ```
//!
//! Modes: `verify-ring`, `verify-dalek` (the key decompressed at each call),
//! `verify-dalek-kept` (decompressed once), `sign-ring`, `sign-dalek`, and with
//! `--features aws-lc` `verify-aws-lc` and `sign-aws-lc`; `check` and `sign` run the crate's
//! own `check_signature` and `SigningKey::sign` (what `crypto` chose for this build). The
//! key is the Ed25519 key of `testdata/keys`, the data a 32-byte digest.

use std::hint::black_box;

const PEM: &str = include_str!("../../../testdata/keys/ed25519._domainkey.example.org.pem");

/// The DER inside the `PRIVATE KEY` PEM block.
fn pkcs8_der() -> Vec<u8> {
    use base64::Engine as _;
    let b64: String = PEM.lines().filter(|l| !l.starts_with("-----")).collect();
    base64::engine::general_purpose::STANDARD
        .decode(b64)
        .expect("PEM base64")
}

fn main() {
    use ed25519_dalek::{Signer as _, Verifier as _};
    let mut args = std::env::args().skip(1);
    let mode = args.next().unwrap_or_else(|| "check".to_owned());
    let n: usize = args.next().and_then(|s| s.parse().ok()).unwrap_or(10_000);
    let der = pkcs8_der();
    let digest = [0x5a_u8; 32];
    let ring_pair = ring::signature::Ed25519KeyPair::from_pkcs8_maybe_unchecked(&der).expect("key");
    let public: [u8; 32] = ring::signature::KeyPair::public_key(&ring_pair)
        .as_ref()
        .try_into()
        .expect("32 bytes");
    let signature = ring_pair.sign(&digest).as_ref().to_vec();
    // The seed: the 32 bytes after the CurvePrivateKey OCTET STRING header (RFC 8410 §7).
    let at = der
        .windows(2)
        .position(|w| w == [0x04, 0x20])
        .expect("CurvePrivateKey")
        + 2;
    let seed: [u8; 32] = der[at..at + 32].try_into().expect("seed");
    let dalek = ed25519_dalek::SigningKey::from_bytes(&seed);
    let dalek_signature = ed25519_dalek::Signature::from_slice(&signature).expect("64 bytes");
    let ours = mailstamp_dkim::SigningKey::from_pem(PEM).expect("key");
    let data = b"the canonical header block";
    let our_signature = ours.sign(data).expect("signs");
    let mut ok = true;
    match mode.as_str() {
        "verify-ring" => {
            for _ in 0..n {
                ok &= ring::signature::UnparsedPublicKey::new(&ring::signature::ED25519, &public)
                    .verify(black_box(&digest), &signature)
                    .is_ok();
            }
        }
        "verify-dalek" => {
            for _ in 0..n {
                ok &= ed25519_dalek::VerifyingKey::from_bytes(black_box(&public))
                    .is_ok_and(|k| k.verify(black_box(&digest), &dalek_signature).is_ok());
            }
        }
        "verify-dalek-kept" => {
            let kept = ed25519_dalek::VerifyingKey::from_bytes(&public).expect("key");
            for _ in 0..n {
                ok &= kept.verify(black_box(&digest), &dalek_signature).is_ok();
            }
        }
        "sign-ring" => {
            for _ in 0..n {
                black_box(ring_pair.sign(black_box(&digest)));
            }
        }
        "sign-dalek" => {
            for _ in 0..n {
                black_box(dalek.sign(black_box(&digest)));
            }
        }
        #[cfg(feature = "aws-lc")]
        "verify-aws-lc" => {
            for _ in 0..n {
                ok &= aws_lc_rs::signature::UnparsedPublicKey::new(
                    &aws_lc_rs::signature::ED25519,
                    &public,
                )
                .verify(black_box(&digest), &signature)
                .is_ok();
            }
        }
        #[cfg(feature = "aws-lc")]
        "sign-aws-lc" => {
            let pair = aws_lc_rs::signature::Ed25519KeyPair::from_pkcs8_maybe_unchecked(&der)
                .expect("key");
            for _ in 0..n {
                black_box(pair.sign(black_box(&digest)));
            }
        }
        "check" => {
            let public = ours.public_key().clone();
            for _ in 0..n {
                ok &= mailstamp_dkim::check_signature(
                    &public,
                    ours.algorithm(),
                    black_box(data),
                    &our_signature,
                );
            }
        }
        "sign" => {
            for _ in 0..n {
                black_box(ours.sign(black_box(data)).expect("signs"));
            }
        }
        other => {
            eprintln!("unknown mode {other:?}");
            std::process::exit(2);
        }
    }
    assert!(ok, "every signature verifies");
}
