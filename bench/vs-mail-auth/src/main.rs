//! mailstamp against mail-auth 0.15, side by side (issue 13).
//!
//! Both libraries get the same generated corpus (`mailstamp_testkit::corpus`, signed with the
//! repository's test keys in `testdata/keys/`) and the same DNS data: mailstamp an offline
//! `Resolver` over a `Zone`, mail-auth a pre-filled `DnsCache` (parsed records, as its own
//! lookups would leave them; a name missing from it is answered NXDOMAIN and counted, so nothing
//! ever goes to the network). Every operation runs the two alternately in one process (a batch
//! of mailstamp, a batch of mail-auth, then the other order, for many rounds) and reports the
//! median of the per-round ratios: on a loaded machine absolute times are noise, paired ratios
//! are not.
//!
//! `cargo run --release -- [--quick] [--only SUBSTRING] [--rounds N] [--tsv FILE]` (a
//! SUBSTRING ending in `$` must end the row's name); with
//! `--features aws-lc` mailstamp signs and verifies with AWS-LC; `--combine RING.tsv AWS_LC.tsv`
//! prints both runs side by side. `--count ours|theirs N` runs one side of the selected rows N
//! times, untimed, for an instruction count under callgrind (two runs with different N). Whole process: `--write-bulk DIR [--bulk-messages N]` writes
//! an mbox and its zone, `--bulk-mail-auth DIR` checks that mbox with mail-auth and prints
//! what `mailstamp check --mbox` prints (one verdict line per message);
//! `--bulk-mail-auth-field DIR` prints each message's Authentication-Results field instead.

use mail_auth::dkim::{DkimSigner, DomainKey};
use mail_auth::dmarc::DmarcRecord;
use mail_auth::dmarc::verify::DmarcParameters;
use mail_auth::dns::TxtRecordParser;
use mail_auth::headers::HeaderWriter;
use mail_auth::spf::SpfRecord;
use mail_auth::spf::verify::SpfParameters;
use mail_auth::{
    AuthenticatedMessage, AuthenticationResults, DnsCache, DnsError, Error as MaError,
    MessageAuthenticator, Mx, Negative, Parameters, RecordSet, ResolverCache, TxtRecord,
};
use mailstamp::Resolver;
use mailstamp::pipeline::{Authenticator, CheckOptions};
use mailstamp_dkim::{HeaderSelection, KeyRecordText, Signer, SigningKey};
use mailstamp_dmarc::{Discovery, EvaluationRequest, Identifiers, MechanismResult};
use mailstamp_dns::{Name, Step};
use mailstamp_message::Message;
use mailstamp_message::envelope::Envelope;
use mailstamp_testkit::corpus::{
    Corpus, CorpusConfig, RECEIVER_HOST, SPF_INCLUDE_CHAIN, SigningDomain,
};
use std::borrow::Borrow;
use std::collections::HashMap;
use std::fmt::Write as _;
use std::hash::Hash;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use std::sync::Mutex;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

const RSA_PEM: &str =
    include_str!("../../../testdata/keys/default._domainkey.example.org.rsa2048.pem");
const ED25519_PEM: &str = include_str!("../../../testdata/keys/ed25519._domainkey.example.org.pem");

/// Signing and verification time (`t=`): 2026-01-10, after the corpus's dates.
const NOW: u64 = 1_768_003_200;

/// The header fields both signers sign.
const SIGNED: [&str; 5] = ["From", "To", "Subject", "Date", "Message-ID"];

// ---------------------------------------------------------------------------------------------
// mail-auth's DNS: a pre-filled cache; a miss is answered NXDOMAIN (and counted).

static MISSES: AtomicUsize = AtomicUsize::new(0);

struct Map<K, V>(Mutex<HashMap<K, V>>);

impl<K: Hash + Eq, V: Clone> Map<K, V> {
    fn new() -> Self {
        Map(Mutex::new(HashMap::new()))
    }
}

trait Missing {
    fn missing() -> Self;
}

impl Missing for TxtRecord {
    fn missing() -> Self {
        TxtRecord::Error(MaError::Dns(DnsError::RecordNotFound(
            mail_auth::hickory_resolver::proto::op::ResponseCode::NXDomain,
        )))
    }
}

impl<T> Missing for Result<RecordSet<T>, Negative> {
    fn missing() -> Self {
        Err(Negative {
            code: mail_auth::hickory_resolver::proto::op::ResponseCode::NXDomain,
        })
    }
}

impl<K: Hash + Eq, V: Clone + Missing> ResolverCache<K, V> for Map<K, V> {
    fn get<Q>(&self, name: &Q) -> Option<V>
    where
        K: Borrow<Q>,
        Q: Hash + Eq + ?Sized,
    {
        let map = self.0.lock().unwrap();
        Some(map.get(name).cloned().unwrap_or_else(|| {
            MISSES.fetch_add(1, Ordering::Relaxed);
            V::missing()
        }))
    }

    fn remove<Q>(&self, name: &Q) -> Option<V>
    where
        K: Borrow<Q>,
        Q: Hash + Eq + ?Sized,
    {
        self.0.lock().unwrap().remove(name)
    }

    fn insert(&self, key: K, value: V, _valid_until: Instant) {
        self.0.lock().unwrap().insert(key, value);
    }
}

type Answer<T> = Result<RecordSet<T>, Negative>;

struct Caches {
    txt: Map<Box<str>, TxtRecord>,
    mx: Map<Box<str>, Answer<Mx>>,
    ipv4: Map<Box<str>, Answer<Ipv4Addr>>,
    ipv6: Map<Box<str>, Answer<Ipv6Addr>>,
    ptr: Map<IpAddr, Answer<Box<str>>>,
}

impl DnsCache for Caches {
    type Txt = Map<Box<str>, TxtRecord>;
    type Mx = Map<Box<str>, Answer<Mx>>;
    type Ipv4 = Map<Box<str>, Answer<Ipv4Addr>>;
    type Ipv6 = Map<Box<str>, Answer<Ipv6Addr>>;
    type Ptr = Map<IpAddr, Answer<Box<str>>>;

    fn txt(&self) -> Option<&Self::Txt> {
        Some(&self.txt)
    }
    fn mx(&self) -> Option<&Self::Mx> {
        Some(&self.mx)
    }
    fn ipv4(&self) -> Option<&Self::Ipv4> {
        Some(&self.ipv4)
    }
    fn ipv6(&self) -> Option<&Self::Ipv6> {
        Some(&self.ipv6)
    }
    fn ptr(&self) -> Option<&Self::Ptr> {
        Some(&self.ptr)
    }
}

