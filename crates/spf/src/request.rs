//! The inputs of `check_host()`: the request (who is connecting, with which identity) and the
//! receiver's options, including the cache of parsed records.

use crate::record::{ParseError, Record};
use crate::result::Identity;
use mailstamp_dns::Name;
use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::Arc;

/// The most DNS-querying terms (`include`, `a`, `mx`, `ptr`, `exists`, `redirect`) one
/// evaluation may use; one more is a `permerror` (RFC 7208 §4.6.4: "MUST limit the total
/// number of those terms to 10").
pub const MAX_DNS_MECHANISMS: usize = 10;

/// The default most void lookups (NXDOMAIN or no answer) one evaluation may see; one more is
/// a `permerror` (RFC 7208 §4.6.4: "SHOULD limit void lookups to two"; configurable with
/// [`Options::with_void_lookup_limit`]).
///
/// What counts is the lookup a term makes for its own target: the A/AAAA query of `a`, the MX
/// query of `mx`, the PTR query of `ptr`, the A query of `exists`, and the TXT query of
/// `include`/`redirect` (which then fails as "no record" anyway). The address lookups of MX and
/// PTR names are bounded by [`MAX_MX_NAMES`] and [`MAX_PTR_NAMES`] instead, and the lookups of
/// `%{p}` and `exp=` are not terms.
pub const MAX_VOID_LOOKUPS: usize = 2;

/// The most MX names an `mx` term looks up; a target with more names is a `permerror` before
/// any of them is looked up (RFC 7208 §4.6.4).
pub const MAX_MX_NAMES: usize = 10;

/// The most PTR names validated for `ptr` and `%{p}`; the rest are ignored (RFC 7208 §4.6.4:
/// "all records other than the first 10 MUST be ignored").
pub const MAX_PTR_NAMES: usize = 10;

/// One `check_host()` question: a client address, an identity and the SMTP parameters.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Request {
    identity: Identity,
    client_ip: IpAddr,
    ip: IpAddr,
    /// The `<sender>` and the HELO domain, shared with the verdict.
    text: SmtpText,
    /// `<domain>` ([`Request::domain`]) as a name, when check_host() can evaluate it (RFC 7208
    /// §4.3).
    domain_name: Option<Name>,
    now: u64,
}

/// `local-part@domain` then the HELO domain, in one shared string: the `<sender>` ends at
/// `helo_at`, its `<domain>` (always the domain checked) starts after `at`. A request and its
/// verdict share it, so a verdict carries the SMTP parameters without copying them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct SmtpText {
    text: Arc<str>,
    at: usize,
    helo_at: usize,
}

impl SmtpText {
    fn new(local: &str, domain: &str, helo: &str) -> SmtpText {
        let len = local.len() + 1 + domain.len() + helo.len();
        let joined = || Arc::from([local, "@", domain, helo].concat());
        // Assembled on the stack and allocated once, at its final size (`Arc<str>::from` of a
        // `String` would allocate twice).
        let mut buf = [0u8; 256];
        let text: Arc<str> = match buf.get_mut(..len) {
            Some(out) => {
                let (l, rest) = out.split_at_mut(local.len());
                l.copy_from_slice(local.as_bytes());
                let (a, rest) = rest.split_at_mut(1);
                a.copy_from_slice(b"@");
                let (d, h) = rest.split_at_mut(domain.len());
                d.copy_from_slice(domain.as_bytes());
                h.copy_from_slice(helo.as_bytes());
                // Valid UTF-8: three `str`s and an ASCII byte, so this never takes `Err`.
                std::str::from_utf8(out).map_or_else(|_| joined(), Arc::from)
            }
            None => joined(),
        };
        SmtpText {
            text,
            at: local.len(),
            helo_at: local.len() + 1 + domain.len(),
        }
    }

    /// `local-part@domain`.
    pub(crate) fn sender(&self) -> &str {
        self.text.get(..self.helo_at).unwrap_or("")
    }

    /// The local-part.
    pub(crate) fn local_part(&self) -> &str {
        self.text.get(..self.at).unwrap_or("")
    }

    /// The domain of the sender.
    pub(crate) fn domain(&self) -> &str {
        self.text.get(self.at + 1..self.helo_at).unwrap_or("")
    }

    /// The HELO domain.
    pub(crate) fn helo(&self) -> &str {
        self.text.get(self.helo_at..).unwrap_or("")
    }
}

