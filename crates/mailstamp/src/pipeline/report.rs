//! The report of one check: every verdict, the Authentication-Results field and the outcome.

use super::{Carry, Inner};
use mailstamp_arc::{ArcResult, ArcVerdict};
use mailstamp_authres::{
    AuthenticationResults, Keyword, Property, ResInfo, header_b_prefix, header_b_prefixes,
};
use mailstamp_dkim::{DkimProblem, DkimReport, DkimResult, DkimVerdict};
use mailstamp_dmarc::{Disposition, DmarcProblem, DmarcResult, DmarcVerdict};
use mailstamp_dns::Name;
use mailstamp_message::envelope::Envelope;
use mailstamp_message::{Anomaly, Authors};
use mailstamp_spf::{Identity, SpfResult, SpfVerdict};
use serde::ser::{Serialize, SerializeMap, Serializer};
use std::fmt;
use std::sync::Arc;

const SPF: Keyword = Keyword::from_static("spf");
const DKIM: Keyword = Keyword::from_static("dkim");
const DMARC: Keyword = Keyword::from_static("dmarc");
const ARC: Keyword = Keyword::from_static("arc");
const NONE: Keyword = Keyword::from_static("none");
const NEUTRAL: Keyword = Keyword::from_static("neutral");

/// What a check means for the message as a whole: the decision behind an exit status, shared
/// by `mailstamp check` and the bulk summary.
///
/// * [`Outcome::Pass`] when DMARC passes, or when no DMARC record applies (RFC 9989 §5.3.2:
///   DMARC does not apply) and SPF's MAIL FROM check passes or a DKIM signature passes whose
///   `d=` is an author domain, a parent or a subdomain of it (the alignment DMARC would have
///   checked, without the Organizational Domain lookup);
/// * [`Outcome::TempError`] when DMARC gives `temperror`, or when no DMARC record applies,
///   nothing passes and SPF or a DKIM signature gave `temperror` (a retry may pass);
/// * [`Outcome::NotPass`] otherwise: DMARC `fail` or `permerror`, no or several author domains,
///   or no DMARC record and nothing passing.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Outcome {
    /// Authenticated (exit status 0).
    Pass,
    /// Not authenticated (exit status 1).
    NotPass,
    /// Not decided because of a temporary failure (exit status 3).
    TempError,
}

impl Outcome {
    /// `pass`, `not-pass` or `temperror`.
    pub fn as_str(self) -> &'static str {
        match self {
            Outcome::Pass => "pass",
            Outcome::NotPass => "not-pass",
            Outcome::TempError => "temperror",
        }
    }
}

impl fmt::Display for Outcome {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Why the MAIL FROM identity was not checked. The result is then `none` (RFC 7208 §2.6.1: no
/// domain "was extracted from the SMTP session").
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum SpfSkip {
    /// No SMTP envelope is known (a stored message checked without `--ip`/`--helo`/
    /// `--mail-from` and without `--from-received`). Reason `no envelope`.
    NoEnvelope,
    /// The client and HELO are known but not the MAIL FROM reverse-path (a stored message
    /// without a Return-Path field). The HELO identity is still checked.
    NoMailFrom,
    /// `--from-received`: the message's trace fields name no usable envelope.
    Received {
        /// Why, as [`mailstamp_message::envelope::EnvelopeError`] says it.
        error: String,
    },
}

impl fmt::Display for SpfSkip {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            SpfSkip::NoEnvelope => f.write_str("no envelope"),
            SpfSkip::NoMailFrom => f.write_str("MAIL FROM unknown"),
            SpfSkip::Received { error } => write!(f, "no envelope: {error}"),
        }
    }
}

/// The SPF check of one identity: a verdict, or why there is none.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SpfCheck {
    /// The result (`none` when the check was skipped).
    pub result: SpfResult,
    /// The identity: MAIL FROM (also for a null reverse-path, where the HELO domain is checked
    /// in its place, RFC 7208 §2.4) or HELO.
    pub identity: Identity,
    /// Why the check did not run, if it did not.
    pub skipped: Option<SpfSkip>,
    /// The verdict, when the check ran.
    pub verdict: Option<SpfVerdict>,
}

