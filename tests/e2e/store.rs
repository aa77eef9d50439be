//! The encrypted database as a user meets it: plugins' documents stay in
//! their own namespaces and keep their versions; the file on disk gives
//! nothing away without the key; a wrong or missing key stops the server
//! before it touches anything; a crash keeps every acknowledged write; a
//! backup taken while serving restores.

use crate::harness::*;
use serde_json::{Value, json};
use std::path::Path;

/// Distinctive plaintext that must never be readable on disk.
const WIRING_TEXT: &str = "Beneficiary ZEBRAQUOKKA account 4471-9920-3318";
const USER_NAME: &str = "Quillon Marchetti-Vasquez";

#[tokio::test]
async fn a_plugin_never_sees_another_plugins_documents() {
    let s = Server::start(Options::default().with_probe().with_snoop()).await;
    let put = s
        .ok(
            "store_put",
            json!({"key": "wiring/acme", "value": WIRING_TEXT}),
        )
        .await;
    assert_eq!(put["version"], 1);
    s.ok("store_append", json!({"key": "sent", "value": "to acme"}))
        .await;

    // Same key, same prefix, same log name: the snoop finds nothing.
    let got = s.ok("snoop_get", json!({"key": "wiring/acme"})).await;
    assert_eq!(got["document"], Value::Null, "snoop read probe's document");
    let listed = s.ok("snoop_list", json!({"key": ""})).await;
    assert_eq!(listed["keys"], json!([]));
    let logged = s.ok("snoop_list", json!({"key": "sent"})).await;
    assert_eq!(logged["logEntries"], 0);

    // Its own write under the same key does not touch the probe's.
    s.ok(
        "snoop_put",
        json!({"key": "wiring/acme", "value": "snoop's"}),
    )
    .await;
    let mine = s.ok("store_get", json!({"key": "wiring/acme"})).await;
    assert_eq!(mine["document"]["value"], WIRING_TEXT);
    assert_eq!(mine["document"]["version"], 1);
    s.finish().await;
}

#[tokio::test]
async fn a_stale_version_is_refused_and_nothing_is_lost() {
    let s = Server::start(Options::default().with_probe()).await;
    s.ok(
        "store_put",
        json!({"key": "t/1", "value": "first", "expected": 0}),
    )
    .await;
    s.ok(
        "store_put",
        json!({"key": "t/1", "value": "second", "expected": 1}),
    )
    .await;
    // Someone still holding version 1 tries to write.
    let e = s
        .err(
            "store_put",
            json!({"key": "t/1", "value": "stale", "expected": 1}),
        )
        .await;
    assert_eq!(e["code"], "STORE_001");
    let msg = e["message"].as_str().unwrap();
    assert!(msg.contains("t/1") && msg.contains('2'), "{msg}");
    // Creating what exists is the same conflict.
    let e = s
        .err(
            "store_put",
            json!({"key": "t/1", "value": "new", "expected": 0}),
        )
        .await;
    assert_eq!(e["code"], "STORE_001");

    let now = s.ok("store_get", json!({"key": "t/1"})).await;
    assert_eq!(now["document"]["value"], "second");
    assert_eq!(now["document"]["version"], 2);
    let history = s.ok("store_history", json!({"key": "t/1"})).await;
    let values: Vec<&str> = history["documents"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| d["value"].as_str().unwrap())
        .collect();
    assert_eq!(values, ["first"]);

    // Deleting keeps the history; a stale delete is refused too.
    let e = s
        .err("store_delete", json!({"key": "t/1", "expected": 1}))
        .await;
    assert_eq!(e["code"], "STORE_001");
    s.ok("store_delete", json!({"key": "t/1", "expected": 2}))
        .await;
    assert_eq!(
        s.ok("store_get", json!({"key": "t/1"})).await["document"],
        Value::Null
    );
    let history = s.ok("store_history", json!({"key": "t/1"})).await;
    let docs = history["documents"].as_array().unwrap();
    assert_eq!(docs.len(), 3, "{history}");
    assert_eq!(docs[0]["deleted"], true);
    assert_eq!(docs[1]["value"], "second");
    s.finish().await;
}

#[tokio::test]
async fn the_store_is_refused_to_a_plugin_without_the_grant() {
    let s =
        Server::start(Options::default().probe_manifest(|m| m.replace("store = true", ""))).await;
    let e = s.err("store_put", json!({"key": "k", "value": "v"})).await;
    assert_eq!(e["code"], "PLUGIN_001");
    assert!(
        e["message"].as_str().unwrap().contains("store = true"),
        "{e}"
    );
    let e = s.err("store_get", json!({"key": "k"})).await;
    assert_eq!(e["code"], "PLUGIN_001");
    // Other tools of the same plugin still work.
    s.ok("echo", json!({"value": 1})).await;
    s.finish().await;
}

