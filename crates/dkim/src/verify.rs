//! Verification (RFC 6376 §6) as a sans-I/O state machine.

use crate::canon::{BodyHash, BodyHashSet, BodyHashSpec, BodySource, canonicalize_header_cut};
use crate::header_names::HeaderNames;
use crate::key::{KeyCache, KeyRecord, KeyType, PublicKey};
use crate::result::{DkimProblem, DkimReport, DkimVerdict, Forensics, SignatureDetails};
use crate::sign::append_signed_fields;
use crate::signature::{Signature, SignatureError, SigningAlgorithm};
use crate::tag::{TagList, is_fws};
use mailstamp_dns::{Answer, FailureKind, Lookup, Name, Query, Step};
use mailstamp_message::{Anomaly, HeaderField, Message};

/// Default number of signatures verified per message (RFC 6376 §6.1 lets verifiers limit it).
pub const DEFAULT_MAX_SIGNATURES: usize = 10;
/// Default clock skew allowed when checking `x=` (not yet expired) and `t=` (not in the
/// future), in seconds.
pub const DEFAULT_CLOCK_SKEW: u64 = 300;
/// Shortest RSA key a signature may use (RFC 8301 §3.2: "Verifiers MUST NOT consider
/// signatures using RSA keys of less than 1024 bits as valid signatures").
pub const MIN_RSA_BITS: usize = 1024;
/// Longest RSA key verified (the limit of the signature engine, ring).
pub const MAX_RSA_BITS: usize = 8192;

/// How a verifier behaves where RFC 6376 and RFC 8301 leave a choice.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Policy {
    max_signatures: usize,
    clock_skew: u64,
    accept_rsa_sha1: bool,
}

impl Default for Policy {
    fn default() -> Self {
        Policy::new()
    }
}

impl Policy {
    /// The defaults: at most [`DEFAULT_MAX_SIGNATURES`] signatures, [`DEFAULT_CLOCK_SKEW`]
    /// seconds of clock skew, rsa-sha1 refused.
    pub const fn new() -> Policy {
        Policy {
            max_signatures: DEFAULT_MAX_SIGNATURES,
            clock_skew: DEFAULT_CLOCK_SKEW,
            accept_rsa_sha1: false,
        }
    }

    /// Verifies at most `n` signatures (after the ones that fail without DNS, and those aligned
    /// with the author first: see [`verify_for_authors`]); the others get
    /// [`DkimProblem::NotChecked`].
    pub const fn with_max_signatures(mut self, n: usize) -> Policy {
        self.max_signatures = n;
        self
    }

    /// Accepts signatures whose `x=` lies up to `seconds` in the past and whose `t=` lies up
    /// to `seconds` in the future (RFC 6376 §3.5 `t=`, `x=`).
    pub const fn with_clock_skew(mut self, seconds: u64) -> Policy {
        self.clock_skew = seconds;
        self
    }

    /// Verifies rsa-sha1 signatures like any other. RFC 8301 §3.1 says verifiers MUST NOT
    /// consider them valid: use this only to study old mail or old test corpora.
    pub const fn dangerous_accept_rsa_sha1(mut self, accept: bool) -> Policy {
        self.accept_rsa_sha1 = accept;
        self
    }

    /// The signature limit.
    pub const fn max_signatures(&self) -> usize {
        self.max_signatures
    }

    /// The clock skew allowance, in seconds.
    pub const fn clock_skew(&self) -> u64 {
        self.clock_skew
    }

    /// True when rsa-sha1 is (dangerously) accepted.
    pub const fn accepts_rsa_sha1(&self) -> bool {
        self.accept_rsa_sha1
    }
}

/// A signature waiting for its key.
#[derive(Debug)]
struct Awaiting {
    query: usize,
    sig: Signature,
    signed_data: Vec<u8>,
    body_id: usize,
    body: Option<BodyHash>,
    /// [`BodySource::Hashes`] lacked this signature's spec.
    body_missing: bool,
    details: SignatureDetails,
}

#[derive(Debug)]
enum SigState {
    Done(Box<DkimVerdict>),
    Await(Box<Awaiting>),
}

