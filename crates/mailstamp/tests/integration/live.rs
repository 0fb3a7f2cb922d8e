//! The live resolver against a real DNS server on 127.0.0.1 (mailstamp-testkit's TestServer): UDP,
//! truncation and TCP fallback, timeouts, RCODEs, the cache, concurrency and record mode.

use mailstamp::{DnsSource, LiveConfig, Resolver};
use mailstamp_dns::{Answer, FailureKind, Name, Query, RData, RecordType, Txt, Zone};
use mailstamp_fixture as fixture;
use mailstamp_testkit::{Options, TestServer};
use std::net::{Ipv4Addr, SocketAddr, UdpSocket};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

/// The public half of a 4096-bit RSA key, base64 (736 characters).
const KEY_4096: [&str; 4] = [
    "MIICIjANBgkqhkiG9w0BAQEFAAOCAg8AMIICCgKCAgEA7JJ/QxdzcZ7iDJJMhbieiwK42QItun+DLYvB9Maq3bdK/gY/+NZcHJmsYkk27IWw2Kd2voIdkiGFYcUdly3FMbtJ5cTszAw5JzQiiTBRheeX66OntgS5MSXU4aUmPs/aNivYdhNPYVzICMgWaVrfPN6XKdPc",
    "b8l5RLvJMDVG8yKFuq6RF6t6Jr+LZiQ+epFmp1YsMdDboERjYuViDGdD3+0g0sXfEpz/KzJYZJ7/9RSRSK+2z/jPH6LA9TOKJQPY5II6/in4XyNLCTx67McuY2aeGtmn/AU5+pVMnlE0c4S33CiWFCtVmn2rrvRsnul9txaDTmjdq2RUakpbEF5vKle7slCwd2h1APln",
    "FTs8485JvpirKMtJvaJzZbdIPzQDxbY+rASgMWzq8exvhs2UKLmpScvfDQDvVGXY0Jy0mKLn7DKcGe2BjkrAOMXkrjgENMwkuzVDhojcgA2oKQEMZvwAL0TKrQp2ds0n/JBqsQZfjcFvngAqeIDPj9FKAk7THOkFQe5lrmP+en/0EdH+Ba17b5EkRZQymucEDMC0MEZR",
    "GZdkGjqFTnGwTXl+aJyucsXmGTjK1hlz9MuHRMbNQPvyf8HSXMJsLj9QM/5RG/es/ybLZOZIObCNAOKy0kEmMlgJ6q4xhX8FwX6t37FUahM+KmPkMLWBgnrv77kPNhcCAwEAAQ==",
];

/// Scheduling slack allowed on top of a configured timeout (CI machines can be busy).
const SLACK: Duration = Duration::from_millis(1500);

fn n(s: &str) -> Name {
    Name::parse(s).unwrap()
}

fn dkim_txt() -> Txt {
    let mut strings = vec!["v=DKIM1; k=rsa; p=".to_owned()];
    strings.extend(KEY_4096.iter().map(|s| (*s).to_owned()));
    Txt::new(strings)
}

fn zone() -> Zone {
    let mut z = Zone::new();
    z.insert(
        &n("example.org"),
        300,
        RData::Txt(Txt::new(["v=spf1 mx -all"])),
    );
    z.insert(
        &n("example.org"),
        300,
        RData::Mx {
            preference: 10,
            exchange: Some(n("mail.example.org")),
        },
    );
    z.insert(
        &n("mail.example.org"),
        60,
        RData::A(Ipv4Addr::new(192, 0, 2, 25)),
    );
    z.insert(
        &n("www.example.org"),
        120,
        RData::Cname(n("mail.example.org")),
    );
    z.insert(
        &n("big._domainkey.example.org"),
        3600,
        RData::Txt(dkim_txt()),
    );
    z.fail(&n("broken.example.org"), FailureKind::ServFail);
    z.fail(&n("closed.example.org"), FailureKind::Refused);
    z.fail(&n("odd.example.org"), FailureKind::Other);
    z.fail(&n("slow.example.org"), FailureKind::Timeout);
    z
}

fn config(server: SocketAddr, timeout: Duration) -> LiveConfig {
    LiveConfig {
        nameservers: vec![server],
        timeout,
        attempts: 2,
    }
}

fn live(server: SocketAddr) -> Resolver {
    Resolver::builder(DnsSource::Live(config(server, Duration::from_secs(2))))
        .build()
        .unwrap()
}

/// Answers `query`, failing the test if the resolver takes longer than `limit`.
async fn within(resolver: &Resolver, query: &Query, limit: Duration) -> Answer {
    tokio::time::timeout(limit, resolver.answer(query))
        .await
        .unwrap_or_else(|_| panic!("{query}: no answer within {limit:?}"))
}