#[tokio::test]
async fn oversized_documents_are_refused_with_the_limit() {
    let s = Server::start(Options::default().with_probe()).await;
    let big = "x".repeat(300 * 1024);
    let e = s
        .err("store_put", json!({"key": "big", "value": big}))
        .await;
    assert_eq!(e["code"], "STORE_001");
    assert!(e["message"].as_str().unwrap().contains("262144"), "{e}");
    assert_eq!(
        s.ok("store_get", json!({"key": "big"})).await["document"],
        Value::Null
    );
    s.finish().await;
}

fn files_contain(dir: &Path, needle: &str) -> Vec<String> {
    let mut hits = Vec::new();
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        let name = path.file_name().unwrap().to_string_lossy().into_owned();
        if path.is_file() && name.starts_with("m365_admin.db") {
            let bytes = std::fs::read(&path).unwrap();
            if bytes.windows(needle.len()).any(|w| w == needle.as_bytes()) {
                hits.push(name);
            }
        }
    }
    hits
}

#[tokio::test]
async fn the_database_file_gives_nothing_away_without_the_key() {
    let s = Server::start(Options::default().with_probe()).await;
    s.ok("store_put", json!({"key": "wiring", "value": WIRING_TEXT}))
        .await;
    s.ok(
        "create_user",
        json!({"email": "quillon@libertygoldsilver.com", "displayName": USER_NAME,
               "password": SENTINEL_PASSWORD, "license": "BusinessBasic", "waitForMailboxSeconds": 0}),
    )
    .await;
    // Scan while the server runs (WAL file present) and after it stopped.
    let data = s.dir.path().join("data");
    for needle in [WIRING_TEXT, USER_NAME, SENTINEL_PASSWORD, "SQLite format 3"] {
        assert_eq!(
            files_contain(&data, needle),
            Vec::<String>::new(),
            "{needle}"
        );
    }
    let dir = s.stop().await;
    let data = dir.path().join("data");
    for needle in [WIRING_TEXT, USER_NAME, SENTINEL_PASSWORD, "SQLite format 3"] {
        assert_eq!(
            files_contain(&data, needle),
            Vec::<String>::new(),
            "{needle}"
        );
    }

    // Plain SQLite reads nothing; SQLCipher with another key reads nothing.
    let plain = rusqlite::Connection::open(db_path(dir.path())).unwrap();
    assert!(
        plain
            .query_row("SELECT count(*) FROM sqlite_master", [], |r| r
                .get::<_, i64>(0))
            .is_err()
    );
    let wrong = rusqlite::Connection::open(db_path(dir.path())).unwrap();
    wrong.pragma_update(None, "key", "not-the-key").unwrap();
    assert!(
        wrong
            .query_row("SELECT count(*) FROM sqlite_master", [], |r| r
                .get::<_, i64>(0))
            .is_err()
    );
    // With the right key the data is there (the scan above proves encryption, not loss).
    let right = rusqlite::Connection::open(db_path(dir.path())).unwrap();
    right
        .execute_batch(&format!(
            "PRAGMA key = \"x'{}'\";",
            sandbox_db_key(dir.path())
        ))
        .unwrap();
    let n: i64 = right
        .query_row("SELECT count(*) FROM documents", [], |r| r.get(0))
        .unwrap();
    assert_eq!(n, 1);
}

async fn serve_once(dir: &Path, env: &[(&str, &str)], sandbox: bool) -> Cli {
    let args: &[&str] = if sandbox {
        &["serve", "--sandbox"]
    } else {
        &["serve"]
    };
    cli(dir, args, env).await
}

