//! The Exchange Online reads and writes this plugin makes: organization
//! config, mailboxes and their message configuration.

use m365_plugin_sdk::exchange::invoke;
use m365_plugin_sdk::{ToolError, codes};
use serde_json::{Value, json};

/// At most this many mailboxes are changed by one organization-wide call.
pub const MAX_MAILBOXES: usize = 200;

/// The single object a Get- cmdlet returned.
pub fn one(cmdlet: &str, params: Value) -> Result<Value, ToolError> {
    invoke(cmdlet, params)?.into_iter().next().ok_or_else(|| {
        ToolError::exchange(format!(
            "Exchange Online returned nothing for {cmdlet}; try again in a minute."
        ))
    })
}

/// `Get-OrganizationConfig`.
pub fn org_config() -> Result<Value, ToolError> {
    one("Get-OrganizationConfig", Value::Null)
}

/// `Get-Mailbox -Identity {who}`, with a clear error for no such mailbox.
pub fn mailbox(who: &str) -> Result<Value, ToolError> {
    invoke("Get-Mailbox", json!({ "Identity": who }))
        .map_err(|e| not_found(e, who))?
        .into_iter()
        .next()
        .ok_or_else(|| no_mailbox(who))
}

/// Every user mailbox (not shared, room or equipment mailboxes).
pub fn user_mailboxes() -> Result<Vec<Value>, ToolError> {
    let all = invoke(
        "Get-Mailbox",
        json!({ "RecipientTypeDetails": "UserMailbox", "ResultSize": "Unlimited" }),
    )?;
    Ok(all
        .into_iter()
        .filter(|m| {
            m.get("RecipientTypeDetails")
                .and_then(Value::as_str)
                .is_none_or(|t| t == "UserMailbox")
        })
        .collect())
}

/// `Get-MailboxMessageConfiguration -Identity {who}`.
pub fn message_config(who: &str) -> Result<Value, ToolError> {
    invoke(
        "Get-MailboxMessageConfiguration",
        json!({ "Identity": who }),
    )
    .map_err(|e| not_found(e, who))?
    .into_iter()
    .next()
    .ok_or_else(|| no_mailbox(who))
}

/// The address to show for a mailbox object.
pub fn address(mailbox: &Value) -> String {
    [
        "PrimarySmtpAddress",
        "UserPrincipalName",
        "Identity",
        "Name",
    ]
    .iter()
    .find_map(|k| mailbox.get(*k).and_then(Value::as_str))
    .unwrap_or("(unknown)")
    .to_string()
}

fn no_mailbox(who: &str) -> ToolError {
    ToolError::exchange(format!(
        "Exchange Online has no mailbox {who}; check the address (a new user's mailbox can take a \
         few minutes to appear)."
    ))
    .with_detail("mailbox", who)
}

/// Rewords Exchange's "couldn't be found" for a mailbox.
fn not_found(e: ToolError, who: &str) -> ToolError {
    let missing = e.code == codes::EXO_001
        && (e.detail("status").and_then(Value::as_u64) == Some(404)
            || e.message.contains("couldn't be found")
            || e.message.contains("could not be found"));
    if missing {
        let mut n = no_mailbox(who);
        n.details = e.details.clone();
        n.with_detail("mailbox", who)
    } else {
        e
    }
}
