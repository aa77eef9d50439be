//! Encrypted backups with SQLite's online backup API, and restoring one.

use super::audit::{self, AuditHead, head_file_path, read_head_file, write_head_file};
use super::db::{Database, MIGRATIONS, check_key, check_not_plain};
use super::{DbKey, StoreError};
use rusqlite::backup::{Backup, StepResult};
use rusqlite::{Connection, OpenFlags};
use serde::Serialize;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct RestoreReport {
    pub restored_from: PathBuf,
    /// Where the database that was replaced now is, if there was one.
    pub previous_kept_as: Option<PathBuf>,
    pub schema_version: u32,
    pub head: AuditHead,
}

/// How long a backup waits for a moment when the source can be read.
const BUSY_WAIT: Duration = Duration::from_secs(10);

impl Database {
    /// Writes a consistent encrypted copy of the database to `dest`, keyed
    /// with `key` (the database's own key: SQLCipher's backup API copies
    /// between databases keyed alike). Refuses to overwrite anything. Writes
    /// the copy's audit head beside it and returns that head.
    ///
    /// The copy is read through a connection of its own in a single backup
    /// step: under WAL that step reads one snapshot while writers carry on,
    /// whereas several steps would restart whenever another connection wrote.
    pub fn backup_to(&self, dest: &Path, key: &DbKey) -> Result<AuditHead, StoreError> {
        create_new_private(dest)?;
        let result = (|| {
            let src = open_keyed(self.path(), key, OpenFlags::SQLITE_OPEN_READ_WRITE)?;
            let mut dst = open_keyed(dest, key, OpenFlags::SQLITE_OPEN_READ_WRITE)?;
            copy(&src, &mut dst)?;
            // A backup is one self-contained file, not a database plus WAL.
            dst.pragma_update_and_check(None, "journal_mode", "DELETE", |r| r.get::<_, String>(0))?;
            let head = audit::head(&dst)?;
            dst.close().map_err(|(_, e)| e)?;
            write_head_file(dest, &head)
                .map_err(|e| StoreError::io("write the audit head beside", dest, e))?;
            Ok(head)
        })();
        if result.is_err() {
            remove_database_files(dest);
        }
        result
    }
}

/// Restores `from`, a backup made with the same key, over the database at
/// `db_path`. Nothing is changed unless the backup opens with `key`, is not
/// from a newer release, and its audit chain verifies (against the head file
/// beside it, if any). The database it replaces is kept, with its WAL, as
/// `<db_path>.before-restore-<UTC time>`.
///
/// Must be called while nothing has the database open (no server running):
/// a process that has it open would go on using the replaced file.
pub fn restore(db_path: &Path, key: &DbKey, from: &Path) -> Result<RestoreReport, StoreError> {
    if !from.exists() {
        return Err(StoreError::io(
            "find the backup",
            from,
            std::io::ErrorKind::NotFound.into(),
        ));
    }
    if same_file(db_path, from) {
        return Err(StoreError::Invalid(format!(
            "{} is the database itself, not a backup of it. Give the path of a backup file.",
            from.display()
        )));
    }
    check_not_plain(from)?;
    let src = open_keyed(from, key, OpenFlags::SQLITE_OPEN_READ_ONLY)?;
    let schema_version: u32 = src.pragma_query_value(None, "user_version", |r| r.get(0))?;
    let known = MIGRATIONS.len() as u32;
    if schema_version > known {
        return Err(StoreError::SchemaTooNew {
            path: from.to_path_buf(),
            found: schema_version,
            known,
        });
    }
    let report = audit::verify(&src, read_head_file(from).as_ref())?;
    if let Some(b) = report.first_broken {
        return Err(StoreError::BackupBroken {
            path: from.to_path_buf(),
            explanation: b.explanation,
        });
    }

    let kept = set_aside(db_path)?;
    let result = (|| {
        create_new_private(db_path)?;
        let mut dst = open_keyed(db_path, key, OpenFlags::SQLITE_OPEN_READ_WRITE)?;
        copy(&src, &mut dst)?;
        let head = audit::head(&dst)?;
        dst.close().map_err(|(_, e)| e)?;
        write_head_file(db_path, &head)
            .map_err(|e| StoreError::io("write the audit head beside", db_path, e))?;
        Ok(head)
    })();
    match result {
        Ok(head) => Ok(RestoreReport {
            restored_from: from.to_path_buf(),
            previous_kept_as: kept,
            schema_version,
            head,
        }),
        Err(e) => {
            // Put the old database back as it was.
            remove_database_files(db_path);
            if let Some(k) = &kept {
                for (a, b) in companions(k).into_iter().zip(companions(db_path)) {
                    let _ = std::fs::rename(a, b);
                }
            }
            Err(e)
        }
    }
}

