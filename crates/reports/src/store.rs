//! The verdict store: each DMARC evaluation a receiver made, for the aggregate reports it owes
//! (RFC 9990: one report per Policy Domain and period).
//!
//! Two backends behind one [`Store`]: SQLite (the `rusqlite` crate with SQLite bundled: nothing
//! to install, one file) and PostgreSQL (`postgres://...`, through `tokio-postgres`, for a fleet
//! of MX hosts writing to one place). Both share the code that builds and reads rows, the
//! tables and the migrations: the schema is created and migrated by [`Store::open`] (table
//! `schema_version`), migrations serialised between concurrent openers. SQLite runs in WAL
//! mode with a busy timeout, so several `mailstamp check --record` processes can write to one
//! file at once; [`Store::record`] writes a batch in one transaction (PostgreSQL: one
//! multi-row `INSERT`).

use mailstamp::dmarc::{Mechanism, Policy};
use serde::{Deserialize, Serialize};
use std::path::PathBuf;
use std::time::Duration;

/// Why the store could not be used.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum StoreError {
    /// The database failed (cannot open, locked for longer than the busy timeout, disk full...).
    #[error("{store}: {source}")]
    Sqlite {
        /// The store.
        store: String,
        /// SQLite's error.
        source: rusqlite::Error,
    },
    /// PostgreSQL failed (cannot connect, bad store URL, server error...).
    #[error("{store}: {source}")]
    Postgres {
        /// The store (without its password).
        store: String,
        /// The driver's error.
        source: tokio_postgres::Error,
    },
    /// The runtime that drives the PostgreSQL connection could not start.
    #[error("{store}: cannot start the I/O runtime: {source}")]
    Runtime {
        /// The store.
        store: String,
        /// The error.
        source: std::io::Error,
    },
    /// The store name is of a kind this build cannot open.
    #[error("{0}: unsupported store (use a file name, sqlite:PATH or postgres://...)")]
    Unsupported(String),
    /// The database was written by a newer mailstamp.
    #[error("{store}: schema version {found} is newer than this mailstamp's ({known})")]
    TooNew {
        /// The store.
        store: String,
        /// The version found.
        found: i64,
        /// The newest version this build knows.
        known: i64,
    },
}

/// One DKIM result of an evaluation.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DkimResult {
    /// The signature's `d=`.
    pub domain: String,
    /// The signature's `s=`.
    pub selector: String,
    /// The RFC 8601 result.
    pub result: String,
}

/// One DMARC evaluation: what an aggregate report record is made of.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Evaluation {
    /// When the message was checked (Unix seconds).
    pub time: i64,
    /// The SMTP client's IP address.
    pub source_ip: String,
    /// The RFC5322.From domain.
    pub header_from: String,
    /// The RFC5321.MailFrom domain, when known.
    pub envelope_from: Option<String>,
    /// The DMARC Policy Domain (where the record was found).
    pub policy_domain: String,
    /// The DMARC result (`pass`, `fail`, `temperror`, ...).
    pub dmarc_result: String,
    /// The disposition (`none`, `quarantine`, `reject`).
    pub disposition: String,
    /// Whether an aligned DKIM signature passed.
    pub dkim_aligned: bool,
    /// Whether SPF passed for an aligned domain.
    pub spf_aligned: bool,
    /// The SPF domain (MAIL FROM, or HELO for a null reverse-path).
    pub spf_domain: Option<String>,
    /// The SPF scope: `mfrom` or `helo`.
    pub spf_scope: Option<String>,
    /// The SPF result.
    pub spf_result: Option<String>,
    /// Every DKIM result.
    pub dkim: Vec<DkimResult>,
    /// Why the policy applied (or not): the verdict's problem, the policy tag used, testing.
    pub reason: Option<String>,
    /// The published record's `p`.
    pub policy_p: Option<String>,
    /// The published record's `sp`.
    pub policy_sp: Option<String>,
    /// The published record's `np`.
    pub policy_np: Option<String>,
    /// `adkim`: `r` or `s`.
    pub policy_adkim: Option<String>,
    /// `aspf`: `r` or `s`.
    pub policy_aspf: Option<String>,
    /// `t`: `y` or `n`.
    pub policy_testing: Option<String>,
    /// The record as published.
    pub policy_record: Option<String>,
}

fn s(v: &serde_json::Value) -> Option<String> {
    v.as_str().filter(|s| !s.is_empty()).map(str::to_owned)
}

/// The JSON token of a value that serialises as a string (an RFC result, a policy, a
/// mechanism), as the JSON of a report holds it; `None` for an empty one.
fn token<T: Serialize>(v: T) -> Option<String> {
    match serde_json::to_value(v) {
        Ok(serde_json::Value::String(t)) if !t.is_empty() => Some(t),
        _ => None,
    }
}

fn mode(v: &serde_json::Value) -> Option<String> {
    match v.as_str()? {
        "strict" => Some("s".to_owned()),
        "relaxed" => Some("r".to_owned()),
        other => Some(other.to_owned()),
    }
}

