//! Audits of the bundled fixtures: every finding, DNS failures, bad input.

use super::*;
use mailstamp_dns::Zone;
use mailstamp_fixture as fixture;
use mailstamp_testkit::TestServer;
use std::collections::BTreeSet;
use std::time::Duration;

const FINDINGS_ZONE: &str = include_str!("../../../testdata/findings.example.zone");
const BROKEN_ZONE: &str = include_str!("../../../testdata/broken.example.zone");
const EXAMPLE_ZONE: &str = include_str!("../../../testdata/example.zone");

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap()
}

fn zone(text: &str) -> Zone {
    fixture::parse_zone_str(text, "test.zone").unwrap()
}

fn run(zone: &Zone, domain: &str, selectors: &[&str]) -> AuditReport {
    let resolver = Resolver::offline(zone.clone());
    let name = parse_domain(domain).unwrap().name;
    let options = AuditOptions {
        selectors: selectors.iter().map(|s| (*s).to_owned()).collect(),
        probe_common_selectors: true,
    };
    runtime()
        .block_on(audit(&resolver, &name, &options))
        .unwrap()
}

fn codes(report: &AuditReport) -> BTreeSet<&'static str> {
    report.findings.iter().map(|f| f.code.as_str()).collect()
}

/// One `;; expect: DOMAIN [selector=S ...] => CODE ...` line of a fixture.
struct Expectation {
    domain: String,
    selectors: Vec<String>,
    codes: Vec<String>,
}

fn expectations(text: &str) -> Vec<Expectation> {
    text.lines()
        .filter_map(|l| l.strip_prefix(";; expect: "))
        .map(|l| {
            let (left, right) = l.split_once("=>").unwrap();
            let mut words = left.split_whitespace();
            let domain = words.next().unwrap().to_owned();
            let selectors = words
                .map(|w| w.strip_prefix("selector=").unwrap().to_owned())
                .collect();
            let codes = right.split_whitespace().map(str::to_owned).collect();
            Expectation {
                domain,
                selectors,
                codes,
            }
        })
        .collect()
}

#[test]
fn every_finding_of_the_findings_fixture() {
    let z = zone(FINDINGS_ZONE);
    let all = expectations(FINDINGS_ZONE);
    assert!(all.len() > 50, "only {} expectations", all.len());
    let mut seen: BTreeSet<&'static str> = BTreeSet::new();
    for e in &all {
        let selectors: Vec<&str> = e.selectors.iter().map(String::as_str).collect();
        let report = run(&z, &e.domain, &selectors);
        let got = codes(&report);
        for c in &e.codes {
            assert!(
                got.contains(c.as_str()),
                "{}: expected {c}, got {got:?}",
                e.domain
            );
        }
        // A DNS failure, and only a DNS failure, makes a report incomplete.
        let failed = got.iter().any(|c| c.ends_with("-dns-failure"));
        assert_eq!(failed, !report.is_complete(), "{}", e.domain);
        for f in &report.findings {
            assert_eq!(f.severity, f.code.severity());
            assert_eq!(f.area, f.code.area());
            assert!(!f.message.is_empty() && !f.subject.is_empty(), "{f:?}");
        }
        seen.extend(got);
    }
    // The one code the fixture cannot show: an evaluation problem that only malformed
    // domains (refused by parse_domain) produce; see rfc7208_4_3_evaluation_error.
    let missing: Vec<&str> = Code::ALL
        .iter()
        .map(|c| c.as_str())
        .filter(|c| !seen.contains(c) && *c != "spf-evaluation-error")
        .collect();
    assert!(missing.is_empty(), "codes no fixture shows: {missing:?}");
}

#[test]
fn rfc7208_4_3_evaluation_error() {
    // A single-label name is not a valid <domain> for check_host (RFC 7208 §4.3); the
    // library accepts any Name, so the evaluation's own problem is reported.
    let mut z = Zone::new();
    let local = Name::parse("localhost").unwrap();
    z.add_txt(&local, ["v=spf1 -all"]);
    let (_, c) = runtime().block_on(check_spf(&Resolver::offline(z), &local, None));
    let got: Vec<Code> = c.findings.iter().map(|f| f.code).collect();
    assert_eq!(got, [Code::SpfEvaluationError]);
    assert!(c.findings[0].message.contains("RFC 7208 §4.3"));
}

