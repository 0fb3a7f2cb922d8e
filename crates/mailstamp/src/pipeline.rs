//! The receiver's pipeline: SPF, DKIM, DMARC and ARC for one message, written up as an
//! `Authentication-Results` field (RFC 8601).
//!
//! An [`Authenticator`] holds a [`Resolver`] (whose TTL cache every message shares) and the
//! receiver's [`CheckOptions`]. [`Authenticator::check`] takes a message and its SMTP
//! [`Envelope`] and returns one [`Report`]:
//!
//! 1. the message is parsed ([`mailstamp_message::Message`]), its RFC5322.From authors are
//!    read, and every DKIM-Signature field is prepared: body and header hashes computed, key
//!    queries listed ([`mailstamp_dkim::verify`]), and the ARC chain's structure, body hashes
//!    and key queries are read ([`mailstamp_arc::validate`], RFC 8617 §5.2);
//! 2. SPF for the MAIL FROM identity, SPF for the HELO identity (RFC 7208 §2.3 recommends
//!    checking it; skipped for a null reverse-path, whose MAIL FROM check already is a HELO
//!    check, RFC 7208 §2.4), the DKIM key lookups and the ARC key lookups (ARC-Seal and
//!    ARC-Message-Signature keys) run **concurrently**: the queries of the
//!    four sans-I/O machines are joined into one step, resolved together, and the answers
//!    handed back to each machine. The author's DMARC record (and its parent's, for an author
//!    of three labels or more) is asked in that same step, so that DMARC finds it cached;
//! 3. DMARC (RFC 9989) evaluates the author domain(s) with the SPF-authenticated domain (the
//!    MAIL FROM domain, or the HELO domain for a null reverse-path) and every checked DKIM
//!    signature's result and `d=`; when it fails, a passing ARC chain whose trusted sealer
//!    ([`CheckOptions::arc_trusted_sealers`]) saw a pass upstream overrides the disposition
//!    ([`DmarcOverride`], RFC 8617 §7.2.1);
//! 4. the [`Report`] holds every verdict with its details, the
//!    [`AuthenticationResults`](mailstamp_authres::AuthenticationResults) field written by
//!    `mailstamp-authres` (so nothing from a message or a DNS record can inject a header), and
//!    the [`Outcome`] that decides an exit status.
//!
//! The whole check is one sans-I/O machine: [`Authenticator::check`] drives it against the
//! resolver (each step's queries concurrently, within [`CheckOptions::time_limit`]);
//! [`Authenticator::check_with`] drives it synchronously against any
//! [`Source`], such as a fixed [`Zone`], without a
//! runtime. [`Authenticator::prepare`] does the CPU part that needs the message bytes, so a
//! bulk run can drop each message before waiting for DNS ([`Authenticator::complete`]).
//! [`Bulk`] checks a stream of messages in parallel with results in input order.
//!
//! This module performs no protocol work itself (the SPF, DKIM, DMARC and Authentication-Results
//! crates do); it drives them, joins their DNS steps and writes the report. It does not decide
//! what to do with a message (reject, quarantine): [`Report::outcome`] and the DMARC
//! disposition say what the checks found and what the domain asks for.
//!
//! # No envelope
//!
//! Without an envelope (a stored message checked with no `--ip`/`--helo`/`--mail-from` and
//! without `--from-received`) SPF cannot run. The report then says `spf=none` with the reason
//! `no envelope`: RFC 7208 §2.6.1 defines `none` as the result when "no syntactically valid DNS
//! domain name was extracted from the SMTP session", which is exactly the case. DMARC then has
//! no SPF identifier and can pass through an aligned DKIM signature only.
//!
//! # Example
//!
//! ```
//! use mailstamp_message::envelope::Envelope;
//! use mailstamp::pipeline::{Authenticator, CheckOptions, Outcome};
//! use mailstamp_dns::{Name, Zone};
//!
//! let mut zone = Zone::new();
//! zone.add_txt(&Name::parse("example.org")?, ["v=spf1 ip4:192.0.2.0/24 -all"]);
//! zone.add_txt(&Name::parse("mail.example.org")?, ["v=spf1 ip4:192.0.2.25 -all"]);
//! zone.add_txt(&Name::parse("_dmarc.example.org")?, ["v=DMARC1; p=reject"]);
//! let auth = Authenticator::offline(zone.clone(), CheckOptions::new("mx.example.net").with_now(1_767_571_200));
//!
//! let message = b"From: Alice <alice@example.org>\r\nSubject: hi\r\n\r\nHello\r\n";
//! let envelope = Envelope {
//!     client_ip: "192.0.2.25".parse()?,
//!     helo: "mail.example.org".into(),
//!     mail_from: Some("alice@example.org".into()),
//! };
//! // Without a runtime, straight from the zone:
//! let report = auth.check_with(message, Some(&envelope), &zone);
//! assert_eq!(report.outcome(), Outcome::Pass); // SPF passes and aligns with From
//! assert_eq!(
//!     report.authentication_results().to_field(),
//!     "Authentication-Results: mx.example.net;\r\n  \
//!      spf=pass smtp.mailfrom=example.org;\r\n  \
//!      spf=pass smtp.helo=mail.example.org;\r\n  \
//!      dkim=none;\r\n  \
//!      dmarc=pass (p=reject dis=none) header.from=example.org policy.dmarc=none;\r\n  \
//!      arc=none\r\n"
//! );
//!
//! // The same through the resolver and its cache, on a runtime:
//! let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build()?;
//! let again = runtime.block_on(auth.check(message, Some(&envelope)));
//! assert_eq!(again.authentication_results(), report.authentication_results());
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