impl Request {
    /// Checks the MAIL FROM identity (RFC 7208 §2.4).
    ///
    /// `mail_from` is the reverse-path, with or without angle brackets. An empty path (or
    /// `<>`) is the null reverse-path: the `<sender>` becomes `postmaster@<helo>` and the
    /// `<domain>` the HELO domain (RFC 7208 §2.4). A path without local-part (`@example.com`),
    /// or without `@` at all, gets the local-part `postmaster` (RFC 7208 §4.3).
    pub fn mail_from(ip: IpAddr, mail_from: &str, helo: &str) -> Request {
        let path = mail_from.trim();
        let path = path
            .strip_prefix('<')
            .and_then(|p| p.strip_suffix('>'))
            .unwrap_or(path);
        if path.is_empty() {
            return Request::new(Identity::MailFrom, ip, "", helo, helo);
        }
        let (local, domain) = match path.rsplit_once('@') {
            Some((l, d)) => (l, d),
            None => ("", path),
        };
        Request::new(Identity::MailFrom, ip, local, domain, helo)
    }

    /// Checks the HELO identity (RFC 7208 §2.3): `<domain>` is the HELO domain and `<sender>`
    /// is `postmaster@<helo>`.
    pub fn helo(ip: IpAddr, helo: &str) -> Request {
        Request::new(Identity::Helo, ip, "", helo, helo)
    }

    fn new(identity: Identity, ip: IpAddr, local: &str, domain: &str, helo: &str) -> Request {
        let local = if local.is_empty() {
            "postmaster"
        } else {
            local
        };
        Request {
            identity,
            client_ip: ip,
            ip: normalize_ip(ip),
            text: SmtpText::new(local, domain, helo),
            domain_name: checkable_domain(domain),
            now: 0,
        }
    }

    /// Sets the time expanded by the `%{t}` macro of explanations (Unix seconds; default 0).
    pub fn with_now(mut self, now: u64) -> Request {
        self.now = now;
        self
    }

    /// The identity checked.
    pub fn identity(&self) -> Identity {
        self.identity
    }

    /// The client address as given.
    pub fn client_ip(&self) -> IpAddr {
        self.client_ip
    }

    /// The address evaluated: an IPv4-mapped IPv6 address is the IPv4 address (RFC 7208 §5:
    /// it "MUST still be considered an IPv4 address").
    pub fn ip(&self) -> IpAddr {
        self.ip
    }

    /// The `<sender>` (`local-part@domain`).
    pub fn sender(&self) -> &str {
        self.text.sender()
    }

    /// The local-part of `<sender>`.
    pub fn local_part(&self) -> &str {
        self.text.local_part()
    }

    /// The domain of `<sender>`.
    pub fn sender_domain(&self) -> &str {
        self.text.domain()
    }

    /// The `<domain>` checked, as given (always the domain of `<sender>`, RFC 7208 §4.3).
    pub fn domain(&self) -> &str {
        self.sender_domain()
    }

    /// The `<domain>` as a DNS name, or `None` when it is malformed, a single label or a
    /// domain literal, which makes `check_host()` return `none` (RFC 7208 §4.3).
    pub fn domain_name(&self) -> Option<&Name> {
        self.domain_name.as_ref()
    }

    /// The HELO/EHLO domain, as given.
    pub fn helo_domain(&self) -> &str {
        self.text.helo()
    }

    /// The SMTP parameters' shared text, for the verdict.
    pub(crate) fn smtp_text(&self) -> &SmtpText {
        &self.text
    }

    /// The `%{t}` time.
    pub fn now(&self) -> u64 {
        self.now
    }
}

/// RFC 7208 §4.3: the `<domain>` must be a valid, multi-label domain name (not a domain
/// literal): "If the <domain> is malformed (e.g., label longer than 63 characters, zero-length
/// label not at the end, etc.) or is not a multi-label domain name, [...] check_host()
/// immediately returns the result "none"", without a DNS query.
///
/// The `<domain>` comes from SMTP (the HELO/EHLO argument, or the domain of the MAIL FROM
/// reverse-path), where RFC 5321 §4.1.2 `Domain` (with RFC 6531 U-labels) applies: labels of
/// letters, digits and hyphens (underscores are tolerated, they are common in HELO names). So
/// a value such as `h.example;dkim=pass` is not a domain and is never queried. Target names
/// after macro expansion are not held to this (see [`crate::macros::target_labels_ok`]).
fn checkable_domain(domain: &str) -> Option<Name> {
    if domain.starts_with('[') || !smtp_domain_ok(domain) {
        return None;
    }
    let name = Name::parse(domain).ok()?;
    (name.label_count() >= 2).then_some(name)
}

/// RFC 5321 §4.1.2 `Domain` characters (plus `_`, and any non-ASCII character for RFC 6531
/// U-labels, which [`Name::parse`] then converts or refuses), with the length rules of
/// [`crate::macros::target_labels_ok`] (no empty label but the root, labels of at most 63
/// octets, at most 253 octets), in one pass over the text.
fn smtp_domain_ok(domain: &str) -> bool {
    let body = domain.strip_suffix('.').unwrap_or(domain);
    if body.is_empty() || body.len() > mailstamp_dns::MAX_NAME_LEN {
        return false;
    }
    let mut label_len = 0usize;
    for b in body.bytes() {
        if b == b'.' {
            if label_len == 0 {
                return false;
            }
            label_len = 0;
        } else if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_') || !b.is_ascii() {
            label_len += 1;
            if label_len > mailstamp_dns::MAX_LABEL_LEN {
                return false;
            }
        } else {
            return false;
        }
    }
    label_len > 0
}

