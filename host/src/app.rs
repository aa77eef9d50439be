//! The running host: configuration, the sandbox tenant when asked for, the
//! credential and upstream, the plugin runtime and registry. The MCP server
//! and the CLI's `call` both go through `App::call_tool`, so a tool runs the
//! same way whoever asks.

use crate::auth::{Auth, AuthConfig};
use crate::caps::call::{CallCtx, Progress};
use crate::caps::ratelimit::RateLimiter;
use crate::caps::upstream::{Upstream, UpstreamRequest};
use crate::config::{Config, Credentials};
use crate::confirm::{self, Elicitor};
use crate::errors::{CodedError, ErrorCode};
use crate::plugins::registry::Registry;
use crate::plugins::runtime::{Resource, Runtime, deadline};
use crate::secret::Secret;
use crate::store::Database;
use crate::store::audit::CallAudit;
use crate::store::key::DbKey;
use serde_json::{Value, json};
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::sync::mpsc;

/// Default identity of the sandbox tenant and its app registration.
const SANDBOX_TENANT: &str = "5d1a3f6e-8c2b-4e7a-9f10-365a0d000001";
const SANDBOX_CLIENT: &str = "0c9e2b7a-41f3-4d58-b6a2-365a0d000002";

/// Which tenant and identity calls reach; shown in health.
#[derive(Clone, Debug, serde::Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Tenant {
    pub tenant_id: String,
    pub client_id: String,
    pub mode: &'static str,
}

#[derive(Clone, Debug, Default, serde::Serialize)]
#[serde(rename_all = "camelCase")]
struct Connectivity {
    graph_api_connected: bool,
    last_check: Option<String>,
    last_error: Option<String>,
    /// The tenant's default domain, as Graph reports it.
    #[serde(skip)]
    default_domain: Option<String>,
}

pub struct App {
    pub config: Config,
    pub runtime: Runtime,
    registry: std::sync::RwLock<Arc<Registry>>,
    /// What the plugin directory and approvals looked like at the last load.
    plugin_stamp: Mutex<String>,
    pub tenant: Option<Tenant>,
    upstream: Option<Arc<Upstream>>,
    sandbox: Option<m365_sandbox::Sandbox>,
    connectivity: Mutex<Connectivity>,
    pub db: Option<Database>,
    db_key: Option<DbKey>,
    /// Which tools this server offers.
    pub selection: crate::selection::Selection,
    /// The newest scheduled backup, for health.
    pub last_backup: crate::backups::LastBackup,
    /// Results too long to return whole, kept for this session (newest last).
    kept_results: Mutex<std::collections::VecDeque<(String, String)>>,
    /// Whether the live tenant's domain was looked up, and announced on
    /// stderr, yet.
    announced: std::sync::atomic::AtomicBool,
    chain: crate::database::ChainWatch,
}

/// How one tool call ended, for the audit row.
struct Ran {
    result: Result<Value, CodedError>,
    plugin: String,
    outcome: &'static str,
    arguments: Value,
    requests: Vec<crate::caps::call::RequestRecord>,
}