/// A verification waiting for key records: the [`Lookup`] step of [`verify`].
///
/// Every body and header hash is already computed, so this value does not borrow the message.
/// [`Lookup::queries`] lists each distinct `<selector>._domainkey.<domain>` TXT query once;
/// resuming with the answers ends the verification. Use [`PendingKeys::resume_with_cache`] to
/// share parsed key records across messages.
#[derive(Debug)]
pub struct PendingKeys {
    queries: Vec<Query>,
    sigs: Vec<SigState>,
    normalized: bool,
}

/// Verifies every DKIM-Signature field of `message` (RFC 6376 §6.1), `now` being the current
/// time in Unix seconds.
///
/// Returns [`Step::Done`] at once when no signature needs a key (no signature, or all
/// malformed); otherwise [`Step::Lookup`] with the key queries. Drive it with
/// [`mailstamp_dns::resolve_sync`] or an async driver.
///
/// The author domains used to order the signatures (see [`verify_for_authors`]) are the
/// RFC5322.From domains of `message` ([`Message::authors`]).
///
/// ```
/// use mailstamp_dkim::{DkimResult, Policy, verify};
/// use mailstamp_dns::{Zone, resolve_sync};
/// use mailstamp_message::Message;
///
/// let message = Message::parse(b"From: a@example.com\r\n\r\nHello\r\n");
/// let report = resolve_sync(verify(&message, &Policy::default(), 1_700_000_000), &Zone::new());
/// assert_eq!(report.result(), DkimResult::None);
/// ```
pub fn verify(message: &Message<'_>, policy: &Policy, now: u64) -> Step<PendingKeys, DkimReport> {
    let authors = message.authors();
    verify_for_authors(message, policy, now, authors.domains())
}

/// True when the signing domain `d=` is "aligned" with one of the author domains for the
/// purpose of ordering: equal to it, a parent of it, or a subdomain of it. This is a relaxed,
/// DMARC-like test (RFC 9989 §4.4.1 compares organizational domains, which this crate cannot
/// know without the DMARC tree walk), used only to decide which signatures to try first.
fn aligned(domain: &Name, authors: &[Name]) -> bool {
    authors
        .iter()
        .any(|a| a.is_subdomain_of(domain) || domain.is_subdomain_of(a))
}

/// [`verify`] with the author domains given by the caller (for instance the RFC5322.From
/// domain a DMARC evaluation uses).
///
/// RFC 6376 §6.1 lets a verifier limit the signatures it checks ([`Policy::max_signatures`]).
/// The limit bounds DNS and signature work, so it is spent as follows:
///
/// * a signature that fails before any DNS query or signature check (tag-list syntax,
///   missing or invalid tags, `h=` without From, unknown algorithm, rsa-sha1 refused, expired
///   `x=`, future `t=`, a `bh=` whose length is not the hash's) gets its verdict and does
///   **not** count toward the limit;
/// * the remaining signatures are tried with those whose `d=` is equal to, a parent of, or a
///   subdomain of an author domain first (see `aligned`: the organizational domain is not
///   known here), then the others, each group top to bottom;
/// * signatures beyond the limit get [`DkimProblem::NotChecked`].
///
/// So junk signatures placed above a valid one cannot hide it. Verdicts stay in field order.
pub fn verify_for_authors(
    message: &Message<'_>,
    policy: &Policy,
    now: u64,
    authors: &[Name],
) -> Step<PendingKeys, DkimReport> {
    verify_with_body(message, policy, now, authors, BodySource::Message)
}

