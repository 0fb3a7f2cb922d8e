use super::*;
use crate::mailbox::{MailItem, MailboxOptions, Mbox, Origin};
use mailstamp_authres::AuthenticationResults;
use mailstamp_dkim::{Signer, SigningKey, sign};
use mailstamp_dmarc::{Disposition, DmarcResult};
use mailstamp_dns::RecordType;

/// RFC 8032 §7.1 test 1: the key of the RFC 8463 examples.
const SEED: [u8; 32] = [
    0x9d, 0x61, 0xb1, 0x9d, 0xef, 0xfd, 0x5a, 0x60, 0xba, 0x84, 0x4a, 0xf4, 0x92, 0xec, 0x2c, 0xc4,
    0x44, 0x49, 0xc5, 0x69, 0x7b, 0x32, 0x69, 0x19, 0x70, 0x3b, 0xac, 0x03, 0x1c, 0xae, 0x7f, 0x60,
];
const KEY_RECORD: &str = "v=DKIM1; k=ed25519; p=11qYAYKxCrfVS/7TyWQHOg7hcvPapiMlrwIaaPcHURo=";
const NOW: u64 = 1_767_571_200;

fn name(s: &str) -> Name {
    Name::parse(s).unwrap()
}

/// example.org: SPF allowing 192.0.2.0/24, p=reject, an ed25519 key at sel._domainkey.
fn zone() -> Zone {
    let mut z = Zone::new();
    z.add_txt(&name("example.org"), ["v=spf1 ip4:192.0.2.0/24 -all"]);
    z.add_txt(&name("mail.example.org"), ["v=spf1 a -all"]);
    z.add(
        &name("mail.example.org"),
        mailstamp_dns::RData::A("192.0.2.25".parse().unwrap()),
    );
    z.add_txt(&name("_dmarc.example.org"), ["v=DMARC1; p=reject"]);
    z.add_txt(&name("sel._domainkey.example.org"), [KEY_RECORD]);
    z
}

fn options() -> CheckOptions {
    CheckOptions::new("mx.example.net").with_now(NOW)
}

fn envelope(ip: &str, mail_from: Option<&str>) -> Envelope {
    Envelope {
        client_ip: ip.parse().unwrap(),
        helo: "mail.example.org".into(),
        mail_from: mail_from.map(str::to_owned),
    }
}

const MESSAGE: &[u8] = b"From: Alice <alice@example.org>\r\nTo: bob@example.net\r\n\
Subject: hello\r\nDate: Mon, 05 Jan 2026 00:00:00 +0000\r\nMessage-ID: <1@example.org>\r\n\r\n\
Hello Bob.\r\n";

fn signed(domain: &str, message: &[u8]) -> Vec<u8> {
    let key = SigningKey::from_ed25519_seed(&SEED).unwrap();
    let signer = Signer::new(key, domain, "sel").unwrap();
    sign(&Message::parse(message), &[signer], NOW)
        .unwrap()
        .prepend_to(message)
}

fn check(zone: &Zone, message: &[u8], envelope: Option<&Envelope>) -> Report {
    Authenticator::offline(zone.clone(), options()).check_with(message, envelope, zone)
}

/// Asserts that `field` is one header field: CRLF only as folds, parses back.
fn assert_one_field(ar: &AuthenticationResults) {
    let field = ar.to_field();
    let body = field.strip_suffix("\r\n").unwrap();
    for line in body.split("\r\n").skip(1) {
        assert!(line.starts_with(' '), "not a fold: {field:?}");
    }
    assert!(!body.contains('\n') || body.matches('\n').count() == body.matches("\r\n ").count());
    assert!(
        field
            .bytes()
            .all(|b| b == b'\r' || b == b'\n' || (b' '..=b'~').contains(&b))
    );
    let parsed = AuthenticationResults::parse(ar.to_value()).unwrap();
    assert_eq!(parsed.results.len(), ar.results.len(), "{field}");
}

#[test]
fn rfc8601_all_pass_signed_message() {
    let message = signed("example.org", MESSAGE);
    let env = envelope("192.0.2.25", Some("alice@example.org"));
    let report = check(&zone(), &message, Some(&env));
    assert_eq!(report.spf.result, SpfResult::Pass);
    assert_eq!(report.spf_helo.as_ref().unwrap().result, SpfResult::Pass);
    assert_eq!(report.dkim.len(), 1);
    assert_eq!(report.dkim[0].result(), DkimResult::Pass);
    assert_eq!(report.dkim[0].domain(), Some("example.org"));
    assert_eq!(report.dkim[0].selector(), Some("sel"));
    assert_eq!(report.dmarc.result, DmarcResult::Pass);
    assert_eq!(report.outcome(), Outcome::Pass);
    let field = report.authentication_results().to_field();
    let b = report.dkim[0].header_b.as_deref().unwrap();
    assert_eq!(b.len(), 8, "the shortest header.b prefix for one signature");
    assert_eq!(
        field,
        format!(
            "Authentication-Results: mx.example.net;\r\n  \
             spf=pass smtp.mailfrom=example.org;\r\n  \
             spf=pass smtp.helo=mail.example.org;\r\n  \
             dkim=pass header.d=example.org header.s=sel header.a=ed25519-sha256\r\n    \
             header.b={b};\r\n  \
             dmarc=pass (p=reject dis=none) header.from=example.org policy.dmarc=none;\r\n  \
             arc=none\r\n"
        )
    );
    assert_one_field(&report.authentication_results());
}

#[test]
fn rfc7208_2_6_1_no_envelope_is_spf_none() {
    let message = signed("example.org", MESSAGE);
    let report = check(&zone(), &message, None);
    assert_eq!(report.spf.result, SpfResult::None);
    assert_eq!(report.spf.skipped, Some(SpfSkip::NoEnvelope));
    assert!(report.spf_helo.is_none());
    // DKIM alone aligns.
    assert_eq!(report.dmarc.result, DmarcResult::Pass);
    let ar = report.authentication_results().to_value();
    assert!(ar.contains("spf=none reason=\"no envelope\";"), "{ar}");
}

