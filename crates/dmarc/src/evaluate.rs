//! Identifier Alignment, policy selection and the verdict (RFC 9989 §4.4, §4.10.2, §5.3).

use crate::discovery::{Discovering, Discovery, PolicyDiscovery, PolicySource, TraceEntry};
use crate::identifiers::{Identifier, Identifiers, Mechanism, mode_of};
use crate::record::{Alignment, EffectivePolicy, Policy, PolicyTag, Record, RecordParser};
use crate::result::{Disposition, DmarcProblem, DmarcResult, MechanismResult, Stage};
use crate::walk::{Walk, WalkSet, dmarc_name};
use mailstamp_dns::{Answer, FailureKind, Lookup, Name, Query, RecordType, Step};
use serde::{Serialize, Serializer, ser::SerializeStruct};
use std::fmt;
use std::sync::Arc;

/// What to do when the RFC5322.From field yields several domains (RFC 9989 §5.3.1, §11.5).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum MultipleAuthors {
    /// DMARC validation is not possible: result `none` (RFC 9989 §5.3.1; the default).
    #[default]
    Refuse,
    /// Evaluate each domain and apply the strictest policy among the checks that fail (RFC 9989
    /// §11.5, the approach of RFC 7489). More than `limit` domains: result `none`, the
    /// evaluation being incomplete.
    EvaluateEach {
        /// Most domains evaluated.
        limit: usize,
    },
}

/// Receiver choices for an evaluation.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct EvaluationOptions {
    /// Several Author Domains.
    pub multiple_authors: MultipleAuthors,
    /// Always finish the Author Domain's tree walk, so that its Organizational Domain is known
    /// even when alignment does not need it (RFC 9989 §4.10.2 lists when there is "no need").
    /// Costs DNS queries; useful for diagnostics.
    pub complete_walk: bool,
}

/// Everything an evaluation needs.
#[derive(Debug, Clone, Default)]
pub struct EvaluationRequest {
    /// The domains of the RFC5322.From field, normalised ([`Name`] is: lower case, A-labels, no
    /// trailing dot). Duplicates count once.
    pub author_domains: Vec<Name>,
    /// The SPF and DKIM results.
    pub identifiers: Identifiers,
    /// How to find the policy.
    pub discovery: Discovery,
    /// Receiver choices.
    pub options: EvaluationOptions,
}

/// Why an identifier does not count towards a `pass`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case", tag = "reason")]
#[non_exhaustive]
pub enum NotAlignedReason {
    /// The mechanism did not pass, so the domain is not an Authenticated Identifier (RFC 9989
    /// §4.4.1, §4.4.2; Appendix B.1: "alignment cannot exist" without a pass).
    NotAuthenticated,
    /// Strict mode (`adkim=s`/`aspf=s`) and the domains are not identical (RFC 9989 §3.2.10.2).
    StrictMismatch,
    /// Relaxed mode and the Organizational Domains differ (RFC 9989 §3.2.10.1).
    DifferentOrganizationalDomain,
    /// The Organizational Domain could not be determined: a DNS query failed.
    DnsFailure {
        /// The name queried.
        #[serde(serialize_with = "crate::ser::name")]
        name: Name,
        /// How it failed.
        #[serde(serialize_with = "crate::ser::failure")]
        kind: FailureKind,
    },
}

impl fmt::Display for NotAlignedReason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            NotAlignedReason::NotAuthenticated => f.write_str("not authenticated"),
            NotAlignedReason::StrictMismatch => {
                f.write_str("strict alignment and the domains differ")
            }
            NotAlignedReason::DifferentOrganizationalDomain => {
                f.write_str("different organizational domain")
            }
            NotAlignedReason::DnsFailure { name, kind } => {
                write!(f, "organizational domain unknown: {name} {kind}")
            }
        }
    }
}

/// The alignment of one identifier with the Author Domain.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct IdentifierAlignment {
    /// SPF or DKIM.
    pub mechanism: Mechanism,
    /// The identifier's domain.
    #[serde(serialize_with = "crate::ser::name")]
    pub domain: Name,
    /// The mechanism's result.
    pub result: MechanismResult,
    /// True when the mechanism passed (the domain is an Authenticated Identifier).
    pub authenticated: bool,
    /// The record's mode for this mechanism (`adkim`/`aspf`).
    pub mode: Alignment,
    /// Whether the domain is aligned with the Author Domain; `None` when not evaluated (the
    /// mechanism did not pass and cannot, or the Organizational Domain is unknown).
    pub aligned: Option<bool>,
    /// The identifier's Organizational Domain, when it was determined.
    #[serde(serialize_with = "crate::ser::opt_name")]
    pub organizational_domain: Option<Name>,
    /// Why it does not count towards `pass`; `None` when it does.
    pub why_not: Option<NotAlignedReason>,
}

impl IdentifierAlignment {
    /// True when this identifier makes DMARC pass.
    pub fn is_aligned_pass(&self) -> bool {
        self.authenticated && self.aligned == Some(true)
    }
}

