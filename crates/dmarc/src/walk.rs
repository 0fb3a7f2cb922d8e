//! The DNS Tree Walk (RFC 9989 §4.10) and the Organizational Domain it determines (§4.10.2).

use crate::record::{PsdFlag, Record, RecordParser};
use mailstamp_dns::{Answer, FailureKind, Name, Query};
use serde::Serialize;
use std::sync::Arc;

/// A DNS Tree Walk sends at most this many queries (RFC 9989 §4.10: "Author Domains with more
/// than eight labels do not result in more than eight DNS queries").
pub const MAX_WALK_QUERIES: usize = 8;

/// After the first query, a name with more labels than this is shortened to this many labels
/// (RFC 9989 §4.10, step 4: "remove the left-most labels ... until 7 labels remain").
pub const WALK_SHORTEN_TO: usize = 7;

/// The label that prefixes every DMARC Policy Record name (RFC 9989 §4.1).
pub const DMARC_LABEL: &str = "_dmarc";

/// `_dmarc.<domain>`, or `None` when the result would exceed the DNS length limits (such a name
/// cannot hold a record).
pub fn dmarc_name(domain: &Name) -> Option<Name> {
    domain.prepend(DMARC_LABEL).ok()
}

/// The names a DNS Tree Walk starting at `start` visits, in order (RFC 9989 §4.10 steps 3-7):
/// the start itself, then, when it has eight or more labels, its rightmost seven labels, then one
/// label less at a time down to the top-level domain. Never more than [`MAX_WALK_QUERIES`].
pub fn walk_targets(start: &Name) -> Vec<Name> {
    let mut targets = Vec::with_capacity(start.label_count().min(MAX_WALK_QUERIES));
    let mut current = Some(start.clone());
    while let Some(domain) = current {
        if targets.len() == MAX_WALK_QUERIES {
            break;
        }
        current = next_tree_target(&domain);
        targets.push(domain);
    }
    targets
}

/// The tree walk's target after `domain` (RFC 9989 §4.10): its suffix of
/// [`WALK_SHORTEN_TO`] labels when it has more, else its parent; none after a TLD.
fn next_tree_target(domain: &Name) -> Option<Name> {
    // The rule is written once, on the text; the target is a suffix of `domain`.
    let next = next_tree_target_str(domain.as_str())?;
    Some(domain.suffix(next.bytes().filter(|&b| b == b'.').count() + 1))
}

/// The text of [`next_tree_target`] of the name whose text is `domain`, without making a name
/// (to look a target up among the steps already answered).
fn next_tree_target_str(domain: &str) -> Option<&str> {
    let dots = domain.bytes().filter(|&b| b == b'.').count();
    if dots >= WALK_SHORTEN_TO {
        // Keep the rightmost seven labels: cut after the dot that precedes them.
        let cut = domain
            .bytes()
            .enumerate()
            .filter(|&(_, b)| b == b'.')
            .nth(dots - WALK_SHORTEN_TO)
            .map(|(i, _)| i + 1)?;
        domain.get(cut..)
    } else {
        domain.split_once('.').map(|(_, rest)| rest)
    }
}

/// Why a step of a walk found no DMARC Policy Record.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case", tag = "reason")]
pub enum NoRecord {
    /// The `_dmarc` name does not exist.
    NxDomain,
    /// The `_dmarc` name exists but has no TXT record.
    NoData,
    /// TXT records exist, but none begins with `v=DMARC1` (RFC 9989 §4.10, steps 2 and 6).
    NotDmarc {
        /// How many TXT records were discarded.
        txt_records: usize,
    },
    /// More than one DMARC Policy Record: all are discarded (RFC 9989 §4.10, steps 2 and 6).
    MultipleRecords {
        /// How many there were.
        count: usize,
    },
    /// `_dmarc.<domain>` would be longer than a DNS name may be; nothing was asked.
    NameTooLong,
}

/// What one step of a walk found.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case", tag = "found")]
pub enum Finding {
    /// Exactly one DMARC Policy Record.
    Record {
        /// The record.
        record: Arc<Record>,
    },
    /// No usable record.
    None {
        /// Why.
        #[serde(flatten)]
        why: NoRecord,
    },
    /// The query failed (timeout, SERVFAIL, ...): the walk stops, the result is temperror.
    Failed {
        /// How it failed.
        #[serde(serialize_with = "crate::ser::failure")]
        kind: FailureKind,
    },
}

