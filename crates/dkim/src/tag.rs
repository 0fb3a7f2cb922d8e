//! Tag=value lists (RFC 6376 §3.2), the syntax of DKIM-Signature fields and key records.

use serde::Serialize;
use std::fmt;

/// What is wrong with a tag list.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
#[non_exhaustive]
pub enum TagListErrorKind {
    /// A `;` is followed by nothing but whitespace and another `;` (only one trailing `;` is
    /// allowed by RFC 6376 §3.2).
    EmptyTagSpec,
    /// A tag name is not `ALPHA *(ALPHA / DIGIT / "_")`.
    InvalidTagName {
        /// The offending name, lossily decoded.
        name: String,
    },
    /// A tag has no `=`.
    MissingEquals {
        /// The tag name.
        name: String,
    },
    /// A tag value holds a byte outside VALCHAR (`%x21-3A / %x3C-7E`), folding whitespace and
    /// UTF-8 (RFC 8616 §4).
    InvalidValueByte {
        /// The tag name.
        tag: String,
        /// The byte.
        byte: u8,
    },
    /// A tag appears twice ("Tags with duplicate names MUST NOT occur within a single tag-list;
    /// if a tag name does occur more than once, the entire tag-list is invalid", RFC 6376 §3.2).
    DuplicateTag {
        /// The tag name.
        tag: String,
    },
}

/// A syntax error in a tag list, with the byte offset where it was found (relative to the start
/// of the tag list: the header field value or the TXT record).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, thiserror::Error)]
#[error("{kind} at byte {offset}")]
pub struct TagListError {
    /// What is wrong.
    pub kind: TagListErrorKind,
    /// Byte offset of the problem in the tag list.
    pub offset: usize,
}

impl fmt::Display for TagListErrorKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            TagListErrorKind::EmptyTagSpec => f.write_str("empty tag (\";;\")"),
            TagListErrorKind::InvalidTagName { name } => write!(f, "invalid tag name {name:?}"),
            TagListErrorKind::MissingEquals { name } => write!(f, "tag {name:?} has no '='"),
            TagListErrorKind::InvalidValueByte { tag, byte } => {
                write!(f, "tag {tag}= holds the invalid byte 0x{byte:02x}")
            }
            TagListErrorKind::DuplicateTag { tag } => write!(f, "tag {tag}= appears twice"),
        }
    }
}

/// One `name=value` pair of a tag list.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Tag<'a> {
    /// The tag name (case-sensitive, RFC 6376 §3.2).
    pub name: &'a str,
    /// The value with leading and trailing whitespace removed; inner folding whitespace kept.
    pub value: &'a [u8],
    /// Byte offset of the name.
    pub name_offset: usize,
    /// Byte offset of the (trimmed) value.
    pub value_offset: usize,
    /// Byte offset just after the `=`: with [`Tag::spec_end`], the span that RFC 6376 §3.5
    /// empties for `b=` ("including all surrounding whitespace").
    pub after_equals: usize,
    /// Byte offset of the `;` ending the tag, or the end of the list.
    pub spec_end: usize,
}

impl Tag<'_> {
    /// The value as text, when it is UTF-8.
    pub fn value_str(&self) -> Option<&str> {
        std::str::from_utf8(self.value).ok()
    }
}

/// A parsed tag list (RFC 6376 §3.2).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TagList<'a> {
    tags: Vec<Tag<'a>>,
}

/// Folding whitespace as it appears in header values and TXT records: SP, HTAB, CR, LF.
pub(crate) fn is_fws(b: u8) -> bool {
    matches!(b, b' ' | b'\t' | b'\r' | b'\n')
}

fn trim_range(input: &[u8], mut start: usize, mut end: usize) -> (usize, usize) {
    while start < end && is_fws(input[start]) {
        start += 1;
    }
    while end > start && is_fws(input[end - 1]) {
        end -= 1;
    }
    (start, end)
}

