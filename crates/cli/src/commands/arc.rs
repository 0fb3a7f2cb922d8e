//! `mailstamp arc verify FILE` and `mailstamp arc seal --key K --domain D --selector S
//! --authserv-id ID FILE`: ARC (RFC 8617).

use crate::context::Context;
use crate::exit::Exit;
use crate::input;
use anyhow::Context as _;
use mailstamp::arc::{ArcResult, ArcVerdict, SealOutcome, Sealer, SignatureCheck, validate};
use mailstamp::message::envelope::Envelope;
use mailstamp::pipeline::{ArcSummary, Authenticator, CheckOptions};
use mailstamp_dkim::SigningKey;
use mailstamp_dns::Step;
use mailstamp_message::Message;
use serde_json::json;
use std::fmt::Write as _;
use std::io::Write as _;
use std::net::IpAddr;
use std::path::PathBuf;

/// Arguments of `mailstamp arc`.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// What to do.
    #[command(subcommand)]
    pub command: ArcCommand,
}

/// The `arc` subcommands.
#[derive(Debug, clap::Subcommand)]
pub enum ArcCommand {
    /// Validate the ARC chain of a message (RFC 8617 §5.2): the chain's result, oldest-pass,
    /// and each set's sealer, AMS and seal verdicts.
    Verify(VerifyArgs),
    /// Run the receiver checks (SPF, DKIM, DMARC, ARC) and add the next ARC set (RFC 8617
    /// §5.1); prints the sealed message.
    Seal(SealArgs),
}

/// Arguments of `mailstamp arc verify`.
#[derive(Debug, clap::Args)]
#[command(after_help = VERIFY_HELP)]
pub struct VerifyArgs {
    /// The message: a file, or `-` (the default) for standard input.
    #[arg(value_name = "FILE")]
    pub input: Option<PathBuf>,

    /// For each set, also show what its sealer recorded (the AAR) and the full reason of
    /// every signature that does not verify.
    #[arg(long)]
    pub explain: bool,
}

