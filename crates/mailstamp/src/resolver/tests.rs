//! Offline tests of the resolver: cache, clock, observer, record mode, concurrency, drive.

use super::*;
use crate::drive;
use mailstamp_dns::{FailureKind, Lookup, Name, RData, RecordType, Step};
use std::sync::atomic::{AtomicU64, AtomicUsize};

fn n(s: &str) -> Name {
    Name::parse(s).unwrap()
}

fn zone() -> Zone {
    let mut z = Zone::new();
    z.insert(
        &n("short.example"),
        10,
        RData::Txt(mailstamp_dns::Txt::new(["a"])),
    );
    z.insert(
        &n("long.example"),
        1000,
        RData::Txt(mailstamp_dns::Txt::new(["b"])),
    );
    z.fail(&n("down.example"), FailureKind::ServFail);
    z
}

fn rt() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap()
}

/// A resolver over `zone()` with a fake clock, counting the queries that reach the source.
fn counting() -> (Resolver, Arc<AtomicU64>, Arc<AtomicUsize>) {
    let now = Arc::new(AtomicU64::new(1_000_000));
    let sent = Arc::new(AtomicUsize::new(0));
    let (clock, counter) = (now.clone(), sent.clone());
    let resolver = Resolver::builder(DnsSource::Zone(zone()))
        .clock(move || clock.load(Ordering::SeqCst))
        .observer(move |e| {
            if let DnsEvent::Sent { .. } = e {
                counter.fetch_add(1, Ordering::SeqCst);
            }
        })
        .build()
        .unwrap();
    (resolver, now, sent)
}

#[test]
fn cache_honours_record_ttls_with_a_fake_clock() {
    let (resolver, now, sent) = counting();
    let rt = rt();
    let short = Query::txt(n("short.example"));
    let long = Query::txt(n("long.example"));
    rt.block_on(resolver.answer(&short));
    rt.block_on(resolver.answer(&long));
    assert_eq!(sent.load(Ordering::SeqCst), 2);
    now.fetch_add(9, Ordering::SeqCst);
    rt.block_on(resolver.answer(&short));
    assert_eq!(
        sent.load(Ordering::SeqCst),
        2,
        "still fresh after 9 s of a 10 s TTL"
    );
    now.fetch_add(1, Ordering::SeqCst);
    rt.block_on(resolver.answer(&short));
    rt.block_on(resolver.answer(&long));
    assert_eq!(
        sent.load(Ordering::SeqCst),
        3,
        "expired at 10 s; the 1000 s one is fresh"
    );
    // Clones share the cache.
    let clone = resolver.clone();
    rt.block_on(clone.answer(&long));
    assert_eq!(sent.load(Ordering::SeqCst), 3);
}

#[test]
fn rfc2308_negative_and_failure_ttls() {
    let (resolver, now, sent) = counting();
    let rt = rt();
    let nx = Query::txt(n("nowhere.example"));
    let down = Query::txt(n("down.example"));
    assert_eq!(rt.block_on(resolver.answer(&nx)), Answer::NxDomain);
    assert_eq!(
        rt.block_on(resolver.answer(&down)),
        Answer::Failed(FailureKind::ServFail)
    );
    now.fetch_add(u64::from(FAILURE_TTL), Ordering::SeqCst);
    rt.block_on(resolver.answer(&nx));
    rt.block_on(resolver.answer(&down));
    assert_eq!(
        sent.load(Ordering::SeqCst),
        3,
        "the failure expired, NXDOMAIN did not"
    );
    now.fetch_add(u64::from(DEFAULT_NEGATIVE_TTL), Ordering::SeqCst);
    rt.block_on(resolver.answer(&nx));
    assert_eq!(sent.load(Ordering::SeqCst), 4);
}

#[test]
fn observer_sees_queries_and_cached_answers() {
    let events = Arc::new(Mutex::new(Vec::new()));
    let log = events.clone();
    let resolver = Resolver::builder(DnsSource::Zone(zone()))
        .observer(move |e| {
            let line = match e {
                DnsEvent::Sent { query } => format!("sent {query}"),
                DnsEvent::Answered {
                    query,
                    answer,
                    cached,
                } => format!("{query} -> {} cached={cached}", answer.kind_str()),
            };
            log.lock().unwrap().push(line);
        })
        .build()
        .unwrap();
    let rt = rt();
    let q = Query::txt(n("long.example"));
    rt.block_on(resolver.answer(&q));
    rt.block_on(resolver.answer(&q));
    assert_eq!(
        *events.lock().unwrap(),
        vec![
            "sent long.example TXT",
            "long.example TXT -> records cached=false",
            "long.example TXT -> records cached=true",
        ]
    );
}

