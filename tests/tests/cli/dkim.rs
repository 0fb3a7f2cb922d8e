//! `mailstamp verify`, `sign`, `keygen` and `keycheck` (issue 4), end to end and offline: the
//! bundled example zone publishes the testdata/keys keys.

use crate::{example_zone, mailstamp};
use predicates::prelude::*;
use serde_json::Value;
use std::path::{Path, PathBuf};

/// 2026-01-15T09:30:00Z, the signing time of the bundled signed message.
const T: &str = "1768469400";

const MESSAGE: &str = "From: Alice Example <alice@example.org>\r\n\
To: bob@example.net\r\n\
Subject: Lunch on Friday?\r\n\
Date: Thu, 15 Jan 2026 10:30:00 +0100\r\n\
Message-ID: <test.1@mail.example.org>\r\n\
\r\n\
Hi Bob,\r\n\
\r\n\
shall we meet at noon?\r\n";

fn key(file: &str) -> PathBuf {
    mailstamp_tests::testdata_dir().join("keys").join(file)
}

fn rsa_key() -> PathBuf {
    key("default._domainkey.example.org.rsa2048.pem")
}

fn ed_key() -> PathBuf {
    key("ed25519._domainkey.example.org.pem")
}

fn message_file(name: &str) -> PathBuf {
    mailstamp_tests::testdata_dir().join("messages").join(name)
}

fn json(output: &[u8]) -> Value {
    serde_json::from_slice(output)
        .unwrap_or_else(|e| panic!("not JSON ({e}): {}", String::from_utf8_lossy(output)))
}

fn stdout(a: &assert_cmd::assert::Assert) -> String {
    String::from_utf8_lossy(&a.get_output().stdout).into_owned()
}

/// Signs `message` with the example keys given as (key, selector) pairs, d=example.org.
fn sign(message: &[u8], keys: &[(&Path, &str)], extra: &[&str]) -> Vec<u8> {
    let mut cmd = mailstamp();
    cmd.args(["--now", T, "sign"]);
    for (k, s) in keys {
        cmd.arg("--key")
            .arg(k)
            .args(["--domain", "example.org", "--selector", s]);
    }
    cmd.args(extra).arg("-").write_stdin(message.to_vec());
    cmd.assert().code(0).get_output().stdout.clone()
}

/// Verifies `message` from standard input against the example zone.
fn verify(message: &[u8], args: &[&str]) -> assert_cmd::assert::Assert {
    mailstamp()
        .arg("--zone")
        .arg(example_zone())
        .args(["--now", T])
        .arg("verify")
        .args(args)
        .arg("-")
        .write_stdin(message.to_vec())
        .assert()
}

#[test]
fn rfc6376_sign_then_verify_dual_rsa_and_ed25519() {
    let signed = sign(
        MESSAGE.as_bytes(),
        &[(&rsa_key(), "default"), (&ed_key(), "ed25519")],
        &[],
    );
    // The fields are prepended; the rest is byte for byte the input.
    assert!(signed.ends_with(MESSAGE.as_bytes()));
    let head = String::from_utf8_lossy(&signed[..signed.len() - MESSAGE.len()]).into_owned();
    assert_eq!(head.matches("DKIM-Signature:").count(), 2);
    assert!(head.starts_with("DKIM-Signature: v=1; a=rsa-sha256; c=relaxed/relaxed;"));
    assert!(head.contains(&format!("t={T};")));
    assert!(!head.contains("x="), "no x= without --expire");
    assert!(!head.contains(" l="), "no l= without --body-length");
    // RFC 6376 §5.4.1 fields the message has, each oversigned.
    assert!(head.contains("h=from:from:subject:subject:date:date:to:to:"));
    assert!(head.lines().all(|l| l.len() <= 78), "{head}");

    let out = verify(&signed, &[]).code(0);
    let text = stdout(&out);
    let lines: Vec<&str> = text.lines().filter(|l| !l.starts_with(' ')).collect();
    assert_eq!(
        lines,
        [
            "pass d=example.org s=default a=rsa-sha256: ok",
            "pass d=example.org s=ed25519 a=ed25519-sha256: ok"
        ]
    );
    assert!(text.contains("  key: rsa, 2048 bits"));
}

#[test]
fn rfc6376_3_4_every_canonicalization_round_trips() {
    // Bare LF input: the fields are written with LF too, and verify reads LF as CRLF.
    let lf = MESSAGE.replace("\r\n", "\n");
    for c in [
        "relaxed/relaxed",
        "relaxed/simple",
        "simple/relaxed",
        "simple/simple",
    ] {
        for input in [MESSAGE.as_bytes(), lf.as_bytes()] {
            let signed = sign(input, &[(&ed_key(), "ed25519")], &["--canonicalization", c]);
            assert!(signed.ends_with(input));
            let head = String::from_utf8_lossy(&signed[..signed.len() - input.len()]).into_owned();
            assert!(head.contains(&format!("c={c};")), "{head}");
            assert_eq!(head.contains('\r'), input == MESSAGE.as_bytes());
            verify(&signed, &[])
                .code(0)
                .stdout(predicate::str::starts_with("pass "));
        }
    }
    mailstamp()
        .args(["sign", "--canonicalization", "relaxed"])
        .arg("--key")
        .arg(ed_key())
        .args(["--domain", "example.org", "--selector", "ed25519", "-"])
        .write_stdin(MESSAGE)
        .assert()
        .code(2)
        .stderr(predicate::str::contains("HEADER/BODY"));
}

