//! Unit tests of envelope recovery. The Received samples are written for these tests in the
//! formats each MTA produces (documented templates and fields seen in real mail), with
//! documentation addresses (RFC 5737, RFC 3849) and example names.

use super::*;

fn from(value: &str) -> ReceivedFrom {
    match parse_received(value.as_bytes()) {
        Ok(Some(f)) => f,
        other => panic!("{value:?}: unexpected {other:?}"),
    }
}

fn ip(text: &str) -> IpAddr {
    text.parse().unwrap()
}

fn check(value: &str, client_ip: &str, helo: &str) {
    let f = from(value);
    assert_eq!(f.client_ip, ip(client_ip), "{value}");
    assert_eq!(f.helo, helo, "{value}");
}

#[test]
fn rfc5321_4_4_postfix() {
    check(
        " from mail.sender.example (mail.sender.example [192.0.2.10])\r\n\
         \t(using TLSv1.3 with cipher TLS_AES_256_GCM_SHA384 (256/256 bits)\r\n\
         \t key-exchange X25519 server-signature RSA-PSS (2048 bits) server-digest SHA256)\r\n\
         \t(No client certificate requested)\r\n\
         \tby mx.receiver.example (Postfix) with ESMTPS id 4T9xYz1AbCz9vQ\r\n\
         \tfor <bob@receiver.example>; Mon,  5 Jan 2026 10:00:00 +0000 (UTC)",
        "192.0.2.10",
        "mail.sender.example",
    );
    check(
        " from helo.client.example (unknown [198.51.100.7])\r\n\
         \tby mx.receiver.example (Postfix) with ESMTP id 4T9xYz1AbCz9vR\r\n\
         \tfor <bob@receiver.example>; Mon,  5 Jan 2026 10:00:00 +0000 (UTC)",
        "198.51.100.7",
        "helo.client.example",
    );
    check(
        " from [192.168.1.20] (unknown [203.0.113.9])\n\
         \t(Authenticated sender: alice@sender.example)\n\
         \tby submission.sender.example (Postfix) with ESMTPSA id 4T9xYz1AbCz9vS;\n\
         \tMon,  5 Jan 2026 10:00:00 +0000 (UTC)",
        "203.0.113.9",
        "[192.168.1.20]",
    );
}

#[test]
fn rfc5321_4_1_3_postfix_ipv6_literal() {
    check(
        " from mail.sender.example (mail.sender.example [IPv6:2001:db8::25])\r\n\
         \tby mx.receiver.example (Postfix) with ESMTPS id 4T9xYz1AbCz9vT;\r\n\
         \tMon,  5 Jan 2026 10:00:00 +0000 (UTC)",
        "2001:db8::25",
        "mail.sender.example",
    );
}

#[test]
fn rfc5321_4_4_exim() {
    // Verified host name, HELO different: helo= names it.
    check(
        " from mail.sender.example ([192.0.2.20]:41234 helo=smtp.sender.example)\r\n\
         \tby mx.receiver.example with esmtps  (TLS1.3) tls TLS_AES_256_GCM_SHA384\r\n\
         \t(Exim 4.97)\r\n\
         \t(envelope-from <alice@sender.example>)\r\n\
         \tid 1rLmNo-000AbC-2x\r\n\
         \tfor bob@receiver.example;\r\n\
         \tMon, 05 Jan 2026 10:00:00 +0000",
        "192.0.2.20",
        "smtp.sender.example",
    );
    // No verified host name: the address literal comes first, port and helo in the comment.
    check(
        " from [203.0.113.5] (port=50312 helo=client.example)\n\
         \tby mx.receiver.example with esmtp (Exim 4.97)\n\
         \t(envelope-from <carol@client.example>)\n\
         \tid 1rLmNo-000AbD-3y; Mon, 05 Jan 2026 10:00:00 +0000",
        "203.0.113.5",
        "client.example",
    );
    // HELO identical to the verified host name: Exim leaves helo= out.
    check(
        " from mail.sender.example ([192.0.2.21])\n\
         \tby mx.receiver.example with esmtp (Exim 4.97) id 1rLmNo-000AbE-4z;\n\
         \tMon, 05 Jan 2026 10:00:00 +0000",
        "192.0.2.21",
        "mail.sender.example",
    );
    // IPv6 without the IPv6: tag, with a port; an ident= item.
    check(
        " from mail-ej1-x62e.google.com ([2a00:1450:4864:20::62e]:41234 ident=mailer)\n\
         \tby mx.receiver.example with esmtps (TLS1.3) (Exim 4.97); Mon, 05 Jan 2026",
        "2a00:1450:4864:20::62e",
        "mail-ej1-x62e.google.com",
    );
}

