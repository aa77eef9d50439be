//! Resident memory of the server after start-up (idle) and its high-water
//! mark under 100 concurrent calls, where the idle figure goes (by mapping,
//! from `/proc/<pid>/smaps`), and how it changes with the things that could
//! change it: the in-process sandbox, the `--plugins` selection, tokio's
//! worker threads, glibc's malloc arenas, and a start that compiles the
//! plugins (an empty cache) instead of loading them.

use super::{Launch, Options, PREVIEW_TOOL, Server, pool, preview_args, r3};
use serde_json::{Value, json};
use std::collections::BTreeMap;
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

/// Resident memory target, idle after start-up.
const TARGET_IDLE_MB: f64 = 40.0;

fn mb(kb: u64) -> f64 {
    r3(kb as f64 / 1024.0)
}

/// What kind of memory a mapping of `/proc/<pid>/smaps` holds.
fn category(path: &str, exe_name: &str) -> &'static str {
    if path.is_empty() || path == "[heap]" || path.starts_with("[anon") {
        "heapAndAnonymous"
    } else if path.starts_with("[stack") {
        "mainStack"
    } else if path.ends_with(".cwasm") {
        "compiledPluginsMapped"
    } else if path.contains(".so") {
        "sharedLibraries"
    } else if !exe_name.is_empty() && path.contains(exe_name) {
        "executable"
    } else {
        "other"
    }
}

/// Resident kB by category, from smaps text.
fn by_mapping(smaps: &str, exe_name: &str) -> BTreeMap<&'static str, u64> {
    let mut out = BTreeMap::new();
    let mut current = "other";
    for line in smaps.lines() {
        let mut words = line.split_whitespace();
        let Some(first) = words.next() else { continue };
        if first.ends_with(':') {
            if first == "Rss:" {
                let kb: u64 = words.next().and_then(|n| n.parse().ok()).unwrap_or(0);
                *out.entry(current).or_default() += kb;
            }
        } else {
            // "start-end perms offset dev inode [path]"
            let path = line.split_whitespace().nth(5).unwrap_or("");
            current = category(path, exe_name);
        }
    }
    out
}

/// The idle figures of a running server started from `exe`.
fn snapshot(s: &Server, exe: &Path) -> Value {
    let exe_name = exe
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let smaps = s
        .pid()
        .and_then(|pid| std::fs::read_to_string(format!("/proc/{pid}/smaps")).ok())
        .unwrap_or_default();
    let map: BTreeMap<&str, f64> = by_mapping(&smaps, &exe_name)
        .into_iter()
        .map(|(k, v)| (k, mb(v)))
        .collect();
    json!({
        "rssMb": mb(s.status_kb("VmRSS")),
        "anonymousMb": mb(s.status_kb("RssAnon")),
        "fileBackedMb": mb(s.status_kb("RssFile")),
        "threads": s.status_kb("Threads"),
        "byMappingMb": map,
    })
}

async fn idle(launch: &Launch) -> std::io::Result<(Server, Value)> {
    let s = Server::start(launch).await?;
    s.tools_list().await?;
    tokio::time::sleep(Duration::from_millis(500)).await;
    let v = snapshot(&s, &launch.exe);
    Ok((s, v))
}

pub(super) async fn run(opts: &Options, root: &Path, cache: &Path) -> std::io::Result<Value> {
    let at =
        |name: &str| Launch::sandbox(&opts.server, &root.join(format!("memory-{name}")), cache);

    let (s, default) = idle(&at("default")).await?;
    let s = Arc::new(s);
    let (_, done) = pool(&s, 100, 100, |_| (PREVIEW_TOOL.into(), preview_args())).await;
    let peak = mb(s.status_kb("VmHWM"));
    let failed = done.iter().filter(|d| d.error.is_some()).count();
    let first_error = done.iter().find_map(|d| d.error.clone());
    drop(s);

    let live = at("live")
        .args(&["serve"])
        .env("AZURE_TENANT_ID", "5d1a3f6e-8c2b-4e7a-9f10-365a0d000001")
        .env("AZURE_CLIENT_ID", "0c9e2b7a-41f3-4d58-b6a2-365a0d000002")
        .env("AZURE_CLIENT_SECRET", "bench-not-a-secret")
        // Nothing listens there: the server starts without a tenant call.
        .env("M365_GRAPH_ENDPOINT", "https://127.0.0.1:9")
        .env("M365_EXCHANGE_ENDPOINT", "https://127.0.0.1:9")
        .env("DB_ENCRYPTION_KEY", "ab".repeat(32));
    let variants = [
        (
            "pluginsFlagOnlyTemplates",
            at("plugins").env("M365_PLUGINS", "templates"),
        ),
        ("liveModeWithoutSandbox", live),
        (
            "oneTokioWorker",
            at("tokio").env("TOKIO_WORKER_THREADS", "1"),
        ),
        ("mallocArenaMax2", at("arenas").env("MALLOC_ARENA_MAX", "2")),
        (
            "afterCompilingOnStart",
            Launch::sandbox(
                &opts.server,
                &root.join("memory-cold"),
                &root.join("memory-cold-cache"),
            ),
        ),
    ];
    let mut out = serde_json::Map::new();
    for (name, launch) in variants {
        let (_, v) = idle(&launch).await?;
        out.insert(name.into(), v);
    }
    let idle_mb = default["rssMb"].as_f64().unwrap_or(0.0);
    Ok(json!({
        "idle": default,
        "peakRssMb100ConcurrentCalls": peak,
        "failedOf100": failed,
        "firstError": first_error,
        "targetIdleMb": TARGET_IDLE_MB,
        "met": idle_mb <= TARGET_IDLE_MB,
        "variants": out,
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn smaps_rss_is_summed_by_kind_of_mapping() {
        let smaps = "\
55d0-55e0 r-xp 00000000 08:01 1 /x/target/debug/m365-admin
Size: 100 kB
Rss: 40 kB
7f00-7f10 rw-p 00000000 00:00 0
Rss: 8 kB
7f10-7f20 rw-p 00000000 00:00 0 [heap]
Rss: 2 kB
7f20-7f30 r--p 00000000 08:01 2 /c/ab-12.cwasm
Rss: 16 kB
7f30-7f40 r-xp 00000000 08:01 3 /usr/lib/libc.so.6
Rss: 4 kB
VmFlags: rd ex
";
        let m = by_mapping(smaps, "m365-admin");
        assert_eq!(m["executable"], 40);
        assert_eq!(m["heapAndAnonymous"], 10);
        assert_eq!(m["compiledPluginsMapped"], 16);
        assert_eq!(m["sharedLibraries"], 4);
    }
}
