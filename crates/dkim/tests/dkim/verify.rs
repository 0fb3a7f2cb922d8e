//! End-to-end verification behaviour, one RFC rule per test.

use crate::common::*;
use mailstamp_dkim::{
    Canonicalizations, DkimProblem, DkimResult, HeaderSelection, KeyCache, KeyType, Policy,
    Signature, header_hash_input, verify,
};
use mailstamp_dns::{Answer, FailureKind, Lookup, Step, Zone};
use mailstamp_message::Message;

#[test]
fn rfc6376_5_dual_rsa_and_ed25519_signatures_pass() {
    let signed = sign_with(MESSAGE, vec![rsa_signer(), ed_signer()]);
    let report = check(&signed);
    let results: Vec<_> = report.signatures.iter().map(|v| v.result).collect();
    assert_eq!(results, [DkimResult::Pass, DkimResult::Pass]);
    let rsa = &report.signatures[0].details;
    assert_eq!(rsa.algorithm.as_deref(), Some("rsa-sha256"));
    assert_eq!(rsa.key_bits, Some(2048));
    assert_eq!(rsa.key_type, Some(KeyType::Rsa));
    assert_eq!(rsa.body_hash_matched, Some(true));
    assert_eq!(rsa.signature_matched, Some(true));
    assert_eq!(rsa.canonicalization, Some(Canonicalizations::RELAXED));
    assert!(rsa.signed_headers.iter().filter(|h| *h == "from").count() == 2);
    let ed = &report.signatures[1].details;
    assert_eq!(
        (ed.key_type, ed.key_bits),
        (Some(KeyType::Ed25519), Some(256))
    );
    assert!(report.forensics_free());
}

trait NoForensics {
    fn forensics_free(&self) -> bool;
}
impl NoForensics for mailstamp_dkim::DkimReport {
    fn forensics_free(&self) -> bool {
        self.signatures.iter().all(|v| v.forensics.is_none())
    }
}

#[test]
fn rfc6376_6_1_2_key_queries_are_yielded_once_per_key_name() {
    let signed = sign_with(MESSAGE, vec![ed_signer(), ed_signer(), rsa_signer()]);
    let msg = Message::parse(&signed);
    let Step::Lookup(pending) = verify(&msg, &Policy::default(), NOW) else {
        panic!("expected key queries");
    };
    let names: Vec<String> = pending
        .queries()
        .iter()
        .map(|q| q.name.to_string())
        .collect();
    assert_eq!(
        names,
        [
            "ed25519._domainkey.example.org",
            "default._domainkey.example.org"
        ]
    );
}

#[test]
fn key_cache_parses_each_record_once_across_messages() {
    let zone = zone();
    let mut cache = KeyCache::new();
    for subject in ["one", "two", "three"] {
        let raw = String::from_utf8(MESSAGE.to_vec())
            .unwrap()
            .replace("Lunch", subject);
        let signed = sign_with(raw.as_bytes(), vec![rsa_signer(), ed_signer()]);
        let msg = Message::parse(&signed);
        let Step::Lookup(pending) = verify(&msg, &Policy::default(), NOW) else {
            panic!("expected key queries");
        };
        let answers = pending.queries().iter().map(|q| zone.answer(q)).collect();
        let report = pending.resume_with_cache(answers, &mut cache);
        assert!(report.has_pass());
        assert_eq!(cache.len(), 2);
    }
}

#[test]
fn rfc6376_6_1_signature_limit_reports_the_rest_as_not_checked() {
    let signed = sign_with(MESSAGE, (0..12).map(|_| ed_signer()).collect());
    let report = check(&signed);
    assert_eq!(report.signatures.len(), 12);
    assert!(
        report.signatures[..10]
            .iter()
            .all(|v| v.result == DkimResult::Pass)
    );
    for v in &report.signatures[10..] {
        assert_eq!(v.result, DkimResult::Neutral);
        assert_eq!(v.problem, Some(DkimProblem::NotChecked { limit: 10 }));
    }
    let few = check_at(
        &signed,
        &zone(),
        &Policy::default().with_max_signatures(1),
        NOW,
    );
    assert_eq!(
        few.signatures
            .iter()
            .filter(|v| v.result == DkimResult::Pass)
            .count(),
        1
    );
}

