//! Microsoft Teams through Graph: `POST /teams` (from a group with `group@odata.bind`, or with a
//! new group) answering `202 Accepted` and a `teamsAsyncOperation` to poll, the older
//! `PUT /groups/{id}/team`, the team's settings, archive/unarchive, channels (standard, private,
//! shared) and members (kept in step with the group's members and owners).
//!
//! Two tuning knobs emulate the documented delays: `team_replication_misses` (the first N
//! `POST /teams` for a group created less than 15 minutes ago answer 404, as Microsoft warns)
//! and `team_provisioning_polls` (how many polls of an operation — or GETs of a team still being
//! provisioned — report `inProgress` before it succeeds).

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use http::StatusCode;
use serde_json::{Map, Value, json};
use time::OffsetDateTime;

use super::odata::{enc, is, json_object, parse_select, project, unknown_property};
use crate::app::App;
use crate::tenant::teams::{
    Channel, ChannelMember, Team, TeamsOperation, bad, check_channel_name, check_guid,
    new_operation, no_team, teams_error, thread_id,
};
use crate::tenant::{Group, Tenant};
use crate::web::paging::page;
use crate::web::path::bound_key;
use crate::web::query::{Query, matches, parse_filter};
use crate::web::time::rfc3339;
use crate::web::{Ctx, GraphError, GraphResult, Reply, ReplyBody};

/// The base templates Microsoft documents for `template@odata.bind`.
const TEMPLATES: &[&str] = &[
    "standard",
    "educationClass",
    "educationStaff",
    "educationProfessionalLearningCommunity",
    "retailStore",
    "retailManagerCollaboration",
    "healthcareWard",
    "healthcareHospital",
];

// ---------------------------------------------------------------------------------------------
// Errors, as the Teams service behind Graph words them.

/// The 404 Teams answers while a new group has not replicated to it yet (or does not exist).
fn not_replicated(gid: &str) -> GraphError {
    teams_error(
        StatusCode::NOT_FOUND,
        "NotFound",
        format!(
            "Failed to execute MsGraph backend request GetGroupFromIdS2SRequest. Workload MsGraph_DirectoryServices. Request Url: https://graph.microsoft.com/v1.0/groups/{gid}, Request Method: GET, Response Status Code: NotFound, Reason Phrase: Not Found"
        ),
    )
}

fn user_not_found(key: &str) -> GraphError {
    teams_error(
        StatusCode::NOT_FOUND,
        "NotFound",
        format!(
            "Resource '{key}' does not exist or one of its queried reference-property objects are not present."
        ),
    )
}

fn archived(id: &str) -> GraphError {
    bad(format!(
        "Team {id} is archived: its settings and channels can't be changed until it is unarchived."
    ))
}

// ---------------------------------------------------------------------------------------------
// Shapes.

fn team_visibility(g: &Group) -> Value {
    match g.prop_str("visibility") {
        Some("Private") => json!("private"),
        Some("HiddenMembership") => json!("hiddenMembership"),
        Some(_) => json!("public"),
        None => Value::Null,
    }
}

fn default_settings() -> Map<String, Value> {
    json!({
        "memberSettings": {
            "allowCreateUpdateChannels": true,
            "allowCreatePrivateChannels": true,
            "allowDeleteChannels": true,
            "allowAddRemoveApps": true,
            "allowCreateUpdateRemoveTabs": true,
            "allowCreateUpdateRemoveConnectors": true
        },
        "guestSettings": {
            "allowCreateUpdateChannels": false,
            "allowDeleteChannels": false
        },
        "messagingSettings": {
            "allowUserEditMessages": true,
            "allowUserDeleteMessages": true,
            "allowOwnerDeleteMessages": true,
            "allowTeamMentions": true,
            "allowChannelMentions": true
        },
        "funSettings": {
            "allowGiphy": true,
            "giphyContentRating": "moderate",
            "allowStickersAndMemes": true,
            "allowCustomMemes": true
        },
        "discoverySettings": {
            "showInTeamsSearchAndSuggestions": true
        }
    })
    .as_object()
    .cloned()
    .unwrap_or_default()
}

/// The team's settings complex types and their properties (`None`: Boolean; `Some`: enum).
type SettingFields = &'static [(&'static str, Option<&'static [&'static str]>)];
const SETTINGS: &[(&str, &str, SettingFields)] = &[
    (
        "memberSettings",
        "microsoft.graph.teamMemberSettings",
        &[
            ("allowCreateUpdateChannels", None),
            ("allowCreatePrivateChannels", None),
            ("allowDeleteChannels", None),
            ("allowAddRemoveApps", None),
            ("allowCreateUpdateRemoveTabs", None),
            ("allowCreateUpdateRemoveConnectors", None),
        ],
    ),
    (
        "guestSettings",
        "microsoft.graph.teamGuestSettings",
        &[
            ("allowCreateUpdateChannels", None),
            ("allowDeleteChannels", None),
        ],
    ),
    (
        "messagingSettings",
        "microsoft.graph.teamMessagingSettings",
        &[
            ("allowUserEditMessages", None),
            ("allowUserDeleteMessages", None),
            ("allowOwnerDeleteMessages", None),
            ("allowTeamMentions", None),
            ("allowChannelMentions", None),
        ],
    ),
    (
        "funSettings",
        "microsoft.graph.teamFunSettings",
        &[
            ("allowGiphy", None),
            ("giphyContentRating", Some(&["moderate", "strict"])),
            ("allowStickersAndMemes", None),
            ("allowCustomMemes", None),
        ],
    ),
    (
        "discoverySettings",
        "microsoft.graph.teamDiscoverySettings",
        &[("showInTeamsSearchAndSuggestions", None)],
    ),
];

/// One settings type's name and the properties a request sets on it.
type SettingsPatch = (String, Map<String, Value>);

