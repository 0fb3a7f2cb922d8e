//! Snapshots of written fields (insta): what a receiver adds to a message.

use mailstamp_authres::{
    AuthenticationResults, Keyword, Property, ReceivedSpf, ReceivedSpfResult, ResInfo,
    header_b_prefixes,
};

use crate::common::kw;

#[test]
fn snapshot_typical_receiver_field() {
    let b = header_b_prefixes(&[
        "K3hAeGvPq0m1ZsXoY2dQ9cBn7TuLwIjE4rFyHk6aVg8=",
        "K3hAeGvQ2s8LkP0oWmZxYc1vBn5TrEa9uIqHj3gFd7=",
    ]);
    let ar = AuthenticationResults::new("mx.example.org")
        .with(
            ResInfo::new(kw("spf"), kw("pass"))
                .with_comment("mx.example.org: domain of bounce@example.com designates 192.0.2.10 as permitted sender")
                .with_property(Property::smtp_mailfrom("bounce@example.com"))
                .with_property(Property::smtp_helo("mail.example.com")),
        )
        .with(
            ResInfo::new(kw("dkim"), kw("pass"))
                .with_comment("2048-bit key")
                .with_property(Property::header_d("example.com"))
                .with_property(Property::header_i("@example.com"))
                .with_property(Property::header_s("sel2024"))
                .with_property(Property::header_a("rsa-sha256"))
                .with_property(Property::header_b(&b[0])),
        )
        .with(
            ResInfo::new(kw("dkim"), kw("fail"))
                .with_reason("body hash did not verify")
                .with_property(Property::header_d("example.com"))
                .with_property(Property::header_s("ed2024"))
                .with_property(Property::header_a("ed25519-sha256"))
                .with_property(Property::header_b(&b[1])),
        )
        .with(
            ResInfo::new(kw("dmarc"), kw("pass"))
                .with_comment("p=reject dis=none")
                .with_property(Property::header_from("example.com"))
                .with_property(Property::policy(Keyword::from_static("dmarc"), "reject")),
        );
    insta::assert_snapshot!(ar.to_field());
}

#[test]
fn snapshot_hostile_values() {
    let ar = AuthenticationResults::new("mx.example.org").with(
        ResInfo::new(kw("dmarc"), kw("fail"))
            .with_comment("from domain (evil); spf=pass")
            .with_property(Property::header_from(
                "evil.example\r\nX-Spam: no; dkim=pass",
            ))
            .with_property(Property::smtp_mailfrom("jörg\"@evil.example")),
    );
    insta::assert_snapshot!(ar.to_field());
}

#[test]
fn snapshot_no_results() {
    let mut ar = AuthenticationResults::new("mx.example.org");
    ar.version = Some(1);
    insta::assert_snapshot!(ar.to_field());
}

#[test]
fn snapshot_received_spf() {
    let ip = "2001:db8::25".parse().unwrap();
    let spf = ReceivedSpf::new(ReceivedSpfResult::SoftFail)
        .with_comment(ReceivedSpf::standard_comment(
            ReceivedSpfResult::SoftFail,
            "mx.example.org",
            "alice@example.com",
            ip,
        ))
        .with_client_ip(ip)
        .with_envelope_from("alice@example.com")
        .with_helo("mail.example.com")
        .with_receiver("mx.example.org")
        .with_identity("mailfrom")
        .with_mechanism("~all");
    insta::assert_snapshot!(spf.to_field());

    let err = ReceivedSpf::new(ReceivedSpfResult::PermError)
        .with_client_ip("192.0.2.1".parse().unwrap())
        .with_envelope_from("bob@broken.example")
        .with_problem("more than 10 DNS-querying terms (RFC 7208 section 4.6.4)")
        .with_identity("mailfrom");
    insta::assert_snapshot!(err.to_field());
}
