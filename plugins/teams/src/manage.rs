//! Changes to an existing team: add_team_members, add_team_channel and
//! archive_team (destructive: the host asks for the administrator's
//! approval of the plan first).

use crate::api::{self, Member};
use crate::people::{self, Person};
use crate::plan::{MembershipType, addresses, channel_name_problem};
use crate::read::{fetch_team, resolve_team};
use crate::str_field;
use m365_plugin_sdk::ToolError;
use m365_plugin_sdk::graph::GraphRequest;
use schemars::JsonSchema;
use serde::Deserialize;
use serde_json::{Value, json};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, JsonSchema, Default)]
#[serde(rename_all = "camelCase")]
pub enum Role {
    #[default]
    Member,
    Owner,
}

#[derive(Debug, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct AddTeamMembersArgs {
    /// Team id or exact name.
    #[schemars(length(min = 1, max = 256))]
    pub team_id: String,
    #[schemars(length(min = 1, max = 200), inner(email))]
    pub members: Vec<String>,
    /// Role for all of them (default member); owner also promotes existing members.
    pub role: Option<Role>,
}

#[derive(Debug, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct AddTeamChannelArgs {
    /// Team id or exact name.
    #[schemars(length(min = 1, max = 256))]
    pub team_id: String,
    #[schemars(length(min = 1, max = 50))]
    pub display_name: String,
    #[schemars(length(max = 1024))]
    pub description: Option<String>,
    /// Default standard.
    pub membership_type: Option<MembershipType>,
    /// Channel owner for private/shared (default: the team's first owner).
    #[schemars(email)]
    pub owner: Option<String>,
}

#[derive(Debug, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ArchiveTeamArgs {
    /// Team id or exact name.
    #[schemars(length(min = 1, max = 256))]
    pub team_id: String,
    /// Also make the SharePoint site read-only for members (default false).
    pub set_site_read_only: Option<bool>,
}

pub fn add_team_members(args: AddTeamMembersArgs) -> Result<Value, ToolError> {
    let emails = addresses("members", &args.members)?;
    let owner = args.role.unwrap_or_default() == Role::Owner;
    let id = resolve_team(&args.team_id)?;
    fetch_team(&id)?;
    let (people, unknown) = people::resolve(&emails)?;
    if !unknown.is_empty() {
        return Err(people::unknown_error(&[], &unknown, "Nothing was changed."));
    }
    let existing = api::list_members(&id)?;
    let (mut added, mut promoted, mut already) = (Vec::new(), Vec::new(), Vec::new());
    for p in &people {
        let step = add_one(&id, p, owner, &existing);
        match step {
            Ok(Outcome::Added) => added.push(p.email.clone()),
            Ok(Outcome::Promoted) => promoted.push(p.email.clone()),
            Ok(Outcome::Already) => already.push(p.email.clone()),
            Err(e) => {
                let done = added.len() + promoted.len();
                return Err(e
                    .with_prefix(&format!(
                        "Adding {} failed after {done} change(s) ({}).",
                        p.email,
                        if done == 0 {
                            "none".to_string()
                        } else {
                            added
                                .iter()
                                .chain(&promoted)
                                .cloned()
                                .collect::<Vec<_>>()
                                .join(", ")
                        }
                    ))
                    .with_detail("added", json!(added))
                    .with_detail("madeOwner", json!(promoted)));
            }
        }
    }
    Ok(json!({
        "teamId": id,
        "role": if owner { "owner" } else { "member" },
        "added": added,
        "madeOwner": promoted,
        "alreadyIn": already,
    }))
}

/// What the administrator approves when the list makes the call bulk.
pub fn plan_add_team_members(args: AddTeamMembersArgs) -> Result<String, ToolError> {
    let emails = addresses("members", &args.members)?;
    let id = resolve_team(&args.team_id)?;
    let team = fetch_team(&id)?;
    Ok(format!(
        "Add {} user(s) to the team '{}' ({id}) as {}: {}.",
        emails.len(),
        str_field(&team, "displayName").unwrap_or("(no name)"),
        if args.role.unwrap_or_default() == Role::Owner {
            "owners"
        } else {
            "members"
        },
        emails.join(", ")
    ))
}

enum Outcome {
    Added,
    Promoted,
    Already,
}

fn add_one(team: &str, p: &Person, owner: bool, existing: &[Member]) -> Result<Outcome, ToolError> {
    match existing.iter().find(|m| m.user_id == p.id) {
        Some(m) if owner && !m.owner => {
            api::make_owner(team, &m.membership_id)?;
            Ok(Outcome::Promoted)
        }
        Some(_) => Ok(Outcome::Already),
        None => {
            api::add_member(team, &p.id, owner)?;
            Ok(Outcome::Added)
        }
    }
}