#[test]
fn the_bundled_example_domain_is_clean() {
    let report = run(&zone(EXAMPLE_ZONE), "example.org", &[]);
    assert!(report.is_complete());
    assert_eq!(
        report.worst(),
        Some(Severity::Info),
        "{:?}",
        report.findings
    );
    assert_eq!(codes(&report), BTreeSet::from(["dkim-key"]));
    assert_eq!((report.spf.lookups, report.spf.void_lookups), (2, 0));
    assert!(report.spf.complete);
    assert_eq!(report.dkim.selectors[0].selector, "default");
    assert_eq!(report.mx.hosts.len(), 1);
    assert_eq!(report.mx.hosts[0].addresses.len(), 2);
}

#[test]
fn the_broken_domain_shows_every_area() {
    let report = run(&zone(BROKEN_ZONE), "broken.example", &[]);
    assert!(report.is_complete());
    let got = codes(&report);
    for c in [
        "spf-too-many-lookups",
        "spf-too-many-void-lookups",
        "spf-plus-all",
        "spf-include-no-record",
        "spf-ptr",
        "spf-record-too-long",
        "dmarc-removed-tag",
        "dmarc-policy-none",
        "dmarc-rua-not-authorized",
        "dkim-sha256-not-allowed",
        "dkim-invalid-record",
        "dkim-rsa-weak",
        "dkim-testing",
        "dkim-revoked",
        "mx-target-ip-literal",
        "mx-target-cname",
        "mx-target-no-address",
    ] {
        assert!(got.contains(c), "missing {c}: {got:?}");
    }
    // Grouped by area, errors first within an area.
    let keys: Vec<(Area, std::cmp::Reverse<Severity>)> = report
        .findings
        .iter()
        .map(|f| (f.area, std::cmp::Reverse(f.severity)))
        .collect();
    let mut sorted = keys.clone();
    sorted.sort();
    assert_eq!(keys, sorted);
    // The SPF tree: the evaluation stopped at the 11th lookup; gone.broken.example was
    // checked on its own.
    assert!(!report.spf.complete);
    assert_eq!(report.spf.lookups, 11);
    assert_eq!(report.spf.void_lookups, 5);
    assert_eq!(report.spf.unreached, ["gone.broken.example"]);
    let branches: Vec<(usize, &str)> = report
        .spf
        .branches
        .iter()
        .map(|b| (b.depth, b.domain.as_str()))
        .collect();
    assert_eq!(
        branches,
        [
            (0, "broken.example"),
            (1, "_spf.broken.example"),
            (1, "mailer.example.net"),
            (2, "_spf.mailer.example.net"),
        ]
    );
    assert_eq!(report.spf.branches[1].void_lookups, 3);
    assert!(!report.spf.trace.is_empty());
}

#[test]
fn a_domain_without_mail_is_said_correctly() {
    let report = run(&zone(BROKEN_ZONE), "nomail.broken.example", &[]);
    assert_eq!(
        codes(&report),
        BTreeSet::from(["dkim-no-key-found", "dmarc-no-rua", "mx-null"])
    );
    assert_eq!(report.worst(), Some(Severity::Info));
}

#[test]
fn every_lookup_failing_is_incomplete_not_a_panic() {
    let report = run(&zone(BROKEN_ZONE), "down.broken.example", &[]);
    assert!(!report.is_complete());
    assert_eq!(
        codes(&report),
        BTreeSet::from([
            "dkim-dns-failure",
            "dmarc-dns-failure",
            "mx-dns-failure",
            "spf-dns-failure"
        ])
    );
    // Failed probes of common selectors are one finding, each lookup still listed.
    assert_eq!(
        report
            .findings
            .iter()
            .filter(|f| f.code == Code::DkimDnsFailure)
            .count(),
        1
    );
    assert!(report.dns_failures.len() > COMMON_SELECTORS.len());
    assert!(report.dns_failures.iter().all(|f| f.failure == "servfail"));
}

