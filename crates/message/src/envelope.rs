//! The SMTP envelope of a received message, recovered from its header (`--from-received`).
//!
//! SPF (RFC 7208) checks the SMTP client's IP address, its HELO name and the MAIL FROM
//! reverse-path: facts of the SMTP session, not of the message. When only the stored message is
//! at hand, the receiving MTA's trace fields still hold them:
//!
//! * the client IP and the HELO name come from the **newest `Received` field that has a `from`
//!   clause** (RFC 5321 §4.4: `Received: from HELO (TCP-info) by ...`). Received fields are
//!   prepended, so the newest is the first in the header. Fields without a `from` clause record
//!   no SMTP client (Gmail's internal `Received: by 2002:... with SMTP id ...`, Postfix's
//!   `Received: by host (Postfix, from userid 1000)`, qmail's `Received: (qmail 1 invoked ...)`)
//!   and are passed over; the first field that does have a `from` clause is used, and if it names
//!   no client IP that is an error (older fields describe other hops and are never used instead);
//! * MAIL FROM comes from the first `Return-Path` field, which the final delivery MTA writes
//!   from the reverse-path (RFC 5321 §4.4, RFC 5322 §3.6.7). `<>` is the null reverse-path of a
//!   bounce. Without a Return-Path field MAIL FROM is unknown.
//!
//! This is only as trustworthy as the MTA that wrote the field: use it for messages whose
//! newest Received field was written by your own receiving MTA. No trusted-hop configuration is
//! applied: an internal relay hop that was added after the MX hop (a content filter re-injecting
//! over SMTP from `localhost`, Microsoft 365's internal hops) is what gets used.
//!
//! # Formats understood
//!
//! The `from` clause is `from` TOKEN followed by comments (nested comments and quoted pairs are
//! handled, folding and comments anywhere are whitespace). The client IP is the first address
//! found in those comments, else the TOKEN itself when it is an address literal; the HELO name is
//! an explicit `helo=NAME` (Exim) or `(HELO NAME)` (qmail) when present, else the TOKEN:
//!
//! | MTA | `from` clause | HELO | client IP |
//! |---|---|---|---|
//! | Postfix | `from HELO (rdns [192.0.2.1])`, `(unknown [IPv6:2001:db8::1])` | HELO | literal |
//! | Sendmail | `from HELO (user@rdns [192.0.2.1] (may be forged))`, `([IPv6:...])` | HELO | literal |
//! | Gmail | `from HELO (rdns. [2607:f8b0::1])` | HELO | literal |
//! | Exim | `from rdns ([192.0.2.1]:port helo=HELO)`, `from [192.0.2.1] (port=N helo=HELO)` | `helo=`, else TOKEN | literal, else TOKEN |
//! | Microsoft | `from HELO (192.0.2.1)`, `from HELO (2603:10b6::8)` | HELO | bare address |
//! | qmail | `from rdns (HELO name) (192.0.2.1)` | `HELO` comment | bare address |
//!
//! Address literals are `[192.0.2.1]`, `[IPv6:2001:db8::1]` (RFC 5321 §4.1.3) and the untagged
//! `[2001:db8::1]` Exim and Gmail write, optionally followed by `:port`. An IPv4-mapped IPv6
//! address (`::ffff:192.0.2.1`) is returned as the IPv4 address, which is what SPF checks
//! (RFC 7208 §5). A HELO name is returned as written (a trailing dot or an address literal
//! included); non-UTF-8 bytes are replaced by U+FFFD.
//!
//! # Header fields
//!
//! The envelope is read from the header fields a [`Message`] view has already found, so a
//! message is split into fields once: [`Envelope::from_view`] for a parsed message,
//! [`Envelope::from_message`] for raw bytes (it parses them first). A caller with another header
//! parser passes its fields to [`Envelope::from_fields`].
//!
//! # Example
//!
//! ```
//! use mailstamp_message::envelope::Envelope;
//!
//! let message = b"Return-Path: <alice@sender.example>\r\n\
//! Received: from mail.sender.example (mail.sender.example [192.0.2.10])\r\n\
//! \tby mx.receiver.example (Postfix) with ESMTPS id 4T9xYz1AbCz9vQ\r\n\
//! \tfor <bob@receiver.example>; Mon,  5 Jan 2026 10:00:00 +0000 (UTC)\r\n\
//! From: Alice <alice@sender.example>\r\n\
//! \r\n\
//! Hello\r\n";
//! let envelope = Envelope::from_message(message)?;
//! assert_eq!(envelope.client_ip.to_string(), "192.0.2.10");
//! assert_eq!(envelope.helo, "mail.sender.example");
//! assert_eq!(envelope.mail_from.as_deref(), Some("alice@sender.example"));
//! # Ok::<(), mailstamp_message::envelope::EnvelopeError>(())
//! ```

