//! `check_host()` (RFC 7208 §4–§6) as a sans-I/O state machine.
//!
//! The evaluation never performs I/O: when it needs DNS data it stops with
//! [`Step::Lookup`] and a [`Pending`] listing the queries; the driver answers them and calls
//! [`Lookup::resume`]. `include` and `redirect` are frames on an explicit stack, not recursion.
//! Every RFC limit is counted here, so no driver can bypass it.

use crate::macros::{MacroString, Output, Vars};
use crate::record::ParseError;
use crate::record::{DualCidr, Mechanism, Record, is_spf_record};
use crate::request::{
    MAX_DNS_MECHANISMS, MAX_MX_NAMES, MAX_PTR_NAMES, Options, RecordParser, Request,
};
use crate::result::SpfResult;
use crate::verdict::{MatchedTerm, RecordSource, SpfProblem, SpfVerdict, TermOutcome, TraceEvent};
use mailstamp_dns::{Answer, FailureKind, Lookup, Name, Query, RData, RecordType, Step};
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use std::sync::Arc;
use std::time::Duration;

/// Starts `check_host()` for a request.
///
/// Returns [`Step::Done`] at once when no DNS data is needed (an invalid domain, or records
/// all found in the [`crate::RecordCache`] with only `ip4`/`ip6`/`all`/`include` terms), or
/// [`Step::Lookup`] with the first queries.
///
/// ```
/// use mailstamp_dns::{resolve_sync, Name, RData, Zone};
/// use mailstamp_spf::{check_host, Options, Request, SpfResult};
///
/// let mut zone = Zone::new();
/// let domain = Name::parse("example.com").unwrap();
/// zone.add_txt(&domain, ["v=spf1 mx -all"]);
/// zone.add(&domain, RData::Mx { preference: 10, exchange: Some(Name::parse("mx.example.com").unwrap()) });
/// zone.add(&Name::parse("mx.example.com").unwrap(), RData::A("192.0.2.25".parse().unwrap()));
///
/// let request = Request::mail_from("192.0.2.25".parse().unwrap(), "alice@example.com", "mx.example.com");
/// let options = Options::default();
/// let verdict = resolve_sync(check_host(&request, &options), &zone);
/// assert_eq!(verdict.result, SpfResult::Pass);
/// assert_eq!(verdict.matched.unwrap().term(), "mx");
/// assert_eq!(verdict.lookups, 1);
/// ```
pub fn check_host<'a>(request: &'a Request, options: &'a Options) -> Step<Pending<'a>, SpfVerdict> {
    check_host_with(request, options, None)
}

/// [`check_host`] with the records it fetches parsed by `parser` (a cache of parsed records
/// shared across evaluations, such as the `mailstamp` resolver's) instead of
/// [`Record::parse_bytes`]. The verdict is the same; only the parsing is shared.
///
/// ```
/// use mailstamp_dns::{resolve_sync, Name, Zone};
/// use mailstamp_spf::{check_host_with, Options, ParseError, Record, RecordParser, Request, SpfResult};
/// use std::sync::Arc;
///
/// #[derive(Debug)]
/// struct Plain;
/// impl RecordParser for Plain {
///     fn parse(&self, text: &[u8]) -> Result<Arc<Record>, ParseError> {
///         Record::parse_bytes(text).map(Arc::new)
///     }
/// }
///
/// let mut zone = Zone::new();
/// zone.add_txt(&Name::parse("example.com")?, ["v=spf1 ip4:192.0.2.0/24 -all"]);
/// let request = Request::mail_from("192.0.2.7".parse()?, "a@example.com", "mx.example.com");
/// let options = Options::default();
/// let verdict = resolve_sync(check_host_with(&request, &options, Some(&Plain)), &zone);
/// assert_eq!(verdict.result, SpfResult::Pass);
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub fn check_host_with<'a>(
    request: &'a Request,
    options: &'a Options,
    parser: Option<&'a dyn RecordParser>,
) -> Step<Pending<'a>, SpfVerdict> {
    // On the stack until it has to wait: an evaluation whose records are all at hand is
    // never boxed.
    let mut machine = Machine::new(request, options);
    machine.parser = parser;
    let go = machine.start();
    match machine.advance(go) {
        Some(verdict) => Step::Done(verdict),
        None => Step::Lookup(Pending {
            machine: Box::new(machine),
        }),
    }
}

/// A paused evaluation waiting for DNS answers (see [`Lookup`]).
#[derive(Debug)]
pub struct Pending<'a> {
    machine: Box<Machine<'a>>,
}

impl Pending<'_> {
    /// Ends the evaluation because the driver's wall-clock budget `limit` ran out: the result
    /// is `temperror` with [`SpfProblem::TimeLimit`] (RFC 7208 §4.6.4), the counts and trace
    /// so far are kept. While an explanation is being fetched the result is already `fail`
    /// and stays so, without explanation (RFC 7208 §6.2).
    pub fn time_limit_exceeded(self, limit: Duration) -> SpfVerdict {
        let millis = u64::try_from(limit.as_millis()).unwrap_or(u64::MAX);
        let mut machine = *self.machine;
        machine.queries.clear();
        machine.wait = Wait::Idle;
        let go = if machine.ending.is_some() {
            machine.note(0, format!("explanation abandoned after {millis} ms"));
            machine.done(SpfResult::Fail, None, None)
        } else {
            machine.fail_with(SpfProblem::TimeLimit { millis })
        };
        match (go, machine.finished.take()) {
            (Go::Done, Some((result, problem, explanation))) => {
                machine.verdict(result, problem, explanation)
            }
            // fail_with and done always finish.
            _ => machine.verdict(
                SpfResult::TempError,
                Some(SpfProblem::TimeLimit { millis }),
                None,
            ),
        }
    }
}

impl Lookup for Pending<'_> {
    type Output = SpfVerdict;

    fn queries(&self) -> &[Query] {
        &self.machine.queries
    }

    fn resume(self, answers: Vec<Answer>) -> Step<Self, SpfVerdict> {
        let mut machine = self.machine;
        let go = machine.resume(answers);
        Machine::step(machine, go)
    }
}

