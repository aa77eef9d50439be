//! `m365-sandbox`: a local, faithful emulator of the parts of Microsoft Graph v1.0, Exchange
//! Online's admin REST API (`/adminapi/beta/{tenant}/InvokeCommand`) and the Entra (Azure AD)
//! token endpoint that m365-admin uses, served over HTTPS on 127.0.0.1.
//!
//! It follows Microsoft's documented behaviour — shapes, status codes, error bodies, headers — so
//! the host's real TLS, token, retry and error paths run against it. State persists in
//! `data_dir/tenant.json`, as a real tenant's would; a control API under `/_sandbox/` lets tests
//! inspect requests, inject faults and tune delays.
//!
//! ```no_run
//! # async fn demo() -> Result<(), m365_sandbox::SandboxError> {
//! use m365_sandbox::*;
//! let sandbox = Sandbox::start(SandboxConfig {
//!     data_dir: "/tmp/sandbox".into(),
//!     reset: false,
//!     app: AppRegistration {
//!         tenant_id: "11111111-1111-1111-1111-111111111111".into(),
//!         client_id: "22222222-2222-2222-2222-222222222222".into(),
//!         client_secret: Some("s3cret".into()),
//!         certificate_pem: None,
//!         roles: AppRegistration::default_roles(),
//!     },
//!     tuning: Tuning::from_env(),
//! })
//! .await?;
//! println!("Graph at {}v1.0/", sandbox.base_url());
//! sandbox.shutdown().await;
//! # Ok(()) }
//! ```

mod addins;
mod app;
mod control;
mod errors;
mod exchange;
mod faults;
mod graph;
mod server;
mod state;
#[cfg(test)]
mod testkit;
mod tls;
mod token;

use std::fmt;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use tokio::net::TcpListener;
use tokio::sync::oneshot;
use tokio::task::JoinHandle;

/// How to start a sandbox tenant.
#[derive(Clone, Debug)]
pub struct SandboxConfig {
    /// State is persisted at `data_dir/tenant.json`; `endpoint.json` is written here too.
    pub data_dir: PathBuf,
    /// Start from the seed, discarding persisted state.
    pub reset: bool,
    /// The one app registration the token endpoint accepts.
    pub app: AppRegistration,
    /// Delays and lifetimes.
    pub tuning: Tuning,
}

/// The Entra app registration the sandbox's token endpoint knows.
#[derive(Clone)]
pub struct AppRegistration {
    pub tenant_id: String,
    pub client_id: String,
    /// The accepted client secret, if any.
    pub client_secret: Option<String>,
    /// The accepted X.509 certificate (PEM, public part), if any.
    pub certificate_pem: Option<String>,
    /// App roles put in issued tokens' `roles` claim.
    pub roles: Vec<String>,
}

impl fmt::Debug for AppRegistration {
    // Never print the secret.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("AppRegistration")
            .field("tenant_id", &self.tenant_id)
            .field("client_id", &self.client_id)
            .field(
                "client_secret",
                &self.client_secret.as_ref().map(|_| "<redacted>"),
            )
            .field("certificate_pem", &self.certificate_pem.is_some())
            .field("roles", &self.roles)
            .finish()
    }
}

impl AppRegistration {
    /// The application permissions the spec asks an admin to consent to (§4.1), plus
    /// `Exchange.ManageAsApp` for the Exchange admin API, the Teams and group-membership
    /// permissions (`TeamMember.ReadWrite.All`, `Channel.Create`, …) the teams plugin needs, and
    /// those of message trace (`ExchangeMessageTrace.Read.All`), security defaults
    /// (`Policy.Read.All`, `Policy.ReadWrite.ConditionalAccess`), channel tabs (`TeamsTab.Create`)
    /// and Planner (`Tasks.ReadWrite.All`).
    pub fn default_roles() -> Vec<String> {
        [
            "User.ReadWrite.All",
            "Mail.ReadWrite",
            "Mail.Send",
            "MailboxSettings.ReadWrite",
            "Organization.ReadWrite.All",
            "Application.ReadWrite.All",
            "Group.ReadWrite.All",
            "Team.Create",
            "TeamSettings.ReadWrite.All",
            "TeamMember.ReadWrite.All",
            "Channel.Create",
            "ChannelSettings.ReadWrite.All",
            "Channel.Delete.All",
            "GroupMember.ReadWrite.All",
            "Sites.ReadWrite.All",
            "Directory.ReadWrite.All",
            "AuditLog.Read.All",
            "Exchange.ManageAsApp",
            "ExchangeMessageTrace.Read.All",
            "Policy.Read.All",
            "Policy.ReadWrite.ConditionalAccess",
            "TeamsTab.Create",
            "Tasks.ReadWrite.All",
        ]
        .into_iter()
        .map(String::from)
        .collect()
    }
}

