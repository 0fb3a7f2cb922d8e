//! `mailstamp dmarc`: discovery, evaluation, exit codes and the JSON contract (RFC 9989).

use crate::{example_zone, mailstamp};
use predicates::prelude::*;
use serde_json::Value;
use std::path::PathBuf;

const ZONE: &str = "\
$ORIGIN example.com.
$TTL 300
_dmarc          IN TXT \"v=DMARC1; p=reject; sp=quarantine; np=reject; pct=50; \" \
                       \"rua=mailto:d@example.com,mailto:x@reports.test; ruf=mailto:f@other.test\"
www             IN A   192.0.2.1
$ORIGIN reports.test.
example.com._report._dmarc IN TXT \"v=DMARC1;\"
$ORIGIN test.example.
_dmarc          IN TXT \"v=DMARC1; p=reject; t=y\"
$ORIGIN bank.example.
_dmarc          IN TXT \"v=DMARC1; p=none; np=reject; psd=y\"
$FAIL _dmarc.slow.example. TXT timeout
";

/// The fixture, written to a temporary directory that lives as long as the returned guard.
fn fixture() -> (tempfile::TempDir, PathBuf) {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("dmarc.zone");
    std::fs::write(&path, ZONE).unwrap();
    (dir, path)
}

fn dmarc(zone: &PathBuf, args: &[&str]) -> assert_cmd::assert::Assert {
    mailstamp()
        .arg("--zone")
        .arg(zone)
        .arg("dmarc")
        .args(args)
        .assert()
}

fn json(output: &[u8]) -> Value {
    serde_json::from_slice(output)
        .unwrap_or_else(|e| panic!("not JSON ({e}): {}", String::from_utf8_lossy(output)))
}

fn first_line(output: &[u8]) -> String {
    String::from_utf8_lossy(output)
        .lines()
        .next()
        .unwrap_or_default()
        .to_owned()
}

#[test]
fn discovery_shows_policy_walk_and_report_destinations() {
    let (_dir, zone) = fixture();
    dmarc(&zone, &["mail.example.com"])
        .code(0)
        .stdout(predicate::str::contains(
            "policy:                 _dmarc.example.com (organizational domain), found by tree-walk",
        ))
        .stdout(predicate::str::contains("organizational domain:  example.com"))
        .stdout(predicate::str::contains("_dmarc.mail.example.com"))
        .stdout(predicate::str::contains("pct: tag removed by RFC 9989"))
        .stdout(predicate::str::contains(
            "rua mailto:x@reports.test: external, authorized",
        ))
        .stdout(predicate::str::contains(
            "ruf mailto:f@other.test: external, NOT authorized",
        ));
    // --trace lists every query, report authorisation included.
    dmarc(&zone, &["mail.example.com", "--trace"])
        .code(0)
        .stdout(predicate::str::contains(
            "[report authorization] example.com._report._dmarc.other.test TXT -> NXDOMAIN",
        ));
    // No policy anywhere: exit 1.
    dmarc(&zone, &["nothing.test"])
        .code(1)
        .stdout(predicate::str::contains("none found"));
}

#[test]
fn discovery_json() {
    let (_dir, zone) = fixture();
    let out = mailstamp()
        .arg("--zone")
        .arg(&zone)
        .args(["--json", "dmarc", "a.b.example.com"])
        .assert()
        .code(0);
    let v = json(&out.get_output().stdout);
    assert_eq!(v["policy_domain"], "example.com");
    assert_eq!(v["organizational_domain"], "example.com");
    assert_eq!(v["discovery"]["method"], "tree-walk");
    assert_eq!(v["discovery"]["walk"]["steps"].as_array().unwrap().len(), 4);
    assert_eq!(v["record"]["policy"], "reject");
    assert_eq!(v["reports"]["checks"][1]["status"], "authorized");
}

#[test]
fn evaluation_first_line_and_exit_codes() {
    let (_dir, zone) = fixture();
    let out = dmarc(
        &zone,
        &["www.example.com", "--spf", "pass:bounce.example.com"],
    )
    .code(0);
    assert!(first_line(&out.get_output().stdout).starts_with("pass none"));

    let out = dmarc(
        &zone,
        &[
            "www.example.com",
            "--spf",
            "pass:example.net",
            "--dkim",
            "fail:example.com",
        ],
    )
    .code(1);
    let stdout = &out.get_output().stdout;
    assert!(
        first_line(stdout).starts_with("fail quarantine"),
        "{}",
        first_line(stdout)
    );
    assert!(String::from_utf8_lossy(stdout).contains("sp=quarantine (the author domain exists)"));

    // A non-existent subdomain gets np.
    let out = dmarc(&zone, &["ghost.example.com", "--spf", "fail:example.com"]).code(1);
    assert!(first_line(&out.get_output().stdout).starts_with("fail reject"));

    // t=y: reject becomes quarantine.
    let out = dmarc(&zone, &["test.example", "--dkim", "pass:evil.example"]).code(1);
    assert!(first_line(&out.get_output().stdout).starts_with("fail quarantine"));

    // No policy: none, exit 1.
    let out = dmarc(&zone, &["example.org", "--spf", "pass:example.org"]).code(1);
    assert!(first_line(&out.get_output().stdout).starts_with("none none"));

    // A DNS failure during discovery: temperror, exit 3.
    let out = dmarc(&zone, &["slow.example", "--spf", "pass:slow.example"]).code(3);
    assert!(first_line(&out.get_output().stdout).starts_with("temperror none"));
}

