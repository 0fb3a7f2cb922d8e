//! What an audit reports: findings with a severity, an area, a stable code, the RFC section
//! and the fix.

use serde::Serialize;
use std::fmt;
use std::str::FromStr;

/// How serious a finding is. Ordered: `Info < Warning < Error`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    /// Worth knowing; nothing is wrong.
    Info,
    /// Works, but is weak, deprecated or likely to break.
    Warning,
    /// Receivers get `permerror`/`temperror`, mail fails, or the record does nothing.
    Error,
}

impl Severity {
    /// Every severity, lowest first.
    pub const ALL: [Severity; 3] = [Severity::Info, Severity::Warning, Severity::Error];

    /// `info`, `warning` or `error`.
    pub fn as_str(self) -> &'static str {
        match self {
            Severity::Info => "info",
            Severity::Warning => "warning",
            Severity::Error => "error",
        }
    }
}

impl fmt::Display for Severity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A string that is not `info`, `warning` or `error`.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown severity {0:?} (expected info, warning or error)")]
pub struct UnknownSeverity(pub String);

impl FromStr for Severity {
    type Err = UnknownSeverity;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Severity::ALL
            .into_iter()
            .find(|v| v.as_str().eq_ignore_ascii_case(s))
            .ok_or_else(|| UnknownSeverity(s.to_owned()))
    }
}

/// What a finding is about.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Area {
    /// SPF records (RFC 7208).
    Spf,
    /// The DMARC policy and its report destinations (RFC 9989, RFC 9990, RFC 9991).
    Dmarc,
    /// DKIM key records (RFC 6376, RFC 8301, RFC 8463).
    Dkim,
    /// MX records (RFC 5321 §5.1, RFC 7505).
    Mx,
}

impl Area {
    /// Every area, in the order reports list them.
    pub const ALL: [Area; 4] = [Area::Spf, Area::Dmarc, Area::Dkim, Area::Mx];

    /// `spf`, `dmarc`, `dkim` or `mx`.
    pub fn as_str(self) -> &'static str {
        match self {
            Area::Spf => "spf",
            Area::Dmarc => "dmarc",
            Area::Dkim => "dkim",
            Area::Mx => "mx",
        }
    }

    /// The name people use: `SPF`, `DMARC`, `DKIM`, `MX`.
    pub fn title(self) -> &'static str {
        match self {
            Area::Spf => "SPF",
            Area::Dmarc => "DMARC",
            Area::Dkim => "DKIM",
            Area::Mx => "MX",
        }
    }
}

