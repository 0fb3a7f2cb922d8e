//! The lexical layer shared by both parsers: CFWS (RFC 5322 §3.2.2), quoted strings
//! (RFC 5322 §3.2.4), keywords, digits and the tolerant unquoted value.

use crate::error::{ParseError, ParseErrorKind};
use crate::keyword::{Keyword, MAX_KEYWORD_LEN, is_keyword_byte};

/// A position in the input. Every error it makes carries the byte offset.
pub(crate) struct Cursor<'a> {
    input: &'a [u8],
    pos: usize,
}

impl<'a> Cursor<'a> {
    pub(crate) fn new(input: &'a [u8]) -> Cursor<'a> {
        Cursor { input, pos: 0 }
    }

    pub(crate) fn pos(&self) -> usize {
        self.pos
    }

    pub(crate) fn set_pos(&mut self, pos: usize) {
        self.pos = pos;
    }

    pub(crate) fn peek(&self) -> Option<u8> {
        self.input.get(self.pos).copied()
    }

    fn peek_at(&self, ahead: usize) -> Option<u8> {
        self.pos
            .checked_add(ahead)
            .and_then(|i| self.input.get(i).copied())
    }

    pub(crate) fn at_end(&self) -> bool {
        self.pos >= self.input.len()
    }

    fn bump(&mut self) {
        if self.pos < self.input.len() {
            self.pos += 1;
        }
    }

    /// Moves past the octets at the current position that satisfy `keep`.
    fn skip_while(&mut self, keep: impl Fn(u8) -> bool) {
        let rest = self.input.get(self.pos..).unwrap_or_default();
        self.pos += rest.iter().take_while(|&&b| keep(b)).count();
    }

    /// The character at the current position, for error messages (U+FFFD when not UTF-8).
    fn found(&self) -> Option<char> {
        let rest = self.input.get(self.pos..).filter(|r| !r.is_empty())?;
        let head = rest.get(..rest.len().min(4))?;
        let valid = match std::str::from_utf8(head) {
            Ok(s) => s,
            Err(e) => std::str::from_utf8(head.get(..e.valid_up_to())?).ok()?,
        };
        Some(valid.chars().next().unwrap_or(char::REPLACEMENT_CHARACTER))
    }

    pub(crate) fn error(&self, kind: ParseErrorKind) -> ParseError {
        ParseError::new(kind, self.pos)
    }

    pub(crate) fn expected(&self, expected: &'static str) -> ParseError {
        self.error(ParseErrorKind::Expected {
            expected,
            found: self.found(),
        })
    }

    pub(crate) fn eat(&mut self, b: u8) -> bool {
        if self.peek() == Some(b) {
            self.bump();
            true
        } else {
            false
        }
    }

    pub(crate) fn expect(&mut self, b: u8, what: &'static str) -> Result<(), ParseError> {
        if self.eat(b) {
            Ok(())
        } else {
            Err(self.expected(what))
        }
    }

    /// Length of the line break at the current position: CRLF, or a bare LF (tolerated:
    /// milters and mbox files hand over LF-only text). A CR without LF is not a line break.
    fn line_break_len(&self) -> Option<usize> {
        match (self.peek(), self.peek_at(1)) {
            (Some(b'\r'), Some(b'\n')) => Some(2),
            (Some(b'\n'), _) => Some(1),
            _ => None,
        }
    }

    /// At a CR or LF outside quoted strings and comments: skips a fold (line break followed by
    /// WSP; the WSP is left for the caller) or the line breaks and whitespace that end the field.
    /// Anything else would start a new header field and is an error.
    fn skip_line_break(&mut self) -> Result<(), ParseError> {
        let Some(len) = self.line_break_len() else {
            return Err(self.error(ParseErrorKind::BareLineBreak));
        };
        if matches!(self.peek_at(len), Some(b' ' | b'\t')) {
            self.pos += len;
            return Ok(());
        }
        let rest = self.input.get(self.pos..).unwrap_or_default();
        if rest
            .iter()
            .all(|b| matches!(b, b' ' | b'\t' | b'\r' | b'\n'))
        {
            self.pos = self.input.len();
            return Ok(());
        }
        Err(self.error(ParseErrorKind::BareLineBreak))
    }

    /// Inside a quoted string or comment, at a CR or LF: skips the line break of a fold (the
    /// following WSP is content and stays).
    fn skip_inner_fold(&mut self) -> Result<(), ParseError> {
        match self.line_break_len() {
            Some(len) if matches!(self.peek_at(len), Some(b' ' | b'\t')) => {
                self.pos += len;
                Ok(())
            }
            _ => Err(self.error(ParseErrorKind::BareLineBreak)),
        }
    }

    /// Skips CFWS (RFC 5322 §3.2.2) and returns the text of the first comment in it, if any.
    pub(crate) fn skip_cfws(&mut self) -> Result<Option<String>, ParseError> {
        let mut first = None;
        loop {
            match self.peek() {
                Some(b' ' | b'\t') => self.skip_while(|b| b == b' ' || b == b'\t'),
                Some(b'\r' | b'\n') => self.skip_line_break()?,
                Some(b'(') => {
                    let text = self.comment()?;
                    if first.is_none() {
                        first = Some(text);
                    }
                }
                _ => return Ok(first),
            }
        }
    }

    /// A comment, at its `(`: returns the text between the outer parentheses, quoted-pairs
    /// resolved, folds removed, nested comments kept with their parentheses.
    fn comment(&mut self) -> Result<String, ParseError> {
        let start = self.pos;
        self.bump();
        let mut depth = 1usize;
        let mut text = Vec::new();
        loop {
            match self.peek() {
                None => {
                    return Err(ParseError::new(ParseErrorKind::UnterminatedComment, start));
                }
                Some(b'\\') => {
                    self.bump();
                    match self.peek() {
                        None => {
                            return Err(ParseError::new(
                                ParseErrorKind::UnterminatedComment,
                                start,
                            ));
                        }
                        Some(b'\r' | b'\n') => {
                            return Err(self.error(ParseErrorKind::BareLineBreak));
                        }
                        Some(b) => {
                            text.push(b);
                            self.bump();
                        }
                    }
                }
                Some(b'(') => {
                    depth = depth.saturating_add(1);
                    text.push(b'(');
                    self.bump();
                }
                Some(b')') => {
                    self.bump();
                    depth -= 1;
                    if depth == 0 {
                        return Ok(into_string(text));
                    }
                    text.push(b')');
                }
                Some(b'\r' | b'\n') => self.skip_inner_fold()?,
                Some(b) => {
                    text.push(b);
                    self.bump();
                }
            }
        }
    }

    /// A quoted-string, at its `"`: returns the content, quoted-pairs resolved, folds removed.
    pub(crate) fn quoted_string(&mut self) -> Result<String, ParseError> {
        let start = self.pos;
        self.bump();
        let mut text = Vec::new();
        loop {
            match self.peek() {
                None => {
                    return Err(ParseError::new(
                        ParseErrorKind::UnterminatedQuotedString,
                        start,
                    ));
                }
                Some(b'"') => {
                    self.bump();
                    return Ok(into_string(text));
                }
                Some(b'\\') => {
                    self.bump();
                    match self.peek() {
                        None => {
                            return Err(ParseError::new(
                                ParseErrorKind::UnterminatedQuotedString,
                                start,
                            ));
                        }
                        Some(b'\r' | b'\n') => {
                            return Err(self.error(ParseErrorKind::BareLineBreak));
                        }
                        Some(b) => {
                            text.push(b);
                            self.bump();
                        }
                    }
                }
                Some(b'\r' | b'\n') => self.skip_inner_fold()?,
                Some(b) => {
                    text.push(b);
                    self.bump();
                }
            }
        }
    }

    /// An unquoted value, read tolerantly: everything up to whitespace, a line break, `;`, a
    /// parenthesis or a quote. Real fields put `/`, `:`, `@` and `=` in unquoted values although
    /// RFC 2045 tokens exclude them. May be empty.
    pub(crate) fn unquoted(&mut self) -> String {
        let start = self.pos;
        while let Some(b) = self.peek() {
            if matches!(b, b' ' | b'\t' | b'\r' | b'\n' | b';' | b'(' | b')' | b'"') {
                break;
            }
            self.bump();
        }
        String::from_utf8_lossy(self.input.get(start..self.pos).unwrap_or_default()).into_owned()
    }

    /// A value: a quoted-string or a tolerant unquoted run (see [`Cursor::unquoted`]).
    pub(crate) fn value(&mut self) -> Result<String, ParseError> {
        if self.peek() == Some(b'"') {
            self.quoted_string()
        } else {
            Ok(self.unquoted())
        }
    }

    /// Skips a run of keyword octets and returns where it started.
    fn keyword_run(&mut self) -> usize {
        let start = self.pos;
        self.skip_while(is_keyword_byte);
        start
    }

    /// True (and moves past it) when a keyword is at the current position.
    pub(crate) fn skip_keyword(&mut self) -> bool {
        self.keyword_run() < self.pos
    }

    /// A keyword (letters, digits, `-`, `_`), lower-cased.
    pub(crate) fn keyword(&mut self, what: &'static str) -> Result<Keyword, ParseError> {
        let start = self.keyword_run();
        let bytes = self.input.get(start..self.pos).unwrap_or_default();
        if bytes.is_empty() {
            return Err(self.expected(what));
        }
        if bytes.len() > MAX_KEYWORD_LEN {
            let keyword = String::from_utf8_lossy(bytes.get(..MAX_KEYWORD_LEN).unwrap_or_default())
                .to_ascii_lowercase();
            return Err(ParseError::new(
                ParseErrorKind::KeywordTooLong { keyword },
                start,
            ));
        }
        Ok(Keyword::from_checked_bytes(bytes))
    }

    /// True when the current octet is an ASCII digit.
    pub(crate) fn at_digit(&self) -> bool {
        self.peek().is_some_and(|b| b.is_ascii_digit())
    }

    /// A version number (`1*DIGIT`, RFC 8601 §2.2) that fits in `u32`.
    pub(crate) fn number(&mut self) -> Result<u32, ParseError> {
        let start = self.pos;
        self.skip_while(|b| b.is_ascii_digit());
        let digits = String::from_utf8_lossy(self.input.get(start..self.pos).unwrap_or_default())
            .into_owned();
        if digits.is_empty() {
            return Err(self.expected("a version number"));
        }
        digits.parse::<u32>().map_err(|_| {
            let shown: String = digits.chars().take(24).collect();
            ParseError::new(ParseErrorKind::VersionTooLarge { digits: shown }, start)
        })
    }
}

/// The octets as text, without copying when they are UTF-8 (U+FFFD for octets that are not).
fn into_string(octets: Vec<u8>) -> String {
    match String::from_utf8(octets) {
        Ok(s) => s,
        Err(e) => String::from_utf8_lossy(e.as_bytes()).into_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rfc5322_3_2_2_nested_comments_and_folds() {
        let mut c = Cursor::new(b" (a (b) \\) c\r\n d) x");
        assert_eq!(c.skip_cfws().unwrap().as_deref(), Some("a (b) ) c d"));
        assert_eq!(c.peek(), Some(b'x'));
    }

    #[test]
    fn rfc5322_3_2_4_quoted_string_unfolds_and_unescapes() {
        let mut c = Cursor::new(b"\"a\\\"b\r\n\tc;(\"rest");
        assert_eq!(c.quoted_string().unwrap(), "a\"b\tc;(");
        assert_eq!(c.unquoted(), "rest");
    }

    #[test]
    fn rfc5322_2_2_3_line_break_without_fold_is_an_error() {
        let mut c = Cursor::new(b" \r\nX-Injected: 1");
        assert_eq!(
            c.skip_cfws(),
            Err(ParseError::new(ParseErrorKind::BareLineBreak, 1))
        );
        let mut c = Cursor::new(b"\"a\r\nb\"");
        assert_eq!(
            c.quoted_string(),
            Err(ParseError::new(ParseErrorKind::BareLineBreak, 2))
        );
        let mut c = Cursor::new(b"(a\rb)");
        assert_eq!(
            c.skip_cfws(),
            Err(ParseError::new(ParseErrorKind::BareLineBreak, 2))
        );
        // The line break that ends the field is fine.
        let mut c = Cursor::new(b"  \r\n");
        assert_eq!(c.skip_cfws(), Ok(None));
        assert!(c.at_end());
    }

    #[test]
    fn unterminated_constructs_point_at_their_start() {
        let mut c = Cursor::new(b"x (open");
        c.set_pos(1);
        assert_eq!(
            c.skip_cfws(),
            Err(ParseError::new(ParseErrorKind::UnterminatedComment, 2))
        );
        let mut c = Cursor::new(b"\"open\\");
        assert_eq!(
            c.quoted_string(),
            Err(ParseError::new(ParseErrorKind::UnterminatedQuotedString, 0))
        );
    }

    #[test]
    fn keywords_and_numbers() {
        let mut c = Cursor::new(b"DKIM-atps=");
        assert_eq!(c.keyword("a method").unwrap().as_str(), "dkim-atps");
        assert_eq!(
            c.keyword("a method"),
            Err(ParseError::new(
                ParseErrorKind::Expected {
                    expected: "a method",
                    found: Some('=')
                },
                9
            ))
        );
        let mut c = Cursor::new(b"99999999999");
        assert_eq!(
            c.number(),
            Err(ParseError::new(
                ParseErrorKind::VersionTooLarge {
                    digits: "99999999999".into()
                },
                0
            ))
        );
        let long = "k".repeat(MAX_KEYWORD_LEN + 1);
        let mut c = Cursor::new(long.as_bytes());
        assert!(matches!(
            c.keyword("x"),
            Err(ParseError {
                kind: ParseErrorKind::KeywordTooLong { .. },
                offset: 0
            })
        ));
    }

    #[test]
    fn found_reports_non_utf8_as_replacement() {
        let c = Cursor::new(&[0xff, b'a']);
        assert_eq!(
            c.expected("x").kind,
            ParseErrorKind::Expected {
                expected: "x",
                found: Some(char::REPLACEMENT_CHARACTER)
            }
        );
    }
}