impl SpfCheck {
    pub(super) fn checked(verdict: SpfVerdict) -> SpfCheck {
        SpfCheck {
            result: verdict.result,
            identity: verdict.identity,
            skipped: None,
            verdict: Some(verdict),
        }
    }

    pub(super) fn skipped(skip: SpfSkip) -> SpfCheck {
        SpfCheck {
            result: SpfResult::None,
            identity: Identity::MailFrom,
            skipped: Some(skip),
            verdict: None,
        }
    }

    /// The domain checked (`None` when skipped).
    pub fn domain(&self) -> Option<&str> {
        self.verdict.as_ref().map(|v| v.domain())
    }

    /// A short reason for anything but a mechanism's verdict: the skip reason or the problem.
    pub fn reason(&self) -> Option<String> {
        match (&self.skipped, &self.verdict) {
            (Some(skip), _) => Some(skip.to_string()),
            (None, Some(v)) => v.problem_text(),
            (None, None) => None,
        }
    }
}

impl Serialize for SpfCheck {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut m = s.serialize_map(Some(5))?;
        m.serialize_entry("result", &self.result)?;
        m.serialize_entry("identity", &self.identity)?;
        m.serialize_entry("domain", &self.domain())?;
        m.serialize_entry("reason", &self.reason())?;
        m.serialize_entry("details", &self.verdict)?;
        m.end()
    }
}

/// The verdict on one DKIM-Signature field, with the `header.b` value the
/// Authentication-Results field gives it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DkimCheck {
    /// The verdict.
    pub verdict: DkimVerdict,
    /// The `header.b` prefix (RFC 6008 §4) written for it; `None` when the signature was not
    /// reported or has no readable `b=`.
    pub header_b: Option<String>,
}

impl DkimCheck {
    /// The result.
    pub fn result(&self) -> DkimResult {
        self.verdict.result
    }

    /// The signing domain (`d=`), as written when it is not a valid name.
    pub fn domain(&self) -> Option<&str> {
        self.verdict.details.domain.as_deref()
    }

    /// The selector (`s=`).
    pub fn selector(&self) -> Option<&str> {
        self.verdict.details.selector.as_deref()
    }

    /// True when the signature was beyond the cap and not checked (RFC 6376 §6.1).
    pub fn is_not_checked(&self) -> bool {
        matches!(self.verdict.problem, Some(DkimProblem::NotChecked { .. }))
    }

    /// A short reason for a result other than `pass` (the problem's code in words, such as
    /// `body hash mismatch`).
    pub fn reason(&self) -> Option<String> {
        self.verdict
            .problem
            .as_ref()
            .map(|p| p.code().replace('_', " "))
    }
}

impl Serialize for DkimCheck {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let v = &self.verdict;
        let mut m = s.serialize_map(Some(11))?;
        m.serialize_entry("result", &v.result)?;
        m.serialize_entry("domain", &self.domain())?;
        m.serialize_entry("selector", &self.selector())?;
        m.serialize_entry("algorithm", &v.details.algorithm)?;
        m.serialize_entry("identity", &v.details.identity)?;
        m.serialize_entry("header_b", &self.header_b)?;
        m.serialize_entry("reason", &self.reason())?;
        m.serialize_entry("explanation", &v.problem.as_ref().map(ToString::to_string))?;
        m.serialize_entry("problem", &v.problem)?;
        m.serialize_entry("details", &v.details)?;
        m.serialize_entry("forensics", &v.forensics)?;
        m.end()
    }
}

/// Why a DMARC disposition was overridden by local policy (RFC 9989 §5.3.2; the override
/// reasons of RFC 9990 aggregate reports are coarser).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize)]
#[serde(rename_all = "kebab-case")]
#[non_exhaustive]
pub enum OverrideReason {
    /// A trusted ARC sealer's chain passes and its ARC-Authentication-Results say the message
    /// passed upstream (RFC 8617 §7.2.1).
    Arc,
}

impl OverrideReason {
    /// `arc`.
    pub fn as_str(self) -> &'static str {
        match self {
            OverrideReason::Arc => "arc",
        }
    }
}

