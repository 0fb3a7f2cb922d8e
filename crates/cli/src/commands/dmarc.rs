//! `mailstamp dmarc DOMAIN`: DMARC policy discovery (RFC 9989), and with `--spf`/`--dkim` the
//! evaluation of a message's results against it.

use crate::context::Context;
use crate::exit::Exit;
use crate::options::DmarcDiscoveryArgs;
use anyhow::{Context as _, bail};
use mailstamp_dmarc::{
    DestinationStatus, DmarcResult, DmarcVerdict, EvaluationOptions, EvaluationRequest, Finding,
    Identifiers, MechanismResult, PolicyDiscovery, ReportAuthorization, TraceEntry, Walk, WalkEnd,
    authorize_reports, discover, evaluate,
};
use mailstamp_dns::Name;
use serde_json::{Value, json};
use std::fmt::Write as _;

/// Arguments of `mailstamp dmarc`.
#[derive(Debug, clap::Args)]
#[command(after_help = AFTER_HELP)]
pub struct Args {
    /// The Author Domain: the domain of the RFC5322.From address. Several domains are the
    /// several addresses of one From field (see --author-limit).
    #[arg(value_name = "DOMAIN", required = true)]
    pub domains: Vec<String>,

    /// The SPF result and the domain SPF checked (MAIL FROM domain, or HELO for a null
    /// reverse-path), as RESULT:DOMAIN, e.g. pass:bounce.example.com.
    #[arg(long, value_name = "RESULT:DOMAIN", value_parser = parse_identifier)]
    pub spf: Option<(MechanismResult, Name)>,

    /// A DKIM signature's result and signing domain (d=), as RESULT:DOMAIN. Repeatable.
    #[arg(long, value_name = "RESULT:DOMAIN", value_parser = parse_identifier)]
    pub dkim: Vec<(MechanismResult, Name)>,

    /// Print every DNS query and answer of the evaluation.
    #[arg(long)]
    pub trace: bool,

    /// DMARC policy discovery.
    #[command(flatten)]
    pub dmarc: DmarcDiscoveryArgs,
}

const AFTER_HELP: &str = "\
Without --spf and --dkim, shows the policy that applies to DOMAIN, where it was found, the
Organizational Domain, the tree walk and the check of each report address (exit 0 when a policy
applies, 1 when none does). With --spf or --dkim, evaluates DMARC: the first line of output
begins with the result (pass, fail, none, temperror, permerror) and the disposition (none,
quarantine, reject).

Exit status:
  0  success; the verdict is pass
  1  a verdict other than pass
  2  usage or input error (bad option, invalid name, malformed file)
  3  temporary failure (DNS timeout, SERVFAIL, unreachable nameserver)";

/// `RESULT:DOMAIN`.
pub fn parse_identifier(s: &str) -> Result<(MechanismResult, Name), String> {
    let (result, domain) = s
        .split_once(':')
        .ok_or_else(|| format!("expected RESULT:DOMAIN (e.g. pass:example.com), found {s:?}"))?;
    let result = result
        .parse::<MechanismResult>()
        .map_err(|e| e.to_string())?;
    let domain = Name::parse(domain).map_err(|e| format!("invalid domain {domain:?}: {e}"))?;
    Ok((result, domain))
}

/// Runs the command.
pub fn run(args: &Args, ctx: &Context) -> anyhow::Result<Exit> {
    let (text, exit) = render(args, ctx)?;
    print!("{text}");
    Ok(exit)
}

/// The command's output and exit status, without printing.
pub fn render(args: &Args, ctx: &Context) -> anyhow::Result<(String, Exit)> {
    let domains = args
        .domains
        .iter()
        .map(|d| Name::parse(d).with_context(|| format!("invalid domain name {d:?}")))
        .collect::<anyhow::Result<Vec<Name>>>()?;
    let discovery = args.dmarc.discovery()?;
    let resolver = ctx.resolver()?;
    if args.spf.is_none() && args.dkim.is_empty() {
        let [domain] = domains.as_slice() else {
            bail!("give one DOMAIN to discover its policy (several need --spf or --dkim)");
        };
        let found = ctx.block_on(mailstamp::drive(
            discover(domain.clone(), discovery),
            resolver,
        ));
        let reports = ctx.block_on(mailstamp::drive(authorize_reports(&found), resolver));
        let exit = if found.failure().is_some() && found.policy.is_none() {
            Exit::TempFail
        } else if found.policy.is_some() {
            Exit::Success
        } else {
            Exit::NotPass
        };
        let out = if ctx.json() {
            format!("{}\n", discovery_json(&found, &reports))
        } else {
            discovery_text(&found, &reports, args.trace)
        };
        return Ok((out, exit));
    }

    let mut identifiers = Identifiers::new();
    if let Some((result, domain)) = &args.spf {
        identifiers = identifiers.with_spf(*result, domain.clone());
    }
    for (result, domain) in &args.dkim {
        identifiers = identifiers.with_dkim(*result, domain.clone());
    }
    let request = EvaluationRequest {
        author_domains: domains,
        identifiers,
        discovery,
        options: EvaluationOptions {
            multiple_authors: args.dmarc.multiple_authors(),
            // A diagnostic tool: always show the Organizational Domain.
            complete_walk: true,
        },
    };
    let verdict = ctx.block_on(mailstamp::drive(evaluate(request), resolver));
    let exit = match verdict.result {
        DmarcResult::Pass => Exit::Success,
        DmarcResult::TempError => Exit::TempFail,
        DmarcResult::Fail | DmarcResult::None | DmarcResult::PermError => Exit::NotPass,
    };
    let out = if ctx.json() {
        format!("{}\n", serde_json::to_value(&verdict)?)
    } else {
        verdict_text(&verdict, args.trace)
    };
    Ok((out, exit))
}

