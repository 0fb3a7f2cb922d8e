//! Chain validation (RFC 8617 §5.2) as a sans-I/O state machine.

use crate::header::{self, MessageSignature, Seal, SetFields, collect_sets};
use crate::result::{ArcProblem, ArcResult, ArcVerdict, FieldKind, SetReport, SignatureCheck};
use mailstamp_dkim::{
    BodyHashSet, BodyHashSpec, BodySource, Canonicalization, DEFAULT_CLOCK_SKEW, HashAlgorithm,
    KeyCache, KeyRecord, KeyType, MAX_RSA_BITS, MIN_RSA_BITS, PublicKey, SigningAlgorithm,
    canonicalize_header, check_signature, key_record_name,
};
use mailstamp_dns::{Answer, FailureKind, Lookup, Name, Query, Step};
use mailstamp_message::{HeaderField, Message};
use std::collections::BTreeMap;
use std::ops::Range;

/// The field's raw text (`Name: value`) with the span `b_value` of its value removed.
pub(crate) fn without_b(field: &HeaderField<'_>, b_value: &Range<usize>) -> Vec<u8> {
    let raw = field.raw();
    let value_start = field.value_offset() - field.offset();
    let start = (value_start + b_value.start).min(raw.len());
    let end = (value_start + b_value.end).min(raw.len()).max(start);
    let mut out = Vec::with_capacity(raw.len());
    out.extend_from_slice(&raw[..start]);
    out.extend_from_slice(&raw[end..]);
    out
}

/// Canonicalizes one field; without the final CRLF when `last` (the signature field itself,
/// RFC 6376 §3.7).
pub(crate) fn canon_field(canon: Canonicalization, raw: &[u8], last: bool, out: &mut Vec<u8>) {
    canonicalize_header(canon, raw, out);
    if last {
        out.truncate(out.len() - 2);
    }
}

/// One signature waiting for its key.
#[derive(Debug)]
struct Job {
    instance: u32,
    kind: FieldKind,
    algorithm: SigningAlgorithm,
    query: usize,
    data: Vec<u8>,
    signature: Vec<u8>,
    /// A problem found before the key is needed (body hash), reported after the key checks.
    body_problem: Option<ArcProblem>,
}

/// A signature's state before DNS: a job, or already decided.
#[derive(Debug)]
enum Check {
    Await(Job),
    Done(SignatureCheck),
}

/// A chain validation waiting for its key records (one TXT query per distinct key name, all
/// at once). Resume it with [`Lookup::resume`] or [`PendingArcKeys::resume_with_cache`].
#[derive(Debug)]
pub struct PendingArcKeys {
    queries: Vec<Query>,
    /// AMS checks, index = instance - 1.
    ams: Vec<Check>,
    /// Seal checks, index = instance - 1.
    seals: Vec<Check>,
    reports: Vec<SetReport>,
    normalized: bool,
}

fn fail(problem: ArcProblem, sets: Vec<SetReport>, normalized: bool) -> ArcVerdict {
    ArcVerdict {
        result: problem.result(),
        instances: sets.iter().map(|s| s.instance).max().unwrap_or(0),
        failed_instance: problem.instance(),
        problem: Some(problem),
        oldest_pass: None,
        sets,
        line_endings_normalized: normalized,
    }
}

fn lossy(v: &[u8]) -> String {
    String::from_utf8_lossy(v).into_owned()
}

/// What can be read from a set's fields for the report, even when they do not parse.
fn report_of(instance: u32, set: &SetFields<'_>) -> SetReport {
    let tags = |f: Option<&HeaderField<'_>>, name: &str| {
        f.and_then(|f| {
            mailstamp_dkim::TagList::parse(f.value())
                .ok()
                .and_then(|t| t.get(name).map(|v| lossy(v).trim().to_owned()))
        })
    };
    let seal = set.seal.first();
    let ams = set.ams.first();
    SetReport {
        instance,
        domain: tags(seal, "d"),
        selector: tags(seal, "s"),
        algorithm: tags(seal, "a"),
        cv: tags(seal, "cv"),
        ams_domain: tags(ams, "d"),
        authentication_results: set.aar.first().and_then(|f| {
            header::parse_aar(f.value()).ok().map(|(_, r)| {
                lossy(&f.value()[r])
                    .split_whitespace()
                    .collect::<Vec<_>>()
                    .join(" ")
            })
        }),
        ams: SignatureCheck::NotChecked,
        seal: SignatureCheck::NotChecked,
    }
}