mod bulk;
mod forged;
#[cfg(feature = "fuzzing")]
pub mod fuzzing;
mod report;
#[cfg(test)]
mod tests;

pub use bulk::{
    Bulk, BulkError, BulkItem, BulkOptions, BulkSink, BulkSummary, DEFAULT_WINDOW, DomainStats,
    MAX_SUMMARY_DOMAINS, MAX_SUMMARY_REASONS, Tally,
};
pub use forged::{Stripped, remove_forged_authentication_results};
pub use report::{
    ArcSummary, DkimCheck, DmarcOverride, MessageSummary, Outcome, OverrideReason, Report,
    SpfCheck, SpfSkip, UpstreamPass,
};

use crate::Resolver;
use mailstamp_arc::{ArcVerdict, PendingArcKeys};
use mailstamp_dkim::{
    BodyHashSpec, BodyHashes, BodySource, DkimProblem, DkimReport, DkimResult, PendingKeys,
};
use mailstamp_dmarc::{
    Discovery, DmarcVerdict, Evaluating, EvaluationOptions, EvaluationRequest, Identifiers,
    MechanismResult, MultipleAuthors, evaluate_with_parser,
};
use mailstamp_dns::{Answer, FailureKind, Lookup, Name, Query, Source, Step, Zone};
use mailstamp_message::envelope::Envelope;
use mailstamp_message::{Authors, Message};
use mailstamp_spf::{Request, SpfResult, SpfVerdict, check_host_with};
use std::sync::Arc;
use std::time::Duration;

pub use crate::DEFAULT_TIME_LIMIT;

/// The receiver's choices for every check.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct CheckOptions {
    /// The authserv-id of the Authentication-Results field (RFC 8601 §2.5): the receiving
    /// host's or ADMD's name, which downstream filters use to decide whether to trust the
    /// field. Also SPF's `%{r}` (RFC 7208 §7.3).
    pub authserv_id: String,
    /// DKIM verification policy: the signature cap (RFC 6376 §6.1), clock skew and the
    /// RFC 8301 rules (rsa-sha1 refused unless dangerously accepted).
    pub dkim_policy: mailstamp_dkim::Policy,
    /// The time of the check in Unix seconds (DKIM `x=`, SPF `%{t}`); `None` reads the system
    /// clock once per message.
    pub now: Option<u64>,
    /// How DMARC finds the policy: the RFC 9989 tree walk (default) or the RFC 7489 Public
    /// Suffix List.
    pub discovery: Discovery,
    /// What DMARC does with several author domains (RFC 9989 §5.3.1, §11.5).
    pub multiple_authors: MultipleAuthors,
    /// Also check the HELO identity (RFC 7208 §2.3); on by default.
    pub check_helo: bool,
    /// The wall-clock budget of one [`Authenticator::check`]: when it runs out, every
    /// unfinished part ends in `temperror` (SPF with RFC 7208 §4.6.4's time-limit problem, DKIM
    /// keys and DMARC records as timed-out lookups).
    pub time_limit: Duration,
    /// The ARC sealers whose word this receiver takes (RFC 8617 §7.2.1): when DMARC fails but
    /// the message's ARC chain passes and one of these domains (an ARC-Seal `d=`) recorded in
    /// its ARC-Authentication-Results that DMARC (or an aligned DKIM or SPF check) passed,
    /// the DMARC disposition is overridden to `none` as local policy (RFC 9989 §5.3.2,
    /// [`DmarcOverride`]). Empty by default: no sealer is trusted.
    pub arc_trusted_sealers: Vec<Name>,
}

impl CheckOptions {
    /// Defaults for a receiver named `authserv_id`: default DKIM policy (10 signatures,
    /// RFC 8301), the system clock, tree-walk discovery, several author domains refused,
    /// HELO checked, [`DEFAULT_TIME_LIMIT`].
    pub fn new(authserv_id: impl Into<String>) -> CheckOptions {
        CheckOptions {
            authserv_id: authserv_id.into(),
            dkim_policy: mailstamp_dkim::Policy::default(),
            now: None,
            discovery: Discovery::TreeWalk,
            multiple_authors: MultipleAuthors::Refuse,
            check_helo: true,
            time_limit: DEFAULT_TIME_LIMIT,
            arc_trusted_sealers: Vec::new(),
        }
    }

    /// Sets the trusted ARC sealers ([`CheckOptions::arc_trusted_sealers`]).
    #[must_use]
    pub fn with_arc_trusted_sealers(mut self, sealers: Vec<Name>) -> CheckOptions {
        self.arc_trusted_sealers = sealers;
        self
    }

    /// Checks at most `n` DKIM signatures per message (the others are reported as `neutral`,
    /// not checked; RFC 6376 §6.1).
    #[must_use]
    pub fn with_max_signatures(mut self, n: usize) -> CheckOptions {
        self.dkim_policy = self.dkim_policy.with_max_signatures(n);
        self
    }

    /// Sets the whole DKIM policy.
    #[must_use]
    pub fn with_dkim_policy(mut self, policy: mailstamp_dkim::Policy) -> CheckOptions {
        self.dkim_policy = policy;
        self
    }

