//! Bulk work against the sandbox tenant, with several calls in flight as a
//! client makes them: `create_user` for many users, then one
//! `send_from_template` per message. Upstream requests are counted from the
//! sandbox's own request log (`/_sandbox/requests`) and from the audit trail
//! (a row per request, with its duration).
//!
//! - With the rate limit off, at 0 and 50 ms of upstream latency
//!   (`M365_SANDBOX_LATENCY_MS`), and the mailbox ready at once
//!   (`M365_SANDBOX_MAILBOX_DELAY_MS=0`; `create_user` waits for it):
//!   throughput and requests per call.
//! - The same messages as Graph `$batch`es of 20, sent through the host by
//!   the probe test plugin's raw `http` tool granted `POST /$batch` and
//!   `sendMail` (no bundled tool batches; this shows what one would save).
//!   Only where the probe was built (a source checkout).
//! - With the default rate limit on: the messages' timing against the limit
//!   (no more than the limit in any sliding minute, no idle capacity while
//!   calls wait).

use super::{Launch, Options, PREVIEW_TOOL, Server, fail, ms, p50_p99, pool, preview_args, r3};
use serde_json::{Value, json};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

/// Graph's limit on requests in one `$batch`.
const BATCH: usize = 20;
/// The SKU `create_user` assigns (`BusinessBasic`).
const BASIC_SKU: &str = "O365_BUSINESS_ESSENTIALS";
const WINDOW_S: f64 = 60.0;

pub(super) async fn run(opts: &Options, root: &Path, cache: &Path) -> std::io::Result<Value> {
    let probe = probe_with_send(root)?;
    let mut out = serde_json::Map::new();
    out.insert(
        "method".into(),
        json!(format!(
            "{} users, then {} messages, {} calls in flight; rate limit off; sandbox mailbox delay 0 ms",
            opts.users, opts.messages, opts.concurrency
        )),
    );
    for latency in [0u64, 50] {
        out.insert(
            format!("latency{latency}Ms"),
            unlimited(opts, root, cache, latency, probe.as_deref()).await?,
        );
    }
    if opts.limited_messages > 0 {
        out.insert("rateLimited".into(), limited(opts, root, cache).await?);
    }
    Ok(Value::Object(out))
}

/// A copy of the probe test plugin whose manifest also grants `sendMail`,
/// ready for `plugins add`; None where the probe was not built.
fn probe_with_send(root: &Path) -> std::io::Result<Option<PathBuf>> {
    let Some((wasm, manifest)) = m365_admin::plugins::registry::PROBE_TEST_PLUGIN else {
        return Ok(None);
    };
    let (Ok(wasm), Ok(text)) = (std::fs::read(wasm), std::fs::read_to_string(manifest)) else {
        return Ok(None);
    };
    let dir = root.join("probe-send");
    std::fs::create_dir_all(&dir)?;
    std::fs::write(dir.join("probe.wasm"), wasm)?;
    let text = text.replace(
        "\"POST /$batch\",",
        "\"POST /$batch\",\n  \"POST /users/*/sendMail\",",
    );
    std::fs::write(dir.join("manifest.toml"), text)?;
    Ok(Some(dir))
}

/// The tenant's default domain, from the envelope of a call that makes no
/// upstream request.
async fn domain(server: &Server) -> std::io::Result<String> {
    let v = server
        .call(PREVIEW_TOOL, preview_args())
        .await
        .map_err(|e| fail(e.to_string()))?;
    Ok(v[m365_admin::serve::ENVELOPE_KEY]["domain"]
        .as_str()
        .unwrap_or("libertygoldsilver.com")
        .to_string())
}

fn user_email(i: usize, domain: &str) -> String {
    format!("bench.user{i:04}@{domain}")
}

fn send_args(i: usize, from: &str, to: &str) -> Value {
    json!({
        "templateId": "customer-order-update",
        "from": from,
        "to": [to],
        "variables": {"customer_name": format!("Customer {i}"), "order_number": format!("{}", 10_000 + i), "status": "shipped"},
    })
}