/// One published TXT record, and what it is.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Kind {
    Spf,
    Dmarc,
    Key,
}

/// The DNS data both libraries get.
struct Dns {
    records: Vec<(String, Kind, String)>,
}

impl Dns {
    fn zone_text(&self) -> String {
        let mut z = String::from("$TTL 86400\n");
        for (name, _, text) in &self.records {
            let _ = writeln!(z, "{name}. IN TXT {}", quote(text));
        }
        z
    }

    fn zone(&self) -> mailstamp_dns::Zone {
        mailstamp_fixture::parse_zone_str(&self.zone_text(), "vs.zone").expect("the zone parses")
    }

    /// The records of a zone written by [`Dns::zone_text`] (`NAME. IN TXT "..." ...`), each
    /// kind told by its name, as the mail-auth side of the bulk run reads them.
    fn from_zone_text(text: &str) -> Dns {
        let mut records = Vec::new();
        for line in text.lines().filter(|l| !l.starts_with('$')) {
            let Some((name, rest)) = line.split_once(". IN TXT ") else {
                continue;
            };
            let value: String = rest.split('"').skip(1).step_by(2).collect();
            let kind = if name.starts_with("_dmarc.") {
                Kind::Dmarc
            } else if name.contains("._domainkey.") {
                Kind::Key
            } else {
                Kind::Spf
            };
            records.push((name.to_owned(), kind, value));
        }
        Dns { records }
    }

    fn caches(&self) -> Caches {
        let caches = Caches {
            txt: Map::new(),
            mx: Map::new(),
            ipv4: Map::new(),
            ipv6: Map::new(),
            ptr: Map::new(),
        };
        let until = Instant::now() + Duration::from_secs(86_400);
        for (name, kind, text) in &self.records {
            let t = text.as_bytes();
            let value: TxtRecord = match kind {
                Kind::Spf => SpfRecord::parse(t).into(),
                Kind::Dmarc => DmarcRecord::parse(t).into(),
                Kind::Key => DomainKey::parse(t).into(),
            };
            let key = format!("{}.", name.to_ascii_lowercase()).into_boxed_str();
            caches.txt.insert(key, value, until);
        }
        caches
    }
}

/// A TXT value as zone-file character strings of at most 255 octets.
fn quote(text: &str) -> String {
    text.as_bytes()
        .chunks(255)
        .map(|c| format!("\"{}\"", std::str::from_utf8(c).unwrap()))
        .collect::<Vec<_>>()
        .join(" ")
}

fn rsa_key() -> SigningKey {
    SigningKey::from_pem(RSA_PEM).expect("the RSA test key loads")
}

fn ed_key() -> SigningKey {
    SigningKey::from_pem(ED25519_PEM).expect("the Ed25519 test key loads")
}

/// The corpus DNS (as `crates/mailstamp/benches/common`), plus the 3-level include chain.
fn dns(domains: &[SigningDomain]) -> Dns {
    let rsa = KeyRecordText::new(rsa_key().public_key()).value();
    let ed = KeyRecordText::new(ed_key().public_key()).value();
    let mut records = Vec::new();
    for d in domains {
        let ip = match d.client_ip {
            IpAddr::V4(v4) => format!("ip4:{v4}"),
            IpAddr::V6(v6) => format!("ip6:{v6}"),
        };
        let spf = format!("v=spf1 {ip} -all");
        records.push((d.name.clone(), Kind::Spf, spf.clone()));
        records.push((d.helo.clone(), Kind::Spf, spf));
        records.push((
            format!("_dmarc.{}", d.name),
            Kind::Dmarc,
            "v=DMARC1; p=reject".into(),
        ));
        records.push((format!("rsa._domainkey.{}", d.name), Kind::Key, rsa.clone()));
        records.push((format!("ed._domainkey.{}", d.name), Kind::Key, ed.clone()));
    }
    for (name, text) in SPF_INCLUDE_CHAIN {
        records.push((name.to_string(), Kind::Spf, text.to_string()));
    }
    Dns { records }
}

const SPF_TEXT: &str = "v=spf1 ip4:192.0.2.0/24 ip4:198.51.100.0/24 ip6:2001:db8::/32 a mx include:_spf.example.net include:_spf.example.com redirect=_spf.example.org";
const DMARC_TEXT: &str = "v=DMARC1; p=reject; sp=quarantine; adkim=s; aspf=r; pct=100; rua=mailto:dmarc@example.org; ruf=mailto:forensic@example.org; fo=1; ri=86400";

// ---------------------------------------------------------------------------------------------
// Measurement.

struct Settings {
    rounds: usize,
    batch: Duration,
    /// `--count ours|theirs N`: run one side N times and nothing else (for callgrind).
    count: Option<(bool, usize)>,
}

struct Row {
    name: String,
    ms: f64,
    ma: f64,
    ratio: f64,
    spread: (f64, f64),
}

fn median(v: &mut [f64]) -> f64 {
    v.sort_by(f64::total_cmp);
    let n = v.len();
    if n % 2 == 1 {
        v[n / 2]
    } else {
        (v[n / 2 - 1] + v[n / 2]) / 2.0
    }
}

fn time_batch(f: &mut dyn FnMut(usize), start: usize, n: usize) -> f64 {
    let t = Instant::now();
    for i in start..start + n {
        f(i);
    }
    t.elapsed().as_secs_f64() / n as f64
}

/// Alternates `a` (mailstamp) and `b` (mail-auth): each round runs a batch of each, in
/// alternating order, over the same items (`f(i)` takes item `i`), and the round's ratio is
/// `a ÷ b`.
fn paired(name: &str, s: &Settings, a: &mut dyn FnMut(usize), b: &mut dyn FnMut(usize)) -> Row {
    if let Some((ours, n)) = s.count {
        // One side only, n times, untimed: callgrind's instruction count of n operations.
        // Two runs with different n give one operation's count without the set-up.
        time_batch(if ours { a } else { b }, 0, n);
        eprintln!(
            "  {name:<58} ran {} {n} times",
            if ours { "mailstamp" } else { "mail-auth" }
        );
        return Row {
            name: name.to_owned(),
            ms: 0.0,
            ma: 0.0,
            ratio: f64::NAN,
            spread: (f64::NAN, f64::NAN),
        };
    }
    // Warm-up and calibration: one batch size for both, from the slower of the two.
    let one = time_batch(a, 0, 3).max(time_batch(b, 0, 3));
    let n = ((s.batch.as_secs_f64() / one) as usize).clamp(1, 1_000_000);
    time_batch(a, 0, n.min(50));
    time_batch(b, 0, n.min(50));
    let (mut ra, mut rb, mut ratios) = (Vec::new(), Vec::new(), Vec::new());
    for round in 0..s.rounds {
        let start = round * n;
        let (ta, tb) = if round % 2 == 0 {
            let ta = time_batch(a, start, n);
            (ta, time_batch(b, start, n))
        } else {
            let tb = time_batch(b, start, n);
            (time_batch(a, start, n), tb)
        };
        ra.push(ta);
        rb.push(tb);
        ratios.push(ta / tb);
    }
    let mut sorted = ratios.clone();
    sorted.sort_by(f64::total_cmp);
    let q = |p: f64| sorted[((sorted.len() - 1) as f64 * p).round() as usize];
    let row = Row {
        name: name.to_owned(),
        ms: median(&mut ra),
        ma: median(&mut rb),
        ratio: median(&mut ratios),
        spread: (q(0.25), q(0.75)),
    };
    eprintln!(
        "  {:<58} {:>10} {:>10} {:>6.2}",
        row.name,
        human(row.ms),
        human(row.ma),
        row.ratio
    );
    row
}