/// If `key` names a settings type, validates `value` and returns (canonical key, normalised
/// partial settings).
fn parse_settings(key: &str, value: &Value) -> Option<Result<SettingsPatch, GraphError>> {
    let (name, type_name, fields) = SETTINGS
        .iter()
        .find(|(n, _, _)| n.eq_ignore_ascii_case(key))?;
    let parse = || {
        let obj = value.as_object().ok_or_else(|| {
            bad(format!(
                "Cannot convert the value of property '{name}' to the expected type '{type_name}'."
            ))
        })?;
        let mut out = Map::new();
        for (k, v) in obj {
            if k.starts_with('@') {
                continue;
            }
            let (field, values) = fields
                .iter()
                .find(|(f, _)| f.eq_ignore_ascii_case(k))
                .ok_or_else(|| unknown_property(k, type_name))?;
            let normalised = match values {
                None => v.as_bool().map(Value::Bool).ok_or_else(|| {
                    bad(format!(
                        "Cannot convert the literal '{v}' to the expected type 'Edm.Boolean'."
                    ))
                })?,
                Some(allowed) => v
                    .as_str()
                    .and_then(|s| allowed.iter().find(|a| a.eq_ignore_ascii_case(s)))
                    .map(|a| json!(a))
                    .ok_or_else(|| {
                        bad(format!(
                            "Cannot convert the literal '{v}' to the expected type 'microsoft.graph.giphyRatingType'."
                        ))
                    })?,
            };
            out.insert((*field).to_string(), normalised);
        }
        Ok(((*name).to_string(), out))
    };
    Some(parse())
}

fn apply_settings(team: &mut Team, patches: Vec<SettingsPatch>) {
    for (key, patch) in patches {
        let entry = team
            .settings
            .entry(key)
            .or_insert_with(|| Value::Object(Map::new()));
        if let Value::Object(obj) = entry {
            obj.extend(patch);
        }
    }
}

fn team_json(app: &App, t: &Tenant, g: &Group, team: &Team, entity: bool) -> Value {
    let mut obj = Map::new();
    if entity {
        obj.insert(
            "@odata.context".into(),
            json!(format!("{}$metadata#teams/$entity", app.graph_root())),
        );
    }
    obj.insert("id".into(), json!(g.id));
    obj.insert(
        "createdDateTime".into(),
        json!(rfc3339(team.created_date_time)),
    );
    obj.insert("displayName".into(), json!(g.display_name()));
    obj.insert(
        "description".into(),
        g.props.get("description").cloned().unwrap_or(Value::Null),
    );
    obj.insert("internalId".into(), json!(team.internal_id));
    obj.insert(
        "classification".into(),
        g.props
            .get("classification")
            .cloned()
            .unwrap_or(Value::Null),
    );
    obj.insert("specialization".into(), json!("none"));
    obj.insert("visibility".into(), team_visibility(g));
    obj.insert(
        "webUrl".into(),
        json!(format!(
            "https://teams.microsoft.com/l/team/{}/conversations?groupId={}&tenantId={}",
            enc(&team.internal_id),
            g.id,
            t.id
        )),
    );
    obj.insert("isArchived".into(), json!(team.is_archived));
    obj.insert("tenantId".into(), json!(t.id));
    obj.insert("isMembershipLimitedToOwners".into(), json!(false));
    let defaults = default_settings();
    for (name, _, _) in SETTINGS {
        let mut value = defaults.get(*name).cloned().unwrap_or(json!({}));
        if let (Value::Object(v), Some(Value::Object(stored))) =
            (&mut value, team.settings.get(*name))
        {
            v.extend(stored.clone());
        }
        obj.insert((*name).to_string(), value);
    }
    Value::Object(obj)
}

fn operation_json(app: &App, gid: &str, op: &TeamsOperation) -> Value {
    json!({
        "@odata.context": format!("{}$metadata#teams('{gid}')/operations/$entity", app.graph_root()),
        "id": op.id,
        "operationType": op.operation_type,
        "createdDateTime": rfc3339(op.created_date_time),
        "status": op.status,
        "lastActionDateTime": rfc3339(op.last_action_date_time),
        "attemptsCount": op.attempts_count,
        "targetResourceId": gid,
        "targetResourceLocation": format!("/teams('{gid}')"),
        "error": null,
    })
}

fn channel_json(app: &App, t: &Tenant, gid: &str, c: &Channel, entity: bool) -> Map<String, Value> {
    let mut obj = Map::new();
    if entity {
        obj.insert(
            "@odata.context".into(),
            json!(format!(
                "{}$metadata#teams('{gid}')/channels/$entity",
                app.graph_root()
            )),
        );
    }
    obj.insert("id".into(), json!(c.id));
    obj.insert(
        "createdDateTime".into(),
        json!(rfc3339(c.created_date_time)),
    );
    obj.insert("displayName".into(), json!(c.display_name));
    obj.insert("description".into(), json!(c.description));
    obj.insert("isFavoriteByDefault".into(), Value::Null);
    obj.insert(
        "email".into(),
        json!(t.connect.channel_email(gid, &c.id).unwrap_or_default()),
    );
    obj.insert("tenantId".into(), json!(t.id));
    obj.insert(
        "webUrl".into(),
        json!(format!(
            "https://teams.microsoft.com/l/channel/{}/{}?groupId={gid}&tenantId={}",
            enc(&c.id),
            enc(&c.display_name),
            t.id
        )),
    );
    obj.insert("membershipType".into(), json!(c.membership_type));
    obj
}

const CHANNEL_PROPERTIES: &[&str] = &[
    "id",
    "createdDateTime",
    "displayName",
    "description",
    "isFavoriteByDefault",
    "email",
    "tenantId",
    "webUrl",
    "membershipType",
];

/// A conversationMember's id: base64 of `{teamId}##{userId}`, as Graph's are.
fn member_id(gid: &str, uid: &str) -> String {
    STANDARD.encode(format!("{gid}##{uid}"))
}

fn member_user(mid: &str) -> Option<String> {
    let raw = STANDARD.decode(mid.trim()).ok()?;
    let s = String::from_utf8(raw).ok()?;
    let (_, uid) = s.split_once("##")?;
    Some(uid.to_string())
}