#[test]
fn rfc6376_6_1_2_dns_failure_is_temperror_never_pass() {
    let signed = sign_with(MESSAGE, vec![ed_signer()]);
    for kind in [
        FailureKind::Timeout,
        FailureKind::ServFail,
        FailureKind::Refused,
        FailureKind::Other,
    ] {
        let mut zone = Zone::new();
        zone.fail(&name("ed25519._domainkey.example.org"), kind);
        let report = check_at(&signed, &zone, &Policy::default(), NOW);
        assert_eq!(report.signatures[0].result, DkimResult::TempError);
        assert_eq!(report.result(), DkimResult::TempError);
    }
    // A driver that returns fewer answers than queries: treated as a failure, not a panic.
    let msg = Message::parse(&signed);
    let Step::Lookup(pending) = verify(&msg, &Policy::default(), NOW) else {
        panic!()
    };
    let Step::Done(report) = pending.resume(Vec::new()) else {
        panic!()
    };
    assert_eq!(report.signatures[0].result, DkimResult::TempError);
}

#[test]
fn rfc6376_6_1_2_missing_and_ambiguous_keys_are_permerror() {
    let signed = sign_with(MESSAGE, vec![ed_signer()]);
    let report = check_at(&signed, &Zone::new(), &Policy::default(), NOW);
    assert!(matches!(
        report.signatures[0].problem,
        Some(DkimProblem::KeyNotFound { .. })
    ));
    let mut zone = zone();
    zone.add_txt(
        &name("ed25519._domainkey.example.org"),
        ["v=DKIM1; k=ed25519; p="],
    );
    let report = check_at(&signed, &zone, &Policy::default(), NOW);
    assert!(matches!(
        report.signatures[0].problem,
        Some(DkimProblem::MultipleKeyRecords { count: 2, .. })
    ));
    assert_eq!(report.signatures[0].result, DkimResult::PermError);
}

fn zone_with_ed_record(record: &str) -> Zone {
    let mut zone = Zone::new();
    zone.add_txt(&name("ed25519._domainkey.example.org"), [record]);
    zone
}

const ED_P: &str = "p=2svQjliRH51Bw1XsTUmtvdy+NUnmZpiv7e06LqczZy4=";

#[test]
fn rfc6376_3_6_1_key_record_tags_are_enforced() {
    let signed = sign_with(MESSAGE, vec![ed_signer()]);
    let run = |record: String| {
        check_at(
            &signed,
            &zone_with_ed_record(&record),
            &Policy::default(),
            NOW,
        )
    };
    let problem = |record: String| run(record).signatures[0].problem.clone();
    assert_eq!(
        problem("v=DKIM1; k=ed25519; p=".into()),
        Some(DkimProblem::KeyRevoked)
    );
    assert!(matches!(
        problem(format!("v=DKIM1; k=rsa; {ED_P}")),
        Some(DkimProblem::InvalidKeyRecord { .. })
    ));
    assert_eq!(
        problem(format!("k=ed25519; h=sha1; {ED_P}")),
        Some(DkimProblem::HashNotAllowedByKey {
            hash: "sha256".into()
        })
    );
    assert_eq!(
        problem(format!("k=ed25519; s=tlsrpt; {ED_P}")),
        Some(DkimProblem::ServiceNotAllowed)
    );
    assert_eq!(
        problem(format!("k=ed25519; s=email:tlsrpt; h=sha256; {ED_P}")),
        None
    );
    // t=y is reported, the signature still passes
    let report = run(format!("k=ed25519; t=y; {ED_P}"));
    assert_eq!(report.signatures[0].result, DkimResult::Pass);
    assert!(report.signatures[0].details.testing);
    // the RSA key published for an Ed25519 signature
    let rsa_record =
        std::fs::read_to_string(testdata("default._domainkey.example.org.txt")).unwrap();
    assert!(matches!(
        problem(rsa_record),
        Some(DkimProblem::KeyTypeMismatch {
            key_type: KeyType::Rsa,
            ..
        })
    ));
}

