//! Runs plugins: one wasmtime engine, components compiled once and cached on
//! disk (keyed by the component's digest and the engine's compatibility
//! hash), an `InstancePre` per plugin, and a fresh store per call with a
//! memory limit, a CPU budget (epoch ticks spent in wasm) and a wall-clock
//! deadline. A plugin that traps, loops or exhausts memory fails that call
//! with PLUGIN_001; nothing of it survives into the next call.

use crate::caps::call::{CallCtx, Progress};
use crate::caps::gate::Gate;
use crate::caps::upstream::Upstream;
use crate::config::CallLimits;
use crate::errors::{CodedError, ErrorCode};
use crate::plugins::manifest::Policy;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;
use wasmtime::component::{Component, HasSelf, Linker, ResourceTable};
use wasmtime::{Engine, ResourceLimiter, Store, Trap, UpdateDeadline};
use wasmtime_wasi::{WasiCtx, WasiCtxView, WasiView};
use wasmtime_wasi_http::{WasiHttpCtx, WasiHttpCtxView, WasiHttpView};

pub mod bindings {
    wasmtime::component::bindgen!({
        world: "plugin",
        path: "../wit",
        imports: { default: async | trappable },
        exports: { default: async },
    });
}

use crate::caps::addin_manifest::ManifestFetcher;
use crate::store::Database;
use bindings::m365::plugin::addins::AddinManifest as WitAddinManifest;
use bindings::m365::plugin::host::{LogLevel, TenantInfo};
use bindings::m365::plugin::store::{Document as WitDocument, LogEntry as WitLogEntry};
pub use bindings::m365::plugin::types::{PluginInfo, Resource, ResourceContents, ToolError};

/// How often the epoch advances; the unit of the CPU budget.
const TICK: Duration = Duration::from_millis(10);

/// Memory bound of one plugin instance; records whether the plugin hit it so
/// the resulting trap can be explained.
struct MemoryLimit {
    max: usize,
    hit: bool,
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
    wasi: WasiCtx,
    http: WasiHttpCtx,
    table: ResourceTable,
    memory: MemoryLimit,
    gate: Gate,
    store: StoreAccess,
    addins: AddinAccess,
    environment: TenantInfo,
    settings: Arc<Vec<(String, String)>>,
    call: Arc<CallCtx>,
}

/// Add-in manifest fetching as one plugin sees it.
pub struct AddinAccess {
    fetcher: Option<ManifestFetcher>,
    granted: bool,
}

impl bindings::m365::plugin::addins::Host for PluginState {
    async fn fetch_manifest(
        &mut self,
        url: String,
    ) -> wasmtime::Result<Result<WitAddinManifest, ToolError>> {
        let plugin = self.call.plugin.clone();
        if !self.addins.granted {
            return Ok(Err(self.refuse_ungranted(format!(
                "Plugin `{plugin}` asked for an add-in manifest without the `addin-manifests` grant; its manifest must say `addin-manifests = true` under [grants]."
            ))));
        }
        let Some(fetcher) = self.addins.fetcher.clone() else {
            return Ok(Err(to_tool_error(CodedError::new(
                ErrorCode::Input001,
                "Add-in manifests cannot be fetched in this mode; run the tool through `m365-admin serve`.",
            ))));
        };
        let started = std::time::Instant::now();
        let result = fetcher.fetch(&url).await;
        self.call.record_request(crate::caps::call::RequestRecord {
            method: "GET".into(),
            path: crate::secret::redact(&url),
            status: None,
            attempts: 1,
            request_id: None,
            duration_ms: started.elapsed().as_millis() as u64,
        });
        Ok(result
            .map(|m| WitAddinManifest {
                format: m.format,
                id: m.id,
                version: m.version,
                display_name: m.display_name,
                provider: m.provider,
                permissions: m.permissions,
                hosts: m.hosts,
                sha256: m.sha256,
                url: m.url,
            })
            .map_err(to_tool_error))
    }
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

/// The store as one plugin sees it: its own namespace, if granted.
pub struct StoreAccess {
    db: Option<Database>,
    granted: bool,
}

impl PluginState {
    /// A capability used without its grant: PLUGIN_001, kept as the call's
    /// cause whatever the plugin makes of it.
    fn refuse_ungranted(&self, message: String) -> ToolError {
        let e = CodedError::new(ErrorCode::Plugin001, message);
        self.call.host_error(e.clone());
        to_tool_error(e)
    }