fn member_json(
    t: &Tenant,
    scope: &str,
    uid: &str,
    roles: &[String],
    context: Option<String>,
) -> Value {
    let u = t.find_user(uid).map(|i| &t.users[i]);
    let mut obj = Map::new();
    if let Some(c) = context {
        obj.insert("@odata.context".into(), json!(c));
    }
    obj.insert(
        "@odata.type".into(),
        json!("#microsoft.graph.aadUserConversationMember"),
    );
    obj.insert("id".into(), json!(member_id(scope, uid)));
    obj.insert("roles".into(), json!(roles));
    obj.insert(
        "displayName".into(),
        json!(u.and_then(|u| u.prop_str("displayName"))),
    );
    obj.insert(
        "visibleHistoryStartDateTime".into(),
        json!("0001-01-01T00:00:00Z"),
    );
    obj.insert("userId".into(), json!(uid));
    obj.insert(
        "email".into(),
        json!(u.map(|u| u.prop_str("mail").unwrap_or(u.upn()))),
    );
    obj.insert("tenantId".into(), json!(t.id));
    Value::Object(obj)
}

// ---------------------------------------------------------------------------------------------
// Lookups and the operation state machine.

fn accepted(gid: &str, op: &str, content_location: bool) -> Reply {
    let mut reply = Reply {
        status: StatusCode::ACCEPTED,
        headers: Vec::new(),
        body: ReplyBody::Empty,
    }
    .with_header("Location", format!("/teams('{gid}')/operations('{op}')"));
    if content_location {
        reply = reply.with_header("Content-Location", format!("/teams('{gid}')"));
    }
    reply
}

// ---------------------------------------------------------------------------------------------
// Channel and member input.

fn check_description(v: &Value) -> Result<Option<String>, GraphError> {
    match v {
        Value::Null => Ok(None),
        Value::String(s) if s.chars().count() <= 1024 => Ok(Some(s.clone())),
        _ => Err(bad(
            "Channel description must be a string of at most 1024 characters.",
        )),
    }
}

/// An `aadUserConversationMember` from a request: the bound user key and whether it is an owner.
struct MemberInput {
    user_key: String,
    owner: bool,
}

fn parse_member(v: &Value) -> Result<MemberInput, GraphError> {
    let obj = v
        .as_object()
        .ok_or_else(|| bad("A member must be an aadUserConversationMember object."))?;
    let odata_type = obj
        .get("@odata.type")
        .and_then(Value::as_str)
        .unwrap_or_default();
    if !odata_type
        .trim_start_matches('#')
        .eq_ignore_ascii_case("microsoft.graph.aadUserConversationMember")
    {
        return Err(bad(format!(
            "The @odata.type '{odata_type}' is not supported; use '#microsoft.graph.aadUserConversationMember'."
        )));
    }
    let mut user_key = None;
    let mut owner = false;
    for (k, val) in obj {
        if k == "@odata.type" {
            continue;
        }
        if k.eq_ignore_ascii_case("user@odata.bind") {
            user_key = val.as_str().and_then(|u| bound_key(u, &["users"]));
            if user_key.is_none() {
                return Err(bad(
                    "Invalid value for 'user@odata.bind': expected https://graph.microsoft.com/v1.0/users('{id}').",
                ));
            }
        } else if k.eq_ignore_ascii_case("roles") {
            let roles = val
                .as_array()
                .ok_or_else(|| bad("'roles' must be an array of strings."))?;
            for r in roles {
                match r.as_str() {
                    Some(s) if s.eq_ignore_ascii_case("owner") => owner = true,
                    _ => {
                        return Err(bad(format!(
                            "Invalid role {r}: a member's roles are [] or [\"owner\"]."
                        )));
                    }
                }
            }
        } else if !k.starts_with('@') && !k.eq_ignore_ascii_case("visibleHistoryStartDateTime") {
            return Err(unknown_property(
                k,
                "microsoft.graph.aadUserConversationMember",
            ));
        }
    }
    let user_key = user_key.ok_or_else(|| bad("The member has no 'user@odata.bind'."))?;
    Ok(MemberInput { user_key, owner })
}

fn resolve_member(t: &Tenant, m: &MemberInput) -> Result<String, GraphError> {
    t.resolve_user(&m.user_key)
        .map_err(|_| user_not_found(&m.user_key))
}

/// A validated new channel, before ids are given.
struct ChannelInput {
    name: String,
    description: Option<String>,
    membership_type: String,
    members: Vec<MemberInput>,
}

fn parse_channel(obj: &Map<String, Value>) -> Result<ChannelInput, GraphError> {
    let mut name = None;
    let mut description = None;
    let mut membership_type = "standard".to_string();
    let mut members = Vec::new();
    for (k, v) in obj {
        match k.as_str() {
            "displayName" => {
                name = Some(check_channel_name(
                    v.as_str()
                        .ok_or_else(|| bad("Channel displayName must be a string."))?,
                )?)
            }
            "description" => description = check_description(v)?,
            "membershipType" => {
                membership_type = v
                    .as_str()
                    .filter(|s| ["standard", "private", "shared"].contains(s))
                    .ok_or_else(|| {
                        bad(format!(
                            "Cannot convert the literal '{v}' to the expected type 'microsoft.graph.channelMembershipType'."
                        ))
                    })?
                    .to_string()
            }
            "members" => {
                members = v
                    .as_array()
                    .ok_or_else(|| bad("'members' must be an array."))?
                    .iter()
                    .map(parse_member)
                    .collect::<Result<_, _>>()?
            }
            "isFavoriteByDefault" => {}
            "@microsoft.graph.channelCreationMode" => {
                return Err(bad(
                    "Channel migration mode is not supported by the sandbox tenant.",
                ));
            }
            other if other.starts_with('@') => {}
            other => return Err(unknown_property(other, "microsoft.graph.channel")),
        }
    }
    let name = name.ok_or_else(|| bad("Channel displayName is required and can't be empty."))?;
    if membership_type == "standard" && !members.is_empty() {
        return Err(bad(
            "Members can only be given for a private or shared channel; a standard channel has the team's members.",
        ));
    }
    if membership_type != "standard" && !members.iter().any(|m| m.owner) {
        return Err(bad(format!(
            "A {membership_type} channel must be created with at least one member with the 'owner' role."
        )));
    }
    Ok(ChannelInput {
        name,
        description,
        membership_type,
        members,
    })
}

