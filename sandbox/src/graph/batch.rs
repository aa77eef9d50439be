//! JSON batching (`POST /v1.0/$batch`): up to 20 steps, each run through the same router as a
//! top-level request (with the outer request's token), honouring `dependsOn` (a step whose
//! dependency failed answers 424), and injected faults per step.

use std::collections::HashMap;

use http::{Method, StatusCode};
use serde_json::{Map, Value, json};

use super::odata::json_object;
use crate::app::App;
use crate::auth::Claims;
use crate::web::Query;
use crate::web::{Ctx, GraphError, GraphResult, Reply, ReplyBody};

const MAX_STEPS: usize = 20;

/// One step of a batch, validated.
struct Step {
    id: String,
    method: Method,
    url: String,
    headers: Map<String, Value>,
    body: Option<Value>,
    depends_on: Vec<String>,
}

fn invalid(message: impl Into<String>) -> GraphError {
    GraphError::odata(message)
}

fn parse_steps(body: &Map<String, Value>) -> Result<Vec<Step>, GraphError> {
    let requests = body
        .get("requests")
        .and_then(Value::as_array)
        .ok_or_else(|| invalid("Invalid batch payload format."))?;
    if requests.len() > MAX_STEPS {
        return Err(invalid(format!(
            "Number of batch request steps exceeds the maximum of {MAX_STEPS}."
        )));
    }
    let mut steps: Vec<Step> = Vec::new();
    for r in requests {
        let id = match &r["id"] {
            Value::String(s) if !s.is_empty() => s.clone(),
            Value::Number(n) => n.to_string(),
            _ => return Err(invalid("Invalid batch payload format.")),
        };
        if steps.iter().any(|s| s.id == id) {
            return Err(invalid("Batch request contains duplicate request ID's."));
        }
        let method = r["method"]
            .as_str()
            .and_then(|m| Method::from_bytes(m.to_ascii_uppercase().as_bytes()).ok())
            .ok_or_else(|| invalid(format!("Invalid method for request id : {id}.")))?;
        let url = r["url"]
            .as_str()
            .filter(|u| !u.is_empty())
            .ok_or_else(|| invalid(format!("Invalid URL for request id : {id}.")))?
            .to_string();
        if url.contains("://") {
            return Err(invalid(format!(
                "Invalid request URI for request id : {id}. The URI must be relative."
            )));
        }
        let headers = r["headers"].as_object().cloned().unwrap_or_default();
        let body = r.get("body").filter(|b| !b.is_null()).cloned();
        if body.is_some()
            && !headers
                .keys()
                .any(|k| k.eq_ignore_ascii_case("content-type"))
        {
            return Err(invalid(format!(
                "Write request id : {id} does not contain Content-Type header or body."
            )));
        }
        let depends_on = match &r["dependsOn"] {
            Value::Null => Vec::new(),
            Value::Array(ids) => ids
                .iter()
                .map(|d| d.as_str().map(str::to_string))
                .collect::<Option<Vec<_>>>()
                .ok_or_else(|| invalid("Invalid batch payload format."))?,
            _ => return Err(invalid("Invalid batch payload format.")),
        };
        for d in &depends_on {
            if !steps.iter().any(|s| &s.id == d) {
                return Err(invalid(format!(
                    "Request id : {id} depends on request id : {d}, which was not found earlier in the batch."
                )));
            }
        }
        steps.push(Step {
            id,
            method,
            url,
            headers,
            body,
            depends_on,
        });
    }
    Ok(steps)
}

/// The router a step runs through: Graph's own, passed in so that batching does not depend on
/// the routes it serves.
pub(crate) type Router = fn(&App, &Ctx, &Claims, &Method, &[String], &Query, &[u8]) -> GraphResult;

pub(crate) fn handle(app: &App, claims: &Claims, body: &[u8], route: Router) -> GraphResult {
    let steps = parse_steps(&json_object(body)?)?;
    let mut statuses: HashMap<String, u16> = HashMap::new();
    let mut responses = Vec::new();
    for step in steps {
        let step_ctx = Ctx::new(
            step.headers
                .iter()
                .find(|(k, _)| k.eq_ignore_ascii_case("client-request-id"))
                .and_then(|(_, v)| v.as_str()),
        );
        let failed_dependency = step
            .depends_on
            .iter()
            .any(|d| statuses.get(d).is_none_or(|s| !(200..300).contains(s)));
        let reply = if failed_dependency {
            GraphError::new(
                StatusCode::FAILED_DEPENDENCY,
                "FailedDependency",
                "Request failed due to failure of dependent request.",
            )
            .into_reply(&step_ctx)
        } else {
            run_step(app, &step_ctx, claims, &step, route)
        };
        statuses.insert(step.id.clone(), reply.status.as_u16());
        responses.push(step_response(&step.id, &step_ctx, reply));
    }
    Ok(Reply::ok(json!({ "responses": responses })))
}

