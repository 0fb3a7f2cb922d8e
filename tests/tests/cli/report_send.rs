//! `mailstamp report send` against a loopback SMTP server written here, which captures what
//! it receives: plain SMTP (`--starttls none`), STARTTLS with a certificate issued at test
//! time by a test CA (rcgen; rustls on the server side) that `--smtp-ca` trusts, and a relay
//! without STARTTLS when TLS is required.

use super::report::{check_args, small_mbox};
use crate::mailstamp;
use std::io::{BufRead as _, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::sync::Arc;

/// What the capture server received.
#[derive(Debug, Default)]
struct Captured {
    mail_from: String,
    rcpt_to: Vec<String>,
    data: String,
    /// The TLS version the message data arrived over (`None`: in plain text).
    data_tls: Option<String>,
}

/// The server side of one connection: plain TCP, or TLS after STARTTLS.
enum Conn {
    Plain(TcpStream),
    Tls(Box<rustls::StreamOwned<rustls::ServerConnection, TcpStream>>),
}

impl Read for Conn {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        match self {
            Conn::Plain(s) => s.read(buf),
            Conn::Tls(s) => s.read(buf),
        }
    }
}

impl Write for Conn {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        match self {
            Conn::Plain(s) => s.write(buf),
            Conn::Tls(s) => s.write(buf),
        }
    }
    fn flush(&mut self) -> std::io::Result<()> {
        match self {
            Conn::Plain(s) => s.flush(),
            Conn::Tls(s) => s.flush(),
        }
    }
}

/// Accepts one SMTP session and returns what it received (plain SMTP, no STARTTLS offered).
fn capture(listener: TcpListener) -> std::thread::JoinHandle<Captured> {
    capture_with(listener, None)
}

/// Accepts one SMTP session, offering STARTTLS with `tls` when given, and returns what it
/// received. A session the client breaks off (a failed handshake) ends the capture.
fn capture_with(
    listener: TcpListener,
    tls: Option<Arc<rustls::ServerConfig>>,
) -> std::thread::JoinHandle<Captured> {
    std::thread::spawn(move || {
        let (stream, _) = listener.accept().unwrap();
        stream
            .set_read_timeout(Some(std::time::Duration::from_secs(30)))
            .unwrap();
        let mut got = Captured::default();
        let mut conn = BufReader::new(Conn::Plain(stream));
        let _ = session(&mut conn, tls.as_ref(), &mut got);
        got
    })
}

fn session(
    conn: &mut BufReader<Conn>,
    tls: Option<&Arc<rustls::ServerConfig>>,
    got: &mut Captured,
) -> std::io::Result<()> {
    conn.get_mut().write_all(b"220 capture.test ESMTP\r\n")?;
    let mut line = String::new();
    loop {
        line.clear();
        if conn.read_line(&mut line)? == 0 {
            return Ok(());
        }
        let upper = line.to_ascii_uppercase();
        let over_tls = matches!(conn.get_ref(), Conn::Tls(_));
        let out = conn.get_mut();
        if upper.starts_with("EHLO") || upper.starts_with("HELO") {
            if tls.is_some() && !over_tls {
                out.write_all(b"250-capture.test\r\n250-STARTTLS\r\n250 8BITMIME\r\n")?;
            } else {
                out.write_all(b"250-capture.test\r\n250 8BITMIME\r\n")?;
            }
        } else if upper.starts_with("STARTTLS")
            && !over_tls
            && let Some(config) = tls
        {
            out.write_all(b"220 go ahead\r\n")?;
            let plain = std::mem::replace(conn, BufReader::new(Conn::Plain(placeholder()?)));
            let Conn::Plain(tcp) = plain.into_inner() else {
                unreachable!("checked above")
            };
            let server =
                rustls::ServerConnection::new(config.clone()).map_err(std::io::Error::other)?;
            *conn = BufReader::new(Conn::Tls(Box::new(rustls::StreamOwned::new(server, tcp))));
        } else if upper.starts_with("MAIL FROM:") {
            got.mail_from = line[10..].trim().to_owned();
            out.write_all(b"250 ok\r\n")?;
        } else if upper.starts_with("RCPT TO:") {
            got.rcpt_to.push(line[8..].trim().to_owned());
            out.write_all(b"250 ok\r\n")?;
        } else if upper.starts_with("DATA") {
            out.write_all(b"354 go on\r\n")?;
            loop {
                line.clear();
                conn.read_line(&mut line)?;
                if line == ".\r\n" || line.is_empty() {
                    break;
                }
                got.data.push_str(line.strip_prefix('.').unwrap_or(&line));
            }
            if let Conn::Tls(s) = conn.get_ref() {
                got.data_tls = s.conn.protocol_version().map(|v| format!("{v:?}"));
            }
            conn.get_mut().write_all(b"250 queued\r\n")?;
        } else if upper.starts_with("QUIT") {
            out.write_all(b"221 bye\r\n")?;
            return Ok(());
        } else {
            out.write_all(b"250 ok\r\n")?;
        }
    }
}

