//! `mailstamp milter` (issue 14): `--check-config` on the bundled example and on bad files,
//! `--explain`, and the daemon itself on a unix socket (readiness, SIGTERM).

use crate::{example_zone, mailstamp};
use predicates::prelude::*;
use std::os::unix::fs::PermissionsExt as _;
use std::path::{Path, PathBuf};

fn example() -> PathBuf {
    mailstamp_tests::testdata_dir().join("../crates/milter-server/examples/milter.toml")
}

/// The example configuration with its key paths pointing at copies (mode 0600) of the test
/// keys in `dir`.
fn example_in(dir: &Path) -> PathBuf {
    let keys = mailstamp_tests::testdata_dir().join("keys");
    let text = std::fs::read_to_string(example()).unwrap();
    for (from, to) in [
        (
            "ed25519._domainkey.example.org.pem",
            "ed25519.example.org.pem",
        ),
        (
            "default._domainkey.example.org.rsa2048.pem",
            "default.example.org.pem",
        ),
    ] {
        let dest = dir.join(to);
        std::fs::copy(keys.join(from), &dest).unwrap();
        std::fs::set_permissions(&dest, std::fs::Permissions::from_mode(0o600)).unwrap();
    }
    let text = text.replace("/etc/mailstamp/keys/", &format!("{}/", dir.display()));
    let path = dir.join("milter.toml");
    std::fs::write(&path, text).unwrap();
    path
}

#[test]
fn check_config_accepts_the_example_and_checks_every_key_against_dns() {
    let dir = tempfile::tempdir().unwrap();
    let config = example_in(dir.path());
    mailstamp()
        .arg("--zone")
        .arg(example_zone())
        .args(["milter", "--check-config", "--config"])
        .arg(&config)
        .assert()
        .code(0)
        .stdout(predicate::str::contains("configuration ok"))
        .stdout(predicate::str::contains("s=ed25519").and(predicate::str::contains("s=default")))
        .stdout(predicate::str::contains("the published record matches the key").count(2));
    // A key readable by others disables its entry: exit 2, naming the path and the mode.
    let rsa = dir.path().join("default.example.org.pem");
    std::fs::set_permissions(&rsa, std::fs::Permissions::from_mode(0o644)).unwrap();
    mailstamp()
        .arg("--zone")
        .arg(example_zone())
        .args(["milter", "--check-config", "--config"])
        .arg(&config)
        .assert()
        .code(2)
        .stdout(predicate::str::contains("default.example.org.pem"))
        .stdout(predicate::str::contains("0644"));
}

/// Issue 15: the `[arc_seal]` key is checked like a signing key: against its record, and
/// refused when others may read it.
#[test]
fn check_config_checks_the_arc_seal_key() {
    let dir = tempfile::tempdir().unwrap();
    let config = example_in(dir.path());
    let key = dir.path().join("arc.pem");
    std::fs::copy(dir.path().join("ed25519.example.org.pem"), &key).unwrap();
    std::fs::set_permissions(&key, std::fs::Permissions::from_mode(0o600)).unwrap();
    let mut text = std::fs::read_to_string(&config).unwrap();
    text.push_str(&format!(
        "\n[arc_seal]\ndomain = \"example.org\"\nselector = \"ed25519\"\nkey = \"{}\"\n",
        key.display()
    ));
    std::fs::write(&config, &text).unwrap();
    mailstamp()
        .arg("--zone")
        .arg(example_zone())
        .args(["milter", "--check-config", "--config"])
        .arg(&config)
        .assert()
        .code(0)
        .stdout(predicate::str::contains("ok: [arc_seal] at line"))
        .stdout(predicate::str::contains("the published record matches the key").count(3));
    // --explain says which mail is sealed.
    mailstamp()
        .args(["milter", "--explain", "--from", "x@other.example"])
        .args(["--client", "192.0.2.1", "--config"])
        .arg(&config)
        .assert()
        .code(0)
        .stdout(predicate::str::contains(
            "ARC seal: yes, d=example.org s=ed25519",
        ));
    mailstamp()
        .args(["milter", "--explain", "--from", "alice@example.org"])
        .args(["--auth", "alice", "--config"])
        .arg(&config)
        .assert()
        .code(0)
        .stdout(predicate::str::contains(
            "ARC seal: no (only mail the milter verifies",
        ));
    // The selector of the other key: its record is not this key's.
    std::fs::write(
        &config,
        text.replace(
            "[arc_seal]\ndomain = \"example.org\"\nselector = \"ed25519\"",
            "[arc_seal]\ndomain = \"example.org\"\nselector = \"default\"",
        ),
    )
    .unwrap();
    mailstamp()
        .arg("--zone")
        .arg(example_zone())
        .args(["milter", "--check-config", "--config"])
        .arg(&config)
        .assert()
        .code(1)
        .stdout(predicate::str::contains("error: [arc_seal]"));
    std::fs::set_permissions(&key, std::fs::Permissions::from_mode(0o640)).unwrap();
    mailstamp()
        .arg("--zone")
        .arg(example_zone())
        .args(["milter", "--check-config", "--config"])
        .arg(&config)
        .assert()
        .code(2)
        .stdout(predicate::str::contains("[arc_seal]").and(predicate::str::contains("0640")));
}