/// Checks that a backup opens with `key` and that its audit chain verifies
/// against the head written beside it; returns that head.
pub fn verify_backup(path: &Path, key: &DbKey) -> Result<AuditHead, StoreError> {
    check_not_plain(path)?;
    let src = open_keyed(path, key, OpenFlags::SQLITE_OPEN_READ_ONLY)?;
    let report = audit::verify(&src, read_head_file(path).as_ref())?;
    if let Some(b) = report.first_broken {
        return Err(StoreError::BackupBroken {
            path: path.to_path_buf(),
            explanation: b.explanation,
        });
    }
    audit::head(&src)
}

fn open_keyed(path: &Path, key: &DbKey, flags: OpenFlags) -> Result<Connection, StoreError> {
    let conn = Connection::open_with_flags(path, flags | OpenFlags::SQLITE_OPEN_NO_MUTEX)?;
    conn.busy_timeout(BUSY_WAIT)?;
    key.apply(&conn)?;
    check_key(&conn, path)?;
    Ok(conn)
}

fn copy(src: &Connection, dst: &mut Connection) -> Result<(), StoreError> {
    let backup = Backup::new(src, dst)?;
    let started = Instant::now();
    loop {
        match backup.step(-1)? {
            StepResult::Done => return Ok(()),
            StepResult::More => {}
            StepResult::Busy | StepResult::Locked if started.elapsed() < BUSY_WAIT => {
                std::thread::sleep(Duration::from_millis(50));
            }
            StepResult::Busy | StepResult::Locked => {
                return Err(StoreError::Invalid(
                    "The database stayed locked for the whole backup. Try again when it is less busy."
                        .into(),
                ));
            }
            _ => {}
        }
    }
}

/// Claims `path` for a new file, readable by its owner only; fails if
/// anything is there already.
fn create_new_private(path: &Path) -> Result<(), StoreError> {
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir).map_err(|e| StoreError::io("create the folder", dir, e))?;
    }
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o600);
    }
    match options.open(path) {
        Ok(_) => Ok(()),
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => Err(StoreError::Exists {
            path: path.to_path_buf(),
        }),
        Err(e) => Err(StoreError::io("create", path, e)),
    }
}

/// The database file and what belongs with it: its WAL, shared memory,
/// rollback journal and audit head file.
fn companions(db_path: &Path) -> Vec<PathBuf> {
    let with = |suffix: &str| {
        let mut p = db_path.as_os_str().to_owned();
        p.push(suffix);
        PathBuf::from(p)
    };
    vec![
        db_path.to_path_buf(),
        with("-wal"),
        with("-shm"),
        with("-journal"),
        head_file_path(db_path),
    ]
}

fn remove_database_files(db_path: &Path) {
    for p in companions(db_path) {
        let _ = std::fs::remove_file(p);
    }
}

/// Renames the current database and its companions to
/// `<db_path>.before-restore-<UTC time>`; the WAL moves with it, so nothing
/// committed is lost and no stale WAL is left to be replayed into the
/// restored file.
fn set_aside(db_path: &Path) -> Result<Option<PathBuf>, StoreError> {
    if !db_path.exists() {
        // A WAL without its database must not meet the restored file.
        for p in companions(db_path).into_iter().skip(1) {
            let _ = std::fs::remove_file(p);
        }
        return Ok(None);
    }
    let stamp = time::OffsetDateTime::now_utc()
        .format(time::macros::format_description!(
            "[year][month][day]T[hour][minute][second]Z"
        ))
        .expect("a UTC time always formats");
    let base = db_path.as_os_str().to_owned();
    let mut kept = None;
    for n in 0..100 {
        let mut candidate = base.clone();
        candidate.push(format!(".before-restore-{stamp}"));
        if n > 0 {
            candidate.push(format!("-{n}"));
        }
        let candidate = PathBuf::from(candidate);
        if companions(&candidate).iter().all(|p| !p.exists()) {
            kept = Some(candidate);
            break;
        }
    }
    let kept = kept.ok_or_else(|| StoreError::Exists {
        path: db_path.with_extension("before-restore"),
    })?;
    for (from, to) in companions(db_path).into_iter().zip(companions(&kept)) {
        if from.exists() {
            std::fs::rename(&from, &to)
                .map_err(|e| StoreError::io("set aside the current database file", &from, e))?;
        }
    }
    Ok(Some(kept))
}

