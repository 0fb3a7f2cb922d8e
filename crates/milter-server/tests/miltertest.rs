//! Sendmail's side of the milter protocol: `miltertest` (Debian's package, the MTA simulator
//! that ships with OpenDKIM, built on Sendmail's libmilter definitions) drives the daemon over
//! loopback from Lua scripts written here, the way Sendmail does: negotiate, macros, connect,
//! HELO, MAIL with its macros, RCPT, header fields, end of header, body, end of message; then
//! the replies and the header changes are checked with `mt.getreply` and `mt.eom_check`.
//!
//! Missing `miltertest` fails the tests unless `MAILSTAMP_SKIP_MILTERTEST=1` (the same rule
//! as `MAILSTAMP_SKIP_POSTFIX`); `scripts/install-test-deps` installs it.

use mailstamp::Resolver;
use mailstamp::dns::{Name, Zone, resolve_sync};
use mailstamp_dkim::{DkimResult, Policy};
use mailstamp_milter_server::Server;
use mailstamp_milter_server::state::{Loaded, Overrides};
use std::os::unix::fs::PermissionsExt as _;
use std::path::{Path, PathBuf};

const NOW: u64 = 1_767_571_200;
const KEYS: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../../testdata/keys");

fn zone() -> Zone {
    let name = |s: &str| Name::parse(s).unwrap();
    let mut z = Zone::new();
    let ed = std::fs::read_to_string(format!("{KEYS}/ed25519._domainkey.example.org.txt")).unwrap();
    z.add_txt(&name("ed25519._domainkey.example.org"), [ed.trim()]);
    z.add_txt(&name("example.org"), ["v=spf1 ip4:192.0.2.0/24 -all"]);
    z.add_txt(&name("_dmarc.example.org"), ["v=DMARC1; p=reject"]);
    z.add_txt(&name("reject.example"), ["v=spf1 ip4:198.51.100.0/24 -all"]);
    z.add_txt(&name("_dmarc.reject.example"), ["v=DMARC1; p=reject"]);
    z
}

/// The `miltertest` binary, or `None` (after saying so) when it is missing and
/// `MAILSTAMP_SKIP_MILTERTEST=1`.
fn miltertest() -> Option<PathBuf> {
    let found = std::env::var_os("PATH")
        .into_iter()
        .flat_map(|p| std::env::split_paths(&p).collect::<Vec<_>>())
        .chain([PathBuf::from("/usr/bin"), PathBuf::from("/usr/sbin")])
        .map(|d| d.join("miltertest"))
        .find(|p| p.is_file());
    if found.is_none() {
        if std::env::var("MAILSTAMP_SKIP_MILTERTEST").as_deref() == Ok("1") {
            eprintln!(
                "skipped: miltertest is not installed (MAILSTAMP_SKIP_MILTERTEST=1); \
                 scripts/install-test-deps installs it"
            );
            return None;
        }
        panic!(
            "miltertest is not installed: run scripts/install-test-deps (Debian's miltertest \
             package), or set MAILSTAMP_SKIP_MILTERTEST=1 to skip"
        );
    }
    found
}

struct Milter {
    server: Server,
    port: u16,
    task: tokio::task::JoinHandle<()>,
    dir: tempfile::TempDir,
}

async fn start(extra: &str) -> Milter {
    let dir = tempfile::tempdir().unwrap();
    let key = dir.path().join("ed25519.pem");
    std::fs::copy(format!("{KEYS}/ed25519._domainkey.example.org.pem"), &key).unwrap();
    std::fs::set_permissions(&key, std::fs::Permissions::from_mode(0o600)).unwrap();
    let path = dir.path().join("milter.toml");
    std::fs::write(
        &path,
        format!(
            "listen = \"inet:127.0.0.1:0\"\n\
             authserv_id = \"mx.example.net\"\n\
             internal_networks = [\"10.0.0.0/8\"]\n\
             {extra}\n\
             [[signing]]\ndomain = \"example.org\"\nselector = \"ed25519\"\nkey = \"{}\"\n",
            key.display()
        ),
    )
    .unwrap();
    let overrides = Overrides {
        resolver: Some(Resolver::offline(zone())),
        now: Some(NOW),
    };
    let loaded = Loaded::load(&path, None, &overrides).unwrap();
    assert!(loaded.signing.problems.is_empty());
    let server = Server::new(loaded, &path, overrides);
    let listener = server.bind().await.unwrap();
    let port = listener.local_addr().unwrap().port();
    let s = server.clone();
    let task = tokio::spawn(async move { s.serve(listener).await });
    Milter {
        server,
        port,
        task,
        dir,
    }
}