#[test]
fn rfc6376_3_6_1_t_s_requires_i_domain_equal_to_d() {
    let sub = ed_signer().with_identity("joe@mail.example.org").unwrap();
    let exact = ed_signer().with_identity("joe@example.org").unwrap();
    let zone = zone_with_ed_record(&format!("k=ed25519; t=s; {ED_P}"));
    let report = check_at(
        &sign_with(MESSAGE, vec![sub]),
        &zone,
        &Policy::default(),
        NOW,
    );
    assert_eq!(
        report.signatures[0].problem,
        Some(DkimProblem::StrictIdentityMismatch)
    );
    let report = check_at(
        &sign_with(MESSAGE, vec![exact]),
        &zone,
        &Policy::default(),
        NOW,
    );
    assert_eq!(report.signatures[0].result, DkimResult::Pass);
    assert_eq!(
        report.signatures[0].details.identity.as_deref(),
        Some("joe@example.org")
    );
}

#[test]
fn rfc6376_3_5_x_expiry_with_clock_skew() {
    let signed = sign_with(MESSAGE, vec![ed_signer().with_expiry(3600)]);
    let zone = zone();
    let at = |now| check_at(&signed, &zone, &Policy::default(), now);
    assert_eq!(at(NOW + 3600).signatures[0].result, DkimResult::Pass);
    assert_eq!(at(NOW + 3600 + 300).signatures[0].result, DkimResult::Pass);
    let late = at(NOW + 3600 + 301);
    // issue 17 item 27: RFC 6376 §6.1.1 makes an expired signature PERMFAIL, which RFC 8601
    // §2.7.1 writes permerror (fail is for signatures that did not verify); this test
    // asserted `fail` before.
    assert_eq!(late.signatures[0].result, DkimResult::PermError);
    assert_eq!(
        late.signatures[0].problem,
        Some(DkimProblem::Expired {
            expiration: NOW + 3600,
            now: NOW + 3901
        })
    );
    let strict = check_at(
        &signed,
        &zone,
        &Policy::default().with_clock_skew(0),
        NOW + 3601,
    );
    assert_eq!(strict.signatures[0].result, DkimResult::PermError);
}

#[test]
fn issue_17_26_rfc6376_3_5_t_in_the_future_beyond_skew_is_permerror() {
    // Signed at NOW: a verifier whose clock is more than the skew behind refuses it.
    let signed = sign_with(MESSAGE, vec![ed_signer()]);
    let zone = zone();
    let at = |now| check_at(&signed, &zone, &Policy::default(), now);
    assert_eq!(at(NOW - 300).signatures[0].result, DkimResult::Pass);
    let early = at(NOW - 301);
    assert_eq!(early.signatures[0].result, DkimResult::PermError);
    assert_eq!(
        early.signatures[0].problem,
        Some(DkimProblem::TimestampInFuture {
            timestamp: NOW,
            now: NOW - 301
        })
    );
    let reason = early.signatures[0].reason();
    assert!(
        reason.contains("t=") && reason.contains("future"),
        "{reason}"
    );
    let strict = check_at(
        &signed,
        &zone,
        &Policy::default().with_clock_skew(0),
        NOW - 1,
    );
    assert_eq!(strict.signatures[0].result, DkimResult::PermError);
}