#[test]
fn check_config_reports_a_record_that_does_not_match_and_dns_failures() {
    let dir = tempfile::tempdir().unwrap();
    let config = example_in(dir.path());
    // Swap the keys: each selector's record now belongs to the other key.
    let text = std::fs::read_to_string(&config).unwrap();
    let swapped = text
        .replace("selector = \"ed25519\"", "selector = \"TMP\"")
        .replace("selector = \"default\"", "selector = \"ed25519\"")
        .replace("selector = \"TMP\"", "selector = \"default\"");
    std::fs::write(&config, swapped).unwrap();
    mailstamp()
        .arg("--zone")
        .arg(example_zone())
        .args(["milter", "--check-config", "--config"])
        .arg(&config)
        .assert()
        .code(1)
        .stdout(predicate::str::contains("not this key's public half"));
    // A zone that fails every lookup: exit 3.
    let zone = dir.path().join("fail.zone");
    std::fs::write(
        &zone,
        "$TTL 300\n$ORIGIN example.org.\n@ IN TXT \"x\"\n$FAIL ed25519._domainkey.example.org. servfail\n$FAIL default._domainkey.example.org. servfail\n",
    )
    .unwrap();
    std::fs::write(&config, text).unwrap();
    mailstamp()
        .arg("--zone")
        .arg(&zone)
        .args(["milter", "--check-config", "--config"])
        .arg(&config)
        .assert()
        .code(3)
        .stdout(predicate::str::contains("temperror"));
}

#[test]
fn bad_configurations_exit_2_naming_file_and_line() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("bad.toml");
    std::fs::write(
        &path,
        "authserv_id = \"mx.example.net\"\n\n[dmarc]\nenforse = true\n",
    )
    .unwrap();
    mailstamp()
        .args(["milter", "--check-config", "--config"])
        .arg(&path)
        .assert()
        .code(2)
        .stderr(predicate::str::contains(format!("{}:4:1:", path.display())))
        .stderr(predicate::str::contains("enforse"));
    std::fs::write(
        &path,
        "authserv_id = \"mx\"\ninternal_networks = [\"10.0.0.0/40\"]\n",
    )
    .unwrap();
    mailstamp()
        .args(["milter", "--check-config", "--config"])
        .arg(&path)
        .assert()
        .code(2)
        .stderr(predicate::str::contains(format!("{}:2:", path.display())));
    mailstamp()
        .args(["milter", "--check-config", "--config"])
        .arg(dir.path().join("missing.toml"))
        .assert()
        .code(2)
        .stderr(predicate::str::contains("missing.toml"));
}

