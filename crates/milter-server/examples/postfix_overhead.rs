//! What the milter costs Postfix: Postfix's own `smtp-source` sends the same mail through a real
//! Postfix (the test kit's harness: its own directory, loopback ports, delivering to
//! `smtp-sink`) without a milter, with a milter that does nothing, and with `mailstamp milter`
//! (in this process, verifying, DNS from an in-memory zone as with a warm cache), in rotating
//! order, and the time until every message reached the sink is compared. The do-nothing milter
//! negotiates what mailstamp negotiates and answers Continue to everything: what Postfix itself
//! spends on running any milter, the floor under mailstamp's figure.
//!
//! `cargo run --release -p mailstamp-milter-server --example postfix_overhead -- [MESSAGES] [SESSIONS] [ROUNDS]`
//!
//! Needs root and Debian's `postfix` (scripts/install-test-deps). Not run by CI.

use mailstamp_milter::{Event, FrameDecoder, MilterOptions, Session, Verdict};
use mailstamp_milter_server::Server;
use mailstamp_milter_server::state::{Loaded, Overrides};
use mailstamp_testkit::postfix::{PostfixInstance, PostfixOptions};
use std::process::Command;
use std::time::{Duration, Instant};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

/// A milter that does nothing: it negotiates `options` and answers Continue to every command
/// that wants a reply, acknowledging reads at once as mailstamp's server does (TCP_QUICKACK).
async fn do_nothing_milter(listener: tokio::net::TcpListener, options: MilterOptions) {
    while let Ok((mut stream, _)) = listener.accept().await {
        let options = options.clone();
        tokio::spawn(async move {
            let mut session = Session::new(options);
            let mut decoder = FrameDecoder::new();
            let mut buf = vec![0u8; 65536];
            loop {
                loop {
                    let command = match decoder.poll_command() {
                        Ok(Some(c)) => c,
                        Ok(None) => break,
                        Err(_) => return,
                    };
                    match session.handle(command) {
                        Ok(Some(Event::EndOfMessage { .. })) => {
                            let _ = session.end_of_message(&[], Verdict::Continue);
                        }
                        Ok(Some(Event::Quit)) | Err(_) => return,
                        Ok(_) if session.expects_reply() => {
                            let _ = session.reply(Verdict::Continue);
                        }
                        Ok(_) => {}
                    }
                }
                let out = session.take_output();
                if !out.is_empty() && stream.write_all(&out).await.is_err() {
                    return;
                }
                match stream.read(&mut buf).await {
                    Ok(0) | Err(_) => return,
                    Ok(n) => {
                        let _ = socket2::SockRef::from(&stream).set_tcp_quickack(true);
                        decoder.feed(&buf[..n]);
                    }
                }
            }
        });
    }
}

