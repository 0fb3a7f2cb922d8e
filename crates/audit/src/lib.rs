//! mailstamp-audit: what a domain publishes, checked, and what it should publish, built.
//!
//! Two jobs that share one set of checks:
//!
//! * [`audit()`]: looks up a domain's SPF, DMARC, DKIM and MX records through a
//!   [`mailstamp::Resolver`] and reports every problem as a [`Finding`];
//! * [`records`]: builds the SPF, DMARC and DKIM records to publish from a plan and validates them
//!   with the same checks, as if they were already published.
//!
//! It does **not** print anything (the `mailstamp audit` and `mailstamp records` commands render
//! the reports), and it is not needed by a mail system that only verifies or signs mail: the
//! receiving library `mailstamp` does not depend on it.
//!
//! # The audit
//!
//! Auditing what a domain publishes: SPF, DMARC, DKIM keys and MX records, each problem a
//! [`Finding`] with a severity, a stable [`Code`], the RFC section and the fix.
//!
//! [`audit`] looks everything up through a [`Resolver`] (so `--zone` fixtures and the live
//! DNS behave the same) and checks:
//!
//! * **SPF** (RFC 7208): the record's syntax, duplicates, `ptr`, `+all`, terms after `all`, an
//!   ignored `redirect`, a missing `all`, records over [`SPF_RECORD_SIZE_LIMIT`] bytes, and
//!   the worst-case lookup and void-lookup counts. The counts come from a real `check_host()`
//!   evaluation with tracing on, for a client address no record lists ([`SPF_PROBE_IP`],
//!   reserved by RFC 1112 §4), so every term is evaluated as for a sender that matches
//!   nothing; the void-lookup limit is lifted during it so that all void lookups are counted.
//!   The trace is kept ([`SpfAudit::trace`], the same events as `mailstamp spf --trace`) and
//!   summed per branch ([`SpfBranch`]). Include and redirect targets the evaluation did not
//!   reach (it stops at the first permanent error) are then fetched and checked one by one, so
//!   every include target without a record is reported.
//! * **DMARC** (RFC 9989): discovery by DNS tree walk, invalid and duplicate records on the
//!   way, what happens when the legacy RFC 7489 Public Suffix List method is used instead, the
//!   record's tags (removed `pct`/`rf`/`ri`, invalid values, ...), policy strength, testing
//!   mode, and the authorisation of external `rua`/`ruf` destinations (RFC 9990 §4, RFC 9991
//!   §5).
//! * **DKIM** (RFC 6376, RFC 8301, RFC 8463): the selectors given, and a probe of
//!   [`COMMON_SELECTORS`]: key type and size, revoked keys, `t=y`, `h=` without sha256,
//!   `s=` without email, and a domain with Ed25519 keys only.
//! * **MX** (RFC 5321 §5.1, RFC 7505): presence, null MX, MX hosts that are aliases, IP
//!   literals or have no address.
//!
//! # DNS failures
//!
//! A failed lookup (timeout, SERVFAIL, ...) never passes for an answer. Everything that could
//! be checked is still checked and reported; each failed lookup becomes a finding of its area
//! (`spf-dns-failure`, `dmarc-dns-failure`, `dkim-dns-failure`, `mx-dns-failure`, severity
//! error) and an entry of [`AuditReport::dns_failures`]. A report with any DNS failure is
//! incomplete ([`AuditReport::is_complete`]): the `mailstamp audit` command exits with 3 then,
//! whatever else it found, because running it again may give another answer. That includes
//! failures of probes of common DKIM selectors.
//!
//! This module does no output formatting; the `mailstamp` command renders [`AuditReport`]
//! for people or as JSON.
//!
//! ```
//! use mailstamp_audit::{AuditOptions, Code, audit, parse_domain};
//! use mailstamp::Resolver;
//! use mailstamp_fixture as fixture;
//!
//! let zone = fixture::parse_zone_str(
//!     "$ORIGIN example.com.\n$TTL 300\n\
//!      @      IN TXT \"v=spf1 ptr -all\"\n\
//!      @      IN MX  10 mail\n\
//!      mail   IN A   192.0.2.25\n\
//!      _dmarc IN TXT \"v=DMARC1; p=reject; rua=mailto:d@example.com\"\n",
//!     "inline.zone",
//! )?;
//! let resolver = Resolver::offline(zone);
//! let domain = parse_domain("Example.COM")?;
//! let runtime = tokio::runtime::Builder::new_current_thread().build()?;
//! let report = runtime.block_on(audit(&resolver, &domain.name, &AuditOptions::default()))?;
//! assert!(report.is_complete());
//! assert!(report.findings.iter().any(|f| f.code == Code::SpfPtr));
//! assert_eq!(report.spf.lookups, 1);
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

#![forbid(unsafe_code)]
#![warn(missing_docs)]

mod finding;
mod lint;
pub mod records;
mod spf_tree;
#[cfg(test)]
mod tests;

pub use finding::{Area, Code, Finding, Severity, UnknownSeverity};
pub use lint::{
    SPF_RECORD_SIZE_LIMIT, SpfPlace, is_ip_literal, lint_dkim_key, lint_dmarc_record,
    lint_mx_answer, lint_mx_target, lint_spf_record, mx_hosts,
};
pub use spf_tree::{SpfBranch, branches, is_dns_term};

use mailstamp::Resolver;
use mailstamp_dkim::{KeyCheck, KeyRecord, check_key, key_record_name};
use mailstamp_dmarc::{
    DestinationStatus, Discovery, Finding as WalkFinding, NoRecord, PolicyDiscovery, PolicySource,
    PublicSuffixList, Record as DmarcRecord, ReportAuthorization, ReportKind, authorize_reports,
    discover,
};
use mailstamp_dns::{
    Answer, FailureKind, Lookup, Name, NameError, Query, RData, Record, RecordType, Step, Txt,
};
use mailstamp_spf::{
    MAX_VOID_LOOKUPS, Mechanism, Options, Record as SpfRecord, Request, SpfProblem, SpfResult,
    SpfVerdict, TraceEvent, check_host, is_spf_record,
};
use serde::{Serialize, Serializer};
use std::collections::HashSet;
use std::net::{IpAddr, Ipv4Addr};
use std::sync::Arc;

