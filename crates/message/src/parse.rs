//! Splitting a message into header fields and body.

use crate::authors::Authors;
use crate::body::Body;
use serde::Serialize;
use std::borrow::Cow;

/// Something unusual found while splitting a message. None of these is an error: the message is
/// still split, and the anomaly tells how.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
#[non_exhaustive]
pub enum Anomaly {
    /// The message starts with an mbox `From ` separator line, which was skipped (it is not a
    /// header field).
    MboxFromLine {
        /// Byte offset of the line (always 0).
        offset: usize,
    },
    /// A line in the header section is neither a header field, nor a continuation, nor the
    /// empty line: the header section ends there and the body starts at that line, without
    /// the blank line RFC 5322 §2.1 requires.
    MissingSeparator {
        /// Byte offset of the line that starts the body (in the normalised message).
        offset: usize,
        /// Its line number, counting from 1 at the first line of the input (an mbox `From `
        /// line included), for people who open the file.
        line: usize,
    },
    /// The message has no body: the header section runs to the end of the input, without a
    /// blank line.
    NoBody,
    /// The last line of the message has no line ending.
    NoFinalLineEnding,
}

/// Byte offsets of one header field inside [`Message::head`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct FieldSpan {
    /// First byte of the field name.
    start: usize,
    /// End of the field name (exclusive): whitespace before the colon is not part of it.
    name_end: usize,
    /// First byte after the colon.
    value_start: usize,
    /// End of the field without its final line ending (exclusive).
    end: usize,
    /// End of the field including its final CRLF (equal to `end` when the message ends there).
    line_end: usize,
}

/// One header field: a view into the message bytes.
///
/// The value is raw: it keeps the folding CRLFs, the whitespace after the colon and any 8-bit
/// bytes, exactly as needed by DKIM's `simple` header canonicalization (RFC 6376 §3.4.1).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct HeaderField<'m> {
    bytes: &'m [u8],
    span: FieldSpan,
    index: usize,
}

impl<'m> HeaderField<'m> {
    /// The field name as written (case preserved), without any whitespace before the colon.
    /// Field names are printable ASCII (RFC 5322 §2.2), which the parser enforces.
    pub fn name(&self) -> &'m str {
        std::str::from_utf8(&self.bytes[self.span.start..self.span.name_end]).unwrap_or_default()
    }

    /// The field name as bytes (printable ASCII).
    pub fn name_bytes(&self) -> &'m [u8] {
        &self.bytes[self.span.start..self.span.name_end]
    }

    /// The raw value: every byte after the colon up to (not including) the CRLF that ends the
    /// field. Folding CRLFs inside the value are kept.
    pub fn value(&self) -> &'m [u8] {
        &self.bytes[self.span.value_start..self.span.end]
    }

    /// The whole field as written (`Name: value`), without the CRLF that ends it.
    pub fn raw(&self) -> &'m [u8] {
        &self.bytes[self.span.start..self.span.end]
    }

    /// The whole field with the CRLF that ends it (when the message did not end first).
    pub fn raw_with_line_ending(&self) -> &'m [u8] {
        &self.bytes[self.span.start..self.span.line_end]
    }

    /// The bytes between the end of the name and the colon (obsolete syntax allows whitespace
    /// there, RFC 5322 §4.5); usually empty.
    pub fn before_colon(&self) -> &'m [u8] {
        &self.bytes[self.span.name_end..self.span.value_start.saturating_sub(1)]
    }

    /// Byte offset of the field's first byte in the normalised message ([`Message::head`]).
    pub fn offset(&self) -> usize {
        self.span.start
    }

    /// Byte offset of the first value byte (just after the colon) in the normalised message ([`Message::head`]).
    pub fn value_offset(&self) -> usize {
        self.span.value_start
    }

    /// Byte offset just past the field, its final CRLF included, in the normalised message ([`Message::head`]).
    pub fn end_offset(&self) -> usize {
        self.span.line_end
    }

    /// Position of the field in the header section (0 = topmost).
    pub fn index(&self) -> usize {
        self.index
    }

    /// Case-insensitive name comparison (RFC 5322 §1.2.2).
    pub fn is_named(&self, name: &str) -> bool {
        self.name_bytes().eq_ignore_ascii_case(name.as_bytes())
    }

    /// True when the field is longer than one line (it contains a folding CRLF).
    pub fn is_folded(&self) -> bool {
        memchr::memchr(b'\n', self.value()).is_some()
    }
}

