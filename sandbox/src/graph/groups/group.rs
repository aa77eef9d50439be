//! A group itself: create (with `owners@odata.bind` and `members@odata.bind`, at most 20 in
//! one request), read (`$select`), list (`$filter`, `$select`, `$top` paging), update and
//! delete (a Microsoft 365 group goes to `directory/deletedItems`, with its team), in the
//! directory's words when a property is missing, read-only or of the wrong kind.

use http::StatusCode;
use serde_json::{Map, Value, json};

use super::filter::GroupFilter;
use crate::app::App;
use crate::graph::odata::{json_object, parse_select, project, select_suffix};
use crate::tenant::groups::{invalid_value, valid_nickname};
use crate::tenant::{Group, Tenant};
use crate::web::paging::page;
use crate::web::path::bound_key;
use crate::web::query::Query;
use crate::web::time::rfc3339;
use crate::web::{Ctx, GraphError, GraphResult, Reply};

/// Graph's limit on directory references added in one create or update request.
const MAX_BINDS: usize = 20;

/// Entra's `S-1-12-1-…` security identifier of an object id.
fn security_identifier(id: &str) -> Value {
    match uuid::Uuid::parse_str(id) {
        Ok(u) => {
            let b = u.to_bytes_le();
            let parts: Vec<String> = b
                .chunks(4)
                .map(|c| u32::from_le_bytes([c[0], c[1], c[2], c[3]]).to_string())
                .collect();
            json!(format!("S-1-12-1-{}", parts.join("-")))
        }
        Err(_) => Value::Null,
    }
}

/// Every property the sandbox returns for a group (Graph's default set in v1.0).
const PROPERTIES: &[&str] = &[
    "id",
    "deletedDateTime",
    "classification",
    "createdDateTime",
    "creationOptions",
    "description",
    "displayName",
    "expirationDateTime",
    "groupTypes",
    "isAssignableToRole",
    "mail",
    "mailEnabled",
    "mailNickname",
    "membershipRule",
    "membershipRuleProcessingState",
    "onPremisesDomainName",
    "onPremisesLastSyncDateTime",
    "onPremisesNetBiosName",
    "onPremisesSamAccountName",
    "onPremisesSecurityIdentifier",
    "onPremisesSyncEnabled",
    "preferredDataLocation",
    "preferredLanguage",
    "proxyAddresses",
    "renewedDateTime",
    "resourceBehaviorOptions",
    "resourceProvisioningOptions",
    "securityEnabled",
    "securityIdentifier",
    "theme",
    "visibility",
    "onPremisesProvisioningErrors",
    "serviceProvisioningErrors",
];

/// The group as Graph represents it.
pub(super) fn full_json(g: &Group) -> Map<String, Value> {
    let mut out = Map::new();
    for name in PROPERTIES {
        let value = match *name {
            "id" => json!(g.id),
            "deletedDateTime" => g
                .deleted_date_time
                .map_or(Value::Null, |d| json!(rfc3339(d))),
            "createdDateTime" | "renewedDateTime" => json!(rfc3339(g.created_date_time)),
            "creationOptions" => {
                if g.team.is_some() {
                    json!(["Team"])
                } else {
                    json!([])
                }
            }
            "groupTypes" | "resourceBehaviorOptions" => {
                g.props.get(*name).cloned().unwrap_or(json!([]))
            }
            "proxyAddresses" => match g.prop_str("mail") {
                Some(m) => json!([format!("SMTP:{m}")]),
                None => json!([]),
            },
            "resourceProvisioningOptions" => {
                if g.has_team() {
                    json!(["Team"])
                } else {
                    json!([])
                }
            }
            "securityIdentifier" => security_identifier(&g.id),
            "onPremisesProvisioningErrors" | "serviceProvisioningErrors" => json!([]),
            other => g.props.get(other).cloned().unwrap_or(Value::Null),
        };
        out.insert((*name).to_string(), value);
    }
    out
}

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Kind {
    Str(usize),
    Bool,
    Nickname,
    GroupTypes,
    Visibility,
    StrList,
}

