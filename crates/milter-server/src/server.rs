//! The server: listeners, one task per MTA connection, reload and graceful shutdown.

use crate::config::{Config, ConfigError, Quarantine};
use crate::metrics::Metrics;
use crate::net::Listen;
use crate::process::{Client, MessageData, MtaAbilities, process};
use crate::record::Recorder;
use crate::state::{Loaded, Overrides};
use mailstamp_milter::{
    Actions, Command, Event, FrameDecoder, MacroStage, MilterOptions, ProtocolFlags, Session,
    Verdict, strip_angle_brackets,
};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, PoisonError, RwLock};
use std::time::Duration;
use tokio::io::{AsyncRead, AsyncReadExt as _, AsyncWrite, AsyncWriteExt as _};
use tokio::net::{TcpListener, UnixListener};
use tokio::sync::{Semaphore, watch};
use tokio::task::JoinSet;
use tokio::time::Instant;
use tracing::{debug, error, info, warn};

/// The lines to add to Postfix's main.cf when a macro never arrives.
pub const MACRO_HINTS: [(&str, &str); 3] = [
    (
        "daemon_name",
        "milter_connect_macros = j {daemon_name} {daemon_addr} v {client_addr} _",
    ),
    (
        "auth_authen",
        "milter_mail_macros = i {auth_type} {auth_authen} {auth_author} {mail_addr} {mail_host} {mail_mailer}",
    ),
    ("i", "milter_end_of_data_macros = i"),
];

/// The same settings in Sendmail's `sendmail.mc` (`confMILTER_MACROS_*`, as the README
/// shows them), in [`MACRO_HINTS`]' order.
pub const SENDMAIL_MACRO_HINTS: [&str; 3] = [
    "define(`confMILTER_MACROS_CONNECT', `j, {daemon_name}, {client_addr}, _')dnl",
    "define(`confMILTER_MACROS_ENVFROM', `i, {auth_type}, {auth_authen}, {mail_addr}')dnl",
    "define(`confMILTER_MACROS_EOM', `{msg_id}, i')dnl",
];

/// Log-once flags.
#[derive(Debug, Default)]
struct Warned {
    leadspc: AtomicBool,
    macros: [AtomicBool; 3],
}

impl Warned {
    fn first(flag: &AtomicBool) -> bool {
        !flag.swap(true, Ordering::Relaxed)
    }
}

struct Shared {
    state: RwLock<Arc<Loaded>>,
    metrics: Arc<Metrics>,
    path: PathBuf,
    overrides: Overrides,
    warned: Warned,
    shutdown: watch::Sender<bool>,
    /// The verdict store's writer (`record`), replaced when a reload changes it.
    recorder: RwLock<Option<Recorder>>,
}

/// The milter server: the configuration in force, the metrics and the shutdown switch. Cheap
/// to clone.
#[derive(Clone)]
pub struct Server {
    shared: Arc<Shared>,
}

impl std::fmt::Debug for Server {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Server")
            .field("path", &self.shared.path)
            .finish_non_exhaustive()
    }
}

/// A bound listening socket.
#[derive(Debug)]
pub enum Listener {
    /// TCP.
    Tcp(TcpListener),
    /// A unix-domain socket (removed when the server stops).
    Unix(UnixListener, PathBuf),
}

impl Listener {
    /// The address as `inet:HOST:PORT` or `unix:PATH` (with the real port when 0 was asked).
    pub fn describe(&self) -> String {
        match self {
            Listener::Tcp(l) => l
                .local_addr()
                .map(|a| match a {
                    std::net::SocketAddr::V6(v6) => format!("inet:[{}]:{}", v6.ip(), v6.port()),
                    a => format!("inet:{a}"),
                })
                .unwrap_or_else(|_| "inet:?".into()),
            Listener::Unix(_, p) => format!("unix:{}", p.display()),
        }
    }

    /// The TCP address, for a TCP listener.
    pub fn local_addr(&self) -> Option<std::net::SocketAddr> {
        match self {
            Listener::Tcp(l) => l.local_addr().ok(),
            Listener::Unix(..) => None,
        }
    }
}

