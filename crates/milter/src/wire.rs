//! Framing: a 4-byte big-endian length (command byte plus data), the command byte, the data.
//!
//! [`parse_frame`] is the httparse-style entry point (a buffer in, `Ok(None)` while incomplete);
//! [`FrameDecoder`] owns a buffer that you [`feed`](FrameDecoder::feed) with whatever the socket
//! gave and [`poll`](FrameDecoder::poll_command) for whole commands or replies.

use crate::command::Command;
use crate::error::{Code, DecodeError};
use crate::reply::Reply;

/// The default limit on a frame's length (command byte plus data): 256 KiB.
///
/// Body chunks are at most 65 535 bytes, but a single header field can be larger (Postfix's
/// `header_size_limit` defaults to 100 KiB and a field is sent whole in one frame), and 256 KiB
/// is the largest size the protocol's own data-size option (`SMFIP_MDS_256K`) names below 1 MiB.
/// The limit bounds the memory one connection can make the decoder buffer; change it with
/// [`FrameDecoder::with_max_frame_len`].
pub const DEFAULT_MAX_FRAME_LEN: u32 = 256 * 1024;

/// The largest body chunk an MTA sends (`MILTER_CHUNK_SIZE` in the protocol description).
pub const MAX_BODY_CHUNK: usize = 65_535;

/// One frame, borrowed from the buffer it was parsed from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RawFrame<'a> {
    /// The command or reply byte.
    pub code: u8,
    /// The data after the code byte.
    pub data: &'a [u8],
    /// Bytes of the buffer the frame took (length prefix included).
    pub consumed: usize,
}

/// Parses one frame from the start of `buf`.
///
/// Returns `Ok(None)` when `buf` holds only part of a frame (nothing is consumed), and an error
/// as soon as the length prefix is 0 or over `max_len`, without waiting for the data. Error
/// offsets are relative to the start of `buf`.
pub fn parse_frame(buf: &[u8], max_len: u32) -> Result<Option<RawFrame<'_>>, DecodeError> {
    parse_frame_at(buf, max_len, 0)
}

fn parse_frame_at(
    buf: &[u8],
    max_len: u32,
    offset: u64,
) -> Result<Option<RawFrame<'_>>, DecodeError> {
    let Some(prefix) = buf.first_chunk::<4>() else {
        return Ok(None);
    };
    let len = u32::from_be_bytes(*prefix);
    if len == 0 {
        return Err(DecodeError::EmptyFrame { offset });
    }
    if len > max_len {
        return Err(DecodeError::FrameTooLarge {
            offset,
            command: buf.get(4).copied().map(Code),
            len,
            max: max_len,
        });
    }
    // `len` is at most `max_len`, so this only saturates where usize is 32 bits.
    let total = (len as usize).saturating_add(4);
    if buf.len() < total {
        return Ok(None);
    }
    Ok(Some(RawFrame {
        code: buf[4],
        data: &buf[5..total],
        consumed: total,
    }))
}

/// A buffer of bytes from the peer, cut into frames.
///
/// Feed it whatever the socket read, then poll until it returns `Ok(None)`. After a frame-level
/// error it keeps returning that error: the stream cannot be resynchronised.
#[derive(Debug, Clone)]
pub struct FrameDecoder {
    buf: Vec<u8>,
    start: usize,
    /// Stream offset of `buf[start]`.
    offset: u64,
    max_len: u32,
    failed: Option<DecodeError>,
}

impl Default for FrameDecoder {
    fn default() -> Self {
        Self::new()
    }
}

impl FrameDecoder {
    /// A decoder with the [`DEFAULT_MAX_FRAME_LEN`] limit.
    pub fn new() -> Self {
        Self::with_max_frame_len(DEFAULT_MAX_FRAME_LEN)
    }

    /// A decoder that refuses frames longer than `max_len` bytes (command byte plus data).
    /// A limit below 1 is raised to 1.
    pub fn with_max_frame_len(max_len: u32) -> Self {
        FrameDecoder {
            buf: Vec::new(),
            start: 0,
            offset: 0,
            max_len: max_len.max(1),
            failed: None,
        }
    }

    /// The limit in force.
    pub fn max_frame_len(&self) -> u32 {
        self.max_len
    }

    /// Appends bytes read from the peer. The buffer holds at most one partial frame plus what
    /// was fed since the last poll: poll after each feed to keep it bounded by the frame limit.
    pub fn feed(&mut self, bytes: &[u8]) {
        if self.start > 0 && self.start == self.buf.len() {
            self.buf.clear();
            self.start = 0;
        } else if self.start > 4096 && self.start * 2 > self.buf.len() {
            self.buf.drain(..self.start);
            self.start = 0;
        }
        self.buf.extend_from_slice(bytes);
    }