use crate::Message;
use serde::Serialize;
use std::borrow::Cow;
use std::fmt;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

/// How many characters of a field an error quotes.
const EXCERPT_CHARS: usize = 160;

/// The SMTP envelope of a message: who connected, how it introduced itself, and the reverse-path.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize)]
pub struct Envelope {
    /// The SMTP client's IP address (SPF's `<ip>`, RFC 7208 §4.1).
    pub client_ip: IpAddr,
    /// The name the client gave in HELO or EHLO (RFC 5321 §4.1.1.1), as written.
    pub helo: String,
    /// The MAIL FROM reverse-path without its angle brackets: `None` when unknown,
    /// `Some("")` for the null reverse-path `<>` (RFC 5321 §4.5.5).
    pub mail_from: Option<String>,
}

/// The client named by the `from` clause of one Received field.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct ReceivedFrom {
    /// The SMTP client's IP address.
    pub client_ip: IpAddr,
    /// The HELO or EHLO name, as written.
    pub helo: String,
}

/// One header field handed to [`Envelope::from_fields`]: any header parser can supply these.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RawField<'a> {
    /// The field name, e.g. `Received` (compared case-insensitively).
    pub name: &'a [u8],
    /// The raw value after the colon, folding included.
    pub value: &'a [u8],
    /// Byte offset of the field in the message, used in error messages.
    pub offset: usize,
}

/// What is wrong with the `from` clause of a Received field.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum ReceivedProblem {
    /// `from` is followed by nothing (RFC 5321 §4.4 requires the client's domain or literal).
    NoHelo,
    /// Neither the comments nor the `from` token hold an IP address (e.g. Exim's
    /// `from user by host with local`: a local submission, no SMTP client).
    NoClientIp,
    /// An address literal that is not an IPv4 or IPv6 address (RFC 5321 §4.1.3); the literal
    /// as written.
    BadAddressLiteral(String),
}

impl fmt::Display for ReceivedProblem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ReceivedProblem::NoHelo => f.write_str("\"from\" names no client"),
            ReceivedProblem::NoClientIp => {
                f.write_str("the \"from\" clause holds no client IP address")
            }
            ReceivedProblem::BadAddressLiteral(literal) => {
                write!(f, "{literal} is not an IP address literal")
            }
        }
    }
}

/// Why the envelope could not be recovered.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum EnvelopeError {
    /// The header has no Received field: the SMTP client is unknown.
    #[error("the message has no Received field, so its SMTP client is unknown (RFC 5321 §4.4)")]
    NoReceived,
    /// No Received field has a `from` clause naming an SMTP client.
    #[error(
        "none of the {count} Received field(s) has a \"from\" clause naming the SMTP client \
         (RFC 5321 §4.4)"
    )]
    NoFromClause {
        /// How many Received fields there are.
        count: usize,
    },
    /// The newest Received field with a `from` clause does not give a usable client.
    #[error("Received field at byte {offset}: {problem}: {excerpt}")]
    Received {
        /// Byte offset of the field in the message.
        offset: usize,
        /// What is missing or wrong.
        problem: ReceivedProblem,
        /// The field value, unfolded and shortened, for the error message.
        excerpt: String,
    },
    /// The Return-Path field is not a reverse-path (RFC 5321 §4.1.2, RFC 5322 §3.6.7).
    #[error(
        "Return-Path field at byte {offset} is not a reverse-path <address> or <> \
         (RFC 5321 §4.1.2): {excerpt}"
    )]
    ReturnPath {
        /// Byte offset of the field in the message.
        offset: usize,
        /// The field value, unfolded and shortened.
        excerpt: String,
    },
}

impl Envelope {
    /// Recovers the envelope from a raw message (CRLF or LF line endings).
    ///
    /// Parses the message ([`Message::parse`]); a caller that holds the parsed view already
    /// uses [`Envelope::from_view`] instead.
    pub fn from_message(message: &[u8]) -> Result<Envelope, EnvelopeError> {
        Envelope::from_view(&Message::parse(message))
    }

    /// Recovers the envelope from the header fields of a parsed message. Error offsets refer to
    /// [`Message::head`] (the CRLF-normalised bytes before the body).
    pub fn from_view(message: &Message<'_>) -> Result<Envelope, EnvelopeError> {
        Envelope::from_fields(message.fields().map(|field| RawField {
            name: field.name_bytes(),
            value: field.value(),
            offset: field.offset(),
        }))
    }

