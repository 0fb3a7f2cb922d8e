//! RFC 9989 behaviour of discovery, alignment and policy, driven by in-memory zones.

use mailstamp_dmarc::{
    Alignment, DestinationStatus, Discovery, DiscoveryMethod, Disposition, DmarcProblem,
    DmarcResult, DmarcVerdict, EvaluationOptions, EvaluationRequest, Finding, Identifiers,
    MAX_WALK_QUERIES, MechanismResult, MultipleAuthors, NoRecord, NotAlignedReason, NoteKind,
    Policy, PolicyDiscovery, PolicySource, PolicyTag, PublicSuffixList, Stage, WalkEnd,
    authorize_reports, discover, evaluate, evaluate_with,
};
use mailstamp_dns::{
    Answer, FailureKind, Lookup, Name, Query, RData, RecordType, Source, Step, Zone, resolve_sync,
};
use std::cell::RefCell;
use std::net::Ipv4Addr;
use std::sync::Arc;

fn n(s: &str) -> Name {
    Name::parse(s).unwrap()
}

fn zone(records: &[(&str, &str)]) -> Zone {
    let mut z = Zone::new();
    for (name, txt) in records {
        z.add_txt(&n(name), [*txt]);
    }
    z
}

/// A source that remembers every query.
struct Counting<'a> {
    zone: &'a Zone,
    asked: RefCell<Vec<Query>>,
}

impl<'a> Counting<'a> {
    fn new(zone: &'a Zone) -> Self {
        Counting {
            zone,
            asked: RefCell::new(Vec::new()),
        }
    }
    fn names(&self) -> Vec<String> {
        self.asked
            .borrow()
            .iter()
            .map(|q| q.name.as_str().to_owned())
            .collect()
    }
}

impl Source for Counting<'_> {
    fn answer(&self, query: &Query) -> Answer {
        self.asked.borrow_mut().push(query.clone());
        self.zone.answer(query)
    }
}

fn pass(d: &str) -> (MechanismResult, Name) {
    (MechanismResult::Pass, n(d))
}

fn request(
    author: &str,
    spf: Option<(MechanismResult, Name)>,
    dkim: &[(MechanismResult, Name)],
) -> EvaluationRequest {
    let mut ids = Identifiers::new();
    if let Some((r, d)) = spf {
        ids = ids.with_spf(r, d);
    }
    for (r, d) in dkim {
        ids = ids.with_dkim(*r, d.clone());
    }
    EvaluationRequest {
        author_domains: vec![n(author)],
        identifiers: ids,
        ..EvaluationRequest::default()
    }
}

fn eval(z: &Zone, req: EvaluationRequest) -> DmarcVerdict {
    resolve_sync(evaluate(req), z)
}

fn discover_in(z: &Zone, author: &str) -> PolicyDiscovery {
    resolve_sync(discover(n(author), Discovery::TreeWalk), z)
}

// ---------------------------------------------------------------------------------------------
// §4.10 DNS Tree Walk

#[test]
fn rfc9989_4_10_deep_name_walk_skips_to_seven_labels() {
    let z = zone(&[("_dmarc.example.com", "v=DMARC1; p=reject; sp=quarantine")]);
    let src = Counting::new(&z);
    let found = resolve_sync(
        discover(n("a.b.c.d.e.f.g.h.example.com"), Discovery::TreeWalk),
        &src,
    );
    assert_eq!(
        src.names(),
        vec![
            "_dmarc.a.b.c.d.e.f.g.h.example.com",
            "_dmarc.d.e.f.g.h.example.com",
            "_dmarc.e.f.g.h.example.com",
            "_dmarc.f.g.h.example.com",
            "_dmarc.g.h.example.com",
            "_dmarc.h.example.com",
            "_dmarc.example.com",
            "_dmarc.com",
        ]
    );
    assert_eq!(src.names().len(), MAX_WALK_QUERIES);
    assert_eq!(found.trace.len(), 8);
    assert_eq!(found.organizational_domain, Some(n("example.com")));
    let policy = found.policy.as_ref().unwrap();
    assert_eq!(policy.domain, n("example.com"));
    assert_eq!(policy.source, PolicySource::OrganizationalDomain);
    assert_eq!(found.method, DiscoveryMethod::TreeWalk);
    assert_eq!(found.walk.end, WalkEnd::Exhausted);

    // Evaluated: sp applies to the (existing) subdomain.
    let mut z = z;
    z.add(
        &n("a.b.c.d.e.f.g.h.example.com"),
        RData::A(Ipv4Addr::LOCALHOST),
    );
    let v = eval(
        &z,
        request(
            "a.b.c.d.e.f.g.h.example.com",
            Some(pass("example.net")),
            &[],
        ),
    );
    assert_eq!(v.result, DmarcResult::Fail);
    assert_eq!(v.policy_tag, Some(PolicyTag::Sp));
    assert_eq!(v.disposition, Disposition::Quarantine);
}

#[test]
fn rfc9989_5_1_8_record_at_a_skipped_name_is_never_found() {
    // The example of §5.1.8: the zone-cut record at b.c.d.e.f.g.example.com is skipped.
    let z = zone(&[
        ("_dmarc.example.com", "v=DMARC1; p=none"),
        (
            "_dmarc.b.c.d.e.f.g.example.com",
            "v=DMARC1; p=reject; psd=n",
        ),
    ]);
    let src = Counting::new(&z);
    let found = resolve_sync(
        discover(n("mail.a.b.c.d.e.f.g.example.com"), Discovery::TreeWalk),
        &src,
    );
    assert!(
        !src.names()
            .contains(&"_dmarc.b.c.d.e.f.g.example.com".to_owned())
    );
    assert_eq!(src.names()[1], "_dmarc.c.d.e.f.g.example.com");
    assert_eq!(found.policy.unwrap().domain, n("example.com"));
}

#[test]
fn rfc9989_4_10_walk_of_127_labels_sends_eight_queries() {
    // 122 labels, 245 octets: `_dmarc.` still fits.
    let deep = format!("{}.com", vec!["x"; 121].join("."));
    let z = Zone::new();
    let src = Counting::new(&z);
    let found = resolve_sync(discover(n(&deep), Discovery::TreeWalk), &src);
    assert_eq!(src.asked.borrow().len(), MAX_WALK_QUERIES);
    assert!(found.policy.is_none());
    assert_eq!(found.organizational_domain, Some(n(&deep)));
}

#[test]
fn rfc9989_4_10_psd_y_on_the_way_stops_the_walk() {
    // Appendix B.4.3.
    let z = zone(&[
        ("_dmarc.bank.example", "v=DMARC1; p=reject; psd=y"),
        ("_dmarc.giant.bank.example", "v=DMARC1; p=quarantine"),
    ]);
    let src = Counting::new(&z);
    let found = resolve_sync(
        discover(n("mail.giant.bank.example"), Discovery::TreeWalk),
        &src,
    );
    assert_eq!(
        src.names(),
        vec![
            "_dmarc.mail.giant.bank.example",
            "_dmarc.giant.bank.example",
            "_dmarc.bank.example"
        ]
    );
    assert_eq!(
        found.walk.end,
        WalkEnd::PsdTag {
            domain: n("bank.example")
        }
    );
    assert_eq!(found.organizational_domain, Some(n("giant.bank.example")));
    assert_eq!(
        found.policy.unwrap().source,
        PolicySource::OrganizationalDomain
    );

    // SPF mail.giant.bank.example aligns; DKIM mail.mega.bank.example does not.
    let v = eval(
        &z,
        request(
            "giant.bank.example",
            Some(pass("mail.giant.bank.example")),
            &[pass("mail.mega.bank.example")],
        ),
    );
    assert_eq!(v.result, DmarcResult::Pass);
    assert_eq!(v.alignment[0].aligned, Some(true));
    assert_eq!(v.alignment[1].aligned, Some(false));
    assert_eq!(
        v.alignment[1].organizational_domain, None,
        "not under giant.bank.example: no walk needed"
    );
    assert_eq!(
        v.alignment[1].why_not,
        Some(NotAlignedReason::DifferentOrganizationalDomain)
    );
}