/// What to do next.
#[derive(Debug)]
enum Go {
    /// Keep evaluating.
    Continue,
    /// Queries are set; wait for their answers.
    Wait,
    /// Finished: the outcome is in [`Machine::finished`].
    Done,
}

/// Why a record is being looked up.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Purpose {
    Top,
    Include,
    Redirect,
}

/// Where evaluation resumes once `%{p}` is known.
#[derive(Debug)]
enum AfterP {
    /// Re-run the term the current frame's cursor points at.
    Resume,
    /// Expand the `exp=` domain-spec of the ending record.
    ExpSpec,
    /// Expand this explanation string.
    ExpText(MacroString),
}

/// What the pending queries are for.
#[derive(Debug)]
enum Wait {
    Idle,
    Record {
        target: Name,
        purpose: Purpose,
    },
    Address {
        cidr: DualCidr,
    },
    Mx {
        cidr: DualCidr,
        target: Name,
    },
    MxHosts {
        cidr: DualCidr,
    },
    Ptr {
        target: Name,
    },
    PtrValidate,
    Exists,
    PMacroPtr {
        prefer: Option<Name>,
        after: AfterP,
    },
    PMacroValidate {
        prefer: Option<Name>,
        names: Vec<Name>,
        after: AfterP,
    },
    Explanation,
}

/// One `check_host()` in progress (the checked domain, an include, or a redirect target).
#[derive(Debug)]
struct Frame {
    domain: Name,
    record: Arc<Record>,
    /// Index of the next directive to evaluate.
    next: usize,
    /// Nesting level for the trace (includes and redirects).
    depth: usize,
    /// Domains this frame left by `redirect` (for loop detection).
    redirected_from: Vec<Name>,
    /// The record was fetched from DNS in this evaluation: it goes to
    /// [`SpfVerdict::fetched_records`] once the frame is done with it.
    from_dns: bool,
}

/// The top-level result waiting for its explanation.
#[derive(Debug)]
struct Ending {
    domain: Name,
    record: Arc<Record>,
    from_dns: bool,
    matched: Option<MatchedTerm>,
}

#[derive(Debug)]
struct Machine<'a> {
    req: &'a Request,
    opts: &'a Options,
    /// Parses fetched records (shared across evaluations); `None`: parse here.
    parser: Option<&'a dyn RecordParser>,
    frames: Vec<Frame>,
    lookups: usize,
    voids: usize,
    /// Records fetched and parsed in this evaluation whose frames are done with them (moved
    /// here, not copied). A record is never parsed twice: a second `include` of the same name
    /// finds it here (the name of a record still in use by a frame is a loop instead).
    fetched: Vec<(Name, Arc<Record>)>,
    trace: Vec<TraceEvent>,
    /// The `%{p}` value once computed.
    validated: Option<String>,
    wait: Wait,
    queries: Vec<Query>,
    ending: Option<Ending>,
    /// The outcome once the evaluation is done (result, problem, explanation); the verdict
    /// is built from it as the last step returns, so it is moved only once.
    finished: Option<(SpfResult, Option<SpfProblem>, Option<String>)>,
}

/// The DNS-querying mechanisms, as [`Machine::dns_term`] acts on them.
#[derive(Debug, Clone, Copy)]
enum DnsKind {
    Include,
    A(DualCidr),
    Mx(DualCidr),
    Ptr,
    Exists,
}

/// The outcome of scanning directives that need no DNS.
enum Scan {
    Match(usize),
    Dns(usize),
    End,
}