fn lossy(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

impl<'a> TagList<'a> {
    /// Parses a tag list. Unknown tags are kept (callers ignore them, RFC 6376 §3.2); a
    /// duplicate tag makes the whole list invalid.
    ///
    /// ```
    /// use mailstamp_dkim::TagList;
    ///
    /// let list = TagList::parse(b"v=1; a = rsa-sha256;\r\n\tbh=abc\r\n def;").unwrap();
    /// assert_eq!(list.get("a"), Some(&b"rsa-sha256"[..]));
    /// assert_eq!(list.get("bh"), Some(&b"abc\r\n def"[..]));
    /// assert!(TagList::parse(b"v=1; v=1").is_err());
    /// ```
    pub fn parse(input: &'a [u8]) -> Result<TagList<'a>, TagListError> {
        let mut tags: Vec<Tag<'a>> = Vec::with_capacity(16);
        for tag in TagIter::<0>::new(input) {
            tags.push(tag?);
        }
        check_duplicates(&tags)?;
        Ok(TagList { tags })
    }

    /// The tags in order.
    pub fn tags(&self) -> &[Tag<'a>] {
        &self.tags
    }

    /// The tag named `name`.
    pub fn tag(&self, name: &str) -> Option<&Tag<'a>> {
        self.tags.iter().find(|t| same_name(t.name, name))
    }

    /// The value of the tag named `name`.
    pub fn get(&self, name: &str) -> Option<&'a [u8]> {
        self.tag(name).map(|t| t.value)
    }

    /// The number of tags.
    pub fn len(&self) -> usize {
        self.tags.len()
    }

    /// True when the list has no tag.
    pub fn is_empty(&self) -> bool {
        self.tags.is_empty()
    }
}

/// The tag-specs of a list one by one, each checked as [`TagList::parse`] checks it, without
/// collecting them: for readers that keep only the tags they know. Duplicates are not
/// detected here. After an error, the iterator ends.
///
/// With `UNCHECKED` set to a letter, the value of a plain tag-spec of that one-letter name is
/// taken up to the next `;` without looking for refused bytes in it (one `memchr`). That is
/// for a reader whose use of the value refuses every such byte itself (base64, which takes
/// only its alphabet, `=` and whitespace), and which reads the list again with the checking
/// iterator (`UNCHECKED` = 0, [`TagIter::new`]) when that use, or anything else, fails: a
/// value that passes it holds no refused byte, and is then the value the checking iterator
/// gives. A constant, so that the checking iterator's code has no test for it.
pub(crate) struct TagIter<'a, const UNCHECKED: u8 = 0> {
    input: &'a [u8],
    start: usize,
    seen: bool,
    done: bool,
}

impl<'a, const UNCHECKED: u8> TagIter<'a, UNCHECKED> {
    pub(crate) fn new(input: &'a [u8]) -> TagIter<'a, UNCHECKED> {
        TagIter {
            input,
            start: 0,
            seen: false,
            done: false,
        }
    }
}

impl<'a, const UNCHECKED: u8> Iterator for TagIter<'a, UNCHECKED> {
    type Item = Result<Tag<'a>, TagListError>;

    fn next(&mut self) -> Option<Self::Item> {
        self.next_inlined()
    }
}

impl<'a, const UNCHECKED: u8> TagIter<'a, UNCHECKED> {
    /// [`Iterator::next`], always inlined: for the key record's reader, where the `aws-lc`
    /// build's link-time optimisation left `next` a call whose result (a tag, or an error)
    /// went back through memory, 15 % of a key record's parse. Other readers keep the
    /// compiler's choice.
    #[inline(always)]
    pub(crate) fn next_inlined(&mut self) -> Option<Result<Tag<'a>, TagListError>> {
        if self.done {
            return None;
        }
        if let Some(tag) = plain_spec::<UNCHECKED>(self.input, self.start) {
            let next = tag.spec_end + 1;
            self.done = next > self.input.len();
            self.start = next;
            self.seen = true;
            return Some(Ok(tag));
        }
        self.next_general()
    }
}

impl<'a, const UNCHECKED: u8> TagIter<'a, UNCHECKED> {
    /// [`Iterator::next`] without the plain-spec shortcut: every case, errors included.
    fn next_general(&mut self) -> Option<Result<Tag<'a>, TagListError>> {
        if self.done {
            return None;
        }
        let input = self.input;
        let len = input.len();
        let start = self.start;
        let end = memchr::memchr(b';', &input[start..]).map_or(len, |p| start + p);
        let (ts, te) = trim_range(input, start, end);
        if end >= len {
            self.done = true;
        }
        if ts == te {
            self.done = true;
            if end < len {
                // "a=1;;b=2" or ";a=1": an empty tag-spec that is not the trailing one.
                let rest_empty = input[end + 1..].iter().all(|&b| is_fws(b));
                if !rest_empty || !self.seen {
                    return Some(Err(TagListError {
                        kind: TagListErrorKind::EmptyTagSpec,
                        offset: ts,
                    }));
                }
            }
            return None;
        }
        self.start = end + 1;
        self.seen = true;
        let tag = parse_spec(input, ts, te, end);
        if tag.is_err() {
            self.done = true;
        }
        Some(tag)
    }
}

