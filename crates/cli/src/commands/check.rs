//! `mailstamp check`: the receiver's pipeline. SPF, DKIM and DMARC for one message (printing
//! its Authentication-Results field, the message with the field added, or every detail as
//! JSON), or for every message of an mbox, a maildir or a directory of `.eml` files, in
//! parallel, with one line per message and a summary.

use crate::context::Context;
use crate::exit::Exit;
use crate::input;
use crate::options::{DkimPolicyArgs, DmarcDiscoveryArgs};
use anyhow::{Context as _, bail};
use mailstamp::dns::Name;
use mailstamp::mailbox::{
    DEFAULT_MAX_MESSAGE_SIZE, Input, MailboxOptions, Messages, Origin, Position,
};
use mailstamp::message::envelope::Envelope;
use mailstamp::pipeline::{
    Authenticator, Bulk, BulkError, BulkItem, BulkOptions, BulkSink, BulkSummary, CheckOptions,
    EnvelopeSource, Outcome, Report, Tally, remove_forged_authentication_results,
};
use std::fmt::Write as _;
use std::io::{IsTerminal as _, Write};
use std::net::IpAddr;
use std::num::NonZeroUsize;
use std::path::PathBuf;

/// Arguments of `mailstamp check`.
#[derive(Debug, clap::Args)]
#[command(after_help = AFTER_HELP)]
pub struct Args {
    /// The message: a file, or `-` (the default) for standard input. A directory checks every
    /// `.eml` file in it (bulk).
    #[arg(value_name = "FILE|DIR|-", conflicts_with_all = ["mbox", "maildir"])]
    pub input: Option<PathBuf>,

    /// Bulk: check every message of this mbox file (`-` for standard input).
    #[arg(long, value_name = "FILE", conflicts_with = "maildir")]
    pub mbox: Option<PathBuf>,

    /// Bulk: check every message of this maildir (the directory holding cur/ and new/).
    #[arg(long, value_name = "DIR")]
    pub maildir: Option<PathBuf>,

    /// The SMTP client's IP address (SPF's `<ip>`, RFC 7208 §4.1).
    #[arg(long, value_name = "IP", requires = "helo")]
    pub ip: Option<IpAddr>,

    /// The name the client gave in HELO/EHLO.
    #[arg(long, value_name = "HOST", requires = "ip")]
    pub helo: Option<String>,

    /// The MAIL FROM reverse-path (with or without <>); "" or "<>" is the null reverse-path of
    /// a bounce, for which SPF checks the HELO name. Without it (but with --ip and --helo) only
    /// the HELO identity is checked.
    #[arg(long, value_name = "ADDR", requires = "ip", allow_hyphen_values = true)]
    pub mail_from: Option<String>,

    /// Take the envelope from the message itself: client IP and HELO from the newest Received
    /// field with a `from` clause, MAIL FROM from Return-Path. Only as trustworthy as the MTA
    /// that wrote them: use it for mail your own MX received.
    #[arg(long, conflicts_with_all = ["ip", "helo", "mail_from"])]
    pub from_received: bool,

    /// The authserv-id of the Authentication-Results field (RFC 8601 §2.5): the name
    /// downstream filters trust. Default: this host's name.
    #[arg(long, value_name = "ID")]
    pub authserv_id: Option<String>,

    /// Print the whole message with the Authentication-Results field prepended (one message
    /// only). Authentication-Results fields already in the message that claim the authserv-id
    /// (or whose authserv-id cannot be read) are removed first: only this receiver may write
    /// them (RFC 8601 §5). A note on stderr says how many were removed.
    #[arg(long, conflicts_with_all = ["mbox", "maildir"])]
    pub add_header: bool,

    /// Bulk: how many messages are checked at the same time (worker threads). Default: the
    /// number of CPU cores.
    #[arg(long, short = 'j', value_name = "N")]
    pub jobs: Option<NonZeroUsize>,

    /// Bulk: the largest message read, in bytes; a larger one is reported as an error and
    /// skipped.
    #[arg(long, value_name = "BYTES", default_value_t = DEFAULT_MAX_MESSAGE_SIZE)]
    pub max_message_size: usize,

    /// Do not check the HELO identity separately (RFC 7208 §2.3 recommends checking it).
    #[arg(long)]
    pub no_helo_check: bool,

