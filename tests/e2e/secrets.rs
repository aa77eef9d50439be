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
    let (stderr, log, results) = s.finish().await;
    assert!(
        log.contains("tool call succeeded"),
        "the log file was written: {log}"
    );
    for (name, text) in [
        ("stderr", &stderr),
        ("log file", &log),
        ("results", &results),
        ("probe", &echoed.to_string()),
    ] {
        assert!(!text.contains(SENTINEL_SECRET), "client secret in {name}");
        assert!(!text.contains(SENTINEL_PASSWORD), "password in {name}");
        assert!(!text.contains("eyJ"), "a token-shaped value in {name}");
    }
}