#[test]
fn answer_all_keeps_query_order_and_asks_once_per_query() {
    let (resolver, _, sent) = counting();
    let queries = vec![
        Query::txt(n("long.example")),
        Query::new(n("long.example"), RecordType::A),
        Query::txt(n("down.example")),
        Query::txt(n("long.example")),
    ];
    let answers = rt().block_on(resolver.answer_all(&queries));
    assert_eq!(answers.len(), 4);
    assert!(matches!(answers[0], Answer::Records(_)));
    assert_eq!(answers[1], Answer::NoData);
    assert_eq!(answers[2], Answer::Failed(FailureKind::ServFail));
    assert_eq!(answers[3], answers[0]);
    assert_eq!(
        sent.load(Ordering::SeqCst),
        3,
        "the repeated query waits for the first"
    );
    assert!(rt().block_on(resolver.answer_all(&[])).is_empty());
}

#[test]
fn record_mode_keeps_every_source_answer_and_replays() {
    let resolver = Resolver::builder(DnsSource::Zone(zone()))
        .record(true)
        .build()
        .unwrap();
    let queries = [
        Query::txt(n("long.example")),
        Query::txt(n("long.example")),
        Query::txt(n("nowhere.example")),
        Query::new(n("long.example"), RecordType::Mx),
        Query::txt(n("down.example")),
    ];
    let rt = rt();
    let live: Vec<Answer> = queries
        .iter()
        .map(|q| rt.block_on(resolver.answer(q)))
        .collect();
    let recording = resolver.recording().unwrap();
    assert_eq!(
        recording.len(),
        4,
        "the cached repeat is not recorded twice"
    );
    let text = mailstamp_fixture::recording_to_yaml(&recording);
    let replay = Resolver::offline(mailstamp_fixture::parse_yaml_str(&text, "rec.yml").unwrap());
    let replayed: Vec<Answer> = queries
        .iter()
        .map(|q| rt.block_on(replay.answer(q)))
        .collect();
    assert_eq!(live, replayed, "{text}");
    assert!(Resolver::offline(Zone::new()).recording().is_none());
}

/// A two-step evaluation: asks for a TXT record naming another name, then for that name's A.
struct Chase {
    queries: Vec<Query>,
    first: bool,
}

impl Lookup for Chase {
    type Output = Answer;
    fn queries(&self) -> &[Query] {
        &self.queries
    }
    fn resume(self, answers: Vec<Answer>) -> Step<Self, Answer> {
        let answer = answers
            .into_iter()
            .next()
            .unwrap_or(Answer::Failed(FailureKind::Other));
        if !self.first {
            return Step::Done(answer);
        }
        let target = answer
            .txts()
            .next()
            .and_then(|t| Name::parse(&t.joined_lossy()).ok());
        match target {
            Some(t) => Step::Lookup(Chase {
                queries: vec![Query::new(t, RecordType::A)],
                first: false,
            }),
            None => Step::Done(answer),
        }
    }
}

#[test]
fn drive_runs_every_step() {
    let mut z = Zone::new();
    z.add_txt(&n("pointer.example"), ["target.example"]);
    z.add(
        &n("target.example"),
        RData::A(std::net::Ipv4Addr::new(192, 0, 2, 9)),
    );
    let resolver = Resolver::offline(z);
    let step = Step::Lookup(Chase {
        queries: vec![Query::txt(n("pointer.example"))],
        first: true,
    });
    let out = rt().block_on(drive(step, &resolver));
    assert_eq!(out.data_of(RecordType::A).count(), 1);
}

#[test]
fn answer_all_future_is_send_for_multi_thread_runtimes() {
    fn is_send<T: Send>(_: &T) {}
    let resolver = Resolver::offline(zone());
    let queries = [Query::txt(n("long.example"))];
    let fut = resolver.answer_all(&queries);
    is_send(&fut);
    let answers = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .build()
        .unwrap()
        .block_on(fut);
    assert_eq!(answers.len(), 1);
}

#[test]
fn stale_entries_are_swept_when_the_cache_grows() {
    let (resolver, now, _) = counting();
    let rt = rt();
    let queries: Vec<Query> = (0..PRUNE_AT)
        .map(|i| Query::txt(n(&format!("n{i}.example"))))
        .collect();
    rt.block_on(resolver.answer_all(&queries));
    assert_eq!(resolver.cached_len(), PRUNE_AT);
    // Every NXDOMAIN above is stale after the negative TTL; the next new query sweeps them.
    now.fetch_add(u64::from(DEFAULT_NEGATIVE_TTL), Ordering::SeqCst);
    rt.block_on(resolver.answer(&Query::txt(n("fresh.example"))));
    assert_eq!(resolver.cached_len(), 1);
    resolver.clear_cache();
    assert_eq!(resolver.cached_len(), 0);
}

