//! The capability gate and the sandbox's limits, through the probe test
//! plugin: every refusal is PLUGIN_001 naming what was missing, and the next
//! call still works.

use crate::harness::*;
use serde_json::json;

async fn probe_http(
    s: &Server,
    method: &str,
    url: &str,
    headers: serde_json::Value,
) -> serde_json::Value {
    s.err(
        "http",
        json!({"method": method, "url": url, "headers": headers}),
    )
    .await
}

#[tokio::test]
async fn requests_outside_the_grants_are_refused_and_named() {
    let s = Server::start(Options::default().with_probe()).await;
    // Granted: a GET of one user works through the gate with the host's token.
    let ok = s.ok("http", json!({"method": "GET", "url": "https://graph.microsoft.com/v1.0/users/admin@libertygoldsilver.com"})).await;
    assert_eq!(ok["status"], 200, "{ok}");

    let cases = [
        ("GET", "https://example.com/v1.0/users/x", "example.com"),
        ("GET", "https://127.0.0.1/v1.0/users/x", "127.0.0.1"),
        ("GET", "https://localhost/v1.0/users/x", "localhost"),
        ("GET", "https://[::1]/v1.0/users/x", "[::1]"),
        // A query cannot change the path the gate judged.
        (
            "GET",
            "https://graph.microsoft.com/v1.0/groups?u=/users/x",
            "GET /groups",
        ),
        (
            "GET",
            "https://graph.microsoft.com/v1.0/users/x%3F/../../groups",
            "..",
        ),
        (
            "GET",
            "https://graph.microsoft.com:8443/v1.0/users/x",
            "8443",
        ),
        ("GET", "http://graph.microsoft.com/v1.0/users/x", "https"),
        (
            "DELETE",
            "https://graph.microsoft.com/v1.0/users/x",
            "DELETE /users/x",
        ),
        (
            "GET",
            "https://graph.microsoft.com/v1.0/groups",
            "GET /groups",
        ),
        (
            "GET",
            "https://graph.microsoft.com/v1.0/users/x/../../groups",
            "..",
        ),
        (
            "GET",
            "https://graph.microsoft.com/v1.0/users/%2e%2e",
            "/v1.0/users/%2e%2e",
        ),
        (
            "GET",
            "https://graph.microsoft.com/v1.0/users/a%252f..",
            "/v1.0/users/a%252f..",
        ),
        (
            "GET",
            "https://graph.microsoft.com/v1.0/users/a%2fb",
            "/v1.0/users/a%2fb",
        ),
        (
            "GET",
            "https://graph.microsoft.com/beta/users/x",
            "/beta/users/x",
        ),
    ];
    for (method, url, named) in cases {
        let err = probe_http(&s, method, url, json!({})).await;
        assert_eq!(err["code"], "PLUGIN_001", "{method} {url}: {err}");
        assert!(
            err["message"].as_str().unwrap().contains(named),
            "{method} {url}: {err}"
        );
    }
    let own_auth = probe_http(
        &s,
        "GET",
        "https://graph.microsoft.com/v1.0/users/admin@libertygoldsilver.com",
        json!({"authorization": "Bearer stolen"}),
    )
    .await;
    assert_eq!(own_auth["code"], "PLUGIN_001", "{own_auth}");
    assert!(
        own_auth["message"]
            .as_str()
            .unwrap()
            .to_lowercase()
            .contains("authorization"),
        "{own_auth}"
    );

    let admin = "https://graph.microsoft.com/v1.0/users/admin@libertygoldsilver.com";
    for (headers, named) in [
        (json!({"cookie": "session=1"}), "cookie"),
        (json!({"host": "evil.example"}), "host"),
    ] {
        let e = probe_http(&s, "GET", admin, headers.clone()).await;
        assert_eq!(e["code"], "PLUGIN_001", "{headers}: {e}");
        assert!(
            e["message"]
                .as_str()
                .unwrap()
                .to_lowercase()
                .contains(named),
            "{headers}: {e}"
        );
    }

    // A redirect from the granted host comes back to the plugin as it is:
    // the host never follows it (following would be a new, judged request).
    s.sandbox()
        .fault(json!({"method": "GET", "pathPrefix": "/v1.0/users", "redirect": "https://evil.example/v1.0/users/x", "times": 1}))
        .await;
    let moved = s.ok("http", json!({"method": "GET", "url": admin})).await;
    assert_eq!(moved["status"], 302, "{moved}");
    assert_eq!(
        moved["headers"]["location"], "https://evil.example/v1.0/users/x",
        "{moved}"
    );

    // A body over 8 MiB is refused before anything is sent.
    let e = s
        .err(
            "http",
            json!({"method": "POST", "url": "https://graph.microsoft.com/v1.0/users",
                            "body": "x".repeat(1024 * 1024), "bodyRepeat": 9}),
        )
        .await;
    assert_eq!(e["code"], "PLUGIN_001", "{e}");
    assert!(e["message"].as_str().unwrap().contains("MiB"), "{e}");

    // $batch: more than Graph's 20, or an absolute URL inside, is refused.
    let batch = |requests: serde_json::Value| {
        json!({"method": "POST", "url": "https://graph.microsoft.com/v1.0/$batch",
               "body": json!({"requests": requests}).to_string(),
               "headers": {"content-type": "application/json"}})
    };
    let many: Vec<_> = (0..21)
        .map(|i| json!({"id": i.to_string(), "method": "GET", "url": "/users/admin@libertygoldsilver.com"}))
        .collect();
    let e = s.err("http", batch(json!(many))).await;
    assert!(e["message"].as_str().unwrap().contains("at most 20"), "{e}");
    let e = s
        .err(
            "http",
            batch(json!([{"id": "1", "method": "GET", "url": "https://evil.example/v1.0/users"}])),
        )
        .await;
    assert!(
        e["message"].as_str().unwrap().contains("absolute URL"),
        "{e}"
    );
    assert!(
        s.sandbox()
            .graph_requests()
            .await
            .iter()
            .all(|r| r["path"] != "/v1.0/$batch"),
        "no refused $batch reached the tenant"
    );

    let echoed = s.ok("echo", json!({"value": {"still": "alive"}})).await;
    assert_eq!(echoed["value"]["still"], "alive");
    s.finish().await;
}

