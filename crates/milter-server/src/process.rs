//! What happens to one message at end of message: inbound or outbound, sign or verify, and
//! the modifications and reply for the MTA. No sockets here: the server hands in what the MTA
//! sent and writes out what this returns.

use crate::config::{Config, DnsFailure, DoubleSigning, FromPolicy, Mode, Quarantine};
use crate::metrics::Metrics;
use crate::net::in_networks;
use crate::state::Loaded;
use mailstamp::TimeLimited as _;
use mailstamp::dns::{Lookup as _, Step};
use mailstamp::pipeline::{Authenticator, Report};
use mailstamp_authres::authserv_claim;
use mailstamp_dkim::TagList;
use mailstamp_dmarc::{Disposition, DmarcResult};
use mailstamp_message::Message;
use mailstamp_message::envelope::Envelope;
use mailstamp_milter::{Actions, HeaderField, Modification, Verdict, raw_header_field};
use std::net::IpAddr;
use std::time::Duration;

/// The header field added for `quarantine = "header"`.
pub const QUARANTINE_FIELD: &str = "X-Mailstamp-Quarantine";

/// What the SMTP session told us about the client.
#[derive(Debug, Clone, Default)]
pub struct Client {
    /// The client's IP address (`None` for a local submission or an unknown family).
    pub ip: Option<IpAddr>,
    /// The client's host name as the MTA resolved it.
    pub hostname: String,
    /// The HELO/EHLO argument.
    pub helo: String,
}

/// One message as the MTA sent it.
#[derive(Debug, Clone, Default)]
pub struct MessageData {
    /// MAIL FROM without angle brackets (empty for the null reverse-path).
    pub mail_from: String,
    /// The header fields, in order.
    pub headers: Vec<HeaderField>,
    /// The body (CRLF line endings), empty when `too_large`.
    pub body: Vec<u8>,
    /// Octets received (header and body).
    pub size: usize,
    /// The message exceeded `limits.max_message_size`: header and body were dropped.
    pub too_large: bool,
    /// `{i}`: the MTA's queue ID.
    pub queue_id: Option<String>,
    /// `{auth_authen}`: the SMTP AUTH user.
    pub auth_user: Option<String>,
    /// `{daemon_name}`: the MTA daemon.
    pub daemon: Option<String>,
}

impl MessageData {
    /// Adds a header field, or marks the message too large.
    pub fn push_header(&mut self, field: HeaderField, max: usize) {
        self.size = self
            .size
            .saturating_add(field.name.len() + field.value.len() + 3);
        if self.size > max {
            self.drop_content();
        } else if !self.too_large {
            self.headers.push(field);
        }
    }

    /// Adds a body chunk, or marks the message too large.
    pub fn push_body(&mut self, chunk: &[u8], max: usize) {
        self.size = self.size.saturating_add(chunk.len());
        if self.size > max {
            self.drop_content();
        } else if !self.too_large {
            self.body.extend_from_slice(chunk);
        }
    }

    fn drop_content(&mut self) {
        self.too_large = true;
        self.headers = Vec::new();
        self.body = Vec::new();
    }

    /// The message as bytes: each field rebuilt byte for byte, CRLF, the body.
    pub fn bytes(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(self.size + self.headers.len() * 2 + 2);
        for f in &self.headers {
            out.extend_from_slice(&raw_header_field(&f.name, &f.value, f.leading_space));
            out.extend_from_slice(b"\r\n");
        }
        out.extend_from_slice(b"\r\n");
        out.extend_from_slice(&self.body);
        out
    }
}

/// Which jobs apply to a message.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Role {
    /// The daemon's mode.
    pub mode: Mode,
    /// Sign it.
    pub sign: bool,
    /// Verify it.
    pub verify: bool,
    /// We originate it (internal network, authenticated, or a `sign` daemon): never refused.
    pub originated: bool,
    /// Why it counts as originated (or not).
    pub why: &'static str,
}

