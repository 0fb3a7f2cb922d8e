//! The PostgreSQL verdict store with a real server: Debian's PostgreSQL (`initdb`, `pg_ctl`
//! under `/usr/lib/postgresql/*/bin`, installed by `scripts/install-test-deps`), started by the
//! test on a free loopback port with trust authentication and its own data directory, stopped
//! afterwards (also when the test panics). Missing PostgreSQL fails the test unless
//! `MAILSTAMP_SKIP_POSTGRES=1`.

use super::report::{check_args, small_mbox};
use crate::mailstamp;
use std::path::{Path, PathBuf};
use std::process::Command;

/// The directory holding `initdb` and `pg_ctl`, newest version first.
fn postgres_bin() -> Option<PathBuf> {
    let mut dirs: Vec<PathBuf> = std::fs::read_dir("/usr/lib/postgresql")
        .ok()?
        .filter_map(|e| Some(e.ok()?.path().join("bin")))
        .filter(|bin| bin.join("initdb").is_file() && bin.join("pg_ctl").is_file())
        .collect();
    dirs.sort();
    dirs.pop()
}

fn is_root() -> bool {
    Command::new("id")
        .arg("-u")
        .output()
        .is_ok_and(|o| o.stdout.trim_ascii() == b"0")
}

/// A command run as the `postgres` user when we are root (initdb refuses to run as root).
fn as_postgres(program: &Path) -> Command {
    if is_root() {
        let mut c = Command::new("runuser");
        c.args(["-u", "postgres", "--"]).arg(program);
        c
    } else {
        Command::new(program)
    }
}

/// A running server; dropping it stops the server (also used by `milter_daemon`).
pub(crate) struct Server {
    bin: PathBuf,
    data: PathBuf,
    port: u16,
    _dir: tempfile::TempDir,
}

impl Server {
    /// Starts a fresh server, or `None` (after saying so) when PostgreSQL is missing and
    /// `MAILSTAMP_SKIP_POSTGRES=1`.
    pub(crate) fn start() -> Option<Server> {
        let Some(bin) = postgres_bin() else {
            if std::env::var("MAILSTAMP_SKIP_POSTGRES").as_deref() == Ok("1") {
                eprintln!(
                    "skipped: PostgreSQL is not installed (MAILSTAMP_SKIP_POSTGRES=1); \
                     scripts/install-test-deps installs it"
                );
                return None;
            }
            panic!(
                "PostgreSQL is not installed (no /usr/lib/postgresql/*/bin/initdb): run \
                 scripts/install-test-deps, or set MAILSTAMP_SKIP_POSTGRES=1 to skip"
            );
        };
        let dir = tempfile::tempdir().unwrap();
        // The postgres user must reach and write the directory.
        use std::os::unix::fs::PermissionsExt as _;
        std::fs::set_permissions(dir.path(), std::fs::Permissions::from_mode(0o777)).unwrap();
        let data = dir.path().join("data");
        let out = as_postgres(&bin.join("initdb"))
            .args([
                "-A",
                "trust",
                "-U",
                "postgres",
                "--no-sync",
                "-E",
                "UTF8",
                "-D",
            ])
            .arg(&data)
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "initdb failed: {}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let server = Server {
            bin,
            data,
            port,
            _dir: dir,
        };
        let socket_dir = server.data.parent().unwrap().to_owned();
        let out = as_postgres(&server.bin.join("pg_ctl"))
            .arg("-D")
            .arg(&server.data)
            .arg("-l")
            .arg(socket_dir.join("server.log"))
            .arg("-o")
            .arg(format!(
                "-p {port} -c listen_addresses=127.0.0.1 -k {} -c fsync=off",
                socket_dir.display()
            ))
            .args(["-w", "-t", "60", "start"])
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "pg_ctl start failed: {}{}\n{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr),
            std::fs::read_to_string(socket_dir.join("server.log")).unwrap_or_default()
        );
        Some(server)
    }

    pub(crate) fn url(&self) -> String {
        format!("postgres://postgres@127.0.0.1:{}/postgres", self.port)
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = as_postgres(&self.bin.join("pg_ctl"))
            .arg("-D")
            .arg(&self.data)
            .args(["-m", "immediate", "-w", "stop"])
            .output();
    }
}

