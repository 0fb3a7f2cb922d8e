//! Domain names: parsing, normalisation and comparison in one place.

use std::fmt;
use std::sync::Arc;

/// Longest label, in octets (RFC 1035 §2.3.4).
pub const MAX_LABEL_LEN: usize = 63;
/// Longest name in presentation form without the trailing dot, in octets (RFC 1035 §2.3.4:
/// 255 octets on the wire, which is 253 characters of text).
pub const MAX_NAME_LEN: usize = 253;

/// Why a string is not a usable domain name.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum NameError {
    /// The name is empty (or only a dot).
    #[error("empty domain name")]
    Empty,
    /// A label is empty, as in `a..b` or `.a` (RFC 1035 §2.3.1).
    #[error("empty label at byte {offset}")]
    EmptyLabel {
        /// Byte offset of the empty label in the input.
        offset: usize,
    },
    /// A label is longer than 63 octets (RFC 1035 §2.3.4).
    #[error("label at byte {offset} is {len} octets long (at most 63 allowed)")]
    LabelTooLong {
        /// Byte offset of the label in the input.
        offset: usize,
        /// Its length in octets.
        len: usize,
    },
    /// The whole name is longer than 253 octets (RFC 1035 §2.3.4).
    #[error("name is {len} octets long (at most 253 allowed)")]
    TooLong {
        /// Its length in octets (after conversion to A-labels).
        len: usize,
    },
    /// A label from the wire or a fixture is not UTF-8 (names are kept as text).
    #[error("label {index} is not UTF-8")]
    NotUtf8 {
        /// 0-based index of the label.
        index: usize,
    },
    /// A U-label could not be converted to an A-label (RFC 5891, UTS #46).
    #[error("internationalised name cannot be converted to A-labels: {reason}")]
    Idna {
        /// What the IDNA conversion reported.
        reason: String,
    },
    /// The name contains an ASCII control character (C0 or DEL). RFC 2181 §11 lets a label
    /// hold any octet, but no text form mailstamp reads or writes (header fields, zone files,
    /// JSON) can carry these safely, so they are refused wherever a name is made.
    #[error("invalid character {ch:?} at byte {offset}")]
    InvalidChar {
        /// The character.
        ch: char,
        /// Its byte offset in the input.
        offset: usize,
    },
}

/// The label rule of [`check_labels`] for the label of `text[start..end]`: the error, if any.
fn label_error(start: usize, end: usize) -> Option<NameError> {
    let len = end - start;
    if len == 0 {
        Some(NameError::EmptyLabel { offset: start })
    } else if len > MAX_LABEL_LEN {
        Some(NameError::LabelTooLong { offset: start, len })
    } else {
        None
    }
}

/// The label rules of RFC 1035 §2.3.4 over dotted `text`: no empty label, none longer than
/// [`MAX_LABEL_LEN`]; the error names the label's offset in `text`.
fn check_labels(text: &[u8]) -> Result<(), NameError> {
    let mut start = 0;
    for label in text.split(|&b| b == b'.') {
        if let Some(error) = label_error(start, start + label.len()) {
            return Err(error);
        }
        start += label.len() + 1;
    }
    Ok(())
}

/// A normalised domain name: ASCII lower case, A-labels, no trailing dot, validated lengths.
///
/// Comparison and hashing are therefore case-insensitive in ASCII only, as DNS compares names
/// (RFC 4343): non-ASCII octets are compared as they are. Labels are octets (RFC 2181 §11): they
/// may hold spaces, `%`, `_`, `\\` and any UTF-8 text, as SPF macro expansion produces them
/// (`%{l}` of a local-part with spaces, RFC 7208 §7) and fixtures publish them; only `.` (the
/// separator) and ASCII control characters are refused. Host names proper (HELO, MAIL FROM
/// domains) are checked by the protocols that need them (RFC 5321, RFC 7208 §4.3).
///
/// Cloning is cheap (the text is shared, reference-counted): queries, answers and verdicts
/// hand names around without copying them.
#[derive(Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Name(Arc<str>);

