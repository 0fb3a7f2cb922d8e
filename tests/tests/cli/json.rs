//! Issue 17 item 18: the JSON output of every command, as a whole-document snapshot (JSON keys
//! are a contract; a snapshot shows any change to them, or to a value, in review). Runs are
//! offline over the repository's fixtures with a fixed clock; paths of temporary files are
//! replaced by `[TMP]`.

use crate::mailstamp;
use mailstamp_tests::testdata_dir;
use serde_json::Value;

/// The signing time of the example messages, 2026-01-15.
const NOW: &str = "1768469400";

fn run_json(args: &[&str], expected_code: i32) -> String {
    let out = mailstamp()
        .args(["--json", "--now", NOW])
        .args(args)
        .current_dir(testdata_dir())
        .assert()
        .code(expected_code);
    let text = String::from_utf8(out.get_output().stdout.clone()).unwrap();
    // One document (possibly pretty-printed), or one per line for bulk runs: pretty-print each.
    if let Ok(v) = serde_json::from_str::<Value>(&text) {
        return serde_json::to_string_pretty(&v).unwrap();
    }
    text.lines()
        .map(|line| {
            let v: Value = serde_json::from_str(line)
                .unwrap_or_else(|e| panic!("{args:?}: not JSON ({e}): {line}"));
            serde_json::to_string_pretty(&v).unwrap()
        })
        .collect::<Vec<_>>()
        .join("\n")
}

const ENVELOPE: [&str; 6] = [
    "--ip",
    "192.0.2.25",
    "--helo",
    "mail.example.org",
    "--mail-from",
    "alice@example.org",
];

#[test]
fn json_check() {
    let mut args = vec![
        "--zone",
        "example.zone",
        "check",
        "messages/signed.eml",
        "--authserv-id",
        "mx.example.net",
    ];
    args.extend(ENVELOPE);
    insta::assert_snapshot!("json_check_pass", run_json(&args, 0));
    let args = [
        "--zone",
        "example.zone",
        "check",
        "messages/forwarded-by-list.eml",
        "--authserv-id",
        "mx.example.net",
    ];
    insta::assert_snapshot!("json_check_forwarded", run_json(&args, 1));
}

#[test]
fn json_verify_dmarc_spf_dns() {
    insta::assert_snapshot!(
        "json_verify",
        run_json(
            &["--zone", "example.zone", "verify", "messages/signed.eml"],
            0
        )
    );
    insta::assert_snapshot!(
        "json_dmarc_policy",
        run_json(&["--zone", "example.zone", "dmarc", "example.org"], 0)
    );
    insta::assert_snapshot!(
        "json_dmarc_evaluation",
        run_json(
            &[
                "--zone",
                "example.zone",
                "dmarc",
                "example.org",
                "--spf",
                "pass:bounce.example.org",
                "--dkim",
                "fail:example.org",
            ],
            0
        )
    );
    insta::assert_snapshot!(
        "json_spf",
        run_json(
            &[
                "--zone",
                "example.zone",
                "spf",
                "--ip",
                "192.0.2.25",
                "--mail-from",
                "alice@example.org",
            ],
            0
        )
    );
    insta::assert_snapshot!(
        "json_dns",
        run_json(&["--zone", "example.zone", "dns", "example.org", "TXT"], 0)
    );
}

#[test]
fn json_keys_records_audit() {
    insta::assert_snapshot!(
        "json_keycheck",
        run_json(
            &[
                "--zone",
                "example.zone",
                "keycheck",
                "--domain",
                "example.org",
                "--selector",
                "default",
                "--key",
                "keys/default._domainkey.example.org.rsa2048.pem",
            ],
            0
        )
    );
    insta::assert_snapshot!(
        "json_records",
        run_json(
            &[
                "--zone",
                "example.zone",
                "records",
                "example.org",
                "--spf-mx",
                "--spf-ip4",
                "192.0.2.0/24",
                "--dmarc-policy",
                "reject",
                "--dmarc-rua",
                "mailto:dmarc@example.org",
                "--dkim-key",
                "keys/ed25519._domainkey.example.org.pem",
                "--selector",
                "ed25519",
                "--format",
                "json",
            ],
            0
        )
    );
    insta::assert_snapshot!(
        "json_audit",
        run_json(
            &["--zone", "broken.example.zone", "audit", "broken.example"],
            1
        )
    );
}

#[test]
fn json_sign_and_keygen() {
    insta::assert_snapshot!(
        "json_sign",
        run_json(
            &[
                "sign",
                "messages/forwarded-by-list.eml",
                "--key",
                "keys/ed25519._domainkey.example.org.pem",
                "--domain",
                "example.org",
                "--selector",
                "ed25519",
            ],
            0
        )
    );
    // keygen: the key is random; its record's shape and every key is checked instead.
    let dir = tempfile::tempdir().unwrap();
    let key = dir.path().join("k.pem");
    let out = mailstamp()
        .args([
            "--json",
            "keygen",
            "--domain",
            "example.org",
            "--selector",
            "s1",
        ])
        .args(["--algorithm", "ed25519", "--out"])
        .arg(&key)
        .assert()
        .code(0);
    let v: Value = serde_json::from_slice(&out.get_output().stdout).unwrap();
    let mut keys: Vec<&str> = v.as_object().unwrap().keys().map(String::as_str).collect();
    keys.sort_unstable();
    insta::assert_snapshot!("json_keygen_keys", keys.join("\n"));
}
