//! Verification of external report destinations (RFC 9990 §4 for `rua`, RFC 9991 §5 for `ruf`;
//! RFC 9989 §11.6), as a sans-I/O machine.

use crate::discovery::{Discovery, PolicyDiscovery, PolicySource, TraceEntry};
use crate::record::{Record, ReportUri};
use crate::result::Stage;
use crate::walk::{Walk, WalkSet};
use mailstamp_dns::{Answer, FailureKind, Lookup, Name, Query, Step};
use serde::Serialize;
use std::fmt;

/// The label sequence between the policy domain and the destination host.
pub const REPORT_LABELS: &str = "_report._dmarc";

/// Which report a URI is for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum ReportKind {
    /// Aggregate reports (`rua`, RFC 9990).
    Aggregate,
    /// Failure reports (`ruf`, RFC 9991).
    Failure,
}

impl ReportKind {
    /// The tag: `rua` or `ruf`.
    pub fn tag(self) -> &'static str {
        match self {
            ReportKind::Aggregate => "rua",
            ReportKind::Failure => "ruf",
        }
    }
}

impl fmt::Display for ReportKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.tag())
    }
}

/// The outcome of the check for one URI.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case", tag = "status")]
#[non_exhaustive]
pub enum DestinationStatus {
    /// The destination has the same Organizational Domain as the policy: no check is needed.
    Internal,
    /// The destination published an authorising record (RFC 9990 §4, step 7).
    Authorized {
        /// URIs of the same destination host that replace the original (step 8); empty when
        /// the original stands.
        overrides: Vec<ReportUri>,
    },
    /// No authorising record: the URI MUST be ignored (RFC 9990 §4).
    NotAuthorized,
    /// The authorising record overrides the URI with one for another host: no report may go to
    /// either URI (RFC 9990 §4).
    OverrideToOtherHost {
        /// The other host.
        #[serde(serialize_with = "crate::ser::name")]
        host: Name,
    },
    /// `<policy domain>._report._dmarc.<host>` exceeds the DNS limits: not authorized.
    NameTooLong,
    /// A DNS query failed; the receiver MAY defer and try again (RFC 9990 §4, step 4).
    TempError {
        /// The name queried.
        #[serde(serialize_with = "crate::ser::name")]
        name: Name,
        /// How it failed.
        #[serde(serialize_with = "crate::ser::failure")]
        kind: FailureKind,
    },
    /// The URI names no domain (an IP literal, or a scheme without a host): it cannot be
    /// checked, nor used.
    NoDestination,
}

impl DestinationStatus {
    /// True when reports may be sent (to the original URI or its overrides).
    pub fn allows_reports(&self) -> bool {
        matches!(
            self,
            DestinationStatus::Internal | DestinationStatus::Authorized { .. }
        )
    }
}

/// One reporting URI and the verdict on it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct DestinationCheck {
    /// `rua` or `ruf`.
    pub kind: ReportKind,
    /// The URI as published.
    pub uri: ReportUri,
    /// The destination's Organizational Domain, when determined.
    #[serde(serialize_with = "crate::ser::opt_name")]
    pub destination_organizational_domain: Option<Name>,
    /// The authorisation name queried, for an external destination.
    #[serde(serialize_with = "crate::ser::opt_name")]
    pub authorization_name: Option<Name>,
    /// The verdict.
    #[serde(flatten)]
    pub status: DestinationStatus,
}