/// The tag-spec starting at `start` when it is of the plain form almost every tag has:
/// optional whitespace, a name of ASCII letters, digits and `_` starting with a letter,
/// optional whitespace, `=`, and a value of VALCHAR, whitespace and UTF-8 up to the next `;`
/// or the end. The same [`Tag`] the general reader gives for it, read in one pass forwards
/// (the `;` and any bad byte found together, see [`value_len`]) and one backwards over the
/// trailing whitespace. `None` for anything else (an empty spec, a missing `=`, a bad name or
/// value byte): the general reader then finds the error, or the trailing `;`. The value of a
/// one-letter tag named `UNCHECKED` ends at the next `;`, whatever it holds (see
/// [`TagIter`]).
#[inline]
fn plain_spec<const UNCHECKED: u8>(input: &[u8], start: usize) -> Option<Tag<'_>> {
    let rest = input.get(start..)?;
    let lead = rest.iter().position(|&b| !is_fws(b))?;
    let spec = rest.get(lead..)?;
    let &first = spec.first()?;
    if !first.is_ascii_alphabetic() {
        return None;
    }
    let name_len = spec
        .iter()
        .position(|&b| !(b.is_ascii_alphanumeric() || b == b'_'))?;
    let after_name = spec.get(name_len..)?;
    let gap = after_name.iter().position(|&b| !is_fws(b))?;
    if after_name.get(gap) != Some(&b'=') {
        return None;
    }
    let name_offset = start + lead;
    let after_equals = name_offset + name_len + gap + 1;
    let tail = input.get(after_equals..)?;
    let value_len = if UNCHECKED != 0 && name_len == 1 && first == UNCHECKED {
        memchr::memchr(b';', tail).unwrap_or(tail.len())
    } else {
        value_len(tail)?
    };
    let raw = tail.get(..value_len)?;
    // Trimmed as the general reader trims: the end first, then the start up to it, so that
    // an empty value sits just after the `=`.
    let end = raw.iter().rposition(|&b| !is_fws(b)).map_or(0, |e| e + 1);
    let value_start = raw
        .get(..end)?
        .iter()
        .position(|&b| !is_fws(b))
        .unwrap_or(0);
    let name = match name_len {
        1 => one_letter(first),
        _ => std::str::from_utf8(spec.get(..name_len)?).ok()?,
    };
    Some(Tag {
        name,
        value: raw.get(value_start..end)?,
        name_offset,
        value_offset: after_equals + value_start,
        after_equals,
        spec_end: after_equals + value_len,
    })
}

/// A one-letter tag name as text, without a UTF-8 check: a slice of a static alphabet.
fn one_letter(letter: u8) -> &'static str {
    const LETTERS: &str = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";
    let i = match letter {
        b'A'..=b'Z' => usize::from(letter - b'A'),
        _ => usize::from(letter.wrapping_sub(b'a')) + 26,
    };
    LETTERS.get(i..i + 1).unwrap_or_default()
}

