//! `mailstamp audit DOMAIN [--selector S …] [--fail-on warning|error]`: checks what a domain
//! publishes (SPF, DMARC, DKIM keys, MX) and reports every problem with its severity, RFC
//! section and fix.

use super::spf::render_trace;
use crate::context::Context;
use crate::exit::Exit;
use anyhow::Context as _;
use mailstamp_audit::{
    Area, AuditOptions, AuditReport, COMMON_SELECTORS, DomainInput, Finding, Severity, audit,
    parse_domain,
};
use mailstamp_spf::{MAX_DNS_MECHANISMS, MAX_VOID_LOOKUPS};
use serde_json::{Value, json};
use std::fmt::Write as _;

/// The lowest severity that makes `audit` exit with 1.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum FailOn {
    /// Exit 1 when there is a warning or an error.
    Warning,
    /// Exit 1 when there is an error (the default).
    Error,
}

impl FailOn {
    /// The severity it stands for.
    pub fn severity(self) -> Severity {
        match self {
            FailOn::Warning => Severity::Warning,
            FailOn::Error => Severity::Error,
        }
    }
}

/// Arguments of `mailstamp audit`.
#[derive(Debug, clap::Args)]
#[command(after_help = after_help())]
pub struct Args {
    /// The domain to audit. U-labels (bücher.example) are converted to A-labels
    /// (xn--bcher-kva.example); IP addresses are refused.
    #[arg(value_name = "DOMAIN")]
    pub domain: String,

    /// A DKIM selector the domain signs with (repeatable): its key is checked, and a missing
    /// key is an error. Common selector names are probed as well (see --no-probe).
    #[arg(long = "selector", value_name = "S")]
    pub selectors: Vec<String>,

    /// Exit 1 when a finding of this severity or worse exists.
    #[arg(long, value_enum, default_value = "error")]
    pub fail_on: FailOn,

    /// Do not probe the common DKIM selector names; check only --selector ones.
    #[arg(long)]
    pub no_probe: bool,

    /// Also draw the whole SPF evaluation (every term, query and answer), as `mailstamp spf
    /// --trace` does.
    #[arg(long)]
    pub trace: bool,
}

fn after_help() -> String {
    format!(
        "\
Findings are grouped by area (SPF, DMARC, DKIM, MX); each has a severity (error, warning,
info), a stable code (--json: \"code\"), the RFC section and the fix in one sentence.

SPF lookups are counted for a client address no record lists ({ip}), so every term is
evaluated: the worst case. DKIM selectors cannot be listed from the DNS; besides --selector,
these common names are probed: {selectors}.

A lookup that fails (timeout, SERVFAIL) is reported as a finding (spf-dns-failure,
dmarc-dns-failure, dkim-dns-failure, mx-dns-failure) and in \"dns_failures\"; everything else
is still checked and shown, but the audit is incomplete and exits with 3.

Exit status:
  0  no finding at or above --fail-on
  1  a finding at or above --fail-on (default: error)
  2  usage or input error (IP literal, invalid or too long domain, invalid selector)
  3  a DNS lookup failed: the audit is incomplete",
        ip = mailstamp_audit::SPF_PROBE_IP,
        selectors = COMMON_SELECTORS.join(", ")
    )
}

/// Runs the command.
pub fn run(args: &Args, ctx: &Context) -> anyhow::Result<Exit> {
    let (text, exit) = render(args, ctx)?;
    print!("{text}");
    Ok(exit)
}

/// The command's output and exit status, without printing.
pub fn render(args: &Args, ctx: &Context) -> anyhow::Result<(String, Exit)> {
    let domain = parse_domain(&args.domain).context("invalid domain")?;
    let options = AuditOptions {
        selectors: args.selectors.clone(),
        probe_common_selectors: !args.no_probe,
    };
    let resolver = ctx.resolver()?;
    let report = ctx.block_on(audit(resolver, &domain.name, &options))?;
    let exit = exit_for(&report, args.fail_on);
    let text = if ctx.json() {
        format!(
            "{}\n",
            serde_json::to_string_pretty(&to_json(&domain, &report, args.fail_on, exit)?)?
        )
    } else {
        human(&domain, &report, args, exit)
    };
    Ok((text, exit))
}

/// 3 when a lookup failed (the audit is incomplete), else 1 when a finding reaches
/// `fail_on`, else 0.
pub fn exit_for(report: &AuditReport, fail_on: FailOn) -> Exit {
    if !report.is_complete() {
        Exit::TempFail
    } else if report.worst().is_some_and(|w| w >= fail_on.severity()) {
        Exit::NotPass
    } else {
        Exit::Success
    }
}