/// The outcome of a DMARC evaluation.
#[derive(Debug, Clone)]
pub struct DmarcVerdict {
    /// The result.
    pub result: DmarcResult,
    /// What the Domain Owner asks for: the requested policy after testing mode, `none` unless
    /// the result is `fail`.
    pub disposition: Disposition,
    /// Why the result is not `pass`.
    pub problem: Option<DmarcProblem>,
    /// Policy discovery: the record, where it was found, the Organizational Domain, the walk.
    pub discovery: Option<Arc<PolicyDiscovery>>,
    /// The tag whose policy applies (`p`, `sp` or `np`), for a `fail`.
    pub policy_tag: Option<PolicyTag>,
    /// The policy that tag requests, before testing mode, for a `fail`.
    pub requested_policy: Option<Policy>,
    /// True when the record has `t=y`: the disposition is one level below the requested policy
    /// (RFC 9989 §4.7).
    pub testing: bool,
    /// Whether the Author Domain exists, when the `np` test was needed (RFC 9989 §3.2.13).
    pub author_domain_exists: Option<bool>,
    /// Every identifier and its alignment.
    pub alignment: Vec<IdentifierAlignment>,
    /// The identifier walks, the queries after discovery and the verdict of each Author
    /// Domain, when there are any ([`DmarcVerdict::walks`], [`DmarcVerdict::trace`],
    /// [`DmarcVerdict::authors`]). Most evaluations have none, so they are kept out of line:
    /// a verdict is moved several times on its way to the caller and stays small.
    details: Option<Box<Details>>,
}

/// The parts of a [`DmarcVerdict`] that most evaluations leave empty.
#[derive(Debug, Clone, Default)]
struct Details {
    walks: Vec<Walk>,
    trace: Vec<TraceEntry>,
    authors: Vec<DmarcVerdict>,
}

impl DmarcVerdict {
    fn bare(result_problem: DmarcProblem) -> DmarcVerdict {
        DmarcVerdict {
            result: result_problem.result(),
            disposition: Disposition::None,
            problem: Some(result_problem),
            discovery: None,
            policy_tag: None,
            requested_policy: None,
            testing: false,
            author_domain_exists: None,
            alignment: Vec::new(),
            details: None,
        }
    }

    /// Tree walks done for identifiers' Organizational Domains (RFC 9989 §4.10.2).
    pub fn walks(&self) -> &[Walk] {
        self.details.as_ref().map_or(&[], |d| &d.walks)
    }

    /// Queries asked after discovery (identifier walks, existence test), in order. The
    /// discovery's own queries are in [`PolicyDiscovery::trace`].
    pub fn trace(&self) -> &[TraceEntry] {
        self.details.as_ref().map_or(&[], |d| &d.trace)
    }

    /// With several Author Domains evaluated one by one (RFC 9989 §11.5), each verdict (the
    /// other fields then repeat the deciding one); empty otherwise.
    pub fn authors(&self) -> &[DmarcVerdict] {
        self.details.as_ref().map_or(&[], |d| &d.authors)
    }

    /// The out-of-line parts, made when first needed.
    fn details_mut(&mut self) -> &mut Details {
        self.details.get_or_insert_with(Box::default)
    }

    /// The Author Domain evaluated (`None` when there was not exactly one, or none).
    pub fn author_domain(&self) -> Option<&Name> {
        self.discovery.as_ref().map(|d| &d.author_domain)
    }

    /// The applicable record.
    pub fn record(&self) -> Option<&Arc<Record>> {
        self.discovery.as_ref().and_then(|d| d.record())
    }

    /// The DMARC Policy Domain: where the record was found.
    pub fn policy_domain(&self) -> Option<&Name> {
        self.discovery
            .as_ref()
            .and_then(|d| d.policy.as_ref())
            .map(|p| &p.domain)
    }

    /// The Author Domain's Organizational Domain, when determined.
    pub fn organizational_domain(&self) -> Option<&Name> {
        self.discovery
            .as_ref()
            .and_then(|d| d.organizational_domain.as_ref())
    }

    /// Every query of the evaluation: discovery first, then the rest.
    pub fn all_queries(&self) -> impl Iterator<Item = &TraceEntry> {
        self.discovery
            .iter()
            .flat_map(|d| d.trace.iter())
            .chain(self.trace())
    }
}

impl Serialize for DmarcVerdict {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut st = s.serialize_struct("DmarcVerdict", 16)?;
        st.serialize_field("result", &self.result)?;
        st.serialize_field("disposition", &self.disposition)?;
        st.serialize_field("problem", &self.problem)?;
        st.serialize_field("author_domain", &self.author_domain().map(Name::as_str))?;
        st.serialize_field("record", &self.record())?;
        st.serialize_field("policy_domain", &self.policy_domain().map(Name::as_str))?;
        st.serialize_field(
            "policy_source",
            &self
                .discovery
                .as_ref()
                .and_then(|d| d.policy.as_ref())
                .map(|p| p.source),
        )?;
        st.serialize_field(
            "organizational_domain",
            &self.organizational_domain().map(Name::as_str),
        )?;
        st.serialize_field("discovery", &self.discovery)?;
        st.serialize_field("policy_tag", &self.policy_tag)?;
        st.serialize_field("requested_policy", &self.requested_policy)?;
        st.serialize_field("testing", &self.testing)?;
        st.serialize_field("author_domain_exists", &self.author_domain_exists)?;
        st.serialize_field("alignment", &self.alignment)?;
        st.serialize_field("walks", self.walks())?;
        st.serialize_field("trace", self.trace())?;
        if !self.authors().is_empty() {
            st.serialize_field("authors", self.authors())?;
        }
        st.end()
    }
}

/// How far the alignment of one identifier is known.
#[derive(Debug, Clone)]
enum Decision {
    Aligned {
        org: Option<Name>,
    },
    NotAligned {
        why: NotAlignedReason,
        org: Option<Name>,
    },
    /// Relaxed, under the Author Domain's Organizational Domain: needs a walk from `domain`.
    NeedWalk,
    /// The mechanism did not pass and is not temperror: not evaluated.
    Skipped,
}

