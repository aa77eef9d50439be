//! `m365-admin bench`: what a user feels, measured the way Claude Code sees
//! the server — this same binary started as `serve --sandbox` and spoken to
//! with JSON-RPC over its stdio — plus the host's own share of a call,
//! measured in-process. Each part can run alone (`--only`):
//!
//! - `startup`: to `initialize` and to `tools/list`, cold and warm compile
//!   cache ([`startup`]);
//! - `calls`: the round trip of a call that makes no upstream request;
//! - `host`: the same call without stdio and JSON-RPC, broken down into
//!   instantiate, guest work and audit write ([`host`]);
//! - `bulk`: users created and templated messages sent against the sandbox,
//!   concurrently, with and without the rate limit ([`bulk`]);
//! - `scaling`: start-up and per-call time with 6, 12 and 24 plugins
//!   ([`scaling`]);
//! - `memory`: resident memory idle and under load, where it goes, and what
//!   changes it ([`memory`]).
//!
//! Everything runs in a temporary folder that is removed afterwards.

mod bulk;
mod host;
mod memory;
mod scaling;
mod startup;

use serde_json::{Value, json};
use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
use tokio::process::{Child, ChildStdin, Command};
use tokio::sync::oneshot;

/// One part of the benchmark.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum Part {
    Startup,
    Calls,
    Host,
    Bulk,
    Scaling,
    Memory,
}

impl Part {
    pub const ALL: [Part; 6] = [
        Part::Startup,
        Part::Calls,
        Part::Host,
        Part::Bulk,
        Part::Scaling,
        Part::Memory,
    ];
}

/// What to measure, and how much.
#[derive(Clone, Debug)]
pub struct Options {
    /// The parts to run; all when empty.
    pub only: Vec<Part>,
    /// Warm start-ups to time.
    pub runs: usize,
    /// Calls to time (round trip, host share, and per call when scaling).
    pub calls: usize,
    /// Users to create in the bulk part.
    pub users: usize,
    /// Templated messages to send in the bulk part.
    pub messages: usize,
    /// Messages to send with the default rate limit on (0 skips that run).
    pub limited_messages: usize,
    /// Tool calls in flight at once in the bulk part.
    pub concurrency: usize,
}

