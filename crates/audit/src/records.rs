//! The DNS records a domain should publish: SPF, DMARC and DKIM TXT records built from a
//! [`Plan`], validated before anyone publishes them.
//!
//! [`build`] turns a plan into [`TxtRecord`]s (no DNS): every option is checked on its own
//! (an `ip4` value that is not a network, a report address that is not a URI, a selector that
//! makes no DNS name) and the resulting records are parsed back with the protocol crates, so
//! what is printed is what receivers will read. [`check`] then validates them the way an
//! [audit](crate::audit()) would, as if they were already published:
//!
//! * SPF (RFC 7208): syntax, `ptr` and `+all` anywhere in the tree (an included record can
//!   hold them), the worst-case lookup count (at most 10) and void lookups (at most 2),
//!   following the published includes, and records over 512 bytes;
//! * DMARC (RFC 9989): the record's tags, `p=none` without `rua`, and the authorisation of
//!   every `rua`/`ruf` destination outside the organizational domain (RFC 9990 §4, RFC 9991
//!   §5);
//! * DKIM (RFC 6376, RFC 8301): the key record parses and its key is usable.
//!
//! Without a resolver, [`check`] validates syntax only and counts the record's own DNS terms.
//! A DNS failure during the checks is reported like an audit reports it (a finding and an
//! entry of [`RecordsReport::dns_failures`]).
//!
//! Values are split into character-strings of at most 255 bytes for zone files
//! ([`TxtRecord::zone_line`], RFC 1035 §3.3.14), as [`mailstamp_dkim::split_txt`] does.
//!
//! ```
//! use mailstamp_audit::records::{AllQualifier, Plan, SpfPlan, build};
//! use mailstamp_dns::Name;
//!
//! let plan = Plan {
//!     spf: Some(SpfPlan {
//!         ip4: vec!["192.0.2.0/24".into()],
//!         mx: vec![None],
//!         all: AllQualifier::Fail,
//!         ..SpfPlan::default()
//!     }),
//!     ..Plan::default()
//! };
//! let records = build(&Name::parse("example.org")?, &plan)?;
//! assert_eq!(records[0].value, "v=spf1 ip4:192.0.2.0/24 mx -all");
//! assert_eq!(
//!     records[0].zone_line(),
//!     "example.org. 3600 IN TXT \"v=spf1 ip4:192.0.2.0/24 mx -all\""
//! );
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

use crate::{
    Code, Collector, DmarcAudit, DnsFailure, Finding, SpfAudit, SpfPlace, check_dmarc, check_spf,
    lint_dkim_key, lint_dmarc_record, lint_spf_record, selector_name, sort_findings, txt_answer,
};
use mailstamp::Resolver;
use mailstamp_dkim::{KeyRecordText, KeyType, PublicKey, check_key, quote_txt, split_txt};
use mailstamp_dmarc::{Alignment, Policy, Record as DmarcRecord};
use mailstamp_dns::Name;
use mailstamp_spf::{MAX_DNS_MECHANISMS, Record as SpfRecord};
use serde::ser::SerializeStruct;
use serde::{Serialize, Serializer};
use std::fmt;

/// TTL of the printed zone lines, in seconds: an hour, so that a corrected record spreads
/// quickly (the same as `mailstamp keygen` prints).
pub const RECORD_TTL: u32 = 3600;

/// The qualifier of the final `all` of a generated SPF record. `+all` (pass) is not offered:
/// it authorises every host on the internet (RFC 7208 §5.1).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum AllQualifier {
    /// `-all`: hosts not listed fail (the default).
    #[default]
    Fail,
    /// `~all`: hosts not listed soft-fail (accepted, marked).
    SoftFail,
    /// `?all`: no statement about hosts not listed.
    Neutral,
}

impl AllQualifier {
    /// The term: `-all`, `~all` or `?all`.
    pub fn term(self) -> &'static str {
        match self {
            AllQualifier::Fail => "-all",
            AllQualifier::SoftFail => "~all",
            AllQualifier::Neutral => "?all",
        }
    }
}

