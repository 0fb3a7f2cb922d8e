//! A signed corpus and the DNS that goes with it, shared by the pipeline benchmark
//! (`benches/pipeline.rs`) and the `corpus` example (which writes them to files).
//!
//! Messages come from [`mailstamp_testkit::corpus`] (deterministic, 1 KB to 100 KB, median about
//! 6 KB); each is signed by its signing domain with the repository's test keys
//! (`testdata/keys/`: RSA 2048 under the selector `rsa`, Ed25519 under `ed`), the same key
//! pair for every domain, so signing and the DNS data are deterministic. Every signing
//! domain publishes an SPF record allowing its outbound server (for the MAIL FROM domain and
//! the HELO name), `v=DMARC1; p=reject` and both keys.

#![allow(dead_code, reason = "each user takes what it needs")]

use mailstamp_dkim::{KeyRecordText, Signer, SigningKey, sign};
use mailstamp_dns::Zone;
use mailstamp_message::Message;
use mailstamp_message::envelope::Envelope;
use mailstamp_testkit::corpus::{Corpus, CorpusConfig, SigningDomain};
use std::collections::HashMap;
use std::fmt::Write as _;
use std::net::IpAddr;

/// The RSA-2048 test key (selector `rsa`).
pub const RSA_PEM: &str =
    include_str!("../../../../testdata/keys/default._domainkey.example.org.rsa2048.pem");
/// The Ed25519 test key (selector `ed`).
pub const ED25519_PEM: &str =
    include_str!("../../../../testdata/keys/ed25519._domainkey.example.org.pem");

/// Signing time (`t=`) and verification time: 2026-01-10, after the corpus's dates.
pub const NOW: u64 = 1_768_003_200;

/// Which keys sign each message.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Keys {
    /// One rsa-sha256 signature (RSA 2048).
    Rsa,
    /// One ed25519-sha256 signature.
    Ed25519,
    /// Both (two DKIM-Signature fields).
    Both,
}

impl Keys {
    /// A short name for benchmark ids and file names.
    pub fn name(self) -> &'static str {
        match self {
            Keys::Rsa => "rsa2048",
            Keys::Ed25519 => "ed25519",
            Keys::Both => "rsa2048+ed25519",
        }
    }
}

/// One message as the receiver stores it (trace fields, signatures, message) and its
/// SMTP envelope.
#[derive(Debug, Clone)]
pub struct Signed {
    /// The bytes.
    pub bytes: Vec<u8>,
    /// The envelope the trace fields record.
    pub envelope: Envelope,
}

/// `config`'s messages, signed with `keys`, and the signing domains.
pub fn signed_corpus(config: CorpusConfig, keys: Keys) -> (Vec<Signed>, Vec<SigningDomain>) {
    let domains = Corpus::new(config).domains().to_vec();
    (signed_messages(config, keys).collect(), domains)
}

/// `config`'s messages, signed with `keys`, one at a time.
pub fn signed_messages(config: CorpusConfig, keys: Keys) -> impl Iterator<Item = Signed> {
    // One set of signers per domain (a SigningKey is loaded, not cloned).
    let mut signers: HashMap<String, Vec<Signer>> = HashMap::new();
    Corpus::new(config).map(move |m| {
        let signers = signers.entry(m.signing_domain.clone()).or_insert_with(|| {
            let mut list = Vec::new();
            if keys != Keys::Ed25519 {
                let key = SigningKey::from_pem(RSA_PEM).expect("the RSA test key loads");
                list.push(Signer::new(key, &m.signing_domain, "rsa").expect("signer"));
            }
            if keys != Keys::Rsa {
                let key = SigningKey::from_pem(ED25519_PEM).expect("the Ed25519 key loads");
                list.push(Signer::new(key, &m.signing_domain, "ed").expect("signer"));
            }
            list
        });
        let fields = sign(&Message::parse(&m.bytes), signers, NOW).expect("signs");
        Signed {
            bytes: m.assemble(&fields.header_bytes()),
            envelope: m.envelope,
        }
    })
}

/// The DNS of `domains` as a master zone file.
pub fn zone_file(domains: &[SigningDomain]) -> String {
    let rsa = SigningKey::from_pem(RSA_PEM).expect("the RSA test key loads");
    let ed = SigningKey::from_pem(ED25519_PEM).expect("the Ed25519 test key loads");
    let rsa_record = KeyRecordText::new(rsa.public_key()).zone_rdata();
    let ed_record = KeyRecordText::new(ed.public_key()).zone_rdata();
    let mut z = String::from("$TTL 3600\n");
    for d in domains {
        let ip = match d.client_ip {
            IpAddr::V4(v4) => format!("ip4:{v4}"),
            IpAddr::V6(v6) => format!("ip6:{v6}"),
        };
        let name = &d.name;
        let _ = writeln!(z, "{name}. IN TXT \"v=spf1 {ip} -all\"");
        let _ = writeln!(z, "{}. IN TXT \"v=spf1 {ip} -all\"", d.helo);
        let _ = writeln!(z, "_dmarc.{name}. IN TXT \"v=DMARC1; p=reject\"");
        let _ = writeln!(z, "rsa._domainkey.{name}. IN TXT {rsa_record}");
        let _ = writeln!(z, "ed._domainkey.{name}. IN TXT {ed_record}");
    }
    z
}

/// The DNS of `domains` as a [`Zone`].
pub fn zone(domains: &[SigningDomain]) -> Zone {
    mailstamp_fixture::parse_zone_str(&zone_file(domains), "corpus.zone")
        .expect("the generated zone parses")
}
