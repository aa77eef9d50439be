//! Scheduled backups while `serve` runs (spec §10.2): one encrypted backup a
//! day into the backup folder, each verified right after it is written
//! (opened with the key, audit chain checked), and those older than the
//! retention removed. Health shows the newest.

use crate::store::Database;
use crate::store::key::DbKey;
use serde_json::{Value, json};
use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::time::{Duration, SystemTime};

const PREFIX: &str = "m365_admin-";

/// The newest backup's time and whether it verified, for health.
#[derive(Default)]
pub struct LastBackup(Mutex<Option<Value>>);

impl LastBackup {
    pub fn get(&self) -> Value {
        self.0.lock().unwrap().clone().unwrap_or(Value::Null)
    }
    fn set(&self, v: Value) {
        *self.0.lock().unwrap() = Some(v);
    }
}

fn backups(dir: &Path) -> Vec<(PathBuf, SystemTime)> {
    let mut out: Vec<(PathBuf, SystemTime)> = std::fs::read_dir(dir)
        .map(|r| {
            r.filter_map(|e| e.ok())
                .map(|e| e.path())
                .filter(|p| {
                    p.file_name()
                        .and_then(|n| n.to_str())
                        .is_some_and(|n| n.starts_with(PREFIX) && n.ends_with(".db"))
                })
                .filter_map(|p| {
                    let t = std::fs::metadata(&p).and_then(|m| m.modified()).ok()?;
                    Some((p, t))
                })
                .collect()
        })
        .unwrap_or_default();
    out.sort_by_key(|(_, t)| *t);
    out
}

/// Takes a backup if the newest is older than `every`, verifies it, and
/// removes backups older than `keep`.
pub fn run_once(
    db: &Database,
    key: &DbKey,
    dir: &Path,
    every: Duration,
    keep: Duration,
    last: &LastBackup,
) {
    let now = SystemTime::now();
    let newest = backups(dir).last().cloned();
    let due = newest
        .as_ref()
        .is_none_or(|(_, t)| now.duration_since(*t).unwrap_or_default() >= every);
    if due {
        if let Err(e) = std::fs::create_dir_all(dir) {
            tracing::error!(dir = %dir.display(), error = %e, "cannot create the backup folder");
            return;
        }
        let stamp = time::OffsetDateTime::now_utc()
            .format(time::macros::format_description!(
                "[year][month][day]T[hour][minute][second]Z"
            ))
            .unwrap_or_default();
        let path = dir.join(format!("{PREFIX}{stamp}.db"));
        let outcome = db
            .backup_to(&path, key)
            .and_then(|_| super::backup::verify_backup(&path, key));
        match outcome {
            Ok(head) => {
                tracing::info!(file = %path.display(), audit_rows = head.rows, "scheduled backup taken and verified");
                let _ = db.audit_event(
                    "backup",
                    &json!({"file": path, "auditRows": head.rows, "scheduled": true}),
                );
                last.set(json!({"file": path, "at": super::db::now(), "verified": true, "auditRows": head.rows}));
            }
            Err(e) => {
                let e = crate::errors::CodedError::from(e);
                tracing::error!(file = %path.display(), error = %e, "scheduled backup failed");
                last.set(json!({"file": path, "at": super::db::now(), "verified": false, "error": e.message}));
            }
        }
    } else if let Some((path, t)) = newest {
        let at = time::OffsetDateTime::from(t)
            .format(&time::format_description::well_known::Rfc3339)
            .unwrap_or_default();
        let verified = super::backup::verify_backup(&path, key).is_ok();
        last.set(json!({"file": path, "at": at, "verified": verified}));
    }
    for (path, t) in backups(dir) {
        if now.duration_since(t).unwrap_or_default() > keep {
            let _ = std::fs::remove_file(&path);
            let mut head = path.as_os_str().to_owned();
            head.push(".audit-head.json");
            let _ = std::fs::remove_file(PathBuf::from(head));
            tracing::info!(file = %path.display(), "old backup removed");
        }
    }
}
