//! `mailstamp records DOMAIN`: the SPF, DMARC and DKIM records to publish, built from options,
//! validated before they are printed.

use crate::context::Context;
use crate::exit::Exit;
use crate::input;
use anyhow::{Context as _, bail};
use mailstamp_audit::records::{
    AllQualifier, DkimPlan, DmarcPlan, Plan, RecordKind, RecordsReport, SpfPlan, TxtRecord, check,
};
use mailstamp_audit::{Finding, Severity, parse_domain};
use mailstamp_dmarc::{Alignment, Policy};
use mailstamp_spf::{MAX_DNS_MECHANISMS, MAX_VOID_LOOKUPS};
use serde_json::json;
use std::fmt::Write as _;
use std::path::PathBuf;

/// How the records are printed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Format {
    /// Master-file lines (BIND and most DNS servers): values split into quoted strings of at
    /// most 255 bytes.
    Zone,
    /// Each record's name, then its value on one line, for web DNS panels.
    Value,
    /// A JSON document (the global --json implies it).
    Json,
}

/// A DMARC policy value.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum PolicyArg {
    /// No preference: receivers only report.
    None,
    /// Failing mail is suspicious.
    Quarantine,
    /// Failing mail should be rejected.
    Reject,
}

impl From<PolicyArg> for Policy {
    fn from(p: PolicyArg) -> Policy {
        match p {
            PolicyArg::None => Policy::None,
            PolicyArg::Quarantine => Policy::Quarantine,
            PolicyArg::Reject => Policy::Reject,
        }
    }
}

/// An alignment mode.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum AlignmentArg {
    /// Relaxed: same organizational domain.
    #[value(alias = "relaxed")]
    R,
    /// Strict: identical domains.
    #[value(alias = "strict")]
    S,
}

impl From<AlignmentArg> for Alignment {
    fn from(a: AlignmentArg) -> Alignment {
        match a {
            AlignmentArg::R => Alignment::Relaxed,
            AlignmentArg::S => Alignment::Strict,
        }
    }
}

fn parse_all(s: &str) -> Result<AllQualifier, String> {
    s.parse::<AllQualifier>().map_err(|e| e.to_string())
}

/// Arguments of `mailstamp records`.
#[derive(Debug, clap::Args)]
#[command(after_help = AFTER_HELP)]
pub struct Args {
    /// The domain the records are for. U-labels are converted to A-labels; IP addresses are
    /// refused.
    #[arg(value_name = "DOMAIN")]
    pub domain: String,

    /// SPF: an IPv4 network allowed to send (192.0.2.0/24 or an address). Repeatable.
    #[arg(long, value_name = "NET", help_heading = "SPF (RFC 7208)")]
    pub spf_ip4: Vec<String>,

    /// SPF: an IPv6 network allowed to send (2001:db8::/32 or an address). Repeatable.
    #[arg(long, value_name = "NET", help_heading = "SPF (RFC 7208)")]
    pub spf_ip6: Vec<String>,

    /// SPF: a domain whose SPF record is included (a mail provider's). Repeatable.
    #[arg(long, value_name = "DOMAIN", help_heading = "SPF (RFC 7208)")]
    pub spf_include: Vec<String>,

