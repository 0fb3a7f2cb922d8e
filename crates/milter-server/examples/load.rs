//! Measures the milter with the test kit's load generator: starts the server on loopback with
//! DNS from an in-memory zone (so DNS is "cached"), then drives N connections × M messages of
//! signing and of verification.
//!
//! `cargo run --release -p mailstamp-milter-server --example load -- [CONNECTIONS] [MESSAGES]
//! [BODY_BYTES] [STORE]` (default 50 connections, 40 messages each, a 1.6 KB body; larger bodies are
//! sent in 64 KiB chunks). The process's peak memory (VmHWM: the milter and the load
//! generator together) is printed at the end. With STORE (a file name, `sqlite:PATH` or
//! `postgres://...`) the milter records each DMARC evaluation there (`record = STORE`), and the
//! counts written and dropped are printed at the end.

use mailstamp::Resolver;
use mailstamp::dns::{Name, Zone};
use mailstamp_milter_server::Server;
use mailstamp_milter_server::state::{Loaded, Overrides};
use mailstamp_testkit::milter_load::{Load, run};
use std::os::unix::fs::PermissionsExt as _;

const KEYS: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../../testdata/keys");

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut args = std::env::args().skip(1);
    let connections: usize = args.next().and_then(|a| a.parse().ok()).unwrap_or(50);
    let messages: usize = args.next().and_then(|a| a.parse().ok()).unwrap_or(40);
    // The rest: a number is BODY_BYTES, anything else the STORE (either may be left out).
    let (mut body_bytes, mut record) = (None::<usize>, String::new());
    for a in args {
        match a.parse() {
            Ok(n) => body_bytes = Some(n),
            Err(_) => record = format!("record = \"{a}\"\n"),
        }
    }
    let dir = tempfile::tempdir()?;
    let mut keys = Vec::new();
    for f in [
        "ed25519._domainkey.example.org.pem",
        "default._domainkey.example.org.rsa2048.pem",
    ] {
        let to = dir.path().join(f);
        std::fs::copy(format!("{KEYS}/{f}"), &to)?;
        std::fs::set_permissions(&to, std::fs::Permissions::from_mode(0o600))?;
        keys.push(to);
    }
    let path = dir.path().join("milter.toml");
    std::fs::write(
        &path,
        format!(
            "listen = \"inet:127.0.0.1:0\"\nauthserv_id = \"mx.example.net\"\n\
             internal_networks = [\"10.0.0.0/8\"]\n{record}\
             [[signing]]\ndomain = \"example.org\"\nselector = \"ed25519\"\nkey = \"{}\"\n\
             [[signing]]\ndomain = \"example.org\"\nselector = \"default\"\nkey = \"{}\"\n",
            keys[0].display(),
            keys[1].display()
        ),
    )?;
    let mut zone = Zone::new();
    for (sel, file) in [("ed25519", "ed25519"), ("default", "default")] {
        let rec = std::fs::read_to_string(format!("{KEYS}/{file}._domainkey.example.org.txt"))?;
        zone.add_txt(
            &Name::parse(&format!("{sel}._domainkey.example.org"))?,
            [rec.trim()],
        );
    }
    zone.add_txt(
        &Name::parse("example.org")?,
        ["v=spf1 ip4:192.0.2.0/24 -all"],
    );
    zone.add_txt(&Name::parse("_dmarc.example.org")?, ["v=DMARC1; p=reject"]);
    let overrides = Overrides {
        resolver: Some(Resolver::offline(zone)),
        now: None,
    };
    let loaded = Loaded::load(&path, None, &overrides)?;
    let server = Server::new(loaded, &path, overrides);
    let listener = server.bind().await?;
    let addr = listener
        .local_addr()
        .ok_or("the listener has no TCP address")?;
    let s = server.clone();
    tokio::spawn(async move { s.serve(listener).await });
    let line = "Hello,\r\n\r\nthis is a test message of a few lines.\r\n";
    let body = line.repeat(body_bytes.map_or(40, |b| b / line.len() + 1));
    let headers: Vec<(String, String)> = [
        ("From", "Alice <alice@example.org>"),
        ("To", "bob@example.net"),
        ("Subject", "load"),
        ("Date", "Thu, 15 Jan 2026 10:30:00 +0100"),
        ("Message-ID", "<load@example.org>"),
    ]
    .iter()
    .map(|(n, v)| (n.to_string(), v.to_string()))
    .collect();
    for (what, ip) in [
        ("sign (Ed25519 + RSA-2048)", "10.0.0.1"),
        ("verify (SPF+DKIM+DMARC)", "192.0.2.1"),
    ] {
        let r = run(
            addr,
            Load {
                connections,
                messages,
                client_ip: ip.into(),
                mail_from: "alice@example.org".into(),
                headers: headers.clone(),
                body: body.clone().into_bytes(),
            },
        )
        .await?;
        println!(
            "{what}: {} messages over {connections} connections in {:.2?}: {:.0} msg/s, p50 {:.2?}, p99 {:.2?}",
            r.messages,
            r.elapsed,
            r.per_second(),
            r.p50,
            r.p99
        );
    }
    server.shutdown();
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    if let Some(hwm) = status.lines().find(|l| l.starts_with("VmHWM:")) {
        println!("peak memory of this process (milter and load generator) {hwm}");
    }
    if record.is_empty() {
        return Ok(());
    }
    server.finish_recording().await;
    let m = server.metrics();
    println!(
        "recorded: {} written, {} dropped",
        m.records_written.get(),
        m.records_dropped.get()
    );
    Ok(())
}
