//! Splitting a message into header fields and body.

use crate::authors::Authors;
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
        /// Byte offset of the line that starts the body.
        offset: usize,
    },
    /// The message has no body: the header section runs to the end of the input, without a
    /// blank line.
    NoBody,
    /// The last line of the message has no line ending.
    NoFinalLineEnding,
}

/// Byte offsets of one header field inside [`Message::bytes`].
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

    /// Byte offset of the field's first byte in [`Message::bytes`].
    pub fn offset(&self) -> usize {
        self.span.start
    }

    /// Byte offset of the first value byte (just after the colon) in [`Message::bytes`].
    pub fn value_offset(&self) -> usize {
        self.span.value_start
    }

    /// Byte offset just past the field, its final CRLF included, in [`Message::bytes`].
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

/// A parsed message: header fields and body as offsets into the (CRLF-normalised) bytes.
///
/// See the [crate documentation](crate) for what is parsed and how malformed input is handled.
#[derive(Debug, Clone)]
pub struct Message<'a> {
    bytes: Cow<'a, [u8]>,
    normalized: bool,
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

impl<'a> Message<'a> {
    /// Splits a message. Never fails: see [`Anomaly`] for what is tolerated.
    ///
    /// Bare LF line endings are first converted to CRLF ([`crate::normalize_line_endings`]); all
    /// offsets refer to the normalised bytes ([`Message::bytes`]).
    pub fn parse(input: &'a [u8]) -> Message<'a> {
        let bytes = crate::normalize_line_endings(input);
        let normalized = matches!(bytes, Cow::Owned(_));
        let mut msg = Message {
            bytes,
            normalized,
            fields: Vec::new(),
            header_start: 0,
            header_end: 0,
            body_offset: 0,
            separator: false,
            anomalies: Vec::new(),
        };
        msg.split();
        msg
    }

    fn split(&mut self) {
        let b: &[u8] = &self.bytes;
        let len = b.len();
        let mut pos = 0;
        let mut fields: Vec<FieldSpan> = Vec::new();
        let mut anomalies = Vec::new();
        if b.starts_with(b"From ") {
            anomalies.push(Anomaly::MboxFromLine { offset: 0 });
            pos = memchr::memchr(b'\n', b).map_or(len, |p| p + 1);
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
                    anomalies.push(Anomaly::MissingSeparator { offset: pos });
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
                anomalies.push(Anomaly::MissingSeparator { offset: pos });
                break (pos, pos, false);
            }
            pos = next;
        };
        self.fields = fields;
        self.anomalies = anomalies;
        self.header_start = header_start;
        self.header_end = header_end;
        self.body_offset = body_offset;
        self.separator = separator;
        if body_offset < len
            && !self.bytes.ends_with(b"\n")
            && !self.anomalies.contains(&Anomaly::NoFinalLineEnding)
        {
            self.anomalies.push(Anomaly::NoFinalLineEnding);
        }
    }

    /// The message bytes, with line endings normalised to CRLF. All offsets refer to these.
    pub fn bytes(&self) -> &[u8] {
        &self.bytes
    }

    /// True when the input had bare LF line endings that were converted to CRLF (the bytes
    /// hashed by DKIM then differ from the bytes stored).
    pub fn line_endings_normalized(&self) -> bool {
        self.normalized
    }

    /// The header fields, top to bottom.
    pub fn fields(&self) -> impl ExactSizeIterator<Item = HeaderField<'_>> + DoubleEndedIterator {
        let bytes: &[u8] = &self.bytes;
        self.fields
            .iter()
            .enumerate()
            .map(move |(index, &span)| HeaderField { bytes, span, index })
    }

    /// The field at `index` (0 = topmost).
    pub fn field(&self, index: usize) -> Option<HeaderField<'_>> {
        self.fields.get(index).map(|&span| HeaderField {
            bytes: &self.bytes,
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
        &self.bytes[self.header_start..self.header_end]
    }

    /// Offset of the first body byte (just after the blank line), or the input length when
    /// there is no body.
    pub fn body_offset(&self) -> usize {
        self.body_offset
    }

    /// The body: everything after the blank line (empty when there is none).
    pub fn body(&self) -> &[u8] {
        &self.bytes[self.body_offset..]
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
        assert!(matches!(m.bytes, Cow::Borrowed(_)));
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
        assert_eq!(m.bytes(), b"A: 1\r\nB: 2\r\n\r\nline\r\n\r\n");
        assert_eq!(m.body(), b"line\r\n\r\n");
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
        assert_eq!(m.anomalies(), [Anomaly::MissingSeparator { offset: 6 }]);
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
            assert!(m.body_offset() <= m.bytes().len());
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
