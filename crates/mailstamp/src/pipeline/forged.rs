//! RFC 8601 §5: Authentication-Results fields that claim our authserv-id, which we did not add,
//! are removed before the message goes on.

use mailstamp_authres::authserv_claim;
use mailstamp_message::Message;
use std::borrow::Cow;

/// A message with the Authentication-Results fields that claim an authserv-id removed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Stripped<'a> {
    /// The message bytes without those fields (borrowed when none were found); everything else,
    /// line endings included, is unchanged.
    pub message: Cow<'a, [u8]>,
    /// The removed fields' positions in the original header (0 = topmost), top to bottom.
    pub removed: Vec<usize>,
}

/// Removes every Authentication-Results field of `raw` that claims `authserv_id`, or whose
/// authserv-id cannot be read ([`mailstamp_authres::AuthservClaim::must_be_removed`]): RFC 8601
/// §5 says a receiver removes (or renames) fields that claim its own authserv-id before
/// delivery, since only it may write them. Call it on incoming mail before adding the receiver's
/// own field; a field added by a trusted host inside the same ADMD must then carry another id.
///
/// ```
/// use mailstamp::pipeline::remove_forged_authentication_results;
///
/// let raw = b"Authentication-Results: mx.example.net; dmarc=pass\r\n\
/// Authentication-Results: other.example; spf=fail\r\n\
/// Authentication-Results: dkim=pass\r\n\
/// From: a@example.org\r\n\r\nbody\r\n";
/// let stripped = remove_forged_authentication_results(raw, "MX.example.net");
/// assert_eq!(stripped.removed, [0, 2]);
/// assert_eq!(
///     &stripped.message[..],
///     b"Authentication-Results: other.example; spf=fail\r\nFrom: a@example.org\r\n\r\nbody\r\n"
/// );
/// ```
pub fn remove_forged_authentication_results<'a>(raw: &'a [u8], authserv_id: &str) -> Stripped<'a> {
    let message = Message::parse(raw);
    let spans: Vec<(usize, usize, usize)> = message
        .fields()
        .filter(|f| f.is_named(mailstamp_authres::AUTHENTICATION_RESULTS))
        .filter(|f| authserv_claim(f.value(), authserv_id).must_be_removed())
        .map(|f| (f.index(), f.offset(), f.end_offset()))
        .collect();
    if spans.is_empty() {
        return Stripped {
            message: Cow::Borrowed(raw),
            removed: Vec::new(),
        };
    }
    // Offsets refer to the CRLF-normalised bytes; map them back to `raw` (each bare LF before an
    // offset added one CR).
    let to_raw = |normalised: usize| -> usize {
        if !message.line_endings_normalized() {
            return normalised;
        }
        let mut added = 0;
        for (i, &b) in raw.iter().enumerate() {
            if i + added >= normalised {
                return i;
            }
            if b == b'\n' && (i == 0 || raw[i - 1] != b'\r') {
                added += 1;
            }
        }
        raw.len()
    };
    let mut out = Vec::with_capacity(raw.len());
    let mut pos = 0;
    for &(_, start, end) in &spans {
        let (start, end) = (to_raw(start), to_raw(end).min(raw.len()));
        out.extend_from_slice(&raw[pos..start]);
        pos = end;
    }
    out.extend_from_slice(&raw[pos..]);
    Stripped {
        message: Cow::Owned(out),
        removed: spans.iter().map(|&(i, _, _)| i).collect(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rfc8601_5_bare_lf_messages_keep_their_line_endings() {
        let raw = b"Received: from x\n\tby y\nAuthentication-Results: mx.example.net;\n  dkim=pass\nSubject: s\n\nbody\n";
        let stripped = remove_forged_authentication_results(raw, "mx.example.net");
        assert_eq!(stripped.removed, [1]);
        assert_eq!(
            &stripped.message[..],
            b"Received: from x\n\tby y\nSubject: s\n\nbody\n"
        );
    }

    #[test]
    fn rfc8601_5_three_forged_fields_and_a_foreign_one() {
        let raw = b"Authentication-Results: MX.EXAMPLE.NET; spf=pass\r\n\
X-A: 1\r\n\
Authentication-Results: \"mx.example.net\"; dkim=pass\r\n\
Authentication-Results: (comment) mx.example.net (c) 1; dmarc=pass\r\n\
Authentication-Results: upstream.example; dmarc=fail\r\n\r\n";
        let stripped = remove_forged_authentication_results(raw, "mx.example.net");
        assert_eq!(stripped.removed, [0, 2, 3]);
        assert_eq!(
            &stripped.message[..],
            b"X-A: 1\r\nAuthentication-Results: upstream.example; dmarc=fail\r\n\r\n"
        );
        // Nothing to remove: the bytes are borrowed.
        let clean = b"From: a@b.example\r\n\r\n";
        assert!(matches!(
            remove_forged_authentication_results(clean, "mx.example.net").message,
            Cow::Borrowed(_)
        ));
    }
}
