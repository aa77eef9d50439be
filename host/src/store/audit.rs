//! The tamper-evident audit trail: one row per tool call, one per upstream
//! request it caused, and one per host event, each carrying the SHA-256 of
//! its predecessor's hash and its own content (id included). An edit, a
//! deletion or a reordering breaks the chain; a truncated tail does not, which
//! is why the newest head is also kept outside the database (the head file,
//! backups, the server log) and compared by `audit_verify`.

use super::StoreError;
use super::db::{Database, format_time};
use crate::caps::call::RequestRecord;
use rusqlite::{Connection, OptionalExtension, params};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use std::path::{Path, PathBuf};
use time::OffsetDateTime;

/// The previous hash of the first row.
pub const GENESIS_HASH: &str = "0000000000000000000000000000000000000000000000000000000000000000";

pub struct CallAudit<'a> {
    pub at: OffsetDateTime,
    pub call_id: &'a str,
    pub tool: &'a str,
    pub plugin: &'a str,
    /// Already redacted by the caller; redacted once more here.
    pub arguments: &'a serde_json::Value,
    /// "ok" | "error" | "confirmation-required" | "declined" | "refused"
    pub outcome: &'a str,
    pub error_code: Option<&'a str>,
    pub duration_ms: u64,
    pub requests: &'a [RequestRecord],
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct AuditRow {
    pub id: i64,
    pub at: String,
    /// "call" | "request" | "event"
    pub kind: String,
    /// For events: what happened ("server-start", "backup", …).
    pub event: Option<String>,
    pub call_id: Option<String>,
    pub tool: Option<String>,
    pub plugin: Option<String>,
    pub arguments: Option<String>,
    pub outcome: Option<String>,
    pub error_code: Option<String>,
    pub duration_ms: Option<u64>,
    /// A JSON array of upstream request ids.
    pub request_ids: Option<String>,
    pub method: Option<String>,
    pub path: Option<String>,
    pub status: Option<u16>,
    pub attempts: Option<u32>,
    pub detail: Option<String>,
    pub prev_hash: String,
    pub hash: String,
}

