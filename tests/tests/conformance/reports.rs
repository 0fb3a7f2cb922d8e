//! DMARC report parsing over mail-auth's report samples
//! (`dmarc/mail-auth-reports`, see PROVENANCE.md): every sample is read, and what mailstamp
//! reads matches mail-auth's parsed form field by field.

use mailstamp_reports::{ParseOptions, Report, parse};
use mailstamp_tests::conformance_dir;
use serde_json::Value;
use std::path::Path;

/// mail-auth's enum names (`TrustedForwarder`, `AuthFailure`) as the RFC tokens
/// (`trusted_forwarder`, `auth-failure`), with `sep` between words.
fn token(v: &Value, sep: char) -> String {
    let s = v.as_str().unwrap_or_default();
    let mut out = String::new();
    for (i, c) in s.chars().enumerate() {
        if c.is_ascii_uppercase() && i > 0 {
            out.push(sep);
        }
        out.push(c.to_ascii_lowercase());
    }
    out
}

fn text(v: &Value) -> Option<String> {
    v.as_str().filter(|s| !s.is_empty()).map(str::to_owned)
}

fn read_one(path: &Path) -> Report {
    let (reports, diags) = parse(path, ParseOptions::default());
    assert!(!diags.has_errors(), "{}: {:?}", path.display(), diags.items);
    assert_eq!(reports.len(), 1, "{}", path.display());
    reports.into_iter().next().unwrap()
}

fn check_aggregate(path: &Path, expected: &Value) -> u64 {
    let Report::Aggregate(r) = read_one(path) else {
        panic!("{}: not an aggregate report", path.display());
    };
    let meta = &expected["report_metadata"];
    assert_eq!(r.org_name, meta["org_name"].as_str().unwrap());
    assert_eq!(r.email, meta["email"].as_str().unwrap());
    assert_eq!(r.report_id, meta["report_id"].as_str().unwrap());
    assert_eq!(r.begin, meta["date_range"]["begin"].as_i64().unwrap());
    assert_eq!(r.end, meta["date_range"]["end"].as_i64().unwrap());
    let pp = &expected["policy_published"];
    assert_eq!(r.policy.domain, pp["domain"].as_str().unwrap());
    assert_eq!(r.policy.p.as_deref(), Some(token(&pp["p"], '_').as_str()));
    assert_eq!(r.policy.sp.as_deref(), Some(token(&pp["sp"], '_').as_str()));
    let records = expected["record"].as_array().unwrap();
    assert_eq!(r.records.len(), records.len(), "{}", path.display());
    for (got, want) in r.records.iter().zip(records) {
        let row = &want["row"];
        assert_eq!(got.source_ip, row["source_ip"].as_str().unwrap());
        assert_eq!(got.count, row["count"].as_u64().unwrap());
        let pe = &row["policy_evaluated"];
        assert_eq!(got.disposition, token(&pe["disposition"], '_'));
        assert_eq!(got.dkim_aligned, token(&pe["dkim"], '_'));
        assert_eq!(got.spf_aligned, token(&pe["spf"], '_'));
        let reasons = pe["reason"].as_array().unwrap();
        assert_eq!(got.reasons.len(), reasons.len());
        for (g, w) in got.reasons.iter().zip(reasons) {
            let want_kind = token(&w["type_"], '_');
            // mail-auth reads RFC 7489's `sampled_out` and `forwarded` as `Other`.
            let same = g.kind == want_kind
                || (want_kind == "other"
                    && ["sampled_out", "forwarded"].contains(&g.kind.as_str()));
            assert!(same, "{}: reason {} vs {want_kind}", path.display(), g.kind);
            assert_eq!(g.comment, text(&w["comment"]));
        }
        let ids = &want["identifiers"];
        assert_eq!(got.header_from, ids["header_from"].as_str().unwrap());
        assert_eq!(got.envelope_from, text(&ids["envelope_from"]));
        assert_eq!(got.envelope_to, text(&ids["envelope_to"]));
        let dkim = want["auth_results"]["dkim"].as_array().unwrap();
        assert_eq!(got.dkim.len(), dkim.len());
        for (g, w) in got.dkim.iter().zip(dkim) {
            assert_eq!(g.domain, w["domain"].as_str().unwrap());
            assert_eq!(g.selector, text(&w["selector"]));
            assert_eq!(g.result, token(&w["result"], '_'));
            assert_eq!(g.human_result, text(&w["human_result"]));
        }
        let spf = want["auth_results"]["spf"].as_array().unwrap();
        assert_eq!(got.spf.len(), spf.len());
        for (g, w) in got.spf.iter().zip(spf) {
            assert_eq!(g.domain, w["domain"].as_str().unwrap());
            assert_eq!(g.result, token(&w["result"], '_'));
        }
    }
    r.messages()
}

