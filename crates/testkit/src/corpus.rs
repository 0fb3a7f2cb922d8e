//! A deterministic generator of realistic, unsigned test messages for benchmarks.
//!
//! [`Corpus`] yields [`GeneratedMessage`]s from a seed: the same [`CorpusConfig`] gives the
//! same bytes on every machine (a private SplitMix64 generator and integer arithmetic only; no
//! floating point, no clock, no `rand`). Each message is independent of the others (its
//! generator is derived from the seed and its index), so [`Corpus::message`] can produce any
//! message directly.
//!
//! What the messages look like:
//!
//! * CRLF line endings throughout (RFC 5322 §2.1); body lines of at most 78 characters, header
//!   lines as MTAs write them (a Postfix `Received` line can be longer, never over 998);
//! * a header as a receiving MTA stores it: `Return-Path` and a Postfix-style `Received` field
//!   (the *trace*, see below), then `Date`, `From`, `To`, `Subject` (sometimes RFC 2047-encoded),
//!   `Message-ID`, `MIME-Version`, often `List-Unsubscribe`, `Reply-To` or `X-Mailer`;
//! * bodies: `text/plain` (about 40 %), `multipart/alternative` with plain text and HTML (about
//!   45 %) and `multipart/mixed` with a base64 attachment (the rest, and most large messages);
//!   about 3 % of paragraphs begin with `From `, which an mbox writer must quote;
//! * sizes drawn from a fixed quantile table (see [`SIZE_QUANTILES`]): from 1 KiB to 99 KiB,
//!   median 6 KiB, with a long tail. One or two DKIM-Signature fields added later keep every
//!   message under 100 KiB;
//! * domains: [`CorpusConfig::signing_domains`] signing domains (`<word><word><n>.example`,
//!   RFC 2606 names); the first messages use each signing domain once (so a corpus at least as
//!   large as the domain list exercises every domain), later ones favour a few big senders.
//!   The RFC5322.From domain is the signing domain or one of five subdomains of it (`news.`,
//!   `mail.`, ...), so From domains are many and always aligned under relaxed DMARC alignment;
//! * each signing domain has one outbound server: a HELO name and an IP address from the
//!   documentation ranges (RFC 5737 for the first 762 domains, then RFC 3849 IPv6), to publish
//!   in SPF records; the MAIL FROM is a bounce address at the signing domain (about 2 % of
//!   messages have the null reverse-path `<>`, as bounces do).
//!
//! # The signing hook
//!
//! The generator does **not** sign: signing belongs to the DKIM crate. A generated message has
//! three pieces: its [`GeneratedMessage::trace`] fields (what the receiving MTA adds on
//! arrival), the [`GeneratedMessage::bytes`] of the message as the sender submitted it, and the
//! [`GeneratedMessage::signing_domain`] that should sign it. To build a signed corpus:
//!
//! 1. sign `bytes` with a key of `signing_domain` (a selector of your choice), getting the
//!    DKIM-Signature field(s), each ending in CRLF;
//! 2. call [`GeneratedMessage::assemble`] with those fields: it returns trace, signatures and
//!    message in the order a receiver stores them;
//! 3. publish, for every [`SigningDomain`], the key, an SPF record allowing its
//!    [`SigningDomain::client_ip`] and a DMARC record.
//!
//! [`GeneratedMessage::envelope`] holds the SMTP envelope matching the trace fields.
//!
//! # Example
//!
//! ```
//! use mailstamp_testkit::corpus::{Corpus, CorpusConfig};
//!
//! let config = CorpusConfig::new(42).with_messages(3).with_signing_domains(2);
//! let corpus = Corpus::new(config);
//! assert_eq!(corpus.domains().len(), 2);
//! let messages: Vec<_> = corpus.collect();
//! assert_eq!(messages.len(), 3);
//! let unsigned = messages[0].assemble(b"");
//! assert!(unsigned.starts_with(b"Return-Path: <"));
//! assert!((1024..=101_376).contains(&unsigned.len()));
//! // Deterministic: the same seed gives the same bytes.
//! assert_eq!(Corpus::new(config).message(0), messages[0]);
//! ```

