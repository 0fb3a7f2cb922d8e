//! Round trip with an independent parser (issue 16): aggregate reports written by
//! `mailstamp report generate` from a store of known verdicts are read by parsedmarc
//! (`tests/interop/parsedmarc_helper.py`, its Python API in offline mode: no DNS, no
//! downloads) and by mailstamp, and both give the counts the verdicts make: messages per
//! source, dispositions, DKIM and SPF alignment, DKIM and SPF results.
//!
//! parsedmarc runs with the interpreter named by `MAILSTAMP_PYTHON` (the .venv that
//! scripts/install-test-deps makes, where parsedmarc is pinned). When it cannot run the test
//! FAILS, unless `MAILSTAMP_SKIP_INTEROP=1` skips it on purpose (said on stderr), like the
//! dkimpy tests.

use crate::mailstamp;
use mailstamp_reports::store::{DkimResult, Evaluation, Store};
use serde_json::{Value, json};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

fn helper() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("interop/parsedmarc_helper.py")
}

/// 2026-01-01T00:00:00Z.
const DAY1: i64 = 1_767_225_600;
const DAY: i64 = 86_400;

struct Verdict {
    time: i64,
    domain: &'static str,
    ip: &'static str,
    disposition: &'static str,
    dkim: &'static [(&'static str, &'static str, &'static str)],
    spf: (&'static str, &'static str, &'static str),
    count: usize,
}

/// The known verdicts: two domains, two days, every disposition, DKIM and SPF results of
/// every kind, IPv4 and IPv6 sources.
const VERDICTS: &[Verdict] = &[
    Verdict {
        time: DAY1 + 60,
        domain: "example.org",
        ip: "192.0.2.1",
        disposition: "none",
        dkim: &[("example.org", "s1", "pass")],
        spf: ("example.org", "mfrom", "pass"),
        count: 5,
    },
    Verdict {
        time: DAY1 + 3_600,
        domain: "example.org",
        ip: "198.51.100.7",
        disposition: "reject",
        dkim: &[
            ("example.org", "s1", "fail"),
            ("spoof.example", "x", "pass"),
        ],
        spf: ("spoof.example", "mfrom", "softfail"),
        count: 3,
    },
    Verdict {
        time: DAY1 + 7_200,
        domain: "example.org",
        ip: "2001:db8::25",
        disposition: "quarantine",
        dkim: &[],
        spf: ("mail.spoof.example", "helo", "fail"),
        count: 2,
    },
    Verdict {
        time: DAY1 + DAY + 10,
        domain: "example.org",
        ip: "192.0.2.1",
        disposition: "none",
        dkim: &[("example.org", "s1", "pass")],
        spf: ("example.org", "mfrom", "pass"),
        count: 4,
    },
    Verdict {
        time: DAY1 + DAY + 20,
        domain: "example.org",
        ip: "203.0.113.9",
        disposition: "none",
        dkim: &[("lists.example.net", "l", "pass")],
        spf: ("lists.example.net", "mfrom", "neutral"),
        count: 1,
    },
    Verdict {
        time: DAY1 + 500,
        domain: "example.net",
        ip: "192.0.2.50",
        disposition: "none",
        dkim: &[("example.net", "k", "pass")],
        spf: ("example.net", "mfrom", "temperror"),
        count: 2,
    },
];

fn evaluation(v: &Verdict) -> Evaluation {
    let dkim_aligned = v
        .dkim
        .iter()
        .any(|(d, _, r)| *d == v.domain && *r == "pass");
    let spf_aligned = v.spf.0 == v.domain && v.spf.2 == "pass";
    Evaluation {
        time: v.time,
        source_ip: v.ip.to_owned(),
        header_from: v.domain.to_owned(),
        envelope_from: Some(v.spf.0.to_owned()),
        policy_domain: v.domain.to_owned(),
        dmarc_result: if dkim_aligned || spf_aligned {
            "pass"
        } else {
            "fail"
        }
        .to_owned(),
        disposition: v.disposition.to_owned(),
        dkim_aligned,
        spf_aligned,
        spf_domain: Some(v.spf.0.to_owned()),
        spf_scope: Some(v.spf.1.to_owned()),
        spf_result: Some(v.spf.2.to_owned()),
        dkim: v
            .dkim
            .iter()
            .map(|(d, s, r)| DkimResult {
                domain: (*d).to_owned(),
                selector: (*s).to_owned(),
                result: (*r).to_owned(),
            })
            .collect(),
        reason: None,
        policy_p: Some("reject".to_owned()),
        policy_sp: None,
        policy_np: None,
        policy_adkim: Some("r".to_owned()),
        policy_aspf: Some("r".to_owned()),
        policy_testing: None,
        policy_record: Some("v=DMARC1; p=reject".to_owned()),
    }
}

fn add(map: &mut Value, key: &str, n: u64) {
    let slot = &mut map[key];
    *slot = json!(slot.as_u64().unwrap_or(0) + n);
}

