//! The team itself: `POST /teams` (from a group with `group@odata.bind`, or with a new group)
//! answering `202 Accepted` and a `teamsAsyncOperation` to poll, the older
//! `PUT /groups/{id}/team` (201 with the team), reading (a team still being provisioned moves
//! one step per GET), listing, and changing its properties and settings.
//!
//! `team_replication_misses` emulates the documented replication delay: the first N
//! `POST /teams` for a group created less than 15 minutes ago answer 404, as Microsoft warns.

use http::StatusCode;
use serde_json::{Map, Value, json};
use time::OffsetDateTime;

use super::channels::{ChannelInput, build_channel, parse_channel};
use super::members::{MemberInput, parse_member, resolve_member};
use super::operations::accepted;
use super::settings::{SETTINGS, SettingsPatch, apply_settings, default_settings, parse_settings};
use crate::app::App;
use crate::graph::odata::{enc, json_object, parse_select, project, unknown_property};
use crate::tenant::teams::{
    Channel, Team, archived, bad, check_guid, new_operation, teams_error, thread_id,
};
use crate::tenant::{Group, Tenant};
use crate::web::paging::page;
use crate::web::path::bound_key;
use crate::web::query::{Query, matches, parse_filter};
use crate::web::time::rfc3339;
use crate::web::{Ctx, GraphError, GraphResult, Reply};

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