/// Alignment in progress: identifier walks sharing a cache of `_dmarc` answers.
#[derive(Debug)]
struct Aligning {
    policy: Arc<PolicyDiscovery>,
    record: Arc<Record>,
    source: PolicySource,
    alignment: Vec<IdentifierAlignment>,
    /// Indices into `alignment` of the identifiers waiting for their walk.
    waiting: Vec<usize>,
    walks: WalkSet,
    /// The walks' queries waiting for their answers.
    queries: Vec<Query>,
}

/// The existence test of the Author Domain, waiting for its answer.
#[derive(Debug)]
struct Existence {
    verdict: DmarcVerdict,
    /// The record's policies (`sp` and `np` after RFC 9989 §4.10.1).
    effective: Option<EffectivePolicy>,
    /// The A query for the Author Domain, once asked.
    query: Option<Query>,
}

#[derive(Debug)]
enum Phase {
    Discover(Discovering),
    Align(Aligning),
    Exists(Existence),
    Done(DmarcVerdict),
    /// Only while a phase is moved out to be advanced.
    Taken,
}

/// One Author Domain's evaluation. The identifiers belong to the [`Evaluating`] that runs it
/// and are lent to each call; the Author Domain is the discovery's (each copy of a name touches
/// its reference count).
#[derive(Debug)]
struct Single {
    phase: Phase,
    trace: Vec<TraceEntry>,
}

enum Poll {
    /// Queries are waiting ([`Single::queries`]).
    Waiting,
    Done(DmarcVerdict),
}

impl Single {
    /// `parser`: parses the records the identifiers' walks find (`None`: [`Record::parse`]).
    fn poll(&mut self, ids: &Identifiers, parser: Option<&Arc<dyn RecordParser>>) -> Poll {
        loop {
            // Phases advance in place; they are moved out only to change phase.
            match &mut self.phase {
                Phase::Discover(d) => {
                    if d.next_query() {
                        return Poll::Waiting;
                    }
                    if let Phase::Discover(d) = std::mem::replace(&mut self.phase, Phase::Taken) {
                        let policy = Arc::new(d.finish(Some(ids)));
                        if let Some(parser) = parser
                            && matches!(policy.discovery, Discovery::TreeWalk)
                        {
                            // Offered for the next evaluation of this Author Domain.
                            parser.keep_discovery(&policy);
                        }
                        // Most evaluations end here: the verdict goes out directly.
                        let next = start(ids, policy, parser);
                        if let Some(done) = self.enter(next) {
                            return done;
                        }
                    }
                }
                Phase::Align(a) => {
                    a.queries = a.walks.queries();
                    if !a.queries.is_empty() {
                        return Poll::Waiting;
                    }
                    if let Phase::Align(a) = std::mem::replace(&mut self.phase, Phase::Taken)
                        && let Some(done) = self.enter(a.conclude(ids))
                    {
                        return done;
                    }
                }
                Phase::Exists(e) => {
                    if e.query.is_none() {
                        // The Author Domain is the verdict's discovery's.
                        let author = e.verdict.author_domain();
                        e.query = author.map(|a| Query::new(a.clone(), RecordType::A));
                    }
                    if e.query.is_some() {
                        return Poll::Waiting;
                    }
                    // Not reached (`decide` keeps the discovery): no test can be made.
                    if let Phase::Exists(e) = std::mem::replace(&mut self.phase, Phase::Taken)
                        && let Some(done) = self.enter(Phase::Done(e.verdict))
                    {
                        return done;
                    }
                }
                Phase::Done(_) | Phase::Taken => {
                    let phase = std::mem::replace(&mut self.phase, Phase::Taken);
                    return self
                        .enter(phase)
                        .unwrap_or_else(|| Poll::Done(DmarcVerdict::bare(DmarcProblem::NoPolicy)));
                }
            }
        }
    }

    /// Moves to `next`; a finished phase is not stored but handed out at once, with the
    /// trace so far (a verdict is large: it is moved as little as possible).
    fn enter(&mut self, next: Phase) -> Option<Poll> {
        match next {
            Phase::Done(mut v) => {
                if !self.trace.is_empty() {
                    v.details_mut().trace.append(&mut self.trace);
                }
                Some(Poll::Done(v))
            }
            phase => {
                self.phase = phase;
                None
            }
        }
    }

    /// The queries the current phase waits for.
    fn queries(&self) -> &[Query] {
        match &self.phase {
            Phase::Discover(d) => d.pending_queries(),
            Phase::Align(a) => &a.queries,
            Phase::Exists(e) => e.query.as_slice(),
            Phase::Done(_) | Phase::Taken => &[],
        }
    }

    /// Feeds the answers to [`Single::queries`], in order.
    /// `parser`: parses the policy records found (`None`: [`Record::parse`]).
    fn feed(
        &mut self,
        answers: impl IntoIterator<Item = Answer>,
        ids: &Identifiers,
        parser: Option<&dyn RecordParser>,
    ) {
        let mut answers = answers.into_iter();
        match &mut self.phase {
            Phase::Discover(d) => d.feed(
                answers.next().unwrap_or(Answer::Failed(FailureKind::Other)),
                Some(ids),
                parser,
            ),
            Phase::Align(a) => {
                for query in std::mem::take(&mut a.queries) {
                    let answer = answers.next().unwrap_or(Answer::Failed(FailureKind::Other));
                    a.walks.answer(&query.name, &answer);
                    self.trace.push(TraceEntry {
                        stage: Stage::OrganizationalDomain,
                        query,
                        answer,
                    });
                }
            }
            Phase::Exists(_) => {
                if let Phase::Exists(mut e) = std::mem::replace(&mut self.phase, Phase::Taken) {
                    let answer = answers.next().unwrap_or(Answer::Failed(FailureKind::Other));
                    let Some(query) = e.query.take() else {
                        self.phase = Phase::Exists(e); // not asked yet
                        return;
                    };
                    self.phase = e.conclude(&query.name, &answer);
                    self.trace.push(TraceEntry {
                        stage: Stage::AuthorDomainExistence,
                        query,
                        answer,
                    });
                }
            }
            Phase::Done(_) | Phase::Taken => {}
        }
    }
}