/// Validates the ARC chain of `message` (RFC 8617 §5.2) at time `now` (Unix seconds, for
/// AMS `x=`).
///
/// Structure (steps 1–3) is checked at once; then one [`Step::Lookup`] asks for every key
/// record the AMS and ARC-Seal fields name, and resuming it checks the newest AMS (step 4),
/// every older AMS for oldest-pass (step 5) and every ARC-Seal (step 6). A message without
/// ARC fields, or with a structural problem, is decided without any query.
///
/// Every problem is a `fail` verdict ([`ArcVerdict::problem`]), never an `Err` or a panic.
pub fn validate(message: &Message<'_>, now: u64) -> Step<PendingArcKeys, ArcVerdict> {
    validate_with_body(message, now, BodySource::Message)
}

/// The chain as read before any body hash, key or signature: the sets, the parsed seals and
/// AMS fields, or the verdict when the structure already decides it (§5.2 steps 1–3).
struct Chain<'m> {
    sets: BTreeMap<u32, SetFields<'m>>,
    reports: Vec<SetReport>,
    seals: Vec<Seal>,
    amss: Vec<Result<MessageSignature, ArcProblem>>,
}

fn read_chain<'m>(message: &'m Message<'_>) -> Result<Chain<'m>, ArcVerdict> {
    let normalized = message.line_endings_normalized();
    let sets = match collect_sets(message) {
        Ok(s) => s,
        Err(p) => return Err(fail(p, Vec::new(), normalized)),
    };
    let Some((&newest, _)) = sets.last_key_value() else {
        return Err(ArcVerdict {
            line_endings_normalized: normalized,
            ..ArcVerdict::none()
        });
    };
    let reports: Vec<SetReport> = sets.iter().map(|(&i, s)| report_of(i, s)).collect();
    // §5.2 step 2: the newest seal says the chain already failed.
    if sets[&newest]
        .seal
        .iter()
        .any(|f| header::cv_of(f.value()) == Some(ArcResult::Fail))
    {
        return Err(fail(
            ArcProblem::NewestSealFailed { instance: newest },
            reports,
            normalized,
        ));
    }
    if let Err(p) = structure(&sets, newest) {
        return Err(fail(p, reports, normalized));
    }
    // Every set 1..=N now has exactly one field of each kind.
    let mut seals = Vec::with_capacity(newest as usize);
    for i in 1..=newest {
        let seal = match Seal::parse(sets[&i].seal[0].value()) {
            Ok(s) => s,
            Err(p) => return Err(fail(p, reports, normalized)),
        };
        let expected = if i == 1 {
            ArcResult::None
        } else {
            ArcResult::Pass
        };
        if seal.cv != expected {
            return Err(fail(
                ArcProblem::WrongChainValidation {
                    instance: i,
                    found: seal.cv.to_string(),
                    expected,
                },
                reports,
                normalized,
            ));
        }
        seals.push(seal);
    }
    let amss: Vec<Result<MessageSignature, ArcProblem>> = (1..=newest)
        .map(|i| MessageSignature::parse(sets[&i].ams[0].value()))
        .collect();
    if let Some(Err(p)) = amss.last() {
        return Err(fail(p.clone(), reports, normalized));
    }
    Ok(Chain {
        sets,
        reports,
        seals,
        amss,
    })
}

/// The body hash an AMS needs (RFC 8617 §4.1.2: DKIM's body hash, SHA-256).
fn spec_of(ams: &MessageSignature) -> BodyHashSpec {
    BodyHashSpec {
        canonicalization: ams.canonicalization.body,
        algorithm: HashAlgorithm::Sha256,
        limit: ams.body_length,
    }
}

/// The body hashes [`validate_with_body`] will need for `message` (its header section is
/// enough): one per distinct spec of the AMS fields of a chain whose structure is sound (none
/// when the structure already decides the verdict). Register them in a
/// [`mailstamp_dkim::BodyHashSet`] before the body streams in.
pub fn body_hash_specs(message: &Message<'_>) -> Vec<BodyHashSpec> {
    let mut out: Vec<BodyHashSpec> = Vec::new();
    if let Ok(chain) = read_chain(message) {
        for spec in chain.amss.iter().flatten().map(spec_of) {
            if !out.contains(&spec) {
                out.push(spec);
            }
        }
    }
    out
}