#[test]
fn rfc7208_2_4_null_reverse_path_checks_helo_once() {
    let env = envelope("192.0.2.25", Some(""));
    let report = check(&zone(), MESSAGE, Some(&env));
    let v = report.spf.verdict.as_ref().unwrap();
    assert_eq!(v.domain(), "mail.example.org");
    assert_eq!(report.spf.result, SpfResult::Pass);
    assert!(
        report.spf_helo.is_none(),
        "the MAIL FROM check already was the HELO check"
    );
    let ar = report.authentication_results().to_value();
    assert!(
        ar.contains("spf=pass (null reverse-path) smtp.helo=mail.example.org"),
        "{ar}"
    );
    // The HELO domain is under example.org: relaxed SPF alignment passes DMARC.
    assert_eq!(report.dmarc.result, DmarcResult::Pass);
}

#[test]
fn rfc9989_unaligned_spf_fails_with_reject() {
    let mut z = zone();
    z.add_txt(
        &name("bounce.other.example"),
        ["v=spf1 ip4:192.0.2.0/24 -all"],
    );
    let env = envelope("192.0.2.25", Some("x@bounce.other.example"));
    let report = check(&z, MESSAGE, Some(&env));
    assert_eq!(report.spf.result, SpfResult::Pass);
    assert_eq!(report.dmarc.result, DmarcResult::Fail);
    assert_eq!(report.dmarc.disposition, Disposition::Reject);
    assert_eq!(report.outcome(), Outcome::NotPass);
    let ar = report.authentication_results().to_value();
    assert!(ar.contains("dkim=none;"), "{ar}");
    assert!(ar.contains("policy.dmarc=reject"), "{ar}");
}

#[test]
fn rfc6376_6_1_2_dns_failure_is_temperror_not_pass() {
    let mut z = Zone::new();
    z.add_txt(&name("_dmarc.example.org"), ["v=DMARC1; p=reject"]);
    z.fail(&name("sel._domainkey.example.org"), FailureKind::ServFail);
    z.fail_type(&name("example.org"), RecordType::Txt, FailureKind::Timeout);
    z.add_txt(&name("mail.example.org"), ["v=spf1 -all"]);
    let message = signed("example.org", MESSAGE);
    let env = envelope("192.0.2.25", Some("alice@example.org"));
    let report = check(&z, &message, Some(&env));
    assert_eq!(report.spf.result, SpfResult::TempError);
    assert_eq!(report.dkim[0].result(), DkimResult::TempError);
    assert_eq!(report.dmarc.result, DmarcResult::TempError);
    assert_eq!(report.outcome(), Outcome::TempError);
}

#[test]
fn outcome_without_dmarc_record() {
    let mut z = Zone::new();
    z.add_txt(&name("example.org"), ["v=spf1 ip4:192.0.2.0/24 -all"]);
    z.add_txt(&name("sel._domainkey.example.org"), [KEY_RECORD]);
    z.add_txt(&name("sel._domainkey.other.example"), [KEY_RECORD]);
    let pass = envelope("192.0.2.25", Some("alice@example.org"));
    let fail = envelope("198.51.100.1", Some("alice@example.org"));
    // SPF passes: pass.
    let r = check(&z, MESSAGE, Some(&pass));
    assert_eq!(r.dmarc.result, DmarcResult::None);
    assert_eq!(r.outcome(), Outcome::Pass);
    // SPF fails, no signature: not pass.
    assert_eq!(check(&z, MESSAGE, Some(&fail)).outcome(), Outcome::NotPass);
    // An aligned signature passes.
    let r = check(&z, &signed("example.org", MESSAGE), Some(&fail));
    assert_eq!(r.outcome(), Outcome::Pass);
    // A passing signature of another domain does not.
    let r = check(&z, &signed("other.example", MESSAGE), Some(&fail));
    assert_eq!(r.dkim[0].result(), DkimResult::Pass);
    assert_eq!(r.outcome(), Outcome::NotPass);
    // SPF temperror and nothing passing: temporary.
    let mut z = Zone::new();
    z.fail(&name("example.org"), FailureKind::ServFail);
    let r = check(&z, MESSAGE, Some(&fail));
    assert_eq!(r.spf.result, SpfResult::TempError);
    assert_eq!(r.outcome(), Outcome::TempError);
}

#[test]
fn spf_dkim_and_dmarc_prefetch_are_asked_in_one_step() {
    let auth = Authenticator::offline(zone(), options());
    let message = signed("example.org", MESSAGE);
    let env = envelope("192.0.2.25", Some("alice@example.org"));
    let (requests, prepared) = auth.prepare(&message, Some(&env)).into_parts();
    let Step::Lookup(first) = auth.start(&requests, prepared) else {
        panic!("no DNS asked");
    };
    let asked: Vec<String> = first.queries().iter().map(ToString::to_string).collect();
    assert_eq!(
        first.queries(),
        [
            Query::txt(name("example.org")),
            Query::txt(name("mail.example.org")),
            Query::txt(name("sel._domainkey.example.org")),
            // Asked ahead for DMARC; example.org has two labels, so `_dmarc.org` is not.
            Query::txt(name("_dmarc.example.org")),
        ],
        "{asked:?}"
    );
    // DMARC follows in a later step.
    let z = zone();
    let answers = first.queries().iter().map(|q| z.answer(q)).collect();
    let Step::Lookup(second) = first.resume(answers) else {
        panic!("the HELO record's `a` needs DNS");
    };
    // The HELO record's `a` term; DKIM and the MAIL FROM check are done.
    assert_eq!(
        second.queries(),
        [Query::new(name("mail.example.org"), RecordType::A)]
    );
    let answers = second.queries().iter().map(|q| z.answer(q)).collect();
    let Step::Lookup(third) = second.resume(answers) else {
        panic!("DMARC needs DNS");
    };
    assert_eq!(third.queries(), [Query::txt(name("_dmarc.example.org"))]);

    // A subdomain author: its record and its parent's are asked ahead.
    let message = signed(
        "example.org",
        b"From: a@news.example.org\r\nSubject: x\r\n\r\nbody\r\n",
    );
    let (requests, prepared) = auth.prepare(&message, None).into_parts();
    let Step::Lookup(first) = auth.start(&requests, prepared) else {
        panic!("no DNS asked");
    };
    assert_eq!(
        first.queries(),
        [
            Query::txt(name("sel._domainkey.example.org")),
            Query::txt(name("_dmarc.news.example.org")),
            Query::txt(name("_dmarc.example.org")),
        ]
    );
    // Without anything else to ask, nothing is asked ahead.
    let (requests, prepared) = auth.prepare(MESSAGE, None).into_parts();
    let Step::Lookup(first) = auth.start(&requests, prepared) else {
        panic!("DMARC needs DNS");
    };
    assert_eq!(first.queries(), [Query::txt(name("_dmarc.example.org"))]);
}

