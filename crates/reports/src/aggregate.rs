//! Aggregate report XML: RFC 9990 and RFC 7489 Appendix C, read with `roxmltree`.
//!
//! Elements are matched by local name whatever their namespace (real reports put the RFC 9990
//! namespace on RFC 7489 documents and the reverse), and the edition is told by the root's
//! namespace. Unknown elements are ignored, as both schemas allow extensions (RFC 9990,
//! "Contents of the extension element"). What every report must carry (`report_metadata`
//! with `org_name`, `report_id` and `date_range`, `policy_published/domain`, and per record
//! `row/source_ip`, `row/count` and `identifiers/header_from`) is an error when missing;
//! other oddities are warnings.

use crate::diag::Diagnostics;
use crate::model::{AggregateReport, DkimAuth, Edition, PolicyPublished, Reason, Record, SpfAuth};
use roxmltree::{Document, Node, ParsingOptions};

/// The RFC 9990 namespace.
pub const NS_RFC9990: &str = "urn:ietf:params:xml:ns:dmarc-2.0";
/// The namespace of the pre-RFC 7489 draft schema (`rua.xsd`), still seen.
pub const NS_DRAFT: &str = "http://dmarc.org/dmarc-xml/0.1";

/// Why a document could not be read as an aggregate report (the element and the reason).
struct Refusal(String, String);

fn refuse(element: &str, reason: impl Into<String>) -> Refusal {
    Refusal(element.to_owned(), reason.into())
}

/// Reads one aggregate report from XML bytes. `file` names the input in diagnostics. The
/// bytes may be invalid UTF-8 (read lossily, with a warning) and start with a byte-order
/// mark. Returns `None` (with an error in `diags`) when the document is not an aggregate
/// report or lacks a required element.
pub fn parse_aggregate_xml(
    file: &str,
    bytes: &[u8],
    diags: &mut Diagnostics,
) -> Option<AggregateReport> {
    let text = match std::str::from_utf8(bytes) {
        Ok(t) => std::borrow::Cow::Borrowed(t),
        Err(e) => {
            diags.warn(
                file,
                "",
                format!(
                    "invalid UTF-8 at byte {}: read with U+FFFD in place of the bad bytes",
                    e.valid_up_to()
                ),
            );
            String::from_utf8_lossy(bytes)
        }
    };
    let text = text.strip_prefix('\u{feff}').unwrap_or(&text);
    let options = ParsingOptions {
        allow_dtd: true,
        ..ParsingOptions::default()
    };
    let doc = match Document::parse_with_options(text, options) {
        Ok(d) => d,
        Err(e) => {
            diags.error(file, "", format!("not well-formed XML: {e}"));
            return None;
        }
    };
    match read_feedback(file, &doc, diags) {
        Ok(r) => Some(r),
        Err(Refusal(element, reason)) => {
            diags.error(file, &element, reason);
            None
        }
    }
}

fn child<'a, 'i>(node: Node<'a, 'i>, name: &str) -> Option<Node<'a, 'i>> {
    node.children()
        .find(|c| c.is_element() && c.tag_name().name().eq_ignore_ascii_case(name))
}

fn children<'a, 'i: 'a>(
    node: Node<'a, 'i>,
    name: &'a str,
) -> impl Iterator<Item = Node<'a, 'i>> + 'a {
    node.children()
        .filter(move |c| c.is_element() && c.tag_name().name().eq_ignore_ascii_case(name))
}

/// The trimmed text of an element (all its text descendants); `None` when absent or empty.
fn text_of(node: Option<Node<'_, '_>>) -> Option<String> {
    let node = node?;
    let s: String = node
        .descendants()
        .filter(|n| n.is_text())
        .filter_map(|n| n.text())
        .collect();
    let t = s.trim();
    (!t.is_empty()).then(|| t.to_owned())
}

struct Ctx<'d> {
    file: &'d str,
    diags: &'d mut Diagnostics,
}

