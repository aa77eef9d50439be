//! This binary started as `serve --sandbox` in a folder of its own and
//! spoken to as an MCP client would: JSON-RPC lines over its stdio, many
//! calls in flight at once, answers routed back by id. Plus the sandbox
//! tenant's control API (faults, request log, state) over its TLS endpoint.
//! Used by `soak`, which must see the server exactly as Claude Code does.

use serde_json::{Value, json};
use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
use tokio::process::{Child, ChildStdin, Command};
use tokio::sync::{Mutex as AsyncMutex, oneshot};

type Pending = Arc<Mutex<HashMap<u64, oneshot::Sender<Value>>>>;

/// A running `serve --sandbox` child.
pub struct ChildServer {
    child: Child,
    stdin: AsyncMutex<Option<ChildStdin>>,
    pending: Pending,
    next_id: AtomicU64,
    dir: PathBuf,
}

/// The environment of a child server whose data lives in `dir`.
pub fn command(dir: &Path, extra_env: &[(&str, &str)]) -> Command {
    let exe = std::env::current_exe().unwrap_or_else(|_| PathBuf::from("m365-admin"));
    let mut cmd = Command::new(exe);
    cmd.env("HOME", dir)
        .env("DATABASE_PATH", dir.join("data/m365_admin.db"))
        .env("M365_PLUGIN_DIR", dir.join("plugins"))
        .env("LOG_FILE", dir.join("server.log"))
        .env_remove("DB_ENCRYPTION_KEY")
        .env_remove("DB_ENCRYPTION_KEY_FILE");
    for (k, v) in extra_env {
        cmd.env(k, v);
    }
    cmd
}

impl ChildServer {
    /// Starts the server and completes the MCP handshake.
    pub async fn start(dir: &Path, extra_env: &[(&str, &str)]) -> std::io::Result<ChildServer> {
        let mut child = command(dir, extra_env)
            .args(["serve", "--sandbox"])
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .kill_on_drop(true)
            .spawn()?;
        let stdin = child.stdin.take().expect("piped stdin");
        let stdout = child.stdout.take().expect("piped stdout");
        let pending: Pending = Arc::default();
        let routes = pending.clone();
        tokio::spawn(async move {
            let mut lines = BufReader::new(stdout).lines();
            while let Ok(Some(line)) = lines.next_line().await {
                let Ok(v) = serde_json::from_str::<Value>(&line) else {
                    continue;
                };
                let Some(id) = v["id"].as_u64() else { continue };
                let waiter = routes.lock().unwrap_or_else(|e| e.into_inner()).remove(&id);
                if let Some(w) = waiter {
                    let _ = w.send(v);
                }
            }
            // The server is gone: fail whoever still waits.
            routes.lock().unwrap_or_else(|e| e.into_inner()).clear();
        });
        let server = ChildServer {
            child,
            stdin: AsyncMutex::new(Some(stdin)),
            pending,
            next_id: AtomicU64::new(1),
            dir: dir.to_path_buf(),
        };
        let init = server
            .request(
                "initialize",
                json!({"protocolVersion": "2025-06-18", "capabilities": {},
                       "clientInfo": {"name": "m365-admin-soak", "version": env!("CARGO_PKG_VERSION")}}),
            )
            .await;
        if init.get("result").is_none() {
            return Err(std::io::Error::other(format!(
                "the server did not initialize: {init}"
            )));
        }
        server
            .write_line(
                &json!({"jsonrpc": "2.0", "method": "notifications/initialized"}).to_string(),
            )
            .await;
        Ok(server)
    }

    pub fn pid(&self) -> Option<u32> {
        self.child.id()
    }

    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// Writes one raw line (which need not be valid JSON-RPC).
    pub async fn write_line(&self, line: &str) -> bool {
        let mut stdin = self.stdin.lock().await;
        let Some(w) = stdin.as_mut() else {
            return false;
        };
        let mut bytes = line.as_bytes().to_vec();
        bytes.push(b'\n');
        w.write_all(&bytes).await.is_ok() && w.flush().await.is_ok()
    }

    /// Sends a request and waits for its answer; `Value::Null` if the
    /// server went away first.
    pub async fn request(&self, method: &str, params: Value) -> Value {
        let id = self.next_id.fetch_add(1, Ordering::Relaxed);
        let (tx, rx) = oneshot::channel();
        self.pending
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .insert(id, tx);
        let msg = json!({"jsonrpc": "2.0", "id": id, "method": method, "params": params});
        if !self.write_line(&msg.to_string()).await {
            return Value::Null;
        }
        rx.await.unwrap_or(Value::Null)
    }

