//! One-time confirmation tokens for destructive calls, stored by hash so the
//! database never holds a usable token.

use super::StoreError;
use super::db::{Database, format_time};
use rusqlite::{OptionalExtension, params};
use time::OffsetDateTime;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TokenCheck {
    /// The token was good and is now used up.
    Valid,
    Unknown,
    Used,
    Expired,
    /// Issued for another tool or other arguments; left unused.
    Mismatch,
}

/// Expired tokens are kept this long, so that a late retry is told "expired"
/// rather than "unknown".
const KEEP_EXPIRED: time::Duration = time::Duration::days(1);

impl Database {
    pub fn confirmation_insert(
        &self,
        token_hash: &str,
        tool: &str,
        args_hash: &str,
        plan: &str,
        expires_at: OffsetDateTime,
    ) -> Result<(), StoreError> {
        let created = super::db::now();
        let expires = format_time(expires_at);
        self.write(|tx| {
            tx.execute(
                "INSERT INTO confirmations (token_hash, tool, args_hash, plan, created_at, expires_at)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
                params![token_hash, tool, args_hash, plan, created, expires],
            )?;
            Ok(())
        })
    }

    /// Checks the token and, only if it is valid for this tool and these
    /// arguments, marks it used — in one transaction, so two calls racing
    /// with the same token cannot both get `Valid`.
    pub fn confirmation_consume(
        &self,
        token_hash: &str,
        tool: &str,
        args_hash: &str,
        now: OffsetDateTime,
    ) -> Result<TokenCheck, StoreError> {
        let now_s = format_time(now);
        let prune_before = format_time(now - KEEP_EXPIRED);
        self.write(|tx| {
            tx.execute(
                "DELETE FROM confirmations WHERE expires_at < ?1",
                [&prune_before],
            )?;
            let found: Option<(String, String, String, Option<String>)> = tx
                .query_row(
                    "SELECT tool, args_hash, expires_at, used_at FROM confirmations
                     WHERE token_hash = ?1",
                    [token_hash],
                    |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?)),
                )
                .optional()?;
            let Some((t_tool, t_args, expires_at, used_at)) = found else {
                return Ok(TokenCheck::Unknown);
            };
            if used_at.is_some() {
                return Ok(TokenCheck::Used);
            }
            if expires_at <= now_s {
                return Ok(TokenCheck::Expired);
            }
            if t_tool != tool || t_args != args_hash {
                return Ok(TokenCheck::Mismatch);
            }
            tx.execute(
                "UPDATE confirmations SET used_at = ?2 WHERE token_hash = ?1",
                params![token_hash, now_s],
            )?;
            Ok(TokenCheck::Valid)
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::db::tests::temp_db;
    use time::Duration;

    #[test]
    fn a_token_is_good_once() {
        let (_d, db) = temp_db();
        let now = OffsetDateTime::now_utc();
        db.confirmation_insert(
            "th1",
            "users_delete",
            "ah1",
            "delete 3 users",
            now + Duration::minutes(5),
        )
        .unwrap();
        let check = |tool, args| db.confirmation_consume("th1", tool, args, now).unwrap();
        assert_eq!(check("users_delete", "other-args"), TokenCheck::Mismatch);
        assert_eq!(check("groups_delete", "ah1"), TokenCheck::Mismatch);
        // A mismatch does not use the token up.
        assert_eq!(check("users_delete", "ah1"), TokenCheck::Valid);
        assert_eq!(check("users_delete", "ah1"), TokenCheck::Used);
        assert_eq!(
            db.confirmation_consume("nope", "users_delete", "ah1", now)
                .unwrap(),
            TokenCheck::Unknown
        );
        // The same token hash cannot be issued twice.
        assert!(
            db.confirmation_insert("th1", "t", "a", "p", now + Duration::minutes(5))
                .is_err()
        );
    }

    #[test]
    fn expired_tokens_are_refused_then_pruned() {
        let (_d, db) = temp_db();
        let now = OffsetDateTime::now_utc();
        db.confirmation_insert("th2", "t", "a", "p", now + Duration::minutes(5))
            .unwrap();
        let later = now + Duration::minutes(6);
        assert_eq!(
            db.confirmation_consume("th2", "t", "a", later).unwrap(),
            TokenCheck::Expired
        );
        let much_later = now + Duration::days(2);
        assert_eq!(
            db.confirmation_consume("th2", "t", "a", much_later)
                .unwrap(),
            TokenCheck::Unknown
        );
        let left: i64 = db
            .read(|tx| Ok(tx.query_row("SELECT count(*) FROM confirmations", [], |r| r.get(0))?))
            .unwrap();
        assert_eq!(left, 0);
    }
}
