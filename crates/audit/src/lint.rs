//! Pure checks of parsed records: no DNS, no I/O. Each function turns what one record (or one
//! answer) says into [`Finding`]s.

use super::finding::{Code, Finding};
use mailstamp_dkim::{KeyCheck, KeyFinding};
use mailstamp_dmarc::{NoteKind, Policy, Record as DmarcRecord};
use mailstamp_dns::{Answer, Name, RData, RecordType};
use mailstamp_spf::{Mechanism, Qualifier, Record as SpfRecord};
use std::net::IpAddr;

/// Longest SPF record (joined TXT strings) that fits a plain 512-octet DNS answer, in bytes
/// (RFC 7208 §3.4: records should be small enough for the answer to fit in 512 octets).
pub const SPF_RECORD_SIZE_LIMIT: usize = 512;

/// Where an SPF record sits in the evaluation tree.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SpfPlace {
    /// The record of the checked domain itself.
    Top,
    /// The record of an `include` or `redirect` target.
    Included,
}

/// Checks one SPF record as published: `ptr`, `+all`, terms after `all`, an ignored
/// `redirect`, a missing `all` (top-level records only) and its size.
///
/// `domain` is where the record is published and `text` its joined TXT strings.
///
/// ```
/// use mailstamp_audit::{Code, SpfPlace, lint_spf_record};
///
/// let record = "v=spf1 ptr +all".parse().unwrap();
/// let codes: Vec<Code> = lint_spf_record("example.com", "v=spf1 ptr +all", &record, SpfPlace::Top)
///     .into_iter()
///     .map(|f| f.code)
///     .collect();
/// assert_eq!(codes, [Code::SpfPtr, Code::SpfPlusAll]);
/// ```
pub fn lint_spf_record(
    domain: &str,
    text: &str,
    record: &SpfRecord,
    place: SpfPlace,
) -> Vec<Finding> {
    let mut out = Vec::new();
    let whose = match place {
        SpfPlace::Top => format!("the SPF record of {domain}"),
        SpfPlace::Included => format!("the SPF record of {domain} (included)"),
    };
    let directives = record.directives();
    for d in directives {
        if matches!(d.mechanism, Mechanism::Ptr(_)) {
            out.push(Finding::new(
                Code::SpfPtr,
                domain,
                format!("{whose} uses the deprecated mechanism \"{d}\""),
            ));
        }
    }
    if let Some(pos) = directives
        .iter()
        .position(|d| d.mechanism == Mechanism::All)
    {
        if let Some(all) = directives.get(pos)
            && all.qualifier == Qualifier::Pass
        {
            let message = match place {
                SpfPlace::Top => format!(
                    "{whose} ends in +all: every host on the internet passes SPF for {domain}"
                ),
                SpfPlace::Included => format!(
                    "{whose} ends in +all: every host on the internet passes any include of \
                     {domain}"
                ),
            };
            out.push(Finding::new(Code::SpfPlusAll, domain, message));
        }
        let after: Vec<String> = directives
            .iter()
            .skip(pos + 1)
            .map(ToString::to_string)
            .collect();
        if !after.is_empty() {
            out.push(Finding::new(
                Code::SpfTermsAfterAll,
                domain,
                format!(
                    "{whose} has terms after all that are never evaluated: {}",
                    after.join(" ")
                ),
            ));
        }
        if let Some(r) = record.redirect() {
            out.push(Finding::new(
                Code::SpfRedirectIgnored,
                domain,
                format!("{whose} has all, so redirect={r} is ignored"),
            ));
        }
    } else if record.redirect().is_none() && place == SpfPlace::Top {
        out.push(Finding::new(
            Code::SpfNoAll,
            domain,
            format!(
                "{whose} has neither all nor redirect=: senders that match no term get neutral"
            ),
        ));
    }
    if text.len() > SPF_RECORD_SIZE_LIMIT {
        out.push(Finding::new(
            Code::SpfRecordTooLong,
            domain,
            format!(
                "{whose} is {} bytes long (more than {SPF_RECORD_SIZE_LIMIT}): the answer needs \
                 EDNS or TCP, which some receivers do not use",
                text.len()
            ),
        ));
    }
    out
}

