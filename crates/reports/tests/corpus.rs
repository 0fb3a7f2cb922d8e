//! The hand-written corpus in `tests/data` (see its README): both editions, every container,
//! broken reports with the warnings and errors they must give.

use mailstamp_reports::{
    AggregateReport, Diagnostics, Edition, ParseOptions, Report, parse, parse_bytes, summary,
};
use std::io::Write as _;
use std::path::{Path, PathBuf};

fn data(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/data")
        .join(name)
}

fn read(name: &str) -> (Vec<Report>, Diagnostics) {
    parse(&data(name), ParseOptions::default())
}

fn aggregates(reports: &[Report]) -> Vec<&AggregateReport> {
    reports
        .iter()
        .filter_map(|r| match r {
            Report::Aggregate(a) => Some(a),
            Report::Failure(_) => None,
        })
        .collect()
}

fn one_aggregate(name: &str) -> (AggregateReport, Diagnostics) {
    let (reports, diags) = read(name);
    assert!(!diags.has_errors(), "{name}: {:?}", diags.items);
    assert_eq!(reports.len(), 1, "{name}");
    (aggregates(&reports)[0].clone(), diags)
}

fn warnings(diags: &Diagnostics) -> Vec<String> {
    diags
        .warnings()
        .map(|d| format!("{}: {}", d.element, d.reason))
        .collect()
}

fn has(list: &[String], needle: &str) -> bool {
    list.iter().any(|w| w.contains(needle))
}

#[test]
fn rfc9990_report_reads_every_element() {
    let (r, diags) = one_aggregate("rfc9990.xml");
    assert!(diags.items.is_empty(), "{:?}", diags.items);
    assert_eq!(r.edition, Edition::Rfc9990);
    assert_eq!(r.version.as_deref(), Some("1.0"));
    assert_eq!(r.org_name, "Receiver Example");
    assert_eq!(r.report_id, "r9990-0001");
    assert_eq!((r.begin, r.end), (1767225600, 1767311999));
    assert_eq!(r.generator.as_deref(), Some("hand-written test data"));
    assert_eq!(r.policy.domain, "sender.example");
    assert_eq!(r.policy.discovery_method.as_deref(), Some("treewalk"));
    assert_eq!(r.policy.np.as_deref(), Some("reject"));
    assert_eq!(r.policy.adkim.as_deref(), Some("s"));
    assert_eq!(r.records.len(), 3);
    assert_eq!(r.messages(), 50);
    let v6 = &r.records[1];
    assert_eq!(v6.source_ip, "2001:db8::25");
    assert_eq!(
        (v6.disposition.as_str(), v6.dmarc_pass()),
        ("reject", false)
    );
    assert_eq!(v6.spf[0].result, "softfail");
    assert_eq!(v6.envelope_to, None);
    let list = &r.records[2];
    assert_eq!(list.reasons[0].kind, "mailing_list");
    assert_eq!(list.dkim.len(), 2);
    assert_eq!(list.dkim[1].domain, "list.example");
    assert_eq!(list.header_from, "news.sender.example");
}

#[test]
fn rfc7489_report_has_the_same_shape() {
    let (r, diags) = one_aggregate("rfc7489.xml");
    assert!(diags.items.is_empty(), "{:?}", diags.items);
    assert_eq!(r.edition, Edition::Rfc7489);
    assert_eq!(r.policy.pct, Some(50));
    assert_eq!(r.messages(), 17);
    assert_eq!(r.records[1].spf.len(), 2);
    assert_eq!(r.records[1].spf[0].scope.as_deref(), Some("helo"));
    assert_eq!(r.records[1].reasons[0].kind, "sampled_out");
    // Both editions serialise to the same keys.
    let (r9990, _) = one_aggregate("rfc9990.xml");
    let keys = |r: &AggregateReport| {
        let v = serde_json::to_value(Report::Aggregate(r.clone())).unwrap();
        let mut k: Vec<String> = v.as_object().unwrap().keys().cloned().collect();
        k.sort();
        k
    };
    assert_eq!(keys(&r), keys(&r9990));
}

