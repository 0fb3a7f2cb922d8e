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
        for tag in TagIter::new(input) {
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
pub(crate) struct TagIter<'a> {
    input: &'a [u8],
    start: usize,
    seen: bool,
    done: bool,
}

impl<'a> TagIter<'a> {
    pub(crate) fn new(input: &'a [u8]) -> TagIter<'a> {
        TagIter {
            input,
            start: 0,
            seen: false,
            done: false,
        }
    }
}

impl<'a> Iterator for TagIter<'a> {
    type Item = Result<Tag<'a>, TagListError>;

    fn next(&mut self) -> Option<Self::Item> {
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
    #[inline(always)]
    fn bad(b: u8) -> bool {
        let fws = (b == b' ') | (b == b'\t') | (b == b'\r') | (b == b'\n');
        ((b < 0x21) & !fws) | (b == 0x7f)
    }
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
}
