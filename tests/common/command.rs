//! How the end-to-end suites run a binary of this workspace: a clean
//! environment pointing at one data folder, the sentinel secret as the
//! client secret, and one compiled-component cache for every test.
//! Included by `tests/e2e/harness.rs` and `tests/harness/harness.rs`.

use std::path::{Path, PathBuf};

/// A distinctive client secret that must never appear in any output.
pub const SENTINEL_SECRET: &str = "Sentinel~ClientSecret~9f3b71";

/// One compiled-component cache for the whole suite, so each server start
/// after the first loads plugins without compiling them.
pub fn shared_cache() -> PathBuf {
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join("e2e-cache");
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// `bin` with the environment of a test on the data directory `dir`.
pub fn base_command(bin: &Path, dir: &Path) -> tokio::process::Command {
    let mut cmd = tokio::process::Command::new(bin);
    cmd.env_clear()
        .env("PATH", std::env::var("PATH").unwrap_or_default())
        .env("HOME", dir)
        .env("DATABASE_PATH", dir.join("data/m365_admin.db"))
        .env("M365_CACHE_DIR", shared_cache())
        .env("M365_PLUGIN_DIR", dir.join("plugins"))
        .env("LOG_FILE", dir.join("server.log"))
        .env("LOG_LEVEL", "debug")
        .env("AZURE_CLIENT_SECRET", SENTINEL_SECRET)
        .env("M365_SANDBOX_MAILBOX_DELAY_MS", "1500")
        .env("M365_RETRY_BASE_MS", "100");
    // Under `scripts/coverage` every server writes its own profile.
    if let Some(profile) = std::env::var_os("LLVM_PROFILE_FILE") {
        cmd.env("LLVM_PROFILE_FILE", profile);
    }
    cmd
}

/// Runs `bin ARGS` (not a server) on the data directory `dir`; what it
/// printed is also kept in `dir/cli.log`.
pub async fn run(bin: &Path, dir: &Path, args: &[&str], env: &[(&str, &str)]) -> Cli {
    let mut cmd = base_command(bin, dir);
    cmd.args(args).stdin(std::process::Stdio::null());
    for (k, v) in env {
        cmd.env(k, v);
    }
    let out = cmd.output().await.unwrap();
    let cli = Cli {
        code: out.status.code(),
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
    };
    let mut log = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(dir.join("cli.log"))
        .unwrap();
    use std::io::Write;
    writeln!(log, "$ {args:?}\n{}\n{}", cli.stdout, cli.stderr).unwrap();
    cli
}

pub struct Cli {
    pub code: Option<i32>,
    pub stdout: String,
    pub stderr: String,
}
