//! The typed SPF record (RFC 7208 §4.5, §4.6, §5, §6, §12) and its parser.

use crate::macros::{
    DomainSpec, DomainSpecError, MacroContext, MacroError, MacroItem, MacroString,
};
use crate::result::Qualifier;
use std::fmt;
use std::net::{Ipv4Addr, Ipv6Addr};
use std::str::FromStr;

/// The version section every SPF record begins with (RFC 7208 §4.5).
pub const VERSION: &str = "v=spf1";

/// True when a TXT record's text is an SPF record: it begins with `v=spf1` (ASCII case
/// ignored) followed by a space or the end of the record (RFC 7208 §4.5). `v=spf10` is not.
pub fn is_spf_record(text: &[u8]) -> bool {
    match text.get(..VERSION.len()) {
        Some(prefix) if prefix.eq_ignore_ascii_case(VERSION.as_bytes()) => {
            matches!(text.get(VERSION.len()), None | Some(b' '))
        }
        _ => false,
    }
}

/// Prefix lengths of `a` and `mx` (RFC 7208 §5.6 `dual-cidr-length`); `None` means the
/// default (/32 for IPv4, /128 for IPv6).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct DualCidr {
    /// The IPv4 prefix length, 0..=32.
    pub v4: Option<u8>,
    /// The IPv6 prefix length, 0..=128.
    pub v6: Option<u8>,
}

impl DualCidr {
    /// The IPv4 prefix length in effect.
    pub fn v4_len(self) -> u8 {
        self.v4.unwrap_or(32)
    }

    /// The IPv6 prefix length in effect.
    pub fn v6_len(self) -> u8 {
        self.v6.unwrap_or(128)
    }
}

impl fmt::Display for DualCidr {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if let Some(v4) = self.v4.filter(|&l| l != 32) {
            f.write_str("/")?;
            write!(f, "{v4}")?;
        }
        if let Some(v6) = self.v6.filter(|&l| l != 128) {
            f.write_str("//")?;
            write!(f, "{v6}")?;
        }
        Ok(())
    }
}

/// A mechanism (RFC 7208 §5).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Mechanism {
    /// `all`: always matches (RFC 7208 §5.1).
    All,
    /// `include:<domain-spec>`: matches when a recursive check of the target passes (RFC 7208
    /// §5.2).
    Include(DomainSpec),
    /// `a[:<domain-spec>][<dual-cidr>]`: matches an address of the target (RFC 7208 §5.3).
    A {
        /// The target; `None` means the current `<domain>`.
        domain: Option<DomainSpec>,
        /// The prefix lengths.
        cidr: DualCidr,
    },
    /// `mx[:<domain-spec>][<dual-cidr>]`: matches an address of one of the target's MX hosts
    /// (RFC 7208 §5.4).
    Mx {
        /// The target; `None` means the current `<domain>`.
        domain: Option<DomainSpec>,
        /// The prefix lengths.
        cidr: DualCidr,
    },
    /// `ptr[:<domain-spec>]`: matches a validated reverse name under the target (RFC 7208 §5.5;
    /// "SHOULD NOT be used").
    Ptr(Option<DomainSpec>),
    /// `ip4:<network>[/<len>]` (RFC 7208 §5.6).
    Ip4 {
        /// The network address as written.
        addr: Ipv4Addr,
        /// The prefix length; `None` means /32.
        prefix: Option<u8>,
    },
    /// `ip6:<network>[/<len>]` (RFC 7208 §5.6).
    Ip6 {
        /// The network address as written.
        addr: Ipv6Addr,
        /// The prefix length; `None` means /128.
        prefix: Option<u8>,
    },
    /// `exists:<domain-spec>`: matches when the target has an A record (RFC 7208 §5.7).
    Exists(DomainSpec),
}

impl Mechanism {
    /// The mechanism's name as written in a record (`all`, `include`, `a`, ...).
    pub fn name(&self) -> &'static str {
        match self {
            Mechanism::All => "all",
            Mechanism::Include(_) => "include",
            Mechanism::A { .. } => "a",
            Mechanism::Mx { .. } => "mx",
            Mechanism::Ptr(_) => "ptr",
            Mechanism::Ip4 { .. } => "ip4",
            Mechanism::Ip6 { .. } => "ip6",
            Mechanism::Exists(_) => "exists",
        }
    }

    /// True for the mechanisms counted against the DNS lookup limit (RFC 7208 §4.6.4):
    /// `include`, `a`, `mx`, `ptr` and `exists`.
    pub fn queries_dns(&self) -> bool {
        matches!(
            self,
            Mechanism::Include(_)
                | Mechanism::A { .. }
                | Mechanism::Mx { .. }
                | Mechanism::Ptr(_)
                | Mechanism::Exists(_)
        )
    }

    /// The domain-spec, when the mechanism has one.
    pub fn domain_spec(&self) -> Option<&DomainSpec> {
        match self {
            Mechanism::Include(d) | Mechanism::Exists(d) => Some(d),
            Mechanism::A { domain, .. } | Mechanism::Mx { domain, .. } | Mechanism::Ptr(domain) => {
                domain.as_ref()
            }
            Mechanism::All | Mechanism::Ip4 { .. } | Mechanism::Ip6 { .. } => None,
        }
    }
}

impl fmt::Display for Mechanism {
    // Pieces are written one by one (no `write!` argument lists): the matched term of every
    // verdict is formatted here.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())?;
        let colon_spec = |f: &mut fmt::Formatter<'_>, d: &DomainSpec| {
            f.write_str(":")?;
            fmt::Display::fmt(d, f)
        };
        match self {
            Mechanism::All => Ok(()),
            Mechanism::Include(d) | Mechanism::Exists(d) => colon_spec(f, d),
            Mechanism::A { domain, cidr } | Mechanism::Mx { domain, cidr } => {
                if let Some(d) = domain {
                    colon_spec(f, d)?;
                }
                fmt::Display::fmt(cidr, f)
            }
            Mechanism::Ptr(domain) => match domain {
                Some(d) => colon_spec(f, d),
                None => Ok(()),
            },
            Mechanism::Ip4 { addr, prefix } => {
                f.write_str(":")?;
                write!(f, "{addr}")?;
                match prefix.filter(|&p| p != 32) {
                    Some(p) => {
                        f.write_str("/")?;
                        write!(f, "{p}")
                    }
                    None => Ok(()),
                }
            }
            Mechanism::Ip6 { addr, prefix } => {
                f.write_str(":")?;
                write!(f, "{addr}")?;
                match prefix.filter(|&p| p != 128) {
                    Some(p) => {
                        f.write_str("/")?;
                        write!(f, "{p}")
                    }
                    None => Ok(()),
                }
            }
        }
    }
}

/// A directive: an optional qualifier and a mechanism (RFC 7208 §4.6.2).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Directive {
    /// The qualifier (`+` when none is written).
    pub qualifier: Qualifier,
    /// The mechanism.
    pub mechanism: Mechanism,
}

impl fmt::Display for Directive {
    /// Canonical form: the `+` qualifier is omitted.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.qualifier != Qualifier::Pass {
            fmt::Write::write_char(f, self.qualifier.symbol())?;
        }
        fmt::Display::fmt(&self.mechanism, f)
    }
}

