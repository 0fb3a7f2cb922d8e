//! `mailstamp arc verify` and `mailstamp arc seal` (issue 15), end to end and offline: the
//! bundled example zone publishes the testdata/keys keys, which seal here.

use crate::{example_zone, mailstamp};
use serde_json::Value;
use std::path::{Path, PathBuf};

/// 2026-01-15T09:30:00Z, the signing time of the bundled signed message.
const T: &str = "1768469400";

fn key(file: &str) -> PathBuf {
    mailstamp_tests::testdata_dir().join("keys").join(file)
}

fn signed() -> PathBuf {
    mailstamp_tests::testdata_dir().join("messages/signed.eml")
}

fn seal(
    input: &Path,
    key_file: &str,
    selector: &str,
    authserv_id: &str,
    extra: &[&str],
) -> Vec<u8> {
    let out = mailstamp()
        .arg("--zone")
        .arg(example_zone())
        .args(["--now", T, "arc", "seal", "--key"])
        .arg(key(key_file))
        .args([
            "--domain",
            "example.org",
            "--selector",
            selector,
            "--authserv-id",
            authserv_id,
        ])
        .args(extra)
        .arg(input)
        .output()
        .unwrap();
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    out.stdout
}

fn write(dir: &tempfile::TempDir, name: &str, data: &[u8]) -> PathBuf {
    let p = dir.path().join(name);
    std::fs::write(&p, data).unwrap();
    p
}

fn verify_json(input: &Path) -> (Option<i32>, Value) {
    let out = mailstamp()
        .arg("--zone")
        .arg(example_zone())
        .args(["--now", T, "--json", "arc", "verify"])
        .arg(input)
        .output()
        .unwrap();
    (
        out.status.code(),
        serde_json::from_slice(&out.stdout).unwrap(),
    )
}

/// Two hops (Ed25519, then RSA with SPF from an envelope): the chain passes, with the JSON
/// keys the issue names.
#[test]
fn seal_twice_then_verify() {
    let dir = tempfile::tempdir().unwrap();
    let one = seal(
        &signed(),
        "ed25519._domainkey.example.org.pem",
        "ed25519",
        "mx.example.org",
        &[],
    );
    assert!(one.starts_with(b"ARC-Seal: "));
    let one = write(&dir, "one.eml", &one);
    let two = seal(
        &one,
        "default._domainkey.example.org.rsa2048.pem",
        "default",
        "list.example.org",
        &[
            "--ip",
            "192.0.2.25",
            "--helo",
            "mail.example.org",
            "--mail-from",
            "alice@example.org",
        ],
    );
    let two = write(&dir, "two.eml", &two);
    let (code, j) = verify_json(&two);
    assert_eq!(code, Some(0), "{j}");
    let arc = &j["arc"];
    assert_eq!(arc["result"], "pass");
    assert_eq!(arc["instances"], 2);
    assert_eq!(arc["oldest_pass"], 0);
    assert_eq!(arc["sealers"].as_array().unwrap().len(), 2);
    assert_eq!(arc["sealers"][0]["domain"], "example.org");
    assert_eq!(arc["sealers"][1]["cv"], "pass");
    let aar = arc["sealers"][1]["authentication_results"]
        .as_str()
        .unwrap();
    assert!(aar.starts_with("list.example.org;"), "{aar}");
    assert!(aar.contains("spf=pass smtp.mailfrom=example.org"), "{aar}");
    assert!(aar.contains("dkim=pass"), "{aar}");
    // The pipeline's arc= for the chain as it arrived (RFC 8617 §10.1), once.
    assert_eq!(
        aar.matches("arc=").count() - aar.matches("dmarc=").count(),
        1,
        "{aar}"
    );
    assert!(aar.contains("arc=pass (i=1)"), "{aar}");
    assert!(aar.contains("header.oldest-pass=0"), "{aar}");

    // Human output and --explain.
    let out = mailstamp()
        .arg("--zone")
        .arg(example_zone())
        .args(["--now", T, "arc", "verify", "--explain"])
        .arg(&two)
        .output()
        .unwrap();
    let text = String::from_utf8(out.stdout).unwrap();
    assert!(
        text.starts_with("arc=pass instances=2 oldest-pass=0\n"),
        "{text}"
    );
    assert!(
        text.contains("i=2 sealer=example.org s=default a=rsa-sha256 cv=pass: ams pass, seal pass"),
        "{text}"
    );
    assert!(text.contains("recorded: list.example.org;"), "{text}");
}

/// A body changed after the last seal: fail, exit 1, the reason and instance in JSON.
#[test]
fn tampered_body_fails() {
    let dir = tempfile::tempdir().unwrap();
    let mut one = seal(
        &signed(),
        "ed25519._domainkey.example.org.pem",
        "ed25519",
        "mx.example.org",
        &[],
    );
    one.extend_from_slice(b"appended\r\n");
    let one = write(&dir, "one.eml", &one);
    let (code, j) = verify_json(&one);
    assert_eq!(code, Some(1));
    assert_eq!(j["arc"]["result"], "fail");
    assert_eq!(j["arc"]["failed_instance"], 1);
    assert_eq!(j["arc"]["problem"]["code"], "body_hash_mismatch");
    // Sealing it again gives cv=fail, and then the chain is not extended (exit 1).
    let two = seal(
        &one,
        "ed25519._domainkey.example.org.pem",
        "ed25519",
        "mx.example.org",
        &[],
    );
    assert!(
        String::from_utf8_lossy(&two)
            .lines()
            .next()
            .unwrap()
            .starts_with("ARC-Seal: ")
    );
    assert!(String::from_utf8_lossy(&two).contains("cv=fail"));
    let two = write(&dir, "two.eml", &two);
    let out = mailstamp()
        .arg("--zone")
        .arg(example_zone())
        .args(["--now", T, "--json", "arc", "seal", "--key"])
        .arg(key("ed25519._domainkey.example.org.pem"))
        .args([
            "--domain",
            "example.org",
            "--selector",
            "ed25519",
            "--authserv-id",
            "x.example",
        ])
        .arg(&two)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    let j: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(j["sealed"], false);
    assert_eq!(j["arc"]["problem"]["code"], "newest_seal_failed");
}

/// No ARC set: none, exit 1. A bad key: exit 2.
#[test]
fn none_and_usage_errors() {
    let (code, j) = verify_json(&signed());
    assert_eq!(code, Some(1));
    assert_eq!(j["arc"]["result"], "none");
    assert_eq!(j["arc"]["instances"], 0);
    let out = mailstamp()
        .args([
            "arc",
            "seal",
            "--key",
            "/nonexistent.pem",
            "--domain",
            "example.org",
        ])
        .args(["--selector", "s", "--authserv-id", "x"])
        .arg(signed())
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
}
