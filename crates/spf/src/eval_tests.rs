//! Unit tests of `check_host()` against in-memory zones.

use super::*;
use crate::{Identity, RecordCache, RecordSource};
use mailstamp_dns::{Source, Zone, resolve_sync};
use std::cell::RefCell;

fn n(s: &str) -> Name {
    Name::parse(s).unwrap()
}

fn ip(s: &str) -> IpAddr {
    s.parse().unwrap()
}

/// A zone builder.
#[derive(Default)]
struct Z(Zone);

impl Z {
    fn txt(mut self, name: &str, text: &str) -> Z {
        self.0.add_txt(&n(name), [text]);
        self
    }
    fn a(mut self, name: &str, addr: &str) -> Z {
        match ip(addr) {
            IpAddr::V4(v4) => self.0.add(&n(name), RData::A(v4)),
            IpAddr::V6(v6) => self.0.add(&n(name), RData::Aaaa(v6)),
        }
        self
    }
    fn mx(mut self, name: &str, pref: u16, host: &str) -> Z {
        let exchange = (!host.is_empty()).then(|| n(host));
        self.0.add(
            &n(name),
            RData::Mx {
                preference: pref,
                exchange,
            },
        );
        self
    }
    fn ptr(mut self, addr: &str, host: &str) -> Z {
        let rev = reverse_name(ip(addr)).unwrap();
        self.0.add(&rev, RData::Ptr(n(host)));
        self
    }
    fn cname(mut self, name: &str, target: &str) -> Z {
        self.0.add(&n(name), RData::Cname(n(target)));
        self
    }
    fn timeout(mut self, name: &str) -> Z {
        self.0.fail(&n(name), FailureKind::Timeout);
        self
    }
}

/// A source that records every query it answers.
struct Counting<'z> {
    zone: &'z Zone,
    seen: RefCell<Vec<Query>>,
}

impl Source for Counting<'_> {
    fn answer(&self, q: &Query) -> Answer {
        self.seen.borrow_mut().push(q.clone());
        self.zone.answer(q)
    }
}

fn check_with(z: &Z, addr: &str, from: &str, options: &Options) -> SpfVerdict {
    let req = Request::mail_from(ip(addr), from, "helo.example.org");
    resolve_sync(check_host(&req, options), &z.0)
}

fn check(z: &Z, addr: &str, from: &str) -> SpfVerdict {
    check_with(z, addr, from, &Options::default().with_trace(true))
}

fn result(z: &Z, addr: &str, from: &str) -> SpfResult {
    check(z, addr, from).result
}

#[test]
fn rfc7208_4_3_malformed_domains_are_none() {
    let z = Z::default().txt("nolabels", "v=spf1 +all");
    for from in [
        "a@nolabels",
        "a@[192.0.2.1]",
        "a@example..com",
        &format!("a@{}.com", "x".repeat(64)),
        &format!("a@{}.com", vec!["abcdefghi"; 26].join(".")),
    ] {
        let v = check(&z, "192.0.2.1", from);
        assert_eq!(v.result, SpfResult::None, "{from}");
        assert!(matches!(v.problem, Some(SpfProblem::InvalidDomain { .. })));
        assert!(
            v.trace
                .iter()
                .all(|e| !matches!(e, TraceEvent::Query { .. }))
        );
    }
}

fn counting_check(z: &Z, req: &Request) -> (SpfVerdict, Vec<Query>) {
    let counting = Counting {
        zone: &z.0,
        seen: RefCell::new(Vec::new()),
    };
    let v = resolve_sync(
        check_host(req, &Options::default().with_trace(true)),
        &counting,
    );
    let seen = counting.seen.into_inner();
    (v, seen)
}

#[test]
fn issue_17_3_rfc7208_4_3_helo_that_is_not_a_domain_is_none_without_a_query() {
    // RFC 7208 §4.3 with RFC 5321 §4.1.2: a HELO that is not a Domain (here an attempt to
    // inject an Authentication-Results property) is malformed: none, no DNS query.
    let z = Z::default().txt("h.example;dkim=pass", "v=spf1 +all");
    for helo in [
        "h.example;dkim=pass",
        "h.example dkim=pass",
        "h.\"example\".com",
        "JUMPIN' JUPITER",
        "a..b.example",
        ".example.com",
    ] {
        for req in [
            Request::helo(ip("192.0.2.1"), helo),
            Request::mail_from(ip("192.0.2.1"), "", helo),
        ] {
            let (v, seen) = counting_check(&z, &req);
            assert_eq!(v.result, SpfResult::None, "{helo}");
            assert!(
                matches!(v.problem, Some(SpfProblem::InvalidDomain { .. })),
                "{helo}"
            );
            assert!(seen.is_empty(), "{helo}: {seen:?}");
        }
    }
    // Host names with digits, hyphens, underscores and U-labels are domains.
    let z = Z::default()
        .txt("mail-1.example.org", "v=spf1 +all")
        .txt("_h.example.org", "v=spf1 +all")
        .txt("xn--bcher-kva.example", "v=spf1 +all");
    for helo in ["mail-1.example.org", "_h.example.org", "Bücher.example"] {
        let (v, _) = counting_check(&z, &Request::helo(ip("192.0.2.1"), helo));
        assert_eq!(v.result, SpfResult::Pass, "{helo}");
    }
    // A MAIL FROM check still runs with a bad HELO (it is only the %{h} macro there).
    let z = Z::default().txt("example.com", "v=spf1 +all");
    let req = Request::mail_from(ip("192.0.2.1"), "a@example.com", "h.example;dkim=pass");
    assert_eq!(counting_check(&z, &req).0.result, SpfResult::Pass);
}

