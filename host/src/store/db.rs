//! Opening the encrypted database: refusing what is not ours, keying,
//! connection settings and schema migrations.

use super::{DbKey, StoreError};
use rusqlite::{Connection, OpenFlags, TransactionBehavior};
use serde::Serialize;
use std::io::Read;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;
use time::OffsetDateTime;

/// One connection shared by every task: SQLite serialises writers anyway, and
/// the lock is held for one short transaction at a time.
#[derive(Clone)]
pub struct Database {
    inner: Arc<Inner>,
}

struct Inner {
    conn: Mutex<Connection>,
    path: PathBuf,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct DbStatus {
    pub schema_version: u32,
    pub documents: u64,
    pub audit_rows: u64,
}

const SQLITE_HEADER: &[u8; 16] = b"SQLite format 3\0";

/// How long a writer waits for another process (the CLI next to a running
/// server) before giving up with "busy".
const BUSY_TIMEOUT: Duration = Duration::from_secs(5);

/// The schema, one step per version; `PRAGMA user_version` is the number of
/// steps applied. Steps are only ever appended, never edited.
pub(crate) const MIGRATIONS: &[&str] = &[
    // 1: documents, their history, logs, the audit trail, confirmations.
    r#"
    CREATE TABLE documents (
        ns TEXT NOT NULL,
        key TEXT NOT NULL,
        value TEXT NOT NULL,
        version INTEGER NOT NULL,
        updated_at TEXT NOT NULL,
        PRIMARY KEY (ns, key)
    ) WITHOUT ROWID;
    CREATE TABLE document_history (
        ns TEXT NOT NULL,
        key TEXT NOT NULL,
        version INTEGER NOT NULL,
        value TEXT,
        updated_at TEXT NOT NULL,
        deleted INTEGER NOT NULL,
        PRIMARY KEY (ns, key, version)
    ) WITHOUT ROWID;
    CREATE TABLE logs (
        ns TEXT NOT NULL,
        log TEXT NOT NULL,
        seq INTEGER NOT NULL,
        entry TEXT NOT NULL,
        at TEXT NOT NULL,
        PRIMARY KEY (ns, log, seq)
    ) WITHOUT ROWID;
    CREATE TABLE log_usage (
        ns TEXT PRIMARY KEY,
        entries INTEGER NOT NULL
    ) WITHOUT ROWID;
    CREATE TABLE audit (
        id INTEGER PRIMARY KEY,
        at TEXT NOT NULL,
        kind TEXT NOT NULL,
        event TEXT,
        call_id TEXT,
        tool TEXT,
        plugin TEXT,
        arguments TEXT,
        outcome TEXT,
        error_code TEXT,
        duration_ms INTEGER,
        request_ids TEXT,
        method TEXT,
        path TEXT,
        status INTEGER,
        attempts INTEGER,
        detail TEXT,
        prev_hash TEXT NOT NULL,
        hash TEXT NOT NULL
    );
    CREATE INDEX audit_at ON audit (at);
    CREATE INDEX audit_call_id ON audit (call_id);
    CREATE TABLE confirmations (
        token_hash TEXT PRIMARY KEY,
        tool TEXT NOT NULL,
        args_hash TEXT NOT NULL,
        plan TEXT NOT NULL,
        created_at TEXT NOT NULL,
        expires_at TEXT NOT NULL,
        used_at TEXT
    );
    CREATE INDEX confirmations_expires_at ON confirmations (expires_at);
    "#,
    // 2: plugins an administrator approved, with the digest and grants approved.
    r#"
    CREATE TABLE plugin_approvals (
        name TEXT PRIMARY KEY,
        version TEXT NOT NULL,
        digest TEXT NOT NULL,
        grants TEXT NOT NULL,
        approved_at TEXT NOT NULL
    );
    "#,
];

impl Database {
    /// Opens the database at `path` with `key`, creating it (and its folder)
    /// only when no file exists there. An empty file counts as no database:
    /// it is what a creation interrupted before its first write leaves.
    pub fn open(path: &Path, key: &DbKey) -> Result<Database, StoreError> {
        if key.is_empty() {
            return Err(StoreError::KeyEmpty);
        }
        create_private_if_missing(path)?;
        check_not_plain(path)?;
        // Without CREATE: if the file vanished since, fail rather than make
        // a new database the caller did not ask for.
        let conn = Connection::open_with_flags(
            path,
            OpenFlags::SQLITE_OPEN_READ_WRITE | OpenFlags::SQLITE_OPEN_NO_MUTEX,
        )?;
        conn.busy_timeout(BUSY_TIMEOUT)?;
        key.apply(&conn)?;
        check_key(&conn, path)?;
        configure(&conn)?;
        migrate(&conn, path)?;
        Ok(Database {
            inner: Arc::new(Inner {
                conn: Mutex::new(conn),
                path: path.to_path_buf(),
            }),
        })
    }

