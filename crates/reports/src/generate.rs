//! Writing aggregate reports (RFC 9990) from the verdict store: one report per Policy Domain
//! and period, the evaluations grouped into records, the report-ID and period recorded in the
//! store so that a period is never reported twice. Periods are aligned to multiples of the
//! period length (UTC days for `86400`); a run reports every complete period since the last
//! one reported (or since the first evaluation), so none is skipped. A period is recorded only
//! after its file was written (atomically, flushed to disk) and in the same store
//! transaction, so a crash or a write error never loses one.

use crate::html::escape;
use crate::store::{Evaluation, Store, StoreError};
use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::io::Write as _;
use std::path::{Path, PathBuf};

/// Who writes the reports (`report_metadata`).
#[derive(Debug, Clone)]
pub struct Reporter {
    /// `org_name`.
    pub org_name: String,
    /// `email`: the contact address; its domain is the file name's `receiver`.
    pub email: String,
    /// `extra_contact_info`.
    pub extra_contact_info: Option<String>,
}

/// One generated report.
#[derive(Debug, Clone)]
pub struct Generated {
    /// The Policy Domain.
    pub policy_domain: String,
    /// The first second of the period.
    pub begin: i64,
    /// The last second of the period (`date_range/end`).
    pub end: i64,
    /// The Report-ID.
    pub report_id: String,
    /// The file name RFC 9990 gives: `receiver!policy-domain!begin!end.xml.gz`.
    pub file_name: String,
    /// Where the file was written.
    pub path: PathBuf,
    /// The XML document.
    pub xml: String,
    /// The XML, gzip-compressed.
    pub gzip: Vec<u8>,
    /// The messages covered.
    pub messages: u64,
}

fn opt(out: &mut String, indent: &str, name: &str, value: Option<&str>) {
    if let Some(v) = value {
        let _ = writeln!(out, "{indent}<{name}>{}</{name}>", escape(v));
    }
}

/// The grouping key of a record: everything a record element holds but the count.
type Key = (
    String,
    String,
    Option<String>,
    String,
    bool,
    bool,
    Option<String>,
    String,
);

fn key(e: &Evaluation) -> Key {
    (
        e.source_ip.clone(),
        e.header_from.clone(),
        e.envelope_from.clone(),
        e.disposition.clone(),
        e.dkim_aligned,
        e.spf_aligned,
        e.reason.clone(),
        format!(
            "{:?}{:?}{:?}{:?}",
            e.spf_domain, e.spf_scope, e.spf_result, e.dkim
        ),
    )
}

/// The XML of one report (RFC 9990, namespace `urn:ietf:params:xml:ns:dmarc-2.0`).
pub fn report_xml(
    reporter: &Reporter,
    report_id: &str,
    begin: i64,
    end: i64,
    evaluations: &[Evaluation],
) -> String {
    let mut x = String::from(
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<feedback xmlns=\"urn:ietf:params:xml:ns:dmarc-2.0\">\n  <version>1.0</version>\n  <report_metadata>\n",
    );
    let _ = writeln!(x, "    <org_name>{}</org_name>", escape(&reporter.org_name));
    let _ = writeln!(x, "    <email>{}</email>", escape(&reporter.email));
    opt(
        &mut x,
        "    ",
        "extra_contact_info",
        reporter.extra_contact_info.as_deref(),
    );
    let _ = writeln!(x, "    <report_id>{}</report_id>", escape(report_id));
    let _ = writeln!(
        x,
        "    <date_range>\n      <begin>{begin}</begin>\n      <end>{end}</end>\n    </date_range>"
    );
    let _ = writeln!(
        x,
        "    <generator>mailstamp {}</generator>\n  </report_metadata>",
        env!("CARGO_PKG_VERSION")
    );
    // The final configuration observed in the period (RFC 9990, "DMARC Feedback").
    let last = evaluations.last();
    x.push_str("  <policy_published>\n");
    let _ = writeln!(
        x,
        "    <domain>{}</domain>",
        escape(last.map_or("", |e| e.policy_domain.as_str()))
    );
    let _ = writeln!(
        x,
        "    <p>{}</p>",
        escape(last.and_then(|e| e.policy_p.as_deref()).unwrap_or("none"))
    );
    opt(
        &mut x,
        "    ",
        "sp",
        last.and_then(|e| e.policy_sp.as_deref()),
    );
    opt(
        &mut x,
        "    ",
        "np",
        last.and_then(|e| e.policy_np.as_deref()),
    );
    opt(
        &mut x,
        "    ",
        "adkim",
        last.and_then(|e| e.policy_adkim.as_deref()),
    );
    opt(
        &mut x,
        "    ",
        "aspf",
        last.and_then(|e| e.policy_aspf.as_deref()),
    );
    opt(
        &mut x,
        "    ",
        "testing",
        last.and_then(|e| e.policy_testing.as_deref()),
    );
    x.push_str("  </policy_published>\n");
    let mut groups: BTreeMap<Key, (u64, &Evaluation)> = BTreeMap::new();
    for e in evaluations {
        groups.entry(key(e)).or_insert((0, e)).0 += 1;
    }
    for (count, e) in groups.values() {
        let pass = |b: bool| if b { "pass" } else { "fail" };
        let _ = writeln!(
            x,
            "  <record>\n    <row>\n      <source_ip>{}</source_ip>\n      <count>{count}</count>\n      <policy_evaluated>\n        <disposition>{}</disposition>\n        <dkim>{}</dkim>\n        <spf>{}</spf>",
            escape(&e.source_ip),
            escape(&e.disposition),
            pass(e.dkim_aligned),
            pass(e.spf_aligned)
        );
        if let Some(reason) = &e.reason
            && e.dmarc_result != "pass"
        {
            let _ = writeln!(
                x,
                "        <reason>\n          <type>other</type>\n          <comment>{}</comment>\n        </reason>",
                escape(reason)
            );
        }
        x.push_str("      </policy_evaluated>\n    </row>\n    <identifiers>\n");
        let _ = writeln!(
            x,
            "      <header_from>{}</header_from>",
            escape(&e.header_from)
        );
        opt(
            &mut x,
            "      ",
            "envelope_from",
            e.envelope_from.as_deref(),
        );
        x.push_str("    </identifiers>\n    <auth_results>\n");
        for d in &e.dkim {
            let _ = writeln!(
                x,
                "      <dkim>\n        <domain>{}</domain>\n        <selector>{}</selector>\n        <result>{}</result>\n      </dkim>",
                escape(&d.domain),
                escape(&d.selector),
                escape(&d.result)
            );
        }
        if let Some(domain) = &e.spf_domain {
            let _ = writeln!(
                x,
                "      <spf>\n        <domain>{}</domain>\n        <scope>{}</scope>\n        <result>{}</result>\n      </spf>",
                escape(domain),
                escape(e.spf_scope.as_deref().unwrap_or("mfrom")),
                escape(e.spf_result.as_deref().unwrap_or("none"))
            );
        }
        x.push_str("    </auth_results>\n  </record>\n");
    }
    x.push_str("</feedback>\n");
    x
}

