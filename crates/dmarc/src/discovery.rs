//! DMARC Policy Discovery (RFC 9989 §4.10.1) and the legacy RFC 7489 mode, as a sans-I/O
//! machine.

use crate::identifiers::Identifiers;
use crate::psl::PublicSuffixList;
use crate::record::{PsdFlag, Record, RecordParser};
use crate::walk::{Finding, StopOn, Walk, WalkEnd, WalkState, txt_query};
use mailstamp_dns::{Answer, FailureKind, Lookup, Name, Query, Step};
use serde::{Serialize, Serializer, ser::SerializeStruct};
use std::fmt;
use std::sync::Arc;

use crate::result::Stage;

/// How the policy and the Organizational Domain are found.
#[derive(Debug, Clone, Default)]
pub enum Discovery {
    /// The DNS Tree Walk of RFC 9989 §4.10 (the default).
    #[default]
    TreeWalk,
    /// The legacy method of RFC 7489 §6.6.3 and §3.2: the Author Domain's record, else the record
    /// of its Organizational Domain as given by a Public Suffix List. Record semantics (`np`,
    /// `t`, removed tags) stay those of RFC 9989; `psd` is not used.
    Psl(Arc<PublicSuffixList>),
}

impl Discovery {
    /// Which method this is.
    pub fn method(&self) -> DiscoveryMethod {
        match self {
            Discovery::TreeWalk => DiscoveryMethod::TreeWalk,
            Discovery::Psl(_) => DiscoveryMethod::PublicSuffixList,
        }
    }

    /// The Organizational Domain of `domain` when it needs no DNS (PSL mode).
    pub(crate) fn psl(&self) -> Option<&PublicSuffixList> {
        match self {
            Discovery::TreeWalk => None,
            Discovery::Psl(list) => Some(list),
        }
    }
}

/// The method that found a policy.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
pub enum DiscoveryMethod {
    /// RFC 9989 DNS Tree Walk.
    #[serde(rename = "tree-walk")]
    TreeWalk,
    /// RFC 7489 with a Public Suffix List.
    #[serde(rename = "psl")]
    PublicSuffixList,
}

impl DiscoveryMethod {
    /// `tree-walk` or `psl`.
    pub fn as_str(self) -> &'static str {
        match self {
            DiscoveryMethod::TreeWalk => "tree-walk",
            DiscoveryMethod::PublicSuffixList => "psl",
        }
    }
}

impl fmt::Display for DiscoveryMethod {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Where the applicable record was published, relative to the Author Domain (RFC 9989
/// §4.10.1: "listed from highest preference to lowest").
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum PolicySource {
    /// The Author Domain's own record: `p` applies.
    AuthorDomain,
    /// The record of the Author Domain's Organizational Domain: `sp`/`np` apply.
    OrganizationalDomain,
    /// The record of the Public Suffix Domain above the Organizational Domain (`psd=y`):
    /// `sp`/`np` apply.
    PublicSuffixDomain,
}

impl PolicySource {
    /// Short description.
    pub fn as_str(self) -> &'static str {
        match self {
            PolicySource::AuthorDomain => "author domain",
            PolicySource::OrganizationalDomain => "organizational domain",
            PolicySource::PublicSuffixDomain => "public suffix domain",
        }
    }
}

/// The applicable DMARC Policy Record and where it was found.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct FoundPolicy {
    /// The DMARC Policy Domain: the record is at `_dmarc.<domain>` (RFC 9989 §3.2.5).
    #[serde(serialize_with = "crate::ser::name")]
    pub domain: Name,
    /// Its relation to the Author Domain.
    pub source: PolicySource,
    /// The record.
    pub record: Arc<Record>,
}

/// One DNS query and its answer, in the order they were asked.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TraceEntry {
    /// Which step asked.
    pub stage: Stage,
    /// The question.
    pub query: Query,
    /// The answer.
    pub answer: Answer,
}

impl Serialize for TraceEntry {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut st = s.serialize_struct("TraceEntry", 5)?;
        st.serialize_field("stage", &self.stage)?;
        st.serialize_field("name", self.query.name.as_str())?;
        st.serialize_field("type", self.query.rtype.as_str())?;
        st.serialize_field("answer", self.answer.kind_str())?;
        st.serialize_field("data", &self.answer.to_string())?;
        st.end()
    }
}

impl fmt::Display for TraceEntry {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "[{}] {} -> {}",
            self.stage.as_str(),
            self.query,
            self.answer
        )
    }
}