impl App {
    /// Starts what `config` asks for. `connect` is false for commands that
    /// only read the plugins (`tools`): they need no credentials.
    pub async fn start(config: Config, connect: bool) -> Result<App, CodedError> {
        let mut sandbox = None;
        let mut upstream = None;
        let mut tenant = None;
        let mut manifests = None;
        let mut sandbox_domain = None;
        if connect && !config.sandbox {
            // Missing credentials are the first thing to tell a new user.
            live_auth(&config)?;
        }
        let (db, db_key) = if connect {
            let (db, key) = crate::database::open(&config)?;
            (Some(db), Some(key))
        } else {
            (None, None)
        };
        if connect {
            let (auth_config, graph_base, sb) = if config.sandbox {
                start_sandbox(&config).await?
            } else {
                live_auth(&config)?
            };
            sandbox = sb;
            tenant = Some(Tenant {
                tenant_id: auth_config.tenant_id.clone(),
                client_id: auth_config.client_id.clone(),
                mode: if config.sandbox { "sandbox" } else { "live" },
            });
            if config.sandbox {
                sandbox_domain = sandbox_default_domain(&config.sandbox_dir());
            }
            let client = auth_config.http.clone();
            manifests = Some(crate::caps::addin_manifest::ManifestFetcher {
                client: client.clone(),
                only_authority: sandbox.as_ref().map(|sb: &m365_sandbox::Sandbox| {
                    let u = sb.base_url();
                    format!(
                        "{}:{}",
                        u.host_str().unwrap_or(""),
                        u.port_or_known_default().unwrap_or(443)
                    )
                }),
            });
            let auth = Arc::new(Auth::new(auth_config)?);
            let limiter = RateLimiter::new(
                config
                    .rate_limit_enabled
                    .then_some(config.max_requests_per_minute),
            );
            let exchange_base = if config.sandbox {
                graph_base.clone()
            } else {
                url::Url::parse(&format!(
                    "{}/",
                    config.exchange_endpoint.trim_end_matches('/')
                ))
                .map_err(|e| {
                    CodedError::new(
                        ErrorCode::Input001,
                        format!("M365_EXCHANGE_ENDPOINT is not a URL ({e})."),
                    )
                })?
            };
            let tenant_id = tenant
                .as_ref()
                .map(|t| t.tenant_id.clone())
                .unwrap_or_default();
            upstream = Some(Arc::new(Upstream::new(
                client,
                graph_base,
                exchange_base,
                tenant_id,
                auth,
                limiter,
                config.retry_base,
            )));
        }
        let runtime = Runtime::new(
            config.cache_dir.join("compiled"),
            config.limits,
            crate::plugins::runtime::Services {
                upstream: upstream.clone(),
                db: db.clone(),
                manifests,
                read_only: config.read_only,
                settings: config
                    .mail_signoff
                    .iter()
                    .map(|v| ("mail-signoff".to_string(), v.clone()))
                    .collect(),
                tenant: (
                    config.sandbox,
                    tenant
                        .as_ref()
                        .map(|t| t.tenant_id.clone())
                        .unwrap_or_default(),
                ),
            },
        )
        .map_err(|e| {
            CodedError::new(
                ErrorCode::Plugin001,
                format!("The plugin runtime could not start: {e}"),
            )
        })?;
        // `tools` runs without a tenant, but reads approvals when it can.
        let approvals = match &db {
            Some(db) => Some(db.clone()),
            None => crate::database::open(&config).ok().map(|(db, _)| db),
        };
        let plugin_stamp = plugin_stamp(&config.plugin_dir, approvals.as_ref());
        let registry = Registry::load(&runtime, &config.plugin_dir, approvals.as_ref()).await;
        let selection = crate::selection::Selection::new(
            config.read_only,
            config.tools.as_deref(),
            config.plugins.as_deref(),
        );
        Ok(App {
            config,
            runtime,
            registry: std::sync::RwLock::new(Arc::new(registry)),
            plugin_stamp: Mutex::new(plugin_stamp),
            tenant,
            upstream,
            sandbox,
            connectivity: Mutex::new(Connectivity {
                default_domain: sandbox_domain,
                ..Default::default()
            }),
            db,
            db_key,
            chain: Default::default(),
            selection,
            kept_results: Default::default(),
            last_backup: Default::default(),
            announced: Default::default(),
        })
    }

    /// The plugins as now loaded. A call holds on to the registry it started
    /// with, so a plugin swapped meanwhile finishes on its old version.
    pub fn registry(&self) -> Arc<Registry> {
        self.registry
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .clone()
    }