/// Why a string is not an [`AllQualifier`].
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum AllQualifierError {
    /// `pass` (`+all`) is refused.
    #[error(
        "pass is refused: +all authorises every host on the internet to send as the domain \
         (RFC 7208 §5.1); use fail, softfail or neutral"
    )]
    Pass,
    /// Not a qualifier name.
    #[error("unknown qualifier {0:?} (expected fail, softfail or neutral)")]
    Unknown(String),
}

impl std::str::FromStr for AllQualifier {
    type Err = AllQualifierError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.to_ascii_lowercase().as_str() {
            "fail" | "-" | "-all" => Ok(AllQualifier::Fail),
            "softfail" | "~" | "~all" => Ok(AllQualifier::SoftFail),
            "neutral" | "?" | "?all" => Ok(AllQualifier::Neutral),
            "pass" | "+" | "+all" | "all" => Err(AllQualifierError::Pass),
            _ => Err(AllQualifierError::Unknown(s.to_owned())),
        }
    }
}

/// The SPF record to build (RFC 7208). Terms come out in this order: `ip4`, `ip6`, `a`,
/// `mx`, `include`, then `all`, so that address ranges match without any DNS lookup.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SpfPlan {
    /// `ip4:` networks (`192.0.2.0/24` or an address).
    pub ip4: Vec<String>,
    /// `ip6:` networks.
    pub ip6: Vec<String>,
    /// `a` terms: `None` for the domain itself, or a domain-spec and/or `/cidr`.
    pub a: Vec<Option<String>>,
    /// `mx` terms: `None` for the domain itself, or a domain-spec and/or `/cidr`.
    pub mx: Vec<Option<String>>,
    /// `include:` domains.
    pub include: Vec<String>,
    /// The final `all`.
    pub all: AllQualifier,
}

/// The DMARC record to build (RFC 9989 §4.7).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DmarcPlan {
    /// `p`.
    pub policy: Policy,
    /// `sp`, if different from `p`.
    pub subdomain_policy: Option<Policy>,
    /// `np`.
    pub nonexistent_policy: Option<Policy>,
    /// `adkim`.
    pub dkim_alignment: Option<Alignment>,
    /// `aspf`.
    pub spf_alignment: Option<Alignment>,
    /// `rua` destinations: URIs, or bare addresses (which become `mailto:` URIs).
    pub rua: Vec<String>,
    /// `ruf` destinations.
    pub ruf: Vec<String>,
    /// `t=y`.
    pub testing: bool,
}

impl DmarcPlan {
    /// A plan with only `p`.
    pub fn new(policy: Policy) -> DmarcPlan {
        DmarcPlan {
            policy,
            subdomain_policy: None,
            nonexistent_policy: None,
            dkim_alignment: None,
            spf_alignment: None,
            rua: Vec::new(),
            ruf: Vec::new(),
            testing: false,
        }
    }
}

/// One DKIM key record to build: a selector and the public half of a key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DkimPlan {
    /// The selector.
    pub selector: String,
    /// The public key (for instance [`mailstamp_dkim::SigningKey::public_key`]).
    pub key: PublicKey,
}

/// Everything to publish for one domain.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Plan {
    /// The SPF record, if any.
    pub spf: Option<SpfPlan>,
    /// The DMARC record, if any.
    pub dmarc: Option<DmarcPlan>,
    /// DKIM key records, one per selector.
    pub dkim: Vec<DkimPlan>,
}

impl Plan {
    /// True when there is nothing to publish.
    pub fn is_empty(&self) -> bool {
        self.spf.is_none() && self.dmarc.is_none() && self.dkim.is_empty()
    }
}