/// Checks a DMARC record: usable policy, policy strength, testing mode, reporting, and every
/// tag the parser noted (removed, invalid, duplicate, unknown). `name` is the `_dmarc` name
/// the record is published at.
///
/// ```
/// use mailstamp_audit::{Code, lint_dmarc_record};
/// use mailstamp_dmarc::Record;
///
/// let record = Record::parse(b"v=DMARC1; p=none; pct=50").unwrap();
/// let codes: Vec<Code> = lint_dmarc_record("_dmarc.example.com", &record)
///     .into_iter()
///     .map(|f| f.code)
///     .collect();
/// assert_eq!(codes, [Code::DmarcRemovedTag, Code::DmarcNoneWithoutRua]);
/// ```
pub fn lint_dmarc_record(name: &str, record: &DmarcRecord) -> Vec<Finding> {
    let mut out = Vec::new();
    for note in &record.notes() {
        let tag = &note.tag;
        let at = note.offset;
        let (code, message) = match note.kind {
            NoteKind::RemovedTag => (
                Code::DmarcRemovedTag,
                format!("{tag}= (byte {at}) was removed by RFC 9989 and is ignored"),
            ),
            NoteKind::InvalidValue => (
                Code::DmarcInvalidValue,
                format!("{tag}= has an invalid value (byte {at}); the tag is ignored"),
            ),
            NoteKind::MalformedTag => (
                Code::DmarcMalformedTag,
                format!("{tag:?} (byte {at}) is not a name=value tag; ignored"),
            ),
            NoteKind::DuplicateTag => (
                Code::DmarcDuplicateTag,
                format!("{tag}= appears again at byte {at}; the first occurrence is used"),
            ),
            NoteKind::InvalidUri => (
                Code::DmarcInvalidUri,
                format!("{tag:?} (byte {at}) is not a report URI; ignored"),
            ),
            NoteKind::UnknownTag => (
                Code::DmarcUnknownTag,
                format!("{tag}= (byte {at}) is not a DMARC tag; ignored"),
            ),
            NoteKind::ObsoleteSizeLimit => (
                Code::DmarcObsoleteSize,
                format!("{tag:?} (byte {at}) has an obsolete !size suffix; it is ignored"),
            ),
            NoteKind::FailureOptionsWithoutRuf => (
                Code::DmarcFoWithoutRuf,
                format!("fo= (byte {at}) has no effect without ruf="),
            ),
            // Reported below, with what receivers do about it.
            NoteKind::MissingPolicy => continue,
            _ => (
                Code::DmarcInvalidValue,
                format!("{tag} (byte {at}): {}", note.kind.description()),
            ),
        };
        out.push(Finding::new(code, name, message));
    }
    let has_rua = record.has_aggregate_report_uris();
    match record.effective {
        None => out.push(Finding::new(
            Code::DmarcNoPolicy,
            name,
            "the record has no valid p= and no valid rua=: receivers ignore it (no DMARC \
             processing)",
        )),
        Some(e) if e.treated_as_none => out.push(Finding::new(
            Code::DmarcPolicyTreatedAsNone,
            name,
            "the record has no valid policy (p=, or an invalid sp=/np=): receivers act as if \
             it said p=none",
        )),
        Some(e) => {
            match e.domain {
                Policy::None if !has_rua => out.push(Finding::new(
                    Code::DmarcNoneWithoutRua,
                    name,
                    "p=none without rua=: no policy is applied and no reports are sent",
                )),
                Policy::None => out.push(Finding::new(
                    Code::DmarcPolicyNone,
                    name,
                    "p=none: receivers only report; failing mail is delivered as usual",
                )),
                Policy::Quarantine => out.push(Finding::new(
                    Code::DmarcPolicyQuarantine,
                    name,
                    "p=quarantine: failing mail goes to spam folders rather than being rejected",
                )),
                Policy::Reject => {}
            }
            if e.subdomain < e.domain || e.nonexistent < e.domain {
                out.push(Finding::new(
                    Code::DmarcWeakerSubdomainPolicy,
                    name,
                    format!(
                        "subdomains get a weaker policy than p={}: sp={} np={}",
                        e.domain, e.subdomain, e.nonexistent
                    ),
                ));
            }
            if !has_rua && e.domain != Policy::None {
                out.push(Finding::new(
                    Code::DmarcNoRua,
                    name,
                    "no rua=: nobody receives aggregate reports about mail using the domain",
                ));
            }
        }
    }
    if record.testing {
        out.push(Finding::new(
            Code::DmarcTesting,
            name,
            "t=y (testing): receivers apply the policy one level lower (reject as quarantine, \
             quarantine as none)",
        ));
    }
    for (tag, uri) in record
        .aggregate_report_uris()
        .into_iter()
        .map(|u| ("rua", u))
        .chain(record.failure_report_uris().into_iter().map(|u| ("ruf", u)))
    {
        if !uri.is_mailto() {
            out.push(Finding::new(
                Code::DmarcReportNotMailto,
                name,
                format!(
                    "{tag} {uri} uses the {} scheme, which receivers need not support",
                    uri.scheme
                ),
            ));
        }
    }
    out
}