#[test]
fn rfc5321_4_4_sendmail() {
    check(
        " from helo.sender.example (rdns.sender.example [192.0.2.30])\r\n\
         \tby mx.receiver.example (8.17.1/8.17.1) with ESMTPS id 40AA0e1x012345\r\n\
         \t(version=TLSv1.3 cipher=TLS_AES_256_GCM_SHA384 bits=256 verify=NOT)\r\n\
         \tfor <bob@receiver.example>; Mon, 5 Jan 2026 10:00:00 GMT",
        "192.0.2.30",
        "helo.sender.example",
    );
    // Forward and reverse DNS disagree; an ident user; nested comment.
    check(
        " from helo.sender.example (user@rdns.other.example [192.0.2.31] (may be forged))\r\n\
         \tby mx.receiver.example (8.17.1/8.17.1) with ESMTP id 40AA0e1x012346;\r\n\
         \tMon, 5 Jan 2026 10:00:00 GMT",
        "192.0.2.31",
        "helo.sender.example",
    );
    check(
        " from helo.sender.example ([IPv6:2001:db8:1::5])\r\n\
         \tby mx.receiver.example (8.17.1/8.17.1) with ESMTP id 40AA0e1x012347;\r\n\
         \tMon, 5 Jan 2026 10:00:00 GMT",
        "2001:db8:1::5",
        "helo.sender.example",
    );
}

#[test]
fn rfc5321_4_4_gmail() {
    check(
        " from mail-sor-f41.google.com (mail-sor-f41.google.com. [209.85.220.41])\r\n\
         \x20       by mx.google.com with SMTPS id a640c23a62f3a-a9e5a1b2c3dsor1234567866b.7.2026.01.05.02.00.00\r\n\
         \x20       for <bob@gmail.com>\r\n\
         \x20       (Google Transport Security);\r\n\
         \x20       Mon, 05 Jan 2026 02:00:00 -0800 (PST)",
        "209.85.220.41",
        "mail-sor-f41.google.com",
    );
    check(
        " from mail-pl1-x62e.google.com (mail-pl1-x62e.google.com. [2607:f8b0:4864:20::62e])\r\n\
         \x20       by mx.google.com with ESMTPS id d9443c01a7336-1f2a3b4c5d6si123456a.1.2026.01.05.02.00.00\r\n\
         \x20       for <bob@gmail.com>; Mon, 05 Jan 2026 02:00:00 -0800 (PST)",
        "2607:f8b0:4864:20::62e",
        "mail-pl1-x62e.google.com",
    );
}

#[test]
fn rfc5321_4_4_microsoft() {
    check(
        " from mail-ej1-f41.google.com (209.85.218.41) by\r\n \
         BN8NAM11FT012.mail.protection.outlook.com (10.13.177.123) with Microsoft SMTP\r\n \
         Server (version=TLS1_2, cipher=TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256) id\r\n \
         15.20.7472.7 via Frontend Transport; Mon, 5 Jan 2026 10:00:00 +0000",
        "209.85.218.41",
        "mail-ej1-f41.google.com",
    );
    check(
        " from SA1PR12MB1234.namprd12.prod.outlook.com (2603:10b6:806:24b::8)\r\n \
         by CH3PR12MB5678.namprd12.prod.outlook.com with HTTPS; Mon, 5 Jan 2026\r\n \
         10:00:00 +0000",
        "2603:10b6:806:24b::8",
        "SA1PR12MB1234.namprd12.prod.outlook.com",
    );
    check(
        " from [127.0.0.1] (203.0.113.77) by EXCH01.corp.example (10.0.0.6) with\r\n \
         Microsoft SMTP Server (TLS) id 15.0.1497.2; Mon, 5 Jan 2026 10:00:00 +0000",
        "203.0.113.77",
        "[127.0.0.1]",
    );
}

#[test]
fn rfc5321_4_4_qmail() {
    check(
        " from unknown (HELO mail.sender.example) (192.0.2.40)\n  by mx.receiver.example with SMTP; 5 Jan 2026 10:00:00 -0000",
        "192.0.2.40",
        "mail.sender.example",
    );
}