/// What the milter asks for in negotiation.
pub fn milter_options(config: &Config) -> MilterOptions {
    let mut o = MilterOptions::default();
    o.actions |= Actions::ADDHDRS | Actions::CHGHDRS;
    // Every decision is taken at end of message (and a Skip may answer a body chunk): the MTA
    // need not wait for a reply to connect, HELO, MAIL, RCPT, end of header or an unknown
    // command. Each is one round trip less per message, and less work for the MTA.
    o.protocol |= ProtocolFlags::NR_CONN
        | ProtocolFlags::NR_HELO
        | ProtocolFlags::NR_MAIL
        | ProtocolFlags::NR_RCPT
        | ProtocolFlags::NR_EOH
        | ProtocolFlags::NR_UNKN;
    if config.dmarc.quarantine == Quarantine::Mta {
        o.actions |= Actions::QUARANTINE;
    }
    o.macros = vec![
        (
            MacroStage::Connect,
            "j {daemon_name} {client_addr} _".into(),
        ),
        (
            MacroStage::Mail,
            "i {auth_type} {auth_authen} {mail_addr}".into(),
        ),
        (MacroStage::EndOfHeaders, "i".into()),
        (MacroStage::EndOfMessage, "i".into()),
    ];
    o
}

/// Looks up a user or group name in a passwd-format file (`name:x:id:...`), or takes a number.
fn lookup_id(name: &str, file: &str) -> Option<u32> {
    if let Ok(n) = name.parse() {
        return Some(n);
    }
    let text = std::fs::read_to_string(file).ok()?;
    text.lines().find_map(|l| {
        let mut f = l.split(':');
        (f.next() == Some(name)).then(|| f.nth(1)?.parse().ok())?
    })
}

impl Server {
    /// A server for a configuration already loaded from `path` (reload reads `path` again).
    pub fn new(loaded: Loaded, path: &Path, overrides: Overrides) -> Server {
        for p in &loaded.signing.problems {
            error!(path = %p.path.display(), "{p}");
        }
        if let Some(Err(p)) = &loaded.arc_seal {
            error!(path = %p.path.display(), "{p}");
        }
        let (tx, _) = watch::channel(false);
        let metrics = Arc::new(Metrics::default());
        let recorder = start_recorder(&loaded.config, &metrics);
        Server {
            shared: Arc::new(Shared {
                state: RwLock::new(Arc::new(loaded)),
                metrics,
                path: path.to_owned(),
                overrides,
                warned: Warned::default(),
                shutdown: tx,
                recorder: RwLock::new(recorder),
            }),
        }
    }

    /// Loads `path` and makes a server (inside a tokio runtime).
    pub fn load(path: &Path, overrides: Overrides) -> Result<Server, ConfigError> {
        let loaded = Loaded::load(path, None, &overrides)?;
        Ok(Server::new(loaded, path, overrides))
    }

    /// The configuration in force.
    pub fn current(&self) -> Arc<Loaded> {
        self.shared
            .state
            .read()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }

    /// The counters.
    pub fn metrics(&self) -> Arc<Metrics> {
        self.shared.metrics.clone()
    }

    /// Reads the configuration file again. On success the new configuration applies to the
    /// messages that start from now on (connections are kept); on failure the running one stays
    /// and the error says why. A changed `listen` needs a restart (logged).
    pub fn reload(&self) -> Result<(), ConfigError> {
        let old = self.current();
        match Loaded::load(&self.shared.path, Some(&old), &self.shared.overrides) {
            Ok(new) => {
                if new.config.listen != old.config.listen {
                    warn!(
                        old = %old.config.listen,
                        new = %new.config.listen,
                        "listen changed: it takes effect at the next restart"
                    );
                }
                for p in &new.signing.problems {
                    error!(path = %p.path.display(), "{p}");
                }
                if let Some(Err(p)) = &new.arc_seal {
                    error!(path = %p.path.display(), "{p}");
                }
                if (&new.config.record, new.config.record_queue)
                    != (&old.config.record, old.config.record_queue)
                {
                    let recorder = start_recorder(&new.config, &self.shared.metrics);
                    if new.config.record.is_none() {
                        info!("record removed: DMARC evaluations are no longer recorded");
                    }
                    // The old writer finishes what it has queued on its own thread.
                    *self
                        .shared
                        .recorder
                        .write()
                        .unwrap_or_else(PoisonError::into_inner) = recorder;
                }
                *self
                    .shared
                    .state
                    .write()
                    .unwrap_or_else(PoisonError::into_inner) = Arc::new(new);
                self.shared.metrics.reloads.inc();
                info!(path = %self.shared.path.display(), "configuration reloaded");
                Ok(())
            }
            Err(e) => {
                self.shared.metrics.reload_failures.inc();
                error!("reload failed, the running configuration is kept: {e}");
                Err(e)
            }
        }
    }