fn human(secs: f64) -> String {
    if secs >= 1e-3 {
        format!("{:.2} ms", secs * 1e3)
    } else if secs >= 1e-6 {
        format!("{:.2} µs", secs * 1e6)
    } else {
        format!("{:.0} ns", secs * 1e9)
    }
}

// ---------------------------------------------------------------------------------------------
// The corpus.

struct Item {
    bytes: &'static [u8],
    envelope: Envelope,
}

fn signed(config: CorpusConfig, keys: &[(&str, fn() -> SigningKey)]) -> Vec<Item> {
    let mut signers: HashMap<String, Vec<Signer>> = HashMap::new();
    Corpus::new(config)
        .map(|m| {
            let list = signers.entry(m.signing_domain.clone()).or_insert_with(|| {
                keys.iter()
                    .map(|(sel, key)| Signer::new(key(), &m.signing_domain, sel).expect("signer"))
                    .collect()
            });
            let fields = mailstamp_dkim::sign(&Message::parse(&m.bytes), list, NOW).expect("signs");
            Item {
                bytes: Box::leak(m.assemble(&fields.header_bytes()).into_boxed_slice()),
                envelope: m.envelope,
            }
        })
        .collect()
}

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let quick = args.iter().any(|a| a == "--quick");
    let only = args
        .iter()
        .position(|a| a == "--only")
        .and_then(|i| args.get(i + 1).cloned());
    let rounds = args
        .iter()
        .position(|a| a == "--rounds")
        .and_then(|i| args.get(i + 1))
        .and_then(|n| n.parse().ok());
    let value = |flag: &str| {
        args.iter()
            .position(|a| a == flag)
            .and_then(|i| args.get(i + 1).cloned())
    };
    let count = value("--count").map(|side| {
        let n = args
            .iter()
            .position(|a| a == "--count")
            .and_then(|i| args.get(i + 2))
            .and_then(|n| n.parse().ok())
            .expect("--count ours|theirs N");
        match side.as_str() {
            "ours" => (true, n),
            "theirs" => (false, n),
            other => panic!("--count takes ours or theirs, not {other:?}"),
        }
    });
    let settings = Settings {
        rounds: rounds.unwrap_or(if quick { 11 } else { 41 }),
        batch: Duration::from_millis(if quick { 10 } else { 25 }),
        count,
    };
    if let (Some(a), Some(b)) = (value("--combine"), args.last().filter(|_| args.len() == 3)) {
        return combine(&a, b);
    }
    if let Some(dir) = value("--write-bulk") {
        let n = value("--bulk-messages").map_or(10_000, |n| n.parse().expect("a number"));
        return write_bulk(std::path::Path::new(&dir), n);
    }
    if let Some(dir) = value("--bulk-mail-auth") {
        return bulk_mail_auth(std::path::Path::new(&dir), BulkOutput::Verdicts);
    }
    if let Some(dir) = value("--bulk-mail-auth-field") {
        return bulk_mail_auth(std::path::Path::new(&dir), BulkOutput::Field);
    }
    let tsv = value("--tsv");
    eprintln!(
        "mailstamp's signature backend: {}",
        mailstamp_dkim::crypto::BACKEND
    );
    let (messages, domains) = if quick { (300, 100) } else { (2000, 500) };
    let config = CorpusConfig::new(2026)
        .with_messages(messages)
        .with_signing_domains(domains);

    eprintln!("building the corpus ({messages} messages, {domains} signing domains) ...");
    let corpus_domains = Corpus::new(config).domains().to_vec();
    let dns = dns(&corpus_domains);
    let zone = dns.zone();
    let caches: &'static Caches = Box::leak(Box::new(dns.caches()));
    let rsa_only: &'static [Item] = signed(config, &[("rsa", rsa_key)]).leak();
    let ed_only: &'static [Item] = signed(config, &[("ed", ed_key)]).leak();
    let unsigned: &'static [Vec<u8>] = Corpus::new(config)
        .map(|m| m.assemble(b""))
        .collect::<Vec<_>>()
        .leak();

    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let ma = {
        let _g = rt.enter();
        MessageAuthenticator::new_cloudflare().expect("mail-auth resolver (never queried)")
    };
    let ma: &'static MessageAuthenticator = Box::leak(Box::new(ma));
    let resolver = Resolver::offline(zone);
    let options = CheckOptions::new(RECEIVER_HOST).with_now(NOW);
    let auth = Authenticator::new(resolver.clone(), options.clone());
    let auth_mail_from = Authenticator::new(resolver.clone(), options.with_helo_check(false));
    let policy = mailstamp_dkim::Policy::default();

    let pick = |set: &'static [Item], i: usize| &set[i % set.len()];
    // A trailing `$` anchors the substring at the end of the name: `--only 'results given$'`
    // selects the DMARC row as the pipeline runs it without its `..., through block_on` twin.
    let want = |name: &str| {
        only.as_deref().is_none_or(|o| match o.strip_suffix('$') {
            Some(tail) => name.ends_with(tail),
            None => name.contains(o),
        })
    };
    let mut rows = Vec::new();
    let rt = &rt;

    // Sanity: both libraries agree on the corpus (all pass) before anything is timed.
    {
        let (mut agree, mut total) = (0, 0);
        for item in rsa_only.iter().take(100).chain(ed_only.iter().take(100)) {
            let report = rt.block_on(auth.check(item.bytes, Some(&item.envelope)));
            let (spf, dkim, dmarc) = rt.block_on(mail_auth_check(ma, caches, item, true));
            let ours = (
                report.spf.result.as_str(),
                if report.dkim.iter().all(|d| d.result().as_str() == "pass") {
                    "pass"
                } else {
                    "other"
                },
                report.dmarc.result.as_str(),
            );
            total += 1;
            if ours == ("pass", "pass", "pass") && (spf, dkim, dmarc) == ("pass", "pass", "pass") {
                agree += 1;
            } else {
                eprintln!(
                    "  disagreement or non-pass: ours {ours:?}, mail-auth {:?}",
                    (spf, dkim, dmarc)
                );
            }
        }
        eprintln!(
            "sanity: {agree}/{total} messages pass SPF, DKIM and DMARC in both; mail-auth cache misses {}",
            MISSES.load(Ordering::Relaxed)
        );
    }

    eprintln!(
        "  {:<58} {:>10} {:>10} {:>6}",
        "operation", "mailstamp", "mail-auth", "ratio"
    );

    // 1. The receiver pipeline with Authentication-Results.
    for (name, helo, a) in [
        (
            "pipeline with A-R, rsa-2048 (mailstamp defaults: + HELO)",
            true,
            &auth,
        ),
        (
            "pipeline with A-R, rsa-2048, MAIL FROM only",
            false,
            &auth_mail_from,
        ),
    ] {
        if want(name) {
            rows.push(paired(
                name,
                &settings,
                &mut |i| {
                    let item = pick(rsa_only, i);
                    let report = rt.block_on(a.check(item.bytes, Some(&item.envelope)));
                    std::hint::black_box(report.authentication_results().to_field());
                },
                &mut |i| {
                    let item = pick(rsa_only, i);
                    std::hint::black_box(rt.block_on(mail_auth_pipeline(ma, caches, item, helo)));
                },
            ));
        }
    }

    // 2. SPF check_host, three levels of includes, records already fetched. Two rows: as the
    // pipeline runs it (`check_host_with` over the resolver; an evaluation whose records are
    // all at hand returns `Step::Done` and needs no executor), and through tokio's `block_on`
    // like mail-auth's async `check_host` (`mailstamp::spf::check`).
    for (name, direct) in [
        ("SPF check_host, 3 levels of include, records fetched", true),
        ("SPF check_host, records fetched, through block_on", false),
    ] {
        if !want(name) {
            continue;
        }
        let ip: IpAddr = "192.0.2.77".parse().unwrap();
        let spf_options = mailstamp::spf::Options::default().with_receiver(RECEIVER_HOST);
        let parser: &dyn mailstamp_spf::RecordParser = &resolver;
        rows.push(paired(
            name,
            &settings,
            &mut |_| {
                let request = mailstamp::spf::Request::mail_from(
                    ip,
                    "user@chain.example",
                    "mx.chain.example",
                );
                let v = if direct {
                    match mailstamp_spf::check_host_with(&request, &spf_options, Some(parser)) {
                        Step::Done(v) => v,
                        waiting => rt.block_on(mailstamp::drive(waiting, &resolver)),
                    }
                } else {
                    rt.block_on(mailstamp::spf::check(&resolver, &request, &spf_options))
                };
                debug_assert_eq!(v.result, mailstamp::spf::SpfResult::Pass);
                std::hint::black_box(v);
            },
            &mut |_| {
                let params = SpfParameters::mail_from(
                    ip,
                    "mx.chain.example",
                    RECEIVER_HOST,
                    "user@chain.example",
                );
                let out = rt.block_on(ma.check_host(Parameters::new(params).with_cache(caches)));
                debug_assert_eq!(out.result(), mail_auth::SpfResult::Pass);
                std::hint::black_box(out);
            },
        ));
    }

    // 3. DMARC, SPF and DKIM results given. Two rows as for SPF: as the pipeline runs it (no
    // executor for an evaluation done at once), and through `block_on` like mail-auth's async
    // `verify_dmarc`.
    for (name, direct) in [
        ("DMARC evaluation, results given", true),
        ("DMARC evaluation, results given, through block_on", false),
    ] {
        if !want(name) {
            continue;
        }
        let sample: Vec<_> = rsa_only.iter().take(200).collect();
        let ours: Vec<EvaluationRequest> = sample
            .iter()
            .map(|item| {
                let message = Message::parse(item.bytes);
                let authors = message.authors();
                let from = authors.domains().to_vec();
                let mf = item.envelope.mail_from.as_deref().unwrap();
                let mf = mf
                    .rsplit_once('@')
                    .map_or(item.envelope.helo.as_str(), |(_, d)| d);
                let mf = Name::parse(mf.trim_end_matches('>')).unwrap();
                let d = signing_domain(item.bytes);
                EvaluationRequest {
                    author_domains: from,
                    identifiers: Identifiers::new()
                        .with_spf(MechanismResult::Pass, mf)
                        .with_dkim(MechanismResult::Pass, Name::parse(&d).unwrap()),
                    discovery: Discovery::TreeWalk,
                    options: Default::default(),
                }
            })
            .collect();
        let theirs: Vec<_> = sample
            .iter()
            .map(|item| {
                let msg: &'static AuthenticatedMessage<'static> =
                    Box::leak(Box::new(AuthenticatedMessage::parse(item.bytes).unwrap()));
                let dkim = rt.block_on(ma.verify_dkim(Parameters::new(msg).with_cache(caches)));
                let dkim: &'static [_] = dkim.leak();
                let mf: &'static str = item.envelope.mail_from.clone().unwrap().leak();
                let helo: &'static str = item.envelope.helo.clone().leak();
                let spf = rt.block_on(
                    ma.verify_spf(
                        Parameters::new(SpfParameters::mail_from(
                            item.envelope.client_ip,
                            helo,
                            RECEIVER_HOST,
                            mf,
                        ))
                        .with_cache(caches),
                    ),
                );
                let spf: &'static _ = Box::leak(Box::new(spf));
                (msg, dkim, mf.rsplit_once('@').map_or(helo, |(_, d)| d), spf)
            })
            .collect();
        // The resolver itself, as the pipeline hands it to DMARC.
        let dmarc_parser: std::sync::Arc<dyn mailstamp_dmarc::RecordParser> =
            std::sync::Arc::new(resolver.clone());
        rows.push(paired(
            name,
            &settings,
            &mut |i| {
                let request = &ours[i % ours.len()];
                // As the pipeline does: policy records parsed through the resolver's cache,
                // and an evaluation whose answers are all at hand (it returns `Step::Done`)
                // needs no driver; one that waits is driven through the resolver.
                let v = if direct {
                    match mailstamp_dmarc::evaluate_with_parser(request, &dmarc_parser) {
                        Step::Done(v) => v,
                        waiting => rt.block_on(mailstamp::drive(waiting, &resolver)),
                    }
                } else {
                    rt.block_on(mailstamp::drive(
                        mailstamp_dmarc::evaluate_with_parser(request, &dmarc_parser),
                        &resolver,
                    ))
                };
                debug_assert_eq!(v.result.as_str(), "pass");
                std::hint::black_box(v);
            },
            &mut |i| {
                let (msg, dkim, domain, spf) = theirs[i % theirs.len()];
                let out = rt.block_on(
                    ma.verify_dmarc(
                        Parameters::new(DmarcParameters::new(msg, dkim, domain, spf))
                            .with_cache(caches),
                    ),
                );
                std::hint::black_box(out);
            },
        ));
    }

    // 4. DKIM verify: parse + body hash + key + verify.
    for (name, set) in [
        (
            "DKIM verify rsa-2048 (parse + body hash + verify)",
            rsa_only,
        ),
        ("DKIM verify ed25519 (parse + body hash + verify)", ed_only),
    ] {
        if want(name) {
            let mut keys = mailstamp_dkim::KeyCache::new();
            rows.push(paired(
                name,
                &settings,
                &mut |i| {
                    let message = Message::parse(pick(set, i).bytes);
                    let report = match mailstamp_dkim::verify(&message, &policy, NOW) {
                        Step::Done(r) => r,
                        Step::Lookup(p) => {
                            let answers = rt
                                .block_on(resolver.answer_all(mailstamp_dns::Lookup::queries(&p)));
                            p.resume_with_cache(answers, &mut keys)
                        }
                    };
                    debug_assert_eq!(report.result().as_str(), "pass");
                    std::hint::black_box(report);
                },
                &mut |i| {
                    let msg = AuthenticatedMessage::parse(pick(set, i).bytes).unwrap();
                    let out = rt.block_on(ma.verify_dkim(Parameters::new(&msg).with_cache(caches)));
                    debug_assert!(matches!(out[0].result(), mail_auth::DkimResult::Pass));
                    std::hint::black_box(out);
                },
            ));
        }
    }

    // 5. DKIM sign.
    for (name, sel, pem, ours) in [
        (
            "DKIM sign rsa-2048",
            "rsa",
            RSA_PEM,
            rsa_key as fn() -> SigningKey,
        ),
        ("DKIM sign ed25519", "ed", ED25519_PEM, ed_key),
    ] {
        if want(name) {
            let list: Vec<String> = SIGNED.iter().map(|s| s.to_ascii_lowercase()).collect();
            let signer = Signer::new(ours(), "example.org", sel)
                .unwrap()
                .with_headers(HeaderSelection::Exact(list));
            let der = pem_der(pem);
            let mut sign_ma: Box<dyn FnMut(&[u8]) -> String> = if sel == "rsa" {
                #[allow(deprecated, reason = "the PEM loader is the short way to the same key")]
                let s = DkimSigner::from_key(
                    mail_auth::crypto::RsaKey::<mail_auth::crypto::Sha256>::from_pkcs8_pem(pem)
                        .unwrap(),
                )
                .domain("example.org")
                .selector(sel)
                .headers(SIGNED);
                Box::new(move |m| s.sign(m).unwrap().to_header())
            } else {
                let s = DkimSigner::from_key(
                    mail_auth::crypto::Ed25519Key::from_pkcs8_der(&der).unwrap(),
                )
                .domain("example.org")
                .selector(sel)
                .headers(SIGNED);
                Box::new(move |m| s.sign(m).unwrap().to_header())
            };
            rows.push(paired(
                name,
                &settings,
                &mut |i| {
                    let m = &unsigned[i % unsigned.len()];
                    let fields = mailstamp_dkim::sign(
                        &Message::parse(m),
                        std::slice::from_ref(&signer),
                        NOW,
                    )
                    .unwrap();
                    std::hint::black_box(fields.header_bytes());
                },
                &mut |i| {
                    std::hint::black_box(sign_ma(&unsigned[i % unsigned.len()]));
                },
            ));
        }
    }

    // 6. Parse + body hash (the CPU part of verification, before any DNS).
    let name = "parse + body hash (rsa-2048 signed messages)";
    if want(name) {
        rows.push(paired(
            name,
            &settings,
            &mut |i| {
                let message = Message::parse(pick(rsa_only, i).bytes);
                std::hint::black_box(mailstamp_dkim::verify(&message, &policy, NOW));
            },
            &mut |i| {
                std::hint::black_box(AuthenticatedMessage::parse(pick(rsa_only, i).bytes));
            },
        ));
    }

    // 7. Record parsing.
    let rsa_record = KeyRecordText::new(rsa_key().public_key()).value();
    let ed_record = KeyRecordText::new(ed_key().public_key()).value();
    for (name, text, kind) in [
        ("parse SPF record (9 terms)", SPF_TEXT, Kind::Spf),
        ("parse DMARC record (10 tags)", DMARC_TEXT, Kind::Dmarc),
        (
            "parse DKIM key record rsa-2048",
            rsa_record.as_str(),
            Kind::Key,
        ),
        (
            "parse DKIM key record ed25519",
            ed_record.as_str(),
            Kind::Key,
        ),
    ] {
        if want(name) {
            let t = text.as_bytes();
            rows.push(paired(
                name,
                &settings,
                &mut |_| match kind {
                    Kind::Spf => {
                        std::hint::black_box(mailstamp_spf::Record::parse_bytes(t).unwrap());
                    }
                    Kind::Dmarc => {
                        std::hint::black_box(mailstamp_dmarc::Record::parse(t).unwrap());
                    }
                    Kind::Key => {
                        std::hint::black_box(mailstamp_dkim::KeyRecord::parse(t).unwrap());
                    }
                },
                &mut |_| match kind {
                    Kind::Spf => {
                        std::hint::black_box(SpfRecord::parse(t).unwrap());
                    }
                    Kind::Dmarc => {
                        std::hint::black_box(DmarcRecord::parse(t).unwrap());
                    }
                    Kind::Key => {
                        std::hint::black_box(DomainKey::parse(t).unwrap());
                    }
                },
            ));
        }
    }

    // 8. The signature operations alone, on 300 bytes of header data: mailstamp's backend
    // (`mailstamp_dkim::crypto`: ring, ed25519-dalek, or AWS-LC with `--features aws-lc`)
    // against what mail-auth calls (its key types over AWS-LC for signing; aws-lc-rs's
    // `UnparsedPublicKey` for verifying, as mail-auth's `verify_bytes` does). These rows are
    // the floor under the DKIM rows: a DKIM row cannot go below its signature's ratio.
    let data = vec![b'h'; 300];
    for (name, pem, ours) in [
        (
            "floor: RSA-2048 verify, the signature alone",
            RSA_PEM,
            rsa_key as fn() -> SigningKey,
        ),
        (
            "floor: Ed25519 verify, the signature alone",
            ED25519_PEM,
            ed_key,
        ),
    ] {
        if want(name) {
            let key = ours();
            let public = key.public_key().clone();
            let signature = key.sign(&data).expect("signs");
            let record = public.to_record_der();
            let (theirs_alg, theirs_key): (
                &'static dyn aws_lc_rs::signature::VerificationAlgorithm,
                Vec<u8>,
            ) = if pem == RSA_PEM {
                // The usual SubjectPublicKeyInfo of RSA-2048 is 24 bytes of header, then
                // the PKCS#1 RSAPublicKey that mail-auth hands to aws-lc-rs.
                assert_eq!(record.get(..2), Some(&[0x30, 0x82][..]), "an SPKI");
                (
                    &aws_lc_rs::signature::RSA_PKCS1_1024_8192_SHA256_FOR_LEGACY_USE_ONLY,
                    record.get(24..).expect("an RSA-2048 SPKI").to_vec(),
                )
            } else {
                (&aws_lc_rs::signature::ED25519, record)
            };
            let theirs = aws_lc_rs::signature::UnparsedPublicKey::new(theirs_alg, theirs_key);
            // Ed25519 signs the SHA-256 digest of the data (RFC 8463 §3), RSA the data.
            let ed25519 = pem != RSA_PEM;
            let verify_theirs = |d: &[u8]| {
                if ed25519 {
                    let digest = aws_lc_rs::digest::digest(&aws_lc_rs::digest::SHA256, d);
                    theirs.verify(digest.as_ref(), &signature).is_ok()
                } else {
                    theirs.verify(d, &signature).is_ok()
                }
            };
            assert!(mailstamp_dkim::check_signature(
                &public,
                key.algorithm(),
                &data,
                &signature
            ));
            assert!(verify_theirs(&data), "aws-lc-rs verifies it too");
            rows.push(paired(
                name,
                &settings,
                &mut |_| {
                    std::hint::black_box(mailstamp_dkim::check_signature(
                        &public,
                        key.algorithm(),
                        std::hint::black_box(&data),
                        &signature,
                    ));
                },
                &mut |_| {
                    std::hint::black_box(verify_theirs(std::hint::black_box(&data)));
                },
            ));
        }
    }
    for (name, pem, ours) in [
        (
            "floor: RSA-2048 sign, the signature alone",
            RSA_PEM,
            rsa_key as fn() -> SigningKey,
        ),
        (
            "floor: Ed25519 sign, the signature alone",
            ED25519_PEM,
            ed_key,
        ),
    ] {
        if want(name) {
            use mail_auth::crypto::SigningKey as _;
            let key = ours();
            let mut sign_ma: Box<dyn FnMut(&[u8]) -> Vec<u8>> = if pem == RSA_PEM {
                #[allow(deprecated, reason = "the PEM loader is the short way to the same key")]
                let k = mail_auth::crypto::RsaKey::<mail_auth::crypto::Sha256>::from_pkcs8_pem(pem)
                    .unwrap();
                Box::new(move |d| k.sign(d).unwrap())
            } else {
                let k = mail_auth::crypto::Ed25519Key::from_pkcs8_der(&pem_der(pem)).unwrap();
                Box::new(move |d| k.sign(d).unwrap())
            };
            assert_eq!(
                key.sign(&data).expect("signs").len(),
                sign_ma(&data).len(),
                "signatures of the same size"
            );
            rows.push(paired(
                name,
                &settings,
                &mut |_| {
                    std::hint::black_box(key.sign(std::hint::black_box(&data)).expect("signs"));
                },
                &mut |_| {
                    std::hint::black_box(sign_ma(std::hint::black_box(&data)));
                },
            ));
        }
    }

    if MISSES.load(Ordering::Relaxed) > 0 {
        eprintln!(
            "note: mail-auth asked {} names the fixture does not hold (answered NXDOMAIN)",
            MISSES.load(Ordering::Relaxed)
        );
    }

    if let Some(path) = tsv {
        let mut out = String::new();
        for r in &rows {
            let _ = writeln!(
                out,
                "{}\t{}\t{}\t{}\t{}\t{}",
                r.name, r.ms, r.ma, r.ratio, r.spread.0, r.spread.1
            );
        }
        std::fs::write(&path, out).expect("the TSV file is written");
    }

    // The table (Markdown, on stdout).
    println!(
        "mailstamp's signature backend: {}\n",
        mailstamp_dkim::crypto::BACKEND
    );
    println!(
        "| operation | mailstamp | mail-auth | ratio mailstamp ÷ mail-auth (median) | interquartile |"
    );
    println!("|---|---|---|---|---|");
    for r in &rows {
        println!(
            "| {} | {} | {} | **{:.2}** | {:.2}-{:.2} |",
            r.name,
            human(r.ms),
            human(r.ma),
            r.ratio,
            r.spread.0,
            r.spread.1
        );
    }
    println!(
        "\n{} rounds per operation, batches of about {} ms, {} messages.",
        settings.rounds,
        settings.batch.as_millis(),
        messages
    );
}

