//! CPU cost of the two evaluations the side-by-side benchmark (`bench/vs-mail-auth`) measures
//! with records already fetched: SPF `check_host()` over three levels of `include`, and DMARC
//! with the SPF and DKIM results given. Both run through the offline [`Resolver`] and its
//! caches, exactly as the pipeline runs them, in a plain loop for `perf` or `callgrind`:
//!
//! ```sh
//! cargo build --release -p mailstamp --example cached_cpu
//! perf stat -e task-clock target/release/examples/cached_cpu spf 1000000
//! valgrind --tool=callgrind target/release/examples/cached_cpu dmarc 20000
//! ```
//!
//! Modes: `spf`; `dmarc` (SPF and DKIM identifiers equal to the author domain, as in the
//! side-by-side benchmark's corpus); `dmarc-subdomains` (a `bounce.` MAIL FROM and a `mail.`
//! signing domain, so relaxed alignment walks to the organizational domain).
//!
//! The CPU time of two runs with different counts, subtracted and divided by the difference,
//! is the cost of one evaluation.

use mailstamp::{Resolver, drive, spf};
use mailstamp_dmarc::{Discovery, EvaluationRequest, Identifiers, MechanismResult};
use mailstamp_dns::{Name, Zone};
use mailstamp_testkit::corpus::SPF_INCLUDE_CHAIN;
use std::hint::black_box;
use std::net::IpAddr;
use std::sync::Arc;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut args = std::env::args().skip(1);
    let mode = args.next().unwrap_or_else(|| "spf".to_owned());
    let iterations: u64 = args.next().and_then(|a| a.parse().ok()).unwrap_or(100_000);

    let mut zone = Zone::new();
    for (name, text) in SPF_INCLUDE_CHAIN {
        zone.add_txt(&Name::parse(name)?, [text]);
    }
    for i in 0..50 {
        zone.add_txt(
            &Name::parse(&format!("_dmarc.d{i}.example"))?,
            ["v=DMARC1; p=reject; rua=mailto:dmarc@example.org; adkim=r; aspf=r"],
        );
    }
    let resolver = Resolver::offline(zone);
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;

    match mode.as_str() {
        "spf" => {
            let ip: IpAddr = "192.0.2.77".parse()?;
            let options = spf::Options::default().with_receiver("mx.receiver.example");
            for _ in 0..iterations {
                let request = spf::Request::mail_from(ip, "user@chain.example", "mx.chain.example");
                let verdict = runtime.block_on(spf::check(&resolver, &request, &options));
                assert_eq!(verdict.result, spf::SpfResult::Pass);
                black_box(verdict);
            }
        }
        "dmarc" | "dmarc-subdomains" => {
            let sub = mode == "dmarc-subdomains";
            let requests = (0..50)
                .map(|i| {
                    let author = Name::parse(&format!("d{i}.example"))?;
                    let (bounce, signer) = if sub {
                        (
                            Name::parse(&format!("bounce.d{i}.example"))?,
                            Name::parse(&format!("mail.d{i}.example"))?,
                        )
                    } else {
                        (author.clone(), author.clone())
                    };
                    Ok(EvaluationRequest {
                        author_domains: vec![author],
                        identifiers: Identifiers::new()
                            .with_spf(MechanismResult::Pass, bounce)
                            .with_dkim(MechanismResult::Pass, signer),
                        discovery: Discovery::TreeWalk,
                        options: Default::default(),
                    })
                })
                .collect::<Result<Vec<_>, mailstamp_dns::NameError>>()?;
            // The resolver itself, as the pipeline hands it to DMARC.
            let parser: Arc<dyn mailstamp_dmarc::RecordParser> = Arc::new(resolver.clone());
            for i in 0..iterations {
                let request = &requests[usize::try_from(i % 50)?];
                let verdict = runtime.block_on(drive(
                    mailstamp_dmarc::evaluate_with_parser(request, &parser),
                    &resolver,
                ));
                assert_eq!(verdict.result.as_str(), "pass");
                black_box(verdict);
            }
        }
        other => {
            return Err(format!("unknown mode {other:?}: spf, dmarc or dmarc-subdomains").into());
        }
    }
    Ok(())
}
