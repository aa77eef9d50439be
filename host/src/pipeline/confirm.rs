//! Confirmation of destructive and bulk calls (spec §7.1). The host, not the
//! plugin, decides that a call needs it: the tool is annotated destructive,
//! or its bulk argument holds more items than the threshold. The
//! administrator then approves a plan, either in the client (MCP
//! elicitation) or by calling again with the one-time token the first call
//! returned. A token is bound to the tool and the exact arguments, is valid
//! for five minutes (M365_CONFIRM_TTL_SECS) and works once; only its hash is
//! stored.

use crate::errors::{CodedError, ErrorCode};
use crate::store::Database;
use crate::store::TokenCheck;
use serde_json::{Value, json};
use sha2::{Digest, Sha256};
use std::future::Future;
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};

/// The argument that carries a token; the host takes it out before the
/// arguments are validated, audited or given to the plugin.
pub const TOKEN_ARG: &str = "confirmationToken";

/// What the administrator answered in the client.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Answer {
    Accepted,
    Declined,
}

/// Asks the administrator, in the client, to approve a plan. `None`: the
/// client could not ask (no elicitation support, or it failed), so the token
/// flow applies.
pub type Elicitor =
    Arc<dyn Fn(String) -> Pin<Box<dyn Future<Output = Option<Answer>> + Send>> + Send + Sync>;

/// One call's way to the administrator's approval, asked for by the host
/// (destructive or bulk tools) or by the plugin (`host.confirm`). Once given,
/// it holds for the rest of the call.
pub struct Approval {
    pub db: Database,
    pub tool: String,
    /// The call's arguments without the token: what a token is bound to.
    pub args: Value,
    pub token: Mutex<Option<String>>,
    pub elicit: Option<Elicitor>,
    pub ttl: std::time::Duration,
    approved: AtomicBool,
}

impl Approval {
    pub fn new(
        db: Database,
        tool: &str,
        args: Value,
        token: Option<String>,
        elicit: Option<Elicitor>,
        ttl: std::time::Duration,
    ) -> Approval {
        Approval {
            db,
            tool: tool.into(),
            args,
            token: Mutex::new(token),
            elicit,
            ttl,
            approved: AtomicBool::new(false),
        }
    }

    /// Ok once approved; otherwise the CONFIRM_001 error and the audit
    /// outcome ("confirmation-required", "declined" or "refused").
    pub async fn obtain(&self, plan: &str, why: &str) -> Result<(), (CodedError, &'static str)> {
        if self.approved.load(Ordering::SeqCst) {
            return Ok(());
        }
        let token = self.token.lock().unwrap_or_else(|e| e.into_inner()).take();
        if let Some(token) = token {
            redeem(&self.db, &self.tool, &self.args, &token).map_err(|e| (e, "refused"))?;
            self.approved.store(true, Ordering::SeqCst);
            return Ok(());
        }
        if let Some(ask) = &self.elicit {
            let question = format!("Approve `{}`? {plan}", self.tool);
            match ask(question).await {
                Some(Answer::Accepted) => {
                    self.approved.store(true, Ordering::SeqCst);
                    return Ok(());
                }
                Some(Answer::Declined) => {
                    return Err((
                        CodedError::new(
                            ErrorCode::Confirm001,
                            format!(
                                "The administrator declined `{}`; nothing was done. Plan that was declined: {plan}",
                                self.tool
                            ),
                        ),
                        "declined",
                    ));
                }
                None => {}
            }
        }
        let e = issue(&self.db, &self.tool, &self.args, plan, why, self.ttl)
            .map_err(|e| (e, "error"))?;
        Err((e, "confirmation-required"))
    }
}

/// Why a call needs confirmation, or `None`.
pub fn reason(
    destructive: bool,
    bulk_argument: Option<&str>,
    args: &Value,
    threshold: usize,
) -> Option<String> {
    if destructive {
        return Some("it is marked destructive".into());
    }
    let field = bulk_argument?;
    let n = args.get(field).and_then(Value::as_array).map(Vec::len)?;
    (n > threshold).then(|| format!("it acts on {n} items in `{field}` (more than {threshold})"))
}

/// Removes and returns the token argument.
pub fn take_token(args: &mut Value) -> Option<String> {
    args.as_object_mut()?
        .remove(TOKEN_ARG)
        .and_then(|v| v.as_str().map(str::to_string))
}

