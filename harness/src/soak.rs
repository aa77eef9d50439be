//! `m365-harness soak`: a long run of mixed calls from several concurrent
//! clients against `serve --sandbox`, with upstream faults injected
//! (throttling, outages, dropped connections, slow answers) and hostile
//! requests mixed in. At the end it checks what an admin relies on: every
//! acknowledged change is there exactly once, every failure carried a code,
//! no hostile request succeeded, memory and file descriptors stayed flat,
//! and the audit chain verifies.

use crate::client::Server;
use crate::fail;
use crate::launch::Launch;
use m365_sandbox::client::SandboxClient;
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use serde_json::{Value, json};
use std::collections::BTreeMap;
use std::sync::Arc;
use std::sync::Mutex;
use std::time::{Duration, Instant};

const ADMIN: &str = "admin@libertygoldsilver.com";
const DOMAIN: &str = "libertygoldsilver.com";
const TEMPLATE: &str = "customer-order-update";

pub struct SoakOptions {
    /// The m365-admin binary exercised.
    pub server: std::path::PathBuf,
    pub duration: Duration,
    pub clients: usize,
    pub seed: u64,
    /// Keep the server's folder (database, log) even when every check held.
    pub keep: bool,
}

/// What the clients saw and did, shared between them.
#[derive(Default)]
struct Tally {
    calls: u64,
    ok: u64,
    coded: BTreeMap<String, u64>,
    uncoded: Vec<String>,
    attacks: u64,
    escapes: Vec<String>,
    /// Templates whose creation was acknowledged.
    templates: Vec<String>,
    /// Users whose creation was acknowledged, and whether their deletion was.
    users: Vec<(String, bool)>,
    sends_acknowledged: u64,
    /// Per tool: calls and total and longest time, in ms.
    timings: BTreeMap<String, (u64, u64, u64)>,
    /// Sends that failed in a way that says Graph may have carried them out.
    sends_uncertain: u64,
}

impl Tally {
    fn record(&mut self, tool: &str, answer: &Value) -> bool {
        self.calls += 1;
        match outcome(answer) {
            Ok(_) => {
                self.ok += 1;
                true
            }
            Err(Some(code)) => {
                *self.coded.entry(code.to_string()).or_default() += 1;
                false
            }
            Err(None) => {
                let text = answer.to_string();
                self.uncoded.push(format!(
                    "{tool}: {}",
                    text.chars().take(300).collect::<String>()
                ));
                false
            }
        }
    }
}

/// Whether a `tools/call` answer is a success (its structured content), or
/// the error's code if it carries one.
fn outcome(answer: &Value) -> Result<&Value, Option<&str>> {
    let result = &answer["result"];
    if result.is_null() {
        return Err(None);
    }
    if result["isError"] == true {
        return Err(result["structuredContent"]["error"]["code"].as_str());
    }
    Ok(&result["structuredContent"])
}

/// The faults the injector draws from: each is what Graph or the network
/// really does.
fn faults() -> Vec<Value> {
    vec![
        json!({"method": "GET", "pathPrefix": "/v1.0/users", "status": 429, "retryAfter": 1, "times": 1}),
        json!({"method": "GET", "pathPrefix": "/v1.0/users", "status": 503, "times": 2}),
        json!({"method": "GET", "pathPrefix": "/v1.0/", "reset": "before", "times": 1}),
        json!({"method": "POST", "pathPrefix": "/v1.0/users", "reset": "after", "times": 1}),
        json!({"method": "POST", "pathPrefix": format!("/v1.0/users/{ADMIN}/sendMail"), "reset": "after", "times": 1}),
        json!({"pathPrefix": "/v1.0/", "latencyMs": 400, "times": 3}),
        json!({"method": "GET", "pathPrefix": "/v1.0/subscribedSkus", "status": 502, "body": "malformed", "times": 1}),
    ]
}

