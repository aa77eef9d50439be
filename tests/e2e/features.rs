//! The features plugin through every layer: each catalogue feature enabled,
//! shown enabled by list_features, enabled again without change, and
//! disabled back to the state it had; mail retention with its duration,
//! per mailbox and for the organization; dry runs that change nothing;
//! service connections for a team; unknown names refused with the known
//! ones listed.

use crate::harness::*;
use serde_json::{Value, json};

const ADMIN: &str = "admin@libertygoldsilver.com";

/// list_features reads every feature (several upstream requests a call), so
/// these tests would otherwise spend minutes in the host's rate limit.
fn opts() -> Options {
    Options::default().env("RATE_LIMIT_ENABLED", "false")
}

/// Features that are one organization-wide switch.
const TOGGLES: &[&str] = &[
    "unified-audit-log",
    "mailbox-auditing",
    "external-sender-tagging",
    "focused-inbox",
    "plus-addressing",
    "security-defaults",
    "smtp-auth-off",
];

async fn features(s: &Server) -> Vec<Value> {
    let page = s.ok("list_features", json!({"top": 50})).await;
    page["features"].as_array().unwrap().clone()
}

async fn feature(s: &Server, name: &str) -> Value {
    features(s)
        .await
        .into_iter()
        .find(|f| f["name"] == name)
        .unwrap_or_else(|| panic!("{name} not listed"))
}

#[tokio::test]
async fn the_catalogue_describes_every_feature_with_its_state() {
    let s = Server::start(opts()).await;
    let all = features(&s).await;
    let names: Vec<&str> = all.iter().map(|f| f["name"].as_str().unwrap()).collect();
    for want in TOGGLES.iter().chain(&["mail-retention"]) {
        assert!(names.contains(want), "{want} missing from {names:?}");
    }
    for f in &all {
        for key in ["description", "scopes", "read", "apply", "revert"] {
            assert!(f[key].is_string() || f[key].is_array(), "{key} of {f}");
        }
        assert!(
            matches!(
                f["state"].as_str(),
                Some("enabled" | "disabled" | "partial")
            ),
            "{f}"
        );
    }
    let retention = all.iter().find(|f| f["name"] == "mail-retention").unwrap();
    assert!(
        retention["configuration"]
            .as_str()
            .unwrap()
            .contains("days")
    );

    // Paged.
    let first = s.ok("list_features", json!({"top": 3})).await;
    assert_eq!(first["features"].as_array().unwrap().len(), 3);
    let rest = s
        .ok("list_features", json!({"cursor": first["nextCursor"]}))
        .await;
    assert_eq!(rest["features"].as_array().unwrap().len(), all.len() - 3);
    s.finish().await;
}

#[tokio::test]
async fn each_feature_is_enabled_idempotently_and_disabling_restores_it() {
    let s = Server::start(opts()).await;
    for name in TOGGLES {
        // Start from off, whatever the tenant's default.
        if feature(&s, name).await["state"] == "enabled" {
            let off = s
                .ok(
                    "disable_feature",
                    json!({"featureName": name, "scope": "organization"}),
                )
                .await;
            assert_eq!(off["status"], "disabled", "{off}");
        }
        let earlier = feature(&s, name).await;
        assert_eq!(earlier["state"], "disabled", "{earlier}");

        // A dry run changes nothing.
        let dry = s
            .ok(
                "enable_feature",
                json!({"featureName": name, "scope": "organization", "dryRun": true}),
            )
            .await;
        assert_eq!(dry["status"], "wouldEnable", "{dry}");
        assert_eq!(feature(&s, name).await["state"], "disabled", "{name}");

        let on = s
            .ok(
                "enable_feature",
                json!({"featureName": name, "scope": "organization"}),
            )
            .await;
        assert_eq!(on["status"], "enabled", "{name}: {on}");
        assert_eq!(on["changed"], true);
        assert_eq!(on["before"], earlier["current"], "{name}: {on}");
        assert_eq!(feature(&s, name).await["state"], "enabled", "{name}");

        let again = s
            .ok(
                "enable_feature",
                json!({"featureName": name, "scope": "organization"}),
            )
            .await;
        assert_eq!(again["status"], "alreadyEnabled", "{name}: {again}");
        assert_eq!(again["changed"], false);
        assert_eq!(again["before"], again["after"]);

        let off = s
            .ok(
                "disable_feature",
                json!({"featureName": name, "scope": "organization"}),
            )
            .await;
        assert_eq!(off["status"], "disabled", "{name}: {off}");
        let now = feature(&s, name).await;
        assert_eq!(now["state"], "disabled", "{name}");
        assert_eq!(now["current"], earlier["current"], "{name} not restored");

        let again = s
            .ok(
                "disable_feature",
                json!({"featureName": name, "scope": "organization"}),
            )
            .await;
        assert_eq!(again["status"], "alreadyDisabled", "{name}: {again}");
    }
    s.finish().await;
}