/// Turns [`mailstamp_dkim::check_key`]'s verdict on one selector into findings. `given` is true
/// for a selector the user named (a missing record is then an error), false for a probe of a
/// common name (a missing record says nothing).
pub fn lint_dkim_key(selector: &str, check: &KeyCheck, given: bool) -> Vec<Finding> {
    let name = check.name.as_str();
    let mut out = Vec::new();
    for f in &check.findings {
        let (code, message) = match f {
            KeyFinding::NotFound if given => (
                Code::DkimKeyMissing,
                format!("selector {selector}: no key record at {name}"),
            ),
            KeyFinding::NotFound => continue,
            KeyFinding::DnsFailure { failure } => (
                Code::DkimDnsFailure,
                format!("selector {selector}: the lookup of {name} TXT failed ({failure})"),
            ),
            KeyFinding::MultipleRecords { count } => (
                Code::DkimMultipleRecords,
                format!("selector {selector}: {count} TXT records at {name}"),
            ),
            KeyFinding::Invalid { error } => (
                Code::DkimInvalidRecord,
                format!("selector {selector}: {error}"),
            ),
            KeyFinding::Revoked => (
                Code::DkimRevoked,
                format!("selector {selector}: the key is revoked (empty p=)"),
            ),
            KeyFinding::RsaTooShort { bits } => (
                Code::DkimRsaTooShort,
                format!("selector {selector}: the RSA key has {bits} bits; verifiers refuse it"),
            ),
            KeyFinding::RsaWeak { bits } => (
                Code::DkimRsaWeak,
                format!("selector {selector}: the RSA key has {bits} bits (under 2048)"),
            ),
            KeyFinding::Sha256NotAllowed => (
                Code::DkimSha256NotAllowed,
                format!(
                    "selector {selector}: h= does not allow sha256 (only {}), so no signature \
                     with this key can pass",
                    check_hashes(check)
                ),
            ),
            KeyFinding::NotForEmail => (
                Code::DkimNotForEmail,
                format!("selector {selector}: s= does not allow email"),
            ),
            KeyFinding::Testing => (
                Code::DkimTesting,
                format!("selector {selector}: t=y, the domain is testing DKIM"),
            ),
            // No private key is given to an audit; anything else is not a key property.
            _ => continue,
        };
        out.push(Finding::new(code, name, message));
    }
    if check.is_usable()
        && let (Some(kind), Some(bits)) = (check.key_type, check.bits)
    {
        out.push(Finding::new(
            Code::DkimKey,
            name,
            format!("selector {selector}: {kind} key, {bits} bits"),
        ));
    }
    out
}

/// The `h=` list of the record a check found, for messages.
fn check_hashes(check: &KeyCheck) -> String {
    check
        .records
        .first()
        .and_then(|r| mailstamp_dkim::KeyRecord::parse(r.as_bytes()).ok())
        .and_then(|r| r.hash_algorithms)
        .map_or_else(|| "none".to_owned(), |h| h.join(":"))
}

