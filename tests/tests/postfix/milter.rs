//! `mailstamp milter` inside a real Postfix (issue 14, "Tested with the real thing"): the
//! daemon (the `mailstamp` binary) listens on a loopback port, Postfix (its own directory,
//! loopback ports) hands it every message, DNS comes from the loopback DNS server serving
//! `testdata/example.zone`, and what Postfix delivered is read from `smtp-sink`:
//!
//! * outbound mail (the submission listener, `milter_macro_daemon_name=ORIGINATING`) leaves
//!   signed with RSA and Ed25519, and both mailstamp and dkimpy verify it;
//! * inbound mail gets one Authentication-Results field, and three forged ones are removed;
//! * a DMARC-failing message is refused with 550 5.7.1 (enforcement on);
//! * a DNS failure during the check tempfails (451 4.7.5).
//!
//! Needs Postfix and root (see `mailstamp_testkit::postfix`) and dkimpy (`MAILSTAMP_PYTHON`,
//! set by `scripts/test`); a missing part fails the test unless `MAILSTAMP_SKIP_POSTFIX=1` or
//! `MAILSTAMP_SKIP_INTEROP=1` says to skip it.

// Waiting for a child process and a port needs the wall clock.
#![expect(
    clippy::disallowed_methods,
    reason = "waits on the wall clock for processes and ports"
)]

use mailstamp_dns::{FailureKind, Name};
use mailstamp_testkit::TestServer;
use mailstamp_testkit::postfix::{Envelope, PostfixOptions, start_or_skip};
use std::io::Read as _;
use std::net::{IpAddr, Ipv4Addr, TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

const WAIT: Duration = Duration::from_secs(30);
const AUTHSERV_ID: &str = "mx.example.net";

fn testdata() -> PathBuf {
    mailstamp_tests::testdata_dir()
}

/// The `mailstamp` binary of this build.
fn mailstamp_bin() -> PathBuf {
    let path = assert_cmd::cargo::cargo_bin("mailstamp");
    assert!(
        path.is_file(),
        "{} is missing: build it with `cargo build -p mailstamp-cli` (cargo test --workspace does)",
        path.display()
    );
    path
}

fn free_port() -> u16 {
    TcpListener::bind((Ipv4Addr::LOCALHOST, 0))
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("a free loopback port")
}

/// The milter daemon as a child process; killed (SIGTERM, then SIGKILL) on drop, its stderr
/// (the decision log) kept for assertions.
struct Milter {
    child: Option<Child>,
    log: std::sync::Arc<std::sync::Mutex<Vec<u8>>>,
}

impl Milter {
    fn start(config: &Path, port: u16) -> Milter {
        let mut child = Command::new(mailstamp_bin())
            .args(["milter", "--config"])
            .arg(config)
            .env_clear()
            .env("RUST_LOG", "info")
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .expect("start mailstamp milter");
        let log = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
        let mut stderr = child.stderr.take().expect("stderr");
        let sink = log.clone();
        std::thread::spawn(move || {
            let mut buf = [0u8; 4096];
            while let Ok(n) = stderr.read(&mut buf) {
                if n == 0 {
                    break;
                }
                if let Ok(mut l) = sink.lock() {
                    l.extend_from_slice(&buf[..n]);
                }
            }
        });
        let deadline = Instant::now() + WAIT;
        while TcpStream::connect((Ipv4Addr::LOCALHOST, port)).is_err() {
            if let Ok(Some(status)) = child.try_wait() {
                panic!(
                    "mailstamp milter exited with {status}: {}",
                    String::from_utf8_lossy(&log.lock().unwrap())
                );
            }
            assert!(Instant::now() < deadline, "the milter never listened");
            std::thread::sleep(Duration::from_millis(20));
        }
        Milter {
            child: Some(child),
            log,
        }
    }

    fn log(&self) -> String {
        String::from_utf8_lossy(&self.log.lock().unwrap()).into_owned()
    }
}

impl Drop for Milter {
    fn drop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = Command::new("kill")
                .arg("-TERM")
                .arg(child.id().to_string())
                .status();
            let deadline = Instant::now() + Duration::from_secs(10);
            while Instant::now() < deadline {
                if let Ok(Some(_)) = child.try_wait() {
                    return;
                }
                std::thread::sleep(Duration::from_millis(20));
            }
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

/// dkimpy (a missing peer fails unless skipped on purpose: `mailstamp_testkit::interop`).
fn python() -> Option<PathBuf> {
    mailstamp_testkit::interop::python(&dkimpy_helper(), "dkimpy")
}

fn dkimpy_helper() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("interop/dkimpy_helper.py")
}

fn dkimpy_verify(py: &Path, message: &[u8]) -> String {
    let args = std::iter::once("verify".to_owned()).chain(["default", "ed25519"].iter().flat_map(
        |selector| {
            let file = match *selector {
                "default" => "default._domainkey.example.org.txt",
                _ => "ed25519._domainkey.example.org.txt",
            };
            let value =
                std::fs::read_to_string(testdata().join("keys").join(file)).expect("record file");
            [
                "--record".to_owned(),
                format!("{selector}._domainkey.example.org={}", value.trim()),
            ]
        },
    ));
    let out = mailstamp_testkit::interop::run(py, &dkimpy_helper(), args, message);
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        out.status.success(),
        "dkimpy refused the milter's signatures: {text}"
    );
    text
}

