//! The `m365-admin` command: `serve` (the default, with `--sandbox`), `tools`
//! and `call`.

use clap::{Parser, Subcommand};
use m365_admin::app::App;
use m365_admin::config::Config;
use m365_admin::errors::CodedError;
use std::process::ExitCode;
use std::sync::Arc;

#[derive(Parser)]
#[command(
    name = "m365-admin",
    version,
    about = "MCP server for a small Microsoft 365 tenant. Without a command it runs `serve --sandbox`."
)]
struct Cli {
    #[command(subcommand)]
    command: Option<Command>,
}

#[derive(Subcommand)]
enum Command {
    /// Serve MCP over stdio.
    Serve(TenantArgs),
    /// List every tool with the plugin that offers it.
    Tools,
    /// Run one tool through the same path as MCP; prints the result as JSON.
    Call {
        /// Tool name, e.g. list_users.
        tool: String,
        /// Arguments as a JSON object.
        #[arg(default_value = "{}")]
        arguments: String,
        #[command(flatten)]
        tenant: TenantArgs,
    },
}

#[derive(clap::Args, Clone, Copy, Default)]
struct TenantArgs {
    /// Use the local sandbox tenant instead of a live one (no Azure account needed).
    #[arg(long)]
    sandbox: bool,
    /// Start the sandbox tenant afresh, discarding its saved state.
    #[arg(long, requires = "sandbox")]
    sandbox_reset: bool,
}

fn main() -> ExitCode {
    let cli = Cli::parse();
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
    let command = cli.command.unwrap_or(Command::Serve(TenantArgs {
        sandbox: true,
        sandbox_reset: false,
    }));
    match runtime.block_on(run(command)) {
        Ok(code) => code,
        Err(e) => {
            eprintln!("{}", m365_admin::secret::redact(&e.to_string()));
            ExitCode::from(2)
        }
    }
}

async fn run(command: Command) -> Result<ExitCode, CodedError> {
    match command {
        Command::Serve(t) => serve(t).await,
        Command::Tools => {
            let app = start(TenantArgs::default(), false).await?;
            for (name, entry) in &app.registry.tools {
                let a = &entry.tool.annotations;
                let kind = if a.read_only {
                    "read-only"
                } else if a.destructive {
                    "destructive"
                } else {
                    "writes"
                };
                println!(
                    "{name:<28} {:<10} {kind:<11} {}",
                    entry.plugin,
                    entry.tool.description.lines().next().unwrap_or("")
                );
            }
            for p in &app.registry.problems {
                eprintln!("not loaded: {}: {}", p.source, p.reason);
            }
            Ok(ExitCode::SUCCESS)
        }
        Command::Call {
            tool,
            arguments,
            tenant,
        } => {
            let args: serde_json::Value = serde_json::from_str(&arguments).map_err(|e| {
                CodedError::new(m365_admin::errors::ErrorCode::Input001, format!("The arguments are not JSON ({e}); pass an object such as '{{\"userEmail\":\"a@b.com\"}}'."))
            })?;
            let app = start(tenant, true).await?;
            let result = app.call_tool(&tool, args, None).await;
            let (json, code) = match &result {
                Ok(v) => (v.clone(), ExitCode::SUCCESS),
                Err(e) => (e.to_json(), ExitCode::from(1)),
            };
            println!(
                "{}",
                serde_json::to_string_pretty(&json).unwrap_or_default()
            );
            app.shutdown().await;
            Ok(code)
        }
    }
}

async fn start(t: TenantArgs, connect: bool) -> Result<App, CodedError> {
    let config = Config::from_env(t.sandbox, t.sandbox_reset);
    if let Err(e) = m365_admin::logging::init(&config.log_level, config.log_file.as_deref()) {
        eprintln!("m365-admin: logging could not start ({e}); continuing without it");
    }
    App::start(config, connect).await
}

async fn serve(t: TenantArgs) -> Result<ExitCode, CodedError> {
    use rmcp::ServiceExt;
    let app = Arc::new(start(t, true).await?);
    tracing::info!(
        tools = app.registry.tools.len(),
        plugins = app.registry.plugins.len(),
        sandbox = t.sandbox,
        "serving MCP on stdio"
    );
    let server = m365_admin::mcp::Server::new(app.clone());
    let running = server.serve(rmcp::transport::stdio()).await.map_err(|e| {
        CodedError::new(
            m365_admin::errors::ErrorCode::Plugin001,
            format!("MCP session could not start: {e}"),
        )
    })?;
    let _ = running.waiting().await;
    tracing::info!("client disconnected; shutting down");
    if let Ok(app) = Arc::try_unwrap(app) {
        app.shutdown().await;
    }
    Ok(ExitCode::SUCCESS)
}
