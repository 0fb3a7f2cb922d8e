//! Global options, help and exit codes.

use crate::{example_zone, mailstamp};
use predicates::prelude::*;

#[test]
fn help_documents_the_exit_codes() {
    mailstamp()
        .arg("--help")
        .assert()
        .code(0)
        .stdout(predicate::str::contains("Exit status:"))
        .stdout(predicate::str::contains("3  temporary failure"));
    mailstamp()
        .args(["dns", "--help"])
        .assert()
        .code(0)
        .stdout(predicate::str::contains("2  usage or input error"));
}

#[test]
fn usage_errors_exit_2() {
    mailstamp().assert().code(2);
    mailstamp()
        .args(["--bogus", "dns", "example.org"])
        .assert()
        .code(2);
    mailstamp().args(["dns"]).assert().code(2);
    mailstamp()
        .args(["--dns-timeout", "-1", "dns", "example.org"])
        .assert()
        .code(2);
    mailstamp()
        .args(["--now", "yesterday", "dns", "example.org"])
        .assert()
        .code(2)
        .stderr(predicate::str::contains("RFC 3339"));
    mailstamp()
        .arg("--zone")
        .arg(example_zone())
        .args(["--nameserver", "127.0.0.1", "dns", "example.org"])
        .assert()
        .code(2)
        .stderr(predicate::str::contains("cannot be used with"));
}

#[test]
fn missing_and_unknown_fixture_files_exit_2() {
    mailstamp()
        .args(["--zone", "/nonexistent/zone.zone", "dns", "example.org"])
        .assert()
        .code(2)
        .stderr(predicate::str::contains("/nonexistent/zone.zone"));
    let dir = tempfile::tempdir().unwrap();
    let odd = dir.path().join("zone.json");
    std::fs::write(&odd, "<html>not a zone</html>\n\"unbalanced\n").unwrap();
    mailstamp()
        .arg("--zone")
        .arg(&odd)
        .args(["dns", "example.org"])
        .assert()
        .code(2)
        .stderr(predicate::str::contains(
            "zone.json: not a DNS fixture: as a master zone file:",
        ))
        .stderr(predicate::str::contains("as YAML zonedata:"));
}

/// Issue 12: `--zone` reads a file whatever its name: a master file called `zone`, YAML
/// zonedata without an extension, and a file read through a pipe-like path.
#[test]
fn zone_format_is_recognised_by_content() {
    let dir = tempfile::tempdir().unwrap();
    let master = dir.path().join("zone");
    std::fs::write(
        &master,
        "$ORIGIN example.org.\n@ 300 IN TXT \"v=spf1 -all\"\n",
    )
    .unwrap();
    let yaml = dir.path().join("data");
    std::fs::write(&yaml, "# fixture\nexample.net:\n  - TXT: v=spf1 +all\n").unwrap();
    for (file, name, expect) in [
        (&master, "example.org", "v=spf1 -all"),
        (&yaml, "example.net", "v=spf1 +all"),
    ] {
        mailstamp()
            .arg("--zone")
            .arg(file)
            .args(["dns", name, "TXT"])
            .assert()
            .code(0)
            .stdout(predicate::str::contains(expect));
    }
    // A master file with an error: the error names the file and line of the format it found.
    let bad = dir.path().join("broken");
    std::fs::write(&bad, "$ORIGIN example.org.\n@ 300 IN A 192.0.2.300\n").unwrap();
    mailstamp()
        .arg("--zone")
        .arg(&bad)
        .args(["dns", "example.org"])
        .assert()
        .code(2)
        .stderr(predicate::str::contains("broken:2"));
}

/// Issue 12: shell completions for every shell clap_complete knows, naming the commands.
#[test]
fn completions_for_each_shell() {
    for (shell, marker) in [
        ("bash", "_mailstamp()"),
        ("zsh", "#compdef mailstamp"),
        ("fish", "complete -c mailstamp"),
        ("elvish", "mailstamp"),
        ("powershell", "Register-ArgumentCompleter"),
    ] {
        let out = mailstamp().args(["completions", shell]).assert().code(0);
        let text = String::from_utf8(out.get_output().stdout.clone()).unwrap();
        assert!(text.contains(marker), "{shell}: {text:.200}");
        assert!(
            text.contains("keygen") && text.contains("dns-timeout"),
            "{shell}"
        );
    }
    mailstamp()
        .args(["completions", "tcsh"])
        .assert()
        .code(2)
        .stderr(predicate::str::contains("tcsh"));
}

/// Issue 12: man pages, one for mailstamp and one per command, in roff.
#[test]
fn man_pages_one_per_command() {
    let out = mailstamp().arg("man").assert().code(0);
    let page = String::from_utf8(out.get_output().stdout.clone()).unwrap();
    assert!(page.starts_with(".ie \\n(.g .ds Aq"), "{page:.200}");
    assert!(page.contains(".TH mailstamp 1"), "{page:.400}");
    let dir = tempfile::tempdir().unwrap();
    mailstamp()
        .args(["man", "--out"])
        .arg(dir.path())
        .assert()
        .code(0);
    let mut names: Vec<String> = std::fs::read_dir(dir.path())
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .collect();
    names.sort();
    for expected in [
        "mailstamp.1",
        "mailstamp-check.1",
        "mailstamp-verify.1",
        "mailstamp-keygen.1",
        "mailstamp-completions.1",
    ] {
        assert!(
            names.iter().any(|n| n == expected),
            "{expected} in {names:?}"
        );
    }
    let check = std::fs::read_to_string(dir.path().join("mailstamp-check.1")).unwrap();
    assert!(check.contains("authserv"), "{check:.300}");
    // A file where the directory should be: exit 2 naming it.
    let file = dir.path().join("mailstamp.1");
    mailstamp()
        .args(["man", "--out"])
        .arg(&file)
        .assert()
        .code(2)
        .stderr(predicate::str::contains("mailstamp.1"));
}

/// Issue 12: `--help` groups the shared options under headings instead of interleaving them.
#[test]
fn help_groups_shared_options_under_headings() {
    let out = mailstamp().args(["check", "--help"]).assert().code(0);
    let help = String::from_utf8(out.get_output().stdout.clone()).unwrap();
    for heading in [
        "DNS:",
        "DKIM verification:",
        "DMARC discovery:",
        "Output and clock:",
    ] {
        assert!(help.contains(heading), "{heading} missing in\n{help}");
    }
    let dns = help.find("DNS:").unwrap();
    let nameserver = help.find("--nameserver").unwrap();
    assert!(
        nameserver > dns,
        "--nameserver listed before the DNS heading"
    );
}

/// Issue 17 item 4: a TXT character-string over 255 octets in a zone fixture is refused with
/// exit 2 and file:line (RFC 1035 §3.3), not served as a passing SPF record.
#[test]
fn issue_17_4_long_character_string_in_a_zone_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let zone = dir.path().join("long.zone");
    std::fs::write(
        &zone,
        format!(
            "$ORIGIN example.org.\n$TTL 300\n@ IN TXT \"v=spf1 {}+all\"\n",
            "a:x.example.org ".repeat(268)
        ),
    )
    .unwrap();
    mailstamp()
        .arg("--zone")
        .arg(&zone)
        .args(["spf", "--ip", "192.0.2.1", "--mail-from", "a@example.org"])
        .assert()
        .code(2)
        .stderr(predicate::str::contains("long.zone:3: "))
        .stderr(predicate::str::contains("RFC 1035 §3.3"));
}