#[test]
fn rfc9989_4_10_1_psd_policy_applies_without_organizational_record() {
    let z = zone(&[(
        "_dmarc.bank.example",
        "v=DMARC1; p=none; sp=quarantine; np=reject; psd=y",
    )]);
    let found = discover_in(&z, "www.giant.bank.example");
    let policy = found.policy.as_ref().unwrap();
    assert_eq!(policy.source, PolicySource::PublicSuffixDomain);
    assert_eq!(policy.domain, n("bank.example"));
    assert_eq!(found.organizational_domain, Some(n("giant.bank.example")));

    // giant.bank.example does not exist: np.
    let v = eval(&z, request("giant.bank.example", None, &[]));
    assert_eq!(v.result, DmarcResult::Fail);
    assert_eq!(v.author_domain_exists, Some(false));
    assert_eq!(v.policy_tag, Some(PolicyTag::Np));
    assert_eq!(v.disposition, Disposition::Reject);
}

#[test]
fn rfc9989_4_10_psd_n_on_the_way_makes_an_organizational_domain() {
    let z = zone(&[
        ("_dmarc.example.com", "v=DMARC1; p=reject"),
        ("_dmarc.dept.example.com", "v=DMARC1; p=none; psd=n"),
    ]);
    let src = Counting::new(&z);
    let found = resolve_sync(discover(n("a.dept.example.com"), Discovery::TreeWalk), &src);
    assert_eq!(
        src.names(),
        vec!["_dmarc.a.dept.example.com", "_dmarc.dept.example.com"],
        "psd=n stops the walk"
    );
    assert_eq!(found.organizational_domain, Some(n("dept.example.com")));
    assert_eq!(found.policy.as_ref().unwrap().domain, n("dept.example.com"));

    // example.com is now a different Organizational Domain: relaxed alignment fails.
    let v = eval(
        &z,
        request("a.dept.example.com", Some(pass("example.com")), &[]),
    );
    assert_eq!(v.result, DmarcResult::Fail);
    assert_eq!(
        v.disposition,
        Disposition::None,
        "dept.example.com says p=none"
    );
    // ... and a sibling below dept.example.com aligns after its own walk.
    let v = eval(
        &z,
        request("a.dept.example.com", Some(pass("b.dept.example.com")), &[]),
    );
    assert_eq!(v.result, DmarcResult::Pass);
    assert_eq!(v.walks().len(), 1);
    assert_eq!(
        v.alignment[0].organizational_domain,
        Some(n("dept.example.com"))
    );
}

#[test]
fn rfc9989_4_10_2_fewest_labels_is_the_organizational_domain() {
    // Appendix B.4.1.
    let z = zone(&[
        ("_dmarc.example.com", "v=DMARC1; p=reject"),
        ("_dmarc.signing.example.com", "v=DMARC1; p=none"),
    ]);
    let v = eval(
        &z,
        request(
            "example.com",
            Some(pass("example.com")),
            &[pass("signing.example.com")],
        ),
    );
    assert_eq!(v.result, DmarcResult::Pass);
    assert!(v.alignment.iter().all(|a| a.aligned == Some(true)));
    assert_eq!(v.alignment[1].organizational_domain, Some(n("example.com")));
    // The DKIM walk reused _dmarc.example.com and _dmarc.com from discovery.
    assert_eq!(
        v.trace()
            .iter()
            .map(|t| t.query.name.as_str())
            .collect::<Vec<_>>(),
        vec!["_dmarc.signing.example.com"]
    );
}

#[test]
fn rfc9989_b_4_2_deep_author_relaxed_alignment() {
    let z = zone(&[
        ("_dmarc.example.com", "v=DMARC1; p=reject"),
        ("_dmarc.signing.example.com", "v=DMARC1; p=none"),
    ]);
    let v = eval(
        &z,
        request(
            "a.b.c.d.e.f.g.h.i.j.k.example.com",
            Some(pass("example.com")),
            &[pass("signing.example.com")],
        ),
    );
    assert_eq!(v.result, DmarcResult::Pass);
    assert_eq!(v.organizational_domain(), Some(&n("example.com")));
    assert_eq!(v.policy_domain(), Some(&n("example.com")));
    let d = v.discovery.as_ref().unwrap();
    assert_eq!(d.trace[1].query.name, n("_dmarc.g.h.i.j.k.example.com"));
}

#[test]
fn rfc9989_4_10_1_author_record_wins_over_organizational_record() {
    let z = zone(&[
        ("_dmarc.example.com", "v=DMARC1; p=none"),
        ("_dmarc.mail.example.com", "v=DMARC1; p=reject; sp=none"),
    ]);
    let v = eval(&z, request("mail.example.com", None, &[]));
    assert_eq!(v.policy_domain(), Some(&n("mail.example.com")));
    assert_eq!(v.policy_tag, Some(PolicyTag::P));
    assert_eq!(v.disposition, Disposition::Reject);
    assert_eq!(v.problem, Some(DmarcProblem::NoAuthenticatedIdentifier));
}

#[test]
fn rfc9989_4_10_1_no_record_anywhere_is_none() {
    let v = eval(
        &Zone::new(),
        request("example.com", Some(pass("example.com")), &[]),
    );
    assert_eq!(v.result, DmarcResult::None);
    assert_eq!(v.problem, Some(DmarcProblem::NoPolicy));
    assert_eq!(v.disposition, Disposition::None);
    assert_eq!(v.organizational_domain(), Some(&n("example.com")));
}

#[test]
fn rfc9989_4_10_2_author_record_with_strict_alignment_stops_the_walk() {
    let z = zone(&[("_dmarc.example.com", "v=DMARC1; p=reject; aspf=s; adkim=s")]);
    let src = Counting::new(&z);
    let v = resolve_sync(
        evaluate(request("example.com", Some(pass("mail.example.com")), &[])),
        &src,
    );
    assert_eq!(
        src.names(),
        vec!["_dmarc.example.com"],
        "no need to walk on"
    );
    assert_eq!(v.result, DmarcResult::Fail);
    assert_eq!(v.organizational_domain(), None);
    assert_eq!(
        v.alignment[0].why_not,
        Some(NotAlignedReason::StrictMismatch)
    );
    // With identical identifiers, the common domain is the Organizational Domain.
    let v = eval(&z, request("example.com", Some(pass("example.com")), &[]));
    assert_eq!(v.result, DmarcResult::Pass);
    assert_eq!(v.organizational_domain(), Some(&n("example.com")));
    // complete_walk asks everything.
    let src = Counting::new(&z);
    let mut req = request("example.com", Some(pass("example.com")), &[]);
    req.options.complete_walk = true;
    let v = resolve_sync(evaluate(req), &src);
    assert_eq!(src.names(), vec!["_dmarc.example.com", "_dmarc.com"]);
    assert_eq!(v.organizational_domain(), Some(&n("example.com")));
}

// ---------------------------------------------------------------------------------------------
// np, t, tags

