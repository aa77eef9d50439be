//! The tracking plugin through every layer: Outlook tracking settings read
//! first and changed only where they differ (and a dry run that changes
//! nothing); org tracking on, mail sent from a template, and the message
//! found in the message trace by sender, recipient and Message-ID (from
//! Graph, and from Exchange when Graph refuses); windows the service
//! refuses answered with a coded error naming the limit; configure_mailbox
//! applying its Exchange settings.

use crate::harness::*;
use serde_json::{Value, json};
use time::format_description::well_known::Rfc3339;
use time::{Duration, OffsetDateTime};

const ADMIN: &str = "admin@libertygoldsilver.com";

fn at(offset: Duration) -> String {
    (OffsetDateTime::now_utc() + offset)
        .format(&Rfc3339)
        .unwrap()
}

fn setting<'a>(result: &'a Value, target: &str, name: &str) -> &'a Value {
    result["settings"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["target"] == target && s["setting"] == name)
        .unwrap_or_else(|| panic!("no {name} of {target} in {result}"))
}

#[tokio::test]
async fn tracking_settings_are_read_first_and_changed_only_where_they_differ() {
    let s = Server::start(Options::default()).await;

    // Organization read tracking: off → on, then a second call changes nothing.
    let on = s
        .ok(
            "configure_tracking",
            json!({"scope": "organization", "messageTracking": true}),
        )
        .await;
    let c = setting(&on, "organization", "ReadTrackingEnabled");
    assert_eq!(
        (&c["before"], &c["after"], &c["status"]),
        (&json!(false), &json!(true), &json!("changed")),
        "{on}"
    );
    let again = s
        .ok(
            "configure_tracking",
            json!({"scope": "organization", "messageTracking": true}),
        )
        .await;
    assert_eq!(
        setting(&again, "organization", "ReadTrackingEnabled")["status"],
        "unchanged"
    );

    // One mailbox's read-receipt response.
    let user = s
        .ok(
            "configure_tracking",
            json!({"scope": "user", "targetEmail": ADMIN, "readReceipts": true}),
        )
        .await;
    let c = setting(&user, ADMIN, "ReadReceiptResponse");
    assert_eq!(c["before"], "DoNotAutomaticallySend", "{user}");
    assert_eq!(c["after"], "AlwaysSend");
    assert_eq!(c["status"], "changed");

    // Its delivery reports: whether senders can see read status.
    let delivery = s
        .ok(
            "configure_tracking",
            json!({"scope": "user", "targetEmail": ADMIN, "deliveryReceipts": false}),
        )
        .await;
    let c = setting(&delivery, ADMIN, "MessageTrackingReadStatusEnabled");
    assert_eq!(
        (&c["before"], &c["after"], &c["status"]),
        (&json!(true), &json!(false), &json!("changed")),
        "{delivery}"
    );
    let state = s.sandbox().state().await;
    assert!(
        state["exchange"]
            .to_string()
            .contains("\"MessageTrackingReadStatusEnabled\":false"),
        "the tenant's mailbox was not changed: {}",
        state["exchange"]
    );

    // A dry run says what would change and changes nothing.
    s.sandbox().clear_requests().await;
    let dry = s
        .ok(
            "configure_tracking",
            json!({"scope": "user", "targetEmail": ADMIN, "readReceipts": false, "dryRun": true}),
        )
        .await;
    assert_eq!(
        setting(&dry, ADMIN, "ReadReceiptResponse")["status"],
        "wouldChange"
    );
    let seen = s.sandbox().get("/_sandbox/requests").await.to_string();
    assert!(
        !seen.contains("Set-"),
        "the dry run changed something: {seen}"
    );

    let settings = s.read("m365://tracking-settings").await;
    assert_eq!(
        settings["organization"]["readTrackingEnabled"], true,
        "{settings}"
    );
    let admin = settings["mailboxes"]
        .as_array()
        .unwrap()
        .iter()
        .find(|m| m["mailbox"] == ADMIN)
        .unwrap_or_else(|| panic!("{settings}"));
    assert_eq!(admin["readReceiptResponse"], "AlwaysSend");
    assert_eq!(settings["messageTrace"]["maxWindowDays"], 10);

    // Organization scope reaches every user mailbox; those already as asked stay.
    let all = s
        .ok(
            "configure_tracking",
            json!({"scope": "organization", "readReceipts": true}),
        )
        .await;
    assert_eq!(
        setting(&all, ADMIN, "ReadReceiptResponse")["status"],
        "unchanged"
    );
    assert!(
        all["settings"]
            .as_array()
            .unwrap()
            .iter()
            .all(|c| c["after"] == "AlwaysSend"),
        "{all}"
    );

    // Arguments that do not fit the scope are refused.
    for bad in [
        json!({"scope": "user", "targetEmail": ADMIN, "messageTracking": true}),
        json!({"scope": "user", "readReceipts": true}),
        json!({"scope": "organization"}),
    ] {
        let e = s.err("configure_tracking", bad.clone()).await;
        assert_eq!(e["code"], "INPUT_001", "{bad}: {e}");
    }
    s.finish().await;
}