/// The selector names an audit probes when no `--selector` is given (and besides those that
/// are): names that mail providers and signing software use by default.
///
/// `default` (OpenDKIM, many hosting panels), `dkim`, `mail`, `email`, `smtp`, `key1`,
/// `key2`, `s1` and `s2` (SendGrid and others), `k1`, `k2` and `k3` (Mailchimp/Mandrill,
/// Klaviyo), `selector1` and `selector2` (Microsoft 365), `google` (Google Workspace), `mx`,
/// `mandrill`, `everlytickey1`/`everlytickey2` (Everlytic), `mxvault`, `zendesk1`/`zendesk2`,
/// `sig1` (iCloud custom domains), `protonmail`, `protonmail2`, `protonmail3` (Proton Mail),
/// `fm1`, `fm2`, `fm3` (Fastmail), `dkim1`, `dkim2`, `2024` and `2025`.
/// Selectors are free-form (RFC 6376 §3.1): no list finds every key.
pub const COMMON_SELECTORS: &[&str] = &[
    "default",
    "dkim",
    "mail",
    "email",
    "smtp",
    "key1",
    "key2",
    "s1",
    "s2",
    "k1",
    "k2",
    "k3",
    "selector1",
    "selector2",
    "google",
    "mx",
    "mandrill",
    "everlytickey1",
    "everlytickey2",
    "mxvault",
    "zendesk1",
    "zendesk2",
    "sig1",
    "protonmail",
    "protonmail2",
    "protonmail3",
    "fm1",
    "fm2",
    "fm3",
    "dkim1",
    "dkim2",
    "2024",
    "2025",
];

/// The client address of the SPF worst-case evaluation: `240.0.0.1`, in the block RFC 1112 §4
/// reserves for future use, which no SPF record lists, so every term is evaluated.
pub const SPF_PROBE_IP: Ipv4Addr = Ipv4Addr::new(240, 0, 0, 1);

/// Most MX hosts whose addresses are checked.
pub const MAX_MX_HOSTS_CHECKED: usize = 16;

/// Most SPF records fetched beyond those the evaluation reached (include and redirect
/// targets after a permanent error), and how deep that walk goes.
const MAX_UNREACHED_RECORDS: usize = 32;
const MAX_UNREACHED_DEPTH: usize = 10;

/// Why a domain (or selector) given to `audit` or `records` is not usable.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum InputError {
    /// An IP address where a domain name belongs (`192.0.2.1`, `[2001:db8::1]`).
    #[error("{input:?} is an IP address literal, not a domain name")]
    IpLiteral {
        /// The input.
        input: String,
    },
    /// Not a DNS name at all (empty, empty label, too long, bad characters, IDNA failure;
    /// RFC 1035 §2.3.4, RFC 5891).
    #[error("{input:?} is not a valid domain name: {error}")]
    Name {
        /// The input.
        input: String,
        /// What is wrong.
        error: NameError,
    },
    /// A label that is not a host-name label: letters, digits and hyphens, not beginning or
    /// ending with a hyphen (RFC 5321 §4.1.2, RFC 1123 §2.1), or an `xn--` label that is not
    /// valid Punycode (RFC 5891 §4.4).
    #[error("invalid label {label:?} at byte {offset} of {name}: {reason}")]
    InvalidLabel {
        /// The name, in A-label form.
        name: String,
        /// The label.
        label: String,
        /// Byte offset of the label in the A-label form.
        offset: usize,
        /// What is wrong with it.
        reason: &'static str,
    },
    /// A single-label name (a top-level domain or a local host name) is not a mail domain
    /// (RFC 7208 §4.3 calls it malformed).
    #[error("{name:?} has a single label: a mail domain has at least two (like example.com)")]
    SingleLabel {
        /// The name.
        name: String,
    },
    /// The top-level label is all digits, which no top-level domain is (RFC 3696 §2).
    #[error("{name:?} ends in an all-numeric label: no top-level domain is numeric")]
    NumericTld {
        /// The name.
        name: String,
    },
    /// A DKIM selector that does not make a valid key record name (RFC 6376 §3.1).
    #[error("invalid DKIM selector {selector:?}: {reason}")]
    InvalidSelector {
        /// The selector.
        selector: String,
        /// What is wrong.
        reason: String,
    },
}

/// A domain name as the user typed it, and as it is looked up.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DomainInput {
    /// What was given.
    pub input: String,
    /// The normalised name: lower case, A-labels, no trailing dot.
    pub name: Name,
    /// True when U-labels (non-ASCII) were converted to A-labels (UTS #46, RFC 5891).
    pub converted: bool,
}

/// Parses a mail domain given on the command line: refuses IP literals, names that are too
/// long or have invalid labels, single labels and numeric top-level labels; converts
/// U-labels to A-labels rather than refusing them.
///
/// ```
/// use mailstamp_audit::{InputError, parse_domain};
///
/// let d = parse_domain("Bücher.Example.")?;
/// assert_eq!((d.name.as_str(), d.converted), ("xn--bcher-kva.example", true));
/// assert!(matches!(parse_domain("192.0.2.1"), Err(InputError::IpLiteral { .. })));
/// assert!(matches!(parse_domain("exa_mple.com"), Err(InputError::InvalidLabel { .. })));
/// # Ok::<(), InputError>(())
/// ```
pub fn parse_domain(input: &str) -> Result<DomainInput, InputError> {
    let trimmed = input.trim();
    if is_ip_literal(trimmed) {
        return Err(InputError::IpLiteral {
            input: input.to_owned(),
        });
    }
    let name = Name::parse(trimmed).map_err(|error| InputError::Name {
        input: input.to_owned(),
        error,
    })?;
    let text = name.as_str();
    let mut offset = 0;
    for label in text.split('.') {
        let invalid = |reason| InputError::InvalidLabel {
            name: text.to_owned(),
            label: label.to_owned(),
            offset,
            reason,
        };
        if !label
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-')
        {
            return Err(invalid(
                "a host-name label has only letters, digits and hyphens (RFC 5321 §4.1.2)",
            ));
        }
        if label.starts_with('-') || label.ends_with('-') {
            return Err(invalid(
                "a host-name label does not begin or end with a hyphen (RFC 1123 §2.1)",
            ));
        }
        if label.starts_with("xn--") && idna::domain_to_unicode(label).1.is_err() {
            return Err(invalid(
                "an xn-- label must be valid Punycode of a U-label (RFC 5891 §4.4)",
            ));
        }
        offset += label.len() + 1;
    }
    if name.label_count() < 2 {
        return Err(InputError::SingleLabel {
            name: text.to_owned(),
        });
    }
    if name
        .labels()
        .next_back()
        .is_some_and(|tld| tld.bytes().all(|b| b.is_ascii_digit()))
    {
        return Err(InputError::NumericTld {
            name: text.to_owned(),
        });
    }
    Ok(DomainInput {
        input: input.to_owned(),
        name,
        converted: !trimmed.is_ascii(),
    })
}

