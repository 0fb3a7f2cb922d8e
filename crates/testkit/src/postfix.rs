//! A real Postfix for end-to-end tests: [`PostfixInstance`] runs Debian's (or any) Postfix ≥ 3.4
//! in its own temporary directory, on loopback only, on free ports, and delivers everything it
//! accepts to Postfix's own `smtp-sink`, whose capture files the harness reads back.
//!
//! ```text
//!  test ─SMTP─► smtpd 127.0.0.1:smtp_port        smtpd_milters, {daemon_name} = mx.postfix.test ─┐
//!  test ─SMTP─► smtpd 127.0.0.1:submission_port  smtpd_milters, {daemon_name} = ORIGINATING    ─┤
//!  test ─sendmail(1)─► postdrop → pickup → cleanup  non_smtpd_milters                          ─┤
//!                                                                                               ▼
//!        qmgr → smtp ─SMTP─► smtp-sink 127.0.0.1:sink_port ─► DIR/sink/<time>.<id> ─► the test
//! ```
//!
//! What the instance is made of (all under one temporary directory, removed on drop):
//!
//! * `etc/main.cf` and `etc/master.cf` written by the harness (`postfix -c DIR/etc`);
//! * `spool/` (`queue_directory`), `data/` (`data_directory`), `maillog` (`maillog_file`, with
//!   the `postlog` service: read it with [`PostfixInstance::maillog`]);
//! * no chroot, `inet_interfaces = 127.0.0.1`, `inet_protocols = ipv4`, `mydestination` empty,
//!   no local delivery, every domain relayed to the sink (`default_transport`,
//!   `relay_transport` and `relayhost` all name `[127.0.0.1]:SINKPORT`; `relay_domains =
//!   static:ALL`, so any client may send to any domain), no DNS (`smtp_dns_support_level =
//!   disabled`, `smtpd_peername_lookup = no`), XCLIENT allowed from 127.0.0.0/8 (so a test
//!   can make Postfix — and its milters — see any client address and name), no header rewriting
//!   (`local_header_rewrite_clients` empty: Postfix adds no Date, Message-ID or From, the mail
//!   arrives as sent plus Postfix's Received field), no MIME output conversion, no error sleep;
//! * `milter_protocol = 6`, and whatever [`PostfixOptions`] says about milters.
//!
//! # Requirements
//!
//! * The `postfix` package (Postfix ≥ 3.4 for `maillog_file`; Debian 12 has 3.7), which brings
//!   `postfix`, `postconf`, `smtp-sink` and the `postfix` user; `scripts/install-test-deps`
//!   installs it. The commands are looked up in `PATH`, then in `/usr/sbin` and
//!   `/usr/local/sbin`.
//! * **root**: the `postfix` command refuses to run for anyone else, and `smtp-sink` must
//!   switch to the `postfix` user. CI runs as root.
//! * A temporary directory the `postfix` user can traverse: `std::env::temp_dir()` (`TMPDIR`,
//!   usually `/tmp`), or `MAILSTAMP_POSTFIX_TMPDIR` when set.
//!
//! When a requirement is missing, [`PostfixInstance::start`] returns an error that says which;
//! tests call [`start_or_skip`], which panics with that error, unless `MAILSTAMP_SKIP_POSTFIX=1`
//! is set: then it prints a loud `SKIPPED` line to the real stderr and returns `None`.
//! `MAILSTAMP_KEEP_POSTFIX=1` keeps the temporary directory after the test (its path is printed)
//! for a look at the configuration, the maillog and the sink.
//!
//! When a test panics while an instance is alive, dropping the instance prints the end of the
//! maillog to stderr, so a failed CI run shows what Postfix said.

use std::fmt;
use std::fs;
use std::io::{self, BufRead, BufReader, Write};
use std::net::{Ipv4Addr, SocketAddr, TcpListener, TcpStream};
use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::time::{Duration, Instant};

/// Opt-out: with `MAILSTAMP_SKIP_POSTFIX=1` [`start_or_skip`] skips instead of failing when
/// Postfix cannot run here (CI never sets it).
pub const SKIP_ENV: &str = "MAILSTAMP_SKIP_POSTFIX";
/// With `MAILSTAMP_KEEP_POSTFIX=1` the temporary directory of every instance is kept.
pub const KEEP_ENV: &str = "MAILSTAMP_KEEP_POSTFIX";
/// Where the temporary directories go (default: [`std::env::temp_dir`]).
pub const TMPDIR_ENV: &str = "MAILSTAMP_POSTFIX_TMPDIR";

/// 2000-01-01T00:00:00Z, the modification time given to the configuration files.
const OLD_MTIME: Duration = Duration::from_secs(946_684_800);

/// The `milter_macro_daemon_name` of the submission listener.
pub const ORIGINATING: &str = "ORIGINATING";

/// How to configure the instance; [`Default`] is Postfix with no milter.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PostfixOptions {
    /// `smtpd_milters`, e.g. `["inet:127.0.0.1:12345"]` (joined with `, `).
    pub smtpd_milters: Vec<String>,
    /// `non_smtpd_milters` (mail from [`PostfixInstance::sendmail`]).
    pub non_smtpd_milters: Vec<String>,
    /// `milter_default_action`: `accept`, `reject`, `tempfail` (Postfix's default) or
    /// `quarantine`. `None` leaves Postfix's default.
    pub milter_default_action: Option<String>,
    /// `milter_*_macros` and other milter parameters, as (name, value): e.g.
    /// `("milter_mail_macros", "i {auth_type} {auth_authen} {auth_author} {mail_addr}")`.
    pub milter_parameters: Vec<(String, String)>,
    /// More `main.cf` lines (`name = value`), applied last: a name already set (by the harness
    /// or the fields above) gets the new value in place.
    pub main_cf: Vec<String>,
    /// `myhostname` (default `mx.postfix.test`), the name in Postfix's Received field and the
    /// `{j}` macro.
    pub myhostname: String,
    /// How long to wait for `postfix start` (default 30 s).
    pub start_timeout: Duration,
}

impl Default for PostfixOptions {
    fn default() -> Self {
        PostfixOptions {
            smtpd_milters: Vec::new(),
            non_smtpd_milters: Vec::new(),
            milter_default_action: None,
            milter_parameters: Vec::new(),
            main_cf: Vec::new(),
            myhostname: "mx.postfix.test".to_owned(),
            start_timeout: Duration::from_secs(30),
        }
    }
}

