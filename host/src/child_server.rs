//! This binary started as `serve --sandbox` in a folder of its own and
//! spoken to as an MCP client would: JSON-RPC lines over its stdio, many
//! requests in flight at once, answers routed back by id; and the sandbox
//! tenant's control API beside it. `bench` and `soak` measure and exercise
//! the server through it, exactly as Claude Code sees it.

use serde_json::{Value, json};
use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
use tokio::process::{Child, ChildStdin, Command};
use tokio::sync::oneshot;

pub fn fail(what: impl Into<String>) -> std::io::Error {
    std::io::Error::other(what.into())
}

/// How to start one server: `serve --sandbox` on its own data folder, with
/// a clean environment (nothing of the caller's configuration leaks in).
#[derive(Clone)]
pub struct Launch {
    pub dir: PathBuf,
    pub args: Vec<String>,
    pub env: Vec<(String, String)>,
}

impl Launch {
    pub fn sandbox(dir: &Path, cache: &Path) -> Launch {
        let s = |p: &Path| p.display().to_string();
        Launch {
            dir: dir.to_path_buf(),
            args: vec!["serve".into(), "--sandbox".into()],
            env: vec![
                ("HOME".into(), s(dir)),
                ("DATABASE_PATH".into(), s(&dir.join("data/m365_admin.db"))),
                ("M365_CACHE_DIR".into(), s(cache)),
                ("M365_PLUGIN_DIR".into(), s(&dir.join("plugins"))),
                ("RATE_LIMIT_ENABLED".into(), "false".into()),
                ("M365_BACKUP_INTERVAL_SECS".into(), "0".into()),
                ("LOG_LEVEL".into(), "warn".into()),
            ],
        }
    }

    /// Sets (or replaces) one environment variable.
    pub fn env(mut self, key: &str, value: impl Into<String>) -> Launch {
        self.env.retain(|(k, _)| k != key);
        self.env.push((key.into(), value.into()));
        self
    }

    pub fn args(mut self, args: &[&str]) -> Launch {
        self.args = args.iter().map(|a| a.to_string()).collect();
        self
    }

    pub fn command(&self) -> Command {
        let exe = std::env::current_exe().unwrap_or_else(|_| PathBuf::from("m365-admin"));
        let mut cmd = Command::new(exe);
        cmd.args(&self.args)
            .env_clear()
            .env("PATH", std::env::var("PATH").unwrap_or_default())
            .envs(self.env.iter().map(|(k, v)| (k, v)))
            .kill_on_drop(true);
        cmd
    }

    /// The sandbox tenant's control endpoint (once the server has started).
    pub async fn control(&self) -> std::io::Result<Control> {
        Control::connect(&self.dir.join("data/sandbox")).await
    }

    /// Approves and installs a plugin folder the way an administrator does
    /// (`plugins add --yes --sandbox`); returns what it printed.
    pub async fn approve(&self, plugin: &Path) -> std::io::Result<Value> {
        let path = plugin.display().to_string();
        let out = self
            .clone()
            .args(&["plugins", "add", &path, "--yes", "--sandbox"])
            .command()
            .stdin(Stdio::null())
            .output()
            .await?;
        if !out.status.success() {
            return Err(fail(format!(
                "plugins add {path} failed: {}",
                String::from_utf8_lossy(&out.stderr)
                    .lines()
                    .last()
                    .unwrap_or("")
            )));
        }
        Ok(serde_json::from_slice(&out.stdout).unwrap_or(Value::Null))
    }

    /// The audit trail's rows from `since` on (`audit export --sandbox`),
    /// read while the server runs.
    pub async fn audit_since(&self, since: time::OffsetDateTime) -> std::io::Result<Vec<Value>> {
        let since = since
            .format(&time::format_description::well_known::Rfc3339)
            .map_err(|e| fail(e.to_string()))?;
        let out = self
            .clone()
            .args(&["audit", "export", "--sandbox", "--since", &since])
            .command()
            .stdin(Stdio::null())
            .output()
            .await?;
        if !out.status.success() {
            return Err(fail(format!(
                "audit export failed: {}",
                String::from_utf8_lossy(&out.stderr)
            )));
        }
        Ok(String::from_utf8_lossy(&out.stdout)
            .lines()
            .filter_map(|l| serde_json::from_str(l).ok())
            .collect())
    }
}

type Pending = Arc<Mutex<HashMap<u64, oneshot::Sender<Value>>>>;

/// A running server and an MCP client for it that may have many requests
/// in flight: a reader task hands each answer to the request with its id.
pub struct Server {
    child: Child,
    stdin: tokio::sync::Mutex<Option<ChildStdin>>,
    pending: Pending,
    next_id: AtomicU64,
    reader: tokio::task::JoinHandle<()>,
}

impl Drop for Server {
    fn drop(&mut self) {
        self.reader.abort();
    }
}

