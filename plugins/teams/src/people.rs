//! E-mail addresses to users: each address is looked up as a user principal
//! name, then as a primary SMTP address; every address that matches no
//! user is named in one error, so the administrator fixes them all at once.

use crate::{graph, seg, str_field};
use m365_plugin_sdk::ToolError;
use m365_plugin_sdk::graph::collection;
use m365_plugin_sdk::text::odata_string;
use serde::{Deserialize, Serialize};
use serde_json::Value;

const USER_SELECT: &str = "id,userPrincipalName,displayName,mail";

/// A user found for an address.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Person {
    /// The address as the caller gave it.
    pub email: String,
    pub id: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub display_name: Option<String>,
}

fn person(email: &str, user: &Value) -> Option<Person> {
    Some(Person {
        email: email.to_string(),
        id: str_field(user, "id")?.to_string(),
        display_name: str_field(user, "displayName").map(str::to_string),
    })
}

/// The user for `email`, if there is one.
pub fn find(email: &str) -> Result<Option<Person>, ToolError> {
    match graph().get(
        &format!("/users/{}", seg(email)),
        &[("$select", USER_SELECT)],
    ) {
        Ok(u) => Ok(person(email, &u)),
        Err(e) if e.is_not_found() => {
            let filter = format!("mail eq {}", odata_string(email));
            let body = graph().get("/users", &[("$filter", &filter), ("$select", USER_SELECT)])?;
            Ok(collection(&body).first().and_then(|u| person(email, u)))
        }
        Err(e) => Err(e.into()),
    }
}

/// Looks up every address: (found, addresses that match no user).
pub fn resolve(emails: &[String]) -> Result<(Vec<Person>, Vec<String>), ToolError> {
    let mut found = Vec::with_capacity(emails.len());
    let mut unknown = Vec::new();
    for e in emails {
        match find(e)? {
            Some(p) => found.push(p),
            None => unknown.push(e.clone()),
        }
    }
    Ok((found, unknown))
}

/// The one error naming every unknown address, by role; `then` is a
/// sentence added at the end (what was or was not changed).
pub fn unknown_error(owners: &[String], members: &[String], then: &str) -> ToolError {
    let mut parts = Vec::new();
    if !owners.is_empty() {
        parts.push(format!("owners: {}", owners.join(", ")));
    }
    if !members.is_empty() {
        parts.push(format!("members: {}", members.join(", ")));
    }
    let n = owners.len() + members.len();
    let field = if owners.is_empty() {
        "members"
    } else {
        "owners"
    };
    let all: Vec<&String> = owners.iter().chain(members).collect();
    ToolError::input(
        Some(field),
        format!(
            "{n} address(es) match no user in the tenant ({}). Check the spelling (list_users \
             shows who exists) or create the users first, then call again.{}",
            parts.join("; "),
            if then.is_empty() {
                String::new()
            } else {
                format!(" {then}")
            }
        ),
    )
    .with_detail(
        "unknown",
        all.iter().map(|s| s.as_str()).collect::<Vec<_>>(),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_error_names_every_unknown_address() {
        let e = unknown_error(
            &["x@contoso.com".into()],
            &["y@contoso.com".into(), "z@contoso.com".into()],
            "Nothing was changed.",
        );
        assert_eq!(e.code, "INPUT_001");
        for a in ["x@contoso.com", "y@contoso.com", "z@contoso.com"] {
            assert!(e.message.contains(a), "{}", e.message);
        }
        assert!(e.message.starts_with("3 address(es)"));
        assert!(
            e.message.ends_with("call again. Nothing was changed."),
            "{}",
            e.message
        );
        assert_eq!(e.detail("field").unwrap(), "owners");
        assert_eq!(e.detail("unknown").unwrap().as_array().unwrap().len(), 3);
        let e = unknown_error(&[], &["y@contoso.com".into()], "");
        assert_eq!(e.detail("field").unwrap(), "members");
    }
}