    /// `tools/call`; the JSON-RPC answer as it came.
    pub async fn call(&self, tool: &str, arguments: Value) -> Value {
        self.request("tools/call", json!({"name": tool, "arguments": arguments}))
            .await
    }

    /// Resident set size or its high-water mark (`VmRSS:`, `VmHWM:`), in KiB.
    pub fn status_kb(&self, field: &str) -> u64 {
        let Some(pid) = self.pid() else { return 0 };
        std::fs::read_to_string(format!("/proc/{pid}/status"))
            .ok()
            .and_then(|s| {
                s.lines()
                    .find(|l| l.starts_with(field))
                    .and_then(|l| l.split_whitespace().nth(1))
                    .and_then(|n| n.parse().ok())
            })
            .unwrap_or(0)
    }

    /// Open file descriptors.
    pub fn open_fds(&self) -> usize {
        let Some(pid) = self.pid() else { return 0 };
        std::fs::read_dir(format!("/proc/{pid}/fd")).map_or(0, |d| d.count())
    }

    /// Closes stdin, as a client that quits does, and waits for the exit.
    pub async fn stop(mut self) -> Option<i32> {
        self.stdin.lock().await.take();
        let waited =
            tokio::time::timeout(std::time::Duration::from_secs(30), self.child.wait()).await;
        match waited {
            Ok(Ok(status)) => status.code(),
            _ => {
                let _ = self.child.kill().await;
                None
            }
        }
    }
}

/// Whether a `tools/call` answer is a success, and its structured content.
pub fn outcome(answer: &Value) -> Result<&Value, Option<&str>> {
    let result = &answer["result"];
    if result.is_null() {
        return Err(None);
    }
    if result["isError"] == true {
        return Err(result["structuredContent"]["error"]["code"].as_str());
    }
    Ok(&result["structuredContent"])
}

/// The sandbox tenant's control API, found through the endpoint file the
/// sandbox writes beside the database.
pub struct SandboxControl {
    base: String,
    http: reqwest::Client,
}

impl SandboxControl {
    pub fn open(dir: &Path) -> Result<SandboxControl, String> {
        let path = dir.join("data/sandbox/endpoint.json");
        let text =
            std::fs::read_to_string(&path).map_err(|e| format!("{}: {e}", path.display()))?;
        let v: Value = serde_json::from_str(&text).map_err(|e| e.to_string())?;
        let mut roots = rustls::RootCertStore::empty();
        let pem = v["caCertPem"].as_str().unwrap_or_default();
        for cert in rustls::pki_types::pem::PemObject::pem_slice_iter(pem.as_bytes()) {
            let cert = cert.map_err(|e| e.to_string())?;
            roots.add(cert).map_err(|e| e.to_string())?;
        }
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let tls = rustls::ClientConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()
            .map_err(|e| e.to_string())?
            .with_root_certificates(roots)
            .with_no_client_auth();
        let http = reqwest::Client::builder()
            .tls_backend_preconfigured(tls)
            .build()
            .map_err(|e| e.to_string())?;
        Ok(SandboxControl {
            base: v["baseUrl"]
                .as_str()
                .unwrap_or_default()
                .trim_end_matches('/')
                .to_string(),
            http,
        })
    }

    pub async fn get(&self, path: &str) -> Value {
        match self.http.get(format!("{}{path}", self.base)).send().await {
            Ok(r) => r.json().await.unwrap_or(Value::Null),
            Err(_) => Value::Null,
        }
    }

    pub async fn delete(&self, path: &str) -> bool {
        self.http
            .delete(format!("{}{path}", self.base))
            .send()
            .await
            .is_ok_and(|r| r.status().is_success())
    }

    pub async fn put(&self, path: &str, body: &Value) -> bool {
        self.http
            .put(format!("{}{path}", self.base))
            .json(body)
            .send()
            .await
            .is_ok_and(|r| r.status().is_success())
    }

    pub async fn post(&self, path: &str, body: &Value) -> bool {
        self.http
            .post(format!("{}{path}", self.base))
            .json(body)
            .send()
            .await
            .is_ok_and(|r| r.status().is_success())
    }
}
