//! The bookkeeping around the audit chain's head: a chain alone cannot show
//! that its newest rows were cut off, so its head (row count and last hash) is
//! also kept outside the database, in a file beside it and in the server log,
//! and checked against the chain at start-up and by `audit verify`.

use crate::errors::CodedError;
use crate::store::audit::{self, AuditHead, VerifyReport};
use crate::store::{Database, StoreError};
use serde_json::{Value, json};
use std::sync::Mutex;
use std::time::{Duration, Instant};

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