#[test]
fn bundled_signed_message_verifies_offline() {
    let out = mailstamp()
        .arg("--zone")
        .arg(example_zone())
        .arg("verify")
        .arg(message_file("signed.eml"))
        .assert()
        .code(0);
    let text = stdout(&out);
    assert!(
        text.starts_with("pass d=example.org s=default a=rsa-sha256: ok\n"),
        "{text}"
    );
    assert!(text.contains("pass d=example.org s=ed25519 a=ed25519-sha256: ok\n"));
}

#[test]
fn rfc6376_6_1_3_mailing_list_footer_and_subject_tag_explained() {
    let out = mailstamp()
        .arg("--zone")
        .arg(example_zone())
        .args(["verify", "--explain"])
        .arg(message_file("forwarded-by-list.eml"))
        .assert()
        .code(1);
    let text = stdout(&out);
    assert!(
        text.starts_with("fail d=example.org s=default a=rsa-sha256: the body hash does not match"),
        "{text}"
    );
    assert_eq!(text.matches("explain (signature ").count(), 2);
    assert!(text.contains("(bh=)  <- differs"));
    assert!(text.contains("    | subject:[Friends] Lunch on Friday?\n"));
    assert!(text.contains("the signature over the header block does not verify"));
    assert!(text.contains("    | dkim-signature:v=1; a=ed25519-sha256;"));
    assert!(
        text.contains("b=\n"),
        "the hashed DKIM-Signature ends with an empty b="
    );
}

#[test]
fn rfc6376_6_1_3_explain_on_a_body_modified_message() {
    let signed = sign(MESSAGE.as_bytes(), &[(&rsa_key(), "default")], &[]);
    let tampered = String::from_utf8(signed)
        .unwrap()
        .replace("shall we meet at noon?", "shall we meet at one?");
    let out = verify(tampered.as_bytes(), &["--explain"]).code(1);
    let text = stdout(&out);
    assert!(text.starts_with("fail d=example.org s=default a=rsa-sha256: the body hash"));
    assert!(text.contains("(RFC 6376 §6.1.3 step 3)"));
    // Only the body changed: the header signature still verifies.
    assert!(text.contains("the signature over the header block verifies"));
    assert!(text.contains("    | from:Alice Example <alice@example.org>\n"));
    let computed = text
        .lines()
        .find_map(|l| l.trim().strip_prefix("body hash computed: "))
        .unwrap();
    let stated = text
        .lines()
        .find_map(|l| l.trim().strip_prefix("body hash stated:   "))
        .unwrap();
    assert_ne!(
        computed.split_whitespace().next(),
        stated.split_whitespace().next()
    );
    // Without --explain: one line per signature and the key line, nothing hashed shown.
    let out = verify(tampered.as_bytes(), &[]).code(1);
    assert!(!stdout(&out).contains("explain"));
}

#[test]
fn rfc6376_6_1_explain_without_a_key_and_for_a_malformed_field() {
    // The key is missing: nothing was verified, but what was hashed is still shown.
    let signed = sign(MESSAGE.as_bytes(), &[(&ed_key(), "ed25519")], &[]);
    let dir = tempfile::tempdir().unwrap();
    let zone = dir.path().join("empty.zone");
    std::fs::write(&zone, "$TTL 300\nother.example.org. IN TXT \"x\"\n").unwrap();
    let out = mailstamp()
        .arg("--zone")
        .arg(&zone)
        .args(["verify", "--explain", "-"])
        .write_stdin(signed)
        .assert()
        .code(1);
    let text = stdout(&out);
    assert!(text.starts_with("permerror d=example.org s=ed25519 a=ed25519-sha256: no DKIM key"));
    assert!(
        text.contains("the body is unchanged since signing"),
        "{text}"
    );
    assert!(text.contains("was not checked"));
    assert!(text.contains("    | from:Alice Example <alice@example.org>"));
    // A field that does not parse: said so, exit 1.
    let malformed = format!("DKIM-Signature: v=1; a=rsa-sha256; d=example.org\r\n{MESSAGE}");
    let out = verify(malformed.as_bytes(), &["--explain"]).code(1);
    let text = stdout(&out);
    assert!(
        text.starts_with(
            "permerror d=example.org s=- a=rsa-sha256: the DKIM-Signature field is malformed"
        ),
        "{text}"
    );
    assert!(text.contains("nothing was hashed"));
}