/// True when a DNS name is an IP address written where a host name belongs (`192.0.2.1`,
/// `[192.0.2.1]`, `IPv6:2001:db8::1`).
pub fn is_ip_literal(text: &str) -> bool {
    let t = text.trim_end_matches('.');
    let t = t
        .strip_prefix('[')
        .and_then(|s| s.strip_suffix(']'))
        .unwrap_or(t);
    let t = if t.len() > 5 && t.get(..5).is_some_and(|p| p.eq_ignore_ascii_case("ipv6:")) {
        t.get(5..).unwrap_or(t)
    } else {
        t
    };
    t.parse::<IpAddr>().is_ok()
}

/// The MX hosts of an answer: `(preference, exchange)`, `None` for a null MX (RFC 7505).
pub fn mx_hosts(answer: &Answer) -> Vec<(u16, Option<Name>)> {
    answer
        .data_of(RecordType::Mx)
        .filter_map(|d| match d {
            RData::Mx {
                preference,
                exchange,
            } => Some((*preference, exchange.clone())),
            _ => None,
        })
        .collect()
}

/// What the MX answer of `domain` says by itself: a missing domain, null MX rules (RFC 7505
/// §3) and IP literals. Address checks of the hosts are [`lint_mx_target`]'s.
pub fn lint_mx_answer(domain: &Name, answer: &Answer) -> Vec<Finding> {
    let d = domain.as_str();
    let mut out = Vec::new();
    match answer {
        Answer::Failed(kind) => out.push(Finding::new(
            Code::MxDnsFailure,
            d,
            format!("the lookup of {d} MX failed ({kind})"),
        )),
        Answer::NxDomain => out.push(Finding::new(
            Code::MxNxDomain,
            d,
            format!("{d} does not exist (NXDOMAIN)"),
        )),
        Answer::NoData | Answer::Records(_) => {
            let hosts = mx_hosts(answer);
            let nulls: Vec<u16> = hosts
                .iter()
                .filter(|(_, x)| x.is_none())
                .map(|(p, _)| *p)
                .collect();
            if !nulls.is_empty() {
                if hosts.len() > nulls.len() {
                    out.push(Finding::new(
                        Code::MxNullMixed,
                        d,
                        format!(
                            "{d} publishes a null MX and {} other MX record(s)",
                            hosts.len() - nulls.len()
                        ),
                    ));
                } else {
                    out.push(Finding::new(
                        Code::MxNull,
                        d,
                        format!("{d} publishes a null MX: it accepts no mail"),
                    ));
                }
                for p in nulls.iter().filter(|&&p| p != 0) {
                    out.push(Finding::new(
                        Code::MxNullPreference,
                        d,
                        format!("the null MX of {d} has preference {p}, not 0"),
                    ));
                }
            }
            for (p, x) in &hosts {
                if let Some(x) = x
                    && is_ip_literal(x.as_str())
                {
                    out.push(Finding::new(
                        Code::MxTargetIpLiteral,
                        x.as_str(),
                        format!("MX {p} {} is an IP address, not a host name", x.to_fqdn()),
                    ));
                }
            }
        }
    }
    out
}