fn run_step(app: &App, ctx: &Ctx, claims: &Claims, step: &Step, route: Router) -> Reply {
    let (path, query) = match step.url.split_once('?') {
        Some((p, q)) => (p, Some(q)),
        None => (step.url.as_str(), None),
    };
    let segments = match crate::web::path::decode_path(path) {
        Ok(s) => s,
        Err(why) => return invalid(format!("Invalid request path: {why}.")).into_reply(ctx),
    };
    if segments
        .first()
        .is_some_and(|s| s.eq_ignore_ascii_case("$batch"))
    {
        return invalid("Nested batch requests are not supported.").into_reply(ctx);
    }
    let full_path = format!("/v1.0/{}", segments.join("/"));
    if let Some(fault) = app.faults.take(&step.method, &full_path)
        && let Some(reply) = fault.reply(ctx)
    {
        return reply;
    }
    let body = step
        .body
        .as_ref()
        .map(|b| serde_json::to_vec(b).unwrap_or_default())
        .unwrap_or_default();
    route(
        app,
        ctx,
        claims,
        &step.method,
        &segments,
        &Query::parse(query),
        &body,
    )
    .unwrap_or_else(|e| e.into_reply(ctx))
}

fn step_response(id: &str, ctx: &Ctx, reply: Reply) -> Value {
    let mut headers = Map::new();
    let body = match reply.body {
        ReplyBody::Empty => None,
        ReplyBody::Json(v) => Some(v),
        ReplyBody::Raw(s) => Some(Value::String(s)),
    };
    if body.is_some() {
        headers.insert(
            "Content-Type".into(),
            json!("application/json;odata.metadata=minimal;odata.streaming=true;IEEE754Compatible=false;charset=utf-8"),
        );
    }
    headers.insert("request-id".into(), json!(ctx.request_id));
    headers.insert("client-request-id".into(), json!(ctx.client_request_id));
    for (k, v) in reply.headers {
        headers.insert(k, json!(v));
    }
    let mut out = json!({"id": id, "status": reply.status.as_u16(), "headers": headers});
    if let Some(b) = body {
        out["body"] = b;
    }
    out
}

#[cfg(test)]
mod tests {
    use http::Method;
    use serde_json::{Value, json};

    use crate::testkit::{team_body, tenant};

    use super::*;

    fn steps(v: Value) -> Result<Vec<Step>, GraphError> {
        parse_steps(v.as_object().unwrap())
    }

    #[test]
    fn batch_validation_table() {
        let many: Vec<Value> = (0..21)
            .map(|i| json!({"id": i.to_string(), "method": "GET", "url": "/users"}))
            .collect();
        let cases = [
            (
                json!({"requests": many}),
                "Number of batch request steps exceeds the maximum of 20.",
            ),
            (json!({}), "Invalid batch payload format."),
            (
                json!({"requests": [{"id": "1", "method": "GET", "url": "/a"}, {"id": "1", "method": "GET", "url": "/b"}]}),
                "Batch request contains duplicate request ID's.",
            ),
            (
                json!({"requests": [{"id": "1", "method": "POST", "url": "/users", "body": {}}]}),
                "Write request id : 1 does not contain Content-Type header or body.",
            ),
            (
                json!({"requests": [{"id": "1", "method": "GET", "url": "https://graph.microsoft.com/v1.0/users"}]}),
                "Invalid request URI for request id : 1. The URI must be relative.",
            ),
        ];
        for (body, msg) in cases {
            assert_eq!(steps(body).err().map(|e| e.message).as_deref(), Some(msg));
        }
        let ok = steps(json!({"requests": [
            {"id": "1", "method": "get", "url": "/users"},
            {"id": "2", "method": "POST", "url": "users", "headers": {"Content-Type": "application/json"},
             "body": {}, "dependsOn": ["1"]}
        ]}))
        .unwrap();
        assert_eq!(ok[1].depends_on, vec!["1"]);
        assert_eq!(ok[0].method, Method::GET);
    }

    #[test]
    fn batch_runs_team_steps() {
        let t = tenant();
        let owner = t.user("batcher");
        let gid = t.group("batched", &[&owner], &[]);
        let body = json!({"requests": [
            {"id": "1", "method": "POST", "url": "/teams", "headers": {"Content-Type": "application/json"}, "body": team_body(&gid)},
            {"id": "2", "method": "GET", "url": format!("/groups('{gid}')"), "dependsOn": ["1"]}
        ]});
        let reply = handle(
            &t.app,
            &t.claims,
            &serde_json::to_vec(&body).unwrap(),
            crate::graph::route,
        )
        .unwrap();
        let ReplyBody::Json(v) = reply.body else {
            panic!("json")
        };
        assert_eq!(v["responses"][0]["status"], 202);
        assert!(
            v["responses"][0]["headers"]["Location"]
                .as_str()
                .unwrap()
                .starts_with(&format!("/teams('{gid}')/operations('"))
        );
        assert_eq!(v["responses"][1]["status"], 200);
    }
}
