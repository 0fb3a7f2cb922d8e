//! An in-memory zone that answers queries like a recursive resolver would.

use crate::{Answer, FailureKind, Name, Query, RData, Record, RecordType, Source, Txt};
use std::collections::{BTreeMap, HashSet, btree_map};

/// Longest CNAME chain the zone follows before answering SERVFAIL, as resolvers do for loops.
pub const MAX_CNAME_CHAIN: usize = 8;

/// Default TTL of records added without one.
const DEFAULT_TTL: u32 = 300;

/// What a marker makes a query answer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Outcome {
    Failed(FailureKind),
    NxDomain,
    NoData,
}

/// A marker: how queries for a name answer when the name has no record of the asked type.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Rule {
    outcome: Outcome,
    /// `None`: every type that has no record at this name; `Some`: only these types.
    only: Option<Vec<RecordType>>,
}

#[derive(Debug, Clone, Default, PartialEq, Eq)]
struct Entry {
    records: Vec<(u32, RData)>,
    rules: Vec<Rule>,
}

/// An in-memory set of records and failure markers.
///
/// Answers follow resolver semantics:
/// * a name with no records, no failure marker and no names below it answers
///   [`Answer::NxDomain`]; a name that exists only because names below it exist (an "empty
///   non-terminal", such as `_domainkey.example.com`) answers [`Answer::NoData`];
/// * a known name without the asked type answers [`Answer::NoData`];
/// * a CNAME is followed (for any type but CNAME) up to [`MAX_CNAME_CHAIN`] links, its records
///   placed first in the answer; a loop or a longer chain answers SERVFAIL;
/// * a wildcard owner `*.parent` answers for names below `parent` that do not exist
///   (RFC 4592, simplified: the closest existing ancestor stops the search);
/// * a failure marker ([`Zone::fail`], [`Zone::fail_type`]) turns queries into
///   [`Answer::Failed`]; an NXDOMAIN or NODATA marker ([`Zone::nxdomain`],
///   [`Zone::nxdomain_type`], [`Zone::nodata_type`]) forces that answer. Markers apply only to
///   types the name has no record of, and are checked before a CNAME at the name is followed;
///   when several apply, the first one added wins.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Zone {
    entries: BTreeMap<Name, Entry>,
    /// Every owner and every ancestor of an owner.
    existing: HashSet<Name>,
}

impl Zone {
    /// An empty zone: every query answers NXDOMAIN.
    pub fn new() -> Zone {
        Zone::default()
    }

    fn entry(&mut self, name: &Name) -> &mut Entry {
        let mut n = Some(name.clone());
        while let Some(cur) = n {
            if !self.existing.insert(cur.clone()) {
                break;
            }
            n = cur.parent();
        }
        self.entries.entry(name.clone()).or_default()
    }

    /// Adds a record. Adding the same data twice keeps one copy.
    pub fn insert(&mut self, name: &Name, ttl: u32, data: RData) {
        let entry = self.entry(name);
        if !entry.records.iter().any(|(_, d)| *d == data) {
            entry.records.push((ttl, data));
        }
    }

    /// Adds a TXT record made of these character-strings, with the default TTL.
    pub fn add_txt<I, S>(&mut self, name: &Name, strings: I)
    where
        I: IntoIterator<Item = S>,
        S: Into<Vec<u8>>,
    {
        self.insert(name, DEFAULT_TTL, RData::Txt(Txt::new(strings)));
    }

    /// Adds a record with the default TTL.
    pub fn add(&mut self, name: &Name, data: RData) {
        self.insert(name, DEFAULT_TTL, data);
    }

    /// Makes every query for `name` of a type that has no record there fail with `kind`.
    /// Types that do have records keep answering them (the OpenSPF `TIMEOUT` marker).
    pub fn fail(&mut self, name: &Name, kind: FailureKind) {
        self.rule(name, Outcome::Failed(kind), None);
    }

    /// Makes queries for `name` of type `rtype` fail with `kind`.
    pub fn fail_type(&mut self, name: &Name, rtype: RecordType, kind: FailureKind) {
        self.rule(name, Outcome::Failed(kind), Some(rtype));
    }