    /// Loads the plugins again if the plugin directory or the approvals
    /// changed since the last load; true if the tools or resources changed.
    pub async fn reload_plugins_if_changed(&self) -> bool {
        let stamp = plugin_stamp(&self.config.plugin_dir, self.db.as_ref());
        if *self.plugin_stamp.lock().unwrap() == stamp {
            return false;
        }
        let fresh = Registry::load(&self.runtime, &self.config.plugin_dir, self.db.as_ref()).await;
        *self.plugin_stamp.lock().unwrap() = stamp;
        let before = self.registry();
        let changed = summary(&before) != summary(&fresh);
        *self.registry.write().unwrap_or_else(|e| e.into_inner()) = Arc::new(fresh);
        if changed {
            let now = self.registry();
            tracing::info!(
                plugins = now.plugins.len(),
                tools = now.tools.len(),
                not_loaded = now.problems.len(),
                "plugins reloaded"
            );
        }
        changed
    }

    /// The application permissions the app's tokens carry, for Graph and for
    /// Exchange (read from the tokens' `roles` claims).
    pub async fn granted_roles(&self) -> Result<(Vec<String>, Vec<String>), CodedError> {
        let upstream = self.upstream.as_ref().ok_or_else(|| {
            CodedError::new(ErrorCode::Auth001, "No tenant connection in this mode.")
        })?;
        let graph = upstream.auth().token(crate::auth::GRAPH_SCOPE).await?;
        let exchange = upstream
            .auth()
            .token(crate::auth::EXCHANGE_SCOPE)
            .await
            .map(|t| crate::permissions::token_roles(t.expose()))
            .unwrap_or_default();
        Ok((crate::permissions::token_roles(graph.expose()), exchange))
    }

    /// Keeps a long result readable as `m365://results/{id}`; the 20 newest
    /// are kept.
    pub fn keep_result(&self, tool: &str, text: &str) -> String {
        let id = format!(
            "{tool}-{}",
            &uuid::Uuid::new_v4().simple().to_string()[..12]
        );
        let mut kept = self.kept_results.lock().unwrap();
        kept.push_back((id.clone(), text.to_string()));
        while kept.len() > 20 {
            kept.pop_front();
        }
        format!("m365://results/{id}")
    }

    /// Where a call runs: tenant, default domain, sandbox or live, the app,
    /// read-only or not. Every tool result carries it. The first call to a
    /// live tenant also says it once on stderr.
    pub async fn envelope(&self) -> Value {
        let Some(t) = &self.tenant else {
            return Value::Null;
        };
        let live = t.mode == "live";
        let first = live
            && !self
                .announced
                .swap(true, std::sync::atomic::Ordering::SeqCst);
        if first {
            self.check_graph().await;
        }
        let domain = self.connectivity.lock().unwrap().default_domain.clone();
        let envelope = json!({
            "tenantId": t.tenant_id,
            "domain": domain,
            "mode": t.mode,
            "clientId": t.client_id,
            "readOnly": self.config.read_only,
        });
        if first {
            eprintln!(
                "m365-admin: tool calls in this session go to the LIVE tenant {} ({}) as app {}{}",
                t.tenant_id,
                domain.as_deref().unwrap_or("domain unknown"),
                t.client_id,
                if self.config.read_only {
                    ", read-only"
                } else {
                    ""
                }
            );
        }
        envelope
    }

    /// The key the database was opened with (for `db backup`).
    pub fn db_key(&self) -> Option<&DbKey> {
        self.db_key.as_ref()
    }

    /// Records the audit head; called when the server stops.
    pub fn close(&self) {
        if let Some(db) = &self.db {
            crate::database::record_head(db, "stop");
            crate::database::unmark_serving(db);
        }
    }

    pub async fn shutdown(self) {
        if let Some(sb) = self.sandbox {
            sb.shutdown().await;
        }
    }

