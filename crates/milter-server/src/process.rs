//! What happens to one message at end of message: inbound or outbound, sign or verify, and
//! the modifications and reply for the MTA. No sockets here: the server hands in what the MTA
//! sent and writes out what this returns.

use crate::config::{Config, DnsFailure, DoubleSigning, FromPolicy, Mode, Quarantine};
use crate::metrics::Metrics;
use crate::net::in_networks;
use crate::state::Loaded;
use mailstamp::TimeLimited as _;
use mailstamp::arc::{ArcProblem, SealOutcome};
use mailstamp::dns::{Lookup as _, Step};
use mailstamp::pipeline::{Authenticator, Report, StreamedBody};
use mailstamp_authres::authserv_claim;
use mailstamp_dkim::{BodyHashSet, BodyHashes, BodySource, TagList};
use mailstamp_dmarc::{Disposition, DmarcResult};
use mailstamp_message::Message;
use mailstamp_message::envelope::Envelope;
use mailstamp_milter::{Actions, HeaderField, Modification, Verdict, raw_header_field};
use std::net::IpAddr;
use std::sync::Arc;
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

/// One message as the MTA sent it: the header fields (bounded by
/// [`crate::config::Limits::header_limit`]) and, from end of header on, the body's hashes.
/// The body itself is never stored.
#[derive(Debug, Default)]
pub struct MessageData {
    /// MAIL FROM without angle brackets (empty for the null reverse-path).
    pub mail_from: String,
    /// The header fields, in order (empty when `too_large`).
    pub headers: Vec<HeaderField>,
    /// Octets received (header and body).
    pub size: usize,
    /// Header octets received (each field as `Name: value` with its CRLF).
    pub header_size: usize,
    /// The header section exceeded the header limit: its fields were dropped, and the message
    /// is neither verified, signed nor sealed.
    pub too_large: bool,
    /// `{i}`: the MTA's queue ID.
    pub queue_id: Option<String>,
    /// `{auth_authen}`: the SMTP AUTH user.
    pub auth_user: Option<String>,
    /// `{daemon_name}`: the MTA daemon.
    pub daemon: Option<String>,
    /// The body: hashed as it streams in ([`BodyStream`]), from end of header on.
    pub body: Option<BodyStream>,
}

impl MessageData {
    /// Adds a header field, or marks the message too large (over `max` header octets).
    pub fn push_header(&mut self, field: HeaderField, max: usize) {
        let n = field.name.len() + field.value.len() + 3;
        self.size = self.size.saturating_add(n);
        self.header_size = self.header_size.saturating_add(n);
        if self.header_size > max {
            self.too_large = true;
            self.headers = Vec::new();
        } else if !self.too_large {
            self.headers.push(field);
        }
    }

    /// The header section as bytes: each field rebuilt byte for byte, then the empty line.
    /// (The body is not held; see [`BodyStream`].)
    pub fn bytes(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(self.header_size + self.headers.len() * 2 + 2);
        for f in &self.headers {
            out.extend_from_slice(&raw_header_field(&f.name, &f.value, f.leading_space));
            out.extend_from_slice(b"\r\n");
        }
        out.extend_from_slice(b"\r\n");
        out
    }

    /// Bytes this message holds now: the header fields kept and the body stream's buffers.
    /// It does not grow with the body.
    pub fn held_bytes(&self) -> usize {
        let fields: usize = self
            .headers
            .iter()
            .map(|f| f.name.capacity() + f.value.capacity())
            .sum();
        fields + self.body.as_ref().map_or(0, BodyStream::held_bytes)
    }