/// Why a plan cannot be built.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum RecordsError {
    /// The plan holds nothing.
    #[error("nothing to publish: give SPF, DMARC or DKIM options")]
    Empty,
    /// An SPF option value does not make exactly one valid term (RFC 7208 §5).
    #[error("invalid {option} value {value:?}: {reason}")]
    InvalidSpfTerm {
        /// Which option (`ip4`, `ip6`, `a`, `mx`, `include`).
        option: &'static str,
        /// The value.
        value: String,
        /// What is wrong.
        reason: String,
    },
    /// A report destination that is not a single valid URI (RFC 9989 §4.8).
    #[error("invalid {tag} destination {value:?}: {reason}")]
    InvalidReportUri {
        /// `rua` or `ruf`.
        tag: &'static str,
        /// The value.
        value: String,
        /// What is wrong.
        reason: String,
    },
    /// The built DMARC record does not read back as intended.
    #[error("the DMARC record {record:?} does not read back cleanly: {reason}")]
    InvalidDmarc {
        /// The record.
        record: String,
        /// What the parser noted.
        reason: String,
    },
    /// A DKIM selector that makes no valid key name, or is given twice.
    #[error("invalid DKIM selector {selector:?}: {reason}")]
    InvalidSelector {
        /// The selector.
        selector: String,
        /// What is wrong.
        reason: String,
    },
}

/// Which protocol a record is for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum RecordKind {
    /// An SPF record (at the domain).
    Spf,
    /// A DMARC record (at `_dmarc.<domain>`).
    Dmarc,
    /// A DKIM key record (at `<selector>._domainkey.<domain>`).
    Dkim,
}

impl RecordKind {
    /// `spf`, `dmarc` or `dkim`.
    pub fn as_str(self) -> &'static str {
        match self {
            RecordKind::Spf => "spf",
            RecordKind::Dmarc => "dmarc",
            RecordKind::Dkim => "dkim",
        }
    }
}

impl fmt::Display for RecordKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// One TXT record to publish.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TxtRecord {
    /// What it is for.
    pub kind: RecordKind,
    /// Where it goes.
    pub name: Name,
    /// The value, on one line (as web DNS panels want it).
    pub value: String,
    /// For DKIM: the selector.
    pub selector: Option<String>,
    /// For DKIM: the key type.
    pub key_type: Option<KeyType>,
    /// For DKIM: the key size in bits.
    pub bits: Option<usize>,
}

impl TxtRecord {
    /// The value split into character-strings of at most 255 bytes (RFC 1035 §3.3.14);
    /// receivers join them with nothing in between (RFC 7208 §3.3, RFC 6376 §3.6.2.2).
    pub fn strings(&self) -> Vec<&str> {
        split_txt(&self.value)
    }

    /// The master-file rdata: the strings quoted, in parentheses on several lines when there
    /// are several (the same form as [`KeyRecordText::zone_rdata`]).
    pub fn zone_rdata(&self) -> String {
        let quoted: Vec<String> = self.strings().into_iter().map(quote_txt).collect();
        if quoted.len() == 1 {
            quoted.concat()
        } else {
            format!("( {} )", quoted.join("\n\t"))
        }
    }

    /// A master-file line with an explicit TTL ([`RECORD_TTL`]), so that it loads on its own
    /// (`--zone`) as well as inside an existing zone: `<name>. 3600 IN TXT "..."`.
    pub fn zone_line(&self) -> String {
        format!(
            "{} {RECORD_TTL} IN TXT {}",
            self.name.to_fqdn(),
            self.zone_rdata()
        )
    }
}

impl Serialize for TxtRecord {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut st = s.serialize_struct("TxtRecord", 9)?;
        st.serialize_field("kind", &self.kind)?;
        st.serialize_field("name", self.name.as_str())?;
        st.serialize_field("type", "TXT")?;
        st.serialize_field("value", &self.value)?;
        st.serialize_field("strings", &self.strings())?;
        st.serialize_field("zone", &self.zone_line())?;
        st.serialize_field("selector", &self.selector)?;
        st.serialize_field("key_type", &self.key_type)?;
        st.serialize_field("bits", &self.bits)?;
        st.end()
    }
}