/// What the A and AAAA answers of one MX host say: an alias (CNAME), no address, a failure.
pub fn lint_mx_target(host: &Name, a: &Answer, aaaa: &Answer) -> Vec<Finding> {
    let h = host.as_str();
    let mut out = Vec::new();
    for (answer, rtype) in [(a, RecordType::A), (aaaa, RecordType::Aaaa)] {
        if let Answer::Failed(kind) = answer {
            out.push(Finding::new(
                Code::MxDnsFailure,
                h,
                format!("the lookup of MX host {h} {rtype} failed ({kind})"),
            ));
        }
    }
    let alias = [a, aaaa].into_iter().find_map(|ans| {
        ans.records().iter().find_map(|r| match &r.data {
            RData::Cname(target) if r.name == *host => Some(target.clone()),
            _ => None,
        })
    });
    if let Some(target) = alias {
        out.push(Finding::new(
            Code::MxTargetCname,
            h,
            format!("MX host {h} is an alias (CNAME) of {target}"),
        ));
    }
    let failed = a.is_failed() || aaaa.is_failed();
    if !failed && a.is_void(RecordType::A) && aaaa.is_void(RecordType::Aaaa) {
        out.push(Finding::new(
            Code::MxTargetNoAddress,
            h,
            format!(
                "MX host {h} has no A or AAAA record ({})",
                match a {
                    Answer::NxDomain => "the name does not exist",
                    _ => "no address records",
                }
            ),
        ));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use mailstamp_dkim::check_key;
    use mailstamp_dns::{FailureKind, Record, Txt};

    fn codes(findings: &[Finding]) -> Vec<Code> {
        findings.iter().map(|f| f.code).collect()
    }

    fn spf(text: &str, place: SpfPlace) -> Vec<Code> {
        let record = SpfRecord::parse(text).unwrap();
        codes(&lint_spf_record("example.com", text, &record, place))
    }

    #[test]
    fn rfc7208_5_5_ptr_and_5_1_plus_all() {
        assert_eq!(spf("v=spf1 ptr -all", SpfPlace::Top), [Code::SpfPtr]);
        assert_eq!(
            spf("v=spf1 ptr:example.net +all", SpfPlace::Included),
            [Code::SpfPtr, Code::SpfPlusAll]
        );
        assert_eq!(spf("v=spf1 all", SpfPlace::Top), [Code::SpfPlusAll]);
        assert!(spf("v=spf1 mx -all", SpfPlace::Top).is_empty());
        assert!(spf("v=spf1 ?all", SpfPlace::Top).is_empty());
    }

    #[test]
    fn rfc7208_5_1_terms_after_all_and_6_1_redirect_ignored() {
        assert_eq!(
            spf("v=spf1 -all mx redirect=x.example", SpfPlace::Top),
            [Code::SpfTermsAfterAll, Code::SpfRedirectIgnored]
        );
        assert!(spf("v=spf1 mx redirect=x.example", SpfPlace::Top).is_empty());
    }

    #[test]
    fn rfc7208_4_7_no_all_only_for_the_top_record() {
        assert_eq!(spf("v=spf1 mx", SpfPlace::Top), [Code::SpfNoAll]);
        assert!(spf("v=spf1 mx", SpfPlace::Included).is_empty());
    }

    #[test]
    fn rfc7208_3_4_record_size() {
        let ranges: Vec<String> = (0..40).map(|i| format!("ip4:198.51.{i}.0/24")).collect();
        let text = format!("v=spf1 {} -all", ranges.join(" "));
        assert!(text.len() > SPF_RECORD_SIZE_LIMIT);
        assert_eq!(spf(&text, SpfPlace::Top), [Code::SpfRecordTooLong]);
        let findings = lint_spf_record(
            "example.com",
            &text,
            &SpfRecord::parse(&text).unwrap(),
            SpfPlace::Top,
        );
        assert!(
            findings[0]
                .message
                .contains(&format!("{} bytes", text.len()))
        );
    }

    fn dmarc(text: &str) -> Vec<Code> {
        codes(&lint_dmarc_record(
            "_dmarc.example.com",
            &DmarcRecord::parse(text.as_bytes()).unwrap(),
        ))
    }

    #[test]
    fn rfc9989_4_7_policy_strength_and_reports() {
        assert!(dmarc("v=DMARC1; p=reject; rua=mailto:d@example.com").is_empty());
        assert_eq!(dmarc("v=DMARC1; p=none"), [Code::DmarcNoneWithoutRua]);
        assert_eq!(
            dmarc("v=DMARC1; p=none; rua=mailto:d@example.com"),
            [Code::DmarcPolicyNone]
        );
        assert_eq!(
            dmarc("v=DMARC1; p=quarantine; rua=mailto:d@example.com"),
            [Code::DmarcPolicyQuarantine]
        );
        assert_eq!(dmarc("v=DMARC1; p=reject"), [Code::DmarcNoRua]);
        assert_eq!(
            dmarc("v=DMARC1; p=reject; sp=none; rua=mailto:d@example.com"),
            [Code::DmarcWeakerSubdomainPolicy]
        );
        assert_eq!(
            dmarc("v=DMARC1; p=reject; t=y; rua=mailto:d@example.com"),
            [Code::DmarcTesting]
        );
        assert_eq!(
            dmarc("v=DMARC1; p=reject; rua=https://reports.example.com/dmarc"),
            [Code::DmarcReportNotMailto]
        );
    }

    #[test]
    fn rfc9989_4_10_1_missing_or_invalid_policy() {
        assert_eq!(dmarc("v=DMARC1; sp=reject"), [Code::DmarcNoPolicy]);
        assert_eq!(
            dmarc("v=DMARC1; p=bogus; rua=mailto:d@example.com"),
            [Code::DmarcInvalidValue, Code::DmarcPolicyTreatedAsNone]
        );
    }

    #[test]
    fn rfc9989_4_8_tag_notes() {
        assert_eq!(
            dmarc(
                "v=DMARC1; p=reject; pct=50; rf=afrf; ri=86400; rua=mailto:d@example.com; \
                 adkim=x; junk; p=none; foo=bar; ruf=nonsense, mailto:f@example.com!10m; fo=1"
            ),
            [
                Code::DmarcRemovedTag,
                Code::DmarcRemovedTag,
                Code::DmarcRemovedTag,
                Code::DmarcInvalidValue,
                Code::DmarcMalformedTag,
                Code::DmarcDuplicateTag,
                Code::DmarcUnknownTag,
                Code::DmarcInvalidUri,
                Code::DmarcObsoleteSize,
            ]
        );
        assert_eq!(
            dmarc("v=DMARC1; p=reject; fo=1; rua=mailto:d@example.com"),
            [Code::DmarcFoWithoutRuf]
        );
    }

    fn key(strings: &[&str], given: bool) -> Vec<Code> {
        let name = Name::parse("s._domainkey.example.com").unwrap();
        let answer = if strings.is_empty() {
            Answer::NxDomain
        } else {
            Answer::Records(
                strings
                    .iter()
                    .map(|s| Record {
                        name: name.clone(),
                        ttl: 300,
                        data: RData::Txt(Txt::new([*s])),
                    })
                    .collect(),
            )
        };
        codes(&lint_dkim_key("s", &check_key(name, &answer, None), given))
    }

    const RSA1024: &str = "MIGfMA0GCSqGSIb3DQEBAQUAA4GNADCBiQKBgQDkHlOQoBTzWRiGs5V6NpP3idY6Wk08a5qhdR6wy5bdOKb2jLQiY/J16JYi0Qvx/byYzCNb3W91y3FutACDfzwQ/BC/e/8uBsCR+yz1Lxj+PL6lHvqMKrM3rG4hstT5QjvHO9PzoxZyVYLzBfO2EeC3Ip3G+2kryOTIKT+l/K4w3QIDAQAB";
    const ED: &str = "11qYAYKxCrfVS/7TyWQHOg7hcvPapiMlrwIaaPcHURo=";

    #[test]
    fn rfc6376_3_6_1_key_records() {
        assert_eq!(key(&[], true), [Code::DkimKeyMissing]);
        assert!(key(&[], false).is_empty());
        assert_eq!(key(&["v=DKIM1; p="], false), [Code::DkimRevoked]);
        assert_eq!(
            key(&["v=DKIM1; k=foo; p=abc"], false),
            [Code::DkimInvalidRecord]
        );
        assert_eq!(
            key(&["v=DKIM1; p=", "v=DKIM1; p="], true),
            [Code::DkimMultipleRecords]
        );
        assert_eq!(
            key(&[&format!("v=DKIM1; k=ed25519; p={ED}")], false),
            [Code::DkimKey]
        );
        assert_eq!(
            key(&[&format!("v=DKIM1; k=ed25519; t=y; s=chat; p={ED}")], true),
            [Code::DkimNotForEmail, Code::DkimTesting]
        );
    }

    #[test]
    fn rfc8301_3_key_size_and_sha1() {
        assert_eq!(
            key(&[&format!("v=DKIM1; h=sha1; p={RSA1024}")], true),
            [Code::DkimRsaWeak, Code::DkimSha256NotAllowed]
        );
        let name = Name::parse("s._domainkey.example.com").unwrap();
        let answer = Answer::Records(
            vec![Record {
                name: name.clone(),
                ttl: 1,
                data: RData::Txt(Txt::new([format!("v=DKIM1; h=sha1; p={RSA1024}")])),
            }]
            .into(),
        );
        let f = lint_dkim_key("s", &check_key(name, &answer, None), true);
        assert!(f[1].message.contains("only sha1"), "{}", f[1].message);
    }

    #[test]
    fn dns_failures_are_findings() {
        let name = Name::parse("s._domainkey.example.com").unwrap();
        let c = check_key(name, &Answer::Failed(FailureKind::Timeout), None);
        assert_eq!(
            codes(&lint_dkim_key("s", &c, false)),
            [Code::DkimDnsFailure]
        );
        let d = Name::parse("example.com").unwrap();
        assert_eq!(
            codes(&lint_mx_answer(&d, &Answer::Failed(FailureKind::ServFail))),
            [Code::MxDnsFailure]
        );
        let h = Name::parse("mx.example.com").unwrap();
        assert_eq!(
            codes(&lint_mx_target(
                &h,
                &Answer::Failed(FailureKind::Timeout),
                &Answer::NoData
            )),
            [Code::MxDnsFailure]
        );
    }

    fn mx(records: &[(u16, Option<&str>)]) -> Answer {
        let owner = Name::parse("example.com").unwrap();
        Answer::Records(
            records
                .iter()
                .map(|(p, x)| Record {
                    name: owner.clone(),
                    ttl: 1,
                    data: RData::Mx {
                        preference: *p,
                        exchange: x.map(|x| Name::parse(x).unwrap()),
                    },
                })
                .collect(),
        )
    }

    #[test]
    fn rfc7505_3_null_mx() {
        let d = Name::parse("example.com").unwrap();
        assert_eq!(
            codes(&lint_mx_answer(&d, &mx(&[(0, None)]))),
            [Code::MxNull]
        );
        assert_eq!(
            codes(&lint_mx_answer(&d, &mx(&[(10, None)]))),
            [Code::MxNull, Code::MxNullPreference]
        );
        assert_eq!(
            codes(&lint_mx_answer(
                &d,
                &mx(&[(0, None), (10, Some("mx.example.com"))])
            )),
            [Code::MxNullMixed]
        );
        assert_eq!(
            codes(&lint_mx_answer(&d, &Answer::NxDomain)),
            [Code::MxNxDomain]
        );
    }

    #[test]
    fn rfc1035_3_3_9_ip_literal_targets() {
        let d = Name::parse("example.com").unwrap();
        assert_eq!(
            codes(&lint_mx_answer(&d, &mx(&[(10, Some("192.0.2.25"))]))),
            [Code::MxTargetIpLiteral]
        );
        assert!(is_ip_literal("[192.0.2.1]"));
        assert!(is_ip_literal("IPv6:2001:db8::1"));
        assert!(is_ip_literal("2001:db8::1"));
        assert!(!is_ip_literal("mx1.example.com"));
        assert!(!is_ip_literal("1.2.3"));
    }

    #[test]
    fn rfc2181_10_3_alias_and_rfc5321_5_1_no_address() {
        let h = Name::parse("mx.example.com").unwrap();
        let target = Name::parse("real.example.com").unwrap();
        let a = Answer::Records(
            vec![
                Record {
                    name: h.clone(),
                    ttl: 1,
                    data: RData::Cname(target.clone()),
                },
                Record {
                    name: target,
                    ttl: 1,
                    data: RData::A("192.0.2.1".parse().unwrap()),
                },
            ]
            .into(),
        );
        assert_eq!(
            codes(&lint_mx_target(&h, &a, &Answer::NoData)),
            [Code::MxTargetCname]
        );
        assert_eq!(
            codes(&lint_mx_target(&h, &Answer::NxDomain, &Answer::NxDomain)),
            [Code::MxTargetNoAddress]
        );
    }
}