#[test]
fn rfc6376_6_1_signature_cap_and_1000_signatures() {
    let one = signed("example.org", MESSAGE);
    let header_end = one.windows(3).position(|w| w == b"\r\nF").unwrap() + 2;
    let sig = &one[..header_end];
    let mut message = Vec::new();
    for _ in 0..1000 {
        message.extend_from_slice(sig);
    }
    message.extend_from_slice(MESSAGE);
    let report = check(&zone(), &message, None);
    assert_eq!(report.dkim.len(), 1000);
    assert_eq!(
        report.dkim.iter().filter(|c| !c.is_not_checked()).count(),
        10
    );
    let ar = report.authentication_results();
    let dkim: Vec<_> = ar.results_for("dkim").collect();
    assert_eq!(dkim.len(), 11, "ten checked, one summary of the others");
    assert_eq!(dkim[10].result, "neutral");
    assert_eq!(
        dkim[10].reason.as_deref(),
        Some("990 more DKIM signatures not checked (limit 10)")
    );
    // Identical signatures cannot be told apart: header.b is the whole value.
    assert!(report.dkim[0].header_b.as_ref().unwrap().len() > 40);
    assert_eq!(report.dmarc.result, DmarcResult::Pass);
    assert_one_field(&report.authentication_results());
}

#[test]
fn hostile_values_never_make_a_second_field() {
    let hostile = b"From: x@example.org\r\n\
DKIM-Signature: v=1; a=rsa-sha256; d=evil.example(\r\n X-Injected: 1; s=\"a\\\r\n\t;(;\r\n\tb=AAAA; bh=AAAA; h=from\r\n\
DKIM-Signature: v=1; a=rsa-sha256; d=ok.example; s=se(l)\"; b=\"))\r\n\tAAAA; bh=AAAA; h=from\r\n\
\r\nbody\r\n";
    let mut z = zone();
    z.add_txt(
        &name("sel._domainkey.ok.example"),
        ["v=DKIM1; p=\r\nAuthentication-Results: forged; dkim=pass"],
    );
    let env = Envelope {
        client_ip: "192.0.2.25".parse().unwrap(),
        helo: "evil\r\nX-Injected: yes; (".into(),
        mail_from: Some("a\r\nb;(@example.org".into()),
    };
    let report = check(&z, hostile, Some(&env));
    assert_one_field(&report.authentication_results());
    let field = report.authentication_results().to_field();
    assert!(!field.contains("\r\nX-Injected"), "{field}");
    assert!(!field.contains("\r\nAuthentication-Results"), "{field}");
    assert!(field.contains("smtp.mailfrom=example.org"), "{field}");
}

#[test]
fn rfc5322_3_6_no_from_ten_from_and_garbage_give_clear_verdicts() {
    let env = envelope("192.0.2.25", Some("alice@example.org"));
    let no_from = b"Subject: nothing\r\n\r\nbody\r\n";
    let r = check(&zone(), no_from, Some(&env));
    assert_eq!(r.dmarc.result, DmarcResult::None);
    assert_eq!(r.outcome(), Outcome::NotPass);
    assert!(
        !r.authentication_results()
            .to_value()
            .contains("header.from")
    );

    let mut ten = Vec::new();
    for i in 0..10 {
        ten.extend_from_slice(format!("From: a{i}@example.org\r\n").as_bytes());
    }
    ten.extend_from_slice(b"\r\nbody\r\n");
    let r = check(&zone(), &ten, Some(&env));
    assert_eq!(r.from.from_fields().len(), 10);
    assert!(!r.from.problems().is_empty());

    let mut ten_domains = Vec::new();
    for i in 0..10 {
        ten_domains.extend_from_slice(format!("From: a@d{i}.example\r\n").as_bytes());
    }
    ten_domains.extend_from_slice(b"\r\nbody\r\n");
    let r = check(&zone(), &ten_domains, Some(&env));
    assert_eq!(r.dmarc.result, DmarcResult::None);
    assert_eq!(r.outcome(), Outcome::NotPass);

    let garbage: Vec<u8> = (0..4096u32)
        .map(|i| (i.wrapping_mul(2_654_435_761) >> 13) as u8)
        .collect();
    let r = check(&zone(), &garbage, Some(&env));
    assert_eq!(r.outcome(), Outcome::NotPass);
    assert_one_field(&r.authentication_results());
    for input in [&b""[..], b"\r\n", b":", b"\xff\xfe\x00", b"From:\r\n\r\n"] {
        let r = check(&zone(), input, Some(&env));
        assert_ne!(r.outcome(), Outcome::Pass);
        assert_one_field(&r.authentication_results());
    }
}

#[test]
fn from_received_takes_the_trace_fields() {
    let message = b"Return-Path: <alice@example.org>\r\n\
Received: from mail.example.org (mail.example.org [192.0.2.25])\r\n\
\tby mx.example.net (Postfix) with ESMTPS id 1\r\n\
\tfor <bob@example.net>; Mon,  5 Jan 2026 10:00:00 +0000 (UTC)\r\n\
From: alice@example.org\r\n\r\nHi\r\n";
    let auth = Authenticator::offline(zone(), options());
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let r = rt.block_on(auth.check_from_received(message));
    assert_eq!(r.spf.result, SpfResult::Pass);
    assert_eq!(r.envelope.as_ref().unwrap().helo, "mail.example.org");
    assert_eq!(r.outcome(), Outcome::Pass);
    let r = rt.block_on(auth.check_from_received(MESSAGE));
    assert!(
        matches!(r.spf.skipped, Some(SpfSkip::Received { .. })),
        "{:?}",
        r.spf
    );
}

#[test]
fn rfc7208_4_6_4_time_limit_makes_unfinished_parts_temperror() {
    use crate::{DnsSource, LiveConfig};
    let server = mailstamp_testkit::TestServer::silent();
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let resolver = {
        let _guard = rt.enter();
        Resolver::builder(DnsSource::Live(LiveConfig {
            nameservers: vec![server.addr()],
            timeout: Duration::from_secs(30),
            attempts: 1,
        }))
        .build()
        .unwrap()
    };
    let auth = Authenticator::new(
        resolver,
        options().with_time_limit(Duration::from_millis(300)),
    );
    let message = signed("example.org", MESSAGE);
    let env = envelope("192.0.2.25", Some("alice@example.org"));
    let r = rt.block_on(auth.check(&message, Some(&env)));
    assert_eq!(r.spf.result, SpfResult::TempError);
    assert_eq!(r.spf_helo.as_ref().unwrap().result, SpfResult::TempError);
    assert_eq!(r.dkim[0].result(), DkimResult::TempError);
    assert_eq!(r.dmarc.result, DmarcResult::TempError);
    assert_eq!(r.outcome(), Outcome::TempError);
}

