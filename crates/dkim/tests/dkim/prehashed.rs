//! Body hashes computed as the body streams in (`BodySource::Hashes`) give the same verdicts
//! and signatures as hashing the whole message (`BodySource::Message`).

use crate::common::{NOW, ed_signer, rsa_signer, sign_with, zone};
use mailstamp_dkim::{
    BodyHashSet, BodyHashes, BodySource, DkimProblem, DkimReport, DkimResult, Policy,
    body_hash_specs, sign, sign_with_body, verify, verify_with_body,
};
use mailstamp_dns::resolve_sync;
use mailstamp_message::Message;

/// Splits a CRLF message into its header section (with the empty line) and its body.
fn split(raw: &[u8]) -> (&[u8], &[u8]) {
    let at = raw
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .expect("separator")
        + 4;
    raw.split_at(at)
}

/// Streams `body` in chunks of `chunk` bytes into the specs the header asks for.
fn streamed(header: &[u8], body: &[u8], chunk: usize, policy: &Policy) -> BodyHashes {
    let view = Message::parse(header);
    let authors = view.authors();
    let mut set = BodyHashSet::new();
    for spec in body_hash_specs(&view, policy, NOW, authors.domains()) {
        set.add(spec);
    }
    for c in body.chunks(chunk) {
        set.update(c);
    }
    set.finish_hashes()
}

fn verdicts(report: &DkimReport) -> Vec<(DkimResult, Option<String>)> {
    report
        .signatures
        .iter()
        .map(|v| (v.result, v.problem.as_ref().map(|p| p.code().to_owned())))
        .collect()
}

fn message(body: &str) -> Vec<u8> {
    let raw = format!(
        "From: Alice <alice@example.org>\r\nTo: bob@example.net\r\nSubject: streamed\r\n\
         Date: Sat, 05 Dec 2026 10:00:00 +0000\r\nMessage-ID: <s@example.org>\r\n\r\n{body}"
    );
    sign_with(raw.as_bytes(), vec![rsa_signer(), ed_signer()])
}

#[test]
fn precomputed_body_hashes_verify_like_the_whole_message() {
    let body = "Hello  \t there\r\n\r\n".repeat(5000) + "last line without CRLF  ";
    let signed = message(&body);
    let zone = zone();
    let policy = Policy::default();
    let whole = resolve_sync(verify(&Message::parse(&signed), &policy, NOW), &zone);
    assert_eq!(whole.result(), DkimResult::Pass);
    let (header, body) = split(&signed);
    for chunk in [1, 7, 4096, 65536] {
        let hashes = streamed(header, body, chunk, &policy);
        let view = Message::parse(header);
        let authors = view.authors();
        let step = verify_with_body(
            &view,
            &policy,
            NOW,
            authors.domains(),
            BodySource::Hashes(&hashes),
        );
        let report = resolve_sync(step, &zone);
        assert_eq!(verdicts(&report), verdicts(&whole), "chunk {chunk}");
    }
    // A changed body fails the same way in both.
    let mut tampered = signed.clone();
    let last = tampered.len() - 3;
    tampered[last] = b'X';
    let whole = resolve_sync(verify(&Message::parse(&tampered), &policy, NOW), &zone);
    let (header, body) = split(&tampered);
    let hashes = streamed(header, body, 65536, &policy);
    let view = Message::parse(header);
    let report = resolve_sync(
        verify_with_body(
            &view,
            &policy,
            NOW,
            view.authors().domains(),
            BodySource::Hashes(&hashes),
        ),
        &zone,
    );
    assert_eq!(verdicts(&report), verdicts(&whole));
    assert_eq!(report.signatures[0].result, DkimResult::Fail);
}

/// The specs follow the signatures verification will check: junk signatures with their own
/// `l=` do not add hashes beyond the limit, nor push out the aligned signature.
#[test]
fn specs_follow_the_signature_budget() {
    let signed = message("body\r\n");
    let (header, body) = split(&signed);
    let mut junk = String::new();
    for l in 1..=20 {
        junk.push_str(&format!(
            "DKIM-Signature: v=1; a=rsa-sha256; d=junk{l}.example; s=s; c=simple/simple; \
             l={l}; h=from; bh=47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hLuFU=; b=AAAA\r\n"
        ));
    }
    let header = [junk.as_bytes(), header].concat();
    let policy = Policy::default().with_max_signatures(2);
    let view = Message::parse(&header);
    let specs = body_hash_specs(&view, &policy, NOW, view.authors().domains());
    // The two aligned example.org signatures (relaxed, sha256, no l=) share one spec.
    assert_eq!(specs.len(), 1, "{specs:?}");
    assert_eq!(specs[0].limit, None);
    let hashes = streamed(&header, body, 3, &policy);
    let report = resolve_sync(
        verify_with_body(
            &view,
            &policy,
            NOW,
            view.authors().domains(),
            BodySource::Hashes(&hashes),
        ),
        &zone(),
    );
    assert!(report.has_pass());
    let not_checked = report
        .signatures
        .iter()
        .filter(|v| matches!(v.problem, Some(DkimProblem::NotChecked { .. })))
        .count();
    assert_eq!(not_checked, 20);
}

#[test]
fn a_missing_body_hash_is_temperror_never_pass() {
    let signed = message("body\r\n");
    let (header, _) = split(&signed);
    let view = Message::parse(header);
    let empty = BodyHashes::new();
    let report = resolve_sync(
        verify_with_body(
            &view,
            &Policy::default(),
            NOW,
            view.authors().domains(),
            BodySource::Hashes(&empty),
        ),
        &zone(),
    );
    for v in &report.signatures {
        assert_eq!(v.result, DkimResult::TempError);
        assert_eq!(v.problem, Some(DkimProblem::BodyHashNotSupplied));
    }
    let e = sign_with_body(&view, &[ed_signer()], NOW, BodySource::Hashes(&empty)).unwrap_err();
    assert!(e.to_string().contains("relaxed sha256"), "{e}");
}

#[test]
fn signing_with_precomputed_hashes_writes_the_same_fields() {
    let raw = b"From: a@example.org\r\nSubject: s\r\n\r\nline one \r\n\r\n\r\n";
    let whole = sign(&Message::parse(raw), &[rsa_signer(), ed_signer()], NOW).unwrap();
    let (header, body) = split(raw);
    let signers = [rsa_signer(), ed_signer()];
    let mut set = BodyHashSet::new();
    for s in &signers {
        set.add(s.body_hash_spec());
    }
    for c in body.chunks(2) {
        set.update(c);
    }
    let hashes = set.finish_hashes();
    let streamed = sign_with_body(
        &Message::parse(header),
        &signers,
        NOW,
        BodySource::Hashes(&hashes),
    )
    .unwrap();
    let texts = |f: &mailstamp_dkim::SignedFields| {
        f.fields.iter().map(|x| x.text.clone()).collect::<Vec<_>>()
    };
    assert_eq!(texts(&streamed), texts(&whole));
}
