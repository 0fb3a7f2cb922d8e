//! Macro-strings and domain-specs (RFC 7208 §7, §4.8), their parsing and their expansion.

use mailstamp_dns::{MAX_NAME_LEN, Name};
use std::fmt::{self, Write as _};
use std::net::IpAddr;
use std::sync::OnceLock;

/// Longest expansion of one domain-spec, in octets, before the §7.3 truncation to 253 octets.
///
/// RFC 7208 sets no limit, but a name this long can never be looked up; stopping here bounds
/// the work a hostile record plus a long sender can cause. An expansion that reaches it is an
/// invalid target name (treated as non-existent, RFC 7208 §4.3 by analogy).
pub const MAX_EXPANSION_LEN: usize = 64 * 1024;

/// Longest explanation string kept, in octets (RFC 7208 §6.2: implementations "MAY limit the
/// length of the resulting explanation string"). Longer expansions are cut at this length.
pub const MAX_EXPLANATION_LEN: usize = 1024;

/// A macro letter (RFC 7208 §7.2, §7.3).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum MacroLetter {
    /// `s`: the `<sender>`.
    Sender,
    /// `l`: the local-part of `<sender>`.
    LocalPart,
    /// `o`: the domain of `<sender>`.
    SenderDomain,
    /// `d`: the `<domain>` of the current `check_host()` evaluation.
    Domain,
    /// `i`: `<ip>`, dotted quad for IPv4, dot-separated nibbles for IPv6 (RFC 7208 §7.3).
    Ip,
    /// `p`: the validated domain name of `<ip>` (RFC 7208 §7.3 says it SHOULD NOT be used).
    ValidatedDomain,
    /// `v`: `in-addr` for IPv4, `ip6` for IPv6.
    IpVersion,
    /// `h`: the HELO/EHLO domain.
    Helo,
    /// `c`: the SMTP client IP in its readable form (explanations only).
    ClientIp,
    /// `r`: the domain name of the host performing the check (explanations only).
    Receiver,
    /// `t`: the current timestamp in Unix seconds (explanations only).
    Timestamp,
}

impl MacroLetter {
    /// The letter for a character, ignoring case.
    pub fn from_char(c: u8) -> Option<MacroLetter> {
        Some(match c.to_ascii_lowercase() {
            b's' => MacroLetter::Sender,
            b'l' => MacroLetter::LocalPart,
            b'o' => MacroLetter::SenderDomain,
            b'd' => MacroLetter::Domain,
            b'i' => MacroLetter::Ip,
            b'p' => MacroLetter::ValidatedDomain,
            b'v' => MacroLetter::IpVersion,
            b'h' => MacroLetter::Helo,
            b'c' => MacroLetter::ClientIp,
            b'r' => MacroLetter::Receiver,
            b't' => MacroLetter::Timestamp,
            _ => return None,
        })
    }

    /// The lower-case letter.
    pub fn as_char(self) -> char {
        match self {
            MacroLetter::Sender => 's',
            MacroLetter::LocalPart => 'l',
            MacroLetter::SenderDomain => 'o',
            MacroLetter::Domain => 'd',
            MacroLetter::Ip => 'i',
            MacroLetter::ValidatedDomain => 'p',
            MacroLetter::IpVersion => 'v',
            MacroLetter::Helo => 'h',
            MacroLetter::ClientIp => 'c',
            MacroLetter::Receiver => 'r',
            MacroLetter::Timestamp => 't',
        }
    }

    /// True for `c`, `r` and `t`, which are allowed only in explanation strings (RFC 7208
    /// §7.2).
    pub fn is_explanation_only(self) -> bool {
        matches!(
            self,
            MacroLetter::ClientIp | MacroLetter::Receiver | MacroLetter::Timestamp
        )
    }
}

/// The delimiters of RFC 7208 §7.1: `.` `-` `+` `,` `/` `_` `=`.
const DELIMITERS: &[u8; 7] = b".-+,/_=";

/// A set of delimiters (RFC 7208 §7.3); empty means the default, `.`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct Delimiters(u8);

impl Delimiters {
    fn bit(c: u8) -> Option<u8> {
        DELIMITERS.iter().position(|&d| d == c).map(|p| 1 << p)
    }

    /// True when `c` splits parts: a listed delimiter, or `.` when none is listed.
    pub fn contains(self, c: u8) -> bool {
        if self.0 == 0 {
            return c == b'.';
        }
        Self::bit(c).is_some_and(|b| self.0 & b != 0)
    }

    /// True when no delimiter was given (so values split on `.`).
    pub fn is_default(self) -> bool {
        self.0 == 0 || self.0 == 1
    }

    fn chars(self) -> impl Iterator<Item = char> {
        DELIMITERS
            .iter()
            .enumerate()
            .filter(move |(i, _)| self.0 & (1 << i) != 0)
            .map(|(_, &c)| c as char)
    }
}

/// A `%{...}` macro-expand (RFC 7208 §7.1).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct MacroExpand {
    /// Which value is expanded.
    pub letter: MacroLetter,
    /// Written in upper case: the expansion is URL-escaped (RFC 7208 §7.3).
    pub url_escape: bool,
    /// Number of right-hand parts kept (the DIGIT transformer; never zero).
    pub keep: Option<u32>,
    /// The `r` transformer: parts are reversed before `keep` applies.
    pub reverse: bool,
    /// The delimiters splitting the value into parts.
    pub delimiters: Delimiters,
}

impl MacroExpand {
    fn is_identity_transform(&self) -> bool {
        self.keep.is_none() && !self.reverse && self.delimiters.is_default()
    }
}

impl fmt::Display for MacroExpand {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let c = self.letter.as_char();
        f.write_str("%{")?;
        f.write_char(if self.url_escape {
            c.to_ascii_uppercase()
        } else {
            c
        })?;
        if let Some(n) = self.keep {
            write!(f, "{n}")?;
        }
        if self.reverse {
            f.write_char('r')?;
        }
        for d in self.delimiters.chars() {
            f.write_char(d)?;
        }
        f.write_char('}')
    }
}