#[test]
fn old_draft_schema_is_read_with_warnings() {
    let (r, diags) = one_aggregate("draft-schema.xml");
    let w = warnings(&diags);
    assert_eq!(r.edition, Edition::Rfc7489);
    assert!(has(&w, "pre-RFC 7489 draft schema"), "{w:?}");
    assert!(has(&w, "identities: old draft element name"), "{w:?}");
    assert!(
        has(&w, "policy_evaluated/spf: \"hardfail\" is not a value"),
        "{w:?}"
    );
    assert_eq!(r.records[0].spf_aligned, "fail");
    assert_eq!(r.records[0].spf[0].result, "fail");
    assert_eq!(r.records[0].header_from, "sender.example");
}

#[test]
fn sloppy_report_upper_case_empty_reason_wrong_namespace() {
    let (r, diags) = one_aggregate("sloppy.xml");
    let w = warnings(&diags);
    assert!(
        has(&w, "unknown namespace \"urn:ietf:params:xml:ns:dmarc-1.0\""),
        "{w:?}"
    );
    assert!(has(&w, "report_metadata/email: missing or empty"), "{w:?}");
    assert!(
        has(&w, "policy_published/p: \"Reject\" is not lower-case"),
        "{w:?}"
    );
    assert!(
        has(&w, "policy_evaluated/dkim: \"PASS\" is not lower-case"),
        "{w:?}"
    );
    assert!(has(&w, "reason[1]: empty reason: ignored"), "{w:?}");
    assert!(has(&w, "auth_results/dkim[1]/result: \"Pass\""), "{w:?}");
    assert_eq!(r.begin, 1767225600, "a fractional timestamp is read");
    assert_eq!(r.policy.domain, "sender.example");
    assert_eq!(r.policy.p.as_deref(), Some("reject"));
    let rec = &r.records[0];
    assert_eq!(
        (rec.dkim_aligned.as_str(), rec.spf_aligned.as_str()),
        ("pass", "fail")
    );
    assert!(rec.reasons.is_empty());
    assert_eq!(rec.header_from, "sender.example");
}

#[test]
fn invalid_utf8_is_read_lossily_with_a_warning() {
    let (r, diags) = one_aggregate("latin1.xml");
    assert!(
        has(&warnings(&diags), "invalid UTF-8 at byte"),
        "{:?}",
        diags.items
    );
    assert_eq!(r.org_name, "Empf\u{fffd}nger GmbH");
    assert_eq!(r.messages(), 17);
}

#[test]
fn what_is_not_a_report_is_refused_with_file_element_and_reason() {
    let cases = [
        (
            "not-a-report.xml",
            "html",
            "root element must be <feedback>",
        ),
        (
            "missing-report-id.xml",
            "feedback/report_metadata/report_id",
            "missing (required)",
        ),
        (
            "bad-count.xml",
            "feedback/record[1]/row/count",
            "\"many\" is not a message count",
        ),
        ("not-well-formed.xml", "", "not well-formed XML"),
        ("notes.txt", "", "not a report: neither XML, gzip, zip"),
        (
            "no-attachment.eml",
            "",
            "an e-mail without a report attachment",
        ),
    ];
    for (file, element, reason) in cases {
        let (reports, diags) = read(file);
        assert!(reports.is_empty(), "{file}");
        let errors: Vec<_> = diags.errors().collect();
        assert_eq!(errors.len(), 1, "{file}: {errors:?}");
        assert!(errors[0].file.ends_with(file), "{file}: {}", errors[0].file);
        assert_eq!(errors[0].element, element, "{file}");
        assert!(
            errors[0].reason.contains(reason),
            "{file}: {}",
            errors[0].reason
        );
        assert!(
            errors[0].to_string().starts_with("error: "),
            "{}",
            errors[0]
        );
    }
}

#[test]
fn report_emails_gzip_zip_and_xml_body() {
    let (r, _) = one_aggregate("gzip-attachment.eml");
    assert_eq!(r.report_id, "r9990-0001");
    assert!(
        r.source
            .ends_with("receiver.example!sender.example!1767225600!1767311999.xml"),
        "{}",
        r.source
    );
    // application/octet-stream, found by its name and its content.
    let (r, _) = one_aggregate("zip-octet-stream.eml");
    assert_eq!(r.report_id, "7489-42");
    assert!(
        r.source.contains(".zip: old-receiver.example!"),
        "{}",
        r.source
    );
    let (r, _) = one_aggregate("xml-body.eml");
    assert_eq!(r.report_id, "draft-7");
}

