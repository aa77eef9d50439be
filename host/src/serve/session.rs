//! One MCP session over stdio, from the client's `initialize` to its
//! disconnect (or SIGTERM/SIGINT): the database marked as served and its
//! audit head recorded at both ends, scheduled backups and the plugin
//! folder watched meanwhile.

use super::Server;
use crate::app::App;
use crate::errors::{CodedError, ErrorCode};
use std::sync::Arc;
use std::time::Duration;

/// Serves `app` on stdio until the client goes away or a signal arrives,
/// then closes and shuts it down.
pub async fn run(app: App) -> Result<(), CodedError> {
    use rmcp::ServiceExt;
    let app = Arc::new(app);
    tracing::info!(
        tools = app.registry().tools.len(),
        plugins = app.registry().plugins.len(),
        sandbox = app.config.sandbox,
        "serving MCP on stdio"
    );
    if let Some(db) = app.db.clone() {
        crate::store::serving::mark_serving(&db);
        // Off the start-up path: a long trail takes a moment to walk.
        tokio::task::spawn_blocking(move || crate::store::chain::record_head(&db, "start"));
    }
    let server = Server::new(app.clone());
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
        let watcher = tokio::spawn(crate::reload::watch(app.clone(), running.peer().clone()));
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
    Ok(())
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
                crate::store::backup_schedule::run_once(
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
        tokio::time::sleep(every.min(Duration::from_secs(60))).await;
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
