//! What the sandbox's HTTPS tests share: a sandbox started in a fresh folder with one
//! client-secret app registration, reached through `m365_sandbox::client` (the one client that
//! trusts its CA), the client-credentials token request, and a plain request with a bearer.

#![allow(dead_code)] // each test file uses its own part of this module

use std::path::PathBuf;

use m365_sandbox::client::SandboxClient;
use m365_sandbox::{AppRegistration, Sandbox, SandboxConfig, Tuning};
use serde_json::Value;

/// The app registration a test file's sandbox knows.
pub struct App {
    pub tenant: &'static str,
    pub client: &'static str,
    pub secret: &'static str,
}

/// A fresh folder under the system's temporary directory, named for the test file.
pub fn temp_dir(label: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("m365-sandbox-{label}-{}", uuid::Uuid::new_v4()));
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// The configuration of a sandbox in `dir` registering `app` (and, if given, its certificate).
pub fn config(
    dir: PathBuf,
    reset: bool,
    app: &App,
    certificate_pem: Option<String>,
    tuning: Tuning,
) -> SandboxConfig {
    SandboxConfig {
        data_dir: dir,
        reset,
        app: AppRegistration {
            tenant_id: app.tenant.into(),
            client_id: app.client.into(),
            client_secret: Some(app.secret.into()),
            certificate_pem,
            roles: AppRegistration::default_roles(),
        },
        tuning,
    }
}

/// Starts a sandbox and its client.
pub async fn start(config: SandboxConfig) -> (Sandbox, SandboxClient) {
    let sandbox = Sandbox::start(config).await.unwrap();
    let client = SandboxClient::for_sandbox(&sandbox).unwrap();
    (sandbox, client)
}

/// A form posted to `tenant`'s token endpoint: its status and JSON body.
pub async fn token_request(
    client: &SandboxClient,
    tenant: &str,
    form: &[(&str, &str)],
) -> (u16, Value) {
    let body = url::form_urlencoded::Serializer::new(String::new())
        .extend_pairs(form)
        .finish();
    let resp = client
        .http()
        .post(client.url(&format!("{tenant}/oauth2/v2.0/token")))
        .header("content-type", "application/x-www-form-urlencoded")
        .body(body)
        .send()
        .await
        .unwrap();
    let status = resp.status().as_u16();
    (status, resp.json().await.unwrap())
}

/// A token for `app` and `scope` by the client-credentials grant with its secret.
pub async fn token(client: &SandboxClient, app: &App, scope: &str) -> String {
    let (status, body) = token_request(
        client,
        app.tenant,
        &[
            ("grant_type", "client_credentials"),
            ("client_id", app.client),
            ("client_secret", app.secret),
            ("scope", scope),
        ],
    )
    .await;
    assert_eq!(status, 200, "{body}");
    body["access_token"].as_str().unwrap().to_string()
}

/// A request to `path` (relative to the sandbox's root) with an optional bearer token and JSON
/// body: the status, the headers and the body as text.
pub async fn send(
    client: &SandboxClient,
    method: &str,
    path: &str,
    token: Option<&str>,
    body: Option<&Value>,
) -> (u16, reqwest::header::HeaderMap, String) {
    let method = reqwest::Method::from_bytes(method.as_bytes()).unwrap();
    let mut req = client
        .http()
        .request(method, client.url(path.trim_start_matches('/')));
    if let Some(t) = token {
        req = req.bearer_auth(t);
    }
    if let Some(b) = body {
        req = req.json(b);
    }
    let resp = req.send().await.unwrap();
    let status = resp.status().as_u16();
    let headers = resp.headers().clone();
    (status, headers, resp.text().await.unwrap())
}

/// The control API's answer to `method path` with an optional JSON body.
pub async fn control(
    client: &SandboxClient,
    method: &str,
    path: &str,
    body: Option<Value>,
) -> (u16, Value) {
    let method = reqwest::Method::from_bytes(method.as_bytes()).unwrap();
    client.control(method, path, body.as_ref()).await.unwrap()
}
