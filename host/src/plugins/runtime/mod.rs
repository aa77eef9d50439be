//! Runs plugins: one wasmtime engine, components compiled once and cached on
//! disk (keyed by the component's digest and the engine's compatibility
//! hash), an `InstancePre` per plugin, and a fresh store per call with a
//! memory limit, a CPU budget (epoch ticks spent in wasm) and a wall-clock
//! deadline. A plugin that traps, loops or exhausts memory fails that call
//! with PLUGIN_001; nothing of it survives into the next call.
//!
//! The engine and the compiled-component cache are `engine.rs`; what an
//! instance may call on the host (the WIT imports) is `imports/`; how a
//! plugin is checked before it gets here is `plugins/admission.rs`.

mod engine;
mod imports;

pub mod bindings {
    wasmtime::component::bindgen!({
        world: "plugin",
        path: "../wit",
        imports: { default: async | trappable },
        exports: { default: async },
    });
}

use crate::caps::addin_manifest::ManifestFetcher;
use crate::caps::call::CallCtx;
use crate::caps::gate::Gate;
use crate::caps::upstream::Upstream;
use crate::config::CallLimits;
use crate::errors::{CodedError, ErrorCode};
use crate::store::Database;
use bindings::m365::plugin::host::TenantInfo;
pub use bindings::m365::plugin::types::{PluginInfo, Resource, ResourceContents, ToolError};
use engine::{CompiledCache, TICK};
use imports::{MemoryLimit, PluginState};
use m365_policy::{Mode, Policy};
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;
use wasmtime::component::{HasSelf, Linker, ResourceTable};
use wasmtime::{Engine, Store, Trap, UpdateDeadline};
use wasmtime_wasi::WasiCtx;
use wasmtime_wasi_http::WasiHttpCtx;

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

/// A plugin ready to instantiate, and the policy every instance of it runs
/// under.
pub struct Prepared {
    pre: bindings::PluginPre<PluginState>,
    policy: Arc<Policy>,
}

pub struct Runtime {
    engine: Engine,
    linker: Linker<PluginState>,
    cache: CompiledCache,
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
    pub mode: Mode,
    /// Operator settings plugins may read (`host.setting`).
    pub settings: Vec<(String, String)>,
}

impl Runtime {
    pub fn new(
        cache_dir: PathBuf,
        limits: CallLimits,
        services: Services,
    ) -> wasmtime::Result<Runtime> {
        let engine = engine::engine()?;
        let mut linker = Linker::new(&engine);
        wasmtime_wasi::p2::add_to_linker_async(&mut linker)?;
        wasmtime_wasi_http::p2::add_only_http_to_linker_async(&mut linker)?;
        bindings::Plugin::add_to_linker::<_, HasSelf<_>>(&mut linker, |s| s)?;
        Ok(Runtime {
            engine,
            linker,
            cache: CompiledCache { dir: cache_dir },
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
        let component = self.cache.component(&self.engine, digest, wasm)?;
        let pre = self.linker.instantiate_pre(&component)?;
        Ok(Prepared {
            pre: bindings::PluginPre::new(pre)?,
            policy: Arc::new(policy),
        })
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
            mode: self.services.mode,
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
            policy: prepared.policy.clone(),
            db: self.services.db.clone(),
            manifests: self.services.manifests.clone(),
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
