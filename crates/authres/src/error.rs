//! Parse errors: what went wrong and where.

/// A field that could not be parsed, with the byte offset of the problem in the parser's input.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error, serde::Serialize)]
#[error("{kind} at byte {offset}")]
pub struct ParseError {
    /// What went wrong.
    pub kind: ParseErrorKind,
    /// Byte offset in the input where it went wrong.
    pub offset: usize,
}

impl ParseError {
    pub(crate) fn new(kind: ParseErrorKind, offset: usize) -> ParseError {
        ParseError { kind, offset }
    }
}

/// The kinds of [`ParseError`].
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error, serde::Serialize)]
#[non_exhaustive]
pub enum ParseErrorKind {
    /// Something else was expected here; `found` is the offending character (`None` at the end
    /// of the input; U+FFFD for an octet that is not UTF-8).
    #[error("expected {expected}, found {}", describe(*.found))]
    Expected {
        /// What the grammar allows here.
        expected: &'static str,
        /// What the input holds instead.
        found: Option<char>,
    },
    /// A quoted-string has no closing `"` (RFC 5322 §3.2.4).
    #[error("quoted string is not terminated")]
    UnterminatedQuotedString,
    /// A comment has no closing `)` (RFC 5322 §3.2.2).
    #[error("comment is not terminated")]
    UnterminatedComment,
    /// A CR or LF that does not start a fold (CRLF followed by a space or tab) and is not the
    /// end of the field: it would end the field and start another (RFC 5322 §2.2.3).
    #[error("line break that is not a fold")]
    BareLineBreak,
    /// A method, result, ptype, property or key is longer than
    /// [`MAX_KEYWORD_LEN`](crate::MAX_KEYWORD_LEN) octets.
    #[error(
        "keyword {keyword:?}… is longer than {} octets",
        crate::MAX_KEYWORD_LEN
    )]
    KeywordTooLong {
        /// Its first octets.
        keyword: String,
    },
    /// A version number (RFC 8601 §2.6) does not fit in 32 bits.
    #[error("version number {digits} is too large")]
    VersionTooLarge {
        /// The digits as written.
        digits: String,
    },
    /// The field starts with something that is neither an authserv-id nor a result.
    #[error("expected an authserv-id")]
    MissingAuthservId,
    /// A Received-SPF result that RFC 7208 §9.1 does not define.
    #[error("unknown Received-SPF result {token:?}")]
    UnknownResult {
        /// The word as written.
        token: String,
    },
}

fn describe(found: Option<char>) -> String {
    match found {
        None => "end of input".to_owned(),
        Some(c) => format!("{c:?}"),
    }
}
