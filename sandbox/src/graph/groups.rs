//! `groups`: Microsoft 365 (unified) and security groups — create (with `owners@odata.bind` and
//! `members@odata.bind`), read, list (`$filter` incl. `resourceProvisioningOptions/any(...)`,
//! `$select`, `$top` paging), update, soft delete into `directory/deletedItems` (list, get,
//! restore, permanent delete), `members` and `owners` with `$ref`, and the group-level
//! `Group.Unified.Guest` setting. A group's team lives on the group record (see `teams.rs`), so
//! it disappears and comes back with it.

use http::StatusCode;
use serde_json::{Map, Value, json};
use time::OffsetDateTime;

use super::odata::{json_object, not_found_segment, parse_select, project, select_suffix};
use super::users;
use crate::app::App;
use crate::tenant::groups::{
    GUEST_TEMPLATE_ID, GUEST_TEMPLATE_NAME, GroupSetting, SettingValue, invalid_value,
    valid_nickname,
};
use crate::tenant::{Group, Tenant, User};
use crate::web::paging::page;
use crate::web::path::bound_key;
use crate::web::query::{Query, matches, parse_filter};
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
pub(crate) fn full_json(g: &Group) -> Map<String, Value> {
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

// ---------------------------------------------------------------------------------------------
// $filter, with the `collection/any(x:x eq 'v')` lambda on top of query.rs.

const FILTER_EQ: &[&str] = &[
    "id",
    "displayName",
    "mailNickname",
    "mail",
    "description",
    "visibility",
    "mailEnabled",
    "securityEnabled",
    "__any0",
    "__any1",
    "__any2",
    "__any3",
];
const FILTER_STARTSWITH: &[&str] = &["displayName", "mailNickname", "mail"];
const LAMBDA_PROPS: &[&str] = &[
    "resourceProvisioningOptions",
    "groupTypes",
    "proxyAddresses",
];

/// A parsed group `$filter`: plain clauses plus `any` lambdas, each of which stands in the plain
/// clauses as `__anyN eq true`.
#[derive(Debug, Default)]
pub(super) struct GroupFilter {
    clauses: Vec<crate::web::query::Clause>,
    lambdas: Vec<(String, String)>,
}

impl GroupFilter {
    pub fn parse(q: &Query) -> Result<GroupFilter, GraphError> {
        let Some(raw) = q.get("filter") else {
            return Ok(GroupFilter::default());
        };
        let (rest, lambdas) = extract_lambdas(raw)?;
        if lambdas.len() > 4 {
            return Err(GraphError::new(
                StatusCode::BAD_REQUEST,
                "Request_UnsupportedQuery",
                "The sandbox tenant supports at most 4 'any' clauses in one filter.",
            ));
        }
        Ok(GroupFilter {
            clauses: parse_filter(&rest, "Group", FILTER_EQ, FILTER_STARTSWITH)?,
            lambdas,
        })
    }

    pub fn matches(&self, full: &Map<String, Value>) -> bool {
        let mut object = full.clone();
        for (i, (prop, value)) in self.lambdas.iter().enumerate() {
            let hit = full
                .get(prop)
                .and_then(Value::as_array)
                .is_some_and(|items| {
                    items.iter().any(|v| {
                        v.as_str()
                            .is_some_and(|s| s.to_lowercase() == value.to_lowercase())
                    })
                });
            object.insert(format!("__any{i}"), json!(hit));
        }
        matches(&self.clauses, &Value::Object(object))
    }
}

fn unsupported_filter(prop: &str) -> GraphError {
    GraphError::new(
        StatusCode::BAD_REQUEST,
        "Request_UnsupportedQuery",
        format!(
            "Unsupported or invalid query filter clause specified for property '{prop}' of resource 'Group'."
        ),
    )
}

fn invalid_filter(detail: &str) -> GraphError {
    GraphError::odata(format!("Invalid filter clause: {detail}"))
}

/// Replaces each `prop/any(x:x eq 'v')` (outside string literals) with `__anyN eq true`.
fn extract_lambdas(s: &str) -> Result<(String, Vec<(String, String)>), GraphError> {
    let lower = s.to_ascii_lowercase();
    let bytes = s.as_bytes();
    let mut out = String::new();
    let mut lambdas = Vec::new();
    let mut copied = 0;
    let mut in_quote = false;
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'\'' {
            in_quote = !in_quote;
            i += 1;
            continue;
        }
        if !in_quote && lower[i..].starts_with("/any(") {
            let prop_start = s[..i]
                .rfind(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
                .map_or(0, |p| p + 1);
            let prop = &s[prop_start..i];
            let canonical = LAMBDA_PROPS
                .iter()
                .find(|p| p.eq_ignore_ascii_case(prop))
                .ok_or_else(|| unsupported_filter(prop))?;
            let open = i + 4;
            let close = closing_paren(bytes, open)
                .ok_or_else(|| invalid_filter("unbalanced parentheses."))?;
            let value = lambda_value(&s[open + 1..close])?;
            out.push_str(&s[copied..prop_start]);
            out.push_str(&format!("__any{} eq true", lambdas.len()));
            lambdas.push(((*canonical).to_string(), value));
            copied = close + 1;
            i = close + 1;
            continue;
        }
        i += 1;
    }
    out.push_str(&s[copied..]);
    Ok((out, lambdas))
}

fn closing_paren(bytes: &[u8], open: usize) -> Option<usize> {
    let mut depth = 0usize;
    let mut in_quote = false;
    for (i, b) in bytes.iter().enumerate().skip(open) {
        match b {
            b'\'' => in_quote = !in_quote,
            b'(' if !in_quote => depth += 1,
            b')' if !in_quote => {
                depth -= 1;
                if depth == 0 {
                    return Some(i);
                }
            }
            _ => {}
        }
    }
    None
}

/// `x: x eq 'Team'` → `Team`.
fn lambda_value(inner: &str) -> Result<String, GraphError> {
    let bad = || invalid_filter("the lambda expression must be of the form 'x:x eq 'value''.");
    let (var, expr) = inner.split_once(':').ok_or_else(bad)?;
    let var = var.trim();
    if var.is_empty() || !var.chars().all(|c| c.is_ascii_alphanumeric() || c == '_') {
        return Err(bad());
    }
    let expr = expr.trim();
    let rest = expr
        .get(..var.len())
        .filter(|v| v.eq_ignore_ascii_case(var))
        .map(|_| expr[var.len()..].trim_start())
        .ok_or_else(bad)?;
    let rest = rest
        .get(..2)
        .filter(|op| op.eq_ignore_ascii_case("eq"))
        .map(|_| rest[2..].trim())
        .ok_or_else(|| {
            GraphError::new(
                StatusCode::BAD_REQUEST,
                "Request_UnsupportedQuery",
                "Only 'eq' is supported inside an 'any' lambda.",
            )
        })?;
    let lit = rest
        .strip_prefix('\'')
        .and_then(|r| r.strip_suffix('\''))
        .ok_or_else(bad)?;
    if lit.replace("''", "").contains('\'') {
        return Err(bad());
    }
    Ok(lit.replace("''", "'"))
}

// ---------------------------------------------------------------------------------------------
// Validation.

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

// ---------------------------------------------------------------------------------------------
// Handlers.

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

pub(super) fn create(app: &App, ctx: &Ctx, body: &[u8]) -> GraphResult {
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

pub(super) fn get(app: &App, id: &str, q: &Query) -> GraphResult {
    q.only(&["select"])?;
    let select = parse_select(q, PROPERTIES, "microsoft.graph.group")?;
    app.store.read(|t| {
        let g = &t.groups[t.group_index(id)?];
        Ok(Reply::ok(entity(app, g, select.as_deref())))
    })
}

fn list_of(
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

pub(super) fn list(app: &App, q: &Query) -> GraphResult {
    let ctx = format!("{}$metadata#groups", app.graph_root());
    list_of(app, q, "groups", ctx, |t| t.groups.clone(), false)
}

pub(super) fn update(app: &App, id: &str, body: &[u8]) -> GraphResult {
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

pub(super) fn delete(app: &App, ctx: &Ctx, id: &str) -> GraphResult {
    app.store.mutate(|t| {
        let i = t.group_index(id)?;
        t.delete_group(i, ctx.now);
        Ok(Reply::no_content())
    })
}

/// The default properties of a user, as a `directoryObject` in a members or owners list.
const USER_DEFAULT: &[&str] = &[
    "businessPhones",
    "displayName",
    "givenName",
    "id",
    "jobTitle",
    "mail",
    "mobilePhone",
    "officeLocation",
    "preferredLanguage",
    "surname",
    "userPrincipalName",
];

fn user_properties(t: &Tenant) -> Vec<String> {
    let probe = User {
        id: String::new(),
        created_date_time: OffsetDateTime::UNIX_EPOCH,
        props: Map::new(),
        assigned_licenses: Vec::new(),
        mailbox: None,
    };
    users::full_json(t, &probe).keys().cloned().collect()
}

pub(super) fn list_refs(app: &App, q: &Query, id: &str, owners: bool) -> GraphResult {
    q.only(&["select", "top", "skiptoken"])?;
    let (gid, items, select) = app.store.read(|t| {
        let props = user_properties(t);
        let props: Vec<&str> = props.iter().map(String::as_str).collect();
        let select = parse_select(q, &props, "microsoft.graph.user")?;
        let fields: Vec<String> = select
            .clone()
            .unwrap_or_else(|| USER_DEFAULT.iter().map(|s| (*s).to_string()).collect());
        let g = &t.groups[t.group_index(id)?];
        let ids = if owners { &g.owners } else { &g.members };
        let items: Vec<Value> = ids
            .iter()
            .filter_map(|uid| t.find_user(uid).map(|i| &t.users[i]))
            .map(|u| {
                let mut obj = Map::new();
                obj.insert("@odata.type".into(), json!("#microsoft.graph.user"));
                obj.extend(project(users::full_json(t, u), Some(&fields)));
                Value::Object(obj)
            })
            .collect();
        Ok::<_, GraphError>((g.id.clone(), items, select))
    })?;
    let nav = if owners { "owners" } else { "members" };
    let context = format!(
        "{}$metadata#directoryObjects{}",
        app.graph_root(),
        select_suffix(select.as_deref())
    );
    page(
        &app.graph_root(),
        q,
        &format!("groups/{gid}/{nav}"),
        context,
        items,
    )
}

pub(super) fn add_ref(app: &App, id: &str, owners: bool, body: &[u8]) -> GraphResult {
    let body = json_object(body)?;
    let nav = if owners { "owners" } else { "members" };
    let url = body
        .iter()
        .find(|(k, _)| k.eq_ignore_ascii_case("@odata.id"))
        .and_then(|(_, v)| v.as_str())
        .ok_or_else(|| {
            GraphError::bad_request(format!(
                "The request body must contain an '@odata.id' reference for {nav}."
            ))
        })?;
    let key = bound_key(url, &["directoryObjects", "users"]).ok_or_else(|| {
        GraphError::bad_request(format!(
            "Invalid URL format specified in @odata.id for {nav}"
        ))
    })?;
    app.store.mutate(|t| {
        let i = t.group_index(id)?;
        let uid = t.resolve_user(&key)?;
        t.groups[i].add_refs(vec![uid], owners)?;
        Ok(Reply::no_content())
    })
}

pub(super) fn remove_ref(app: &App, id: &str, user: &str, owners: bool) -> GraphResult {
    app.store.mutate(|t| {
        let i = t.group_index(id)?;
        let uid = t
            .find_user(user)
            .map_or_else(|| user.to_string(), |u| t.users[u].id.clone());
        let g = &mut t.groups[i];
        let list = if owners {
            &mut g.owners
        } else {
            &mut g.members
        };
        let before = list.len();
        list.retain(|m| !m.eq_ignore_ascii_case(&uid));
        if list.len() == before {
            return Err(GraphError::not_found(user));
        }
        Ok(Reply::no_content())
    })
}

// ---------------------------------------------------------------------------------------------
// Group settings (`Group.Unified.Guest`).

fn setting_json(app: &App, s: &GroupSetting, entity: bool) -> Value {
    let mut obj = Map::new();
    if entity {
        obj.insert(
            "@odata.context".into(),
            json!(format!(
                "{}$metadata#groupSettings/$entity",
                app.graph_root()
            )),
        );
    }
    obj.insert("id".into(), json!(s.id));
    obj.insert("displayName".into(), json!(GUEST_TEMPLATE_NAME));
    obj.insert("templateId".into(), json!(s.template_id));
    obj.insert(
        "values".into(),
        json!(
            s.values
                .iter()
                .map(|v| json!({"name": v.name, "value": v.value}))
                .collect::<Vec<_>>()
        ),
    );
    Value::Object(obj)
}

fn invalid_setting(property: &str) -> GraphError {
    GraphError::bad_request(format!(
        "Invalid value specified for property '{property}' of resource 'GroupSetting'."
    ))
}

/// Validates `values` against the `Group.Unified.Guest` template (`AllowToAddGuests`, a
/// `"true"`/`"false"` string) and merges them over `current`.
fn merge_values(current: &[SettingValue], v: &Value) -> Result<Vec<SettingValue>, GraphError> {
    let items = v.as_array().ok_or_else(|| invalid_setting("values"))?;
    let mut out = current.to_vec();
    for item in items {
        let name = item["name"]
            .as_str()
            .ok_or_else(|| invalid_setting("values"))?;
        if !name.eq_ignore_ascii_case("AllowToAddGuests") {
            return Err(invalid_setting("values"));
        }
        let value = match item["value"].as_str() {
            Some(s) if s.eq_ignore_ascii_case("true") => "true",
            Some(s) if s.eq_ignore_ascii_case("false") => "false",
            _ => return Err(invalid_setting("values")),
        };
        match out.iter_mut().find(|s| s.name == "AllowToAddGuests") {
            Some(s) => s.value = value.to_string(),
            None => out.push(SettingValue {
                name: "AllowToAddGuests".into(),
                value: value.to_string(),
            }),
        }
    }
    Ok(out)
}

pub(super) fn create_setting(app: &App, id: &str, body: &[u8]) -> GraphResult {
    let body = json_object(body)?;
    for key in body.keys() {
        if !(key.starts_with('@')
            || ["templateId", "values", "displayName"]
                .iter()
                .any(|k| k.eq_ignore_ascii_case(key)))
        {
            return Err(GraphError::bad_request(format!(
                "Invalid property '{key}'."
            )));
        }
    }
    let template = body
        .get("templateId")
        .and_then(Value::as_str)
        .filter(|t| t.eq_ignore_ascii_case(GUEST_TEMPLATE_ID))
        .ok_or_else(|| invalid_setting("templateId"))?;
    let defaults = vec![SettingValue {
        name: "AllowToAddGuests".into(),
        value: "true".into(),
    }];
    let values = merge_values(&defaults, body.get("values").unwrap_or(&json!([])))?;
    app.store.mutate(|t| {
        let i = t.group_index(id)?;
        let g = &mut t.groups[i];
        if !g.is_unified() {
            return Err(GraphError::bad_request(
                "Group settings apply only to Microsoft 365 groups.",
            ));
        }
        if g
            .settings
            .iter()
            .any(|s| s.template_id.eq_ignore_ascii_case(template))
        {
            return Err(GraphError::bad_request(
                "A conflicting object with one or more of the specified property values is present in the directory.",
            ));
        }
        let setting = GroupSetting {
            id: uuid::Uuid::new_v4().to_string(),
            template_id: GUEST_TEMPLATE_ID.into(),
            values,
        };
        let reply = Reply::json(StatusCode::CREATED, setting_json(app, &setting, true));
        g.settings.push(setting);
        Ok(reply)
    })
}

pub(super) fn list_settings(app: &App, id: &str) -> GraphResult {
    app.store.read(|t| {
        let g = &t.groups[t.group_index(id)?];
        Ok(Reply::ok(json!({
            "@odata.context": format!("{}$metadata#groups('{}')/settings", app.graph_root(), g.id),
            "value": g.settings.iter().map(|s| setting_json(app, s, false)).collect::<Vec<_>>(),
        })))
    })
}

fn setting_index(g: &Group, sid: &str) -> Result<usize, GraphError> {
    g.settings
        .iter()
        .position(|s| s.id.eq_ignore_ascii_case(sid))
        .ok_or_else(|| GraphError::not_found(sid))
}

pub(super) fn get_setting(app: &App, id: &str, sid: &str) -> GraphResult {
    app.store.read(|t| {
        let g = &t.groups[t.group_index(id)?];
        let s = &g.settings[setting_index(g, sid)?];
        Ok(Reply::ok(setting_json(app, s, true)))
    })
}

pub(super) fn patch_setting(app: &App, id: &str, sid: &str, body: &[u8]) -> GraphResult {
    let body = json_object(body)?;
    for key in body.keys() {
        if key.eq_ignore_ascii_case("templateId") {
            return Err(GraphError::bad_request(
                "Property 'templateId' is read-only and cannot be set.",
            ));
        }
        if !(key.starts_with('@') || key.eq_ignore_ascii_case("values")) {
            return Err(GraphError::bad_request(format!(
                "Invalid property '{key}'."
            )));
        }
    }
    app.store.mutate(|t| {
        let i = t.group_index(id)?;
        let g = &mut t.groups[i];
        let s = setting_index(g, sid)?;
        if let Some(v) = body.get("values") {
            g.settings[s].values = merge_values(&g.settings[s].values, v)?;
        }
        Ok(Reply::no_content())
    })
}

pub(super) fn delete_setting(app: &App, id: &str, sid: &str) -> GraphResult {
    app.store.mutate(|t| {
        let i = t.group_index(id)?;
        let g = &mut t.groups[i];
        let s = setting_index(g, sid)?;
        g.settings.remove(s);
        Ok(Reply::no_content())
    })
}

// ---------------------------------------------------------------------------------------------
// directory/deletedItems.

/// `directory/deletedItems` without a type: Graph needs one.
pub(super) fn cast_required() -> GraphResult {
    Err(GraphError::bad_request(
        "The OData cast type is required: use /directory/deletedItems/microsoft.graph.group (or .user, .application, .servicePrincipal, .administrativeUnit).",
    ))
}

fn deleted_entity(app: &App, g: &Group) -> Value {
    let mut obj = Map::new();
    obj.insert(
        "@odata.context".into(),
        json!(format!(
            "{}$metadata#directoryObjects/$entity",
            app.graph_root()
        )),
    );
    obj.insert("@odata.type".into(), json!("#microsoft.graph.group"));
    obj.extend(full_json(g));
    Value::Object(obj)
}

pub(super) fn list_deleted(app: &App, cast: &str, q: &Query) -> GraphResult {
    let root = app.graph_root();
    match cast.to_ascii_lowercase().as_str() {
        "microsoft.graph.group" => list_of(
            app,
            q,
            "directory/deletedItems/microsoft.graph.group",
            format!("{root}$metadata#groups"),
            |t| t.deleted_groups.clone(),
            false,
        ),
        // Users, applications and the rest are deleted permanently in the sandbox tenant.
        other @ ("microsoft.graph.user"
        | "microsoft.graph.application"
        | "microsoft.graph.serviceprincipal"
        | "microsoft.graph.administrativeunit") => {
            let set = match other {
                "microsoft.graph.user" => "users",
                "microsoft.graph.application" => "applications",
                "microsoft.graph.serviceprincipal" => "servicePrincipals",
                _ => "administrativeUnits",
            };
            Ok(Reply::ok(json!({
                "@odata.context": format!("{root}$metadata#{set}"),
                "value": [],
            })))
        }
        _ => Err(not_found_segment(cast)),
    }
}

pub(super) fn get_deleted(app: &App, id: &str) -> GraphResult {
    app.store.read(|t| {
        let g = &t.deleted_groups[t.deleted_index(id)?];
        Ok(Reply::ok(deleted_entity(app, g)))
    })
}

pub(super) fn restore_deleted(app: &App, id: &str) -> GraphResult {
    app.store.mutate(|t| {
        let i = t.deleted_index(id)?;
        let i = t.restore_group(i);
        Ok(Reply::ok(deleted_entity(app, &t.groups[i])))
    })
}

pub(super) fn purge_deleted(app: &App, id: &str) -> GraphResult {
    app.store.mutate(|t| {
        let i = t.deleted_index(id)?;
        t.deleted_groups.remove(i);
        Ok(Reply::no_content())
    })
}

// ---------------------------------------------------------------------------------------------
// Routing.