/// [`verify_for_authors`] with the body hashes taken from `body`: [`BodySource::Message`]
/// hashes the message's body (what [`verify_for_authors`] does), [`BodySource::Hashes`]
/// takes hashes computed while the body streamed in, `message` then holding only the header
/// section. Ask [`body_hash_specs`] which specs to compute (with the same `policy`, `now` and
/// `authors`, so that the same signatures are chosen). A chosen signature whose spec is
/// missing gets [`DkimProblem::BodyHashNotSupplied`] (`temperror`).
///
/// ```
/// use mailstamp_dkim::{BodyHashSet, BodySource, DkimResult, Policy, body_hash_specs, verify_with_body};
/// use mailstamp_dns::{Name, Zone, resolve_sync};
/// use mailstamp_message::Message;
///
/// let header = concat!(
///     "DKIM-Signature: v=1; a=ed25519-sha256; c=relaxed/relaxed;\r\n",
///     " d=football.example.com; i=@football.example.com;\r\n",
///     " q=dns/txt; s=brisbane; t=1528637909; h=from : to :\r\n",
///     " subject : date : message-id : from : subject : date;\r\n",
///     " bh=2jUSOH9NhtVGCQWNr9BrIAPreKQjO6Sn7XIkfJVOzv8=;\r\n",
///     " b=/gCrinpcQOoIfuHNQIbq4pgh9kyIK3AQUdt9OdqQehSwhEIug4D11Bus\r\n",
///     " Fa3bT3FY5OsU7ZbnKELq+eXdp1Q1Dw==\r\n",
///     "From: Joe SixPack <joe@football.example.com>\r\n",
///     "To: Suzie Q <suzie@shopping.example.net>\r\n",
///     "Subject: Is dinner ready?\r\n",
///     "Date: Fri, 11 Jul 2003 21:00:37 -0700 (PDT)\r\n",
///     "Message-ID: <20030712040037.46341.5F8J@football.example.com>\r\n",
///     "\r\n",
/// );
/// let now = 1_528_637_909;
/// let view = Message::parse(header.as_bytes()); // the header only: no body held
/// let authors = view.authors();
/// // At end of header: which body hashes will be needed.
/// let mut set = BodyHashSet::new();
/// for spec in body_hash_specs(&view, &Policy::default(), now, authors.domains()) {
///     set.add(spec);
/// }
/// // The body arrives in chunks and is not kept.
/// set.update(b"Hi.\r\n\r\nWe lost the game.  ");
/// set.update(b"Are you hungry yet?\r\n\r\nJoe.\r\n");
/// let hashes = set.finish_hashes();
/// let mut zone = Zone::new();
/// zone.add_txt(
///     &Name::parse("brisbane._domainkey.football.example.com").unwrap(),
///     ["v=DKIM1; k=ed25519; p=11qYAYKxCrfVS/7TyWQHOg7hcvPapiMlrwIaaPcHURo="],
/// );
/// let step = verify_with_body(&view, &Policy::default(), now, authors.domains(), BodySource::Hashes(&hashes));
/// assert_eq!(resolve_sync(step, &zone).result(), DkimResult::Pass);
/// ```
pub fn verify_with_body(
    message: &Message<'_>,
    policy: &Policy,
    now: u64,
    authors: &[Name],
    body: BodySource<'_>,
) -> Step<PendingKeys, DkimReport> {
    let Selection {
        mut sigs,
        ready,
        chosen,
        normalized,
    } = select(message, policy, now, authors);
    let mut queries: Vec<Query> = Vec::new();
    let mut bodies = BodyHashSet::new();

    // Pass 3: hash inputs and key queries for the chosen ones, in field order.
    for (i, slot) in ready.into_iter().enumerate() {
        let Some(Ready {
            field,
            mut sig,
            query,
            mut details,
        }) = slot
        else {
            continue;
        };
        if !chosen[i] {
            details.signed_headers = std::mem::take(&mut sig.signed_headers);
            let problem = DkimProblem::NotChecked {
                limit: policy.max_signatures,
            };
            sigs[i] = Some(SigState::Done(Box::new(DkimVerdict::problem(
                problem, details,
            ))));
            continue;
        }
        let signed_data = header_hash_input(message, field, &sig);
        // The header list is only needed for the hash input: the verdict keeps it from here on.
        details.signed_headers = std::mem::take(&mut sig.signed_headers);
        let q = match queries.iter().position(|x| *x == query) {
            Some(q) => q,
            None => {
                queries.push(query);
                queries.len() - 1
            }
        };
        let body_id = bodies.add(spec_of(&sig));
        sigs[i] = Some(SigState::Await(Box::new(Awaiting {
            query: q,
            sig,
            signed_data,
            body_id,
            body: None,
            body_missing: false,
            details,
        })));
    }
    let mut sigs: Vec<SigState> = sigs.into_iter().flatten().collect();
    if queries.is_empty() {
        return Step::Done(finish_report(sigs, normalized));
    }
    let hashes = body.resolve(bodies, message);
    for s in &mut sigs {
        if let SigState::Await(a) = s {
            match hashes.get(a.body_id).cloned().flatten() {
                Some(h) => {
                    a.details.body_hash_matched = Some(h.digest == a.sig.body_hash);
                    if let Some(l) = a.sig.body_length {
                        a.details.unsigned_body_bytes = Some(h.canonical_length.saturating_sub(l));
                    }
                    a.body = Some(h);
                }
                None => a.body_missing = true,
            }
        }
    }
    Step::Lookup(PendingKeys {
        queries,
        sigs,
        normalized,
    })
}

