//! Planner: `POST /planner/plans` (the container a Microsoft 365 group), `GET
//! /planner/plans/{id}` and `GET /groups/{id}/planner/plans`.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use http::StatusCode;
use serde_json::{Map, Value, json};

use crate::app::App;
use crate::graph::odata::{json_object, unknown_property};
use crate::tenant::connect::Plan;
use crate::tenant::teams::bad;
use crate::web::path::bound_key;
use crate::web::time::rfc3339;
use crate::web::{Ctx, GraphError, GraphResult, Reply};

const PLAN_ETAG: &str = "W/\"JzEtUGxhbiAgQEBAQEBAQEBAQEBAQEBAWCc=\"";

fn plan_id() -> String {
    let mut bytes = [0u8; 21];
    if openssl::rand::rand_bytes(&mut bytes).is_err() {
        bytes[..16].copy_from_slice(uuid::Uuid::new_v4().as_bytes());
    }
    URL_SAFE_NO_PAD.encode(bytes)
}

fn plan_json(p: &Plan, context: Option<String>) -> Value {
    let mut o = Map::new();
    if let Some(c) = context {
        o.insert("@odata.context".into(), json!(c));
    }
    o.insert("@odata.etag".into(), json!(PLAN_ETAG));
    o.insert(
        "createdDateTime".into(),
        json!(rfc3339(p.created_date_time)),
    );
    o.insert("owner".into(), json!(p.group_id));
    o.insert("title".into(), json!(p.title));
    o.insert("id".into(), json!(p.id));
    o.insert(
        "createdBy".into(),
        json!({"user": null, "application": {"displayName": null, "id": p.created_by_app}}),
    );
    o.insert(
        "container".into(),
        json!({
            "@odata.type": "microsoft.graph.plannerPlanContainer",
            "url": format!("https://graph.microsoft.com/v1.0/groups/{}", p.group_id),
            "containerId": p.group_id,
            "type": "group",
        }),
    );
    Value::Object(o)
}

pub(crate) fn create(app: &App, ctx: &Ctx, body: &[u8]) -> GraphResult {
    let body = json_object(body)?;
    let mut title = None;
    let mut group = None;
    for (k, v) in &body {
        match k.as_str() {
            "title" => title = v.as_str().map(str::trim).map(str::to_string),
            "owner" => group = v.as_str().map(str::to_string),
            "container" => {
                let c = v.as_object().ok_or_else(|| {
                    bad("The 'container' property must be a plannerPlanContainer object.")
                })?;
                if let Some(url) = c.get("url").and_then(Value::as_str) {
                    group = Some(bound_key(url, &["groups"]).ok_or_else(|| {
                        bad(format!(
                            "The container url '{url}' is not a group; use https://graph.microsoft.com/v1.0/groups/{{group-id}}."
                        ))
                    })?);
                } else {
                    let kind = c.get("type").and_then(Value::as_str).unwrap_or_default();
                    if !kind.eq_ignore_ascii_case("group") {
                        return Err(bad(format!(
                            "The sandbox emulates plans in groups only (container type 'group'), not '{kind}'."
                        )));
                    }
                    group = c
                        .get("containerId")
                        .and_then(Value::as_str)
                        .map(str::to_string);
                }
            }
            k if k.starts_with('@') => {}
            other => return Err(unknown_property(other, "microsoft.graph.plannerPlan")),
        }
    }
    let title = title
        .filter(|t| !t.is_empty())
        .ok_or_else(|| bad("The plan's title is required."))?;
    if title.chars().count() > 255 {
        return Err(bad("The plan's title can be at most 255 characters."));
    }
    let gid = group.ok_or_else(|| bad("The plan's container is required: {\"container\": {\"url\": \"https://graph.microsoft.com/v1.0/groups/{group-id}\"}}."))?;
    let client = app.reg.client_id.clone();
    app.store.mutate(|t| {
        let i = t.find_group(&gid).ok_or_else(|| {
            GraphError::new(
                StatusCode::NOT_FOUND,
                "",
                format!("The group '{gid}' was not found; a plan's container must be an existing Microsoft 365 group."),
            )
        })?;
        if !t.groups[i].is_unified() {
            return Err(bad(
                "The container group is not a Microsoft 365 group; only Microsoft 365 groups can contain plans.",
            ));
        }
        let plan = Plan {
            id: plan_id(),
            group_id: t.groups[i].id.clone(),
            title,
            created_date_time: ctx.now,
            created_by_app: client,
        };
        let out = plan_json(
            &plan,
            Some(format!("{}$metadata#planner/plans/$entity", app.graph_root())),
        );
        t.connect.plans.push(plan);
        Ok(Reply::json(StatusCode::CREATED, out))
    })
}