fn walk_text(out: &mut String, walk: &Walk) {
    for step in &walk.steps {
        let name = step.query.as_ref().map_or_else(
            || format!("_dmarc.{} (too long)", step.domain),
            Name::to_string,
        );
        let what = match &step.finding {
            Finding::Record { record } => format!("record (psd={})", record.psd),
            Finding::None { why } => match why {
                mailstamp_dmarc::NoRecord::NxDomain => "NXDOMAIN".to_owned(),
                mailstamp_dmarc::NoRecord::NoData => "no TXT record".to_owned(),
                mailstamp_dmarc::NoRecord::NotDmarc { txt_records } => {
                    format!("{txt_records} TXT record(s), none v=DMARC1")
                }
                mailstamp_dmarc::NoRecord::MultipleRecords { count } => {
                    format!("{count} DMARC records: all discarded")
                }
                mailstamp_dmarc::NoRecord::NameTooLong => "not asked".to_owned(),
            },
            Finding::Failed { kind } => format!("failed ({kind})"),
        };
        let _ = writeln!(out, "    {name:<40} {what}");
    }
    let end = match &walk.end {
        WalkEnd::PsdTag { domain } => format!("stopped at the psd tag of {domain}"),
        WalkEnd::Exhausted => "reached the top".to_owned(),
        WalkEnd::FirstRecord => "stopped at the first record".to_owned(),
        WalkEnd::NotNeeded => "rest not needed".to_owned(),
        WalkEnd::Failed { domain, kind } => format!("failed at {domain} ({kind})"),
    };
    let _ = writeln!(out, "    ({} queries; {end})", walk.queries_sent());
}

fn trace_text(out: &mut String, entries: impl Iterator<Item = TraceEntry>) {
    let _ = writeln!(out, "trace:");
    for e in entries {
        let _ = writeln!(out, "  {e}");
    }
}

fn policy_lines(out: &mut String, found: &PolicyDiscovery) {
    let _ = writeln!(out, "author domain:          {}", found.author_domain);
    match &found.policy {
        Some(p) => {
            let _ = writeln!(
                out,
                "policy:                 _dmarc.{} ({}), found by {}",
                p.domain,
                p.source.as_str(),
                found.method
            );
            let _ = writeln!(out, "record:                 {}", p.record.text);
            for note in &p.record.notes() {
                let _ = writeln!(out, "  note: {note}");
            }
            match p.record.effective {
                Some(e) => {
                    let _ = writeln!(
                        out,
                        "policies:               p={} sp={} np={}{}{}",
                        e.domain,
                        e.subdomain,
                        e.nonexistent,
                        if p.record.testing {
                            " t=y (testing: one level lower)"
                        } else {
                            ""
                        },
                        if e.treated_as_none {
                            " (no valid p; treated as p=none because rua is valid)"
                        } else {
                            ""
                        }
                    );
                    let _ = writeln!(
                        out,
                        "alignment modes:        adkim={} aspf={}",
                        p.record.dkim_alignment, p.record.spf_alignment
                    );
                }
                None => {
                    let _ = writeln!(
                        out,
                        "policies:               none usable (no valid p and no valid rua: no \
                         DMARC processing)"
                    );
                }
            }
        }
        None => {
            let _ = writeln!(
                out,
                "policy:                 none found by {}",
                found.method
            );
        }
    }
    let _ = writeln!(
        out,
        "organizational domain:  {}",
        found
            .organizational_domain
            .as_ref()
            .map_or("(not determined)".to_owned(), Name::to_string)
    );
    let _ = writeln!(out, "walk from {}:", found.walk.start);
    walk_text(out, &found.walk);
}