    /// Checks as if the time were `now` (Unix seconds).
    #[must_use]
    pub fn with_now(mut self, now: u64) -> CheckOptions {
        self.now = Some(now);
        self
    }

    /// Sets the DMARC discovery method.
    #[must_use]
    pub fn with_discovery(mut self, discovery: Discovery) -> CheckOptions {
        self.discovery = discovery;
        self
    }

    /// Sets what DMARC does with several author domains.
    #[must_use]
    pub fn with_multiple_authors(mut self, multiple: MultipleAuthors) -> CheckOptions {
        self.multiple_authors = multiple;
        self
    }

    /// Turns the HELO identity check on or off.
    #[must_use]
    pub fn with_helo_check(mut self, on: bool) -> CheckOptions {
        self.check_helo = on;
        self
    }

    /// Sets the wall-clock budget of one check.
    #[must_use]
    pub fn with_time_limit(mut self, limit: Duration) -> CheckOptions {
        self.time_limit = limit;
        self
    }
}

/// Where a message's SMTP envelope comes from.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub enum EnvelopeSource {
    /// Not known: SPF is not checked ([`SpfSkip::NoEnvelope`]).
    #[default]
    Unknown,
    /// Given by the caller (the SMTP session, or `--ip`/`--helo`/`--mail-from`).
    Given(Envelope),
    /// Read from each message's newest Received field and Return-Path
    /// ([`Envelope::from_message`]).
    FromReceived,
}

struct Inner {
    resolver: Resolver,
    options: CheckOptions,
    spf_options: mailstamp_spf::Options,
    /// The resolver as DMARC's record parser (made once: DMARC takes it shared).
    dmarc_parser: Arc<dyn mailstamp_dmarc::RecordParser>,
    /// [`CheckOptions::authserv_id`], shared by every report (which writes its
    /// Authentication-Results field when asked).
    authserv_id: Arc<str>,
}

/// Checks messages: SPF, DKIM and DMARC through one shared resolver. Cheap to clone (an
/// [`Arc`]); clones share the resolver's cache and the parsed DKIM keys.
#[derive(Clone)]
pub struct Authenticator {
    inner: Arc<Inner>,
}

impl std::fmt::Debug for Authenticator {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Authenticator")
            .field("resolver", &self.inner.resolver)
            .field("options", &self.inner.options)
            .finish_non_exhaustive()
    }
}

/// A message after the work that needs its bytes: parsed, authors read, DKIM hashes computed,
/// SPF requests built. It does not borrow the message, so a bulk run can drop the bytes while
/// the DNS answers are awaited. Finish it with [`Authenticator::complete`] or
/// [`Authenticator::complete_with`].
#[derive(Debug)]
pub struct Prepared {
    requests: SpfRequests,
    message: PreparedMessage,
}

impl Prepared {
    /// The two parts [`Authenticator::start`] takes: the SPF requests, which the running check
    /// borrows, and the message's state, which it consumes.
    pub fn into_parts(self) -> (SpfRequests, PreparedMessage) {
        (self.requests, self.message)
    }
}

/// The message's part of a [`Prepared`] check: DKIM hashes and key queries, the ARC chain's
/// structure, hashes and key queries (RFC 8617 §5.2), authors, the data of the report.
#[derive(Debug)]
pub struct PreparedMessage {
    carry: Carry,
    dkim: Step<PendingKeys, DkimReport>,
    arc: Step<PendingArcKeys, ArcVerdict>,
}

/// The SPF part of a [`Prepared`] check: the MAIL FROM and HELO requests (or why there are
/// none), borrowed by the running check.
#[derive(Debug)]
pub struct SpfRequests {
    mail_from: Result<Request, SpfSkip>,
    helo: Option<Request>,
}

/// What the report needs besides the verdicts.
#[derive(Debug)]
struct Carry {
    now: u64,
    envelope: Option<Envelope>,
    message: MessageSummary,
    from: Authors,
    /// Why the MAIL FROM identity was not checked (set when the check starts).
    spf_skip: Option<SpfSkip>,
}

impl Authenticator {
    /// An authenticator over `resolver`.
    pub fn new(resolver: Resolver, options: CheckOptions) -> Authenticator {
        // Records are kept parsed by the resolver (`ParsedRecords`), not from the verdicts.
        let spf_options = mailstamp_spf::Options::default()
            .with_receiver(&options.authserv_id)
            .with_fetched_records(false);
        let dmarc_parser: Arc<dyn mailstamp_dmarc::RecordParser> = Arc::new(resolver.clone());
        let authserv_id = Arc::from(options.authserv_id.as_str());
        Authenticator {
            inner: Arc::new(Inner {
                resolver,
                options,
                spf_options,
                dmarc_parser,
                authserv_id,
            }),
        }
    }

    /// An authenticator answering from `zone` only ([`Resolver::offline`]).
    pub fn offline(zone: Zone, options: CheckOptions) -> Authenticator {
        Authenticator::new(Resolver::offline(zone), options)
    }

    /// The resolver.
    pub fn resolver(&self) -> &Resolver {
        &self.inner.resolver
    }

    /// The options.
    pub fn options(&self) -> &CheckOptions {
        &self.inner.options
    }

    /// Checks `message` (the raw bytes, CRLF or bare LF) received with `envelope` (`None`:
    /// unknown, SPF is not checked). Never fails: every problem is a verdict in the report.
    pub async fn check(&self, message: &[u8], envelope: Option<&Envelope>) -> Report {
        let prepared = self.prepare(message, envelope);
        self.complete(prepared).await
    }

