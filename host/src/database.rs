//! Which database and key the configuration points at, and the bookkeeping
//! around the audit chain's head: a chain alone cannot show that its newest
//! rows were cut off, so its head (row count and last hash) is also kept
//! outside the database, in a file beside it and in the server log, and
//! checked against the chain at start-up and by `audit verify`.

use crate::config::Config;
use crate::errors::{CodedError, ErrorCode};
use crate::store::audit::{self, AuditHead, VerifyReport};
use crate::store::key::{self, DbKey};
use crate::store::{Database, StoreError};
use serde_json::{Value, json};
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// The key the configuration gives: DB_ENCRYPTION_KEY, DB_ENCRYPTION_KEY_FILE,
/// or, for the sandbox only, a key generated once into its data directory.
pub fn resolve_key(config: &Config) -> Result<DbKey, CodedError> {
    if let Some(k) = &config.db_key {
        return Ok(key::parse_key(k.expose()));
    }
    if let Some(path) = &config.db_key_file {
        return Ok(key::read_key_file(path)?);
    }
    if config.sandbox {
        return Ok(key::load_or_generate(&config.sandbox_dir().join("db.key"))?);
    }
    Err(CodedError::new(
        ErrorCode::Store001,
        format!(
            "No database key: set DB_ENCRYPTION_KEY (64 hex digits, e.g. from `openssl rand -hex 32`, or a passphrase) or DB_ENCRYPTION_KEY_FILE (a file only its owner can read) for the database at {}. Keep the key somewhere safe: without it the database cannot be opened.",
            config.database_path.display()
        ),
    ))
}

/// Opens (or, when there is no file yet, creates) the configured database.
pub fn open(config: &Config) -> Result<(Database, DbKey), CodedError> {
    let key = resolve_key(config)?;
    let db = Database::open(&config.database_path, &key)?;
    Ok((db, key))
}

/// The audit chain's state as health reports it, re-verified at most every
/// 30 seconds.
pub struct ChainWatch {
    last: Mutex<Option<(Instant, Value)>>,
}

impl Default for ChainWatch {
    fn default() -> Self {
        ChainWatch {
            last: Mutex::new(None),
        }
    }
}

const RECHECK: Duration = Duration::from_secs(30);

impl ChainWatch {
    pub fn status(&self, db: &Database) -> Value {
        if let Some((at, v)) = &*self.last.lock().unwrap()
            && at.elapsed() < RECHECK
        {
            return v.clone();
        }
        let v = match verify(db) {
            Ok(report) => report_json(&report),
            Err(e) => json!({"status": "error", "error": CodedError::from(e).message}),
        };
        *self.last.lock().unwrap() = Some((Instant::now(), v.clone()));
        v
    }
}

/// Verifies the chain against the newest head kept outside the database.
pub fn verify(db: &Database) -> Result<VerifyReport, StoreError> {
    let known = audit::read_head_file(db.path());
    db.audit_verify(known.as_ref())
}

pub fn report_json(r: &VerifyReport) -> Value {
    json!({
        "status": if r.ok { "verified" } else { "broken" },
        "rows": r.rows,
        "firstBroken": r.first_broken,
        "checkedAt": now_rfc3339(),
    })
}

fn now_rfc3339() -> String {
    time::OffsetDateTime::now_utc()
        .format(&time::format_description::well_known::Rfc3339)
        .unwrap_or_default()
}

/// At start and stop: logs the head and, when the chain verifies, records it
/// beside the database. A broken chain keeps the old head file, which is the
/// evidence.
pub fn record_head(db: &Database, moment: &str) {
    match verify(db) {
        Ok(report) if report.ok => match db.audit_head() {
            Ok(head) => {
                log_head(moment, &head);
                if let Err(e) = audit::write_head_file(db.path(), &head) {
                    tracing::warn!(error = %e, "could not write the audit head file");
                }
            }
            Err(e) => {
                tracing::error!(error = %CodedError::from(e), "could not read the audit head")
            }
        },
        Ok(report) => tracing::error!(
            at = moment,
            broken = ?report.first_broken,
            "the audit trail does not verify; run `m365-admin audit verify` for details"
        ),
        Err(e) => tracing::error!(error = %CodedError::from(e), "could not verify the audit trail"),
    }
}

fn log_head(moment: &str, head: &AuditHead) {
    tracing::info!(
        at = moment,
        rows = head.rows,
        last_id = head.last_id,
        last_hash = %head.last_hash,
        "audit head"
    );
}

/// While `serve` runs, `<database>.serving` holds its process id, so that
/// `db restore` can refuse to pull the file from under a running server.
pub fn serving_mark(db_path: &std::path::Path) -> std::path::PathBuf {
    let mut name = db_path.as_os_str().to_owned();
    name.push(".serving");
    std::path::PathBuf::from(name)
}

pub fn mark_serving(db: &Database) {
    if let Err(e) = std::fs::write(serving_mark(db.path()), std::process::id().to_string()) {
        tracing::warn!(error = %e, "could not write the serving mark beside the database");
    }
}

pub fn unmark_serving(db: &Database) {
    let _ = std::fs::remove_file(serving_mark(db.path()));
}

/// The process id of a server still using the database, if any. A mark left
/// by a killed server is ignored when the system can tell (Linux's /proc).
pub fn running_server(db_path: &std::path::Path) -> Option<u32> {
    let pid: u32 = std::fs::read_to_string(serving_mark(db_path))
        .ok()?
        .trim()
        .parse()
        .ok()?;
    let proc = std::path::Path::new("/proc");
    if proc.exists() && !proc.join(pid.to_string()).exists() {
        return None;
    }
    Some(pid)
}