#[test]
fn ipv4_mapped_ipv6_is_returned_as_ipv4() {
    check(
        " from h.example (h.example [IPv6:::ffff:192.0.2.50]) by mx",
        "192.0.2.50",
        "h.example",
    );
}

#[test]
fn comments_before_from_and_case_insensitive_keyword() {
    check(
        " (trace) FROM h.example ([192.0.2.51]) by mx; date",
        "192.0.2.51",
        "h.example",
    );
}

#[test]
fn fields_without_from_clause_are_not_clients() {
    for value in [
        " by 2002:a05:6a10:9e8c:b0:5a1:2b3c:4d5e with SMTP id x1csp123456pxb;\r\n        Mon, 05 Jan 2026 02:00:00 -0800 (PST)",
        " by mx.receiver.example (Postfix, from userid 1000)\n\tid 4T9xYz1AbCz9vU; Mon,  5 Jan 2026 10:00:00 +0000 (UTC)",
        " (qmail 12345 invoked by uid 89); 5 Jan 2026 10:00:00 -0000",
        " (from alice@localhost)\n\tby host.sender.example (8.17.1/8.17.1/Submit) id 40AA0e1x;",
        "",
    ] {
        assert_eq!(parse_received(value.as_bytes()), Ok(None), "{value}");
    }
}

#[test]
fn rfc5321_4_4_from_clause_problems() {
    assert_eq!(
        parse_received(b" from alice by host.example with local (Exim 4.97)"),
        Err(ReceivedProblem::NoClientIp)
    );
    assert_eq!(parse_received(b" from"), Err(ReceivedProblem::NoHelo));
    assert_eq!(parse_received(b" from ;"), Err(ReceivedProblem::NoHelo));
    assert_eq!(
        parse_received(b" from h.example (h.example [192.0.2.300]) by mx"),
        Err(ReceivedProblem::BadAddressLiteral("[192.0.2.300]".into()))
    );
    assert_eq!(
        parse_received(b" from [IPv7:zz] by mx"),
        Err(ReceivedProblem::BadAddressLiteral("[IPv7:zz]".into()))
    );
    // An unterminated comment is read to the end without a panic.
    assert_eq!(
        parse_received(b" from h.example (h.example [192.0.2.1"),
        Err(ReceivedProblem::BadAddressLiteral("[192.0.2.1".into()))
    );
    assert_eq!(
        parse_received(b" from h.example (((((\\"),
        Err(ReceivedProblem::NoClientIp)
    );
}

const GMAIL_DELIVERED: &[u8] = b"Delivered-To: bob@gmail.com\r\n\
Received: by 2002:a05:6a10:9e8c:b0:5a1:2b3c:4d5e with SMTP id x1csp123456pxb;\r\n\
        \tMon, 5 Jan 2026 02:00:01 -0800 (PST)\r\n\
X-Received: by 2002:a17:907:1234:b0:a9e:5a1b:2c3d with SMTP id a1mr1234567ejc.12.1767607201;\r\n\
        \tMon, 05 Jan 2026 02:00:01 -0800 (PST)\r\n\
Return-Path: <>\r\n\
Received: from mail-sor-f41.google.com (mail-sor-f41.google.com. [209.85.220.41])\r\n\
        \tby mx.google.com with SMTPS id a640c23a62f3a-a9e5a1b2c3dsor1234567866b.7.2026.01.05.02.00.00\r\n\
        \tfor <bob@gmail.com>\r\n\
        \t(Google Transport Security);\r\n\
        \tMon, 05 Jan 2026 02:00:00 -0800 (PST)\r\n\
Received: from older.example ([198.51.100.1]) by mail-sor-f41.google.com; Mon, 05 Jan 2026\r\n\
From: Mailer <mailer-daemon@googlemail.com>\r\n\
Subject: Delivery Status Notification\r\n\
\r\n\
Received: from body.example ([192.0.2.99]) by nowhere\r\n";

#[test]
fn newest_received_with_a_from_clause_and_null_return_path() {
    let envelope = Envelope::from_message(GMAIL_DELIVERED).unwrap();
    assert_eq!(
        envelope,
        Envelope {
            client_ip: ip("209.85.220.41"),
            helo: "mail-sor-f41.google.com".into(),
            mail_from: Some(String::new()),
        }
    );
}

