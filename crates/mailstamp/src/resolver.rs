//! The resolver every mailstamp evaluation shares: one source of answers (an offline
//! [`Zone`] or the live DNS through hickory-resolver), a TTL-honouring cache, an observer
//! hook and record mode.

mod live;
mod parsed;

pub use live::LiveConfig;
pub use parsed::{DEFAULT_PARSED_LIMIT, ParsedRecords};

use mailstamp_dns::{Answer, Name, Query, Zone};
use std::collections::HashMap;
use std::future::Future;
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::task::Poll;
use tokio::sync::OnceCell;

/// How long an NXDOMAIN or NODATA answer is cached when the server sent no SOA to say (and for
/// offline zones), in seconds. RFC 2308 §5 bounds negative caching by the SOA; 300 s is a
/// common resolver default.
pub const DEFAULT_NEGATIVE_TTL: u32 = 300;

/// How long a failed lookup (timeout, SERVFAIL, ...) is cached, in seconds. RFC 2308 §7
/// allows caching server failures for up to five minutes; a short time keeps one evaluation
/// from waiting on the same dead server again while letting the next one retry.
pub const FAILURE_TTL: u32 = 30;

/// Longest time anything is cached, in seconds, whatever the TTL says.
pub const MAX_CACHE_TTL: u32 = 86_400;

/// Cache size at which stale entries are swept out (so a long-running process asking many
/// distinct names does not keep every answer forever).
const PRUNE_AT: usize = 4096;

/// A clock: the current time as Unix seconds.
pub type Clock = Arc<dyn Fn() -> u64 + Send + Sync>;

/// Something that watches the resolver's traffic (the CLI's `-v` prints every event).
pub type Observer = Arc<dyn Fn(&DnsEvent<'_>) + Send + Sync>;

/// What the resolver does, as seen by an [`Observer`].
#[derive(Debug, Clone, Copy)]
pub enum DnsEvent<'a> {
    /// A query is being sent to the source (not answered from the cache).
    Sent {
        /// The question.
        query: &'a Query,
    },
    /// A query got its answer.
    Answered {
        /// The question.
        query: &'a Query,
        /// The answer.
        answer: &'a Answer,
        /// True when the answer came from the cache.
        cached: bool,
    },
}

/// Why a resolver could not be built.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ResolverError {
    /// The system resolver configuration (`/etc/resolv.conf`) could not be read.
    #[error("cannot read the system DNS configuration: {0}")]
    SystemConfig(String),
    /// hickory-resolver refused the configuration.
    #[error("cannot set up the DNS resolver: {0}")]
    Setup(String),
}

/// Where answers come from.
#[derive(Debug, Clone)]
pub enum DnsSource {
    /// An offline zone (fixtures): no network at all.
    Zone(Zone),
    /// The live DNS, through hickory-resolver.
    Live(LiveConfig),
}

enum Backend {
    Zone(Zone),
    Live(Box<live::Live>),
}

struct Cached {
    answer: Answer,
    /// Unix seconds after which the entry is stale.
    expires: u64,
}

type Slot = Arc<OnceCell<Cached>>;

/// The caches' hasher: foldhash, seeded per process (names come from mail, so the seed keeps
/// collisions unpredictable), several times faster than SipHash on names.
pub(crate) type CacheHasher = foldhash::fast::RandomState;

struct Inner {
    backend: Backend,
    cache: Mutex<HashMap<Query, Slot, CacheHasher>>,
    clock: Clock,
    observer: Option<Observer>,
    recording: Option<Mutex<Vec<(Query, Answer)>>>,
    parsed: Arc<ParsedRecords>,
    discoveries: Mutex<Discoveries>,
}

/// DMARC policy discoveries kept per Author Domain, each until the first of the answers it
/// read expires ([`mailstamp_dmarc::RecordParser::keep_discovery`]). An Author Domain has
/// one discovery per way its walk can go for different identifiers (stopped at the Author
/// Domain's own record, or walked on): a few at most.
type Discoveries = HashMap<Name, Vec<KeptDiscovery>, CacheHasher>;

/// Most discoveries kept for one Author Domain (the walk has three forms; more only when
/// evaluations race to keep the same one).
const DISCOVERIES_PER_AUTHOR: usize = 4;

struct KeptDiscovery {
    discovery: Arc<mailstamp_dmarc::PolicyDiscovery>,
    /// Unix seconds after which one of its answers is stale.
    expires: u64,
}

