//! Writing aggregate reports (RFC 9990) from the verdict store: one report per Policy Domain
//! and period, the evaluations grouped into records, the report-ID and period recorded in the
//! store so that a period is never reported twice. Periods are aligned to multiples of the
//! period length (UTC days for `86400`); a run reports every complete period since the last
//! one reported (or since the first evaluation), so none is skipped.

use crate::html::escape;
use crate::store::{Evaluation, Store, StoreError};
use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::io::Write as _;

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

/// Generates the reports of every complete period (`period` seconds long) before `now` that
/// has not been reported yet, and records each in the store.
pub fn generate(
    store: &mut Store,
    reporter: &Reporter,
    period: i64,
    now: i64,
) -> Result<Vec<Generated>, StoreError> {
    let period = period.max(1);
    let receiver = reporter
        .email
        .rsplit('@')
        .next()
        .unwrap_or(&reporter.email)
        .to_ascii_lowercase();
    let mut out = Vec::new();
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
                if store.mark_reported(&domain, begin, end, &report_id, now, messages)? {
                    out.push(Generated {
                        file_name: format!("{receiver}!{domain}!{begin}!{}.xml.gz", end - 1),
                        policy_domain: domain.clone(),
                        begin,
                        end: end - 1,
                        report_id,
                        xml,
                        gzip,
                        messages,
                    });
                }
            }
            begin = end;
        }
    }
    Ok(out)
}
