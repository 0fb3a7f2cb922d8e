//! `mailstamp audit DOMAIN`: every finding of the bundled fixtures, exit codes, DNS failures
//! and bad input.

use crate::{example_zone, mailstamp};
use mailstamp_audit::Code;
use mailstamp_testkit::TestServer;
use predicates::prelude::*;
use serde_json::Value;
use std::collections::BTreeSet;
use std::path::PathBuf;

fn testdata(file: &str) -> PathBuf {
    mailstamp_tests::testdata_dir().join(file)
}

fn broken_zone() -> PathBuf {
    testdata("broken.example.zone")
}

fn findings_zone() -> PathBuf {
    testdata("findings.example.zone")
}

fn audit(zone: &PathBuf, args: &[&str]) -> assert_cmd::assert::Assert {
    mailstamp()
        .arg("--zone")
        .arg(zone)
        .arg("audit")
        .args(args)
        .assert()
}

fn json(output: &[u8]) -> Value {
    serde_json::from_slice(output)
        .unwrap_or_else(|e| panic!("not JSON ({e}): {}", String::from_utf8_lossy(output)))
}

fn audit_json(zone: &PathBuf, args: &[&str]) -> (Value, i32) {
    let out = mailstamp()
        .arg("--zone")
        .arg(zone)
        .arg("--json")
        .arg("audit")
        .args(args)
        .output()
        .unwrap();
    (json(&out.stdout), out.status.code().unwrap_or(-1))
}

