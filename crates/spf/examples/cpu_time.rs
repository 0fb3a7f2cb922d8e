//! Runs the hot paths of the benchmarks in a plain loop, so their CPU time can be measured
//! where wall-clock benchmarks are distorted by other load:
//!
//! ```text
//! cargo build --release -p mailstamp-spf --example cpu_time
//! perf stat -e task-clock target/release/examples/cpu_time cached 2000000
//! perf stat -e task-clock target/release/examples/cpu_time cached-with-request 2000000
//! perf stat -e task-clock target/release/examples/cpu_time parse 200000
//! perf stat -e task-clock target/release/examples/cpu_time parse-9 2000000
//! valgrind --tool=callgrind target/release/examples/cpu_time cached 10000
//! ```
//!
//! CPU time divided by the iteration count is the cost of one iteration (plus the fixed set-up,
//! which a second run with another count cancels out).

use mailstamp_dns::Name;
use mailstamp_spf::{Options, Record, RecordCache, Request, SpfResult, Step, check_host};
use std::hint::black_box;
use std::net::IpAddr;
use std::sync::Arc;

/// The record of `bench/vs-mail-auth`'s `parse SPF record (9 terms)` row.
const NINE_TERMS: &str = "v=spf1 ip4:192.0.2.0/24 ip4:198.51.100.0/24 ip6:2001:db8::/32 a mx \
                          include:_spf.example.net include:_spf.example.com \
                          redirect=_spf.example.org";

fn main() {
    let mut args = std::env::args().skip(1);
    let mode = args.next().unwrap_or_else(|| "cached".to_owned());
    let iterations: u64 = args
        .next()
        .and_then(|a| a.parse().ok())
        .unwrap_or(1_000_000);
    let mut cache = RecordCache::new();
    for (name, text) in [
        (
            "example.com",
            "v=spf1 ip4:192.0.2.0/24 include:_spf.example.net -all",
        ),
        (
            "_spf.example.net",
            "v=spf1 ip4:198.51.100.0/24 ip6:2001:db8:1::/48 include:_spf2.example.net ~all",
        ),
        (
            "_spf2.example.net",
            "v=spf1 ip4:203.0.113.0/25 include:_spf3.example.net ~all",
        ),
        (
            "_spf3.example.net",
            "v=spf1 ip4:198.18.0.0/15 ip6:2001:db8:ff::/48 ~all",
        ),
    ] {
        let (Ok(name), Ok(record)) = (Name::parse(name), Record::parse(text)) else {
            return;
        };
        cache.insert(name, record);
    }
    let options = Options::default().with_cache(Arc::new(cache));
    let ip = IpAddr::from([198, 19, 4, 5]);
    let request = Request::mail_from(ip, "alice@example.com", "mail.example.com");
    let record = "v=spf1 ip4:198.18.0.0/24 ip4:198.18.7.0/24 ip4:198.18.14.0/24 \
                  ip4:198.18.21.0/24 ip4:198.18.28.0/24 ip4:198.18.35.0/24 ip4:198.18.42.0/24 \
                  ip4:198.18.49.0/24 ip4:198.18.56.0/24 ip4:198.18.63.0/24 ip4:198.19.70.0/24 \
                  ip4:198.19.77.0/24 ip4:198.19.84.0/24 ip4:198.19.91.0/24 ip4:198.19.98.0/24 \
                  ip4:198.19.105.0/24 ip4:198.19.112.0/24 ip4:198.19.119.0/24 \
                  ip4:198.19.126.0/24 ip4:198.19.133.0/24 ip6:2001:db8::/48 ip6:2001:db8:3::/48 \
                  ip6:2001:db8:6::/48 ip6:2001:db8:9::/48 ip6:2001:db8:c::/48 \
                  include:_spf.mbp.example include:servers.mcsv.example \
                  exists:%{i}._spf.example.com a:mail.example.com/28 ~all";
    let mut count = 0u64;
    for _ in 0..iterations {
        let ok = match mode.as_str() {
            "parse" => Record::parse(black_box(record)).is_ok(),
            // The record of the side-by-side `parse SPF record (9 terms)` row, from bytes.
            "parse-9" => Record::parse_bytes(black_box(NINE_TERMS.as_bytes())).is_ok(),
            "cached-with-request" => {
                let request = Request::mail_from(
                    black_box(ip),
                    black_box("alice@example.com"),
                    "mail.example.com",
                );
                matches!(check_host(&request, &options), Step::Done(v) if v.result == SpfResult::Pass)
            }
            _ => matches!(
                check_host(black_box(&request), &options),
                Step::Done(v) if v.result == SpfResult::Pass
            ),
        };
        count += u64::from(ok);
    }
    println!("{mode}: {count} of {iterations} as expected");
}