#[test]
fn issue_17_3_rfc7208_4_8_target_names_that_are_not_names_are_not_queried() {
    let long = "x".repeat(64);
    for (record, want) in [
        ("v=spf1 include:bad..domain -all", SpfResult::PermError),
        ("v=spf1 a:bad..domain -all", SpfResult::Fail),
        ("v=spf1 mx:bad..domain -all", SpfResult::Fail),
        ("v=spf1 exists:%{l}.example.com -all", SpfResult::Fail),
        (
            &format!("v=spf1 a:{long}.example.com -all"),
            SpfResult::Fail,
        ),
        ("v=spf1 redirect=bad..domain", SpfResult::PermError),
    ] {
        let z = Z::default().txt("example.com", record);
        let req = Request::mail_from(ip("192.0.2.1"), "x..y@example.com", "h.example.org");
        let (v, seen) = counting_check(&z, &req);
        assert_eq!(v.result, want, "{record}");
        assert_eq!(seen, [Query::txt(n("example.com"))], "{record}");
    }
}

#[test]
fn rfc7208_4_3_nxdomain_and_4_5_no_record_are_none() {
    let z = Z::default()
        .txt("other.example.com", "not spf")
        .txt("ten.example.com", "v=spf10 -all");
    for from in [
        "a@missing.example.com",
        "a@other.example.com",
        "a@ten.example.com",
    ] {
        let v = check(&z, "192.0.2.1", from);
        assert_eq!(v.result, SpfResult::None, "{from}");
        assert!(matches!(v.problem, Some(SpfProblem::NoRecord { .. })));
    }
}

#[test]
fn rfc7208_4_4_record_lookup_failure_is_temperror() {
    let z = Z::default().timeout("example.com");
    let v = check(&z, "192.0.2.1", "a@example.com");
    assert_eq!(v.result, SpfResult::TempError);
    assert_eq!(
        v.problem,
        Some(SpfProblem::DnsFailure {
            query: "example.com TXT".into(),
            failure: "timeout".into()
        })
    );
}

#[test]
fn rfc7208_4_5_multiple_records_are_permerror() {
    let mut z = Z::default().txt("example.com", "v=spf1 -all");
    z.0.add_txt(&n("example.com"), ["V=SPF1 +all"]);
    z.0.add_txt(&n("example.com"), ["unrelated"]);
    let v = check(&z, "192.0.2.1", "a@example.com");
    assert_eq!(v.result, SpfResult::PermError);
    assert!(matches!(
        v.problem,
        Some(SpfProblem::MultipleRecords { count: 2, .. })
    ));
}

#[test]
fn rfc7208_3_3_txt_strings_are_joined() {
    let mut z = Z::default();
    z.0.add_txt(&n("example.com"), ["v=spf1 ip4:192.0.2.1", " -all"]);
    assert_eq!(result(&z, "192.0.2.1", "a@example.com"), SpfResult::Pass);
    assert_eq!(result(&z, "192.0.2.2", "a@example.com"), SpfResult::Fail);
}

#[test]
fn rfc7208_4_6_syntax_errors_anywhere_are_permerror() {
    let z = Z::default().txt("example.com", "v=spf1 ip4:192.0.2.1 -all moo");
    let v = check(&z, "192.0.2.1", "a@example.com");
    assert_eq!(v.result, SpfResult::PermError);
    match v.problem {
        Some(SpfProblem::Syntax { term, offset, .. }) => {
            assert_eq!(term, "moo");
            assert_eq!(offset, 26);
        }
        other => panic!("{other:?}"),
    }
}

#[test]
fn non_utf8_txt_is_permerror_with_offset() {
    let mut z = Z::default();
    z.0.add_txt(
        &n("example.com"),
        [b"v=spf1 a:\xff\xfe.example.com -all".to_vec()],
    );
    let v = check(&z, "192.0.2.1", "a@example.com");
    assert_eq!(v.result, SpfResult::PermError);
    match v.problem {
        Some(SpfProblem::Syntax { offset, error, .. }) => {
            assert_eq!(offset, 9);
            assert!(error.contains("non-ASCII byte 0xff"), "{error}");
        }
        other => panic!("{other:?}"),
    }
    // Non-SPF TXT records with garbage bytes are not our business.
    let mut z = Z::default().txt("example.com", "v=spf1 -all");
    z.0.add_txt(&n("example.com"), [b"\x96\x00garbage".to_vec()]);
    assert_eq!(result(&z, "192.0.2.1", "a@example.com"), SpfResult::Fail);
}

#[test]
fn rfc7208_4_6_4_dns_term_limit() {
    let ten = (1..=10)
        .map(|i| format!("a:h{i}.example.com"))
        .collect::<Vec<_>>()
        .join(" ");
    let mut z = Z::default()
        .txt("ok.example.com", &format!("v=spf1 {ten} -all"))
        .txt(
            "over.example.com",
            &format!("v=spf1 {ten} a:h11.example.com -all"),
        );
    for i in 1..=11 {
        z = z.a(&format!("h{i}.example.com"), "198.51.100.1");
    }
    let v = check(&z, "192.0.2.1", "a@ok.example.com");
    assert_eq!((v.result, v.lookups), (SpfResult::Fail, 10));
    let v = check(&z, "192.0.2.1", "a@over.example.com");
    assert_eq!(v.result, SpfResult::PermError);
    assert_eq!(
        v.problem,
        Some(SpfProblem::TooManyLookups {
            limit: 10,
            term: "a:h11.example.com".into()
        })
    );
    assert_eq!(v.lookups, 11);
}

#[test]
fn rfc7208_4_6_4_limit_counts_across_includes_and_redirects() {
    let mut z = Z::default()
        .txt(
            "example.com",
            "v=spf1 include:i1.example.com redirect=r.example.com",
        )
        .txt("r.example.com", "v=spf1 a a a a a a a a -all");
    z = z
        .txt("i1.example.com", "v=spf1 ?all")
        .a("r.example.com", "192.0.2.9");
    // include 1 + redirect 1 + 8 a = 10: fine.
    let v = check(&z, "192.0.2.1", "a@example.com");
    assert_eq!((v.result, v.lookups), (SpfResult::Fail, 10));
    let z = z.txt(
        "example.com",
        "v=spf1 include:i1.example.com include:i1.example.com redirect=r.example.com",
    );
    let z = Z({
        let mut zone = Zone::new();
        zone.merge(z.0);
        zone
    });
    let v = check(&z, "192.0.2.1", "a@example.com");
    assert_eq!(v.result, SpfResult::PermError, "{:?}", v.problem);
}