/// Builds a channel on `g`'s team from validated input (checking names and members).
fn build_channel(
    t: &Tenant,
    g: &Group,
    team: &Team,
    input: ChannelInput,
    now: OffsetDateTime,
) -> Result<Channel, GraphError> {
    team.check_unique_channel(&input.name, None)?;
    let mut members: Vec<ChannelMember> = Vec::new();
    for m in &input.members {
        let uid = resolve_member(t, m)?;
        if !g.is_owner(&uid) && !g.is_member(&uid) {
            return Err(bad(format!(
                "User {uid} must be a member of the team to be added to the {} channel.",
                input.membership_type
            )));
        }
        let roles = if m.owner {
            vec!["owner".to_string()]
        } else {
            Vec::new()
        };
        match members.iter_mut().find(|c| c.user_id == uid) {
            Some(existing) if m.owner => existing.roles = roles,
            Some(_) => {}
            None => members.push(ChannelMember {
                user_id: uid,
                roles,
            }),
        }
    }
    Ok(Channel {
        id: thread_id(),
        display_name: input.name,
        description: input.description,
        membership_type: input.membership_type,
        created_date_time: now,
        members,
    })
}

// ---------------------------------------------------------------------------------------------
// Team creation.

fn template_of(body: &Map<String, Value>) -> Result<(), GraphError> {
    let url = body
        .iter()
        .find(|(k, _)| k.eq_ignore_ascii_case("template@odata.bind"))
        .map(|(_, v)| v)
        .ok_or_else(|| bad("The request must bind a template with 'template@odata.bind', e.g. https://graph.microsoft.com/v1.0/teamsTemplates('standard')."))?;
    let name = url
        .as_str()
        .and_then(|u| bound_key(u, &["teamsTemplates"]))
        .ok_or_else(|| bad("Invalid value for 'template@odata.bind'."))?;
    if !TEMPLATES.iter().any(|t| t.eq_ignore_ascii_case(&name)) {
        return Err(bad(format!(
            "A template with id '{name}' and locale 'en-US' could not be found."
        )));
    }
    Ok(())
}

/// What a create request carries beyond the group: settings, a description, extra channels.
#[derive(Default)]
struct TeamExtras {
    settings: Vec<SettingsPatch>,
    description: Option<Option<String>>,
    channels: Vec<ChannelInput>,
}

fn parse_extras(body: &Map<String, Value>, from_group: bool) -> Result<TeamExtras, GraphError> {
    const GROUP_OWNED: &[&str] = &[
        "displayName",
        "visibility",
        "specialization",
        "members",
        "members@odata.bind",
    ];
    let mut extras = TeamExtras::default();
    for (k, v) in body {
        if let Some(parsed) = parse_settings(k, v) {
            extras.settings.push(parsed?);
            continue;
        }
        if from_group && GROUP_OWNED.iter().any(|p| p.eq_ignore_ascii_case(k)) {
            return Err(bad(format!(
                "A team created from a group inherits its displayName, visibility, specialization and members: remove '{k}' from the request."
            )));
        }
        match k.as_str() {
            "description" => {
                extras.description = Some(match v {
                    Value::Null => None,
                    Value::String(s) if s.chars().count() <= 1024 => Some(s.clone()),
                    _ => {
                        return Err(bad(
                            "'description' must be a string of at most 1024 characters.",
                        ));
                    }
                })
            }
            "channels" => {
                for c in v
                    .as_array()
                    .ok_or_else(|| bad("'channels' must be an array."))?
                {
                    let obj = c
                        .as_object()
                        .ok_or_else(|| bad("A channel must be an object."))?;
                    let input = parse_channel(obj)?;
                    if input.membership_type != "standard" {
                        return Err(bad(
                            "Only standard channels can be created with the team; add private and shared channels afterwards.",
                        ));
                    }
                    extras.channels.push(input);
                }
            }
            // Accepted and ignored: apps and tabs are outside the sandbox.
            "installedApps" | "displayName" | "visibility" | "specialization" | "members" => {}
            other if other.starts_with('@') || other.contains("@odata.bind") => {}
            other => return Err(unknown_property(other, "microsoft.graph.team")),
        }
    }
    Ok(extras)
}

/// Starts provisioning a team on group `i`; returns the `createTeam` operation's id (or `None`
/// when `provisioned` is already true).
fn start_team(
    t: &mut Tenant,
    i: usize,
    extras: TeamExtras,
    now: OffsetDateTime,
    polls: Option<u32>,
) -> Result<Option<String>, GraphError> {
    if let Some(d) = extras.description {
        match d {
            Some(d) => t.groups[i].props.insert("description".into(), json!(d)),
            None => t.groups[i].props.remove("description"),
        };
    }
    let general = Channel {
        id: thread_id(),
        display_name: "General".into(),
        description: t.groups[i].prop_str("description").map(str::to_string),
        membership_type: "standard".into(),
        created_date_time: now,
        members: Vec::new(),
    };
    let mut team = Team {
        created_date_time: now,
        provisioned: polls.is_none(),
        is_archived: false,
        internal_id: general.id.clone(),
        settings: Map::new(),
        channels: vec![general],
        operations: Vec::new(),
    };
    apply_settings(&mut team, extras.settings);
    for input in extras.channels {
        let channel = build_channel(t, &t.groups[i], &team, input, now)?;
        team.channels.push(channel);
    }
    let op = polls.map(|n| {
        let op = new_operation("createTeam", now, n);
        let id = op.id.clone();
        team.operations.push(op);
        id
    });
    t.groups[i].team = Some(team);
    Ok(op)
}

pub(super) fn create_team(app: &App, ctx: &Ctx, body: &[u8]) -> GraphResult {
    let body = json_object(body)?;
    template_of(&body)?;
    let group_bind = body
        .iter()
        .find(|(k, _)| k.eq_ignore_ascii_case("group@odata.bind"))
        .map(|(_, v)| v.clone());
    match group_bind {
        Some(v) => create_from_group(app, ctx, &body, &v),
        None => create_with_group(app, ctx, &body),
    }
}

