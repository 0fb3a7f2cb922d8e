//! The fields inside one frame's data: NUL-terminated strings, integers, and writing a frame.
//! Shared by the command and reply codecs, below the framing of [`crate::wire`].

use crate::error::{Code, DecodeError, EncodeError};

/// Reads the fields of one frame's data, naming the frame's code and the field's offset in
/// every error.
pub(crate) struct Reader<'a> {
    code: u8,
    data: &'a [u8],
    pos: usize,
}

impl<'a> Reader<'a> {
    pub(crate) fn new(code: u8, data: &'a [u8]) -> Self {
        Reader { code, data, pos: 0 }
    }

    pub(crate) fn pos(&self) -> usize {
        self.pos
    }

    pub(crate) fn remaining(&self) -> usize {
        self.data.len() - self.pos
    }

    pub(crate) fn is_empty(&self) -> bool {
        self.remaining() == 0
    }

    fn take(&mut self, n: usize, field: &'static str) -> Result<&'a [u8], DecodeError> {
        if self.remaining() < n {
            return Err(DecodeError::Truncated {
                command: Code(self.code),
                field,
                offset: self.pos,
                need: n,
                have: self.remaining(),
            });
        }
        let out = &self.data[self.pos..self.pos + n];
        self.pos += n;
        Ok(out)
    }

    pub(crate) fn u8(&mut self, field: &'static str) -> Result<u8, DecodeError> {
        Ok(self.take(1, field)?[0])
    }

    pub(crate) fn u16(&mut self, field: &'static str) -> Result<u16, DecodeError> {
        let b = self.take(2, field)?;
        Ok(u16::from_be_bytes([b[0], b[1]]))
    }

    pub(crate) fn u32(&mut self, field: &'static str) -> Result<u32, DecodeError> {
        let b = self.take(4, field)?;
        Ok(u32::from_be_bytes([b[0], b[1], b[2], b[3]]))
    }

    /// A NUL-terminated string, without its NUL.
    pub(crate) fn cstr(&mut self, field: &'static str) -> Result<&'a [u8], DecodeError> {
        let rest = &self.data[self.pos..];
        match rest.iter().position(|&b| b == 0) {
            Some(n) => {
                let s = &rest[..n];
                self.pos += n + 1;
                Ok(s)
            }
            None => Err(DecodeError::MissingNul {
                command: Code(self.code),
                field,
                offset: self.pos,
            }),
        }
    }

    /// NUL-terminated strings up to the end of the data.
    pub(crate) fn cstr_array(&mut self, field: &'static str) -> Result<Vec<Vec<u8>>, DecodeError> {
        let mut out = Vec::new();
        while !self.is_empty() {
            out.push(self.cstr(field)?.to_vec());
        }
        Ok(out)
    }

    /// Everything left.
    pub(crate) fn rest(&mut self) -> &'a [u8] {
        let out = &self.data[self.pos..];
        self.pos = self.data.len();
        out
    }

    pub(crate) fn invalid(
        &self,
        field: &'static str,
        offset: usize,
        reason: &'static str,
    ) -> DecodeError {
        DecodeError::Invalid {
            command: Code(self.code),
            field,
            offset,
            reason,
        }
    }

    pub(crate) fn end(&self) -> Result<(), DecodeError> {
        if self.is_empty() {
            Ok(())
        } else {
            Err(DecodeError::TrailingData {
                command: Code(self.code),
                offset: self.pos,
                len: self.remaining(),
            })
        }
    }
}

/// Builds one frame's bytes: reserves the length prefix, then fixes it in [`Writer::finish`].
pub(crate) struct Writer<'a> {
    out: &'a mut Vec<u8>,
    start: usize,
    code: u8,
}

impl<'a> Writer<'a> {
    pub(crate) fn new(out: &'a mut Vec<u8>, code: u8) -> Self {
        let start = out.len();
        out.extend_from_slice(&[0, 0, 0, 0, code]);
        Writer { out, start, code }
    }

    pub(crate) fn u16(&mut self, v: u16) {
        self.out.extend_from_slice(&v.to_be_bytes());
    }

    pub(crate) fn u32(&mut self, v: u32) {
        self.out.extend_from_slice(&v.to_be_bytes());
    }

    pub(crate) fn u8(&mut self, v: u8) {
        self.out.push(v);
    }

    pub(crate) fn bytes(&mut self, v: &[u8]) {
        self.out.extend_from_slice(v);
    }

    /// A string and its NUL; refuses a NUL inside it.
    pub(crate) fn cstr(&mut self, v: &[u8], field: &'static str) -> Result<(), EncodeError> {
        if let Some(offset) = v.iter().position(|&b| b == 0) {
            return Err(EncodeError::NulInString {
                command: Code(self.code),
                field,
                offset,
            });
        }
        self.out.extend_from_slice(v);
        self.out.push(0);
        Ok(())
    }

    /// Writes the length prefix. On error the output is truncated back to where it was.
    pub(crate) fn finish(self) -> Result<(), EncodeError> {
        let len = self.out.len() - self.start - 4;
        match u32::try_from(len) {
            Ok(n) => {
                self.out[self.start..self.start + 4].copy_from_slice(&n.to_be_bytes());
                Ok(())
            }
            Err(_) => {
                self.out.truncate(self.start);
                Err(EncodeError::TooLarge {
                    command: Code(self.code),
                    len,
                })
            }
        }
    }

    /// Drops the partial frame (after a field failed to encode).
    pub(crate) fn abandon(self) {
        self.out.truncate(self.start);
    }
}

/// Runs `f` on a new frame writer; on error the partial frame is removed from `out`.
pub(crate) fn write_frame(
    out: &mut Vec<u8>,
    code: u8,
    f: impl FnOnce(&mut Writer<'_>) -> Result<(), EncodeError>,
) -> Result<(), EncodeError> {
    let mut w = Writer::new(out, code);
    match f(&mut w) {
        Ok(()) => w.finish(),
        Err(e) => {
            w.abandon();
            Err(e)
        }
    }
}
