//! `m365-admin bench`: what a user feels, measured from outside the way
//! Claude Code sees the server: this same binary started as `serve
//! --sandbox` and spoken to with JSON-RPC over its stdio. Start-up (to
//! `initialize` and to `tools/list`, cold and warm compile cache), the round
//! trip of a call that makes no upstream request, and resident memory idle
//! and under 100 concurrent calls.

use serde_json::{Value, json};
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::{Duration, Instant};
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
use tokio::process::{Child, ChildStdin, ChildStdout, Command};

struct Server {
    child: Child,
    stdin: ChildStdin,
    lines: tokio::io::Lines<BufReader<ChildStdout>>,
}

fn command(dir: &Path, cache: &Path) -> Command {
    let exe = std::env::current_exe().unwrap_or_else(|_| PathBuf::from("m365-admin"));
    let mut cmd = Command::new(exe);
    cmd.args(["serve", "--sandbox"])
        .env("HOME", dir)
        .env("DATABASE_PATH", dir.join("data/m365_admin.db"))
        .env("M365_CACHE_DIR", cache)
        .env("M365_PLUGIN_DIR", dir.join("plugins"))
        .env("RATE_LIMIT_ENABLED", "false")
        .env("M365_BACKUP_INTERVAL_SECS", "0")
        .env("LOG_LEVEL", "warn")
        .env_remove("LOG_FILE")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .kill_on_drop(true);
    cmd
}

impl Server {
    fn spawn(dir: &Path, cache: &Path) -> std::io::Result<Server> {
        let mut child = command(dir, cache).spawn()?;
        let stdin = child.stdin.take().expect("piped stdin");
        let lines = BufReader::new(child.stdout.take().expect("piped stdout")).lines();
        Ok(Server {
            child,
            stdin,
            lines,
        })
    }

    async fn send(&mut self, v: &Value) {
        let mut line = v.to_string();
        line.push('\n');
        let _ = self.stdin.write_all(line.as_bytes()).await;
        let _ = self.stdin.flush().await;
    }

    async fn answer(&mut self, id: u64) -> Value {
        loop {
            let line = self
                .lines
                .next_line()
                .await
                .ok()
                .flatten()
                .unwrap_or_default();
            if line.is_empty() {
                return Value::Null;
            }
            let v: Value = serde_json::from_str(&line).unwrap_or(Value::Null);
            if v["id"] == id {
                return v;
            }
        }
    }

    async fn initialize(&mut self) {
        self.send(&json!({"jsonrpc": "2.0", "id": 1, "method": "initialize", "params": {
            "protocolVersion": "2025-06-18", "capabilities": {}, "clientInfo": {"name": "bench", "version": "0"}}}))
            .await;
        self.answer(1).await;
        self.send(&json!({"jsonrpc": "2.0", "method": "notifications/initialized"}))
            .await;
    }

    async fn tools_list(&mut self) -> usize {
        self.send(&json!({"jsonrpc": "2.0", "id": 2, "method": "tools/list"}))
            .await;
        self.answer(2).await.to_string().len()
    }

    fn call_msg(id: u64) -> Value {
        json!({"jsonrpc": "2.0", "id": id, "method": "tools/call", "params": {
            "name": "preview_email_template",
            "arguments": {"templateId": "customer-order-update",
                          "variables": {"customer_name": "Ann", "order_number": "1", "status": "shipped"}}}})
    }

    fn rss_kb(&self, field: &str) -> u64 {
        let Some(pid) = self.child.id() else { return 0 };
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
}

fn ms(d: Duration) -> f64 {
    (d.as_secs_f64() * 1e6).round() / 1e3
}

fn percentile(sorted: &[f64], p: f64) -> f64 {
    if sorted.is_empty() {
        return 0.0;
    }
    let i = ((sorted.len() as f64) * p).ceil() as usize;
    sorted[i.clamp(1, sorted.len()) - 1]
}

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    percentile(&v, 0.5)
}

/// Runs every measurement and returns the figures.
pub async fn run(runs: usize, calls: usize) -> std::io::Result<Value> {
    let root = std::env::temp_dir().join(format!("m365-bench-{}", std::process::id()));
    let cache = root.join("cache");
    let _ = std::fs::remove_dir_all(&root);

    // Cold: the first start compiles every plugin component.
    let dir = root.join("cold");
    let t0 = Instant::now();
    let mut s = Server::spawn(&dir, &cache)?;
    s.initialize().await;
    let cold_init = t0.elapsed();
    s.tools_list().await;
    let cold_list = t0.elapsed();
    drop(s);

    let (mut inits, mut lists) = (Vec::new(), Vec::new());
    let mut list_bytes = 0;
    for i in 0..runs {
        let dir = root.join(format!("warm-{i}"));
        let t0 = Instant::now();
        let mut s = Server::spawn(&dir, &cache)?;
        s.initialize().await;
        inits.push(ms(t0.elapsed()));
        list_bytes = s.tools_list().await;
        lists.push(ms(t0.elapsed()));
    }

    // Per-call round trip, and memory.
    let dir = root.join("calls");
    let mut s = Server::spawn(&dir, &cache)?;
    s.initialize().await;
    s.tools_list().await;
    tokio::time::sleep(Duration::from_millis(500)).await;
    let idle_rss = s.rss_kb("VmRSS:");
    s.send(&Server::call_msg(10)).await;
    s.answer(10).await;
    let mut trips = Vec::with_capacity(calls);
    for i in 0..calls as u64 {
        let t0 = Instant::now();
        s.send(&Server::call_msg(100 + i)).await;
        s.answer(100 + i).await;
        trips.push(ms(t0.elapsed()));
    }
    trips.sort_by(f64::total_cmp);
    let base = 1_000_000u64;
    for i in 0..100 {
        s.send(&Server::call_msg(base + i)).await;
    }
    // Answers come back in any order: count them, whatever their ids.
    let mut answered = 0;
    while answered < 100 {
        let line = s.lines.next_line().await.ok().flatten().unwrap_or_default();
        if line.is_empty() {
            break;
        }
        let v: Value = serde_json::from_str(&line).unwrap_or(Value::Null);
        if v["id"].as_u64().is_some_and(|id| id >= base) {
            answered += 1;
        }
    }
    let peak_rss = s.rss_kb("VmHWM:");
    drop(s);
    let _ = std::fs::remove_dir_all(&root);

    Ok(json!({
        "startup": {
            "coldToInitializeMs": ms(cold_init),
            "coldToToolsListMs": ms(cold_list),
            "warmRuns": runs,
            "warmToInitializeMedianMs": median(inits),
            "warmToToolsListMedianMs": median(lists),
            "toolsListBytes": list_bytes,
        },
        "call": {
            "tool": "preview_email_template (no upstream request)",
            "calls": calls,
            "p50Ms": percentile(&trips, 0.5),
            "p99Ms": percentile(&trips, 0.99),
        },
        "memory": {"idleRssMb": idle_rss / 1024, "peakRssMb100ConcurrentCalls": peak_rss / 1024},
        "build": if cfg!(debug_assertions) { "debug (dependencies optimised)" } else { "release" },
        "cpus": std::thread::available_parallelism().map(|n| n.get()).unwrap_or(1),
    }))
}
