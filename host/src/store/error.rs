//! What can go wrong in the store, each said as what happened and what to do.
//! No variant carries key material: keys never reach an error, and the coded
//! form is passed through `secret::redact` as well.

use crate::errors::{CodedError, ErrorCode};
use std::path::PathBuf;

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error(
        "Could not {action} {}: {source}. Check that the path is right and that the user running m365-admin may read and write there.",
        path.display()
    )]
    Io {
        action: &'static str,
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },

    #[error(
        "The key file {} can be read or written by other users (mode {mode:04o}). Run `chmod 600 {}` and try again.",
        path.display(),
        path.display()
    )]
    KeyFileInsecure { path: PathBuf, mode: u32 },

    #[error(
        "The key file {} is empty. Put the database key in it (64 hex digits or a passphrase), or remove it in sandbox mode to have a new one generated.",
        path.display()
    )]
    KeyFileEmpty { path: PathBuf },

    #[error(
        "The database key is empty. Set DB_ENCRYPTION_KEY to 64 hex digits (a raw 256-bit key) or a passphrase; an empty key would leave the database unencrypted."
    )]
    KeyEmpty,

    #[error(
        "The file at {} is a plain, unencrypted SQLite database, not an encrypted m365-admin database; it was left unchanged. Set DATABASE_PATH to another file, or move this one away.",
        path.display()
    )]
    NotEncrypted { path: PathBuf },

    #[error(
        "The database at {} could not be opened with the key given: the key is wrong or the file is not an m365-admin database. Set DB_ENCRYPTION_KEY to the key it was created with, or restore a backup with `m365-admin db restore`.",
        path.display()
    )]
    WrongKey { path: PathBuf },

    #[error(
        "This m365-admin was built without SQLCipher, so it cannot encrypt its database. Install a build made with the `bundled-sqlcipher` feature."
    )]
    NoCipher,

    #[error(
        "The database at {} has schema version {found}, but this m365-admin knows versions up to {known}: it was written by a newer release. Upgrade m365-admin, or restore a backup made by this release.",
        path.display()
    )]
    SchemaTooNew {
        path: PathBuf,
        found: u32,
        known: u32,
    },

    #[error(
        "Document `{key}` has changed: expected version {expected}, current version is {current}. Read it again and retry with the current version."
    )]
    Conflict {
        key: String,
        expected: u64,
        current: u64,
    },

    #[error("The {what} is {actual} bytes; the limit is {limit} bytes. Store less.")]
    TooLarge {
        what: &'static str,
        limit: usize,
        actual: usize,
    },

    #[error("This plugin already has {limit} {what}, the limit. Delete some before adding more.")]
    TooMany { what: &'static str, limit: u64 },

    #[error("{0}")]
    Invalid(String),

    #[error(
        "{} already exists and was not overwritten. Choose a new file name, or move the existing file away.",
        path.display()
    )]
    Exists { path: PathBuf },

    #[error(
        "The backup at {} failed its audit check ({explanation}); nothing was restored. Restore an older backup, or keep the current database.",
        path.display()
    )]
    BackupBroken { path: PathBuf, explanation: String },

    #[error("{}", sqlite_message(.0))]
    Sqlite(#[from] rusqlite::Error),
}

fn sqlite_message(e: &rusqlite::Error) -> String {
    match e.sqlite_error_code() {
        Some(rusqlite::ErrorCode::DatabaseCorrupt) | Some(rusqlite::ErrorCode::NotADatabase) => {
            format!(
                "The database is damaged ({e}). Restore the newest good backup with `m365-admin db restore`."
            )
        }
        Some(rusqlite::ErrorCode::DatabaseBusy) | Some(rusqlite::ErrorCode::DatabaseLocked) => {
            format!(
                "The database is busy ({e}): another m365-admin process is holding it. Try again in a moment, or stop the other process."
            )
        }
        Some(rusqlite::ErrorCode::DiskFull) => {
            format!("The disk holding the database is full ({e}). Free some space and try again.")
        }
        Some(rusqlite::ErrorCode::ReadOnly) | Some(rusqlite::ErrorCode::CannotOpen) => format!(
            "The database file cannot be written ({e}). Check its permissions and those of its folder."
        ),
        _ => format!(
            "The database failed: {e}. Try again; if it keeps failing, run `m365-admin doctor`."
        ),
    }
}

impl StoreError {
    pub(crate) fn io(action: &'static str, path: &std::path::Path, source: std::io::Error) -> Self {
        StoreError::Io {
            action,
            path: path.to_path_buf(),
            source,
        }
    }
}

impl From<StoreError> for CodedError {
    fn from(e: StoreError) -> CodedError {
        let message = crate::secret::redact(&e.to_string());
        let coded = CodedError::new(ErrorCode::Store001, message);
        match e {
            StoreError::Conflict {
                key,
                expected,
                current,
            } => coded.with_details(serde_json::json!({
                "key": key, "expected": expected, "current": current
            })),
            StoreError::TooLarge { limit, .. } => {
                coded.with_details(serde_json::json!({ "limit": limit }))
            }
            StoreError::TooMany { limit, .. } => {
                coded.with_details(serde_json::json!({ "limit": limit }))
            }
            _ => coded,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn conflict_names_key_and_versions_and_maps_to_store_001() {
        let e = StoreError::Conflict {
            key: "tpl/x".into(),
            expected: 3,
            current: 4,
        };
        let c: CodedError = e.into();
        assert_eq!(c.code, ErrorCode::Store001);
        assert!(c.message.contains("`tpl/x`"), "{}", c.message);
        assert!(c.message.contains("expected version 3"), "{}", c.message);
        assert!(c.message.contains("current version is 4"), "{}", c.message);
        assert_eq!(c.details.unwrap()["current"], 4);
    }

    #[test]
    fn messages_say_what_to_do() {
        let e = StoreError::WrongKey {
            path: "/var/lib/m.db".into(),
        };
        let c: CodedError = e.into();
        assert!(c.message.contains("/var/lib/m.db"));
        assert!(c.message.contains("DB_ENCRYPTION_KEY"));
        assert!(c.message.contains("m365-admin db restore"));
        let e = StoreError::KeyFileInsecure {
            path: "/k".into(),
            mode: 0o644,
        };
        assert!(e.to_string().contains("chmod 600 /k"), "{e}");
        assert!(e.to_string().contains("0644"), "{e}");
    }
}