impl Name {
    /// Parses and normalises a name: strips one trailing dot, converts U-labels to A-labels
    /// (UTS #46 non-transitional processing) when the name is an internationalised host name,
    /// lower-cases ASCII and checks label and name lengths (RFC 1035 §2.3.4). A non-ASCII name
    /// that is not a valid IDNA name (it holds spaces, say) is kept as its UTF-8 octets, ASCII
    /// lower-cased.
    pub fn parse(input: &str) -> Result<Name, NameError> {
        if let Some(name) = Self::parse_plain(input) {
            return Ok(name);
        }
        Self::parse_general(input)
    }

    /// The common case of [`Name::parse`] in one pass over the bytes: printable ASCII,
    /// non-empty labels of at most [`MAX_LABEL_LEN`], at most [`MAX_NAME_LEN`] in all. For such
    /// input the general path's checks all pass and its result is this name; anything else
    /// (non-ASCII, a control character, a length or empty-label error) is `None`, and the
    /// general path decides, with its error offsets.
    fn parse_plain(input: &str) -> Option<Name> {
        let trimmed = input.strip_suffix('.').unwrap_or(input);
        if trimmed.is_empty() || trimmed.len() > MAX_NAME_LEN {
            return None;
        }
        let mut label = 0usize;
        let mut upper = false;
        for &b in trimmed.as_bytes() {
            if b == b'.' {
                if label == 0 {
                    return None;
                }
                label = 0;
            } else {
                if !(0x20..0x7f).contains(&b) {
                    return None;
                }
                upper |= b.is_ascii_uppercase();
                label += 1;
            }
            if label > MAX_LABEL_LEN {
                return None;
            }
        }
        if label == 0 {
            return None;
        }
        Some(Name(if upper {
            Arc::from(trimmed.to_ascii_lowercase())
        } else {
            Arc::from(trimmed)
        }))
    }

    fn parse_general(input: &str) -> Result<Name, NameError> {
        let trimmed = input.strip_suffix('.').unwrap_or(input);
        if trimmed.is_empty() {
            return Err(NameError::Empty);
        }
        // Byte-level checks on the input first, so offsets refer to what the user wrote.
        let mut offset = 0;
        for label in trimmed.as_bytes().split(|&b| b == b'.') {
            if label.is_empty() {
                return Err(NameError::EmptyLabel { offset });
            }
            if label.is_ascii() && label.len() > MAX_LABEL_LEN {
                return Err(NameError::LabelTooLong {
                    offset,
                    len: label.len(),
                });
            }
            offset += label.len() + 1;
        }
        if let Some((offset, ch)) = trimmed.char_indices().find(|&(_, c)| c.is_ascii_control()) {
            return Err(NameError::InvalidChar { ch, offset });
        }
        if trimmed.is_ascii() {
            return if trimmed.bytes().any(|b| b.is_ascii_uppercase()) {
                Self::check_ascii(&trimmed.to_ascii_lowercase())
            } else {
                Self::check_ascii(trimmed)
            };
        }
        let ascii = if let Ok(a) = idna::domain_to_ascii_strict(trimmed) {
            a
        } else if trimmed.chars().any(|c| c == ' ' || c == '%' || c == '\\') {
            // Octets, not a host name (RFC 2181 §11): keep them.
            trimmed.to_ascii_lowercase()
        } else {
            idna::domain_to_ascii(trimmed).map_err(|e| NameError::Idna {
                reason: e.to_string(),
            })?
        };
        Self::check_ascii(&ascii)
    }

    fn check_ascii(ascii: &str) -> Result<Name, NameError> {
        if ascii.is_empty() {
            return Err(NameError::Empty);
        }
        check_labels(ascii.as_bytes())?;
        if ascii.len() > MAX_NAME_LEN {
            return Err(NameError::TooLong { len: ascii.len() });
        }
        Ok(Name(Arc::from(ascii)))
    }