use mailstamp_message::envelope::Envelope;
use std::fmt::Write as _;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

/// The size distribution of unsigned messages (trace fields included): pairs of (cumulative
/// probability in millionths, size in bytes), interpolated linearly. Median 6 KiB; 90 % under
/// 19 KB; 1 % over 65 KB; from 1 KiB to 99 KiB.
pub const SIZE_QUANTILES: [(u64, u64); 10] = [
    (0, 1_024),
    (50_000, 1_700),
    (100_000, 2_200),
    (250_000, 3_600),
    (500_000, 6_144),
    (750_000, 10_500),
    (900_000, 19_000),
    (950_000, 30_000),
    (990_000, 65_000),
    (1_000_000, 101_376),
];

/// The receiving MTA named in the trace fields.
pub const RECEIVER_HOST: &str = "mx.receiver.example";

/// An SPF chain of three levels of `include` (name, record), the side-by-side benchmark's and
/// the `cached_cpu` example's: 192.0.2.77 matches at the third level.
pub const SPF_INCLUDE_CHAIN: [(&str, &str); 4] = [
    (
        "chain.example",
        "v=spf1 ip4:198.51.100.0/24 include:_spf1.chain.example -all",
    ),
    (
        "_spf1.chain.example",
        "v=spf1 ip4:203.0.113.0/26 ip6:2001:db8:1::/48 include:_spf2.chain.example ~all",
    ),
    (
        "_spf2.chain.example",
        "v=spf1 ip4:203.0.113.64/26 include:_spf3.chain.example ?all",
    ),
    (
        "_spf3.chain.example",
        "v=spf1 ip4:192.0.2.64/27 ip4:192.0.2.128/25 -all",
    ),
];

/// Unix time of the first message's Date (Mon, 05 Jan 2026 00:00:00 +0000).
const BASE_TIME: u64 = 1_767_571_200;

/// Subdomains used as From domains under a signing domain.
const FROM_SUBDOMAINS: [&str; 5] = ["news", "mail", "info", "billing", "e"];

/// What to generate.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub struct CorpusConfig {
    /// The seed: equal seeds give equal corpora.
    pub seed: u64,
    /// How many messages the [`Corpus`] iterator yields.
    pub messages: usize,
    /// How many signing domains there are (at least 1; 0 is treated as 1).
    pub signing_domains: usize,
}

impl CorpusConfig {
    /// 2,000 messages from 500 signing domains (the sizes of the bulk benchmarks).
    pub fn new(seed: u64) -> Self {
        CorpusConfig {
            seed,
            messages: 2_000,
            signing_domains: 500,
        }
    }

    /// This configuration with another message count.
    #[must_use]
    pub fn with_messages(mut self, messages: usize) -> Self {
        self.messages = messages;
        self
    }

    /// This configuration with another number of signing domains.
    #[must_use]
    pub fn with_signing_domains(mut self, domains: usize) -> Self {
        self.signing_domains = domains;
        self
    }
}

/// A signing domain and its outbound mail server.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct SigningDomain {
    /// The domain (DKIM `d=`, MAIL FROM domain, organisational domain of the From domains).
    pub name: String,
    /// The outbound server's address (RFC 5737 or RFC 3849 documentation address).
    pub client_ip: IpAddr,
    /// The outbound server's HELO name (a host under [`SigningDomain::name`]).
    pub helo: String,
}