#[tokio::test]
async fn rfc1035_4_2_1_large_txt_arrives_intact_through_tcp_fallback() {
    let server = TestServer::start(zone());
    let resolver = live(server.addr());
    let query = Query::txt(n("big._domainkey.example.org"));
    let answer = within(&resolver, &query, Duration::from_secs(5)).await;
    let txt = answer.txts().next().expect("a TXT record");
    assert_eq!(txt, &dkim_txt(), "every string as served");
    assert!(txt.joined().len() > 512);
    assert_eq!(answer.records()[0].ttl, 3600);
    assert!(server.udp_queries() >= 1, "asked over UDP first");
    assert!(
        server.tcp_queries() >= 1,
        "the truncated answer was fetched over TCP"
    );
}

#[tokio::test]
async fn small_answers_stay_on_udp() {
    let server = TestServer::start(zone());
    let resolver = live(server.addr());
    let answer = within(
        &resolver,
        &Query::txt(n("example.org")),
        Duration::from_secs(5),
    )
    .await;
    assert_eq!(
        answer.txts().next().map(Txt::joined),
        Some(b"v=spf1 mx -all".to_vec())
    );
    assert_eq!(server.tcp_queries(), 0);
}

#[tokio::test]
async fn silent_server_gives_timeout_within_the_configured_timeout() {
    let server = TestServer::silent();
    let timeout = Duration::from_millis(800);
    let resolver = Resolver::builder(DnsSource::Live(config(server.addr(), timeout)))
        .build()
        .unwrap();
    let answer = within(&resolver, &Query::txt(n("example.org")), timeout + SLACK).await;
    assert_eq!(answer, Answer::Failed(FailureKind::Timeout));
    assert!(server.udp_queries() >= 1);
}

#[tokio::test]
async fn a_name_that_never_answers_times_out_while_others_answer() {
    let server = TestServer::start(zone());
    let timeout = Duration::from_millis(800);
    let resolver = Resolver::builder(DnsSource::Live(config(server.addr(), timeout)))
        .build()
        .unwrap();
    let limit = timeout + SLACK;
    let slow = within(&resolver, &Query::txt(n("slow.example.org")), limit).await;
    assert_eq!(slow, Answer::Failed(FailureKind::Timeout));
    let fine = within(&resolver, &Query::txt(n("example.org")), limit).await;
    assert!(matches!(fine, Answer::Records(_)));
}

#[tokio::test]
async fn unreachable_nameserver_fails_within_the_timeout() {
    // A port nobody listens on: the kernel answers "port unreachable" or nothing at all.
    let port = UdpSocket::bind((Ipv4Addr::LOCALHOST, 0))
        .unwrap()
        .local_addr()
        .unwrap();
    let timeout = Duration::from_millis(800);
    let resolver = Resolver::builder(DnsSource::Live(config(port, timeout)))
        .build()
        .unwrap();
    let answer = within(&resolver, &Query::txt(n("example.org")), timeout + SLACK).await;
    assert!(answer.is_failed(), "{answer:?}");
}

#[tokio::test]
async fn rfc1035_4_1_1_rcodes_map_to_failure_kinds() {
    let server = TestServer::start(zone());
    let resolver = live(server.addr());
    let limit = Duration::from_secs(5);
    for (name, kind) in [
        ("broken.example.org", FailureKind::ServFail),
        ("closed.example.org", FailureKind::Refused),
        ("odd.example.org", FailureKind::Other),
    ] {
        let answer = within(&resolver, &Query::txt(n(name)), limit).await;
        assert_eq!(answer, Answer::Failed(kind), "{name}");
    }
}

#[tokio::test]
async fn rfc2308_nxdomain_and_nodata_are_told_apart() {
    let server = TestServer::start(zone());
    let resolver = live(server.addr());
    let limit = Duration::from_secs(5);
    let nx = within(&resolver, &Query::txt(n("nowhere.example.org")), limit).await;
    assert_eq!(nx, Answer::NxDomain);
    let nodata = within(
        &resolver,
        &Query::new(n("example.org"), RecordType::Aaaa),
        limit,
    )
    .await;
    assert_eq!(nodata, Answer::NoData);
    // An empty non-terminal exists: NODATA, not NXDOMAIN (RFC 8020).
    let ent = within(&resolver, &Query::txt(n("_domainkey.example.org")), limit).await;
    assert_eq!(ent, Answer::NoData);
}

#[tokio::test]
async fn cname_chains_come_back_with_their_records() {
    let server = TestServer::start(zone());
    let resolver = live(server.addr());
    let answer = within(
        &resolver,
        &Query::new(n("www.example.org"), RecordType::A),
        Duration::from_secs(5),
    )
    .await;
    let types: Vec<RecordType> = answer.records().iter().map(|r| r.data.rtype()).collect();
    assert_eq!(types, vec![RecordType::Cname, RecordType::A]);
    assert_eq!(answer.records()[0].name, n("www.example.org"));
    assert_eq!(answer.records()[1].name, n("mail.example.org"));
}