    /// Recovers the envelope from header fields in message order (newest trace field first).
    pub fn from_fields<'a>(
        fields: impl IntoIterator<Item = RawField<'a>>,
    ) -> Result<Envelope, EnvelopeError> {
        let mut received_count = 0usize;
        let mut client: Option<ReceivedFrom> = None;
        let mut return_path: Option<RawField<'a>> = None;
        for field in fields {
            if field.name.eq_ignore_ascii_case(b"Return-Path") {
                return_path = return_path.or(Some(field));
            } else if field.name.eq_ignore_ascii_case(b"Received") && client.is_none() {
                received_count = received_count.saturating_add(1);
                match parse_received(field.value) {
                    Ok(Some(from)) => client = Some(from),
                    Ok(None) => {}
                    Err(problem) => {
                        return Err(EnvelopeError::Received {
                            offset: field.offset,
                            problem,
                            excerpt: excerpt(field.value),
                        });
                    }
                }
            }
        }
        let client = match client {
            Some(c) => c,
            None if received_count == 0 => return Err(EnvelopeError::NoReceived),
            None => {
                return Err(EnvelopeError::NoFromClause {
                    count: received_count,
                });
            }
        };
        let mail_from =
            match return_path {
                None => None,
                Some(field) => Some(parse_return_path(field.value).ok_or_else(|| {
                    EnvelopeError::ReturnPath {
                        offset: field.offset,
                        excerpt: excerpt(field.value),
                    }
                })?),
            };
        Ok(Envelope {
            client_ip: client.client_ip,
            helo: client.helo,
            mail_from,
        })
    }
}

/// Parses the value of one Received field (after the colon, folding allowed).
///
/// `Ok(None)` when the field has no `from` clause (its first word, after any comments, is not
/// `from`); otherwise the client it names, or what is missing. See the
/// [module documentation](self) for the formats understood.
///
/// ```
/// use mailstamp_message::envelope::parse_received;
///
/// let exim = b" from mail.example.org ([2001:db8::7]:41234 helo=smtp.example.org)\r\n\tby mx";
/// let from = parse_received(exim).unwrap().unwrap();
/// assert_eq!(from.client_ip.to_string(), "2001:db8::7");
/// assert_eq!(from.helo, "smtp.example.org");
/// assert_eq!(parse_received(b" by 2002:a05:6a10::1 with SMTP id x; Mon, 5 Jan 2026"), Ok(None));
/// ```
pub fn parse_received(value: &[u8]) -> Result<Option<ReceivedFrom>, ReceivedProblem> {
    let mut lexer = Lexer::new(value);
    lexer.skip_cfws();
    if !lexer.word().eq_ignore_ascii_case(b"from") {
        return Ok(None);
    }
    lexer.skip_whitespace();
    let token = lexer.word();
    if token.is_empty() {
        return Err(ReceivedProblem::NoHelo);
    }
    let mut client_ip: Option<IpAddr> = None;
    let mut bad_literal: Option<String> = None;
    let mut helo: Option<String> = None;
    loop {
        lexer.skip_whitespace();
        if lexer.peek() != Some(b'(') {
            break;
        }
        let comment = lexer.comment();
        let mut words = comment
            .split(|b| is_whitespace(*b))
            .filter(|w| !w.is_empty());
        let mut first = true;
        while let Some(word) = words.next() {
            let is_first = std::mem::replace(&mut first, false);
            if word.starts_with(b"[") {
                if client_ip.is_none() {
                    match parse_address_literal(word) {
                        Some(ip) => client_ip = Some(ip),
                        None => {
                            bad_literal.get_or_insert_with(|| lossy(word));
                        }
                    }
                }
            } else if let Some(name) = strip_prefix_ignore_case(word, b"helo=") {
                if !name.is_empty() {
                    helo = Some(lossy(name));
                }
            } else if is_first
                && (word.eq_ignore_ascii_case(b"HELO") || word.eq_ignore_ascii_case(b"EHLO"))
            {
                if let Some(name) = words.next() {
                    helo = Some(lossy(name));
                }
            } else if client_ip.is_none()
                && let Some(ip) = parse_bare_address(word)
            {
                client_ip = Some(ip);
            }
        }
    }
    if client_ip.is_none() && token.starts_with(b"[") {
        match parse_address_literal(token) {
            Some(ip) => client_ip = Some(ip),
            None => {
                bad_literal.get_or_insert_with(|| lossy(token));
            }
        }
    }
    match (client_ip, bad_literal) {
        (Some(client_ip), _) => Ok(Some(ReceivedFrom {
            client_ip,
            helo: helo.unwrap_or_else(|| lossy(token)),
        })),
        (None, Some(literal)) => Err(ReceivedProblem::BadAddressLiteral(literal)),
        (None, None) => Err(ReceivedProblem::NoClientIp),
    }
}