impl PostfixOptions {
    /// Options with one milter for both SMTP and sendmail(1) mail, e.g.
    /// `PostfixOptions::with_milter("inet:127.0.0.1:12345")`, and `milter_default_action =
    /// tempfail` (so a milter that cannot be reached shows as a 4xx, never as accepted mail).
    pub fn with_milter(socket: impl Into<String>) -> Self {
        let socket = socket.into();
        PostfixOptions {
            smtpd_milters: vec![socket.clone()],
            non_smtpd_milters: vec![socket],
            milter_default_action: Some("tempfail".to_owned()),
            ..PostfixOptions::default()
        }
    }
}

/// Why an instance could not be started.
#[derive(Debug)]
pub enum PostfixError {
    /// A Postfix command is not installed.
    NotInstalled(String),
    /// Not running as root.
    NotRoot,
    /// A Postfix older than 3.4 (no `maillog_file`).
    TooOld(String),
    /// A file or process operation failed.
    Io(String, io::Error),
    /// `postfix start` or `smtp-sink` failed; with what they and the maillog said.
    StartFailed(String),
}

impl fmt::Display for PostfixError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            PostfixError::NotInstalled(what) => write!(
                f,
                "Postfix is not installed ({what} not found in PATH, /usr/sbin or \
                 /usr/local/sbin): run scripts/install-test-deps (Debian package `postfix`)"
            ),
            PostfixError::NotRoot => write!(
                f,
                "the Postfix end-to-end tests must run as root (the postfix command refuses \
                 other users); CI runs as root"
            ),
            PostfixError::TooOld(v) => {
                write!(
                    f,
                    "Postfix {v} is too old: 3.4 or newer is needed (maillog_file)"
                )
            }
            PostfixError::Io(what, e) => write!(f, "{what}: {e}"),
            PostfixError::StartFailed(why) => write!(f, "Postfix did not start: {why}"),
        }
    }
}

impl std::error::Error for PostfixError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            PostfixError::Io(_, e) => Some(e),
            _ => None,
        }
    }
}

fn io_err(what: impl Into<String>) -> impl FnOnce(io::Error) -> PostfixError {
    let what = what.into();
    move |e| PostfixError::Io(what, e)
}

/// Starts an instance for a test: `Some` when Postfix runs; `None` when it cannot and
/// `MAILSTAMP_SKIP_POSTFIX=1` is set, after a loud `SKIPPED` line on the real stderr (not
/// captured by the test harness; once per test binary).
///
/// # Panics
///
/// When the instance cannot start and skipping was not asked for: a test of the real thing
/// that did not run never passes unseen.
pub fn start_or_skip(options: PostfixOptions) -> Option<PostfixInstance> {
    match PostfixInstance::start(options) {
        Ok(postfix) => Some(postfix),
        Err(e) if env_flag(SKIP_ENV) => {
            static SAID: std::sync::Once = std::sync::Once::new();
            SAID.call_once(|| {
                let _ = writeln!(
                    io::stderr(),
                    "\n*** SKIPPED Postfix end-to-end tests ({SKIP_ENV} is set): {e} ***\n"
                );
            });
            None
        }
        Err(e) => panic!(
            "the Postfix end-to-end test cannot run: {e}\n(set {SKIP_ENV}=1 to skip the Postfix \
             tests on purpose)"
        ),
    }
}

fn env_flag(name: &str) -> bool {
    std::env::var(name).is_ok_and(|v| !v.is_empty() && v != "0")
}

#[expect(
    clippy::disallowed_methods,
    reason = "a test harness waits for real processes: wall-clock timeouts"
)]
fn now() -> Instant {
    Instant::now()
}

/// One message as `smtp-sink` received it from Postfix.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Delivery {
    /// The MAIL FROM address (without angle brackets; empty for the null sender).
    pub mail_from: String,
    /// The RCPT TO addresses, in order.
    pub rcpts: Vec<String>,
    /// The message, header and body, with CRLF line ends, as Postfix sent it (dot-unstuffed).
    /// `smtp-sink` drops every CR when it captures, so a bare CR or LF in the original cannot
    /// be told apart from a line end here.
    pub message: Vec<u8>,
}

/// The outcome of one SMTP transaction by [`PostfixInstance::send`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SmtpOutcome {
    /// Where the transaction ended: [`SmtpStage::Data`] (the reply to the end of the data)
    /// when it went all the way, else the first stage refused.
    pub stage: SmtpStage,
    /// The reply code of that stage, e.g. 250, 451, 550.
    pub code: u16,
    /// The reply text without the code, lines joined with `\n`, e.g. `5.7.1 Rejected by DMARC`.
    pub text: String,
    /// Every command sent and reply received, for assertion messages.
    pub transcript: Vec<String>,
}

impl SmtpOutcome {
    /// Postfix took the message (2xx after the data).
    pub fn accepted(&self) -> bool {
        self.stage == SmtpStage::Data && (200..300).contains(&self.code)
    }

    /// A temporary failure (4xx) at any stage.
    pub fn tempfailed(&self) -> bool {
        (400..500).contains(&self.code)
    }

    /// A permanent failure (5xx) at any stage.
    pub fn rejected(&self) -> bool {
        (500..600).contains(&self.code)
    }

    /// The enhanced status code at the start of the text (`5.7.1`), if any.
    pub fn enhanced_code(&self) -> Option<&str> {
        let first = self.text.split_whitespace().next()?;
        let parts: Vec<&str> = first.split('.').collect();
        (parts.len() == 3 && parts.iter().all(|p| p.parse::<u16>().is_ok())).then_some(first)
    }

    /// The queue ID from Postfix's `250 2.0.0 Ok: queued as ABCDEF` reply.
    pub fn queue_id(&self) -> Option<&str> {
        let (_, rest) = self.text.split_once("queued as ")?;
        rest.split_whitespace().next()
    }
}

impl fmt::Display for SmtpOutcome {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} at {:?}", self.code, self.stage)?;
        if !self.text.is_empty() {
            write!(f, ": {}", self.text)?;
        }
        Ok(())
    }
}

/// The stages of an SMTP transaction, for [`SmtpOutcome::stage`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SmtpStage {
    /// The 220 greeting.
    Greeting,
    /// EHLO.
    Ehlo,
    /// XCLIENT (and the greeting and EHLO after it).
    Xclient,
    /// MAIL FROM.
    MailFrom,
    /// RCPT TO (every recipient refused: the first refusal).
    RcptTo,
    /// The DATA command (before the message).
    DataCommand,
    /// The end of the data: Postfix's verdict on the message.
    Data,
}

