//! The sans-I/O step shape shared by every evaluator.

use crate::{Answer, Query};

/// Where an evaluation stands: it needs DNS answers, or it is done.
#[derive(Debug)]
pub enum Step<P, T> {
    /// The evaluation waits for the answers to [`Lookup::queries`].
    Lookup(P),
    /// The evaluation finished with this output.
    Done(T),
}

/// A paused evaluation waiting for DNS answers.
///
/// The driver answers every query of [`Lookup::queries`] (in any order, possibly concurrently)
/// and hands the answers back to [`Lookup::resume`] in the same order as the queries.
pub trait Lookup: Sized {
    /// What the evaluation produces when done.
    type Output;
    /// The questions this step needs answered. Never empty.
    fn queries(&self) -> &[Query];
    /// Continues with one answer per query, in query order.
    ///
    /// Implementations treat a missing answer (fewer answers than queries) as
    /// [`Answer::Failed`] with [`crate::FailureKind::Other`]; they never panic on it.
    fn resume(self, answers: Vec<Answer>) -> Step<Self, Self::Output>;
}

/// A synchronous source of answers, such as a [`crate::Zone`].
pub trait Source {
    /// Answers one query.
    fn answer(&self, query: &Query) -> Answer;
}

impl<S: Source + ?Sized> Source for &S {
    fn answer(&self, query: &Query) -> Answer {
        (**self).answer(query)
    }
}

/// Drives an evaluation to its end against a synchronous source.
pub fn resolve_sync<L: Lookup>(mut step: Step<L, L::Output>, source: &impl Source) -> L::Output {
    loop {
        match step {
            Step::Done(out) => return out,
            Step::Lookup(pending) => {
                let answers = pending.queries().iter().map(|q| source.answer(q)).collect();
                step = pending.resume(answers);
            }
        }
    }
}
