//! Bulk checks: a stream of messages checked in parallel, results in input order.

use super::{Authenticator, EnvelopeSource, Outcome, Report};
use crate::mailbox::{MailItem, MailboxError, Position};
use mailstamp_dmarc::{DmarcProblem, DmarcResult};
use mailstamp_dns::Name;
use mailstamp_spf::{SpfProblem, SpfResult};
use std::collections::{BTreeMap, VecDeque};
use std::future::Future;
use std::panic::AssertUnwindSafe;
use std::pin::Pin;
use std::sync::{Arc, Mutex, PoisonError};
use std::task::{Context, Poll};
use tokio::sync::Semaphore;

/// The default number of messages in flight at once: enough to overlap the DNS waits of many
/// messages on a slow network (with 20 ms per DNS answer and 500 new domains among 2,000
/// messages, a run takes about 1 s; see BENCHMARKS.md), while a waiting message holds only its
/// verdicts so far, not its bytes.
pub const DEFAULT_WINDOW: usize = 512;

/// The most From domains a [`BulkSummary`] keeps apart; the rest are counted together.
pub const MAX_SUMMARY_DOMAINS: usize = 10_000;

/// The most distinct failure reasons a [`BulkSummary`] keeps apart.
pub const MAX_SUMMARY_REASONS: usize = 1_000;

/// How a bulk run goes.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct BulkOptions {
    /// Worker threads: how many messages are parsed, hashed and verified at the same time
    /// (at least 1).
    pub jobs: usize,
    /// The most messages in flight (read, not yet handed to the sink), at least `jobs`. At
    /// most `jobs` of them hold their bytes (those being parsed and hashed); the others hold
    /// their verdicts so far while they wait for DNS or for their turn.
    pub window: usize,
    /// Where each message's SMTP envelope comes from.
    pub envelope: EnvelopeSource,
}

impl BulkOptions {
    /// `jobs` worker threads, [`DEFAULT_WINDOW`], no envelope.
    pub fn new(jobs: usize) -> BulkOptions {
        BulkOptions {
            jobs: jobs.max(1),
            window: DEFAULT_WINDOW,
            envelope: EnvelopeSource::Unknown,
        }
    }

    /// Sets the window (raised to `jobs` when smaller).
    #[must_use]
    pub fn with_window(mut self, window: usize) -> BulkOptions {
        self.window = window;
        self
    }

    /// Sets where envelopes come from.
    #[must_use]
    pub fn with_envelope(mut self, envelope: EnvelopeSource) -> BulkOptions {
        self.envelope = envelope;
        self
    }
}

/// Why a message of a bulk run has no report.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum BulkError {
    /// The message could not be read (too large, a read error, bytes before an mbox's first
    /// From_ line, a file that cannot be opened). The text names the position.
    #[error("{0}")]
    Read(MailboxError),
    /// The check of this message panicked, or the render step of [`Bulk::run_with`] did on
    /// its result: a bug. The run goes on with the next message.
    #[error("{0}: internal error: the check of this message failed unexpectedly")]
    Internal(Position),
}

/// One message's result, in input order.
#[derive(Debug)]
pub struct BulkItem {
    /// Where the message comes from.
    pub position: Position,
    /// Its report, or why there is none.
    pub result: Result<Box<Report>, BulkError>,
}

/// Where the results of a bulk run go, one call per message in input order.
///
/// `T` is what the sink takes: a [`BulkItem`] for [`Bulk::run`], or what the render step of
/// [`Bulk::run_with`] made of it. Implemented for every `FnMut(T)` closure that is
/// `Send + 'static`; a struct that implements it can be taken back from the run with what it
/// gathered.
pub trait BulkSink<T = BulkItem>: Send + 'static {
    /// Takes the next result.
    fn accept(&mut self, item: T);
}

impl<T, F: FnMut(T) + Send + 'static> BulkSink<T> for F {
    fn accept(&mut self, item: T) {
        self(item);
    }
}