/// One generated message, unsigned. See the [module documentation](self) for the signing hook.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GeneratedMessage {
    /// Index of the message in the corpus (0-based).
    pub index: usize,
    /// The domain that should sign the message (DKIM `d=`).
    pub signing_domain: String,
    /// The RFC5322.From domain: the signing domain or a subdomain of it.
    pub from_domain: String,
    /// The SMTP envelope the trace fields record.
    pub envelope: Envelope,
    /// `Return-Path` and `Received` fields, added by the receiving MTA (CRLF-terminated).
    pub trace: Vec<u8>,
    /// The message as submitted by the sender: header and body, CRLF line endings.
    pub bytes: Vec<u8>,
}

impl GeneratedMessage {
    /// The message as a receiver stores it: trace fields, then `signature_fields` (complete
    /// DKIM-Signature fields ending in CRLF, or nothing for an unsigned message), then the
    /// message.
    pub fn assemble(&self, signature_fields: &[u8]) -> Vec<u8> {
        let len = self
            .trace
            .len()
            .saturating_add(signature_fields.len())
            .saturating_add(self.bytes.len());
        let mut out = Vec::with_capacity(len);
        out.extend_from_slice(&self.trace);
        out.extend_from_slice(signature_fields);
        out.extend_from_slice(&self.bytes);
        out
    }
}

/// The generator: an iterator of [`CorpusConfig::messages`] messages.
#[derive(Debug, Clone)]
pub struct Corpus {
    config: CorpusConfig,
    domains: Vec<SigningDomain>,
    next: usize,
}

impl Corpus {
    /// A corpus for `config`; the signing domains are made now, messages on demand.
    pub fn new(config: CorpusConfig) -> Self {
        let count = config.signing_domains.max(1);
        let mut rng = SplitMix64::new(mix64(config.seed ^ 0x646f_6d61_696e_7321));
        let domains = (0..count)
            .map(|i| {
                let name = format!(
                    "{}{}{}.example",
                    rng.pick(&ADJECTIVES),
                    rng.pick(&NOUNS),
                    i.saturating_add(1)
                );
                let helo = format!(
                    "{}{}.{name}",
                    rng.pick(&HOSTS),
                    rng.below(9).saturating_add(1)
                );
                SigningDomain {
                    client_ip: documentation_address(i),
                    helo,
                    name,
                }
            })
            .collect();
        Corpus {
            config,
            domains,
            next: 0,
        }
    }

    /// The signing domains, for publishing keys, SPF and DMARC records.
    pub fn domains(&self) -> &[SigningDomain] {
        &self.domains
    }

    /// The message at `index` (any index, also beyond [`CorpusConfig::messages`]).
    pub fn message(&self, index: usize) -> GeneratedMessage {
        let mut rng = SplitMix64::new(mix64(
            self.config.seed ^ mix64(u64::try_from(index).unwrap_or(u64::MAX)),
        ));
        let domain_index = if index < self.domains.len() {
            index
        } else {
            // Big senders first: the square of a uniform number favours low indices.
            // u² is below 2^40, so (u² · n) >> 40 is below n.
            let n = u128::try_from(self.domains.len()).unwrap_or(0);
            let u = u128::from(rng.below(1 << 20));
            usize::try_from((u * u * n) >> 40).unwrap_or(0)
        };
        let fallback;
        let domain = match self.domains.get(domain_index) {
            Some(d) => d,
            // Unreachable: `domains` is never empty and the index is below its length.
            None => {
                fallback = SigningDomain {
                    name: "fallback.example".into(),
                    client_ip: documentation_address(0),
                    helo: "mail.fallback.example".into(),
                };
                &fallback
            }
        };
        build_message(&mut rng, index, domain)
    }
}

impl Iterator for Corpus {
    type Item = GeneratedMessage;

    fn next(&mut self) -> Option<GeneratedMessage> {
        if self.next >= self.config.messages {
            return None;
        }
        let message = self.message(self.next);
        self.next = self.next.saturating_add(1);
        Some(message)
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        let left = self.config.messages.saturating_sub(self.next);
        (left, Some(left))
    }
}

impl ExactSizeIterator for Corpus {}