#[test]
fn rfc7208_4_6_4_void_lookup_limit() {
    let z = Z::default()
        .txt(
            "two.example.com",
            "v=spf1 a:n1.example.com mx:n2.example.com ?all",
        )
        .txt(
            "three.example.com",
            "v=spf1 a:n1.example.com mx:n2.example.com exists:n3.example.com ?all",
        );
    let v = check(&z, "192.0.2.1", "a@two.example.com");
    assert_eq!((v.result, v.void_lookups), (SpfResult::Neutral, 2));
    let v = check(&z, "192.0.2.1", "a@three.example.com");
    assert_eq!(v.result, SpfResult::PermError);
    assert_eq!(
        v.problem,
        Some(SpfProblem::TooManyVoidLookups {
            limit: 2,
            term: "exists:n3.example.com".into()
        })
    );
    // The limit is configurable (RFC 7208 §4.6.4).
    let v = check_with(
        &z,
        "192.0.2.1",
        "a@three.example.com",
        &Options::default().with_void_lookup_limit(3),
    );
    assert_eq!(v.result, SpfResult::Neutral);
}

#[test]
fn rfc7208_4_6_4_mx_name_limit() {
    let mut z = Z::default().txt("example.com", "v=spf1 mx -all");
    for i in 0..11u16 {
        z = z
            .mx("example.com", i, &format!("mx{i}.example.com"))
            .a(&format!("mx{i}.example.com"), &format!("192.0.2.{}", i + 1));
    }
    // issue 17 item 25: more than ten names is a permerror whatever the order; this asserted
    // a pass for a match among the first ten before (RFC 7208 §4.6.4 and pyspf say permerror).
    for addr in ["192.0.2.1", "192.0.2.8", "192.0.2.11", "192.0.2.99"] {
        let v = check(&z, addr, "a@example.com");
        assert_eq!(v.result, SpfResult::PermError, "{addr}");
        assert_eq!(
            v.problem,
            Some(SpfProblem::TooManyMxNames {
                domain: "example.com".into(),
                count: 11,
                limit: 10
            })
        );
    }
}

#[test]
fn issue_17_25_rfc7208_4_6_4_more_than_ten_mx_names_is_permerror_before_any_address_lookup() {
    let mut z = Z::default().txt("example.com", "v=spf1 mx -all");
    for i in 0..11u16 {
        z = z
            .mx("example.com", i, &format!("mx{i}.example.com"))
            .a(&format!("mx{i}.example.com"), &format!("192.0.2.{}", i + 1));
    }
    let counting = Counting {
        zone: &z.0,
        seen: RefCell::new(Vec::new()),
    };
    let req = Request::mail_from(ip("192.0.2.1"), "a@example.com", "helo.example.org");
    let v = resolve_sync(check_host(&req, &Options::default()), &counting);
    assert_eq!(v.result, SpfResult::PermError);
    assert!(matches!(
        v.problem,
        Some(SpfProblem::TooManyMxNames { count: 11, .. })
    ));
    let seen = counting.seen.borrow();
    assert!(
        seen.iter().all(|q| q.rtype != RecordType::A),
        "no address lookup: {seen:?}"
    );
    // Exactly ten names (and null MX records, RFC 7505, which are not names) are fine.
    let mut z = Z::default()
        .txt("example.com", "v=spf1 mx -all")
        .mx("example.com", 99, "");
    for i in 0..10u16 {
        z = z
            .mx("example.com", i, &format!("mx{i}.example.com"))
            .a(&format!("mx{i}.example.com"), &format!("192.0.2.{}", i + 1));
    }
    assert_eq!(result(&z, "192.0.2.10", "a@example.com"), SpfResult::Pass);
}

#[test]
fn rfc7208_5_4_mx_fan_out_is_one_step() {
    let z = Z::default()
        .txt("example.com", "v=spf1 mx -all")
        .mx("example.com", 20, "b.example.com")
        .mx("example.com", 10, "a.example.com")
        .mx("example.com", 30, "")
        .a("a.example.com", "192.0.2.1")
        .a("b.example.com", "192.0.2.2");
    let req = Request::mail_from(ip("192.0.2.2"), "x@example.com", "h.example");
    let opts = Options::default();
    let Step::Lookup(p) = check_host(&req, &opts) else {
        panic!()
    };
    assert_eq!(p.queries(), &[Query::txt(n("example.com"))]);
    let answers = p.queries().iter().map(|q| z.0.answer(q)).collect();
    let Step::Lookup(p) = p.resume(answers) else {
        panic!()
    };
    assert_eq!(p.queries(), &[Query::new(n("example.com"), RecordType::Mx)]);
    let answers = p.queries().iter().map(|q| z.0.answer(q)).collect();
    let Step::Lookup(p) = p.resume(answers) else {
        panic!()
    };
    // Both exchanges at once, by preference; the null MX (RFC 7505) is skipped.
    assert_eq!(
        p.queries(),
        &[
            Query::new(n("a.example.com"), RecordType::A),
            Query::new(n("b.example.com"), RecordType::A)
        ]
    );
    let answers = p.queries().iter().map(|q| z.0.answer(q)).collect();
    let Step::Done(v) = p.resume(answers) else {
        panic!()
    };
    assert_eq!(v.result, SpfResult::Pass);
}

#[test]
fn rfc7208_5_4_mx_errors() {
    let z = Z::default()
        .txt("example.com", "v=spf1 mx ?all")
        .mx("example.com", 10, "gone.example.com")
        .mx("example.com", 20, "slow.example.com")
        .timeout("slow.example.com");
    let v = check(&z, "192.0.2.1", "a@example.com");
    assert_eq!(v.result, SpfResult::TempError);
    let z = Z::default()
        .txt("example.com", "v=spf1 mx ?all")
        .mx("example.com", 0, "");
    let v = check(&z, "192.0.2.1", "a@example.com");
    assert_eq!((v.result, v.void_lookups), (SpfResult::Neutral, 0));
    let z = Z::default()
        .txt("example.com", "v=spf1 mx ?all")
        .a("example.com", "192.0.2.1");
    let v = check(&z, "192.0.2.1", "a@example.com");
    assert_eq!(
        (v.result, v.void_lookups),
        (SpfResult::Neutral, 1),
        "no MX: no implicit A (RFC 7208 §5.4)"
    );
}

