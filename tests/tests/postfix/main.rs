//! The real-Postfix harness itself (issue 14, "Tested with the real thing"): Postfix starts in
//! its own directory on loopback ports, mail sent over SMTP reaches `smtp-sink` unchanged but
//! for Postfix's Received field, the milter settings are live (an unreachable milter with
//! `milter_default_action = tempfail` gives a 4xx), and everything stops and goes on drop.
//!
//! These tests need Postfix and root (see `mailstamp_testkit::postfix`); without them they
//! fail, unless `MAILSTAMP_SKIP_POSTFIX=1` is set (CI never sets it).

mod milter;

use mailstamp_testkit::postfix::{Envelope, PostfixOptions, SmtpStage, start_or_skip};
use std::net::{Ipv4Addr, TcpListener, TcpStream};
use std::time::Duration;

const WAIT: Duration = Duration::from_secs(20);

/// A message with the details a DKIM signature covers: a folded header, an empty header value,
/// a line starting with a dot, trailing white space, an 8-bit line, empty lines at the end.
const MESSAGE: &[u8] = b"From: Alice <alice@example.org>\r\n\
To: Bob <bob@example.com>\r\n\
Subject: harness   test\r\n \
folded onto a second line\r\n\
X-Empty:\r\n\
Date: Thu, 15 Jan 2026 10:30:00 +0100\r\n\
Message-ID: <harness.1@example.org>\r\n\
\r\n\
Hello Bob,  \r\n\
.a line that starts with a dot\r\n\
\tcaf\xc3\xa9\r\n\
\r\n\
\r\n";

/// Splits off the first header field (with its continuation lines).
fn first_field(message: &[u8]) -> (&[u8], &[u8]) {
    let mut at = 0;
    loop {
        let end = message[at..]
            .windows(2)
            .position(|w| w == b"\r\n")
            .map(|p| at + p + 2)
            .expect("a CRLF");
        at = end;
        if !matches!(message.get(at), Some(b' ' | b'\t')) {
            return message.split_at(at);
        }
    }
}

fn closed_port() -> u16 {
    let listener = TcpListener::bind((Ipv4Addr::LOCALHOST, 0)).expect("bind 127.0.0.1:0");
    listener.local_addr().expect("local addr").port()
}

#[test]
fn mail_reaches_the_sink_unchanged_but_for_the_received_field() {
    let Some(postfix) = start_or_skip(PostfixOptions::default()) else {
        return;
    };
    let outcome = postfix
        .send(
            postfix.smtp_port(),
            "alice@example.org",
            &["bob@example.com"],
            MESSAGE,
        )
        .expect("SMTP to Postfix");
    assert!(outcome.accepted(), "{outcome}\n{:#?}", outcome.transcript);
    let queue_id = outcome.queue_id().expect("a queue ID").to_owned();

    let delivered = postfix.wait_deliveries(WAIT);
    assert_eq!(delivered.len(), 1, "maillog:\n{}", postfix.maillog());
    let delivery = &delivered[0];
    assert_eq!(delivery.mail_from, "alice@example.org");
    assert_eq!(delivery.rcpts, ["bob@example.com"]);

    let (received, rest) = first_field(&delivery.message);
    let received = String::from_utf8_lossy(received);
    assert!(
        received.starts_with("Received: from client.test (unknown [127.0.0.1])\r\n"),
        "{received}"
    );
    assert!(
        received.contains(&format!(
            "by mx.postfix.test (Postfix) with ESMTP id {queue_id}"
        )),
        "{received}"
    );
    assert_eq!(
        String::from_utf8_lossy(rest),
        String::from_utf8_lossy(MESSAGE),
        "the message changed on its way through Postfix"
    );
    let log = postfix.maillog();
    assert!(
        log.contains(&format!("{queue_id}: to=<bob@example.com>")),
        "{log}"
    );
    assert!(log.contains("status=sent"), "{log}");
}

