//! The database key: where it comes from and how SQLCipher is given it.
//! A raw 256-bit key (64 hex digits) skips SQLCipher's PBKDF2 (256,000
//! iterations, a noticeable part of start-up); anything else is a passphrase.

use super::StoreError;
use crate::secret::{self, Secret};
use rand::RngCore;
use std::fmt;
use std::io::{Read, Write};
use std::path::Path;

pub enum DbKey {
    Raw([u8; 32]),
    Passphrase(Secret),
}

impl fmt::Debug for DbKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            DbKey::Raw(_) => write!(f, "DbKey::Raw({})", secret::REDACTED),
            DbKey::Passphrase(_) => write!(f, "DbKey::Passphrase({})", secret::REDACTED),
        }
    }
}

impl DbKey {
    /// Keys `conn` through `sqlite3_key` rather than `PRAGMA key`, so the key
    /// never appears in SQL text (which SQLite may echo in error messages).
    pub(crate) fn apply(&self, conn: &rusqlite::Connection) -> Result<(), StoreError> {
        match self {
            DbKey::Raw(bytes) => {
                // SQLCipher takes `x'<64 hex>'` as the raw key itself.
                let spec = format!("x'{}'", hex::encode(bytes));
                conn.key(None::<&str>, spec.as_bytes(), false)?;
            }
            DbKey::Passphrase(p) => {
                // An empty key makes SQLCipher write plaintext.
                if p.expose().is_empty() {
                    return Err(StoreError::KeyEmpty);
                }
                conn.key(None::<&str>, p.expose().as_bytes(), false)?;
            }
        }
        // SQLCipher's own log (process-wide, to stderr by default) would
        // repeat every wrong-key attempt in raw form next to our clear error.
        conn.pragma_update_and_check(None, "cipher_log_level", "NONE", |r| r.get::<_, String>(0))?;
        Ok(())
    }

    pub(crate) fn is_empty(&self) -> bool {
        matches!(self, DbKey::Passphrase(p) if p.expose().is_empty())
    }
}

/// DB_ENCRYPTION_KEY's value: 64 hex digits → Raw, anything else → Passphrase.
/// The value is registered for redaction before it is returned.
pub fn parse_key(value: &str) -> DbKey {
    if value.len() == 64 && value.bytes().all(|b| b.is_ascii_hexdigit()) {
        secret::register(value);
        secret::register(&value.to_ascii_lowercase());
        secret::register(&value.to_ascii_uppercase());
        let mut raw = [0u8; 32];
        hex::decode_to_slice(value, &mut raw).expect("64 hex digits decode to 32 bytes");
        DbKey::Raw(raw)
    } else {
        DbKey::Passphrase(Secret::new(value))
    }
}

/// Reads a key file (content trimmed, parsed like DB_ENCRYPTION_KEY). A file
/// that grants any permission to group or others is refused: the key is the
/// only thing between a copied database file and its contents.
pub fn read_key_file(path: &Path) -> Result<DbKey, StoreError> {
    let mut file =
        std::fs::File::open(path).map_err(|e| StoreError::io("open the key file", path, e))?;
    // The mode is taken from the open handle, not the path, so the file
    // checked is the file read.
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let meta = file
            .metadata()
            .map_err(|e| StoreError::io("inspect the key file", path, e))?;
        let mode = meta.permissions().mode() & 0o7777;
        if mode & 0o077 != 0 {
            return Err(StoreError::KeyFileInsecure {
                path: path.to_path_buf(),
                mode,
            });
        }
    }
    let mut content = String::new();
    file.read_to_string(&mut content)
        .map_err(|e| StoreError::io("read the key file", path, e))?;
    let value = content.trim();
    if value.is_empty() {
        return Err(StoreError::KeyFileEmpty {
            path: path.to_path_buf(),
        });
    }
    Ok(parse_key(value))
}

/// Sandbox mode: the key at `path`, generated on first use with mode 0600.
/// The key is written to a private temporary file and then hard-linked into
/// place: linking fails if `path` exists, so a second process starting at
/// the same moment never overwrites the first one's key, and no process ever
/// reads a half-written one.
pub fn load_or_generate(path: &Path) -> Result<DbKey, StoreError> {
    if path.exists() {
        return read_existing(path);
    }
    let dir = path
        .parent()
        .filter(|d| !d.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    std::fs::create_dir_all(dir).map_err(|e| StoreError::io("create the folder", dir, e))?;
    let mut raw = [0u8; 32];
    rand::rng().fill_bytes(&mut raw);
    let encoded = hex::encode(raw);
    secret::register(&encoded);

    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let tmp = dir.join(format!(".{name}.tmp-{}", uuid::Uuid::new_v4().simple()));
    write_private_new(&tmp, encoded.as_bytes())?;
    let linked = std::fs::hard_link(&tmp, path);
    let _ = std::fs::remove_file(&tmp);
    match linked {
        Ok(()) => Ok(DbKey::Raw(raw)),
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => read_existing(path),
        // A file system without hard links: create the file in place instead.
        Err(_) => match write_private_new(path, encoded.as_bytes()) {
            Ok(()) => Ok(DbKey::Raw(raw)),
            Err(StoreError::Io { source, .. })
                if source.kind() == std::io::ErrorKind::AlreadyExists =>
            {
                read_existing(path)
            }
            Err(e) => Err(e),
        },
    }
}

fn write_private_new(path: &Path, content: &[u8]) -> Result<(), StoreError> {
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o600);
    }
    let mut file = options
        .open(path)
        .map_err(|e| StoreError::io("create the key file", path, e))?;
    file.write_all(content)
        .and_then(|()| file.sync_all())
        .map_err(|e| StoreError::io("write the key file", path, e))
}

