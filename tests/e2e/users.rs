//! The users plugin through every layer: create with a license, read it back
//! (tool and resource), duplicates, full SKUs, mailbox provisioning, and
//! arguments refused before any Graph request.

use crate::harness::*;
use serde_json::json;

fn new_user(local: &str, license: &str) -> serde_json::Value {
    json!({
        "email": format!("{local}@libertygoldsilver.com"),
        "displayName": format!("Test {local}"),
        "firstName": "Test",
        "lastName": local,
        "password": SENTINEL_PASSWORD,
        "license": license,
        "department": "Trading",
    })
}

#[tokio::test]
async fn tools_list_offers_the_users_tools_with_annotations() {
    let s = Server::start(Options::default()).await;
    let tools = s.client.list_all_tools().await.unwrap();
    let names: Vec<&str> = tools.iter().map(|t| t.name.as_ref()).collect();
    for want in ["create_user", "configure_mailbox", "get_user", "list_users"] {
        assert!(names.contains(&want), "{want} missing from {names:?}");
    }
    let get = tools.iter().find(|t| t.name == "get_user").unwrap();
    assert_eq!(get.annotations.as_ref().unwrap().read_only_hint, Some(true));
    let create = tools.iter().find(|t| t.name == "create_user").unwrap();
    assert_eq!(
        create.annotations.as_ref().unwrap().read_only_hint,
        Some(false)
    );
    assert!(
        create.input_schema["required"]
            .to_string()
            .contains("license")
    );
    s.finish().await;
}

#[tokio::test]
async fn create_user_assigns_the_license_and_reads_back() {
    let s = Server::start(Options::default()).await;
    let created = s
        .ok("create_user", new_user("ada", "BusinessStandard"))
        .await;
    assert_eq!(created["userPrincipalName"], "ada@libertygoldsilver.com");

    let user = s
        .ok(
            "get_user",
            json!({"userEmail": "ada@libertygoldsilver.com"}),
        )
        .await;
    assert_eq!(user["department"], "Trading");
    assert!(
        user["licenses"]
            .to_string()
            .contains("O365_BUSINESS_PREMIUM"),
        "{user}"
    );

    let resource = s.read("m365://users/ada@libertygoldsilver.com").await;
    assert_eq!(resource["department"], "Trading");
    assert!(
        resource["licenses"]
            .to_string()
            .contains("O365_BUSINESS_PREMIUM")
    );

    let listed = s.ok("list_users", json!({"department": "Trading"})).await;
    assert!(listed.to_string().contains("ada@libertygoldsilver.com"));

    let again = s
        .err("create_user", new_user("ada", "BusinessStandard"))
        .await;
    assert_eq!(again["code"], "USER_001", "{again}");
    s.finish().await;
}

#[tokio::test]
async fn a_full_sku_is_a_clear_error_and_leaves_no_user() {
    let s = Server::start(Options::default()).await;
    s.sandbox().set_seats("SPB", 1).await; // the seeded admin holds the only seat
    let err = s
        .err("create_user", new_user("bob", "BusinessPremium"))
        .await;
    assert_eq!(err["code"], "LICENSE_001", "{err}");
    let state = s.sandbox().state().await;
    assert!(
        !state
            .to_string()
            .to_lowercase()
            .contains("bob@libertygoldsilver.com"),
        "half-made user left behind"
    );
    s.finish().await;
}

#[tokio::test]
async fn configure_mailbox_right_after_create_waits_for_provisioning() {
    let s = Server::start(Options::default().env("M365_SANDBOX_MAILBOX_DELAY_MS", "4000")).await;
    s.ok(
        "create_user",
        json!({
            "email": "cy@libertygoldsilver.com", "displayName": "Cy", "password": SENTINEL_PASSWORD,
            "license": "BusinessBasic", "waitForMailboxSeconds": 0
        }),
    )
    .await;
    let result = s
        .ok("configure_mailbox", json!({
            "userEmail": "cy@libertygoldsilver.com",
            "settings": {
                "automaticReplies": {"status": "alwaysEnabled", "internalReplyMessage": "Away until Monday"},
                "forwardingRules": [{"forwardTo": ["desk@libertygoldsilver.com"]}]
            }
        }))
        .await;
    assert!(result.to_string().contains("alwaysEnabled"), "{result}");
    let requests = s.sandbox().graph_requests().await;
    assert!(
        requests
            .iter()
            .any(|r| r["path"].as_str().unwrap().ends_with("/messageRules") && r["status"] == 201),
        "no rule created: {requests:?}"
    );
    s.finish().await;
}

#[tokio::test]
async fn invalid_arguments_are_refused_before_any_graph_request() {
    let s = Server::start(Options::default()).await;
    // Let start-up traffic (if any) settle, then watch.
    s.sandbox().clear_requests().await;
    let mut bad_license = new_user("dee", "BusinessStandard");
    bad_license["license"] = json!("E5");
    let mut bad_email = new_user("dee", "BusinessStandard");
    bad_email["email"] = json!("not-an-address");
    let mut missing = new_user("dee", "BusinessStandard");
    missing.as_object_mut().unwrap().remove("displayName");
    let mut wrong_type = new_user("dee", "BusinessStandard");
    wrong_type["department"] = json!(42);
    let weak = {
        let mut u = new_user("dee", "BusinessStandard");
        u["password"] = json!("short");
        u
    };
    for (args, field) in [
        (bad_license, "license"),
        (bad_email, "email"),
        (missing, "displayName"),
        (wrong_type, "department"),
        (weak, "password"),
    ] {
        let err = s.err("create_user", args).await;
        assert_eq!(err["code"], "INPUT_001", "{field}: {err}");
        assert!(
            err["message"].as_str().unwrap().contains(field),
            "{field} not named: {err}"
        );
    }
    assert!(
        s.sandbox().graph_requests().await.is_empty(),
        "a Graph request was made for invalid input"
    );
    s.finish().await;
}

/// Names are not ASCII: the host's redaction, audit and logs must carry
/// them through (they once panicked on a multi-byte character).
#[tokio::test]
async fn non_ascii_names_go_through_every_layer() {
    let s = Server::start(Options::default()).await;
    let name = "Jörg Müller-Lüdenscheidt → Ærøskøbing «α»";
    s.ok(
        "create_user",
        json!({"email": "joerg@libertygoldsilver.com", "displayName": name, "password": SENTINEL_PASSWORD,
               "license": "BusinessBasic", "waitForMailboxSeconds": 0}),
    )
    .await;
    let user = s
        .ok(
            "get_user",
            json!({"userEmail": "joerg@libertygoldsilver.com"}),
        )
        .await;
    assert_eq!(user["displayName"], name);
    let e = s
        .err(
            "get_user",
            json!({"userEmail": "jörg→@libertygoldsilver.com"}),
        )
        .await;
    assert!(e["code"].is_string(), "{e}");
    let dir = s.stop().await;
    let audit = cli(dir.path(), &["audit", "export", "--sandbox"], &[]).await;
    assert!(
        audit.stdout.contains("Müller-Lüdenscheidt"),
        "{}",
        audit.stdout
    );
}