/// Decides the role from the client, `{auth_authen}` and `{daemon_name}`.
pub fn role(config: &Config, ip: Option<IpAddr>, auth: Option<&str>, daemon: Option<&str>) -> Role {
    let mode = config.mode_for(daemon);
    let (originated, why) = if auth.is_some_and(|a| !a.is_empty()) {
        (true, "authenticated")
    } else if ip.is_some_and(|ip| in_networks(&config.internal_networks, ip)) {
        (true, "internal network")
    } else if mode == Mode::Sign {
        (true, "sign daemon")
    } else if ip.is_none() {
        (false, "no client address")
    } else {
        (false, "external client")
    };
    let (sign, verify) = match mode {
        Mode::Sign => (true, false),
        Mode::Verify => (false, true),
        Mode::Both => (originated, !originated),
    };
    Role {
        mode,
        sign,
        verify,
        originated,
        why,
    }
}

/// What to send back, and the log line's fields.
#[derive(Debug, Clone)]
pub struct Outcome {
    /// Modifications, in the order to send.
    pub modifications: Vec<Modification>,
    /// The final verdict.
    pub verdict: Verdict,
    /// `outbound`, `inbound` or `none`.
    pub direction: &'static str,
    /// `continue`, `reject`, `tempfail`, `quarantine`.
    pub action: &'static str,
    /// Why (free text for the log).
    pub reason: String,
    /// SPF, DKIM and DMARC results (inbound), or the signatures made (outbound).
    pub results: String,
    /// The verification report whose DMARC evaluation is recorded (`record` set, inbound
    /// mail): converted by the recorder's writer, off the mail path, into what `mailstamp
    /// check --record` stores.
    pub record: Option<Box<Report>>,
}

impl Outcome {
    fn new(direction: &'static str) -> Outcome {
        Outcome {
            modifications: Vec::new(),
            verdict: Verdict::Continue,
            direction,
            action: "continue",
            reason: String::new(),
            results: String::new(),
            record: None,
        }
    }

    fn reason(&mut self, r: impl Into<String>) {
        let r = r.into();
        if self.reason.is_empty() {
            self.reason = r;
        } else {
            self.reason = format!("{}; {r}", self.reason);
        }
    }
}

/// What the server knows about the MTA's abilities for this connection.
#[derive(Debug, Clone, Copy)]
pub struct MtaAbilities {
    /// Actions granted.
    pub actions: Actions,
    /// HDR_LEADSPC in effect: values go out with their leading space.
    pub leadspc: bool,
}

/// Header values we write: LF between folded lines (the MTA's own convention), without the
/// leading space (the session adds it when HDR_LEADSPC is in effect).
fn header_value(text: &str) -> Vec<u8> {
    text.trim_start().replace("\r\n", "\n").into_bytes()
}

/// Processes one message at end of message.
pub async fn process(
    loaded: &Loaded,
    metrics: &Metrics,
    client: &Client,
    msg: &MessageData,
    mta: MtaAbilities,
    now: u64,
) -> Outcome {
    let config = &loaded.config;
    let role = role(
        config,
        client.ip,
        msg.auth_user.as_deref(),
        msg.daemon.as_deref(),
    );
    let mut out = if role.sign {
        metrics.outbound.inc();
        sign(loaded, metrics, msg, now)
    } else {
        Outcome::new("none")
    };
    if role.verify {
        metrics.inbound.inc();
        let inbound = verify(loaded, metrics, client, msg, mta, role).await;
        out.direction = inbound.direction;
        out.action = inbound.action;
        out.verdict = inbound.verdict;
        out.results = inbound.results;
        out.record = inbound.record;
        out.reason(inbound.reason);
        out.modifications.extend(inbound.modifications);
    }
    if !role.sign && !role.verify {
        out.reason("nothing to do");
    }
    // Only what the MTA granted goes out; the rest is logged.
    let before = out.modifications.len();
    out.modifications
        .retain(|m| mta.actions.contains(m.required_action()));
    if out.modifications.len() < before {
        out.reason(format!(
            "{} modification(s) dropped: the MTA did not grant the action (granted: {})",
            before - out.modifications.len(),
            mta.actions
        ));
    }
    out
}