#[test]
fn rfc6376_8_2_l_tag_reports_unsigned_bytes() {
    let signed = sign_with(MESSAGE, vec![ed_signer().with_body_length(true)]);
    let report = check(&signed);
    assert_eq!(report.signatures[0].result, DkimResult::Pass);
    assert_eq!(report.signatures[0].details.unsigned_body_bytes, Some(0));
    let mut appended = signed.clone();
    appended.extend_from_slice(b"Click here: http://evil.example/\r\n");
    let report = check(&appended);
    assert_eq!(report.signatures[0].result, DkimResult::Pass);
    assert_eq!(report.signatures[0].details.unsigned_body_bytes, Some(34));
    // l= longer than the body: the body was cut after signing
    let cut = &signed[..signed.len() - b"Alice\r\n".len()];
    let report = check(cut);
    assert!(matches!(
        report.signatures[0].problem,
        Some(DkimProblem::BodyLengthExceedsBody { .. })
    ));
    assert_eq!(report.signatures[0].result, DkimResult::Fail);
}

#[test]
fn rfc6376_6_1_3_forensics_for_modified_header_and_body() {
    let signed = sign_with(MESSAGE, vec![rsa_signer()]);
    let text = String::from_utf8(signed).unwrap();
    let header_changed = text.replace("Subject: Lunch", "Subject: Lunch!");
    let report = check(header_changed.as_bytes());
    let v = &report.signatures[0];
    assert_eq!(v.problem, Some(DkimProblem::SignatureMismatch));
    assert_eq!(v.details.body_hash_matched, Some(true));
    assert_eq!(v.details.signature_matched, Some(false));
    let f = v.forensics.as_ref().expect("forensics");
    let block = String::from_utf8_lossy(&f.canonical_headers);
    assert!(block.contains("subject:Lunch!\r\n"), "{block}");
    assert!(block.ends_with("b="), "{block}");
    assert_eq!(f.computed_body_hash, f.stated_body_hash);

    let body_changed = text.replace("noon", "one");
    let v = &check(body_changed.as_bytes()).signatures[0];
    assert_eq!(v.problem, Some(DkimProblem::BodyHashMismatch));
    assert_eq!(v.details.signature_matched, Some(true));
    let f = v.forensics.as_ref().expect("forensics");
    assert_ne!(f.computed_body_hash, f.stated_body_hash);
    assert!(v.reason().contains("body"));
}

#[test]
fn rfc6376_8_15_oversigning_blocks_added_fields() {
    let add_subject = |signed: Vec<u8>| {
        let text = String::from_utf8(signed).unwrap();
        text.replace(
            "Subject: Lunch\r\n",
            "Subject: Lunch\r\nSubject: FREE MONEY\r\n",
        )
    };
    let over = add_subject(sign_with(MESSAGE, vec![ed_signer()]));
    assert_eq!(
        check(over.as_bytes()).signatures[0].result,
        DkimResult::Fail
    );
    let plain = add_subject(sign_with(
        MESSAGE,
        vec![ed_signer().with_oversigning(false)],
    ));
    // Without oversigning the bottom-most Subject is the one signed... which is the added one.
    assert_eq!(
        check(plain.as_bytes()).signatures[0].result,
        DkimResult::Fail
    );
    let top = String::from_utf8(sign_with(
        MESSAGE,
        vec![ed_signer().with_oversigning(false)],
    ))
    .unwrap()
    .replacen("From: Alice", "Subject: FREE MONEY\r\nFrom: Alice", 1);
    // ... while one added above it goes unnoticed: that is what oversigning prevents.
    assert_eq!(check(top.as_bytes()).signatures[0].result, DkimResult::Pass);
    let top_over = String::from_utf8(sign_with(MESSAGE, vec![ed_signer()]))
        .unwrap()
        .replacen("From: Alice", "Subject: FREE MONEY\r\nFrom: Alice", 1);
    assert_eq!(
        check(top_over.as_bytes()).signatures[0].result,
        DkimResult::Fail
    );
    // An unsigned field may be added anywhere.
    let extra = String::from_utf8(sign_with(MESSAGE, vec![ed_signer()]))
        .unwrap()
        .replacen("From: Alice", "X-Spam-Score: 0\r\nFrom: Alice", 1);
    assert_eq!(
        check(extra.as_bytes()).signatures[0].result,
        DkimResult::Pass
    );
}

