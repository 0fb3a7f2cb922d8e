//! The configuration file (TOML): every key, its default, and the checks made at load.
//!
//! Unknown keys and bad values are refused with the file, line, column and reason
//! ([`ConfigError`]). Key files are not read here: see [`crate::signing`].
//!
//! ```toml
//! listen = "inet:127.0.0.1:8891"          # or "unix:/run/mailstamp/milter.sock"
//! socket_mode = "0660"                    # unix sockets only; default 0660
//! # socket_owner = "postfix"              # unix sockets only; user name or number
//! # socket_group = "postfix"              # unix sockets only; group name or number
//! authserv_id = "mx.example.net"          # required
//! default_mode = "both"                   # sign | verify | both
//! internal_networks = ["127.0.0.0/8", "::1/128"]
//! double_signing = "skip"                 # skip | sign
//! from_policy = "reject"                  # reject | quarantine
//! dns_failure = "tempfail"                # tempfail | accept
//! read_timeout_ms = 600000
//! # record = "/var/lib/mailstamp/verdicts.sqlite"  # or "postgres://..."; default none
//! record_queue = 10000
//! # user = "mailstamp"                     # drop root privileges once bound
//! # group = "mailstamp"
//! run_as_root = false
//!
//! [daemons]                               # MTA daemon name ({daemon_name}) -> mode
//! ORIGINATING = "sign"
//!
//! [[signing]]
//! domain = "example.org"                  # From domain: "example.org", "*.example.org", "*"
//! selector = "2026a"
//! key = "/etc/mailstamp/keys/2026a.example.org.pem"
//! ```

use crate::net::{Cidr, Listen};
use mailstamp_dkim::Canonicalizations;
use mailstamp_milter::ReplyCode;
use serde::{Deserialize, Deserializer};
use std::collections::BTreeMap;
use std::fmt;
use std::path::{Path, PathBuf};
use std::str::FromStr;

/// A configuration problem: where it is and why.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{}{}: {message}", path.display(), location(*line, *column))]
pub struct ConfigError {
    /// The file.
    pub path: PathBuf,
    /// The line (from 1), when known.
    pub line: Option<usize>,
    /// The column (from 1), when known.
    pub column: Option<usize>,
    /// What is wrong (names the key).
    pub message: String,
}

fn location(line: Option<usize>, column: Option<usize>) -> String {
    match (line, column) {
        (Some(l), Some(c)) => format!(":{l}:{c}"),
        (Some(l), None) => format!(":{l}"),
        _ => String::new(),
    }
}

/// 1-based line and column of a byte offset.
fn line_col(text: &str, offset: usize) -> (usize, usize) {
    let before = text.get(..offset.min(text.len())).unwrap_or(text);
    let line = before.matches('\n').count() + 1;
    let column = before
        .rfind('\n')
        .map_or(before.len(), |nl| before.len() - nl - 1)
        + 1;
    (line, column)
}

/// What the milter does for mail arriving through an MTA daemon.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Mode {
    /// Sign every message (a submission service): never verified, never refused.
    Sign,
    /// Verify every message; mail we originate (internal network, authenticated) is verified
    /// but never refused.
    Verify,
    /// Sign mail we originate, verify the rest (the default).
    Both,
}

impl Mode {
    /// `sign`, `verify` or `both`.
    pub fn as_str(self) -> &'static str {
        match self {
            Mode::Sign => "sign",
            Mode::Verify => "verify",
            Mode::Both => "both",
        }
    }
}

/// When the message already carries a DKIM signature with one of our `d=`/`s=` pairs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum DoubleSigning {
    /// Do not add another signature with that key (the default).
    Skip,
    /// Sign again.
    Sign,
}

/// What to do with inbound mail whose From header field names no single author domain
/// (no From, several From fields or addresses, an address that cannot be parsed). Decided
/// before any verdict; such mail is never accepted because its author is unknown.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum FromPolicy {
    /// Refuse with `550 5.7.1` (the default).
    Reject,
    /// Accept but quarantine (as `[dmarc] quarantine` says).
    Quarantine,
}

/// What to do when DMARC ends in `temperror` (a DNS failure) and enforcement is on.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum DnsFailure {
    /// Answer with the temporary failure reply (`451 4.7.5`, the default): the sender retries.
    Tempfail,
    /// Accept; the Authentication-Results field says `dmarc=temperror`.
    Accept,
}

/// How a DMARC `quarantine` disposition is carried out.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Quarantine {
    /// Add `X-Mailstamp-Quarantine: <reason>` for the delivery agent to file (the default).
    Header,
    /// Ask the MTA to hold the message (Postfix's hold queue, Sendmail's quarantine).
    Mta,
}

/// The From domains a signing rule covers.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub enum DomainPattern {
    /// Exactly this domain (`example.org`).
    Exact(String),
    /// Every subdomain of this domain, not the domain itself (`*.example.org`).
    Subdomains(String),
    /// Every domain (`*`).
    Any,
}

impl DomainPattern {
    /// Whether `domain` (lower case) matches.
    pub fn matches(&self, domain: &str) -> bool {
        match self {
            DomainPattern::Exact(d) => d == domain,
            DomainPattern::Subdomains(d) => domain
                .strip_suffix(d.as_str())
                .is_some_and(|head| head.len() > 1 && head.ends_with('.')),
            DomainPattern::Any => true,
        }
    }

