//! The blaze messages (`dmarc/blaze`, PROVENANCE.md) through the whole receiver's pipeline,
//! `mailstamp::pipeline::Authenticator` with the envelope taken from each message's trace
//! fields (`--from-received`), against the captured DNS (names missing from the cache answer
//! NXDOMAIN, never live DNS).
//!
//! `dmarc.rs` runs the same messages through the protocol crates one by one and checks each
//! mechanism's details; this module checks that the pipeline wires them the same way (the SPF
//! identity and identifier, the DKIM `d=` list, DMARC) and that the Authentication-Results
//! field it writes says so. The expected DMARC results are those of PROVENANCE.md: 001-004
//! pass, 005-007 `none` (no `_dmarc` record for their author domains in the snapshot).

use mailstamp::pipeline::{Authenticator, CheckOptions, EnvelopeSource, Outcome, Report};
use mailstamp_authres::AuthenticationResults;
use mailstamp_dkim::DkimResult;
use mailstamp_dmarc::DmarcResult;
use mailstamp_dns::{Name, Zone};
use mailstamp_spf::SpfResult;
use mailstamp_tests::conformance_dir;

/// `cache/<owner>.dns`: one `txt:<value>` line per TXT record.
fn cache_zone() -> Zone {
    let dir = conformance_dir().join("dmarc/blaze/cache");
    let mut zone = Zone::new();
    let mut files = 0;
    for entry in std::fs::read_dir(&dir).unwrap() {
        let path = entry.unwrap().path();
        let file = path.file_name().unwrap().to_string_lossy().into_owned();
        let owner = Name::parse(file.strip_suffix(".dns").unwrap()).unwrap();
        files += 1;
        for line in std::fs::read_to_string(&path).unwrap().lines() {
            if line.is_empty() {
                continue;
            }
            let value = line
                .strip_prefix("txt:")
                .unwrap_or_else(|| panic!("{file}: unexpected line {line:?}"));
            zone.add_txt(&owner, [value]);
        }
    }
    assert_eq!(files, 28, "the 28 cache files of the snapshot");
    zone
}

/// Checks `file` at the time its newest signature was made (so `x=` has not passed).
fn check(file: &str, zone: &Zone) -> Report {
    let raw = std::fs::read(conformance_dir().join("dmarc/blaze").join(file)).unwrap();
    let run = |now: u64| {
        let auth = Authenticator::offline(Zone::new(), CheckOptions::new("mx.test").with_now(now));
        let prepared = auth.prepare_from(&raw, &EnvelopeSource::FromReceived);
        auth.complete_with(prepared, zone)
    };
    let first = run(2_000_000_000);
    let now = first
        .dkim
        .iter()
        .filter_map(|c| c.verdict.details.timestamp)
        .max()
        .map_or(2_000_000_000, |t| t + 60);
    run(now)
}

/// The written field, parsed back: one `dmarc=` result with the given token.
fn field_dmarc(report: &Report) -> (String, Option<String>) {
    let ar = AuthenticationResults::parse(report.authentication_results().to_value()).unwrap();
    let dmarc: Vec<_> = ar.results_for("dmarc").collect();
    assert_eq!(dmarc.len(), 1);
    (
        dmarc[0].result.as_str().to_owned(),
        dmarc[0].property("header", "from").map(str::to_owned),
    )
}

