//! Downloads from the add-in manifest catalogue (`tenant::addins`), which tests deploy from:
//! `GET {base}_sandbox/addins/{name}` serves a manifest with its content type over the
//! sandbox's own HTTPS, `GET {base}_sandbox/addins` lists them, `POST` (or `PUT`)
//! `{base}_sandbox/addins/{name}` adds one with the request's body and `Content-Type` (to craft
//! hostile manifests), `DELETE` removes one.

use http::{HeaderMap, Method, StatusCode};
use serde_json::{Value, json};

use crate::app::App;
use crate::tenant::addins::Entry;
use crate::web::router::{Lookup, Route, Verb, find};

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

/// What a route's handler is given.
struct Req<'a> {
    app: &'a App,
    headers: &'a HeaderMap,
    body: &'a [u8],
    name: &'a str,
}

type Handler = fn(&Req) -> Raw;

/// The catalogue's routes (below `/_sandbox/addins`).
static ROUTES: &[Route<(), Handler>] = &[
    Route::new(Verb::Get, "", (), list),
    Route::new(Verb::Get, "{name}", (), get),
    Route::new(Verb::Post, "{name}", (), put),
    Route::new(Verb::Put, "{name}", (), put),
    Route::new(Verb::Delete, "{name}", (), remove),
];

/// Entry for `/_sandbox/addins[/{name}]`.
pub(crate) fn handle(
    app: &App,
    method: &Method,
    rest: &[String],
    headers: &HeaderMap,
    body: &[u8],
) -> Raw {
    let segs: Vec<&str> = rest.iter().map(String::as_str).collect();
    match find(ROUTES, method, &segs) {
        Lookup::Route(route, params) => (route.handler)(&Req {
            app,
            headers,
            body,
            name: params.get("name"),
        }),
        Lookup::MethodNotAllowed => json_raw(
            StatusCode::METHOD_NOT_ALLOWED,
            json!({"error": "method not allowed"}),
        ),
        Lookup::NotFound { .. } => json_raw(
            StatusCode::NOT_FOUND,
            json!({"error": "no such control endpoint"}),
        ),
    }
}

fn describe(app: &App, name: &str, e: &Entry) -> Value {
    json!({
        "name": name,
        "url": app.addin_url(name),
        "contentType": e.content_type,
        "size": e.body.len(),
    })
}

fn not_found(name: &str) -> Raw {
    json_raw(
        StatusCode::NOT_FOUND,
        json!({"error": format!("no add-in manifest named '{name}'")}),
    )
}

fn list(r: &Req) -> Raw {
    let list: Vec<_> = r
        .app
        .addins
        .names()
        .iter()
        .map(|(n, e)| describe(r.app, n, e))
        .collect();
    json_raw(StatusCode::OK, json!(list))
}

fn get(r: &Req) -> Raw {
    match r.app.addins.get(r.name) {
        Some(e) => Raw {
            status: StatusCode::OK,
            content_type: e.content_type,
            body: e.body,
        },
        None => not_found(r.name),
    }
}

/// Adds (or replaces) a manifest with the request's body and `Content-Type`.
fn put(r: &Req) -> Raw {
    let content_type = r
        .headers
        .get(http::header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("application/octet-stream")
        .to_string();
    let entry = Entry {
        content_type,
        body: r.body.to_vec(),
    };
    let out = describe(r.app, r.name, &entry);
    r.app.addins.put(r.name, entry);
    json_raw(StatusCode::CREATED, out)
}

fn remove(r: &Req) -> Raw {
    if r.app.addins.remove(r.name) {
        Raw {
            status: StatusCode::NO_CONTENT,
            content_type: String::new(),
            body: Vec::new(),
        }
    } else {
        not_found(r.name)
    }
}
