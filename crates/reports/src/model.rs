//! The normalised report model: one shape for both aggregate-report editions.

use serde::Serialize;

/// Which specification an aggregate report follows.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub enum Edition {
    /// RFC 7489 Appendix C (no namespace, or the `http://dmarc.org/dmarc-xml/0.1` draft
    /// namespace).
    #[serde(rename = "rfc7489")]
    Rfc7489,
    /// RFC 9990 (namespace `urn:ietf:params:xml:ns:dmarc-2.0`).
    #[serde(rename = "rfc9990")]
    Rfc9990,
}

impl Edition {
    /// `rfc7489` or `rfc9990`.
    pub fn as_str(self) -> &'static str {
        match self {
            Edition::Rfc7489 => "rfc7489",
            Edition::Rfc9990 => "rfc9990",
        }
    }
}

/// A report of either kind, with the input it came from.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Report {
    /// An aggregate report (RFC 9990, RFC 7489 Appendix C).
    Aggregate(AggregateReport),
    /// A failure report (RFC 9991; ARF, RFC 5965 / RFC 6591).
    Failure(FailureReport),
}

/// An aggregate report, normalised: values are trimmed and lower-cased where the schema has
/// a closed set of lower-case tokens, absent optional elements are `None`.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct AggregateReport {
    /// The input: file, and the part or archive member inside it.
    pub source: String,
    /// Which edition the document follows.
    pub edition: Edition,
    /// The XML namespace of the root element (empty when none).
    pub namespace: String,
    /// The `version` element (RFC 9990: `1.0`), when present.
    pub version: Option<String>,
    /// `report_metadata/org_name`: the Reporting Organization.
    pub org_name: String,
    /// `report_metadata/email`.
    pub email: String,
    /// `report_metadata/extra_contact_info`.
    pub extra_contact_info: Option<String>,
    /// `report_metadata/report_id`.
    pub report_id: String,
    /// `report_metadata/date_range/begin` (seconds since the epoch, UTC).
    pub begin: i64,
    /// `report_metadata/date_range/end`.
    pub end: i64,
    /// `report_metadata/error` elements.
    pub errors: Vec<String>,
    /// `report_metadata/generator` (RFC 9990).
    pub generator: Option<String>,
    /// `policy_published`.
    pub policy: PolicyPublished,
    /// The records.
    pub records: Vec<Record>,
}

impl AggregateReport {
    /// The messages the report covers (the sum of the records' counts).
    pub fn messages(&self) -> u64 {
        self.records.iter().map(|r| r.count).sum()
    }
}

/// `policy_published`: the DMARC Policy Record the receiver saw.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Default)]
pub struct PolicyPublished {
    /// The DMARC Policy Domain.
    pub domain: String,
    /// `discovery_method` (RFC 9990: `psl` or `treewalk`).
    pub discovery_method: Option<String>,
    /// `p`.
    pub p: Option<String>,
    /// `sp`.
    pub sp: Option<String>,
    /// `np` (RFC 9990).
    pub np: Option<String>,
    /// `adkim` (`r` or `s`).
    pub adkim: Option<String>,
    /// `aspf` (`r` or `s`).
    pub aspf: Option<String>,
    /// `pct` (RFC 7489; removed in RFC 9990).
    pub pct: Option<u8>,
    /// `fo`.
    pub fo: Option<String>,
    /// `testing` (RFC 9990: the `t` tag, `n` or `y`).
    pub testing: Option<String>,
}

/// One `record`: a source IP and the messages from it that shared one evaluation.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Record {
    /// `row/source_ip` as written (normally an IPv4 or IPv6 address).
    pub source_ip: String,
    /// `row/count`.
    pub count: u64,
    /// `row/policy_evaluated/disposition`: `none`, `pass` (RFC 9990), `quarantine`, `reject`.
    pub disposition: String,
    /// `row/policy_evaluated/dkim`: the DKIM alignment result, `pass` or `fail`.
    pub dkim_aligned: String,
    /// `row/policy_evaluated/spf`: the SPF alignment result, `pass` or `fail`.
    pub spf_aligned: String,
    /// `row/policy_evaluated/reason` elements.
    pub reasons: Vec<Reason>,
    /// `identifiers/header_from`.
    pub header_from: String,
    /// `identifiers/envelope_from`.
    pub envelope_from: Option<String>,
    /// `identifiers/envelope_to`.
    pub envelope_to: Option<String>,
    /// `auth_results/dkim` elements.
    pub dkim: Vec<DkimAuth>,
    /// `auth_results/spf` elements (one in RFC 9990; RFC 7489 allowed several).
    pub spf: Vec<SpfAuth>,
}