/// A `$batch` of `sendMail`s, messages `first..first+n`, as the probe's
/// `http` tool sends it.
fn batch_args(first: usize, n: usize, from: &str, recipients: &[String]) -> Value {
    let requests: Vec<Value> = (first..first + n)
        .map(|i| {
            let to = &recipients[i % recipients.len()];
            json!({
                "id": format!("{}", i - first + 1),
                "method": "POST",
                "url": format!("/users/{from}/sendMail"),
                "headers": {"Content-Type": "application/json"},
                "body": {"message": {
                    "subject": format!("Your order {}: shipped", 10_000 + i),
                    "body": {"contentType": "HTML", "content": format!("<p>Dear Customer {i},</p><p>Your order {} is now <strong>shipped</strong>.</p>", 10_000 + i)},
                    "toRecipients": [{"emailAddress": {"address": to}}],
                }, "saveToSentItems": true},
            })
        })
        .collect();
    json!({
        "method": "POST",
        "url": "https://graph.microsoft.com/v1.0/$batch",
        "headers": {"content-type": "application/json"},
        "body": json!({"requests": requests}).to_string(),
    })
}

/// A request-log path with ids and addresses folded, for counting by kind.
fn kind(r: &Value) -> String {
    let path = r["path"].as_str().unwrap_or("");
    let folded: Vec<&str> = path
        .split('/')
        .map(|seg| {
            let id_like = seg.contains('@')
                || (seg.len() >= 32 && seg.chars().all(|c| c.is_ascii_hexdigit() || c == '-'));
            if id_like { "{id}" } else { seg }
        })
        .collect();
    let mut k = format!(
        "{} {}",
        r["method"].as_str().unwrap_or(""),
        folded.join("/")
    );
    if let Some(c) = r["cmdlet"].as_str() {
        k.push_str(&format!(" ({c})"));
    }
    k
}

fn is_token(r: &Value) -> bool {
    r["path"].as_str().unwrap_or("").contains("/oauth2/")
}

fn is_control(r: &Value) -> bool {
    r["path"].as_str().unwrap_or("").starts_with("/_sandbox")
}

/// The figures of one bulk phase: calls, time, and the upstream requests
/// the sandbox logged meanwhile.
fn phase(elapsed: Duration, done: &[super::Done], log: &[Value]) -> Value {
    let records: Vec<&Value> = log.iter().filter(|r| !is_control(r)).collect();
    let tokens = records.iter().filter(|r| is_token(r)).count();
    let upstream: Vec<&&Value> = records.iter().filter(|r| !is_token(r)).collect();
    let mut by_kind: BTreeMap<String, usize> = BTreeMap::new();
    for r in &upstream {
        *by_kind.entry(kind(r)).or_default() += 1;
    }
    let failed: Vec<&super::Done> = done.iter().filter(|d| d.error.is_some()).collect();
    let secs = elapsed.as_secs_f64().max(1e-9);
    let calls = done.len();
    let mut per_call = p50_p99(done.iter().map(|d| ms(d.ended - d.started)).collect());
    per_call["n"] = json!(calls);
    json!({
        "calls": calls,
        "failed": failed.len(),
        "firstError": failed.first().and_then(|d| d.error.clone()),
        "elapsedS": r3(secs),
        "callsPerS": r3(calls as f64 / secs),
        "callLatency": per_call,
        "upstreamRequests": upstream.len(),
        "upstreamRequestsPerCall": r3(upstream.len() as f64 / calls.max(1) as f64),
        "upstreamRequestsPerS": r3(upstream.len() as f64 / secs),
        "tokenRequests": tokens,
        "requestsByKind": by_kind,
    })
}

/// What the audit trail says of a phase: one row per call and one per
/// upstream request, each with its duration (whole ms), so the share of
/// call time spent waiting for upstream answers.
fn audit_figures(rows: &[Value]) -> Value {
    let of = |kind: &'static str| rows.iter().filter(move |r| r["kind"] == kind);
    let sum = |kind: &'static str| {
        of(kind)
            .filter_map(|r| r["durationMs"].as_u64())
            .sum::<u64>()
    };
    let (calls, requests) = (of("call").count(), of("request").count());
    let (call_ms, request_ms) = (sum("call"), sum("request"));
    json!({
        "callRows": calls,
        "requestRows": requests,
        "callMsSum": call_ms,
        "requestMsSum": request_ms,
        "upstreamShareOfCallTime": r3(request_ms as f64 / call_ms.max(1) as f64),
    })
}