/// Sends `messages` with smtp-source over `sessions` parallel sessions and waits until all of
/// them reached the sink; returns the elapsed time.
fn run(postfix: &PostfixInstance, messages: usize, sessions: usize) -> Result<Duration, String> {
    let before = postfix.deliveries().len();
    #[expect(
        clippy::disallowed_methods,
        reason = "a benchmark measures wall-clock time"
    )]
    let t0 = Instant::now();
    let status = Command::new("/usr/sbin/smtp-source")
        .args([
            "-s",
            &sessions.to_string(),
            "-m",
            &messages.to_string(),
            "-l",
            "2048",
        ])
        .args(["-f", "alice@example.org", "-t", "bob@example.com"])
        .arg(format!("127.0.0.1:{}", postfix.smtp_port()))
        .status()
        .map_err(|e| format!("cannot run smtp-source: {e}"))?;
    if !status.success() {
        return Err(format!("smtp-source failed: {status}"));
    }
    loop {
        let delivered = postfix.deliveries().len() - before;
        if delivered >= messages && postfix.queue_settled() {
            return Ok(t0.elapsed());
        }
        if t0.elapsed() > Duration::from_secs(300) {
            return Err(format!(
                "only {delivered} of {messages} messages reached the sink"
            ));
        }
        std::thread::sleep(Duration::from_millis(5));
    }
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut args = std::env::args().skip(1);
    let messages: usize = args.next().and_then(|a| a.parse().ok()).unwrap_or(500);
    let sessions: usize = args.next().and_then(|a| a.parse().ok()).unwrap_or(10);
    let rounds: usize = args.next().and_then(|a| a.parse().ok()).unwrap_or(3);
    let runtime = tokio::runtime::Runtime::new()?;
    let dir = tempfile::tempdir()?;
    let config = dir.path().join("milter.toml");
    std::fs::write(
        &config,
        "listen = \"inet:127.0.0.1:0\"\nauthserv_id = \"mx.example.net\"\n\
         internal_networks = [\"10.255.255.0/24\"]\n",
    )?;
    let mut zone = mailstamp::dns::Zone::new();
    zone.add_txt(
        &mailstamp::dns::Name::parse("example.org")?,
        ["v=spf1 ip4:127.0.0.1 -all"],
    );
    zone.add_txt(
        &mailstamp::dns::Name::parse("_dmarc.example.org")?,
        ["v=DMARC1; p=none"],
    );
    let overrides = Overrides {
        resolver: Some(mailstamp::Resolver::offline(zone)),
        now: None,
    };
    let loaded = Loaded::load(&config, None, &overrides)?;
    let options = mailstamp_milter_server::server::milter_options(&loaded.config);
    let server = Server::new(loaded, &config, overrides);
    let listener = runtime.block_on(server.bind())?;
    let addr = listener
        .local_addr()
        .ok_or("the listener has no TCP address")?;
    let s = server.clone();
    runtime.spawn(async move { s.serve(listener).await });

    let noop_listener = runtime.block_on(tokio::net::TcpListener::bind("127.0.0.1:0"))?;
    let noop_addr = noop_listener.local_addr()?;
    runtime.spawn(do_nothing_milter(noop_listener, options));

    let plain = PostfixInstance::start(PostfixOptions::default())?;
    let noop = PostfixInstance::start(PostfixOptions::with_milter(format!("inet:{noop_addr}")))?;
    let milter = PostfixInstance::start(PostfixOptions::with_milter(format!("inet:{addr}")))?;
    println!("{messages} messages of 2 KB over {sessions} sessions, {rounds} rounds");
    let instances = [&plain, &noop, &milter];
    let mut floor = Vec::new();
    let mut ratios = Vec::new();
    for round in 1..=rounds {
        // Rotate the order so that no instance always runs first or last.
        let mut times = [Duration::ZERO; 3];
        for k in 0..3 {
            let i = (round + k) % 3;
            times[i] = run(instances[i], messages, sessions)?;
        }
        let per_s = |d: Duration| messages as f64 / d.as_secs_f64();
        let [a, n, b] = times;
        println!(
            "round {round}: without milter {a:.2?} ({:.0} msg/s), do-nothing milter {n:.2?} ({:.0} msg/s), mailstamp milter {b:.2?} ({:.0} msg/s)",
            per_s(a),
            per_s(n),
            per_s(b)
        );
        floor.push(per_s(n) / per_s(a));
        ratios.push(per_s(b) / per_s(a));
    }
    for v in [&mut floor, &mut ratios] {
        v.sort_by(f64::total_cmp);
    }
    let (floor, median) = (floor[floor.len() / 2], ratios[ratios.len() / 2]);
    println!(
        "Postfix throughput with a do-nothing milter: {:.1} % of without (median); cost {:.1} %",
        floor * 100.0,
        (1.0 - floor) * 100.0
    );
    println!(
        "Postfix throughput with the milter: {:.1} % of without (median); cost {:.1} %",
        median * 100.0,
        (1.0 - median) * 100.0
    );
    server.shutdown();
    Ok(())
}
