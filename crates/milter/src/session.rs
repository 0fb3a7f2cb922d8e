//! The milter side of one connection: commands in, [`Event`]s out to the application, replies
//! from the application checked and encoded into bytes for the MTA.

use std::net::IpAddr;

use crate::command::{Command, ConnectInfo, Family, code as cmd};
use crate::error::{Code, EncodeError, SessionError};
use crate::flags::ProtocolFlags;
use crate::header::{HeaderField, valid_name, valid_value};
use crate::macros::{Macros, Stage};
use crate::negotiate::{MilterOptions, Negotiated, negotiate};
use crate::reply::{Modification, Reply, ReplyCode};
use crate::wire::MAX_BODY_CHUNK;

/// Where the session is in the conversation.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum State {
    /// Waiting for option negotiation.
    Start,
    /// Negotiated; no SMTP client yet (also after quit-new-connection).
    Negotiated,
    /// After connect.
    Connected,
    /// After HELO, and between messages.
    Helo,
    /// After MAIL.
    Mail,
    /// After at least one RCPT.
    Rcpt,
    /// After DATA.
    Data,
    /// Inside the header.
    Headers,
    /// After end of headers.
    EndOfHeaders,
    /// Inside the body.
    Body,
    /// End of message received, its reply not yet sent.
    EndOfMessage,
    /// After quit or a fatal error.
    Closed,
}

impl State {
    /// A short name for logs and errors.
    pub fn name(self) -> &'static str {
        match self {
            State::Start => "start",
            State::Negotiated => "negotiated",
            State::Connected => "connected",
            State::Helo => "helo",
            State::Mail => "mail",
            State::Rcpt => "rcpt",
            State::Data => "data",
            State::Headers => "headers",
            State::EndOfHeaders => "end-of-headers",
            State::Body => "body",
            State::EndOfMessage => "end-of-message",
            State::Closed => "closed",
        }
    }

    fn is_connection_level(self) -> bool {
        matches!(self, State::Negotiated | State::Connected | State::Helo)
    }
}

/// What the MTA told the milter, for the application.
///
/// Text fields (host names, addresses, ESMTP arguments) are converted from bytes with
/// `String::from_utf8_lossy`; header fields and body chunks stay bytes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Event {
    /// Negotiation is done and its reply queued; log [`Negotiated::shortfall`] if any.
    Negotiated(Negotiated),
    /// The SMTP client connected.
    Connect {
        /// The client's host name as the MTA resolved it (`[192.0.2.1]` or `unknown` when it
        /// has none).
        hostname: String,
        /// The address family.
        family: Family,
        /// The client's port (0 when not TCP).
        port: u16,
        /// The client's address as sent (IP address or socket path; empty for
        /// [`Family::Unknown`]).
        address: String,
        /// The client's IP address, when `address` is one (an `IPv6:` prefix or brackets are
        /// accepted).
        ip: Option<IpAddr>,
    },
    /// HELO or EHLO.
    Helo {
        /// Its argument.
        hostname: String,
    },
    /// MAIL FROM.
    MailFrom {
        /// The reverse path as sent, angle brackets included (see [`strip_angle_brackets`]).
        sender: String,
        /// ESMTP arguments.
        args: Vec<String>,
    },
    /// RCPT TO.
    Rcpt {
        /// The forward path as sent, angle brackets included.
        recipient: String,
        /// ESMTP arguments.
        args: Vec<String>,
    },
    /// DATA.
    Data,
    /// A header field.
    Header(HeaderField),
    /// End of the header.
    EndOfHeaders,
    /// A body chunk (CRLF line endings).
    BodyChunk(Vec<u8>),
    /// End of the message: answer with [`Session::end_of_message`].
    EndOfMessage {
        /// A last body chunk carried by the end-of-message command (empty with current MTAs).
        final_chunk: Vec<u8>,
    },
    /// The current message was aborted (also sent by Postfix between messages); message macros
    /// are cleared.
    Abort,
    /// The MTA closed the milter conversation; the session is closed.
    Quit,
    /// The SMTP connection ended but the milter connection is kept for another one; the next
    /// event is a new connect.
    QuitNewConnection,
    /// An SMTP command the MTA did not recognise.
    Unknown {
        /// The command line as the client sent it.
        command: String,
    },
}