    /// The verdict store evaluations are recorded in now (`record`, password removed).
    pub fn recording(&self) -> Option<String> {
        self.shared
            .recorder
            .read()
            .unwrap_or_else(PoisonError::into_inner)
            .as_ref()
            .map(|r| mailstamp_reports::store::redact(r.spec()))
    }

    /// Stops recording: the evaluations still queued are written (or dropped, if the store is
    /// down) before this returns. Called once [`Server::serve`] has returned.
    pub async fn finish_recording(&self) {
        let recorder = self
            .shared
            .recorder
            .write()
            .unwrap_or_else(PoisonError::into_inner)
            .take();
        if let Some(r) = recorder {
            let _ = tokio::task::spawn_blocking(move || r.finish()).await;
        }
    }

    /// Asks the server to stop: no new connections; messages in flight finish.
    pub fn shutdown(&self) {
        self.shared.shutdown.send_replace(true);
    }

    /// Binds the configured listener. A unix socket replaces a stale socket file and gets the
    /// configured mode, owner and group.
    pub async fn bind(&self) -> std::io::Result<Listener> {
        let config = &self.current().config;
        match &config.listen {
            Listen::Inet { host, port } => Ok(Listener::Tcp(
                TcpListener::bind((host.as_str(), *port)).await?,
            )),
            Listen::Unix(path) => {
                use std::os::unix::fs::{FileTypeExt as _, PermissionsExt as _};
                if let Ok(meta) = std::fs::symlink_metadata(path)
                    && meta.file_type().is_socket()
                {
                    std::fs::remove_file(path)?;
                }
                let listener = UnixListener::bind(path)?;
                let mode = config.socket_mode.map_or(0o660, |m| m.0);
                std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode))?;
                let uid = match &config.socket_owner {
                    Some(u) => Some(lookup_id(u, "/etc/passwd").ok_or_else(|| {
                        std::io::Error::other(format!("socket_owner: no such user {u:?}"))
                    })?),
                    None => None,
                };
                let gid = match &config.socket_group {
                    Some(g) => Some(lookup_id(g, "/etc/group").ok_or_else(|| {
                        std::io::Error::other(format!("socket_group: no such group {g:?}"))
                    })?),
                    None => None,
                };
                if uid.is_some() || gid.is_some() {
                    std::os::unix::fs::chown(path, uid, gid)?;
                }
                Ok(Listener::Unix(listener, path.clone()))
            }
        }
    }

    /// Serves MTA connections until [`Server::shutdown`]; then stops accepting, lets the
    /// messages in flight finish (at most twice `limits.wall_time_ms` plus 5 s) and returns.
    pub async fn serve(&self, listener: Listener) {
        let mut shutdown = self.shared.shutdown.subscribe();
        let limit = Arc::new(Semaphore::new(self.current().config.limits.max_connections));
        let mut tasks = JoinSet::new();
        info!(listen = %listener.describe(), "milter listening");
        loop {
            if *shutdown.borrow_and_update() {
                break;
            }
            let permit = tokio::select! {
                _ = shutdown.changed() => break,
                p = limit.clone().acquire_owned() => match p { Ok(p) => p, Err(_) => break },
            };
            let accepted = tokio::select! {
                _ = shutdown.changed() => break,
                a = accept(&listener) => a,
            };
            match accepted {
                Ok((stream, peer)) => {
                    let shared = self.shared.clone();
                    tasks.spawn(async move {
                        match stream {
                            Stream::Tcp(s) => connection(shared, s, peer).await,
                            Stream::Unix(s) => connection(shared, s, peer).await,
                        }
                        drop(permit);
                    });
                }
                Err(e) => {
                    warn!(error = %e, "accept failed");
                    tokio::time::sleep(Duration::from_millis(50)).await;
                }
            }
            while tasks.try_join_next().is_some() {}
        }
        if let Listener::Unix(_, path) = &listener {
            let _ = std::fs::remove_file(path);
        }
        drop(listener);
        let grace =
            Duration::from_millis(self.current().config.limits.wall_time_ms.saturating_mul(2))
                + Duration::from_secs(5);
        info!(
            connections = tasks.len(),
            "stopping: waiting for messages in flight"
        );
        let drained =
            tokio::time::timeout(grace, async { while tasks.join_next().await.is_some() {} }).await;
        if drained.is_err() {
            warn!(
                connections = tasks.len(),
                "grace period over: closing the remaining connections"
            );
            tasks.abort_all();
        }
        info!("stopped");
    }
}

