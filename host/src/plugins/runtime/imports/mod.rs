//! The WIT imports a plugin instance gets, implemented on `PluginState`:
//! `host` (progress, log, settings, tenant, time, confirmation, sleep),
//! `store` (its own namespace of documents and logs, if its policy grants
//! it), `addins` (manifests fetched and checked by the host, likewise), and
//! the WASI and wasi:http views, whose outgoing requests go through the
//! capability gate.
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
use crate::errors::CodedError;
use crate::store::Database;
use m365_policy::{Denial, Policy};
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
    /// What it was granted: the gate judges requests by it, the store and
    /// add-in imports ask it first.
    pub(super) policy: Arc<Policy>,
    /// The database its `store` namespace is in, if this command has one.
    pub(super) db: Option<Database>,
    /// Add-in manifest fetching, if this command has a tenant.
    pub(super) manifests: Option<ManifestFetcher>,
    pub(super) environment: TenantInfo,
    pub(super) settings: Arc<Vec<(String, String)>>,
    pub(super) call: Arc<CallCtx>,
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
    /// A host import the policy refused: the denial's code and sentence,
    /// kept as the call's cause whatever the plugin makes of it.
    pub(super) fn refuse(&self, denial: Denial) -> ToolError {
        let e = CodedError::new(denial.code(), denial.sentence(&self.call.plugin));
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
