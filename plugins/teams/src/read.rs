//! get_team, list_teams and the `m365://teams/{teamId}` resource; finding a
//! team by id or exact name.

use crate::api::{self, Member};
use crate::str_field;
use m365_plugin_sdk::ToolError;
use m365_plugin_sdk::cursor::Cursor;
use m365_plugin_sdk::graph::{GraphRequest, collection};
use schemars::JsonSchema;
use serde::Deserialize;
use serde_json::{Value, json};

/// Members listed at most in get_team (the count is always complete).
const MAX_LISTED_MEMBERS: usize = 100;

#[derive(Debug, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct TeamArgs {
    /// Team id (= group id) or exact team name.
    #[schemars(length(min = 1, max = 256))]
    pub team_id: String,
}

#[derive(Debug, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ListTeamsArgs {
    /// Page size (default 20).
    #[schemars(range(min = 1, max = 100))]
    pub top: Option<u32>,
    /// nextCursor from the previous page.
    #[schemars(length(min = 1, max = 4096))]
    pub cursor: Option<String>,
}

/// Whether `s` looks like a Graph object id (a GUID).
pub fn is_guid(s: &str) -> bool {
    s.len() == 36
        && s.char_indices().all(|(i, c)| match i {
            8 | 13 | 18 | 23 => c == '-',
            _ => c.is_ascii_hexdigit(),
        })
}

/// The team id for an id or an exact team name.
pub fn resolve_team(team: &str) -> Result<String, ToolError> {
    let team = team.trim();
    if is_guid(team) {
        return Ok(team.to_ascii_lowercase());
    }
    let groups = api::groups_where("displayName", team)?;
    let with_team: Vec<&Value> = groups.iter().filter(|g| api::has_team(g)).collect();
    let pick: Vec<&Value> = if with_team.is_empty() {
        groups.iter().collect()
    } else {
        with_team
    };
    match pick.as_slice() {
        [] => Err(ToolError::input(
            Some("teamId"),
            format!("No team is named '{team}'; list_teams shows the teams and their ids."),
        )),
        [one] => Ok(str_field(one, "id").unwrap_or_default().to_string()),
        many => Err(ToolError::input(
            Some("teamId"),
            format!(
                "{} teams are named '{team}'; give the id of one: {}.",
                many.len(),
                many.iter()
                    .filter_map(|g| str_field(g, "id"))
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
        )),
    }
}

/// The error for a team id Graph does not know.
pub fn no_such_team(id: &str, e: &m365_plugin_sdk::GraphError) -> ToolError {
    e.to_tool_error_with(format!(
        "No team has id {id} (or its group has no team); list_teams shows the teams."
    ))
}

/// `GET /teams/{id}` with a clear error for an unknown team.
pub fn fetch_team(id: &str) -> Result<Value, ToolError> {
    api::get_team(id).map_err(|e| {
        if e.is_not_found() {
            no_such_team(id, &e)
        } else {
            e.into()
        }
    })
}

/// The get_team result for a team id.
pub fn team_details(id: &str) -> Result<Value, ToolError> {
    let team = fetch_team(id)?;
    let channels: Vec<Value> = api::list_channels(id)?
        .iter()
        .map(|c| {
            json!({
                "id": c.get("id"),
                "displayName": c.get("displayName"),
                "membershipType": c.get("membershipType"),
                "description": c.get("description"),
            })
        })
        .collect();
    let members = api::list_members(id)?;
    let view = |list: Vec<&Member>| -> Vec<Value> {
        list.iter()
            .take(MAX_LISTED_MEMBERS)
            .map(|m| json!({"displayName": m.display_name, "email": m.email}))
            .collect()
    };
    let owners = view(members.iter().filter(|m| m.owner).collect());
    let others = view(members.iter().filter(|m| !m.owner).collect());
    Ok(json!({
        "id": team.get("id").cloned().unwrap_or_else(|| json!(id)),
        "displayName": team.get("displayName"),
        "description": team.get("description"),
        "visibility": team.get("visibility"),
        "isArchived": team.get("isArchived"),
        "webUrl": team.get("webUrl"),
        "memberSettings": team.get("memberSettings"),
        "guestSettings": team.get("guestSettings"),
        "messagingSettings": team.get("messagingSettings"),
        "funSettings": team.get("funSettings"),
        "channels": channels,
        "owners": owners,
        "members": others,
        "memberCount": members.len(),
    }))
}

pub fn get_team(args: TeamArgs) -> Result<Value, ToolError> {
    team_details(&resolve_team(&args.team_id)?)
}

pub fn list_teams(args: ListTeamsArgs) -> Result<Value, ToolError> {
    let mut req = GraphRequest::new("GET", "/teams");
    if let Some(cursor) = &args.cursor {
        req = Cursor::parse_arg(cursor, "list_teams")?.resume(req);
    } else {
        let top = args.top.unwrap_or(20).clamp(1, 100).to_string();
        req = req.query(&[("$top", &top)]);
    }
    let page = crate::graph().request(req)?.body.unwrap_or(Value::Null);
    let teams: Vec<Value> = collection(&page)
        .iter()
        .map(|t| {
            json!({
                "id": t.get("id"),
                "displayName": t.get("displayName"),
                "description": t.get("description"),
            })
        })
        .collect();
    let next = Cursor::after(&page);
    Ok(json!({ "teams": teams, "nextCursor": next }))
}

/// The `m365://teams/{teamId}` resource for an already decoded id or name.
pub fn team_resource(team: &str) -> Result<Value, ToolError> {
    team_details(&resolve_team(team)?)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn guids() {
        assert!(is_guid("71392b2f-1765-406e-86af-5907d9bdb2ab"));
        assert!(!is_guid("71392b2f-1765-406e-86af-5907d9bdb2a"));
        assert!(!is_guid("Sales Team 2024"));
        assert!(!is_guid("71392b2f11765-406e-86af-5907d9bdb2ab"));
    }
}