#[test]
fn the_system_clock_is_the_wall_clock_to_the_second() {
    #[expect(
        clippy::disallowed_methods,
        reason = "the test compares the coarse clock with the precise one"
    )]
    let precise = || {
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_secs()
    };
    let before = precise();
    let coarse = system_clock();
    let after = precise();
    // The coarse clock lags the precise one by at most a timer tick (milliseconds).
    assert!(
        before.saturating_sub(1) <= coarse && coarse <= after,
        "{before} <= {coarse} <= {after}"
    );
}

/// DMARC evaluations over `resolver` as the pipeline runs them (the resolver parses the
/// records, keeps discoveries and drives what waits).
fn dmarc(
    resolver: &Resolver,
    rt: &tokio::runtime::Runtime,
    request: &mailstamp_dmarc::EvaluationRequest,
) -> mailstamp_dmarc::DmarcVerdict {
    let parser: Arc<dyn mailstamp_dmarc::RecordParser> = Arc::new(resolver.clone());
    rt.block_on(drive(
        mailstamp_dmarc::evaluate_with_parser(request, &parser),
        resolver,
    ))
}

/// True when both verdicts share one kept discovery.
fn same_discovery(a: &mailstamp_dmarc::DmarcVerdict, b: &mailstamp_dmarc::DmarcVerdict) -> bool {
    match (&a.discovery, &b.discovery) {
        (Some(a), Some(b)) => Arc::ptr_eq(a, b),
        _ => false,
    }
}

#[test]
fn rfc2308_a_kept_dmarc_discovery_lives_until_its_first_answer_expires() {
    // The walk from news.example.com reads NXDOMAIN (300 s, RFC 2308 §5), the record of
    // example.com (1000 s) and NXDOMAIN for com: the discovery is kept for 300 s, and each
    // evaluation of the Author Domain in that time reuses it with the same verdict.
    let mut z = Zone::new();
    z.insert(
        &n("_dmarc.example.com"),
        1000,
        RData::Txt(mailstamp_dns::Txt::new(["v=DMARC1; p=reject"])),
    );
    let now = Arc::new(AtomicU64::new(1_000_000));
    let clock = now.clone();
    let resolver = Resolver::builder(DnsSource::Zone(z))
        .clock(move || clock.load(Ordering::SeqCst))
        .record(true)
        .build()
        .unwrap();
    let fetched = || resolver.recording().map_or(0, |r| r.len());
    let rt = rt();
    let request = mailstamp_dmarc::EvaluationRequest {
        author_domains: vec![n("news.example.com")],
        identifiers: mailstamp_dmarc::Identifiers::new()
            .with_dkim(mailstamp_dmarc::MechanismResult::Pass, n("example.com")),
        ..Default::default()
    };
    let first = dmarc(&resolver, &rt, &request);
    assert_eq!(first.result, mailstamp_dmarc::DmarcResult::Pass);
    assert_eq!(fetched(), 3);
    let json = serde_json::to_string(&first).unwrap();

    now.fetch_add(u64::from(DEFAULT_NEGATIVE_TTL) - 1, Ordering::SeqCst);
    let again = dmarc(&resolver, &rt, &request);
    assert!(
        same_discovery(&first, &again),
        "kept while every answer is fresh"
    );
    assert_eq!(serde_json::to_string(&again).unwrap(), json);
    assert_eq!(fetched(), 3);

    // The two NXDOMAIN answers expire: the walk is made again, asking for them again.
    now.fetch_add(1, Ordering::SeqCst);
    let walked = dmarc(&resolver, &rt, &request);
    assert!(!same_discovery(&first, &walked), "stale once an answer is");
    assert_eq!(serde_json::to_string(&walked).unwrap(), json);
    assert_eq!(fetched(), 5);
    let kept = dmarc(&resolver, &rt, &request);
    assert!(same_discovery(&walked, &kept));

    resolver.clear_cache();
    let cleared = dmarc(&resolver, &rt, &request);
    assert!(!same_discovery(&kept, &cleared), "cleared with the cache");
    assert_eq!(serde_json::to_string(&cleared).unwrap(), json);
    assert_eq!(fetched(), 8);
}

