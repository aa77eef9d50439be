//! Which database and key the configuration points at: the key from
//! DB_ENCRYPTION_KEY, DB_ENCRYPTION_KEY_FILE or (sandbox only) one generated
//! into the sandbox's folder, and the database opened (or created) with it.

use crate::config::Config;
use crate::errors::{CodedError, ErrorCode};
use crate::store::Database;
use crate::store::key::{self, DbKey};

/// The key the configuration gives: DB_ENCRYPTION_KEY, DB_ENCRYPTION_KEY_FILE,
/// or, for the sandbox only, a key generated once into its data directory.
pub fn resolve_key(config: &Config) -> Result<DbKey, CodedError> {
    if let Some(k) = &config.db_key {
        return Ok(key::parse_key(k.expose()));
    }
    if let Some(path) = &config.db_key_file {
        return Ok(key::read_key_file(path)?);
    }
    if config.sandbox {
        return Ok(key::load_or_generate(&config.sandbox_dir().join("db.key"))?);
    }
    Err(CodedError::new(
        ErrorCode::Store001,
        format!(
            "No database key: set DB_ENCRYPTION_KEY (64 hex digits, e.g. from `openssl rand -hex 32`, or a passphrase) or DB_ENCRYPTION_KEY_FILE (a file only its owner can read) for the database at {}. Keep the key somewhere safe: without it the database cannot be opened.",
            config.database_path.display()
        ),
    ))
}

/// Opens (or, when there is no file yet, creates) the configured database.
pub fn open(config: &Config) -> Result<(Database, DbKey), CodedError> {
    let key = resolve_key(config)?;
    let db = Database::open(&config.database_path, &key)?;
    Ok((db, key))
}