#[test]
fn postgres_store_records_two_concurrent_checks_and_generates_a_report() {
    let Some(server) = Server::start() else {
        return;
    };
    let url = server.url();
    let tmp = tempfile::tempdir().unwrap();
    let mbox = small_mbox(tmp.path(), 5);

    // Two writers at once on a fresh database: both migrate, both record.
    let plain = mailstamp().args(check_args(&mbox)).assert().success();
    let bin = assert_cmd::cargo::cargo_bin("mailstamp");
    let children: Vec<_> = (0..2)
        .map(|_| {
            Command::new(&bin)
                .args(check_args(&mbox))
                .args(["--record", &url])
                .stdout(std::process::Stdio::piped())
                .stderr(std::process::Stdio::piped())
                .spawn()
                .unwrap()
        })
        .collect();
    for c in children {
        let out = c.wait_with_output().unwrap();
        assert!(out.status.success());
        assert_eq!(out.stdout, plain.get_output().stdout);
        assert!(
            out.stderr.is_empty(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
    }

    let s = mailstamp_reports::store::Store::open(&url).unwrap();
    assert_eq!(
        s.schema_version().unwrap(),
        mailstamp_reports::store::SCHEMA_VERSION
    );
    assert_eq!(s.count().unwrap(), 10);
    let e = &s.evaluations("example.org", 0, i64::MAX).unwrap()[0];
    assert_eq!(e.time, 1767225700);
    assert_eq!(e.source_ip, "192.0.2.1");
    assert!(e.spf_aligned);
    assert_eq!(e.dkim.len(), 2);
    assert_eq!(e.policy_p.as_deref(), Some("reject"));
    drop(s);

    let out_dir = tmp.path().join("out");
    std::fs::create_dir(&out_dir).unwrap();
    let generate = || {
        mailstamp()
            .args(["report", "generate", "--store", &url])
            .args(["--org-name", "Receiver Test"])
            .args(["--email", "dmarc@receiver.example"])
            .args(["--now", "1767400000", "--out"])
            .arg(&out_dir)
            .assert()
            .success()
    };
    generate();
    // Never twice.
    generate().stdout(predicates::str::contains("no complete period"));
    let file = out_dir.join("receiver.example!example.org!1767225600!1767311999.xml.gz");
    let (reports, diags) =
        mailstamp_reports::parse(&file, mailstamp_reports::ParseOptions::default());
    assert!(diags.items.is_empty(), "{:?}", diags.items);
    let mailstamp_reports::Report::Aggregate(r) = &reports[0] else {
        panic!("not an aggregate report");
    };
    assert_eq!(r.report_id, "example.org!1767225600!1767311999");
    assert_eq!(r.messages(), 10);
    assert_eq!(r.records.len(), 1);
}

#[test]
fn a_postgres_store_that_is_down_is_a_warning_and_changes_neither_output_nor_exit_status() {
    let tmp = tempfile::tempdir().unwrap();
    let mbox = small_mbox(tmp.path(), 2);
    // A port nothing listens on.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let url = format!("postgres://mailstamp:secret@127.0.0.1:{port}/verdicts");
    let plain = mailstamp().args(check_args(&mbox)).assert().success();
    let out = mailstamp()
        .args(check_args(&mbox))
        .args(["--record", &url])
        .assert()
        .success();
    assert_eq!(plain.get_output().stdout, out.get_output().stdout);
    let stderr = String::from_utf8_lossy(&out.get_output().stderr);
    assert!(
        stderr.contains("warning: verdicts are not recorded"),
        "{stderr}"
    );
    assert!(
        stderr.contains(&format!("postgres://mailstamp@127.0.0.1:{port}/verdicts")),
        "{stderr}"
    );
    assert!(!stderr.contains("secret"), "{stderr}");
}
