//! Organization apps in Exchange Online, as `Get-App -OrganizationApp`
//! describes them, reduced to what an administrator needs.

use m365_plugin_sdk::exchange::invoke;
use m365_plugin_sdk::{ToolError, Value, json};
use serde::Serialize;

/// One deployed add-in.
#[derive(Debug, Clone, Serialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct App {
    pub id: String,
    pub display_name: String,
    pub version: Value,
    pub provider: Value,
    pub enabled: Value,
    /// Everyone | SpecificUsers
    pub provided_to: String,
    /// For SpecificUsers: who gets it.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub users: Vec<String>,
    /// Enabled | Disabled | AlwaysEnabled (users cannot turn it off)
    pub default_state_for_user: Value,
}

fn text(v: &Value, keys: &[&str]) -> Option<String> {
    keys.iter()
        .find_map(|k| v.get(*k).and_then(Value::as_str))
        .map(str::to_string)
}

/// A user list entry (`ann@contoso.com`, an alias or a DN) as an address
/// when it is one.
fn user_entry(v: &Value) -> Option<String> {
    match v {
        Value::String(s) => Some(s.trim().to_string()),
        Value::Object(_) => text(v, &["PrimarySmtpAddress", "Name", "Identity"]),
        _ => None,
    }
}

impl App {
    pub fn from_exchange(v: &Value) -> App {
        let users = v
            .get("UserList")
            .and_then(Value::as_array)
            .map(|a| a.iter().filter_map(user_entry).collect())
            .unwrap_or_default();
        App {
            id: text(v, &["AppId", "Identity", "Id"])
                .unwrap_or_default()
                .to_ascii_lowercase(),
            display_name: text(v, &["DisplayName", "Name"]).unwrap_or_default(),
            version: v
                .get("AppVersion")
                .or_else(|| v.get("Version"))
                .cloned()
                .unwrap_or(Value::Null),
            provider: v.get("ProviderName").cloned().unwrap_or(Value::Null),
            enabled: v.get("Enabled").cloned().unwrap_or(Value::Null),
            provided_to: text(v, &["ProvidedTo"]).unwrap_or_else(|| "Everyone".into()),
            users,
            default_state_for_user: v.get("DefaultStateForUser").cloned().unwrap_or(Value::Null),
        }
    }

    /// Who has the add-in, in words.
    pub fn audience(&self) -> String {
        if self.provided_to.eq_ignore_ascii_case("SpecificUsers") {
            if self.users.is_empty() {
                "no one (a specific-users list that is empty)".into()
            } else {
                self.users.join(", ")
            }
        } else {
            "everyone in the organization".into()
        }
    }
}

/// Every organization add-in, sorted by name then id.
pub fn all() -> Result<Vec<App>, ToolError> {
    let mut apps: Vec<App> = invoke("Get-App", json!({ "OrganizationApp": true }))?
        .iter()
        .map(App::from_exchange)
        .filter(|a| !a.id.is_empty())
        .collect();
    apps.sort_by(|a, b| {
        a.display_name
            .to_lowercase()
            .cmp(&b.display_name.to_lowercase())
            .then(a.id.cmp(&b.id))
    });
    Ok(apps)
}

/// The add-in with this id (a GUID) or exact display name (case-insensitive).
pub fn find(apps: &[App], key: &str) -> Result<App, ToolError> {
    let key = key.trim();
    let by_id: Vec<&App> = apps
        .iter()
        .filter(|a| a.id.eq_ignore_ascii_case(key))
        .collect();
    let matches: Vec<&App> = if by_id.is_empty() {
        apps.iter()
            .filter(|a| a.display_name.eq_ignore_ascii_case(key))
            .collect()
    } else {
        by_id
    };
    match matches.as_slice() {
        [one] => Ok((*one).clone()),
        [] => Err(ToolError::input(
            Some("addinId"),
            format!(
                "No Outlook add-in '{key}' is deployed{}; list_outlook_addins shows them.",
                if apps.is_empty() {
                    " (none are)".to_string()
                } else {
                    String::new()
                }
            ),
        )
        .with_detail(
            "deployed",
            json!(
                apps.iter()
                    .map(|a| json!({"id": a.id, "displayName": a.display_name}))
                    .collect::<Vec<_>>()
            ),
        )),
        many => Err(ToolError::input(
            Some("addinId"),
            format!(
                "{} add-ins are named '{key}'; give the id of one: {}.",
                many.len(),
                many.iter()
                    .map(|a| a.id.as_str())
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn apps_read_from_exchange_and_are_found() {
        let a = App::from_exchange(&json!({
            "AppId": "AB0B5C0E-1234-4C3A-9F00-0123456789AB", "DisplayName": "Contoso CRM",
            "AppVersion": "1.0.0.0", "ProviderName": "Contoso", "Enabled": true,
            "ProvidedTo": "SpecificUsers", "UserList": ["ann@contoso.com"],
            "DefaultStateForUser": "Enabled"
        }));
        assert_eq!(a.id, "ab0b5c0e-1234-4c3a-9f00-0123456789ab");
        assert_eq!(a.audience(), "ann@contoso.com");
        let apps = vec![a.clone()];
        assert_eq!(find(&apps, "contoso crm").unwrap(), a);
        assert_eq!(
            find(&apps, "AB0B5C0E-1234-4C3A-9F00-0123456789AB").unwrap(),
            a
        );
        let e = find(&apps, "other").unwrap_err();
        assert_eq!(e.code, "INPUT_001");
        assert_eq!(
            e.detail("deployed").unwrap()[0]["displayName"],
            "Contoso CRM"
        );
    }
}
