//! Totals over many reports: per reporting organisation, per policy domain and per source
//! IP, the top failing sources; and the one-row-per-record CSV.

use crate::model::{AggregateReport, Record, Report};
use serde::Serialize;
use std::collections::{BTreeMap, BTreeSet};
use std::fmt::Write as _;

/// Message counts by outcome.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Tally {
    /// Messages.
    pub messages: u64,
    /// Messages that passed DMARC (an aligned SPF or DKIM pass).
    pub dmarc_pass: u64,
    /// Messages whose SPF result was aligned and passed.
    pub spf_aligned: u64,
    /// Messages whose DKIM result was aligned and passed.
    pub dkim_aligned: u64,
    /// Messages by the disposition applied (`none`, `pass`, `quarantine`, `reject`).
    pub disposition: BTreeMap<String, u64>,
    /// Messages that failed DMARC and that `p=reject` would have refused (those not already
    /// rejected).
    pub reject_would_refuse: u64,
}

impl Tally {
    /// Adds a record.
    pub fn add(&mut self, r: &Record) {
        self.messages += r.count;
        if r.dmarc_pass() {
            self.dmarc_pass += r.count;
        } else if r.disposition != "reject" {
            self.reject_would_refuse += r.count;
        }
        if r.spf_aligned == "pass" {
            self.spf_aligned += r.count;
        }
        if r.dkim_aligned == "pass" {
            self.dkim_aligned += r.count;
        }
        match self.disposition.get_mut(&r.disposition) {
            Some(n) => *n += r.count,
            None => {
                self.disposition.insert(r.disposition.clone(), r.count);
            }
        }
    }

    /// The DMARC pass rate in percent (0 when there are no messages).
    pub fn pass_rate(&self) -> f64 {
        percent(self.dmarc_pass, self.messages)
    }

    /// The failed messages.
    pub fn failed(&self) -> u64 {
        self.messages - self.dmarc_pass
    }
}

/// `part` as a percentage of `whole`.
pub fn percent(part: u64, whole: u64) -> f64 {
    if whole == 0 {
        0.0
    } else {
        part as f64 * 100.0 / whole as f64
    }
}

/// One row of a per-something table.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Row {
    /// The organisation, domain or source IP.
    pub key: String,
    /// Reports that contributed.
    pub reports: u64,
    /// The counts.
    pub tally: Tally,
    /// The RFC5322.From domains seen.
    pub header_from: BTreeSet<String>,
    /// The source's reverse DNS name (PTR), when it was asked for and found (see
    /// [`Summary::top_failing`]).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
}

/// Everything `mailstamp report parse` prints without `--json` or `--csv`.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct Summary {
    /// Aggregate reports read.
    pub aggregate_reports: u64,
    /// Failure reports read.
    pub failure_reports: u64,
    /// Totals over every aggregate report.
    pub total: Tally,
    /// The earliest `begin` and the latest `end` of the aggregate reports.
    pub period: Option<(i64, i64)>,
    /// Per reporting organisation, by messages (most first).
    pub organisations: Vec<Row>,
    /// Per policy domain.
    pub domains: Vec<Row>,
    /// Per source IP.
    pub sources: Vec<Row>,
    /// The sources with the most messages that failed DMARC (at most 10). Their
    /// [`Row::name`] is the reverse DNS name when the caller looked it up (mailstamp
    /// `report parse --resolve`); [`summarise`] itself performs no DNS.
    pub top_failing: Vec<Row>,
    /// Failure reports per reported domain and auth failure.
    pub failures: Vec<(String, u64)>,
}

fn sorted(map: BTreeMap<String, Row>) -> Vec<Row> {
    let mut rows: Vec<Row> = map.into_values().collect();
    rows.sort_by(|a, b| {
        b.tally
            .messages
            .cmp(&a.tally.messages)
            .then_with(|| a.key.cmp(&b.key))
    });
    rows
}

fn add_report(map: &mut BTreeMap<String, Row>, key: &str, report: &AggregateReport) {
    let row = map.entry(key.to_owned()).or_insert_with(|| Row {
        key: key.to_owned(),
        ..Row::default()
    });
    row.reports += 1;
    for r in &report.records {
        row.tally.add(r);
        if !row.header_from.contains(&r.header_from) {
            row.header_from.insert(r.header_from.clone());
        }
    }
}

/// Totals the reports.
pub fn summarise(reports: &[Report]) -> Summary {
    let mut s = Summariser::default();
    for report in reports {
        s.add(report);
    }
    s.finish()
}