    /// 0 for an exact rule, 1 for a subdomain rule, 2 for the wildcard: lower wins.
    pub fn rank(&self) -> u8 {
        match self {
            DomainPattern::Exact(_) => 0,
            DomainPattern::Subdomains(_) => 1,
            DomainPattern::Any => 2,
        }
    }
}

impl fmt::Display for DomainPattern {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            DomainPattern::Exact(d) => f.write_str(d),
            DomainPattern::Subdomains(d) => write!(f, "*.{d}"),
            DomainPattern::Any => f.write_str("*"),
        }
    }
}

impl FromStr for DomainPattern {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, String> {
        if s == "*" {
            return Ok(DomainPattern::Any);
        }
        let (sub, d) = match s.strip_prefix("*.") {
            Some(d) => (true, d),
            None => (false, s),
        };
        let name = mailstamp_dns::Name::parse(d)
            .map_err(|e| format!("invalid domain {s:?}: {e}"))?
            .as_str()
            .to_owned();
        if name.contains('*') {
            return Err(format!(
                "invalid domain {s:?}: only \"*\" and \"*.DOMAIN\" may hold a wildcard"
            ));
        }
        Ok(if sub {
            DomainPattern::Subdomains(name)
        } else {
            DomainPattern::Exact(name)
        })
    }
}

macro_rules! deserialize_from_str {
    ($($t:ty),*) => {$(
        impl<'de> Deserialize<'de> for $t {
            fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
                let s = String::deserialize(d)?;
                s.parse().map_err(serde::de::Error::custom)
            }
        }
    )*};
}

/// An SMTP reply as written in the file: `550 5.7.1 text` (the enhanced code is optional).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SmtpReply {
    /// The three-digit code.
    pub code: u16,
    /// The enhanced status code (RFC 3463), if any.
    pub enhanced: Option<String>,
    /// The text.
    pub text: String,
}

impl SmtpReply {
    fn new(code: u16, enhanced: &str, text: &str) -> SmtpReply {
        SmtpReply {
            code,
            enhanced: Some(enhanced.to_owned()),
            text: text.to_owned(),
        }
    }

    /// The reply for the milter, with `detail` appended to the text (control characters in it
    /// replaced by spaces). `None` only if the reply cannot be encoded.
    pub fn with_detail(&self, detail: &str) -> Option<ReplyCode> {
        let detail: String = detail
            .chars()
            .map(|c| if c.is_control() { ' ' } else { c })
            .collect();
        let text = match (self.text.is_empty(), detail.is_empty()) {
            (_, true) => self.text.clone(),
            (true, false) => detail,
            (false, false) => format!("{} ({detail})", self.text),
        };
        ReplyCode::new(self.code, self.enhanced.as_deref(), &text).ok()
    }
}

impl FromStr for SmtpReply {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, String> {
        let mut parts = s.trim().splitn(2, ' ');
        let code = parts
            .next()
            .and_then(|c| c.parse::<u16>().ok())
            .ok_or_else(|| {
                format!("expected an SMTP reply such as \"550 5.7.1 text\", found {s:?}")
            })?;
        let rest = parts.next().unwrap_or("").trim_start();
        let starts_digit = rest.chars().next().is_some_and(|c| c.is_ascii_digit());
        let (enhanced, text) = match rest.split_once(' ') {
            Some((e, t)) if starts_digit => (Some(e), t),
            None if starts_digit => (Some(rest), ""),
            _ => (None, rest),
        };
        ReplyCode::new(code, enhanced, text)
            .map_err(|e| format!("invalid SMTP reply {s:?}: {e}"))?;
        Ok(SmtpReply {
            code,
            enhanced: enhanced.map(str::to_owned),
            text: text.to_owned(),
        })
    }
}

/// A socket file mode in octal (`"0660"`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FileMode(pub u32);

impl FromStr for FileMode {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, String> {
        u32::from_str_radix(s, 8)
            .ok()
            .filter(|m| *m <= 0o777)
            .map(FileMode)
            .ok_or_else(|| format!("expected an octal file mode such as \"0660\", found {s:?}"))
    }
}

/// `relaxed/relaxed` and friends, from the file.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Canon(pub Canonicalizations);

impl FromStr for Canon {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, String> {
        if !s.contains('/') {
            return Err(format!(
                "expected HEADER/BODY (relaxed/relaxed, relaxed/simple, simple/relaxed or \
                 simple/simple), found {s:?}"
            ));
        }
        s.parse().map(Canon).map_err(|e| format!("{e}"))
    }
}

deserialize_from_str!(DomainPattern, SmtpReply, FileMode, Canon);