/// Checks many messages with one [`Authenticator`] (one DNS cache, one pool of parsed keys).
///
/// ```
/// use mailstamp::mailbox::{MailboxOptions, Mbox, Origin};
/// use mailstamp::pipeline::{
///     Authenticator, Bulk, BulkItem, BulkOptions, BulkSink, BulkSummary, CheckOptions,
/// };
/// use mailstamp_dns::Zone;
///
/// /// Gathers the summary and the From domains.
/// #[derive(Default)]
/// struct Gather {
///     summary: BulkSummary,
///     domains: Vec<String>,
/// }
/// impl BulkSink for Gather {
///     fn accept(&mut self, item: BulkItem) {
///         self.summary.add(&item);
///         if let Ok(report) = &item.result {
///             self.domains.extend(report.header_from());
///         }
///     }
/// }
///
/// let mbox = b"From a@example.org Thu Jan  1 00:00:00 2026\nFrom: a@example.org\n\nHi\n\n\
///              From b@example.net Thu Jan  1 00:00:00 2026\nFrom: b@example.net\n\nHo\n";
/// let source = Mbox::new(std::io::Cursor::new(mbox.to_vec()), Origin::Stdin, MailboxOptions::default());
/// let auth = Authenticator::offline(Zone::new(), CheckOptions::new("mx.example"));
/// let gathered = Bulk::new(auth, BulkOptions::new(2)).run(source, Gather::default())?;
/// assert_eq!(gathered.domains, ["example.org", "example.net"]); // input order
/// assert_eq!(gathered.summary.checked, 2);
/// # Ok::<(), std::io::Error>(())
/// ```
#[derive(Debug, Clone)]
pub struct Bulk {
    authenticator: Authenticator,
    options: BulkOptions,
}

/// A future that turns a panic while it is polled into `Err(())`.
struct CatchUnwind<F>(Pin<Box<F>>);

impl<F: Future> Future for CatchUnwind<F> {
    type Output = Result<F::Output, ()>;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let inner = self.0.as_mut();
        match std::panic::catch_unwind(AssertUnwindSafe(move || inner.poll(cx))) {
            Ok(Poll::Pending) => Poll::Pending,
            Ok(Poll::Ready(out)) => Poll::Ready(Ok(out)),
            Err(_) => Poll::Ready(Err(())),
        }
    }
}

/// The message source, read by whichever lane needs the next message.
struct Reader<I> {
    messages: I,
    next: u64,
}

/// Results waiting for their turn, and the sink they go to.
struct Reorder<T> {
    /// Index of the next result to hand to the sink.
    next: u64,
    /// Results from `next` on; `None` for those still running.
    waiting: VecDeque<Option<T>>,
    /// True while a lane is handing results to the sink: the others only file theirs, and
    /// that lane hands them on too.
    draining: bool,
}

/// Why a bulk run stopped before the end of its source.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Failure {
    /// The render step panicked on this message's result and on its internal error.
    Render(u64),
    /// The sink panicked while taking a result.
    Sink,
}

/// The render step of a run: what each lane makes of its result before filing it.
type Render<T> = dyn Fn(BulkItem) -> T + Send + Sync;

struct Shared<I, S, T> {
    authenticator: Authenticator,
    envelope: EnvelopeSource,
    /// A plain mutex, held only while one message is read: an async one would hand the
    /// source from lane to lane and make the worker threads take turns.
    reader: Mutex<Reader<I>>,
    /// One permit per message that may be read before the results before it are handed on:
    /// taken when a message is read, given back when its result goes to the sink.
    window: Semaphore,
    render: Box<Render<T>>,
    /// Set when the run has to stop: the render step panicked twice for one message, or the
    /// sink panicked.
    failed: Mutex<Option<Failure>>,
    out: Mutex<Reorder<T>>,
    /// Only the draining lane takes this lock, so it is contended at most briefly (while the
    /// previous draining lane lets it go).
    sink: Mutex<Drain<S, T>>,
}