/// Runs the soak and returns its summary; `pass` says whether every check held.
pub async fn run(opts: SoakOptions) -> std::io::Result<Value> {
    let root = std::env::temp_dir().join(format!("m365-soak-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&root);
    std::fs::create_dir_all(&root)?;
    let launch = Launch::sandbox(&opts.server, &root, &root.join("cache"))
        .env("M365_SANDBOX_MAILBOX_DELAY_MS", "200")
        .env("M365_RETRY_BASE_MS", "100")
        .env("LOG_LEVEL", "info")
        .env("LOG_FILE", root.join("server.log").display().to_string())
        // The limiter stays in the path, high enough that the run exercises
        // calls rather than waiting out the default 60 requests a minute.
        .env("RATE_LIMIT_ENABLED", "true")
        .env("MAX_REQUESTS_PER_MINUTE", "3000");
    let server = Server::start(&launch)
        .await
        .map_err(|e| fail(format!("could not start the server: {e}")))?;
    let server = Arc::new(server);
    let control = Arc::new(launch.control()?);
    // Seats for every user the run creates (each is deleted again, but a
    // delete that meets a fault leaves its user behind).
    let _ = control.set_seats("O365_BUSINESS_ESSENTIALS", 100_000).await;
    let tally = Arc::new(Mutex::new(Tally::default()));
    let started = Instant::now();
    let deadline = started + opts.duration;

    let mut clients = tokio::task::JoinSet::new();
    for n in 0..opts.clients {
        let (server, tally) = (server.clone(), tally.clone());
        let mut rng = StdRng::seed_from_u64(opts.seed.wrapping_add(n as u64));
        clients.spawn(async move {
            let mut i = 0u64;
            while Instant::now() < deadline {
                i += 1;
                step(&server, &tally, &mut rng, n, i).await;
            }
        });
    }

    // Faults, memory and descriptors, while the clients run.
    let warm_up = (opts.duration / 10).clamp(Duration::from_secs(2), Duration::from_secs(30));
    let (mut rss_start, mut fds_start) = (0, 0);
    let mut faults_injected = 0u64;
    let catalogue = faults();
    let mut rng = StdRng::seed_from_u64(opts.seed ^ 0x5eed);
    let mut samples = Vec::new();
    while Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(1500).min(deadline - Instant::now())).await;
        let fault = &catalogue[rng.random_range(0..catalogue.len())];
        if control.add_fault(fault).await.is_ok() {
            faults_injected += 1;
        }
        // The tenant's request log is the emulator's, not the server's:
        // keep it from counting as the server's memory.
        let _ = control.clear_requests().await;
        if rss_start == 0 && started.elapsed() >= warm_up {
            rss_start = server.status_kb("VmRSS");
            fds_start = server.open_fds();
        }
        samples.push(json!({
            "atSecs": started.elapsed().as_secs(),
            "rssKb": server.status_kb("VmRSS"),
            "fds": server.open_fds(),
        }));
    }
    while clients.join_next().await.is_some() {}
    let _ = control.clear_faults().await;
    let rss_end = server.status_kb("VmRSS");
    let fds_end = server.open_fds();
    let rss_peak = server.status_kb("VmHWM");
    if rss_start == 0 {
        rss_start = rss_end;
        fds_start = fds_end;
    }

    let checks = check_effects(&server, &control, &tally).await;
    let Ok(server) = Arc::try_unwrap(server) else {
        return Err(fail("a client still holds the server"));
    };
    let exit = server.stop().await;
    let audit = launch
        .clone()
        .args(&["audit", "verify", "--sandbox"])
        .command()
        .output()
        .await?;
    let audit_ok = audit.status.success();

    let t = tally.lock().unwrap_or_else(|e| e.into_inner());
    // Unread figures (0) count as a failure, not as flat.
    let rss_flat =
        rss_start > 0 && rss_end > 0 && rss_end <= rss_start + (rss_start / 4).max(16 * 1024);
    let fds_flat = fds_start > 0 && fds_end <= fds_start + 8;
    let pass = t.escapes.is_empty()
        && t.uncoded.is_empty()
        && checks.lost == 0
        && checks.duplicated == 0
        && audit_ok
        && exit == Some(0)
        && rss_flat
        && fds_flat
        && t.ok > 0;
    let summary = json!({
        "seconds": started.elapsed().as_secs(),
        "clients": opts.clients,
        "seed": opts.seed,
        "calls": t.calls,
        "succeeded": t.ok,
        "codedErrors": t.coded,
        "uncodedErrors": t.uncoded.len(),
        "uncodedExamples": t.uncoded.iter().take(5).collect::<Vec<_>>(),
        "attacksTried": t.attacks,
        "escapes": t.escapes.len(),
        "escapeExamples": t.escapes.iter().take(5).collect::<Vec<_>>(),
        "faultsInjected": faults_injected,
        "operationsAcknowledged": checks.acknowledged,
        "acknowledged": {
            "templatesCreated": t.templates.len(),
            "usersCreated": t.users.len(),
            "usersDeleted": t.users.iter().filter(|(_, deleted)| *deleted).count(),
            "mailsSent": t.sends_acknowledged,
        },
        "operationsLost": checks.lost,
        "duplicates": checks.duplicated,
        "lostOrDuplicated": checks.problems,
        "sendsUncertain": t.sends_uncertain,
        "timingsMs": t.timings.iter().map(|(k, (n, total, max))| (k.clone(), json!({
            "calls": n, "mean": total / (*n).max(1), "max": max}))).collect::<serde_json::Map<_, _>>(),
        "rssKb": {"start": rss_start, "end": rss_end, "peak": rss_peak, "flat": rss_flat},
        "fds": {"start": fds_start, "end": fds_end, "flat": fds_flat},
        "auditChain": if audit_ok { "verified".to_string() } else {
            String::from_utf8_lossy(&audit.stdout).chars().take(500).collect() },
        "serverExit": exit,
        "samples": samples,
        "pass": pass,
    });
    let mut summary = summary;
    if pass && !opts.keep {
        let _ = std::fs::remove_dir_all(&root);
    } else {
        summary["folder"] = json!(root.display().to_string());
    }
    Ok(summary)
}