const WRITABLE: &[(&str, Kind)] = &[
    ("classification", Kind::Str(256)),
    ("description", Kind::Str(1024)),
    ("displayName", Kind::Str(256)),
    ("groupTypes", Kind::GroupTypes),
    ("mailEnabled", Kind::Bool),
    ("mailNickname", Kind::Nickname),
    ("preferredLanguage", Kind::Str(16)),
    ("resourceBehaviorOptions", Kind::StrList),
    ("securityEnabled", Kind::Bool),
    ("theme", Kind::Str(32)),
    ("visibility", Kind::Visibility),
];

/// Properties that can only be set when the group is created.
const CREATE_ONLY: &[&str] = &[
    "groupTypes",
    "mailEnabled",
    "securityEnabled",
    "resourceBehaviorOptions",
];

const REQUIRED_ON_CREATE: &[&str] = &[
    "displayName",
    "mailEnabled",
    "mailNickname",
    "securityEnabled",
];

fn validate_value(name: &str, kind: Kind, v: &Value) -> Result<Value, GraphError> {
    let bad = || invalid_value(name);
    if v.is_null() {
        return match kind {
            Kind::Str(_) if name != "displayName" => Ok(Value::Null),
            _ => Err(bad()),
        };
    }
    match kind {
        Kind::Bool => v.as_bool().map(Value::Bool).ok_or_else(bad),
        Kind::Str(max) => match v.as_str() {
            Some(s)
                if s.chars().count() <= max && !(name == "displayName" && s.trim().is_empty()) =>
            {
                Ok(json!(s))
            }
            _ => Err(bad()),
        },
        Kind::StrList => match v.as_array() {
            Some(items) if items.iter().all(Value::is_string) => Ok(v.clone()),
            _ => Err(bad()),
        },
        Kind::Nickname => match v.as_str() {
            Some(s) if valid_nickname(s) => Ok(json!(s)),
            _ => Err(bad()),
        },
        Kind::Visibility => match v.as_str() {
            Some(s) => ["Private", "Public", "HiddenMembership"]
                .iter()
                .find(|c| c.eq_ignore_ascii_case(s))
                .map(|c| json!(c))
                .ok_or_else(bad),
            None => Err(bad()),
        },
        Kind::GroupTypes => {
            let items = v.as_array().ok_or_else(bad)?;
            let mut out = Vec::new();
            for item in items {
                match item.as_str() {
                    Some(s) if s.eq_ignore_ascii_case("Unified") => out.push(json!("Unified")),
                    Some(s) if s.eq_ignore_ascii_case("DynamicMembership") => {
                        return Err(GraphError::bad_request(
                            "Dynamic membership groups are not supported by the sandbox tenant.",
                        ));
                    }
                    _ => return Err(bad()),
                }
            }
            out.dedup();
            Ok(Value::Array(out))
        }
    }
}

/// A validated create or update body: properties plus the user ids to bind.
#[derive(Debug, Default)]
struct GroupInput {
    props: Map<String, Value>,
    owners: Vec<String>,
    members: Vec<String>,
}

fn bind_list(value: &Value, nav: &str) -> Result<Vec<String>, GraphError> {
    let bad = || {
        GraphError::bad_request(format!(
            "Invalid URL format specified in @odata.bind for {nav}"
        ))
    };
    let items = value.as_array().ok_or_else(bad)?;
    items
        .iter()
        .map(|v| {
            v.as_str()
                .and_then(|u| bound_key(u, &["users", "directoryObjects"]))
                .ok_or_else(bad)
        })
        .collect()
}

fn validate_input(body: &Map<String, Value>, creating: bool) -> Result<GroupInput, GraphError> {
    let mut input = GroupInput::default();
    for (key, value) in body {
        if key.eq_ignore_ascii_case("owners@odata.bind") {
            input.owners = bind_list(value, "owners")?;
            continue;
        }
        if key.eq_ignore_ascii_case("members@odata.bind") {
            input.members = bind_list(value, "members")?;
            continue;
        }
        if key.starts_with('@') || key.contains("@odata") {
            continue;
        }
        let Some((name, kind)) = WRITABLE.iter().find(|(n, _)| n.eq_ignore_ascii_case(key)) else {
            if let Some(p) = PROPERTIES.iter().find(|p| p.eq_ignore_ascii_case(key)) {
                return Err(GraphError::bad_request(format!(
                    "Property '{p}' is read-only and cannot be set."
                )));
            }
            return Err(GraphError::bad_request(format!(
                "Invalid property '{key}'."
            )));
        };
        if !creating && CREATE_ONLY.contains(name) {
            return Err(GraphError::bad_request(format!(
                "Property '{name}' can only be set when the group is created."
            )));
        }
        input
            .props
            .insert((*name).to_string(), validate_value(name, *kind, value)?);
    }
    if creating {
        for required in REQUIRED_ON_CREATE {
            if input.props.get(*required).is_none_or(Value::is_null) {
                return Err(invalid_value(required));
            }
        }
    } else if input.props.get("visibility").and_then(Value::as_str) == Some("HiddenMembership") {
        return Err(invalid_value("visibility"));
    }
    let binds = input.owners.len() + input.members.len();
    if binds > MAX_BINDS {
        return Err(GraphError::bad_request(format!(
            "A maximum of {MAX_BINDS} owners and members can be bound in one request ({binds} given). Add the others with POST /groups/{{id}}/members/$ref or JSON batching."
        )));
    }
    Ok(input)
}