/// The `d=` of the first DKIM-Signature field.
fn signing_domain(bytes: &[u8]) -> String {
    let message = Message::parse(bytes);
    let field = message
        .fields()
        .find(|f| f.is_named("dkim-signature"))
        .unwrap();
    let tags = mailstamp_dkim::TagList::parse(field.value()).unwrap();
    String::from_utf8(tags.get("d").unwrap().to_vec()).unwrap()
}

/// The DER inside a PEM file.
fn pem_der(pem: &str) -> Vec<u8> {
    use base64::Engine as _;
    let b64: String = pem.lines().filter(|l| !l.starts_with("-----")).collect();
    base64::engine::general_purpose::STANDARD
        .decode(b64)
        .unwrap()
}

/// mail-auth's receiver pipeline: parse, DKIM, SPF (HELO then MAIL FROM, or MAIL FROM only),
/// DMARC, and the Authentication-Results field.
async fn mail_auth_pipeline(
    ma: &MessageAuthenticator,
    caches: &Caches,
    item: &Item,
    helo: bool,
) -> String {
    let msg = AuthenticatedMessage::parse(item.bytes).unwrap();
    let dkim = ma
        .verify_dkim(Parameters::new(&msg).with_cache(caches))
        .await;
    let env = &item.envelope;
    let mf = env.mail_from.as_deref().unwrap();
    let params = if helo {
        SpfParameters::helo_and_mail_from(env.client_ip, &env.helo, RECEIVER_HOST, mf)
    } else {
        SpfParameters::mail_from(env.client_ip, &env.helo, RECEIVER_HOST, mf)
    };
    let spf = ma
        .verify_spf(Parameters::new(params.clone()).with_cache(caches))
        .await;
    let domain = mf.rsplit_once('@').map_or(env.helo.as_str(), |(_, d)| d);
    let dmarc = ma
        .verify_dmarc(
            Parameters::new(DmarcParameters::new(&msg, &dkim, domain, &spf)).with_cache(caches),
        )
        .await;
    AuthenticationResults::new(RECEIVER_HOST)
        .with_dkim_results(&dkim, msg.first_from_address())
        .with_spf_result(&spf, &params)
        .with_dmarc_result(&dmarc)
        .to_string()
}

