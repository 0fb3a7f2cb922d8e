//! Building and validating the records to publish.

use super::*;
use crate::{AuditOptions, Severity, audit};
use mailstamp_dkim::{KeyRecord, SigningKey};
use mailstamp_dns::{Query, Zone};
use mailstamp_fixture as fixture;

const FINDINGS_ZONE: &str = include_str!("../../../../testdata/findings.example.zone");
const BROKEN_ZONE: &str = include_str!("../../../../testdata/broken.example.zone");
const EXAMPLE_ZONE: &str = include_str!("../../../../testdata/example.zone");
const RSA4096: &str =
    include_str!("../../../../testdata/keys/s4096._domainkey.example.org.rsa4096.pem");
const ED25519: &str = include_str!("../../../../testdata/keys/ed25519._domainkey.example.org.pem");

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap()
}

fn name(s: &str) -> Name {
    Name::parse(s).unwrap()
}

fn spf(plan: SpfPlan) -> Plan {
    Plan {
        spf: Some(plan),
        ..Plan::default()
    }
}

fn dmarc(plan: DmarcPlan) -> Plan {
    Plan {
        dmarc: Some(plan),
        ..Plan::default()
    }
}

fn value(plan: &Plan) -> Result<String, RecordsError> {
    build(&name("example.org"), plan).map(|r| r[0].value.clone())
}

fn codes(report: &RecordsReport) -> Vec<Code> {
    report.findings.iter().map(|f| f.code).collect()
}

fn check_with(zone_text: &str, domain: &str, plan: &Plan) -> RecordsReport {
    let z = fixture::parse_zone_str(zone_text, "test.zone").unwrap();
    let resolver = Resolver::offline(z);
    runtime()
        .block_on(check(Some(&resolver), &name(domain), plan))
        .unwrap()
}

#[test]
fn rfc7208_spf_record_from_options() {
    let plan = spf(SpfPlan {
        ip4: vec!["192.0.2.0/24".into(), "198.51.100.7".into()],
        ip6: vec!["2001:DB8::/32".into()],
        a: vec![None, Some("/28".into()), Some("relay.example.org".into())],
        mx: vec![None, Some("Example.NET".into())],
        include: vec!["_spf.example.net".into(), "_spf.example.net".into()],
        all: AllQualifier::SoftFail,
    });
    assert_eq!(
        value(&plan).unwrap(),
        "v=spf1 ip4:192.0.2.0/24 ip4:198.51.100.7 ip6:2001:db8::/32 a a/28 \
         a:relay.example.org mx mx:Example.NET include:_spf.example.net ~all"
    );
    assert_eq!(value(&spf(SpfPlan::default())).unwrap(), "v=spf1 -all");
    assert_eq!(
        value(&spf(SpfPlan {
            all: AllQualifier::Neutral,
            ..SpfPlan::default()
        }))
        .unwrap(),
        "v=spf1 ?all"
    );
}

#[test]
fn rfc7208_5_1_pass_is_refused_with_a_reason() {
    for s in ["pass", "+all", "+", "PASS"] {
        let err = s.parse::<AllQualifier>().unwrap_err();
        assert_eq!(err, AllQualifierError::Pass);
        assert!(err.to_string().contains("RFC 7208 §5.1"));
    }
    assert_eq!(
        "softfail".parse::<AllQualifier>(),
        Ok(AllQualifier::SoftFail)
    );
    assert_eq!("Fail".parse::<AllQualifier>(), Ok(AllQualifier::Fail));
    assert_eq!("neutral".parse::<AllQualifier>(), Ok(AllQualifier::Neutral));
    assert!(matches!(
        "maybe".parse::<AllQualifier>(),
        Err(AllQualifierError::Unknown(_))
    ));
}

