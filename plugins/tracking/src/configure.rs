//! configure_tracking: read the current Exchange settings, change only the
//! ones that differ, report each before and after; and the
//! `m365://tracking-settings` resource.
//!
//! What each argument maps to:
//! - `readReceipts`: how a mailbox answers read-receipt requests
//!   (`Set-MailboxMessageConfiguration -ReadReceiptResponse AlwaysSend|NeverSend`).
//! - `deliveryReceipts`: whether senders' delivery reports show the read
//!   status of mail delivered to a mailbox (`Set-Mailbox
//!   -MessageTrackingReadStatusEnabled`).
//! - `messageTracking` (organization only): read tracking in the
//!   organization's message tracking and delivery reports
//!   (`Set-OrganizationConfig -ReadTrackingEnabled`); without it no
//!   mailbox's read status is tracked.
//!
//! At organization scope the two mailbox settings are applied to every user
//! mailbox.

use crate::exo::{self, MAX_MAILBOXES};
use m365_plugin_sdk::exchange::{self, invoke};
use m365_plugin_sdk::host::progress;
use m365_plugin_sdk::text::is_valid_email;
use m365_plugin_sdk::{ToolError, Value, json};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Copy, PartialEq, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub enum Scope {
    User,
    Organization,
}

#[derive(Debug, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ConfigureTrackingArgs {
    /// user: one mailbox (targetEmail); organization: the org switch and every user mailbox.
    pub scope: Scope,
    /// The mailbox, for scope user.
    #[schemars(email)]
    pub target_email: Option<String>,
    /// Answer read-receipt requests automatically (true: always send, false: never send).
    pub read_receipts: Option<bool>,
    /// Show read status of mail delivered to the mailbox in senders' delivery reports.
    pub delivery_receipts: Option<bool>,
    /// Organization only: org-wide read tracking in message tracking and delivery reports.
    pub message_tracking: Option<bool>,
    /// Report what would change; change nothing.
    pub dry_run: Option<bool>,
}

/// One setting of one target, before and after.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Change {
    /// "organization" or a mailbox address.
    pub target: String,
    /// The Exchange property.
    pub setting: &'static str,
    pub before: Value,
    pub after: Value,
    /// changed | unchanged | wouldChange (dry run)
    pub status: &'static str,
    #[serde(skip)]
    cmdlet: &'static str,
}

const READ_RECEIPT: &str = "ReadReceiptResponse";
const READ_STATUS: &str = "MessageTrackingReadStatusEnabled";
const READ_TRACKING: &str = "ReadTrackingEnabled";

fn receipt_value(on: bool) -> &'static str {
    if on { "AlwaysSend" } else { "NeverSend" }
}

fn validate(a: &ConfigureTrackingArgs) -> Result<Option<String>, ToolError> {
    if a.read_receipts.is_none() && a.delivery_receipts.is_none() && a.message_tracking.is_none() {
        return Err(ToolError::input(
            None,
            "Nothing to configure; give at least one of readReceipts, deliveryReceipts, \
             messageTracking.",
        ));
    }
    match a.scope {
        Scope::User => {
            let Some(t) = a.target_email.as_deref().map(str::trim) else {
                return Err(ToolError::input(
                    Some("targetEmail"),
                    "Scope user needs targetEmail, the mailbox to configure.",
                ));
            };
            if !is_valid_email(t) {
                return Err(ToolError::input(
                    Some("targetEmail"),
                    format!("{t} is not an e-mail address; fix it and call again."),
                ));
            }
            if a.message_tracking.is_some() {
                return Err(ToolError::input(
                    Some("messageTracking"),
                    "messageTracking (ReadTrackingEnabled) is organization-wide; call again with \
                     scope organization.",
                ));
            }
            Ok(Some(t.to_string()))
        }
        Scope::Organization => {
            if a.target_email.is_some() {
                return Err(ToolError::input(
                    Some("targetEmail"),
                    "targetEmail is only for scope user; drop it, or use scope user.",
                ));
            }
            Ok(None)
        }
    }
}