/// The first step after discovery: verdicts that need no alignment, or the alignment plan.
/// `parser`: parses the records the identifiers' walks find (`None`: [`Record::parse`]).
fn start(
    ids: &Identifiers,
    policy: Arc<PolicyDiscovery>,
    parser: Option<&Arc<dyn RecordParser>>,
) -> Phase {
    let Some(found) = &policy.policy else {
        let problem = match policy.failure() {
            Some((domain, kind)) => DmarcProblem::DnsFailure {
                stage: Stage::PolicyDiscovery,
                name: dmarc_name(domain).unwrap_or_else(|| domain.clone()),
                kind,
            },
            None => DmarcProblem::NoPolicy,
        };
        let mut v = DmarcVerdict::bare(problem);
        v.discovery = Some(policy);
        return Phase::Done(v);
    };
    if found.record.effective.is_none() {
        let mut v = DmarcVerdict::bare(DmarcProblem::InvalidPolicyRecord {
            domain: found.domain.clone(),
            defects: found.record.policy_defects(),
        });
        v.testing = found.record.testing;
        v.discovery = Some(policy);
        return Phase::Done(v);
    }
    // Borrowed from the discovery, not copied: the verdict keeps the discovery.
    let (author, record) = (&policy.author_domain, &*found.record);
    let source = found.source;
    // Made only when an identifier needs a walk (most evaluations: none).
    let mut walks: Option<WalkSet> = None;
    let mut waiting = Vec::new();
    // Collected (the identifiers' count is known), so that each alignment is written where
    // the vector keeps it: pushed, it was assembled on the stack and read back whole, which
    // stalled on the stores that had just written it.
    let alignment: Vec<IdentifierAlignment> = ids
        .iter()
        .enumerate()
        .map(|(i, (mech, id))| {
            let decision = initial_decision(author, &policy, record, mech, id);
            if let Decision::NeedWalk = decision {
                walks
                    .get_or_insert_with(|| WalkSet::new(parser.cloned()))
                    .add(&id.domain);
                waiting.push(i);
            }
            identifier_alignment(mech, id, record, decision)
        })
        .collect();
    let Some(mut walks) = walks else {
        return decide(policy, alignment, Vec::new(), source);
    };
    walks.seed(&policy.walk);
    let record = Arc::clone(&found.record);
    Phase::Align(Aligning {
        policy,
        record,
        source,
        alignment,
        waiting,
        walks,
        queries: Vec::new(),
    })
}

/// What can be said about one identifier without further DNS.
fn initial_decision(
    author: &Name,
    policy: &PolicyDiscovery,
    record: &Record,
    mech: Mechanism,
    id: &Identifier,
) -> Decision {
    if !matches!(
        id.result,
        MechanismResult::Pass | MechanismResult::TempError
    ) {
        return Decision::Skipped;
    }
    if id.domain == *author {
        // Identical: aligned in both modes; it shares the Author Domain's Organizational
        // Domain (reported on the verdict).
        return Decision::Aligned { org: None };
    }
    if mode_of(record, mech) == Alignment::Strict {
        return Decision::NotAligned {
            why: NotAlignedReason::StrictMismatch,
            org: None,
        };
    }
    let Some(org) = policy.organizational_domain.as_ref() else {
        let (domain, kind) = policy
            .failure()
            .map(|(d, k)| (d.clone(), k))
            .unwrap_or_else(|| (author.clone(), FailureKind::Other));
        return Decision::NotAligned {
            why: NotAlignedReason::DnsFailure {
                name: dmarc_name(&domain).unwrap_or(domain),
                kind,
            },
            org: None,
        };
    };
    if let Some(list) = policy.discovery.psl() {
        let id_org = list.organizational_domain(&id.domain);
        return if id_org == *org {
            Decision::Aligned { org: Some(id_org) }
        } else {
            Decision::NotAligned {
                why: NotAlignedReason::DifferentOrganizationalDomain,
                org: Some(id_org),
            }
        };
    }
    if id.domain == *org {
        // A walk from an Organizational Domain ends on itself (RFC 9989 §4.10.2).
        return Decision::Aligned {
            org: Some(org.clone()),
        };
    }
    if !id.domain.is_subdomain_of(org) {
        // Its Organizational Domain is a suffix of itself, so it cannot be `org`.
        return Decision::NotAligned {
            why: NotAlignedReason::DifferentOrganizationalDomain,
            org: None,
        };
    }
    Decision::NeedWalk
}

