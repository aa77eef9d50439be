//! Starts the real `m365-admin serve --sandbox` in a temporary data directory
//! and speaks MCP to it over stdio with the rmcp client; reaches the sandbox
//! tenant's control API (request log, faults, seats) through the endpoint file
//! the sandbox writes into the data directory.

use rmcp::model::{CallToolRequestParams, CallToolResult, ReadResourceRequestParams};
use rmcp::service::RunningService;
use rmcp::transport::TokioChildProcess;
use rmcp::{RoleClient, ServiceExt};
use serde_json::{Value, json};
use std::path::{Path, PathBuf};

pub const BIN: &str = env!("CARGO_BIN_EXE_m365-admin");
/// Distinctive values that must never appear in any output.
pub const SENTINEL_SECRET: &str = "Sentinel~ClientSecret~9f3b71";
pub const SENTINEL_PASSWORD: &str = "Sentinel#Passw0rd!4711";

/// One compiled-component cache for the whole suite, so each server start
/// after the first loads plugins without compiling them.
pub fn shared_cache() -> PathBuf {
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join("e2e-cache");
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

#[derive(Default)]
pub struct Options {
    pub env: Vec<(String, String)>,
    pub probe: bool,
}

impl Options {
    pub fn env(mut self, k: &str, v: &str) -> Self {
        self.env.push((k.into(), v.into()));
        self
    }

    pub fn with_probe(mut self) -> Self {
        self.probe = true;
        self
    }
}

pub struct Server {
    pub client: RunningService<RoleClient, ()>,
    pub dir: tempfile::TempDir,
}

pub fn base_command(dir: &Path) -> tokio::process::Command {
    let mut cmd = tokio::process::Command::new(BIN);
    cmd.env_clear()
        .env("PATH", std::env::var("PATH").unwrap_or_default())
        .env("HOME", dir)
        .env("DATABASE_PATH", dir.join("data/m365_admin.db"))
        .env("M365_CACHE_DIR", shared_cache())
        .env("M365_PLUGIN_DIR", dir.join("plugins"))
        .env("LOG_FILE", dir.join("server.log"))
        .env("LOG_LEVEL", "debug")
        .env("AZURE_CLIENT_SECRET", SENTINEL_SECRET)
        .env("M365_SANDBOX_MAILBOX_DELAY_MS", "1500")
        .env("M365_RETRY_BASE_MS", "100");
    cmd
}

impl Server {
    pub async fn start(opts: Options) -> Server {
        let dir = tempfile::tempdir().unwrap();
        if opts.probe {
            let target = dir.path().join("plugins/probe");
            std::fs::create_dir_all(&target).unwrap();
            std::fs::copy(
                env!("M365_TEST_PLUGIN_PROBE_WASM"),
                target.join("probe.wasm"),
            )
            .unwrap();
            std::fs::copy(
                env!("M365_TEST_PLUGIN_PROBE_MANIFEST"),
                target.join("manifest.toml"),
            )
            .unwrap();
        }
        let mut cmd = base_command(dir.path());
        cmd.args(["serve", "--sandbox"]);
        for (k, v) in &opts.env {
            cmd.env(k, v);
        }
        let stderr = std::fs::File::create(dir.path().join("stderr.log")).unwrap();
        let (transport, _) = TokioChildProcess::builder(cmd)
            .stderr(stderr)
            .spawn()
            .unwrap();
        let client = ().serve(transport).await.expect("MCP initialize");
        Server { client, dir }
    }

    /// Calls a tool; the result as the client sees it.
    pub async fn call(&self, tool: &str, args: Value) -> CallToolResult {
        let Value::Object(map) = args else {
            panic!("arguments must be an object")
        };
        let result = self
            .client
            .call_tool(CallToolRequestParams::new(tool.to_string()).with_arguments(map))
            .await
            .unwrap_or_else(|e| panic!("{tool}: protocol error {e}"));
        let text = text_of(&result);
        self.record(&text);
        result
    }

    /// Calls a tool that must succeed; its structured result.
    pub async fn ok(&self, tool: &str, args: Value) -> Value {
        let r = self.call(tool, args).await;
        assert_ne!(r.is_error, Some(true), "{tool} failed: {}", text_of(&r));
        r.structured_content.clone().expect("structured result")
    }

    /// Calls a tool that must fail; its error object (code, message, details).
    pub async fn err(&self, tool: &str, args: Value) -> Value {
        let r = self.call(tool, args).await;
        assert_eq!(
            r.is_error,
            Some(true),
            "{tool} unexpectedly succeeded: {}",
            text_of(&r)
        );
        r.structured_content.clone().expect("structured error")["error"].clone()
    }

    pub async fn read(&self, uri: &str) -> Value {
        let r = self
            .client
            .read_resource(ReadResourceRequestParams::new(uri.to_string()))
            .await
            .unwrap_or_else(|e| panic!("read {uri}: {e}"));
        let text = match &r.contents[0] {
            rmcp::model::ResourceContents::TextResourceContents { text, .. } => text.clone(),
            other => panic!("unexpected contents {other:?}"),
        };
        self.record(&text);
        serde_json::from_str(&text).unwrap()
    }

    /// Everything the client was shown is kept, to check for leaked secrets.
    fn record(&self, text: &str) {
        use std::io::Write;
        let mut f = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(self.dir.path().join("results.log"))
            .unwrap();
        writeln!(f, "{text}").unwrap();
    }

    pub fn sandbox(&self) -> Sandbox {
        Sandbox::open(self.dir.path())
    }

    /// Stops the server and returns (stderr, log file, results shown).
    pub async fn finish(self) -> (String, String, String) {
        let _ = self.client.cancel().await;
        tokio::time::sleep(std::time::Duration::from_millis(200)).await;
        let read = |n: &str| std::fs::read_to_string(self.dir.path().join(n)).unwrap_or_default();
        (read("stderr.log"), read("server.log"), read("results.log"))
    }
}

pub fn text_of(r: &CallToolResult) -> String {
    r.content
        .iter()
        .filter_map(|c| c.as_text().map(|t| t.text.clone()))
        .collect::<Vec<_>>()
        .join("\n")
}

/// The sandbox tenant's control API.
pub struct Sandbox {
    base: String,
    http: reqwest::Client,
}

impl Sandbox {
    pub fn open(dir: &Path) -> Sandbox {
        let path = dir.join("data/sandbox/endpoint.json");
        let v: Value = serde_json::from_str(
            &std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display())),
        )
        .unwrap();
        let provider = std::sync::Arc::new(rustls::crypto::ring::default_provider());
        let mut roots = rustls::RootCertStore::empty();
        for c in rustls::pki_types::pem::PemObject::pem_slice_iter(
            v["caCertPem"].as_str().unwrap().as_bytes(),
        ) {
            roots.add(c.unwrap()).unwrap();
        }
        let tls = rustls::ClientConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()
            .unwrap()
            .with_root_certificates(roots)
            .with_no_client_auth();
        let http = reqwest::Client::builder()
            .tls_backend_preconfigured(tls)
            .build()
            .unwrap();
        Sandbox {
            base: v["baseUrl"]
                .as_str()
                .unwrap()
                .trim_end_matches('/')
                .to_string(),
            http,
        }
    }

    pub async fn get(&self, path: &str) -> Value {
        self.http
            .get(format!("{}{path}", self.base))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap()
    }

    pub async fn send(&self, method: reqwest::Method, path: &str, body: Option<Value>) {
        let mut req = self.http.request(method, format!("{}{path}", self.base));
        if let Some(b) = body {
            req = req.json(&b);
        }
        let resp = req.send().await.unwrap();
        assert!(resp.status().is_success(), "{path}: {}", resp.status());
    }

    /// Graph requests (under /v1.0) the sandbox has seen since the last clear.
    pub async fn graph_requests(&self) -> Vec<Value> {
        let all = self.get("/_sandbox/requests").await;
        all.as_array()
            .unwrap()
            .iter()
            .filter(|r| r["path"].as_str().unwrap_or("").starts_with("/v1.0"))
            .cloned()
            .collect()
    }

    pub async fn clear_requests(&self) {
        self.send(reqwest::Method::DELETE, "/_sandbox/requests", None)
            .await;
    }

    pub async fn fault(&self, fault: Value) {
        self.send(reqwest::Method::POST, "/_sandbox/faults", Some(fault))
            .await;
    }

    pub async fn set_seats(&self, part: &str, enabled: u32) {
        self.send(
            reqwest::Method::PUT,
            &format!("/_sandbox/skus/{part}"),
            Some(json!({"enabled": enabled})),
        )
        .await;
    }

    pub async fn state(&self) -> Value {
        self.get("/_sandbox/state").await
    }
}