impl<'a> Machine<'a> {
    fn new(req: &'a Request, opts: &'a Options) -> Machine<'a> {
        Machine {
            req,
            opts,
            parser: None,
            frames: Vec::with_capacity(4),
            lookups: 0,
            voids: 0,
            fetched: Vec::new(),
            trace: Vec::new(),
            validated: None,
            wait: Wait::Idle,
            queries: Vec::new(),
            ending: None,
            finished: None,
        }
    }

    /// Runs until the machine waits or is done, and wraps the outcome as a step.
    /// The machine stays boxed across steps: it is never moved while it waits.
    fn step(mut machine: Box<Machine<'a>>, go: Go) -> Step<Pending<'a>, SpfVerdict> {
        match machine.advance(go) {
            Some(verdict) => Step::Done(verdict),
            None => Step::Lookup(Pending { machine }),
        }
    }

    /// Runs until the machine waits (`None`) or is done (its verdict).
    fn advance(&mut self, mut go: Go) -> Option<SpfVerdict> {
        loop {
            match go {
                Go::Continue => go = self.run(),
                Go::Wait => return None,
                Go::Done => {
                    let (result, problem, explanation) =
                        self.finished
                            .take()
                            .unwrap_or((SpfResult::TempError, None, None));
                    return Some(self.verdict(result, problem, explanation));
                }
            }
        }
    }

    // ----------------------------------------------------------------------------------
    // Start and record selection (RFC 7208 §4.3–§4.5)

    fn start(&mut self) -> Go {
        let Some(domain) = self.req.domain_name().cloned() else {
            return self.fail_with(SpfProblem::InvalidDomain {
                domain: self.req.domain().to_owned(),
            });
        };
        if let Some(text) = &self.opts.candidate {
            return match Record::parse_bytes(text.as_bytes()) {
                Ok(record) => {
                    self.enter_record(
                        domain,
                        Arc::new(record),
                        Purpose::Top,
                        RecordSource::Candidate,
                    );
                    Go::Continue
                }
                Err(e) => self.fail_with(SpfProblem::syntax(&domain, &e)),
            };
        }
        self.fetch_record(domain, Purpose::Top)
    }

    fn fetch_record(&mut self, target: Name, purpose: Purpose) -> Go {
        if let Some(record) = self
            .fetched
            .iter()
            .find(|(n, _)| *n == target)
            .map(|(_, r)| Arc::clone(r))
        {
            self.enter_record(target, record, purpose, RecordSource::Memo);
            return Go::Continue;
        }
        if let Some(record) = self.opts.cache.as_ref().and_then(|c| c.get(&target)) {
            let record = Arc::clone(record);
            self.enter_record(target, record, purpose, RecordSource::Cache);
            return Go::Continue;
        }
        // The target moves into the query and back: no clone of the name.
        let query = Query::txt(target);
        if let Some(answer) = self.parser.and_then(|p| p.answer_at_hand(&query)) {
            // As the driver would answer it: `on_record` is the one reader of the answer.
            return self.on_record(query.name, purpose, &answer);
        }
        let target = Name::clone(&query.name);
        self.queries.push(query);
        self.wait = Wait::Record { target, purpose };
        Go::Wait
    }

    fn on_record(&mut self, target: Name, purpose: Purpose, answer: &Answer) -> Go {
        let depth = self.child_depth(purpose);
        if let Answer::Failed(kind) = answer {
            let query = Query::txt(Name::clone(&target));
            self.trace_query(depth, &query, answer);
            return self.dns_failure(&query, *kind);
        }
        if purpose != Purpose::Top && answer.is_void(RecordType::Txt) {
            self.voids += 1;
        }
        if self.opts.trace {
            self.trace_query(depth, &Query::txt(Name::clone(&target)), answer);
        }
        let mut spf = answer.txts().filter(|t| is_spf_record(t.joined_bytes()));
        let first = spf.next();
        let more = spf.count();
        let Some(txt) = first else {
            let name = target.to_string();
            return self.fail_with(match purpose {
                Purpose::Top => SpfProblem::NoRecord { domain: name },
                Purpose::Include => SpfProblem::IncludeNone { target: name },
                Purpose::Redirect => SpfProblem::RedirectNone { target: name },
            });
        };
        if more > 0 {
            return self.fail_with(SpfProblem::MultipleRecords {
                domain: target.to_string(),
                count: more + 1,
            });
        }
        let text = txt.joined_bytes();
        let parsed: Result<Arc<Record>, ParseError> = match self.parser {
            Some(parser) => parser.parse_txt(txt),
            None => Record::parse_bytes(text).map(Arc::new),
        };
        match parsed {
            Ok(record) => {
                self.enter_record(target, record, purpose, RecordSource::Dns);
                Go::Continue
            }
            Err(e) => {
                if self.opts.trace {
                    let text = String::from_utf8_lossy(text).into_owned();
                    self.note(depth, format!("record at {target}: {text:?}"));
                }
                self.fail_with(SpfProblem::syntax(&target, &e))
            }
        }
    }

    fn child_depth(&self, purpose: Purpose) -> usize {
        match (purpose, self.frames.last()) {
            (Purpose::Top, _) | (_, None) => 0,
            (_, Some(f)) => f.depth + 1,
        }
    }

    fn enter_record(
        &mut self,
        domain: Name,
        record: Arc<Record>,
        purpose: Purpose,
        source: RecordSource,
    ) {
        let depth = self.child_depth(purpose);
        if self.opts.trace {
            self.trace.push(TraceEvent::Record {
                depth,
                domain: domain.to_string(),
                text: record.to_string(),
                source,
            });
        }
        // Only what goes to `fetched_records` needs to know.
        let from_dns = source == RecordSource::Dns && self.opts.fetched_records;
        match (purpose, self.frames.last_mut()) {
            (Purpose::Redirect, Some(frame)) => {
                let old_domain = std::mem::replace(&mut frame.domain, domain);
                let old_record = std::mem::replace(&mut frame.record, record);
                let old_from_dns = std::mem::replace(&mut frame.from_dns, from_dns);
                frame.redirected_from.push(old_domain.clone());
                frame.next = 0;
                frame.depth = depth;
                keep_fetched(&mut self.fetched, old_domain, old_record, old_from_dns);
            }
            _ => self.frames.push(Frame {
                domain,
                record,
                next: 0,
                depth,
                redirected_from: Vec::new(),
                from_dns,
            }),
        }
    }

    // ----------------------------------------------------------------------------------
    // Record evaluation (RFC 7208 §4.6, §5)

    fn run(&mut self) -> Go {
        loop {
            let Some(frame) = self.frames.last_mut() else {
                // Unreachable: the machine finishes when the last frame ends.
                return self.fail_with(SpfProblem::NoRecord {
                    domain: self.req.domain().to_owned(),
                });
            };
            let ip = self.req.ip();
            let trace = self.opts.trace;
            let depth = frame.depth;
            let directives = frame.record.directives();
            let mut i = frame.next;
            let mut scan = Scan::End;
            while let Some(d) = directives.get(i) {
                let matched = match &d.mechanism {
                    Mechanism::All => true,
                    Mechanism::Ip4 { addr, prefix } => match ip {
                        IpAddr::V4(v4) => v4_in(v4, *addr, prefix.unwrap_or(32)),
                        IpAddr::V6(_) => false,
                    },
                    Mechanism::Ip6 { addr, prefix } => match ip {
                        IpAddr::V6(v6) => v6_in(v6, *addr, prefix.unwrap_or(128)),
                        IpAddr::V4(_) => false,
                    },
                    _ => {
                        scan = Scan::Dns(i);
                        break;
                    }
                };
                if trace {
                    let term = d.to_string();
                    self.trace.push(TraceEvent::Term {
                        depth,
                        term: term.clone(),
                        target: None,
                        lookups: self.lookups,
                        void_lookups: self.voids,
                    });
                    self.trace.push(TraceEvent::Outcome {
                        depth,
                        term,
                        outcome: if matched {
                            TermOutcome::Match
                        } else {
                            TermOutcome::NoMatch
                        },
                        result: matched.then(|| d.qualifier.result()),
                    });
                }
                i += 1;
                if matched {
                    scan = Scan::Match(i - 1);
                    break;
                }
            }
            frame.next = match scan {
                Scan::Dns(idx) => idx,
                _ => i,
            };
            let go = match scan {
                Scan::Match(idx) => self.directive_matched(idx),
                Scan::Dns(idx) => self.dns_term(idx),
                Scan::End => self.end_of_record(),
            };
            match go {
                Go::Continue => continue,
                other => return other,
            }
        }
    }

    /// The current frame's directive `idx` matched: the frame's result is its qualifier's.
    fn directive_matched(&mut self, idx: usize) -> Go {
        let Some(frame) = self.frames.last() else {
            return Go::Continue;
        };
        let Some(d) = frame.record.directives().get(idx) else {
            return Go::Continue;
        };
        let result = d.qualifier.result();
        self.frame_done(result, Some(idx))
    }

    /// The current frame finished with `result` (`matched`: the deciding directive).
    fn frame_done(&mut self, result: SpfResult, matched: Option<usize>) -> Go {
        let Some(frame) = self.frames.pop() else {
            return Go::Continue;
        };
        if self.opts.trace {
            self.trace.push(TraceEvent::Result {
                depth: frame.depth,
                domain: frame.domain.as_str().to_owned(),
                result,
            });
        }
        if self.frames.is_empty() {
            let matched = matched.and_then(|i| {
                MatchedTerm::new(Name::clone(&frame.domain), Arc::clone(&frame.record), i)
            });
            return self.finish_top(result, matched, frame);
        }
        keep_fetched(
            &mut self.fetched,
            frame.domain,
            frame.record,
            frame.from_dns,
        );
        // RFC 7208 §5.2: how an include's recursive result affects the including record.
        // The parent's cursor is already past its include directive.
        let Some(parent) = self.frames.last() else {
            return Go::Continue;
        };
        let idx = parent.next.saturating_sub(1);
        let matched = result == SpfResult::Pass;
        if self.opts.trace {
            let (depth, term, q) = self.current_directive(idx);
            self.trace.push(TraceEvent::Outcome {
                depth,
                term,
                outcome: if matched {
                    TermOutcome::Match
                } else {
                    TermOutcome::NoMatch
                },
                result: if matched { q } else { None },
            });
        }
        if matched {
            self.directive_matched(idx)
        } else {
            Go::Continue
        }
    }

    fn current_directive(&self, idx: usize) -> (usize, String, Option<SpfResult>) {
        match self.frames.last() {
            Some(f) => {
                let d = f.record.directives().get(idx);
                (
                    f.depth,
                    d.map(ToString::to_string).unwrap_or_default(),
                    d.map(|d| d.qualifier.result()),
                )
            }
            None => (0, String::new(), None),
        }
    }

    /// The current frame's DNS-querying directive `idx` (the cursor points at it).
    fn dns_term(&mut self, idx: usize) -> Go {
        let Some(frame) = self.frames.last() else {
            return Go::Continue;
        };
        // Read what the term needs while the record is borrowed (no reference count is
        // taken on the record: texts for errors and the trace are made from it on demand).
        let depth = frame.depth;
        let Some(directive) = frame.record.directives().get(idx) else {
            return Go::Continue;
        };
        let spec = directive.mechanism.domain_spec();
        if spec.is_some_and(|s| s.macro_string().uses_validated_domain())
            && self.validated.is_none()
        {
            let prefer = Some(frame.domain.clone());
            return self.resolve_p(prefer, AfterP::Resume);
        }
        let kind = match &directive.mechanism {
            Mechanism::Include(_) => DnsKind::Include,
            Mechanism::A { cidr, .. } => DnsKind::A(*cidr),
            Mechanism::Mx { cidr, .. } => DnsKind::Mx(*cidr),
            Mechanism::Ptr(_) => DnsKind::Ptr,
            Mechanism::Exists(_) => DnsKind::Exists,
            // Not DNS terms (`run` evaluates them): step past.
            Mechanism::All | Mechanism::Ip4 { .. } | Mechanism::Ip6 { .. } => {
                if let Some(frame) = self.frames.last_mut() {
                    frame.next = idx + 1;
                }
                return Go::Continue;
            }
        };
        // Expanding has no side effect, so it may come before the count.
        let target = match spec {
            Some(s) if s.macro_string().is_literal() => s.literal_name().cloned(),
            Some(s) => s.target(&self.vars(frame.domain.as_str())),
            None => Some(frame.domain.clone()),
        };
        let has_spec = spec.is_some();
        // From here on the term counts (RFC 7208 §4.6.4); the cursor moves past it.
        if let Some(frame) = self.frames.last_mut() {
            frame.next = idx + 1;
        }
        self.lookups += 1;
        if self.lookups > MAX_DNS_MECHANISMS {
            return self.fail_with(SpfProblem::TooManyLookups {
                limit: MAX_DNS_MECHANISMS,
                term: self.directive_text(idx),
            });
        }
        if self.opts.trace {
            let spec_text = self.spec_text(idx);
            self.trace.push(TraceEvent::Term {
                depth,
                term: self.directive_text(idx),
                target: target.as_ref().map(ToString::to_string).or_else(|| {
                    has_spec.then(|| format!("{spec_text} (expands to no valid domain name)"))
                }),
                lookups: self.lookups,
                void_lookups: self.voids,
            });
        }
        let Some(target) = target else {
            // RFC 7208 §4.3 by analogy: a target that is no valid domain name does not exist.
            return match kind {
                DnsKind::Include => self.fail_with(SpfProblem::IncludeNone {
                    target: self.spec_text(idx),
                }),
                _ => self.no_match(depth, "target is not a valid domain name"),
            };
        };
        let ip = self.req.ip();
        match kind {
            DnsKind::Include => {
                if target.label_count() < 2 {
                    // The recursive check_host() would return none (RFC 7208 §4.3, §5.2).
                    return self.fail_with(SpfProblem::IncludeNone {
                        target: target.to_string(),
                    });
                }
                if self.in_progress(&target) {
                    return self.fail_with(SpfProblem::Loop {
                        domain: target.to_string(),
                        term: self.directive_text(idx),
                    });
                }
                self.fetch_record(target, Purpose::Include)
            }
            DnsKind::A(cidr) => {
                self.queries
                    .push(Query::new(Name::clone(&target), address_type(ip)));
                self.wait = Wait::Address { cidr };
                Go::Wait
            }
            DnsKind::Mx(cidr) => {
                self.queries
                    .push(Query::new(Name::clone(&target), RecordType::Mx));
                self.wait = Wait::Mx { cidr, target };
                Go::Wait
            }
            DnsKind::Ptr => match reverse_name(ip) {
                Some(rev) => {
                    self.queries.push(Query::new(rev, RecordType::Ptr));
                    self.wait = Wait::Ptr { target };
                    Go::Wait
                }
                None => self.no_match(depth, "no reverse name for the client address"),
            },
            DnsKind::Exists => {
                // RFC 7208 §5.7: an A lookup, even when the connection is IPv6.
                self.queries
                    .push(Query::new(Name::clone(&target), RecordType::A));
                self.wait = Wait::Exists;
                Go::Wait
            }
        }
    }

    /// The canonical text of the current frame's directive `idx` (for problems and the trace).
    fn directive_text(&self, idx: usize) -> String {
        self.frames
            .last()
            .and_then(|f| f.record.directives().get(idx))
            .map(ToString::to_string)
            .unwrap_or_default()
    }

    /// The domain-spec of the current frame's directive `idx`, as written.
    fn spec_text(&self, idx: usize) -> String {
        self.frames
            .last()
            .and_then(|f| f.record.directives().get(idx))
            .and_then(|d| d.mechanism.domain_spec())
            .map(ToString::to_string)
            .unwrap_or_default()
    }

    /// True when `domain` is being evaluated by a frame on the stack (or was left by one of
    /// their redirects): evaluating it again can only loop.
    fn in_progress(&self, domain: &Name) -> bool {
        self.frames
            .iter()
            .any(|f| f.domain == *domain || f.redirected_from.iter().any(|d| d == domain))
    }

    /// All directives of the current frame were evaluated without a match (RFC 7208 §4.7).
    fn end_of_record(&mut self) -> Go {
        let Some(frame) = self.frames.last() else {
            return Go::Continue;
        };
        let record = Arc::clone(&frame.record);
        let depth = frame.depth;
        // RFC 7208 §5.1: redirect is ignored when the record has "all".
        let Some(spec) = record.redirect().filter(|_| !record.has_all()) else {
            return self.frame_done(SpfResult::Neutral, None);
        };
        if spec.macro_string().uses_validated_domain() && self.validated.is_none() {
            let prefer = Some(frame.domain.clone());
            return self.resolve_p(prefer, AfterP::Resume);
        }
        let term = format!("redirect={spec}");
        self.lookups += 1;
        if self.lookups > MAX_DNS_MECHANISMS {
            return self.fail_with(SpfProblem::TooManyLookups {
                limit: MAX_DNS_MECHANISMS,
                term,
            });
        }
        let domain = frame.domain.as_str();
        let target = spec.target(&self.vars(domain));
        if self.opts.trace {
            self.trace.push(TraceEvent::Term {
                depth,
                term: term.clone(),
                target: target.as_ref().map(ToString::to_string),
                lookups: self.lookups,
                void_lookups: self.voids,
            });
        }
        // RFC 7208 §6.1: a malformed target or one without a record is a permerror.
        let Some(target) = target.filter(|t| t.label_count() >= 2) else {
            return self.fail_with(SpfProblem::RedirectNone {
                target: spec.to_string(),
            });
        };
        if self.in_progress(&target) {
            return self.fail_with(SpfProblem::Loop {
                domain: target.to_string(),
                term,
            });
        }
        self.fetch_record(target, Purpose::Redirect)
    }

    fn no_match(&mut self, depth: usize, note: &str) -> Go {
        if self.opts.trace {
            if !note.is_empty() {
                self.note(depth, note.to_owned());
            }
            let (depth, term, _) = self.current_term_before_cursor();
            self.trace.push(TraceEvent::Outcome {
                depth,
                term,
                outcome: TermOutcome::NoMatch,
                result: None,
            });
        }
        Go::Continue
    }

    fn matched(&mut self) -> Go {
        let Some(frame) = self.frames.last() else {
            return Go::Continue;
        };
        let idx = frame.next.saturating_sub(1);
        if self.opts.trace {
            let (depth, term, q) = self.current_directive(idx);
            self.trace.push(TraceEvent::Outcome {
                depth,
                term,
                outcome: TermOutcome::Match,
                result: q,
            });
        }
        self.directive_matched(idx)
    }

    fn current_term_before_cursor(&self) -> (usize, String, Option<SpfResult>) {
        let idx = self.frames.last().map_or(0, |f| f.next.saturating_sub(1));
        self.current_directive(idx)
    }

    /// Counts a void lookup; `Some(go)` when the limit is exceeded (RFC 7208 §4.6.4).
    fn count_void(&mut self) -> Option<Go> {
        self.voids += 1;
        if self.voids > self.opts.max_void_lookups {
            let (_, term, _) = self.current_term_before_cursor();
            return Some(self.fail_with(SpfProblem::TooManyVoidLookups {
                limit: self.opts.max_void_lookups,
                term,
            }));
        }
        None
    }

    // ----------------------------------------------------------------------------------
    // Answers

    fn resume(&mut self, answers: Vec<Answer>) -> Go {
        let mut queries = std::mem::take(&mut self.queries);
        let go = self.on_answers(&queries, answers);
        // Keep the buffer for the next step's queries.
        if self.queries.is_empty() {
            queries.clear();
            self.queries = queries;
        }
        go
    }

    fn on_answers(&mut self, queries: &[Query], mut answers: Vec<Answer>) -> Go {
        let wait = std::mem::replace(&mut self.wait, Wait::Idle);
        // A driver that returns too few answers: the missing ones are failures (see Lookup).
        answers.resize(queries.len(), Answer::Failed(FailureKind::Other));
        let depth = self.frames.last().map_or(0, |f| f.depth);
        let first = match wait {
            // These read every answer; the others only the first, taken without a copy.
            Wait::MxHosts { .. } | Wait::PtrValidate | Wait::PMacroValidate { .. } => answers
                .first()
                .cloned()
                .unwrap_or(Answer::Failed(FailureKind::Other)),
            _ => answers
                .drain(..)
                .next()
                .unwrap_or(Answer::Failed(FailureKind::Other)),
        };
        let first_query = queries.first();
        match wait {
            Wait::Idle => Go::Continue,
            Wait::Record { target, purpose } => self.on_record(target, purpose, &first),
            Wait::Address { cidr } => {
                let Some(q) = first_query else {
                    return Go::Continue;
                };
                self.on_address(depth, q, &first, cidr)
            }
            Wait::Exists => {
                let Some(q) = first_query else {
                    return Go::Continue;
                };
                self.on_exists(depth, q, &first)
            }
            Wait::Mx { cidr, target } => {
                let Some(q) = first_query else {
                    return Go::Continue;
                };
                self.on_mx(depth, q, &first, cidr, target)
            }
            Wait::MxHosts { cidr } => self.on_mx_hosts(depth, queries, &answers, cidr),
            Wait::Ptr { target } => {
                let Some(q) = first_query else {
                    return Go::Continue;
                };
                self.on_ptr(depth, q, &first, target)
            }
            Wait::PtrValidate => self.on_ptr_validate(depth, queries, &answers),
            Wait::PMacroPtr { prefer, after } => {
                let Some(q) = first_query else {
                    return Go::Continue;
                };
                self.on_p_ptr(depth, q, &first, prefer, after)
            }
            Wait::PMacroValidate {
                prefer,
                names,
                after,
            } => self.on_p_validate(depth, queries, &answers, prefer, names, after),
            Wait::Explanation => {
                let Some(q) = first_query else {
                    return Go::Continue;
                };
                self.on_explanation(q, &first)
            }
        }
    }

    fn on_address(&mut self, depth: usize, q: &Query, a: &Answer, cidr: DualCidr) -> Go {
        if let Answer::Failed(kind) = a {
            self.trace_query(depth, q, a);
            return self.dns_failure(q, *kind);
        }
        if a.is_void(q.rtype) {
            if let Some(go) = self.count_void() {
                self.trace_query(depth, q, a);
                return go;
            }
            self.trace_query(depth, q, a);
            return self.no_match(depth, "");
        }
        self.trace_query(depth, q, a);
        if addresses_match(a, self.req.ip(), cidr) {
            self.matched()
        } else {
            self.no_match(depth, "")
        }
    }

    fn on_exists(&mut self, depth: usize, q: &Query, a: &Answer) -> Go {
        if let Answer::Failed(kind) = a {
            self.trace_query(depth, q, a);
            return self.dns_failure(q, *kind);
        }
        if a.is_void(RecordType::A) {
            if let Some(go) = self.count_void() {
                self.trace_query(depth, q, a);
                return go;
            }
            self.trace_query(depth, q, a);
            return self.no_match(depth, "");
        }
        self.trace_query(depth, q, a);
        self.matched()
    }

    fn on_mx(&mut self, depth: usize, q: &Query, a: &Answer, cidr: DualCidr, target: Name) -> Go {
        if let Answer::Failed(kind) = a {
            self.trace_query(depth, q, a);
            return self.dns_failure(q, *kind);
        }
        if a.is_void(RecordType::Mx) {
            if let Some(go) = self.count_void() {
                self.trace_query(depth, q, a);
                return go;
            }
            self.trace_query(depth, q, a);
            return self.no_match(depth, "");
        }
        self.trace_query(depth, q, a);
        let mut names: Vec<(u16, &Name)> = a
            .data_of(RecordType::Mx)
            .filter_map(|d| match d {
                RData::Mx {
                    preference,
                    exchange: Some(x),
                } => Some((*preference, x)),
                _ => None,
            })
            .collect();
        names.sort_by_key(|(p, _)| *p);
        let total = names.len();
        if total == 0 {
            return self.no_match(depth, "only null MX records (RFC 7505)");
        }
        // RFC 7208 §4.6.4: "if more than 10 'MX' records are returned for this further lookup,
        // an error is returned" (permerror). Decided on the MX answer alone, before any
        // address lookup, so the result does not depend on which name would have matched
        // (as pyspf does).
        if total > MAX_MX_NAMES {
            return self.fail_with(SpfProblem::TooManyMxNames {
                domain: target.to_string(),
                count: total,
                limit: MAX_MX_NAMES,
            });
        }
        let rtype = address_type(self.req.ip());
        self.queries = names
            .iter()
            .map(|(_, n)| Query::new((*n).clone(), rtype))
            .collect();
        self.wait = Wait::MxHosts { cidr };
        Go::Wait
    }

    fn on_mx_hosts(
        &mut self,
        depth: usize,
        queries: &[Query],
        answers: &[Answer],
        cidr: DualCidr,
    ) -> Go {
        let ip = self.req.ip();
        // Evaluated in preference order, as a sequential evaluation would.
        for (q, a) in queries.iter().zip(answers) {
            self.trace_query(depth, q, a);
            if let Answer::Failed(kind) = a {
                return self.dns_failure(q, *kind);
            }
            if addresses_match(a, ip, cidr) {
                return self.matched();
            }
        }
        self.no_match(depth, "")
    }

    fn on_ptr(&mut self, depth: usize, q: &Query, a: &Answer, target: Name) -> Go {
        if a.is_failed() {
            self.trace_query(depth, q, a);
            // RFC 7208 §5.5: a DNS error on the PTR lookup makes the mechanism not match.
            return self.no_match(
                depth,
                "PTR lookup failed: the mechanism does not match (RFC 7208 §5.5)",
            );
        }
        if a.is_void(RecordType::Ptr) {
            if let Some(go) = self.count_void() {
                self.trace_query(depth, q, a);
                return go;
            }
            self.trace_query(depth, q, a);
            return self.no_match(depth, "");
        }
        self.trace_query(depth, q, a);
        let names = ptr_names(a);
        if self.opts.trace && names.len() > MAX_PTR_NAMES {
            self.note(depth, too_many_ptr_note(names.len()));
        }
        let rtype = address_type(self.req.ip());
        self.queries = names
            .into_iter()
            .take(MAX_PTR_NAMES)
            .filter(|n| n.is_subdomain_of(&target))
            .map(|n| Query::new(n, rtype))
            .collect();
        if self.queries.is_empty() {
            return self.no_match(depth, "no PTR name under the target");
        }
        self.wait = Wait::PtrValidate;
        Go::Wait
    }

    fn on_ptr_validate(&mut self, depth: usize, queries: &[Query], answers: &[Answer]) -> Go {
        let ip = self.req.ip();
        let mut validated = false;
        for (q, a) in queries.iter().zip(answers) {
            self.trace_query(depth, q, a);
            // RFC 7208 §5.5: a DNS error on an address lookup skips that name.
            if addresses_match(a, ip, DualCidr::default()) {
                validated = true;
                break;
            }
        }
        if validated {
            self.matched()
        } else {
            self.no_match(depth, "no validated name")
        }
    }

    // ----------------------------------------------------------------------------------
    // %{p}: the validated domain name of the client (RFC 7208 §7.3, §5.5)

    fn resolve_p(&mut self, prefer: Option<Name>, after: AfterP) -> Go {
        match reverse_name(self.req.ip()) {
            Some(rev) => {
                self.queries.push(Query::new(rev, RecordType::Ptr));
                self.wait = Wait::PMacroPtr { prefer, after };
                Go::Wait
            }
            None => {
                self.validated = Some("unknown".to_owned());
                self.after_p(after)
            }
        }
    }

    fn on_p_ptr(
        &mut self,
        depth: usize,
        q: &Query,
        a: &Answer,
        prefer: Option<Name>,
        after: AfterP,
    ) -> Go {
        self.trace_query(depth, q, a);
        let names = ptr_names(a);
        if names.is_empty() {
            self.validated = Some("unknown".to_owned());
            return self.after_p(after);
        }
        if self.opts.trace && names.len() > MAX_PTR_NAMES {
            self.note(depth, too_many_ptr_note(names.len()));
        }
        let names: Vec<Name> = names.into_iter().take(MAX_PTR_NAMES).collect();
        let rtype = address_type(self.req.ip());
        self.queries = names.iter().map(|n| Query::new(n.clone(), rtype)).collect();
        self.wait = Wait::PMacroValidate {
            prefer,
            names,
            after,
        };
        Go::Wait
    }

    fn on_p_validate(
        &mut self,
        depth: usize,
        queries: &[Query],
        answers: &[Answer],
        prefer: Option<Name>,
        names: Vec<Name>,
        after: AfterP,
    ) -> Go {
        let ip = self.req.ip();
        let mut valid: Vec<&Name> = Vec::new();
        for ((q, a), n) in queries.iter().zip(answers).zip(&names) {
            self.trace_query(depth, q, a);
            if addresses_match(a, ip, DualCidr::default()) {
                valid.push(n);
            }
        }
        // RFC 7208 §7.3: the <domain> itself, else a subdomain of it, else any validated name.
        let chosen = prefer
            .as_ref()
            .and_then(|p| {
                valid
                    .iter()
                    .find(|n| ***n == *p)
                    .or_else(|| valid.iter().find(|n| n.is_subdomain_of(p)))
            })
            .or_else(|| valid.first())
            .map_or_else(|| "unknown".to_owned(), |n| n.to_string());
        if self.opts.trace {
            self.note(depth, format!("%{{p}} = {chosen}"));
        }
        self.validated = Some(chosen);
        self.after_p(after)
    }

    fn after_p(&mut self, after: AfterP) -> Go {
        match after {
            AfterP::Resume => Go::Continue,
            AfterP::ExpSpec => self.explanation_spec(),
            AfterP::ExpText(text) => self.explain_with(text),
        }
    }

    // ----------------------------------------------------------------------------------
    // The end: explanation (RFC 7208 §6.2) and the verdict

    fn finish_top(&mut self, result: SpfResult, matched: Option<MatchedTerm>, frame: Frame) -> Go {
        let ending = Ending {
            domain: frame.domain,
            record: frame.record,
            from_dns: frame.from_dns,
            matched,
        };
        let has_exp = ending.record.explanation().is_some();
        self.ending = Some(ending);
        if result != SpfResult::Fail {
            return self.done(result, None, None);
        }
        if has_exp {
            self.explanation_spec()
        } else {
            self.default_explanation()
        }
    }

    fn explanation_spec(&mut self) -> Go {
        let Some(ending) = &self.ending else {
            return self.done(SpfResult::Fail, None, None);
        };
        let record = Arc::clone(&ending.record);
        let Some(spec) = record.explanation() else {
            return self.default_explanation();
        };
        if spec.macro_string().uses_validated_domain() && self.validated.is_none() {
            let prefer = Some(ending.domain.clone());
            return self.resolve_p(prefer, AfterP::ExpSpec);
        }
        let target = spec.target(&self.vars(ending.domain.as_str()));
        match target {
            Some(t) => {
                self.queries.push(Query::txt(Name::clone(&t)));
                self.wait = Wait::Explanation;
                Go::Wait
            }
            None => {
                self.note(
                    0,
                    format!("exp={spec} expands to no valid domain name; ignored"),
                );
                self.default_explanation()
            }
        }
    }

    fn on_explanation(&mut self, q: &Query, a: &Answer) -> Go {
        self.trace_query(0, q, a);
        // RFC 7208 §6.2: DNS errors, no record or several records, or a syntax error: proceed
        // as if there were no exp= (the result never changes).
        let txts: Vec<Vec<u8>> = a.txts().map(|t| t.joined()).collect();
        let text = match txts.as_slice() {
            [one] => one,
            _ => {
                self.note(
                    0,
                    format!("explanation ignored: {} TXT records", txts.len()),
                );
                return self.default_explanation();
            }
        };
        let Some(text) = std::str::from_utf8(text).ok().filter(|t| t.is_ascii()) else {
            self.note(
                0,
                "explanation ignored: not US-ASCII (RFC 7208 §6.2)".to_owned(),
            );
            return self.default_explanation();
        };
        match MacroString::parse_explanation(text) {
            Ok(ms) => self.explain_with(ms),
            Err(e) => {
                self.note(0, format!("explanation ignored: {e}"));
                self.default_explanation()
            }
        }
    }

    fn default_explanation(&mut self) -> Go {
        match &self.opts.default_explanation {
            Some(text) => match MacroString::parse_explanation(text) {
                Ok(ms) => self.explain_with(ms),
                Err(_) => {
                    let text = text.clone();
                    self.done(SpfResult::Fail, None, Some(text))
                }
            },
            None => self.done(SpfResult::Fail, None, None),
        }
    }

    fn explain_with(&mut self, text: MacroString) -> Go {
        let domain = self.ending.as_ref().map(|e| e.domain.clone());
        if text.uses_validated_domain() && self.validated.is_none() {
            return self.resolve_p(domain, AfterP::ExpText(text));
        }
        let mut out = Output::explanation();
        let d = domain.as_ref().map_or("", |n| n.as_str());
        text.expand(&self.vars(d), &mut out);
        // RFC 7208 §6.2: the explanation is US-ASCII.
        let explanation: String = out
            .buf
            .chars()
            .map(|c| if c.is_ascii() { c } else { '?' })
            .collect();
        self.done(SpfResult::Fail, None, Some(explanation))
    }

    fn vars<'s>(&'s self, domain: &'s str) -> Vars<'s> {
        Vars {
            sender: self.req.sender(),
            local_part: self.req.local_part(),
            sender_domain: self.req.sender_domain(),
            domain,
            ip: Some(self.req.ip()),
            validated: self.validated.as_deref().unwrap_or("unknown"),
            helo: self.req.helo_domain(),
            receiver: self.opts.receiver.as_deref().unwrap_or("unknown"),
            now: self.req.now(),
        }
    }

    fn dns_failure(&mut self, q: &Query, kind: FailureKind) -> Go {
        self.fail_with(SpfProblem::DnsFailure {
            query: q.to_string(),
            failure: kind.to_string(),
        })
    }

    /// Ends the evaluation with a problem's result.
    fn fail_with(&mut self, problem: SpfProblem) -> Go {
        let result = problem.result();
        if self.opts.trace {
            let depth = self.frames.last().map_or(0, |f| f.depth);
            self.note(
                depth,
                format!("{result}: {problem} ({})", problem.rfc_section()),
            );
        }
        self.done(result, Some(problem), None)
    }

    fn done(
        &mut self,
        result: SpfResult,
        problem: Option<SpfProblem>,
        explanation: Option<String>,
    ) -> Go {
        self.finished = Some((result, problem, explanation));
        Go::Done
    }

    fn verdict(
        &mut self,
        result: SpfResult,
        problem: Option<SpfProblem>,
        explanation: Option<String>,
    ) -> SpfVerdict {
        let mut fetched = std::mem::take(&mut self.fetched);
        for frame in self.frames.drain(..) {
            keep_fetched(&mut fetched, frame.domain, frame.record, frame.from_dns);
        }
        let matched = match self.ending.take() {
            Some(e) => {
                keep_fetched(&mut fetched, e.domain, e.record, e.from_dns);
                e.matched
            }
            None => None,
        };
        let req = self.req;
        SpfVerdict {
            result,
            problem,
            identity: req.identity(),
            client_ip: req.client_ip(),
            smtp: req.smtp_text().clone(),
            matched,
            explanation,
            lookups: self.lookups,
            void_lookups: self.voids,
            trace: std::mem::take(&mut self.trace),
            fetched_records: fetched,
        }
    }

    // ----------------------------------------------------------------------------------
    // Trace helpers

    fn trace_query(&mut self, depth: usize, q: &Query, a: &Answer) {
        if self.opts.trace {
            self.trace.push(TraceEvent::Query {
                depth,
                query: q.to_string(),
                answer: a.to_string(),
                void_lookups: self.voids,
            });
        }
    }

    fn note(&mut self, depth: usize, text: String) {
        if self.opts.trace {
            self.trace.push(TraceEvent::Note { depth, text });
        }
    }
}

