//! Parses the side-by-side benchmark's DKIM key records (and a DKIM-Signature field) in a
//! loop, for counting instructions per parse with callgrind:
//!
//! ```text
//! cargo build --release -p mailstamp-dkim --example parse_cpu
//! valgrind --tool=callgrind target/release/examples/parse_cpu rsa 10000
//! valgrind --tool=callgrind target/release/examples/parse_cpu rsa 20000
//! ```
//!
//! (Ir at 20000 − Ir at 10000) / 10000 is the count of one parse. Modes: `rsa`, `ed25519`
//! (the records of `testdata/keys`), `signature` (a typical rsa-sha256 DKIM-Signature value).

use mailstamp_dkim::{KeyRecord, Signature};
use std::hint::black_box;

const RSA: &str = include_str!("../../../testdata/keys/default._domainkey.example.org.txt");
const ED25519: &str = include_str!("../../../testdata/keys/ed25519._domainkey.example.org.txt");
const SIGNATURE: &str = "v=1; a=rsa-sha256; c=relaxed/relaxed; d=example.org;\r\n\
 s=default; t=1767225600; h=from:to:subject:date:message-id:mime-version:\r\n\
 content-type; bh=47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU=;\r\n\
 b=AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8gISIjJCUmJygpKissLS4vMDEyMzQ1\r\n\
 Njc4OTo7PD0+P0BBQkNERUZHSElKS0xNTk9QUVJTVFVWV1hZWltcXV5fYGFiY2RlZmdoaWpr\r\n\
 bG1ub3BxcnN0dXZ3eHl6e3x9fn+AgYKDhIWGh4iJiouMjY6PkJGSk5SVlpeYmZqbnJ2en6Ch\r\n\
 oqOkpaanqKmqq6ytrq+wsbKztLW2t7i5uru8vb6/wMHCw8TFxsfIycrLzM3Oz9DR0tPU1dbX\r\n\
 2Nna29zd3t/g4eLj5OXm5+jp6uvs7e7v8PHy8/T19vf4+fr7/P3+/w==";

fn main() {
    let mut args = std::env::args().skip(1);
    let mode = args.next().unwrap_or_else(|| "rsa".to_owned());
    let n: usize = args.next().and_then(|s| s.parse().ok()).unwrap_or(10_000);
    match mode.as_str() {
        "rsa" | "ed25519" => {
            let text = if mode == "rsa" { RSA } else { ED25519 }
                .trim_end()
                .as_bytes();
            for _ in 0..n {
                black_box(KeyRecord::parse(black_box(text)).expect("the record parses"));
            }
        }
        "signature" => {
            for _ in 0..n {
                black_box(Signature::parse(black_box(SIGNATURE.as_bytes())).expect("it parses"));
            }
        }
        other => {
            eprintln!("unknown mode {other:?} (rsa, ed25519, signature)");
            std::process::exit(2);
        }
    }
}