/// A connected TCP stream to stand in while the real one is moved into TLS.
fn placeholder() -> std::io::Result<TcpStream> {
    let l = TcpListener::bind("127.0.0.1:0")?;
    TcpStream::connect(l.local_addr()?)
}

/// A CA and a certificate it issued for `localhost` and 127.0.0.1, made now: the CA's PEM and
/// a server configuration presenting the certificate.
#[expect(
    deprecated,
    reason = "ring is the provider lettre's client uses; a loopback test needs no post-quantum key exchange"
)]
fn test_ca() -> (String, Arc<rustls::ServerConfig>) {
    use rcgen::{
        BasicConstraints, CertificateParams, DnType, IsCa, Issuer, KeyPair, KeyUsagePurpose,
    };
    let ca_key = KeyPair::generate().unwrap();
    let mut ca = CertificateParams::new(Vec::<String>::new()).unwrap();
    ca.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    ca.distinguished_name
        .push(DnType::CommonName, "mailstamp test CA");
    ca.key_usages = vec![KeyUsagePurpose::KeyCertSign, KeyUsagePurpose::CrlSign];
    let ca_cert = ca.self_signed(&ca_key).unwrap();
    let issuer = Issuer::new(ca, ca_key);
    let key = KeyPair::generate().unwrap();
    let mut leaf =
        CertificateParams::new(vec!["localhost".to_owned(), "127.0.0.1".to_owned()]).unwrap();
    leaf.distinguished_name
        .push(DnType::CommonName, "localhost");
    let cert = leaf.signed_by(&key, &issuer).unwrap();
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let config = rustls::ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_no_client_auth()
        .with_single_cert(
            vec![cert.der().clone()],
            rustls::pki_types::PrivateKeyDer::Pkcs8(key.serialize_der().into()),
        )
        .unwrap();
    (ca_cert.pem(), Arc::new(config))
}

/// A report made by `check --record` and `report generate` from four checked messages, and
/// a zone whose example.org policy sends aggregate reports to dmarc@example.org.
fn generated_report(dir: &Path) -> (PathBuf, PathBuf) {
    let mbox = small_mbox(dir, 4);
    let db = dir.join("v.db");
    mailstamp()
        .args(check_args(&mbox))
        .args(["--record", db.to_str().unwrap()])
        .assert()
        .success();
    let out_dir = dir.join("out");
    std::fs::create_dir(&out_dir).unwrap();
    mailstamp()
        .args(["report", "generate", "--store", db.to_str().unwrap()])
        .args(["--org-name", "Receiver Test"])
        .args(["--email", "dmarc@receiver.example"])
        .args(["--now", "1767400000", "--out"])
        .arg(&out_dir)
        .assert()
        .success();
    let zone = dir.join("tls.zone");
    std::fs::write(
        &zone,
        "$ORIGIN example.org.\n$TTL 300\n\
         @ IN SOA ns1 hostmaster ( 1 7200 3600 1209600 300 )\n\
         _dmarc IN TXT \"v=DMARC1; p=reject; rua=mailto:dmarc@example.org\"\n",
    )
    .unwrap();
    (
        out_dir.join("receiver.example!example.org!1767225600!1767311999.xml.gz"),
        zone,
    )
}