impl fmt::Display for OverrideReason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Which upstream result, recorded by a trusted sealer, justified an ARC override.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize)]
#[serde(rename_all = "kebab-case")]
#[non_exhaustive]
pub enum UpstreamPass {
    /// `dmarc=pass` for the same author domain.
    Dmarc,
    /// `dkim=pass` with a `header.d` aligned with the author domain.
    Dkim,
    /// `spf=pass` with an `smtp.mailfrom` aligned with the author domain.
    Spf,
}

impl UpstreamPass {
    /// `dmarc`, `dkim` or `spf`.
    pub fn as_str(self) -> &'static str {
        match self {
            UpstreamPass::Dmarc => "dmarc",
            UpstreamPass::Dkim => "dkim",
            UpstreamPass::Spf => "spf",
        }
    }
}

/// A local-policy override of the DMARC disposition (RFC 9989 §5.3.2: the Mail Receiver may
/// deviate from the Domain Owner's policy). The DMARC result itself stays as evaluated.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct DmarcOverride {
    /// Why: [`OverrideReason::Arc`].
    pub reason: OverrideReason,
    /// The disposition DMARC asked for.
    pub requested: Disposition,
    /// The disposition applied instead: `none`.
    pub applied: Disposition,
    /// The trusted sealer (ARC-Seal `d=`) whose word was taken.
    pub sealer: String,
    /// Its ARC instance.
    pub instance: u32,
    /// What it recorded as passing.
    pub upstream: UpstreamPass,
}

/// The ARC part of a report as JSON: `{"result", "instances", "oldest_pass",
/// "failed_instance", "problem": {"code", "message"} | null, "sealers": [...]}`, one sealer
/// object per ARC set (RFC 8617 §5.2). `mailstamp check`, `arc verify` and `arc seal` print
/// this same object.
#[derive(Debug, Clone, Copy)]
pub struct ArcSummary<'a>(pub &'a ArcVerdict);

impl Serialize for ArcSummary<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        #[derive(serde::Serialize)]
        struct Problem {
            code: &'static str,
            message: String,
        }
        let v = self.0;
        let mut m = s.serialize_map(Some(6))?;
        m.serialize_entry("result", &v.result)?;
        m.serialize_entry("instances", &v.instances)?;
        m.serialize_entry("oldest_pass", &v.oldest_pass)?;
        m.serialize_entry("failed_instance", &v.failed_instance)?;
        m.serialize_entry(
            "problem",
            &v.problem.as_ref().map(|p| Problem {
                code: p.code(),
                message: p.to_string(),
            }),
        )?;
        m.serialize_entry("sealers", &v.sets)?;
        m.end()
    }
}

/// What was checked: the message's size and shape.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct MessageSummary {
    /// Size in bytes, as given.
    pub size: usize,
    /// Number of header fields found.
    pub header_fields: usize,
    /// The message had bare LF line endings, read as CRLF.
    pub line_endings_normalized: bool,
    /// Anything unusual about its structure (no body, no separator, ...).
    pub anomalies: Vec<Anomaly>,
}

