//! Credentials: azure_identity's client-secret or client-certificate
//! credential, for the Graph (and later Exchange) scopes. Tokens are fetched
//! lazily on the first upstream request and cached by azure_identity; every
//! issued token is registered with the redactor.
//!
//! In sandbox mode the very same credential code runs, pointed at the sandbox
//! tenant's token endpoint through a custom cloud authority and an HTTP
//! transport that trusts only the sandbox's CA.
//!
//! `token_roles` reads what a token says it may do, for `doctor`.

use crate::config::Credentials;
use crate::errors::{CodedError, ErrorCode};
use crate::secret::{self, Secret};
use azure_core::cloud::{CloudConfiguration, CustomConfiguration};
use azure_core::credentials::{SecretBytes, TokenCredential};
use azure_core::http::{ClientOptions, RetryOptions, Transport};
use azure_identity::{
    ClientCertificateCredential, ClientCertificateCredentialOptions, ClientSecretCredential,
    ClientSecretCredentialOptions,
};
use std::sync::{Arc, Mutex};

pub const GRAPH_SCOPE: &str = "https://graph.microsoft.com/.default";
/// Exchange Online's admin API (app permission Exchange.ManageAsApp).
pub const EXCHANGE_SCOPE: &str = "https://outlook.office365.com/.default";

/// Everything needed to build a credential.
#[derive(Clone, Debug)]
pub struct AuthConfig {
    pub tenant_id: String,
    pub client_id: String,
    pub credentials: Credentials,
    /// `https://host:port/` of a non-public authority (the sandbox).
    pub authority: Option<String>,
    /// The client that reaches the authority (trusts the sandbox CA there).
    pub http: reqwest::Client,
}

/// State of authentication, for `m365://health`.
#[derive(Clone, Debug, Default, serde::Serialize)]
#[serde(rename_all = "camelCase")]
pub struct AuthStatus {
    pub authenticated: bool,
    pub last_error: Option<String>,
}

pub struct Auth {
    config: AuthConfig,
    credential: Mutex<Arc<dyn TokenCredential>>,
    status: Mutex<AuthStatus>,
}

impl Auth {
    /// Builds the credential without contacting the authority.
    pub fn new(config: AuthConfig) -> Result<Auth, CodedError> {
        let credential = build_credential(&config)?;
        Ok(Auth {
            config,
            credential: Mutex::new(credential),
            status: Mutex::new(AuthStatus::default()),
        })
    }

    pub fn tenant_id(&self) -> &str {
        &self.config.tenant_id
    }

    pub fn client_id(&self) -> &str {
        &self.config.client_id
    }

    pub fn status(&self) -> AuthStatus {
        self.status.lock().unwrap().clone()
    }

    /// A bearer token for `scope`, from cache when still valid.
    pub async fn token(&self, scope: &str) -> Result<Secret, CodedError> {
        let credential = self.credential.lock().unwrap().clone();
        match credential.get_token(&[scope], None).await {
            Ok(token) => {
                let value = Secret::new(token.token.secret());
                *self.status.lock().unwrap() = AuthStatus {
                    authenticated: true,
                    last_error: None,
                };
                Ok(value)
            }
            Err(e) => {
                let reason = secret::redact(&first_line(&e.to_string()));
                tracing::warn!(%reason, "token request failed");
                *self.status.lock().unwrap() = AuthStatus {
                    authenticated: false,
                    last_error: Some(reason.clone()),
                };
                Err(CodedError::new(
                    ErrorCode::Auth001,
                    format!(
                        "Entra ID refused the app's credentials ({reason}). Check AZURE_TENANT_ID, AZURE_CLIENT_ID and AZURE_CLIENT_SECRET or AZURE_CERTIFICATE_PATH, and that the secret or certificate has not expired."
                    ),
                ))
            }
        }
    }

    /// Drops cached tokens so the next `token` asks the authority again;
    /// used when Graph says a token it was given has expired.
    pub fn refresh(&self) -> Result<(), CodedError> {
        let fresh = build_credential(&self.config)?;
        *self.credential.lock().unwrap() = fresh;
        Ok(())
    }
}

fn first_line(s: &str) -> String {
    // azure_core errors can be long; the first AADSTS line says what matters.
    let line = s
        .lines()
        .find(|l| l.contains("AADSTS"))
        .unwrap_or_else(|| s.lines().next().unwrap_or(""));
    line.chars().take(400).collect()
}

fn client_options(config: &AuthConfig) -> ClientOptions {
    let mut options = ClientOptions {
        transport: Some(Transport::new(Arc::new(config.http.clone()))),
        // The host's own retry policy applies to upstream requests; a failing
        // token endpoint should fail the call quickly and clearly.
        retry: RetryOptions::none(),
        ..Default::default()
    };
    if let Some(authority) = &config.authority {
        let mut custom = CustomConfiguration::default();
        custom.authority_host = authority.clone();
        options.cloud = Some(Arc::new(CloudConfiguration::Custom(custom)));
    }
    options
}

