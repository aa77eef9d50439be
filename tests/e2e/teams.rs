//! The teams plugin through every layer: a team with owners, members and
//! channels created in journaled steps with progress; the name taken; a
//! failure injected at each step rolled back with nothing left; replication
//! 404s waited out; a server killed mid-way whose operation is listed after
//! restart and then rolled back or resumed; a dry run that makes no request.

use crate::harness::*;
use serde_json::{Value, json};
use std::sync::Arc;
use std::time::Duration;

const DOMAIN: &str = "libertygoldsilver.com";

/// A server whose tenant finishes team operations on the first poll (the
/// plugin waits 30 s between polls, as Microsoft advises) and whose rate
/// limit does not slow the many requests of these tests.
fn opts() -> Options {
    Options::default()
        .env("RATE_LIMIT_ENABLED", "false")
        .env("M365_SANDBOX_TEAM_PROVISIONING_POLLS", "0")
        .env("M365_SANDBOX_TEAM_REPLICATION_MISSES", "0")
}

async fn user(s: &Server, local: &str) -> String {
    let email = format!("{local}@{DOMAIN}");
    s.ok(
        "create_user",
        json!({"email": email, "displayName": format!("User {local}"), "password": SENTINEL_PASSWORD,
               "license": "BusinessBasic", "waitForMailboxSeconds": 0}),
    )
    .await;
    email
}

/// Two owners and three members.
async fn people(s: &Server) -> (Vec<String>, Vec<String>) {
    let mut owners = Vec::new();
    for l in ["olga", "omar"] {
        owners.push(user(s, l).await);
    }
    let mut members = Vec::new();
    for l in ["mia", "max", "mel"] {
        members.push(user(s, l).await);
    }
    (owners, members)
}

fn team_args(name: &str, owners: &[String], members: &[String]) -> Value {
    json!({
        "displayName": name,
        "description": format!("Everything about {name}"),
        "visibility": "Private",
        "owners": owners,
        "members": members,
        "channels": [
            {"displayName": "Deals", "description": "Open deals"},
            {"displayName": "Leadership", "membershipType": "private"},
            {"displayName": "Announcements"},
        ],
        "enableGuestAccess": false,
        "settings": {"allowGiphy": false, "allowDeleteChannels": false},
    })
}

/// Groups (live and deleted) in the sandbox tenant named `name`.
async fn groups_named(s: &Server, name: &str) -> (usize, usize) {
    let state = s.sandbox().state().await;
    let count = |key: &str| {
        state[key]
            .as_array()
            .map(|a| {
                a.iter()
                    .filter(|g| g["props"]["displayName"] == name)
                    .count()
            })
            .unwrap_or(0)
    };
    (count("groups"), count("deletedGroups"))
}

async fn unfinished(s: &Server) -> Vec<Value> {
    s.ok("list_operations", json!({})).await["operations"]
        .as_array()
        .unwrap()
        .clone()
}