#[test]
fn the_submission_listener_and_sendmail_deliver_too() {
    let Some(postfix) = start_or_skip(PostfixOptions::default()) else {
        return;
    };
    let outcome = postfix
        .send(
            postfix.submission_port(),
            "alice@example.org",
            &["carol@example.net", "dave@example.net"],
            MESSAGE,
        )
        .expect("SMTP to Postfix");
    assert!(outcome.accepted(), "{outcome}");
    postfix
        .sendmail("erin@example.org", &["frank@example.com"], MESSAGE)
        .expect("sendmail");

    let mut delivered = postfix.wait_deliveries(WAIT);
    assert_eq!(delivered.len(), 2, "maillog:\n{}", postfix.maillog());
    delivered.sort_by(|a, b| a.mail_from.cmp(&b.mail_from));
    assert_eq!(delivered[0].mail_from, "alice@example.org");
    assert_eq!(
        delivered[0].rcpts,
        ["carol@example.net", "dave@example.net"]
    );
    assert_eq!(delivered[1].mail_from, "erin@example.org");
    assert_eq!(delivered[1].rcpts, ["frank@example.com"]);
    // Postfix's pickup Received field, then the message as submitted.
    let (received, rest) = first_field(&delivered[1].message);
    assert!(
        String::from_utf8_lossy(received).contains("(Postfix, from userid 0)"),
        "{}",
        String::from_utf8_lossy(received)
    );
    assert_eq!(rest, MESSAGE);

    let log = postfix.maillog();
    assert!(log.contains("postfix/submission/smtpd["), "{log}");
    assert!(log.contains("postfix/pickup["), "{log}");
}

#[test]
fn xclient_makes_postfix_see_another_client() {
    let Some(postfix) = start_or_skip(PostfixOptions::default()) else {
        return;
    };
    let envelope = Envelope {
        helo: "mail.example.org".to_owned(),
        client_addr: Some("192.0.2.25".parse().expect("IP")),
        client_name: Some("mail.example.org".to_owned()),
        ..Envelope::new("alice@example.org", &["bob@example.com"])
    };
    let outcome = postfix
        .send_with(postfix.smtp_port(), &envelope, MESSAGE)
        .expect("SMTP to Postfix");
    assert!(outcome.accepted(), "{outcome}\n{:#?}", outcome.transcript);
    let delivered = postfix.wait_delivered(WAIT);
    assert_eq!(delivered.len(), 1, "maillog:\n{}", postfix.maillog());
    let (received, _) = first_field(&delivered[0]);
    assert!(
        String::from_utf8_lossy(received)
            .starts_with("Received: from mail.example.org (mail.example.org [192.0.2.25])"),
        "{}",
        String::from_utf8_lossy(received)
    );
}

#[test]
fn an_unreachable_milter_with_default_action_tempfail_gives_4xx() {
    let milter = format!("inet:127.0.0.1:{}", closed_port());
    let Some(postfix) = start_or_skip(PostfixOptions {
        smtpd_milters: vec![milter],
        milter_default_action: Some("tempfail".to_owned()),
        ..PostfixOptions::default()
    }) else {
        return;
    };
    let outcome = postfix
        .send(
            postfix.smtp_port(),
            "alice@example.org",
            &["bob@example.com"],
            MESSAGE,
        )
        .expect("SMTP to Postfix");
    assert!(outcome.tempfailed(), "{outcome}\n{:#?}", outcome.transcript);
    assert_eq!(outcome.code, 451, "{outcome}");
    assert_eq!(outcome.enhanced_code(), Some("4.7.1"), "{outcome}");
    assert!(postfix.wait_delivered(WAIT).is_empty());
    assert!(
        postfix
            .wait_for_log("connect to Milter service", WAIT)
            .is_some(),
        "{}",
        postfix.maillog()
    );
}

#[test]
fn an_unreachable_milter_with_default_action_accept_lets_mail_through() {
    let milter = format!("inet:127.0.0.1:{}", closed_port());
    let Some(postfix) = start_or_skip(PostfixOptions {
        smtpd_milters: vec![milter],
        milter_default_action: Some("accept".to_owned()),
        ..PostfixOptions::default()
    }) else {
        return;
    };
    let outcome = postfix
        .send(
            postfix.smtp_port(),
            "alice@example.org",
            &["bob@example.com"],
            MESSAGE,
        )
        .expect("SMTP to Postfix");
    assert!(outcome.accepted(), "{outcome}");
    assert_eq!(outcome.stage, SmtpStage::Data);
    assert_eq!(postfix.wait_delivered(WAIT).len(), 1);
}