#[tokio::test]
async fn a_flood_of_progress_is_capped_and_the_server_goes_on() {
    let s = Server::start(Options::default().with_probe()).await;
    let (result, progress) = s
        .call_with_progress("progress_flood", json!({"n": 5000}))
        .await;
    assert_eq!(
        result.structured_content.as_ref().unwrap()["sent"],
        5000,
        "the plugin ran to the end"
    );
    assert!(
        !progress.is_empty() && progress.len() <= 1000,
        "{} progress notifications reached the client",
        progress.len()
    );
    let echoed = s.ok("echo", json!({"value": 1})).await;
    assert_eq!(echoed["value"], 1);
    s.finish().await;
}

#[tokio::test]
async fn runaway_plugins_are_stopped_and_others_keep_working() {
    let s = Server::start(
        Options::default()
            .with_probe()
            .env("M365_PLUGIN_CPU_MS", "1500")
            .env("M365_PLUGIN_MEMORY_MB", "64"),
    )
    .await;
    for (tool, reason) in [
        ("spin", "CPU"),
        ("hog", "memory"),
        ("crash", "crashed"),
        ("stack", "stack"),
    ] {
        let err = s.err(tool, json!({})).await;
        assert_eq!(err["code"], "PLUGIN_001", "{tool}: {err}");
        assert!(
            err["message"].as_str().unwrap().contains(reason),
            "{tool}: {err}"
        );
        // Another plugin's tool still answers after each.
        let listed = s.ok("list_users", json!({})).await;
        assert!(listed.to_string().contains("admin@libertygoldsilver.com"));
    }
    s.finish().await;
}

