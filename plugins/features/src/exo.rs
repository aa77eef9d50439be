//! Exchange Online calls shared by the features: one object from a Get-
//! cmdlet, mailboxes by address, and "not found" told apart from failures.

use m365_plugin_sdk::exchange::invoke;
use m365_plugin_sdk::{ToolError, Value, codes, json};

/// The first object a Get- cmdlet returned.
pub fn one(cmdlet: &str, params: Value) -> Result<Value, ToolError> {
    invoke(cmdlet, params)?.into_iter().next().ok_or_else(|| {
        ToolError::exchange(format!(
            "Exchange Online returned nothing for {cmdlet}; try again in a minute."
        ))
    })
}

/// Whether an Exchange error says the object does not exist.
pub fn is_not_found(e: &ToolError) -> bool {
    e.code == codes::EXO_001
        && (e.detail("status").and_then(Value::as_u64) == Some(404)
            || e.message.contains("couldn't be found"))
}

/// `Get-X -Identity name`, `None` when there is no such object.
pub fn find(cmdlet: &str, name: &str) -> Result<Option<Value>, ToolError> {
    match invoke(cmdlet, json!({ "Identity": name })) {
        Ok(v) => Ok(v.into_iter().next()),
        Err(e) if is_not_found(&e) => Ok(None),
        Err(e) => Err(e),
    }
}

/// The address to show for a mailbox object.
pub fn address(mailbox: &Value) -> String {
    ["PrimarySmtpAddress", "UserPrincipalName", "Identity"]
        .iter()
        .find_map(|k| mailbox.get(*k).and_then(Value::as_str))
        .unwrap_or("(unknown)")
        .to_ascii_lowercase()
}

/// One mailbox, with INPUT_001 when there is none.
pub fn mailbox(who: &str) -> Result<Value, ToolError> {
    mailbox_for(who, "targetEmail")
}

/// One mailbox, with INPUT_001 naming `field` when there is none.
pub fn mailbox_for(who: &str, field: &str) -> Result<Value, ToolError> {
    match find("Get-Mailbox", who)? {
        Some(m) => Ok(m),
        None => Err(ToolError::input(
            Some(field),
            format!(
                "Exchange Online has no mailbox {who}; check the address (a new user's mailbox \
                 can take a few minutes to appear)."
            ),
        )),
    }
}

/// Every user mailbox.
pub fn user_mailboxes() -> Result<Vec<Value>, ToolError> {
    Ok(invoke(
        "Get-Mailbox",
        json!({ "RecipientTypeDetails": "UserMailbox", "ResultSize": "Unlimited" }),
    )?
    .into_iter()
    .filter(|m| {
        m.get("RecipientTypeDetails")
            .and_then(Value::as_str)
            .is_none_or(|t| t == "UserMailbox")
    })
    .collect())
}