#[test]
fn evaluation_json_contract() {
    let (_dir, zone) = fixture();
    let out = mailstamp()
        .arg("--zone")
        .arg(&zone)
        .args([
            "--json",
            "dmarc",
            "www.example.com",
            "--spf",
            "pass:example.net",
            "--dkim",
            "pass:mail.example.com",
            "--dkim",
            "fail:example.com",
        ])
        .assert()
        .code(0);
    let v = json(&out.get_output().stdout);
    for key in [
        "result",
        "disposition",
        "record",
        "organizational_domain",
        "discovery",
        "alignment",
    ] {
        assert!(v.get(key).is_some(), "missing {key}");
    }
    assert_eq!(v["result"], "pass");
    assert_eq!(v["disposition"], "none");
    assert_eq!(v["organizational_domain"], "example.com");
    assert_eq!(v["discovery"]["policy"]["source"], "organizational_domain");
    let alignment = v["alignment"].as_array().unwrap();
    assert_eq!(alignment.len(), 3);
    assert_eq!(alignment[0]["mechanism"], "spf");
    assert_eq!(alignment[0]["aligned"], false);
    assert_eq!(alignment[1]["aligned"], true);
    assert_eq!(alignment[2]["why_not"]["reason"], "not_authenticated");
}

#[test]
fn psd_policy_for_a_nonexistent_domain() {
    let (_dir, zone) = fixture();
    let out = dmarc(
        &zone,
        &["giant.bank.example", "--spf", "pass:evil.test", "--trace"],
    )
    .code(1);
    let stdout = String::from_utf8_lossy(&out.get_output().stdout).into_owned();
    assert!(stdout.starts_with("fail reject"), "{stdout}");
    assert!(stdout.contains("(public suffix domain)"));
    assert!(stdout.contains("[author domain existence] giant.bank.example A -> NXDOMAIN"));
}

#[test]
fn legacy_psl_discovery_with_a_list_file() {
    let (dir, zone) = fixture();
    let list = dir.path().join("list.dat");
    // With "example.com" itself listed as a public suffix, mail.example.com is its own
    // Organizational Domain and the example.com record is never asked for.
    std::fs::write(&list, "// test list\ncom\nexample.com\n").unwrap();
    dmarc(
        &zone,
        &["mail.example.com", "--psl", list.to_str().unwrap()],
    )
    .code(1)
    .stdout(predicate::str::contains("none found by psl"))
    .stdout(predicate::str::contains(
        "organizational domain:  mail.example.com",
    ));
    // The compiled-in list.
    dmarc(&zone, &["mail.example.com", "--discovery", "psl"])
        .code(0)
        .stdout(predicate::str::contains("found by psl"))
        .stdout(predicate::str::contains("stopped at the first record"));
    // A malformed list is an input error.
    std::fs::write(&list, "com\na..b\n").unwrap();
    dmarc(
        &zone,
        &["mail.example.com", "--psl", list.to_str().unwrap()],
    )
    .code(2)
    .stderr(predicate::str::contains("line 2"));
}

#[test]
fn several_author_domains() {
    let (_dir, zone) = fixture();
    let out = dmarc(
        &zone,
        &["example.com", "test.example", "--spf", "pass:example.com"],
    )
    .code(1);
    assert!(first_line(&out.get_output().stdout).starts_with("none none"));
    let out = dmarc(
        &zone,
        &[
            "example.com",
            "test.example",
            "--spf",
            "pass:example.com",
            "--author-limit",
            "2",
        ],
    )
    .code(1);
    let stdout = String::from_utf8_lossy(&out.get_output().stdout).into_owned();
    assert!(stdout.starts_with("fail quarantine"), "{stdout}");
    assert!(stdout.contains("[1] pass none"));
    assert!(stdout.contains("[2] fail quarantine"));
}

#[test]
fn input_errors_exit_2() {
    let (_dir, zone) = fixture();
    // Issue 17 item 18: each error names the domain, option or value at fault.
    dmarc(&zone, &["a..b", "--spf", "pass:example.com"])
        .code(2)
        .stderr(predicate::str::contains(
            "invalid domain name \"a..b\": empty label at byte 2",
        ));
    dmarc(&zone, &["example.com", "--spf", "maybe:example.com"])
        .code(2)
        .stderr(predicate::str::contains("unknown result"));
    dmarc(&zone, &["example.com", "--dkim", "pass"])
        .code(2)
        .stderr(predicate::str::contains(
            "invalid value 'pass' for '--dkim <RESULT:DOMAIN>'",
        ));
    dmarc(&zone, &["example.com", "--psl", "/nonexistent/list.dat"])
        .code(2)
        .stderr(predicate::str::contains("/nonexistent/list.dat"));
    dmarc(&zone, &[])
        .code(2)
        .stderr(predicate::str::contains("<DOMAIN>"));
}

#[test]
fn bundled_example_zone() {
    mailstamp()
        .arg("--zone")
        .arg(example_zone())
        .args(["dmarc", "example.org", "--dkim", "pass:mail.example.org"])
        .assert()
        .code(1)
        .stdout(predicate::str::starts_with("fail reject"))
        .stdout(predicate::str::contains(
            "strict alignment and the domains differ",
        ));
}