impl Aligning {
    /// All walks are done: the alignment of every identifier, the result, and the policy.
    fn conclude(self, ids: &Identifiers) -> Phase {
        let Aligning {
            policy,
            record,
            source,
            mut alignment,
            waiting,
            walks,
            queries: _,
        } = self;
        let walks: Vec<Walk> = walks.finish();
        let author_org = policy.organizational_domain.as_ref();
        for i in waiting {
            let Some((mech, id)) = ids.iter().nth(i) else {
                continue;
            };
            let decision = match walks.iter().find(|w| w.start == id.domain) {
                Some(walk) => match (walk.failure(), walk.organizational_domain()) {
                    (Some((domain, kind)), _) => Decision::NotAligned {
                        why: NotAlignedReason::DnsFailure {
                            name: dmarc_name(domain).unwrap_or_else(|| domain.clone()),
                            kind,
                        },
                        org: None,
                    },
                    (None, Some(org)) if Some(&org) == author_org => {
                        Decision::Aligned { org: Some(org) }
                    }
                    (None, org) => Decision::NotAligned {
                        why: NotAlignedReason::DifferentOrganizationalDomain,
                        org,
                    },
                },
                None => Decision::Skipped,
            };
            if let Some(slot) = alignment.get_mut(i) {
                *slot = identifier_alignment(mech, id, &record, decision);
            }
        }
        decide(policy, alignment, walks, source)
    }
}

fn identifier_alignment(
    mechanism: Mechanism,
    id: &Identifier,
    record: &Record,
    decision: Decision,
) -> IdentifierAlignment {
    let authenticated = id.result.is_pass();
    let (aligned, organizational_domain, mut why_not) = match decision {
        Decision::Aligned { org } => (Some(true), org, None),
        Decision::NotAligned {
            why: why @ NotAlignedReason::DnsFailure { .. },
            org,
        } => (None, org, Some(why)),
        Decision::NotAligned { why, org } => (Some(false), org, Some(why)),
        Decision::NeedWalk | Decision::Skipped => {
            (None, None, Some(NotAlignedReason::NotAuthenticated))
        }
    };
    if !authenticated && why_not.is_none() {
        why_not = Some(NotAlignedReason::NotAuthenticated);
    }
    IdentifierAlignment {
        mechanism,
        domain: id.domain.clone(),
        result: id.result,
        authenticated,
        mode: mode_of(record, mechanism),
        aligned,
        organizational_domain,
        why_not,
    }
}

/// Pass, fail or temperror from the alignments; for a fail, the policy (maybe after the
/// existence test).
fn decide(
    policy: Arc<PolicyDiscovery>,
    alignment: Vec<IdentifierAlignment>,
    walks: Vec<Walk>,
    source: PolicySource,
) -> Phase {
    // The outcome is worked out first in small values, and the verdict built once: a verdict
    // is large, and each of the ways out would otherwise move it again. The record is read
    // where the discovery keeps it.
    let (judgement, testing, effective) = match policy.record() {
        Some(record) => (
            judge(&alignment, record, source),
            record.testing,
            record.effective,
        ),
        // Not reached: alignment follows a policy found.
        None => (
            Judgement::without_policy(Some(DmarcProblem::NoPolicy)),
            false,
            None,
        ),
    };
    let Judgement {
        result,
        problem,
        policy: applied,
        existence_test,
    } = judgement;
    let verdict = DmarcVerdict {
        result,
        disposition: applied.map_or(Disposition::None, |(_, p)| disposition(p, testing)),
        problem,
        discovery: Some(policy),
        policy_tag: applied.map(|(tag, _)| tag),
        requested_policy: applied.map(|(_, p)| p),
        testing,
        author_domain_exists: None,
        alignment,
        details: (!walks.is_empty()).then(|| {
            Box::new(Details {
                walks,
                ..Details::default()
            })
        }),
    };
    if existence_test {
        Phase::Exists(Existence {
            verdict,
            effective,
            query: None,
        })
    } else {
        Phase::Done(verdict)
    }
}

/// What [`decide`] concludes before it builds the verdict.
struct Judgement {
    result: DmarcResult,
    problem: Option<DmarcProblem>,
    /// The tag that applies and its policy, for a `fail` decided without the existence test.
    policy: Option<(PolicyTag, Policy)>,
    /// A `fail` whose policy (`sp` or `np`) waits for the existence test of the Author Domain.
    existence_test: bool,
}

impl Judgement {
    fn without_policy(problem: Option<DmarcProblem>) -> Judgement {
        Judgement {
            result: problem
                .as_ref()
                .map_or(DmarcResult::Pass, DmarcProblem::result),
            problem,
            policy: None,
            existence_test: false,
        }
    }
}

/// RFC 9989 §5.3.5, §5.3.6: the result from the alignments, and for a `fail` the tag whose
/// policy applies.
fn judge(alignment: &[IdentifierAlignment], record: &Record, source: PolicySource) -> Judgement {
    if alignment.iter().any(IdentifierAlignment::is_aligned_pass) {
        return Judgement::without_policy(None);
    }
    // No aligned pass. An identifier whose alignment could not be determined, or a temperror
    // that would align, leaves the result open (RFC 9989 §5.3.6).
    let undetermined = alignment.iter().find_map(|a| match &a.why_not {
        Some(NotAlignedReason::DnsFailure { name, kind })
            if matches!(a.result, MechanismResult::Pass | MechanismResult::TempError) =>
        {
            Some((name.clone(), *kind))
        }
        _ => None,
    });
    if let Some((name, kind)) = undetermined {
        return Judgement::without_policy(Some(DmarcProblem::DnsFailure {
            stage: Stage::OrganizationalDomain,
            name,
            kind,
        }));
    }
    if alignment
        .iter()
        .any(|a| a.result == MechanismResult::TempError && a.aligned == Some(true))
    {
        return Judgement::without_policy(Some(DmarcProblem::MechanismTempError));
    }
    let problem = if alignment.iter().any(|a| a.authenticated) {
        DmarcProblem::NotAligned
    } else {
        DmarcProblem::NoAuthenticatedIdentifier
    };
    let mut judgement = Judgement::without_policy(Some(problem));
    let Some(effective) = record.effective else {
        return judgement;
    };
    match source {
        PolicySource::AuthorDomain => judgement.policy = Some((PolicyTag::P, effective.domain)),
        PolicySource::OrganizationalDomain | PolicySource::PublicSuffixDomain
            if effective.subdomain == effective.nonexistent =>
        {
            judgement.policy = Some((PolicyTag::Sp, effective.subdomain));
        }
        PolicySource::OrganizationalDomain | PolicySource::PublicSuffixDomain => {
            judgement.existence_test = true;
        }
    }
    judgement
}