    /// SPF: allow the domain's MX hosts; --spf-mx=OTHER for another domain's, --spf-mx=/24
    /// for their networks. Repeatable.
    #[arg(long, value_name = "DOMAIN", num_args = 0..=1, require_equals = true,
          default_missing_value = "", help_heading = "SPF (RFC 7208)")]
    pub spf_mx: Vec<String>,

    /// SPF: allow the domain's own addresses (A/AAAA); --spf-a=HOST for another host's.
    /// Repeatable.
    #[arg(long, value_name = "HOST", num_args = 0..=1, require_equals = true,
          default_missing_value = "", help_heading = "SPF (RFC 7208)")]
    pub spf_a: Vec<String>,

    /// SPF: what the final "all" says about every other host: fail (-all, the default),
    /// softfail (~all) or neutral (?all). pass (+all) is refused.
    #[arg(long, value_name = "QUALIFIER", value_parser = parse_all, help_heading = "SPF (RFC 7208)")]
    pub spf_all: Option<AllQualifier>,

    /// DMARC: the policy (p=) for mail that fails DMARC. Needed by the other --dmarc options.
    #[arg(
        long,
        value_enum,
        value_name = "POLICY",
        help_heading = "DMARC (RFC 9989)"
    )]
    pub dmarc_policy: Option<PolicyArg>,

    /// DMARC: the policy for subdomains (sp=).
    #[arg(
        long,
        value_enum,
        value_name = "POLICY",
        requires = "dmarc_policy",
        help_heading = "DMARC (RFC 9989)"
    )]
    pub dmarc_sp: Option<PolicyArg>,

    /// DMARC: the policy for non-existent subdomains (np=).
    #[arg(
        long,
        value_enum,
        value_name = "POLICY",
        requires = "dmarc_policy",
        help_heading = "DMARC (RFC 9989)"
    )]
    pub dmarc_np: Option<PolicyArg>,

    /// DMARC: DKIM alignment (adkim=): r (relaxed) or s (strict).
    #[arg(
        long,
        value_enum,
        value_name = "MODE",
        requires = "dmarc_policy",
        help_heading = "DMARC (RFC 9989)"
    )]
    pub dmarc_adkim: Option<AlignmentArg>,

    /// DMARC: SPF alignment (aspf=): r (relaxed) or s (strict).
    #[arg(
        long,
        value_enum,
        value_name = "MODE",
        requires = "dmarc_policy",
        help_heading = "DMARC (RFC 9989)"
    )]
    pub dmarc_aspf: Option<AlignmentArg>,

    /// DMARC: where aggregate reports go (rua=): a mailto: URI or an address. Repeatable.
    #[arg(
        long,
        value_name = "URI",
        requires = "dmarc_policy",
        help_heading = "DMARC (RFC 9989)"
    )]
    pub dmarc_rua: Vec<String>,

    /// DMARC: where failure reports go (ruf=). Repeatable.
    #[arg(
        long,
        value_name = "URI",
        requires = "dmarc_policy",
        help_heading = "DMARC (RFC 9989)"
    )]
    pub dmarc_ruf: Vec<String>,

    /// DMARC: testing mode (t=y): receivers apply the policy one level lower.
    #[arg(long, requires = "dmarc_policy", help_heading = "DMARC (RFC 9989)")]
    pub dmarc_testing: bool,

    /// DKIM: a private key file (PEM, PKCS#8 or PKCS#1); its public half is published. Give
    /// one --selector per --dkim-key, in the same order. Repeatable.
    #[arg(long, value_name = "FILE", help_heading = "DKIM (RFC 6376)")]
    pub dkim_key: Vec<PathBuf>,

    /// DKIM: the selector of the --dkim-key given in the same position.
    #[arg(long = "selector", value_name = "S", help_heading = "DKIM (RFC 6376)")]
    pub selectors: Vec<String>,

    /// How to print the records.
    #[arg(long, value_enum, default_value = "zone")]
    pub format: Format,

    /// Check syntax only: do not follow SPF includes nor check report destinations in the DNS.
    #[arg(long)]
    pub no_dns: bool,
}

const AFTER_HELP: &str = "\
Prints the records on standard output and what validating them found on standard error
(a warning or error per line, with its RFC section and the fix). Each record is checked as if
it were published: SPF syntax, the worst-case lookup count following the published includes
(at most 10), void lookups (at most 2), +all and ptr in included records, records over 512
bytes; DMARC per RFC 9989, p=none without rua, rua/ruf destinations outside the domain that
have not authorised it (RFC 9990 §4). The private key files are read for their public half
only: no private material is printed.

Exit status:
  0  the records were printed; no error found (warnings may have been)
  1  the records were printed, but validation found an error (receivers would fail them)
  2  usage or input error (invalid domain or value, unreadable key, pass for --spf-all)
  3  a DNS lookup failed during validation (the records were printed; the checks are incomplete)";

/// Builds the plan from the options (reading the key files).
fn plan(args: &Args) -> anyhow::Result<Plan> {
    let mut plan = Plan::default();
    let any_spf = !(args.spf_ip4.is_empty()
        && args.spf_ip6.is_empty()
        && args.spf_include.is_empty()
        && args.spf_mx.is_empty()
        && args.spf_a.is_empty()
        && args.spf_all.is_none());
    if any_spf {
        let opt = |v: &String| (!v.is_empty()).then(|| v.clone());
        plan.spf = Some(SpfPlan {
            ip4: args.spf_ip4.clone(),
            ip6: args.spf_ip6.clone(),
            a: args.spf_a.iter().map(opt).collect(),
            mx: args.spf_mx.iter().map(opt).collect(),
            include: args.spf_include.clone(),
            all: args.spf_all.unwrap_or_default(),
        });
    }
    if let Some(p) = args.dmarc_policy {
        plan.dmarc = Some(DmarcPlan {
            policy: p.into(),
            subdomain_policy: args.dmarc_sp.map(Into::into),
            nonexistent_policy: args.dmarc_np.map(Into::into),
            dkim_alignment: args.dmarc_adkim.map(Into::into),
            spf_alignment: args.dmarc_aspf.map(Into::into),
            rua: args.dmarc_rua.clone(),
            ruf: args.dmarc_ruf.clone(),
            testing: args.dmarc_testing,
        });
    }
    if args.dkim_key.len() != args.selectors.len() {
        bail!(
            "give one --selector per --dkim-key, in the same order (got {} and {})",
            plural(args.dkim_key.len(), "key"),
            plural(args.selectors.len(), "selector")
        );
    }
    for (path, selector) in args.dkim_key.iter().zip(&args.selectors) {
        let key = input::read_signing_key(path)?;
        plan.dkim.push(DkimPlan {
            selector: selector.clone(),
            key: key.public_key().clone(),
        });
    }
    if plan.is_empty() {
        bail!(
            "nothing to publish: give SPF options (--spf-mx, --spf-ip4, ...), --dmarc-policy, \
             or --dkim-key with --selector"
        );
    }
    Ok(plan)
}

