//! The Exchange Online reads this plugin makes beyond the SDK's lookups:
//! organization config, one mailbox and its message configuration, with a
//! clear error for a mailbox that does not exist.

use m365_plugin_sdk::ToolError;
use m365_plugin_sdk::exchange::{invoke, one};
use serde_json::{Value, json};

/// At most this many mailboxes are changed by one organization-wide call.
pub const MAX_MAILBOXES: usize = 200;

/// `Get-OrganizationConfig`.
pub fn org_config() -> Result<Value, ToolError> {
    one("Get-OrganizationConfig", Value::Null)
}

/// `Get-Mailbox -Identity {who}`, with a clear error for no such mailbox.
pub fn mailbox(who: &str) -> Result<Value, ToolError> {
    of_mailbox("Get-Mailbox", who)
}

/// `Get-MailboxMessageConfiguration -Identity {who}`.
pub fn message_config(who: &str) -> Result<Value, ToolError> {
    of_mailbox("Get-MailboxMessageConfiguration", who)
}

/// The object `{cmdlet} -Identity {who}` outputs for a mailbox.
fn of_mailbox(cmdlet: &str, who: &str) -> Result<Value, ToolError> {
    invoke(cmdlet, json!({ "Identity": who }))
        .map_err(|e| e.not_found_as(|| no_mailbox(who)))?
        .into_iter()
        .next()
        .ok_or_else(|| no_mailbox(who))
}

fn no_mailbox(who: &str) -> ToolError {
    ToolError::exchange(format!(
        "Exchange Online has no mailbox {who}; check the address (a new user's mailbox can take a \
         few minutes to appear)."
    ))
    .with_detail("mailbox", who)
}