/// The address of the `i`-th outbound server: 192.0.2.1-254, 198.51.100.1-254,
/// 203.0.113.1-254 (RFC 5737), then 2001:db8::/32 (RFC 3849).
fn documentation_address(i: usize) -> IpAddr {
    const NETS: [[u8; 3]; 3] = [[192, 0, 2], [198, 51, 100], [203, 0, 113]];
    let net = i / 254;
    let host = u8::try_from(i % 254 + 1).unwrap_or(1);
    match NETS.get(net) {
        Some([a, b, c]) => IpAddr::V4(Ipv4Addr::new(*a, *b, *c, host)),
        None => {
            let n = u32::try_from(i).unwrap_or(u32::MAX);
            let hi = u16::try_from(n >> 16).unwrap_or(u16::MAX);
            let lo = u16::try_from(n & 0xffff).unwrap_or(0);
            IpAddr::V6(Ipv6Addr::new(0x2001, 0xdb8, hi, lo, 0, 0, 0, 0x25))
        }
    }
}

/// SplitMix64 (Steele, Lea, Flood 2014): tiny, fast, and good enough for test data.
#[derive(Debug, Clone)]
struct SplitMix64 {
    state: u64,
}

/// The SplitMix64 output function, also used to derive independent seeds.
fn mix64(mut z: u64) -> u64 {
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    z ^ (z >> 31)
}

impl SplitMix64 {
    fn new(seed: u64) -> Self {
        SplitMix64 { state: seed }
    }

    fn next_u64(&mut self) -> u64 {
        self.state = self.state.wrapping_add(0x9e37_79b9_7f4a_7c15);
        mix64(self.state)
    }

    /// A number in `0..n` (0 when `n` is 0), by multiply-shift.
    fn below(&mut self, n: u64) -> u64 {
        let wide = u128::from(self.next_u64()).wrapping_mul(u128::from(n));
        u64::try_from(wide >> 64).unwrap_or(0)
    }

    /// True with probability `per_mille` / 1000.
    fn chance(&mut self, per_mille: u64) -> bool {
        self.below(1000) < per_mille
    }

