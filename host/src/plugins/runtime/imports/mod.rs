//! The WIT imports a plugin instance gets, implemented on `PluginState`:
//! `host` (progress, log, settings, tenant, time, confirmation, sleep),
//! `store` (its own namespace of documents and logs, if granted), `addins`
//! (manifests fetched and checked by the host, if granted), and the WASI and
//! wasi:http views, whose outgoing requests go through the capability gate.
//! Everything an instance can touch is a field here; nothing else is linked.

mod addins;
mod host;
mod store;

use super::bindings;
use super::bindings::m365::plugin::host::TenantInfo;
use super::bindings::m365::plugin::types::ToolError;
use crate::caps::addin_manifest::ManifestFetcher;
use crate::caps::call::CallCtx;
use crate::caps::gate::Gate;
use crate::errors::{CodedError, ErrorCode};
use crate::store::Database;
use std::sync::Arc;
use wasmtime::ResourceLimiter;
use wasmtime::component::ResourceTable;
use wasmtime_wasi::{WasiCtx, WasiCtxView, WasiView};
use wasmtime_wasi_http::{WasiHttpCtx, WasiHttpCtxView, WasiHttpView};

/// Memory bound of one plugin instance; records whether the plugin hit it so
/// the resulting trap can be explained.
pub(super) struct MemoryLimit {
    pub(super) max: usize,
    pub(super) hit: bool,
}

impl ResourceLimiter for MemoryLimit {
    fn memory_growing(
        &mut self,
        _current: usize,
        desired: usize,
        _maximum: Option<usize>,
    ) -> wasmtime::Result<bool> {
        if desired > self.max {
            self.hit = true;
            return Ok(false);
        }
        Ok(true)
    }

    fn table_growing(
        &mut self,
        _current: usize,
        desired: usize,
        _maximum: Option<usize>,
    ) -> wasmtime::Result<bool> {
        Ok(desired <= 1_000_000)
    }
}

/// Everything one plugin instance can touch.
pub struct PluginState {
    pub(super) wasi: WasiCtx,
    pub(super) http: WasiHttpCtx,
    pub(super) table: ResourceTable,
    pub(super) memory: MemoryLimit,
    pub(super) gate: Gate,
    pub(super) store: StoreAccess,
    pub(super) addins: AddinAccess,
    pub(super) environment: TenantInfo,
    pub(super) settings: Arc<Vec<(String, String)>>,
    pub(super) call: Arc<CallCtx>,
}

/// Add-in manifest fetching as one plugin sees it.
pub struct AddinAccess {
    pub(super) fetcher: Option<ManifestFetcher>,
    pub(super) granted: bool,
}

/// The store as one plugin sees it: its own namespace, if granted.
pub struct StoreAccess {
    pub(super) db: Option<Database>,
    pub(super) granted: bool,
}

impl WasiView for PluginState {
    fn ctx(&mut self) -> WasiCtxView<'_> {
        WasiCtxView {
            ctx: &mut self.wasi,
            table: &mut self.table,
        }
    }
}

impl WasiHttpView for PluginState {
    fn http(&mut self) -> WasiHttpCtxView<'_> {
        WasiHttpCtxView {
            ctx: &mut self.http,
            table: &mut self.table,
            hooks: &mut self.gate,
        }
    }
}

impl bindings::m365::plugin::types::Host for PluginState {}

impl PluginState {
    /// A capability used without its grant: PLUGIN_001, kept as the call's
    /// cause whatever the plugin makes of it.
    pub(super) fn refuse_ungranted(&self, message: String) -> ToolError {
        let e = CodedError::new(ErrorCode::Plugin001, message);
        self.call.host_error(e.clone());
        to_tool_error(e)
    }
}

pub(super) fn to_tool_error(e: CodedError) -> ToolError {
    ToolError {
        code: e.code.to_string(),
        message: e.message,
        retry_after: e.retry_after,
        details: e.details.map(|d| d.to_string()),
    }
}
