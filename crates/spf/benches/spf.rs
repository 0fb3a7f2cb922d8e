//! SPF benchmarks: parsing, a full evaluation against an in-memory zone, and `check_host()`
//! over pre-parsed records.
//!
//! Run: `cargo bench -p mailstamp-spf --bench spf`.
//!
//! * `parse/30_terms`: parsing a 30-term record (ip4/ip6 lists, includes, a macro).
//! * `parse/9_terms`: the record of the vs-mail-auth row "parse SPF record (9 terms)", from its
//!   bytes (ip4, ip6, a, mx, two includes, a redirect).
//! * `evaluate/provider_chain_zone`: a redirect to four levels of include with ip4/ip6 lists,
//!   every TXT lookup answered by an in-memory `Zone` (no DNS time), records parsed as fetched.
//! * `check_host/cached_3_level_include`: a three-level include chain whose records are all in
//!   a `RecordCache` (already fetched and parsed): no lookup, no parse. The `_with_request`
//!   variant also builds the `Request` (address parsing and names) each time.
//! * `evaluate/provider_chain_zone_parse_kept_with_txt`: the provider chain again, through a
//!   `RecordParser` that keeps each parse with its TXT record (`Txt::memo`, as the `mailstamp`
//!   resolver's parsed-record cache does): the zone's records are parsed once, then every
//!   evaluation only looks them up.
#![allow(missing_docs)]

use criterion::{Criterion, criterion_group, criterion_main};
use mailstamp_dns::{Name, Zone, resolve_sync};
use mailstamp_spf::{
    Options, ParseError, Record, RecordCache, RecordParser, Request, SpfResult, Step, check_host,
    check_host_with,
};
use std::hint::black_box;
use std::net::IpAddr;
use std::sync::Arc;

fn n(s: &str) -> Name {
    Name::parse(s).unwrap()
}

/// 30 terms, like a large sender's record.
fn thirty_terms() -> String {
    let mut terms = vec!["v=spf1".to_owned()];
    for i in 0..20 {
        terms.push(format!("ip4:198.{}.{}.0/24", 18 + i / 10, i * 7));
    }
    for i in 0..5 {
        terms.push(format!("ip6:2001:db8:{:x}::/48", i * 3));
    }
    terms.push("include:_spf.mbp.example".into());
    terms.push("include:servers.mcsv.example".into());
    terms.push("exists:%{i}._spf.example.com".into());
    terms.push("a:mail.example.com/28".into());
    terms.push("~all".into());
    terms.join(" ")
}

/// The provider chain of the CLI's live test: redirect, then four levels of include.
fn provider_zone() -> Zone {
    let mut z = Zone::new();
    let mut txt = |name: &str, text: String| z.add_txt(&n(name), [text]);
    txt(
        "customer.example",
        "v=spf1 redirect=_spf.mbp.example".into(),
    );
    txt(
        "_spf.mbp.example",
        "v=spf1 include:_netblocks.mbp.example include:_netblocks-eu.mbp.example ~all".into(),
    );
    let eu: Vec<String> = (0..40).map(|i| format!("ip4:198.18.{i}.0/24")).collect();
    txt(
        "_netblocks-eu.mbp.example",
        format!("v=spf1 {} ~all", eu.join(" ")),
    );
    txt(
        "_netblocks.mbp.example",
        "v=spf1 ip4:192.0.2.0/25 include:_netblocks2.mbp.example ~all".into(),
    );
    txt(
        "_netblocks2.mbp.example",
        "v=spf1 ip4:198.51.100.0/24 include:_netblocks3.mbp.example ~all".into(),
    );
    let v6: Vec<String> = (0..30)
        .map(|i| format!("ip6:2001:db8:{i:x}::/48"))
        .collect();
    txt(
        "_netblocks3.mbp.example",
        format!("v=spf1 {} ip4:203.0.113.0/24 ~all", v6.join(" ")),
    );
    z
}

/// A parser keeping each parse with its TXT record.
#[derive(Debug)]
struct KeptWithTxt;