#[test]
fn rfc9989_4_7_np_existing_subdomain_uses_sp() {
    let mut z = zone(&[(
        "_dmarc.example.com",
        "v=DMARC1; p=reject; sp=quarantine; np=reject",
    )]);
    z.add(&n("www.example.com"), RData::A(Ipv4Addr::new(192, 0, 2, 1)));
    let v = eval(&z, request("www.example.com", None, &[]));
    assert_eq!(v.result, DmarcResult::Fail);
    assert_eq!(v.author_domain_exists, Some(true));
    assert_eq!(v.policy_tag, Some(PolicyTag::Sp));
    assert_eq!(v.disposition, Disposition::Quarantine);
    let existence = v.trace().last().unwrap();
    assert_eq!(existence.stage, Stage::AuthorDomainExistence);
    assert_eq!(
        existence.query,
        Query::new(n("www.example.com"), RecordType::A)
    );
}

#[test]
fn rfc9989_4_7_np_existing_name_without_address_uses_sp() {
    // Any record makes the name exist (Appendix A.4): a TXT-only name answers NODATA for A.
    let mut z = zone(&[(
        "_dmarc.example.com",
        "v=DMARC1; p=reject; sp=quarantine; np=reject",
    )]);
    z.add_txt(&n("txt.example.com"), ["hello"]);
    let v = eval(&z, request("txt.example.com", None, &[]));
    assert_eq!(v.author_domain_exists, Some(true));
    assert_eq!(v.disposition, Disposition::Quarantine);
}

#[test]
fn rfc9989_4_7_np_nonexistent_subdomain_uses_np() {
    let z = zone(&[(
        "_dmarc.example.com",
        "v=DMARC1; p=none; sp=quarantine; np=reject",
    )]);
    let v = eval(&z, request("ghost.example.com", None, &[]));
    assert_eq!(v.result, DmarcResult::Fail);
    assert_eq!(v.author_domain_exists, Some(false));
    assert_eq!(v.policy_tag, Some(PolicyTag::Np));
    assert_eq!(v.requested_policy, Some(Policy::Reject));
    assert_eq!(v.disposition, Disposition::Reject);
}

#[test]
fn rfc9989_4_7_np_absent_no_existence_query() {
    let z = zone(&[("_dmarc.example.com", "v=DMARC1; p=none; sp=reject")]);
    let src = Counting::new(&z);
    let v = resolve_sync(evaluate(request("ghost.example.com", None, &[])), &src);
    assert_eq!(v.policy_tag, Some(PolicyTag::Sp));
    assert_eq!(v.author_domain_exists, None);
    assert!(
        src.asked
            .borrow()
            .iter()
            .all(|q| q.rtype == RecordType::Txt)
    );
    assert_eq!(v.disposition, Disposition::Reject);
}

#[test]
fn rfc9989_5_3_6_existence_test_failure_is_temperror() {
    let mut z = zone(&[("_dmarc.example.com", "v=DMARC1; p=none; np=reject")]);
    z.fail_type(
        &n("ghost.example.com"),
        RecordType::A,
        FailureKind::ServFail,
    );
    let v = eval(&z, request("ghost.example.com", None, &[]));
    assert_eq!(v.result, DmarcResult::TempError);
    assert!(matches!(
        v.problem,
        Some(DmarcProblem::DnsFailure {
            stage: Stage::AuthorDomainExistence,
            ..
        })
    ));
    assert_eq!(v.disposition, Disposition::None);
}

#[test]
fn rfc9989_4_7_np_does_not_apply_to_the_domain_itself() {
    let z = zone(&[("_dmarc.example.com", "v=DMARC1; p=quarantine; np=reject")]);
    let v = eval(&z, request("example.com", None, &[]));
    assert_eq!(v.policy_tag, Some(PolicyTag::P));
    assert_eq!(v.disposition, Disposition::Quarantine);
}

#[test]
fn rfc9989_4_7_t_y_lowers_the_policy_one_level() {
    for (p, want) in [
        ("reject", Disposition::Quarantine),
        ("quarantine", Disposition::None),
        ("none", Disposition::None),
    ] {
        let rec = format!("v=DMARC1; p={p}; t=y");
        let z = zone(&[("_dmarc.example.com", &rec)]);
        let v = eval(&z, request("example.com", None, &[]));
        assert_eq!(v.result, DmarcResult::Fail);
        assert!(v.testing);
        assert_eq!(v.requested_policy, Some(p.parse().unwrap()));
        assert_eq!(v.disposition, want, "p={p}; t=y");
    }
    let z = zone(&[("_dmarc.example.com", "v=DMARC1; p=reject; t=n")]);
    assert_eq!(
        eval(&z, request("example.com", None, &[])).disposition,
        Disposition::Reject
    );
}

#[test]
fn rfc9989_c_5_2_removed_tags_are_ignored() {
    // pct=0 no longer means anything: the policy applies in full.
    let z = zone(&[(
        "_dmarc.example.com",
        "v=DMARC1; p=reject; pct=0; rf=afrf; ri=86400",
    )]);
    let v = eval(&z, request("example.com", None, &[]));
    assert_eq!(v.disposition, Disposition::Reject);
    let notes = v.record().unwrap().notes();
    let removed: Vec<&str> = notes
        .iter()
        .filter(|n| n.kind == NoteKind::RemovedTag)
        .map(|n| n.tag.as_str())
        .collect();
    assert_eq!(removed, vec!["pct", "rf", "ri"]);
}

#[test]
fn rfc9989_4_7_unknown_tags_are_ignored() {
    let z = zone(&[(
        "_dmarc.example.com",
        "v=DMARC1; x=1; p=quarantine; future=y",
    )]);
    let v = eval(&z, request("example.com", None, &[]));
    assert_eq!(v.disposition, Disposition::Quarantine);
    let record = v.record().unwrap();
    assert_eq!(record.notes().len(), 2);
    assert!(
        record
            .notes()
            .iter()
            .all(|n| n.kind == NoteKind::UnknownTag)
    );
    assert_eq!(record.notes()[0].offset, 10);
}

#[test]
fn rfc9989_4_10_duplicate_records_are_discarded() {
    let mut z = zone(&[("_dmarc.example.com", "v=DMARC1; p=quarantine")]);
    z.add_txt(&n("_dmarc.mail.example.com"), ["v=DMARC1; p=reject"]);
    z.add_txt(&n("_dmarc.mail.example.com"), ["v=DMARC1; p=none"]);
    let v = eval(&z, request("mail.example.com", None, &[]));
    let d = v.discovery.as_ref().unwrap();
    assert_eq!(
        d.walk.steps[0].finding,
        Finding::None {
            why: NoRecord::MultipleRecords { count: 2 }
        }
    );
    assert_eq!(v.policy_domain(), Some(&n("example.com")));
    assert_eq!(v.disposition, Disposition::Quarantine);

    // Duplicates everywhere: no policy at all.
    let mut z = Zone::new();
    z.add_txt(&n("_dmarc.example.com"), ["v=DMARC1; p=reject"]);
    z.add_txt(&n("_dmarc.example.com"), ["v=DMARC1; p=reject; adkim=s"]);
    let v = eval(&z, request("example.com", None, &[]));
    assert_eq!(v.result, DmarcResult::None);
    assert_eq!(v.problem, Some(DmarcProblem::NoPolicy));
}