#[tokio::test]
async fn mail_retention_takes_its_duration_and_disabling_restores_each_mailbox() {
    let s = Server::start(opts()).await;
    let e = s
        .err(
            "enable_feature",
            json!({"featureName": "mail-retention", "scope": "organization"}),
        )
        .await;
    assert_eq!(e["code"], "INPUT_001");
    assert_eq!(e["details"]["field"], "configuration.days", "{e}");

    let earlier = feature(&s, "mail-retention").await;
    assert_eq!(earlier["state"], "disabled", "{earlier}");
    let args = json!({"featureName": "mail-retention", "scope": "organization",
                      "configuration": {"days": 365}});
    let on = s.ok("enable_feature", args.clone()).await;
    assert_eq!(on["status"], "enabled", "{on}");
    let policy = on["after"]["mailboxes"][ADMIN]
        .as_str()
        .unwrap()
        .to_string();
    assert!(policy.contains("365 days"), "{on}");
    assert_eq!(on["before"]["mailboxes"][ADMIN], "Default MRM Policy");
    assert_eq!(feature(&s, "mail-retention").await["state"], "enabled");
    let again = s.ok("enable_feature", args).await;
    assert_eq!(again["status"], "alreadyEnabled", "{again}");

    let off = s
        .ok(
            "disable_feature",
            json!({"featureName": "mail-retention", "scope": "organization"}),
        )
        .await;
    assert_eq!(off["status"], "disabled", "{off}");
    assert_eq!(
        off["after"]["mailboxes"], on["before"]["mailboxes"],
        "{off}"
    );
    let now = feature(&s, "mail-retention").await;
    assert_eq!(now["current"], earlier["current"], "{now}");
    // What enable created is gone.
    let state = s.sandbox().state().await;
    let policies = state["exchange"]["retentionPolicies"].to_string();
    assert!(!policies.contains("m365-admin"), "{policies}");
    let tags = state["exchange"]["retentionTags"].to_string();
    assert!(!tags.contains("m365-admin"), "{tags}");

    // One mailbox, and mailbox auditing per mailbox.
    let one = s
        .ok(
            "enable_feature",
            json!({"featureName": "mail-retention", "scope": "user", "targetEmail": ADMIN,
                   "configuration": {"days": 30, "action": "delete"}}),
        )
        .await;
    assert_eq!(one["target"], ADMIN, "{one}");
    assert!(
        one["after"]["mailboxes"][ADMIN]
            .as_str()
            .unwrap()
            .contains("30 days")
    );
    let back = s
        .ok(
            "disable_feature",
            json!({"featureName": "mail-retention", "scope": "user", "targetEmail": ADMIN}),
        )
        .await;
    assert_eq!(
        back["after"]["mailboxes"][ADMIN], "Default MRM Policy",
        "{back}"
    );

    let audit_off = s
        .ok(
            "disable_feature",
            json!({"featureName": "mailbox-auditing", "scope": "user", "targetEmail": ADMIN}),
        )
        .await;
    assert_eq!(audit_off["after"]["AuditEnabled"], false, "{audit_off}");
    let listed = s
        .ok("list_features", json!({"targetEmail": ADMIN, "top": 50}))
        .await;
    let auditing = listed["features"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["name"] == "mailbox-auditing")
        .unwrap()
        .clone();
    assert_eq!(auditing["mailbox"]["state"], "disabled", "{auditing}");
    let audit_on = s
        .ok(
            "enable_feature",
            json!({"featureName": "mailbox-auditing", "scope": "user", "targetEmail": ADMIN}),
        )
        .await;
    assert_eq!(audit_on["after"]["AuditEnabled"], true, "{audit_on}");

    // Organization-only features refuse scope user.
    let e = s
        .err(
            "enable_feature",
            json!({"featureName": "focused-inbox", "scope": "user", "targetEmail": ADMIN}),
        )
        .await;
    assert_eq!(e["code"], "INPUT_001");
    assert_eq!(e["details"]["field"], "scope");
    s.finish().await;
}