/// Everything one check found.
///
/// As JSON (serde), the object holds `outcome`, `spf` (`result`, `identity`, `domain`,
/// `reason`, `details`), `spf_helo` (the same, or null), `dkim` (one object per
/// DKIM-Signature field: `result`, `domain`, `selector`, `algorithm`, `identity`, `header_b`,
/// `reason`, `problem`, `details`, `forensics`; `[]` for an unsigned message), `dmarc`
/// (`result`, `disposition`, `problem`, `author_domain`, `record`, `policy_domain`,
/// `alignment`, ...), `dmarc_override` (a [`DmarcOverride`] or null), `arc` ([`ArcSummary`]:
/// `result`, `instances`, `oldest_pass`, `sealers`, ...), `from` (authors, domains, problems), `envelope`, `message`, `now` and
/// `authentication_results` (the whole field, CRLF folds included).
///
/// The Authentication-Results field is written when asked for
/// ([`Report::authentication_results`]), from the verdicts the report holds: a caller that
/// only reads the verdicts (a bulk run's summary line) does not pay for it.
#[derive(Debug, Clone)]
pub struct Report {
    /// The time of the check (Unix seconds).
    pub now: u64,
    /// The SMTP envelope used, when known.
    pub envelope: Option<Envelope>,
    /// The message's shape.
    pub message: MessageSummary,
    /// The RFC5322.From authors.
    pub from: Authors,
    /// SPF for the MAIL FROM identity (or the HELO domain for a null reverse-path): the one
    /// DMARC uses.
    pub spf: SpfCheck,
    /// SPF for the HELO identity, when checked separately (RFC 7208 §2.3).
    pub spf_helo: Option<SpfCheck>,
    /// One check per DKIM-Signature field, top to bottom (those beyond the cap are `neutral`,
    /// not checked).
    pub dkim: Vec<DkimCheck>,
    /// The DMARC verdict (RFC 9989).
    pub dmarc: DmarcVerdict,
    /// The local-policy override of the DMARC disposition, when a trusted ARC sealer vouches
    /// for the message ([`CheckOptions::arc_trusted_sealers`]).
    ///
    /// [`CheckOptions::arc_trusted_sealers`]: super::CheckOptions::arc_trusted_sealers
    pub dmarc_override: Option<DmarcOverride>,
    /// The ARC chain (RFC 8617 §5.2).
    pub arc: ArcVerdict,
    /// The authserv-id the Authentication-Results field names (`CheckOptions::authserv_id`,
    /// shared with the authenticator).
    authserv_id: Arc<str>,
}

impl Report {
    pub(super) fn new(
        inner: &Inner,
        carry: Carry,
        spf: SpfCheck,
        spf_helo: Option<SpfCheck>,
        dkim: DkimReport,
        arc: ArcVerdict,
        dmarc: DmarcVerdict,
    ) -> Report {
        let Carry {
            now,
            envelope,
            message,
            from,
            ..
        } = carry;
        let mut dkim: Vec<DkimCheck> = dkim
            .signatures
            .into_iter()
            .map(|verdict| DkimCheck {
                verdict,
                header_b: None,
            })
            .collect();
        set_header_b(&mut dkim);
        Report {
            now,
            envelope,
            message,
            from,
            spf,
            spf_helo,
            dkim,
            dmarc_override: arc_override(&inner.options.arc_trusted_sealers, &dmarc, &arc),
            dmarc,
            arc,
            authserv_id: Arc::clone(&inner.authserv_id),
        }
    }

    /// The authserv-id of the Authentication-Results field (RFC 8601 §2.5):
    /// [`CheckOptions::authserv_id`].
    ///
    /// [`CheckOptions::authserv_id`]: super::CheckOptions::authserv_id
    pub fn authserv_id(&self) -> &str {
        &self.authserv_id
    }

    /// The Authentication-Results field (RFC 8601): `spf=` for MAIL FROM (and HELO when
    /// checked separately), one `dkim=` per checked signature (`dkim=none` for an unsigned
    /// message, and one `dkim=neutral` summing up the signatures beyond the cap), then
    /// `dmarc=`, then `arc=`. Written from the report's verdicts each time it is called, so
    /// two calls give equal fields.
    pub fn authentication_results(&self) -> AuthenticationResults {
        self.write_authentication_results(&self.authserv_id)
    }

    /// The disposition to apply: DMARC's, or `none` when a local-policy override applies
    /// ([`Report::dmarc_override`]).
    pub fn disposition(&self) -> Disposition {
        self.dmarc_override
            .as_ref()
            .map_or(self.dmarc.disposition, |o| o.applied)
    }

    /// What the check means for the message: see [`Outcome`]. A DMARC override does not
    /// change it: the message still did not authenticate.
    pub fn outcome(&self) -> Outcome {
        match self.dmarc.result {
            DmarcResult::Pass => Outcome::Pass,
            DmarcResult::TempError => Outcome::TempError,
            DmarcResult::Fail | DmarcResult::PermError => Outcome::NotPass,
            DmarcResult::None => {
                if !matches!(self.dmarc.problem, Some(DmarcProblem::NoPolicy)) {
                    return Outcome::NotPass;
                }
                let checked = || self.dkim.iter().filter(|c| !c.is_not_checked());
                if self.spf.result == SpfResult::Pass
                    || checked()
                        .any(|c| c.result() == DkimResult::Pass && self.is_author_aligned(c))
                {
                    Outcome::Pass
                } else if self.spf.result == SpfResult::TempError
                    || checked().any(|c| c.result() == DkimResult::TempError)
                {
                    Outcome::TempError
                } else {
                    Outcome::NotPass
                }
            }
        }
    }