#[tokio::test]
async fn a_wrong_missing_or_unsafe_key_stops_the_server_with_store_001() {
    // A first start creates the database with the sandbox's generated key.
    let s = Server::start(Options::default().with_probe()).await;
    s.ok("store_put", json!({"key": "keep", "value": "me"}))
        .await;
    let dir = s.stop().await;
    let db = db_path(dir.path());
    let before = std::fs::read(&db).unwrap();

    let wrong = serve_once(dir.path(), &[("DB_ENCRYPTION_KEY", &"ab".repeat(32))], true).await;
    assert_ne!(wrong.code, Some(0));
    assert!(wrong.stderr.contains("STORE_001"), "{}", wrong.stderr);
    assert!(
        wrong.stderr.contains("DB_ENCRYPTION_KEY"),
        "{}",
        wrong.stderr
    );
    assert!(
        !wrong.stderr.contains(&"ab".repeat(32)),
        "the key was printed"
    );
    assert_eq!(std::fs::read(&db).unwrap(), before, "the file was changed");

    // A live start with no key at all.
    let live = serve_once(
        dir.path(),
        &[("AZURE_TENANT_ID", "t"), ("AZURE_CLIENT_ID", "c")],
        false,
    )
    .await;
    assert_ne!(live.code, Some(0));
    assert!(live.stderr.contains("STORE_001"), "{}", live.stderr);
    assert!(live.stderr.contains("DB_ENCRYPTION_KEY"), "{}", live.stderr);

    // A key file others can read.
    let key_file = dir.path().join("db.key");
    std::fs::write(&key_file, sandbox_db_key(dir.path())).unwrap();
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(&key_file, std::fs::Permissions::from_mode(0o644)).unwrap();
    let unsafe_file = serve_once(
        dir.path(),
        &[("DB_ENCRYPTION_KEY_FILE", key_file.to_str().unwrap())],
        true,
    )
    .await;
    assert_ne!(unsafe_file.code, Some(0));
    assert!(
        unsafe_file.stderr.contains("STORE_001"),
        "{}",
        unsafe_file.stderr
    );
    assert!(
        unsafe_file.stderr.contains("chmod 600"),
        "{}",
        unsafe_file.stderr
    );
    // ...and the same file, made private, opens it.
    std::fs::set_permissions(&key_file, std::fs::Permissions::from_mode(0o600)).unwrap();
    let ok = serve_once(
        dir.path(),
        &[("DB_ENCRYPTION_KEY_FILE", key_file.to_str().unwrap())],
        true,
    )
    .await;
    assert_eq!(ok.code, Some(0), "{}", ok.stderr);

    // A plain SQLite file where the database should be.
    let plain_dir = tempfile::tempdir().unwrap();
    let plain_db = db_path(plain_dir.path());
    std::fs::create_dir_all(plain_db.parent().unwrap()).unwrap();
    rusqlite::Connection::open(&plain_db)
        .unwrap()
        .execute_batch("CREATE TABLE notes(x); INSERT INTO notes VALUES ('mine');")
        .unwrap();
    let plain_before = std::fs::read(&plain_db).unwrap();
    let plain = serve_once(plain_dir.path(), &[], true).await;
    assert_ne!(plain.code, Some(0));
    assert!(plain.stderr.contains("STORE_001"), "{}", plain.stderr);
    assert!(plain.stderr.contains("unencrypted"), "{}", plain.stderr);
    assert_eq!(std::fs::read(&plain_db).unwrap(), plain_before);
}

#[tokio::test]
async fn a_killed_server_keeps_every_acknowledged_write() {
    let s = Server::start(Options::default().with_probe()).await;
    let s = std::sync::Arc::new(s);
    let acknowledged = std::sync::Arc::new(std::sync::Mutex::new(Vec::<String>::new()));
    // Four writers in parallel; the server is killed while they write.
    let mut writers = Vec::new();
    for w in 0..4 {
        let s = s.clone();
        let acknowledged = acknowledged.clone();
        writers.push(tokio::spawn(async move {
            for i in 0.. {
                let key = format!("w{w}/{i:05}");
                let args = json!({"key": key, "value": format!("value of {key}")});
                let serde_json::Value::Object(map) = args else {
                    unreachable!()
                };
                let r = s
                    .client
                    .call_tool(
                        rmcp::model::CallToolRequestParams::new("store_put").with_arguments(map),
                    )
                    .await;
                match r {
                    Ok(r) if r.is_error != Some(true) => acknowledged.lock().unwrap().push(key),
                    _ => break,
                }
            }
        }));
    }
    while acknowledged.lock().unwrap().len() < 60 {
        tokio::time::sleep(std::time::Duration::from_millis(5)).await;
    }
    // Killed with writes in flight: the writers see their calls fail.
    s.kill9_now();
    for w in writers {
        w.await.unwrap();
    }
    let s = std::sync::Arc::into_inner(s).expect("writers stopped");
    let dir = s.into_dir();
    let acknowledged = acknowledged.lock().unwrap().clone();
    assert!(acknowledged.len() >= 60);

    let verify = cli(dir.path(), &["audit", "verify", "--sandbox"], &[]).await;
    assert_eq!(verify.code, Some(0), "{}{}", verify.stdout, verify.stderr);

    let s = Server::start_in(dir, Options::default().with_probe()).await;
    let mut missing = Vec::new();
    for key in &acknowledged {
        let got = s.ok("store_get", json!({"key": key})).await;
        if got["document"]["value"] != json!(format!("value of {key}")) {
            missing.push(key.clone());
        }
    }
    assert!(missing.is_empty(), "acknowledged but lost: {missing:?}");
    let health = s.read("m365://health").await;
    assert_eq!(health["database"]["status"], "ok", "{health}");
    assert_eq!(health["auditChain"]["status"], "verified", "{health}");
    s.finish().await;
}