/// The counts the verdicts make, per report (keyed by Report-ID), in the helper's shape.
fn expected() -> BTreeMap<String, Value> {
    let mut out: BTreeMap<String, Value> = BTreeMap::new();
    for v in VERDICTS {
        let begin = v.time - v.time.rem_euclid(DAY);
        let id = format!("{}!{begin}!{}", v.domain, begin + DAY - 1);
        let c = out.entry(id.clone()).or_insert_with(|| {
            json!({"report_id": id, "domain": v.domain, "messages": 0, "sources": {},
                   "dispositions": {}, "dkim_aligned": {}, "spf_aligned": {}, "dkim": {},
                   "spf": {}})
        });
        let e = evaluation(v);
        let n = v.count as u64;
        c["messages"] = json!(c["messages"].as_u64().unwrap() + n);
        add(&mut c["sources"], v.ip, n);
        add(&mut c["dispositions"], v.disposition, n);
        let pf = |b| if b { "pass" } else { "fail" };
        add(&mut c["dkim_aligned"], pf(e.dkim_aligned), n);
        add(&mut c["spf_aligned"], pf(e.spf_aligned), n);
        for (d, s, r) in v.dkim {
            add(&mut c["dkim"], &format!("{d}/{s}/{r}"), n);
        }
        add(
            &mut c["spf"],
            &format!("{}/{}/{}", v.spf.0, v.spf.1, v.spf.2),
            n,
        );
    }
    out
}

/// The same counts from mailstamp's own reader.
fn mailstamp_counts(file: &Path) -> Value {
    let (reports, diags) =
        mailstamp_reports::parse(file, mailstamp_reports::ParseOptions::default());
    assert!(diags.items.is_empty(), "{:?}", diags.items);
    let [mailstamp_reports::Report::Aggregate(r)] = reports.as_slice() else {
        panic!("{}: not one aggregate report", file.display());
    };
    let mut c = json!({"report_id": r.report_id, "domain": r.policy.domain, "messages": 0,
                       "sources": {}, "dispositions": {}, "dkim_aligned": {},
                       "spf_aligned": {}, "dkim": {}, "spf": {}});
    for rec in &r.records {
        let n = rec.count;
        c["messages"] = json!(c["messages"].as_u64().unwrap() + n);
        add(&mut c["sources"], &rec.source_ip, n);
        add(&mut c["dispositions"], &rec.disposition, n);
        add(&mut c["dkim_aligned"], &rec.dkim_aligned, n);
        add(&mut c["spf_aligned"], &rec.spf_aligned, n);
        for d in &rec.dkim {
            let key = format!(
                "{}/{}/{}",
                d.domain,
                d.selector.as_deref().unwrap_or(""),
                d.result
            );
            add(&mut c["dkim"], &key, n);
        }
        for s in &rec.spf {
            let key = format!(
                "{}/{}/{}",
                s.domain,
                s.scope.as_deref().unwrap_or(""),
                s.result
            );
            add(&mut c["spf"], &key, n);
        }
    }
    c
}

#[test]
fn generated_reports_read_by_parsedmarc_give_the_counts_of_the_verdicts() {
    let Some(py) = mailstamp_testkit::interop::python(&helper(), "parsedmarc") else {
        return;
    };
    let tmp = tempfile::tempdir().unwrap();
    let db = tmp.path().join("verdicts.db");
    let mut store = Store::open(db.to_str().unwrap()).unwrap();
    let batch: Vec<Evaluation> = VERDICTS
        .iter()
        .flat_map(|v| std::iter::repeat_n(evaluation(v), v.count))
        .collect();
    store.record(&batch).unwrap();
    drop(store);

    let out_dir = tmp.path().join("out");
    std::fs::create_dir(&out_dir).unwrap();
    mailstamp()
        .args(["report", "generate", "--store", db.to_str().unwrap()])
        .args(["--org-name", "Receiver Test"])
        .args(["--email", "dmarc@receiver.example"])
        .args(["--now", &(DAY1 + 3 * DAY).to_string(), "--out"])
        .arg(&out_dir)
        .assert()
        .success();
    let mut files: Vec<PathBuf> = std::fs::read_dir(&out_dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    files.sort();
    let expected = expected();
    assert_eq!(files.len(), expected.len(), "{files:?}");

    let args = std::iter::once("counts".as_ref()).chain(files.iter().map(|f| f.as_os_str()));
    let out = mailstamp_testkit::interop::run(&py, &helper(), args, b"");
    assert!(
        out.status.success(),
        "parsedmarc: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let theirs: Vec<Value> = String::from_utf8(out.stdout)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(theirs.len(), files.len());
    const KEYS: [&str; 9] = [
        "report_id",
        "domain",
        "messages",
        "sources",
        "dispositions",
        "dkim_aligned",
        "spf_aligned",
        "dkim",
        "spf",
    ];
    for (file, parsed) in files.iter().zip(&theirs) {
        assert_eq!(parsed["org_name"], "Receiver Test");
        let id = parsed["report_id"].as_str().unwrap();
        let want = &expected[id];
        let ours = mailstamp_counts(file);
        for key in KEYS {
            assert_eq!(parsed[key], want[key], "parsedmarc, {id}, {key}");
            assert_eq!(ours[key], want[key], "mailstamp, {id}, {key}");
        }
    }
}
