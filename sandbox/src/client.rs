//! The client of a running sandbox, for whatever drives one from outside — the host's sandbox
//! mode, the end-to-end suite, the bench and soak runs, this crate's own tests: HTTPS that
//! trusts the sandbox's CA and nothing else (reqwest over rustls with the ring provider, the
//! workspace's one TLS stack, so the real TLS path runs without a bypass), and typed calls of
//! the control API under `/_sandbox/` (request log, faults, seats, tuning, state, outbox,
//! channel addresses, the add-in catalogue).
//!
//! ```no_run
//! # async fn demo(sandbox: &m365_sandbox::Sandbox) -> Result<(), m365_sandbox::client::ClientError> {
//! use m365_sandbox::client::SandboxClient;
//! let client = SandboxClient::for_sandbox(sandbox)?;
//! client.add_fault(&serde_json::json!({"pathPrefix": "/v1.0/users", "status": 503, "times": 1})).await?;
//! let users = client.http().get(client.url("v1.0/users")).send().await?;
//! # let _ = users; Ok(()) }
//! ```

use std::path::{Path, PathBuf};
use std::sync::Arc;

use reqwest::Method;
use rustls::pki_types::CertificateDer;
use rustls::pki_types::pem::PemObject;
use serde_json::{Value, json};
use url::Url;

use crate::sandbox::Sandbox;

/// Why a call of the sandbox failed.
#[derive(thiserror::Error, Debug)]
#[non_exhaustive]
pub enum ClientError {
    #[error("the sandbox endpoint file {path} is unusable: {message}")]
    Endpoint { path: PathBuf, message: String },
    #[error("the sandbox's CA certificate is unusable: {0}")]
    Ca(String),
    #[error("the sandbox could not be reached: {0}")]
    Http(#[from] reqwest::Error),
    #[error("the sandbox's control API answered {status} to {method} /_sandbox/{path}: {body}")]
    Status {
        method: Method,
        path: String,
        status: u16,
        body: String,
    },
}

/// A rustls configuration that trusts only the CA certificates in `ca_pem`.
pub fn tls_config(ca_pem: &str) -> Result<rustls::ClientConfig, ClientError> {
    let mut roots = rustls::RootCertStore::empty();
    for cert in CertificateDer::pem_slice_iter(ca_pem.as_bytes()) {
        let cert = cert.map_err(|e| ClientError::Ca(e.to_string()))?;
        roots
            .add(cert)
            .map_err(|e| ClientError::Ca(e.to_string()))?;
    }
    if roots.is_empty() {
        return Err(ClientError::Ca("no certificate in the PEM".into()));
    }
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    Ok(rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|e| ClientError::Ca(e.to_string()))?
        .with_root_certificates(roots)
        .with_no_client_auth())
}

/// A `reqwest` client builder whose TLS trusts only the CA in `ca_pem`, for a caller that sets
/// its own timeouts, user agent or redirect policy.
pub fn trusting(ca_pem: &str) -> Result<reqwest::ClientBuilder, ClientError> {
    Ok(reqwest::Client::builder().tls_backend_preconfigured(tls_config(ca_pem)?))
}

/// HTTPS to one sandbox, and its control API.
#[derive(Clone, Debug)]
pub struct SandboxClient {
    base: Url,
    http: reqwest::Client,
}

impl SandboxClient {
    /// A client of the sandbox at `base_url` (`https://127.0.0.1:PORT/`) whose server
    /// certificate `ca_pem` signed.
    pub fn new(base_url: &Url, ca_pem: &str) -> Result<SandboxClient, ClientError> {
        Ok(SandboxClient {
            base: base_url.clone(),
            http: trusting(ca_pem)?.build()?,
        })
    }

    /// A client of a sandbox this process started.
    pub fn for_sandbox(sandbox: &Sandbox) -> Result<SandboxClient, ClientError> {
        SandboxClient::new(sandbox.base_url(), sandbox.ca_cert_pem())
    }