pub fn configure_tracking(a: ConfigureTrackingArgs) -> Result<Value, ToolError> {
    let target = validate(&a)?;
    let dry = a.dry_run.unwrap_or(false);
    let mut changes: Vec<Change> = Vec::new();

    // Read everything first.
    progress(0, None, "Reading the current tracking settings");
    if let Some(on) = a.message_tracking {
        let org = exo::org_config()?;
        changes.push(change(
            "organization".into(),
            READ_TRACKING,
            org.get(READ_TRACKING).cloned().unwrap_or(Value::Null),
            json!(on),
            "Set-OrganizationConfig",
        ));
    }
    if a.read_receipts.is_some() || a.delivery_receipts.is_some() {
        let mailboxes = match &target {
            Some(t) => vec![exo::mailbox(t)?],
            None => exchange::user_mailboxes()?,
        };
        if mailboxes.len() > MAX_MAILBOXES {
            return Err(ToolError::input(
                Some("scope"),
                format!(
                    "The organization has {} user mailboxes, more than the {MAX_MAILBOXES} one \
                     call changes; configure them with scope user.",
                    mailboxes.len()
                ),
            ));
        }
        let total = mailboxes.len() as u64;
        for (i, mb) in mailboxes.iter().enumerate() {
            let addr = exchange::address(mb);
            progress(i as u64, total, &format!("Reading {addr}"));
            if let Some(on) = a.read_receipts {
                let cfg = exo::message_config(&addr)?;
                changes.push(change(
                    addr.clone(),
                    READ_RECEIPT,
                    cfg.get(READ_RECEIPT).cloned().unwrap_or(Value::Null),
                    json!(receipt_value(on)),
                    "Set-MailboxMessageConfiguration",
                ));
            }
            if let Some(on) = a.delivery_receipts {
                changes.push(change(
                    addr.clone(),
                    READ_STATUS,
                    mb.get(READ_STATUS).cloned().unwrap_or(Value::Null),
                    json!(on),
                    "Set-Mailbox",
                ));
            }
        }
    }

    let pending: Vec<usize> = changes
        .iter()
        .enumerate()
        .filter(|(_, c)| c.status != "unchanged")
        .map(|(i, _)| i)
        .collect();
    if dry {
        for &i in &pending {
            changes[i].status = "wouldChange";
        }
    } else {
        let total = pending.len() as u64;
        for (n, &i) in pending.iter().enumerate() {
            let c = &changes[i];
            progress(
                n as u64,
                total,
                &format!("Setting {} of {}", c.setting, c.target),
            );
            let mut params = json!({ c.setting: c.after });
            if c.target != "organization" {
                params["Identity"] = json!(c.target);
            }
            if let Err(e) = invoke(c.cmdlet, params) {
                let e = ToolError::from(e);
                let done: Vec<&Change> = changes.iter().filter(|c| c.status == "changed").collect();
                let e = if done.is_empty() {
                    e
                } else {
                    e.with_prefix(&format!(
                        "{} setting(s) were changed before this failed (calling again is safe):",
                        done.len()
                    ))
                };
                return Err(e.with_detail("settings", json!(done)));
            }
            changes[i].status = "changed";
        }
        progress(total, total, "Done");
    }

    let count = |s: &str| changes.iter().filter(|c| c.status == s).count();
    let summary = if dry {
        format!(
            "Dry run: {} setting(s) would change, {} already as asked; nothing was changed.",
            count("wouldChange"),
            count("unchanged")
        )
    } else {
        format!(
            "{} setting(s) changed, {} already as asked.",
            count("changed"),
            count("unchanged")
        )
    };
    let mut out = json!({
        "summary": summary,
        "scope": match a.scope { Scope::User => "user", Scope::Organization => "organization" },
        "dryRun": dry,
        "settings": changes,
    });
    if a.read_receipts.is_some() {
        out["note"] = json!(
            "Read receipts are sent by the recipient's mailbox; the message trace never shows read status."
        );
    }
    Ok(out)
}

fn change(
    target: String,
    setting: &'static str,
    before: Value,
    after: Value,
    cmdlet: &'static str,
) -> Change {
    let status = if before == after {
        "unchanged"
    } else {
        "pending"
    };
    Change {
        target,
        setting,
        before,
        after,
        status,
        cmdlet,
    }
}

/// At most this many mailboxes are shown in the resource.
const RESOURCE_MAILBOXES: usize = 25;

/// The `m365://tracking-settings` resource.
pub fn tracking_settings() -> Result<Value, ToolError> {
    let org = exo::org_config()?;
    let mailboxes = exchange::user_mailboxes()?;
    let shown: Vec<Value> = mailboxes
        .iter()
        .take(RESOURCE_MAILBOXES)
        .map(|mb| {
            let addr = exchange::address(mb);
            let response = exo::message_config(&addr)
                .ok()
                .and_then(|c| c.get(READ_RECEIPT).cloned())
                .unwrap_or(Value::Null);
            json!({
                "mailbox": addr,
                "readReceiptResponse": response,
                "messageTrackingReadStatusEnabled": mb.get(READ_STATUS),
            })
        })
        .collect();
    Ok(json!({
        "organization": { "readTrackingEnabled": org.get(READ_TRACKING) },
        "mailboxes": shown,
        "mailboxesTruncated": mailboxes.len() > RESOURCE_MAILBOXES,
        "messageTrace": {
            "historyDays": crate::trace::HISTORY_DAYS,
            "maxWindowDays": crate::trace::MAX_WINDOW_DAYS,
            "readStatusIncluded": false,
        },
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn args(scope: Scope, target: Option<&str>) -> ConfigureTrackingArgs {
        ConfigureTrackingArgs {
            scope,
            target_email: target.map(String::from),
            read_receipts: Some(true),
            delivery_receipts: None,
            message_tracking: None,
            dry_run: None,
        }
    }

    #[test]
    fn scopes_need_the_right_target() {
        assert_eq!(
            validate(&args(Scope::User, Some(" ann@contoso.com ")))
                .unwrap()
                .as_deref(),
            Some("ann@contoso.com")
        );
        assert!(
            validate(&args(Scope::Organization, None))
                .unwrap()
                .is_none()
        );
        let e = validate(&args(Scope::User, None)).unwrap_err();
        assert_eq!(e.detail("field").unwrap(), "targetEmail");
        let e = validate(&args(Scope::Organization, Some("a@b.co"))).unwrap_err();
        assert_eq!(e.code, "INPUT_001");
        let mut user_tracking = args(Scope::User, Some("a@b.co"));
        user_tracking.message_tracking = Some(true);
        assert_eq!(
            validate(&user_tracking)
                .unwrap_err()
                .detail("field")
                .unwrap(),
            "messageTracking"
        );
        let mut nothing = args(Scope::Organization, None);
        nothing.read_receipts = None;
        assert!(validate(&nothing).is_err());
    }

    #[test]
    fn unchanged_values_are_not_pending() {
        let c = change(
            "o".into(),
            READ_TRACKING,
            json!(true),
            json!(true),
            "Set-OrganizationConfig",
        );
        assert_eq!(c.status, "unchanged");
        let c = change(
            "o".into(),
            READ_TRACKING,
            Value::Null,
            json!(true),
            "Set-OrganizationConfig",
        );
        assert_eq!(c.status, "pending");
    }
}