/// mail-auth's verdicts for the sanity check.
async fn mail_auth_check(
    ma: &MessageAuthenticator,
    caches: &Caches,
    item: &Item,
    helo: bool,
) -> (&'static str, &'static str, &'static str) {
    let msg = AuthenticatedMessage::parse(item.bytes).unwrap();
    let dkim = ma
        .verify_dkim(Parameters::new(&msg).with_cache(caches))
        .await;
    let env = &item.envelope;
    let mf = env.mail_from.as_deref().unwrap();
    let params = if helo {
        SpfParameters::helo_and_mail_from(env.client_ip, &env.helo, RECEIVER_HOST, mf)
    } else {
        SpfParameters::mail_from(env.client_ip, &env.helo, RECEIVER_HOST, mf)
    };
    let spf = ma
        .verify_spf(Parameters::new(params).with_cache(caches))
        .await;
    let domain = mf.rsplit_once('@').map_or(env.helo.as_str(), |(_, d)| d);
    let dmarc = ma
        .verify_dmarc(
            Parameters::new(DmarcParameters::new(&msg, &dkim, domain, &spf)).with_cache(caches),
        )
        .await;
    let dkim_pass = !dkim.is_empty()
        && dkim
            .iter()
            .all(|d| matches!(d.result(), mail_auth::DkimResult::Pass));
    (
        if spf.result() == mail_auth::SpfResult::Pass {
            "pass"
        } else {
            "other"
        },
        if dkim_pass { "pass" } else { "other" },
        if matches!(dmarc.spf_result(), mail_auth::DmarcResult::Pass)
            || matches!(dmarc.dkim_result(), mail_auth::DmarcResult::Pass)
        {
            "pass"
        } else {
            "other"
        },
    )
}