/// Issue 16: `report send` over STARTTLS to a relay whose certificate a CA made at test time
/// issued, trusted through `--smtp-ca`: the message arrives over TLS. Without `--smtp-ca`
/// the same relay is not trusted and gets nothing.
#[test]
fn send_over_starttls_trusting_the_relay_ca_given_by_smtp_ca() {
    let tmp = tempfile::tempdir().unwrap();
    let (file, zone) = generated_report(tmp.path());
    let (ca_pem, config) = test_ca();
    let ca = tmp.path().join("ca.pem");
    std::fs::write(&ca, ca_pem).unwrap();
    let send = |port: u16, ca: Option<&Path>| {
        let mut cmd = mailstamp();
        cmd.args(["report", "send", "--zone"])
            .arg(&zone)
            .args(["--relay", &format!("127.0.0.1:{port}")])
            .args(["--from", "dmarc@receiver.example"])
            .arg(&file);
        if let Some(ca) = ca {
            cmd.arg("--smtp-ca").arg(ca);
        }
        cmd.assert()
    };

    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    let server = capture_with(listener, Some(config.clone()));
    let out = send(port, Some(&ca)).success();
    let stdout = String::from_utf8_lossy(&out.get_output().stdout);
    assert!(stdout.contains("sent to dmarc@example.org"), "{stdout}");
    let got = server.join().unwrap();
    assert_eq!(got.rcpt_to, ["<dmarc@example.org>"]);
    let unfolded = got.data.replace("\r\n ", " ");
    assert!(
        unfolded.contains("Report-ID: <example.org!1767225600!1767311999>"),
        "{unfolded}"
    );
    assert!(
        got.data_tls
            .as_deref()
            .is_some_and(|v| v.starts_with("TLSv1_")),
        "the message did not arrive over TLS: {:?}",
        got.data_tls
    );

    // The system's roots do not know the test CA: nothing is sent, exit 3.
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    let server = capture_with(listener, Some(config));
    let out = send(port, None).code(3);
    let stderr = String::from_utf8_lossy(&out.get_output().stderr);
    assert!(stderr.contains("not sent: relay 127.0.0.1:"), "{stderr}");
    assert!(
        stderr.contains("invalid peer certificate") && stderr.contains("TLS with the relay failed"),
        "{stderr}"
    );
    let got = server.join().unwrap();
    assert!(got.data.is_empty() && got.rcpt_to.is_empty());
}

/// Issue 16: with `--starttls required` (the default), a relay that does not offer STARTTLS
/// gets nothing; the error says why; exit 3.
#[test]
fn send_to_a_relay_without_starttls_when_tls_is_required_fails_clearly() {
    let tmp = tempfile::tempdir().unwrap();
    let (file, zone) = generated_report(tmp.path());
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    let server = capture(listener);
    let out = mailstamp()
        .args(["report", "send", "--zone"])
        .arg(&zone)
        .args(["--relay", &format!("127.0.0.1:{port}")])
        .args(["--from", "dmarc@receiver.example"])
        .arg(&file)
        .assert()
        .code(3);
    let stderr = String::from_utf8_lossy(&out.get_output().stderr);
    assert!(
        stderr.contains("not sent: relay 127.0.0.1:")
            && stderr.contains("the relay does not offer STARTTLS and --starttls is required"),
        "{stderr}"
    );
    let got = server.join().unwrap();
    assert!(got.mail_from.is_empty() && got.data.is_empty(), "{got:?}");
}