/// Sends the customer-order-update example template to `to`; the
/// Message-ID the tenant gave it.
async fn send_order_update(s: &Server, to: &str, order: &str) -> String {
    s.ok(
        "send_from_template",
        json!({"templateId": "customer-order-update", "from": ADMIN, "to": [to],
               "variables": {"customer_name": "Ann Buyer", "order_number": order, "status": "shipped"}}),
    )
    .await;
    let outbox = s.sandbox().outbox().await;
    let m = outbox
        .iter()
        .rev()
        .find(|m| m["subject"].as_str().unwrap_or("").contains(order))
        .unwrap_or_else(|| panic!("{outbox:#?}"));
    m["internetMessageId"].as_str().unwrap().to_string()
}

#[tokio::test]
async fn a_message_sent_from_a_template_is_found_in_the_message_trace() {
    let s = Server::start(Options::default()).await;
    s.ok(
        "configure_tracking",
        json!({"scope": "organization", "messageTracking": true}),
    )
    .await;
    let first = send_order_update(&s, "ann@contoso.example", "SO-1001").await;
    let second = send_order_update(&s, "bob@contoso.example", "SO-1002").await;

    let window = json!({"startDate": at(Duration::hours(-1)), "endDate": at(Duration::minutes(5))});
    let query = |extra: Value| {
        let mut q = window.clone();
        q.as_object_mut()
            .unwrap()
            .extend(extra.as_object().unwrap().clone());
        q
    };
    let found = s
        .ok(
            "get_message_tracking_logs",
            query(json!({"senderEmail": ADMIN, "recipientEmail": "ann@contoso.example", "messageId": first})),
        )
        .await;
    assert_eq!(found["source"], "graph", "{found}");
    assert_eq!(found["count"], 1, "{found}");
    let m = &found["messages"][0];
    assert_eq!(m["messageId"], first);
    assert_eq!(m["sender"], ADMIN);
    assert_eq!(m["recipient"], "ann@contoso.example");
    assert_eq!(m["status"], "delivered");
    assert_eq!(m["subject"], "Your order SO-1001: shipped");

    // Each filter narrows: by sender both, by the other id only the other.
    let by_sender = s
        .ok(
            "get_message_tracking_logs",
            query(json!({"senderEmail": ADMIN})),
        )
        .await;
    assert_eq!(by_sender["count"], 2, "{by_sender}");
    let by_id = s
        .ok(
            "get_message_tracking_logs",
            query(json!({"messageId": second.trim_matches(['<', '>'])})),
        )
        .await;
    assert_eq!(by_id["count"], 1, "{by_id}");
    assert_eq!(by_id["messages"][0]["recipient"], "bob@contoso.example");

    // Paged: one a page, and the cursor brings the other.
    let page1 = s
        .ok(
            "get_message_tracking_logs",
            query(json!({"senderEmail": ADMIN, "top": 1})),
        )
        .await;
    assert_eq!(page1["count"], 1, "{page1}");
    let cursor = page1["nextCursor"]
        .as_str()
        .expect("a next page")
        .to_string();
    let page2 = s
        .ok(
            "get_message_tracking_logs",
            query(json!({"cursor": cursor})),
        )
        .await;
    assert_eq!(page2["count"], 1, "{page2}");
    assert_ne!(
        page1["messages"][0]["messageId"],
        page2["messages"][0]["messageId"]
    );

    // When Graph refuses the trace, Exchange's Get-MessageTraceV2 answers.
    s.sandbox()
        .fault(json!({"pathPrefix": "/v1.0/admin/exchange/tracing", "status": 403, "times": 1}))
        .await;
    let fallback = s
        .ok(
            "get_message_tracking_logs",
            query(json!({"senderEmail": ADMIN, "recipientEmail": "ann@contoso.example"})),
        )
        .await;
    assert_eq!(fallback["source"], "exchange", "{fallback}");
    assert_eq!(fallback["count"], 1, "{fallback}");
    assert_eq!(fallback["messages"][0]["messageId"], first);
    assert_eq!(fallback["messages"][0]["status"], "delivered");
    s.finish().await;
}

