//! The audit trail as an auditor uses it: every call and the upstream
//! requests it caused, exported as JSON lines or CSV, and `audit verify`
//! naming the first row that was edited, deleted, reordered or cut off.

use crate::harness::*;
use serde_json::{Value, json};
use std::path::Path;

async fn export(dir: &Path, format: &str) -> String {
    let out = cli(
        dir,
        &["audit", "export", "--format", format, "--sandbox"],
        &[],
    )
    .await;
    assert_eq!(out.code, Some(0), "{}", out.stderr);
    out.stdout
}

fn rows(jsonl: &str) -> Vec<Value> {
    jsonl
        .lines()
        .filter(|l| !l.trim().is_empty())
        .map(|l| serde_json::from_str(l).unwrap())
        .collect()
}

/// A data directory whose trail has a few calls in it.
async fn trail() -> tempfile::TempDir {
    let s = Server::start(Options::default().with_probe()).await;
    s.ok(
        "create_user",
        json!({"email": "ivy@libertygoldsilver.com", "displayName": "Ivy", "password": SENTINEL_PASSWORD,
               "license": "BusinessBasic", "waitForMailboxSeconds": 0}),
    )
    .await;
    s.err(
        "get_user",
        json!({"userEmail": "nobody@libertygoldsilver.com"}),
    )
    .await;
    s.err("get_user", json!({"userEmail": 7})).await;
    s.ok("echo", json!({"value": "hello"})).await;
    s.read("m365://users/ivy@libertygoldsilver.com").await;
    s.stop().await
}

#[tokio::test]
async fn every_call_and_its_upstream_requests_are_recorded() {
    let dir = trail().await;
    let all = rows(&export(dir.path(), "jsonl").await);
    let calls: Vec<&Value> = all.iter().filter(|r| r["kind"] == "call").collect();
    let tools: Vec<&str> = calls.iter().map(|r| r["tool"].as_str().unwrap()).collect();
    assert_eq!(
        tools,
        [
            "create_user",
            "get_user",
            "get_user",
            "echo",
            "resources/read"
        ],
        "{all:#?}"
    );

    let create = calls[0];
    assert_eq!(create["plugin"], "users");
    assert_eq!(create["outcome"], "ok");
    let args: Value = serde_json::from_str(create["arguments"].as_str().unwrap()).unwrap();
    assert_eq!(args["email"], "ivy@libertygoldsilver.com");
    assert_eq!(args["password"], "[REDACTED]");
    assert!(create["durationMs"].is_u64());
    let ids: Vec<Value> = serde_json::from_str(create["requestIds"].as_str().unwrap()).unwrap();
    assert!(!ids.is_empty(), "Graph request ids recorded: {create}");

    // One row per upstream request, tied to the call.
    let upstream: Vec<&Value> = all
        .iter()
        .filter(|r| r["kind"] == "request" && r["callId"] == create["callId"])
        .collect();
    assert!(
        upstream
            .iter()
            .any(|r| r["method"] == "POST" && r["path"] == "/v1.0/users" && r["status"] == 201),
        "{upstream:#?}"
    );
    assert!(
        upstream
            .iter()
            .all(|r| r["attempts"].as_u64().unwrap() >= 1)
    );

    assert_eq!(calls[1]["outcome"], "error");
    assert_eq!(calls[1]["errorCode"], "GRAPH_001");
    assert_eq!(calls[2]["errorCode"], "INPUT_001");

    let csv = export(dir.path(), "csv").await;
    let mut lines = csv.lines();
    assert!(lines.next().unwrap().starts_with("id,"));
    // One line per row (no field here holds a newline) plus the header.
    assert_eq!(csv.lines().count(), all.len() + 1);
    assert!(csv.contains("create_user"));
    assert!(!csv.contains(SENTINEL_PASSWORD));

    // --since in the future exports nothing; in the past, everything.
    let none = cli(
        dir.path(),
        &["audit", "export", "--since", "2999-01-01", "--sandbox"],
        &[],
    )
    .await;
    assert_eq!(rows(&none.stdout).len(), 0);
    let bad = cli(
        dir.path(),
        &["audit", "export", "--since", "yesterday", "--sandbox"],
        &[],
    )
    .await;
    assert_ne!(bad.code, Some(0));
    assert!(bad.stderr.contains("INPUT_001"), "{}", bad.stderr);

    let tail = cli(dir.path(), &["audit", "tail", "-n", "2", "--sandbox"], &[]).await;
    assert_eq!(rows(&tail.stdout).len(), 2);
}

