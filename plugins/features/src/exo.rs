//! The mailbox a feature call names, with INPUT_001 when Exchange Online has
//! none (the lookups themselves are the SDK's `exchange` helpers).

use m365_plugin_sdk::ToolError;
use m365_plugin_sdk::exchange::find;
use m365_plugin_sdk::serde_json::Value;

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