/// Why [`generate`] stopped.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum GenerateError {
    /// The store failed.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// A report file could not be written; its period stays unreported (a later run writes
    /// it), and no later period of any domain was reported by this run.
    #[error("cannot write {}: {source}", path.display())]
    Write {
        /// The file.
        path: PathBuf,
        /// The error.
        source: std::io::Error,
    },
}

/// Writes `bytes` to `dir/name` atomically: into a temporary file in `dir`, flushed to disk
/// (`fsync`), renamed over `dir/name`, then the directory flushed, so that after a crash the
/// file is either absent or complete. Returns the path written.
pub fn write_atomically(dir: &Path, name: &str, bytes: &[u8]) -> std::io::Result<PathBuf> {
    let path = dir.join(name);
    let tmp = dir.join(format!(".{name}.{}.tmp", std::process::id()));
    let written = (|| {
        let mut f = std::fs::OpenOptions::new()
            .write(true)
            .create(true)
            .truncate(true)
            .open(&tmp)?;
        f.write_all(bytes)?;
        f.sync_all()?;
        drop(f);
        std::fs::rename(&tmp, &path)
    })();
    if let Err(e) = written {
        let _ = std::fs::remove_file(&tmp);
        return Err(e);
    }
    // The rename is durable once the directory is (where a directory can be opened).
    if let Ok(d) = std::fs::File::open(dir) {
        d.sync_all()?;
    }
    Ok(path)
}

