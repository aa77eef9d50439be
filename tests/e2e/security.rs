//! review_security against the seeded sandbox: each seeded problem found
//! with its id, severity and fix; the fixes our tools offer applied through
//! MCP turn their findings to pass; a tenant without Entra ID P1 and an app
//! with only Global Reader get `unknown` with the reason; and the review only
//! ever reads.

use crate::harness::*;
use serde_json::{Value, json};
use std::collections::BTreeMap;

/// The fix tools issues 18 and 19 are building; a fix may name them before
/// they are offered.
const PENDING_TOOLS: &[&str] = &[
    "set_user_sign_in",
    "set_user_licenses",
    "reset_user_mfa",
    "offboard_user",
    "convert_mailbox",
    "revoke_mailbox_access",
];

fn by_id(review: &Value) -> BTreeMap<String, Value> {
    review["findings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| (f["id"].as_str().unwrap().to_string(), f.clone()))
        .collect()
}

fn names(f: &Value) -> Vec<String> {
    f["evidence"]["names"]
        .as_array()
        .map(|a| a.iter().map(|n| n.as_str().unwrap().to_string()).collect())
        .unwrap_or_default()
}

#[tokio::test]
async fn a_fresh_sandbox_review_finds_each_seeded_problem_with_its_fix() {
    let s = Server::start(Options::default()).await;
    s.sandbox().clear_requests().await;
    let (result, progress) = s.call_with_progress("review_security", json!({})).await;
    assert_ne!(result.is_error, Some(true), "{}", text_of(&result));
    let review = result.structured_content.clone().unwrap();
    // What the model is given: the structured result, as compact JSON.
    let seen_by_model = review.to_string();
    assert!(
        seen_by_model.len() < 8000,
        "a full review is {} characters",
        seen_by_model.len()
    );
    eprintln!(
        "review_security on the seed: {} characters structured, {} as pretty text",
        seen_by_model.len(),
        text_of(&result).len()
    );
    assert!(progress.len() >= 10, "{} progress notes", progress.len());

    let f = by_id(&review);
    // (id, severity, a name the evidence must hold)
    for (id, severity, named) in [
        ("MFA-001", "high", "ben.ortiz@libertygoldsilver.com"),
        ("MFA-002", "high", ""),
        ("AUTH-001", "high", ""),
        ("ADM-001", "medium", "admin@libertygoldsilver.com"),
        ("USR-001", "medium", "chris.pike@libertygoldsilver.com"),
        ("LIC-001", "low", "dana.whitfield@libertygoldsilver.com"),
        ("SHR-001", "medium", "info@libertygoldsilver.com"),
        ("GST-001", "low", "pat.kim@example.net"),
        ("FWD-002", "high", "dana.whitfield@example.org"),
        ("FWD-003", "high", "ann.lee.archive@example.net"),
        ("DKIM-001", "medium", "libertygoldsilver.co.uk"),
        ("AUD-001", "high", ""),
        ("SMTP-001", "medium", ""),
        (
            "PROTO-001",
            "low",
            "admin@libertygoldsilver.com (SMTP AUTH)",
        ),
        ("FWD-001", "medium", "Default (*)"),
    ] {
        let finding = f
            .get(id)
            .unwrap_or_else(|| panic!("no finding {id}: {review}"));
        assert_eq!(finding["status"], "fail", "{id}: {finding}");
        assert_eq!(finding["severity"], severity, "{id}");
        assert!(finding["fix"].is_object(), "{id} has no fix: {finding}");
        assert!(!finding["baseline"].as_array().unwrap().is_empty(), "{id}");
        if !named.is_empty() {
            assert!(
                names(finding).iter().any(|n| n.contains(named)),
                "{id} does not name {named}: {finding}"
            );
        }
    }
    // What the seed got right passes, and the ids say so.
    let passed: Vec<&str> = review["passed"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p.as_str().unwrap())
        .collect();
    for id in [
        "ADM-002", "AUD-002", "PWD-001", "GST-002", "GST-003", "APP-001", "APP-002",
    ] {
        assert!(passed.contains(&id), "{id} did not pass: {review}");
    }
    assert_eq!(review["counts"]["unknown"], 0, "{review}");
    // The baseline cited is what SCuBA says, with our stricter rule beside it.
    assert_eq!(f["ADM-001"]["baseline"], json!(["MS.AAD.7.1v1"]));
    assert!(f["ADM-001"]["reason"].as_str().unwrap().contains("2 to 8"));
    assert_eq!(f["AUD-001"]["baseline"], json!(["MS.SECURITYSUITE.5.1v1"]));
    assert_eq!(f["FWD-001"]["baseline"], json!(["MS.EXO.1.1v2"]));
    // The internal forward of Ann's is not counted; her redirect outside is.
    assert_eq!(f["FWD-003"]["evidence"]["rules"], 1, "{}", f["FWD-003"]);
    assert_eq!(f["LIC-001"]["evidence"]["monthlyListPriceUsd"], 12.5);
    assert_eq!(review["tenant"]["users"]["guests"], 2);

    // It only read: Graph GETs and one $batch of GETs, Exchange Get- cmdlets.
    let seen = s.sandbox().get("/_sandbox/requests").await;
    let mut graph = 0;
    for r in seen.as_array().unwrap() {
        let path = r["path"].as_str().unwrap_or_default();
        if let Some(cmdlet) = r["cmdlet"].as_str() {
            assert!(cmdlet.starts_with("Get-"), "{r}");
        } else if path.starts_with("/v1.0/") {
            graph += 1;
            assert!(
                r["method"] == "GET" || path == "/v1.0/$batch",
                "a write: {r}"
            );
        }
    }
    assert!(graph >= 2, "{seen}");
    s.finish().await;
}

#[tokio::test]
async fn applying_the_fixes_our_tools_offer_turns_those_findings_to_pass() {
    // Two full reviews and the fixes between them pass the default 60 requests a minute,
    // which would make the test wait for the limiter; the limiter has its own tests.
    let s = Server::start(
        Options::default()
            .elicit(true)
            .env("RATE_LIMIT_ENABLED", "false"),
    )
    .await;
    let offered: Vec<String> = s
        .client
        .list_all_tools()
        .await
        .unwrap()
        .into_iter()
        .map(|t| t.name.to_string())
        .collect();
    let before = by_id(&s.ok("review_security", json!({})).await);
    let mut fixed = Vec::new();
    let mut waiting = Vec::new();
    for (id, finding) in &before {
        let calls = finding["fix"]["calls"]
            .as_array()
            .cloned()
            .unwrap_or_default();
        if calls.is_empty() {
            continue;
        }
        let tools: Vec<&str> = calls.iter().map(|c| c["tool"].as_str().unwrap()).collect();
        if tools.iter().all(|t| offered.iter().any(|o| o == t)) {
            for c in &calls {
                let tool = c["tool"].as_str().unwrap();
                s.ok(tool, c["arguments"].clone()).await;
            }
            fixed.push(id.clone());
        } else {
            for t in tools.iter().filter(|t| !offered.iter().any(|o| o == *t)) {
                assert!(
                    PENDING_TOOLS.contains(t),
                    "{id}'s fix names {t}, which is no tool"
                );
            }
            waiting.push(id.clone());
        }
    }
    for id in [
        "MFA-002", "AUTH-001", "SMTP-001", "AUD-001", "FWD-002", "GST-001",
    ] {
        assert!(
            fixed.contains(&id.to_string()),
            "{id} was not fixed: {fixed:?}"
        );
    }
    let after = s
        .ok("review_security", json!({"includePassed": true}))
        .await;
    let after = by_id(&after);
    for id in &fixed {
        assert_eq!(
            after[id]["status"], "pass",
            "{id} after its fix: {}",
            after[id]
        );
    }
    // Fixed by issues 18 and 19's tools once they are offered.
    eprintln!("fixes waiting for tools not yet offered: {waiting:?}");
    for id in &waiting {
        assert_eq!(after[id]["status"], "fail", "{id}");
    }
    s.finish().await;
}

#[tokio::test]
async fn without_entra_id_p1_the_checks_that_need_it_say_unknown_and_why() {
    let s = Server::start(Options::default()).await;
    // The tenant's only subscription with Entra ID P1 (Business Premium) lapses.
    s.sandbox().set_seats("SPB", 0).await;
    let review = s.ok("review_security", json!({})).await;
    let f = by_id(&review);
    for id in ["MFA-001", "ADM-002", "USR-001"] {
        assert_eq!(f[id]["status"], "unknown", "{id}: {}", f[id]);
        assert!(
            f[id]["reason"].as_str().unwrap().contains("Entra ID P1"),
            "{id}: {}",
            f[id]
        );
    }
    // Without P1 there is no conditional access; the rest still runs.
    assert_eq!(f["MFA-002"]["status"], "fail");
    assert_eq!(f["GST-001"]["status"], "fail");
    assert!(names(&f["GST-001"])[0].contains("invited"));
    assert_eq!(f["FWD-003"]["status"], "fail");
    assert_eq!(review["counts"]["unknown"], 3, "{}", review["summary"]);
    s.finish().await;
}

#[tokio::test]
async fn an_app_that_is_only_global_reader_reviews_all_but_inbox_rules() {
    let s = Server::start(Options::default()).await;
    s.sandbox().set_app_roles(&["Global Reader"]).await;
    let review = s
        .ok("review_security", json!({"checks": ["FWD", "SHR-001"]}))
        .await;
    let f = by_id(&review);
    let rules = &f["FWD-003"];
    assert_eq!(rules["status"], "unknown", "{rules}");
    let why = rules["reason"].as_str().unwrap();
    assert!(
        why.contains("Get-InboxRule") && why.contains("Global Reader"),
        "{why}"
    );
    assert!(why.contains("Exchange Administrator"), "{why}");
    // The other Exchange reads work under Global Reader.
    assert_eq!(f["FWD-002"]["status"], "fail");
    assert_eq!(f["SHR-001"]["status"], "fail");
    let c = &review["counts"];
    let ran =
        c["fail"].as_u64().unwrap() + c["unknown"].as_u64().unwrap() + c["pass"].as_u64().unwrap();
    assert_eq!(ran, 4, "only the checks asked for: {review}");

    let e = s
        .err("review_security", json!({"checks": ["NOPE-1"]}))
        .await;
    assert_eq!(e["code"], "INPUT_001");
    assert!(e["message"].as_str().unwrap().contains("MFA-001"), "{e}");
    s.finish().await;
}