impl Finding {
    /// Classifies the answer to a TXT query for a `_dmarc` name.
    pub fn from_answer(answer: &Answer) -> Finding {
        Finding::from_answer_with(answer, None)
    }

    /// [`Finding::from_answer`] with the records parsed by `parser` (a cache of parsed records
    /// shared across evaluations) instead of [`Record::parse`]; the finding is the same.
    pub fn from_answer_with(answer: &Answer, parser: Option<&dyn RecordParser>) -> Finding {
        match answer {
            Answer::NxDomain => Finding::None {
                why: NoRecord::NxDomain,
            },
            Answer::NoData => Finding::None {
                why: NoRecord::NoData,
            },
            Answer::Failed(kind) => Finding::Failed { kind: *kind },
            Answer::Records(_) => {
                let mut found: Option<Arc<Record>> = None;
                let mut dmarc = 0usize;
                let mut txt = 0usize;
                for t in answer.txts() {
                    txt += 1;
                    let parsed = match parser {
                        Some(p) => p.parse_txt(t),
                        None => Record::parse(t.joined_bytes()).map(Arc::new),
                    };
                    if let Ok(r) = parsed {
                        dmarc += 1;
                        if dmarc == 1 {
                            found = Some(r);
                        } else {
                            found = None;
                        }
                    }
                }
                match (dmarc, found) {
                    (1, Some(record)) => Finding::Record { record },
                    (0, _) if txt == 0 => Finding::None {
                        why: NoRecord::NoData,
                    },
                    (0, _) => Finding::None {
                        why: NoRecord::NotDmarc { txt_records: txt },
                    },
                    (count, _) => Finding::None {
                        why: NoRecord::MultipleRecords { count },
                    },
                }
            }
        }
    }

    /// The record, if this step found exactly one.
    pub fn record(&self) -> Option<&Arc<Record>> {
        match self {
            Finding::Record { record } => Some(record),
            _ => None,
        }
    }
}

/// One step of a walk: a domain, the name queried for it and what was found.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct WalkStep {
    /// The domain whose record was looked for.
    #[serde(serialize_with = "crate::ser::name")]
    pub domain: Name,
    /// The TXT query name (`_dmarc.<domain>`); `None` when it would be too long.
    #[serde(serialize_with = "crate::ser::opt_name")]
    pub query: Option<Name>,
    /// What was found.
    #[serde(flatten)]
    pub finding: Finding,
}

/// How a walk ended.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case", tag = "end")]
pub enum WalkEnd {
    /// A record with `psd=y` or `psd=n` stopped it (RFC 9989 §4.10, steps 2 and 6).
    PsdTag {
        /// Where.
        #[serde(serialize_with = "crate::ser::name")]
        domain: Name,
    },
    /// The top-level domain was queried (or the target list was exhausted).
    Exhausted,
    /// A record was found and the discovery method stops at the first one (RFC 7489 mode).
    FirstRecord,
    /// The rest of the walk was not needed: the Author Domain has its own record and no
    /// identifier needs relaxed alignment (RFC 9989 §4.10.2, "no need to perform").
    NotNeeded,
    /// A query failed.
    Failed {
        /// The domain whose `_dmarc` query failed.
        #[serde(serialize_with = "crate::ser::name")]
        domain: Name,
        /// How.
        #[serde(serialize_with = "crate::ser::failure")]
        kind: FailureKind,
    },
}

/// A finished walk: where it started, every step, and how it ended.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Walk {
    /// The domain the walk started at.
    #[serde(serialize_with = "crate::ser::name")]
    pub start: Name,
    /// The steps, longest name first.
    pub steps: Vec<WalkStep>,
    /// How it ended.
    #[serde(flatten)]
    pub end: WalkEnd,
}

impl Walk {
    /// The records found, longest name first.
    pub fn records(&self) -> impl Iterator<Item = (&Name, &Arc<Record>)> {
        self.steps
            .iter()
            .filter_map(|s| s.finding.record().map(|r| (&s.domain, r)))
    }

    /// The record at exactly `domain`, if the walk found one there.
    pub fn record_at(&self, domain: &Name) -> Option<&Arc<Record>> {
        self.records().find(|(d, _)| *d == domain).map(|(_, r)| r)
    }

    /// The failed query, if the walk ended on one.
    pub fn failure(&self) -> Option<(&Name, FailureKind)> {
        match &self.end {
            WalkEnd::Failed { domain, kind } => Some((domain, *kind)),
            _ => None,
        }
    }