fn discovery_text(found: &PolicyDiscovery, reports: &ReportAuthorization, trace: bool) -> String {
    let mut out = String::new();
    if let Some((domain, kind)) = found.failure() {
        let _ = writeln!(
            out,
            "temperror: DNS failure ({kind}) for _dmarc.{domain} during discovery"
        );
    }
    policy_lines(&mut out, found);
    if !reports.checks.is_empty() {
        let _ = writeln!(out, "report destinations:");
        for c in &reports.checks {
            let status = match &c.status {
                DestinationStatus::Internal => "internal".to_owned(),
                DestinationStatus::Authorized { overrides } if overrides.is_empty() => {
                    "external, authorized".to_owned()
                }
                DestinationStatus::Authorized { overrides } => format!(
                    "external, authorized, replaced by {}",
                    overrides
                        .iter()
                        .map(|u| u.uri.as_str())
                        .collect::<Vec<_>>()
                        .join(", ")
                ),
                DestinationStatus::NotAuthorized => "external, NOT authorized (ignored)".to_owned(),
                DestinationStatus::OverrideToOtherHost { host } => {
                    format!("external, override names another host ({host}): not used")
                }
                DestinationStatus::NameTooLong => {
                    "external, authorization name too long: not used".to_owned()
                }
                DestinationStatus::TempError { name, kind } => {
                    format!("external, DNS failure ({kind}) for {name}")
                }
                DestinationStatus::NoDestination => "no domain to check: not used".to_owned(),
                _ => "unknown".to_owned(),
            };
            let _ = writeln!(out, "  {} {}: {status}", c.kind, c.uri);
        }
    }
    if trace {
        trace_text(
            &mut out,
            found.trace.iter().chain(reports.trace.iter()).cloned(),
        );
    }
    out
}

fn discovery_json(found: &PolicyDiscovery, reports: &ReportAuthorization) -> Value {
    json!({
        "author_domain": found.author_domain.as_str(),
        "record": found.record(),
        "policy_domain": found.policy.as_ref().map(|p| p.domain.as_str()),
        "policy_source": found.policy.as_ref().map(|p| p.source),
        "organizational_domain": found.organizational_domain.as_ref().map(Name::as_str),
        "failure": found.failure().map(|(d, k)| json!({"domain": d.as_str(), "kind": k.as_str()})),
        "discovery": found,
        "reports": reports,
    })
}

fn headline(v: &DmarcVerdict) -> String {
    let mut line = format!("{} {}", v.result, v.disposition);
    match (&v.problem, v.author_domain()) {
        (Some(p), Some(d)) => {
            let _ = write!(line, ": {p} ({d})");
        }
        (Some(p), None) => {
            let _ = write!(line, ": {p}");
        }
        (None, Some(d)) => {
            let aligned: Vec<String> = v
                .alignment
                .iter()
                .filter(|a| a.is_aligned_pass())
                .map(|a| format!("{} {}", a.mechanism, a.domain))
                .collect();
            let _ = write!(line, ": {d} aligned with {}", aligned.join(", "));
        }
        (None, None) => {}
    }
    line
}

fn verdict_text(v: &DmarcVerdict, trace: bool) -> String {
    let mut out = headline(v);
    out.push('\n');
    let sub: Vec<&DmarcVerdict> = if v.authors().is_empty() {
        vec![v]
    } else {
        v.authors().iter().collect()
    };
    for (i, one) in sub.iter().enumerate() {
        if !v.authors().is_empty() {
            let _ = writeln!(out, "\n[{}] {}", i + 1, headline(one));
        }
        verdict_body(&mut out, one);
        if trace {
            trace_text(&mut out, one.all_queries().cloned());
        }
    }
    out
}

fn verdict_body(out: &mut String, v: &DmarcVerdict) {
    if let Some(found) = &v.discovery {
        policy_lines(out, found);
    }
    if let (Some(tag), Some(policy)) = (v.policy_tag, v.requested_policy) {
        let exists = match v.author_domain_exists {
            Some(true) => " (the author domain exists)",
            Some(false) => " (the author domain does not exist)",
            None => "",
        };
        let testing = if v.testing { ", t=y lowers it" } else { "" };
        let _ = writeln!(
            out,
            "policy applied:         {tag}={policy}{exists}{testing} -> disposition {}",
            v.disposition
        );
    }
    if !v.alignment.is_empty() {
        let _ = writeln!(out, "alignment:");
        for a in &v.alignment {
            let status = match (&a.why_not, a.aligned) {
                (None, _) => "aligned".to_owned(),
                (Some(why), _) => format!("not aligned: {why}"),
            };
            let org = a
                .organizational_domain
                .as_ref()
                .map(|o| format!(" (organizational domain {o})"))
                .unwrap_or_default();
            let _ = writeln!(
                out,
                "  {:<4} {:<9} {:<30} {:<7} {status}{org}",
                a.mechanism.as_str(),
                a.result.as_str(),
                a.domain.as_str(),
                a.mode.as_str()
            );
        }
    }
    for walk in v.walks() {
        let _ = writeln!(out, "walk from {}:", walk.start);
        walk_text(out, walk);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn identifiers_parse() {
        let (r, d) = parse_identifier("pass:Example.COM.").unwrap();
        assert_eq!(r, MechanismResult::Pass);
        assert_eq!(d.as_str(), "example.com");
        assert!(parse_identifier("pass").is_err());
        assert!(parse_identifier("maybe:example.com").is_err());
        assert!(parse_identifier("pass:a..b").is_err());
    }
}