fn to_json(
    domain: &DomainInput,
    report: &AuditReport,
    fail_on: FailOn,
    exit: Exit,
) -> anyhow::Result<Value> {
    let mut v = serde_json::to_value(report)?;
    if let Value::Object(map) = &mut v {
        map.insert("input".into(), json!(domain.input));
        map.insert("converted_to_a_labels".into(), json!(domain.converted));
        map.insert("complete".into(), json!(report.is_complete()));
        map.insert("fail_on".into(), json!(fail_on.severity().as_str()));
        map.insert("exit".into(), json!(exit.code()));
        map.insert(
            "summary".into(),
            json!({
                "error": report.count(Severity::Error),
                "warning": report.count(Severity::Warning),
                "info": report.count(Severity::Info),
            }),
        );
    }
    Ok(v)
}

fn plural(n: usize, one: &str) -> String {
    match (n, one.strip_suffix('y')) {
        (1, _) => format!("1 {one}"),
        (_, Some(stem)) => format!("{n} {stem}ies"),
        (_, None) => format!("{n} {one}s"),
    }
}

fn counts<'a>(findings: impl Iterator<Item = &'a Finding>) -> String {
    let (mut e, mut w, mut i) = (0, 0, 0);
    for f in findings {
        match f.severity {
            Severity::Error => e += 1,
            Severity::Warning => w += 1,
            Severity::Info => i += 1,
        }
    }
    if e + w + i == 0 {
        return "no findings".to_owned();
    }
    format!(
        "{}, {}, {}",
        plural(e, "error"),
        plural(w, "warning"),
        plural(i, "info")
    )
}

fn finding_lines(out: &mut String, f: &Finding) {
    let _ = writeln!(
        out,
        "  {:<7} {}: {} ({})",
        f.severity.as_str(),
        f.code,
        f.message,
        f.rfc
    );
    let _ = writeln!(out, "          fix: {}", f.fix);
}

fn spf_details(out: &mut String, report: &AuditReport, trace: bool) {
    let spf = &report.spf;
    for r in &spf.records {
        let _ = writeln!(out, "  record: {r}");
    }
    if spf.result.is_none() {
        return;
    }
    let bound = if spf.complete { "" } else { "at least " };
    let _ = writeln!(
        out,
        "  worst case: {bound}{} of {MAX_DNS_MECHANISMS} lookups, {bound}{} of {MAX_VOID_LOOKUPS} \
         void lookups{}",
        spf.lookups,
        spf.void_lookups,
        if spf.complete {
            String::new()
        } else {
            format!(
                " (the evaluation stopped early: {})",
                spf.problem
                    .as_deref()
                    .unwrap_or("an include matched every address")
            )
        }
    );
    let _ = writeln!(out, "  lookups per branch:");
    for b in &spf.branches {
        let label = format!("{}{}", "  ".repeat(b.depth), b.domain);
        let _ = writeln!(
            out,
            "    {label:<40} {:>2} ({} in the record itself), {} void",
            plural(b.lookups, "lookup"),
            b.own_lookups,
            b.void_lookups
        );
    }
    for u in &spf.unreached {
        let _ = writeln!(
            out,
            "    {u:<40} not reached by the evaluation; checked on its own"
        );
    }
    if trace && !spf.trace.is_empty() {
        let _ = writeln!(out, "  evaluation for {}:", mailstamp_audit::SPF_PROBE_IP);
        for line in render_trace(&spf.trace, MAX_VOID_LOOKUPS).lines() {
            let _ = writeln!(out, "  {line}");
        }
    }
}