    pub fn path(&self) -> &Path {
        &self.inner.path
    }

    /// A quick health check: reading the counts touches the schema and both
    /// big tables, so a damaged or unreadable file shows here.
    pub fn status(&self) -> Result<DbStatus, StoreError> {
        self.read(|conn| {
            let schema_version = conn.pragma_query_value(None, "user_version", |r| r.get(0))?;
            let documents: i64 =
                conn.query_row("SELECT count(*) FROM documents", [], |r| r.get(0))?;
            let audit_rows: i64 = conn.query_row("SELECT count(*) FROM audit", [], |r| r.get(0))?;
            Ok(DbStatus {
                schema_version,
                documents: documents as u64,
                audit_rows: audit_rows as u64,
            })
        })
    }

    fn lock(&self) -> MutexGuard<'_, Connection> {
        // A panic inside a transaction rolled it back as it unwound, so the
        // connection behind a poisoned lock is still consistent.
        self.inner.conn.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Runs `f` in one read transaction, so multi-statement reads see one
    /// snapshot.
    pub(crate) fn read<T>(
        &self,
        f: impl FnOnce(&rusqlite::Transaction<'_>) -> Result<T, StoreError>,
    ) -> Result<T, StoreError> {
        let mut conn = self.lock();
        let tx = conn.transaction_with_behavior(TransactionBehavior::Deferred)?;
        let out = f(&tx)?;
        tx.commit()?;
        Ok(out)
    }

    /// Runs `f` in one write transaction; an error rolls everything back.
    /// IMMEDIATE takes the write lock up front, so a transaction that read
    /// first never fails half-way because another process wrote meanwhile.
    pub(crate) fn write<T>(
        &self,
        f: impl FnOnce(&rusqlite::Transaction<'_>) -> Result<T, StoreError>,
    ) -> Result<T, StoreError> {
        let mut conn = self.lock();
        let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
        let out = f(&tx)?;
        tx.commit()?;
        Ok(out)
    }
}

/// Creates an empty file readable only by its owner when none exists; SQLite
/// then initialises it, and gives the -wal and -shm files the same mode.
fn create_private_if_missing(path: &Path) -> Result<(), StoreError> {
    if path.exists() {
        return Ok(());
    }
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
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => Ok(()),
        Err(e) => Err(StoreError::io("create the database", path, e)),
    }
}

/// SQLCipher given a key would otherwise report a plain database as "not a
/// database"; checking the header first lets us say what it really is.
pub(crate) fn check_not_plain(path: &Path) -> Result<(), StoreError> {
    let mut file =
        std::fs::File::open(path).map_err(|e| StoreError::io("open the database", path, e))?;
    let mut header = [0u8; 16];
    let mut filled = 0;
    while filled < header.len() {
        match file.read(&mut header[filled..]) {
            Ok(0) => break,
            Ok(n) => filled += n,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
            Err(e) => return Err(StoreError::io("read the database", path, e)),
        }
    }
    if filled == header.len() && &header == SQLITE_HEADER {
        return Err(StoreError::NotEncrypted {
            path: path.to_path_buf(),
        });
    }
    Ok(())
}

/// The first read decrypts page 1; a wrong key (or a file that is not a
/// database) fails here, before anything is written.
pub(crate) fn check_key(conn: &Connection, path: &Path) -> Result<(), StoreError> {
    let cipher: Option<String> = conn
        .query_row("PRAGMA cipher_version", [], |r| r.get(0))
        .ok();
    if cipher.is_none_or(|v| v.is_empty()) {
        return Err(StoreError::NoCipher);
    }
    match conn.query_row("SELECT count(*) FROM sqlite_master", [], |r| {
        r.get::<_, i64>(0)
    }) {
        Ok(_) => Ok(()),
        Err(e) if e.sqlite_error_code() == Some(rusqlite::ErrorCode::NotADatabase) => {
            Err(StoreError::WrongKey {
                path: path.to_path_buf(),
            })
        }
        Err(e) => Err(e.into()),
    }
}

fn configure(conn: &Connection) -> Result<(), StoreError> {
    // WAL lets the CLI read (audit tail, backup) while the server writes.
    let mode: String = conn.pragma_update_and_check(None, "journal_mode", "WAL", |r| r.get(0))?;
    if !mode.eq_ignore_ascii_case("wal") {
        return Err(StoreError::Invalid(format!(
            "The database could not be switched to WAL journaling (it reports `{mode}`). Check that its folder is on a local file system."
        )));
    }
    // In WAL mode NORMAL loses nothing when the process is killed: a commit
    // is in the WAL file, which the OS keeps; only an OS crash or power loss
    // can drop the last commits, and never corrupts the file. FULL would add
    // an fsync to every tool call for that case alone.
    conn.pragma_update(None, "synchronous", "NORMAL")?;
    conn.pragma_update(None, "foreign_keys", "ON")?;
    // Sorts and temporary tables stay in memory instead of temp files,
    // which need not be encrypted.
    conn.pragma_update(None, "temp_store", "MEMORY")?;
    Ok(())
}

fn migrate(conn: &Connection, path: &Path) -> Result<(), StoreError> {
    let known = MIGRATIONS.len() as u32;
    let current: u32 = conn.pragma_query_value(None, "user_version", |r| r.get(0))?;
    if current > known {
        return Err(StoreError::SchemaTooNew {
            path: path.to_path_buf(),
            found: current,
            known,
        });
    }
    for (i, step) in MIGRATIONS.iter().enumerate().skip(current as usize) {
        let target = i as u32 + 1;
        conn.execute_batch("BEGIN IMMEDIATE")?;
        let result = (|| {
            // Another process may have migrated while we waited for the lock.
            let now: u32 = conn.pragma_query_value(None, "user_version", |r| r.get(0))?;
            if now >= target {
                return Ok(());
            }
            conn.execute_batch(step)?;
            conn.pragma_update(None, "user_version", target)?;
            Ok::<(), rusqlite::Error>(())
        })();
        match result {
            Ok(()) => conn.execute_batch("COMMIT")?,
            Err(e) => {
                let _ = conn.execute_batch("ROLLBACK");
                return Err(e.into());
            }
        }
    }
    Ok(())
}

/// Timestamps are UTC with a fixed six-digit fraction, so that comparing the
/// strings compares the times (the audit time index and expiry checks rely
/// on it). It is valid RFC 3339.
pub(crate) fn format_time(t: OffsetDateTime) -> String {
    let t = t.to_offset(time::UtcOffset::UTC);
    let format = time::macros::format_description!(
        "[year]-[month]-[day]T[hour]:[minute]:[second].[subsecond digits:6]Z"
    );
    t.format(&format).expect("a UTC time always formats")
}

pub(crate) fn now() -> String {
    format_time(OffsetDateTime::now_utc())
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use crate::store::key::parse_key;

    pub(crate) const HEX_KEY: &str =
        "0f1e2d3c4b5a69788796a5b4c3d2e1f00f1e2d3c4b5a69788796a5b4c3d2e1f0";

    pub(crate) fn raw_key() -> DbKey {
        parse_key(HEX_KEY)
    }

    /// A database in a fresh temporary folder (kept alive by the returned guard).
    pub(crate) fn temp_db() -> (tempfile::TempDir, Database) {
        let dir = tempfile::tempdir().unwrap();
        let db = Database::open(&dir.path().join("store.db"), &raw_key()).unwrap();
        (dir, db)
    }

    /// A second, plain connection to the same file, as a tamperer would use.
    pub(crate) fn raw_conn(path: &Path, key: &DbKey) -> Connection {
        let conn = Connection::open(path).unwrap();
        key.apply(&conn).unwrap();
        conn.busy_timeout(BUSY_TIMEOUT).unwrap();
        conn
    }

    #[test]
    fn creates_then_reopens() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("nested/dir/store.db");
        let db = Database::open(&path, &raw_key()).unwrap();
        assert_eq!(db.path(), path);
        let status = db.status().unwrap();
        assert_eq!(status.schema_version, MIGRATIONS.len() as u32);
        assert_eq!(status.documents, 0);
        db.doc_put("p", "k", "v", None).unwrap();
        drop(db);
        let db = Database::open(&path, &raw_key()).unwrap();
        assert_eq!(db.doc_get("p", "k").unwrap().unwrap().value, "v");
        assert_eq!(db.status().unwrap().documents, 1);
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(&path).unwrap().permissions().mode() & 0o777;
            assert_eq!(mode, 0o600);
        }
        let json = serde_json::to_value(db.status().unwrap()).unwrap();
        assert_eq!(json["schemaVersion"], MIGRATIONS.len());
        assert_eq!(json["auditRows"], 0);
    }

