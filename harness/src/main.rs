//! `m365-harness bench` and `m365-harness soak`: measure and exercise
//! `m365-admin` from the outside, as Claude Code sees it (the real binary
//! started as `serve --sandbox`, rmcp's client over its stdio), plus the
//! host's own share of a call measured in-process through the host library.
//! By default the `m365-admin` beside this binary in the target folder
//! (`cargo build --release` builds both); `--server` names another.

mod bench;
mod client;
mod launch;
mod soak;

use clap::{Parser, Subcommand};
use std::path::PathBuf;
use std::process::ExitCode;

#[derive(Parser)]
#[command(
    name = "m365-harness",
    version,
    about = "Benchmarks and soak runs of m365-admin against the sandbox tenant."
)]
struct Cli {
    /// The m365-admin binary to run (default: the one beside m365-harness).
    #[arg(long, global = true, env = "M365_ADMIN_BIN")]
    server: Option<PathBuf>,
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Measures start-up, per-call time and the host's share of it, bulk
    /// work, scaling with the number of plugins, and memory, against the
    /// sandbox (see docs/performance.md).
    Bench {
        /// Parts to run, comma-separated (default: all of them).
        #[arg(long, value_enum, value_delimiter = ',')]
        only: Vec<bench::Part>,
        /// Warm start-ups to time.
        #[arg(long, default_value_t = 20)]
        runs: usize,
        /// Calls to time.
        #[arg(long, default_value_t = 1000)]
        calls: usize,
        /// Users to create in the bulk part.
        #[arg(long, default_value_t = 100)]
        users: usize,
        /// Templated messages to send in the bulk part.
        #[arg(long, default_value_t = 500)]
        messages: usize,
        /// Messages to send with the default rate limit on (0 skips that run).
        #[arg(long, default_value_t = 150)]
        limited_messages: usize,
        /// Tool calls in flight at once in the bulk part.
        #[arg(long, default_value_t = 8)]
        concurrency: usize,
    },
    /// Mixed calls from concurrent clients against the sandbox for a while,
    /// with faults and hostile requests injected; checks that nothing
    /// acknowledged was lost or duplicated, every failure was coded, memory
    /// and file descriptors stayed flat and the audit chain verifies.
    Soak {
        /// How long to run, in seconds.
        #[arg(long, default_value_t = 1800)]
        seconds: u64,
        /// Concurrent clients.
        #[arg(long, default_value_t = 4)]
        clients: usize,
        /// Seed of the random mix (printed, to repeat a run).
        #[arg(long)]
        seed: Option<u64>,
        /// Keep the server's folder (database, log) even when the run passes.
        #[arg(long)]
        keep: bool,
    },
}

/// An error of the harness itself, or of the sandbox's control API (not of
/// the server it measures).
pub fn fail(what: impl std::fmt::Display) -> std::io::Error {
    std::io::Error::other(what.to_string())
}

/// The m365-admin to run: the one named, or the one beside this binary.
fn server_binary(named: Option<PathBuf>) -> std::io::Result<PathBuf> {
    if let Some(path) = named {
        return Ok(path);
    }
    let beside = std::env::current_exe()?.with_file_name("m365-admin");
    if !beside.is_file() {
        return Err(fail(format!(
            "there is no m365-admin beside m365-harness ({}); build both with `cargo build --release`, or name one with --server",
            beside.display()
        )));
    }
    Ok(beside)
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(r) => r,
        Err(e) => {
            eprintln!("m365-harness: cannot start the async runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    let outcome = runtime.block_on(run(cli));
    runtime.shutdown_timeout(std::time::Duration::from_millis(250));
    match outcome {
        Ok(code) => code,
        Err(e) => {
            eprintln!("m365-harness: {e}.");
            ExitCode::from(2)
        }
    }
}

async fn run(cli: Cli) -> std::io::Result<ExitCode> {
    let server = server_binary(cli.server)?;
    match cli.command {
        Command::Bench {
            only,
            runs,
            calls,
            users,
            messages,
            limited_messages,
            concurrency,
        } => {
            let options = bench::Options {
                server,
                only,
                runs,
                calls,
                users,
                messages,
                limited_messages,
                concurrency,
            };
            let report = bench::run(options)
                .await
                .map_err(|e| fail(format!("the benchmark failed: {e}")))?;
            print_json(&report);
            Ok(ExitCode::SUCCESS)
        }
        Command::Soak {
            seconds,
            clients,
            seed,
            keep,
        } => {
            let options = soak::SoakOptions {
                server,
                duration: std::time::Duration::from_secs(seconds),
                clients: clients.max(1),
                seed: seed.unwrap_or_else(rand::random),
                keep,
            };
            let summary = soak::run(options).await.map_err(|e| {
                fail(format!(
                    "the soak could not run: {e}. Build m365-admin with the plugins and try again"
                ))
            })?;
            print_json(&summary);
            Ok(if summary["pass"] == true {
                ExitCode::SUCCESS
            } else {
                ExitCode::from(1)
            })
        }
    }
}

fn print_json(v: &serde_json::Value) {
    println!("{}", serde_json::to_string_pretty(v).unwrap_or_default());
}