const VERIFY_HELP: &str = "\
Prints the chain's result (none, pass, fail), the newest instance, oldest-pass (RFC 8617
§5.2 step 5: 0 when every AMS validates) and one line per ARC set. --json prints
{\"arc\": {\"result\", \"instances\", \"oldest_pass\", \"failed_instance\", \"problem\",
\"sealers\": [...]}}.

Exit status:
  0  the chain passes
  1  the chain fails, or the message has no ARC set (none)
  2  usage or input error";

/// Arguments of `mailstamp arc seal`.
#[derive(Debug, clap::Args)]
#[command(after_help = SEAL_HELP)]
pub struct SealArgs {
    /// The message: a file, or `-` (the default) for standard input.
    #[arg(value_name = "FILE")]
    pub input: Option<PathBuf>,

    /// The sealing key: PKCS#8 PEM (RSA 2048–4096 bits or Ed25519) or PKCS#1 PEM (RSA).
    #[arg(long, value_name = "FILE")]
    pub key: PathBuf,

    /// The sealing domain (d= of the AMS and the ARC-Seal).
    #[arg(long, value_name = "DOMAIN")]
    pub domain: String,

    /// The selector (s=): the public key is at SELECTOR._domainkey.DOMAIN.
    #[arg(long, value_name = "SELECTOR")]
    pub selector: String,

    /// The authserv-id of the assessment recorded in the ARC-Authentication-Results.
    #[arg(long, value_name = "ID")]
    pub authserv_id: String,

    /// The SMTP client's IP address, for SPF.
    #[arg(long, value_name = "IP", requires = "helo")]
    pub ip: Option<IpAddr>,

    /// The HELO/EHLO name, for SPF.
    #[arg(long, value_name = "HOST", requires = "ip")]
    pub helo: Option<String>,

    /// The MAIL FROM reverse-path, for SPF.
    #[arg(long, value_name = "ADDR", requires = "ip", allow_hyphen_values = true)]
    pub mail_from: Option<String>,
}

const SEAL_HELP: &str = "\
Checks the message as a receiver would (SPF with --ip/--helo/--mail-from, DKIM, DMARC and the
ARC chain), writes the results as the ARC-Authentication-Results payload (arc= is the chain's
result), and adds ARC-Seal, ARC-Message-Signature and ARC-Authentication-Results with the next
instance; a failed chain is sealed with cv=fail. The global --now sets t=. A message whose
newest ARC-Seal already says cv=fail is not sealed (RFC 8617 §5.1 step 2): it is printed
unchanged with a note on stderr. --json prints {\"sealed\", \"instance\", \"cv\", \"fields\",
\"arc\": {...}, \"authentication_results\"} instead of the message.

Exit status:
  0  sealed
  1  not sealed (the chain had already failed, or has 50 sets)
  2  usage or input error (unreadable key or message, invalid domain)";

/// Runs `mailstamp arc`.
pub fn run(args: &Args, ctx: &Context) -> anyhow::Result<Exit> {
    match &args.command {
        ArcCommand::Verify(a) => run_verify(a, ctx),
        ArcCommand::Seal(a) => run_seal(a, ctx),
    }
}

fn validate_message(message: &Message<'_>, ctx: &Context) -> anyhow::Result<ArcVerdict> {
    Ok(match validate(message, ctx.now()) {
        Step::Done(v) => v,
        step @ Step::Lookup(_) => ctx.block_on(mailstamp::drive(step, ctx.resolver()?)),
    })
}

/// The JSON object the issue names: `"arc": {"result", "instances", "oldest_pass",
/// "sealers": [...]}`, with the failing instance and problem: the same object as in
/// `mailstamp check --json` ([`ArcSummary`]).
pub fn arc_json(v: &ArcVerdict) -> serde_json::Value {
    serde_json::to_value(ArcSummary(v)).unwrap_or(serde_json::Value::Null)
}

fn check_text(c: &SignatureCheck) -> String {
    match c {
        SignatureCheck::Pass => "pass".to_owned(),
        SignatureCheck::Fail { problem } => format!("fail ({})", problem.code()),
        SignatureCheck::NotChecked => "not checked".to_owned(),
    }
}

fn verify_text(v: &ArcVerdict, explain: bool) -> String {
    let mut s = String::new();
    let _ = write!(s, "arc={} instances={}", v.result, v.instances);
    if let Some(op) = v.oldest_pass {
        let _ = write!(s, " oldest-pass={op}");
    }
    s.push('\n');
    if let Some(p) = &v.problem {
        let _ = writeln!(s, "  reason: {p}");
    }
    for set in &v.sets {
        let _ = writeln!(
            s,
            "  i={} sealer={} s={} a={} cv={}: ams {}, seal {}",
            set.instance,
            set.domain.as_deref().unwrap_or("?"),
            set.selector.as_deref().unwrap_or("?"),
            set.algorithm.as_deref().unwrap_or("?"),
            set.cv.as_deref().unwrap_or("?"),
            check_text(&set.ams),
            check_text(&set.seal),
        );
        if explain {
            if let Some(aar) = &set.authentication_results {
                let _ = writeln!(s, "      recorded: {aar}");
            }
            for (what, c) in [("ams", &set.ams), ("seal", &set.seal)] {
                if let SignatureCheck::Fail { problem } = c {
                    let _ = writeln!(s, "      {what}: {problem}");
                }
            }
        }
    }
    s
}

fn run_verify(args: &VerifyArgs, ctx: &Context) -> anyhow::Result<Exit> {
    let raw = input::read_message(args.input.as_deref())?;
    let message = Message::parse(&raw);
    let v = validate_message(&message, ctx)?;
    if ctx.json() {
        println!("{}", json!({ "arc": arc_json(&v) }));
    } else {
        print!("{}", verify_text(&v, args.explain));
    }
    Ok(if v.result == ArcResult::Pass {
        Exit::Success
    } else {
        Exit::NotPass
    })
}

fn run_seal(args: &SealArgs, ctx: &Context) -> anyhow::Result<Exit> {
    let pem = std::fs::read_to_string(&args.key)
        .with_context(|| format!("cannot read the key {}", args.key.display()))?;
    let key = SigningKey::from_pem(&pem)
        .with_context(|| format!("cannot use the key {}", args.key.display()))?;
    let sealer = Sealer::new(key, &args.domain, &args.selector)?;
    let raw = input::read_message(args.input.as_deref())?;
    let message = Message::parse(&raw);

    // The receiver checks through the pipeline, which validates the chain as it arrived
    // (arc= in its Authentication-Results, RFC 8617 §5.1.1 step 1).
    let mut options = CheckOptions::new(args.authserv_id.clone());
    if let Some(now) = ctx.globals().now {
        options = options.with_now(now);
    }
    let envelope = match (args.ip, &args.helo) {
        (Some(ip), Some(helo)) => Some(Envelope {
            client_ip: ip,
            helo: helo.clone(),
            mail_from: args.mail_from.clone(),
        }),
        _ => None,
    };
    let authenticator = Authenticator::new(ctx.resolver()?.clone(), options);
    let report = ctx.block_on(authenticator.check(&raw, envelope.as_ref()));
    let verdict = &report.arc;
    let payload = report.authentication_results().to_value();
    let outcome = sealer.seal(&message, verdict.result, &payload, ctx.now())?;
    let mut out = std::io::stdout().lock();
    match outcome {
        SealOutcome::Sealed(set) => {
            if ctx.json() {
                let j = json!({
                    "sealed": true,
                    "instance": set.instance,
                    "cv": set.cv,
                    "fields": [set.seal, set.ams, set.aar],
                    "arc": arc_json(verdict),
                    "authentication_results": payload,
                });
                writeln!(out, "{j}")?;
            } else {
                out.write_all(&set.prepend_to(&raw))?;
            }
            Ok(Exit::Success)
        }
        SealOutcome::NotSealed(why) => {
            if ctx.json() {
                let j = json!({
                    "sealed": false,
                    "reason": why.to_string(),
                    "arc": arc_json(verdict),
                    "authentication_results": payload,
                });
                writeln!(out, "{j}")?;
            } else {
                eprintln!("mailstamp: not sealed: {why}");
                out.write_all(&raw)?;
            }
            Ok(Exit::NotPass)
        }
    }
}