#[test]
fn rfc7208_5_invalid_spf_values_name_the_option() {
    let cases: [(SpfPlan, &str); 7] = [
        (
            SpfPlan {
                ip4: vec!["192.0.2.300".into()],
                ..SpfPlan::default()
            },
            "ip4",
        ),
        (
            SpfPlan {
                ip4: vec!["2001:db8::1".into()],
                ..SpfPlan::default()
            },
            "ip4",
        ),
        (
            SpfPlan {
                ip6: vec!["2001:db8::/129".into()],
                ..SpfPlan::default()
            },
            "ip6",
        ),
        // One value must not smuggle in more terms.
        (
            SpfPlan {
                ip4: vec!["192.0.2.1 +all".into()],
                ..SpfPlan::default()
            },
            "ip4",
        ),
        (
            SpfPlan {
                include: vec!["x.example redirect=y.example".into()],
                ..SpfPlan::default()
            },
            "include",
        ),
        (
            SpfPlan {
                include: vec!["%{z}.example".into()],
                ..SpfPlan::default()
            },
            "include",
        ),
        (
            SpfPlan {
                mx: vec![Some("/99".into())],
                ..SpfPlan::default()
            },
            "mx",
        ),
    ];
    for (plan, option) in cases {
        match value(&spf(plan)) {
            Err(RecordsError::InvalidSpfTerm { option: o, .. }) => assert_eq!(o, option),
            other => panic!("{option}: {other:?}"),
        }
    }
}

#[test]
fn rfc9989_4_7_dmarc_record_from_options() {
    let plan = DmarcPlan {
        policy: Policy::Reject,
        subdomain_policy: Some(Policy::Quarantine),
        nonexistent_policy: Some(Policy::Reject),
        dkim_alignment: Some(Alignment::Strict),
        spf_alignment: Some(Alignment::Relaxed),
        rua: vec![
            "dmarc@example.org".into(),
            "mailto:dmarc@example.org".into(),
        ],
        ruf: vec!["mailto:forensic@example.org".into()],
        testing: true,
    };
    let text = value(&dmarc(plan)).unwrap();
    assert_eq!(
        text,
        "v=DMARC1; p=reject; sp=quarantine; np=reject; adkim=s; aspf=r; \
         rua=mailto:dmarc@example.org; ruf=mailto:forensic@example.org; t=y"
    );
    let r = DmarcRecord::parse(text.as_bytes()).unwrap();
    assert!(r.notes().is_empty() && r.testing);
    let records = build(&name("example.org"), &dmarc(DmarcPlan::new(Policy::None))).unwrap();
    assert_eq!(records[0].name.as_str(), "_dmarc.example.org");
    assert_eq!(records[0].value, "v=DMARC1; p=none");
}

#[test]
fn rfc9989_4_8_invalid_report_destinations() {
    for (bad, why) in [
        ("", "empty"),
        ("a@example.org; p=none", "one URI"),
        ("a@example.org,b@example.org", "one URI"),
        ("a @example.org", "one URI"),
        ("mailto:a@example.org!10m", "!size"),
        ("nonsense", "not a URI"),
        ("mailto:nobody", "valid domain"),
    ] {
        let mut plan = DmarcPlan::new(Policy::Reject);
        plan.rua = vec![bad.to_owned()];
        match value(&dmarc(plan)) {
            Err(e @ RecordsError::InvalidReportUri { .. }) => {
                assert!(e.to_string().contains(why), "{bad:?}: {e}");
            }
            other => panic!("{bad:?}: {other:?}"),
        }
    }
    let mut plan = DmarcPlan::new(Policy::Reject);
    plan.rua = vec!["https://reports.example.org/dmarc".into()];
    assert!(
        value(&dmarc(plan))
            .unwrap()
            .ends_with("rua=https://reports.example.org/dmarc")
    );
}

#[test]
fn rfc1035_3_3_14_a_4096_bit_key_is_split_into_255_byte_strings() {
    let key = SigningKey::from_pem(RSA4096).unwrap();
    assert_eq!(key.bits(), 4096);
    let plan = Plan {
        dkim: vec![DkimPlan {
            selector: "s4096".into(),
            key: key.public_key().clone(),
        }],
        ..Plan::default()
    };
    let records = build(&name("example.org"), &plan).unwrap();
    let r = &records[0];
    assert_eq!(r.name.as_str(), "s4096._domainkey.example.org");
    assert_eq!((r.key_type, r.bits), (Some(KeyType::Rsa), Some(4096)));
    assert!(r.value.len() > 2 * 255);
    let strings = r.strings();
    assert_eq!(strings.len(), 3);
    assert!(strings.iter().all(|s| s.len() <= 255));
    assert_eq!(strings.concat(), r.value);
    // The same master-file form as keygen's record text.
    let text = KeyRecordText::new(key.public_key());
    assert_eq!(r.zone_rdata(), text.zone_rdata());
    assert_eq!(
        r.zone_line(),
        format!(
            "s4096._domainkey.example.org. 3600 IN TXT {}",
            text.zone_rdata()
        )
    );
    // The zone line loads back to the same value, and the key record parses to the key.
    let z = fixture::parse_zone_str(&r.zone_line(), "out.zone").unwrap();
    let answer = z.answer(&Query::txt(r.name.clone()));
    let joined = answer.txts().next().unwrap().joined();
    assert_eq!(joined, r.value.as_bytes());
    let parsed = KeyRecord::parse(&joined).unwrap();
    assert_eq!(parsed.public_key.as_ref(), Some(key.public_key()));
    let json = serde_json::to_value(r).unwrap();
    assert_eq!(json["strings"].as_array().unwrap().len(), 3);
    assert_eq!(json["type"], "TXT");
    assert_eq!(json["bits"], 4096);
}