#[test]
fn rfc9989_4_10_non_dmarc_txt_records_are_discarded() {
    let mut z = zone(&[("_dmarc.example.com", "v=spf1 -all")]);
    z.add_txt(&n("_dmarc.example.com"), ["v=DMARC1; p=reject"]);
    z.add_txt(&n("_dmarc.example.com"), ["google-site-verification=xyz"]);
    let v = eval(&z, request("example.com", None, &[]));
    assert_eq!(v.disposition, Disposition::Reject);
}

#[test]
fn rfc9989_4_10_1_missing_p_with_rua_acts_as_p_none() {
    let z = zone(&[("_dmarc.example.com", "v=DMARC1; rua=mailto:d@example.com")]);
    let v = eval(&z, request("example.com", None, &[]));
    assert_eq!(v.result, DmarcResult::Fail);
    assert_eq!(v.requested_policy, Some(Policy::None));
    assert_eq!(v.disposition, Disposition::None);
}

#[test]
fn rfc9989_4_10_1_missing_p_without_rua_is_no_dmarc_processing() {
    for rec in ["v=DMARC1", "v=DMARC1; p=bogus", "v=DMARC1; p=reject; sp=x"] {
        let z = zone(&[("_dmarc.example.com", rec)]);
        let v = eval(&z, request("example.com", Some(pass("example.com")), &[]));
        assert_eq!(v.result, DmarcResult::PermError, "{rec}");
        assert!(
            matches!(
                &v.problem,
                Some(DmarcProblem::InvalidPolicyRecord { domain, .. }) if *domain == n("example.com")
            ),
            "{rec}: {:?}",
            v.problem
        );
        assert_eq!(v.disposition, Disposition::None);
        assert!(v.alignment.is_empty());
    }
}

#[test]
fn issue_17_11_invalid_sp_np_named_in_the_verdict() {
    for (rec, named) in [
        ("v=DMARC1; p=reject; sp=whatever", "sp=whatever"),
        ("v=DMARC1; p=reject; np=bogus", "np=bogus"),
        ("v=DMARC1; p=bogus", "p=bogus"),
        ("v=DMARC1", "no p="),
    ] {
        let z = zone(&[("_dmarc.example.com", rec)]);
        let v = eval(&z, request("example.com", Some(pass("example.com")), &[]));
        assert_eq!(v.result, DmarcResult::PermError, "{rec}");
        let message = v.problem.as_ref().unwrap().to_string();
        assert!(message.contains(named), "{rec}: {message}");
        assert!(message.contains("rua"), "{rec}: {message}");
        if named.starts_with("sp") || named.starts_with("np") {
            assert!(!message.contains("no valid policy"), "{rec}: {message}");
        }
    }
}

// ---------------------------------------------------------------------------------------------
// DNS failures

#[test]
fn rfc9989_5_3_6_dns_failure_during_discovery_is_temperror() {
    let mut z = zone(&[("_dmarc.example.com", "v=DMARC1; p=reject")]);
    z.fail(&n("_dmarc.mail.example.com"), FailureKind::Timeout);
    let src = Counting::new(&z);
    let v = resolve_sync(
        evaluate(request(
            "mail.example.com",
            Some(pass("mail.example.com")),
            &[],
        )),
        &src,
    );
    assert_eq!(v.result, DmarcResult::TempError);
    assert_eq!(
        v.problem,
        Some(DmarcProblem::DnsFailure {
            stage: Stage::PolicyDiscovery,
            name: n("_dmarc.mail.example.com"),
            kind: FailureKind::Timeout
        })
    );
    assert_eq!(src.asked.borrow().len(), 1, "the walk stops at the failure");
    assert_eq!(v.disposition, Disposition::None);
}

#[test]
fn rfc9989_5_3_6_failure_above_the_author_record_matters_only_for_relaxed() {
    let mut z = zone(&[("_dmarc.mail.example.com", "v=DMARC1; p=reject")]);
    z.fail(&n("_dmarc.example.com"), FailureKind::ServFail);
    // Identical identifier: the walk stops before the failing name.
    let v = eval(
        &z,
        request("mail.example.com", Some(pass("mail.example.com")), &[]),
    );
    assert_eq!(v.result, DmarcResult::Pass);
    // A relaxed identifier needs the Organizational Domain: temperror.
    let v = eval(
        &z,
        request("mail.example.com", Some(pass("example.com")), &[]),
    );
    assert_eq!(v.result, DmarcResult::TempError);
    assert!(matches!(v.problem, Some(DmarcProblem::DnsFailure { .. })));
    assert_eq!(v.alignment[0].aligned, None);
}

#[test]
fn rfc9989_5_3_6_identifier_walk_failure() {
    let mut z = zone(&[("_dmarc.example.com", "v=DMARC1; p=reject")]);
    z.fail(&n("_dmarc.bounce.example.com"), FailureKind::Timeout);
    let v = eval(
        &z,
        request("example.com", Some(pass("bounce.example.com")), &[]),
    );
    assert_eq!(v.result, DmarcResult::TempError);
    assert!(matches!(
        v.alignment[0].why_not,
        Some(NotAlignedReason::DnsFailure { .. })
    ));
    // Another aligned pass decides regardless.
    let v = eval(
        &z,
        request(
            "example.com",
            Some(pass("bounce.example.com")),
            &[pass("example.com")],
        ),
    );
    assert_eq!(v.result, DmarcResult::Pass);
}

#[test]
fn rfc9989_5_3_6_temperror_of_an_aligned_mechanism() {
    let z = zone(&[("_dmarc.example.com", "v=DMARC1; p=reject")]);
    let v = eval(
        &z,
        request(
            "example.com",
            Some((MechanismResult::TempError, n("example.com"))),
            &[pass("other.test")],
        ),
    );
    assert_eq!(v.result, DmarcResult::TempError);
    assert_eq!(v.problem, Some(DmarcProblem::MechanismTempError));
    // An unaligned temperror does not hold up a fail.
    let v = eval(
        &z,
        request(
            "example.com",
            Some((MechanismResult::TempError, n("other.test"))),
            &[],
        ),
    );
    assert_eq!(v.result, DmarcResult::Fail);
}

#[test]
fn missing_answers_from_a_driver_are_failures_not_panics() {
    let step = evaluate(request("example.com", Some(pass("example.com")), &[]));
    let Step::Lookup(pending) = step else {
        panic!("expected a lookup")
    };
    assert_eq!(pending.queries().len(), 1);
    match pending.resume(Vec::new()) {
        Step::Done(v) => assert_eq!(v.result, DmarcResult::TempError),
        Step::Lookup(_) => panic!("a failed answer ends the walk"),
    }
}

// ---------------------------------------------------------------------------------------------
// Author domains, identifiers

#[test]
fn rfc9989_5_3_1_no_author_domain_is_none() {
    let v = eval(&Zone::new(), EvaluationRequest::default());
    assert_eq!(v.result, DmarcResult::None);
    assert_eq!(v.problem, Some(DmarcProblem::NoAuthorDomain));
}

#[test]
fn rfc9989_5_3_1_several_author_domains_are_not_evaluated() {
    let z = zone(&[("_dmarc.example.com", "v=DMARC1; p=reject")]);
    let mut req = request("example.com", None, &[]);
    req.author_domains.push(n("example.net"));
    let src = Counting::new(&z);
    let v = resolve_sync(evaluate(req), &src);
    assert_eq!(v.result, DmarcResult::None);
    assert_eq!(
        v.problem,
        Some(DmarcProblem::MultipleAuthorDomains {
            count: 2,
            limit: None
        })
    );
    assert!(src.asked.borrow().is_empty());
}