/// The resolver: answers [`Query`]s from one [`DnsSource`] through a cache shared by every
/// clone.
///
/// Cloning is cheap (an [`Arc`]); all clones share the cache, so everything one process
/// evaluates benefits from every answer. Entries live as long as the answer's TTL (the
/// smallest TTL of its records), [`DEFAULT_NEGATIVE_TTL`] or the SOA's for NXDOMAIN and
/// NODATA, [`FAILURE_TTL`] for failures, and never more than [`MAX_CACHE_TTL`]. Concurrent
/// asks for the same query wait for one lookup. DMARC policy discoveries made through it are
/// kept beside the answers they read, until the first of those expires, so that a repeated
/// Author Domain is not walked again
/// ([`mailstamp_dmarc::RecordParser::discovery_at_hand`]; not with an observer, which must
/// see every answer an evaluation reads).
///
/// ```
/// use mailstamp::Resolver;
/// use mailstamp_dns::{Name, Query, Zone};
///
/// let mut zone = Zone::new();
/// zone.add_txt(&Name::parse("example.org")?, ["v=spf1 -all"]);
/// let resolver = Resolver::offline(zone);
/// let runtime = tokio::runtime::Builder::new_current_thread().build()?;
/// let answer = runtime.block_on(resolver.answer(&Query::txt(Name::parse("example.org")?)));
/// assert_eq!(answer.txts().next().map(|t| t.joined()), Some(b"v=spf1 -all".to_vec()));
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Clone)]
pub struct Resolver {
    inner: Arc<Inner>,
}

impl std::fmt::Debug for Resolver {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let source = match &self.inner.backend {
            Backend::Zone(_) => "zone",
            Backend::Live(_) => "live",
        };
        f.debug_struct("Resolver")
            .field("source", &source)
            .field("recording", &self.inner.recording.is_some())
            .finish_non_exhaustive()
    }
}

/// `check_host()`'s hook into the resolver: records parsed through [`ParsedRecords`], and
/// the SPF records whose answers are cached and fresh read at once, without a step through
/// the driver ([`mailstamp_spf::RecordParser::answer_at_hand`]).
impl mailstamp_spf::RecordParser for Resolver {
    fn parse(&self, text: &[u8]) -> Result<Arc<mailstamp_spf::Record>, mailstamp_spf::ParseError> {
        mailstamp_spf::RecordParser::parse(&*self.inner.parsed, text)
    }

    fn parse_txt(
        &self,
        txt: &mailstamp_dns::Txt,
    ) -> Result<Arc<mailstamp_spf::Record>, mailstamp_spf::ParseError> {
        mailstamp_spf::RecordParser::parse_txt(&*self.inner.parsed, txt)
    }

    fn answer_at_hand(&self, query: &Query) -> Option<Answer> {
        self.fresh(query)
    }
}

/// DMARC's hook into the resolver: policy records parsed through [`ParsedRecords`], and the
/// steps whose answers are all cached and fresh read at once, without a step through the
/// driver ([`mailstamp_dmarc::RecordParser::answer_at_hand`]).
impl mailstamp_dmarc::RecordParser for Resolver {
    fn parse(
        &self,
        text: &[u8],
    ) -> Result<Arc<mailstamp_dmarc::Record>, mailstamp_dmarc::ParseError> {
        mailstamp_dmarc::RecordParser::parse(&*self.inner.parsed, text)
    }

    fn parse_txt(
        &self,
        txt: &mailstamp_dns::Txt,
    ) -> Result<Arc<mailstamp_dmarc::Record>, mailstamp_dmarc::ParseError> {
        mailstamp_dmarc::RecordParser::parse_txt(&*self.inner.parsed, txt)
    }

    fn answer_at_hand(&self, query: &Query) -> Option<Answer> {
        self.fresh(query)
    }

    /// A discovery kept for `author` while every answer it read is fresh in the cache. With an
    /// observer, none: the observer sees every answer an evaluation reads.
    fn discovery_at_hand(
        &self,
        author: &Name,
        accept: &dyn Fn(&mailstamp_dmarc::PolicyDiscovery) -> bool,
    ) -> Option<Arc<mailstamp_dmarc::PolicyDiscovery>> {
        if self.inner.observer.is_some() {
            return None;
        }
        let now = self.now();
        let kept = self
            .inner
            .discoveries
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        kept.get(author)?
            .iter()
            .find(|k| k.expires > now && accept(&k.discovery))
            .map(|k| Arc::clone(&k.discovery))
    }

