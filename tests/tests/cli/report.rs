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
