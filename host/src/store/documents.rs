//! Per-plugin documents (versioned, with history) and append-only logs.
//! `ns` is the plugin's name as the host knows it; a plugin never chooses it,
//! so one plugin cannot reach another's data.
//!
//! `documents` holds only live documents; every superseded version and every
//! deletion (a row with `deleted = 1`) is in `document_history`. The newest
//! history row of a deleted key keeps its version number alive, so versions
//! keep increasing when the key is created again.

use super::StoreError;
use super::db::{Database, now};
use rusqlite::{Connection, OptionalExtension, params};
use serde::Serialize;

#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Document {
    pub key: String,
    /// Empty for a deletion in history.
    pub value: String,
    pub version: u64,
    pub updated_at: String,
    pub deleted: bool,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct LogEntry {
    pub seq: u64,
    pub entry: String,
    pub at: String,
}

pub const MAX_KEY_BYTES: usize = 512;
pub const MAX_VALUE_BYTES: usize = 256 * 1024;
pub const MAX_DOCUMENTS_PER_PLUGIN: u64 = 10_000;
/// Versions kept in history per key, deletions included; older ones are pruned.
pub const MAX_HISTORY_VERSIONS: usize = 50;
pub const MAX_LOG_ENTRY_BYTES: usize = 64 * 1024;
pub const MAX_LOG_ENTRIES_PER_PLUGIN: u64 = 1_000_000;
/// The most rows one list or read returns; callers page with `after`.
pub const MAX_PAGE: u32 = 1000;

struct Live {
    version: u64,
    value: String,
    updated_at: String,
}

impl Database {
    /// The live document, or None if it never existed or was deleted.
    pub fn doc_get(&self, ns: &str, key: &str) -> Result<Option<Document>, StoreError> {
        self.read(|tx| {
            Ok(live(tx, ns, key)?.map(|l| Document {
                key: key.to_string(),
                value: l.value,
                version: l.version,
                updated_at: l.updated_at,
                deleted: false,
            }))
        })
    }

    /// Writes `value` under `key`. `expected`: None writes unconditionally,
    /// Some(0) only if the key has no live document, Some(v) only if the live
    /// version is v (otherwise `Conflict` and nothing changes). Returns the
    /// new version.
    pub fn doc_put(
        &self,
        ns: &str,
        key: &str,
        value: &str,
        expected: Option<u64>,
    ) -> Result<u64, StoreError> {
        check_name("document key", key)?;
        check_size("document value", value, MAX_VALUE_BYTES)?;
        self.write(|tx| {
            let current = live(tx, ns, key)?;
            check_expected(key, expected, current.as_ref())?;
            let at = now();
            let version = match &current {
                Some(l) => {
                    to_history(tx, ns, key, l.version, Some(&l.value), &l.updated_at)?;
                    l.version + 1
                }
                None => {
                    let count: i64 =
                        tx.query_row("SELECT count(*) FROM documents WHERE ns = ?1", [ns], |r| {
                            r.get(0)
                        })?;
                    if count as u64 >= MAX_DOCUMENTS_PER_PLUGIN {
                        return Err(StoreError::TooMany {
                            what: "documents",
                            limit: MAX_DOCUMENTS_PER_PLUGIN,
                        });
                    }
                    last_history_version(tx, ns, key)? + 1
                }
            };
            tx.execute(
                "INSERT INTO documents (ns, key, value, version, updated_at)
                 VALUES (?1, ?2, ?3, ?4, ?5)
                 ON CONFLICT (ns, key) DO UPDATE SET
                   value = excluded.value, version = excluded.version,
                   updated_at = excluded.updated_at",
                params![ns, key, value, version as i64, at],
            )?;
            prune_history(tx, ns, key)?;
            Ok(version)
        })
    }