#[test]
fn verify_json_contract() {
    let signed = std::fs::read(message_file("signed.eml")).unwrap();
    let v = json(&verify(&signed, &["--json"]).code(0).get_output().stdout);
    assert_eq!(v["result"], "pass");
    let s = &v["signatures"][0];
    for key in ["result", "domain", "selector", "algorithm", "problem"] {
        assert!(s.get(key).is_some(), "missing {key}: {s}");
    }
    assert_eq!(s["result"], "pass");
    assert_eq!(s["domain"], "example.org");
    assert_eq!(s["selector"], "default");
    assert_eq!(s["algorithm"], "rsa-sha256");
    assert_eq!(s["problem"], Value::Null);
    assert_eq!(s["key_bits"], 2048);
    assert_eq!(s["canonicalization"], "relaxed/relaxed");
    assert_eq!(s["body_hash_matched"], true);
    assert_eq!(s["signature_matched"], true);
    assert_eq!(v["signatures"][1]["key_type"], "ed25519");
    assert!(s.get("forensics").is_none());

    let forwarded = std::fs::read(message_file("forwarded-by-list.eml")).unwrap();
    let out = verify(&forwarded, &["--json", "--explain"]);
    let v = json(&out.code(1).get_output().stdout);
    let s = &v["signatures"][0];
    assert_eq!(s["result"], "fail");
    assert_eq!(s["problem"], "body_hash_mismatch");
    assert_eq!(s["rfc"], "RFC 6376 §6.1.3 step 3");
    assert_eq!(s["body_hash_matched"], false);
    assert_eq!(s["forensics"]["body_hash_matched"], false);
    assert!(
        s["forensics"]["canonical_headers"]
            .as_str()
            .unwrap()
            .contains("subject:[Friends] Lunch on Friday?\r\n")
    );
    assert_ne!(
        s["forensics"]["computed_body_hash"],
        s["forensics"]["stated_body_hash"]
    );
    assert_eq!(v["line_endings_normalized"], true);
}

fn verify_with_zone(zone_text: &str, message: &[u8]) -> assert_cmd::assert::Assert {
    let dir = tempfile::tempdir().unwrap();
    let zone = dir.path().join("keys.zone");
    std::fs::write(&zone, zone_text).unwrap();
    mailstamp()
        .arg("--zone")
        .arg(&zone)
        .args(["--json", "verify", "-"])
        .write_stdin(message.to_vec())
        .assert()
}

#[test]
fn rfc6376_6_1_2_exit_codes() {
    // No signature at all: none, exit 1.
    verify(MESSAGE.as_bytes(), &[])
        .code(1)
        .stdout("none: the message has no DKIM-Signature field\n");
    let ed = sign(MESSAGE.as_bytes(), &[(&ed_key(), "ed25519")], &[]);
    let ed_record = std::fs::read_to_string(key("ed25519._domainkey.example.org.txt")).unwrap();
    // The key lookup fails: temperror, exit 3.
    let out = verify_with_zone(
        "$TTL 300\n$FAIL ed25519._domainkey.example.org. servfail\n",
        &ed,
    )
    .code(3);
    let v = json(&out.get_output().stdout);
    assert_eq!(v["signatures"][0]["result"], "temperror");
    assert_eq!(v["signatures"][0]["problem"], "key_unavailable");
    // No key published: permerror, exit 1.
    let out = verify_with_zone("$TTL 300\nother.example.org. IN TXT \"x\"\n", &ed).code(1);
    assert_eq!(
        json(&out.get_output().stdout)["signatures"][0]["problem"],
        "key_not_found"
    );
    // Revoked key: permerror, exit 1.
    let out = verify_with_zone(
        "$TTL 300\ned25519._domainkey.example.org. IN TXT \"v=DKIM1; k=ed25519; p=\"\n",
        &ed,
    )
    .code(1);
    assert_eq!(
        json(&out.get_output().stdout)["signatures"][0]["problem"],
        "key_revoked"
    );
    // One signature fails temporarily, another passes: exit 0.
    let both = sign(&ed, &[(&rsa_key(), "default")], &[]);
    let zone = format!(
        "$TTL 300\n$FAIL default._domainkey.example.org. timeout\n\
         ed25519._domainkey.example.org. IN TXT \"{}\"\n",
        ed_record.trim()
    );
    let out = verify_with_zone(&zone, &both).code(0);
    let v = json(&out.get_output().stdout);
    assert_eq!(v["signatures"][0]["result"], "temperror");
    assert_eq!(v["signatures"][1]["result"], "pass");
    // Input errors: exit 2.
    verify(b"", &[])
        .code(2)
        .stderr(predicate::str::contains("empty"));
    mailstamp()
        .args(["verify", "/nonexistent/message.eml"])
        .assert()
        .code(2)
        .stderr(predicate::str::contains("/nonexistent/message.eml"));
    mailstamp()
        .args(["verify", "--max-signatures", "0", "-"])
        .write_stdin(MESSAGE)
        .assert()
        .code(2);
}