/// A parsed message: header fields as offsets into the CRLF-normalised head of the message,
/// and the body as a view of the input that is normalised as it is read.
///
/// **Offsets** ([`HeaderField::offset`], [`Message::body_offset`], [`Anomaly`] offsets) refer
/// to the message as it reads with every bare LF taken as CRLF (for a CRLF message, the input
/// itself). The bytes before the body are kept in that form ([`Message::head`]); the body is
/// not copied: [`Message::body`] reads the input and hands out CRLF chunks, so a bare-LF
/// message costs no second copy of its body (peak memory stays the size of the message plus
/// its header section and one chunk).
///
/// See the [crate documentation](crate) for what is parsed and how malformed input is handled.
#[derive(Debug, Clone)]
pub struct Message<'a> {
    input: &'a [u8],
    /// The bytes before the body (mbox line, fields, blank line), CRLF-normalised.
    head: Cow<'a, [u8]>,
    /// The body as stored in the input.
    body_raw: &'a [u8],
    /// The body holds a bare LF.
    body_bare_lf: bool,
    normalized: bool,
    fields: Vec<FieldSpan>,
    header_start: usize,
    header_end: usize,
    body_offset: usize,
    separator: bool,
    anomalies: Vec<Anomaly>,
}

/// The result of splitting bytes into fields and body.
struct Split {
    fields: Vec<FieldSpan>,
    header_start: usize,
    header_end: usize,
    body_offset: usize,
    separator: bool,
    anomalies: Vec<Anomaly>,
}

fn is_wsp(b: u8) -> bool {
    b == b' ' || b == b'\t'
}

/// Length of the field name at the start of `line` and the offset just past the colon, when
/// `line` starts a header field: `ftext+ *WSP ":"` (RFC 5322 §2.2 and obs-optional §4.5).
fn field_start(line: &[u8]) -> Option<(usize, usize)> {
    let name_len = line
        .iter()
        .position(|&b| !(33..=126).contains(&b) || b == b':')
        .unwrap_or(line.len());
    if name_len == 0 {
        return None;
    }
    let rest = line.get(name_len..)?;
    let wsp = rest.iter().position(|&b| !is_wsp(b)).unwrap_or(rest.len());
    match rest.get(wsp) {
        Some(b':') => Some((name_len, name_len + wsp + 1)),
        _ => None,
    }
}

/// How many header fields [`split`] makes room for before the first one.
const FIELDS_AT_ONCE: usize = 16;

/// Splits `b` into header fields and body; lines end in CRLF or in a bare LF.
fn split(b: &[u8]) -> Split {
    let len = b.len();
    let mut pos = 0;
    let mut line_number = 1;
    // Room for a usual header section at once (growing from empty reallocates three times
    // by the tenth field).
    let mut fields: Vec<FieldSpan> = Vec::with_capacity(FIELDS_AT_ONCE);
    let mut anomalies = Vec::new();
    if b.starts_with(b"From ") {
        anomalies.push(Anomaly::MboxFromLine { offset: 0 });
        pos = memchr::memchr(b'\n', b).map_or(len, |p| p + 1);
        line_number += 1;
    }
    let header_start = pos;
    let (header_end, body_offset, separator) = loop {
        if pos >= len {
            anomalies.push(Anomaly::NoBody);
            break (len, len, false);
        }
        let (content_end, next) = match memchr::memchr(b'\n', &b[pos..]) {
            Some(rel) => {
                let eol = pos + rel;
                let content_end = if eol > pos && b[eol - 1] == b'\r' {
                    eol - 1
                } else {
                    eol
                };
                (content_end, eol + 1)
            }
            None => {
                anomalies.push(Anomaly::NoFinalLineEnding);
                (len, len)
            }
        };
        let line = &b[pos..content_end];
        if line.is_empty() {
            break (pos, next, true);
        }
        if is_wsp(line[0]) {
            if let Some(cur) = fields.last_mut() {
                cur.end = content_end;
                cur.line_end = next;
            } else {
                anomalies.push(Anomaly::MissingSeparator {
                    offset: pos,
                    line: line_number,
                });
                break (pos, pos, false);
            }
        } else if let Some((name_len, after_colon)) = field_start(line) {
            fields.push(FieldSpan {
                start: pos,
                name_end: pos + name_len,
                value_start: pos + after_colon,
                end: content_end,
                line_end: next,
            });
        } else {
            anomalies.push(Anomaly::MissingSeparator {
                offset: pos,
                line: line_number,
            });
            break (pos, pos, false);
        }
        pos = next;
        line_number += 1;
    };
    if body_offset < len && !b.ends_with(b"\n") && !anomalies.contains(&Anomaly::NoFinalLineEnding)
    {
        anomalies.push(Anomaly::NoFinalLineEnding);
    }
    Split {
        fields,
        header_start,
        header_end,
        body_offset,
        separator,
        anomalies,
    }
}

