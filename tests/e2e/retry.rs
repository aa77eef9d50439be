//! The host's retry policy against the sandbox's fault knobs.

use crate::harness::*;
use serde_json::json;

#[tokio::test]
async fn a_429_with_retry_after_is_waited_out() {
    let s = Server::start(Options::default()).await;
    s.sandbox()
        .fault(json!({"pathPrefix": "/v1.0/users", "status": 429, "retryAfter": 1, "times": 1}))
        .await;
    s.sandbox().clear_requests().await;
    let user = s
        .ok(
            "get_user",
            json!({"userEmail": "admin@libertygoldsilver.com"}),
        )
        .await;
    assert_eq!(user["userPrincipalName"], "admin@libertygoldsilver.com");
    let requests = s.sandbox().graph_requests().await;
    let statuses: Vec<_> = requests
        .iter()
        .map(|r| r["status"].as_u64().unwrap())
        .collect();
    assert_eq!(&statuses[..2], &[429, 200], "{requests:?}");
    s.finish().await;
}

#[tokio::test]
async fn a_503_every_time_fails_with_graph_001_after_three_attempts() {
    let s = Server::start(Options::default()).await;
    s.sandbox()
        .fault(json!({"pathPrefix": "/v1.0/users", "status": 503}))
        .await;
    s.sandbox().clear_requests().await;
    let err = s
        .err(
            "get_user",
            json!({"userEmail": "admin@libertygoldsilver.com"}),
        )
        .await;
    assert_eq!(err["code"], "GRAPH_001", "{err}");
    assert!(
        err["message"].as_str().unwrap().contains("3 times"),
        "{err}"
    );
    let attempts = s
        .sandbox()
        .graph_requests()
        .await
        .iter()
        .filter(|r| r["status"] == 503)
        .count();
    assert_eq!(attempts, 3);
    s.finish().await;
}

/// Throttled past the retry budget: RATE_001 from the host, and what the
/// plugin itself reported is kept beside it rather than lost.
#[tokio::test]
async fn throttling_past_the_budget_is_rate_001_and_keeps_the_plugins_report() {
    let s = Server::start(Options::default()).await;
    s.sandbox()
        .fault(json!({"pathPrefix": "/v1.0/users", "status": 429, "retryAfter": 1}))
        .await;
    let err = s
        .err(
            "get_user",
            json!({"userEmail": "admin@libertygoldsilver.com"}),
        )
        .await;
    assert_eq!(err["code"], "RATE_001", "{err}");
    assert!(err["message"].as_str().unwrap().contains("Wait"), "{err}");
    assert!(err["details"]["plugin"]["code"].is_string(), "{err}");
    assert!(err["details"]["plugin"]["message"].is_string(), "{err}");
    s.finish().await;
}
