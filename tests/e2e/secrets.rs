//! No secret reaches stderr, the log file or anything the client is shown.

use crate::harness::*;
use serde_json::json;

#[tokio::test]
async fn sentinel_secrets_never_appear_in_output() {
    let s = Server::start(Options::default().with_probe()).await;
    s.ok("create_user", json!({
        "email": "eve@libertygoldsilver.com", "displayName": "Eve", "password": SENTINEL_PASSWORD,
        "license": "BusinessBasic", "waitForMailboxSeconds": 0
    }))
    .await;
    // A failing call whose arguments carry the password too.
    s.err("create_user", json!({"email": "eve@libertygoldsilver.com", "displayName": "Eve", "password": SENTINEL_PASSWORD, "license": "BusinessBasic"})).await;
    // A plugin that tries to read what the host sends upstream sees no token.
    let echoed = s.ok("http", json!({"method": "GET", "url": "https://graph.microsoft.com/v1.0/users/admin@libertygoldsilver.com"})).await;
    s.read("m365://health").await;
    // A plugin that hands a known secret back, in a result or an error.
    let echoed_secret = s
        .ok(
            "echo",
            json!({"value": format!("the password was {SENTINEL_PASSWORD}")}),
        )
        .await;
    assert!(
        echoed_secret["value"]
            .as_str()
            .unwrap()
            .contains("[REDACTED]"),
        "{echoed_secret}"
    );
    // A destructive call's token round trip carries arguments too.
    let e = s
        .err(
            "delete_user",
            json!({"userEmail": "eve@libertygoldsilver.com"}),
        )
        .await;
    let token = e["details"]["confirmationToken"]
        .as_str()
        .unwrap()
        .to_string();
    s.ok(
        "delete_user",
        json!({"userEmail": "eve@libertygoldsilver.com", "confirmationToken": token}),
    )
    .await;
    let dir = s.stop().await;
    let (stderr, log, results) = outputs(dir.path());
    let audit = cli(
        dir.path(),
        &["audit", "export", "--format", "jsonl", "--sandbox"],
        &[],
    )
    .await;
    assert_eq!(audit.code, Some(0), "{}", audit.stderr);
    for tool in ["create_user", "http", "delete_user"] {
        assert!(
            audit.stdout.contains(&format!("\"tool\":\"{tool}\"")),
            "{tool} not audited"
        );
    }
    let csv = cli(
        dir.path(),
        &["audit", "export", "--format", "csv", "--sandbox"],
        &[],
    )
    .await;
    let key = sandbox_db_key(dir.path());
    assert!(
        log.contains("tool call succeeded"),
        "the log file was written: {log}"
    );
    for (name, text) in [
        ("stderr", &stderr),
        ("log file", &log),
        ("results", &results),
        ("probe", &echoed.to_string()),
        ("echo", &echoed_secret.to_string()),
        ("audit jsonl", &audit.stdout),
        ("audit csv", &csv.stdout),
        (
            "cli output",
            &std::fs::read_to_string(dir.path().join("cli.log")).unwrap(),
        ),
    ] {
        assert!(!text.contains(&key), "database key in {name}");
        assert!(!text.contains(SENTINEL_SECRET), "client secret in {name}");
        assert!(!text.contains(SENTINEL_PASSWORD), "password in {name}");
        assert!(!text.contains("eyJ"), "a token-shaped value in {name}");
    }
}