/// Outbound: the DKIM-Signature fields to prepend.
fn sign(loaded: &Loaded, metrics: &Metrics, msg: &MessageData, now: u64) -> Outcome {
    let mut out = Outcome::new("outbound");
    let unsigned = |out: &mut Outcome, why: String| {
        metrics.unsigned.inc();
        out.reason(format!("unsigned: {why}"));
    };
    if msg.too_large {
        unsigned(
            &mut out,
            format!(
                "message too large ({} octets; limits.max_message_size = {})",
                msg.size, loaded.config.limits.max_message_size
            ),
        );
        return out;
    }
    let bytes = msg.bytes();
    let message = Message::parse(&bytes);
    let authors = message.authors();
    let Some(domain) = authors.single_domain() else {
        let problems: Vec<String> = authors
            .problems()
            .iter()
            .map(|p| format!("{p:?}"))
            .collect();
        unsigned(
            &mut out,
            format!(
                "the From field names no single author domain ({})",
                problems.join(", ")
            ),
        );
        return out;
    };
    let domain = domain.as_str();
    let Some(rule) = loaded.signing.rule_for(domain) else {
        unsigned(
            &mut out,
            format!("no signing rule matches the From domain {domain}"),
        );
        return out;
    };
    if rule.keys.is_empty() {
        unsigned(
            &mut out,
            format!(
                "every key of rule {} is disabled ({})",
                rule.pattern,
                rule.disabled
                    .iter()
                    .map(|p| format!("{}: {}", p.path.display(), p.reason))
                    .collect::<Vec<_>>()
                    .join("; ")
            ),
        );
        return out;
    }
    // Our d=/s= pairs already on the message.
    let existing: Vec<(String, String)> = message
        .fields()
        .filter(|f| f.is_named("dkim-signature"))
        .filter_map(|f| {
            let tags = TagList::parse(f.value()).ok()?;
            let get = |t: &str| {
                tags.get(t)
                    .map(|v| String::from_utf8_lossy(v).trim().to_ascii_lowercase())
            };
            Some((get("d")?, get("s")?))
        })
        .collect();
    let mut fields = Vec::new();
    let mut made = Vec::new();
    for key in &rule.keys {
        let s = &key.signer;
        let pair = (
            s.domain().as_str().to_owned(),
            s.selector().to_ascii_lowercase(),
        );
        if loaded.config.double_signing == DoubleSigning::Skip && existing.contains(&pair) {
            out.reason(format!("d={} s={} already signed: skipped", pair.0, pair.1));
            continue;
        }
        match mailstamp_dkim::sign(&message, std::slice::from_ref(s), now) {
            Ok(signed) => {
                for f in signed.fields {
                    made.push(format!(
                        "d={} s={} a={}",
                        f.domain,
                        f.selector,
                        f.algorithm.as_str()
                    ));
                    fields.push(f.text);
                }
            }
            Err(e) => out.reason(format!(
                "key {} (d={} s={}) did not sign: {e}",
                key.path.display(),
                pair.0,
                pair.1
            )),
        }
    }
    if fields.is_empty() {
        metrics.unsigned.inc();
        out.reason("unsigned: no signature made");
        return out;
    }
    // The stored body: line lengths and 8-bit bytes are the same in its CRLF reading.
    let body = message.body().raw();
    let long = body
        .split(|&b| b == b'\n')
        .any(|l| l.strip_suffix(b"\r").unwrap_or(l).len() > 998)
        || msg.headers.iter().any(|h| {
            h.value
                .split(|&b| b == b'\n')
                .any(|l| l.len() + h.name.len() + 2 > 998)
        });
    if long {
        metrics.long_lines.inc();
        out.reason("warning: a line is over 998 octets; an MTA on the way may wrap it and break the signature");
    }
    if !body.is_ascii() {
        metrics.eight_bit_bodies.inc();
        out.reason("warning: 8-bit body; a relay that converts it to 7-bit (quoted-printable) breaks the signature");
    }
    metrics.signatures_added.add(fields.len() as u64);
    // The first signer's field on top: insert from the last to the first at index 0.
    for text in fields.iter().rev() {
        let value = text
            .strip_prefix("DKIM-Signature:")
            .unwrap_or(text.as_str());
        out.modifications.push(Modification::InsertHeader {
            index: 0,
            name: b"DKIM-Signature".to_vec(),
            value: header_value(value),
        });
    }
    out.results = made.join(", ");
    out
}