#[test]
fn async_and_sync_paths_agree_and_share_the_cache() {
    let z = zone();
    let auth = Authenticator::offline(z.clone(), options());
    let message = signed("example.org", MESSAGE);
    let env = envelope("192.0.2.25", Some("alice@example.org"));
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let a = rt.block_on(auth.check(&message, Some(&env)));
    let b = rt.block_on(auth.check(&message, Some(&env)));
    let c = auth.check_with(&message, Some(&env), &z);
    assert_eq!(a.authentication_results(), b.authentication_results());
    assert_eq!(a.authentication_results(), c.authentication_results());
    let json = serde_json::to_value(&a).unwrap();
    assert_eq!(json["outcome"], "pass");
    assert_eq!(json["spf"]["result"], "pass");
    assert_eq!(json["dkim"][0]["result"], "pass");
    assert_eq!(json["dkim"][0]["domain"], "example.org");
    assert_eq!(json["dkim"][0]["selector"], "sel");
    assert_eq!(json["dmarc"]["result"], "pass");
    assert_eq!(json["dmarc"]["disposition"], "none");
}

#[test]
fn prepared_holds_no_borrow_of_the_message() {
    fn owned<T: Send + 'static>(_: &T) {}
    let auth = Authenticator::offline(zone(), options());
    let message = signed("example.org", MESSAGE);
    let prepared = auth.prepare(&message, None);
    drop(message);
    owned(&prepared);
    let r = auth.complete_with(prepared, &zone());
    assert_eq!(r.dkim[0].result(), DkimResult::Pass);
}

