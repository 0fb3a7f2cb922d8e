//! CPU time of the single-threaded pipeline, for `perf stat -e task-clock` (robust to other
//! load on the machine, unlike wall-clock timings):
//!
//! ```sh
//! cargo build --release -p mailstamp --example pipeline_cpu
//! perf stat -e task-clock target/release/examples/pipeline_cpu rsa 0    # setup only
//! perf stat -e task-clock target/release/examples/pipeline_cpu rsa 20   # setup + 20 rounds
//! ```
//!
//! Each round checks the 2,000 messages of the benchmark corpus (`benches/common/mod.rs`,
//! signed with `rsa`, `ed25519` or `both`) in turn on one thread, DNS answers cached (the
//! first round fills the cache). The CPU time per message is the difference of the two runs
//! divided by `rounds × 2000`.

#[path = "../benches/common/mod.rs"]
mod common;

use mailstamp::pipeline::{Authenticator, CheckOptions, Outcome};
use mailstamp_testkit::corpus::CorpusConfig;

fn main() {
    let mut args = std::env::args().skip(1);
    let keys = match args.next().as_deref() {
        Some("ed25519") => common::Keys::Ed25519,
        Some("both") => common::Keys::Both,
        _ => common::Keys::Rsa,
    };
    let rounds: usize = args.next().and_then(|s| s.parse().ok()).unwrap_or(20);
    let (messages, domains) = common::signed_corpus(CorpusConfig::new(2026), keys);
    let auth = Authenticator::offline(
        common::zone(&domains),
        CheckOptions::new("mx.receiver.example").with_now(common::NOW),
    );
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime");
    // One round to fill the cache (also in a run of 0 rounds, so the difference between two
    // runs is warm rounds only).
    let mut passed = 0usize;
    runtime.block_on(async {
        for m in &messages {
            passed += usize::from(
                auth.check(&m.bytes, Some(&m.envelope)).await.outcome() == Outcome::Pass,
            );
        }
    });
    assert_eq!(passed, messages.len(), "every message passes");
    for _ in 0..rounds {
        runtime.block_on(async {
            for m in &messages {
                std::hint::black_box(auth.check(&m.bytes, Some(&m.envelope)).await);
            }
        });
    }
    eprintln!(
        "{} messages x {rounds} rounds ({})",
        messages.len(),
        keys.name()
    );
}
