//! `mailstamp milter` as a running daemon (issues 14 and 16): DMARC evaluations recorded in
//! SQLite and PostgreSQL and then reported by `mailstamp report generate`, a verdict store
//! that is down (mail flows, one log line, a counter), privileges dropped to `nobody` (as
//! root), systemd notifications around a reload, and the missing-macro warning. DNS comes
//! from the test kit's loopback server; the MTA is the test kit's milter load generator.

use crate::mailstamp;
use mailstamp_testkit::dns_server::TestServer;
use mailstamp_testkit::milter_load::{Load, LoadReport, run};
use std::os::unix::fs::PermissionsExt as _;
use std::os::unix::net::UnixDatagram;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

fn dns() -> TestServer {
    let zone = mailstamp_fixture::load(crate::example_zone()).expect("example zone");
    TestServer::start(zone)
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// The daemon as a child process with `NOTIFY_SOCKET` pointing at a datagram socket of the
/// test; its log (stderr) goes to a file. Killed on drop if still running.
struct Daemon {
    child: Option<Child>,
    notify: UnixDatagram,
    log: PathBuf,
    config: PathBuf,
}

impl Daemon {
    /// Writes `config` into `dir`, starts the daemon and waits for `READY=1`.
    fn start(dir: &Path, config: &str) -> Daemon {
        let path = dir.join("milter.toml");
        std::fs::write(&path, config).unwrap();
        let notify_path = dir.join("notify");
        let notify = UnixDatagram::bind(&notify_path).unwrap();
        // Reachable after the daemon dropped its privileges (systemd's socket is too).
        std::fs::set_permissions(&notify_path, std::fs::Permissions::from_mode(0o777)).unwrap();
        notify
            .set_read_timeout(Some(Duration::from_secs(20)))
            .unwrap();
        let log = dir.join("milter.log");
        let child = Command::new(assert_cmd::cargo::cargo_bin("mailstamp"))
            .args(["milter", "--config"])
            .arg(&path)
            .env_clear()
            .env("NOTIFY_SOCKET", &notify_path)
            .env("RUST_LOG", "info")
            .stdout(Stdio::null())
            .stderr(std::fs::File::create(&log).unwrap())
            .spawn()
            .unwrap();
        let mut d = Daemon {
            child: Some(child),
            notify,
            log,
            config: path,
        };
        let ready = d.notification();
        assert!(ready.starts_with("READY=1"), "{ready}\n{}", d.log());
        d
    }

    /// The next notification (20 s at most).
    fn notification(&mut self) -> String {
        let mut buf = [0u8; 512];
        match self.notify.recv(&mut buf) {
            Ok(n) => String::from_utf8_lossy(&buf[..n]).into_owned(),
            Err(e) => {
                let status = self
                    .child
                    .as_mut()
                    .and_then(|c| c.try_wait().ok().flatten());
                panic!(
                    "no notification from the milter ({e}; exited: {status:?}):\n{}",
                    self.log()
                )
            }
        }
    }

    fn pid(&self) -> u32 {
        self.child.as_ref().unwrap().id()
    }

    fn signal(&self, name: &str) {
        let ok = Command::new("kill")
            .arg(format!("-{name}"))
            .arg(self.pid().to_string())
            .status()
            .unwrap()
            .success();
        assert!(ok, "kill -{name}");
    }

    fn log(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }

    /// SIGTERM; waits for a clean exit and returns the log.
    fn stop(mut self) -> String {
        self.signal("TERM");
        let status = self.child.take().unwrap().wait().unwrap();
        let log = self.log();
        assert!(status.success(), "{status}\n{log}");
        log
    }
}

impl Drop for Daemon {
    fn drop(&mut self) {
        if let Some(mut c) = self.child.take() {
            let _ = c.kill();
            let _ = c.wait();
        }
    }
}

/// `n` inbound messages from alice@example.org through 192.0.2.1 (SPF pass, DMARC pass at
/// example.org) on `connections` connections (the messages are spread over them).
fn send_inbound(port: u16, connections: usize, messages: usize) -> LoadReport {
    let load = Load {
        connections,
        messages,
        client_ip: "192.0.2.1".into(),
        mail_from: "alice@example.org".into(),
        headers: vec![
            ("From".into(), "Alice <alice@example.org>".into()),
            ("To".into(), "bob@example.net".into()),
            ("Subject".into(), "recorded".into()),
        ],
        body: b"Hello Bob.\r\n".to_vec(),
    };
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap()
        .block_on(run(([127, 0, 0, 1], port).into(), load))
        .expect("the milter answered every message")
}

fn base_config(port: u16, dns: &TestServer, extra: &str) -> String {
    format!(
        "listen = \"inet:127.0.0.1:{port}\"\n\
         authserv_id = \"mx.example.net\"\n\
         internal_networks = [\"10.255.0.0/16\"]\n\
         run_as_root = true\n\
         {extra}\n\
         [dns]\nnameservers = [\"{}\"]\ntimeout_ms = 2000\nattempts = 1\n",
        dns.addr()
    )
}

/// `report generate` one day after now: the period holding the messages is complete.
/// Returns the messages of the one report written.
fn generate_report(store: &str, out: &Path) -> u64 {
    std::fs::create_dir_all(out).unwrap();
    let now = std::time::SystemTime::UNIX_EPOCH
        .elapsed()
        .unwrap()
        .as_secs()
        + 2 * 86_400;
    mailstamp()
        .args(["report", "generate", "--store", store])
        .args([
            "--org-name",
            "Receiver Test",
            "--email",
            "dmarc@receiver.example",
        ])
        .args(["--now", &now.to_string(), "--out"])
        .arg(out)
        .assert()
        .success();
    let files: Vec<PathBuf> = std::fs::read_dir(out)
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    assert_eq!(files.len(), 1, "{files:?}");
    let name = files[0].file_name().unwrap().to_string_lossy().into_owned();
    assert!(name.starts_with("receiver.example!example.org!"), "{name}");
    let (reports, diags) =
        mailstamp_reports::parse(&files[0], mailstamp_reports::ParseOptions::default());
    assert!(diags.items.is_empty(), "{:?}", diags.items);
    let mailstamp_reports::Report::Aggregate(r) = &reports[0] else {
        panic!("not an aggregate report");
    };
    r.messages()
}

/// Three messages through the daemon recording into `store`; then the store holds them and
/// `report generate` reports them.
fn record_and_report(store: &str) {
    let dns = dns();
    let dir = tempfile::tempdir().unwrap();
    let port = free_port();
    let d = Daemon::start(
        dir.path(),
        &base_config(port, &dns, &format!("record = \"{store}\"")),
    );
    let sent = send_inbound(port, 1, 3);
    assert_eq!((sent.messages, sent.refused), (3, 0));
    // One Authentication-Results field per message.
    assert_eq!(sent.modifications, 3);
    let log = d.stop();
    assert!(log.contains("recording DMARC evaluations"), "{log}");
    assert!(!log.contains("NOT recorded"), "{log}");
    let s = mailstamp_reports::store::Store::open(store).unwrap();
    assert_eq!(s.count().unwrap(), 3, "{log}");
    let e = &s.evaluations("example.org", 0, i64::MAX).unwrap()[0];
    assert_eq!(e.source_ip, "192.0.2.1");
    assert_eq!(e.dmarc_result, "pass");
    assert!(e.spf_aligned);
    assert_eq!(e.policy_p.as_deref(), Some("reject"));
    drop(s);
    assert_eq!(generate_report(store, &dir.path().join("reports")), 3);
}

#[test]
fn the_milter_records_verdicts_in_sqlite_and_report_generate_reports_them() {
    let dir = tempfile::tempdir().unwrap();
    record_and_report(dir.path().join("verdicts.sqlite").to_str().unwrap());
}

#[test]
fn the_milter_records_verdicts_in_postgres_and_report_generate_reports_them() {
    let Some(server) = super::report_postgres::Server::start() else {
        return;
    };
    record_and_report(&server.url());
}

#[test]
fn a_store_that_is_down_logs_once_counts_and_lets_mail_through() {
    let dns = dns();
    let refused = format!(
        "postgres://mailstamp:secret@127.0.0.1:{}/verdicts",
        free_port()
    );
    let tmp = tempfile::tempdir().unwrap();
    let unwritable = tmp.path().join("no-such-directory/verdicts.sqlite");
    for (store, shown) in [
        (
            unwritable.display().to_string(),
            unwritable.display().to_string(),
        ),
        (refused.clone(), refused.replace(":secret", "")),
    ] {
        let dir = tempfile::tempdir().unwrap();
        let port = free_port();
        let metrics = free_port();
        let d = Daemon::start(
            dir.path(),
            &base_config(
                port,
                &dns,
                &format!("record = \"{store}\"\n[metrics]\nlisten = \"127.0.0.1:{metrics}\""),
            ),
        );
        // Two connections, two messages each: all accepted, each with its field.
        let sent = send_inbound(port, 2, 2);
        assert_eq!((sent.messages, sent.refused, sent.modifications), (4, 0, 4));
        // The writer has given up on each batch by the time the counter says 4.
        let mut text = String::new();
        for _ in 0..100 {
            text = http_get(metrics, "/metrics");
            if text.contains("mailstamp_milter_records_dropped_total 4\n") {
                break;
            }
            std::thread::sleep(Duration::from_millis(100));
        }
        assert!(
            text.contains("mailstamp_milter_records_dropped_total 4\n"),
            "{text}"
        );
        assert!(text.contains("mailstamp_milter_records_written_total 0\n"));
        let log = d.stop();
        // Loud, but once (rate-limited), naming the store without its password.
        let lines: Vec<&str> = log.lines().filter(|l| l.contains("NOT recorded")).collect();
        assert_eq!(lines.len(), 1, "{log}");
        assert!(lines[0].contains(&shown), "{log}");
        assert!(!log.contains("secret"), "{log}");
        // The MTA sent no {daemon_name}: one warning with the lines to add.
        let hints: Vec<&str> = log
            .lines()
            .filter(|l| l.contains("does not send {daemon_name}"))
            .collect();
        assert_eq!(hints.len(), 1, "{log}");
        assert!(
            hints[0].contains(
                "add to Postfix's main.cf: milter_connect_macros = j {daemon_name} {daemon_addr} v {client_addr} _"
            ),
            "{log}"
        );
        assert!(
            hints[0].contains("define(`confMILTER_MACROS_CONNECT'"),
            "{log}"
        );
    }
}

fn http_get(port: u16, path: &str) -> String {
    use std::io::{Read as _, Write as _};
    let mut s = std::net::TcpStream::connect(("127.0.0.1", port)).unwrap();
    s.write_all(format!("GET {path} HTTP/1.0\r\n\r\n").as_bytes())
        .unwrap();
    let mut out = String::new();
    s.read_to_string(&mut out).unwrap();
    out
}

#[test]
fn sighup_notifies_reloading_then_ready_and_a_bad_file_keeps_the_running_configuration() {
    let dns = dns();
    let dir = tempfile::tempdir().unwrap();
    let port = free_port();
    let mut d = Daemon::start(dir.path(), &base_config(port, &dns, ""));
    let good = std::fs::read_to_string(&d.config).unwrap();
    std::fs::write(&d.config, good.replace("mx.example.net", "mx2.example.net")).unwrap();
    d.signal("HUP");
    assert_eq!(d.notification(), "RELOADING=1");
    assert_eq!(d.notification(), "READY=1");
    std::fs::write(
        &d.config,
        format!(
            "{}\n[limits]\nmax_conections = 5\n",
            good.replace("mx.example.net", "mx3.example.net")
        ),
    )
    .unwrap();
    d.signal("HUP");
    assert_eq!(d.notification(), "RELOADING=1");
    assert_eq!(d.notification(), "READY=1");
    // Still serving, with the last good configuration.
    let sent = send_inbound(port, 1, 1);
    assert_eq!((sent.messages, sent.refused), (1, 0));
    let log = d.stop();
    assert!(log.contains("configuration reloaded"), "{log}");
    let failed: Vec<&str> = log
        .lines()
        .filter(|l| l.contains("reload failed"))
        .collect();
    assert_eq!(failed.len(), 1, "{log}");
    assert!(
        failed[0].contains("the running configuration is kept"),
        "{log}"
    );
    assert!(failed[0].contains("milter.toml:"), "{log}");
    assert!(failed[0].contains("max_conections"), "{log}");
}

fn id(args: &[&str]) -> u32 {
    let out = Command::new("id").args(args).output().unwrap();
    String::from_utf8_lossy(&out.stdout).trim().parse().unwrap()
}

/// `Uid:` or `Gid:` of /proc/PID/status: real, effective, saved, filesystem.
fn proc_ids(pid: u32, field: &str) -> Vec<u32> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap();
    status
        .lines()
        .find_map(|l| l.strip_prefix(field))
        .unwrap()
        .split_whitespace()
        .map(|n| n.parse().unwrap())
        .collect()
}