    /// Record each DMARC evaluation (date, source IP, From domain, SPF and DKIM results and
    /// alignment, policy applied and why, the published policy) in this store, for `mailstamp
    /// report generate`: a SQLite file (`PATH` or `sqlite:PATH`, created if missing) or a
    /// PostgreSQL database (`postgres://USER[:PASSWORD]@HOST[:PORT]/DB`, the schema created
    /// and migrated; many hosts may write at once). A store that fails or is down is a warning
    /// on stderr; the verdicts and the exit status do not change.
    #[arg(long, value_name = "STORE")]
    pub record: Option<String>,

    /// An ARC sealer (the `d=` of an ARC-Seal) whose word this receiver takes (RFC 8617
    /// §7.2.1): when DMARC fails, the ARC chain passes and this sealer's
    /// ARC-Authentication-Results say DMARC (or an aligned DKIM or SPF check) passed upstream,
    /// the DMARC disposition is overridden to none (local policy, reported as
    /// `override=arc`). Repeatable; no sealer is trusted by default.
    #[arg(long = "arc-trusted-sealer", value_name = "DOMAIN")]
    pub arc_trusted_sealers: Vec<String>,

    /// DKIM verification policy.
    #[command(flatten)]
    pub dkim: DkimPolicyArgs,

    /// DMARC policy discovery.
    #[command(flatten)]
    pub dmarc: DmarcDiscoveryArgs,
}