    /// True when the signature's `d=` is an author domain, a parent or a subdomain of one.
    fn is_author_aligned(&self, check: &DkimCheck) -> bool {
        let Some(d) = check
            .domain()
            .and_then(|d| mailstamp_dns::Name::parse(d).ok())
        else {
            return false;
        };
        self.from
            .domains()
            .iter()
            .any(|a| a.is_subdomain_of(&d) || d.is_subdomain_of(a))
    }

    /// The author domain(s) as `header.from` writes them: the one DMARC evaluated, else every
    /// distinct domain of the From field(s), comma-separated.
    pub fn header_from(&self) -> Option<String> {
        match self.header_from_domains() {
            [] => None,
            [one] => Some(one.as_str().to_owned()),
            domains => Some(
                domains
                    .iter()
                    .map(mailstamp_dns::Name::as_str)
                    .collect::<Vec<_>>()
                    .join(","),
            ),
        }
    }

    /// The domains [`Report::header_from`] joins with commas, without writing them: the one
    /// DMARC evaluated, else every distinct domain of the From field(s); empty when there is
    /// none.
    pub fn header_from_domains(&self) -> &[Name] {
        match self.dmarc.author_domain() {
            Some(d) => std::slice::from_ref(d),
            None => self.from.domains(),
        }
    }

    /// The Authentication-Results field, as [`Report::authentication_results`] describes it.
    fn write_authentication_results(&self, authserv_id: &str) -> AuthenticationResults {
        let mut ar = AuthenticationResults::new(authserv_id);
        ar = ar.with(self.spf_resinfo());
        if let Some(helo) = &self.spf_helo {
            let mut ri = ResInfo::new(SPF, Keyword::from_static(helo.result.as_str()));
            if let Some(reason) = helo.reason() {
                ri = ri.with_reason(reason);
            }
            if let Some(v) = &helo.verdict {
                ri = ri.with_property(Property::smtp_helo(v.helo()));
            }
            ar = ar.with(ri);
        }
        if self.dkim.is_empty() {
            ar = ar.with(ResInfo::new(DKIM, NONE));
        }
        let mut not_checked = 0usize;
        let mut limit = 0usize;
        for check in &self.dkim {
            if let Some(DkimProblem::NotChecked { limit: l }) = &check.verdict.problem {
                not_checked = not_checked.saturating_add(1);
                limit = *l;
                continue;
            }
            ar = ar.with(dkim_resinfo(check));
        }
        if not_checked > 0 {
            ar = ar.with(ResInfo::new(DKIM, NEUTRAL).with_reason(format!(
                "{not_checked} more DKIM signatures not checked (limit {limit})"
            )));
        }
        ar.with(self.dmarc_resinfo()).with(self.arc_resinfo())
    }

    /// `arc=none|pass|fail` (RFC 8617 §10.1): for a message with ARC sets, the newest instance
    /// in a comment and `smtp.remote-ip` (the SMTP client, when known); for a passing chain, `header.oldest-pass` (RFC 8617 §5.2 step 5); the reason for a
    /// `fail`.
    fn arc_resinfo(&self) -> ResInfo {
        let a = &self.arc;
        let mut ri = ResInfo::new(ARC, Keyword::from_static(a.result.as_str()));
        if a.instances > 0 {
            ri = ri.with_comment(format!("i={}", a.instances));
        }
        if let Some(problem) = &a.problem {
            ri = ri.with_reason(problem.code().replace('_', " "));
        }
        if a.instances > 0
            && let Some(env) = &self.envelope
        {
            ri = ri.with_property(Property::new(
                Keyword::from_static("smtp"),
                Keyword::from_static("remote-ip"),
                env.client_ip.to_string(),
            ));
        }
        if let Some(op) = a.oldest_pass {
            ri = ri.with_property(Property::new(
                Keyword::from_static("header"),
                Keyword::from_static("oldest-pass"),
                op.to_string(),
            ));
        }
        ri
    }

