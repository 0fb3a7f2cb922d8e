//! The milter server over loopback, with the test acting as the MTA (the MTA side of
//! `mailstamp-milter`'s codec) and DNS from an in-memory zone.

use mailstamp::Resolver;
use mailstamp::dns::{FailureKind, Name, Zone, resolve_sync};
use mailstamp_dkim::{DkimResult, Policy};
use mailstamp_milter::{
    Actions, Command, ConnectInfo, Family, FrameDecoder, Modification, OptNeg, ProtocolFlags, Reply,
};
use mailstamp_milter_server::state::{Loaded, Overrides};
use mailstamp_milter_server::{Config, Server};
use std::os::unix::fs::PermissionsExt as _;
use std::path::{Path, PathBuf};
use std::time::Duration;
use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
use tokio::net::TcpStream;

const NOW: u64 = 1_767_571_200;
const KEYS: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../../testdata/keys");

fn name(s: &str) -> Name {
    Name::parse(s).unwrap()
}

fn zone() -> Zone {
    let mut z = Zone::new();
    let rsa =
        std::fs::read_to_string(format!("{KEYS}/default._domainkey.example.org.txt")).unwrap();
    let ed = std::fs::read_to_string(format!("{KEYS}/ed25519._domainkey.example.org.txt")).unwrap();
    z.add_txt(&name("default._domainkey.example.org"), [rsa.trim()]);
    z.add_txt(&name("ed25519._domainkey.example.org"), [ed.trim()]);
    z.add_txt(&name("example.org"), ["v=spf1 ip4:192.0.2.0/24 -all"]);
    z.add_txt(&name("_dmarc.example.org"), ["v=DMARC1; p=reject"]);
    z.add_txt(&name("reject.example"), ["v=spf1 ip4:198.51.100.0/24 -all"]);
    z.add_txt(&name("_dmarc.reject.example"), ["v=DMARC1; p=reject"]);
    z.add_txt(&name("_dmarc.testing.example"), ["v=DMARC1; p=reject; t=y"]);
    z.add_txt(
        &name("_dmarc.quarantine.example"),
        ["v=DMARC1; p=quarantine"],
    );
    z.add_txt(&name("_dmarc.allowed.example"), ["v=DMARC1; p=reject"]);
    z.fail(&name("_dmarc.servfail.example"), FailureKind::ServFail);
    z.fail(&name("servfail.example"), FailureKind::ServFail);
    z
}

struct Fixture {
    server: Server,
    addr: std::net::SocketAddr,
    dir: tempfile::TempDir,
    path: PathBuf,
    task: tokio::task::JoinHandle<()>,
}

fn copy_key(dir: &Path, file: &str) -> PathBuf {
    let to = dir.join(file);
    std::fs::copy(format!("{KEYS}/{file}"), &to).unwrap();
    std::fs::set_permissions(&to, std::fs::Permissions::from_mode(0o600)).unwrap();
    to
}

fn config_text(dir: &Path, extra: &str) -> String {
    let ed = copy_key(dir, "ed25519._domainkey.example.org.pem");
    let rsa = copy_key(dir, "default._domainkey.example.org.rsa2048.pem");
    format!(
        "listen = \"inet:127.0.0.1:0\"\n\
         authserv_id = \"mx.example.net\"\n\
         internal_networks = [\"10.0.0.0/8\"]\n\
         {extra}\n\
         [[signing]]\ndomain = \"example.org\"\nselector = \"ed25519\"\nkey = \"{}\"\n\
         [[signing]]\ndomain = \"example.org\"\nselector = \"default\"\nkey = \"{}\"\n",
        ed.display(),
        rsa.display()
    )
}

async fn start(extra: &str) -> Fixture {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("milter.toml");
    std::fs::write(&path, config_text(dir.path(), extra)).unwrap();
    let overrides = Overrides {
        resolver: Some(Resolver::offline(zone())),
        now: Some(NOW),
    };
    let loaded = Loaded::load(&path, None, &overrides).unwrap();
    assert!(
        loaded.signing.problems.is_empty(),
        "{:?}",
        loaded.signing.problems
    );
    let server = Server::new(loaded, &path, overrides);
    let listener = server.bind().await.unwrap();
    let addr = listener.local_addr().unwrap();
    let s = server.clone();
    let task = tokio::spawn(async move { s.serve(listener).await });
    Fixture {
        server,
        addr,
        dir,
        path,
        task,
    }
}

/// The MTA side of one connection.
struct Mta {
    stream: TcpStream,
    decoder: FrameDecoder,
    /// The client of the SMTP session in progress, if any.
    client: Option<String>,
    /// The protocol flags in effect after negotiation: no reply is awaited for a step the
    /// milter said it would not answer (`NR_*`), as an MTA does.
    granted: ProtocolFlags,
}

impl Mta {
    async fn connect(addr: std::net::SocketAddr) -> Mta {
        let stream = TcpStream::connect(addr).await.unwrap();
        Mta {
            stream,
            decoder: FrameDecoder::new(),
            client: None,
            granted: ProtocolFlags::from_bits_retain(0),
        }
    }

    async fn send(&mut self, c: Command) {
        let bytes = c.to_bytes().unwrap();
        self.stream.write_all(&bytes).await.unwrap();
    }

    async fn reply(&mut self) -> Option<Reply> {
        let mut buf = [0u8; 8192];
        loop {
            if let Some(r) = self.decoder.poll_reply().unwrap() {
                return Some(r);
            }
            let n = tokio::time::timeout(Duration::from_secs(10), self.stream.read(&mut buf))
                .await
                .expect("the milter did not answer within 10 s")
                .unwrap_or(0);
            if n == 0 {
                return None;
            }
            self.decoder.feed(&buf[..n]);
        }
    }

    /// Whether the milter closed the connection (EOF within 5 s).
    async fn closed(&mut self) -> bool {
        let mut buf = [0u8; 64];
        matches!(
            tokio::time::timeout(Duration::from_secs(5), self.stream.read(&mut buf)).await,
            Ok(Ok(0)) | Ok(Err(_))
        )
    }

    async fn negotiate(&mut self, protocol: u32) -> Reply {
        self.send(Command::OptNeg(OptNeg {
            version: 6,
            actions: Actions::from_bits_retain(0x1ff),
            protocol: ProtocolFlags::from_bits_retain(protocol),
        }))
        .await;
        let reply = self.reply().await.unwrap();
        if let Reply::OptNeg { optneg, .. } = &reply {
            self.granted = optneg.protocol & ProtocolFlags::from_bits_retain(protocol);
        }
        reply
    }

    /// The Continue reply to a step, unless the milter negotiated not to answer it (`no_reply`,
    /// empty for a step always answered).
    async fn expect_continue(&mut self, no_reply: ProtocolFlags) {
        if no_reply.is_empty() || !self.granted.contains(no_reply) {
            assert_eq!(self.reply().await, Some(Reply::Continue));
        }
    }