impl Evaluation {
    /// The evaluation of a pipeline report (what `mailstamp check` and the milter produce):
    /// the same as [`Evaluation::from_check_json`] of the report's JSON, read from the report's
    /// fields instead of a JSON document (many times cheaper: the DMARC discovery walk, the
    /// DKIM and SPF details, ARC and the Authentication-Results field are never serialised).
    /// `None` as for [`Evaluation::from_check_json`].
    pub fn from_report(report: &mailstamp::pipeline::Report) -> Option<Evaluation> {
        let d = &report.dmarc;
        let policy_domain = d.policy_domain()?.as_str();
        let envelope = report.envelope.as_ref()?;
        let source_ip = envelope.client_ip.to_string();
        if policy_domain.is_empty() || source_ip.is_empty() {
            return None;
        }
        let aligned = |mech: Mechanism| {
            d.alignment
                .iter()
                .any(|a| a.mechanism == mech && a.authenticated && a.aligned == Some(true))
        };
        let mut reason = Vec::new();
        if let Some(problem) = &d.problem {
            let v = serde_json::to_value(problem).unwrap_or_default();
            if let Some(p) = s(&v).or_else(|| v.as_object().map(|_| v.to_string())) {
                reason.push(p);
            }
        }
        if let Some(tag) = d.policy_tag.and_then(token) {
            reason.push(format!("policy from {tag}"));
        }
        if d.testing {
            reason.push("testing (t=y)".to_owned());
        }
        let overridden = report.dmarc_override.as_ref();
        if let Some(o) = overridden
            && let Some(why) = token(o.reason)
        {
            reason.push(format!(
                "local policy override: {why} (sealer {}, i={})",
                o.sealer, o.instance
            ));
        }
        let spf = &report.spf;
        let record = d.record();
        let effective = record.and_then(|r| r.effective.as_ref());
        let policy =
            |p: Option<Policy>, e: Option<Policy>| p.and_then(token).or_else(|| e.and_then(token));
        let header_from = match d
            .author_domain()
            .map(|n| n.as_str())
            .filter(|n| !n.is_empty())
        {
            Some(a) => a.to_owned(),
            // Rare: no Author Domain; the JSON's `from.domains[0]`.
            None => s(&serde_json::to_value(&report.from).unwrap_or_default()["domains"][0])
                .unwrap_or_default(),
        };
        Some(Evaluation {
            time: i64::try_from(report.now).unwrap_or(0),
            source_ip,
            header_from,
            envelope_from: envelope
                .mail_from
                .as_deref()
                .filter(|m| !m.is_empty())
                .map(|m| {
                    m.rsplit('@')
                        .next()
                        .unwrap_or(m)
                        .trim_end_matches('>')
                        .to_ascii_lowercase()
                }),
            policy_domain: policy_domain.to_owned(),
            dmarc_result: token(d.result).unwrap_or_else(|| "none".to_owned()),
            disposition: overridden
                .and_then(|o| token(o.applied))
                .or_else(|| token(d.disposition))
                .unwrap_or_else(|| "none".to_owned()),
            dkim_aligned: aligned(Mechanism::Dkim),
            spf_aligned: aligned(Mechanism::Spf),
            spf_domain: spf.domain().filter(|d| !d.is_empty()).map(str::to_owned),
            spf_scope: token(spf.identity)
                .map(|i| if i == "helo" { i } else { "mfrom".to_owned() }),
            spf_result: token(spf.result),
            dkim: report
                .dkim
                .iter()
                .filter_map(|c| {
                    Some(DkimResult {
                        domain: c.domain().filter(|d| !d.is_empty())?.to_owned(),
                        selector: c.selector().unwrap_or_default().to_owned(),
                        result: token(c.verdict.result).unwrap_or_else(|| "none".to_owned()),
                    })
                })
                .collect(),
            reason: (!reason.is_empty()).then(|| reason.join("; ")),
            policy_p: policy(record.and_then(|r| r.policy), effective.map(|e| e.domain)),
            policy_sp: policy(
                record.and_then(|r| r.subdomain_policy),
                effective.map(|e| e.subdomain),
            ),
            policy_np: policy(
                record.and_then(|r| r.nonexistent_policy),
                effective.map(|e| e.nonexistent),
            ),
            policy_adkim: record.and_then(|r| mode(&serde_json::to_value(r.dkim_alignment).ok()?)),
            policy_aspf: record.and_then(|r| mode(&serde_json::to_value(r.spf_alignment).ok()?)),
            policy_testing: record.map(|r| if r.testing { "y" } else { "n" }.to_owned()),
            policy_record: record.map(|r| r.text.clone()).filter(|t| !t.is_empty()),
        })
    }