    fn spf_resinfo(&self) -> ResInfo {
        let spf = &self.spf;
        let mut ri = ResInfo::new(SPF, Keyword::from_static(spf.result.as_str()));
        if let Some(reason) = spf.reason() {
            ri = ri.with_reason(reason);
        }
        if let Some(v) = &spf.verdict {
            let null = self
                .envelope
                .as_ref()
                .and_then(|e| e.mail_from.as_deref())
                .is_some_and(super::is_null_path);
            ri = if null {
                // The null reverse-path: the HELO domain was checked in its place.
                ri.with_comment("null reverse-path")
                    .with_property(Property::smtp_helo(v.helo()))
            } else {
                ri.with_property(Property::smtp_mailfrom(v.domain()))
            };
        }
        ri
    }

    fn dmarc_resinfo(&self) -> ResInfo {
        let d = &self.dmarc;
        let mut ri = ResInfo::new(DMARC, Keyword::from_static(d.result.as_str()));
        if let Some(record) = d.record() {
            let p = record.policy.map_or("invalid", |p| p.as_str());
            let mut comment = format!("p={p} dis={}", self.disposition().as_str());
            if let Some(o) = &self.dmarc_override {
                comment.push_str(&format!(
                    " override={} sealer={} i={} upstream={}",
                    o.reason,
                    o.sealer,
                    o.instance,
                    o.upstream.as_str()
                ));
            }
            ri = ri.with_comment(comment);
        }
        if let Some(problem) = &d.problem {
            ri = ri.with_reason(problem.to_string());
        }
        if let Some(from) = self.header_from() {
            ri = ri.with_property(Property::header_from(from));
        }
        ri.with_property(Property::policy(DMARC, self.disposition().as_str()))
    }
}

/// Sets `header.b` for every reported signature that has a `b=` (RFC 6008 §4), from the value
/// the verifier read (the signatures are not parsed again here): the shortest prefix that
/// tells it apart from the others ([`header_b_prefixes`]).
fn set_header_b(dkim: &mut [DkimCheck]) {
    let mut reported = dkim.iter().filter_map(b_of);
    let (Some(first), second) = (reported.next(), reported.next()) else {
        return;
    };
    if second.is_none() {
        // The usual message, one signature: nothing to tell it apart from, and no list of
        // values to build.
        let prefix = header_b_prefix(first);
        if let Some(check) = dkim.iter_mut().find(|c| b_of(c).is_some())
            && !prefix.is_empty()
        {
            check.header_b = Some(prefix);
        }
        return;
    }
    let values: Vec<&str> = dkim.iter().filter_map(b_of).collect();
    let prefixes = header_b_prefixes(&values);
    let reported = dkim.iter_mut().filter(|c| b_of(c).is_some());
    for (check, prefix) in reported.zip(prefixes) {
        if !prefix.is_empty() {
            check.header_b = Some(prefix);
        }
    }
}

/// The `b=` value `header.b` is written for: that of a checked signature (RFC 6376 §6.1: those
/// beyond the cap are summed up, not reported).
fn b_of(check: &DkimCheck) -> Option<&str> {
    if check.is_not_checked() {
        None
    } else {
        check.verdict.details.signature_b.as_deref()
    }
}

