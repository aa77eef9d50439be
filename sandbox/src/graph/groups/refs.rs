//! A group's `members` and `owners`: listed as `directoryObject`s (the users' default
//! properties, `$select`, paging), added with `POST …/$ref` and an `@odata.id`, removed with
//! `DELETE …/{id}/$ref`.

use serde_json::{Map, Value, json};
use time::OffsetDateTime;

use crate::app::App;
use crate::graph::odata::{json_object, parse_select, project, select_suffix};
use crate::graph::users;
use crate::tenant::{Tenant, User};
use crate::web::paging::page;
use crate::web::path::bound_key;
use crate::web::query::Query;
use crate::web::{GraphError, GraphResult, Reply};

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
    let probe = User::new(String::new(), OffsetDateTime::UNIX_EPOCH, Map::new());
    users::full_json(t, &probe).keys().cloned().collect()
}

pub(crate) fn list(app: &App, q: &Query, id: &str, owners: bool) -> GraphResult {
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

pub(crate) fn add(app: &App, id: &str, owners: bool, body: &[u8]) -> GraphResult {
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

pub(crate) fn remove(app: &App, id: &str, user: &str, owners: bool) -> GraphResult {
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
