//! The examples of RFC 8601 (Appendix B and §2), RFC 6008 Appendix A and RFC 7208 §9.1,
//! parsed. Field values are given as they appear after the field name, folds as CRLF.

use mailstamp_authres::{AuthenticationResults, ParseError, ReceivedSpf, ReceivedSpfResult};

use crate::common::kw;

fn parse(value: &str) -> AuthenticationResults {
    AuthenticationResults::parse(value).unwrap_or_else(|e| panic!("{e}: {value:?}"))
}

#[test]
fn rfc8601_b_2_service_provided_no_authentication_done() {
    let ar = parse("example.org 1; none");
    assert_eq!(ar.authserv_id, "example.org");
    assert_eq!(ar.version, Some(1));
    assert!(ar.results.is_empty());
    // Written back exactly.
    assert_eq!(ar.to_value(), "example.org 1; none");
}

#[test]
fn rfc8601_b_3_service_provided_authentication_done() {
    let ar = parse("example.com;\r\n          spf=pass smtp.mailfrom=example.net");
    assert_eq!(ar.authserv_id, "example.com");
    assert_eq!(ar.version, None);
    assert_eq!(ar.results.len(), 1);
    let spf = &ar.results[0];
    assert_eq!(spf.method, kw("spf"));
    assert_eq!(spf.result, kw("pass"));
    assert_eq!(spf.property("smtp", "mailfrom"), Some("example.net"));
    assert_eq!(
        ar.to_value(),
        "example.com; spf=pass smtp.mailfrom=example.net"
    );
}

#[test]
fn rfc8601_b_4_several_authentications_single_mta() {
    let first = parse(
        "example.com;\r\n          auth=pass (cram-md5) smtp.auth=sender@example.net;\r\n          \
         spf=pass smtp.mailfrom=example.net",
    );
    assert_eq!(first.results.len(), 2);
    let auth = &first.results[0];
    assert_eq!(auth.method, kw("auth"));
    assert_eq!(auth.comment.as_deref(), Some("cram-md5"));
    assert_eq!(auth.property("smtp", "auth"), Some("sender@example.net"));
    assert_eq!(
        first.results[1].property("smtp", "mailfrom"),
        Some("example.net")
    );

    let second = parse("example.com; iprev=pass\r\n          policy.iprev=192.0.2.200");
    assert_eq!(second.results[0].method, kw("iprev"));
    assert_eq!(
        second.results[0].property("policy", "iprev"),
        Some("192.0.2.200")
    );
}

#[test]
fn rfc8601_b_5_several_authentications_different_mtas() {
    let upper = parse("example.com;\r\n          dkim=pass (good signature) header.d=example.com");
    let dkim = &upper.results[0];
    assert_eq!(dkim.comment.as_deref(), Some("good signature"));
    assert_eq!(dkim.property("header", "d"), Some("example.com"));

    let lower = parse(
        "example.com;\r\n          auth=pass (cram-md5) smtp.auth=sender@example.com;\r\n          \
         spf=fail smtp.mailfrom=example.com",
    );
    assert_eq!(lower.results[1].result, kw("fail"));
}

#[test]
fn rfc8601_b_6_multi_tiered_authentication() {
    let outer = parse(
        "example.com;\r\n      dkim=pass reason=\"good signature\"\r\n        \
         header.i=@mail-router.example.net;\r\n      dkim=fail reason=\"bad signature\"\r\n        \
         header.i=@newyork.example.com",
    );
    assert_eq!(outer.results.len(), 2);
    assert_eq!(outer.results[0].reason.as_deref(), Some("good signature"));
    assert_eq!(
        outer.results[0].property("header", "i"),
        Some("@mail-router.example.net")
    );
    assert_eq!(outer.results[1].result, kw("fail"));
    assert_eq!(outer.results[1].reason.as_deref(), Some("bad signature"));
    assert_eq!(outer.results_for("dkim").count(), 2);
    // The writer keeps `@domain` bare (RFC 8601 §2.2 pvalue) and quotes the reason.
    assert!(
        outer
            .to_value()
            .contains("dkim=pass reason=\"good signature\" header.i=@mail-router.example.net;")
    );

    let inner =
        parse("example.net;\r\n      dkim=pass (good signature) header.i=@newyork.example.com");
    assert_eq!(inner.authserv_id, "example.net");
    assert_eq!(
        inner.results[0].property("header", "i"),
        Some("@newyork.example.com")
    );
}

#[test]
fn rfc8601_b_7_comment_heavy_example() {
    let ar = parse(
        "foo.example.net (foobar) 1 (baz);\r\n           dkim (Because I like it) / 1 (One yay) = \
         (wait for it) fail\r\n             policy (A dot can go here) . (like that) expired\r\n             \
         (this surprised me) = (as I wasn't expecting it) 1362471462",
    );
    assert_eq!(ar.authserv_id, "foo.example.net");
    assert_eq!(ar.version, Some(1));
    let dkim = &ar.results[0];
    assert_eq!(dkim.method, kw("dkim"));
    assert_eq!(dkim.method_version, Some(1));
    assert_eq!(dkim.result, kw("fail"));
    assert_eq!(dkim.comment, None, "no comment follows the result directly");
    assert_eq!(dkim.property("policy", "expired"), Some("1362471462"));
    // 80 columns on one line with the field name, so the resinfo goes on its own line.
    assert_eq!(
        ar.to_value(),
        "foo.example.net 1;\r\n  dkim/1=fail policy.expired=1362471462"
    );
}