#[test]
fn rfc9989_5_3_1_same_domain_twice_is_one_author_domain() {
    let z = zone(&[("_dmarc.example.com", "v=DMARC1; p=reject")]);
    let mut req = request("example.com", Some(pass("example.com")), &[]);
    req.author_domains.push(n("EXAMPLE.com."));
    assert_eq!(eval(&z, req).result, DmarcResult::Pass);
}

#[test]
fn rfc9989_11_5_each_author_domain_strictest_failing_policy() {
    let z = zone(&[
        ("_dmarc.example.com", "v=DMARC1; p=quarantine"),
        ("_dmarc.example.net", "v=DMARC1; p=reject"),
        ("_dmarc.example.org", "v=DMARC1; p=reject"),
    ]);
    let mut req = request("example.com", Some(pass("example.org")), &[]);
    req.author_domains
        .extend([n("example.net"), n("example.org")]);
    req.options.multiple_authors = MultipleAuthors::EvaluateEach { limit: 3 };
    let v = eval(&z, req.clone());
    assert_eq!(v.result, DmarcResult::Fail);
    assert_eq!(v.disposition, Disposition::Reject);
    assert_eq!(v.author_domain(), Some(&n("example.net")));
    assert_eq!(v.authors().len(), 3);
    assert_eq!(v.authors()[2].result, DmarcResult::Pass);

    req.options.multiple_authors = MultipleAuthors::EvaluateEach { limit: 2 };
    let v = eval(&z, req);
    assert_eq!(
        v.problem,
        Some(DmarcProblem::MultipleAuthorDomains {
            count: 3,
            limit: Some(2)
        })
    );
}

#[test]
fn rfc9989_5_3_1_u_labels_are_compared_as_a_labels() {
    let z = zone(&[("_dmarc.xn--bcher-kva.example", "v=DMARC1; p=reject")]);
    let v = eval(
        &z,
        request("Bücher.example", None, &[pass("xn--bcher-kva.example")]),
    );
    assert_eq!(v.result, DmarcResult::Pass);
}

#[test]
fn rfc7208_2_4_null_reverse_path_uses_helo() {
    let z = zone(&[("_dmarc.example.com", "v=DMARC1; p=reject; aspf=s")]);
    let ids = Identifiers::new().with_spf_envelope(MechanismResult::Pass, None, n("example.com"));
    let req = EvaluationRequest {
        author_domains: vec![n("example.com")],
        identifiers: ids,
        ..EvaluationRequest::default()
    };
    let v = eval(&z, req);
    assert_eq!(v.result, DmarcResult::Pass);
    assert_eq!(v.alignment[0].domain, n("example.com"));
}

#[test]
fn rfc9989_4_4_failed_mechanisms_never_align() {
    let z = zone(&[("_dmarc.example.com", "v=DMARC1; p=reject")]);
    let v = eval(
        &z,
        request(
            "example.com",
            Some((MechanismResult::SoftFail, n("example.com"))),
            &[(MechanismResult::Fail, n("example.com"))],
        ),
    );
    assert_eq!(v.result, DmarcResult::Fail);
    assert_eq!(v.problem, Some(DmarcProblem::NoAuthenticatedIdentifier));
    for a in &v.alignment {
        assert!(!a.authenticated);
        assert_eq!(a.aligned, None);
        assert_eq!(a.why_not, Some(NotAlignedReason::NotAuthenticated));
    }
}

// ---------------------------------------------------------------------------------------------
// Alignment matrix: strict and relaxed x same, subdomain, parent, sibling, unrelated, public suffix

#[test]
fn rfc9989_3_2_10_alignment_matrix() {
    let cases = [
        ("same", "news.example.com", true, true),
        ("subdomain", "a.news.example.com", false, true),
        ("parent", "example.com", false, true),
        ("sibling", "shop.example.com", false, true),
        ("unrelated", "example.net", false, false),
        ("public suffix", "com", false, false),
    ];
    for mode in [Alignment::Strict, Alignment::Relaxed] {
        let m = if mode == Alignment::Strict { "s" } else { "r" };
        let rec = format!("v=DMARC1; p=reject; adkim={m}; aspf={m}");
        for with_psd in [false, true] {
            let mut z = zone(&[("_dmarc.example.com", &rec)]);
            if with_psd {
                z.add_txt(&n("_dmarc.com"), ["v=DMARC1; p=none; psd=y"]);
            }
            for (what, domain, strict_ok, relaxed_ok) in cases {
                let want = if mode == Alignment::Strict {
                    strict_ok
                } else {
                    relaxed_ok
                };
                // SPF alone, then DKIM alone.
                for spf in [true, false] {
                    let req = if spf {
                        request("news.example.com", Some(pass(domain)), &[])
                    } else {
                        request("news.example.com", None, &[pass(domain)])
                    };
                    let v = eval(&z, req);
                    let label = format!(
                        "{m} {what} ({domain}) {} psd={with_psd}",
                        if spf { "spf" } else { "dkim" }
                    );
                    assert_eq!(v.result == DmarcResult::Pass, want, "{label}");
                    assert_eq!(v.alignment[0].aligned, Some(want), "{label}");
                    assert_eq!(v.alignment[0].mode, mode, "{label}");
                    if !want {
                        assert_eq!(v.disposition, Disposition::Reject, "{label}");
                    }
                }
            }
        }
    }
}

#[test]
fn rfc9989_11_8_record_only_at_a_public_suffix_without_psd_tag() {
    // A PSD record lacking psd=y makes the PSD the Organizational Domain (the hazard §11.8
    // describes): unrelated .com domains then align in relaxed mode.
    let z = zone(&[("_dmarc.com", "v=DMARC1; p=reject")]);
    let v = eval(&z, request("a.example.com", Some(pass("other.com")), &[]));
    assert_eq!(v.organizational_domain(), Some(&n("com")));
    assert_eq!(v.result, DmarcResult::Pass);
    // psd=y fixes it.
    let z = zone(&[("_dmarc.com", "v=DMARC1; p=reject; psd=y")]);
    let v = eval(&z, request("a.example.com", Some(pass("other.com")), &[]));
    assert_eq!(v.organizational_domain(), Some(&n("example.com")));
    assert_eq!(v.result, DmarcResult::Fail);
}

// ---------------------------------------------------------------------------------------------
// Evaluation against an already discovered policy

#[test]
fn evaluate_with_needs_no_dns_in_the_common_cases() {
    let z = zone(&[("_dmarc.example.com", "v=DMARC1; p=reject")]);
    let policy = Arc::new(discover_in(&z, "example.com"));
    let ids = Identifiers::new()
        .with_spf(MechanismResult::Pass, n("example.com"))
        .with_dkim(MechanismResult::Pass, n("example.net"));
    match evaluate_with(&policy, &ids) {
        Step::Done(v) => {
            assert_eq!(v.result, DmarcResult::Pass);
            assert!(Arc::ptr_eq(v.discovery.as_ref().unwrap(), &policy));
        }
        Step::Lookup(_) => panic!("no DNS expected"),
    }
    // A relaxed subdomain needs a walk: Lookup, then a pass.
    let ids = Identifiers::new().with_dkim(MechanismResult::Pass, n("mail.example.com"));
    let Step::Lookup(pending) = evaluate_with(&policy, &ids) else {
        panic!("a walk is needed")
    };
    assert_eq!(pending.queries()[0].name, n("_dmarc.mail.example.com"));
    let v = resolve_sync(Step::Lookup(pending), &z);
    assert_eq!(v.result, DmarcResult::Pass);
}