#[tokio::test]
async fn exchange_cmdlets_need_their_own_grant() {
    let s = Server::start(Options::default().with_probe()).await;
    let tenant = s.read("m365://health").await["tenant"]["tenantId"]
        .as_str()
        .unwrap()
        .to_string();
    // Granted: Get-Mailbox reaches the tenant's Exchange with the host's token.
    let ok = s
        .ok("exo", json!({"cmdlet": "Get-Mailbox", "parameters": {"Identity": "admin@libertygoldsilver.com"}}))
        .await;
    assert_eq!(
        ok["value"][0]["PrimarySmtpAddress"], "admin@libertygoldsilver.com",
        "{ok}"
    );
    let seen = s.sandbox().get("/_sandbox/requests").await;
    assert!(seen.to_string().contains("InvokeCommand"), "{seen}");

    // Not granted: refused before anything is sent, naming the cmdlet.
    s.sandbox().clear_requests().await;
    let e = s
        .err("exo", json!({"cmdlet": "Set-Mailbox", "parameters": {"Identity": "admin@libertygoldsilver.com", "ForwardingSmtpAddress": "smtp:thief@evil.example"}}))
        .await;
    assert_eq!(e["code"], "PLUGIN_001", "{e}");
    assert!(
        e["message"].as_str().unwrap().contains("Set-Mailbox"),
        "{e}"
    );
    let seen = s.sandbox().get("/_sandbox/requests").await;
    assert!(
        !seen.to_string().contains("InvokeCommand"),
        "sent anyway: {seen}"
    );

    // Raw requests around the cmdlet check: another tenant, another path,
    // a GET, a body that is not a cmdlet.
    let body = json!({"CmdletInput": {"CmdletName": "Get-Mailbox", "Parameters": {}}}).to_string();
    let cases = [
        ("POST", "https://outlook.office365.com/adminapi/beta/00000000-0000-0000-0000-000000000000/InvokeCommand".to_string(), body.clone(), "InvokeCommand"),
        ("POST", format!("https://outlook.office365.com/adminapi/beta/{tenant}/Mailbox"), body.clone(), "InvokeCommand"),
        ("GET", format!("https://outlook.office365.com/adminapi/beta/{tenant}/InvokeCommand"), String::new(), "InvokeCommand"),
        ("POST", format!("https://outlook.office365.com/adminapi/beta/{tenant}/InvokeCommand"), "{\"CmdletInput\": {\"CmdletName\": \"Remove-Mailbox\"}}".into(), "Remove-Mailbox"),
        ("POST", format!("https://outlook.office365.com/adminapi/beta/{tenant}/InvokeCommand"), "not json".into(), "not JSON"),
    ];
    for (method, url, body, named) in cases {
        let e = s
            .err("http", json!({"method": method, "url": url, "body": body, "headers": {"content-type": "application/json"}}))
            .await;
        assert_eq!(e["code"], "PLUGIN_001", "{method} {url}: {e}");
        assert!(
            e["message"].as_str().unwrap().contains(named),
            "{method} {url}: {e}"
        );
    }
    s.finish().await;
}

#[tokio::test]
async fn a_flood_of_log_lines_is_capped_and_the_server_goes_on() {
    let s = Server::start(Options::default().with_probe()).await;
    let flooded = s.ok("log_flood", json!({"n": 20000})).await;
    assert_eq!(flooded["sent"], 20000);
    let echoed = s.ok("echo", json!({"value": 2})).await;
    assert_eq!(echoed["value"], 2);
    let (_, log, _) = s.finish().await;
    let written = log.matches("probe flood line").count();
    assert_eq!(written, 1000, "lines written from one call");
    assert!(log.contains("the rest of this call's are dropped"));
}

/// The probe's own name and component, with the security plugin's grants.
fn with_security_grants(probe: &str) -> String {
    let security = include_str!("../../plugins/security/manifest.toml");
    let head = probe.split("[grants]").next().unwrap();
    let grants = security.split("[grants]").nth(1).unwrap();
    format!("{head}[grants]{grants}")
}