/// `--combine RING.tsv AWS_LC.tsv`: the rows of two runs (`--tsv`), one built with mailstamp's
/// default backend (ring) and one with `--features aws-lc`, side by side.
fn combine(ring: &str, aws_lc: &str) {
    let read = |path: &str| -> Vec<Vec<String>> {
        std::fs::read_to_string(path)
            .expect("the TSV file is readable")
            .lines()
            .map(|l| l.split('\t').map(str::to_owned).collect())
            .collect()
    };
    let (a, b) = (read(ring), read(aws_lc));
    let f = |v: &str| v.parse::<f64>().unwrap_or(f64::NAN);
    println!(
        "| operation | ratio, mailstamp with ring (interquartile) | ratio, mailstamp with aws-lc (interquartile) |"
    );
    println!("|---|---|---|");
    for row in &a {
        let other = b.iter().find(|r| r[0] == row[0]);
        let cell = |r: &Vec<String>| format!("{:.2} ({:.2}-{:.2})", f(&r[3]), f(&r[4]), f(&r[5]));
        println!(
            "| {} | {} | {} |",
            row[0],
            cell(row),
            other.map_or_else(|| "-".to_owned(), cell)
        );
    }
}

/// `--write-bulk DIR [--bulk-messages N]`: `DIR/bulk.mbox` (N messages of the corpus, each
/// signed with RSA-2048 and stored with its trace fields, as an MTA leaves them) and
/// `DIR/bulk.zone` (the same DNS data as the rest of the benchmark), for the whole-process
/// comparison: `mailstamp --zone DIR/bulk.zone check --mbox DIR/bulk.mbox --from-received`
/// against `--bulk-mail-auth DIR`.
fn write_bulk(dir: &std::path::Path, messages: usize) {
    use std::io::Write as _;
    std::fs::create_dir_all(dir).expect("the directory is made");
    let config = CorpusConfig::new(2026)
        .with_messages(messages)
        .with_signing_domains(500);
    let dns = dns(Corpus::new(config).domains());
    std::fs::write(dir.join("bulk.zone"), dns.zone_text()).expect("the zone is written");
    let file = std::fs::File::create(dir.join("bulk.mbox")).expect("the mbox is created");
    let mut mbox =
        mailstamp::mailbox::MboxWriter::new(std::io::BufWriter::with_capacity(1 << 20, file));
    let mut bytes = 0;
    for item in signed(config, &[("rsa", rsa_key)]) {
        mbox.write_message("sender@corpus.example", item.bytes)
            .expect("the mbox is written");
        bytes += item.bytes.len();
    }
    mbox.into_inner()
        .expect("the mbox is flushed")
        .flush()
        .expect("the mbox is flushed");
    eprintln!(
        "{messages} messages ({bytes} bytes) in {}",
        dir.join("bulk.mbox").display()
    );
}