    /// A client of the sandbox whose `endpoint.json` is in `data_dir` (another process's, as
    /// `m365-admin serve --sandbox` writes it).
    pub fn from_endpoint_file(data_dir: &Path) -> Result<SandboxClient, ClientError> {
        let path = data_dir.join("endpoint.json");
        let bad = |message: String| ClientError::Endpoint {
            path: path.clone(),
            message,
        };
        let text = std::fs::read_to_string(&path).map_err(|e| bad(e.to_string()))?;
        let v: Value = serde_json::from_str(&text).map_err(|e| bad(e.to_string()))?;
        let base = v["baseUrl"]
            .as_str()
            .ok_or_else(|| bad("it has no baseUrl".into()))
            .and_then(|u| Url::parse(u).map_err(|e| bad(e.to_string())))?;
        let ca = v["caCertPem"]
            .as_str()
            .ok_or_else(|| bad("it has no caCertPem".into()))?;
        SandboxClient::new(&base, ca)
    }

    /// The HTTPS client, for Graph, Exchange and token requests of one's own.
    pub fn http(&self) -> &reqwest::Client {
        &self.http
    }

    /// `https://127.0.0.1:PORT/`.
    pub fn base_url(&self) -> &Url {
        &self.base
    }

    /// The absolute URL of `path` (`v1.0/users`, `/_sandbox/state`, …).
    pub fn url(&self, path: &str) -> String {
        format!("{}{}", self.base, path.trim_start_matches('/'))
    }

    /// A control-API call of any outcome: the status and the JSON body (`Null` when there is
    /// none). `path` is below `/_sandbox/`.
    pub async fn control(
        &self,
        method: Method,
        path: &str,
        body: Option<&Value>,
    ) -> Result<(u16, Value), ClientError> {
        let mut req = self
            .http
            .request(method, self.url(&format!("_sandbox/{path}")));
        if let Some(b) = body {
            req = req.json(b);
        }
        let resp = req.send().await?;
        let status = resp.status().as_u16();
        let text = resp.text().await?;
        Ok((status, serde_json::from_str(&text).unwrap_or(Value::Null)))
    }

    /// A control-API call that must succeed; its JSON body (`Null` when there is none).
    async fn call(
        &self,
        method: Method,
        path: &str,
        body: Option<&Value>,
    ) -> Result<Value, ClientError> {
        let (status, value) = self.control(method.clone(), path, body).await?;
        if (200..300).contains(&status) {
            Ok(value)
        } else {
            Err(ClientError::Status {
                method,
                path: path.to_string(),
                status,
                body: value.to_string(),
            })
        }
    }

    /// Every token, Graph, Exchange and control request the sandbox has logged, oldest first.
    pub async fn requests(&self) -> Result<Vec<Value>, ClientError> {
        Ok(array(self.call(Method::GET, "requests", None).await?))
    }

    /// The logged Graph requests (those under `/v1.0`).
    pub async fn graph_requests(&self) -> Result<Vec<Value>, ClientError> {
        let mut all = self.requests().await?;
        all.retain(|r| r["path"].as_str().unwrap_or_default().starts_with("/v1.0"));
        Ok(all)
    }

    pub async fn clear_requests(&self) -> Result<(), ClientError> {
        self.call(Method::DELETE, "requests", None).await.map(drop)
    }

    /// The queued faults.
    pub async fn faults(&self) -> Result<Vec<Value>, ClientError> {
        Ok(array(self.call(Method::GET, "faults", None).await?))
    }

    /// Queues a fault (`{"method", "pathPrefix", "cmdlet", "status", "retryAfter", "times",
    /// "latencyMs", "body": "malformed", "reset": "before"|"after", "redirect"}`); the sandbox
    /// echoes it.
    pub async fn add_fault(&self, fault: &Value) -> Result<Value, ClientError> {
        self.call(Method::POST, "faults", Some(fault)).await
    }

    pub async fn clear_faults(&self) -> Result<(), ClientError> {
        self.call(Method::DELETE, "faults", None).await.map(drop)
    }

    /// Sets the purchased seats of a SKU by part number; its seats and consumed units.
    pub async fn set_seats(
        &self,
        sku_part_number: &str,
        enabled: u32,
    ) -> Result<Value, ClientError> {
        let body = json!({ "enabled": enabled });
        self.call(Method::PUT, &format!("skus/{sku_part_number}"), Some(&body))
            .await
    }

    /// The delays and lifetimes in effect.
    /// Gives the app's service principal exactly these directory roles (template ids or
    /// display names, e.g. "Global Reader").
    pub async fn set_app_roles(&self, roles: &[&str]) -> Result<(), ClientError> {
        self.call(Method::PUT, "appRoles", Some(&json!({ "roles": roles })))
            .await
            .map(drop)
    }