    /// Number of DNS queries the walk sent.
    pub fn queries_sent(&self) -> usize {
        self.steps.iter().filter(|s| s.query.is_some()).count()
    }

    /// The Organizational Domain this walk determines (RFC 9989 §4.10.2), selecting among the
    /// records found from the longest name to the shortest:
    ///
    /// 1. a record with `psd=n`: its domain;
    /// 2. a record with `psd=y`, other than the starting domain's: the domain one label below it
    ///    (towards the start);
    /// 3. otherwise the domain with the fewest labels that has a record;
    ///
    /// and the starting domain when no record was found. `None` when the walk failed or was
    /// stopped before it could decide ([`WalkEnd::NotNeeded`]).
    pub fn organizational_domain(&self) -> Option<Name> {
        match self.end {
            WalkEnd::Failed { .. } | WalkEnd::NotNeeded => return None,
            WalkEnd::PsdTag { .. } | WalkEnd::Exhausted | WalkEnd::FirstRecord => {}
        }
        Some(organizational_domain(&self.start, self.records()))
    }
}

/// RFC 9989 §4.10.2 selection over `records` (longest name first) of a walk from `start`.
pub(crate) fn organizational_domain<'a>(
    start: &Name,
    records: impl Iterator<Item = (&'a Name, &'a Arc<Record>)>,
) -> Name {
    let mut last: Option<&Name> = None;
    for (domain, record) in records {
        match record.psd {
            PsdFlag::No => return domain.clone(),
            PsdFlag::Yes if domain != start => {
                return start.suffix(domain.label_count().saturating_add(1));
            }
            PsdFlag::Yes | PsdFlag::Unknown => {}
        }
        last = Some(domain);
    }
    last.unwrap_or(start).clone()
}

/// When a walk stops.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum StopOn {
    /// At a record with `psd=y`/`psd=n` (RFC 9989 tree walk).
    PsdTag,
    /// At the first record (RFC 7489 discovery).
    FirstRecord,
}

/// The domains a walk visits.
#[derive(Debug, Clone)]
enum Targets {
    /// The DNS Tree Walk from the start (RFC 9989 §4.10), each target made from the previous
    /// one only when the walk reaches it ([`walk_targets`] lists them all).
    Tree,
    /// A fixed list (RFC 7489 discovery).
    List(Vec<Name>),
}

/// A walk in progress: a list of target domains, answered one at a time.
///
/// Targets and their `_dmarc` names are made when the walk reaches them, so a walk that stops
/// after its first answer (the Author Domain's own record) makes no other name.
#[derive(Debug, Clone)]
pub(crate) struct WalkState {
    start: Name,
    targets: Targets,
    steps: Vec<WalkStep>,
    stop_on: StopOn,
    end: Option<WalkEnd>,
    /// The domain asked next, once the walk has reached it.
    current: Option<Name>,
    /// The `_dmarc` name of `current`, made once when the walk reaches it.
    next_name: Option<Name>,
}

impl WalkState {
    /// A tree walk from `start` (RFC 9989 §4.10).
    pub(crate) fn tree(start: Name) -> WalkState {
        WalkState::new(start, Targets::Tree, StopOn::PsdTag)
    }

    pub(crate) fn with_targets(start: Name, targets: Vec<Name>, stop_on: StopOn) -> WalkState {
        WalkState::new(start, Targets::List(targets), stop_on)
    }

    fn new(start: Name, targets: Targets, stop_on: StopOn) -> WalkState {
        let mut state = WalkState {
            start,
            targets,
            // Most walks take one to four steps; one allocation of that size up front.
            steps: Vec::with_capacity(4),
            stop_on,
            end: None,
            current: None,
            next_name: None,
        };
        if !state.has_target(0) {
            state.end = Some(WalkEnd::Exhausted);
        }
        state
    }

    /// True when the walk has a target number `index` (0 is the first).
    fn has_target(&self, index: usize) -> bool {
        match &self.targets {
            Targets::List(list) => index < list.len(),
            Targets::Tree => {
                // Each target has fewer labels than the one before; the last is the TLD.
                index == 0
                    || (index < MAX_WALK_QUERIES
                        && self
                            .steps
                            .get(index - 1)
                            .is_some_and(|s| s.domain.as_str().contains('.')))
            }
        }
    }