impl<I, S, T> Shared<I, S, T>
where
    I: Iterator<Item = Result<MailItem, MailboxError>> + Send + 'static,
    S: BulkSink<T>,
    T: Send + 'static,
{
    /// One lane: reads a message, checks it, renders the result and hands it on; again until
    /// the source is exhausted. Lanes overlap one another's DNS waits; the worker threads run
    /// them.
    async fn lane(self: Arc<Self>) {
        loop {
            let Ok(permit) = self.window.acquire().await else {
                return;
            };
            permit.forget();
            let (index, item) = {
                let mut reader = self.reader.lock().unwrap_or_else(PoisonError::into_inner);
                let Some(item) = reader.messages.next() else {
                    // Wakes every lane waiting for a permit: nothing is left to read.
                    self.window.close();
                    return;
                };
                let index = reader.next;
                reader.next = index.saturating_add(1);
                (index, item)
            };
            let result = match item {
                Err(error) => BulkItem {
                    position: error.position().clone(),
                    result: Err(BulkError::Read(error)),
                },
                Ok(MailItem { source, bytes }) => {
                    // Checked right here, in this lane: a panic (a bug) in one check becomes
                    // an error line at its place, not a stalled run.
                    let check = CatchUnwind(Box::pin(async {
                        let prepared = self.authenticator.prepare_from(&bytes, &self.envelope);
                        crate::mailbox::recycle(bytes);
                        self.authenticator.complete_boxed(prepared).await
                    }));
                    match check.await {
                        Ok(report) => BulkItem {
                            position: source,
                            result: Ok(report),
                        },
                        Err(()) => BulkItem {
                            result: Err(BulkError::Internal(source.clone())),
                            position: source,
                        },
                    }
                }
            };
            // Rendered here too, so that the report is taken apart (and its memory given
            // back) by the thread that built it, and the draining lane only hands results on.
            let Some(rendered) = self.render(result) else {
                self.fail(Failure::Render(index));
                return;
            };
            self.emit(index, rendered);
        }
    }

    /// Stops the run: no lane reads another message (those waiting for a permit return), and
    /// `run_with` returns an error naming the first failure.
    fn fail(&self, failure: Failure) {
        {
            let mut failed = self.failed.lock().unwrap_or_else(PoisonError::into_inner);
            *failed = Some(match (*failed, failure) {
                // The earliest message whose result was lost is the one to name: the results
                // before it have gone to the sink.
                (Some(Failure::Render(a)), Failure::Render(b)) => Failure::Render(a.min(b)),
                (Some(Failure::Sink), _) | (_, Failure::Sink) => Failure::Sink,
                (None, f) => f,
            });
        }
        self.window.close();
    }

    /// The render step of one result. A panic in it (a bug) renders an internal error at the
    /// result's place instead; `None` if that panics too.
    fn render(&self, item: BulkItem) -> Option<T> {
        let position = item.position.clone();
        match std::panic::catch_unwind(AssertUnwindSafe(|| (self.render)(item))) {
            Ok(rendered) => Some(rendered),
            Err(_) => std::panic::catch_unwind(AssertUnwindSafe(|| {
                (self.render)(BulkItem {
                    result: Err(BulkError::Internal(position.clone())),
                    position,
                })
            }))
            .ok(),
        }
    }

    /// Files the result of message `index`; unless another lane is doing it, hands every
    /// result that is now next in line to the sink (outside the filing lock, so that lanes
    /// filing results never wait for the sink).
    fn emit(&self, index: u64, item: T) {
        {
            let mut out = self.out.lock().unwrap_or_else(PoisonError::into_inner);
            let Reorder {
                next,
                waiting,
                draining,
            } = &mut *out;
            // Every index is filed once, never before `next`.
            let slot = index
                .checked_sub(*next)
                .and_then(|d| usize::try_from(d).ok())
                .unwrap_or(0);
            if waiting.len() <= slot {
                waiting.resize_with(slot.saturating_add(1), || None);
            }
            if let Some(place) = waiting.get_mut(slot) {
                *place = Some(item);
            }
            if *draining {
                return;
            }
            *draining = true;
        }
        // Only the draining lane takes this lock (the previous one may still be letting it
        // go); it also keeps the batch buffer, reused from one drain to the next.
        let mut sink = self.sink.lock().unwrap_or_else(PoisonError::into_inner);
        let Drain { sink, ready } = &mut *sink;
        loop {
            {
                let mut out = self.out.lock().unwrap_or_else(PoisonError::into_inner);
                while let Some(Some(_)) = out.waiting.front() {
                    if let Some(Some(item)) = out.waiting.pop_front() {
                        ready.push(item);
                        out.next = out.next.saturating_add(1);
                    }
                }
                if ready.is_empty() {
                    out.draining = false;
                    return;
                }
            }
            let handed = ready.len();
            let accepted = std::panic::catch_unwind(AssertUnwindSafe(|| {
                for item in ready.drain(..) {
                    sink.accept(item);
                }
            }));
            if accepted.is_err() {
                // A bug in the sink: nothing more goes to it. This lane keeps `draining`, so
                // no other lane starts handing results on; the run ends with an error.
                ready.clear();
                self.fail(Failure::Sink);
                return;
            }
            self.window.add_permits(handed);
        }
    }
}

