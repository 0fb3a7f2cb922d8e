//! `mailstamp spf --ip IP --mail-from ADDR [--helo HOST] [--record TEXT] [--trace]`: RFC 7208
//! `check_host()` for one client, with the evaluation drawn as a tree.

use crate::context::Context;
use crate::exit::Exit;
use anyhow::bail;
use mailstamp_spf::{
    Identity, MAX_DNS_MECHANISMS, Options, RecordSource, Request, SpfResult, SpfVerdict,
    TermOutcome, TraceEvent, is_spf_record,
};
use serde_json::Value;
use std::fmt::Write as _;
use std::net::IpAddr;

/// Which identity to check.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum IdentityArg {
    /// The MAIL FROM address (RFC 7208 §2.4); a null reverse-path checks postmaster@HELO.
    Mailfrom,
    /// The HELO/EHLO name (RFC 7208 §2.3).
    Helo,
}

/// Arguments of `mailstamp spf`.
#[derive(Debug, clap::Args)]
#[command(after_help = AFTER_HELP)]
pub struct Args {
    /// The SMTP client's IP address (IPv4-mapped IPv6 addresses are checked as IPv4).
    #[arg(long, value_name = "IP")]
    pub ip: IpAddr,

    /// The MAIL FROM address (the reverse-path); "" or "<>" is the null reverse-path, which
    /// checks postmaster@HELO and needs --helo.
    #[arg(long, value_name = "ADDR")]
    pub mail_from: Option<String>,

    /// The HELO/EHLO name the client gave (the %{h} macro; the domain checked for a null
    /// reverse-path or with --identity helo).
    #[arg(long, value_name = "HOST")]
    pub helo: Option<String>,

    /// Evaluate this record text for the checked domain instead of the published one (to try
    /// a record before publishing it); every other lookup happens as usual.
    #[arg(long, value_name = "TEXT")]
    pub record: Option<String>,

    /// Draw the evaluation: every term, query and answer, one level per include/redirect,
    /// with the lookup budget as it is spent.
    #[arg(long)]
    pub trace: bool,

    /// Which identity to check.
    #[arg(long, value_enum, default_value = "mailfrom")]
    pub identity: IdentityArg,

    /// The receiving host's name, for the %{r} macro of explanations.
    #[arg(long, value_name = "HOST")]
    pub receiver: Option<String>,
}

const AFTER_HELP: &str = "\
The first line of output begins with the result: pass, fail, softfail, neutral, none,
temperror or permerror (RFC 7208 §2.6). With --json: one object with result, domain,
explanation, lookups, void_lookups (and trace with --trace).

Exit status:
  0  success; the verdict is pass
  1  a verdict other than pass
  2  usage or input error (bad option, invalid name, malformed file)
  3  temporary failure (DNS timeout, SERVFAIL, unreachable nameserver)";

/// Runs the command.
pub fn run(args: &Args, ctx: &Context) -> anyhow::Result<Exit> {
    let (text, exit) = render(args, ctx)?;
    print!("{text}");
    Ok(exit)
}

/// The command's output and exit status, without printing.
pub fn render(args: &Args, ctx: &Context) -> anyhow::Result<(String, Exit)> {
    let request = request(args)?.with_now(ctx.now());
    let mut options = Options::default().with_trace(args.trace);
    if let Some(r) = &args.receiver {
        options = options.with_receiver(r.clone());
    }
    if let Some(text) = &args.record {
        if !is_spf_record(text.as_bytes()) {
            bail!("--record must begin with \"v=spf1\" (RFC 7208 §4.5), found {text:?}");
        }
        options = options.with_candidate_record(text.clone());
    }
    let resolver = ctx.resolver()?;
    let verdict = ctx.block_on(mailstamp::spf::check(resolver, &request, &options));
    let exit = match verdict.result {
        SpfResult::Pass => Exit::Success,
        SpfResult::TempError => Exit::TempFail,
        _ => Exit::NotPass,
    };
    let text = if ctx.json() {
        let mut v = serde_json::to_value(&verdict)?;
        if !args.trace
            && let Value::Object(map) = &mut v
        {
            map.remove("trace");
        }
        if let (Value::Object(map), Some(p)) = (&mut v, &verdict.problem) {
            map.insert("problem_text".into(), Value::String(p.to_string()));
        }
        format!("{}\n", serde_json::to_string_pretty(&v)?)
    } else {
        human(&verdict, options.void_lookup_limit(), args.record.is_some())
    };
    Ok((text, exit))
}

