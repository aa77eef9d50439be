//! The Microsoft Graph v1.0 requests this plugin makes, one function each,
//! in the shapes Graph documents. No orchestration and no journal here: the
//! steps in `engine` and the tools call these.

use crate::{graph, seg, str_field};
use m365_plugin_sdk::cursor::Cursor;
use m365_plugin_sdk::graph::{GraphRequest, GraphResponse, collection};
use m365_plugin_sdk::host::{info, sleep_ms};
use m365_plugin_sdk::text::odata_string;
use m365_plugin_sdk::{GraphError, ToolError};
use serde_json::{Value, json};

/// The base of `@odata.bind` references.
pub const GRAPH_URL: &str = "https://graph.microsoft.com/v1.0";
/// The id of the `Group.Unified.Guest` setting template (the same in every tenant).
pub const GUEST_SETTINGS_TEMPLATE: &str = "08d542b9-071f-4e16-94b0-74abb372e3d9";
/// Graph accepts at most this many owners plus members bound in one `POST /groups`.
pub const MAX_BINDINGS: usize = 20;
/// Microsoft's advice for a group created minutes ago: retry `POST /teams`
/// that answers 404 three times, about 10 seconds apart.
pub const REPLICATION_RETRIES: u32 = 3;
pub const REPLICATION_WAIT_MS: u32 = 10_000;
/// Microsoft's advice for polling a teamsAsyncOperation: wait more than 30
/// seconds between checks (unless Graph says otherwise with Retry-After).
pub const OPERATION_POLL_MS: u32 = 30_000;
/// Checks of a teamsAsyncOperation before the call gives up waiting and
/// leaves the operation to `resume_operation` (about five minutes).
pub const OPERATION_MAX_CHECKS: u32 = 11;
/// Pages of members or channels read at most.
const MAX_PAGES: usize = 20;

const GROUP_SELECT: &str =
    "id,displayName,mailNickname,createdDateTime,visibility,resourceProvisioningOptions";

/// `https://graph.microsoft.com/v1.0/users/{id}` for `owners@odata.bind`.
pub fn user_ref(user_id: &str) -> String {
    format!("{GRAPH_URL}/users/{user_id}")
}

/// An `aadUserConversationMember` for `POST /teams/{id}/members` and channels.
pub fn conversation_member(user_id: &str, owner: bool) -> Value {
    let roles: Vec<&str> = if owner { vec!["owner"] } else { vec![] };
    json!({
        "@odata.type": "#microsoft.graph.aadUserConversationMember",
        "roles": roles,
        "user@odata.bind": format!("{GRAPH_URL}/users('{user_id}')"),
    })
}

/// Groups whose `property` equals `value`.
pub fn groups_where(property: &str, value: &str) -> Result<Vec<Value>, GraphError> {
    let filter = format!("{property} eq {}", odata_string(value));
    let body = graph().get(
        "/groups",
        &[("$filter", &filter), ("$select", GROUP_SELECT)],
    )?;
    Ok(collection(&body).to_vec())
}

/// Whether a group object has a team.
pub fn has_team(group: &Value) -> bool {
    group
        .get("resourceProvisioningOptions")
        .and_then(Value::as_array)
        .is_some_and(|o| o.iter().any(|v| v.as_str() == Some("Team")))
}

pub fn get_group(id: &str) -> Result<Value, GraphError> {
    graph().get(
        &format!("/groups/{}", seg(id)),
        &[("$select", GROUP_SELECT)],
    )
}

/// `POST /groups`; safe for the host to retry because the caller checked
/// that the name and alias are free (a retried duplicate is refused by
/// Graph and adopted by the caller).
pub fn create_group(body: &Value) -> Result<Value, GraphError> {
    Ok(graph()
        .post_retry_safe("/groups", body)?
        .unwrap_or(Value::Null))
}