/// The sink and the buffer of results the draining lane hands to it.
struct Drain<S, T> {
    sink: S,
    ready: Vec<T>,
}

impl Bulk {
    /// A bulk run with `authenticator`.
    pub fn new(authenticator: Authenticator, options: BulkOptions) -> Bulk {
        Bulk {
            authenticator,
            options,
        }
    }

    /// Checks every message of `messages` on [`BulkOptions::jobs`] worker threads (a runtime
    /// of its own) and hands each result to `sink` **in input order**; returns the sink. An
    /// `Err` item of the source (a message that cannot be read) becomes a [`BulkError::Read`]
    /// result at its place: nothing is skipped.
    ///
    /// Up to [`BulkOptions::window`] messages are in flight, so that their DNS waits overlap.
    /// The worker threads read the source one message at a time and parse, hash and verify
    /// it at once; a message waiting for DNS holds its verdicts so far, not its bytes. Memory
    /// thus stays bounded by about `jobs` times the largest message, plus `window` reports.
    /// The source is read from the worker threads: a source that blocks for long (a slow
    /// pipe) holds one of them while it does.
    ///
    /// The sink runs on whichever worker thread hands the results on, so with several jobs a
    /// report is usually dropped by another thread than the one that built it; when the sink
    /// only needs a digest of each report (a line, a count), [`Bulk::run_with`] makes it on
    /// the checking thread, which is cheaper.
    ///
    /// # Errors
    ///
    /// When the runtime cannot be started, or when called from inside an async runtime (it
    /// blocks; call it from a plain thread).
    pub fn run<I, S>(&self, messages: I, sink: S) -> std::io::Result<S>
    where
        I: IntoIterator<Item = Result<MailItem, MailboxError>>,
        I::IntoIter: Send + 'static,
        S: BulkSink,
    {
        self.run_with(messages, |item| item, sink)
    }