/// IPv4-mapped IPv6 addresses are evaluated as IPv4 (RFC 7208 §5).
pub(crate) fn normalize_ip(ip: IpAddr) -> IpAddr {
    match ip {
        IpAddr::V6(v6) => v6.to_ipv4_mapped().map_or(ip, IpAddr::V4),
        IpAddr::V4(_) => ip,
    }
}

/// Records already fetched and parsed, keyed by domain, that `check_host()` uses instead of a
/// TXT lookup (the lookup still counts against the limits, as RFC 7208 §4.6.4 counts terms).
///
/// The cache holds no TTLs: keeping entries fresh is the caller's business (the `mailstamp`
/// I/O crate). [`crate::SpfVerdict::fetched_records`] lists the records an evaluation parsed.
#[derive(Debug, Clone, Default)]
pub struct RecordCache {
    records: HashMap<Name, Arc<Record>>,
}

impl RecordCache {
    /// An empty cache.
    pub fn new() -> RecordCache {
        RecordCache::default()
    }

    /// Stores the record published at `domain`.
    pub fn insert(&mut self, domain: Name, record: impl Into<Arc<Record>>) {
        self.records.insert(domain, record.into());
    }

    /// The record stored for `domain`.
    pub fn get(&self, domain: &Name) -> Option<&Arc<Record>> {
        self.records.get(domain)
    }

    /// Removes the record stored for `domain`.
    pub fn remove(&mut self, domain: &Name) -> Option<Arc<Record>> {
        self.records.remove(domain)
    }

    /// Number of records.
    pub fn len(&self) -> usize {
        self.records.len()
    }

    /// True when empty.
    pub fn is_empty(&self) -> bool {
        self.records.is_empty()
    }
}

/// Parses the records `check_host()` fetches ([`crate::check_host_with`]), so that a process
/// can parse each published record once and share the result across evaluations and threads
/// (the `mailstamp` crate's resolver keeps such a cache, bounded, and parses a record again
/// when its TTL has run out).
///
/// An implementation must answer exactly what [`Record::parse_bytes`] answers for `text`: a
/// syntax error stays an error, and so a `permerror` verdict.
pub trait RecordParser: std::fmt::Debug + Send + Sync {
    /// The record `text` parses to, or its syntax error.
    fn parse(&self, text: &[u8]) -> Result<Arc<Record>, ParseError>;

    /// The record a fetched TXT record parses to: [`RecordParser::parse`] of its joined
    /// strings unless the implementation keeps the parse with the record
    /// ([`mailstamp_dns::Txt::memo`]), so that a cached answer is not looked up again.
    fn parse_txt(&self, txt: &mailstamp_dns::Txt) -> Result<Arc<Record>, ParseError> {
        self.parse(txt.joined_bytes())
    }

    /// The answer to `query` when the implementation already holds a fresh one (a resolver's
    /// cache), else `None`, the default. An SPF record that `check_host()` needs and whose
    /// TXT answer is at hand is then read at once, exactly as if a driver had answered the
    /// query, without stopping the evaluation with a [`Step::Lookup`](mailstamp_dns::Step)
    /// for it: the verdict is the same either way, only the round trip through the driver
    /// is saved. An implementation that reports every answer (a DNS log) reports these too.
    fn answer_at_hand(&self, query: &mailstamp_dns::Query) -> Option<mailstamp_dns::Answer> {
        let _ = query;
        None
    }
}

/// The receiver's settings for `check_host()`.
#[derive(Debug, Clone)]
pub struct Options {
    pub(crate) max_void_lookups: usize,
    pub(crate) receiver: Option<String>,
    pub(crate) default_explanation: Option<String>,
    pub(crate) trace: bool,
    pub(crate) cache: Option<Arc<RecordCache>>,
    pub(crate) candidate: Option<String>,
    pub(crate) fetched_records: bool,
}

impl Default for Options {
    fn default() -> Options {
        Options {
            max_void_lookups: MAX_VOID_LOOKUPS,
            receiver: None,
            default_explanation: None,
            trace: false,
            cache: None,
            candidate: None,
            fetched_records: true,
        }
    }
}

impl Options {
    /// Defaults: the RFC limits, no receiver name, no default explanation, no trace.
    pub fn new() -> Options {
        Options::default()
    }

    /// Sets the void lookup limit (RFC 7208 §4.6.4 allows configuring it; 2 is the default).
    pub fn with_void_lookup_limit(mut self, limit: usize) -> Options {
        self.max_void_lookups = limit;
        self
    }

