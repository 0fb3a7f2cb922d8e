//! `mailstamp report view`: one self-contained HTML page (no network access: styles, data
//! and charts are inline; the charts are SVG drawn here): volume and DMARC pass rate over time
//! per policy domain, the sources that fail alignment, and what a move to `p=reject` would
//! refuse. A short inline script recomputes the totals from the embedded data, so a reader
//! (or a test in a headless browser) sees that the page and its data agree.

use crate::model::Report;
use crate::summary::{Tally, date, percent, summarise};
use std::collections::BTreeMap;
use std::fmt::Write as _;

/// Text escaped for HTML element content and attribute values.
pub fn escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

/// Per policy domain, per day (the date of each report's `begin`): the tally.
fn series(reports: &[Report]) -> BTreeMap<String, BTreeMap<String, Tally>> {
    let mut out: BTreeMap<String, BTreeMap<String, Tally>> = BTreeMap::new();
    for r in reports {
        if let Report::Aggregate(a) = r {
            let day = out
                .entry(a.policy.domain.clone())
                .or_default()
                .entry(date(a.begin))
                .or_default();
            for rec in &a.records {
                day.add(rec);
            }
        }
    }
    out
}

/// The SVG chart of one domain: a bar per day (messages; the passing part darker) and the
/// pass rate as a line on a 0–100 % scale.
fn chart(domain: &str, days: &BTreeMap<String, Tally>) -> String {
    const W: f64 = 640.0;
    const H: f64 = 200.0;
    const PAD: f64 = 30.0;
    let max = days.values().map(|t| t.messages).max().unwrap_or(0).max(1) as f64;
    let n = days.len().max(1) as f64;
    let slot = (W - 2.0 * PAD) / n;
    let bar = (slot * 0.7).max(1.0);
    let mut svg = String::new();
    let _ = write!(
        svg,
        r#"<svg class="chart" data-domain="{d}" xmlns="http://www.w3.org/2000/svg" width="{W}" height="{H}" viewBox="0 0 {W} {H}" role="img" aria-label="messages and DMARC pass rate per day for {d}">"#,
        d = escape(domain)
    );
    let _ = write!(
        svg,
        r##"<line x1="{PAD}" y1="{y}" x2="{x2}" y2="{y}" stroke="#888"/>"##,
        y = H - PAD,
        x2 = W - PAD
    );
    let mut points = Vec::new();
    for (i, (day, t)) in days.iter().enumerate() {
        let x = PAD + slot * i as f64 + (slot - bar) / 2.0;
        let h = (H - 2.0 * PAD) * t.messages as f64 / max;
        let hp = (H - 2.0 * PAD) * t.dmarc_pass as f64 / max;
        let _ = write!(
            svg,
            r##"<rect class="fail" x="{x:.1}" y="{y:.1}" width="{bar:.1}" height="{h:.1}" fill="#e8a0a0"><title>{day}: {m} messages, {p} pass</title></rect>"##,
            y = H - PAD - h,
            m = t.messages,
            p = t.dmarc_pass
        );
        let _ = write!(
            svg,
            r##"<rect class="pass" x="{x:.1}" y="{y:.1}" width="{bar:.1}" height="{hp:.1}" fill="#4a9a5a"/>"##,
            y = H - PAD - hp
        );
        let px = x + bar / 2.0;
        let py = H - PAD - (H - 2.0 * PAD) * t.pass_rate() / 100.0;
        points.push(format!("{px:.1},{py:.1}"));
        if i == 0 || i + 1 == days.len() {
            let _ = write!(
                svg,
                r#"<text x="{px:.1}" y="{ty}" font-size="10" text-anchor="middle">{day}</text>"#,
                ty = H - PAD + 14.0
            );
        }
    }
    let _ = write!(
        svg,
        r##"<polyline class="rate" points="{}" fill="none" stroke="#1f4e9a" stroke-width="2"/>"##,
        points.join(" ")
    );
    let _ = write!(
        svg,
        r#"<text x="{PAD}" y="14" font-size="11">max {max} messages/day; line: DMARC pass rate (0–100 %)</text></svg>"#
    );
    svg
}