/// The application's answer to a command that expects one.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Verdict {
    /// Go on (`c`).
    Continue,
    /// Accept; no more events for this message (or connection, before MAIL) (`a`).
    Accept,
    /// Reject with a 5xx; in answer to RCPT only that recipient (`r`).
    Reject,
    /// Reject with a 4xx; in answer to RCPT only that recipient (`t`).
    Tempfail,
    /// Accept and silently discard the message (`d`).
    Discard,
    /// Reject with this SMTP reply (`y`).
    ReplyCode(ReplyCode),
    /// No more body chunks, please (`s`): in answer to a body chunk, with
    /// [`ProtocolFlags::SKIP`] negotiated.
    Skip,
}

impl Verdict {
    /// The reply carrying it.
    pub fn to_reply(&self) -> Reply {
        match self {
            Verdict::Continue => Reply::Continue,
            Verdict::Accept => Reply::Accept,
            Verdict::Reject => Reply::Reject,
            Verdict::Tempfail => Reply::Tempfail,
            Verdict::Discard => Reply::Discard,
            Verdict::ReplyCode(rc) => Reply::ReplyCode(rc.clone()),
            Verdict::Skip => Reply::Skip,
        }
    }
}

/// Strips one pair of angle brackets from an envelope address (`<a@b>` → `a@b`, `<>` → ``).
pub fn strip_angle_brackets(address: &str) -> &str {
    address
        .strip_prefix('<')
        .and_then(|a| a.strip_suffix('>'))
        .unwrap_or(address)
}

/// Parses a client address as the MTA sends it: plain, `IPv6:`-prefixed or in brackets.
pub fn parse_client_ip(address: &str) -> Option<IpAddr> {
    let a = address.trim();
    let a = a
        .strip_prefix('[')
        .and_then(|a| a.strip_suffix(']'))
        .unwrap_or(a);
    let a = match a.get(..5) {
        Some(p) if p.eq_ignore_ascii_case("ipv6:") => &a[5..],
        _ => a,
    };
    a.parse().ok()
}