#[test]
fn rfc6376_6_1_max_signatures_and_rsa_sha1_switch() {
    let both = sign(
        MESSAGE.as_bytes(),
        &[(&rsa_key(), "default"), (&ed_key(), "ed25519")],
        &[],
    );
    let out = verify(&both, &["--max-signatures", "1"]).code(0);
    let text = stdout(&out);
    assert!(text.contains("\nneutral d=example.org s=ed25519 a=ed25519-sha256: not checked"));
    mailstamp()
        .args(["verify", "--help"])
        .assert()
        .code(0)
        .stdout(predicate::str::contains("--dangerous-accept-rsa-sha1"))
        .stdout(predicate::str::contains("DANGEROUS"));
}

#[test]
fn rfc6376_3_5_expire_adds_x_and_expired_signatures_are_permerror() {
    let signed = sign(
        MESSAGE.as_bytes(),
        &[(&ed_key(), "ed25519")],
        &["--expire", "1h"],
    );
    let head = String::from_utf8_lossy(&signed).into_owned();
    let t: u64 = T.parse().unwrap();
    assert!(head.contains(&format!("x={};", t + 3600)), "{head}");
    let at = |now: u64| {
        mailstamp()
            .arg("--zone")
            .arg(example_zone())
            .args(["--now", &now.to_string(), "verify", "-"])
            .write_stdin(signed.clone())
            .assert()
    };
    at(t + 3600).code(0);
    // Within the default 300 s of clock skew: still a pass.
    at(t + 3600 + 300).code(0);
    at(t + 3600 + 301)
        .code(1)
        // RFC 6376 §6.1.1: an expired signature is PERMFAIL, permerror (issue 17 item 27).
        .stdout(predicate::str::contains(
            "permerror d=example.org s=ed25519",
        ))
        .stdout(predicate::str::contains("expired"));
    mailstamp()
        .arg("--zone")
        .arg(example_zone())
        .args(["--now", &(t + 3600 + 301).to_string()])
        .args(["verify", "--clock-skew", "600", "-"])
        .write_stdin(signed.clone())
        .assert()
        .code(0);
}

#[test]
fn sign_options() {
    // --headers and --no-oversign.
    let out = sign(
        MESSAGE.as_bytes(),
        &[(&ed_key(), "ed25519")],
        &[
            "--headers",
            "From:Subject:List-Id",
            "--no-oversign",
            "--header-only",
        ],
    );
    let head = String::from_utf8(out).unwrap();
    // --header-only: just the field.
    assert!(head.starts_with("DKIM-Signature: "));
    assert!(!head.contains("Hi Bob"));
    // Absent List-Id is listed once, so it cannot be added later.
    assert!(head.contains("h=from:subject:list-id;"), "{head}");
    // Verify the header-only output prepended by hand.
    let mut full = head.into_bytes();
    full.extend_from_slice(MESSAGE.as_bytes());
    verify(&full, &[]).code(0);

    // --body-length: l= and a warning that explains the risk.
    mailstamp()
        .args(["--now", T, "sign", "--body-length"])
        .arg("--key")
        .arg(ed_key())
        .args(["--domain", "example.org", "--selector", "ed25519", "-"])
        .write_stdin(MESSAGE)
        .assert()
        .code(0)
        .stdout(predicate::str::contains(" l="))
        .stderr(predicate::str::contains("warning"))
        .stderr(predicate::str::contains("append"))
        .stderr(predicate::str::contains("RFC 6376 §8.2"));

    // --json describes the signatures instead of printing the message.
    let out = mailstamp()
        .args(["--now", T, "--json", "sign"])
        .arg("--key")
        .arg(rsa_key())
        .args(["--domain", "example.org", "--selector", "default", "-"])
        .write_stdin(MESSAGE)
        .assert()
        .code(0);
    let v = json(&out.get_output().stdout);
    assert_eq!(v["signatures"][0]["algorithm"], "rsa-sha256");
    assert_eq!(v["signatures"][0]["selector"], "default");
    assert!(
        v["signatures"][0]["field"]
            .as_str()
            .unwrap()
            .starts_with("DKIM-Signature: v=1;")
    );
}

#[test]
fn sign_usage_errors_exit_2() {
    // The n-th --domain/--selector belong to the n-th --key: counts must match.
    mailstamp()
        .arg("sign")
        .arg("--key")
        .arg(rsa_key())
        .arg("--key")
        .arg(ed_key())
        .args([
            "--domain",
            "example.org",
            "--selector",
            "default",
            "--selector",
            "ed25519",
            "-",
        ])
        .write_stdin(MESSAGE)
        .assert()
        .code(2)
        .stdout("")
        .stderr(predicate::str::contains(
            "2 --key, 1 --domain and 2 --selector given",
        ));
    // No From field: nothing to sign (RFC 6376 §5.4).
    mailstamp()
        .arg("sign")
        .arg("--key")
        .arg(ed_key())
        .args(["--domain", "example.org", "--selector", "ed25519", "-"])
        .write_stdin("Subject: x\r\n\r\nbody\r\n")
        .assert()
        .code(2)
        .stderr(predicate::str::contains("From"));
    for d in ["90x", "0s", "soon"] {
        mailstamp()
            .arg("sign")
            .arg("--key")
            .arg(ed_key())
            .args([
                "--domain",
                "example.org",
                "--selector",
                "ed25519",
                "--expire",
                d,
                "-",
            ])
            .write_stdin(MESSAGE)
            .assert()
            .code(2);
    }
}