    /// The evaluation in the JSON of a `mailstamp check` report (the keys `now`, `envelope`,
    /// `spf`, `dkim`, `dmarc`, `dmarc_override` documented by `mailstamp check --help`). `None` when there is
    /// nothing to report: no DMARC Policy Domain (no record found), or no client IP.
    pub fn from_check_json(report: &serde_json::Value) -> Option<Evaluation> {
        let dmarc = &report["dmarc"];
        let policy_domain = s(&dmarc["policy_domain"])?;
        let source_ip = s(&report["envelope"]["client_ip"])?;
        let alignment = dmarc["alignment"].as_array().cloned().unwrap_or_default();
        let aligned = |mech: &str| {
            alignment.iter().any(|a| {
                a["mechanism"] == mech && a["authenticated"] == true && a["aligned"] == true
            })
        };
        let record = &dmarc["record"];
        let effective = &record["effective"];
        let mut reason = Vec::new();
        if let Some(p) = s(&dmarc["problem"]).or_else(|| {
            dmarc["problem"]
                .as_object()
                .map(|_| dmarc["problem"].to_string())
        }) {
            reason.push(p);
        }
        if let Some(tag) = s(&dmarc["policy_tag"]) {
            reason.push(format!("policy from {tag}"));
        }
        if dmarc["testing"] == true {
            reason.push("testing (t=y)".to_owned());
        }
        // A local-policy override (`dmarc_override`, e.g. a trusted ARC sealer, RFC 8617
        // §7.2.1): the disposition applied is the override's, and the reason says why.
        let overridden = &report["dmarc_override"];
        if let Some(why) = s(&overridden["reason"]) {
            reason.push(format!(
                "local policy override: {why} (sealer {}, i={})",
                s(&overridden["sealer"]).unwrap_or_default(),
                overridden["instance"]
            ));
        }
        let spf = &report["spf"];
        Some(Evaluation {
            time: report["now"].as_i64().unwrap_or(0),
            source_ip,
            header_from: s(&dmarc["author_domain"])
                .or_else(|| s(&report["from"]["domains"][0]))
                .unwrap_or_default(),
            envelope_from: s(&report["envelope"]["mail_from"]).map(|m| {
                m.rsplit('@')
                    .next()
                    .unwrap_or(&m)
                    .trim_end_matches('>')
                    .to_ascii_lowercase()
            }),
            policy_domain,
            dmarc_result: s(&dmarc["result"]).unwrap_or_else(|| "none".to_owned()),
            disposition: s(&overridden["applied"])
                .or_else(|| s(&dmarc["disposition"]))
                .unwrap_or_else(|| "none".to_owned()),
            dkim_aligned: aligned("dkim"),
            spf_aligned: aligned("spf"),
            spf_domain: s(&spf["domain"]),
            spf_scope: s(&spf["identity"])
                .map(|i| if i == "helo" { i } else { "mfrom".to_owned() }),
            spf_result: s(&spf["result"]),
            dkim: report["dkim"]
                .as_array()
                .map(|a| {
                    a.iter()
                        .filter_map(|d| {
                            Some(DkimResult {
                                domain: s(&d["domain"])?,
                                selector: s(&d["selector"]).unwrap_or_default(),
                                result: s(&d["result"]).unwrap_or_else(|| "none".to_owned()),
                            })
                        })
                        .collect()
                })
                .unwrap_or_default(),
            reason: (!reason.is_empty()).then(|| reason.join("; ")),
            policy_p: s(&record["policy"]).or_else(|| s(&effective["domain"])),
            policy_sp: s(&record["subdomain_policy"]).or_else(|| s(&effective["subdomain"])),
            policy_np: s(&record["nonexistent_policy"]).or_else(|| s(&effective["nonexistent"])),
            policy_adkim: mode(&record["dkim_alignment"]),
            policy_aspf: mode(&record["spf_alignment"]),
            policy_testing: record["testing"]
                .as_bool()
                .map(|t| if t { "y" } else { "n" }.to_owned()),
            policy_record: s(&record["text"]),
        })
    }
}

/// The schema, one migration per version, in each backend's dialect (the same tables, columns
/// and version numbers); `schema_version` holds how many ran.
struct Migration {
    sqlite: &'static str,
    postgres: &'static str,
}

const MIGRATIONS: &[Migration] = &[
    // 1: evaluations and the reports generated from them.
    Migration {
        sqlite: "CREATE TABLE evaluations (
        id INTEGER PRIMARY KEY,
        time INTEGER NOT NULL,
        source_ip TEXT NOT NULL,
        header_from TEXT NOT NULL,
        envelope_from TEXT,
        policy_domain TEXT NOT NULL,
        dmarc_result TEXT NOT NULL,
        disposition TEXT NOT NULL,
        dkim_aligned INTEGER NOT NULL,
        spf_aligned INTEGER NOT NULL,
        spf_domain TEXT,
        spf_scope TEXT,
        spf_result TEXT,
        dkim TEXT NOT NULL,
        reason TEXT,
        policy_p TEXT, policy_sp TEXT, policy_np TEXT,
        policy_adkim TEXT, policy_aspf TEXT, policy_testing TEXT,
        policy_record TEXT
    );
    CREATE INDEX evaluations_domain_time ON evaluations (policy_domain, time);
    CREATE TABLE reports_generated (
        policy_domain TEXT NOT NULL,
        period_begin INTEGER NOT NULL,
        period_end INTEGER NOT NULL,
        report_id TEXT NOT NULL UNIQUE,
        generated_at INTEGER NOT NULL,
        messages INTEGER NOT NULL,
        PRIMARY KEY (policy_domain, period_begin)
    );",
        postgres: "CREATE TABLE evaluations (
        id BIGINT GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY,
        time BIGINT NOT NULL,
        source_ip TEXT NOT NULL,
        header_from TEXT NOT NULL,
        envelope_from TEXT,
        policy_domain TEXT NOT NULL,
        dmarc_result TEXT NOT NULL,
        disposition TEXT NOT NULL,
        dkim_aligned BOOLEAN NOT NULL,
        spf_aligned BOOLEAN NOT NULL,
        spf_domain TEXT,
        spf_scope TEXT,
        spf_result TEXT,
        dkim TEXT NOT NULL,
        reason TEXT,
        policy_p TEXT, policy_sp TEXT, policy_np TEXT,
        policy_adkim TEXT, policy_aspf TEXT, policy_testing TEXT,
        policy_record TEXT
    );
    CREATE INDEX evaluations_domain_time ON evaluations (policy_domain, time);
    CREATE TABLE reports_generated (
        policy_domain TEXT NOT NULL,
        period_begin BIGINT NOT NULL,
        period_end BIGINT NOT NULL,
        report_id TEXT NOT NULL UNIQUE,
        generated_at BIGINT NOT NULL,
        messages BIGINT NOT NULL,
        PRIMARY KEY (policy_domain, period_begin)
    );",
    },
];

