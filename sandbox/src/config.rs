//! What a sandbox is started with: where its state lives, the one app registration its token
//! endpoint accepts (and the certificate parsed from it), the delays it emulates, and why it
//! may fail to start.

use std::fmt;
use std::path::PathBuf;
use std::time::Duration;

use openssl::hash::{MessageDigest, hash};
use openssl::pkey::{PKey, Public};
use openssl::x509::X509;

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

/// The registered certificate: its thumbprints (SHA-1 for `x5t`, SHA-256 for `x5t#S256`) and key.
pub(crate) struct RegisteredCert {
    pub sha1: Vec<u8>,
    pub sha256: Vec<u8>,
    pub key: PKey<Public>,
}

impl RegisteredCert {
    pub fn from_pem(pem: &str) -> Result<Self, SandboxError> {
        let bad = |e: openssl::error::ErrorStack| {
            SandboxError::Config(format!(
                "certificate_pem is not a usable X.509 certificate: {e}"
            ))
        };
        let cert = X509::from_pem(pem.as_bytes()).map_err(bad)?;
        let der = cert.to_der().map_err(bad)?;
        Ok(RegisteredCert {
            sha1: hash(MessageDigest::sha1(), &der).map_err(bad)?.to_vec(),
            sha256: hash(MessageDigest::sha256(), &der).map_err(bad)?.to_vec(),
            key: cert.public_key().map_err(bad)?,
        })
    }
}
