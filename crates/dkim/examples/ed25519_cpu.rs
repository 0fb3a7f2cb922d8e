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

#[path = "../benches/common/ed25519.rs"]
mod ed25519;

fn main() {
    use ed25519_dalek::{Signer as _, Verifier as _};
    let mut args = std::env::args().skip(1);
    let mode = args.next().unwrap_or_else(|| "check".to_owned());
    let n: usize = args.next().and_then(|s| s.parse().ok()).unwrap_or(10_000);
    let digest = [0x5a_u8; 32];
    let ed25519::Ed25519Fixture {
        ring_pair,
        public,
        signature,
        dalek,
        dalek_signature,
    } = ed25519::ed25519_fixture(PEM, &digest);
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
            let pair = aws_lc_rs::signature::Ed25519KeyPair::from_pkcs8_maybe_unchecked(
                &ed25519::pkcs8_der(PEM),
            )
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