impl fmt::Display for Area {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Declares [`Code`] with its stable token, area, severity, RFC section and fix, in one table.
macro_rules! codes {
    ($(
        $(#[doc = $doc:literal])+
        $variant:ident = $token:literal, $area:ident, $severity:ident, $rfc:literal, $fix:literal;
    )+) => {
        /// The stable identifier of a finding: what went wrong, independent of the wording of
        /// the message. The token (`spf-plus-all`, ...) is what `--json` prints and scripts
        /// match on; each code has one area, one severity, one RFC section and one fix.
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
        #[non_exhaustive]
        pub enum Code {
            $( $(#[doc = $doc])+ $variant, )+
        }

        impl Code {
            /// Every code, in the order of this table.
            pub const ALL: &'static [Code] = &[$(Code::$variant),+];

            /// The stable token, such as `spf-plus-all`.
            pub fn as_str(self) -> &'static str {
                match self { $(Code::$variant => $token,)+ }
            }

            /// The area the code belongs to.
            pub fn area(self) -> Area {
                match self { $(Code::$variant => Area::$area,)+ }
            }

            /// The severity of findings with this code.
            pub fn severity(self) -> Severity {
                match self { $(Code::$variant => Severity::$severity,)+ }
            }

            /// The RFC section that makes this a problem (or defines the behaviour).
            pub fn rfc(self) -> &'static str {
                match self { $(Code::$variant => $rfc,)+ }
            }

            /// What to do about it, in one sentence.
            pub fn fix(self) -> &'static str {
                match self { $(Code::$variant => $fix,)+ }
            }
        }
    };
}

codes! {
    /// The domain publishes no SPF record.
    SpfMissing = "spf-missing", Spf, Warning, "RFC 7208 §4.5",
        "Publish one TXT record such as \"v=spf1 mx -all\" naming the hosts that send mail for the domain, or \"v=spf1 -all\" if it sends none.";
    /// More than one `v=spf1` record at one name: receivers return `permerror`.
    SpfMultipleRecords = "spf-multiple-records", Spf, Error, "RFC 7208 §4.5",
        "Merge the SPF records into a single TXT record: a name with several gives permerror.";
    /// A record does not parse.
    SpfSyntax = "spf-syntax", Spf, Error, "RFC 7208 §4.6",
        "Correct the term named in the message: any syntax error makes receivers return permerror.";
    /// More than 10 DNS-querying terms in the worst case.
    SpfTooManyLookups = "spf-too-many-lookups", Spf, Error, "RFC 7208 §4.6.4",
        "Bring the include, a, mx, ptr, exists and redirect terms down to at most 10, for example by replacing a and mx with ip4/ip6 ranges or dropping unused includes.";
    /// More than 2 lookups that find nothing (NXDOMAIN or no records).
    SpfTooManyVoidLookups = "spf-too-many-void-lookups", Spf, Error, "RFC 7208 §4.6.4",
        "Remove the terms whose targets do not exist or have no records: a third void lookup gives permerror.";
    /// The deprecated `ptr` mechanism.
    SpfPtr = "spf-ptr", Spf, Warning, "RFC 7208 §5.5",
        "Replace ptr with ip4/ip6 or a terms: ptr is slow, unreliable and SHOULD NOT be published.";
    /// `+all`: every host on the internet may send as the domain.
    SpfPlusAll = "spf-plus-all", Spf, Error, "RFC 7208 §5.1",
        "Replace +all with -all (or ~all): +all authorises every host on the internet.";
    /// An `include` target publishes no SPF record.
    SpfIncludeNoRecord = "spf-include-no-record", Spf, Error, "RFC 7208 §5.2",
        "Remove the include or correct its domain: an include target without an SPF record gives permerror.";
    /// A `redirect` target publishes no SPF record.
    SpfRedirectNoRecord = "spf-redirect-no-record", Spf, Error, "RFC 7208 §6.1",
        "Point redirect= at a domain that publishes an SPF record: otherwise receivers return permerror.";
    /// A record longer than 512 bytes.
    SpfRecordTooLong = "spf-record-too-long", Spf, Warning, "RFC 7208 §3.4",
        "Shorten the record (move ranges into an include of your own) so that the DNS answer fits in 512 bytes.";
    /// Terms after `all`, which are never evaluated.
    SpfTermsAfterAll = "spf-terms-after-all", Spf, Warning, "RFC 7208 §5.1",
        "Move all to the end of the record: the terms after it are never evaluated.";
    /// `redirect=` in a record that has `all`, so the redirect is ignored.
    SpfRedirectIgnored = "spf-redirect-ignored", Spf, Warning, "RFC 7208 §6.1",
        "Remove either redirect= or all: redirect is ignored in a record that has all.";
    /// Neither `all` nor `redirect`: senders that match nothing get `neutral`.
    SpfNoAll = "spf-no-all", Spf, Warning, "RFC 7208 §4.7",
        "End the record with -all or ~all: without it, senders that match nothing get neutral.";
    /// An `include` or `redirect` loop.
    SpfLoop = "spf-loop", Spf, Error, "RFC 7208 §4.6.4",
        "Break the loop: an include or redirect that leads back to a record being evaluated gives permerror.";
    /// An `mx` target with more than 10 MX names.
    SpfTooManyMxNames = "spf-too-many-mx-names", Spf, Error, "RFC 7208 §4.6.4",
        "Point mx at a domain with at most 10 MX hosts, or list the senders with ip4/ip6.";
    /// The evaluation ended in a way this audit has no specific code for.
    SpfEvaluationError = "spf-evaluation-error", Spf, Error, "RFC 7208 §4.6",
        "Correct the record named in the message: receivers cannot evaluate it.";
    /// A DNS lookup for SPF failed.
    SpfDnsFailure = "spf-dns-failure", Spf, Error, "RFC 7208 §4.4",
        "Make the failing name resolve (check its nameservers): receivers return temperror while it fails.";

    /// No DMARC policy applies to the domain.
    DmarcMissing = "dmarc-missing", Dmarc, Warning, "RFC 9989 §4.10.1",
        "Publish a TXT record at _dmarc.<domain> such as \"v=DMARC1; p=none; rua=mailto:dmarc@<domain>\" and tighten p once the reports are clean.";
    /// A TXT record at a `_dmarc` name that is not a DMARC record.
    DmarcInvalidRecord = "dmarc-invalid-record", Dmarc, Error, "RFC 9989 §4.7",
        "Begin the record with exactly \"v=DMARC1;\" (case-sensitive): receivers discard anything else.";
    /// More than one DMARC record at one name: all are discarded.
    DmarcMultipleRecords = "dmarc-multiple-records", Dmarc, Error, "RFC 9989 §4.10",
        "Keep exactly one v=DMARC1 record at the name: receivers discard them all when there are several.";
    /// No valid `p` and no valid `rua`: the record is ignored.
    DmarcNoPolicy = "dmarc-no-policy", Dmarc, Error, "RFC 9989 §4.10.1",
        "Add a valid p= tag (none, quarantine or reject): without p and rua receivers ignore the record.";
    /// No valid `p`, but a valid `rua`: receivers act as if `p=none`.
    DmarcPolicyTreatedAsNone = "dmarc-policy-treated-as-none", Dmarc, Warning, "RFC 9989 §4.10.1",
        "Add a valid p= tag: until then receivers act as if the record said p=none.";
    /// `p=none`: monitoring only.
    DmarcPolicyNone = "dmarc-policy-none", Dmarc, Warning, "RFC 9989 §4.7",
        "Move to p=quarantine, then p=reject, once aggregate reports show that your mail passes.";
    /// `p=quarantine`.
    DmarcPolicyQuarantine = "dmarc-policy-quarantine", Dmarc, Info, "RFC 9989 §4.7",
        "Consider p=reject once aggregate reports show that legitimate mail passes.";
    /// `p=none` and no `rua`: the record has no effect at all.
    DmarcNoneWithoutRua = "dmarc-none-without-rua", Dmarc, Warning, "RFC 9989 §4.7",
        "Add rua=mailto:<address>: with p=none and no reports the record achieves nothing.";
    /// No `rua`: no aggregate reports.
    DmarcNoRua = "dmarc-no-rua", Dmarc, Info, "RFC 9990 §4",
        "Add rua=mailto:<address> to learn who sends mail as the domain.";
    /// `sp` or `np` is weaker than `p`.
    DmarcWeakerSubdomainPolicy = "dmarc-weaker-subdomain-policy", Dmarc, Info, "RFC 9989 §4.7",
        "Make sp= and np= as strict as p= unless subdomains still send mail that does not pass.";
    /// `t=y`: receivers apply the policy one level lower.
    DmarcTesting = "dmarc-testing", Dmarc, Warning, "RFC 9989 §4.7",
        "Remove t=y once testing is over: it makes receivers apply the policy one level lower.";
    /// `pct`, `rf` or `ri`, removed by RFC 9989, still published.
    DmarcRemovedTag = "dmarc-removed-tag", Dmarc, Warning, "RFC 9989 Appendix C.5.2",
        "Remove pct, rf and ri: RFC 9989 removed them and receivers ignore them (use t=y instead of pct).";
    /// A tag with an invalid value, ignored.
    DmarcInvalidValue = "dmarc-invalid-value", Dmarc, Warning, "RFC 9989 §4.8",
        "Correct the value: receivers ignore the tag and use its default.";
    /// Text between two `;` that is not `name=value`, ignored.
    DmarcMalformedTag = "dmarc-malformed-tag", Dmarc, Warning, "RFC 9989 §4.8",
        "Write the tag as name=value or remove it: receivers ignore it.";
    /// A tag given twice; the first is used.
    DmarcDuplicateTag = "dmarc-duplicate-tag", Dmarc, Warning, "RFC 9989 §4.8",
        "Keep one occurrence of the tag: receivers use the first and ignore the rest.";
    /// A `rua`/`ruf` entry that is not a URI, ignored.
    DmarcInvalidUri = "dmarc-invalid-uri", Dmarc, Warning, "RFC 9989 §4.8",
        "Write report destinations as URIs such as mailto:dmarc@example.com, separated by commas.";
    /// A tag RFC 9989 does not define, ignored.
    DmarcUnknownTag = "dmarc-unknown-tag", Dmarc, Info, "RFC 9989 §4.7",
        "Remove the tag unless a receiver you care about documents it: receivers ignore unknown tags.";
    /// A `!size` suffix of RFC 7489, ignored.
    DmarcObsoleteSize = "dmarc-obsolete-size", Dmarc, Info, "RFC 9989 §4.8",
        "Drop the !size suffix from the URI: RFC 9989 receivers ignore it.";
    /// `fo` without `ruf`, ignored.
    DmarcFoWithoutRuf = "dmarc-fo-without-ruf", Dmarc, Info, "RFC 9989 §4.7",
        "Remove fo= or add ruf=: failure options mean nothing without a failure report address.";
    /// A report destination that is not a `mailto:` URI.
    DmarcReportNotMailto = "dmarc-report-not-mailto", Dmarc, Info, "RFC 9989 §4.7",
        "Prefer mailto: report URIs: it is the only scheme every receiver must support.";
    /// An external `rua` destination has not authorised the domain: its reports are dropped.
    DmarcRuaNotAuthorized = "dmarc-rua-not-authorized", Dmarc, Warning, "RFC 9990 §4",
        "Have the destination publish the TXT record named in the message (\"v=DMARC1;\"), or send reports to an address in your own organizational domain.";
    /// An external `ruf` destination has not authorised the domain: its reports are dropped.
    DmarcRufNotAuthorized = "dmarc-ruf-not-authorized", Dmarc, Warning, "RFC 9991 §5",
        "Have the destination publish the TXT record named in the message (\"v=DMARC1;\"), or send failure reports to an address in your own organizational domain.";
    /// A report destination that cannot be used (override to another host, no domain, name too long).
    DmarcReportUnusable = "dmarc-report-unusable", Dmarc, Warning, "RFC 9990 §4",
        "Replace the report URI with a mailto: address whose domain can authorise reports.";
    /// The domain has no record of its own; the organizational domain's applies.
    DmarcPolicyInherited = "dmarc-policy-inherited", Dmarc, Info, "RFC 9989 §4.10.1",
        "Publish a record at _dmarc.<domain> only if the domain needs a policy other than the inherited sp=/np=.";
    /// Legacy (RFC 7489, Public Suffix List) receivers find a different policy record.
    DmarcPslPolicyDiffers = "dmarc-psl-policy-differs", Dmarc, Warning, "RFC 9989 §4.10",
        "Publish the record where both methods find it (at the domain itself) so that RFC 7489 and RFC 9989 receivers apply the same policy.";
    /// Legacy receivers determine a different organizational domain (relaxed alignment differs).
    DmarcPslOrgDomainDiffers = "dmarc-psl-org-domain-differs", Dmarc, Info, "RFC 9989 §4.10.2",
        "Check relaxed alignment against both organizational domains, or use psd=n/psd=y to make the tree walk agree with the Public Suffix List.";
    /// A DNS lookup for DMARC failed.
    DmarcDnsFailure = "dmarc-dns-failure", Dmarc, Error, "RFC 9989 §4.10",
        "Make the failing name resolve (check its nameservers): receivers return temperror while it fails.";

    /// A selector given with `--selector` has no key record.
    DkimKeyMissing = "dkim-key-missing", Dkim, Error, "RFC 6376 §6.1.2",
        "Publish the key record at <selector>._domainkey.<domain> (mailstamp records --dkim-key prints it) or stop signing with this selector.";
    /// Several TXT records at one key name.
    DkimMultipleRecords = "dkim-multiple-records", Dkim, Error, "RFC 6376 §6.1.2",
        "Keep exactly one TXT record at the key name.";
    /// A key record that does not parse.
    DkimInvalidRecord = "dkim-invalid-record", Dkim, Error, "RFC 6376 §3.6.1",
        "Correct the key record: signatures with this selector get permerror.";
    /// An empty `p=`: the key is revoked.
    DkimRevoked = "dkim-revoked", Dkim, Info, "RFC 6376 §3.6.1",
        "Nothing to do if the selector is retired; otherwise publish its public key in p=.";
    /// An RSA key under 1024 bits, which no verifier accepts.
    DkimRsaTooShort = "dkim-rsa-too-short", Dkim, Error, "RFC 8301 §3.2",
        "Generate a 2048-bit key (mailstamp keygen) and publish it under a new selector.";
    /// An RSA key under 2048 bits.
    DkimRsaWeak = "dkim-rsa-weak", Dkim, Warning, "RFC 8301 §3.2",
        "Generate a 2048-bit key (mailstamp keygen) and publish it under a new selector.";
    /// `h=` does not allow sha256 (typically `h=sha1`): no signature can pass.
    DkimSha256NotAllowed = "dkim-sha256-not-allowed", Dkim, Error, "RFC 8301 §3.1",
        "Remove h= (or list sha256 in it): verifiers refuse rsa-sha1, so no signature with this key can pass.";
    /// `s=` does not allow email.
    DkimNotForEmail = "dkim-not-for-email", Dkim, Error, "RFC 6376 §3.6.1",
        "Remove s= or set s=email.";
    /// `t=y`: the domain is testing DKIM.
    DkimTesting = "dkim-testing", Dkim, Warning, "RFC 6376 §3.6.1",
        "Remove t=y once signing works: receivers may treat signed mail as unsigned.";
    /// A usable key (its type and size).
    DkimKey = "dkim-key", Dkim, Info, "RFC 6376 §3.6.1",
        "No action needed.";
    /// Only Ed25519 keys: receivers without RFC 8463 support see no valid signature.
    DkimEd25519Only = "dkim-ed25519-only", Dkim, Warning, "RFC 8463 §6",
        "Also sign with an RSA key (2048 bits) under a second selector: not every receiver verifies Ed25519.";
    /// No key found under the given or common selectors.
    DkimNoKeyFound = "dkim-no-key-found", Dkim, Info, "RFC 6376 §3.6.2.1",
        "Name the selectors you sign with (--selector): selectors cannot be listed from the DNS.";
    /// A DNS lookup for a key record failed.
    DkimDnsFailure = "dkim-dns-failure", Dkim, Error, "RFC 6376 §6.1.2",
        "Make the failing name resolve (check its nameservers): signatures get temperror while it fails.";

    /// The domain does not exist.
    MxNxDomain = "mx-nxdomain", Mx, Error, "RFC 5321 §5.1",
        "Check the domain name: it does not exist in the DNS, so it can neither send nor receive mail.";
    /// No MX record.
    MxMissing = "mx-missing", Mx, Warning, "RFC 5321 §5.1",
        "Publish MX records for the hosts that receive mail, or a null MX (\"0 .\") if the domain receives none.";
    /// A null MX: the domain accepts no mail.
    MxNull = "mx-null", Mx, Info, "RFC 7505 §3",
        "No action needed if the domain receives no mail; pair it with \"v=spf1 -all\" and p=reject if it sends none either.";
    /// A null MX together with other MX records.
    MxNullMixed = "mx-null-mixed", Mx, Error, "RFC 7505 §3",
        "Remove either the null MX or the other MX records: a domain with a null MX MUST NOT publish others.";
    /// A null MX with a preference other than 0.
    MxNullPreference = "mx-null-preference", Mx, Warning, "RFC 7505 §3",
        "Publish the null MX as \"0 .\": its preference is 0.";
    /// An MX target that is an alias (CNAME).
    MxTargetCname = "mx-target-cname", Mx, Error, "RFC 2181 §10.3",
        "Point the MX at the canonical host name, not at an alias.";
    /// An MX target that is an IP address written as a name.
    MxTargetIpLiteral = "mx-target-ip-literal", Mx, Error, "RFC 1035 §3.3.9",
        "Point the MX at a host name that has A/AAAA records: an MX holds a domain name, not an address.";
    /// An MX target without A or AAAA records.
    MxTargetNoAddress = "mx-target-no-address", Mx, Error, "RFC 5321 §5.1",
        "Give the MX host A/AAAA records or remove it from the MX set.";
    /// A DNS lookup for MX failed.
    MxDnsFailure = "mx-dns-failure", Mx, Error, "RFC 5321 §5.1",
        "Make the failing name resolve (check its nameservers): senders defer mail while it fails.";
}

impl fmt::Display for Code {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl Serialize for Code {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.as_str())
    }
}