/// An SMTP transaction for [`PostfixInstance::send_with`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Envelope {
    /// The EHLO name (default `client.test`).
    pub helo: String,
    /// With `Some`, XCLIENT makes Postfix (and its milters) see this client address instead of
    /// 127.0.0.1 (`ADDR=`), with the client name `client_name` (`NAME=`, default `[UNAVAILABLE]`)
    /// and `helo` as the HELO name.
    pub client_addr: Option<std::net::IpAddr>,
    /// The client's host name with XCLIENT (`None`: `[UNAVAILABLE]`, an unknown name).
    pub client_name: Option<String>,
    /// MAIL FROM (without angle brackets; empty for the null sender).
    pub mail_from: String,
    /// RCPT TO addresses.
    pub rcpts: Vec<String>,
}

impl Envelope {
    /// An envelope from `mail_from` to `rcpts`, EHLO `client.test`, no XCLIENT.
    pub fn new(mail_from: &str, rcpts: &[&str]) -> Self {
        Envelope {
            helo: "client.test".to_owned(),
            client_addr: None,
            client_name: None,
            mail_from: mail_from.to_owned(),
            rcpts: rcpts.iter().map(|r| (*r).to_owned()).collect(),
        }
    }
}

/// A running Postfix with its `smtp-sink`; both stop, and the directory goes, when dropped.
#[derive(Debug)]
pub struct PostfixInstance {
    dir: PathBuf,
    version: String,
    smtp_port: u16,
    submission_port: u16,
    sink_port: u16,
    master_pid: Option<u32>,
    sink: Option<Child>,
    sendmail: PathBuf,
}

/// The Postfix programs found on this machine.
#[derive(Debug, Clone)]
struct Programs {
    postfix: PathBuf,
    postconf: PathBuf,
    smtp_sink: PathBuf,
    sendmail: PathBuf,
}

fn find_program(name: &str) -> Result<PathBuf, PostfixError> {
    let path = std::env::var_os("PATH").unwrap_or_default();
    std::env::split_paths(&path)
        .chain([PathBuf::from("/usr/sbin"), PathBuf::from("/usr/local/sbin")])
        .map(|d| d.join(name))
        .find(|p| p.is_file())
        .ok_or_else(|| PostfixError::NotInstalled(name.to_owned()))
}

impl Programs {
    fn find() -> Result<Programs, PostfixError> {
        Ok(Programs {
            postfix: find_program("postfix")?,
            postconf: find_program("postconf")?,
            smtp_sink: find_program("smtp-sink")?,
            sendmail: find_program("sendmail")?,
        })
    }
}

fn is_root() -> bool {
    // The owner of /proc/self is the effective uid (no unsafe libc call needed).
    fs::metadata("/proc/self").is_ok_and(|m| m.uid() == 0)
}

/// `(major, minor)` of a Postfix version such as `3.7.11`.
fn parse_version(v: &str) -> Option<(u32, u32)> {
    let mut parts = v.trim().split('.');
    let major = parts.next()?.parse().ok()?;
    let minor = parts.next()?.split(|c: char| !c.is_ascii_digit()).next()?;
    Some((major, minor.parse().ok()?))
}

/// The uid and gid of a user, from `id`.
fn user_ids(user: &str) -> Result<(u32, u32), PostfixError> {
    let id = |flag: &str| -> Result<u32, PostfixError> {
        let out = Command::new("id")
            .args([flag, user])
            .output()
            .map_err(io_err("running id"))?;
        String::from_utf8_lossy(&out.stdout)
            .trim()
            .parse()
            .map_err(|_| {
                PostfixError::StartFailed(format!(
                    "no user {user:?} (the postfix package creates it): {}",
                    String::from_utf8_lossy(&out.stderr).trim()
                ))
            })
    };
    Ok((id("-u")?, id("-g")?))
}

/// Three distinct free ports of 127.0.0.1 (bound together, then released).
fn free_ports() -> io::Result<[u16; 3]> {
    let a = TcpListener::bind((Ipv4Addr::LOCALHOST, 0))?;
    let b = TcpListener::bind((Ipv4Addr::LOCALHOST, 0))?;
    let c = TcpListener::bind((Ipv4Addr::LOCALHOST, 0))?;
    Ok([
        a.local_addr()?.port(),
        b.local_addr()?.port(),
        c.local_addr()?.port(),
    ])
}

/// Runs a command, returning its combined output, or an error with it.
fn run(cmd: &mut Command, what: &str) -> Result<String, PostfixError> {
    let out = cmd
        .stdin(Stdio::null())
        .output()
        .map_err(io_err(format!("running {what}")))?;
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    if out.status.success() {
        Ok(text)
    } else {
        Err(PostfixError::StartFailed(format!(
            "{what} failed ({}): {}",
            out.status,
            text.trim()
        )))
    }
}

impl PostfixInstance {
    /// Starts Postfix (and its `smtp-sink`) in a new temporary directory, on free ports of
    /// 127.0.0.1. Returns once `postfix start` reports the mail system up: the listeners
    /// accept connections.
    pub fn start(options: PostfixOptions) -> Result<PostfixInstance, PostfixError> {
        let programs = Programs::find()?;
        if !is_root() {
            return Err(PostfixError::NotRoot);
        }
        // A port taken between free_ports() and the bind by master or smtp-sink: try again.
        let mut last = None;
        for _ in 0..3 {
            match Self::try_start(&programs, &options) {
                Ok(instance) => return Ok(instance),
                Err(PostfixError::StartFailed(why)) if why.contains("in use") => {
                    last = Some(PostfixError::StartFailed(why));
                }
                Err(e) => return Err(e),
            }
        }
        Err(last.unwrap_or_else(|| PostfixError::StartFailed("no free ports".into())))
    }

    fn try_start(
        programs: &Programs,
        options: &PostfixOptions,
    ) -> Result<PostfixInstance, PostfixError> {
        let base = std::env::var_os(TMPDIR_ENV)
            .map(PathBuf::from)
            .unwrap_or_else(std::env::temp_dir);
        let dir = tempfile::Builder::new()
            .prefix("mailstamp-postfix.")
            .tempdir_in(&base)
            .map_err(io_err(format!(
                "creating a directory in {}",
                base.display()
            )))?
            .keep();
        let mut instance = PostfixInstance {
            dir: dir.clone(),
            version: String::new(),
            smtp_port: 0,
            submission_port: 0,
            sink_port: 0,
            master_pid: None,
            sink: None,
            sendmail: programs.sendmail.clone(),
        };
        // From here on, dropping `instance` cleans up whatever was started.
        instance.setup(programs, options)?;
        Ok(instance)
    }

