//! The floor under signing throughput: RSA-2048 (and Ed25519) DKIM signatures per second on
//! one core with the signing code the milter uses (`mailstamp_dkim::sign` over a 1.6 KB
//! message with one key), for comparing the milter's signing rate with what the cryptography
//! allows.
//!
//! `cargo run --release -p mailstamp-milter-server --example sign_floor -- [SECONDS]`

use mailstamp_dkim::{Signer, SigningKey, sign};
use mailstamp_message::Message;

const KEYS: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../../testdata/keys");

#[expect(
    clippy::disallowed_methods,
    reason = "a benchmark measures wall-clock time"
)]
fn rate(
    signer: &Signer,
    message: &Message<'_>,
    seconds: f64,
) -> Result<f64, Box<dyn std::error::Error>> {
    let start = std::time::Instant::now();
    let mut n = 0u64;
    while start.elapsed().as_secs_f64() < seconds {
        sign(message, std::slice::from_ref(signer), 1_767_571_200)?;
        n += 1;
    }
    Ok(n as f64 / start.elapsed().as_secs_f64())
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let seconds: f64 = std::env::args()
        .nth(1)
        .and_then(|a| a.parse().ok())
        .unwrap_or(3.0);
    let body = "Hello,\r\n\r\nthis is a test message of a few lines.\r\n".repeat(40);
    let raw = format!(
        "From: Alice <alice@example.org>\r\nTo: bob@example.net\r\nSubject: load\r\n\
         Date: Thu, 15 Jan 2026 10:30:00 +0100\r\nMessage-ID: <load@example.org>\r\n\r\n{body}"
    );
    let message = Message::parse(raw.as_bytes());
    for (what, file, selector) in [
        (
            "rsa-sha256 (2048 bits)",
            "default._domainkey.example.org.rsa2048.pem",
            "default",
        ),
        (
            "ed25519-sha256",
            "ed25519._domainkey.example.org.pem",
            "ed25519",
        ),
    ] {
        let pem = std::fs::read_to_string(format!("{KEYS}/{file}"))?;
        let signer = Signer::new(SigningKey::from_pem(&pem)?, "example.org", selector)?;
        let r = rate(&signer, &message, seconds)?;
        println!(
            "{what}: {r:.0} signatures/s on one core ({:.0} µs each)",
            1e6 / r
        );
    }
    Ok(())
}