impl RecordParser for KeptWithTxt {
    fn parse(&self, text: &[u8]) -> Result<Arc<Record>, ParseError> {
        Record::parse_bytes(text).map(Arc::new)
    }

    fn parse_txt(&self, txt: &mailstamp_dns::Txt) -> Result<Arc<Record>, ParseError> {
        (*txt.memo(|text| self.parse(text))).clone()
    }
}

/// Three levels of include below the checked domain, all pre-parsed.
fn cached_chain() -> RecordCache {
    let mut cache = RecordCache::new();
    let mut put = |name: &str, text: &str| cache.insert(n(name), Record::parse(text).unwrap());
    put(
        "example.com",
        "v=spf1 ip4:192.0.2.0/24 include:_spf.example.net -all",
    );
    put(
        "_spf.example.net",
        "v=spf1 ip4:198.51.100.0/24 ip6:2001:db8:1::/48 include:_spf2.example.net ~all",
    );
    put(
        "_spf2.example.net",
        "v=spf1 ip4:203.0.113.0/25 include:_spf3.example.net ~all",
    );
    put(
        "_spf3.example.net",
        "v=spf1 ip4:198.18.0.0/15 ip6:2001:db8:ff::/48 ~all",
    );
    cache
}

fn benches(c: &mut Criterion) {
    let text = thirty_terms();
    assert_eq!(Record::parse(&text).unwrap().directives().len(), 30);
    c.bench_function("parse/30_terms", |b| {
        b.iter(|| Record::parse(black_box(&text)))
    });
    let nine = "v=spf1 ip4:192.0.2.0/24 ip4:198.51.100.0/24 ip6:2001:db8::/32 a mx \
                include:_spf.example.net include:_spf.example.com redirect=_spf.example.org";
    assert_eq!(Record::parse(nine).unwrap().directives().len(), 7);
    c.bench_function("parse/9_terms", |b| {
        b.iter(|| Record::parse_bytes(black_box(nine.as_bytes())))
    });

    let zone = provider_zone();
    let options = Options::default();
    let request = Request::mail_from(
        "2001:db8:1d::25".parse().unwrap(),
        "bob@customer.example",
        "mx.customer.example",
    );
    let v = resolve_sync(check_host(&request, &options), &zone);
    assert_eq!((v.result, v.lookups), (SpfResult::Pass, 4));
    c.bench_function("evaluate/provider_chain_zone", |b| {
        b.iter(|| resolve_sync(check_host(black_box(&request), &options), &zone))
    });

    let kept = KeptWithTxt;
    let v = resolve_sync(check_host_with(&request, &options, Some(&kept)), &zone);
    assert_eq!((v.result, v.lookups), (SpfResult::Pass, 4));
    c.bench_function("evaluate/provider_chain_zone_parse_kept_with_txt", |b| {
        b.iter(|| {
            resolve_sync(
                check_host_with(black_box(&request), &options, Some(&kept)),
                &zone,
            )
        })
    });

    let options = Options::default().with_cache(Arc::new(cached_chain()));
    let ip: IpAddr = "198.19.4.5".parse().unwrap();
    let request = Request::mail_from(ip, "alice@example.com", "mail.example.com");
    match check_host(&request, &options) {
        Step::Done(v) => assert_eq!((v.result, v.lookups), (SpfResult::Pass, 3)),
        Step::Lookup(_) => panic!("all records are cached"),
    }
    c.bench_function("check_host/cached_3_level_include", |b| {
        b.iter(|| match check_host(black_box(&request), &options) {
            Step::Done(v) => v.result,
            Step::Lookup(_) => SpfResult::TempError,
        })
    });
    c.bench_function("check_host/cached_3_level_include_with_request", |b| {
        b.iter(|| {
            let request = Request::mail_from(
                black_box(ip),
                black_box("alice@example.com"),
                "mail.example.com",
            );
            match check_host(&request, &options) {
                Step::Done(v) => v.result,
                Step::Lookup(_) => SpfResult::TempError,
            }
        })
    });
}

criterion_group!(spf, benches);
criterion_main!(spf);
