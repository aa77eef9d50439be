//! Groups and Teams end to end over HTTPS: the 202 `Location` headers on the wire, the tuning
//! knobs and faults through the control API, and `/_sandbox/state`.

mod common;

use std::path::PathBuf;

use common::App;
use m365_sandbox::client::SandboxClient;
use m365_sandbox::{Sandbox, Tuning};
use serde_json::{Value, json};

const APP: App = App {
    tenant: "5d3c2b1a-0f9e-4d8c-b7a6-958473625140",
    client: "6e4d3c2b-1a0f-4e9d-8c7b-a69584736251",
    secret: "teams-s3cret~value",
};

struct Harness {
    sandbox: Sandbox,
    client: SandboxClient,
    token: String,
    dir: PathBuf,
}

impl Harness {
    async fn start() -> Harness {
        let dir = common::temp_dir("teams-e2e");
        let (sandbox, client) = common::start(common::config(
            dir.clone(),
            true,
            &APP,
            None,
            Tuning::default(),
        ))
        .await;
        let token = common::token(&client, &APP, "https://graph.microsoft.com/.default").await;
        Harness {
            sandbox,
            client,
            token,
            dir,
        }
    }

    async fn graph(
        &self,
        method: &str,
        path: &str,
        body: Option<Value>,
    ) -> (u16, reqwest::header::HeaderMap, Value) {
        let (status, headers, text) = common::send(
            &self.client,
            method,
            &format!("v1.0/{}", path.trim_start_matches('/')),
            Some(&self.token),
            body.as_ref(),
        )
        .await;
        let json = if text.is_empty() {
            Value::Null
        } else {
            serde_json::from_str(&text).unwrap()
        };
        (status, headers, json)
    }

    async fn control(&self, method: &str, path: &str, body: Option<Value>) -> (u16, Value) {
        common::control(&self.client, method, path, body).await
    }

    async fn stop(self) {
        self.sandbox.shutdown().await;
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

#[tokio::test]
async fn group_to_team_over_https_with_knobs_and_faults() {
    let h = Harness::start().await;
    let (status, tuning) = h
        .control(
            "PATCH",
            "tuning",
            Some(json!({"teamReplicationMisses": 1, "teamProvisioningPolls": 1})),
        )
        .await;
    assert_eq!(status, 200);
    assert_eq!(tuning["teamReplicationMisses"], 1);
    assert_eq!(tuning["teamProvisioningPolls"], 1);

    let (status, _, user) = h
        .graph(
            "POST",
            "users",
            Some(json!({
                "accountEnabled": true,
                "displayName": "Owner",
                "mailNickname": "owner",
                "userPrincipalName": "owner@libertygoldsilver.com",
                "passwordProfile": {"password": "Xw9!pLm2qR"}
            })),
        )
        .await;
    assert_eq!(status, 201, "{user}");
    let owner = user["id"].as_str().unwrap();

    // A fault on the group-creation step.
    h.control(
        "POST",
        "faults",
        Some(json!({"method": "POST", "pathPrefix": "/v1.0/groups", "status": 503, "times": 1})),
    )
    .await;
    let group = json!({
        "displayName": "Flight 157",
        "mailNickname": "flight157",
        "groupTypes": ["Unified"],
        "mailEnabled": true,
        "securityEnabled": false,
        "visibility": "Private",
        "owners@odata.bind": [format!("https://graph.microsoft.com/v1.0/users/{owner}")],
        "members@odata.bind": [format!("https://graph.microsoft.com/v1.0/users/{owner}")]
    });
    assert_eq!(h.graph("POST", "groups", Some(group.clone())).await.0, 503);
    let (status, _, g) = h.graph("POST", "groups", Some(group)).await;
    assert_eq!(status, 201, "{g}");
    let gid = g["id"].as_str().unwrap().to_string();

    let team = json!({
        "template@odata.bind": "https://graph.microsoft.com/v1.0/teamsTemplates('standard')",
        "group@odata.bind": format!("https://graph.microsoft.com/v1.0/groups('{gid}')")
    });
    // Replication miss, then a fault, then accepted.
    let (status, _, body) = h.graph("POST", "teams", Some(team.clone())).await;
    assert_eq!(
        (status, body["error"]["code"].as_str()),
        (404, Some("NotFound"))
    );
    h.control(
        "POST",
        "faults",
        Some(json!({"method": "POST", "pathPrefix": "/v1.0/teams", "status": 429, "retryAfter": 2, "times": 1})),
    )
    .await;
    let (status, headers, _) = h.graph("POST", "teams", Some(team.clone())).await;
    assert_eq!(
        (status, headers["retry-after"].to_str().unwrap()),
        (429, "2")
    );
    let (status, headers, body) = h.graph("POST", "teams", Some(team)).await;
    assert_eq!(status, 202, "{body}");
    assert_eq!(body, Value::Null);
    let location = headers["location"].to_str().unwrap().to_string();
    assert_eq!(
        headers["content-location"].to_str().unwrap(),
        format!("/teams('{gid}')")
    );

    // Poll the Location as a client would (relative to the Graph root).
    let (status, _, op) = h.graph("GET", &location, None).await;
    assert_eq!((status, op["status"].as_str()), (200, Some("inProgress")));
    // A fault on the polling step, then success.
    h.control(
        "POST",
        "faults",
        Some(json!({"method": "GET", "pathPrefix": "/v1.0/teams('", "status": 503, "times": 1})),
    )
    .await;
    assert_eq!(h.graph("GET", &location, None).await.0, 503);
    let (_, _, op) = h.graph("GET", &location, None).await;
    assert_eq!(op["status"], "succeeded");

    let (status, _, channel) = h
        .graph(
            "POST",
            &format!("teams/{gid}/channels"),
            Some(json!({"displayName": "Announcements", "membershipType": "standard"})),
        )
        .await;
    assert_eq!(status, 201, "{channel}");

    let (_, state) = h.control("GET", "state", None).await;
    assert_eq!(state["groups"][0]["id"], gid.as_str());
    assert_eq!(state["deletedGroups"], json!([]));
    assert_eq!(state["teams"][0]["provisioned"], true);
    let names: Vec<&str> = state["teams"][0]["channels"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["displayName"].as_str().unwrap())
        .collect();
    assert_eq!(names, vec!["General", "Announcements"]);

    assert_eq!(
        h.graph("DELETE", &format!("groups/{gid}"), None).await.0,
        204
    );
    let (_, state) = h.control("GET", "state", None).await;
    assert_eq!(state["teams"], json!([]));
    assert_eq!(state["deletedGroups"][0]["id"], gid.as_str());
    h.stop().await;
}