    /// Checks `message` with the envelope recorded in its own trace fields (`--from-received`,
    /// see [`mailstamp_message::envelope`]). When they name no usable envelope, SPF is not checked and the
    /// report says why ([`SpfSkip::Received`]).
    pub async fn check_from_received(&self, message: &[u8]) -> Report {
        let prepared = self.prepare_from(message, &EnvelopeSource::FromReceived);
        self.complete(prepared).await
    }

    /// Checks `message` synchronously, answering every query from `source` (a [`Zone`], for
    /// instance) instead of the resolver: no runtime, no cache, no time limit.
    pub fn check_with(
        &self,
        message: &[u8],
        envelope: Option<&Envelope>,
        source: &impl Source,
    ) -> Report {
        let prepared = self.prepare(message, envelope);
        self.complete_with(prepared, source)
    }

    /// The first, CPU-only part of a check: everything that needs the message bytes (parsed
    /// once: the envelope, DKIM and DMARC read the same view of the header fields).
    pub fn prepare(&self, message: &[u8], envelope: Option<&Envelope>) -> Prepared {
        match envelope {
            Some(e) => self.prepare_envelope(message, |_| Ok(Some(e.clone()))),
            None => self.prepare_envelope(message, |_| Ok(None)),
        }
    }

    /// [`Authenticator::prepare`] with the envelope taken from `source`.
    pub fn prepare_from(&self, message: &[u8], source: &EnvelopeSource) -> Prepared {
        self.prepare_envelope(message, |view| match source {
            EnvelopeSource::Unknown => Ok(None),
            EnvelopeSource::Given(e) => Ok(Some(e.clone())),
            EnvelopeSource::FromReceived => {
                Envelope::from_view(view)
                    .map(Some)
                    .map_err(|e| SpfSkip::Received {
                        error: e.to_string(),
                    })
            }
        })
    }

    fn prepare_envelope(
        &self,
        bytes: &[u8],
        envelope: impl FnOnce(&Message<'_>) -> Result<Option<Envelope>, SpfSkip>,
    ) -> Prepared {
        let now = self.now();
        self.prepare_body(bytes, envelope, BodySource::Message, bytes.len(), now)
    }

    /// The time a check runs at: [`CheckOptions::with_now`], or the system clock.
    pub fn now(&self) -> u64 {
        self.inner.options.now.unwrap_or_else(crate::system_clock)
    }

    /// The body hashes a check of a message with this header section needs (DKIM signatures
    /// chosen as [`mailstamp_dkim::verify_for_authors`] chooses them, so junk signatures add
    /// none beyond the signature limit; and the AMS fields of a sound ARC chain), for a caller
    /// that hashes the body as it streams in: register them in a
    /// [`mailstamp_dkim::BodyHashSet`] at end of header, feed it the body, and finish with
    /// [`Authenticator::prepare_streamed`] at the same `now`.
    pub fn body_hash_specs(&self, header: &[u8], now: u64) -> Vec<BodyHashSpec> {
        let message = Message::parse(header);
        let authors = message.authors();
        let mut specs = mailstamp_dkim::body_hash_specs(
            &message,
            &self.inner.options.dkim_policy,
            now,
            authors.domains(),
        );
        for s in mailstamp_arc::body_hash_specs(&message) {
            if !specs.contains(&s) {
                specs.push(s);
            }
        }
        specs
    }

    /// [`Authenticator::prepare`] for a message whose body was hashed as it streamed in and is
    /// not held: `header` is the header section (with or without the empty line after it), and
    /// `body` holds the hashes of [`Authenticator::body_hash_specs`]. DKIM and ARC run the same
    /// code as for a whole message ([`BodySource::Hashes`]); a hash that is missing gives DKIM
    /// `temperror` and ARC `fail`, never a pass.
    pub fn prepare_streamed(
        &self,
        header: &[u8],
        envelope: Option<&Envelope>,
        body: StreamedBody<'_>,
    ) -> Prepared {
        let env = |_: &Message<'_>| Ok(envelope.cloned());
        let source = BodySource::Hashes(body.hashes);
        let complete =
            header.is_empty() || header.ends_with(b"\r\n\r\n") || header.ends_with(b"\n\n");
        let bytes: std::borrow::Cow<'_, [u8]> = if complete {
            header.into()
        } else {
            // The empty line that ends the header section (RFC 5322 §2.1).
            let mut b = header.to_vec();
            if !b.ends_with(b"\n") {
                b.extend_from_slice(b"\r\n");
            }
            b.extend_from_slice(b"\r\n");
            b.into()
        };
        let size = bytes.len().saturating_add(body.size);
        self.prepare_body(&bytes, env, source, size, body.now)
    }

