//! Every OpenSPF-format suite loads scenario by scenario into a `Zone`, with the counts
//! PROVENANCE.md gives, and the loaders refuse keys they do not understand.
//!
//! Record counts are the records of the loaded zones, summed over scenarios, after the
//! zonedata conventions: `SPF` served as TXT unless the owner lists `TXT` or a bare failure
//! marker, `NONE` and the null CNAME adding nothing, an identical record kept once. They were
//! cross-checked with an independent count of the same rules over PyYAML's reading of the
//! files (rfc4408: 308 records, one duplicate dropped, one owner skipped).

use mailstamp_dns::{Answer, Name, Query, RecordType};
use mailstamp_fixture::{mailauth, openspf};
use mailstamp_tests::conformance_file;

#[derive(Debug, PartialEq, Eq)]
struct Counts {
    scenarios: usize,
    tests: usize,
    records: usize,
}

fn load(relative: &str) -> (Vec<openspf::Scenario>, Counts) {
    let path = conformance_file(relative);
    let scenarios = openspf::load_suite(&path).unwrap_or_else(|e| panic!("{e}"));
    let counts = Counts {
        scenarios: scenarios.len(),
        tests: scenarios.iter().map(|s| s.tests.len()).sum(),
        records: scenarios.iter().map(|s| s.zone.record_count()).sum(),
    };
    println!("{relative}: {counts:?}");
    (scenarios, counts)
}

fn txt(zone: &mailstamp_dns::Zone, name: &str) -> Answer {
    zone.answer(&Query::txt(Name::parse(name).unwrap()))
}

#[test]
fn openspf_rfc4408_suite_loads_every_scenario() {
    let (scenarios, counts) = load("spf/rfc4408-tests.yml");
    // Every owner loads, the one with spaces included (RFC 2181 §11: labels are octets).
    let skipped: Vec<_> = scenarios.iter().flat_map(|s| &s.skipped).collect();
    assert!(skipped.is_empty(), "{skipped:?}");
    let spaced = Name::parse("macro%percent  space%20url-space.example.com").unwrap();
    assert!(
        scenarios.iter().any(|s| matches!(
            s.zone
                .answer(&Query::new(spaced.clone(), mailstamp_dns::RecordType::A)),
            Answer::Records(_)
        )),
        "the owner with spaces answers"
    );
    // `result:` lists: PROVENANCE.md counts 18 tests with several accepted results.
    let lists = scenarios
        .iter()
        .flat_map(|s| &s.tests)
        .filter(|t| t.result.len() > 1)
        .count();
    assert_eq!(lists, 18);
    // Spot checks of the zonedata conventions on the real file.
    let first = &scenarios[0];
    assert_eq!(first.description.as_deref(), Some("Initial processing"));
    assert_eq!(
        txt(&first.zone, "example.com"),
        Answer::Failed(mailstamp_dns::FailureKind::Timeout)
    );
    let hosed = txt(&first.zone, "hosed.example.com");
    let joined = hosed.txts().next().unwrap().joined();
    // "\xEF\xBB\xBF" is served UTF-8 encoded: six bytes.
    assert!(
        joined.starts_with(b"v=spf1 a:\xc3\xaf\xc2\xbb\xc2\xbf"),
        "{joined:?}"
    );
    let selecting = scenarios
        .iter()
        .find(|s| s.description.as_deref() == Some("Record lookup"))
        .expect("Record lookup scenario");
    let spfonly = Name::parse("spfonly.example.net").unwrap();
    assert_eq!(
        selecting.zone.answer(&Query::txt(spfonly.clone())),
        Answer::NoData
    );
    assert_eq!(
        selecting.zone.answer(&Query::new(spfonly, RecordType::A)),
        Answer::NoData
    );
    assert_eq!(
        counts,
        Counts {
            scenarios: 15,
            tests: 191,
            // 309: the owner with spaces loads since issue 12.
            records: 309
        }
    );
}

#[test]
fn openspf_pyspf_suite_loads_every_scenario() {
    let (scenarios, counts) = load("spf/pyspf/test.yml");
    let headers = scenarios
        .iter()
        .flat_map(|s| &s.tests)
        .filter(|t| t.header.is_some())
        .count();
    assert_eq!(headers, 3);
    assert_eq!(
        counts,
        Counts {
            scenarios: 4,
            tests: 16,
            records: 24
        }
    );
}

#[test]
fn openspf_blitiri_suite_loads_every_scenario() {
    let (scenarios, counts) = load("spf/blitiri/blitirispf-tests.yml");
    let servfail = scenarios
        .iter()
        .map(|s| {
            s.zone.answer(&Query::new(
                Name::parse("lalala.com").unwrap(),
                RecordType::A,
            ))
        })
        .filter(|a| *a == Answer::Failed(mailstamp_dns::FailureKind::ServFail))
        .count();
    assert_eq!(servfail, 1);
    assert_eq!(
        counts,
        Counts {
            scenarios: 10,
            tests: 21,
            records: 65
        }
    );
}

#[test]
fn openspf_loader_refuses_unknown_keys_in_the_real_suite() {
    let path = conformance_file("spf/rfc4408-tests.yml");
    let text = std::fs::read_to_string(&path).unwrap();
    // Insert an unknown test key right after the first `result:` line.
    let at = text.find("\n    result:").unwrap();
    let end = at + 1 + text[at + 1..].find('\n').unwrap();
    let line = text[..end].lines().count() + 1;
    let edited = format!(
        "{}\n    expected-result: pass{}",
        &text[..end],
        &text[end..]
    );
    let err = openspf::parse_suite_str(&edited, "edited.yml").unwrap_err();
    assert_eq!(err.line(), Some(line), "{err}");
    assert!(err.to_string().contains("expected-result"), "{err}");
    // And an unknown record type in zonedata.
    let edited = text.replacen(
        "    - SPF:  v=spf1 -all exp=exp.example.net",
        "    - SFP:  x",
        1,
    );
    let err = openspf::parse_suite_str(&edited, "edited.yml").unwrap_err();
    assert!(err.to_string().contains("\"SFP\""), "{err}");
}

#[test]
fn mail_auth_spf_files_load_every_check() {
    let files = [
        "a", "all", "basic", "examples", "exists", "exp", "include", "ip", "macro", "mx", "ptr",
        "redirect",
    ];
    let mut total = 0;
    for f in files {
        let rel = format!("spf/mail-auth/{f}.yml");
        let checks =
            mailauth::load_spf_tests(conformance_file(&rel)).unwrap_or_else(|e| panic!("{e}"));
        let records: usize = checks
            .iter()
            .map(|c| c.zone.record_count())
            .max()
            .unwrap_or(0);
        println!("{rel}: {} checks, {records} records at most", checks.len());
        total += checks.len();
    }
    // PROVENANCE.md: 12 files, 163 `expect:` checks.
    assert_eq!(total, 163);
}