/// Adds a record a frame is done with to the fetched records, if it came from DNS.
fn keep_fetched(
    fetched: &mut Vec<(Name, Arc<Record>)>,
    domain: Name,
    record: Arc<Record>,
    from_dns: bool,
) {
    if from_dns {
        if fetched.capacity() == 0 {
            // An evaluation rarely fetches more than a few records.
            fetched.reserve_exact(4);
        }
        fetched.push((domain, record));
    }
}

fn too_many_ptr_note(n: usize) -> String {
    format!("{n} PTR names; only the first {MAX_PTR_NAMES} are used (RFC 7208 §4.6.4)")
}

/// The record type holding addresses comparable with `ip` (RFC 7208 §5).
fn address_type(ip: IpAddr) -> RecordType {
    match ip {
        IpAddr::V4(_) => RecordType::A,
        IpAddr::V6(_) => RecordType::Aaaa,
    }
}

fn v4_in(ip: Ipv4Addr, net: Ipv4Addr, len: u8) -> bool {
    let mask = u32::MAX
        .checked_shl(32 - u32::from(len.min(32)))
        .unwrap_or(0);
    u32::from(ip) & mask == u32::from(net) & mask
}

fn v6_in(ip: Ipv6Addr, net: Ipv6Addr, len: u8) -> bool {
    let mask = u128::MAX
        .checked_shl(128 - u32::from(len.min(128)))
        .unwrap_or(0);
    u128::from(ip) & mask == u128::from(net) & mask
}