/// Generates the reports of every complete period (`period` seconds long) before `now` that
/// has not been reported yet, writes each into `out_dir` ([`write_atomically`], under the
/// name RFC 9990 gives) and records it in the store, in that order and in one transaction
/// ([`Store::report_period`]): a period is recorded only once its file exists, is never
/// reported twice (also by concurrent runs), and a write error leaves it for the next run.
/// `reported` is called for each report once it is written and recorded.
///
/// On a write error the run stops: the periods reported before it stay reported, and none
/// after it (the next period of a domain starts where the last recorded one ended, so
/// nothing is skipped).
pub fn generate(
    store: &mut Store,
    reporter: &Reporter,
    period: i64,
    now: i64,
    out_dir: &Path,
    mut reported: impl FnMut(&Generated),
) -> Result<usize, GenerateError> {
    let period = period.max(1);
    let receiver = reporter
        .email
        .rsplit('@')
        .next()
        .unwrap_or(&reporter.email)
        .to_ascii_lowercase();
    let mut count = 0;
    for (domain, first) in store.domains()? {
        let mut begin = match store.last_reported_end(&domain)? {
            Some(end) => end,
            None => first - first.rem_euclid(period),
        };
        while begin + period <= now {
            let end = begin + period;
            let evaluations = store.evaluations(&domain, begin, end)?;
            if !evaluations.is_empty() {
                let report_id = format!("{domain}!{begin}!{}", end - 1);
                let xml = report_xml(reporter, &report_id, begin, end - 1, &evaluations);
                let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::best());
                let gzip = gz
                    .write_all(xml.as_bytes())
                    .and_then(|()| gz.finish())
                    .unwrap_or_default();
                let messages = evaluations.len() as u64;
                let file_name = format!("{receiver}!{domain}!{begin}!{}.xml.gz", end - 1);
                let path = out_dir.join(&file_name);
                let written =
                    store.report_period(&domain, begin, end, &report_id, now, messages, || {
                        write_atomically(out_dir, &file_name, &gzip).map(drop)
                    })?;
                match written {
                    Ok(true) => {
                        count += 1;
                        reported(&Generated {
                            file_name,
                            path,
                            policy_domain: domain.clone(),
                            begin,
                            end: end - 1,
                            report_id,
                            xml,
                            gzip,
                            messages,
                        });
                    }
                    Ok(false) => {}
                    Err(source) => return Err(GenerateError::Write { path, source }),
                }
            }
            begin = end;
        }
    }
    Ok(count)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::DkimResult;

    fn evaluation(time: i64) -> Evaluation {
        Evaluation {
            time,
            source_ip: "192.0.2.1".to_owned(),
            header_from: "example.org".to_owned(),
            envelope_from: Some("example.org".to_owned()),
            policy_domain: "example.org".to_owned(),
            dmarc_result: "pass".to_owned(),
            disposition: "none".to_owned(),
            dkim_aligned: true,
            spf_aligned: true,
            spf_domain: Some("example.org".to_owned()),
            spf_scope: Some("mfrom".to_owned()),
            spf_result: Some("pass".to_owned()),
            dkim: vec![DkimResult {
                domain: "example.org".to_owned(),
                selector: "s1".to_owned(),
                result: "pass".to_owned(),
            }],
            reason: None,
            policy_p: Some("reject".to_owned()),
            policy_sp: None,
            policy_np: None,
            policy_adkim: None,
            policy_aspf: None,
            policy_testing: None,
            policy_record: None,
        }
    }

    fn reporter() -> Reporter {
        Reporter {
            org_name: "Receiver".to_owned(),
            email: "dmarc@receiver.example".to_owned(),
            extra_contact_info: None,
        }
    }

    /// Issue 16: a period is recorded only after its file exists; a write error leaves it
    /// (and every later period) unreported, and the next run reports each exactly once.
    #[test]
    fn issue_16_a_write_error_leaves_the_period_unreported_for_the_next_run() {
        let tmp = tempfile::tempdir().unwrap();
        let mut store = Store::open(tmp.path().join("v.db").to_str().unwrap()).unwrap();
        // Two days of evaluations.
        store
            .record(&[evaluation(86_400 * 10 + 5), evaluation(86_400 * 11 + 5)])
            .unwrap();
        let now = 86_400 * 12;

        // The output "directory" is a file: nothing can be written into it.
        let not_a_dir = tmp.path().join("file");
        std::fs::write(&not_a_dir, b"").unwrap();
        let mut seen = Vec::new();
        let err = generate(&mut store, &reporter(), 86_400, now, &not_a_dir, |g| {
            seen.push(g.file_name.clone());
        })
        .unwrap_err();
        assert!(matches!(err, GenerateError::Write { .. }), "{err}");
        assert!(
            err.to_string()
                .contains("receiver.example!example.org!864000!950399.xml.gz"),
            "{err}"
        );
        assert!(seen.is_empty());
        assert_eq!(store.last_reported_end("example.org").unwrap(), None);

        // The next run, with a directory, reports both days; a third run reports nothing.
        let out = tmp.path().join("out");
        std::fs::create_dir(&out).unwrap();
        let n = generate(&mut store, &reporter(), 86_400, now, &out, |g| {
            seen.push(g.file_name.clone());
        })
        .unwrap();
        assert_eq!(n, 2);
        assert_eq!(
            seen,
            [
                "receiver.example!example.org!864000!950399.xml.gz",
                "receiver.example!example.org!950400!1036799.xml.gz"
            ]
        );
        for name in &seen {
            assert!(out.join(name).is_file(), "{name}");
        }
        // No temporary file is left behind.
        assert_eq!(std::fs::read_dir(&out).unwrap().count(), 2);
        assert_eq!(
            store.last_reported_end("example.org").unwrap(),
            Some(86_400 * 12)
        );
        let n = generate(&mut store, &reporter(), 86_400, now, &out, |_| {
            panic!("reported twice")
        })
        .unwrap();
        assert_eq!(n, 0);
    }

    /// A period already recorded (by a concurrent run) is not written again.
    #[test]
    fn report_period_does_not_write_a_period_already_reported() {
        let tmp = tempfile::tempdir().unwrap();
        let mut store = Store::open(tmp.path().join("v.db").to_str().unwrap()).unwrap();
        let first = store
            .report_period("example.org", 0, 86_400, "id-1", 1, 3, || {
                Ok::<(), std::io::Error>(())
            })
            .unwrap();
        assert!(first.unwrap());
        let second = store
            .report_period("example.org", 0, 86_400, "id-1", 2, 3, || {
                Err(std::io::Error::other("must not be called"))
            })
            .unwrap();
        assert!(!second.unwrap());
    }
}