async fn unlimited(
    opts: &Options,
    root: &Path,
    cache: &Path,
    latency: u64,
    probe: Option<&Path>,
) -> std::io::Result<Value> {
    let launch = Launch::sandbox(&opts.server, &root.join(format!("bulk-{latency}")), cache)
        .env("M365_SANDBOX_LATENCY_MS", latency.to_string())
        .env("M365_SANDBOX_MAILBOX_DELAY_MS", "0");
    if let Some(p) = probe {
        launch.approve(p).await?;
    }
    let server = Arc::new(Server::start(&launch).await?);
    server.tools_list().await?;
    let domain = domain(&server).await?;
    let control = launch.control()?;
    control
        .set_seats(BASIC_SKU, (opts.users + 20) as u32)
        .await
        .map_err(fail)?;
    control.clear_requests().await.map_err(fail)?;

    let d = domain.clone();
    let since = time::OffsetDateTime::now_utc();
    let (elapsed, done) = pool(&server, opts.concurrency, opts.users, move |i| {
        (
            "create_user".into(),
            json!({
                "email": user_email(i, &d),
                "displayName": format!("Bench User {i}"),
                "password": format!("Lantern-{i:04}-Quartz!"),
                "license": "BusinessBasic",
            }),
        )
    })
    .await;
    let mut users = phase(elapsed, &done, &control.requests().await.map_err(fail)?);
    users["auditTrail"] = audit_figures(&launch.audit_since(since).await?);
    let mut recipients: Vec<String> = done
        .iter()
        .filter_map(|d| d.result["userPrincipalName"].as_str().map(str::to_string))
        .collect();
    if recipients.is_empty() {
        recipients.push(format!("admin@{domain}"));
    }
    let from = format!("admin@{domain}");

    control.clear_requests().await.map_err(fail)?;
    let (f, to) = (from.clone(), recipients.clone());
    let since = time::OffsetDateTime::now_utc();
    let (elapsed, done) = pool(&server, opts.concurrency, opts.messages, move |i| {
        (
            "send_from_template".into(),
            send_args(i, &f, &to[i % to.len()]),
        )
    })
    .await;
    let mut messages = phase(elapsed, &done, &control.requests().await.map_err(fail)?);
    messages["auditTrail"] = audit_figures(&launch.audit_since(since).await?);

    let batched = match probe {
        None => json!("not measured: the probe test plugin was not built with this binary"),
        Some(_) => {
            control.clear_requests().await.map_err(fail)?;
            let batches = opts.messages.div_ceil(BATCH);
            let (n, f, to) = (opts.messages, from.clone(), recipients.clone());
            let since = time::OffsetDateTime::now_utc();
            let (elapsed, mut done) = pool(&server, opts.concurrency, batches, move |b| {
                let first = b * BATCH;
                (
                    "http".into(),
                    batch_args(first, BATCH.min(n - first), &f, &to),
                )
            })
            .await;
            // The batch answers 200 with a status per message: each must be 202.
            for d in &mut done {
                if d.error.is_some() {
                    continue;
                }
                let body: Value = serde_json::from_str(d.result["body"].as_str().unwrap_or(""))
                    .unwrap_or_default();
                let bad = body["responses"]
                    .as_array()
                    .map(|a| a.iter().filter(|r| r["status"] != 202).count())
                    .unwrap_or(usize::MAX);
                if d.result["status"] != 200 || bad != 0 {
                    d.error = Some(format!(
                        "batch answered {}: {}",
                        d.result["status"], d.result["body"]
                    ));
                }
            }
            let mut v = phase(elapsed, &done, &control.requests().await.map_err(fail)?);
            v["auditTrail"] = audit_figures(&launch.audit_since(since).await?);
            v["messages"] = json!(opts.messages);
            v["messagesPerS"] = json!(r3(opts.messages as f64 / elapsed.as_secs_f64().max(1e-9)));
            v
        }
    };
    Ok(json!({
        "upstreamLatencyMs": latency,
        "createUser": users,
        "sendFromTemplate": messages,
        "sendAsBatchViaProbe": batched,
    }))
}

