//! Reading aggregate reports (issue 16): one small report (2 records), the same gzip-compressed,
//! one large report (2,286 records), and a directory of 1,000 small report files read with
//! `parse_each` and totalled with `Summariser` (what `mailstamp report parse DIR` does).
//! The whole-process comparison with parsedmarc is `examples/vs_parsedmarc.rs`.

mod common;

use common::{Rng, SEED, report, write_corpus};
use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use mailstamp_reports::{ParseOptions, parse_aggregate_xml, parse_bytes, parse_each, summary};
use std::hint::black_box;
use std::io::Write as _;

fn bench(c: &mut Criterion) {
    let mut rng = Rng(SEED);
    let small = report(0, 2, &mut rng);
    let large = report(1, 2_286, &mut rng);
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    gz.write_all(small.as_bytes()).unwrap();
    let small_gz = gz.finish().unwrap();

    let mut g = c.benchmark_group("aggregate");
    g.throughput(Throughput::Elements(1));
    g.bench_function("xml, 2 records", |b| {
        b.iter(|| {
            let mut diags = mailstamp_reports::Diagnostics::default();
            black_box(parse_aggregate_xml(
                "r.xml",
                black_box(small.as_bytes()),
                &mut diags,
            ))
        });
    });
    g.bench_function("xml.gz, 2 records", |b| {
        b.iter(|| {
            black_box(parse_bytes(
                "r.xml.gz",
                black_box(&small_gz),
                ParseOptions::default(),
            ))
        });
    });
    g.bench_function("xml, 2286 records", |b| {
        b.iter(|| {
            let mut diags = mailstamp_reports::Diagnostics::default();
            black_box(parse_aggregate_xml(
                "r.xml",
                black_box(large.as_bytes()),
                &mut diags,
            ))
        });
    });
    g.finish();

    let dir = tempfile::tempdir().unwrap();
    write_corpus(dir.path(), 1_000, 2).unwrap();
    let mut g = c.benchmark_group("directory");
    g.sample_size(20);
    g.throughput(Throughput::Elements(1_000));
    g.bench_function("1000 files, 2 records, summary", |b| {
        b.iter(|| {
            let mut s = summary::Summariser::default();
            let diags = parse_each(dir.path(), ParseOptions::default(), |r| s.add(&r));
            assert!(diags.items.is_empty());
            black_box(s.finish())
        });
    });
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