/// The length of a tag value up to its `;` (or the end of `tail`), when no byte before it is
/// refused by [`first_bad_value_byte`]; `None` when one is. Sixteen bytes at a time are turned
/// into flags (one byte each) of the bytes that are either a `;` or a bad byte, with no branch
/// per byte; the first such byte decides. After the first sixteen bytes (where most values
/// end), each block of 64 bytes is first tested as a whole for a `;`, DEL or any byte below
/// `!` (whitespace included): a `p=` or `b=` value is mostly read in these large steps, and
/// only a block that holds such a byte is flagged sixteen bytes at a time. The first sixteen
/// bytes are first looked at as two words ([`stop_candidates`]): a short value ends there,
/// and its `;` is found with a few instructions instead of the sixteen flags.
fn value_len(tail: &[u8]) -> Option<usize> {
    let decide = |i: usize| (tail.get(i) == Some(&b';')).then_some(i);
    let mut base = 0;
    if let Some(first) = tail.first_chunk::<16>() {
        let (lo, hi) = first.split_at(8);
        let word = |h: &[u8]| <[u8; 8]>::try_from(h).map_or(0, u64::from_le_bytes);
        let candidate = match stop_candidates(word(lo)) {
            0 => match stop_candidates(word(hi)) {
                0 => None,
                c => Some(8 + c.trailing_zeros() as usize / 8),
            },
            c => Some(c.trailing_zeros() as usize / 8),
        };
        // The first candidate is the first `;` or refused byte, unless it is whitespace.
        match candidate.and_then(|i| Some((i, *tail.get(i)?))) {
            Some((i, b';')) => return Some(i),
            Some((_, b)) if !is_fws(b) => return None,
            Some(_) => {
                let mask = stop_mask(first);
                if mask != 0 {
                    return decide(mask.trailing_zeros() as usize / 8);
                }
            }
            None => {}
        }
        base = 16;
        for block in tail.get(16..).unwrap_or_default().chunks_exact(64) {
            let any = block.iter().fold(0u8, |a, &b| {
                a | u8::from((b < 0x21) | (b == b';') | (b == 0x7f))
            });
            if any != 0 {
                for chunk in block.chunks_exact(16) {
                    let mask = <&[u8; 16]>::try_from(chunk).map_or(0, stop_mask);
                    if mask != 0 {
                        return decide(base + mask.trailing_zeros() as usize / 8);
                    }
                    base += 16;
                }
            } else {
                base += 64;
            }
        }
    }
    let mut chunks = tail.get(base..).unwrap_or_default().chunks_exact(16);
    for chunk in &mut chunks {
        let mask = <&[u8; 16]>::try_from(chunk).map_or(0, stop_mask);
        if mask != 0 {
            return decide(base + mask.trailing_zeros() as usize / 8);
        }
        base += 16;
    }
    // The last bytes. Not copied into a padded block: a block written piecewise and then read
    // whole stalls the load (no store forwarding), which cost more than the whole scan.
    let rest = chunks.remainder();
    if rest.is_empty() {
        return Some(tail.len());
    }
    if let Some(last) = tail.last_chunk::<16>() {
        // The last sixteen bytes, overlapping those already read, whose flags are shifted out.
        let seen = 16 - rest.len();
        return match stop_mask(last) >> (8 * seen) {
            0 => Some(tail.len()),
            mask => decide(base + mask.trailing_zeros() as usize / 8),
        };
    }
    match rest.iter().position(|&b| (b == b';') | bad_value_byte(b)) {
        None => Some(tail.len()),
        Some(i) => decide(base + i),
    }
}

/// The top bit of byte `i` of the result (little-endian) is set for some bytes of `word`
/// that are below `!` (whitespace included), `;` or DEL, and the lowest byte so flagged is
/// the first such byte of `word`: a byte below 0x21 borrows into its top bit when 0x21 is
/// taken from it, and a byte equal to `;` or DEL does when it is xored with that byte and 1
/// taken from it; a byte with its top bit already set is masked out. A borrow can carry into
/// the next byte and flag it too, but only after a byte that is flagged itself.
#[inline(always)]
fn stop_candidates(word: u64) -> u64 {
    const ONES: u64 = u64::from_le_bytes([0x01; 8]);
    const TOPS: u64 = u64::from_le_bytes([0x80; 8]);
    let semi = word ^ (ONES * u64::from(b';'));
    let del = word ^ (ONES * 0x7f);
    let low = word.wrapping_sub(ONES * 0x21) & !word;
    (low | (semi.wrapping_sub(ONES) & !semi) | (del.wrapping_sub(ONES) & !del)) & TOPS
}

/// Byte `i` of the result (little-endian) is 1 when `chunk[i]` is `;` or refused in a value
/// ([`bad_value_byte`]), 0 otherwise.
#[inline(always)]
fn stop_mask(chunk: &[u8; 16]) -> u128 {
    u128::from_le_bytes(chunk.map(|b| u8::from((b == b';') | bad_value_byte(b))))
}