impl Milter {
    /// Runs a Lua script with miltertest; returns its standard output (the script's
    /// `mt.echo` lines). A failed check (`error(...)` in the script) fails the test.
    async fn run(&self, bin: &Path, script: &str) -> String {
        let file = self.dir.path().join("test.lua");
        let script = format!(
            "conn = mt.connect(\"inet:{}@127.0.0.1\", 5, 0.2)\n\
             if conn == nil then mt.echo(\"FAILED: cannot connect\"); error(\"connect\") end\n\
             {}",
            self.port, LUA_HELPERS
        ) + script;
        std::fs::write(&file, script).unwrap();
        let bin = bin.to_owned();
        let out = tokio::task::spawn_blocking(move || {
            std::process::Command::new(bin)
                .arg("-s")
                .arg(&file)
                .output()
                .unwrap()
        })
        .await
        .unwrap();
        let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
        assert!(
            out.status.success(),
            "miltertest failed ({}):\n{stdout}\n{}",
            out.status,
            String::from_utf8_lossy(&out.stderr)
        );
        stdout
    }

    async fn stop(self) {
        self.server.shutdown();
        self.task.await.unwrap();
    }
}

/// Lua helpers: `check(what, result)` raises unless a call returned nil (success);
/// `fail(why)` says why on standard output (miltertest prints no Lua error) and raises;
/// `expect(what, code)` raises unless the last reply is `code`; `transaction(...)` sends one
/// message as Sendmail does, with its macros, up to (not including) end of message.
const LUA_HELPERS: &str = r#"
function fail(why)
    mt.echo("FAILED: " .. why)
    error(why)
end
function check(what, r)
    if r ~= nil then fail(what .. ": " .. tostring(r)) end
end
function expect(what, code)
    local got = mt.getreply(conn)
    if got ~= code then
        fail(what .. ": expected reply " .. tostring(code) .. ", got " .. tostring(got))
    end
end
function transaction(client_ip, auth, mail_from, headers, body)
    check("negotiate", mt.negotiate(conn, nil, nil, nil))
    check("connect macros", mt.macro(conn, SMFIC_CONNECT, "j", "mx.example.net",
        "{daemon_name}", "MTA", "_", "client.example [" .. client_ip .. "]"))
    check("conninfo", mt.conninfo(conn, "client.example", client_ip))
    expect("conninfo", SMFIR_CONTINUE)
    check("helo", mt.helo(conn, "client.example"))
    expect("helo", SMFIR_CONTINUE)
    if auth ~= nil then
        check("mail macros", mt.macro(conn, SMFIC_MAIL, "i", "4AbCdEfG", "{auth_type}", "PLAIN",
            "{auth_authen}", auth, "{mail_addr}", mail_from))
    else
        check("mail macros", mt.macro(conn, SMFIC_MAIL, "i", "4AbCdEfG", "{mail_addr}", mail_from))
    end
    check("mailfrom", mt.mailfrom(conn, "<" .. mail_from .. ">"))
    expect("mailfrom", SMFIR_CONTINUE)
    check("rcptto", mt.rcptto(conn, "<bob@example.net>"))
    expect("rcptto", SMFIR_CONTINUE)
    for _, h in ipairs(headers) do
        check("header " .. h[1], mt.header(conn, h[1], h[2]))
    end
    check("eoh", mt.eoh(conn))
    expect("eoh", SMFIR_CONTINUE)
    check("body", mt.bodystring(conn, body))
end
"#;