fn plural(n: usize, one: &str) -> String {
    if n == 1 {
        format!("1 {one}")
    } else {
        format!("{n} {one}s")
    }
}

/// Runs the command.
pub fn run(args: &Args, ctx: &Context) -> anyhow::Result<Exit> {
    let (stdout, stderr, exit) = render(args, ctx)?;
    eprint!("{stderr}");
    print!("{stdout}");
    Ok(exit)
}

/// The command's standard output, standard error and exit status, without printing.
pub fn render(args: &Args, ctx: &Context) -> anyhow::Result<(String, String, Exit)> {
    let domain = parse_domain(&args.domain).context("invalid domain")?;
    let plan = plan(args)?;
    let resolver = if args.no_dns {
        None
    } else {
        Some(ctx.resolver()?)
    };
    let report = ctx.block_on(check(resolver, &domain.name, &plan))?;
    let exit = if !report.dns_failures.is_empty() {
        Exit::TempFail
    } else if report
        .findings
        .iter()
        .any(|f| f.severity == Severity::Error)
    {
        Exit::NotPass
    } else {
        Exit::Success
    };
    let format = if ctx.json() {
        Format::Json
    } else {
        args.format
    };
    let mut err = String::new();
    if domain.converted && format != Format::Json {
        let _ = writeln!(
            err,
            "note: {} was converted to its A-label form {} (IDNA)",
            domain.input.trim(),
            domain.name
        );
    }
    let out = match format {
        Format::Json => {
            let mut v = serde_json::to_value(&report)?;
            if let serde_json::Value::Object(map) = &mut v {
                map.insert("input".into(), json!(domain.input));
                map.insert("converted_to_a_labels".into(), json!(domain.converted));
                map.insert("complete".into(), json!(report.dns_failures.is_empty()));
                map.insert("exit".into(), json!(exit.code()));
            }
            format!("{}\n", serde_json::to_string_pretty(&v)?)
        }
        Format::Zone => zone_text(&report),
        Format::Value => value_text(&report),
    };
    if format != Format::Json {
        diagnostics(&mut err, &report);
    }
    Ok((out, err, exit))
}

fn comment(report: &RecordsReport, r: &TxtRecord) -> String {
    match r.kind {
        RecordKind::Spf => match &report.spf {
            Some(spf) if spf.result.is_some() => format!(
                "SPF for {} (RFC 7208): {}{} of {MAX_DNS_MECHANISMS} DNS lookups and {} of \
                 {MAX_VOID_LOOKUPS} void lookups in the worst case",
                report.domain,
                if spf.complete { "" } else { "at least " },
                spf.lookups,
                spf.void_lookups
            ),
            _ => format!("SPF for {} (RFC 7208)", report.domain),
        },
        RecordKind::Dmarc => format!("DMARC for {} (RFC 9989)", report.domain),
        RecordKind::Dkim => format!(
            "DKIM key for {}, selector {}: {}, {} bits (RFC 6376)",
            report.domain,
            r.selector.as_deref().unwrap_or(""),
            r.key_type.map_or("unknown", |k| k.as_str()),
            r.bits.unwrap_or(0)
        ),
    }
}

fn zone_text(report: &RecordsReport) -> String {
    let mut out = String::new();
    for r in &report.records {
        let _ = writeln!(out, "; {}", comment(report, r));
        let _ = writeln!(out, "{}", r.zone_line());
    }
    out
}

fn value_text(report: &RecordsReport) -> String {
    let mut out = String::new();
    for (i, r) in report.records.iter().enumerate() {
        if i > 0 {
            out.push('\n');
        }
        let _ = writeln!(out, "{} TXT", r.name);
        let _ = writeln!(out, "{}", r.value);
    }
    out
}

fn finding_line(out: &mut String, f: &Finding) {
    let _ = writeln!(
        out,
        "{}[{}] {}: {} ({})",
        f.severity, f.code, f.subject, f.message, f.rfc
    );
    let _ = writeln!(out, "  fix: {}", f.fix);
}

fn diagnostics(out: &mut String, report: &RecordsReport) {
    if !report.dns_checked {
        let _ = writeln!(
            out,
            "note: DNS not used (--no-dns): includes not followed, report destinations not checked"
        );
    }
    for f in &report.findings {
        finding_line(out, f);
    }
    if !report.dns_failures.is_empty() {
        let failed: Vec<String> = report
            .dns_failures
            .iter()
            .map(|f| format!("{} ({})", f.query, f.failure))
            .collect();
        let _ = writeln!(
            out,
            "incomplete: {} failed: {}",
            plural(report.dns_failures.len(), "lookup"),
            failed.join(", ")
        );
    }
}