impl Record {
    /// DMARC passed: the DKIM or the SPF alignment result is `pass`.
    pub fn dmarc_pass(&self) -> bool {
        self.dkim_aligned == "pass" || self.spf_aligned == "pass"
    }
}

/// A policy override reason.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Reason {
    /// `type`: `local_policy`, `mailing_list`, `other`, `policy_test_mode`,
    /// `trusted_forwarder` (RFC 9990); RFC 7489 also had `forwarded` and `sampled_out`.
    #[serde(rename = "type")]
    pub kind: String,
    /// `comment`.
    pub comment: Option<String>,
}

/// One DKIM result of `auth_results`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct DkimAuth {
    /// `domain` (the signature's `d=`).
    pub domain: String,
    /// `selector` (the signature's `s=`).
    pub selector: Option<String>,
    /// `result` (RFC 8601 §2.7.1 token).
    pub result: String,
    /// `human_result`.
    pub human_result: Option<String>,
}

/// One SPF result of `auth_results`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct SpfAuth {
    /// `domain`.
    pub domain: String,
    /// `scope` (`mfrom`; RFC 7489 also `helo`).
    pub scope: Option<String>,
    /// `result` (RFC 8601 §2.7.2 token).
    pub result: String,
    /// `human_result`.
    pub human_result: Option<String>,
}

/// A failure report: the machine-readable part (`message/feedback-report`, RFC 5965 §3.5,
/// with the RFC 6591 §3 authentication-failure fields) and what the returned original
/// message or headers tell.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Default)]
pub struct FailureReport {
    /// The input.
    pub source: String,
    /// `Feedback-Type` (`auth-failure` for DMARC failure reports; other ARF types are read too).
    pub feedback_type: String,
    /// `User-Agent`.
    pub user_agent: Option<String>,
    /// `Version`.
    pub version: Option<String>,
    /// `Auth-Failure` values (`dmarc`, `dkim`, `spf`, `bodyhash`, ...).
    pub auth_failure: Vec<String>,
    /// `Authentication-Results` fields.
    pub authentication_results: Vec<String>,
    /// `Original-Envelope-Id`.
    pub original_envelope_id: Option<String>,
    /// `Original-Mail-From`.
    pub original_mail_from: Option<String>,
    /// `Original-Rcpt-To` values.
    pub original_rcpt_to: Vec<String>,
    /// `Arrival-Date` (or the older `Received-Date`), as written.
    pub arrival_date: Option<String>,
    /// `Reporting-MTA`.
    pub reporting_mta: Option<String>,
    /// `Source-IP` (the address only; a trailing comment is dropped).
    pub source_ip: Option<String>,
    /// `Incidents` (default 1).
    pub incidents: u64,
    /// `Reported-Domain` values.
    pub reported_domain: Vec<String>,
    /// `Reported-URI` values.
    pub reported_uri: Vec<String>,
    /// `Delivery-Result`.
    pub delivery_result: Option<String>,
    /// `Identity-Alignment` (RFC 9991).
    pub identity_alignment: Option<String>,
    /// `DKIM-Domain`.
    pub dkim_domain: Option<String>,
    /// `DKIM-Identity`.
    pub dkim_identity: Option<String>,
    /// `DKIM-Selector`.
    pub dkim_selector: Option<String>,
    /// `SPF-DNS`.
    pub spf_dns: Option<String>,
    /// The original message's `From` field, when returned.
    pub original_from: Option<String>,
    /// The original message's `Subject` field, when returned.
    pub original_subject: Option<String>,
    /// The original message's `Message-ID`, when returned.
    pub original_message_id: Option<String>,
}
