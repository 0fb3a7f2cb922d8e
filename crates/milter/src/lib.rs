//! The milter protocol (version 6, as Postfix and Sendmail speak it), sans I/O: a codec and a
//! session state machine for the milter side, and the MTA side of the codec for tests and load
//! generators.
//!
//! * **Framing** ([`wire`]): [`parse_frame`] (httparse-style) and [`FrameDecoder`] (feed bytes,
//!   poll frames) split the stream into frames (4-byte big-endian length, code byte, data),
//!   refusing empty frames and frames over a limit ([`DEFAULT_MAX_FRAME_LEN`], 256 KiB, before
//!   their data arrives).
//! * **Codec**: [`Command`] (MTA → milter: `O C H M R D T L N B E A Q K U`) and [`Reply`]
//!   (milter → MTA: `a c d r t y s p O` and the [`Modification`]s `h i m b + 2 - e q`), each
//!   with `decode` and `encode`. Strings are NUL-terminated on the wire and kept as bytes here;
//!   a missing NUL, a short field or trailing bytes are typed [`DecodeError`]s naming the code
//!   byte and the offset.
//! * **Negotiation** ([`negotiate()`]): the milter's [`MilterOptions`] (defaults: add and change
//!   header fields, header values with their leading space, no reply per header field, skip)
//!   intersected with the MTA's offer; [`Negotiated`] says what is in effect and what was not
//!   granted. MTA versions 2 to 6 are accepted and answered with the MTA's version.
//! * **Session** ([`Session`]): [`Command`]s in, [`Event`]s out, with the [`Macros`] in effect;
//!   checks the order of commands, knows which need a reply (`NR_*` flags), and checks the
//!   application's [`Verdict`]s and end-of-message [`Modification`]s against the negotiation
//!   before encoding them.
//! * **Header fields** ([`header`]): [`raw_header_field`] rebuilds `Name:value` byte for byte
//!   with CRLF folds, with or without `HDR_LEADSPC`.
//! * `fuzzing` (cargo feature `fuzzing`): the body of the `milter_session` fuzz target; not
//!   public API of a default build.
//!
//! It does **not** open, read or write sockets, has no timers or timeouts (the daemon owns
//! the MTA's deadlines and sends [`Session::progress`]), and has no policy: it never decides
//! to accept, reject or modify anything. It does not implement multi-line SMTP replies, the
//! `f` (connection failure), `4` (shutdown) and `l` (macro list outside negotiation) replies,
//! or protocol versions before 2.
//!
//! # Example
//!
//! A milter session driven by bytes an MTA sent, answering with a header field at end of
//! message:
//!
//! ```
//! use mailstamp_milter::{
//!     Actions, Command, ConnectInfo, Event, Family, FrameDecoder, MilterOptions, Modification,
//!     OptNeg, ProtocolFlags, Reply, Session, Verdict,
//! };
//!
//! // What the MTA sends (built with the MTA side of the codec).
//! let mut wire = Vec::new();
//! for c in [
//!     Command::OptNeg(OptNeg {
//!         version: 6,
//!         actions: Actions::from_bits_retain(0x1ff),
//!         protocol: ProtocolFlags::from_bits_retain(0x1f_ffff),
//!     }),
//!     Command::Macros { stage: b'C', pairs: vec![(b"j".to_vec(), b"mx.example".to_vec())] },
//!     Command::Connect(ConnectInfo {
//!         hostname: b"client.example".to_vec(),
//!         family: Family::Inet,
//!         port: 40000,
//!         address: b"192.0.2.1".to_vec(),
//!     }),
//!     Command::Mail { sender: b"<a@client.example>".to_vec(), args: vec![] },
//!     Command::Header { name: b"Subject".to_vec(), value: b" hi".to_vec() },
//!     Command::EndOfMessage(vec![]),
//! ] {
//!     c.encode(&mut wire).unwrap();
//! }
//!
//! let mut decoder = FrameDecoder::new();
//! let mut session = Session::new(MilterOptions::default());
//! let mut to_mta = Vec::new();
//! decoder.feed(&wire);
//! while let Some(command) = decoder.poll_command().unwrap() {
//!     match session.handle(command).unwrap() {
//!         Some(Event::Header(field)) => assert_eq!(field.raw(), b"Subject: hi"),
//!         Some(Event::EndOfMessage { .. }) => {
//!             let add = Modification::AddHeader {
//!                 name: b"Authentication-Results".to_vec(),
//!                 value: b"mx.example; none".to_vec(),
//!             };
//!             session.end_of_message(&[add], Verdict::Continue).unwrap();
//!         }
//!         Some(_) if session.expects_reply() => session.reply(Verdict::Continue).unwrap(),
//!         _ => {}
//!     }
//!     to_mta.extend(session.take_output());
//! }
//! assert_eq!(session.macros().get("{j}"), Some("mx.example"));
//!
//! // What the MTA reads back (the MTA side of the codec).
//! let mut replies = FrameDecoder::new();
//! replies.feed(&to_mta);
//! let mut codes = Vec::new();
//! while let Some(reply) = replies.poll_reply().unwrap() {
//!     codes.push(reply.code());
//! }
//! // Negotiation, connect, MAIL (no reply to the header: NR_HDR), add header, continue.
//! assert_eq!(codes, b"Occhc");
//! ```
#![forbid(unsafe_code)]
#![warn(missing_docs)]

pub mod command;
mod error;
mod field;
pub mod flags;
#[cfg(feature = "fuzzing")]
pub mod fuzzing;

// Lets `fuzzing.rs` name this crate the same way from inside it and from the integration tests,
// which include that file by path (the module is behind the `fuzzing` feature).
extern crate self as mailstamp_milter;
pub mod header;
mod macros;
mod negotiate;
pub mod reply;
mod session;
pub mod wire;

pub use command::{Command, ConnectInfo, Family, OptNeg};
pub use error::{Code, DecodeError, EncodeError, SessionError};
pub use flags::{Actions, ProtocolFlags};
pub use header::{HeaderField, raw_header_field};
pub use macros::{Macros, Stage};
pub use negotiate::{MIN_MTA_VERSION, MilterOptions, Negotiated, PROTOCOL_VERSION, negotiate};
pub use reply::{MacroStage, Modification, Reply, ReplyCode};
pub use session::{Event, Session, State, Verdict, parse_client_ip, strip_angle_brackets};
pub use wire::{DEFAULT_MAX_FRAME_LEN, FrameDecoder, MAX_BODY_CHUNK, RawFrame, parse_frame};