#[tokio::test]
async fn a_backup_taken_while_serving_restores() {
    let s = Server::start(Options::default().with_probe()).await;
    s.ok(
        "store_put",
        json!({"key": "before", "value": "in the backup"}),
    )
    .await;
    let backup = s.dir.path().join("backup.db");
    let out = cli(
        s.dir.path(),
        &["db", "backup", backup.to_str().unwrap(), "--sandbox"],
        &[],
    )
    .await;
    assert_eq!(out.code, Some(0), "{}", out.stderr);
    let backup_bytes = std::fs::read(&backup).unwrap();
    assert!(
        !backup_bytes.starts_with(b"SQLite format 3"),
        "backup not encrypted"
    );
    assert!(
        !backup_bytes.windows(13).any(|w| w == b"in the backup"),
        "plaintext in the backup"
    );
    s.ok(
        "store_put",
        json!({"key": "after", "value": "not in the backup"}),
    )
    .await;
    // Not while the server is using the database.
    let busy = cli(
        s.dir.path(),
        &["db", "restore", backup.to_str().unwrap(), "--sandbox"],
        &[],
    )
    .await;
    assert_ne!(busy.code, Some(0));
    assert!(busy.stderr.contains("stop it"), "{}", busy.stderr);
    assert_eq!(
        s.ok("store_get", json!({"key": "after"})).await["document"]["value"],
        "not in the backup"
    );
    let dir = s.stop().await;

    // Refused with a key that does not open it, and nothing changes.
    let db = db_path(dir.path());
    let current = std::fs::read(&db).unwrap();
    let wrong = cli(
        dir.path(),
        &["db", "restore", backup.to_str().unwrap(), "--sandbox"],
        &[("DB_ENCRYPTION_KEY", &"cd".repeat(32))],
    )
    .await;
    assert_ne!(wrong.code, Some(0));
    assert!(wrong.stderr.contains("STORE_001"), "{}", wrong.stderr);
    assert_eq!(std::fs::read(&db).unwrap(), current);

    let restored = cli(
        dir.path(),
        &["db", "restore", backup.to_str().unwrap(), "--sandbox"],
        &[],
    )
    .await;
    assert_eq!(restored.code, Some(0), "{}", restored.stderr);
    let kept: Vec<_> = std::fs::read_dir(dir.path().join("data"))
        .unwrap()
        .filter_map(|e| e.ok())
        .filter(|e| e.file_name().to_string_lossy().contains("before-restore"))
        .collect();
    assert!(!kept.is_empty(), "the replaced database was not kept");

    let s = Server::start_in(dir, Options::default().with_probe()).await;
    assert_eq!(
        s.ok("store_get", json!({"key": "before"})).await["document"]["value"],
        "in the backup"
    );
    assert_eq!(
        s.ok("store_get", json!({"key": "after"})).await["document"],
        Value::Null
    );
    let dir = s.stop().await;
    let verify = cli(dir.path(), &["audit", "verify", "--sandbox"], &[]).await;
    assert_eq!(verify.code, Some(0), "{}{}", verify.stdout, verify.stderr);
}

#[tokio::test]
async fn serve_takes_a_verified_daily_backup_and_prunes_old_ones() {
    let dir = tempfile::tempdir().unwrap();
    // A backup from 40 days ago, beyond the 30 kept.
    let backups = dir.path().join("data/backups");
    std::fs::create_dir_all(&backups).unwrap();
    let old = backups.join("m365_admin-20261016T000000Z.db");
    std::fs::write(&old, b"old").unwrap();
    let touched = std::process::Command::new("touch")
        .args(["-d", "40 days ago"])
        .arg(&old)
        .status()
        .unwrap();
    assert!(touched.success());

    let s = Server::start_in(dir, Options::default().with_probe()).await;
    let mut health = Value::Null;
    for _ in 0..50 {
        health = s.read("m365://health").await;
        if health["lastBackup"]["verified"] == true {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    assert_eq!(health["lastBackup"]["verified"], true, "{health}");
    let file = std::path::PathBuf::from(health["lastBackup"]["file"].as_str().unwrap());
    assert!(
        file.starts_with(s.dir.path().join("data/backups")),
        "{}",
        file.display()
    );
    let bytes = std::fs::read(&file).unwrap();
    assert!(
        !bytes.starts_with(b"SQLite format 3"),
        "backup not encrypted"
    );
    assert!(!old.exists(), "the 40-day-old backup was kept");
    // The backup restores like one taken by hand.
    s.ok("store_put", json!({"key": "after", "value": "x"}))
        .await;
    let dir = s.stop().await;
    let out = cli(
        dir.path(),
        &["db", "restore", file.to_str().unwrap(), "--sandbox"],
        &[],
    )
    .await;
    assert_eq!(out.code, Some(0), "{}", out.stderr);
}