/// Signs MESSAGE with a key file that cannot be used; returns stderr.
fn sign_with_bad_key(contents: &[u8]) -> String {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("bad.pem");
    std::fs::write(&path, contents).unwrap();
    let out = mailstamp()
        .arg("sign")
        .arg("--key")
        .arg(&path)
        .args(["--domain", "example.org", "--selector", "s", "-"])
        .write_stdin(MESSAGE)
        .assert()
        .code(2)
        .stdout("");
    let err = String::from_utf8_lossy(&out.get_output().stderr).into_owned();
    assert!(err.contains("bad.pem"), "the error names the file: {err}");
    err
}

#[test]
fn bad_key_files_name_the_format_found() {
    let err = sign_with_bad_key(
        b"-----BEGIN ENCRYPTED PRIVATE KEY-----\nMIIBvTBXBgkqhkiG9w0BBQ0wSjApBgkqhkiG9w0BBQwwHAQI\n-----END ENCRYPTED PRIVATE KEY-----\n",
    );
    assert!(err.contains("encrypted") && err.contains("PKCS#8"), "{err}");
    let err = sign_with_bad_key(
        b"-----BEGIN RSA PRIVATE KEY-----\nProc-Type: 4,ENCRYPTED\nDEK-Info: AES-128-CBC,00112233445566778899AABBCCDDEEFF\n\nAAAA\n-----END RSA PRIVATE KEY-----\n",
    );
    assert!(err.contains("encrypted"), "{err}");
    let public = std::fs::read_to_string(key("ed25519._domainkey.example.org.txt")).unwrap();
    let p = public.trim().rsplit("p=").next().unwrap().to_owned();
    let err = sign_with_bad_key(
        format!("-----BEGIN PUBLIC KEY-----\nMCowBQYDK2VwAyEA{p}\n-----END PUBLIC KEY-----\n")
            .as_bytes(),
    );
    assert!(err.contains("\"PUBLIC KEY\""), "{err}");
    let err = sign_with_bad_key(
        b"-----BEGIN OPENSSH PRIVATE KEY-----\nAAAA\n-----END OPENSSH PRIVATE KEY-----\n",
    );
    assert!(err.contains("OPENSSH PRIVATE KEY"), "{err}");
    let err = sign_with_bad_key(&[0x30, 0x82, 0x04, 0xa4, 0x02, 0x01, 0x00, 0xff]);
    assert!(err.contains("DER"), "{err}");
    let err = sign_with_bad_key(b"just some text\n");
    assert!(err.contains("no PEM block"), "{err}");
    mailstamp()
        .args([
            "sign",
            "--key",
            "/nonexistent/key.pem",
            "--domain",
            "example.org",
        ])
        .args(["--selector", "s", "-"])
        .write_stdin(MESSAGE)
        .assert()
        .code(2)
        .stderr(predicate::str::contains("/nonexistent/key.pem"));
}

#[cfg(unix)]
fn mode(path: &Path) -> u32 {
    use std::os::unix::fs::PermissionsExt as _;
    std::fs::metadata(path).unwrap().permissions().mode() & 0o777
}

fn keygen(dir: &Path, args: &[&str]) -> assert_cmd::assert::Assert {
    mailstamp()
        // RSA key generation in a debug build, on a loaded machine, can take far longer than
        // the default 30 s: prime search time varies a lot.
        .timeout(RSA_KEYGEN_TIMEOUT)
        .current_dir(dir)
        .arg("keygen")
        .args(args)
        .assert()
}

/// Time allowed for `keygen --algorithm rsa` in tests.
pub const RSA_KEYGEN_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(600);

#[test]
fn keygen_writes_0600_and_refuses_to_overwrite() {
    let dir = tempfile::tempdir().unwrap();
    let args = [
        "--domain",
        "example.org",
        "--selector",
        "s1",
        "--algorithm",
        "ed25519",
    ];
    // Without --out: SELECTOR.DOMAIN.pem in the current directory, said on stderr.
    let out = keygen(dir.path(), &args).code(0);
    let path = dir.path().join("s1.example.org.pem");
    let stderr = String::from_utf8_lossy(&out.get_output().stderr).into_owned();
    assert!(
        stderr.contains("private key written to s1.example.org.pem"),
        "{stderr}"
    );
    assert!(stdout(&out).contains("; private key in s1.example.org.pem"));
    assert!(
        !stdout(&out).contains("PRIVATE KEY"),
        "the private key is never printed"
    );
    let pem = std::fs::read_to_string(&path).unwrap();
    assert!(pem.starts_with("-----BEGIN PRIVATE KEY-----\n"));
    #[cfg(unix)]
    assert_eq!(mode(&path), 0o600);

    // A second run refuses, and leaves the file alone.
    keygen(dir.path(), &args)
        .code(2)
        .stdout("")
        .stderr(predicate::str::contains("refusing to overwrite"))
        .stderr(predicate::str::contains("--force"));
    assert_eq!(std::fs::read_to_string(&path).unwrap(), pem);

    // --force replaces it (still 0600, even when the old file was looser).
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt as _;
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o644)).unwrap();
    }
    let mut forced = args.to_vec();
    forced.push("--force");
    keygen(dir.path(), &forced).code(0);
    assert_ne!(std::fs::read_to_string(&path).unwrap(), pem);
    #[cfg(unix)]
    assert_eq!(mode(&path), 0o600);
    let leftovers: Vec<_> = std::fs::read_dir(dir.path())
        .unwrap()
        .map(|e| e.unwrap().file_name())
        .collect();
    assert_eq!(leftovers.len(), 1, "no temporary files left: {leftovers:?}");
}

