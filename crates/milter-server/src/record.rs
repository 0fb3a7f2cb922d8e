//! Recording DMARC evaluations (`record = STORE`) in mailstamp-reports' verdict store, off the
//! mail path.
//!
//! The connection tasks hand each pipeline report to [`Recorder::submit_report`], which never
//! waits: it puts the report in a bounded queue (`record_queue`) read by one writer thread.
//! The writer turns each into its evaluation ([`Evaluation::from_report`], what `mailstamp
//! check --record` stores; reports without a DMARC Policy Domain are skipped), takes what is
//! queued (up to [`BATCH`] at a time) and writes it in one transaction ([`Store::record`]). When the queue is full, or the store cannot be opened or written, the
//! evaluations are dropped, counted in `records_dropped` and logged at error level, at most
//! once every [`LOG_EVERY`] with the number dropped since the last line. A store that is down
//! is opened again at most once every [`RETRY_AFTER`]. The message itself is never delayed
//! nor refused because of the store.

use crate::metrics::Metrics;
use mailstamp::pipeline::Report;
use mailstamp_reports::store::{Evaluation, Store, redact};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::mpsc::{Receiver, RecvTimeoutError, SyncSender, TrySendError, sync_channel};
use std::sync::{Arc, Mutex, PoisonError};
use std::thread::JoinHandle;
use std::time::Duration;
use tokio::time::Instant;
use tracing::{error, info};

/// Evaluations written per transaction at most.
pub const BATCH: usize = 256;

/// How often a store that is down is tried again.
pub const RETRY_AFTER: Duration = Duration::from_secs(5);

/// At most one error line per this interval (the others are counted into the next line).
pub const LOG_EVERY: Duration = Duration::from_secs(10);

/// Rate-limited error lines about dropped evaluations.
#[derive(Debug)]
struct Alarm {
    store: String,
    last: Mutex<Option<Instant>>,
    /// Dropped since the last line.
    unreported: AtomicU64,
}

impl Alarm {
    fn dropped(&self, metrics: &Metrics, n: u64, why: &dyn std::fmt::Display) {
        metrics.records_dropped.add(n);
        let unreported = self.unreported.fetch_add(n, Ordering::Relaxed) + n;
        let now = Instant::now();
        let mut last = self.last.lock().unwrap_or_else(PoisonError::into_inner);
        if last.is_some_and(|t| now.duration_since(t) < LOG_EVERY) {
            return;
        }
        *last = Some(now);
        drop(last);
        self.unreported.fetch_sub(unreported, Ordering::Relaxed);
        error!(
            store = %self.store,
            dropped = unreported,
            dropped_total = metrics.records_dropped.get(),
            "DMARC evaluations NOT recorded: {why} (mail flow unaffected; counted in \
             mailstamp_milter_records_dropped_total; at most one such line every {} s)",
            LOG_EVERY.as_secs()
        );
    }
}

/// What the queue carries: a report still to convert (the mail path does not pay for the
/// conversion), or an evaluation.
#[derive(Debug)]
enum Item {
    Report(Box<Report>),
    Evaluation(Box<Evaluation>),
}

/// The queue and the writer thread of one store.
#[derive(Debug)]
pub struct Recorder {
    spec: String,
    tx: Option<SyncSender<Item>>,
    thread: Option<JoinHandle<()>>,
    alarm: Arc<Alarm>,
    metrics: Arc<Metrics>,
}

impl Recorder {
    /// Starts the writer for the store `spec` (a file name, `sqlite:PATH` or
    /// `postgres://...`) with a queue of `queue` evaluations. The store is opened by the
    /// writer, so a store that is down does not stop the daemon: it is logged and retried.
    pub fn start(spec: &str, queue: usize, metrics: Arc<Metrics>) -> std::io::Result<Recorder> {
        let (tx, rx) = sync_channel(queue.max(1));
        let alarm = Arc::new(Alarm {
            store: redact(spec),
            last: Mutex::new(None),
            unreported: AtomicU64::new(0),
        });
        let writer = Writer {
            spec: spec.to_owned(),
            alarm: alarm.clone(),
            metrics: metrics.clone(),
        };
        let thread = std::thread::Builder::new()
            .name("mailstamp-record".into())
            .spawn(move || writer.run(rx))?;
        info!(store = %alarm.store, queue, "recording DMARC evaluations");
        Ok(Recorder {
            spec: spec.to_owned(),
            tx: Some(tx),
            thread: Some(thread),
            alarm,
            metrics,
        })
    }

    /// The store, as configured.
    pub fn spec(&self) -> &str {
        &self.spec
    }

    /// Queues one pipeline report without waiting; the writer records its evaluation (if it
    /// has a DMARC Policy Domain). When the queue is full it is dropped (counted, logged).
    pub fn submit_report(&self, report: Box<Report>) {
        self.send(Item::Report(report));
    }

    /// Queues one evaluation without waiting; when the queue is full it is dropped (counted,
    /// logged).
    pub fn submit(&self, evaluation: Evaluation) {
        self.send(Item::Evaluation(Box::new(evaluation)));
    }

    fn send(&self, item: Item) {
        let Some(tx) = &self.tx else {
            return;
        };
        match tx.try_send(item) {
            Ok(()) => {}
            Err(TrySendError::Full(_)) => self.alarm.dropped(
                &self.metrics,
                1,
                &"the queue is full (record_queue): the store is too slow or down",
            ),
            Err(TrySendError::Disconnected(_)) => {
                self.alarm
                    .dropped(&self.metrics, 1, &"the writer thread is gone")
            }
        }
    }