    /// Bytes buffered and not yet returned as a frame.
    pub fn buffered(&self) -> usize {
        self.buf.len() - self.start
    }

    /// Stream offset of the next byte to be decoded.
    pub fn stream_offset(&self) -> u64 {
        self.offset
    }

    /// The next whole frame as `(code, data)`, copied out of the buffer.
    pub fn poll_frame(&mut self) -> Result<Option<(u8, Vec<u8>)>, DecodeError> {
        if let Some(e) = &self.failed {
            return Err(e.clone());
        }
        match parse_frame_at(&self.buf[self.start..], self.max_len, self.offset) {
            Ok(None) => Ok(None),
            Ok(Some(frame)) => {
                let out = (frame.code, frame.data.to_vec());
                self.start += frame.consumed;
                self.offset += frame.consumed as u64;
                Ok(Some(out))
            }
            Err(e) => {
                self.failed = Some(e.clone());
                Err(e)
            }
        }
    }

    /// The next whole frame decoded as an MTA command.
    pub fn poll_command(&mut self) -> Result<Option<Command>, DecodeError> {
        match self.poll_frame()? {
            None => Ok(None),
            Some((code, data)) => Command::decode(code, &data).map(Some),
        }
    }

    /// The next whole frame decoded as a milter reply.
    pub fn poll_reply(&mut self) -> Result<Option<Reply>, DecodeError> {
        match self.poll_frame()? {
            None => Ok(None),
            Some((code, data)) => Reply::decode(code, &data).map(Some),
        }
    }

    /// Call when the peer closed the stream: an error when it stopped inside a frame.
    pub fn finish(&self) -> Result<(), DecodeError> {
        if let Some(e) = &self.failed {
            return Err(e.clone());
        }
        let rest = &self.buf[self.start..];
        if rest.is_empty() {
            return Ok(());
        }
        let need = match rest.first_chunk::<4>() {
            Some(prefix) => (u32::from_be_bytes(*prefix) as usize).saturating_add(4),
            None => 4,
        };
        Err(DecodeError::TruncatedFrame {
            offset: self.offset,
            have: rest.len(),
            need,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parse_frame_waits_then_splits() {
        assert_eq!(parse_frame(b"", 10), Ok(None));
        assert_eq!(parse_frame(b"\0\0\0", 10), Ok(None));
        assert_eq!(parse_frame(b"\0\0\0\x02H", 10), Ok(None));
        let f = parse_frame(b"\0\0\0\x02Hx\0\0", 10).unwrap().unwrap();
        assert_eq!((f.code, f.data, f.consumed), (b'H', &b"x"[..], 6));
    }

    #[test]
    fn parse_frame_rejects_bad_lengths_early() {
        assert_eq!(
            parse_frame(b"\0\0\0\0", 10),
            Err(DecodeError::EmptyFrame { offset: 0 })
        );
        assert_eq!(
            parse_frame(b"\xff\xff\xff\xff", 10),
            Err(DecodeError::FrameTooLarge {
                offset: 0,
                command: None,
                len: u32::MAX,
                max: 10
            })
        );
    }

    #[test]
    fn decoder_byte_by_byte_and_finish() {
        let mut d = FrameDecoder::new();
        let bytes = b"\0\0\0\x01A\0\0\0\x01Q";
        let mut codes = Vec::new();
        for b in bytes {
            d.feed(&[*b]);
            while let Some((code, _)) = d.poll_frame().unwrap() {
                codes.push(code);
            }
        }
        assert_eq!(codes, b"AQ");
        assert_eq!(d.finish(), Ok(()));
        d.feed(b"\0\0\0\x05Hab");
        assert_eq!(d.poll_frame(), Ok(None));
        assert_eq!(
            d.finish(),
            Err(DecodeError::TruncatedFrame {
                offset: 10,
                have: 7,
                need: 9
            })
        );
    }

    #[test]
    fn decoder_stays_failed() {
        let mut d = FrameDecoder::with_max_frame_len(4);
        d.feed(b"\0\0\0\x09Habcdefgh");
        let e = d.poll_frame().unwrap_err();
        assert!(matches!(
            e,
            DecodeError::FrameTooLarge {
                command: Some(Code(b'H')),
                ..
            }
        ));
        assert_eq!(d.poll_frame(), Err(e));
    }
}
