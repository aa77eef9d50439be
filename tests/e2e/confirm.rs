//! Destructive and bulk calls run only after the administrator approves a
//! plan: by a one-time token bound to the exact arguments, or through MCP
//! elicitation when the client offers it.

use crate::harness::*;
use serde_json::{Value, json};

async fn with_user(s: &Server, local: &str) -> String {
    let email = format!("{local}@libertygoldsilver.com");
    s.ok(
        "create_user",
        json!({"email": email, "displayName": format!("Doomed {local}"), "password": SENTINEL_PASSWORD,
               "license": "BusinessBasic", "waitForMailboxSeconds": 0}),
    )
    .await;
    email
}

async fn exists(s: &Server, email: &str) -> bool {
    s.call("get_user", json!({"userEmail": email}))
        .await
        .is_error
        != Some(true)
}

async fn deletes_seen(s: &Server) -> usize {
    s.sandbox()
        .graph_requests()
        .await
        .iter()
        .filter(|r| r["method"] == "DELETE")
        .count()
}

#[tokio::test]
async fn delete_user_needs_a_token_bound_to_its_arguments() {
    let s = Server::start(Options::default()).await;
    let carl = with_user(&s, "carl").await;
    let dora = with_user(&s, "dora").await;

    let tools = s.client.list_all_tools().await.unwrap();
    let delete = tools.iter().find(|t| t.name == "delete_user").unwrap();
    assert_eq!(
        delete.annotations.as_ref().unwrap().destructive_hint,
        Some(true)
    );
    assert!(
        delete.input_schema["properties"]["confirmationToken"].is_object(),
        "the model is told where the token goes"
    );

    // First call: nothing happens; a plan naming the user and a token.
    let e = s.err("delete_user", json!({"userEmail": carl})).await;
    assert_eq!(e["code"], "CONFIRM_001");
    let plan = e["details"]["plan"].as_str().unwrap();
    assert!(
        plan.contains("Doomed carl") && plan.contains(&carl),
        "{plan}"
    );
    assert!(plan.contains("30 days"), "{plan}");
    let token = e["details"]["confirmationToken"]
        .as_str()
        .unwrap()
        .to_string();
    assert!(e["message"].as_str().unwrap().contains(&token));
    assert!(exists(&s, &carl).await);
    assert_eq!(deletes_seen(&s).await, 0);

    // The token does not fit other arguments, and is not used up by trying.
    let e = s
        .err(
            "delete_user",
            json!({"userEmail": dora, "confirmationToken": token}),
        )
        .await;
    assert_eq!(e["code"], "CONFIRM_001");
    assert!(e["message"].as_str().unwrap().contains("different"), "{e}");
    assert!(exists(&s, &dora).await);
    let e = s
        .err(
            "delete_user",
            json!({"userEmail": carl, "confirmationToken": "cfm_made_up"}),
        )
        .await;
    assert_eq!(e["code"], "CONFIRM_001");
    assert_eq!(deletes_seen(&s).await, 0);

    // With its own arguments it deletes.
    let done = s
        .ok(
            "delete_user",
            json!({"userEmail": carl, "confirmationToken": token}),
        )
        .await;
    assert_eq!(done["deleted"], true);
    assert!(!exists(&s, &carl).await);
    assert_eq!(deletes_seen(&s).await, 1);

    // Once only.
    let again = with_user(&s, "carl").await;
    let e = s
        .err(
            "delete_user",
            json!({"userEmail": again, "confirmationToken": token}),
        )
        .await;
    assert_eq!(e["code"], "CONFIRM_001");
    assert!(
        e["message"].as_str().unwrap().contains("already used"),
        "{e}"
    );
    assert!(exists(&s, &carl).await);
    s.finish().await;
}