pub fn group_owners(id: &str) -> Result<Vec<Value>, GraphError> {
    let body = graph().get(&format!("/groups/{}/owners", seg(id)), &[("$select", "id")])?;
    Ok(collection(&body).to_vec())
}

/// Deletes a group (Microsoft 365 groups go to Deleted groups for 30 days;
/// the team, its channels and the SharePoint site go with it).
pub fn delete_group(id: &str) -> Result<(), GraphError> {
    graph().delete(&format!("/groups/{}", seg(id)))
}

/// Removes a deleted group from Deleted groups for good (frees its alias).
pub fn purge_deleted_group(id: &str) -> Result<(), GraphError> {
    graph().delete(&format!("/directory/deletedItems/{}", seg(id)))
}

/// `POST /teams` from a group. Safe to retry: a group has at most one team.
pub fn create_team_from_group(group_id: &str) -> Result<GraphResponse, GraphError> {
    graph().request(
        GraphRequest::new("POST", "/teams")
            .json(json!({
                "template@odata.bind": format!("{GRAPH_URL}/teamsTemplates('standard')"),
                "group@odata.bind": format!("{GRAPH_URL}/groups('{group_id}')"),
            }))
            .retry_safe(),
    )
}

pub fn get_team(id: &str) -> Result<Value, GraphError> {
    graph().get(&format!("/teams/{}", seg(id)), &[])
}

pub fn patch_team(id: &str, body: &Value) -> Result<(), GraphError> {
    graph()
        .patch(&format!("/teams/{}", seg(id)), body)
        .map(|_| ())
}

/// `POST /teams/{id}/archive` (202 and a teamsAsyncOperation).
pub fn archive_team(id: &str, site_read_only: bool) -> Result<GraphResponse, GraphError> {
    graph().request(
        GraphRequest::new("POST", &format!("/teams/{}/archive", seg(id)))
            .json(json!({ "shouldSetSpoSiteReadOnlyForMembers": site_read_only })),
    )
}

/// Every item of a collection, following `@odata.nextLink` a bounded number of times.
fn all_pages(path: &str) -> Result<Vec<Value>, GraphError> {
    let mut out = Vec::new();
    let mut req = GraphRequest::new("GET", path);
    for _ in 0..MAX_PAGES {
        let page = graph().request(req)?.body.unwrap_or(Value::Null);
        out.extend(collection(&page).iter().cloned());
        match Cursor::next_page(&page) {
            Some(next) => req = next.resume(GraphRequest::new("GET", path)),
            None => break,
        }
    }
    Ok(out)
}

pub fn list_channels(team_id: &str) -> Result<Vec<Value>, GraphError> {
    all_pages(&format!("/teams/{}/channels", seg(team_id)))
}

/// `POST /teams/{id}/channels`; the created channel.
pub fn create_channel(team_id: &str, body: &Value) -> Result<Value, GraphError> {
    Ok(graph()
        .post(&format!("/teams/{}/channels", seg(team_id)), body)?
        .unwrap_or(Value::Null))
}

/// One member of a team, as `GET /teams/{id}/members` describes it.
#[derive(Debug, Clone, PartialEq)]
pub struct Member {
    pub membership_id: String,
    pub user_id: String,
    pub email: Option<String>,
    pub display_name: Option<String>,
    pub owner: bool,
}

impl Member {
    pub fn parse(v: &Value) -> Option<Member> {
        Some(Member {
            membership_id: str_field(v, "id")?.to_string(),
            user_id: str_field(v, "userId").unwrap_or_default().to_string(),
            email: str_field(v, "email").map(str::to_string),
            display_name: str_field(v, "displayName").map(str::to_string),
            owner: v
                .get("roles")
                .and_then(Value::as_array)
                .is_some_and(|r| r.iter().any(|x| x.as_str() == Some("owner"))),
        })
    }
}

