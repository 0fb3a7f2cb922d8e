//! `mailstamp check`: the receiver's pipeline end to end (RFC 7208, RFC 6376, RFC 9989,
//! RFC 8601): one message, bulk runs over mbox, maildir and `.eml` directories, exit codes,
//! the JSON contract, and hostile input.

use crate::{example_zone, mailstamp};
use mailstamp_authres::AuthenticationResults;
use mailstamp_testkit::TestServer;
use predicates::prelude::*;
use serde_json::Value;
use std::path::{Path, PathBuf};

const ID: &str = "mx.example.net";

fn message(name: &str) -> PathBuf {
    mailstamp_tests::testdata_dir().join("messages").join(name)
}

fn read(name: &str) -> Vec<u8> {
    std::fs::read(message(name)).unwrap()
}

/// `mailstamp --zone testdata/example.zone check --authserv-id mx.example.net ARGS`.
fn check(args: &[&str]) -> assert_cmd::Command {
    let mut cmd = mailstamp();
    cmd.arg("--zone")
        .arg(example_zone())
        .args(["check", "--authserv-id", ID])
        .args(args);
    cmd
}

const ENVELOPE: [&str; 6] = [
    "--ip",
    "192.0.2.25",
    "--helo",
    "mail.example.org",
    "--mail-from",
    "alice@example.org",
];