fn text(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

/// The milter side of one MTA connection, as a state machine with no I/O.
///
/// Feed it decoded [`Command`]s with [`Session::handle`]; it returns the [`Event`] for the
/// application (none for macro definitions, which go into [`Session::macros`]). When
/// [`Session::expects_reply`] is true the MTA waits: answer with [`Session::reply`] (or, at end of
/// message, [`Session::end_of_message`]) before handling the next command. Write
/// [`Session::take_output`] to the MTA after each step.
///
/// It checks the order of commands (liberally: HELO may be skipped, abort may come at any time,
/// MAIL may restart a message that ended early), answers negotiation itself, and refuses to
/// emit a modification whose action was not negotiated.
#[derive(Debug, Clone)]
pub struct Session {
    options: MilterOptions,
    negotiated: Option<Negotiated>,
    state: State,
    /// The connection-level state to return to when a message ends.
    conn_state: State,
    /// The application ended the current message early (accept, reject, discard).
    message_done: bool,
    /// The command whose reply is owed.
    awaiting: Option<u8>,
    /// The last command was quit-new-connection: a new negotiation may follow.
    after_quit_nc: bool,
    macros: Macros,
    out: Vec<u8>,
}

impl Session {
    /// A new session that will ask for `options` in negotiation.
    pub fn new(options: MilterOptions) -> Session {
        Session {
            options,
            negotiated: None,
            state: State::Start,
            conn_state: State::Start,
            message_done: false,
            awaiting: None,
            after_quit_nc: false,
            macros: Macros::new(),
            out: Vec::new(),
        }
    }

    /// The current state.
    pub fn state(&self) -> State {
        self.state
    }

    /// Whether the session ended (quit, or a fatal error).
    pub fn is_closed(&self) -> bool {
        self.state == State::Closed
    }

    /// The outcome of negotiation, once done.
    pub fn negotiated(&self) -> Option<&Negotiated> {
        self.negotiated.as_ref()
    }

    /// The macros in effect.
    pub fn macros(&self) -> &Macros {
        &self.macros
    }

    /// Whether the MTA waits for a reply to the last command.
    pub fn expects_reply(&self) -> bool {
        self.awaiting.is_some()
    }

    /// The byte of the command whose reply is owed.
    pub fn pending_command(&self) -> Option<u8> {
        self.awaiting
    }

    /// Whether there are bytes to send.
    pub fn has_output(&self) -> bool {
        !self.out.is_empty()
    }

    /// The bytes to send to the MTA, emptying the buffer.
    pub fn take_output(&mut self) -> Vec<u8> {
        std::mem::take(&mut self.out)
    }

    fn flag(&self, f: ProtocolFlags) -> bool {
        self.negotiated
            .as_ref()
            .is_some_and(|n| n.protocol.contains(f))
    }

    fn fail(&mut self, e: SessionError) -> Result<Option<Event>, SessionError> {
        self.state = State::Closed;
        self.awaiting = None;
        Err(e)
    }

    fn allowed(&self, code: u8) -> bool {
        use State as S;
        let s = self.state;
        // With NOMAIL in effect a message may start without MAIL.
        let in_message = matches!(
            s,
            S::Mail | S::Rcpt | S::Data | S::Headers | S::EndOfHeaders | S::Body
        ) || (s.is_connection_level() && self.flag(ProtocolFlags::NOMAIL));
        match code {
            cmd::OPTNEG => s == S::Start || self.after_quit_nc,
            cmd::QUIT => true,
            _ if s == S::Start => false,
            cmd::MACRO | cmd::ABORT | cmd::QUIT_NC | cmd::UNKNOWN => true,
            cmd::CONNECT => s == S::Negotiated,
            cmd::HELO => s.is_connection_level(),
            cmd::MAIL => {
                s.is_connection_level() || matches!(s, S::Mail | S::Rcpt) || self.message_done
            }
            cmd::RCPT => matches!(s, S::Mail | S::Rcpt) || in_message && s.is_connection_level(),
            cmd::DATA => matches!(s, S::Mail | S::Rcpt) || in_message && s.is_connection_level(),
            cmd::HEADER | cmd::EOH => {
                matches!(s, S::Mail | S::Rcpt | S::Data | S::Headers)
                    || in_message && s.is_connection_level()
            }
            cmd::BODY | cmd::BODYEOB => in_message,
            _ => false,
        }
    }

    /// Takes one command from the MTA.
    ///
    /// Returns the event for the application, or `None` for a macro definition. A fatal error
    /// (see [`SessionError::is_fatal`]) closes the session: drop the connection.
    pub fn handle(&mut self, command: Command) -> Result<Option<Event>, SessionError> {
        let code = command.code();
        if self.state == State::Closed {
            return Err(SessionError::Closed {
                command: Code(code),
            });
        }
        if let Some(pending) = self.awaiting {
            return self.fail(SessionError::ReplyOutstanding {
                command: Code(code),
                pending: Code(pending),
            });
        }
        if !self.allowed(code) {
            let state = self.state.name();
            return self.fail(SessionError::OutOfOrder {
                command: Code(code),
                state,
            });
        }
        self.after_quit_nc = matches!(command, Command::QuitNewConnection);
        let event = match command {
            Command::OptNeg(offer) => {
                let n = match negotiate(&offer, &self.options) {
                    Ok(n) => n,
                    Err(e) => return self.fail(e),
                };
                if let Err(e) = n.reply().encode(&mut self.out) {
                    return self.fail(e.into());
                }
                self.negotiated = Some(n.clone());
                self.state = State::Negotiated;
                self.conn_state = State::Negotiated;
                Event::Negotiated(n)
            }
            Command::Macros { stage, pairs } => {
                self.macros.define(Stage::from_byte(stage), &pairs);
                return Ok(None);
            }
            Command::Connect(ConnectInfo {
                hostname,
                family,
                port,
                address,
            }) => {
                self.state = State::Connected;
                self.conn_state = State::Connected;
                let address = text(&address);
                let ip = match family {
                    Family::Inet | Family::Inet6 => parse_client_ip(&address),
                    _ => None,
                };
                Event::Connect {
                    hostname: text(&hostname),
                    family,
                    port,
                    address,
                    ip,
                }
            }
            Command::Helo(h) => {
                self.state = State::Helo;
                self.conn_state = State::Helo;
                Event::Helo { hostname: text(&h) }
            }
            Command::Mail { sender, args } => {
                self.macros.clear_after_mail();
                self.message_done = false;
                self.state = State::Mail;
                Event::MailFrom {
                    sender: text(&sender),
                    args: args.iter().map(|a| text(a)).collect(),
                }
            }
            Command::Rcpt { recipient, args } => {
                self.state = State::Rcpt;
                Event::Rcpt {
                    recipient: text(&recipient),
                    args: args.iter().map(|a| text(a)).collect(),
                }
            }
            Command::Data => {
                self.state = State::Data;
                Event::Data
            }
            Command::Header { name, value } => {
                self.state = State::Headers;
                let leading_space = self.flag(ProtocolFlags::HDR_LEADSPC);
                Event::Header(HeaderField {
                    name,
                    value,
                    leading_space,
                })
            }
            Command::EndOfHeaders => {
                self.state = State::EndOfHeaders;
                Event::EndOfHeaders
            }
            Command::Body(chunk) => {
                self.state = State::Body;
                Event::BodyChunk(chunk)
            }
            Command::EndOfMessage(final_chunk) => {
                self.state = State::EndOfMessage;
                Event::EndOfMessage { final_chunk }
            }
            Command::Abort => {
                self.end_message();
                Event::Abort
            }
            Command::Quit => {
                self.state = State::Closed;
                Event::Quit
            }
            Command::QuitNewConnection => {
                self.macros.clear();
                self.message_done = false;
                self.state = State::Negotiated;
                self.conn_state = State::Negotiated;
                Event::QuitNewConnection
            }
            Command::Unknown(c) => Event::Unknown { command: text(&c) },
        };
        if self
            .negotiated
            .as_ref()
            .is_some_and(|n| n.expects_reply(code))
        {
            self.awaiting = Some(code);
        }
        Ok(Some(event))
    }

    fn end_message(&mut self) {
        self.macros.clear_message();
        self.message_done = false;
        self.state = self.conn_state;
    }

    fn check_verdict(&self, verdict: &Verdict) -> Result<u8, SessionError> {
        let reply = verdict.to_reply().code();
        let Some(pending) = self.awaiting else {
            return Err(SessionError::NoReplyExpected { reply: Code(reply) });
        };
        if *verdict == Verdict::Skip {
            if pending != cmd::BODY {
                return Err(SessionError::ReplyNotAllowed {
                    reply: Code(reply),
                    command: Code(pending),
                    reason: "skip answers a body chunk only",
                });
            }
            if !self.flag(ProtocolFlags::SKIP) {
                return Err(SessionError::FlagNotNegotiated {
                    reply: Code(reply),
                    needs: ProtocolFlags::SKIP,
                });
            }
        }
        Ok(pending)
    }

    /// Answers the command that expects a reply (end of message too, with no modification).
    ///
    /// A non-fatal error (no reply expected, skip not allowed here) emits nothing and leaves the
    /// session as it was.
    pub fn reply(&mut self, verdict: Verdict) -> Result<(), SessionError> {
        self.end_of_message_or_reply(&[], verdict, false)
    }

    /// Answers end of message: the modifications in order, then the verdict.
    ///
    /// Each modification is checked before anything is emitted: its action must have been
    /// granted in negotiation ([`SessionError::NotNegotiated`]), header names must be printable
    /// ASCII without `:`, header values must contain no NUL and line breaks only as folds. When
    /// [`ProtocolFlags::HDR_LEADSPC`] is in effect the MTA adds no space after the colon, so the
    /// session puts one before a non-empty value that does not start with white space: give
    /// values as you would write them after `Name: ` either way. A body replacement longer than
    /// [`MAX_BODY_CHUNK`] is sent as several `b` frames. On error nothing is emitted and the
    /// session still waits for a reply.
    pub fn end_of_message(
        &mut self,
        modifications: &[Modification],
        verdict: Verdict,
    ) -> Result<(), SessionError> {
        self.end_of_message_or_reply(modifications, verdict, true)
    }

    fn end_of_message_or_reply(
        &mut self,
        modifications: &[Modification],
        verdict: Verdict,
        eom_only: bool,
    ) -> Result<(), SessionError> {
        let pending = self.check_verdict(&verdict)?;
        if pending != cmd::BODYEOB && (eom_only || !modifications.is_empty()) {
            let reply = modifications
                .first()
                .map_or(verdict.to_reply().code(), Modification::code);
            return Err(SessionError::ReplyNotAllowed {
                reply: Code(reply),
                command: Code(pending),
                reason: "modifications are sent at end of message only",
            });
        }
        let granted = self
            .negotiated
            .as_ref()
            .map(|n| n.actions)
            .unwrap_or_default();
        let leadspc = self.flag(ProtocolFlags::HDR_LEADSPC);
        let mut buf = Vec::new();
        for m in modifications {
            let needs = m.required_action();
            if !granted.contains(needs) {
                return Err(SessionError::NotNegotiated {
                    reply: Code(m.code()),
                    needs,
                    granted,
                });
            }
            match m {
                // One frame per chunk, like the MTA's own body chunks; the MTA concatenates them.
                Modification::ReplaceBody(body) if body.len() > MAX_BODY_CHUNK => {
                    for chunk in body.chunks(MAX_BODY_CHUNK) {
                        Reply::Modify(Modification::ReplaceBody(chunk.to_vec()))
                            .encode(&mut buf)?;
                    }
                }
                m => Reply::Modify(prepare(m, leadspc)?).encode(&mut buf)?,
            }
        }
        verdict.to_reply().encode(&mut buf)?;
        self.out.extend_from_slice(&buf);
        self.awaiting = None;
        if pending == cmd::BODYEOB {
            self.end_message();
        } else if !self.state.is_connection_level() {
            let ends = match verdict {
                Verdict::Accept | Verdict::Discard => true,
                Verdict::Reject | Verdict::Tempfail | Verdict::ReplyCode(_) => pending != cmd::RCPT,
                Verdict::Continue | Verdict::Skip => false,
            };
            self.message_done |= ends;
        }
        Ok(())
    }

    /// Tells the MTA the milter is still working (`p`), resetting its timeout; the reply is still
    /// owed.
    pub fn progress(&mut self) -> Result<(), SessionError> {
        if self.awaiting.is_none() {
            return Err(SessionError::NoReplyExpected { reply: Code(b'p') });
        }
        Reply::Progress.encode(&mut self.out)?;
        Ok(())
    }
}

/// Checks a modification's header name and value and adds the leading space the MTA will not.
fn prepare(m: &Modification, leadspc: bool) -> Result<Modification, SessionError> {
    let (name, value) = match m {
        Modification::AddHeader { name, value }
        | Modification::InsertHeader { name, value, .. }
        | Modification::ChangeHeader { name, value, .. } => (name, value),
        other => return Ok(other.clone()),
    };
    let invalid = |field, reason| EncodeError::Invalid {
        command: Code(m.code()),
        field,
        reason,
    };
    if !valid_name(name) {
        return Err(invalid("header name", "must be printable ASCII without ':'").into());
    }
    if !valid_value(value) {
        return Err(invalid(
            "header value",
            "must have no NUL and line breaks only as folds",
        )
        .into());
    }
    let mut value = value.clone();
    if leadspc && !value.is_empty() && !matches!(value[0], b' ' | b'\t') {
        value.insert(0, b' ');
    }
    let name = name.clone();
    Ok(match *m {
        Modification::InsertHeader { index, .. } => {
            Modification::InsertHeader { index, name, value }
        }
        Modification::ChangeHeader { index, .. } => {
            Modification::ChangeHeader { index, name, value }
        }
        _ => Modification::AddHeader { name, value },
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::command::OptNeg;
    use crate::flags::Actions;

    fn negotiated(protocol: u32) -> Session {
        let mut s = Session::new(MilterOptions::default());
        let offer = OptNeg {
            version: 6,
            actions: Actions::from_bits_retain(0x1ff),
            protocol: ProtocolFlags::from_bits_retain(protocol),
        };
        assert!(matches!(
            s.handle(Command::OptNeg(offer)),
            Ok(Some(Event::Negotiated(_)))
        ));
        s.take_output();
        s
    }

    #[test]
    fn client_ip_forms() {
        assert_eq!(
            parse_client_ip("192.0.2.1"),
            Some("192.0.2.1".parse().unwrap())
        );
        assert_eq!(
            parse_client_ip("IPv6:2001:db8::1"),
            Some("2001:db8::1".parse().unwrap())
        );
        assert_eq!(
            parse_client_ip("[2001:db8::2]"),
            Some("2001:db8::2".parse().unwrap())
        );
        assert_eq!(parse_client_ip("/var/run/x"), None);
        assert_eq!(strip_angle_brackets("<a@b>"), "a@b");
        assert_eq!(strip_angle_brackets("<>"), "");
    }

    #[test]
    fn skip_needs_a_body_chunk_and_the_flag() {
        let mut s = negotiated(0x1f_ffff);
        s.handle(Command::Mail {
            sender: b"<a@b>".to_vec(),
            args: vec![],
        })
        .unwrap();
        assert_eq!(
            s.reply(Verdict::Skip),
            Err(SessionError::ReplyNotAllowed {
                reply: Code(b's'),
                command: Code(b'M'),
                reason: "skip answers a body chunk only"
            })
        );
        s.reply(Verdict::Continue).unwrap();
        s.handle(Command::Body(b"x".to_vec())).unwrap();
        s.reply(Verdict::Skip).unwrap();
        let mut s = negotiated(0x1f_ffff & !0x400);
        s.handle(Command::Body(b"x".to_vec())).unwrap_err();
        let mut s = negotiated(0x1f_ffff & !0x400);
        s.handle(Command::Mail {
            sender: b"<a@b>".to_vec(),
            args: vec![],
        })
        .unwrap();
        s.reply(Verdict::Continue).unwrap();
        s.handle(Command::Body(b"x".to_vec())).unwrap();
        assert!(matches!(
            s.reply(Verdict::Skip),
            Err(SessionError::FlagNotNegotiated { .. })
        ));
    }

    #[test]
    fn mail_restarts_a_message_ended_early() {
        let mut s = negotiated(0x1f_ffff);
        s.handle(Command::Mail {
            sender: b"<a@b>".to_vec(),
            args: vec![],
        })
        .unwrap();
        s.reply(Verdict::Continue).unwrap();
        s.handle(Command::Rcpt {
            recipient: b"<c@d>".to_vec(),
            args: vec![],
        })
        .unwrap();
        s.reply(Verdict::Continue).unwrap();
        s.handle(Command::EndOfHeaders).unwrap();
        // Without an early end, MAIL here is out of order.
        let mut t = s.clone();
        s.reply(Verdict::Reject).unwrap();
        s.handle(Command::Mail {
            sender: b"<a@b>".to_vec(),
            args: vec![],
        })
        .unwrap();
        t.reply(Verdict::Continue).unwrap();
        let e = t
            .handle(Command::Mail {
                sender: b"<a@b>".to_vec(),
                args: vec![],
            })
            .unwrap_err();
        assert_eq!(
            e,
            SessionError::OutOfOrder {
                command: Code(b'M'),
                state: "end-of-headers"
            }
        );
        assert!(t.is_closed());
    }

    #[test]
    fn renegotiation_only_right_after_quit_new_connection() {
        let mut s = negotiated(0x1f_ffff);
        let offer = OptNeg {
            version: 6,
            actions: Actions::from_bits_retain(0x1ff),
            protocol: ProtocolFlags::from_bits_retain(0x1f_ffff),
        };
        s.handle(Command::QuitNewConnection).unwrap();
        assert!(matches!(
            s.handle(Command::OptNeg(offer)),
            Ok(Some(Event::Negotiated(_)))
        ));
        assert!(matches!(
            s.handle(Command::OptNeg(offer)),
            Err(SessionError::OutOfOrder { .. })
        ));
    }

    #[test]
    fn a_long_body_replacement_is_chunked() {
        let mut s = Session::new(MilterOptions {
            actions: Actions::CHGBODY,
            ..MilterOptions::default()
        });
        s.handle(Command::OptNeg(OptNeg {
            version: 6,
            actions: Actions::from_bits_retain(0x1ff),
            protocol: ProtocolFlags::from_bits_retain(0x1f_ffff),
        }))
        .unwrap();
        s.handle(Command::Mail {
            sender: b"<a@b>".to_vec(),
            args: vec![],
        })
        .unwrap();
        s.reply(Verdict::Continue).unwrap();
        s.take_output();
        s.handle(Command::EndOfMessage(vec![])).unwrap();
        let body = vec![b'x'; 2 * MAX_BODY_CHUNK + 1];
        s.end_of_message(&[Modification::ReplaceBody(body)], Verdict::Continue)
            .unwrap();
        let out = s.take_output();
        let mut d = crate::FrameDecoder::new();
        d.feed(&out);
        let mut sizes = Vec::new();
        while let Some(r) = d.poll_reply().unwrap() {
            match r {
                Reply::Modify(Modification::ReplaceBody(b)) => sizes.push(b.len()),
                other => assert_eq!(other, Reply::Continue),
            }
        }
        assert_eq!(sizes, [MAX_BODY_CHUNK, MAX_BODY_CHUNK, 1]);
    }

    #[test]
    fn nomail_lets_a_message_start_at_rcpt() {
        let mut s = negotiated(0x1f_ffff);
        assert!(
            s.handle(Command::Rcpt {
                recipient: b"<c@d>".to_vec(),
                args: vec![]
            })
            .is_err()
        );
        let mut s = Session::new(MilterOptions {
            protocol: ProtocolFlags::NOMAIL,
            ..MilterOptions::default()
        });
        s.handle(Command::OptNeg(OptNeg {
            version: 6,
            actions: Actions::EMPTY,
            protocol: ProtocolFlags::from_bits_retain(0x1f_ffff),
        }))
        .unwrap();
        s.handle(Command::Rcpt {
            recipient: b"<c@d>".to_vec(),
            args: vec![],
        })
        .unwrap();
    }
}
