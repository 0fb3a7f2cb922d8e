//! Benchmarks: record parsing, a full evaluation against an in-memory zone, and the evaluation
//! of identifiers against a policy already discovered (the fast path).

use criterion::{Criterion, criterion_group, criterion_main};
use mailstamp_dmarc::{
    Discovery, EvaluationRequest, Identifiers, MechanismResult, Record, discover, evaluate,
    evaluate_with,
};
use mailstamp_dns::{Name, Step, Zone, resolve_sync};
use std::hint::black_box;
use std::sync::Arc;

const TYPICAL: &str = "v=DMARC1; p=reject; sp=quarantine; adkim=s; aspf=r; fo=1; \
                       rua=mailto:dmarc-agg@example.com; ruf=mailto:dmarc-fail@example.com";

fn n(s: &str) -> Name {
    Name::parse(s).expect("valid name")
}

fn parse(c: &mut Criterion) {
    c.bench_function("parse/minimal", |b| {
        b.iter(|| Record::parse(black_box(b"v=DMARC1; p=none")))
    });
    c.bench_function("parse/typical", |b| {
        b.iter(|| Record::parse(black_box(TYPICAL.as_bytes())))
    });
    c.bench_function("parse/not-dmarc", |b| {
        b.iter(|| Record::parse(black_box(b"v=spf1 include:_spf.example.com -all")))
    });
}

fn evaluation(c: &mut Criterion) {
    let mut zone = Zone::new();
    zone.add_txt(&n("_dmarc.example.com"), [TYPICAL]);
    let request = EvaluationRequest {
        author_domains: vec![n("news.example.com")],
        identifiers: Identifiers::new()
            .with_spf(MechanismResult::Pass, n("bounce.example.com"))
            .with_dkim(MechanismResult::Fail, n("news.example.com")),
        ..EvaluationRequest::default()
    };
    c.bench_function("evaluate/zone relaxed subdomain", |b| {
        b.iter(|| resolve_sync(evaluate(black_box(request.clone())), &zone))
    });

    let policy = Arc::new(resolve_sync(
        discover(n("example.com"), Discovery::TreeWalk),
        &zone,
    ));
    let same = Identifiers::new()
        .with_spf(MechanismResult::Pass, n("example.com"))
        .with_dkim(MechanismResult::Pass, n("example.com"));
    c.bench_function("evaluate_with/discovered, aligned", |b| {
        b.iter(
            || match evaluate_with(black_box(&policy), black_box(&same)) {
                Step::Done(v) => v,
                Step::Lookup(_) => unreachable!("no DNS needed"),
            },
        )
    });
    let unaligned = Identifiers::new()
        .with_spf(MechanismResult::Pass, n("example.net"))
        .with_dkim(MechanismResult::Fail, n("example.com"));
    c.bench_function("evaluate_with/discovered, fail", |b| {
        b.iter(
            || match evaluate_with(black_box(&policy), black_box(&unaligned)) {
                Step::Done(v) => v,
                Step::Lookup(_) => unreachable!("no DNS needed"),
            },
        )
    });
}

criterion_group!(benches, parse, evaluation);
criterion_main!(benches);
