//! `mailstamp report send` against a loopback SMTP server written here, which captures what
//! it receives (plain SMTP, `--starttls none`).

use super::report::{check_args, small_mbox};
use crate::mailstamp;
use std::io::{BufRead as _, BufReader, Write as _};
use std::net::TcpListener;

/// What the capture server received.
#[derive(Debug, Default)]
struct Captured {
    mail_from: String,
    rcpt_to: Vec<String>,
    data: String,
}

/// Accepts one SMTP session and returns what it received.
fn capture(listener: TcpListener) -> std::thread::JoinHandle<Captured> {
    std::thread::spawn(move || {
        let (stream, _) = listener.accept().unwrap();
        stream
            .set_read_timeout(Some(std::time::Duration::from_secs(30)))
            .unwrap();
        let mut out = stream.try_clone().unwrap();
        let mut input = BufReader::new(stream);
        let mut got = Captured::default();
        out.write_all(b"220 capture.test ESMTP\r\n").unwrap();
        let mut line = String::new();
        loop {
            line.clear();
            if input.read_line(&mut line).unwrap() == 0 {
                break;
            }
            let upper = line.to_ascii_uppercase();
            if upper.starts_with("EHLO") || upper.starts_with("HELO") {
                out.write_all(b"250-capture.test\r\n250 8BITMIME\r\n")
                    .unwrap();
            } else if upper.starts_with("MAIL FROM:") {
                got.mail_from = line[10..].trim().to_owned();
                out.write_all(b"250 ok\r\n").unwrap();
            } else if upper.starts_with("RCPT TO:") {
                got.rcpt_to.push(line[8..].trim().to_owned());
                out.write_all(b"250 ok\r\n").unwrap();
            } else if upper.starts_with("DATA") {
                out.write_all(b"354 go on\r\n").unwrap();
                loop {
                    line.clear();
                    input.read_line(&mut line).unwrap();
                    if line == ".\r\n" || line.is_empty() {
                        break;
                    }
                    got.data.push_str(line.strip_prefix('.').unwrap_or(&line));
                }
                out.write_all(b"250 queued\r\n").unwrap();
            } else if upper.starts_with("QUIT") {
                out.write_all(b"221 bye\r\n").unwrap();
                break;
            } else {
                out.write_all(b"250 ok\r\n").unwrap();
            }
        }
        got
    })
}

#[test]
fn send_mails_the_report_to_authorised_rua_addresses_within_their_size_limits() {
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
    mailstamp()
        .args(["report", "generate", "--store", db.to_str().unwrap()])
        .args([
            "--org-name",
            "Receiver Test",
            "--email",
            "dmarc@receiver.example",
        ])
        .args(["--now", "1767400000", "--out"])
        .arg(&out_dir)
        .assert()
        .success();
    let name = "receiver.example!example.org!1767225600!1767311999.xml.gz";
    let file = out_dir.join(name);
    let gzip = std::fs::read(&file).unwrap();
    assert!(gzip.len() > 100, "{}", gzip.len());

    // The policy: one internal address, one authorised external one (10 MiB limit), one
    // authorised but too small for the report (100 bytes), one not authorised.
    let zone = tmp.path().join("send.zone");
    std::fs::write(
        &zone,
        "$ORIGIN example.org.\n$TTL 300\n\
         @ IN SOA ns1 hostmaster ( 1 7200 3600 1209600 300 )\n\
         _dmarc IN TXT \"v=DMARC1; p=reject; rua=mailto:dmarc@example.org,\
         mailto:agg@reports.example.net!10m,mailto:big@small.example.net!100,\
         mailto:x@unauth.example.com\"\n\
         example.org._report._dmarc.reports.example.net. IN TXT \"v=DMARC1\"\n\
         example.org._report._dmarc.small.example.net. IN TXT \"v=DMARC1\"\n",
    )
    .unwrap();

    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    let server = capture(listener);
    let out = mailstamp()
        .args(["report", "send", "--zone"])
        .arg(&zone)
        .args(["--relay", &format!("127.0.0.1:{port}")])
        .args(["--from", "dmarc@receiver.example", "--starttls", "none"])
        .arg(&file)
        .assert()
        .success();
    let stdout = String::from_utf8_lossy(&out.get_output().stdout);
    let stderr = String::from_utf8_lossy(&out.get_output().stderr);
    assert!(
        stdout.contains("sent to dmarc@example.org, agg@reports.example.net"),
        "{stdout}"
    );
    assert!(
        stderr.contains(
            "mailto:x@unauth.example.com skipped: external destination not authorised \
             (no example.org._report._dmarc.unauth.example.com record"
        ),
        "{stderr}"
    );
    assert!(
        stderr.contains("mailto:big@small.example.net skipped: the report e-mail")
            && stderr.contains("exceeds its size limit !100"),
        "{stderr}"
    );

    let got = server.join().unwrap();
    assert_eq!(got.mail_from, "<dmarc@receiver.example>");
    assert_eq!(
        got.rcpt_to,
        ["<dmarc@example.org>", "<agg@reports.example.net>"]
    );
    let unfolded = got.data.replace("\r\n ", " ").replace("\r\n\t", " ");
    assert!(
        unfolded.contains(
            "Subject: Report Domain: example.org Submitter: Receiver Test \
             Report-ID: <example.org!1767225600!1767311999>"
        ),
        "{unfolded}"
    );
    assert!(
        unfolded.contains("Content-Type: application/gzip"),
        "{unfolded}"
    );
    assert!(unfolded.contains(name), "{unfolded}");
    // The captured e-mail is a report e-mail mailstamp reads back: the same report.
    let (reports, diags) = mailstamp_reports::parse_bytes(
        "captured.eml",
        got.data.as_bytes(),
        mailstamp_reports::ParseOptions::default(),
    );
    assert!(diags.items.is_empty(), "{:?}", diags.items);
    let mailstamp_reports::Report::Aggregate(r) = &reports[0] else {
        panic!("not an aggregate report");
    };
    assert_eq!(r.report_id, "example.org!1767225600!1767311999");
    assert_eq!(r.messages(), 4);
}