const AFTER_HELP: &str = "\
One message: prints the Authentication-Results field (RFC 8601) with spf= (MAIL FROM, and HELO
when checked separately), one dkim= per signature, dmarc= with header.from and policy.dmarc,
and arc= (RFC 8617 §10.1: smtp.remote-ip, header.oldest-pass); --add-header prints the
message with the field on top; --json prints every verdict and detail as one JSON object
(\"spf\": {\"result\", ...}, \"dkim\": [{\"result\", \"domain\", \"selector\", ...}],
\"dmarc\": {\"result\", \"disposition\", ...}, \"dmarc_override\", \"arc\": {\"result\",
\"instances\", \"oldest_pass\", \"sealers\": [...]}, \"outcome\", \"authentication_results\").

Without --ip/--helo/--mail-from and without --from-received, SPF cannot run: it is reported
as spf=none with the reason \"no envelope\" (RFC 7208 §2.6.1), and DMARC can pass only through
an aligned DKIM signature.

Bulk (--mbox, --maildir, or a directory of .eml files): DKIM and DMARC for every message, SPF
when the envelope is given (the same for every message) or --from-received. One line per
message in input order, then a summary (results, pass rate by From domain, the most common
reasons for not passing); with --json one JSON object per line, with \"position\" (file, and
for an mbox the message's index, line and byte offset) or \"error\". A message that cannot be
read gets an error line and the run goes on.

Exit status (one message):
  0  DMARC passes; or, with no DMARC record, SPF or an aligned DKIM signature passes
  1  otherwise
  2  usage or input error (bad option, unreadable or empty file)
  3  temporary failure (a DNS lookup failed or timed out) and nothing passed
Exit status (bulk): 2 when any message could not be read; else 3 when any message had a
temporary failure; else 1 when any message did not pass; else 0.";

/// Runs the command.
pub fn run(args: &Args, ctx: &Context) -> anyhow::Result<Exit> {
    let envelope = envelope_source(args);
    let options = check_options(args, ctx)?;
    let bulk = if let Some(mbox) = &args.mbox {
        Some(Input::Mbox(if mbox.as_os_str() == "-" {
            Origin::Stdin
        } else {
            Origin::Path(mbox.clone())
        }))
    } else if let Some(dir) = &args.maildir {
        Some(Input::Maildir(dir.clone()))
    } else {
        match &args.input {
            Some(p) if p.is_dir() => Some(Input::EmlDir(p.clone())),
            _ => None,
        }
    };
    let authenticator = Authenticator::new(ctx.resolver()?.clone(), options);
    match bulk {
        Some(_) if args.add_header => {
            bail!("--add-header works on one message, not on an mbox, maildir or directory")
        }
        Some(input) => run_bulk(args, ctx, &authenticator, &input, envelope),
        None => run_one(args, ctx, &authenticator, &envelope),
    }
}

fn envelope_source(args: &Args) -> EnvelopeSource {
    if args.from_received {
        return EnvelopeSource::FromReceived;
    }
    match (args.ip, &args.helo) {
        (Some(ip), Some(helo)) => EnvelopeSource::Given(Envelope {
            client_ip: ip,
            helo: helo.clone(),
            mail_from: args.mail_from.clone(),
        }),
        // clap makes --ip and --helo go together.
        _ => EnvelopeSource::Unknown,
    }
}

fn check_options(args: &Args, ctx: &Context) -> anyhow::Result<CheckOptions> {
    let discovery = args.dmarc.discovery()?;
    let multiple = args.dmarc.multiple_authors();
    let policy = args.dkim.policy();
    let authserv_id = args.authserv_id.clone().unwrap_or_else(host_name);
    let mut options = CheckOptions::new(authserv_id)
        .with_dkim_policy(policy)
        .with_discovery(discovery)
        .with_multiple_authors(multiple)
        .with_helo_check(!args.no_helo_check)
        .with_arc_trusted_sealers(arc_trusted_sealers(&args.arc_trusted_sealers)?);
    if let Some(now) = ctx.globals().now {
        options = options.with_now(now);
    }
    Ok(options)
}

/// The `--arc-trusted-sealer` domains, each a valid domain name.
fn arc_trusted_sealers(domains: &[String]) -> anyhow::Result<Vec<Name>> {
    domains
        .iter()
        .map(|d| {
            Name::parse(d)
                .with_context(|| format!("--arc-trusted-sealer {d:?} is not a domain name"))
        })
        .collect()
}

/// This host's name (Linux: the kernel's), the conventional default authserv-id; `localhost`
/// when it cannot be read.
fn host_name() -> String {
    ["/proc/sys/kernel/hostname", "/etc/hostname"]
        .iter()
        .filter_map(|p| std::fs::read_to_string(p).ok())
        .map(|s| s.trim().to_owned())
        .find(|s| !s.is_empty())
        .unwrap_or_else(|| "localhost".to_owned())
}

/// The exit status of one message's outcome.
pub fn exit_for(outcome: Outcome) -> Exit {
    match outcome {
        Outcome::Pass => Exit::Success,
        Outcome::NotPass => Exit::NotPass,
        Outcome::TempError => Exit::TempFail,
    }
}

fn run_one(
    args: &Args,
    ctx: &Context,
    authenticator: &Authenticator,
    envelope: &EnvelopeSource,
) -> anyhow::Result<Exit> {
    let raw = input::read_message(args.input.as_deref())?;
    let prepared = authenticator.prepare_from(&raw, envelope);
    let report = ctx.block_on(authenticator.complete(prepared));
    if let Some(store) = &args.record {
        super::report::Recorder::open(store).add(Box::new(report.clone()));
    }
    let mut out = std::io::stdout().lock();
    if ctx.json() {
        let json = serde_json::to_string(&report).context("cannot write JSON")?;
        writeln!(out, "{json}")?;
    } else if args.add_header {
        // The field in the message's own line-ending convention, then the message without the
        // fields that claim our authserv-id (RFC 8601 §5).
        let authserv_id = report.authserv_id();
        let stripped = remove_forged_authentication_results(&raw, authserv_id);
        if !stripped.removed.is_empty() {
            eprintln!(
                "mailstamp: removed {} Authentication-Results field(s) claiming {authserv_id:?} \
                 (RFC 8601 §5): header field(s) {}",
                stripped.removed.len(),
                stripped
                    .removed
                    .iter()
                    .map(|i| (i + 1).to_string())
                    .collect::<Vec<_>>()
                    .join(", ")
            );
        }
        let field = report.authentication_results().to_field();
        if report.message.line_endings_normalized {
            out.write_all(field.replace("\r\n", "\n").as_bytes())?;
        } else {
            out.write_all(field.as_bytes())?;
        }
        out.write_all(&stripped.message)?;
    } else {
        let field = report.authentication_results().to_field();
        out.write_all(field.replace("\r\n", "\n").as_bytes())?;
    }
    out.flush()?;
    Ok(exit_for(report.outcome()))
}

fn run_bulk(
    args: &Args,
    ctx: &Context,
    authenticator: &Authenticator,
    input: &Input,
    envelope: EnvelopeSource,
) -> anyhow::Result<Exit> {
    let options = MailboxOptions::default().with_max_message_size(args.max_message_size);
    let messages = Messages::open(input, options)?;
    if !messages.ignored().is_empty() {
        eprintln!("mailstamp: {}", messages.ignored());
    }
    let jobs = args
        .jobs
        .or_else(|| std::thread::available_parallelism().ok())
        .map_or(1, NonZeroUsize::get);
    let progress = if std::io::stderr().is_terminal() {
        let bar = indicatif::ProgressBar::new_spinner();
        if let Ok(style) = indicatif::ProgressStyle::with_template(
            "{spinner} {pos} messages checked ({per_sec}, {elapsed})",
        ) {
            bar.set_style(style);
        }
        bar.enable_steady_tick(std::time::Duration::from_millis(100));
        bar
    } else {
        indicatif::ProgressBar::hidden()
    };
    let json = ctx.json();
    let recording = args.record.is_some();
    // Kept here too: a run that fails takes the printer with it, and the bar is cleared then.
    let bar = progress.clone();
    let printer = Printer {
        summary: BulkSummary::default(),
        out: std::io::BufWriter::new(std::io::stdout()),
        error: None,
        progress,
        recorder: args.record.as_deref().map(super::report::Recorder::open),
    };
    let bulk = Bulk::new(
        authenticator.clone(),
        BulkOptions::new(jobs).with_envelope(envelope),
    );
    // Each result is turned into its line and its counts on the thread that checked it; the
    // printer only writes and adds them up, in input order.
    let render = move |item: BulkItem| Rendered::of(item, json, recording);
    let Printer {
        summary,
        mut out,
        error,
        progress,
        recorder,
    } = bulk
        .run_with(messages, render, printer)
        .inspect_err(|_| bar.finish_and_clear())
        .context("cannot run the bulk check")?;
    progress.finish_and_clear();
    drop(recorder);
    if let Some(e) = error {
        return Err(e).context("cannot write the results");
    }
    if !json {
        out.write_all(summary_text(&summary).as_bytes())?;
    }
    out.flush()?;
    Ok(if summary.errors > 0 {
        Exit::Usage
    } else if summary.count(Outcome::TempError) > 0 {
        Exit::TempFail
    } else if summary.count(Outcome::NotPass) > 0 {
        Exit::NotPass
    } else {
        Exit::Success
    })
}

/// Prints each result of a bulk run as it comes, and counts it.
struct Printer {
    summary: BulkSummary,
    out: std::io::BufWriter<std::io::Stdout>,
    /// The first write error: output stops there, and the run ends with it.
    error: Option<std::io::Error>,
    progress: indicatif::ProgressBar,
    /// `--record`: the evaluations go to the store, in batches.
    recorder: Option<super::report::Recorder>,
}

/// One result of a bulk run as the printer takes it: its line, its counts, and its report
/// when the evaluations are recorded.
struct Rendered {
    line: String,
    tally: Tally,
    report: Option<Box<Report>>,
}

impl Rendered {
    fn of(item: BulkItem, json: bool, recording: bool) -> Rendered {
        let line = if json {
            json_line(&item)
        } else {
            // Room for a usual line at once: it is written piece by piece.
            let mut line = String::with_capacity(256);
            push_text_line(&mut line, &item);
            line
        };
        let tally = Tally::of(&item);
        let report = match item.result {
            Ok(report) if recording => Some(report),
            _ => None,
        };
        Rendered {
            line,
            tally,
            report,
        }
    }
}

impl BulkSink<Rendered> for Printer {
    fn accept(&mut self, item: Rendered) {
        let Rendered {
            line,
            tally,
            report,
        } = item;
        self.summary.add_tally(tally);
        self.progress.inc(1);
        if self.error.is_none()
            && let Err(e) = self.out.write_all(line.as_bytes())
        {
            self.error = Some(e);
        }
        // Last: the report goes to the recorder thread.
        if let (Some(recorder), Some(report)) = (&mut self.recorder, report) {
            recorder.add(report);
        }
    }
}

/// The text of a read error without the position it starts with (printed before it).
fn error_detail(error: &BulkError, position: &Position) -> String {
    let text = error.to_string();
    let with_position = format!("{position}: ");
    let with_file = format!("{}: ", position.origin);
    text.strip_prefix(&with_position)
        .or_else(|| text.strip_prefix(&with_file))
        .map_or_else(|| text.clone(), str::to_owned)
}

/// One JSON object: `position` first, then the report's keys (or `error`).
fn json_line(item: &BulkItem) -> String {
    let position = serde_json::to_string(&item.position).unwrap_or_else(|_| "null".to_owned());
    match &item.result {
        Ok(report) => {
            let body = serde_json::to_string(report).unwrap_or_else(|_| "{}".to_owned());
            match body.strip_prefix('{') {
                Some(rest) if rest != "}" => format!("{{\"position\":{position},{rest}\n"),
                _ => format!("{{\"position\":{position}}}\n"),
            }
        }
        Err(e) => {
            let error = serde_json::Value::String(error_detail(e, &item.position));
            format!("{{\"position\":{position},\"error\":{error}}}\n")
        }
    }
}

/// Appends one human line: `POSITION: OUTCOME spf=... dkim=... dmarc=... (disposition)
/// from=...`.
fn push_text_line(line: &mut String, item: &BulkItem) {
    match &item.result {
        Ok(report) => {
            let _ = write!(line, "{}: ", item.position);
            push_verdict_line(line, report);
            line.push('\n');
        }
        Err(e) => {
            let _ = writeln!(
                line,
                "{}: error: {}",
                item.position,
                error_detail(e, &item.position)
            );
        }
    }
}

/// Appends `OUTCOME spf=... dkim=... dmarc=... (disposition) from=...`: the verdicts of one
/// report on one line.
fn push_verdict_line(line: &mut String, report: &Report) {
    let _ = write!(line, "{} spf={} dkim=", report.outcome(), report.spf.result);
    let mut checked = report
        .dkim
        .iter()
        .filter(|c| !c.is_not_checked())
        .peekable();
    if checked.peek().is_none() {
        line.push_str("none");
    }
    for (i, c) in checked.enumerate() {
        if i > 0 {
            line.push(',');
        }
        line.push_str(c.result().as_str());
    }
    let _ = write!(
        line,
        " dmarc={} ({})",
        report.dmarc.result,
        report.disposition()
    );
    // Report::header_from, written in place.
    let domains = report.header_from_domains();
    if domains.is_empty() {
        line.push_str(" from=(none)");
    } else {
        line.push_str(" from=");
        for (i, domain) in domains.iter().enumerate() {
            if i > 0 {
                line.push(',');
            }
            line.extend(sanitized(domain.as_str()));
        }
    }
}

/// Domain names are validated, but keep any line printable anyway.
fn sanitized(s: &str) -> impl Iterator<Item = char> + '_ {
    s.chars().map(|c| if c.is_control() { '?' } else { c })
}

