//! Header fields as the MTA sends them, and the raw field a DKIM verifier needs.
//!
//! The MTA sends each field as a name and a value, without the colon and without the CRLF that
//! ends the field; folded lines inside the value are separated by a bare LF (Sendmail and
//! Postfix store messages with LF line endings). What happens to the white space after the
//! colon depends on [`ProtocolFlags::HDR_LEADSPC`](crate::ProtocolFlags::HDR_LEADSPC):
//!
//! * **Negotiated**: the value is every byte after the colon, leading space included
//!   (`Subject: hi` arrives as `" hi"`, `Subject:hi` as `"hi"`). [`raw_header_field`] rebuilds
//!   the field byte for byte.
//! * **Not negotiated**: the MTA removes the leading space (Sendmail one space; an MTA may
//!   remove more), so `Subject: hi` and `Subject:hi` both arrive as `"hi"`. The rebuilt field
//!   puts exactly one space after the colon: byte-exact for the usual `Name: value` form,
//!   not for other spacing. DKIM's `relaxed` header canonicalization does not see the
//!   difference; `simple` does.
//!
//! In both cases a bare LF in the value becomes CRLF, the line ending of RFC 5322 and the one
//! DKIM hashes; a CRLF already there is kept.

use std::borrow::Cow;

/// One header field from the MTA (`L`), with whether its value kept its leading space.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HeaderField {
    /// The field name as sent.
    pub name: Vec<u8>,
    /// The value as sent (LF between folded lines).
    pub value: Vec<u8>,
    /// Whether [`ProtocolFlags::HDR_LEADSPC`](crate::ProtocolFlags::HDR_LEADSPC) was in effect,
    /// so `value` starts with the bytes that followed the colon.
    pub leading_space: bool,
}

impl HeaderField {
    /// The name as text (non-UTF-8 bytes replaced).
    pub fn name_str(&self) -> Cow<'_, str> {
        String::from_utf8_lossy(&self.name)
    }

    /// Whether the field has this name (ASCII case-insensitive).
    pub fn is(&self, name: &str) -> bool {
        self.name.eq_ignore_ascii_case(name.as_bytes())
    }

    /// The field as it appeared in the message, without its final CRLF; see
    /// [`raw_header_field`].
    pub fn raw(&self) -> Vec<u8> {
        raw_header_field(&self.name, &self.value, self.leading_space)
    }

    /// The value as it appeared after the colon (leading space restored when it was removed,
    /// CRLF line endings).
    pub fn raw_value(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(self.value.len() + 2);
        push_value(&mut out, &self.value, self.leading_space);
        out
    }
}

/// Rebuilds a header field from the name and value the MTA sent: `Name:` then the value, with
/// one space inserted after the colon when `leading_space` is false (the MTA removed it), and
/// every bare LF turned into CRLF. The final CRLF that ends the field is not included.
///
/// ```
/// use mailstamp_milter::raw_header_field;
///
/// // HDR_LEADSPC negotiated: the value is exact.
/// assert_eq!(raw_header_field(b"Subject", b" two\n\tlines", true), b"Subject: two\r\n\tlines");
/// assert_eq!(raw_header_field(b"X", b"tight", true), b"X:tight");
/// // Not negotiated: one space is put back.
/// assert_eq!(raw_header_field(b"Subject", b"two\n\tlines", false), b"Subject: two\r\n\tlines");
/// ```
pub fn raw_header_field(name: &[u8], value: &[u8], leading_space: bool) -> Vec<u8> {
    let mut out = Vec::with_capacity(name.len() + value.len() + 4);
    out.extend_from_slice(name);
    out.push(b':');
    push_value(&mut out, value, leading_space);
    out
}

fn push_value(out: &mut Vec<u8>, value: &[u8], leading_space: bool) {
    if !leading_space {
        out.push(b' ');
    }
    let mut prev = 0u8;
    for &b in value {
        if b == b'\n' && prev != b'\r' {
            out.push(b'\r');
        }
        out.push(b);
        prev = b;
    }
}

/// Checks a header name a milter wants to add or change: printable ASCII without `:`.
pub(crate) fn valid_name(name: &[u8]) -> bool {
    !name.is_empty() && name.iter().all(|&b| (33..=126).contains(&b) && b != b':')
}

/// Checks a header value a milter wants to add: no NUL, and every line break (LF or CRLF) is a
/// fold (followed by a space or tab), so the value can never end the field or add another.
pub(crate) fn valid_value(value: &[u8]) -> bool {
    value.iter().enumerate().all(|(i, &b)| {
        let next = value.get(i + 1);
        match b {
            0 => false,
            b'\r' => next == Some(&b'\n'),
            b'\n' => matches!(next, Some(b' ' | b'\t')),
            _ => true,
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn crlf_kept_and_lf_converted() {
        assert_eq!(
            raw_header_field(b"A", b" x\r\n y\n z", true),
            b"A: x\r\n y\r\n z"
        );
        assert_eq!(raw_header_field(b"A", b"", false), b"A: ");
        let f = HeaderField {
            name: b"DKIM-Signature".to_vec(),
            value: b"v=1;\n\tb=x".to_vec(),
            leading_space: false,
        };
        assert!(f.is("dkim-signature"));
        assert_eq!(f.raw_value(), b" v=1;\r\n\tb=x");
    }

    #[test]
    fn validation() {
        assert!(valid_name(b"Authentication-Results"));
        assert!(!valid_name(b""));
        assert!(!valid_name(b"A B"));
        assert!(!valid_name(b"A:"));
        assert!(valid_value(b"a\r\n\tb\n c"));
        assert!(!valid_value(b"a\r\nX-Evil: 1"));
        assert!(!valid_value(b"a\n"));
        assert!(!valid_value(b"a\rb"));
        assert!(!valid_value(b"a\0"));
    }
}