    /// Runs `op` on the plugin's namespace, or refuses: no grant, or no
    /// database (commands that run without one).
    fn with_store<T>(
        &mut self,
        op: impl FnOnce(&Database, &str) -> Result<T, crate::store::StoreError>,
    ) -> wasmtime::Result<Result<T, ToolError>> {
        let plugin = self.call.plugin.clone();
        if !self.store.granted {
            return Ok(Err(self.refuse_ungranted(format!(
                "Plugin `{plugin}` used the store without the `store` grant; its manifest must say `store = true` under [grants] (and an administrator must approve it)."
            ))));
        }
        let Some(db) = &self.store.db else {
            return Ok(Err(to_tool_error(CodedError::new(
                ErrorCode::Store001,
                "No database is open in this mode; run the tool through `m365-admin serve` or `m365-admin call`.",
            ))));
        };
        Ok(op(db, &plugin).map_err(|e| to_tool_error(e.into())))
    }
}

fn to_tool_error(e: CodedError) -> ToolError {
    ToolError {
        code: e.code.to_string(),
        message: e.message,
        retry_after: e.retry_after,
        details: e.details.map(|d| d.to_string()),
    }
}

fn wit_document(d: crate::store::documents::Document) -> WitDocument {
    WitDocument {
        key: d.key,
        value: d.value,
        version: d.version,
        updated_at: d.updated_at,
        deleted: d.deleted,
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

impl bindings::m365::plugin::host::Host for PluginState {
    async fn progress(
        &mut self,
        done: u64,
        total: Option<u64>,
        message: String,
    ) -> wasmtime::Result<()> {
        let message: String = crate::secret::redact(&message).chars().take(500).collect();
        self.call.progress(Progress {
            done,
            total,
            message,
        });
        Ok(())
    }

    async fn log(&mut self, level: LogLevel, message: String) -> wasmtime::Result<()> {
        use crate::caps::call::{LogAdmission, MAX_LOG_LINES};
        let plugin = &self.call.plugin;
        match self.call.admit_log_line() {
            LogAdmission::Write => {}
            LogAdmission::WriteDropNotice => {
                tracing::warn!(%plugin, tool = %self.call.tool, "more than {MAX_LOG_LINES} log lines in one call; the rest of this call's are dropped");
                return Ok(());
            }
            LogAdmission::Drop => return Ok(()),
        }
        let message: String = crate::secret::redact(&message).chars().take(2000).collect();
        match level {
            LogLevel::Trace => tracing::trace!(%plugin, "{message}"),
            LogLevel::Debug => tracing::debug!(%plugin, "{message}"),
            LogLevel::Info => tracing::info!(%plugin, "{message}"),
            LogLevel::Warn => tracing::warn!(%plugin, "{message}"),
            LogLevel::Error => tracing::error!(%plugin, "{message}"),
        }
        Ok(())
    }

    async fn setting(&mut self, name: String) -> wasmtime::Result<Option<String>> {
        Ok(self
            .settings
            .iter()
            .find(|(k, _)| *k == name)
            .map(|(_, v)| v.clone()))
    }

    async fn tenant(&mut self) -> wasmtime::Result<TenantInfo> {
        Ok(self.environment.clone())
    }

    async fn now(&mut self) -> wasmtime::Result<u64> {
        Ok(std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_millis() as u64)
            .unwrap_or(0))
    }

    async fn confirm(&mut self, plan: String) -> wasmtime::Result<Result<(), ToolError>> {
        let Some(approval) = self.call.approval.clone() else {
            // Confirmation is turned off (ENABLE_OPERATION_CONFIRMATION=false).
            return Ok(Ok(()));
        };
        let plan: String = crate::secret::redact(plan.trim())
            .chars()
            .take(4000)
            .collect();
        match approval
            .obtain(&plan, "the plugin asks for it for these arguments")
            .await
        {
            Ok(()) => Ok(Ok(())),
            Err((e, _)) => {
                self.call.host_error(e.clone());
                Ok(Err(to_tool_error(e)))
            }
        }
    }

    async fn sleep(&mut self, ms: u32) -> wasmtime::Result<()> {
        let until = (tokio::time::Instant::now() + Duration::from_millis(ms.into()))
            .min(self.call.deadline);
        tokio::time::sleep_until(until).await;
        Ok(())
    }
}

/// One export of the plugin to invoke.
enum Op<'a> {
    Describe,
    Call { tool: &'a str, args: &'a str },
    Plan { tool: &'a str, args: &'a str },
    Read(&'a str),
    List,
}

enum Out {
    Info(PluginInfo),
    Text(String),
    Contents(ResourceContents),
    Resources(Vec<Resource>),
}

/// A plugin ready to instantiate.
pub struct Prepared {
    pre: bindings::PluginPre<PluginState>,
    policy: Arc<crate::caps::grants::GraphPolicy>,
    exchange: Arc<Vec<String>>,
    store_granted: bool,
    addins_granted: bool,
}

pub struct Runtime {
    engine: Engine,
    linker: Linker<PluginState>,
    cache_dir: PathBuf,
    limits: CallLimits,
    services: Services,
    environment: TenantInfo,
    settings: Arc<Vec<(String, String)>>,
}

/// What the host lends plugins besides compute: the gated upstream, the
/// store, add-in manifest fetching, and who the tenant is. All absent for
/// commands that only list tools.
#[derive(Clone, Default)]
pub struct Services {
    pub upstream: Option<Arc<Upstream>>,
    pub db: Option<Database>,
    pub manifests: Option<ManifestFetcher>,
    /// Is it the sandbox; the tenant id.
    pub tenant: (bool, String),
    /// Read-only mode: the gate lets only reads through.
    pub read_only: bool,
    /// Operator settings plugins may read (`host.setting`).
    pub settings: Vec<(String, String)>,
}

impl Runtime {
    pub fn new(
        cache_dir: PathBuf,
        limits: CallLimits,
        services: Services,
    ) -> wasmtime::Result<Runtime> {
        let mut config = wasmtime::Config::new();
        config.epoch_interruption(true);
        config.max_wasm_stack(1 << 20);
        let engine = Engine::new(&config)?;
        let ticker = engine.weak();
        std::thread::Builder::new()
            .name("m365-epoch".into())
            .spawn(move || {
                while let Some(engine) = ticker.upgrade() {
                    engine.increment_epoch();
                    drop(engine);
                    std::thread::sleep(TICK);
                }
            })?;
        let mut linker = Linker::new(&engine);
        wasmtime_wasi::p2::add_to_linker_async(&mut linker)?;
        wasmtime_wasi_http::p2::add_only_http_to_linker_async(&mut linker)?;
        bindings::Plugin::add_to_linker::<_, HasSelf<_>>(&mut linker, |s| s)?;
        Ok(Runtime {
            engine,
            linker,
            cache_dir,
            limits,
            environment: TenantInfo {
                sandbox: services.tenant.0,
                tenant_id: services.tenant.1.clone(),
            },
            settings: Arc::new(services.settings.clone()),
            services,
        })
    }

    /// Compiles (or loads from the cache) and links a component.
    pub fn prepare(&self, digest: &str, wasm: &[u8], policy: Policy) -> wasmtime::Result<Prepared> {
        let component = self.component(digest, wasm)?;
        let pre = self.linker.instantiate_pre(&component)?;
        Ok(Prepared {
            pre: bindings::PluginPre::new(pre)?,
            policy: Arc::new(policy.graph),
            exchange: Arc::new(policy.exchange),
            store_granted: policy.store,
            addins_granted: policy.addin_manifests,
        })
    }

    fn component(&self, digest: &str, wasm: &[u8]) -> wasmtime::Result<Component> {
        use std::hash::{Hash, Hasher};
        let mut h = std::collections::hash_map::DefaultHasher::new();
        self.engine.precompile_compatibility_hash().hash(&mut h);
        env!("CARGO_PKG_VERSION").hash(&mut h);
        let path = self
            .cache_dir
            .join(format!("{digest}-{:016x}.cwasm", h.finish()));
        if path.exists() {
            // SAFETY: the file was written by `Component::serialize` of this
            // same engine configuration (the name carries its compatibility
            // hash) into the user's own cache directory.
            match unsafe { Component::deserialize_file(&self.engine, &path) } {
                Ok(c) => return Ok(c),
                Err(e) => {
                    tracing::warn!(path = %path.display(), error = %e, "compiled plugin cache unusable; recompiling")
                }
            }
        }
        let component = Component::new(&self.engine, wasm)?;
        if let Err(e) = write_cache(&path, &component.serialize()?) {
            tracing::warn!(path = %path.display(), error = %e, "could not cache the compiled plugin");
            return Ok(component);
        }
        // Served from the file just written, the code is a mapping the kernel
        // can share and drop, instead of heap that stays resident for the
        // server's life after a compiling start.
        drop(component);
        release_freed_memory();
        // SAFETY: as above; this process has just written the file.
        unsafe { Component::deserialize_file(&self.engine, &path) }
    }

    fn store(&self, prepared: &Prepared, call: Arc<CallCtx>) -> Store<PluginState> {
        // No preopened directories, environment, arguments or sockets: the
        // std-required WASI interfaces are present but grant nothing.
        let mut wasi = WasiCtx::builder();
        wasi.allow_tcp(false)
            .allow_udp(false)
            .allow_ip_name_lookup(false);
        let gate = Gate {
            upstream: self.services.upstream.clone(),
            policy: prepared.policy.clone(),
            exchange: prepared.exchange.clone(),
            read_only: self.services.read_only,
            call: call.clone(),
        };
        let state = PluginState {
            wasi: wasi.build(),
            http: WasiHttpCtx::new(),
            table: ResourceTable::new(),
            memory: MemoryLimit {
                max: self.limits.memory_bytes,
                hit: false,
            },
            gate,
            store: StoreAccess {
                db: self.services.db.clone(),
                granted: prepared.store_granted,
            },
            addins: AddinAccess {
                fetcher: self.services.manifests.clone(),
                granted: prepared.addins_granted,
            },
            environment: self.environment.clone(),
            settings: self.settings.clone(),
            call,
        };
        let mut store = Store::new(&self.engine, state);
        store.limiter(|s| &mut s.memory);
        let budget = (self.limits.cpu.as_millis() / TICK.as_millis()).max(1) as u64;
        let mut spent = 0u64;
        store.set_epoch_deadline(1);
        store.epoch_deadline_callback(move |_| {
            spent += 1;
            if spent > budget {
                Err(Trap::Interrupt.into())
            } else {
                Ok(UpdateDeadline::Yield(1))
            }
        });
        store
    }

    /// Runs `op` against a fresh instance within the call's limits, turning
    /// traps, timeouts and host refusals into coded errors.
    async fn run(
        &self,
        prepared: &Prepared,
        call: Arc<CallCtx>,
        what: &str,
        op: Op<'_>,
    ) -> Result<Out, CodedError> {
        let mut store = self.store(prepared, call.clone());
        let plugin = call.plugin.clone();
        let outcome = tokio::time::timeout(self.limits.timeout, async {
            let instance = prepared.pre.instantiate_async(&mut store).await?;
            let tools = instance.m365_plugin_tools();
            wasmtime::Result::<Result<Out, ToolError>>::Ok(match op {
                Op::Describe => Ok(Out::Info(tools.call_describe(&mut store).await?)),
                Op::Call { tool, args } => tools
                    .call_call(&mut store, tool, args)
                    .await?
                    .map(Out::Text),
                Op::Plan { tool, args } => tools
                    .call_plan(&mut store, tool, args)
                    .await?
                    .map(Out::Text),
                Op::Read(uri) => tools
                    .call_read_resource(&mut store, uri)
                    .await?
                    .map(Out::Contents),
                Op::List => Ok(Out::Resources(tools.call_list_resources(&mut store).await?)),
            })
        })
        .await;
        let hit_memory = store.data().memory.hit;
        let mut plugin_reported = false;
        let result = match outcome {
            Err(_) => Err(CodedError::new(
                ErrorCode::Plugin001,
                format!(
                    "Plugin `{plugin}` did not finish {what} within {} s and was stopped. Try again; if it keeps happening, report it to the plugin's author.",
                    self.limits.timeout.as_secs()
                ),
            )),
            Ok(Err(trap)) => Err(explain_trap(&plugin, what, &trap, hit_memory, &self.limits)),
            Ok(Ok(Err(tool_error))) => {
                plugin_reported = true;
                Err(from_tool_error(&plugin, tool_error))
            }
            Ok(Ok(Ok(v))) => Ok(v),
        };
        // A refusal or failure the host saw on the plugin's behalf is the real
        // cause, whatever the plugin made of it.
        match result {
            Err(mut e) => {
                if let Some(mut host) = call.take_host_error() {
                    // Keep what the plugin said it did (a rollback report,
                    // say) beside the host's cause, not instead of it.
                    if plugin_reported && host.message != e.message {
                        let mut details = match host.details.take() {
                            Some(serde_json::Value::Object(m)) => m,
                            _ => serde_json::Map::new(),
                        };
                        details.insert(
                            "plugin".into(),
                            serde_json::json!({"code": e.code.to_string(), "message": e.message, "details": e.details}),
                        );
                        host.details = Some(serde_json::Value::Object(details));
                    }
                    e = host;
                }
                if let Some(note) = call.take_retry_note() {
                    e.message = format!("{} {note}", e.message);
                }
                Err(e)
            }
            ok => ok,
        }
    }

    pub async fn describe(
        &self,
        prepared: &Prepared,
        name: &str,
    ) -> Result<PluginInfo, CodedError> {
        let call = Arc::new(CallCtx::new(
            name,
            "describe",
            deadline(self.limits.timeout),
            None,
        ));
        match self.run(prepared, call, "describe", Op::Describe).await? {
            Out::Info(i) => Ok(i),
            _ => unreachable!("describe returns plugin info"),
        }
    }

    pub async fn call(
        &self,
        prepared: &Prepared,
        call: Arc<CallCtx>,
        args: &str,
    ) -> Result<String, CodedError> {
        let tool = call.tool.clone();
        match self
            .run(
                prepared,
                call,
                &format!("running `{tool}`"),
                Op::Call { tool: &tool, args },
            )
            .await?
        {
            Out::Text(t) => Ok(t),
            _ => unreachable!("call returns text"),
        }
    }

    /// The plugin's description of what a call would do ("" when it has none).
    pub async fn plan(
        &self,
        prepared: &Prepared,
        call: Arc<CallCtx>,
        args: &str,
    ) -> Result<String, CodedError> {
        let tool = call.tool.clone();
        match self
            .run(
                prepared,
                call,
                &format!("planning `{tool}`"),
                Op::Plan { tool: &tool, args },
            )
            .await?
        {
            Out::Text(t) => Ok(t),
            _ => unreachable!("plan returns text"),
        }
    }

    pub async fn read_resource(
        &self,
        prepared: &Prepared,
        call: Arc<CallCtx>,
        uri: &str,
    ) -> Result<ResourceContents, CodedError> {
        match self
            .run(prepared, call, "reading a resource", Op::Read(uri))
            .await?
        {
            Out::Contents(c) => Ok(c),
            _ => unreachable!("read-resource returns contents"),
        }
    }

    pub async fn list_resources(
        &self,
        prepared: &Prepared,
        call: Arc<CallCtx>,
    ) -> Result<Vec<Resource>, CodedError> {
        match self
            .run(prepared, call, "listing resources", Op::List)
            .await?
        {
            Out::Resources(r) => Ok(r),
            _ => unreachable!("list-resources returns resources"),
        }
    }

    pub fn limits(&self) -> CallLimits {
        self.limits
    }
}

pub fn deadline(timeout: Duration) -> tokio::time::Instant {
    tokio::time::Instant::now() + timeout
}

/// Compiling leaves tens of MB of freed heap that glibc keeps mapped; give it
/// back, or a server whose start compiled its plugins stays that large.
fn release_freed_memory() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    // SAFETY: malloc_trim only returns free pages to the system.
    unsafe {
        libc::malloc_trim(0);
    }
}

fn write_cache(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    if let Some(dir) = path.parent() {
        // The cache holds native code the host will run: owner-only, so
        // another local user cannot plant a file in it.
        std::os::unix::fs::DirBuilderExt::mode(std::fs::DirBuilder::new().recursive(true), 0o700)
            .create(dir)?;
    }
    let tmp = path.with_extension(format!("tmp{}", std::process::id()));
    std::fs::write(&tmp, bytes)?;
    std::fs::rename(&tmp, path)
}

fn explain_trap(
    plugin: &str,
    what: &str,
    trap: &wasmtime::Error,
    hit_memory: bool,
    limits: &CallLimits,
) -> CodedError {
    let reason = if hit_memory {
        format!(
            "it tried to use more than its {} MiB of memory",
            limits.memory_bytes / 1024 / 1024
        )
    } else {
        match trap.downcast_ref::<Trap>() {
            Some(Trap::Interrupt) => format!(
                "it ran longer than its CPU budget of {} ms",
                limits.cpu.as_millis()
            ),
            Some(Trap::StackOverflow) => "it exhausted its stack".to_string(),
            Some(t) => format!("it crashed ({t})"),
            None => format!(
                "it failed ({})",
                crate::secret::redact(&format!("{trap:#}"))
                    .lines()
                    .next()
                    .unwrap_or("")
            ),
        }
    };
    CodedError::new(
        ErrorCode::Plugin001,
        format!(
            "Plugin `{plugin}` was stopped while {what}: {reason}. Other tools are unaffected; report this to the plugin's author."
        ),
    )
}

fn from_tool_error(plugin: &str, e: ToolError) -> CodedError {
    let details = e
        .details
        .as_deref()
        .and_then(|d| serde_json::from_str(d).ok());
    match ErrorCode::parse(&e.code) {
        Some(code) => CodedError {
            code,
            message: crate::secret::redact(&e.message),
            retry_after: e.retry_after,
            details,
        },
        None => CodedError::new(
            ErrorCode::Plugin001,
            format!(
                "Plugin `{plugin}` returned an undocumented error code {:?}: {}",
                e.code,
                crate::secret::redact(&e.message)
            ),
        ),
    }
}