enum Stream {
    Tcp(tokio::net::TcpStream),
    Unix(tokio::net::UnixStream),
}

async fn accept(listener: &Listener) -> std::io::Result<(Stream, String)> {
    match listener {
        Listener::Tcp(l) => {
            let (s, a) = l.accept().await?;
            let _ = s.set_nodelay(true);
            Ok((Stream::Tcp(s), a.to_string()))
        }
        Listener::Unix(l, p) => {
            let (s, _) = l.accept().await?;
            Ok((Stream::Unix(s), p.display().to_string()))
        }
    }
}

/// Per-connection state beside the protocol session.
#[derive(Default)]
struct Conn {
    client: Client,
    msg: Option<MessageData>,
    started: Option<Instant>,
    leadspc: bool,
}

enum Flow {
    Go,
    Close,
}

/// Acknowledges what was read at once instead of after the delayed-ACK timer (about 40 ms on
/// Linux). The MTA writes several commands without waiting for a reply (macros before each
/// command, header fields), and on a connection where it did not turn Nagle's algorithm off
/// each such pair would wait for our ACK: measured with `examples/postfix_overhead.rs`, one
/// 40 ms stall per message, Postfix at about 200 messages/s per 10 sessions.
trait QuickAck {
    fn quick_ack(&self);
}

impl QuickAck for tokio::net::TcpStream {
    fn quick_ack(&self) {
        #[cfg(target_os = "linux")]
        {
            let _ = socket2::SockRef::from(self).set_tcp_quickack(true);
        }
    }
}

impl QuickAck for tokio::net::UnixStream {
    fn quick_ack(&self) {}
}

async fn connection<S: AsyncRead + AsyncWrite + Unpin + Send + QuickAck>(
    shared: Arc<Shared>,
    mut stream: S,
    peer: String,
) {
    let metrics = shared.metrics.clone();
    metrics.connections.inc();
    metrics.connections_open.inc();
    let config_at_start = shared
        .state
        .read()
        .unwrap_or_else(PoisonError::into_inner)
        .clone();
    let mut session = Session::new(milter_options(&config_at_start.config));
    let read_timeout = Duration::from_millis(config_at_start.config.limits.read_timeout_ms);
    drop(config_at_start);
    let mut shutdown = shared.shutdown.subscribe();
    let mut decoder = FrameDecoder::new();
    let mut buf = vec![0u8; 4096];
    let mut conn = Conn::default();
    'conn: loop {
        loop {
            let command = match decoder.poll_command() {
                Ok(Some(c)) => c,
                Ok(None) => break,
                Err(e) => {
                    metrics.protocol_errors.inc();
                    warn!(%peer, error = %e, "closing the MTA connection: bad frame");
                    break 'conn;
                }
            };
            let flow = handle(
                &shared,
                &mut session,
                &mut conn,
                command,
                &peer,
                (&mut stream, read_timeout),
            )
            .await;
            let out = session.take_output();
            if !out.is_empty() {
                let write = tokio::time::timeout(read_timeout, stream.write_all(&out)).await;
                if !matches!(write, Ok(Ok(()))) {
                    debug!(%peer, "the MTA went away while we were writing");
                    break 'conn;
                }
            }
            if let Flow::Close = flow {
                break 'conn;
            }
        }
        let in_message = conn.msg.is_some();
        if *shutdown.borrow_and_update() && !in_message {
            break;
        }
        let n = tokio::select! {
            r = tokio::time::timeout(read_timeout, stream.read(&mut buf)) => match r {
                Err(_) => {
                    metrics.timeouts.inc();
                    info!(%peer, timeout_ms = read_timeout.as_millis() as u64, "closing an MTA connection silent for too long");
                    break;
                }
                Ok(Ok(0)) => {
                    if in_message || decoder.buffered() > 0 {
                        metrics.aborted.inc();
                        warn!(%peer, buffered = decoder.buffered(), "the MTA closed the connection in the middle of a message");
                    }
                    break;
                }
                Ok(Ok(n)) => {
                    stream.quick_ack();
                    n
                }
                Ok(Err(e)) => {
                    debug!(%peer, error = %e, "read error");
                    break;
                }
            },
            _ = shutdown.changed(), if !in_message => break,
        };
        decoder.feed(&buf[..n]);
    }
    metrics.connections_open.dec();
}