    /// The text of the target the walk asks about next: the one reached, else target number
    /// `steps.len()` (what [`WalkState::make_target`] would make), without making a name.
    fn next_target_str(&self) -> Option<&str> {
        if let Some(current) = &self.current {
            return Some(current.as_str());
        }
        let index = self.steps.len();
        match &self.targets {
            Targets::List(list) => list.get(index).map(Name::as_str),
            Targets::Tree if index == 0 => Some(self.start.as_str()),
            Targets::Tree => {
                if index >= MAX_WALK_QUERIES {
                    return None;
                }
                next_tree_target_str(self.steps.get(index - 1)?.domain.as_str())
            }
        }
    }

    /// Target number `steps.len()`, made from the previous one (`walk_targets`' rule).
    fn make_target(&self) -> Option<Name> {
        let index = self.steps.len();
        match &self.targets {
            Targets::List(list) => list.get(index).cloned(),
            Targets::Tree if index == 0 => Some(self.start.clone()),
            Targets::Tree => {
                if index >= MAX_WALK_QUERIES {
                    return None;
                }
                next_tree_target(&self.steps.get(index - 1)?.domain)
            }
        }
    }

    /// Reaches the next target whose `_dmarc` name can be asked, recording a step for each
    /// target whose name is too long, and ends the walk when the targets are exhausted.
    fn reach(&mut self) {
        while self.end.is_none() && self.next_name.is_none() {
            if self.current.is_none() {
                self.current = self.make_target();
            }
            let Some(domain) = &self.current else {
                self.end = Some(WalkEnd::Exhausted);
                return;
            };
            if let Some(name) = dmarc_name(domain) {
                self.next_name = Some(name);
                return;
            }
            if let Some(domain) = self.current.take() {
                self.steps.push(WalkStep {
                    domain,
                    query: None,
                    finding: Finding::None {
                        why: NoRecord::NameTooLong,
                    },
                });
            }
            if !self.has_target(self.steps.len()) {
                self.end = Some(WalkEnd::Exhausted);
            }
        }
    }

    /// The domain whose `_dmarc` record is asked next, and the query name, if the walk has
    /// reached them (made its names) and waits for the answer.
    fn reached(&self) -> Option<(&Name, &Name)> {
        if self.end.is_some() {
            return None;
        }
        Some((self.current.as_ref()?, self.next_name.as_ref()?))
    }

    /// The domain whose `_dmarc` record is asked next, and the query name.
    pub(crate) fn pending(&mut self) -> Option<(&Name, &Name)> {
        self.reach();
        if self.end.is_some() {
            return None;
        }
        Some((self.current.as_ref()?, self.next_name.as_ref()?))
    }

    pub(crate) fn start(&self) -> &Name {
        &self.start
    }

    /// Feeds what the pending query found.
    pub(crate) fn feed(&mut self, finding: Finding) {
        self.reach();
        if self.end.is_some() {
            return;
        }
        let (Some(domain), Some(query)) = (self.current.take(), self.next_name.take()) else {
            return;
        };
        self.push(WalkStep {
            domain,
            query: Some(query),
            finding,
        });
    }

    /// Feeds the step answered for the next target, already known (its domain is the one
    /// [`WalkState::next_target_str`] names, and it has a query), with the names it holds.
    fn feed_known(&mut self, step: WalkStep) {
        if self.end.is_some() {
            return;
        }
        self.current = None;
        self.next_name = None;
        self.push(step);
    }

    /// Records an answered step and ends the walk when it or the targets say so.
    fn push(&mut self, step: WalkStep) {
        let domain = &step.domain;
        let end = match &step.finding {
            Finding::Failed { kind } => Some(WalkEnd::Failed {
                domain: domain.clone(),
                kind: *kind,
            }),
            Finding::Record { record } => match self.stop_on {
                StopOn::PsdTag if record.psd.stops_walk() => Some(WalkEnd::PsdTag {
                    domain: domain.clone(),
                }),
                StopOn::FirstRecord => Some(WalkEnd::FirstRecord),
                StopOn::PsdTag => None,
            },
            Finding::None { .. } => None,
        };
        self.steps.push(step);
        self.end = match end {
            None if !self.has_target(self.steps.len()) => Some(WalkEnd::Exhausted),
            end => end,
        };
    }

    /// Stops the walk early ([`WalkEnd::NotNeeded`]).
    pub(crate) fn stop(&mut self) {
        if self.end.is_none() {
            self.end = Some(WalkEnd::NotNeeded);
        }
    }