/// Checks that `term` is exactly one directive of mechanism `name` (no smuggled extra terms).
fn one_term(option: &'static str, value: &str, term: &str) -> Result<String, RecordsError> {
    let invalid = |reason: String| RecordsError::InvalidSpfTerm {
        option,
        value: value.to_owned(),
        reason,
    };
    if value.chars().any(char::is_whitespace) {
        return Err(invalid("it contains whitespace".to_owned()));
    }
    // A literal target (no macro) must be a domain name a receiver can query: no empty label,
    // labels of at most 63 octets, at most 253 in all (RFC 7208 §4.8, RFC 1035 §2.3.4).
    let target = match option {
        "include" => Some(value),
        "a" | "mx" if !value.is_empty() && !value.starts_with('/') => value.split('/').next(),
        _ => None,
    };
    if let Some(domain) = target.filter(|d| !d.contains('%')) {
        Name::parse(domain)
            .map_err(|e| invalid(format!("{domain:?} is not a domain name: {e}")))?;
    }
    let record = SpfRecord::parse(&format!("v=spf1 {term}")).map_err(|e| invalid(e.to_string()))?;
    match record.directives() {
        [d] if d.mechanism.name() == option
            && record.redirect().is_none()
            && record.explanation().is_none()
            && record.unknown_modifiers().is_empty() =>
        {
            Ok(d.to_string())
        }
        _ => Err(invalid(format!("it does not make one {option} term"))),
    }
}

fn spf_value(plan: &SpfPlan) -> Result<String, RecordsError> {
    let mut terms: Vec<String> = Vec::new();
    let mut push = |t: String| {
        if !terms.contains(&t) {
            terms.push(t);
        }
    };
    for v in &plan.ip4 {
        push(one_term("ip4", v, &format!("ip4:{v}"))?);
    }
    for v in &plan.ip6 {
        push(one_term("ip6", v, &format!("ip6:{v}"))?);
    }
    for (option, list) in [("a", &plan.a), ("mx", &plan.mx)] {
        for v in list {
            let term = match v.as_deref() {
                None | Some("") => option.to_owned(),
                Some(s) if s.starts_with('/') => format!("{option}{s}"),
                Some(s) => format!("{option}:{s}"),
            };
            push(one_term(option, v.as_deref().unwrap_or(""), &term)?);
        }
    }
    for v in &plan.include {
        push(one_term("include", v, &format!("include:{v}"))?);
    }
    let text = format!(
        "v=spf1{}{} {}",
        if terms.is_empty() { "" } else { " " },
        terms.join(" "),
        plan.all.term()
    );
    // The whole record reads back (it cannot fail after the terms did, but never assume).
    SpfRecord::parse(&text).map_err(|e| RecordsError::InvalidSpfTerm {
        option: "all",
        value: text.clone(),
        reason: e.to_string(),
    })?;
    Ok(text)
}

/// A report destination as a URI: bare addresses get `mailto:`.
fn report_uri(tag: &'static str, value: &str) -> Result<String, RecordsError> {
    let invalid = |reason: &str| RecordsError::InvalidReportUri {
        tag,
        value: value.to_owned(),
        reason: reason.to_owned(),
    };
    let v = value.trim();
    if v.is_empty() {
        return Err(invalid("it is empty"));
    }
    if v.contains([';', ',']) || v.chars().any(char::is_whitespace) {
        return Err(invalid(
            "give one URI per option (no ';', ',' or whitespace)",
        ));
    }
    let uri = if !v.contains(':') && v.contains('@') {
        format!("mailto:{v}")
    } else {
        v.to_owned()
    };
    let probe = format!("v=DMARC1; p=none; {tag}={uri}");
    let record = DmarcRecord::parse(probe.as_bytes()).map_err(|e| invalid(&e.to_string()))?;
    let parsed = if tag == "rua" {
        record.aggregate_report_uris()
    } else {
        record.failure_report_uris()
    };
    match (parsed.as_slice(), !record.has_notes()) {
        ([one], _) if one.obsolete_size.is_some() => Err(invalid(
            "the !size suffix is obsolete (RFC 9989 §4.8); drop it",
        )),
        ([one], true) => {
            if one.is_mailto() && one.destination.is_none() {
                return Err(invalid("a mailto: URI needs an address at a valid domain"));
            }
            Ok(one.uri.clone())
        }
        _ => Err(invalid(
            "not a URI (RFC 3986), such as mailto:dmarc@example.com",
        )),
    }
}