#[test]
fn a_partial_failure_keeps_everything_else() {
    // Only the key lookups fail: SPF, DMARC and MX are still checked and reported.
    let report = run(&zone(FINDINGS_ZONE), "dkimdown.findings.example", &["s1"]);
    assert!(!report.is_complete());
    let got = codes(&report);
    assert!(got.contains("dkim-dns-failure"));
    assert!(got.contains("mx-missing"));
    assert!(got.contains("dmarc-policy-inherited"));
    assert_eq!(report.spf.records, ["v=spf1 -all"]);
    let failed: Vec<&str> = report
        .dns_failures
        .iter()
        .map(|f| f.query.as_str())
        .collect();
    assert_eq!(
        failed,
        [
            "s1._domainkey.dkimdown.findings.example TXT",
            "default._domainkey.dkimdown.findings.example TXT"
        ]
    );
}

#[test]
fn a_silent_nameserver_is_incomplete_not_a_panic() {
    let server = TestServer::silent();
    let rt = runtime();
    let resolver = {
        let _guard = rt.enter();
        Resolver::builder(mailstamp::DnsSource::Live(mailstamp::LiveConfig {
            nameservers: vec![server.addr()],
            timeout: Duration::from_millis(200),
            attempts: 1,
        }))
        .build()
        .unwrap()
    };
    let name = Name::parse("example.com").unwrap();
    let report = rt
        .block_on(audit(&resolver, &name, &AuditOptions::default()))
        .unwrap();
    assert!(!report.is_complete());
    assert!(report.dns_failures.iter().all(|f| f.failure == "timeout"));
    for area in Area::ALL {
        assert!(
            report
                .in_area(area)
                .any(|f| f.code.as_str().ends_with("-dns-failure")),
            "{area}"
        );
    }
}

#[test]
fn given_selectors_are_checked_and_validated() {
    let report = run(&zone(EXAMPLE_ZONE), "example.org", &["default", "missing"]);
    let given: Vec<(&str, bool)> = report
        .dkim
        .selectors
        .iter()
        .map(|s| (s.selector.as_str(), s.given))
        .collect();
    assert_eq!(given, [("default", true), ("missing", true)]);
    assert!(codes(&report).contains("dkim-key-missing"));
    // "default" is not probed twice.
    assert!(!report.dkim.probed.iter().any(|s| s == "default"));

    let resolver = Resolver::offline(Zone::new());
    let name = Name::parse("example.org").unwrap();
    for bad in ["", "a b", "x..y", &"s".repeat(64)] {
        let options = AuditOptions {
            selectors: vec![bad.to_owned()],
            probe_common_selectors: false,
        };
        let err = runtime()
            .block_on(audit(&resolver, &name, &options))
            .unwrap_err();
        assert!(
            matches!(err, InputError::InvalidSelector { .. }),
            "{bad:?}: {err:?}"
        );
    }
}

#[test]
fn no_probe_checks_only_given_selectors() {
    let resolver = Resolver::offline(zone(EXAMPLE_ZONE));
    let name = Name::parse("example.org").unwrap();
    let options = AuditOptions {
        selectors: Vec::new(),
        probe_common_selectors: false,
    };
    let report = runtime()
        .block_on(audit(&resolver, &name, &options))
        .unwrap();
    assert!(report.dkim.selectors.is_empty() && report.dkim.probed.is_empty());
    // Nothing was probed, so "no key found" would be misleading.
    assert!(!codes(&report).contains("dkim-no-key-found"));
}

#[test]
fn probes_ignore_wildcard_txt_records() {
    let z = zone(
        "$ORIGIN wild.example.\n$TTL 300\n\
         @ IN TXT \"v=spf1 -all\"\n\
         * IN TXT \"v=spf1 -all\"\n",
    );
    let report = run(&z, "wild.example", &[]);
    assert!(
        report.dkim.selectors.is_empty(),
        "{:?}",
        report.dkim.selectors
    );
    assert!(codes(&report).contains("dkim-no-key-found"));
}

