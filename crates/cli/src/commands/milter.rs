//! `mailstamp milter --config FILE [--check-config | --explain --from ADDR ...]`: the milter
//! daemon (`mailstamp-milter-server`), its configuration check and its explanation of what
//! applies to a sender.

use crate::context::Context;
use crate::exit::Exit;
use anyhow::{Context as _, anyhow};
use mailstamp_dkim::{check_key, key_record_name};
use mailstamp_dns::Query;
use mailstamp_milter_server::explain::{Question, explain};
use mailstamp_milter_server::state::{Loaded, Overrides};
use mailstamp_milter_server::{Config, ConfigError};
use std::net::IpAddr;
use std::path::PathBuf;

/// Arguments of `mailstamp milter`.
#[derive(Debug, clap::Args)]
#[command(after_help = AFTER_HELP)]
pub struct Args {
    /// The configuration file (TOML; see the commented example in the README).
    #[arg(long, value_name = "FILE")]
    pub config: PathBuf,

    /// Check the file, load every key (the signing keys and the `[arc_seal]` key) and check each
    /// against its published DNS record (as `mailstamp keycheck`), then exit. DNS from the file's `[dns]` table, or --zone/--nameserver.
    #[arg(long, conflicts_with = "explain")]
    pub check_config: bool,

    /// Print which mode, signing rule and keys apply to a message from --from, then exit.
    #[arg(long, requires = "from")]
    pub explain: bool,

    /// With --explain: the From address (or domain).
    #[arg(long, value_name = "ADDR", requires = "explain")]
    pub from: Option<String>,

    /// With --explain: the SMTP AUTH user ({auth_authen}); the mail is then ours.
    #[arg(long, value_name = "USER", requires = "explain")]
    pub auth: Option<String>,

    /// With --explain: the client's IP address.
    #[arg(long, value_name = "IP", requires = "explain")]
    pub client: Option<IpAddr>,

    /// With --explain: the MTA daemon name ({daemon_name}).
    #[arg(long, value_name = "NAME", requires = "explain")]
    pub daemon: Option<String>,
}

const AFTER_HELP: &str = "\
Without --check-config or --explain, runs the daemon in the foreground until SIGTERM or SIGINT
(messages in flight finish); SIGHUP reloads the file (a file that fails to load is reported and
the running configuration kept). Logs go to stderr (RUST_LOG sets the level; default info).
With NOTIFY_SOCKET set (systemd Type=notify), READY=1 is sent once listening, RELOADING=1 and
READY=1 around each reload, STOPPING=1 at stop.