/// The hash a token is bound to: the tool and its arguments in a canonical
/// form (object keys sorted at every level), so key order does not matter
/// but any change of value does.
pub fn arguments_hash(tool: &str, args: &Value) -> String {
    // serde_json may keep insertion order (preserve_order): write pairs in
    // sorted order explicitly.
    fn write(v: &Value, out: &mut String) {
        match v {
            Value::Object(m) => {
                let mut keys: Vec<&String> = m.keys().collect();
                keys.sort();
                out.push('{');
                for (i, k) in keys.into_iter().enumerate() {
                    if i > 0 {
                        out.push(',');
                    }
                    out.push_str(&Value::String(k.clone()).to_string());
                    out.push(':');
                    write(&m[k], out);
                }
                out.push('}');
            }
            Value::Array(a) => {
                out.push('[');
                for (i, x) in a.iter().enumerate() {
                    if i > 0 {
                        out.push(',');
                    }
                    write(x, out);
                }
                out.push(']');
            }
            other => out.push_str(&other.to_string()),
        }
    }
    let mut text = String::new();
    write(args, &mut text);
    let mut h = Sha256::new();
    h.update(tool.as_bytes());
    h.update([0]);
    h.update(text.as_bytes());
    hex::encode(h.finalize())
}

fn token_hash(token: &str) -> String {
    hex::encode(Sha256::digest(token.as_bytes()))
}

/// Issues a token for this exact call and returns the CONFIRM_001 error that
/// carries it with the plan.
pub fn issue(
    db: &Database,
    tool: &str,
    args: &Value,
    plan: &str,
    why: &str,
    ttl: std::time::Duration,
) -> Result<CodedError, CodedError> {
    let token = format!("cfm_{}", hex::encode(rand::random::<[u8; 16]>()));
    let expires = time::OffsetDateTime::now_utc() + ttl;
    let validity = match ttl.as_secs() {
        s if s % 60 == 0 => format!("{} minutes", s / 60),
        s => format!("{s} seconds"),
    };
    db.confirmation_insert(
        &token_hash(&token),
        tool,
        &arguments_hash(tool, args),
        plan,
        expires,
    )?;
    let expires_at = expires
        .format(&time::format_description::well_known::Rfc3339)
        .unwrap_or_default();
    Ok(CodedError {
        code: ErrorCode::Confirm001,
        message: format!(
            "`{tool}` needs the administrator's confirmation because {why}. Nothing has been done yet. Plan: {plan} To go ahead, show this plan to the administrator and, once they approve, call `{tool}` again with the same arguments plus \"{TOKEN_ARG}\": \"{token}\" (valid once, for {validity})."
        ),
        retry_after: None,
        details: Some(json!({
            "plan": plan,
            "confirmationToken": token,
            "expiresAt": expires_at,
            "tool": tool,
        })),
    })
}

/// Checks and uses up a token for this exact call.
pub fn redeem(db: &Database, tool: &str, args: &Value, token: &str) -> Result<(), CodedError> {
    let check = db.confirmation_consume(
        &token_hash(token),
        tool,
        &arguments_hash(tool, args),
        time::OffsetDateTime::now_utc(),
    )?;
    let why = match check {
        TokenCheck::Valid => return Ok(()),
        TokenCheck::Unknown => "the confirmation token is not one this server issued",
        TokenCheck::Used => "the confirmation token was already used",
        TokenCheck::Expired => "the confirmation token has expired",
        TokenCheck::Mismatch => {
            "the confirmation token was issued for a different tool or different arguments"
        }
    };
    Err(CodedError::new(
        ErrorCode::Confirm001,
        format!(
            "Not done: {why}. Call `{tool}` again without \"{TOKEN_ARG}\" to get a new plan and token, and have the administrator approve that."
        ),
    ))
}

/// The plan when the plugin gives none.
pub fn generic_plan(tool: &str, plugin: &str, redacted_args: &Value) -> String {
    format!("Run `{tool}` (plugin `{plugin}`) with arguments {redacted_args}.")
}

/// The JSON Schema property the host adds to tools that need confirmation,
/// so that the model knows where the token goes.
pub fn token_property() -> Value {
    json!({
        "type": "string",
        "description": "One-time token from a CONFIRM_001 answer, after the administrator approved its plan.",
        "maxLength": 64,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hash_ignores_key_order_but_not_values() {
        let a = json!({"a": 1, "b": {"x": [1, 2], "y": "z"}});
        let b = json!({"b": {"y": "z", "x": [1, 2]}, "a": 1});
        let c = json!({"a": 1, "b": {"x": [2, 1], "y": "z"}});
        assert_eq!(arguments_hash("t", &a), arguments_hash("t", &b));
        assert_ne!(arguments_hash("t", &a), arguments_hash("t", &c));
        assert_ne!(arguments_hash("t", &a), arguments_hash("u", &a));
    }

    #[test]
    fn reasons() {
        let args = json!({"items": [1, 2, 3]});
        assert!(reason(true, None, &args, 10).is_some());
        assert!(reason(false, Some("items"), &args, 3).is_none());
        assert!(
            reason(false, Some("items"), &args, 2)
                .unwrap()
                .contains("3 items")
        );
        assert!(reason(false, None, &args, 0).is_none());
    }

    #[test]
    fn the_token_argument_is_taken_out() {
        let mut args = json!({"userEmail": "a@b.c", "confirmationToken": "cfm_1"});
        assert_eq!(take_token(&mut args).as_deref(), Some("cfm_1"));
        assert_eq!(args, json!({"userEmail": "a@b.c"}));
    }
}