fn alignment_token(a: Alignment) -> &'static str {
    match a {
        Alignment::Relaxed => "r",
        Alignment::Strict => "s",
    }
}

fn dmarc_value(plan: &DmarcPlan) -> Result<String, RecordsError> {
    let mut tags = vec!["v=DMARC1".to_owned(), format!("p={}", plan.policy)];
    if let Some(sp) = plan.subdomain_policy {
        tags.push(format!("sp={sp}"));
    }
    if let Some(np) = plan.nonexistent_policy {
        tags.push(format!("np={np}"));
    }
    if let Some(a) = plan.dkim_alignment {
        tags.push(format!("adkim={}", alignment_token(a)));
    }
    if let Some(a) = plan.spf_alignment {
        tags.push(format!("aspf={}", alignment_token(a)));
    }
    for (tag, list) in [("rua", &plan.rua), ("ruf", &plan.ruf)] {
        let mut uris: Vec<String> = Vec::new();
        for v in list {
            let u = report_uri(tag, v)?;
            if !uris.contains(&u) {
                uris.push(u);
            }
        }
        if !uris.is_empty() {
            tags.push(format!("{tag}={}", uris.join(",")));
        }
    }
    if plan.testing {
        tags.push("t=y".to_owned());
    }
    let text = tags.join("; ");
    let record = DmarcRecord::parse(text.as_bytes()).map_err(|e| RecordsError::InvalidDmarc {
        record: text.clone(),
        reason: e.to_string(),
    })?;
    if let Some(note) = record.notes().first() {
        return Err(RecordsError::InvalidDmarc {
            record: text,
            reason: note.to_string(),
        });
    }
    Ok(text)
}

/// Builds the records of a plan, checking every value (no DNS).
pub fn build(domain: &Name, plan: &Plan) -> Result<Vec<TxtRecord>, RecordsError> {
    if plan.is_empty() {
        return Err(RecordsError::Empty);
    }
    let mut out = Vec::new();
    if let Some(spf) = &plan.spf {
        out.push(TxtRecord {
            kind: RecordKind::Spf,
            name: domain.clone(),
            value: spf_value(spf)?,
            selector: None,
            key_type: None,
            bits: None,
        });
    }
    if let Some(dmarc) = &plan.dmarc {
        let name =
            mailstamp_dmarc::dmarc_name(domain).ok_or_else(|| RecordsError::InvalidDmarc {
                record: String::new(),
                reason: format!("_dmarc.{domain} is longer than a DNS name may be"),
            })?;
        out.push(TxtRecord {
            kind: RecordKind::Dmarc,
            name,
            value: dmarc_value(dmarc)?,
            selector: None,
            key_type: None,
            bits: None,
        });
    }
    let mut names: Vec<Name> = Vec::new();
    for k in &plan.dkim {
        let name = selector_name(&k.selector, domain).map_err(|e| match e {
            crate::InputError::InvalidSelector { selector, reason } => {
                RecordsError::InvalidSelector { selector, reason }
            }
            other => RecordsError::InvalidSelector {
                selector: k.selector.clone(),
                reason: other.to_string(),
            },
        })?;
        if names.contains(&name) {
            return Err(RecordsError::InvalidSelector {
                selector: k.selector.clone(),
                reason: "given twice (one key per selector)".to_owned(),
            });
        }
        names.push(name.clone());
        out.push(TxtRecord {
            kind: RecordKind::Dkim,
            name,
            value: KeyRecordText::new(&k.key).value(),
            selector: Some(k.selector.clone()),
            key_type: Some(k.key.key_type()),
            bits: Some(k.key.bits()),
        });
    }
    Ok(out)
}