/// The text of a literal piece of a macro-string. Up to [`Literal::INLINE`] bytes are kept
/// inline, without an allocation of their own: most domain-specs of SPF records are short
/// names (`_spf.example.net`), and a record's parse then allocates only its list of directives.
/// Longer texts are kept on the heap. Reads as a `str` (`Deref`, [`Literal::as_str`]).
#[derive(Clone)]
pub struct Literal(LiteralRepr);

#[derive(Clone)]
enum LiteralRepr {
    Inline {
        len: u8,
        bytes: [u8; Literal::INLINE],
    },
    Heap(Box<str>),
}

impl Literal {
    /// The longest text kept inline, in bytes (with its length and the tag of the two forms,
    /// a `Literal` takes 24 bytes, as a `String` does).
    pub const INLINE: usize = 22;

    /// The text's length in bytes, without reading the text again.
    pub fn len(&self) -> usize {
        match &self.0 {
            LiteralRepr::Inline { len, .. } => usize::from(*len),
            LiteralRepr::Heap(text) => text.len(),
        }
    }

    /// True for the empty text.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The text.
    pub fn as_str(&self) -> &str {
        match &self.0 {
            // Always valid: the bytes were copied whole from a `str` or are ASCII.
            LiteralRepr::Inline { len, bytes } => {
                std::str::from_utf8(bytes.get(..usize::from(*len)).unwrap_or(&[])).unwrap_or("")
            }
            LiteralRepr::Heap(text) => text,
        }
    }

    /// A literal of ASCII bytes (the caller has checked them; `None` if they are not UTF-8).
    fn from_ascii(bytes: &[u8]) -> Option<Literal> {
        debug_assert!(bytes.is_ascii());
        Literal::inline(bytes).or_else(|| {
            let text = std::str::from_utf8(bytes).ok()?;
            Some(Literal(LiteralRepr::Heap(text.into())))
        })
    }

    /// The bytes of a `str` (or ASCII bytes) kept inline, if there are at most
    /// [`Literal::INLINE`] of them.
    fn inline(src: &[u8]) -> Option<Literal> {
        let len = src.len();
        let mut bytes = [0u8; Literal::INLINE];
        // Two overlapping copies of a fixed size (no call to `memcpy` for a few bytes).
        let copied = match len {
            0 => Some(()),
            1..4 => {
                for (d, &s) in bytes.iter_mut().zip(src) {
                    *d = s;
                }
                Some(())
            }
            4..8 => copy_ends::<4>(&mut bytes, src),
            8..16 => copy_ends::<8>(&mut bytes, src),
            16..=Literal::INLINE => copy_ends::<16>(&mut bytes, src),
            _ => None,
        };
        match (copied, u8::try_from(len)) {
            (Some(()), Ok(len)) => Some(Literal(LiteralRepr::Inline { len, bytes })),
            _ => None,
        }
    }
}

impl From<&str> for Literal {
    fn from(text: &str) -> Literal {
        Literal::inline(text.as_bytes()).unwrap_or_else(|| Literal(LiteralRepr::Heap(text.into())))
    }
}

/// Copies `src` (`N` to `2 * N` bytes) to the start of `dst` as its first and last `N` bytes.
fn copy_ends<const N: usize>(dst: &mut [u8], src: &[u8]) -> Option<()> {
    let len = src.len();
    let tail = len.checked_sub(N)?;
    let head: [u8; N] = src.get(..N)?.try_into().ok()?;
    let end: [u8; N] = src.get(tail..)?.try_into().ok()?;
    dst.get_mut(..N)?.copy_from_slice(&head);
    dst.get_mut(tail..len)?.copy_from_slice(&end);
    Some(())
}

impl From<String> for Literal {
    fn from(text: String) -> Literal {
        if text.len() <= Literal::INLINE {
            Literal::from(text.as_str())
        } else {
            Literal(LiteralRepr::Heap(text.into_boxed_str()))
        }
    }
}

impl std::ops::Deref for Literal {
    type Target = str;
    fn deref(&self) -> &str {
        self.as_str()
    }
}

impl AsRef<str> for Literal {
    fn as_ref(&self) -> &str {
        self.as_str()
    }
}

impl PartialEq for Literal {
    fn eq(&self, other: &Literal) -> bool {
        self.as_str() == other.as_str()
    }
}

impl Eq for Literal {}

impl PartialEq<str> for Literal {
    fn eq(&self, other: &str) -> bool {
        self.as_str() == other
    }
}

impl PartialEq<&str> for Literal {
    fn eq(&self, other: &&str) -> bool {
        self.as_str() == *other
    }
}

impl std::hash::Hash for Literal {
    fn hash<H: std::hash::Hasher>(&self, state: &mut H) {
        self.as_str().hash(state);
    }
}

impl fmt::Debug for Literal {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(self.as_str(), f)
    }
}

impl fmt::Display for Literal {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// One piece of a macro-string.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum MacroItem {
    /// Literal text (visible ASCII other than `%`; in explanations also spaces).
    Literal(Literal),
    /// A `%{...}` expansion.
    Expand(MacroExpand),
    /// `%%`: a percent sign.
    Percent,
    /// `%_`: a space.
    Space,
    /// `%-`: the URL-encoded space `%20`.
    UrlSpace,
}

/// A parsed macro-string or explain-string (RFC 7208 §7.1).
#[derive(Debug, Clone, Default)]
pub struct MacroString {
    items: Items,
}

/// The pieces of a macro-string. Most macro-strings are one literal (a plain domain name):
/// that piece is kept inline, without a vector of its own.
#[derive(Debug, Clone)]
enum Items {
    One(MacroItem),
    Many(Vec<MacroItem>),
}

impl Default for Items {
    fn default() -> Items {
        Items::Many(Vec::new())
    }
}

impl PartialEq for MacroString {
    fn eq(&self, other: &MacroString) -> bool {
        self.items() == other.items()
    }
}

impl Eq for MacroString {}

impl std::hash::Hash for MacroString {
    fn hash<H: std::hash::Hasher>(&self, state: &mut H) {
        self.items().hash(state);
    }
}

/// Where a macro-string appears, which decides what it may contain.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum MacroContext {
    /// A domain-spec: no `c`, `r`, `t`, no spaces.
    DomainSpec,
    /// The value of an unknown modifier: any letter, no spaces.
    Modifier,
    /// An explanation string fetched by `exp=`: any letter, spaces allowed.
    Explanation,
}