fn open_with_key(dir: &Path) -> rusqlite::Connection {
    let conn = rusqlite::Connection::open(db_path(dir)).unwrap();
    conn.execute_batch(&format!("PRAGMA key = \"x'{}'\";", sandbox_db_key(dir)))
        .unwrap();
    conn
}

async fn verify(dir: &Path) -> Cli {
    cli(dir, &["audit", "verify", "--sandbox"], &[]).await
}

/// Copies a stopped server's data directory so each tampering starts clean.
fn copy_dir(from: &Path) -> tempfile::TempDir {
    let to = tempfile::tempdir().unwrap();
    let status = std::process::Command::new("cp")
        .arg("-a")
        .arg(format!("{}/.", from.display()))
        .arg(to.path())
        .status()
        .unwrap();
    assert!(status.success());
    to
}

#[tokio::test]
async fn verify_names_the_first_edited_deleted_reordered_or_missing_row() {
    let dir = trail().await;
    let ok = verify(dir.path()).await;
    assert_eq!(ok.code, Some(0), "{}{}", ok.stdout, ok.stderr);
    let n: i64 = open_with_key(dir.path())
        .query_row("SELECT count(*) FROM audit", [], |r| r.get(0))
        .unwrap();
    assert!(n >= 8, "{n} rows");

    // Edited: someone hides what a call was about.
    let edited = copy_dir(dir.path());
    open_with_key(edited.path())
        .execute(
            "UPDATE audit SET outcome = 'ok', error_code = NULL WHERE id = 4",
            [],
        )
        .unwrap();
    let out = verify(edited.path()).await;
    assert_eq!(out.code, Some(1), "{}", out.stdout);
    let report: Value = serde_json::from_str(&out.stdout).unwrap();
    assert_eq!(report["firstBroken"]["id"], 4, "{report}");
    assert!(out.stderr.contains("row 4"), "{}", out.stderr);

    // Deleted from the middle.
    let deleted = copy_dir(dir.path());
    open_with_key(deleted.path())
        .execute("DELETE FROM audit WHERE id = 3", [])
        .unwrap();
    let out = verify(deleted.path()).await;
    assert_eq!(out.code, Some(1), "{}", out.stdout);
    let report: Value = serde_json::from_str(&out.stdout).unwrap();
    let id = report["firstBroken"]["id"].as_i64().unwrap();
    assert!(id == 3 || id == 4, "{report}");

    // Reordered: rows 2 and 5 swap places.
    let reordered = copy_dir(dir.path());
    open_with_key(reordered.path())
        .execute_batch(
            "UPDATE audit SET id = -5 WHERE id = 5; UPDATE audit SET id = 5 WHERE id = 2; UPDATE audit SET id = 2 WHERE id = -5;",
        )
        .unwrap();
    let out = verify(reordered.path()).await;
    assert_eq!(out.code, Some(1), "{}", out.stdout);
    let report: Value = serde_json::from_str(&out.stdout).unwrap();
    assert_eq!(report["firstBroken"]["id"], 2, "{report}");

    // Cut off: the newest rows deleted. The chain itself is still whole; the
    // head kept beside the database gives it away.
    let cut = copy_dir(dir.path());
    open_with_key(cut.path())
        .execute(&format!("DELETE FROM audit WHERE id > {}", n - 2), [])
        .unwrap();
    let out = verify(cut.path()).await;
    assert_eq!(out.code, Some(1), "{}", out.stdout);
    let report: Value = serde_json::from_str(&out.stdout).unwrap();
    assert!(
        report["firstBroken"]["kind"]
            .as_str()
            .unwrap()
            .contains("runcat"),
        "{report}"
    );

    // The untouched trail still verifies, and health says so.
    let s = Server::start_in(dir, Options::default().with_probe()).await;
    let health = s.read("m365://health").await;
    assert_eq!(health["auditChain"]["status"], "verified", "{health}");
    assert_eq!(health["database"]["encrypted"], true);
    s.finish().await;
}