/// Builds the request, refusing input no SMTP session could carry.
fn request(args: &Args) -> anyhow::Result<Request> {
    let helo = args.helo.as_deref().unwrap_or("");
    match args.identity {
        IdentityArg::Helo => {
            if helo.is_empty() {
                bail!("--identity helo needs --helo HOST");
            }
            Ok(Request::helo(args.ip, helo))
        }
        IdentityArg::Mailfrom => {
            let Some(from) = &args.mail_from else {
                bail!("give --mail-from ADDR (\"\" for the null reverse-path), or --identity helo");
            };
            let path = from.trim();
            let path = path
                .strip_prefix('<')
                .and_then(|p| p.strip_suffix('>'))
                .unwrap_or(path);
            if path.is_empty() {
                if helo.is_empty() {
                    bail!(
                        "a null reverse-path checks postmaster@HELO (RFC 7208 §2.4): give --helo"
                    );
                }
            } else if !path.contains('@') {
                bail!("--mail-from must be an address (local-part@domain), found {from:?}");
            }
            Ok(Request::mail_from(args.ip, from, helo))
        }
    }
}

/// The human-readable report: the result first, then the details and the trace.
pub fn human(v: &SpfVerdict, void_limit: usize, candidate: bool) -> String {
    let mut out = String::new();
    let identity = match v.identity {
        Identity::MailFrom => "MAIL FROM",
        Identity::Helo => "HELO",
    };
    let _ = writeln!(
        out,
        "{} {} ({identity} {}, client {})",
        v.result,
        v.domain(),
        v.envelope_from(),
        v.client_ip
    );
    if candidate {
        let _ = writeln!(out, "record: the --record candidate, not the published one");
    }
    if let Some(m) = &v.matched {
        let _ = writeln!(out, "matched: {} (in {})", m.term(), m.domain());
    }
    if let Some(p) = &v.problem {
        let _ = writeln!(out, "problem: {p} ({})", p.rfc_section());
    }
    if let Some(e) = &v.explanation {
        let _ = writeln!(out, "explanation: {e}");
    }
    let _ = writeln!(
        out,
        "lookups: {} of {MAX_DNS_MECHANISMS}, void lookups: {} of {void_limit}",
        v.lookups, v.void_lookups
    );
    if !v.trace.is_empty() {
        out.push_str("trace:\n");
        out.push_str(&render_trace(&v.trace, void_limit));
    }
    out
}

/// Draws the trace as an indented tree: each record at its include/redirect depth, its terms
/// one level in, what a term looked up one more level in. A term that needed no DNS is one
/// line; the TXT lookup that fetched a record is shown as the record itself.
pub fn render_trace(events: &[TraceEvent], void_limit: usize) -> String {
    let mut out = String::new();
    let pad = |depth: usize, extra: usize| " ".repeat(2 + depth * 4 + extra);
    let budget = |lookups: usize, voids: usize| {
        format!("[lookups {lookups}/{MAX_DNS_MECHANISMS}, void {voids}/{void_limit}]")
    };
    let outcome_text = |outcome: &TermOutcome, result: &Option<SpfResult>| match (outcome, result) {
        (TermOutcome::Match, Some(r)) => format!("match -> {r}"),
        (TermOutcome::Match, None) => "match".to_owned(),
        (TermOutcome::NoMatch, _) => "no match".to_owned(),
    };
    let mut i = 0;
    while let Some(e) = events.get(i) {
        i += 1;
        let next = events.get(i);
        let _ = match e {
            TraceEvent::Record {
                depth,
                domain,
                text,
                source,
            } => {
                let from = match source {
                    RecordSource::Dns => String::new(),
                    other => format!("  [from {}]", other.as_str()),
                };
                writeln!(out, "{}{domain}: \"{text}\"{from}", pad(*depth, 0))
            }
            TraceEvent::Term {
                depth,
                term,
                target,
                lookups,
                void_lookups,
            } => {
                let target = match target {
                    Some(t) if !term.ends_with(t.as_str()) => format!(" -> {t}"),
                    _ => String::new(),
                };
                let budget = budget(*lookups, *void_lookups);
                match next {
                    Some(TraceEvent::Outcome {
                        depth: d,
                        term: t,
                        outcome,
                        result,
                    }) if d == depth && t == term => {
                        i += 1;
                        let what = outcome_text(outcome, result);
                        writeln!(out, "{}{term}{target}: {what}  {budget}", pad(*depth, 2))
                    }
                    _ => writeln!(out, "{}{term}{target}  {budget}", pad(*depth, 2)),
                }
            }
            TraceEvent::Query {
                depth,
                query,
                answer,
                ..
            } => match next {
                Some(TraceEvent::Record {
                    depth: d, domain, ..
                }) if d == depth && *query == format!("{domain} TXT") => Ok(()),
                _ => writeln!(out, "{}{query}: {answer}", pad(*depth, 4)),
            },
            TraceEvent::Outcome {
                depth,
                term,
                outcome,
                result,
            } => writeln!(
                out,
                "{}{term}: {}",
                pad(*depth, 4),
                outcome_text(outcome, result)
            ),
            TraceEvent::Note { depth, text } => writeln!(out, "{}note: {text}", pad(*depth, 4)),
            TraceEvent::Result {
                depth,
                domain,
                result,
            } => writeln!(out, "{}=> {result} ({domain})", pad(*depth, 0)),
        };
    }
    out
}
