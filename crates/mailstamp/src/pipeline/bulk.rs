//! Bulk checks: a stream of messages checked in parallel, results in input order.

use super::{Authenticator, EnvelopeSource, Outcome, Report};
use crate::mailbox::{MailItem, MailboxError, Position};
use mailstamp_dmarc::{DmarcProblem, DmarcResult};
use mailstamp_spf::{SpfProblem, SpfResult};
use std::collections::{BTreeMap, VecDeque};
use std::sync::Arc;
use tokio::sync::Semaphore;
use tokio::task::JoinHandle;

/// The default number of messages in flight at once: enough to overlap the DNS waits of many
/// messages on a slow network (with 20 ms per answer, 256 messages in flight check about 3,000
/// messages per second), while each waiting message holds only its verdicts so far, not its
/// bytes.
pub const DEFAULT_WINDOW: usize = 256;

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
    /// The most messages in flight (read, not yet handed to the sink), at least `jobs`. Only
    /// up to `2 × jobs` of them hold their bytes (those not yet prepared); the others hold
    /// their verdicts so far while they wait for DNS.
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
    /// The check of this message panicked: a bug. The run goes on with the next message.
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

/// Checks many messages with one [`Authenticator`] (one DNS cache, one pool of parsed keys).
///
/// ```
/// use mailstamp::mailbox::{MailboxOptions, Mbox, Origin};
/// use mailstamp::pipeline::{Authenticator, Bulk, BulkOptions, BulkSummary, CheckOptions};
/// use mailstamp_dns::Zone;
///
/// let mbox = b"From a@example.org Thu Jan  1 00:00:00 2026\nFrom: a@example.org\n\nHi\n\n\
///              From b@example.net Thu Jan  1 00:00:00 2026\nFrom: b@example.net\n\nHo\n";
/// let auth = Authenticator::offline(Zone::new(), CheckOptions::new("mx.example"));
/// let mut summary = BulkSummary::default();
/// let mut domains = Vec::new();
/// Bulk::new(auth, BulkOptions::new(2)).run(
///     Mbox::new(&mbox[..], Origin::Stdin, MailboxOptions::default()),
///     |item| {
///         summary.add(&item);
///         domains.push(item.result.unwrap().header_from().unwrap());
///     },
/// )?;
/// assert_eq!(domains, ["example.org", "example.net"]); // input order
/// assert_eq!(summary.checked, 2);
/// # Ok::<(), std::io::Error>(())
/// ```
#[derive(Debug, Clone)]
pub struct Bulk {
    authenticator: Authenticator,
    options: BulkOptions,
}

/// A message in flight.
enum Entry {
    Ready(BulkItem),
    Running(Position, JoinHandle<Report>),
}

impl Entry {
    fn is_done(&self) -> bool {
        match self {
            Entry::Ready(_) => true,
            Entry::Running(_, handle) => handle.is_finished(),
        }
    }

    async fn wait(self) -> BulkItem {
        match self {
            Entry::Ready(item) => item,
            Entry::Running(position, handle) => match handle.await {
                Ok(report) => BulkItem {
                    position,
                    result: Ok(Box::new(report)),
                },
                Err(_) => BulkItem {
                    result: Err(BulkError::Internal(position.clone())),
                    position,
                },
            },
        }
    }
}

impl Bulk {
    /// A bulk run with `authenticator`.
    pub fn new(authenticator: Authenticator, options: BulkOptions) -> Bulk {
        Bulk {
            authenticator,
            options,
        }
    }

    /// Checks every message of `messages`, [`BulkOptions::jobs`] at a time on worker threads
    /// of a runtime of its own, and calls `sink` with each result **in input order** (on the
    /// calling thread). An `Err` item of the source (a message that cannot be read) becomes a
    /// [`BulkError::Read`] item at its place; nothing is skipped.
    ///
    /// The source is read on the calling thread, one message ahead of the workers at most
    /// `2 × jobs` times: memory stays bounded by about `2 × jobs` times the largest message,
    /// plus [`BulkOptions::window`] reports.
    ///
    /// # Errors
    ///
    /// When the runtime cannot be started, or when called from inside an async runtime (it
    /// blocks; call it from a plain thread).
    pub fn run<I, F>(&self, messages: I, mut sink: F) -> std::io::Result<()>
    where
        I: IntoIterator<Item = Result<MailItem, MailboxError>>,
        F: FnMut(BulkItem),
    {
        if tokio::runtime::Handle::try_current().is_ok() {
            return Err(std::io::Error::other(
                "Bulk::run blocks and cannot run inside an async runtime",
            ));
        }
        let jobs = self.options.jobs.max(1);
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(jobs)
            .thread_name("mailstamp-check")
            .enable_all()
            .build()?;
        runtime.block_on(self.dispatch(messages.into_iter(), &mut sink));
        Ok(())
    }

