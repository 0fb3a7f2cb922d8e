//! `mailstamp report`: parse (summary, JSON, CSV, exit status).

use crate::mailstamp;
use mailstamp_tests::conformance_dir;
use std::path::PathBuf;

fn corpus(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../crates/reports/tests/data")
        .join(name)
}

#[test]
fn parse_prints_a_summary_per_organisation_and_source() {
    let out = mailstamp()
        .args(["report", "parse"])
        .arg(corpus("rfc9990.xml"))
        .arg(corpus("rfc7489.xml"))
        .assert()
        .success();
    let text = String::from_utf8(out.get_output().stdout.clone()).unwrap();
    assert!(
        text.contains("2 aggregate report(s), 0 failure report(s), 2025-12-31 .. 2026-01-01"),
        "{text}"
    );
    assert!(
        text.contains("67 message(s): DMARC pass 52 (77.6%)"),
        "{text}"
    );
    assert!(text.contains("Receiver Example"), "{text}");
    assert!(text.contains("Old Receiver"), "{text}");
    assert!(text.contains("2001:db8::25"), "{text}");
}

#[test]
fn parse_json_is_one_object_per_report_and_the_same_shape_for_both_editions() {
    let dir = conformance_dir().join("dmarc/mail-auth-reports/dmarc-feedback");
    let out = mailstamp()
        .args(["report", "parse", "--json"])
        .arg(dir.join("003.xml"))
        .arg(dir.join("004.xml"))
        .arg(dir.join("102.eml"))
        .assert()
        .success();
    let lines: Vec<serde_json::Value> = String::from_utf8(out.get_output().stdout.clone())
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(lines.len(), 3);
    assert_eq!(lines[0]["edition"], "rfc7489");
    assert_eq!(lines[1]["edition"], "rfc9990");
    assert_eq!(lines[2]["org_name"], "Mail.Ru");
    let keys = |v: &serde_json::Value| {
        let mut k: Vec<String> = v.as_object().unwrap().keys().cloned().collect();
        k.sort();
        k
    };
    assert_eq!(keys(&lines[0]), keys(&lines[1]));
    assert_eq!(lines[0]["records"].as_array().unwrap().len(), 4);
    assert_eq!(
        lines[0]["records"][0]["reasons"][0]["type"],
        "trusted_forwarder"
    );
}

#[test]
fn parse_csv_has_one_row_per_record() {
    let out = mailstamp()
        .args(["report", "parse", "--csv"])
        .arg(corpus("rfc9990.xml"))
        .assert()
        .success();
    let text = String::from_utf8(out.get_output().stdout.clone()).unwrap();
    let rows: Vec<&str> = text.lines().collect();
    assert_eq!(rows.len(), 4);
    assert!(rows[0].starts_with("source,edition,org_name,report_id"));
    assert!(
        rows[2].contains(",2001:db8::25,7,reject,fail,fail,fail,"),
        "{}",
        rows[2]
    );
}

#[test]
fn what_is_not_a_report_is_exit_2_with_the_file_and_reason_and_the_rest_is_read() {
    let out = mailstamp()
        .args(["report", "parse", "--json"])
        .arg(corpus("bad-count.xml"))
        .arg(corpus("sloppy.xml"))
        .assert()
        .code(2);
    let stderr = String::from_utf8(out.get_output().stderr.clone()).unwrap();
    assert!(
        stderr.contains(
            "bad-count.xml: feedback/record[1]/row/count: \"many\" is not a message count"
        ),
        "{stderr}"
    );
    assert!(stderr.contains("warning: "), "{stderr}");
    assert_eq!(
        String::from_utf8_lossy(&out.get_output().stdout)
            .lines()
            .count(),
        1
    );
}

#[test]
fn parse_reads_standard_input() {
    mailstamp()
        .args(["report", "parse", "--json", "-"])
        .write_stdin(std::fs::read(corpus("gzip-attachment.eml")).unwrap())
        .assert()
        .success()
        .stdout(predicates::str::contains("\"report_id\":\"r9990-0001\""));
}

