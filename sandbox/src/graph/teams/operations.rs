//! A team's `teamsAsyncOperation`s: `202 Accepted` with a `Location` to poll, archive and
//! unarchive (which need an owner), and reading operations, each poll moving one step
//! (`team_provisioning_polls` of them report `inProgress`).

use http::StatusCode;
use serde_json::{Value, json};

use crate::app::App;
use crate::graph::odata::json_object;
use crate::tenant::teams::{TeamsOperation, bad, check_guid, new_operation, no_team, teams_error};
use crate::web::time::rfc3339;
use crate::web::{Ctx, GraphResult, Reply, ReplyBody};

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

pub(super) fn accepted(gid: &str, op: &str, content_location: bool) -> Reply {
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

pub(crate) fn archive(app: &App, ctx: &Ctx, id: &str, body: &[u8], archive: bool) -> GraphResult {
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

pub(crate) fn get(app: &App, ctx: &Ctx, id: &str, op_id: &str) -> GraphResult {
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

pub(crate) fn list(app: &App, id: &str) -> GraphResult {
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

#[cfg(test)]
mod tests {
    use http::Method;
    use serde_json::json;

    use crate::testkit::tenant;

    #[test]
    fn archive_and_unarchive_are_operations() {
        let t = tenant();
        let (gid, _) = t.group_team("arch");
        let a = t.graph(
            Method::POST,
            &format!("/teams/{gid}/archive"),
            Some(json!({"shouldSetSpoSiteReadOnlyForMembers": true})),
        );
        assert_eq!(a.status, 202, "{}", a.body);
        let location = a.header("Location").unwrap().to_string();
        let op = t.graph(Method::GET, &location, None);
        assert_eq!(
            (
                op.body["operationType"].as_str(),
                op.body["status"].as_str()
            ),
            (Some("archiveTeam"), Some("inProgress"))
        );
        assert_eq!(
            t.graph(Method::GET, &location, None).body["status"],
            "succeeded"
        );
        assert_eq!(
            t.graph(Method::GET, &format!("/teams/{gid}"), None).body["isArchived"],
            true
        );
        let a = t.graph(
            Method::POST,
            &format!("/teams/{gid}/channels"),
            Some(json!({"displayName": "Late"})),
        );
        assert_eq!(a.status, 400);
        // Membership changes are still allowed on an archived team.
        let erin = t.user("erin");
        let a = t.graph(
            Method::POST,
            &format!("/teams/{gid}/members"),
            Some(json!({
                "@odata.type": "#microsoft.graph.aadUserConversationMember",
                "roles": [],
                "user@odata.bind": format!("https://graph.microsoft.com/v1.0/users('{erin}')")
            })),
        );
        assert_eq!(a.status, 201);
        let a = t.graph(Method::POST, &format!("/teams/{gid}/unarchive"), None);
        assert_eq!(a.status, 202);
        let location = a.header("Location").unwrap().to_string();
        assert_eq!(
            t.graph(Method::GET, &location, None).body["operationType"],
            "unarchiveTeam"
        );
        t.graph(Method::GET, &location, None);
        assert_eq!(
            t.graph(Method::GET, &format!("/teams/{gid}"), None).body["isArchived"],
            false
        );
    }
}