/// The schema version this build writes.
pub const SCHEMA_VERSION: i64 = MIGRATIONS.len() as i64;

/// The columns of `evaluations` a row is written and read with, in order (both backends).
const COLUMNS: &str = "time, source_ip, header_from, envelope_from, policy_domain, \
    dmarc_result, disposition, dkim_aligned, spf_aligned, spf_domain, spf_scope, spf_result, \
    dkim, reason, policy_p, policy_sp, policy_np, policy_adkim, policy_aspf, policy_testing, \
    policy_record";

/// How many columns [`COLUMNS`] names.
const NCOLUMNS: usize = 21;

/// One column value of a row, independent of the backend.
#[derive(Debug)]
enum Value<'a> {
    Int(i64),
    Bool(bool),
    Text(&'a str),
    OptText(Option<&'a str>),
    Owned(String),
}

/// The row of one evaluation, in [`COLUMNS`] order: the one place rows are built.
fn row(e: &Evaluation) -> [Value<'_>; NCOLUMNS] {
    let dkim = serde_json::to_string(&e.dkim).unwrap_or_else(|_| "[]".to_owned());
    [
        Value::Int(e.time),
        Value::Text(&e.source_ip),
        Value::Text(&e.header_from),
        Value::OptText(e.envelope_from.as_deref()),
        Value::Text(&e.policy_domain),
        Value::Text(&e.dmarc_result),
        Value::Text(&e.disposition),
        Value::Bool(e.dkim_aligned),
        Value::Bool(e.spf_aligned),
        Value::OptText(e.spf_domain.as_deref()),
        Value::OptText(e.spf_scope.as_deref()),
        Value::OptText(e.spf_result.as_deref()),
        Value::Owned(dkim),
        Value::OptText(e.reason.as_deref()),
        Value::OptText(e.policy_p.as_deref()),
        Value::OptText(e.policy_sp.as_deref()),
        Value::OptText(e.policy_np.as_deref()),
        Value::OptText(e.policy_adkim.as_deref()),
        Value::OptText(e.policy_aspf.as_deref()),
        Value::OptText(e.policy_testing.as_deref()),
        Value::OptText(e.policy_record.as_deref()),
    ]
}

/// Reads the columns of a row of either backend.
trait Columns {
    type Error;
    fn int(&self, i: usize) -> Result<i64, Self::Error>;
    fn boolean(&self, i: usize) -> Result<bool, Self::Error>;
    fn text(&self, i: usize) -> Result<String, Self::Error>;
    fn opt_text(&self, i: usize) -> Result<Option<String>, Self::Error>;
}

impl Columns for rusqlite::Row<'_> {
    type Error = rusqlite::Error;
    fn int(&self, i: usize) -> Result<i64, Self::Error> {
        self.get(i)
    }
    fn boolean(&self, i: usize) -> Result<bool, Self::Error> {
        self.get(i)
    }
    fn text(&self, i: usize) -> Result<String, Self::Error> {
        self.get(i)
    }
    fn opt_text(&self, i: usize) -> Result<Option<String>, Self::Error> {
        self.get(i)
    }
}

impl Columns for tokio_postgres::Row {
    type Error = tokio_postgres::Error;
    fn int(&self, i: usize) -> Result<i64, Self::Error> {
        self.try_get(i)
    }
    fn boolean(&self, i: usize) -> Result<bool, Self::Error> {
        self.try_get(i)
    }
    fn text(&self, i: usize) -> Result<String, Self::Error> {
        self.try_get(i)
    }
    fn opt_text(&self, i: usize) -> Result<Option<String>, Self::Error> {
        self.try_get(i)
    }
}

/// The evaluation of a row read in [`COLUMNS`] order: the one place rows are read.
fn from_row<R: Columns>(r: &R) -> Result<Evaluation, R::Error> {
    let dkim = r.text(12)?;
    Ok(Evaluation {
        time: r.int(0)?,
        source_ip: r.text(1)?,
        header_from: r.text(2)?,
        envelope_from: r.opt_text(3)?,
        policy_domain: r.text(4)?,
        dmarc_result: r.text(5)?,
        disposition: r.text(6)?,
        dkim_aligned: r.boolean(7)?,
        spf_aligned: r.boolean(8)?,
        spf_domain: r.opt_text(9)?,
        spf_scope: r.opt_text(10)?,
        spf_result: r.opt_text(11)?,
        dkim: serde_json::from_str(&dkim).unwrap_or_default(),
        reason: r.opt_text(13)?,
        policy_p: r.opt_text(14)?,
        policy_sp: r.opt_text(15)?,
        policy_np: r.opt_text(16)?,
        policy_adkim: r.opt_text(17)?,
        policy_aspf: r.opt_text(18)?,
        policy_testing: r.opt_text(19)?,
        policy_record: r.opt_text(20)?,
    })
}

