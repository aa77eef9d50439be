//! The plugin lifecycle as an administrator lives it, with the server
//! running throughout: build the hello template, approve and install it,
//! see its tool appear; swap in a new build; tamper with it or widen its
//! manifest and see it refused until approved again; remove it.

use crate::harness::*;
use serde_json::{Value, json};
use std::path::{Path, PathBuf};
use std::sync::atomic::Ordering;
use std::time::Duration;

/// Builds the hello template as the doc says (`cargo build --release` in
/// its folder) into a copy of it, with `greeting` baked in.
fn build_hello(into: &Path, greeting: &str) -> PathBuf {
    let template = Path::new(env!("CARGO_MANIFEST_DIR")).join("../examples/hello-plugin");
    let crate_dir = into.join("hello-plugin");
    std::fs::create_dir_all(crate_dir.join("src")).unwrap();
    std::fs::create_dir_all(crate_dir.join(".cargo")).unwrap();
    for f in [
        "Cargo.toml",
        "manifest.toml",
        "src/lib.rs",
        ".cargo/config.toml",
    ] {
        let text = std::fs::read_to_string(template.join(f)).unwrap();
        // The copy lives elsewhere: point it at this checkout's SDK.
        let text = text.replace(
            "path = \"../../plugins/sdk\"",
            &format!("path = {:?}", template.join("../../plugins/sdk")),
        );
        std::fs::write(crate_dir.join(f), text).unwrap();
    }
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    let target = Path::new(env!("CARGO_TARGET_TMPDIR")).join("hello-plugin");
    let out = std::process::Command::new(cargo)
        .args(["build", "--release"])
        .current_dir(&crate_dir)
        .env("CARGO_TARGET_DIR", &target)
        .env("HELLO_GREETING", greeting)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    // Where `cargo build --release` leaves it inside the crate, for plugins add.
    let built = crate_dir.join("target/wasm32-wasip2/release");
    std::fs::create_dir_all(&built).unwrap();
    std::fs::copy(
        target.join("wasm32-wasip2/release/hello.wasm"),
        built.join("hello.wasm"),
    )
    .unwrap();
    crate_dir
}