#[test]
fn rfc6376_3_4_bare_lf_messages_are_signed_and_verified_as_crlf() {
    let lf: Vec<u8> = String::from_utf8(MESSAGE.to_vec())
        .unwrap()
        .replace("\r\n", "\n")
        .into_bytes();
    for canon in ["simple/simple", "relaxed/relaxed", "simple/relaxed"] {
        let c: Canonicalizations = canon.parse().unwrap();
        let signer = rsa_signer().with_canonicalization(c);
        let out = mailstamp_dkim::sign(&Message::parse(&lf), &[signer], NOW).unwrap();
        assert!(out.line_endings_normalized);
        let signed = out.prepend_to(&lf);
        assert!(
            !signed.windows(2).any(|w| w == b"\r\n"),
            "the file keeps LF"
        );
        let report = check(&signed);
        assert_eq!(report.signatures[0].result, DkimResult::Pass, "{canon}");
        assert!(report.line_endings_normalized);
        assert!(report.signatures[0].details.line_endings_normalized);
    }
}

#[test]
fn header_only_and_empty_body_messages() {
    for raw in [
        &b"From: a@example.org\r\nSubject: x\r\n"[..],
        b"From: a@example.org\r\n\r\n",
        b"From: a@example.org",
    ] {
        for c in [Canonicalizations::SIMPLE, Canonicalizations::RELAXED] {
            let signed = sign_with(raw, vec![ed_signer().with_canonicalization(c)]);
            assert_eq!(
                check(&signed).signatures[0].result,
                DkimResult::Pass,
                "{raw:?} {c}"
            );
        }
    }
}

#[test]
fn rfc6376_5_4_explicit_header_lists() {
    let exact = ed_signer().with_headers(HeaderSelection::Exact(vec![
        "from".into(),
        "x-absent".into(),
    ]));
    let signed = sign_with(MESSAGE, vec![exact]);
    let report = check(&signed);
    assert_eq!(report.signatures[0].result, DkimResult::Pass);
    assert_eq!(
        report.signatures[0].details.signed_headers,
        ["from", "x-absent"]
    );
    // adding the absent (but signed) field breaks the signature
    let text =
        String::from_utf8(signed)
            .unwrap()
            .replacen("From: Alice", "X-Absent: 1\r\nFrom: Alice", 1);
    assert_eq!(
        check(text.as_bytes()).signatures[0].result,
        DkimResult::Fail
    );
}

/// Builds an rsa-sha1 signature by hand (mailstamp never signs with SHA-1), to check that the
/// verifier refuses it by default and verifies it only when told to.
#[test]
fn rfc8301_3_1_rsa_sha1_is_policy_unless_dangerously_accepted() {
    use base64::Engine as _;
    use rsa::pkcs8::DecodePrivateKey as _;
    let b64 = base64::engine::general_purpose::STANDARD;
    let body = b"Hello\r\n";
    let bh = ring::digest::digest(&ring::digest::SHA1_FOR_LEGACY_USE_ONLY, body);
    let field = format!(
        "DKIM-Signature: v=1; a=rsa-sha1; c=simple/simple; d=example.org; s=default; h=from; bh={}; b=",
        b64.encode(bh.as_ref())
    );
    let unsigned = format!("{field}\r\nFrom: a@example.org\r\n\r\nHello\r\n");
    let msg = Message::parse(unsigned.as_bytes());
    let sig_field = msg.field(0).unwrap();
    let sig = Signature::parse(sig_field.value()).unwrap();
    let data = header_hash_input(&msg, sig_field, &sig);
    let digest = ring::digest::digest(&ring::digest::SHA1_FOR_LEGACY_USE_ONLY, &data);
    let mut prefixed = vec![
        0x30, 0x21, 0x30, 0x09, 0x06, 0x05, 0x2b, 0x0e, 0x03, 0x02, 0x1a, 0x05, 0x00, 0x04, 0x14,
    ];
    prefixed.extend_from_slice(digest.as_ref());
    let pem =
        std::fs::read_to_string(testdata("default._domainkey.example.org.rsa2048.pem")).unwrap();
    let key = rsa::RsaPrivateKey::from_pkcs8_pem(&pem).unwrap();
    let signature = key
        .sign(rsa::Pkcs1v15Sign::new_unprefixed(), &prefixed)
        .unwrap();
    let signed = format!(
        "{field}{}\r\nFrom: a@example.org\r\n\r\nHello\r\n",
        b64.encode(signature)
    );

    let report = check(signed.as_bytes());
    assert_eq!(report.signatures[0].result, DkimResult::Policy);
    assert_eq!(report.signatures[0].problem, Some(DkimProblem::Sha1Refused));
    let legacy = check_at(
        signed.as_bytes(),
        &zone(),
        &Policy::default().dangerous_accept_rsa_sha1(true),
        NOW,
    );
    assert_eq!(legacy.signatures[0].result, DkimResult::Pass);
    let tampered = signed.replace("Hello", "Hullo");
    let legacy = check_at(
        tampered.as_bytes(),
        &zone(),
        &Policy::default().dangerous_accept_rsa_sha1(true),
        NOW,
    );
    assert_eq!(legacy.signatures[0].result, DkimResult::Fail);
}

