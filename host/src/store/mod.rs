//! The host's encrypted store (ARCHITECTURE.md §4 "Store" and "Audit"): one
//! SQLCipher database holding plugin documents and logs, the hash-chained
//! audit trail and confirmation tokens; which file and key the configuration
//! names; the audit head kept beside it; backups, on demand and on a
//! schedule; and the figures computed from the trail. Every call here is
//! blocking and short; async callers run them on `spawn_blocking` or accept a
//! brief block.

pub mod approvals;
pub mod audit;
pub mod backup;
pub mod backup_schedule;
pub mod chain;
pub mod confirmations;
pub mod db;
pub mod documents;
mod error;
pub mod key;
pub mod metrics;
pub mod open;
pub mod serving;

pub use confirmations::TokenCheck;
pub use db::{Database, DbStatus};
pub use error::StoreError;
pub use key::DbKey;
pub use open::{open, resolve_key};

#[cfg(test)]
mod tests {
    use super::audit::CallAudit;
    use super::db::tests::temp_db;
    use crate::caps::call::RequestRecord;

    #[test]
    fn many_threads_write_at_once() {
        let (_dir, db) = temp_db();
        const THREADS: usize = 8;
        const EACH: usize = 100;
        std::thread::scope(|s| {
            for t in 0..THREADS {
                let db = db.clone();
                s.spawn(move || {
                    let requests = [RequestRecord {
                        method: "GET".into(),
                        path: "/v1.0/me".into(),
                        status: Some(200),
                        attempts: 1,
                        request_id: Some(format!("r{t}")),
                        duration_ms: 1,
                    }];
                    for i in 0..EACH {
                        db.doc_put(&format!("p{t}"), &format!("k{i}"), "v", None)
                            .unwrap();
                        db.doc_put("shared", "counter", &format!("{t}/{i}"), None)
                            .unwrap();
                        db.audit_call(&CallAudit {
                            at: time::OffsetDateTime::now_utc(),
                            call_id: &format!("{t}-{i}"),
                            tool: "t",
                            plugin: "p",
                            arguments: &serde_json::json!({ "t": t, "i": i }),
                            outcome: "ok",
                            error_code: None,
                            duration_ms: 1,
                            requests: &requests,
                        })
                        .unwrap();
                    }
                });
            }
        });
        for t in 0..THREADS {
            assert_eq!(
                db.doc_list(&format!("p{t}"), "", None, 1000).unwrap().len(),
                EACH
            );
        }
        let counter = db.doc_get("shared", "counter").unwrap().unwrap();
        assert_eq!(counter.version, (THREADS * EACH) as u64);
        let status = db.status().unwrap();
        assert_eq!(status.documents, (THREADS * EACH + 1) as u64);
        assert_eq!(status.audit_rows, (THREADS * EACH * 2) as u64);
        let report = db.audit_verify(Some(&db.audit_head().unwrap())).unwrap();
        assert!(report.ok, "{report:?}");
        // Each call row is followed by its own request row.
        let rows = db.audit_since(None).unwrap();
        for pair in rows.chunks(2) {
            assert_eq!(pair[0].kind, "call");
            assert_eq!(pair[1].kind, "request");
            assert_eq!(pair[0].call_id, pair[1].call_id);
        }
    }
}