/// [`validate`] with the AMS body hashes taken from `body`: [`BodySource::Message`] hashes
/// the message's body (what [`validate`] does); [`BodySource::Hashes`] takes hashes computed
/// while the body streamed in ([`body_hash_specs`] says which), `message` then holding only
/// the header section. An AMS whose hash is missing fails with
/// [`ArcProblem::BodyHashNotSupplied`].
pub fn validate_with_body(
    message: &Message<'_>,
    now: u64,
    body: BodySource<'_>,
) -> Step<PendingArcKeys, ArcVerdict> {
    let normalized = message.line_endings_normalized();
    let Chain {
        sets,
        reports,
        seals,
        amss,
    } = match read_chain(message) {
        Ok(c) => c,
        Err(verdict) => return Step::Done(verdict),
    };

    let mut queries: Vec<Query> = Vec::new();
    let mut query_of =
        |selector: &str, domain: &Name, instance: u32, kind: FieldKind| match key_record_name(
            selector,
            domain.as_str(),
        ) {
            Ok(name) => {
                let q = Query::txt(name);
                Ok(queries.iter().position(|x| *x == q).unwrap_or_else(|| {
                    queries.push(q);
                    queries.len() - 1
                }))
            }
            Err(e) => Err(ArcProblem::Malformed {
                instance,
                kind,
                reason: format!("no key name from s= and d=: {e}"),
            }),
        };

    // Body hashes, every distinct (canonicalization, l=) once, in one pass.
    let mut bodies = BodyHashSet::new();
    let body_ids: Vec<Option<usize>> = amss
        .iter()
        .map(|a| a.as_ref().ok().map(|a| bodies.add(spec_of(a))))
        .collect();
    let hashes = body.resolve(bodies, message);

    let mut ams_checks = Vec::with_capacity(amss.len());
    for (idx, ams) in amss.into_iter().enumerate() {
        let instance = idx as u32 + 1;
        let check = match ams {
            Err(p) => Check::Done(SignatureCheck::Fail { problem: p }),
            Ok(ams) => {
                let c = &ams.common;
                let field = &sets[&instance].ams[0];
                if c.algorithm == SigningAlgorithm::RsaSha1 {
                    Check::Done(SignatureCheck::Fail {
                        problem: ArcProblem::Sha1Refused {
                            instance,
                            kind: FieldKind::Ams,
                        },
                    })
                } else if let Some(x) = ams.expiration
                    && x.saturating_add(DEFAULT_CLOCK_SKEW) < now
                {
                    Check::Done(SignatureCheck::Fail {
                        problem: ArcProblem::Expired {
                            instance,
                            expiration: x,
                            now,
                        },
                    })
                } else {
                    match query_of(&c.selector, &c.domain, instance, FieldKind::Ams) {
                        Err(p) => Check::Done(SignatureCheck::Fail { problem: p }),
                        Ok(query) => {
                            let body = body_ids[idx]
                                .and_then(|id| hashes.get(id).and_then(Option::as_ref));
                            let body_ok = body.is_some_and(|b| {
                                b.digest == ams.body_hash
                                    && ams.body_length.is_none_or(|l| l <= b.canonical_length)
                            });
                            let body_problem = match body {
                                None => Some(ArcProblem::BodyHashNotSupplied { instance }),
                                Some(_) if !body_ok => {
                                    Some(ArcProblem::BodyHashMismatch { instance })
                                }
                                Some(_) => None,
                            };
                            let mut data = Vec::with_capacity(1024);
                            let canon = ams.canonicalization.header;
                            mailstamp_dkim::append_signed_fields(
                                message,
                                &ams.signed_headers,
                                canon,
                                &mut data,
                            );
                            canon_field(
                                canon,
                                &without_b(field, &c.b_value_range),
                                true,
                                &mut data,
                            );
                            Check::Await(Job {
                                instance,
                                kind: FieldKind::Ams,
                                algorithm: c.algorithm,
                                query,
                                data,
                                signature: c.signature.clone(),
                                body_problem,
                            })
                        }
                    }
                }
            }
        };
        ams_checks.push(check);
    }

    let mut seal_checks = Vec::with_capacity(seals.len());
    for seal in &seals {
        let c = &seal.common;
        let instance = c.instance;
        let check = if c.algorithm == SigningAlgorithm::RsaSha1 {
            Check::Done(SignatureCheck::Fail {
                problem: ArcProblem::Sha1Refused {
                    instance,
                    kind: FieldKind::Seal,
                },
            })
        } else {
            match query_of(&c.selector, &c.domain, instance, FieldKind::Seal) {
                Err(p) => Check::Done(SignatureCheck::Fail { problem: p }),
                Ok(query) => {
                    let mut data = Vec::with_capacity(4096);
                    seal_input(&sets, instance, &c.b_value_range, &mut data);
                    Check::Await(Job {
                        instance,
                        kind: FieldKind::Seal,
                        algorithm: c.algorithm,
                        query,
                        data,
                        signature: c.signature.clone(),
                        body_problem: None,
                    })
                }
            }
        };
        seal_checks.push(check);
    }

    let pending = PendingArcKeys {
        queries,
        ams: ams_checks,
        seals: seal_checks,
        reports,
        normalized,
    };
    if pending.queries.is_empty() {
        Step::Done(pending.finish(&[], &mut KeyCache::with_limit(1)))
    } else {
        Step::Lookup(pending)
    }
}