/// Where the key file had to be created in place, another process may have
/// created it a moment ago and not yet written it: an empty file is given a
/// short while to fill.
fn read_existing(path: &Path) -> Result<DbKey, StoreError> {
    for _ in 0..50 {
        match read_key_file(path) {
            Err(StoreError::KeyFileEmpty { .. }) => {
                std::thread::sleep(std::time::Duration::from_millis(20))
            }
            other => return other,
        }
    }
    read_key_file(path)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hex_is_raw_and_anything_else_a_passphrase() {
        let hex64 = "00112233445566778899aabbccddeeff00112233445566778899AABBCCDDEEFF";
        match parse_key(hex64) {
            DbKey::Raw(b) => {
                assert_eq!(b[1], 0x11);
                assert_eq!(b[31], 0xff);
            }
            other => panic!("expected raw, got {other:?}"),
        }
        assert!(matches!(
            parse_key("correct horse battery"),
            DbKey::Passphrase(_)
        ));
        // 63 digits and non-hex 64-character strings are passphrases.
        assert!(matches!(parse_key(&hex64[1..]), DbKey::Passphrase(_)));
        assert!(matches!(parse_key(&"g".repeat(64)), DbKey::Passphrase(_)));
    }

    #[test]
    fn debug_never_shows_the_key_and_keys_are_redacted() {
        let hex64 = "a1b2c3d4e5f60718293a4b5c6d7e8f90a1b2c3d4e5f60718293a4b5c6d7e8f90";
        let k = parse_key(hex64);
        let shown = format!("{k:?}");
        assert!(!shown.contains("a1b2"), "{shown}");
        assert!(!shown.contains("161"), "{shown}");
        assert_eq!(secret::redact(&format!("k={hex64}")), "k=[REDACTED]");
        let p = parse_key("store-passphrase-sentinel-9931");
        assert!(!format!("{p:?}").contains("sentinel"));
        assert_eq!(
            secret::redact("x store-passphrase-sentinel-9931"),
            "x [REDACTED]"
        );
    }

    #[cfg(unix)]
    #[test]
    fn key_file_must_be_private() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("db.key");
        std::fs::write(&path, "  file-passphrase-77831\n").unwrap();
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o644)).unwrap();
        let err = read_key_file(&path).unwrap_err();
        assert!(matches!(
            err,
            StoreError::KeyFileInsecure { mode: 0o644, .. }
        ));
        assert!(
            err.to_string()
                .contains(&format!("chmod 600 {}", path.display()))
        );
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o600)).unwrap();
        match read_key_file(&path).unwrap() {
            DbKey::Passphrase(p) => assert_eq!(p.expose(), "file-passphrase-77831"),
            other => panic!("{other:?}"),
        }
        std::fs::write(&path, "\n").unwrap();
        assert!(matches!(
            read_key_file(&path),
            Err(StoreError::KeyFileEmpty { .. })
        ));
    }

    #[test]
    fn generated_key_is_kept_and_private() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("sub/sandbox.key");
        let DbKey::Raw(first) = load_or_generate(&path).unwrap() else {
            panic!("generated key must be raw")
        };
        let DbKey::Raw(second) = load_or_generate(&path).unwrap() else {
            panic!("stored key must be raw")
        };
        assert_eq!(first, second);
        assert_eq!(std::fs::read_to_string(&path).unwrap(), hex::encode(first));
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(&path).unwrap().permissions().mode() & 0o777;
            assert_eq!(mode, 0o600);
        }
    }

    #[test]
    fn racing_generators_agree() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("race.key");
        let keys: Vec<[u8; 32]> = std::thread::scope(|s| {
            let handles: Vec<_> = (0..4)
                .map(|_| {
                    s.spawn(|| match load_or_generate(&path).unwrap() {
                        DbKey::Raw(b) => b,
                        other => panic!("{other:?}"),
                    })
                })
                .collect();
            handles.into_iter().map(|h| h.join().unwrap()).collect()
        });
        assert!(keys.iter().all(|k| *k == keys[0]));
    }
}