    /// Sends a whole message and returns the end-of-message replies (modifications, then the
    /// verdict).
    ///
    /// A message from the same client continues the SMTP session (another MAIL); a new client
    /// ends it with quit-new-connection and connects again on the same milter connection.
    async fn message(&mut self, m: &Msg<'_>) -> Vec<Reply> {
        match self.client.as_deref() {
            Some(c) if c == m.ip => return self.transaction(m).await,
            Some(_) => self.send(Command::QuitNewConnection).await,
            None => {}
        }
        self.client = Some(m.ip.to_owned());
        self.send(Command::Macros {
            stage: b'C',
            pairs: vec![(b"j".to_vec(), b"mx.example.net".to_vec())]
                .into_iter()
                .chain(
                    m.daemon
                        .map(|d| (b"{daemon_name}".to_vec(), d.as_bytes().to_vec())),
                )
                .collect(),
        })
        .await;
        self.send(Command::Connect(ConnectInfo {
            hostname: b"client.example".to_vec(),
            family: Family::Inet,
            port: 40000,
            address: m.ip.as_bytes().to_vec(),
        }))
        .await;
        self.expect_continue(ProtocolFlags::NR_CONN).await;
        self.send(Command::Helo(m.helo.as_bytes().to_vec())).await;
        self.expect_continue(ProtocolFlags::NR_HELO).await;
        self.transaction(m).await
    }

    async fn transaction(&mut self, m: &Msg<'_>) -> Vec<Reply> {
        let mut pairs = vec![(b"i".to_vec(), b"QID123".to_vec())];
        if let Some(a) = m.auth {
            pairs.push((b"{auth_authen}".to_vec(), a.as_bytes().to_vec()));
        }
        self.send(Command::Macros { stage: b'M', pairs }).await;
        self.send(Command::Mail {
            sender: format!("<{}>", m.mail_from).into_bytes(),
            args: vec![],
        })
        .await;
        self.expect_continue(ProtocolFlags::NR_MAIL).await;
        self.send(Command::Rcpt {
            recipient: b"<bob@example.net>".to_vec(),
            args: vec![],
        })
        .await;
        self.expect_continue(ProtocolFlags::NR_RCPT).await;
        for (n, v) in m.headers {
            self.send(Command::Header {
                name: n.as_bytes().to_vec(),
                value: format!(" {v}").into_bytes(),
            })
            .await;
        }
        self.send(Command::EndOfHeaders).await;
        self.expect_continue(ProtocolFlags::NR_EOH).await;
        // In chunks of at most 64 KiB, as Postfix sends them.
        for chunk in m.body.chunks(65535) {
            self.send(Command::Body(chunk.to_vec())).await;
            let r = self.reply().await;
            assert!(matches!(r, Some(Reply::Continue | Reply::Skip)), "{r:?}");
            if r == Some(Reply::Skip) {
                break;
            }
        }
        self.send(Command::EndOfMessage(vec![])).await;
        let mut replies = Vec::new();
        loop {
            let r = self
                .reply()
                .await
                .expect("connection closed at end of message");
            let done = !matches!(r, Reply::Modify(_) | Reply::Progress);
            replies.push(r);
            if done {
                return replies;
            }
        }
    }
}

struct Msg<'a> {
    ip: &'a str,
    helo: &'a str,
    mail_from: &'a str,
    auth: Option<&'a str>,
    daemon: Option<&'a str>,
    headers: &'a [(&'a str, &'a str)],
    body: &'a [u8],
}

fn msg<'a>(ip: &'a str, from: &'a str, headers: &'a [(&'a str, &'a str)]) -> Msg<'a> {
    Msg {
        ip,
        helo: "client.example",
        mail_from: from,
        auth: None,
        daemon: None,
        headers,
        body: b"Hello\r\n",
    }
}

/// What Postfix offers: every protocol flag.
const FULL: u32 = 0x1f_ffff;

async fn session(addr: std::net::SocketAddr) -> Mta {
    let mut mta = Mta::connect(addr).await;
    let neg = mta.negotiate(FULL).await;
    assert!(matches!(neg, Reply::OptNeg { .. }), "{neg:?}");
    mta
}

fn verdict(replies: &[Reply]) -> &Reply {
    replies.last().unwrap()
}