fn dmarc_details(out: &mut String, report: &AuditReport) {
    let Some(found) = &report.dmarc.discovery else {
        return;
    };
    match &found.policy {
        Some(p) => {
            let _ = writeln!(
                out,
                "  policy: _dmarc.{} ({}): {}",
                p.domain,
                p.source.as_str(),
                p.record.text
            );
        }
        None => {
            let _ = writeln!(out, "  policy: none found");
        }
    }
    if let Some(org) = &found.organizational_domain {
        let _ = writeln!(out, "  organizational domain: {org}");
    }
    let _ = writeln!(
        out,
        "  tree walk: {} ({})",
        found
            .walk
            .steps
            .iter()
            .filter_map(|s| s.query.as_ref().map(ToString::to_string))
            .collect::<Vec<_>>()
            .join(", "),
        plural(found.walk.queries_sent(), "query")
    );
    if let Some(old) = &report.dmarc.legacy {
        let same =
            old.policy.as_ref().map(|p| &p.domain) == found.policy.as_ref().map(|p| &p.domain);
        let what = match (&old.policy, old.failure()) {
            (_, Some((at, kind))) => format!("failed at _dmarc.{at} ({kind})"),
            (Some(_), None) if same => "the same record".to_owned(),
            (Some(p), None) => format!("_dmarc.{} instead", p.domain),
            (None, None) if same => "no policy either".to_owned(),
            (None, None) => "no policy".to_owned(),
        };
        let _ = writeln!(
            out,
            "  legacy RFC 7489 discovery (Public Suffix List): {what}"
        );
    }
    if let Some(reports) = &report.dmarc.reports {
        for c in &reports.checks {
            let _ = writeln!(
                out,
                "  {} {}: {}",
                c.kind,
                c.uri.uri,
                if c.status.allows_reports() {
                    "reports allowed"
                } else {
                    "no reports sent"
                }
            );
        }
    }
}

fn dkim_details(out: &mut String, report: &AuditReport) {
    for s in &report.dkim.selectors {
        let c = &s.check;
        let what = match (c.key_type, c.bits) {
            (Some(k), Some(b)) => format!("{k} key, {b} bits"),
            (Some(k), None) => format!("{k} key, revoked"),
            _ if c.records.is_empty() => "no record".to_owned(),
            _ => "unusable record".to_owned(),
        };
        let _ = writeln!(
            out,
            "  selector {} ({}): {what}",
            s.selector,
            if s.given { "given" } else { "probed" }
        );
    }
    if !report.dkim.probed.is_empty() {
        let _ = writeln!(
            out,
            "  {} common selector names probed (mailstamp audit --help lists them)",
            report.dkim.probed.len()
        );
    }
}

fn mx_details(out: &mut String, report: &AuditReport) {
    for h in &report.mx.hosts {
        match &h.exchange {
            None => {
                let _ = writeln!(out, "  MX {} . (null MX)", h.preference);
            }
            Some(x) => {
                let alias = h
                    .alias_of
                    .as_ref()
                    .map(|a| format!(" -> alias of {a}"))
                    .unwrap_or_default();
                let addrs: Vec<String> = h.addresses.iter().map(ToString::to_string).collect();
                let _ = writeln!(
                    out,
                    "  MX {} {x}{alias}{}",
                    h.preference,
                    if addrs.is_empty() {
                        String::new()
                    } else {
                        format!(": {}", addrs.join(", "))
                    }
                );
            }
        }
    }
    if !report.mx.implicit.is_empty() {
        let addrs: Vec<String> = report.mx.implicit.iter().map(ToString::to_string).collect();
        let _ = writeln!(out, "  no MX; implicit MX: {}", addrs.join(", "));
    }
}

/// The human-readable report: findings grouped by area, with the details behind them.
pub fn human(domain: &DomainInput, report: &AuditReport, args: &Args, exit: Exit) -> String {
    let mut out = String::new();
    let _ = writeln!(out, "audit of {}", report.domain);
    if domain.converted {
        let _ = writeln!(
            out,
            "note: {} was converted to its A-label form {} (IDNA)",
            domain.input.trim(),
            report.domain
        );
    }
    for area in Area::ALL {
        let _ = writeln!(out, "\n{}: {}", area.title(), counts(report.in_area(area)));
        match area {
            Area::Spf => spf_details(&mut out, report, args.trace),
            Area::Dmarc => dmarc_details(&mut out, report),
            Area::Dkim => dkim_details(&mut out, report),
            Area::Mx => mx_details(&mut out, report),
        }
        for f in report.in_area(area) {
            finding_lines(&mut out, f);
        }
    }
    out.push('\n');
    if !report.is_complete() {
        let failed: Vec<String> = report
            .dns_failures
            .iter()
            .take(5)
            .map(|f| format!("{} ({})", f.query, f.failure))
            .collect();
        let more = report.dns_failures.len().saturating_sub(failed.len());
        let _ = writeln!(
            out,
            "incomplete: {} failed: {}{}",
            plural(report.dns_failures.len(), "lookup"),
            failed.join(", "),
            if more > 0 {
                format!(" and {more} more (--json lists them)")
            } else {
                String::new()
            }
        );
    }
    let _ = writeln!(
        out,
        "summary: {} (exit {}, --fail-on {})",
        counts(report.findings.iter()),
        exit.code(),
        args.fail_on.severity()
    );
    out
}