    #[test]
    fn encryption_is_sqlcipher_over_system_openssl() {
        let (_dir, db) = temp_db();
        let conn = raw_conn(db.path(), &raw_key());
        let provider: String = conn
            .query_row("PRAGMA cipher_provider", [], |r| r.get(0))
            .unwrap();
        assert_eq!(provider, "openssl");
        // SQLCipher 4 defaults: AES-256-CBC pages authenticated by HMAC-SHA512.
        let hmac: String = conn
            .query_row("PRAGMA cipher_hmac_algorithm", [], |r| r.get(0))
            .unwrap();
        assert_eq!(hmac, "HMAC_SHA512");
    }

    #[test]
    fn wrong_key_is_refused_and_nothing_changes() {
        let (dir, db) = temp_db();
        db.doc_put("p", "k", "v", None).unwrap();
        drop(db);
        let path = dir.path().join("store.db");
        let before = std::fs::read(&path).unwrap();
        let other = parse_key(&"ab".repeat(32));
        let err = Database::open(&path, &other).err().unwrap();
        assert!(matches!(err, StoreError::WrongKey { .. }), "{err:?}");
        assert!(!err.to_string().contains(&"ab".repeat(32)));
        let err = Database::open(&path, &parse_key("not-the-passphrase"))
            .err()
            .unwrap();
        assert!(matches!(err, StoreError::WrongKey { .. }), "{err:?}");
        assert_eq!(std::fs::read(&path).unwrap(), before);
        // The right key still works afterwards.
        let db = Database::open(&path, &raw_key()).unwrap();
        assert_eq!(db.doc_get("p", "k").unwrap().unwrap().value, "v");
    }