/// A byte refused in a tag value: a control byte other than SP, HTAB, CR and LF, or DEL
/// (RFC 6376 §3.2 VALCHAR and FWS, RFC 8616 §4 UTF-8).
#[inline(always)]
fn bad_value_byte(b: u8) -> bool {
    let fws = (b == b' ') | (b == b'\t') | (b == b'\r') | (b == b'\n');
    ((b < 0x21) & !fws) | (b == 0x7f)
}

/// The error [`TagList::parse`] gives for a second `tag`.
pub(crate) fn duplicate(tag: &Tag<'_>) -> TagListError {
    TagListError {
        kind: TagListErrorKind::DuplicateTag {
            tag: tag.name.to_owned(),
        },
        offset: tag.name_offset,
    }
}

fn parse_spec<'a>(
    input: &'a [u8],
    ts: usize,
    te: usize,
    spec_end: usize,
) -> Result<Tag<'a>, TagListError> {
    let spec = &input[ts..te];
    let name_len = spec
        .iter()
        .position(|&b| !(b.is_ascii_alphanumeric() || b == b'_'))
        .unwrap_or(spec.len());
    let name_bytes = &spec[..name_len];
    let eq = memchr::memchr(b'=', spec);
    let name_ok = name_len > 0 && spec[0].is_ascii_alphabetic();
    // Between the name and '=' only whitespace may appear.
    let gap_ok = eq.is_some_and(|e| spec[name_len..e].iter().all(|&b| is_fws(b)));
    if !name_ok || (eq.is_some() && !gap_ok) {
        let shown_end = eq.unwrap_or(spec.len());
        return Err(TagListError {
            kind: TagListErrorKind::InvalidTagName {
                name: lossy(&spec[..shown_end]).trim_end().to_owned(),
            },
            offset: ts,
        });
    }
    let name = std::str::from_utf8(name_bytes).unwrap_or_default();
    let Some(eq) = eq else {
        return Err(TagListError {
            kind: TagListErrorKind::MissingEquals {
                name: name.to_owned(),
            },
            offset: ts,
        });
    };
    let after_equals = ts + eq + 1;
    let (vs, ve) = trim_range(input, after_equals, te);
    let value = &input[vs..ve];
    // VALCHAR, folding whitespace and UTF-8 (RFC 8616 §4): only control bytes and DEL are
    // refused (`;` cannot occur: it ends the tag). Checked branch-free first, located after.
    if let Some(pos) = first_bad_value_byte(value) {
        return Err(TagListError {
            kind: TagListErrorKind::InvalidValueByte {
                tag: name.to_owned(),
                byte: value[pos],
            },
            offset: vs + pos,
        });
    }
    Ok(Tag {
        name,
        value,
        name_offset: ts,
        value_offset: vs,
        after_equals,
        spec_end,
    })
}

/// The position of the first byte of a tag value that is neither VALCHAR, nor folding
/// whitespace, nor part of UTF-8 (RFC 8616 §4): a control byte other than SP, HTAB, CR and LF,
/// or DEL. The whole value is first tested 32 bytes at a time with no branch per byte (values
/// such as `p=` and `b=` are hundreds of bytes long), the culprit located only when there is
/// one.
fn first_bad_value_byte(value: &[u8]) -> Option<usize> {
    let bad = bad_value_byte;
    let chunks = value.chunks_exact(32);
    let tail = chunks.remainder();
    let any_bad = chunks.fold(false, |acc, chunk| {
        acc | chunk.iter().fold(false, |a, &b| a | bad(b))
    }) | tail.iter().fold(false, |a, &b| a | bad(b));
    if !any_bad {
        return None;
    }
    value.iter().position(|&b| bad(b))
}

/// Name equality with the cheap tests first (most tag names are one or two letters).
#[inline]
pub(crate) fn same_name(a: &str, b: &str) -> bool {
    a.len() == b.len() && a.as_bytes().first() == b.as_bytes().first() && a == b
}