fn context(app: &App, select: Option<&[String]>, entity: bool) -> String {
    let suffix = if entity { "/$entity" } else { "" };
    format!(
        "{}$metadata#groups{}{suffix}",
        app.graph_root(),
        select_suffix(select)
    )
}

fn entity(app: &App, g: &Group, select: Option<&[String]>) -> Value {
    let mut body = Map::new();
    body.insert("@odata.context".into(), json!(context(app, select, true)));
    body.extend(project(full_json(g), select));
    Value::Object(body)
}

pub(crate) fn create(app: &App, ctx: &Ctx, body: &[u8]) -> GraphResult {
    let input = validate_input(&json_object(body)?, true)?;
    app.store.mutate(|t| {
        let owners = t.resolve_users(&input.owners)?;
        let members = t.resolve_users(&input.members)?;
        let i = t.insert_group(ctx.now, input.props, owners, members)?;
        Ok(Reply::json(
            StatusCode::CREATED,
            entity(app, &t.groups[i], None),
        ))
    })
}

pub(crate) fn get(app: &App, id: &str, q: &Query) -> GraphResult {
    q.only(&["select"])?;
    let select = parse_select(q, PROPERTIES, "microsoft.graph.group")?;
    app.store.read(|t| {
        let g = &t.groups[t.group_index(id)?];
        Ok(Reply::ok(entity(app, g, select.as_deref())))
    })
}

pub(super) fn list_of(
    app: &App,
    q: &Query,
    path: &str,
    context: String,
    groups: impl Fn(&Tenant) -> Vec<Group>,
    typed: bool,
) -> GraphResult {
    q.only(&["select", "filter", "top", "skiptoken"])?;
    let select = parse_select(q, PROPERTIES, "microsoft.graph.group")?;
    let filter = GroupFilter::parse(q)?;
    let items: Vec<Value> = app.store.read(|t| {
        groups(t)
            .iter()
            .map(full_json)
            .filter(|full| filter.matches(full))
            .map(|full| {
                let mut obj = Map::new();
                if typed {
                    obj.insert("@odata.type".into(), json!("#microsoft.graph.group"));
                }
                obj.extend(project(full, select.as_deref()));
                Value::Object(obj)
            })
            .collect()
    });
    let context = format!("{context}{}", select_suffix(select.as_deref()));
    page(&app.graph_root(), q, path, context, items)
}

pub(crate) fn list(app: &App, q: &Query) -> GraphResult {
    let ctx = format!("{}$metadata#groups", app.graph_root());
    list_of(app, q, "groups", ctx, |t| t.groups.clone(), false)
}

pub(crate) fn update(app: &App, id: &str, body: &[u8]) -> GraphResult {
    let input = validate_input(&json_object(body)?, false)?;
    app.store.mutate(|t| {
        let i = t.group_index(id)?;
        let gid = t.groups[i].id.clone();
        if let Some(nick) = input.props.get("mailNickname").and_then(Value::as_str)
            && t.groups[i].is_unified()
        {
            t.check_nickname(nick, Some(&gid))?;
        }
        let owners = t.resolve_users(&input.owners)?;
        let members = t.resolve_users(&input.members)?;
        let g = &mut t.groups[i];
        if input.props.contains_key("visibility") && !g.is_unified() {
            return Err(invalid_value("visibility"));
        }
        g.add_refs(owners, true)?;
        g.add_refs(members, false)?;
        for (k, v) in input.props {
            if v.is_null() {
                g.props.remove(&k);
            } else {
                g.props.insert(k, v);
            }
        }
        Ok(Reply::no_content())
    })
}