fn create_from_group(app: &App, ctx: &Ctx, body: &Map<String, Value>, bind: &Value) -> GraphResult {
    let gid = bind
        .as_str()
        .and_then(|u| bound_key(u, &["groups"]))
        .ok_or_else(|| bad("Invalid value for 'group@odata.bind': expected https://graph.microsoft.com/v1.0/groups('{id}')."))?;
    let extras = parse_extras(body, true)?;
    let tuning = app.tuning();
    app.store
        .mutate(|t| {
            let Some(i) = t.find_group(&gid) else {
                return Ok(Err(not_replicated(&gid)));
            };
            if t.groups[i].replication_miss(tuning.team_replication_misses, ctx.now) {
                return Ok(Err(not_replicated(&t.groups[i].id)));
            }
            if let Err(e) = t.check_teamable(&t.groups[i]) {
                return Ok(Err(e));
            }
            let gid = t.groups[i].id.clone();
            let op = start_team(t, i, extras, ctx.now, Some(tuning.team_provisioning_polls))?;
            Ok(Ok(accepted(&gid, op.as_deref().unwrap_or_default(), true)))
        })
        .and_then(|r| r)
}

/// `POST /teams` without a group: creates a Microsoft 365 group from the body, then its team.
fn create_with_group(app: &App, ctx: &Ctx, body: &Map<String, Value>) -> GraphResult {
    let name = body
        .get("displayName")
        .and_then(Value::as_str)
        .filter(|s| !s.trim().is_empty() && s.chars().count() <= 256)
        .ok_or_else(|| bad("A team needs a displayName (at most 256 characters)."))?
        .to_string();
    let visibility = match body.get("visibility").and_then(Value::as_str) {
        None => "Private",
        Some(v) if v.eq_ignore_ascii_case("private") => "Private",
        Some(v) if v.eq_ignore_ascii_case("public") => "Public",
        Some(v) => {
            return Err(bad(format!(
                "Cannot convert the literal '{v}' to the expected type 'microsoft.graph.teamVisibilityType'."
            )));
        }
    };
    let members: Vec<MemberInput> = match body.get("members") {
        None => Vec::new(),
        Some(v) => v
            .as_array()
            .ok_or_else(|| bad("'members' must be an array."))?
            .iter()
            .map(parse_member)
            .collect::<Result<_, _>>()?,
    };
    if !members.iter().any(|m| m.owner) {
        return Err(bad(
            "A team created with application permissions must have at least one member with the 'owner' role in 'members'.",
        ));
    }
    let extras = parse_extras(body, false)?;
    let tuning = app.tuning();
    app.store.mutate(|t| {
        let mut owners = Vec::new();
        let mut plain = Vec::new();
        for m in &members {
            let uid = resolve_member(t, m)?;
            if m.owner && !owners.contains(&uid) {
                owners.push(uid.clone());
            }
            if !plain.contains(&uid) {
                plain.push(uid);
            }
        }
        let nick = t.unique_nickname(&name);
        let mut props = Map::new();
        props.insert("displayName".into(), json!(name));
        props.insert("mailNickname".into(), json!(nick));
        props.insert("groupTypes".into(), json!(["Unified"]));
        props.insert("mailEnabled".into(), json!(true));
        props.insert("securityEnabled".into(), json!(false));
        props.insert("visibility".into(), json!(visibility));
        let i = t.insert_group(ctx.now, props, owners, plain)?;
        let gid = t.groups[i].id.clone();
        let op = start_team(t, i, extras, ctx.now, Some(tuning.team_provisioning_polls))?;
        Ok(accepted(&gid, op.as_deref().unwrap_or_default(), true))
    })
}

/// `PUT /groups/{id}/team`: the older, synchronous creation (201 with the team).
pub(super) fn put_team(app: &App, ctx: &Ctx, gid: &str, body: &[u8]) -> GraphResult {
    let body = if body.iter().all(u8::is_ascii_whitespace) {
        Map::new()
    } else {
        json_object(body)?
    };
    let extras = parse_extras(&body, true)?;
    let tuning = app.tuning();
    app.store
        .mutate(|t| {
            let Some(i) = t.find_group(gid) else {
                return Ok(Err(GraphError::not_found(gid)));
            };
            if t.groups[i].replication_miss(tuning.team_replication_misses, ctx.now) {
                return Ok(Err(not_replicated(&t.groups[i].id)));
            }
            if let Err(e) = t.check_teamable(&t.groups[i]) {
                return Ok(Err(e));
            }
            start_team(t, i, extras, ctx.now, None)?;
            let g = &t.groups[i];
            let team = g.team.as_ref().expect("just created");
            Ok(Ok(Reply::json(
                StatusCode::CREATED,
                team_json(app, t, g, team, true),
            )))
        })
        .and_then(|r| r)
}

// ---------------------------------------------------------------------------------------------
// Team handlers.

pub(super) fn get_team(app: &App, ctx: &Ctx, id: &str, q: &Query) -> GraphResult {
    q.only(&["select", "expand"])?;
    check_guid(id)?;
    // A team being provisioned (or with a pending archive/unarchive) moves on one step per GET.
    let pending = app.store.read(|t| {
        t.find_group(id).is_some_and(|i| {
            t.groups[i]
                .team
                .as_ref()
                .is_some_and(|team| team.operations.iter().any(|o| o.status != "succeeded"))
        })
    });
    if pending {
        app.store.mutate(|t| {
            if let Some(i) = t.find_group(id)
                && let Some(team) = t.groups[i].team.as_mut()
            {
                for op in 0..team.operations.len() {
                    team.poll(op, ctx.now);
                }
            }
            Ok(())
        })?;
    }
    app.store.read(|t| {
        let i = t.team_group(id)?;
        let g = &t.groups[i];
        let team = g.team.as_ref().expect("team_group");
        let full = team_json(app, t, g, team, true);
        let select = parse_select(q, &team_properties(), "microsoft.graph.team")?;
        let full = full.as_object().cloned().unwrap_or_default();
        Ok(Reply::ok(Value::Object(project(full, select.as_deref()))))
    })
}

fn team_properties() -> Vec<&'static str> {
    let mut props = vec![
        "id",
        "createdDateTime",
        "displayName",
        "description",
        "internalId",
        "classification",
        "specialization",
        "visibility",
        "webUrl",
        "isArchived",
        "tenantId",
        "isMembershipLimitedToOwners",
    ];
    props.extend(SETTINGS.iter().map(|(n, _, _)| *n));
    props
}

