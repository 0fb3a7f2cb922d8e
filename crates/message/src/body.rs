//! The body of a message, normalised to CRLF as it is read (RFC 5322 §2.1, RFC 6376 §3.4).

use std::fmt;

/// Size of the chunks [`Body::for_each_chunk`] hands out for a body with bare LFs.
pub const BODY_CHUNK: usize = 64 * 1024;

/// The body of a [`crate::Message`]: a view of the input after the header section.
///
/// A body stored with CRLF line endings is handed out as it is; a body with bare LFs is read
/// through a CRLF-normalising pass that copies at most [`BODY_CHUNK`] bytes at a time, so a
/// large bare-LF message is never copied whole. Compare with byte strings (`==`) in tests;
/// [`Body::to_vec`] makes the one contiguous copy when a caller needs it.
#[derive(Clone, Copy)]
pub struct Body<'m> {
    raw: &'m [u8],
    bare_lf: bool,
}

impl<'m> Body<'m> {
    pub(crate) fn new(raw: &'m [u8], bare_lf: bool) -> Body<'m> {
        Body { raw, bare_lf }
    }

    /// The body as stored in the input (bare LFs not converted).
    pub fn raw(&self) -> &'m [u8] {
        self.raw
    }

    /// True when the stored body has bare LF line endings (read as CRLF).
    pub fn has_bare_lf(&self) -> bool {
        self.bare_lf
    }

    /// The length of the normalised body.
    pub fn len(&self) -> usize {
        if !self.bare_lf {
            return self.raw.len();
        }
        let mut n = 0;
        self.for_each_chunk(|c| n += c.len());
        n
    }

    /// True when the body is empty.
    pub fn is_empty(&self) -> bool {
        self.raw.is_empty()
    }

    /// Calls `f` with the normalised body in order, in one or more chunks (each LF not
    /// preceded by CR becomes CRLF; a lone CR is data and stays). A CRLF body is one call with
    /// the stored bytes; otherwise runs without a bare LF are passed through uncopied when they
    /// are large and gathered into a buffer of [`BODY_CHUNK`] bytes when they are small.
    /// Nothing is called for an empty body.
    pub fn for_each_chunk(&self, mut f: impl FnMut(&[u8])) {
        let raw = self.raw;
        if !self.bare_lf {
            if !raw.is_empty() {
                f(raw);
            }
            return;
        }
        let mut buf: Vec<u8> = Vec::with_capacity(BODY_CHUNK);
        let mut push = |data: &[u8], buf: &mut Vec<u8>| {
            if buf.len() + data.len() > BODY_CHUNK {
                if !buf.is_empty() {
                    f(buf);
                    buf.clear();
                }
                if data.len() >= BODY_CHUNK {
                    f(data);
                    return;
                }
            }
            buf.extend_from_slice(data);
        };
        let mut last = 0;
        for pos in memchr::memchr_iter(b'\n', raw) {
            // The body starts after a line ending (or at the start of the input), so an LF at
            // its first byte is bare.
            if pos == 0 || raw[pos - 1] != b'\r' {
                push(&raw[last..pos], &mut buf);
                push(b"\r\n", &mut buf);
                last = pos + 1;
            }
        }
        push(&raw[last..], &mut buf);
        if !buf.is_empty() {
            f(&buf);
        }
    }

    /// The normalised body in one piece (a copy when the body has bare LFs, which is what
    /// [`Body::for_each_chunk`] avoids).
    pub fn to_vec(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(self.raw.len());
        self.for_each_chunk(|c| out.extend_from_slice(c));
        out
    }

    /// True when the normalised body equals `other`, compared chunk by chunk.
    fn equals(&self, other: &[u8]) -> bool {
        let mut rest = other;
        let mut same = true;
        self.for_each_chunk(|c| {
            if same {
                match rest.strip_prefix(c) {
                    Some(r) => rest = r,
                    None => same = false,
                }
            }
        });
        same && rest.is_empty()
    }
}

impl fmt::Debug for Body<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let shown = self.to_vec();
        write!(f, "Body({:?})", String::from_utf8_lossy(&shown))
    }
}

impl PartialEq<[u8]> for Body<'_> {
    fn eq(&self, other: &[u8]) -> bool {
        self.equals(other)
    }
}

impl PartialEq<&[u8]> for Body<'_> {
    fn eq(&self, other: &&[u8]) -> bool {
        self.equals(other)
    }
}

impl<const N: usize> PartialEq<[u8; N]> for Body<'_> {
    fn eq(&self, other: &[u8; N]) -> bool {
        self.equals(other)
    }
}

impl<const N: usize> PartialEq<&[u8; N]> for Body<'_> {
    fn eq(&self, other: &&[u8; N]) -> bool {
        self.equals(*other)
    }
}

/// A message body in CRLF form, handed out in chunks: a byte slice (one chunk) or a
/// [`Body`] (normalised as it is read). Functions that hash or copy a body take
/// `impl BodyBytes` so that they accept either without a copy.
pub trait BodyBytes {
    /// Calls `f` with the body, in order, in one or more chunks.
    fn for_each_chunk(&self, f: &mut dyn FnMut(&[u8]));
}

impl BodyBytes for [u8] {
    fn for_each_chunk(&self, f: &mut dyn FnMut(&[u8])) {
        f(self);
    }
}

impl<const N: usize> BodyBytes for [u8; N] {
    fn for_each_chunk(&self, f: &mut dyn FnMut(&[u8])) {
        f(self);
    }
}

impl BodyBytes for Vec<u8> {
    fn for_each_chunk(&self, f: &mut dyn FnMut(&[u8])) {
        f(self);
    }
}

impl BodyBytes for Body<'_> {
    fn for_each_chunk(&self, f: &mut dyn FnMut(&[u8])) {
        Body::for_each_chunk(self, f);
    }
}

impl<T: BodyBytes + ?Sized> BodyBytes for &T {
    fn for_each_chunk(&self, f: &mut dyn FnMut(&[u8])) {
        (**self).for_each_chunk(f);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn chunks(raw: &[u8]) -> Vec<u8> {
        let body = Body::new(raw, crate::first_bare_lf(raw).is_some());
        let out = body.to_vec();
        assert_eq!(body.len(), out.len());
        assert!(body == out.as_slice());
        out
    }

    #[test]
    fn rfc5322_2_1_bare_lf_read_as_crlf_in_chunks() {
        assert_eq!(chunks(b""), b"");
        assert_eq!(chunks(b"\n"), b"\r\n");
        assert_eq!(chunks(b"a\r\nb\nc\r\r\n\nd"), b"a\r\nb\r\nc\r\r\n\r\nd");
        // Every chunk size boundary: the result equals the whole-buffer normalisation.
        let line = b"0123456789abcdef\n";
        for n in [
            1,
            1000,
            BODY_CHUNK / line.len(),
            BODY_CHUNK / line.len() + 1,
            9000,
        ] {
            let raw = line.repeat(n);
            assert_eq!(chunks(&raw), &*crate::normalize_line_endings(&raw));
        }
        // A long run without LF is passed through, not copied into the buffer.
        let mut raw = vec![b'x'; BODY_CHUNK * 3];
        raw.push(b'\n');
        raw.extend_from_slice(b"tail");
        let body = Body::new(&raw, true);
        let mut sizes = Vec::new();
        body.for_each_chunk(|c| sizes.push(c.len()));
        assert_eq!(sizes, [BODY_CHUNK * 3, 6]);
        assert!(body == crate::normalize_line_endings(&raw).as_ref());
        assert!(body != b"x".as_slice());
    }
}