#[test]
fn rfc8301_3_2_rsa_keys_under_1024_bits_are_policy() {
    use base64::Engine as _;
    use rsa::pkcs8::EncodePublicKey as _;
    let small = rsa::RsaPrivateKey::new(&mut rand::rngs::OsRng, 512).unwrap();
    let spki = small.to_public_key().to_public_key_der().unwrap();
    let record = format!(
        "v=DKIM1; k=rsa; p={}",
        base64::engine::general_purpose::STANDARD.encode(spki.as_bytes())
    );
    let mut zone = Zone::new();
    zone.add_txt(&name("default._domainkey.example.org"), [record]);
    let signed = sign_with(MESSAGE, vec![rsa_signer()]);
    let report = check_at(&signed, &zone, &Policy::default(), NOW);
    assert_eq!(report.signatures[0].result, DkimResult::Policy);
    assert_eq!(
        report.signatures[0].problem,
        Some(DkimProblem::KeyTooShort { bits: 512 })
    );
    assert_eq!(report.signatures[0].details.key_bits, Some(512));
}

#[test]
fn a_wrong_key_gives_signature_mismatch() {
    let signed = sign_with(MESSAGE, vec![ed_signer()]);
    // RFC 8463 A.2's key: valid, but not ours
    let zone = zone_with_ed_record("k=ed25519; p=11qYAYKxCrfVS/7TyWQHOg7hcvPapiMlrwIaaPcHURo=");
    let report = check_at(&signed, &zone, &Policy::default(), NOW);
    assert_eq!(
        report.signatures[0].problem,
        Some(DkimProblem::SignatureMismatch)
    );
    assert_eq!(report.signatures[0].details.body_hash_matched, Some(true));
}

#[test]
fn verdicts_serialize_to_json() {
    let signed = sign_with(MESSAGE, vec![ed_signer()]);
    let report = check_at(&signed, &Zone::new(), &Policy::default(), NOW);
    let json = serde_json::to_value(&report).unwrap();
    assert_eq!(json["signatures"][0]["result"], "permerror");
    assert_eq!(json["signatures"][0]["problem"]["code"], "key_not_found");
    assert_eq!(json["signatures"][0]["details"]["domain"], "example.org");
    assert_eq!(json["signatures"][0]["details"]["selector"], "ed25519");
    assert_eq!(
        json["signatures"][0]["problem"]["name"],
        "ed25519._domainkey.example.org"
    );
    let answer = Answer::NxDomain;
    assert!(answer.is_void(mailstamp_dns::RecordType::Txt));
}

