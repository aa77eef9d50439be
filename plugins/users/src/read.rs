//! get_user, list_users and the user resource.

use crate::licenses::{License, Sku, parse_skus, part_number_of};
use crate::{fetch_user, graph, str_field};
use m365_plugin_sdk::ToolError;
use m365_plugin_sdk::cursor::Cursor;
use m365_plugin_sdk::graph::{GraphRequest, collection};
use m365_plugin_sdk::text::odata_string;
use schemars::JsonSchema;
use serde::Deserialize;
use serde_json::{Value, json};

const USER_SELECT: &str = "id,userPrincipalName,displayName,givenName,surname,department,\
usageLocation,accountEnabled,mail,assignedLicenses,createdDateTime";
const LIST_SELECT: &str =
    "id,userPrincipalName,displayName,department,accountEnabled,assignedLicenses";

#[derive(Debug, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct GetUserArgs {
    /// UPN (sign-in address) or object id.
    #[schemars(length(min = 1, max = 256))]
    pub user_email: String,
}

#[derive(Debug, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ListUsersArgs {
    /// Only users in this department (exact match).
    #[schemars(length(min = 1, max = 64))]
    pub department: Option<String>,
    /// Only users whose display name starts with this.
    #[schemars(length(min = 1, max = 256))]
    pub search: Option<String>,
    /// Page size (default 25).
    #[schemars(range(min = 1, max = 100))]
    pub top: Option<u32>,
    /// nextCursor from the previous page; the other arguments are then ignored.
    #[schemars(length(min = 1, max = 4096))]
    pub cursor: Option<String>,
}

fn skus() -> Result<Vec<Sku>, ToolError> {
    Ok(parse_skus(&graph().get("/subscribedSkus", &[])?))
}

fn assigned_sku_ids(user: &Value) -> Vec<&str> {
    user.get("assignedLicenses")
        .and_then(Value::as_array)
        .map(|a| a.iter().filter_map(|l| str_field(l, "skuId")).collect())
        .unwrap_or_default()
}

/// The get_user result for `user` (UPN or id).
pub fn user_details(user: &str) -> Result<Value, ToolError> {
    let u = fetch_user(user, USER_SELECT)?;
    let ids = assigned_sku_ids(&u);
    let skus = if ids.is_empty() { Vec::new() } else { skus()? };
    let licenses: Vec<Value> = ids
        .iter()
        .map(|id| {
            let part = part_number_of(&skus, id);
            json!({
                "skuId": id,
                "skuPartNumber": part,
                "name": part.and_then(License::from_part_number).map(License::product_name),
            })
        })
        .collect();
    Ok(json!({
        "id": u.get("id"),
        "userPrincipalName": u.get("userPrincipalName"),
        "displayName": u.get("displayName"),
        "givenName": u.get("givenName"),
        "surname": u.get("surname"),
        "department": u.get("department"),
        "usageLocation": u.get("usageLocation"),
        "accountEnabled": u.get("accountEnabled"),
        "mail": u.get("mail"),
        "licenses": licenses,
        "createdDateTime": u.get("createdDateTime"),
    }))
}

pub fn get_user(args: GetUserArgs) -> Result<Value, ToolError> {
    user_details(args.user_email.trim())
}

/// The `$filter` for list_users, if any.
pub fn list_filter(department: Option<&str>, search: Option<&str>) -> Option<String> {
    let mut clauses = Vec::new();
    if let Some(d) = department {
        clauses.push(format!("department eq {}", odata_string(d)));
    }
    if let Some(s) = search {
        clauses.push(format!("startswith(displayName,{})", odata_string(s)));
    }
    (!clauses.is_empty()).then(|| clauses.join(" and "))
}

pub fn list_users(args: ListUsersArgs) -> Result<Value, ToolError> {
    let mut req = GraphRequest::new("GET", "/users");
    if let Some(cursor) = &args.cursor {
        req = Cursor::parse_arg(cursor, "list_users")?.resume(req);
    } else {
        let top = args.top.unwrap_or(25).clamp(1, 100).to_string();
        let filter = list_filter(
            args.department
                .as_deref()
                .map(str::trim)
                .filter(|s| !s.is_empty()),
            args.search
                .as_deref()
                .map(str::trim)
                .filter(|s| !s.is_empty()),
        );
        req = req.query(&[("$select", LIST_SELECT), ("$top", &top)]);
        if let Some(f) = &filter {
            req = req.query(&[("$filter", f)]);
        }
    }
    let page = graph().request(req)?.body.unwrap_or(Value::Null);
    let users = collection(&page);
    let any_licensed = users.iter().any(|u| !assigned_sku_ids(u).is_empty());
    let skus = if any_licensed { skus()? } else { Vec::new() };
    let users: Vec<Value> = users
        .iter()
        .map(|u| {
            let parts: Vec<String> = assigned_sku_ids(u)
                .iter()
                .map(|id| part_number_of(&skus, id).unwrap_or(id).to_string())
                .collect();
            json!({
                "id": u.get("id"),
                "userPrincipalName": u.get("userPrincipalName"),
                "displayName": u.get("displayName"),
                "department": u.get("department"),
                "accountEnabled": u.get("accountEnabled"),
                "licenses": parts,
            })
        })
        .collect();
    let next = Cursor::after(&page);
    Ok(json!({ "users": users, "nextCursor": next }))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn filters_escape_quotes() {
        assert_eq!(list_filter(None, None), None);
        assert_eq!(
            list_filter(Some("R&D"), None).unwrap(),
            "department eq 'R&D'"
        );
        assert_eq!(
            list_filter(Some("Sales"), Some("O'Br")).unwrap(),
            "department eq 'Sales' and startswith(displayName,'O''Br')"
        );
    }
}
