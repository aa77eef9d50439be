//! Start-up (process start to the `initialize` and `tools/list` answers,
//! with a cold and a warm compile cache) and the round trip of a call that
//! makes no upstream request, both over stdio as a client sees them.

use super::{Launch, Options, PREVIEW_TOOL, Server, median, ms, p50_p99, preview_args};
use serde_json::{Value, json};
use std::path::Path;
use std::time::Instant;

/// Times one start: to the `initialize` answer and to the `tools/list`
/// answer (ms), with the answer's size and its number of tools.
pub(super) async fn time_start(launch: &Launch) -> std::io::Result<(f64, f64, usize, usize)> {
    let t0 = Instant::now();
    let s = Server::start(launch).await?;
    let init = ms(t0.elapsed());
    let (bytes, tools) = s.tools_list().await?;
    Ok((init, ms(t0.elapsed()), bytes, tools))
}

pub(super) async fn startup(opts: &Options, root: &Path, cache: &Path) -> std::io::Result<Value> {
    // Cold: the first start compiles every plugin component, into a cache
    // of its own so that a cache the caller keeps does not hide the cost.
    let (cold_init, cold_list, _, _) = time_start(&Launch::sandbox(
        &opts.server,
        &root.join("cold"),
        &root.join("cold-cache"),
    ))
    .await?;
    super::warm_cache(opts, root, cache).await?;
    let (mut inits, mut lists) = (Vec::new(), Vec::new());
    let (mut bytes, mut tools) = (0, 0);
    for i in 0..opts.runs {
        // A new data folder each time: the first start of a new user.
        let launch = Launch::sandbox(&opts.server, &root.join(format!("warm-{i}")), cache);
        let (init, list, b, t) = time_start(&launch).await?;
        inits.push(init);
        lists.push(list);
        (bytes, tools) = (b, t);
    }
    Ok(json!({
        "coldToInitializeMs": cold_init,
        "coldToToolsListMs": cold_list,
        "warmRuns": opts.runs,
        "warmToInitializeMedianMs": median(inits),
        "warmToToolsListMedianMs": median(lists),
        "toolsListBytes": bytes,
        "tools": tools,
    }))
}

/// Sequential round trips of the preview call over stdio.
pub(super) async fn calls(opts: &Options, root: &Path, cache: &Path) -> std::io::Result<Value> {
    let s = Server::start(&Launch::sandbox(&opts.server, &root.join("calls"), cache)).await?;
    s.tools_list().await?;
    // The first call seeds the example templates.
    s.call(PREVIEW_TOOL, preview_args())
        .await
        .map_err(|e| super::fail(e.to_string()))?;
    let mut trips = Vec::with_capacity(opts.calls);
    let mut errors = 0;
    for _ in 0..opts.calls {
        let t0 = Instant::now();
        if s.call(PREVIEW_TOOL, preview_args()).await.is_err() {
            errors += 1;
        }
        trips.push(ms(t0.elapsed()));
    }
    let mut v = p50_p99(trips);
    v["tool"] = json!("preview_email_template (no upstream request)");
    v["errors"] = json!(errors);
    Ok(v)
}
