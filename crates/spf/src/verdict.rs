//! What `check_host()` returns: the verdict, the problem behind a non-mechanism result and the
//! trace of the evaluation.

use crate::record::{Directive, ParseError, Record};
use crate::request::SmtpText;
use crate::result::{Identity, SpfResult};
use mailstamp_dns::Name;
use serde::Serialize;
use std::fmt;
use std::net::IpAddr;
use std::sync::Arc;

/// Why `check_host()` ended without a mechanism deciding: each variant cites the RFC 7208
/// section that defines it and names the result it yields ([`SpfProblem::result`]).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
#[non_exhaustive]
pub enum SpfProblem {
    /// The `<domain>` is malformed: not a valid DNS name, a single label, or a domain literal
    /// (RFC 7208 §4.3). Yields `none`.
    InvalidDomain {
        /// The domain as given.
        domain: String,
    },
    /// The `<domain>` does not exist or publishes no `v=spf1` record (RFC 7208 §4.3, §4.5).
    /// Yields `none`.
    NoRecord {
        /// The domain looked up.
        domain: String,
    },
    /// A DNS lookup failed: SERVFAIL, timeout or another error (RCODE other than 0 or 3)
    /// (RFC 7208 §4.4, §5). Yields `temperror`.
    DnsFailure {
        /// The query that failed, as `name TYPE`.
        query: String,
        /// How it failed (`timeout`, `servfail`, `refused`, `other`).
        failure: String,
    },
    /// More than one `v=spf1` record at a name (RFC 7208 §4.5). Yields `permerror`.
    MultipleRecords {
        /// The domain.
        domain: String,
        /// How many SPF records it publishes.
        count: usize,
    },
    /// A record has a syntax error (RFC 7208 §4.6). Yields `permerror`.
    Syntax {
        /// The domain whose record is invalid.
        domain: String,
        /// The parse error, with the offending term and its byte offset.
        error: String,
        /// The offending term.
        term: String,
        /// Byte offset of the error in the record.
        offset: usize,
    },
    /// More than [`crate::MAX_DNS_MECHANISMS`] DNS-querying terms were evaluated (RFC 7208
    /// §4.6.4). Yields `permerror`.
    TooManyLookups {
        /// The limit.
        limit: usize,
        /// The term that would have exceeded it.
        term: String,
    },
    /// More than [`crate::MAX_VOID_LOOKUPS`] lookups answered NXDOMAIN or no records (RFC 7208
    /// §4.6.4). Yields `permerror`.
    TooManyVoidLookups {
        /// The limit.
        limit: usize,
        /// The term whose lookup exceeded it.
        term: String,
    },
    /// An `mx` target has more than [`crate::MAX_MX_NAMES`] MX names (RFC 7208 §4.6.4: "if
    /// more than 10 'MX' records are returned for this further lookup, an error is returned"),
    /// whichever name would have matched: no address is looked up. Yields `permerror`.
    TooManyMxNames {
        /// The MX target.
        domain: String,
        /// How many names its MX records have.
        count: usize,
        /// The limit.
        limit: usize,
    },
    /// An `include` target has no SPF record, or its name is malformed, so the recursive
    /// `check_host()` returned `none` (RFC 7208 §5.2). Yields `permerror`.
    IncludeNone {
        /// The include target.
        target: String,
    },
    /// A `redirect` target has no SPF record or is malformed (RFC 7208 §6.1). Yields
    /// `permerror`.
    RedirectNone {
        /// The redirect target.
        target: String,
    },
    /// The driver's wall-clock budget ran out before the evaluation finished (RFC 7208
    /// §4.6.4: such a limit "SHOULD allow at least 20 seconds"; exceeding it "SHOULD" give
    /// `temperror`). Yields `temperror`.
    TimeLimit {
        /// The budget, in milliseconds.
        millis: u64,
    },
    /// An `include` or `redirect` leads back to a domain whose evaluation is still in
    /// progress. Evaluating on would only spend the lookup budget and end in the same
    /// `permerror` (RFC 7208 §4.6.4, §10.1); this names the loop instead. Yields `permerror`.
    Loop {
        /// The domain reached again.
        domain: String,
        /// The term that closed the loop.
        term: String,
    },
}