    #[test]
    fn plain_sqlite_is_refused_and_left_alone() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("plain.db");
        {
            let conn = Connection::open(&path).unwrap();
            conn.execute_batch("CREATE TABLE t(x); INSERT INTO t VALUES (42);")
                .unwrap();
        }
        let before = std::fs::read(&path).unwrap();
        let err = Database::open(&path, &raw_key()).err().unwrap();
        assert!(matches!(err, StoreError::NotEncrypted { .. }), "{err:?}");
        assert_eq!(std::fs::read(&path).unwrap(), before);
    }

    #[test]
    fn an_existing_file_is_never_replaced() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("junk.db");
        let junk = b"this is not a database, but somebody's file. ".repeat(200);
        std::fs::write(&path, &junk).unwrap();
        let err = Database::open(&path, &raw_key()).err().unwrap();
        assert!(matches!(err, StoreError::WrongKey { .. }), "{err:?}");
        assert_eq!(std::fs::read(&path).unwrap(), junk);
    }

    #[test]
    fn empty_passphrase_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("store.db");
        let err = Database::open(&path, &parse_key("")).err().unwrap();
        assert!(matches!(err, StoreError::KeyEmpty));
        assert!(!path.exists());
    }

    #[test]
    fn passphrase_and_raw_keys_both_work_and_differ() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("pass.db");
        let pass = parse_key("a long test passphrase 0193");
        let db = Database::open(&path, &pass).unwrap();
        db.doc_put("p", "k", "v", None).unwrap();
        drop(db);
        let db = Database::open(&path, &parse_key("a long test passphrase 0193")).unwrap();
        assert_eq!(db.doc_get("p", "k").unwrap().unwrap().value, "v");
        drop(db);
        assert!(matches!(
            Database::open(&path, &raw_key()),
            Err(StoreError::WrongKey { .. })
        ));
    }

    #[test]
    fn newer_schema_is_refused() {
        let (dir, db) = temp_db();
        drop(db);
        let path = dir.path().join("store.db");
        raw_conn(&path, &raw_key())
            .pragma_update(None, "user_version", 99)
            .unwrap();
        let err = Database::open(&path, &raw_key()).err().unwrap();
        assert!(
            matches!(
                err,
                StoreError::SchemaTooNew {
                    found: 99,
                    known,
                    ..
                } if known as usize == MIGRATIONS.len()
            ),
            "{err:?}"
        );
        assert!(err.to_string().contains("newer release"));
    }

    #[test]
    fn file_bytes_hold_no_plaintext() {
        let (dir, db) = temp_db();
        let path = dir.path().join("store.db");
        let doc_secret = "PLAINTEXT-DOCUMENT-VALUE-5c7e";
        let arg_secret = "PLAINTEXT-AUDIT-ARGUMENT-9d21";
        db.doc_put("plugin", "doc", &doc_secret.repeat(10), None)
            .unwrap();
        db.log_append("plugin", "log", doc_secret).unwrap();
        db.audit_call(&crate::store::audit::CallAudit {
            at: OffsetDateTime::now_utc(),
            call_id: "c1",
            tool: "users_update",
            plugin: "users",
            arguments: &serde_json::json!({ "displayName": arg_secret }),
            outcome: "ok",
            error_code: None,
            duration_ms: 3,
            requests: &[],
        })
        .unwrap();
        // The values really are stored, readable through the key.
        assert!(
            db.audit_tail(1).unwrap()[0]
                .arguments
                .as_deref()
                .unwrap()
                .contains(arg_secret)
        );
        let scan = |p: &Path| {
            let bytes = std::fs::read(p).unwrap_or_default();
            for needle in [doc_secret, arg_secret, "SQLite format 3", "CREATE TABLE"] {
                assert!(
                    !bytes.windows(needle.len()).any(|w| w == needle.as_bytes()),
                    "{} holds {needle:?}",
                    p.display()
                );
            }
            bytes.len()
        };
        let wal = dir.path().join("store.db-wal");
        assert!(scan(&wal) > 0, "the WAL should hold the commits");
        scan(&path);
        drop(db);
        scan(&path);
        scan(&wal);
    }

    #[test]
    fn times_sort_as_strings() {
        let a = format_time(time::macros::datetime!(2026-01-02 03:04:05.1 UTC));
        let b = format_time(time::macros::datetime!(2026-01-02 03:04:05.123456 UTC));
        let c = format_time(time::macros::datetime!(2026-01-02 05:04:05 +02:00));
        assert_eq!(a, "2026-01-02T03:04:05.100000Z");
        assert!(a < b && c < a, "{c} {a} {b}");
        assert!(OffsetDateTime::parse(&b, &time::format_description::well_known::Rfc3339).is_ok());
    }
}