fn now(shared: &Shared) -> u64 {
    shared.overrides.now.unwrap_or_else(mailstamp::system_clock)
}

/// Where progress replies go while a message waits: the MTA connection and the write
/// timeout.
type ProgressOut<'a> = (&'a mut (dyn AsyncWrite + Unpin + Send), Duration);

async fn handle(
    shared: &Shared,
    session: &mut Session,
    conn: &mut Conn,
    command: Command,
    peer: &str,
    progress_out: ProgressOut<'_>,
) -> Flow {
    let metrics = &shared.metrics;
    let event = match session.handle(command) {
        Ok(Some(e)) => e,
        Ok(None) => return Flow::Go,
        Err(e) if e.is_fatal() => {
            metrics.protocol_errors.inc();
            warn!(%peer, error = %e, "closing the MTA connection: protocol error");
            return Flow::Close;
        }
        Err(e) => {
            warn!(%peer, error = %e, "command refused");
            return Flow::Go;
        }
    };
    let current = || {
        shared
            .state
            .read()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    };
    let mut reply = Verdict::Continue;
    match event {
        Event::Negotiated(n) => {
            conn.leadspc = n.protocol.contains(ProtocolFlags::HDR_LEADSPC);
            if !conn.leadspc {
                metrics.leadspc_not_granted.inc();
                if Warned::first(&shared.warned.leadspc) {
                    warn!(%peer, "the MTA did not grant HDR_LEADSPC: header fields are rebuilt with one space after the colon, which breaks simple-canonicalized DKIM signatures of other spacing (counted in leadspc_not_granted_total)");
                }
            }
            if let Some(s) = n.shortfall() {
                debug!(%peer, "{s}");
            }
        }
        Event::Connect { hostname, ip, .. } => {
            conn.client = Client {
                ip,
                hostname,
                helo: String::new(),
            };
            if session.macros().get("daemon_name").is_none() {
                warn_macro(shared, 0);
            }
        }
        Event::Helo { hostname } => conn.client.helo = hostname,
        Event::MailFrom { sender, .. } => {
            if session
                .macros()
                .stage(mailstamp_milter::Stage::Mail)
                .is_empty()
            {
                warn_macro(shared, 1);
            }
            conn.msg = Some(MessageData {
                mail_from: strip_angle_brackets(&sender).to_owned(),
                ..MessageData::default()
            });
            conn.started = Some(Instant::now());
        }
        Event::Header(field) => conn
            .msg
            .get_or_insert_with(Default::default)
            .push_header(field, current().config.limits.header_limit()),
        Event::EndOfHeaders => {
            let msg = conn.msg.get_or_insert_with(Default::default);
            read_message_macros(session, msg);
            msg.start_body(current(), &conn.client, now(shared));
            metrics.message_bytes_peak.raise_to(msg.held_bytes() as u64);
        }
        Event::BodyChunk(chunk) => {
            let msg = conn.msg.get_or_insert_with(Default::default);
            if msg.body.is_none() {
                read_message_macros(session, msg);
            }
            msg.push_body(&chunk, current, &conn.client, now(shared));
            metrics.message_bytes_peak.raise_to(msg.held_bytes() as u64);
            if msg.too_large
                && session
                    .negotiated()
                    .is_some_and(|n| n.protocol.contains(ProtocolFlags::SKIP))
            {
                reply = Verdict::Skip;
            }
        }
        Event::EndOfMessage { final_chunk } => {
            let mut msg = conn.msg.take().unwrap_or_default();
            if msg.body.is_none() {
                read_message_macros(session, &mut msg);
            }
            msg.push_body(&final_chunk, current, &conn.client, now(shared));
            // A message without body chunks: the body is empty, its hashes start here.
            msg.start_body(current(), &conn.client, now(shared));
            metrics.message_bytes_peak.raise_to(msg.held_bytes() as u64);
            msg.queue_id = session.macros().get("i").map(str::to_owned);
            if msg.queue_id.is_none() {
                warn_macro(shared, 2);
            }
            let body = msg.body.take().map(|b| b.finish());
            // The configuration in force at end of header applies to the whole message.
            let loaded = body.as_ref().map_or_else(current, |b| b.loaded.clone());
            let t0 = Instant::now();
            let granted = session.negotiated().map(|n| n.actions).unwrap_or_default();
            let mta = MtaAbilities {
                actions: granted,
                leadspc: conn.leadspc,
            };
            let work = process(
                &loaded,
                metrics,
                &conn.client,
                &msg,
                body.as_ref(),
                mta,
                now(shared),
            );
            let interval = Duration::from_millis(loaded.config.limits.progress_interval_ms);
            let mut outcome =
                with_progress(work, interval, session, progress_out, metrics, peer).await;
            if let Some(report) = outcome.record.take()
                && let Some(r) = shared
                    .recorder
                    .read()
                    .unwrap_or_else(PoisonError::into_inner)
                    .as_ref()
            {
                r.submit_report(report);
            }
            if let Err(e) = session.end_of_message(&outcome.modifications, outcome.verdict.clone())
            {
                error!(%peer, error = %e, "the reply could not be sent as decided; continuing without modifications");
                let _ = session.end_of_message(&[], Verdict::Continue);
            }
            metrics.messages.inc();
            metrics.latency.observe(t0.elapsed());
            let total = conn.started.take().map(|s| s.elapsed().as_millis() as u64);
            info!(
                queue_id = msg.queue_id.as_deref().unwrap_or("-"),
                client = %conn.client.ip.map_or_else(|| "-".to_owned(), |i| i.to_string()),
                from = %msg.mail_from,
                direction = outcome.direction,
                action = outcome.action,
                results = %outcome.results,
                reason = %outcome.reason,
                latency_us = t0.elapsed().as_micros() as u64,
                message_ms = total.unwrap_or(0),
                "message"
            );
            return Flow::Go;
        }
        Event::Abort if conn.msg.take().is_some() => metrics.aborted.inc(),
        Event::Quit => return Flow::Close,
        Event::QuitNewConnection => *conn = Conn::default(),
        _ => {}
    }
    if session.expects_reply() && session.reply(reply).is_err() {
        let _ = session.reply(Verdict::Continue);
    }
    Flow::Go
}

