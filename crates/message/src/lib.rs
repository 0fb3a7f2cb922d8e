//! A borrowed view of an Internet message (RFC 5322) for the mailstamp authentication crates.
//!
//! [`Message::parse`] splits a message into its header fields and its body **without copying**:
//! every [`HeaderField`] is a set of byte offsets into the message, and the body is the slice
//! after the blank line. What DKIM (RFC 6376) and DMARC (RFC 9989) need from a message is here:
//!
//! * the header fields in order, each with its name, its raw value bytes (folding included, so
//!   DKIM's `simple` canonicalization sees exactly what was sent) and its byte offsets;
//! * the offset of the body, and whether the blank line separating it was present;
//! * line endings: a message stored with bare LF line endings (as files on Unix usually are) is
//!   read as CRLF, the line ending of RFC 5322 §2.1 that DKIM hashes (RFC 6376 §3.4), without
//!   copying the message: the header section is normalised (a [`Cow`], borrowed when it is
//!   already CRLF) and the [`Body`] is normalised chunk by chunk as it is read;
//!   [`Message::line_endings_normalized`] says whether any bare LF was found. Offsets refer to
//!   the normalised message (see [`Message`]);
//! * the RFC5322.From author addresses and their domains ([`Message::authors`]), parsed with
//!   mail-parser (groups, comments, quoted strings and RFC 2047 encoded words), domains converted
//!   to A-labels. Several From fields or several addresses are reported as such, never silently
//!   reduced to one.
//!
//! Malformed input is never an error: obsolete folding (whitespace-only continuation lines), 8-bit
//! bytes in values, a missing body, a missing blank line and a leading mbox `From ` line are all
//! handled and reported ([`Message::anomalies`]).
//!
//! This crate does **not** decode MIME parts, transfer encodings or charsets, does not validate
//! header field syntax beyond what is needed to find field boundaries, and performs no I/O.
//!
//! # Example
//!
//! ```
//! use mailstamp_message::Message;
//!
//! let raw = b"From: Alice <alice@example.com>\nSubject: hi\n there\n\nHello.\n";
//! let msg = Message::parse(raw);
//! assert!(msg.line_endings_normalized()); // bare LF is read as CRLF
//! assert_eq!(msg.fields().len(), 2);
//! let subject = msg.fields_named("subject").next().unwrap();
//! assert_eq!(subject.value(), b" hi\r\n there");
//! assert_eq!(msg.body(), b"Hello.\r\n");
//!
//! let authors = msg.authors();
//! assert_eq!(authors.domains().len(), 1);
//! assert_eq!(authors.domains()[0].as_str(), "example.com");
//! assert!(authors.is_single_author());
//! ```
#![forbid(unsafe_code)]
#![warn(missing_docs)]

mod authors;
mod body;
pub mod envelope;
#[cfg(any(test, feature = "fuzzing"))]
pub mod fuzzing;
mod parse;

pub use authors::{Author, AuthorProblem, Authors};
pub use body::{BODY_CHUNK, Body, BodyBytes};
pub use parse::{Anomaly, HeaderField, Message};

use std::borrow::Cow;

/// Converts every bare LF (one not preceded by CR) to CRLF.
///
/// Returns the input borrowed when it has no bare LF. A lone CR is left alone: it is data, not a
/// line ending (RFC 5322 §2.3).
///
/// ```
/// use mailstamp_message::normalize_line_endings;
/// use std::borrow::Cow;
///
/// assert!(matches!(normalize_line_endings(b"a\r\nb\r\n"), Cow::Borrowed(_)));
/// assert_eq!(&*normalize_line_endings(b"a\nb\r\nc\n"), b"a\r\nb\r\nc\r\n");
/// ```
pub fn normalize_line_endings(input: &[u8]) -> Cow<'_, [u8]> {
    let first_bare = first_bare_lf(input);
    let Some(first) = first_bare else {
        return Cow::Borrowed(input);
    };
    // Every LF may grow by one byte; count them to allocate once.
    let extra = memchr::memchr_iter(b'\n', &input[first..]).count();
    let mut out = Vec::with_capacity(input.len().saturating_add(extra));
    out.extend_from_slice(&input[..first]);
    let mut last = first;
    for pos in memchr::memchr_iter(b'\n', &input[first..]).map(|p| p + first) {
        let bare = pos == 0 || input.get(pos - 1) != Some(&b'\r');
        if bare {
            out.extend_from_slice(&input[last..pos]);
            out.extend_from_slice(b"\r\n");
            last = pos + 1;
        }
    }
    out.extend_from_slice(&input[last..]);
    Cow::Owned(out)
}

/// Position of the first LF not preceded by CR. Blocks of 64 bytes are checked with
/// branch-free code the compiler vectorizes; most messages are scanned without a single match.
fn first_bare_lf(input: &[u8]) -> Option<usize> {
    const BLOCK: usize = 64;
    let is_bare = |pos: usize| input[pos] == b'\n' && (pos == 0 || input[pos - 1] != b'\r');
    if input.first() == Some(&b'\n') {
        return Some(0);
    }
    let mut i = 1;
    while let (Some(cur), Some(prev)) = (input.get(i..i + BLOCK), input.get(i - 1..i - 1 + BLOCK)) {
        let hit = cur
            .iter()
            .zip(prev)
            .map(|(&c, &p)| u8::from(c == b'\n') & u8::from(p != b'\r'))
            .fold(0u8, |acc, x| acc | x);
        if hit != 0 {
            return (i..i + BLOCK).find(|&p| is_bare(p));
        }
        i += BLOCK;
    }
    (i..input.len()).find(|&p| is_bare(p))
}