fn check_duplicates(tags: &[Tag<'_>]) -> Result<(), TagListError> {
    if tags.len() <= 24 {
        for (i, t) in tags.iter().enumerate() {
            if tags[..i].iter().any(|o| same_name(o.name, t.name)) {
                return Err(duplicate(t));
            }
        }
        return Ok(());
    }
    // Many tags (hostile input): sort instead of comparing every pair.
    let mut order: Vec<usize> = (0..tags.len()).collect();
    order.sort_by(|&a, &b| tags[a].name.cmp(tags[b].name).then(a.cmp(&b)));
    let first_dup = order
        .windows(2)
        .filter(|w| tags[w[0]].name == tags[w[1]].name)
        .map(|w| w[1])
        .min();
    match first_dup {
        Some(i) => Err(duplicate(&tags[i])),
        None => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn kind(input: &[u8]) -> TagListErrorKind {
        TagList::parse(input).unwrap_err().kind
    }

    #[test]
    fn rfc6376_3_2_whitespace_and_folding() {
        let l =
            TagList::parse(b" v = 1 ;\r\n\ta=rsa-sha256 ; x1 = extra ; t = y:n:extra ").unwrap();
        assert_eq!(l.len(), 4);
        assert_eq!(l.get("v"), Some(&b"1"[..]));
        assert_eq!(l.get("t"), Some(&b"y:n:extra"[..]));
        let v = l.tag("v").unwrap();
        assert_eq!(
            (v.name_offset, v.value_offset, v.after_equals, v.spec_end),
            (1, 5, 4, 7)
        );
    }

    #[test]
    fn rfc6376_3_2_trailing_semicolon_and_empty_values() {
        let l = TagList::parse(b"p=;").unwrap();
        assert_eq!(l.get("p"), Some(&b""[..]));
        assert!(TagList::parse(b"a=1; ").is_ok());
        assert!(TagList::parse(b"").unwrap().is_empty());
        assert_eq!(kind(b"a=1;;b=2"), TagListErrorKind::EmptyTagSpec);
        assert_eq!(kind(b";"), TagListErrorKind::EmptyTagSpec);
    }

    #[test]
    fn rfc6376_3_2_duplicate_tags_invalidate_the_list() {
        let e = TagList::parse(b"a=1; b=2; a=3").unwrap_err();
        assert_eq!(e.kind, TagListErrorKind::DuplicateTag { tag: "a".into() });
        assert_eq!(e.offset, 10);
        // case-sensitive names: not duplicates
        assert!(TagList::parse(b"a=1; A=2").is_ok());
        let many: Vec<u8> = (0..5000)
            .flat_map(|i| format!("t{i}=x;").into_bytes())
            .chain(b"t17=y".iter().copied())
            .collect();
        assert_eq!(
            TagList::parse(&many).unwrap_err().kind,
            TagListErrorKind::DuplicateTag { tag: "t17".into() }
        );
    }

    #[test]
    fn rfc6376_3_2_syntax_errors_carry_offsets() {
        let e = TagList::parse(b"k=rsa; t; p=abc").unwrap_err();
        assert_eq!(e.kind, TagListErrorKind::MissingEquals { name: "t".into() });
        assert_eq!(e.offset, 7);
        assert!(matches!(
            kind(b"1a=x"),
            TagListErrorKind::InvalidTagName { .. }
        ));
        assert!(matches!(
            kind(b"a b=x"),
            TagListErrorKind::InvalidTagName { .. }
        ));
        assert!(matches!(
            kind(b"=x"),
            TagListErrorKind::InvalidTagName { .. }
        ));
        let e = TagList::parse(b"a=x\x01y").unwrap_err();
        assert_eq!(e.offset, 3);
        // 8-bit (UTF-8) values are allowed (RFC 8616 §4)
        assert!(TagList::parse("i=j\u{f6}rg@example.com".as_bytes()).is_ok());
    }

    /// Every tag-spec read through the general reader only.
    fn general(input: &[u8]) -> Vec<Result<Tag<'_>, TagListError>> {
        let mut iter = TagIter::<0>::new(input);
        std::iter::from_fn(|| iter.next_general()).collect()
    }

    #[test]
    fn plain_specs_read_as_the_general_reader_reads_them() {
        for input in [
            &b"v=1; a = rsa-sha256;\r\n\tbh=abc\r\n def;"[..],
            b"p=;",
            b"p= \r\n ;",
            b" a=1 ; b = ; c=",
            b"a_1=x;b=y;;",
            b"a=x\x01y",
            b"a=1;  ",
            b"abc",
            b"a =\t",
        ] {
            assert_eq!(TagIter::<0>::new(input).collect::<Vec<_>>(), general(input));
        }
        let long = [b'x'; 40];
        for len in 0..40 {
            let mut v = long.to_vec();
            assert_eq!(value_len(&v[..len]), Some(len));
            v[len] = b';';
            v.push(b'\x01');
            assert_eq!(value_len(&v), Some(len));
            v[len] = b'\x7f';
            assert_eq!(value_len(&v), None);
        }
        assert_eq!(one_letter(b'a'), "a");
        assert_eq!(one_letter(b'Z'), "Z");
    }

    /// `value_len` as a plain loop: the first `;` or refused byte decides.
    fn value_len_reference(tail: &[u8]) -> Option<usize> {
        match tail.iter().position(|&b| b == b';' || bad_value_byte(b)) {
            None => Some(tail.len()),
            Some(i) => (tail[i] == b';').then_some(i),
        }
    }

    #[test]
    fn value_len_agrees_with_a_plain_loop_on_long_values() {
        // Values long enough for the 64-byte blocks and every length of the overlapping tail,
        // with each kind of stop byte at every position (and none).
        let filler: Vec<u8> = b"MIIBIjANBgkqhkiG9w0BAQEFAAOCAQ8AMIIBCgKCAQEA+/="
            .iter()
            .copied()
            .cycle()
            .take(300)
            .collect();
        for len in 0..filler.len() {
            let plain = &filler[..len];
            assert_eq!(value_len(plain), value_len_reference(plain), "len {len}");
            for stop in [b';', b'\x01', b'\x7f', b' ', b'\t'] {
                for at in 0..len {
                    let mut v = plain.to_vec();
                    v[at] = stop;
                    assert_eq!(
                        value_len(&v),
                        value_len_reference(&v),
                        "len {len}, {stop:#x} at {at}"
                    );
                }
            }
        }
        assert_eq!(one_letter(b'z'), "z");
    }

    #[test]
    fn stop_candidates_flag_the_first_stop_of_a_word() {
        let candidate = |b: u8| b < 0x21 || b == b';' || b == 0x7f;
        for at in 0..8 {
            for byte in 0..=255u8 {
                for filler in [b'A', b'=', 0x7e, 0x80, 0xff] {
                    let mut word = [filler; 8];
                    word[at] = byte;
                    let flags = stop_candidates(u64::from_le_bytes(word));
                    let first = (flags != 0).then(|| flags.trailing_zeros() as usize / 8);
                    assert_eq!(first, candidate(byte).then_some(at), "{byte:#x} at {at}");
                    // A second candidate after it does not hide it.
                    if at < 7 {
                        word[7] = b';';
                        let flags = stop_candidates(u64::from_le_bytes(word));
                        let expected = if candidate(byte) { at } else { 7 };
                        assert_eq!(flags.trailing_zeros() as usize / 8, expected);
                    }
                }
            }
        }
    }

    proptest::proptest! {
        /// The block scan finds what a plain loop finds, on random bytes of every kind
        /// (the alphabet of `p=`, whitespace, `;`, the edges of the refused ranges, UTF-8) at
        /// every length, the blocks and the overlapping last ones included.
        #[test]
        fn value_len_agrees_with_a_plain_loop(
            tail in proptest::collection::vec(
                proptest::prop_oneof![
                    12 => proptest::sample::select(b"AZaz09+/=".to_vec()),
                    1 => proptest::sample::select(
                        b" \t\r\n;\x00\x01\x08\x0b\x0c\x1f\x21\x7e\x7f\x80\xff".to_vec()
                    ),
                    1 => proptest::prelude::any::<u8>(),
                ],
                0..300,
            )
        ) {
            proptest::prop_assert_eq!(value_len(&tail), value_len_reference(&tail));
        }

        /// The plain-spec shortcut changes nothing: the same tags, offsets and errors as the
        /// general reader, on lists made mostly of the bytes tag lists are made of.
        #[test]
        fn plain_spec_shortcut_agrees_with_the_general_reader(
            input in proptest::collection::vec(
                proptest::prop_oneof![
                    6 => proptest::sample::select(b"abhpvAZ09_=;".to_vec()),
                    3 => proptest::sample::select(b" \t\r\n\x00\x7f".to_vec()),
                    1 => proptest::prelude::any::<u8>(),
                ],
                0..120,
            )
        ) {
            proptest::prop_assert_eq!(
                TagIter::<0>::new(&input).collect::<Vec<_>>(),
                general(&input)
            );
        }
    }
}
