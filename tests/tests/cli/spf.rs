//! `mailstamp spf`: output contract, exit codes, `--record`, `--trace`, bad input, and the live
//! path against a real DNS server on loopback (a provider chain of a redirect and four levels
//! of include; a branch that times out).

use crate::mailstamp;
use mailstamp_dns::{FailureKind, Name, RData, Zone};
use mailstamp_testkit::TestServer;
use predicates::prelude::*;
use serde_json::Value;
use std::path::PathBuf;

fn json(output: &[u8]) -> Value {
    serde_json::from_slice(output)
        .unwrap_or_else(|e| panic!("not JSON ({e}): {}", String::from_utf8_lossy(output)))
}

fn n(s: &str) -> Name {
    Name::parse(s).unwrap()
}

/// An offline fixture in YAML zonedata form.
fn fixture(dir: &tempfile::TempDir) -> PathBuf {
    let path = dir.path().join("spf.yml");
    std::fs::write(
        &path,
        r#"example.com:
  - TXT: v=spf1 ip4:192.0.2.0/24 include:_spf.example.net -all exp=why.example.com
why.example.com:
  - TXT: "%{i} is not one of %{d}'s senders"
_spf.example.net:
  - TXT: v=spf1 a:mx.example.net ~all
mx.example.net:
  - A: 198.51.100.25
slow.example.com:
  - TXT: v=spf1 a:timeout.example.com -all
timeout.example.com:
  - TIMEOUT
mail.example.org:
  - TXT: v=spf1 a -all
  - A: 203.0.113.5
"#,
    )
    .unwrap();
    path
}

fn offline(dir: &tempfile::TempDir, args: &[&str]) -> assert_cmd::assert::Assert {
    mailstamp()
        .arg("--zone")
        .arg(fixture(dir))
        .arg("spf")
        .args(args)
        .assert()
}

fn first_line(out: &[u8]) -> String {
    String::from_utf8_lossy(out)
        .lines()
        .next()
        .unwrap_or("")
        .to_owned()
}

#[test]
fn rfc7208_2_6_first_line_is_the_result_and_exit_codes_follow_it() {
    let dir = tempfile::tempdir().unwrap();
    let cases: &[(&str, &str, &str, i32)] = &[
        ("192.0.2.9", "a@example.com", "pass", 0),
        ("198.51.100.25", "a@example.com", "pass", 0),
        ("203.0.113.1", "a@example.com", "fail", 1),
        ("203.0.113.1", "a@nowhere.example.com", "none", 1),
        ("203.0.113.1", "a@slow.example.com", "temperror", 3),
    ];
    for (ip, from, result, code) in cases {
        let out = offline(
            &dir,
            &["--ip", ip, "--mail-from", from, "--helo", "h.example"],
        )
        .code(*code);
        let line = first_line(&out.get_output().stdout);
        assert!(
            line.starts_with(&format!("{result} ")),
            "{ip} {from}: {line}"
        );
    }
    offline(
        &dir,
        &["--ip", "203.0.113.1", "--mail-from", "a@example.com"],
    )
    .code(1)
    .stdout(predicate::str::contains(
        "explanation: 203.0.113.1 is not one of example.com's senders",
    ))
    .stdout(predicate::str::contains("matched: -all (in example.com)"))
    .stdout(predicate::str::contains(
        "lookups: 2 of 10, void lookups: 0 of 2",
    ));
    offline(
        &dir,
        &["--ip", "203.0.113.1", "--mail-from", "a@slow.example.com"],
    )
    .code(3)
    .stdout(predicate::str::contains(
        "problem: DNS lookup timeout.example.com A failed (timeout)",
    ));
}