    pub(crate) fn steps(&self) -> &[WalkStep] {
        &self.steps
    }

    pub(crate) fn finish(mut self) -> Walk {
        // Targets left that cannot be asked end the walk as they would have on the way.
        self.reach();
        Walk {
            start: self.start,
            steps: self.steps,
            end: self.end.unwrap_or(WalkEnd::NotNeeded),
        }
    }
}

/// Several tree walks sharing the answers they got (names repeat between walks: the walks of
/// `a.example.com` and `b.example.com` both ask for `_dmarc.example.com`).
///
/// The steps answered are kept whole, names included, in a short list (a handful of entries:
/// a walk has at most eight steps): a walk that reaches a domain answered before takes that
/// step as it is, without making the domain's name or its `_dmarc` name again.
#[derive(Debug, Clone, Default)]
pub(crate) struct WalkSet {
    walks: Vec<WalkState>,
    /// Every step answered so far (each with a query), at most one per domain.
    known: Vec<WalkStep>,
    /// Parses the records answered (shared across evaluations); `None`: parse here.
    parser: Option<Arc<dyn RecordParser>>,
}

impl WalkSet {
    /// No walks; the records answered are parsed by `parser` (else by [`Record::parse`]).
    pub(crate) fn new(parser: Option<Arc<dyn RecordParser>>) -> WalkSet {
        WalkSet {
            walks: Vec::new(),
            known: Vec::new(),
            parser,
        }
    }

    /// Remembers what a finished walk found, for reuse.
    pub(crate) fn seed(&mut self, walk: &Walk) {
        self.known.reserve(walk.steps.len() + self.walks.len());
        for step in &walk.steps {
            if step.query.is_some() && self.step_at(step.domain.as_str()).is_none() {
                self.known.push(step.clone());
            }
        }
    }

    /// The step answered for the domain whose text is `domain`, if any.
    fn step_at(&self, domain: &str) -> Option<&WalkStep> {
        self.known.iter().find(|s| s.domain.as_str() == domain)
    }

    /// Adds a tree walk from `start`, unless there is one already.
    pub(crate) fn add(&mut self, start: &Name) {
        if !self.walks.iter().any(|w| w.start() == start) {
            self.walks.push(WalkState::tree(start.clone()));
        }
    }

    /// Feeds the walks from the cache, then returns the distinct queries they still wait for.
    pub(crate) fn queries(&mut self) -> Vec<Query> {
        let mut out: Vec<Query> = Vec::new();
        let known = &self.known;
        for walk in &mut self.walks {
            while walk.end.is_none() {
                // A domain answered before: its step, with no name made.
                let step = walk
                    .next_target_str()
                    .and_then(|t| known.iter().find(|s| s.domain.as_str() == t));
                if let Some(step) = step {
                    walk.feed_known(step.clone());
                    continue;
                }
                if let Some((_, name)) = walk.reached() {
                    if !out.iter().any(|q| q.name == *name) {
                        out.push(txt_query(name.clone()));
                    }
                    break;
                }
                // Make the target's names (and the steps of targets whose `_dmarc` name is too
                // long), then look again.
                walk.reach();
            }
        }
        out
    }

    /// Records the answer to one of the queries returned by [`WalkSet::queries`].
    pub(crate) fn answer(&mut self, name: &Name, answer: &Answer) {
        let Some(domain) = self
            .walks
            .iter()
            .filter_map(WalkState::reached)
            .find(|(_, query)| *query == name)
            .map(|(domain, _)| domain.clone())
        else {
            return; // no walk asked it
        };
        if self.step_at(domain.as_str()).is_some() {
            return;
        }
        self.known.push(WalkStep {
            domain,
            query: Some(name.clone()),
            finding: Finding::from_answer_with(answer, self.parser.as_deref()),
        });
    }

    /// The walk that started at `start`, finished.
    pub(crate) fn finish(self) -> Vec<Walk> {
        self.walks.into_iter().map(WalkState::finish).collect()
    }
}

