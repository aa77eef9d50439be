//! Hot reload: the plugins as now loaded, swapped whole when the plugin
//! folder or the approvals change. Every `M365_PLUGIN_POLL_MS` (1 s) a stamp
//! of the folder (every file's size and modification time) and of the
//! approvals is compared with the last load's; on a change the registry is
//! loaded again and, if its tools or plugins differ, the client is told
//! that its lists changed. A call holds the registry it started with, so a
//! plugin swapped meanwhile finishes on its old version.

use crate::app::App;
use crate::plugins::registry::Registry;
use crate::plugins::runtime::Runtime;
use crate::store::Database;
use std::path::Path;
use std::sync::{Arc, Mutex, RwLock};
use std::time::Duration;

/// The registry now in use, and the stamp of what it was loaded from.
pub struct Plugins {
    registry: RwLock<Arc<Registry>>,
    stamp: Mutex<String>,
}

impl Plugins {
    /// Loads the plugins from the bundled set, `dir` and the approvals.
    pub async fn load(runtime: &Runtime, dir: &Path, approvals: Option<&Database>) -> Plugins {
        let stamp = plugin_stamp(dir, approvals);
        let registry = Registry::load(runtime, dir, approvals).await;
        Plugins {
            registry: RwLock::new(Arc::new(registry)),
            stamp: Mutex::new(stamp),
        }
    }

    /// The plugins as now loaded.
    pub fn current(&self) -> Arc<Registry> {
        self.registry
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .clone()
    }

    /// Loads the plugins again if the plugin directory or the approvals
    /// changed since the last load; true if the tools or resources changed.
    pub async fn reload_if_changed(
        &self,
        runtime: &Runtime,
        dir: &Path,
        approvals: Option<&Database>,
    ) -> bool {
        let stamp = plugin_stamp(dir, approvals);
        if *self.stamp.lock().unwrap() == stamp {
            return false;
        }
        let fresh = Registry::load(runtime, dir, approvals).await;
        *self.stamp.lock().unwrap() = stamp;
        let before = self.current();
        let changed = summary(&before) != summary(&fresh);
        *self.registry.write().unwrap_or_else(|e| e.into_inner()) = Arc::new(fresh);
        if changed {
            let now = self.current();
            tracing::info!(
                plugins = now.plugins.len(),
                tools = now.tools.len(),
                not_loaded = now.problems.len(),
                "plugins reloaded"
            );
        }
        changed
    }
}

/// Notices plugins added, replaced or removed in the plugin directory (or
/// approved from another process) while serving, loads them, and tells the
/// client its lists changed. In-flight calls finish on the version they
/// started with.
pub async fn watch(app: Arc<App>, peer: rmcp::Peer<rmcp::RoleServer>) {
    let every = Duration::from_millis(
        std::env::var("M365_PLUGIN_POLL_MS")
            .ok()
            .and_then(|v| v.parse().ok())
            .unwrap_or(1000),
    );
    loop {
        tokio::time::sleep(every).await;
        if app
            .plugins
            .reload_if_changed(&app.runtime, &app.config.plugin_dir, app.db.as_ref())
            .await
        {
            let _ = peer.notify_tool_list_changed().await;
            let _ = peer.notify_resource_list_changed().await;
        }
    }
}

/// What the clients see of a registry: each plugin's version and digest,
/// and which tools and resource templates exist.
fn summary(r: &Registry) -> Vec<String> {
    r.plugins
        .values()
        .map(|p| format!("{}@{}#{}", p.name, p.version, p.digest))
        .chain(r.tools.keys().cloned())
        .collect()
}

/// Sizes and modification times of everything in the plugin directory, and
/// the approvals: when this changes, the plugins are loaded again.
fn plugin_stamp(dir: &Path, db: Option<&Database>) -> String {
    use std::fmt::Write as _;
    let mut out = String::new();
    let mut dirs: Vec<_> = std::fs::read_dir(dir)
        .map(|r| r.filter_map(|e| e.ok()).map(|e| e.path()).collect())
        .unwrap_or_default();
    dirs.sort();
    for d in dirs {
        let mut files: Vec<_> = std::fs::read_dir(&d)
            .map(|r| r.filter_map(|e| e.ok()).map(|e| e.path()).collect())
            .unwrap_or_default();
        files.sort();
        for f in files {
            if let Ok(m) = std::fs::metadata(&f) {
                let mtime = m
                    .modified()
                    .ok()
                    .and_then(|t| t.duration_since(std::time::UNIX_EPOCH).ok())
                    .map(|d| d.as_nanos())
                    .unwrap_or(0);
                let _ = writeln!(out, "{} {} {mtime}", f.display(), m.len());
            }
        }
    }
    if let Some(db) = db {
        let _ = write!(
            out,
            "approvals {}",
            db.approvals_stamp().unwrap_or_default()
        );
    }
    out
}