    /// Kept when every query of the discovery's trace is cached with the very answer the
    /// trace holds, until the first of them expires.
    fn keep_discovery(&self, discovery: &Arc<mailstamp_dmarc::PolicyDiscovery>) {
        if self.inner.observer.is_some() || discovery.trace.is_empty() {
            return;
        }
        // The kept discoveries' lock is held across the look at the answer cache (always in
        // this order), so that a `clear_cache` in between cannot be followed by keeping a
        // discovery of answers it dropped.
        let mut kept = self
            .inner
            .discoveries
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        let expires = {
            let cache = self
                .inner
                .cache
                .lock()
                .unwrap_or_else(PoisonError::into_inner);
            let mut expires = u64::MAX;
            for entry in &discovery.trace {
                let Some(cached) = cache.get(&entry.query).and_then(|slot| slot.get()) else {
                    return;
                };
                if cached.answer != entry.answer {
                    return;
                }
                expires = expires.min(cached.expires);
            }
            expires
        };
        let now = self.now();
        if expires <= now {
            return;
        }
        if kept.len() >= PRUNE_AT {
            kept.retain(|_, list| {
                list.retain(|k| k.expires > now);
                !list.is_empty()
            });
        }
        let list = kept.entry(discovery.author_domain.clone()).or_default();
        list.retain(|k| k.expires > now);
        if list.len() >= DISCOVERIES_PER_AUTHOR {
            list.remove(0);
        }
        list.push(KeptDiscovery {
            discovery: Arc::clone(discovery),
            expires,
        });
    }
}

/// The cached answer to `query` if it is still fresh at `now` (Unix seconds).
fn fresh_in(cache: &HashMap<Query, Slot, CacheHasher>, query: &Query, now: u64) -> Option<Answer> {
    let cached = cache.get(query)?.get()?;
    (cached.expires > now).then(|| cached.answer.clone())
}

/// Builds a [`Resolver`]: the source, and optionally a clock, an observer and record mode.
pub struct ResolverBuilder {
    source: DnsSource,
    clock: Option<Clock>,
    observer: Option<Observer>,
    record: bool,
    parsed_limit: usize,
}

impl std::fmt::Debug for ResolverBuilder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ResolverBuilder")
            .field("source", &self.source)
            .field("record", &self.record)
            .finish_non_exhaustive()
    }
}

/// The system clock, in Unix seconds (0 if the clock is before 1970).
///
/// On Linux this reads `CLOCK_REALTIME_COARSE`, the wall clock as of the last timer tick (a
/// few milliseconds old at most): whole seconds are all the cache's TTLs and the DKIM and
/// DMARC times need, and the coarse clock costs a fraction of a precise read, which matters
/// here because every answer taken from the cache checks its expiry against it.
pub fn system_clock() -> u64 {
    #[cfg(target_os = "linux")]
    {
        // The fallible form: where the coarse clock is refused (a seccomp filter, an
        // emulator), the precise one is read instead of panicking.
        use rustix::time::{ClockId, DynamicClockId, clock_gettime_dynamic};
        if let Ok(now) = clock_gettime_dynamic(DynamicClockId::Known(ClockId::RealtimeCoarse)) {
            return u64::try_from(now.tv_sec).unwrap_or(0);
        }
    }
    precise_clock()
}

/// The wall clock through the standard library, in Unix seconds.
fn precise_clock() -> u64 {
    #[expect(
        clippy::disallowed_methods,
        reason = "the I/O crate's one sanctioned clock read, used for cache expiry"
    )]
    let now = std::time::SystemTime::now();
    now.duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}

impl ResolverBuilder {
    /// The clock the cache uses to expire entries (Unix seconds); by default
    /// [`system_clock`]. Tests pass a fake clock to watch TTLs expire.
    pub fn clock(mut self, clock: impl Fn() -> u64 + Send + Sync + 'static) -> Self {
        self.clock = Some(Arc::new(clock));
        self
    }

