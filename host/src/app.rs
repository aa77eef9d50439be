//! The running host, wired together: configuration, the database, the
//! tenant connection (`tenant.rs`), the plugin runtime and the loaded
//! plugins (`reload.rs`), the tool selection, and the state health and the
//! envelope keep. Each part's behaviour lives in its own module; the MCP
//! server, the CLI and the harness all hold an `App` and run calls through
//! `pipeline::call_tool`, so a tool runs the same way whoever asks.

use crate::caps::upstream::Upstream;
use crate::config::Config;
use crate::errors::{CodedError, ErrorCode};
use crate::health::Health;
use crate::pipeline::selection::Selection;
use crate::plugins::registry::Registry;
use crate::plugins::runtime::{Runtime, Services};
use crate::reload::Plugins;
use crate::serve::envelope::Announcement;
use crate::store::Database;
use crate::store::backup_schedule::LastBackup;
use crate::store::key::DbKey;
use crate::tenant::Tenant;
use m365_policy::Mode;
use std::sync::Arc;

pub struct App {
    pub config: Config,
    pub runtime: Runtime,
    pub plugins: Plugins,
    pub tenant: Option<Tenant>,
    pub upstream: Option<Arc<Upstream>>,
    sandbox: Option<m365_sandbox::Sandbox>,
    pub db: Option<Database>,
    db_key: Option<DbKey>,
    /// Which tools this server offers.
    pub selection: Selection,
    /// Graph's reachability and the audit chain's state, for health.
    pub health: Health,
    /// Whether the live tenant was announced on stderr yet.
    pub announcement: Announcement,
    /// The newest scheduled backup, for health.
    pub last_backup: LastBackup,
}

impl App {
    /// Starts what `config` asks for. `connect` is false for commands that
    /// only read the plugins (`tools`): they need no credentials.
    pub async fn start(config: Config, connect: bool) -> Result<App, CodedError> {
        if connect && !config.sandbox {
            // Missing credentials are the first thing to tell a new user.
            crate::tenant::live_credentials(&config)?;
        }
        let (db, db_key) = if connect {
            let (db, key) = crate::store::open(&config)?;
            (Some(db), Some(key))
        } else {
            (None, None)
        };
        let connection = if connect {
            Some(crate::tenant::connect(&config).await?)
        } else {
            None
        };
        let tenant = connection.as_ref().map(|c| c.tenant.clone());
        let runtime = Runtime::new(
            config.cache_dir.join("compiled"),
            config.limits,
            Services {
                upstream: connection.as_ref().map(|c| c.upstream.clone()),
                db: db.clone(),
                manifests: connection.as_ref().map(|c| c.manifests.clone()),
                mode: if config.read_only {
                    Mode::ReadOnly
                } else {
                    Mode::ReadWrite
                },
                settings: config
                    .mail_signoff
                    .iter()
                    .map(|v| ("mail-signoff".to_string(), v.clone()))
                    .collect(),
                tenant: (
                    config.sandbox,
                    tenant
                        .as_ref()
                        .map(|t| t.tenant_id.clone())
                        .unwrap_or_default(),
                ),
            },
        )
        .map_err(|e| {
            CodedError::new(
                ErrorCode::Plugin001,
                format!("The plugin runtime could not start: {e}"),
            )
        })?;
        // `tools` runs without a tenant, but reads approvals when it can.
        let approvals = match &db {
            Some(db) => Some(db.clone()),
            None => crate::store::open(&config).ok().map(|(db, _)| db),
        };
        let plugins = Plugins::load(&runtime, &config.plugin_dir, approvals.as_ref()).await;
        let selection = Selection::new(
            config.read_only,
            config.tools.as_deref(),
            config.plugins.as_deref(),
        );
        let (upstream, sandbox, default_domain) = match connection {
            Some(c) => (Some(c.upstream), c.sandbox, c.default_domain),
            None => (None, None, None),
        };
        Ok(App {
            config,
            runtime,
            plugins,
            tenant,
            upstream,
            sandbox,
            db,
            db_key,
            selection,
            health: Health::new(default_domain),
            announcement: Announcement::default(),
            last_backup: LastBackup::default(),
        })
    }

    /// The plugins as now loaded. A call holds on to the registry it started
    /// with, so a plugin swapped meanwhile finishes on its old version.
    pub fn registry(&self) -> Arc<Registry> {
        self.plugins.current()
    }

    /// The key the database was opened with (for backups).
    pub fn db_key(&self) -> Option<&DbKey> {
        self.db_key.as_ref()
    }

    /// Records the audit head and drops the serving mark; called when the
    /// server stops.
    pub fn close(&self) {
        if let Some(db) = &self.db {
            crate::store::chain::record_head(db, "stop");
            crate::store::serving::unmark_serving(db);
        }
    }

    pub async fn shutdown(self) {
        if let Some(sb) = self.sandbox {
            sb.shutdown().await;
        }
    }
}