#[test]
fn rfc8301_3_2_keygen_refuses_small_rsa_keys() {
    let dir = tempfile::tempdir().unwrap();
    for (bits, says) in [
        ("1024", "RFC 8301"),
        ("512", "RFC 8301"),
        ("2047", "RFC 8301"),
        ("5000", "2048, 3072 or 4096"),
    ] {
        keygen(
            dir.path(),
            &["--domain", "example.org", "--selector", "s", "--bits", bits],
        )
        .code(2)
        .stdout("")
        .stderr(predicate::str::contains(says));
    }
    keygen(
        dir.path(),
        &[
            "--domain",
            "example.org",
            "--selector",
            "s",
            "--algorithm",
            "ed25519",
            "--bits",
            "2048",
        ],
    )
    .code(2)
    .stderr(predicate::str::contains("--bits is for RSA"));
    keygen(dir.path(), &["--domain", "bad domain", "--selector", "s"]).code(2);
    keygen(
        dir.path(),
        &["--domain", "example.org", "--selector", "a b"],
    )
    .code(2);
    assert_eq!(
        std::fs::read_dir(dir.path()).unwrap().count(),
        0,
        "no key written"
    );
}

#[test]
fn keygen_formats() {
    let dir = tempfile::tempdir().unwrap();
    let base = |sel: &'static str| {
        vec![
            "--domain",
            "Example.ORG",
            "--selector",
            sel,
            "--algorithm",
            "ed25519",
        ]
    };
    let mut a = base("v1");
    a.extend(["--format", "value", "--testing"]);
    let out = keygen(dir.path(), &a).code(0);
    let value = stdout(&out);
    assert_eq!(value.lines().count(), 1);
    assert!(value.starts_with("v=DKIM1; k=ed25519; t=y; p="), "{value}");
    assert!(dir.path().join("v1.example.org.pem").is_file());

    let mut a = base("j1");
    a.extend(["--format", "json"]);
    let v = json(&keygen(dir.path(), &a).code(0).get_output().stdout);
    assert_eq!(v["name"], "j1._domainkey.example.org.");
    assert_eq!(v["type"], "TXT");
    assert_eq!(v["key_type"], "ed25519");
    assert_eq!(v["bits"], 256);
    assert_eq!(v["testing"], false);
    assert_eq!(v["private_key_file"], "j1.example.org.pem");
    assert!(
        v["value"]
            .as_str()
            .unwrap()
            .starts_with("v=DKIM1; k=ed25519; p=")
    );
    // The global --json means the same.
    let mut cmd = mailstamp();
    let out = cmd
        .current_dir(dir.path())
        .args(["--json", "keygen"])
        .args(base("j2"))
        .assert()
        .code(0);
    assert_eq!(json(&out.get_output().stdout)["selector"], "j2");

    let out = keygen(dir.path(), &base("z1")).code(0);
    let zone = stdout(&out);
    assert!(zone.starts_with("; DKIM key for example.org, selector z1: ed25519, 256 bits"));
    assert!(zone.contains("\nz1._domainkey.example.org. 3600 IN TXT \"v=DKIM1; k=ed25519; p="));
}

