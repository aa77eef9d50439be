//! The sandbox tenant's control API (`/_sandbox/...`: request log, faults,
//! seats, state, outbox), reached over its TLS with its own CA as
//! `endpoint.json` in its folder describes it. The bench and the soak use
//! it only through this module, so it can become the sandbox crate's own
//! client without touching them.

use crate::fail;
use serde_json::Value;
use std::path::Path;

/// The sandbox tenant's control API (`/_sandbox/...`), reached over its
/// TLS with its own CA, as `endpoint.json` in its folder describes it.
pub struct Control {
    http: reqwest::Client,
    base: url::Url,
}

impl Control {
    pub async fn connect(sandbox_dir: &Path) -> std::io::Result<Control> {
        let text = tokio::fs::read_to_string(sandbox_dir.join("endpoint.json")).await?;
        let v: Value = serde_json::from_str(&text).map_err(|e| fail(e.to_string()))?;
        let base = url::Url::parse(v["baseUrl"].as_str().unwrap_or(""))
            .map_err(|e| fail(format!("sandbox endpoint: {e}")))?;
        let http = m365_admin::http_client::build(v["caCertPem"].as_str())
            .map_err(|e| fail(format!("sandbox CA: {e}")))?;
        Ok(Control { http, base })
    }

    async fn send(
        &self,
        method: reqwest::Method,
        path: &str,
        body: Option<Value>,
    ) -> std::io::Result<Value> {
        let url = self
            .base
            .join(&format!("_sandbox/{path}"))
            .map_err(|e| fail(e.to_string()))?;
        let mut req = self.http.request(method, url);
        if let Some(b) = body {
            req = req.json(&b);
        }
        let resp = req
            .send()
            .await
            .map_err(|e| fail(format!("sandbox control: {e}")))?;
        if !resp.status().is_success() {
            return Err(fail(format!(
                "sandbox control {path}: HTTP {}",
                resp.status()
            )));
        }
        Ok(resp.json().await.unwrap_or(Value::Null))
    }

    pub async fn get(&self, path: &str) -> std::io::Result<Value> {
        self.send(reqwest::Method::GET, path, None).await
    }

    pub async fn delete(&self, path: &str) -> std::io::Result<Value> {
        self.send(reqwest::Method::DELETE, path, None).await
    }

    pub async fn put(&self, path: &str, body: Value) -> std::io::Result<Value> {
        self.send(reqwest::Method::PUT, path, Some(body)).await
    }

    pub async fn post(&self, path: &str, body: Value) -> std::io::Result<Value> {
        self.send(reqwest::Method::POST, path, Some(body)).await
    }
}