    /// Closes the queue and waits until the writer has written (or dropped) what was queued.
    /// Blocking: from async code, call it through `spawn_blocking`.
    pub fn finish(mut self) {
        self.tx = None;
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

impl Drop for Recorder {
    /// Closes the queue; the writer finishes what is queued on its own thread (not awaited:
    /// a reload must not wait for a slow store).
    fn drop(&mut self) {
        self.tx = None;
    }
}

struct Writer {
    spec: String,
    alarm: Arc<Alarm>,
    metrics: Arc<Metrics>,
}

impl Writer {
    fn run(self, rx: Receiver<Item>) {
        let mut store: Option<Store> = None;
        let mut retry_at: Option<Instant> = None;
        let mut batch = Vec::with_capacity(BATCH);
        let evaluation = |item: Item| match item {
            Item::Report(r) => Evaluation::from_report(&r),
            Item::Evaluation(e) => Some(*e),
        };
        loop {
            match rx.recv_timeout(RETRY_AFTER) {
                Ok(item) => batch.extend(evaluation(item)),
                Err(RecvTimeoutError::Timeout) => continue,
                Err(RecvTimeoutError::Disconnected) => break,
            }
            while batch.len() < BATCH {
                match rx.try_recv() {
                    Ok(item) => batch.extend(evaluation(item)),
                    Err(_) => break,
                }
            }
            if batch.is_empty() {
                continue;
            }
            if store.is_none() && retry_at.is_none_or(|t| Instant::now() >= t) {
                match Store::open(&self.spec) {
                    Ok(s) => {
                        if retry_at.is_some() {
                            info!(store = %self.alarm.store, "the verdict store is back");
                        }
                        retry_at = None;
                        store = Some(s);
                    }
                    Err(e) => {
                        retry_at = Some(Instant::now() + RETRY_AFTER);
                        self.alarm.dropped(
                            &self.metrics,
                            batch.len() as u64,
                            &format!("cannot open the store: {e}"),
                        );
                        batch.clear();
                        continue;
                    }
                }
            }
            let n = batch.len() as u64;
            match &mut store {
                Some(s) => match s.record(&batch) {
                    Ok(()) => self.metrics.records_written.add(n),
                    Err(e) => {
                        store = None;
                        retry_at = Some(Instant::now() + RETRY_AFTER);
                        self.alarm.dropped(
                            &self.metrics,
                            n,
                            &format!("cannot write to the store: {e}"),
                        );
                    }
                },
                None => self.alarm.dropped(
                    &self.metrics,
                    n,
                    &"the store is down (it is tried again every 5 s)",
                ),
            }
            batch.clear();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn evaluation(ip: &str) -> Evaluation {
        Evaluation {
            time: 1_767_571_200,
            source_ip: ip.to_owned(),
            header_from: "example.org".into(),
            envelope_from: Some("example.org".into()),
            policy_domain: "example.org".into(),
            dmarc_result: "pass".into(),
            disposition: "none".into(),
            dkim_aligned: true,
            spf_aligned: true,
            spf_domain: Some("example.org".into()),
            spf_scope: Some("mfrom".into()),
            spf_result: Some("pass".into()),
            dkim: Vec::new(),
            reason: None,
            policy_p: Some("reject".into()),
            policy_sp: None,
            policy_np: None,
            policy_adkim: None,
            policy_aspf: None,
            policy_testing: None,
            policy_record: None,
        }
    }

    #[test]
    fn evaluations_reach_sqlite_and_finish_flushes() {
        let dir = tempfile::tempdir().unwrap();
        let db = dir.path().join("v.sqlite");
        let metrics = Arc::new(Metrics::default());
        let r = Recorder::start(db.to_str().unwrap(), 100, metrics.clone()).unwrap();
        for i in 0..10 {
            r.submit(evaluation(&format!("192.0.2.{i}")));
        }
        r.finish();
        assert_eq!(metrics.records_written.get(), 10);
        assert_eq!(metrics.records_dropped.get(), 0);
        let s = Store::open(db.to_str().unwrap()).unwrap();
        assert_eq!(s.count().unwrap(), 10);
    }

    #[test]
    fn a_store_that_cannot_open_drops_and_counts() {
        let dir = tempfile::tempdir().unwrap();
        let db = dir.path().join("no/such/dir/v.sqlite");
        let metrics = Arc::new(Metrics::default());
        let r = Recorder::start(db.to_str().unwrap(), 100, metrics.clone()).unwrap();
        for _ in 0..3 {
            r.submit(evaluation("192.0.2.1"));
        }
        r.finish();
        assert_eq!(metrics.records_written.get(), 0);
        assert_eq!(metrics.records_dropped.get(), 3);
    }

    #[test]
    fn a_full_queue_drops_without_waiting() {
        // A PostgreSQL address nothing listens on: the writer is busy failing while the
        // queue of one fills up.
        let metrics = Arc::new(Metrics::default());
        let r = Recorder::start("postgres://u@127.0.0.1:1/db", 1, metrics.clone()).unwrap();
        for _ in 0..50 {
            r.submit(evaluation("192.0.2.1"));
        }
        r.finish();
        assert_eq!(metrics.records_written.get(), 0);
        assert_eq!(metrics.records_dropped.get(), 50);
    }
}