    /// Makes every query for `name` of a type that has no record there answer NXDOMAIN, even
    /// when names below it exist (which a real server should not do, RFC 8020, but record mode
    /// must be able to replay what a server said).
    pub fn nxdomain(&mut self, name: &Name) {
        self.rule(name, Outcome::NxDomain, None);
    }

    /// Makes queries for `name` of type `rtype` answer NXDOMAIN (when the name has no record
    /// of that type).
    pub fn nxdomain_type(&mut self, name: &Name, rtype: RecordType) {
        self.rule(name, Outcome::NxDomain, Some(rtype));
    }

    /// Makes queries for `name` of type `rtype` answer NODATA (when the name has no record of
    /// that type), without following a CNAME at the name.
    pub fn nodata_type(&mut self, name: &Name, rtype: RecordType) {
        self.rule(name, Outcome::NoData, Some(rtype));
    }

    /// Makes `name` exist without adding records: queries for it answer NODATA instead of
    /// NXDOMAIN (unless records or markers say otherwise).
    pub fn add_name(&mut self, name: &Name) {
        self.entry(name);
    }

    fn rule(&mut self, name: &Name, outcome: Outcome, only: Option<RecordType>) {
        self.entry(name).rules.push(Rule {
            outcome,
            only: only.map(|t| vec![t]),
        });
    }

    /// Adds every record and failure marker of `other`.
    pub fn merge(&mut self, other: Zone) {
        // `other.existing` holds its owners and their ancestors, which is what adding its
        // entries one by one would add here.
        self.existing.reserve(other.existing.len());
        self.existing.extend(other.existing);
        for (name, entry) in other.entries {
            match self.entries.entry(name) {
                btree_map::Entry::Vacant(slot) => {
                    slot.insert(entry);
                }
                btree_map::Entry::Occupied(mut slot) => {
                    let mine = slot.get_mut();
                    for (ttl, data) in entry.records {
                        if !mine.records.iter().any(|(_, d)| *d == data) {
                            mine.records.push((ttl, data));
                        }
                    }
                    mine.rules.extend(entry.rules);
                }
            }
        }
    }

    /// Number of records (failure markers not counted).
    pub fn record_count(&self) -> usize {
        self.entries.values().map(|e| e.records.len()).sum()
    }

    /// The owner names that carry records or markers (or were added with [`Zone::add_name`]),
    /// in sorted order.
    pub fn names(&self) -> impl Iterator<Item = &Name> {
        self.entries.keys()
    }

    /// The records stored at exactly `name` (no CNAME following, no wildcard).
    pub fn records_at(&self, name: &Name) -> Vec<Record> {
        self.entries.get(name).map_or_else(Vec::new, |e| {
            e.records
                .iter()
                .map(|(ttl, data)| Record {
                    name: name.clone(),
                    ttl: *ttl,
                    data: data.clone(),
                })
                .collect()
        })
    }

    /// The failure markers stored at exactly `name`: the kind and, when the marker is limited,
    /// the types it applies to (`None`: every type without records). NXDOMAIN and NODATA
    /// markers are not listed.
    pub fn failures_at(&self, name: &Name) -> Vec<(FailureKind, Option<Vec<RecordType>>)> {
        self.entries.get(name).map_or_else(Vec::new, |e| {
            e.rules
                .iter()
                .filter_map(|r| match r.outcome {
                    Outcome::Failed(kind) => Some((kind, r.only.clone())),
                    Outcome::NxDomain | Outcome::NoData => None,
                })
                .collect()
        })
    }

    /// Finds the entry answering for `name`: the name itself, or a wildcard.
    fn lookup_entry(&self, name: &Name) -> Option<(&Entry, bool)> {
        if let Some(e) = self.entries.get(name) {
            return Some((e, true));
        }
        if self.existing.contains(name) {
            return None;
        }
        let mut ancestor = name.parent();
        while let Some(a) = ancestor {
            if let Ok(wild) = a.prepend("*")
                && let Some(e) = self.entries.get(&wild)
            {
                return Some((e, true));
            }
            if self.existing.contains(&a) {
                return None;
            }
            ancestor = a.parent();
        }
        None
    }

