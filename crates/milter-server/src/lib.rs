//! The `mailstamp milter` daemon: DKIM-signs outbound mail and verifies inbound mail (SPF, DKIM,
//! DMARC, ARC) inside Postfix or Sendmail, speaking the milter protocol through
//! [`mailstamp_milter`]'s sans-I/O session.
//!
//! * [`config`]: the TOML file, every key with its default; unknown keys and bad values are
//!   refused with file, line and reason.
//! * [`signing`]: the signing table (From domain → rule → keys; exact beats `*.domain` beats
//!   `*`); a missing, unreadable or group/other-readable key disables its own entry only.
//! * [`process`]: what happens at end of message: inbound or outbound (internal networks,
//!   `{auth_authen}`, the mode of `{daemon_name}`), DKIM-Signature fields prepended, forged
//!   Authentication-Results removed (highest index first), one Authentication-Results field
//!   prepended, DMARC enforced when configured (never on mail we originate, never for
//!   allow-listed clients or domains, never for `t=y`, never when a sealer listed in
//!   `arc_trusted_sealers` vouches through a passing ARC chain, RFC 8617 §7.2.1), DNS failures
//!   per `dns_failure`, the next ARC set added when `[arc_seal]` applies.
//! * [`server`]: tokio, one task per MTA connection, many messages per connection, `inet:` and
//!   `unix:` listeners, read timeouts, graceful shutdown, reload ([`Server::reload`]), systemd
//!   readiness ([`server::sd_notify`]).
//! * [`metrics`]: counters and a latency histogram in the Prometheus text format.
//! * [`record`]: each DMARC evaluation recorded in mailstamp-reports' verdict store
//!   (`record = STORE`), batched by one writer thread off the mail path; a store that is down
//!   or slow costs dropped records (logged, counted), never mail.
//! * [`privileges`]: `user`/`group`: root privileges dropped once the socket is bound; root
//!   without `user` refused unless `run_as_root = true`.
//! * [`run`]: the whole daemon with its signals (SIGTERM/SIGINT stop, SIGHUP reloads) and
//!   systemd notifications (`READY=1` once listening, `RELOADING=1`/`READY=1` around a
//!   reload, `STOPPING=1`).
//!
//! Bodies are never stored: at end of header [`process::MessageData::start_body`] registers
//! every body hash the message will need (the DKIM signatures that will be verified, chosen
//! within the signature budget as at end of message; the ARC-Message-Signatures; the signing
//! keys; the seal), each body chunk is fed to them ([`process::BodyStream`], with the 998-octet
//! line and 8-bit checks), and end of message hands the hashes to the same DKIM, ARC and
//! signing code a whole message goes through ([`mailstamp_dkim::BodySource::Hashes`],
//! [`mailstamp::pipeline::Authenticator::prepare_streamed`]). Memory per message is its header
//! section (`limits.max_header_size`) plus fixed buffers, whatever the body's size. With
//! `[arc_seal]` verified mail is ARC-sealed (RFC 8617 §5.1) with the milter's own verdict.
//!
//! It does not send DMARC reports (`mailstamp report generate`/`send` do, from the store).
//!
//! # Example
//!
//! ```no_run
//! use mailstamp_milter_server::{Server, state::Overrides};
//!
//! # async fn f() -> Result<(), Box<dyn std::error::Error>> {
//! let server = Server::load("/etc/mailstamp/milter.toml".as_ref(), Overrides::default())?;
//! let listener = server.bind().await?;
//! let stopper = server.clone();
//! tokio::spawn(async move {
//!     let _ = tokio::signal::ctrl_c().await;
//!     stopper.shutdown();
//! });
//! server.serve(listener).await;
//! # Ok(()) }
//! ```
#![forbid(unsafe_code)]
#![warn(missing_docs)]

pub mod config;
pub mod explain;
pub mod metrics;
pub mod net;
pub mod privileges;
pub mod process;
pub mod record;
pub mod server;
pub mod signing;
pub mod state;

pub use config::{Config, ConfigError};
pub use server::{Listener, Server};

use std::path::Path;
use tracing::{error, info, warn};

/// Why the daemon could not run.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum RunError {
    /// The configuration was refused.
    #[error(transparent)]
    Config(#[from] ConfigError),
    /// A socket could not be set up.
    #[error("{what}: {source}")]
    Io {
        /// What was being done.
        what: String,
        /// The error.
        source: std::io::Error,
    },
    /// Privileges could not be dropped, or the daemon would run as root unasked.
    #[error("{0}")]
    Privileges(String),
}

/// Runs the daemon with the configuration at `path` until SIGTERM or SIGINT: binds the
/// listener (and the metrics endpoint), drops privileges ([`privileges::drop_privileges`]),
/// tells systemd it is ready, reloads on SIGHUP, and on stop lets messages in flight finish
/// and writes the evaluations still queued for the verdict store.
pub fn run(path: &Path) -> Result<(), RunError> {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .map_err(|source| RunError::Io {
            what: "cannot start the async runtime".into(),
            source,
        })?;
    runtime.block_on(run_async(path))
}

async fn run_async(path: &Path) -> Result<(), RunError> {
    use tokio::signal::unix::{SignalKind, signal};
    let server = Server::load(path, state::Overrides::default())?;
    let io = |what: String| move |source| RunError::Io { what, source };
    let mut term = signal(SignalKind::terminate()).map_err(io("cannot watch SIGTERM".into()))?;
    let mut int = signal(SignalKind::interrupt()).map_err(io("cannot watch SIGINT".into()))?;
    let mut hup = signal(SignalKind::hangup()).map_err(io("cannot watch SIGHUP".into()))?;
    let listen = server.current().config.listen.clone();
    let listener = server
        .bind()
        .await
        .map_err(io(format!("cannot listen on {listen}")))?;
    if let Some(addr) = server.current().config.metrics.listen.clone() {
        let l = tokio::net::TcpListener::bind(addr.as_str())
            .await
            .map_err(io(format!("cannot listen on [metrics] listen = {addr}")))?;
        info!(%addr, "metrics on http://{addr}/metrics");
        tokio::spawn(metrics::serve(l, server.metrics()));
    }
    let identity = privileges::drop_privileges(&server.current().config).map_err(|m| {
        RunError::Privileges(format!("{}: {m}", server.current().config.path.display()))
    })?;
    info!(uid = identity.uid, gid = identity.gid, "{}", identity.note);
    let described = listener.describe();
    let stopper = server.clone();
    tokio::spawn(async move {
        loop {
            tokio::select! {
                _ = term.recv() => { info!("SIGTERM: stopping"); break; }
                _ = int.recv() => { info!("SIGINT: stopping"); break; }
                _ = hup.recv() => {
                    server::sd_notify("RELOADING=1");
                    if let Err(e) = stopper.reload() {
                        warn!("SIGHUP: {e}");
                    }
                    server::sd_notify("READY=1");
                }
            }
        }
        server::sd_notify("STOPPING=1");
        stopper.shutdown();
    });
    server::sd_notify(&format!("READY=1\nSTATUS=listening on {described}"));
    server.serve(listener).await;
    server.finish_recording().await;
    if server.metrics().reload_failures.get() > 0 {
        error!(
            failures = server.metrics().reload_failures.get(),
            "some reloads failed during this run"
        );
    }
    Ok(())
}