    fn prepare_body(
        &self,
        bytes: &[u8],
        envelope: impl FnOnce(&Message<'_>) -> Result<Option<Envelope>, SpfSkip>,
        body: BodySource<'_>,
        size: usize,
        now: u64,
    ) -> Prepared {
        let options = &self.inner.options;
        let message = Message::parse(bytes);
        let envelope = envelope(&message);
        let from = message.authors();
        let dkim = mailstamp_dkim::verify_with_body(
            &message,
            &options.dkim_policy,
            now,
            from.domains(),
            body,
        );
        let arc = mailstamp_arc::validate_with_body(&message, now, body);
        let summary = MessageSummary {
            size,
            header_fields: message.field_count(),
            line_endings_normalized: message.line_endings_normalized(),
            anomalies: message.anomalies().to_vec(),
        };
        let (requests, envelope) = match envelope {
            Err(skip) => (
                SpfRequests {
                    mail_from: Err(skip),
                    helo: None,
                },
                None,
            ),
            Ok(None) => (
                SpfRequests {
                    mail_from: Err(SpfSkip::NoEnvelope),
                    helo: None,
                },
                None,
            ),
            Ok(Some(env)) => (self.spf_requests(&env, now), Some(env)),
        };
        Prepared {
            requests,
            message: PreparedMessage {
                carry: Carry {
                    now,
                    envelope,
                    message: summary,
                    from,
                    spf_skip: None,
                },
                dkim,
                arc,
            },
        }
    }

    fn spf_requests(&self, env: &Envelope, now: u64) -> SpfRequests {
        let null = env.mail_from.as_deref().is_some_and(is_null_path);
        let mail_from = match &env.mail_from {
            None => Err(SpfSkip::NoMailFrom),
            Some(path) => Ok(Request::mail_from(env.client_ip, path, &env.helo).with_now(now)),
        };
        let helo = (self.inner.options.check_helo && !null)
            .then(|| Request::helo(env.client_ip, &env.helo).with_now(now));
        SpfRequests { mail_from, helo }
    }

    /// The second part of a check: the DNS lookups (through the resolver, each step's queries
    /// concurrently, within [`CheckOptions::time_limit`]), the DKIM signature checks, DMARC and
    /// the report.
    pub async fn complete(&self, prepared: Prepared) -> Report {
        *self.complete_boxed(prepared).await
    }

    /// [`Authenticator::complete`] with the report left in the box the check built it in
    /// (a bulk run hands it on boxed: no second allocation and copy).
    pub(crate) async fn complete_boxed(&self, prepared: Prepared) -> Box<Report> {
        let (requests, message) = prepared.into_parts();
        let limit = self.inner.options.time_limit;
        crate::drive_within(self.start(&requests, message), &self.inner.resolver, limit).await
    }

    /// Starts the DNS part of a check for a caller that owns its event loop (the other half of
    /// [`Authenticator::prepare`]): the returned [`Step`] lists the queries to answer
    /// ([`Lookup::queries`]); hand the answers back with [`Lookup::resume`] until it is
    /// [`Step::Done`] with the report. [`TimeLimited::time_limit_exceeded`] ends it early
    /// when the caller's deadline passes. Nothing here reads a clock or a socket.
    ///
    /// The call order: [`Authenticator::prepare`] → [`Prepared::into_parts`] →
    /// [`Authenticator::start`] → (`queries` → `resume`)* → the [`Report`].
    ///
    /// ```
    /// use mailstamp::pipeline::{Authenticator, CheckOptions};
    /// use mailstamp_dns::{Lookup, Name, Step, Zone};
    ///
    /// let mut zone = Zone::new();
    /// zone.add_txt(&Name::parse("_dmarc.example.org")?, ["v=DMARC1; p=none"]);
    /// let auth = Authenticator::offline(Zone::new(), CheckOptions::new("mx.example.net").with_now(0));
    /// let prepared = auth.prepare(b"From: a@example.org\r\n\r\nhi\r\n", None);
    /// let (requests, message) = prepared.into_parts();
    /// let mut step = auth.start(&requests, message);
    /// let report = loop {
    ///     match step {
    ///         Step::Lookup(pending) => {
    ///             // Any resolver, any event loop: here, the zone.
    ///             let answers = pending.queries().iter().map(|q| zone.answer(q)).collect();
    ///             step = pending.resume(answers);
    ///         }
    ///         Step::Done(report) => break report,
    ///     }
    /// };
    /// assert_eq!(report.dmarc.result.as_str(), "fail");
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    ///
    /// [`TimeLimited::time_limit_exceeded`]: crate::TimeLimited::time_limit_exceeded
    pub fn start<'a>(
        &'a self,
        requests: &'a SpfRequests,
        message: PreparedMessage,
    ) -> Step<Checking<'a>, Box<Report>> {
        let PreparedMessage { carry, dkim, arc } = message;
        Checking::start(&self.inner, requests, carry, dkim, arc)
    }

    /// [`Authenticator::complete`] synchronously, answering from `source`.
    pub fn complete_with(&self, prepared: Prepared, source: &impl Source) -> Report {
        let (requests, message) = prepared.into_parts();
        *mailstamp_dns::resolve_sync(self.start(&requests, message), source)
    }
}

/// A body hashed as it streamed in, for [`Authenticator::prepare_streamed`]: the caller
/// (a milter) kept the hashes, not the body.
#[derive(Debug, Clone, Copy)]
pub struct StreamedBody<'a> {
    /// The hashes of every spec [`Authenticator::body_hash_specs`] listed.
    pub hashes: &'a BodyHashes,
    /// The body's size in bytes (for [`MessageSummary::size`]).
    pub size: usize,
    /// The time of the check: the `now` given to [`Authenticator::body_hash_specs`], so that
    /// the signatures chosen then are the ones checked.
    pub now: u64,
}

/// True for the null reverse-path: empty or `<>` (RFC 5321 §4.5.5).
fn is_null_path(path: &str) -> bool {
    let p = path.trim();
    p.is_empty() || p == "<>"
}

/// A source that answers every query with a timeout: what is left after the time limit.
struct TimedOut;