/// The body hash a signature needs: its body canonicalization, its hash and `l=`.
fn spec_of(sig: &Signature) -> BodyHashSpec {
    BodyHashSpec {
        canonicalization: sig.canonicalization.body,
        algorithm: sig.algorithm.hash(),
        limit: sig.body_length,
    }
}

/// The body hashes [`verify_with_body`] will need for `message` (its header section is
/// enough): one per distinct spec of the signatures it will check, chosen exactly as
/// [`verify_for_authors`] chooses them (so junk signatures cannot add hashes beyond
/// [`Policy::max_signatures`], nor push out the aligned one). Call it with the `policy`,
/// `now` and `authors` that verification will use.
pub fn body_hash_specs(
    message: &Message<'_>,
    policy: &Policy,
    now: u64,
    authors: &[Name],
) -> Vec<BodyHashSpec> {
    let Selection { ready, chosen, .. } = select(message, policy, now, authors);
    let mut out: Vec<BodyHashSpec> = Vec::new();
    for (slot, chosen) in ready.iter().zip(chosen) {
        if let (Some(r), true) = (slot, chosen) {
            let spec = spec_of(&r.sig);
            if !out.contains(&spec) {
                out.push(spec);
            }
        }
    }
    out
}

/// Passes 1 and 2 of verification: the verdicts that need neither DNS nor cryptography, and
/// which of the other signatures get checked.
struct Selection<'m> {
    sigs: Vec<Option<SigState>>,
    ready: Vec<Option<Ready<'m>>>,
    chosen: Vec<bool>,
    normalized: bool,
}

fn select<'m>(
    message: &'m Message<'_>,
    policy: &Policy,
    now: u64,
    authors: &[Name],
) -> Selection<'m> {
    let normalized = message.line_endings_normalized();
    // RFC 5322 §2.1: without the empty line the body cannot be told (see
    // DkimProblem::MissingSeparator); well-formed signatures then fail without DNS.
    let missing_separator = message.anomalies().iter().find_map(|a| match *a {
        Anomaly::MissingSeparator { offset, line } => {
            Some(DkimProblem::MissingSeparator { line, offset })
        }
        _ => None,
    });
    let mut sigs = Vec::new();

    // Pass 1: every check that needs neither DNS nor cryptography.
    let mut ready: Vec<Option<Ready<'m>>> = Vec::new();
    for (index, field) in message
        .fields()
        .filter(|f| f.is_named("dkim-signature"))
        .enumerate()
    {
        let mut details = SignatureDetails {
            index,
            field_offset: field.offset(),
            line_endings_normalized: normalized,
            ..SignatureDetails::default()
        };
        let checked = precheck(field, policy, now, &mut details).and_then(|ok| {
            match missing_separator.clone() {
                Some(problem) => {
                    let (mut sig, _) = ok;
                    details.signed_headers = std::mem::take(&mut sig.signed_headers);
                    Err(problem)
                }
                None => Ok(ok),
            }
        });
        match checked {
            Err(problem) => {
                sigs.push(Some(SigState::Done(Box::new(DkimVerdict::problem(
                    problem, details,
                )))));
                ready.push(None);
            }
            Ok((sig, query)) => {
                sigs.push(None);
                ready.push(Some(Ready {
                    field,
                    sig,
                    query,
                    details,
                }));
            }
        }
    }

    // Pass 2: choose which signatures get DNS and crypto: aligned first, then the others.
    let mut order: Vec<usize> = (0..ready.len()).filter(|&i| ready[i].is_some()).collect();
    order.sort_by_key(|&i| {
        ready[i]
            .as_ref()
            .is_none_or(|r| !aligned(&r.sig.domain, authors))
    });
    let mut chosen = vec![false; ready.len()];
    for &i in order.iter().take(policy.max_signatures) {
        chosen[i] = true;
    }
    Selection {
        sigs,
        ready,
        chosen,
        normalized,
    }
}

/// A signature that passed [`precheck`], waiting to be chosen.
struct Ready<'m> {
    field: HeaderField<'m>,
    sig: Signature,
    query: Query,
    details: SignatureDetails,
}