/// The checks of every `rua` and `ruf` URI of a policy.
#[derive(Debug, Clone, Serialize)]
pub struct ReportAuthorization {
    /// Where the policy record was found.
    #[serde(serialize_with = "crate::ser::name")]
    pub policy_domain: Name,
    /// The Organizational Domain of the policy domain; `None` when it could not be determined.
    #[serde(serialize_with = "crate::ser::opt_name")]
    pub organizational_domain: Option<Name>,
    /// One check per URI, `rua` first.
    pub checks: Vec<DestinationCheck>,
    /// Tree walks done for Organizational Domains.
    pub walks: Vec<Walk>,
    /// Every query, in order.
    pub trace: Vec<TraceEntry>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Phase {
    /// A walk for the policy domain's Organizational Domain.
    PolicyWalk,
    /// Walks for the destinations' Organizational Domains.
    DestinationWalks,
    /// The authorisation records.
    Authorize,
}

/// A report destination check waiting for DNS answers.
#[derive(Debug)]
pub struct AuthorizingReports {
    policy_domain: Name,
    policy_org: Option<Name>,
    discovery: Discovery,
    uris: Vec<(ReportKind, ReportUri)>,
    walks: WalkSet,
    finished_walks: Vec<Walk>,
    /// Answers to authorisation queries, by name.
    answers: Vec<(Name, Answer)>,
    trace: Vec<TraceEntry>,
    queries: Vec<Query>,
    phase: Phase,
}

/// Checks every `rua` and `ruf` URI of a discovered policy (RFC 9990 §4, RFC 9991 §5).
///
/// A destination whose Organizational Domain differs from the policy's must publish a TXT record
/// beginning with `v=DMARC1` at `<policy domain>._report._dmarc.<destination host>`; a `rua` or
/// `ruf` in that record replaces the URI if it names the same host. With no policy the result
/// has no checks.
///
/// ```
/// use mailstamp_dmarc::{authorize_reports, discover, DestinationStatus, Discovery};
/// use mailstamp_dns::{resolve_sync, Name, Zone};
///
/// let mut zone = Zone::new();
/// zone.add_txt(
///     &Name::parse("_dmarc.example.com")?,
///     ["v=DMARC1; p=none; rua=mailto:d@example.com,mailto:r@reports.test"],
/// );
/// zone.add_txt(&Name::parse("example.com._report._dmarc.reports.test")?, ["v=DMARC1;"]);
/// let found = resolve_sync(discover(Name::parse("example.com")?, Discovery::TreeWalk), &zone);
/// let checks = resolve_sync(authorize_reports(&found), &zone).checks;
/// assert_eq!(checks[0].status, DestinationStatus::Internal);
/// assert!(matches!(checks[1].status, DestinationStatus::Authorized { .. }));
/// # Ok::<(), mailstamp_dns::NameError>(())
/// ```
pub fn authorize_reports(
    policy: &PolicyDiscovery,
) -> Step<AuthorizingReports, ReportAuthorization> {
    let Some(found) = &policy.policy else {
        return Step::Done(ReportAuthorization {
            policy_domain: policy.author_domain.clone(),
            organizational_domain: policy.organizational_domain.clone(),
            checks: Vec::new(),
            walks: Vec::new(),
            trace: Vec::new(),
        });
    };
    let record: &Record = &found.record;
    let uris: Vec<(ReportKind, ReportUri)> = record
        .aggregate_report_uris()
        .iter()
        .map(|u| (ReportKind::Aggregate, u.clone()))
        .chain(
            record
                .failure_report_uris()
                .iter()
                .map(|u| (ReportKind::Failure, u.clone())),
        )
        .collect();
    let discovery = policy.discovery().clone();
    // The Organizational Domain "at which that record was discovered": for the record of an
    // Organizational Domain or a PSD, that domain itself (a walk from it ends on it); for the
    // Author Domain's own record, the Author Domain's Organizational Domain.
    let policy_org = match (&discovery, found.source) {
        (Discovery::Psl(list), _) => Some(list.organizational_domain(&found.domain)),
        (Discovery::TreeWalk, PolicySource::AuthorDomain) => policy.organizational_domain.clone(),
        (Discovery::TreeWalk, _) => Some(found.domain.clone()),
    };
    let mut walks = WalkSet::default();
    walks.seed(&policy.walk);
    let phase = if policy_org.is_none() && !uris.is_empty() {
        walks.add(&found.domain);
        Phase::PolicyWalk
    } else {
        Phase::DestinationWalks
    };
    let mut machine = AuthorizingReports {
        policy_domain: found.domain.clone(),
        policy_org,
        discovery,
        uris,
        walks,
        finished_walks: Vec::new(),
        answers: Vec::new(),
        trace: Vec::new(),
        queries: Vec::new(),
        phase,
    };
    if machine.phase == Phase::DestinationWalks {
        machine.plan_destination_walks();
    }
    machine.step()
}

/// `<policy domain>._report._dmarc.<host>`, if it fits the DNS limits.
pub fn authorization_name(policy_domain: &Name, host: &Name) -> Option<Name> {
    Name::parse(&format!("{policy_domain}.{REPORT_LABELS}.{host}")).ok()
}

impl AuthorizingReports {
    /// The destination hosts whose Organizational Domain needs a tree walk.
    fn plan_destination_walks(&mut self) {
        let (Discovery::TreeWalk, Some(org)) = (&self.discovery, &self.policy_org) else {
            return;
        };
        for (_, uri) in &self.uris {
            if let Some(host) = &uri.destination
                && host != org
                && host.is_subdomain_of(org)
            {
                self.walks.add(host);
            }
        }
    }

    fn destination_org(&self, host: &Name, walks: &[Walk]) -> Option<Name> {
        match &self.discovery {
            Discovery::Psl(list) => Some(list.organizational_domain(host)),
            Discovery::TreeWalk => {
                let org = self.policy_org.as_ref()?;
                if host == org || !host.is_subdomain_of(org) {
                    // A domain outside `org` has an Organizational Domain that is a suffix of
                    // itself; only `org` itself maps to `org` without a walk.
                    return (host == org).then(|| org.clone());
                }
                walks
                    .iter()
                    .find(|w| &w.start == host)
                    .and_then(Walk::organizational_domain)
            }
        }
    }

    /// Moves the finished walks out of the set, keeping their answers for the next walks.
    fn harvest_walks(&mut self) {
        let walks = std::mem::take(&mut self.walks).finish();
        let mut set = WalkSet::default();
        for w in self.finished_walks.iter().chain(walks.iter()) {
            set.seed(w);
        }
        self.walks = set;
        self.finished_walks.extend(walks);
    }

