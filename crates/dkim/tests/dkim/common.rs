//! Shared helpers: the example.org test keys and a zone publishing them.

use mailstamp_dkim::{DkimReport, Policy, Signer, SigningKey, sign, verify};
use mailstamp_dns::{Name, Zone, resolve_sync};
use mailstamp_message::Message;
use std::path::PathBuf;

pub const NOW: u64 = 1_700_000_000;

pub fn testdata(file: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../../testdata/keys")
        .join(file)
}

fn read(file: &str) -> String {
    std::fs::read_to_string(testdata(file)).unwrap_or_else(|e| panic!("{file}: {e}"))
}

pub fn rsa_key() -> SigningKey {
    SigningKey::from_pem(&read("default._domainkey.example.org.rsa2048.pem")).expect("RSA test key")
}

pub fn ed_key() -> SigningKey {
    SigningKey::from_pem(&read("ed25519._domainkey.example.org.pem")).expect("Ed25519 test key")
}

pub fn rsa_signer() -> Signer {
    Signer::new(rsa_key(), "example.org", "default").expect("signer")
}

pub fn ed_signer() -> Signer {
    Signer::new(ed_key(), "example.org", "ed25519").expect("signer")
}

pub fn name(s: &str) -> Name {
    Name::parse(s).expect("name")
}

/// The example.org zone with both test keys published.
pub fn zone() -> Zone {
    let mut zone = Zone::new();
    for (selector, file) in [
        ("default", "default._domainkey.example.org.txt"),
        ("ed25519", "ed25519._domainkey.example.org.txt"),
    ] {
        let value = read(file);
        let strings: Vec<Vec<u8>> = mailstamp_dkim::split_txt(value.trim())
            .into_iter()
            .map(|s| s.as_bytes().to_vec())
            .collect();
        zone.add_txt(
            &name(&format!("{selector}._domainkey.example.org")),
            strings,
        );
    }
    zone
}

pub fn sign_with(raw: &[u8], signers: Vec<Signer>) -> Vec<u8> {
    sign(&Message::parse(raw), &signers, NOW)
        .expect("sign")
        .prepend_to(raw)
}

pub fn check_at(raw: &[u8], zone: &Zone, policy: &Policy, now: u64) -> DkimReport {
    resolve_sync(verify(&Message::parse(raw), policy, now), zone)
}

pub fn check(raw: &[u8]) -> DkimReport {
    check_at(raw, &zone(), &Policy::default(), NOW)
}

pub const MESSAGE: &[u8] = b"From: Alice <alice@example.org>\r\n\
To: Bob <bob@example.net>\r\n\
Subject: Lunch\r\n\
Date: Tue, 14 Nov 2023 22:13:20 +0000\r\n\
Message-ID: <lunch-1@example.org>\r\n\
MIME-Version: 1.0\r\n\
Content-Type: text/plain; charset=utf-8\r\n\
\r\n\
Shall we meet at noon?\r\n\
\r\n\
Alice\r\n";
