//! A team's members: the group's owners and members as `aadUserConversationMember`s (id
//! `base64({teamId}##{userId})`), listed, read, added (adding a member again answers 201 with
//! the membership, promoting to owner if asked), changed (`roles`) and removed (from the team's
//! channels too). Also the member objects channels share.

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use http::StatusCode;
use serde_json::{Map, Value, json};

use crate::app::App;
use crate::graph::odata::{json_object, unknown_property};
use crate::tenant::Tenant;
use crate::tenant::teams::{bad, teams_error};
use crate::web::path::bound_key;
use crate::web::query::{Query, matches, parse_filter};
use crate::web::{GraphError, GraphResult, Reply};

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

pub(super) fn member_json(
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

fn user_not_found(key: &str) -> GraphError {
    teams_error(
        StatusCode::NOT_FOUND,
        "NotFound",
        format!(
            "Resource '{key}' does not exist or one of its queried reference-property objects are not present."
        ),
    )
}

/// An `aadUserConversationMember` from a request: the bound user key and whether it is an owner.
pub(super) struct MemberInput {
    pub user_key: String,
    pub owner: bool,
}

pub(super) fn parse_member(v: &Value) -> Result<MemberInput, GraphError> {
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

pub(super) fn resolve_member(t: &Tenant, m: &MemberInput) -> Result<String, GraphError> {
    t.resolve_user(&m.user_key)
        .map_err(|_| user_not_found(&m.user_key))
}

fn member_context(app: &App, gid: &str) -> String {
    format!(
        "{}$metadata#teams('{gid}')/members/$entity",
        app.graph_root()
    )
}

pub(crate) fn list(app: &App, id: &str, q: &Query) -> GraphResult {
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

pub(crate) fn get(app: &App, id: &str, mid: &str) -> GraphResult {
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
pub(crate) fn add(app: &App, id: &str, body: &[u8]) -> GraphResult {
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

pub(crate) fn patch(app: &App, id: &str, mid: &str, body: &[u8]) -> GraphResult {
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

pub(crate) fn remove(app: &App, id: &str, mid: &str) -> GraphResult {
    app.store.mutate(|t| {
        let i = t.team_group(id)?;
        let uid = member_of_team(t, i, mid)?;
        t.groups[i].remove_person(&uid);
        Ok(Reply::no_content())
    })
}

#[cfg(test)]
mod tests {
    use http::Method;
    use serde_json::{Value, json};

    use crate::testkit::{ids, tenant};

    #[test]
    fn team_and_group_membership_stay_in_step() {
        let t = tenant();
        let (gid, owner) = t.group_team("sync");
        let carol = t.user("carol");
        let dave = t.user("dave");

        // Team → group.
        let add = |uid: &str, roles: Value| {
            t.graph(
                Method::POST,
                &format!("/teams/{gid}/members"),
                Some(json!({
                    "@odata.type": "#microsoft.graph.aadUserConversationMember",
                    "roles": roles,
                    "user@odata.bind": format!("https://graph.microsoft.com/v1.0/users('{uid}')")
                })),
            )
        };
        let a = add(&carol, json!([]));
        assert_eq!(a.status, 201, "{}", a.body);
        assert_eq!(
            a.body["@odata.type"],
            "#microsoft.graph.aadUserConversationMember"
        );
        assert_eq!(a.body["userId"], carol.as_str());
        assert_eq!(a.body["email"], "carol@libertygoldsilver.com");
        assert_eq!(a.body["roles"], json!([]));
        let mid = a.body["id"].as_str().unwrap().to_string();
        let members = t.graph(Method::GET, &format!("/groups/{gid}/members"), None);
        assert!(ids(&members.body).contains(&carol));
        // Adding again answers 201 with the same membership; roles ["owner"] promotes.
        let again = add(&carol, json!(["owner"]));
        assert_eq!(
            (again.status, again.body["id"].as_str()),
            (201, Some(mid.as_str()))
        );
        assert_eq!(again.body["roles"], json!(["owner"]));
        assert!(
            ids(&t
                .graph(Method::GET, &format!("/groups/{gid}/owners"), None)
                .body)
            .contains(&carol)
        );
        assert_eq!(
            add("00000000-0000-0000-0000-000000000000", json!([])).status,
            404
        );

        // Group → team.
        let a = t.graph(
            Method::POST,
            &format!("/groups/{gid}/members/$ref"),
            Some(json!({"@odata.id": format!("https://graph.microsoft.com/v1.0/directoryObjects/{dave}")})),
        );
        assert_eq!(a.status, 204, "{}", a.body);
        let team_members = t.graph(Method::GET, &format!("/teams/{gid}/members"), None);
        let users: Vec<&str> = team_members.body["value"]
            .as_array()
            .unwrap()
            .iter()
            .map(|m| m["userId"].as_str().unwrap())
            .collect();
        assert_eq!(users, vec![owner.as_str(), carol.as_str(), dave.as_str()]);
        let a = t.graph(
            Method::POST,
            &format!("/groups/{gid}/members/$ref"),
            Some(json!({"@odata.id": format!("https://graph.microsoft.com/v1.0/directoryObjects/{dave}")})),
        );
        assert_eq!(a.status, 400);
        assert_eq!(
            a.message(),
            "One or more added object references already exist for the following modified properties: 'members'."
        );

        // Removing from the group removes from the team, and the other way round.
        assert_eq!(
            t.graph(
                Method::DELETE,
                &format!("/groups/{gid}/members/{dave}/$ref"),
                None
            )
            .status,
            204
        );
        assert_eq!(
            t.graph(
                Method::DELETE,
                &format!("/groups/{gid}/members/{dave}/$ref"),
                None
            )
            .status,
            404
        );
        let team_members = t.graph(Method::GET, &format!("/teams/{gid}/members"), None);
        assert_eq!(team_members.body["value"].as_array().unwrap().len(), 2);
        assert_eq!(
            t.graph(Method::DELETE, &format!("/teams/{gid}/members/{mid}"), None)
                .status,
            204
        );
        let owners = t.graph(Method::GET, &format!("/groups/{gid}/owners"), None);
        assert_eq!(ids(&owners.body), vec![owner.clone()]);
        assert!(
            !ids(&t
                .graph(Method::GET, &format!("/groups/{gid}/members"), None)
                .body)
            .contains(&carol)
        );
    }
}
