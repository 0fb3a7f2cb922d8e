//! Side by side with OpenDKIM's milter (Debian's `opendkim`, installed by
//! `scripts/install-test-deps`): the same signing load from the test kit's load generator
//! against `mailstamp milter` (in this process) and `opendkim` (a child process), alternated
//! round by round, both signing with the same RSA-2048 key, relaxed/relaxed, on loopback.
//!
//! `cargo run --release -p mailstamp-milter-server --example vs_opendkim -- [CONNECTIONS] [MESSAGES] [ROUNDS]`
//!
//! Prints, per round and in total, messages per second and the p50/p99 latency from end of
//! message to the final reply, the throughput ratio mailstamp ÷ OpenDKIM, and OpenDKIM's peak
//! memory (VmHWM). Every message must come back with a signature from both (the run stops
//! otherwise). Not run by CI: numbers go in BENCHMARKS.md.

use mailstamp_milter_server::Server;
use mailstamp_milter_server::state::{Loaded, Overrides};
use mailstamp_testkit::milter_load::{Load, LoadReport, run};
use std::net::{Ipv4Addr, SocketAddr, TcpListener, TcpStream};
use std::os::unix::fs::PermissionsExt as _;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

const KEYS: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../../testdata/keys");
const KEY: &str = "default._domainkey.example.org.rsa2048.pem";

/// OpenDKIM as a child process, stopped on drop.
struct OpenDkim(Child);

impl Drop for OpenDkim {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn free_port() -> std::io::Result<u16> {
    Ok(TcpListener::bind((Ipv4Addr::LOCALHOST, 0))?
        .local_addr()?
        .port())
}

/// Peak resident memory of a process, from /proc (kB).
fn peak_kb(pid: u32) -> Option<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    status
        .lines()
        .find(|l| l.starts_with("VmHWM:"))?
        .split_whitespace()
        .nth(1)?
        .parse()
        .ok()
}