    /// Like [`Bulk::run`], but each result first goes through `render`, on the worker thread
    /// that checked the message, and the sink takes what `render` made of it, in input order.
    ///
    /// The render step runs in the same poll of the lane that finished the message's check,
    /// so it is usually on the worker thread that built the report (a check that waited for
    /// DNS may have been resumed by another worker). Rendering there spreads that work over
    /// the jobs and lets each report be dropped by the thread that allocated it: with two
    /// jobs, handing whole reports to the sink costs several per cent of the run in the
    /// allocator alone (BENCHMARKS.md, issue 13, "Session 7, bulk runs" and "Session 8, bulk
    /// runs").
    ///
    /// A panic in `render` (a bug) renders [`BulkError::Internal`] at that result's place
    /// instead, and the run goes on.
    ///
    /// # Errors
    ///
    /// As [`Bulk::run`]; and when `render` panics on that internal error too, or when the
    /// sink panics: the run stops there (for a render, the results before that message have
    /// gone to the sink).
    pub fn run_with<I, R, T, S>(&self, messages: I, render: R, sink: S) -> std::io::Result<S>
    where
        I: IntoIterator<Item = Result<MailItem, MailboxError>>,
        I::IntoIter: Send + 'static,
        R: Fn(BulkItem) -> T + Send + Sync + 'static,
        T: Send + 'static,
        S: BulkSink<T>,
    {
        if tokio::runtime::Handle::try_current().is_ok() {
            return Err(std::io::Error::other(
                "a bulk run (Bulk::run, Bulk::run_with) blocks and cannot run inside an async runtime",
            ));
        }
        let jobs = self.options.jobs.max(1);
        let window = self.options.window.max(jobs);
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(jobs)
            .thread_name("mailstamp-check")
            .enable_all()
            .build()?;
        let shared = Arc::new(Shared {
            authenticator: self.authenticator.clone(),
            envelope: self.options.envelope.clone(),
            reader: Mutex::new(Reader {
                messages: messages.into_iter(),
                next: 0,
            }),
            window: Semaphore::new(window),
            render: Box::new(render),
            failed: Mutex::new(None),
            out: Mutex::new(Reorder {
                next: 0,
                waiting: VecDeque::with_capacity(window),
                draining: false,
            }),
            sink: Mutex::new(Drain {
                sink,
                ready: Vec::new(),
            }),
        });
        runtime.block_on(async {
            let lanes: Vec<_> = (0..window)
                .map(|_| tokio::spawn(Arc::clone(&shared).lane()))
                .collect();
            for lane in lanes {
                // A lane only ends when the source is exhausted or the run failed: its checks,
                // renders and the sink's calls catch their panics, so a lane never panics.
                let _ = lane.await;
            }
        });
        drop(runtime);
        let shared = Arc::try_unwrap(shared)
            .map_err(|_| std::io::Error::other("a bulk lane outlived the run"))?;
        match shared
            .failed
            .into_inner()
            .unwrap_or_else(PoisonError::into_inner)
        {
            Some(Failure::Render(index)) => {
                return Err(std::io::Error::other(format!(
                    "the result of message {} could not be rendered (the render step \
                     panicked); the run stopped there",
                    index.saturating_add(1)
                )));
            }
            Some(Failure::Sink) => {
                return Err(std::io::Error::other(
                    "the sink of the bulk run panicked; the run stopped there",
                ));
            }
            None => {}
        }
        Ok(shared
            .sink
            .into_inner()
            .unwrap_or_else(PoisonError::into_inner)
            .sink)
    }
}

/// Messages and passes of one From domain.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, serde::Serialize)]
pub struct DomainStats {
    /// Messages checked.
    pub messages: usize,
    /// Of which the [`Outcome`] is pass.
    pub pass: usize,
}

/// Counts of a bulk run, for the summary table: results by protocol, pass rates by From
/// domain, the most common reasons for not passing.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize)]
pub struct BulkSummary {
    /// Messages checked (with a report).
    pub checked: usize,
    /// Messages that could not be read.
    pub errors: usize,
    /// Messages by [`Outcome`].
    pub outcomes: BTreeMap<Outcome, usize>,
    /// MAIL FROM SPF results (`none` includes unchecked ones).
    pub spf: BTreeMap<&'static str, usize>,
    /// DKIM results, one per checked signature; `none` once per unsigned message.
    pub dkim: BTreeMap<&'static str, usize>,
    /// DMARC results.
    pub dmarc: BTreeMap<&'static str, usize>,
    /// DMARC dispositions.
    pub dispositions: BTreeMap<&'static str, usize>,
    /// By From domain (`(none)` without a From domain, `(multiple)` with several, `(other)`
    /// once [`MAX_SUMMARY_DOMAINS`] domains are counted).
    pub domains: BTreeMap<String, DomainStats>,
    /// Why messages did not pass: each non-passing message counts once for each reason it has
    /// (DMARC's problem, SPF's and each DKIM signature's result and problem). Reasons name no
    /// domain, so they add up across domains.
    pub reasons: BTreeMap<String, usize>,
}

/// What one result adds to a [`BulkSummary`], worked out from the result where it was made
/// (the render step of [`Bulk::run_with`]) and counted later, in input order, with
/// [`BulkSummary::add_tally`]. It holds no part of the report, so the report can be dropped
/// at once.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Tally(Option<Counted>);