/// Why a macro-string is invalid (RFC 7208 §7.1).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum MacroError {
    /// A `%` not followed by `{`, `%`, `_` or `-` (RFC 7208 §7.1).
    #[error("'%' must be followed by '{{', '%', '_' or '-'")]
    BadPercent,
    /// A `%{` without its closing `}`.
    #[error("unterminated macro (missing '}}')")]
    Unterminated,
    /// An unknown macro letter.
    #[error("unknown macro letter {0:?}")]
    UnknownLetter(char),
    /// `c`, `r` or `t` outside an explanation string (RFC 7208 §7.2).
    #[error("macro letter {0:?} is allowed only in explanation strings")]
    ExplanationOnlyLetter(char),
    /// A DIGIT transformer of zero (RFC 7208 §7.3: "the value MUST be nonzero").
    #[error("the number of parts to keep must be nonzero")]
    ZeroParts,
    /// A character that is neither a transformer nor a delimiter inside `%{...}`.
    #[error("invalid character {0:?} in macro transformers or delimiters")]
    BadTransformer(char),
    /// A byte that may not appear in a macro-string (a control character, a space outside an
    /// explanation, or non-ASCII).
    #[error("invalid character {0:?}")]
    BadCharacter(char),
}

/// A macro error and the byte offset (within the parsed text) where it was found.
pub(crate) type MacroParseError = (MacroError, usize);

impl MacroString {
    /// Parses an explanation string (RFC 7208 §6.2 `explain-string`): every macro letter is
    /// allowed, and so are spaces.
    pub fn parse_explanation(text: &str) -> Result<MacroString, MacroError> {
        MacroString::parse_in(text, MacroContext::Explanation).map_err(|(e, _)| e)
    }

    pub(crate) fn parse_in(
        text: &str,
        context: MacroContext,
    ) -> Result<MacroString, MacroParseError> {
        let bytes = text.as_bytes();
        let allowed =
            |b: u8| matches!(b, 0x21..=0x7e) || (b == b' ' && context == MacroContext::Explanation);
        // Most macro-strings are plain names: one literal, copied once.
        if !bytes.is_empty() && bytes.iter().all(|&b| b != b'%' && allowed(b)) {
            return Ok(MacroString {
                items: Items::One(MacroItem::Literal(Literal::from(text))),
            });
        }
        let mut items = Vec::new();
        let mut literal = String::new();
        let mut i = 0;
        while let Some(&b) = bytes.get(i) {
            if b == b'%' {
                let next = bytes.get(i + 1).copied();
                let item = match next {
                    Some(b'%') => MacroItem::Percent,
                    Some(b'_') => MacroItem::Space,
                    Some(b'-') => MacroItem::UrlSpace,
                    Some(b'{') => {
                        let (expand, len) = parse_expand(bytes, i, context)?;
                        if !literal.is_empty() {
                            items.push(MacroItem::Literal(Literal::from(std::mem::take(
                                &mut literal,
                            ))));
                        }
                        items.push(MacroItem::Expand(expand));
                        i += len;
                        continue;
                    }
                    _ => return Err((MacroError::BadPercent, i)),
                };
                if !literal.is_empty() {
                    items.push(MacroItem::Literal(Literal::from(std::mem::take(
                        &mut literal,
                    ))));
                }
                items.push(item);
                i += 2;
                continue;
            }
            if !allowed(b) {
                let ch = text.get(i..).and_then(|s| s.chars().next()).unwrap_or('?');
                return Err((MacroError::BadCharacter(ch), i));
            }
            literal.push(b as char);
            i += 1;
        }
        if !literal.is_empty() {
            items.push(MacroItem::Literal(Literal::from(literal)));
        }
        let items = if items.len() == 1 {
            match items.pop() {
                Some(one) => Items::One(one),
                None => Items::Many(items),
            }
        } else {
            Items::Many(items)
        };
        Ok(MacroString { items })
    }

    /// The pieces of the string.
    pub fn items(&self) -> &[MacroItem] {
        match &self.items {
            Items::One(item) => std::slice::from_ref(item),
            Items::Many(items) => items,
        }
    }

    /// About the length of the string's text (exact without macros), to size a buffer.
    pub(crate) fn text_len_hint(&self) -> usize {
        self.items()
            .iter()
            .map(|i| match i {
                MacroItem::Literal(s) => s.len(),
                MacroItem::Expand(_) => 8,
                MacroItem::Percent | MacroItem::Space | MacroItem::UrlSpace => 2,
            })
            .sum()
    }

    /// True when the string contains no `%{...}` expansion (escapes such as `%%` aside).
    pub fn is_literal(&self) -> bool {
        !self
            .items()
            .iter()
            .any(|i| matches!(i, MacroItem::Expand(_)))
    }

    /// True when expanding needs the validated domain name of the client (`%{p}`).
    pub fn uses_validated_domain(&self) -> bool {
        self.items()
            .iter()
            .any(|i| matches!(i, MacroItem::Expand(e) if e.letter == MacroLetter::ValidatedDomain))
    }

    /// Expands into `out`, under the given output policy.
    pub(crate) fn expand(&self, vars: &Vars<'_>, out: &mut Output) {
        for item in self.items() {
            if out.is_full() {
                return;
            }
            match item {
                MacroItem::Literal(s) => out.push_str(s),
                MacroItem::Percent => out.push_str("%"),
                MacroItem::Space => out.push_str(" "),
                MacroItem::UrlSpace => out.push_str("%20"),
                MacroItem::Expand(e) => expand_one(e, vars, out),
            }
        }
    }
}

impl fmt::Display for MacroString {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for item in self.items() {
            match item {
                MacroItem::Literal(s) => f.write_str(s)?,
                MacroItem::Expand(e) => fmt::Display::fmt(e, f)?,
                MacroItem::Percent => f.write_str("%%")?,
                MacroItem::Space => f.write_str("%_")?,
                MacroItem::UrlSpace => f.write_str("%-")?,
            }
        }
        Ok(())
    }
}