#[test]
fn as_root_the_daemon_binds_reads_its_keys_then_runs_as_nobody() {
    let dns = dns();
    let dir = tempfile::tempdir().unwrap();
    let port = free_port();
    // A key only root can read: read before the drop, it still signs afterwards.
    let key = dir.path().join("ed25519.pem");
    std::fs::copy(
        mailstamp_tests::testdata_dir().join("keys/ed25519._domainkey.example.org.pem"),
        &key,
    )
    .unwrap();
    std::fs::set_permissions(&key, std::fs::Permissions::from_mode(0o600)).unwrap();
    let config = base_config(
        port,
        &dns,
        &format!(
            "user = \"nobody\"\n[[signing]]\ndomain = \"example.org\"\nselector = \"ed25519\"\nkey = \"{}\"",
            key.display()
        ),
    )
    .replace("run_as_root = true\n", "");
    if id(&["-u"]) != 0 {
        // Not root: switching users is refused, with the reason.
        std::fs::write(dir.path().join("milter.toml"), &config).unwrap();
        mailstamp()
            .args(["milter", "--config"])
            .arg(dir.path().join("milter.toml"))
            .assert()
            .failure()
            .stderr(predicates::str::contains("cannot switch users"));
        return;
    }
    // The notify socket and the directory must be reachable by nobody.
    std::fs::set_permissions(dir.path(), std::fs::Permissions::from_mode(0o755)).unwrap();
    let d = Daemon::start(dir.path(), &config);
    let (uid, gid) = (id(&["-u", "nobody"]), id(&["-g", "nobody"]));
    assert_eq!(proc_ids(d.pid(), "Uid:"), [uid; 4], "{}", d.log());
    assert_eq!(proc_ids(d.pid(), "Gid:"), [gid; 4], "{}", d.log());
    assert!(d.log().contains("dropped root privileges to user nobody"));
    // Outbound mail (internal network) is signed with the key read as root.
    let load = Load {
        connections: 1,
        messages: 1,
        client_ip: "10.255.0.1".into(),
        mail_from: "alice@example.org".into(),
        headers: vec![("From".into(), "alice@example.org".into())],
        body: b"Hi.\r\n".to_vec(),
    };
    let sent = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap()
        .block_on(run(([127, 0, 0, 1], port).into(), load))
        .unwrap();
    assert_eq!((sent.messages, sent.modifications), (1, 1), "{}", d.log());
    let log = d.stop();
    assert!(log.contains("d=example.org s=ed25519"), "{log}");

    // A unix socket gets its owner, group and mode while the daemon is still root.
    let sock = dir.path().join("milter.sock");
    let unix = config
        .replace(
            &format!("listen = \"inet:127.0.0.1:{port}\""),
            &format!(
                "listen = \"unix:{}\"\nsocket_owner = \"nobody\"\nsocket_group = \"{gid}\"\nsocket_mode = \"0600\"",
                sock.display()
            ),
        );
    let sub = dir.path().join("unix");
    std::fs::create_dir(&sub).unwrap();
    std::fs::set_permissions(&sub, std::fs::Permissions::from_mode(0o755)).unwrap();
    let d = Daemon::start(&sub, &unix);
    use std::os::unix::fs::MetadataExt as _;
    let meta = std::fs::metadata(&sock).unwrap();
    assert_eq!(
        (meta.uid(), meta.gid(), meta.mode() & 0o777),
        (uid, gid, 0o600)
    );
    assert_eq!(proc_ids(d.pid(), "Uid:"), [uid; 4]);
    d.stop();
}

