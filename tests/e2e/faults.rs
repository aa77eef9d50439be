//! Upstream faults the sandbox injects: a malformed body, the token endpoint
//! down, a response slower than the call's deadline. Each is a coded error
//! that says what to do, and the next call works.

use crate::harness::*;
use serde_json::json;

const ADMIN: &str = "admin@libertygoldsilver.com";

#[tokio::test]
async fn malformed_upstream_json_is_a_coded_error_and_the_next_call_works() {
    let s = Server::start(Options::default()).await;
    s.sandbox()
        .fault(json!({"pathPrefix": "/v1.0/users", "status": 502, "body": "malformed", "times": 1}))
        .await;
    let e = s.err("get_user", json!({"userEmail": ADMIN})).await;
    assert_eq!(e["code"], "GRAPH_001", "{e}");
    assert!(e["message"].as_str().unwrap().len() > 20, "{e}");
    s.ok("get_user", json!({"userEmail": ADMIN})).await;
    s.finish().await;
}

#[tokio::test]
async fn the_token_endpoint_down_is_auth_001_and_recovers() {
    let s = Server::start(Options::default()).await;
    // Before any token was issued: every token request fails for a while.
    s.sandbox()
        .fault(json!({"pathPrefix": "/5d1a3f6e-8c2b-4e7a-9f10-365a0d000001/oauth2", "status": 503}))
        .await;
    let e = s.err("get_user", json!({"userEmail": ADMIN})).await;
    assert_eq!(e["code"], "AUTH_001", "{e}");
    let text = e["message"].as_str().unwrap();
    assert!(!text.contains(SENTINEL_SECRET), "{e}");
    s.sandbox()
        .send(reqwest::Method::DELETE, "/_sandbox/faults", None)
        .await;
    s.ok("get_user", json!({"userEmail": ADMIN})).await;
    s.finish().await;
}

#[tokio::test]
async fn a_response_slower_than_the_deadline_stops_the_call_not_the_server() {
    let s = Server::start(Options::default().env("M365_CALL_TIMEOUT_SECS", "2")).await;
    s.sandbox()
        .fault(json!({"pathPrefix": "/v1.0/users", "latencyMs": 5000, "times": 1}))
        .await;
    let e = s.err("get_user", json!({"userEmail": ADMIN})).await;
    assert_eq!(e["code"], "PLUGIN_001", "{e}");
    assert!(e["message"].as_str().unwrap().contains("2 s"), "{e}");
    s.ok("get_user", json!({"userEmail": ADMIN})).await;
    s.finish().await;
}