/// True when an answer holds an address within the prefix of `ip` (CNAME records skipped).
fn addresses_match(a: &Answer, ip: IpAddr, cidr: DualCidr) -> bool {
    a.records().iter().any(|r| match (&r.data, ip) {
        (RData::A(addr), IpAddr::V4(v4)) => v4_in(v4, *addr, cidr.v4_len()),
        (RData::Aaaa(addr), IpAddr::V6(v6)) => v6_in(v6, *addr, cidr.v6_len()),
        _ => false,
    })
}

fn ptr_names(a: &Answer) -> Vec<Name> {
    a.data_of(RecordType::Ptr)
        .filter_map(|d| match d {
            RData::Ptr(n) => Some(n.clone()),
            _ => None,
        })
        .collect()
}

/// The reverse-mapping name of an address (`in-addr.arpa` or `ip6.arpa`, RFC 7208 §5.5).
pub(crate) fn reverse_name(ip: IpAddr) -> Option<Name> {
    let text = match ip {
        IpAddr::V4(v4) => {
            let [a, b, c, d] = v4.octets();
            format!("{d}.{c}.{b}.{a}.in-addr.arpa")
        }
        IpAddr::V6(v6) => {
            let mut s = String::with_capacity(73);
            for byte in v6.octets().iter().rev() {
                for nibble in [byte & 0xf, byte >> 4] {
                    s.push(char::from_digit(u32::from(nibble), 16).unwrap_or('0'));
                    s.push('.');
                }
            }
            s.push_str("ip6.arpa");
            s
        }
    };
    Name::parse(&text).ok()
}

#[cfg(test)]
#[path = "eval_tests.rs"]
mod tests;