pub(crate) fn group_plans(app: &App, gid: &str) -> GraphResult {
    app.store.read(|t| {
        let i = t.find_group(gid).ok_or_else(|| GraphError::not_found(gid))?;
        let id = &t.groups[i].id;
        let value: Vec<Value> = t
            .connect
            .plans
            .iter()
            .filter(|p| p.group_id.eq_ignore_ascii_case(id))
            .map(|p| plan_json(p, None))
            .collect();
        Ok(Reply::ok(json!({
            "@odata.context": format!("{}$metadata#Collection(microsoft.graph.plannerPlan)", app.graph_root()),
            "@odata.count": value.len(),
            "value": value,
        })))
    })
}

/// `GET planner/plans/{id}`: a plan whose group still exists.
pub(crate) fn get(app: &App, id: &str) -> GraphResult {
    app.store.read(|t| {
        let p = t
            .connect
            .plans
            .iter()
            .find(|p| p.id == id && t.find_group(&p.group_id).is_some())
            .ok_or_else(|| {
                GraphError::new(
                    StatusCode::NOT_FOUND,
                    "",
                    "The requested item is not found.",
                )
            })?;
        Ok(Reply::ok(plan_json(
            p,
            Some(format!(
                "{}$metadata#planner/plans/$entity",
                app.graph_root()
            )),
        )))
    })
}

#[cfg(test)]
mod tests {
    use http::Method;
    use serde_json::json;

    use crate::auth::Claims;
    use crate::testkit::kit;

    const PLANNER: &str = "https://graph.microsoft.com/v1.0/appCatalogs/teamsApps/com.microsoft.teamspace.tab.planner";

    #[test]
    fn planner_plan_and_tab() {
        let k = kit();
        let (gid, general) = k.team("ops");
        let a = k.graph(
            Method::POST,
            "/planner/plans",
            Some(json!({"container": {"url": format!("https://graph.microsoft.com/v1.0/groups/{gid}")}, "title": "Ops board"})),
        );
        assert_eq!(a.status, 201, "{}", a.body);
        let plan_id = a.body["id"].as_str().unwrap().to_string();
        assert_eq!(plan_id.len(), 28);
        assert_eq!(a.body["container"]["containerId"], gid);
        assert_eq!(a.body["container"]["type"], "group");
        assert_eq!(a.body["owner"], gid);
        assert_eq!(
            a.body["createdBy"]["application"]["id"],
            k.app.reg.client_id
        );
        assert!(a.body["@odata.etag"].is_string());

        let list = k.graph(Method::GET, &format!("/groups/{gid}/planner/plans"), None);
        assert_eq!(list.status, 200, "{}", list.body);
        assert_eq!(list.value().len(), 1);
        assert_eq!(
            k.graph(Method::GET, &format!("/planner/plans/{plan_id}"), None)
                .body["title"],
            "Ops board"
        );
        assert_eq!(
            k.graph(Method::GET, "/planner/plans/nope", None).status,
            404
        );

        let content = format!(
            "https://tasks.office.com/libertygoldsilver.onmicrosoft.com/Home/PlannerFrame?page=7&planId={plan_id}"
        );
        let a = k.graph(
            Method::POST,
            &format!("/teams/{gid}/channels/{general}/tabs"),
            Some(json!({
                "displayName": "Ops board",
                "teamsApp@odata.bind": PLANNER,
                "configuration": {"entityId": plan_id, "contentUrl": content, "removeUrl": content, "websiteUrl": content}
            })),
        );
        assert_eq!(a.status, 201, "{}", a.body);

        for body in [
            json!({"title": "x"}),
            json!({"container": {"url": format!("https://graph.microsoft.com/v1.0/groups/{gid}")}}),
            json!({"container": {"url": "https://graph.microsoft.com/v1.0/users/x"}, "title": "x"}),
            json!({"container": {"containerId": "x", "type": "roster"}, "title": "x"}),
        ] {
            assert_eq!(
                k.graph(Method::POST, "/planner/plans", Some(body.clone()))
                    .status,
                400,
                "{body}"
            );
        }
        let a = k.graph(
            Method::POST,
            "/planner/plans",
            Some(json!({"container": {"url": format!("https://graph.microsoft.com/v1.0/groups/{}", uuid::Uuid::new_v4())}, "title": "x"})),
        );
        assert_eq!(a.status, 404);
        let no_tasks = Claims {
            roles: vec!["Group.ReadWrite.All".into()],
        };
        assert_eq!(
            k.graph_as(
                &no_tasks,
                Method::POST,
                "/planner/plans",
                Some(json!({"title": "x"}))
            )
            .status,
            403
        );
    }
}
