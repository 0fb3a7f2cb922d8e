//! Typed errors: [`DecodeError`] (bytes from the peer), [`EncodeError`] (a value that cannot be
//! put on the wire) and [`SessionError`] (a command out of order, or a reply the session may not
//! send). Every error names the command or reply byte it is about.

use std::fmt;

use crate::flags::{Actions, ProtocolFlags};

/// A command or reply byte, shown as `'O'` when printable and `0x00` otherwise.
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct Code(pub u8);

impl fmt::Display for Code {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.0.is_ascii_graphic() {
            write!(f, "'{}'", self.0 as char)
        } else {
            write!(f, "{:#04x}", self.0)
        }
    }
}

impl fmt::Debug for Code {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(self, f)
    }
}

/// Bytes from the peer that are not a well-formed milter frame or command/reply.
///
/// Frame-level errors ([`DecodeError::EmptyFrame`], [`DecodeError::FrameTooLarge`],
/// [`DecodeError::TruncatedFrame`]) carry the offset of the frame's length prefix in the stream;
/// the stream cannot be resynchronised after them. The others carry an offset into the frame's
/// data (the bytes after the command byte). Whatever the error, the caller should end the
/// connection: a peer that sends one malformed frame is not to be trusted with the next.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum DecodeError {
    /// A frame whose length field is 0: every frame holds at least its command byte.
    #[error("frame at stream offset {offset}: length 0 (a frame holds at least its command byte)")]
    EmptyFrame {
        /// Stream offset of the length prefix.
        offset: u64,
    },
    /// A frame whose length is over the configured maximum.
    #[error("frame at stream offset {offset} (command {}): length {len} is over the limit of {max}", show_opt(*.command))]
    FrameTooLarge {
        /// Stream offset of the length prefix.
        offset: u64,
        /// The command byte, when it had arrived.
        command: Option<Code>,
        /// The announced length (command byte plus data).
        len: u32,
        /// The limit in force.
        max: u32,
    },
    /// The stream ended inside a frame.
    #[error("stream ended inside the frame at offset {offset}: {have} of {need} bytes arrived")]
    TruncatedFrame {
        /// Stream offset of the frame's length prefix.
        offset: u64,
        /// Bytes of the frame (length prefix included) that arrived.
        have: usize,
        /// Bytes the frame needs (length prefix included), or 4 when even the prefix is short.
        need: usize,
    },
    /// A command or reply byte this protocol does not define.
    #[error("unknown {kind} byte {command} ({len} data bytes)")]
    UnknownCode {
        /// The byte.
        command: Code,
        /// `"command"` (MTA to milter) or `"reply"` (milter to MTA).
        kind: &'static str,
        /// The length of its data.
        len: usize,
    },
    /// A fixed-size field runs past the end of the frame.
    #[error("{command}: {field} at data offset {offset} needs {need} bytes, {have} left")]
    Truncated {
        /// The command or reply byte.
        command: Code,
        /// The field being read.
        field: &'static str,
        /// Offset of the field in the frame's data.
        offset: usize,
        /// Bytes the field needs.
        need: usize,
        /// Bytes left in the frame.
        have: usize,
    },
    /// A string field without its NUL terminator.
    #[error("{command}: {field} at data offset {offset} has no NUL terminator")]
    MissingNul {
        /// The command or reply byte.
        command: Code,
        /// The field being read.
        field: &'static str,
        /// Offset where the string starts in the frame's data.
        offset: usize,
    },
    /// A field whose value is not allowed.
    #[error("{command}: {field} at data offset {offset}: {reason}")]
    Invalid {
        /// The command or reply byte.
        command: Code,
        /// The field.
        field: &'static str,
        /// Offset of the field in the frame's data.
        offset: usize,
        /// What is wrong with it.
        reason: &'static str,
    },
    /// Bytes after the last field of a command or reply.
    #[error("{command}: {len} unexpected bytes after the last field, at data offset {offset}")]
    TrailingData {
        /// The command or reply byte.
        command: Code,
        /// Offset of the first extra byte in the frame's data.
        offset: usize,
        /// How many extra bytes.
        len: usize,
    },
}

fn show_opt(code: Option<Code>) -> String {
    code.map_or_else(|| "not yet read".to_owned(), |c| c.to_string())
}