/// The disposition `policy` asks for, one level below under testing mode (`t=y`, RFC 9989
/// §4.7).
fn disposition(policy: Policy, testing: bool) -> Disposition {
    let applied = if testing {
        policy.one_level_below()
    } else {
        policy
    };
    applied.into()
}

fn apply(verdict: &mut DmarcVerdict, tag: PolicyTag, policy: Policy) {
    verdict.policy_tag = Some(tag);
    verdict.requested_policy = Some(policy);
    verdict.disposition = disposition(policy, verdict.testing);
}

impl Existence {
    /// RFC 9989 §3.2.13 and Appendix A.4: NXDOMAIN means the Author Domain does not exist
    /// (`np`); any other answer that is not an error means it exists (`sp`).
    fn conclude(self, author: &Name, answer: &Answer) -> Phase {
        let Existence {
            mut verdict,
            effective,
            query: _,
        } = self;
        let Some(effective) = effective else {
            return Phase::Done(verdict);
        };
        match answer {
            Answer::Failed(kind) => {
                verdict.result = DmarcResult::TempError;
                verdict.problem = Some(DmarcProblem::DnsFailure {
                    stage: Stage::AuthorDomainExistence,
                    name: author.clone(),
                    kind: *kind,
                });
            }
            Answer::NxDomain => {
                verdict.author_domain_exists = Some(false);
                apply(&mut verdict, PolicyTag::Np, effective.nonexistent);
            }
            Answer::NoData | Answer::Records(_) => {
                verdict.author_domain_exists = Some(true);
                apply(&mut verdict, PolicyTag::Sp, effective.subdomain);
            }
        }
        Phase::Done(verdict)
    }
}

/// An evaluation waiting for DNS answers. Drive it with [`mailstamp_dns::resolve_sync`] or the
/// async driver of the `mailstamp` crate.
///
/// The machine lives in one box: a [`Step`] moves a pointer. An evaluation whose answers are
/// all at hand ([`RecordParser::answer_at_hand`]) never makes one.
#[derive(Debug)]
pub struct Evaluating(Box<Machine>);

/// The state of an [`Evaluating`]: its progress and the inputs it owns once it waits.
#[derive(Debug)]
struct Machine {
    progress: Progress,
    /// The Author Domains as given (duplicates are skipped as the evaluation reaches them);
    /// empty for [`evaluate_with`], which evaluates one discovered policy.
    authors: Vec<Name>,
    identifiers: Identifiers,
    discovery: Discovery,
    options: EvaluationOptions,
    /// Parses the policy records found (shared across evaluations); `None`: parse here.
    parser: Option<Arc<dyn RecordParser>>,
}

/// How far an evaluation is.
#[derive(Debug)]
struct Progress {
    current: Single,
    /// Several Author Domains are evaluated one after the other and combined.
    multi: bool,
    /// Index in the Author Domains of the one evaluated after `current`.
    next: usize,
    finished: Vec<DmarcVerdict>,
}

/// The inputs of an evaluation, lent to each step: borrowed from the caller's request until
/// the evaluation has to wait, from its [`Machine`] afterwards.
struct Inputs<'a> {
    authors: &'a [Name],
    identifiers: &'a Identifiers,
    discovery: &'a Discovery,
    options: EvaluationOptions,
    parser: Option<&'a Arc<dyn RecordParser>>,
}

impl Machine {
    /// The progress, and the inputs lent to it.
    fn split(&mut self) -> (&mut Progress, Inputs<'_>) {
        let inputs = Inputs {
            authors: &self.authors,
            identifiers: &self.identifiers,
            discovery: &self.discovery,
            options: self.options,
            parser: self.parser.as_ref(),
        };
        (&mut self.progress, inputs)
    }
}