pub fn list_members(team_id: &str) -> Result<Vec<Member>, GraphError> {
    Ok(all_pages(&format!("/teams/{}/members", seg(team_id)))?
        .iter()
        .filter_map(Member::parse)
        .collect())
}

pub fn add_member(team_id: &str, user_id: &str, owner: bool) -> Result<(), GraphError> {
    graph()
        .post(
            &format!("/teams/{}/members", seg(team_id)),
            &conversation_member(user_id, owner),
        )
        .map(|_| ())
}

/// Gives an existing member the owner role.
pub fn make_owner(team_id: &str, membership_id: &str) -> Result<(), GraphError> {
    graph()
        .patch(
            &format!("/teams/{}/members/{}", seg(team_id), seg(membership_id)),
            &json!({
                "@odata.type": "#microsoft.graph.aadUserConversationMember",
                "roles": ["owner"],
            }),
        )
        .map(|_| ())
}

/// The group's `Group.Unified.Guest` setting, if it has one: (id, AllowToAddGuests).
pub fn guest_setting(group_id: &str) -> Result<Option<(String, Option<bool>)>, GraphError> {
    let body = graph().get(&format!("/groups/{}/settings", seg(group_id)), &[])?;
    Ok(collection(&body)
        .iter()
        .find(|s| str_field(s, "templateId") == Some(GUEST_SETTINGS_TEMPLATE))
        .and_then(|s| {
            let id = str_field(s, "id")?.to_string();
            let allow = s
                .get("values")
                .and_then(Value::as_array)
                .and_then(|vals| {
                    vals.iter()
                        .find(|v| str_field(v, "name") == Some("AllowToAddGuests"))
                })
                .and_then(|v| str_field(v, "value"))
                .map(|v| v.eq_ignore_ascii_case("true"));
            Some((id, allow))
        }))
}

fn guest_values(allow: bool) -> Value {
    json!([{ "name": "AllowToAddGuests", "value": if allow { "true" } else { "false" } }])
}

pub fn create_guest_setting(group_id: &str, allow: bool) -> Result<(), GraphError> {
    graph()
        .post(
            &format!("/groups/{}/settings", seg(group_id)),
            &json!({ "templateId": GUEST_SETTINGS_TEMPLATE, "values": guest_values(allow) }),
        )
        .map(|_| ())
}

pub fn update_guest_setting(
    group_id: &str,
    setting_id: &str,
    allow: bool,
) -> Result<(), GraphError> {
    graph()
        .patch(
            &format!("/groups/{}/settings/{}", seg(group_id), seg(setting_id)),
            &json!({ "values": guest_values(allow) }),
        )
        .map(|_| ())
}

/// The path to GET for a teamsAsyncOperation from the `Location` Graph
/// returned (`/teams('{id}')/operations('{opId}')`, possibly absolute):
/// `/teams/{id}/operations/{opId}`, the documented form. `None` when the
/// location is not a team operation.
pub fn operation_path(location: &str) -> Option<String> {
    let mut rest = location.trim();
    if let Some(i) = rest.find("://") {
        rest = &rest[i + 3..];
        rest = &rest[rest.find('/')?..];
    }
    let rest = rest.strip_prefix("/v1.0").unwrap_or(rest);
    let mut parts = Vec::new();
    for s in rest.split('/').filter(|s| !s.is_empty()) {
        match s.split_once('(') {
            Some((name, key)) => {
                let key = key.strip_suffix(')')?;
                let key = key
                    .strip_prefix('\'')
                    .and_then(|k| k.strip_suffix('\''))
                    .unwrap_or(key);
                parts.push(name.to_string());
                parts.push(key.to_string());
            }
            None => parts.push(s.to_string()),
        }
    }
    match parts.as_slice() {
        [t, team, o, op]
            if t.eq_ignore_ascii_case("teams")
                && o.eq_ignore_ascii_case("operations")
                && !team.is_empty()
                && !op.is_empty() =>
        {
            Some(format!("/teams/{}/operations/{}", seg(team), seg(op)))
        }
        _ => None,
    }
}

