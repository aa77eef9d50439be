//! What the host learns about one tool call while the plugin runs: the
//! upstream requests it caused (for the audit trail and logs), the first
//! thing the host refused or failed on its behalf (which becomes the call's
//! error, whatever the plugin then says), and where progress goes.

use crate::errors::CodedError;
use std::sync::Mutex;
use tokio::sync::mpsc;
use tokio::time::Instant;

/// One progress report from a plugin.
#[derive(Clone, Debug, PartialEq)]
pub struct Progress {
    pub done: u64,
    pub total: Option<u64>,
    pub message: String,
}

/// One upstream request as the audit trail records it.
#[derive(Clone, Debug, serde::Serialize)]
#[serde(rename_all = "camelCase")]
pub struct RequestRecord {
    pub method: String,
    pub path: String,
    pub status: Option<u16>,
    pub attempts: u32,
    pub request_id: Option<String>,
    pub duration_ms: u64,
}

#[derive(Default)]
struct Findings {
    requests: Vec<RequestRecord>,
    host_error: Option<CodedError>,
    retry_note: Option<String>,
    progress_sent: u64,
    log_lines: u64,
}

/// Whether a plugin's log line is written.
#[derive(Debug, PartialEq, Eq)]
pub enum LogAdmission {
    Write,
    /// The first line over the limit: say that the rest are dropped.
    WriteDropNotice,
    Drop,
}

pub struct CallCtx {
    pub plugin: String,
    pub tool: String,
    pub deadline: Instant,
    /// How this call gets the administrator's approval (none: confirmation
    /// is off, or there is no database in this mode).
    pub approval: Option<std::sync::Arc<crate::pipeline::confirm::Approval>>,
    progress: Option<mpsc::UnboundedSender<Progress>>,
    findings: Mutex<Findings>,
}

/// Progress reports beyond this many in one call are dropped: a plugin must
/// not be able to flood the client.
const MAX_PROGRESS: u64 = 1000;

/// Log lines beyond this many in one call are dropped: a plugin must not be
/// able to fill the disk or bury the host's own lines.
pub const MAX_LOG_LINES: u64 = 1000;

impl CallCtx {
    pub fn new(
        plugin: &str,
        tool: &str,
        deadline: Instant,
        progress: Option<mpsc::UnboundedSender<Progress>>,
    ) -> CallCtx {
        CallCtx {
            plugin: plugin.into(),
            tool: tool.into(),
            deadline,
            approval: None,
            progress,
            findings: Mutex::new(Findings::default()),
        }
    }

    pub fn progress(&self, p: Progress) {
        let mut f = self.findings.lock().unwrap();
        if f.progress_sent >= MAX_PROGRESS {
            return;
        }
        f.progress_sent += 1;
        if let Some(tx) = &self.progress {
            let _ = tx.send(p);
        }
    }

    pub fn admit_log_line(&self) -> LogAdmission {
        let mut f = self.findings.lock().unwrap();
        f.log_lines += 1;
        match f.log_lines {
            n if n <= MAX_LOG_LINES => LogAdmission::Write,
            n if n == MAX_LOG_LINES + 1 => LogAdmission::WriteDropNotice,
            _ => LogAdmission::Drop,
        }
    }

    pub fn record_request(&self, r: RequestRecord) {
        self.findings.lock().unwrap().requests.push(r);
    }

    /// Keeps the first host-side failure: it is the cause, later ones follow.
    pub fn host_error(&self, e: CodedError) {
        let mut f = self.findings.lock().unwrap();
        if f.host_error.is_none() {
            f.host_error = Some(e);
        }
    }

    pub fn retry_note(&self, note: String) {
        self.findings.lock().unwrap().retry_note = Some(note);
    }

    pub fn requests(&self) -> Vec<RequestRecord> {
        self.findings.lock().unwrap().requests.clone()
    }

    pub fn take_host_error(&self) -> Option<CodedError> {
        self.findings.lock().unwrap().host_error.take()
    }

    pub fn take_retry_note(&self) -> Option<String> {
        self.findings.lock().unwrap().retry_note.take()
    }
}