    /// Deletes the live document; returns whether there was one. The deleted
    /// version and the deletion itself stay in history. `expected` as for put.
    pub fn doc_delete(
        &self,
        ns: &str,
        key: &str,
        expected: Option<u64>,
    ) -> Result<bool, StoreError> {
        self.write(|tx| {
            let current = live(tx, ns, key)?;
            check_expected(key, expected, current.as_ref())?;
            let Some(l) = current else {
                return Ok(false);
            };
            to_history(tx, ns, key, l.version, Some(&l.value), &l.updated_at)?;
            to_history(tx, ns, key, l.version + 1, None, &now())?;
            tx.execute(
                "DELETE FROM documents WHERE ns = ?1 AND key = ?2",
                params![ns, key],
            )?;
            prune_history(tx, ns, key)?;
            Ok(true)
        })
    }

    /// Live documents whose key starts with `prefix`, in key order, after
    /// `after` (exclusive), at most `limit` (capped at `MAX_PAGE`).
    pub fn doc_list(
        &self,
        ns: &str,
        prefix: &str,
        after: Option<&str>,
        limit: u32,
    ) -> Result<Vec<Document>, StoreError> {
        let limit = limit.min(MAX_PAGE);
        // A key range rather than LIKE: keys may hold `%` and `_`, and the
        // range uses the primary key index.
        let upper = prefix_successor(prefix);
        let lower = match after {
            Some(a) if a >= prefix => a,
            _ => prefix,
        };
        let lower_inclusive = after.is_none_or(|a| a < prefix);
        self.read(|tx| {
            let sql = format!(
                "SELECT key, value, version, updated_at FROM documents
                 WHERE ns = ?1 AND key {} ?2 AND (?3 IS NULL OR key < ?3)
                 ORDER BY key LIMIT ?4",
                if lower_inclusive { ">=" } else { ">" }
            );
            let mut stmt = tx.prepare(&sql)?;
            let rows = stmt.query_map(params![ns, lower, upper, limit], |r| {
                Ok(Document {
                    key: r.get(0)?,
                    value: r.get(1)?,
                    version: r.get::<_, i64>(2)? as u64,
                    updated_at: r.get(3)?,
                    deleted: false,
                })
            })?;
            Ok(rows.collect::<Result<Vec<_>, _>>()?)
        })
    }

    /// Earlier versions of `key`, newest first, deletions included; not the
    /// live version.
    pub fn doc_history(
        &self,
        ns: &str,
        key: &str,
        limit: u32,
    ) -> Result<Vec<Document>, StoreError> {
        let limit = limit.min(MAX_HISTORY_VERSIONS as u32);
        self.read(|tx| {
            let mut stmt = tx.prepare(
                "SELECT value, version, updated_at, deleted FROM document_history
                 WHERE ns = ?1 AND key = ?2 ORDER BY version DESC LIMIT ?3",
            )?;
            let rows = stmt.query_map(params![ns, key, limit], |r| {
                Ok(Document {
                    key: key.to_string(),
                    value: r.get::<_, Option<String>>(0)?.unwrap_or_default(),
                    version: r.get::<_, i64>(1)? as u64,
                    updated_at: r.get(2)?,
                    deleted: r.get(3)?,
                })
            })?;
            Ok(rows.collect::<Result<Vec<_>, _>>()?)
        })
    }

    /// Appends to the plugin's log `log`; returns the entry's sequence
    /// number (1, 2, 3, … per log).
    pub fn log_append(&self, ns: &str, log: &str, entry: &str) -> Result<u64, StoreError> {
        check_name("log name", log)?;
        check_size("log entry", entry, MAX_LOG_ENTRY_BYTES)?;
        self.write(|tx| {
            // A running count: counting a million rows on every append would
            // make the last appends the slowest.
            let used: Option<i64> = tx
                .query_row("SELECT entries FROM log_usage WHERE ns = ?1", [ns], |r| {
                    r.get(0)
                })
                .optional()?;
            if used.unwrap_or(0) as u64 >= MAX_LOG_ENTRIES_PER_PLUGIN {
                return Err(StoreError::TooMany {
                    what: "log entries",
                    limit: MAX_LOG_ENTRIES_PER_PLUGIN,
                });
            }
            let seq: i64 = tx.query_row(
                "SELECT coalesce(max(seq), 0) + 1 FROM logs WHERE ns = ?1 AND log = ?2",
                params![ns, log],
                |r| r.get(0),
            )?;
            tx.execute(
                "INSERT INTO logs (ns, log, seq, entry, at) VALUES (?1, ?2, ?3, ?4, ?5)",
                params![ns, log, seq, entry, now()],
            )?;
            tx.execute(
                "INSERT INTO log_usage (ns, entries) VALUES (?1, 1)
                 ON CONFLICT (ns) DO UPDATE SET entries = entries + 1",
                [ns],
            )?;
            Ok(seq as u64)
        })
    }