/// `testdata/messages/signed.eml` (signed by example.org with both test keys at t=1768469400).
fn signed_eml() -> Vec<u8> {
    let path = testdata("../messages/signed.eml");
    std::fs::read(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

const SIGNED_EML_NOW: u64 = 1_768_469_400 + 60;

#[test]
fn issue_17_2_junk_signatures_on_top_do_not_hide_the_valid_ones() {
    let mut raw = Vec::new();
    for n in 0..10 {
        raw.extend_from_slice(
            format!(
                "DKIM-Signature: v=1; a=rsa-sha256; d=example.org; s=sel{n}; h=from; bh=AAAA; \
                 b=AAAA\n"
            )
            .as_bytes(),
        );
    }
    raw.extend_from_slice(&signed_eml());
    let report = check_at(&raw, &zone(), &Policy::default(), SIGNED_EML_NOW);
    assert_eq!(report.signatures.len(), 12);
    for v in &report.signatures[..10] {
        // bh=AAAA is 3 bytes, never a SHA-256 digest: decided before any DNS query.
        assert_ne!(v.problem, Some(DkimProblem::NotChecked { limit: 10 }));
        assert_ne!(v.result, DkimResult::Pass);
    }
    for v in &report.signatures[10..] {
        assert_eq!(v.result, DkimResult::Pass, "{}", v.reason());
    }
    // No key query is made for the junk.
    let msg = Message::parse(&raw);
    let Step::Lookup(pending) = verify(&msg, &Policy::default(), SIGNED_EML_NOW) else {
        panic!("expected key queries");
    };
    assert_eq!(pending.queries().len(), 2);
}

#[test]
fn issue_17_2_signatures_aligned_with_the_author_are_tried_first() {
    // Ten well-formed signatures of another domain on top: they would need DNS, so they
    // count, but example.org (the From domain) is tried first and the junk is what is left
    // unchecked.
    let real = signed_eml();
    let bh = "l7V7QzRHLWp66F7LKQlb42vDi91zZE68h8/swLuE9v8=";
    let b = "A".repeat(344);
    let mut raw = Vec::new();
    for n in 0..10 {
        raw.extend_from_slice(
            format!(
                "DKIM-Signature: v=1; a=rsa-sha256; d=junk{n}.example; s=s; h=from; bh={bh}; \
                 b={b}\n"
            )
            .as_bytes(),
        );
    }
    raw.extend_from_slice(&real);
    let report = check_at(&raw, &zone(), &Policy::default(), SIGNED_EML_NOW);
    assert_eq!(report.signatures.len(), 12);
    assert!(
        report.signatures[10..]
            .iter()
            .all(|v| v.result == DkimResult::Pass)
    );
    let not_checked: Vec<usize> = report
        .signatures
        .iter()
        .filter(|v| v.problem == Some(DkimProblem::NotChecked { limit: 10 }))
        .map(|v| v.details.index)
        .collect();
    assert_eq!(not_checked, [8, 9]);
    // The unchecked verdicts still say what they were.
    assert_eq!(
        report.signatures[9].details.domain.as_deref(),
        Some("junk9.example")
    );
}

#[test]
fn issue_17_2_verify_for_authors_takes_the_author_domains() {
    let bh = "l7V7QzRHLWp66F7LKQlb42vDi91zZE68h8/swLuE9v8=";
    let b = "A".repeat(344);
    let mut raw = Vec::new();
    for n in 0..10 {
        raw.extend_from_slice(
            format!(
                "DKIM-Signature: v=1; a=rsa-sha256; d=junk{n}.example; s=s; h=from; bh={bh}; \
                 b={b}\n"
            )
            .as_bytes(),
        );
    }
    raw.extend_from_slice(&signed_eml());
    // With junk3.example as the author (a parent of the author domain aligns), it comes
    // first: with a limit of one, it is the only one checked.
    let msg = Message::parse(&raw);
    let authors = [mailstamp_dns::Name::parse("mail.junk3.example").unwrap()];
    let report = mailstamp_dns::resolve_sync(
        mailstamp_dkim::verify_for_authors(
            &msg,
            &Policy::default().with_max_signatures(1),
            SIGNED_EML_NOW,
            &authors,
        ),
        &zone(),
    );
    let checked: Vec<usize> = report
        .signatures
        .iter()
        .filter(|v| v.problem != Some(DkimProblem::NotChecked { limit: 1 }))
        .map(|v| v.details.index)
        .collect();
    assert_eq!(checked, [3]);
    assert_eq!(
        report.signatures[3].details.domain.as_deref(),
        Some("junk3.example")
    );
    // verify() takes the authors from the message's From field: example.org.
    let report = check_at(
        &raw,
        &zone(),
        &Policy::default().with_max_signatures(2),
        SIGNED_EML_NOW,
    );
    assert!(
        report.signatures[10..]
            .iter()
            .all(|v| v.result == DkimResult::Pass)
    );
}

/// Issue 17 item 9: a signed message whose blank header/body line was removed. RFC 5322 §2.1
/// separates the body from the header section by an empty line; without it, the line where
/// the header section stops is a malformed header line, not the start of a body. dkimpy
/// refuses such a message (`MessageFormatError: Unexpected characters in RFC822 header`), so
/// mailstamp no longer passes it: every signature is `permerror` (RFC 8601 §2.7.1: "an error
/// that is unrecoverable"), naming the line, before any DNS query.
#[test]
fn issue_17_9_rfc5322_2_1_missing_separator_is_permerror_naming_the_line() {
    let signed = mailstamp_dkim::sign(&Message::parse(MESSAGE), &[ed_signer()], NOW)
        .unwrap()
        .prepend_to(MESSAGE);
    assert_eq!(check(&signed).signatures[0].result, DkimResult::Pass);
    let text = String::from_utf8(signed).unwrap();
    let (head, body) = text.split_once("\r\n\r\n").unwrap();
    let broken = format!("{head}\r\n{body}");
    let line = head.matches("\r\n").count() + 2;
    let message = Message::parse(broken.as_bytes());
    let report = match mailstamp_dkim::verify(&message, &Policy::default(), NOW) {
        Step::Done(report) => report,
        Step::Lookup(_) => panic!("no key is needed to refuse the message"),
    };
    let verdict = &report.signatures[0];
    assert_eq!(verdict.result, DkimResult::PermError);
    assert_eq!(
        verdict.problem,
        Some(DkimProblem::MissingSeparator {
            line,
            offset: head.len() + 2
        })
    );
    let shown = verdict.reason();
    assert!(shown.contains(&format!("line {line}")), "{shown}");
    // The same message with LF line endings reports the same line.
    let lf = broken.replace("\r\n", "\n");
    let report = mailstamp_dns::resolve_sync(
        mailstamp_dkim::verify(&Message::parse(lf.as_bytes()), &Policy::default(), NOW),
        &Zone::new(),
    );
    assert!(matches!(
        report.signatures[0].problem,
        Some(DkimProblem::MissingSeparator { line: l, .. }) if l == line
    ));
}

/// `header.b` material (RFC 6008 §4): the `b=` value as written, folding whitespace removed,
/// for ASCII values and, byte by byte, for values with 8-bit bytes (an invalid signature).
#[test]
fn rfc6008_4_signature_b_is_the_unfolded_b_value() {
    let raw = b"DKIM-Signature: v=1; a=rsa-sha256; d=example.org; s=a; h=from; bh=AAAA;\r\n b=Ab\r\n\tc+/9 ==\r\nDKIM-Signature: v=1; a=rsa-sha256; d=example.org; s=b; h=from; bh=AAAA; b=x\xc3\xa9 y\r\nFrom: a@example.org\r\n\r\nbody\r\n";
    let report = check_at(raw, &zone(), &Policy::default(), SIGNED_EML_NOW);
    let b: Vec<Option<&str>> = report
        .signatures
        .iter()
        .map(|v| v.details.signature_b.as_deref())
        .collect();
    assert_eq!(b, [Some("Abc+/9=="), Some("x\u{c3}\u{a9}y")]);
}
