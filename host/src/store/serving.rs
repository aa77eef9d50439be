//! While `serve` runs, `<database>.serving` holds its process id, so that
//! `db restore` can refuse to pull the file from under a running server.

use crate::store::Database;
use std::path::{Path, PathBuf};

pub fn serving_mark(db_path: &Path) -> PathBuf {
    let mut name = db_path.as_os_str().to_owned();
    name.push(".serving");
    PathBuf::from(name)
}

pub fn mark_serving(db: &Database) {
    if let Err(e) = std::fs::write(serving_mark(db.path()), std::process::id().to_string()) {
        tracing::warn!(error = %e, "could not write the serving mark beside the database");
    }
}

pub fn unmark_serving(db: &Database) {
    let _ = std::fs::remove_file(serving_mark(db.path()));
}

/// The process id of a server still using the database, if any. A mark left
/// by a killed server is ignored when the system can tell (Linux's /proc).
pub fn running_server(db_path: &Path) -> Option<u32> {
    let pid: u32 = std::fs::read_to_string(serving_mark(db_path))
        .ok()?
        .trim()
        .parse()
        .ok()?;
    let proc = Path::new("/proc");
    if proc.exists() && !proc.join(pid.to_string()).exists() {
        return None;
    }
    Some(pid)
}