    /// Starts hashing the body (at end of header, or at the first body chunk when the MTA
    /// sent no end of header): decides the role from the client and the macros, and registers
    /// every body hash the end of message will need: the signing keys' for mail we sign; for
    /// mail we verify, the DKIM signatures that will be checked (the signature budget applies
    /// here already, so junk signatures add no hashes) and the ARC-Message-Signatures; the
    /// seal's when the message will be sealed. Does nothing when started already or too large.
    pub fn start_body(&mut self, loaded: Arc<Loaded>, client: &Client, now: u64) {
        if self.body.is_some() || self.too_large {
            return;
        }
        let role = role(
            &loaded.config,
            client.ip,
            self.auth_user.as_deref(),
            self.daemon.as_deref(),
        );
        let header = self.bytes();
        let mut set = BodyHashSet::new();
        if role.sign
            && let Some(rule) = Message::parse(&header)
                .authors()
                .single_domain()
                .and_then(|d| loaded.signing.rule_for(d.as_str()))
        {
            for key in &rule.keys {
                set.add(key.signer.body_hash_spec());
            }
        }
        let seal = role.verify && loaded.config.seals_for(self.daemon.as_deref());
        if role.verify {
            for spec in loaded.authenticator.body_hash_specs(&header, now) {
                set.add(spec);
            }
            if seal && let Some(Ok(k)) = &loaded.arc_seal {
                set.add(k.sealer.body_hash_spec());
            }
        }
        self.body = Some(BodyStream {
            hashes: set,
            loaded,
            role,
            now,
            seal,
            size: 0,
            line: 0,
            last_cr: false,
            long_line: false,
            eight_bit: false,
            scratch: Vec::new(),
        });
    }

    /// Feeds a body chunk to the hashes (starting them first if needed). Nothing is kept.
    pub fn push_body(
        &mut self,
        chunk: &[u8],
        loaded: impl FnOnce() -> Arc<Loaded>,
        client: &Client,
        now: u64,
    ) {
        self.size = self.size.saturating_add(chunk.len());
        if self.too_large {
            return;
        }
        if self.body.is_none() {
            self.start_body(loaded(), client, now);
        }
        if let Some(b) = &mut self.body {
            b.update(chunk);
        }
    }
}

/// A body being hashed as it streams in: one [`BodyHashSet`] for every hash the end of
/// message needs, and the two checks made on the body when signing (lines over 998 octets,
/// 8-bit octets). Its memory does not depend on the body's size.
pub struct BodyStream {
    hashes: BodyHashSet,
    /// The configuration in force at end of header (used at end of message too).
    loaded: Arc<Loaded>,
    role: Role,
    /// The time of the checks, fixed at end of header so that the signatures whose hashes
    /// were registered are the ones checked.
    now: u64,
    /// The message is to be sealed (`[arc_seal]`).
    seal: bool,
    size: usize,
    /// Octets of the current line so far.
    line: usize,
    last_cr: bool,
    long_line: bool,
    eight_bit: bool,
    /// For a chunk with bare LFs: the chunk with CRLF (bounded by the MTA's chunk size).
    scratch: Vec<u8>,
}

impl std::fmt::Debug for BodyStream {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("BodyStream")
            .field("hashes", &self.hashes)
            .field("role", &self.role)
            .field("size", &self.size)
            .finish_non_exhaustive()
    }
}

impl BodyStream {
    /// Hashes the next chunk. A bare LF is read as CRLF, as a whole message would be
    /// ([`mailstamp_message::Message`] normalises line endings; RFC 5322 §2.3).
    pub fn update(&mut self, chunk: &[u8]) {
        self.size = self.size.saturating_add(chunk.len());
        if !chunk.is_ascii() {
            self.eight_bit = true;
        }
        let mut prev_cr = self.last_cr;
        let mut bare_lf = false;
        for &b in chunk {
            if b == b'\n' {
                let len = self.line.saturating_sub(usize::from(prev_cr));
                if len > 998 {
                    self.long_line = true;
                }
                bare_lf |= !prev_cr;
                self.line = 0;
            } else {
                self.line += 1;
            }
            prev_cr = b == b'\r';
        }
        if bare_lf {
            self.scratch.clear();
            let mut cr = self.last_cr;
            for &b in chunk {
                if b == b'\n' && !cr {
                    self.scratch.push(b'\r');
                }
                self.scratch.push(b);
                cr = b == b'\r';
            }
            self.hashes.update(&self.scratch);
        } else {
            self.hashes.update(chunk);
        }
        self.last_cr = prev_cr;
    }

    /// Bytes held: the hash staging buffers and the bare-LF scratch buffer.
    pub fn held_bytes(&self) -> usize {
        // Each canonicalization stages up to 4 KiB before hashing (mailstamp-dkim).
        let canons = self
            .hashes
            .specs()
            .iter()
            .map(|s| s.canonicalization)
            .collect::<std::collections::BTreeSet<_>>()
            .len();
        canons * 4096 + self.scratch.capacity()
    }

