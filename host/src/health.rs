//! How the installation is doing, for `m365://health` and `doctor`: whether
//! Graph answers (checked at most every 30 s, with `GET /organization`,
//! which also gives the tenant's default domain for the envelope), the
//! credential's state, the database and its audit chain (re-verified at most
//! every 30 s), every plugin loaded or refused, and the newest backup.

use crate::app::App;
use crate::caps::call::CallCtx;
use crate::caps::upstream::{Service, Upstream, UpstreamRequest};
use crate::errors::CodedError;
use crate::plugins::runtime::deadline;
use crate::store::chain::ChainWatch;
use serde_json::{Value, json};
use std::sync::Mutex;
use std::time::Duration;

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

/// What the host last learnt of Graph and of the audit chain.
#[derive(Default)]
pub struct Health {
    connectivity: Mutex<Connectivity>,
    chain: ChainWatch,
}

impl Health {
    /// Before Graph is first asked: the domain known from elsewhere (the
    /// sandbox's saved state), if any.
    pub fn new(default_domain: Option<String>) -> Health {
        Health {
            connectivity: Mutex::new(Connectivity {
                default_domain,
                ..Default::default()
            }),
            chain: ChainWatch::default(),
        }
    }

    /// The tenant's default domain, as last known.
    pub fn default_domain(&self) -> Option<String> {
        self.connectivity.lock().unwrap().default_domain.clone()
    }

    /// Asks Graph for the organization unless it was asked in the last 30 s.
    pub async fn check_graph(&self, upstream: Option<&Upstream>) {
        let Some(upstream) = upstream else {
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
            service: Service::Graph,
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

/// `m365://health`: status, authentication, Graph reachability, and every
/// plugin loaded or refused.
pub async fn report(app: &App) -> Value {
    app.health.check_graph(app.upstream.as_deref()).await;
    let auth = app
        .upstream
        .as_ref()
        .map(|u| u.auth().status())
        .unwrap_or_default();
    let conn = app.health.connectivity.lock().unwrap().clone();
    let plugins: Vec<Value> = app
        .registry()
        .plugins
        .values()
        .map(|p| json!({"name": p.name, "version": p.version, "source": p.source, "digest": p.digest, "tools": p.info.tools.iter().map(|t| t.name.clone()).collect::<Vec<_>>()}))
        .collect();
    let (database, chain) = match &app.db {
        Some(db) => (
            match db.status() {
                Ok(st) => {
                    json!({"status": "ok", "path": db.path(), "encrypted": true, "schemaVersion": st.schema_version, "documents": st.documents, "auditRows": st.audit_rows})
                }
                Err(e) => {
                    json!({"status": "error", "path": db.path(), "error": CodedError::from(e).message})
                }
            },
            app.health.chain.status(db),
        ),
        None => (
            json!({"status": "not open"}),
            json!({"status": "unchecked"}),
        ),
    };
    let store_ok = database["status"] == "ok" && chain["status"] == "verified";
    let registry = app.registry();
    let healthy = conn.graph_api_connected && registry.problems.is_empty() && store_ok;
    json!({
        "status": if healthy { "healthy" } else if conn.graph_api_connected && store_ok { "degraded" } else { "unhealthy" },
        "authenticated": auth.authenticated,
        "graphApiConnected": conn.graph_api_connected,
        "lastCheck": conn.last_check,
        "lastError": conn.last_error.or(auth.last_error),
        "tenant": app.tenant,
        "envelope": crate::serve::envelope::envelope(app).await,
        "plugins": plugins,
        "pluginsNotLoaded": registry.problems,
        "database": database,
        "auditChain": chain,
        "lastBackup": app.last_backup.get(),
        "version": env!("CARGO_PKG_VERSION"),
    })
}
