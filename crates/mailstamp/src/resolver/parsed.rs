//! Parsed records, owned by the resolver beside the answers they come from: every SPF and
//! DMARC record a [`Resolver`](crate::Resolver) hands out is parsed once and the parse shared
//! by every message and thread that uses the resolver, and the DKIM key caches are pooled here.
//!
//! * **Keyed by the record text.** Parsing is a pure function of the text, so a cached parse is
//!   exactly what parsing again would give; a parse error is cached too and stays an error (a
//!   `permerror` verdict, or "not a DMARC record"). Negative answers (NXDOMAIN, NODATA) and
//!   failures have no text: the resolver's answer cache keeps them, with their own TTLs.
//! * **Once per TTL.** When the resolver fetches an answer again (its TTL ran out), the texts
//!   of that answer are forgotten here, so the record is parsed again once for its new TTL.
//! * **Bounded.** At most [`DEFAULT_PARSED_LIMIT`] records per kind; when full, the least
//!   recently used quarter is dropped.
//! * **DKIM keys**: [`ParsedRecords::with_key_cache`] lends one of a pool of
//!   [`KeyCache`]s (keyed by record text too), so concurrent verifications never wait on each
//!   other's RSA operations.

use mailstamp_dkim::KeyCache;
use mailstamp_dns::{Answer, Txt};
use std::collections::HashMap;
use std::sync::{Arc, Mutex, PoisonError};

/// Default number of parsed records kept per kind (SPF, DMARC).
pub const DEFAULT_PARSED_LIMIT: usize = 4096;

/// The most DKIM key caches kept for reuse (one is in use per concurrent verification).
const MAX_KEY_CACHES: usize = 64;

/// The parsed-record cache of a [`Resolver`](crate::Resolver): each published record parsed once
/// per TTL, bounded, shared by every clone of the resolver. It implements [`mailstamp_spf::RecordParser`] and
/// [`mailstamp_dmarc::RecordParser`], the hooks through which `check_host()` and DMARC
/// evaluation parse what they fetch.
pub struct ParsedRecords {
    spf: Memo<mailstamp_spf::Record, mailstamp_spf::ParseError>,
    dmarc: Memo<mailstamp_dmarc::Record, mailstamp_dmarc::ParseError>,
    key_caches: Mutex<Vec<KeyCache>>,
}

impl std::fmt::Debug for ParsedRecords {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ParsedRecords")
            .field("spf", &self.spf.len())
            .field("dmarc", &self.dmarc.len())
            .finish_non_exhaustive()
    }
}

impl Default for ParsedRecords {
    fn default() -> Self {
        ParsedRecords::with_limit(DEFAULT_PARSED_LIMIT)
    }
}

impl ParsedRecords {
    /// An empty cache keeping at most `limit` records per kind (at least one).
    pub fn with_limit(limit: usize) -> ParsedRecords {
        ParsedRecords {
            spf: Memo::new(limit),
            dmarc: Memo::new(limit),
            key_caches: Mutex::new(Vec::new()),
        }
    }

    /// Number of SPF records and of DMARC records cached.
    pub fn len(&self) -> (usize, usize) {
        (self.spf.len(), self.dmarc.len())
    }

    /// True when no SPF or DMARC record is cached.
    pub fn is_empty(&self) -> bool {
        self.len() == (0, 0)
    }

    /// Runs `f` with a DKIM key cache of the pool (or a new one), and puts it back.
    pub fn with_key_cache<T>(&self, f: impl FnOnce(&mut KeyCache) -> T) -> T {
        let taken = self
            .key_caches
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .pop();
        let mut cache = taken.unwrap_or_default();
        let out = f(&mut cache);
        let mut pool = self
            .key_caches
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        if pool.len() < MAX_KEY_CACHES {
            pool.push(cache);
        }
        out
    }

    /// Forgets the parses of the TXT records in `answer`: it was just fetched, so its records
    /// start a new TTL and are parsed again on first use.
    pub(crate) fn refresh(&self, answer: &Answer) {
        if let Answer::Records(_) = answer {
            for txt in answer.txts() {
                let text = txt.joined_bytes();
                self.spf.forget(text);
                self.dmarc.forget(text);
            }
        }
    }