#[test]
fn rfc7208_4_7_default_is_neutral() {
    let z = Z::default().txt("example.com", "v=spf1 ip4:198.51.100.0/24");
    let v = check(&z, "192.0.2.1", "a@example.com");
    assert_eq!(
        (v.result, v.problem, v.matched),
        (SpfResult::Neutral, None, None)
    );
}

#[test]
fn rfc7208_5_1_all_makes_redirect_ignored() {
    let z = Z::default().txt("example.com", "v=spf1 redirect=other.example.com ~all");
    let v = check(&z, "192.0.2.1", "a@example.com");
    assert_eq!((v.result, v.lookups), (SpfResult::SoftFail, 0));
}

#[test]
fn rfc7208_5_2_include_result_table() {
    let z = Z::default()
        .txt("pass.example.com", "v=spf1 +all")
        .txt("fail.example.com", "v=spf1 -all")
        .txt("soft.example.com", "v=spf1 ~all")
        .txt("neutral.example.com", "v=spf1 ?all")
        .txt("perm.example.com", "v=spf1 moo")
        .timeout("temp.example.com")
        .txt("none.example.com", "no spf here");
    let cases = [
        ("pass", SpfResult::Fail, true),
        ("fail", SpfResult::Pass, false),
        ("soft", SpfResult::Pass, false),
        ("neutral", SpfResult::Pass, false),
        ("perm", SpfResult::PermError, false),
        ("temp", SpfResult::TempError, false),
        ("none", SpfResult::PermError, false),
    ];
    for (name, want, matched_include) in cases {
        let outer = format!("outer-{name}.example.com");
        let z = Z({
            let mut zone = z.0.clone();
            zone.add_txt(
                &n(&outer),
                [format!("v=spf1 -include:{name}.example.com +all")],
            );
            zone
        });
        let v = check(&z, "192.0.2.1", &format!("a@{outer}"));
        assert_eq!(v.result, want, "{name}");
        if matched_include {
            assert_eq!(v.matched.unwrap().term(), "-include:pass.example.com");
        }
        if name == "none" {
            assert_eq!(
                v.problem,
                Some(SpfProblem::IncludeNone {
                    target: "none.example.com".into()
                })
            );
        }
    }
}

#[test]
fn include_and_redirect_loops_are_permerror() {
    let z = Z::default()
        .txt("a.example.com", "v=spf1 include:b.example.com -all")
        .txt("b.example.com", "v=spf1 include:a.example.com -all")
        .txt("self.example.com", "v=spf1 include:self.example.com")
        .txt("r1.example.com", "v=spf1 redirect=r2.example.com")
        .txt("r2.example.com", "v=spf1 redirect=r1.example.com");
    for (from, domain) in [
        ("x@a.example.com", "a.example.com"),
        ("x@self.example.com", "self.example.com"),
        ("x@r1.example.com", "r1.example.com"),
    ] {
        let v = check(&z, "192.0.2.1", from);
        assert_eq!(v.result, SpfResult::PermError, "{from}");
        assert!(
            matches!(&v.problem, Some(SpfProblem::Loop { domain: d, .. }) if d == domain),
            "{:?}",
            v.problem
        );
        assert!(v.lookups <= 2);
    }
    // Including the same domain twice in a row is not a loop, and it is parsed only once.
    let z = Z::default()
        .txt(
            "twice.example.com",
            "v=spf1 include:n.example.com include:n.example.com -all",
        )
        .txt("n.example.com", "v=spf1 ?all");
    let counting = Counting {
        zone: &z.0,
        seen: RefCell::new(Vec::new()),
    };
    let req = Request::mail_from(ip("192.0.2.1"), "x@twice.example.com", "h.example");
    let opts = Options::default().with_trace(true);
    let v = resolve_sync(check_host(&req, &opts), &counting);
    assert_eq!((v.result, v.lookups), (SpfResult::Fail, 2));
    assert_eq!(
        counting.seen.borrow().len(),
        2,
        "n.example.com fetched once"
    );
    assert!(v.trace.iter().any(|e| matches!(
        e,
        TraceEvent::Record {
            source: RecordSource::Memo,
            ..
        }
    )));
}

#[test]
fn rfc7208_5_3_a_with_dual_cidr() {
    let z = Z::default()
        .txt("example.com", "v=spf1 a/24//64 -all")
        .a("example.com", "192.0.2.10")
        .a("example.com", "2001:db8:1::1");
    assert_eq!(result(&z, "192.0.2.99", "a@example.com"), SpfResult::Pass);
    assert_eq!(result(&z, "192.0.3.1", "a@example.com"), SpfResult::Fail);
    assert_eq!(
        result(&z, "2001:db8:1::ffff", "a@example.com"),
        SpfResult::Pass
    );
    assert_eq!(
        result(&z, "2001:db8:2::1", "a@example.com"),
        SpfResult::Fail
    );
    // IPv4-mapped clients are IPv4 (RFC 7208 §5).
    assert_eq!(
        result(&z, "::ffff:192.0.2.99", "a@example.com"),
        SpfResult::Pass
    );
    let z = Z::default().txt("example.com", "v=spf1 a:nx.example.com/0 -all");
    assert_eq!(result(&z, "192.0.2.99", "a@example.com"), SpfResult::Fail);
}

#[test]
fn rfc7208_5_dns_errors_are_temperror_never_pass() {
    let z = Z::default()
        .txt("example.com", "v=spf1 a:slow.example.com +all")
        .timeout("slow.example.com");
    let v = check(&z, "192.0.2.1", "a@example.com");
    assert_eq!(v.result, SpfResult::TempError);
    assert!(matches!(v.problem, Some(SpfProblem::DnsFailure { .. })));
}