// ---------------------------------------------------------------------------------------------
// Legacy PSL discovery (RFC 7489)

const LIST: &str = "com\nuk\nco.uk\n";

#[test]
fn rfc7489_6_6_3_psl_discovery_queries_author_then_organizational_domain() {
    let list = Arc::new(PublicSuffixList::from_text(LIST).unwrap());
    let z = zone(&[
        ("_dmarc.example.co.uk", "v=DMARC1; p=reject"),
        ("_dmarc.co.uk", "v=DMARC1; p=none; psd=y"),
    ]);
    let src = Counting::new(&z);
    let found = resolve_sync(
        discover(
            n("a.b.mail.example.co.uk"),
            Discovery::Psl(Arc::clone(&list)),
        ),
        &src,
    );
    assert_eq!(
        src.names(),
        vec!["_dmarc.a.b.mail.example.co.uk", "_dmarc.example.co.uk"]
    );
    assert_eq!(found.method, DiscoveryMethod::PublicSuffixList);
    assert_eq!(found.organizational_domain, Some(n("example.co.uk")));
    let p = found.policy.as_ref().unwrap();
    assert_eq!(p.source, PolicySource::OrganizationalDomain);
    assert_eq!(found.walk.end, WalkEnd::FirstRecord);

    let req = EvaluationRequest {
        author_domains: vec![n("a.b.mail.example.co.uk")],
        identifiers: Identifiers::new()
            .with_spf(MechanismResult::Pass, n("bounce.example.co.uk"))
            .with_dkim(MechanismResult::Pass, n("other.co.uk")),
        discovery: Discovery::Psl(list),
        options: EvaluationOptions::default(),
    };
    let src = Counting::new(&z);
    let v = resolve_sync(evaluate(req), &src);
    assert_eq!(v.result, DmarcResult::Pass);
    assert_eq!(
        v.alignment[0].organizational_domain,
        Some(n("example.co.uk"))
    );
    assert_eq!(v.alignment[1].aligned, Some(false));
    assert_eq!(
        src.asked.borrow().len(),
        2,
        "no walks for identifiers in PSL mode"
    );
}

#[test]
fn rfc7489_psl_and_tree_walk_can_disagree() {
    // mail.example.com publishes psd=n: the tree walk makes it an Organizational Domain, the
    // PSL does not.
    let z = zone(&[
        ("_dmarc.example.com", "v=DMARC1; p=reject"),
        ("_dmarc.mail.example.com", "v=DMARC1; p=reject; psd=n"),
    ]);
    let make = |discovery| EvaluationRequest {
        author_domains: vec![n("mail.example.com")],
        identifiers: Identifiers::new().with_spf(MechanismResult::Pass, n("example.com")),
        discovery,
        options: EvaluationOptions::default(),
    };
    let tree = eval(&z, make(Discovery::TreeWalk));
    assert_eq!(tree.result, DmarcResult::Fail);
    let list = Arc::new(PublicSuffixList::from_text(LIST).unwrap());
    let psl = eval(&z, make(Discovery::Psl(list)));
    assert_eq!(psl.result, DmarcResult::Pass);
}

// ---------------------------------------------------------------------------------------------
// External report destinations (RFC 9990 §4, RFC 9991 §5)

#[test]
fn rfc9990_4_external_destinations() {
    let mut z = zone(&[
        (
            "_dmarc.example.com",
            "v=DMARC1; p=none; rua=mailto:a@example.com,mailto:b@reports.example.com,\
             mailto:c@ok.test,mailto:d@nope.test,mailto:e@override.test,mailto:f@bad.test,\
             mailto:g@slow.test,https://[2001:db8::1]/r; ruf=mailto:h@ok.test",
        ),
        ("example.com._report._dmarc.ok.test", "v=DMARC1"),
        ("example.com._report._dmarc.nope.test", "v=spf1 -all"),
        (
            "example.com._report._dmarc.override.test",
            "v=DMARC1; rua=mailto:other@override.test",
        ),
        (
            "example.com._report._dmarc.bad.test",
            "v=DMARC1; rua=mailto:x@elsewhere.test",
        ),
    ]);
    z.fail(
        &n("example.com._report._dmarc.slow.test"),
        FailureKind::Timeout,
    );
    let found = discover_in(&z, "example.com");
    let result = resolve_sync(authorize_reports(&found), &z);
    let status: Vec<(&str, &DestinationStatus)> = result
        .checks
        .iter()
        .map(|c| (c.uri.uri.as_str(), &c.status))
        .collect();
    assert_eq!(
        status[0],
        ("mailto:a@example.com", &DestinationStatus::Internal)
    );
    assert_eq!(
        status[1].1,
        &DestinationStatus::Internal,
        "subdomain, same org"
    );
    assert!(
        matches!(status[2].1, DestinationStatus::Authorized { overrides } if overrides.is_empty())
    );
    assert_eq!(status[3].1, &DestinationStatus::NotAuthorized);
    match status[4].1 {
        DestinationStatus::Authorized { overrides } => {
            assert_eq!(overrides[0].uri, "mailto:other@override.test")
        }
        other => panic!("{other:?}"),
    }
    assert_eq!(
        status[5].1,
        &DestinationStatus::OverrideToOtherHost {
            host: n("elsewhere.test")
        }
    );
    assert!(matches!(status[6].1, DestinationStatus::TempError { .. }));
    assert_eq!(status[7].1, &DestinationStatus::NoDestination);
    assert!(matches!(status[8].1, DestinationStatus::Authorized { .. }));
    assert_eq!(result.checks[8].kind.tag(), "ruf");
    assert_eq!(
        result.checks[2].authorization_name,
        Some(n("example.com._report._dmarc.ok.test"))
    );
    // ok.test is asked once for rua and ruf.
    let asked: Vec<_> = result
        .trace
        .iter()
        .filter(|t| t.query.name == n("example.com._report._dmarc.ok.test"))
        .collect();
    assert_eq!(asked.len(), 1);
}

#[test]
fn rfc9990_4_destination_below_a_psd_n_subtree_is_external() {
    let z = zone(&[
        (
            "_dmarc.example.com",
            "v=DMARC1; p=none; rua=mailto:r@reports.unit.example.com",
        ),
        ("_dmarc.unit.example.com", "v=DMARC1; p=none; psd=n"),
    ]);
    let found = discover_in(&z, "example.com");
    let result = resolve_sync(authorize_reports(&found), &z);
    assert_eq!(
        result.checks[0].destination_organizational_domain,
        Some(n("unit.example.com"))
    );
    assert_eq!(result.checks[0].status, DestinationStatus::NotAuthorized);
}

#[test]
fn rfc9990_4_authorization_name_too_long() {
    let long = format!("{}.example.com", vec!["abcdefghij"; 20].join("."));
    let rec = format!("v=DMARC1; p=none; rua=mailto:r@{}", vec!["z"; 60].join("."));
    let mut z = Zone::new();
    z.add_txt(&n(&format!("_dmarc.{long}")), [rec.as_str()]);
    let found = discover_in(&z, &long);
    let result = resolve_sync(authorize_reports(&found), &z);
    assert_eq!(result.checks[0].status, DestinationStatus::NameTooLong);
}

// ---------------------------------------------------------------------------------------------
// Bad input