#[test]
fn a_failed_answer_bounds_a_kept_dmarc_discovery_and_an_observer_sees_every_answer() {
    // A SERVFAIL at the Author Domain: temperror, kept for the failure's 30 s only.
    let mut z = Zone::new();
    z.fail(&n("_dmarc.down.example"), FailureKind::ServFail);
    let now = Arc::new(AtomicU64::new(1_000_000));
    let clock = now.clone();
    let resolver = Resolver::builder(DnsSource::Zone(z.clone()))
        .clock(move || clock.load(Ordering::SeqCst))
        .build()
        .unwrap();
    let rt = rt();
    let request = mailstamp_dmarc::EvaluationRequest {
        author_domains: vec![n("down.example")],
        identifiers: mailstamp_dmarc::Identifiers::new()
            .with_spf(mailstamp_dmarc::MechanismResult::Pass, n("down.example")),
        ..Default::default()
    };
    let first = dmarc(&resolver, &rt, &request);
    assert_eq!(first.result, mailstamp_dmarc::DmarcResult::TempError);
    now.fetch_add(u64::from(FAILURE_TTL) - 1, Ordering::SeqCst);
    assert!(same_discovery(&first, &dmarc(&resolver, &rt, &request)));
    now.fetch_add(1, Ordering::SeqCst);
    assert!(!same_discovery(&first, &dmarc(&resolver, &rt, &request)));

    // With an observer, nothing is kept: it is told of every answer each evaluation reads.
    let seen = Arc::new(AtomicUsize::new(0));
    let counter = seen.clone();
    let watched = Resolver::builder(DnsSource::Zone(z))
        .observer(move |e| {
            if let DnsEvent::Answered { .. } = e {
                counter.fetch_add(1, Ordering::SeqCst);
            }
        })
        .build()
        .unwrap();
    let one = dmarc(&watched, &rt, &request);
    let two = dmarc(&watched, &rt, &request);
    assert!(!same_discovery(&one, &two));
    assert_eq!(seen.load(Ordering::SeqCst), 2);
}

#[test]
fn threads_sharing_kept_dmarc_discoveries_get_the_verdicts_of_new_walks() {
    // Four threads evaluate the same Author Domains with identifiers that walk each of them
    // in different forms, through one resolver (as the milter's connections do); every
    // verdict is the one a resolver that keeps nothing (it has an observer) gives.
    let mut z = Zone::new();
    z.add_txt(&n("_dmarc.example.com"), ["v=DMARC1; p=reject"]);
    z.add_txt(&n("_dmarc.strict.example"), ["v=DMARC1; p=none; aspf=s"]);
    let ids = mailstamp_dmarc::Identifiers::new;
    let pass = mailstamp_dmarc::MechanismResult::Pass;
    let fail = mailstamp_dmarc::MechanismResult::Fail;
    let requests: Vec<mailstamp_dmarc::EvaluationRequest> = [
        ("example.com", ids().with_spf(pass, n("example.com"))),
        ("example.com", ids().with_spf(pass, n("bounce.example.com"))),
        ("example.com", ids().with_dkim(fail, n("example.com"))),
        ("news.example.com", ids().with_dkim(pass, n("example.com"))),
        (
            "strict.example",
            ids().with_spf(pass, n("mail.strict.example")),
        ),
        ("strict.example", ids().with_spf(pass, n("strict.example"))),
        ("none.example", ids().with_spf(pass, n("none.example"))),
    ]
    .into_iter()
    .map(|(author, identifiers)| mailstamp_dmarc::EvaluationRequest {
        author_domains: vec![n(author)],
        identifiers,
        ..Default::default()
    })
    .collect();
    let watched = Resolver::builder(DnsSource::Zone(z.clone()))
        .observer(|_| {})
        .build()
        .unwrap();
    let runtime = rt();
    let expected: Vec<String> = requests
        .iter()
        .map(|r| serde_json::to_string(&dmarc(&watched, &runtime, r)).unwrap())
        .collect();
    let shared = Resolver::offline(z);
    std::thread::scope(|scope| {
        for t in 0..4 {
            let (shared, requests, expected) = (&shared, &requests, &expected);
            scope.spawn(move || {
                let rt = rt();
                for i in 0..200 {
                    let k = (i * 3 + t) % requests.len();
                    let verdict = dmarc(shared, &rt, &requests[k]);
                    assert_eq!(serde_json::to_string(&verdict).unwrap(), expected[k]);
                }
            });
        }
    });
    // Four Author Domains walked in seven forms (three of example.com's, two of
    // strict.example's): all kept, at most four per Author Domain (threads that walk the same
    // form at once may both keep it).
    let kept = shared.inner.discoveries.lock().unwrap();
    assert_eq!(kept.len(), 4);
    assert!(
        kept.values()
            .all(|list| !list.is_empty() && list.len() <= 4)
    );
}