#[test]
fn rfc7208_5_5_ptr() {
    let z = Z::default()
        .txt("example.com", "v=spf1 ptr -all")
        .ptr("192.0.2.1", "mail.example.com")
        .a("mail.example.com", "192.0.2.1")
        .ptr("192.0.2.2", "liar.example.com")
        .a("liar.example.com", "192.0.2.200")
        .ptr("192.0.2.3", "mail.other.example")
        .a("mail.other.example", "192.0.2.3")
        .ptr("192.0.2.4", "slow.example.com")
        .ptr("192.0.2.4", "good.example.com")
        .timeout("slow.example.com")
        .a("good.example.com", "192.0.2.4");
    assert_eq!(result(&z, "192.0.2.1", "a@example.com"), SpfResult::Pass);
    assert_eq!(
        result(&z, "192.0.2.2", "a@example.com"),
        SpfResult::Fail,
        "not validated"
    );
    assert_eq!(
        result(&z, "192.0.2.3", "a@example.com"),
        SpfResult::Fail,
        "not under target"
    );
    assert_eq!(
        result(&z, "192.0.2.4", "a@example.com"),
        SpfResult::Pass,
        "an address lookup error skips the name"
    );
    let z = z.timeout("5.2.0.192.in-addr.arpa");
    assert_eq!(
        result(&z, "192.0.2.5", "a@example.com"),
        SpfResult::Fail,
        "a PTR lookup error is no match"
    );
}

#[test]
fn rfc7208_4_6_4_ptr_names_beyond_ten_are_ignored() {
    let mut z = Z::default().txt("example.com", "v=spf1 ptr -all");
    for i in 0..10 {
        z = z
            .ptr("192.0.2.1", &format!("h{i}.other.example"))
            .a(&format!("h{i}.other.example"), "192.0.2.1");
    }
    z = z
        .ptr("192.0.2.1", "mail.example.com")
        .a("mail.example.com", "192.0.2.1");
    let v = check(&z, "192.0.2.1", "a@example.com");
    assert_eq!(v.result, SpfResult::Fail);
    assert!(
        v.trace
            .iter()
            .any(|e| matches!(e, TraceEvent::Note { text, .. } if text.contains("11 PTR names")))
    );
}

#[test]
fn rfc7208_5_6_ip_mechanisms() {
    let z = Z::default().txt(
        "example.com",
        "v=spf1 ip4:192.0.2.0/24 ip6:2001:db8::/32 ip6:::ffff:198.51.100.1 -all",
    );
    assert_eq!(result(&z, "192.0.2.77", "a@example.com"), SpfResult::Pass);
    assert_eq!(
        result(&z, "::ffff:192.0.2.77", "a@example.com"),
        SpfResult::Pass
    );
    assert_eq!(
        result(&z, "2001:db8:ffff::1", "a@example.com"),
        SpfResult::Pass
    );
    assert_eq!(result(&z, "2001:db9::1", "a@example.com"), SpfResult::Fail);
    // An IPv4 client is evaluated with IPv4 mechanisms only (RFC 7208 §5).
    assert_eq!(result(&z, "198.51.100.1", "a@example.com"), SpfResult::Fail);
    let z = Z::default().txt("example.com", "v=spf1 ip4:0.0.0.0/0 ip6:::/0");
    assert_eq!(result(&z, "203.0.113.5", "a@example.com"), SpfResult::Pass);
    assert_eq!(result(&z, "2001:db8::5", "a@example.com"), SpfResult::Pass);
}

#[test]
fn rfc7208_5_7_exists_queries_a_even_for_ipv6() {
    let z = Z::default()
        .txt("example.com", "v=spf1 exists:%{l}.users.example.com -all")
        .a("alice.users.example.com", "127.0.0.2")
        .a("bob.users.example.com", "2001:db8::2");
    assert_eq!(
        result(&z, "2001:db8::1", "alice@example.com"),
        SpfResult::Pass
    );
    assert_eq!(
        result(&z, "2001:db8::1", "bob@example.com"),
        SpfResult::Fail,
        "AAAA-only names do not satisfy exists"
    );
}

#[test]
fn rfc7208_6_1_redirect() {
    let z = Z::default()
        .txt(
            "example.com",
            "v=spf1 ip4:192.0.2.1 redirect=_spf.example.net",
        )
        .txt("_spf.example.net", "v=spf1 ip4:198.51.100.0/24 ~all")
        .txt("gone.example.com", "v=spf1 redirect=nowhere.example.net")
        .txt("bad.example.com", "v=spf1 redirect=%{l}.example.net");
    assert_eq!(result(&z, "192.0.2.1", "a@example.com"), SpfResult::Pass);
    let v = check(&z, "198.51.100.9", "a@example.com");
    assert_eq!(v.result, SpfResult::Pass);
    assert_eq!(v.matched.unwrap().domain(), "_spf.example.net");
    assert_eq!(
        result(&z, "203.0.113.1", "a@example.com"),
        SpfResult::SoftFail
    );
    let v = check(&z, "192.0.2.1", "a@gone.example.com");
    assert_eq!(v.result, SpfResult::PermError);
    assert!(matches!(v.problem, Some(SpfProblem::RedirectNone { .. })));
    // A malformed target (a label over 63 octets) is a permerror too.
    let long = "x".repeat(70);
    let v = check(&z, "192.0.2.1", &format!("{long}@bad.example.com"));
    assert_eq!(v.result, SpfResult::PermError);
    assert!(matches!(v.problem, Some(SpfProblem::RedirectNone { .. })));
}