fn build_credential(config: &AuthConfig) -> Result<Arc<dyn TokenCredential>, CodedError> {
    let invalid = |what: String| {
        CodedError::new(
            ErrorCode::Auth001,
            format!("{what}. Check AZURE_TENANT_ID, AZURE_CLIENT_ID and the credential variables."),
        )
    };
    match &config.credentials {
        Credentials::Secret(secret) => {
            let options = ClientSecretCredentialOptions {
                client_options: client_options(config),
            };
            let credential = ClientSecretCredential::new(
                &config.tenant_id,
                config.client_id.clone(),
                azure_core::credentials::Secret::new(secret.expose().to_string()),
                Some(options),
            )
            .map_err(|e| {
                invalid(format!(
                    "The client-secret credential is invalid: {}",
                    secret::redact(&e.to_string())
                ))
            })?;
            Ok(credential)
        }
        Credentials::Certificate { path, password } => {
            let bytes = std::fs::read(path).map_err(|e| {
                invalid(format!(
                    "Cannot read AZURE_CERTIFICATE_PATH {} ({e})",
                    path.display()
                ))
            })?;
            let pkcs12 = to_pkcs12(&bytes, password.as_ref()).map_err(|e| {
                invalid(format!(
                    "AZURE_CERTIFICATE_PATH {} is neither a PEM certificate with its RSA private key nor a PKCS#12 file ({e})",
                    path.display()
                ))
            })?;
            let options = ClientCertificateCredentialOptions {
                client_options: client_options(config),
                password: pkcs12
                    .1
                    .map(|p| azure_core::credentials::Secret::new(p.expose().to_string())),
            };
            let credential = ClientCertificateCredential::new(
                config.tenant_id.clone(),
                config.client_id.clone(),
                SecretBytes::new(pkcs12.0),
                Some(options),
            )
            .map_err(|e| {
                invalid(format!(
                    "The certificate credential is invalid: {}",
                    secret::redact(&e.to_string())
                ))
            })?;
            Ok(credential)
        }
    }
}

/// Why a PEM file could not be converted to PKCS#12.
#[derive(Debug, thiserror::Error)]
enum PemError {
    #[error("no certificate in the PEM")]
    NoCertificate,
    #[error("no readable private key in the PEM")]
    NoKey,
    #[error("could not bundle the key and certificate: {0}")]
    Bundle(openssl::error::ErrorStack),
}

/// azure_identity takes PKCS#12; the spec's certificates are PEM (certificate
/// and private key in one file). PEM is converted in memory, never on disk.
fn to_pkcs12(
    bytes: &[u8],
    password: Option<&Secret>,
) -> Result<(Vec<u8>, Option<Secret>), PemError> {
    if !bytes.starts_with(b"-----") && !bytes.windows(11).any(|w| w == b"-----BEGIN ") {
        return Ok((bytes.to_vec(), password.cloned()));
    }
    let cert = openssl::x509::X509::from_pem(bytes).map_err(|_| PemError::NoCertificate)?;
    let key = match password {
        Some(p) => {
            openssl::pkey::PKey::private_key_from_pem_passphrase(bytes, p.expose().as_bytes())
        }
        None => openssl::pkey::PKey::private_key_from_pem(bytes),
    }
    .map_err(|_| PemError::NoKey)?;
    let der = openssl::pkcs12::Pkcs12::builder()
        .name("m365-admin")
        .pkey(&key)
        .cert(&cert)
        .build2("")
        .and_then(|p| p.to_der())
        .map_err(PemError::Bundle)?;
    Ok((der, None))
}

/// The `roles` claim of a JWT access token (application permissions), read
/// without checking the signature: this is for telling the administrator what
/// the token says, not for trusting it.
pub fn token_roles(token: &str) -> Vec<String> {
    use base64::Engine;
    let Some(payload) = token.split('.').nth(1) else {
        return Vec::new();
    };
    let Ok(bytes) =
        base64::engine::general_purpose::URL_SAFE_NO_PAD.decode(payload.trim_end_matches('='))
    else {
        return Vec::new();
    };
    serde_json::from_slice::<serde_json::Value>(&bytes)
        .ok()
        .and_then(|v| {
            v["roles"].as_array().map(|a| {
                a.iter()
                    .filter_map(|r| r.as_str().map(str::to_string))
                    .collect()
            })
        })
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn roles_are_read_from_the_token() {
        use base64::Engine;
        let payload = base64::engine::general_purpose::URL_SAFE_NO_PAD
            .encode(br#"{"roles":["User.Read.All","Mail.Send"]}"#);
        assert_eq!(
            token_roles(&format!("eyJhbGciOiJIUzI1NiJ9.{payload}.sig")),
            ["User.Read.All", "Mail.Send"]
        );
        assert!(token_roles("garbage").is_empty());
    }
}