    /// Drops every parsed record and key cache.
    pub fn clear(&self) {
        self.spf.clear();
        self.dmarc.clear();
        self.key_caches
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clear();
    }
}

impl mailstamp_spf::RecordParser for ParsedRecords {
    fn parse(&self, text: &[u8]) -> Result<Arc<mailstamp_spf::Record>, mailstamp_spf::ParseError> {
        self.spf
            .get_or_parse(text, mailstamp_spf::Record::parse_bytes)
    }

    /// The parse kept with the record of a cached answer (one per record for as long as the
    /// answer is cached), else through the text-keyed cache.
    fn parse_txt(
        &self,
        txt: &Txt,
    ) -> Result<Arc<mailstamp_spf::Record>, mailstamp_spf::ParseError> {
        txt.memo_read(
            |text| mailstamp_spf::RecordParser::parse(self, text),
            Result::clone,
        )
    }
}

impl mailstamp_dmarc::RecordParser for ParsedRecords {
    fn parse(
        &self,
        text: &[u8],
    ) -> Result<Arc<mailstamp_dmarc::Record>, mailstamp_dmarc::ParseError> {
        self.dmarc
            .get_or_parse(text, mailstamp_dmarc::Record::parse)
    }

    /// The parse kept with the record of a cached answer, else through the text-keyed cache.
    fn parse_txt(
        &self,
        txt: &Txt,
    ) -> Result<Arc<mailstamp_dmarc::Record>, mailstamp_dmarc::ParseError> {
        txt.memo_read(
            |text| mailstamp_dmarc::RecordParser::parse(self, text),
            Result::clone,
        )
    }
}

type Entry<T, E> = (Result<Arc<T>, E>, u64);

/// A bounded map from record text to its parse, least recently used dropped first.
struct Memo<T, E> {
    inner: Mutex<MemoInner<T, E>>,
}

struct MemoInner<T, E> {
    map: HashMap<Box<[u8]>, Entry<T, E>, super::CacheHasher>,
    /// Use counter: an entry's stamp is the tick of its last use.
    tick: u64,
    limit: usize,
}