#[test]
fn rfc7208_2_3_helo_identity_and_2_4_null_reverse_path() {
    let dir = tempfile::tempdir().unwrap();
    offline(
        &dir,
        &[
            "--ip",
            "203.0.113.5",
            "--mail-from",
            "",
            "--helo",
            "mail.example.org",
        ],
    )
    .code(0)
    .stdout(predicate::str::starts_with(
        "pass mail.example.org (MAIL FROM postmaster@mail.example.org",
    ));
    offline(
        &dir,
        &[
            "--ip",
            "203.0.113.6",
            "--identity",
            "helo",
            "--helo",
            "mail.example.org",
        ],
    )
    .code(1)
    .stdout(predicate::str::starts_with("fail mail.example.org (HELO "));
}

#[test]
fn json_contract() {
    let dir = tempfile::tempdir().unwrap();
    let out = mailstamp()
        .arg("--zone")
        .arg(fixture(&dir))
        .args([
            "--json",
            "spf",
            "--ip",
            "203.0.113.1",
            "--mail-from",
            "a@example.com",
        ])
        .assert()
        .code(1);
    let v = json(&out.get_output().stdout);
    assert_eq!(v["result"], "fail");
    assert_eq!(v["domain"], "example.com");
    assert_eq!(
        v["explanation"],
        "203.0.113.1 is not one of example.com's senders"
    );
    assert_eq!(v["lookups"], 2);
    assert_eq!(v["void_lookups"], 0);
    assert_eq!(v["identity"], "mailfrom");
    assert_eq!(v["matched"]["term"], "-all");
    assert!(v.get("trace").is_none(), "trace only with --trace");

    let out = mailstamp()
        .arg("--zone")
        .arg(fixture(&dir))
        .args([
            "--json",
            "spf",
            "--trace",
            "--ip",
            "198.51.100.25",
            "--mail-from",
            "a@example.com",
        ])
        .assert()
        .code(0);
    let v = json(&out.get_output().stdout);
    assert_eq!(v["result"], "pass");
    let trace = v["trace"].as_array().expect("trace array");
    assert!(
        trace
            .iter()
            .any(|e| e["event"] == "record" && e["depth"] == 1)
    );
    assert!(
        trace
            .iter()
            .any(|e| e["event"] == "query" && e["query"] == "mx.example.net A")
    );

    let out = mailstamp()
        .arg("--zone")
        .arg(fixture(&dir))
        .args([
            "--json",
            "spf",
            "--ip",
            "192.0.2.1",
            "--mail-from",
            "a@slow.example.com",
        ])
        .assert()
        .code(3);
    let v = json(&out.get_output().stdout);
    assert_eq!(v["result"], "temperror");
    assert_eq!(v["problem"]["kind"], "dns_failure");
}

#[test]
fn trace_draws_one_level_per_include() {
    let dir = tempfile::tempdir().unwrap();
    let out = offline(
        &dir,
        &[
            "--trace",
            "--ip",
            "198.51.100.25",
            "--mail-from",
            "a@example.com",
        ],
    )
    .code(0);
    let text = String::from_utf8_lossy(&out.get_output().stdout).into_owned();
    assert!(
        text.contains("\n  example.com: \"v=spf1 ip4:192.0.2.0/24 include:_spf.example.net -all"),
        "{text}"
    );
    assert!(
        text.contains("\n    include:_spf.example.net  [lookups 1/10, void 0/2]"),
        "{text}"
    );
    assert!(
        text.contains("\n      _spf.example.net: \"v=spf1 a:mx.example.net ~all\""),
        "{text}"
    );
    assert!(
        text.contains("\n        a:mx.example.net  [lookups 2/10, void 0/2]"),
        "{text}"
    );
    assert!(
        text.contains("\n          mx.example.net A: A 198.51.100.25"),
        "{text}"
    );
    assert!(
        text.contains("\n      include:_spf.example.net: match -> pass"),
        "{text}"
    );
}

