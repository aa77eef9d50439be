//! The `m365-admin` command: `serve` (the default, with `--sandbox`), `tools`,
//! `call`, `audit` and `db`.

use clap::{Parser, Subcommand};
use m365_admin::app::App;
use m365_admin::config::Config;
use m365_admin::errors::{CodedError, ErrorCode};
use m365_admin::store::Database;
use m365_admin::store::key::DbKey;
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
        command: AuditCommand,
        /// The sandbox's database instead of the live one.
        #[arg(long, global = true)]
        sandbox: bool,
    },
    /// Checks configuration, credentials, the database and, for each plugin,
    /// the Entra ID permissions its grants need against what the app's token
    /// holds; exits 1 and says what to grant if anything is missing.
    Doctor(TenantArgs),
    /// Measures start-up, per-call time and the host's share of it, bulk
    /// work, scaling with the number of plugins, and memory, against the
    /// sandbox (see docs/performance.md).
    Bench {
        /// Parts to run, comma-separated (default: all of them).
        #[arg(long, value_enum, value_delimiter = ',')]
        only: Vec<m365_admin::bench::Part>,
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
    /// Add, review, list, remove and verify plugins.
    Plugins {
        #[command(subcommand)]
        command: PluginsCommand,
        /// The sandbox's database (approvals) instead of the live one.
        #[arg(long, global = true)]
        sandbox: bool,
    },
    /// Back up and restore the encrypted database.
    Db {
        #[command(subcommand)]
        command: DbCommand,
        /// The sandbox's database instead of the live one.
        #[arg(long, global = true)]
        sandbox: bool,
    },
}

#[derive(Subcommand)]
enum AuditCommand {
    /// The newest rows, oldest first.
    Tail {
        #[arg(short = 'n', default_value_t = 20)]
        n: u32,
    },
    /// Checks every row's hash and link, and the head kept beside the database;
    /// names the first broken link and exits non-zero if there is one.
    Verify,
    /// Writes the trail (or the part since a time) to stdout.
    Export {
        #[arg(long, value_enum, default_value = "jsonl")]
        format: ExportFormat,
        /// RFC 3339 time or a date (2026-11-01); only rows at or after it.
        #[arg(long)]
        since: Option<String>,
    },
}

#[derive(Subcommand)]
enum PluginsCommand {
    /// Shows a plugin's tools, grants and the permissions they imply, asks
    /// for approval, installs it into the plugin folder and records the
    /// approved digest and grants.
    Add {
        /// The plugin's folder (manifest.toml and its .wasm).
        path: std::path::PathBuf,
        /// Approve without asking.
        #[arg(long)]
        yes: bool,
    },
    /// Every plugin: version, digest, tools, grants, state.
    List,
    /// Removes a plugin from the plugin folder and forgets its approval.
    Remove { name: String },
    /// Checks the plugin folder against the approvals; exits 1 if any plugin
    /// would be refused.
    Verify,
}

#[derive(Clone, Copy, clap::ValueEnum)]
enum ExportFormat {
    Jsonl,
    Csv,
}