impl<T, E: Clone> Memo<T, E> {
    fn new(limit: usize) -> Self {
        Memo {
            inner: Mutex::new(MemoInner {
                map: HashMap::default(),
                tick: 0,
                limit: limit.max(1),
            }),
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, MemoInner<T, E>> {
        self.inner.lock().unwrap_or_else(PoisonError::into_inner)
    }

    fn len(&self) -> usize {
        self.lock().map.len()
    }

    fn clear(&self) {
        self.lock().map.clear();
    }

    fn forget(&self, text: &[u8]) {
        let mut inner = self.lock();
        if !inner.map.is_empty() {
            inner.map.remove(text);
        }
    }

    fn get_or_parse(
        &self,
        text: &[u8],
        parse: impl FnOnce(&[u8]) -> Result<T, E>,
    ) -> Result<Arc<T>, E> {
        {
            let mut inner = self.lock();
            inner.tick += 1;
            let tick = inner.tick;
            if let Some((parsed, used)) = inner.map.get_mut(text) {
                *used = tick;
                return parsed.clone();
            }
        }
        // Parsed outside the lock: two threads may parse the same new text once each.
        let parsed = parse(text).map(Arc::new);
        let mut inner = self.lock();
        if inner.map.len() >= inner.limit {
            inner.evict();
        }
        let tick = inner.tick;
        inner.map.insert(text.into(), (parsed.clone(), tick));
        parsed
    }
}

impl<T, E> MemoInner<T, E> {
    /// Drops the least recently used quarter (at least one entry).
    fn evict(&mut self) {
        let mut stamps: Vec<u64> = self.map.values().map(|(_, used)| *used).collect();
        let cut = (stamps.len() / 4).max(1).min(stamps.len());
        let (_, nth, _) = stamps.select_nth_unstable(cut - 1);
        let threshold = *nth;
        self.map.retain(|_, (_, used)| *used > threshold);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_record_is_parsed_once_and_shared() {
        let cache = ParsedRecords::default();
        let a = mailstamp_spf::RecordParser::parse(&cache, b"v=spf1 -all").unwrap();
        let b = mailstamp_spf::RecordParser::parse(&cache, b"v=spf1 -all").unwrap();
        assert!(Arc::ptr_eq(&a, &b));
        assert_eq!(cache.len(), (1, 0));
    }

    #[test]
    fn parse_errors_are_cached_and_stay_errors() {
        let cache = ParsedRecords::default();
        let text = b"v=spf1 bogus:x -all";
        let first = mailstamp_spf::RecordParser::parse(&cache, text).unwrap_err();
        let again = mailstamp_spf::RecordParser::parse(&cache, text).unwrap_err();
        assert_eq!(first, again);
        assert_eq!(Err(first), mailstamp_spf::Record::parse_bytes(text));
        let not_dmarc = mailstamp_dmarc::RecordParser::parse(&cache, b"v=spf1 -all");
        assert_eq!(
            not_dmarc.map(|r| (*r).clone()),
            mailstamp_dmarc::Record::parse(b"v=spf1 -all")
        );
        assert_eq!(cache.len(), (1, 1));
    }

    #[test]
    fn bounded_least_recently_used_goes_first() {
        let cache = ParsedRecords::with_limit(4);
        let text = |i: usize| format!("v=spf1 ip4:192.0.2.{i} -all");
        for i in 0..4 {
            mailstamp_spf::RecordParser::parse(&cache, text(i).as_bytes()).unwrap();
        }
        // Use 0 again, then add a fifth: 1 (least recently used) goes.
        let zero = mailstamp_spf::RecordParser::parse(&cache, text(0).as_bytes()).unwrap();
        mailstamp_spf::RecordParser::parse(&cache, text(4).as_bytes()).unwrap();
        assert_eq!(cache.len().0, 4);
        let again = mailstamp_spf::RecordParser::parse(&cache, text(0).as_bytes()).unwrap();
        assert!(Arc::ptr_eq(&zero, &again));
    }

    #[test]
    fn a_fetched_answer_is_parsed_again() {
        let cache = ParsedRecords::default();
        let a = mailstamp_spf::RecordParser::parse(&cache, b"v=spf1 -all").unwrap();
        let mut zone = mailstamp_dns::Zone::new();
        let name = mailstamp_dns::Name::parse("example.org").unwrap();
        zone.add_txt(&name, ["v=spf1 -all"]);
        cache.refresh(&zone.answer(&mailstamp_dns::Query::txt(name)));
        assert_eq!(cache.len(), (0, 0));
        let b = mailstamp_spf::RecordParser::parse(&cache, b"v=spf1 -all").unwrap();
        assert!(!Arc::ptr_eq(&a, &b));
    }

    #[test]
    fn the_pipeline_parses_each_record_once_across_messages() {
        use crate::pipeline::{Authenticator, CheckOptions};
        use mailstamp_dns::{Name, Zone};
        use mailstamp_message::envelope::Envelope;
        let mut zone = Zone::new();
        zone.add_txt(
            &Name::parse("example.org").unwrap(),
            ["v=spf1 ip4:192.0.2.25 -all"],
        );
        zone.add_txt(&Name::parse("mail.example.org").unwrap(), ["v=spf1 a -all"]);
        zone.add_txt(
            &Name::parse("_dmarc.example.org").unwrap(),
            ["v=DMARC1; p=reject"],
        );
        let auth = Authenticator::offline(zone, CheckOptions::new("mx.example.net").with_now(0));
        let envelope = Envelope {
            client_ip: "192.0.2.25".parse().unwrap(),
            helo: "mail.example.org".into(),
            mail_from: Some("alice@example.org".into()),
        };
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        let message = b"From: alice@example.org\r\n\r\nhi\r\n";
        let first = runtime.block_on(auth.check(message, Some(&envelope)));
        assert_eq!(auth.resolver().parsed_records().len(), (2, 1));
        let again = runtime.block_on(auth.check(message, Some(&envelope)));
        assert_eq!(auth.resolver().parsed_records().len(), (2, 1));
        assert_eq!(
            first.authentication_results(),
            again.authentication_results()
        );
        assert_eq!(first.dmarc.result.as_str(), "pass");
    }
}