/// Parses `%{...}` starting at `start` (the `%`); returns the expand and its length in bytes.
fn parse_expand(
    bytes: &[u8],
    start: usize,
    context: MacroContext,
) -> Result<(MacroExpand, usize), MacroParseError> {
    let body_start = start + 2;
    let Some(close) = bytes
        .get(body_start..)
        .and_then(|rest| rest.iter().position(|&b| b == b'}'))
    else {
        return Err((MacroError::Unterminated, start));
    };
    let body = bytes.get(body_start..body_start + close).unwrap_or(&[]);
    let Some((&letter_byte, rest)) = body.split_first() else {
        return Err((MacroError::UnknownLetter('}'), body_start));
    };
    let Some(letter) = MacroLetter::from_char(letter_byte) else {
        return Err((
            MacroError::UnknownLetter(display_char(letter_byte)),
            body_start,
        ));
    };
    if letter.is_explanation_only() && context == MacroContext::DomainSpec {
        return Err((
            MacroError::ExplanationOnlyLetter(letter_byte as char),
            body_start,
        ));
    }
    let mut pos = 0;
    let mut keep: Option<u32> = None;
    while let Some(&d) = rest.get(pos) {
        if !d.is_ascii_digit() {
            break;
        }
        let v = keep.unwrap_or(0);
        keep = Some(v.saturating_mul(10).saturating_add(u32::from(d - b'0')));
        pos += 1;
    }
    if keep == Some(0) {
        return Err((MacroError::ZeroParts, body_start + 1));
    }
    let mut reverse = false;
    if let Some(b'r' | b'R') = rest.get(pos) {
        reverse = true;
        pos += 1;
    }
    let mut delimiters = 0u8;
    while let Some(&d) = rest.get(pos) {
        match Delimiters::bit(d) {
            Some(bit) => delimiters |= bit,
            None => {
                return Err((
                    MacroError::BadTransformer(display_char(d)),
                    body_start + 1 + pos,
                ));
            }
        }
        pos += 1;
    }
    Ok((
        MacroExpand {
            letter,
            url_escape: letter_byte.is_ascii_uppercase(),
            keep,
            reverse,
            delimiters: Delimiters(delimiters),
        },
        close + 3,
    ))
}

fn display_char(b: u8) -> char {
    if b.is_ascii() { b as char } else { '\u{fffd}' }
}

/// Why a domain-spec is invalid.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum DomainSpecError {
    /// The domain-spec is empty (RFC 7208 §7.1: `domain-spec = macro-string domain-end`).
    #[error("empty domain-spec")]
    Empty,
    /// The macro-string is invalid.
    #[error("{0}")]
    Macro(MacroError),
    /// The domain-spec ends neither in a macro nor in `.` and a valid top label (RFC 7208
    /// §7.1 `domain-end`; a top label is alphanumeric with inner hyphens, not all digits).
    #[error("domain-spec must end in a macro or in '.' and a valid top label")]
    BadDomainEnd,
}

/// A `<domain-spec>` (RFC 7208 §4.8, §7.1): a macro-string ending in a macro or a top label.
#[derive(Debug, Clone)]
pub struct DomainSpec {
    spec: MacroString,
    /// For a domain-spec without macros: its name, computed at its first use rather than by
    /// the parser, so parsing a record allocates no name (`None` if it is not a valid DNS
    /// name, e.g. an empty label or a label over 63 octets).
    literal: OnceLock<Option<Name>>,
}

impl PartialEq for DomainSpec {
    fn eq(&self, other: &DomainSpec) -> bool {
        // The literal name is derived from the macro-string.
        self.spec == other.spec
    }
}

impl Eq for DomainSpec {}

impl std::hash::Hash for DomainSpec {
    fn hash<H: std::hash::Hasher>(&self, state: &mut H) {
        self.spec.hash(state);
    }
}

impl DomainSpec {
    /// Parses a domain-spec.
    pub fn parse(text: &str) -> Result<DomainSpec, DomainSpecError> {
        DomainSpec::parse_at(text).map_err(|(e, _)| e)
    }

    pub(crate) fn parse_at(text: &str) -> Result<DomainSpec, (DomainSpecError, usize)> {
        if text.is_empty() {
            return Err((DomainSpecError::Empty, 0));
        }
        let spec = MacroString::parse_in(text, MacroContext::DomainSpec)
            .map_err(|(e, at)| (DomainSpecError::Macro(e), at))?;
        match spec.items().last() {
            Some(MacroItem::Literal(tail)) => {
                let tail = tail.as_str();
                let tail = tail.strip_suffix('.').unwrap_or(tail);
                let ok = tail
                    .rsplit_once('.')
                    .is_some_and(|(_, top)| is_toplabel(top));
                if !ok {
                    return Err((DomainSpecError::BadDomainEnd, text.len()));
                }
            }
            Some(_) => {}
            None => return Err((DomainSpecError::Empty, 0)),
        }
        Ok(DomainSpec {
            spec,
            literal: OnceLock::new(),
        })
    }

    /// [`DomainSpec::parse_at`] for the bytes of a term (visible ASCII, checked by the record's
    /// term reader). The common case, a name without
    /// macros, is checked in one pass for `%` and bytes outside visible ASCII (RFC 7208 §7.1
    /// `macro-literal`), then from its end for its `domain-end`; anything else goes through
    /// the macro-string parser.
    pub(crate) fn parse_in_record(bytes: &[u8]) -> Result<DomainSpec, (DomainSpecError, usize)> {
        if plain_visible(bytes)
            && literal_domain_end(bytes)
            && let Some(literal) = Literal::from_ascii(bytes)
        {
            return Ok(DomainSpec {
                spec: MacroString {
                    items: Items::One(MacroItem::Literal(literal)),
                },
                literal: OnceLock::new(),
            });
        }
        match std::str::from_utf8(bytes) {
            Ok(text) => DomainSpec::parse_at(text),
            // Not from a record's term (whose bytes are visible ASCII): the first bad byte.
            Err(e) => Err((
                DomainSpecError::Macro(MacroError::BadCharacter('\u{fffd}')),
                e.valid_up_to(),
            )),
        }
    }

    /// The macro-string.
    pub fn macro_string(&self) -> &MacroString {
        &self.spec
    }