    /// Validates, confirms when needed, runs and audits one tool call.
    /// `elicit` asks the administrator in the client, when it can.
    pub async fn call_tool(
        &self,
        name: &str,
        args: Value,
        progress: Option<mpsc::UnboundedSender<Progress>>,
        elicit: Option<Elicitor>,
    ) -> Result<Value, CodedError> {
        let started = std::time::Instant::now();
        let call_id = uuid::Uuid::new_v4().to_string();
        let ran = self.run_tool(name, args, progress, elicit).await;
        let error_code = ran.result.as_ref().err().map(|e| e.code.to_string());
        let ms = started.elapsed().as_millis() as u64;
        match &ran.result {
            Ok(_) => {
                tracing::info!(tool = name, plugin = %ran.plugin, ms, upstream = ran.requests.len(), "tool call succeeded")
            }
            Err(e) => {
                tracing::info!(tool = name, plugin = %ran.plugin, ms, upstream = ran.requests.len(), code = %e.code, outcome = ran.outcome, "tool call failed")
            }
        }
        if let Some(db) = &self.db {
            let row = CallAudit {
                at: time::OffsetDateTime::now_utc(),
                call_id: &call_id,
                tool: name,
                plugin: &ran.plugin,
                arguments: &ran.arguments,
                outcome: ran.outcome,
                error_code: error_code.as_deref(),
                duration_ms: ms,
                requests: &ran.requests,
            };
            write_audit(db, &row);
        }
        ran.result
    }

    async fn run_tool(
        &self,
        name: &str,
        mut args: Value,
        progress: Option<mpsc::UnboundedSender<Progress>>,
        elicit: Option<Elicitor>,
    ) -> Ran {
        let token = confirm::take_token(&mut args);
        let mut ran = Ran {
            result: Ok(Value::Null),
            plugin: String::new(),
            outcome: "error",
            arguments: crate::secret::redact_json(&args, &[]),
            requests: Vec::new(),
        };
        let registry = self.registry();
        let Some(entry) = registry.tools.get(name) else {
            ran.result = Err(CodedError::new(
                ErrorCode::Input001,
                format!(
                    "There is no tool named {name:?}. List the tools (tools/list or `m365-admin tools`) and use one of those names."
                ),
            ));
            return ran;
        };
        ran.plugin = entry.plugin.clone();
        if let Err(out) =
            self.selection
                .decide(name, &entry.plugin, entry.tool.annotations.read_only)
        {
            ran.outcome = "refused";
            ran.result = Err(CodedError::new(ErrorCode::Perm001, out.explain(name)));
            return ran;
        }
        if args.is_null() {
            args = json!({});
        }
        crate::secret::register_fields(&args, &entry.tool.secret_fields);
        ran.arguments = crate::secret::redact_json(&args, &entry.tool.secret_fields);
        if let Err(e) = entry.validator.check(name, &args) {
            ran.result = Err(e);
            return ran;
        }
        let plugin = &registry.plugins[&entry.plugin];
        let approval = match (&self.db, self.config.enable_confirmation) {
            (Some(db), true) => Some(Arc::new(confirm::Approval::new(
                db.clone(),
                name,
                args.clone(),
                token,
                elicit,
                self.config.confirm_ttl,
            ))),
            _ => None,
        };
        let why = confirm::reason(
            entry.tool.annotations.destructive,
            entry.tool.bulk_argument.as_deref(),
            &args,
            self.config.bulk_threshold,
        );
        if let (Some(why), Some(approval)) = (why, &approval) {
            let plan = match self.plan(name, plugin, &args, &ran.arguments).await {
                Ok(p) => p,
                Err(e) => {
                    ran.result = Err(e);
                    return ran;
                }
            };
            if let Err((e, outcome)) = approval.obtain(&plan, &why).await {
                ran.result = Err(e);
                ran.outcome = outcome;
                return ran;
            }
        }
        let mut call = CallCtx::new(
            &plugin.name,
            name,
            deadline(self.runtime.limits().timeout),
            progress,
        );
        call.approval = approval;
        let call = Arc::new(call);
        let outcome = self
            .runtime
            .call(&plugin.prepared, call.clone(), &args.to_string())
            .await;
        ran.result = outcome.and_then(|text| {
            serde_json::from_str::<Value>(&text).map_err(|e| {
                CodedError::new(ErrorCode::Plugin001, format!("Plugin `{}` returned a result that is not JSON ({e}); report this to its author.", plugin.name))
            })
        });
        ran.outcome = match &ran.result {
            Ok(_) => "ok",
            // The plugin asked for approval (host.confirm) and did not get it yet.
            Err(e) if e.code == ErrorCode::Confirm001 => "confirmation-required",
            Err(_) => "error",
        };
        ran.requests = call.requests();
        ran
    }

