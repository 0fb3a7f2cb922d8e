//! Benchmarks: record parsing, a full evaluation against an in-memory zone (records parsed at
//! each call, or once, as the `mailstamp` resolver's parsed-record cache hands them over), and
//! the evaluation of identifiers against a policy already discovered (the fast path).

use criterion::{Criterion, criterion_group, criterion_main};
use mailstamp_dmarc::{
    Discovery, EvaluationRequest, Identifiers, MechanismResult, ParseError, Record, RecordParser,
    discover, evaluate, evaluate_with, evaluate_with_parser,
};
use mailstamp_dns::{Name, Step, Zone, resolve_sync};
use std::collections::HashMap;
use std::hint::black_box;
use std::sync::{Arc, Mutex};

const TYPICAL: &str = "v=DMARC1; p=reject; sp=quarantine; adkim=s; aspf=r; fo=1; \
                       rua=mailto:dmarc-agg@example.com; ruf=mailto:dmarc-fail@example.com";

fn n(s: &str) -> Name {
    Name::parse(s).expect("valid name")
}

/// A record text's parse, shared.
type Parsed = Result<Arc<Record>, ParseError>;

/// Each record text parsed once, as a process-wide cache of parsed records does.
#[derive(Debug, Default)]
struct ParsedOnce(Mutex<HashMap<Vec<u8>, Parsed>>);

impl RecordParser for ParsedOnce {
    fn parse(&self, text: &[u8]) -> Parsed {
        let mut map = self
            .0
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        map.entry(text.to_vec())
            .or_insert_with(|| Record::parse(text).map(Arc::new))
            .clone()
    }
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
    let parser: Arc<dyn RecordParser> = Arc::new(ParsedOnce::default());
    c.bench_function("evaluate/zone relaxed subdomain, parsed once", |b| {
        b.iter(|| resolve_sync(evaluate_with_parser(black_box(&request), &parser), &zone))
    });
    // The common case: From, MAIL FROM and d= are one domain, which publishes the record.
    let same_domain = EvaluationRequest {
        author_domains: vec![n("example.com")],
        identifiers: Identifiers::new()
            .with_spf(MechanismResult::Pass, n("example.com"))
            .with_dkim(MechanismResult::Pass, n("example.com")),
        ..EvaluationRequest::default()
    };
    c.bench_function("evaluate/zone aligned author record, parsed once", |b| {
        b.iter(|| {
            resolve_sync(
                evaluate_with_parser(black_box(&same_domain), &parser),
                &zone,
            )
        })
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