/// §5.2 step 3.1 and 3.2: every instance 1..=N present, each with one field of each kind.
fn structure(sets: &BTreeMap<u32, SetFields<'_>>, newest: u32) -> Result<(), ArcProblem> {
    for i in 1..=newest {
        let Some(set) = sets.get(&i) else {
            return Err(ArcProblem::MissingInstance {
                instance: i,
                newest,
            });
        };
        for kind in [FieldKind::Aar, FieldKind::Ams, FieldKind::Seal] {
            match set.of(kind).len() {
                1 => {}
                0 => return Err(ArcProblem::MissingField { instance: i, kind }),
                count => {
                    return Err(ArcProblem::DuplicateField {
                        instance: i,
                        kind,
                        count,
                    });
                }
            }
        }
    }
    Ok(())
}

/// The data an ARC-Seal of `instance` signs (RFC 8617 §5.1.1): the sets 1..=instance in
/// increasing order, each AAR, AMS, AS in relaxed form, the seal itself last with `b=` empty
/// and no final CRLF.
fn seal_input(
    sets: &BTreeMap<u32, SetFields<'_>>,
    instance: u32,
    b_value: &Range<usize>,
    out: &mut Vec<u8>,
) {
    let relaxed = Canonicalization::Relaxed;
    for i in 1..=instance {
        let set = &sets[&i];
        canon_field(relaxed, set.aar[0].raw(), false, out);
        canon_field(relaxed, set.ams[0].raw(), false, out);
        if i == instance {
            canon_field(relaxed, &without_b(&set.seal[0], b_value), true, out);
        } else {
            canon_field(relaxed, set.seal[0].raw(), false, out);
        }
    }
}

/// The key for one signature from its TXT answer (RFC 6376 §6.1.2, RFC 8301 §3.2).
fn key_for(
    answer: &Answer,
    name: &Name,
    job: &Job,
    cache: &mut KeyCache,
) -> Result<PublicKey, ArcProblem> {
    let (instance, kind) = (job.instance, job.kind);
    let unusable = |reason: String| ArcProblem::KeyUnusable {
        instance,
        kind,
        reason,
    };
    if let Answer::Failed(failure) = answer {
        return Err(ArcProblem::KeyUnavailable {
            instance,
            kind,
            name: name.clone(),
            failure: *failure,
        });
    }
    let txts: Vec<_> = answer.txts().collect();
    let txt = match txts.as_slice() {
        [] => {
            return Err(ArcProblem::KeyNotFound {
                instance,
                kind,
                name: name.clone(),
            });
        }
        [one] => one.joined(),
        many => return Err(unusable(format!("{} key records at {name}", many.len()))),
    };
    let parsed = cache.get_or_parse(&txt);
    let record: &KeyRecord = match parsed.as_ref() {
        Ok(r) => r,
        Err(e) => return Err(unusable(e.to_string())),
    };
    let Some(key) = record.public_key.as_ref() else {
        return Err(unusable("the key is revoked (empty p=)".to_owned()));
    };
    if record.key_type != job.algorithm.key_type() {
        return Err(unusable(format!(
            "a {} key cannot verify {}",
            record.key_type.as_str(),
            job.algorithm
        )));
    }
    if !record.allows_hash(job.algorithm.hash()) {
        return Err(unusable("the key's h= does not allow sha256".to_owned()));
    }
    if !record.allows_email() {
        return Err(unusable("the key's s= does not allow email".to_owned()));
    }
    if record.key_type == KeyType::Rsa {
        let bits = key.bits();
        if bits < MIN_RSA_BITS {
            return Err(unusable(format!(
                "RSA key of {bits} bits; at least {MIN_RSA_BITS} are required (RFC 8301 §3.2)"
            )));
        }
        if bits > MAX_RSA_BITS {
            return Err(unusable(format!(
                "RSA key of {bits} bits; at most {MAX_RSA_BITS} are read"
            )));
        }
    }
    Ok(key.clone())
}