pub(super) fn list_teams(app: &App, q: &Query) -> GraphResult {
    q.only(&["select", "filter", "top", "skiptoken"])?;
    let props = team_properties();
    let select = parse_select(q, &props, "microsoft.graph.team")?;
    let clauses = match q.get("filter") {
        Some(f) => parse_filter(
            f,
            "Team",
            &[
                "id",
                "displayName",
                "description",
                "visibility",
                "isArchived",
            ],
            &["displayName"],
        )?,
        None => Vec::new(),
    };
    let items: Vec<Value> = app.store.read(|t| {
        t.groups
            .iter()
            .filter_map(|g| {
                g.team
                    .as_ref()
                    .filter(|tm| tm.provisioned)
                    .map(|tm| (g, tm))
            })
            .map(|(g, tm)| team_json(app, t, g, tm, false))
            .filter(|v| matches(&clauses, v))
            .map(|v| {
                Value::Object(project(
                    v.as_object().cloned().unwrap_or_default(),
                    select.as_deref(),
                ))
            })
            .collect()
    });
    let context = format!(
        "{}$metadata#teams{}",
        app.graph_root(),
        select
            .as_ref()
            .map(|s| format!("({})", s.join(",")))
            .unwrap_or_default()
    );
    page(&app.graph_root(), q, "teams", context, items)
}

pub(super) fn patch_team(app: &App, id: &str, body: &[u8]) -> GraphResult {
    let body = json_object(body)?;
    let mut settings = Vec::new();
    let mut props: Vec<(&str, Value)> = Vec::new();
    for (k, v) in &body {
        if let Some(parsed) = parse_settings(k, v) {
            settings.push(parsed?);
            continue;
        }
        match k.as_str() {
            "displayName" => match v.as_str() {
                Some(s) if !s.trim().is_empty() && s.chars().count() <= 256 => {
                    props.push(("displayName", json!(s)))
                }
                _ => {
                    return Err(bad(
                        "'displayName' must be a non-empty string of at most 256 characters.",
                    ));
                }
            },
            "description" => match v {
                Value::Null => props.push(("description", Value::Null)),
                Value::String(s) if s.chars().count() <= 1024 => {
                    props.push(("description", json!(s)))
                }
                _ => {
                    return Err(bad(
                        "'description' must be a string of at most 1024 characters.",
                    ));
                }
            },
            "classification" => props.push(("classification", v.clone())),
            "visibility" => match v.as_str() {
                Some(s) if s.eq_ignore_ascii_case("private") => {
                    props.push(("visibility", json!("Private")))
                }
                Some(s) if s.eq_ignore_ascii_case("public") => {
                    props.push(("visibility", json!("Public")))
                }
                _ => {
                    return Err(bad(format!(
                        "Cannot convert the literal '{v}' to the expected type 'microsoft.graph.teamVisibilityType'."
                    )));
                }
            },
            "id" | "internalId" | "webUrl" | "isArchived" | "createdDateTime" | "tenantId" => {
                return Err(bad(format!("The property '{k}' is read-only.")));
            }
            other if other.starts_with('@') => {}
            other => return Err(unknown_property(other, "microsoft.graph.team")),
        }
    }
    app.store.mutate(|t| {
        let i = t.team_group(id)?;
        if t.groups[i].team.as_ref().is_some_and(|tm| tm.is_archived) {
            return Err(archived(id));
        }
        for (k, v) in props {
            if v.is_null() {
                t.groups[i].props.remove(k);
            } else {
                t.groups[i].props.insert(k.to_string(), v);
            }
        }
        apply_settings(t.team_mut(i), settings);
        Ok(Reply::no_content())
    })
}

pub(super) fn archive(app: &App, ctx: &Ctx, id: &str, body: &[u8], archive: bool) -> GraphResult {
    if !body.iter().all(u8::is_ascii_whitespace) {
        let obj = json_object(body)?;
        for (k, v) in &obj {
            if archive && k == "shouldSetSpoSiteReadOnlyForMembers" {
                if !v.is_boolean() && !v.is_null() {
                    return Err(bad(
                        "Cannot convert the value of 'shouldSetSpoSiteReadOnlyForMembers' to the expected type 'Edm.Boolean'.",
                    ));
                }
            } else if !k.starts_with('@') {
                return Err(bad(format!(
                    "The parameter '{k}' in the request payload is not a valid parameter for the operation '{}'.",
                    if archive { "archive" } else { "unarchive" }
                )));
            }
        }
    }
    let polls = app.tuning().team_provisioning_polls;
    app.store.mutate(|t| {
        let i = t.team_group(id)?;
        if !t.groups[i].owners.iter().any(|o| t.find_user(o).is_some()) {
            return Err(bad(format!(
                "Team {id} has no owner: a team must have an owner to be archived or unarchived."
            )));
        }
        let kind = if archive {
            "archiveTeam"
        } else {
            "unarchiveTeam"
        };
        let op = new_operation(kind, ctx.now, polls);
        let op_id = op.id.clone();
        t.team_mut(i).operations.push(op);
        let gid = t.groups[i].id.clone();
        Ok(accepted(&gid, &op_id, false))
    })
}

pub(super) fn get_operation(app: &App, ctx: &Ctx, id: &str, op_id: &str) -> GraphResult {
    check_guid(id)?;
    app.store.mutate(|t| {
        let i = t
            .find_group(id)
            .filter(|&i| t.groups[i].team.is_some())
            .ok_or_else(|| no_team(id))?;
        let gid = t.groups[i].id.clone();
        let team = t.groups[i].team.as_mut().expect("filtered");
        let op = team
            .operations
            .iter()
            .position(|o| o.id.eq_ignore_ascii_case(op_id))
            .ok_or_else(|| {
                teams_error(
                    StatusCode::NOT_FOUND,
                    "NotFound",
                    format!("Operation {op_id} was not found for team {gid}."),
                )
            })?;
        team.poll(op, ctx.now);
        Ok(Reply::ok(operation_json(app, &gid, &team.operations[op])))
    })
}

