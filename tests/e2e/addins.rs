//! The addins plugin through every layer: a manifest fetched and checked by
//! the host and shown back (dry run first), an add-in deployed to specific
//! users, listed, deployed again without change, and removed only after the
//! administrator confirms a plan naming it and who loses it; manifests and
//! users that are not what they claim are refused.

use crate::harness::*;
use serde_json::{Value, json};

const ADMIN: &str = "admin@libertygoldsilver.com";
const TAGGER_ID: &str = "5d3e7b1a-9c64-4f0e-8a21-6b2f4c1d9e07";

/// The URL the sandbox serves its sample manifest `name` at.
async fn manifest_url(s: &Server, name: &str) -> String {
    let list = s.sandbox().get("/_sandbox/addins").await;
    list.as_array()
        .unwrap()
        .iter()
        .find(|e| e["name"] == name)
        .and_then(|e| e["url"].as_str())
        .unwrap_or_else(|| panic!("no sample {name}: {list}"))
        .to_string()
}

async fn listed(s: &Server) -> Vec<Value> {
    s.ok("list_outlook_addins", json!({})).await["addins"]
        .as_array()
        .unwrap()
        .clone()
}

#[tokio::test]
async fn an_addin_is_deployed_to_specific_users_listed_and_removed_with_confirmation() {
    let s = Server::start(Options::default()).await;
    let url = manifest_url(&s, "message-tagger.xml").await;
    let args = json!({"addinManifestUrl": url, "deploymentScope": "specificUsers", "targetUsers": [ADMIN]});

    // Dry run: the manifest as the host read it, nothing deployed.
    let mut dry_args = args.clone();
    dry_args["dryRun"] = json!(true);
    let dry = s.ok("deploy_outlook_addin", dry_args).await;
    assert_eq!(dry["status"], "wouldDeploy", "{dry}");
    assert_eq!(dry["addin"]["id"], TAGGER_ID);
    assert_eq!(dry["addin"]["version"], "1.0.0.0");
    assert_eq!(dry["addin"]["displayName"], "Message Tagger");
    assert_eq!(dry["addin"]["permissions"], json!(["ReadWriteItem"]));
    assert_eq!(dry["addin"]["format"], "xml");
    assert_eq!(dry["addin"]["sha256"].as_str().unwrap().len(), 64);
    assert!(listed(&s).await.is_empty());

    let done = s.ok("deploy_outlook_addin", args.clone()).await;
    assert_eq!(done["status"], "deployed", "{done}");
    assert_eq!(done["before"], Value::Null);
    assert_eq!(done["after"]["id"], TAGGER_ID);
    assert_eq!(done["after"]["providedTo"], "SpecificUsers");
    assert_eq!(done["after"]["users"], json!([ADMIN]));

    let addins = listed(&s).await;
    assert_eq!(addins.len(), 1, "{addins:?}");
    assert_eq!(addins[0]["displayName"], "Message Tagger");
    assert_eq!(addins[0]["users"], json!([ADMIN]));

    // The same deployment again changes nothing.
    let again = s.ok("deploy_outlook_addin", args.clone()).await;
    assert_eq!(again["status"], "alreadyDeployed", "{again}");
    // Another audience for a deployed add-in is refused, naming the way.
    let e = s
        .err(
            "deploy_outlook_addin",
            json!({"addinManifestUrl": url, "deploymentScope": "organization"}),
        )
        .await;
    assert_eq!(e["code"], "INPUT_001");
    assert!(
        e["message"]
            .as_str()
            .unwrap()
            .contains("remove_outlook_addin"),
        "{e}"
    );

    // Removal is destructive: a plan naming the add-in and who loses it.
    let tools = s.client.list_all_tools().await.unwrap();
    let remove = tools
        .iter()
        .find(|t| t.name == "remove_outlook_addin")
        .unwrap();
    assert_eq!(
        remove.annotations.as_ref().unwrap().destructive_hint,
        Some(true)
    );
    let e = s
        .err("remove_outlook_addin", json!({"addinId": "Message Tagger"}))
        .await;
    assert_eq!(e["code"], "CONFIRM_001", "{e}");
    let plan = e["details"]["plan"].as_str().unwrap();
    assert!(
        plan.contains("Message Tagger") && plan.contains(ADMIN),
        "{plan}"
    );
    assert_eq!(listed(&s).await.len(), 1, "removed before confirmation");
    let token = e["details"]["confirmationToken"].as_str().unwrap();
    let removed = s
        .ok(
            "remove_outlook_addin",
            json!({"addinId": "Message Tagger", "confirmationToken": token}),
        )
        .await;
    assert_eq!(removed["removed"], true, "{removed}");
    assert_eq!(removed["before"]["id"], TAGGER_ID);
    assert_eq!(removed["after"], Value::Null);
    assert!(listed(&s).await.is_empty());
    s.finish().await;
}