pub(crate) fn delete(app: &App, ctx: &Ctx, id: &str) -> GraphResult {
    app.store.mutate(|t| {
        let i = t.group_index(id)?;
        t.delete_group(i, ctx.now);
        Ok(Reply::no_content())
    })
}

#[cfg(test)]
mod tests {
    use http::Method;
    use serde_json::{Value, json};

    use crate::testkit::{group_body, ids, tenant, user_url};

    #[test]
    fn create_group_with_binds_and_validation() {
        let t = tenant();
        let alice = t.user("alice");
        let bob = t.user("bob");
        let a = t.graph(
            Method::POST,
            "/groups",
            Some(group_body("project", &[&alice], &[&alice, &bob])),
        );
        assert_eq!(a.status, 201, "{}", a.body);
        assert_eq!(a.body["mail"], "project@libertygoldsilver.com");
        assert_eq!(a.body["groupTypes"], json!(["Unified"]));
        assert_eq!(a.body["resourceProvisioningOptions"], json!([]));
        assert_eq!(a.body["visibility"], "Private");
        assert!(a.body["createdDateTime"].as_str().unwrap().ends_with('Z'));
        assert!(
            a.body["@odata.context"]
                .as_str()
                .unwrap()
                .ends_with("$metadata#groups/$entity")
        );
        let gid = a.body["id"].as_str().unwrap();

        let owners = t.graph(Method::GET, &format!("/groups/{gid}/owners"), None);
        assert_eq!(ids(&owners.body), vec![alice.clone()]);
        assert_eq!(
            owners.body["value"][0]["@odata.type"],
            "#microsoft.graph.user"
        );
        let members = t.graph(
            Method::GET,
            &format!("/groups/{gid}/members?$select=id,displayName"),
            None,
        );
        assert_eq!(ids(&members.body), vec![alice.clone(), bob.clone()]);
        assert_eq!(members.body["value"][1]["displayName"], "bob");

        // PATCH binds more members (up to 20), refusing ones already there.
        let carol = t.user("carol");
        let a = t.graph(
            Method::PATCH,
            &format!("/groups/{gid}"),
            Some(json!({"members@odata.bind": [user_url(&carol)], "description": "Changed"})),
        );
        assert_eq!(a.status, 204, "{}", a.body);
        let members = t.graph(Method::GET, &format!("/groups/{gid}/members"), None);
        assert_eq!(
            ids(&members.body),
            vec![alice.clone(), bob.clone(), carol.clone()]
        );
        let a = t.graph(
            Method::PATCH,
            &format!("/groups/{gid}"),
            Some(json!({"members@odata.bind": [user_url(&carol)]})),
        );
        assert_eq!(a.status, 400);
        let a = t.graph(
            Method::PATCH,
            &format!("/groups/{gid}"),
            Some(json!({"groupTypes": []})),
        );
        assert_eq!(a.status, 400);
        assert_eq!(
            t.graph(Method::GET, &format!("/groups/{gid}"), None).body["description"],
            "Changed"
        );

        // A user bound by the ('…') key form, and one that does not exist.
        let mut body = group_body("other", &[], &[]);
        body["owners@odata.bind"] = json!([
            format!("https://graph.microsoft.com/v1.0/users('{bob}')"),
            user_url("00000000-0000-0000-0000-00000000dead"),
        ]);
        let a = t.graph(Method::POST, "/groups", Some(body));
        assert_eq!(a.status, 404);
        assert_eq!(a.code(), "Request_ResourceNotFound");
        assert!(a.message().contains("00000000-0000-0000-0000-00000000dead"));

        // At most 20 references per request.
        let many: Vec<String> = (0..21).map(|_| alice.clone()).collect();
        let mut body = group_body("many", &[], &[]);
        body["members@odata.bind"] = json!(many.iter().map(|m| user_url(m)).collect::<Vec<_>>());
        let a = t.graph(Method::POST, "/groups", Some(body));
        assert_eq!((a.status, a.code()), (400, "Request_BadRequest"));

        // Required properties, alias rules, and what Graph can't create.
        let cases = [
            (
                json!({"displayName": "x", "mailEnabled": true, "securityEnabled": false, "groupTypes": ["Unified"]}),
                "Invalid value specified for property 'mailNickname' of resource 'Group'.",
            ),
            (
                json!({"displayName": "x", "mailNickname": "a.b", "mailEnabled": true, "securityEnabled": false, "groupTypes": ["Unified"]}),
                "Invalid value specified for property 'mailNickname' of resource 'Group'.",
            ),
            (
                json!({"displayName": "x", "mailNickname": "dl", "mailEnabled": true, "securityEnabled": false, "groupTypes": []}),
                "The service does not currently support writes of mail-enabled groups. Please ensure that the mail-enablement property is unset or is set to false.",
            ),
            (
                json!({"displayName": "x", "mailNickname": "x", "mailEnabled": true, "securityEnabled": false, "groupTypes": ["Unified"], "favourite": 1}),
                "Invalid property 'favourite'.",
            ),
        ];
        for (body, message) in cases {
            let a = t.graph(Method::POST, "/groups", Some(body));
            assert_eq!((a.status, a.message()), (400, message));
        }

        // A security group has no mail address.
        let a = t.graph(
            Method::POST,
            "/groups",
            Some(json!({"displayName": "Sec", "mailNickname": "sec", "mailEnabled": false, "securityEnabled": true})),
        );
        assert_eq!(a.status, 201, "{}", a.body);
        assert_eq!(a.body["mail"], Value::Null);
        assert_eq!(a.body["groupTypes"], json!([]));
    }