/// Evaluates DMARC for a message (RFC 9989 §5.3): policy discovery for the Author Domain, then
/// Identifier Alignment of the SPF and DKIM identifiers, then the policy to apply.
///
/// ```
/// use mailstamp_dmarc::{evaluate, Disposition, DmarcResult, EvaluationRequest, Identifiers,
///     MechanismResult};
/// use mailstamp_dns::{resolve_sync, Name, Zone};
///
/// let mut zone = Zone::new();
/// zone.add_txt(&Name::parse("_dmarc.example.com")?, ["v=DMARC1; p=reject"]);
/// let request = EvaluationRequest {
///     author_domains: vec![Name::parse("example.com")?],
///     identifiers: Identifiers::new()
///         .with_spf(MechanismResult::Pass, Name::parse("bounce.example.com")?)
///         .with_dkim(MechanismResult::Fail, Name::parse("example.com")?),
///     ..EvaluationRequest::default()
/// };
/// let verdict = resolve_sync(evaluate(request), &zone);
/// assert_eq!(verdict.result, DmarcResult::Pass); // relaxed SPF alignment
///
/// let request = EvaluationRequest {
///     author_domains: vec![Name::parse("example.com")?],
///     identifiers: Identifiers::new().with_spf(MechanismResult::Pass, Name::parse("evil.test")?),
///     ..EvaluationRequest::default()
/// };
/// let verdict = resolve_sync(evaluate(request), &zone);
/// assert_eq!((verdict.result, verdict.disposition), (DmarcResult::Fail, Disposition::Reject));
/// # Ok::<(), mailstamp_dns::NameError>(())
/// ```
pub fn evaluate(request: EvaluationRequest) -> Step<Evaluating, DmarcVerdict> {
    let progress = match begin(&request, None) {
        Step::Done(verdict) => return Step::Done(verdict),
        Step::Lookup(progress) => progress,
    };
    let EvaluationRequest {
        author_domains,
        identifiers,
        discovery,
        options,
    } = request;
    Step::Lookup(Evaluating(Box::new(Machine {
        progress,
        authors: author_domains,
        identifiers,
        discovery,
        options,
        parser: None,
    })))
}

/// [`evaluate`] with the policy records parsed by `parser` (a cache of parsed records shared
/// across evaluations, such as the `mailstamp` resolver's) instead of [`Record::parse`]. The
/// verdict is the same; only the parsing is shared.
///
/// The request and the parser are borrowed: an evaluation whose answers are all at hand
/// ([`RecordParser::answer_at_hand`]) copies nothing from them, and one that has to wait for
/// the driver copies them once, into the [`Evaluating`] it returns.
pub fn evaluate_with_parser(
    request: &EvaluationRequest,
    parser: &Arc<dyn RecordParser>,
) -> Step<Evaluating, DmarcVerdict> {
    match begin(request, Some(parser)) {
        Step::Done(verdict) => Step::Done(verdict),
        Step::Lookup(progress) => Step::Lookup(Evaluating(Box::new(Machine {
            progress,
            authors: request.author_domains.clone(),
            identifiers: request.identifiers.clone(),
            discovery: request.discovery.clone(),
            options: request.options,
            parser: Some(Arc::clone(parser)),
        }))),
    }
}

/// True when `domain`, the Author Domain at index `i`, is not a repetition of an earlier one
/// (duplicates count once; the first occurrence keeps its place).
fn is_first(authors: &[Name], i: usize, domain: &Name) -> bool {
    !authors
        .get(..i)
        .is_some_and(|before| before.contains(domain))
}

/// The first Author Domain that is not a repetition of an earlier one, from index `from` on.
fn next_author(authors: &[Name], from: usize) -> Option<(usize, &Name)> {
    authors
        .iter()
        .enumerate()
        .skip(from)
        .find(|&(i, d)| is_first(authors, i, d))
}

/// Starts an evaluation and runs it as far as the answers at hand go: its verdict, or its
/// progress when it has to wait (the caller keeps the inputs). Several Author Domains are evaluated only when the request
/// allows it (RFC 9989 §5.3.1, §11.5).
fn begin(
    request: &EvaluationRequest,
    parser: Option<&Arc<dyn RecordParser>>,
) -> Step<Progress, DmarcVerdict> {
    let authors = &request.author_domains[..];
    let options = request.options;
    let count = authors
        .iter()
        .enumerate()
        .filter(|&(i, d)| is_first(authors, i, d))
        .count();
    let multi = match (count, options.multiple_authors) {
        (0, _) => return Step::Done(DmarcVerdict::bare(DmarcProblem::NoAuthorDomain)),
        (1, _) => false,
        (_, MultipleAuthors::Refuse) => {
            return Step::Done(DmarcVerdict::bare(DmarcProblem::MultipleAuthorDomains {
                count,
                limit: None,
            }));
        }
        (_, MultipleAuthors::EvaluateEach { limit }) if count > limit => {
            return Step::Done(DmarcVerdict::bare(DmarcProblem::MultipleAuthorDomains {
                count,
                limit: Some(limit),
            }));
        }
        (_, MultipleAuthors::EvaluateEach { .. }) => true,
    };
    let Some((index, first)) = next_author(authors, 0) else {
        return Step::Done(DmarcVerdict::bare(DmarcProblem::NoAuthorDomain));
    };
    let inputs = Inputs {
        authors,
        identifiers: &request.identifiers,
        discovery: &request.discovery,
        options,
        parser,
    };
    let current = match single(first, &inputs) {
        // A kept discovery and no walk to make: the verdict is ready (no trace after it).
        Single {
            phase: Phase::Done(verdict),
            ..
        } if !multi => return Step::Done(verdict),
        current => current,
    };
    let mut progress = Progress {
        current,
        multi,
        next: index + 1,
        finished: Vec::new(),
    };
    match progress.run(&inputs) {
        Some(verdict) => Step::Done(verdict),
        None => Step::Lookup(progress),
    }
}

/// Evaluates identifiers against a policy already discovered (for example cached by the
/// caller), RFC 9989 §5.3.3-§5.3.6. Returns [`Step::Done`] at once when no DNS is needed: strict
/// alignment, identifiers identical to the Author Domain or outside its Organizational Domain.
/// Otherwise the identifiers' tree walks (and the `np` existence test) follow.
pub fn evaluate_with(
    policy: &Arc<PolicyDiscovery>,
    identifiers: &Identifiers,
) -> Step<Evaluating, DmarcVerdict> {
    match start(identifiers, Arc::clone(policy), None) {
        Phase::Done(v) => Step::Done(v),
        other => wrap(identifiers, policy, other),
    }
}