/// Delays and lifetimes; tests shorten them.
#[derive(Clone, Debug)]
pub struct Tuning {
    /// Time from assigning an Exchange license until `mailboxSettings` answers (default 3 s).
    pub mailbox_provisioning_delay: Duration,
    /// Lifetime of issued access tokens (default 3599 s).
    pub token_lifetime: Duration,
    /// Latency added to every Graph response (default 0).
    pub latency: Duration,
    /// How many `POST /teams` (or `PUT /groups/{id}/team`) calls for a group created less than
    /// 15 minutes ago answer 404 before the group has "replicated" to Teams (default 0).
    pub team_replication_misses: u32,
    /// How many polls of a `teamsAsyncOperation` report `inProgress` before it succeeds
    /// (default 1).
    pub team_provisioning_polls: u32,
}

impl Default for Tuning {
    fn default() -> Self {
        Tuning {
            mailbox_provisioning_delay: Duration::from_secs(3),
            token_lifetime: Duration::from_secs(3599),
            latency: Duration::ZERO,
            team_replication_misses: 0,
            team_provisioning_polls: 1,
        }
    }
}

impl Tuning {
    /// The defaults, overridden by `M365_SANDBOX_MAILBOX_DELAY_MS`,
    /// `M365_SANDBOX_TOKEN_LIFETIME_SECS`, `M365_SANDBOX_LATENCY_MS`,
    /// `M365_SANDBOX_TEAM_REPLICATION_MISSES` and `M365_SANDBOX_TEAM_PROVISIONING_POLLS` where
    /// set and numeric.
    pub fn from_env() -> Self {
        let num = |name: &str| {
            std::env::var(name)
                .ok()
                .and_then(|v| v.trim().parse::<u64>().ok())
        };
        let mut t = Tuning::default();
        if let Some(ms) = num("M365_SANDBOX_MAILBOX_DELAY_MS") {
            t.mailbox_provisioning_delay = Duration::from_millis(ms);
        }
        if let Some(s) = num("M365_SANDBOX_TOKEN_LIFETIME_SECS") {
            t.token_lifetime = Duration::from_secs(s);
        }
        if let Some(ms) = num("M365_SANDBOX_LATENCY_MS") {
            t.latency = Duration::from_millis(ms);
        }
        let count = |v: u64| u32::try_from(v).unwrap_or(u32::MAX);
        if let Some(n) = num("M365_SANDBOX_TEAM_REPLICATION_MISSES") {
            t.team_replication_misses = count(n);
        }
        if let Some(n) = num("M365_SANDBOX_TEAM_PROVISIONING_POLLS") {
            t.team_provisioning_polls = count(n);
        }
        t
    }
}

/// Why the sandbox could not start.
#[derive(thiserror::Error, Debug)]
#[non_exhaustive]
pub enum SandboxError {
    #[error("sandbox I/O error on {path}: {source}")]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("sandbox could not bind 127.0.0.1: {0}")]
    Bind(#[source] std::io::Error),
    #[error("sandbox TLS setup failed: {0}")]
    Tls(String),
    #[error("sandbox state file {path} is unreadable: {message}")]
    State { path: PathBuf, message: String },
    #[error("sandbox app registration is invalid: {0}")]
    Config(String),
}

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
            Some(pem) => Some(token::RegisteredCert::from_pem(pem)?),
            None => None,
        };
        let store = state::Store::open(&cfg.data_dir, cfg.reset, &cfg.app.tenant_id)?;
        let tls = tls::generate()?;

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
        state::write_atomic(
            &cfg.data_dir.join("endpoint.json"),
            serde_json::to_vec_pretty(&endpoint)
                .unwrap_or_default()
                .as_slice(),
        )
        .map_err(|source| SandboxError::Io {
            path: cfg.data_dir.join("endpoint.json"),
            source,
        })?;

        let app = Arc::new(app::App::new(
            cfg.app.clone(),
            cert,
            base_url.clone(),
            cfg.tuning,
            store,
        ));
        let (stop_tx, stop_rx) = oneshot::channel();
        let task = tokio::spawn(server::serve(listener, tls.server_config, app, stop_rx));
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