#[test]
fn rfc7208_6_2_explanations() {
    let z = Z::default()
        .txt("example.com", "v=spf1 mx -all exp=explain._spf.%{d}")
        .txt(
            "explain._spf.example.com",
            "%{c} is not one of %{d}'s designated mail servers (%{r}, %{t}, %{v}).",
        )
        .txt("noexp.example.com", "v=spf1 -all")
        .txt(
            "broken.example.com",
            "v=spf1 -all exp=broken.exp.example.com",
        )
        .txt("broken.exp.example.com", "%{x} is not a macro")
        .txt("slow.example.com", "v=spf1 -all exp=slow.exp.example.com")
        .timeout("slow.exp.example.com")
        .txt("two.example.com", "v=spf1 -all exp=two.exp.example.com")
        .txt("two.exp.example.com", "one")
        .txt("two.exp.example.com", "two")
        .txt(
            "soft.example.com",
            "v=spf1 ~all exp=explain._spf.example.com",
        );
    let opts = Options::default().with_receiver("mx.receiver.example");
    let req = Request::mail_from(ip("2001:db8::1"), "a@example.com", "h.example").with_now(1234);
    let v = resolve_sync(check_host(&req, &opts), &z.0);
    assert_eq!(v.result, SpfResult::Fail);
    assert_eq!(
        v.explanation.as_deref(),
        Some(
            "2001:db8::1 is not one of example.com's designated mail servers (mx.receiver.example, 1234, ip6)."
        )
    );
    let opts = Options::default().with_default_explanation("DEFAULT for %{d}");
    for from in [
        "a@noexp.example.com",
        "a@broken.example.com",
        "a@slow.example.com",
        "a@two.example.com",
    ] {
        let v = check_with(&z, "192.0.2.1", from, &opts);
        assert_eq!(
            v.result,
            SpfResult::Fail,
            "{from}: a failing exp never changes the result"
        );
        assert_eq!(
            v.explanation,
            Some(format!("DEFAULT for {}", &from[2..])),
            "{from}"
        );
    }
    let v = check_with(&z, "192.0.2.1", "a@soft.example.com", &opts);
    assert_eq!(
        (v.result, v.explanation),
        (SpfResult::SoftFail, None),
        "only for fail"
    );
}

#[test]
fn rfc7208_6_2_exp_belongs_to_the_deciding_record() {
    let z = Z::default()
        .txt(
            "e1.example.com",
            "v=spf1 exp=exp1.example.com redirect=e2.example.com",
        )
        .txt("e2.example.com", "v=spf1 -all")
        .txt(
            "e3.example.com",
            "v=spf1 exp=exp1.example.com redirect=e4.example.com",
        )
        .txt("e4.example.com", "v=spf1 -all exp=exp2.example.com")
        .txt(
            "e7.example.com",
            "v=spf1 include:e3.example.com -all exp=exp3.example.com",
        )
        .txt("exp1.example.com", "No-see-um")
        .txt("exp2.example.com", "See me.")
        .txt("exp3.example.com", "Correct!");
    let opts = Options::default().with_default_explanation("DEFAULT");
    for (from, want) in [
        ("a@e1.example.com", "DEFAULT"),
        ("a@e3.example.com", "See me."),
        ("a@e7.example.com", "Correct!"),
    ] {
        let v = check_with(&z, "192.0.2.1", from, &opts);
        assert_eq!(v.explanation.as_deref(), Some(want), "{from}");
    }
}

#[test]
fn rfc7208_7_3_p_macro() {
    let z = Z::default()
        .txt("e6.example.com", "v=spf1 -all exp=e6msg.example.com")
        .txt("e6msg.example.com", "connect from %{p}")
        .txt(
            "e7.example.com",
            "v=spf1 exists:%{p}.should.example.com ~exists:%{p}.ok.example.com",
        )
        .ptr("192.0.2.41", "mx.example.com")
        .a("mx.example.com", "192.0.2.41")
        .a("mx.example.com", "192.0.2.42")
        .ptr("192.0.2.42", "mx.example.com")
        .ptr("192.0.2.42", "mx.e7.example.com")
        .a("mx.e7.example.com", "192.0.2.42")
        .a("mx.e7.example.com.should.example.com", "127.0.0.2")
        .a("mx.example.com.ok.example.com", "127.0.0.2");
    let v = check(&z, "192.0.2.40", "t@e6.example.com");
    assert_eq!(v.explanation.as_deref(), Some("connect from unknown"));
    let v = check(&z, "192.0.2.41", "t@e6.example.com");
    assert_eq!(
        v.explanation.as_deref(),
        Some("connect from mx.example.com")
    );
    // A validated subdomain of <domain> is preferred.
    let v = check(&z, "192.0.2.42", "t@e7.example.com");
    assert_eq!(v.result, SpfResult::Pass);
    assert_eq!(v.lookups, 1);
}

#[test]
fn rfc7208_7_3_long_expansions() {
    // Truncated on the left to 253 octets (RFC 7208 §7.3).
    let seg = "somewhat.long.exp.example.com";
    let target = format!("{}.example.com", [seg; 8].join("."));
    let z = Z::default()
        .txt(
            seg,
            "v=spf1 -all exp=foobar.%{o}.%{o}.%{o}.%{o}.%{o}.%{o}.%{o}.%{o}.example.com",
        )
        .txt(&target, "Congratulations!  That was tricky.");
    let v = check(&z, "192.0.2.1", &format!("a@{seg}"));
    assert_eq!(
        v.explanation.as_deref(),
        Some("Congratulations!  That was tricky.")
    );
    // A label over 63 octets made by a macro: the name cannot exist, so no match.
    let z = Z::default().txt("example.com", "v=spf1 a:%{l}.example.com -all");
    let v = check(&z, "192.0.2.1", &format!("{}@example.com", "x".repeat(64)));
    assert_eq!(
        (v.result, v.lookups, v.void_lookups),
        (SpfResult::Fail, 1, 0)
    );
}

#[test]
fn rfc7208_2_3_helo_and_2_4_null_sender() {
    let z = Z::default()
        .txt("mail.example.com", "v=spf1 a -all exp=why.example.com")
        .a("mail.example.com", "192.0.2.1")
        .txt("why.example.com", "%{s} %{l} %{o} %{d} %{h}");
    let opts = Options::default();
    let req = Request::helo(ip("192.0.2.1"), "mail.example.com");
    let v = resolve_sync(check_host(&req, &opts), &z.0);
    assert_eq!((v.result, v.identity), (SpfResult::Pass, Identity::Helo));
    let req = Request::mail_from(ip("192.0.2.2"), "<>", "mail.example.com");
    let v = resolve_sync(check_host(&req, &opts), &z.0);
    assert_eq!(v.result, SpfResult::Fail);
    assert_eq!(v.identity, Identity::MailFrom);
    assert_eq!(v.envelope_from(), "postmaster@mail.example.com");
    assert_eq!(
        v.explanation.as_deref(),
        Some(
            "postmaster@mail.example.com postmaster mail.example.com mail.example.com mail.example.com"
        )
    );
}