/// The macros that decide a message's role, read when its body starts.
fn read_message_macros(session: &Session, msg: &mut MessageData) {
    let macros = session.macros();
    msg.auth_user = macros.get("auth_authen").map(str::to_owned);
    msg.daemon = macros.get("daemon_name").map(str::to_owned);
}

/// Awaits `work` (the end-of-message processing); while it takes longer than `interval`
/// (not zero), sends the MTA a progress reply after each interval so its milter timeout does
/// not fire.
async fn with_progress<F: std::future::Future>(
    work: F,
    interval: Duration,
    session: &mut Session,
    (out, write_timeout): ProgressOut<'_>,
    metrics: &Metrics,
    peer: &str,
) -> F::Output {
    if interval.is_zero() {
        return work.await;
    }
    tokio::pin!(work);
    let mut ticker = tokio::time::interval_at(Instant::now() + interval, interval);
    let mut waited = 0u32;
    loop {
        tokio::select! {
            done = &mut work => return done,
            _ = ticker.tick() => {
                waited += 1;
                if session.progress().is_err() {
                    continue;
                }
                let bytes = session.take_output();
                let sent = tokio::time::timeout(write_timeout, out.write_all(&bytes)).await;
                if matches!(sent, Ok(Ok(()))) {
                    metrics.progress_replies.inc();
                    debug!(%peer, waited_ms = u64::from(waited) * interval.as_millis() as u64, "progress reply sent");
                }
            }
        }
    }
}

