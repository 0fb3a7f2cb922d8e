//! ARC integration tests:
//!
//! * the ValiMail ARC signing suite (`arc/arc-draft-sign-tests.yml`) and mail-auth's ARC
//!   messages (`arc/mail-auth/`), in full, from `../shared/conformance` (or
//!   `MAILSTAMP_CONFORMANCE`); the loaders fail on keys or lines they do not know;
//! * bad input (51 sets, missing and duplicate instances, a seal with `h=`, unknown tags,
//!   huge fields, sets split across the header, broken signatures): a `fail` or `none`
//!   verdict with its reason, never a panic;
//! * interoperability with dkimpy's ARC (`interop_dkimpy`);
//! * the fuzz body, on a few seeds.

#[path = "arc/interop_dkimpy.rs"]
mod interop_dkimpy;

#[path = "../src/fuzzing.rs"]
#[allow(dead_code, missing_docs)]
mod fuzzing;

use mailstamp_arc::{
    ArcProblem, ArcResult, ArcVerdict, FieldKind, NotSealed, SealError, SealKey, SealOutcome,
    Sealer, SignatureCheck, combined_authres_payload, validate,
};
use mailstamp_dkim::{KeyRecord, SignError, SigningAlgorithm, SigningKey, check_signature};
use mailstamp_dns::{Answer, FailureKind, Lookup, Name, Step, Zone, resolve_sync};
use mailstamp_message::Message;
use serde::Deserialize;
use std::cell::RefCell;
use std::collections::{BTreeMap, BTreeSet};
use std::path::PathBuf;

fn conformance_dir() -> PathBuf {
    let dir = match std::env::var_os("MAILSTAMP_CONFORMANCE") {
        Some(p) => PathBuf::from(p),
        None => PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../../shared/conformance"),
    };
    assert!(
        dir.join("PROVENANCE.md").is_file(),
        "conformance data not found at {} (set MAILSTAMP_CONFORMANCE)",
        dir.display()
    );
    dir
}

fn testdata() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../testdata")
}

fn crlf(s: &str) -> Vec<u8> {
    let mut out = Vec::with_capacity(s.len() + 64);
    for line in s.split_inclusive('\n') {
        match line.strip_suffix('\n') {
            Some(l) => {
                out.extend_from_slice(l.strip_suffix('\r').unwrap_or(l).as_bytes());
                out.extend_from_slice(b"\r\n");
            }
            None => out.extend_from_slice(line.as_bytes()),
        }
    }
    out
}