pub fn add_team_channel(args: AddTeamChannelArgs) -> Result<Value, ToolError> {
    let name = args.display_name.trim().to_string();
    if let Some(why) = channel_name_problem(&name) {
        return Err(ToolError::input(
            Some("displayName"),
            format!("Channel name {name:?} {why}; choose another."),
        ));
    }
    let kind = args.membership_type.unwrap_or_default();
    let id = resolve_team(&args.team_id)?;
    fetch_team(&id)?;
    if let Some(c) = api::list_channels(&id)?
        .iter()
        .find(|c| str_field(c, "displayName").is_some_and(|n| n.eq_ignore_ascii_case(&name)))
    {
        return Err(ToolError::input(
            Some("displayName"),
            format!(
                "The team already has a channel named '{}' (id {}); choose another name.",
                str_field(c, "displayName").unwrap_or(&name),
                str_field(c, "id").unwrap_or("?")
            ),
        ));
    }
    let mut body = json!({ "displayName": name, "membershipType": kind.as_str() });
    if let Some(d) = args
        .description
        .as_deref()
        .map(str::trim)
        .filter(|d| !d.is_empty())
    {
        body["description"] = json!(d);
    }
    let mut channel_owner = None;
    if kind != MembershipType::Standard {
        let owner_id = match args.owner.as_deref().map(str::trim) {
            Some(email) => {
                let p = people::find(email)?.ok_or_else(|| {
                    ToolError::input(
                        Some("owner"),
                        format!("No user {email} in the tenant; give an existing user as owner."),
                    )
                })?;
                channel_owner = Some(p.email.clone());
                p.id
            }
            None => {
                let first = api::list_members(&id)?
                    .into_iter()
                    .find(|m| m.owner)
                    .ok_or_else(|| {
                        ToolError::input(
                            Some("owner"),
                            "The team has no owner to own the channel; give owner.",
                        )
                    })?;
                channel_owner = first.email.clone().or(first.display_name.clone());
                first.user_id
            }
        };
        body["members"] = json!([api::conversation_member(&owner_id, true)]);
    }
    let ch = api::create_channel(&id, &body)?;
    Ok(json!({
        "teamId": id,
        "id": ch.get("id"),
        "displayName": ch.get("displayName").cloned().unwrap_or(json!(name)),
        "membershipType": kind.as_str(),
        "owner": channel_owner,
        "webUrl": ch.get("webUrl"),
    }))
}

/// What the administrator approves before archive_team runs.
pub fn plan_archive_team(args: ArchiveTeamArgs) -> Result<String, ToolError> {
    let id = resolve_team(&args.team_id)?;
    let team = fetch_team(&id)?;
    let name = str_field(&team, "displayName").unwrap_or("(no name)");
    if team.get("isArchived").and_then(Value::as_bool) == Some(true) {
        return Ok(format!(
            "Nothing to do: team '{name}' ({id}) is already archived."
        ));
    }
    Ok(format!(
        "Archive the team '{name}' ({id}): its channels become read-only for everyone and it \
         moves to archived teams{}. Nothing is deleted; an owner or admin can unarchive it \
         later in Teams.",
        if args.set_site_read_only == Some(true) {
            "; its SharePoint site becomes read-only for members"
        } else {
            ""
        }
    ))
}

pub fn archive_team(args: ArchiveTeamArgs) -> Result<Value, ToolError> {
    let id = resolve_team(&args.team_id)?;
    let team = fetch_team(&id)?;
    let name = team.get("displayName").cloned().unwrap_or(Value::Null);
    if team.get("isArchived").and_then(Value::as_bool) == Some(true) {
        return Ok(
            json!({"teamId": id, "displayName": name, "archived": true, "note": "Already archived."}),
        );
    }
    let resp = api::archive_team(&id, args.set_site_read_only.unwrap_or(false))?;
    // One look at the operation; archiving usually finishes within seconds.
    let status = resp
        .header("location")
        .and_then(api::operation_path)
        .and_then(|p| crate::graph().request(GraphRequest::new("GET", &p)).ok())
        .and_then(|r| r.body)
        .and_then(|op| str_field(&op, "status").map(str::to_string))
        .unwrap_or_else(|| "inProgress".into());
    let done = status.eq_ignore_ascii_case("succeeded");
    Ok(json!({
        "teamId": id,
        "displayName": name,
        "archived": done,
        "operationStatus": status,
        "note": if done { "Archived." } else { "Archiving was accepted and finishes shortly; get_team shows isArchived." },
    }))
}