fn finish_report(sigs: Vec<SigState>, normalized: bool) -> DkimReport {
    DkimReport {
        signatures: sigs
            .into_iter()
            .filter_map(|s| match s {
                SigState::Done(v) => Some(*v),
                SigState::Await(_) => None,
            })
            .collect(),
        line_endings_normalized: normalized,
    }
}

fn lossy(v: &[u8]) -> String {
    String::from_utf8_lossy(v).into_owned()
}

/// Fills what can be read from the tag list even when the signature is invalid.
fn details_from_tags(tags: &TagList<'_>, d: &mut SignatureDetails) {
    d.domain = tags.get("d").map(lossy);
    d.selector = tags.get("s").map(lossy);
    d.algorithm = tags.get("a").map(lossy);
    d.identity = tags.get("i").map(lossy);
    if let Some(h) = tags.get("h") {
        let mut names = HeaderNames::with_capacity(h.len());
        for n in h.split(|&c| c == b':') {
            // No `:` in a piece of the split; none in a replacement character either.
            names.push_plain(
                String::from_utf8_lossy(n).trim_matches(|c: char| c.is_ascii() && is_fws(c as u8)),
            );
        }
        d.signed_headers = names;
    }
}

/// RFC 6376 §6.1.1: parses and checks one signature, with no DNS query and no cryptography.
fn precheck(
    field: HeaderField<'_>,
    policy: &Policy,
    now: u64,
    details: &mut SignatureDetails,
) -> Result<(Signature, Query), DkimProblem> {
    let malformed = |error| DkimProblem::MalformedSignature { error };
    let tags = TagList::parse(field.value())
        .map_err(|error| malformed(SignatureError::Syntax { error }))?;
    details.signature_b = tags.get("b").map(|b| {
        let mut kept = Vec::with_capacity(b.len());
        kept.extend(b.iter().copied().filter(|&c| !is_fws(c)));
        if kept.is_ascii() {
            // ASCII is UTF-8: no byte-by-byte conversion.
            String::from_utf8(kept).unwrap_or_default()
        } else {
            kept.iter().map(|&c| char::from(c)).collect()
        }
    });
    let mut sig = match Signature::from_tags(&tags) {
        Ok(sig) => sig,
        Err(error) => {
            details_from_tags(&tags, details);
            return Err(malformed(error));
        }
    };
    details.domain = Some(sig.domain.as_str().to_owned());
    // The selector's only other use is the key name: made here, checked in its turn below,
    // and the selector itself moves to the details.
    let key_name = sig.key_name();
    details.selector = Some(std::mem::take(&mut sig.selector));
    details.algorithm = Some(sig.algorithm.as_str().to_owned());
    details.identity = sig.identity.as_ref().map(ToString::to_string);
    details.canonicalization = Some(sig.canonicalization);
    details.timestamp = sig.timestamp;
    details.expiration = sig.expiration;
    details.body_length = sig.body_length;
    let refuse = |problem, sig: &mut Signature, details: &mut SignatureDetails| {
        details.signed_headers = std::mem::take(&mut sig.signed_headers);
        Err(problem)
    };
    if sig.algorithm == SigningAlgorithm::RsaSha1 && !policy.accept_rsa_sha1 {
        return refuse(DkimProblem::Sha1Refused, &mut sig, details);
    }
    if let Some(x) = sig.expiration
        && x.saturating_add(policy.clock_skew) < now
    {
        return refuse(
            DkimProblem::Expired { expiration: x, now },
            &mut sig,
            details,
        );
    }
    // RFC 6376 §3.5 t=: "Verifiers MAY ignore signatures with a timestamp in the future".
    if let Some(t) = sig.timestamp
        && t > now.saturating_add(policy.clock_skew)
    {
        return refuse(
            DkimProblem::TimestampInFuture { timestamp: t, now },
            &mut sig,
            details,
        );
    }
    // RFC 6376 §3.5 bh=: the hash of the body; a value of another length can never match
    // (§6.1.3 step 3), so no key needs to be fetched for it.
    let digest_len = sig.algorithm.hash().digest_len();
    if sig.body_hash.len() != digest_len {
        details.body_hash_matched = Some(false);
        let problem = DkimProblem::WrongBodyHashLength {
            length: sig.body_hash.len(),
            expected: digest_len,
            offset: tags.tag("bh").map_or(0, |t| t.value_offset),
        };
        return refuse(problem, &mut sig, details);
    }
    let key_name = match key_name {
        Ok(n) => n,
        Err(e) => {
            return refuse(
                malformed(SignatureError::InvalidTagValue {
                    tag: "s",
                    offset: tags.tag("s").map_or(0, |t| t.value_offset),
                    reason: format!("the key name is not a valid DNS name: {e}"),
                }),
                &mut sig,
                details,
            );
        }
    };
    Ok((sig, Query::txt(key_name)))
}

