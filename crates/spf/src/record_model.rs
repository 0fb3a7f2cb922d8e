//! The record parser as it was before the single-pass term reader (test-only model): the
//! property tests of `record.rs` check that the parser gives the same records and the same
//! errors (kind, offset, term) as this one on generated input.

use super::*;

/// One pass over a record's bytes: whether every byte is visible ASCII or a space (0x20 to
/// 0x7e), and how many spaces there are. No early exit, so the loop is vectorised; the exact
/// error, if any, is looked for only when this says there is one.
pub(super) fn scan(bytes: &[u8]) -> (bool, usize) {
    // Eight bytes at a time (SWAR). No carry crosses a byte in these sums: every byte is
    // masked to 7 bits first.
    const LOW: u64 = 0x7f7f_7f7f_7f7f_7f7f;
    const HIGH: u64 = 0x8080_8080_8080_8080;
    const ONES: u64 = 0x0101_0101_0101_0101;
    let mut bad = 0u64;
    let mut spaces = 0usize;
    let mut words = bytes.chunks_exact(8);
    for word in &mut words {
        let mut w = [0u8; 8];
        w.copy_from_slice(word);
        let v = u64::from_le_bytes(w);
        let low = v & LOW;
        // High bit set: not ASCII. Below 0x20: adding 0x60 leaves the high bit clear. 0x7f:
        // adding 1 sets it.
        bad |= (v | !(low + 0x60 * ONES) | (low + ONES)) & HIGH;
        // A space is a zero byte of `v ^ 0x2020...`: exactly those bytes get their high bit.
        let x = v ^ (0x20 * ONES);
        let zero = !(((x & LOW) + LOW) | x | LOW);
        spaces += zero.count_ones() as usize;
    }
    for &b in words.remainder() {
        spaces += usize::from(b == b' ');
        bad |= u64::from(b.wrapping_sub(0x20) >= 0x5f);
    }
    (bad == 0, spaces)
}

/// `Record::parse_bytes` as it was.
pub(super) fn parse_bytes(bytes: &[u8]) -> Result<Record, ParseError> {
    let (printable, spaces) = scan(bytes);
    if printable && let Ok(text) = std::str::from_utf8(bytes) {
        return parse_printable(text, spaces);
    }
    if let Some(offset) = bytes.iter().position(|b| !b.is_ascii()) {
        let term = term_around(bytes, offset);
        return Err(ParseError {
            kind: ParseErrorKind::NonAscii {
                byte: bytes.get(offset).copied().unwrap_or(0),
            },
            offset,
            term,
        });
    }
    match std::str::from_utf8(bytes) {
        Ok(text) => parse(text),
        Err(e) => Err(ParseError {
            kind: ParseErrorKind::NonAscii { byte: 0 },
            offset: e.valid_up_to(),
            term: String::new(),
        }),
    }
}

pub(super) fn parse(text: &str) -> Result<Record, ParseError> {
    let (printable, spaces) = scan(text.as_bytes());
    if printable {
        return parse_printable(text, spaces);
    }
    if !is_spf_record(text.as_bytes()) {
        return Err(not_spf(text));
    }
    let bytes = text.as_bytes();
    // Every byte of a record is visible ASCII or a space (RFC 7208 §12: terms are separated by
    // SP; macro-literals are %x21-7E).
    if let Some((at, &b)) = bytes
        .iter()
        .enumerate()
        .find(|&(_, &b)| !b.is_ascii() || b.is_ascii_control())
    {
        let kind = if b.is_ascii() {
            ParseErrorKind::InvalidCharacter(b as char)
        } else {
            ParseErrorKind::NonAscii { byte: b }
        };
        return Err(ParseError {
            kind,
            offset: at,
            term: term_around(bytes, at),
        });
    }
    parse_printable(text, spaces)
}

fn not_spf(text: &str) -> ParseError {
    ParseError {
        kind: ParseErrorKind::NotSpf,
        offset: 0,
        term: text.split(' ').next().unwrap_or("").to_owned(),
    }
}

/// Parses a record whose bytes are all visible ASCII or spaces; `spaces` of them are spaces
/// (at most that many terms).
fn parse_printable(text: &str, spaces: usize) -> Result<Record, ParseError> {
    if !is_spf_record(text.as_bytes()) {
        return Err(not_spf(text));
    }
    let bytes = text.as_bytes();
    let mut record = Record {
        directives: Vec::with_capacity(spaces),
        ..Record::default()
    };
    let mut start = VERSION.len();
    while start < bytes.len() {
        let end = bytes
            .get(start..)
            .and_then(|rest| rest.iter().position(|&b| b == b' '))
            .map_or(bytes.len(), |p| start + p);
        if end > start {
            let raw = text.get(start..end).unwrap_or("");
            parse_term(raw, &mut record).map_err(|(kind, at)| ParseError {
                kind,
                offset: start + at,
                term: raw.to_owned(),
            })?;
        }
        start = end + 1;
    }
    Ok(record)
}

