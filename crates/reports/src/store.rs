//! The verdict store: each DMARC evaluation a receiver made, for the aggregate reports it owes
//! (RFC 9990: one report per Policy Domain and period).
//!
//! SQLite (the `rusqlite` crate with SQLite bundled: nothing to install, one file). The schema
//! is created and migrated by [`Store::open`] (table `schema_version`); the database runs in
//! WAL mode with a busy timeout, so several `mailstamp check --record` processes can write to
//! one file at once; [`Store::record`] writes a batch in one transaction.

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
    /// The store name is of a kind this build cannot open.
    #[error("{0}: unsupported store (use a file name or sqlite:PATH)")]
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

fn mode(v: &serde_json::Value) -> Option<String> {
    match v.as_str()? {
        "strict" => Some("s".to_owned()),
        "relaxed" => Some("r".to_owned()),
        other => Some(other.to_owned()),
    }
}

impl Evaluation {
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

/// The schema, one migration per version; `schema_version` holds how many ran.
const MIGRATIONS: &[&str] = &[
    // 1: evaluations and the reports generated from them.
    "CREATE TABLE evaluations (
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
];

/// The schema version this build writes.
pub const SCHEMA_VERSION: i64 = MIGRATIONS.len() as i64;

/// A verdict store.
#[derive(Debug)]
pub struct Store {
    name: String,
    conn: rusqlite::Connection,
}

impl Store {
    /// Opens (creating and migrating) the store `spec`: a file name or `sqlite:PATH`.
    pub fn open(spec: &str) -> Result<Store, StoreError> {
        if spec.contains("://") {
            return Err(StoreError::Unsupported(spec.to_owned()));
        }
        let path = PathBuf::from(spec.strip_prefix("sqlite:").unwrap_or(spec));
        let name = spec.to_owned();
        let err = |source| StoreError::Sqlite {
            store: spec.to_owned(),
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
                store: name,
                found,
                known: SCHEMA_VERSION,
            });
        }
        for (i, sql) in MIGRATIONS
            .iter()
            .enumerate()
            .skip(usize::try_from(found).unwrap_or(0))
        {
            tx.execute_batch(sql).map_err(err)?;
            tx.execute(
                "INSERT INTO schema_version (version) VALUES (?1)",
                [i as i64 + 1],
            )
            .map_err(err)?;
        }
        tx.commit().map_err(err)?;
        Ok(Store { name, conn })
    }

    fn err(&self) -> impl Fn(rusqlite::Error) -> StoreError + '_ {
        |source| StoreError::Sqlite {
            store: self.name.clone(),
            source,
        }
    }

    /// The schema version of the open store.
    pub fn schema_version(&self) -> Result<i64, StoreError> {
        self.conn
            .query_row("SELECT max(version) FROM schema_version", [], |r| r.get(0))
            .map_err(self.err())
    }

    /// Writes a batch of evaluations in one transaction.
    pub fn record(&mut self, batch: &[Evaluation]) -> Result<(), StoreError> {
        let name = self.name.clone();
        let err = |source| StoreError::Sqlite {
            store: name.clone(),
            source,
        };
        let tx = self
            .conn
            .transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)
            .map_err(err)?;
        {
            let mut stmt = tx
                .prepare_cached(
                    "INSERT INTO evaluations (time, source_ip, header_from, envelope_from,
                     policy_domain, dmarc_result, disposition, dkim_aligned, spf_aligned,
                     spf_domain, spf_scope, spf_result, dkim, reason, policy_p, policy_sp,
                     policy_np, policy_adkim, policy_aspf, policy_testing, policy_record)
                     VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15,
                     ?16, ?17, ?18, ?19, ?20, ?21)",
                )
                .map_err(err)?;
            for e in batch {
                let dkim = serde_json::to_string(&e.dkim).unwrap_or_else(|_| "[]".to_owned());
                stmt.execute(rusqlite::params![
                    e.time,
                    e.source_ip,
                    e.header_from,
                    e.envelope_from,
                    e.policy_domain,
                    e.dmarc_result,
                    e.disposition,
                    e.dkim_aligned,
                    e.spf_aligned,
                    e.spf_domain,
                    e.spf_scope,
                    e.spf_result,
                    dkim,
                    e.reason,
                    e.policy_p,
                    e.policy_sp,
                    e.policy_np,
                    e.policy_adkim,
                    e.policy_aspf,
                    e.policy_testing,
                    e.policy_record,
                ])
                .map_err(err)?;
            }
        }
        tx.commit().map_err(err)
    }

    /// How many evaluations are stored.
    pub fn count(&self) -> Result<u64, StoreError> {
        self.conn
            .query_row("SELECT count(*) FROM evaluations", [], |r| r.get(0))
            .map_err(self.err())
    }

    /// The evaluations of a Policy Domain with `begin <= time < end`, oldest first.
    pub fn evaluations(
        &self,
        policy_domain: &str,
        begin: i64,
        end: i64,
    ) -> Result<Vec<Evaluation>, StoreError> {
        let mut stmt = self
            .conn
            .prepare_cached(
                "SELECT time, source_ip, header_from, envelope_from, policy_domain,
                 dmarc_result, disposition, dkim_aligned, spf_aligned, spf_domain, spf_scope,
                 spf_result, dkim, reason, policy_p, policy_sp, policy_np, policy_adkim,
                 policy_aspf, policy_testing, policy_record
                 FROM evaluations WHERE policy_domain = ?1 AND time >= ?2 AND time < ?3
                 ORDER BY time, id",
            )
            .map_err(self.err())?;
        let rows = stmt
            .query_map(rusqlite::params![policy_domain, begin, end], |r| {
                let dkim: String = r.get(12)?;
                Ok(Evaluation {
                    time: r.get(0)?,
                    source_ip: r.get(1)?,
                    header_from: r.get(2)?,
                    envelope_from: r.get(3)?,
                    policy_domain: r.get(4)?,
                    dmarc_result: r.get(5)?,
                    disposition: r.get(6)?,
                    dkim_aligned: r.get(7)?,
                    spf_aligned: r.get(8)?,
                    spf_domain: r.get(9)?,
                    spf_scope: r.get(10)?,
                    spf_result: r.get(11)?,
                    dkim: serde_json::from_str(&dkim).unwrap_or_default(),
                    reason: r.get(13)?,
                    policy_p: r.get(14)?,
                    policy_sp: r.get(15)?,
                    policy_np: r.get(16)?,
                    policy_adkim: r.get(17)?,
                    policy_aspf: r.get(18)?,
                    policy_testing: r.get(19)?,
                    policy_record: r.get(20)?,
                })
            })
            .map_err(self.err())?;
        rows.collect::<Result<Vec<_>, _>>().map_err(self.err())
    }

    /// Every Policy Domain with evaluations, and its earliest evaluation time.
    pub fn domains(&self) -> Result<Vec<(String, i64)>, StoreError> {
        let mut stmt = self
            .conn
            .prepare_cached(
                "SELECT policy_domain, min(time) FROM evaluations GROUP BY policy_domain ORDER BY policy_domain",
            )
            .map_err(self.err())?;
        let rows = stmt
            .query_map([], |r| Ok((r.get(0)?, r.get(1)?)))
            .map_err(self.err())?;
        rows.collect::<Result<Vec<_>, _>>().map_err(self.err())
    }

    /// The end of the last period reported for a Policy Domain.
    pub fn last_reported_end(&self, policy_domain: &str) -> Result<Option<i64>, StoreError> {
        self.conn
            .query_row(
                "SELECT max(period_end) FROM reports_generated WHERE policy_domain = ?1",
                [policy_domain],
                |r| r.get(0),
            )
            .map_err(self.err())
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
        let n = self
            .conn
            .execute(
                "INSERT OR IGNORE INTO reports_generated
                 (policy_domain, period_begin, period_end, report_id, generated_at, messages)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
                rusqlite::params![policy_domain, begin, end, report_id, now, messages as i64],
            )
            .map_err(self.err())?;
        Ok(n == 1)
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