/// Totals reports one at a time, so a caller need not hold them all ([`summarise`] over a
/// stream, e.g. [`crate::parse_each`]): what it keeps grows with the distinct
/// organisations, domains and source IPs, not with the reports.
#[derive(Debug, Default)]
pub struct Summariser {
    s: Summary,
    orgs: BTreeMap<String, Row>,
    domains: BTreeMap<String, Row>,
    sources: BTreeMap<String, Row>,
    failures: BTreeMap<String, u64>,
}

impl Summariser {
    /// Adds one report.
    pub fn add(&mut self, report: &Report) {
        let s = &mut self.s;
        match report {
            Report::Aggregate(a) => {
                s.aggregate_reports += 1;
                s.period = Some(match s.period {
                    None => (a.begin, a.end),
                    Some((b, e)) => (b.min(a.begin), e.max(a.end)),
                });
                add_report(&mut self.orgs, &a.org_name, a);
                add_report(&mut self.domains, &a.policy.domain, a);
                let mut seen = std::collections::HashSet::new();
                for r in &a.records {
                    s.total.add(r);
                    let row = match self.sources.get_mut(&r.source_ip) {
                        Some(row) => row,
                        None => self
                            .sources
                            .entry(r.source_ip.clone())
                            .or_insert_with(|| Row {
                                key: r.source_ip.clone(),
                                ..Row::default()
                            }),
                    };
                    // A report counts once per source, however many of its records name it.
                    if seen.insert(r.source_ip.as_str()) {
                        row.reports += 1;
                    }
                    row.tally.add(r);
                    if !row.header_from.contains(&r.header_from) {
                        row.header_from.insert(r.header_from.clone());
                    }
                }
            }
            Report::Failure(f) => {
                s.failure_reports += 1;
                let domain = f
                    .reported_domain
                    .first()
                    .cloned()
                    .unwrap_or_else(|| "(no Reported-Domain)".to_owned());
                let why = if f.auth_failure.is_empty() {
                    f.feedback_type.clone()
                } else {
                    f.auth_failure.join(",")
                };
                *self.failures.entry(format!("{domain} {why}")).or_default() += f.incidents;
            }
        }
    }

    /// The summary of every report added.
    pub fn finish(self) -> Summary {
        let mut s = self.s;
        s.organisations = sorted(self.orgs);
        s.domains = sorted(self.domains);
        s.sources = sorted(self.sources);
        let mut failing: Vec<Row> = s
            .sources
            .iter()
            .filter(|r| r.tally.failed() > 0)
            .cloned()
            .collect();
        failing.sort_by(|a, b| {
            b.tally
                .failed()
                .cmp(&a.tally.failed())
                .then_with(|| a.key.cmp(&b.key))
        });
        failing.truncate(10);
        s.top_failing = failing;
        s.failures = self.failures.into_iter().collect();
        s
    }
}

/// `YYYY-MM-DD` (UTC) of a timestamp; the number itself when out of range.
pub fn date(ts: i64) -> String {
    match time::OffsetDateTime::from_unix_timestamp(ts) {
        Ok(t) => format!("{:04}-{:02}-{:02}", t.year(), u8::from(t.month()), t.day()),
        Err(_) => ts.to_string(),
    }
}

fn dispositions(t: &Tally) -> String {
    let parts: Vec<String> = t
        .disposition
        .iter()
        .map(|(k, v)| format!("{k} {v}"))
        .collect();
    parts.join(", ")
}

fn table(out: &mut String, title: &str, head: &str, rows: &[Row]) {
    let _ = writeln!(out, "\n{title}");
    let _ = writeln!(
        out,
        "  {head:<40} {:>8} {:>9} {:>7} {:>7} {:>7}  DISPOSITION",
        "REPORTS", "MESSAGES", "PASS%", "SPF%", "DKIM%"
    );
    for r in rows {
        let t = &r.tally;
        let _ = writeln!(
            out,
            "  {:<40} {:>8} {:>9} {:>6.1}% {:>6.1}% {:>6.1}%  {}",
            r.key,
            r.reports,
            t.messages,
            t.pass_rate(),
            percent(t.spf_aligned, t.messages),
            percent(t.dkim_aligned, t.messages),
            dispositions(t)
        );
    }
}