#[test]
fn dkim_selectors_are_validated() {
    let key = SigningKey::from_pem(ED25519).unwrap();
    let one = |selector: &str| DkimPlan {
        selector: selector.into(),
        key: key.public_key().clone(),
    };
    for bad in ["", "a b", "x..y"] {
        let plan = Plan {
            dkim: vec![one(bad)],
            ..Plan::default()
        };
        assert!(
            matches!(
                build(&name("example.org"), &plan),
                Err(RecordsError::InvalidSelector { .. })
            ),
            "{bad:?}"
        );
    }
    let plan = Plan {
        dkim: vec![one("s1"), one("S1")],
        ..Plan::default()
    };
    assert!(matches!(
        build(&name("example.org"), &plan),
        Err(RecordsError::InvalidSelector { .. })
    ));
    assert_eq!(
        build(&name("example.org"), &Plan::default()),
        Err(RecordsError::Empty)
    );
}

#[test]
fn offline_checks_without_dns() {
    let ranges: Vec<String> = (0..40).map(|i| format!("198.51.{i}.0/24")).collect();
    let hosts: Vec<Option<String>> = (0..11).map(|i| Some(format!("h{i}.example.org"))).collect();
    let plan = Plan {
        spf: Some(SpfPlan {
            ip4: ranges,
            a: hosts,
            ..SpfPlan::default()
        }),
        dmarc: Some(DmarcPlan::new(Policy::None)),
        dkim: Vec::new(),
    };
    let report = runtime()
        .block_on(check(None, &name("example.org"), &plan))
        .unwrap();
    assert!(!report.dns_checked && report.spf.is_none());
    assert_eq!(
        codes(&report),
        [
            Code::SpfTooManyLookups,
            Code::SpfRecordTooLong,
            Code::DmarcNoneWithoutRua
        ]
    );
}

#[test]
fn rfc7208_warnings_follow_the_published_includes() {
    // +all and ptr in included records, more than 10 lookups, more than 2 void lookups, an
    // include without record: each found by evaluating the new record against the DNS.
    let cases: [(&str, Code); 6] = [
        ("mailer.example.net", Code::SpfPlusAll),
        ("broken.example", Code::SpfPtr),
        ("_spf.broken.example", Code::SpfTooManyVoidLookups),
        ("broken.example", Code::SpfTooManyLookups),
        ("gone.broken.example", Code::SpfIncludeNoRecord),
        ("broken.example", Code::SpfRecordTooLong),
    ];
    for (include, code) in cases {
        let plan = spf(SpfPlan {
            include: vec![include.into()],
            ..SpfPlan::default()
        });
        let report = check_with(BROKEN_ZONE, "new.example", &plan);
        assert!(report.dns_checked);
        assert!(
            codes(&report).contains(&code),
            "include:{include}: {:?}",
            codes(&report)
        );
        assert!(report.spf.as_ref().is_some_and(|s| !s.trace.is_empty()));
    }
    // A clean record: nothing to say, and the counts are the worst case.
    let plan = spf(SpfPlan {
        mx: vec![None],
        include: vec!["_spf.example.net".into()],
        ..SpfPlan::default()
    });
    let report = check_with(EXAMPLE_ZONE, "example.org", &plan);
    assert!(report.findings.is_empty(), "{:?}", report.findings);
    let s = report.spf.unwrap();
    assert!(s.complete);
    assert_eq!((s.lookups, s.void_lookups), (2, 0));
}

