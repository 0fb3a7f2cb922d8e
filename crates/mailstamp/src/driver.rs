//! The one driver of every sans-I/O machine over the [`Resolver`], and the one wall-clock budget.
//!
//! The protocol crates count their own RFC limits (SPF's 10 lookups, DMARC's 8 queries) and never
//! read the clock; the time a check may take is the driver's business. [`drive`] runs any
//! [`Step`] to its end; [`drive_within`] does the same within a deadline and, when it passes,
//! asks the machine for its verdict on what is left ([`TimeLimited::time_limit_exceeded`]):
//! `temperror` for the unfinished parts, never a pass. [`DEFAULT_TIME_LIMIT`] is the budget of
//! every check (`mailstamp::spf::check`, the pipeline's [`crate::pipeline::CheckOptions`]).

use crate::Resolver;
use mailstamp_dns::{Lookup, Step};
use std::time::Duration;

/// The default wall-clock budget of one check: 20 seconds, the least RFC 7208 §4.6.4 asks for
/// SPF ("SHOULD allow at least 20 seconds"); the pipeline uses the same budget for the whole
/// message (SPF, DKIM keys and DMARC run concurrently within it).
pub const DEFAULT_TIME_LIMIT: Duration = Duration::from_secs(20);

/// A sans-I/O machine that can end early when its time is up.
pub trait TimeLimited: Lookup {
    /// The verdict when `limit` has passed with this step's queries unanswered: every part that
    /// has not finished gets `temperror` (RFC 7208 §4.6.4 for SPF).
    fn time_limit_exceeded(self, limit: Duration) -> Self::Output;
}

impl TimeLimited for mailstamp_spf::Pending<'_> {
    fn time_limit_exceeded(self, limit: Duration) -> Self::Output {
        mailstamp_spf::Pending::time_limit_exceeded(self, limit)
    }
}

/// Drives a sans-I/O evaluation to its end, answering the queries of each step concurrently
/// through `resolver` (and its cache).
///
/// ```
/// use mailstamp::{Resolver, drive};
/// use mailstamp_dns::{Answer, Lookup, Name, Query, Step, Zone};
///
/// /// Asks one TXT question and reports whether it got records.
/// struct HasTxt(Vec<Query>);
/// impl Lookup for HasTxt {
///     type Output = bool;
///     fn queries(&self) -> &[Query] { &self.0 }
///     fn resume(self, answers: Vec<Answer>) -> Step<Self, bool> {
///         Step::Done(matches!(answers.first(), Some(Answer::Records(_))))
///     }
/// }
///
/// let mut zone = Zone::new();
/// zone.add_txt(&Name::parse("example.org")?, ["hello"]);
/// let resolver = Resolver::offline(zone);
/// let step = Step::Lookup(HasTxt(vec![Query::txt(Name::parse("example.org")?)]));
/// let runtime = tokio::runtime::Builder::new_current_thread().build()?;
/// assert!(runtime.block_on(drive(step, &resolver)));
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub async fn drive<L: Lookup>(step: Step<L, L::Output>, resolver: &Resolver) -> L::Output {
    // Only the paused machine is kept across steps (and awaits), never a whole `Step`: a
    // verdict is moved once, when it is returned.
    let mut pending = match step {
        Step::Done(out) => return out,
        Step::Lookup(pending) => pending,
    };
    let now = resolver.now();
    loop {
        let answers = match resolver.cached_all(pending.queries(), now) {
            Some(answers) => answers,
            None => resolver.answer_all(pending.queries()).await,
        };
        pending = match pending.resume(answers) {
            Step::Done(out) => return out,
            Step::Lookup(next) => next,
        };
    }
}

/// Drives a sans-I/O evaluation like [`drive`], within `limit` of wall-clock time.
///
/// The queries of each step are answered concurrently through `resolver`; the `limit` runs
/// from the first step that is not answered at once from the cache; if the deadline passes
/// while a step waits, the machine ends with
/// [`time_limit_exceeded`](TimeLimited::time_limit_exceeded).
pub async fn drive_within<L: TimeLimited>(
    step: Step<L, L::Output>,
    resolver: &Resolver,
    limit: Duration,
) -> L::Output {
    // As in `drive`, only the paused machine is kept across steps. Steps whose answers are
    // all cached and fresh (the clock read once, here) resume at once; the deadline starts
    // with the first step that has to wait for the source. Until then the evaluation only
    // spends CPU time on answers already at hand.
    let mut pending = match step {
        Step::Done(out) => return out,
        Step::Lookup(pending) => pending,
    };
    let now = resolver.now();
    let mut deadline = None;
    loop {
        let answers = match resolver.cached_all(pending.queries(), now) {
            Some(answers) => answers,
            None => {
                let deadline = *deadline.get_or_insert_with(|| tokio::time::Instant::now() + limit);
                match tokio::time::timeout_at(deadline, resolver.answer_all(pending.queries()))
                    .await
                {
                    Ok(answers) => answers,
                    Err(_) => return pending.time_limit_exceeded(limit),
                }
            }
        };
        pending = match pending.resume(answers) {
            Step::Done(out) => return out,
            Step::Lookup(next) => next,
        };
    }
}