/// One `[[signing]]` entry: a key that signs mail whose From domain matches `domain`.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SigningEntry {
    /// The From domains covered: `example.org`, `*.example.org` (subdomains) or `*`. Required.
    pub domain: DomainPattern,
    /// The signing domain (`d=`). Default: `domain` for an exact rule, the parent domain for a
    /// subdomain rule; required for `*`.
    #[serde(default)]
    pub signing_domain: Option<String>,
    /// The selector (`s=`). Required.
    pub selector: String,
    /// The private key (PKCS#8 or PKCS#1 PEM, RSA or Ed25519; the algorithm follows the key).
    /// Must not be readable by group or others. A relative path is relative to the
    /// configuration file's directory. Required.
    pub key: PathBuf,
    /// Header fields to sign. Default: RFC 6376 §5.4.1's list (plus MIME and List-* fields)
    /// that the message has.
    #[serde(default)]
    pub headers: Option<Vec<String>>,
    /// List each signed name once more than present (RFC 6376 §8.15). Default `true`.
    #[serde(default = "yes")]
    pub oversign: bool,
    /// Header/body canonicalization. Default `relaxed/relaxed`.
    #[serde(default)]
    pub canonicalization: Option<Canon>,
    /// Signature lifetime in seconds (`x=`). Default: none.
    #[serde(default)]
    pub expire_secs: Option<u64>,
    /// The line of the entry in the file (filled in at load).
    #[serde(skip)]
    pub line: usize,
}

fn yes() -> bool {
    true
}

/// `[dmarc]`: enforcement of the domain owner's policy on inbound mail.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct DmarcConfig {
    /// Act on `p=reject` and `p=quarantine`. Default `false` (the result is only recorded in
    /// Authentication-Results).
    pub enforce: bool,
    /// The reply for a DMARC reject. Default `550 5.7.1 Message rejected: DMARC policy of the
    /// From domain`; the domain and reason are appended.
    pub reject_reply: SmtpReply,
    /// The reply when DMARC cannot be evaluated for a DNS failure and `dns_failure =
    /// "tempfail"`. Default `451 4.7.5 Temporary DNS failure checking DMARC; try again later`.
    pub tempfail_reply: SmtpReply,
    /// How `quarantine` is carried out. Default `header`.
    pub quarantine: Quarantine,
    /// From domains (and their subdomains) never refused or quarantined.
    pub allow_domains: Vec<String>,
    /// Client networks never refused or quarantined.
    pub allow_networks: Vec<Cidr>,
}

impl Default for DmarcConfig {
    fn default() -> Self {
        DmarcConfig {
            enforce: false,
            reject_reply: SmtpReply::new(
                550,
                "5.7.1",
                "Message rejected: DMARC policy of the From domain",
            ),
            tempfail_reply: SmtpReply::new(
                451,
                "4.7.5",
                "Temporary DNS failure checking DMARC; try again later",
            ),
            quarantine: Quarantine::Header,
            allow_domains: Vec::new(),
            allow_networks: Vec::new(),
        }
    }
}

/// `[dns]`: how the live DNS is reached.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct DnsConfig {
    /// Nameservers (`"192.0.2.53"`, `"[2001:db8::53]:53"`). Default: the system's
    /// (`/etc/resolv.conf`).
    pub nameservers: Vec<String>,
    /// The most time one query may take, all attempts included. Default 3000.
    pub timeout_ms: u64,
    /// How many times a query is sent. Default 2.
    pub attempts: u8,
}

impl Default for DnsConfig {
    fn default() -> Self {
        DnsConfig {
            nameservers: Vec::new(),
            timeout_ms: 3000,
            attempts: 2,
        }
    }
}

/// `[limits]`: per-message budgets, kept below the MTA's milter timeouts.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Limits {
    /// DKIM signatures verified per message (RFC 6376 §6.1); the others are reported as not
    /// checked. Default 5.
    pub max_signatures: usize,
    /// DNS queries per message (SPF, DKIM keys, DMARC together); when exceeded the unfinished
    /// checks end in `temperror`. Default 60.
    pub max_dns_queries: usize,
    /// Wall-clock time of one message's verification; unfinished checks then end in
    /// `temperror`. Default 10000 (Postfix's `milter_content_timeout` is 300 s).
    pub wall_time_ms: u64,
    /// Kept for configuration files of earlier versions, which buffered whole messages up to
    /// this size. Bodies are now hashed as they stream in and never stored, so a message of
    /// any size is verified and signed; this key now bounds only the header section, like
    /// `max_header_size` (the smaller of the two applies). Default 26214400 (25 MiB).
    pub max_message_size: usize,
    /// How long a connection may stay silent before it is closed. Default 600000 (10 min).
    pub read_timeout_ms: u64,
    /// Most MTA connections served at once; more wait to be accepted. Default 2048.
    pub max_connections: usize,
    /// While a message waits at end of message (DNS) longer than this, the milter sends the
    /// MTA a progress reply (`SMFIR_PROGRESS`) and again after each further interval, so the
    /// MTA's milter timeout (Sendmail's `T=E:`, Postfix's `milter_content_timeout`) does not
    /// fire. 0 sends none. Default 5000.
    pub progress_interval_ms: u64,
    /// Largest header section kept (the header fields are the only part of a message the
    /// milter stores; the body is hashed as it streams in). A message whose header section is
    /// larger is not verified (it gets `dkim=none (header too large)`, never a pass, and is not
    /// refused) nor signed nor sealed (logged). The smaller of this and `max_message_size`
    /// applies. Default 1048576 (1 MiB; Postfix's `header_size_limit` is 102400).
    pub max_header_size: usize,
}

