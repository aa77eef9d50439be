//! Which tenant the host talks to, and how: the live tenant from the
//! configured IDs and credentials, or the sandbox tenant started in-process
//! (`--sandbox`) with the app registered in it; then the credential, the rate
//! limiter and the upstream that every plugin request goes out through, and
//! add-in manifest fetching (limited to the sandbox in sandbox mode).

use crate::auth::{Auth, AuthConfig};
use crate::caps::addin_manifest::ManifestFetcher;
use crate::caps::ratelimit::RateLimiter;
use crate::caps::upstream::Upstream;
use crate::config::{Config, Credentials};
use crate::errors::{CodedError, ErrorCode};
use crate::secret::Secret;
use serde_json::Value;
use std::sync::Arc;

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

/// A tenant connected to: who it is, the upstream to it, the sandbox when it
/// is one, and where add-in manifests may come from.
pub struct Connection {
    pub tenant: Tenant,
    pub upstream: Arc<Upstream>,
    pub sandbox: Option<m365_sandbox::Sandbox>,
    pub manifests: ManifestFetcher,
    /// The sandbox's default domain, from its saved state (a live tenant's
    /// is asked of Graph).
    pub default_domain: Option<String>,
}

/// Connects to the tenant the configuration names. No network request is
/// made: tokens are fetched on the first upstream request.
pub async fn connect(config: &Config) -> Result<Connection, CodedError> {
    let (auth_config, graph_base, sandbox) = if config.sandbox {
        start_sandbox(config).await?
    } else {
        live_auth(config)?
    };
    let tenant = Tenant {
        tenant_id: auth_config.tenant_id.clone(),
        client_id: auth_config.client_id.clone(),
        mode: if config.sandbox { "sandbox" } else { "live" },
    };
    let default_domain = if config.sandbox {
        sandbox_default_domain(&config.sandbox_dir())
    } else {
        None
    };
    let client = auth_config.http.clone();
    let manifests = ManifestFetcher {
        client: client.clone(),
        only_authority: sandbox.as_ref().map(|sb: &m365_sandbox::Sandbox| {
            let u = sb.base_url();
            format!(
                "{}:{}",
                u.host_str().unwrap_or(""),
                u.port_or_known_default().unwrap_or(443)
            )
        }),
    };
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
    let upstream = Arc::new(Upstream::new(
        client,
        graph_base,
        exchange_base,
        tenant.tenant_id.clone(),
        auth,
        limiter,
        config.retry_base,
    ));
    Ok(Connection {
        tenant,
        upstream,
        sandbox,
        manifests,
        default_domain,
    })
}

/// The live tenant's IDs and credentials, or AUTH_001 naming what is missing:
/// the first thing to tell a new user.
pub fn live_credentials(config: &Config) -> Result<(String, String, Credentials), CodedError> {
    match (&config.tenant_id, &config.client_id, &config.credentials) {
        (Some(tenant), Some(client), Some(credentials)) => {
            Ok((tenant.clone(), client.clone(), credentials.clone()))
        }
        _ => {
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
            Err(CodedError::new(
                ErrorCode::Auth001,
                format!(
                    "No credentials for a live tenant: set {}. To try m365-admin without a tenant, run `m365-admin serve --sandbox`.",
                    missing.join(", ")
                ),
            ))
        }
    }
}

fn live_auth(
    config: &Config,
) -> Result<(AuthConfig, url::Url, Option<m365_sandbox::Sandbox>), CodedError> {
    let (tenant_id, client_id, credentials) = live_credentials(config)?;
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
            tenant_id,
            client_id,
            credentials,
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