/// The counts of a checked message (`None` in a [`Tally`]: a message with no report).
#[derive(Debug, Clone, PartialEq, Eq)]
struct Counted {
    outcome: Outcome,
    spf: &'static str,
    /// The message has no DKIM signature (counted as DKIM `none`).
    unsigned: bool,
    /// The first checked signature's result (most messages have one signature).
    dkim_first: Option<&'static str>,
    /// One per further checked signature.
    dkim_more: Vec<&'static str>,
    dmarc: &'static str,
    disposition: &'static str,
    /// The From domain (shared with the report), `(none)` or `(multiple)`.
    domain: TallyDomain,
    /// Empty unless the outcome is not pass.
    reasons: Vec<String>,
}

/// The From domain a [`Tally`] counts a message under.
#[derive(Debug, Clone, PartialEq, Eq)]
enum TallyDomain {
    /// The one From domain.
    One(Name),
    /// A label: `(none)` or `(multiple)`.
    Label(&'static str),
}

impl TallyDomain {
    fn as_str(&self) -> &str {
        match self {
            TallyDomain::One(name) => name.as_str(),
            TallyDomain::Label(label) => label,
        }
    }
}

impl Tally {
    /// The tally of one result: an error, or its report's.
    pub fn of(item: &BulkItem) -> Tally {
        match &item.result {
            Ok(report) => Tally::of_report(report),
            Err(_) => Tally(None),
        }
    }

    /// The tally of one report.
    pub fn of_report(report: &Report) -> Tally {
        let outcome = report.outcome();
        let domain = match report.from.domains() {
            [] => TallyDomain::Label("(none)"),
            [one] => TallyDomain::One(one.clone()),
            _ => TallyDomain::Label("(multiple)"),
        };
        let mut checked = report
            .dkim
            .iter()
            .filter(|c| !c.is_not_checked())
            .map(|c| c.result().as_str());
        Tally(Some(Counted {
            outcome,
            spf: report.spf.result.as_str(),
            unsigned: report.dkim.is_empty(),
            dkim_first: checked.next(),
            dkim_more: checked.collect(),
            dmarc: report.dmarc.result.as_str(),
            disposition: report.disposition().as_str(),
            domain,
            reasons: if outcome == Outcome::Pass {
                Vec::new()
            } else {
                reasons(report)
            },
        }))
    }
}

impl BulkSummary {
    /// Counts one result.
    pub fn add(&mut self, item: &BulkItem) {
        self.add_tally(Tally::of(item));
    }

    /// Counts one report.
    pub fn add_report(&mut self, report: &Report) {
        self.add_tally(Tally::of_report(report));
    }

    /// Counts one result from its [`Tally`].
    pub fn add_tally(&mut self, tally: Tally) {
        fn bump<K: Ord>(map: &mut BTreeMap<K, usize>, key: K) {
            let n = map.entry(key).or_insert(0);
            *n = n.saturating_add(1);
        }
        let Tally(Some(counted)) = tally else {
            self.errors = self.errors.saturating_add(1);
            return;
        };
        let Counted {
            outcome,
            spf,
            unsigned,
            dkim_first,
            dkim_more,
            dmarc,
            disposition,
            domain,
            reasons,
        } = counted;
        self.checked = self.checked.saturating_add(1);
        bump(&mut self.outcomes, outcome);
        bump(&mut self.spf, spf);
        if unsigned {
            bump(&mut self.dkim, "none");
        }
        for result in dkim_first.into_iter().chain(dkim_more) {
            bump(&mut self.dkim, result);
        }
        bump(&mut self.dmarc, dmarc);
        bump(&mut self.dispositions, disposition);

        // Looked up by reference first: a known domain is not stored again.
        let stats = match self.domains.get_mut(domain.as_str()) {
            Some(stats) => stats,
            None => {
                let key = if self.domains.len() < MAX_SUMMARY_DOMAINS {
                    domain.as_str().to_owned()
                } else {
                    "(other)".to_owned()
                };
                self.domains.entry(key).or_default()
            }
        };
        stats.messages = stats.messages.saturating_add(1);
        if outcome == Outcome::Pass {
            stats.pass = stats.pass.saturating_add(1);
        }

        for reason in reasons {
            let key =
                if self.reasons.len() < MAX_SUMMARY_REASONS || self.reasons.contains_key(&reason) {
                    reason
                } else {
                    "(other)".to_owned()
                };
            bump(&mut self.reasons, key);
        }
    }