/// The outcome of policy discovery for one Author Domain.
#[derive(Debug, Clone)]
pub struct PolicyDiscovery {
    /// The Author Domain (A-labels, lower case).
    pub author_domain: Name,
    /// The method used.
    pub method: DiscoveryMethod,
    /// The walk (for the PSL method, the one or two names queried).
    pub walk: Walk,
    /// The Organizational Domain of the Author Domain (RFC 9989 §4.10.2, or RFC 7489 §3.2 for
    /// the PSL method); `None` when the walk failed or was not needed.
    pub organizational_domain: Option<Name>,
    /// The applicable record; `None` when there is none (or the walk failed before it could be
    /// determined).
    pub policy: Option<FoundPolicy>,
    /// Every query of the discovery, in order.
    pub trace: Vec<TraceEntry>,
    pub(crate) discovery: Discovery,
    /// What the evaluation's identifiers said at the first answer, the Author Domain's own
    /// record (`Identifiers::walk_not_needed`), when the walk was allowed to stop early: the
    /// one input besides the answers that shapes the discovery (see
    /// [`PolicyDiscovery::reusable_for`]). `None` when the question was not asked, or when
    /// the identifiers needed the whole walk.
    pub(crate) early_stop: Option<bool>,
}

impl PolicyDiscovery {
    /// The failed query that stopped the walk, if any.
    pub fn failure(&self) -> Option<(&Name, FailureKind)> {
        self.walk.failure()
    }

    /// The record, if one applies.
    pub fn record(&self) -> Option<&Arc<Record>> {
        self.policy.as_ref().map(|p| &p.record)
    }

    /// The discovery settings used (to evaluate with the same method).
    pub fn discovery(&self) -> &Discovery {
        &self.discovery
    }

    /// True when an evaluation of the same Author Domain with `ids`, allowed to stop its walk
    /// early when `early` is true, would make this very discovery again from the same answers
    /// (a tree walk; [`RecordParser::discovery_at_hand`]). The walk reads nothing else but
    /// the answers and, at its first answer, whether the identifiers still need the
    /// Organizational Domain: that question is asked again here of the first step this
    /// discovery answered, as [`Discovering::feed`] asked it, and the answer must be the one
    /// this discovery was made with.
    pub(crate) fn reusable_for(&self, ids: &Identifiers, early: bool) -> bool {
        if !matches!(self.discovery, Discovery::TreeWalk) {
            return false;
        }
        let asked = self
            .walk
            .steps
            .first()
            .filter(|step| early && step.query.is_some() && step.domain == self.author_domain)
            .and_then(|step| step.finding.record())
            .and_then(|record| ids.walk_not_needed(&self.author_domain, record));
        asked == self.early_stop
    }
}

impl Serialize for PolicyDiscovery {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut st = s.serialize_struct("PolicyDiscovery", 6)?;
        st.serialize_field("author_domain", self.author_domain.as_str())?;
        st.serialize_field("method", &self.method)?;
        st.serialize_field(
            "organizational_domain",
            &self.organizational_domain.as_ref().map(Name::as_str),
        )?;
        st.serialize_field("policy", &self.policy)?;
        st.serialize_field("walk", &self.walk)?;
        st.serialize_field("trace", &self.trace)?;
        st.end()
    }
}

/// A discovery waiting for DNS answers. Drive it with [`mailstamp_dns::resolve_sync`] or the
/// async driver of the `mailstamp` crate.
#[derive(Debug)]
pub struct Discovering {
    author: Name,
    discovery: Discovery,
    walk: WalkState,
    trace: Vec<TraceEntry>,
    /// The query asked, until its answer comes.
    query: Option<Query>,
    /// The walk may stop once no identifier needs the Organizational Domain (the evaluation
    /// passes its identifiers to [`Discovering::feed`] and [`Discovering::finish`]).
    early: bool,
    /// When the walk stopped early: every identifier that counts is the Author Domain (at
    /// least one), so the Author Domain is their Organizational Domain.
    identical: bool,
    /// [`PolicyDiscovery::early_stop`].
    early_stop: Option<bool>,
}

/// Starts DMARC Policy Discovery for an Author Domain (RFC 9989 §4.10.1, or RFC 7489 §6.6.3 with
/// [`Discovery::Psl`]). The walk always runs to its end, so the Organizational Domain is known.
///
/// ```
/// use mailstamp_dmarc::{discover, Discovery, PolicySource};
/// use mailstamp_dns::{resolve_sync, Name, Zone};
///
/// let mut zone = Zone::new();
/// zone.add_txt(&Name::parse("_dmarc.example.com")?, ["v=DMARC1; p=reject"]);
/// let found = resolve_sync(discover(Name::parse("mail.example.com")?, Discovery::TreeWalk), &zone);
/// let policy = found.policy.unwrap();
/// assert_eq!(policy.domain.as_str(), "example.com");
/// assert_eq!(policy.source, PolicySource::OrganizationalDomain);
/// assert_eq!(found.organizational_domain.unwrap().as_str(), "example.com");
/// assert_eq!(found.trace.len(), 3); // mail.example.com, example.com, com
/// # Ok::<(), mailstamp_dns::NameError>(())
/// ```
pub fn discover(author: Name, discovery: Discovery) -> Step<Discovering, PolicyDiscovery> {
    Discovering::new(author, discovery, false).step()
}