/// The key record name of `selector` at `domain` (RFC 6376 §3.6.2.1), or why there is none.
pub fn selector_name(selector: &str, domain: &Name) -> Result<Name, InputError> {
    key_record_name(selector, domain.as_str()).map_err(|e| InputError::InvalidSelector {
        selector: selector.to_owned(),
        reason: e.to_string(),
    })
}

/// A lookup that failed, as reported.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize)]
pub struct DnsFailure {
    /// The query, as `name TYPE`.
    pub query: String,
    /// How it failed: `timeout`, `servfail`, `refused` or `other`.
    pub failure: &'static str,
}

/// Findings and failed lookups, collected as a check goes.
#[derive(Debug, Default)]
pub(crate) struct Collector {
    pub(crate) findings: Vec<Finding>,
    pub(crate) failures: Vec<DnsFailure>,
}

impl Collector {
    fn push(&mut self, finding: Finding) {
        self.findings.push(finding);
    }

    fn extend(&mut self, findings: Vec<Finding>) {
        self.findings.extend(findings);
    }

    fn failed(&mut self, query: String, kind: FailureKind) {
        let f = DnsFailure {
            query,
            failure: kind.as_str(),
        };
        if !self.failures.contains(&f) {
            self.failures.push(f);
        }
    }

    pub(crate) fn merge(&mut self, other: Collector) {
        self.findings.extend(other.findings);
        for f in other.failures {
            if !self.failures.contains(&f) {
                self.failures.push(f);
            }
        }
    }
}

fn ser_name<S: Serializer>(name: &Name, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_str(name.as_str())
}

/// What the SPF part of an audit saw.
#[derive(Debug, Clone, Default, Serialize)]
pub struct SpfAudit {
    /// The `v=spf1` TXT records at the domain (joined strings), or the candidate record.
    pub records: Vec<String>,
    /// The result of the worst-case evaluation (for [`SPF_PROBE_IP`]); `None` when there was
    /// no single valid record to evaluate.
    pub result: Option<SpfResult>,
    /// Why the evaluation ended early, if it did (the `SpfProblem` text).
    pub problem: Option<String>,
    /// DNS-querying terms evaluated (RFC 7208 §4.6.4: at most 10).
    pub lookups: usize,
    /// Void lookups seen (RFC 7208 §4.6.4: at most 2).
    pub void_lookups: usize,
    /// True when the evaluation ran to the end, so the counts are the worst case; false when
    /// it stopped early (an error, or a `+all` in an include), so they are lower bounds.
    pub complete: bool,
    /// Lookups per record of the tree.
    pub branches: Vec<SpfBranch>,
    /// Include and redirect targets the evaluation did not reach, checked afterwards.
    pub unreached: Vec<String>,
    /// The evaluation, event by event (as `mailstamp spf --trace` shows it).
    pub trace: Vec<TraceEvent>,
}

/// What the DMARC part of an audit saw.
#[derive(Debug, Clone, Default, Serialize)]
pub struct DmarcAudit {
    /// Discovery by DNS tree walk (RFC 9989 §4.10.1).
    pub discovery: Option<PolicyDiscovery>,
    /// Discovery by the legacy RFC 7489 method with the compiled-in Public Suffix List.
    pub legacy: Option<PolicyDiscovery>,
    /// The check of every `rua`/`ruf` destination of the policy found.
    pub reports: Option<ReportAuthorization>,
}

/// One DKIM selector checked.
#[derive(Debug, Clone, Serialize)]
pub struct SelectorAudit {
    /// The selector.
    pub selector: String,
    /// True when it was given (`--selector`), false when it was found by the probe.
    pub given: bool,
    /// What was found at `<selector>._domainkey.<domain>`.
    pub check: KeyCheck,
}

/// What the DKIM part of an audit saw.
#[derive(Debug, Clone, Default, Serialize)]
pub struct DkimAudit {
    /// The selectors given and the probed ones that hold something.
    pub selectors: Vec<SelectorAudit>,
    /// The common selector names probed (see [`COMMON_SELECTORS`]).
    pub probed: Vec<String>,
}

/// One MX host.
#[derive(Debug, Clone, Serialize)]
pub struct MxHost {
    /// Its preference.
    pub preference: u16,
    /// The host; `None` for a null MX (RFC 7505).
    pub exchange: Option<String>,
    /// The canonical name, when the host is an alias.
    pub alias_of: Option<String>,
    /// Its addresses (A and AAAA).
    pub addresses: Vec<IpAddr>,
}

/// What the MX part of an audit saw.
#[derive(Debug, Clone, Default, Serialize)]
pub struct MxAudit {
    /// The answer to the MX query: `records`, `nxdomain`, `nodata` or `failed`.
    pub answer: String,
    /// The MX records, lowest preference first.
    pub hosts: Vec<MxHost>,
    /// Without MX records: the domain's own addresses (its implicit MX, RFC 5321 §5.1).
    pub implicit: Vec<IpAddr>,
}

/// Options of [`audit`].
#[derive(Debug, Clone)]
pub struct AuditOptions {
    /// DKIM selectors to check (a missing key is an error for these).
    pub selectors: Vec<String>,
    /// Also probe [`COMMON_SELECTORS`] (default true).
    pub probe_common_selectors: bool,
}

impl Default for AuditOptions {
    fn default() -> AuditOptions {
        AuditOptions {
            selectors: Vec::new(),
            probe_common_selectors: true,
        }
    }
}

