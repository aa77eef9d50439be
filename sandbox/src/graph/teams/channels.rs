//! A team's channels: standard, private and shared, with Teams' naming rules (unique, at most
//! 50 characters, no reserved names), the General channel that can be neither renamed nor
//! deleted, and the members of private and shared channels (who must be team members).

use http::StatusCode;
use serde_json::{Map, Value, json};
use time::OffsetDateTime;

use super::members::{MemberInput, member_json, parse_member, resolve_member};
use crate::app::App;
use crate::graph::odata::{enc, is, json_object, parse_select, project, unknown_property};
use crate::tenant::teams::{
    Channel, ChannelMember, Team, archived, bad, check_channel_name, thread_id,
};
use crate::tenant::{Group, Tenant};
use crate::web::query::{Query, matches, parse_filter};
use crate::web::time::rfc3339;
use crate::web::{Ctx, GraphError, GraphResult, Reply};

pub(super) fn channel_json(
    app: &App,
    t: &Tenant,
    gid: &str,
    c: &Channel,
    entity: bool,
) -> Map<String, Value> {
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

pub(super) fn check_description(v: &Value) -> Result<Option<String>, GraphError> {
    match v {
        Value::Null => Ok(None),
        Value::String(s) if s.chars().count() <= 1024 => Ok(Some(s.clone())),
        _ => Err(bad(
            "Channel description must be a string of at most 1024 characters.",
        )),
    }
}

/// A validated new channel, before ids are given.
pub(super) struct ChannelInput {
    pub name: String,
    pub description: Option<String>,
    pub membership_type: String,
    pub members: Vec<MemberInput>,
}

pub(super) fn parse_channel(obj: &Map<String, Value>) -> Result<ChannelInput, GraphError> {
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
pub(super) fn build_channel(
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

pub(crate) fn list(app: &App, id: &str, q: &Query) -> GraphResult {
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

pub(crate) fn get(app: &App, id: &str, cid: &str, q: &Query) -> GraphResult {
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

pub(crate) fn create(app: &App, ctx: &Ctx, id: &str, body: &[u8]) -> GraphResult {
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

pub(crate) fn patch(app: &App, id: &str, cid: &str, body: &[u8]) -> GraphResult {
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

pub(crate) fn delete(app: &App, id: &str, cid: &str) -> GraphResult {
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

pub(crate) fn list_members(app: &App, id: &str, cid: &str) -> GraphResult {
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

pub(crate) fn add_member(app: &App, id: &str, cid: &str, body: &[u8]) -> GraphResult {
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

#[cfg(test)]
mod tests {
    use http::Method;
    use serde_json::json;

    use crate::testkit::{ids, tenant};

    #[test]
    fn channels_rules() {
        let t = tenant();
        let (gid, owner) = t.group_team("chan");
        let base = format!("/teams/{gid}/channels");
        let a = t.graph(Method::GET, &base, None);
        assert_eq!(a.status, 200);
        assert_eq!(a.body["value"][0]["displayName"], "General");
        let general = a.body["value"][0]["id"].as_str().unwrap().to_string();

        let a = t.graph(Method::POST, &base, Some(json!({"displayName": "Architecture", "description": "Plans", "membershipType": "standard"})));
        assert_eq!(a.status, 201, "{}", a.body);
        let id = a.body["id"].as_str().unwrap().to_string();
        assert!(
            id.starts_with("19:") && id.ends_with("@thread.tacv2"),
            "{id}"
        );
        assert_eq!(a.body["membershipType"], "standard");
        assert!(
            a.body["webUrl"]
                .as_str()
                .unwrap()
                .starts_with("https://teams.microsoft.com/l/channel/19%3A")
        );

        // Duplicate (case-insensitively), and General.
        for name in ["architecture", "General"] {
            let a = t.graph(Method::POST, &base, Some(json!({"displayName": name})));
            assert_eq!(
                (a.status, a.message()),
                (400, "Channel name already existed, please use other name.")
            );
        }
        // Name rules.
        for name in [
            "a/b",
            "_hidden",
            "trailing.",
            "x".repeat(51).as_str(),
            "CON",
            "it's",
        ] {
            let a = t.graph(Method::POST, &base, Some(json!({"displayName": name})));
            assert_eq!(a.status, 400, "{name}: {}", a.body);
        }
        // A private channel needs an owner among its members, who must be in the team.
        let a = t.graph(
            Method::POST,
            &base,
            Some(json!({"displayName": "Secret", "membershipType": "private"})),
        );
        assert_eq!(a.status, 400);
        assert!(a.message().contains("owner"), "{}", a.message());
        let stranger = t.user("stranger");
        let member = |uid: &str| {
            json!({
                "@odata.type": "#microsoft.graph.aadUserConversationMember",
                "roles": ["owner"],
                "user@odata.bind": format!("https://graph.microsoft.com/v1.0/users('{uid}')")
            })
        };
        let a = t.graph(Method::POST, &base, Some(json!({"displayName": "Secret", "membershipType": "private", "members": [member(&stranger)]})));
        assert_eq!(a.status, 400);
        let a = t.graph(Method::POST, &base, Some(json!({"displayName": "Secret", "membershipType": "private", "members": [member(&owner)]})));
        assert_eq!(a.status, 201, "{}", a.body);
        assert_eq!(a.body["membershipType"], "private");
        let secret = a.body["id"].as_str().unwrap().to_string();
        let m = t.graph(Method::GET, &format!("{base}/{secret}/members"), None);
        assert_eq!(m.body["value"][0]["userId"], owner.as_str());
        assert_eq!(m.body["value"][0]["roles"], json!(["owner"]));

        let a = t.graph(
            Method::GET,
            &format!("{base}?$filter=membershipType eq 'private'"),
            None,
        );
        assert_eq!(ids(&a.body), vec![secret.clone()]);

        // PATCH and DELETE; General stays.
        let a = t.graph(
            Method::PATCH,
            &format!("{base}/{id}"),
            Some(json!({"description": "Updated"})),
        );
        assert_eq!(a.status, 204);
        assert_eq!(
            t.graph(Method::GET, &format!("{base}/{id}"), None).body["description"],
            "Updated"
        );
        assert_eq!(
            t.graph(Method::DELETE, &format!("{base}/{general}"), None)
                .status,
            400
        );
        assert_eq!(
            t.graph(Method::DELETE, &format!("{base}/{id}"), None)
                .status,
            204
        );
        assert_eq!(
            t.graph(Method::GET, &format!("{base}/{id}"), None).status,
            404
        );
        assert_eq!(
            t.graph(Method::GET, &format!("/teams/{gid}/primaryChannel"), None)
                .body["id"],
            general.as_str()
        );
    }
}