/// The TXT query for a `_dmarc` name.
pub(crate) fn txt_query(name: Name) -> Query {
    Query::txt(name)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn n(s: &str) -> Name {
        Name::parse(s).unwrap()
    }

    fn names(v: &[Name]) -> Vec<&str> {
        v.iter().map(Name::as_str).collect()
    }

    #[test]
    fn rfc9989_4_10_targets_short_name() {
        assert_eq!(
            names(&walk_targets(&n("a.mail.example.com"))),
            vec![
                "a.mail.example.com",
                "mail.example.com",
                "example.com",
                "com"
            ]
        );
        assert_eq!(names(&walk_targets(&n("com"))), vec!["com"]);
    }

    #[test]
    fn rfc9989_4_10_targets_skip_labels_of_long_name() {
        // The example of RFC 9989 §4.10.
        let t = walk_targets(&n("a.b.c.d.e.f.g.h.i.j.mail.example.com"));
        assert_eq!(
            names(&t),
            vec![
                "a.b.c.d.e.f.g.h.i.j.mail.example.com",
                "g.h.i.j.mail.example.com",
                "h.i.j.mail.example.com",
                "i.j.mail.example.com",
                "j.mail.example.com",
                "mail.example.com",
                "example.com",
                "com",
            ]
        );
        // Exactly eight labels: the parent has seven, nothing is skipped.
        let t = walk_targets(&n("a.b.c.d.e.f.example.com"));
        assert_eq!(t.len(), 8);
        assert_eq!(t[1].as_str(), "b.c.d.e.f.example.com");
        // 127 labels (the most a name can have): still eight.
        let deep = vec!["a"; 127].join(".");
        assert_eq!(walk_targets(&n(&deep)).len(), MAX_WALK_QUERIES);
    }

    #[test]
    fn target_text_is_the_target_s() {
        let labels = [
            "a", "bb", "c-c", "d", "e", "f", "g", "h", "i", "j", "k", "example",
        ];
        for start in 0..labels.len() {
            let name = n(&labels[start..].join("."));
            let mut domain = Some(name);
            while let Some(d) = domain {
                let next = next_tree_target(&d);
                assert_eq!(
                    next_tree_target_str(d.as_str()),
                    next.as_ref().map(Name::as_str),
                    "{d}"
                );
                domain = next;
            }
        }
    }

    #[test]
    fn rfc9989_4_10_2_selection_rules() {
        let rec = |s: &str| Arc::new(Record::parse(s.as_bytes()).unwrap());
        let start = n("a.mail.example.com");
        let (m, e, c) = (n("mail.example.com"), n("example.com"), n("com"));
        let plain = rec("v=DMARC1; p=none");
        // Fewest labels wins.
        let got = organizational_domain(&start, [(&m, &plain), (&e, &plain)].into_iter());
        assert_eq!(got, e);
        // psd=n wins.
        let no = rec("v=DMARC1; p=none; psd=n");
        assert_eq!(
            organizational_domain(&start, [(&m, &no)].into_iter()),
            m.clone()
        );
        // psd=y: one label below.
        let yes = rec("v=DMARC1; p=none; psd=y");
        assert_eq!(organizational_domain(&start, [(&c, &yes)].into_iter()), e);
        // psd=y at the start itself does not count as rule 2.
        assert_eq!(
            organizational_domain(&c, [(&c, &yes)].into_iter()),
            c.clone()
        );
        // Nothing found: the start.
        assert_eq!(organizational_domain(&start, std::iter::empty()), start);
    }

    #[test]
    fn classify_answers() {
        use mailstamp_dns::{RData, Record as Rr, Txt};
        let rr = |s: &str| Rr {
            name: n("_dmarc.example.com"),
            ttl: 1,
            data: RData::Txt(Txt::new([s])),
        };
        assert!(matches!(
            Finding::from_answer(&Answer::Records(vec![rr("v=DMARC1; p=none")].into())),
            Finding::Record { .. }
        ));
        assert_eq!(
            Finding::from_answer(&Answer::Records(
                vec![rr("v=DMARC1; p=none"), rr("v=DMARC1; p=reject")].into()
            )),
            Finding::None {
                why: NoRecord::MultipleRecords { count: 2 }
            }
        );
        assert_eq!(
            Finding::from_answer(&Answer::Records(
                vec![rr("hello"), rr("v=DMARC1; p=none")].into()
            ))
            .record()
            .map(|r| r.policy),
            Some(Some(crate::Policy::None))
        );
        assert_eq!(
            Finding::from_answer(&Answer::Records(vec![rr("v=spf1 -all")].into())),
            Finding::None {
                why: NoRecord::NotDmarc { txt_records: 1 }
            }
        );
        assert_eq!(
            Finding::from_answer(&Answer::Failed(FailureKind::Timeout)),
            Finding::Failed {
                kind: FailureKind::Timeout
            }
        );
    }
}