fn check_failure(path: &Path, expected: &Value) {
    let Report::Failure(r) = read_one(path) else {
        panic!("{}: not a failure report", path.display());
    };
    assert_eq!(r.feedback_type, token(&expected["feedback_type"], '-'));
    let auth_failure = token(&expected["auth_failure"], '_').replace('_', "");
    if auth_failure == "unspecified" {
        assert!(r.auth_failure.is_empty());
    } else {
        assert_eq!(r.auth_failure, vec![auth_failure]);
    }
    assert_eq!(r.source_ip, text(&expected["source_ip"]));
    let domains: Vec<String> = expected["reported_domain"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(text)
        .collect();
    assert_eq!(r.reported_domain, domains);
    let strip = |s: Option<String>| s.map(|s| s.trim_matches(['<', '>']).to_owned());
    assert_eq!(
        strip(r.original_mail_from.clone()),
        strip(text(&expected["original_mail_from"]))
    );
    assert_eq!(r.user_agent, text(&expected["user_agent"]));
    assert_eq!(r.incidents, expected["incidents"].as_u64().unwrap());
    assert_eq!(
        r.version.as_deref().and_then(|v| v.parse::<u64>().ok()),
        expected["version"].as_u64()
    );
}

#[test]
fn every_mail_auth_report_sample_parses_as_mail_auth_reads_it() {
    let dir = conformance_dir().join("dmarc/mail-auth-reports");
    let mut aggregate = 0;
    let mut failure = 0;
    let mut messages = 0;
    for sub in ["dmarc-feedback", "arf"] {
        let mut files: Vec<_> = std::fs::read_dir(dir.join(sub))
            .unwrap()
            .map(|e| e.unwrap().path())
            .filter(|p| p.extension().is_some_and(|e| e != "json"))
            .collect();
        files.sort();
        for file in files {
            let expected: Value =
                serde_json::from_slice(&std::fs::read(file.with_extension("json")).unwrap())
                    .unwrap();
            if sub == "arf" {
                check_failure(&file, &expected);
                failure += 1;
            } else {
                messages += check_aggregate(&file, &expected);
                aggregate += 1;
            }
        }
    }
    // 5 XML files and 5 report e-mails (zip, gzip, gzip as octet-stream); 5 ARF reports.
    assert_eq!((aggregate, failure), (10, 5));
    assert_eq!(messages, 123 + 2 + 9 + 123 + 1 + 5);
}

#[test]
fn the_whole_folder_reads_as_one_input() {
    let dir = conformance_dir().join("dmarc/mail-auth-reports");
    let (reports, diags) = parse(&dir, ParseOptions::default());
    assert_eq!(reports.len(), 15);
    // The folder also holds mail-auth's JSON and a licence: each is named as not a report.
    let errors: Vec<_> = diags.errors().collect();
    assert_eq!(errors.len(), 16, "{errors:?}");
    assert!(errors.iter().all(|e| e.reason.starts_with("not a report")));
    let summary = mailstamp_reports::summary::summarise(&reports);
    assert_eq!(summary.aggregate_reports, 10);
    assert_eq!(summary.failure_reports, 5);
    assert_eq!(summary.total.messages, 263);
}
