//! Runs `m365-harness` the way the e2e suite runs `m365-admin`: on a
//! temporary data directory, with a clean environment and the suite's shared
//! compiled-component cache. The harness drives the `m365-admin` beside it
//! in the target folder, which `cargo test --workspace` builds.

use std::path::{Path, PathBuf};

#[path = "../common/command.rs"]
mod command;
pub use command::Cli;

pub const BIN: &str = env!("CARGO_BIN_EXE_m365-harness");

/// The server binary the harness runs.
fn server_bin() -> PathBuf {
    let bin = Path::new(BIN).with_file_name("m365-admin");
    assert!(
        bin.is_file(),
        "{} is not built; run the tests with `cargo test --workspace`",
        bin.display()
    );
    bin
}

/// Runs `m365-harness ARGS` on the data directory `dir`.
pub async fn cli(dir: &Path, args: &[&str], env: &[(&str, &str)]) -> Cli {
    server_bin();
    command::run(Path::new(BIN), dir, args, env).await
}

/// Compiles the bundled plugins into the shared cache once (`m365-admin
/// tools`), before the tests' servers start in parallel.
pub async fn warm_cache() {
    static WARM: tokio::sync::OnceCell<()> = tokio::sync::OnceCell::const_new();
    WARM.get_or_init(|| async {
        let dir = tempfile::tempdir().unwrap();
        let out = command::run(&server_bin(), dir.path(), &["tools"], &[]).await;
        assert_eq!(
            out.code,
            Some(0),
            "warming the plugin cache: {}",
            out.stderr
        );
    })
    .await;
}