    /// Entries of the plugin's log `log` after sequence `after` (exclusive),
    /// oldest first, at most `limit` (capped at `MAX_PAGE`).
    pub fn log_read(
        &self,
        ns: &str,
        log: &str,
        after: Option<u64>,
        limit: u32,
    ) -> Result<Vec<LogEntry>, StoreError> {
        let limit = limit.min(MAX_PAGE);
        let after = after.map_or(0, |a| i64::try_from(a).unwrap_or(i64::MAX));
        self.read(|tx| {
            let mut stmt = tx.prepare(
                "SELECT seq, entry, at FROM logs WHERE ns = ?1 AND log = ?2 AND seq > ?3
                 ORDER BY seq LIMIT ?4",
            )?;
            let rows = stmt.query_map(params![ns, log, after, limit], |r| {
                Ok(LogEntry {
                    seq: r.get::<_, i64>(0)? as u64,
                    entry: r.get(1)?,
                    at: r.get(2)?,
                })
            })?;
            Ok(rows.collect::<Result<Vec<_>, _>>()?)
        })
    }
}

fn check_name(what: &'static str, name: &str) -> Result<(), StoreError> {
    if name.is_empty() {
        return Err(StoreError::Invalid(format!(
            "The {what} is empty. Give a non-empty name of at most {MAX_KEY_BYTES} bytes."
        )));
    }
    check_size(what, name, MAX_KEY_BYTES)
}

fn check_size(what: &'static str, s: &str, limit: usize) -> Result<(), StoreError> {
    if s.len() > limit {
        return Err(StoreError::TooLarge {
            what,
            limit,
            actual: s.len(),
        });
    }
    Ok(())
}

fn check_expected(
    key: &str,
    expected: Option<u64>,
    current: Option<&Live>,
) -> Result<(), StoreError> {
    let current = current.map_or(0, |l| l.version);
    match expected {
        Some(e) if e != current => Err(StoreError::Conflict {
            key: key.to_string(),
            expected: e,
            current,
        }),
        _ => Ok(()),
    }
}

fn live(conn: &Connection, ns: &str, key: &str) -> Result<Option<Live>, StoreError> {
    Ok(conn
        .query_row(
            "SELECT version, value, updated_at FROM documents WHERE ns = ?1 AND key = ?2",
            params![ns, key],
            |r| {
                Ok(Live {
                    version: r.get::<_, i64>(0)? as u64,
                    value: r.get(1)?,
                    updated_at: r.get(2)?,
                })
            },
        )
        .optional()?)
}

fn last_history_version(conn: &Connection, ns: &str, key: &str) -> Result<u64, StoreError> {
    let v: Option<i64> = conn.query_row(
        "SELECT max(version) FROM document_history WHERE ns = ?1 AND key = ?2",
        params![ns, key],
        |r| r.get(0),
    )?;
    Ok(v.unwrap_or(0) as u64)
}

fn to_history(
    conn: &Connection,
    ns: &str,
    key: &str,
    version: u64,
    value: Option<&str>,
    updated_at: &str,
) -> Result<(), StoreError> {
    conn.execute(
        "INSERT INTO document_history (ns, key, version, value, updated_at, deleted)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
        params![ns, key, version as i64, value, updated_at, value.is_none()],
    )?;
    Ok(())
}

