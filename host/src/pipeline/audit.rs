//! The one builder of a call's audit row. A tool call and a plugin's
//! resource read each end as a [`Ran`]: its result, which plugin ran, the
//! outcome word, the arguments as redacted for the record, and the upstream
//! requests it caused; the row (and its request rows, in the same
//! transaction) is made from that alone.

use crate::caps::call::RequestRecord;
use crate::errors::CodedError;
use crate::store::Database;
use crate::store::audit::CallAudit;
use serde_json::Value;

/// How one call ended, as the audit trail records it.
pub struct Ran<T> {
    pub result: Result<T, CodedError>,
    pub plugin: String,
    /// "ok" | "error" | "confirmation-required" | "declined" | "refused"
    pub outcome: &'static str,
    /// Already redacted: what the row may show.
    pub arguments: Value,
    pub requests: Vec<RequestRecord>,
}

impl<T> Ran<T> {
    /// The audit row of this call of `tool`.
    pub fn row<'a>(&'a self, tool: &'a str, call_id: &'a str, duration_ms: u64) -> CallAudit<'a> {
        CallAudit {
            at: time::OffsetDateTime::now_utc(),
            call_id,
            tool,
            plugin: &self.plugin,
            arguments: &self.arguments,
            outcome: self.outcome,
            error_code: self.result.as_ref().err().map(|e| e.code.as_str()),
            duration_ms,
            requests: &self.requests,
        }
    }

    /// Appends the row, under a fresh call id. The call has happened either
    /// way, so a failure to write is said loudly rather than returned.
    pub fn record(&self, db: &Database, tool: &str, duration_ms: u64) {
        let call_id = uuid::Uuid::new_v4().to_string();
        if let Err(e) = db.audit_call(&self.row(tool, &call_id, duration_ms)) {
            tracing::error!(tool, error = %CodedError::from(e), "could not write the audit row for this call");
        }
    }
}