pub(super) fn list_operations(app: &App, id: &str) -> GraphResult {
    check_guid(id)?;
    app.store.read(|t| {
        let i = t
            .find_group(id)
            .filter(|&i| t.groups[i].team.is_some())
            .ok_or_else(|| no_team(id))?;
        let g = &t.groups[i];
        let team = g.team.as_ref().expect("filtered");
        let value: Vec<Value> = team
            .operations
            .iter()
            .map(|o| {
                let mut v = operation_json(app, &g.id, o);
                if let Some(obj) = v.as_object_mut() {
                    obj.remove("@odata.context");
                }
                v
            })
            .collect();
        Ok(Reply::ok(json!({
            "@odata.context": format!("{}$metadata#teams('{}')/operations", app.graph_root(), g.id),
            "value": value,
        })))
    })
}

// ---------------------------------------------------------------------------------------------
// Channels.

pub(super) fn list_channels(app: &App, id: &str, q: &Query) -> GraphResult {
    q.only(&["select", "filter"])?;
    let select = parse_select(q, CHANNEL_PROPERTIES, "microsoft.graph.channel")?;
    let clauses = match q.get("filter") {
        Some(f) => parse_filter(
            f,
            "Channel",
            &["id", "displayName", "membershipType", "description"],
            &["displayName"],
        )?,
        None => Vec::new(),
    };
    app.store.read(|t| {
        let i = t.team_group(id)?;
        let g = &t.groups[i];
        let team = g.team.as_ref().expect("team_group");
        let value: Vec<Value> = team
            .channels
            .iter()
            .map(|c| channel_json(app, t, &g.id, c, false))
            .filter(|c| matches(&clauses, &Value::Object(c.clone())))
            .map(|c| Value::Object(project(c, select.as_deref())))
            .collect();
        Ok(Reply::ok(json!({
            "@odata.context": format!("{}$metadata#teams('{}')/channels", app.graph_root(), g.id),
            "@odata.count": value.len(),
            "value": value,
        })))
    })
}

pub(super) fn get_channel(app: &App, id: &str, cid: &str, q: &Query) -> GraphResult {
    q.only(&["select"])?;
    let select = parse_select(q, CHANNEL_PROPERTIES, "microsoft.graph.channel")?;
    app.store.read(|t| {
        let i = t.team_group(id)?;
        let g = &t.groups[i];
        let team = g.team.as_ref().expect("team_group");
        let c = if is(cid, "primaryChannel") {
            &team.channels[0]
        } else {
            &team.channels[team.channel_index(cid)?]
        };
        Ok(Reply::ok(Value::Object(project(
            channel_json(app, t, &g.id, c, true),
            select.as_deref(),
        ))))
    })
}

pub(super) fn create_channel(app: &App, ctx: &Ctx, id: &str, body: &[u8]) -> GraphResult {
    let input = parse_channel(&json_object(body)?)?;
    app.store.mutate(|t| {
        let i = t.team_group(id)?;
        let g = &t.groups[i];
        let team = g.team.as_ref().expect("team_group");
        if team.is_archived {
            return Err(archived(id));
        }
        let channel = build_channel(t, g, team, input, ctx.now)?;
        let body = channel_json(app, t, &g.id, &channel, true);
        t.team_mut(i).channels.push(channel);
        Ok(Reply::json(StatusCode::CREATED, Value::Object(body)))
    })
}

pub(super) fn patch_channel(app: &App, id: &str, cid: &str, body: &[u8]) -> GraphResult {
    let body = json_object(body)?;
    let mut name = None;
    let mut description = None;
    for (k, v) in &body {
        match k.as_str() {
            "displayName" => {
                name =
                    Some(check_channel_name(v.as_str().ok_or_else(|| {
                        bad("Channel displayName must be a string.")
                    })?)?)
            }
            "description" => description = Some(check_description(v)?),
            "membershipType" => {
                return Err(bad(
                    "The property 'membershipType' can be set only when the channel is created.",
                ));
            }
            "isFavoriteByDefault" => {}
            other if other.starts_with('@') => {}
            other => return Err(unknown_property(other, "microsoft.graph.channel")),
        }
    }
    app.store.mutate(|t| {
        let i = t.team_group(id)?;
        let team = t.team_mut(i);
        if team.is_archived {
            return Err(archived(id));
        }
        let c = team.channel_index(cid)?;
        if let Some(n) = name {
            if c == 0 && n != team.channels[0].display_name {
                return Err(bad("The General channel can't be renamed."));
            }
            team.check_unique_channel(&n, Some(cid))?;
            team.channels[c].display_name = n;
        }
        if let Some(d) = description {
            team.channels[c].description = d;
        }
        Ok(Reply::no_content())
    })
}

pub(super) fn delete_channel(app: &App, id: &str, cid: &str) -> GraphResult {
    app.store.mutate(|t| {
        let i = t.team_group(id)?;
        let team = t.team_mut(i);
        if team.is_archived {
            return Err(archived(id));
        }
        let c = team.channel_index(cid)?;
        if c == 0 {
            return Err(bad("The General channel can't be deleted."));
        }
        team.channels.remove(c);
        Ok(Reply::no_content())
    })
}

pub(super) fn list_channel_members(app: &App, id: &str, cid: &str) -> GraphResult {
    app.store.read(|t| {
        let i = t.team_group(id)?;
        let g = &t.groups[i];
        let team = g.team.as_ref().expect("team_group");
        let c = &team.channels[team.channel_index(cid)?];
        let value: Vec<Value> = if c.membership_type == "standard" {
            t.people(g)
                .iter()
                .map(|uid| member_json(t, &c.id, uid, &g.team_roles(uid), None))
                .collect()
        } else {
            c.members
                .iter()
                .filter(|m| t.find_user(&m.user_id).is_some())
                .map(|m| member_json(t, &c.id, &m.user_id, &m.roles, None))
                .collect()
        };
        Ok(Reply::ok(json!({
            "@odata.context": format!("{}$metadata#teams('{}')/channels('{}')/members", app.graph_root(), g.id, c.id),
            "@odata.count": value.len(),
            "value": value,
        })))
    })
}