/// A value that cannot be encoded.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum EncodeError {
    /// A NUL byte inside a field that the wire terminates with NUL.
    #[error("{command}: {field} contains a NUL byte at offset {offset}")]
    NulInString {
        /// The command or reply byte.
        command: Code,
        /// The field.
        field: &'static str,
        /// Offset of the NUL in the field.
        offset: usize,
    },
    /// The frame would not fit its 32-bit length.
    #[error("{command}: frame of {len} bytes does not fit a 32-bit length")]
    TooLarge {
        /// The command or reply byte.
        command: Code,
        /// The frame length it would have.
        len: usize,
    },
    /// A field whose value the protocol (or the MTA) does not accept.
    #[error("{command}: {field}: {reason}")]
    Invalid {
        /// The command or reply byte.
        command: Code,
        /// The field.
        field: &'static str,
        /// What is wrong with it.
        reason: &'static str,
    },
}

/// A command the session cannot take, or a reply it will not send.
///
/// [`SessionError::is_fatal`] tells the two kinds apart: a fatal error is the MTA's (malformed or
/// out-of-order command, unsupported version) and closes the session; the daemon should log it
/// and drop the connection. A non-fatal error is the application's (a reply at the wrong time, a
/// modification that was not negotiated): nothing was emitted, the session is unchanged and the
/// application may send another reply.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum SessionError {
    /// The MTA's bytes did not decode.
    #[error(transparent)]
    Decode(#[from] DecodeError),
    /// A command that is not allowed in the session's current state.
    #[error("command {command} is out of order in state {state}")]
    OutOfOrder {
        /// The command byte.
        command: Code,
        /// The state the session was in.
        state: &'static str,
    },
    /// A command after the session ended (quit, or an earlier fatal error).
    #[error("command {command} after the session was closed")]
    Closed {
        /// The command byte.
        command: Code,
    },
    /// The MTA offered a protocol version this crate does not speak.
    #[error(
        "'O': the MTA offered milter protocol version {version}; versions 2 to 6 are supported"
    )]
    UnsupportedVersion {
        /// The offered version.
        version: u32,
    },
    /// A new command arrived while the application still owed a reply to the previous one.
    #[error("command {command} arrived while the reply to {pending} is still owed")]
    ReplyOutstanding {
        /// The new command byte.
        command: Code,
        /// The command whose reply is owed.
        pending: Code,
    },
    /// The application replied when no reply was expected.
    #[error("reply {reply} sent when no reply is expected")]
    NoReplyExpected {
        /// The reply byte.
        reply: Code,
    },
    /// A reply that is not valid for the command it answers (skip outside a body chunk or
    /// without [`ProtocolFlags::SKIP`], modifications outside end of message).
    #[error("reply {reply} is not allowed in answer to {command}: {reason}")]
    ReplyNotAllowed {
        /// The reply byte.
        reply: Code,
        /// The command being answered.
        command: Code,
        /// Why not.
        reason: &'static str,
    },
    /// A modification whose action was not granted in negotiation.
    #[error(
        "modification {reply} needs action {needs}, which was not negotiated (granted: {granted})"
    )]
    NotNegotiated {
        /// The modification's reply byte.
        reply: Code,
        /// The action it needs.
        needs: Actions,
        /// The actions granted.
        granted: Actions,
    },
    /// A protocol option the operation needs was not negotiated.
    #[error("{reply} needs protocol flag {needs}, which was not negotiated")]
    FlagNotNegotiated {
        /// The reply byte.
        reply: Code,
        /// The flag it needs.
        needs: ProtocolFlags,
    },
    /// A reply or modification that cannot be encoded.
    #[error(transparent)]
    Encode(#[from] EncodeError),
}

impl SessionError {
    /// Whether the error closed the session (the MTA's fault) rather than refusing an
    /// application's reply (which leaves the session as it was).
    pub fn is_fatal(&self) -> bool {
        matches!(
            self,
            SessionError::Decode(_)
                | SessionError::OutOfOrder { .. }
                | SessionError::Closed { .. }
                | SessionError::UnsupportedVersion { .. }
                | SessionError::ReplyOutstanding { .. }
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn messages_name_the_code() {
        let e = DecodeError::MissingNul {
            command: Code(b'H'),
            field: "helo",
            offset: 0,
        };
        assert_eq!(
            e.to_string(),
            "'H': helo at data offset 0 has no NUL terminator"
        );
        let e = DecodeError::FrameTooLarge {
            offset: 8,
            command: None,
            len: 9,
            max: 4,
        };
        assert!(e.to_string().contains("not yet read"));
        assert_eq!(Code(0).to_string(), "0x00");
    }
}
