//! `m365:plugin/store`: documents and append-only logs in the plugin's own
//! namespace of the host's encrypted database, for a plugin granted `store`.

use super::{PluginState, to_tool_error};
use crate::errors::{CodedError, ErrorCode};
use crate::plugins::runtime::bindings;
use crate::store::Database;
use bindings::m365::plugin::store::{Document as WitDocument, LogEntry as WitLogEntry};
use bindings::m365::plugin::types::ToolError;

fn wit_document(d: crate::store::documents::Document) -> WitDocument {
    WitDocument {
        key: d.key,
        value: d.value,
        version: d.version,
        updated_at: d.updated_at,
        deleted: d.deleted,
    }
}

impl PluginState {
    /// Runs `op` on the plugin's namespace, or refuses: no grant, or no
    /// database (commands that run without one).
    fn with_store<T>(
        &mut self,
        op: impl FnOnce(&Database, &str) -> Result<T, crate::store::StoreError>,
    ) -> wasmtime::Result<Result<T, ToolError>> {
        if let Err(denial) = self.policy.check_store() {
            return Ok(Err(self.refuse(denial)));
        }
        let plugin = self.call.plugin.clone();
        let Some(db) = &self.db else {
            return Ok(Err(to_tool_error(CodedError::new(
                ErrorCode::Store001,
                "No database is open in this mode; run the tool through `m365-admin serve` or `m365-admin call`.",
            ))));
        };
        Ok(op(db, &plugin).map_err(|e| to_tool_error(e.into())))
    }
}

impl bindings::m365::plugin::store::Host for PluginState {
    async fn get(
        &mut self,
        key: String,
    ) -> wasmtime::Result<Result<Option<WitDocument>, ToolError>> {
        self.with_store(|db, ns| Ok(db.doc_get(ns, &key)?.map(wit_document)))
    }

    async fn put(
        &mut self,
        key: String,
        value: String,
        expected_version: Option<u64>,
    ) -> wasmtime::Result<Result<u64, ToolError>> {
        self.with_store(|db, ns| db.doc_put(ns, &key, &value, expected_version))
    }

    async fn delete(
        &mut self,
        key: String,
        expected_version: Option<u64>,
    ) -> wasmtime::Result<Result<bool, ToolError>> {
        self.with_store(|db, ns| db.doc_delete(ns, &key, expected_version))
    }

    async fn list(
        &mut self,
        prefix: String,
        after: Option<String>,
        limit: u32,
    ) -> wasmtime::Result<Result<Vec<WitDocument>, ToolError>> {
        self.with_store(|db, ns| {
            Ok(db
                .doc_list(ns, &prefix, after.as_deref(), limit)?
                .into_iter()
                .map(wit_document)
                .collect())
        })
    }

    async fn history(
        &mut self,
        key: String,
        limit: u32,
    ) -> wasmtime::Result<Result<Vec<WitDocument>, ToolError>> {
        self.with_store(|db, ns| {
            Ok(db
                .doc_history(ns, &key, limit)?
                .into_iter()
                .map(wit_document)
                .collect())
        })
    }

    async fn append(
        &mut self,
        log: String,
        entry: String,
    ) -> wasmtime::Result<Result<u64, ToolError>> {
        self.with_store(|db, ns| db.log_append(ns, &log, &entry))
    }

    async fn read_log(
        &mut self,
        log: String,
        after: Option<u64>,
        limit: u32,
    ) -> wasmtime::Result<Result<Vec<WitLogEntry>, ToolError>> {
        self.with_store(|db, ns| {
            Ok(db
                .log_read(ns, &log, after, limit)?
                .into_iter()
                .map(|e| WitLogEntry {
                    seq: e.seq,
                    entry: e.entry,
                    at: e.at,
                })
                .collect())
        })
    }
}