impl Limits {
    /// The header limit in force: the smaller of `max_header_size` and `max_message_size`.
    pub fn header_limit(&self) -> usize {
        self.max_header_size.min(self.max_message_size)
    }
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            max_signatures: 5,
            max_dns_queries: 60,
            wall_time_ms: 10_000,
            max_message_size: 25 * 1024 * 1024,
            read_timeout_ms: 600_000,
            max_connections: 2048,
            max_header_size: 1024 * 1024,
            progress_interval_ms: 5000,
        }
    }
}

/// `[metrics]`: the Prometheus endpoint.
#[derive(Debug, Clone, PartialEq, Eq, Default, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct MetricsConfig {
    /// `HOST:PORT` to serve `GET /metrics` on. Default: none (no endpoint).
    pub listen: Option<String>,
}

/// `[arc_seal]`: ARC sealing (RFC 8617 §5.1) of the mail the milter verifies, as a forwarder
/// or mailing list host does for mail it relays (OpenARC and rspamd seal the mail they relay).
///
/// A message is sealed when the milter verified it (its mode for the message is `verify`, or
/// `both` and the message is not ours) and, if `daemons` is not empty, it arrived through one
/// of those MTA daemon names (`{daemon_name}`). The ARC-Authentication-Results field holds the
/// milter's own verdict (the Authentication-Results field it adds); the seal's `cv=` is the
/// chain's status on arrival. A chain whose newest seal says `cv=fail` is not extended; any
/// other failing chain is sealed with `cv=fail` only (RFC 8617 §5.1.2). Refused or
/// temporarily failed messages, messages whose ARC keys could not be fetched (DNS) and
/// messages whose checks ran out of budget are not sealed (logged).
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ArcSealConfig {
    /// The sealing domain (ARC-Seal and ARC-Message-Signature `d=`). Required.
    pub domain: String,
    /// The selector (`s=`); the public key is published at `SELECTOR._domainkey.DOMAIN`.
    /// Required.
    pub selector: String,
    /// The private key (PKCS#8 or PKCS#1 PEM, RSA 2048–4096 bits or Ed25519; the algorithm
    /// follows the key). Must not be readable by group or others; a relative path is relative
    /// to the configuration file's directory. Required.
    pub key: PathBuf,
    /// Seal only mail arriving through these MTA daemon names. Default: empty, every message
    /// the milter verifies.
    #[serde(default)]
    pub daemons: Vec<String>,
    /// Header fields the ARC-Message-Signature signs. Default: DKIM's default list and
    /// DKIM-Signature, those present (RFC 8617 §4.1.2).
    #[serde(default)]
    pub headers: Option<Vec<String>>,
    /// The line of the section in the file (filled in at load).
    #[serde(skip)]
    pub line: usize,
}

/// The whole file.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Config {
    /// Where to listen. Default `inet:127.0.0.1:8891`.
    #[serde(default = "default_listen")]
    pub listen: Listen,
    /// Mode of a unix socket. Default `0660`.
    #[serde(default)]
    pub socket_mode: Option<FileMode>,
    /// Owner of a unix socket (name or number). Default: the daemon's user.
    #[serde(default)]
    pub socket_owner: Option<String>,
    /// Group of a unix socket (name or number). Default: the daemon's group.
    #[serde(default)]
    pub socket_group: Option<String>,
    /// The authserv-id written in Authentication-Results (RFC 8601 §2.5). Required.
    pub authserv_id: String,
    /// The mode for daemon names not in `[daemons]`. Default `both`.
    #[serde(default = "default_mode")]
    pub default_mode: Mode,
    /// Mode per MTA daemon name (`{daemon_name}`: Postfix's `-o milter_macro_daemon_name=`).
    #[serde(default)]
    pub daemons: BTreeMap<String, Mode>,
    /// Client networks whose mail we originate (signed, never refused). Default
    /// `["127.0.0.0/8", "::1/128"]`.
    #[serde(default = "default_internal")]
    pub internal_networks: Vec<Cidr>,
    /// Default `skip`.
    #[serde(default = "default_double")]
    pub double_signing: DoubleSigning,
    /// Default `reject`.
    #[serde(default = "default_from_policy")]
    pub from_policy: FromPolicy,
    /// Default `tempfail`.
    #[serde(default = "default_dns_failure")]
    pub dns_failure: DnsFailure,
    /// ARC sealers (ARC-Seal `d=`) whose word inbound verification takes (RFC 8617 §7.2.1):
    /// when DMARC fails, the message's ARC chain passes and one of these sealers recorded
    /// that DMARC (or an aligned DKIM or SPF check) passed upstream, the DMARC disposition is
    /// overridden to none (local policy; Authentication-Results says `override=arc`).
    /// Default: none.
    #[serde(default)]
    pub arc_trusted_sealers: Vec<String>,
    /// The signing table.
    #[serde(default)]
    pub signing: Vec<SigningEntry>,
    /// DMARC enforcement.
    #[serde(default)]
    pub dmarc: DmarcConfig,
    /// DNS.
    #[serde(default)]
    pub dns: DnsConfig,
    /// Budgets.
    #[serde(default)]
    pub limits: Limits,
    /// Metrics.
    #[serde(default)]
    pub metrics: MetricsConfig,
    /// ARC sealing of verified mail (`[arc_seal]`). Default: none (no sealing).
    #[serde(default)]
    pub arc_seal: Option<ArcSealConfig>,
    /// Where each DMARC evaluation of inbound mail is recorded for the aggregate reports
    /// (`mailstamp report generate --store`), with the syntax of `mailstamp check --record
    /// STORE`: a file name or `sqlite:PATH` (SQLite), or `postgres://...`. Records go through
    /// a bounded queue to one writer, in batches, off the mail path: when the queue is full
    /// or the store is down a record is dropped, logged and counted
    /// (`mailstamp_milter_records_dropped_total`), never the message. A reload may change it.
    /// Default: none (nothing recorded).
    #[serde(default)]
    pub record: Option<String>,
    /// Evaluations waiting for the writer at most; more are dropped (and counted). Default
    /// 10000.
    #[serde(default = "default_record_queue")]
    pub record_queue: usize,
    /// The user to run as once the sockets are bound (name or number): the daemon started as
    /// root drops to it (its groups from the group database, or `group`). Default: none (no
    /// change; a daemon started as root then refuses to run unless `run_as_root = true`).
    #[serde(default)]
    pub user: Option<String>,
    /// The group to run as with `user` (name or number). Default: the user's primary group.
    #[serde(default)]
    pub group: Option<String>,
    /// Allow running as root without `user`. Default `false`: refused, since a milter parses
    /// mail from anyone.
    #[serde(default)]
    pub run_as_root: bool,
    /// The file read (filled in at load).
    #[serde(skip)]
    pub path: PathBuf,
}