fn codes(v: &Value) -> BTreeSet<String> {
    v["findings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["code"].as_str().unwrap().to_owned())
        .collect()
}

#[test]
fn every_finding_end_to_end() {
    // The fixture's "expect" lines: a domain, the selectors to give, the codes to see.
    let zone = findings_zone();
    let text = std::fs::read_to_string(&zone).unwrap();
    let mut seen = BTreeSet::new();
    let mut count = 0;
    for line in text.lines().filter_map(|l| l.strip_prefix(";; expect: ")) {
        let (left, right) = line.split_once("=>").unwrap();
        let mut words = left.split_whitespace();
        let domain = words.next().unwrap();
        let mut args = vec![domain.to_owned()];
        for w in words {
            args.push("--selector".to_owned());
            args.push(w.strip_prefix("selector=").unwrap().to_owned());
        }
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        let (v, code) = audit_json(&zone, &args);
        let got = codes(&v);
        for want in right.split_whitespace() {
            assert!(got.contains(want), "{domain}: expected {want}, got {got:?}");
        }
        // The exit status follows the findings: 3 for a DNS failure, 1 for an error.
        let expected_exit = if got.iter().any(|c| c.ends_with("-dns-failure")) {
            3
        } else if v["summary"]["error"].as_u64().unwrap() > 0 {
            1
        } else {
            0
        };
        assert_eq!(code, expected_exit, "{domain}");
        assert_eq!(v["exit"], expected_exit, "{domain}");
        for f in v["findings"].as_array().unwrap() {
            for key in [
                "severity", "area", "code", "rfc", "message", "fix", "subject",
            ] {
                assert!(f[key].as_str().is_some_and(|s| !s.is_empty()), "{key}: {f}");
            }
            assert!(f["rfc"].as_str().unwrap().starts_with("RFC "));
        }
        seen.extend(got);
        count += 1;
    }
    assert!(count > 50);
    // spf-evaluation-error needs a domain the command refuses (a single label); the library
    // tests cover it.
    let missing: Vec<&str> = Code::ALL
        .iter()
        .map(|c| c.as_str())
        .filter(|c| !seen.contains(*c) && *c != "spf-evaluation-error")
        .collect();
    assert!(missing.is_empty(), "no end-to-end test shows {missing:?}");
}

#[test]
fn broken_domain_grouped_by_area_with_fixes() {
    let out = audit(&broken_zone(), &["broken.example"]).code(1);
    let text = String::from_utf8_lossy(&out.get_output().stdout).into_owned();
    // The areas in order, each with its counts.
    let at = |s: &str| {
        text.find(s)
            .unwrap_or_else(|| panic!("no {s:?} in\n{text}"))
    };
    assert!(at("\nSPF: 4 errors, 2 warnings") < at("\nDMARC: 0 errors, 4 warnings"));
    assert!(at("\nDMARC:") < at("\nDKIM: 2 errors, 2 warnings, 1 info"));
    assert!(at("\nDKIM:") < at("\nMX: 3 errors"));
    for s in [
        "worst case: at least 11 of 10 lookups, at least 5 of 2 void lookups",
        "_spf.broken.example",
        "4 lookups (4 in the record itself), 3 void",
        "gone.broken.example                      not reached by the evaluation",
        "error   spf-too-many-lookups: ",
        "(RFC 7208 §4.6.4)",
        "fix: Bring the include, a, mx, ptr, exists and redirect terms down to at most 10",
        "warning dmarc-removed-tag: pct=",
        "warning dmarc-rua-not-authorized",
        "legacy RFC 7489 discovery (Public Suffix List): the same record",
        "selector selector1 (probed): rsa key, 1024 bits",
        "MX 10 mx1.broken.example -> alias of mail.broken.example: 192.0.2.25",
        "summary: 9 errors, 8 warnings, 1 info (exit 1, --fail-on error)",
    ] {
        at(s);
    }
    // No trace unless asked; with --trace, the same tree as `mailstamp spf --trace`.
    assert!(!text.contains("evaluation for 240.0.0.1"));
    audit(&broken_zone(), &["broken.example", "--trace"])
        .code(1)
        .stdout(predicate::str::contains("evaluation for 240.0.0.1:"))
        .stdout(predicate::str::contains(
            "include:_spf.broken.example  [lookups 4/10, void 2/2]",
        ))
        .stdout(predicate::str::contains(
            "_spf.mailer.example.net: \"v=spf1 a:out1.mailer.example.net all\"",
        ));
}

#[test]
fn fail_on_sets_the_threshold() {
    // pnone has warnings and infos only.
    let zone = findings_zone();
    audit(&zone, &["pnone.findings.example"])
        .code(0)
        .stdout(predicate::str::contains("warning dmarc-policy-none"));
    audit(&zone, &["pnone.findings.example", "--fail-on", "warning"])
        .code(1)
        .stdout(predicate::str::contains("--fail-on warning"));
    audit(&zone, &["pnone.findings.example", "--fail-on", "error"]).code(0);
    audit(&zone, &["pnone.findings.example", "--fail-on", "info"])
        .code(2)
        .stderr(predicate::str::contains("invalid value 'info'"));
    // The clean example domain passes even --fail-on warning.
    audit(&example_zone(), &["example.org", "--fail-on", "warning"])
        .code(0)
        .stdout(predicate::str::contains(
            "summary: 0 errors, 0 warnings, 1 info",
        ));
    audit(&broken_zone(), &["nomail.broken.example"])
        .code(0)
        .stdout(predicate::str::contains("MX 0 . (null MX)"));
}

#[test]
fn json_contract() {
    let (v, code) = audit_json(&broken_zone(), &["broken.example"]);
    assert_eq!(code, 1);
    for key in [
        "input",
        "domain",
        "converted_to_a_labels",
        "complete",
        "fail_on",
        "exit",
        "summary",
        "findings",
        "dns_failures",
        "spf",
        "dmarc",
        "dkim",
        "mx",
    ] {
        assert!(v.get(key).is_some(), "{key}");
    }
    assert_eq!(v["domain"], "broken.example");
    assert_eq!(v["complete"], true);
    assert_eq!(v["fail_on"], "error");
    assert_eq!(v["summary"]["error"], 9);
    assert_eq!(v["spf"]["lookups"], 11);
    assert_eq!(v["spf"]["complete"], false);
    assert_eq!(v["spf"]["unreached"][0], "gone.broken.example");
    assert_eq!(v["spf"]["branches"][1]["domain"], "_spf.broken.example");
    let events = v["spf"]["trace"].as_array().unwrap();
    assert_eq!(events[0]["event"], "query");
    assert_eq!(events[1]["event"], "record");
    assert_eq!(events[1]["domain"], "broken.example");
    assert_eq!(
        v["dmarc"]["discovery"]["policy"]["domain"],
        "broken.example"
    );
    assert_eq!(v["dkim"]["probed"].as_array().unwrap().len(), 33);
    assert_eq!(v["mx"]["hosts"][0]["alias_of"], "mail.broken.example");
}

#[test]
fn every_lookup_failing_exits_3() {
    let out = audit(&broken_zone(), &["down.broken.example"]).code(3);
    let text = String::from_utf8_lossy(&out.get_output().stdout).into_owned();
    assert!(text.contains("incomplete: 36 lookups failed"), "{text}");
    assert!(text.contains("error   spf-dns-failure"));
    assert!(text.contains("33 of the common selector names probed could not be looked up"));
    let (v, code) = audit_json(&broken_zone(), &["down.broken.example"]);
    assert_eq!(code, 3);
    assert_eq!(v["complete"], false);
    assert_eq!(v["dns_failures"].as_array().unwrap().len(), 36);
    assert_eq!(v["dns_failures"][0]["failure"], "servfail");
}

#[test]
fn a_partial_failure_exits_3_with_everything_else() {
    let (v, code) = audit_json(
        &findings_zone(),
        &["dkimdown.findings.example", "--selector", "s1"],
    );
    assert_eq!(code, 3);
    let got = codes(&v);
    assert!(
        got.contains("dkim-dns-failure") && got.contains("mx-missing"),
        "{got:?}"
    );
    assert_eq!(v["dns_failures"].as_array().unwrap().len(), 2);
}

#[test]
fn a_silent_nameserver_exits_3() {
    let server = TestServer::silent();
    mailstamp()
        .args(["--nameserver", &server.addr().to_string()])
        .args(["--dns-timeout", "0.2", "--dns-attempts", "1"])
        .args(["audit", "example.com", "--no-probe"])
        .assert()
        .code(3)
        .stdout(predicate::str::contains("incomplete:"))
        .stdout(predicate::str::contains("(timeout)"));
}

#[test]
fn bad_input_exits_2_with_a_clear_message() {
    let zone = example_zone();
    let long = format!("{}.example", vec!["abcdefghi"; 26].join("."));
    for (domain, message) in [
        ("192.0.2.1", "is an IP address literal, not a domain name"),
        ("[2001:db8::1]", "is an IP address literal"),
        ("2001:db8::25", "is an IP address literal"),
        (long.as_str(), "octets long (at most 253 allowed)"),
        (
            &format!("{}.example", "a".repeat(64)),
            "is 64 octets long (at most 63 allowed)",
        ),
        ("exa_mple.org", "invalid label \"exa_mple\" at byte 0"),
        ("-bad.example.org", "does not begin or end with a hyphen"),
        ("a..example.org", "empty label"),
        ("localhost", "single label"),
        ("example.123", "all-numeric label"),
    ] {
        audit(&zone, &["--", domain])
            .code(2)
            .stdout(predicate::str::is_empty())
            .stderr(predicate::str::contains("mailstamp: invalid domain"))
            .stderr(predicate::str::contains(message));
    }
    audit(&zone, &["example.org", "--selector", "a b"])
        .code(2)
        .stderr(predicate::str::contains("invalid DKIM selector \"a b\""));
}

#[test]
fn u_labels_are_converted_and_said_so() {
    let dir = tempfile::tempdir().unwrap();
    let zone = dir.path().join("idn.zone");
    std::fs::write(
        &zone,
        "$ORIGIN xn--bcher-kva.example.\n$TTL 300\n@ IN TXT \"v=spf1 -all\"\n@ IN MX 0 .\n",
    )
    .unwrap();
    audit(&zone, &["Bücher.example"])
        .code(0)
        .stdout(predicate::str::contains("audit of xn--bcher-kva.example"))
        .stdout(predicate::str::contains(
            "note: Bücher.example was converted to its A-label form xn--bcher-kva.example",
        ))
        .stdout(predicate::str::contains("record: v=spf1 -all"));
    let (v, _) = audit_json(&zone, &["bücher.example"]);
    assert_eq!(v["input"], "bücher.example");
    assert_eq!(v["domain"], "xn--bcher-kva.example");
    assert_eq!(v["converted_to_a_labels"], true);
}

#[test]
fn help_documents_codes_selectors_and_exit_status() {
    mailstamp()
        .args(["audit", "--help"])
        .assert()
        .code(0)
        .stdout(predicate::str::contains("--fail-on"))
        .stdout(predicate::str::contains("selector1, selector2, google"))
        .stdout(predicate::str::contains("3  a DNS lookup failed"));
}