fn with_envelope<'a>(first: &'a str, rest: &[&'a str]) -> Vec<&'a str> {
    let mut v = vec![first];
    v.extend_from_slice(&ENVELOPE);
    v.extend_from_slice(rest);
    v
}

fn stdout(assert: &assert_cmd::assert::Assert) -> String {
    String::from_utf8_lossy(&assert.get_output().stdout).into_owned()
}

fn json(output: &[u8]) -> Value {
    serde_json::from_slice(output)
        .unwrap_or_else(|e| panic!("not JSON ({e}): {}", String::from_utf8_lossy(output)))
}

/// Asserts that `text` starts with exactly one Authentication-Results field (CRLF or LF line
/// ends, continuation lines begin with whitespace) and returns it parsed, and the rest.
fn one_field(text: &[u8]) -> (AuthenticationResults, &[u8]) {
    let prefix = b"Authentication-Results: ";
    assert!(
        text.starts_with(prefix),
        "{}",
        String::from_utf8_lossy(text)
    );
    let mut end = 0;
    loop {
        let nl = text[end..]
            .iter()
            .position(|&b| b == b'\n')
            .map(|p| end + p + 1)
            .expect("the field ends with a line ending");
        end = nl;
        if !matches!(text.get(end), Some(b' ' | b'\t')) {
            break;
        }
    }
    let field = &text[..end];
    assert!(
        field
            .iter()
            .all(|&b| b == b'\r' || b == b'\n' || (b' '..=b'~').contains(&b)),
        "not printable ASCII: {field:?}"
    );
    let value = std::str::from_utf8(&field[prefix.len()..]).unwrap();
    let parsed = AuthenticationResults::parse(value.replace("\r\n", "\n").replace('\n', "\r\n"))
        .unwrap_or_else(|e| panic!("does not parse ({e}): {value}"));
    (parsed, &text[end..])
}

#[test]
fn rfc8601_signed_example_passes_everything() {
    let a = check(&with_envelope(message("signed.eml").to_str().unwrap(), &[]))
        .assert()
        .code(0);
    assert_eq!(
        stdout(&a),
        "Authentication-Results: mx.example.net;
  spf=pass smtp.mailfrom=example.org;
  spf=pass smtp.helo=mail.example.org;
  dkim=pass header.d=example.org header.s=default header.a=rsa-sha256
    header.b=f8b7nhd2;
  dkim=pass header.d=example.org header.s=ed25519 header.a=ed25519-sha256
    header.b=aJTKYSHM;
  dmarc=pass (p=reject dis=none) header.from=example.org policy.dmarc=none;
  arc=none
"
    );
}

#[test]
fn rfc9989_forwarded_message_without_envelope_fails_with_reject() {
    let a = check(&[message("forwarded-by-list.eml").to_str().unwrap()])
        .assert()
        .code(1);
    let out = stdout(&a);
    assert!(out.contains("spf=none reason=\"no envelope\";"), "{out}");
    assert_eq!(
        out.matches("dkim=fail reason=\"body hash mismatch\"")
            .count(),
        2,
        "{out}"
    );
    assert!(out.contains("dmarc=fail (p=reject dis=reject)"), "{out}");
    assert!(out.contains("policy.dmarc=reject"), "{out}");
}

#[test]
fn rfc7208_spf_alone_passes_dmarc_for_the_forwarded_message() {
    // The original sender's server and envelope: SPF passes and aligns (aspf=r).
    let path = message("forwarded-by-list.eml");
    let a = check(&with_envelope(path.to_str().unwrap(), &[]))
        .assert()
        .code(0);
    assert!(stdout(&a).contains("dmarc=pass"));
}

#[test]
fn stdin_and_add_header_keep_the_message_byte_for_byte() {
    let raw = read("signed.eml");
    let a = check(&with_envelope("-", &["--add-header"]))
        .write_stdin(raw.clone())
        .assert()
        .code(0);
    let out = &a.get_output().stdout;
    let (field, rest) = one_field(out);
    assert_eq!(rest, &raw[..], "the message follows unchanged");
    assert_eq!(field.authserv_id, ID);
    assert_eq!(field.results.len(), 6);
    // The message has LF line endings: so has the field.
    assert!(!out[..out.len() - raw.len()].contains(&b'\r'));

    // A CRLF message gets a CRLF field.
    let crlf: Vec<u8> = String::from_utf8(raw)
        .unwrap()
        .replace('\n', "\r\n")
        .into_bytes();
    let a = check(&with_envelope("-", &["--add-header"]))
        .write_stdin(crlf.clone())
        .assert()
        .code(0);
    let out = &a.get_output().stdout;
    let (_, rest) = one_field(out);
    assert_eq!(rest, &crlf[..]);
    assert!(out.starts_with(b"Authentication-Results: mx.example.net;\r\n"));
}

#[test]
fn json_contract_keys() {
    let a = check(&with_envelope(message("signed.eml").to_str().unwrap(), &[]))
        .arg("--json")
        .assert()
        .code(0);
    let v = json(&a.get_output().stdout);
    assert_eq!(v["outcome"], "pass");
    assert_eq!(v["spf"]["result"], "pass");
    assert_eq!(v["spf"]["domain"], "example.org");
    assert_eq!(v["spf_helo"]["result"], "pass");
    let dkim = v["dkim"].as_array().unwrap();
    assert_eq!(dkim.len(), 2);
    for (sig, selector) in dkim.iter().zip(["default", "ed25519"]) {
        assert_eq!(sig["result"], "pass");
        assert_eq!(sig["domain"], "example.org");
        assert_eq!(sig["selector"], selector);
    }
    assert_eq!(v["dmarc"]["result"], "pass");
    assert_eq!(v["dmarc"]["disposition"], "none");
    assert!(v["dmarc_override"].is_null());
    // Issue 15: the ARC chain (none here), with the keys the issue names.
    let arc = &v["arc"];
    assert_eq!(arc["result"], "none");
    assert_eq!(arc["instances"], 0);
    assert!(arc["oldest_pass"].is_null());
    assert_eq!(arc["sealers"], serde_json::json!([]));
    assert_eq!(v["envelope"]["client_ip"], "192.0.2.25");
    assert!(
        v["authentication_results"]
            .as_str()
            .unwrap()
            .starts_with("Authentication-Results: mx.example.net;\r\n")
    );
}

#[test]
fn from_received_reads_the_envelope_from_the_trace_fields() {
    let a = check(&[
        message("forwarded-by-list.eml").to_str().unwrap(),
        "--from-received",
    ])
    .arg("--json")
    .assert()
    .code(1);
    let v = json(&a.get_output().stdout);
    let env = &v["envelope"];
    assert!(env["client_ip"].is_string(), "{env}");
    assert_eq!(v["spf"]["identity"], "mailfrom");
    assert!(v["spf"]["details"].is_object(), "SPF ran: {}", v["spf"]);
    // Without Received fields there is no envelope, and the report says why.
    let a = check(&[message("signed.eml").to_str().unwrap(), "--from-received"])
        .arg("--json")
        .assert()
        .code(0);
    let v = json(&a.get_output().stdout);
    assert_eq!(v["spf"]["result"], "none");
    assert!(
        v["spf"]["reason"]
            .as_str()
            .unwrap()
            .starts_with("no envelope: "),
        "{}",
        v["spf"]
    );
}

#[test]
fn input_errors_exit_2() {
    // Issue 17 item 18: every input error names the file, option or value at fault.
    check(&["/nonexistent/message.eml"])
        .assert()
        .code(2)
        .stderr(predicate::str::contains(
            "cannot open message /nonexistent/message.eml",
        ));
    check(&["-"])
        .write_stdin("")
        .assert()
        .code(2)
        .stderr(predicate::str::contains("standard input is empty"));
    check(&["--mail-from", "a@example.org", "-"])
        .write_stdin("From: a@example.org\n\nx\n")
        .assert()
        .code(2)
        .stderr(predicate::str::contains("--helo <HOST>"))
        .stderr(predicate::str::contains("--ip <IP>"));
    check(&["--ip", "192.0.2.1", "-"])
        .assert()
        .code(2)
        .stderr(predicate::str::contains("--helo <HOST>"));
    check(&["--ip", "not-an-ip", "--helo", "h.example", "-"])
        .assert()
        .code(2)
        .stderr(predicate::str::contains(
            "invalid value 'not-an-ip' for '--ip <IP>'",
        ));
    let dir = tempfile::tempdir().unwrap();
    let mbox = dir.path().join("m.mbox");
    std::fs::write(
        &mbox,
        "From x Thu Jan  1 00:00:00 2026\nFrom: a@b.example\n\nx\n",
    )
    .unwrap();
    check(&["--mbox", mbox.to_str().unwrap(), "--add-header"])
        .assert()
        .code(2)
        .stderr(predicate::str::contains(
            "'--mbox <FILE>' cannot be used with '--add-header'",
        ));
    check(&[dir.path().to_str().unwrap(), "--add-header"])
        .assert()
        .code(2)
        .stderr(predicate::str::contains(
            "--add-header works on one message",
        ));
    check(&["--maildir", dir.path().to_str().unwrap()])
        .assert()
        .code(2)
        .stderr(predicate::str::contains("not a maildir"));
}

/// The bulk fixtures: the two example messages, an unsigned one, in that order.
fn bulk_messages() -> Vec<(String, Vec<u8>)> {
    vec![
        ("a-signed.eml".into(), read("signed.eml")),
        ("b-forwarded.eml".into(), read("forwarded-by-list.eml")),
        (
            "c-unsigned.eml".into(),
            b"From: Bob <bob@example.org>\nSubject: unsigned\n\nHello\n".to_vec(),
        ),
    ]
}

fn write_mbox(path: &Path, messages: &[(String, Vec<u8>)]) {
    let mut data = Vec::new();
    for (_, bytes) in messages {
        data.extend_from_slice(b"From sender@example.org Thu Jan 15 09:30:00 2026\n");
        data.extend_from_slice(bytes);
        data.extend_from_slice(b"\n");
    }
    std::fs::write(path, data).unwrap();
}

fn bulk_run(args: &[&str], jobs: &str) -> (i32, String) {
    let a = check(args).args(["--jobs", jobs]).assert();
    let code = a.get_output().status.code().unwrap();
    (code, stdout(&a))
}

#[test]
fn bulk_mbox_maildir_and_directory_in_order_with_jobs_1_and_2() {
    let dir = tempfile::tempdir().unwrap();
    let messages = bulk_messages();
    let mbox = dir.path().join("mail.mbox");
    write_mbox(&mbox, &messages);
    let maildir = dir.path().join("Maildir");
    for sub in ["cur", "new", "tmp"] {
        std::fs::create_dir_all(maildir.join(sub)).unwrap();
    }
    let emls = dir.path().join("emls");
    std::fs::create_dir(&emls).unwrap();
    for (name, bytes) in &messages {
        std::fs::write(maildir.join("cur").join(format!("{name}:2,S")), bytes).unwrap();
        std::fs::write(emls.join(name), bytes).unwrap();
    }
    std::fs::write(emls.join("notes.txt"), "not a message").unwrap();

    let mbox_arg = mbox.to_str().unwrap();
    let (code, one) = bulk_run(&["--mbox", mbox_arg], "1");
    let (code2, two) = bulk_run(&["--mbox", mbox_arg], "2");
    assert_eq!((code, code2), (1, 1), "one message fails DMARC");
    assert_eq!(one, two, "--jobs 1 and --jobs 2 give the same output");
    let lines: Vec<&str> = one.lines().collect();
    let file = mbox.display();
    assert_eq!(
        lines[..3],
        [
            format!(
                "{file}: message 1 (line 1, byte 0): pass spf=none dkim=pass,pass dmarc=pass \
                 (none) from=example.org"
            ),
            format!(
                "{file}: message 2 (line 34, byte 1558): not-pass spf=none dkim=fail,fail \
                 dmarc=fail (reject) from=example.org"
            ),
            format!(
                "{file}: message 3 (line 80, byte 3723): not-pass spf=none dkim=none \
                 dmarc=fail (reject) from=example.org"
            ),
        ]
    );
    assert!(
        one.contains("\n3 messages: 3 checked, 0 could not be read\n"),
        "{one}"
    );
    assert!(
        one.contains("  outcome      pass 1  not-pass 2  temperror 0\n"),
        "{one}"
    );
    assert!(
        one.contains("  example.org         3         1   33.3%\n"),
        "{one}"
    );
    assert!(one.contains("Most common reasons"), "{one}");

    for args in [
        vec!["--maildir", maildir.to_str().unwrap()],
        vec![emls.to_str().unwrap()],
    ] {
        let (c1, a) = bulk_run(&args, "1");
        let (c2, b) = bulk_run(&args, "2");
        assert_eq!((c1, c2), (1, 1));
        assert_eq!(a, b);
        let verdicts: Vec<&str> = a
            .lines()
            .take(3)
            .map(|l| l.split_once(": ").unwrap().1)
            .collect();
        assert_eq!(
            verdicts,
            [
                "pass spf=none dkim=pass,pass dmarc=pass (none) from=example.org",
                "not-pass spf=none dkim=fail,fail dmarc=fail (reject) from=example.org",
                "not-pass spf=none dkim=none dmarc=fail (reject) from=example.org",
            ],
            "{a}"
        );
    }
}

#[test]
fn bulk_json_lines_carry_position_and_empty_dkim_for_unsigned() {
    let dir = tempfile::tempdir().unwrap();
    let mbox = dir.path().join("mail.mbox");
    write_mbox(&mbox, &bulk_messages());
    let mut outputs = Vec::new();
    for jobs in ["1", "2"] {
        // A fixed clock: the report's `now` must not differ between the two runs.
        let a = check(&[
            "--mbox",
            mbox.to_str().unwrap(),
            "--json",
            "--jobs",
            jobs,
            "--now",
            "1768469400",
        ])
        .args(ENVELOPE)
        .assert()
        .code(0);
        outputs.push(a.get_output().stdout.clone());
    }
    assert_eq!(outputs[0], outputs[1]);
    let text = String::from_utf8(outputs.swap_remove(0)).unwrap();
    let lines: Vec<Value> = text.lines().map(|l| json(l.as_bytes())).collect();
    assert_eq!(lines.len(), 3, "one line per message, no summary: {text}");
    for (i, v) in lines.iter().enumerate() {
        assert_eq!(v["position"]["index"], i + 1);
        assert_eq!(v["position"]["file"], mbox.to_str().unwrap());
        assert_eq!(
            v["spf"]["result"], "pass",
            "the envelope applies to every message"
        );
    }
    assert_eq!(lines[0]["dkim"].as_array().unwrap().len(), 2);
    assert_eq!(lines[2]["dkim"], Value::Array(vec![]));
    assert_eq!(lines[2]["dmarc"]["result"], "pass", "SPF aligns");
}

#[test]
fn bulk_malformed_message_in_the_middle_gets_an_error_line_and_the_run_goes_on() {
    let dir = tempfile::tempdir().unwrap();
    let mut messages = bulk_messages();
    messages.insert(1, ("big.eml".into(), vec![b'x'; 5000]));
    let mbox = dir.path().join("mail.mbox");
    write_mbox(&mbox, &messages);
    let a = check(&[
        "--mbox",
        mbox.to_str().unwrap(),
        "--max-message-size",
        "4000",
    ])
    .assert()
    .code(2);
    let out = stdout(&a);
    let lines: Vec<&str> = out.lines().collect();
    assert!(lines[0].ends_with("pass spf=none dkim=pass,pass dmarc=pass (none) from=example.org"));
    assert_eq!(
        lines[1],
        format!(
            "{}: message 2 (line 34, byte 1558): error: message of 5001 bytes is larger than \
             the limit of 4000 bytes; skipped",
            mbox.display()
        )
    );
    assert!(
        lines[2].contains(": not-pass spf=none dkim=fail,fail"),
        "{out}"
    );
    assert!(lines[3].contains(": not-pass spf=none dkim=none"), "{out}");
    assert!(
        out.contains("4 messages: 3 checked, 1 could not be read"),
        "{out}"
    );

    // In a directory: a file over the limit gets an error line at its place; an entry that
    // is not a readable file (a dangling link) is reported as ignored.
    let emls = dir.path().join("emls");
    std::fs::create_dir(&emls).unwrap();
    std::fs::write(emls.join("a.eml"), read("signed.eml")).unwrap();
    std::fs::write(emls.join("b.eml"), vec![b'x'; 5000]).unwrap();
    std::fs::write(emls.join("c.eml"), read("signed.eml")).unwrap();
    #[cfg(unix)]
    std::os::unix::fs::symlink(dir.path().join("missing"), emls.join("d.eml")).unwrap();
    let a = check(&[
        emls.to_str().unwrap(),
        "--json",
        "--max-message-size",
        "4000",
    ])
    .assert()
    .code(2);
    let text = stdout(&a);
    let lines: Vec<Value> = text.lines().map(|l| json(l.as_bytes())).collect();
    assert_eq!(lines.len(), 3, "{text}");
    assert_eq!(lines[0]["outcome"], "pass");
    assert_eq!(
        lines[1]["error"],
        "message of 5000 bytes is larger than the limit of 4000 bytes; skipped"
    );
    assert!(
        lines[1]["position"]["file"]
            .as_str()
            .unwrap()
            .ends_with("b.eml")
    );
    assert_eq!(lines[2]["outcome"], "pass");
    #[cfg(unix)]
    assert!(
        String::from_utf8_lossy(&a.get_output().stderr).contains("ignored 1 directory entry"),
        "{:?}",
        a.get_output()
    );
}

/// A zone whose SPF record tries to inject a header field through the problem text that
/// reaches `reason=`.
const HOSTILE_ZONE: &str = "\
$ORIGIN example.org.
$TTL 300
@ IN TXT \"v=spf1 ip4:192.0.2.0/24 bad(term;\\013\\010X-Injected: yes; (x -all\"
_dmarc IN TXT \"v=DMARC1; p=reject\\013\\010X-Injected: 1\"
sel._domainkey IN TXT \"v=DKIM1; p=;\\013\\010Authentication-Results: forged; dkim=pass\"
";

#[test]
fn header_injection_never_makes_a_second_field() {
    let dir = tempfile::tempdir().unwrap();
    let zone = dir.path().join("hostile.zone");
    std::fs::write(&zone, HOSTILE_ZONE).unwrap();
    let msg = "From: alice@example.org\r\n\
DKIM-Signature: v=1; a=rsa-sha256; d=example.org; s=sel; h=from; bh=AAAA;\r\n\
\tb=AAAA; i=\"x\r\n\tX-Injected: 3\"@example.org\r\n\
DKIM-Signature: v=1; a=rsa-sha256; d=evil(.example; s=se(l\"; bh=AAAA; b=AA;AA; h=from\r\n\
DKIM-Signature: v=1; a=rsa-sha256; d=ok.example; s=a;b; bh=AAAA; b=)AAAA; h=from\r\n\
\r\nbody\r\n";
    for (helo, mail_from) in [
        ("mail.example.org", "alice@example.org"),
        (
            "evil\r\nX-Injected: yes",
            "a\r\nX-Injected: 2;(@example.org",
        ),
        ("h;(x", "<>"),
    ] {
        let a = mailstamp()
            .arg("--zone")
            .arg(&zone)
            .args([
                "check",
                "--authserv-id",
                "mx;\r\nX-Injected: id",
                "--add-header",
            ])
            .args([
                "--ip",
                "192.0.2.1",
                "--helo",
                helo,
                "--mail-from",
                mail_from,
            ])
            .arg("-")
            .write_stdin(msg)
            .assert();
        let out = &a.get_output().stdout;
        let (field, rest) = one_field(out);
        assert_eq!(rest, msg.as_bytes(), "only one field was added");
        assert!(field.results.len() >= 4);
        let text = String::from_utf8_lossy(&out[..out.len() - rest.len()]).into_owned();
        assert!(!text.contains("\nX-Injected"), "{text}");
        assert!(!text.contains("\nAuthentication-Results"), "{text}");
    }
}

#[test]
fn no_from_ten_from_1000_signatures_and_garbage_give_clear_verdicts() {
    let mut ten = String::new();
    for i in 0..10 {
        ten.push_str(&format!("From: user{i}@d{i}.example\n"));
    }
    ten.push_str("Subject: x\n\nbody\n");
    let signed = String::from_utf8(read("signed.eml")).unwrap();
    let header_end = signed.find("From: ").unwrap();
    let signatures = &signed[..header_end];
    let mut thousand = signatures.repeat(500);
    thousand.push_str(&signed[header_end..]);
    let garbage: Vec<u8> = (0..20_000u32)
        .map(|i| (i.wrapping_mul(2_654_435_761) >> 11) as u8)
        .collect();
    let cases: Vec<(&str, Vec<u8>, i32)> = vec![
        ("no From", b"Subject: none\n\nbody\n".to_vec(), 1),
        ("ten From domains", ten.into_bytes(), 1),
        ("1000 signatures", thousand.into_bytes(), 0),
        ("binary garbage", garbage, 1),
        ("no header at all", b"\n\n\n".to_vec(), 1),
    ];
    for (what, input, code) in cases {
        let a = check(&["--json", "-"]).write_stdin(input.clone()).assert();
        assert_eq!(a.get_output().status.code(), Some(code), "{what}");
        let v = json(&a.get_output().stdout);
        assert!(v["dmarc"]["result"].is_string(), "{what}");
        let a = check(&["--add-header", "-"])
            .write_stdin(input.clone())
            .assert();
        let (field, rest) = one_field(&a.get_output().stdout);
        assert_eq!(rest, &input[..], "{what}");
        if what == "1000 signatures" {
            let dkim: Vec<_> = field.results_for("dkim").collect();
            assert_eq!(dkim.len(), 11, "ten checked and one summary");
            assert_eq!(
                dkim[10].reason.as_deref(),
                Some("990 more DKIM signatures not checked (limit 10)")
            );
            assert_eq!(v["dkim"].as_array().unwrap().len(), 1000);
        }
        if what == "ten From domains" {
            assert_eq!(v["dmarc"]["result"], "none");
            assert!(
                v["dmarc"]["problem"]["problem"] == "multiple_author_domains",
                "{}",
                v["dmarc"]
            );
        }
    }
}

#[test]
fn bulk_against_a_live_dns_server() {
    // The resolver is built by the command's context and used by the bulk runner's own
    // worker threads: the live path must work across them.
    let zone = mailstamp_fixture::load(example_zone()).unwrap();
    let server = TestServer::start(zone);
    let dir = tempfile::tempdir().unwrap();
    let mbox = dir.path().join("mail.mbox");
    write_mbox(&mbox, &bulk_messages());
    let a = mailstamp()
        .args(["--nameserver", &server.addr().to_string()])
        .args(["check", "--authserv-id", ID, "--jobs", "2", "--json"])
        .args(["--mbox", mbox.to_str().unwrap()])
        .args(ENVELOPE)
        .assert()
        .code(0);
    let text = stdout(&a);
    let outcomes: Vec<String> = text
        .lines()
        .map(|l| json(l.as_bytes())["outcome"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(outcomes, ["pass", "pass", "pass"], "{text}");
    assert!(server.udp_queries() > 0);
    // One message, a server that never answers: temporary failure.
    let silent = TestServer::silent();
    mailstamp()
        .args([
            "--nameserver",
            &silent.addr().to_string(),
            "--dns-timeout",
            "0.3",
        ])
        .args(["check", "--authserv-id", ID])
        .args(ENVELOPE)
        .arg(message("signed.eml"))
        .assert()
        .code(3)
        .stdout(predicate::str::contains("dmarc=temperror"));
}

/// Issue 17 item 1, RFC 8601 §5: a forged Authentication-Results field that claims our
/// authserv-id does not survive `check --add-header`; a field of another authserv-id does.
#[test]
fn issue_17_1_forged_authentication_results_are_removed() {
    let mut forged = b"Authentication-Results: probe.example; dkim=pass header.d=example.org; \
dmarc=pass header.from=example.org\r\n\
Authentication-Results: upstream.example; spf=pass\r\n\
Authentication-Results: dkim=pass\r\n"
        .to_vec();
    forged.extend_from_slice(&read("forwarded-by-list.eml"));
    let out = mailstamp()
        .arg("--zone")
        .arg(example_zone())
        .args([
            "check",
            "-",
            "--ip",
            "203.0.113.9",
            "--helo",
            "h.example",
            "--mail-from",
            "a@evil.example",
            "--authserv-id",
            "probe.example",
            "--add-header",
        ])
        .write_stdin(forged)
        .assert()
        .code(1)
        .stderr(predicate::str::contains(
            "removed 2 Authentication-Results field(s) claiming \"probe.example\"",
        ));
    let text = stdout(&out);
    let ours: Vec<&str> = text
        .lines()
        .filter(|l| l.starts_with("Authentication-Results: probe.example"))
        .collect();
    assert_eq!(ours.len(), 1, "{text}");
    assert!(
        !text.contains("dmarc=pass header.from=example.org"),
        "{text}"
    );
    assert!(
        !text.contains("Authentication-Results: dkim=pass"),
        "{text}"
    );
    assert!(
        text.contains("Authentication-Results: upstream.example; spf=pass"),
        "{text}"
    );
    // Our field says what really happened.
    assert!(text.contains("dmarc=fail"), "{text}");
}

/// Issue 17 items 7 and 12: in a maildir, a 0-byte file is an error item (exit 2, as for the same
/// file alone), and file names that are not UTF-8 are printed with their bytes escaped, so two
/// such files and the error can be traced to their files.
#[cfg(unix)]
#[test]
fn issue_17_7_and_12_empty_files_are_errors_and_names_are_escaped() {
    use std::ffi::OsStr;
    use std::os::unix::ffi::OsStrExt;
    let dir = tempfile::tempdir().unwrap();
    let maildir = dir.path().join("Maildir");
    for sub in ["cur", "new", "tmp"] {
        std::fs::create_dir_all(maildir.join(sub)).unwrap();
    }
    let cur = maildir.join("cur");
    std::fs::write(cur.join("1:2,S"), read("signed.eml")).unwrap();
    std::fs::write(
        cur.join(OsStr::from_bytes(b"2-\xff:2,S")),
        read("signed.eml"),
    )
    .unwrap();
    std::fs::write(
        cur.join(OsStr::from_bytes(b"2-\xfe:2,S")),
        read("signed.eml"),
    )
    .unwrap();
    std::fs::write(cur.join("3-empty:2,S"), b"").unwrap();
    let out = check(&["--maildir", maildir.to_str().unwrap(), "--jobs", "1"])
        .args(ENVELOPE)
        .assert()
        .code(2);
    let text = stdout(&out);
    let stderr = String::from_utf8_lossy(&out.get_output().stderr).into_owned();
    let all = format!("{text}{stderr}");
    assert!(all.contains("2-\\xff:2,S: pass"), "{all}");
    assert!(all.contains("2-\\xfe:2,S: pass"), "{all}");
    assert!(!all.contains('\u{fffd}'), "{all}");
    assert!(
        all.contains("3-empty:2,S: error: the file is empty: there is no message to read"),
        "{all}"
    );
    assert!(all.contains("could not be read"), "{all}");
    // JSON lines: the error item names the escaped file too.
    let out = check(&[
        "--maildir",
        maildir.to_str().unwrap(),
        "--json",
        "--jobs",
        "1",
    ])
    .args(ENVELOPE)
    .assert()
    .code(2);
    let lines: Vec<Value> = stdout(&out).lines().map(|l| json(l.as_bytes())).collect();
    assert_eq!(lines.len(), 4, "{lines:?}");
    assert!(
        lines.iter().any(|v| v["position"]["file"]
            .as_str()
            .is_some_and(|f| f.ends_with("2-\\xff:2,S"))),
        "{lines:?}"
    );
    assert!(
        lines
            .iter()
            .any(|v| v["error"].as_str().is_some_and(|e| e.contains("empty"))),
        "{lines:?}"
    );
}

/// The list's delivery of `forwarded-by-list.eml`, sealed (RFC 8617 §5.1) by the list as
/// `example.org` with the SMTP session it had from Alice's server, so its
/// ARC-Authentication-Results say SPF and DMARC passed upstream.
fn sealed_by_the_list(dir: &tempfile::TempDir) -> PathBuf {
    let out = mailstamp()
        .arg("--zone")
        .arg(example_zone())
        .args(["--now", "1768469400", "arc", "seal", "--key"])
        .arg(
            mailstamp_tests::testdata_dir()
                .join("keys")
                .join("ed25519._domainkey.example.org.pem"),
        )
        .args([
            "--domain",
            "example.org",
            "--selector",
            "ed25519",
            "--authserv-id",
            "lists.example.org",
        ])
        .args(ENVELOPE)
        .arg(message("forwarded-by-list.eml"))
        .output()
        .unwrap();
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    // The seal's AAR holds the pipeline's results, arc= once (the chain as it arrived).
    let sealed = String::from_utf8_lossy(&out.stdout);
    let set = sealed.split("\nReturn-Path:").next().unwrap();
    assert_eq!(
        set.matches("arc=").count() - set.matches("dmarc=").count(),
        1,
        "{set}"
    );
    assert!(set.contains("arc=none"), "{set}");
    let path = dir.path().join("sealed.eml");
    std::fs::write(&path, &out.stdout).unwrap();
    path
}

/// `check` of the sealed list message as the final receiver sees it: from the list's IP.
fn check_from_the_list(path: &Path, extra: &[&str]) -> Value {
    let a = check(&[
        path.to_str().unwrap(),
        "--ip",
        "203.0.113.9",
        "--helo",
        "lists.example.net",
        "--mail-from",
        "bounces@lists.example.net",
        "--json",
    ])
    .args(extra)
    .assert()
    .code(1);
    json(&a.get_output().stdout)
}

#[test]
fn issue_15_arc_pass_is_reported_with_remote_ip_and_oldest_pass() {
    let dir = tempfile::tempdir().unwrap();
    let path = sealed_by_the_list(&dir);
    let v = check_from_the_list(&path, &[]);
    assert_eq!(v["dmarc"]["result"], "fail");
    let arc = &v["arc"];
    assert_eq!(arc["result"], "pass", "{arc}");
    assert_eq!(arc["instances"], 1);
    assert_eq!(arc["oldest_pass"], 0);
    assert_eq!(arc["sealers"][0]["domain"], "example.org");
    let field = v["authentication_results"].as_str().unwrap();
    let (ar, _) = one_field(field.as_bytes());
    let arc: Vec<_> = ar.results_for("arc").collect();
    assert_eq!(arc.len(), 1);
    assert_eq!(arc[0].result, "pass");
    assert_eq!(arc[0].property("smtp", "remote-ip"), Some("203.0.113.9"));
    assert_eq!(arc[0].property("header", "oldest-pass"), Some("0"));
}

#[test]
fn issue_15_trusted_sealer_overrides_the_dmarc_disposition() {
    let dir = tempfile::tempdir().unwrap();
    let path = sealed_by_the_list(&dir);
    let v = check_from_the_list(&path, &["--arc-trusted-sealer", "example.org"]);
    // DMARC still fails (exit 1); the disposition is overridden by local policy.
    assert_eq!(v["outcome"], "not-pass");
    assert_eq!(v["dmarc"]["result"], "fail");
    assert_eq!(v["dmarc"]["disposition"], "reject");
    let o = &v["dmarc_override"];
    assert_eq!(o["reason"], "arc", "{v}");
    assert_eq!(o["applied"], "none");
    assert_eq!(o["requested"], "reject");
    assert_eq!(o["sealer"], "example.org");
    assert_eq!(o["instance"], 1);
    assert_eq!(o["upstream"], "dmarc");
    let (ar, _) = one_field(v["authentication_results"].as_str().unwrap().as_bytes());
    let dmarc: Vec<_> = ar.results_for("dmarc").collect();
    assert_eq!(dmarc[0].result, "fail");
    assert_eq!(dmarc[0].property("policy", "dmarc"), Some("none"));
    assert!(
        dmarc[0]
            .comment
            .as_deref()
            .unwrap()
            .contains("override=arc"),
        "{:?}",
        dmarc[0].comment
    );
}

#[test]
fn issue_15_untrusted_sealer_changes_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let path = sealed_by_the_list(&dir);
    let v = check_from_the_list(&path, &["--arc-trusted-sealer", "lists.example.com"]);
    assert_eq!(v["arc"]["result"], "pass");
    assert!(v["dmarc_override"].is_null(), "{v}");
    let (ar, _) = one_field(v["authentication_results"].as_str().unwrap().as_bytes());
    let dmarc: Vec<_> = ar.results_for("dmarc").collect();
    assert_eq!(dmarc[0].property("policy", "dmarc"), Some("reject"));
    // A sealer that is not a domain name is a usage error.
    check(&[
        message("signed.eml").to_str().unwrap(),
        "--arc-trusted-sealer",
        "a..b",
    ])
    .assert()
    .code(2);
}
