//! Plugins an administrator approved (`m365-admin plugins add`): the exact
//! component digest and the grants they saw. A plugin from the plugin
//! directory loads only if both still match. Grants are stored as a JSON
//! array of their canonical text and read back typed.

use super::StoreError;
use super::db::{Database, now};
use m365_policy::Grant;
use rusqlite::{OptionalExtension, params};
use serde::Serialize;

#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Approval {
    pub name: String,
    pub version: String,
    pub digest: String,
    /// Stored as their canonical text ("graph:GET /users/*",
    /// "exchange:get-mailbox", "store", "addin-manifests").
    pub grants: Vec<Grant>,
    pub approved_at: String,
}

fn row(r: &rusqlite::Row) -> rusqlite::Result<Approval> {
    let grants: String = r.get(3)?;
    // One at a time: a text this host does not read as a grant approves
    // nothing it enforces, and must not void the rest.
    let grants = serde_json::from_str::<Vec<String>>(&grants)
        .unwrap_or_default()
        .iter()
        .filter_map(|g| g.parse().ok())
        .collect();
    Ok(Approval {
        name: r.get(0)?,
        version: r.get(1)?,
        digest: r.get(2)?,
        grants,
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
        grants: &[Grant],
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
        let grant: m365_policy::Grant = "graph:GET /users".parse().unwrap();
        db.approval_put("hello", "0.1.0", "ab", std::slice::from_ref(&grant))
            .unwrap();
        let a = db.approval_get("hello").unwrap().unwrap();
        assert_eq!(a.grants, [grant]);
        assert_eq!(a.grants[0].to_string(), "graph:GET /users");
        let one = db.approvals_stamp().unwrap();
        assert_ne!(one, empty);
        db.approval_put("hello", "0.2.0", "cd", &[]).unwrap();
        assert_eq!(db.approval_get("hello").unwrap().unwrap().digest, "cd");
        assert_eq!(db.approval_list().unwrap().len(), 1);
        assert!(db.approval_delete("hello").unwrap());
        assert!(!db.approval_delete("hello").unwrap());
    }

    #[test]
    fn a_stored_text_that_is_no_grant_leaves_the_others() {
        let (_dir, db) = temp_db();
        db.write(|tx| {
            tx.execute(
                "INSERT INTO plugin_approvals (name, version, digest, grants, approved_at) VALUES ('p', '1', 'ab', ?1, 'now')",
                [r#"["graph:GET /users", "network", "store"]"#],
            )?;
            Ok(())
        })
        .unwrap();
        let grants: Vec<String> = db
            .approval_get("p")
            .unwrap()
            .unwrap()
            .grants
            .iter()
            .map(|g| g.to_string())
            .collect();
        assert_eq!(grants, ["graph:GET /users", "store"]);
    }
}