/// One call chosen at random, as an admin session would mix them.
async fn step(server: &Server, tally: &Mutex<Tally>, rng: &mut StdRng, client: usize, i: u64) {
    let roll = rng.random_range(0..100);
    let tag = format!("soak-{client}-{i}");
    let lock = || tally.lock().unwrap_or_else(|e| e.into_inner());
    match roll {
        0..45 => {
            let (tool, args) = match rng.random_range(0..6) {
                0 => ("get_user", json!({"userEmail": ADMIN})),
                1 => ("list_users", json!({})),
                2 => ("list_email_templates", json!({})),
                3 => ("list_teams", json!({})),
                4 => ("list_features", json!({})),
                _ => (
                    "preview_email_template",
                    json!({"templateId": TEMPLATE, "variables": order_vars(&tag)}),
                ),
            };
            let answer = timed(server, tally, tool, args).await;
            lock().record(tool, &answer);
        }
        45..60 => {
            let args = json!({
                "templateName": tag,
                "subject": "Soak {{ name }}",
                "bodyHtml": "<p>Hello {{ name }}</p><script>alert(1)</script>",
                "bodyText": "Hello {{ name }}",
                "category": "customer_communication",
                "variables": ["name"],
            });
            let answer = timed(server, tally, "create_email_template", args).await;
            let mut t = lock();
            if t.record("create_email_template", &answer)
                && let Ok(v) = outcome(&answer)
                && let Some(id) = v["template"]["templateId"].as_str()
            {
                t.templates.push(id.to_string());
            }
        }
        60..66 => {
            let args = json!({"templateId": TEMPLATE, "variables": order_vars(&tag),
                              "from": ADMIN, "to": [format!("{tag}@{DOMAIN}")]});
            let answer = timed(server, tally, "send_from_template", args).await;
            let mut t = lock();
            if t.record("send_from_template", &answer) {
                t.sends_acknowledged += 1;
            } else if answer.to_string().contains("may have carried it out") {
                t.sends_uncertain += 1;
            }
        }
        66..76 => user_lifecycle(server, tally, &tag).await,
        _ => hostile(server, tally, rng, &tag).await,
    }
}