    /// Messages seen: checked plus errors.
    pub fn messages(&self) -> usize {
        self.checked.saturating_add(self.errors)
    }

    /// Messages with the given outcome.
    pub fn count(&self, outcome: Outcome) -> usize {
        self.outcomes.get(&outcome).copied().unwrap_or(0)
    }

    /// The most common reasons, most frequent first (ties by name), at most `n`.
    pub fn top_reasons(&self, n: usize) -> Vec<(&str, usize)> {
        let mut all: Vec<(&str, usize)> =
            self.reasons.iter().map(|(k, v)| (k.as_str(), *v)).collect();
        all.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(b.0)));
        all.truncate(n);
        all
    }

    /// The From domains with the most messages, at most `n` (ties by name).
    pub fn top_domains(&self, n: usize) -> Vec<(&str, DomainStats)> {
        let mut all: Vec<(&str, DomainStats)> =
            self.domains.iter().map(|(k, v)| (k.as_str(), *v)).collect();
        all.sort_by(|a, b| b.1.messages.cmp(&a.1.messages).then(a.0.cmp(b.0)));
        all.truncate(n);
        all
    }
}

/// The reasons a report did not pass, without domain names.
fn reasons(report: &Report) -> Vec<String> {
    let mut out = Vec::new();
    let dmarc = &report.dmarc;
    if dmarc.result != DmarcResult::Pass {
        let why = match &dmarc.problem {
            Some(DmarcProblem::NoAuthorDomain) => "no From domain",
            Some(DmarcProblem::MultipleAuthorDomains { .. }) => "several From domains",
            Some(DmarcProblem::NoPolicy) => "no DMARC record",
            Some(DmarcProblem::InvalidPolicyRecord { .. }) => "invalid DMARC record",
            Some(DmarcProblem::DnsFailure { .. }) => "DNS failure",
            Some(DmarcProblem::NoAuthenticatedIdentifier) => "nothing authenticated",
            Some(DmarcProblem::NotAligned) => "not aligned",
            Some(DmarcProblem::MechanismTempError) => "aligned identifier has a temporary error",
            Some(_) | None => "other",
        };
        out.push(format!("dmarc={}: {why}", dmarc.result));
    }
    let spf = &report.spf;
    if spf.result != SpfResult::Pass {
        let why = match (
            &spf.skipped,
            spf.verdict.as_ref().and_then(|v| v.problem.as_ref()),
        ) {
            (Some(skip), _) => match skip {
                super::SpfSkip::NoEnvelope => "no envelope".to_owned(),
                super::SpfSkip::NoMailFrom => "MAIL FROM unknown".to_owned(),
                _ => "no envelope in Received".to_owned(),
            },
            (None, Some(problem)) => spf_problem_kind(problem).to_owned(),
            (None, None) => "policy".to_owned(),
        };
        out.push(format!("spf={}: {why}", spf.result));
    }
    for check in report.dkim.iter().filter(|c| !c.is_not_checked()) {
        if let Some(reason) = check.reason() {
            out.push(format!("dkim={}: {reason}", check.result()));
        }
    }
    out
}

/// A domain-free name for an SPF problem.
fn spf_problem_kind(problem: &SpfProblem) -> &'static str {
    match problem {
        SpfProblem::InvalidDomain { .. } => "invalid domain",
        SpfProblem::NoRecord { .. } => "no SPF record",
        SpfProblem::DnsFailure { .. } => "DNS failure",
        SpfProblem::MultipleRecords { .. } => "several SPF records",
        SpfProblem::Syntax { .. } => "invalid SPF record",
        SpfProblem::TooManyLookups { .. } => "too many DNS lookups",
        SpfProblem::TooManyVoidLookups { .. } => "too many void lookups",
        SpfProblem::TooManyMxNames { .. } => "too many MX names",
        SpfProblem::IncludeNone { .. } => "include without SPF record",
        SpfProblem::RedirectNone { .. } => "redirect without SPF record",
        SpfProblem::TimeLimit { .. } => "time limit",
        SpfProblem::Loop { .. } => "include or redirect loop",
        _ => "other",
    }
}