impl Source for TimedOut {
    fn answer(&self, _query: &Query) -> Answer {
        Answer::Failed(FailureKind::Timeout)
    }
}

type SpfStep<'a> = Step<mailstamp_spf::Pending<'a>, SpfVerdict>;

/// The whole check as one sans-I/O machine ([`Authenticator::start`]): SPF, HELO, DKIM keys and
/// the DMARC records asked ahead in one step, then DMARC discovery.
pub struct Checking<'a> {
    inner: &'a Inner,
    carry: Carry,
    phase: Phase<'a>,
}

enum Phase<'a> {
    /// SPF (MAIL FROM and HELO), the DKIM keys and the ARC keys, concurrently.
    Authenticate {
        spf: Option<SpfStep<'a>>,
        helo: Option<SpfStep<'a>>,
        dkim: Step<PendingKeys, DkimReport>,
        arc: Step<PendingArcKeys, ArcVerdict>,
        /// DMARC record lookups asked ahead, alongside the first queries (see
        /// [`dmarc_prefetch`]); their answers only fill the cache.
        prefetch: Vec<Query>,
        /// The four machines' queries and the prefetch, joined.
        queries: Vec<Query>,
        /// How many of `queries` belong to each machine, and to the prefetch.
        counts: [usize; 5],
    },
    /// DMARC, once SPF, DKIM and ARC are done.
    Dmarc {
        evaluating: Box<Evaluating>,
        spf: Option<SpfVerdict>,
        helo: Option<SpfVerdict>,
        dkim: DkimReport,
        arc: ArcVerdict,
    },
}

fn waiting<P: Lookup, T>(step: Option<&Step<P, T>>) -> &[Query] {
    match step {
        Some(Step::Lookup(p)) => p.queries(),
        _ => &[],
    }
}

impl<'a> Checking<'a> {
    fn start(
        inner: &'a Inner,
        requests: &'a SpfRequests,
        mut carry: Carry,
        dkim: Step<PendingKeys, DkimReport>,
        arc: Step<PendingArcKeys, ArcVerdict>,
    ) -> Step<Checking<'a>, Box<Report>> {
        // Records are parsed through the resolver's cache of parsed records, and those whose
        // answers it holds fresh are read at once (`answer_at_hand`).
        let parser: &'a dyn mailstamp_spf::RecordParser = &inner.resolver;
        let spf = match &requests.mail_from {
            Ok(r) => Some(check_host_with(r, &inner.spf_options, Some(parser))),
            Err(skip) => {
                carry.spf_skip = Some(skip.clone());
                None
            }
        };
        let helo = requests
            .helo
            .as_ref()
            .map(|r| check_host_with(r, &inner.spf_options, Some(parser)));
        let prefetch = dmarc_prefetch(inner, &carry);
        Checking {
            inner,
            carry,
            phase: Phase::Authenticate {
                spf,
                helo,
                dkim,
                arc,
                prefetch,
                queries: Vec::new(),
                counts: [0; 5],
            },
        }
        .advance()
    }

    /// Moves on until the machine needs answers or is done.
    fn advance(self) -> Step<Checking<'a>, Box<Report>> {
        let Checking {
            inner,
            carry,
            phase,
        } = self;
        let (spf, helo, dkim, arc) = match phase {
            Phase::Authenticate {
                spf,
                helo,
                dkim,
                arc,
                prefetch,
                mut queries,
                mut counts,
            } => {
                let parts = [
                    waiting(spf.as_ref()),
                    waiting(helo.as_ref()),
                    match &dkim {
                        Step::Lookup(p) => p.queries(),
                        Step::Done(_) => &[],
                    },
                    match &arc {
                        Step::Lookup(p) => p.queries(),
                        Step::Done(_) => &[],
                    },
                ];
                queries.clear();
                for (count, part) in counts.iter_mut().zip(parts) {
                    *count = part.len();
                    queries.extend_from_slice(part);
                }
                // The prefetch rides along with real queries only: alone, it would just be a
                // round trip before the same DMARC queries.
                counts[4] = 0;
                if !queries.is_empty() {
                    counts[4] = prefetch.len();
                    queries.extend_from_slice(&prefetch);
                    return Step::Lookup(Checking {
                        inner,
                        carry,
                        phase: Phase::Authenticate {
                            spf,
                            helo,
                            dkim,
                            arc,
                            prefetch,
                            queries,
                            counts,
                        },
                    });
                }
                (spf.map(finished), helo.map(finished), dkim, arc)
            }
            phase @ Phase::Dmarc { .. } => {
                return Step::Lookup(Checking {
                    inner,
                    carry,
                    phase,
                });
            }
        };
        let dkim = match dkim {
            Step::Done(report) => report,
            // Unreachable: a waiting DKIM machine has queries.
            Step::Lookup(p) => resolve_keys(inner, p, Vec::new()),
        };
        let arc = match arc {
            Step::Done(verdict) => verdict,
            // Unreachable: a waiting ARC machine has queries.
            Step::Lookup(p) => resolve_arc_keys(inner, p, Vec::new()),
        };
        match dmarc_evaluate(inner, &carry, spf.as_ref(), &dkim) {
            Step::Done(dmarc) => {
                Step::Done(Box::new(finish(inner, carry, spf, helo, dkim, arc, dmarc)))
            }
            Step::Lookup(evaluating) => Step::Lookup(Checking {
                inner,
                carry,
                phase: Phase::Dmarc {
                    evaluating: Box::new(evaluating),
                    spf,
                    helo,
                    dkim,
                    arc,
                },
            }),
        }
    }

    /// Ends the check when the wall-clock budget ran out: every unfinished part gets
    /// `temperror`.
    fn time_out(self, limit: Duration) -> Report {
        let Checking {
            inner,
            carry,
            phase,
        } = self;
        let (spf, helo, dkim, arc, evaluating) = match phase {
            Phase::Authenticate {
                spf,
                helo,
                dkim,
                arc,
                ..
            } => {
                let out = |s: SpfStep<'_>| match s {
                    Step::Done(v) => v,
                    Step::Lookup(p) => p.time_limit_exceeded(limit),
                };
                let dkim = match dkim {
                    Step::Done(report) => report,
                    Step::Lookup(p) => {
                        let n = p.queries().len();
                        resolve_keys(inner, p, vec![Answer::Failed(FailureKind::Timeout); n])
                    }
                };
                // RFC 8617 §5.2.1: a key that could not be fetched fails the chain.
                let arc = match arc {
                    Step::Done(verdict) => verdict,
                    Step::Lookup(p) => {
                        let n = p.queries().len();
                        resolve_arc_keys(inner, p, vec![Answer::Failed(FailureKind::Timeout); n])
                    }
                };
                let (spf, helo) = (spf.map(out), helo.map(out));
                let evaluating = dmarc_evaluate(inner, &carry, spf.as_ref(), &dkim);
                (spf, helo, dkim, arc, evaluating)
            }
            Phase::Dmarc {
                evaluating,
                spf,
                helo,
                dkim,
                arc,
            } => (spf, helo, dkim, arc, Step::Lookup(*evaluating)),
        };
        let dmarc = mailstamp_dns::resolve_sync(evaluating, &TimedOut);
        finish(inner, carry, spf, helo, dkim, arc, dmarc)
    }
}

