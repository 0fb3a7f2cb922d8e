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

/// An mbox stream (RFC 4155) read by [`mailstamp::mailbox::Mbox`], with a message size limit
/// taken from the first byte: every item is a message or an error naming its position; the
/// messages never exceed the limit, and together hold no more bytes than the input (From_
/// lines and `>From ` quoting are removed, a final newline may be added per message).
pub fn mbox(data: &[u8]) {
    use mailstamp::mailbox::{MailboxError, MailboxOptions, Mbox, Origin};
    let (limit, bytes) = match data.split_first() {
        Some((b, rest)) => (64 + usize::from(*b) * 16, rest),
        None => (64, data),
    };
    let options = MailboxOptions::default().with_max_message_size(limit);
    let mut total = 0usize;
    let mut count = 0usize;
    for item in Mbox::new(bytes, Origin::Path("fuzz.mbox".into()), options) {
        count += 1;
        assert!(count <= bytes.len() + 1, "more items than bytes");
        match item {
            Ok(message) => {
                assert!(message.bytes.len() <= limit, "a message over the limit was kept");
                total += message.bytes.len();
            }
            Err(e) => {
                let shown = e.to_string();
                assert!(shown.starts_with("fuzz.mbox"), "error names no file: {shown}");
                if let MailboxError::TooLarge { size, .. } = e {
                    assert!(size > limit as u64);
                }
            }
        }
    }
    assert!(total <= bytes.len() + count, "messages hold more than the input");
}

/// A maildir of files whose names and contents come from the input (split at NUL bytes:
/// name, contents, name, contents, ...), read by [`mailstamp::mailbox::Messages`]: every file
/// is a message, an error naming its (escaped) path, or an ignored entry; nothing panics.
pub fn maildir(data: &[u8]) {
    use mailstamp::mailbox::{Input, MailboxOptions, Messages};
    use std::os::unix::ffi::OsStrExt;
    let Ok(dir) = tempdir() else { return };
    let cur = dir.join("cur");
    if std::fs::create_dir_all(&cur).is_err() || std::fs::create_dir_all(dir.join("new")).is_err()
    {
        return;
    }
    let mut parts = data.split(|&b| b == 0);
    let mut files = 0usize;
    while let (Some(name), Some(contents)) = (parts.next(), parts.next()) {
        let name: Vec<u8> = name.iter().copied().filter(|&b| b != b'/').collect();
        if name.is_empty() || name == b"." || name == b".." || files >= 16 {
            continue;
        }
        let path = cur.join(std::ffi::OsStr::from_bytes(&name));
        if std::fs::write(&path, contents).is_ok() {
            files += 1;
        }
    }
    let options = MailboxOptions::default().with_max_message_size(4096);
    if let Ok(messages) = Messages::open(&Input::Maildir(dir.clone()), options) {
        let mut seen = 0usize;
        for item in messages {
            seen += 1;
            match item {
                Ok(m) => assert!(!m.bytes.is_empty() && m.bytes.len() <= 4096),
                Err(e) => assert!(!e.to_string().contains('\u{fffd}'), "{e}"),
            }
        }
        assert!(seen <= files, "{seen} items from {files} files");
    }
    let _ = std::fs::remove_dir_all(&dir);
}

/// A fresh directory under the system's temporary directory (no extra dependency).
fn tempdir() -> std::io::Result<std::path::PathBuf> {
    use std::sync::atomic::{AtomicU64, Ordering};
    static NEXT: AtomicU64 = AtomicU64::new(0);
    let dir = std::env::temp_dir().join(format!(
        "mailstamp-fuzz-maildir-{}-{}",
        std::process::id(),
        NEXT.fetch_add(1, Ordering::Relaxed)
    ));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir)?;
    Ok(dir)
}

/// A public suffix list (publicsuffix.org format): it loads or names a line inside the input;
/// a loaded list gives every name an organizational domain that is the name or one of its
/// parents.
pub fn public_suffix_list(data: &[u8]) {
    use mailstamp_dmarc::PublicSuffixList;
    let Some(text) = text(data) else { return };
    match PublicSuffixList::from_text(text) {
        Ok(list) => {
            for probe in ["a.b.example.com", "example.co.uk", "x.y.z", "com", "a.b.c.d.e.f"] {
                let Ok(name) = Name::parse(probe) else { continue };
                let org = list.organizational_domain(&name);
                assert!(name.is_subdomain_of(&org), "{org} is not above {name}");
            }
        }
        Err(e) => {
            let lines = text.lines().count().max(1);
            assert!(e.line >= 1 && e.line <= lines, "line {} of {lines}: {e}", e.line);
        }
    }
}