/// Runs the pipeline with the per-message budgets: the wall-clock deadline and the DNS query
/// count. Either ends the unfinished checks in `temperror`, never a pass.
async fn check(
    auth: &Authenticator,
    bytes: &[u8],
    envelope: Option<&Envelope>,
    config: &Config,
) -> (Report, Option<String>) {
    let wall = Duration::from_millis(config.limits.wall_time_ms);
    let deadline = tokio::time::Instant::now() + wall;
    let prepared = auth.prepare(bytes, envelope);
    let (requests, message) = prepared.into_parts();
    let mut step = auth.start(&requests, message);
    let mut asked = 0usize;
    loop {
        match step {
            Step::Done(report) => return (*report, None),
            Step::Lookup(pending) => {
                asked = asked.saturating_add(pending.queries().len());
                if asked > config.limits.max_dns_queries {
                    let why = format!(
                        "DNS query budget exhausted (limits.max_dns_queries = {})",
                        config.limits.max_dns_queries
                    );
                    return (*pending.time_limit_exceeded(wall), Some(why));
                }
                match tokio::time::timeout_at(
                    deadline,
                    auth.resolver().answer_all(pending.queries()),
                )
                .await
                {
                    Ok(answers) => step = pending.resume(answers),
                    Err(_) => {
                        let why = format!(
                            "time budget exhausted (limits.wall_time_ms = {})",
                            config.limits.wall_time_ms
                        );
                        return (*pending.time_limit_exceeded(wall), Some(why));
                    }
                }
            }
        }
    }
}

