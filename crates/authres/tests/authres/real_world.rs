//! Fields in the shapes large providers write them. The samples are written for these tests
//! (addresses, keys and signatures invented), following the structure of real headers.

use mailstamp_authres::{AuthenticationResults, ReceivedSpf, ReceivedSpfResult};

use crate::common::kw;

/// Gmail style: 7-space folds, several DKIM results told apart by header.b, an `arc=` result
/// with the ARC details in a comment, a DMARC comment with the policy, LF-only line breaks as a
/// milter may hand them over.
#[test]
fn gmail_like_field() {
    let value = "mx.google.com;\n       dkim=pass header.i=@example.com header.s=20230601 \
                 header.b=Xy7Ab3Cd;\n       dkim=pass header.i=@gmail.com header.s=20230601 \
                 header.b=\"kL9/mNop\";\n       arc=pass (i=1 spf=pass spfdomain=example.com \
                 dkim=pass dkdomain=example.com dmarc=pass fromdomain=example.com);\n       \
                 spf=pass (google.com: domain of alice@example.com designates 209.85.220.41 as \
                 permitted sender) smtp.mailfrom=alice@example.com;\n       dmarc=pass \
                 (p=REJECT sp=REJECT dis=NONE) header.from=example.com;\n       dara=pass \
                 header.i=@example.com\n";
    let ar = AuthenticationResults::parse(value).unwrap();
    assert_eq!(ar.authserv_id, "mx.google.com");
    let methods: Vec<&str> = ar.results.iter().map(|r| r.method.as_str()).collect();
    assert_eq!(methods, ["dkim", "dkim", "arc", "spf", "dmarc", "dara"]);
    let dkim: Vec<_> = ar.results_for("dkim").collect();
    assert_eq!(dkim[0].property("header", "b"), Some("Xy7Ab3Cd"));
    assert_eq!(dkim[1].property("header", "b"), Some("kL9/mNop"));
    assert_eq!(dkim[1].property("header", "s"), Some("20230601"));
    assert!(
        ar.results[2]
            .comment
            .as_deref()
            .unwrap()
            .starts_with("i=1 spf=pass")
    );
    assert_eq!(
        ar.results[3].property("smtp", "mailfrom"),
        Some("alice@example.com")
    );
    assert_eq!(
        ar.results[4].comment.as_deref(),
        Some("p=REJECT sp=REJECT dis=NONE")
    );
    assert_eq!(
        ar.results[4].property("header", "from"),
        Some("example.com")
    );
    // Re-written, it reads back the same: all of it is within the written grammar.
    assert_eq!(AuthenticationResults::parse(ar.to_value()).unwrap(), ar);
}

/// Microsoft 365 style: no authserv-id, `;` without a following space, `action=` and
/// `compauth=` with a numeric `reason=`.
#[test]
fn microsoft_like_field_without_authserv_id() {
    let value = "spf=pass (sender IP is 40.107.22.52)\r\n smtp.mailfrom=contoso.com; dkim=pass \
                 (signature was verified)\r\n header.d=contoso.com;dmarc=pass action=none\r\n \
                 header.from=contoso.com;compauth=pass reason=100";
    let ar = AuthenticationResults::parse(value).unwrap();
    assert_eq!(ar.authserv_id, "", "Microsoft 365 omits the authserv-id");
    assert_eq!(ar.results.len(), 4);
    assert_eq!(
        ar.results[0].comment.as_deref(),
        Some("sender IP is 40.107.22.52")
    );
    assert_eq!(ar.results[1].property("header", "d"), Some("contoso.com"));
    let dmarc = &ar.results[2];
    assert_eq!(dmarc.nonstandard, [(kw("action"), "none".to_owned())]);
    assert_eq!(dmarc.property("header", "from"), Some("contoso.com"));
    let compauth = &ar.results[3];
    assert_eq!(compauth.method, kw("compauth"));
    assert_eq!(compauth.reason.as_deref(), Some("100"));
}

/// Microsoft 365 style for an unsigned message from a domain without DMARC.
#[test]
fn microsoft_like_field_with_failures() {
    let value = "spf=softfail (sender IP is 192.0.2.3)\r\n smtp.mailfrom=fabrikam.example; \
                 dkim=none (message not signed)\r\n header.d=none;dmarc=none action=none\r\n \
                 header.from=fabrikam.example;compauth=fail reason=001";
    let ar = AuthenticationResults::parse(value).unwrap();
    let results: Vec<&str> = ar.results.iter().map(|r| r.result.as_str()).collect();
    assert_eq!(results, ["softfail", "none", "none", "fail"]);
    assert_eq!(ar.results[1].property("header", "d"), Some("none"));
    assert_eq!(ar.results[3].reason.as_deref(), Some("001"));
}