/// The page.
pub fn render(reports: &[Report], title: &str) -> String {
    let s = summarise(reports);
    let mut h = String::new();
    let _ = write!(
        h,
        r#"<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8">
<meta http-equiv="Content-Security-Policy" content="default-src 'none'; style-src 'unsafe-inline'; script-src 'unsafe-inline'; img-src data:">
<title>{t}</title>
<style>
body{{font-family:sans-serif;margin:2em;color:#222}} table{{border-collapse:collapse;margin:1em 0}}
td,th{{border:1px solid #ccc;padding:.25em .6em;text-align:right}} td:first-child,th:first-child{{text-align:left}}
.kpi{{display:inline-block;margin-right:2em}} .kpi b{{font-size:1.6em;display:block}}
</style></head><body>
<h1>{t}</h1>
"#,
        t = escape(title)
    );
    let t = &s.total;
    let period = s
        .period
        .map(|(b, e)| format!("{} .. {}", date(b), date(e)))
        .unwrap_or_else(|| "no aggregate report".to_owned());
    let _ = write!(
        h,
        r#"<p>{} aggregate report(s), {} failure report(s), {}</p>
<div class="kpi">Messages<b id="total-messages">{}</b></div>
<div class="kpi">DMARC pass<b id="total-pass">{}</b></div>
<div class="kpi">Pass rate<b id="pass-rate">{:.1}%</b></div>
<div class="kpi">p=reject would refuse<b id="reject-would-refuse">{}</b></div>
<p id="check">Totals recomputed by the page's script: <span id="js-total-messages">(script did not run)</span> messages, <span id="js-pass-rate"></span> pass.</p>
"#,
        s.aggregate_reports,
        s.failure_reports,
        escape(&period),
        t.messages,
        t.dmarc_pass,
        t.pass_rate(),
        t.reject_would_refuse
    );
    h.push_str("<h2>Volume and pass rate over time</h2>\n");
    for (domain, days) in series(reports) {
        let _ = writeln!(h, "<h3>{}</h3>\n{}", escape(&domain), chart(&domain, &days));
    }
    h.push_str(
        "<h2>Sources failing alignment</h2>\n<table id=\"failing\"><tr><th>Source IP</th><th>Messages</th><th>Failed</th><th>SPF aligned</th><th>DKIM aligned</th><th>From domains</th></tr>\n",
    );
    for r in s.sources.iter().filter(|r| r.tally.failed() > 0) {
        let from: Vec<String> = r.header_from.iter().map(|d| escape(d)).collect();
        let _ = writeln!(
            h,
            "<tr><td>{}</td><td>{}</td><td>{}</td><td>{:.1}%</td><td>{:.1}%</td><td>{}</td></tr>",
            escape(&r.key),
            r.tally.messages,
            r.tally.failed(),
            percent(r.tally.spf_aligned, r.tally.messages),
            percent(r.tally.dkim_aligned, r.tally.messages),
            from.join(", ")
        );
    }
    h.push_str("</table>\n<h2>What p=reject would refuse</h2>\n<p>Messages that failed DMARC and were not rejected: under <code>p=reject</code> (and no local override) they would be refused.</p>\n<table id=\"reject\"><tr><th>Policy domain</th><th>Messages</th><th>Would be refused</th><th>Of which now delivered (none)</th><th>Now quarantined</th></tr>\n");
    for d in &s.domains {
        let _ = writeln!(
            h,
            "<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
            escape(&d.key),
            d.tally.messages,
            d.tally.reject_would_refuse,
            none_failed(reports, &d.key),
            quarantined_failed(reports, &d.key)
        );
    }
    h.push_str("</table>\n");
    // The data the script recomputes the totals from: [messages, pass] per record. JSON of
    // numbers only, so nothing in it can close the script element.
    let data: Vec<[u64; 2]> = reports
        .iter()
        .filter_map(|r| match r {
            Report::Aggregate(a) => Some(a),
            Report::Failure(_) => None,
        })
        .flat_map(|a| a.records.iter())
        .map(|r| [r.count, if r.dmarc_pass() { r.count } else { 0 }])
        .collect();
    let _ = write!(
        h,
        r#"<script>
const rows = {};
let total = 0, pass = 0;
for (const [m, p] of rows) {{ total += m; pass += p; }}
document.getElementById("js-total-messages").textContent = String(total);
document.getElementById("js-pass-rate").textContent = (total ? (pass * 100 / total) : 0).toFixed(1) + "%";
</script>
</body></html>
"#,
        serde_json::to_string(&data).unwrap_or_else(|_| "[]".to_owned())
    );
    h
}

fn failed_with(reports: &[Report], domain: &str, disposition: &str) -> u64 {
    reports
        .iter()
        .filter_map(|r| match r {
            Report::Aggregate(a) if a.policy.domain == domain => Some(a),
            _ => None,
        })
        .flat_map(|a| a.records.iter())
        .filter(|r| !r.dmarc_pass() && r.disposition == disposition)
        .map(|r| r.count)
        .sum()
}

fn none_failed(reports: &[Report], domain: &str) -> u64 {
    failed_with(reports, domain, "none")
}

fn quarantined_failed(reports: &[Report], domain: &str) -> u64 {
    failed_with(reports, domain, "quarantine")
}