    /// Answers a query.
    pub fn answer(&self, query: &Query) -> Answer {
        let mut chain: Vec<Record> = Vec::new();
        let mut name = query.name.clone();
        for _ in 0..=MAX_CNAME_CHAIN {
            let Some((entry, _)) = self.lookup_entry(&name) else {
                if self.existing.contains(&name) {
                    return if chain.is_empty() {
                        Answer::NoData
                    } else {
                        Answer::Records(chain.into())
                    };
                }
                return Answer::NxDomain;
            };
            let matching: Vec<Record> = entry
                .records
                .iter()
                .filter(|(_, d)| d.rtype() == query.rtype)
                .map(|(ttl, d)| Record {
                    name: name.clone(),
                    ttl: *ttl,
                    data: d.clone(),
                })
                .collect();
            if !matching.is_empty() {
                chain.extend(matching);
                return Answer::Records(chain.into());
            }
            let rule = entry.rules.iter().find(|rule| match &rule.only {
                None => true,
                Some(types) => types.contains(&query.rtype),
            });
            match rule.map(|r| r.outcome) {
                Some(Outcome::Failed(kind)) => return Answer::Failed(kind),
                Some(Outcome::NxDomain) => return Answer::NxDomain,
                Some(Outcome::NoData) => {
                    return if chain.is_empty() {
                        Answer::NoData
                    } else {
                        Answer::Records(chain.into())
                    };
                }
                None => {}
            }
            if query.rtype != RecordType::Cname
                && let Some((ttl, RData::Cname(target))) = entry
                    .records
                    .iter()
                    .find(|(_, d)| d.rtype() == RecordType::Cname)
            {
                chain.push(Record {
                    name: name.clone(),
                    ttl: *ttl,
                    data: RData::Cname(target.clone()),
                });
                name = target.clone();
                continue;
            }
            return if chain.is_empty() {
                Answer::NoData
            } else {
                Answer::Records(chain.into())
            };
        }
        Answer::Failed(FailureKind::ServFail)
    }
}

