//! The `m365-admin` command: `serve` (the default, with `--sandbox`),
//! `tools`, `permissions`, `call`, `audit`, `doctor`, `stats`, `plugins` and
//! `db`, one file each under `cli/`.

mod cli;

use clap::Parser;
use std::process::ExitCode;

/// A panic's message can quote whatever value was at hand; it goes out
/// through the same redaction as every other line.
fn redacting_panic_hook() {
    std::panic::set_hook(Box::new(|info| {
        let payload = info
            .payload()
            .downcast_ref::<&str>()
            .map(|s| s.to_string())
            .or_else(|| info.payload().downcast_ref::<String>().cloned())
            .unwrap_or_default();
        let at = info
            .location()
            .map(|l| format!(" at {}:{}", l.file(), l.line()))
            .unwrap_or_default();
        let line = m365_admin::secret::redact(&format!("internal error{at}: {payload}"));
        // stderr only: logging from here could re-enter a writer that panicked.
        eprintln!("m365-admin: {line}");
    }));
}

fn main() -> ExitCode {
    redacting_panic_hook();
    let cli = cli::Cli::parse();
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(r) => r,
        Err(e) => {
            eprintln!("m365-admin: cannot start the async runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    let command = cli.command.unwrap_or_else(cli::Command::default_serve);
    let outcome = runtime.block_on(cli::run(command));
    // A server stopped by a signal still has a blocking-pool thread reading
    // stdin that only returns when the client closes the pipe; dropping the
    // runtime would wait for it forever.
    runtime.shutdown_timeout(std::time::Duration::from_millis(250));
    match outcome {
        Ok(code) => code,
        Err(e) => {
            eprintln!("{}", m365_admin::secret::redact(&e.to_string()));
            ExitCode::from(2)
        }
    }
}