fn line(what: &str, r: &LoadReport) -> String {
    format!(
        "{what:<10} {:>6} messages in {:>8.2?}: {:>7.0} msg/s, p50 {:>9.2?}, p99 {:>9.2?}",
        r.messages,
        r.elapsed,
        r.per_second(),
        r.p50,
        r.p99
    )
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut args = std::env::args().skip(1);
    let connections: usize = args.next().and_then(|a| a.parse().ok()).unwrap_or(20);
    let messages: usize = args.next().and_then(|a| a.parse().ok()).unwrap_or(50);
    let rounds: usize = args.next().and_then(|a| a.parse().ok()).unwrap_or(3);
    let dir = tempfile::tempdir()?;
    let key = dir.path().join(KEY);
    std::fs::copy(format!("{KEYS}/{KEY}"), &key)?;
    std::fs::set_permissions(&key, std::fs::Permissions::from_mode(0o600))?;

    // mailstamp: the same key only, so both do the same signing work.
    let config = dir.path().join("milter.toml");
    std::fs::write(
        &config,
        format!(
            "listen = \"inet:127.0.0.1:0\"\nauthserv_id = \"mx.example.net\"\n\
             internal_networks = [\"10.0.0.0/8\"]\n\
             [[signing]]\ndomain = \"example.org\"\nselector = \"default\"\nkey = \"{}\"\n\
             canonicalization = \"relaxed/relaxed\"\n",
            key.display()
        ),
    )?;
    let overrides = Overrides {
        resolver: Some(mailstamp::Resolver::offline(mailstamp::dns::Zone::new())),
        now: None,
    };
    let loaded = Loaded::load(&config, None, &overrides)?;
    let server = Server::new(loaded, &config, overrides);
    let listener = server.bind().await?;
    let ours = listener
        .local_addr()
        .ok_or("the listener has no TCP address")?;
    let s = server.clone();
    tokio::spawn(async move { s.serve(listener).await });

    // OpenDKIM: sign for example.org, clients in 10.0.0.0/8 are internal.
    let port = free_port()?;
    let conf = dir.path().join("opendkim.conf");
    std::fs::write(
        &conf,
        format!(
            "Syslog no\nBackground no\nMode s\nSocket inet:{port}@127.0.0.1\n\
             Domain example.org\nSelector default\nKeyFile {}\nInternalHosts 10.0.0.0/8\n\
             Canonicalization relaxed/relaxed\nRequireSafeKeys no\nPidFile {}\n",
            key.display(),
            dir.path().join("opendkim.pid").display()
        ),
    )?;
    let child = Command::new("opendkim")
        .args(["-f", "-x"])
        .arg(&conf)
        .stdout(Stdio::null())
        .stderr(Stdio::inherit())
        .spawn()
        .map_err(|e| {
            format!("cannot start opendkim (scripts/install-test-deps installs it): {e}")
        })?;
    let opendkim = OpenDkim(child);
    let theirs = SocketAddr::from((Ipv4Addr::LOCALHOST, port));
    for _ in 0..200 {
        if TcpStream::connect(theirs).is_ok() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(25)).await;
    }

    let body = "Hello,\r\n\r\nthis is a test message of a few lines.\r\n".repeat(40);
    let load = Load {
        connections,
        messages,
        client_ip: "10.0.0.1".into(),
        mail_from: "alice@example.org".into(),
        headers: [
            ("From", "Alice <alice@example.org>"),
            ("To", "bob@example.net"),
            ("Subject", "load"),
            ("Date", "Thu, 15 Jan 2026 10:30:00 +0100"),
            ("Message-ID", "<load@example.org>"),
        ]
        .iter()
        .map(|(n, v)| (n.to_string(), v.to_string()))
        .collect(),
        body: body.into_bytes(),
    };
    println!(
        "signing, RSA-2048 relaxed/relaxed, {connections} connections x {messages} messages, \
         {rounds} rounds"
    );
    let (mut ours_total, mut theirs_total) = (0.0, 0.0);
    let mut ratios = Vec::new();
    for round in 1..=rounds {
        // Alternate the order so neither always runs first.
        let order = if round % 2 == 1 {
            [true, false]
        } else {
            [false, true]
        };
        let mut results = [None, None];
        for mailstamp_first in order {
            let (addr, slot) = if mailstamp_first {
                (ours, 0)
            } else {
                (theirs, 1)
            };
            let r = run(addr, load.clone()).await?;
            if r.modifications < r.messages || r.refused > 0 {
                return Err(format!(
                    "{}: {} of {} messages signed, {} refused",
                    if slot == 0 { "mailstamp" } else { "opendkim" },
                    r.modifications,
                    r.messages,
                    r.refused
                )
                .into());
            }
            results[slot] = Some(r);
        }
        let (Some(a), Some(b)) = (&results[0], &results[1]) else {
            continue;
        };
        println!(
            "round {round}\n  {}\n  {}",
            line("mailstamp", a),
            line("opendkim", b)
        );
        ours_total += a.per_second();
        theirs_total += b.per_second();
        ratios.push(a.per_second() / b.per_second());
    }
    ratios.sort_by(f64::total_cmp);
    let median = ratios.get(ratios.len() / 2).copied().unwrap_or(f64::NAN);
    println!(
        "mean: mailstamp {:.0} msg/s, opendkim {:.0} msg/s; throughput ratio mailstamp / opendkim: median {median:.2}",
        ours_total / rounds as f64,
        theirs_total / rounds as f64
    );
    if let Some(kb) = peak_kb(opendkim.0.id()) {
        println!("opendkim peak memory (VmHWM): {kb} kB");
    }
    if let Some(kb) = peak_kb(std::process::id()) {
        println!("this process (mailstamp milter and the load generator) peak memory: {kb} kB");
    }
    server.shutdown();
    Ok(())
}