impl Source for Zone {
    fn answer(&self, query: &Query) -> Answer {
        Zone::answer(self, query)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::net::Ipv4Addr;

    fn n(s: &str) -> Name {
        Name::parse(s).unwrap()
    }

    #[test]
    fn merge_is_adding_one_by_one() {
        let a1 = RData::A(Ipv4Addr::new(192, 0, 2, 1));
        let a2 = RData::A(Ipv4Addr::new(192, 0, 2, 2));
        let mut left = Zone::new();
        left.insert(&n("a.example.com"), 60, a1.clone());
        left.fail_type(&n("a.example.com"), RecordType::Txt, FailureKind::Timeout);
        left.add_name(&n("empty.example.org"));
        let mut right = Zone::new();
        right.insert(&n("a.example.com"), 30, a1.clone());
        right.insert(&n("a.example.com"), 30, a2.clone());
        right.nxdomain(&n("a.example.com"));
        right.insert(&n("x.y.example.net"), 10, a2.clone());
        right.fail(&n("slow.example.com"), FailureKind::ServFail);
        let mut one_by_one = left.clone();
        one_by_one.insert(&n("a.example.com"), 30, a1);
        one_by_one.insert(&n("a.example.com"), 30, a2.clone());
        one_by_one.nxdomain(&n("a.example.com"));
        one_by_one.insert(&n("x.y.example.net"), 10, a2);
        one_by_one.fail(&n("slow.example.com"), FailureKind::ServFail);
        let mut merged = left;
        merged.merge(right);
        assert_eq!(merged, one_by_one);
        assert_eq!(
            merged.answer(&Query::new(n("y.example.net"), RecordType::A)),
            Answer::NoData
        );
    }

    #[test]
    fn nxdomain_nodata_records() {
        let mut z = Zone::new();
        z.add(&n("a.example.com"), RData::A(Ipv4Addr::new(192, 0, 2, 1)));
        assert!(matches!(
            z.answer(&Query::new(n("A.example.com."), RecordType::A)),
            Answer::Records(r) if r.len() == 1
        ));
        assert_eq!(
            z.answer(&Query::new(n("a.example.com"), RecordType::Txt)),
            Answer::NoData
        );
        assert_eq!(
            z.answer(&Query::new(n("b.example.com"), RecordType::A)),
            Answer::NxDomain
        );
        // empty non-terminal
        assert_eq!(
            z.answer(&Query::new(n("example.com"), RecordType::A)),
            Answer::NoData
        );
    }

    #[test]
    fn failure_markers() {
        let mut z = Zone::new();
        z.add_txt(&n("t.example"), ["v=spf1 -all"]);
        z.fail(&n("t.example"), FailureKind::Timeout);
        z.fail_type(&n("s.example"), RecordType::Mx, FailureKind::ServFail);
        assert!(matches!(
            z.answer(&Query::txt(n("t.example"))),
            Answer::Records(_)
        ));
        assert_eq!(
            z.answer(&Query::new(n("t.example"), RecordType::A)),
            Answer::Failed(FailureKind::Timeout)
        );
        assert_eq!(
            z.answer(&Query::new(n("s.example"), RecordType::Mx)),
            Answer::Failed(FailureKind::ServFail)
        );
        assert_eq!(
            z.answer(&Query::new(n("s.example"), RecordType::A)),
            Answer::NoData
        );
    }

    #[test]
    fn nxdomain_nodata_markers_and_empty_names() {
        let mut z = Zone::new();
        z.add_txt(&n("sub.parent.example"), ["x"]);
        z.nxdomain(&n("parent.example"));
        assert_eq!(z.answer(&Query::txt(n("parent.example"))), Answer::NxDomain);
        z.add(&n("alias.example"), RData::Cname(n("sub.parent.example")));
        z.nodata_type(&n("alias.example"), RecordType::Txt);
        z.nxdomain_type(&n("alias.example"), RecordType::A);
        assert_eq!(z.answer(&Query::txt(n("alias.example"))), Answer::NoData);
        assert_eq!(
            z.answer(&Query::new(n("alias.example"), RecordType::A)),
            Answer::NxDomain
        );
        assert_eq!(
            z.answer(&Query::new(n("alias.example"), RecordType::Cname))
                .records()
                .len(),
            1
        );
        z.add_name(&n("empty.example"));
        assert_eq!(z.answer(&Query::txt(n("empty.example"))), Answer::NoData);
        assert!(z.failures_at(&n("parent.example")).is_empty());
        assert!(z.names().any(|x| x == &n("empty.example")));
    }

    #[test]
    fn cname_chains_and_loops() {
        let mut z = Zone::new();
        z.add(&n("alias.example"), RData::Cname(n("target.example")));
        z.add(&n("target.example"), RData::A(Ipv4Addr::LOCALHOST));
        let a = z.answer(&Query::new(n("alias.example"), RecordType::A));
        assert_eq!(a.records().len(), 2);
        assert_eq!(a.data_of(RecordType::A).count(), 1);
        assert!(matches!(
            z.answer(&Query::new(n("alias.example"), RecordType::Cname)),
            Answer::Records(r) if r.len() == 1
        ));
        z.add(&n("loop1.example"), RData::Cname(n("loop2.example")));
        z.add(&n("loop2.example"), RData::Cname(n("loop1.example")));
        assert_eq!(
            z.answer(&Query::new(n("loop1.example"), RecordType::A)),
            Answer::Failed(FailureKind::ServFail)
        );
        z.add(&n("dangling.example"), RData::Cname(n("gone.example")));
        assert_eq!(
            z.answer(&Query::new(n("dangling.example"), RecordType::A)),
            Answer::NxDomain
        );
    }

    #[test]
    fn wildcards() {
        let mut z = Zone::new();
        z.add_txt(&n("*.example"), ["wild"]);
        z.add_txt(&n("exact.example"), ["exact"]);
        let a = z.answer(&Query::txt(n("foo.bar.example")));
        assert_eq!(a.txts().next().unwrap().joined(), b"wild");
        let a = z.answer(&Query::txt(n("exact.example")));
        assert_eq!(a.txts().next().unwrap().joined(), b"exact");
    }
}