/// The ARC override of a DMARC `fail` (RFC 8617 §7.2.1, RFC 9989 §5.3.2): the chain passes,
/// and the newest set sealed by a trusted sealer (ARC-Seal `d=` in `trusted`) recorded in its
/// ARC-Authentication-Results a `dmarc=pass` for the same author domain, or a `dkim=pass` /
/// `spf=pass` whose domain is aligned (relaxed: the author domain, a parent or a subdomain of
/// it). Only sets from oldest-pass on count: their message signatures still validate.
fn arc_override(trusted: &[Name], dmarc: &DmarcVerdict, arc: &ArcVerdict) -> Option<DmarcOverride> {
    if trusted.is_empty() || dmarc.result != DmarcResult::Fail || arc.result != ArcResult::Pass {
        return None;
    }
    let author = dmarc.author_domain()?;
    let oldest = arc.oldest_pass.unwrap_or(0).max(1);
    for set in arc.sets.iter().rev().filter(|s| s.instance >= oldest) {
        let Some(sealer) = set.domain.as_deref().and_then(|d| Name::parse(d).ok()) else {
            continue;
        };
        if !trusted.contains(&sealer) {
            continue;
        }
        let Some(ar) = set
            .authentication_results
            .as_deref()
            .and_then(|v| AuthenticationResults::parse(v).ok())
        else {
            continue;
        };
        if let Some(upstream) = upstream_pass(&ar, author) {
            return Some(DmarcOverride {
                reason: OverrideReason::Arc,
                requested: dmarc.disposition,
                applied: Disposition::None,
                sealer: sealer.as_str().to_owned(),
                instance: set.instance,
                upstream,
            });
        }
    }
    None
}

/// What an upstream Authentication-Results payload says passed for `author`.
fn upstream_pass(ar: &AuthenticationResults, author: &Name) -> Option<UpstreamPass> {
    let aligned = |value: Option<&str>| {
        value
            .map(|v| v.rsplit('@').next().unwrap_or(v))
            .and_then(|d| Name::parse(d).ok())
            .is_some_and(|d| d.is_subdomain_of(author) || author.is_subdomain_of(&d))
    };
    let same = |value: Option<&str>| {
        value
            .and_then(|d| Name::parse(d).ok())
            .is_some_and(|d| d == *author)
    };
    let pass = |r: &&ResInfo| r.result == "pass";
    if ar
        .results_for("dmarc")
        .filter(pass)
        .any(|r| same(r.property("header", "from")))
    {
        return Some(UpstreamPass::Dmarc);
    }
    if ar
        .results_for("dkim")
        .filter(pass)
        .any(|r| aligned(r.property("header", "d")))
    {
        return Some(UpstreamPass::Dkim);
    }
    if ar
        .results_for("spf")
        .filter(pass)
        .any(|r| aligned(r.property("smtp", "mailfrom")))
    {
        return Some(UpstreamPass::Spf);
    }
    None
}

fn dkim_resinfo(check: &DkimCheck) -> ResInfo {
    let details = &check.verdict.details;
    let mut ri = ResInfo::new(DKIM, Keyword::from_static(check.result().as_str()));
    if let Some(reason) = check.reason() {
        ri = ri.with_reason(reason);
    }
    if let Some(d) = &details.domain {
        ri = ri.with_property(Property::header_d(d.as_str()));
    }
    if let Some(i) = &details.identity {
        ri = ri.with_property(Property::header_i(i.as_str()));
    }
    if let Some(s) = &details.selector {
        ri = ri.with_property(Property::header_s(s.as_str()));
    }
    if let Some(a) = &details.algorithm {
        ri = ri.with_property(Property::header_a(a.as_str()));
    }
    if let Some(b) = &check.header_b {
        ri = ri.with_property(Property::header_b(b.as_str()));
    }
    ri
}

impl Serialize for Report {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut m = s.serialize_map(Some(12))?;
        m.serialize_entry("outcome", &self.outcome())?;
        m.serialize_entry("spf", &self.spf)?;
        m.serialize_entry("spf_helo", &self.spf_helo)?;
        m.serialize_entry("dkim", &self.dkim)?;
        m.serialize_entry("dmarc", &self.dmarc)?;
        m.serialize_entry("dmarc_override", &self.dmarc_override)?;
        m.serialize_entry("arc", &ArcSummary(&self.arc))?;
        m.serialize_entry("from", &self.from)?;
        m.serialize_entry("envelope", &self.envelope)?;
        m.serialize_entry("message", &self.message)?;
        m.serialize_entry("now", &self.now)?;
        m.serialize_entry(
            "authentication_results",
            &self.authentication_results().to_field(),
        )?;
        m.end()
    }
}