    /// The plugin's plan for a call that needs approval, or the host's own.
    async fn plan(
        &self,
        tool: &str,
        plugin: &crate::plugins::registry::LoadedPlugin,
        args: &Value,
        redacted: &Value,
    ) -> Result<String, CodedError> {
        let call = Arc::new(CallCtx::new(
            &plugin.name,
            tool,
            deadline(self.runtime.limits().timeout),
            None,
        ));
        let plan = self
            .runtime
            .plan(&plugin.prepared, call, &args.to_string())
            .await?;
        Ok(if plan.trim().is_empty() {
            confirm::generic_plan(tool, &plugin.name, redacted)
        } else {
            crate::secret::redact(plan.trim())
        })
    }

    pub async fn list_resources(&self) -> Vec<Resource> {
        let mut out = Vec::new();
        let registry = self.registry();
        for p in registry.plugins.values() {
            let call = Arc::new(CallCtx::new(
                &p.name,
                "list-resources",
                deadline(self.runtime.limits().timeout),
                None,
            ));
            match self.runtime.list_resources(&p.prepared, call).await {
                Ok(list) => out.extend(list),
                Err(e) => tracing::warn!(plugin = %p.name, error = %e, "listing resources failed"),
            }
        }
        out
    }

    /// Reads a plugin's resource; `m365://health` is the host's own.
    pub async fn read_resource(&self, uri: &str) -> Result<(String, String), CodedError> {
        if uri == "m365://health" {
            return Ok(("application/json".into(), self.health().await.to_string()));
        }
        if uri == "m365://metrics" {
            let db = self.db.as_ref().ok_or_else(|| {
                CodedError::new(ErrorCode::Store001, "No database is open in this mode.")
            })?;
            let rows = db.audit_since(None)?;
            return Ok((
                "application/json".into(),
                crate::metrics::compute(&rows).to_string(),
            ));
        }
        if let Some(id) = uri.strip_prefix("m365://results/") {
            let kept = self.kept_results.lock().unwrap();
            return kept
                .iter()
                .find(|(k, _)| k == id)
                .map(|(_, text)| ("application/json".to_string(), text.clone()))
                .ok_or_else(|| {
                    CodedError::new(
                        ErrorCode::Input001,
                        format!("{uri} is no longer kept (only the 20 newest long results of this session are); call the tool again."),
                    )
                });
        }
        let registry = self.registry();
        let plugin = registry.plugin_for_uri(uri).ok_or_else(|| {
            CodedError::new(ErrorCode::Input001, format!("No resource matches {uri:?}. List resources and resource templates to see what can be read."))
        })?;
        let started = std::time::Instant::now();
        let call = Arc::new(CallCtx::new(
            &plugin.name,
            "read-resource",
            deadline(self.runtime.limits().timeout),
            None,
        ));
        let contents = self
            .runtime
            .read_resource(&plugin.prepared, call.clone(), uri)
            .await;
        if let Some(db) = &self.db {
            let code = contents.as_ref().err().map(|e| e.code.to_string());
            let row = CallAudit {
                at: time::OffsetDateTime::now_utc(),
                call_id: &uuid::Uuid::new_v4().to_string(),
                tool: "resources/read",
                plugin: &plugin.name,
                arguments: &json!({"uri": crate::secret::redact(uri)}),
                outcome: if contents.is_ok() { "ok" } else { "error" },
                error_code: code.as_deref(),
                duration_ms: started.elapsed().as_millis() as u64,
                requests: &call.requests(),
            };
            write_audit(db, &row);
        }
        let contents = contents?;
        Ok((contents.mime_type, contents.text))
    }

