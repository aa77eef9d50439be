//! The running host: configuration, the sandbox tenant when asked for, the
//! credential and upstream, the plugin runtime and registry. The MCP server
//! and the CLI's `call` both go through `App::call_tool`, so a tool runs the
//! same way whoever asks.

use crate::auth::{Auth, AuthConfig};
use crate::caps::call::{CallCtx, Progress};
use crate::caps::ratelimit::RateLimiter;
use crate::caps::upstream::{Upstream, UpstreamRequest};
use crate::config::{Config, Credentials};
use crate::errors::{CodedError, ErrorCode};
use crate::plugins::registry::Registry;
use crate::plugins::runtime::{Resource, Runtime, deadline};
use crate::secret::Secret;
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
}

pub struct App {
    pub config: Config,
    pub runtime: Runtime,
    pub registry: Registry,
    pub tenant: Option<Tenant>,
    upstream: Option<Arc<Upstream>>,
    sandbox: Option<m365_sandbox::Sandbox>,
    connectivity: Mutex<Connectivity>,
}

impl App {
    /// Starts what `config` asks for. `connect` is false for commands that
    /// only read the plugins (`tools`): they need no credentials.
    pub async fn start(config: Config, connect: bool) -> Result<App, CodedError> {
        let mut sandbox = None;
        let mut upstream = None;
        let mut tenant = None;
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
            let client = auth_config.http.clone();
            let auth = Arc::new(Auth::new(auth_config)?);
            let limiter = RateLimiter::new(
                config
                    .rate_limit_enabled
                    .then_some(config.max_requests_per_minute),
            );
            upstream = Some(Arc::new(Upstream::new(
                client,
                graph_base,
                auth,
                limiter,
                config.retry_base,
            )));
        }
        let runtime = Runtime::new(
            config.cache_dir.join("compiled"),
            config.limits,
            upstream.clone(),
        )
        .map_err(|e| {
            CodedError::new(
                ErrorCode::Plugin001,
                format!("The plugin runtime could not start: {e}"),
            )
        })?;
        let registry = Registry::load(&runtime, &config.plugin_dir).await;
        Ok(App {
            config,
            runtime,
            registry,
            tenant,
            upstream,
            sandbox,
            connectivity: Mutex::new(Connectivity::default()),
        })
    }

    pub async fn shutdown(self) {
        if let Some(sb) = self.sandbox {
            sb.shutdown().await;
        }
    }

    /// Validates and runs one tool call.
    pub async fn call_tool(
        &self,
        name: &str,
        args: Value,
        progress: Option<mpsc::UnboundedSender<Progress>>,
    ) -> Result<Value, CodedError> {
        let entry = self.registry.tools.get(name).ok_or_else(|| {
            CodedError::new(
                ErrorCode::Input001,
                format!("There is no tool named {name:?}. List the tools (tools/list or `m365-admin tools`) and use one of those names."),
            )
        })?;
        let args = match args {
            Value::Null => json!({}),
            other => other,
        };
        entry.validator.check(name, &args)?;
        let plugin = &self.registry.plugins[&entry.plugin];
        let call = Arc::new(CallCtx::new(
            &plugin.name,
            name,
            deadline(self.runtime.limits().timeout),
            progress,
        ));
        let started = std::time::Instant::now();
        let outcome = self
            .runtime
            .call(&plugin.prepared, call.clone(), &args.to_string())
            .await;
        let result = outcome.and_then(|text| {
            serde_json::from_str::<Value>(&text).map_err(|e| {
                CodedError::new(ErrorCode::Plugin001, format!("Plugin `{}` returned a result that is not JSON ({e}); report this to its author.", plugin.name))
            })
        });
        let requests = call.requests();
        match &result {
            Ok(_) => {
                tracing::info!(tool = name, plugin = %plugin.name, ms = started.elapsed().as_millis() as u64, upstream = requests.len(), "tool call succeeded")
            }
            Err(e) => {
                tracing::info!(tool = name, plugin = %plugin.name, ms = started.elapsed().as_millis() as u64, upstream = requests.len(), code = %e.code, "tool call failed")
            }
        }
        result
    }

    pub async fn list_resources(&self) -> Vec<Resource> {
        let mut out = Vec::new();
        for p in self.registry.plugins.values() {
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
        let plugin = self.registry.plugin_for_uri(uri).ok_or_else(|| {
            CodedError::new(ErrorCode::Input001, format!("No resource matches {uri:?}. List resources and resource templates to see what can be read."))
        })?;
        let call = Arc::new(CallCtx::new(
            &plugin.name,
            "read-resource",
            deadline(self.runtime.limits().timeout),
            None,
        ));
        let contents = self
            .runtime
            .read_resource(&plugin.prepared, call, uri)
            .await?;
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
            .registry
            .plugins
            .values()
            .map(|p| json!({"name": p.name, "version": p.version, "source": p.source, "digest": p.digest, "tools": p.info.tools.iter().map(|t| t.name.clone()).collect::<Vec<_>>()}))
            .collect();
        let healthy = conn.graph_api_connected && self.registry.problems.is_empty();
        json!({
            "status": if healthy { "healthy" } else if conn.graph_api_connected { "degraded" } else { "unhealthy" },
            "authenticated": auth.authenticated,
            "graphApiConnected": conn.graph_api_connected,
            "lastCheck": conn.last_check,
            "lastError": conn.last_error.or(auth.last_error),
            "tenant": self.tenant,
            "plugins": plugins,
            "pluginsNotLoaded": self.registry.problems,
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
            method: http::Method::GET,
            path_and_query: "/v1.0/organization?$select=id".into(),
            headers: http::HeaderMap::new(),
            body: bytes::Bytes::new(),
            retry_safe: false,
        };
        let (ok, err) = match upstream.send(req, &call).await {
            Ok(r) if r.status == 200 => (true, None),
            Ok(r) => (false, Some(format!("Graph answered HTTP {}", r.status))),
            Err(e) => (false, Some(e.to_string())),
        };
        *self.connectivity.lock().unwrap() = Connectivity {
            graph_api_connected: ok,
            last_check: time::OffsetDateTime::now_utc()
                .format(&time::format_description::well_known::Rfc3339)
                .ok(),
            last_error: err,
        };
    }
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
            roles: m365_sandbox::AppRegistration::default_roles(),
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