#[test]
fn rfc9989_blaze_messages_through_the_pipeline() {
    let zone = cache_zone();
    // (file, author domain, SPF for MAIL FROM, DMARC, outcome)
    let expected = [
        (
            "001.mail",
            "github.com",
            SpfResult::Pass,
            DmarcResult::Pass,
            Outcome::Pass,
        ),
        (
            "002.mail",
            "github.com",
            SpfResult::Pass,
            DmarcResult::Pass,
            Outcome::Pass,
        ),
        (
            "003.mail",
            "janestreet.com",
            SpfResult::Fail,
            DmarcResult::Pass,
            Outcome::Pass,
        ),
        (
            "004.mail",
            "discoursemail.com",
            SpfResult::Pass,
            DmarcResult::Pass,
            Outcome::Pass,
        ),
        (
            "005.mail",
            "gmail.com",
            SpfResult::None,
            DmarcResult::None,
            Outcome::NotPass,
        ),
        (
            "006.mail",
            "arm.com",
            SpfResult::None,
            DmarcResult::None,
            Outcome::NotPass,
        ),
        (
            "007.mail",
            "football.example.com",
            SpfResult::None,
            DmarcResult::None,
            Outcome::Pass,
        ),
    ];
    for (file, author, spf, dmarc, outcome) in expected {
        let r = check(file, &zone);
        assert_eq!(r.header_from().as_deref(), Some(author), "{file}");
        assert_eq!(r.spf.result, spf, "{file}: {:?}", r.spf);
        assert_eq!(r.dmarc.result, dmarc, "{file}: {:?}", r.dmarc.problem);
        assert_eq!(r.outcome(), outcome, "{file}");
        let (token, from) = field_dmarc(&r);
        assert_eq!(token, dmarc.as_str(), "{file}");
        assert_eq!(from.as_deref(), Some(author), "{file}");
    }
}

#[test]
fn rfc8301_blaze_001_sha1_signatures_are_policy_and_spf_carries_dmarc() {
    let r = check("001.mail", &cache_zone());
    assert!(!r.dkim.is_empty());
    assert!(
        r.dkim.iter().all(|c| c.result() == DkimResult::Policy),
        "{:?}",
        r.dkim
    );
    let env = r.envelope.as_ref().unwrap();
    assert_eq!(env.client_ip.to_string(), "192.254.112.98");
    assert_eq!(r.spf.domain(), Some("sgmail.github.com"));
    let ar = r.authentication_results().to_value();
    assert!(
        ar.contains("spf=pass smtp.mailfrom=sgmail.github.com"),
        "{ar}"
    );
    assert_eq!(ar.matches("dkim=policy").count(), r.dkim.len(), "{ar}");
}

#[test]
fn rfc8463_blaze_007_ed25519_without_envelope_or_policy() {
    // 007 was never received: no Received field, so no envelope and SPF is not checked; its
    // Ed25519 signature (RFC 8463 key) passes and aligns, so the outcome without a DMARC
    // record is pass.
    let r = check("007.mail", &cache_zone());
    assert!(r.envelope.is_none());
    assert_eq!(r.spf.result, SpfResult::None);
    assert!(
        r.spf.reason().unwrap().starts_with("no envelope"),
        "{:?}",
        r.spf
    );
    assert_eq!(r.dkim.len(), 1);
    assert_eq!(r.dkim[0].result(), DkimResult::Pass);
    assert_eq!(r.dkim[0].domain(), Some("football.example.com"));
    assert_eq!(r.dkim[0].selector(), Some("brisbane"));
}

/// The body of the `pipeline` fuzz target (feature `fuzzing` of `mailstamp`) on the repository
/// messages and garbage: its promises hold on every seed.
#[test]
fn fuzz_entry_point_on_seeds_and_garbage() {
    let signed = include_bytes!("../../../testdata/messages/signed.eml");
    let forwarded = include_bytes!("../../../testdata/messages/forwarded-by-list.eml");
    for selector in 0..5u8 {
        for message in [
            &signed[..],
            &forwarded[..],
            b"",
            b"\r\n\r\n",
            b"From: a@example.org\r\n\r\n",
            b"DKIM-Signature: v=1; d=example.org; s=default; a=rsa-sha256; b=x; bh=y; h=from\r\n",
            b"\xff\xfe\x00From:\x80@\r\n\r\n",
        ] {
            let mut data = vec![selector];
            data.extend_from_slice(message);
            let report = mailstamp::pipeline::fuzzing::check(&data);
            assert!(serde_json::to_string(&report).is_ok());
        }
    }
}