    fn setup(&mut self, programs: &Programs, options: &PostfixOptions) -> Result<(), PostfixError> {
        let dir = self.dir.clone();
        // The postfix user must reach data/, sink/ and the maillog below this directory.
        fs::set_permissions(&dir, fs::Permissions::from_mode(0o755))
            .map_err(io_err(format!("chmod {}", dir.display())))?;
        let (uid, gid) = user_ids("postfix")?;
        for sub in ["etc", "spool", "data", "sink"] {
            let path = dir.join(sub);
            fs::create_dir(&path).map_err(io_err(format!("mkdir {}", path.display())))?;
            if sub == "data" || sub == "sink" {
                std::os::unix::fs::chown(&path, Some(uid), Some(gid))
                    .map_err(io_err(format!("chown postfix {}", path.display())))?;
            }
        }

        let [smtp_port, submission_port, sink_port] =
            free_ports().map_err(io_err("finding free ports on 127.0.0.1"))?;
        self.smtp_port = smtp_port;
        self.submission_port = submission_port;
        self.sink_port = sink_port;

        self.start_sink(programs)?;

        // The version decides compatibility_level; ask the installed postconf (-d: defaults,
        // which do not need a main.cf).
        let version = run(
            Command::new(&programs.postconf)
                .args(["-d", "-h", "-c"])
                .arg(dir.join("etc"))
                .arg("mail_version"),
            "postconf -d mail_version",
        )?;
        self.version = version.trim().to_owned();
        let (major, minor) = parse_version(&self.version)
            .ok_or_else(|| PostfixError::StartFailed(format!("unknown version {version:?}")))?;
        if (major, minor) < (3, 4) {
            return Err(PostfixError::TooOld(self.version.clone()));
        }
        let level = if (major, minor) >= (3, 6) { "3.6" } else { "2" };

        let main_cf = self.main_cf(options, level);
        let master_cf = self.master_cf();
        for (name, text) in [("main.cf", main_cf), ("master.cf", master_cf)] {
            let path = dir.join("etc").join(name);
            fs::write(&path, text).map_err(io_err(format!("writing {}", path.display())))?;
            // Postfix does not trust a configuration file changed in the current second: it
            // sleeps until the file is at least a second old (dict_load_file). Backdating
            // the files saves those 1-2 seconds at every start.
            fs::File::options()
                .write(true)
                .open(&path)
                .and_then(|f| f.set_modified(std::time::UNIX_EPOCH + OLD_MTIME))
                .map_err(io_err(format!("setting the mtime of {}", path.display())))?;
        }

        let config = dir.join("etc");
        // Output to a file, not a pipe: the master daemon inherits it and keeps it open.
        let log_path = dir.join("postfix-start.log");
        let log = fs::File::create(&log_path).map_err(io_err("creating postfix-start.log"))?;
        let log2 = log
            .try_clone()
            .map_err(io_err("creating postfix-start.log"))?;
        let started = Command::new(&programs.postfix)
            .arg("-c")
            .arg(&config)
            .arg("start")
            .stdin(Stdio::null())
            .stdout(log)
            .stderr(log2)
            .spawn()
            .map_err(io_err("running postfix start"))?;
        let status = wait_status(started, options.start_timeout)
            .map_err(io_err("waiting for postfix start"))?;
        let pid_file = dir.join("spool/pid/master.pid");
        self.master_pid = fs::read_to_string(&pid_file)
            .ok()
            .and_then(|s| s.trim().parse().ok());
        let output = || fs::read_to_string(&log_path).unwrap_or_default();
        match status {
            Some(status) if status.success() && self.master_pid.is_some() => Ok(()),
            Some(status) => Err(PostfixError::StartFailed(format!(
                "postfix -c {} start: {status}\n{}\n--- maillog ---\n{}",
                config.display(),
                output(),
                self.maillog()
            ))),
            None => Err(PostfixError::StartFailed(format!(
                "postfix -c {} start did not finish in {:?}\n{}\n--- maillog ---\n{}",
                config.display(),
                options.start_timeout,
                output(),
                self.maillog()
            ))),
        }
    }

    fn start_sink(&mut self, programs: &Programs) -> Result<(), PostfixError> {
        let log_path = self.dir.join("sink.log");
        let log = fs::File::create(&log_path).map_err(io_err("creating sink.log"))?;
        let log2 = log.try_clone().map_err(io_err("creating sink.log"))?;
        let addr = format!("127.0.0.1:{}", self.sink_port);
        let template = self.dir.join("sink").join("%Y%m%d%H%M%S.");
        let child = Command::new(&programs.smtp_sink)
            // -u: drop to the postfix user once the socket is open (required as root).
            .args(["-4", "-u", "postfix", "-d"])
            .arg(&template)
            .args([&addr, "100"])
            .stdin(Stdio::null())
            .stdout(log)
            .stderr(log2)
            .spawn()
            .map_err(io_err(format!("running {}", programs.smtp_sink.display())))?;
        self.sink = Some(child);
        let deadline = now() + Duration::from_secs(10);
        loop {
            if let Some(child) = self.sink.as_mut()
                && let Ok(Some(status)) = child.try_wait()
            {
                return Err(PostfixError::StartFailed(format!(
                    "smtp-sink on {addr} exited ({status}): {}",
                    fs::read_to_string(&log_path).unwrap_or_default().trim()
                )));
            }
            // A probe connection: smtp-sink writes a capture file only for MAIL FROM.
            if TcpStream::connect_timeout(
                &SocketAddr::from((Ipv4Addr::LOCALHOST, self.sink_port)),
                Duration::from_millis(200),
            )
            .is_ok()
            {
                return Ok(());
            }
            if now() > deadline {
                return Err(PostfixError::StartFailed(format!(
                    "smtp-sink does not listen on {addr}"
                )));
            }
            std::thread::sleep(Duration::from_millis(10));
        }
    }

