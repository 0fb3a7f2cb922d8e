//! Writes a signed corpus and its DNS to files, for running `mailstamp check` on it:
//!
//! ```sh
//! cargo run --release -p mailstamp --example corpus -- OUT_DIR [MESSAGES [DOMAINS [KEYS]]]
//! mailstamp --zone OUT_DIR/corpus.zone check --mbox OUT_DIR/corpus.mbox --from-received
//! ```
//!
//! `MESSAGES` (default 2000) messages from `DOMAINS` (default 500) signing domains, signed
//! with `KEYS`: `rsa` (RSA 2048, the default), `ed25519` or `both`. The messages are those of
//! `mailstamp_testkit::corpus` (seed 2026), with the trace fields of their receipt, so
//! `--from-received` finds their SMTP envelopes; the zone publishes every domain's SPF,
//! DMARC (`p=reject`) and keys (see `benches/common/mod.rs`). Every message passes.

#[path = "../benches/common/mod.rs"]
mod common;

use mailstamp::mailbox::MboxWriter;
use mailstamp_testkit::corpus::CorpusConfig;
use std::io::BufWriter;
use std::path::PathBuf;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut args = std::env::args().skip(1);
    let Some(out) = args.next().map(PathBuf::from) else {
        eprintln!("usage: corpus OUT_DIR [MESSAGES [DOMAINS [rsa|ed25519|both]]]");
        std::process::exit(2);
    };
    let messages: usize = args.next().map_or(Ok(2000), |s| s.parse())?;
    let domains: usize = args.next().map_or(Ok(500), |s| s.parse())?;
    let keys = match args.next().as_deref() {
        None | Some("rsa") => common::Keys::Rsa,
        Some("ed25519") => common::Keys::Ed25519,
        Some("both") => common::Keys::Both,
        Some(other) => return Err(format!("unknown key set {other:?}").into()),
    };
    std::fs::create_dir_all(&out)?;
    let config = CorpusConfig::new(2026)
        .with_messages(messages)
        .with_signing_domains(domains);
    let corpus = mailstamp_testkit::corpus::Corpus::new(config);
    std::fs::write(out.join("corpus.zone"), common::zone_file(corpus.domains()))?;
    let file = std::fs::File::create(out.join("corpus.mbox"))?;
    let mut mbox = MboxWriter::new(BufWriter::with_capacity(1 << 20, file));
    let mut bytes = 0usize;
    for signed in common::signed_messages(config, keys) {
        mbox.write_message("sender@corpus.example", &signed.bytes)?;
        bytes += signed.bytes.len();
    }
    mbox.into_inner()?;
    eprintln!(
        "{messages} messages ({bytes} bytes) from {domains} domains, {}: {}",
        keys.name(),
        out.display()
    );
    Ok(())
}