#[test]
fn json_report_has_the_documented_keys() {
    let report = run(&zone(BROKEN_ZONE), "broken.example", &[]);
    let v = serde_json::to_value(&report).unwrap();
    for key in [
        "domain",
        "findings",
        "dns_failures",
        "spf",
        "dmarc",
        "dkim",
        "mx",
    ] {
        assert!(v.get(key).is_some(), "{key}");
    }
    let f = &v["findings"][0];
    for key in [
        "severity", "area", "code", "rfc", "message", "fix", "subject",
    ] {
        assert!(f.get(key).is_some(), "{key}");
    }
    assert_eq!(v["spf"]["lookups"], 11);
    assert!(v["spf"]["trace"].as_array().is_some_and(|t| !t.is_empty()));
    assert!(v["spf"]["branches"][0]["own_lookups"].is_number());
    assert_eq!(v["dmarc"]["discovery"]["method"], "tree-walk");
    assert_eq!(v["dmarc"]["legacy"]["method"], "psl");
    assert!(v["dkim"]["selectors"][0]["check"]["findings"].is_array());
    assert_eq!(v["mx"]["answer"], "records");
}

#[test]
fn rfc5890_domain_input() {
    let d = parse_domain(" Example.COM. ").unwrap();
    assert_eq!((d.name.as_str(), d.converted), ("example.com", false));
    let d = parse_domain("bücher.example").unwrap();
    assert_eq!(d.name.as_str(), "xn--bcher-kva.example");
    assert!(d.converted);
    assert_eq!(
        parse_domain("xn--bcher-kva.example").unwrap().name.as_str(),
        "xn--bcher-kva.example"
    );
    for ip in [
        "192.0.2.1",
        "[192.0.2.1]",
        "2001:db8::1",
        "[IPv6:2001:db8::1]",
        "::1",
    ] {
        assert!(
            matches!(parse_domain(ip), Err(InputError::IpLiteral { .. })),
            "{ip}"
        );
    }
    let long = format!("{}.example", vec!["abcdefghi"; 26].join("."));
    assert!(matches!(
        parse_domain(&long),
        Err(InputError::Name {
            error: NameError::TooLong { .. },
            ..
        })
    ));
    let label = format!("{}.example", "a".repeat(64));
    assert!(matches!(
        parse_domain(&label),
        Err(InputError::Name {
            error: NameError::LabelTooLong { .. },
            ..
        })
    ));
    for (bad, offset) in [
        ("exa_mple.com", 0),
        ("-example.com", 0),
        ("example-.com", 0),
        ("mail.ex!ample.com", 5),
        ("xn--zz-.example", 0),
        ("xn--a.example", 0),
    ] {
        match parse_domain(bad) {
            Err(InputError::InvalidLabel { offset: o, .. }) => assert_eq!(o, offset, "{bad}"),
            other => panic!("{bad}: {other:?}"),
        }
    }
    assert!(matches!(parse_domain("a..b"), Err(InputError::Name { .. })));
    assert!(matches!(parse_domain(""), Err(InputError::Name { .. })));
    assert!(matches!(
        parse_domain("localhost"),
        Err(InputError::SingleLabel { .. })
    ));
    assert!(matches!(
        parse_domain("example.123"),
        Err(InputError::NumericTld { .. })
    ));
    assert!(matches!(
        parse_domain("a\u{0}b.com"),
        Err(InputError::Name { .. })
    ));
    let msg = parse_domain("192.0.2.1").unwrap_err().to_string();
    assert!(msg.contains("IP address literal"), "{msg}");
}

#[test]
fn overlay_answers_replace_only_their_query() {
    // The DMARC record about to be published is seen by discovery; everything else comes
    // from the resolver.
    let z = zone(EXAMPLE_ZONE);
    let resolver = Resolver::offline(z);
    let domain = Name::parse("example.org").unwrap();
    let (audit, c) = runtime().block_on(check_dmarc(
        &resolver,
        &domain,
        Some("v=DMARC1; p=none"),
        false,
    ));
    let found = audit.discovery.unwrap();
    assert_eq!(found.record().unwrap().text, "v=DMARC1; p=none");
    let got: Vec<Code> = c.findings.iter().map(|f| f.code).collect();
    assert_eq!(got, [Code::DmarcNoneWithoutRua]);
}