/// Starts the verdict store's writer when `record` is set (an error is logged: mail flows on).
fn start_recorder(config: &Config, metrics: &Arc<Metrics>) -> Option<Recorder> {
    let spec = config.record.as_deref()?;
    match Recorder::start(spec, config.record_queue, metrics.clone()) {
        Ok(r) => Some(r),
        Err(e) => {
            error!(
                error = %e,
                "cannot start the verdict store's writer: DMARC evaluations are not recorded"
            );
            None
        }
    }
}

fn warn_macro(shared: &Shared, which: usize) {
    let (name, line) = MACRO_HINTS[which];
    let sendmail = SENDMAIL_MACRO_HINTS[which];
    if Warned::first(&shared.warned.macros[which]) {
        warn!(
            macro_name = name,
            "the MTA does not send {{{name}}}; add to Postfix's main.cf: {line} \
             (Sendmail's sendmail.mc: {sendmail})"
        );
    }
}

/// Tells systemd (`NOTIFY_SOCKET`) about the service state, e.g. `READY=1`. Does nothing
/// without the variable; errors are logged.
pub fn sd_notify(state: &str) {
    let Some(path) = std::env::var_os("NOTIFY_SOCKET") else {
        return;
    };
    if let Err(e) = sd_notify_to(&path, state) {
        warn!(error = %e, "cannot notify systemd");
    }
}

/// Sends `state` to the datagram socket at `path` (`@name`: an abstract socket).
pub fn sd_notify_to(path: &std::ffi::OsStr, state: &str) -> std::io::Result<()> {
    {
        let socket = std::os::unix::net::UnixDatagram::unbound()?;
        let bytes = path.as_encoded_bytes();
        if let Some(name) = bytes.strip_prefix(b"@") {
            #[cfg(target_os = "linux")]
            {
                use std::os::linux::net::SocketAddrExt as _;
                let addr = std::os::unix::net::SocketAddr::from_abstract_name(name)?;
                socket.send_to_addr(state.as_bytes(), &addr)?;
            }
            #[cfg(not(target_os = "linux"))]
            {
                let _ = name;
                return Err(std::io::Error::other("abstract sockets need Linux"));
            }
        } else {
            socket.send_to(state.as_bytes(), path)?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_from_passwd_format() {
        let dir = tempfile::tempdir().unwrap();
        let f = dir.path().join("passwd");
        std::fs::write(
            &f,
            "root:x:0:0::/root:/bin/sh\npostfix:x:105:110::/var/spool:/bin/false\n",
        )
        .unwrap();
        let f = f.to_str().unwrap();
        assert_eq!(lookup_id("postfix", f), Some(105));
        assert_eq!(lookup_id("1234", f), Some(1234));
        assert_eq!(lookup_id("nobody-here", f), None);
    }

    #[test]
    fn sd_notify_reaches_the_socket() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("notify");
        let rx = std::os::unix::net::UnixDatagram::bind(&path).unwrap();
        sd_notify_to(path.as_os_str(), "READY=1").unwrap();
        assert!(sd_notify_to(dir.path().join("absent").as_os_str(), "READY=1").is_err());
        let mut buf = [0u8; 16];
        let n = rx.recv(&mut buf).unwrap();
        assert_eq!(&buf[..n], b"READY=1");
    }
}
