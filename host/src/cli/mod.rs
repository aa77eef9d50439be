//! The `m365-admin` commands, one file each; this file holds the command
//! line itself, the arguments several commands share (which tenant, which
//! tools), and how a command gets its configuration, database or `App`.

mod audit;
mod call;
mod db;
mod doctor;
mod permissions;
mod plugins;
mod report;
mod serve;
mod stats;
mod tools;

use clap::{Parser, Subcommand};
use m365_admin::app::App;
use m365_admin::config::Config;
use m365_admin::errors::{CodedError, ErrorCode};
use m365_admin::store::Database;
use m365_admin::store::key::DbKey;
use std::process::ExitCode;

#[derive(Parser)]
#[command(
    name = "m365-admin",
    version,
    about = "MCP server for a small Microsoft 365 tenant. Without a command it runs `serve --sandbox`."
)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Option<Command>,
}

#[derive(Subcommand)]
pub enum Command {
    /// Serve MCP over stdio.
    Serve {
        #[command(flatten)]
        tenant: TenantArgs,
        #[command(flatten)]
        scope: ScopeArgs,
    },
    /// Every tool with its plugin and kind, and whether this configuration
    /// offers it (and why not).
    Tools {
        #[command(flatten)]
        scope: ScopeArgs,
        /// Print the tool and resource reference as Markdown (docs/tools.md).
        #[arg(long)]
        markdown: bool,
    },
    /// The Entra ID permissions the selected tools' plugins need, to consent
    /// exactly those.
    Permissions {
        #[command(flatten)]
        scope: ScopeArgs,
    },
    /// Run one tool through the same path as MCP; prints the result as JSON.
    Call {
        /// Tool name, e.g. list_users.
        tool: String,
        /// Arguments as a JSON object.
        #[arg(default_value = "{}")]
        arguments: String,
        #[command(flatten)]
        tenant: TenantArgs,
        #[command(flatten)]
        scope: ScopeArgs,
    },
    /// Read, verify and export the audit trail.
    Audit {
        #[command(subcommand)]
        command: audit::AuditCommand,
        /// The sandbox's database instead of the live one.
        #[arg(long, global = true)]
        sandbox: bool,
    },
    /// Checks configuration, credentials, the database and, for each plugin,
    /// the Entra ID permissions its grants need against what the app's token
    /// holds; exits 1 and says what to grant if anything is missing.
    Doctor(TenantArgs),
    /// Usage figures from the audit trail: calls, success rate and
    /// durations per tool, errors by code, throttling, template sends.
    Stats {
        /// RFC 3339 time or a date; only calls at or after it.
        #[arg(long)]
        since: Option<String>,
        /// The sandbox's database instead of the live one.
        #[arg(long)]
        sandbox: bool,
    },
    /// The tenant report: the security review with fixes, users, MFA,
    /// licenses, features and 30 days of activity, as one self-contained
    /// HTML page and/or JSON (the same as `m365://report`).
    Report {
        /// Write the report as HTML to this file.
        #[arg(long, value_name = "FILE")]
        html: Option<std::path::PathBuf>,
        /// Write the report as JSON to this file (`-` or no file: stdout).
        #[arg(long, value_name = "FILE", num_args = 0..=1, default_missing_value = "-")]
        json: Option<std::path::PathBuf>,
        #[command(flatten)]
        tenant: TenantArgs,
        #[command(flatten)]
        scope: ScopeArgs,
    },
    /// Add, review, list, remove and verify plugins.
    Plugins {
        #[command(subcommand)]
        command: plugins::PluginsCommand,
        /// The sandbox's database (approvals) instead of the live one.
        #[arg(long, global = true)]
        sandbox: bool,
    },
    /// Back up and restore the encrypted database.
    Db {
        #[command(subcommand)]
        command: db::DbCommand,
        /// The sandbox's database instead of the live one.
        #[arg(long, global = true)]
        sandbox: bool,
    },
}

impl Command {
    /// What runs without a command: `serve --sandbox`.
    pub fn default_serve() -> Command {
        Command::Serve {
            tenant: TenantArgs {
                sandbox: true,
                sandbox_reset: false,
            },
            scope: ScopeArgs::default(),
        }
    }
}

