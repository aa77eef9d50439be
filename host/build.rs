//! Builds the guest workspace (`plugins/`) to wasm32-wasip2 components so that
//! `cargo run` and `cargo test` on a fresh clone need no other step.
//!
//! The inner cargo gets its own target directory (no lock shared with the
//! outer build) and none of the outer build's rustc flags or wrappers. The
//! bundled plugins (every `plugins/<name>/manifest.toml` outside `sdk` and
//! `testing`) are embedded into the binary through a generated `bundled.rs`;
//! the test plugins (`plugins/testing/<name>`) are exported to the end-to-end
//! tests as `M365_TEST_PLUGIN_<NAME>_{WASM,MANIFEST}` paths. Members without
//! a manifest (the SDK, the templating library) are libraries, not plugins.

use std::env;
use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::process::Command;

const TARGET: &str = "wasm32-wasip2";

fn main() {
    let manifest_dir = PathBuf::from(env::var("CARGO_MANIFEST_DIR").unwrap());
    let root = manifest_dir.parent().unwrap().to_path_buf();
    let plugins = root.join("plugins");
    let out_dir = PathBuf::from(env::var("OUT_DIR").unwrap());

    watch(&root.join("wit"));
    watch(&plugins.join("Cargo.toml"));
    watch(&plugins.join("Cargo.lock"));

    ensure_target();

    let target_dir = guest_target_dir(&out_dir);
    let cargo = env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    let mut cmd = Command::new(cargo);
    cmd.current_dir(&plugins)
        .args(["build", "--release", "--workspace", "--target", TARGET])
        .env("CARGO_TARGET_DIR", &target_dir);
    for var in [
        "CARGO_ENCODED_RUSTFLAGS",
        "RUSTFLAGS",
        "RUSTC_WRAPPER",
        "RUSTC_WORKSPACE_WRAPPER",
        "CLIPPY_ARGS",
        "CARGO_BUILD_TARGET",
        "CARGO_PRIMARY_PACKAGE",
        "CARGO_LLVM_COV",
        "LLVM_PROFILE_FILE",
    ] {
        cmd.env_remove(var);
    }
    let status = cmd
        .status()
        .expect("could not run cargo to build the plugins");
    if !status.success() {
        panic!(
            "building the plugins in {} failed (see above)",
            plugins.display()
        );
    }
    let artifacts = target_dir.join(TARGET).join("release");

    let mut bundled = String::from(
        "/// Plugins built from this repository and embedded in the binary.\n\
         pub const BUNDLED: &[BundledPlugin] = &[\n",
    );
    let members = workspace_members(&plugins);
    // Library members (the SDK, templating) have no manifest, so they are
    // not bundled, but the plugins compile them in.
    for member in &members {
        watch(&plugins.join(member));
    }
    for dir in plugin_dirs(&plugins) {
        let name = dir.file_name().unwrap().to_string_lossy().to_string();
        // A crate joins the build (and the binary) by being a member of the
        // plugin workspace; one still being written may sit beside it.
        if !members.iter().any(|m| m == &name) {
            println!(
                "cargo:warning=plugins/{name} has a manifest but is not a workspace member; not bundled"
            );
            continue;
        }
        let wasm = artifacts.join(format!("{}.wasm", name.replace('-', "_")));
        let manifest = dir.join("manifest.toml");
        assert!(wasm.exists(), "plugin {name} built no {}", wasm.display());
        writeln!(
            bundled,
            "    BundledPlugin {{ name: {name:?}, manifest: include_str!({:?}), wasm: include_bytes!({:?}) }},",
            manifest.display().to_string(),
            wasm.display().to_string()
        )
        .unwrap();
    }
    bundled.push_str("];\n");
    std::fs::write(out_dir.join("bundled.rs"), bundled).unwrap();

    let testing = plugins.join("testing");
    if testing.is_dir() {
        for dir in plugin_dirs(&testing) {
            let name = dir.file_name().unwrap().to_string_lossy().to_string();
            let key = name.to_uppercase().replace('-', "_");
            let wasm = artifacts.join(format!("{}.wasm", name.replace('-', "_")));
            println!(
                "cargo:rustc-env=M365_TEST_PLUGIN_{key}_WASM={}",
                wasm.display()
            );
            println!(
                "cargo:rustc-env=M365_TEST_PLUGIN_{key}_MANIFEST={}",
                dir.join("manifest.toml").display()
            );
        }
    }
}

/// The `members` of the plugin workspace, as written (globs unexpanded).
fn workspace_members(plugins: &Path) -> Vec<String> {
    let text = std::fs::read_to_string(plugins.join("Cargo.toml")).unwrap();
    let Some(start) = text.find("members") else {
        return Vec::new();
    };
    let list = &text[start..];
    let list = &list[list.find('[').unwrap() + 1..list.find(']').unwrap()];
    list.split(',')
        .map(|m| m.trim().trim_matches('"').to_string())
        .filter(|m| !m.is_empty())
        .collect()
}

/// Plugin crates: folders with a manifest.toml, watched for changes.
fn plugin_dirs(parent: &Path) -> Vec<PathBuf> {
    let mut dirs: Vec<PathBuf> = std::fs::read_dir(parent)
        .unwrap()
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.join("manifest.toml").is_file())
        .collect();
    dirs.sort();
    for dir in &dirs {
        watch(dir);
    }
    dirs
}

fn watch(path: &Path) {
    if path.exists() {
        println!("cargo:rerun-if-changed={}", path.display());
    }
}

/// `<target>/wasm-plugins`, shared by every profile of the outer build.
fn guest_target_dir(out_dir: &Path) -> PathBuf {
    // OUT_DIR is <target>/[<triple>/]<profile>/build/<pkg>-<hash>/out
    let target = out_dir
        .ancestors()
        .find(|p| p.join("CACHEDIR.TAG").exists())
        .map(Path::to_path_buf)
        .unwrap_or_else(|| out_dir.join("guest"));
    target.join("wasm-plugins")
}

/// A fresh machine lacks the wasm32-wasip2 standard library and
/// `RUSTUP_AUTO_INSTALL=0` keeps rust-toolchain.toml from adding it.
fn ensure_target() {
    let rustc = env::var("RUSTC").unwrap_or_else(|_| "rustc".into());
    let libdir = Command::new(&rustc)
        .args(["--print", "target-libdir", "--target", TARGET])
        .output()
        .ok()
        .filter(|o| o.status.success())
        .map(|o| PathBuf::from(String::from_utf8_lossy(&o.stdout).trim()));
    if libdir.as_deref().is_some_and(Path::is_dir) {
        return;
    }
    let added = Command::new("rustup")
        .args(["target", "add", TARGET])
        .status()
        .is_ok_and(|s| s.success());
    if !added {
        panic!(
            "the {TARGET} target is missing and could not be installed; run `rustup target add {TARGET}` and build again"
        );
    }
}