#[tokio::test]
async fn cache_honours_the_ttl_received() {
    let server = TestServer::start(zone());
    let now = Arc::new(AtomicU64::new(1_700_000_000));
    let clock = now.clone();
    let resolver = Resolver::builder(DnsSource::Live(config(
        server.addr(),
        Duration::from_secs(2),
    )))
    .clock(move || clock.load(Ordering::SeqCst))
    .build()
    .unwrap();
    let query = Query::new(n("mail.example.org"), RecordType::A); // TTL 60
    let limit = Duration::from_secs(5);
    within(&resolver, &query, limit).await;
    within(&resolver, &query, limit).await;
    assert_eq!(
        server.udp_queries(),
        1,
        "the second answer came from the cache"
    );
    now.fetch_add(59, Ordering::SeqCst);
    within(&resolver.clone(), &query, limit).await;
    assert_eq!(server.udp_queries(), 1, "still fresh at 59 s");
    now.fetch_add(1, Ordering::SeqCst);
    within(&resolver, &query, limit).await;
    assert_eq!(server.udp_queries(), 2, "expired at 60 s");
}

#[tokio::test]
async fn independent_queries_are_sent_concurrently() {
    let server = TestServer::with_options(
        zone(),
        Options {
            latency: Duration::from_millis(300),
            ..Options::default()
        },
    );
    let resolver = live(server.addr());
    let queries = [
        Query::txt(n("example.org")),
        Query::new(n("example.org"), RecordType::Mx),
        Query::new(n("mail.example.org"), RecordType::A),
        Query::txt(n("nowhere.example.org")),
    ];
    let answers = tokio::time::timeout(Duration::from_secs(5), resolver.answer_all(&queries))
        .await
        .unwrap();
    assert_eq!(answers.len(), 4);
    assert_eq!(answers[3], Answer::NxDomain);
    assert!(
        server.peak_in_flight() >= 2,
        "peak {} queries in flight at the server",
        server.peak_in_flight()
    );
}

#[tokio::test]
async fn record_mode_round_trips_through_yaml() {
    let server = TestServer::start(zone());
    let resolver = Resolver::builder(DnsSource::Live(config(
        server.addr(),
        Duration::from_millis(800),
    )))
    .record(true)
    .build()
    .unwrap();
    let queries = [
        Query::txt(n("example.org")),
        Query::new(n("example.org"), RecordType::Mx),
        Query::new(n("example.org"), RecordType::Aaaa),
        Query::new(n("www.example.org"), RecordType::A),
        Query::txt(n("www.example.org")),
        Query::txt(n("big._domainkey.example.org")),
        Query::txt(n("_domainkey.example.org")),
        Query::txt(n("nowhere.example.org")),
        Query::txt(n("broken.example.org")),
        Query::txt(n("closed.example.org")),
        Query::txt(n("slow.example.org")),
    ];
    let live_answers = resolver.answer_all(&queries).await;
    assert!(live_answers.contains(&Answer::Failed(FailureKind::Timeout)));
    let recording = resolver.recording().unwrap();
    assert_eq!(recording.len(), queries.len());
    let text = fixture::recording_to_yaml(&recording);
    let replay = Resolver::offline(fixture::parse_yaml_str(&text, "recorded.yml").unwrap());
    let replayed = replay.answer_all(&queries).await;
    assert_eq!(live_answers, replayed, "{text}");
    assert!(!text.contains("not replayed exactly"), "{text}");
}

/// RFC 2181 §11 and RFC 7208 §7: a name with spaces, `%` and UTF-8 (what `%{l}` of a local-part
/// with spaces expands to) goes over the wire label by label and is answered; the server matches
/// it case-insensitively in ASCII only (RFC 4343).
#[tokio::test]
async fn rfc2181_11_names_with_spaces_go_over_the_wire() {
    let mut zone = Zone::new();
    zone.add_txt(&n("john smith%20x.Ünï.example.org"), ["v=spf1 -all"]);
    let server = TestServer::start(zone);
    let resolver = live(server.addr());
    let answer = within(
        &resolver,
        &Query::txt(n("JOHN Smith%20X.Ünï.example.ORG")),
        Duration::from_secs(5),
    )
    .await;
    assert_eq!(
        answer.txts().next().map(Txt::joined),
        Some(b"v=spf1 -all".to_vec())
    );
    // Non-ASCII letters are octets: another case is another name.
    let other = within(
        &resolver,
        &Query::txt(n("john smith%20x.ÜNÏ.example.org")),
        Duration::from_secs(5),
    )
    .await;
    assert_eq!(other, Answer::NxDomain);
}
