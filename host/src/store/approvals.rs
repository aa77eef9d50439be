//! Plugins an administrator approved (`m365-admin plugins add`): the exact
//! component digest and the grants they saw. A plugin from the plugin
//! directory loads only if both still match.

use super::StoreError;
use super::db::{Database, now};
use rusqlite::{OptionalExtension, params};
use serde::Serialize;

#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Approval {
    pub name: String,
    pub version: String,
    pub digest: String,
    /// Normalised grants ("graph:GET /users/*", "exchange:get-mailbox",
    /// "store", "addin-manifests").
    pub grants: Vec<String>,
    pub approved_at: String,
}

fn row(r: &rusqlite::Row) -> rusqlite::Result<Approval> {
    let grants: String = r.get(3)?;
    Ok(Approval {
        name: r.get(0)?,
        version: r.get(1)?,
        digest: r.get(2)?,
        grants: serde_json::from_str(&grants).unwrap_or_default(),
        approved_at: r.get(4)?,
    })
}

impl Database {
    pub fn approval_get(&self, name: &str) -> Result<Option<Approval>, StoreError> {
        self.read(|tx| {
            Ok(tx
                .query_row(
                    "SELECT name, version, digest, grants, approved_at FROM plugin_approvals WHERE name = ?1",
                    [name],
                    row,
                )
                .optional()?)
        })
    }

    pub fn approval_list(&self) -> Result<Vec<Approval>, StoreError> {
        self.read(|tx| {
            let mut stmt = tx.prepare(
                "SELECT name, version, digest, grants, approved_at FROM plugin_approvals ORDER BY name",
            )?;
            let rows = stmt.query_map([], row)?.collect::<Result<Vec<_>, _>>()?;
            Ok(rows)
        })
    }

    /// Records (or replaces) the approval of `name`.
    pub fn approval_put(
        &self,
        name: &str,
        version: &str,
        digest: &str,
        grants: &[String],
    ) -> Result<(), StoreError> {
        let grants = serde_json::to_string(grants).unwrap_or_else(|_| "[]".into());
        let at = now();
        self.write(|tx| {
            tx.execute(
                "INSERT INTO plugin_approvals (name, version, digest, grants, approved_at) VALUES (?1, ?2, ?3, ?4, ?5)
                 ON CONFLICT(name) DO UPDATE SET version = ?2, digest = ?3, grants = ?4, approved_at = ?5",
                params![name, version, digest, grants, at],
            )?;
            Ok(())
        })
    }

    pub fn approval_delete(&self, name: &str) -> Result<bool, StoreError> {
        self.write(|tx| Ok(tx.execute("DELETE FROM plugin_approvals WHERE name = ?1", [name])? > 0))
    }

    /// Changes whenever an approval is added, replaced or removed: lets a
    /// running server notice `plugins add` from another process.
    pub fn approvals_stamp(&self) -> Result<String, StoreError> {
        self.read(|tx| {
            Ok(tx.query_row(
                "SELECT count(*) || '/' || coalesce(max(approved_at), '') FROM plugin_approvals",
                [],
                |r| r.get::<_, String>(0),
            )?)
        })
    }
}

#[cfg(test)]
mod tests {
    use super::super::db::tests::temp_db;

    #[test]
    fn approvals_round_trip_and_change_the_stamp() {
        let (_dir, db) = temp_db();
        let empty = db.approvals_stamp().unwrap();
        assert_eq!(db.approval_get("hello").unwrap(), None);
        db.approval_put("hello", "0.1.0", "ab", &["graph:GET /users".into()])
            .unwrap();
        let a = db.approval_get("hello").unwrap().unwrap();
        assert_eq!(a.grants, ["graph:GET /users"]);
        let one = db.approvals_stamp().unwrap();
        assert_ne!(one, empty);
        db.approval_put("hello", "0.2.0", "cd", &[]).unwrap();
        assert_eq!(db.approval_get("hello").unwrap().unwrap().digest, "cd");
        assert_eq!(db.approval_list().unwrap().len(), 1);
        assert!(db.approval_delete("hello").unwrap());
        assert!(!db.approval_delete("hello").unwrap());
    }
}