#[test]
fn cname_chains_and_loops() {
    let z = Z::default()
        .cname("example.com", "c1.example.net")
        .cname("c1.example.net", "c2.example.net")
        .txt("c2.example.net", "v=spf1 a:alias.example.net -all")
        .cname("alias.example.net", "host.example.net")
        .a("host.example.net", "192.0.2.1")
        .cname("loop.example.com", "loop2.example.com")
        .cname("loop2.example.com", "loop.example.com");
    assert_eq!(result(&z, "192.0.2.1", "a@example.com"), SpfResult::Pass);
    assert_eq!(result(&z, "192.0.2.2", "a@example.com"), SpfResult::Fail);
    // A resolver answers SERVFAIL for a CNAME loop: temperror.
    let v = check(&z, "192.0.2.1", "a@loop.example.com");
    assert_eq!(v.result, SpfResult::TempError);
}

#[test]
fn fetched_records_can_be_left_out_without_changing_the_verdict() {
    let z = Z::default()
        .txt(
            "example.com",
            "v=spf1 include:a.example.net redirect=b.example.net",
        )
        .txt("a.example.net", "v=spf1 -all")
        .txt("b.example.net", "v=spf1 ip4:192.0.2.0/24 -all");
    let kept = check_with(&z, "192.0.2.1", "x@example.com", &Options::default());
    let opts = Options::default().with_fetched_records(false);
    let left_out = check_with(&z, "192.0.2.1", "x@example.com", &opts);
    assert_eq!(kept.fetched_records.len(), 3);
    assert!(left_out.fetched_records.is_empty());
    assert_eq!(left_out.result, SpfResult::Pass);
    assert_eq!(
        (left_out.result, left_out.lookups, left_out.void_lookups),
        (kept.result, kept.lookups, kept.void_lookups)
    );
    assert_eq!(
        serde_json::to_value(&left_out).unwrap(),
        serde_json::to_value(&kept).unwrap()
    );
}

#[test]
fn record_cache_replaces_lookups() {
    let z = Z::default()
        .txt("example.com", "v=spf1 include:a.example.net -all")
        .txt("a.example.net", "v=spf1 include:b.example.net -all")
        .txt("b.example.net", "v=spf1 ip4:192.0.2.0/24 -all");
    let opts = Options::default();
    let v = check_with(&z, "192.0.2.1", "x@example.com", &opts);
    assert_eq!(v.result, SpfResult::Pass);
    assert_eq!(v.fetched_records.len(), 3);
    let mut cache = RecordCache::new();
    for (name, record) in v.fetched_records {
        cache.insert(name, record);
    }
    let opts = Options::default()
        .with_cache(Arc::new(cache))
        .with_trace(true);
    let req = Request::mail_from(ip("192.0.2.1"), "x@example.com", "h.example");
    let Step::Done(v) = check_host(&req, &opts) else {
        panic!("no DNS needed")
    };
    assert_eq!((v.result, v.lookups), (SpfResult::Pass, 2));
    assert!(v.fetched_records.is_empty());
    assert!(v.trace.iter().any(|e| matches!(
        e,
        TraceEvent::Record {
            source: RecordSource::Cache,
            ..
        }
    )));
}

#[test]
fn candidate_record_replaces_the_top_level_record() {
    let z = Z::default()
        .txt("example.com", "v=spf1 -all")
        .txt("_spf.example.net", "v=spf1 ip4:192.0.2.0/24 -all");
    let opts = Options::default().with_candidate_record("v=spf1 include:_spf.example.net ~all");
    let v = check_with(&z, "192.0.2.1", "x@example.com", &opts);
    assert_eq!(v.result, SpfResult::Pass);
    let v = check_with(&z, "198.51.100.1", "x@example.com", &opts);
    assert_eq!(v.result, SpfResult::SoftFail);
    let opts = Options::default().with_candidate_record("v=spf1 include:x -all");
    let v = check_with(&z, "192.0.2.1", "x@example.com", &opts);
    assert_eq!(v.result, SpfResult::PermError);
    assert!(matches!(v.problem, Some(SpfProblem::Syntax { .. })));
}

#[test]
fn huge_records_are_bounded() {
    let many_ip4 = (0..10_000u32)
        .map(|i| format!("ip4:10.{}.{}.0/24", i / 256, i % 256))
        .collect::<Vec<_>>()
        .join(" ");
    let many_a = vec!["a"; 10_000].join(" ");
    let z = Z::default()
        .txt("ips.example.com", &format!("v=spf1 {many_ip4}"))
        .txt("as.example.com", &format!("v=spf1 {many_a}"))
        .a("as.example.com", "192.0.2.200");
    let v = check_with(&z, "192.0.2.1", "x@ips.example.com", &Options::default());
    assert_eq!((v.result, v.lookups), (SpfResult::Neutral, 0));
    let v = check_with(&z, "192.0.2.1", "x@as.example.com", &Options::default());
    assert_eq!((v.result, v.lookups), (SpfResult::PermError, 11));
}

#[test]
fn missing_answers_are_failures() {
    let req = Request::mail_from(ip("192.0.2.1"), "x@example.com", "h.example");
    let opts = Options::default();
    let Step::Lookup(p) = check_host(&req, &opts) else {
        panic!()
    };
    let Step::Done(v) = p.resume(Vec::new()) else {
        panic!()
    };
    assert_eq!(v.result, SpfResult::TempError);
}

#[test]
fn trace_shows_terms_queries_and_depth() {
    let z = Z::default()
        .txt(
            "example.com",
            "v=spf1 include:_spf.example.net redirect=_r.example.net",
        )
        .txt("_spf.example.net", "v=spf1 a:mx.example.net ~all")
        .txt("_r.example.net", "v=spf1 -all");
    let v = check(&z, "192.0.2.1", "x@example.com");
    assert_eq!(v.result, SpfResult::Fail);
    let depths: Vec<usize> = v.trace.iter().map(TraceEvent::depth).collect();
    assert_eq!(depths.iter().max(), Some(&1));
    assert!(v.trace.iter().any(|e| matches!(
        e,
        TraceEvent::Term { depth: 1, term, lookups: 2, void_lookups: 0, .. } if term == "a:mx.example.net"
    )));
    assert!(v.trace.iter().any(|e| matches!(
        e,
        TraceEvent::Query { query, answer, void_lookups: 1, .. }
            if query == "mx.example.net A" && answer == "NXDOMAIN"
    )));
    assert!(v.trace.iter().any(|e| matches!(
        e,
        TraceEvent::Record { depth: 1, domain, .. } if domain == "_r.example.net"
    )));
    let json = serde_json::to_value(&v).unwrap();
    assert_eq!(json["trace"][0]["event"], "query");
    assert_eq!(json["result"], "fail");
    // Without tracing, nothing is recorded.
    let v = check_with(&z, "192.0.2.1", "x@example.com", &Options::default());
    assert!(v.trace.is_empty());
}