/// Fastmail style: many extension methods, `policy.*` properties with underscores, a comment
/// between properties, unquoted `/` in a value, bare `key=value` pairs.
#[test]
fn fastmail_like_field() {
    let value = "mx4.messagingengine.com;\r\n    dkim=pass (2048-bit rsa key sha256) \
                 header.d=example.org header.i=@example.org header.b=WzTx1Q2e header.a=rsa-sha256 \
                 header.s=fm2 x-bits=2048;\r\n    dmarc=pass \
                 policy.published-domain-policy=reject policy.applied-disposition=none \
                 policy.evaluated-disposition=none (p=reject,d=none,d.eval=none) \
                 policy.policy-from=p header.from=example.org;\r\n    iprev=pass \
                 smtp.remote-ip=103.168.172.150 (fout-a7-smtp.messagingengine.com);\r\n    \
                 spf=pass smtp.mailfrom=bob@example.org \
                 smtp.helo=fout-a7-smtp.messagingengine.com;\r\n    x-aligned-from=pass \
                 (Address match);\r\n    x-return-mx=pass header.domain=example.org \
                 policy.is_org=yes (MX Records found: in1-smtp.messagingengine.com);\r\n    \
                 x-tls=pass smtp.version=TLSv1.3 smtp.cipher=TLS_AES_256_GCM_SHA384 \
                 smtp.bits=256/256;\r\n    x-vs=clean score=-100 state=0\r\n";
    let ar = AuthenticationResults::parse(value).unwrap();
    assert_eq!(ar.results.len(), 8);
    let dkim = &ar.results[0];
    assert_eq!(dkim.comment.as_deref(), Some("2048-bit rsa key sha256"));
    assert_eq!(dkim.property("header", "a"), Some("rsa-sha256"));
    assert_eq!(dkim.nonstandard, [(kw("x-bits"), "2048".to_owned())]);
    let dmarc = &ar.results[1];
    assert_eq!(dmarc.properties.len(), 5);
    assert_eq!(dmarc.property("policy", "policy-from"), Some("p"));
    assert_eq!(ar.results[4].comment.as_deref(), Some("Address match"));
    assert_eq!(ar.results[5].property("policy", "is_org"), Some("yes"));
    assert_eq!(ar.results[6].property("smtp", "bits"), Some("256/256"));
    assert_eq!(ar.results[7].nonstandard.len(), 2);
    // `256/256` is not a token: written back quoted, it reads back the same.
    let again = AuthenticationResults::parse(ar.to_value()).unwrap();
    assert_eq!(again.results[6].property("smtp", "bits"), Some("256/256"));
    assert!(ar.to_value().contains("smtp.bits=\"256/256\""));
}

#[test]
fn case_spacing_and_empty_resinfos_are_tolerated() {
    let ar = AuthenticationResults::parse(
        "  Example.COM ;SPF = Pass SMTP.MailFrom = Example.NET;;DKIM=FAIL(bad)HEADER.D=x.example;",
    )
    .unwrap();
    assert_eq!(
        ar.authserv_id, "Example.COM",
        "the authserv-id keeps its case"
    );
    assert_eq!(ar.results.len(), 2);
    assert_eq!(ar.results[0].method.as_str(), "spf");
    assert_eq!(ar.results[0].result.as_str(), "pass");
    assert_eq!(
        ar.results[0].property("smtp", "mailfrom"),
        Some("Example.NET")
    );
    assert_eq!(ar.results[1].comment.as_deref(), Some("bad"));
    assert_eq!(ar.results[1].property("HEADER", "d"), Some("x.example"));
}

#[test]
fn none_among_results_is_ignored() {
    let ar = AuthenticationResults::parse("example.com; none; spf=pass").unwrap();
    assert_eq!(ar.results.len(), 1);
    // A method that happens to be called `none` is still a method.
    let ar = AuthenticationResults::parse("example.com; none=pass").unwrap();
    assert_eq!(ar.results[0].method.as_str(), "none");
}

#[test]
fn quoted_authserv_id_and_non_utf8_values() {
    let mut value = b"\"auth server\"; spf=pass smtp.mailfrom=".to_vec();
    value.extend_from_slice(b"caf\xe9.example");
    let ar = AuthenticationResults::parse(&value).unwrap();
    assert_eq!(ar.authserv_id, "auth server");
    assert_eq!(
        ar.results[0].property("smtp", "mailfrom"),
        Some("caf\u{fffd}.example")
    );
    assert!(ar.to_value().contains("smtp.mailfrom=caf%EF%BF%BD.example"));
}

#[test]
fn received_spf_from_a_postfix_policy_daemon_style() {
    let field = ReceivedSpf::parse(
        "Pass (mailfrom) identity=mailfrom; client-ip=2001:db8::25; helo=mail.example.org; \
         envelope-from=list-bounces@example.org; receiver=<UNKNOWN>\r\n",
    )
    .unwrap();
    assert_eq!(field.result, ReceivedSpfResult::Pass);
    assert_eq!(field.comment.as_deref(), Some("mailfrom"));
    assert_eq!(field.client_ip(), Some("2001:db8::25".parse().unwrap()));
    assert_eq!(field.get("receiver"), Some("<UNKNOWN>"));
    let again = ReceivedSpf::parse(field.to_value()).unwrap();
    assert_eq!(again, field);
    assert!(field.to_value().contains("receiver=\"<UNKNOWN>\";"));
}