#[tokio::test]
async fn a_team_with_owners_members_and_channels_is_created_with_progress() {
    let s = Server::start(opts()).await;
    let (owners, members) = people(&s).await;

    let (r, progress) = s
        .call_with_progress(
            "create_teams_group",
            team_args("Sales Team 2024", &owners, &members),
        )
        .await;
    assert_ne!(r.is_error, Some(true), "{}", text_of(&r));
    let created = r.structured_content.clone().unwrap();
    assert_eq!(created["status"], "completed", "{created}");
    let team_id = created["teamId"].as_str().unwrap().to_string();
    assert_eq!(created["channels"].as_array().unwrap().len(), 3);

    // One notification per step, in order, each saying which step.
    let steps: Vec<f64> = progress.iter().map(|p| p.progress).collect();
    assert_eq!(
        steps,
        [1.0, 2.0, 3.0, 4.0, 5.0, 6.0, 7.0, 8.0],
        "{progress:?}"
    );
    for (i, p) in progress.iter().enumerate() {
        assert_eq!(p.total, Some(8.0));
        let msg = p.message.as_deref().unwrap_or_default();
        assert!(msg.starts_with(&format!("Step {}/8", i + 1)), "{msg}");
    }

    // The tenant has it, and the tool and the resource show it.
    let team = s.ok("get_team", json!({"teamId": team_id})).await;
    assert_eq!(team["displayName"], "Sales Team 2024");
    assert_eq!(team["owners"].as_array().unwrap().len(), 2, "{team}");
    assert_eq!(team["members"].as_array().unwrap().len(), 3, "{team}");
    let channel = |name: &str| {
        team["channels"]
            .as_array()
            .unwrap()
            .iter()
            .find(|c| c["displayName"] == name)
            .cloned()
            .unwrap_or_else(|| panic!("no channel {name}: {team}"))
    };
    assert_eq!(channel("Leadership")["membershipType"], "private");
    assert_eq!(channel("Deals")["membershipType"], "standard");
    channel("Announcements");
    assert_eq!(team["funSettings"]["allowGiphy"], false, "{team}");
    assert_eq!(team["guestSettings"]["allowCreateUpdateChannels"], false);

    let resource = s.read(&format!("m365://teams/{team_id}")).await;
    assert_eq!(resource["displayName"], "Sales Team 2024");
    assert_eq!(
        resource["channels"].as_array().unwrap().len(),
        4,
        "General + 3"
    );
    let by_name = s.read("m365://teams/Sales%20Team%202024").await;
    assert_eq!(by_name["id"], team_id);
    let listed = s.ok("list_teams", json!({})).await;
    assert!(listed.to_string().contains(&team_id), "{listed}");

    // The guest setting is on the group.
    let state = s.sandbox().state().await;
    let group = state["groups"]
        .as_array()
        .unwrap()
        .iter()
        .find(|g| g["id"] == team_id)
        .unwrap()
        .clone();
    assert!(
        group["settings"].to_string().contains("AllowToAddGuests"),
        "{group}"
    );

    // The name is taken now; nothing more is created.
    let again = s
        .err(
            "create_teams_group",
            team_args("Sales Team 2024", &owners, &members),
        )
        .await;
    assert_eq!(again["code"], "TEAM_001", "{again}");
    assert_eq!(groups_named(&s, "Sales Team 2024").await, (1, 0));
    assert!(unfinished(&s).await.is_empty());
    s.finish().await;
}

#[tokio::test]
async fn a_dry_run_makes_no_request_and_unknown_people_are_named_together() {
    let s = Server::start(opts()).await;
    let owner = user(&s, "olga").await;
    s.sandbox().clear_requests().await;
    let plan = s
        .ok(
            "create_teams_group",
            json!({
                "displayName": "Dry Team", "owners": [owner], "members": ["ghost@libertygoldsilver.com"],
                "channels": [{"displayName": "Ops", "membershipType": "private"}], "dryRun": true,
            }),
        )
        .await;
    assert_eq!(plan["dryRun"], true);
    assert_eq!(plan["steps"].as_array().unwrap().len(), 8, "{plan}");
    assert!(plan.to_string().contains("POST /teams"), "{plan}");
    assert_eq!(s.sandbox().graph_requests().await, Vec::<Value>::new());
    assert!(
        s.ok("list_operations", json!({"all": true})).await["operations"]
            .as_array()
            .unwrap()
            .is_empty(),
        "a dry run keeps no journal"
    );

    // Every unknown address in one error, before anything is created.
    let e = s
        .err(
            "create_teams_group",
            json!({
                "displayName": "Ghost Team",
                "owners": [owner, "nobody@libertygoldsilver.com"],
                "members": ["ghost@libertygoldsilver.com"],
            }),
        )
        .await;
    assert_eq!(e["code"], "INPUT_001", "{e}");
    let msg = e["message"].as_str().unwrap();
    assert!(
        msg.contains("nobody@libertygoldsilver.com") && msg.contains("ghost@libertygoldsilver.com"),
        "{msg}"
    );
    assert_eq!(e["details"]["failedStep"]["number"], 1);
    assert_eq!(groups_named(&s, "Ghost Team").await, (0, 0));

    // More members than the bulk threshold: the plan is approved first.
    let many: Vec<String> = (0..11).map(|i| format!("p{i}@{DOMAIN}")).collect();
    let e = s
        .err(
            "create_teams_group",
            json!({"displayName": "Big Team", "owners": [owner], "members": many}),
        )
        .await;
    assert_eq!(e["code"], "CONFIRM_001", "{e}");
    let plan = e["details"]["plan"].as_str().unwrap();
    assert!(
        plan.contains("Big Team") && plan.contains("11 member(s)"),
        "{plan}"
    );
    let posts = s
        .sandbox()
        .graph_requests()
        .await
        .iter()
        .filter(|r| r["method"] != "GET")
        .count();
    assert_eq!(posts, 0);
    s.finish().await;
}