/// The sandbox log's `at` as seconds since the epoch, and whether it had
/// a fraction (the log may keep whole seconds only).
fn log_time(r: &Value) -> Option<(f64, bool)> {
    let at = r["at"].as_str()?;
    let t = time::OffsetDateTime::parse(at, &time::format_description::well_known::Rfc3339).ok()?;
    let fraction = at.contains('.');
    Some((t.unix_timestamp_nanos() as f64 / 1e9, fraction))
}

/// The most of `sorted` times (s) in any half-open window of `width` s.
fn max_in_window(sorted: &[f64], width: f64) -> usize {
    let (mut best, mut i) = (0, 0);
    for j in 0..sorted.len() {
        while sorted[j] - sorted[i] >= width {
            i += 1;
        }
        best = best.max(j - i + 1);
    }
    best
}

/// The most of `sorted` whole-second times in any `width` whole seconds
/// `[s, s + width - 1]`. If every request goes at least `width` s after the
/// one `limit` before it, truncating both to whole seconds keeps them
/// `width` apart, so this never exceeds the limit either: a valid check on
/// a log that keeps whole seconds.
fn max_in_whole_seconds(sorted: &[f64], width: f64) -> usize {
    let secs: Vec<f64> = sorted.iter().map(|t| t.floor()).collect();
    max_in_window(&secs, width)
}

/// For each request i from `limit` on: how long after request `i - limit`
/// plus the window it went, in ms. Above 0 is capacity left idle while
/// calls waited; below 0 a burst past the limit (or, on times measured at
/// the client, the spread between a request leaving and its call ending).
fn slack_ms(sorted: &[f64], limit: usize) -> Vec<f64> {
    (limit..sorted.len())
        .map(|i| (sorted[i] - sorted[i - limit] - WINDOW_S) * 1e3)
        .collect()
}

fn spread(v: Vec<f64>) -> Value {
    let s = super::sorted(v);
    json!({
        "min": s.first().map(|x| r3(*x)),
        "p50": r3(super::percentile(&s, 0.5)),
        "max": s.last().map(|x| r3(*x)),
    })
}

/// How far a call's end may trail its request being let through: the
/// response, the rest of the guest call, the audit write, stdio.
const CLIENT_TOLERANCE_MS: f64 = 100.0;