    /// `m365://health`: status, authentication, Graph reachability (checked
    /// at most every 30 s), and every plugin loaded or refused.
    pub async fn health(&self) -> Value {
        self.check_graph().await;
        let auth = self
            .upstream
            .as_ref()
            .map(|u| u.auth().status())
            .unwrap_or_default();
        let conn = self.connectivity.lock().unwrap().clone();
        let plugins: Vec<Value> = self
            .registry()
            .plugins
            .values()
            .map(|p| json!({"name": p.name, "version": p.version, "source": p.source, "digest": p.digest, "tools": p.info.tools.iter().map(|t| t.name.clone()).collect::<Vec<_>>()}))
            .collect();
        let (database, chain) = match &self.db {
            Some(db) => (
                match db.status() {
                    Ok(st) => {
                        json!({"status": "ok", "path": db.path(), "encrypted": true, "schemaVersion": st.schema_version, "documents": st.documents, "auditRows": st.audit_rows})
                    }
                    Err(e) => {
                        json!({"status": "error", "path": db.path(), "error": CodedError::from(e).message})
                    }
                },
                self.chain.status(db),
            ),
            None => (
                json!({"status": "not open"}),
                json!({"status": "unchecked"}),
            ),
        };
        let store_ok = database["status"] == "ok" && chain["status"] == "verified";
        let registry = self.registry();
        let healthy = conn.graph_api_connected && registry.problems.is_empty() && store_ok;
        json!({
            "status": if healthy { "healthy" } else if conn.graph_api_connected && store_ok { "degraded" } else { "unhealthy" },
            "authenticated": auth.authenticated,
            "graphApiConnected": conn.graph_api_connected,
            "lastCheck": conn.last_check,
            "lastError": conn.last_error.or(auth.last_error),
            "tenant": self.tenant,
            "envelope": self.envelope().await,
            "plugins": plugins,
            "pluginsNotLoaded": registry.problems,
            "database": database,
            "auditChain": chain,
            "lastBackup": self.last_backup.get(),
            "version": env!("CARGO_PKG_VERSION"),
        })
    }

    async fn check_graph(&self) {
        let Some(upstream) = &self.upstream else {
            return;
        };
        let fresh = {
            let c = self.connectivity.lock().unwrap();
            c.last_check
                .as_deref()
                .and_then(|t| {
                    time::OffsetDateTime::parse(t, &time::format_description::well_known::Rfc3339)
                        .ok()
                })
                .is_some_and(|t| {
                    (time::OffsetDateTime::now_utc() - t) < time::Duration::seconds(30)
                })
        };
        if fresh {
            return;
        }
        let call = CallCtx::new("host", "health", deadline(Duration::from_secs(30)), None);
        let req = UpstreamRequest {
            service: crate::caps::upstream::Service::Graph,
            method: http::Method::GET,
            path_and_query: "/v1.0/organization?$select=id,verifiedDomains".into(),
            headers: http::HeaderMap::new(),
            body: bytes::Bytes::new(),
            retry_safe: false,
            weight: 1,
        };
        let (ok, err, domain) = match upstream.send(req, &call).await {
            Ok(r) if r.status == 200 => {
                let body: Value = serde_json::from_slice(&r.body).unwrap_or(Value::Null);
                let domain = body["value"][0]["verifiedDomains"]
                    .as_array()
                    .and_then(|d| d.iter().find(|x| x["isDefault"] == true))
                    .and_then(|d| d["name"].as_str())
                    .map(str::to_string);
                (true, None, domain)
            }
            Ok(r) => (
                false,
                Some(format!("Graph answered HTTP {}", r.status)),
                None,
            ),
            Err(e) => (false, Some(e.to_string()), None),
        };
        let mut c = self.connectivity.lock().unwrap();
        let default_domain = domain.or_else(|| c.default_domain.take());
        *c = Connectivity {
            graph_api_connected: ok,
            last_check: time::OffsetDateTime::now_utc()
                .format(&time::format_description::well_known::Rfc3339)
                .ok(),
            last_error: err,
            default_domain,
        };
    }
}

