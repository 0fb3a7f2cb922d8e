//! Entry point of the `pipeline` fuzz target (`fuzz/fuzz_targets/pipeline.rs`), also run by
//! this crate's tests: the whole pipeline over a fixed zone, without a runtime.

use super::{Authenticator, CheckOptions, EnvelopeSource, Outcome, Report};
use mailstamp_authres::{AuthenticationResults, MAX_LINE_LEN};
use mailstamp_dkim::DkimResult;
use mailstamp_dmarc::DmarcResult;
use mailstamp_dns::Zone;
use mailstamp_message::envelope::Envelope;
use mailstamp_spf::SpfResult;
use std::net::{IpAddr, Ipv4Addr};
use std::sync::OnceLock;

/// The fixed zone: the repository's `testdata/example.zone` (example.org with SPF, DMARC
/// `p=reject` and the RSA and Ed25519 test keys), so `testdata/messages/signed.eml` is a
/// passing seed.
const ZONE: &str = include_str!("../../../../testdata/example.zone");

/// The signing time of the example messages, 2026-01-15.
const NOW: u64 = 1_768_469_400;

fn authenticator() -> &'static (Authenticator, Zone) {
    static AUTH: OnceLock<(Authenticator, Zone)> = OnceLock::new();
    AUTH.get_or_init(|| {
        let zone = mailstamp_fixture::parse_zone_str(ZONE, "example.zone").unwrap_or_default();
        let auth = Authenticator::offline(
            zone.clone(),
            CheckOptions::new("mx.example.net").with_now(NOW),
        );
        (auth, zone)
    })
}

/// Checks `data` through the whole pipeline against the fixed zone. The first byte chooses
/// the envelope (none, a passing one, a null reverse-path, another client, or the message's
/// own trace fields with `--from-received`); the rest is the message.
///
/// Beyond "never panics", it asserts the pipeline's promises: the Authentication-Results
/// field is one header field (printable ASCII, line breaks only as folds, lines within 998
/// octets) that parses back with as many results as were written; an offline zone without
/// failure markers never yields `temperror`; the outcome agrees with DMARC. It returns the
/// report, which the fuzz target also serializes to JSON.
///
/// # Panics
///
/// When a promise is broken: that is a bug for the fuzzer to report.
pub fn check(data: &[u8]) -> Report {
    let (auth, zone) = authenticator();
    let (selector, message) = data.split_first().map_or((0, data), |(s, m)| (*s, m));
    let envelope = |ip: [u8; 4], helo: &str, mail_from: &str| {
        EnvelopeSource::Given(Envelope {
            client_ip: IpAddr::V4(Ipv4Addr::from(ip)),
            helo: helo.to_owned(),
            mail_from: Some(mail_from.to_owned()),
        })
    };
    let source = match selector % 5 {
        0 => EnvelopeSource::Unknown,
        1 => envelope([192, 0, 2, 25], "mail.example.org", "alice@example.org"),
        2 => envelope([192, 0, 2, 25], "mail.example.org", ""),
        3 => envelope([203, 0, 113, 9], "evil.example", "x@example.org"),
        _ => EnvelopeSource::FromReceived,
    };
    let prepared = auth.prepare_from(message, &source);
    let report = auth.complete_with(prepared, zone);

    let ar = report.authentication_results();
    let field = ar.to_field();
    let body = field
        .strip_suffix("\r\n")
        .unwrap_or_else(|| panic!("no final CRLF: {field:?}"));
    for (i, line) in body.split("\r\n").enumerate() {
        assert!(line.len() <= MAX_LINE_LEN, "line {i} too long: {field:?}");
        assert!(
            line.bytes().all(|b| (b' '..=b'~').contains(&b)),
            "line {i}: {field:?}"
        );
        assert!(
            i == 0 || line.starts_with(' '),
            "line {i} is not a fold: {field:?}"
        );
    }
    let parsed = AuthenticationResults::parse(ar.to_value())
        .unwrap_or_else(|e| panic!("written field does not parse: {e}\n{field}"));
    assert_eq!(parsed.results.len(), ar.results.len(), "{field}");

    assert_ne!(report.spf.result, SpfResult::TempError, "{field}");
    assert!(
        report
            .dkim
            .iter()
            .all(|c| c.result() != DkimResult::TempError),
        "{field}"
    );
    assert_ne!(report.dmarc.result, DmarcResult::TempError, "{field}");
    match report.outcome() {
        Outcome::Pass => assert!(
            report.dmarc.result == DmarcResult::Pass || report.dmarc.result == DmarcResult::None,
            "{field}"
        ),
        Outcome::TempError => panic!("temperror from an offline zone: {field}"),
        Outcome::NotPass => assert_ne!(report.dmarc.result, DmarcResult::Pass, "{field}"),
    }
    report
}