#[test]
fn bad_input_ten_kilobyte_records() {
    let mut big = String::from("v=DMARC1; p=reject; ");
    while big.len() < 10 * 1024 {
        big.push_str("x=yyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyy; ");
    }
    let mut z = Zone::new();
    // Published as 255-byte strings, joined by the parser's caller.
    let strings: Vec<Vec<u8>> = big.as_bytes().chunks(255).map(<[u8]>::to_vec).collect();
    z.add_txt(&n("_dmarc.example.com"), strings);
    let v = eval(&z, request("example.com", None, &[]));
    assert_eq!(v.disposition, Disposition::Reject);
    assert!(v.record().unwrap().notes().len() > 200);

    let garbage: Vec<u8> = (0..10 * 1024).map(|i| (i * 7 % 256) as u8).collect();
    let mut z = Zone::new();
    z.add_txt(&n("_dmarc.example.com"), [garbage]);
    let v = eval(&z, request("example.com", None, &[]));
    assert_eq!(v.result, DmarcResult::None);
}

#[test]
fn bad_input_nul_bytes() {
    let mut z = Zone::new();
    z.add_txt(
        &n("_dmarc.example.com"),
        [&b"v=DMARC1; p=reject\0; sp=none"[..]],
    );
    let v = eval(&z, request("x.example.com", None, &[]));
    // "reject\0" is not a policy value; without rua, no DMARC processing.
    assert_eq!(v.result, DmarcResult::PermError);
    let mut z = Zone::new();
    z.add_txt(&n("_dmarc.example.com"), [&b"v=DMARC1\0; p=reject"[..]]);
    assert_eq!(
        eval(&z, request("example.com", None, &[])).result,
        DmarcResult::None
    );
}

#[test]
fn bad_input_names_at_the_length_limits() {
    // 253 octets: _dmarc.<name> cannot be asked, the walk goes on with shorter names.
    let name = format!("{}.{}", vec!["abcdefghi"; 24].join("."), "a".repeat(13));
    assert_eq!(name.len(), 253);
    let z = Zone::new();
    let src = Counting::new(&z);
    let found = resolve_sync(discover(n(&name), Discovery::TreeWalk), &src);
    assert_eq!(found.walk.steps[0].query, None);
    assert_eq!(
        found.walk.steps[0].finding,
        Finding::None {
            why: NoRecord::NameTooLong
        }
    );
    assert_eq!(src.asked.borrow().len(), 7);
    assert!(found.walk.queries_sent() <= MAX_WALK_QUERIES);

    // A 63-octet label works normally.
    let label = "l".repeat(63);
    let z = zone(&[(&format!("_dmarc.{label}.example.com"), "v=DMARC1; p=reject")]);
    let v = eval(&z, request(&format!("{label}.example.com"), None, &[]));
    assert_eq!(v.disposition, Disposition::Reject);
}

#[test]
fn bad_input_many_txt_records_and_cnames() {
    let mut z = Zone::new();
    for i in 0..200 {
        z.add_txt(&n("_dmarc.example.com"), [format!("junk {i}")]);
    }
    z.add(
        &n("_dmarc.mail.example.com"),
        RData::Cname(n("_dmarc.example.com")),
    );
    let found = discover_in(&z, "mail.example.com");
    assert_eq!(
        found.walk.steps[0].finding,
        Finding::None {
            why: NoRecord::NotDmarc { txt_records: 200 }
        }
    );
    assert!(found.policy.is_none());
}

#[test]
fn verdict_serializes_with_the_cli_contract_keys() {
    let z = zone(&[("_dmarc.example.com", "v=DMARC1; p=reject; pct=5")]);
    let v = eval(
        &z,
        request("mail.example.com", Some(pass("example.net")), &[]),
    );
    let json = serde_json::to_value(&v).unwrap();
    for key in [
        "result",
        "disposition",
        "record",
        "organizational_domain",
        "discovery",
        "alignment",
    ] {
        assert!(json.get(key).is_some(), "missing {key}: {json}");
    }
    assert_eq!(json["result"], "fail");
    assert_eq!(json["disposition"], "reject");
    assert_eq!(json["record"]["policy"], "reject");
    assert_eq!(json["discovery"]["method"], "tree-walk");
    assert_eq!(
        json["alignment"][0]["why_not"]["reason"],
        "different_organizational_domain"
    );
    assert_eq!(json["record"]["notes"][0]["kind"], "removed_tag");
    assert_eq!(
        json["discovery"]["trace"][0]["name"],
        "_dmarc.mail.example.com"
    );
}

// ---------------------------------------------------------------------------------------------
// Answers at hand (a resolver's cache): read at once, the same verdict

/// A record parser holding every answer of a zone, as a resolver's cache holds them.
#[derive(Debug)]
struct AtHand(Zone);

impl mailstamp_dmarc::RecordParser for AtHand {
    fn parse(
        &self,
        text: &[u8],
    ) -> Result<Arc<mailstamp_dmarc::Record>, mailstamp_dmarc::ParseError> {
        mailstamp_dmarc::Record::parse(text).map(Arc::new)
    }

    fn answer_at_hand(&self, query: &Query) -> Option<Answer> {
        Some(self.0.answer(query))
    }
}

#[test]
fn answers_at_hand_are_read_without_a_step_and_give_the_same_verdict() {
    let z = zone(&[
        ("_dmarc.example.com", "v=DMARC1; p=reject; adkim=s"),
        ("_dmarc.example.org", "v=DMARC1; p=quarantine; sp=none"),
        ("_dmarc.bad.example", "v=DMARC1; p=bogus"),
    ]);
    let cases = [
        request(
            "example.com",
            Some(pass("example.com")),
            &[pass("example.com")],
        ),
        request(
            "example.com",
            Some(pass("bounce.example.com")),
            &[pass("mail.example.com")],
        ),
        request("news.example.org", None, &[pass("example.org")]),
        request(
            "a.b.c.d.e.f.g.h.example.org",
            Some(pass("other.example")),
            &[],
        ),
        request("bad.example", Some(pass("bad.example")), &[]),
        request("none.example", None, &[]),
    ];
    let parser: Arc<dyn mailstamp_dmarc::RecordParser> = Arc::new(AtHand(z.clone()));
    for req in cases {
        let driven = eval(&z, req.clone());
        let Step::Done(at_once) = mailstamp_dmarc::evaluate_with_parser(&req, &parser) else {
            panic!("every answer is at hand, yet the evaluation stopped");
        };
        assert_eq!(format!("{at_once:?}"), format!("{driven:?}"));
    }
}

/// [`AtHand`] that also keeps every discovery offered and hands them back, as a resolver
/// does while their answers are fresh (here they always are: the zone does not change).
#[derive(Debug)]
struct Keeping {
    at_hand: AtHand,
    kept: std::sync::Mutex<Vec<Arc<PolicyDiscovery>>>,
    reused: std::sync::atomic::AtomicUsize,
}

impl mailstamp_dmarc::RecordParser for Keeping {
    fn parse(
        &self,
        text: &[u8],
    ) -> Result<Arc<mailstamp_dmarc::Record>, mailstamp_dmarc::ParseError> {
        self.at_hand.parse(text)
    }

    fn answer_at_hand(&self, query: &Query) -> Option<Answer> {
        self.at_hand.answer_at_hand(query)
    }

    fn discovery_at_hand(
        &self,
        author: &Name,
        accept: &dyn Fn(&PolicyDiscovery) -> bool,
    ) -> Option<Arc<PolicyDiscovery>> {
        let kept = self.kept.lock().unwrap();
        let found = kept
            .iter()
            .find(|d| d.author_domain == *author && accept(d))
            .cloned();
        if found.is_some() {
            self.reused
                .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        }
        found
    }

    fn keep_discovery(&self, discovery: &Arc<PolicyDiscovery>) {
        self.kept.lock().unwrap().push(Arc::clone(discovery));
    }
}