    /// A name from its labels' octets, as the wire or a zone file holds them (RFC 2181 §11): no
    /// IDNA processing, ASCII lower-cased, lengths checked. A label may not contain `.` here
    /// (it would become a separator); labels that are not UTF-8 are refused.
    pub fn from_labels<'a>(labels: impl IntoIterator<Item = &'a [u8]>) -> Result<Name, NameError> {
        let mut text = String::new();
        for (index, label) in labels.into_iter().enumerate() {
            let label = std::str::from_utf8(label).map_err(|_| NameError::NotUtf8 { index })?;
            if index > 0 {
                text.push('.');
            }
            if let Some(pos) = label.find(|c: char| c == '.' || c.is_ascii_control()) {
                let ch = label[pos..].chars().next().unwrap_or('.');
                return Err(NameError::InvalidChar {
                    ch,
                    offset: text.len() + pos,
                });
            }
            text.push_str(label);
        }
        Self::check_ascii(&text.to_ascii_lowercase())
    }

    /// The label octets, left to right (for the wire: `hickory`'s `Name::from_labels`).
    pub fn label_octets(&self) -> impl Iterator<Item = &[u8]> {
        self.0.split('.').map(str::as_bytes)
    }

    /// The normalised text, without trailing dot.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The fully qualified form, with a trailing dot (as zone files and DNS tools print it).
    pub fn to_fqdn(&self) -> String {
        format!("{}.", self.0)
    }

    /// The labels, left to right.
    pub fn labels(&self) -> impl DoubleEndedIterator<Item = &str> + ExactSizeIterator {
        let v: Vec<&str> = self.0.split('.').collect();
        v.into_iter()
    }

    /// Number of labels.
    pub fn label_count(&self) -> usize {
        self.0.bytes().filter(|&b| b == b'.').count() + 1
    }

    /// The name with its leftmost label removed, or `None` for a single-label name.
    pub fn parent(&self) -> Option<Name> {
        self.0.split_once('.').map(|(_, rest)| Name(rest.into()))
    }

    /// True when `self` equals `other` or lies below it (`mail.example.com` is a subdomain of
    /// `example.com`; `badexample.com` is not).
    pub fn is_subdomain_of(&self, other: &Name) -> bool {
        self.0 == other.0
            || (self.0.len() > other.0.len()
                && self.0.ends_with(&*other.0)
                && self.0.as_bytes()[self.0.len() - other.0.len() - 1] == b'.')
    }

    /// Prepends a label or dotted sequence of labels (`prefix.self`), validating the result.
    pub fn prepend(&self, prefix: &str) -> Result<Name, NameError> {
        if let Some(done) = self.prepend_ascii(prefix) {
            return done;
        }
        let mut joined = String::with_capacity(prefix.len() + 1 + self.0.len());
        joined.push_str(prefix);
        joined.push('.');
        joined.push_str(&self.0);
        Name::parse(&joined)
    }

    /// [`Name::prepend`] of a prefix of printable ASCII (`None` for any other prefix: the
    /// general path). `self` is already normalised, so only the prefix's labels and the total
    /// length are checked, with the errors and offsets `check_ascii` would give for the joined
    /// text (the prefix comes first, and `self`'s labels cannot fail). One pass over the prefix
    /// checks its bytes and labels and copies it lower-cased; the joined name is assembled on
    /// the stack and allocated once.
    fn prepend_ascii(&self, prefix: &str) -> Option<Result<Name, NameError>> {
        let len = prefix.len() + 1 + self.0.len();
        let mut buf = [0u8; MAX_NAME_LEN];
        let mut label_start = 0;
        let mut error = None;
        for (i, &b) in prefix.as_bytes().iter().enumerate() {
            if !(0x20..0x7f).contains(&b) {
                return None; // not ASCII, or a control character
            }
            if b == b'.' {
                error = error.or_else(|| label_error(label_start, i));
                label_start = i + 1;
            }
            if let Some(slot) = buf.get_mut(i) {
                *slot = b.to_ascii_lowercase();
            }
        }
        if let Some(error) = error.or_else(|| label_error(label_start, prefix.len())) {
            return Some(Err(error));
        }
        if len > MAX_NAME_LEN {
            return Some(Err(NameError::TooLong { len }));
        }
        let rest = buf.get_mut(prefix.len()..)?;
        let (dot, tail) = rest.split_at_mut(1);
        dot.fill(b'.');
        tail.get_mut(..self.0.len())?
            .copy_from_slice(self.0.as_bytes());
        // Not `None`: ASCII, then a whole `str`, within the buffer.
        let joined = std::str::from_utf8(buf.get(..len)?).ok()?;
        Some(Ok(Name(Arc::from(joined))))
    }

    /// The rightmost `n` labels as a name (`n` ≥ 1), or the whole name when it has fewer.
    pub fn suffix(&self, n: usize) -> Name {
        let count = self.label_count();
        if n >= count {
            return self.clone();
        }
        let skip = count - n.max(1);
        let mut idx = 0;
        for _ in 0..skip {
            idx += self.0[idx..].find('.').map_or(0, |p| p + 1);
        }
        Name(self.0[idx..].into())
    }
}