/// Everything an audit found.
#[derive(Debug, Clone, Serialize)]
pub struct AuditReport {
    /// The domain audited (A-labels).
    #[serde(serialize_with = "ser_name")]
    pub domain: Name,
    /// The findings, grouped by area (SPF, DMARC, DKIM, MX), errors first within an area.
    pub findings: Vec<Finding>,
    /// Lookups that failed; the report is incomplete when there is any.
    pub dns_failures: Vec<DnsFailure>,
    /// SPF details.
    pub spf: SpfAudit,
    /// DMARC details.
    pub dmarc: DmarcAudit,
    /// DKIM details.
    pub dkim: DkimAudit,
    /// MX details.
    pub mx: MxAudit,
}

impl AuditReport {
    /// True when no lookup failed.
    pub fn is_complete(&self) -> bool {
        self.dns_failures.is_empty()
    }

    /// Number of findings of `severity`.
    pub fn count(&self, severity: Severity) -> usize {
        self.findings
            .iter()
            .filter(|f| f.severity == severity)
            .count()
    }

    /// The most serious severity found, if any finding was made.
    pub fn worst(&self) -> Option<Severity> {
        self.findings.iter().map(|f| f.severity).max()
    }

    /// The findings of one area.
    pub fn in_area(&self, area: Area) -> impl Iterator<Item = &Finding> {
        self.findings.iter().filter(move |f| f.area == area)
    }
}

/// Sorts findings by area, then errors before warnings before infos (stable otherwise).
pub(crate) fn sort_findings(findings: &mut [Finding]) {
    findings.sort_by_key(|f| (f.area, std::cmp::Reverse(f.severity)));
}

/// Audits `domain`: SPF, DMARC, DKIM and MX, looked up concurrently through `resolver`.
///
/// Fails only on bad input (a selector that makes no valid DNS name); everything the DNS says,
/// failures included, is in the report.
pub async fn audit(
    resolver: &Resolver,
    domain: &Name,
    options: &AuditOptions,
) -> Result<AuditReport, InputError> {
    let mut selectors: Vec<(String, Name, bool)> = Vec::new();
    for s in &options.selectors {
        let name = selector_name(s, domain)?;
        if !selectors.iter().any(|(_, n, _)| *n == name) {
            selectors.push((s.clone(), name, true));
        }
    }
    let mut probed = Vec::new();
    if options.probe_common_selectors {
        for s in COMMON_SELECTORS {
            // A domain too long for the key name cannot have such a key.
            if let Ok(name) = selector_name(s, domain)
                && !selectors.iter().any(|(_, n, _)| *n == name)
            {
                selectors.push(((*s).to_owned(), name, false));
                probed.push((*s).to_owned());
            }
        }
    }
    let ((spf, c_spf), (dmarc, c_dmarc), (mut dkim, c_dkim), (mx, c_mx)) = tokio::join!(
        check_spf(resolver, domain, None),
        check_dmarc(resolver, domain, None, true),
        check_dkim(resolver, domain, &selectors),
        check_mx(resolver, domain),
    );
    dkim.probed = probed;
    let mut all = Collector::default();
    for c in [c_spf, c_dmarc, c_dkim, c_mx] {
        all.merge(c);
    }
    sort_findings(&mut all.findings);
    Ok(AuditReport {
        domain: domain.clone(),
        findings: all.findings,
        dns_failures: all.failures,
        spf,
        dmarc,
        dkim,
        mx,
    })
}

// ------------------------------------------------------------------------------------------
// SPF