    /// The receiving host's domain name, expanded by `%{r}` (default `unknown`, RFC 7208 §7.3).
    pub fn with_receiver(mut self, receiver: impl Into<String>) -> Options {
        self.receiver = Some(receiver.into());
        self
    }

    /// The explanation of a `fail` when the record has no usable `exp=` (RFC 7208 §6.2). It
    /// is an explain-string: macros are expanded; if it is not a valid macro-string it is used
    /// as written.
    pub fn with_default_explanation(mut self, text: impl Into<String>) -> Options {
        self.default_explanation = Some(text.into());
        self
    }

    /// Records the evaluation step by step in [`crate::SpfVerdict::trace`].
    pub fn with_trace(mut self, trace: bool) -> Options {
        self.trace = trace;
        self
    }

    /// Whether the verdict lists the records fetched from DNS
    /// ([`crate::SpfVerdict::fetched_records`], for a caller that keeps a [`RecordCache`]);
    /// on by default. A caller that keeps parsed records its own way (the `mailstamp` I/O
    /// crate) turns it off and saves a list and a reference per record in every evaluation.
    pub fn with_fetched_records(mut self, keep: bool) -> Options {
        self.fetched_records = keep;
        self
    }

    /// Consults these pre-parsed records before looking a record up.
    pub fn with_cache(mut self, cache: Arc<RecordCache>) -> Options {
        self.cache = Some(cache);
        self
    }

    /// Evaluates this text as the record of the checked `<domain>` instead of looking it up,
    /// to try a record before publishing it. Only the top-level record is replaced; every
    /// other lookup happens as usual. An invalid candidate gives `permerror` with the syntax
    /// problem.
    pub fn with_candidate_record(mut self, text: impl Into<String>) -> Options {
        self.candidate = Some(text.into());
        self
    }

    /// The void lookup limit in effect.
    pub fn void_lookup_limit(&self) -> usize {
        self.max_void_lookups
    }

    /// Whether tracing is on.
    pub fn is_tracing(&self) -> bool {
        self.trace
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ip(s: &str) -> IpAddr {
        s.parse().unwrap()
    }

    #[test]
    fn rfc7208_2_4_null_reverse_path_uses_postmaster_at_helo() {
        for null in ["", "<>", "  "] {
            let r = Request::mail_from(ip("192.0.2.1"), null, "mail.example.com");
            assert_eq!(r.identity(), Identity::MailFrom);
            assert_eq!(r.sender(), "postmaster@mail.example.com");
            assert_eq!(r.domain(), "mail.example.com");
            assert_eq!(r.local_part(), "postmaster");
            assert_eq!(r.sender_domain(), "mail.example.com");
        }
    }

    #[test]
    fn rfc7208_4_3_missing_local_part_is_postmaster() {
        let r = Request::mail_from(ip("192.0.2.1"), "@example.net", "h.example");
        assert_eq!(r.sender(), "postmaster@example.net");
        assert_eq!(r.domain(), "example.net");
        let r = Request::mail_from(ip("192.0.2.1"), "<a@b@example.org>", "h.example");
        assert_eq!(r.local_part(), "a@b");
        assert_eq!(r.sender_domain(), "example.org");
        let r = Request::mail_from(ip("192.0.2.1"), "example.org", "h.example");
        assert_eq!(r.sender(), "postmaster@example.org");
    }

    #[test]
    fn rfc7208_2_3_helo_identity() {
        let r = Request::helo(ip("192.0.2.1"), "mail.example.com").with_now(7);
        assert_eq!(r.identity(), Identity::Helo);
        assert_eq!(r.sender(), "postmaster@mail.example.com");
        assert_eq!(r.now(), 7);
    }

    #[test]
    fn rfc7208_5_ipv4_mapped_is_ipv4() {
        let r = Request::helo(ip("::ffff:1.2.3.4"), "h.example");
        assert_eq!(r.ip(), ip("1.2.3.4"));
        assert_eq!(r.client_ip(), ip("::ffff:1.2.3.4"));
        let r = Request::helo(ip("2001:db8::1"), "h.example");
        assert_eq!(r.ip(), ip("2001:db8::1"));
    }

    #[test]
    fn cache_and_options() {
        let mut c = RecordCache::new();
        assert!(c.is_empty());
        let n = Name::parse("example.com").unwrap();
        c.insert(n.clone(), Record::parse("v=spf1 -all").unwrap());
        assert_eq!(c.len(), 1);
        assert!(c.get(&n).is_some());
        assert!(c.remove(&n).is_some());
        let o = Options::new().with_void_lookup_limit(5).with_trace(true);
        assert_eq!(o.void_lookup_limit(), 5);
        assert!(o.is_tracing());
    }
}