/// The header value a script echoed between `<<` and `>>` (it may be folded).
fn echoed(out: &str) -> &str {
    out.split_once("<<")
        .and_then(|(_, rest)| rest.split_once(">>"))
        .map(|(v, _)| v)
        .unwrap_or_else(|| panic!("no header value echoed:\n{out}"))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sendmail_side_outbound_mail_is_signed_and_the_signature_verifies() {
    let Some(bin) = miltertest() else { return };
    let m = start("").await;
    let out = m
        .run(
            &bin,
            r#"
transaction("203.0.113.9", "alice", "alice@example.org", {
    {"From", "Alice <alice@example.org>"},
    {"To", "bob@example.net"},
    {"Subject", "signed on Sendmail's side"},
}, "Hello Bob,\r\nsigned through miltertest.\r\n")
check("eom", mt.eom(conn))
expect("eom", SMFIR_CONTINUE)
if not mt.eom_check(conn, MT_HDRINSERT, "DKIM-Signature") then
    fail("no DKIM-Signature inserted")
end
if mt.eom_check(conn, MT_HDRINSERT, "Authentication-Results") then
    fail("outbound mail got an Authentication-Results field")
end
mt.echo("<<" .. mt.getheader(conn, "DKIM-Signature", 0) .. ">>")
mt.disconnect(conn)
"#,
        )
        .await;
    let sig = echoed(&out);
    assert!(
        sig.contains("d=example.org") && sig.contains("s=ed25519"),
        "{sig}"
    );
    // The MTA puts the field on top of the message it received; verify it.
    let mut raw = format!(
        "DKIM-Signature: {}\r\n",
        sig.trim_start().replace('\n', "\r\n")
    );
    raw.push_str(
        "From: Alice <alice@example.org>\r\nTo: bob@example.net\r\n\
         Subject: signed on Sendmail's side\r\n\r\nHello Bob,\r\nsigned through miltertest.\r\n",
    );
    let message = mailstamp::message::Message::parse(raw.as_bytes());
    let report = resolve_sync(
        mailstamp_dkim::verify(&message, &Policy::default(), NOW),
        &zone(),
    );
    assert_eq!(report.result(), DkimResult::Pass, "{report:?}\n{raw}");
    assert_eq!(m.server.metrics().signatures_added.get(), 1);
    m.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sendmail_side_inbound_mail_gets_authentication_results_and_the_forged_one_goes() {
    let Some(bin) = miltertest() else { return };
    let m = start("").await;
    let out = m
        .run(
            &bin,
            r#"
transaction("192.0.2.7", nil, "alice@example.org", {
    {"Authentication-Results", "mx.example.net; dmarc=pass header.from=example.org"},
    {"From", "alice@example.org"},
    {"To", "bob@example.net"},
    {"Subject", "inbound through miltertest"},
}, "Hello.\r\n")
check("eom", mt.eom(conn))
expect("eom", SMFIR_CONTINUE)
if not mt.eom_check(conn, MT_HDRINSERT, "Authentication-Results") then
    fail("no Authentication-Results inserted")
end
if mt.eom_check(conn, MT_HDRINSERT, "DKIM-Signature") then
    fail("inbound mail was signed")
end
if not mt.eom_check(conn, MT_HDRDELETE, "Authentication-Results") then
    fail("the forged Authentication-Results was not removed")
end
mt.echo("<<" .. mt.getheader(conn, "Authentication-Results", 0) .. ">>")
mt.disconnect(conn)
"#,
        )
        .await;
    let ar = echoed(&out);
    let ar = ar.trim_start();
    assert!(ar.starts_with("mx.example.net;"), "{ar}");
    assert!(ar.contains("spf=pass"), "{ar}");
    assert!(ar.contains("dmarc=pass"), "{ar}");
    assert_eq!(m.server.metrics().forged_removed.get(), 1);
    m.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sendmail_side_a_dmarc_reject_is_refused_with_550() {
    let Some(bin) = miltertest() else { return };
    let m = start("[dmarc]\nenforce = true\nreject_reply = \"550 5.7.1 DMARC says no\"\n").await;
    m.run(
        &bin,
        r#"
transaction("192.0.2.7", nil, "ceo@reject.example", {
    {"From", "ceo@reject.example"},
    {"Subject", "pay this"},
}, "Pay.\r\n")
check("eom", mt.eom(conn))
expect("eom", SMFIR_REPLYCODE)
-- miltertest compares the whole reply: code, enhanced code and text.
if not mt.eom_check(conn, MT_SMTPREPLY, "550", "5.7.1",
        "DMARC says no (DMARC policy of reject.example is reject and no aligned SPF or DKIM pass)") then
    fail("not refused with the configured 550 5.7.1 reply and its reason")
end
mt.disconnect(conn)
"#,
    )
    .await;
    assert_eq!(m.server.metrics().rejected.get(), 1);
    m.stop().await;
}