impl Summary {
    /// The text a person reads.
    pub fn render(&self) -> String {
        let mut out = String::new();
        let _ = write!(
            out,
            "{} aggregate report(s), {} failure report(s)",
            self.aggregate_reports, self.failure_reports
        );
        if let Some((b, e)) = self.period {
            let _ = write!(out, ", {} .. {}", date(b), date(e));
        }
        out.push('\n');
        let t = &self.total;
        let _ = writeln!(
            out,
            "{} message(s): DMARC pass {} ({:.1}%), SPF aligned {:.1}%, DKIM aligned {:.1}%; {} would be refused by p=reject",
            t.messages,
            t.dmarc_pass,
            t.pass_rate(),
            percent(t.spf_aligned, t.messages),
            percent(t.dkim_aligned, t.messages),
            t.reject_would_refuse
        );
        if self.aggregate_reports > 0 {
            table(
                &mut out,
                "Per reporting organisation:",
                "ORGANISATION",
                &self.organisations,
            );
            table(&mut out, "Per policy domain:", "DOMAIN", &self.domains);
            table(&mut out, "Per source IP:", "SOURCE IP", &self.sources);
            let _ = writeln!(out, "\nTop failing sources:");
            if self.top_failing.is_empty() {
                let _ = writeln!(out, "  none: every message passed DMARC");
            }
            for r in &self.top_failing {
                let from: Vec<&str> = r.header_from.iter().map(String::as_str).collect();
                let source = match &r.name {
                    Some(name) => format!("{} ({name})", r.key),
                    None => r.key.clone(),
                };
                let _ = writeln!(
                    out,
                    "  {:<40} {:>9} failed of {:>9}  From: {}",
                    source,
                    r.tally.failed(),
                    r.tally.messages,
                    from.join(", ")
                );
            }
        }
        if !self.failures.is_empty() {
            let _ = writeln!(
                out,
                "\nFailure reports (reported domain, failure: incidents):"
            );
            for (k, n) in &self.failures {
                let _ = writeln!(out, "  {k}: {n}");
            }
        }
        out
    }
}

/// The CSV header of [`csv`].
pub const CSV_HEADER: &str = "source,edition,org_name,report_id,begin,end,policy_domain,p,sp,source_ip,count,disposition,dkim_aligned,spf_aligned,dmarc,header_from,envelope_from,envelope_to,dkim_domains,dkim_results,spf_domains,spf_results,reasons";

fn field(out: &mut String, value: &str) {
    if value.contains([',', '"', '\n', '\r']) {
        out.push('"');
        out.push_str(&value.replace('"', "\"\""));
        out.push('"');
    } else {
        out.push_str(value);
    }
}

/// One CSV row per aggregate-report record (RFC 4180 quoting), with [`CSV_HEADER`] first.
/// Several DKIM or SPF results are joined with `;`.
pub fn csv(reports: &[Report]) -> String {
    let mut out = String::from(CSV_HEADER);
    out.push_str("\r\n");
    for report in reports {
        csv_rows(&mut out, report);
    }
    out
}

/// Appends the CSV rows of one report's records to `out` (nothing for a failure report):
/// [`csv`] without the header, for a caller that writes reports as they are read.
pub fn csv_rows(out: &mut String, report: &Report) {
    {
        let Report::Aggregate(a) = report else {
            return;
        };
        for r in &a.records {
            let cols: [String; 23] = [
                a.source.clone(),
                a.edition.as_str().to_owned(),
                a.org_name.clone(),
                a.report_id.clone(),
                a.begin.to_string(),
                a.end.to_string(),
                a.policy.domain.clone(),
                a.policy.p.clone().unwrap_or_default(),
                a.policy.sp.clone().unwrap_or_default(),
                r.source_ip.clone(),
                r.count.to_string(),
                r.disposition.clone(),
                r.dkim_aligned.clone(),
                r.spf_aligned.clone(),
                if r.dmarc_pass() { "pass" } else { "fail" }.to_owned(),
                r.header_from.clone(),
                r.envelope_from.clone().unwrap_or_default(),
                r.envelope_to.clone().unwrap_or_default(),
                r.dkim
                    .iter()
                    .map(|d| d.domain.as_str())
                    .collect::<Vec<_>>()
                    .join(";"),
                r.dkim
                    .iter()
                    .map(|d| d.result.as_str())
                    .collect::<Vec<_>>()
                    .join(";"),
                r.spf
                    .iter()
                    .map(|d| d.domain.as_str())
                    .collect::<Vec<_>>()
                    .join(";"),
                r.spf
                    .iter()
                    .map(|d| d.result.as_str())
                    .collect::<Vec<_>>()
                    .join(";"),
                r.reasons
                    .iter()
                    .map(|d| d.kind.as_str())
                    .collect::<Vec<_>>()
                    .join(";"),
            ];
            for (i, c) in cols.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                field(out, c);
            }
            out.push_str("\r\n");
        }
    }
}