/// Messages sent with the default rate limit on: does the timing match it?
async fn limited(opts: &Options, root: &Path, cache: &Path) -> std::io::Result<Value> {
    // The limit this binary uses by default (or the caller's
    // MAX_REQUESTS_PER_MINUTE), passed on explicitly.
    let limit = m365_admin::config::Config::from_env(true, false).max_requests_per_minute as usize;
    let launch = Launch::sandbox(&opts.server, &root.join("bulk-limited"), cache)
        .env("RATE_LIMIT_ENABLED", "true")
        .env("MAX_REQUESTS_PER_MINUTE", limit.to_string());
    let server = Arc::new(Server::start(&launch).await?);
    server.tools_list().await?;
    let domain = domain(&server).await?;
    let control = launch.control()?;
    control.clear_requests().await.map_err(fail)?;
    let n = opts.limited_messages;
    let from = format!("admin@{domain}");
    let since = time::OffsetDateTime::now_utc();
    let (elapsed, done) = pool(&server, opts.concurrency, n, move |i| {
        (
            "send_from_template".into(),
            send_args(i, &from, &format!("customer{i}@example.com")),
        )
    })
    .await;
    let log = control.requests().await.map_err(fail)?;
    let mut figures = phase(elapsed, &done, &log);
    figures["auditTrail"] = audit_figures(&launch.audit_since(since).await?);

    // The sandbox's log: when each request arrived.
    let mut precise = true;
    let mut arrived: Vec<f64> = log
        .iter()
        .filter(|r| !is_token(r) && !is_control(r))
        .filter_map(log_time)
        .map(|(t, fraction)| {
            precise &= fraction;
            t
        })
        .collect();
    arrived.sort_by(f64::total_cmp);
    let log_max = if precise {
        max_in_window(&arrived, WINDOW_S)
    } else {
        max_in_whole_seconds(&arrived, WINDOW_S)
    };
    // The client's view: each call makes one request, so its end is when
    // that request was let through, plus a little.
    let mut ends: Vec<f64> = done
        .iter()
        .filter(|d| d.error.is_none())
        .map(|d| d.ended.as_secs_f64())
        .collect();
    ends.sort_by(f64::total_cmp);
    let slack = if precise {
        slack_ms(&arrived, limit)
    } else {
        slack_ms(&ends, limit)
    };
    let idle_max = slack.iter().cloned().fold(f64::MIN, f64::max);
    let tolerance = if precise { 5.0 } else { CLIENT_TOLERANCE_MS };
    let gaps: Vec<f64> = ends.windows(2).map(|w| w[1] - w[0]).collect();
    let implied = ((n.max(1) - 1) / limit) as f64 * WINDOW_S;
    figures["limitPerMinute"] = json!(limit);
    figures["messages"] = json!(n);
    figures["impliedMinimumS"] = json!(implied);
    figures["excessOverImpliedS"] = json!(r3(elapsed.as_secs_f64() - implied));
    figures["burstInFirstSecond"] = json!(ends.iter().filter(|t| **t < 1.0).count());
    // Counted on the sandbox's log: a call's end trails its request by a
    // varying few ms, too much to count a sliding minute by.
    figures["maxInAnyMinute"] = json!({
        "sandboxLog": log_max,
        "sandboxLogResolution": if precise { "sub-second" } else { "whole seconds" },
    });
    figures["slackMs"] = json!({
        "what": "request i's time minus (request i-limit's time + 60 s): above 0 is capacity left idle while calls waited",
        "from": if precise { "sandbox log" } else { "call ends (the log keeps whole seconds)" },
        "toleranceMs": tolerance,
        "spread": spread(slack),
    });
    figures["largestGapBetweenCallEndsS"] = json!(r3(gaps.iter().cloned().fold(0.0, f64::max)));
    figures["noBurstPastLimit"] = json!(log_max <= limit);
    figures["noIdleCapacity"] = json!(ends.len() <= limit || idle_max <= tolerance);
    Ok(figures)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn whole_second_windows_and_slack() {
        // A limiter of 2 a minute, exact: never 3 in [s, s + 59].
        let times = [0.2, 0.9, 60.2, 60.9, 120.2];
        assert_eq!(max_in_whole_seconds(&times, 60.0), 2);
        assert_eq!(max_in_whole_seconds(&[0.2, 0.9, 59.5], 60.0), 3);
        let slack = slack_ms(&times, 2);
        assert_eq!(slack.len(), 3);
        assert!(slack.iter().all(|s| s.abs() < 1e-6), "{slack:?}");
    }

    #[test]
    fn windows_count_half_open_minutes() {
        let cases: [(&[f64], usize); 4] = [
            (&[], 0),
            (&[0.0, 1.0, 2.0], 3),
            (&[0.0, 60.0, 120.0], 1),
            (&[0.0, 0.5, 59.9, 60.0, 60.1], 4),
        ];
        for (times, want) in cases {
            assert_eq!(max_in_window(times, 60.0), want, "{times:?}");
        }
    }

    #[test]
    fn request_kinds_fold_ids_and_addresses() {
        let r = json!({"method": "POST", "path": "/v1.0/users/ann@contoso.com/sendMail"});
        assert_eq!(kind(&r), "POST /v1.0/users/{id}/sendMail");
        let r = json!({"method": "GET", "path": "/v1.0/users/3b555118-da6a-4418-894f-7df1e2096870/mailboxSettings"});
        assert_eq!(kind(&r), "GET /v1.0/users/{id}/mailboxSettings");
    }
}