impl Directive {
    /// The canonical text (as `Display` writes it), in a string allocated once.
    pub(crate) fn canonical_text(&self) -> String {
        // The common matched terms (`include:` or `exists:` a plain domain, `all`) without
        // the formatting machinery; the same text as `Display` (a test compares them).
        let plain = match &self.mechanism {
            Mechanism::All => Some(""),
            Mechanism::Include(d) | Mechanism::Exists(d) => match d.macro_string().items() {
                [MacroItem::Literal(text)] => Some(text.as_str()),
                _ => None,
            },
            _ => None,
        };
        if let Some(spec) = plain {
            let name = self.mechanism.name();
            let mut text = String::with_capacity(2 + name.len() + spec.len());
            if self.qualifier != Qualifier::Pass {
                text.push(self.qualifier.symbol());
            }
            text.push_str(name);
            if !spec.is_empty() {
                text.push(':');
                text.push_str(spec);
            }
            return text;
        }
        let spec_len = self
            .mechanism
            .domain_spec()
            .map_or(0, |d| d.macro_string().text_len_hint());
        let mut text = String::with_capacity(spec_len + 48);
        let _ = fmt::Write::write_fmt(&mut text, format_args!("{self}"));
        text
    }
}

/// A modifier other than `redirect` and `exp`, kept but ignored (RFC 7208 §6: "Unrecognized
/// modifiers MUST be ignored").
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct UnknownModifier {
    /// The name as written.
    pub name: String,
    /// The value, a valid macro-string (RFC 7208 §A: `unknown-modifier = name "=" macro-string`).
    pub value: MacroString,
}

/// A parsed SPF record (RFC 7208 §4.5, §12).
///
/// `Display` prints the canonical text: `v=spf1`, the directives in order (lower-case names,
/// no `+`, no default prefix lengths), then `redirect=`, `exp=` and unknown modifiers, one
/// space apart. Parsing the canonical text gives back an equal record.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Default)]
pub struct Record {
    directives: Vec<Directive>,
    redirect: Option<DomainSpec>,
    explanation: Option<DomainSpec>,
    unknown: Vec<UnknownModifier>,
    has_all: bool,
}

impl Record {
    /// Parses a record's text (the joined TXT strings).
    pub fn parse(text: &str) -> Result<Record, ParseError> {
        parse(text)
    }

    /// Parses a record from the bytes of a TXT record. SPF records are 7-bit ASCII (RFC 7208
    /// §3.1 and the OpenSPF suite): any other byte is a [`ParseErrorKind::NonAscii`] error at
    /// its offset, so non-UTF-8 input is handled without loss.
    pub fn parse_bytes(bytes: &[u8]) -> Result<Record, ParseError> {
        if is_spf_record(bytes) {
            // No UTF-8 check first: the term reader refuses any byte outside visible ASCII.
            return parse_terms(bytes, true);
        }
        match std::str::from_utf8(bytes) {
            Ok(text) => Err(bad_byte(bytes, true)
                .filter(|e| matches!(e.kind, ParseErrorKind::NonAscii { .. }))
                .unwrap_or_else(|| not_spf(text))),
            // Not UTF-8, so not ASCII: the first non-ASCII byte is named.
            Err(e) => Err(bad_byte(bytes, true).unwrap_or_else(|| ParseError {
                kind: ParseErrorKind::NonAscii { byte: 0 },
                offset: e.valid_up_to(),
                term: String::new(),
            })),
        }
    }

    /// The directives, in order.
    pub fn directives(&self) -> &[Directive] {
        &self.directives
    }

    /// The `redirect=` domain-spec (RFC 7208 §6.1).
    pub fn redirect(&self) -> Option<&DomainSpec> {
        self.redirect.as_ref()
    }

    /// The `exp=` domain-spec (RFC 7208 §6.2).
    pub fn explanation(&self) -> Option<&DomainSpec> {
        self.explanation.as_ref()
    }

    /// The unknown modifiers, in order.
    pub fn unknown_modifiers(&self) -> &[UnknownModifier] {
        &self.unknown
    }

    /// True when the record has an `all` mechanism, which makes any `redirect` ignored
    /// (RFC 7208 §5.1).
    pub fn has_all(&self) -> bool {
        self.has_all
    }

    /// The number of terms that count against the DNS lookup limit if evaluated (RFC 7208
    /// §4.6.4): DNS-querying mechanisms, plus `redirect` when it can take effect.
    pub fn dns_term_count(&self) -> usize {
        self.directives
            .iter()
            .filter(|d| d.mechanism.queries_dns())
            .count()
            + usize::from(self.redirect.is_some() && !self.has_all)
    }
}

impl FromStr for Record {
    type Err = ParseError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        parse(s)
    }
}

impl fmt::Display for Record {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(VERSION)?;
        for d in &self.directives {
            write!(f, " {d}")?;
        }
        if let Some(r) = &self.redirect {
            write!(f, " redirect={r}")?;
        }
        if let Some(e) = &self.explanation {
            write!(f, " exp={e}")?;
        }
        for m in &self.unknown {
            write!(f, " {}={}", m.name, m.value)?;
        }
        Ok(())
    }
}