/// One thing an audit (or `records`) found.
///
/// The severity, area, RFC section and fix come from the [`Code`]; the message and the
/// subject (the name the finding is about) are specific to the case.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Finding {
    /// How serious it is.
    pub severity: Severity,
    /// What it is about.
    pub area: Area,
    /// The stable code.
    pub code: Code,
    /// The RFC section, such as `RFC 7208 §4.6.4`.
    pub rfc: &'static str,
    /// What was found, for a person.
    pub message: String,
    /// What to do, in one sentence.
    pub fix: &'static str,
    /// The DNS name (or selector) the finding is about.
    pub subject: String,
}

impl Finding {
    /// A finding with the code's severity, area, RFC section and fix.
    pub fn new(code: Code, subject: impl Into<String>, message: impl Into<String>) -> Finding {
        Finding {
            severity: code.severity(),
            area: code.area(),
            code,
            rfc: code.rfc(),
            message: message.into(),
            fix: code.fix(),
            subject: subject.into(),
        }
    }
}

impl fmt::Display for Finding {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{}[{}] {} ({})",
            self.severity, self.code, self.message, self.rfc
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashSet;

    #[test]
    fn codes_are_unique_prefixed_by_area_and_complete() {
        let mut seen = HashSet::new();
        for &code in Code::ALL {
            assert!(seen.insert(code.as_str()), "duplicate token {code}");
            assert!(
                code.as_str().starts_with(&format!("{}-", code.area())),
                "{code} is not prefixed by its area"
            );
            assert!(code.rfc().starts_with("RFC "), "{code}: {}", code.rfc());
            assert!(code.fix().ends_with('.'), "{code}: fix is not a sentence");
            assert_eq!(
                code.fix().matches(". ").count(),
                0,
                "{code}: fix is more than one sentence"
            );
        }
        for area in Area::ALL {
            assert!(Code::ALL.iter().any(|c| c.area() == area));
        }
    }

    #[test]
    fn severities_order_and_parse() {
        assert!(Severity::Info < Severity::Warning && Severity::Warning < Severity::Error);
        assert_eq!("Warning".parse::<Severity>().unwrap(), Severity::Warning);
        assert!("fatal".parse::<Severity>().is_err());
    }

    #[test]
    fn finding_serializes_with_its_code_token() {
        let f = Finding::new(Code::SpfPtr, "example.com", "ptr is used");
        let v = serde_json::to_value(&f).unwrap();
        assert_eq!(v["code"], "spf-ptr");
        assert_eq!(v["severity"], "warning");
        assert_eq!(v["area"], "spf");
        assert_eq!(v["rfc"], "RFC 7208 §5.5");
        assert_eq!(v["subject"], "example.com");
        assert!(f.to_string().starts_with("warning[spf-ptr] ptr is used"));
    }
}