impl Ctx<'_> {
    fn required(
        &mut self,
        parent: Node<'_, '_>,
        name: &str,
        path: &str,
    ) -> Result<String, Refusal> {
        match child(parent, name) {
            None => Err(refuse(&format!("{path}/{name}"), "missing (required)")),
            Some(n) => text_of(Some(n))
                .ok_or_else(|| refuse(&format!("{path}/{name}"), "empty (required)")),
        }
    }

    /// A value from a closed set of lower-case tokens: trimmed and lower-cased (a warning when
    /// it was not lower-case), `aliases` mapped, and a warning when not in `known`.
    fn token(
        &mut self,
        value: Option<String>,
        path: &str,
        known: &[&str],
        aliases: &[(&str, &str)],
    ) -> Option<String> {
        let raw = value?;
        let mut v = raw.to_ascii_lowercase();
        if v != raw {
            self.diags.warn(
                self.file,
                path,
                format!("{raw:?} is not lower-case: read as {v:?}"),
            );
        }
        if let Some((_, to)) = aliases.iter().find(|(from, _)| *from == v) {
            self.diags.warn(
                self.file,
                path,
                format!(
                    "{v:?} is not a value of the schema (old draft or misspelling): read as {to:?}"
                ),
            );
            v = (*to).to_owned();
        }
        if !known.is_empty() && !known.contains(&v.as_str()) {
            self.diags.warn(
                self.file,
                path,
                format!("unknown value {v:?} (expected one of {})", known.join(", ")),
            );
        }
        Some(v)
    }
}

const POLICIES: &[&str] = &["none", "quarantine", "reject"];
const DISPOSITIONS: &[&str] = &["none", "pass", "quarantine", "reject"];
const ALIGNMENT_RESULTS: &[&str] = &["pass", "fail"];
const DKIM_RESULTS: &[&str] = &[
    "none",
    "pass",
    "fail",
    "policy",
    "neutral",
    "temperror",
    "permerror",
];
const SPF_RESULTS: &[&str] = &[
    "none",
    "neutral",
    "pass",
    "fail",
    "softfail",
    "temperror",
    "permerror",
];
/// Old spellings: `hardfail` (early drafts), `unknown`/`error` (RFC 4408 names).
const RESULT_ALIASES: &[(&str, &str)] = &[
    ("hardfail", "fail"),
    ("unknown", "permerror"),
    ("error", "temperror"),
];
const REASONS: &[&str] = &[
    "forwarded",
    "sampled_out",
    "trusted_forwarder",
    "mailing_list",
    "local_policy",
    "policy_test_mode",
    "other",
];

fn read_feedback(
    file: &str,
    doc: &Document<'_>,
    diags: &mut Diagnostics,
) -> Result<AggregateReport, Refusal> {
    let root = doc.root_element();
    let root_name = root.tag_name().name();
    if !root_name.eq_ignore_ascii_case("feedback") {
        return Err(refuse(
            root_name,
            "not an aggregate report: the root element must be <feedback> (RFC 9990, RFC 7489 Appendix C)",
        ));
    }
    let mut cx = Ctx { file, diags };
    let namespace = root.tag_name().namespace().unwrap_or("").to_owned();
    let edition = match namespace.as_str() {
        NS_RFC9990 => Edition::Rfc9990,
        "" => Edition::Rfc7489,
        NS_DRAFT => {
            cx.diags.warn(
                file,
                "feedback",
                format!(
                    "namespace {NS_DRAFT} is the pre-RFC 7489 draft schema's: read as RFC 7489"
                ),
            );
            Edition::Rfc7489
        }
        other => {
            cx.diags.warn(
                file,
                "feedback",
                format!(
                    "unknown namespace {other:?} (RFC 9990 uses {NS_RFC9990}): read as RFC 7489"
                ),
            );
            Edition::Rfc7489
        }
    };
    let version = text_of(child(root, "version"));
    if edition == Edition::Rfc9990 && version.as_deref().is_some_and(|v| v != "1.0") {
        cx.diags.warn(
            file,
            "feedback/version",
            format!(
                "{:?}: RFC 9990 says it must be 1.0",
                version.as_deref().unwrap_or("")
            ),
        );
    }

    let meta = child(root, "report_metadata")
        .ok_or_else(|| refuse("feedback/report_metadata", "missing (required)"))?;
    let mp = "feedback/report_metadata";
    let org_name = cx.required(meta, "org_name", mp)?;
    let email = match text_of(child(meta, "email")) {
        Some(e) => e,
        None => {
            cx.diags.warn(
                file,
                &format!("{mp}/email"),
                "missing or empty (required by the schema)",
            );
            String::new()
        }
    };
    let report_id = cx.required(meta, "report_id", mp)?;
    let range = child(meta, "date_range")
        .ok_or_else(|| refuse(&format!("{mp}/date_range"), "missing (required)"))?;
    let rp = format!("{mp}/date_range");
    let begin = timestamp(&cx.required(range, "begin", &rp)?, &format!("{rp}/begin"))?;
    let end = timestamp(&cx.required(range, "end", &rp)?, &format!("{rp}/end"))?;
    if begin > end {
        cx.diags
            .warn(file, &rp, format!("begin ({begin}) is after end ({end})"));
    }
    let errors = children(meta, "error")
        .filter_map(|n| text_of(Some(n)))
        .collect();

    let pp = child(root, "policy_published")
        .ok_or_else(|| refuse("feedback/policy_published", "missing (required)"))?;
    let ppath = "feedback/policy_published";
    let domain = cx.required(pp, "domain", ppath)?.to_ascii_lowercase();
    let mut policy = PolicyPublished {
        domain,
        ..PolicyPublished::default()
    };
    for (name, slot) in [
        ("p", &mut policy.p),
        ("sp", &mut policy.sp),
        ("np", &mut policy.np),
    ] {
        *slot = cx.token(
            text_of(child(pp, name)),
            &format!("{ppath}/{name}"),
            POLICIES,
            &[],
        );
    }
    if policy.p.is_none() {
        cx.diags.warn(
            file,
            &format!("{ppath}/p"),
            "missing or empty (required by the schema)",
        );
    }
    policy.adkim = cx.token(
        text_of(child(pp, "adkim")),
        &format!("{ppath}/adkim"),
        &["r", "s"],
        &[],
    );
    policy.aspf = cx.token(
        text_of(child(pp, "aspf")),
        &format!("{ppath}/aspf"),
        &["r", "s"],
        &[],
    );
    policy.testing = cx.token(
        text_of(child(pp, "testing")),
        &format!("{ppath}/testing"),
        &["n", "y"],
        &[],
    );
    policy.discovery_method = cx.token(
        text_of(child(pp, "discovery_method")),
        &format!("{ppath}/discovery_method"),
        &["psl", "treewalk"],
        &[],
    );
    policy.fo = text_of(child(pp, "fo"));
    if let Some(pct) = text_of(child(pp, "pct")) {
        match pct.parse::<u8>() {
            Ok(v) if v <= 100 => policy.pct = Some(v),
            _ => cx.diags.warn(
                file,
                &format!("{ppath}/pct"),
                format!("{pct:?} is not a percentage: ignored"),
            ),
        }
        if edition == Edition::Rfc9990 {
            cx.diags.warn(
                file,
                &format!("{ppath}/pct"),
                "pct is not part of RFC 9990 (removed with the pct tag): kept as read",
            );
        }
    }

    let mut records = Vec::new();
    for (i, rec) in children(root, "record").enumerate() {
        let path = format!("feedback/record[{}]", i + 1);
        records.push(read_record(&mut cx, rec, &path)?);
    }
    if records.is_empty() {
        cx.diags.warn(
            file,
            "feedback/record",
            "no record: the report covers no message (RFC 9990 requires at least one)",
        );
    }
    Ok(AggregateReport {
        source: file.to_owned(),
        edition,
        namespace,
        version,
        org_name,
        email,
        extra_contact_info: text_of(child(meta, "extra_contact_info")),
        report_id,
        begin,
        end,
        errors,
        generator: text_of(child(meta, "generator")),
        policy,
        records,
    })
}