/// dkimpy's ARC (`dkim.arc_verify`), through the ARC interop test's helper.
fn arc_python() -> Option<PathBuf> {
    mailstamp_testkit::interop::python(&dkimpy_arc_helper(), "dkimpy's ARC")
}

fn dkimpy_arc_helper() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../crates/arc/tests/arc/dkimpy_arc_helper.py")
}

/// `arc_verify` of dkimpy with the example.org RSA key record; panics unless it says pass.
fn dkimpy_arc_verify(py: &Path, message: &[u8]) -> String {
    let value = std::fs::read_to_string(testdata().join("keys/default._domainkey.example.org.txt"))
        .expect("record file");
    let args = [
        "verify".to_owned(),
        "--record".to_owned(),
        format!("default._domainkey.example.org={}", value.trim()),
    ];
    let out = mailstamp_testkit::interop::run(py, &dkimpy_arc_helper(), args, message);
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        out.status.success(),
        "dkimpy refused the milter's ARC seal: {text}\n{}",
        String::from_utf8_lossy(message)
    );
    text
}

/// Header fields named `name` (case-insensitive), unfolded.
fn fields(message: &str, name: &str) -> Vec<String> {
    let header = message.split("\r\n\r\n").next().unwrap_or_default();
    let mut all: Vec<String> = Vec::new();
    for line in header.split("\r\n") {
        if line.starts_with(' ') || line.starts_with('\t') {
            if let Some(last) = all.last_mut() {
                last.push(' ');
                last.push_str(line.trim());
            }
        } else {
            all.push(line.to_owned());
        }
    }
    let prefix = format!("{}:", name.to_ascii_lowercase());
    all.into_iter()
        .filter(|f| f.to_ascii_lowercase().starts_with(&prefix))
        .collect()
}