fn lossy(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

/// The `v=spf1` records of a TXT answer (joined strings).
fn spf_texts(answer: &Answer) -> Vec<String> {
    answer
        .txts()
        .map(Txt::joined)
        .filter(|t| is_spf_record(t))
        .map(|t| lossy(&t))
        .collect()
}

/// The worst-case evaluation: `check_host()` for [`SPF_PROBE_IP`], traced, with the void
/// lookup limit lifted so that every void lookup is counted.
pub(crate) async fn evaluate_spf(
    resolver: &Resolver,
    domain: &Name,
    candidate: Option<&str>,
) -> SpfVerdict {
    let request = Request::mail_from(
        IpAddr::V4(SPF_PROBE_IP),
        &format!("postmaster@{domain}"),
        domain.as_str(),
    );
    let mut options = Options::default()
        .with_trace(true)
        .with_void_lookup_limit(usize::MAX);
    if let Some(text) = candidate {
        options = options.with_candidate_record(text);
    }
    mailstamp::drive(check_host(&request, &options), resolver).await
}

/// The literal `include` targets and the effective `redirect` target of a record.
fn spf_targets(record: &SpfRecord) -> Vec<(Name, bool)> {
    let mut out: Vec<(Name, bool)> = record
        .directives()
        .iter()
        .filter_map(|d| match &d.mechanism {
            Mechanism::Include(spec) => spec.literal_name().map(|n| (n.clone(), true)),
            _ => None,
        })
        .collect();
    if !record.has_all()
        && let Some(name) = record.redirect().and_then(|r| r.literal_name())
    {
        out.push((name.clone(), false));
    }
    out
}

fn query_name(query: &str) -> &str {
    query.split(' ').next().unwrap_or(query)
}

/// Maps the problem that ended the evaluation to a finding; returns the name it is about.
fn spf_problem(c: &mut Collector, domain: &Name, problem: &SpfProblem) -> Option<String> {
    let d = domain.as_str();
    let (code, subject, message) = match problem {
        SpfProblem::TooManyLookups { limit, term } => (
            Code::SpfTooManyLookups,
            d.to_owned(),
            format!(
                "more than {limit} DNS-querying terms in the worst case: the evaluation reaches \
                 the limit at \"{term}\" and receivers return permerror"
            ),
        ),
        SpfProblem::TooManyVoidLookups { limit, term } => (
            Code::SpfTooManyVoidLookups,
            d.to_owned(),
            format!("more than {limit} void lookups (at \"{term}\"): receivers return permerror"),
        ),
        SpfProblem::IncludeNone { target } => (
            Code::SpfIncludeNoRecord,
            target.clone(),
            format!("include target {target} has no SPF record: receivers return permerror"),
        ),
        SpfProblem::RedirectNone { target } => (
            Code::SpfRedirectNoRecord,
            target.clone(),
            format!("redirect target {target} has no SPF record: receivers return permerror"),
        ),
        SpfProblem::MultipleRecords { domain, count } => (
            Code::SpfMultipleRecords,
            domain.clone(),
            format!("{domain} publishes {count} SPF records: receivers return permerror"),
        ),
        SpfProblem::Syntax { domain, error, .. } => (
            Code::SpfSyntax,
            domain.clone(),
            format!("the SPF record of {domain} is invalid: {error}"),
        ),
        SpfProblem::DnsFailure { query, failure } => {
            let kind = match failure.as_str() {
                "timeout" => FailureKind::Timeout,
                "servfail" => FailureKind::ServFail,
                "refused" => FailureKind::Refused,
                _ => FailureKind::Other,
            };
            c.failed(query.clone(), kind);
            (
                Code::SpfDnsFailure,
                query_name(query).to_owned(),
                format!("the lookup {query} failed ({failure}): receivers return temperror"),
            )
        }
        SpfProblem::TooManyMxNames {
            domain,
            count,
            limit,
        } => (
            Code::SpfTooManyMxNames,
            domain.clone(),
            format!("{domain} has {count} MX hosts; an mx term looks at {limit} at most"),
        ),
        SpfProblem::Loop { domain, term } => (
            Code::SpfLoop,
            domain.clone(),
            format!("\"{term}\" leads back to {domain}, which is being evaluated"),
        ),
        SpfProblem::NoRecord { domain } => (
            Code::SpfMissing,
            domain.clone(),
            format!("{domain} publishes no SPF record"),
        ),
        SpfProblem::TimeLimit { millis } => {
            c.failed(format!("{d} (SPF evaluation)"), FailureKind::Timeout);
            (
                Code::SpfDnsFailure,
                d.to_owned(),
                format!("the evaluation took longer than {millis} ms"),
            )
        }
        other => (
            Code::SpfEvaluationError,
            d.to_owned(),
            format!("{other} ({})", other.rfc_section()),
        ),
    };
    c.push(Finding::new(code, subject.clone(), message));
    Some(subject)
}

/// Checks the SPF record of `domain` (or `candidate`, the record about to be published).
pub(crate) async fn check_spf(
    resolver: &Resolver,
    domain: &Name,
    candidate: Option<&str>,
) -> (SpfAudit, Collector) {
    let mut c = Collector::default();
    let mut out = SpfAudit::default();
    let d = domain.as_str();
    let texts = match candidate {
        Some(text) => vec![text.to_owned()],
        None => {
            let q = Query::txt(domain.clone());
            let answer = resolver.answer(&q).await;
            if let Answer::Failed(kind) = answer {
                c.failed(q.to_string(), kind);
                c.push(Finding::new(
                    Code::SpfDnsFailure,
                    d,
                    format!("the lookup {q} failed ({kind})"),
                ));
                return (out, c);
            }
            if answer == Answer::NxDomain {
                c.push(Finding::new(
                    Code::SpfMissing,
                    d,
                    format!("{d} does not exist (NXDOMAIN), so it publishes no SPF record"),
                ));
                return (out, c);
            }
            spf_texts(&answer)
        }
    };
    out.records = texts.clone();
    let [text] = texts.as_slice() else {
        if texts.is_empty() {
            c.push(Finding::new(
                Code::SpfMissing,
                d,
                format!("{d} publishes no SPF record (no TXT record begins with v=spf1)"),
            ));
        } else {
            c.push(Finding::new(
                Code::SpfMultipleRecords,
                d,
                format!(
                    "{d} publishes {} SPF records: receivers return permerror",
                    texts.len()
                ),
            ));
            for t in &texts {
                match SpfRecord::parse_bytes(t.as_bytes()) {
                    Ok(r) => c.extend(lint_spf_record(d, t, &r, SpfPlace::Top)),
                    Err(e) => c.push(Finding::new(
                        Code::SpfSyntax,
                        d,
                        format!("the SPF record {t:?} of {d} is invalid: {e}"),
                    )),
                }
            }
        }
        return (out, c);
    };
    let record = match SpfRecord::parse_bytes(text.as_bytes()) {
        Ok(r) => r,
        Err(e) => {
            c.push(Finding::new(
                Code::SpfSyntax,
                d,
                format!("the SPF record of {d} is invalid: {e}"),
            ));
            return (out, c);
        }
    };
    c.extend(lint_spf_record(d, text, &record, SpfPlace::Top));

    let verdict = evaluate_spf(resolver, domain, candidate).await;
    out.result = Some(verdict.result);
    out.problem = verdict.problem.as_ref().map(ToString::to_string);
    out.lookups = verdict.lookups;
    out.void_lookups = verdict.void_lookups;
    out.branches = branches(&verdict.trace);
    let ended_on_all = verdict
        .matched
        .as_ref()
        .is_none_or(|m| m.domain() == d && m.directive().mechanism == Mechanism::All);
    out.complete = verdict.problem.is_none() && ended_on_all;

    let mut seen: HashSet<Name> = HashSet::new();
    seen.insert(domain.clone());
    if let Some(problem) = &verdict.problem
        && let Some(subject) = spf_problem(&mut c, domain, problem)
        && let Ok(n) = Name::parse(&subject)
    {
        seen.insert(n);
    }
    if verdict.void_lookups > MAX_VOID_LOOKUPS {
        c.push(Finding::new(
            Code::SpfTooManyVoidLookups,
            d,
            format!(
                "{} void lookups (NXDOMAIN or no records) in the worst case, more than \
                 {MAX_VOID_LOOKUPS}: receivers return permerror at the {}",
                verdict.void_lookups,
                ordinal(MAX_VOID_LOOKUPS + 1)
            ),
        ));
    }

    // The records the evaluation reached: check each as published.
    let mut queue: Vec<(Name, bool, usize)> = spf_targets(&record)
        .into_iter()
        .map(|(n, inc)| (n, inc, 1))
        .collect();
    let mut reached: Vec<(Name, usize)> = Vec::new();
    for e in &verdict.trace {
        if let TraceEvent::Record { depth, domain, .. } = e
            && *depth > 0
            && let Ok(n) = Name::parse(domain)
            && seen.insert(n.clone())
        {
            reached.push((n, *depth));
        }
    }
    for (name, depth) in reached {
        let answer = resolver.answer(&Query::txt(name.clone())).await;
        let texts = spf_texts(&answer);
        if let [t] = texts.as_slice()
            && let Ok(r) = SpfRecord::parse_bytes(t.as_bytes())
        {
            c.extend(lint_spf_record(name.as_str(), t, &r, SpfPlace::Included));
            queue.extend(
                spf_targets(&r)
                    .into_iter()
                    .map(|(n, inc)| (n, inc, depth + 1)),
            );
        }
    }

    // Targets the evaluation did not reach: fetched and checked one by one.
    let mut fetched = 0usize;
    let mut i = 0;
    while let Some((target, is_include, depth)) = queue.get(i).cloned() {
        i += 1;
        if depth > MAX_UNREACHED_DEPTH || fetched >= MAX_UNREACHED_RECORDS {
            break;
        }
        if !seen.insert(target.clone()) {
            continue;
        }
        fetched += 1;
        let t = target.as_str();
        out.unreached.push(t.to_owned());
        let q = Query::txt(target.clone());
        let answer = resolver.answer(&q).await;
        if let Answer::Failed(kind) = answer {
            c.failed(q.to_string(), kind);
            c.push(Finding::new(
                Code::SpfDnsFailure,
                t,
                format!("the lookup {q} failed ({kind})"),
            ));
            continue;
        }
        let texts = spf_texts(&answer);
        match texts.as_slice() {
            [] => {
                let (code, what) = if is_include {
                    (Code::SpfIncludeNoRecord, "include")
                } else {
                    (Code::SpfRedirectNoRecord, "redirect")
                };
                c.push(Finding::new(
                    code,
                    t,
                    format!(
                        "{what} target {t} has no SPF record (not reached by the evaluation, \
                         which stopped earlier)"
                    ),
                ));
            }
            [text] => match SpfRecord::parse_bytes(text.as_bytes()) {
                Ok(r) => {
                    c.extend(lint_spf_record(t, text, &r, SpfPlace::Included));
                    queue.extend(
                        spf_targets(&r)
                            .into_iter()
                            .map(|(n, inc)| (n, inc, depth + 1)),
                    );
                }
                Err(e) => c.push(Finding::new(
                    Code::SpfSyntax,
                    t,
                    format!("the SPF record of {t} is invalid: {e}"),
                )),
            },
            many => c.push(Finding::new(
                Code::SpfMultipleRecords,
                t,
                format!(
                    "{t} publishes {} SPF records: receivers return permerror",
                    many.len()
                ),
            )),
        }
    }
    out.trace = verdict.trace;
    (out, c)
}

fn ordinal(n: usize) -> String {
    match n {
        1 => "1st".to_owned(),
        2 => "2nd".to_owned(),
        3 => "3rd".to_owned(),
        n => format!("{n}th"),
    }
}

// ------------------------------------------------------------------------------------------
// DMARC

/// Answers some queries from `overlay` and the rest through `resolver`: how a record that is
/// not published yet is checked as if it were.
pub(crate) async fn drive_with_overlay<L: Lookup>(
    mut step: Step<L, L::Output>,
    resolver: &Resolver,
    overlay: &[(Query, Answer)],
) -> L::Output {
    loop {
        match step {
            Step::Done(out) => return out,
            Step::Lookup(pending) => {
                let queries = pending.queries().to_vec();
                let missing: Vec<Query> = queries
                    .iter()
                    .filter(|q| !overlay.iter().any(|(o, _)| o == *q))
                    .cloned()
                    .collect();
                let mut fetched = resolver.answer_all(&missing).await.into_iter();
                let answers = queries
                    .iter()
                    .map(|q| match overlay.iter().find(|(o, _)| o == q) {
                        Some((_, a)) => a.clone(),
                        None => fetched.next().unwrap_or(Answer::Failed(FailureKind::Other)),
                    })
                    .collect();
                step = pending.resume(answers);
            }
        }
    }
}

/// A TXT answer holding `text` split into strings of at most 255 bytes.
pub(crate) fn txt_answer(name: &Name, text: &str) -> Answer {
    Answer::Records(
        vec![Record {
            name: name.clone(),
            ttl: 0,
            data: RData::Txt(Txt::new(mailstamp_dkim::split_txt(text))),
        }]
        .into(),
    )
}

fn report_status(c: &mut Collector, policy_name: &str, reports: &ReportAuthorization) {
    for check in &reports.checks {
        let uri = &check.uri.uri;
        let tag = check.kind.tag();
        let authz = check
            .authorization_name
            .as_ref()
            .map_or_else(String::new, Name::to_string);
        let (code, message) = match &check.status {
            DestinationStatus::Internal | DestinationStatus::Authorized { .. } => continue,
            DestinationStatus::NotAuthorized => (
                match check.kind {
                    ReportKind::Aggregate => Code::DmarcRuaNotAuthorized,
                    ReportKind::Failure => Code::DmarcRufNotAuthorized,
                },
                format!(
                    "{tag} {uri} is outside the organizational domain and {authz} has no \
                     v=DMARC1 record authorising it: receivers send no reports there"
                ),
            ),
            DestinationStatus::OverrideToOtherHost { host } => (
                Code::DmarcReportUnusable,
                format!(
                    "{tag} {uri}: the authorisation record at {authz} redirects reports to \
                     another host ({host}), so none are sent"
                ),
            ),
            DestinationStatus::NameTooLong => (
                Code::DmarcReportUnusable,
                format!("{tag} {uri}: the authorisation name would be too long for the DNS"),
            ),
            DestinationStatus::NoDestination => (
                Code::DmarcReportUnusable,
                format!("{tag} {uri} names no domain that could authorise reports"),
            ),
            DestinationStatus::TempError { name, kind } => {
                c.failed(format!("{name} TXT"), *kind);
                (
                    Code::DmarcDnsFailure,
                    format!("the authorisation lookup {name} TXT for {tag} {uri} failed ({kind})"),
                )
            }
            _ => (
                Code::DmarcReportUnusable,
                format!("{tag} {uri} cannot be used"),
            ),
        };
        c.push(Finding::new(code, policy_name, message));
    }
}

/// Steps of a walk worth reporting: at the domain, or at or below its organizational
/// domain (problems at public suffixes are not the domain owner's).
fn walk_problems(c: &mut Collector, domain: &Name, found: &PolicyDiscovery) {
    let org = found.organizational_domain.as_ref();
    for step in &found.walk.steps {
        let relevant =
            step.domain == *domain || org.is_some_and(|o| step.domain.is_subdomain_of(o));
        let Some(qname) = step.query.as_ref().filter(|_| relevant) else {
            continue;
        };
        let q = qname.as_str();
        match &step.finding {
            WalkFinding::None {
                why: NoRecord::NotDmarc { .. },
            } => {
                let answer = found
                    .trace
                    .iter()
                    .find(|t| t.query.name == *qname && t.query.rtype == RecordType::Txt)
                    .map(|t| &t.answer);
                for txt in answer.into_iter().flat_map(Answer::txts) {
                    if let Err(e) = DmarcRecord::parse(&txt.joined()) {
                        c.push(Finding::new(
                            Code::DmarcInvalidRecord,
                            q,
                            format!(
                                "the TXT record {:?} at {q} is not a DMARC record: {e}",
                                txt.joined_lossy()
                            ),
                        ));
                    }
                }
            }
            WalkFinding::None {
                why: NoRecord::MultipleRecords { count },
            } => c.push(Finding::new(
                Code::DmarcMultipleRecords,
                q,
                format!("{q} holds {count} DMARC records: receivers discard all of them"),
            )),
            _ => {}
        }
    }
}

fn describe_policy(found: &PolicyDiscovery) -> String {
    found.policy.as_ref().map_or_else(
        || "no policy".to_owned(),
        |p| format!("the record at _dmarc.{}", p.domain),
    )
}

/// Checks the DMARC policy of `domain` (or `candidate`, the record about to be published at
/// `_dmarc.<domain>`); with `legacy`, compares with RFC 7489 discovery.
pub(crate) async fn check_dmarc(
    resolver: &Resolver,
    domain: &Name,
    candidate: Option<&str>,
    legacy: bool,
) -> (DmarcAudit, Collector) {
    let mut c = Collector::default();
    let mut out = DmarcAudit::default();
    let d = domain.as_str();
    let overlay: Vec<(Query, Answer)> = match (candidate, mailstamp_dmarc::dmarc_name(domain)) {
        (Some(text), Some(name)) => vec![(Query::txt(name.clone()), txt_answer(&name, text))],
        _ => Vec::new(),
    };
    let found = drive_with_overlay(
        discover(domain.clone(), Discovery::TreeWalk),
        resolver,
        &overlay,
    )
    .await;
    walk_problems(&mut c, domain, &found);
    if let Some((at, kind)) = found.failure() {
        let q = format!("_dmarc.{at} TXT");
        c.failed(q.clone(), kind);
        c.push(Finding::new(
            Code::DmarcDnsFailure,
            format!("_dmarc.{at}"),
            format!("the lookup {q} failed ({kind}): receivers return temperror"),
        ));
    }
    match &found.policy {
        None if found.failure().is_none() => c.push(Finding::new(
            Code::DmarcMissing,
            format!("_dmarc.{d}"),
            format!(
                "no DMARC policy applies to {d}: no record at _dmarc.{d} or above it ({} \
                 queries of the tree walk)",
                found.walk.queries_sent()
            ),
        )),
        None => {}
        Some(policy) => {
            let policy_name = format!("_dmarc.{}", policy.domain);
            if policy.source != PolicySource::AuthorDomain {
                let rules = policy.record.effective.map_or_else(String::new, |e| {
                    format!(
                        ": sp={} for existing subdomains, np={} for others",
                        e.subdomain, e.nonexistent
                    )
                });
                c.push(Finding::new(
                    Code::DmarcPolicyInherited,
                    format!("_dmarc.{d}"),
                    format!(
                        "{d} has no DMARC record of its own; the record of the {} {} applies{rules}",
                        policy.source.as_str(),
                        policy.domain
                    ),
                ));
            }
            c.extend(lint_dmarc_record(&policy_name, &policy.record));
            let reports = drive_with_overlay(authorize_reports(&found), resolver, &overlay).await;
            report_status(&mut c, &policy_name, &reports);
            out.reports = Some(reports);
        }
    }
    if legacy {
        let old = drive_with_overlay(
            discover(
                domain.clone(),
                Discovery::Psl(Arc::new(PublicSuffixList::builtin())),
            ),
            resolver,
            &overlay,
        )
        .await;
        if let Some((at, kind)) = old.failure() {
            let q = format!("_dmarc.{at} TXT");
            if !c.failures.iter().any(|f| f.query == q) {
                c.failed(q.clone(), kind);
                c.push(Finding::new(
                    Code::DmarcDnsFailure,
                    format!("_dmarc.{at}"),
                    format!("the lookup {q} failed ({kind}) during legacy discovery"),
                ));
            }
        } else if found.failure().is_none() {
            let new_at = found.policy.as_ref().map(|p| &p.domain);
            let old_at = old.policy.as_ref().map(|p| &p.domain);
            if new_at != old_at {
                c.push(Finding::new(
                    Code::DmarcPslPolicyDiffers,
                    format!("_dmarc.{d}"),
                    format!(
                        "RFC 9989 receivers (tree walk) apply {}, RFC 7489 receivers (Public \
                         Suffix List) apply {}",
                        describe_policy(&found),
                        describe_policy(&old)
                    ),
                ));
            } else if let (Some(new_org), Some(old_org)) =
                (&found.organizational_domain, &old.organizational_domain)
                && new_org != old_org
            {
                c.push(Finding::new(
                    Code::DmarcPslOrgDomainDiffers,
                    d,
                    format!(
                        "the organizational domain of {d} is {new_org} by tree walk but \
                         {old_org} by the Public Suffix List: relaxed alignment differs"
                    ),
                ));
            }
        }
        out.legacy = Some(old);
    }
    out.discovery = Some(found);
    (out, c)
}

// ------------------------------------------------------------------------------------------
// DKIM

/// True when a probed name's TXT records look like an attempt at a key record (not, say, a
/// wildcard TXT record that answers every name).
fn looks_like_key(answer: &Answer) -> bool {
    answer.txts().any(|t| {
        let text = t.joined();
        KeyRecord::parse(&text).is_ok()
            || text.windows(8).any(|w| w.eq_ignore_ascii_case(b"v=DKIM1;"))
            || text.windows(2).any(|w| w == b"p=")
    })
}

async fn check_dkim(
    resolver: &Resolver,
    domain: &Name,
    selectors: &[(String, Name, bool)],
) -> (DkimAudit, Collector) {
    let mut c = Collector::default();
    let mut out = DkimAudit::default();
    let queries: Vec<Query> = selectors
        .iter()
        .map(|(_, n, _)| Query::txt(n.clone()))
        .collect();
    let answers = resolver.answer_all(&queries).await;
    let mut failed_probes: Vec<(&str, FailureKind)> = Vec::new();
    for ((selector, name, given), answer) in selectors.iter().zip(answers) {
        if let Answer::Failed(kind) = answer {
            c.failed(format!("{name} TXT"), kind);
            if !given {
                // One finding for all failed probes, below.
                failed_probes.push((selector, kind));
                continue;
            }
        }
        if !given && !looks_like_key(&answer) {
            continue;
        }
        let check = check_key(name.clone(), &answer, None);
        c.extend(lint_dkim_key(selector, &check, *given));
        out.selectors.push(SelectorAudit {
            selector: selector.clone(),
            given: *given,
            check,
        });
    }
    if let Some((_, kind)) = failed_probes.first() {
        let names: Vec<&str> = failed_probes.iter().map(|(s, _)| *s).collect();
        let shown = names.get(..5).unwrap_or(&names).join(", ");
        let more = names.len().saturating_sub(5);
        c.push(Finding::new(
            Code::DkimDnsFailure,
            domain.as_str(),
            format!(
                "{} of the common selector names probed could not be looked up ({kind}): \
                 {shown}{}",
                names.len(),
                if more > 0 {
                    format!(" and {more} more")
                } else {
                    String::new()
                }
            ),
        ));
    }
    let usable: Vec<&KeyCheck> = out
        .selectors
        .iter()
        .map(|s| &s.check)
        .filter(|k| k.is_usable())
        .collect();
    if !usable.is_empty()
        && usable
            .iter()
            .all(|k| k.key_type == Some(mailstamp_dkim::KeyType::Ed25519))
    {
        c.push(Finding::new(
            Code::DkimEd25519Only,
            domain.as_str(),
            format!(
                "every usable key of {domain} is Ed25519: receivers that do not implement RFC \
                 8463 see no valid signature"
            ),
        ));
    }
    let any_record = out.selectors.iter().any(|s| !s.check.records.is_empty());
    if !any_record
        && !selectors.is_empty()
        && !selectors.iter().any(|(_, _, given)| *given)
        && c.failures.is_empty()
    {
        c.push(Finding::new(
            Code::DkimNoKeyFound,
            domain.as_str(),
            format!(
                "no key record under any of the {} common selector names probed",
                selectors.len()
            ),
        ));
    }
    (out, c)
}

// ------------------------------------------------------------------------------------------
// MX

fn addresses(answers: [&Answer; 2]) -> Vec<IpAddr> {
    answers
        .into_iter()
        .flat_map(|a| a.records().iter())
        .filter_map(|r| match r.data {
            RData::A(v4) => Some(IpAddr::V4(v4)),
            RData::Aaaa(v6) => Some(IpAddr::V6(v6)),
            _ => None,
        })
        .collect()
}

async fn check_mx(resolver: &Resolver, domain: &Name) -> (MxAudit, Collector) {
    let mut c = Collector::default();
    let mut out = MxAudit::default();
    let d = domain.as_str();
    let q = Query::new(domain.clone(), RecordType::Mx);
    let answer = resolver.answer(&q).await;
    out.answer = answer.kind_str().to_owned();
    if let Answer::Failed(kind) = answer {
        c.failed(q.to_string(), kind);
    }
    c.extend(lint_mx_answer(domain, &answer));
    let mut hosts = mx_hosts(&answer);
    hosts.sort_by_key(|(p, _)| *p);
    if hosts.is_empty() && matches!(answer, Answer::NoData | Answer::Records(_)) {
        let qs = [
            Query::new(domain.clone(), RecordType::A),
            Query::new(domain.clone(), RecordType::Aaaa),
        ];
        let got = resolver.answer_all(&qs).await;
        for (q, a) in qs.iter().zip(&got) {
            if let Answer::Failed(kind) = a {
                c.failed(q.to_string(), *kind);
                c.push(Finding::new(
                    Code::MxDnsFailure,
                    d,
                    format!("the lookup {q} failed ({kind})"),
                ));
            }
        }
        let (a, aaaa) = (
            got.first().cloned().unwrap_or(Answer::NoData),
            got.get(1).cloned().unwrap_or(Answer::NoData),
        );
        out.implicit = addresses([&a, &aaaa]);
        if !a.is_failed() && !aaaa.is_failed() {
            let message = if out.implicit.is_empty() {
                format!("{d} has no MX record and no address: it cannot receive mail")
            } else {
                format!(
                    "{d} has no MX record: mail goes to its own address (the implicit MX), \
                     which may not be a mail server"
                )
            };
            c.push(Finding::new(Code::MxMissing, d, message));
        }
        return (out, c);
    }
    let mut checked = 0usize;
    for (preference, exchange) in hosts {
        let Some(host) = exchange else {
            out.hosts.push(MxHost {
                preference,
                exchange: None,
                alias_of: None,
                addresses: Vec::new(),
            });
            continue;
        };
        let mut entry = MxHost {
            preference,
            exchange: Some(host.to_string()),
            alias_of: None,
            addresses: Vec::new(),
        };
        if !is_ip_literal(host.as_str()) && checked < MAX_MX_HOSTS_CHECKED {
            checked += 1;
            let qs = [
                Query::new(host.clone(), RecordType::A),
                Query::new(host.clone(), RecordType::Aaaa),
            ];
            let got = resolver.answer_all(&qs).await;
            let (a, aaaa) = (
                got.first().cloned().unwrap_or(Answer::NoData),
                got.get(1).cloned().unwrap_or(Answer::NoData),
            );
            for (q, ans) in qs.iter().zip([&a, &aaaa]) {
                if let Answer::Failed(kind) = ans {
                    c.failed(q.to_string(), *kind);
                }
            }
            let findings = lint_mx_target(&host, &a, &aaaa);
            entry.alias_of = [&a, &aaaa].iter().find_map(|ans| {
                ans.records().iter().find_map(|r| match &r.data {
                    RData::Cname(t) if r.name == host => Some(t.to_string()),
                    _ => None,
                })
            });
            entry.addresses = addresses([&a, &aaaa]);
            c.extend(findings);
        }
        out.hosts.push(entry);
    }
    (out, c)
}