#[tokio::test]
async fn an_expired_token_is_refused() {
    let s = Server::start(Options::default().env("M365_CONFIRM_TTL_SECS", "1")).await;
    let erin = with_user(&s, "erin").await;
    let e = s.err("delete_user", json!({"userEmail": erin})).await;
    let token = e["details"]["confirmationToken"]
        .as_str()
        .unwrap()
        .to_string();
    tokio::time::sleep(std::time::Duration::from_millis(1500)).await;
    let e = s
        .err(
            "delete_user",
            json!({"userEmail": erin, "confirmationToken": token}),
        )
        .await;
    assert_eq!(e["code"], "CONFIRM_001");
    assert!(e["message"].as_str().unwrap().contains("expired"), "{e}");
    assert!(exists(&s, &erin).await);
    s.finish().await;
}

#[tokio::test]
async fn a_plan_for_a_user_that_does_not_exist_is_an_error_not_a_token() {
    let s = Server::start(Options::default()).await;
    let e = s
        .err(
            "delete_user",
            json!({"userEmail": "nobody@libertygoldsilver.com"}),
        )
        .await;
    assert_ne!(e["code"], "CONFIRM_001", "{e}");
    assert!(e["message"].as_str().unwrap().contains("nobody@"), "{e}");
    s.finish().await;
}

#[tokio::test]
async fn elicitation_accepted_deletes_and_declined_does_nothing() {
    let s = Server::start(Options::default().elicit(true)).await;
    let fay = with_user(&s, "fay").await;
    let done = s.ok("delete_user", json!({"userEmail": fay})).await;
    assert_eq!(done["deleted"], true);
    assert!(!exists(&s, &fay).await);
    let asked = s.asked.lock().unwrap().clone();
    assert_eq!(asked.len(), 1, "{asked:?}");
    assert!(asked[0].contains("Doomed fay"), "{asked:?}");
    s.finish().await;

    let s = Server::start(Options::default().elicit(false)).await;
    let gus = with_user(&s, "gus").await;
    let e = s.err("delete_user", json!({"userEmail": gus})).await;
    assert_eq!(e["code"], "CONFIRM_001");
    assert!(e["message"].as_str().unwrap().contains("declined"), "{e}");
    assert!(e["details"].get("confirmationToken").is_none(), "{e}");
    assert!(exists(&s, &gus).await);
    assert_eq!(deletes_seen(&s).await, 0);
    assert_eq!(s.asked.lock().unwrap().len(), 1);
    s.finish().await;
}

#[tokio::test]
async fn confirmation_can_be_turned_off() {
    let s = Server::start(Options::default().env("ENABLE_OPERATION_CONFIRMATION", "false")).await;
    let hal = with_user(&s, "hal").await;
    let tools = s.client.list_all_tools().await.unwrap();
    let delete = tools.iter().find(|t| t.name == "delete_user").unwrap();
    assert!(
        delete.input_schema["properties"]
            .get("confirmationToken")
            .is_none()
    );
    s.ok("delete_user", json!({"userEmail": hal})).await;
    assert!(!exists(&s, &hal).await);
    s.finish().await;
}

#[tokio::test]
async fn bulk_calls_over_the_threshold_need_confirmation() {
    let s = Server::start(Options::default().with_probe()).await;
    let items =
        |n: usize| -> Value { json!((0..n).map(|i| format!("item {i}")).collect::<Vec<_>>()) };
    // At the threshold (10 by default): runs.
    assert_eq!(
        s.ok("bulk_echo", json!({"items": items(10)})).await["count"],
        10
    );
    // Over it: a plan (the host's own, the tool has none) and a token.
    let e = s.err("bulk_echo", json!({"items": items(11)})).await;
    assert_eq!(e["code"], "CONFIRM_001");
    assert!(e["message"].as_str().unwrap().contains("11 items"), "{e}");
    let token = e["details"]["confirmationToken"].as_str().unwrap();
    let done = s
        .ok(
            "bulk_echo",
            json!({"items": items(11), "confirmationToken": token}),
        )
        .await;
    assert_eq!(done["count"], 11);

    // The probe's destructive tool shows the plugin's own plan.
    let e = s.err("wipe", json!({"value": "disk"})).await;
    assert!(
        e["details"]["plan"]
            .as_str()
            .unwrap()
            .starts_with("Wipe \"disk\""),
        "{e}"
    );
    s.finish().await;
}
