//! `mailstamp report`: DMARC reports. `parse` reads the aggregate and failure reports a
//! domain receives (RFC 9990, RFC 7489 Appendix C, RFC 9991 / ARF) and prints a summary, JSON
//! or CSV; `view` draws them as one HTML page; `generate` writes the reports a receiver owes
//! from the verdict store (SQLite or PostgreSQL); `send` e-mails them to the authorised `rua`
//! addresses through an SMTP relay (lettre, rustls).

use crate::context::Context;
use crate::exit::Exit;
use anyhow::Context as _;
use clap::Subcommand;
use mailstamp_dns::{Answer, Name, Query, RData, RecordType};
use mailstamp_reports::{ParseOptions, Report, summary};
use std::fmt::Write as _;
use std::io::Write as _;
use std::path::PathBuf;

#[path = "report_send.rs"]
mod send;

/// Arguments of `mailstamp report`.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// What to do.
    #[command(subcommand)]
    pub command: ReportCommand,
}

/// The `report` subcommands.
#[derive(Debug, Subcommand)]
pub enum ReportCommand {
    /// Read aggregate and failure reports and print a summary (per reporting organisation,
    /// policy domain and source IP), one JSON object per report (--json) or one CSV row per
    /// record (--csv).
    Parse(ParseArgs),
    /// Write one self-contained HTML page (inline SVG charts, no network access): volume and
    /// DMARC pass rate over time per domain, sources failing alignment, what p=reject would
    /// refuse.
    View(ViewArgs),
    /// Write the RFC 9990 aggregate reports a receiver owes: one per policy domain and
    /// complete period from the verdicts `check --record` stored, as
    /// receiver!domain!begin!end.xml.gz; each period is recorded once its file is written
    /// (atomically), so it is never reported twice nor lost to a crash or a write error.
    Generate(GenerateArgs),
    /// E-mail generated aggregate reports (.xml.gz files) to each policy domain's `rua`
    /// addresses, after the external destination check (`_report._dmarc` authorisation, RFC
    /// 9990 §4) and the `!size` limits, over SMTP to a relay.
    Send(SendArgs),
}

/// Arguments of `mailstamp report send`.
#[derive(Debug, clap::Args)]
#[command(after_help = SEND_HELP)]
pub struct SendArgs {
    /// The report files (`receiver!domain!begin!end.xml.gz`, as `report generate` writes).
    #[arg(value_name = "FILE", required = true)]
    pub files: Vec<PathBuf>,

    /// The SMTP relay.
    #[arg(long, value_name = "HOST:PORT")]
    pub relay: String,

    /// The sender address (header From and envelope MAIL FROM).
    #[arg(long, value_name = "ADDR")]
    pub from: String,

    /// STARTTLS with the relay: required (fail without it), opportunistic (when offered),
    /// none (plain SMTP).
    #[arg(long, value_enum, default_value = "required")]
    pub starttls: StartTls,

    /// Trust only the CA certificate(s) in this PEM file for the relay's STARTTLS certificate,
    /// instead of the system's roots (a private relay with its own CA). The certificate must
    /// name the --relay host (DNS name or IP address).
    #[arg(long, value_name = "FILE")]
    pub smtp_ca: Option<PathBuf>,

    /// DMARC policy discovery.
    #[command(flatten)]
    pub dmarc: crate::options::DmarcDiscoveryArgs,
}

/// STARTTLS with the relay.
#[derive(Debug, Clone, Copy, clap::ValueEnum)]
pub enum StartTls {
    /// Fail unless the relay offers STARTTLS.
    Required,
    /// Use STARTTLS when the relay offers it.
    Opportunistic,
    /// Plain SMTP.
    None,
}