    /// For a domain-spec without macros, the name it denotes (`None` when it has macros or is
    /// not a valid DNS name).
    pub fn literal_name(&self) -> Option<&Name> {
        if !self.spec.is_literal() {
            return None;
        }
        self.literal
            .get_or_init(|| expand_domain(&self.spec, &Vars::EMPTY))
            .as_ref()
    }

    /// Expands to the `<target-name>`, or `None` when the expansion is not a valid DNS name.
    pub(crate) fn target(&self, vars: &Vars<'_>) -> Option<Name> {
        if self.spec.is_literal() {
            return self.literal_name().cloned();
        }
        expand_domain(&self.spec, vars)
    }
}

impl fmt::Display for DomainSpec {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.spec.fmt(f)
    }
}

/// Byte classes of the `toplabel` check: letters, digits and `-` (anything else is 0).
const TOP_ALPHA: u8 = 1;
const TOP_DIGIT: u8 = 2;
const TOP_HYPHEN: u8 = 4;
static TOP_CLASS: [u8; 256] = {
    let mut table = [0u8; 256];
    let mut b = 0;
    while b < 256 {
        let c = b as u8;
        table[b] = if c.is_ascii_alphabetic() {
            TOP_ALPHA
        } else if c.is_ascii_digit() {
            TOP_DIGIT
        } else if c == b'-' {
            TOP_HYPHEN
        } else {
            0
        };
        b += 1;
    }
    table
};

/// True when a name without macros ends in `.` and a valid top label, one trailing `.` aside
/// (RFC 7208 §7.1 `domain-end`): the top label is read once from its end, a table lookup per
/// byte ([`is_toplabel_bytes`] is the same rule).
fn literal_domain_end(name: &[u8]) -> bool {
    let name = name.strip_suffix(b".").unwrap_or(name);
    let mut seen = 0u8;
    let mut start = name.len();
    loop {
        let Some(at) = start.checked_sub(1) else {
            return false; // no dot
        };
        let b = name.get(at).copied().unwrap_or(b'.');
        if b == b'.' {
            break;
        }
        let class = TOP_CLASS[usize::from(b)];
        if class == 0 {
            return false;
        }
        seen |= class;
        start = at;
    }
    let class_at = |i: usize| name.get(i).map_or(0, |&b| TOP_CLASS[usize::from(b)]);
    let ends_alnum = |i: usize| class_at(i) & (TOP_ALPHA | TOP_DIGIT) != 0;
    if start == name.len() {
        false // empty label
    } else if seen & TOP_HYPHEN != 0 {
        ends_alnum(start) && ends_alnum(name.len() - 1)
    } else {
        seen & TOP_ALPHA != 0
    }
}

/// `toplabel = ( *alphanum ALPHA *alphanum ) / ( 1*alphanum "-" *( alphanum / "-" ) alphanum )`
fn is_toplabel(label: &str) -> bool {
    is_toplabel_bytes(label.as_bytes())
}

/// [`is_toplabel`] on bytes, in one pass.
fn is_toplabel_bytes(b: &[u8]) -> bool {
    let (Some(first), Some(last)) = (b.first(), b.last()) else {
        return false;
    };
    let (mut alpha, mut hyphen) = (false, false);
    for &c in b {
        alpha |= c.is_ascii_alphabetic();
        hyphen |= c == b'-';
        if !(c.is_ascii_alphanumeric() || c == b'-') {
            return false;
        }
    }
    if hyphen {
        first.is_ascii_alphanumeric() && last.is_ascii_alphanumeric()
    } else {
        alpha
    }
}

/// True when every byte is visible ASCII other than `%` (a macro-literal, RFC 7208 §7.1):
/// eight bytes at a time (SWAR; no carry crosses a byte, every byte being masked to 7 bits
/// first), the last word overlapping the one before it; fewer than eight bytes one by one.
fn plain_visible(bytes: &[u8]) -> bool {
    const LOW: u64 = 0x7f7f_7f7f_7f7f_7f7f;
    const HIGH: u64 = 0x8080_8080_8080_8080;
    const ONES: u64 = 0x0101_0101_0101_0101;
    let stop_in = |word: &[u8]| {
        let mut w = [0u8; 8];
        w.copy_from_slice(word);
        let v = u64::from_le_bytes(w);
        let low = v & LOW;
        // Not ASCII, up to 0x20, or 0x7f (as the record's term reader); then '%': a zero byte
        // of `v ^ 0x2525...`.
        let x = v ^ (0x25 * ONES);
        let percent = !(((x & LOW) + LOW) | x | LOW);
        (v | !(low + 0x5f * ONES) | (low + ONES) | percent) & HIGH
    };
    if bytes.len() < 8 {
        return bytes
            .iter()
            .all(|&b| b != b'%' && (0x21..=0x7e).contains(&b));
    }
    let mut words = bytes.chunks_exact(8);
    let mut stop = 0u64;
    for word in &mut words {
        stop |= stop_in(word);
    }
    // The last bytes as the overlapping last word.
    if !words.remainder().is_empty()
        && let Some(last) = bytes.get(bytes.len() - 8..)
    {
        stop |= stop_in(last);
    }
    stop == 0
}

/// Expands a domain-spec and applies RFC 7208 §7.3: a trailing dot is ignored and a name over
/// 253 octets loses labels on the left until it fits. `None` when the result is no valid name.
fn expand_domain(spec: &MacroString, vars: &Vars<'_>) -> Option<Name> {
    let mut out = Output::domain();
    spec.expand(vars, &mut out);
    if out.overflowed {
        return None;
    }
    let mut text = out.buf.as_str();
    if let Some(t) = text.strip_suffix('.') {
        text = t;
    }
    if text.len() > MAX_NAME_LEN {
        let bytes = text.as_bytes();
        let min_start = text.len() - MAX_NAME_LEN;
        let start = (min_start.max(1)..text.len())
            .find(|&i| bytes.get(i - 1) == Some(&b'.'))
            .unwrap_or(text.len());
        text = text.get(start..).unwrap_or("");
    }
    // RFC 7208 §4.8 / §4.3 by analogy: a target-name with an empty or over-long label is not
    // a domain name, so it is never queried (the caller treats it as non-existent).
    if !target_labels_ok(text) {
        return None;
    }
    Name::parse(text).ok()
}