/// Calls `each` with every message of an mboxrd file (what `MboxWriter` writes), one at a
/// time: split at `From ` lines that follow a blank line (or start the file), one `>` taken off
/// `>From ` lines, the blank line that ends each message dropped.
fn for_each_mbox_message(data: &[u8], mut each: impl FnMut(&[u8])) {
    let mut current: Option<Vec<u8>> = None;
    let mut blank_before = true;
    let mut rest = data;
    let mut finish = |m: &mut Vec<u8>| {
        if m.ends_with(b"\r\n\r\n") {
            m.truncate(m.len() - 2);
        }
        each(m);
    };
    while !rest.is_empty() {
        let end = rest
            .iter()
            .position(|&b| b == b'\n')
            .map_or(rest.len(), |i| i + 1);
        let (line, tail) = rest.split_at(end);
        rest = tail;
        if blank_before && line.starts_with(b"From ") {
            if let Some(mut m) = current.take() {
                finish(&mut m);
            }
            current = Some(Vec::new());
            blank_before = false;
            continue;
        }
        blank_before = line == b"\r\n" || line == b"\n";
        if let Some(m) = current.as_mut() {
            let quotes = line.iter().take_while(|&&b| b == b'>').count();
            if quotes > 0 && line[quotes..].starts_with(b"From ") {
                m.extend_from_slice(&line[1..]);
            } else {
                m.extend_from_slice(line);
            }
        }
    }
    if let Some(mut m) = current {
        finish(&mut m);
    }
}