#[test]
fn rfc9990_4_report_destinations_must_authorise_the_domain() {
    let mut plan = DmarcPlan::new(Policy::Reject);
    plan.rua = vec!["a@reports.example".into()];
    plan.ruf = vec!["f@reports.example".into()];
    // reports.example authorises okrep.findings.example (for both kinds of report) only.
    let report = check_with(
        FINDINGS_ZONE,
        "okrep.findings.example",
        &dmarc(plan.clone()),
    );
    assert_eq!(codes(&report), []);
    let report = check_with(FINDINGS_ZONE, "other.findings.example", &dmarc(plan));
    assert_eq!(
        codes(&report),
        [Code::DmarcRuaNotAuthorized, Code::DmarcRufNotAuthorized]
    );
    // An address in the domain itself needs no authorisation.
    let mut plan = DmarcPlan::new(Policy::None);
    plan.rua = vec!["d@findings.example".into()];
    let report = check_with(FINDINGS_ZONE, "findings.example", &dmarc(plan));
    assert_eq!(codes(&report), [Code::DmarcPolicyNone]);
    let report = check_with(
        FINDINGS_ZONE,
        "findings.example",
        &dmarc(DmarcPlan::new(Policy::None)),
    );
    assert_eq!(codes(&report), [Code::DmarcNoneWithoutRua]);
}

#[test]
fn dns_failures_during_validation_are_reported() {
    let plan = spf(SpfPlan {
        include: vec!["down.broken.example".into()],
        ..SpfPlan::default()
    });
    let report = check_with(BROKEN_ZONE, "new.example", &plan);
    assert_eq!(codes(&report), [Code::SpfDnsFailure]);
    assert_eq!(report.dns_failures[0].query, "down.broken.example TXT");
    // Every lookup failing: still a report, never a panic.
    let z = Zone::new();
    let mut failing = z.clone();
    failing.fail(&name("new.example"), mailstamp_dns::FailureKind::Timeout);
    failing.fail(
        &name("_dmarc.new.example"),
        mailstamp_dns::FailureKind::Timeout,
    );
    let resolver = Resolver::offline(failing);
    let plan = Plan {
        spf: Some(SpfPlan {
            mx: vec![None],
            ..SpfPlan::default()
        }),
        dmarc: Some(DmarcPlan::new(Policy::Reject)),
        dkim: Vec::new(),
    };
    let report = runtime()
        .block_on(check(Some(&resolver), &name("new.example"), &plan))
        .unwrap();
    assert!(!report.dns_failures.is_empty());
    assert_eq!(report.records.len(), 2);
}

#[test]
fn published_records_pass_an_audit() {
    // What `records` prints, loaded as a zone, audits without an error or a warning.
    let key = SigningKey::from_pem(RSA4096).unwrap();
    let ed = SigningKey::from_pem(ED25519).unwrap();
    let mut dmarc_plan = DmarcPlan::new(Policy::Reject);
    dmarc_plan.rua = vec!["dmarc@example.org".into()];
    let plan = Plan {
        spf: Some(SpfPlan {
            mx: vec![None],
            include: vec!["_spf.example.net".into()],
            ..SpfPlan::default()
        }),
        dmarc: Some(dmarc_plan),
        dkim: vec![
            DkimPlan {
                selector: "s4096".into(),
                key: key.public_key().clone(),
            },
            DkimPlan {
                selector: "ed".into(),
                key: ed.public_key().clone(),
            },
        ],
    };
    let records = build(&name("example.org"), &plan).unwrap();
    let mut text = String::new();
    for r in &records {
        text.push_str(&r.zone_line());
        text.push('\n');
    }
    text.push_str(
        "$ORIGIN example.org.\n@ IN MX 10 mail\nmail IN A 192.0.2.25\n\
         $ORIGIN example.net.\n_spf IN TXT \"v=spf1 ip4:198.51.100.0/24 -all\"\n",
    );
    let z: Zone = fixture::parse_zone_str(&text, "published.zone").unwrap();
    let options = AuditOptions {
        selectors: vec!["s4096".into(), "ed".into()],
        probe_common_selectors: false,
    };
    let report = runtime()
        .block_on(audit(&Resolver::offline(z), &name("example.org"), &options))
        .unwrap();
    assert_eq!(
        report.worst(),
        Some(Severity::Info),
        "{:?}",
        report.findings
    );
    let bits: Vec<Option<usize>> = report.dkim.selectors.iter().map(|s| s.check.bits).collect();
    assert_eq!(bits, [Some(4096), Some(256)]);
}
