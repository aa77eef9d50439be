//! The host's own share of a call, measured in-process: the same `App` the
//! server builds (sandbox tenant, encrypted store, plugin runtime), called
//! through `pipeline::call_tool` — the path MCP and `m365-admin call` take —
//! with no stdio and no JSON-RPC. The call is broken down with the runtime's and
//! the store's public entry points:
//!
//! - **instantiate**: a fresh store and instance of the plugin, and a call
//!   of a tool it does not have (the guest answers at once);
//! - **guest call**: the same with the real tool, so the difference is the
//!   plugin's own work (here: reading the template from the store and
//!   rendering it);
//! - **store reads**: the two documents the preview reads through the
//!   host's store, timed directly (host work inside the guest's share);
//! - **audit write**: one call row appended to the hash-chained trail;
//! - the rest of `call_tool` (lookup, redaction, argument validation,
//!   confirmation check, parsing the result) is what remains.

use super::{Options, PREVIEW_TOOL, fail, ms, percentile, preview_args, r3, sorted};
use m365_admin::app::App;
use m365_admin::caps::call::CallCtx;
use m365_admin::config::Config;
use m365_admin::pipeline::audit::Ran;
use m365_admin::plugins::runtime::deadline;
use serde_json::{Value, json};
use std::path::Path;
use std::sync::Arc;
use std::time::Instant;

/// The per-call target for the host's own share, p50.
const TARGET_P50_MS: f64 = 0.2;

/// A configuration of the sandbox in `dir`, with nothing taken from the
/// caller's environment that would point it elsewhere.
fn config(dir: &Path, cache: &Path) -> Config {
    let mut c = Config::from_env(true, false);
    c.data_dir = dir.join("data");
    c.database_path = dir.join("data/m365_admin.db");
    c.cache_dir = cache.to_path_buf();
    c.plugin_dir = dir.join("plugins");
    c.db_key = None;
    c.db_key_file = None;
    c.tenant_id = None;
    c.client_id = None;
    c.credentials = None;
    c.read_only = false;
    c.tools = None;
    c.plugins = None;
    c.rate_limit_enabled = false;
    c.backup_every = std::time::Duration::ZERO;
    c.log_file = None;
    c
}

/// Times `n` runs of `f`, in ms, sorted.
async fn time_n<F: AsyncFnMut() -> bool>(n: usize, mut f: F) -> (Vec<f64>, usize) {
    let mut v = Vec::with_capacity(n);
    let mut failed = 0;
    for _ in 0..n {
        let t0 = Instant::now();
        if !f().await {
            failed += 1;
        }
        v.push(ms(t0.elapsed()));
    }
    (sorted(v), failed)
}

fn figures(v: &[f64]) -> Value {
    json!({"p50Ms": percentile(v, 0.5), "p99Ms": percentile(v, 0.99)})
}

pub(super) async fn run(opts: &Options, root: &Path, cache: &Path) -> std::io::Result<Value> {
    let app = App::start(config(&root.join("host"), cache), true)
        .await
        .map_err(|e| fail(format!("the host could not start: {e}")))?;
    let result = measure(&app, opts.calls.max(1)).await;
    app.shutdown().await;
    result
}

async fn measure(app: &App, n: usize) -> std::io::Result<Value> {
    let args = preview_args();
    let registry = app.registry();
    let plugin_name = registry
        .tools
        .get(PREVIEW_TOOL)
        .map(|e| e.plugin.clone())
        .ok_or_else(|| fail(format!("no tool {PREVIEW_TOOL}")))?;
    let plugin = &registry.plugins[&plugin_name];
    let db = app
        .db
        .clone()
        .ok_or_else(|| fail("the host opened no database"))?;
    let args_text = args.to_string();
    let ctx = |tool: &str| {
        Arc::new(CallCtx::new(
            &plugin_name,
            tool,
            deadline(app.runtime.limits().timeout),
            None,
        ))
    };
    let warm = (n / 10).clamp(5, 50);

    // The whole call, as MCP makes it.
    let total = async || {
        m365_admin::pipeline::call_tool(app, PREVIEW_TOOL, args.clone(), None, None)
            .await
            .is_ok()
    };
    time_n(warm, total).await;
    let (total_ms, total_failed) = time_n(n, total).await;

    // Instantiate and a call the guest answers at once.
    let empty = async || {
        let r = app
            .runtime
            .call(&plugin.prepared, ctx("bench_no_such_tool"), "{}")
            .await;
        // The guest says it has no such tool: that is the expected answer.
        r.is_err()
    };
    time_n(warm, empty).await;
    let (empty_ms, _) = time_n(n, empty).await;

    // Instantiate and the real guest call.
    let guest = async || {
        app.runtime
            .call(&plugin.prepared, ctx(PREVIEW_TOOL), &args_text)
            .await
            .is_ok()
    };
    time_n(warm, guest).await;
    let (guest_ms, guest_failed) = time_n(n, guest).await;

    // One audit row like the call's, made by the pipeline's builder.
    let call_id = uuid::Uuid::new_v4().to_string();
    let ran = Ran {
        result: Ok(()),
        plugin: plugin_name.clone(),
        outcome: "ok",
        arguments: args.clone(),
        requests: Vec::new(),
    };
    let audit = async || db.audit_call(&ran.row(PREVIEW_TOOL, &call_id, 1)).is_ok();
    time_n(warm, audit).await;
    let (audit_ms, audit_failed) = time_n(n, audit).await;

    // The two documents the preview reads through the host's store (the
    // examples marker and the template): host work inside the guest call.
    let reads = async || {
        db.doc_get(&plugin_name, "meta/examples").is_ok()
            && db.doc_get(&plugin_name, "t/customer-order-update").is_ok()
    };
    time_n(warm, reads).await;
    let (reads_ms, _) = time_n(n, reads).await;

    let p50 = |v: &[f64]| percentile(v, 0.5);
    let plugin_work = (p50(&guest_ms) - p50(&empty_ms)).max(0.0);
    let host_share = p50(&total_ms) - plugin_work;
    let rest = p50(&total_ms) - p50(&guest_ms) - p50(&audit_ms);
    Ok(json!({
        "tool": PREVIEW_TOOL,
        "calls": n,
        "failed": total_failed + guest_failed + audit_failed,
        "callTool": figures(&total_ms),
        "instantiateAndEmptyCall": figures(&empty_ms),
        "instantiateAndGuestCall": figures(&guest_ms),
        "auditWrite": figures(&audit_ms),
        "storeReads": figures(&reads_ms),
        "breakdownP50Ms": {
            "instantiate": p50(&empty_ms),
            "pluginWork": r3(plugin_work),
            "ofWhichStoreReads": p50(&reads_ms),
            "auditWrite": p50(&audit_ms),
            "restOfCallTool": r3(rest.max(0.0)),
        },
        "hostShareP50Ms": r3(host_share),
        "targetP50Ms": TARGET_P50_MS,
        "met": host_share <= TARGET_P50_MS,
    }))
}