pub(super) fn add_channel_member(app: &App, id: &str, cid: &str, body: &[u8]) -> GraphResult {
    let input = parse_member(&Value::Object(json_object(body)?))?;
    app.store.mutate(|t| {
        let i = t.team_group(id)?;
        let uid = resolve_member(t, &input)?;
        let g = &t.groups[i];
        if !g.is_owner(&uid) && !g.is_member(&uid) {
            return Err(bad(format!(
                "User {uid} must be a member of the team to be added to a channel."
            )));
        }
        let gid = g.id.clone();
        let team = t.team_mut(i);
        let c = team.channel_index(cid)?;
        let channel = &mut team.channels[c];
        if channel.membership_type == "standard" {
            return Err(bad(
                "Members can be added only to private or shared channels; a standard channel has the team's members.",
            ));
        }
        let roles = if input.owner {
            vec!["owner".to_string()]
        } else {
            Vec::new()
        };
        match channel.members.iter_mut().find(|m| m.user_id == uid) {
            Some(m) => m.roles = roles.clone(),
            None => channel.members.push(ChannelMember {
                user_id: uid.clone(),
                roles: roles.clone(),
            }),
        }
        let cid = channel.id.clone();
        let context = format!(
            "{}$metadata#teams('{gid}')/channels('{cid}')/members/$entity",
            app.graph_root()
        );
        Ok(Reply::json(
            StatusCode::CREATED,
            member_json(t, &cid, &uid, &roles, Some(context)),
        ))
    })
}

// ---------------------------------------------------------------------------------------------
// Team members (the group's owners and members).

fn member_context(app: &App, gid: &str) -> String {
    format!(
        "{}$metadata#teams('{gid}')/members/$entity",
        app.graph_root()
    )
}

pub(super) fn list_members(app: &App, id: &str, q: &Query) -> GraphResult {
    q.only(&["select", "top", "filter"])?;
    let clauses = match q.get("filter") {
        Some(f) => parse_filter(
            f,
            "ConversationMember",
            &["displayName", "email", "userId"],
            &["displayName"],
        )?,
        None => Vec::new(),
    };
    let top = q.get("top").and_then(|v| v.trim().parse::<usize>().ok());
    app.store.read(|t| {
        let i = t.team_group(id)?;
        let g = &t.groups[i];
        let value: Vec<Value> = t
            .people(g)
            .iter()
            .map(|uid| member_json(t, &g.id, uid, &g.team_roles(uid), None))
            .filter(|v| matches(&clauses, v))
            .take(top.unwrap_or(usize::MAX))
            .collect();
        Ok(Reply::ok(json!({
            "@odata.context": format!("{}$metadata#teams('{}')/members", app.graph_root(), g.id),
            "@odata.count": value.len(),
            "value": value,
        })))
    })
}

fn member_of_team(t: &Tenant, i: usize, mid: &str) -> Result<String, GraphError> {
    let g = &t.groups[i];
    member_user(mid)
        .filter(|uid| (g.is_owner(uid) || g.is_member(uid)) && t.find_user(uid).is_some())
        .ok_or_else(|| {
            teams_error(
                StatusCode::NOT_FOUND,
                "NotFound",
                format!("Member {mid} was not found in team {}.", g.id),
            )
        })
}

pub(super) fn get_member(app: &App, id: &str, mid: &str) -> GraphResult {
    app.store.read(|t| {
        let i = t.team_group(id)?;
        let uid = member_of_team(t, i, mid)?;
        let g = &t.groups[i];
        Ok(Reply::ok(member_json(
            t,
            &g.id,
            &uid,
            &g.team_roles(&uid),
            Some(member_context(app, &g.id)),
        )))
    })
}

/// `POST /teams/{id}/members`. Adding someone who already is a member answers 201 with the
/// existing membership (promoting to owner if asked), as the service does.
pub(super) fn add_member(app: &App, id: &str, body: &[u8]) -> GraphResult {
    let input = parse_member(&Value::Object(json_object(body)?))?;
    app.store.mutate(|t| {
        let i = t.team_group(id)?;
        let uid = resolve_member(t, &input)?;
        t.groups[i].enrol(&uid, input.owner);
        let g = &t.groups[i];
        Ok(Reply::json(
            StatusCode::CREATED,
            member_json(
                t,
                &g.id,
                &uid,
                &g.team_roles(&uid),
                Some(member_context(app, &g.id)),
            ),
        ))
    })
}

pub(super) fn patch_member(app: &App, id: &str, mid: &str, body: &[u8]) -> GraphResult {
    let body = json_object(body)?;
    let mut owner = None;
    for (k, v) in &body {
        if k.eq_ignore_ascii_case("roles") {
            let roles = v
                .as_array()
                .ok_or_else(|| bad("'roles' must be an array of strings."))?;
            let mut is_owner = false;
            for r in roles {
                match r.as_str() {
                    Some(s) if s.eq_ignore_ascii_case("owner") => is_owner = true,
                    _ => {
                        return Err(bad(format!(
                            "Invalid role {r}: a member's roles are [] or [\"owner\"]."
                        )));
                    }
                }
            }
            owner = Some(is_owner);
        } else if !k.starts_with('@') {
            return Err(unknown_property(
                k,
                "microsoft.graph.aadUserConversationMember",
            ));
        }
    }
    app.store.mutate(|t| {
        let i = t.team_group(id)?;
        let uid = member_of_team(t, i, mid)?;
        let g = &mut t.groups[i];
        match owner {
            Some(true) => g.enrol(&uid, true),
            Some(false) => {
                g.enrol(&uid, false);
                g.owners.retain(|o| !o.eq_ignore_ascii_case(&uid));
            }
            None => {}
        }
        let g = &t.groups[i];
        Ok(Reply::ok(member_json(
            t,
            &g.id,
            &uid,
            &g.team_roles(&uid),
            Some(member_context(app, &g.id)),
        )))
    })
}

pub(super) fn remove_member(app: &App, id: &str, mid: &str) -> GraphResult {
    app.store.mutate(|t| {
        let i = t.team_group(id)?;
        let uid = member_of_team(t, i, mid)?;
        t.groups[i].remove_person(&uid);
        Ok(Reply::no_content())
    })
}

// ---------------------------------------------------------------------------------------------
// Routing.

#[cfg(test)]
#[path = "teams_tests.rs"]
mod tests;