#[test]
fn bulk_keeps_input_order_and_reports_errors_in_place() {
    let mut mbox = Vec::new();
    let mut expected = Vec::new();
    for i in 0..40 {
        let domain = if i % 3 == 0 {
            "example.org"
        } else {
            "other.example"
        };
        let big = i == 17;
        mbox.extend_from_slice(b"From sender@example Thu Jan  1 00:00:00 2026\n");
        let body = if big {
            "x".repeat(5000)
        } else {
            format!("message {i}")
        };
        let msg = format!("From: a@{domain}\r\nSubject: {i}\r\n\r\n{body}\r\n");
        mbox.extend_from_slice(signed(domain, msg.as_bytes()).as_slice());
        mbox.extend_from_slice(b"\n");
        expected.push(if big { None } else { Some(domain) });
    }
    #[derive(Default)]
    struct Gather {
        items: Vec<BulkItem>,
        summary: BulkSummary,
    }
    impl BulkSink for Gather {
        fn accept(&mut self, item: BulkItem) {
            self.summary.add(&item);
            self.items.push(item);
        }
    }
    for jobs in [1, 2, 3] {
        let auth = Authenticator::offline(zone(), options());
        let source = Mbox::new(
            std::io::Cursor::new(mbox.clone()),
            Origin::Stdin,
            MailboxOptions::default().with_max_message_size(4096),
        );
        let Gather {
            items: got,
            summary,
        } = Bulk::new(auth, BulkOptions::new(jobs).with_window(4))
            .run(source, Gather::default())
            .unwrap();
        let domains: Vec<Option<String>> = got
            .iter()
            .map(|i| i.result.as_ref().ok().and_then(|r| r.header_from()))
            .collect();
        let want: Vec<Option<String>> = expected.iter().map(|d| d.map(str::to_owned)).collect();
        assert_eq!(domains, want, "jobs {jobs}");
        let indexes: Vec<u64> = got.iter().map(|i| i.position.mbox.unwrap().index).collect();
        assert_eq!(indexes, (1..=40).collect::<Vec<u64>>());
        assert!(matches!(got[17].result, Err(BulkError::Read(_))));
        assert_eq!((summary.checked, summary.errors), (39, 1));
        assert_eq!(summary.domains["example.org"].pass, 14);
        assert_eq!(summary.count(Outcome::Pass), 14);
        assert_eq!(summary.count(Outcome::NotPass), 25);
        let counts = |pairs: &[(&'static str, usize)]| pairs.iter().copied().collect();
        assert_eq!(summary.spf, counts(&[("none", 39)]));
        assert_eq!(summary.dkim, counts(&[("pass", 14), ("permerror", 25)]));
        assert_eq!(summary.dmarc, counts(&[("none", 25), ("pass", 14)]));
        assert_eq!(summary.dispositions, counts(&[("none", 39)]));
        assert_eq!(summary.domains.len(), 2);
        assert_eq!(summary.domains["other.example"].messages, 25);
        assert_eq!(
            summary.top_reasons(3),
            [
                ("dkim=permerror: key not found", 25),
                ("dmarc=none: no DMARC record", 25),
                ("spf=none: no envelope", 25)
            ]
        );
    }
}

/// The From domain of each result, in the order the sink got them.
#[derive(Default)]
struct Froms(Vec<(u64, Option<String>)>);

impl BulkSink for Froms {
    fn accept(&mut self, item: BulkItem) {
        let index = item.position.mbox.map_or(0, |m| m.index);
        self.0
            .push((index, item.result.ok().and_then(|r| r.header_from())));
    }
}

/// `count` mbox messages from `d0.example` on, each with a body of `body` bytes.
fn mbox_of(count: usize, body: usize) -> Vec<u8> {
    let mut mbox = Vec::new();
    for i in 0..count {
        mbox.extend_from_slice(b"From x Thu Jan  1 00:00:00 2026\n");
        mbox.extend_from_slice(format!("From: a@d{i}.example\r\n\r\n").as_bytes());
        mbox.extend_from_slice(&b"y".repeat(body));
        mbox.extend_from_slice(b"\r\n\n");
    }
    mbox
}

#[test]
fn bulk_keeps_order_with_large_messages() {
    // 300 KB messages: each worker reuses its buffers (`mailbox::recycle`) across them.
    for jobs in [1, 2, 3] {
        let source = Mbox::new(
            std::io::Cursor::new(mbox_of(12, 300_000)),
            Origin::Stdin,
            MailboxOptions::default(),
        );
        let auth = Authenticator::offline(zone(), options());
        let got = Bulk::new(auth, BulkOptions::new(jobs).with_window(4))
            .run(source, Froms::default())
            .unwrap();
        let want: Vec<(u64, Option<String>)> = (0..12u64)
            .map(|i| (i + 1, Some(format!("d{i}.example"))))
            .collect();
        assert_eq!(got.0, want, "jobs {jobs}");
    }
}

#[test]
fn bulk_survives_a_source_that_panics_with_no_gap_in_the_order() {
    // The 6th read panics (a bug in some source); the run goes on with the rest, the results
    // keep consecutive indexes and nothing waits for the message that never came.
    let messages: Vec<MailItem> = Mbox::new(
        std::io::Cursor::new(mbox_of(40, 10)),
        Origin::Stdin,
        MailboxOptions::default(),
    )
    .map(Result::unwrap)
    .collect();
    for jobs in [1, 2] {
        let mut reads = 0usize;
        let source = messages.clone().into_iter().map(move |m| {
            reads += 1;
            assert!(
                reads != 6,
                "a source bug (this panic is expected by the test)"
            );
            Ok(m)
        });
        let auth = Authenticator::offline(zone(), options());
        let got = Bulk::new(auth, BulkOptions::new(jobs).with_window(8))
            .run(source, Froms::default())
            .unwrap();
        let froms: Vec<Option<String>> = got.0.into_iter().map(|(_, f)| f).collect();
        let want: Vec<Option<String>> = (0..40)
            .filter(|&i| i != 5)
            .map(|i| Some(format!("d{i}.example")))
            .collect();
        assert_eq!(froms, want, "jobs {jobs}");
    }
}

#[test]
fn bulk_run_with_renders_in_the_lanes_and_tallies_count_as_reports_do() {
    let mbox = mbox_of(30, 10);
    let source = || {
        Mbox::new(
            std::io::Cursor::new(mbox.clone()),
            Origin::Stdin,
            MailboxOptions::default(),
        )
    };
    // The summary counted from whole reports, as `Bulk::run` hands them on.
    #[derive(Default)]
    struct Counted(BulkSummary);
    impl BulkSink for Counted {
        fn accept(&mut self, item: BulkItem) {
            self.0.add(&item);
        }
    }
    let by_report = Bulk::new(
        Authenticator::offline(zone(), options()),
        BulkOptions::new(1),
    )
    .run(source(), Counted::default())
    .unwrap()
    .0;
    assert_eq!(by_report.checked, 30);
    #[derive(Default)]
    struct Tallied {
        indexes: Vec<u64>,
        summary: BulkSummary,
    }
    impl BulkSink<(u64, Tally)> for Tallied {
        fn accept(&mut self, (index, tally): (u64, Tally)) {
            self.indexes.push(index);
            self.summary.add_tally(tally);
        }
    }
    for jobs in [1, 2, 3] {
        let render = |item: BulkItem| (item.position.mbox.map_or(0, |m| m.index), Tally::of(&item));
        let got = Bulk::new(
            Authenticator::offline(zone(), options()),
            BulkOptions::new(jobs).with_window(5),
        )
        .run_with(source(), render, Tallied::default())
        .unwrap();
        assert_eq!(got.indexes, (1..=30).collect::<Vec<u64>>(), "jobs {jobs}");
        assert_eq!(got.summary, by_report, "jobs {jobs}");
    }
}

#[test]
fn bulk_render_that_panics_gives_an_internal_error_in_place() {
    let mbox = mbox_of(20, 10);
    for jobs in [1, 2] {
        let source = Mbox::new(
            std::io::Cursor::new(mbox.clone()),
            Origin::Stdin,
            MailboxOptions::default(),
        );
        // The 8th message's report cannot be rendered (a bug in the render step): its place
        // holds an internal error, rendered by the same step, and the run goes on.
        let render = |item: BulkItem| {
            let index = item.position.mbox.map_or(0, |m| m.index);
            assert!(
                !(index == 8 && item.result.is_ok()),
                "a render bug (this panic is expected by the test)"
            );
            (index, item.result.map(|r| r.header_from()))
        };
        let got = Bulk::new(
            Authenticator::offline(zone(), options()),
            BulkOptions::new(jobs).with_window(4),
        )
        .run_with(source, render, Froms2::default())
        .unwrap();
        assert_eq!(got.0.len(), 20, "jobs {jobs}");
        for (i, (index, result)) in got.0.iter().enumerate() {
            assert_eq!(*index, i as u64 + 1);
            if *index == 8 {
                assert!(matches!(result, Err(BulkError::Internal(_))), "{result:?}");
            } else {
                assert_eq!(result.as_ref().ok(), Some(&Some(format!("d{i}.example"))));
            }
        }
    }
}

/// What [`bulk_render_that_panics_gives_an_internal_error_in_place`] renders, gathered.
#[derive(Default)]
struct Froms2(Vec<(u64, Result<Option<String>, BulkError>)>);

impl BulkSink<(u64, Result<Option<String>, BulkError>)> for Froms2 {
    fn accept(&mut self, item: (u64, Result<Option<String>, BulkError>)) {
        self.0.push(item);
    }
}

/// A run of `messages` messages whose render step panics (whatever it holds, even an internal
/// error) on the messages numbered in `bad`: the error and what reached the sink.
fn run_with_bad_renders(
    jobs: usize,
    window: usize,
    messages: usize,
    bad: &'static [u64],
) -> (std::io::Error, Vec<u64>) {
    let shared = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
    let seen = std::sync::Arc::clone(&shared);
    let source = Mbox::new(
        std::io::Cursor::new(mbox_of(messages, 10)),
        Origin::Stdin,
        MailboxOptions::default(),
    );
    let render = move |item: BulkItem| {
        let index = item.position.mbox.map_or(0, |m| m.index);
        assert!(
            !bad.contains(&index),
            "a render bug (this panic is expected by the test)"
        );
        index
    };
    let err = Bulk::new(
        Authenticator::offline(zone(), options()),
        BulkOptions::new(jobs).with_window(window),
    )
    .run_with(source, render, move |index| {
        seen.lock().unwrap().push(index);
    })
    .map(|_| ())
    .unwrap_err();
    let sunk = shared.lock().unwrap().clone();
    (err, sunk)
}

#[test]
fn bulk_render_that_panics_twice_stops_the_run_with_an_error() {
    // The render step fails on the 5th message: the results before it reach the sink.
    let (err, sunk) = run_with_bad_renders(1, 1, 12, &[5]);
    assert!(
        err.to_string()
            .contains("the result of message 5 could not be rendered"),
        "{err}"
    );
    assert_eq!(sunk, [1, 2, 3, 4]);

    // Two jobs, lanes waiting for permits when the run stops, and two messages that cannot be
    // rendered: the run ends (no lane waits forever), the error names the earlier one, and
    // the sink got exactly the results before it.
    for jobs in [2, 3] {
        let (err, sunk) = run_with_bad_renders(jobs, 4, 30, &[9, 7]);
        assert!(
            err.to_string()
                .contains("the result of message 7 could not be rendered"),
            "jobs {jobs}: {err}"
        );
        assert_eq!(sunk, [1, 2, 3, 4, 5, 6], "jobs {jobs}");
    }
}

#[test]
fn bulk_sink_that_panics_stops_the_run_with_an_error() {
    for jobs in [1, 2] {
        let source = Mbox::new(
            std::io::Cursor::new(mbox_of(25, 10)),
            Origin::Stdin,
            MailboxOptions::default(),
        );
        let mut taken = 0usize;
        let err = Bulk::new(
            Authenticator::offline(zone(), options()),
            BulkOptions::new(jobs).with_window(4),
        )
        .run(source, move |_item: BulkItem| {
            taken += 1;
            assert!(
                taken != 3,
                "a sink bug (this panic is expected by the test)"
            );
        })
        .map(|_| ())
        .unwrap_err();
        assert!(
            err.to_string()
                .contains("the sink of the bulk run panicked"),
            "jobs {jobs}: {err}"
        );
    }
}

#[test]
fn bulk_summary_counts_unchecked_signatures_and_caps_domains() {
    // No signature checked (a limit of 0): the message is signed, so DKIM `none` (unsigned)
    // is not counted, and no result either.
    let message = signed("example.org", MESSAGE);
    let none_checked =
        options().with_dkim_policy(mailstamp_dkim::Policy::new().with_max_signatures(0));
    let report = Authenticator::offline(zone(), none_checked).check_with(&message, None, &zone());
    assert!(!report.dkim.is_empty() && report.dkim.iter().all(|c| c.is_not_checked()));
    let mut summary = BulkSummary::default();
    summary.add_report(&report);
    assert!(summary.dkim.is_empty(), "{:?}", summary.dkim);
    // An unsigned message counts DKIM `none` once.
    let unsigned = Authenticator::offline(zone(), options()).check_with(MESSAGE, None, &zone());
    summary.add_report(&unsigned);
    assert_eq!(summary.dkim.get("none"), Some(&1));

    // Past MAX_SUMMARY_DOMAINS From domains, new ones are counted together as `(other)`;
    // known ones keep their own line.
    let auth = Authenticator::offline(Zone::new(), options());
    let mut summary = BulkSummary::default();
    let report_of = |domain: &str| {
        let message = format!("From: a@{domain}\r\n\r\nHi\r\n");
        auth.check_with(message.as_bytes(), None, &Zone::new())
    };
    let first = report_of("d0.example");
    for i in 0..MAX_SUMMARY_DOMAINS {
        let mut report = first.clone();
        report.from = report_of(&format!("d{i}.example")).from;
        summary.add_report(&report);
    }
    assert_eq!(summary.domains.len(), MAX_SUMMARY_DOMAINS);
    summary.add_report(&report_of("late.example"));
    summary.add_report(&report_of("later.example"));
    summary.add_report(&report_of("d7.example"));
    assert_eq!(summary.domains.len(), MAX_SUMMARY_DOMAINS + 1);
    assert_eq!(summary.domains["(other)"].messages, 2);
    assert_eq!(summary.domains["d7.example"].messages, 2);
    assert!(!summary.domains.contains_key("late.example"));
}

#[test]
fn bulk_refuses_to_run_inside_a_runtime() {
    let rt = tokio::runtime::Builder::new_current_thread()
        .build()
        .unwrap();
    let auth = Authenticator::offline(zone(), options());
    let err =
        rt.block_on(async { Bulk::new(auth, BulkOptions::new(1)).run(std::iter::empty(), |_| {}) });
    assert!(err.is_err());
}

#[test]
fn bulk_over_live_dns_keeps_order_while_messages_finish_out_of_order() {
    use crate::{DnsSource, LiveConfig};
    struct Order(Vec<(u64, Option<String>)>);
    impl BulkSink for Order {
        fn accept(&mut self, item: BulkItem) {
            let index = item.position.mbox.map_or(0, |m| m.index);
            let from = item.result.ok().and_then(|r| r.header_from());
            self.0.push((index, from));
        }
    }
    let mut z = zone();
    z.add_txt(&name("sel._domainkey.other.example"), [KEY_RECORD]);
    let server = mailstamp_testkit::TestServer::with_options(
        z,
        mailstamp_testkit::Options {
            latency: Duration::from_millis(5),
            ..mailstamp_testkit::Options::default()
        },
    );
    let resolver = {
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        let _guard = rt.enter();
        Resolver::builder(DnsSource::Live(LiveConfig {
            nameservers: vec![server.addr()],
            timeout: Duration::from_secs(5),
            attempts: 1,
        }))
        .build()
        .unwrap()
    };
    let mut mbox = Vec::new();
    let mut want = Vec::new();
    for i in 0..60u64 {
        // Domains the cache has not seen take longer than those it has.
        let domain = if i % 7 == 0 {
            format!("d{i}.example")
        } else {
            "example.org".to_owned()
        };
        mbox.extend_from_slice(b"From x Thu Jan  1 00:00:00 2026\n");
        mbox.extend_from_slice(&signed(
            "example.org",
            format!("From: a@{domain}\r\n\r\n{i}\r\n").as_bytes(),
        ));
        mbox.extend_from_slice(b"\n");
        want.push((i + 1, Some(domain)));
    }
    let source = Mbox::new(
        std::io::Cursor::new(mbox),
        Origin::Stdin,
        MailboxOptions::default(),
    );
    let auth = Authenticator::new(resolver, options());
    let got = Bulk::new(auth, BulkOptions::new(2).with_window(8))
        .run(source, Order(Vec::new()))
        .unwrap();
    assert_eq!(got.0, want);
    assert!(
        server.peak_in_flight() > 1,
        "lookups of different messages overlap"
    );
}

/// Issue 12: the DKIM verdict carries the `b=` value the Authentication-Results writer needs
/// (RFC 8601 §2.7.1 `header.b`, RFC 6008 §4), so the pipeline does not re-parse the
/// signatures. With a limit of one signature and a junk signature above the valid one (it
/// fails before DNS, so it does not count: issue 17 item 2), the valid signature is checked
/// and passes; its `header.b` must be reported even though it is the second field.
#[test]
fn issue_12_header_b_comes_from_the_verdict() {
    let message = signed("example.org", MESSAGE);
    let junk = b"DKIM-Signature: v=1; a=ed25519-sha256; d=example.org; s=sel; h=from; bh=AAAA; b=junkjunkjunk\r\n";
    let message = [&junk[..], &message].concat();
    let options = options().with_dkim_policy(mailstamp_dkim::Policy::new().with_max_signatures(1));
    let zone = zone();
    let report = Authenticator::offline(zone.clone(), options).check_with(&message, None, &zone);
    assert_eq!(report.dkim.len(), 2);
    assert_eq!(report.dkim[1].result(), DkimResult::Pass);
    let b = report.dkim[1]
        .verdict
        .details
        .signature_b
        .as_deref()
        .unwrap();
    assert!(b.len() > 40 && !b.contains(char::is_whitespace), "{b}");
    assert_eq!(
        report.dkim[0].verdict.details.signature_b.as_deref(),
        Some("junkjunkjunk")
    );
    let header_b = report.dkim[1].header_b.as_deref().unwrap();
    assert!(b.starts_with(header_b));
    assert_eq!(report.dkim[0].header_b.as_deref(), Some("junkjunk"));
}

/// The list's zone: `zone()` plus lists.example.net (SPF for 198.51.100.0/24, the same
/// Ed25519 key at sel._domainkey) and other.example.com (another sealer with that key).
fn list_zone() -> Zone {
    let mut z = zone();
    z.add_txt(
        &name("lists.example.net"),
        ["v=spf1 ip4:198.51.100.0/24 -all"],
    );
    z.add_txt(&name("sel._domainkey.lists.example.net"), [KEY_RECORD]);
    z.add_txt(&name("sel._domainkey.other.example.com"), [KEY_RECORD]);
    z
}

/// Alice's signed message as a list delivers it: `[list]` in the Subject, a footer, then
/// sealed (RFC 8617 §5.1) by `sealer` with `aar` as what it saw on arrival.
fn forwarded_by_list(sealer: &str, aar: &str) -> Vec<u8> {
    let original = signed("example.org", MESSAGE);
    let text = String::from_utf8(original).unwrap();
    let modified = format!(
        "{}-- \r\nlist footer\r\n",
        text.replace("Subject: hello", "Subject: [list] hello")
    );
    let key = SigningKey::from_ed25519_seed(&SEED).unwrap();
    let sealer = mailstamp_arc::Sealer::new(key, sealer, "sel").unwrap();
    match sealer
        .seal(
            &Message::parse(modified.as_bytes()),
            mailstamp_arc::ArcResult::None,
            aar,
            NOW,
        )
        .unwrap()
    {
        mailstamp_arc::SealOutcome::Sealed(set) => set.prepend_to(modified.as_bytes()),
        other => panic!("not sealed: {other:?}"),
    }
}

const UPSTREAM_PASS: &str = "lists.example.net; spf=pass smtp.mailfrom=example.org; \
    dkim=pass header.d=example.org header.s=sel; dmarc=pass header.from=example.org";

fn list_envelope() -> Envelope {
    Envelope {
        client_ip: "198.51.100.7".parse().unwrap(),
        helo: "lists.example.net".into(),
        mail_from: Some("bounces@lists.example.net".into()),
    }
}

fn check_trusting(message: &[u8], trusted: &[&str]) -> Report {
    let z = list_zone();
    let options = options()
        .with_arc_trusted_sealers(trusted.iter().map(|d| name(d)).collect())
        .with_helo_check(false);
    Authenticator::offline(z.clone(), options).check_with(message, Some(&list_envelope()), &z)
}

#[test]
fn rfc8617_5_2_arc_keys_are_asked_with_spf_and_dkim_in_one_step() {
    let message = forwarded_by_list("lists.example.net", UPSTREAM_PASS);
    let auth = Authenticator::offline(list_zone(), options().with_helo_check(false));
    let env = list_envelope();
    let (requests, prepared) = auth.prepare(&message, Some(&env)).into_parts();
    let Step::Lookup(first) = auth.start(&requests, prepared) else {
        panic!("no DNS asked");
    };
    assert_eq!(
        first.queries(),
        [
            Query::txt(name("lists.example.net")),
            Query::txt(name("sel._domainkey.example.org")),
            // The AMS and the ARC-Seal share one key name: asked once.
            Query::txt(name("sel._domainkey.lists.example.net")),
            Query::txt(name("_dmarc.example.org")),
        ]
    );
}

#[test]
fn rfc8617_10_arc_pass_in_authentication_results_and_json() {
    let message = forwarded_by_list("lists.example.net", UPSTREAM_PASS);
    let report = check_trusting(&message, &[]);
    assert_eq!(report.arc.result, mailstamp_arc::ArcResult::Pass);
    assert_eq!(report.arc.instances, 1);
    assert_eq!(report.arc.oldest_pass, Some(0));
    // DKIM broke on the list; SPF is the list's: DMARC fails, and no sealer is trusted.
    assert_eq!(report.dmarc.result, DmarcResult::Fail);
    assert_eq!(report.dmarc_override, None);
    assert_eq!(report.disposition(), Disposition::Reject);
    let ar = report.authentication_results();
    let arc: Vec<_> = ar.results_for("arc").collect();
    assert_eq!(arc.len(), 1);
    assert_eq!(arc[0].result, "pass");
    assert_eq!(arc[0].comment.as_deref(), Some("i=1"));
    assert_eq!(arc[0].property("smtp", "remote-ip"), Some("198.51.100.7"));
    assert_eq!(arc[0].property("header", "oldest-pass"), Some("0"));
    assert_one_field(&ar);
    let json = serde_json::to_value(&report).unwrap();
    let arc = &json["arc"];
    assert_eq!(arc["result"], "pass");
    assert_eq!(arc["instances"], 1);
    assert_eq!(arc["oldest_pass"], 0);
    assert_eq!(arc["sealers"][0]["domain"], "lists.example.net");
    assert!(json["dmarc_override"].is_null());
}

#[test]
fn rfc8617_7_2_1_trusted_sealer_overrides_the_dmarc_disposition() {
    let message = forwarded_by_list("lists.example.net", UPSTREAM_PASS);
    let report = check_trusting(&message, &["lists.example.net"]);
    // The DMARC result stays fail; the disposition is overridden by local policy.
    assert_eq!(report.dmarc.result, DmarcResult::Fail);
    assert_eq!(report.dmarc.disposition, Disposition::Reject);
    let o = report.dmarc_override.as_ref().expect("override");
    assert_eq!(o.reason, OverrideReason::Arc);
    assert_eq!(o.sealer, "lists.example.net");
    assert_eq!(o.instance, 1);
    assert_eq!(o.upstream, UpstreamPass::Dmarc);
    assert_eq!(o.requested, Disposition::Reject);
    assert_eq!(report.disposition(), Disposition::None);
    // Still not authenticated.
    assert_eq!(report.outcome(), Outcome::NotPass);
    let ar = report.authentication_results();
    let dmarc: Vec<_> = ar.results_for("dmarc").collect();
    assert_eq!(dmarc[0].result, "fail");
    assert_eq!(dmarc[0].property("policy", "dmarc"), Some("none"));
    assert_eq!(
        dmarc[0].comment.as_deref(),
        Some("p=reject dis=none override=arc sealer=lists.example.net i=1 upstream=dmarc")
    );
    // Written as is: nothing in the comment needs escaping.
    let field = report.authentication_results().to_field();
    assert!(field.contains("override=arc"), "{field}");
    assert!(!field.contains('%'), "{field}");
    assert_one_field(&report.authentication_results());
    let json = serde_json::to_value(&report).unwrap();
    assert_eq!(json["dmarc_override"]["reason"], "arc");
    assert_eq!(json["dmarc_override"]["applied"], "none");
}

#[test]
fn rfc8617_7_2_1_only_listed_sealers_count() {
    let message = forwarded_by_list("lists.example.net", UPSTREAM_PASS);
    // Another domain is trusted, not this sealer.
    let report = check_trusting(&message, &["other.example.com"]);
    assert_eq!(report.arc.result, mailstamp_arc::ArcResult::Pass);
    assert_eq!(report.dmarc_override, None);
    assert_eq!(report.disposition(), Disposition::Reject);
    let ar = report.authentication_results();
    let dmarc: Vec<_> = ar.results_for("dmarc").collect();
    assert_eq!(dmarc[0].property("policy", "dmarc"), Some("reject"));

    // An untrusted sealer claiming to be trusted in its AAR changes nothing either.
    let message = forwarded_by_list(
        "other.example.com",
        "lists.example.net; dmarc=pass header.from=example.org",
    );
    let report = check_trusting(&message, &["lists.example.net"]);
    assert_eq!(report.arc.result, mailstamp_arc::ArcResult::Pass);
    assert_eq!(report.dmarc_override, None);
}

#[test]
fn rfc8617_7_2_1_trusted_sealer_needs_an_upstream_pass_and_a_passing_chain() {
    // The trusted sealer saw DMARC fail upstream: nothing to vouch for.
    let message = forwarded_by_list(
        "lists.example.net",
        "lists.example.net; spf=fail smtp.mailfrom=example.org; dmarc=fail header.from=example.org",
    );
    let report = check_trusting(&message, &["lists.example.net"]);
    assert_eq!(report.dmarc_override, None);
    // An aligned DKIM pass is enough.
    let message = forwarded_by_list(
        "lists.example.net",
        "lists.example.net; dkim=pass header.d=example.org",
    );
    let report = check_trusting(&message, &["lists.example.net"]);
    assert_eq!(
        report.dmarc_override.as_ref().map(|o| o.upstream),
        Some(UpstreamPass::Dkim)
    );
    // A DKIM pass for an unrelated domain is not.
    let message = forwarded_by_list(
        "lists.example.net",
        "lists.example.net; dkim=pass header.d=lists.example.net",
    );
    assert_eq!(
        check_trusting(&message, &["lists.example.net"]).dmarc_override,
        None
    );
    // The chain broken after sealing (the body changed again): arc=fail, no override.
    let mut message = forwarded_by_list("lists.example.net", UPSTREAM_PASS);
    message.extend_from_slice(b"changed after sealing\r\n");
    let report = check_trusting(&message, &["lists.example.net"]);
    assert_eq!(report.arc.result, mailstamp_arc::ArcResult::Fail);
    assert_eq!(report.dmarc_override, None);
    let ar = report.authentication_results();
    let arc: Vec<_> = ar.results_for("arc").collect();
    assert_eq!(arc[0].result, "fail");
    assert_eq!(arc[0].reason.as_deref(), Some("body hash mismatch"));
    assert_eq!(arc[0].property("header", "oldest-pass"), None);
}

/// A milter keeps no body: it asks which body hashes the header needs, hashes the body as it
/// streams in, and gets the same report as a check of the whole message.
#[test]
fn streamed_body_hashes_give_the_same_report() {
    let forwarded = forwarded_by_list("lists.example.net", UPSTREAM_PASS);
    let mut tampered = signed("example.org", MESSAGE);
    tampered.extend_from_slice(b"appended\r\n");
    let z = list_zone();
    let auth = Authenticator::offline(z.clone(), options().with_helo_check(false));
    let env = list_envelope();
    for message in [signed("example.org", MESSAGE), forwarded, tampered] {
        let whole = auth.check_with(&message, Some(&env), &z);
        let at = message.windows(4).position(|w| w == b"\r\n\r\n").unwrap() + 4;
        let (header, body) = message.split_at(at);
        let now = auth.now();
        let specs = auth.body_hash_specs(header, now);
        assert!(!specs.is_empty());
        let mut set = mailstamp_dkim::BodyHashSet::new();
        for s in specs {
            set.add(s);
        }
        for c in body.chunks(3) {
            set.update(c);
        }
        let hashes = set.finish_hashes();
        let streamed = StreamedBody {
            hashes: &hashes,
            size: body.len(),
            now,
        };
        // The header without its empty line is accepted too.
        for header in [header, &header[..header.len() - 2]] {
            let prepared = auth.prepare_streamed(header, Some(&env), streamed);
            let report = auth.complete_with(prepared, &z);
            assert_eq!(
                report.authentication_results(),
                whole.authentication_results()
            );
            assert_eq!(report.message.size, whole.message.size);
        }
    }
}