#[test]
fn rfc6376_3_6_2_2_keygen_rsa_record_in_255_byte_strings_loads_and_signs() {
    let dir = tempfile::tempdir().unwrap();
    let out = keygen(
        dir.path(),
        &[
            "--domain",
            "example.org",
            "--selector",
            "big",
            "--out",
            "k.pem",
        ],
    )
    .code(0);
    let zone = stdout(&out);
    // The value is split into quoted strings of at most 255 bytes.
    let strings: Vec<&str> = zone.split('"').skip(1).step_by(2).collect();
    assert!(strings.len() >= 2, "{zone}");
    assert!(strings.iter().all(|s| s.len() <= 255));
    assert!(strings.concat().starts_with("v=DKIM1; k=rsa; p=MII"));
    let zone_file = dir.path().join("k.zone");
    std::fs::write(&zone_file, &zone).unwrap();
    let key = dir.path().join("k.pem");

    // keycheck: published and matching.
    let check = |key: &Path, selector: &str| {
        mailstamp()
            .arg("--zone")
            .arg(&zone_file)
            .args([
                "keycheck",
                "--domain",
                "example.org",
                "--selector",
                selector,
            ])
            .arg("--key")
            .arg(key)
            .assert()
    };
    let out = check(&key, "big").code(0);
    let text = stdout(&out);
    assert!(text.contains("key: rsa, 2048 bits"), "{text}");
    assert!(text.contains("matches private key: yes"));
    // The wrong private key: exit 1.
    check(&ed_key(), "big")
        .code(1)
        .stdout(predicate::str::contains("matches private key: NO"));
    // Nothing published at that selector: exit 1.
    check(&key, "missing")
        .code(1)
        .stdout(predicate::str::contains("no key record is published"));

    // Sign with the new key, verify against the printed record.
    let signed = mailstamp()
        .args([
            "sign",
            "--key",
            "k.pem",
            "--domain",
            "example.org",
            "--selector",
            "big",
            "-",
        ])
        .current_dir(dir.path())
        .write_stdin(MESSAGE)
        .assert()
        .code(0)
        .get_output()
        .stdout
        .clone();
    mailstamp()
        .arg("--zone")
        .arg(&zone_file)
        .args(["verify", "-"])
        .write_stdin(signed)
        .assert()
        .code(0)
        .stdout(predicate::str::starts_with(
            "pass d=example.org s=big a=rsa-sha256",
        ));
}

#[test]
fn keycheck_exit_codes_and_json() {
    let zone = |text: &str| {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("z.zone"), text).unwrap();
        dir
    };
    let run = |dir: &Path, extra: &[&str]| {
        mailstamp()
            .arg("--zone")
            .arg(dir.join("z.zone"))
            .args(extra)
            .args([
                "keycheck",
                "--domain",
                "example.org",
                "--selector",
                "ed25519",
            ])
            .assert()
    };
    // The bundled zone and key: match.
    let out = mailstamp()
        .arg("--zone")
        .arg(example_zone())
        .args([
            "--json",
            "keycheck",
            "--domain",
            "example.org",
            "--selector",
            "ed25519",
        ])
        .arg("--key")
        .arg(ed_key())
        .assert()
        .code(0);
    let v = json(&out.get_output().stdout);
    assert_eq!(v["name"], "ed25519._domainkey.example.org");
    assert_eq!(v["parses"], true);
    assert_eq!(v["key_type"], "ed25519");
    assert_eq!(v["bits"], 256);
    assert_eq!(v["matches_private_key"], true);
    assert_eq!(v["usable"], true);
    // Revoked: exit 1.
    let d = zone("$TTL 300\ned25519._domainkey.example.org. IN TXT \"v=DKIM1; k=ed25519; p=\"\n");
    run(d.path(), &[])
        .code(1)
        .stdout(predicate::str::contains("revoked"));
    // Testing flag and syntax error.
    let d = zone(
        "$TTL 300\ned25519._domainkey.example.org. IN TXT \"v=DKIM1; k=ed25519; t=y; p=2svQjliRH51Bw1XsTUmtvdy+NUnmZpiv7e06LqczZy4=\"\n",
    );
    run(d.path(), &[])
        .code(0)
        .stdout(predicate::str::contains("flags: t=y (testing)"))
        .stdout(predicate::str::contains("warning: t=y"));
    let d = zone("$TTL 300\ned25519._domainkey.example.org. IN TXT \"v=DKIM1; k=rsa; p=!!\"\n");
    let out = run(d.path(), &["--json"]).code(1);
    let v = json(&out.get_output().stdout);
    assert_eq!(v["parses"], false);
    assert_eq!(v["findings"][0]["kind"], "invalid");
    assert_eq!(v["findings"][0]["error"], true);
    // DNS failure: exit 3.
    let d = zone("$TTL 300\n$FAIL ed25519._domainkey.example.org. timeout\n");
    run(d.path(), &[])
        .code(3)
        .stdout(predicate::str::contains("DNS lookup failed"));
    // Nothing published: exit 1.
    let d = zone("$TTL 300\nother.example.org. IN TXT \"x\"\n");
    run(d.path(), &[])
        .code(1)
        .stdout(predicate::str::contains("error: no key record"));
    // A bad key file: exit 2, before any lookup.
    mailstamp()
        .arg("--zone")
        .arg(example_zone())
        .args([
            "keycheck",
            "--domain",
            "example.org",
            "--selector",
            "ed25519",
        ])
        .args(["--key", "/nonexistent/key.pem"])
        .assert()
        .code(2)
        .stderr(predicate::str::contains("/nonexistent/key.pem"));
}

#[test]
fn help_snapshots() {
    for command in ["verify", "sign", "keygen", "keycheck"] {
        let out = mailstamp().args([command, "--help"]).assert().code(0);
        insta::assert_snapshot!(format!("help_{command}"), stdout(&out));
    }
}

