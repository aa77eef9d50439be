//! `directory/deletedItems`: soft-deleted Microsoft 365 groups listed (with an OData cast),
//! read, restored (team and all) or deleted for good. Users and the other types are deleted
//! permanently in the sandbox tenant, so their lists are empty.

use serde_json::{Map, Value, json};

use super::group::{full_json, list_of};
use crate::app::App;
use crate::graph::odata::not_found_segment;
use crate::tenant::Group;
use crate::web::query::Query;
use crate::web::{GraphError, GraphResult, Reply};

/// `directory/deletedItems` without a type: Graph needs one.
pub(crate) fn cast_required() -> GraphResult {
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

pub(crate) fn list(app: &App, cast: &str, q: &Query) -> GraphResult {
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

pub(crate) fn get(app: &App, id: &str) -> GraphResult {
    app.store.read(|t| {
        let g = &t.deleted_groups[t.deleted_index(id)?];
        Ok(Reply::ok(deleted_entity(app, g)))
    })
}

pub(crate) fn restore(app: &App, id: &str) -> GraphResult {
    app.store.mutate(|t| {
        let i = t.deleted_index(id)?;
        let i = t.restore_group(i);
        Ok(Reply::ok(deleted_entity(app, &t.groups[i])))
    })
}

pub(crate) fn purge(app: &App, id: &str) -> GraphResult {
    app.store.mutate(|t| {
        let i = t.deleted_index(id)?;
        t.deleted_groups.remove(i);
        Ok(Reply::no_content())
    })
}

#[cfg(test)]
mod tests {
    use http::Method;
    use serde_json::{Value, json};

    use crate::testkit::{ids, tenant};

    #[test]
    fn soft_delete_removes_the_team_and_restore_brings_it_back() {
        let t = tenant();
        let (gid, _) = t.group_team("gone");
        assert_eq!(
            t.graph(Method::DELETE, &format!("/groups/{gid}"), None)
                .status,
            204
        );
        assert_eq!(
            t.graph(Method::GET, &format!("/groups/{gid}"), None).status,
            404
        );
        let a = t.graph(Method::GET, &format!("/teams/{gid}"), None);
        assert_eq!((a.status, a.code()), (404, "NotFound"));
        assert_eq!(
            t.graph(Method::GET, &format!("/teams/{gid}/channels"), None)
                .status,
            404
        );
        assert_eq!(
            t.graph(Method::GET, "/teams", None).body["value"],
            json!([])
        );
        assert_eq!(
            t.graph(Method::GET, "/groups", None).body["value"],
            json!([])
        );

        let deleted = t.graph(
            Method::GET,
            "/directory/deletedItems/microsoft.graph.group",
            None,
        );
        assert_eq!(ids(&deleted.body), vec![gid.clone()]);
        assert!(deleted.body["value"][0]["deletedDateTime"].is_string());
        let one = t.graph(Method::GET, &format!("/directory/deletedItems/{gid}"), None);
        assert_eq!(one.body["@odata.type"], "#microsoft.graph.group");
        assert_eq!(
            t.graph(Method::GET, "/directory/deletedItems", None).status,
            400
        );

        let a = t.graph(
            Method::POST,
            &format!("/directory/deletedItems/{gid}/restore"),
            None,
        );
        assert_eq!(a.status, 200, "{}", a.body);
        assert_eq!(a.body["id"], gid.as_str());
        assert_eq!(a.body["deletedDateTime"], Value::Null);
        assert_eq!(
            t.graph(Method::GET, &format!("/groups/{gid}"), None).status,
            200
        );
        assert_eq!(
            t.graph(Method::GET, &format!("/teams/{gid}"), None).status,
            200
        );

        // Deleted again, then permanently.
        t.graph(Method::DELETE, &format!("/groups/{gid}"), None);
        assert_eq!(
            t.graph(
                Method::DELETE,
                &format!("/directory/deletedItems/{gid}"),
                None
            )
            .status,
            204
        );
        let a = t.graph(
            Method::POST,
            &format!("/directory/deletedItems/{gid}/restore"),
            None,
        );
        assert_eq!((a.status, a.code()), (404, "Request_ResourceNotFound"));
        // The alias is free again.
        t.group("gone", &[], &[]);
    }
}
