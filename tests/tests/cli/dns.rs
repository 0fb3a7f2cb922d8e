//! `mailstamp dns NAME [TYPE]`: offline fixtures, a real loopback server, record and replay.

use crate::{example_zone, mailstamp};
use mailstamp_dns::{FailureKind, Name, RData, Txt, Zone};
use mailstamp_testkit::TestServer;
use predicates::prelude::*;
use serde_json::Value;
use std::time::Duration;

fn json(output: &[u8]) -> Value {
    serde_json::from_slice(output)
        .unwrap_or_else(|e| panic!("not JSON ({e}): {}", String::from_utf8_lossy(output)))
}

fn offline(args: &[&str]) -> assert_cmd::assert::Assert {
    mailstamp()
        .arg("--zone")
        .arg(example_zone())
        .args(args)
        .assert()
}

#[test]
fn txt_records_from_the_bundled_zone() {
    offline(&["dns", "example.org", "TXT"])
        .code(0)
        .stdout(predicate::str::contains("example.org.\t3600\tIN\tTXT"))
        .stdout(predicate::str::contains("v=spf1 mx ip4:192.0.2.0/24"));
    // A DKIM key in several strings: shown as received and joined.
    offline(&["dns", "default._domainkey.example.org"])
        .code(0)
        .stdout(predicate::str::contains("\"v=DKIM1; k=rsa; \" \"p=\""))
        .stdout(predicate::str::contains("joined"))
        .stdout(predicate::str::contains("v=DKIM1; k=rsa; p=MIIB"));
}

#[test]
fn json_answer_contract() {
    let out = offline(&["--json", "dns", "_dmarc.example.org"]).code(0);
    let v = json(&out.get_output().stdout);
    assert_eq!(v["name"], "_dmarc.example.org");
    assert_eq!(v["type"], "TXT");
    assert_eq!(v["answer"], "records");
    assert_eq!(v["records"][0]["ttl"], 3600);
    assert!(
        v["records"][0]["joined"]
            .as_str()
            .unwrap()
            .starts_with("v=DMARC1; p=reject")
    );

    let v = json(
        &offline(&["--json", "dns", "www.example.org", "A"])
            .code(0)
            .get_output()
            .stdout,
    );
    assert_eq!(v["records"][0]["type"], "CNAME");
    assert_eq!(v["records"][1]["address"], "192.0.2.80");

    let v = json(
        &offline(&["--json", "dns", "nowhere.example.org"])
            .code(0)
            .get_output()
            .stdout,
    );
    assert_eq!(
        (v["answer"].as_str(), v["records"].as_array().map(Vec::len)),
        (Some("nxdomain"), Some(0))
    );

    let v = json(
        &offline(&["--json", "dns", "example.org", "AAAA"])
            .code(0)
            .get_output()
            .stdout,
    );
    assert_eq!(v["answer"], "nodata");

    // $FAIL slow.example.org. timeout
    let v = json(
        &offline(&["--json", "dns", "slow.example.org"])
            .code(3)
            .get_output()
            .stdout,
    );
    assert_eq!(
        (v["answer"].as_str(), v["failure"].as_str()),
        (Some("failed"), Some("timeout"))
    );
}

#[test]
fn human_output_names_nxdomain_nodata_and_failures() {
    offline(&["dns", "nowhere.example.org"])
        .code(0)
        .stdout(predicate::str::contains("NXDOMAIN"));
    offline(&["dns", "example.org", "aaaa"])
        .code(0)
        .stdout(predicate::str::contains("NODATA"));
    offline(&["dns", "slow.example.org"])
        .code(3)
        .stdout(predicate::str::contains("failed (timeout)"));
}

#[test]
fn bad_input_exits_2() {
    offline(&["dns", "a..example.org"])
        .code(2)
        .stderr(predicate::str::contains("empty label"));
    offline(&["dns", "example.org", "SOA"])
        .code(2)
        .stderr(predicate::str::contains("unknown record type"));
    let long = format!("{}.example.org", "a".repeat(64));
    offline(&["dns", &long]).code(2);
}

#[test]
fn malformed_zone_file_names_file_and_line() {
    let dir = tempfile::tempdir().unwrap();
    let zone = dir.path().join("broken.zone");
    std::fs::write(
        &zone,
        "$ORIGIN example.org.\n$TTL 300\n@ IN TXT \"fine\"\nmail IN A 192.0.2.999\n",
    )
    .unwrap();
    mailstamp()
        .arg("--zone")
        .arg(&zone)
        .args(["dns", "example.org"])
        .assert()
        .code(2)
        .stderr(predicate::str::contains(format!("{}:4:", zone.display())))
        .stderr(predicate::str::contains("expected"));
    let yaml = dir.path().join("broken.yml");
    std::fs::write(&yaml, "example.org:\n  - TXT: fine\n  - MX: [10]\n").unwrap();
    mailstamp()
        .arg("--zone")
        .arg(&yaml)
        .args(["dns", "example.org"])
        .assert()
        .code(2)
        .stderr(predicate::str::contains(format!("{}:3:", yaml.display())));
}