    fn main_cf(&self, options: &PostfixOptions, compatibility_level: &str) -> String {
        let d = self.dir.display();
        let sink = format!("[127.0.0.1]:{}", self.sink_port);
        let mut cf = MainCf::default();
        for (name, value) in [
            ("compatibility_level", compatibility_level.to_owned()),
            ("queue_directory", format!("{d}/spool")),
            ("data_directory", format!("{d}/data")),
            ("mail_owner", "postfix".to_owned()),
            ("setgid_group", "postdrop".to_owned()),
            ("maillog_file", format!("{d}/maillog")),
            ("maillog_file_prefixes", d.to_string()),
            ("myhostname", options.myhostname.clone()),
            ("mydomain", "postfix.test".to_owned()),
            ("myorigin", "$mydomain".to_owned()),
            ("inet_interfaces", "127.0.0.1".to_owned()),
            ("inet_protocols", "ipv4".to_owned()),
            // Nothing is local: every domain is a relay domain (we are everyone's MX) and
            // goes to the sink.
            ("mydestination", String::new()),
            ("local_recipient_maps", String::new()),
            (
                "local_transport",
                "error:5.1.1 local delivery is disabled".to_owned(),
            ),
            ("alias_maps", String::new()),
            ("alias_database", String::new()),
            ("relay_domains", "static:ALL".to_owned()),
            ("relayhost", sink.clone()),
            ("default_transport", format!("smtp:{sink}")),
            ("relay_transport", format!("smtp:{sink}")),
            ("smtp_dns_support_level", "disabled".to_owned()),
            ("smtpd_peername_lookup", "no".to_owned()),
            ("mynetworks", "127.0.0.0/8".to_owned()),
            (
                "smtpd_relay_restrictions",
                "permit_mynetworks, reject_unauth_destination".to_owned(),
            ),
            // XCLIENT lets a test be any client.
            ("smtpd_authorized_xclient_hosts", "127.0.0.0/8".to_owned()),
            // The mail arrives as sent, plus Postfix's Received field.
            ("local_header_rewrite_clients", String::new()),
            ("disable_mime_output_conversion", "yes".to_owned()),
            // Fast: no sleeps, no backoff worth waiting for, no notices to postmaster.
            ("smtpd_error_sleep_time", "0".to_owned()),
            ("in_flow_delay", "0".to_owned()),
            ("queue_run_delay", "1s".to_owned()),
            ("minimal_backoff_time", "1s".to_owned()),
            ("maximal_backoff_time", "2s".to_owned()),
            ("notify_classes", String::new()),
            ("biff", "no".to_owned()),
            ("milter_protocol", "6".to_owned()),
        ] {
            cf.set(name, value);
        }
        if !options.smtpd_milters.is_empty() {
            cf.set("smtpd_milters", options.smtpd_milters.join(", "));
        }
        if !options.non_smtpd_milters.is_empty() {
            cf.set("non_smtpd_milters", options.non_smtpd_milters.join(", "));
        }
        if let Some(action) = &options.milter_default_action {
            cf.set("milter_default_action", action.clone());
        }
        for (name, value) in &options.milter_parameters {
            cf.set(name, value.clone());
        }
        for line in &options.main_cf {
            cf.line(line);
        }
        cf.render()
    }

    fn master_cf(&self) -> String {
        format!(
            "# Written by mailstamp-testkit (PostfixInstance). No chroot anywhere.\n\
             # service type  private unpriv  chroot  wakeup  maxproc command + args\n\
             127.0.0.1:{smtp} inet n - n - - smtpd\n\
             127.0.0.1:{submission} inet n - n - - smtpd\n  \
             -o syslog_name=postfix/submission\n  \
             -o milter_macro_daemon_name={ORIGINATING}\n\
             pickup    unix  n       -       n       60      1       pickup\n\
             cleanup   unix  n       -       n       -       0       cleanup\n\
             qmgr      unix  n       -       n       300     1       qmgr\n\
             rewrite   unix  -       -       n       -       -       trivial-rewrite\n\
             bounce    unix  -       -       n       -       0       bounce\n\
             defer     unix  -       -       n       -       0       bounce\n\
             trace     unix  -       -       n       -       0       bounce\n\
             verify    unix  -       -       n       -       1       verify\n\
             flush     unix  n       -       n       1000?   0       flush\n\
             proxymap  unix  -       -       n       -       -       proxymap\n\
             proxywrite unix -       -       n       -       1       proxymap\n\
             smtp      unix  -       -       n       -       -       smtp\n\
             relay     unix  -       -       n       -       -       smtp\n\
             showq     unix  n       -       n       -       -       showq\n\
             error     unix  -       -       n       -       -       error\n\
             retry     unix  -       -       n       -       -       error\n\
             discard   unix  -       -       n       -       -       discard\n\
             anvil     unix  -       -       n       -       1       anvil\n\
             scache    unix  -       -       n       -       1       scache\n\
             postlog   unix-dgram n  -       n       -       1       postlogd\n",
            smtp = self.smtp_port,
            submission = self.submission_port,
        )
    }

    /// The Postfix version, e.g. `3.7.11`.
    pub fn version(&self) -> &str {
        &self.version
    }

    /// The temporary directory of this instance (`etc/`, `spool/`, `sink/`, `maillog`).
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// The port of the inbound listener (smtpd; `{daemon_name}` is `myhostname`).
    pub fn smtp_port(&self) -> u16 {
        self.smtp_port
    }

    /// The port of the submission-like listener (`{daemon_name}` is [`ORIGINATING`]), for
    /// mail the milter should treat as outbound.
    pub fn submission_port(&self) -> u16 {
        self.submission_port
    }

    /// The port `smtp-sink` listens on.
    pub fn sink_port(&self) -> u16 {
        self.sink_port
    }

    /// Everything Postfix logged so far (`maillog_file`).
    pub fn maillog(&self) -> String {
        fs::read_to_string(self.dir.join("maillog")).unwrap_or_default()
    }