    async fn dispatch<I, F>(&self, mut messages: I, sink: &mut F)
    where
        I: Iterator<Item = Result<MailItem, MailboxError>>,
        F: FnMut(BulkItem),
    {
        let jobs = self.options.jobs.max(1);
        let window = self.options.window.max(jobs);
        let envelope = Arc::new(self.options.envelope.clone());
        // Messages read but not yet prepared hold their bytes: at most 2 × jobs of them.
        let unprepared = Arc::new(Semaphore::new(jobs.saturating_mul(2)));
        let mut queue: VecDeque<Entry> = VecDeque::with_capacity(window);
        loop {
            while queue.front().is_some_and(Entry::is_done) {
                if let Some(entry) = queue.pop_front() {
                    sink(entry.wait().await);
                }
            }
            if queue.len() >= window {
                if let Some(entry) = queue.pop_front() {
                    sink(entry.wait().await);
                }
                continue;
            }
            let Ok(permit) = Arc::clone(&unprepared).acquire_owned().await else {
                break;
            };
            let Some(item) = messages.next() else {
                break;
            };
            match item {
                Err(error) => queue.push_back(Entry::Ready(BulkItem {
                    position: error.position().clone(),
                    result: Err(BulkError::Read(error)),
                })),
                Ok(MailItem { source, bytes }) => {
                    let auth = self.authenticator.clone();
                    let envelope = Arc::clone(&envelope);
                    let handle = tokio::spawn(async move {
                        let prepared = auth.prepare_from(&bytes, &envelope);
                        drop(bytes);
                        drop(permit);
                        auth.complete(prepared).await
                    });
                    queue.push_back(Entry::Running(source, handle));
                }
            }
        }
        while let Some(entry) = queue.pop_front() {
            sink(entry.wait().await);
        }
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

impl BulkSummary {
    /// Counts one result.
    pub fn add(&mut self, item: &BulkItem) {
        match &item.result {
            Ok(report) => self.add_report(report),
            Err(_) => self.errors = self.errors.saturating_add(1),
        }
    }

    /// Counts one report.
    pub fn add_report(&mut self, report: &Report) {
        fn bump<K: Ord>(map: &mut BTreeMap<K, usize>, key: K) {
            let n = map.entry(key).or_insert(0);
            *n = n.saturating_add(1);
        }
        self.checked = self.checked.saturating_add(1);
        let outcome = report.outcome();
        bump(&mut self.outcomes, outcome);
        bump(&mut self.spf, report.spf.result.as_str());
        if report.dkim.is_empty() {
            bump(&mut self.dkim, "none");
        }
        for check in report.dkim.iter().filter(|c| !c.is_not_checked()) {
            bump(&mut self.dkim, check.result().as_str());
        }
        bump(&mut self.dmarc, report.dmarc.result.as_str());
        bump(&mut self.dispositions, report.dmarc.disposition.as_str());

        let domain = match report.from.domains() {
            [] => "(none)".to_owned(),
            [one] => one.as_str().to_owned(),
            _ => "(multiple)".to_owned(),
        };
        let key = if self.domains.len() < MAX_SUMMARY_DOMAINS || self.domains.contains_key(&domain)
        {
            domain
        } else {
            "(other)".to_owned()
        };
        let stats = self.domains.entry(key).or_default();
        stats.messages = stats.messages.saturating_add(1);
        if outcome == Outcome::Pass {
            stats.pass = stats.pass.saturating_add(1);
        }

        if outcome != Outcome::Pass {
            for reason in reasons(report) {
                let key = if self.reasons.len() < MAX_SUMMARY_REASONS
                    || self.reasons.contains_key(&reason)
                {
                    reason
                } else {
                    "(other)".to_owned()
                };
                bump(&mut self.reasons, key);
            }
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