/// The statements both backends run, with `?N` placeholders (rewritten to `$N` for
/// PostgreSQL).
const SELECT_EVALUATIONS_WHERE: &str =
    "FROM evaluations WHERE policy_domain = ?1 AND time >= ?2 AND time < ?3 ORDER BY time, id";
const SELECT_DOMAINS: &str = "SELECT policy_domain, min(time) FROM evaluations \
    GROUP BY policy_domain ORDER BY policy_domain";
const SELECT_LAST_END: &str =
    "SELECT max(period_end) FROM reports_generated WHERE policy_domain = ?1";
const SELECT_REPORTED: &str = "SELECT EXISTS (SELECT 1 FROM reports_generated \
    WHERE policy_domain = ?1 AND period_begin = ?2)";
const INSERT_REPORTED: &str = "INSERT INTO reports_generated \
    (policy_domain, period_begin, period_end, report_id, generated_at, messages) \
    VALUES (?1, ?2, ?3, ?4, ?5, ?6) ON CONFLICT DO NOTHING";

/// `?N` placeholders as PostgreSQL's `$N`.
fn pg(sql: &str) -> String {
    sql.replace('?', "$")
}

/// The store name without a password (`postgres://user:secret@host/db` → `postgres://user@host/db`),
/// as errors and logs show it.
pub fn redact(spec: &str) -> String {
    if let Some((scheme, rest)) = spec.split_once("://")
        && let Some((userinfo, host)) = rest.split_once('@')
        && let Some((user, _)) = userinfo.split_once(':')
    {
        return format!("{scheme}://{user}@{host}");
    }
    spec.to_owned()
}

/// A verdict store: SQLite (a file) or PostgreSQL (`postgres://...`), one interface.
#[derive(Debug)]
pub struct Store {
    name: String,
    backend: Backend,
}

/// The two backends; every method of [`Store`] matches on it once.
#[derive(Debug)]
enum Backend {
    Sqlite(rusqlite::Connection),
    Postgres(Postgres),
}

/// A PostgreSQL connection driven on its own current-thread tokio runtime, so the store keeps
/// the synchronous interface of the SQLite one.
struct Postgres {
    runtime: tokio::runtime::Runtime,
    client: tokio_postgres::Client,
}

impl std::fmt::Debug for Postgres {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Postgres")
    }
}

/// The advisory lock class (first key) that serialises the reporting of one Policy Domain's
/// periods between concurrent `report generate` runs; the second key is the domain's hash.
const REPORT_LOCK: i32 = 0x6d73_7270; // "msrp"

/// How long connecting to PostgreSQL may take.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(10);

/// The advisory lock that serialises migrations of concurrent openers.
const MIGRATION_LOCK: i64 = 0x6d61_696c_7374_6d70; // "mailstmp"

impl Postgres {
    /// Runs a future on the store's runtime; on a thread of its own when the caller is inside
    /// another tokio runtime (which may not block).
    fn run<F>(runtime: &tokio::runtime::Runtime, f: F) -> F::Output
    where
        F: std::future::Future + Send,
        F::Output: Send,
    {
        if tokio::runtime::Handle::try_current().is_ok() {
            std::thread::scope(|s| {
                s.spawn(|| runtime.block_on(f))
                    .join()
                    .unwrap_or_else(|p| std::panic::resume_unwind(p))
            })
        } else {
            runtime.block_on(f)
        }
    }

    fn open(spec: &str, name: &str) -> Result<Postgres, StoreError> {
        let err = |source| StoreError::Postgres {
            store: name.to_owned(),
            source,
        };
        let mut config: tokio_postgres::Config =
            spec.parse().map_err(|source| StoreError::Postgres {
                store: name.to_owned(),
                source,
            })?;
        if config.get_connect_timeout().is_none() {
            config.connect_timeout(CONNECT_TIMEOUT);
        }
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .map_err(|source| StoreError::Runtime {
                store: name.to_owned(),
                source,
            })?;
        let (mut client, connection) =
            Self::run(&runtime, config.connect(tokio_postgres::NoTls)).map_err(err)?;
        runtime.spawn(connection);
        let found = Self::run(&runtime, async {
            let tx = client.transaction().await?;
            tx.execute("SELECT pg_advisory_xact_lock($1)", &[&MIGRATION_LOCK])
                .await?;
            tx.batch_execute("CREATE TABLE IF NOT EXISTS schema_version (version BIGINT NOT NULL)")
                .await?;
            let found: Option<i64> = tx
                .query_one("SELECT max(version) FROM schema_version", &[])
                .await?
                .try_get(0)?;
            let found = found.unwrap_or(0);
            if found <= SCHEMA_VERSION {
                for (i, m) in MIGRATIONS
                    .iter()
                    .enumerate()
                    .skip(usize::try_from(found).unwrap_or(0))
                {
                    tx.batch_execute(m.postgres).await?;
                    tx.execute(
                        "INSERT INTO schema_version (version) VALUES ($1)",
                        &[&(i as i64 + 1)],
                    )
                    .await?;
                }
            }
            tx.commit().await?;
            Ok(found)
        })
        .map_err(err)?;
        if found > SCHEMA_VERSION {
            return Err(StoreError::TooNew {
                store: name.to_owned(),
                found,
                known: SCHEMA_VERSION,
            });
        }
        Ok(Postgres { runtime, client })
    }
}