#[tokio::test]
async fn an_addin_is_deployed_to_everyone_and_a_unified_manifest_is_shown_not_deployed() {
    let s = Server::start(Options::default()).await;
    let url = manifest_url(&s, "message-tagger.xml").await;
    let done = s
        .ok(
            "deploy_outlook_addin",
            json!({"addinManifestUrl": url, "deploymentScope": "organization", "mandatory": true}),
        )
        .await;
    assert_eq!(done["after"]["providedTo"], "Everyone", "{done}");
    assert_eq!(done["after"]["defaultStateForUser"], "AlwaysEnabled");
    let e = s
        .err("remove_outlook_addin", json!({"addinId": TAGGER_ID}))
        .await;
    let plan = e["details"]["plan"].as_str().unwrap();
    assert!(plan.contains("everyone in the organization"), "{plan}");

    // Exchange's New-App reads only XML manifests: a unified one is checked
    // and shown, and the error says where it is deployed instead.
    let json_url = manifest_url(&s, "compliance-footer.json").await;
    let e = s
        .err(
            "deploy_outlook_addin",
            json!({"addinManifestUrl": json_url, "deploymentScope": "organization"}),
        )
        .await;
    assert_eq!(e["code"], "INPUT_001", "{e}");
    assert!(
        e["message"].as_str().unwrap().contains("Integrated apps"),
        "{e}"
    );
    assert_eq!(e["details"]["addin"]["format"], "json");
    assert!(
        e["details"]["addin"]["permissions"]
            .to_string()
            .contains("MailboxItem.ReadWrite.User"),
        "{e}"
    );
    assert_eq!(listed(&s).await.len(), 1);
    s.finish().await;
}

#[tokio::test]
async fn bad_manifests_and_unknown_users_are_refused_before_deploying() {
    let s = Server::start(Options::default()).await;
    let html = manifest_url(&s, "not-a-manifest.html").await;
    let e = s
        .err(
            "deploy_outlook_addin",
            json!({"addinManifestUrl": html, "deploymentScope": "organization"}),
        )
        .await;
    assert_eq!(e["code"], "INPUT_001", "{e}");

    let e = s
        .err(
            "deploy_outlook_addin",
            json!({"addinManifestUrl": "https://evil.example/manifest.xml", "deploymentScope": "organization"}),
        )
        .await;
    assert_eq!(e["code"], "INPUT_001", "{e}");

    let url = manifest_url(&s, "message-tagger.xml").await;
    let e = s
        .err(
            "deploy_outlook_addin",
            json!({"addinManifestUrl": url, "deploymentScope": "specificUsers",
                   "targetUsers": [ADMIN, "ghost@libertygoldsilver.com"]}),
        )
        .await;
    assert_eq!(e["code"], "INPUT_001", "{e}");
    assert!(e["message"].as_str().unwrap().contains("ghost@"), "{e}");
    let e = s
        .err(
            "deploy_outlook_addin",
            json!({"addinManifestUrl": url, "deploymentScope": "specificUsers"}),
        )
        .await;
    assert_eq!(e["details"]["field"], "targetUsers", "{e}");
    assert!(listed(&s).await.is_empty());

    let e = s
        .err("remove_outlook_addin", json!({"addinId": "Nothing Here"}))
        .await;
    assert_eq!(e["code"], "INPUT_001", "{e}");
    s.finish().await;
}