const SEND_HELP: &str = "\
Each file is read as an aggregate report; its policy domain's DMARC record is looked up and
every mailto: address of rua= is checked: an address in another Organizational Domain needs
<policy-domain>._report._dmarc.<host> (RFC 9990 §4); an address that is not authorised, too
small for the report (!10m and the like) or not mailto: is skipped and said so on stderr. The
report goes as one message per file to the addresses left (RFC 9990 §5: subject \"Report
Domain: ... Submitter: ... Report-ID: <...>\", the gzip file attached).

With --starttls required (the default) a relay that does not offer STARTTLS, or whose
certificate cannot be verified (against the system's roots, or the --smtp-ca file), gets
nothing: the report is not sent and said so on stderr.

Exit status: 0 when every report went to at least one address, 1 when a report had no
address left, 2 for an unreadable file, 3 when the relay or DNS failed.";

/// Arguments of `mailstamp report generate`.
#[derive(Debug, clap::Args)]
pub struct GenerateArgs {
    /// The verdict store: a SQLite file (`PATH` or `sqlite:PATH`) or a PostgreSQL database
    /// (`postgres://USER[:PASSWORD]@HOST[:PORT]/DB`).
    #[arg(long, value_name = "STORE")]
    pub store: String,

    /// The Reporting Organization's name (`org_name`).
    #[arg(long, value_name = "NAME")]
    pub org_name: String,

    /// The contact address (`email`); its domain names the files.
    #[arg(long, value_name = "ADDR")]
    pub email: String,

    /// Additional contact details (`extra_contact_info`).
    #[arg(long, value_name = "TEXT")]
    pub extra_contact_info: Option<String>,

    /// The reporting period.
    #[arg(long, value_enum, default_value = "day")]
    pub period: Period,

    /// Where the .xml.gz files go.
    #[arg(long, value_name = "DIR", default_value = ".")]
    pub out: PathBuf,
}

/// A reporting period.
#[derive(Debug, Clone, Copy, clap::ValueEnum)]
pub enum Period {
    /// One UTC day (RFC 9990's default interval).
    Day,
    /// One hour.
    Hour,
}

/// Arguments of `mailstamp report view`.
#[derive(Debug, clap::Args)]
pub struct ViewArgs {
    /// Where the reports are (as for `report parse`). Repeatable.
    #[arg(value_name = "FILE|DIR|-", required = true)]
    pub inputs: Vec<PathBuf>,

    /// The page to write.
    #[arg(long, value_name = "OUT.html")]
    pub html: PathBuf,

    /// The page's title.
    #[arg(long, default_value = "DMARC aggregate reports")]
    pub title: String,

    /// Do not print warnings (errors are still printed).
    #[arg(long, short = 'q')]
    pub quiet: bool,
}

/// Arguments of `mailstamp report parse`.
#[derive(Debug, clap::Args)]
#[command(after_help = PARSE_HELP)]
pub struct ParseArgs {
    /// Where the reports are: `.xml`, `.xml.gz`, `.zip`, a report e-mail, an mbox, a maildir,
    /// a directory (read recursively), or `-` for standard input. Repeatable.
    #[arg(value_name = "FILE|DIR|-", required = true)]
    pub inputs: Vec<PathBuf>,

    /// One CSV row per record (RFC 4180), with a header row (the global --json wins over it).
    #[arg(long)]
    pub csv: bool,

    /// Do not print warnings (errors are still printed).
    #[arg(long, short = 'q')]
    pub quiet: bool,

    /// The largest input, decompressed gzip stream or zip member, in bytes.
    #[arg(long, value_name = "BYTES", default_value_t = ParseOptions::default().max_size)]
    pub max_size: u64,

    /// Show the reverse DNS name (PTR) of each top failing source in the summary, looked up
    /// through the resolver (--nameserver, --zone, --dns-timeout, --dns-attempts). A lookup
    /// that fails or times out shows no name; it never stops the summary.
    #[arg(long)]
    pub resolve: bool,
}

const PARSE_HELP: &str = "\
The container is recognised by content: gzip, zip, XML, mbox (\"From \" first) or an e-mail
(whose report attachment is found by MIME type or file name, or whose message/feedback-report
part makes it a failure report). Warnings (on stderr) name the file, the element and what was
odd but readable; errors name what is not a report, and the run goes on with the next input.

--json prints one object per line per report: {\"kind\": \"aggregate\", \"edition\":
\"rfc7489\"|\"rfc9990\", \"org_name\", \"report_id\", \"begin\", \"end\", \"policy\": {...},
\"records\": [{\"source_ip\", \"count\", \"disposition\", \"dkim_aligned\", \"spf_aligned\",
\"header_from\", \"dkim\": [...], \"spf\": [...], ...}], ...} or {\"kind\": \"failure\", ...}.

Exit status: 0 when every input was read, 2 when any input (or part of one) was not a report.";

/// Runs the command.
pub fn run(args: &Args, ctx: &Context) -> anyhow::Result<Exit> {
    match &args.command {
        ReportCommand::Parse(a) => parse(a, ctx),
        ReportCommand::View(a) => view(a),
        ReportCommand::Generate(a) => generate(a, ctx),
        ReportCommand::Send(a) => send::run(a, ctx),
    }
}

/// Prints diagnostics on stderr (warnings unless `quiet`); true when one is an error.
fn print_diagnostics(diags: &mailstamp_reports::Diagnostics, quiet: bool) -> bool {
    let mut failed = false;
    let mut stderr = std::io::stderr().lock();
    for d in &diags.items {
        if d.severity == mailstamp_reports::Severity::Error {
            failed = true;
        } else if quiet {
            continue;
        }
        let _ = writeln!(stderr, "{d}");
    }
    failed
}

/// Reads every input; prints diagnostics on stderr.
fn read_all(inputs: &[PathBuf], options: ParseOptions, quiet: bool) -> (Vec<Report>, bool) {
    let mut reports = Vec::new();
    let mut failed = false;
    for input in inputs {
        let (mut r, diags) = mailstamp_reports::parse(input, options);
        reports.append(&mut r);
        failed |= print_diagnostics(&diags, quiet);
    }
    (reports, failed)
}

/// Reads the inputs report by report: each is written (--json, --csv) or totalled (the
/// summary) as soon as it is read, so memory is bounded by the largest input, not by how
/// many there are.
fn parse(args: &ParseArgs, ctx: &Context) -> anyhow::Result<Exit> {
    let options = ParseOptions {
        max_size: args.max_size,
        ..ParseOptions::default()
    };
    let mut out = std::io::BufWriter::with_capacity(1 << 16, std::io::stdout().lock());
    let json = ctx.json();
    let mut summariser = summary::Summariser::default();
    let mut rows = String::new();
    if !json && args.csv {
        rows.push_str(summary::CSV_HEADER);
        rows.push_str("\r\n");
    }
    let mut written: std::io::Result<()> = Ok(());
    let mut failed = false;
    for input in &args.inputs {
        let diags = mailstamp_reports::parse_each(input, options, |r| {
            if json {
                if written.is_ok() {
                    written = serde_json::to_writer(&mut out, &r)
                        .map_err(std::io::Error::from)
                        .and_then(|()| out.write_all(b"\n"));
                }
            } else if args.csv {
                summary::csv_rows(&mut rows, &r);
                if written.is_ok() {
                    written = out.write_all(rows.as_bytes());
                }
                rows.clear();
            } else {
                summariser.add(&r);
            }
        });
        std::mem::replace(&mut written, Ok(()))?;
        failed |= print_diagnostics(&diags, args.quiet);
    }
    if !json && args.csv {
        out.write_all(rows.as_bytes())?;
    } else if !json {
        let mut summary = summariser.finish();
        if args.resolve {
            resolve_names(&mut summary.top_failing, ctx);
        }
        out.write_all(summary.render().as_bytes())?;
    }
    out.flush()?;
    Ok(if failed { Exit::Usage } else { Exit::Success })
}

/// The reverse DNS name of an IP address: `d.c.b.a.in-addr.arpa` or the nibbles of
/// `ip6.arpa` (RFC 1035 §3.5, RFC 3596 §2.5).
fn reverse_name(ip: std::net::IpAddr) -> Option<Name> {
    let text = match ip {
        std::net::IpAddr::V4(v4) => {
            let [a, b, c, d] = v4.octets();
            format!("{d}.{c}.{b}.{a}.in-addr.arpa")
        }
        std::net::IpAddr::V6(v6) => {
            let mut s = String::with_capacity(72);
            for byte in v6.octets().iter().rev() {
                let _ = write!(s, "{:x}.{:x}.", byte & 0xf, byte >> 4);
            }
            s.push_str("ip6.arpa");
            s
        }
    };
    Name::parse(&text).ok()
}

/// Looks up the PTR name of each row's source IP, all at once, within the DNS timeout (every
/// attempt). A source that is not an IP address, a failed or timed-out lookup, or an answer
/// without a PTR record leaves the row without a name (-v shows the queries and answers).
fn resolve_names(rows: &mut [summary::Row], ctx: &Context) {
    let resolver = match ctx.resolver() {
        Ok(r) => r,
        Err(e) => {
            eprintln!("mailstamp: warning: reverse DNS names not looked up: {e:#}");
            return;
        }
    };
    let wanted: Vec<(usize, Query)> = rows
        .iter()
        .enumerate()
        .filter_map(|(i, r)| {
            let ip = r.key.parse().ok()?;
            Some((i, Query::new(reverse_name(ip)?, RecordType::Ptr)))
        })
        .collect();
    let queries: Vec<Query> = wanted.iter().map(|(_, q)| q.clone()).collect();
    let g = ctx.globals();
    let limit = g.dns_timeout * u32::from(g.dns_attempts) + std::time::Duration::from_secs(1);
    let answers =
        ctx.block_on(async { tokio::time::timeout(limit, resolver.answer_all(&queries)).await });
    let Ok(answers) = answers else {
        if g.verbose > 0 {
            eprintln!("mailstamp: reverse DNS lookups timed out after {limit:?}");
        }
        return;
    };
    for ((i, _), answer) in wanted.iter().zip(answers) {
        if let Answer::Records(records) = answer {
            rows[*i].name = records.iter().find_map(|r| match &r.data {
                RData::Ptr(name) => Some(name.as_str().trim_end_matches('.').to_owned()),
                _ => None,
            });
        }
    }
}

fn view(args: &ViewArgs) -> anyhow::Result<Exit> {
    let (reports, failed) = read_all(&args.inputs, ParseOptions::default(), args.quiet);
    let page = mailstamp_reports::html::render(&reports, &args.title);
    std::fs::write(&args.html, page)
        .with_context(|| format!("cannot write {}", args.html.display()))?;
    Ok(if failed { Exit::Usage } else { Exit::Success })
}

/// Records the DMARC evaluations of `mailstamp check --record STORE`, in batches, on a thread
/// of its own: the checks hand over their reports and go on; the recorder thread turns each
/// into an evaluation and writes them, `BATCH` (256) per transaction. A store that cannot be opened
/// or written is a warning on stderr, never a change to the verdict or the exit status:
/// recording must not break the mail flow. Dropping the recorder writes what is pending.
pub struct Recorder {
    reports: Option<std::sync::mpsc::SyncSender<Box<mailstamp::pipeline::Report>>>,
    writer: Option<std::thread::JoinHandle<()>>,
}

/// Evaluations written per transaction.
const BATCH: usize = 256;

impl Recorder {
    /// Opens the store and starts the recorder thread (a warning on failure: then nothing is
    /// recorded).
    pub fn open(spec: &str) -> Recorder {
        let none = Recorder {
            reports: None,
            writer: None,
        };
        let mut store = match mailstamp_reports::store::Store::open(spec) {
            Ok(s) => s,
            Err(e) => {
                eprintln!("mailstamp: warning: verdicts are not recorded: {e}");
                return none;
            }
        };
        let (tx, rx) = std::sync::mpsc::sync_channel::<Box<mailstamp::pipeline::Report>>(4 * BATCH);
        let spec_owned = spec.to_owned();
        let writer = std::thread::Builder::new()
            .name("mailstamp-recorder".to_owned())
            .spawn(move || {
                let mut pending = Vec::with_capacity(BATCH);
                for report in rx {
                    if let Some(e) = mailstamp_reports::store::Evaluation::from_report(&report) {
                        pending.push(e);
                    }
                    if pending.len() >= BATCH {
                        write_batch(&mut store, &mut pending, &spec_owned);
                    }
                }
                write_batch(&mut store, &mut pending, &spec_owned);
            });
        match writer {
            Ok(handle) => Recorder {
                reports: Some(tx),
                writer: Some(handle),
            },
            Err(e) => {
                eprintln!(
                    "mailstamp: warning: verdicts are not recorded in {spec}: cannot start the recorder thread: {e}"
                );
                none
            }
        }
    }

    /// Adds one check's report (nothing is recorded when no DMARC Policy Domain was found).
    pub fn add(&mut self, report: Box<mailstamp::pipeline::Report>) {
        if let Some(tx) = &self.reports
            && tx.send(report).is_err()
        {
            // The recorder thread is gone (it said why): stop handing reports over.
            self.reports = None;
        }
    }
}

/// Writes the pending evaluations (a warning on failure) and empties the list.
fn write_batch(
    store: &mut mailstamp_reports::store::Store,
    pending: &mut Vec<mailstamp_reports::store::Evaluation>,
    spec: &str,
) {
    if pending.is_empty() {
        return;
    }
    if let Err(e) = store.record(pending) {
        eprintln!(
            "mailstamp: warning: {} verdict(s) not recorded in {spec}: {e}",
            pending.len()
        );
    }
    pending.clear();
}

impl Drop for Recorder {
    fn drop(&mut self) {
        // Closing the channel ends the thread once it has written what is pending.
        self.reports = None;
        if let Some(handle) = self.writer.take()
            && handle.join().is_err()
        {
            eprintln!("mailstamp: warning: the verdict recorder stopped unexpectedly");
        }
    }
}

fn generate(args: &GenerateArgs, ctx: &Context) -> anyhow::Result<Exit> {
    let mut store = mailstamp_reports::store::Store::open(&args.store)?;
    let reporter = mailstamp_reports::generate::Reporter {
        org_name: args.org_name.clone(),
        email: args.email.clone(),
        extra_contact_info: args.extra_contact_info.clone(),
    };
    let period = match args.period {
        Period::Day => 86_400,
        Period::Hour => 3_600,
    };
    let now = i64::try_from(ctx.now()).unwrap_or(i64::MAX);
    let mut out = std::io::stdout().lock();
    let mut printed = Ok(());
    let count = mailstamp_reports::generate::generate(
        &mut store,
        &reporter,
        period,
        now,
        &args.out,
        |r| {
            let line = if ctx.json() {
                serde_json::json!({
                    "file": r.path.display().to_string(),
                    "policy_domain": r.policy_domain,
                    "begin": r.begin,
                    "end": r.end,
                    "report_id": r.report_id,
                    "messages": r.messages,
                })
                .to_string()
            } else {
                format!("{}: {} message(s)", r.path.display(), r.messages)
            };
            if printed.is_ok() {
                printed = writeln!(out, "{line}");
            }
        },
    )?;
    printed?;
    if count == 0 && !ctx.json() {
        writeln!(out, "no complete period left to report")?;
    }
    Ok(Exit::Success)
}