#[test]
fn rfc9989_4_10_2_a_kept_discovery_is_reused_only_where_the_walk_would_go_the_same_way() {
    // The walk of one Author Domain takes three forms, depending on the identifiers at its
    // first answer (RFC 9989 §4.10.2, "no need to perform"): stopped with every identifier
    // the Author Domain, stopped with none that needs the Organizational Domain, or walked on.
    // A kept discovery serves only evaluations whose walk takes its form, and the verdict
    // (JSON included) is the one a new walk gives.
    let z = zone(&[
        ("_dmarc.example.com", "v=DMARC1; p=reject"),
        (
            "_dmarc.strict.example",
            "v=DMARC1; p=quarantine; aspf=s; adkim=s",
        ),
    ]);
    let fail = |d: &str| (MechanismResult::Fail, n(d));
    let mut complete = request("example.com", Some(pass("bounce.example.com")), &[]);
    complete.options.complete_walk = true;
    let mut psl = request("news.example.com", Some(pass("example.com")), &[]);
    psl.discovery = Discovery::Psl(Arc::new(PublicSuffixList::from_text("com\n").unwrap()));
    let mut several = request("example.com", Some(pass("example.com")), &[]);
    several.author_domains.push(n("strict.example"));
    several.options.multiple_authors = MultipleAuthors::EvaluateEach { limit: 5 };
    // (request, served from a discovery kept by an earlier one in this list)
    let cases = [
        // Stopped, every identifier the Author Domain.
        (
            request(
                "example.com",
                Some(pass("example.com")),
                &[pass("example.com")],
            ),
            false,
        ),
        // Relaxed alignment of a subdomain: the whole walk.
        (
            request("example.com", Some(pass("bounce.example.com")), &[]),
            false,
        ),
        // Stopped, no identifier that counts.
        (
            request("example.com", Some(fail("example.com")), &[]),
            false,
        ),
        (request("example.com", None, &[pass("example.com")]), true),
        (complete, true),
        (
            request("example.com", Some(pass("mail.example.com")), &[]),
            true,
        ),
        // Not the Author Domain's record: the identifiers change nothing.
        (
            request("news.example.com", Some(pass("example.com")), &[]),
            false,
        ),
        (
            request("news.example.com", None, &[fail("other.example")]),
            true,
        ),
        // Strict: stopped, not identical.
        (
            request("strict.example", Some(pass("mail.strict.example")), &[]),
            false,
        ),
        (
            request("strict.example", None, &[pass("strict.example")]),
            false,
        ),
        (
            request("strict.example", None, &[pass("other.example")]),
            true,
        ),
        (request("none.example", None, &[]), false),
        (
            request("none.example", Some(pass("none.example")), &[]),
            true,
        ),
        // The PSL method is never kept.
        (psl.clone(), false),
        (psl, false),
        // Each Author Domain's kept discovery.
        (several, true),
    ];
    let keeping = Arc::new(Keeping {
        at_hand: AtHand(z.clone()),
        kept: std::sync::Mutex::default(),
        reused: std::sync::atomic::AtomicUsize::new(0),
    });
    let parser: Arc<dyn mailstamp_dmarc::RecordParser> = keeping.clone();
    let reused = || keeping.reused.load(std::sync::atomic::Ordering::Relaxed);
    for round in 0..2 {
        for (i, (req, from_kept)) in cases.iter().enumerate() {
            let before = reused();
            let driven = eval(&z, req.clone());
            let Step::Done(verdict) = mailstamp_dmarc::evaluate_with_parser(req, &parser) else {
                panic!("every answer is at hand, yet the evaluation stopped");
            };
            assert_eq!(format!("{verdict:?}"), format!("{driven:?}"), "case {i}");
            assert_eq!(
                serde_json::to_string(&verdict).unwrap(),
                serde_json::to_string(&driven).unwrap(),
                "case {i}"
            );
            let authors = req.author_domains.len();
            let expected = match (round, *from_kept, &req.discovery) {
                (_, _, Discovery::Psl(_)) => 0,
                (0, false, _) => 0,
                _ => authors,
            };
            assert_eq!(reused() - before, expected, "round {round}, case {i}");
        }
    }
    // Three forms of example.com's walk, one of news.example.com's, two of strict.example's,
    // one of none.example's: each kept once.
    assert_eq!(keeping.kept.lock().unwrap().len(), 7);
}

/// A record parser that holds no answers: every evaluation through it waits for the driver.
#[derive(Debug)]
struct NothingAtHand;

impl mailstamp_dmarc::RecordParser for NothingAtHand {
    fn parse(
        &self,
        text: &[u8],
    ) -> Result<Arc<mailstamp_dmarc::Record>, mailstamp_dmarc::ParseError> {
        mailstamp_dmarc::Record::parse(text).map(Arc::new)
    }
}

#[test]
fn rfc9989_11_5_a_borrowed_request_gives_the_same_verdict_at_once_or_driven() {
    // Several Author Domains, one repeated after another (it counts once, RFC 9989 §5.3.1),
    // identifiers that need relaxed alignment walks and the `np` existence test: the
    // evaluation of a borrowed request reads its answers at hand, or waits and copies the
    // request into the machine it returns; both give `evaluate`'s verdict.
    let z = zone(&[
        ("_dmarc.example.com", "v=DMARC1; p=quarantine; np=reject"),
        ("_dmarc.example.net", "v=DMARC1; p=reject"),
        ("_dmarc.example.org", "v=DMARC1; p=none"),
    ]);
    let mut req = request(
        "news.example.com",
        Some(pass("bounce.example.net")),
        &[pass("mail.example.org")],
    );
    req.author_domains
        .extend([n("example.net"), n("NEWS.example.com."), n("example.org")]);
    req.options.multiple_authors = MultipleAuthors::EvaluateEach { limit: 3 };
    let driven = eval(&z, req.clone());
    assert_eq!(driven.authors().len(), 3);
    assert_eq!(
        driven.authors()[0].author_domain(),
        Some(&n("news.example.com"))
    );
    assert_eq!(driven.authors()[2].author_domain(), Some(&n("example.org")));
    assert!(!driven.authors()[1].walks().is_empty());
    let expected = (
        format!("{driven:?}"),
        serde_json::to_string(&driven).unwrap(),
    );

    let waiting: Arc<dyn mailstamp_dmarc::RecordParser> = Arc::new(NothingAtHand);
    let step = mailstamp_dmarc::evaluate_with_parser(&req, &waiting);
    assert!(matches!(step, Step::Lookup(_)));
    let v = resolve_sync(step, &z);
    assert_eq!(
        (format!("{v:?}"), serde_json::to_string(&v).unwrap()),
        expected
    );

    let at_hand: Arc<dyn mailstamp_dmarc::RecordParser> = Arc::new(AtHand(z.clone()));
    let Step::Done(v) = mailstamp_dmarc::evaluate_with_parser(&req, &at_hand) else {
        panic!("every answer is at hand, yet the evaluation stopped");
    };
    assert_eq!(
        (format!("{v:?}"), serde_json::to_string(&v).unwrap()),
        expected
    );

    // Four distinct domains are more than the limit of three.
    req.author_domains.push(n("example.edu"));
    let v = resolve_sync(mailstamp_dmarc::evaluate_with_parser(&req, &waiting), &z);
    assert_eq!(
        v.problem,
        Some(DmarcProblem::MultipleAuthorDomains {
            count: 4,
            limit: Some(3)
        })
    );
}