/// A call, with its time added to the tool's tally.
async fn timed(server: &Server, tally: &Mutex<Tally>, tool: &str, args: Value) -> Value {
    let t0 = Instant::now();
    let answer = server.answer(tool, args).await;
    let ms = t0.elapsed().as_millis() as u64;
    let mut t = tally.lock().unwrap_or_else(|e| e.into_inner());
    let e = t.timings.entry(tool.to_string()).or_default();
    e.0 += 1;
    e.1 += ms;
    e.2 = e.2.max(ms);
    answer
}

fn order_vars(tag: &str) -> Value {
    json!({"customer_name": "Soak", "order_number": tag, "status": "shipped"})
}

/// Creates a user and deletes it again through the confirmation handshake,
/// so the tenant's seats are not used up.
async fn user_lifecycle(server: &Server, tally: &Mutex<Tally>, tag: &str) {
    let upn = format!("{tag}@{DOMAIN}");
    let create = json!({"email": upn, "displayName": format!("Soak {tag}"),
                        "password": "Soak-Pass-2026!x", "license": "BusinessBasic"});
    let answer = timed(server, tally, "create_user", create).await;
    let lock = || tally.lock().unwrap_or_else(|e| e.into_inner());
    if !lock().record("create_user", &answer) {
        return;
    }
    lock().users.push((upn.clone(), false));
    // Asked again when a fault got in the way of the plan.
    let mut token = None;
    for _ in 0..3 {
        let ask = timed(server, tally, "delete_user", json!({"userEmail": upn})).await;
        lock().record("delete_user", &ask);
        token = ask["result"]["structuredContent"]["error"]["details"]["confirmationToken"]
            .as_str()
            .map(str::to_string);
        if token.is_some() {
            break;
        }
    }
    let Some(token) = token else {
        return;
    };
    let answer = timed(
        server,
        tally,
        "delete_user",
        json!({"userEmail": upn, "confirmationToken": token}),
    )
    .await;
    let mut t = lock();
    if t.record("delete_user", &answer)
        && let Some(u) = t.users.iter_mut().find(|(u, _)| *u == upn)
    {
        u.1 = true;
    }
}