#[test]
fn failure_report_rfc9991() {
    let (reports, diags) = read("failure-rfc9991.eml");
    assert!(diags.items.is_empty(), "{:?}", diags.items);
    let Report::Failure(f) = &reports[0] else {
        panic!("not a failure report");
    };
    assert_eq!(f.feedback_type, "auth-failure");
    assert_eq!(f.auth_failure, vec!["dmarc"]);
    assert_eq!(f.source_ip.as_deref(), Some("2001:db8::25"));
    assert_eq!(f.incidents, 3);
    assert_eq!(f.identity_alignment.as_deref(), Some("none"));
    assert_eq!(f.delivery_result.as_deref(), Some("reject"));
    assert_eq!(f.reported_domain, vec!["sender.example"]);
    assert_eq!(
        f.authentication_results,
        vec!["mx.receiver.example; dmarc=fail (p=reject) header.from=sender.example"]
    );
    assert_eq!(f.original_subject.as_deref(), Some("Your account"));
    assert_eq!(
        f.original_message_id.as_deref(),
        Some("<forged-1@spoof.example>")
    );
}

#[test]
fn mbox_of_report_emails() {
    let (reports, diags) = read("reports.mbox");
    assert_eq!(reports.len(), 2);
    assert!(matches!(reports[0], Report::Aggregate(_)));
    assert!(matches!(reports[1], Report::Failure(_)));
    let errors: Vec<_> = diags.errors().collect();
    assert_eq!(errors.len(), 1, "{errors:?}");
    assert!(
        errors[0].file.contains("reports.mbox: message 3 (line"),
        "{}",
        errors[0].file
    );
}

fn gzip(bytes: &[u8]) -> Vec<u8> {
    let mut e = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    e.write_all(bytes).unwrap();
    e.finish().unwrap()
}

fn zip(entries: &[(&str, &[u8])]) -> Vec<u8> {
    let mut w = zip::ZipWriter::new(std::io::Cursor::new(Vec::new()));
    for (name, bytes) in entries {
        let options = zip::write::SimpleFileOptions::default()
            .compression_method(zip::CompressionMethod::Deflated);
        w.start_file(*name, options).unwrap();
        w.write_all(bytes).unwrap();
    }
    w.finish().unwrap().into_inner()
}

#[test]
fn gzip_and_zip_files_and_odd_gzip() {
    let xml = std::fs::read(data("rfc9990.xml")).unwrap();
    let (r, d) = parse_bytes("a.xml.gz", &gzip(&xml), ParseOptions::default());
    assert_eq!((r.len(), d.items.len()), (1, 0), "{:?}", d.items);
    let two = zip(&[
        ("one.xml", &xml),
        ("two.xml", &std::fs::read(data("rfc7489.xml")).unwrap()),
    ]);
    let (r, d) = parse_bytes("a.zip", &two, ParseOptions::default());
    assert_eq!((r.len(), d.items.len()), (2, 0), "{:?}", d.items);
    // Bytes after the gzip stream (padding some senders add): read, with a warning.
    let mut trailing = gzip(&xml);
    trailing.extend_from_slice(b"\0\0\0\0garbage");
    let (r, d) = parse_bytes("t.xml.gz", &trailing, ParseOptions::default());
    assert_eq!(r.len(), 1);
    assert!(
        has(
            &warnings(&d),
            "gzip stream damaged or followed by other bytes"
        ),
        "{:?}",
        d.items
    );
    // Two gzip members (concatenated streams) are one document.
    let half = xml.len() / 2;
    let mut members = gzip(&xml[..half]);
    members.extend(gzip(&xml[half..]));
    let (r, d) = parse_bytes("m.xml.gz", &members, ParseOptions::default());
    assert_eq!((r.len(), d.items.len()), (1, 0), "{:?}", d.items);
    // A truncated stream: what was decompressed is not well-formed XML.
    let full = gzip(&xml);
    let (r, d) = parse_bytes(
        "cut.xml.gz",
        &full[..full.len() / 2],
        ParseOptions::default(),
    );
    assert!(r.is_empty());
    assert!(d.has_errors());
    // A plain XML file named .gz.
    let (r, d) = parse_bytes("plain.xml.gz", &xml, ParseOptions::default());
    assert_eq!(r.len(), 1);
    assert!(has(
        &warnings(&d),
        "named as compressed but holds plain XML"
    ));
    // A compression bomb is refused at the limit.
    let big = gzip(&vec![b' '; 4096]);
    let (r, d) = parse_bytes(
        "bomb.xml.gz",
        &big,
        ParseOptions {
            max_size: 1024,
            ..ParseOptions::default()
        },
    );
    assert!(r.is_empty());
    assert!(
        d.errors()
            .any(|e| e.reason.contains("decompresses to more than 1024 bytes"))
    );
}