impl SpfProblem {
    /// The result this problem yields.
    pub fn result(&self) -> SpfResult {
        match self {
            SpfProblem::InvalidDomain { .. } | SpfProblem::NoRecord { .. } => SpfResult::None,
            SpfProblem::DnsFailure { .. } | SpfProblem::TimeLimit { .. } => SpfResult::TempError,
            SpfProblem::MultipleRecords { .. }
            | SpfProblem::Syntax { .. }
            | SpfProblem::TooManyLookups { .. }
            | SpfProblem::TooManyVoidLookups { .. }
            | SpfProblem::TooManyMxNames { .. }
            | SpfProblem::IncludeNone { .. }
            | SpfProblem::RedirectNone { .. }
            | SpfProblem::Loop { .. } => SpfResult::PermError,
        }
    }

    /// The RFC 7208 section that defines this outcome.
    pub fn rfc_section(&self) -> &'static str {
        match self {
            SpfProblem::InvalidDomain { .. } => "RFC 7208 §4.3",
            SpfProblem::NoRecord { .. } => "RFC 7208 §4.5",
            SpfProblem::DnsFailure { .. } => "RFC 7208 §4.4, §5",
            SpfProblem::MultipleRecords { .. } => "RFC 7208 §4.5",
            SpfProblem::Syntax { .. } => "RFC 7208 §4.6",
            SpfProblem::TooManyLookups { .. }
            | SpfProblem::TooManyVoidLookups { .. }
            | SpfProblem::TooManyMxNames { .. }
            | SpfProblem::TimeLimit { .. }
            | SpfProblem::Loop { .. } => "RFC 7208 §4.6.4",
            SpfProblem::IncludeNone { .. } => "RFC 7208 §5.2",
            SpfProblem::RedirectNone { .. } => "RFC 7208 §6.1",
        }
    }

    pub(crate) fn syntax(domain: &Name, error: &ParseError) -> SpfProblem {
        SpfProblem::Syntax {
            domain: domain.to_string(),
            error: error.to_string(),
            term: error.term.clone(),
            offset: error.offset,
        }
    }
}

impl fmt::Display for SpfProblem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            SpfProblem::InvalidDomain { domain } => {
                write!(f, "{domain:?} is not a valid multi-label domain name")
            }
            SpfProblem::NoRecord { domain } => write!(f, "no SPF record at {domain}"),
            SpfProblem::DnsFailure { query, failure } => {
                write!(f, "DNS lookup {query} failed ({failure})")
            }
            SpfProblem::MultipleRecords { domain, count } => {
                write!(
                    f,
                    "{domain} publishes {count} SPF records (at most one allowed)"
                )
            }
            SpfProblem::Syntax { domain, error, .. } => {
                write!(f, "invalid SPF record at {domain}: {error}")
            }
            SpfProblem::TooManyLookups { limit, term } => {
                write!(f, "more than {limit} DNS-querying terms (at {term:?})")
            }
            SpfProblem::TooManyVoidLookups { limit, term } => {
                write!(f, "more than {limit} void DNS lookups (at {term:?})")
            }
            SpfProblem::TooManyMxNames {
                domain,
                count,
                limit,
            } => write!(
                f,
                "{domain} has {count} MX names (at most {limit} are looked up)"
            ),
            SpfProblem::IncludeNone { target } => {
                write!(f, "include target {target} has no SPF record")
            }
            SpfProblem::RedirectNone { target } => {
                write!(f, "redirect target {target} has no SPF record")
            }
            SpfProblem::TimeLimit { millis } => {
                write!(f, "the evaluation took longer than {} ms", millis)
            }
            SpfProblem::Loop { domain, term } => {
                write!(f, "{term:?} loops back to {domain}")
            }
        }
    }
}

/// The term that decided the result: the directive, in the record of the domain that holds
/// it. Built without copying: the record and the name are shared with the evaluation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MatchedTerm {
    domain: Name,
    record: Arc<Record>,
    index: usize,
}

impl MatchedTerm {
    /// The term `index` of `record`, published at `domain`; `None` when `record` has no
    /// directive `index`.
    pub fn new(domain: Name, record: Arc<Record>, index: usize) -> Option<MatchedTerm> {
        (index < record.directives().len()).then_some(MatchedTerm {
            domain,
            record,
            index,
        })
    }