fn timestamp(text: &str, path: &str) -> Result<i64, Refusal> {
    // Some reporters write a fractional part ("1667347200.0").
    let whole = text.split('.').next().unwrap_or(text);
    whole.parse::<i64>().map_err(|_| {
        refuse(
            path,
            format!("{text:?} is not a number of seconds since the epoch"),
        )
    })
}

/// The domain (lower case) and result of one `auth_results/dkim` or `auth_results/spf` entry at
/// `path`; `None`, with a warning, when it names no domain. A missing result reads as `none`.
fn auth_entry(
    cx: &mut Ctx<'_>,
    node: Node<'_, '_>,
    path: &str,
    results: &[&str],
) -> Option<(String, String)> {
    let Some(domain) = text_of(child(node, "domain")) else {
        cx.diags.warn(
            cx.file,
            &format!("{path}/domain"),
            "missing or empty: result ignored",
        );
        return None;
    };
    let result = cx
        .token(
            text_of(child(node, "result")),
            &format!("{path}/result"),
            results,
            RESULT_ALIASES,
        )
        .unwrap_or_else(|| {
            cx.diags.warn(
                cx.file,
                &format!("{path}/result"),
                "missing or empty: read as none",
            );
            "none".to_owned()
        });
    Some((domain.to_ascii_lowercase(), result))
}