fn default_listen() -> Listen {
    Listen::Inet {
        host: "127.0.0.1".into(),
        port: 8891,
    }
}
fn default_mode() -> Mode {
    Mode::Both
}
fn default_internal() -> Vec<Cidr> {
    ["127.0.0.0/8", "::1/128"]
        .iter()
        .filter_map(|s| s.parse().ok())
        .collect()
}
fn default_double() -> DoubleSigning {
    DoubleSigning::Skip
}
fn default_from_policy() -> FromPolicy {
    FromPolicy::Reject
}
fn default_dns_failure() -> DnsFailure {
    DnsFailure::Tempfail
}
fn default_record_queue() -> usize {
    10_000
}

impl Config {
    /// Reads and checks the file at `path`.
    pub fn load(path: &Path) -> Result<Config, ConfigError> {
        let text = std::fs::read_to_string(path).map_err(|e| ConfigError {
            path: path.to_owned(),
            line: None,
            column: None,
            message: format!("cannot read the configuration: {e}"),
        })?;
        Config::parse(&text, path)
    }

    /// Parses and checks `text`, naming `path` in errors.
    pub fn parse(text: &str, path: &Path) -> Result<Config, ConfigError> {
        let err_at = |offset: Option<usize>, message: String| {
            let (line, column) = match offset.map(|o| line_col(text, o)) {
                Some((l, c)) => (Some(l), Some(c)),
                None => (None, None),
            };
            ConfigError {
                path: path.to_owned(),
                line,
                column,
                message,
            }
        };
        let mut config: Config = toml::from_str(text).map_err(|e: toml::de::Error| {
            err_at(
                e.span().map(|s| s.start),
                e.message().trim().replace('\n', " "),
            )
        })?;
        config.path = path.to_owned();
        // Lines of the [[signing]] entries, in order, for later messages.
        let mut lines = text
            .lines()
            .enumerate()
            .filter(|(_, l)| l.trim_start().starts_with("[[signing]]"))
            .map(|(i, _)| i + 1);
        let base = path.parent().unwrap_or(Path::new(""));
        for entry in &mut config.signing {
            entry.line = lines.next().unwrap_or(0);
            if entry.key.is_relative() {
                entry.key = base.join(&entry.key);
            }
        }
        if let Some(seal) = &mut config.arc_seal {
            seal.line = text
                .lines()
                .position(|l| l.trim_start().starts_with("[arc_seal]"))
                .map_or(0, |i| i + 1);
            if seal.key.is_relative() {
                seal.key = base.join(&seal.key);
            }
        }
        let key_line = |key: &str| -> Option<usize> {
            text.lines()
                .position(|l| {
                    let t = l.trim_start();
                    t.strip_prefix(key)
                        .is_some_and(|r| r.trim_start().starts_with('='))
                })
                .map(|i| i + 1)
        };
        let err_key = |key: &str, message: String| ConfigError {
            path: path.to_owned(),
            line: key_line(key),
            column: None,
            message: format!("{key}: {message}"),
        };
        let id = config.authserv_id.as_str();
        if id.is_empty()
            || !id
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b"-._".contains(&b))
        {
            return Err(err_key(
                "authserv_id",
                format!(
                    "{id:?} is not a usable authserv-id: use the receiving host's name \
                     (letters, digits, '-', '.', '_')"
                ),
            ));
        }
        for ns in &config.dns.nameservers {
            parse_nameserver(ns).map_err(|m| err_key("nameservers", m))?;
        }
        if config.dns.timeout_ms == 0 || config.dns.attempts == 0 {
            return Err(err_key(
                "timeout_ms",
                "[dns] timeout_ms and attempts must be positive".into(),
            ));
        }
        let l = &config.limits;
        for (key, v) in [
            ("max_dns_queries", l.max_dns_queries as u64),
            ("wall_time_ms", l.wall_time_ms),
            ("max_message_size", l.max_message_size as u64),
            ("read_timeout_ms", l.read_timeout_ms),
            ("max_connections", l.max_connections as u64),
            ("max_header_size", l.max_header_size as u64),
        ] {
            if v == 0 {
                return Err(err_key(key, "[limits] values must be positive".into()));
            }
        }
        if let Some(m) = &config.metrics.listen {
            m.parse::<std::net::SocketAddr>().map_err(|_| {
                err_key(
                    "listen",
                    format!("[metrics] listen must be HOST:PORT with an IP address, found {m:?}"),
                )
            })?;
        }
        if config.record_queue == 0 {
            return Err(err_key("record_queue", "must be positive".into()));
        }
        if let Some(r) = &config.record
            && let Err(m) = check_store(r)
        {
            return Err(err_key("record", m));
        }
        if config.group.is_some() && config.user.is_none() {
            return Err(err_key(
                "group",
                "needs user (the group the daemon drops to together with its user)".into(),
            ));
        }
        for d in &config.arc_trusted_sealers {
            mailstamp_dns::Name::parse(d).map_err(|e| {
                err_key("arc_trusted_sealers", format!("invalid domain {d:?}: {e}"))
            })?;
        }
        for d in &config.dmarc.allow_domains {
            mailstamp_dns::Name::parse(d)
                .map_err(|e| err_key("allow_domains", format!("invalid domain {d:?}: {e}")))?;
        }
        if config.dmarc.reject_reply.code / 100 != 5 {
            return Err(err_key("reject_reply", "must be a 5xx reply".into()));
        }
        if config.dmarc.tempfail_reply.code / 100 != 4 {
            return Err(err_key("tempfail_reply", "must be a 4xx reply".into()));
        }
        if let Some(seal) = &config.arc_seal {
            let at = |m: String| ConfigError {
                path: path.to_owned(),
                line: Some(seal.line).filter(|l| *l > 0),
                column: None,
                message: format!("[arc_seal]: {m}"),
            };
            mailstamp_dkim::key_record_name(&seal.selector, &seal.domain)
                .map_err(|err| at(format!("selector/domain: {err}")))?;
            if let Some(h) = &seal.headers {
                if !h.iter().any(|n| n.eq_ignore_ascii_case("from")) {
                    return Err(at("headers must include From (RFC 6376 §5.4)".into()));
                }
                if let Some(bad) = h.iter().find(|n| {
                    n.to_ascii_lowercase().starts_with("arc-")
                        || n.eq_ignore_ascii_case("authentication-results")
                }) {
                    return Err(at(format!(
                        "headers must not list {bad:?} (RFC 8617 §4.1.2)"
                    )));
                }
            }
        }
        for e in &config.signing {
            let at = |m: String| ConfigError {
                path: path.to_owned(),
                line: Some(e.line).filter(|l| *l > 0),
                column: None,
                message: format!("[[signing]] {}: {m}", e.domain),
            };
            let d = e.d().ok_or_else(|| {
                at("signing_domain is required for the \"*\" rule (which d= to sign with?)".into())
            })?;
            mailstamp_dkim::key_record_name(&e.selector, &d)
                .map_err(|err| at(format!("selector/signing_domain: {err}")))?;
            if let Some(h) = &e.headers
                && !h.iter().any(|n| n.eq_ignore_ascii_case("from"))
            {
                return Err(at("headers must include From (RFC 6376 §5.4)".into()));
            }
        }
        Ok(config)
    }

    /// Whether `[arc_seal]` applies to a verified message from `daemon` (`None`: the macro did
    /// not arrive, which matches only an empty `daemons` list).
    pub fn seals_for(&self, daemon: Option<&str>) -> bool {
        self.arc_seal.as_ref().is_some_and(|s| {
            s.daemons.is_empty() || daemon.is_some_and(|d| s.daemons.iter().any(|x| x == d))
        })
    }

    /// The mode for an MTA daemon name (`None`: the macro did not arrive).
    pub fn mode_for(&self, daemon: Option<&str>) -> Mode {
        daemon
            .and_then(|d| self.daemons.get(d))
            .copied()
            .unwrap_or(self.default_mode)
    }

    /// The trusted ARC sealers as names (checked at load).
    pub fn arc_trusted_sealers(&self) -> Vec<mailstamp_dns::Name> {
        self.arc_trusted_sealers
            .iter()
            .filter_map(|d| mailstamp_dns::Name::parse(d).ok())
            .collect()
    }

    /// The nameservers as socket addresses (checked at load).
    pub fn nameservers(&self) -> Vec<std::net::SocketAddr> {
        self.dns
            .nameservers
            .iter()
            .filter_map(|n| parse_nameserver(n).ok())
            .collect()
    }
}