#[derive(Clone, Debug, Serialize, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "camelCase")]
pub struct AuditHead {
    pub rows: u64,
    pub last_id: i64,
    pub last_hash: String,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Broken {
    /// The row's content no longer matches its hash.
    Edited,
    /// A gap before this id, or a previous hash that matches no row.
    Deleted,
    /// The row holds content written at another position.
    Reordered,
    /// The chain is shorter than, or ends differently from, a known head.
    Truncated,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct BrokenLink {
    pub id: i64,
    pub kind: Broken,
    pub explanation: String,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct VerifyReport {
    pub rows: u64,
    pub ok: bool,
    pub first_broken: Option<BrokenLink>,
    pub head_checked: Option<AuditHead>,
}

const COLUMNS: &str = "id, at, kind, event, call_id, tool, plugin, arguments, outcome, error_code, \
     duration_ms, request_ids, method, path, status, attempts, detail, prev_hash, hash";

impl AuditRow {
    pub(crate) fn new(at: &str, kind: &str) -> AuditRow {
        AuditRow {
            id: 0,
            at: at.to_string(),
            kind: kind.to_string(),
            event: None,
            call_id: None,
            tool: None,
            plugin: None,
            arguments: None,
            outcome: None,
            error_code: None,
            duration_ms: None,
            request_ids: None,
            method: None,
            path: None,
            status: None,
            attempts: None,
            detail: None,
            prev_hash: String::new(),
            hash: String::new(),
        }
    }

    fn from_sql(r: &rusqlite::Row<'_>) -> rusqlite::Result<AuditRow> {
        Ok(AuditRow {
            id: r.get(0)?,
            at: r.get(1)?,
            kind: r.get(2)?,
            event: r.get(3)?,
            call_id: r.get(4)?,
            tool: r.get(5)?,
            plugin: r.get(6)?,
            arguments: r.get(7)?,
            outcome: r.get(8)?,
            error_code: r.get(9)?,
            duration_ms: r.get::<_, Option<i64>>(10)?.map(|v| v as u64),
            request_ids: r.get(11)?,
            method: r.get(12)?,
            path: r.get(13)?,
            status: r.get::<_, Option<i64>>(14)?.map(|v| v as u16),
            attempts: r.get::<_, Option<i64>>(15)?.map(|v| v as u32),
            detail: r.get(16)?,
            prev_hash: r.get(17)?,
            hash: r.get(18)?,
        })
    }

    /// The hash this row's content gives when it sits at `id`. Every field is
    /// tagged present/absent and length-prefixed, so no two different rows
    /// encode to the same bytes.
    fn hash_at(&self, id: i64) -> String {
        fn field(h: &mut Sha256, v: Option<&[u8]>) {
            match v {
                None => h.update([0u8]),
                Some(b) => {
                    h.update([1u8]);
                    h.update((b.len() as u64).to_be_bytes());
                    h.update(b);
                }
            }
        }
        let text = |s: &Option<String>| s.as_ref().map(|s| s.as_bytes().to_vec());
        let mut h = Sha256::new();
        h.update(b"m365-admin audit v1\0");
        field(&mut h, Some(self.prev_hash.as_bytes()));
        field(&mut h, Some(&id.to_be_bytes()));
        field(&mut h, Some(self.at.as_bytes()));
        field(&mut h, Some(self.kind.as_bytes()));
        for v in [
            text(&self.event),
            text(&self.call_id),
            text(&self.tool),
            text(&self.plugin),
            text(&self.arguments),
            text(&self.outcome),
            text(&self.error_code),
            self.duration_ms.map(|v| v.to_be_bytes().to_vec()),
            text(&self.request_ids),
            text(&self.method),
            text(&self.path),
            self.status.map(|v| v.to_be_bytes().to_vec()),
            self.attempts.map(|v| v.to_be_bytes().to_vec()),
            text(&self.detail),
        ] {
            field(&mut h, v.as_deref());
        }
        hex::encode(h.finalize())
    }

    fn content_matches(&self) -> bool {
        self.hash_at(self.id) == self.hash
    }
}

/// SQLite integers are signed; values are clamped before hashing so that what
/// is hashed is what is stored.
fn clamp_u64(v: u64) -> u64 {
    v.min(i64::MAX as u64)
}

fn last_link(conn: &Connection) -> Result<(i64, String), StoreError> {
    Ok(conn
        .query_row(
            "SELECT id, hash FROM audit ORDER BY id DESC LIMIT 1",
            [],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )
        .optional()?
        .unwrap_or_else(|| (0, GENESIS_HASH.to_string())))
}

/// Chains `row` after the newest row and inserts it; the caller's write
/// transaction makes reading the head and appending one step.
fn append(conn: &Connection, mut row: AuditRow) -> Result<i64, StoreError> {
    let (last_id, last_hash) = last_link(conn)?;
    row.id = last_id + 1;
    row.prev_hash = last_hash;
    row.hash = row.hash_at(row.id);
    conn.execute(
        &format!(
            "INSERT INTO audit ({COLUMNS}) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, \
             ?12, ?13, ?14, ?15, ?16, ?17, ?18, ?19)"
        ),
        params![
            row.id,
            row.at,
            row.kind,
            row.event,
            row.call_id,
            row.tool,
            row.plugin,
            row.arguments,
            row.outcome,
            row.error_code,
            row.duration_ms.map(|v| v as i64),
            row.request_ids,
            row.method,
            row.path,
            row.status,
            row.attempts,
            row.detail,
            row.prev_hash,
            row.hash,
        ],
    )?;
    Ok(row.id)
}

impl Database {
    /// Writes the call's row and one row per upstream request, chained, in
    /// one transaction. Returns the call row's id.
    pub fn audit_call(&self, c: &CallAudit<'_>) -> Result<i64, StoreError> {
        let at = format_time(c.at);
        let arguments = crate::secret::redact(&c.arguments.to_string());
        let request_ids: Vec<&str> = c
            .requests
            .iter()
            .filter_map(|r| r.request_id.as_deref())
            .collect();
        let mut call = AuditRow::new(&at, "call");
        call.call_id = Some(c.call_id.to_string());
        call.tool = Some(c.tool.to_string());
        call.plugin = Some(c.plugin.to_string());
        call.arguments = Some(arguments);
        call.outcome = Some(c.outcome.to_string());
        call.error_code = c.error_code.map(str::to_string);
        call.duration_ms = Some(clamp_u64(c.duration_ms));
        call.request_ids = (!c.requests.is_empty())
            .then(|| serde_json::to_string(&request_ids).expect("strings serialise"));
        let requests: Vec<AuditRow> = c
            .requests
            .iter()
            .map(|r| {
                let mut row = AuditRow::new(&at, "request");
                row.call_id = Some(c.call_id.to_string());
                row.tool = Some(c.tool.to_string());
                row.plugin = Some(c.plugin.to_string());
                row.duration_ms = Some(clamp_u64(r.duration_ms));
                row.request_ids = r
                    .request_id
                    .as_ref()
                    .map(|id| serde_json::to_string(&[id]).expect("strings serialise"));
                row.method = Some(r.method.clone());
                row.path = Some(crate::secret::redact(&r.path));
                row.status = r.status;
                row.attempts = Some(r.attempts);
                row
            })
            .collect();
        self.write(|tx| {
            let id = append(tx, call)?;
            for row in requests {
                append(tx, row)?;
            }
            Ok(id)
        })
    }

    /// A host event (server start/stop, backup, restore, confirmation token
    /// issued) with its detail as JSON.
    pub fn audit_event(&self, what: &str, detail: &serde_json::Value) -> Result<i64, StoreError> {
        let mut row = AuditRow::new(&super::db::now(), "event");
        row.event = Some(what.to_string());
        row.detail = Some(crate::secret::redact(&detail.to_string()));
        self.write(|tx| append(tx, row))
    }

    /// The newest `n` rows, oldest first.
    pub fn audit_tail(&self, n: u32) -> Result<Vec<AuditRow>, StoreError> {
        self.read(|tx| {
            let mut stmt = tx.prepare(&format!(
                "SELECT {COLUMNS} FROM (SELECT * FROM audit ORDER BY id DESC LIMIT ?1) ORDER BY id"
            ))?;
            let rows = stmt.query_map([n], AuditRow::from_sql)?;
            Ok(rows.collect::<Result<Vec<_>, _>>()?)
        })
    }

    /// Rows written at or after `since` (all rows for None), oldest first.
    pub fn audit_since(&self, since: Option<OffsetDateTime>) -> Result<Vec<AuditRow>, StoreError> {
        let since = since.map(format_time).unwrap_or_default();
        self.read(|tx| {
            let mut stmt = tx.prepare(&format!(
                "SELECT {COLUMNS} FROM audit WHERE at >= ?1 ORDER BY id"
            ))?;
            let rows = stmt.query_map([since], AuditRow::from_sql)?;
            Ok(rows.collect::<Result<Vec<_>, _>>()?)
        })
    }

    pub fn audit_head(&self) -> Result<AuditHead, StoreError> {
        self.read(|tx| head(tx))
    }

    /// Walks the whole chain and reports its first broken link. `known_head`
    /// is the newest head found outside the database: the chain must still
    /// hold that row with that hash.
    pub fn audit_verify(&self, known_head: Option<&AuditHead>) -> Result<VerifyReport, StoreError> {
        self.read(|tx| verify(tx, known_head))
    }
}

pub(crate) fn head(conn: &Connection) -> Result<AuditHead, StoreError> {
    let rows: i64 = conn.query_row("SELECT count(*) FROM audit", [], |r| r.get(0))?;
    let (last_id, last_hash) = last_link(conn)?;
    Ok(AuditHead {
        rows: rows as u64,
        last_id,
        last_hash,
    })
}

pub(crate) fn verify(
    conn: &Connection,
    known_head: Option<&AuditHead>,
) -> Result<VerifyReport, StoreError> {
    let mut stmt = conn.prepare(&format!("SELECT {COLUMNS} FROM audit ORDER BY id"))?;
    let mut rows = stmt.query([])?;
    let mut count = 0u64;
    let mut prev_id = 0i64;
    let mut prev_hash = GENESIS_HASH.to_string();
    let mut first_broken = None;
    while let Some(r) = rows.next()? {
        let row = AuditRow::from_sql(r)?;
        count += 1;
        if first_broken.is_none() {
            first_broken = check_link(conn, &row, prev_id, &prev_hash)?;
        }
        prev_id = row.id;
        prev_hash = row.hash;
    }
    if first_broken.is_none()
        && let Some(h) = known_head
    {
        first_broken = check_head(conn, h, count, prev_id)?;
    }
    Ok(VerifyReport {
        rows: count,
        ok: first_broken.is_none(),
        first_broken,
        head_checked: known_head.cloned(),
    })
}

fn check_link(
    conn: &Connection,
    row: &AuditRow,
    prev_id: i64,
    prev_hash: &str,
) -> Result<Option<BrokenLink>, StoreError> {
    let id = row.id;
    let broken = |kind, explanation: String| {
        Ok(Some(BrokenLink {
            id,
            kind,
            explanation,
        }))
    };
    if !row.content_matches() {
        if let Some(k) = written_at(conn, row, 0)?
            && k != id
        {
            return broken(
                Broken::Reordered,
                format!("row {id} holds the row that was written as row {k}: rows were moved"),
            );
        }
        return broken(
            Broken::Edited,
            format!("row {id} does not match its hash: it was changed after it was written"),
        );
    }
    if id != prev_id + 1 {
        let missing = if id - prev_id == 2 {
            format!("row {} is", prev_id + 1)
        } else {
            format!("rows {} to {} are", prev_id + 1, id - 1)
        };
        return broken(
            Broken::Deleted,
            format!("{missing} missing before row {id}: deleted from the trail"),
        );
    }
    if row.prev_hash != prev_hash {
        if let Some(other) = find_by_hash(conn, &row.prev_hash)? {
            return broken(
                Broken::Reordered,
                format!(
                    "row {id} was written after row {}, not after row {prev_id}: rows were moved",
                    other.id
                ),
            );
        }
        let before = if prev_id == 0 {
            "the start of the trail".to_string()
        } else {
            format!("row {prev_id}")
        };
        return broken(
            Broken::Deleted,
            format!(
                "row {id} does not follow {before}: a row between them was deleted, or {before} was replaced"
            ),
        );
    }
    Ok(None)
}

/// Where a row whose hash does not fit its id was originally written: one
/// after its predecessor (the row whose hash it names), found back through
/// the chain until a row that sits where it was written.
fn written_at(conn: &Connection, row: &AuditRow, depth: u32) -> Result<Option<i64>, StoreError> {
    if row.prev_hash == GENESIS_HASH {
        return Ok(Some(1).filter(|&k| row.hash_at(k) == row.hash));
    }
    // Each step is a scan; a long run of moved rows is called an edit.
    if depth >= 16 {
        return Ok(None);
    }
    let Some(pred) = find_by_hash(conn, &row.prev_hash)? else {
        return Ok(None);
    };
    let pred_at = if pred.content_matches() {
        Some(pred.id)
    } else {
        written_at(conn, &pred, depth + 1)?
    };
    Ok(pred_at
        .map(|p| p + 1)
        .filter(|&k| row.hash_at(k) == row.hash))
}

fn find_by_hash(conn: &Connection, hash: &str) -> Result<Option<AuditRow>, StoreError> {
    Ok(conn
        .query_row(
            &format!("SELECT {COLUMNS} FROM audit WHERE hash = ?1 ORDER BY id LIMIT 1"),
            [hash],
            AuditRow::from_sql,
        )
        .optional()?)
}

fn check_head(
    conn: &Connection,
    h: &AuditHead,
    count: u64,
    last_id: i64,
) -> Result<Option<BrokenLink>, StoreError> {
    if h.rows == 0 {
        return Ok(None);
    }
    let stored: Option<String> = conn
        .query_row("SELECT hash FROM audit WHERE id = ?1", [h.last_id], |r| {
            r.get(0)
        })
        .optional()?;
    let explanation = match stored {
        None => format!(
            "the trail ends at row {last_id} with {count} rows, but a head kept outside the database records row {} ({} rows): rows were removed from the end",
            h.last_id, h.rows
        ),
        Some(hash) if hash != h.last_hash => format!(
            "row {} differs from the head kept outside the database: the end of the trail was removed and rewritten",
            h.last_id
        ),
        Some(_) if count < h.rows => format!(
            "the trail has {count} rows, but a head kept outside the database records {}: rows were removed",
            h.rows
        ),
        Some(_) => return Ok(None),
    };
    Ok(Some(BrokenLink {
        id: h.last_id,
        kind: Broken::Truncated,
        explanation,
    }))
}

/// One JSON object per line.
pub fn export_jsonl(rows: &[AuditRow], out: &mut dyn std::io::Write) -> std::io::Result<()> {
    for row in rows {
        serde_json::to_writer(&mut *out, row)?;
        out.write_all(b"\n")?;
    }
    Ok(())
}

const CSV_HEADER: [&str; 19] = [
    "id",
    "at",
    "kind",
    "event",
    "callId",
    "tool",
    "plugin",
    "arguments",
    "outcome",
    "errorCode",
    "durationMs",
    "requestIds",
    "method",
    "path",
    "status",
    "attempts",
    "detail",
    "prevHash",
    "hash",
];

/// RFC 4180: CRLF line ends, a header row, and fields holding a comma, quote,
/// CR or LF quoted with inner quotes doubled. An absent value is empty.
pub fn export_csv(rows: &[AuditRow], out: &mut dyn std::io::Write) -> std::io::Result<()> {
    fn line(out: &mut dyn std::io::Write, fields: &[String]) -> std::io::Result<()> {
        for (i, f) in fields.iter().enumerate() {
            if i > 0 {
                out.write_all(b",")?;
            }
            // A spreadsheet would run a cell that starts like a formula; the
            // arguments come from the model, so defuse them (OWASP's advice).
            let defused;
            let f = if f.starts_with(['=', '+', '-', '@', '\t', '\r']) {
                defused = format!("'{f}");
                &defused
            } else {
                f
            };
            if f.contains([',', '"', '\r', '\n']) {
                out.write_all(b"\"")?;
                out.write_all(f.replace('"', "\"\"").as_bytes())?;
                out.write_all(b"\"")?;
            } else {
                out.write_all(f.as_bytes())?;
            }
        }
        out.write_all(b"\r\n")
    }
    let header: Vec<String> = CSV_HEADER.iter().map(|s| s.to_string()).collect();
    line(out, &header)?;
    let opt = |v: &Option<String>| v.clone().unwrap_or_default();
    let num = |v: Option<u64>| v.map(|n| n.to_string()).unwrap_or_default();
    for r in rows {
        line(
            out,
            &[
                r.id.to_string(),
                r.at.clone(),
                r.kind.clone(),
                opt(&r.event),
                opt(&r.call_id),
                opt(&r.tool),
                opt(&r.plugin),
                opt(&r.arguments),
                opt(&r.outcome),
                opt(&r.error_code),
                num(r.duration_ms),
                opt(&r.request_ids),
                opt(&r.method),
                opt(&r.path),
                num(r.status.map(u64::from)),
                num(r.attempts.map(u64::from)),
                opt(&r.detail),
                r.prev_hash.clone(),
                r.hash.clone(),
            ],
        )?;
    }
    Ok(())
}

/// `<db path>.audit-head.json`.
pub fn head_file_path(db_path: &Path) -> PathBuf {
    let mut p = db_path.as_os_str().to_owned();
    p.push(".audit-head.json");
    PathBuf::from(p)
}

/// Writes the head beside the database, atomically (a temporary file renamed
/// over it), so a reader never sees half a head.
pub fn write_head_file(db_path: &Path, head: &AuditHead) -> std::io::Result<()> {
    use std::io::Write;
    let target = head_file_path(db_path);
    let mut tmp = target.as_os_str().to_owned();
    tmp.push(format!(".tmp-{}", uuid::Uuid::new_v4().simple()));
    let tmp = PathBuf::from(tmp);
    let result = (|| {
        let mut f = std::fs::File::create(&tmp)?;
        serde_json::to_writer_pretty(&mut f, head)?;
        f.write_all(b"\n")?;
        f.sync_all()?;
        std::fs::rename(&tmp, &target)
    })();
    if result.is_err() {
        let _ = std::fs::remove_file(&tmp);
    }
    result
}

/// The head kept beside the database, or None if there is none (or it is
/// unreadable, which verification then cannot use either).
pub fn read_head_file(db_path: &Path) -> Option<AuditHead> {
    let text = std::fs::read_to_string(head_file_path(db_path)).ok()?;
    serde_json::from_str(&text).ok()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::db::tests::{HEX_KEY, raw_conn, raw_key, temp_db};
    use serde_json::json;

    fn record(method: &str, request_id: Option<&str>) -> RequestRecord {
        RequestRecord {
            method: method.into(),
            path: "/v1.0/users".into(),
            status: Some(200),
            attempts: 1,
            request_id: request_id.map(str::to_string),
            duration_ms: 12,
        }
    }

    fn call(db: &Database, n: u32) -> i64 {
        let args = json!({ "n": n, "name": "Ann, \"the\" admin\nline 2" });
        let requests = [record("GET", Some("req-1")), record("PATCH", None)];
        db.audit_call(&CallAudit {
            at: OffsetDateTime::now_utc(),
            call_id: &format!("call-{n}"),
            tool: "users_update",
            plugin: "users",
            arguments: &args,
            outcome: "ok",
            error_code: None,
            duration_ms: 40,
            requests: &requests,
        })
        .unwrap()
    }

    /// Ten rows: calls with two requests each make ids 1-3, 4-6, 7-9; 10 is an event.
    fn ten_rows() -> (tempfile::TempDir, Database) {
        let (dir, db) = temp_db();
        for n in 0..3 {
            call(&db, n);
        }
        db.audit_event("server-stop", &json!({"reason": "test"}))
            .unwrap();
        (dir, db)
    }

    fn tamper(db: &Database, sql: &str) {
        raw_conn(db.path(), &raw_key()).execute_batch(sql).unwrap();
    }

    #[test]
    fn a_call_and_its_requests_are_chained_rows() {
        let (_d, db) = temp_db();
        assert_eq!(call(&db, 1), 1);
        assert_eq!(call(&db, 2), 4);
        let rows = db.audit_tail(100).unwrap();
        assert_eq!(rows.len(), 6);
        assert_eq!(rows[0].prev_hash, GENESIS_HASH);
        for w in rows.windows(2) {
            assert_eq!(w[1].prev_hash, w[0].hash);
        }
        let c = &rows[0];
        assert_eq!(c.kind, "call");
        assert_eq!(c.request_ids.as_deref(), Some(r#"["req-1"]"#));
        assert_eq!(c.duration_ms, Some(40));
        assert!(c.arguments.as_deref().unwrap().contains("Ann"));
        let r = &rows[1];
        assert_eq!(
            (r.kind.as_str(), r.method.as_deref(), r.status),
            ("request", Some("GET"), Some(200))
        );
        assert_eq!(r.call_id.as_deref(), Some("call-1"));
        assert_eq!(rows[2].request_ids, None);
        let tail = db.audit_tail(2).unwrap();
        assert_eq!(tail.iter().map(|r| r.id).collect::<Vec<_>>(), vec![5, 6]);
        let head = db.audit_head().unwrap();
        assert_eq!((head.rows, head.last_id), (6, 6));
        assert_eq!(head.last_hash, rows[5].hash);
        let report = db.audit_verify(Some(&head)).unwrap();
        assert!(report.ok, "{report:?}");
        assert_eq!(report.rows, 6);
        assert_eq!(report.head_checked, Some(head));
    }

    #[test]
    fn secrets_in_arguments_and_events_are_redacted() {
        let (_d, db) = temp_db();
        crate::secret::register("audit-secret-value-6612");
        db.audit_event(
            "token-issued",
            &json!({"secret": "audit-secret-value-6612"}),
        )
        .unwrap();
        let rows = db.audit_tail(1).unwrap();
        assert_eq!(
            rows[0].detail.as_deref(),
            Some(r#"{"secret":"[REDACTED]"}"#)
        );
        assert_eq!(rows[0].event.as_deref(), Some("token-issued"));
        assert!(!rows[0].detail.as_deref().unwrap().contains(HEX_KEY));
    }

    #[test]
    fn empty_trail_verifies() {
        let (_d, db) = temp_db();
        let head = db.audit_head().unwrap();
        assert_eq!(
            head,
            AuditHead {
                rows: 0,
                last_id: 0,
                last_hash: GENESIS_HASH.into()
            }
        );
        assert!(db.audit_verify(Some(&head)).unwrap().ok);
    }

    #[test]
    fn an_edit_is_found_at_its_row() {
        let (_d, db) = ten_rows();
        assert!(db.audit_verify(None).unwrap().ok);
        tamper(&db, "UPDATE audit SET outcome = 'error' WHERE id = 4");
        let report = db.audit_verify(None).unwrap();
        let b = report.first_broken.unwrap();
        assert_eq!((b.id, b.kind), (4, Broken::Edited), "{}", b.explanation);
        assert!(!report.ok);
        assert_eq!(report.rows, 10);
    }

    #[test]
    fn a_rehashed_edit_shows_as_a_broken_link_after_it() {
        let (_d, db) = ten_rows();
        // The tamperer recomputes row 4's hash; row 5 no longer follows it.
        let mut rows = db.audit_tail(100).unwrap();
        rows[3].outcome = Some("error".into());
        let new_hash = rows[3].hash_at(4);
        tamper(
            &db,
            &format!("UPDATE audit SET outcome = 'error', hash = '{new_hash}' WHERE id = 4"),
        );
        let b = db.audit_verify(None).unwrap().first_broken.unwrap();
        assert_eq!((b.id, b.kind), (5, Broken::Deleted), "{}", b.explanation);
    }

    #[test]
    fn a_deleted_row_is_found_after_the_gap() {
        let (_d, db) = ten_rows();
        tamper(&db, "DELETE FROM audit WHERE id = 5");
        let b = db.audit_verify(None).unwrap().first_broken.unwrap();
        assert_eq!((b.id, b.kind), (6, Broken::Deleted), "{}", b.explanation);
        assert!(b.explanation.contains("row 5"), "{}", b.explanation);
        let (_d, db) = ten_rows();
        tamper(&db, "DELETE FROM audit WHERE id IN (1, 2)");
        let b = db.audit_verify(None).unwrap().first_broken.unwrap();
        assert_eq!((b.id, b.kind), (3, Broken::Deleted), "{}", b.explanation);
    }

    #[test]
    fn swapped_rows_are_found_as_reordered() {
        for (a, b) in [(4, 5), (2, 8), (1, 10)] {
            let (_d, db) = ten_rows();
            let swap = format!(
                "UPDATE audit SET id = -1 WHERE id = {a};
                 UPDATE audit SET id = {a} WHERE id = {b};
                 UPDATE audit SET id = {b} WHERE id = -1;"
            );
            tamper(&db, &swap);
            let report = db.audit_verify(None).unwrap();
            let broken = report.first_broken.unwrap();
            assert_eq!(
                (broken.id, broken.kind),
                (a, Broken::Reordered),
                "swap {a}<->{b}: {}",
                broken.explanation
            );
            assert!(
                broken.explanation.contains(&format!("row {b}")),
                "{}",
                broken.explanation
            );
        }
    }

    #[test]
    fn a_truncated_tail_is_found_against_the_known_head() {
        let (_d, db) = ten_rows();
        let head = db.audit_head().unwrap();
        tamper(&db, "DELETE FROM audit WHERE id > 7");
        // The chain alone cannot tell.
        assert!(db.audit_verify(None).unwrap().ok);
        let report = db.audit_verify(Some(&head)).unwrap();
        let b = report.first_broken.unwrap();
        assert_eq!((b.id, b.kind), (10, Broken::Truncated), "{}", b.explanation);
        assert_eq!(report.rows, 7);
        // Truncated and then extended with fresh rows: row 10 differs.
        db.audit_event("a", &json!(1)).unwrap();
        db.audit_event("b", &json!(2)).unwrap();
        db.audit_event("c", &json!(3)).unwrap();
        let b = db.audit_verify(Some(&head)).unwrap().first_broken.unwrap();
        assert_eq!((b.id, b.kind), (10, Broken::Truncated), "{}", b.explanation);
        // A head older than the current end is fine.
        let (_d, db) = ten_rows();
        let old = db.audit_head().unwrap();
        db.audit_event("later", &json!({})).unwrap();
        assert!(db.audit_verify(Some(&old)).unwrap().ok);
    }

    #[test]
    fn since_filters_by_time() {
        let (_d, db) = temp_db();
        db.write(|tx| {
            for (i, at) in ["2026-01-01T00:00:00.000000Z", "2026-02-01T00:00:00.000000Z"]
                .iter()
                .enumerate()
            {
                let mut row = AuditRow::new(at, "event");
                row.event = Some(format!("e{i}"));
                append(tx, row)?;
            }
            Ok(())
        })
        .unwrap();
        assert_eq!(db.audit_since(None).unwrap().len(), 2);
        let since = time::macros::datetime!(2026-01-15 0:00 UTC);
        let rows = db.audit_since(Some(since)).unwrap();
        assert_eq!(rows.len(), 1);
        assert_eq!(rows[0].event.as_deref(), Some("e1"));
        assert!(db.audit_verify(None).unwrap().ok);
    }

    #[test]
    fn exports_quote_what_needs_quoting() {
        let (_d, db) = temp_db();
        call(&db, 7);
        let rows = db.audit_since(None).unwrap();

        let mut jsonl = Vec::new();
        export_jsonl(&rows, &mut jsonl).unwrap();
        let text = String::from_utf8(jsonl).unwrap();
        let lines: Vec<_> = text.lines().collect();
        assert_eq!(lines.len(), 3);
        let first: serde_json::Value = serde_json::from_str(lines[0]).unwrap();
        assert_eq!(first["callId"], "call-7");
        assert_eq!(first["prevHash"], GENESIS_HASH);

        let mut csv = Vec::new();
        export_csv(&rows, &mut csv).unwrap();
        let text = String::from_utf8(csv).unwrap();
        assert!(text.starts_with("id,at,kind,event,callId,tool,plugin,arguments,"));
        assert!(text.contains("prevHash,hash\r\n"));
        // The arguments hold a comma, quotes and an escaped newline.
        let args = rows[0].arguments.clone().unwrap();
        let quoted = format!("\"{}\"", args.replace('"', "\"\""));
        assert!(text.contains(&format!(",{quoted},")), "{text}");
        assert_eq!(text.matches("\r\n").count(), 4);
    }

    #[test]
    fn csv_quotes_raw_newlines_and_leaves_plain_fields_alone() {
        let mut row = AuditRow::new("t", "event");
        row.detail = Some("line 1\nline 2".into());
        row.event = Some("plain".into());
        row.tool = Some("a,b".into());
        let mut out = Vec::new();
        export_csv(&[row], &mut out).unwrap();
        let text = String::from_utf8(out).unwrap();
        let body = text.split_once("\r\n").unwrap().1;
        assert_eq!(
            body,
            "0,t,event,plain,,\"a,b\",,,,,,,,,,,\"line 1\nline 2\",,\r\n"
        );
    }

    #[test]
    fn csv_cells_that_look_like_formulas_are_defused() {
        let mut row = AuditRow::new("t", "event");
        row.detail = Some("=HYPERLINK(\"http://x\")".into());
        row.event = Some("@SUM(A1)".into());
        let mut out = Vec::new();
        export_csv(&[row], &mut out).unwrap();
        let text = String::from_utf8(out).unwrap();
        assert!(text.contains(",'@SUM(A1),"), "{text}");
        assert!(text.contains("\"'=HYPERLINK(\"\"http://x\"\")\""), "{text}");
    }

    #[test]
    fn head_file_round_trips() {
        let dir = tempfile::tempdir().unwrap();
        let db_path = dir.path().join("store.db");
        assert_eq!(read_head_file(&db_path), None);
        let head = AuditHead {
            rows: 3,
            last_id: 3,
            last_hash: "ab".repeat(32),
        };
        write_head_file(&db_path, &head).unwrap();
        assert!(dir.path().join("store.db.audit-head.json").exists());
        assert_eq!(read_head_file(&db_path), Some(head.clone()));
        let newer = AuditHead {
            rows: 4,
            last_id: 4,
            ..head
        };
        write_head_file(&db_path, &newer).unwrap();
        assert_eq!(read_head_file(&db_path), Some(newer));
        assert_eq!(
            std::fs::read_dir(dir.path()).unwrap().count(),
            1,
            "no temporary files left"
        );
    }

    #[test]
    fn different_rows_hash_differently() {
        let mut a = AuditRow::new("t", "event");
        a.prev_hash = GENESIS_HASH.into();
        let mut b = a.clone();
        a.event = Some("ab".into());
        a.detail = Some("c".into());
        b.event = Some("a".into());
        b.detail = Some("bc".into());
        assert_ne!(a.hash_at(1), b.hash_at(1));
        let mut c = a.clone();
        c.detail = None;
        let mut d = a.clone();
        d.detail = Some(String::new());
        assert_ne!(c.hash_at(1), d.hash_at(1));
        assert_ne!(a.hash_at(1), a.hash_at(2));
    }
}