/// What is wrong with a record (RFC 7208 §4.6: any syntax error makes the record a
/// `permerror`).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ParseErrorKind {
    /// The text does not begin with `v=spf1` followed by a space or its end (RFC 7208 §4.5).
    #[error("not an SPF record (must begin with \"v=spf1\")")]
    NotSpf,
    /// A byte outside 7-bit ASCII (RFC 7208 §3.1, §12).
    #[error("non-ASCII byte 0x{byte:02x}")]
    NonAscii {
        /// The byte.
        byte: u8,
    },
    /// A control character or other byte that cannot appear in a term.
    #[error("invalid character {0:?}")]
    InvalidCharacter(char),
    /// A term that is neither a known mechanism nor a modifier (RFC 7208 §4.6.1, §5).
    #[error("unknown mechanism {0:?}")]
    UnknownMechanism(String),
    /// A modifier name that does not match `ALPHA *( ALPHA / DIGIT / "-" / "_" / "." )`
    /// (RFC 7208 §6, §12).
    #[error("invalid modifier name {0:?}")]
    InvalidModifierName(String),
    /// `include`, `exists`, `ip4` or `ip6` without its `:` argument (RFC 7208 §5).
    #[error("mechanism {0:?} requires a ':' argument")]
    MissingArgument(&'static str),
    /// An argument or prefix length where the mechanism takes none (`all:x`, `ptr/24`, ...).
    #[error("unexpected argument to mechanism {0:?}")]
    UnexpectedArgument(&'static str),
    /// An invalid domain-spec (RFC 7208 §7.1).
    #[error("invalid domain-spec: {0}")]
    DomainSpec(DomainSpecError),
    /// An invalid macro-string in an unknown modifier (RFC 7208 §7.1).
    #[error("invalid macro-string: {0}")]
    Macro(MacroError),
    /// A prefix length that is malformed or out of range (RFC 7208 §5.6: 0-32 for IPv4,
    /// 0-128 for IPv6, no leading zeros).
    #[error("invalid prefix length {0:?}")]
    InvalidCidr(String),
    /// An invalid `ip4-network` (RFC 7208 §5.6: four decimal octets, no leading zeros).
    #[error("invalid IPv4 network {0:?}")]
    InvalidIp4(String),
    /// An invalid `ip6-network` (RFC 7208 §5.6, RFC 4291 §2.2).
    #[error("invalid IPv6 network {0:?}")]
    InvalidIp6(String),
    /// `redirect` or `exp` appears more than once (RFC 7208 §6).
    #[error("modifier {0:?} appears more than once")]
    DuplicateModifier(&'static str),
}

/// A syntax error in a record: what is wrong, the offending term and the byte offset.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{kind} in term {term:?} at byte {offset}")]
pub struct ParseError {
    /// What is wrong.
    pub kind: ParseErrorKind,
    /// Byte offset in the record text of the error (the term's start, or the precise byte
    /// when known).
    pub offset: usize,
    /// The offending term as written (lossily decoded if it was not ASCII).
    pub term: String,
}

fn term_around(bytes: &[u8], offset: usize) -> String {
    let start = bytes
        .get(..offset)
        .and_then(|b| b.iter().rposition(|&c| c == b' '))
        .map_or(0, |p| p + 1);
    let end = bytes
        .get(offset..)
        .and_then(|b| b.iter().position(|&c| c == b' '))
        .map_or(bytes.len(), |p| offset + p);
    String::from_utf8_lossy(bytes.get(start..end).unwrap_or(&[])).into_owned()
}

/// The first byte that cannot appear in a record, as the error it makes: a byte outside 7-bit
/// ASCII or an ASCII control character (RFC 7208 §3.1, §12). With `non_ascii_first` (a record
/// read from bytes), a non-ASCII byte anywhere is named before any control character.
fn bad_byte(bytes: &[u8], non_ascii_first: bool) -> Option<ParseError> {
    let non_ascii = || bytes.iter().position(|b| !b.is_ascii());
    let offset = non_ascii_first.then(non_ascii).flatten().or_else(|| {
        bytes
            .iter()
            .position(|&b| !b.is_ascii() || b.is_ascii_control())
    })?;
    let byte = bytes.get(offset).copied()?;
    let kind = if byte.is_ascii() {
        ParseErrorKind::InvalidCharacter(byte as char)
    } else {
        ParseErrorKind::NonAscii { byte }
    };
    Some(ParseError {
        kind,
        offset,
        term: term_around(bytes, offset),
    })
}

fn parse(text: &str) -> Result<Record, ParseError> {
    if !is_spf_record(text.as_bytes()) {
        return Err(not_spf(text));
    }
    parse_terms(text.as_bytes(), false)
}

fn not_spf(text: &str) -> ParseError {
    ParseError {
        kind: ParseErrorKind::NotSpf,
        offset: 0,
        term: text.split(' ').next().unwrap_or("").to_owned(),
    }
}

/// The end of the term that starts at `start`: the index of the next space, or the length of
/// the record. `None` at a byte that is neither visible ASCII nor a space (RFC 7208 §12: terms
/// are separated by SP, and every character of a term is visible ASCII).
///
/// Eight bytes at a time (SWAR): no carry crosses a byte in these sums, every byte being
/// masked to 7 bits first.
fn term_end(bytes: &[u8], start: usize) -> Option<usize> {
    const LOW: u64 = 0x7f7f_7f7f_7f7f_7f7f;
    const HIGH: u64 = 0x8080_8080_8080_8080;
    const ONES: u64 = 0x0101_0101_0101_0101;
    let stop_at = |i: usize| bytes.get(i).is_some_and(|&b| b == b' ').then_some(i);
    let mut i = start;
    while let Some(word) = bytes.get(i..i + 8) {
        let mut w = [0u8; 8];
        w.copy_from_slice(word);
        let v = u64::from_le_bytes(w);
        let low = v & LOW;
        // High bit set: not ASCII. Up to 0x20 (space included): adding 0x5f leaves the high
        // bit clear. 0x7f: adding 1 sets it.
        let stop = (v | !(low + 0x5f * ONES) | (low + ONES)) & HIGH;
        if stop != 0 {
            return stop_at(i + (stop.trailing_zeros() / 8) as usize);
        }
        i += 8;
    }
    while let Some(&b) = bytes.get(i) {
        if !(0x21..=0x7e).contains(&b) {
            return stop_at(i);
        }
        i += 1;
    }
    Some(i)
}

/// Reads the terms after `v=spf1` (the caller has checked it). A byte that is neither visible
/// ASCII nor a space is the error, wherever it is (see [`bad_byte`] for `non_ascii_first`);
/// otherwise the first term in error is. One pass: terms are read as they are delimited, and
/// the error of a term gives way to that of a bad byte further on, if the record has one.
///
/// Terms are read as bytes: [`term_end`] has checked that every byte of a term is visible
/// ASCII, so each is also UTF-8 text ([`ascii`]).
fn parse_terms(bytes: &[u8], non_ascii_first: bool) -> Result<Record, ParseError> {
    let bad = || {
        bad_byte(bytes, non_ascii_first).unwrap_or_else(|| ParseError {
            kind: ParseErrorKind::InvalidCharacter('\0'),
            offset: 0,
            term: String::new(),
        })
    };
    // One allocation for the directives: a term and its space take 16 bytes or more in most
    // records (an `ip4` network, an `include`); shorter ones make the vector grow.
    let mut record = Record {
        directives: Vec::with_capacity(bytes.len().saturating_sub(VERSION.len()).div_ceil(16)),
        ..Record::default()
    };
    let mut start = VERSION.len();
    while start < bytes.len() {
        let end = term_end(bytes, start).ok_or_else(bad)?;
        if end > start {
            let raw = bytes.get(start..end).unwrap_or(&[]);
            parse_term(raw, &mut record).map_err(|(kind, at)| {
                bad_byte(bytes, non_ascii_first).unwrap_or_else(|| ParseError {
                    kind,
                    offset: start + at,
                    term: ascii(raw).to_owned(),
                })
            })?;
        }
        start = end + 1;
    }
    // Records of long terms (long names, macros) leave much of it unused: given back.
    if record.directives.capacity() > record.directives.len() + 4 {
        record.directives.shrink_to_fit();
    }
    Ok(record)
}

type TermError = (ParseErrorKind, usize);

/// The text of bytes of a term, all visible ASCII (checked by [`term_end`]), hence UTF-8.
fn ascii(bytes: &[u8]) -> &str {
    std::str::from_utf8(bytes).unwrap_or("")
}

/// A byte of a mechanism name, lower-cased, for [`parse_term`]'s key; 0 for the bytes that
/// end a name (`=`, `:` and `/`, RFC 7208 §4.6.1, §12).
static NAME_BYTE: [u8; 256] = {
    let mut table = [0u8; 256];
    let mut b = 1;
    while b < 256 {
        let c = b as u8;
        table[b] = match c {
            b'=' | b':' | b'/' => 0,
            _ => c.to_ascii_lowercase(),
        };
        b += 1;
    }
    table
};

fn parse_term(term: &[u8], record: &mut Record) -> Result<(), TermError> {
    let (qualifier, q_len) = match term.first().and_then(|&b| Qualifier::from_symbol(b)) {
        Some(q) => (q, 1),
        None => (Qualifier::Pass, 0),
    };
    // RFC 7208 §4.6.1: a modifier has '=' right after its name, before any ':' or '/'. One
    // pass finds the end of the name and makes the mechanism's key: its first eight bytes
    // lower-cased, shifted into a register (a qualifier is none of '=', ':' and '/').
    let body = term.get(q_len..).unwrap_or(&[]);
    let mut key = 0u64;
    let mut name_len = 0;
    for &b in body {
        let lower = NAME_BYTE[usize::from(b)];
        if lower == 0 {
            break;
        }
        // Past eight bytes the key is garbage, and dropped below.
        key |= u64::from(lower) << ((name_len % 8) * 8);
        name_len += 1;
    }
    let name_end = q_len + name_len;
    if term.get(name_end) == Some(&b'=') {
        return parse_modifier(term, name_end, record);
    }
    // Longer than any mechanism name: no mechanism (0 is none of their keys).
    let key = if name_len < 8 { key } else { 0 };
    push_directive(record, qualifier, body, name_len, key).map_err(|(k, at)| (k, at + q_len))
}

fn parse_modifier(term: &[u8], eq: usize, record: &mut Record) -> Result<(), TermError> {
    let name = term.get(..eq).unwrap_or(&[]);
    let value = term.get(eq + 1..).unwrap_or(&[]);
    let value_at = eq + 1;
    if name.eq_ignore_ascii_case(b"redirect") || name.eq_ignore_ascii_case(b"exp") {
        let is_redirect = name.eq_ignore_ascii_case(b"redirect");
        let slot = if is_redirect {
            &mut record.redirect
        } else {
            &mut record.explanation
        };
        if slot.is_some() {
            let which = if is_redirect { "redirect" } else { "exp" };
            return Err((ParseErrorKind::DuplicateModifier(which), 0));
        }
        *slot = Some(domain_spec(value, value_at)?);
        return Ok(());
    }
    let mut chars = name.iter();
    let valid_name = chars.next().is_some_and(|c| c.is_ascii_alphabetic())
        && chars.all(|c| c.is_ascii_alphanumeric() || matches!(c, b'-' | b'_' | b'.'));
    if !valid_name {
        return Err((
            ParseErrorKind::InvalidModifierName(ascii(name).to_owned()),
            0,
        ));
    }
    let value_ms = MacroString::parse_in(ascii(value), MacroContext::Modifier)
        .map_err(|(e, at)| (ParseErrorKind::Macro(e), value_at + at))?;
    record.unknown.push(UnknownModifier {
        name: ascii(name).to_owned(),
        value: value_ms,
    });
    Ok(())
}

/// A mechanism name (at most seven octets) as a number: its octets, lower case, then padded
/// with zeros ([`parse_term`] makes the same number from a term).
const fn key(name: &[u8]) -> u64 {
    let mut buf = [0u8; 8];
    let mut i = 0;
    while i < name.len() {
        buf[i] = name[i];
        i += 1;
    }
    u64::from_le_bytes(buf)
}

const ALL: u64 = key(b"all");
const INCLUDE: u64 = key(b"include");
const EXISTS: u64 = key(b"exists");
const A: u64 = key(b"a");
const MX: u64 = key(b"mx");
const PTR: u64 = key(b"ptr");
const IP4: u64 = key(b"ip4");
const IP6: u64 = key(b"ip6");

/// A directive (`body`: the term without its qualifier), pushed onto the record's list; the
/// mechanism's name is the first `name_len` bytes, up to the first ':' or '/', and `key` is its
/// [`key`]. Names are case-insensitive (RFC 7208 §4.6.1).
// Inlined into `parse_term`: as a call, its result was written piecewise into the return slot
// and read back whole before the directive was pushed (a store-forwarding stall per term).
// Each arm pushes its own directive (measured faster than one push after the match), though
// LLVM still joins the pushes and assembles the directive in one stack slot, copied into the
// vector right after it is written: about a fifth of the parse's time (BENCHMARKS.md, session 8,
// lists what was tried against it).
#[inline(always)]
fn push_directive(
    record: &mut Record,
    qualifier: Qualifier,
    body: &[u8],
    name_len: usize,
    key: u64,
) -> Result<(), TermError> {
    let name = body.get(..name_len).unwrap_or(&[]);
    let args = body.get(name_len..).unwrap_or(&[]);
    let args_at = name_len;
    let directives = &mut record.directives;
    match key {
        ALL => {
            if !args.is_empty() {
                return Err((ParseErrorKind::UnexpectedArgument("all"), args_at));
            }
            record.has_all = true;
            directives.push(Directive {
                qualifier,
                mechanism: Mechanism::All,
            });
        }
        which @ (INCLUDE | EXISTS) => {
            let Some(spec) = args.strip_prefix(b":") else {
                let name = if which == INCLUDE {
                    "include"
                } else {
                    "exists"
                };
                return Err((ParseErrorKind::MissingArgument(name), args_at));
            };
            let d = domain_spec(spec, args_at + 1)?;
            if which == INCLUDE {
                directives.push(Directive {
                    qualifier,
                    mechanism: Mechanism::Include(d),
                });
            } else {
                directives.push(Directive {
                    qualifier,
                    mechanism: Mechanism::Exists(d),
                });
            }
        }
        which @ (A | MX) => {
            let (rest, cidr) = split_dual_cidr(args, args_at)?;
            let domain = match rest.strip_prefix(b":") {
                Some(spec) => Some(domain_spec(spec, args_at + 1)?),
                None if rest.is_empty() => None,
                None => {
                    let name = if which == A { "a" } else { "mx" };
                    return Err((ParseErrorKind::UnexpectedArgument(name), args_at));
                }
            };
            if which == A {
                directives.push(Directive {
                    qualifier,
                    mechanism: Mechanism::A { domain, cidr },
                });
            } else {
                directives.push(Directive {
                    qualifier,
                    mechanism: Mechanism::Mx { domain, cidr },
                });
            }
        }
        PTR => {
            let domain = match args.strip_prefix(b":") {
                Some(spec) => Some(domain_spec(spec, args_at + 1)?),
                None if args.is_empty() => None,
                None => return Err((ParseErrorKind::UnexpectedArgument("ptr"), args_at)),
            };
            directives.push(Directive {
                qualifier,
                mechanism: Mechanism::Ptr(domain),
            });
        }
        IP4 => {
            let Some(net) = args.strip_prefix(b":") else {
                return Err((ParseErrorKind::MissingArgument("ip4"), args_at));
            };
            let (addr, prefix) = match ip4_network(net) {
                Some(network) => network,
                // Not a valid network: find out what is wrong.
                None => {
                    let (addr_text, prefix) = split_prefix(net, 32, args_at + 1)?;
                    let addr = ipv4_bytes(addr_text).ok_or_else(|| {
                        (
                            ParseErrorKind::InvalidIp4(ascii(addr_text).to_owned()),
                            args_at + 1,
                        )
                    })?;
                    (addr, prefix)
                }
            };
            directives.push(Directive {
                qualifier,
                mechanism: Mechanism::Ip4 { addr, prefix },
            });
        }
        IP6 => {
            let Some(net) = args.strip_prefix(b":") else {
                return Err((ParseErrorKind::MissingArgument("ip6"), args_at));
            };
            let (addr, prefix) = match ip6_network(net) {
                Some(network) => network,
                // An embedded IPv4 address, or not a valid network: the long way.
                None => {
                    let (addr_text, prefix) = split_prefix(net, 128, args_at + 1)?;
                    let addr = ipv6_bytes(addr_text).ok_or_else(|| {
                        (
                            ParseErrorKind::InvalidIp6(ascii(addr_text).to_owned()),
                            args_at + 1,
                        )
                    })?;
                    (addr, prefix)
                }
            };
            directives.push(Directive {
                qualifier,
                mechanism: Mechanism::Ip6 { addr, prefix },
            });
        }
        _ => {
            return Err((ParseErrorKind::UnknownMechanism(ascii(name).to_owned()), 0));
        }
    }
    Ok(())
}

/// A valid `ip4-network` with its optional prefix length (`<address>[/<len>]`, RFC 7208
/// §5.6), read in one pass; `None` when anything is wrong (the caller then finds out what).
fn ip4_network(net: &[u8]) -> Option<(Ipv4Addr, Option<u8>)> {
    let (addr, len) = read_ipv4(net)?;
    match net.get(len..)? {
        [] => Some((addr, None)),
        [b'/', digits @ ..] => Some((addr, non_default(prefix_len(digits, 32)?, 32))),
        _ => None,
    }
}

/// An `ip4-network` (RFC 7208 §5.6): four decimal octets of one to three digits, at most 255,
/// without leading zeros: the text [`Ipv4Addr`]'s `FromStr` accepts, read in one pass.
#[cfg(test)]
fn parse_ipv4(text: &str) -> Option<Ipv4Addr> {
    ipv4_bytes(text.as_bytes())
}

/// [`parse_ipv4`] on bytes.
fn ipv4_bytes(text: &[u8]) -> Option<Ipv4Addr> {
    match read_ipv4(text) {
        Some((addr, len)) if len == text.len() => Some(addr),
        _ => None,
    }
}

/// An `ip4-network` at the start of `text`, ended by its end or a '/': the address and its
/// length in bytes. `None` for any other byte, or when the address is not valid.
fn read_ipv4(text: &[u8]) -> Option<(Ipv4Addr, usize)> {
    // Octet by octet, each shifted into a register (octets written one by one into an array
    // and read back whole made a store-forwarding stall).
    let mut addr: u32 = 0;
    let mut at = 0;
    for part in 0..4 {
        if part > 0 {
            if text.get(at) != Some(&b'.') {
                return None;
            }
            at += 1;
        }
        let (octet, len) = read_octet(text.get(at..)?)?;
        addr = addr << 8 | u32::from(octet);
        at += len;
    }
    match text.get(at) {
        None | Some(b'/') => Some((Ipv4Addr::from(addr), at)),
        _ => None,
    }
}

/// A decimal octet at the start of `text` (one to three digits, no leading zero, at most 255)
/// and its length. A digit after it is left to the caller, which refuses it (`01`, `2555`).
#[inline(always)]
fn read_octet(text: &[u8]) -> Option<(u8, usize)> {
    let digit = |i: usize| {
        text.get(i)
            .map(|&b| b.wrapping_sub(b'0'))
            .filter(|&d| d < 10)
    };
    let first = digit(0)?;
    if first == 0 {
        return Some((0, 1));
    }
    let Some(second) = digit(1) else {
        return Some((first, 1));
    };
    let Some(third) = digit(2) else {
        return Some((first * 10 + second, 2));
    };
    let value = u16::from(first) * 100 + u16::from(second) * 10 + u16::from(third);
    Some((u8::try_from(value).ok()?, 3))
}

/// An `ip6-network` (RFC 7208 §5.6, RFC 4291 §2.2): what [`Ipv6Addr`]'s `FromStr` accepts.
/// The common forms (hexadecimal groups, at most one `::`) are read in one pass; anything
/// else (an embedded IPv4 address, or an error) is left to the standard parser.
#[cfg(test)]
fn parse_ipv6(text: &str) -> Option<Ipv6Addr> {
    ipv6_bytes(text.as_bytes())
}

/// [`parse_ipv6`] on bytes.
fn ipv6_bytes(text: &[u8]) -> Option<Ipv6Addr> {
    ipv6_groups(text).or_else(|| std::str::from_utf8(text).ok()?.parse().ok())
}

/// The plain forms of an IPv6 address: eight groups of one to four hexadecimal digits, or
/// fewer around one `::` that stands for at least one zero group. `None` for anything else.
fn ipv6_groups(b: &[u8]) -> Option<Ipv6Addr> {
    read_ipv6(b)
        .filter(|&(_, len)| len == b.len())
        .map(|(addr, _)| addr)
}

/// An IPv6 address in one of the plain forms of [`ipv6_groups`] at the start of `b`, ended by
/// its end or a '/': the address and its length in bytes. The groups are shifted into two
/// registers, the ones before `::` and the ones after it (written into arrays and read back
/// whole, they made a store-forwarding stall).
fn read_ipv6(b: &[u8]) -> Option<(Ipv6Addr, usize)> {
    let at_end = |i: usize| matches!(b.get(i), None | Some(b'/'));
    let (mut head, mut tail) = (0u128, 0u128);
    let (mut n_head, mut n_tail) = (0u32, 0u32);
    let mut gap = false;
    let mut i = 0;
    if b.starts_with(b"::") {
        gap = true;
        i = 2;
        if at_end(i) {
            return Some((Ipv6Addr::UNSPECIFIED, i));
        }
    }
    loop {
        let mut value: u16 = 0;
        let mut digits = 0;
        while let Some(&c) = b.get(i) {
            let d = match c {
                b'0'..=b'9' => c - b'0',
                b'a'..=b'f' => c - b'a' + 10,
                b'A'..=b'F' => c - b'A' + 10,
                _ => break,
            };
            if digits == 4 {
                return None;
            }
            value = value << 4 | u16::from(d);
            digits += 1;
            i += 1;
        }
        if digits == 0 {
            return None;
        }
        if gap {
            tail = tail << 16 | u128::from(value);
            n_tail += 1;
        } else {
            head = head << 16 | u128::from(value);
            n_head += 1;
        }
        match b.get(i) {
            None | Some(b'/') => break,
            Some(b':') => {
                i += 1;
                if b.get(i) == Some(&b':') {
                    if gap {
                        return None;
                    }
                    gap = true;
                    i += 1;
                    if at_end(i) {
                        break;
                    }
                }
            }
            Some(_) => return None,
        }
        if n_head + n_tail >= 8 {
            return None;
        }
    }
    let fits = if gap {
        n_head + n_tail <= 7
    } else {
        n_head == 8
    };
    if !fits {
        return None;
    }
    // The groups before `::` go to the top; with none, nothing is shifted in.
    let head = head.checked_shl(16 * (8 - n_head)).unwrap_or(0);
    Some((Ipv6Addr::from(head | tail), i))
}

/// A valid `ip6-network` in a plain form with its optional prefix length (`<address>[/<len>]`,
/// RFC 7208 §5.6), read in one pass; `None` when anything is wrong or unusual (the caller then
/// reads it the long way).
fn ip6_network(net: &[u8]) -> Option<(Ipv6Addr, Option<u8>)> {
    let (addr, len) = read_ipv6(net)?;
    match net.get(len..)? {
        [] => Some((addr, None)),
        [b'/', digits @ ..] => Some((addr, non_default(prefix_len(digits, 128)?, 128))),
        _ => None,
    }
}

fn domain_spec(text: &[u8], at: usize) -> Result<DomainSpec, TermError> {
    DomainSpec::parse_in_record(text).map_err(|(e, off)| (ParseErrorKind::DomainSpec(e), at + off))
}

/// Parses a prefix length: `"0"` or a number without leading zeros, at most `max`.
fn prefix_len(digits: &[u8], max: u8) -> Option<u8> {
    let digit = |b: u8| b.is_ascii_digit().then(|| b - b'0');
    let value = match *digits {
        [a] => u16::from(digit(a)?),
        [a, b] if a != b'0' => u16::from(digit(a)?) * 10 + u16::from(digit(b)?),
        [a, b, c] if a != b'0' => {
            u16::from(digit(a)?) * 100 + u16::from(digit(b)?) * 10 + u16::from(digit(c)?)
        }
        _ => return None,
    };
    u8::try_from(value).ok().filter(|&v| v <= max)
}

/// A prefix length equal to the default is stored as `None`, so equal records compare equal.
fn non_default(len: u8, default: u8) -> Option<u8> {
    (len != default).then_some(len)
}

/// Splits `ip4`/`ip6` arguments at the first '/': the address and an optional single prefix.
fn split_prefix(net: &[u8], max: u8, at: usize) -> Result<(&[u8], Option<u8>), TermError> {
    let slash = net.iter().position(|&b| b == b'/');
    match slash.and_then(|p| Some((net.get(..p)?, net.get(p + 1..)?))) {
        None => Ok((net, None)),
        Some((addr, len)) => match prefix_len(len, max) {
            Some(v) => Ok((addr, non_default(v, max))),
            None => Err((
                ParseErrorKind::InvalidCidr(format!("/{}", ascii(len))),
                at + addr.len(),
            )),
        },
    }
}

/// Takes a trailing `dual-cidr-length` off `a`/`mx` arguments. A suffix counts as a prefix
/// length only when it is all digits after its slash(es); then it must also be valid. Anything
/// else stays part of the domain-spec (which may contain '/', RFC 7208 §7.1 macro-literal).
fn split_dual_cidr(args: &[u8], at: usize) -> Result<(&[u8], DualCidr), TermError> {
    fn trailing_digits(s: &[u8]) -> Option<(&[u8], &[u8])> {
        let pos = s.iter().rposition(|&b| b == b'/')?;
        let digits = s.get(pos + 1..)?;
        if !digits.is_empty() && digits.iter().all(u8::is_ascii_digit) {
            Some((s.get(..pos)?, digits))
        } else {
            None
        }
    }
    let bad = |rest: &[u8], digits: &[u8], slashes: &str| {
        (
            ParseErrorKind::InvalidCidr(format!("{slashes}{}", ascii(digits))),
            at + rest.len(),
        )
    };
    let mut cidr = DualCidr::default();
    let mut rest = args;
    if let Some((before, digits)) = trailing_digits(rest) {
        if let Some(before_v6) = before.strip_suffix(b"/") {
            cidr.v6 = non_default(
                prefix_len(digits, 128).ok_or_else(|| bad(before_v6, digits, "//"))?,
                128,
            );
            rest = before_v6;
            if let Some((before_v4, digits4)) = trailing_digits(rest) {
                cidr.v4 = non_default(
                    prefix_len(digits4, 32).ok_or_else(|| bad(before_v4, digits4, "/"))?,
                    32,
                );
                rest = before_v4;
            }
        } else {
            cidr.v4 = non_default(
                prefix_len(digits, 32).ok_or_else(|| bad(before, digits, "/"))?,
                32,
            );
            rest = before;
        }
    }
    Ok((rest, cidr))
}

#[cfg(test)]
#[path = "record_model.rs"]
mod model;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn canonical_text_is_what_display_writes() {
        let record = Record::parse(
            "v=spf1 include:_SPF.Example.com -include:a.example ~exists:%{i}.x.example \
             ?exists:Plain.Example +all -all ~all ?all a mx/24 ptr ip4:192.0.2.0/24 \
             ip6:2001:db8::/32 include:%{d}.example -a:%{l}.x.example//64",
        )
        .unwrap();
        for d in record.directives() {
            assert_eq!(d.canonical_text(), d.to_string());
        }
    }

    fn kind(text: &str) -> ParseErrorKind {
        Record::parse(text).unwrap_err().kind
    }

    #[test]
    fn rfc7208_4_5_version_selection() {
        assert!(is_spf_record(b"v=spf1"));
        assert!(is_spf_record(b"V=SpF1 -all"));
        assert!(!is_spf_record(b"v=spf10"));
        assert!(!is_spf_record(b"v=spf1mx"));
        assert!(!is_spf_record(b" v=spf1"));
        assert_eq!(kind("v=spf10"), ParseErrorKind::NotSpf);
        assert_eq!(Record::parse("v=spf1").unwrap(), Record::default());
        assert_eq!(Record::parse("v=spf1   ").unwrap(), Record::default());
    }

    #[test]
    fn rfc7208_12_every_mechanism_parses_and_prints_canonically() {
        let text = "v=spf1 +a -a:example.com ~a/24 ?a:example.com/24//64 a//64 mx mx:%{d2}.example.net/30 \
                    ptr ptr:example.org ip4:192.0.2.0/24 ip6:2001:DB8::/32 ip4:192.0.2.1/32 \
                    exists:%{ir}.%{l1r+-}._spf.%{d} include:_spf.example.com ALL \
                    redirect=_spf.example.com exp=explain._spf.%{d} foo.bar-baz_x=%{i}";
        let r = Record::parse(text).unwrap();
        assert_eq!(r.directives().len(), 15);
        assert!(r.has_all());
        assert_eq!(r.dns_term_count(), 11, "redirect is ignored next to all");
        let canonical = r.to_string();
        assert_eq!(
            canonical,
            "v=spf1 a -a:example.com ~a/24 ?a:example.com/24//64 a//64 mx mx:%{d2}.example.net/30 \
             ptr ptr:example.org ip4:192.0.2.0/24 ip6:2001:db8::/32 ip4:192.0.2.1 \
             exists:%{ir}.%{l1r-+}._spf.%{d} include:_spf.example.com all \
             redirect=_spf.example.com exp=explain._spf.%{d} foo.bar-baz_x=%{i}"
        );
        assert_eq!(Record::parse(&canonical).unwrap(), r);
    }

    #[test]
    fn rfc7208_5_mechanism_syntax_errors() {
        use ParseErrorKind as K;
        let cases: &[(&str, ParseErrorKind)] = &[
            ("v=spf1 -all.", K::UnknownMechanism("all.".into())),
            ("v=spf1 -all:foobar", K::UnexpectedArgument("all")),
            ("v=spf1 -all/8", K::UnexpectedArgument("all")),
            ("v=spf1 ptr/0", K::UnexpectedArgument("ptr")),
            ("v=spf1 include", K::MissingArgument("include")),
            ("v=spf1 exists", K::MissingArgument("exists")),
            ("v=spf1 ip4", K::MissingArgument("ip4")),
            ("v=spf1 ip6", K::MissingArgument("ip6")),
            ("v=spf1 include:", K::DomainSpec(DomainSpecError::Empty)),
            ("v=spf1 a:", K::DomainSpec(DomainSpecError::Empty)),
            ("v=spf1 ptr:", K::DomainSpec(DomainSpecError::Empty)),
            (
                "v=spf1 a:museum",
                K::DomainSpec(DomainSpecError::BadDomainEnd),
            ),
            (
                "v=spf1 a:foo-bar",
                K::DomainSpec(DomainSpecError::BadDomainEnd),
            ),
            (
                "v=spf1 include:ip5.example.com/24",
                K::DomainSpec(DomainSpecError::BadDomainEnd),
            ),
            (
                "v=spf1 exists:mail.example.com/24",
                K::DomainSpec(DomainSpecError::BadDomainEnd),
            ),
            (
                "v=spf1 a:example.com:8080",
                K::DomainSpec(DomainSpecError::BadDomainEnd),
            ),
            ("v=spf1 a/33", K::InvalidCidr("/33".into())),
            ("v=spf1 a//129", K::InvalidCidr("//129".into())),
            ("v=spf1 a/24/64", K::InvalidCidr("/64".into())),
            ("v=spf1 ip4:1.2.3.4/33", K::InvalidCidr("/33".into())),
            ("v=spf1 ip4:1.2.3.4/032", K::InvalidCidr("/032".into())),
            ("v=spf1 ip4:1.2.3.4//32", K::InvalidCidr("//32".into())),
            (
                "v=spf1 ip4:1.2.3.4:8080",
                K::InvalidIp4("1.2.3.4:8080".into()),
            ),
            ("v=spf1 ip4:1.2.3", K::InvalidIp4("1.2.3".into())),
            ("v=spf1 ip4:01.2.3.4", K::InvalidIp4("01.2.3.4".into())),
            ("v=spf1 ip6:::1.1.1.1/129", K::InvalidCidr("/129".into())),
            ("v=spf1 ip6:::1.1.1.1//33", K::InvalidCidr("//33".into())),
            (
                "v=spf1 ip6::CAFE::BABE",
                K::InvalidIp6(":CAFE::BABE".into()),
            ),
            (
                "v=spf1 redirect:t2.example.com",
                K::UnknownMechanism("redirect".into()),
            ),
            ("v=spf1 moo", K::UnknownMechanism("moo".into())),
            ("v=spf1 ip:10.0.0.1", K::UnknownMechanism("ip".into())),
            ("v=spf1 a:foo.example.com\0", K::InvalidCharacter('\0')),
            ("v=spf1\ta", K::NotSpf),
        ];
        for (text, want) in cases {
            assert_eq!(&kind(text), want, "{text}");
        }
    }

    #[test]
    fn rfc7208_6_modifier_syntax() {
        use ParseErrorKind as K;
        // Unknown modifiers are kept and ignored; '=' must come before ':' or '/'.
        let r = Record::parse("v=spf1 moo.cow-far_out=man:dog/cat ip4:1.2.3.4 -all").unwrap();
        assert_eq!(r.unknown_modifiers().len(), 1);
        assert_eq!(r.unknown_modifiers()[0].name, "moo.cow-far_out");
        assert_eq!(
            kind("v=spf1 moo.cow/far_out=man:dog/cat"),
            K::UnknownMechanism("moo.cow".into())
        );
        assert_eq!(
            kind("v=spf1 moo.cow:far_out=man:dog/cat"),
            K::UnknownMechanism("moo.cow".into())
        );
        assert_eq!(kind("v=spf1 1up=foo"), K::InvalidModifierName("1up".into()));
        assert_eq!(kind("v=spf1 =all"), K::InvalidModifierName(String::new()));
        assert_eq!(
            kind("v=spf1 -all foo=%abc"),
            K::Macro(MacroError::BadPercent)
        );
        assert_eq!(
            kind("v=spf1 exp= -all"),
            K::DomainSpec(DomainSpecError::Empty)
        );
        assert_eq!(
            kind("v=spf1 exp=-all"),
            K::DomainSpec(DomainSpecError::BadDomainEnd)
        );
        assert_eq!(
            kind("v=spf1 redirect=-all ?all"),
            K::DomainSpec(DomainSpecError::BadDomainEnd)
        );
        assert_eq!(
            kind("v=spf1 exp=a.example.com -all exp=b.example.com"),
            K::DuplicateModifier("exp")
        );
        assert_eq!(
            kind("v=spf1 redirect=a.example.com REDIRECT=a.example.com"),
            K::DuplicateModifier("redirect")
        );
        assert_eq!(
            kind("v=spf1 exp=%{r}.example.com"),
            K::DomainSpec(DomainSpecError::Macro(MacroError::ExplanationOnlyLetter(
                'r'
            )))
        );
        let r = Record::parse("v=spf1 default=pass default=+").unwrap();
        assert_eq!(
            r.unknown_modifiers().len(),
            2,
            "unknown modifiers may repeat"
        );
        let r = Record::parse("v=spf1 ?all redirect=t5.example.com").unwrap();
        assert!(r.has_all());
        assert_eq!(r.dns_term_count(), 0);
    }

    #[test]
    fn rfc7208_5_3_dual_cidr_and_colon_domains() {
        let r = Record::parse("v=spf1 a:foo:bar/baz.example.com mx/24//64 a//0").unwrap();
        match &r.directives()[0].mechanism {
            Mechanism::A { domain, cidr } => {
                assert_eq!(
                    domain.as_ref().unwrap().to_string(),
                    "foo:bar/baz.example.com"
                );
                assert_eq!(*cidr, DualCidr::default());
            }
            other => panic!("{other:?}"),
        }
        match &r.directives()[1].mechanism {
            Mechanism::Mx { domain: None, cidr } => {
                assert_eq!((cidr.v4_len(), cidr.v6_len()), (24, 64));
            }
            other => panic!("{other:?}"),
        }
        match &r.directives()[2].mechanism {
            Mechanism::A { cidr, .. } => assert_eq!(cidr.v6, Some(0)),
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn errors_name_the_term_and_offset() {
        let e = Record::parse("v=spf1 ip4:1.2.3.4  -all  moo -all").unwrap_err();
        assert_eq!(e.term, "moo");
        assert_eq!(e.offset, 26);
        assert_eq!(
            &"v=spf1 ip4:1.2.3.4  -all  moo -all"[e.offset..e.offset + 3],
            "moo"
        );
        let e = Record::parse("v=spf1 ip4:1.2.3.4/33").unwrap_err();
        assert_eq!(e.term, "ip4:1.2.3.4/33");
        assert_eq!(e.offset, 18, "points at the prefix length");
        let e = Record::parse("v=spf1 exists:%{x}.example.com").unwrap_err();
        assert_eq!(e.offset, 16, "points at the macro letter");
        assert!(e.to_string().contains("exists:%{x}.example.com"));
        let e = Record::parse_bytes(b"v=spf1 a:\xEF\xBB\xBFgarbage.example.net -all").unwrap_err();
        assert_eq!(e.kind, ParseErrorKind::NonAscii { byte: 0xef });
        assert_eq!(e.offset, 9);
        assert!(e.term.starts_with("a:"));
        let e = Record::parse_bytes(b"v=spf1 \x80a:example.net -all").unwrap_err();
        assert_eq!(e.offset, 7);
        let e = Record::parse("v=spf1 a:ex\u{e9}mple.com").unwrap_err();
        assert_eq!(e.kind, ParseErrorKind::NonAscii { byte: 0xc3 });
    }

    #[test]
    fn terms_print_the_same_whatever_the_format_flags() {
        let record =
            Record::parse("v=spf1 ip4:192.0.2.0/24 ip6:2001:db8::/32 a//64 mx/24 -all").unwrap();
        for d in record.directives() {
            assert_eq!(format!("{d:>40}"), d.to_string());
            assert_eq!(format!("{d:+08}"), d.to_string());
        }
    }

    #[test]
    fn rfc7208_5_6_ip4_network_reads_as_std_does() {
        let mut cases: Vec<String> = [
            "",
            ".",
            "1",
            "1.2.3",
            "1.2.3.4",
            "1.2.3.4.",
            ".1.2.3.4",
            "1..2.3",
            "1.2.3.4.5",
            "0.0.0.0",
            "255.255.255.255",
            "256.1.1.1",
            "1.1.1.256",
            "01.1.1.1",
            "1.1.1.01",
            "1.1.1.00",
            "00.0.0.0",
            "1000.1.1.1",
            "1.1.1.1000",
            "0001.1.1.1",
            "1.2.3.-4",
            "1.2.3.+4",
            "1.2.3.4a",
            "a.b.c.d",
            "1.2.3.4/24",
            "1.2.3.4:80",
            " 1.2.3.4",
            "999.1.1.1",
            "1.2.3.999999999999",
            "1.2.3.4.5",
            "1.2.3",
            "1..2.3",
            "1.2.3.",
            ".1.2.3",
            "1.2.3.4/",
            "1.2.3.4.",
            "25.255.2550.1",
            "0.00.0.0",
            "",
        ]
        .iter()
        .map(|s| (*s).to_owned())
        .collect();
        for v in 0..1200 {
            cases.push(format!("10.{v}.0.1"));
            cases.push(format!("10.0.0.{v:03}"));
            cases.push(format!("{v}.0.0.{v}"));
        }
        for text in &cases {
            assert_eq!(parse_ipv4(text), text.parse::<Ipv4Addr>().ok(), "{text:?}");
        }
    }

    #[test]
    fn rfc7208_5_6_ip6_network_reads_as_std_does() {
        let mut cases: Vec<String> = [
            "",
            ":",
            "::",
            ":::",
            "::1",
            "1::",
            "1::2",
            "1:2:3:4:5:6:7:8",
            "1:2:3:4:5:6:7:8:9",
            "1:2:3:4:5:6:7",
            "1:2:3:4:5:6:7::",
            "::2:3:4:5:6:7:8",
            "1:2:3:4:5:6:7::8",
            "1::2::3",
            "1:::2",
            ":1::",
            "1:2:",
            ":1:2:3:4:5:6:7:8",
            "12345::",
            "FFFF::ffff",
            "2001:DB8::/32",
            "2001:db8::1.2.3.4",
            "::ffff:192.0.2.1",
            "::1.2.3.4",
            "g::",
            "2001:0db8:0000:0000:0000:0000:0000:0001",
            "2001:db8:0:0:0:0:0:1:",
            "1::2:",
            " ::1",
            "::1 ",
            "0:0:0:0:0:0:0:0",
            "::0:0:0:0:0:0:0",
            "0:0:0:0:0:0:0::",
        ]
        .iter()
        .map(|s| (*s).to_owned())
        .collect();
        // Random group lists (a fixed LCG: repeatable): 1 to 9 groups of 0 to 5 hexadecimal
        // digits, mostly joined by ':', sometimes by "::", '.' or nothing.
        let hex = b"0123456789abcdefABCDEF";
        let mut seed: u64 = 0x5eed;
        let mut next = |n: u64| {
            seed = seed.wrapping_mul(6_364_136_223_846_793_005).wrapping_add(1);
            (seed >> 33) % n
        };
        for _ in 0..20_000 {
            let mut text = String::new();
            if next(6) == 0 {
                text.push_str("::");
            }
            let groups = next(9) + 1;
            for g in 0..groups {
                if g > 0 {
                    text.push_str(match next(12) {
                        0 => "::",
                        1 => ".",
                        2 => "",
                        _ => ":",
                    });
                }
                for _ in 0..next(6) {
                    text.push(hex[next(22) as usize] as char);
                }
            }
            if next(8) == 0 {
                text.push_str("::");
            }
            cases.push(text);
        }
        let mut valid = 0;
        for text in &cases {
            let std = text.parse::<Ipv6Addr>().ok();
            valid += usize::from(std.is_some());
            assert_eq!(parse_ipv6(text), std, "{text:?}");
            if let Some(fast) = ipv6_groups(text.as_bytes()) {
                assert_eq!(Some(fast), std, "{text:?}");
            }
            // The one-pass network reader accepts only what the long way (split at the first
            // '/', then address and prefix length) accepts, with the same result.
            for suffix in ["", "/0", "/64", "/128", "/129", "/064", "/", "/6/4", "//64"] {
                let net = format!("{text}{suffix}");
                if let Some(fast) = ip6_network(net.as_bytes()) {
                    let long = split_prefix(net.as_bytes(), 128, 0)
                        .ok()
                        .and_then(|(addr, prefix)| Some((ipv6_bytes(addr)?, prefix)));
                    assert_eq!(Some(fast), long, "{net:?}");
                }
            }
        }
        assert!(valid > 1000, "the cases include valid addresses ({valid})");
    }

    #[test]
    fn record_term_end_stops_at_spaces_and_bad_bytes() {
        let bytes = [b' ', 0x1f, 0x7f, 0x80, 0xff, b'~', b'!', b'a', 0x20, 0x21];
        for len in 1..40 {
            for pos in 0..len {
                for byte in bytes {
                    let mut text = vec![b'a'; len];
                    text[len - 1 - pos] = b' ';
                    text[pos] = byte;
                    for start in 0..=len {
                        let stop = text[start..]
                            .iter()
                            .position(|&b| !(0x21..=0x7e).contains(&b))
                            .map_or(Some(len), |p| {
                                (text[start + p] == b' ').then_some(start + p)
                            });
                        assert_eq!(term_end(&text, start), stop, "{text:?} from {start}");
                    }
                    let (printable, _) = model::scan(&text);
                    assert_eq!(
                        printable,
                        text.iter().all(|&b| (0x20..0x7f).contains(&b)),
                        "{text:?}"
                    );
                }
            }
        }
    }

    /// The single-pass term reader against the parser it replaced (`record_model.rs`): the
    /// same record, or the same error (kind, offset, term), on generated records made of
    /// mechanism and modifier pieces, network and domain fragments, macros, stray spaces,
    /// control characters and non-ASCII bytes.
    #[test]
    fn parser_agrees_with_the_model_on_generated_records() {
        const PIECES: &[&str] = &[
            "a",
            "mx",
            "ptr",
            "all",
            "include",
            "exists",
            "ip4",
            "ip6",
            "A",
            "MX",
            "Ip4",
            "iP6",
            "INCLUDE",
            "eXists",
            "ALL",
            "redirect",
            "exp",
            "REDIRECT",
            "foo",
            "x-y_z.w",
            "1up",
            "ip",
            "alll",
            "+",
            "-",
            "~",
            "?",
            ":",
            ":",
            ":",
            "/",
            "//",
            "=",
            "=",
            "0",
            "24",
            "32",
            "33",
            "/24",
            "//64",
            "/032",
            "/128",
            "//129",
            "192.0.2.1",
            "1.2.3",
            "01.2.3.4",
            "255.255.255.255",
            "256.1.1.1",
            "2001:db8::",
            "::1",
            "::ffff:1.2.3.4",
            ":CAFE::",
            "example.com",
            "_spf.example.net",
            "spf.protection.outlook.com",
            "a.twenty-two-bytes.com",
            "a.twenty-three-bytes.com",
            ".",
            "..",
            "-",
            "com",
            "123",
            "ex-",
            "xn--p1ai",
            "%{d}",
            "%{i}",
            "%{ir}.%{v}",
            "%{d2}",
            "%{c}",
            "%{x}",
            "%%",
            "%_",
            "%-",
            "%",
            "%{",
            "}",
            " ",
            " ",
            " ",
            "  ",
            "\t",
            "\0",
            "\u{7f}",
            "é",
            "!",
            "@",
            "[",
        ];
        let mut seed: u64 = 0x5bf1;
        let mut next = |n: u64| {
            seed = seed.wrapping_mul(6_364_136_223_846_793_005).wrapping_add(1);
            (seed >> 33) % n
        };
        let mut accepted = 0;
        for case in 0..60_000 {
            let mut text = match next(20) {
                0 => String::new(),
                1 => "v=spf10".to_owned(),
                2 => "V=SPF1".to_owned(),
                _ => "v=spf1 ".to_owned(),
            };
            for _ in 0..next(24) {
                text.push_str(PIECES[next(PIECES.len() as u64) as usize]);
                if next(3) == 0 {
                    text.push(' ');
                }
            }
            let mut bytes = text.into_bytes();
            if case % 50 == 0 && !bytes.is_empty() {
                let at = next(bytes.len() as u64) as usize;
                bytes[at] = 0x80 | next(128) as u8; // not UTF-8 any more
            }
            let new = Record::parse_bytes(&bytes);
            assert_eq!(new, model::parse_bytes(&bytes), "{bytes:?}");
            accepted += usize::from(new.is_ok());
            if let Ok(text) = std::str::from_utf8(&bytes) {
                assert_eq!(Record::parse(text), model::parse(text), "{text:?}");
            }
        }
        assert!(
            accepted > 2000,
            "the cases include valid records ({accepted})"
        );
    }

    #[test]
    fn large_records_parse_in_linear_time() {
        let mut text = String::from("v=spf1");
        for i in 0..10_000u32 {
            text.push_str(&format!(" ip4:10.{}.{}.0/24", i / 256, i % 256));
        }
        let r = Record::parse(&text).unwrap();
        assert_eq!(r.directives().len(), 10_000);
    }
}