#[test]
fn postfix_with_the_milter_signs_verifies_enforces_and_tempfails() {
    // DNS: the example zone, plus a From domain whose DMARC record lookup fails.
    let mut zone = mailstamp_fixture::load(testdata().join("example.zone")).expect("example zone");
    let broken = Name::parse("_dmarc.broken.example").unwrap();
    zone.fail(&broken, FailureKind::ServFail);
    let dns = TestServer::start(zone);

    // Keys readable by their owner only, as the milter requires.
    let dir = tempfile::tempdir().unwrap();
    let mut keys = Vec::new();
    for (file, selector) in [
        ("default._domainkey.example.org.rsa2048.pem", "default"),
        ("ed25519._domainkey.example.org.pem", "ed25519"),
    ] {
        let to = dir.path().join(file);
        std::fs::copy(testdata().join("keys").join(file), &to).unwrap();
        use std::os::unix::fs::PermissionsExt as _;
        std::fs::set_permissions(&to, std::fs::Permissions::from_mode(0o600)).unwrap();
        keys.push((selector, to));
    }
    let port = free_port();
    let mut config = format!(
        "listen = \"inet:127.0.0.1:{port}\"\n\
         authserv_id = \"{AUTHSERV_ID}\"\n\
         internal_networks = [\"10.255.255.0/24\"]\n\
         dns_failure = \"tempfail\"\n\
         run_as_root = true\n\
         [daemons]\nORIGINATING = \"sign\"\n"
    );
    for (selector, key) in &keys {
        config.push_str(&format!(
            "[[signing]]\ndomain = \"example.org\"\nselector = \"{selector}\"\nkey = \"{}\"\n",
            key.display()
        ));
    }
    // Issue 15: seal what it verifies and relays, with the RSA key (dkimpy's ARC has no
    // ed25519-sha256).
    config.push_str(&format!(
        "[arc_seal]\ndomain = \"example.org\"\nselector = \"default\"\nkey = \"{}\"\n",
        keys[0].1.display()
    ));
    config.push_str(&format!(
        "[dmarc]\nenforce = true\n[dns]\nnameservers = [\"{}\"]\ntimeout_ms = 2000\nattempts = 1\n",
        dns.addr()
    ));
    let config_file = dir.path().join("milter.toml");
    std::fs::write(&config_file, &config).unwrap();
    let milter = Milter::start(&config_file, port);

    let Some(postfix) = start_or_skip(PostfixOptions::with_milter(format!(
        "inet:127.0.0.1:{port}"
    ))) else {
        return;
    };

    // 1. Outbound: through the submission listener (daemon name ORIGINATING), signed.
    let outbound = b"From: Alice <alice@example.org>\r\n\
To: Bob <bob@example.com>\r\n\
Subject: outbound through the milter\r\n\
Date: Thu, 15 Jan 2026 10:30:00 +0100\r\n\
Message-ID: <milter-e2e.1@example.org>\r\n\
\r\n\
Hello Bob,\r\nsigned by mailstamp milter inside Postfix.\r\n";
    let sent = postfix
        .send_with(
            postfix.submission_port(),
            &Envelope::new("alice@example.org", &["bob@example.com"]),
            outbound,
        )
        .expect("SMTP to the submission listener");
    assert!(sent.accepted(), "{sent:?}\n{}", milter.log());
    let delivered = postfix.wait_delivered(WAIT);
    assert_eq!(delivered.len(), 1, "{}", postfix.maillog());
    let signed = String::from_utf8_lossy(&delivered[0]).into_owned();
    let signatures = fields(&signed, "DKIM-Signature");
    assert_eq!(signatures.len(), 2, "{signed}");
    assert!(
        signatures.iter().any(|s| s.contains("a=rsa-sha256")),
        "{signed}"
    );
    assert!(
        signatures.iter().any(|s| s.contains("a=ed25519-sha256")),
        "{signed}"
    );
    // mailstamp verifies what Postfix delivered…
    let verify = Command::new(mailstamp_bin())
        .arg("--zone")
        .arg(testdata().join("example.zone"))
        .args(["verify", "-"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    {
        use std::io::Write as _;
        verify
            .stdin
            .as_ref()
            .unwrap()
            .write_all(&delivered[0])
            .unwrap();
    }
    let out = verify.wait_with_output().unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{text}");
    assert!(text.matches("pass").count() >= 2, "{text}");
    // …and so does dkimpy.
    if let Some(py) = python() {
        let said = dkimpy_verify(&py, &delivered[0]);
        assert_eq!(said.matches(" pass ").count(), 2, "{said}");
    }

    // 2. Inbound: the example message from its real sender, with three forged fields claiming
    //    our authserv-id (one of them unparseable) and a foreign one.
    let mut inbound = format!(
        "Authentication-Results: {AUTHSERV_ID}; dkim=pass header.d=evil.example\r\n\
Authentication-Results: upstream.example; spf=pass smtp.mailfrom=example.org\r\n\
Authentication-Results: MX.EXAMPLE.NET; dmarc=pass header.from=example.org\r\n\
Authentication-Results: dkim=pass\r\n"
    )
    .into_bytes();
    inbound.extend_from_slice(&std::fs::read(testdata().join("messages/signed.eml")).unwrap());
    let envelope = Envelope {
        helo: "mail.example.org".into(),
        client_addr: Some(IpAddr::V4(Ipv4Addr::new(192, 0, 2, 25))),
        client_name: Some("mail.example.org".into()),
        ..Envelope::new("alice@example.org", &["bob@example.com"])
    };
    let sent = postfix
        .send_with(postfix.smtp_port(), &envelope, &inbound)
        .expect("SMTP to the MX listener");
    assert!(sent.accepted(), "{sent:?}\n{}", milter.log());
    let delivered = postfix.wait_delivered(WAIT);
    assert_eq!(delivered.len(), 2, "{}", postfix.maillog());
    let checked = String::from_utf8_lossy(&delivered[1]).into_owned();
    let results = fields(&checked, "Authentication-Results");
    let ours: Vec<&String> = results
        .iter()
        .filter(|f| f.to_ascii_lowercase().contains(AUTHSERV_ID))
        .collect();
    assert_eq!(
        ours.len(),
        1,
        "one field of ours, the forged ones gone: {results:#?}"
    );
    let ours = ours[0];
    assert!(ours.contains("spf=pass"), "{ours}");
    assert!(ours.contains("dkim=pass"), "{ours}");
    assert!(ours.contains("dmarc=pass"), "{ours}");
    assert!(
        results
            .iter()
            .any(|f| f.contains("upstream.example; spf=pass")),
        "the foreign field stays: {results:#?}"
    );
    assert!(
        !results
            .iter()
            .any(|f| f.trim_end() == "Authentication-Results: dkim=pass"),
        "the unparseable field is removed: {results:#?}"
    );
    // It left sealed (issue 15): one ARC set, cv=none, the AAR our verdict; mailstamp and
    // dkimpy's arc_verify both say pass.
    let seals = fields(&checked, "ARC-Seal");
    assert_eq!(seals.len(), 1, "{checked}");
    assert!(
        seals[0].contains("cv=none") && seals[0].contains("d=example.org"),
        "{seals:?}"
    );
    let aar = fields(&checked, "ARC-Authentication-Results");
    assert!(
        aar.len() == 1 && aar[0].contains("i=1; mx.example.net;") && aar[0].contains("dmarc=pass"),
        "{aar:?}"
    );
    let verify = Command::new(mailstamp_bin())
        .arg("--zone")
        .arg(testdata().join("example.zone"))
        .args(["--json", "arc", "verify", "-"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    {
        use std::io::Write as _;
        verify
            .stdin
            .as_ref()
            .unwrap()
            .write_all(&delivered[1])
            .unwrap();
    }
    let out = verify.wait_with_output().unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{text}");
    assert!(text.contains("\"pass\""), "{text}");
    if let Some(py) = arc_python() {
        let said = dkimpy_arc_verify(&py, &delivered[1]);
        assert!(said.starts_with("cv=pass"), "{said}");
    }

    // 3. DMARC fails with p=reject: refused with 550 5.7.1 at the end of the data.
    let forwarded = std::fs::read(testdata().join("messages/forwarded-by-list.eml")).unwrap();
    let envelope = Envelope {
        helo: "h.example".into(),
        client_addr: Some(IpAddr::V4(Ipv4Addr::new(203, 0, 113, 9))),
        client_name: None,
        ..Envelope::new("a@evil.example", &["bob@example.com"])
    };
    let refused = postfix
        .send_with(postfix.smtp_port(), &envelope, &forwarded)
        .expect("SMTP");
    assert!(refused.rejected(), "{refused:?}\n{}", milter.log());
    assert_eq!(refused.code, 550, "{refused:?}");
    assert_eq!(refused.enhanced_code(), Some("5.7.1"), "{refused:?}");

    // 4. The From domain's DMARC record cannot be looked up (SERVFAIL): tempfail, never a pass.
    let dns_trouble = b"From: someone@broken.example\r\n\
To: bob@example.com\r\n\
Subject: DNS trouble\r\n\
\r\n\
body\r\n";
    let envelope = Envelope {
        helo: "h.example".into(),
        client_addr: Some(IpAddr::V4(Ipv4Addr::new(203, 0, 113, 10))),
        client_name: None,
        ..Envelope::new("someone@broken.example", &["bob@example.com"])
    };
    let tempfailed = postfix
        .send_with(postfix.smtp_port(), &envelope, dns_trouble)
        .expect("SMTP");
    assert!(tempfailed.tempfailed(), "{tempfailed:?}\n{}", milter.log());
    assert_eq!(tempfailed.code, 451, "{tempfailed:?}");
    assert_eq!(tempfailed.enhanced_code(), Some("4.7.5"), "{tempfailed:?}");
    // Nothing else reached the sink.
    assert_eq!(postfix.wait_delivered(Duration::from_secs(2)).len(), 2);
}