#[test]
fn maildir_and_nested_directories() {
    let tmp = tempfile::tempdir().unwrap();
    let maildir = tmp.path().join("Reports");
    std::fs::create_dir_all(maildir.join("cur")).unwrap();
    std::fs::create_dir_all(maildir.join("new")).unwrap();
    std::fs::create_dir_all(maildir.join("tmp")).unwrap();
    std::fs::copy(data("gzip-attachment.eml"), maildir.join("cur/1.host:2,S")).unwrap();
    std::fs::copy(data("zip-octet-stream.eml"), maildir.join("new/2.host")).unwrap();
    let (r, d) = parse(&maildir, ParseOptions::default());
    assert_eq!(r.len(), 2, "{:?}", d.items);
    assert!(!d.has_errors());

    let dir = tmp.path().join("all");
    std::fs::create_dir_all(dir.join("2026/01")).unwrap();
    let xml = std::fs::read(data("rfc9990.xml")).unwrap();
    std::fs::write(dir.join("2026/01/r.xml.gz"), gzip(&xml)).unwrap();
    std::fs::write(
        dir.join("2026/old.zip"),
        zip(&[("x.xml", &std::fs::read(data("rfc7489.xml")).unwrap())]),
    )
    .unwrap();
    std::fs::copy(data("failure-rfc9991.eml"), dir.join("f.eml")).unwrap();
    std::fs::write(dir.join(".DS_Store"), b"junk").unwrap();
    let (r, d) = parse(&dir, ParseOptions::default());
    assert_eq!(r.len(), 3, "{:?}", d.items);
    assert!(!d.has_errors());
    assert!(has(&warnings(&d), "1 hidden entries"));
    let s = summary::summarise(&r);
    assert_eq!((s.aggregate_reports, s.failure_reports), (2, 1));
    assert_eq!(s.total.messages, 67);
    // 192.0.2.10 is in both reports: 40 + 12 messages, all passing.
    let top = &s.sources[0];
    assert_eq!(
        (top.key.as_str(), top.tally.messages, top.tally.dmarc_pass),
        ("192.0.2.10", 52, 52)
    );
    assert_eq!(s.top_failing[0].key, "2001:db8::25");
    assert_eq!(s.total.reject_would_refuse, 3 + 5);
}

#[test]
fn the_whole_corpus_summary_and_csv() {
    let (reports, diags) = parse(&data(""), ParseOptions::default());
    // 10 readable files give 11 reports (the mbox holds two); 7 files (README.md included)
    // and 1 mbox message are not reports.
    assert_eq!(reports.len(), 11, "{:?}", diags.items);
    assert_eq!(
        diags.errors().count(),
        7 + 1,
        "{:?}",
        diags.errors().collect::<Vec<_>>()
    );
    let s = summary::summarise(&reports);
    assert_eq!((s.aggregate_reports, s.failure_reports), (9, 2));
    let text = s.render();
    assert!(
        text.contains("9 aggregate report(s), 2 failure report(s)"),
        "{text}"
    );
    assert!(text.contains("Top failing sources:"));
    let csv = summary::csv(&reports);
    let rows = csv.lines().count() - 1;
    let records: usize = aggregates(&reports).iter().map(|a| a.records.len()).sum();
    assert_eq!(rows, records);
    assert!(csv.starts_with(summary::CSV_HEADER));
}