/// A listener that plays milter just far enough to read Postfix's first packet (SMFIC_OPTNEG:
/// length, 'O', version, actions, protocol steps), then hangs up.
fn fake_milter() -> (u16, std::thread::JoinHandle<Vec<u8>>) {
    use std::io::Read as _;
    let listener = TcpListener::bind((Ipv4Addr::LOCALHOST, 0)).expect("bind 127.0.0.1:0");
    let port = listener.local_addr().expect("local addr").port();
    let thread = std::thread::spawn(move || {
        let (mut conn, _) = listener.accept().expect("Postfix connects to the milter");
        conn.set_read_timeout(Some(WAIT)).expect("timeout");
        let mut len = [0u8; 4];
        conn.read_exact(&mut len).expect("packet length");
        let mut packet = vec![0u8; u32::from_be_bytes(len) as usize];
        conn.read_exact(&mut packet).expect("packet");
        packet
    });
    (port, thread)
}

#[test]
fn postfix_talks_milter_protocol_6_to_the_configured_milter() {
    let (port, milter) = fake_milter();
    let Some(postfix) = start_or_skip(PostfixOptions::with_milter(format!(
        "inet:127.0.0.1:{port}"
    ))) else {
        return;
    };
    let outcome = postfix
        .send(
            postfix.smtp_port(),
            "alice@example.org",
            &["bob@example.com"],
            MESSAGE,
        )
        .expect("SMTP to Postfix");
    let packet = milter.join().expect("fake milter");
    assert_eq!(packet.first(), Some(&b'O'), "{packet:?}");
    assert_eq!(
        packet.get(1..5),
        Some(&6u32.to_be_bytes()[..]),
        "{packet:?}"
    );
    // The milter hung up: milter_default_action = tempfail.
    assert!(outcome.tempfailed(), "{outcome}");
}

#[test]
fn extra_main_cf_lines_replace_the_harness_settings() {
    let Some(postfix) = start_or_skip(PostfixOptions {
        main_cf: vec!["myhostname = relay.example".to_owned()],
        ..PostfixOptions::default()
    }) else {
        return;
    };
    let outcome = postfix
        .send(
            postfix.smtp_port(),
            "a@example.org",
            &["b@example.com"],
            MESSAGE,
        )
        .expect("SMTP to Postfix");
    assert!(outcome.accepted(), "{outcome}");
    let delivered = postfix.wait_delivered(WAIT);
    assert_eq!(delivered.len(), 1, "maillog:\n{}", postfix.maillog());
    let (received, _) = first_field(&delivered[0]);
    assert!(
        String::from_utf8_lossy(received).contains("by relay.example (Postfix)"),
        "{}",
        String::from_utf8_lossy(received)
    );
    assert!(!postfix.maillog().contains("overriding earlier entry"));
}

#[test]
fn drop_stops_postfix_and_the_sink_and_removes_the_directory() {
    let Some(postfix) = start_or_skip(PostfixOptions::default()) else {
        return;
    };
    let dir = postfix.dir().to_owned();
    let ports = [
        postfix.smtp_port(),
        postfix.submission_port(),
        postfix.sink_port(),
    ];
    assert!(postfix.version().starts_with('3'), "{}", postfix.version());
    for port in ports {
        TcpStream::connect((Ipv4Addr::LOCALHOST, port)).expect("listening");
    }
    drop(postfix);
    assert!(!dir.exists(), "{} is left behind", dir.display());
    for port in ports {
        assert!(
            TcpStream::connect((Ipv4Addr::LOCALHOST, port)).is_err(),
            "port {port} still open"
        );
    }
}

/// Not a check: prints how long a start, a delivery and a stop take
/// (`cargo test -p mailstamp-tests --test postfix -- --ignored --nocapture timings`).
#[test]
#[ignore = "prints timings"]
#[expect(clippy::disallowed_methods, reason = "measures wall-clock time")]
fn timings() {
    use std::time::Instant;
    for _ in 0..3 {
        let t0 = Instant::now();
        let Some(postfix) = start_or_skip(PostfixOptions::default()) else {
            return;
        };
        let started = t0.elapsed();
        let t1 = Instant::now();
        let outcome = postfix
            .send(
                postfix.smtp_port(),
                "a@example.org",
                &["b@example.com"],
                MESSAGE,
            )
            .expect("SMTP");
        let accepted = t1.elapsed();
        assert_eq!(postfix.wait_delivered(WAIT).len(), 1);
        let delivered = t1.elapsed();
        let t2 = Instant::now();
        postfix.stop();
        let stopped = t2.elapsed();
        eprintln!(
            "start {started:?}, accepted {accepted:?} ({}), delivered {delivered:?}, stop {stopped:?}",
            outcome.code
        );
    }
}