fn run(job: Job, queries: &[Query], answers: &[Answer], cache: &mut KeyCache) -> SignatureCheck {
    let failed = Answer::Failed(FailureKind::Other);
    let answer = answers.get(job.query).unwrap_or(&failed);
    let Some(query) = queries.get(job.query) else {
        return SignatureCheck::NotChecked;
    };
    let key = match key_for(answer, &query.name, &job, cache) {
        Ok(k) => k,
        Err(problem) => return SignatureCheck::Fail { problem },
    };
    if let Some(problem) = job.body_problem {
        return SignatureCheck::Fail { problem };
    }
    if check_signature(&key, job.algorithm, &job.data, &job.signature) {
        SignatureCheck::Pass
    } else {
        let instance = job.instance;
        SignatureCheck::Fail {
            problem: match job.kind {
                FieldKind::Seal => ArcProblem::SealSignatureMismatch { instance },
                _ => ArcProblem::AmsSignatureMismatch { instance },
            },
        }
    }
}

impl PendingArcKeys {
    /// The key queries (TXT), one per distinct key name.
    pub fn queries(&self) -> &[Query] {
        &self.queries
    }

    /// Ends the validation with the answers (one per query, in order), parsing key records
    /// through `cache`.
    pub fn resume_with_cache(self, answers: Vec<Answer>, cache: &mut KeyCache) -> ArcVerdict {
        self.finish(&answers, cache)
    }

    fn finish(self, answers: &[Answer], cache: &mut KeyCache) -> ArcVerdict {
        let PendingArcKeys {
            queries,
            ams,
            seals,
            mut reports,
            normalized,
        } = self;
        let mut resolve = |c: Check| match c {
            Check::Done(s) => s,
            Check::Await(job) => run(job, &queries, answers, cache),
        };
        let ams: Vec<SignatureCheck> = ams.into_iter().map(&mut resolve).collect();
        let seals: Vec<SignatureCheck> = seals.into_iter().map(&mut resolve).collect();
        let newest = ams.len();
        for (r, (a, s)) in reports.iter_mut().zip(ams.iter().zip(seals.iter())) {
            r.ams = a.clone();
            r.seal = s.clone();
        }
        // §5.2 step 4: the newest AMS.
        if let Some(SignatureCheck::Fail { problem }) = ams.last() {
            return fail(problem.clone(), reports, normalized);
        }
        // §5.2 step 5: oldest-pass, from N-1 down.
        let mut oldest_pass = 0;
        for m in (1..newest).rev() {
            if !ams[m - 1].is_pass() {
                oldest_pass = m as u32 + 1;
                break;
            }
        }
        // §5.2 step 6: every seal, newest first.
        for s in seals.iter().rev() {
            if let SignatureCheck::Fail { problem } = s {
                return fail(problem.clone(), reports, normalized);
            }
        }
        ArcVerdict {
            result: ArcResult::Pass,
            instances: newest as u32,
            failed_instance: None,
            problem: None,
            oldest_pass: Some(oldest_pass),
            sets: reports,
            line_endings_normalized: normalized,
        }
    }
}

impl Lookup for PendingArcKeys {
    type Output = ArcVerdict;

    fn queries(&self) -> &[Query] {
        &self.queries
    }

    fn resume(self, answers: Vec<Answer>) -> Step<Self, ArcVerdict> {
        Step::Done(self.finish(&answers, &mut KeyCache::with_limit(16)))
    }
}