/// Headless Chromium (Debian's `chromium`, installed by scripts/install-test-deps), or `None`
/// when MAILSTAMP_SKIP_CHROMIUM is set. Missing without the opt-out is a failure.
fn chromium() -> Option<PathBuf> {
    if std::env::var_os("MAILSTAMP_SKIP_CHROMIUM").is_some() {
        eprintln!(
            "skipped: MAILSTAMP_SKIP_CHROMIUM is set, the HTML page is not opened in Chromium"
        );
        return None;
    }
    let path = PathBuf::from(
        std::env::var_os("MAILSTAMP_CHROMIUM").unwrap_or_else(|| "/usr/bin/chromium".into()),
    );
    assert!(
        path.is_file(),
        "{} is missing: run scripts/install-test-deps (or set MAILSTAMP_SKIP_CHROMIUM=1 to skip)",
        path.display()
    );
    Some(path)
}

#[test]
fn view_writes_a_page_that_chromium_renders_with_its_charts_and_totals() {
    let tmp = tempfile::tempdir().unwrap();
    let page = tmp.path().join("view.html");
    mailstamp()
        .args(["report", "view"])
        .arg(corpus("rfc9990.xml"))
        .arg(corpus("rfc7489.xml"))
        .arg(corpus("failure-rfc9991.eml"))
        .arg("--html")
        .arg(&page)
        .assert()
        .success();
    let html = std::fs::read_to_string(&page).unwrap();
    assert!(
        !html.contains("<link") && !html.contains(" src="),
        "the page loads nothing"
    );
    let Some(chromium) = chromium() else {
        return;
    };
    let profile = tempfile::tempdir().unwrap();
    let out = std::process::Command::new(&chromium)
        .args([
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--no-first-run",
            "--timeout=10000",
        ])
        .arg(format!("--user-data-dir={}", profile.path().display()))
        .arg("--dump-dom")
        .arg(format!("file://{}", page.display()))
        .output()
        .expect("run chromium");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let dom = String::from_utf8_lossy(&out.stdout);
    // The script ran and recomputed the totals from the embedded data: 50 + 17 messages, 52
    // passing (77.6 %).
    assert!(
        dom.contains(r#"<span id="js-total-messages">67</span>"#),
        "{dom}"
    );
    assert!(
        dom.contains(r#"<span id="js-pass-rate">77.6%</span>"#),
        "{dom}"
    );
    assert!(dom.contains(r#"<b id="total-messages">67</b>"#));
    assert!(dom.contains(r#"<b id="reject-would-refuse">8</b>"#));
    // One chart per policy domain (both reports are for sender.example), with bars and a line.
    assert_eq!(dom.matches("<svg").count(), 1, "{dom}");
    assert!(dom.contains("<rect class=\"pass\""));
    assert!(dom.contains("<polyline class=\"rate\""));
    assert!(dom.contains("<td>2001:db8::25</td>"));
}

/// An mbox of `n` copies of the signed test message.
pub(crate) fn small_mbox(dir: &std::path::Path, n: usize) -> PathBuf {
    let message =
        std::fs::read(mailstamp_tests::testdata_dir().join("messages/signed.eml")).unwrap();
    let mut mbox = Vec::new();
    for _ in 0..n {
        mbox.extend_from_slice(b"From sender@example.org Thu Jan  1 00:00:00 2026\n");
        mbox.extend_from_slice(&message);
        mbox.extend_from_slice(b"\n");
    }
    let path = dir.join("small.mbox");
    std::fs::write(&path, mbox).unwrap();
    path
}

pub(crate) fn check_args(mbox: &std::path::Path) -> Vec<String> {
    vec![
        "check".into(),
        "--zone".into(),
        crate::example_zone().display().to_string(),
        "--ip".into(),
        "192.0.2.1".into(),
        "--helo".into(),
        "mail.example.org".into(),
        "--mail-from".into(),
        "a@example.org".into(),
        "--now".into(),
        "1767225700".into(),
        "--mbox".into(),
        mbox.display().to_string(),
    ]
}

#[test]
fn check_record_stores_every_evaluation_and_concurrent_writers_are_safe() {
    let tmp = tempfile::tempdir().unwrap();
    let mbox = small_mbox(tmp.path(), 5);
    let db = tmp.path().join("verdicts.db");
    let store = format!("sqlite:{}", db.display());
    let plain = mailstamp().args(check_args(&mbox)).assert().success();
    let recorded = mailstamp()
        .args(check_args(&mbox))
        .args(["--record", &store])
        .assert()
        .success();
    assert_eq!(plain.get_output().stdout, recorded.get_output().stdout);
    assert!(recorded.get_output().stderr.is_empty());

    // Two writers at once on the same file.
    let bin = assert_cmd::cargo::cargo_bin("mailstamp");
    let children: Vec<_> = (0..2)
        .map(|_| {
            std::process::Command::new(&bin)
                .args(check_args(&mbox))
                .args(["--record", db.to_str().unwrap()])
                .stdout(std::process::Stdio::null())
                .spawn()
                .unwrap()
        })
        .collect();
    for mut c in children {
        assert!(c.wait().unwrap().success());
    }

    let s = mailstamp_reports::store::Store::open(&store).unwrap();
    assert_eq!(
        s.schema_version().unwrap(),
        mailstamp_reports::store::SCHEMA_VERSION
    );
    assert_eq!(s.count().unwrap(), 15);
    let e = &s.evaluations("example.org", 0, i64::MAX).unwrap()[0];
    assert_eq!(e.time, 1767225700);
    assert_eq!(e.source_ip, "192.0.2.1");
    assert_eq!(e.header_from, "example.org");
    assert_eq!(e.envelope_from.as_deref(), Some("example.org"));
    assert_eq!(
        (e.dmarc_result.as_str(), e.disposition.as_str()),
        ("pass", "none")
    );
    assert!(e.spf_aligned);
    assert_eq!(
        (e.spf_domain.as_deref(), e.spf_result.as_deref()),
        (Some("example.org"), Some("pass"))
    );
    assert_eq!(e.dkim.len(), 2);
    assert_eq!(e.policy_p.as_deref(), Some("reject"));
    assert_eq!(e.policy_adkim.as_deref(), Some("s"));
    assert!(
        e.policy_record
            .as_deref()
            .unwrap()
            .starts_with("v=DMARC1; p=reject")
    );
}

#[test]
fn a_store_that_fails_is_a_warning_and_changes_neither_output_nor_exit_status() {
    let tmp = tempfile::tempdir().unwrap();
    let mbox = small_mbox(tmp.path(), 2);
    let plain = mailstamp().args(check_args(&mbox)).assert().success();
    let broken = tmp.path().join("no/such/dir/v.db");
    let out = mailstamp()
        .args(check_args(&mbox))
        .args(["--record", broken.to_str().unwrap()])
        .assert()
        .success();
    assert_eq!(plain.get_output().stdout, out.get_output().stdout);
    let stderr = String::from_utf8_lossy(&out.get_output().stderr);
    assert!(
        stderr.contains("warning: verdicts are not recorded"),
        "{stderr}"
    );
    assert!(stderr.contains("no/such/dir/v.db"), "{stderr}");
}

#[test]
fn generate_writes_one_rfc9990_report_per_domain_and_period_that_parses_back_to_the_same_counts() {
    let tmp = tempfile::tempdir().unwrap();
    let mbox = small_mbox(tmp.path(), 4);
    let db = tmp.path().join("v.db");
    mailstamp()
        .args(check_args(&mbox))
        .args(["--record", db.to_str().unwrap()])
        .assert()
        .success();
    let out_dir = tmp.path().join("out");
    std::fs::create_dir(&out_dir).unwrap();
    let generate = |now: &str| {
        mailstamp()
            .args(["report", "generate", "--store", db.to_str().unwrap()])
            .args([
                "--org-name",
                "Receiver Test",
                "--email",
                "dmarc@receiver.example",
            ])
            .args(["--period", "day", "--now", now, "--out"])
            .arg(&out_dir)
            .assert()
            .success()
    };
    // The day is not over: nothing to report yet.
    generate("1767300000").stdout(predicates::str::contains("no complete period"));
    generate("1767400000");
    let name = "receiver.example!example.org!1767225600!1767311999.xml.gz";
    let file = out_dir.join(name);
    assert!(
        file.is_file(),
        "{:?}",
        std::fs::read_dir(&out_dir).unwrap().collect::<Vec<_>>()
    );
    // Never twice.
    generate("1767500000").stdout(predicates::str::contains("no complete period"));
    assert_eq!(std::fs::read_dir(&out_dir).unwrap().count(), 1);

    let (reports, diags) =
        mailstamp_reports::parse(&file, mailstamp_reports::ParseOptions::default());
    assert!(diags.items.is_empty(), "{:?}", diags.items);
    let mailstamp_reports::Report::Aggregate(r) = &reports[0] else {
        panic!("not an aggregate report");
    };
    assert_eq!(r.edition, mailstamp_reports::Edition::Rfc9990);
    assert_eq!((r.begin, r.end), (1767225600, 1767311999));
    assert_eq!(r.report_id, "example.org!1767225600!1767311999");
    assert_eq!(r.policy.domain, "example.org");
    assert_eq!(r.policy.p.as_deref(), Some("reject"));
    assert_eq!(r.records.len(), 1);
    assert_eq!(r.messages(), 4);
    let rec = &r.records[0];
    assert_eq!(
        (rec.source_ip.as_str(), rec.disposition.as_str()),
        ("192.0.2.1", "none")
    );
    assert_eq!(rec.spf_aligned, "pass");
    assert_eq!(rec.dkim.len(), 2);
    assert_eq!(rec.spf[0].scope.as_deref(), Some("mfrom"));
}

/// Issue 16: `report generate` records a period only once its file is written. An output
/// directory that cannot be written is an error (exit 2) naming the file, the period stays
/// unreported, and the next run reports it once.
#[test]
fn issue_16_generate_into_an_unwritable_directory_loses_no_period() {
    let tmp = tempfile::tempdir().unwrap();
    let mbox = small_mbox(tmp.path(), 3);
    let db = tmp.path().join("v.db");
    mailstamp()
        .args(check_args(&mbox))
        .args(["--record", db.to_str().unwrap()])
        .assert()
        .success();
    let generate = |out: &std::path::Path| {
        mailstamp()
            .args(["report", "generate", "--store", db.to_str().unwrap()])
            .args(["--org-name", "Receiver Test"])
            .args(["--email", "dmarc@receiver.example"])
            .args(["--now", "1767400000", "--out"])
            .arg(out)
            .assert()
    };
    let name = "receiver.example!example.org!1767225600!1767311999.xml.gz";
    // A file where the directory should be: nothing can be created in it (even by root).
    let blocked = tmp.path().join("blocked");
    std::fs::write(&blocked, b"").unwrap();
    let failed = generate(&blocked).code(2);
    let stderr = String::from_utf8_lossy(&failed.get_output().stderr);
    assert!(stderr.contains("cannot write"), "{stderr}");
    assert!(stderr.contains(name), "{stderr}");

    let out_dir = tmp.path().join("out");
    std::fs::create_dir(&out_dir).unwrap();
    generate(&out_dir)
        .success()
        .stdout(predicates::str::contains(format!("{name}: 3 message(s)")));
    assert!(out_dir.join(name).is_file());
    generate(&out_dir)
        .success()
        .stdout(predicates::str::contains("no complete period"));
    assert_eq!(std::fs::read_dir(&out_dir).unwrap().count(), 1);
}

/// Issue 16: `report parse --resolve` shows the reverse DNS name of the top failing sources,
/// looked up through mailstamp's resolver (here a loopback DNS server); a source without a
/// PTR record shows no name, and a server that never answers only costs the DNS timeout:
/// the summary is printed, without names, exit 0.
#[test]
fn parse_resolve_names_the_top_failing_sources_and_a_dns_failure_shows_no_name() {
    let tmp = tempfile::tempdir().unwrap();
    let zone_file = tmp.path().join("ptr.zone");
    std::fs::write(
        &zone_file,
        "$TTL 300\n\
         99.113.0.203.in-addr.arpa. IN PTR bulk.example.net.\n\
         5.2.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.8.b.d.0.1.0.0.2.ip6.arpa. IN PTR mx.spoof.example.\n",
    )
    .unwrap();
    let server = mailstamp_testkit::TestServer::start(mailstamp_fixture::load(&zone_file).unwrap());
    let parse = |nameserver: &str, resolve: bool| {
        let mut cmd = mailstamp();
        cmd.args(["--nameserver", nameserver, "--dns-timeout", "0.5"])
            .args(["--dns-attempts", "1", "report", "parse"])
            .arg(corpus("rfc9990.xml"))
            .arg(corpus("rfc7489.xml"));
        if resolve {
            cmd.arg("--resolve");
        }
        let out = cmd.assert().success();
        String::from_utf8(out.get_output().stdout.clone()).unwrap()
    };
    let text = parse(&server.addr().to_string(), true);
    let top = &text[text.find("Top failing sources:").unwrap()..];
    let lines: Vec<&str> = top.lines().skip(1).take(3).collect();
    assert!(
        lines[0].contains("2001:db8::25 (mx.spoof.example)"),
        "{top}"
    );
    assert!(
        lines[1].contains("203.0.113.99 (bulk.example.net)"),
        "{top}"
    );
    assert!(
        lines[2].contains("198.51.100.7 ") && !lines[2].contains('('),
        "{top}"
    );
    assert!(server.udp_queries() >= 3);

    // Without --resolve nothing is asked.
    let before = server.udp_queries();
    let plain = parse(&server.addr().to_string(), false);
    assert_eq!(server.udp_queries(), before);
    assert!(!plain.contains("(mx.spoof.example)"), "{plain}");

    // A nameserver that never answers: the same summary, without names.
    let silent = mailstamp_testkit::TestServer::silent();
    let text = parse(&silent.addr().to_string(), true);
    assert_eq!(text, plain);
}

/// Issue 16: `Evaluation::from_report` (what `check --record` uses, serialising only the
/// parts an evaluation reads) gives what `Evaluation::from_check_json` gives for the whole
/// JSON report, for every test message, aligned and not, with and without a MAIL FROM.
#[test]
fn issue_16_from_report_equals_from_check_json_of_the_whole_report() {
    use mailstamp::pipeline::{Authenticator, CheckOptions};
    use mailstamp_message::envelope::Envelope;
    use mailstamp_reports::store::Evaluation;
    let zone = mailstamp_fixture::load(crate::example_zone()).unwrap();
    let auth = Authenticator::offline(
        zone.clone(),
        CheckOptions::new("mx.example.net").with_now(1_767_225_700),
    );
    let mut recorded = 0;
    let dir = mailstamp_tests::testdata_dir().join("messages");
    let mut names: Vec<_> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "eml"))
        .collect();
    names.sort();
    assert!(names.len() >= 3, "{names:?}");
    for path in names {
        let message = std::fs::read(&path).unwrap();
        for (ip, mail_from) in [
            ("192.0.2.1", Some("a@example.org")),
            ("203.0.113.9", Some("b@lists.example.net")),
            ("198.51.100.7", None),
        ] {
            let envelope = Envelope {
                client_ip: ip.parse().unwrap(),
                helo: "mail.example.org".into(),
                mail_from: mail_from.map(str::to_owned),
            };
            let report = auth.check_with(&message, Some(&envelope), &zone);
            let whole = Evaluation::from_check_json(&serde_json::to_value(&report).unwrap());
            assert_eq!(
                Evaluation::from_report(&report),
                whole,
                "{} from {ip}",
                path.display()
            );
            recorded += usize::from(whole.is_some());
        }
    }
    assert!(recorded >= 6, "{recorded}");
}
