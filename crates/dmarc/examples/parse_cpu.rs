//! CPU cost of parsing the DMARC record of the side-by-side benchmark (`bench/vs-mail-auth`,
//! "parse DMARC record (10 tags)") in a plain loop, for `perf` or `callgrind`:
//!
//! ```sh
//! cargo build --release -p mailstamp-dmarc --example parse_cpu
//! valgrind --tool=callgrind target/release/examples/parse_cpu 10000
//! ```
//!
//! The instruction counts of two runs with different counts, subtracted and divided by the
//! difference, are the cost of one parse (the record is dropped each time, as in the benchmark).

use mailstamp_dmarc::Record;
use std::hint::black_box;

/// The benchmark's record: ten tags, two of them removed by RFC 9989.
const TEXT: &str = "v=DMARC1; p=reject; sp=quarantine; adkim=s; aspf=r; pct=100; rua=mailto:dmarc@example.org; ruf=mailto:forensic@example.org; fo=1; ri=86400";

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let iterations: u64 = std::env::args()
        .nth(1)
        .and_then(|a| a.parse().ok())
        .unwrap_or(1_000_000);
    for _ in 0..iterations {
        let record = Record::parse(black_box(TEXT.as_bytes()))?;
        black_box(record);
    }
    Ok(())
}