#[test]
fn rfc7208_4_6_4_driver_time_limit_is_temperror() {
    let z = Z::default()
        .txt(
            "example.com",
            "v=spf1 a:slow.example.com -all exp=why.example.com",
        )
        .txt("why.example.com", "no");
    let req = Request::mail_from(ip("192.0.2.1"), "x@example.com", "h.example");
    let opts = Options::default().with_trace(true);
    let Step::Lookup(p) = check_host(&req, &opts) else {
        panic!()
    };
    let answers = p.queries().iter().map(|q| z.0.answer(q)).collect();
    let Step::Lookup(p) = p.resume(answers) else {
        panic!()
    };
    let v = p.time_limit_exceeded(std::time::Duration::from_secs(20));
    assert_eq!(v.result, SpfResult::TempError);
    assert_eq!(v.problem, Some(SpfProblem::TimeLimit { millis: 20_000 }));
    assert_eq!(v.lookups, 1);
    // While fetching the explanation, the fail stands.
    let Step::Lookup(p) = check_host(&req, &opts) else {
        panic!()
    };
    let answers = p.queries().iter().map(|q| z.0.answer(q)).collect();
    let Step::Lookup(p) = p.resume(answers) else {
        panic!()
    };
    let answers = p.queries().iter().map(|q| z.0.answer(q)).collect();
    let Step::Lookup(p) = p.resume(answers) else {
        panic!()
    };
    assert_eq!(p.queries(), &[Query::txt(n("why.example.com"))]);
    let v = p.time_limit_exceeded(std::time::Duration::from_secs(20));
    assert_eq!(
        (v.result, v.problem, v.explanation),
        (SpfResult::Fail, None, None)
    );
}

/// RFC 7208 §7 with RFC 2181 §11: `%{l}` of a local-part with spaces expands to a name whose
/// label holds spaces (and the quotes of the quoted-string local-part, RFC 5321 §4.1.2); it is
/// queried as such (no lookup is skipped, no error) and matches a
/// record published at that name, case-insensitively in ASCII.
#[test]
fn rfc7208_7_macro_expansion_with_spaces_is_queried() {
    let z = Z::default()
        .txt("example.com", "v=spf1 exists:%{l}.users.example.com -all")
        .a("\"john smith\".users.example.com", "127.0.0.2");
    assert_eq!(
        result(&z, "192.0.2.1", "\"John Smith\"@example.com"),
        SpfResult::Pass
    );
    assert_eq!(
        result(&z, "192.0.2.1", "\"jane doe\"@example.com"),
        SpfResult::Fail
    );
}

/// A record parser that has the answers of a zone at hand, as a resolver's cache has.
#[derive(Debug)]
struct AtHand(Zone);

impl RecordParser for AtHand {
    fn parse(&self, text: &[u8]) -> Result<Arc<Record>, ParseError> {
        Record::parse_bytes(text).map(Arc::new)
    }

    fn answer_at_hand(&self, query: &Query) -> Option<Answer> {
        Some(self.0.answer(query))
    }
}

#[test]
fn records_at_hand_are_read_without_a_step_and_give_the_same_verdict() {
    let records = [
        (
            "example.com",
            "v=spf1 ip4:198.51.100.0/24 include:_a.example.com -all",
        ),
        ("_a.example.com", "v=spf1 include:_b.example.com ~all"),
        ("_b.example.com", "v=spf1 ip4:192.0.2.64/27 ?all"),
        (
            "void.example",
            "v=spf1 include:none.example include:none2.example include:none3.example -all",
        ),
        ("two.example", "v=spf1 -all"),
        ("bad.example", "v=spf1 ip4:300.1.1.1 -all"),
    ];
    let mut z = Z::default();
    for (name, text) in records {
        z = z.txt(name, text);
    }
    let zone = z.txt("two.example", "v=spf1 +all").0;
    let options = Options::default();
    let at_hand = AtHand(zone.clone());
    for (domain, addr) in [
        ("example.com", "192.0.2.70"),
        ("example.com", "203.0.113.9"),
        ("void.example", "192.0.2.1"),
        ("two.example", "192.0.2.1"),
        ("bad.example", "192.0.2.1"),
        ("missing.example", "192.0.2.1"),
    ] {
        let request = Request::mail_from(ip(addr), &format!("a@{domain}"), "h.example");
        let driven = resolve_sync(check_host(&request, &options), &zone);
        let Step::Done(at_once) = check_host_with(&request, &options, Some(&at_hand)) else {
            panic!("{domain}: every TXT answer is at hand, yet the evaluation stopped");
        };
        assert_eq!(
            (
                at_once.result,
                &at_once.problem,
                at_once.lookups,
                at_once.void_lookups
            ),
            (
                driven.result,
                &driven.problem,
                driven.lookups,
                driven.void_lookups
            ),
            "{domain} {addr}"
        );
        assert_eq!(at_once.matched, driven.matched, "{domain} {addr}");
    }
    // The answers at hand are TXT answers for records only: an `a` term still asks.
    let zone = Z::default()
        .txt("host.example", "v=spf1 a -all")
        .a("host.example", "192.0.2.9")
        .0;
    let request = Request::mail_from(ip("192.0.2.9"), "a@host.example", "h.example");
    let at_hand = AtHand(zone);
    assert!(matches!(
        check_host_with(&request, &options, Some(&at_hand)),
        Step::Lookup(_)
    ));
}