impl fmt::Display for Name {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl fmt::Debug for Name {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Name({})", self.0)
    }
}

impl std::str::FromStr for Name {
    type Err = NameError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Name::parse(s)
    }
}

impl AsRef<str> for Name {
    fn as_ref(&self) -> &str {
        &self.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_one_pass_path_agrees_with_the_general_path() {
        // Every string of up to 4 bytes over an alphabet that covers each branch (separator,
        // upper case, printable, control, DEL, non-ASCII), and long labels and names around
        // the limits.
        let alphabet = [
            "a", "B", ".", "-", " ", "_", "\u{1}", "\u{7f}", "é", "ß", "%",
        ];
        let mut inputs = vec![String::new()];
        let mut frontier = vec![String::new()];
        for _ in 0..4 {
            let mut next = Vec::new();
            for s in &frontier {
                for a in alphabet {
                    next.push(format!("{s}{a}"));
                }
            }
            inputs.extend(next.iter().cloned());
            frontier = next;
        }
        for len in [62, 63, 64] {
            inputs.push(format!("{}.example", "a".repeat(len)));
            inputs.push(format!("{}.", "A".repeat(len)));
        }
        for len in [251, 252, 253, 254, 255] {
            let label = "b".repeat(61);
            let mut name = [label.as_str(); 5].join(".");
            name.truncate(len);
            inputs.push(name.clone());
            inputs.push(format!("{name}."));
        }
        let mut plain = 0;
        for input in &inputs {
            let general = Name::parse_general(input);
            match Name::parse_plain(input) {
                Some(name) => {
                    plain += 1;
                    assert_eq!(Ok(name), general, "{input:?}");
                }
                None => assert_eq!(Name::parse(input), general, "{input:?}"),
            }
        }
        assert!(plain > 1000, "the one-pass path took {plain} inputs");
    }

    #[test]
    fn normalises_case_and_trailing_dot() {
        assert_eq!(Name::parse("ExAmple.COM.").unwrap().as_str(), "example.com");
        assert_eq!(
            Name::parse("example.com").unwrap(),
            Name::parse("EXAMPLE.com.").unwrap()
        );
    }

    #[test]
    fn converts_u_labels() {
        assert_eq!(
            Name::parse("bücher.example").unwrap().as_str(),
            "xn--bcher-kva.example"
        );
    }

    #[test]
    fn rejects_invalid_names() {
        assert_eq!(Name::parse(""), Err(NameError::Empty));
        assert_eq!(Name::parse("."), Err(NameError::Empty));
        assert_eq!(
            Name::parse("a..b"),
            Err(NameError::EmptyLabel { offset: 2 })
        );
        let long = "a".repeat(64);
        assert_eq!(
            Name::parse(&format!("x.{long}.com")),
            Err(NameError::LabelTooLong { offset: 2, len: 64 })
        );
        let name = vec!["abcdefghi"; 26].join(".");
        assert_eq!(name.len(), 259);
        assert_eq!(Name::parse(&name), Err(NameError::TooLong { len: 259 }));
        assert!(matches!(
            Name::parse("a\tb.com"),
            Err(NameError::InvalidChar {
                ch: '\t',
                offset: 1
            })
        ));
        assert!(matches!(
            Name::parse("a\r\nb.com"),
            Err(NameError::InvalidChar {
                ch: '\r',
                offset: 1
            })
        ));
    }

    /// RFC 2181 §11: "any binary string whatever can be used as the label of any resource
    /// record". Spaces, `%`, `_` and UTF-8 text are kept, and compared case-insensitively in ASCII
    /// only (RFC 4343 §3).
    #[test]
    fn rfc2181_11_labels_are_octets() {
        let spaced = Name::parse("A B%20_x.Example.COM").unwrap();
        assert_eq!(spaced.as_str(), "a b%20_x.example.com");
        assert_eq!(spaced, Name::parse("a b%20_X.example.com.").unwrap());
        assert_eq!(spaced.label_count(), 3);
        let utf8 = Name::parse("Ünïcode with space.example").unwrap();
        assert_eq!(utf8.as_str(), "Ünïcode with space.example");
        assert_ne!(utf8, Name::parse("ünïcode with space.example").unwrap());
        let wire = Name::from_labels([&b"A B"[..], b"Example", b"org"]).unwrap();
        assert_eq!(wire.as_str(), "a b.example.org");
        assert_eq!(wire.label_octets().next(), Some(&b"a b"[..]));
        assert_eq!(
            Name::from_labels([&b"a.b"[..], b"org"]),
            Err(NameError::InvalidChar { ch: '.', offset: 1 })
        );
        assert_eq!(
            Name::from_labels([&b"ok"[..], b"\xff"]),
            Err(NameError::NotUtf8 { index: 1 })
        );
    }

    #[test]
    fn accepts_limits_exactly() {
        let label = "a".repeat(63);
        assert!(Name::parse(&format!("{label}.com")).is_ok());
        let name = format!("{}.{}", vec!["abcdefghi"; 24].join("."), "a".repeat(13));
        assert_eq!(name.len(), 253);
        assert!(Name::parse(&name).is_ok());
    }

    #[test]
    fn subdomain_and_parent() {
        let a = Name::parse("mail.example.com").unwrap();
        let b = Name::parse("example.com").unwrap();
        let c = Name::parse("badexample.com").unwrap();
        assert!(a.is_subdomain_of(&b));
        assert!(b.is_subdomain_of(&b));
        assert!(!c.is_subdomain_of(&b));
        assert!(!b.is_subdomain_of(&a));
        assert_eq!(a.parent(), Some(b.clone()));
        assert_eq!(Name::parse("com").unwrap().parent(), None);
        assert_eq!(a.suffix(2), b);
        assert_eq!(a.suffix(9), a);
        assert_eq!(a.label_count(), 3);
        assert_eq!(a.labels().next_back(), Some("com"));
        assert_eq!(b.prepend("_dmarc").unwrap().as_str(), "_dmarc.example.com");
    }

    #[test]
    fn prepend_is_parse_of_the_joined_text() {
        let long_label = "x".repeat(63);
        let names = [
            "example.com".to_owned(),
            "com".to_owned(),
            format!("{long_label}.{long_label}.{long_label}.abcdef"),
            format!("{long_label}.{long_label}.{long_label}.abcdefghi"),
            "caf\u{e9}.example".to_owned(),
        ];
        let prefixes = [
            "_dmarc".to_owned(),
            "_DMARC.Sel".to_owned(),
            "a..b".to_owned(),
            String::new(),
            ".x".to_owned(),
            "x.".to_owned(),
            "y".repeat(64),
            format!("ok.{}", "z".repeat(64)),
            "abc".to_owned(),
            "ab".to_owned(),
            format!("{}ab", "ab.".repeat(20)),
            "\u{e9}t\u{e9}".to_owned(),
            "tab\there".to_owned(),
            "del\u{7f}".to_owned(),
            "Mixed Case.with space".to_owned(),
            "a".repeat(300),
            format!("{}.{}", "b".repeat(63), "c".repeat(200)),
        ];
        for name in &names {
            let name = Name::parse(name).unwrap();
            for prefix in &prefixes {
                assert_eq!(
                    name.prepend(prefix),
                    Name::parse(&format!("{prefix}.{name}")),
                    "{prefix:?} + {name}"
                );
            }
        }
    }
}