    /// Calls `observer` for every query sent and every answer given.
    pub fn observer(mut self, observer: impl Fn(&DnsEvent<'_>) + Send + Sync + 'static) -> Self {
        self.observer = Some(Arc::new(observer));
        self
    }

    /// Record mode: keep every answer the source gives (records, NXDOMAIN, NODATA and
    /// failures alike) for [`Resolver::recording`].
    pub fn record(mut self, on: bool) -> Self {
        self.record = on;
        self
    }

    /// How many parsed SPF and DMARC records the resolver keeps, per kind
    /// ([`DEFAULT_PARSED_LIMIT`] by default; see [`ParsedRecords`]).
    pub fn parsed_records_limit(mut self, limit: usize) -> Self {
        self.parsed_limit = limit;
        self
    }

    /// Builds the resolver. A live source reads the system configuration here when no
    /// nameserver is given.
    pub fn build(self) -> Result<Resolver, ResolverError> {
        let backend = match self.source {
            DnsSource::Zone(z) => Backend::Zone(z),
            DnsSource::Live(config) => Backend::Live(Box::new(live::Live::new(&config)?)),
        };
        Ok(Resolver {
            inner: Arc::new(Inner {
                backend,
                cache: Mutex::new(HashMap::default()),
                clock: self.clock.unwrap_or_else(|| Arc::new(system_clock)),
                observer: self.observer,
                recording: self.record.then(|| Mutex::new(Vec::new())),
                parsed: Arc::new(ParsedRecords::with_limit(self.parsed_limit)),
                discoveries: Mutex::default(),
            }),
        })
    }
}

impl Resolver {
    /// A builder for a resolver over `source`.
    pub fn builder(source: DnsSource) -> ResolverBuilder {
        ResolverBuilder {
            source,
            clock: None,
            observer: None,
            record: false,
            parsed_limit: DEFAULT_PARSED_LIMIT,
        }
    }

    /// A resolver answering from `zone` only, with the system clock and no observer.
    pub fn offline(zone: Zone) -> Resolver {
        Resolver {
            inner: Arc::new(Inner {
                backend: Backend::Zone(zone),
                cache: Mutex::new(HashMap::default()),
                clock: Arc::new(system_clock),
                observer: None,
                recording: None,
                parsed: Arc::default(),
                discoveries: Mutex::default(),
            }),
        }
    }

    /// True when answers come from an offline zone.
    pub fn is_offline(&self) -> bool {
        matches!(self.inner.backend, Backend::Zone(_))
    }

    fn notify(&self, event: &DnsEvent<'_>) {
        if let Some(observer) = &self.inner.observer {
            observer(event);
        }
    }

    /// The cache slot for `query`: a fresh one when absent or stale.
    fn slot(&self, query: &Query, now: u64) -> Slot {
        let mut cache = self
            .inner
            .cache
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        let fresh = cache
            .get(query)
            .filter(|slot| slot.get().is_none_or(|c| c.expires > now))
            .cloned();
        fresh.unwrap_or_else(|| {
            if cache.len() >= PRUNE_AT {
                // Keep fresh answers and lookups in flight.
                cache.retain(|_, slot| slot.get().is_none_or(|c| c.expires > now));
            }
            let slot = Slot::default();
            cache.insert(query.clone(), slot.clone());
            slot
        })
    }

    /// Answers one query, from the cache when a fresh answer is there.
    pub async fn answer(&self, query: &Query) -> Answer {
        let slot = self.slot(query, (self.inner.clock)());
        let fetched = AtomicBool::new(false);
        let cached = slot
            .get_or_init(|| async {
                fetched.store(true, Ordering::Relaxed);
                self.notify(&DnsEvent::Sent { query });
                let (answer, ttl) = self.fetch(query).await;
                self.inner.parsed.refresh(&answer);
                if let Some(rec) = &self.inner.recording {
                    rec.lock()
                        .unwrap_or_else(PoisonError::into_inner)
                        .push((query.clone(), answer.clone()));
                }
                let expires =
                    (self.inner.clock)().saturating_add(u64::from(ttl.min(MAX_CACHE_TTL)));
                Cached { answer, expires }
            })
            .await;
        let answer = cached.answer.clone();
        self.notify(&DnsEvent::Answered {
            query,
            answer: &answer,
            cached: !fetched.load(Ordering::Relaxed),
        });
        answer
    }

    /// The parsed-record cache every evaluation over this resolver shares (SPF and DMARC
    /// records parsed once per TTL, DKIM key caches); see [`ParsedRecords`].
    pub fn parsed_records(&self) -> &Arc<ParsedRecords> {
        &self.inner.parsed
    }

    /// The resolver clock's current time (Unix seconds).
    pub(crate) fn now(&self) -> u64 {
        (self.inner.clock)()
    }