#[test]
fn record_evaluates_a_candidate_before_publishing() {
    let dir = tempfile::tempdir().unwrap();
    offline(
        &dir,
        &[
            "--ip",
            "203.0.113.1",
            "--mail-from",
            "a@example.com",
            "--record",
            "v=spf1 ip4:203.0.113.0/24 -all",
        ],
    )
    .code(0)
    .stdout(predicate::str::starts_with("pass example.com"))
    .stdout(predicate::str::contains("--record candidate"));
    // A syntax error in the candidate is the verdict, with the term and its offset.
    offline(
        &dir,
        &[
            "--ip",
            "203.0.113.1",
            "--mail-from",
            "a@example.com",
            "--record",
            "v=spf1 ip4:203.0.113.0/33 -all",
        ],
    )
    .code(1)
    .stdout(predicate::str::starts_with("permerror example.com"))
    .stdout(predicate::str::contains(
        "\"ip4:203.0.113.0/33\" at byte 22",
    ));
}

#[test]
fn bad_input_exits_2() {
    let dir = tempfile::tempdir().unwrap();
    offline(&dir, &["--ip", "300.1.1.1", "--mail-from", "a@example.com"]).code(2);
    offline(&dir, &["--ip", "192.0.2.1", "--mail-from", "example.com"])
        .code(2)
        .stderr(predicate::str::contains("local-part@domain"));
    offline(&dir, &["--ip", "192.0.2.1", "--mail-from", ""])
        .code(2)
        .stderr(predicate::str::contains("--helo"));
    offline(
        &dir,
        &[
            "--ip",
            "192.0.2.1",
            "--mail-from",
            "a@example.com",
            "--record",
            "hello",
        ],
    )
    .code(2)
    .stderr(predicate::str::contains("v=spf1"));
    offline(&dir, &["--ip", "192.0.2.1"]).code(2);
}

/// A large mailbox provider's layout: the customer redirects to the provider, whose record
/// includes netblock records four levels deep, each with ip4/ip6 lists (some over 512 octets,
/// so UDP answers come back truncated and the resolver retries over TCP).
fn provider_zone() -> Zone {
    let mut z = Zone::new();
    let txt = |z: &mut Zone, name: &str, text: &str| z.add_txt(&n(name), [text.to_owned()]);
    txt(
        &mut z,
        "customer.example",
        "v=spf1 redirect=_spf.mbp.example",
    );
    txt(
        &mut z,
        "_spf.mbp.example",
        "v=spf1 include:_netblocks.mbp.example include:_netblocks-eu.mbp.example ~all",
    );
    let eu: Vec<String> = (0..40).map(|i| format!("ip4:198.18.{i}.0/24")).collect();
    txt(
        &mut z,
        "_netblocks-eu.mbp.example",
        &format!("v=spf1 {} ~all", eu.join(" ")),
    );
    txt(
        &mut z,
        "_netblocks.mbp.example",
        "v=spf1 ip4:192.0.2.0/25 include:_netblocks2.mbp.example ~all",
    );
    txt(
        &mut z,
        "_netblocks2.mbp.example",
        "v=spf1 ip4:198.51.100.0/24 include:_netblocks3.mbp.example ~all",
    );
    let v6: Vec<String> = (0..30)
        .map(|i| format!("ip6:2001:db8:{i:x}::/48"))
        .collect();
    txt(
        &mut z,
        "_netblocks3.mbp.example",
        &format!("v=spf1 {} ip4:203.0.113.0/24 ~all", v6.join(" ")),
    );
    // A second customer whose chain reaches a name the server never answers.
    txt(
        &mut z,
        "flaky.example",
        "v=spf1 include:_spf.flaky.example -all",
    );
    txt(
        &mut z,
        "_spf.flaky.example",
        "v=spf1 ip4:192.0.2.0/24 include:_dead.flaky.example -all",
    );
    z.fail(&n("_dead.flaky.example"), FailureKind::Timeout);
    z.add(
        &n("mx.customer.example"),
        RData::A("192.0.2.1".parse().unwrap()),
    );
    z
}

