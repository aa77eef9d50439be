//! How the harness starts `m365-admin`: `serve --sandbox` in a data folder
//! of its own with a clean environment, the administrator's commands
//! (`plugins add`, `audit export`) on the same folder while it runs, and the
//! sandbox crate's client of the tenant it started.

use crate::fail;
use m365_sandbox::client::SandboxClient;
use serde_json::Value;
use std::path::{Path, PathBuf};
use std::process::Stdio;
use tokio::process::Command;

/// How to start one server: `serve --sandbox` on its own data folder, with
/// a clean environment (nothing of the caller's configuration leaks in).
#[derive(Clone)]
pub struct Launch {
    /// The `m365-admin` binary.
    pub exe: PathBuf,
    pub dir: PathBuf,
    pub args: Vec<String>,
    pub env: Vec<(String, String)>,
}

impl Launch {
    pub fn sandbox(exe: &Path, dir: &Path, cache: &Path) -> Launch {
        let s = |p: &Path| p.display().to_string();
        Launch {
            exe: exe.to_path_buf(),
            dir: dir.to_path_buf(),
            args: vec!["serve".into(), "--sandbox".into()],
            env: vec![
                ("HOME".into(), s(dir)),
                ("DATABASE_PATH".into(), s(&dir.join("data/m365_admin.db"))),
                ("M365_CACHE_DIR".into(), s(cache)),
                ("M365_PLUGIN_DIR".into(), s(&dir.join("plugins"))),
                ("RATE_LIMIT_ENABLED".into(), "false".into()),
                ("M365_BACKUP_INTERVAL_SECS".into(), "0".into()),
                ("LOG_LEVEL".into(), "warn".into()),
            ],
        }
    }

    /// Sets (or replaces) one environment variable.
    pub fn env(mut self, key: &str, value: impl Into<String>) -> Launch {
        self.env.retain(|(k, _)| k != key);
        self.env.push((key.into(), value.into()));
        self
    }

    pub fn args(mut self, args: &[&str]) -> Launch {
        self.args = args.iter().map(|a| a.to_string()).collect();
        self
    }

    pub fn command(&self) -> Command {
        let mut cmd = Command::new(&self.exe);
        cmd.args(&self.args)
            .env_clear()
            .env("PATH", std::env::var("PATH").unwrap_or_default())
            .envs(self.env.iter().map(|(k, v)| (k, v)))
            .kill_on_drop(true);
        cmd
    }

    /// A client of the sandbox tenant (request log, faults, seats, state,
    /// outbox), as its `endpoint.json` describes it once the server has
    /// started.
    pub fn control(&self) -> std::io::Result<SandboxClient> {
        SandboxClient::from_endpoint_file(&self.dir.join("data/sandbox")).map_err(fail)
    }

    /// Approves and installs a plugin folder the way an administrator does
    /// (`plugins add --yes --sandbox`); returns what it printed.
    pub async fn approve(&self, plugin: &Path) -> std::io::Result<Value> {
        let path = plugin.display().to_string();
        let out = self
            .clone()
            .args(&["plugins", "add", &path, "--yes", "--sandbox"])
            .command()
            .stdin(Stdio::null())
            .output()
            .await?;
        if !out.status.success() {
            return Err(fail(format!(
                "plugins add {path} failed: {}",
                String::from_utf8_lossy(&out.stderr)
                    .lines()
                    .last()
                    .unwrap_or("")
            )));
        }
        Ok(serde_json::from_slice(&out.stdout).unwrap_or(Value::Null))
    }

    /// The audit trail's rows from `since` on (`audit export --sandbox`),
    /// read while the server runs.
    pub async fn audit_since(&self, since: time::OffsetDateTime) -> std::io::Result<Vec<Value>> {
        let since = since
            .format(&time::format_description::well_known::Rfc3339)
            .map_err(|e| fail(e.to_string()))?;
        let out = self
            .clone()
            .args(&["audit", "export", "--sandbox", "--since", &since])
            .command()
            .stdin(Stdio::null())
            .output()
            .await?;
        if !out.status.success() {
            return Err(fail(format!(
                "audit export failed: {}",
                String::from_utf8_lossy(&out.stderr)
            )));
        }
        Ok(String::from_utf8_lossy(&out.stdout)
            .lines()
            .filter_map(|l| serde_json::from_str(l).ok())
            .collect())
    }
}