#[test]
fn lf_message_with_mbox_from_line_and_return_path() {
    let message = b"From alice@sender.example Mon Jan  5 10:00:00 2026\n\
Return-Path: <@relay.example:alice@sender.example>\n\
Received: from helo.sender.example (rdns.sender.example [192.0.2.30])\n\
\tby mx.receiver.example (8.17.1/8.17.1) with ESMTP id 40AA0e1x012345;\n\
\tMon, 5 Jan 2026 10:00:00 GMT\n\
Subject: x\n\
\n\
body\n";
    let envelope = Envelope::from_message(message).unwrap();
    assert_eq!(envelope.client_ip, ip("192.0.2.30"));
    assert_eq!(envelope.helo, "helo.sender.example");
    assert_eq!(envelope.mail_from.as_deref(), Some("alice@sender.example"));
}

#[test]
fn no_return_path_means_mail_from_unknown() {
    let message = b"Received: from h.example ([192.0.2.1]) by mx; date\r\n\r\n";
    assert_eq!(Envelope::from_message(message).unwrap().mail_from, None);
}

#[test]
fn missing_received_is_an_error() {
    let message = b"Return-Path: <a@example.org>\r\nFrom: a@example.org\r\n\r\nReceived: from h ([192.0.2.1])\r\n";
    let err = Envelope::from_message(message).unwrap_err();
    assert_eq!(err, EnvelopeError::NoReceived);
    assert!(err.to_string().contains("no Received field"), "{err}");
    assert_eq!(Envelope::from_message(b""), Err(EnvelopeError::NoReceived));
    assert_eq!(
        Envelope::from_message(&[0xff, 0x00, b'\n', b':']),
        Err(EnvelopeError::NoReceived)
    );
}

#[test]
fn received_without_from_clause_is_an_error() {
    let message = b"Received: by host.example (Postfix, from userid 0) id 1; date\r\n\
Received: (qmail 1 invoked by uid 89); date\r\n\r\n";
    let err = Envelope::from_message(message).unwrap_err();
    assert_eq!(err, EnvelopeError::NoFromClause { count: 2 });
    assert!(
        err.to_string()
            .starts_with("none of the 2 Received field(s)"),
        "{err}"
    );
}

#[test]
fn newest_from_clause_without_ip_is_an_error_not_skipped() {
    let message = b"Subject: s\r\n\
Received: from alice by host.example with local (Exim 4.97)\r\n\
\t(envelope-from <alice@host.example>)\r\n\
\tid 1rLmNo-000AbF-5a; Mon, 05 Jan 2026 10:00:00 +0000\r\n\
Received: from h.example ([192.0.2.1]) by mx; date\r\n\r\n";
    let err = Envelope::from_message(message).unwrap_err();
    assert_eq!(
        err,
        EnvelopeError::Received {
            offset: 12,
            problem: ReceivedProblem::NoClientIp,
            excerpt: "from alice by host.example with local (Exim 4.97) (envelope-from \
                      <alice@host.example>) id 1rLmNo-000AbF-5a; Mon, 05 Jan 2026 10:00:00 +0000"
                .into(),
        }
    );
    assert!(
        err.to_string().starts_with(
            "Received field at byte 12: the \"from\" clause holds no client IP address: from alice"
        ),
        "{err}"
    );
}

#[test]
fn bad_return_path_is_an_error_with_offset() {
    let message = b"Return-Path: alice at example\r\nReceived: from h ([192.0.2.1]) by mx\r\n\r\n";
    let err = Envelope::from_message(message).unwrap_err();
    assert_eq!(
        err,
        EnvelopeError::ReturnPath {
            offset: 0,
            excerpt: "alice at example".into()
        }
    );
}

#[test]
fn rfc5321_4_1_2_return_path_forms() {
    let cases: [(&[u8], Option<&str>); 10] = [
        (b" <alice@example.org>", Some("alice@example.org")),
        (b"<>", Some("")),
        (b" < >", Some("")),
        (
            b" <\"john doe\"@example.org>",
            Some("\"john doe\"@example.org"),
        ),
        (b" <\"a>b\"@example.org>", Some("\"a>b\"@example.org")),
        (
            b" (comment) <alice@example.org> (bounce)",
            Some("alice@example.org"),
        ),
        (b" alice@example.org", Some("alice@example.org")),
        (
            b" <@a.example,@b.example:alice@example.org>",
            Some("alice@example.org"),
        ),
        (b" <alice@example.org", None),
        (b" <a@example.org> trailing", None),
    ];
    for (value, expected) in cases {
        assert_eq!(
            parse_return_path(value).as_deref(),
            expected,
            "{}",
            String::from_utf8_lossy(value)
        );
    }
    assert_eq!(parse_return_path(b""), None);
    assert_eq!(parse_return_path(b" <a b@example.org>"), None);
}