#[derive(clap::Args, Clone, Copy, Default)]
pub struct TenantArgs {
    /// Use the local sandbox tenant instead of a live one (no Azure account needed).
    #[arg(long)]
    sandbox: bool,
    /// Start the sandbox tenant afresh, discarding its saved state.
    #[arg(long, requires = "sandbox")]
    sandbox_reset: bool,
}

/// Which tools a server offers (see `pipeline/selection.rs`).
#[derive(clap::Args, Clone, Default)]
pub struct ScopeArgs {
    /// Offer only read-only tools, and refuse every upstream write.
    #[arg(long)]
    read_only: bool,
    /// Tool name globs, comma-separated; `!` excludes (e.g. 'get_*,list_*').
    #[arg(long)]
    tools: Option<String>,
    /// Plugin names to enable, comma-separated.
    #[arg(long)]
    plugins: Option<String>,
}

impl ScopeArgs {
    fn apply(self, config: &mut Config) {
        config.read_only |= self.read_only;
        if self.tools.is_some() {
            config.tools = self.tools;
        }
        if self.plugins.is_some() {
            config.plugins = self.plugins;
        }
    }
}

pub async fn run(command: Command) -> Result<ExitCode, CodedError> {
    match command {
        Command::Serve { tenant, scope } => serve::run(tenant, scope).await,
        Command::Tools { scope, markdown } => tools::run(scope, markdown).await,
        Command::Permissions { scope } => permissions::run(scope).await,
        Command::Call {
            tool,
            arguments,
            tenant,
            scope,
        } => call::run(&tool, &arguments, tenant, scope).await,
        Command::Audit { command, sandbox } => audit::run(command, sandbox),
        Command::Doctor(tenant) => doctor::run(tenant).await,
        Command::Stats { since, sandbox } => stats::run(since.as_deref(), sandbox),
        Command::Report {
            html,
            json,
            tenant,
            scope,
        } => report::run(html, json, tenant, scope).await,
        Command::Plugins { command, sandbox } => plugins::run(command, sandbox).await,
        Command::Db { command, sandbox } => db::run(command, sandbox),
    }
}

/// Configuration, logging and an `App` for the commands that run tools or
/// read the plugins; `connect` false needs no credentials.
async fn start(t: TenantArgs, scope: ScopeArgs, connect: bool) -> Result<App, CodedError> {
    let mut config = Config::from_env(t.sandbox, t.sandbox_reset);
    scope.apply(&mut config);
    init_logging(&config);
    App::start(config, connect).await
}

/// Configuration and logging for the commands that only need the database.
fn offline_config(sandbox: bool) -> Config {
    let config = Config::from_env(sandbox, false);
    init_logging(&config);
    config
}

fn init_logging(config: &Config) {
    if let Err(e) = m365_admin::logging::init(&config.log_level, config.log_file.as_deref()) {
        eprintln!("m365-admin: logging could not start ({e}); continuing without it");
    }
}

/// Opens an existing database; these commands never create one.
fn open_existing(config: &Config) -> Result<(Database, DbKey), CodedError> {
    if !config.database_path.exists() {
        return Err(CodedError::new(
            ErrorCode::Store001,
            format!(
                "There is no database at {}. Check DATABASE_PATH{}.",
                config.database_path.display(),
                if config.sandbox {
                    ""
                } else {
                    ", or add --sandbox for the sandbox's database"
                }
            ),
        ));
    }
    m365_admin::store::open(config)
}

fn print_json(v: &serde_json::Value) {
    println!("{}", serde_json::to_string_pretty(v).unwrap_or_default());
}

/// `--since`: an RFC 3339 time or a date (midnight UTC).
fn parse_since(text: &str) -> Result<time::OffsetDateTime, CodedError> {
    use time::format_description::well_known::Rfc3339;
    if let Ok(t) = time::OffsetDateTime::parse(text, &Rfc3339) {
        return Ok(t);
    }
    let date_format = time::macros::format_description!("[year]-[month]-[day]");
    time::Date::parse(text, &date_format)
        .map(|d| d.midnight().assume_utc())
        .map_err(|_| {
            CodedError::new(
                ErrorCode::Input001,
                format!("--since {text:?} is not a date (2026-11-01) or an RFC 3339 time (2026-11-01T09:00:00Z)."),
            )
        })
}
