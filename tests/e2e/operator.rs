//! The operator's controls: read-only mode (enforced at the listing, at the
//! call and at the gate), tool selection, bounded output, the permissions a
//! selection needs, and the sign-off on mail the agent sends.

use crate::harness::*;
use serde_json::{Value, json};

const ADMIN: &str = "admin@libertygoldsilver.com";

async fn listed(s: &Server) -> Vec<rmcp::model::Tool> {
    s.client.list_all_tools().await.unwrap()
}

#[tokio::test]
async fn read_only_mode_lists_reads_only_and_the_gate_refuses_writes() {
    let s = Server::start(
        Options::default()
            .with_probe()
            .env("M365_READ_ONLY", "true"),
    )
    .await;
    let tools = listed(&s).await;
    assert!(tools.iter().any(|t| t.name == "get_user"));
    for t in &tools {
        assert_eq!(
            t.annotations.as_ref().and_then(|a| a.read_only_hint),
            Some(true),
            "{} listed in read-only mode",
            t.name
        );
    }
    let e = s
        .err("create_user", json!({"email": "x@libertygoldsilver.com", "displayName": "X", "password": SENTINEL_PASSWORD, "license": "BusinessBasic"}))
        .await;
    assert_eq!(e["code"], "PERM_001");
    assert!(
        e["message"].as_str().unwrap().contains("Read-only mode"),
        "{e}"
    );

    // The probe's `http` tool claims to be read-only; its PATCH is still refused.
    let url = format!("https://graph.microsoft.com/v1.0/users/{ADMIN}");
    let e = s
        .err("http", json!({"method": "PATCH", "url": url, "body": "{\"department\": \"Pwned\"}", "headers": {"content-type": "application/json"}}))
        .await;
    assert_eq!(e["code"], "PERM_001", "{e}");
    assert!(
        e["message"].as_str().unwrap().contains("read-only mode"),
        "{e}"
    );
    let user = s.ok("get_user", json!({"userEmail": ADMIN})).await;
    assert_ne!(user["department"], "Pwned");

    // A $batch of reads goes through; one write inside it does not.
    let batch = |method: &str| {
        json!({"requests": [
            {"id": "1", "method": "GET", "url": format!("/users/{ADMIN}")},
            {"id": "2", "method": method, "url": format!("/users/{ADMIN}"), "headers": {"Content-Type": "application/json"}, "body": {"department": "Pwned"}},
        ]})
        .to_string()
    };
    let ok = s
        .ok("http", json!({"method": "POST", "url": "https://graph.microsoft.com/v1.0/$batch", "body": batch("GET"), "headers": {"content-type": "application/json"}}))
        .await;
    assert_eq!(ok["status"], 200, "{ok}");
    let e = s
        .err("http", json!({"method": "POST", "url": "https://graph.microsoft.com/v1.0/$batch", "body": batch("PATCH"), "headers": {"content-type": "application/json"}}))
        .await;
    assert_eq!(e["code"], "PERM_001", "{e}");
    // Graph decodes `%24batch` to `$batch`: the write inside is judged all the same.
    let e = s
        .err("http", json!({"method": "POST", "url": "https://graph.microsoft.com/v1.0/%24batch", "body": batch("PATCH"), "headers": {"content-type": "application/json"}}))
        .await;
    assert_eq!(e["code"], "PERM_001", "{e}");
    // A $batch inside a $batch would carry its own requests past the check.
    let nested = json!({"requests": [{"id": "1", "method": "POST", "url": "/$batch",
        "headers": {"Content-Type": "application/json"}, "body": serde_json::from_str::<serde_json::Value>(&batch("PATCH")).unwrap()}]});
    let e = s
        .err("http", json!({"method": "POST", "url": "https://graph.microsoft.com/v1.0/$batch", "body": nested.to_string(), "headers": {"content-type": "application/json"}}))
        .await;
    assert_eq!(e["code"], "PLUGIN_001", "{e}");
    assert!(
        e["message"].as_str().unwrap().contains("another $batch"),
        "{e}"
    );
    let user = s.ok("get_user", json!({"userEmail": ADMIN})).await;
    assert_ne!(user["department"], "Pwned", "no write got through");
    let health = s.read("m365://health").await;
    assert_eq!(health["envelope"]["readOnly"], true, "{health}");
    s.finish().await;
}

#[tokio::test]
async fn only_the_selected_tools_are_offered() {
    let s = Server::start(Options::default().env("M365_TOOLS", "get_*,list_*,!list_teams")).await;
    let names: Vec<String> = listed(&s)
        .await
        .into_iter()
        .map(|t| t.name.to_string())
        .collect();
    assert!(
        names.contains(&"get_user".into()) && names.contains(&"list_users".into()),
        "{names:?}"
    );
    assert!(
        names
            .iter()
            .all(|n| (n.starts_with("get_") || n.starts_with("list_")) && n != "list_teams"),
        "{names:?}"
    );
    let e = s.err("create_user", json!({})).await;
    assert_eq!(e["code"], "PERM_001");
    assert!(e["message"].as_str().unwrap().contains("M365_TOOLS"), "{e}");
    s.finish().await;

    let dir = tempfile::tempdir().unwrap();
    let tools = cli(dir.path(), &["tools", "--tools", "get_*"], &[]).await;
    let get_user = tools
        .stdout
        .lines()
        .find(|l| l.starts_with("get_user "))
        .unwrap();
    assert!(get_user.contains("in (matches get_*)"), "{get_user}");
    let create = tools
        .stdout
        .lines()
        .find(|l| l.starts_with("create_user "))
        .unwrap();
    assert!(create.contains("OUT (matches none of get_*)"), "{create}");
}