#[test]
fn from_view_reads_the_fields_the_view_found() {
    // Folded Received field, bare LF line endings: the view normalises and unfolds nothing;
    // the envelope reads the same fields DKIM and DMARC read.
    let raw = b"Return-Path: <a@example.org>\nReceived: from h.example\n\t(h.example [192.0.2.8])\n\tby mx; Mon, 5 Jan 2026\nFrom: a@example.org\n\nbody\n";
    let view = Message::parse(raw);
    let envelope = Envelope::from_view(&view).unwrap();
    assert_eq!(envelope, Envelope::from_message(raw).unwrap());
    assert_eq!(envelope.client_ip.to_string(), "192.0.2.8");
    assert_eq!(envelope.helo, "h.example");
    assert_eq!(envelope.mail_from.as_deref(), Some("a@example.org"));
    // A header without the blank line: only the fields before the first non-field line count.
    let view = Message::parse(
        b"Received: from h ([192.0.2.9]) by mx\r\nnot a field\r\nReturn-Path: <>\r\n",
    );
    let envelope = Envelope::from_view(&view).unwrap();
    assert_eq!(envelope.mail_from, None);
}

#[test]
fn from_fields_accepts_fields_from_any_parser() {
    let fields = [
        RawField {
            name: b"return-path",
            value: b" <x@example.org>",
            offset: 0,
        },
        RawField {
            name: b"RECEIVED",
            value: b" from h.example (h.example [192.0.2.8]) by mx",
            offset: 30,
        },
    ];
    let envelope = Envelope::from_fields(fields).unwrap();
    assert_eq!(envelope.client_ip, ip("192.0.2.8"));
    assert_eq!(envelope.mail_from.as_deref(), Some("x@example.org"));
}

#[test]
fn excerpt_is_one_line_and_bounded() {
    let long = format!(" a\r\n\tb\x07c {}", "x".repeat(500));
    let e = excerpt(long.as_bytes());
    assert!(e.starts_with("a b c xxx"), "{e}");
    assert_eq!(e.chars().count(), EXCERPT_CHARS + 1);
    assert!(!e.contains(['\r', '\n', '\t', '\x07']));
}

/// Every prefix of every sample, and some byte soup, parses without a panic.
#[test]
fn never_panics_on_prefixes_and_garbage() {
    let mut inputs: Vec<Vec<u8>> = vec![GMAIL_DELIVERED.to_vec()];
    let mut state = 0x2545_f491_4f6c_dd1du64;
    for _ in 0..200 {
        let mut soup = Vec::new();
        for _ in 0..64 {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            soup.push(b"from ([])<>\"\\:\r\n \tRr;@1.2.3.4IPv6:ffff"[(state % 37) as usize]);
        }
        inputs.push(soup);
    }
    for input in &inputs {
        for end in 0..=input.len() {
            let prefix = &input[..end];
            let _ = Envelope::from_message(prefix);
            let _ = parse_received(prefix);
            let _ = parse_return_path(prefix);
        }
    }
}

#[test]
fn a_plain_comment_is_borrowed_and_reads_as_the_careful_reader_does() {
    // (input starting at `(`, top-level text, cursor after the comment)
    let cases: [(&[u8], &[u8], usize); 6] = [
        (b"(helo=a.example) rest", b"helo=a.example", 16),
        (b"()", b"", 2),
        (b"(a (nested) b) x", b"a   b", 14),
        (b"(a \\) b) x", b"a ) b", 8),
        (b"(unterminated", b"unterminated", 13),
        (b"(a (open", b"a  ", 8),
    ];
    for (text, top, after) in cases {
        let mut lexer = Lexer::new(text);
        let got = lexer.comment();
        assert_eq!(&*got, top, "{:?}", String::from_utf8_lossy(text));
        assert_eq!(lexer.pos, after, "{:?}", String::from_utf8_lossy(text));
        assert_eq!(
            matches!(got, Cow::Borrowed(_)),
            !text[1..after].iter().any(|b| matches!(b, b'(' | b'\\')) && text[after - 1] == b')',
        );
        let mut careful = Lexer::new(text);
        let mut out = Vec::new();
        careful.comment_into(Some(&mut out));
        assert_eq!(out, top);
        assert_eq!(careful.pos, after);
    }
}
