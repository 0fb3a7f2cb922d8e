//! Keywords: method names, result tokens, ptypes, property names and Received-SPF keys.

use std::borrow::Cow;
use std::fmt;

/// Longest keyword accepted, in octets. No registered method, result, ptype or property comes
/// close; the limit keeps every written line far below the 998-octet limit of RFC 5322 §2.1.1.
pub const MAX_KEYWORD_LEN: usize = 64;

/// Why a string is not a [`Keyword`].
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum KeywordError {
    /// The string is empty.
    #[error("empty keyword")]
    Empty,
    /// The string is longer than [`MAX_KEYWORD_LEN`] octets.
    #[error("keyword is {len} octets long (at most {MAX_KEYWORD_LEN} allowed)")]
    TooLong {
        /// Its length in octets.
        len: usize,
    },
    /// The string holds a character other than an ASCII letter, digit, `-` or `_`.
    #[error("invalid character {ch:?} at byte {offset} in keyword")]
    InvalidChar {
        /// The character.
        ch: char,
        /// Its byte offset.
        offset: usize,
    },
}

/// A method name, result token, ptype, property name or Received-SPF key, in lower case.
///
/// RFC 8601 §2.2 builds all of these from the SMTP `Keyword` (RFC 5321 §4.1.2: letters, digits
/// and inner hyphens). A `Keyword` accepts slightly more, because real fields do: ASCII letters,
/// digits, `-` and `_` (Fastmail writes `policy.is_org`), 1 to [`MAX_KEYWORD_LEN`] octets. It
/// can never hold a space, `=`, `.`, `/`, `;`, a quote, a parenthesis or a line break, which is
/// what makes writing one verbatim safe. Keywords are case-insensitive (RFC 5321 §2.4), so they
/// are stored in lower case.
#[derive(Clone, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Serialize, serde::Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct Keyword(Cow<'static, str>);

impl Keyword {
    /// Validates `s` and converts it to lower case.
    pub fn new(s: &str) -> Result<Keyword, KeywordError> {
        check(s)?;
        Ok(Keyword(Cow::Owned(s.to_ascii_lowercase())))
    }

    /// A keyword from a constant, without allocating (like `http::HeaderName::from_static`).
    ///
    /// Meant for tokens known when the program is written, such as `"spf"`, `"pass"`,
    /// `"mailfrom"` or a verdict's `as_str()`. Use it in a `const` item to have the check done by
    /// the compiler.
    ///
    /// # Panics
    ///
    /// Panics when `s` is not a valid keyword or is not in lower case: that is a programming
    /// error, never a property of input.
    pub const fn from_static(s: &'static str) -> Keyword {
        let bytes = s.as_bytes();
        assert!(
            !bytes.is_empty() && bytes.len() <= MAX_KEYWORD_LEN,
            "keyword length out of range"
        );
        let mut i = 0;
        while i < bytes.len() {
            let b = bytes[i];
            assert!(
                b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-' || b == b'_',
                "keyword must be lower-case letters, digits, '-' or '_'"
            );
            i += 1;
        }
        Keyword(Cow::Borrowed(s))
    }

    /// A keyword from octets the parser has already checked (keyword octets only, length in
    /// range), lower-cased; the common ones are not allocated.
    pub(crate) fn from_checked_bytes(bytes: &[u8]) -> Keyword {
        let mut lower = [0u8; MAX_KEYWORD_LEN];
        let Some(buf) = lower.get_mut(..bytes.len()) else {
            return Keyword::from_valid(String::from_utf8_lossy(bytes).to_ascii_lowercase());
        };
        buf.copy_from_slice(bytes);
        buf.make_ascii_lowercase();
        match common(buf) {
            Some(k) => Keyword(Cow::Borrowed(k)),
            None => Keyword::from_valid(String::from_utf8_lossy(buf).into_owned()),
        }
    }

    /// A keyword the parser has already checked and lower-cased.
    pub(crate) fn from_valid(s: String) -> Keyword {
        debug_assert!(check(&s).is_ok() && !s.bytes().any(|b| b.is_ascii_uppercase()));
        Keyword(Cow::Owned(s))
    }

    /// The keyword, in lower case.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// The keywords that most fields hold, shared instead of allocated when parsed.
fn common(lower: &[u8]) -> Option<&'static str> {
    Some(match lower {
        b"spf" => "spf",
        b"dkim" => "dkim",
        b"dmarc" => "dmarc",
        b"arc" => "arc",
        b"iprev" => "iprev",
        b"auth" => "auth",
        b"pass" => "pass",
        b"fail" => "fail",
        b"none" => "none",
        b"neutral" => "neutral",
        b"policy" => "policy",
        b"softfail" => "softfail",
        b"temperror" => "temperror",
        b"permerror" => "permerror",
        b"smtp" => "smtp",
        b"header" => "header",
        b"mailfrom" => "mailfrom",
        b"helo" => "helo",
        b"d" => "d",
        b"i" => "i",
        b"s" => "s",
        b"a" => "a",
        b"b" => "b",
        b"from" => "from",
        b"reason" => "reason",
        b"client-ip" => "client-ip",
        b"envelope-from" => "envelope-from",
        b"receiver" => "receiver",
        b"identity" => "identity",
        b"mechanism" => "mechanism",
        b"problem" => "problem",
        _ => return None,
    })
}

