//! `mailstamp records DOMAIN`: the records to publish, every warning, the 255-byte split of a
//! 4096-bit key, round trips through `--zone`, and bad input.

use crate::{example_zone, mailstamp};
use predicates::prelude::*;
use serde_json::Value;
use std::path::PathBuf;

fn testdata(file: &str) -> PathBuf {
    mailstamp_tests::testdata_dir().join(file)
}

fn key(file: &str) -> String {
    testdata("keys").join(file).display().to_string()
}

const RSA4096: &str = "s4096._domainkey.example.org.rsa4096.pem";
const RSA2048: &str = "default._domainkey.example.org.rsa2048.pem";
const ED25519: &str = "ed25519._domainkey.example.org.pem";

fn records(zone: &PathBuf, args: &[&str]) -> assert_cmd::assert::Assert {
    mailstamp()
        .arg("--zone")
        .arg(zone)
        .arg("records")
        .args(args)
        .assert()
}

fn json(output: &[u8]) -> Value {
    serde_json::from_slice(output)
        .unwrap_or_else(|e| panic!("not JSON ({e}): {}", String::from_utf8_lossy(output)))
}

#[test]
fn the_readme_example() {
    let out = records(
        &example_zone(),
        &[
            "example.org",
            "--spf-mx",
            "--spf-ip4",
            "192.0.2.0/24",
            "--spf-include",
            "_spf.example.net",
            "--dmarc-policy",
            "reject",
            "--dmarc-rua",
            "dmarc-reports@example.org",
            "--dkim-key",
            &key(RSA2048),
            "--selector",
            "default",
            "--dkim-key",
            &key(ED25519),
            "--selector",
            "ed25519",
        ],
    )
    .code(0)
    .stderr(predicate::str::is_empty());
    let text = String::from_utf8_lossy(&out.get_output().stdout).into_owned();
    let expected_start = "\
; SPF for example.org (RFC 7208): 2 of 10 DNS lookups and 0 of 2 void lookups in the worst case
example.org. 3600 IN TXT \"v=spf1 ip4:192.0.2.0/24 mx include:_spf.example.net -all\"
; DMARC for example.org (RFC 9989)
_dmarc.example.org. 3600 IN TXT \"v=DMARC1; p=reject; rua=mailto:dmarc-reports@example.org\"
; DKIM key for example.org, selector default: rsa, 2048 bits (RFC 6376)
default._domainkey.example.org. 3600 IN TXT ( \"v=DKIM1; k=rsa; p=MIIBIjANBgkqhkiG9w0BAQEFAAOCAQ8AMIIBCgKCAQEArqOf";
    assert!(text.starts_with(expected_start), "{text}");
    // The DKIM records are the ones testdata/keys documents.
    let ed = std::fs::read_to_string(testdata("keys/ed25519._domainkey.example.org.txt")).unwrap();
    assert!(text.contains(&format!(
        "ed25519._domainkey.example.org. 3600 IN TXT \"{}\"",
        ed.trim()
    )));
}

#[test]
fn rfc1035_3_3_14_a_4096_bit_key_splits_into_255_byte_strings() {
    let zone = example_zone();
    let out = records(
        &zone,
        &[
            "example.org",
            "--dkim-key",
            &key(RSA4096),
            "--selector",
            "s4096",
        ],
    )
    .code(0);
    let text = String::from_utf8_lossy(&out.get_output().stdout).into_owned();
    assert!(text.contains("; DKIM key for example.org, selector s4096: rsa, 4096 bits"));
    let strings: Vec<&str> = text.split('"').skip(1).step_by(2).collect();
    assert_eq!(strings.len(), 3, "{text}");
    assert!(strings.iter().all(|s| s.len() <= 255));
    assert!(strings[0].starts_with("v=DKIM1; k=rsa; p=MIICIjANBgkq"));
    // --format value: the value on one line, for web panels.
    let out = records(
        &zone,
        &[
            "example.org",
            "--dkim-key",
            &key(RSA4096),
            "--selector",
            "s4096",
            "--format",
            "value",
        ],
    )
    .code(0);
    let value = String::from_utf8_lossy(&out.get_output().stdout).into_owned();
    let lines: Vec<&str> = value.lines().collect();
    assert_eq!(lines[0], "s4096._domainkey.example.org TXT");
    assert_eq!(lines[1], strings.concat());
    assert_eq!(lines.len(), 2);
    // JSON: the strings and the zone line.
    let out = records(
        &zone,
        &[
            "--json",
            "example.org",
            "--dkim-key",
            &key(RSA4096),
            "--selector",
            "s4096",
        ],
    )
    .code(0);
    let v = json(&out.get_output().stdout);
    let r = &v["records"][0];
    assert_eq!(r["kind"], "dkim");
    assert_eq!(r["bits"], 4096);
    assert_eq!(r["strings"].as_array().unwrap().len(), 3);
    assert_eq!(r["value"], lines[1]);
    // No private material anywhere.
    let pem = std::fs::read_to_string(key(RSA4096)).unwrap();
    let body_line = pem.lines().nth(5).unwrap();
    for output in [
        &text,
        &value,
        &String::from_utf8_lossy(&out.get_output().stdout).into_owned(),
    ] {
        assert!(!output.contains("PRIVATE"));
        assert!(!output.contains(body_line));
    }
}

#[test]
fn printed_records_load_back_and_pass_the_audit() {
    let dir = tempfile::tempdir().unwrap();
    let out = records(
        &example_zone(),
        &[
            "example.org",
            "--spf-mx",
            "--spf-include",
            "_spf.example.net",
            "--dmarc-policy",
            "quarantine",
            "--dmarc-sp",
            "reject",
            "--dmarc-adkim",
            "s",
            "--dmarc-rua",
            "mailto:dmarc@example.org",
            "--dkim-key",
            &key(RSA4096),
            "--selector",
            "s4096",
        ],
    )
    .code(0);
    let printed = String::from_utf8_lossy(&out.get_output().stdout).into_owned();
    // The new records replace the example's; its MX and example.net's include stay.
    let zone = dir.path().join("published.zone");
    std::fs::write(
        &zone,
        format!(
            "{printed}$ORIGIN example.org.\n$TTL 300\n@ IN MX 10 mail\nmail IN A 192.0.2.25\n\
             $ORIGIN example.net.\n_spf IN TXT \"v=spf1 ip4:198.51.100.0/24 -all\"\n"
        ),
    )
    .unwrap();
    mailstamp()
        .arg("--zone")
        .arg(&zone)
        .args(["audit", "example.org", "--selector", "s4096", "--no-probe"])
        .assert()
        .code(0)
        .stdout(predicate::str::contains(
            "selector s4096 (given): rsa key, 4096 bits",
        ))
        .stdout(predicate::str::contains("info    dmarc-policy-quarantine"))
        .stdout(predicate::str::contains("summary: 0 errors, 0 warnings"));
}

#[test]
fn every_warning_of_records() {
    let broken = testdata("broken.example.zone");
    let findings = testdata("findings.example.zone");
    let ranges: Vec<String> = (0..30).map(|i| format!("198.51.{i}.0/24")).collect();
    let mut long: Vec<&str> = vec!["new.example"];
    for r in &ranges {
        long.extend(["--spf-ip4", r]);
    }
    let cases: Vec<(&PathBuf, Vec<&str>, i32, &str)> = vec![
        // +all in an included record.
        (
            &broken,
            vec!["new.example", "--spf-include", "mailer.example.net"],
            1,
            "error[spf-plus-all] _spf.mailer.example.net",
        ),
        // ptr in an included record.
        (
            &broken,
            vec!["new.example", "--spf-include", "broken.example"],
            1,
            "warning[spf-ptr] broken.example",
        ),
        // More than 10 lookups through the includes.
        (
            &findings,
            vec!["new.example", "--spf-include", "lookups.findings.example"],
            1,
            "error[spf-too-many-lookups] new.example",
        ),
        // More than 2 void lookups through the includes.
        (
            &findings,
            vec!["new.example", "--spf-include", "voids.findings.example"],
            1,
            "error[spf-too-many-void-lookups] new.example",
        ),
        // An include without a record.
        (
            &findings,
            vec!["new.example", "--spf-include", "nothing.findings.example"],
            1,
            "error[spf-include-no-record] nothing.findings.example",
        ),
        // A record over 512 bytes.
        (
            &findings,
            long.clone(),
            0,
            "warning[spf-record-too-long] new.example",
        ),
        // p=none without rua.
        (
            &findings,
            vec!["new.example", "--dmarc-policy", "none"],
            0,
            "warning[dmarc-none-without-rua] _dmarc.new.example",
        ),
        // rua and ruf to an outside domain that has not authorised them.
        (
            &findings,
            vec![
                "new.example",
                "--dmarc-policy",
                "reject",
                "--dmarc-rua",
                "a@reports.example",
            ],
            0,
            "warning[dmarc-rua-not-authorized] _dmarc.new.example",
        ),
        (
            &findings,
            vec![
                "new.example",
                "--dmarc-policy",
                "reject",
                "--dmarc-ruf",
                "f@reports.example",
            ],
            0,
            "warning[dmarc-ruf-not-authorized]",
        ),
        // t=y and a weaker subdomain policy.
        (
            &findings,
            vec![
                "new.example",
                "--dmarc-policy",
                "reject",
                "--dmarc-sp",
                "none",
                "--dmarc-testing",
                "--dmarc-rua",
                "d@new.example",
            ],
            0,
            "warning[dmarc-testing]",
        ),
    ];
    for (zone, args, code, message) in cases {
        records(zone, &args)
            .code(code)
            .stderr(predicate::str::contains(message))
            .stderr(predicate::str::contains("  fix: "));
    }
    // An authorised destination: no warning.
    records(
        &findings,
        &[
            "okrep.findings.example",
            "--dmarc-policy",
            "reject",
            "--dmarc-rua",
            "a@reports.example",
        ],
    )
    .code(0)
    .stderr(predicate::str::is_empty());
    // Without DNS: only what the records say by themselves.
    records(
        &findings,
        &[
            "new.example",
            "--spf-include",
            "lookups.findings.example",
            "--no-dns",
        ],
    )
    .code(0)
    .stderr(predicate::str::contains("note: DNS not used (--no-dns)"));
}

#[test]
fn json_lists_records_and_findings() {
    let out = records(
        &testdata("broken.example.zone"),
        &[
            "--json",
            "new.example",
            "--spf-include",
            "broken.example",
            "--dmarc-policy",
            "none",
        ],
    )
    .code(1);
    let v = json(&out.get_output().stdout);
    assert!(out.get_output().stderr.is_empty());
    assert_eq!(v["domain"], "new.example");
    assert_eq!(v["dns_checked"], true);
    assert_eq!(v["complete"], true);
    assert_eq!(v["exit"], 1);
    assert_eq!(v["records"][0]["kind"], "spf");
    assert_eq!(v["records"][0]["name"], "new.example");
    assert_eq!(
        v["records"][1]["zone"],
        "_dmarc.new.example. 3600 IN TXT \"v=DMARC1; p=none\""
    );
    let codes: Vec<&str> = v["findings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["code"].as_str().unwrap())
        .collect();
    assert!(codes.contains(&"spf-too-many-lookups"), "{codes:?}");
    assert!(codes.contains(&"dmarc-none-without-rua"));
    assert!(v["spf"]["trace"].as_array().is_some_and(|t| !t.is_empty()));
}

#[test]
fn a_dns_failure_during_validation_exits_3() {
    records(
        &testdata("broken.example.zone"),
        &["new.example", "--spf-include", "down.broken.example"],
    )
    .code(3)
    .stdout(predicate::str::contains("include:down.broken.example -all"))
    .stderr(predicate::str::contains("error[spf-dns-failure]"))
    .stderr(predicate::str::contains(
        "incomplete: 1 lookup failed: down.broken.example TXT (servfail)",
    ));
}

#[test]
fn bad_input_exits_2() {
    let zone = example_zone();
    let cases: Vec<(Vec<&str>, &str)> = vec![
        (vec!["192.0.2.1", "--spf-mx"], "is an IP address literal"),
        (vec!["exa_mple.org", "--spf-mx"], "invalid label"),
        (vec!["example.org"], "nothing to publish"),
        (
            vec!["example.org", "--spf-all", "pass"],
            "pass is refused: +all authorises every host",
        ),
        (
            vec!["example.org", "--spf-ip4", "192.0.2.300"],
            "invalid ip4 value \"192.0.2.300\"",
        ),
        (
            vec!["example.org", "--spf-ip4", "192.0.2.1 +all"],
            "it contains whitespace",
        ),
        // Issue 17 item 6: a target that is not a domain name is an input error (exit 2,
        // nothing printed), like a value with whitespace.
        (
            vec!["example.org", "--spf-include", "bad..domain"],
            "invalid include value \"bad..domain\": \"bad..domain\" is not a domain name: empty label",
        ),
        (
            vec!["example.org", "--spf-a=bad..host/24"],
            "is not a domain name",
        ),
        (
            vec!["example.org", "--spf-ip6", "192.0.2.1"],
            "invalid ip6 value",
        ),
        (
            vec!["example.org", "--spf-mx", "other.example"],
            "unexpected argument 'other.example'",
        ),
        (
            vec!["example.org", "--dmarc-sp", "reject"],
            "--dmarc-policy <POLICY>",
        ),
        (
            vec!["example.org", "--dmarc-policy", "maybe"],
            "invalid value 'maybe'",
        ),
        (
            vec![
                "example.org",
                "--dmarc-policy",
                "reject",
                "--dmarc-rua",
                "a@x.example;p=none",
            ],
            "give one URI per option",
        ),
        (
            vec!["example.org", "--dkim-key", "missing.pem"],
            "give one --selector per --dkim-key",
        ),
        (
            vec![
                "example.org",
                "--dkim-key",
                "missing.pem",
                "--selector",
                "s",
            ],
            "cannot open key file missing.pem",
        ),
    ];
    for (args, message) in cases {
        records(&zone, &args)
            .code(2)
            .stdout(predicate::str::is_empty())
            .stderr(predicate::str::contains(message));
    }
}

#[test]
fn u_labels_and_other_domains() {
    records(&example_zone(), &["bücher.example", "--spf-mx", "--no-dns"])
        .code(0)
        .stdout(predicate::str::contains(
            "xn--bcher-kva.example. 3600 IN TXT \"v=spf1 mx -all\"",
        ))
        .stderr(predicate::str::contains(
            "note: bücher.example was converted to its A-label form xn--bcher-kva.example",
        ));
    records(
        &example_zone(),
        &[
            "example.org",
            "--spf-mx=mail.example.org",
            "--spf-a",
            "--spf-all",
            "softfail",
            "--format",
            "value",
        ],
    )
    .code(0)
    .stdout(predicate::str::diff(
        "example.org TXT\nv=spf1 a mx:mail.example.org ~all\n",
    ));
}