    #[test]
    fn duplicate_nickname_is_refused_even_while_deleted() {
        let t = tenant();
        let gid = t.group("finance", &[], &[]);
        let a = t.graph(
            Method::POST,
            "/groups",
            Some(group_body("FINANCE", &[], &[])),
        );
        assert_eq!(a.status, 400);
        assert_eq!(a.code(), "Request_BadRequest");
        assert_eq!(
            a.message(),
            "Another object with the same value for property mailNickname already exists."
        );
        // The alias stays reserved while the group is in the recycle bin.
        assert_eq!(
            t.graph(Method::DELETE, &format!("/groups/{gid}"), None)
                .status,
            204
        );
        let a = t.graph(
            Method::POST,
            "/groups",
            Some(group_body("finance", &[], &[])),
        );
        assert_eq!(a.status, 400);
        // A user's address is taken too.
        let a = t.graph(Method::POST, "/groups", Some(group_body("admin", &[], &[])));
        assert_eq!(
            a.message(),
            "Another object with the same value for property proxyAddresses already exists."
        );
    }

    #[test]
    fn list_groups_with_filters_select_and_paging() {
        let t = tenant();
        for n in ["alpha", "alpine", "beta"] {
            t.group(n, &[], &[]);
        }
        let a = t.graph(
            Method::GET,
            "/groups?$filter=startswith(displayName,'Group al')&$select=id,displayName",
            None,
        );
        assert_eq!(a.status, 200, "{}", a.body);
        assert_eq!(a.body["value"].as_array().unwrap().len(), 2);
        assert!(a.body["value"][0].get("mail").is_none());
        let a = t.graph(Method::GET, "/groups?$filter=mailNickname eq 'beta'", None);
        assert_eq!(a.body["value"][0]["mailNickname"], "beta");
        let a = t.graph(Method::GET, "/groups?$top=2", None);
        let next = a.body["@odata.nextLink"].as_str().unwrap();
        assert!(next.contains("/v1.0/groups?$top=2&$skiptoken="), "{next}");
        let rest = next.split_once("/v1.0").unwrap().1;
        let b = t.graph(Method::GET, rest, None);
        assert_eq!(b.body["value"].as_array().unwrap().len(), 1);
        assert!(b.body.get("@odata.nextLink").is_none());
        let a = t.graph(
            Method::GET,
            "/groups?$filter=groupTypes/any(c:c eq 'Unified') and displayName eq 'Group beta'",
            None,
        );
        assert_eq!(a.body["value"].as_array().unwrap().len(), 1);
        let a = t.graph(Method::GET, "/groups?$filter=jobTitle eq 'x'", None);
        assert_eq!((a.status, a.code()), (400, "Request_UnsupportedQuery"));
        let a = t.graph(Method::GET, "/groups?$select=nope", None);
        assert_eq!(a.status, 400);
    }
}