#[test]
fn root_without_user_is_refused_unless_run_as_root() {
    if id(&["-u"]) != 0 {
        // Not root: nothing to refuse; the daemon runs as who started it (covered above).
        return;
    }
    let dns = dns();
    let dir = tempfile::tempdir().unwrap();
    let config = base_config(free_port(), &dns, "").replace("run_as_root = true\n", "");
    let path = dir.path().join("milter.toml");
    std::fs::write(&path, config).unwrap();
    mailstamp()
        .args(["milter", "--config"])
        .arg(&path)
        .assert()
        .code(2)
        .stderr(predicates::str::contains("refusing to run as root"))
        .stderr(predicates::str::contains("run_as_root = true"));
}

#[test]
fn check_config_names_the_user_to_run_as_and_refuses_an_unknown_one() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("milter.toml");
    let base = "authserv_id = \"mx.example.net\"\nrecord = \"/var/lib/mailstamp/v.sqlite\"\n";
    std::fs::write(&path, format!("{base}user = \"nobody\"\n")).unwrap();
    let uid = id(&["-u", "nobody"]);
    mailstamp()
        .args(["milter", "--check-config", "--config"])
        .arg(&path)
        .assert()
        .success()
        .stdout(predicates::str::contains(format!(
            "user: nobody (uid {uid}, gid {}) once the socket is bound",
            id(&["-g", "nobody"])
        )));
    std::fs::write(&path, format!("{base}user = \"no-such-user-mailstamp\"\n")).unwrap();
    mailstamp()
        .args(["milter", "--check-config", "--config"])
        .arg(&path)
        .assert()
        .code(2)
        .stderr(predicates::str::contains(format!(
            "{}: user: no such user \"no-such-user-mailstamp\"",
            path.display()
        )));
    // A store of an unknown kind and a group without a user: refused with the line.
    std::fs::write(&path, "authserv_id = \"mx\"\n\nrecord = \"mysql://db/x\"\n").unwrap();
    mailstamp()
        .args(["milter", "--check-config", "--config"])
        .arg(&path)
        .assert()
        .code(2)
        .stderr(predicates::str::contains(format!(
            "{}:3: record: unsupported store",
            path.display()
        )));
    std::fs::write(&path, "authserv_id = \"mx\"\ngroup = \"nogroup\"\n").unwrap();
    mailstamp()
        .args(["milter", "--check-config", "--config"])
        .arg(&path)
        .assert()
        .code(2)
        .stderr(predicates::str::contains(format!(
            "{}:2: group: needs user",
            path.display()
        )));
}