type TermError = (ParseErrorKind, usize);

fn parse_term(term: &str, record: &mut Record) -> Result<(), TermError> {
    // RFC 7208 §4.6.1: a modifier has '=' right after its name, before any ':' or '/'.
    let name_end = term
        .bytes()
        .position(|b| matches!(b, b'=' | b':' | b'/'))
        .unwrap_or(term.len());
    if term.as_bytes().get(name_end) == Some(&b'=') {
        return parse_modifier(term, name_end, record);
    }
    let first = term.bytes().next().unwrap_or(b' ');
    let (qualifier, body, q_len) = match Qualifier::from_symbol(first) {
        Some(q) => (q, term.get(1..).unwrap_or(""), 1),
        None => (Qualifier::Pass, term, 0),
    };
    let mechanism = parse_mechanism(body).map_err(|(k, at)| (k, at + q_len))?;
    record.has_all |= matches!(mechanism, Mechanism::All);
    record.directives.push(Directive {
        qualifier,
        mechanism,
    });
    Ok(())
}

fn parse_modifier(term: &str, eq: usize, record: &mut Record) -> Result<(), TermError> {
    let name = term.get(..eq).unwrap_or("");
    let value = term.get(eq + 1..).unwrap_or("");
    let value_at = eq + 1;
    if name.eq_ignore_ascii_case("redirect") || name.eq_ignore_ascii_case("exp") {
        let is_redirect = name.eq_ignore_ascii_case("redirect");
        let slot = if is_redirect {
            &mut record.redirect
        } else {
            &mut record.explanation
        };
        if slot.is_some() {
            let which = if is_redirect { "redirect" } else { "exp" };
            return Err((ParseErrorKind::DuplicateModifier(which), 0));
        }
        let spec = DomainSpec::parse_at(value)
            .map_err(|(e, at)| (ParseErrorKind::DomainSpec(e), value_at + at))?;
        *slot = Some(spec);
        return Ok(());
    }
    let mut chars = name.bytes();
    let valid_name = chars.next().is_some_and(|c| c.is_ascii_alphabetic())
        && chars.all(|c| c.is_ascii_alphanumeric() || matches!(c, b'-' | b'_' | b'.'));
    if !valid_name {
        return Err((ParseErrorKind::InvalidModifierName(name.to_owned()), 0));
    }
    let value_ms = MacroString::parse_in(value, MacroContext::Modifier)
        .map_err(|(e, at)| (ParseErrorKind::Macro(e), value_at + at))?;
    record.unknown.push(UnknownModifier {
        name: name.to_owned(),
        value: value_ms,
    });
    Ok(())
}

/// Splits the mechanism name from its arguments (at the first ':' or '/').
fn split_name(body: &str) -> (&str, &str) {
    let end = body
        .bytes()
        .position(|b| matches!(b, b':' | b'/'))
        .unwrap_or(body.len());
    (body.get(..end).unwrap_or(""), body.get(end..).unwrap_or(""))
}

fn parse_mechanism(body: &str) -> Result<Mechanism, TermError> {
    let (name, args) = split_name(body);
    let args_at = name.len();
    // Mechanism names are case-insensitive (RFC 7208 §4.6.1); none is longer than 7 octets.
    let mut buf = [0u8; 7];
    let lower = match buf.get_mut(..name.len()) {
        Some(dst) => {
            dst.copy_from_slice(name.as_bytes());
            dst.make_ascii_lowercase();
            std::str::from_utf8(dst).unwrap_or("")
        }
        None => "",
    };
    match lower {
        "all" => {
            if args.is_empty() {
                Ok(Mechanism::All)
            } else {
                Err((ParseErrorKind::UnexpectedArgument("all"), args_at))
            }
        }
        "include" | "exists" => {
            let which = if lower == "include" {
                "include"
            } else {
                "exists"
            };
            let Some(spec) = args.strip_prefix(':') else {
                return Err((ParseErrorKind::MissingArgument(which), args_at));
            };
            let d = domain_spec(spec, args_at + 1)?;
            Ok(if which == "include" {
                Mechanism::Include(d)
            } else {
                Mechanism::Exists(d)
            })
        }
        "a" | "mx" => {
            let (rest, cidr) = split_dual_cidr(args, args_at)?;
            let domain = match rest.strip_prefix(':') {
                Some(spec) => Some(domain_spec(spec, args_at + 1)?),
                None if rest.is_empty() => None,
                None => {
                    let which = if lower == "a" { "a" } else { "mx" };
                    return Err((ParseErrorKind::UnexpectedArgument(which), args_at));
                }
            };
            Ok(if lower == "a" {
                Mechanism::A { domain, cidr }
            } else {
                Mechanism::Mx { domain, cidr }
            })
        }
        "ptr" => match args.strip_prefix(':') {
            Some(spec) => Ok(Mechanism::Ptr(Some(domain_spec(spec, args_at + 1)?))),
            None if args.is_empty() => Ok(Mechanism::Ptr(None)),
            None => Err((ParseErrorKind::UnexpectedArgument("ptr"), args_at)),
        },
        "ip4" => {
            let Some(net) = args.strip_prefix(':') else {
                return Err((ParseErrorKind::MissingArgument("ip4"), args_at));
            };
            let (addr_text, prefix) = split_prefix(net, 32, args_at + 1)?;
            let addr = parse_ipv4(addr_text).ok_or_else(|| {
                (
                    ParseErrorKind::InvalidIp4(addr_text.to_owned()),
                    args_at + 1,
                )
            })?;
            Ok(Mechanism::Ip4 { addr, prefix })
        }
        "ip6" => {
            let Some(net) = args.strip_prefix(':') else {
                return Err((ParseErrorKind::MissingArgument("ip6"), args_at));
            };
            let (addr_text, prefix) = split_prefix(net, 128, args_at + 1)?;
            let addr = parse_ipv6(addr_text).ok_or_else(|| {
                (
                    ParseErrorKind::InvalidIp6(addr_text.to_owned()),
                    args_at + 1,
                )
            })?;
            Ok(Mechanism::Ip6 { addr, prefix })
        }
        _ => Err((ParseErrorKind::UnknownMechanism(name.to_owned()), 0)),
    }
}