fn prune_history(conn: &Connection, ns: &str, key: &str) -> Result<(), StoreError> {
    conn.execute(
        "DELETE FROM document_history WHERE ns = ?1 AND key = ?2 AND version <= (
           SELECT version FROM document_history WHERE ns = ?1 AND key = ?2
           ORDER BY version DESC LIMIT 1 OFFSET ?3)",
        params![ns, key, MAX_HISTORY_VERSIONS as i64],
    )?;
    Ok(())
}

/// The smallest string greater than every string starting with `prefix`, or
/// None when there is none (empty prefix, or only `char::MAX`). UTF-8 byte
/// order is code point order, which is how SQLite compares TEXT here.
fn prefix_successor(prefix: &str) -> Option<String> {
    let mut chars: Vec<char> = prefix.chars().collect();
    while let Some(last) = chars.pop() {
        let next = match last {
            '\u{D7FF}' => Some('\u{E000}'),
            c => char::from_u32(c as u32 + 1),
        };
        if let Some(n) = next {
            chars.push(n);
            return Some(chars.into_iter().collect());
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::db::tests::temp_db;

    #[test]
    fn put_get_and_versions() {
        let (_d, db) = temp_db();
        assert_eq!(db.doc_get("a", "k").unwrap(), None);
        assert_eq!(db.doc_put("a", "k", "one", None).unwrap(), 1);
        assert_eq!(db.doc_put("a", "k", "two", Some(1)).unwrap(), 2);
        let d = db.doc_get("a", "k").unwrap().unwrap();
        assert_eq!((d.value.as_str(), d.version, d.deleted), ("two", 2, false));
        assert!(d.updated_at.ends_with('Z'));
        assert_eq!(db.doc_put("a", "new", "x", Some(0)).unwrap(), 1);
    }

    #[test]
    fn namespaces_are_isolated() {
        let (_d, db) = temp_db();
        db.doc_put("a", "shared-key", "a's value", None).unwrap();
        db.log_append("a", "log", "a's entry").unwrap();
        assert_eq!(db.doc_get("b", "shared-key").unwrap(), None);
        assert!(db.doc_list("b", "", None, 100).unwrap().is_empty());
        assert!(db.doc_history("b", "shared-key", 10).unwrap().is_empty());
        assert!(!db.doc_delete("b", "shared-key", None).unwrap());
        assert!(db.log_read("b", "log", None, 10).unwrap().is_empty());
        assert_eq!(db.doc_put("b", "shared-key", "b's", None).unwrap(), 1);
        assert_eq!(
            db.doc_get("a", "shared-key").unwrap().unwrap().value,
            "a's value"
        );
    }

    #[test]
    fn stale_versions_are_refused_and_nothing_changes() {
        let (_d, db) = temp_db();
        db.doc_put("a", "k", "v1", None).unwrap();
        db.doc_put("a", "k", "v2", None).unwrap();
        let err = db.doc_put("a", "k", "lost update", Some(1)).unwrap_err();
        match &err {
            StoreError::Conflict {
                key,
                expected,
                current,
            } => assert_eq!((key.as_str(), *expected, *current), ("k", 1, 2)),
            other => panic!("{other:?}"),
        }
        let err = db.doc_put("a", "k", "lost update", Some(0)).unwrap_err();
        assert!(matches!(
            err,
            StoreError::Conflict {
                expected: 0,
                current: 2,
                ..
            }
        ));
        let err = db.doc_delete("a", "k", Some(5)).unwrap_err();
        assert!(matches!(
            err,
            StoreError::Conflict {
                expected: 5,
                current: 2,
                ..
            }
        ));
        let err = db.doc_put("a", "missing", "x", Some(3)).unwrap_err();
        assert!(matches!(
            err,
            StoreError::Conflict {
                expected: 3,
                current: 0,
                ..
            }
        ));
        let d = db.doc_get("a", "k").unwrap().unwrap();
        assert_eq!((d.value.as_str(), d.version), ("v2", 2));
        assert_eq!(db.doc_history("a", "k", 10).unwrap().len(), 1);
        assert_eq!(db.doc_get("a", "missing").unwrap(), None);
    }

    #[test]
    fn history_keeps_deletions_and_versions_keep_rising() {
        let (_d, db) = temp_db();
        db.doc_put("a", "k", "v1", None).unwrap();
        db.doc_put("a", "k", "v2", None).unwrap();
        assert!(db.doc_delete("a", "k", Some(2)).unwrap());
        assert!(!db.doc_delete("a", "k", None).unwrap());
        assert_eq!(db.doc_get("a", "k").unwrap(), None);
        let h = db.doc_history("a", "k", 10).unwrap();
        let seen: Vec<_> = h
            .iter()
            .map(|d| (d.version, d.value.as_str(), d.deleted))
            .collect();
        assert_eq!(
            seen,
            vec![(3, "", true), (2, "v2", false), (1, "v1", false)]
        );
        // Recreated: must-not-exist succeeds, and the version continues.
        assert_eq!(db.doc_put("a", "k", "v4", Some(0)).unwrap(), 4);
        let h = db.doc_history("a", "k", 2).unwrap();
        assert_eq!(h.len(), 2);
        assert_eq!((h[0].version, h[0].deleted), (3, true));
    }

    #[test]
    fn history_is_pruned() {
        let (_d, db) = temp_db();
        for i in 0..(MAX_HISTORY_VERSIONS + 20) {
            db.doc_put("a", "k", &format!("v{i}"), None).unwrap();
        }
        let h = db.doc_history("a", "k", 1000).unwrap();
        assert_eq!(h.len(), MAX_HISTORY_VERSIONS);
        assert_eq!(h[0].version, (MAX_HISTORY_VERSIONS + 19) as u64);
        let stored: i64 = db
            .read(|tx| Ok(tx.query_row("SELECT count(*) FROM document_history", [], |r| r.get(0))?))
            .unwrap();
        assert_eq!(stored as usize, MAX_HISTORY_VERSIONS);
    }

    #[test]
    fn list_by_prefix_with_like_metacharacters() {
        let (_d, db) = temp_db();
        for k in [
            "a%b/1",
            "a%b/2",
            "axb/3",
            "a_b/4",
            "a%c",
            "a%b",
            "b",
            "a%b\u{10FFFF}",
            "zz",
        ] {
            db.doc_put("n", k, k, None).unwrap();
        }
        db.doc_put("other", "a%b/9", "x", None).unwrap();
        let keys = |v: Vec<Document>| v.into_iter().map(|d| d.key).collect::<Vec<_>>();
        assert_eq!(
            keys(db.doc_list("n", "a%b", None, 100).unwrap()),
            vec!["a%b", "a%b/1", "a%b/2", "a%b\u{10FFFF}"]
        );
        assert_eq!(
            keys(db.doc_list("n", "a_b", None, 100).unwrap()),
            vec!["a_b/4"]
        );
        assert_eq!(
            keys(db.doc_list("n", "a%b", Some("a%b/1"), 1).unwrap()),
            vec!["a%b/2"]
        );
        assert_eq!(
            keys(db.doc_list("n", "a%b", Some("a%b/2"), 100).unwrap()),
            vec!["a%b\u{10FFFF}"]
        );
        // `after` before the prefix range starts at the prefix.
        assert_eq!(
            keys(db.doc_list("n", "a%b/", Some("a"), 100).unwrap()),
            vec!["a%b/1", "a%b/2"]
        );
        assert_eq!(db.doc_list("n", "", None, 100).unwrap().len(), 9);
        assert_eq!(db.doc_list("n", "", None, 3).unwrap().len(), 3);
        assert!(db.doc_list("n", "a%b", None, 0).unwrap().is_empty());
        db.doc_delete("n", "a%b/1", None).unwrap();
        assert_eq!(
            keys(db.doc_list("n", "a%b/", None, 100).unwrap()),
            vec!["a%b/2"]
        );
    }

    #[test]
    fn prefix_successor_edges() {
        assert_eq!(prefix_successor(""), None);
        assert_eq!(prefix_successor("ab").as_deref(), Some("ac"));
        assert_eq!(prefix_successor("a\u{10FFFF}").as_deref(), Some("b"));
        assert_eq!(prefix_successor("\u{D7FF}").as_deref(), Some("\u{E000}"));
        assert_eq!(prefix_successor("\u{10FFFF}"), None);
    }

    #[test]
    fn bounds_are_enforced_with_the_limit_named() {
        let (_d, db) = temp_db();
        let err = db
            .doc_put("a", &"k".repeat(MAX_KEY_BYTES + 1), "v", None)
            .unwrap_err();
        assert!(matches!(
            err,
            StoreError::TooLarge {
                limit: MAX_KEY_BYTES,
                ..
            }
        ));
        assert!(err.to_string().contains("512"), "{err}");
        db.doc_put("a", &"k".repeat(MAX_KEY_BYTES), "v", None)
            .unwrap();
        let err = db
            .doc_put("a", "k", &"v".repeat(MAX_VALUE_BYTES + 1), None)
            .unwrap_err();
        assert!(
            err.to_string().contains(&MAX_VALUE_BYTES.to_string()),
            "{err}"
        );
        db.doc_put("a", "big", &"v".repeat(MAX_VALUE_BYTES), None)
            .unwrap();
        assert!(matches!(
            db.doc_put("a", "", "v", None),
            Err(StoreError::Invalid(_))
        ));
        let err = db
            .log_append("a", "l", &"e".repeat(MAX_LOG_ENTRY_BYTES + 1))
            .unwrap_err();
        assert!(matches!(
            err,
            StoreError::TooLarge {
                limit: MAX_LOG_ENTRY_BYTES,
                ..
            }
        ));

        // Fill the namespace up to the document limit directly, then ask.
        db.write(|tx| {
            let mut stmt = tx.prepare(
                "INSERT INTO documents (ns, key, value, version, updated_at)
                 VALUES ('full', ?1, 'v', 1, '2026-01-01T00:00:00.000000Z')",
            )?;
            for i in 0..MAX_DOCUMENTS_PER_PLUGIN {
                stmt.execute([format!("k{i:05}")])?;
            }
            Ok(())
        })
        .unwrap();
        let err = db.doc_put("full", "one-more", "v", None).unwrap_err();
        assert!(
            matches!(
                err,
                StoreError::TooMany {
                    what: "documents",
                    ..
                }
            ),
            "{err:?}"
        );
        assert!(err.to_string().contains("10000"), "{err}");
        // Updating an existing document is still allowed; so are other plugins.
        assert_eq!(db.doc_put("full", "k00001", "v2", None).unwrap(), 2);
        db.doc_put("not-full", "k", "v", None).unwrap();

        db.write(|tx| {
            tx.execute(
                "INSERT INTO log_usage (ns, entries) VALUES ('full', ?1)",
                [MAX_LOG_ENTRIES_PER_PLUGIN as i64],
            )?;
            Ok(())
        })
        .unwrap();
        let err = db.log_append("full", "l", "e").unwrap_err();
        assert!(matches!(
            err,
            StoreError::TooMany {
                what: "log entries",
                ..
            }
        ));
        assert!(err.to_string().contains("1000000"), "{err}");
    }

    #[test]
    fn logs_append_and_read_in_order() {
        let (_d, db) = temp_db();
        for i in 1..=5u64 {
            assert_eq!(
                db.log_append("a", "runs", &format!("entry {i}")).unwrap(),
                i
            );
        }
        assert_eq!(db.log_append("a", "other", "x").unwrap(), 1);
        assert_eq!(db.log_append("b", "runs", "x").unwrap(), 1);
        let all = db.log_read("a", "runs", None, 100).unwrap();
        assert_eq!(all.len(), 5);
        assert_eq!((all[0].seq, all[0].entry.as_str()), (1, "entry 1"));
        let page = db.log_read("a", "runs", Some(2), 2).unwrap();
        assert_eq!(page.iter().map(|e| e.seq).collect::<Vec<_>>(), vec![3, 4]);
        assert!(db.log_read("a", "runs", Some(5), 10).unwrap().is_empty());
        assert!(
            db.log_read("a", "runs", Some(u64::MAX), 10)
                .unwrap()
                .is_empty()
        );
    }
}