fn same_file(a: &Path, b: &Path) -> bool {
    match (std::fs::canonicalize(a), std::fs::canonicalize(b)) {
        (Ok(a), Ok(b)) => a == b,
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::audit::CallAudit;
    use crate::store::db::tests::{raw_conn, raw_key, temp_db};
    use crate::store::key::parse_key;
    use serde_json::json;
    use std::sync::atomic::{AtomicBool, Ordering};

    fn audit_once(db: &Database, n: u64) {
        db.audit_call(&CallAudit {
            at: time::OffsetDateTime::now_utc(),
            call_id: &format!("c{n}"),
            tool: "t",
            plugin: "p",
            arguments: &json!({ "n": n }),
            outcome: "ok",
            error_code: None,
            duration_ms: n,
            requests: &[],
        })
        .unwrap();
    }

    #[test]
    fn backup_while_writing_then_restore() {
        let (dir, db) = temp_db();
        for i in 0..200 {
            db.doc_put("p", &format!("k{i}"), &"x".repeat(500), None)
                .unwrap();
        }
        let stop = AtomicBool::new(false);
        let dest = dir.path().join("backups/one.db");
        let head = std::thread::scope(|s| {
            let writer = s.spawn(|| {
                let mut n = 0u64;
                while !stop.load(Ordering::Relaxed) {
                    audit_once(&db, n);
                    db.doc_put("p", "counter", &n.to_string(), None).unwrap();
                    n += 1;
                }
                n
            });
            // Let the writer get going, then back up under it.
            while db.audit_head().unwrap().rows < 20 {
                std::thread::sleep(Duration::from_millis(1));
            }
            let head = db.backup_to(&dest, &raw_key()).unwrap();
            stop.store(true, Ordering::Relaxed);
            assert!(writer.join().unwrap() >= 20);
            head
        });
        assert!(head.rows >= 20);
        assert_eq!(read_head_file(&dest), Some(head.clone()));
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(&dest).unwrap().permissions().mode() & 0o777;
            assert_eq!(mode, 0o600);
        }
        assert!(!dir.path().join("backups/one.db-wal").exists());

        // The backup opens with the key, verifies, and holds the snapshot.
        let copy = Database::open(&dest, &raw_key()).unwrap();
        let report = copy.audit_verify(read_head_file(&dest).as_ref()).unwrap();
        assert!(report.ok, "{report:?}");
        assert_eq!(report.rows, head.rows);
        assert_eq!(copy.doc_list("p", "k", None, 1000).unwrap().len(), 200);
        let counter_in_backup = copy.doc_get("p", "counter").unwrap().unwrap().value;
        drop(copy);
        assert!(matches!(
            Database::open(&dest, &parse_key(&"cd".repeat(32))),
            Err(StoreError::WrongKey { .. })
        ));

        // Never over an existing file.
        let err = db.backup_to(&dest, &raw_key()).unwrap_err();
        assert!(matches!(err, StoreError::Exists { .. }), "{err:?}");

        // Later changes, then restore: back to the backup's state.
        db.doc_put("p", "after-backup", "v", None).unwrap();
        audit_once(&db, 9999);
        let db_path = db.path().to_path_buf();
        drop(db);
        let report = restore(&db_path, &raw_key(), &dest).unwrap();
        assert_eq!(report.head, head);
        assert_eq!(
            report.schema_version,
            super::super::db::MIGRATIONS.len() as u32
        );
        let kept = report.previous_kept_as.clone().unwrap();
        assert!(kept.to_string_lossy().contains("store.db.before-restore-"));
        assert_eq!(read_head_file(&db_path), Some(head.clone()));

        let db = Database::open(&db_path, &raw_key()).unwrap();
        assert_eq!(db.doc_get("p", "after-backup").unwrap(), None);
        assert_eq!(
            db.doc_get("p", "counter").unwrap().unwrap().value,
            counter_in_backup
        );
        assert!(
            db.audit_verify(read_head_file(&db_path).as_ref())
                .unwrap()
                .ok
        );
        // The replaced database is intact under its new name.
        let old = Database::open(&kept, &raw_key()).unwrap();
        assert!(old.doc_get("p", "after-backup").unwrap().is_some());
        assert!(old.audit_verify(None).unwrap().ok);
        drop(old);

        // And restoring the set-aside file undoes the restore, though it is a
        // WAL-mode database rather than a backup.
        drop(db);
        let undo = restore(&db_path, &raw_key(), &kept).unwrap();
        assert!(undo.head.rows > head.rows);
        let db = Database::open(&db_path, &raw_key()).unwrap();
        assert!(db.doc_get("p", "after-backup").unwrap().is_some());
        assert!(
            db.audit_verify(read_head_file(&db_path).as_ref())
                .unwrap()
                .ok
        );
    }

    #[test]
    fn passphrase_databases_back_up_and_restore_too() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("p.db");
        let key = parse_key("backup passphrase for tests 4419");
        let db = Database::open(&path, &key).unwrap();
        db.doc_put("p", "k", "v", None).unwrap();
        let dest = dir.path().join("p.backup");
        db.backup_to(&dest, &key).unwrap();
        db.doc_put("p", "k", "changed", None).unwrap();
        drop(db);
        restore(&path, &key, &dest).unwrap();
        let db = Database::open(&path, &key).unwrap();
        assert_eq!(db.doc_get("p", "k").unwrap().unwrap().value, "v");
    }

    #[test]
    fn backup_with_the_wrong_key_leaves_nothing() {
        let (dir, db) = temp_db();
        let dest = dir.path().join("b.db");
        let err = db
            .backup_to(&dest, &parse_key(&"12".repeat(32)))
            .unwrap_err();
        assert!(matches!(err, StoreError::WrongKey { .. }), "{err:?}");
        assert!(!dest.exists());
    }

    #[test]
    fn restore_refuses_wrong_key_and_broken_chain_and_changes_nothing() {
        let (dir, db) = temp_db();
        audit_once(&db, 1);
        audit_once(&db, 2);
        let dest = dir.path().join("b.db");
        db.backup_to(&dest, &raw_key()).unwrap();
        let db_path = db.path().to_path_buf();
        drop(db);
        let listing = || {
            let mut v: Vec<_> = std::fs::read_dir(dir.path())
                .unwrap()
                .map(|e| e.unwrap().file_name())
                .collect();
            v.sort();
            v
        };
        let db_bytes = std::fs::read(&db_path).unwrap();
        let before = listing();

        let err = restore(&db_path, &parse_key(&"34".repeat(32)), &dest).unwrap_err();
        assert!(matches!(err, StoreError::WrongKey { .. }), "{err:?}");
        assert_eq!(listing(), before);

        raw_conn(&dest, &raw_key())
            .execute_batch("UPDATE audit SET outcome = 'error' WHERE id = 2")
            .unwrap();
        let err = restore(&db_path, &raw_key(), &dest).unwrap_err();
        assert!(matches!(err, StoreError::BackupBroken { .. }), "{err:?}");
        assert!(err.to_string().contains("row 2"), "{err}");
        assert_eq!(listing(), before);
        assert_eq!(std::fs::read(&db_path).unwrap(), db_bytes);

        let err = restore(&db_path, &raw_key(), &db_path).unwrap_err();
        assert!(matches!(err, StoreError::Invalid(_)), "{err:?}");
        assert!(restore(&db_path, &raw_key(), &dir.path().join("missing.db")).is_err());
    }

    #[test]
    fn a_truncated_backup_is_refused_against_its_head_file() {
        let (dir, db) = temp_db();
        for n in 0..4 {
            audit_once(&db, n);
        }
        let dest = dir.path().join("b.db");
        db.backup_to(&dest, &raw_key()).unwrap();
        raw_conn(&dest, &raw_key())
            .execute_batch("DELETE FROM audit WHERE id = 4")
            .unwrap();
        let db_path = db.path().to_path_buf();
        drop(db);
        let err = restore(&db_path, &raw_key(), &dest).unwrap_err();
        assert!(matches!(err, StoreError::BackupBroken { .. }), "{err:?}");
    }

    #[test]
    fn restore_into_an_empty_place() {
        let (dir, db) = temp_db();
        db.doc_put("p", "k", "v", None).unwrap();
        let dest = dir.path().join("b.db");
        db.backup_to(&dest, &raw_key()).unwrap();
        drop(db);
        let fresh = dir.path().join("elsewhere/new.db");
        let report = restore(&fresh, &raw_key(), &dest).unwrap();
        assert_eq!(report.previous_kept_as, None);
        let db = Database::open(&fresh, &raw_key()).unwrap();
        assert_eq!(db.doc_get("p", "k").unwrap().unwrap().value, "v");
    }
}