impl Discovering {
    pub(crate) fn new(author: Name, discovery: Discovery, early: bool) -> Discovering {
        let walk = match &discovery {
            Discovery::TreeWalk => WalkState::tree(author.clone()),
            Discovery::Psl(list) => {
                let org = list.organizational_domain(&author);
                let mut targets = vec![author.clone()];
                if org != author {
                    targets.push(org);
                }
                WalkState::with_targets(author.clone(), targets, StopOn::FirstRecord)
            }
        };
        Discovering {
            author,
            discovery,
            walk,
            // A discovery asks one to eight queries; most ask one or two.
            trace: Vec::with_capacity(4),
            query: None,
            early,
            identical: false,
            early_stop: None,
        }
    }

    /// Makes the next query, if the walk goes on; true when there is one
    /// ([`Discovering::queries`]).
    pub(crate) fn next_query(&mut self) -> bool {
        self.query = self.walk.pending().map(|(_, name)| txt_query(name.clone()));
        self.query.is_some()
    }

    /// The query waiting for its answer: none, or one.
    pub(crate) fn pending_queries(&self) -> &[Query] {
        self.query.as_slice()
    }

    /// Feeds the answer to the query last made by `next_query`. `ids`: the identifiers of an
    /// evaluation that may stop the walk early; `parser`: parses the records found (shared
    /// across evaluations; `None`: [`Record::parse`](crate::Record::parse)).
    pub(crate) fn feed(
        &mut self,
        answer: Answer,
        ids: Option<&Identifiers>,
        parser: Option<&dyn RecordParser>,
    ) {
        let Some(query) = self.query.take() else {
            return;
        };
        let first = self.walk.steps().is_empty();
        self.walk.feed(Finding::from_answer_with(&answer, parser));
        self.trace.push(TraceEntry {
            stage: Stage::PolicyDiscovery,
            query,
            answer,
        });
        if first
            && self.early
            && let Some(ids) = ids
            && let Some(step) = self.walk.steps().first()
            && let Some(record) = step.finding.record()
            && step.domain == self.author
            && let Some(identical) = ids.walk_not_needed(&self.author, record)
        {
            self.identical = identical;
            self.early_stop = Some(identical);
            self.walk.stop();
        }
    }

    fn step(mut self) -> Step<Discovering, PolicyDiscovery> {
        if self.next_query() {
            Step::Lookup(self)
        } else {
            Step::Done(self.finish(None))
        }
    }

    /// Ends the discovery (also when it still had queries to ask: used after an early stop).
    /// `ids`: given (`Some`) when the caller is an evaluation whose identifiers may have stopped
    /// the walk early; only its presence is read, with the discovery's own record of the stop
    /// (every identifier was the Author Domain), to make the Author Domain the Organizational
    /// Domain of a walk that stopped early.
    pub(crate) fn finish(self, ids: Option<&Identifiers>) -> PolicyDiscovery {
        let walk = self.walk.finish();
        let stopped_early = walk.end == WalkEnd::NotNeeded;
        let organizational_domain = match &self.discovery {
            Discovery::Psl(list) => Some(list.organizational_domain(&self.author)),
            Discovery::TreeWalk if stopped_early => ids
                .filter(|_| self.early && self.identical)
                .map(|_| self.author.clone()),
            Discovery::TreeWalk => walk.organizational_domain(),
        };
        let policy = select_policy(&walk, &self.author, organizational_domain.as_ref());
        PolicyDiscovery {
            method: self.discovery.method(),
            author_domain: self.author,
            walk,
            organizational_domain,
            policy,
            trace: self.trace,
            discovery: self.discovery,
            early_stop: self.early_stop,
        }
    }
}

/// RFC 9989 §4.10.1: the Author Domain's record, else the Organizational Domain's, else the
/// Public Suffix Domain's.
fn select_policy(walk: &Walk, author: &Name, org: Option<&Name>) -> Option<FoundPolicy> {
    if let Some(record) = walk.record_at(author) {
        return Some(FoundPolicy {
            domain: author.clone(),
            source: PolicySource::AuthorDomain,
            record: Arc::clone(record),
        });
    }
    if walk.failure().is_some() {
        return None;
    }
    let org = org?;
    if let Some(record) = walk.record_at(org) {
        return Some(FoundPolicy {
            domain: org.clone(),
            source: PolicySource::OrganizationalDomain,
            record: Arc::clone(record),
        });
    }
    walk.records()
        .find(|(domain, record)| {
            record.psd == PsdFlag::Yes && org.is_subdomain_of(domain) && *domain != org
        })
        .map(|(domain, record)| FoundPolicy {
            domain: domain.clone(),
            source: PolicySource::PublicSuffixDomain,
            record: Arc::clone(record),
        })
}

impl Lookup for Discovering {
    type Output = PolicyDiscovery;

    fn queries(&self) -> &[Query] {
        self.pending_queries()
    }

    fn resume(mut self, answers: Vec<Answer>) -> Step<Self, PolicyDiscovery> {
        let answer = answers
            .into_iter()
            .next()
            .unwrap_or(Answer::Failed(FailureKind::Other));
        self.feed(answer, None, None);
        self.step()
    }
}