#[tokio::test]
async fn a_failure_at_each_step_is_rolled_back_and_named() {
    let s = Server::start(opts()).await;
    let (owners, members) = people(&s).await;
    let sandbox = s.sandbox();
    let fail = |method: &str, prefix: &str| json!({"method": method, "pathPrefix": prefix, "status": 500, "times": 1});
    for step in 1..=8u64 {
        let faults: Vec<Value> = match step {
            1 => vec![fail("GET", "/v1.0/users")],
            2 => vec![fail("POST", "/v1.0/groups")],
            3 => vec![fail("GET", "/v1.0/groups/")],
            4 => vec![fail("POST", "/v1.0/teams")],
            5 => vec![fail("POST", "/v1.0/teams/")],
            // The operation poll is the one GET under /teams/ before the
            // members step: let it through, fail the next.
            6 => vec![
                json!({"method": "GET", "pathPrefix": "/v1.0/teams/", "latencyMs": 1, "times": 1}),
                fail("GET", "/v1.0/teams/"),
            ],
            7 => vec![fail("POST", "/v1.0/groups/")],
            _ => vec![fail("PATCH", "/v1.0/teams/")],
        };
        for f in faults {
            sandbox.fault(f).await;
        }
        let name = format!("Fault Team {step}");
        let e = s
            .err("create_teams_group", team_args(&name, &owners, &members))
            .await;
        sandbox
            .send(reqwest::Method::DELETE, "/_sandbox/faults", None)
            .await;
        assert_eq!(e["code"], "GRAPH_001", "step {step}: {e}");
        assert_eq!(e["details"]["failedStep"]["number"], step, "{e}");
        let msg = e["message"].as_str().unwrap();
        assert!(msg.contains(&format!("Step {step}/8")), "{msg}");
        if step >= 3 {
            assert!(msg.contains("Rolled back: deleted the group"), "{msg}");
            assert_eq!(e["details"]["rolledBack"].as_array().unwrap().len(), 1);
        } else {
            assert!(msg.contains("Nothing had been created"), "{msg}");
        }
        assert_eq!(e["details"]["leftBehind"], json!([]), "{e}");
        assert_eq!(
            groups_named(&s, &name).await,
            (0, 0),
            "step {step} left something"
        );
    }
    let state = s.sandbox().state().await;
    assert_eq!(state["groups"], json!([]), "{}", state["groups"]);
    assert!(unfinished(&s).await.is_empty());
    s.finish().await;
}

#[tokio::test]
async fn replication_404s_are_waited_out() {
    // Two 404s from POST /teams (10 s apart, as Microsoft advises), then one
    // poll of the operation still in progress (30 s).
    let s = Server::start(
        opts()
            .env("M365_SANDBOX_TEAM_REPLICATION_MISSES", "2")
            .env("M365_SANDBOX_TEAM_PROVISIONING_POLLS", "1"),
    )
    .await;
    let owner = user(&s, "olga").await;
    let created = s
        .ok(
            "create_teams_group",
            json!({"displayName": "Late Team", "owners": [owner]}),
        )
        .await;
    assert_eq!(created["status"], "completed");
    let requests = s.sandbox().graph_requests().await;
    let statuses: Vec<u64> = requests
        .iter()
        .filter(|r| r["method"] == "POST" && r["path"] == "/v1.0/teams")
        .map(|r| r["status"].as_u64().unwrap())
        .collect();
    assert_eq!(statuses, [404, 404, 202]);
    let polls = requests
        .iter()
        .filter(|r| r["path"].as_str().unwrap().contains("/operations/"))
        .count();
    assert_eq!(polls, 2);
    let team = s.ok("get_team", json!({"teamId": created["teamId"]})).await;
    assert_eq!(team["displayName"], "Late Team");
    s.finish().await;
}