fn open_sqlite(spec: &str, name: &str) -> Result<rusqlite::Connection, StoreError> {
    let path = PathBuf::from(spec.strip_prefix("sqlite:").unwrap_or(spec));
    let err = |source| StoreError::Sqlite {
        store: name.to_owned(),
        source,
    };
    let mut conn = rusqlite::Connection::open(&path).map_err(err)?;
    conn.busy_timeout(Duration::from_secs(30)).map_err(err)?;
    conn.pragma_update(None, "journal_mode", "WAL")
        .map_err(err)?;
    conn.pragma_update(None, "synchronous", "NORMAL")
        .map_err(err)?;
    let tx = conn
        .transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)
        .map_err(err)?;
    tx.execute_batch("CREATE TABLE IF NOT EXISTS schema_version (version INTEGER NOT NULL)")
        .map_err(err)?;
    let found: Option<i64> = tx
        .query_row("SELECT max(version) FROM schema_version", [], |r| r.get(0))
        .map_err(err)?;
    let found = found.unwrap_or(0);
    if found > SCHEMA_VERSION {
        return Err(StoreError::TooNew {
            store: name.to_owned(),
            found,
            known: SCHEMA_VERSION,
        });
    }
    for (i, m) in MIGRATIONS
        .iter()
        .enumerate()
        .skip(usize::try_from(found).unwrap_or(0))
    {
        tx.execute_batch(m.sqlite).map_err(err)?;
        tx.execute(
            "INSERT INTO schema_version (version) VALUES (?1)",
            [i as i64 + 1],
        )
        .map_err(err)?;
    }
    tx.commit().map_err(err)?;
    Ok(conn)
}

impl rusqlite::ToSql for Value<'_> {
    fn to_sql(&self) -> rusqlite::Result<rusqlite::types::ToSqlOutput<'_>> {
        match self {
            Value::Int(i) => i.to_sql(),
            Value::Bool(b) => b.to_sql(),
            Value::Text(t) => t.to_sql(),
            Value::OptText(t) => t.to_sql(),
            Value::Owned(t) => t.to_sql(),
        }
    }
}

/// A value as PostgreSQL parameter.
fn pg_param<'a>(v: &'a Value<'a>) -> &'a (dyn tokio_postgres::types::ToSql + Sync) {
    match v {
        Value::Int(i) => i,
        Value::Bool(b) => b,
        Value::Text(t) => t,
        Value::OptText(t) => t,
        Value::Owned(t) => t,
    }
}

impl Store {
    /// Opens (creating and migrating) the store `spec`: a file name or `sqlite:PATH` for
    /// SQLite, `postgres://[user[:password]@]host[:port]/database` (or `postgresql://`) for
    /// PostgreSQL. Any number of processes may open one store at once: migrations are
    /// serialised (SQLite: an immediate transaction; PostgreSQL: an advisory lock).
    pub fn open(spec: &str) -> Result<Store, StoreError> {
        let name = redact(spec);
        let backend = if spec.starts_with("postgres://") || spec.starts_with("postgresql://") {
            Backend::Postgres(Postgres::open(spec, &name)?)
        } else if spec.contains("://") {
            return Err(StoreError::Unsupported(name));
        } else {
            Backend::Sqlite(open_sqlite(spec, &name)?)
        };
        Ok(Store { name, backend })
    }

