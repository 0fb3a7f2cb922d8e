//! Global options and the context every command runs in.

use crate::exit::TempFailure;
use anyhow::Context as _;
use clap::Args;
use mailstamp::{DnsEvent, DnsSource, LiveConfig, Resolver, ResolverError};
use mailstamp_dns::Answer;
use mailstamp_fixture as fixture;
use std::future::Future;
use std::net::{IpAddr, SocketAddr};
use std::path::PathBuf;
use std::sync::OnceLock;
use std::time::Duration;

/// Options every command accepts.
#[derive(Debug, Clone, Args)]
pub struct GlobalArgs {
    /// Answer DNS queries from this fixture instead of the network: a master zone file or
    /// YAML zonedata, recognised by its content whatever the file's name (`-` is not accepted;
    /// `/dev/fd/N` is). Repeat to merge several files.
    #[arg(long, value_name = "FILE", global = true, help_heading = "DNS")]
    pub zone: Vec<PathBuf>,

    /// Ask this nameserver instead of the system's: an IP address, with an optional port
    /// (53 by default; IPv6 in brackets, as in `[::1]:5353`). Repeatable.
    #[arg(long, value_name = "ADDR[:PORT]", value_parser = parse_nameserver, global = true, conflicts_with = "zone", help_heading = "DNS")]
    pub nameserver: Vec<SocketAddr>,

    /// The most time one DNS query may take, in seconds (all attempts included).
    #[arg(long, value_name = "SECONDS", default_value = "5", value_parser = parse_seconds, global = true, help_heading = "DNS")]
    pub dns_timeout: Duration,

    /// How many times a DNS query is sent before giving up.
    #[arg(long, value_name = "N", default_value_t = 2, value_parser = clap::value_parser!(u8).range(1..=10), global = true, help_heading = "DNS")]
    pub dns_attempts: u8,

    /// Write every DNS answer received (records, NXDOMAIN, NODATA, failures) to this YAML
    /// file, which `--zone` replays.
    #[arg(long, value_name = "FILE", global = true, help_heading = "DNS")]
    pub dns_record: Option<PathBuf>,

    /// Print one JSON document instead of human-readable text.
    #[arg(long, global = true, help_heading = "Output and clock")]
    pub json: bool,

    /// Evaluate as if the time were this: Unix seconds or RFC 3339
    /// (2026-01-31T12:00:00Z).
    #[arg(long, value_name = "TIME", value_parser = parse_time, global = true, help_heading = "Output and clock")]
    pub now: Option<u64>,

    /// Print every DNS query and answer on stderr.
    #[arg(short, long, action = clap::ArgAction::Count, global = true, help_heading = "Output and clock")]
    pub verbose: u8,
}

/// `ADDR`, `ADDR:PORT`, `[V6]:PORT` or a bare IPv6 address; port 53 by default.
pub fn parse_nameserver(s: &str) -> Result<SocketAddr, String> {
    if let Ok(addr) = s.parse::<SocketAddr>() {
        return Ok(addr);
    }
    s.parse::<IpAddr>()
        .map(|ip| SocketAddr::new(ip, 53))
        .map_err(|_| format!("expected an IP address with an optional port, found {s:?}"))
}

/// A positive number of seconds, fractions allowed.
pub fn parse_seconds(s: &str) -> Result<Duration, String> {
    let secs: f64 = s
        .parse()
        .map_err(|_| format!("expected a number of seconds, found {s:?}"))?;
    if secs.is_nan() || secs <= 0.0 {
        return Err(format!(
            "expected a positive number of seconds, found {s:?}"
        ));
    }
    Duration::try_from_secs_f64(secs).map_err(|e| format!("{s:?}: {e}"))
}

/// Unix seconds, or an RFC 3339 date and time.
pub fn parse_time(s: &str) -> Result<u64, String> {
    if let Ok(secs) = s.parse::<u64>() {
        return Ok(secs);
    }
    let t = time::OffsetDateTime::parse(s, &time::format_description::well_known::Rfc3339)
        .map_err(|e| {
            format!(
                "expected Unix seconds or an RFC 3339 time (2026-01-31T12:00:00Z), found {s:?}: {e}"
            )
        })?;
    u64::try_from(t.unix_timestamp()).map_err(|_| format!("{s:?} is before 1970"))
}

/// What a command gets: the global options, the resolver (built on first use), the clock and
/// an async runtime.
pub struct Context {
    globals: GlobalArgs,
    runtime: tokio::runtime::Runtime,
    resolver: OnceLock<Resolver>,
}

impl Context {
    /// A context for these options, with a single-threaded async runtime; nothing is loaded
    /// or connected yet.
    pub fn new(globals: GlobalArgs) -> anyhow::Result<Context> {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .map_err(|e| TempFailure(format!("cannot start the async runtime: {e}")))?;
        Ok(Context {
            globals,
            runtime,
            resolver: OnceLock::new(),
        })
    }

