//! Failure reports: the `message/feedback-report` part of an ARF report (RFC 5965 §3.5, with
//! the authentication-failure fields of RFC 6591 §3 and RFC 9991), and the From, Subject and
//! Message-ID of the returned original message or headers.

use crate::diag::Diagnostics;
use crate::model::FailureReport;

/// The fields of a `message/feedback-report` body: RFC 5322 field syntax (name, colon,
/// value; lines beginning with white space continue the field before them).
fn fields(body: &str) -> Vec<(String, String)> {
    let mut out: Vec<(String, String)> = Vec::new();
    for line in body.lines() {
        let line = line.trim_end_matches('\r');
        if line.starts_with([' ', '\t']) {
            if let Some(last) = out.last_mut() {
                last.1.push(' ');
                last.1.push_str(line.trim());
            }
            continue;
        }
        if line.is_empty() {
            continue;
        }
        if let Some((name, value)) = line.split_once(':') {
            out.push((name.trim().to_ascii_lowercase(), value.trim().to_owned()));
        }
    }
    out
}

/// Reads a failure report from the bytes of its `message/feedback-report` part, and the
/// original message (or its headers) when the report returned it. Returns `None`, with an
/// error, when the part has no `Feedback-Type` field (RFC 5965 §3.1 requires it): then it is
/// not a feedback report.
pub fn parse_failure_report(
    file: &str,
    feedback: &[u8],
    original: Option<&[u8]>,
    diags: &mut Diagnostics,
) -> Option<FailureReport> {
    let text = String::from_utf8_lossy(feedback);
    if std::str::from_utf8(feedback).is_err() {
        diags.warn(
            file,
            "message/feedback-report",
            "invalid UTF-8: read with U+FFFD in place of the bad bytes",
        );
    }
    let mut r = FailureReport {
        source: file.to_owned(),
        incidents: 1,
        ..FailureReport::default()
    };
    let mut feedback_type = None;
    for (name, value) in fields(&text) {
        let one = |slot: &mut Option<String>| *slot = Some(value.clone());
        match name.as_str() {
            "feedback-type" => feedback_type = Some(value.to_ascii_lowercase()),
            "user-agent" => one(&mut r.user_agent),
            "version" => one(&mut r.version),
            "auth-failure" => r.auth_failure.push(value.to_ascii_lowercase()),
            "authentication-results" => r.authentication_results.push(value),
            "original-envelope-id" => one(&mut r.original_envelope_id),
            "original-mail-from" => one(&mut r.original_mail_from),
            "original-rcpt-to" => r.original_rcpt_to.push(value),
            "arrival-date" | "received-date" => one(&mut r.arrival_date),
            "reporting-mta" => one(&mut r.reporting_mta),
            "source-ip" => {
                // "148.163.85.135 (host.example)": the address, without the comment.
                r.source_ip = value.split_whitespace().next().map(str::to_owned);
            }
            "incidents" => match value.parse() {
                Ok(n) => r.incidents = n,
                Err(_) => diags.warn(
                    file,
                    "Incidents",
                    format!("{value:?} is not a number: read as 1"),
                ),
            },
            "reported-domain" => r.reported_domain.push(value.to_ascii_lowercase()),
            "reported-uri" => r.reported_uri.push(value),
            "delivery-result" => one(&mut r.delivery_result),
            "identity-alignment" => one(&mut r.identity_alignment),
            "dkim-domain" => one(&mut r.dkim_domain),
            "dkim-identity" => one(&mut r.dkim_identity),
            "dkim-selector" => one(&mut r.dkim_selector),
            "spf-dns" => one(&mut r.spf_dns),
            _ => {}
        }
    }
    let Some(feedback_type) = feedback_type else {
        diags.error(
            file,
            "Feedback-Type",
            "missing: not a feedback report (RFC 5965 §3.1 requires Feedback-Type)",
        );
        return None;
    };
    r.feedback_type = feedback_type;
    if r.user_agent.is_none() {
        diags.warn(file, "User-Agent", "missing (required by RFC 5965 §3.1)");
    }
    if r.version.is_none() {
        diags.warn(file, "Version", "missing (required by RFC 5965 §3.1)");
    }
    if r.feedback_type == "auth-failure" && r.auth_failure.is_empty() {
        diags.warn(
            file,
            "Auth-Failure",
            "missing (required in auth-failure reports by RFC 6591 §3.1)",
        );
    }
    if let Some(original) = original {
        for (name, value) in fields(&header_block(original)) {
            match name.as_str() {
                "from" if r.original_from.is_none() => r.original_from = Some(value),
                "subject" if r.original_subject.is_none() => r.original_subject = Some(value),
                "message-id" if r.original_message_id.is_none() => {
                    r.original_message_id = Some(value)
                }
                _ => {}
            }
        }
    }
    Some(r)
}

/// The header block of a message: everything before the first empty line.
fn header_block(message: &[u8]) -> String {
    let text = String::from_utf8_lossy(message);
    let mut out = String::new();
    for line in text.lines() {
        if line.trim_end_matches('\r').is_empty() {
            break;
        }
        out.push_str(line);
        out.push('\n');
    }
    out
}