Keys added in this version (each in crates/milter-server/examples/milter.toml with its default):
  user = NAME, group = NAME   started as root: bind the socket (socket_owner, socket_group,
                              socket_mode), read the keys, then run as this user and group.
                              Default: none.
  run_as_root = BOOL          allow running as root without user. Default false: refused.
  record = STORE              record each inbound DMARC evaluation as `check --record STORE`
                              does (file, sqlite:PATH, postgres://...), batched, off the mail
                              path; a full queue or a store that is down drops the record (one
                              log line every 10 s, records_dropped_total). Default: none.
  record_queue = N            evaluations waiting for the writer at most. Default 10000.
  [limits] progress_interval_ms = MS
                              a message waiting this long (DNS) sends the MTA a progress reply,
                              and again each interval; 0 never. Default 5000.

Exit status:
  0  the daemon stopped normally; the configuration and every key are fine; explained
  1  --check-config: a published key record is missing, unusable or does not match its key
  2  the configuration is refused (file:line: reason), or a key file cannot be used
  3  --check-config: a DNS lookup failed (timeout, SERVFAIL)";

fn config_error(e: ConfigError) -> anyhow::Error {
    anyhow!("{e}")
}

/// Runs the daemon, checks the configuration or explains it.
pub fn run(args: &Args, ctx: &Context) -> anyhow::Result<Exit> {
    if args.check_config {
        return check_config(args, ctx);
    }
    let config = Config::load(&args.config).map_err(config_error)?;
    if args.explain {
        let overrides = Overrides {
            resolver: Some(mailstamp::Resolver::offline(mailstamp_dns::Zone::new())),
            now: None,
        };
        let loaded = Loaded::from_config(config, None, &overrides).map_err(config_error)?;
        let q = Question {
            from: args.from.clone().unwrap_or_default(),
            auth: args.auth.clone(),
            client: args.client,
            daemon: args.daemon.clone(),
        };
        let e = explain(&loaded, &q);
        print!("{}", e.text);
        for w in &e.warnings {
            println!("warning: {w}");
        }
        return Ok(Exit::Success);
    }
    init_logging();
    mailstamp_milter_server::run(&args.config).map_err(|e| anyhow!("{e}"))?;
    Ok(Exit::Success)
}

fn init_logging() {
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
        .with_writer(std::io::stderr)
        .try_init();
}

fn check_config(args: &Args, ctx: &Context) -> anyhow::Result<Exit> {
    let config = Config::load(&args.config).map_err(config_error)?;
    // `user`/`group` must exist (they are looked up again at start, when privileges drop).
    let identity = mailstamp_milter_server::privileges::target(&config)
        .map_err(|m| anyhow!("{}: {m}", args.config.display()))?;
    let g = ctx.globals();
    let resolver = if g.zone.is_empty() && g.nameserver.is_empty() {
        None
    } else {
        Some(ctx.resolver()?.clone())
    };
    let overrides = Overrides {
        resolver,
        now: None,
    };
    let loaded = ctx
        .block_on(async { Loaded::from_config(config, None, &overrides) })
        .map_err(config_error)?;
    println!("{}: configuration ok", args.config.display());
    if let Some((name, uid, gid)) = identity {
        println!("user: {name} (uid {uid}, gid {gid}) once the socket is bound");
    }
    let mut exit = Exit::Success;
    for p in &loaded.signing.problems {
        println!("error: {p}");
        exit = Exit::Usage;
    }
    let resolver = loaded.authenticator.resolver().clone();
    // Every signing key, and the ARC seal key, against its published record.
    let mut keys: Vec<(String, &mailstamp_dkim::SigningKey, String, String)> = Vec::new();
    for rule in &loaded.signing.rules {
        for key in &rule.keys {
            let s = &key.signer;
            let what = format!(
                "[[signing]] at line {} ({} d={} s={}, {})",
                key.line,
                rule.pattern,
                s.domain().as_str(),
                s.selector(),
                key.path.display()
            );
            keys.push((
                what,
                s.key(),
                s.selector().to_owned(),
                s.domain().as_str().to_owned(),
            ));
        }
    }
    match &loaded.arc_seal {
        Some(Err(p)) => {
            println!("error: {p}");
            exit = Exit::Usage;
        }
        Some(Ok(k)) => {
            let what = format!(
                "[arc_seal] at line {} (d={} s={}, {})",
                k.line,
                k.sealer.domain(),
                k.sealer.selector(),
                k.path.display()
            );
            keys.push((
                what,
                k.sealer.key(),
                k.sealer.selector().to_owned(),
                k.sealer.domain().to_owned(),
            ));
        }
        None => {}
    }
    for (what, key, selector, domain) in keys {
        let name = key_record_name(&selector, &domain).with_context(|| what.clone())?;
        let answer = ctx.block_on(resolver.answer(&Query::txt(name.clone())));
        let check = check_key(name.clone(), &answer, Some(key));
        if answer.is_failed() {
            println!(
                "temperror: {what}: the DNS lookup of {} failed",
                name.to_fqdn()
            );
            if exit == Exit::Success {
                exit = Exit::TempFail;
            }
        } else if check.is_usable() && check.matches_private_key == Some(true) {
            let testing = if check.testing { " (t=y: testing)" } else { "" };
            println!("ok: {what}: the published record matches the key{testing}");
        } else {
            let why: Vec<String> = check.findings.iter().map(ToString::to_string).collect();
            let why = if check.matches_private_key == Some(false) {
                format!(
                    "the record at {} is not this key's public half",
                    name.to_fqdn()
                )
            } else {
                why.join("; ")
            };
            println!("error: {what}: {why}");
            if matches!(exit, Exit::Success | Exit::TempFail) {
                exit = Exit::NotPass;
            }
        }
    }
    Ok(exit)
}
