//! A running sandbox: [`Sandbox::start`] loads (or seeds) the tenant, generates its TLS
//! material, writes `endpoint.json` and serves until [`Sandbox::shutdown`] (or drop).

use std::sync::Arc;

use tokio::net::TcpListener;
use tokio::sync::oneshot;
use tokio::task::JoinHandle;

use crate::app::App;
use crate::config::{RegisteredCert, SandboxConfig, SandboxError};
use crate::tenant::Tenant;
use crate::tenant::store::{Store, write_atomic};

/// A running sandbox tenant. Dropping it stops the server too; [`Sandbox::shutdown`] also waits.
pub struct Sandbox {
    base_url: url::Url,
    ca_cert_pem: String,
    tenant_id: String,
    stop: Option<oneshot::Sender<()>>,
    task: Option<JoinHandle<()>>,
}

impl Sandbox {
    /// Loads (or seeds) the tenant, generates the TLS material and serves on
    /// `https://127.0.0.1:<free port>/`.
    pub async fn start(cfg: SandboxConfig) -> Result<Sandbox, SandboxError> {
        if cfg.app.client_secret.is_none() && cfg.app.certificate_pem.is_none() {
            return Err(SandboxError::Config(
                "the app registration needs a client secret or a certificate".into(),
            ));
        }
        std::fs::create_dir_all(&cfg.data_dir).map_err(|source| SandboxError::Io {
            path: cfg.data_dir.clone(),
            source,
        })?;
        let cert = match &cfg.app.certificate_pem {
            Some(pem) => Some(RegisteredCert::from_pem(pem)?),
            None => None,
        };
        let store = Store::open(&cfg.data_dir, cfg.reset, &cfg.app.tenant_id, Tenant::seed)?;
        let tls = crate::tls::generate()?;

        let listener = TcpListener::bind(("127.0.0.1", 0))
            .await
            .map_err(SandboxError::Bind)?;
        let port = listener.local_addr().map_err(SandboxError::Bind)?.port();
        let base_url = url::Url::parse(&format!("https://127.0.0.1:{port}/"))
            .map_err(|e| SandboxError::Config(e.to_string()))?;

        let endpoint = serde_json::json!({
            "baseUrl": base_url.as_str(),
            "caCertPem": tls.ca_cert_pem,
            "tenantId": cfg.app.tenant_id,
        });
        write_atomic(
            &cfg.data_dir.join("endpoint.json"),
            serde_json::to_vec_pretty(&endpoint)
                .unwrap_or_default()
                .as_slice(),
        )
        .map_err(|source| SandboxError::Io {
            path: cfg.data_dir.join("endpoint.json"),
            source,
        })?;

        let app = Arc::new(App::new(
            cfg.app.clone(),
            cert,
            base_url.clone(),
            cfg.tuning,
            store,
        ));
        let (stop_tx, stop_rx) = oneshot::channel();
        let task = tokio::spawn(crate::server::serve(
            listener,
            tls.server_config,
            app,
            stop_rx,
        ));
        tracing::info!(url = %base_url, tenant = %cfg.app.tenant_id, "sandbox tenant listening");

        Ok(Sandbox {
            base_url,
            ca_cert_pem: tls.ca_cert_pem,
            tenant_id: cfg.app.tenant_id,
            stop: Some(stop_tx),
            task: Some(task),
        })
    }

    /// `https://127.0.0.1:PORT/`: the authority host for tokens; Graph is at `{base}v1.0/`.
    pub fn base_url(&self) -> &url::Url {
        &self.base_url
    }

    /// The PEM of the CA that signed the server certificate.
    pub fn ca_cert_pem(&self) -> &str {
        &self.ca_cert_pem
    }

    /// The tenant id (as configured).
    pub fn tenant_id(&self) -> &str {
        &self.tenant_id
    }

    /// Stops accepting, drops open connections and waits for the server task to end.
    pub async fn shutdown(mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        if let Some(task) = self.task.take() {
            let _ = task.await;
        }
    }
}

impl Drop for Sandbox {
    fn drop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
    }
}