impl SigningEntry {
    /// The signing domain (`d=`): `signing_domain`, or derived from `domain` (`None` for `*`
    /// without `signing_domain`).
    pub fn d(&self) -> Option<String> {
        if let Some(d) = &self.signing_domain {
            return Some(d.to_ascii_lowercase());
        }
        match &self.domain {
            DomainPattern::Exact(d) | DomainPattern::Subdomains(d) => Some(d.clone()),
            DomainPattern::Any => None,
        }
    }
}

/// Checks a verdict store name as `mailstamp check --record` takes it: a file name,
/// `sqlite:PATH` or `postgres://...` (`postgresql://`).
fn check_store(spec: &str) -> Result<(), String> {
    if spec.trim().is_empty() {
        return Err("expected a file name, sqlite:PATH or postgres://..., found \"\"".into());
    }
    if spec.contains("://")
        && !spec.starts_with("postgres://")
        && !spec.starts_with("postgresql://")
    {
        return Err(format!(
            "unsupported store {:?}: use a file name, sqlite:PATH or postgres://...",
            mailstamp_reports::store::redact(spec)
        ));
    }
    Ok(())
}

/// `ADDR` or `ADDR:PORT` (`[V6]:PORT`), port 53 by default.
pub fn parse_nameserver(s: &str) -> Result<std::net::SocketAddr, String> {
    if let Ok(a) = s.parse::<std::net::SocketAddr>() {
        return Ok(a);
    }
    s.parse::<std::net::IpAddr>()
        .map(|ip| std::net::SocketAddr::new(ip, 53))
        .map_err(|_| format!("expected an IP address with an optional port, found {s:?}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(text: &str) -> Result<Config, ConfigError> {
        Config::parse(text, Path::new("/etc/mailstamp/milter.toml"))
    }

    #[test]
    fn minimal_file_gets_the_defaults() {
        let c = parse("authserv_id = \"mx.example.net\"\n").unwrap();
        assert_eq!(c.listen.to_string(), "inet:127.0.0.1:8891");
        assert_eq!(c.default_mode, Mode::Both);
        assert_eq!(c.double_signing, DoubleSigning::Skip);
        assert_eq!(c.from_policy, FromPolicy::Reject);
        assert_eq!(c.dns_failure, DnsFailure::Tempfail);
        assert!(!c.dmarc.enforce);
        assert_eq!(c.dmarc.reject_reply.code, 550);
        assert!(c.dmarc.reject_reply.with_detail("x").is_some());
        assert_eq!(c.dmarc.tempfail_reply.enhanced.as_deref(), Some("4.7.5"));
        assert!(c.dmarc.tempfail_reply.with_detail("").is_some());
        assert_eq!(c.internal_networks.len(), 2);
        assert_eq!(c.limits, Limits::default());
        assert!(c.arc_trusted_sealers().is_empty());
    }

    #[test]
    fn arc_trusted_sealers_are_domain_names() {
        let c = parse(
            "authserv_id = \"mx\"\narc_trusted_sealers = [\"Lists.Example.net\", \"forwarder.example.\"]\n",
        )
        .unwrap();
        let names: Vec<String> = c
            .arc_trusted_sealers()
            .iter()
            .map(|n| n.as_str().to_owned())
            .collect();
        assert_eq!(names, ["lists.example.net", "forwarder.example"]);
        let e = parse("authserv_id = \"mx\"\narc_trusted_sealers = [\"a..b\"]\n").unwrap_err();
        assert_eq!(e.line, Some(2));
        assert!(e.message.starts_with("arc_trusted_sealers:"), "{e}");
    }

    #[test]
    fn unknown_key_names_file_line_and_key() {
        let e = parse("authserv_id = \"mx.example.net\"\n\n[dmarc]\nenforse = true\n").unwrap_err();
        assert_eq!(e.line, Some(4));
        let text = e.to_string();
        assert!(
            text.starts_with("/etc/mailstamp/milter.toml:4:1: "),
            "{text}"
        );
        assert!(text.contains("enforse"), "{text}");
    }

    #[test]
    fn bad_values_name_the_line() {
        let e = parse("authserv_id = \"mx\"\ninternal_networks = [\"10.0.0.0/33\"]\n").unwrap_err();
        assert_eq!(e.line, Some(2));
        assert!(e.message.contains("prefix"), "{e}");
        let e = parse("authserv_id = \"mx\"\ndefault_mode = \"sometimes\"\n").unwrap_err();
        assert_eq!(e.line, Some(2));
        let e = parse("authserv_id = \"mx; dkim=pass\"\n").unwrap_err();
        assert_eq!(e.line, Some(1));
        assert!(e.message.starts_with("authserv_id:"));
        let e = parse("listen = \"tcp:1\"\nauthserv_id = \"mx\"\n").unwrap_err();
        assert_eq!(e.line, Some(1));
        let e =
            parse("authserv_id = \"mx\"\n[dmarc]\nreject_reply = \"451 4.7.1 no\"\n").unwrap_err();
        assert!(e.message.contains("5xx"), "{e}");
        let e = parse("authserv_id = \"mx\"\n").map(|c| c.dmarc.reject_reply);
        assert!(e.is_ok());
        assert!(parse("").unwrap_err().message.contains("authserv_id"));
    }

    #[test]
    fn signing_entries_check_domain_selector_and_headers() {
        let base = "authserv_id = \"mx\"\n";
        let ok = format!(
            "{base}[[signing]]\ndomain = \"*.Example.org\"\nselector = \"s1\"\nkey = \"/k.pem\"\n"
        );
        let c = parse(&ok).unwrap();
        assert_eq!(c.signing[0].line, 2);
        assert_eq!(c.signing[0].d().as_deref(), Some("example.org"));
        let wild =
            format!("{base}\n[[signing]]\ndomain = \"*\"\nselector = \"s1\"\nkey = \"/k.pem\"\n");
        let e = parse(&wild).unwrap_err();
        assert_eq!(e.line, Some(3));
        assert!(e.message.contains("signing_domain"), "{e}");
        let bad_sel = format!(
            "{base}[[signing]]\ndomain = \"example.org\"\nselector = \"a b\"\nkey = \"/k.pem\"\n"
        );
        assert!(parse(&bad_sel).is_err());
        let no_from = format!(
            "{base}[[signing]]\ndomain = \"example.org\"\nselector = \"s\"\nkey = \"/k.pem\"\nheaders = [\"to\"]\n"
        );
        assert!(parse(&no_from).unwrap_err().message.contains("From"));
        let missing_key =
            format!("{base}[[signing]]\ndomain = \"example.org\"\nselector = \"s\"\n");
        assert!(parse(&missing_key).unwrap_err().message.contains("key"));
    }

    #[test]
    fn arc_seal_section_and_header_limit() {
        let c = parse("authserv_id = \"mx\"\n").unwrap();
        assert!(c.arc_seal.is_none() && !c.seals_for(None));
        assert_eq!(c.limits.header_limit(), 1024 * 1024);
        // The shipped key is still accepted and bounds the header too.
        let c = parse("authserv_id = \"mx\"\n[limits]\nmax_message_size = 300\n").unwrap();
        assert_eq!(c.limits.header_limit(), 300);
        let c = parse(
            "authserv_id = \"mx\"\n\n[arc_seal]\ndomain = \"fwd.example\"\nselector = \"arc\"\n\
             key = \"keys/arc.pem\"\ndaemons = [\"RELAY\"]\n",
        )
        .unwrap();
        let s = c.arc_seal.as_ref().unwrap();
        assert_eq!(s.line, 3);
        assert_eq!(s.key, Path::new("/etc/mailstamp/keys/arc.pem"));
        assert!(c.seals_for(Some("RELAY")) && !c.seals_for(Some("MX")) && !c.seals_for(None));
        let e = parse(
            "authserv_id = \"mx\"\n[arc_seal]\ndomain = \"fwd.example\"\nselector = \"arc\"\n\
             key = \"/k.pem\"\nheaders = [\"from\", \"ARC-Seal\"]\n",
        )
        .unwrap_err();
        assert_eq!(e.line, Some(2));
        assert!(e.message.contains("RFC 8617"), "{e}");
        let e =
            parse("authserv_id = \"mx\"\n[arc_seal]\ndomain = \"fwd.example\"\nkey = \"/k.pem\"\n")
                .unwrap_err();
        assert!(e.message.contains("selector"), "{e}");
        let e = parse(
            "authserv_id = \"mx\"\n[arc_seal]\ndomain = \"a..b\"\nselector = \"s\"\nkey = \"/k.pem\"\n",
        )
        .unwrap_err();
        assert!(e.message.starts_with("[arc_seal]"), "{e}");
    }

    #[test]
    fn patterns() {
        let exact: DomainPattern = "Example.ORG".parse().unwrap();
        assert!(exact.matches("example.org"));
        assert!(!exact.matches("a.example.org"));
        let sub: DomainPattern = "*.example.org".parse().unwrap();
        assert!(sub.matches("a.example.org"));
        assert!(!sub.matches("example.org"));
        assert!(!sub.matches("badexample.org"));
        assert!("a.*.org".parse::<DomainPattern>().is_err());
        assert!(DomainPattern::Any.matches("anything.example"));
    }

    #[test]
    fn replies_and_modes() {
        let r: SmtpReply = "550 5.7.1 go away".parse().unwrap();
        assert_eq!(r.enhanced.as_deref(), Some("5.7.1"));
        assert_eq!(r.text, "go away");
        assert_eq!(
            r.with_detail("p=reject\r\n").unwrap().line(),
            "550 5.7.1 go away (p=reject  )"
        );
        let r: SmtpReply = "550 go away".parse().unwrap();
        assert_eq!(r.enhanced, None);
        assert!("five fifty".parse::<SmtpReply>().is_err());
        assert_eq!("0660".parse::<FileMode>().unwrap().0, 0o660);
        assert!("0999".parse::<FileMode>().is_err());
        let c = parse("authserv_id = \"mx\"\n[daemons]\nORIGINATING = \"sign\"\n").unwrap();
        assert_eq!(c.mode_for(Some("ORIGINATING")), Mode::Sign);
        assert_eq!(c.mode_for(Some("smtpd")), Mode::Both);
        assert_eq!(c.mode_for(None), Mode::Both);
    }
}
