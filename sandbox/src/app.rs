//! The shared state of one running sandbox, which every face reads: its registration and
//! token key, the tenant store, tuning, faults, the request log and outbox tests read, and the
//! process-level parts of Exchange Online (the add-in catalogue, message-trace throttling).

use std::sync::Mutex;

use serde::Serialize;
use url::Url;

use crate::config::{AppRegistration, RegisteredCert, Tuning};
use crate::faults::{Faults, Reset};
use crate::tenant::Store;
use crate::tenant::addins::Catalogue;
use crate::tenant::trace::{Throttle, TraceRecord, records};

/// One token or Graph request, as `GET /_sandbox/requests` reports it. Never holds the
/// `Authorization` value or a form body.
#[derive(Serialize, Clone, Debug)]
#[serde(rename_all = "camelCase")]
pub(crate) struct RequestRecord {
    pub method: String,
    pub path: String,
    pub query: Option<String>,
    /// The status answered, or that the handler chose before an injected reset
    /// dropped it; 0 when a reset came before the handler.
    pub status: u16,
    pub client_request_id: Option<String>,
    pub has_authorization: bool,
    pub at: String,
    /// For Exchange's `InvokeCommand`: the cmdlet's name.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub cmdlet: Option<String>,
    /// An injected connection reset dropped this request's answer.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reset: Option<Reset>,
}

pub(crate) struct App {
    pub reg: AppRegistration,
    pub cert: Option<RegisteredCert>,
    pub base_url: Url,
    pub tuning: Mutex<Tuning>,
    pub store: Store,
    pub faults: Faults,
    pub requests: Mutex<Vec<RequestRecord>>,
    /// Messages accepted by sendMail, oldest first (`/_sandbox/outbox`).
    pub outbox: Mutex<Vec<serde_json::Value>>,
    /// The add-in manifests `New-App -Url` can download.
    pub addins: Catalogue,
    /// `Get-MessageTraceV2` calls in the last five minutes.
    pub exo_trace_queries: Throttle,
    /// Graph `messageTraces` calls in the last five minutes.
    pub graph_trace_queries: Throttle,
    /// Key for the HS256 signature of issued access tokens; new per process.
    pub token_key: [u8; 32],
}

impl App {
    pub fn new(
        reg: AppRegistration,
        cert: Option<RegisteredCert>,
        base_url: Url,
        tuning: Tuning,
        store: Store,
    ) -> Self {
        let mut token_key = [0u8; 32];
        if openssl::rand::rand_bytes(&mut token_key).is_err() {
            // Fall back to two v4 UUIDs (also from the OS RNG).
            token_key[..16].copy_from_slice(uuid::Uuid::new_v4().as_bytes());
            token_key[16..].copy_from_slice(uuid::Uuid::new_v4().as_bytes());
        }
        App {
            reg,
            cert,
            base_url,
            tuning: Mutex::new(tuning),
            store,
            faults: Faults::default(),
            requests: Mutex::new(Vec::new()),
            outbox: Mutex::new(Vec::new()),
            addins: Catalogue::default(),
            exo_trace_queries: Throttle::default(),
            graph_trace_queries: Throttle::default(),
            token_key,
        }
    }

    pub fn tuning(&self) -> Tuning {
        self.tuning
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .clone()
    }

    pub fn record(&self, record: RequestRecord) {
        self.requests
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .push(record);
    }

    /// `{base}v1.0/`, for `@odata.context` and `@odata.nextLink`.
    pub fn graph_root(&self) -> String {
        format!("{}v1.0/", self.base_url)
    }

    /// The message trace records of the outbox as of `now`, newest first.
    pub fn trace_records(&self, now: time::OffsetDateTime) -> Vec<TraceRecord> {
        let outbox = self
            .outbox
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .clone();
        self.store.read(|t| records(&outbox, t, now))
    }

    /// The URL the add-in catalogue serves `name` at.
    pub fn addin_url(&self, name: &str) -> String {
        crate::tenant::addins::url_of(&self.base_url, name)
    }
}