#[test]
fn explain_shows_mode_rule_keys_and_misaligned_signing_domains() {
    let dir = tempfile::tempdir().unwrap();
    let config = example_in(dir.path());
    mailstamp()
        .args([
            "milter",
            "--explain",
            "--from",
            "alice@example.org",
            "--auth",
            "alice",
            "--config",
        ])
        .arg(&config)
        .assert()
        .code(0)
        .stdout(predicate::str::contains(
            "originated by us: yes (authenticated)",
        ))
        .stdout(predicate::str::contains("action: sign"))
        .stdout(predicate::str::contains("signing rule: example.org"))
        .stdout(predicate::str::contains(
            "d=example.org s=ed25519 ed25519-sha256",
        ))
        .stdout(predicate::str::contains("warning").not());
    mailstamp()
        .args([
            "milter",
            "--explain",
            "--from",
            "x@other.example",
            "--client",
            "192.0.2.1",
            "--config",
        ])
        .arg(&config)
        .assert()
        .code(0)
        .stdout(predicate::str::contains("action: verify"))
        .stdout(predicate::str::contains("DMARC enforcement: off"));
    // A wildcard rule signing with another domain's d=: warned.
    let text = std::fs::read_to_string(&config).unwrap();
    let wild = text.replacen(
        "domain = \"example.org\"",
        "domain = \"*\"\nsigning_domain = \"example.org\"",
        1,
    );
    std::fs::write(&config, wild).unwrap();
    mailstamp()
        .args([
            "milter",
            "--explain",
            "--from",
            "x@other.example",
            "--daemon",
            "ORIGINATING",
            "--config",
        ])
        .arg(&config)
        .assert()
        .code(0)
        .stdout(predicate::str::contains("mode: sign"))
        .stdout(predicate::str::contains("signing rule: *"))
        .stdout(predicate::str::contains(
            "warning: d=example.org does not align with the From domain other.example",
        ));
}

#[test]
fn the_daemon_notifies_readiness_and_stops_on_sigterm() {
    let dir = tempfile::tempdir().unwrap();
    let sock = dir.path().join("milter.sock");
    let notify = dir.path().join("notify");
    let rx = std::os::unix::net::UnixDatagram::bind(&notify).unwrap();
    rx.set_read_timeout(Some(std::time::Duration::from_secs(20)))
        .unwrap();
    let config = dir.path().join("milter.toml");
    std::fs::write(
        &config,
        format!(
            "listen = \"unix:{}\"\nauthserv_id = \"mx.example.net\"\nrun_as_root = true\n[dns]\nnameservers = [\"127.0.0.1:9\"]\n",
            sock.display()
        ),
    )
    .unwrap();
    let bin = assert_cmd::cargo::cargo_bin("mailstamp");
    let child = std::process::Command::new(bin)
        .args(["milter", "--config"])
        .arg(&config)
        .env_clear()
        .env("NOTIFY_SOCKET", &notify)
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let mut buf = [0u8; 256];
    let n = rx.recv(&mut buf).expect("READY=1 within 20 s");
    let ready = String::from_utf8_lossy(&buf[..n]).into_owned();
    assert!(ready.starts_with("READY=1"), "{ready}");
    assert!(ready.contains(&sock.display().to_string()), "{ready}");
    let mode = std::fs::metadata(&sock).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode, 0o660);
    // A connection that negotiates gets an answer.
    use std::io::{Read as _, Write as _};
    let mut s = std::os::unix::net::UnixStream::connect(&sock).unwrap();
    s.write_all(&[
        0, 0, 0, 13, b'O', 0, 0, 0, 6, 0, 0, 1, 0xff, 0, 0x1f, 0xff, 0xff,
    ])
    .unwrap();
    let mut reply = [0u8; 5];
    s.read_exact(&mut reply).unwrap();
    assert_eq!(reply[4], b'O');
    drop(s);
    let status = std::process::Command::new("kill")
        .arg("-TERM")
        .arg(child.id().to_string())
        .status()
        .unwrap();
    assert!(status.success());
    let out = child.wait_with_output().unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{stderr}");
    assert!(stderr.contains("SIGTERM"), "{stderr}");
    assert!(!sock.exists());
    let n = rx.recv(&mut buf).unwrap();
    assert_eq!(&buf[..n], b"STOPPING=1");
}