    /// The domain whose record holds the term.
    pub fn domain(&self) -> &str {
        self.domain.as_str()
    }

    /// The domain whose record holds the term, as a name.
    pub fn domain_name(&self) -> &Name {
        &self.domain
    }

    /// The directive that matched.
    pub fn directive(&self) -> &Directive {
        // `new` checked the index.
        &self.record.directives()[self.index]
    }

    /// The record that holds the directive.
    pub fn record(&self) -> &Arc<Record> {
        &self.record
    }

    /// The directive in canonical form (`-all`, `include:_spf.example.com`, ...), as the
    /// `mechanism=` key of `Received-SPF` (RFC 7208 §9.1) wants it.
    pub fn term(&self) -> String {
        self.directive().canonical_text()
    }
}

impl Serialize for MatchedTerm {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeStruct;
        let mut s = serializer.serialize_struct("MatchedTerm", 2)?;
        s.serialize_field("domain", self.domain())?;
        s.serialize_field("term", &self.term())?;
        s.end()
    }
}

/// Where a record evaluated came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum RecordSource {
    /// A TXT lookup in this evaluation.
    Dns,
    /// Parsed earlier in the same evaluation (never re-parsed).
    Memo,
    /// The caller's [`crate::RecordCache`].
    Cache,
    /// The candidate record of [`crate::Options::with_candidate_record`].
    Candidate,
}

impl RecordSource {
    /// `dns`, `memo`, `cache` or `candidate`.
    pub fn as_str(self) -> &'static str {
        match self {
            RecordSource::Dns => "dns",
            RecordSource::Memo => "memo",
            RecordSource::Cache => "cache",
            RecordSource::Candidate => "candidate",
        }
    }
}

/// How a term ended.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum TermOutcome {
    /// It matched: the record's result is the qualifier's.
    Match,
    /// It did not match; evaluation continues with the next term.
    NoMatch,
}

/// One step of the evaluation, for `--trace` (design.md: "every yielded query and answer is
/// an event"). `depth` counts `include` and `redirect` levels from the checked domain (0).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "event", rename_all = "snake_case")]
pub enum TraceEvent {
    /// A record starts being evaluated.
    Record {
        /// Nesting level.
        depth: usize,
        /// Its domain.
        domain: String,
        /// Its canonical text.
        text: String,
        /// Where it came from.
        source: RecordSource,
    },
    /// A term starts being evaluated; the counts include it.
    Term {
        /// Nesting level.
        depth: usize,
        /// The directive or modifier in canonical form.
        term: String,
        /// The expanded `<target-name>`, when the term has one.
        target: Option<String>,
        /// DNS-querying terms used so far.
        lookups: usize,
        /// Void lookups so far.
        void_lookups: usize,
    },
    /// A query and its answer.
    Query {
        /// Nesting level.
        depth: usize,
        /// The query, as `name TYPE`.
        query: String,
        /// The answer in presentation form (`NXDOMAIN`, `NODATA`, records, or the failure).
        answer: String,
        /// Void lookups so far (after this answer).
        void_lookups: usize,
    },
    /// A term finished.
    Outcome {
        /// Nesting level.
        depth: usize,
        /// The directive or modifier.
        term: String,
        /// How it ended.
        outcome: TermOutcome,
        /// The result it produced, for a match or an error.
        result: Option<SpfResult>,
    },
    /// A remark (a limit applied, a name skipped, an explanation ignored).
    Note {
        /// Nesting level.
        depth: usize,
        /// The text.
        text: String,
    },
    /// A (recursive) `check_host()` finished.
    Result {
        /// Nesting level.
        depth: usize,
        /// The domain evaluated.
        domain: String,
        /// Its result.
        result: SpfResult,
    },
}

impl TraceEvent {
    /// The nesting level of the event.
    pub fn depth(&self) -> usize {
        match self {
            TraceEvent::Record { depth, .. }
            | TraceEvent::Term { depth, .. }
            | TraceEvent::Query { depth, .. }
            | TraceEvent::Outcome { depth, .. }
            | TraceEvent::Note { depth, .. }
            | TraceEvent::Result { depth, .. } => *depth,
        }
    }
}

