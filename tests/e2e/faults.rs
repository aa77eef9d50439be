//! Upstream faults the sandbox injects: a malformed body, the token endpoint
//! down, a response slower than the call's deadline, connections dropped
//! before or after Graph acted. Each is a coded error that says what to do,
//! nothing is done twice, and the next call works.

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

/// How many requests the sandbox saw for this method and path.
async fn seen(s: &Server, method: &str, path: &str) -> usize {
    s.sandbox()
        .graph_requests()
        .await
        .iter()
        .filter(|r| r["method"] == method && r["path"].as_str() == Some(path))
        .count()
}

#[tokio::test]
async fn a_read_whose_connection_drops_is_retried() {
    let s = Server::start(Options::default()).await;
    s.sandbox()
        .fault(json!({"method": "GET", "pathPrefix": "/v1.0/users", "reset": "before", "times": 1}))
        .await;
    let user = s.ok("get_user", json!({"userEmail": ADMIN})).await;
    assert_eq!(user["userPrincipalName"], ADMIN, "{user}");
    let path = format!("/v1.0/users/{ADMIN}");
    assert_eq!(seen(&s, "GET", &path).await, 2, "one dropped, one answered");
    s.finish().await;
}

#[tokio::test]
async fn a_created_user_whose_answer_is_lost_is_not_created_twice() {
    let s = Server::start(Options::default()).await;
    let upn = "lost.answer@libertygoldsilver.com";
    // Graph creates the user, then the connection drops before the answer.
    s.sandbox()
        .fault(json!({"method": "POST", "pathPrefix": "/v1.0/users", "reset": "after", "times": 1}))
        .await;
    let created = s
        .ok(
            "create_user",
            json!({"email": upn, "displayName": "Lost Answer", "password": SENTINEL_PASSWORD,
                   "license": "BusinessStandard"}),
        )
        .await;
    assert_eq!(created["userPrincipalName"], upn, "{created}");
    assert!(created.to_string().contains("adopted"), "{created}");
    assert_eq!(
        seen(&s, "POST", "/v1.0/users").await,
        2,
        "the host retried once"
    );
    let state = s.sandbox().state().await;
    let copies = state["users"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|u| u["props"]["userPrincipalName"].as_str() == Some(upn))
        .count();
    assert_eq!(copies, 1, "exactly one user exists");
    let user = s.ok("get_user", json!({"userEmail": upn})).await;
    assert!(!user["licenses"].as_array().unwrap().is_empty(), "{user}");
    s.finish().await;
}

/// Arguments that send one of the sandbox's example templates.
async fn send_args(s: &Server) -> serde_json::Value {
    let list = s.ok("list_email_templates", json!({})).await;
    let id = list["templates"][0]["templateId"]
        .as_str()
        .unwrap()
        .to_string();
    let template = s.ok("get_email_template", json!({"templateId": id})).await;
    let vars: serde_json::Map<String, serde_json::Value> = template["variables"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| {
            (
                v.as_str().or(v["name"].as_str()).unwrap().to_string(),
                json!("x"),
            )
        })
        .collect();
    json!({"templateId": id, "variables": vars, "from": ADMIN, "to": ["ann@libertygoldsilver.com"]})
}

#[tokio::test]
async fn a_send_that_meets_a_503_is_not_repeated() {
    let s = Server::start(Options::default()).await;
    let path = format!("/v1.0/users/{ADMIN}/sendMail");
    s.sandbox()
        .fault(json!({"method": "POST", "pathPrefix": path, "status": 503, "times": 1}))
        .await;
    let e = s.err("send_from_template", send_args(&s).await).await;
    assert_eq!(e["code"], "GRAPH_001", "{e}");
    assert_eq!(
        seen(&s, "POST", &path).await,
        1,
        "a send is not retried on 503"
    );
    assert!(s.sandbox().outbox().await.is_empty());
    s.ok("send_from_template", send_args(&s).await).await;
    assert_eq!(s.sandbox().outbox().await.len(), 1);
    s.finish().await;
}

#[tokio::test]
async fn mail_whose_answer_is_lost_is_not_sent_again() {
    let s = Server::start(Options::default()).await;
    s.sandbox()
        .fault(json!({"method": "POST", "pathPrefix": format!("/v1.0/users/{ADMIN}/sendMail"), "reset": "after", "times": 1}))
        .await;
    let e = s.err("send_from_template", send_args(&s).await).await;
    assert_eq!(e["code"], "GRAPH_001", "{e}");
    let message = e["message"].as_str().unwrap();
    assert!(message.contains("may have carried it out"), "{e}");
    assert_eq!(s.sandbox().outbox().await.len(), 1, "Graph sent it once");
    assert_eq!(
        seen(&s, "POST", &format!("/v1.0/users/{ADMIN}/sendMail")).await,
        1,
        "a send is never repeated by the host"
    );
    s.ok("get_user", json!({"userEmail": ADMIN})).await;
    s.finish().await;
}