fn wrap(
    identifiers: &Identifiers,
    policy: &Arc<PolicyDiscovery>,
    phase: Phase,
) -> Step<Evaluating, DmarcVerdict> {
    let mut machine = Machine {
        progress: Progress {
            current: Single {
                phase,
                trace: Vec::new(),
            },
            multi: false,
            next: 0,
            finished: Vec::new(),
        },
        authors: Vec::new(),
        identifiers: identifiers.clone(),
        discovery: policy.discovery.clone(),
        options: EvaluationOptions::default(),
        parser: None,
    };
    let (progress, inputs) = machine.split();
    match progress.run(&inputs) {
        Some(verdict) => Step::Done(verdict),
        None => Step::Lookup(Evaluating(Box::new(machine))),
    }
}

/// The evaluation of one Author Domain: from a discovery the parser kept, when it has one this
/// evaluation would make again ([`RecordParser::discovery_at_hand`]), else from a new walk.
fn single(author: &Name, inputs: &Inputs<'_>) -> Single {
    let early = !inputs.options.complete_walk;
    let reusable = |d: &PolicyDiscovery| {
        d.author_domain == *author && d.reusable_for(inputs.identifiers, early)
    };
    // The check is made again on what comes back: a parser of another crate that hands out
    // a discovery `accept` refused must not change the verdict.
    if let Some(parser) = inputs.parser
        && matches!(inputs.discovery, Discovery::TreeWalk)
        && let Some(policy) = parser.discovery_at_hand(author, &reusable)
        && reusable(&policy)
    {
        return Single {
            phase: start(inputs.identifiers, policy, inputs.parser),
            trace: Vec::new(),
        };
    }
    Single {
        phase: Phase::Discover(Discovering::new(
            author.clone(),
            inputs.discovery.clone(),
            early,
        )),
        trace: Vec::new(),
    }
}

impl Progress {
    /// Advances until the verdict, or until queries wait whose answers are not at hand
    /// (`None`).
    fn run(&mut self, inputs: &Inputs<'_>) -> Option<DmarcVerdict> {
        loop {
            let verdict = match self.current.poll(inputs.identifiers, inputs.parser) {
                Poll::Waiting => {
                    // Answers the parser already holds (a resolver's cache) are read at once,
                    // exactly as if the driver had given them.
                    let parser = inputs.parser?;
                    match self.current.queries() {
                        // The common case, a walk's next step: no vector.
                        [query] => {
                            let answer = parser.answer_at_hand(query)?;
                            self.current.feed(
                                std::iter::once(answer),
                                inputs.identifiers,
                                Some(&**parser),
                            );
                        }
                        queries => {
                            let answers = answers_at_hand(&**parser, queries)?;
                            self.current
                                .feed(answers, inputs.identifiers, Some(&**parser));
                        }
                    }
                    continue;
                }
                Poll::Done(verdict) => verdict,
            };
            if !self.multi {
                return Some(verdict);
            }
            self.finished.push(verdict);
            match next_author(inputs.authors, self.next) {
                Some((index, next)) => {
                    self.current = single(next, inputs);
                    self.next = index + 1;
                }
                None => return Some(combine(std::mem::take(&mut self.finished))),
            }
        }
    }
}

/// The answers to every one of `queries` when `parser` holds them all
/// ([`RecordParser::answer_at_hand`]); `None` when one is missing or there are no queries.
fn answers_at_hand(parser: &dyn RecordParser, queries: &[Query]) -> Option<Vec<Answer>> {
    if queries.is_empty() {
        return None;
    }
    queries.iter().map(|q| parser.answer_at_hand(q)).collect()
}

/// Several Author Domains: the strictest failing verdict decides (RFC 9989 §11.5); otherwise
/// temperror, permerror, pass, none in that order.
fn combine(verdicts: Vec<DmarcVerdict>) -> DmarcVerdict {
    let rank = |v: &DmarcVerdict| match v.result {
        DmarcResult::Fail => (4, v.disposition),
        DmarcResult::TempError => (3, v.disposition),
        DmarcResult::PermError => (2, v.disposition),
        DmarcResult::Pass => (1, v.disposition),
        DmarcResult::None => (0, v.disposition),
    };
    let mut best: Option<&DmarcVerdict> = None;
    for v in &verdicts {
        if best.is_none_or(|b| rank(v) > rank(b)) {
            best = Some(v);
        }
    }
    let mut out = match best {
        Some(b) => b.clone(),
        None => DmarcVerdict::bare(DmarcProblem::NoAuthorDomain),
    };
    out.details_mut().authors = verdicts;
    out
}

impl Lookup for Evaluating {
    type Output = DmarcVerdict;

    fn queries(&self) -> &[Query] {
        self.0.progress.current.queries()
    }

    fn resume(mut self, answers: Vec<Answer>) -> Step<Self, DmarcVerdict> {
        let (progress, inputs) = self.0.split();
        progress
            .current
            .feed(answers, inputs.identifiers, inputs.parser.map(|p| &**p));
        match progress.run(&inputs) {
            Some(verdict) => Step::Done(verdict),
            None => Step::Lookup(self),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A verdict is handed back through several calls (and a driver's future): the parts most
    /// evaluations leave empty are out of line so that it stays small to move.
    #[test]
    #[cfg(target_pointer_width = "64")]
    fn a_verdict_stays_small() {
        let size = std::mem::size_of::<DmarcVerdict>();
        assert!(size <= 96, "DmarcVerdict is {size} bytes");
    }
}