/// The records of a plan and what validating them found.
#[derive(Debug, Clone, Serialize)]
pub struct RecordsReport {
    /// The domain (A-labels).
    #[serde(serialize_with = "ser_name")]
    pub domain: Name,
    /// The records, SPF first, then DMARC, then DKIM in the order given.
    pub records: Vec<TxtRecord>,
    /// What validation found, grouped by area, errors first.
    pub findings: Vec<Finding>,
    /// Lookups that failed during validation.
    pub dns_failures: Vec<DnsFailure>,
    /// True when the DNS was used (includes followed, report destinations checked).
    pub dns_checked: bool,
    /// The SPF evaluation of the new record, when the DNS was used.
    pub spf: Option<SpfAudit>,
    /// The DMARC discovery with the new record in place, when the DNS was used.
    pub dmarc: Option<DmarcAudit>,
}

fn ser_name<S: Serializer>(name: &Name, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_str(name.as_str())
}

/// Builds the records of `plan` and validates them as if published: through `resolver` when
/// given (includes followed, report destinations checked), by syntax alone otherwise.
pub async fn check(
    resolver: Option<&Resolver>,
    domain: &Name,
    plan: &Plan,
) -> Result<RecordsReport, RecordsError> {
    let records = build(domain, plan)?;
    let mut all = Collector::default();
    let mut report = RecordsReport {
        domain: domain.clone(),
        records: Vec::new(),
        findings: Vec::new(),
        dns_failures: Vec::new(),
        dns_checked: resolver.is_some(),
        spf: None,
        dmarc: None,
    };
    for r in &records {
        match r.kind {
            RecordKind::Spf => match resolver {
                Some(resolver) => {
                    let (audit, c) = check_spf(resolver, domain, Some(&r.value)).await;
                    report.spf = Some(audit);
                    all.merge(c);
                }
                None => {
                    if let Ok(record) = SpfRecord::parse(&r.value) {
                        all.findings.extend(lint_spf_record(
                            domain.as_str(),
                            &r.value,
                            &record,
                            SpfPlace::Top,
                        ));
                        let count = record.dns_term_count();
                        if count > MAX_DNS_MECHANISMS {
                            all.findings.push(Finding::new(
                                Code::SpfTooManyLookups,
                                domain.as_str(),
                                format!(
                                    "the record has {count} DNS-querying terms by itself, \
                                     more than {MAX_DNS_MECHANISMS}: receivers return permerror"
                                ),
                            ));
                        }
                    }
                }
            },
            RecordKind::Dmarc => match resolver {
                Some(resolver) => {
                    let (audit, c) = check_dmarc(resolver, domain, Some(&r.value), false).await;
                    report.dmarc = Some(audit);
                    all.merge(c);
                }
                None => {
                    if let Ok(record) = DmarcRecord::parse(r.value.as_bytes()) {
                        all.findings
                            .extend(lint_dmarc_record(r.name.as_str(), &record));
                    }
                }
            },
            RecordKind::Dkim => {
                let check = check_key(r.name.clone(), &txt_answer(&r.name, &r.value), None);
                let selector = r.selector.as_deref().unwrap_or("");
                all.findings.extend(
                    lint_dkim_key(selector, &check, true)
                        .into_iter()
                        .filter(|f| f.code != Code::DkimKey),
                );
            }
        }
    }
    sort_findings(&mut all.findings);
    report.records = records;
    report.findings = all.findings;
    report.dns_failures = all.failures;
    Ok(report)
}

#[cfg(test)]
mod tests;