/// Writes one call's audit row. The call has happened either way, so a
/// failure is said loudly rather than returned.
fn write_audit(db: &Database, row: &CallAudit) {
    if let Err(e) = db.audit_call(row) {
        tracing::error!(tool = row.tool, error = %CodedError::from(e), "could not write the audit row for this call");
    }
}

/// The sandbox tenant's default domain, from the state it keeps on disk.
fn sandbox_default_domain(dir: &std::path::Path) -> Option<String> {
    let text = std::fs::read_to_string(dir.join("tenant.json")).ok()?;
    let v: Value = serde_json::from_str(&text).ok()?;
    v["domains"]
        .as_array()?
        .iter()
        .find(|d| d["isDefault"] == true)
        .and_then(|d| d["name"].as_str())
        .map(str::to_string)
}

/// What the clients see of a registry: each plugin's version and digest,
/// and which tools and resource templates exist.
fn summary(r: &Registry) -> Vec<String> {
    r.plugins
        .values()
        .map(|p| format!("{}@{}#{}", p.name, p.version, p.digest))
        .chain(r.tools.keys().cloned())
        .collect()
}

/// Sizes and modification times of everything in the plugin directory, and
/// the approvals: when this changes, the plugins are loaded again.
fn plugin_stamp(dir: &std::path::Path, db: Option<&Database>) -> String {
    use std::fmt::Write as _;
    let mut out = String::new();
    let mut dirs: Vec<_> = std::fs::read_dir(dir)
        .map(|r| r.filter_map(|e| e.ok()).map(|e| e.path()).collect())
        .unwrap_or_default();
    dirs.sort();
    for d in dirs {
        let mut files: Vec<_> = std::fs::read_dir(&d)
            .map(|r| r.filter_map(|e| e.ok()).map(|e| e.path()).collect())
            .unwrap_or_default();
        files.sort();
        for f in files {
            if let Ok(m) = std::fs::metadata(&f) {
                let mtime = m
                    .modified()
                    .ok()
                    .and_then(|t| t.duration_since(std::time::UNIX_EPOCH).ok())
                    .map(|d| d.as_nanos())
                    .unwrap_or(0);
                let _ = writeln!(out, "{} {} {mtime}", f.display(), m.len());
            }
        }
    }
    if let Some(db) = db {
        let _ = write!(
            out,
            "approvals {}",
            db.approvals_stamp().unwrap_or_default()
        );
    }
    out
}

fn live_auth(
    config: &Config,
) -> Result<(AuthConfig, url::Url, Option<m365_sandbox::Sandbox>), CodedError> {
    let missing: Vec<&str> = [
        ("AZURE_TENANT_ID", config.tenant_id.is_none()),
        ("AZURE_CLIENT_ID", config.client_id.is_none()),
        (
            "AZURE_CLIENT_SECRET or AZURE_CERTIFICATE_PATH",
            config.credentials.is_none(),
        ),
    ]
    .into_iter()
    .filter_map(|(n, m)| m.then_some(n))
    .collect();
    if !missing.is_empty() {
        return Err(CodedError::new(
            ErrorCode::Auth001,
            format!(
                "No credentials for a live tenant: set {}. To try m365-admin without a tenant, run `m365-admin serve --sandbox`.",
                missing.join(", ")
            ),
        ));
    }
    let http = crate::http_client::build(None)
        .map_err(|e| CodedError::new(ErrorCode::Auth001, format!("Could not set up TLS: {e}")))?;
    let graph_base = url::Url::parse(&format!("{}/", config.graph_endpoint.trim_end_matches('/')))
        .map_err(|e| {
            CodedError::new(
                ErrorCode::Input001,
                format!("M365_GRAPH_ENDPOINT is not a URL ({e})."),
            )
        })?;
    Ok((
        AuthConfig {
            tenant_id: config.tenant_id.clone().unwrap(),
            client_id: config.client_id.clone().unwrap(),
            credentials: config.credentials.clone().unwrap(),
            authority: None,
            http,
        },
        graph_base,
        None,
    ))
}