/// The data the signature covers (RFC 6376 §3.7, §5.4.2): the fields named in `h=`, each
/// taken bottom-up (the last unused occurrence first; a name with no unused occurrence
/// contributes nothing), canonicalized, then the DKIM-Signature field itself with its `b=`
/// value emptied and without a final CRLF.
pub fn header_hash_input(
    message: &Message<'_>,
    signature_field: HeaderField<'_>,
    sig: &Signature,
) -> Vec<u8> {
    let canon = sig.canonicalization.header;
    let mut out = Vec::with_capacity(1024);
    append_signed_fields(message, &sig.signed_headers, canon, &mut out);
    let raw = signature_field.raw();
    let value_start = signature_field.value_offset() - signature_field.offset();
    let cut_start = (value_start + sig.b_value_range.start).min(raw.len());
    let cut_end = (value_start + sig.b_value_range.end)
        .min(raw.len())
        .max(cut_start);
    canonicalize_header_cut(canon, raw, cut_start..cut_end, &mut out);
    out
}

/// Checks a signature over `data` with the signature backend of [`crate::crypto`] (RFC 6376
/// §3.3, RFC 8463 §3): RSASSA-PKCS1-v1_5 with SHA-256 (SHA-1 only for `rsa-sha1`, which
/// callers refuse under RFC 8301 before they get here), or Ed25519 over the SHA-256 digest of
/// `data`. `false` when the key type does not
/// fit the algorithm. It applies no key-size policy: callers check [`PublicKey::bits`] against
/// [`MIN_RSA_BITS`] and [`MAX_RSA_BITS`] first.
///
/// Public for protocols that reuse DKIM's signatures over their own signing input (ARC,
/// RFC 8617, in `mailstamp-arc`).
pub fn check_signature(
    key: &PublicKey,
    algorithm: SigningAlgorithm,
    data: &[u8],
    signature: &[u8],
) -> bool {
    match (algorithm, key.ed25519_kept()) {
        (SigningAlgorithm::RsaSha256 | SigningAlgorithm::RsaSha1, _) => {
            key.rsa_parts().is_some_and(|(n_e, prepared)| {
                crate::crypto::verify_rsa(
                    prepared,
                    n_e,
                    key.bits(),
                    algorithm == SigningAlgorithm::RsaSha1,
                    data,
                    signature,
                )
            })
        }
        (SigningAlgorithm::Ed25519Sha256, Some((pk, kept))) => {
            use sha2::Digest as _;
            crate::crypto::verify_ed25519(kept, pk, &sha2::Sha256::digest(data), signature)
        }
        _ => false,
    }
}

impl PendingKeys {
    /// The key queries, one per distinct key name.
    pub fn queries(&self) -> &[Query] {
        &self.queries
    }

    /// Ends the verification with the answers (one per query, in order), parsing each key
    /// record through `cache` so that a record seen before is not parsed again.
    pub fn resume_with_cache(self, answers: Vec<Answer>, cache: &mut KeyCache) -> DkimReport {
        let PendingKeys {
            queries,
            sigs,
            normalized,
        } = self;
        let signatures = sigs
            .into_iter()
            .map(|s| match s {
                SigState::Done(v) => *v,
                SigState::Await(a) => {
                    let answer = answers
                        .get(a.query)
                        .unwrap_or(&Answer::Failed(FailureKind::Other));
                    evaluate(*a, &queries, answer, cache)
                }
            })
            .collect();
        DkimReport {
            signatures,
            line_endings_normalized: normalized,
        }
    }
}

impl Lookup for PendingKeys {
    type Output = DkimReport;

    fn queries(&self) -> &[Query] {
        &self.queries
    }

    fn resume(self, answers: Vec<Answer>) -> Step<Self, DkimReport> {
        Step::Done(self.resume_with_cache(answers, &mut KeyCache::with_limit(16)))
    }
}