/// How much of an expansion is kept.
#[derive(Debug)]
pub(crate) struct Output {
    pub(crate) buf: String,
    /// Stop at this many octets (explanations) or refuse past it (domains).
    limit: usize,
    domain: bool,
    /// A domain expansion went past [`MAX_EXPANSION_LEN`].
    pub(crate) overflowed: bool,
}

impl Output {
    pub(crate) fn domain() -> Output {
        Output {
            buf: String::new(),
            limit: MAX_EXPANSION_LEN,
            domain: true,
            overflowed: false,
        }
    }

    pub(crate) fn explanation() -> Output {
        Output {
            buf: String::new(),
            limit: MAX_EXPLANATION_LEN,
            domain: false,
            overflowed: false,
        }
    }

    fn is_full(&self) -> bool {
        self.overflowed || self.buf.len() >= self.limit
    }

    fn push_str(&mut self, s: &str) {
        if self.is_full() {
            return;
        }
        let room = self.limit - self.buf.len();
        if s.len() <= room {
            self.buf.push_str(s);
        } else if self.domain {
            self.overflowed = true;
        } else {
            let mut end = room;
            while !s.is_char_boundary(end) {
                end -= 1;
            }
            self.buf.push_str(s.get(..end).unwrap_or(""));
        }
    }

    fn push_char(&mut self, c: char) {
        let mut b = [0u8; 4];
        self.push_str(c.encode_utf8(&mut b));
    }
}

/// The values macros expand to (RFC 7208 §7.3).
#[derive(Debug, Clone, Copy)]
pub(crate) struct Vars<'a> {
    pub(crate) sender: &'a str,
    pub(crate) local_part: &'a str,
    pub(crate) sender_domain: &'a str,
    pub(crate) domain: &'a str,
    pub(crate) ip: Option<IpAddr>,
    pub(crate) validated: &'a str,
    pub(crate) helo: &'a str,
    pub(crate) receiver: &'a str,
    pub(crate) now: u64,
}

impl Vars<'static> {
    const EMPTY: Vars<'static> = Vars {
        sender: "",
        local_part: "",
        sender_domain: "",
        domain: "",
        ip: None,
        validated: "",
        helo: "",
        receiver: "",
        now: 0,
    };
}

/// Small stack buffer for computed values (IP forms, timestamps).
struct Scratch {
    buf: [u8; 64],
    len: usize,
}

impl Scratch {
    fn new() -> Scratch {
        Scratch {
            buf: [0; 64],
            len: 0,
        }
    }
    fn as_str(&self) -> &str {
        std::str::from_utf8(self.buf.get(..self.len).unwrap_or(&[])).unwrap_or("")
    }
}

impl fmt::Write for Scratch {
    fn write_str(&mut self, s: &str) -> fmt::Result {
        let end = self.len.checked_add(s.len()).ok_or(fmt::Error)?;
        let dst = self.buf.get_mut(self.len..end).ok_or(fmt::Error)?;
        dst.copy_from_slice(s.as_bytes());
        self.len = end;
        Ok(())
    }
}

/// Writes `%{i}`: a dotted quad, or 32 dot-separated lower-case nibbles for IPv6 (RFC 7208
/// §7.3 and its §7.4 example).
fn write_ip_dotted(ip: IpAddr, out: &mut Scratch) {
    match ip {
        IpAddr::V4(v4) => {
            let _ = write!(out, "{v4}");
        }
        IpAddr::V6(v6) => {
            const HEX: &[u8; 16] = b"0123456789abcdef";
            for (n, byte) in v6.octets().iter().enumerate() {
                for (k, nibble) in [byte >> 4, byte & 0xf].into_iter().enumerate() {
                    if n + k > 0 {
                        let _ = out.write_char('.');
                    }
                    let _ = out.write_char(HEX[usize::from(nibble)] as char);
                }
            }
        }
    }
}

fn expand_one(e: &MacroExpand, vars: &Vars<'_>, out: &mut Output) {
    let mut scratch = Scratch::new();
    let value: &str = match e.letter {
        MacroLetter::Sender => vars.sender,
        MacroLetter::LocalPart => vars.local_part,
        MacroLetter::SenderDomain => vars.sender_domain,
        MacroLetter::Domain => vars.domain,
        MacroLetter::ValidatedDomain => vars.validated,
        MacroLetter::Helo => vars.helo,
        MacroLetter::Receiver => vars.receiver,
        MacroLetter::Ip => {
            if let Some(ip) = vars.ip {
                write_ip_dotted(ip, &mut scratch);
            }
            scratch.as_str()
        }
        MacroLetter::ClientIp => {
            if let Some(ip) = vars.ip {
                let _ = write!(scratch, "{ip}");
            }
            scratch.as_str()
        }
        MacroLetter::IpVersion => match vars.ip {
            Some(IpAddr::V6(_)) => "ip6",
            _ => "in-addr",
        },
        MacroLetter::Timestamp => {
            let _ = write!(scratch, "{}", vars.now);
            scratch.as_str()
        }
    };
    if e.is_identity_transform() {
        write_value(value, e.url_escape, out);
        return;
    }
    let mut parts: Vec<&str> = value
        .split(|c: char| c.is_ascii() && e.delimiters.contains(c as u8))
        .collect();
    if e.reverse {
        parts.reverse();
    }
    let skip = match e.keep {
        Some(n) => parts
            .len()
            .saturating_sub(usize::try_from(n).unwrap_or(usize::MAX)),
        None => 0,
    };
    for (k, part) in parts.iter().skip(skip).enumerate() {
        if k > 0 {
            out.push_str(".");
        }
        write_value(part, e.url_escape, out);
    }
}

/// Appends a value, URL-escaping everything outside RFC 3986 "unreserved" when asked (RFC 7208
/// §7.3).
fn write_value(value: &str, url_escape: bool, out: &mut Output) {
    if !url_escape {
        out.push_str(value);
        return;
    }
    const HEX: &[u8; 16] = b"0123456789ABCDEF";
    for &b in value.as_bytes() {
        if out.is_full() {
            return;
        }
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~') {
            out.push_char(b as char);
        } else {
            out.push_char('%');
            out.push_char(HEX[usize::from(b >> 4)] as char);
            out.push_char(HEX[usize::from(b & 0xf)] as char);
        }
    }
}