impl Server {
    pub fn spawn(launch: &Launch) -> std::io::Result<Server> {
        let mut child = launch
            .command()
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()?;
        let stdin = child.stdin.take().expect("piped stdin");
        let stdout = child.stdout.take().expect("piped stdout");
        let pending: Pending = Arc::default();
        let waiting = pending.clone();
        let reader = tokio::spawn(async move {
            let mut lines = BufReader::new(stdout).lines();
            while let Ok(Some(line)) = lines.next_line().await {
                let Ok(v) = serde_json::from_str::<Value>(&line) else {
                    continue;
                };
                let Some(id) = v["id"].as_u64() else {
                    continue; // a notification
                };
                if let Some(tx) = waiting.lock().unwrap().remove(&id) {
                    let _ = tx.send(v);
                }
            }
            // The server went away: every request still waiting fails.
            waiting.lock().unwrap().clear();
        });
        Ok(Server {
            child,
            stdin: tokio::sync::Mutex::new(Some(stdin)),
            pending,
            next_id: AtomicU64::new(1),
            reader,
        })
    }

    async fn write(&self, v: &Value) -> std::io::Result<()> {
        self.write_line(&v.to_string()).await
    }

    /// Writes one raw line, which need not be valid JSON-RPC.
    pub async fn write_line(&self, line: &str) -> std::io::Result<()> {
        let mut stdin = self.stdin.lock().await;
        let Some(w) = stdin.as_mut() else {
            return Err(fail("the server's stdin is closed"));
        };
        let mut bytes = line.as_bytes().to_vec();
        bytes.push(b'\n');
        w.write_all(&bytes).await?;
        w.flush().await
    }

    /// Sends one request and waits for its answer.
    pub async fn request(&self, method: &str, params: Value) -> std::io::Result<Value> {
        let id = self.next_id.fetch_add(1, Ordering::Relaxed);
        let (tx, rx) = oneshot::channel();
        self.pending.lock().unwrap().insert(id, tx);
        self.write(&json!({"jsonrpc": "2.0", "id": id, "method": method, "params": params}))
            .await?;
        rx.await
            .map_err(|_| fail(format!("the server ended before answering {method}")))
    }

    pub async fn initialize(&self) -> std::io::Result<()> {
        self.request(
            "initialize",
            json!({"protocolVersion": "2025-06-18", "capabilities": {},
                   "clientInfo": {"name": "m365-admin bench", "version": "0"}}),
        )
        .await?;
        self.write(&json!({"jsonrpc": "2.0", "method": "notifications/initialized"}))
            .await
    }

    /// `tools/list`: the answer's size in bytes and the number of tools.
    pub async fn tools_list(&self) -> std::io::Result<(usize, usize)> {
        let v = self.request("tools/list", json!({})).await?;
        let tools = v["result"]["tools"].as_array().map_or(0, Vec::len);
        Ok((v.to_string().len(), tools))
    }

    /// One `tools/call`: the structured result, or the error's text.
    pub async fn call(&self, tool: &str, arguments: Value) -> Result<Value, String> {
        let v = self
            .request("tools/call", json!({"name": tool, "arguments": arguments}))
            .await
            .map_err(|e| e.to_string())?;
        if let Some(e) = v.get("error") {
            return Err(e["message"]
                .as_str()
                .unwrap_or("protocol error")
                .to_string());
        }
        let r = &v["result"];
        if r["isError"] == true {
            return Err(r["content"][0]["text"]
                .as_str()
                .unwrap_or("tool error")
                .to_string());
        }
        Ok(r["structuredContent"].clone())
    }

    pub fn pid(&self) -> Option<u32> {
        self.child.id()
    }

    /// Open file descriptors.
    pub fn open_fds(&self) -> usize {
        let Some(pid) = self.pid() else { return 0 };
        std::fs::read_dir(format!("/proc/{pid}/fd")).map_or(0, |d| d.count())
    }

    /// Closes stdin, as a client that quits does, and waits for the exit
    /// code (killing the server if it takes over 30 s).
    pub async fn stop(mut self) -> Option<i32> {
        self.stdin.lock().await.take();
        match tokio::time::timeout(Duration::from_secs(30), self.child.wait()).await {
            Ok(Ok(status)) => status.code(),
            _ => {
                let _ = self.child.kill().await;
                None
            }
        }
    }

    /// A `/proc/<pid>/status` figure in kB (VmRSS, VmHWM, RssAnon, ...).
    pub fn status_kb(&self, field: &str) -> u64 {
        let Some(pid) = self.pid() else { return 0 };
        std::fs::read_to_string(format!("/proc/{pid}/status"))
            .ok()
            .and_then(|s| {
                s.lines()
                    .find(|l| l.starts_with(field) && l[field.len()..].starts_with(':'))
                    .and_then(|l| l.split_whitespace().nth(1))
                    .and_then(|n| n.parse().ok())
            })
            .unwrap_or(0)
    }
}

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
        let http = crate::http_client::build(v["caCertPem"].as_str())
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