/// Parses the value of a Return-Path field into the reverse-path without angle brackets
/// (`""` for `<>`). A source route (`<@relay:user@example.org>`, RFC 5321 §4.1.2 A-d-l) is
/// dropped; a bare address without angle brackets is accepted. `None` when the value is empty or
/// not a path.
///
/// ```
/// use mailstamp_message::envelope::parse_return_path;
///
/// assert_eq!(parse_return_path(b" <>").as_deref(), Some(""));
/// assert_eq!(parse_return_path(b" <a@example.org> (bounce)").as_deref(), Some("a@example.org"));
/// assert_eq!(parse_return_path(b" "), None);
/// ```
pub fn parse_return_path(value: &[u8]) -> Option<String> {
    let mut lexer = Lexer::new(value);
    lexer.skip_cfws();
    let path: &[u8] = if lexer.peek() == Some(b'<') {
        lexer.pos = lexer.pos.saturating_add(1);
        let start = lexer.pos;
        let end = lexer.find_outside_quotes(b'>')?;
        let inner = value.get(start..end)?;
        lexer.pos = end.saturating_add(1);
        lexer.skip_cfws();
        if lexer.peek().is_some() {
            return None;
        }
        trim(inner)
    } else {
        let word = lexer.word();
        lexer.skip_cfws();
        if word.is_empty() || lexer.peek().is_some() {
            return None;
        }
        word
    };
    // Drop a source route: "@a,@b:" before the mailbox.
    let path = if path.starts_with(b"@") {
        let colon = Lexer::new(path).find_outside_quotes(b':')?;
        trim(path.get(colon.saturating_add(1)..)?)
    } else {
        path
    };
    // Whitespace is only allowed inside a quoted local part (`<"john doe"@example.org>`).
    if path.iter().any(|&b| is_whitespace(b)) && !path.contains(&b'"') {
        return None;
    }
    Some(lossy(path))
}

/// Space, tab, CR and LF: folding is whitespace.
fn is_whitespace(b: u8) -> bool {
    matches!(b, b' ' | b'\t' | b'\r' | b'\n')
}

fn trim(bytes: &[u8]) -> &[u8] {
    let start = bytes.iter().position(|&b| !is_whitespace(b));
    let end = bytes.iter().rposition(|&b| !is_whitespace(b));
    match (start, end) {
        (Some(s), Some(e)) => bytes.get(s..=e).unwrap_or_default(),
        _ => &[],
    }
}

fn lossy(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

fn strip_prefix_ignore_case<'a>(word: &'a [u8], prefix: &[u8]) -> Option<&'a [u8]> {
    let (head, rest) = word.split_at_checked(prefix.len())?;
    head.eq_ignore_ascii_case(prefix).then_some(rest)
}

/// `[192.0.2.1]`, `[IPv6:2001:db8::1]`, `[2001:db8::1]`, each optionally followed by `:port`
/// (or any other suffix after the `]`).
fn parse_address_literal(word: &[u8]) -> Option<IpAddr> {
    let inner = word.strip_prefix(b"[")?;
    let close = inner.iter().position(|&b| b == b']')?;
    let inner = std::str::from_utf8(inner.get(..close)?).ok()?;
    let ip = match strip_prefix_ignore_case(inner.as_bytes(), b"IPv6:") {
        Some(v6) => IpAddr::V6(std::str::from_utf8(v6).ok()?.parse::<Ipv6Addr>().ok()?),
        None => inner.parse::<IpAddr>().ok()?,
    };
    Some(ip.to_canonical())
}

/// A bare address as Microsoft and qmail write it: `192.0.2.1` or `2603:10b6::8`.
fn parse_bare_address(word: &[u8]) -> Option<IpAddr> {
    let word = word.strip_suffix(b",").unwrap_or(word);
    let text = std::str::from_utf8(word).ok()?;
    if let Ok(v4) = text.parse::<Ipv4Addr>() {
        return Some(IpAddr::V4(v4));
    }
    // At least two colons: not a "key:value" word.
    if text.bytes().filter(|&b| b == b':').count() >= 2 {
        return text
            .parse::<Ipv6Addr>()
            .ok()
            .map(|ip| IpAddr::V6(ip).to_canonical());
    }
    None
}

