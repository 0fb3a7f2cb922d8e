//! Benchmarks of the receiver's pipeline (issue 6), over a generated corpus of 2,000 messages
//! from 500 signing domains (see `common/mod.rs`):
//!
//! * `pipeline/single/<keys>`: one thread checks every message in turn (parse, DKIM verify,
//!   SPF for MAIL FROM and HELO, DMARC, Authentication-Results), DNS answers cached. One
//!   iteration is the whole corpus; the per-message time is the iteration time / 2,000.
//! * `pipeline/bulk/jobs=N`: the bulk runner ([`Bulk`]) over the same messages with N worker
//!   threads, envelopes taken from the trace fields, DNS cached.
//! * `pipeline/live-dns-20ms/jobs=2`: the bulk runner with 2 workers against a DNS server on
//!   the loopback address (`mailstamp-testkit`'s `TestServer`) that waits 20 ms before every answer, with a
//!   fresh resolver (empty cache) for each run.
//!
//! Run: `cargo bench -p mailstamp --bench pipeline` (add a filter such as `single` to run one
//! group). Figures are recorded in BENCHMARKS.md.

use criterion::{BatchSize, Criterion, Throughput, criterion_group, criterion_main};
use mailstamp::mailbox::{MailItem, MailboxError, Origin, Position};
use mailstamp::pipeline::{
    Authenticator, Bulk, BulkItem, BulkOptions, BulkSink, CheckOptions, EnvelopeSource, Outcome,
};
use mailstamp::{DnsSource, LiveConfig, Resolver};
use mailstamp_testkit::corpus::CorpusConfig;
use mailstamp_testkit::{Options as ServerOptions, TestServer};
use std::hint::black_box;
use std::sync::Arc;
use std::time::Duration;

mod common;

use common::{Keys, NOW, Signed};

const SEED: u64 = 2026;

fn options() -> CheckOptions {
    CheckOptions::new("mx.receiver.example").with_now(NOW)
}

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime")
}

/// The messages as a bulk source: each is copied out of the shared corpus when a worker reads
/// it, as a reader copies a message out of the page cache.
fn items(
    messages: &Arc<Vec<Signed>>,
) -> impl Iterator<Item = Result<MailItem, MailboxError>> + Send + 'static {
    let messages = Arc::clone(messages);
    (0..messages.len()).map(move |i| {
        Ok(MailItem {
            source: Position::file(Origin::Path(format!("{i}.eml").into())),
            bytes: messages.get(i).map(|m| m.bytes.clone()).unwrap_or_default(),
        })
    })
}

/// Counts the messages that pass.
struct Passed(usize);

impl BulkSink for Passed {
    fn accept(&mut self, item: BulkItem) {
        if let Ok(report) = &item.result
            && report.outcome() == Outcome::Pass
        {
            self.0 += 1;
        }
        black_box(item);
    }
}

/// Runs a bulk check; returns how many messages passed.
fn run_bulk(
    auth: &Authenticator,
    jobs: usize,
    items: impl Iterator<Item = Result<MailItem, MailboxError>> + Send + 'static,
) -> usize {
    let options = BulkOptions::new(jobs).with_envelope(EnvelopeSource::FromReceived);
    Bulk::new(auth.clone(), options)
        .run(items, Passed(0))
        .expect("bulk run")
        .0
}

fn single(c: &mut Criterion) {
    let mut group = c.benchmark_group("pipeline/single");
    group.sample_size(10);
    for keys in [Keys::Rsa, Keys::Ed25519, Keys::Both] {
        let (messages, domains) = common::signed_corpus(CorpusConfig::new(SEED), keys);
        let auth = Authenticator::offline(common::zone(&domains), options());
        let rt = runtime();
        let check_all = || {
            rt.block_on(async {
                let mut passed = 0usize;
                for m in &messages {
                    let report = auth.check(&m.bytes, Some(&m.envelope)).await;
                    passed += usize::from(report.outcome() == Outcome::Pass);
                    black_box(report);
                }
                passed
            })
        };
        // Warms the cache, and checks the corpus is what it claims.
        assert_eq!(check_all(), messages.len(), "every message passes");
        group.throughput(Throughput::Elements(messages.len() as u64));
        group.bench_function(keys.name(), |b| b.iter(check_all));
    }
    group.finish();
}

fn bulk(c: &mut Criterion) {
    let (messages, domains) = common::signed_corpus(CorpusConfig::new(SEED), Keys::Rsa);
    let messages = Arc::new(messages);
    let auth = Authenticator::offline(common::zone(&domains), options());
    assert_eq!(run_bulk(&auth, 2, items(&messages)), messages.len());
    let mut group = c.benchmark_group("pipeline/bulk");
    group.sample_size(10);
    group.throughput(Throughput::Elements(messages.len() as u64));
    for jobs in [1, 2] {
        group.bench_function(format!("jobs={jobs}"), |b| {
            b.iter(|| run_bulk(&auth, jobs, items(&messages)));
        });
    }
    group.finish();
}

fn live_dns(c: &mut Criterion) {
    let (messages, domains) = common::signed_corpus(CorpusConfig::new(SEED), Keys::Rsa);
    let server = TestServer::with_options(
        common::zone(&domains),
        ServerOptions {
            latency: Duration::from_millis(20),
            ..ServerOptions::default()
        },
    );
    let rt = runtime();
    // A fresh resolver (empty cache, no connections) for every run, as a new process has.
    let resolver = || {
        let _guard = rt.enter();
        Resolver::builder(DnsSource::Live(LiveConfig {
            nameservers: vec![server.addr()],
            timeout: Duration::from_secs(10),
            attempts: 1,
        }))
        .build()
        .expect("resolver")
    };
    let messages = Arc::new(messages);
    let auth = Authenticator::new(resolver(), options());
    assert_eq!(run_bulk(&auth, 2, items(&messages)), messages.len());
    eprintln!(
        "live-dns: {} UDP and {} TCP queries, peak {} in flight",
        server.udp_queries(),
        server.tcp_queries(),
        server.peak_in_flight()
    );
    let mut group = c.benchmark_group("pipeline");
    group.sample_size(10);
    group.throughput(Throughput::Elements(messages.len() as u64));
    group.bench_function("live-dns-20ms/jobs=2", |b| {
        b.iter_batched(
            || Authenticator::new(resolver(), options()),
            |auth| run_bulk(&auth, 2, items(&messages)),
            BatchSize::PerIteration,
        );
    });
    group.finish();
}

criterion_group!(benches, single, bulk, live_dns);
criterion_main!(benches);