impl crate::TimeLimited for Checking<'_> {
    fn time_limit_exceeded(self, limit: Duration) -> Box<Report> {
        Box::new(self.time_out(limit))
    }
}

impl std::fmt::Debug for Checking<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Checking")
            .field("queries", &self.queries())
            .finish_non_exhaustive()
    }
}

impl Lookup for Checking<'_> {
    type Output = Box<Report>;

    fn queries(&self) -> &[Query] {
        match &self.phase {
            Phase::Authenticate { queries, .. } => queries,
            Phase::Dmarc { evaluating, .. } => evaluating.queries(),
        }
    }

    fn resume(self, answers: Vec<Answer>) -> Step<Self, Box<Report>> {
        let Checking {
            inner,
            carry,
            phase,
        } = self;
        match phase {
            Phase::Authenticate {
                spf,
                helo,
                dkim,
                arc,
                queries,
                counts,
                ..
            } => {
                let mut answers = answers.into_iter();
                let mut take = |n: usize| answers.by_ref().take(n).collect::<Vec<_>>();
                let [n_spf, n_helo, n_dkim, n_arc, _] = counts;
                let spf = spf.map(|s| resume_part(s, take(n_spf)));
                let helo = helo.map(|s| resume_part(s, take(n_helo)));
                let dkim = match dkim {
                    Step::Lookup(p) => Step::Done(resolve_keys(inner, p, take(n_dkim))),
                    done @ Step::Done(_) => done,
                };
                let arc = match arc {
                    Step::Lookup(p) => Step::Done(resolve_arc_keys(inner, p, take(n_arc))),
                    done @ Step::Done(_) => done,
                };
                // The prefetch answers (the rest) are in the cache now; asked once.
                Checking {
                    inner,
                    carry,
                    phase: Phase::Authenticate {
                        spf,
                        helo,
                        dkim,
                        arc,
                        prefetch: Vec::new(),
                        queries,
                        counts,
                    },
                }
                .advance()
            }
            Phase::Dmarc {
                evaluating,
                spf,
                helo,
                dkim,
                arc,
            } => match (*evaluating).resume(answers) {
                Step::Done(dmarc) => {
                    Step::Done(Box::new(finish(inner, carry, spf, helo, dkim, arc, dmarc)))
                }
                Step::Lookup(evaluating) => Step::Lookup(Checking {
                    inner,
                    carry,
                    phase: Phase::Dmarc {
                        evaluating: Box::new(evaluating),
                        spf,
                        helo,
                        dkim,
                        arc,
                    },
                }),
            },
        }
    }
}

/// Resumes a machine that was waiting; a finished one stays as it is (it got no queries).
fn resume_part<L: Lookup>(step: Step<L, L::Output>, answers: Vec<Answer>) -> Step<L, L::Output> {
    match step {
        Step::Lookup(p) => p.resume(answers),
        done @ Step::Done(_) => done,
    }
}

/// The verdict of a finished SPF machine. Only called once no machine waits.
fn finished(step: SpfStep<'_>) -> SpfVerdict {
    match step {
        Step::Done(v) => v,
        // Unreachable: a waiting machine has queries. Answering "failed" ends it safely.
        Step::Lookup(p) => mailstamp_dns::resolve_sync(Step::Lookup(p), &TimedOut),
    }
}

fn resolve_keys(inner: &Inner, pending: PendingKeys, answers: Vec<Answer>) -> DkimReport {
    inner
        .resolver
        .parsed_records()
        .with_key_cache(|cache| pending.resume_with_cache(answers, cache))
}