fn read_record(cx: &mut Ctx<'_>, rec: Node<'_, '_>, path: &str) -> Result<Record, Refusal> {
    let row =
        child(rec, "row").ok_or_else(|| refuse(&format!("{path}/row"), "missing (required)"))?;
    let row_path = format!("{path}/row");
    let source_ip = cx.required(row, "source_ip", &row_path)?;
    if source_ip.parse::<std::net::IpAddr>().is_err() {
        cx.diags.warn(
            cx.file,
            &format!("{row_path}/source_ip"),
            format!("{source_ip:?} is not an IP address: kept as written"),
        );
    }
    let count_text = cx.required(row, "count", &row_path)?;
    let count = count_text.parse::<u64>().map_err(|_| {
        refuse(
            &format!("{row_path}/count"),
            format!("{count_text:?} is not a message count"),
        )
    })?;
    let pe_path = format!("{row_path}/policy_evaluated");
    let (disposition, dkim_aligned, spf_aligned, reasons) = match child(row, "policy_evaluated") {
        None => {
            cx.diags.warn(
                cx.file,
                &pe_path,
                "missing (required by the schema): read as disposition none, dkim and spf fail",
            );
            (
                "none".to_owned(),
                "fail".to_owned(),
                "fail".to_owned(),
                Vec::new(),
            )
        }
        Some(pe) => {
            let disposition = cx
                .token(
                    text_of(child(pe, "disposition")),
                    &format!("{pe_path}/disposition"),
                    DISPOSITIONS,
                    &[],
                )
                .unwrap_or_else(|| {
                    cx.diags.warn(
                        cx.file,
                        &format!("{pe_path}/disposition"),
                        "missing or empty: read as none",
                    );
                    "none".to_owned()
                });
            let mut aligned = |name: &str| {
                let p = format!("{pe_path}/{name}");
                cx.token(
                    text_of(child(pe, name)),
                    &p,
                    ALIGNMENT_RESULTS,
                    RESULT_ALIASES,
                )
                .unwrap_or_else(|| {
                    cx.diags.warn(cx.file, &p, "missing or empty: read as fail");
                    "fail".to_owned()
                })
            };
            let dkim = aligned("dkim");
            let spf = aligned("spf");
            let mut reasons = Vec::new();
            for (j, r) in children(pe, "reason").enumerate() {
                let rpath = format!("{pe_path}/reason[{}]", j + 1);
                let comment = text_of(child(r, "comment"));
                match cx.token(
                    text_of(child(r, "type")),
                    &format!("{rpath}/type"),
                    REASONS,
                    &[],
                ) {
                    Some(kind) => reasons.push(Reason { kind, comment }),
                    None if comment.is_some() => {
                        cx.diags
                            .warn(cx.file, &rpath, "reason without a type: read as other");
                        reasons.push(Reason {
                            kind: "other".to_owned(),
                            comment,
                        });
                    }
                    None => cx.diags.warn(cx.file, &rpath, "empty reason: ignored"),
                }
            }
            (disposition, dkim, spf, reasons)
        }
    };
    // `identities` is the name of the element in early drafts.
    let ids = match child(rec, "identifiers") {
        Some(n) => n,
        None => match child(rec, "identities") {
            Some(n) => {
                cx.diags.warn(
                    cx.file,
                    &format!("{path}/identities"),
                    "old draft element name: read as identifiers",
                );
                n
            }
            None => return Err(refuse(&format!("{path}/identifiers"), "missing (required)")),
        },
    };
    let id_path = format!("{path}/identifiers");
    let header_from = cx
        .required(ids, "header_from", &id_path)?
        .to_ascii_lowercase();
    let envelope_from = text_of(child(ids, "envelope_from"));
    let envelope_to = text_of(child(ids, "envelope_to"));
    let mut dkim = Vec::new();
    let mut spf = Vec::new();
    let ar_path = format!("{path}/auth_results");
    match child(rec, "auth_results") {
        None => cx
            .diags
            .warn(cx.file, &ar_path, "missing (required by the schema)"),
        Some(ar) => {
            for (j, d) in children(ar, "dkim").enumerate() {
                let p = format!("{ar_path}/dkim[{}]", j + 1);
                let Some((domain, result)) = auth_entry(cx, d, &p, DKIM_RESULTS) else {
                    continue;
                };
                dkim.push(DkimAuth {
                    domain,
                    selector: text_of(child(d, "selector")),
                    result,
                    human_result: text_of(child(d, "human_result")),
                });
            }
            for (j, s) in children(ar, "spf").enumerate() {
                let p = format!("{ar_path}/spf[{}]", j + 1);
                let Some((domain, result)) = auth_entry(cx, s, &p, SPF_RESULTS) else {
                    continue;
                };
                spf.push(SpfAuth {
                    domain,
                    scope: cx.token(
                        text_of(child(s, "scope")),
                        &format!("{p}/scope"),
                        &["mfrom", "helo"],
                        &[],
                    ),
                    result,
                    human_result: text_of(child(s, "human_result")),
                });
            }
        }
    }
    Ok(Record {
        source_ip,
        count,
        disposition,
        dkim_aligned,
        spf_aligned,
        reasons,
        header_from,
        envelope_from,
        envelope_to,
        dkim,
        spf,
    })
}