fn team_visibility(g: &Group) -> Value {
    match g.prop_str("visibility") {
        Some("Private") => json!("private"),
        Some("HiddenMembership") => json!("hiddenMembership"),
        Some(_) => json!("public"),
        None => Value::Null,
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

pub(crate) fn create(app: &App, ctx: &Ctx, body: &[u8]) -> GraphResult {
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
pub(crate) fn put(app: &App, ctx: &Ctx, gid: &str, body: &[u8]) -> GraphResult {
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

pub(crate) fn get(app: &App, ctx: &Ctx, id: &str, q: &Query) -> GraphResult {
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

pub(crate) fn list(app: &App, q: &Query) -> GraphResult {
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

pub(crate) fn patch(app: &App, id: &str, body: &[u8]) -> GraphResult {
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

#[cfg(test)]
mod tests {
    use http::Method;
    use serde_json::{Value, json};

    use crate::config::Tuning;

    use crate::testkit::{ids, team_body, tenant, tenant_with};

    #[test]
    fn team_creation_is_async_with_replication_misses_and_polling() {
        let t = tenant_with(Tuning {
            team_replication_misses: 2,
            team_provisioning_polls: 2,
            ..Tuning::default()
        });
        let owner = t.user("owner");
        let gid = t.group("launch", &[&owner], &[]);

        // Replication: the first two attempts answer 404 as Microsoft documents.
        for _ in 0..2 {
            let a = t.graph(Method::POST, "/teams", Some(team_body(&gid)));
            assert_eq!((a.status, a.code()), (404, "NotFound"), "{}", a.body);
        }
        let a = t.graph(Method::POST, "/teams", Some(team_body(&gid)));
        assert_eq!(a.status, 202, "{}", a.body);
        assert_eq!(a.body, Value::Null);
        let location = a.header("Location").unwrap().to_string();
        assert!(
            location.starts_with(&format!("/teams('{gid}')/operations('")),
            "{location}"
        );
        assert_eq!(
            a.header("Content-Location"),
            Some(format!("/teams('{gid}')").as_str())
        );

        // While provisioning: the team is 404 and a second create is a conflict.
        let a = t.graph(Method::GET, &format!("/teams/{gid}"), None);
        assert_eq!((a.status, a.code()), (404, "NotFound"));
        assert_eq!(a.message(), format!("No team found with Group Id {gid}"));
        let a = t.graph(Method::POST, "/teams", Some(team_body(&gid)));
        assert_eq!(a.status, 409);
        let listed = t.graph(
            Method::GET,
            "/groups?$filter=resourceProvisioningOptions/Any(x:x eq 'Team')",
            None,
        );
        assert_eq!(listed.body["value"], json!([]));

        // The GET above counted as one poll; one more reports inProgress, the next succeeded.
        let op = t.graph(Method::GET, &location, None);
        assert_eq!(op.status, 200, "{}", op.body);
        assert_eq!(op.body["status"], "inProgress");
        assert_eq!(op.body["operationType"], "createTeam");
        assert_eq!(op.body["targetResourceId"], gid.as_str());
        assert_eq!(op.body["error"], Value::Null);
        let op = t.graph(Method::GET, &location, None);
        assert_eq!(op.body["status"], "succeeded");
        assert_eq!(op.body["attemptsCount"], 1);
        assert_eq!(
            op.body["targetResourceLocation"],
            format!("/teams('{gid}')")
        );

        let team = t.graph(Method::GET, &format!("/teams/{gid}"), None);
        assert_eq!(team.status, 200, "{}", team.body);
        assert_eq!(team.body["displayName"], "Group launch");
        assert_eq!(team.body["visibility"], "private");
        assert_eq!(team.body["isArchived"], false);
        assert_eq!(
            team.body["memberSettings"]["allowCreateUpdateChannels"],
            false
        );
        assert_eq!(team.body["memberSettings"]["allowDeleteChannels"], true);
        assert_eq!(team.body["funSettings"]["giphyContentRating"], "strict");
        assert!(team.body["webUrl"].as_str().unwrap().contains(&gid));

        let listed = t.graph(
            Method::GET,
            "/groups?$filter=resourceProvisioningOptions/Any(x:x eq 'Team')",
            None,
        );
        assert_eq!(ids(&listed.body), vec![gid.clone()]);
        assert_eq!(
            listed.body["value"][0]["resourceProvisioningOptions"],
            json!(["Team"])
        );
        let a = t.graph(Method::POST, "/teams", Some(team_body(&gid)));
        assert_eq!((a.status, a.message()), (409, "Team already exists"));

        // Settings: PATCH answers 204.
        let a = t.graph(
            Method::PATCH,
            &format!("/teams/{gid}"),
            Some(
                json!({"messagingSettings": {"allowUserDeleteMessages": false}, "description": "New"}),
            ),
        );
        assert_eq!(a.status, 204, "{}", a.body);
        let team = t.graph(Method::GET, &format!("/teams/{gid}"), None);
        assert_eq!(
            team.body["messagingSettings"]["allowUserDeleteMessages"],
            false
        );
        assert_eq!(team.body["description"], "New");
        let a = t.graph(
            Method::PATCH,
            &format!("/teams/{gid}"),
            Some(json!({"funSettings": {"allowGiphy": "yes"}})),
        );
        assert_eq!(a.status, 400);
        let a = t.graph(Method::GET, "/teams/not-a-guid", None);
        assert_eq!(a.message(), "teamId needs to be a valid GUID.");
    }

    #[test]
    fn team_creation_refusals() {
        let t = tenant();
        let owner = t.user("owner");
        let ownerless = t.group("ownerless", &[], &[owner.as_str()]);
        let a = t.graph(Method::POST, "/teams", Some(team_body(&ownerless)));
        assert_eq!(a.status, 400, "{}", a.body);
        let gid = t.group("templated", &[&owner], &[]);
        let mut body = team_body(&gid);
        body["template@odata.bind"] =
            json!("https://graph.microsoft.com/v1.0/teamsTemplates('nope')");
        let a = t.graph(Method::POST, "/teams", Some(body));
        assert_eq!(
            a.message(),
            "A template with id 'nope' and locale 'en-US' could not be found."
        );
        let mut body = team_body(&gid);
        body["displayName"] = json!("Not allowed with a group");
        assert_eq!(t.graph(Method::POST, "/teams", Some(body)).status, 400);
        // The older PUT /groups/{id}/team answers 201 with the team at once.
        let a = t.graph(
            Method::PUT,
            &format!("/groups/{gid}/team"),
            Some(json!({"memberSettings": {"allowCreateUpdateChannels": true}})),
        );
        assert_eq!(a.status, 201, "{}", a.body);
        assert_eq!(a.body["id"], gid.as_str());
        assert_eq!(
            t.graph(Method::GET, &format!("/groups/{gid}/team"), None)
                .status,
            200
        );
        assert_eq!(
            t.graph(Method::PUT, &format!("/groups/{gid}/team"), None)
                .status,
            409
        );
    }

    #[test]
    fn standalone_team_creates_its_group() {
        let t = tenant_with(Tuning {
            team_provisioning_polls: 0,
            ..Tuning::default()
        });
        let owner = t.user("lead");
        let body = json!({
            "template@odata.bind": "https://graph.microsoft.com/v1.0/teamsTemplates('standard')",
            "displayName": "Sales Team",
            "description": "Sales",
            "members": [{
                "@odata.type": "#microsoft.graph.aadUserConversationMember",
                "roles": ["owner"],
                "user@odata.bind": format!("https://graph.microsoft.com/v1.0/users('{owner}')")
            }]
        });
        let a = t.graph(Method::POST, "/teams", Some(body.clone()));
        assert_eq!(a.status, 202, "{}", a.body);
        let location = a.header("Location").unwrap().to_string();
        assert_eq!(
            t.graph(Method::GET, &location, None).body["status"],
            "succeeded"
        );
        let gid = location.split('\'').nth(1).unwrap();
        let g = t.graph(Method::GET, &format!("/groups/{gid}"), None);
        assert_eq!(g.body["mailNickname"], "SalesTeam");
        assert_eq!(g.body["visibility"], "Private");
        let mut no_owner = body;
        no_owner["members"][0]["roles"] = json!([]);
        assert_eq!(t.graph(Method::POST, "/teams", Some(no_owner)).status, 400);
    }
}