#[derive(Subcommand)]
enum DbCommand {
    /// Writes an encrypted, consistent copy (same key) while the server may run.
    Backup { file: std::path::PathBuf },
    /// Replaces the database with a backup, after checking that it opens with
    /// the key and its audit trail verifies. Stop the server first; the current
    /// database is kept beside it as `<name>.before-restore-<time>`.
    Restore { file: std::path::PathBuf },
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

/// Which tools a server offers (see `selection.rs`).
#[derive(clap::Args, Clone, Default)]
struct ScopeArgs {
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
    let command = cli.command.unwrap_or(Command::Serve {
        tenant: TenantArgs {
            sandbox: true,
            sandbox_reset: false,
        },
        scope: ScopeArgs::default(),
    });
    let outcome = runtime.block_on(run(command));
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

async fn run(command: Command) -> Result<ExitCode, CodedError> {
    match command {
        Command::Serve { tenant, scope } => serve(tenant, scope).await,
        Command::Tools { scope, markdown } => {
            let app = start(TenantArgs::default(), scope, false).await?;
            let registry = app.registry();
            if markdown {
                print!("{}", m365_admin::reference::markdown(&registry));
                return Ok(ExitCode::SUCCESS);
            }
            for (name, entry) in &registry.tools {
                let a = &entry.tool.annotations;
                let kind = if a.read_only {
                    "read-only"
                } else if a.destructive {
                    "destructive"
                } else {
                    "writes"
                };
                let offered = match app.selection.decide(name, &entry.plugin, a.read_only) {
                    Ok(why) => format!("in ({why})"),
                    Err(out) => format!(
                        "OUT ({})",
                        match out {
                            m365_admin::selection::Out::ReadOnlyMode =>
                                "read-only mode".to_string(),
                            m365_admin::selection::Out::NotSelected(why) => why,
                            m365_admin::selection::Out::PluginNotSelected =>
                                "plugin not enabled".to_string(),
                        }
                    ),
                };
                println!(
                    "{name:<28} {:<10} {kind:<11} {offered:<40} {}",
                    entry.plugin,
                    entry.tool.description.lines().next().unwrap_or("")
                );
            }
            for p in &registry.problems {
                eprintln!("not loaded: {}: {}", p.source, p.reason);
            }
            Ok(ExitCode::SUCCESS)
        }
        Command::Permissions { scope } => {
            let app = start(TenantArgs::default(), scope, false).await?;
            let registry = app.registry();
            let mut plugins: Vec<&str> = registry
                .tools
                .iter()
                .filter(|(name, e)| {
                    app.selection
                        .decide(name, &e.plugin, e.tool.annotations.read_only)
                        .is_ok()
                })
                .map(|(_, e)| e.plugin.as_str())
                .collect();
            plugins.sort();
            plugins.dedup();
            // The host's own read (health, the domain in every envelope).
            let mut graph = m365_admin::permissions::permissions_for(&[
                m365_admin::permissions::HOST_NEEDS.to_string(),
            ]);
            let mut exchange = false;
            for p in &plugins {
                let grants = &registry.plugins[*p].grants;
                exchange |= grants.iter().any(|g| g.starts_with("exchange:"));
                for perm in m365_admin::permissions::permissions_for(grants) {
                    if perm != m365_admin::permissions::EXCHANGE_APP_PERMISSION {
                        graph.push(perm);
                    }
                }
            }
            graph.sort();
            graph.dedup();
            println!(
                "Microsoft Graph application permissions (for plugins {}):",
                plugins.join(", ")
            );
            for p in &graph {
                println!("  {p}");
            }
            if exchange {
                println!(
                    "Office 365 Exchange Online application permission:\n  {}",
                    m365_admin::permissions::EXCHANGE_APP_PERMISSION
                );
                println!(
                    "Exchange role:\n  {}",
                    m365_admin::permissions::EXCHANGE_ROLE
                );
            }
            Ok(ExitCode::SUCCESS)
        }
        Command::Call {
            tool,
            arguments,
            tenant,
            scope,
        } => {
            let args: serde_json::Value = serde_json::from_str(&arguments).map_err(|e| {
                CodedError::new(m365_admin::errors::ErrorCode::Input001, format!("The arguments are not JSON ({e}); pass an object such as '{{\"userEmail\":\"a@b.com\"}}'."))
            })?;
            let app = start(tenant, scope, true).await?;
            let result = app.call_tool(&tool, args, None, None).await;
            let (mut json, code) = match &result {
                Ok(v) => (v.clone(), ExitCode::SUCCESS),
                Err(e) => (e.to_json(), ExitCode::from(1)),
            };
            if let serde_json::Value::Object(o) = &mut json {
                o.insert(m365_admin::mcp::ENVELOPE_KEY.into(), app.envelope().await);
            }
            println!(
                "{}",
                serde_json::to_string_pretty(&json).unwrap_or_default()
            );
            app.shutdown().await;
            Ok(code)
        }
        Command::Audit { command, sandbox } => audit(command, sandbox),
        Command::Db { command, sandbox } => db(command, sandbox),
        Command::Plugins { command, sandbox } => plugins(command, sandbox).await,
        Command::Bench {
            only,
            runs,
            calls,
            users,
            messages,
            limited_messages,
            concurrency,
        } => {
            let options = m365_admin::bench::Options {
                only,
                runs,
                calls,
                users,
                messages,
                limited_messages,
                concurrency,
            };
            let report = m365_admin::bench::run(options).await.map_err(|e| {
                CodedError::new(ErrorCode::Input001, format!("The benchmark failed: {e}"))
            })?;
            print_json(&report);
            Ok(ExitCode::SUCCESS)
        }
        Command::Soak {
            seconds,
            clients,
            seed,
            keep,
        } => {
            let opts = m365_admin::soak::SoakOptions {
                duration: std::time::Duration::from_secs(seconds),
                clients: clients.max(1),
                seed: seed.unwrap_or_else(rand::random),
                keep,
            };
            let summary = m365_admin::soak::run(opts).await.map_err(|e| {
                CodedError::new(
                    ErrorCode::Input001,
                    format!("The soak could not run: {e}. Build the binary with the plugins and try again."),
                )
            })?;
            print_json(&summary);
            Ok(if summary["pass"] == true {
                ExitCode::SUCCESS
            } else {
                ExitCode::from(1)
            })
        }
        Command::Stats { since, sandbox } => {
            let config = offline_config(sandbox);
            let (db, _) = open_existing(&config)?;
            let since = since.as_deref().map(parse_since).transpose()?;
            print_json(&m365_admin::metrics::compute(&db.audit_since(since)?));
            Ok(ExitCode::SUCCESS)
        }
        Command::Doctor(t) => {
            let app = start(t, ScopeArgs::default(), true).await?;
            let report = m365_admin::doctor::run(&app).await;
            print_json(&report.json);
            for line in &report.lines {
                eprintln!("{line}");
            }
            app.shutdown().await;
            Ok(if report.ok {
                ExitCode::SUCCESS
            } else {
                ExitCode::from(1)
            })
        }
    }
}

/// Configuration and logging for the commands that only need the database.
fn offline_config(sandbox: bool) -> Config {
    let config = Config::from_env(sandbox, false);
    if let Err(e) = m365_admin::logging::init(&config.log_level, config.log_file.as_deref()) {
        eprintln!("m365-admin: logging could not start ({e}); continuing without it");
    }
    config
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
    m365_admin::database::open(config)
}

fn audit(command: AuditCommand, sandbox: bool) -> Result<ExitCode, CodedError> {
    use m365_admin::store::audit;
    let config = offline_config(sandbox);
    let (db, _) = open_existing(&config)?;
    let io = |e: std::io::Error| {
        CodedError::new(
            ErrorCode::Store001,
            format!("Could not write the output: {e}"),
        )
    };
    match command {
        AuditCommand::Tail { n } => {
            let rows = db.audit_tail(n)?;
            let mut out = std::io::stdout().lock();
            audit::export_jsonl(&rows, &mut out).map_err(io)?;
            Ok(ExitCode::SUCCESS)
        }
        AuditCommand::Verify => {
            let report = m365_admin::database::verify(&db)?;
            println!(
                "{}",
                serde_json::to_string_pretty(&report).unwrap_or_default()
            );
            if report.ok {
                eprintln!("audit trail verified: {} rows", report.rows);
                Ok(ExitCode::SUCCESS)
            } else {
                if let Some(b) = &report.first_broken {
                    eprintln!("audit trail BROKEN at row {}: {}", b.id, b.explanation);
                }
                Ok(ExitCode::from(1))
            }
        }
        AuditCommand::Export { format, since } => {
            let since = since.as_deref().map(parse_since).transpose()?;
            let rows = db.audit_since(since)?;
            let mut out = std::io::stdout().lock();
            match format {
                ExportFormat::Jsonl => audit::export_jsonl(&rows, &mut out),
                ExportFormat::Csv => audit::export_csv(&rows, &mut out),
            }
            .map_err(io)?;
            Ok(ExitCode::SUCCESS)
        }
    }
}

fn print_json(v: &serde_json::Value) {
    println!("{}", serde_json::to_string_pretty(v).unwrap_or_default());
}

async fn plugins(command: PluginsCommand, sandbox: bool) -> Result<ExitCode, CodedError> {
    use m365_admin::plugin_admin;
    let config = offline_config(sandbox);
    // Adding may create the database (a first plugin before a first serve).
    let db = match &command {
        PluginsCommand::Add { .. } => Some(m365_admin::database::open(&config)?.0),
        PluginsCommand::List => m365_admin::database::open(&config).ok().map(|(db, _)| db),
        _ => Some(open_existing(&config)?.0),
    };
    match command {
        PluginsCommand::Add { path, yes } => {
            print_json(&plugin_admin::add(&config, db.as_ref().unwrap(), &path, yes).await?);
            Ok(ExitCode::SUCCESS)
        }
        PluginsCommand::List => {
            print_json(&plugin_admin::list(&config, db.as_ref()).await?);
            Ok(ExitCode::SUCCESS)
        }
        PluginsCommand::Remove { name } => {
            print_json(&plugin_admin::remove(&config, db.as_ref().unwrap(), &name)?);
            Ok(ExitCode::SUCCESS)
        }
        PluginsCommand::Verify => {
            let (report, clean) = plugin_admin::verify(&config, db.as_ref().unwrap()).await?;
            print_json(&report);
            Ok(if clean {
                ExitCode::SUCCESS
            } else {
                ExitCode::from(1)
            })
        }
    }
}

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

fn db(command: DbCommand, sandbox: bool) -> Result<ExitCode, CodedError> {
    let config = offline_config(sandbox);
    match command {
        DbCommand::Backup { file } => {
            let (db, key) = open_existing(&config)?;
            let head = db.backup_to(&file, &key)?;
            let _ = db.audit_event(
                "backup",
                &serde_json::json!({"file": file, "auditRows": head.rows}),
            );
            println!(
                "{}",
                serde_json::json!({"backup": file, "auditRows": head.rows, "auditLastHash": head.last_hash})
            );
            Ok(ExitCode::SUCCESS)
        }
        DbCommand::Restore { file } => {
            if let Some(pid) = m365_admin::database::running_server(&config.database_path) {
                return Err(CodedError::new(
                    ErrorCode::Store001,
                    format!(
                        "A server (process {pid}) is using {}; stop it (close the MCP client or end the process) and run the restore again. Nothing was changed.",
                        config.database_path.display()
                    ),
                ));
            }
            let key = m365_admin::database::resolve_key(&config)?;
            let report = m365_admin::store::backup::restore(&config.database_path, &key, &file)?;
            println!(
                "{}",
                serde_json::to_string_pretty(&report).unwrap_or_default()
            );
            Ok(ExitCode::SUCCESS)
        }
    }
}

async fn start(t: TenantArgs, scope: ScopeArgs, connect: bool) -> Result<App, CodedError> {
    let mut config = Config::from_env(t.sandbox, t.sandbox_reset);
    scope.apply(&mut config);
    if let Err(e) = m365_admin::logging::init(&config.log_level, config.log_file.as_deref()) {
        eprintln!("m365-admin: logging could not start ({e}); continuing without it");
    }
    App::start(config, connect).await
}

/// A backup a day (M365_BACKUP_INTERVAL_SECS), verified, old ones pruned;
/// checked every minute so a long-running server keeps to the schedule.
async fn scheduled_backups(app: Arc<App>) {
    let every = app.config.backup_every;
    if app.db.is_none() || every.is_zero() {
        return;
    }
    loop {
        let app2 = app.clone();
        let _ = tokio::task::spawn_blocking(move || {
            if let (Some(db), Some(key)) = (&app2.db, app2.db_key()) {
                m365_admin::backups::run_once(
                    db,
                    key,
                    &app2.config.backup_dir,
                    every,
                    app2.config.backup_keep,
                    &app2.last_backup,
                )
            }
        })
        .await;
        tokio::time::sleep(every.min(std::time::Duration::from_secs(60))).await;
    }
}

/// Notices plugins added, replaced or removed in the plugin directory (or
/// approved from another process) while serving, loads them, and tells the
/// client its lists changed. In-flight calls finish on the version they
/// started with.
async fn watch_plugins(app: Arc<App>, peer: rmcp::Peer<rmcp::RoleServer>) {
    let every = std::time::Duration::from_millis(
        std::env::var("M365_PLUGIN_POLL_MS")
            .ok()
            .and_then(|v| v.parse().ok())
            .unwrap_or(1000),
    );
    loop {
        tokio::time::sleep(every).await;
        if app.reload_plugins_if_changed().await {
            let _ = peer.notify_tool_list_changed().await;
            let _ = peer.notify_resource_list_changed().await;
        }
    }
}

/// SIGTERM (a client or service manager stopping the server) or SIGINT:
/// both end the session the way a closed stdin does, so the audit head is
/// recorded and the database closed rather than the process dying mid-way.
async fn termination_signal() -> &'static str {
    use tokio::signal::unix::{SignalKind, signal};
    let (Ok(mut term), Ok(mut int)) = (
        signal(SignalKind::terminate()),
        signal(SignalKind::interrupt()),
    ) else {
        return std::future::pending().await;
    };
    tokio::select! {
        _ = term.recv() => "SIGTERM",
        _ = int.recv() => "SIGINT",
    }
}

async fn serve(t: TenantArgs, scope: ScopeArgs) -> Result<ExitCode, CodedError> {
    use rmcp::ServiceExt;
    let app = Arc::new(start(t, scope, true).await?);
    tracing::info!(
        tools = app.registry().tools.len(),
        plugins = app.registry().plugins.len(),
        sandbox = t.sandbox,
        "serving MCP on stdio"
    );
    if let Some(db) = app.db.clone() {
        m365_admin::database::mark_serving(&db);
        // Off the start-up path: a long trail takes a moment to walk.
        tokio::task::spawn_blocking(move || m365_admin::database::record_head(&db, "start"));
    }
    let server = m365_admin::mcp::Server::new(app.clone());
    let running = match server.serve(rmcp::transport::stdio()).await {
        Ok(r) => Some(r),
        // The client went away before initializing: a clean end, not an error.
        Err(rmcp::service::ServerInitializeError::ConnectionClosed(_)) => None,
        Err(e) => {
            app.close();
            return Err(CodedError::new(
                ErrorCode::Plugin001,
                format!("MCP session could not start: {e}"),
            ));
        }
    };
    let backups = tokio::spawn(scheduled_backups(app.clone()));
    if let Some(running) = running {
        let watcher = tokio::spawn(watch_plugins(app.clone(), running.peer().clone()));
        let session = running.cancellation_token();
        let signals = tokio::spawn(async move {
            let signal = termination_signal().await;
            tracing::info!(signal, "stopping on signal");
            session.cancel();
        });
        let _ = running.waiting().await;
        signals.abort();
        watcher.abort();
    }
    backups.abort();
    tracing::info!("session ended; shutting down");
    app.close();
    if let Ok(app) = Arc::try_unwrap(app) {
        app.shutdown().await;
    }
    Ok(ExitCode::SUCCESS)
}