/// The summary table printed after the lines of a bulk run.
pub fn summary_text(s: &BulkSummary) -> String {
    let mut t = String::new();
    let _ = writeln!(
        t,
        "\n{} messages: {} checked, {} could not be read",
        s.messages(),
        s.checked,
        s.errors
    );
    let row = |t: &mut String, label: &str, counts: Vec<(String, usize)>| {
        let cells: Vec<String> = counts.iter().map(|(k, v)| format!("{k} {v}")).collect();
        let _ = writeln!(t, "  {label:<12} {}", cells.join("  "));
    };
    row(
        &mut t,
        "outcome",
        [Outcome::Pass, Outcome::NotPass, Outcome::TempError]
            .iter()
            .map(|o| (o.as_str().to_owned(), s.count(*o)))
            .collect(),
    );
    let owned = |m: &std::collections::BTreeMap<&'static str, usize>| {
        m.iter()
            .map(|(k, v)| ((*k).to_owned(), *v))
            .collect::<Vec<_>>()
    };
    row(&mut t, "spf", owned(&s.spf));
    row(&mut t, "dkim", owned(&s.dkim));
    row(&mut t, "dmarc", owned(&s.dmarc));
    row(&mut t, "disposition", owned(&s.dispositions));

    const DOMAINS: usize = 20;
    let top = s.top_domains(DOMAINS);
    if !top.is_empty() {
        let _ = writeln!(
            t,
            "\nPass rate by From domain ({} of {} domains, most messages first):",
            top.len(),
            s.domains.len()
        );
        let width = top
            .iter()
            .map(|(d, _)| d.len())
            .max()
            .unwrap_or(6)
            .clamp(6, 60);
        let _ = writeln!(t, "  {:<width$}  messages      pass    rate", "domain");
        for (domain, stats) in top {
            let rate = if stats.messages == 0 {
                0.0
            } else {
                #[expect(clippy::cast_precision_loss, reason = "a percentage for display")]
                let r = stats.pass as f64 * 100.0 / stats.messages as f64;
                r
            };
            let _ = writeln!(
                t,
                "  {:<width$}  {:>8}  {:>8}  {:>5.1}%",
                sanitized(domain).collect::<String>(),
                stats.messages,
                stats.pass,
                rate
            );
        }
    }
    const REASONS: usize = 10;
    let reasons = s.top_reasons(REASONS);
    if !reasons.is_empty() {
        let _ = writeln!(t, "\nMost common reasons (messages that did not pass):");
        for (reason, count) in reasons {
            let _ = writeln!(t, "  {count:>8}  {}", sanitized(reason).collect::<String>());
        }
    }
    t
}