    pub async fn tuning(&self) -> Result<Value, ClientError> {
        self.call(Method::GET, "tuning", None).await
    }

    /// Changes some of them (`mailboxProvisioningDelayMs`, `tokenLifetimeSecs`, `latencyMs`,
    /// `teamReplicationMisses`, `teamProvisioningPolls`); all of them after.
    pub async fn set_tuning(&self, patch: &Value) -> Result<Value, ClientError> {
        self.call(Method::PATCH, "tuning", Some(patch)).await
    }

    /// The tenant as persisted, with each user's mailbox state, each SKU's consumed seats, the
    /// teams, the emulated cmdlets and the add-in catalogue.
    pub async fn state(&self) -> Result<Value, ClientError> {
        self.call(Method::GET, "state", None).await
    }

    /// The messages sendMail accepted, oldest first.
    pub async fn outbox(&self) -> Result<Vec<Value>, ClientError> {
        Ok(array(self.call(Method::GET, "outbox", None).await?))
    }

    pub async fn clear_outbox(&self) -> Result<(), ClientError> {
        self.call(Method::DELETE, "outbox", None).await.map(drop)
    }

    /// What the Teams client's "Get email address" does for a channel; the address.
    pub async fn provision_channel_email(
        &self,
        team_id: &str,
        channel_id: &str,
    ) -> Result<String, ClientError> {
        let body = json!({"teamId": team_id, "channelId": channel_id});
        let v = self.call(Method::POST, "channelEmail", Some(&body)).await?;
        Ok(v["email"].as_str().unwrap_or_default().to_string())
    }

    pub async fn remove_channel_email(
        &self,
        team_id: &str,
        channel_id: &str,
    ) -> Result<(), ClientError> {
        let body = json!({"teamId": team_id, "channelId": channel_id});
        self.call(Method::DELETE, "channelEmail", Some(&body))
            .await
            .map(drop)
    }

    /// The add-in catalogue: each manifest's name, URL, content type and size.
    pub async fn addins(&self) -> Result<Vec<Value>, ClientError> {
        Ok(array(self.call(Method::GET, "addins", None).await?))
    }

    /// Adds (or replaces) a manifest in the catalogue; its entry.
    pub async fn put_addin(
        &self,
        name: &str,
        content_type: &str,
        body: impl Into<reqwest::Body>,
    ) -> Result<Value, ClientError> {
        let path = format!("addins/{name}");
        let resp = self
            .http
            .put(self.url(&format!("_sandbox/{path}")))
            .header(reqwest::header::CONTENT_TYPE, content_type)
            .body(body)
            .send()
            .await?;
        let status = resp.status().as_u16();
        let text = resp.text().await?;
        if (200..300).contains(&status) {
            Ok(serde_json::from_str(&text).unwrap_or(Value::Null))
        } else {
            Err(ClientError::Status {
                method: Method::PUT,
                path,
                status,
                body: text,
            })
        }
    }

    pub async fn remove_addin(&self, name: &str) -> Result<(), ClientError> {
        self.call(Method::DELETE, &format!("addins/{name}"), None)
            .await
            .map(drop)
    }
}

fn array(v: Value) -> Vec<Value> {
    match v {
        Value::Array(items) => items,
        _ => Vec::new(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn trusts_only_a_usable_ca() {
        let tls = crate::tls::generate().unwrap();
        assert!(tls_config(&tls.ca_cert_pem).is_ok());
        for bad in [
            "",
            "not a certificate",
            "-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n",
        ] {
            assert!(
                matches!(tls_config(bad), Err(ClientError::Ca(_))),
                "{bad:?}"
            );
        }
    }

    #[test]
    fn endpoint_file_errors_say_which_file() {
        let dir =
            std::env::temp_dir().join(format!("m365-sandbox-client-{}", uuid::Uuid::new_v4()));
        std::fs::create_dir_all(&dir).unwrap();
        let e = SandboxClient::from_endpoint_file(&dir).unwrap_err();
        assert!(e.to_string().contains("endpoint.json"), "{e}");
        std::fs::write(
            dir.join("endpoint.json"),
            r#"{"baseUrl": "https://127.0.0.1:1/"}"#,
        )
        .unwrap();
        let e = SandboxClient::from_endpoint_file(&dir).unwrap_err();
        assert!(e.to_string().contains("caCertPem"), "{e}");
        let _ = std::fs::remove_dir_all(&dir);
    }
}
