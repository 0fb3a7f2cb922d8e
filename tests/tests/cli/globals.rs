//! Global options, help and exit codes.

use crate::{example_zone, mailstamp};
use predicates::prelude::*;

#[test]
fn help_documents_the_exit_codes() {
    mailstamp()
        .arg("--help")
        .assert()
        .code(0)
        .stdout(predicate::str::contains("Exit status:"))
        .stdout(predicate::str::contains("3  temporary failure"));
    mailstamp()
        .args(["dns", "--help"])
        .assert()
        .code(0)
        .stdout(predicate::str::contains("2  usage or input error"));
}

#[test]
fn usage_errors_exit_2() {
    mailstamp().assert().code(2);
    mailstamp()
        .args(["--bogus", "dns", "example.org"])
        .assert()
        .code(2);
    mailstamp().args(["dns"]).assert().code(2);
    mailstamp()
        .args(["--dns-timeout", "-1", "dns", "example.org"])
        .assert()
        .code(2);
    mailstamp()
        .args(["--now", "yesterday", "dns", "example.org"])
        .assert()
        .code(2)
        .stderr(predicate::str::contains("RFC 3339"));
    mailstamp()
        .arg("--zone")
        .arg(example_zone())
        .args(["--nameserver", "127.0.0.1", "dns", "example.org"])
        .assert()
        .code(2)
        .stderr(predicate::str::contains("cannot be used with"));
}

#[test]
fn missing_and_unknown_fixture_files_exit_2() {
    mailstamp()
        .args(["--zone", "/nonexistent/zone.zone", "dns", "example.org"])
        .assert()
        .code(2)
        .stderr(predicate::str::contains("/nonexistent/zone.zone"));
    let dir = tempfile::tempdir().unwrap();
    let odd = dir.path().join("zone.json");
    std::fs::write(&odd, "{}").unwrap();
    mailstamp()
        .arg("--zone")
        .arg(&odd)
        .args(["dns", "example.org"])
        .assert()
        .code(2)
        .stderr(predicate::str::contains("unknown fixture format"));
}
