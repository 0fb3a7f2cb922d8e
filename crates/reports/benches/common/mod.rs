//! The report corpus of the parsing benchmark and of `examples/vs_parsedmarc.rs`: RFC 7489
//! (Appendix C) aggregate reports, deterministic (a fixed seed), from five reporting
//! organisations, one report per organisation and day.

#![allow(dead_code, reason = "each user takes the parts it needs")]

use std::fmt::Write as _;
use std::path::Path;

/// Five reporting organisations and their contact addresses.
const ORGS: [(&str, &str); 5] = [
    ("google.com", "noreply-dmarc-support@google.com"),
    ("Yahoo", "dmarchelp@yahooinc.com"),
    ("Outlook.com", "dmarcreport@microsoft.com"),
    ("Mail.Ru", "dmarc_support@corp.mail.ru"),
    ("Receiver Example", "dmarc@receiver.example"),
];

/// A small deterministic generator (xorshift64*), so the corpus is the same on every run.
pub struct Rng(pub u64);

impl Rng {
    pub fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }
}

/// One RFC 7489 (Appendix C) aggregate report.
pub fn report(n: usize, records: usize, rng: &mut Rng) -> String {
    let (org, email) = ORGS[n % ORGS.len()];
    let begin = 1_735_689_600 + (n / ORGS.len()) as u64 * 86_400;
    let mut x = String::with_capacity(600 + records * 700);
    let _ = write!(
        x,
        "<?xml version=\"1.0\" encoding=\"UTF-8\" ?>\n<feedback>\n  <report_metadata>\n    \
         <org_name>{org}</org_name>\n    <email>{email}</email>\n    \
         <report_id>{n:020}</report_id>\n    <date_range>\n      <begin>{begin}</begin>\n      \
         <end>{}</end>\n    </date_range>\n  </report_metadata>\n  <policy_published>\n    \
         <domain>example.com</domain>\n    <adkim>r</adkim>\n    <aspf>r</aspf>\n    \
         <p>quarantine</p>\n    <sp>quarantine</sp>\n    <pct>100</pct>\n  </policy_published>\n",
        begin + 86_399
    );
    for _ in 0..records {
        let r = rng.next();
        let ip = format!(
            "{}.{}.{}.{}",
            [192, 198, 203][(r % 3) as usize],
            (r >> 8) & 0xff,
            (r >> 16) & 0xff,
            (r >> 24) & 0xff
        );
        let pass = r >> 40 & 3 != 0;
        let (result, disposition) = if pass {
            ("pass", "none")
        } else {
            ("fail", "quarantine")
        };
        let _ = write!(
            x,
            "  <record>\n    <row>\n      <source_ip>{ip}</source_ip>\n      <count>{}</count>\n      \
             <policy_evaluated>\n        <disposition>{disposition}</disposition>\n        \
             <dkim>{result}</dkim>\n        <spf>{result}</spf>\n      </policy_evaluated>\n    \
             </row>\n    <identifiers>\n      <header_from>example.com</header_from>\n    \
             </identifiers>\n    <auth_results>\n      <dkim>\n        \
             <domain>example.com</domain>\n        <result>{result}</result>\n        \
             <selector>s2025</selector>\n      </dkim>\n      <spf>\n        \
             <domain>example.com</domain>\n        <result>{result}</result>\n      </spf>\n    \
             </auth_results>\n  </record>\n",
            1 + (r >> 48) % 40
        );
    }
    x.push_str("</feedback>\n");
    x
}

/// The seed of the corpus.
pub const SEED: u64 = 0x2026_0016;

/// Writes `files` reports of `records` records into `dir` (made afresh).
pub fn write_corpus(dir: &Path, files: usize, records: usize) -> std::io::Result<u64> {
    if dir.exists() {
        std::fs::remove_dir_all(dir)?;
    }
    std::fs::create_dir_all(dir)?;
    let mut rng = Rng(SEED);
    let mut bytes = 0;
    for n in 0..files {
        let (org, _) = ORGS[n % ORGS.len()];
        let xml = report(n, records, &mut rng);
        bytes += xml.len() as u64;
        let name = format!("{}!example.com!{n:06}.xml", org.replace(' ', "_"));
        std::fs::write(dir.join(name), xml)?;
    }
    Ok(bytes)
}