#[test]
fn live_provider_chain_over_loopback_dns() {
    let server = TestServer::start(provider_zone());
    let ns = server.addr().to_string();
    let run = |args: &[&str]| {
        mailstamp()
            .args([
                "--nameserver",
                &ns,
                "--dns-timeout",
                "3",
                "spf",
                "--helo",
                "mx.customer.example",
            ])
            .args(args)
            .assert()
    };
    // Four levels down: redirect -> _spf -> _netblocks -> _netblocks2 -> _netblocks3.
    let out = run(&[
        "--trace",
        "--ip",
        "2001:db8:1d::25",
        "--mail-from",
        "bob@customer.example",
    ])
    .code(0);
    let text = String::from_utf8_lossy(&out.get_output().stdout).into_owned();
    assert!(text.starts_with("pass customer.example "), "{text}");
    assert!(text.contains("lookups: 4 of 10"), "{text}");
    assert!(
        text.contains("matched: include:_netblocks.mbp.example (in _spf.mbp.example)"),
        "{text}"
    );
    assert!(
        text.contains("\n                  _netblocks3.mbp.example: \"v=spf1 ip6:2001:db8::/48"),
        "the fourth include level is drawn at depth 4: {text}"
    );
    // The eu netblocks (a TXT over 512 octets) arrive over TCP.
    run(&["--ip", "198.18.39.7", "--mail-from", "bob@customer.example"])
        .code(0)
        .stdout(predicate::str::starts_with("pass "));
    assert!(
        server.tcp_queries() > 0,
        "truncated UDP answers retried over TCP"
    );
    run(&[
        "--ip",
        "203.0.113.200",
        "--mail-from",
        "bob@customer.example",
    ])
    .code(0);
    run(&["--ip", "100.64.0.1", "--mail-from", "bob@customer.example"])
        .code(1)
        .stdout(predicate::str::starts_with("softfail "));
}

#[test]
fn live_branch_that_times_out_is_temperror() {
    let server = TestServer::start(provider_zone());
    let ns = server.addr().to_string();
    let out = mailstamp()
        .args([
            "--nameserver",
            &ns,
            "--dns-timeout",
            "0.5",
            "--dns-attempts",
            "1",
            "--json",
            "spf",
            "--ip",
            "203.0.113.9",
            "--mail-from",
            "x@flaky.example",
        ])
        .assert()
        .code(3);
    let v = json(&out.get_output().stdout);
    assert_eq!(v["result"], "temperror");
    assert_eq!(v["problem"]["kind"], "dns_failure");
    assert_eq!(v["problem"]["query"], "_dead.flaky.example TXT");
    assert_eq!(v["lookups"], 2);
    // An address inside the record before the dead include still passes: the timeout is
    // only reached when evaluation gets there.
    mailstamp()
        .args([
            "--nameserver",
            &ns,
            "--dns-timeout",
            "0.5",
            "--dns-attempts",
            "1",
            "spf",
            "--ip",
            "192.0.2.77",
            "--mail-from",
            "x@flaky.example",
        ])
        .assert()
        .code(0);
}

fn stdout(out: &assert_cmd::assert::Assert) -> String {
    String::from_utf8_lossy(&out.get_output().stdout).into_owned()
}

#[test]
fn snapshots_of_help_trace_and_json() {
    let out = mailstamp().args(["spf", "--help"]).assert().code(0);
    insta::assert_snapshot!("help_spf", stdout(&out));
    let dir = tempfile::tempdir().unwrap();
    let out = offline(
        &dir,
        &[
            "--trace",
            "--ip",
            "203.0.113.1",
            "--mail-from",
            "a@example.com",
        ],
    )
    .code(1);
    insta::assert_snapshot!("trace_fail", stdout(&out));
    let out = mailstamp()
        .arg("--zone")
        .arg(fixture(&dir))
        .args([
            "--json",
            "spf",
            "--trace",
            "--ip",
            "198.51.100.25",
            "--mail-from",
            "a@example.com",
        ])
        .assert()
        .code(0);
    insta::assert_snapshot!("json_trace_pass", stdout(&out));
}