/// Inbound: forged Authentication-Results removed, the checks, our field, the policy.
async fn verify(
    loaded: &Loaded,
    metrics: &Metrics,
    client: &Client,
    msg: &MessageData,
    mta: MtaAbilities,
    role: Role,
) -> Outcome {
    let config = &loaded.config;
    let id = config.authserv_id.as_str();
    let mut out = Outcome::new("inbound");
    if msg.too_large {
        metrics.too_large.inc();
        out.reason(format!(
            "not verified: message too large ({} octets; limits.max_message_size = {})",
            msg.size, config.limits.max_message_size
        ));
        out.results = "dkim=none (message too large)".into();
        out.modifications.push(Modification::InsertHeader {
            index: 0,
            name: b"Authentication-Results".to_vec(),
            value: format!("{id};\n\tdkim=none (message too large)").into_bytes(),
        });
        return out;
    }
    // RFC 8601 §5: fields claiming our authserv-id (or none readable) are removed, from the
    // highest occurrence down (the MTA renumbers after each change).
    let forged: Vec<u32> = msg
        .headers
        .iter()
        .filter(|h| h.is("Authentication-Results"))
        .zip(1u32..)
        .filter(|(h, _)| authserv_claim(&h.value, id).must_be_removed())
        .map(|(_, i)| i)
        .collect();
    for &index in forged.iter().rev() {
        out.modifications.push(Modification::ChangeHeader {
            index,
            name: b"Authentication-Results".to_vec(),
            value: Vec::new(),
        });
    }
    if !forged.is_empty() {
        metrics.forged_removed.add(forged.len() as u64);
        out.reason(format!(
            "{} forged Authentication-Results removed",
            forged.len()
        ));
    }
    let bytes = msg.bytes();
    let envelope = client.ip.map(|ip| Envelope {
        client_ip: ip,
        helo: client.helo.clone(),
        mail_from: Some(msg.mail_from.clone()),
    });
    let (report, budget) = check(&loaded.authenticator, &bytes, envelope.as_ref(), config).await;
    if let Some(b) = budget {
        out.reason(b);
    }
    if config.record.is_some() {
        out.record = Some(Box::new(report.clone()));
    }
    let dkim = report
        .dkim
        .iter()
        .map(|c| c.result().as_str())
        .find(|r| *r == "pass")
        .or_else(|| report.dkim.first().map(|c| c.result().as_str()))
        .unwrap_or("none");
    let (spf, dmarc) = (report.spf.result.as_str(), report.dmarc.result.as_str());
    metrics.spf.count(spf);
    metrics.dkim.count(dkim);
    metrics.dmarc.count(dmarc);
    if [spf, dkim, dmarc].contains(&"temperror") {
        metrics.dns_errors.inc();
    }
    out.results = format!("spf={spf} dkim={dkim} dmarc={dmarc}");
    let value = report.authentication_results.to_value();
    out.modifications.push(Modification::InsertHeader {
        index: 0,
        name: b"Authentication-Results".to_vec(),
        value: header_value(&value),
    });

    // Policy. Never on mail we originate, nor for allow-listed clients or domains.
    let from_domain = report.from.single_domain().map(|d| d.as_str().to_owned());
    let allowed = client
        .ip
        .is_some_and(|ip| in_networks(&config.dmarc.allow_networks, ip))
        || from_domain.as_deref().is_some_and(|d| {
            config
                .dmarc
                .allow_domains
                .iter()
                .any(|a| crate::signing::aligns_below(d, a))
        });
    if role.originated {
        out.reason(format!("not enforced: we originate it ({})", role.why));
        return out;
    }
    if allowed {
        out.reason("not enforced: allow-listed");
        return out;
    }
    if !report.from.is_single_author() {
        let problems: Vec<String> = report
            .from
            .problems()
            .iter()
            .map(|p| format!("{p:?}"))
            .collect();
        let why = format!("From names no single author ({})", problems.join(", "));
        match config.from_policy {
            FromPolicy::Reject => reject(&mut out, metrics, &config.dmarc.reject_reply, &why),
            FromPolicy::Quarantine => {
                quarantine(&mut out, metrics, config.dmarc.quarantine, mta, &why)
            }
        }
        return out;
    }
    if !config.dmarc.enforce {
        return out;
    }
    let d = &report.dmarc;
    let domain = from_domain.unwrap_or_default();
    match d.result {
        DmarcResult::TempError => {
            let why = format!("DMARC temperror for {domain} (DNS failure)");
            match config.dns_failure {
                DnsFailure::Tempfail => {
                    metrics.tempfailed.inc();
                    out.action = "tempfail";
                    out.verdict = config
                        .dmarc
                        .tempfail_reply
                        .with_detail("")
                        .map_or(Verdict::Tempfail, Verdict::ReplyCode);
                    out.reason(why);
                }
                DnsFailure::Accept => out.reason(format!("{why}: accepted (dns_failure = accept)")),
            }
        }
        DmarcResult::Fail if d.testing => {
            out.reason(format!(
                "DMARC fail for {domain} not enforced: t=y (testing)"
            ));
        }
        DmarcResult::Fail if report.dmarc_override.is_some() => {
            if let Some(o) = &report.dmarc_override {
                out.reason(format!(
                    "DMARC fail for {domain} not enforced: the ARC chain passes and the trusted \
                     sealer {} (i={}) saw {} pass upstream (RFC 8617 §7.2.1, override=arc)",
                    o.sealer,
                    o.instance,
                    o.upstream.as_str()
                ));
            }
        }
        DmarcResult::Fail => match d.disposition {
            Disposition::Reject => {
                let why =
                    format!("DMARC policy of {domain} is reject and no aligned SPF or DKIM pass");
                reject(&mut out, metrics, &config.dmarc.reject_reply, &why);
            }
            Disposition::Quarantine => {
                let why = format!(
                    "DMARC policy of {domain} is quarantine and no aligned SPF or DKIM pass"
                );
                quarantine(&mut out, metrics, config.dmarc.quarantine, mta, &why);
            }
            Disposition::None => {}
        },
        _ => {}
    }
    out
}