#[tokio::test]
async fn date_windows_the_service_refuses_are_coded_errors_naming_the_limit() {
    let s = Server::start(Options::default()).await;
    s.sandbox().clear_requests().await;
    let cases = [
        (Duration::days(-12), Duration::ZERO, "10 days"),
        (Duration::days(-100), Duration::days(-95), "90 days"),
    ];
    for (start, end, limit) in cases {
        let e = s
            .err(
                "get_message_tracking_logs",
                json!({"startDate": at(start), "endDate": at(end)}),
            )
            .await;
        assert_eq!(e["code"], "INPUT_001", "{e}");
        assert!(e["message"].as_str().unwrap().contains(limit), "{e}");
        assert_eq!(e["details"]["limit"], limit, "{e}");
    }
    let e = s
        .err(
            "get_message_tracking_logs",
            json!({"startDate": at(Duration::ZERO), "endDate": at(Duration::days(-1))}),
        )
        .await;
    assert_eq!(e["code"], "INPUT_001");
    let seen = s.sandbox().get("/_sandbox/requests").await.to_string();
    assert!(
        !seen.contains("messageTraces") && !seen.contains("MessageTrace"),
        "{seen}"
    );
    s.finish().await;
}

#[tokio::test]
async fn configure_mailbox_applies_read_receipts_and_forwarding_through_exchange() {
    let s = Server::start(Options::default()).await;
    let args = json!({"userEmail": ADMIN, "settings": {
        "readReceipts": false,
        "forwarding": {"enabled": true, "forwardTo": "desk@libertygoldsilver.com"},
    }});
    let done = s.ok("configure_mailbox", args.clone()).await;
    let changes = done["applied"]["exchange"]
        .as_array()
        .unwrap_or_else(|| panic!("{done}"));
    let change = |name: &str| {
        changes
            .iter()
            .find(|c| c["setting"] == name)
            .unwrap_or_else(|| panic!("no {name}: {done}"))
            .clone()
    };
    assert_eq!(change("ReadReceiptResponse")["after"], "NeverSend");
    assert_eq!(change("ReadReceiptResponse")["status"], "changed");
    assert_eq!(change("ForwardingSmtpAddress")["before"], Value::Null);
    assert_eq!(
        change("ForwardingSmtpAddress")["after"],
        "desk@libertygoldsilver.com"
    );
    assert_eq!(change("DeliverToMailboxAndForward")["after"], true);
    assert!(done.get("notApplied").is_none(), "{done}");
    assert!(
        done["summary"].as_str().unwrap().contains("Exchange"),
        "{done}"
    );

    // The same again changes nothing: the current values were read first.
    s.sandbox().clear_requests().await;
    let again = s.ok("configure_mailbox", args).await;
    assert!(
        again["applied"]["exchange"]
            .as_array()
            .unwrap()
            .iter()
            .all(|c| c["status"] == "unchanged"),
        "{again}"
    );
    let seen = s.sandbox().get("/_sandbox/requests").await.to_string();
    assert!(!seen.contains("Set-Mailbox"), "{seen}");

    // Forwarding off.
    let off = s
        .ok(
            "configure_mailbox",
            json!({"userEmail": ADMIN, "settings": {"forwarding": {"enabled": false}}}),
        )
        .await;
    let fwd = off["applied"]["exchange"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["setting"] == "ForwardingSmtpAddress")
        .unwrap()
        .clone();
    assert_eq!(fwd["before"], "desk@libertygoldsilver.com", "{off}");
    assert_eq!(fwd["after"], Value::Null);

    // Forwarding to oneself is refused before anything is sent.
    let e = s
        .err(
            "configure_mailbox",
            json!({"userEmail": ADMIN, "settings": {"forwarding": {"enabled": true, "forwardTo": ADMIN}}}),
        )
        .await;
    assert_eq!(e["code"], "INPUT_001");
    assert_eq!(e["details"]["field"], "settings.forwarding.forwardTo");
    s.finish().await;
}
