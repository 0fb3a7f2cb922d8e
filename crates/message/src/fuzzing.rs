//! Fuzz target bodies (used by `fuzz/fuzz_targets/message_view.rs` and smoke-run in tests).
//!
//! Each function takes arbitrary bytes and must never panic.

use crate::Message;

/// Splits `data` as a message and walks everything the view offers: fields, body, authors.
/// Checks the invariants that every consumer relies on (offsets within bounds and ordered).
pub fn message_view(data: &[u8]) {
    let msg = Message::parse(data);
    let len = msg.normalized_len();
    assert!(msg.body_offset() <= len);
    assert_eq!(msg.body_offset(), msg.head().len());
    // The streamed body equals the body of the whole-message normalisation.
    let whole = crate::normalize_line_endings(data);
    let body = msg.body();
    assert_eq!(len, whole.len());
    assert!(body == whole[msg.body_offset()..]);
    let mut last_end = 0;
    for field in msg.fields() {
        assert!(field.offset() >= last_end);
        assert!(field.value_offset() <= field.end_offset());
        assert!(field.end_offset() <= msg.body_offset());
        last_end = field.end_offset();
        let _ = (
            field.name(),
            field.value(),
            field.raw(),
            field.before_colon(),
        );
    }
    let authors = msg.authors();
    for author in authors.authors() {
        assert!(author.field_index < msg.field_count());
    }
    let _ = (
        authors.domains(),
        authors.single_domain(),
        msg.header_bytes(),
    );
}

#[cfg(test)]
mod tests {
    #[test]
    fn smoke() {
        for input in [
            &b""[..],
            b"From: a@b\r\n\r\nx",
            b"From: (unterminated <a@b\r\n\r\n",
            b"From: \"q\\\r\n",
            b"From: =?x?q?\xff?= <@>\r\n",
            b"From: g:;,;:<<>>@@\r\n\r\n",
            b"From:\r\n From:\r\n\r\n",
        ] {
            super::message_view(input);
        }
    }
}