/// A request that must be refused: success is an escape.
async fn hostile(server: &Server, tally: &Mutex<Tally>, rng: &mut StdRng, tag: &str) {
    let lock = || tally.lock().unwrap_or_else(|e| e.into_inner());
    let (what, answer) = match rng.random_range(0..8) {
        0 => (
            "wrong type",
            timed(server, tally, "get_user", json!({"userEmail": 42})).await,
        ),
        1 => (
            "unknown tool",
            timed(server, tally, "drop_all_tables", json!({})).await,
        ),
        2 => (
            "wrong shape",
            timed(server, tally, "get_user", json!({"userEmail": ["a"]})).await,
        ),
        3 => (
            "oversized argument",
            timed(
                server,
                tally,
                "get_user",
                json!({"userEmail": "a".repeat(2 * 1024 * 1024)}),
            )
            .await,
        ),
        4 => (
            "SQL in an id",
            timed(
                server,
                tally,
                "get_email_template",
                json!({"templateId": "x'; DROP TABLE audit; --"}),
            )
            .await,
        ),
        5 => (
            "path traversal in an address",
            timed(
                server,
                tally,
                "get_user",
                json!({"userEmail": "../../groups"}),
            )
            .await,
        ),
        6 => (
            "destructive call with a forged confirmation",
            timed(
                server,
                tally,
                "delete_email_template",
                json!({"templateId": TEMPLATE, "confirmationToken": format!("cfm_{tag}")}),
            )
            .await,
        ),
        _ => {
            // Lines the server cannot parse get no answer (there is no id to
            // answer); the call after them (which they go out before) shows
            // it survived.
            let deep = format!("{}\"x\"{}", "{\"a\":".repeat(3000), "}".repeat(3000));
            server.write_line("{\"jsonrpc\": \"2.0\", \"id\": ");
            server.write_line(&format!(r#"{{"jsonrpc":"2.0","id":"{tag}","method":"tools/call","params":{{"name":"list_users","arguments":{{"department":{deep}}}}}}}"#));
            let alive = timed(server, tally, "get_user", json!({"userEmail": ADMIN})).await;
            let mut t = lock();
            t.attacks += 2;
            t.record("get_user", &alive);
            if alive.is_null() {
                t.escapes
                    .push("unparsable lines: the server stopped answering".into());
            }
            return;
        }
    };
    let mut t = lock();
    t.attacks += 1;
    t.calls += 1;
    if answer.is_null() {
        t.escapes
            .push(format!("{what}: the server stopped answering"));
    } else if answer.get("error").is_none() && answer["result"]["isError"] != true {
        t.escapes.push(format!(
            "{what}: {}",
            answer.to_string().chars().take(200).collect::<String>()
        ));
    } else if answer["result"]["isError"] == true
        && answer["result"]["structuredContent"]["error"]["code"].is_null()
    {
        t.uncoded.push(format!("{what}: refused without a code"));
    }
}

struct Effects {
    acknowledged: u64,
    lost: u64,
    duplicated: u64,
    problems: Vec<String>,
}

/// Every acknowledged change is present exactly once (deleted users gone),
/// and the outbox holds each acknowledged send once.
async fn check_effects(server: &Server, control: &SandboxClient, tally: &Mutex<Tally>) -> Effects {
    let (templates, users, sends_ok, sends_uncertain) = {
        let t = tally.lock().unwrap_or_else(|e| e.into_inner());
        (
            t.templates.clone(),
            t.users.clone(),
            t.sends_acknowledged,
            t.sends_uncertain,
        )
    };
    let mut e = Effects {
        acknowledged: templates.len() as u64 + users.len() as u64 + sends_ok,
        lost: 0,
        duplicated: 0,
        problems: Vec::new(),
    };
    for id in &templates {
        let answer = server
            .call("get_email_template", json!({"templateId": id}))
            .await;
        if answer.is_err() {
            e.lost += 1;
            e.problems.push(format!("template {id} is missing"));
        }
    }
    let state = control.state().await.unwrap_or(Value::Null);
    let count = |upn: &str| {
        state["users"].as_array().map_or(0, |all| {
            all.iter()
                .filter(|u| u["props"]["userPrincipalName"].as_str() == Some(upn))
                .count()
        })
    };
    for (upn, deleted) in &users {
        match (count(upn), deleted) {
            (0, true) | (1, false) => {}
            (0, false) => {
                e.lost += 1;
                e.problems.push(format!("user {upn} is missing"));
            }
            (1, true) => {
                e.lost += 1;
                e.problems
                    .push(format!("user {upn} was deleted but is still there"));
            }
            (n, _) => {
                e.duplicated += n as u64 - 1;
                e.problems.push(format!("user {upn} exists {n} times"));
            }
        }
    }
    let outbox = control.outbox().await.unwrap_or_default();
    let delivered = outbox
        .iter()
        .filter(|m| {
            m.to_string().contains(&format!("@{DOMAIN}")) && m.to_string().contains("soak-")
        })
        .count() as u64;
    if delivered < sends_ok {
        e.lost += sends_ok - delivered;
        e.problems.push(format!(
            "{sends_ok} sends acknowledged, {delivered} delivered"
        ));
    }
    if delivered > sends_ok + sends_uncertain {
        e.duplicated += delivered - sends_ok - sends_uncertain;
        e.problems.push(format!(
            "{delivered} delivered for {sends_ok} acknowledged and {sends_uncertain} uncertain sends"
        ));
    }
    e
}
