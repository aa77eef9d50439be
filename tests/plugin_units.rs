//! The plugins' own unit tests (rendering, sanitizing, parsing helpers).
//! The plugins are a workspace of their own, built to wasm by the host's
//! build script; their pure logic is tested natively here, so that the
//! README's one test command runs them too.

use std::path::Path;
use std::process::Command;

#[test]
fn plugin_unit_tests_pass() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    let target = Path::new(env!("CARGO_TARGET_TMPDIR")).join("plugin-units");
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    let out = Command::new(cargo)
        .args(["test", "--workspace", "--manifest-path"])
        .arg(root.join("plugins/Cargo.toml"))
        .env("CARGO_TARGET_DIR", &target)
        .output()
        .expect("cargo runs");
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        out.status.success(),
        "plugin unit tests failed:\n{stdout}\n{stderr}"
    );
    // Guard against a run that silently found no tests.
    let passed: usize = stdout
        .lines()
        .filter_map(|l| l.strip_prefix("test result: ok. "))
        .filter_map(|l| l.split(' ').next()?.parse::<usize>().ok())
        .sum();
    assert!(passed >= 20, "only {passed} plugin tests ran:\n{stdout}");
}