/// True for the octets a [`Keyword`] may hold.
pub(crate) fn is_keyword_byte(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b == b'-' || b == b'_'
}

fn check(s: &str) -> Result<(), KeywordError> {
    if s.is_empty() {
        return Err(KeywordError::Empty);
    }
    if let Some((offset, ch)) = s
        .char_indices()
        .find(|&(_, c)| !(c.is_ascii() && is_keyword_byte(c as u8)))
    {
        return Err(KeywordError::InvalidChar { ch, offset });
    }
    if s.len() > MAX_KEYWORD_LEN {
        return Err(KeywordError::TooLong { len: s.len() });
    }
    Ok(())
}

impl fmt::Display for Keyword {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl fmt::Debug for Keyword {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Keyword({})", self.0)
    }
}

impl std::str::FromStr for Keyword {
    type Err = KeywordError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Keyword::new(s)
    }
}

impl TryFrom<&str> for Keyword {
    type Error = KeywordError;
    fn try_from(s: &str) -> Result<Self, Self::Error> {
        Keyword::new(s)
    }
}

impl TryFrom<String> for Keyword {
    type Error = KeywordError;
    fn try_from(s: String) -> Result<Self, Self::Error> {
        check(&s)?;
        let mut s = s;
        s.make_ascii_lowercase();
        Ok(Keyword(Cow::Owned(s)))
    }
}

impl From<Keyword> for String {
    fn from(k: Keyword) -> String {
        k.0.into_owned()
    }
}

impl AsRef<str> for Keyword {
    fn as_ref(&self) -> &str {
        &self.0
    }
}

impl PartialEq<str> for Keyword {
    /// Case-insensitive, as keywords are.
    fn eq(&self, other: &str) -> bool {
        self.0.eq_ignore_ascii_case(other)
    }
}

impl PartialEq<&str> for Keyword {
    /// Case-insensitive, as keywords are.
    fn eq(&self, other: &&str) -> bool {
        self.0.eq_ignore_ascii_case(other)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rfc8601_2_2_keywords_are_lower_cased() {
        let k = Keyword::new("DKIM-ATPS").unwrap();
        assert_eq!(k.as_str(), "dkim-atps");
        assert_eq!(k, "Dkim-Atps");
        assert_eq!(Keyword::from_static("mailfrom").as_str(), "mailfrom");
        assert_eq!("is_org".parse::<Keyword>().unwrap().as_str(), "is_org");
    }

    #[test]
    fn rejects_separators_and_line_breaks() {
        assert_eq!(Keyword::new(""), Err(KeywordError::Empty));
        for (bad, offset, ch) in [
            ("a b", 1, ' '),
            ("spf=pass", 3, '='),
            ("header.d", 6, '.'),
            ("x\r\n", 1, '\r'),
            ("dk;im", 2, ';'),
            ("é", 0, 'é'),
        ] {
            assert_eq!(
                Keyword::new(bad),
                Err(KeywordError::InvalidChar { ch, offset }),
                "{bad:?}"
            );
        }
        let long = "a".repeat(MAX_KEYWORD_LEN + 1);
        assert_eq!(
            Keyword::new(&long),
            Err(KeywordError::TooLong {
                len: MAX_KEYWORD_LEN + 1
            })
        );
        assert!(Keyword::new(&long[1..]).is_ok());
    }

    #[test]
    fn common_keywords_are_valid_lower_case() {
        for k in [
            "spf",
            "dkim",
            "pass",
            "header",
            "d",
            "b",
            "client-ip",
            "envelope-from",
            "problem",
        ] {
            assert_eq!(common(k.as_bytes()), Some(k));
            assert_eq!(Keyword::new(k).unwrap().as_str(), k);
            assert_eq!(
                Keyword::from_checked_bytes(k.to_uppercase().as_bytes()).as_str(),
                k
            );
        }
        assert_eq!(Keyword::from_checked_bytes(b"X-Tls").as_str(), "x-tls");
    }

    #[test]
    #[should_panic(expected = "keyword must be")]
    fn from_static_refuses_upper_case() {
        let _ = Keyword::from_static("SPF");
    }

    #[test]
    fn serde_round_trip_validates() {
        let k: Keyword = serde_json::from_str("\"SPF\"").unwrap();
        assert_eq!(k.as_str(), "spf");
        assert_eq!(serde_json::to_string(&k).unwrap(), "\"spf\"");
        assert!(serde_json::from_str::<Keyword>("\"a b\"").is_err());
    }
}