fn reject(out: &mut Outcome, metrics: &Metrics, reply: &crate::config::SmtpReply, why: &str) {
    metrics.rejected.inc();
    out.action = "reject";
    out.verdict = reply
        .with_detail(why)
        .map_or(Verdict::Reject, Verdict::ReplyCode);
    out.reason(why.to_owned());
}

fn quarantine(out: &mut Outcome, metrics: &Metrics, how: Quarantine, mta: MtaAbilities, why: &str) {
    metrics.quarantined.inc();
    out.action = "quarantine";
    out.reason(why.to_owned());
    let how = if how == Quarantine::Mta && !mta.actions.contains(Actions::QUARANTINE) {
        out.reason("the MTA did not grant QUARANTINE: header used instead");
        Quarantine::Header
    } else {
        how
    };
    out.modifications.push(match how {
        Quarantine::Mta => Modification::Quarantine(why.as_bytes().to_vec()),
        Quarantine::Header => Modification::InsertHeader {
            index: 0,
            name: QUARANTINE_FIELD.as_bytes().to_vec(),
            value: why.as_bytes().to_vec(),
        },
    });
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::path::Path;

    fn config(extra: &str) -> Config {
        Config::parse(
            &format!(
                "authserv_id = \"mx.example.net\"\ninternal_networks = [\"10.0.0.0/8\"]\n{extra}"
            ),
            Path::new("t.toml"),
        )
        .unwrap()
    }

    #[test]
    fn roles() {
        let c = config("[daemons]\nORIGINATING = \"sign\"\nMX = \"verify\"\n");
        let ext: IpAddr = "203.0.113.5".parse().unwrap();
        let int: IpAddr = "10.1.2.3".parse().unwrap();
        let r = role(&c, Some(ext), None, Some("smtpd"));
        assert!(r.verify && !r.sign && !r.originated);
        let r = role(&c, Some(int), None, None);
        assert!(r.sign && !r.verify && r.originated);
        let r = role(&c, Some(ext), Some("alice"), None);
        assert!(r.sign && r.originated && r.why == "authenticated");
        let r = role(&c, Some(ext), Some(""), None);
        assert!(!r.originated);
        let r = role(&c, Some(ext), None, Some("ORIGINATING"));
        assert!(r.sign && !r.verify && r.originated);
        // A verify daemon checks internal mail too, but never refuses it.
        let r = role(&c, Some(int), None, Some("MX"));
        assert!(r.verify && !r.sign && r.originated);
    }

    #[test]
    fn message_size_is_bounded() {
        let mut m = MessageData::default();
        m.push_header(
            HeaderField {
                name: b"From".to_vec(),
                value: b" a@example.org".to_vec(),
                leading_space: true,
            },
            100,
        );
        m.push_body(b"hello\r\n", 100);
        assert_eq!(m.bytes(), b"From: a@example.org\r\n\r\nhello\r\n");
        m.push_body(&[b'x'; 200], 100);
        assert!(m.too_large && m.body.is_empty() && m.headers.is_empty());
        m.push_body(b"more", 100);
        assert!(m.body.is_empty());
    }

    #[test]
    fn values_lose_the_leading_space_and_crs() {
        assert_eq!(header_value(" a;\r\n\tb"), b"a;\n\tb");
    }
}