impl<'a> Message<'a> {
    /// Splits a message. Never fails: see [`Anomaly`] for what is tolerated.
    ///
    /// Lines may end in CRLF or in a bare LF, which is read as CRLF (RFC 5322 §2.1; see
    /// [`crate::normalize_line_endings`]). Only the bytes before the body are copied, and only
    /// when they hold a bare LF; all offsets refer to the normalised message (see [`Message`]).
    pub fn parse(input: &'a [u8]) -> Message<'a> {
        // A line's content ends before its CR LF or its bare LF, so splitting the input finds
        // the same lines as splitting its normalised form, and gives the body's place in the
        // input.
        let raw = split(input);
        let (head_raw, body_raw) = input.split_at(raw.body_offset.min(input.len()));
        let head = crate::normalize_line_endings(head_raw);
        let body_bare_lf = crate::first_bare_lf(body_raw).is_some();
        let head_normalized = matches!(head, Cow::Owned(_));
        // The field offsets in the normalised head (the input's own when nothing changed).
        let (fields, header_start, header_end) = if head_normalized {
            let norm = split(&head);
            (norm.fields, norm.header_start, norm.header_end)
        } else {
            (raw.fields, raw.header_start, raw.header_end)
        };
        let body_offset = head.len();
        let anomalies = raw
            .anomalies
            .into_iter()
            .map(|a| match a {
                Anomaly::MissingSeparator { line, .. } => Anomaly::MissingSeparator {
                    offset: body_offset,
                    line,
                },
                other => other,
            })
            .collect();
        Message {
            input,
            head,
            body_raw,
            body_bare_lf,
            normalized: head_normalized || body_bare_lf,
            fields,
            header_start,
            header_end,
            body_offset,
            separator: raw.separator,
            anomalies,
        }
    }

    /// The input, exactly as given to [`Message::parse`] (line endings not normalised).
    pub fn input(&self) -> &'a [u8] {
        self.input
    }

    /// The bytes before the body, CRLF-normalised: a leading mbox `From ` line, the header
    /// fields and the blank line. Every field offset indexes into these.
    pub fn head(&self) -> &[u8] {
        &self.head
    }

    /// The length of the normalised message: [`Message::body_offset`] plus the length of the
    /// normalised body (which scans the body when it has bare LFs).
    pub fn normalized_len(&self) -> usize {
        self.body_offset + self.body().len()
    }

    /// True when the input had bare LF line endings, read as CRLF (the bytes hashed by DKIM
    /// then differ from the bytes stored).
    pub fn line_endings_normalized(&self) -> bool {
        self.normalized
    }