fn domain_spec(text: &str, at: usize) -> Result<DomainSpec, TermError> {
    DomainSpec::parse_at(text).map_err(|(e, off)| (ParseErrorKind::DomainSpec(e), at + off))
}

/// Parses a prefix length: `"0"` or a number without leading zeros, at most `max`.
fn parse_len(digits: &str, max: u8) -> Option<u8> {
    let ok_form = !digits.is_empty()
        && digits.len() <= 3
        && digits.bytes().all(|b| b.is_ascii_digit())
        && (digits == "0" || !digits.starts_with('0'));
    if !ok_form {
        return None;
    }
    digits.parse::<u8>().ok().filter(|&v| v <= max)
}

/// Splits `ip4`/`ip6` arguments at the first '/': the address and an optional single prefix.
fn split_prefix(net: &str, max: u8, at: usize) -> Result<(&str, Option<u8>), TermError> {
    let slash = net.bytes().position(|b| b == b'/');
    match slash.and_then(|p| Some((net.get(..p)?, net.get(p + 1..)?))) {
        None => Ok((net, None)),
        Some((addr, len)) => match parse_len(len, max) {
            Some(v) => Ok((addr, non_default(v, max))),
            None => Err((
                ParseErrorKind::InvalidCidr(format!("/{len}")),
                at + addr.len(),
            )),
        },
    }
}

/// Takes a trailing `dual-cidr-length` off `a`/`mx` arguments. A suffix counts as a prefix
/// length only when it is all digits after its slash(es); then it must also be valid. Anything
/// else stays part of the domain-spec (which may contain '/', RFC 7208 §7.1 macro-literal).
fn split_dual_cidr(args: &str, at: usize) -> Result<(&str, DualCidr), TermError> {
    fn trailing_digits(s: &str) -> Option<(&str, &str)> {
        let pos = s.bytes().rposition(|b| b == b'/')?;
        let digits = s.get(pos + 1..)?;
        if !digits.is_empty() && digits.bytes().all(|b| b.is_ascii_digit()) {
            Some((s.get(..pos)?, digits))
        } else {
            None
        }
    }
    let bad = |rest: &str, digits: &str, slashes: &str| {
        (
            ParseErrorKind::InvalidCidr(format!("{slashes}{digits}")),
            at + rest.len(),
        )
    };
    let mut cidr = DualCidr::default();
    let mut rest = args;
    if let Some((before, digits)) = trailing_digits(rest) {
        if let Some(before_v6) = before.strip_suffix('/') {
            cidr.v6 = non_default(
                parse_len(digits, 128).ok_or_else(|| bad(before_v6, digits, "//"))?,
                128,
            );
            rest = before_v6;
            if let Some((before_v4, digits4)) = trailing_digits(rest) {
                cidr.v4 = non_default(
                    parse_len(digits4, 32).ok_or_else(|| bad(before_v4, digits4, "/"))?,
                    32,
                );
                rest = before_v4;
            }
        } else {
            cidr.v4 = non_default(
                parse_len(digits, 32).ok_or_else(|| bad(before, digits, "/"))?,
                32,
            );
            rest = before;
        }
    }
    Ok((rest, cidr))
}