/// The DNS length rules a name must meet before it is queried, checked here rather than left
/// to [`Name::parse`] (whose character rules are wider, RFC 2181 §11): no empty label except
/// the root at the end (RFC 1035 §2.3.1, RFC 7208 §4.3 "zero-length label not at the end"), no
/// label over 63 octets and no name over 253 octets (RFC 1035 §2.3.4). Any other octet is
/// allowed: macro expansions with spaces (`%_`) are names DNS can carry.
pub(crate) fn target_labels_ok(name: &str) -> bool {
    let name = name.strip_suffix('.').unwrap_or(name);
    !name.is_empty()
        && name.len() <= mailstamp_dns::MAX_NAME_LEN
        && name
            .split('.')
            .all(|l| !l.is_empty() && l.len() <= mailstamp_dns::MAX_LABEL_LEN)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::net::Ipv6Addr;

    fn vars(ip: &str) -> Vars<'static> {
        Vars {
            sender: "strong-bad@email.example.com",
            local_part: "strong-bad",
            sender_domain: "email.example.com",
            domain: "email.example.com",
            ip: Some(ip.parse().unwrap()),
            validated: "mx.example.org",
            helo: "mx.example.org",
            receiver: "receiver.example",
            now: 1_700_000_000,
        }
    }

    /// A literal reads, compares, hashes and prints as its text, whether it is kept inline or
    /// on the heap (the lengths around [`Literal::INLINE`]).
    #[test]
    fn literal_is_its_text_inline_or_not() {
        use std::hash::{BuildHasher, RandomState};
        let hasher = RandomState::new();
        let text = "abcdefghijklmnopqrstuvwxyz.example";
        for len in 0..=text.len() {
            let t = &text[..len];
            for literal in [Literal::from(t), Literal::from(t.to_owned())] {
                let inline = matches!(literal.0, LiteralRepr::Inline { .. });
                assert_eq!(inline, len <= Literal::INLINE, "{t:?}");
                assert_eq!(literal.as_str(), t);
                assert_eq!(&*literal, t);
                assert_eq!(literal, t);
                assert_eq!(literal.to_string(), t);
                assert_eq!(format!("{literal:?}"), format!("{t:?}"));
                assert_eq!(hasher.hash_one(&literal), hasher.hash_one(t));
                assert_eq!(literal.clone(), literal);
                assert_ne!(literal, Literal::from(format!("{t}x")));
            }
        }
        assert_eq!(
            std::mem::size_of::<Literal>(),
            std::mem::size_of::<String>()
        );
    }

    fn expand(spec: &str, ip: &str) -> String {
        let m = MacroString::parse_in(spec, MacroContext::Explanation).unwrap();
        let mut out = Output::explanation();
        m.expand(&vars(ip), &mut out);
        out.buf
    }

    /// Every example of RFC 7208 §7.4.
    #[test]
    fn rfc7208_7_4_examples() {
        let v4 = "192.0.2.3";
        let cases = [
            ("%{s}", "strong-bad@email.example.com"),
            ("%{o}", "email.example.com"),
            ("%{d}", "email.example.com"),
            ("%{d4}", "email.example.com"),
            ("%{d3}", "email.example.com"),
            ("%{d2}", "example.com"),
            ("%{d1}", "com"),
            ("%{dr}", "com.example.email"),
            ("%{d2r}", "example.email"),
            ("%{l}", "strong-bad"),
            ("%{l-}", "strong.bad"),
            ("%{lr}", "strong-bad"),
            ("%{lr-}", "bad.strong"),
            ("%{l1r-}", "strong"),
            (
                "%{ir}.%{v}._spf.%{d2}",
                "3.2.0.192.in-addr._spf.example.com",
            ),
            ("%{lr-}.lp._spf.%{d2}", "bad.strong.lp._spf.example.com"),
            (
                "%{lr-}.lp.%{ir}.%{v}._spf.%{d2}",
                "bad.strong.lp.3.2.0.192.in-addr._spf.example.com",
            ),
            (
                "%{ir}.%{v}.%{l1r-}.lp._spf.%{d2}",
                "3.2.0.192.in-addr.strong.lp._spf.example.com",
            ),
            (
                "%{d2}.trusted-domains.example.net",
                "example.com.trusted-domains.example.net",
            ),
        ];
        for (spec, want) in cases {
            assert_eq!(expand(spec, v4), want, "{spec}");
        }
        assert_eq!(
            expand("%{ir}.%{v}._spf.%{d2}", "2001:db8::cb01"),
            "1.0.b.c.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.8.b.d.0.1.0.0.2.ip6._spf.example.com"
        );
    }

    #[test]
    fn rfc7208_7_3_url_escape_and_escapes() {
        let m = MacroString::parse_in("%{L}|%%|%_|%-", MacroContext::Explanation).unwrap();
        let v = Vars {
            local_part: "jack&jill=up",
            ..vars("192.0.2.3")
        };
        let mut out = Output::explanation();
        m.expand(&v, &mut out);
        assert_eq!(out.buf, "jack%26jill%3Dup|%| |%20");
    }

    #[test]
    fn rfc7208_7_3_explanation_only_letters() {
        assert_eq!(
            expand("%{c} %{r} %{t} %{v}", "2001:db8::1"),
            "2001:db8::1 receiver.example 1700000000 ip6"
        );
        assert_eq!(
            MacroString::parse_in("%{c}", MacroContext::DomainSpec),
            Err((MacroError::ExplanationOnlyLetter('c'), 2))
        );
        assert!(MacroString::parse_in("%{r}", MacroContext::Modifier).is_ok());
    }

    #[test]
    fn rfc7208_7_1_macro_syntax_errors() {
        for (text, err) in [
            ("%", MacroError::BadPercent),
            ("a%b", MacroError::BadPercent),
            ("%{d", MacroError::Unterminated),
            ("%{}", MacroError::UnknownLetter('}')),
            ("%{x}", MacroError::UnknownLetter('x')),
            ("%{d0}", MacroError::ZeroParts),
            ("%{dr2}", MacroError::BadTransformer('2')),
            ("%{d!}", MacroError::BadTransformer('!')),
            ("a b", MacroError::BadCharacter(' ')),
            ("a\u{7f}", MacroError::BadCharacter('\u{7f}')),
        ] {
            assert_eq!(
                MacroString::parse_in(text, MacroContext::Modifier).map_err(|(e, _)| e),
                Err(err),
                "{text:?}"
            );
        }
        assert!(MacroString::parse_in("a b", MacroContext::Explanation).is_ok());
        // Many digits saturate instead of overflowing.
        let m = MacroString::parse_in("%{d99999999999999999999}", MacroContext::Modifier).unwrap();
        assert_eq!(m.to_string(), format!("%{{d{}}}", u32::MAX));
    }

    #[test]
    fn rfc7208_7_1_delimiters_and_display() {
        let m = MacroString::parse_in("%{L2R+-}x%%%_%-", MacroContext::Modifier).unwrap();
        assert_eq!(m.to_string(), "%{L2r-+}x%%%_%-");
        let v = Vars {
            local_part: "foo-bar+zip+quux",
            ..vars("192.0.2.3")
        };
        let mut out = Output::explanation();
        MacroString::parse_in("%{l2r+-}", MacroContext::Modifier)
            .unwrap()
            .expand(&v, &mut out);
        assert_eq!(out.buf, "bar.foo");
    }

    #[test]
    fn rfc7208_7_1_domain_end() {
        for ok in [
            "example.com",
            "example.com.",
            "%{d}",
            "%{d}.com",
            "foo:bar/baz.example.com",
            "foo.example.xn--zckzah",
            "a.1-2",
            "%%",
        ] {
            assert!(DomainSpec::parse(ok).is_ok(), "{ok}");
        }
        for bad in [
            "museum",
            "museum.",
            "abc.123",
            "111.222.33.44",
            "example.-com",
            "example.com-",
            "example.com:8080",
            "%{d}com",
            "%{d}.",
            "-all",
        ] {
            assert_eq!(
                DomainSpec::parse(bad),
                Err(DomainSpecError::BadDomainEnd),
                "{bad}"
            );
        }
        assert_eq!(DomainSpec::parse(""), Err(DomainSpecError::Empty));
    }

    #[test]
    fn plain_names_are_found_as_the_macro_parser_finds_them() {
        let bytes = [
            b'a', b'.', b'-', b'%', b' ', 0x1f, 0x7f, 0x80, b'!', b'~', b'{', b'1',
        ];
        for len in 0..20 {
            for pos in 0..len.max(1) {
                for byte in bytes {
                    for tail in [
                        &b""[..],
                        b".com",
                        b".c-m",
                        b".123",
                        b".",
                        b".c-",
                        b".-c",
                        b".1-2",
                        b".co.",
                        b".c_m",
                        b"..",
                        b".c--9.",
                    ] {
                        let mut text = vec![b'x'; len];
                        if let Some(b) = text.get_mut(pos) {
                            *b = byte;
                        }
                        text.extend_from_slice(tail);
                        let want = text
                            .iter()
                            .all(|&b| b != b'%' && (0x21..=0x7e).contains(&b));
                        assert_eq!(plain_visible(&text), want, "{text:?}");
                        let Ok(text) = std::str::from_utf8(&text) else {
                            continue;
                        };
                        if want {
                            assert_eq!(
                                DomainSpec::parse_in_record(text.as_bytes()),
                                DomainSpec::parse_at(text),
                                "{text:?}"
                            );
                        }
                    }
                }
            }
        }
        for label in [
            "com", "c-m", "-com", "com-", "123", "1-2", "a", "", "c_m", "x--y",
        ] {
            let b = label.as_bytes();
            let model = !b.is_empty()
                && b.iter().all(|c| c.is_ascii_alphanumeric() || *c == b'-')
                && if b.contains(&b'-') {
                    b[0].is_ascii_alphanumeric() && b[b.len() - 1].is_ascii_alphanumeric()
                } else {
                    b.iter().any(u8::is_ascii_alphabetic)
                };
            assert_eq!(is_toplabel(label), model, "{label}");
        }
    }

    #[test]
    fn rfc7208_7_3_truncation_to_253_octets() {
        let label = "abcdefghi"; // 9 octets + dot = 10
        let long = format!("{}.example.com", vec![label; 30].join("."));
        assert!(long.len() > 253);
        let spec = DomainSpec::parse(&long).unwrap();
        let name = spec.literal_name().unwrap();
        assert!(name.as_str().len() <= 253);
        assert!(long.ends_with(name.as_str()));
        assert!(name.as_str().starts_with(label));
        // Invalid literal names are kept as "no name".
        let spec = DomainSpec::parse("mail.example...com").unwrap();
        assert_eq!(spec.literal_name(), None);
        let spec = DomainSpec::parse(&format!("{}.example.com", "a".repeat(64))).unwrap();
        assert_eq!(spec.literal_name(), None);
    }

    #[test]
    fn expansion_is_bounded() {
        let huge = "x".repeat(100_000);
        let v = Vars {
            sender: &huge,
            ..vars("192.0.2.3")
        };
        let spec = DomainSpec::parse("%{s}.example.com").unwrap();
        assert_eq!(spec.target(&v), None, "over MAX_EXPANSION_LEN");
        let m = MacroString::parse_explanation("%{s}%{s}").unwrap();
        let mut out = Output::explanation();
        m.expand(&v, &mut out);
        assert_eq!(out.buf.len(), MAX_EXPLANATION_LEN);
        // Non-ASCII values are cut at a character boundary.
        let wide = "é".repeat(2000);
        let v = Vars {
            local_part: &wide,
            ..vars("192.0.2.3")
        };
        let mut out = Output::explanation();
        MacroString::parse_explanation("x%{l}")
            .unwrap()
            .expand(&v, &mut out);
        assert!(out.buf.len() <= MAX_EXPLANATION_LEN);
    }

    #[test]
    fn ipv6_nibbles() {
        let mut s = Scratch::new();
        write_ip_dotted(IpAddr::V6(Ipv6Addr::LOCALHOST), &mut s);
        assert_eq!(s.as_str().len(), 63);
        assert!(s.as_str().ends_with(".0.1"));
    }
}