    /// Waits until a maillog line contains `needle`; returns that line, or `None` on timeout.
    pub fn wait_for_log(&self, needle: &str, timeout: Duration) -> Option<String> {
        let deadline = now() + timeout;
        loop {
            if let Some(line) = self.maillog().lines().find(|l| l.contains(needle)) {
                return Some(line.to_owned());
            }
            if now() > deadline {
                return None;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// One SMTP transaction (EHLO `client.test`) on `port` of 127.0.0.1 ([`smtp_port`] or
    /// [`submission_port`]): `message` is sent with its line ends made CRLF and dot-stuffed.
    /// An `Err` is a network failure; SMTP refusals are in the [`SmtpOutcome`].
    ///
    /// [`smtp_port`]: PostfixInstance::smtp_port
    /// [`submission_port`]: PostfixInstance::submission_port
    pub fn send(
        &self,
        port: u16,
        mail_from: &str,
        rcpts: &[&str],
        message: &[u8],
    ) -> io::Result<SmtpOutcome> {
        self.send_with(port, &Envelope::new(mail_from, rcpts), message)
    }

    /// [`send`](PostfixInstance::send) with a full [`Envelope`] (HELO name, XCLIENT).
    pub fn send_with(
        &self,
        port: u16,
        envelope: &Envelope,
        message: &[u8],
    ) -> io::Result<SmtpOutcome> {
        smtp_send(
            SocketAddr::from((Ipv4Addr::LOCALHOST, port)),
            envelope,
            message,
        )
    }

    /// Submits `message` with Postfix's `sendmail -C DIR/etc -f mail_from -i -- rcpts`
    /// (postdrop → pickup → cleanup: the `non_smtpd_milters` path). A milter's verdict shows in
    /// the maillog, not here.
    pub fn sendmail(&self, mail_from: &str, rcpts: &[&str], message: &[u8]) -> io::Result<()> {
        let mut child = Command::new(&self.sendmail)
            .arg("-C")
            .arg(self.dir.join("etc"))
            .args(["-f", mail_from, "-i", "--"])
            .args(rcpts)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()?;
        if let Some(mut stdin) = child.stdin.take() {
            stdin.write_all(message)?;
        }
        let out = child.wait_with_output()?;
        if out.status.success() {
            Ok(())
        } else {
            Err(io::Error::other(format!(
                "sendmail failed ({}): {}{}",
                out.status,
                String::from_utf8_lossy(&out.stdout),
                String::from_utf8_lossy(&out.stderr)
            )))
        }
    }

    /// True when no message is in flight: nothing in Postfix's `maildrop`, `incoming` or
    /// `active` queue (deferred and held mail count as settled).
    pub fn queue_settled(&self) -> bool {
        ["maildrop", "incoming", "active"]
            .iter()
            .all(|q| count_files(&self.dir.join("spool").join(q)) == 0)
    }

    /// Waits (up to `timeout`) until Postfix has finished with every message it accepted
    /// ([`queue_settled`](PostfixInstance::queue_settled)), then returns every message the sink
    /// holds, oldest first, as in [`Delivery::message`]. A message refused or still deferred is
    /// not there: check the [`maillog`](PostfixInstance::maillog).
    pub fn wait_delivered(&self, timeout: Duration) -> Vec<Vec<u8>> {
        self.wait_deliveries(timeout)
            .into_iter()
            .map(|d| d.message)
            .collect()
    }

    /// [`wait_delivered`](PostfixInstance::wait_delivered) with the envelopes.
    pub fn wait_deliveries(&self, timeout: Duration) -> Vec<Delivery> {
        let deadline = now() + timeout;
        while !self.queue_settled() {
            if now() > deadline {
                let _ = writeln!(
                    io::stderr(),
                    "warning: Postfix's queue in {} is not empty after {timeout:?}",
                    self.dir.display()
                );
                break;
            }
            std::thread::sleep(Duration::from_millis(10));
        }
        self.deliveries()
    }

    /// What the sink holds now, oldest first (a transaction in progress may be incomplete:
    /// prefer [`wait_deliveries`](PostfixInstance::wait_deliveries)).
    pub fn deliveries(&self) -> Vec<Delivery> {
        let Ok(entries) = fs::read_dir(self.dir.join("sink")) else {
            return Vec::new();
        };
        let mut files: Vec<(std::time::SystemTime, PathBuf)> = entries
            .filter_map(Result::ok)
            .filter_map(|e| {
                let meta = e.metadata().ok()?;
                if !meta.is_file() {
                    return None;
                }
                Some((meta.modified().ok()?, e.path()))
            })
            .collect();
        files.sort();
        files
            .into_iter()
            .filter_map(|(_, path)| fs::read(path).ok())
            .map(|raw| parse_capture(&raw))
            .collect()
    }

    /// Stops Postfix and the sink now (dropping does the same).
    pub fn stop(mut self) {
        self.shutdown();
    }

    fn shutdown(&mut self) {
        if let Some(pid) = self.master_pid.take() {
            // SIGTERM to master's process group (master runs setsid(): the group is this
            // instance's master and its children): what `postfix stop` does, without its
            // one-second polling. Children such as an idle smtpd hold the listening sockets,
            // so the ports are free only once the whole group is gone.
            signal(pid, "TERM", true);
            let deadline = now() + Duration::from_secs(5);
            while group_alive(pid) && now() < deadline {
                std::thread::sleep(Duration::from_millis(5));
            }
            if group_alive(pid) {
                signal(pid, "KILL", true);
                let deadline = now() + Duration::from_secs(2);
                while group_alive(pid) && now() < deadline {
                    std::thread::sleep(Duration::from_millis(5));
                }
            }
        }
        if let Some(mut sink) = self.sink.take() {
            let _ = sink.kill();
            let _ = sink.wait();
        }
    }
}

impl Drop for PostfixInstance {
    fn drop(&mut self) {
        if std::thread::panicking() {
            let log = self.maillog();
            let tail: Vec<&str> = log.lines().rev().take(40).collect();
            let mut err = io::stderr().lock();
            let _ = writeln!(
                err,
                "--- Postfix maillog ({}), last {} lines ---",
                self.dir.join("maillog").display(),
                tail.len()
            );
            for line in tail.iter().rev() {
                let _ = writeln!(err, "{line}");
            }
        }
        self.shutdown();
        if env_flag(KEEP_ENV) {
            let _ = writeln!(
                io::stderr(),
                "{KEEP_ENV}: kept Postfix instance {}",
                self.dir.display()
            );
        } else {
            let _ = fs::remove_dir_all(&self.dir);
        }
    }
}

/// Sends a signal with kill(1) (`group`: to the process group the pid leads).
fn signal(pid: u32, sig: &str, group: bool) {
    let target = if group {
        format!("-{pid}")
    } else {
        pid.to_string()
    };
    let _ = Command::new("kill")
        .args(["-s", sig, "--", &target])
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status();
}

/// Some process of process group `pgid` is alive (not a zombie: a container's init may never
/// reap Postfix's processes).
fn group_alive(pgid: u32) -> bool {
    let Ok(entries) = fs::read_dir("/proc") else {
        return false;
    };
    entries.filter_map(Result::ok).any(|e| {
        let is_pid = e
            .file_name()
            .to_str()
            .is_some_and(|n| n.bytes().all(|b| b.is_ascii_digit()));
        is_pid
            && fs::read_to_string(e.path().join("stat")).is_ok_and(|stat| {
                // "pid (comm) state ppid pgrp ...": the fields after the last ')'.
                let mut fields = stat
                    .rsplit_once(')')
                    .map(|(_, rest)| rest.split_whitespace())
                    .into_iter()
                    .flatten();
                let state = fields.next();
                let pgrp = fields.nth(1).and_then(|g| g.parse::<u32>().ok());
                pgrp == Some(pgid) && !matches!(state, Some("Z" | "X") | None)
            })
    })
}

/// Regular files below `dir` (Postfix may hash queue directories into subdirectories).
fn count_files(dir: &Path) -> usize {
    let Ok(entries) = fs::read_dir(dir) else {
        return 0;
    };
    entries
        .filter_map(Result::ok)
        .map(|e| match e.file_type() {
            Ok(t) if t.is_dir() => count_files(&e.path()),
            Ok(t) if t.is_file() => 1,
            _ => 0,
        })
        .sum()
}

/// Waits for a child up to `timeout`; `None` (the child killed) when it takes longer.
fn wait_status(mut child: Child, timeout: Duration) -> io::Result<Option<ExitStatus>> {
    let deadline = now() + timeout;
    loop {
        if let Some(status) = child.try_wait()? {
            return Ok(Some(status));
        }
        if now() > deadline {
            let _ = child.kill();
            let _ = child.wait();
            return Ok(None);
        }
        std::thread::sleep(Duration::from_millis(5));
    }
}

/// main.cf as an ordered list of settings: a later setting of a name replaces the earlier
/// one in place (Postfix would take the last one too, but warn about it at every start).
#[derive(Debug, Default)]
struct MainCf {
    entries: Vec<(String, String)>,
}

impl MainCf {
    fn set(&mut self, name: &str, value: String) {
        match self.entries.iter_mut().find(|(n, _)| n == name) {
            Some(entry) => entry.1 = value,
            None => self.entries.push((name.to_owned(), value)),
        }
    }

    /// One line of main.cf syntax: `name = value` replaces a setting; a continuation line
    /// (leading white space) extends the last one; comments and blank lines are dropped.
    fn line(&mut self, line: &str) {
        let trimmed = line.trim();
        if trimmed.is_empty() || trimmed.starts_with('#') {
            return;
        }
        if line.starts_with([' ', '\t']) {
            if let Some(last) = self.entries.last_mut() {
                last.1.push(' ');
                last.1.push_str(trimmed);
            }
            return;
        }
        match trimmed.split_once('=') {
            Some((name, value)) => self.set(name.trim(), value.trim().to_owned()),
            None => self.entries.push((trimmed.to_owned(), String::new())),
        }
    }

    fn render(&self) -> String {
        let mut out = String::from(
            "# Written by mailstamp-testkit (PostfixInstance) for one test; removed after it.\n",
        );
        for (name, value) in &self.entries {
            if value.is_empty() {
                out.push_str(&format!("{name} =\n"));
            } else {
                out.push_str(&format!("{name} = {value}\n"));
            }
        }
        out
    }
}

/// Parses one `smtp-sink -d` capture file: `X-Client-Addr`, `X-Client-Proto`, `X-Helo-Args`,
/// `X-Mail-Args` and `X-Rcpt-Args` records, smtp-sink's three-line Received field, the message
/// (LF line ends, every CR dropped) and one empty line.
fn parse_capture(raw: &[u8]) -> Delivery {
    let mut mail_from = String::new();
    let mut rcpts = Vec::new();
    let mut rest = raw;
    // The records, up to and including smtp-sink's own Received field.
    while let Some(end) = rest.iter().position(|&b| b == b'\n') {
        let line = String::from_utf8_lossy(&rest[..end]).into_owned();
        if let Some(args) = line.strip_prefix("X-Mail-Args: ") {
            mail_from = angle_addr(args);
        } else if let Some(args) = line.strip_prefix("X-Rcpt-Args: ") {
            rcpts.push(angle_addr(args));
        } else if line.starts_with("Received: ") {
            rest = &rest[end + 1..];
            // Its two continuation lines.
            while rest.first() == Some(&b'\t') {
                let end = rest.iter().position(|&b| b == b'\n').unwrap_or(rest.len());
                rest = &rest[(end + 1).min(rest.len())..];
            }
            break;
        }
        rest = &rest[end + 1..];
    }
    // The last LF is the end-of-data line's, not the message's.
    let body = rest.strip_suffix(b"\n").unwrap_or(rest);
    let mut message = Vec::with_capacity(body.len() + body.len() / 32);
    for &b in body {
        if b == b'\n' {
            message.push(b'\r');
        }
        message.push(b);
    }
    Delivery {
        mail_from,
        rcpts,
        message,
    }
}

/// The address inside `<...>` at the start of MAIL/RCPT arguments.
fn angle_addr(args: &str) -> String {
    let args = args.trim();
    match (args.find('<'), args.find('>')) {
        (Some(open), Some(close)) if open < close => args[open + 1..close].to_owned(),
        _ => args.split_whitespace().next().unwrap_or("").to_owned(),
    }
}

/// A minimal SMTP client: one transaction to `addr` (greeting, EHLO, optional XCLIENT, MAIL,
/// RCPT, DATA, QUIT), stopping at the first refusal. Replies longer than 30 s are an error.
pub fn smtp_send(addr: SocketAddr, envelope: &Envelope, message: &[u8]) -> io::Result<SmtpOutcome> {
    let stream = TcpStream::connect_timeout(&addr, Duration::from_secs(10))?;
    stream.set_read_timeout(Some(Duration::from_secs(30)))?;
    stream.set_write_timeout(Some(Duration::from_secs(30)))?;
    stream.set_nodelay(true)?;
    let mut client = Smtp {
        reader: BufReader::new(stream.try_clone()?),
        writer: stream,
        transcript: Vec::new(),
    };
    let outcome = client.transaction(envelope, message)?;
    if outcome.code != 421 {
        let _ = client.command("QUIT");
    }
    Ok(SmtpOutcome {
        transcript: client.transcript,
        ..outcome
    })
}

struct Smtp {
    reader: BufReader<TcpStream>,
    writer: TcpStream,
    transcript: Vec<String>,
}

impl Smtp {
    fn reply(&mut self) -> io::Result<(u16, String)> {
        let mut lines = Vec::new();
        loop {
            let mut line = String::new();
            if self.reader.read_line(&mut line)? == 0 {
                return Err(io::Error::new(
                    io::ErrorKind::UnexpectedEof,
                    format!("connection closed; transcript: {:?}", self.transcript),
                ));
            }
            let line = line.trim_end_matches(['\r', '\n']).to_owned();
            self.transcript.push(format!("S: {line}"));
            let code = line
                .get(..3)
                .and_then(|c| c.parse::<u16>().ok())
                .ok_or_else(|| {
                    io::Error::new(io::ErrorKind::InvalidData, format!("bad reply {line:?}"))
                })?;
            let more = line.as_bytes().get(3) == Some(&b'-');
            lines.push(line.get(4..).unwrap_or("").to_owned());
            if !more {
                return Ok((code, lines.join("\n")));
            }
        }
    }

    fn command(&mut self, cmd: &str) -> io::Result<(u16, String)> {
        self.transcript.push(format!("C: {cmd}"));
        self.writer.write_all(format!("{cmd}\r\n").as_bytes())?;
        self.reply()
    }

    fn transaction(&mut self, envelope: &Envelope, message: &[u8]) -> io::Result<SmtpOutcome> {
        let done = |stage, (code, text): (u16, String)| SmtpOutcome {
            stage,
            code,
            text,
            transcript: Vec::new(),
        };
        let greeting = self.reply()?;
        if greeting.0 != 220 {
            return Ok(done(SmtpStage::Greeting, greeting));
        }
        let ehlo = self.command(&format!("EHLO {}", envelope.helo))?;
        if ehlo.0 != 250 {
            return Ok(done(SmtpStage::Ehlo, ehlo));
        }
        if let Some(ip) = envelope.client_addr {
            let name = envelope.client_name.as_deref().unwrap_or("[UNAVAILABLE]");
            let addr = match ip {
                std::net::IpAddr::V4(v4) => v4.to_string(),
                std::net::IpAddr::V6(v6) => format!("IPV6:{v6}"),
            };
            let reply = self.command(&format!(
                "XCLIENT ADDR={addr} NAME={name} HELO={}",
                envelope.helo
            ))?;
            // Postfix answers XCLIENT with a new greeting; the session starts over.
            if reply.0 != 220 {
                return Ok(done(SmtpStage::Xclient, reply));
            }
            let ehlo = self.command(&format!("EHLO {}", envelope.helo))?;
            if ehlo.0 != 250 {
                return Ok(done(SmtpStage::Xclient, ehlo));
            }
        }
        let mail = self.command(&format!("MAIL FROM:<{}>", envelope.mail_from))?;
        if mail.0 != 250 {
            return Ok(done(SmtpStage::MailFrom, mail));
        }
        let mut first_refusal = None;
        let mut accepted = 0;
        for rcpt in &envelope.rcpts {
            let reply = self.command(&format!("RCPT TO:<{rcpt}>"))?;
            if (200..300).contains(&reply.0) {
                accepted += 1;
            } else if first_refusal.is_none() {
                first_refusal = Some(reply);
            }
        }
        if accepted == 0 {
            let reply = first_refusal.unwrap_or((554, "no recipients given".to_owned()));
            return Ok(done(SmtpStage::RcptTo, reply));
        }
        let data = self.command("DATA")?;
        if data.0 != 354 {
            return Ok(done(SmtpStage::DataCommand, data));
        }
        self.writer.write_all(&dot_stuff(message))?;
        self.transcript
            .push(format!("C: <{} octets>\r\nC: .", message.len()));
        let end = self.reply()?;
        Ok(done(SmtpStage::Data, end))
    }
}

/// The DATA payload: line ends made CRLF, lines starting with `.` doubled, a final CRLF if
/// missing, and the `.` line.
fn dot_stuff(message: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(message.len() + 64);
    let mut at_line_start = true;
    let mut prev = 0u8;
    for &b in message {
        if at_line_start && b == b'.' {
            out.push(b'.');
        }
        if b == b'\n' && prev != b'\r' {
            out.push(b'\r');
        }
        out.push(b);
        at_line_start = b == b'\n';
        prev = b;
    }
    if !out.is_empty() && !out.ends_with(b"\r\n") {
        out.extend_from_slice(b"\r\n");
    }
    out.extend_from_slice(b".\r\n");
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dot_stuffing_and_line_ends() {
        assert_eq!(dot_stuff(b"a\n.b\r\n..c"), b"a\r\n..b\r\n...c\r\n.\r\n");
        assert_eq!(dot_stuff(b".\r\n"), b"..\r\n.\r\n");
        assert_eq!(dot_stuff(b""), b".\r\n");
    }

    #[test]
    fn capture_file_parsing() {
        let raw =
            b"X-Client-Addr: 127.0.0.1\nX-Client-Proto: ESMTP\nX-Helo-Args: mx.postfix.test\n\
X-Mail-Args: <a@example.org> SIZE=12\nX-Rcpt-Args: <b@example.com> ORCPT=rfc822;b@example.com\n\
X-Rcpt-Args: <c@example.com>\nReceived: from mx.postfix.test ([127.0.0.1])\n\
\tby smtp-sink (smtp-sink) with ESMTP id 01d44da2;\n\tSat,  5 Dec 2026 19:10:09 +0000 (UTC)\n\
Received: by mx\nSubject: hi\n\n.body\n\n";
        let d = parse_capture(raw);
        assert_eq!(d.mail_from, "a@example.org");
        assert_eq!(d.rcpts, ["b@example.com", "c@example.com"]);
        assert_eq!(
            d.message,
            b"Received: by mx\r\nSubject: hi\r\n\r\n.body\r\n".to_vec()
        );
    }

    #[test]
    fn main_cf_settings_replace_in_place() {
        let mut cf = MainCf::default();
        cf.set("myhostname", "a.test".to_owned());
        cf.set("biff", "no".to_owned());
        cf.line("myhostname = b.test");
        cf.line("smtpd_milters = inet:127.0.0.1:1,");
        cf.line("    inet:127.0.0.1:2");
        cf.line("# a comment");
        assert_eq!(
            cf.render().lines().skip(1).collect::<Vec<_>>(),
            [
                "myhostname = b.test",
                "biff = no",
                "smtpd_milters = inet:127.0.0.1:1, inet:127.0.0.1:2"
            ]
        );
    }

    #[test]
    fn versions() {
        assert_eq!(parse_version("3.7.11"), Some((3, 7)));
        assert_eq!(parse_version("3.10-20250101"), Some((3, 10)));
        assert_eq!(parse_version("x"), None);
    }

    #[test]
    fn outcome_helpers() {
        let o = SmtpOutcome {
            stage: SmtpStage::Data,
            code: 250,
            text: "2.0.0 Ok: queued as 4ABCD".to_owned(),
            transcript: Vec::new(),
        };
        assert!(o.accepted());
        assert_eq!(o.queue_id(), Some("4ABCD"));
        assert_eq!(o.enhanced_code(), Some("2.0.0"));
    }
}
