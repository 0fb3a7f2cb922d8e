//! The bodies of mailstamp's fuzz targets, as plain functions of `&[u8]`, so each can run
//! under libFuzzer (`cargo fuzz run <target>`) or be called directly.
//!
//! Every body asserts the loader's contract beyond "no panic": an error always names the
//! fixture and, for a syntax problem, a line inside the input; a loaded zone answers any
//! query without panicking.
#![forbid(unsafe_code)]
#![warn(missing_docs)]

use mailstamp_fixture::{self as fixture, FixtureError, mailauth, openspf};
use mailstamp_dns::{Name, Query, RecordType, Zone};

const FILE: &str = "fuzz-input";

/// How lines are counted: master files and mail-auth files end lines with LF (a CR before
/// it belongs to the line end); YAML also ends a line at a lone CR.
#[derive(Clone, Copy)]
enum Lines {
    Lf,
    Yaml,
}

/// Checks an error: it names the input, and a line, when given, lies inside the input.
fn check_error(err: &FixtureError, text: &str, lines: Lines) {
    let shown = err.to_string();
    assert!(
        shown.starts_with(FILE),
        "error does not name the file: {shown}"
    );
    if let Some(line) = err.line() {
        let breaks = match lines {
            Lines::Lf => text.matches('\n').count(),
            Lines::Yaml => text.replace("\r\n", "\n").matches(['\r', '\n']).count(),
        };
        assert!(
            line <= breaks + 1,
            "line {line} beyond the input's {} lines: {shown}",
            breaks + 1
        );
    }
}

/// Asks the zone about every owner name it holds, every type: must not panic.
fn exercise(zone: &Zone) {
    for name in zone.names().take(64) {
        for t in RecordType::ALL {
            let _ = zone.answer(&Query::new(name.clone(), t));
        }
        if let Some(parent) = name.parent() {
            let _ = zone.answer(&Query::txt(parent));
        }
        if let Ok(child) = name.prepend("x") {
            let _ = zone.answer(&Query::txt(child));
        }
    }
    if let Ok(n) = Name::parse("nowhere.invalid") {
        let _ = zone.answer(&Query::txt(n));
    }
}

fn text(data: &[u8]) -> Option<&str> {
    std::str::from_utf8(data).ok()
}

/// Master zone file text → [`fixture::parse_zone_str`].
pub fn zone_file(data: &[u8]) {
    let Some(t) = text(data) else { return };
    match fixture::parse_zone_str(t, FILE) {
        Ok(zone) => exercise(&zone),
        Err(e) => check_error(&e, t, Lines::Lf),
    }
}

/// YAML zonedata → [`fixture::parse_yaml_str`]; a loaded zone also survives a record-mode
/// round trip through [`fixture::recording_to_yaml`].
pub fn yaml_fixture(data: &[u8]) {
    let Some(t) = text(data) else { return };
    match fixture::parse_yaml_str(t, FILE) {
        Ok(zone) => {
            exercise(&zone);
            let exchanges: Vec<(Query, mailstamp_dns::Answer)> = zone
                .names()
                .take(16)
                .flat_map(|n| RecordType::ALL.map(|t| Query::new(n.clone(), t)))
                .map(|q| {
                    let a = zone.answer(&q);
                    (q, a)
                })
                .collect();
            let recorded = fixture::recording_to_yaml(&exchanges);
            let replay = fixture::parse_yaml_str(&recorded, FILE)
                .unwrap_or_else(|e| panic!("a recording does not load: {e}\n{recorded}"));
            if !recorded.contains("not replayed exactly") {
                for (q, a) in &exchanges {
                    assert_eq!(&replay.answer(q), a, "{q} replays differently\n{recorded}");
                }
            }
        }
        Err(e) => check_error(&e, t, Lines::Yaml),
    }
}

/// OpenSPF suite text → [`openspf::parse_suite_str`], and the same text as a mail-auth SPF
/// test file → [`mailauth::parse_spf_tests_str`].
pub fn openspf_suite(data: &[u8]) {
    let Some(t) = text(data) else { return };
    match openspf::parse_suite_str(t, FILE) {
        Ok(scenarios) => scenarios.iter().for_each(|s| exercise(&s.zone)),
        Err(e) => check_error(&e, t, Lines::Yaml),
    }
    match mailauth::parse_spf_tests_str(t, FILE) {
        Ok(checks) => checks.iter().take(4).for_each(|c| exercise(&c.zone)),
        Err(e) => check_error(&e, t, Lines::Lf),
    }
}
