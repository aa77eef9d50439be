//! `m365-harness bench`: what a user feels, measured the way Claude Code
//! sees the server — the `m365-admin` binary started as `serve --sandbox`
//! and spoken to with rmcp's client over its stdio — plus the host's own
//! share of a call, measured in-process. Each part can run alone (`--only`):
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

pub(crate) use crate::client::Server;
pub(crate) use crate::fail;
pub(crate) use crate::launch::Launch;
use serde_json::{Value, json};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

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
    /// The m365-admin binary measured.
    pub server: PathBuf,
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
        warm_cache(opts, root, &cache).await?;
    }
    if parts.contains(&Part::Calls) {
        out.insert("call".into(), startup::calls(opts, root, &cache).await?);
    }
    if parts.contains(&Part::Host) {
        out.insert("host".into(), host::run(opts, root, &cache).await?);
    }
    if parts.contains(&Part::Memory) {
        out.insert("memory".into(), memory::run(opts, root, &cache).await?);
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
async fn warm_cache(opts: &Options, root: &Path, cache: &Path) -> std::io::Result<()> {
    let s = Server::start(&Launch::sandbox(
        &opts.server,
        &root.join("warm-cache"),
        cache,
    ))
    .await?;
    s.tools_list().await?;
    Ok(())
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
                    Err(e) => (Some(e.to_string()), Value::Null),
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