#[tokio::test]
async fn unknown_features_and_connections_list_the_known_ones() {
    let s = Server::start(opts()).await;
    for tool in ["enable_feature", "disable_feature"] {
        let e = s
            .err(
                tool,
                json!({"featureName": "teleportation", "scope": "organization"}),
            )
            .await;
        assert_eq!(e["code"], "INPUT_001", "{e}");
        let msg = e["message"].as_str().unwrap();
        for known in TOGGLES.iter().chain(&["mail-retention"]) {
            assert!(msg.contains(known), "{known} not in {msg}");
        }
    }
    let e = s
        .err(
            "connect_service",
            json!({"sourceService": "teams", "targetService": "yammer",
                   "connectionConfig": {"teamId": "Sales"}}),
        )
        .await;
    assert_eq!(e["code"], "INPUT_001", "{e}");
    let msg = e["message"].as_str().unwrap();
    for known in ["sharepoint", "planner", "email"] {
        assert!(msg.contains(known), "{known} not in {msg}");
    }
    assert_eq!(
        e["details"]["knownConnections"].as_array().unwrap().len(),
        3
    );
    s.finish().await;
}

#[tokio::test]
async fn a_team_is_connected_to_its_library_a_plan_and_a_channel_address() {
    let s = Server::start(
        opts()
            .env("M365_SANDBOX_TEAM_PROVISIONING_POLLS", "0")
            .env("M365_SANDBOX_TEAM_REPLICATION_MISSES", "0"),
    )
    .await;
    let created = s
        .ok(
            "create_teams_group",
            json!({"displayName": "Vault Ops", "owners": [ADMIN],
                   "channels": [{"displayName": "Shipping", "description": "Outgoing metal"}]}),
        )
        .await;
    assert_eq!(created["status"], "completed", "{created}");
    let team_id = created["teamId"].as_str().unwrap().to_string();

    let connect = |target: &str, config: Value, dry: bool| {
        json!({"sourceService": "teams", "targetService": target,
               "connectionConfig": config, "dryRun": dry})
    };
    let cases = [
        (
            "sharepoint",
            json!({"teamId": "Vault Ops", "channel": "Shipping"}),
        ),
        ("planner", json!({"teamId": team_id})),
    ];
    for (target, config) in cases {
        s.sandbox().clear_requests().await;
        let dry = s
            .ok("connect_service", connect(target, config.clone(), true))
            .await;
        assert_eq!(dry["status"], "wouldConnect", "{target}: {dry}");
        assert_eq!(
            posts(&s).await,
            0,
            "{target}: the dry run changed something"
        );

        let done = s
            .ok("connect_service", connect(target, config.clone(), false))
            .await;
        assert_eq!(done["status"], "connected", "{target}: {done}");
        assert_ne!(done["before"], done["after"], "{target}: {done}");
        let again = s
            .ok("connect_service", connect(target, config, false))
            .await;
        assert_eq!(again["status"], "alreadyConnected", "{target}: {again}");
    }
    let state = s.sandbox().state().await;
    let tabs = state["connect"]["tabs"].to_string();
    assert!(
        tabs.contains("com.microsoft.teamspace.tab.files.sharepoint")
            && tabs.contains("Shared%20Documents"),
        "{tabs}"
    );

    // Channel email: Graph provisions an address only for a signed-in user,
    // so without one the error says how to get it in Teams.
    let email = json!({"teamId": "Vault Ops", "channel": "Shipping", "mailbox": ADMIN});
    let dry = s
        .ok("connect_service", connect("email", email.clone(), true))
        .await;
    assert_eq!(dry["status"], "wouldConnect", "{dry}");
    let e = s
        .err("connect_service", connect("email", email.clone(), false))
        .await;
    assert!(
        e["message"].as_str().unwrap().contains("Get email address"),
        "{e}"
    );
    // The Teams client's "Get email address", then the connection forwards to it.
    let team = s.ok("get_team", json!({"teamId": team_id})).await;
    let channel_id = team["channels"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["displayName"] == "Shipping")
        .and_then(|c| c["id"].as_str())
        .unwrap()
        .to_string();
    s.sandbox()
        .send(
            reqwest::Method::POST,
            "/_sandbox/channelEmail",
            Some(json!({"teamId": team_id, "channelId": channel_id})),
        )
        .await;
    let done = s
        .ok("connect_service", connect("email", email.clone(), false))
        .await;
    assert_eq!(done["status"], "connected", "{done}");
    let address = done["after"]["email"].as_str().unwrap().to_string();
    assert!(address.ends_with("@amer.teams.ms"), "{done}");
    assert_eq!(done["after"]["mailbox"]["forwardingTo"], address);
    let again = s
        .ok("connect_service", connect("email", email, false))
        .await;
    assert_eq!(again["status"], "alreadyConnected", "{again}");
    s.finish().await;
}

async fn posts(s: &Server) -> usize {
    s.sandbox()
        .graph_requests()
        .await
        .iter()
        .filter(|r| r["method"] == "POST")
        .count()
}