    /// The global options.
    pub fn globals(&self) -> &GlobalArgs {
        &self.globals
    }

    /// True with `--json`.
    pub fn json(&self) -> bool {
        self.globals.json
    }

    /// The time evaluations use: `--now`, or the system clock.
    pub fn now(&self) -> u64 {
        self.globals.now.unwrap_or_else(mailstamp::system_clock)
    }

    /// Runs a future to completion on the context's runtime.
    pub fn block_on<F: Future>(&self, future: F) -> F::Output {
        self.runtime.block_on(future)
    }

    /// The resolver: over the `--zone` fixtures if any were given, else the live DNS.
    /// Fixture errors name the file and line (exit 2); a live resolver that cannot be set up
    /// is a temporary failure (exit 3).
    pub fn resolver(&self) -> anyhow::Result<&Resolver> {
        if let Some(r) = self.resolver.get() {
            return Ok(r);
        }
        let g = &self.globals;
        // hickory's live resolver attaches to the runtime it is built in.
        let _runtime = self.runtime.enter();
        let source = if g.zone.is_empty() {
            DnsSource::Live(LiveConfig {
                nameservers: g.nameserver.clone(),
                timeout: g.dns_timeout,
                attempts: usize::from(g.dns_attempts),
            })
        } else {
            DnsSource::Zone(fixture::load_all(&g.zone)?)
        };
        let mut builder = Resolver::builder(source).record(g.dns_record.is_some());
        if g.verbose > 0 {
            builder = builder.observer(print_event);
        }
        if let Some(now) = g.now {
            // A fixed clock: evaluations are reproducible, and the cache never expires.
            builder = builder.clock(move || now);
        }
        let resolver = builder
            .build()
            .map_err(|e: ResolverError| TempFailure(e.to_string()))?;
        Ok(self.resolver.get_or_init(|| resolver))
    }

    /// Ends the context at the process's exit: the runtime shuts down as usual, but the
    /// resolver (its caches and a loaded `--zone`) is left for the exit to give back instead
    /// of being freed piece by piece: after a bulk run that is thousands of allocations,
    /// several milliseconds of the run's serial tail (BENCHMARKS.md, issue 13, "Session 9").
    pub fn end(self) {
        let Context {
            globals,
            runtime,
            resolver,
        } = self;
        drop((globals, runtime));
        std::mem::forget(resolver);
    }

    /// Work after the command: writes the `--dns-record` file.
    pub fn finish(&self) -> anyhow::Result<()> {
        let (Some(path), Some(resolver)) = (&self.globals.dns_record, self.resolver.get()) else {
            return Ok(());
        };
        let recording = resolver.recording().unwrap_or_default();
        std::fs::write(path, fixture::recording_to_yaml(&recording))
            .with_context(|| format!("cannot write the DNS recording to {}", path.display()))
    }
}

/// `-v`: one stderr line per query sent and per answer.
fn print_event(event: &DnsEvent<'_>) {
    match event {
        DnsEvent::Sent { query } => eprintln!("dns: query {query}"),
        DnsEvent::Answered {
            query,
            answer,
            cached,
        } => {
            let from = if *cached { " (cached)" } else { "" };
            match answer {
                Answer::Records(records) => {
                    eprintln!("dns: answer {query}{from}: {} record(s)", records.len());
                    for r in records.iter() {
                        eprintln!(
                            "dns:   {} {} {} {}",
                            r.name.to_fqdn(),
                            r.ttl,
                            r.data.rtype(),
                            r.data
                        );
                    }
                }
                other => eprintln!("dns: answer {query}{from}: {other}"),
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nameserver_forms() {
        assert_eq!(
            parse_nameserver("192.0.2.1").unwrap(),
            "192.0.2.1:53".parse().unwrap()
        );
        assert_eq!(parse_nameserver("127.0.0.1:5353").unwrap().port(), 5353);
        assert_eq!(
            parse_nameserver("::1").unwrap(),
            "[::1]:53".parse().unwrap()
        );
        assert_eq!(parse_nameserver("[::1]:5353").unwrap().port(), 5353);
        assert!(parse_nameserver("ns.example").is_err());
    }

    #[test]
    fn seconds_and_times() {
        assert_eq!(parse_seconds("0.5").unwrap(), Duration::from_millis(500));
        assert!(parse_seconds("0").is_err());
        assert!(parse_seconds("-1").is_err());
        assert!(parse_seconds("NaN").is_err());
        assert!(parse_seconds("1e300").is_err());
        assert_eq!(parse_time("1667843664").unwrap(), 1_667_843_664);
        assert_eq!(parse_time("2022-11-07T17:54:24Z").unwrap(), 1_667_843_664);
        assert_eq!(
            parse_time("2022-11-07T18:54:24+01:00").unwrap(),
            1_667_843_664
        );
        assert!(parse_time("yesterday").is_err());
        assert!(parse_time("1960-01-01T00:00:00Z").is_err());
    }
}