#[tokio::test]
async fn permissions_lists_what_the_selected_tools_need() {
    let dir = tempfile::tempdir().unwrap();
    let out = cli(dir.path(), &["permissions", "--tools", "create_user"], &[]).await;
    assert_eq!(out.code, Some(0), "{}", out.stderr);
    for want in ["User.ReadWrite.All", "LicenseAssignment.ReadWrite.All"] {
        assert!(out.stdout.contains(want), "{want} missing: {}", out.stdout);
    }
    for unwanted in ["Mail.Send", "Team.Create", "Group.ReadWrite.All"] {
        assert!(
            !out.stdout.contains(unwanted),
            "{unwanted} listed: {}",
            out.stdout
        );
    }
}

/// 500 users created through the gate in `$batch`es, as a bulk
/// import would.
async fn seed_users(s: &Server, n: usize) {
    for chunk in (0..n).collect::<Vec<_>>().chunks(10) {
        let requests: Vec<Value> = chunk
            .iter()
            .map(|i| {
                json!({"id": i.to_string(), "method": "POST", "url": "/users", "headers": {"Content-Type": "application/json"},
                       "body": {"accountEnabled": true, "displayName": format!("Bulk User {i:03}"), "mailNickname": format!("bulk{i:03}"),
                                "userPrincipalName": format!("bulk{i:03}@libertygoldsilver.com"),
                                "passwordProfile": {"password": "Bulk!Passw0rd", "forceChangePasswordNextSignIn": true}}})
            })
            .collect();
        let r = s
            .ok("http", json!({"method": "POST", "url": "https://graph.microsoft.com/v1.0/$batch", "body": json!({"requests": requests}).to_string(), "headers": {"content-type": "application/json"}}))
            .await;
        assert_eq!(r["status"], 200, "{r}");
    }
}

#[tokio::test]
async fn long_lists_page_under_the_bound_and_long_results_are_cut_with_a_link() {
    let s = Server::start(
        Options::default()
            .with_probe()
            .env("RATE_LIMIT_ENABLED", "false")
            .env("M365_MAX_RESULT_CHARS", "15000"),
    )
    .await;
    // The sandbox's own seeded users, counted as list_users pages them.
    let seeded = s.sandbox().state().await["users"].as_array().unwrap().len();
    seed_users(&s, 500).await;
    let mut seen = std::collections::BTreeSet::new();
    let mut cursor: Option<String> = None;
    let mut pages = 0;
    loop {
        let args = match &cursor {
            Some(c) => json!({"cursor": c}),
            None => json!({}),
        };
        let r = s.call("list_users", args).await;
        let text = text_of(&r);
        assert!(text.len() < 20_000, "page of {} bytes", text.len());
        let page = r.structured_content.clone().unwrap();
        for u in page["users"].as_array().unwrap() {
            assert!(
                seen.insert(u["id"].as_str().unwrap().to_string()),
                "{} twice",
                u["id"]
            );
        }
        pages += 1;
        cursor = page["nextCursor"].as_str().map(str::to_string);
        if cursor.is_none() {
            break;
        }
    }
    assert_eq!(seen.len(), seeded + 500, "every user once ({pages} pages)");

    // A page bigger than the host's bound: the head, and a link to the whole.
    let r = s.call("list_users", json!({"top": 100})).await;
    assert_ne!(r.is_error, Some(true));
    let text = text_of(&r);
    assert!(text.len() < 16_000, "{} characters", text.len());
    let link = r
        .content
        .iter()
        .find_map(|c| c.as_resource_link())
        .expect("a resource link to the whole result");
    assert!(text.contains(link.uri.as_str()));
    let whole = s.read(&link.uri).await;
    assert_eq!(whole["users"].as_array().unwrap().len(), 100);
    s.finish().await;
}

#[tokio::test]
async fn mail_the_agent_sends_carries_the_operators_signoff() {
    let signoff = "Sent by the IT assistant (AI) for Liberty Gold Silver";
    let s = Server::start(Options::default().env("M365_MAIL_SIGNOFF", signoff)).await;
    s.ok(
        "send_from_template",
        json!({"templateId": "customer-order-update", "from": ADMIN, "to": ["c@customer.example"],
               "variables": {"customer_name": "Cy", "order_number": "7", "status": "shipped"}}),
    )
    .await;
    let outbox = s.sandbox().outbox().await;
    assert!(
        outbox[0]["bodyHtml"].as_str().unwrap().contains(signoff),
        "{}",
        outbox[0]
    );
    assert!(
        outbox[0]["bodyText"].as_str().unwrap().ends_with(signoff),
        "{}",
        outbox[0]
    );
    s.finish().await;
}