/// The outcome of `check_host()` for one identity.
///
/// Carries what an `Authentication-Results` or `Received-SPF` writer needs (RFC 7208 §9.1:
/// result, identity, client IP, envelope-from, HELO, problem, mechanism) and what a person
/// needs to understand the result (lookups spent, the trace).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SpfVerdict {
    /// The result.
    pub result: SpfResult,
    /// Why the result is not a mechanism's verdict (for `none`, `temperror`, `permerror`).
    pub problem: Option<SpfProblem>,
    /// The identity checked.
    pub identity: Identity,
    /// The SMTP client address, as given.
    pub client_ip: IpAddr,
    /// The `<sender>` and the HELO domain, shared with the request (read them with
    /// [`SpfVerdict::envelope_from`], [`SpfVerdict::helo`] and [`SpfVerdict::domain`]).
    pub(crate) smtp: SmtpText,
    /// The term that decided the result (`None` when no mechanism matched).
    pub matched: Option<MatchedTerm>,
    /// For `fail`: the explanation (`exp=`, RFC 7208 §6.2) or the receiver's default.
    pub explanation: Option<String>,
    /// DNS-querying terms evaluated (RFC 7208 §4.6.4).
    pub lookups: usize,
    /// Void lookups (RFC 7208 §4.6.4).
    pub void_lookups: usize,
    /// The evaluation, step by step (empty unless [`crate::Options::with_trace`] is set).
    pub trace: Vec<TraceEvent>,
    /// The records fetched from DNS and parsed during this evaluation, so a caller can keep
    /// them in a [`crate::RecordCache`]. Records taken from the cache are not repeated. In the
    /// order their evaluation finished (an included record before the record including it),
    /// not the order they were fetched. Empty when [`crate::Options::with_fetched_records`]
    /// turned it off. Not serialized.
    pub fetched_records: Vec<(Name, Arc<Record>)>,
}

impl SpfVerdict {
    /// The text of the problem, if any (the `problem=` key of `Received-SPF`).
    pub fn problem_text(&self) -> Option<String> {
        self.problem.as_ref().map(ToString::to_string)
    }

    /// The `<sender>`: the MAIL FROM address, or `postmaster@<helo>` (RFC 7208 §4.3).
    pub fn envelope_from(&self) -> &str {
        self.smtp.sender()
    }

    /// The HELO/EHLO domain, as given.
    pub fn helo(&self) -> &str {
        self.smtp.helo()
    }

    /// The `<domain>` checked, as given.
    pub fn domain(&self) -> &str {
        self.smtp.domain()
    }
}

/// The JSON form: the fields above in order, the SMTP parameters as `envelope_from`, `helo`
/// and `domain`; `fetched_records` is left out.
impl Serialize for SpfVerdict {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeStruct;
        let mut s = serializer.serialize_struct("SpfVerdict", 12)?;
        s.serialize_field("result", &self.result)?;
        s.serialize_field("problem", &self.problem)?;
        s.serialize_field("identity", &self.identity)?;
        s.serialize_field("client_ip", &self.client_ip)?;
        s.serialize_field("envelope_from", self.envelope_from())?;
        s.serialize_field("helo", self.helo())?;
        s.serialize_field("domain", self.domain())?;
        s.serialize_field("matched", &self.matched)?;
        s.serialize_field("explanation", &self.explanation)?;
        s.serialize_field("lookups", &self.lookups)?;
        s.serialize_field("void_lookups", &self.void_lookups)?;
        s.serialize_field("trace", &self.trace)?;
        s.end()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn problem_results_follow_the_rfc() {
        let cases = [
            (
                SpfProblem::InvalidDomain { domain: "x".into() },
                SpfResult::None,
            ),
            (SpfProblem::NoRecord { domain: "x".into() }, SpfResult::None),
            (
                SpfProblem::DnsFailure {
                    query: "x TXT".into(),
                    failure: "timeout".into(),
                },
                SpfResult::TempError,
            ),
            (
                SpfProblem::IncludeNone { target: "x".into() },
                SpfResult::PermError,
            ),
        ];
        for (p, r) in cases {
            assert_eq!(p.result(), r);
            assert!(p.rfc_section().starts_with("RFC 7208 §"));
            assert!(!p.to_string().is_empty());
        }
        let json = serde_json::to_value(SpfProblem::TooManyLookups {
            limit: 10,
            term: "a".into(),
        })
        .unwrap();
        assert_eq!(json["kind"], "too_many_lookups");
    }
}
