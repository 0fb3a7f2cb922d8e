//! Writing and parsing the fields a receiver handles for every message (issue 6 budgets the
//! whole pipeline, Authentication-Results included, at 27 µs per message).

use std::hint::black_box;

use criterion::{Criterion, criterion_group, criterion_main};
use mailstamp_authres::{
    AuthenticationResults, Keyword, Property, ReceivedSpf, ReceivedSpfResult, ResInfo,
    header_b_prefixes,
};

const SPF: Keyword = Keyword::from_static("spf");
const DKIM: Keyword = Keyword::from_static("dkim");
const DMARC: Keyword = Keyword::from_static("dmarc");
const PASS: Keyword = Keyword::from_static("pass");

/// SPF, two DKIM signatures and DMARC, as a receiver writes them.
fn typical() -> AuthenticationResults {
    let b = header_b_prefixes(&[
        "K3hAeGvPq0m1ZsXoY2dQ9cBn7TuLwIjE4rFyHk6aVg8=",
        "Zm9vYmFyYmF6cXV4K3hAeGvQ2s8LkP0oWmZxYc1vBn5=",
    ]);
    AuthenticationResults::new("mx.example.org")
        .with(ResInfo::new(SPF, PASS).with_property(Property::smtp_mailfrom("example.com")))
        .with(
            ResInfo::new(DKIM, PASS)
                .with_property(Property::header_d("example.com"))
                .with_property(Property::header_s("sel2024"))
                .with_property(Property::header_a("rsa-sha256"))
                .with_property(Property::header_b(&b[0])),
        )
        .with(
            ResInfo::new(DKIM, PASS)
                .with_property(Property::header_d("esp.example"))
                .with_property(Property::header_s("ed1"))
                .with_property(Property::header_a("ed25519-sha256"))
                .with_property(Property::header_b(&b[1])),
        )
        .with(
            ResInfo::new(DMARC, PASS)
                .with_comment("p=reject dis=none")
                .with_property(Property::header_from("example.com")),
        )
}

const GMAIL_LIKE: &str = "mx.google.com;\r\n       dkim=pass header.i=@example.com \
    header.s=20230601 header.b=Xy7Ab3Cd;\r\n       spf=pass (google.com: domain of \
    alice@example.com designates 209.85.220.41 as permitted sender) \
    smtp.mailfrom=alice@example.com;\r\n       dmarc=pass (p=REJECT sp=REJECT dis=NONE) \
    header.from=example.com";

fn benches(c: &mut Criterion) {
    let ar = typical();
    let written = ar.to_value();
    c.bench_function("authres/write_typical", |b| {
        b.iter(|| black_box(&ar).to_field())
    });
    c.bench_function("authres/parse_typical", |b| {
        b.iter(|| AuthenticationResults::parse(black_box(&written)))
    });
    c.bench_function("authres/parse_gmail_like", |b| {
        b.iter(|| AuthenticationResults::parse(black_box(GMAIL_LIKE)))
    });
    let spf = ReceivedSpf::new(ReceivedSpfResult::Pass)
        .with_client_ip("192.0.2.1".parse().unwrap())
        .with_envelope_from("alice@example.com")
        .with_helo("mail.example.com")
        .with_receiver("mx.example.org")
        .with_identity("mailfrom");
    c.bench_function("received_spf/write", |b| {
        b.iter(|| black_box(&spf).to_field())
    });
}

criterion_group!(authres, benches);
criterion_main!(authres);