/// Starts create_teams_group with the first channel POST held for a long
/// time, waits until the journal shows the channel step started, and kills
/// the server: (data directory, team name).
async fn killed_during_channels() -> (tempfile::TempDir, String) {
    let s = Server::start(opts()).await;
    let (owners, members) = people(&s).await;
    s.sandbox()
        .fault(
            json!({"method": "POST", "pathPrefix": "/v1.0/teams/", "latencyMs": 60000, "times": 1}),
        )
        .await;
    let s = Arc::new(s);
    let name = "Crash Team".to_string();
    let call = {
        let s = s.clone();
        let args = team_args(&name, &owners, &members);
        tokio::spawn(async move {
            let Value::Object(map) = args else {
                unreachable!()
            };
            // Fails when the server dies.
            let _ = s
                .client
                .call_tool(
                    rmcp::model::CallToolRequestParams::new("create_teams_group")
                        .with_arguments(map),
                )
                .await;
        })
    };
    let mut seen = false;
    for _ in 0..200 {
        let ops = unfinished(&s).await;
        if ops
            .first()
            .is_some_and(|o| o["lastCompletedStep"]["number"] == 4)
        {
            seen = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert!(seen, "the operation never reached the channel step");
    // The channel POST is now held by the sandbox.
    tokio::time::sleep(Duration::from_millis(500)).await;
    s.kill9_now();
    call.await.unwrap();
    let s = Arc::into_inner(s).expect("the call has ended");
    (s.into_dir(), name)
}

async fn the_listed_operation(s: &Server) -> String {
    let ops = unfinished(s).await;
    assert_eq!(ops.len(), 1, "{ops:?}");
    let op = &ops[0];
    assert_eq!(op["status"], "running", "{op}");
    assert_eq!(op["nextStep"]["name"], "channels", "{op}");
    assert!(op["groupId"].is_string(), "{op}");
    let resource = s.read("m365://teams/operations").await;
    assert_eq!(resource["count"], 1, "{resource}");
    assert_eq!(
        resource["unfinishedOperations"][0]["operationId"],
        op["operationId"]
    );
    op["operationId"].as_str().unwrap().to_string()
}

#[tokio::test]
async fn a_server_killed_during_channel_creation_rolls_back_after_restart() {
    let (dir, name) = killed_during_channels().await;
    let s = Server::start_in(dir, opts().elicit(true)).await;
    assert_eq!(
        groups_named(&s, &name).await,
        (1, 0),
        "half-made team exists"
    );
    let id = the_listed_operation(&s).await;

    let tools = s.client.list_all_tools().await.unwrap();
    let rollback = tools
        .iter()
        .find(|t| t.name == "rollback_operation")
        .unwrap();
    assert_eq!(
        rollback.annotations.as_ref().unwrap().destructive_hint,
        Some(true)
    );
    let done = s.ok("rollback_operation", json!({"operationId": id})).await;
    assert_eq!(done["status"], "rolledBack", "{done}");
    let asked = s.asked.lock().unwrap().clone();
    assert_eq!(asked.len(), 1, "{asked:?}");
    assert!(asked[0].contains(&name), "{asked:?}");
    assert_eq!(groups_named(&s, &name).await, (0, 0));
    assert!(unfinished(&s).await.is_empty());
    // Rolling back again changes nothing.
    let again = s.ok("rollback_operation", json!({"operationId": id})).await;
    assert_eq!(again["status"], "rolledBack");
    s.finish().await;
}

#[tokio::test]
async fn a_server_killed_during_channel_creation_resumes_after_restart() {
    let (dir, name) = killed_during_channels().await;
    let s = Server::start_in(dir, opts()).await;
    let id = the_listed_operation(&s).await;
    let (r, progress) = s
        .call_with_progress("resume_operation", json!({"operationId": id}))
        .await;
    assert_ne!(r.is_error, Some(true), "{}", text_of(&r));
    let done = r.structured_content.clone().unwrap();
    assert_eq!(done["status"], "completed", "{done}");
    let steps: Vec<f64> = progress.iter().map(|p| p.progress).collect();
    assert_eq!(steps, [4.0, 5.0, 6.0, 7.0, 8.0], "{progress:?}");

    let team = s.ok("get_team", json!({"teamId": name})).await;
    let names: Vec<&str> = team["channels"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["displayName"].as_str().unwrap())
        .collect();
    for want in ["Deals", "Leadership", "Announcements"] {
        assert_eq!(names.iter().filter(|n| **n == want).count(), 1, "{names:?}");
    }
    assert_eq!(groups_named(&s, &name).await, (1, 0), "one group, not two");
    assert!(unfinished(&s).await.is_empty());
    s.finish().await;
}

#[tokio::test]
async fn members_channels_and_archiving_of_an_existing_team() {
    let s = Server::start(opts().elicit(true)).await;
    let owner = user(&s, "olga").await;
    let newcomer = user(&s, "nina").await;
    let boss = user(&s, "bea").await;
    let created = s
        .ok(
            "create_teams_group",
            json!({"displayName": "Ops", "owners": [owner]}),
        )
        .await;
    let id = created["teamId"].as_str().unwrap().to_string();

    let added = s
        .ok(
            "add_team_members",
            json!({"teamId": "Ops", "members": [newcomer, boss]}),
        )
        .await;
    assert_eq!(added["added"].as_array().unwrap().len(), 2, "{added}");
    let again = s
        .ok(
            "add_team_members",
            json!({"teamId": id, "members": [newcomer, boss], "role": "owner"}),
        )
        .await;
    assert_eq!(again["madeOwner"].as_array().unwrap().len(), 2, "{again}");
    let e = s
        .err(
            "add_team_members",
            json!({"teamId": id, "members": ["ghost@libertygoldsilver.com"]}),
        )
        .await;
    assert_eq!(e["code"], "INPUT_001");

    let ch = s
        .ok(
            "add_team_channel",
            json!({"teamId": id, "displayName": "Secrets", "membershipType": "private"}),
        )
        .await;
    assert_eq!(ch["membershipType"], "private");
    let e = s
        .err(
            "add_team_channel",
            json!({"teamId": id, "displayName": "secrets"}),
        )
        .await;
    assert_eq!(e["code"], "INPUT_001", "{e}");

    let archived = s.ok("archive_team", json!({"teamId": id})).await;
    assert_eq!(archived["teamId"], id);
    let asked = s.asked.lock().unwrap().clone();
    assert!(
        asked.iter().any(|q| q.contains("Archive the team 'Ops'")),
        "{asked:?}"
    );
    let mut is_archived = false;
    for _ in 0..20 {
        let team = s.ok("get_team", json!({"teamId": id})).await;
        if team["isArchived"] == true {
            is_archived = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    assert!(is_archived);
    s.finish().await;
}

#[tokio::test]
async fn a_rollback_that_fails_says_what_is_left_and_can_be_finished_later() {
    let s = Server::start(opts().elicit(true)).await;
    let owner = user(&s, "olga").await;
    let sandbox = s.sandbox();
    sandbox
        .fault(json!({"method": "PATCH", "pathPrefix": "/v1.0/teams/", "status": 500, "times": 1}))
        .await;
    sandbox
        .fault(
            json!({"method": "DELETE", "pathPrefix": "/v1.0/groups/", "status": 500, "times": 1}),
        )
        .await;
    let e = s
        .err(
            "create_teams_group",
            json!({"displayName": "Stuck Team", "owners": [owner]}),
        )
        .await;
    assert_eq!(e["details"]["failedStep"]["name"], "settings", "{e}");
    let msg = e["message"].as_str().unwrap();
    assert!(msg.contains("Rolling back failed"), "{msg}");
    assert!(
        msg.contains("Stuck Team") && msg.contains("rollback_operation"),
        "{msg}"
    );
    assert_eq!(
        e["details"]["leftBehind"].as_array().unwrap().len(),
        1,
        "{e}"
    );
    assert_eq!(groups_named(&s, "Stuck Team").await, (1, 0));

    let ops = unfinished(&s).await;
    assert_eq!(ops.len(), 1, "{ops:?}");
    assert_eq!(ops[0]["status"], "rollbackFailed");
    let id = ops[0]["operationId"].as_str().unwrap();
    let e = s.err("resume_operation", json!({"operationId": id})).await;
    assert_eq!(e["code"], "INPUT_001", "{e}");
    let done = s.ok("rollback_operation", json!({"operationId": id})).await;
    assert_eq!(done["status"], "rolledBack", "{done}");
    assert_eq!(groups_named(&s, "Stuck Team").await, (0, 0));
    assert!(unfinished(&s).await.is_empty());
    s.finish().await;
}