/// Starts the sandbox tenant and registers the app's credentials in it: the
/// ones configured, or a fresh random secret when none are.
async fn start_sandbox(
    config: &Config,
) -> Result<(AuthConfig, url::Url, Option<m365_sandbox::Sandbox>), CodedError> {
    let tenant_id = config
        .tenant_id
        .clone()
        .unwrap_or_else(|| SANDBOX_TENANT.into());
    let client_id = config
        .client_id
        .clone()
        .unwrap_or_else(|| SANDBOX_CLIENT.into());
    let credentials = config.credentials.clone().unwrap_or_else(|| {
        Credentials::Secret(Secret::new(format!(
            "sbx~{}",
            uuid::Uuid::new_v4().simple()
        )))
    });
    let (client_secret, certificate_pem) = match &credentials {
        Credentials::Secret(s) => (Some(s.expose().to_string()), None),
        Credentials::Certificate { path, password } => {
            (None, Some(certificate_public_pem(path, password.as_ref())?))
        }
    };
    let sandbox = m365_sandbox::Sandbox::start(m365_sandbox::SandboxConfig {
        data_dir: config.sandbox_dir(),
        reset: config.sandbox_reset,
        app: m365_sandbox::AppRegistration {
            tenant_id: tenant_id.clone(),
            client_id: client_id.clone(),
            client_secret,
            certificate_pem,
            // M365_SANDBOX_APP_ROLES lets a test (or a curious admin) see
            // what happens when the app lacks a permission.
            roles: std::env::var("M365_SANDBOX_APP_ROLES")
                .ok()
                .map(|r| {
                    r.split(',')
                        .map(|x| x.trim().to_string())
                        .filter(|x| !x.is_empty())
                        .collect()
                })
                .unwrap_or_else(m365_sandbox::AppRegistration::default_roles),
        },
        tuning: m365_sandbox::Tuning::from_env(),
    })
    .await
    .map_err(|e| {
        CodedError::new(
            ErrorCode::Graph001,
            format!(
                "The sandbox tenant could not start: {e}. Check that {} is writable.",
                config.sandbox_dir().display()
            ),
        )
    })?;
    let http = crate::http_client::build(Some(sandbox.ca_cert_pem())).map_err(|e| {
        CodedError::new(
            ErrorCode::Graph001,
            format!("Could not trust the sandbox's CA: {e}"),
        )
    })?;
    let base = sandbox.base_url().clone();
    tracing::info!(url = %base, "sandbox tenant started");
    Ok((
        AuthConfig {
            tenant_id,
            client_id,
            credentials,
            authority: Some(base.to_string()),
            http,
        },
        base,
        Some(sandbox),
    ))
}

/// The public certificate of a PEM or PKCS#12 credential, to register in the
/// sandbox's app registration.
fn certificate_public_pem(
    path: &std::path::Path,
    password: Option<&Secret>,
) -> Result<String, CodedError> {
    let fail = |why: String| {
        CodedError::new(
            ErrorCode::Auth001,
            format!(
                "Cannot read the certificate at {}: {why}. Check AZURE_CERTIFICATE_PATH.",
                path.display()
            ),
        )
    };
    let bytes = std::fs::read(path).map_err(|e| fail(e.to_string()))?;
    let cert = if bytes.windows(11).any(|w| w == b"-----BEGIN ") {
        openssl::x509::X509::from_pem(&bytes)
            .map_err(|_| fail("no certificate in the PEM".into()))?
    } else {
        let p12 = openssl::pkcs12::Pkcs12::from_der(&bytes)
            .map_err(|_| fail("not PEM or PKCS#12".into()))?;
        p12.parse2(password.map(|p| p.expose()).unwrap_or(""))
            .map_err(|_| fail("wrong AZURE_CERTIFICATE_PASSWORD or damaged file".into()))?
            .cert
            .ok_or_else(|| fail("no certificate in the PKCS#12 file".into()))?
    };
    let pem = cert.to_pem().map_err(|e| fail(e.to_string()))?;
    Ok(String::from_utf8_lossy(&pem).into_owned())
}