/// The SMTP envelope the trace fields record: `Return-Path: <MAIL FROM>` and a Postfix
/// `Received: from HELO (HELO [IP])` field.
fn envelope_of(message: &[u8]) -> Option<(IpAddr, String, String)> {
    let head = &message[..message
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .unwrap_or(message.len())];
    let text = std::str::from_utf8(head).ok()?;
    let mail_from = text
        .lines()
        .find_map(|l| l.strip_prefix("Return-Path: <"))?
        .trim_end_matches('>')
        .to_owned();
    let received = text
        .lines()
        .find_map(|l| l.strip_prefix("Received: from "))?;
    let helo = received.split(' ').next()?.to_owned();
    let ip = received.split('[').nth(1)?.split(']').next()?;
    let ip: IpAddr = ip.strip_prefix("IPv6:").unwrap_or(ip).parse().ok()?;
    Some((ip, helo, mail_from))
}

/// What the mail-auth side of the whole-process run prints per message.
#[derive(Clone, Copy, PartialEq, Eq)]
enum BulkOutput {
    /// What `mailstamp check --mbox` prints: the DMARC verdict, the SPF, DKIM and DMARC
    /// results, the policy and the From domain, on one line.
    Verdicts,
    /// The Authentication-Results field (what `check --mbox --json` carries per message).
    Field,
}

/// `--bulk-mail-auth DIR`: what `mailstamp check --mbox DIR/bulk.mbox --from-received` does,
/// with mail-auth, as one process: read the DNS data (`DIR/bulk.zone`, parsed into mail-auth's
/// caches as its own lookups would leave them), read the mbox, and for every message take the
/// envelope from its trace fields, verify DKIM, SPF (HELO and MAIL FROM) and DMARC, and print
/// one line of verdicts (`--bulk-mail-auth-field`: the Authentication-Results field).
/// Single-threaded, like `--jobs 1`.
fn bulk_mail_auth(dir: &std::path::Path, output: BulkOutput) {
    use std::io::Write as _;
    let zone = std::fs::read_to_string(dir.join("bulk.zone")).expect("DIR/bulk.zone is readable");
    let caches = Dns::from_zone_text(&zone).caches();
    let data = std::fs::read(dir.join("bulk.mbox")).expect("DIR/bulk.mbox is readable");
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let ma = {
        let _g = rt.enter();
        MessageAuthenticator::new_cloudflare().expect("mail-auth resolver (never queried)")
    };
    let stdout = std::io::stdout();
    let mut out = std::io::BufWriter::new(stdout.lock());
    let (mut total, mut pass) = (0usize, 0usize);
    for_each_mbox_message(&data, |message| {
        total += 1;
        let Some((ip, helo, mail_from)) = envelope_of(message) else {
            let _ = writeln!(out, "{total}: no envelope");
            return;
        };
        let line = rt.block_on(async {
            let msg = AuthenticatedMessage::parse(message)?;
            let dkim = ma
                .verify_dkim(Parameters::new(&msg).with_cache(&caches))
                .await;
            let params = SpfParameters::helo_and_mail_from(ip, &helo, RECEIVER_HOST, &mail_from);
            let spf = ma
                .verify_spf(Parameters::new(params.clone()).with_cache(&caches))
                .await;
            let domain = mail_from.rsplit_once('@').map_or(helo.as_str(), |(_, d)| d);
            let dmarc = ma
                .verify_dmarc(
                    Parameters::new(DmarcParameters::new(&msg, &dkim, domain, &spf))
                        .with_cache(&caches),
                )
                .await;
            let passed = matches!(dmarc.dkim_result(), mail_auth::DmarcResult::Pass)
                || matches!(dmarc.spf_result(), mail_auth::DmarcResult::Pass);
            let line = match output {
                BulkOutput::Verdicts => {
                    use mail_auth::{DkimResult, DmarcResult};
                    use std::fmt::Write as _;
                    // The words mailstamp's line holds: the DMARC result (pass, else the
                    // worse of the two mechanisms, none without a record), every signature's
                    // result, the disposition (none for a pass) and the From domain.
                    let dmarc_word =
                        match (passed, dmarc.dkim_result(), dmarc.spf_result()) {
                            (true, _, _) => "pass",
                            (_, DmarcResult::TempError(_), _)
                            | (_, _, DmarcResult::TempError(_)) => "temperror",
                            (_, DmarcResult::PermError(_), _)
                            | (_, _, DmarcResult::PermError(_)) => "permerror",
                            _ if dmarc.record().is_none() => "none",
                            _ => "fail",
                        };
                    let mut line = String::with_capacity(96);
                    let _ = write!(line, "{dmarc_word} spf={} dkim=", spf.result());
                    for (i, d) in dkim.iter().enumerate() {
                        line.push_str(if i == 0 { "" } else { "," });
                        line.push_str(match d.result() {
                            DkimResult::Pass => "pass",
                            DkimResult::Fail(_) => "fail",
                            DkimResult::Neutral(_) => "neutral",
                            DkimResult::TempError(_) => "temperror",
                            DkimResult::PermError(_) => "permerror",
                            DkimResult::None => "none",
                        });
                    }
                    if dkim.is_empty() {
                        line.push_str("none");
                    }
                    let from = match dmarc.domain() {
                        "" => "(none)",
                        d => d,
                    };
                    let _ = write!(line, " dmarc={dmarc_word} (");
                    if passed {
                        line.push_str("none");
                    } else {
                        let _ = write!(line, "{}", dmarc.policy());
                    }
                    let _ = write!(line, ") from={from}");
                    line
                }
                BulkOutput::Field => AuthenticationResults::new(RECEIVER_HOST)
                    .with_dkim_results(&dkim, msg.first_from_address())
                    .with_spf_result(&spf, &params)
                    .with_dmarc_result(&dmarc)
                    .to_string(),
            };
            Some((passed, line))
        });
        match line {
            Some((passed, field)) => {
                pass += usize::from(passed);
                let _ = writeln!(out, "{total}: {}", field.trim_end());
            }
            None => {
                let _ = writeln!(out, "{total}: unreadable");
            }
        }
    });
    let _ = writeln!(out, "{total} messages, {pass} pass DMARC");
    drop(out);
    eprintln!("{total} messages, {pass} pass DMARC (mail-auth)");
}