#[tokio::test]
async fn the_security_plugins_grants_let_no_write_through() {
    let manifest = include_str!("../../plugins/security/manifest.toml");
    let grants = manifest.split("[grants]").nth(1).unwrap();
    for line in grants.lines().map(str::trim).filter(|l| l.starts_with('"')) {
        let grant = line.trim_matches(|c| c == '"' || c == ',');
        assert!(
            grant.starts_with("GET /") || grant == "POST /$batch" || grant.starts_with("Get-"),
            "a grant that may write: {grant}"
        );
    }
    assert!(!grants.contains("store"), "no store grant");

    let s = Server::start(Options::default().probe_manifest(with_security_grants)).await;
    let graph = "https://graph.microsoft.com/v1.0";
    // What the review reads passes.
    let ok = s
        .ok("http", json!({"method": "GET", "url": format!("{graph}/policies/identitySecurityDefaultsEnforcementPolicy")}))
        .await;
    assert_eq!(ok["status"], 200, "{ok}");
    s.sandbox().clear_requests().await;
    // Each write it could attempt is refused before it is sent.
    let batch = |requests: serde_json::Value| {
        json!({"method": "POST", "url": format!("{graph}/$batch"),
               "body": json!({"requests": requests}).to_string(),
               "headers": {"content-type": "application/json"}})
    };
    for (args, named) in [
        (
            json!({"method": "PATCH", "url": format!("{graph}/policies/identitySecurityDefaultsEnforcementPolicy"),
                   "body": "{\"isEnabled\":false}", "headers": {"content-type": "application/json"}}),
            "PATCH /policies/identitySecurityDefaultsEnforcementPolicy",
        ),
        (
            json!({"method": "PATCH", "url": format!("{graph}/users/admin@libertygoldsilver.com"),
                   "body": "{\"accountEnabled\":false}", "headers": {"content-type": "application/json"}}),
            "PATCH /users/admin@libertygoldsilver.com",
        ),
        (
            json!({"method": "POST", "url": format!("{graph}/users"), "body": "{}",
                   "headers": {"content-type": "application/json"}}),
            "POST /users",
        ),
        (
            batch(json!([{"id": "1", "method": "GET", "url": "/domains"},
                         {"id": "2", "method": "DELETE", "url": "/users/admin@libertygoldsilver.com"}])),
            "DELETE /users/admin@libertygoldsilver.com",
        ),
    ] {
        let e = s.err("http", args.clone()).await;
        assert_eq!(e["code"], "PLUGIN_001", "{args}: {e}");
        assert!(
            e["message"].as_str().unwrap().contains(named),
            "{args}: {e}"
        );
    }
    for (cmdlet, params) in [
        (
            "Set-Mailbox",
            json!({"Identity": "admin@libertygoldsilver.com", "ForwardingSmtpAddress": "smtp:x@example.net"}),
        ),
        (
            "Remove-InboxRule",
            json!({"Mailbox": "ann.lee@libertygoldsilver.com", "Identity": "Sync"}),
        ),
        (
            "Set-TransportConfig",
            json!({"SmtpClientAuthenticationDisabled": false}),
        ),
    ] {
        let e = s
            .err("exo", json!({"cmdlet": cmdlet, "parameters": params}))
            .await;
        assert_eq!(e["code"], "PLUGIN_001", "{cmdlet}: {e}");
        assert!(e["message"].as_str().unwrap().contains(cmdlet), "{e}");
    }
    let seen = s.sandbox().get("/_sandbox/requests").await;
    for r in seen.as_array().unwrap() {
        let graph_write =
            r["path"].as_str().is_some_and(|p| p.starts_with("/v1.0")) && r["method"] != "GET";
        let exchange_write = r["cmdlet"].as_str().is_some_and(|c| !c.starts_with("Get-"));
        assert!(
            !graph_write && !exchange_write,
            "a refused write reached the tenant: {r}"
        );
    }
    s.finish().await;
}