async fn wait_for(what: &str, mut check: impl AsyncFnMut() -> bool) {
    for _ in 0..100 {
        if check().await {
            return;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("timed out waiting for {what}");
}

async fn tool_names(s: &Server) -> Vec<String> {
    s.client
        .list_all_tools()
        .await
        .unwrap()
        .into_iter()
        .map(|t| t.name.to_string())
        .collect()
}

async fn not_loaded_reason(s: &Server, name: &str) -> Option<String> {
    let health = s.read("m365://health").await;
    health["pluginsNotLoaded"]
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["source"].as_str().unwrap_or("").ends_with(name))
        .map(|p| p["reason"].as_str().unwrap_or("").to_string())
}

#[tokio::test]
async fn plugins_are_added_swapped_refused_and_removed_while_serving() {
    let build = tempfile::tempdir().unwrap();
    let hello = build_hello(build.path(), "Hello");

    let s = Server::start(Options::default().env("M365_PLUGIN_POLL_MS", "100")).await;
    let changed = || s.client.service().tools_changed.load(Ordering::SeqCst);
    assert!(!tool_names(&s).await.contains(&"hello".to_string()));

    // Without approval nothing is installed.
    let refused = cli(
        s.dir.path(),
        &["plugins", "add", hello.to_str().unwrap(), "--sandbox"],
        &[],
    )
    .await;
    assert_ne!(refused.code, Some(0));
    assert!(refused.stderr.contains("CONFIRM_001"), "{}", refused.stderr);
    assert!(
        refused.stderr.contains("hello") && refused.stderr.contains("reads"),
        "the review is shown: {}",
        refused.stderr
    );
    assert!(!s.dir.path().join("plugins/hello").exists());

    // Approved: installed, the client is told, the tool works.
    let before = changed();
    approve(s.dir.path(), &hello).await;
    wait_for("list_changed after add", async || changed() > before).await;
    assert!(tool_names(&s).await.contains(&"hello".to_string()));
    let r = s.ok("hello", json!({"name": "Ann"})).await;
    assert_eq!(r["message"], "Hello, Ann!");

    // A new build replaces it: new calls get the new behaviour.
    let v2 = build_hello(tempfile::tempdir().unwrap().keep().as_path(), "Howdy");
    let before = changed();
    approve(s.dir.path(), &v2).await;
    wait_for("list_changed after swap", async || changed() > before).await;
    wait_for("the new version", async || {
        s.call("hello", json!({"name": "Ann"}))
            .await
            .structured_content
            .as_ref()
            .map(|v| v["message"].clone())
            == Some(json!("Howdy, Ann!"))
    })
    .await;

    // One byte changed in the installed component: refused, health says why.
    let installed = s.dir.path().join("plugins/hello/hello.wasm");
    let mut bytes = std::fs::read(&installed).unwrap();
    let last = bytes.len() - 1;
    bytes[last] ^= 0x01;
    std::fs::write(&installed, &bytes).unwrap();
    wait_for("the tampered plugin to be dropped", async || {
        !tool_names(&s).await.contains(&"hello".to_string())
    })
    .await;
    let why = not_loaded_reason(&s, "hello")
        .await
        .expect("listed as not loaded");
    assert!(why.contains("changed since it was approved"), "{why}");
    let e = s.err("hello", json!({"name": "Ann"})).await;
    assert_eq!(e["code"], "INPUT_001");
    let verify = cli(s.dir.path(), &["plugins", "verify", "--sandbox"], &[]).await;
    assert_eq!(verify.code, Some(1), "{}", verify.stdout);

    // The approved bytes back: loaded again. Then its manifest widened:
    // refused until approved again.
    bytes[last] ^= 0x01;
    std::fs::write(&installed, &bytes).unwrap();
    wait_for("the restored plugin", async || {
        tool_names(&s).await.contains(&"hello".to_string())
    })
    .await;
    let manifest = s.dir.path().join("plugins/hello/manifest.toml");
    let text = std::fs::read_to_string(&manifest).unwrap();
    std::fs::write(
        &manifest,
        format!("{text}\n[grants]\ngraph = [\"DELETE /users/*\"]\n"),
    )
    .unwrap();
    wait_for("the widened plugin to be dropped", async || {
        !tool_names(&s).await.contains(&"hello".to_string())
    })
    .await;
    let why = not_loaded_reason(&s, "hello")
        .await
        .expect("listed as not loaded");
    assert!(
        why.contains("more than was approved") && why.contains("DELETE /users/*"),
        "{why}"
    );
    approve(s.dir.path(), &s.dir.path().join("plugins/hello")).await;
    wait_for("the re-approved plugin", async || {
        tool_names(&s).await.contains(&"hello".to_string())
    })
    .await;

    let listed = cli(s.dir.path(), &["plugins", "list", "--sandbox"], &[]).await;
    let listed: Value = serde_json::from_str(&listed.stdout).unwrap();
    let entry = listed["plugins"]
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["name"] == "hello")
        .unwrap()
        .clone();
    assert_eq!(entry["state"], "loaded");
    assert_eq!(entry["tools"], json!(["hello"]));
    assert_eq!(entry["grants"], json!(["graph:DELETE /users/*"]));

    // Removed: gone from the list; calling it is a clear error.
    let before = changed();
    let out = cli(
        s.dir.path(),
        &["plugins", "remove", "hello", "--sandbox"],
        &[],
    )
    .await;
    assert_eq!(out.code, Some(0), "{}", out.stderr);
    wait_for("list_changed after remove", async || changed() > before).await;
    assert!(!tool_names(&s).await.contains(&"hello".to_string()));
    let e = s.err("hello", json!({"name": "Ann"})).await;
    assert_eq!(e["code"], "INPUT_001");
    assert!(
        e["message"].as_str().unwrap().contains("no tool named"),
        "{e}"
    );
    let out = cli(
        s.dir.path(),
        &["plugins", "remove", "users", "--sandbox"],
        &[],
    )
    .await;
    assert_ne!(out.code, Some(0));
    assert!(out.stderr.contains("built into"), "{}", out.stderr);
    s.finish().await;
}