    /// Ends the body.
    pub fn finish(self) -> FinishedBody {
        let long_line = self.long_line || self.line.saturating_sub(usize::from(self.last_cr)) > 998;
        FinishedBody {
            hashes: self.hashes.finish_hashes(),
            loaded: self.loaded,
            role: self.role,
            now: self.now,
            seal: self.seal,
            size: self.size,
            long_line,
            eight_bit: self.eight_bit,
        }
    }
}

/// A body that was hashed to its end: what [`process`] needs of it.
#[derive(Debug)]
pub struct FinishedBody {
    /// The hashes registered at end of header.
    pub hashes: BodyHashes,
    /// The configuration in force at end of header.
    pub loaded: Arc<Loaded>,
    /// The role decided at end of header.
    pub role: Role,
    /// The time of the checks.
    pub now: u64,
    /// Seal the message (`[arc_seal]`).
    pub seal: bool,
    /// Body octets.
    pub size: usize,
    /// A body line is over 998 octets (RFC 5322 §2.1.1).
    pub long_line: bool,
    /// The body has 8-bit octets.
    pub eight_bit: bool,
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

/// Processes one message at end of message. `body` is the finished body stream (`None` only
/// when the header section was too large and nothing was hashed); its role and configuration
/// (fixed at end of header) apply.
pub async fn process(
    loaded: &Loaded,
    metrics: &Metrics,
    client: &Client,
    msg: &MessageData,
    body: Option<&FinishedBody>,
    mta: MtaAbilities,
    now: u64,
) -> Outcome {
    let config = &loaded.config;
    let role = body.map_or_else(
        || {
            role(
                config,
                client.ip,
                msg.auth_user.as_deref(),
                msg.daemon.as_deref(),
            )
        },
        |b| b.role,
    );
    let mut out = if role.sign {
        metrics.outbound.inc();
        sign(loaded, metrics, msg, body, now)
    } else {
        Outcome::new("none")
    };
    if role.verify {
        metrics.inbound.inc();
        let inbound = verify(loaded, metrics, client, msg, body, mta, role).await;
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
fn sign(
    loaded: &Loaded,
    metrics: &Metrics,
    msg: &MessageData,
    body: Option<&FinishedBody>,
    now: u64,
) -> Outcome {
    let mut out = Outcome::new("outbound");
    let unsigned = |out: &mut Outcome, why: String| {
        metrics.unsigned.inc();
        out.reason(format!("unsigned: {why}"));
    };
    let body = match body {
        Some(b) if !msg.too_large => b,
        _ => {
            unsigned(&mut out, too_large_reason(msg, &loaded.config));
            return out;
        }
    };
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
        let hashes = BodySource::Hashes(&body.hashes);
        match mailstamp_dkim::sign_with_body(&message, std::slice::from_ref(s), now, hashes) {
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
    // The body's line lengths and 8-bit octets were checked as it streamed in.
    let long = body.long_line
        || msg.headers.iter().any(|h| {
            h.value
                .split(|&b| b == b'\n')
                .any(|l| l.len() + h.name.len() + 2 > 998)
        });
    if long {
        metrics.long_lines.inc();
        out.reason("warning: a line is over 998 octets; an MTA on the way may wrap it and break the signature");
    }
    if body.eight_bit {
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
    header: &[u8],
    envelope: Option<&Envelope>,
    body: StreamedBody<'_>,
    config: &Config,
) -> (Report, Option<String>) {
    let wall = Duration::from_millis(config.limits.wall_time_ms);
    let deadline = tokio::time::Instant::now() + wall;
    let prepared = auth.prepare_streamed(header, envelope, body);
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
    body: Option<&FinishedBody>,
    mta: MtaAbilities,
    role: Role,
) -> Outcome {
    let config = &loaded.config;
    let id = config.authserv_id.as_str();
    let mut out = Outcome::new("inbound");
    let body = match body {
        Some(b) if !msg.too_large => b,
        _ => {
            metrics.too_large.inc();
            out.reason(format!("not verified: {}", too_large_reason(msg, config)));
            out.results = "dkim=none (header too large)".into();
            out.modifications.push(Modification::InsertHeader {
                index: 0,
                name: b"Authentication-Results".to_vec(),
                value: format!("{id};\n\tdkim=none (header too large)").into_bytes(),
            });
            return out;
        }
    };
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
    let streamed = StreamedBody {
        hashes: &body.hashes,
        size: body.size,
        now: body.now,
    };
    let (report, budget) = check(
        &loaded.authenticator,
        &bytes,
        envelope.as_ref(),
        streamed,
        config,
    )
    .await;
    let out_of_budget = budget.is_some();
    if let Some(b) = budget {
        out.reason(b);
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
    let value = report.authentication_results().to_value();
    out.modifications.push(Modification::InsertHeader {
        index: 0,
        name: b"Authentication-Results".to_vec(),
        value: header_value(&value),
    });

    let mut out = enforce(out, &report, config, metrics, client, mta, role);
    if body.seal {
        seal(
            &mut out,
            loaded,
            metrics,
            msg,
            body,
            &report,
            &value,
            out_of_budget,
        );
    }
    // Last: the report moves to the recorder (no copy on the mail path).
    if config.record.is_some() {
        out.record = Some(Box::new(report));
    }
    out
}

/// The policy for an inbound message. Never on mail we originate, nor for allow-listed
/// clients or domains.
fn enforce(
    mut out: Outcome,
    report: &Report,
    config: &Config,
    metrics: &Metrics,
    client: &Client,
    mta: MtaAbilities,
    role: Role,
) -> Outcome {
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

/// `[arc_seal]`: adds the next ARC set (RFC 8617 §5.1) to a verified message that is not
/// refused. The AAR holds `payload`, the milter's own Authentication-Results; `cv=` is the
/// chain's status on arrival (`fail` chains are sealed with `cv=fail` only, and one whose
/// newest seal already says `cv=fail` is not extended, §5.1.2). A chain whose keys could not be
/// fetched, or whose checks ran out of budget, is not sealed: a DNS failure must not seal
/// `cv=fail` for good.
#[expect(
    clippy::too_many_arguments,
    reason = "one call site, each argument a distinct input"
)]
fn seal(
    out: &mut Outcome,
    loaded: &Loaded,
    metrics: &Metrics,
    msg: &MessageData,
    body: &FinishedBody,
    report: &Report,
    payload: &str,
    out_of_budget: bool,
) {
    let not_sealed = |out: &mut Outcome, why: String| {
        metrics.arc_not_sealed.inc();
        out.reason(format!("not ARC-sealed: {why}"));
    };
    if matches!(out.action, "reject" | "tempfail") {
        return not_sealed(out, format!("the message is refused ({})", out.action));
    }
    let key = match &loaded.arc_seal {
        Some(Ok(k)) => k,
        Some(Err(p)) => return not_sealed(out, p.to_string()),
        None => return not_sealed(out, "no [arc_seal] section".into()),
    };
    if out_of_budget {
        return not_sealed(out, "the checks ran out of budget".into());
    }
    if let Some(p @ ArcProblem::KeyUnavailable { .. }) = &report.arc.problem {
        return not_sealed(out, format!("the chain could not be validated: {p}"));
    }
    let header = msg.bytes();
    let message = Message::parse(&header);
    let hashes = BodySource::Hashes(&body.hashes);
    match key
        .sealer
        .seal_with_body(&message, report.arc.result, payload, body.now, hashes)
    {
        Ok(SealOutcome::Sealed(set)) => {
            metrics.arc_sealed.inc();
            out.reason(format!(
                "ARC-sealed i={} cv={} d={} s={}",
                set.instance,
                set.cv,
                key.sealer.domain(),
                key.sealer.selector()
            ));
            // Each inserted on top: the ARC-Seal ends up first, above its AMS and AAR.
            for (name, value) in [
                ("ARC-Authentication-Results", set.aar_value()),
                ("ARC-Message-Signature", set.ams_value()),
                ("ARC-Seal", set.seal_value()),
            ] {
                out.modifications.push(Modification::InsertHeader {
                    index: 0,
                    name: name.as_bytes().to_vec(),
                    value: header_value(value),
                });
            }
        }
        Ok(SealOutcome::NotSealed(n)) => not_sealed(out, n.to_string()),
        Err(e) => not_sealed(out, e.to_string()),
    }
}

/// Why a message is neither verified nor signed: its header section is over the limit.
fn too_large_reason(msg: &MessageData, config: &Config) -> String {
    format!(
        "header too large ({} octets; limits.max_header_size = {}, limits.max_message_size = {})",
        msg.header_size, config.limits.max_header_size, config.limits.max_message_size
    )
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

    fn loaded(extra: &str) -> Arc<Loaded> {
        let overrides = crate::state::Overrides {
            resolver: Some(mailstamp::Resolver::offline(mailstamp::dns::Zone::new())),
            now: Some(1_767_571_200),
        };
        Arc::new(Loaded::from_config(config(extra), None, &overrides).unwrap())
    }

    fn field(name: &str, value: &str) -> HeaderField {
        HeaderField {
            name: name.as_bytes().to_vec(),
            value: format!(" {value}").into_bytes(),
            leading_space: true,
        }
    }

    #[test]
    fn the_header_is_bounded_and_the_body_is_not_kept() {
        let mut m = MessageData::default();
        m.push_header(field("From", "a@example.org"), 100);
        assert_eq!(m.bytes(), b"From: a@example.org\r\n\r\n");
        let client = Client {
            ip: "203.0.113.5".parse().ok(),
            ..Client::default()
        };
        let l = loaded("");
        m.start_body(l.clone(), &client, 1);
        let before = m.held_bytes();
        for _ in 0..1000 {
            m.push_body(&[b'x'; 997], || l.clone(), &client, 1);
            m.push_body(b"\r\n", || l.clone(), &client, 1);
        }
        assert_eq!(m.held_bytes(), before, "the body must not be stored");
        assert_eq!(m.size, 21 + 999_000);
        let body = m.body.take().unwrap().finish();
        assert_eq!(body.size, 999_000);
        assert!(!body.long_line && !body.eight_bit);
        // A header section over the limit drops the fields; nothing is hashed.
        let mut m = MessageData::default();
        m.push_header(field("Subject", &"y".repeat(200)), 100);
        assert!(m.too_large && m.headers.is_empty());
        m.start_body(l, &client, 1);
        assert!(m.body.is_none());
    }

    #[test]
    fn body_checks_and_line_endings_on_the_stream() {
        let l = loaded("");
        let client = Client::default();
        let stream = |chunks: &[&[u8]]| {
            let mut m = MessageData::default();
            m.push_header(field("From", "a@example.org"), 1000);
            for c in chunks {
                m.push_body(c, || l.clone(), &client, 1);
            }
            m.start_body(l.clone(), &client, 1);
            m.body.take().unwrap().finish()
        };
        let line = vec![b'a'; 999];
        // 999 octets split across chunks, CR and LF in different chunks.
        let b = stream(&[&line[..500], &line[500..], b"\r", b"\n"]);
        assert!(b.long_line);
        let b = stream(&[&line[..998], b"\r", b"\nok\r\n"]);
        assert!(!b.long_line);
        // An unterminated last line counts too.
        assert!(stream(&[b"x\r\n", &line]).long_line);
        assert!(stream(&["caf\u{e9}\r\n".as_bytes()]).eight_bit);
        // Bare LF is read as CRLF: the same body hash as the CRLF body.
        let crlf = b"one \r\ntwo\r\n\r\n";
        let spec = mailstamp_dkim::BodyHashSpec {
            canonicalization: mailstamp_dkim::Canonicalization::Simple,
            algorithm: mailstamp_dkim::HashAlgorithm::Sha256,
            limit: None,
        };
        let want =
            mailstamp_dkim::body_hash(spec.canonicalization, spec.algorithm, None, &crlf[..]);
        let mut set = BodyHashSet::new();
        set.add(spec);
        let mut s = BodyStream {
            hashes: set,
            loaded: l.clone(),
            role: role(&l.config, None, None, None),
            now: 1,
            seal: false,
            size: 0,
            line: 0,
            last_cr: false,
            long_line: false,
            eight_bit: false,
            scratch: Vec::new(),
        };
        for c in [&b"one \r"[..], b"\ntwo\n", b"\n"] {
            s.update(c);
        }
        assert_eq!(s.finish().hashes.get(&spec), Some(&want));
    }

    #[test]
    fn values_lose_the_leading_space_and_crs() {
        assert_eq!(header_value(" a;\r\n\tb"), b"a;\n\tb");
    }
}