/// Ends the ARC chain validation with its key answers, key records parsed through the
/// resolver's DKIM key cache (ARC keys are DKIM key records, RFC 8617 §4.1.2).
fn resolve_arc_keys(inner: &Inner, pending: PendingArcKeys, answers: Vec<Answer>) -> ArcVerdict {
    inner
        .resolver
        .parsed_records()
        .with_key_cache(|cache| pending.resume_with_cache(answers, cache))
}

/// DMARC for the message, its records parsed through the resolver's cache.
fn dmarc_evaluate(
    inner: &Inner,
    carry: &Carry,
    spf: Option<&SpfVerdict>,
    dkim: &DkimReport,
) -> Step<Evaluating, DmarcVerdict> {
    evaluate_with_parser(&dmarc_request(inner, carry, spf, dkim), &inner.dmarc_parser)
}

/// The DMARC record lookups DMARC will most likely make, asked while SPF and DKIM run so
/// that their answers are cached when DMARC starts: `_dmarc.<author>` for each author domain
/// DMARC will evaluate and, for an author of three labels or more, the record of its parent
/// (the Organizational Domain of `news.example.com`-style authors, the walk's next step;
/// RFC 9989 §4.10) or, in PSL mode, of its PSL Organizational Domain. Shorter authors never
/// get their top-level domain asked ahead.
fn dmarc_prefetch(inner: &Inner, carry: &Carry) -> Vec<Query> {
    let domains = carry.from.domains();
    let evaluated = match (domains.len(), inner.options.multiple_authors) {
        (1, _) => 1,
        (n, MultipleAuthors::EvaluateEach { limit }) if n <= limit => n,
        _ => 0,
    };
    let mut out = Vec::new();
    for author in domains.iter().take(evaluated) {
        let next = match &inner.options.discovery {
            Discovery::TreeWalk => author.parent().filter(|p| p.label_count() >= 2),
            Discovery::Psl(list) => Some(list.organizational_domain(author)),
        };
        for domain in std::iter::once(author.clone()).chain(next) {
            if let Some(name) = mailstamp_dmarc::dmarc_name(&domain) {
                let query = Query::txt(name);
                if !out.contains(&query) {
                    out.push(query);
                }
            }
        }
    }
    out
}

/// The DMARC question: the author domains, the SPF identifier (the domain the MAIL FROM check
/// evaluated: the MAIL FROM domain, or the HELO domain for a null reverse-path, RFC 9989
/// §4.4.2) and every checked DKIM signature's `d=` (RFC 9989 §4.4.1). Signatures beyond the
/// cap were not checked and are left out.
fn dmarc_request(
    inner: &Inner,
    carry: &Carry,
    spf: Option<&SpfVerdict>,
    dkim: &DkimReport,
) -> EvaluationRequest {
    let mut identifiers = Identifiers::new();
    if let Some(v) = spf
        && let Ok(domain) = Name::parse(v.domain())
    {
        identifiers = identifiers.with_spf(spf_mechanism(v.result), domain);
    }
    for v in &dkim.signatures {
        if matches!(v.problem, Some(DkimProblem::NotChecked { .. })) {
            continue;
        }
        if let Some(domain) = v
            .details
            .domain
            .as_deref()
            .and_then(|d| Name::parse(d).ok())
        {
            identifiers = identifiers.with_dkim(dkim_mechanism(v.result), domain);
        }
    }
    let options = &inner.options;
    EvaluationRequest {
        author_domains: carry.from.domains().to_vec(),
        identifiers,
        discovery: options.discovery.clone(),
        options: EvaluationOptions {
            multiple_authors: options.multiple_authors,
            complete_walk: false,
        },
    }
}

fn finish(
    inner: &Inner,
    carry: Carry,
    spf: Option<SpfVerdict>,
    helo: Option<SpfVerdict>,
    dkim: DkimReport,
    arc: ArcVerdict,
    dmarc: DmarcVerdict,
) -> Report {
    let spf = match spf {
        Some(v) => SpfCheck::checked(v),
        None => SpfCheck::skipped(carry.spf_skip.clone().unwrap_or(SpfSkip::NoEnvelope)),
    };
    Report::new(
        inner,
        carry,
        spf,
        helo.map(SpfCheck::checked),
        dkim,
        arc,
        dmarc,
    )
}

/// SPF's result as a DMARC input (the tokens are the same, RFC 8601 §2.7.2).
fn spf_mechanism(result: SpfResult) -> MechanismResult {
    match result {
        SpfResult::None => MechanismResult::None,
        SpfResult::Neutral => MechanismResult::Neutral,
        SpfResult::Pass => MechanismResult::Pass,
        SpfResult::Fail => MechanismResult::Fail,
        SpfResult::SoftFail => MechanismResult::SoftFail,
        SpfResult::TempError => MechanismResult::TempError,
        SpfResult::PermError => MechanismResult::PermError,
    }
}

/// DKIM's result as a DMARC input (the tokens are the same, RFC 8601 §2.7.1).
fn dkim_mechanism(result: DkimResult) -> MechanismResult {
    match result {
        DkimResult::None => MechanismResult::None,
        DkimResult::Pass => MechanismResult::Pass,
        DkimResult::Fail => MechanismResult::Fail,
        DkimResult::Policy => MechanismResult::Policy,
        DkimResult::Neutral => MechanismResult::Neutral,
        DkimResult::TempError => MechanismResult::TempError,
        DkimResult::PermError => MechanismResult::PermError,
    }
}