fn inserted(replies: &[Reply], field: &str) -> Vec<String> {
    replies
        .iter()
        .filter_map(|r| match r {
            Reply::Modify(Modification::InsertHeader {
                index: 0,
                name,
                value,
            }) if name.eq_ignore_ascii_case(field.as_bytes()) => {
                // The session puts back the space after the colon (HDR_LEADSPC).
                Some(String::from_utf8_lossy(value).trim_start().to_owned())
            }
            _ => None,
        })
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn outbound_mail_gets_signatures_that_verify() {
    let f = start("").await;
    let mut mta = session(f.addr).await;
    let headers = [
        ("From", "Alice <alice@example.org>"),
        ("To", "bob@example.net"),
        ("Subject", "signed by the milter"),
    ];
    let mut m = msg("10.1.2.3", "alice@example.org", &headers);
    m.body = b"Hello\r\nSecond line\r\n";
    let replies = mta.message(&m).await;
    assert_eq!(verdict(&replies), &Reply::Continue);
    let sigs = inserted(&replies, "DKIM-Signature");
    assert_eq!(sigs.len(), 2, "{replies:?}");
    // Apply the inserts at index 0 in order, as the MTA does, and verify.
    let mut raw = Vec::new();
    for s in sigs.iter().rev() {
        raw.extend_from_slice(format!("DKIM-Signature:{}\r\n", s.replace('\n', "\r\n")).as_bytes());
    }
    for (n, v) in headers {
        raw.extend_from_slice(format!("{n}: {v}\r\n").as_bytes());
    }
    raw.extend_from_slice(b"\r\n");
    raw.extend_from_slice(m.body);
    let message = mailstamp::message::Message::parse(&raw);
    let report = resolve_sync(
        mailstamp_dkim::verify(&message, &Policy::default(), NOW),
        &zone(),
    );
    assert_eq!(report.result(), DkimResult::Pass);
    assert!(
        report
            .signatures
            .iter()
            .all(|s| s.result == DkimResult::Pass),
        "{report:?}"
    );
    // The first configured key (Ed25519) is on top.
    let top = String::from_utf8_lossy(&raw[..200]).into_owned();
    assert!(top.contains("ed25519-sha256"), "{top}");
    // Authenticated submission from outside is signed too; an unknown domain is not.
    let mut m = msg("203.0.113.9", "alice@example.org", &headers);
    m.auth = Some("alice");
    assert_eq!(inserted(&mta.message(&m).await, "DKIM-Signature").len(), 2);
    let other = [("From", "x@unknown.example"), ("Subject", "s")];
    let replies = mta
        .message(&msg("10.1.2.3", "x@unknown.example", &other))
        .await;
    assert!(inserted(&replies, "DKIM-Signature").is_empty());
    assert_eq!(verdict(&replies), &Reply::Continue);
    let metrics = f.server.metrics();
    assert_eq!(metrics.signatures_added.get(), 4);
    assert_eq!(metrics.unsigned.get(), 1);
    assert_eq!(metrics.messages.get(), 3);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn double_signing_skip_leaves_our_own_signature_alone() {
    let f = start("").await;
    let mut mta = session(f.addr).await;
    let headers = [
        (
            "DKIM-Signature",
            "v=1; a=ed25519-sha256; d=example.org; s=ed25519; h=from; bh=x; b=y",
        ),
        ("From", "alice@example.org"),
    ];
    let replies = mta
        .message(&msg("10.1.2.3", "alice@example.org", &headers))
        .await;
    let sigs = inserted(&replies, "DKIM-Signature");
    assert_eq!(sigs.len(), 1);
    assert!(sigs[0].contains("s=default"), "{sigs:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn inbound_mail_gets_one_field_and_three_forged_ones_removed_highest_first() {
    let f = start("").await;
    let mut mta = session(f.addr).await;
    let headers = [
        ("Authentication-Results", "mx.example.net; dmarc=pass"),
        ("Authentication-Results", "MX.EXAMPLE.NET; dkim=pass"),
        ("Authentication-Results", "upstream.example; spf=pass"),
        ("Received", "from x by y"),
        ("Authentication-Results", "dkim=pass header.d=example.org"),
        ("From", "alice@example.org"),
        ("Subject", "hello"),
    ];
    let replies = mta
        .message(&msg("192.0.2.7", "alice@example.org", &headers))
        .await;
    let changes: Vec<u32> = replies
        .iter()
        .filter_map(|r| match r {
            Reply::Modify(Modification::ChangeHeader { index, name, value })
                if name == b"Authentication-Results" && value.is_empty() =>
            {
                Some(*index)
            }
            _ => None,
        })
        .collect();
    assert_eq!(changes, [4, 2, 1]);
    // The deletions come before our field.
    let first_insert = replies
        .iter()
        .position(|r| matches!(r, Reply::Modify(Modification::InsertHeader { .. })))
        .unwrap();
    assert_eq!(first_insert, 3);
    let ar = inserted(&replies, "Authentication-Results");
    assert_eq!(ar.len(), 1, "{replies:?}");
    assert!(ar[0].starts_with("mx.example.net;"), "{}", ar[0]);
    assert!(
        ar[0].contains("spf=pass smtp.mailfrom=example.org"),
        "{}",
        ar[0]
    );
    assert!(ar[0].contains("dmarc=pass"), "{}", ar[0]);
    assert!(!ar[0].contains('\r'), "values use LF folds");
    assert_eq!(verdict(&replies), &Reply::Continue);
    assert_eq!(f.server.metrics().forged_removed.get(), 3);
    assert!(inserted(&replies, "DKIM-Signature").is_empty());
}

fn reply_code(r: &Reply) -> Option<(u16, String)> {
    match r {
        Reply::ReplyCode(rc) => Some((rc.code(), rc.line())),
        _ => None,
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn dmarc_policy_is_enforced_only_when_configured_and_never_on_our_mail() {
    let headers = [("From", "ceo@reject.example"), ("Subject", "pay this")];
    // Not enforcing: recorded, accepted.
    let f = start("").await;
    let mut mta = session(f.addr).await;
    let replies = mta
        .message(&msg("192.0.2.7", "ceo@reject.example", &headers))
        .await;
    assert_eq!(verdict(&replies), &Reply::Continue);
    assert!(inserted(&replies, "Authentication-Results")[0].contains("dmarc=fail"));

    let f = start(
        "[dmarc]\nenforce = true\nallow_networks = [\"198.18.0.0/15\"]\nallow_domains = [\"allowed.example\"]\n",
    )
    .await;
    let mut mta = session(f.addr).await;
    let replies = mta
        .message(&msg("192.0.2.7", "ceo@reject.example", &headers))
        .await;
    let (code, line) = reply_code(verdict(&replies)).expect("a reply code");
    assert_eq!(code, 550);
    assert!(line.starts_with("550 5.7.1 "), "{line}");
    assert!(line.contains("reject.example"), "{line}");
    assert_eq!(f.server.metrics().rejected.get(), 1);
    // Mail we originate (internal network) is never refused — it is signed instead.
    let replies = mta
        .message(&msg("10.9.9.9", "ceo@reject.example", &headers))
        .await;
    assert_eq!(verdict(&replies), &Reply::Continue);
    // Allow-listed network and domain.
    let replies = mta
        .message(&msg("198.18.0.1", "ceo@reject.example", &headers))
        .await;
    assert_eq!(verdict(&replies), &Reply::Continue);
    let allowed = [("From", "x@allowed.example")];
    let replies = mta
        .message(&msg("192.0.2.7", "x@allowed.example", &allowed))
        .await;
    assert_eq!(verdict(&replies), &Reply::Continue);
    // t=y is never enforced.
    let testing = [("From", "x@testing.example")];
    let replies = mta
        .message(&msg("192.0.2.7", "x@testing.example", &testing))
        .await;
    assert_eq!(verdict(&replies), &Reply::Continue);
    // Quarantine: a header by default.
    let q = [("From", "x@quarantine.example")];
    let replies = mta
        .message(&msg("192.0.2.7", "x@quarantine.example", &q))
        .await;
    assert_eq!(verdict(&replies), &Reply::Continue);
    assert_eq!(inserted(&replies, "X-Mailstamp-Quarantine").len(), 1);
    // Two From fields: refused before any verdict (from_policy = reject).
    let two = [("From", "a@example.org"), ("From", "b@example.org")];
    let replies = mta.message(&msg("192.0.2.7", "a@example.org", &two)).await;
    assert_eq!(reply_code(verdict(&replies)).map(|c| c.0), Some(550));
    let none = [("Subject", "no author")];
    let replies = mta.message(&msg("192.0.2.7", "a@example.org", &none)).await;
    assert_eq!(reply_code(verdict(&replies)).map(|c| c.0), Some(550));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_dns_failure_tempfails_unless_configured_to_accept() {
    let headers = [("From", "x@servfail.example"), ("Subject", "s")];
    let f = start("[dmarc]\nenforce = true\n").await;
    let mut mta = session(f.addr).await;
    let replies = mta
        .message(&msg("192.0.2.7", "x@servfail.example", &headers))
        .await;
    let (code, line) = reply_code(verdict(&replies)).expect("a reply code");
    assert_eq!(code, 451, "{line}");
    assert!(line.starts_with("451 4.7.5"), "{line}");
    assert!(inserted(&replies, "Authentication-Results")[0].contains("dmarc=temperror"));
    assert_eq!(f.server.metrics().dns_errors.get(), 1);
    let f = start("dns_failure = \"accept\"\n[dmarc]\nenforce = true\n").await;
    let mut mta = session(f.addr).await;
    let replies = mta
        .message(&msg("192.0.2.7", "x@servfail.example", &headers))
        .await;
    assert_eq!(verdict(&replies), &Reply::Continue);
}

/// `max_message_size` (a shipped key) is still accepted; bodies are hashed as they stream
/// in, so it now bounds only the header section: a large body is verified and signed, a header
/// section over the limit is neither (and never passes).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_header_over_the_limit_is_not_verified_and_never_passes() {
    let f = start("[limits]\nmax_message_size = 300\n").await;
    let mut mta = session(f.addr).await;
    let headers = [("From", "alice@example.org")];
    let big = vec![b'x'; 1000];
    // The body is over 300 octets: verified and signed all the same.
    let mut m = msg("192.0.2.7", "alice@example.org", &headers);
    m.body = &big;
    let replies = mta.message(&m).await;
    let ar = inserted(&replies, "Authentication-Results");
    assert!(ar[0].contains("spf=pass"), "{ar:?}");
    let mut m = msg("10.0.0.1", "alice@example.org", &headers);
    m.body = &big;
    assert_eq!(inserted(&mta.message(&m).await, "DKIM-Signature").len(), 2);
    // A header section over 300 octets is not.
    let long = "y".repeat(400);
    let headers = [("From", "alice@example.org"), ("Subject", long.as_str())];
    let m = msg("192.0.2.7", "alice@example.org", &headers);
    let replies = mta.message(&m).await;
    let ar = inserted(&replies, "Authentication-Results");
    assert_eq!(ar, ["mx.example.net;\n\tdkim=none (header too large)"]);
    assert_eq!(verdict(&replies), &Reply::Continue);
    let m = msg("10.0.0.1", "alice@example.org", &headers);
    let replies = mta.message(&m).await;
    assert!(inserted(&replies, "DKIM-Signature").is_empty());
    assert_eq!(f.server.metrics().too_large.get(), 1);
    // The new key, alone.
    let f = start("[limits]\nmax_header_size = 300\n").await;
    let mut mta = session(f.addr).await;
    let replies = mta
        .message(&msg("192.0.2.7", "alice@example.org", &headers))
        .await;
    assert_eq!(
        inserted(&replies, "Authentication-Results"),
        ["mx.example.net;\n\tdkim=none (header too large)"]
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hostile_mtas_are_dropped_and_others_served() {
    let f = start("").await;
    // 200 idle connections, some negotiated, some not.
    let mut idle = Vec::new();
    for i in 0..200 {
        let mut m = Mta::connect(f.addr).await;
        if i % 2 == 0 {
            m.negotiate(FULL).await;
        }
        idle.push(m);
    }
    // Truncated frame, then the MTA goes away.
    let mut m = Mta::connect(f.addr).await;
    m.stream
        .write_all(&[0, 0, 0, 20, b'O', 0, 0])
        .await
        .unwrap();
    drop(m);
    // Oversized frame: closed before the data arrives.
    let mut m = Mta::connect(f.addr).await;
    m.stream.write_all(&[0x40, 0, 0, 0, b'B']).await.unwrap();
    assert!(m.closed().await);
    // Unknown command byte.
    let mut m = session(f.addr).await;
    m.stream.write_all(&[0, 0, 0, 1, b'Z']).await.unwrap();
    assert!(m.closed().await);
    // Out of order: a body chunk before negotiation.
    let mut m = Mta::connect(f.addr).await;
    m.send(Command::Body(b"x".to_vec())).await;
    assert!(m.closed().await);
    // Empty frame.
    let mut m = Mta::connect(f.addr).await;
    m.stream.write_all(&[0, 0, 0, 0]).await.unwrap();
    assert!(m.closed().await);
    // Dropped mid-body.
    let mut m = session(f.addr).await;
    m.send(Command::Mail {
        sender: b"<a@example.org>".to_vec(),
        args: vec![],
    })
    .await;
    m.expect_continue(ProtocolFlags::NR_MAIL).await;
    m.send(Command::Body(vec![b'x'; 1000])).await;
    m.expect_continue(ProtocolFlags::from_bits_retain(0)).await;
    drop(m);
    // Everyone else is still served.
    let mut mta = session(f.addr).await;
    let headers = [("From", "alice@example.org")];
    let replies = mta
        .message(&msg("192.0.2.7", "alice@example.org", &headers))
        .await;
    assert_eq!(inserted(&replies, "Authentication-Results").len(), 1);
    // And the idle ones still answer.
    let last = idle.last_mut().unwrap();
    last.negotiate(FULL).await;
    tokio::time::sleep(Duration::from_millis(200)).await;
    let metrics = f.server.metrics();
    assert!(metrics.protocol_errors.get() >= 4, "{}", metrics.render());
    assert!(metrics.connections_open.get() >= 200);
    assert!(metrics.aborted.get() >= 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn read_timeout_closes_silent_connections() {
    let f = start("[limits]\nread_timeout_ms = 300\n").await;
    let mut m = Mta::connect(f.addr).await;
    assert!(m.closed().await);
    assert_eq!(f.server.metrics().timeouts.get(), 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reload_applies_a_good_file_and_keeps_the_running_one_on_a_bad_file() {
    let f = start("").await;
    assert_eq!(f.server.current().config.authserv_id, "mx.example.net");
    let text = std::fs::read_to_string(&f.path)
        .unwrap()
        .replace("mx.example.net", "mx2.example.net");
    std::fs::write(&f.path, &text).unwrap();
    f.server.reload().unwrap();
    assert_eq!(f.server.current().config.authserv_id, "mx2.example.net");
    let mut mta = session(f.addr).await;
    let headers = [("From", "alice@example.org")];
    let replies = mta
        .message(&msg("192.0.2.7", "alice@example.org", &headers))
        .await;
    assert!(inserted(&replies, "Authentication-Results")[0].starts_with("mx2.example.net;"));
    // A bad file: refused with file and line, the running configuration kept.
    std::fs::write(&f.path, format!("{text}\n[dmarc]\nenforse = true\n")).unwrap();
    let e = f.server.reload().unwrap_err();
    assert!(e.to_string().contains("milter.toml:"), "{e}");
    assert!(e.to_string().contains("enforse"), "{e}");
    assert_eq!(f.server.current().config.authserv_id, "mx2.example.net");
    assert_eq!(f.server.metrics().reload_failures.get(), 1);
    let replies = mta
        .message(&msg("192.0.2.7", "alice@example.org", &headers))
        .await;
    assert!(inserted(&replies, "Authentication-Results")[0].starts_with("mx2.example.net;"));
    // A key made readable by others: that entry only is disabled, the other key still signs.
    let ed = f.dir.path().join("ed25519._domainkey.example.org.pem");
    std::fs::set_permissions(&ed, std::fs::Permissions::from_mode(0o644)).unwrap();
    std::fs::write(&f.path, &text).unwrap();
    f.server.reload().unwrap();
    let problems = &f.server.current().signing.problems;
    assert_eq!(problems.len(), 1);
    assert!(problems[0].reason.contains("0644"));
    let replies = mta
        .message(&msg("10.0.0.1", "alice@example.org", &headers))
        .await;
    let sigs = inserted(&replies, "DKIM-Signature");
    assert_eq!(sigs.len(), 1);
    assert!(sigs[0].contains("s=default"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn shutdown_lets_the_message_in_flight_finish() {
    let f = start("").await;
    let mut idle = session(f.addr).await;
    // An MTA that waits for the reply to MAIL (it offers no NR_MAIL), so the message is known
    // to be under way at the milter before the shutdown starts.
    let mut busy = Mta::connect(f.addr).await;
    busy.negotiate(FULL & !ProtocolFlags::NR_MAIL.bits()).await;
    busy.send(Command::Mail {
        sender: b"<alice@example.org>".to_vec(),
        args: vec![],
    })
    .await;
    busy.expect_continue(ProtocolFlags::NR_MAIL).await;
    busy.send(Command::Header {
        name: b"From".to_vec(),
        value: b" alice@example.org".to_vec(),
    })
    .await;
    f.server.shutdown();
    // The idle connection is closed; new connections are refused.
    assert!(idle.closed().await);
    tokio::time::sleep(Duration::from_millis(100)).await;
    assert!(TcpStream::connect(f.addr).await.is_err());
    // The busy one finishes its message.
    busy.send(Command::EndOfHeaders).await;
    busy.expect_continue(ProtocolFlags::NR_EOH).await;
    busy.send(Command::EndOfMessage(vec![])).await;
    let mut last = busy.reply().await.unwrap();
    while matches!(last, Reply::Modify(_)) {
        last = busy.reply().await.unwrap();
    }
    assert_eq!(last, Reply::Continue);
    assert!(busy.closed().await);
    tokio::time::timeout(Duration::from_secs(10), f.task)
        .await
        .expect("serve returns after shutdown")
        .unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unix_socket_with_mode_and_metrics_endpoint() {
    let dir = tempfile::tempdir().unwrap();
    let sock = dir.path().join("milter.sock");
    let path = dir.path().join("milter.toml");
    std::fs::write(
        &path,
        format!(
            "listen = \"unix:{}\"\nsocket_mode = \"0600\"\nauthserv_id = \"mx.example.net\"\n",
            sock.display()
        ),
    )
    .unwrap();
    let overrides = Overrides {
        resolver: Some(Resolver::offline(zone())),
        now: Some(NOW),
    };
    let server = Server::load(&path, overrides).unwrap();
    let listener = server.bind().await.unwrap();
    let mode = std::fs::metadata(&sock).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode, 0o600);
    let s = server.clone();
    let task = tokio::spawn(async move { s.serve(listener).await });
    let mut stream = tokio::net::UnixStream::connect(&sock).await.unwrap();
    let bytes = Command::OptNeg(OptNeg {
        version: 6,
        actions: Actions::from_bits_retain(0x1ff),
        protocol: ProtocolFlags::from_bits_retain(FULL),
    })
    .to_bytes()
    .unwrap();
    stream.write_all(&bytes).await.unwrap();
    let mut buf = [0u8; 256];
    let n = stream.read(&mut buf).await.unwrap();
    let mut d = FrameDecoder::new();
    d.feed(&buf[..n]);
    assert!(matches!(
        d.poll_reply().unwrap(),
        Some(Reply::OptNeg { .. })
    ));
    // Metrics over HTTP.
    let l = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let maddr = l.local_addr().unwrap();
    tokio::spawn(mailstamp_milter_server::metrics::serve(l, server.metrics()));
    let mut http = TcpStream::connect(maddr).await.unwrap();
    http.write_all(b"GET /metrics HTTP/1.0\r\n\r\n")
        .await
        .unwrap();
    let mut body = String::new();
    http.read_to_string(&mut body).await.unwrap();
    assert!(body.starts_with("HTTP/1.0 200 OK"), "{body}");
    assert!(
        body.contains("mailstamp_milter_connections_total 1\n"),
        "{body}"
    );
    drop(stream);
    server.shutdown();
    tokio::time::timeout(Duration::from_secs(10), task)
        .await
        .unwrap()
        .unwrap();
    assert!(!sock.exists(), "the socket file is removed at stop");
}

#[test]
fn the_example_configuration_parses() {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("examples/milter.toml");
    let config = Config::load(&path).unwrap();
    assert!(!config.signing.is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_load_generator_drives_many_connections_and_messages() {
    use mailstamp_testkit::milter_load::{Load, run};
    let f = start("").await;
    let headers = vec![
        ("From".to_owned(), "alice@example.org".to_owned()),
        ("Subject".to_owned(), "load".to_owned()),
    ];
    let report = run(
        f.addr,
        Load {
            connections: 8,
            messages: 5,
            client_ip: "10.0.0.1".into(),
            mail_from: "alice@example.org".into(),
            headers,
            body: b"hi\r\n".to_vec(),
        },
    )
    .await
    .unwrap();
    assert_eq!(report.messages, 40);
    assert_eq!(report.refused, 0);
    // Two signatures per message.
    assert_eq!(report.modifications, 80);
    assert!(report.p50 <= report.p99 && report.per_second() > 0.0);
    assert_eq!(f.server.metrics().signatures_added.get(), 80);
}

/// A message from `ceo@reject.example` (p=reject) as a list forwards it: sealed (RFC 8617
/// §5.1) by `example.org` (the ed25519 key of the zone) with `aar` as what the list saw.
fn sealed_headers(aar: &str) -> Vec<(String, String)> {
    let base = [("From", "ceo@reject.example"), ("Subject", "via the list")];
    let mut raw = String::new();
    for (n, v) in base {
        raw.push_str(&format!("{n}: {v}\r\n"));
    }
    raw.push_str("\r\nHello\r\n");
    let pem =
        std::fs::read_to_string(format!("{KEYS}/ed25519._domainkey.example.org.pem")).unwrap();
    let key = mailstamp_dkim::SigningKey::from_pem(&pem).unwrap();
    let sealer = mailstamp::arc::Sealer::new(key, "example.org", "ed25519").unwrap();
    let message = mailstamp::message::Message::parse(raw.as_bytes());
    let set = match sealer
        .seal(&message, mailstamp::arc::ArcResult::None, aar, NOW)
        .unwrap()
    {
        mailstamp::arc::SealOutcome::Sealed(set) => set,
        other => panic!("not sealed: {other:?}"),
    };
    let mut headers = vec![
        ("ARC-Seal".to_owned(), set.seal_value().to_owned()),
        (
            "ARC-Message-Signature".to_owned(),
            set.ams_value().to_owned(),
        ),
        (
            "ARC-Authentication-Results".to_owned(),
            set.aar_value().to_owned(),
        ),
    ];
    headers.extend(base.iter().map(|(n, v)| ((*n).to_owned(), (*v).to_owned())));
    headers
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn arc_is_read_inbound_and_only_trusted_sealers_override_dmarc() {
    let owned = sealed_headers("lists.example.org; dmarc=pass header.from=reject.example");
    let headers: Vec<(&str, &str)> = owned
        .iter()
        .map(|(n, v)| (n.as_str(), v.as_str()))
        .collect();
    // The list's IP is not in reject.example's SPF: DMARC fails.
    let m = msg("192.0.2.7", "bounces@lists.example.org", &headers);

    // Enforcing, no trusted sealer: refused, and the chain is reported.
    let f = start("[dmarc]\nenforce = true\n").await;
    let mut mta = session(f.addr).await;
    let replies = mta.message(&m).await;
    assert_eq!(reply_code(verdict(&replies)).map(|c| c.0), Some(550));

    // A trusted sealer vouches: accepted, dmarc=fail kept, override reported.
    let f = start("arc_trusted_sealers = [\"example.org\"]\n[dmarc]\nenforce = true\n").await;
    let mut mta = session(f.addr).await;
    let replies = mta.message(&m).await;
    assert_eq!(verdict(&replies), &Reply::Continue);
    let ar = inserted(&replies, "Authentication-Results");
    assert_eq!(ar.len(), 1);
    let field = &ar[0];
    assert!(field.contains("dmarc=fail"), "{field}");
    assert!(field.contains("override=arc"), "{field}");
    assert!(field.contains("policy.dmarc=none"), "{field}");
    assert!(field.contains("arc=pass"), "{field}");
    assert!(field.contains("smtp.remote-ip=192.0.2.7"), "{field}");
    assert_eq!(f.server.metrics().rejected.get(), 0);

    // Another sealer trusted: refused as before.
    let f = start("arc_trusted_sealers = [\"lists.example.net\"]\n[dmarc]\nenforce = true\n").await;
    let mut mta = session(f.addr).await;
    let replies = mta.message(&m).await;
    assert_eq!(reply_code(verdict(&replies)).map(|c| c.0), Some(550));
}

/// A body of `size` octets: text lines with trailing spaces and tabs (so that relaxed and
/// simple canonicalization differ), CRLF.
fn large_body(size: usize) -> Vec<u8> {
    let line = b"Lorem ipsum dolor sit amet,  consectetur \tadipiscing elit, sed do  \r\n";
    let mut body = Vec::with_capacity(size + line.len());
    while body.len() < size {
        body.extend_from_slice(line);
    }
    body.truncate(size);
    body
}

/// Issue 14: "memory per message stays bounded whatever its size". A 50 MB body streamed in
/// 64 KiB chunks is signed (outbound) and verified (inbound) exactly as the whole message is
/// by the library, while the milter holds no more than the header and fixed buffers.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_50_mb_body_is_streamed_signed_and_verified_like_the_whole_message() {
    let f = start("").await;
    let mut mta = session(f.addr).await;
    let body = large_body(50 * 1024 * 1024);
    let headers = [
        ("From", "Alice <alice@example.org>"),
        ("To", "bob@example.net"),
        ("Subject", "a large attachment"),
        ("Message-ID", "<big@example.org>"),
    ];
    let mut whole = Vec::new();
    for (n, v) in headers {
        whole.extend_from_slice(format!("{n}: {v}\r\n").as_bytes());
    }
    whole.extend_from_slice(b"\r\n");
    whole.extend_from_slice(&body);

    // Outbound: the same DKIM-Signature fields as signing the whole message.
    let mut m = msg("10.0.0.1", "alice@example.org", &headers);
    m.body = &body;
    let replies = mta.message(&m).await;
    let got = inserted(&replies, "DKIM-Signature");
    let loaded = f.server.current();
    let rule = loaded.signing.rule_for("example.org").unwrap();
    let view = mailstamp::message::Message::parse(&whole);
    let mut want = Vec::new();
    for key in &rule.keys {
        let signed = mailstamp_dkim::sign(&view, std::slice::from_ref(&key.signer), NOW).unwrap();
        for field in signed.fields {
            let value = field.text.strip_prefix("DKIM-Signature:").unwrap();
            want.push(value.trim_start().replace("\r\n", "\n"));
        }
    }
    // The first signer's field ends on top: it is inserted last.
    want.reverse();
    assert_eq!(got, want);

    // Inbound: the message as signed arrives from outside; the same Authentication-Results
    // as checking the whole message.
    let signed_fields: Vec<(String, String)> = got
        .iter()
        .map(|v| ("DKIM-Signature".to_owned(), v.replace('\n', "\r\n")))
        .collect();
    let mut inbound: Vec<(&str, &str)> = signed_fields
        .iter()
        .map(|(n, v)| (n.as_str(), v.as_str()))
        .collect();
    inbound.extend(headers);
    let mut m = msg("192.0.2.7", "alice@example.org", &inbound);
    m.body = &body;
    let replies = mta.message(&m).await;
    let ar = inserted(&replies, "Authentication-Results");
    let mut signed_whole = Vec::new();
    for (n, v) in &inbound {
        signed_whole.extend_from_slice(format!("{n}: {v}\r\n").as_bytes());
    }
    signed_whole.extend_from_slice(b"\r\n");
    signed_whole.extend_from_slice(&body);
    let envelope = mailstamp::message::envelope::Envelope {
        client_ip: "192.0.2.7".parse().unwrap(),
        helo: "client.example".into(),
        mail_from: Some("alice@example.org".into()),
    };
    let report = loaded
        .authenticator
        .check_with(&signed_whole, Some(&envelope), &zone());
    let want = report.authentication_results().to_value();
    assert_eq!(ar, [want.trim_start().replace("\r\n", "\n")]);
    assert!(ar[0].contains("dkim=pass header.d=example.org"), "{ar:?}");
    assert!(ar[0].contains("dmarc=pass"), "{ar:?}");

    // What one message held stayed far below its size: the header and fixed buffers.
    let peak = f.server.metrics().message_bytes_peak.get();
    assert!(peak > 0 && peak < 64 * 1024, "peak {peak} bytes");
}

/// The message as the MTA passes it on: each field inserted at index 0 goes on top (the last
/// inserted first), then the fields received, then `body`.
fn delivered(replies: &[Reply], headers: &[(&str, &str)], body: &[u8]) -> Vec<u8> {
    let mut top: Vec<String> = Vec::new();
    for r in replies {
        if let Reply::Modify(Modification::InsertHeader {
            index: 0,
            name,
            value,
        }) = r
        {
            let value = String::from_utf8_lossy(value).replace('\n', "\r\n");
            top.insert(
                0,
                format!(
                    "{}: {}\r\n",
                    String::from_utf8_lossy(name),
                    value.trim_start()
                ),
            );
        }
    }
    let mut out = top.concat().into_bytes();
    for (n, v) in headers {
        out.extend_from_slice(format!("{n}: {v}\r\n").as_bytes());
    }
    out.extend_from_slice(b"\r\n");
    out.extend_from_slice(body);
    out
}

fn arc_check(raw: &[u8]) -> mailstamp::arc::ArcVerdict {
    resolve_sync(
        mailstamp::arc::validate(&mailstamp::message::Message::parse(raw), NOW),
        &zone(),
    )
}

/// Issue 15: the milter seals the mail it verifies and forwards (`[arc_seal]`): the AAR is its
/// own verdict, `cv=` is the chain's status on arrival, a failing chain gets `cv=fail` only,
/// and refused mail and other daemons' mail are not sealed.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn verified_mail_is_arc_sealed_with_our_verdict() {
    let seal = |dir: &Path, extra: &str| {
        let key = copy_key(dir, "ed25519._domainkey.example.org.pem");
        format!(
            "[arc_seal]\ndomain = \"example.org\"\nselector = \"ed25519\"\nkey = \"{}\"\n{extra}",
            key.display()
        )
    };
    let dir = tempfile::tempdir().unwrap();
    let f = start(&seal(dir.path(), "daemons = [\"MX\"]\n")).await;
    let mut mta = session(f.addr).await;
    let headers = [
        ("From", "carol@example.com"),
        ("To", "bob@example.net"),
        ("Subject", "to be forwarded"),
    ];
    let body = large_body(200_000);

    // No chain yet: i=1, cv=none, and the next hop validates it.
    let mut m = msg("192.0.2.7", "carol@example.com", &headers);
    m.daemon = Some("MX");
    m.body = &body;
    let replies = mta.message(&m).await;
    assert_eq!(verdict(&replies), &Reply::Continue);
    let ar = inserted(&replies, "Authentication-Results");
    let aar = inserted(&replies, "ARC-Authentication-Results");
    assert_eq!(aar.len(), 1, "{replies:?}");
    assert!(aar[0].starts_with("i=1; mx.example.net;"), "{aar:?}");
    // The AAR holds the same results as our Authentication-Results.
    let words = |s: &str| s.split_whitespace().collect::<Vec<_>>().join(" ");
    assert!(words(&aar[0]).ends_with(&words(&ar[0])[("mx.example.net;".len())..]));
    assert!(inserted(&replies, "ARC-Seal")[0].contains("cv=none"));
    let out = delivered(&replies, &headers, &body);
    let v = arc_check(&out);
    assert_eq!(v.result, mailstamp::arc::ArcResult::Pass, "{v:#?}");
    assert_eq!(v.instances, 1);
    assert_eq!(f.server.metrics().arc_sealed.get(), 1);

    // A passing chain is extended with cv=pass.
    let owned = sealed_headers("lists.example.org; dmarc=pass header.from=reject.example");
    let chained: Vec<(&str, &str)> = owned
        .iter()
        .map(|(n, v)| (n.as_str(), v.as_str()))
        .collect();
    let mut m = msg("192.0.2.7", "bounces@lists.example.org", &chained);
    m.daemon = Some("MX");
    let replies = mta.message(&m).await;
    assert!(inserted(&replies, "ARC-Seal")[0].contains("cv=pass"));
    let v = arc_check(&delivered(&replies, &chained, m.body));
    assert_eq!(v.result, mailstamp::arc::ArcResult::Pass, "{v:#?}");
    assert_eq!(v.instances, 2);

    // A broken chain (the body changed after the seal) is sealed with cv=fail only, and
    // that ends it.
    let mut m = msg("192.0.2.7", "bounces@lists.example.org", &chained);
    m.daemon = Some("MX");
    m.body = b"changed on the way\r\n";
    let replies = mta.message(&m).await;
    assert!(inserted(&replies, "ARC-Seal")[0].contains("cv=fail"));
    let failed = delivered(&replies, &chained, m.body);
    assert_eq!(arc_check(&failed).result, mailstamp::arc::ArcResult::Fail);

    // Another daemon's mail (a new SMTP connection) and our own mail are not sealed.
    let mut m = msg("192.0.2.8", "carol@example.com", &headers);
    m.daemon = Some("OTHER");
    assert!(inserted(&mta.message(&m).await, "ARC-Seal").is_empty());
    let m = msg(
        "10.0.0.1",
        "alice@example.org",
        &[("From", "alice@example.org")],
    );
    assert!(inserted(&mta.message(&m).await, "ARC-Seal").is_empty());

    // Refused mail is not sealed.
    let dir = tempfile::tempdir().unwrap();
    let f = start(&format!(
        "{}[dmarc]\nenforce = true\n",
        seal(dir.path(), "")
    ))
    .await;
    let mut mta = session(f.addr).await;
    let replies = mta.message(&m_reject()).await;
    assert_eq!(reply_code(verdict(&replies)).map(|c| c.0), Some(550));
    assert!(inserted(&replies, "ARC-Seal").is_empty());
    assert_eq!(f.server.metrics().arc_not_sealed.get(), 1);

    // A seal key others may read disables sealing only, with the path and mode.
    let dir = tempfile::tempdir().unwrap();
    let text = config_text(dir.path(), &seal(dir.path(), ""));
    std::fs::set_permissions(
        dir.path().join("ed25519._domainkey.example.org.pem"),
        std::fs::Permissions::from_mode(0o644),
    )
    .unwrap();
    let config = Config::parse(&text, &dir.path().join("milter.toml")).unwrap();
    let overrides = Overrides {
        resolver: Some(Resolver::offline(zone())),
        now: Some(NOW),
    };
    let loaded = Loaded::from_config(config, None, &overrides).unwrap();
    let e = loaded
        .arc_seal
        .as_ref()
        .unwrap()
        .as_ref()
        .unwrap_err()
        .to_string();
    assert!(e.contains("0644") && e.contains("[arc_seal]"), "{e}");
}

fn m_reject() -> Msg<'static> {
    msg(
        "192.0.2.7",
        "ceo@reject.example",
        &[("From", "ceo@reject.example"), ("Subject", "spoofed")],
    )
}

/// The evaluation `mailstamp check --record` stores for the message `m` sends (the same
/// bytes the milter rebuilds, the same envelope, zone and clock).
async fn check_record_evaluation(
    loaded: &Loaded,
    m: &Msg<'_>,
) -> mailstamp_reports::store::Evaluation {
    let mut raw = String::new();
    for (n, v) in m.headers {
        raw.push_str(&format!("{n}: {v}\r\n"));
    }
    let mut bytes = raw.into_bytes();
    bytes.extend_from_slice(b"\r\n");
    bytes.extend_from_slice(m.body);
    let envelope = mailstamp_message::envelope::Envelope {
        client_ip: m.ip.parse().unwrap(),
        helo: m.helo.to_owned(),
        mail_from: Some(m.mail_from.to_owned()),
    };
    let report = loaded.authenticator.check(&bytes, Some(&envelope)).await;
    mailstamp_reports::store::Evaluation::from_report(&report).unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn dmarc_evaluations_are_recorded_in_sqlite_as_check_record_stores_them() {
    let db_dir = tempfile::tempdir().unwrap();
    let db = db_dir.path().join("verdicts.sqlite");
    let f = start(&format!("record = \"{}\"\n", db.display())).await;
    assert_eq!(f.server.recording().as_deref(), Some(db.to_str().unwrap()));
    let mut mta = session(f.addr).await;
    let pass = [("From", "alice@example.org"), ("Subject", "s")];
    let fail = [("From", "ceo@reject.example"), ("Subject", "pay this")];
    let sent = [
        msg("192.0.2.7", "alice@example.org", &pass),
        msg("192.0.2.7", "ceo@reject.example", &fail),
        // Mail we originate is signed, not verified: no DMARC evaluation, nothing recorded.
        msg("10.0.0.1", "alice@example.org", &pass),
    ];
    for m in &sent {
        let replies = mta.message(m).await;
        assert_eq!(verdict(&replies), &Reply::Continue);
    }
    f.server.shutdown();
    tokio::time::timeout(Duration::from_secs(10), f.task)
        .await
        .unwrap()
        .unwrap();
    f.server.finish_recording().await;
    let metrics = f.server.metrics();
    assert_eq!(metrics.records_written.get(), 2);
    assert_eq!(metrics.records_dropped.get(), 0);
    let store = mailstamp_reports::store::Store::open(db.to_str().unwrap()).unwrap();
    assert_eq!(store.count().unwrap(), 2);
    let loaded = f.server.current();
    for (m, domain) in [(&sent[0], "example.org"), (&sent[1], "reject.example")] {
        let stored = store.evaluations(domain, 0, i64::MAX).unwrap();
        assert_eq!(stored.len(), 1, "{domain}");
        assert_eq!(stored[0], check_record_evaluation(&loaded, m).await);
        assert_eq!(stored[0].time, NOW as i64);
        assert_eq!(stored[0].source_ip, "192.0.2.7");
    }
    let fail = &store.evaluations("reject.example", 0, i64::MAX).unwrap()[0];
    assert_eq!(
        (fail.dmarc_result.as_str(), fail.disposition.as_str()),
        ("fail", "reject")
    );
    assert!(
        metrics
            .render()
            .contains("mailstamp_milter_records_written_total 2\n")
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_store_that_is_down_costs_records_never_mail() {
    let dir = tempfile::tempdir().unwrap();
    let unwritable = dir.path().join("no-such-directory/verdicts.sqlite");
    // A port nothing listens on.
    let refused = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let port = l.local_addr().unwrap().port();
        drop(l);
        format!("postgres://mailstamp@127.0.0.1:{port}/verdicts")
    };
    for store in [unwritable.display().to_string(), refused] {
        let f = start(&format!("record = \"{store}\"\n[dmarc]\nenforce = true\n")).await;
        let mut mta = session(f.addr).await;
        let pass = [("From", "alice@example.org"), ("Subject", "s")];
        for _ in 0..3 {
            let replies = mta
                .message(&msg("192.0.2.7", "alice@example.org", &pass))
                .await;
            assert_eq!(verdict(&replies), &Reply::Continue, "{store}");
            let ar = inserted(&replies, "Authentication-Results");
            assert_eq!(ar.len(), 1, "{store}");
            assert!(ar[0].contains("dmarc=pass"), "{store}: {}", ar[0]);
        }
        // The DMARC reject is still enforced.
        let fail = [("From", "ceo@reject.example")];
        let replies = mta
            .message(&msg("192.0.2.7", "ceo@reject.example", &fail))
            .await;
        assert_eq!(reply_code(verdict(&replies)).map(|c| c.0), Some(550));
        f.server.shutdown();
        f.task.await.unwrap();
        f.server.finish_recording().await;
        let m = f.server.metrics();
        assert_eq!(m.messages.get(), 4, "{store}");
        assert_eq!(m.records_written.get(), 0, "{store}");
        assert_eq!(m.records_dropped.get(), 4, "{store}");
        assert!(
            m.render()
                .contains("mailstamp_milter_records_dropped_total 4\n")
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_reload_moves_recording_to_another_store() {
    let dir = tempfile::tempdir().unwrap();
    let first = dir.path().join("first.sqlite");
    let second = dir.path().join("second.sqlite");
    let f = start(&format!("record = \"{}\"\n", first.display())).await;
    let pass = [("From", "alice@example.org")];
    let mut mta = session(f.addr).await;
    mta.message(&msg("192.0.2.7", "alice@example.org", &pass))
        .await;
    let text = std::fs::read_to_string(&f.path)
        .unwrap()
        .replace(first.to_str().unwrap(), second.to_str().unwrap());
    std::fs::write(&f.path, &text).unwrap();
    f.server.reload().unwrap();
    assert_eq!(f.server.recording().as_deref(), second.to_str());
    mta.message(&msg("192.0.2.7", "alice@example.org", &pass))
        .await;
    mta.message(&msg("192.0.2.7", "alice@example.org", &pass))
        .await;
    // Recording removed: nothing more is written.
    std::fs::write(
        &f.path,
        text.replace(&format!("record = \"{}\"\n", second.display()), ""),
    )
    .unwrap();
    f.server.reload().unwrap();
    assert_eq!(f.server.recording(), None);
    mta.message(&msg("192.0.2.7", "alice@example.org", &pass))
        .await;
    f.server.shutdown();
    f.task.await.unwrap();
    f.server.finish_recording().await;
    // The first writer finishes on its own thread once replaced: wait for its row.
    let count = |p: &Path| {
        mailstamp_reports::store::Store::open(p.to_str().unwrap())
            .unwrap()
            .count()
            .unwrap()
    };
    for _ in 0..100 {
        if f.server.metrics().records_written.get() == 3 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert_eq!(count(&first), 1);
    assert_eq!(count(&second), 2);
    assert_eq!(f.server.metrics().records_written.get(), 3);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn progress_replies_keep_the_mta_waiting_while_dns_is_slow() {
    use mailstamp_testkit::dns_server::{Options, TestServer};
    // Every answer from the loopback DNS server takes 700 ms; SPF, DKIM and DMARC need
    // several rounds, so the message waits well over the 100 ms progress interval.
    let dns = TestServer::with_options(
        zone(),
        Options {
            latency: Duration::from_millis(700),
            silent: false,
        },
    );
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("milter.toml");
    let config = |progress: u64| {
        format!(
            "listen = \"inet:127.0.0.1:0\"\nauthserv_id = \"mx.example.net\"\n\
             [dns]\nnameservers = [\"{}\"]\ntimeout_ms = 5000\nattempts = 1\n\
             [limits]\nprogress_interval_ms = {progress}\nwall_time_ms = 30000\n",
            dns.addr()
        )
    };
    for (progress, expect) in [(100, true), (0, false)] {
        std::fs::write(&path, config(progress)).unwrap();
        let overrides = Overrides {
            resolver: None,
            now: Some(NOW),
        };
        let server = Server::load(&path, overrides).unwrap();
        let listener = server.bind().await.unwrap();
        let addr = listener.local_addr().unwrap();
        let s = server.clone();
        let task = tokio::spawn(async move { s.serve(listener).await });
        let mut mta = session(addr).await;
        let headers = [("From", "alice@example.org"), ("Subject", "slow")];
        let replies = mta
            .message(&msg("192.0.2.7", "alice@example.org", &headers))
            .await;
        let progress_seen = replies.iter().filter(|r| **r == Reply::Progress).count();
        assert_eq!(progress_seen > 0, expect, "{replies:?}");
        assert_eq!(
            server.metrics().progress_replies.get(),
            progress_seen as u64
        );
        // The verdict still comes, after the progress replies.
        assert_eq!(verdict(&replies), &Reply::Continue);
        assert!(inserted(&replies, "Authentication-Results")[0].contains("dmarc=pass"));
        server.shutdown();
        task.await.unwrap();
    }
}

/// A log writer for one test: what the subscriber writes goes to a shared buffer.
#[derive(Clone, Default)]
struct LogBuffer(std::sync::Arc<std::sync::Mutex<Vec<u8>>>);

impl std::io::Write for LogBuffer {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl LogBuffer {
    fn text(&self) -> String {
        String::from_utf8_lossy(&self.0.lock().unwrap()).into_owned()
    }
}

/// One message with no macros at all (an MTA whose macro lists were narrowed).
async fn message_without_macros(mta: &mut Mta) -> Vec<Reply> {
    mta.send(Command::Connect(ConnectInfo {
        hostname: b"client.example".to_vec(),
        family: Family::Inet,
        port: 40000,
        address: b"192.0.2.7".to_vec(),
    }))
    .await;
    mta.expect_continue(ProtocolFlags::NR_CONN).await;
    mta.send(Command::Helo(b"client.example".to_vec())).await;
    mta.expect_continue(ProtocolFlags::NR_HELO).await;
    mta.send(Command::Mail {
        sender: b"<alice@example.org>".to_vec(),
        args: vec![],
    })
    .await;
    mta.expect_continue(ProtocolFlags::NR_MAIL).await;
    mta.send(Command::Header {
        name: b"From".to_vec(),
        value: b" alice@example.org".to_vec(),
    })
    .await;
    mta.send(Command::EndOfHeaders).await;
    mta.expect_continue(ProtocolFlags::NR_EOH).await;
    mta.send(Command::EndOfMessage(b"Hello\r\n".to_vec())).await;
    let mut replies = vec![mta.reply().await.unwrap()];
    while matches!(replies.last(), Some(Reply::Modify(_) | Reply::Progress)) {
        replies.push(mta.reply().await.unwrap());
    }
    replies
}

// A current-thread runtime: the server's tasks run on the test's thread, under its subscriber.
#[tokio::test]
async fn missing_macros_are_warned_about_once_each_with_the_lines_to_add() {
    let log = LogBuffer::default();
    let writer = log.clone();
    let subscriber = tracing_subscriber::fmt()
        .with_ansi(false)
        .with_writer(move || writer.clone())
        .finish();
    let _guard = tracing::subscriber::set_default(subscriber);
    let f = start("").await;
    for _ in 0..2 {
        let mut mta = session(f.addr).await;
        for _ in 0..2 {
            let replies = message_without_macros(&mut mta).await;
            assert_eq!(verdict(&replies), &Reply::Continue);
            assert_eq!(inserted(&replies, "Authentication-Results").len(), 1);
            mta.send(Command::QuitNewConnection).await;
        }
    }
    let text = log.text();
    for (name, postfix, sendmail) in [
        (
            "{daemon_name}",
            "milter_connect_macros = j {daemon_name} {daemon_addr} v {client_addr} _",
            "define(`confMILTER_MACROS_CONNECT', `j, {daemon_name}, {client_addr}, _')dnl",
        ),
        (
            "{auth_authen}",
            "milter_mail_macros = i {auth_type} {auth_authen} {auth_author} {mail_addr} {mail_host} {mail_mailer}",
            "define(`confMILTER_MACROS_ENVFROM', `i, {auth_type}, {auth_authen}, {mail_addr}')dnl",
        ),
        (
            "{i}",
            "milter_end_of_data_macros = i",
            "define(`confMILTER_MACROS_EOM', `{msg_id}, i')dnl",
        ),
    ] {
        let lines: Vec<&str> = text
            .lines()
            .filter(|l| l.contains(&format!("does not send {name};")))
            .collect();
        assert_eq!(lines.len(), 1, "{name}:\n{text}");
        assert!(
            lines[0].contains(&format!("add to Postfix's main.cf: {postfix} ")),
            "{text}"
        );
        assert!(lines[0].contains(sendmail), "{text}");
    }
    // A complete MTA does not trigger them on a new server.
    let f = start("").await;
    let before = log.text().len();
    let mut mta = session(f.addr).await;
    let pass = [("From", "alice@example.org")];
    let mut m = msg("192.0.2.7", "alice@example.org", &pass);
    m.daemon = Some("smtpd");
    mta.message(&m).await;
    assert!(
        !log.text()[before..].contains("does not send"),
        "{}",
        log.text()
    );
}