#[test]
fn several_zone_files_are_merged() {
    let dir = tempfile::tempdir().unwrap();
    let extra = dir.path().join("extra.yml");
    std::fs::write(&extra, "extra.example.net:\n  - TXT: from yaml\n").unwrap();
    mailstamp()
        .arg("--zone")
        .arg(example_zone())
        .arg("--zone")
        .arg(&extra)
        .args(["dns", "extra.example.net"])
        .assert()
        .code(0)
        .stdout(predicate::str::contains("from yaml"));
}

fn served_zone() -> Zone {
    let n = |s: &str| Name::parse(s).unwrap();
    let mut z = Zone::new();
    z.insert(
        &n("example.org"),
        300,
        RData::Txt(Txt::new(["v=spf1 -all"])),
    );
    let key: Vec<String> = std::iter::once("v=DKIM1; k=rsa; p=".to_owned())
        .chain((0..4).map(|i| format!("{i}").repeat(200)))
        .collect();
    z.insert(
        &n("big._domainkey.example.org"),
        600,
        RData::Txt(Txt::new(key)),
    );
    z.fail(&n("broken.example.org"), FailureKind::ServFail);
    z
}

#[test]
fn against_a_real_server_on_loopback() {
    let server = TestServer::start(served_zone());
    let ns = server.addr().to_string();
    let run = |args: &[&str]| {
        mailstamp()
            .args(["--nameserver", &ns, "--dns-timeout", "3", "--json", "dns"])
            .args(args)
            .assert()
    };
    let v = json(&run(&["example.org"]).code(0).get_output().stdout);
    assert_eq!(v["records"][0]["joined"], "v=spf1 -all");
    assert_eq!(v["records"][0]["ttl"], 300);
    // 818 bytes: truncated over UDP, fetched over TCP.
    let v = json(
        &run(&["big._domainkey.example.org"])
            .code(0)
            .get_output()
            .stdout,
    );
    assert_eq!(v["records"][0]["strings"].as_array().map(Vec::len), Some(5));
    assert!(server.tcp_queries() >= 1);
    let v = json(&run(&["broken.example.org"]).code(3).get_output().stdout);
    assert_eq!(v["failure"], "servfail");
    let v = json(&run(&["nowhere.example.org"]).code(0).get_output().stdout);
    assert_eq!(v["answer"], "nxdomain");
}

#[test]
fn silent_nameserver_exits_3_within_the_timeout() {
    let server = TestServer::silent();
    mailstamp()
        .args([
            "--nameserver",
            &server.addr().to_string(),
            "--dns-timeout",
            "1",
        ])
        .args(["dns", "example.org"])
        // The process is killed (and the test fails) if it hangs past this: the 1 s timeout
        // plus time to start the process on a busy machine.
        .timeout(Duration::from_secs(6))
        .assert()
        .code(3)
        .stdout(predicate::str::contains("failed (timeout)"));
}

#[test]
fn verbose_prints_queries_and_answers_on_stderr() {
    offline(&["-v", "dns", "example.org", "MX"])
        .code(0)
        .stderr(predicate::str::contains("dns: query example.org MX"))
        .stderr(predicate::str::contains(
            "dns: answer example.org MX: 1 record(s)",
        ));
}

#[test]
fn record_then_replay_gives_the_same_answers() {
    let server = TestServer::start(served_zone());
    let dir = tempfile::tempdir().unwrap();
    let ns = server.addr().to_string();
    let names = [
        "example.org",
        "big._domainkey.example.org",
        "broken.example.org",
        "nowhere.example.org",
    ];
    for name in names {
        let recording = dir.path().join(format!("{name}.yml"));
        let live = mailstamp()
            .args(["--nameserver", &ns, "--dns-timeout", "3", "--json"])
            .arg("--dns-record")
            .arg(&recording)
            .args(["dns", name])
            .output()
            .unwrap();
        assert!(recording.is_file(), "{name}: no recording written");
        let replay = mailstamp()
            .arg("--zone")
            .arg(&recording)
            .args(["--json", "dns", name])
            .output()
            .unwrap();
        assert_eq!(live.status.code(), replay.status.code(), "{name}");
        assert_eq!(json(&live.stdout), json(&replay.stdout), "{name}");
    }
}