/// A field value unfolded, runs of whitespace and control characters collapsed to one space,
/// shortened to [`EXCERPT_CHARS`] characters: safe to print on one line.
fn excerpt(value: &[u8]) -> String {
    let text = String::from_utf8_lossy(value);
    let mut out = String::new();
    let mut chars = 0usize;
    let mut pending_space = false;
    for c in text.chars() {
        if c.is_whitespace() || c.is_control() {
            pending_space = !out.is_empty();
            continue;
        }
        let needed = if pending_space { 2 } else { 1 };
        if chars.saturating_add(needed) > EXCERPT_CHARS {
            out.push('…');
            break;
        }
        if pending_space {
            out.push(' ');
            pending_space = false;
        }
        out.push(c);
        chars = chars.saturating_add(needed);
    }
    out
}

/// A cursor over a field value.
struct Lexer<'a> {
    text: &'a [u8],
    pos: usize,
}

impl<'a> Lexer<'a> {
    fn new(text: &'a [u8]) -> Self {
        Lexer { text, pos: 0 }
    }

    fn peek(&self) -> Option<u8> {
        self.text.get(self.pos).copied()
    }

    fn skip_whitespace(&mut self) {
        while self.peek().is_some_and(is_whitespace) {
            self.pos = self.pos.saturating_add(1);
        }
    }

    /// Skips whitespace and comments (RFC 5322 §3.2.2 CFWS).
    fn skip_cfws(&mut self) {
        loop {
            self.skip_whitespace();
            if self.peek() == Some(b'(') {
                self.comment_into(None);
            } else {
                return;
            }
        }
    }

    /// The run of bytes up to whitespace, `(` or `;`.
    fn word(&mut self) -> &'a [u8] {
        let start = self.pos;
        while self
            .peek()
            .is_some_and(|b| !is_whitespace(b) && b != b'(' && b != b';')
        {
            self.pos = self.pos.saturating_add(1);
        }
        self.text.get(start..self.pos).unwrap_or_default()
    }

    /// Consumes a comment starting at `(` (nested comments and quoted pairs included, an
    /// unterminated comment runs to the end) and returns its top-level text, nested comments
    /// replaced by a space. A comment without nested comments or quoted pairs (the usual
    /// case) is borrowed from the text.
    fn comment(&mut self) -> Cow<'a, [u8]> {
        let text = self.text;
        let body = self.pos.saturating_add(1);
        if let Some(rest) = text.get(body..)
            && let Some(end) = memchr::memchr3(b'(', b')', b'\\', rest)
            && rest.get(end) == Some(&b')')
        {
            self.pos = body.saturating_add(end).saturating_add(1);
            return Cow::Borrowed(rest.get(..end).unwrap_or_default());
        }
        let mut out = Vec::new();
        self.comment_into(Some(&mut out));
        Cow::Owned(out)
    }

    /// Consumes a comment starting at `(` as [`Lexer::comment`] does, appending its top-level
    /// text to `out` when given.
    fn comment_into(&mut self, mut out: Option<&mut Vec<u8>>) {
        let mut depth = 0usize;
        let mut keep = |b: u8| {
            if let Some(out) = out.as_deref_mut() {
                out.push(b);
            }
        };
        while let Some(b) = self.peek() {
            self.pos = self.pos.saturating_add(1);
            match b {
                b'(' => {
                    depth = depth.saturating_add(1);
                    if depth > 1 {
                        keep(b' ');
                    }
                }
                b')' => {
                    depth = depth.saturating_sub(1);
                    if depth == 0 {
                        break;
                    }
                }
                b'\\' => {
                    if let Some(next) = self.peek() {
                        self.pos = self.pos.saturating_add(1);
                        if depth == 1 {
                            keep(next);
                        }
                    }
                }
                _ if depth == 1 => keep(b),
                _ => {}
            }
        }
    }

    /// Position of the first `wanted` byte at or after the cursor that is not inside a quoted
    /// string (RFC 5322 §3.2.4), without moving the cursor.
    fn find_outside_quotes(&self, wanted: u8) -> Option<usize> {
        let mut quoted = false;
        let mut escaped = false;
        for (i, &b) in self.text.iter().enumerate().skip(self.pos) {
            if escaped {
                escaped = false;
            } else if b == b'\\' {
                escaped = true;
            } else if b == b'"' {
                quoted = !quoted;
            } else if b == wanted && !quoted {
                return Some(i);
            }
        }
        None
    }
}

#[cfg(test)]
mod tests;