/// Where a teamsAsyncOperation ended.
#[derive(Debug)]
pub enum OperationEnd {
    Succeeded,
    /// Still not finished after [`OPERATION_MAX_CHECKS`] checks.
    StillRunning {
        waited_s: u64,
    },
}

/// Polls the teamsAsyncOperation at `path` until it succeeds or fails,
/// waiting as Microsoft advises between checks. `what` names it in messages.
pub fn wait_for_operation(path: &str, what: &str) -> Result<OperationEnd, ToolError> {
    let mut waited_ms: u64 = 0;
    let mut pause = 0u32;
    for check in 0..OPERATION_MAX_CHECKS {
        if check > 0 {
            info(&format!(
                "{what}: still in progress, checking again in {} s",
                pause / 1000
            ));
            sleep_ms(pause);
            waited_ms += u64::from(pause);
        }
        pause = OPERATION_POLL_MS;
        let resp = match graph().request(GraphRequest::new("GET", path)) {
            Ok(r) => r,
            // The operation may not be readable yet right after the 202.
            Err(e) if e.is_not_found() => continue,
            Err(e) => return Err(e.into()),
        };
        if let Some(s) = resp
            .header("retry-after")
            .and_then(|v| v.trim().parse::<u32>().ok())
        {
            pause = s.saturating_mul(1000).max(1000);
        }
        let op = resp.body.unwrap_or(Value::Null);
        match str_field(&op, "status").unwrap_or("") {
            s if s.eq_ignore_ascii_case("succeeded") => return Ok(OperationEnd::Succeeded),
            s if s.eq_ignore_ascii_case("failed") || s.eq_ignore_ascii_case("invalid") => {
                let code = op
                    .pointer("/error/code")
                    .and_then(Value::as_str)
                    .unwrap_or("unknown");
                let message = op
                    .pointer("/error/message")
                    .and_then(Value::as_str)
                    .unwrap_or("no reason given");
                return Err(ToolError::graph(format!(
                    "Microsoft Teams reported that {what} failed ({code}: {message})."
                ))
                .with_detail("operation", op.clone()));
            }
            _ => {}
        }
    }
    Ok(OperationEnd::StillRunning {
        waited_s: waited_ms / 1000,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn operation_locations() {
        for (loc, want) in [
            (
                "/teams('dbd8de4f-5d47')/operations('3a6fdce1-c261')",
                Some("/teams/dbd8de4f-5d47/operations/3a6fdce1-c261"),
            ),
            (
                "https://graph.microsoft.com/v1.0/teams('a')/operations('b')",
                Some("/teams/a/operations/b"),
            ),
            ("/teams/a/operations/b", Some("/teams/a/operations/b")),
            ("/teams('a')", None),
            ("/users('a')/operations('b')", None),
            ("/teams('a/../x')/operations('b')", None),
            ("", None),
        ] {
            assert_eq!(operation_path(loc).as_deref(), want, "{loc}");
        }
    }

    #[test]
    fn members_parse_roles() {
        let m = Member::parse(&json!({
            "id": "m1", "userId": "u1", "email": "a@b.co", "displayName": "A", "roles": ["owner"]
        }))
        .unwrap();
        assert!(m.owner);
        let m = Member::parse(&json!({"id": "m2", "userId": "u2", "roles": []})).unwrap();
        assert!(!m.owner);
        assert!(Member::parse(&json!({"userId": "u3"})).is_none());
    }

    #[test]
    fn bindings_use_documented_urls() {
        assert_eq!(user_ref("u1"), "https://graph.microsoft.com/v1.0/users/u1");
        assert_eq!(
            conversation_member("u1", true)["user@odata.bind"],
            "https://graph.microsoft.com/v1.0/users('u1')"
        );
        assert_eq!(conversation_member("u1", false)["roles"], json!([]));
    }
}