    fn sqlite_err(&self) -> impl Fn(rusqlite::Error) -> StoreError + '_ {
        |source| StoreError::Sqlite {
            store: self.name.clone(),
            source,
        }
    }

    fn pg_err(&self) -> impl Fn(tokio_postgres::Error) -> StoreError + '_ {
        |source| StoreError::Postgres {
            store: self.name.clone(),
            source,
        }
    }

    /// The schema version of the open store.
    pub fn schema_version(&self) -> Result<i64, StoreError> {
        const SQL: &str = "SELECT max(version) FROM schema_version";
        match &self.backend {
            Backend::Sqlite(conn) => conn
                .query_row(SQL, [], |r| r.get(0))
                .map_err(self.sqlite_err()),
            Backend::Postgres(p) => Postgres::run(&p.runtime, async {
                p.client.query_one(SQL, &[]).await?.try_get(0)
            })
            .map_err(self.pg_err()),
        }
    }

    /// Writes a batch of evaluations in one transaction (PostgreSQL: one multi-row `INSERT`).
    pub fn record(&mut self, batch: &[Evaluation]) -> Result<(), StoreError> {
        if batch.is_empty() {
            return Ok(());
        }
        let rows: Vec<_> = batch.iter().map(row).collect();
        let name = self.name.clone();
        match &mut self.backend {
            Backend::Sqlite(conn) => {
                let err = |source| StoreError::Sqlite {
                    store: name.clone(),
                    source,
                };
                let tx = conn
                    .transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)
                    .map_err(err)?;
                {
                    let placeholders = (1..=NCOLUMNS)
                        .map(|i| format!("?{i}"))
                        .collect::<Vec<_>>()
                        .join(", ");
                    let mut stmt = tx
                        .prepare_cached(&format!(
                            "INSERT INTO evaluations ({COLUMNS}) VALUES ({placeholders})"
                        ))
                        .map_err(err)?;
                    for r in &rows {
                        stmt.execute(rusqlite::params_from_iter(r.iter()))
                            .map_err(err)?;
                    }
                }
                tx.commit().map_err(err)
            }
            Backend::Postgres(p) => {
                // At most 65535 parameters per statement: chunks of 1000 rows.
                Postgres::run(&p.runtime, async {
                    let tx = p.client.transaction().await?;
                    for chunk in rows.chunks(1000) {
                        let mut sql = format!("INSERT INTO evaluations ({COLUMNS}) VALUES ");
                        let mut params = Vec::with_capacity(chunk.len() * NCOLUMNS);
                        for (n, r) in chunk.iter().enumerate() {
                            if n > 0 {
                                sql.push_str(", ");
                            }
                            sql.push('(');
                            for (i, v) in r.iter().enumerate() {
                                if i > 0 {
                                    sql.push_str(", ");
                                }
                                sql.push_str(&format!("${}", n * NCOLUMNS + i + 1));
                                params.push(pg_param(v));
                            }
                            sql.push(')');
                        }
                        tx.execute(&sql, &params).await?;
                    }
                    tx.commit().await
                })
                .map_err(|source| StoreError::Postgres {
                    store: name.clone(),
                    source,
                })
            }
        }
    }

    /// How many evaluations are stored.
    pub fn count(&self) -> Result<u64, StoreError> {
        const SQL: &str = "SELECT count(*) FROM evaluations";
        match &self.backend {
            Backend::Sqlite(conn) => conn
                .query_row(SQL, [], |r| r.get(0))
                .map_err(self.sqlite_err()),
            Backend::Postgres(p) => Postgres::run(&p.runtime, async {
                let n: i64 = p.client.query_one(SQL, &[]).await?.try_get(0)?;
                Ok(u64::try_from(n).unwrap_or(0))
            })
            .map_err(self.pg_err()),
        }
    }

    /// The evaluations of a Policy Domain with `begin <= time < end`, oldest first.
    pub fn evaluations(
        &self,
        policy_domain: &str,
        begin: i64,
        end: i64,
    ) -> Result<Vec<Evaluation>, StoreError> {
        let sql = format!("SELECT {COLUMNS} {SELECT_EVALUATIONS_WHERE}");
        match &self.backend {
            Backend::Sqlite(conn) => {
                let mut stmt = conn.prepare_cached(&sql).map_err(self.sqlite_err())?;
                let rows = stmt
                    .query_map(rusqlite::params![policy_domain, begin, end], |r| {
                        from_row(r)
                    })
                    .map_err(self.sqlite_err())?;
                rows.collect::<Result<Vec<_>, _>>()
                    .map_err(self.sqlite_err())
            }
            Backend::Postgres(p) => Postgres::run(&p.runtime, async {
                let rows = p
                    .client
                    .query(&pg(&sql), &[&policy_domain, &begin, &end])
                    .await?;
                rows.iter().map(from_row).collect::<Result<Vec<_>, _>>()
            })
            .map_err(self.pg_err()),
        }
    }

    /// Every Policy Domain with evaluations, and its earliest evaluation time.
    pub fn domains(&self) -> Result<Vec<(String, i64)>, StoreError> {
        match &self.backend {
            Backend::Sqlite(conn) => {
                let mut stmt = conn
                    .prepare_cached(SELECT_DOMAINS)
                    .map_err(self.sqlite_err())?;
                let rows = stmt
                    .query_map([], |r| Ok((r.get(0)?, r.get(1)?)))
                    .map_err(self.sqlite_err())?;
                rows.collect::<Result<Vec<_>, _>>()
                    .map_err(self.sqlite_err())
            }
            Backend::Postgres(p) => Postgres::run(&p.runtime, async {
                let rows = p.client.query(SELECT_DOMAINS, &[]).await?;
                rows.iter()
                    .map(|r| Ok((r.try_get(0)?, r.try_get(1)?)))
                    .collect::<Result<Vec<_>, _>>()
            })
            .map_err(self.pg_err()),
        }
    }

    /// The end of the last period reported for a Policy Domain.
    pub fn last_reported_end(&self, policy_domain: &str) -> Result<Option<i64>, StoreError> {
        match &self.backend {
            Backend::Sqlite(conn) => conn
                .query_row(SELECT_LAST_END, [policy_domain], |r| r.get(0))
                .map_err(self.sqlite_err()),
            Backend::Postgres(p) => Postgres::run(&p.runtime, async {
                p.client
                    .query_one(&pg(SELECT_LAST_END), &[&policy_domain])
                    .await?
                    .try_get(0)
            })
            .map_err(self.pg_err()),
        }
    }

    /// Writes a period's report with `write` and records the period, in that order and in one
    /// transaction, so that a period is never reported twice nor skipped:
    ///
    /// * the transaction takes the store's write lock first (SQLite: an immediate transaction;
    ///   PostgreSQL: a transaction-scoped advisory lock per Policy Domain), then looks whether
    ///   the period was reported already: if so `write` is not called and the answer is
    ///   `Ok(Ok(false))`;
    /// * `write` runs while the lock is held; when it fails nothing is recorded
    ///   (`Ok(Err(e))`) and a later run writes the report again;
    /// * only after `write` succeeded is the period inserted and the transaction committed
    ///   (`Ok(Ok(true))`).
    ///
    /// A crash between `write` and the commit leaves the period unrecorded: the next run
    /// writes the same report again (same file name and Report-ID), so `write` should replace
    /// its output atomically (see [`crate::generate::write_atomically`]).
    #[allow(clippy::too_many_arguments)]
    pub fn report_period<E, W>(
        &mut self,
        policy_domain: &str,
        begin: i64,
        end: i64,
        report_id: &str,
        now: i64,
        messages: u64,
        write: W,
    ) -> Result<Result<bool, E>, StoreError>
    where
        W: FnOnce() -> Result<(), E> + Send,
        E: Send,
    {
        let messages = i64::try_from(messages).unwrap_or(i64::MAX);
        let name = self.name.clone();
        match &mut self.backend {
            Backend::Sqlite(conn) => {
                let err = |source| StoreError::Sqlite {
                    store: name.clone(),
                    source,
                };
                let tx = conn
                    .transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)
                    .map_err(err)?;
                let done: bool = tx
                    .query_row(
                        SELECT_REPORTED,
                        rusqlite::params![policy_domain, begin],
                        |r| r.get(0),
                    )
                    .map_err(err)?;
                if done {
                    return Ok(Ok(false));
                }
                if let Err(e) = write() {
                    return Ok(Err(e));
                }
                let n = tx
                    .execute(
                        INSERT_REPORTED,
                        rusqlite::params![policy_domain, begin, end, report_id, now, messages],
                    )
                    .map_err(err)?;
                tx.commit().map_err(err)?;
                Ok(Ok(n == 1))
            }
            Backend::Postgres(p) => Postgres::run(&p.runtime, async {
                let tx = p.client.transaction().await?;
                tx.execute(
                    "SELECT pg_advisory_xact_lock($1, hashtext($2))",
                    &[&REPORT_LOCK, &policy_domain],
                )
                .await?;
                let done: bool = tx
                    .query_one(&pg(SELECT_REPORTED), &[&policy_domain, &begin])
                    .await?
                    .try_get(0)?;
                if done {
                    return Ok(Ok(false));
                }
                if let Err(e) = write() {
                    return Ok(Err(e));
                }
                let n = tx
                    .execute(
                        &pg(INSERT_REPORTED),
                        &[&policy_domain, &begin, &end, &report_id, &now, &messages],
                    )
                    .await?;
                tx.commit().await?;
                Ok(Ok(n == 1))
            })
            .map_err(|source| StoreError::Postgres {
                store: name.clone(),
                source,
            }),
        }
    }

    /// Records that a period was reported. Returns `false` (and records nothing) when that
    /// period of that domain was reported already: a period is never reported twice.
    pub fn mark_reported(
        &mut self,
        policy_domain: &str,
        begin: i64,
        end: i64,
        report_id: &str,
        now: i64,
        messages: u64,
    ) -> Result<bool, StoreError> {
        let messages = i64::try_from(messages).unwrap_or(i64::MAX);
        match &self.backend {
            Backend::Sqlite(conn) => conn
                .execute(
                    INSERT_REPORTED,
                    rusqlite::params![policy_domain, begin, end, report_id, now, messages],
                )
                .map(|n| n == 1)
                .map_err(self.sqlite_err()),
            Backend::Postgres(p) => Postgres::run(&p.runtime, async {
                p.client
                    .execute(
                        &pg(INSERT_REPORTED),
                        &[&policy_domain, &begin, &end, &report_id, &now, &messages],
                    )
                    .await
            })
            .map(|n| n == 1)
            .map_err(self.pg_err()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn passwords_stay_out_of_store_names() {
        assert_eq!(
            redact("postgres://dmarc:secret@db.example:5432/verdicts"),
            "postgres://dmarc@db.example:5432/verdicts"
        );
        assert_eq!(
            redact("postgres://dmarc@db.example/verdicts"),
            "postgres://dmarc@db.example/verdicts"
        );
        assert_eq!(redact("verdicts.db"), "verdicts.db");
    }

    #[test]
    fn placeholders_are_rewritten_for_postgres() {
        assert_eq!(
            pg(SELECT_LAST_END),
            "SELECT max(period_end) FROM reports_generated WHERE policy_domain = $1"
        );
    }

    #[test]
    fn other_urls_are_unsupported() {
        assert!(matches!(
            Store::open("mysql://x@127.0.0.1/db"),
            Err(StoreError::Unsupported(_))
        ));
    }
}

#[cfg(test)]
mod override_tests {
    use super::Evaluation;
    use serde_json::json;

    #[test]
    fn a_dmarc_override_is_recorded_as_the_applied_disposition_with_its_reason() {
        let mut report = json!({
            "now": 1_768_469_400,
            "envelope": {"client_ip": "203.0.113.9", "mail_from": "b@lists.example.net"},
            "spf": {"result": "none", "identity": "mailfrom", "domain": "lists.example.net"},
            "dkim": [],
            "dmarc": {
                "result": "fail",
                "disposition": "reject",
                "policy_domain": "example.org",
                "author_domain": "example.org",
            },
            "dmarc_override": null,
        });
        let e = Evaluation::from_check_json(&report).unwrap();
        assert_eq!(e.disposition, "reject");
        report["dmarc_override"] = json!({
            "reason": "arc",
            "requested": "reject",
            "applied": "none",
            "sealer": "example.org",
            "instance": 1,
            "upstream": "dmarc",
        });
        let e = Evaluation::from_check_json(&report).unwrap();
        assert_eq!(e.dmarc_result, "fail");
        assert_eq!(e.disposition, "none");
        let reason = e.reason.unwrap_or_default();
        assert!(
            reason.contains("local policy override: arc (sealer example.org, i=1)"),
            "{reason}"
        );
    }
}
