//! The versioned contract as an administrator meets it: a plugin built for
//! `m365:plugin@0.1.0` before components carried a stamp still installs and
//! serves; a component built for a contract its manifest does not name, or
//! for one this host does not serve, is refused at `plugins add` with both
//! versions named and nothing installed.

use crate::harness::*;
use serde_json::json;
use std::path::{Path, PathBuf};

/// The hello example of commit 6901942, built before the SDK stamped
/// components (tests/fixtures/wit-0.1.0/hello/README.md).
fn unstamped_hello() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../tests/fixtures/wit-0.1.0/hello")
}

/// The probe test plugin, stamped by today's SDK, rewritten to claim the
/// contract 0.9.0 throughout (stamp and interface names, as a future SDK
/// would build it), with `wit` in its manifest set to `manifest_wit`.
fn probe_built_for_0_9_0(into: &Path, manifest_wit: &str) -> PathBuf {
    let mut wasm = std::fs::read(env!("M365_TEST_PLUGIN_PROBE_WASM")).unwrap();
    let mut edits = vec![(
        "m365-plugin-wit0.1.0".to_string(),
        "m365-plugin-wit0.9.0".to_string(),
    )];
    for interface in ["types", "host", "store", "addins", "tools"] {
        edits.push((
            format!("m365:plugin/{interface}@0.1.0"),
            format!("m365:plugin/{interface}@0.9.0"),
        ));
    }
    let mut stamp_rewritten = false;
    for (from, to) in &edits {
        let hits = replace_all(&mut wasm, from.as_bytes(), to.as_bytes());
        stamp_rewritten |= from.starts_with("m365-plugin-wit") && hits > 0;
    }
    assert!(stamp_rewritten, "the probe carries the SDK's stamp");
    let dir = into.join("probe");
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(dir.join("probe.wasm"), wasm).unwrap();
    let manifest = std::fs::read_to_string(env!("M365_TEST_PLUGIN_PROBE_MANIFEST")).unwrap();
    assert!(manifest.contains("wit = \"0.1.0\""), "{manifest}");
    std::fs::write(
        dir.join("manifest.toml"),
        manifest.replace("wit = \"0.1.0\"", &format!("wit = \"{manifest_wit}\"")),
    )
    .unwrap();
    dir
}

/// Replaces every `from` in `bytes` with `to` (same length, so the component
/// stays well-formed) and says how many there were.
fn replace_all(bytes: &mut [u8], from: &[u8], to: &[u8]) -> usize {
    assert_eq!(from.len(), to.len());
    let mut hits = 0;
    let mut i = 0;
    while i + from.len() <= bytes.len() {
        if &bytes[i..i + from.len()] == from {
            bytes[i..i + from.len()].copy_from_slice(to);
            hits += 1;
            i += from.len();
        } else {
            i += 1;
        }
    }
    hits
}

#[tokio::test]
async fn a_plugin_built_for_0_1_0_before_the_stamp_is_installed_and_serves() {
    let dir = tempfile::tempdir().unwrap();
    let added = cli(
        dir.path(),
        &[
            "plugins",
            "add",
            unstamped_hello().to_str().unwrap(),
            "--yes",
            "--sandbox",
        ],
        &[],
    )
    .await;
    assert_eq!(added.code, Some(0), "{}", added.stderr);
    assert!(
        added.stderr.contains("Plugin hello 0.1.0 (WIT 0.1.0)"),
        "the review names the contract: {}",
        added.stderr
    );

    let s = Server::start_in(dir, Options::default()).await;
    let r = s.ok("hello", json!({"name": "Ann"})).await;
    assert_eq!(r["message"], "Hello, Ann!");
    let health = s.read("m365://health").await;
    assert_eq!(health["pluginsNotLoaded"], json!([]), "{health}");
    s.finish().await;
}

#[tokio::test]
async fn a_component_built_for_another_contract_than_its_manifest_says_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let build = tempfile::tempdir().unwrap();
    let probe = probe_built_for_0_9_0(build.path(), "0.1.0");
    let out = cli(
        dir.path(),
        &[
            "plugins",
            "add",
            probe.to_str().unwrap(),
            "--yes",
            "--sandbox",
        ],
        &[],
    )
    .await;
    assert_ne!(out.code, Some(0));
    assert!(out.stderr.contains("PLUGIN_001"), "{}", out.stderr);
    assert!(
        out.stderr.contains("wit = \"0.1.0\"")
            && out.stderr.contains("m365:plugin@0.9.0")
            && out.stderr.contains("stamp"),
        "names both versions and what said so: {}",
        out.stderr
    );
    assert!(!dir.path().join("plugins/probe").exists());
}

#[tokio::test]
async fn a_plugin_for_a_contract_this_host_does_not_serve_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let build = tempfile::tempdir().unwrap();
    let probe = probe_built_for_0_9_0(build.path(), "0.9.0");
    let out = cli(
        dir.path(),
        &[
            "plugins",
            "add",
            probe.to_str().unwrap(),
            "--yes",
            "--sandbox",
        ],
        &[],
    )
    .await;
    assert_ne!(out.code, Some(0));
    assert!(out.stderr.contains("PLUGIN_001"), "{}", out.stderr);
    assert!(
        out.stderr.contains("m365:plugin@0.9.0") && out.stderr.contains("serves m365:plugin 0.1.0"),
        "names the version and the range served: {}",
        out.stderr
    );
    assert!(!dir.path().join("plugins/probe").exists());
}