    /// The header fields, top to bottom.
    pub fn fields(&self) -> impl ExactSizeIterator<Item = HeaderField<'_>> + DoubleEndedIterator {
        let bytes: &[u8] = &self.head;
        self.fields
            .iter()
            .enumerate()
            .map(move |(index, &span)| HeaderField { bytes, span, index })
    }

    /// The field at `index` (0 = topmost).
    pub fn field(&self, index: usize) -> Option<HeaderField<'_>> {
        self.fields.get(index).map(|&span| HeaderField {
            bytes: &self.head,
            span,
            index,
        })
    }

    /// The number of header fields.
    pub fn field_count(&self) -> usize {
        self.fields.len()
    }

    /// The fields with this name (case-insensitive), top to bottom.
    pub fn fields_named<'s>(
        &'s self,
        name: &'s str,
    ) -> impl DoubleEndedIterator<Item = HeaderField<'s>> + 's {
        self.fields().filter(move |f| f.is_named(name))
    }

    /// The header section: from the first field to the end of the last one (the blank line
    /// excluded; a leading mbox `From ` line excluded).
    pub fn header_bytes(&self) -> &[u8] {
        &self.head[self.header_start..self.header_end]
    }

    /// Offset of the first body byte (just after the blank line), or the input length when
    /// there is no body.
    pub fn body_offset(&self) -> usize {
        self.body_offset
    }

    /// The body: everything after the blank line (empty when there is none), read from the
    /// input and normalised to CRLF as it is read ([`Body::for_each_chunk`]).
    pub fn body(&self) -> Body<'a> {
        Body::new(self.body_raw, self.body_bare_lf)
    }

    /// True when the header section ended with the empty line of RFC 5322 §2.1.
    pub fn has_separator(&self) -> bool {
        self.separator
    }

    /// What was unusual about the message (see [`Anomaly`]).
    pub fn anomalies(&self) -> &[Anomaly] {
        &self.anomalies
    }

    /// The RFC5322.From author addresses and domains (RFC 5322 §3.6.2; RFC 9989 §4.4 uses
    /// them to pick the domain DMARC evaluates). Parsed on each call.
    pub fn authors(&self) -> Authors {
        Authors::from_message(self)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn names(m: &Message<'_>) -> Vec<String> {
        m.fields().map(|f| f.name().to_owned()).collect()
    }

    #[test]
    fn rfc5322_2_1_fields_and_body() {
        let m = Message::parse(b"A: 1\r\nB:2\r\n\r\nbody\r\n");
        assert!(!m.line_endings_normalized());
        assert!(matches!(m.head, Cow::Borrowed(_)));
        assert_eq!(names(&m), ["A", "B"]);
        assert_eq!(m.field(0).unwrap().value(), b" 1");
        assert_eq!(m.field(1).unwrap().value(), b"2");
        assert_eq!(m.field(1).unwrap().offset(), 6);
        assert_eq!(m.body(), b"body\r\n");
        assert_eq!(m.body_offset(), 13);
        assert_eq!(m.header_bytes(), b"A: 1\r\nB:2\r\n");
        assert!(m.has_separator());
        assert!(m.anomalies().is_empty());
    }

    #[test]
    fn rfc5322_2_2_3_folding_kept_raw() {
        let m = Message::parse(b"Subject: a\r\n\tb\r\n c\r\nTo: x\r\n\r\n");
        let s = m.field(0).unwrap();
        assert_eq!(s.value(), b" a\r\n\tb\r\n c");
        assert_eq!(s.raw_with_line_ending(), b"Subject: a\r\n\tb\r\n c\r\n");
        assert!(s.is_folded());
        assert_eq!(m.body(), b"");
        assert!(m.has_separator());
    }

    #[test]
    fn rfc5322_4_2_obsolete_folding_whitespace_only_line() {
        let m = Message::parse(b"Subject: a\r\n   \r\n b\r\n\r\nx");
        assert_eq!(m.field_count(), 1);
        assert_eq!(m.field(0).unwrap().value(), b" a\r\n   \r\n b");
        assert_eq!(m.body(), b"x");
        assert!(m.anomalies().contains(&Anomaly::NoFinalLineEnding));
    }

    #[test]
    fn rfc5322_4_5_whitespace_before_colon() {
        let m = Message::parse(b"Subject  : hi\r\n\r\n");
        let f = m.field(0).unwrap();
        assert_eq!(f.name(), "Subject");
        assert_eq!(f.before_colon(), b"  ");
        assert_eq!(f.value(), b" hi");
    }

    #[test]
    fn bare_lf_normalised_and_reported() {
        let m = Message::parse(b"A: 1\nB: 2\n\nline\n\n");
        assert!(m.line_endings_normalized());
        assert_eq!(m.head(), b"A: 1\r\nB: 2\r\n\r\n");
        assert_eq!(m.body(), b"line\r\n\r\n");
        assert_eq!(m.normalized_len(), 22);
    }

    /// Issue 17 item 13: a bare-LF message is not copied whole. Only the header section is
    /// normalised into a new buffer; the body is the input's own bytes, read as CRLF chunk by
    /// chunk, and every offset is still that of the normalised message.
    #[test]
    fn issue_17_13_bare_lf_body_is_read_in_place() {
        let line = b"The quick brown fox jumps over the lazy dog.\n";
        let mut input = b"From: a@example.com\nSubject: s\n x\n\n".to_vec();
        let head_len = input.len();
        for _ in 0..50_000 {
            input.extend_from_slice(line);
        }
        let m = Message::parse(&input);
        assert!(m.line_endings_normalized());
        assert!(matches!(m.head, Cow::Owned(_)));
        assert_eq!(m.head(), b"From: a@example.com\r\nSubject: s\r\n x\r\n\r\n");
        assert_eq!(m.body_offset(), head_len + 4);
        assert_eq!(m.field(1).unwrap().offset(), 21);
        assert_eq!(m.field(1).unwrap().value(), b" s\r\n x");
        // The body is the input's bytes, not a copy.
        assert!(std::ptr::eq(m.body().raw(), &input[head_len..]));
        let whole = crate::normalize_line_endings(&input);
        assert!(m.body() == whole[m.body_offset()..]);
        assert_eq!(m.normalized_len(), whole.len());
        // Mixed endings: a CRLF head with a bare-LF body, and the reverse.
        let m = Message::parse(b"A: 1\r\n\r\nx\ny\r\n");
        assert!(matches!(m.head, Cow::Borrowed(_)) && m.line_endings_normalized());
        assert_eq!(m.body(), b"x\r\ny\r\n");
        let m = Message::parse(b"A: 1\n\r\nx\r\n");
        assert_eq!((m.body_offset(), m.body().raw()), (8, &b"x\r\n"[..]));
    }

    #[test]
    fn bare_lf_found_at_every_position() {
        for len in 1..100 {
            for pos in 0..len {
                let mut input = vec![b'x'; len];
                for p in (1..len).step_by(7) {
                    if p != pos && p - 1 != pos {
                        input[p - 1] = b'\r';
                        input[p] = b'\n';
                    }
                }
                input[pos] = b'\n';
                if pos > 0 {
                    input[pos - 1] = b'y';
                }
                let out = crate::normalize_line_endings(&input);
                assert!(matches!(out, Cow::Owned(_)), "{len} {pos}");
                assert!(
                    !out.windows(2)
                        .enumerate()
                        .any(|(i, w)| w[1] == b'\n' && w[0] != b'\r' && i + 1 > 0)
                );
            }
        }
        assert!(matches!(
            crate::normalize_line_endings(&b"ab\r\n".repeat(50)),
            Cow::Borrowed(_)
        ));
    }

    #[test]
    fn missing_body_and_missing_blank_line() {
        let m = Message::parse(b"A: 1\r\nB: 2\r\n");
        assert_eq!(m.field_count(), 2);
        assert_eq!(m.body(), b"");
        assert!(!m.has_separator());
        assert_eq!(m.anomalies(), [Anomaly::NoBody]);

        let m = Message::parse(b"A: 1\r\nB: 2");
        assert_eq!(m.field(1).unwrap().raw_with_line_ending(), b"B: 2");
        assert!(m.anomalies().contains(&Anomaly::NoFinalLineEnding));

        let m = Message::parse(b"A: 1\r\nthis is body text\r\n");
        assert_eq!(m.field_count(), 1);
        assert_eq!(m.body(), b"this is body text\r\n");
        assert_eq!(
            m.anomalies(),
            [Anomaly::MissingSeparator { offset: 6, line: 2 }]
        );
    }

    #[test]
    fn mbox_from_line_skipped() {
        let m = Message::parse(b"From foo@bar Mon Jan  1 00:00:00 2024\nFrom: a@b\n\nx\n");
        assert_eq!(names(&m), ["From"]);
        assert_eq!(m.anomalies(), [Anomaly::MboxFromLine { offset: 0 }]);
        assert_eq!(m.header_bytes(), b"From: a@b\r\n");
    }

    #[test]
    fn eight_bit_values_and_leading_continuation() {
        let m = Message::parse(b"Subject: caf\xc3\xa9 \xff\r\n\r\n");
        assert_eq!(m.field(0).unwrap().value(), b" caf\xc3\xa9 \xff");
        let m = Message::parse(b" leading: x\r\n\r\n");
        assert_eq!(m.field_count(), 0);
        assert_eq!(m.body(), b" leading: x\r\n\r\n");
        // a non-ASCII field name is not a field: the body starts there
        let m = Message::parse(b"A: 1\r\nSubj\xc3\xa9ct: x\r\n\r\n");
        assert_eq!(m.field_count(), 1);
        assert_eq!(m.body_offset(), 6);
    }

    #[test]
    fn empty_and_degenerate_inputs() {
        for input in [
            &b""[..],
            b"\r\n",
            b"\n",
            b"\r",
            b":",
            b"::\r\n",
            b"\r\n\r\n",
        ] {
            let m = Message::parse(input);
            assert!(m.body_offset() <= m.normalized_len());
            for f in m.fields() {
                assert!(f.offset() <= f.end_offset());
            }
        }
        let m = Message::parse(b"\r\nbody");
        assert_eq!(m.field_count(), 0);
        assert_eq!(m.body(), b"body");
    }

    #[test]
    fn fields_named_is_case_insensitive() {
        let m = Message::parse(b"from: a\r\nFROM: b\r\nTo: c\r\n\r\n");
        let v: Vec<_> = m.fields_named("From").map(|f| f.value()).collect();
        assert_eq!(v, [&b" a"[..], b" b"]);
    }
}