// ---------------------------------------------------------------------------------------------
// The signing suite.

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Scenario {
    description: String,
    tests: BTreeMap<String, SignCase>,
    domain: String,
    sel: String,
    privatekey: String,
    #[serde(rename = "txt-records")]
    txt_records: BTreeMap<String, String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct SignCase {
    spec: String,
    description: String,
    message: String,
    t: u64,
    #[serde(rename = "sig-headers")]
    sig_headers: String,
    #[serde(rename = "srv-id")]
    srv_id: String,
    #[serde(rename = "AS")]
    seal: Option<String>,
    #[serde(rename = "AMS")]
    ams: Option<String>,
    #[serde(rename = "AAR")]
    aar: Option<String>,
}

/// A key that "signs" with the suite's expected signatures and records what it was asked to
/// sign. mailstamp does not sign with the suite's 1024-bit RSA key (RFC 8301 §3.2 and ring
/// sign with 2048 bits or more); instead each expected `b=` is verified with the suite's
/// public key over the exact data mailstamp would have signed. RSASSA-PKCS1-v1_5 is
/// deterministic, so a verifying `b=` is byte for byte the one a 1024-bit signer would write.
struct Oracle {
    answers: RefCell<Vec<Vec<u8>>>,
    signed: RefCell<Vec<Vec<u8>>>,
}

impl SealKey for Oracle {
    fn algorithm(&self) -> SigningAlgorithm {
        SigningAlgorithm::RsaSha256
    }
    fn sign(&self, data: &[u8]) -> Result<Vec<u8>, SignError> {
        self.signed.borrow_mut().push(data.to_vec());
        let mut a = self.answers.borrow_mut();
        if a.is_empty() {
            return Err(SignError::Crypto);
        }
        Ok(a.remove(0))
    }
}

/// The suite's comparison rule: strip all whitespace, split on `;`, compare sets.
fn tag_set(v: &str) -> BTreeSet<String> {
    let s: String = v.chars().filter(|c| !c.is_whitespace()).collect();
    s.split(';')
        .filter(|p| !p.is_empty())
        .map(str::to_owned)
        .collect()
}

fn b_of(v: &str) -> Vec<u8> {
    use base64::Engine as _;
    let b = tag_set(v)
        .into_iter()
        .find_map(|t| t.strip_prefix("b=").map(str::to_owned))
        .expect("b=");
    base64::engine::general_purpose::STANDARD
        .decode(b)
        .expect("base64")
}

/// The chain status the suite seals with: the `arc=` result of the srv-id's
/// Authentication-Results (none without one; several are fail, as the reference does).
fn status_from_ar(message: &Message<'_>, srv_id: &str) -> ArcResult {
    let mut found = Vec::new();
    for f in message.fields_named("Authentication-Results") {
        let v = String::from_utf8_lossy(f.value()).into_owned();
        let mut parts = v.split(';');
        let id = parts.next().unwrap_or("").trim();
        if id != srv_id {
            continue;
        }
        for p in parts {
            if let Some(r) = p.trim().strip_prefix("arc=") {
                let tok = r.split_whitespace().next().unwrap_or("");
                found.push(tok.parse::<ArcResult>().unwrap_or(ArcResult::Fail));
            }
        }
    }
    match found.as_slice() {
        [] => ArcResult::None,
        [one] => *one,
        _ => ArcResult::Fail,
    }
}

fn zone_of(records: &BTreeMap<String, String>) -> Zone {
    let mut zone = Zone::new();
    for (name, txt) in records {
        let value: String = txt.split_whitespace().collect::<Vec<_>>().join("");
        // "v=DKIM1; k=rsa; p=..." lost its spaces above, which a tag list does not need.
        zone.add_txt(&Name::parse(name).unwrap(), [value]);
    }
    zone
}

#[test]
fn arc_signing_suite() {
    let path = conformance_dir().join("arc/arc-draft-sign-tests.yml");
    let text = std::fs::read_to_string(&path).unwrap();
    let scenarios: Vec<Scenario> = serde_saphyr::from_multiple(&text).expect("suite format");
    let (mut total, mut passed, mut sealed, mut refused) = (0, 0, 0, 0);
    let mut failures = Vec::new();
    for sc in &scenarios {
        assert!(!sc.description.is_empty());
        // The suite's private key is RSA-1024, which mailstamp refuses to sign with.
        assert!(matches!(
            SigningKey::from_pem(&sc.privatekey),
            Err(mailstamp_dkim::KeyLoadError::RsaKeySize { bits: 1024 })
        ));
        let zone = zone_of(&sc.txt_records);
        let key_txt = sc.txt_records.values().next().unwrap();
        let key_txt: String = key_txt.split_whitespace().collect();
        let key = KeyRecord::parse(key_txt.as_bytes())
            .unwrap()
            .public_key
            .unwrap();
        for (name, case) in &sc.tests {
            total += 1;
            assert!(!case.spec.is_empty() && !case.description.is_empty());
            let raw = crlf(&case.message);
            let message = Message::parse(&raw);
            let status = status_from_ar(&message, &case.srv_id);
            let expect_seal = case.seal.as_deref().is_some_and(|s| !s.trim().is_empty());
            let oracle = Oracle {
                answers: RefCell::new(if expect_seal {
                    vec![
                        b_of(case.ams.as_deref().unwrap()),
                        b_of(case.seal.as_deref().unwrap()),
                    ]
                } else {
                    Vec::new()
                }),
                signed: RefCell::new(Vec::new()),
            };
            let headers: Vec<&str> = case.sig_headers.split(':').collect();
            let sealer = Sealer::new(&oracle, &sc.domain, &sc.sel)
                .unwrap()
                .with_headers(&headers)
                .unwrap();
            let payload = combined_authres_payload(&message, &case.srv_id).unwrap();
            let outcome = sealer.seal(&message, status, &payload, case.t);
            let mut problems = Vec::new();
            match (outcome, expect_seal) {
                (Ok(SealOutcome::NotSealed(NotSealed::ChainAlreadyFailed { .. })), false) => {
                    refused += 1;
                }
                (Ok(SealOutcome::Sealed(set)), true) => {
                    sealed += 1;
                    for (what, got, want) in [
                        ("AS", set.seal_value(), case.seal.as_deref().unwrap()),
                        ("AMS", set.ams_value(), case.ams.as_deref().unwrap()),
                        ("AAR", set.aar_value(), case.aar.as_deref().unwrap()),
                    ] {
                        if tag_set(got) != tag_set(want) {
                            problems.push(format!("{what}: got {got:?}, want {want:?}"));
                        }
                    }
                    let signed = oracle.signed.borrow();
                    for (what, data, want) in [
                        ("AMS", &signed[0], case.ams.as_deref().unwrap()),
                        ("AS", &signed[1], case.seal.as_deref().unwrap()),
                    ] {
                        if !check_signature(&key, SigningAlgorithm::RsaSha256, data, &b_of(want)) {
                            problems.push(format!(
                                "{what}: the expected b= does not verify over mailstamp's signing input {:?}",
                                String::from_utf8_lossy(data)
                            ));
                        }
                    }
                    // The sealed message validates when the chain was intact.
                    if status != ArcResult::Fail {
                        let out = set.prepend_to(&raw);
                        let v = resolve_sync(validate(&Message::parse(&out), case.t), &zone);
                        if v.result != ArcResult::Pass {
                            problems.push(format!("sealed message does not validate: {v:?}"));
                        }
                    }
                }
                (other, _) => {
                    problems.push(format!("outcome {other:?}, expected seal: {expect_seal}"))
                }
            }
            if problems.is_empty() {
                passed += 1;
            } else {
                failures.push(format!("{name}: {}", problems.join("; ")));
            }
        }
    }
    println!(
        "arc-draft-sign-tests.yml: {total} cases, {passed} pass ({sealed} sealed, {refused} refused as expected)"
    );
    assert!(failures.is_empty(), "{}", failures.join("\n"));
    assert_eq!(total, 17);
}

// ---------------------------------------------------------------------------------------------
// mail-auth's ARC messages.

/// mail-auth's format: `<selector>._domainkey.<domain> <TXT>` lines, an empty line, the
/// message (LF endings).
fn load_mail_auth(text: &str) -> (Zone, Vec<u8>) {
    let (dns, message) = text
        .split_once("\n\n")
        .expect("DNS block, empty line, message");
    let mut zone = Zone::new();
    for line in dns.lines() {
        let (name, txt) = line.split_once(' ').expect("`name TXT` line");
        assert!(
            name.contains("._domainkey."),
            "unknown line in the DNS block: {line:?}"
        );
        zone.add_txt(&Name::parse(name).unwrap(), [txt.to_owned()]);
    }
    (zone, crlf(message))
}

#[test]
fn mail_auth_arc_messages() {
    let dir = conformance_dir().join("arc/mail-auth");
    let mut names: Vec<_> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .filter(|n| n.ends_with(".txt") && !n.starts_with("LICENSE"))
        .collect();
    names.sort();
    let mut passed = 0;
    for name in &names {
        let text = std::fs::read_to_string(dir.join(name)).unwrap();
        let (zone, raw) = load_mail_auth(&text);
        let v = resolve_sync(validate(&Message::parse(&raw), 1_700_000_000), &zone);
        assert_eq!(v.result, ArcResult::Pass, "{name}: {v:#?}");
        passed += 1;
        println!(
            "{name}: arc={} instances={} oldest-pass={:?} sealers={:?}",
            v.result,
            v.instances,
            v.oldest_pass,
            v.sealers().collect::<Vec<_>>()
        );
    }
    println!("mail-auth ARC: {} messages, {passed} pass", names.len());
    assert_eq!(names.len(), 2);
}

// ---------------------------------------------------------------------------------------------
// Chains made here, and bad input.

const NOW: u64 = 1_767_225_600;

fn rsa_key() -> SigningKey {
    let pem =
        std::fs::read_to_string(testdata().join("keys/default._domainkey.example.org.rsa2048.pem"))
            .unwrap();
    SigningKey::from_pem(&pem).unwrap()
}

fn ed_key() -> SigningKey {
    let pem = std::fs::read_to_string(testdata().join("keys/ed25519._domainkey.example.org.pem"))
        .unwrap();
    SigningKey::from_pem(&pem).unwrap()
}

fn record_of(key: &SigningKey) -> String {
    use base64::Engine as _;
    let k = match key.key_type() {
        mailstamp_dkim::KeyType::Rsa => "rsa",
        mailstamp_dkim::KeyType::Ed25519 => "ed25519",
    };
    format!(
        "v=DKIM1; k={k}; p={}",
        base64::engine::general_purpose::STANDARD.encode(key.public_key().to_record_der())
    )
}

fn zone() -> Zone {
    let mut z = Zone::new();
    for (name, key) in [
        ("rsa._domainkey.one.example", rsa_key()),
        ("ed._domainkey.two.example", ed_key()),
        ("rsa._domainkey.two.example", rsa_key()),
        ("rsa._domainkey.three.example", rsa_key()),
    ] {
        z.add_txt(&Name::parse(name).unwrap(), [record_of(&key)]);
    }
    z
}

const ORIGINAL: &str = "From: Alice <alice@origin.example>\r\n\
To: list@one.example\r\n\
Subject: ARC test\r\n\
Date: Thu, 01 Jan 2026 00:00:00 +0000\r\n\
Message-ID: <arc-1@origin.example>\r\n\
\r\n\
Hello,\r\n\
this is the body.\r\n";

fn check(raw: &[u8]) -> ArcVerdict {
    resolve_sync(validate(&Message::parse(raw), NOW), &zone())
}

fn seal_hop(raw: &[u8], key: SigningKey, domain: &str, selector: &str) -> Vec<u8> {
    seal_hop_modifying(raw, key, domain, selector, |_| {})
}

/// A hop: validate on arrival, apply `modify` (a list footer...), then seal (§5.1 step 1:
/// modifications come before sealing; `cv=` is what arrived).
fn seal_hop_modifying(
    raw: &[u8],
    key: SigningKey,
    domain: &str,
    selector: &str,
    modify: impl Fn(&mut Vec<u8>),
) -> Vec<u8> {
    let verdict = check(raw);
    let mut raw = raw.to_vec();
    modify(&mut raw);
    let raw = &raw[..];
    let sealer = Sealer::new(key, domain, selector).unwrap();
    let payload = format!("{domain}; arc={}", verdict.result);
    match sealer
        .seal(&Message::parse(raw), verdict.result, &payload, NOW)
        .unwrap()
    {
        SealOutcome::Sealed(set) => set.prepend_to(raw),
        SealOutcome::NotSealed(n) => panic!("not sealed: {n}"),
    }
}

/// Three hops: RSA, Ed25519, RSA.
fn three_hops() -> Vec<u8> {
    let one = seal_hop(ORIGINAL.as_bytes(), rsa_key(), "one.example", "rsa");
    let two = seal_hop(&one, ed_key(), "two.example", "ed");
    seal_hop(&two, rsa_key(), "three.example", "rsa")
}

#[test]
fn three_hops_pass() {
    let raw = three_hops();
    let v = check(&raw);
    assert_eq!(v.result, ArcResult::Pass, "{v:#?}");
    assert_eq!(v.instances, 3);
    assert_eq!(v.oldest_pass, Some(0));
    assert_eq!(
        v.sealers().collect::<Vec<_>>(),
        ["one.example", "two.example", "three.example"]
    );
    assert!(v.sets.iter().all(|s| s.ams.is_pass() && s.seal.is_pass()));
    assert_eq!(
        v.set(2).unwrap().authentication_results.as_deref(),
        Some("two.example; arc=pass")
    );
    // JSON shape
    let j = serde_json::to_value(&v).unwrap();
    assert_eq!(j["result"], "pass");
    assert_eq!(j["sets"][1]["seal"]["result"], "pass");
}

#[test]
fn body_modified_in_the_middle_moves_oldest_pass() {
    let one = seal_hop(ORIGINAL.as_bytes(), rsa_key(), "one.example", "rsa");
    // Hop two is a list that adds a footer, then seals.
    let two = seal_hop_modifying(&one, ed_key(), "two.example", "ed", |m| {
        m.extend_from_slice(b"-- \r\nlist footer\r\n");
    });
    let three = seal_hop(&two, rsa_key(), "three.example", "rsa");
    let v = check(&three);
    assert_eq!(v.result, ArcResult::Pass, "{v:#?}");
    assert_eq!(v.oldest_pass, Some(2));
    assert!(matches!(
        v.set(1).unwrap().ams,
        SignatureCheck::Fail {
            problem: ArcProblem::BodyHashMismatch { instance: 1 }
        }
    ));
}

#[test]
fn body_modified_after_the_last_seal_fails() {
    let mut raw = three_hops();
    raw.extend_from_slice(b"tampered\r\n");
    let v = check(&raw);
    assert_eq!(v.result, ArcResult::Fail);
    assert_eq!(v.failed_instance, Some(3));
    assert_eq!(
        v.problem,
        Some(ArcProblem::BodyHashMismatch { instance: 3 })
    );
}

fn text(raw: &[u8]) -> String {
    String::from_utf8(raw.to_vec()).unwrap()
}

/// Splits the header into fields (with their folding lines) and the rest.
fn fields(raw: &str) -> (Vec<String>, String) {
    let (head, body) = raw.split_once("\r\n\r\n").unwrap();
    let mut out: Vec<String> = Vec::new();
    for line in head.split("\r\n") {
        if line.starts_with([' ', '\t']) {
            let last = out.last_mut().unwrap();
            last.push_str("\r\n");
            last.push_str(line);
        } else {
            out.push(line.to_owned());
        }
    }
    (out, body.to_owned())
}

fn join(fields: &[String], body: &str) -> Vec<u8> {
    format!("{}\r\n\r\n{body}", fields.join("\r\n")).into_bytes()
}

fn problem_of(raw: &[u8]) -> ArcProblem {
    let v = check(raw);
    assert_eq!(v.result, ArcResult::Fail, "{v:#?}");
    v.problem.expect("a fail verdict has a problem")
}

#[test]
fn fifty_one_sets_fail() {
    let (mut f, body) = fields(&text(&three_hops()));
    f.insert(
        0,
        "ARC-Authentication-Results: i=51; x.example; arc=pass".to_owned(),
    );
    assert_eq!(
        problem_of(&join(&f, &body)),
        ArcProblem::TooManySets { instance: 51 }
    );
    // 51 well-formed-looking sets
    let mut many: Vec<String> = Vec::new();
    for i in (1..=51).rev() {
        many.push(format!(
            "ARC-Seal: i={i}; a=rsa-sha256; cv=pass; d=x.example; s=s; b=AAAA"
        ));
        many.push(format!(
            "ARC-Message-Signature: i={i}; a=rsa-sha256; d=x.example; s=s; h=from; bh=AAAA; b=AAAA"
        ));
        many.push(format!(
            "ARC-Authentication-Results: i={i}; x.example; arc=pass"
        ));
    }
    many.push("From: a@x.example".to_owned());
    assert!(matches!(
        problem_of(&join(&many, "body\r\n")),
        ArcProblem::TooManySets { instance: 51 }
    ));
}

#[test]
fn missing_and_duplicate_instances_fail() {
    let (f, body) = fields(&text(&three_hops()));
    // Remove the whole set i=2.
    let without2: Vec<String> = f
        .iter()
        .filter(|l| !(l.starts_with("ARC-") && l.contains("i=2;")))
        .cloned()
        .collect();
    assert_eq!(
        problem_of(&join(&without2, &body)),
        ArcProblem::MissingInstance {
            instance: 2,
            newest: 3
        }
    );
    // Duplicate the AMS of i=1.
    let mut dup = f.clone();
    let ams1 = f
        .iter()
        .find(|l| l.starts_with("ARC-Message-Signature") && l.contains("i=1;"))
        .unwrap()
        .clone();
    dup.insert(0, ams1);
    assert_eq!(
        problem_of(&join(&dup, &body)),
        ArcProblem::DuplicateField {
            instance: 1,
            kind: FieldKind::Ams,
            count: 2
        }
    );
    // Drop the AAR of i=3.
    let no_aar: Vec<String> = f
        .iter()
        .filter(|l| !(l.starts_with("ARC-Authentication-Results") && l.contains("i=3;")))
        .cloned()
        .collect();
    assert_eq!(
        problem_of(&join(&no_aar, &body)),
        ArcProblem::MissingField {
            instance: 3,
            kind: FieldKind::Aar
        }
    );
}

fn edit_seal(f: &mut [String], instance: u32, edit: impl Fn(&str) -> String) {
    let s = f
        .iter_mut()
        .find(|l| l.starts_with("ARC-Seal") && l.contains(&format!("i={instance};")))
        .unwrap();
    *s = edit(s);
}

#[test]
fn seal_with_h_or_unknown_tags_fails() {
    let (f, body) = fields(&text(&three_hops()));
    let mut h = f.clone();
    edit_seal(&mut h, 2, |s| format!("{s}; h=from:to"));
    assert_eq!(
        problem_of(&join(&h, &body)),
        ArcProblem::SealHasHeaderList { instance: 2 }
    );
    let mut unknown = f.clone();
    edit_seal(&mut unknown, 1, |s| format!("{s}; x=1767225600"));
    assert_eq!(
        problem_of(&join(&unknown, &body)),
        ArcProblem::SealUnknownTag {
            instance: 1,
            tag: "x".to_owned()
        }
    );
    let mut cv = f.clone();
    edit_seal(&mut cv, 2, |s| s.replace("cv=pass", "cv=none"));
    assert!(matches!(
        problem_of(&join(&cv, &body)),
        ArcProblem::WrongChainValidation { instance: 2, .. }
    ));
    // A changed seal of an older set: every newer seal covers it too, and §5.2 step 6
    // checks the seals newest first.
    let mut sig = f.clone();
    edit_seal(&mut sig, 1, |s| s.replace("t=1767225600", "t=1767225601"));
    assert_eq!(
        problem_of(&join(&sig, &body)),
        ArcProblem::SealSignatureMismatch { instance: 3 }
    );
    let v = check(&join(&sig, &body));
    assert!(v.sets.iter().all(|s| !s.seal.is_pass()));
}

#[test]
fn huge_fields_fail() {
    let (mut f, body) = fields(&text(&three_hops()));
    let aar = f
        .iter_mut()
        .find(|l| l.starts_with("ARC-Authentication-Results") && l.contains("i=1;"))
        .unwrap();
    for _ in 0..2000 {
        aar.push_str("\r\n\tdkim=pass header.d=padding.example header.s=sel");
    }
    assert!(matches!(
        problem_of(&join(&f, &body)),
        ArcProblem::FieldTooLong {
            kind: FieldKind::Aar,
            ..
        }
    ));
}

#[test]
fn sets_split_across_the_header_are_grouped_by_instance() {
    // RFC 8617 §4.2.1 defines sets by i= alone: moving the AAR of i=1 below the body fields
    // changes nothing that is signed, so the chain still passes.
    let (mut f, body) = fields(&text(&three_hops()));
    let idx = f
        .iter()
        .position(|l| l.starts_with("ARC-Authentication-Results") && l.contains("i=1;"))
        .unwrap();
    let aar = f.remove(idx);
    f.push(aar);
    let v = check(&join(&f, &body));
    assert_eq!(v.result, ArcResult::Pass, "{v:#?}");
    // A set whose AMS sits between the fields of another set, and whose seal is gone: fail.
    let (mut f, body) = fields(&text(&three_hops()));
    f.retain(|l| !(l.starts_with("ARC-Seal") && l.contains("i=2;")));
    assert_eq!(
        problem_of(&join(&f, &body)),
        ArcProblem::MissingField {
            instance: 2,
            kind: FieldKind::Seal
        }
    );
}

#[test]
fn malformed_instances_fail_and_no_arc_is_none() {
    for bad in [
        "ARC-Seal: a=rsa-sha256; cv=none; d=x.example; s=s; b=AAAA",
        "ARC-Seal: i=0; a=rsa-sha256; cv=none; d=x.example; s=s; b=AAAA",
        "ARC-Seal: i=one; a=rsa-sha256; cv=none; d=x.example; s=s; b=AAAA",
        "ARC-Message-Signature: i=1; i=1; a=rsa-sha256",
        "ARC-Authentication-Results: x.example; arc=none",
    ] {
        let raw = format!("{bad}\r\nFrom: a@x.example\r\n\r\nbody\r\n");
        let v = check(raw.as_bytes());
        assert_eq!(v.result, ArcResult::Fail, "{bad}");
        assert!(matches!(
            v.problem,
            Some(ArcProblem::InvalidInstance { .. })
        ));
    }
    let v = check(ORIGINAL.as_bytes());
    assert_eq!(v.result, ArcResult::None);
    assert_eq!(v.problem, None);
    assert_eq!(v.instances, 0);
}

#[test]
fn dns_failures_are_permanent_fail() {
    let raw = three_hops();
    let message = Message::parse(&raw);
    let Step::Lookup(pending) = validate(&message, NOW) else {
        panic!("expected key queries");
    };
    let n = pending.queries().len();
    let Step::Done(v) = pending.resume(vec![Answer::Failed(FailureKind::Timeout); n]) else {
        panic!("one step");
    };
    assert_eq!(v.result, ArcResult::Fail);
    assert!(matches!(
        v.problem,
        Some(ArcProblem::KeyUnavailable {
            instance: 3,
            kind: FieldKind::Ams,
            ..
        })
    ));
    // Missing answers count as failures, never a panic.
    let Step::Lookup(pending) = validate(&message, NOW) else {
        panic!()
    };
    let Step::Done(v) = pending.resume(Vec::new()) else {
        panic!()
    };
    assert_eq!(v.result, ArcResult::Fail);
}

#[test]
fn sealing_rules() {
    let raw = three_hops();
    let message = Message::parse(&raw);
    let sealer = Sealer::new(ed_key(), "four.example", "ed").unwrap();
    // The status must fit the message.
    assert!(matches!(
        sealer.seal(&message, ArcResult::None, "four.example", NOW),
        Err(SealError::StatusMismatch { .. })
    ));
    assert!(matches!(
        sealer.seal(
            &Message::parse(ORIGINAL.as_bytes()),
            ArcResult::Pass,
            "four.example",
            NOW
        ),
        Err(SealError::StatusMismatch { .. })
    ));
    // A failed chain is sealed with cv=fail, over the new set only (§5.1.2) ...
    let SealOutcome::Sealed(set) = sealer
        .seal(&message, ArcResult::Fail, "four.example; arc=fail", NOW)
        .unwrap()
    else {
        panic!()
    };
    assert_eq!(set.instance, 4);
    assert!(set.seal_value().contains("cv=fail"));
    let failed = set.prepend_to(&raw);
    let v = check(&failed);
    assert_eq!(
        v.problem,
        Some(ArcProblem::NewestSealFailed { instance: 4 })
    );
    // ... and then nobody extends it (§5.1 step 2).
    assert_eq!(
        sealer
            .seal(
                &Message::parse(&failed),
                ArcResult::Fail,
                "five.example",
                NOW
            )
            .unwrap(),
        SealOutcome::NotSealed(NotSealed::ChainAlreadyFailed { instance: 4 })
    );
    // The AMS must not sign ARC or Authentication-Results fields, and must sign From.
    assert!(matches!(
        Sealer::new(ed_key(), "four.example", "ed")
            .unwrap()
            .with_headers(&["from", "arc-seal"]),
        Err(SealError::ForbiddenHeader { .. })
    ));
    assert!(
        Sealer::new(ed_key(), "four.example", "ed")
            .unwrap()
            .with_headers(&["subject"])
            .is_err()
    );
    // An injected line break in the AAR payload is refused.
    assert!(matches!(
        sealer.seal(&message, ArcResult::Pass, "x; spf=pass\r\nX-Evil: 1", NOW),
        Err(SealError::InvalidPayload { .. })
    ));
    // A full chain is not extended.
    let mut fifty = Vec::new();
    for i in 1..=50 {
        fifty.extend_from_slice(
            format!("ARC-Seal: i={i}; a=rsa-sha256; cv=pass; d=x.example; s=s; b=AAAA\r\n")
                .as_bytes(),
        );
    }
    fifty.extend_from_slice(b"From: a@x.example\r\n\r\nbody\r\n");
    assert_eq!(
        sealer
            .seal(&Message::parse(&fifty), ArcResult::Fail, "x", NOW)
            .unwrap(),
        SealOutcome::NotSealed(NotSealed::ChainFull)
    );
}

#[test]
fn bare_lf_messages_are_sealed_and_validated() {
    let lf = ORIGINAL.replace("\r\n", "\n");
    let sealed = seal_hop(lf.as_bytes(), ed_key(), "two.example", "ed");
    assert!(!sealed.windows(2).any(|w| w == b"\r\n"));
    let v = check(&sealed);
    assert_eq!(v.result, ArcResult::Pass);
    assert!(v.line_endings_normalized);
}

#[test]
fn fuzz_body_on_seeds() {
    fuzzing::chain(b"");
    fuzzing::chain(ORIGINAL.as_bytes());
    let raw = three_hops();
    fuzzing::chain(&raw);
    let mut with_key = record_of(&rsa_key()).into_bytes();
    with_key.push(0);
    with_key.extend_from_slice(&raw);
    fuzzing::chain(&with_key);
    for cut in (0..raw.len()).step_by(97) {
        fuzzing::chain(&raw[..cut]);
        let mut flipped = raw.clone();
        flipped[cut] ^= 0x20;
        fuzzing::chain(&flipped);
    }
}

// ---------------------------------------------------------------------------------------------
// Body hashes computed as the body streams in (a milter keeps no body).

fn split_header(raw: &[u8]) -> (&[u8], &[u8]) {
    let at = raw.windows(4).position(|w| w == b"\r\n\r\n").unwrap() + 4;
    raw.split_at(at)
}

fn streamed_hashes(
    specs: impl IntoIterator<Item = mailstamp_dkim::BodyHashSpec>,
    body: &[u8],
) -> mailstamp_dkim::BodyHashes {
    let mut set = mailstamp_dkim::BodyHashSet::new();
    for s in specs {
        set.add(s);
    }
    for c in body.chunks(5) {
        set.update(c);
    }
    set.finish_hashes()
}

#[test]
fn precomputed_body_hashes_validate_like_the_whole_message() {
    use mailstamp_arc::{body_hash_specs, validate_with_body};
    use mailstamp_dkim::BodySource;
    let one = seal_hop(ORIGINAL.as_bytes(), rsa_key(), "one.example", "rsa");
    let two = seal_hop_modifying(&one, ed_key(), "two.example", "ed", |m| {
        m.extend_from_slice(b"-- \r\nlist footer\r\n");
    });
    let mut tampered = two.clone();
    tampered.extend_from_slice(b"tampered\r\n");
    for raw in [three_hops(), two, tampered] {
        let whole = check(&raw);
        let (header, body) = split_header(&raw);
        let view = Message::parse(header);
        let specs = body_hash_specs(&view);
        assert!(!specs.is_empty());
        let hashes = streamed_hashes(specs, body);
        let streamed = resolve_sync(
            validate_with_body(&view, NOW, BodySource::Hashes(&hashes)),
            &zone(),
        );
        assert_eq!(streamed.result, whole.result);
        assert_eq!(streamed.problem, whole.problem);
        assert_eq!(streamed.oldest_pass, whole.oldest_pass);
        assert_eq!(streamed.sets, whole.sets);
    }
    // Without the hashes, the newest AMS fails with its own reason, never a pass.
    let raw = three_hops();
    let (header, _) = split_header(&raw);
    let empty = mailstamp_dkim::BodyHashes::new();
    let v = resolve_sync(
        validate_with_body(&Message::parse(header), NOW, BodySource::Hashes(&empty)),
        &zone(),
    );
    assert_eq!(v.result, ArcResult::Fail);
    assert_eq!(
        v.problem,
        Some(ArcProblem::BodyHashNotSupplied { instance: 3 })
    );
}

#[test]
fn sealing_with_a_precomputed_body_hash_writes_the_same_set() {
    use mailstamp_dkim::BodySource;
    let one = seal_hop(ORIGINAL.as_bytes(), rsa_key(), "one.example", "rsa");
    let sealer = Sealer::new(ed_key(), "two.example", "ed").unwrap();
    let payload = "two.example; arc=pass";
    let whole = sealer
        .seal(&Message::parse(&one), ArcResult::Pass, payload, NOW)
        .unwrap();
    let (header, body) = split_header(&one);
    let hashes = streamed_hashes([sealer.body_hash_spec()], body);
    let streamed = sealer
        .seal_with_body(
            &Message::parse(header),
            ArcResult::Pass,
            payload,
            NOW,
            BodySource::Hashes(&hashes),
        )
        .unwrap();
    assert_eq!(streamed, whole);
    let SealOutcome::Sealed(set) = streamed else {
        panic!("not sealed")
    };
    assert_eq!(check(&set.prepend_to(&one)).result, ArcResult::Pass);
    let empty = mailstamp_dkim::BodyHashes::new();
    assert_eq!(
        sealer.seal_with_body(
            &Message::parse(header),
            ArcResult::Pass,
            payload,
            NOW,
            BodySource::Hashes(&empty)
        ),
        Err(mailstamp_arc::SealError::BodyHashNotSupplied)
    );
}
