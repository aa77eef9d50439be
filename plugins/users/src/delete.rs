//! delete_user: destructive, so the host asks the administrator first and
//! shows them the plan below.

use crate::read::user_details;
use crate::{graph, no_such_user, str_field, user_path};
use m365_plugin_sdk::ToolError;
use schemars::JsonSchema;
use serde::Deserialize;
use serde_json::{Value, json};

#[derive(Debug, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct DeleteUserArgs {
    /// UPN (sign-in address) or object id of the user to delete.
    #[schemars(length(min = 1, max = 256))]
    pub user_email: String,
}

/// Days Entra ID keeps a deleted user restorable.
const RESTORE_DAYS: u32 = 30;

fn describe(user: &Value) -> String {
    let name = str_field(user, "displayName").unwrap_or("(no name)");
    let upn = str_field(user, "userPrincipalName").unwrap_or("?");
    let licenses: Vec<&str> = user
        .get("licenses")
        .and_then(Value::as_array)
        .map(|a| {
            a.iter()
                .filter_map(|l| str_field(l, "name").or_else(|| str_field(l, "skuPartNumber")))
                .collect()
        })
        .unwrap_or_default();
    let licenses = if licenses.is_empty() {
        "no licenses".to_string()
    } else {
        format!("licenses: {}", licenses.join(", "))
    };
    format!("{name} <{upn}> ({licenses})")
}

/// What the administrator approves: who, what they lose, how to undo it.
pub fn plan_delete_user(args: DeleteUserArgs) -> Result<String, ToolError> {
    let user = user_details(&args.user_email)?;
    Ok(format!(
        "Delete the user {}. They can no longer sign in, their licenses are freed and their \
         mailbox becomes inaccessible. The account stays in Deleted users for {RESTORE_DAYS} \
         days and can be restored there (Microsoft 365 admin center > Users > Deleted users); \
         after that it and its mailbox are gone for good.",
        describe(&user)
    ))
}

pub fn delete_user(args: DeleteUserArgs) -> Result<Value, ToolError> {
    let user = user_details(&args.user_email)?;
    let id = str_field(&user, "id")
        .unwrap_or(&args.user_email)
        .to_string();
    graph().delete(&user_path(&id)).map_err(|e| {
        if e.is_not_found() {
            no_such_user(&args.user_email, &e)
        } else {
            e.into()
        }
    })?;
    Ok(json!({
        "deleted": true,
        "id": id,
        "userPrincipalName": user.get("userPrincipalName"),
        "displayName": user.get("displayName"),
        "restorableForDays": RESTORE_DAYS,
        "message": format!("Deleted {}. Restore it from Deleted users within {RESTORE_DAYS} days if this was a mistake.", describe(&user)),
    }))
}