#[test]
fn rfc8601_2_4_policy_ptype() {
    let ar = parse("example.com; dkim=policy policy.dkim-rules=unsigned-subject");
    assert_eq!(ar.results[0].result, kw("policy"));
    assert_eq!(
        ar.results[0].property("policy", "dkim-rules"),
        Some("unsigned-subject")
    );
}

#[test]
fn rfc8601_2_7_4_smtp_auth_identities() {
    let ar = parse("example.com; auth=pass smtp.auth=client@c.example smtp.mailfrom=bob@b.example");
    assert_eq!(
        ar.results[0].property("smtp", "auth"),
        Some("client@c.example")
    );
    assert_eq!(
        ar.results[0].property("smtp", "mailfrom"),
        Some("bob@b.example")
    );
}

#[test]
fn rfc8601_2_7_6_extension_method_with_trailing_comment() {
    let ar = parse("example.com;\r\n          foo=pass bar.baz=blob (2 of 3 tests OK)");
    let foo = &ar.results[0];
    assert_eq!(foo.method, kw("foo"));
    assert_eq!(foo.property("bar", "baz"), Some("blob"));
    assert_eq!(
        foo.comment, None,
        "the comment follows a property, not the result"
    );
}

#[test]
fn rfc6008_a_1_header_b_distinguishes_signatures() {
    let ar = parse(
        "mail-router.example.net;\r\n      dkim=pass (good signature) header.d=newyork.example.com\r\n            \
         header.b=oINEO8hg;\r\n      dkim=fail (bad signature) header.d=newyork.example.com\r\n            \
         header.b=EToRSuvU",
    );
    let prefixes = mailstamp_authres::header_b_prefixes(&[
        "oINEO8hgn/gnunsg ... 9n9ODSNFSDij3=",
        "EToRSuvUfQVP3Bkz ... rTB0t0gYnBVCM=",
    ]);
    for (r, p) in ar.results.iter().zip(&prefixes) {
        assert_eq!(r.property("header", "b"), Some(p.as_str()));
    }
}

#[test]
fn rfc7208_9_1_examples() {
    let first = ReceivedSpf::parse(
        "pass (mybox.example.org: domain of\r\n    myname@example.com designates 192.0.2.1 as \
         permitted sender)\r\n       receiver=mybox.example.org; client-ip=192.0.2.1;\r\n       \
         envelope-from=\"myname@example.com\"; helo=foo.example.com;",
    )
    .unwrap();
    assert_eq!(first.result, ReceivedSpfResult::Pass);
    assert_eq!(first.get("receiver"), Some("mybox.example.org"));
    assert_eq!(first.client_ip(), Some("192.0.2.1".parse().unwrap()));
    assert_eq!(first.get("envelope-from"), Some("myname@example.com"));
    assert_eq!(first.get("helo"), Some("foo.example.com"));
    assert_eq!(first.pairs.len(), 4);

    let second = ReceivedSpf::parse(
        "fail (mybox.example.org: domain of\r\n                   myname@example.com does not \
         designate\r\n                   192.0.2.1 as permitted sender)\r\n                   \
         identity=mailfrom;",
    )
    .unwrap();
    assert_eq!(second.result, ReceivedSpfResult::Fail);
    assert_eq!(second.get("identity"), Some("mailfrom"));
    assert!(second.comment.unwrap().contains("does not designate"));
}

#[test]
fn pyspf_style_fields_parse() {
    // Written in the style of the Received-SPF fields pyspf produces (capitalised results,
    // nested parentheses in the comment).
    let field = ReceivedSpf::parse(
        "PermError (receiver.com: permanent error in processing\r\n domain of exampled.com: \
         Invalid domain found (use FQDN))\r\n client-ip=66.150.186.79; \
         envelope-from=\"chuckvsr@exampled.com\";\r\n helo=mail.example.net; \
         receiver=receiver.com;\r\n problem=\"Invalid domain found\"; identity=mailfrom",
    )
    .unwrap();
    assert_eq!(field.result, ReceivedSpfResult::PermError);
    assert!(field.comment.as_deref().unwrap().ends_with("(use FQDN)"));
    assert_eq!(field.get("problem"), Some("Invalid domain found"));
    assert_eq!(field.pairs.len(), 6);
}

#[test]
fn field_breaking_line_breaks_are_rejected() {
    for (value, offset) in [
        ("example.com; spf=pass\r\nX-Evil: 1", 21),
        ("example.com;\nspf=pass", 12),
        ("example.com; spf=pass reason=\"a\r\nb\"", 31),
    ] {
        let err: ParseError = AuthenticationResults::parse(value).unwrap_err();
        assert_eq!(err.offset, offset, "{value:?}: {err}");
    }
}