    /// The answers to `queries` when every one is in the cache and fresh at `now` (Unix
    /// seconds), under one lock.
    pub(crate) fn cached_all(&self, queries: &[Query], now: u64) -> Option<Vec<Answer>> {
        let answers = {
            let cache = self
                .inner
                .cache
                .lock()
                .unwrap_or_else(PoisonError::into_inner);
            let mut answers = Vec::with_capacity(queries.len());
            for query in queries {
                answers.push(fresh_in(&cache, query, now)?);
            }
            answers
        };
        if self.inner.observer.is_some() {
            for (query, answer) in queries.iter().zip(&answers) {
                self.notify_cached(query, answer);
            }
        }
        Some(answers)
    }

    /// [`Resolver::cached_all`] for one query, without a vector: the answer to `query` when
    /// it is in the cache and fresh now.
    fn fresh(&self, query: &Query) -> Option<Answer> {
        let now = self.now();
        let answer = {
            let cache = self
                .inner
                .cache
                .lock()
                .unwrap_or_else(PoisonError::into_inner);
            fresh_in(&cache, query, now)?
        };
        self.notify_cached(query, &answer);
        Some(answer)
    }

    /// Tells the observer that `query` was answered from the cache.
    fn notify_cached(&self, query: &Query, answer: &Answer) {
        self.notify(&DnsEvent::Answered {
            query,
            answer,
            cached: true,
        });
    }

    /// Answers several queries concurrently; the answers come back in query order.
    pub async fn answer_all(&self, queries: &[Query]) -> Vec<Answer> {
        if let Some(answers) = self.cached_all(queries, self.now()) {
            return answers;
        }
        type Pending<'f> = Pin<Box<dyn Future<Output = Answer> + Send + 'f>>;
        let mut futures: Vec<(Pending<'_>, Option<Answer>)> = queries
            .iter()
            .map(|q| (Box::pin(self.answer(q)) as Pending<'_>, None))
            .collect();
        std::future::poll_fn(|cx| {
            let mut pending = false;
            for (future, slot) in &mut futures {
                if slot.is_none() {
                    match future.as_mut().poll(cx) {
                        Poll::Ready(answer) => *slot = Some(answer),
                        Poll::Pending => pending = true,
                    }
                }
            }
            if pending {
                Poll::Pending
            } else {
                Poll::Ready(())
            }
        })
        .await;
        futures
            .into_iter()
            .map(|(_, a)| a.unwrap_or(Answer::Failed(mailstamp_dns::FailureKind::Other)))
            .collect()
    }

    /// Asks the source, without the cache. Returns the answer and how long it may be cached.
    async fn fetch(&self, query: &Query) -> (Answer, u32) {
        match &self.inner.backend {
            Backend::Zone(zone) => {
                let answer = zone.answer(query);
                let ttl = ttl_of(&answer, None);
                (answer, ttl)
            }
            Backend::Live(live) => live.lookup(query).await,
        }
    }

    /// In record mode, every answer the source gave so far, in the order received (answers
    /// served from the cache are not repeated); `None` when record mode is off.
    pub fn recording(&self) -> Option<Vec<(Query, Answer)>> {
        self.inner
            .recording
            .as_ref()
            .map(|r| r.lock().unwrap_or_else(PoisonError::into_inner).clone())
    }

    #[cfg(test)]
    fn cached_len(&self) -> usize {
        self.inner
            .cache
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .len()
    }

    /// Drops every cached answer, parsed record and kept DMARC discovery.
    pub fn clear_cache(&self) {
        self.inner
            .cache
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clear();
        self.inner
            .discoveries
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clear();
        self.inner.parsed.clear();
    }
}

/// How long `answer` may be cached: the smallest record TTL, the negative TTL for NXDOMAIN and
/// NODATA (`negative`, else [`DEFAULT_NEGATIVE_TTL`]), [`FAILURE_TTL`] for failures.
pub(crate) fn ttl_of(answer: &Answer, negative: Option<u32>) -> u32 {
    match answer {
        Answer::Records(records) => records.iter().map(|r| r.ttl).min().unwrap_or(0),
        Answer::NxDomain | Answer::NoData => negative.unwrap_or(DEFAULT_NEGATIVE_TTL),
        Answer::Failed(_) => FAILURE_TTL,
    }
}

#[cfg(test)]
mod tests;