#[test]
fn send_mails_the_report_to_authorised_rua_addresses_within_their_size_limits() {
    let tmp = tempfile::tempdir().unwrap();
    let mbox = small_mbox(tmp.path(), 4);
    let db = tmp.path().join("v.db");
    mailstamp()
        .args(check_args(&mbox))
        .args(["--record", db.to_str().unwrap()])
        .assert()
        .success();
    let out_dir = tmp.path().join("out");
    std::fs::create_dir(&out_dir).unwrap();
    mailstamp()
        .args(["report", "generate", "--store", db.to_str().unwrap()])
        .args([
            "--org-name",
            "Receiver Test",
            "--email",
            "dmarc@receiver.example",
        ])
        .args(["--now", "1767400000", "--out"])
        .arg(&out_dir)
        .assert()
        .success();
    let name = "receiver.example!example.org!1767225600!1767311999.xml.gz";
    let file = out_dir.join(name);
    let gzip = std::fs::read(&file).unwrap();
    assert!(gzip.len() > 100, "{}", gzip.len());

    // The policy: one internal address, one authorised external one (10 MiB limit), one
    // authorised but too small for the report (100 bytes), one not authorised.
    let zone = tmp.path().join("send.zone");
    std::fs::write(
        &zone,
        "$ORIGIN example.org.\n$TTL 300\n\
         @ IN SOA ns1 hostmaster ( 1 7200 3600 1209600 300 )\n\
         _dmarc IN TXT \"v=DMARC1; p=reject; rua=mailto:dmarc@example.org,\
         mailto:agg@reports.example.net!10m,mailto:big@small.example.net!100,\
         mailto:x@unauth.example.com\"\n\
         example.org._report._dmarc.reports.example.net. IN TXT \"v=DMARC1\"\n\
         example.org._report._dmarc.small.example.net. IN TXT \"v=DMARC1\"\n",
    )
    .unwrap();

    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    let server = capture(listener);
    let out = mailstamp()
        .args(["report", "send", "--zone"])
        .arg(&zone)
        .args(["--relay", &format!("127.0.0.1:{port}")])
        .args(["--from", "dmarc@receiver.example", "--starttls", "none"])
        .arg(&file)
        .assert()
        .success();
    let stdout = String::from_utf8_lossy(&out.get_output().stdout);
    let stderr = String::from_utf8_lossy(&out.get_output().stderr);
    assert!(
        stdout.contains("sent to dmarc@example.org, agg@reports.example.net"),
        "{stdout}"
    );
    assert!(
        stderr.contains(
            "mailto:x@unauth.example.com skipped: external destination not authorised \
             (no example.org._report._dmarc.unauth.example.com record"
        ),
        "{stderr}"
    );
    assert!(
        stderr.contains("mailto:big@small.example.net skipped: the report e-mail")
            && stderr.contains("exceeds its size limit !100"),
        "{stderr}"
    );

    let got = server.join().unwrap();
    assert_eq!(got.mail_from, "<dmarc@receiver.example>");
    assert_eq!(
        got.rcpt_to,
        ["<dmarc@example.org>", "<agg@reports.example.net>"]
    );
    let unfolded = got.data.replace("\r\n ", " ").replace("\r\n\t", " ");
    assert!(
        unfolded.contains(
            "Subject: Report Domain: example.org Submitter: Receiver Test \
             Report-ID: <example.org!1767225600!1767311999>"
        ),
        "{unfolded}"
    );
    assert!(
        unfolded.contains("Content-Type: application/gzip"),
        "{unfolded}"
    );
    assert!(unfolded.contains(name), "{unfolded}");
    // The captured e-mail is a report e-mail mailstamp reads back: the same report.
    let (reports, diags) = mailstamp_reports::parse_bytes(
        "captured.eml",
        got.data.as_bytes(),
        mailstamp_reports::ParseOptions::default(),
    );
    assert!(diags.items.is_empty(), "{:?}", diags.items);
    let mailstamp_reports::Report::Aggregate(r) = &reports[0] else {
        panic!("not an aggregate report");
    };
    assert_eq!(r.report_id, "example.org!1767225600!1767311999");
    assert_eq!(r.messages(), 4);
}