    fn pick(&mut self, items: &[&'static str]) -> &'static str {
        let n = u64::try_from(items.len()).unwrap_or(0);
        let i = usize::try_from(self.below(n)).unwrap_or(0);
        items.get(i).copied().unwrap_or("x")
    }

    fn hex(&mut self, digits: usize) -> String {
        let mut out = String::with_capacity(digits);
        for _ in 0..digits {
            let d = u32::try_from(self.below(16)).unwrap_or(0);
            out.push(char::from_digit(d, 16).unwrap_or('0'));
        }
        out
    }
}

/// A size drawn from [`SIZE_QUANTILES`].
fn sample_size(rng: &mut SplitMix64) -> usize {
    let u = rng.below(1_000_000);
    let mut size = SIZE_QUANTILES[0].1;
    for pair in SIZE_QUANTILES.windows(2) {
        let &[(p0, s0), (p1, s1)] = pair else {
            continue;
        };
        if u >= p0 && u < p1 {
            size = s0.saturating_add((s1.saturating_sub(s0)).saturating_mul(u - p0) / (p1 - p0));
            break;
        }
    }
    usize::try_from(size).unwrap_or(1_024)
}

/// RFC 5322 §3.3 date-time for a Unix time, in UTC.
fn rfc5322_date(unix: u64) -> String {
    const DAYS: [&str; 7] = ["Thu", "Fri", "Sat", "Sun", "Mon", "Tue", "Wed"];
    const MONTHS: [&str; 12] = [
        "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
    ];
    let days = unix / 86_400;
    let secs = unix % 86_400;
    // Howard Hinnant's civil_from_days, for days since 1970-01-01 (non-negative here).
    let z = days.saturating_add(719_468);
    let era = z / 146_097;
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1_460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + u64::from(month <= 2);
    let weekday = DAYS
        .get(usize::try_from(days % 7).unwrap_or(0))
        .unwrap_or(&"Thu");
    let month_name = MONTHS
        .get(usize::try_from(month.saturating_sub(1)).unwrap_or(0))
        .unwrap_or(&"Jan");
    format!(
        "{weekday}, {day:02} {month_name} {year} {:02}:{:02}:{:02} +0000",
        secs / 3_600,
        secs % 3_600 / 60,
        secs % 60
    )
}

/// The body structure of a message.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    Plain,
    Alternative,
    Mixed,
}

/// The variable parts of a body.
#[derive(Default)]
struct Parts {
    text: String,
    html: String,
    attachment: String,
}

fn build_message(rng: &mut SplitMix64, index: usize, domain: &SigningDomain) -> GeneratedMessage {
    let target = sample_size(rng);
    let i = u64::try_from(index).unwrap_or(u64::MAX);
    let time = BASE_TIME
        .saturating_add(i.saturating_mul(37))
        .saturating_add(rng.below(30));
    let date = rfc5322_date(time);

    let from_domain = if rng.chance(350) {
        format!("{}.{}", rng.pick(&FROM_SUBDOMAINS), domain.name)
    } else {
        domain.name.clone()
    };
    let mail_from = if rng.chance(20) {
        String::new()
    } else {
        format!("bounce-{}@{}", rng.hex(12), domain.name)
    };
    let recipient = format!(
        "{}.{}{}@receiver.example",
        rng.pick(&FIRST_NAMES).to_ascii_lowercase(),
        rng.pick(&LAST_NAMES).to_ascii_lowercase(),
        rng.below(100)
    );

    let mut trace = String::new();
    let _ = write!(trace, "Return-Path: <{mail_from}>\r\n");
    let _ = write!(
        trace,
        "Received: from {helo} ({helo} [{ip}])\r\n\
         \t(using TLSv1.3 with cipher TLS_AES_256_GCM_SHA384 (256/256 bits))\r\n\
         \tby {RECEIVER_HOST} (Postfix) with ESMTPS id {qid}\r\n\
         \tfor <{recipient}>; {date}\r\n",
        helo = domain.helo,
        ip = match domain.client_ip {
            IpAddr::V4(v4) => v4.to_string(),
            IpAddr::V6(v6) => format!("IPv6:{v6}"),
        },
        qid = rng.hex(10).to_ascii_uppercase(),
    );

    let newsletter = rng.chance(500);
    let local = if newsletter {
        rng.pick(&["newsletter", "news", "updates", "hello", "digest"])
    } else {
        rng.pick(&["noreply", "support", "billing", "team", "alerts", "orders"])
    };
    let sender_name = format!("{} {}", rng.pick(&ADJECTIVES), rng.pick(&NOUNS));
    let mut header = String::new();
    let _ = write!(header, "Date: {date}\r\n");
    let _ = write!(
        header,
        "From: \"{}\" <{local}@{from_domain}>\r\n",
        capitalise(&sender_name)
    );
    let _ = write!(
        header,
        "To: \"{} {}\" <{recipient}>\r\n",
        rng.pick(&FIRST_NAMES),
        rng.pick(&LAST_NAMES)
    );
    let _ = write!(header, "Subject: {}\r\n", subject(rng));
    let _ = write!(
        header,
        "Message-ID: <{}.{}@{from_domain}>\r\n",
        rng.hex(16),
        rng.hex(8)
    );
    header.push_str("MIME-Version: 1.0\r\n");
    if newsletter {
        let _ = write!(
            header,
            "List-Unsubscribe: <https://{from_domain}/unsubscribe/{}>,\r\n \
             <mailto:unsubscribe@{from_domain}?subject=unsubscribe>\r\n\
             List-Unsubscribe-Post: List-Unsubscribe=One-Click\r\n",
            rng.hex(24)
        );
    }
    if rng.chance(300) {
        let _ = write!(
            header,
            "Reply-To: <{}@{from_domain}>\r\n",
            rng.pick(&["support", "help", "contact"])
        );
    }
    if rng.chance(400) {
        let _ = write!(header, "X-Mailer: {}\r\n", rng.pick(&MAILERS));
    }

    let kind = if target > 30_000 && rng.chance(700) || rng.chance(100) {
        Kind::Mixed
    } else if rng.chance(500) {
        Kind::Alternative
    } else {
        Kind::Plain
    };
    let boundary = format!("=_{}", rng.hex(24));
    let outer = format!("=_m{}", rng.hex(23));
    let file = format!("{}-{}", rng.pick(&NOUNS), rng.below(10_000));

    let fixed = trace
        .len()
        .saturating_add(header.len())
        .saturating_add(render(kind, &boundary, &outer, &file, &Parts::default()).len());
    let budget = target.saturating_sub(fixed);
    let mut parts = Parts::default();
    let mut text_budget = budget;
    if kind == Kind::Mixed {
        parts.attachment = base64_lines(rng, text_budget.saturating_mul(3) / 5);
        text_budget = text_budget.saturating_sub(parts.attachment.len());
    }
    if kind != Kind::Plain {
        parts.html = html(rng, text_budget.saturating_mul(3) / 5, &from_domain);
        text_budget = text_budget.saturating_sub(parts.html.len());
    }
    parts.text = text_exact(rng, text_budget);
    let body = render(kind, &boundary, &outer, &file, &parts);

    let mut bytes = header.into_bytes();
    bytes.extend_from_slice(&body);
    GeneratedMessage {
        index,
        signing_domain: domain.name.clone(),
        from_domain,
        envelope: Envelope {
            client_ip: domain.client_ip,
            helo: domain.helo.clone(),
            mail_from: Some(mail_from),
        },
        trace: trace.into_bytes(),
        bytes,
    }
}

/// The Content-* fields, the blank line and the body of a message.
fn render(kind: Kind, boundary: &str, outer: &str, file: &str, parts: &Parts) -> Vec<u8> {
    const PLAIN: &str =
        "Content-Type: text/plain; charset=\"utf-8\"\r\nContent-Transfer-Encoding: 7bit\r\n";
    const HTML: &str =
        "Content-Type: text/html; charset=\"utf-8\"\r\nContent-Transfer-Encoding: 7bit\r\n";
    let alternative = |out: &mut String| {
        let _ = write!(
            out,
            "--{boundary}\r\n{PLAIN}\r\n{}--{boundary}\r\n{HTML}\r\n{}--{boundary}--\r\n",
            parts.text, parts.html
        );
    };
    let mut out = String::new();
    match kind {
        Kind::Plain => {
            let _ = write!(out, "{PLAIN}\r\n{}", parts.text);
        }
        Kind::Alternative => {
            let _ = write!(
                out,
                "Content-Type: multipart/alternative; boundary=\"{boundary}\"\r\n\r\n"
            );
            alternative(&mut out);
        }
        Kind::Mixed => {
            let _ = write!(
                out,
                "Content-Type: multipart/mixed; boundary=\"{outer}\"\r\n\r\n\
                 This is a multi-part message in MIME format.\r\n\r\n\
                 --{outer}\r\n\
                 Content-Type: multipart/alternative; boundary=\"{boundary}\"\r\n\r\n"
            );
            alternative(&mut out);
            let _ = write!(
                out,
                "\r\n--{outer}\r\n\
                 Content-Type: application/pdf; name=\"{file}.pdf\"\r\n\
                 Content-Disposition: attachment; filename=\"{file}.pdf\"\r\n\
                 Content-Transfer-Encoding: base64\r\n\r\n\
                 {}--{outer}--\r\n",
                parts.attachment
            );
        }
    }
    out.into_bytes()
}

fn capitalise(text: &str) -> String {
    text.split(' ')
        .map(|w| {
            let mut chars = w.chars();
            match chars.next() {
                Some(c) => c.to_ascii_uppercase().to_string() + chars.as_str(),
                None => String::new(),
            }
        })
        .collect::<Vec<_>>()
        .join(" ")
}

fn subject(rng: &mut SplitMix64) -> String {
    match rng.below(6) {
        0 => format!("Your order #{} has shipped", 100_000 + rng.below(900_000)),
        1 => format!("Invoice {}-{:04} is ready", 2026, rng.below(10_000)),
        2 => "=?UTF-8?Q?Caf=C3=A9_news:_this_week's_picks?=".to_string(),
        3 => format!(
            "Re: {} {} {}",
            capitalise(rng.pick(&WORDS)),
            rng.pick(&WORDS),
            rng.pick(&WORDS)
        ),
        _ => format!(
            "{} {} for {} {}",
            capitalise(rng.pick(&ADJECTIVES)),
            rng.pick(&NOUNS),
            rng.pick(&WORDS),
            rng.pick(&WORDS)
        ),
    }
}

/// A line of words of about `width` characters, without line ending.
fn words_line(rng: &mut SplitMix64, width: usize, start_sentence: bool) -> String {
    let mut line = String::new();
    let mut capital = start_sentence;
    while line.len() < width {
        let word = rng.pick(&WORDS);
        if !line.is_empty() {
            line.push(' ');
        }
        if capital {
            line.push_str(&capitalise(word));
            capital = false;
        } else {
            line.push_str(word);
        }
        if rng.chance(120) {
            line.push(if rng.chance(200) { ',' } else { '.' });
            capital = line.ends_with('.');
        }
    }
    line
}

/// Plain text of exactly `budget` bytes (0 or 1 byte budgets give no text), CRLF lines of at
/// most 76 characters, paragraphs separated by empty lines.
fn text_exact(rng: &mut SplitMix64, budget: usize) -> String {
    let mut out = String::with_capacity(budget);
    let mut lines_in_paragraph = 0u64;
    let mut sentence_ended = true;
    while out.len().saturating_add(2) <= budget {
        let room = budget - out.len() - 2;
        let mut line = if lines_in_paragraph > 0 && rng.chance(180) {
            lines_in_paragraph = 0;
            String::new()
        } else {
            let first = lines_in_paragraph == 0;
            lines_in_paragraph = lines_in_paragraph.saturating_add(1);
            // Up to 59 characters, one word (at most 12 with punctuation) and "From ": 76.
            let width = 40 + usize::try_from(rng.below(20)).unwrap_or(0);
            if first && rng.chance(30) {
                format!("From {}", words_line(rng, width, false))
            } else {
                words_line(rng, width, first || sentence_ended)
            }
        };
        if line.len() > room {
            line.truncate(room);
            if line.ends_with(' ') {
                line.pop();
                line.push('.');
            }
        }
        sentence_ended = line.is_empty() || line.ends_with('.');
        out.push_str(&line);
        out.push_str("\r\n");
    }
    out
}

/// HTML of at most `budget` bytes.
fn html(rng: &mut SplitMix64, budget: usize, from_domain: &str) -> String {
    let head = "<!DOCTYPE html>\r\n<html><head><meta charset=\"utf-8\"></head>\r\n<body>\r\n";
    let tail = "</body></html>\r\n";
    if budget < head.len() + tail.len() {
        return String::new();
    }
    let mut out = String::from(head);
    let limit = budget - tail.len();
    loop {
        let line = if rng.chance(100) {
            format!(
                "<p><a href=\"https://{from_domain}/{}\">\r\n{}</a></p>\r\n",
                rng.hex(12),
                capitalise(rng.pick(&WORDS))
            )
        } else {
            // Up to 55 characters, one word and the tags: 74.
            let width = 40 + usize::try_from(rng.below(16)).unwrap_or(0);
            format!("<p>{}</p>\r\n", words_line(rng, width, true))
        };
        if out.len().saturating_add(line.len()) > limit {
            break;
        }
        out.push_str(&line);
    }
    out.push_str(tail);
    out
}

/// Base64 (RFC 2045 §6.8) of pseudo-random bytes in CRLF lines of 76 characters, at most
/// `budget` bytes.
fn base64_lines(rng: &mut SplitMix64, budget: usize) -> String {
    const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let lines = budget / 78;
    let mut out = String::with_capacity(lines.saturating_mul(78));
    for _ in 0..lines {
        // 57 input bytes per line: 19 groups of 3 bytes, 4 characters each.
        for _ in 0..19 {
            let group = rng.next_u64();
            for shift in [18u32, 12, 6, 0] {
                let index = usize::try_from((group >> shift) & 63).unwrap_or(0);
                out.push(char::from(*ALPHABET.get(index).unwrap_or(&b'A')));
            }
        }
        out.push_str("\r\n");
    }
    out
}

const ADJECTIVES: [&str; 24] = [
    "bright", "blue", "quick", "green", "silver", "north", "open", "clear", "swift", "golden",
    "urban", "solid", "smart", "happy", "prime", "daily", "global", "fresh", "royal", "simple",
    "modern", "little", "wild", "true",
];

const NOUNS: [&str; 24] = [
    "post", "mail", "market", "bank", "cloud", "shop", "travel", "health", "news", "media", "labs",
    "foods", "books", "games", "energy", "motors", "garden", "studio", "works", "trust", "wave",
    "river", "stone", "field",
];

const HOSTS: [&str; 4] = ["mail", "mta", "smtp", "out"];

const MAILERS: [&str; 5] = [
    "Microsoft Outlook 16.0",
    "Apple Mail (2.3774.300.61.1.2)",
    "Mozilla Thunderbird 128.5.0",
    "PHPMailer 6.9.1 (https://github.com/PHPMailer/PHPMailer)",
    "mailstamp-corpus",
];

const FIRST_NAMES: [&str; 16] = [
    "Alice", "Bob", "Carol", "David", "Erin", "Frank", "Grace", "Heidi", "Ivan", "Judy", "Mallory",
    "Niaj", "Olivia", "Peggy", "Rupert", "Sybil",
];

const LAST_NAMES: [&str; 12] = [
    "Smith", "Jones", "Garcia", "Miller", "Davis", "Lopez", "Wilson", "Moore", "Taylor", "Thomas",
    "Martin", "Lee",
];

const WORDS: [&str; 96] = [
    "the",
    "of",
    "and",
    "to",
    "in",
    "is",
    "you",
    "that",
    "it",
    "for",
    "was",
    "on",
    "are",
    "as",
    "with",
    "your",
    "at",
    "be",
    "this",
    "have",
    "from",
    "or",
    "one",
    "by",
    "we",
    "can",
    "all",
    "our",
    "new",
    "order",
    "account",
    "update",
    "week",
    "offer",
    "price",
    "service",
    "team",
    "today",
    "please",
    "thank",
    "report",
    "meeting",
    "project",
    "review",
    "schedule",
    "delivery",
    "invoice",
    "payment",
    "support",
    "customer",
    "product",
    "release",
    "feature",
    "security",
    "notice",
    "summary",
    "details",
    "travel",
    "booking",
    "confirm",
    "reminder",
    "event",
    "newsletter",
    "discount",
    "member",
    "points",
    "reward",
    "shipping",
    "tracking",
    "package",
    "address",
    "message",
    "reply",
    "question",
    "answer",
    "document",
    "attached",
    "signed",
    "contract",
    "agenda",
    "minutes",
    "budget",
    "quarter",
    "results",
    "growth",
    "market",
    "weather",
    "garden",
    "recipe",
    "kitchen",
    "holiday",
    "season",
    "city",
    "morning",
    "evening",
    "friday",
];

#[cfg(test)]
mod tests;