/// Runs the parts asked for and returns their figures.
pub async fn run(opts: Options) -> std::io::Result<Value> {
    let root = std::env::temp_dir().join(format!("m365-bench-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&root);
    std::fs::create_dir_all(&root)?;
    let result = run_in(&opts, &root).await;
    let _ = std::fs::remove_dir_all(&root);
    result
}

async fn run_in(opts: &Options, root: &Path) -> std::io::Result<Value> {
    let parts = if opts.only.is_empty() {
        Part::ALL.to_vec()
    } else {
        opts.only.clone()
    };
    // The compiled plugins of a cache the caller keeps (M365_CACHE_DIR)
    // are copied in, so that the copies and test plugins compiled here do
    // not stay in it; otherwise the cache is filled once.
    let cache = root.join("cache");
    if let Some(theirs) = std::env::var_os("M365_CACHE_DIR").filter(|v| !v.is_empty()) {
        copy_files(
            &Path::new(&theirs).join("compiled"),
            &cache.join("compiled"),
        )?;
    }
    let mut out = serde_json::Map::new();
    out.insert("build".into(), json!(build_profile()));
    out.insert("cpus".into(), json!(cpus()));
    out.insert("date".into(), json!(today()));
    let load_before = load_average();
    if parts.contains(&Part::Startup) {
        out.insert(
            "startup".into(),
            startup::startup(opts, root, &cache).await?,
        );
    } else {
        warm_cache(root, &cache).await?;
    }
    if parts.contains(&Part::Calls) {
        out.insert("call".into(), startup::calls(opts, root, &cache).await?);
    }
    if parts.contains(&Part::Host) {
        out.insert("host".into(), host::run(opts, root, &cache).await?);
    }
    if parts.contains(&Part::Memory) {
        out.insert("memory".into(), memory::run(root, &cache).await?);
    }
    if parts.contains(&Part::Scaling) {
        out.insert("scaling".into(), scaling::run(opts, root, &cache).await?);
    }
    if parts.contains(&Part::Bulk) {
        out.insert("bulk".into(), bulk::run(opts, root, &cache).await?);
    }
    // Other work on the machine skews every time above: say how busy it was.
    out.insert(
        "loadAverage1m".into(),
        json!({"before": load_before, "after": load_average()}),
    );
    Ok(Value::Object(out))
}

fn build_profile() -> &'static str {
    if cfg!(debug_assertions) {
        "debug (dependencies optimised, our crates not)"
    } else {
        "release"
    }
}

fn cpus() -> usize {
    std::thread::available_parallelism()
        .map(|n| n.get())
        .unwrap_or(1)
}

/// The one-minute load average (Linux), to judge the figures by.
fn load_average() -> Option<f64> {
    std::fs::read_to_string("/proc/loadavg")
        .ok()?
        .split_whitespace()
        .next()?
        .parse()
        .ok()
}

fn today() -> String {
    let f = time::macros::format_description!("[year]-[month]-[day]");
    time::OffsetDateTime::now_utc()
        .format(&f)
        .unwrap_or_default()
}

/// Copies the files of `from` (if it exists) into `to`.
fn copy_files(from: &Path, to: &Path) -> std::io::Result<()> {
    let Ok(entries) = std::fs::read_dir(from) else {
        return Ok(());
    };
    std::fs::create_dir_all(to)?;
    for e in entries.flatten() {
        if e.file_type().is_ok_and(|t| t.is_file()) {
            std::fs::copy(e.path(), to.join(e.file_name()))?;
        }
    }
    Ok(())
}

/// Compiles every bundled plugin into `cache` once, so that the parts
/// after it measure warm starts.
async fn warm_cache(root: &Path, cache: &Path) -> std::io::Result<()> {
    let s = Server::spawn(&Launch::sandbox(&root.join("warm-cache"), cache))?;
    s.initialize().await?;
    s.tools_list().await?;
    Ok(())
}

pub(crate) fn fail(what: impl Into<String>) -> std::io::Error {
    std::io::Error::other(what.into())
}

/// How to start one server: `serve --sandbox` on its own data folder, with
/// a clean environment (nothing of the caller's configuration leaks in).
#[derive(Clone)]
pub(crate) struct Launch {
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
pub(crate) struct Server {
    child: Child,
    stdin: tokio::sync::Mutex<ChildStdin>,
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
            stdin: tokio::sync::Mutex::new(stdin),
            pending,
            next_id: AtomicU64::new(1),
            reader,
        })
    }

    async fn write(&self, v: &Value) -> std::io::Result<()> {
        let mut line = v.to_string();
        line.push('\n');
        let mut stdin = self.stdin.lock().await;
        stdin.write_all(line.as_bytes()).await?;
        stdin.flush().await
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
pub(crate) struct Control {
    http: reqwest::Client,
    base: url::Url,
}

impl Control {
    async fn connect(sandbox_dir: &Path) -> std::io::Result<Control> {
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
}

/// One call of a pool: when it started and ended (since the pool started),
/// and how it went.
#[derive(Clone, Debug)]
pub(crate) struct Done {
    pub started: Duration,
    pub ended: Duration,
    pub error: Option<String>,
    pub result: Value,
}

/// Runs `n` tool calls with `concurrency` in flight, the way a client with
/// several outstanding requests does; `make(i)` gives the i-th call.
pub(crate) async fn pool(
    server: &Arc<Server>,
    concurrency: usize,
    n: usize,
    make: impl Fn(usize) -> (String, Value) + Send + Sync + 'static,
) -> (Duration, Vec<Done>) {
    let make = Arc::new(make);
    let next = Arc::new(AtomicUsize::new(0));
    let t0 = Instant::now();
    let mut set = tokio::task::JoinSet::new();
    for _ in 0..concurrency.max(1) {
        let (server, make, next) = (server.clone(), make.clone(), next.clone());
        set.spawn(async move {
            let mut out = Vec::new();
            loop {
                let i = next.fetch_add(1, Ordering::Relaxed);
                if i >= n {
                    return out;
                }
                let (tool, args) = make(i);
                let started = t0.elapsed();
                let r = server.call(&tool, args).await;
                let ended = t0.elapsed();
                let (error, result) = match r {
                    Ok(v) => (None, v),
                    Err(e) => (Some(e), Value::Null),
                };
                out.push(Done {
                    started,
                    ended,
                    error,
                    result,
                });
            }
        });
    }
    let mut all = Vec::with_capacity(n);
    while let Some(r) = set.join_next().await {
        all.extend(r.unwrap_or_default());
    }
    (t0.elapsed(), all)
}

/// Milliseconds with microsecond resolution.
pub(crate) fn ms(d: Duration) -> f64 {
    (d.as_secs_f64() * 1e6).round() / 1e3
}

/// Rounds to three decimals.
pub(crate) fn r3(x: f64) -> f64 {
    (x * 1e3).round() / 1e3
}

pub(crate) fn percentile(sorted: &[f64], p: f64) -> f64 {
    if sorted.is_empty() {
        return 0.0;
    }
    let i = ((sorted.len() as f64) * p).ceil() as usize;
    sorted[i.clamp(1, sorted.len()) - 1]
}

pub(crate) fn sorted(mut v: Vec<f64>) -> Vec<f64> {
    v.sort_by(f64::total_cmp);
    v
}

pub(crate) fn median(v: Vec<f64>) -> f64 {
    percentile(&sorted(v), 0.5)
}

/// p50 and p99 of milliseconds, as JSON.
pub(crate) fn p50_p99(v: Vec<f64>) -> Value {
    let s = sorted(v);
    json!({"p50Ms": percentile(&s, 0.5), "p99Ms": percentile(&s, 0.99), "n": s.len()})
}

/// The arguments of the call every part times: a template rendered from
/// the encrypted store, no upstream request.
pub(crate) fn preview_args() -> Value {
    json!({"templateId": "customer-order-update",
           "variables": {"customer_name": "Ann", "order_number": "1", "status": "shipped"}})
}

pub(crate) const PREVIEW_TOOL: &str = "preview_email_template";

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn percentiles_pick_the_nearest_rank() {
        let v: Vec<f64> = (1..=100).map(f64::from).collect();
        let cases = [(0.5, 50.0), (0.99, 99.0), (1.0, 100.0), (0.0, 1.0)];
        for (p, want) in cases {
            assert_eq!(percentile(&v, p), want, "p{p}");
        }
        assert_eq!(percentile(&[], 0.5), 0.0);
        assert_eq!(median(vec![3.0, 1.0, 2.0]), 2.0);
    }
}