#[test]
fn rfc8017_pkcs1_keys_sign_and_check() {
    // dkimpy's PKCS#1 ("RSA PRIVATE KEY") test keys; the 2048-bit one published as a bare
    // RSAPublicKey record (no SubjectPublicKeyInfo wrapper).
    let pkcs1 = mailstamp_tests::conformance_file("dkim/dkimpy/2048_testkey.key");
    let record = std::fs::read_to_string(mailstamp_tests::conformance_file(
        "dkim/dkimpy/2048_testkey_wo_markers.pub.rsa.txt",
    ))
    .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let zone = dir.path().join("pkcs1.zone");
    let strings: Vec<String> = mailstamp_dkim::split_txt(record.trim())
        .iter()
        .map(|s| mailstamp_dkim::quote_txt(s))
        .collect();
    std::fs::write(
        &zone,
        format!(
            "$TTL 300\ntest._domainkey.example.org. IN TXT ( {} )\n",
            strings.join(" ")
        ),
    )
    .unwrap();
    let signed = mailstamp()
        .arg("sign")
        .arg("--key")
        .arg(&pkcs1)
        .args(["--domain", "example.org", "--selector", "test", "-"])
        .write_stdin(MESSAGE)
        .assert()
        .code(0)
        .get_output()
        .stdout
        .clone();
    mailstamp()
        .arg("--zone")
        .arg(&zone)
        .args(["verify", "-"])
        .write_stdin(signed)
        .assert()
        .code(0)
        .stdout(predicate::str::starts_with(
            "pass d=example.org s=test a=rsa-sha256: ok\n  key: rsa, 2048 bits\n",
        ));
    mailstamp()
        .arg("--zone")
        .arg(&zone)
        .args([
            "keycheck",
            "--domain",
            "example.org",
            "--selector",
            "test",
            "--key",
        ])
        .arg(&pkcs1)
        .assert()
        .code(0)
        .stdout(predicate::str::contains("matches private key: yes"));
    // RFC 8301 §3.2: mailstamp does not sign with a 1024-bit key.
    mailstamp()
        .arg("sign")
        .arg("--key")
        .arg(mailstamp_tests::conformance_file(
            "dkim/dkimpy/1024_testkey.key",
        ))
        .args(["--domain", "example.org", "--selector", "test", "-"])
        .write_stdin(MESSAGE)
        .assert()
        .code(2)
        .stderr(predicate::str::contains("1024 bits"))
        .stderr(predicate::str::contains("RFC 8301"));
}

/// Issue 17 item 24: `keygen --algorithm ed25519` writes PKCS#8 v1 (RFC 8410 §7), which
/// OpenSSL 3.0 reads (it refuses the v2 form with the public key embedded). Skipped, loudly,
/// when no `openssl` is on the PATH.
#[test]
fn issue_17_24_keygen_ed25519_key_loads_in_openssl() {
    let dir = tempfile::tempdir().unwrap();
    keygen(
        dir.path(),
        &[
            "--domain",
            "example.org",
            "--selector",
            "kv1",
            "--algorithm",
            "ed25519",
        ],
    )
    .code(0);
    let key = dir.path().join("kv1.example.org.pem");
    let Ok(out) = std::process::Command::new("openssl")
        .args(["pkey", "-noout", "-text", "-in"])
        .arg(&key)
        .output()
    else {
        eprintln!("*** SKIPPED: openssl is not installed ***");
        return;
    };
    assert!(
        out.status.success(),
        "openssl pkey refused the key: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(String::from_utf8_lossy(&out.stdout).contains("ED25519 Private-Key"));
}

/// Issue 17 item 18: keycheck and records given key files that exist but are malformed exit 2
/// and name the file.
#[test]
fn issue_17_18_malformed_key_files_in_keycheck_and_records() {
    let dir = tempfile::tempdir().unwrap();
    let bad_base64 = dir.path().join("bad-base64.pem");
    std::fs::write(
        &bad_base64,
        "-----BEGIN PRIVATE KEY-----\nAAAAnotbase64!!\n-----END PRIVATE KEY-----\n",
    )
    .unwrap();
    let not_pem = dir.path().join("not-pem.pem");
    std::fs::write(&not_pem, "hello\n").unwrap();
    let truncated = dir.path().join("truncated.pem");
    std::fs::write(
        &truncated,
        "-----BEGIN PRIVATE KEY-----\nMC4CAQAwBQYDK2VwBCIEIA==\n-----END PRIVATE KEY-----\n",
    )
    .unwrap();
    for file in [&bad_base64, &not_pem, &truncated] {
        let name = file.display().to_string();
        mailstamp()
            .arg("--zone")
            .arg(crate::example_zone())
            .args([
                "keycheck",
                "--domain",
                "example.org",
                "--selector",
                "default",
                "--key",
            ])
            .arg(file)
            .assert()
            .code(2)
            .stdout(predicate::str::is_empty())
            .stderr(predicate::str::contains(format!(
                "cannot load key file {name}"
            )));
        mailstamp()
            .arg("--zone")
            .arg(crate::example_zone())
            .args(["records", "example.org", "--selector", "s", "--dkim-key"])
            .arg(file)
            .assert()
            .code(2)
            .stdout(predicate::str::is_empty())
            .stderr(predicate::str::contains(format!(
                "cannot load key file {name}"
            )));
    }
}