    /// The external destinations: (index of the URI, host, authorisation name).
    fn externals(&self) -> Vec<(usize, Name, Option<Name>)> {
        let mut out = Vec::new();
        for (i, (_, uri)) in self.uris.iter().enumerate() {
            let Some(host) = &uri.destination else {
                continue;
            };
            let org = self.destination_org(host, &self.finished_walks);
            if org.is_some() && org == self.policy_org {
                continue;
            }
            out.push((
                i,
                host.clone(),
                authorization_name(&self.policy_domain, host),
            ));
        }
        out
    }

    fn step(mut self) -> Step<AuthorizingReports, ReportAuthorization> {
        loop {
            match self.phase {
                Phase::PolicyWalk | Phase::DestinationWalks => {
                    let queries = self.walks.queries();
                    if !queries.is_empty() {
                        self.queries = queries;
                        return Step::Lookup(self);
                    }
                    self.harvest_walks();
                    if self.phase == Phase::PolicyWalk {
                        self.policy_org = self
                            .finished_walks
                            .iter()
                            .find(|w| w.start == self.policy_domain)
                            .and_then(Walk::organizational_domain);
                        self.phase = Phase::DestinationWalks;
                        self.plan_destination_walks();
                    } else {
                        self.phase = Phase::Authorize;
                    }
                }
                Phase::Authorize => {
                    let mut queries: Vec<Query> = Vec::new();
                    for (_, _, name) in self.externals() {
                        if let Some(name) = name
                            && !self.answers.iter().any(|(n, _)| *n == name)
                            && !queries.iter().any(|q| q.name == name)
                        {
                            queries.push(Query::txt(name));
                        }
                    }
                    if !queries.is_empty() {
                        self.queries = queries;
                        return Step::Lookup(self);
                    }
                    return Step::Done(self.finish());
                }
            }
        }
    }

    fn finish(self) -> ReportAuthorization {
        let externals = self.externals();
        let mut checks = Vec::with_capacity(self.uris.len());
        for (i, (kind, uri)) in self.uris.iter().enumerate() {
            let destination_organizational_domain = uri
                .destination
                .as_ref()
                .and_then(|h| self.destination_org(h, &self.finished_walks));
            let external = externals.iter().find(|(idx, _, _)| *idx == i);
            let (authorization_name, status) = match (&uri.destination, external) {
                (None, _) => (None, DestinationStatus::NoDestination),
                (Some(_), None) => (None, DestinationStatus::Internal),
                (Some(_), Some((_, _, None))) => (None, DestinationStatus::NameTooLong),
                (Some(host), Some((_, _, Some(name)))) => {
                    let answer = self.answers.iter().find(|(n, _)| n == name).map(|(_, a)| a);
                    (
                        Some(name.clone()),
                        authorization_status(*kind, host, name, answer),
                    )
                }
            };
            checks.push(DestinationCheck {
                kind: *kind,
                uri: uri.clone(),
                destination_organizational_domain,
                authorization_name,
                status,
            });
        }
        ReportAuthorization {
            policy_domain: self.policy_domain,
            organizational_domain: self.policy_org,
            checks,
            walks: self.finished_walks,
            trace: self.trace,
        }
    }
}

/// Steps 5-8 of RFC 9990 §4 for one answer.
fn authorization_status(
    kind: ReportKind,
    host: &Name,
    name: &Name,
    answer: Option<&Answer>,
) -> DestinationStatus {
    let answer = match answer {
        Some(Answer::Failed(kind)) => {
            return DestinationStatus::TempError {
                name: name.clone(),
                kind: *kind,
            };
        }
        Some(a) => a,
        None => {
            return DestinationStatus::TempError {
                name: name.clone(),
                kind: FailureKind::Other,
            };
        }
    };
    // Records that parse as a tag list beginning with v=DMARC1; the first one may override.
    let Some(record) = answer.txts().find_map(|t| Record::parse(&t.joined()).ok()) else {
        return DestinationStatus::NotAuthorized;
    };
    let overrides = match kind {
        ReportKind::Aggregate => record.aggregate_report_uris(),
        ReportKind::Failure => record.failure_report_uris(),
    };
    for o in &overrides {
        match &o.destination {
            Some(h) if h == host => {}
            Some(h) => {
                return DestinationStatus::OverrideToOtherHost { host: h.clone() };
            }
            None => return DestinationStatus::NotAuthorized,
        }
    }
    DestinationStatus::Authorized { overrides }
}

impl Lookup for AuthorizingReports {
    type Output = ReportAuthorization;

    fn queries(&self) -> &[Query] {
        &self.queries
    }

    fn resume(mut self, answers: Vec<Answer>) -> Step<Self, ReportAuthorization> {
        let queries = std::mem::take(&mut self.queries);
        let mut answers = answers.into_iter();
        for query in queries {
            let answer = answers.next().unwrap_or(Answer::Failed(FailureKind::Other));
            let stage = match self.phase {
                Phase::Authorize => {
                    self.answers.push((query.name.clone(), answer.clone()));
                    Stage::ReportAuthorization
                }
                Phase::PolicyWalk | Phase::DestinationWalks => {
                    self.walks.answer(&query.name, &answer);
                    Stage::OrganizationalDomain
                }
            };
            self.trace.push(TraceEntry {
                stage,
                query,
                answer,
            });
        }
        self.step()
    }
}