/// RFC 6376 §6.1.2 (get the key) and §6.1.3 (compute the verification) for one signature.
fn evaluate(a: Awaiting, queries: &[Query], answer: &Answer, cache: &mut KeyCache) -> DkimVerdict {
    let Awaiting {
        query,
        sig,
        signed_data,
        body,
        body_missing,
        mut details,
        ..
    } = a;
    let name = queries.get(query).map(|q| q.name.clone());
    let key_problem = |p: DkimProblem, d: SignatureDetails| DkimVerdict::problem(p, d);
    let Some(name) = name else {
        return key_problem(
            DkimProblem::KeyUnavailable {
                name: sig.domain.clone(),
                failure: FailureKind::Other,
            },
            details,
        );
    };
    if let Answer::Failed(failure) = answer {
        return key_problem(
            DkimProblem::KeyUnavailable {
                name,
                failure: *failure,
            },
            details,
        );
    }
    let txts: Vec<_> = answer.txts().collect();
    let txt = match txts.as_slice() {
        [] => return key_problem(DkimProblem::KeyNotFound { name }, details),
        [one] => one.joined(),
        many => {
            return key_problem(
                DkimProblem::MultipleKeyRecords {
                    name,
                    count: many.len(),
                },
                details,
            );
        }
    };
    let parsed = cache.get_or_parse(&txt);
    let record: &KeyRecord = match parsed.as_ref() {
        Ok(r) => r,
        Err(error) => {
            return key_problem(
                DkimProblem::InvalidKeyRecord {
                    error: error.clone(),
                },
                details,
            );
        }
    };
    details.key_type = Some(record.key_type);
    details.testing = record.flags.testing;
    let Some(key) = record.public_key.as_ref() else {
        return key_problem(DkimProblem::KeyRevoked, details);
    };
    details.key_bits = Some(key.bits());
    if record.key_type != sig.algorithm.key_type() {
        return key_problem(
            DkimProblem::KeyTypeMismatch {
                key_type: record.key_type,
                algorithm: sig.algorithm.as_str().to_owned(),
            },
            details,
        );
    }
    if !record.allows_hash(sig.algorithm.hash()) {
        return key_problem(
            DkimProblem::HashNotAllowedByKey {
                hash: sig.algorithm.hash().as_str().to_owned(),
            },
            details,
        );
    }
    if !record.allows_email() {
        return key_problem(DkimProblem::ServiceNotAllowed, details);
    }
    if record.flags.strict
        && sig
            .identity
            .as_ref()
            .is_some_and(|i| i.domain != sig.domain)
    {
        return key_problem(DkimProblem::StrictIdentityMismatch, details);
    }
    if record.key_type == KeyType::Rsa {
        let bits = key.bits();
        if bits < MIN_RSA_BITS {
            return key_problem(DkimProblem::KeyTooShort { bits }, details);
        }
        if bits > MAX_RSA_BITS {
            return key_problem(DkimProblem::KeyTooLong { bits }, details);
        }
    }
    let Some(body) = body else {
        let problem = if body_missing {
            DkimProblem::BodyHashNotSupplied
        } else {
            DkimProblem::BodyHashMismatch
        };
        return key_problem(problem, details);
    };
    let sig_ok = check_signature(key, sig.algorithm, &signed_data, &sig.signature);
    details.signature_matched = Some(sig_ok);
    let body_ok = details.body_hash_matched == Some(true);
    let problem = match sig.body_length {
        Some(l) if l > body.canonical_length => Some(DkimProblem::BodyLengthExceedsBody {
            length: l,
            canonical_length: body.canonical_length,
        }),
        _ if !body_ok => Some(DkimProblem::BodyHashMismatch),
        _ if !sig_ok => Some(DkimProblem::SignatureMismatch),
        _ => None,
    };
    match problem {
        None => DkimVerdict {
            result: crate::DkimResult::Pass,
            problem: None,
            details,
            forensics: None,
        },
        Some(p) => {
            use base64::Engine as _;
            let b64 = base64::engine::general_purpose::STANDARD;
            let forensics = Forensics {
                canonical_headers: signed_data,
                computed_body_hash: b64.encode(&body.digest),
                stated_body_hash: b64.encode(&sig.body_hash),
                canonical_body_length: body.canonical_length,
            };
            DkimVerdict {
                forensics: Some(forensics),
                ..DkimVerdict::problem(p, details)
            }
        }
    }
}
