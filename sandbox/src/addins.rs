//! Downloads from the add-in manifest catalogue (`tenant::addins`), which tests deploy from:
//! `GET {base}_sandbox/addins/{name}` serves a manifest with its content type over the
//! sandbox's own HTTPS, `GET {base}_sandbox/addins` lists them, `POST` (or `PUT`)
//! `{base}_sandbox/addins/{name}` adds one with the request's body and `Content-Type` (to craft
//! hostile manifests), `DELETE` removes one.

use http::{HeaderMap, Method, StatusCode};
use serde_json::json;

use crate::app::App;
use crate::tenant::addins::Entry;

/// A raw (non-JSON) response of the catalogue.
pub(crate) struct Raw {
    pub status: StatusCode,
    pub content_type: String,
    pub body: Vec<u8>,
}

fn json_raw(status: StatusCode, v: serde_json::Value) -> Raw {
    Raw {
        status,
        content_type: "application/json; charset=utf-8".into(),
        body: serde_json::to_vec(&v).unwrap_or_default(),
    }
}

/// `/_sandbox/addins[/{name}]`.
pub(crate) fn handle(
    app: &App,
    method: &Method,
    rest: &[String],
    headers: &HeaderMap,
    body: &[u8],
) -> Raw {
    let describe = |name: &str, e: &Entry| {
        json!({
            "name": name,
            "url": app.addin_url(name),
            "contentType": e.content_type,
            "size": e.body.len(),
        })
    };
    match (method.clone(), rest) {
        (Method::GET, []) => {
            let list: Vec<_> = app
                .addins
                .names()
                .iter()
                .map(|(n, e)| describe(n, e))
                .collect();
            json_raw(StatusCode::OK, json!(list))
        }
        (Method::GET, [name]) => match app.addins.get(name) {
            Some(e) => Raw {
                status: StatusCode::OK,
                content_type: e.content_type,
                body: e.body,
            },
            None => json_raw(
                StatusCode::NOT_FOUND,
                json!({"error": format!("no add-in manifest named '{name}'")}),
            ),
        },
        (Method::POST | Method::PUT, [name]) => {
            let content_type = headers
                .get(http::header::CONTENT_TYPE)
                .and_then(|v| v.to_str().ok())
                .unwrap_or("application/octet-stream")
                .to_string();
            let entry = Entry {
                content_type,
                body: body.to_vec(),
            };
            let out = describe(name, &entry);
            app.addins.put(name, entry);
            json_raw(StatusCode::CREATED, out)
        }
        (Method::DELETE, [name]) => {
            if app.addins.remove(name) {
                Raw {
                    status: StatusCode::NO_CONTENT,
                    content_type: String::new(),
                    body: Vec::new(),
                }
            } else {
                json_raw(
                    StatusCode::NOT_FOUND,
                    json!({"error": format!("no add-in manifest named '{name}'")}),
                )
            }
        }
        (_, [] | [_]) => json_raw(
            StatusCode::METHOD_NOT_ALLOWED,
            json!({"error": "method not allowed"}),
        ),
        _ => json_raw(
            StatusCode::NOT_FOUND,
            json!({"error": "no such control endpoint"}),
        ),
    }
}
