//! A small blocking Microsoft Graph v1.0 client over `wasi:http`.
//!
//! The host injects the bearer token and refuses requests that carry their
//! own `Authorization` header, so this client never sets one. Every request
//! carries a fresh `client-request-id`. Errors keep Graph's status, code,
//! message and `request-id` ([`GraphError`]) so plugins can branch on them,
//! and convert into a [`ToolError`] with the documented code.
//!
//! [`Graph::batch`] sends many requests as JSON batches (`POST /$batch`, at
//! most [`MAX_BATCH`] each): one round trip, and an answer per request, so
//! one refused request never hides the others' answers.

use crate::error::ToolError;
use crate::http::{self, HttpError, Request};
use crate::text::encode_query;
use serde_json::{Value, json};

/// Graph's host.
pub const GRAPH_AUTHORITY: &str = "graph.microsoft.com";
/// The API version every path is relative to.
pub const GRAPH_BASE_PATH: &str = "/v1.0";
/// The largest response body the client reads.
pub const MAX_RESPONSE_BYTES: usize = 8 << 20;
/// Graph's limit on requests in one `$batch`.
pub const MAX_BATCH: usize = 20;
/// The request header that marks a POST as safe for the host to retry (the
/// plugin checked that the object does not exist); the host strips it.
pub const RETRY_SAFE_HEADER: &str = "x-m365-retry-safe";

/// What kind of failure a [`GraphError`] is.
#[derive(Debug, Clone, PartialEq)]
pub enum GraphErrorKind {
    /// Graph answered with an error status.
    Response,
    /// The host refused the request (not granted by the manifest).
    Denied,
    /// No (complete) response: network, TLS, timeout, body too large, ...
    Transport(HttpError),
    /// The plugin asked for something the client will not send.
    Invalid,
}

/// A failed Graph request, with what Graph said.
#[derive(Debug, Clone, PartialEq)]
pub struct GraphError {
    pub kind: GraphErrorKind,
    /// HTTP status, 0 when there was no response.
    pub status: u16,
    /// Graph's error code (`Request_ResourceNotFound`, `MailboxNotEnabledForRESTAPI`,
    /// ...), or `HTTP_<status>` when the body had none.
    pub code: String,
    /// Graph's message.
    pub message: String,
    /// Graph's `request-id` (from the error body or the response header).
    pub request_id: Option<String>,
    /// The `client-request-id` this client sent.
    pub client_request_id: String,
    /// `Retry-After` in seconds, when Graph sent one.
    pub retry_after: Option<u32>,
    /// Method and path (without query) of the request, for messages.
    pub method: String,
    pub path: String,
}

impl GraphError {
    /// Whether Graph answered with this error code (case-insensitive).
    pub fn is(&self, code: &str) -> bool {
        self.code.eq_ignore_ascii_case(code)
    }

    /// Whether Graph answered 404.
    pub fn is_not_found(&self) -> bool {
        self.kind == GraphErrorKind::Response && self.status == 404
    }

    fn details(&self) -> Value {
        let mut d = json!({
            "method": self.method,
            "path": self.path,
            "clientRequestId": self.client_request_id,
        });
        if self.kind == GraphErrorKind::Response {
            d["status"] = json!(self.status);
            d["graphCode"] = json!(self.code);
            d["graphMessage"] = json!(self.message);
            if let Some(id) = &self.request_id {
                d["requestId"] = json!(id);
            }
        }
        d
    }

    /// The tool error for this failure, with `message` as the sentence for the
    /// user instead of the default one (the code and details are kept).
    pub fn to_tool_error_with(&self, message: impl Into<String>) -> ToolError {
        let mut e = ToolError::from(self.clone());
        e.message = message.into();
        e
    }
}

fn sentence(s: &str) -> String {
    let s = s.trim();
    if s.is_empty() {
        "(no message)".into()
    } else if s.ends_with(['.', '!', '?']) {
        s.to_string()
    } else {
        format!("{s}.")
    }
}

impl From<GraphError> for ToolError {
    fn from(g: GraphError) -> Self {
        let details = g.details();
        let what = format!("{} {}", g.method, g.path);
        let err = match &g.kind {
            GraphErrorKind::Denied => ToolError::plugin(
                "The host refused this request: the plugin's manifest does not grant it.",
            ),
            GraphErrorKind::Invalid => ToolError::plugin(format!(
                "The plugin built an invalid Graph request ({}); report this bug.",
                g.message
            )),
            GraphErrorKind::Transport(h) => {
                let mut e = h.to_tool_error("Microsoft Graph");
                e.details = None;
                e.with_detail("wasiHttpError", h.code_name())
            }
            GraphErrorKind::Response => {
                let graph_said = sentence(&g.message);
                let rid = g
                    .request_id
                    .as_deref()
                    .map(|r| format!(" (request-id {r})"))
                    .unwrap_or_default();
                let lower = g.message.to_ascii_lowercase();
                if g.status == 401 {
                    if lower.contains("expired") {
                        ToolError::auth_expired(format!(
                            "Microsoft Graph said the access token expired ({graph_said}) Retry; \
                             if it keeps happening, check the host's clock and credentials."
                        ))
                    } else {
                        ToolError::auth(format!(
                            "Microsoft Graph rejected the app's credentials ({graph_said}) Check \
                             AZURE_TENANT_ID, AZURE_CLIENT_ID and the secret or certificate \
                             (m365-admin doctor checks them), then retry."
                        ))
                    }
                } else if g.status == 403
                    || g.is("Authorization_RequestDenied")
                    || g.is("ErrorAccessDenied")
                    || g.is("AccessDenied")
                {
                    ToolError::permission(format!(
                        "The app is not allowed to {what}: {graph_said} Grant the missing \
                         Microsoft Graph application permission with admin consent (m365-admin \
                         doctor lists it), then retry."
                    ))
                } else if g.status == 429 {
                    let wait = g
                        .retry_after
                        .map(|s| format!("wait {s} seconds"))
                        .unwrap_or_else(|| "wait a minute".into());
                    ToolError::rate_limited(
                        format!("Microsoft Graph is throttling requests; {wait} and retry."),
                        g.retry_after.or(Some(60)),
                    )
                } else if g.status == 503 || g.status == 504 {
                    ToolError::graph(format!(
                        "Microsoft Graph is temporarily unavailable ({} {}){rid}; retry in a minute.",
                        g.status, g.code
                    ))
                    .with_retry_after(g.retry_after.or(Some(30)))
                } else {
                    ToolError::graph(format!(
                        "Microsoft Graph refused {what} with {} {}: {graph_said} Check the \
                         arguments and retry; if it persists, quote request-id {}.",
                        g.status,
                        g.code,
                        g.request_id.as_deref().unwrap_or("(none)")
                    ))
                }
            }
        };
        let mut err = err;
        err.details = Some(match err.details.take() {
            Some(Value::Object(mut extra)) => {
                let mut d = details.as_object().cloned().unwrap_or_default();
                d.append(&mut extra);
                Value::Object(d)
            }
            _ => details,
        });
        err
    }
}

/// One Graph request. Build with [`GraphRequest::new`] and the builder methods.
#[derive(Debug, Clone)]
pub struct GraphRequest {
    pub method: String,
    /// Relative to `/v1.0`, starting with `/`; segments already encoded
    /// (see [`crate::text::encode_path_segment`]).
    pub path: String,
    /// Encoded query string without `?` (may be empty).
    pub query: String,
    pub headers: Vec<(String, String)>,
    pub body: Option<Value>,
    /// A body that is not JSON, with its content type (e.g. base64 MIME for
    /// sendMail, sent as `text/plain`).
    pub raw_body: Option<(String, Vec<u8>)>,
}

impl GraphRequest {
    /// A request for `method` and `path` (relative to `/v1.0`). A `?query` in
    /// `path` is kept as the query.
    pub fn new(method: &str, path: &str) -> Self {
        let (path, query) = match path.split_once('?') {
            Some((p, q)) => (p.to_string(), q.to_string()),
            None => (path.to_string(), String::new()),
        };
        GraphRequest {
            method: method.to_ascii_uppercase(),
            path,
            query,
            headers: Vec::new(),
            body: None,
            raw_body: None,
        }
    }

    /// Adds encoded `key=value` pairs to the query.
    pub fn query(mut self, pairs: &[(&str, &str)]) -> Self {
        if pairs.is_empty() {
            return self;
        }
        if !self.query.is_empty() {
            self.query.push('&');
        }
        self.query.push_str(&encode_query(pairs));
        self
    }

    /// Appends an already-encoded query string (e.g. from a `@odata.nextLink`).
    pub fn raw_query(mut self, query: &str) -> Self {
        let query = query.trim_start_matches('?');
        if query.is_empty() {
            return self;
        }
        if !self.query.is_empty() {
            self.query.push('&');
        }
        self.query.push_str(query);
        self
    }

    /// Adds a request header (never `Authorization`: the host adds the token).
    pub fn header(mut self, name: &str, value: &str) -> Self {
        self.headers.push((name.to_string(), value.to_string()));
        self
    }

    /// Sets a JSON body.
    pub fn json(mut self, body: Value) -> Self {
        self.body = Some(body);
        self
    }

    /// Sets a body that is not JSON.
    pub fn raw(mut self, content_type: &str, bytes: Vec<u8>) -> Self {
        self.raw_body = Some((content_type.to_string(), bytes));
        self
    }

    /// Marks a POST safe for the host to retry on 503/504/reset, because the
    /// plugin checked that the object does not exist yet.
    pub fn retry_safe(self) -> Self {
        self.header(RETRY_SAFE_HEADER, "true")
    }
}

/// A successful response.
#[derive(Debug, Clone)]
pub struct GraphResponse {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    /// Parsed JSON body; `None` for 204 or an empty body.
    pub body: Option<Value>,
}

impl GraphResponse {
    /// The first value of a header (case-insensitive name).
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }
}

/// The Graph client. Cheap to create; holds no state but the endpoint.
#[derive(Debug, Clone)]
pub struct Graph {
    authority: String,
    base_path: String,
}

impl Default for Graph {
    fn default() -> Self {
        Self::new()
    }
}

impl Graph {
    /// A client for `https://graph.microsoft.com/v1.0`.
    pub fn new() -> Self {
        Graph {
            authority: GRAPH_AUTHORITY.into(),
            base_path: GRAPH_BASE_PATH.into(),
        }
    }

    /// `GET path?query`; the parsed body (`Value::Null` if empty).
    pub fn get(&self, path: &str, query: &[(&str, &str)]) -> Result<Value, GraphError> {
        let resp = self.request(GraphRequest::new("GET", path).query(query))?;
        Ok(resp.body.unwrap_or(Value::Null))
    }

    /// `POST path` with a JSON body; the parsed body, `None` for 204.
    pub fn post(&self, path: &str, body: &Value) -> Result<Option<Value>, GraphError> {
        Ok(self
            .request(GraphRequest::new("POST", path).json(body.clone()))?
            .body)
    }

    /// Like [`Graph::post`], marked safe for the host to retry (see
    /// [`GraphRequest::retry_safe`]).
    pub fn post_retry_safe(&self, path: &str, body: &Value) -> Result<Option<Value>, GraphError> {
        Ok(self
            .request(
                GraphRequest::new("POST", path)
                    .json(body.clone())
                    .retry_safe(),
            )?
            .body)
    }

    /// `PATCH path` with a JSON body; the parsed body, `None` for 204.
    pub fn patch(&self, path: &str, body: &Value) -> Result<Option<Value>, GraphError> {
        Ok(self
            .request(GraphRequest::new("PATCH", path).json(body.clone()))?
            .body)
    }

    /// `DELETE path`.
    pub fn delete(&self, path: &str) -> Result<(), GraphError> {
        self.request(GraphRequest::new("DELETE", path)).map(|_| ())
    }

    /// Sends any request.
    pub fn request(&self, req: GraphRequest) -> Result<GraphResponse, GraphError> {
        let client_request_id = http::new_uuid();
        let fail = |kind: GraphErrorKind, code: &str, message: String| GraphError {
            kind,
            status: 0,
            code: code.to_string(),
            message,
            request_id: None,
            client_request_id: client_request_id.clone(),
            retry_after: None,
            method: req.method.clone(),
            path: req.path.clone(),
        };
        if !req.path.starts_with('/') {
            return Err(fail(
                GraphErrorKind::Invalid,
                "InvalidPath",
                format!("path `{}` does not start with /", req.path),
            ));
        }
        if req
            .headers
            .iter()
            .any(|(k, _)| k.eq_ignore_ascii_case("authorization"))
        {
            return Err(fail(
                GraphErrorKind::Invalid,
                "AuthorizationHeader",
                "plugins never set Authorization; the host adds the token".into(),
            ));
        }

        let mut headers = vec![
            ("accept".to_string(), "application/json".to_string()),
            ("client-request-id".to_string(), client_request_id.clone()),
        ];
        let body = match (&req.body, &req.raw_body) {
            (Some(json), _) => {
                headers.push(("content-type".into(), "application/json".into()));
                Some(json.to_string().into_bytes())
            }
            (None, Some((content_type, bytes))) => {
                headers.push(("content-type".into(), content_type.clone()));
                Some(bytes.clone())
            }
            (None, None) => None,
        };
        headers.extend(req.headers.iter().cloned());

        let mut path_with_query = format!("{}{}", self.base_path, req.path);
        if !req.query.is_empty() {
            path_with_query.push('?');
            path_with_query.push_str(&req.query);
        }
        let raw = Request {
            method: req.method.clone(),
            scheme: "https".into(),
            authority: self.authority.clone(),
            path_with_query,
            headers,
            body,
        };
        let resp = match http::send(&raw, MAX_RESPONSE_BYTES) {
            Ok(r) => r,
            Err(HttpError::Denied) => {
                return Err(fail(
                    GraphErrorKind::Denied,
                    "HttpRequestDenied",
                    "the host refused the request".into(),
                ));
            }
            Err(e) => {
                let name = e.code_name();
                return Err(fail(GraphErrorKind::Transport(e), &name, name.clone()));
            }
        };

        let parsed: Option<Value> = if resp.body.iter().all(u8::is_ascii_whitespace) {
            None
        } else {
            serde_json::from_slice(&resp.body).ok()
        };
        if (200..300).contains(&resp.status) {
            if parsed.is_none() && !resp.body.iter().all(u8::is_ascii_whitespace) {
                return Err(GraphError {
                    kind: GraphErrorKind::Response,
                    status: resp.status,
                    code: "InvalidJson".into(),
                    message: "Graph's response was not JSON".into(),
                    ..fail(GraphErrorKind::Response, "", String::new())
                });
            }
            return Ok(GraphResponse {
                status: resp.status,
                headers: resp.headers,
                body: parsed,
            });
        }

        Err(response_error(
            resp.status,
            parsed.as_ref(),
            &resp.body,
            |name| resp.header(name).map(str::to_string),
            &client_request_id,
            &req,
        ))
    }

    /// Sends `requests` as JSON batches of at most [`MAX_BATCH`] (in order,
    /// one batch after the other) and returns one answer per request, in the
    /// order given: its body (`Value::Null` when empty) or its error. `Err`
    /// only when a batch itself failed (refused, throttled, unreachable).
    /// The requests are independent: none waits for another.
    pub fn batch(
        &self,
        requests: &[GraphRequest],
    ) -> Result<Vec<Result<Value, GraphError>>, GraphError> {
        let mut out = Vec::with_capacity(requests.len());
        for chunk in requests.chunks(MAX_BATCH) {
            let body = json!({"requests": chunk.iter().enumerate().map(|(i, r)| {
                let url = if r.query.is_empty() { r.path.clone() } else { format!("{}?{}", r.path, r.query) };
                let mut one = json!({"id": i.to_string(), "method": r.method, "url": url});
                if let Some(b) = &r.body {
                    one["body"] = b.clone();
                    one["headers"] = json!({"content-type": "application/json"});
                }
                one
            }).collect::<Vec<_>>()});
            let resp = self.request(GraphRequest::new("POST", "/$batch").json(body))?;
            let answers = resp.body.unwrap_or(Value::Null);
            let answers = answers["responses"].as_array().cloned().unwrap_or_default();
            for (i, req) in chunk.iter().enumerate() {
                let answer = answers
                    .iter()
                    .find(|a| a["id"].as_str() == Some(i.to_string().as_str()));
                out.push(batch_answer(answer, req));
            }
        }
        Ok(out)
    }
}

/// One answer of a `$batch` (`{id, status, headers, body}`), as the request
/// alone would have been answered.
fn batch_answer(answer: Option<&Value>, req: &GraphRequest) -> Result<Value, GraphError> {
    let Some(a) = answer else {
        return Err(GraphError {
            kind: GraphErrorKind::Response,
            status: 0,
            code: "BatchAnswerMissing".into(),
            message: "Graph's $batch response had no answer for this request".into(),
            request_id: None,
            client_request_id: String::new(),
            retry_after: None,
            method: req.method.clone(),
            path: req.path.clone(),
        });
    };
    let status = a["status"]
        .as_u64()
        .and_then(|s| u16::try_from(s).ok())
        .unwrap_or(0);
    let body = a.get("body").filter(|b| !b.is_null());
    if (200..300).contains(&status) {
        return Ok(body.cloned().unwrap_or(Value::Null));
    }
    let header = |name: &str| {
        a["headers"].as_object().and_then(|h| {
            h.iter()
                .find(|(k, _)| k.eq_ignore_ascii_case(name))
                .and_then(|(_, v)| v.as_str().map(str::to_string))
        })
    };
    Err(response_error(status, body, &[], header, "", req))
}

/// The error of a Graph answer with a failure `status`: Graph's code, message,
/// request id and Retry-After.
fn response_error(
    status: u16,
    parsed: Option<&Value>,
    raw: &[u8],
    header: impl Fn(&str) -> Option<String>,
    client_request_id: &str,
    req: &GraphRequest,
) -> GraphError {
    let err_obj = parsed.and_then(|v| v.get("error"));
    let code = err_obj
        .and_then(|e| e.get("code"))
        .and_then(Value::as_str)
        .map(str::to_string)
        .unwrap_or_else(|| format!("HTTP_{status}"));
    let message = err_obj
        .and_then(|e| e.get("message"))
        .and_then(Value::as_str)
        .map(str::to_string)
        .unwrap_or_else(|| {
            let text = String::from_utf8_lossy(raw);
            text.chars().take(300).collect()
        });
    let inner = err_obj.and_then(|e| e.get("innerError").or_else(|| e.get("innererror")));
    let request_id = inner
        .and_then(|i| i.get("request-id"))
        .and_then(Value::as_str)
        .map(str::to_string)
        .or_else(|| header("request-id"));
    let retry_after = header("retry-after").and_then(|v| v.trim().parse::<u32>().ok());
    GraphError {
        kind: GraphErrorKind::Response,
        status,
        code,
        message,
        request_id,
        client_request_id: client_request_id.to_string(),
        retry_after,
        method: req.method.clone(),
        path: req.path.clone(),
    }
}

/// Items of a Graph collection response (`value`), empty when absent.
pub fn collection(body: &Value) -> &[Value] {
    body.get("value")
        .and_then(Value::as_array)
        .map(Vec::as_slice)
        .unwrap_or(&[])
}

#[cfg(test)]
mod tests {
    use super::*;

    fn err(status: u16, code: &str) -> GraphError {
        GraphError {
            kind: GraphErrorKind::Response,
            status,
            code: code.into(),
            message: "Something happened".into(),
            request_id: Some("rid-1".into()),
            client_request_id: "cid".into(),
            retry_after: Some(7),
            method: "GET".into(),
            path: "/users/x".into(),
        }
    }

    #[test]
    fn status_maps_to_codes() {
        assert_eq!(
            ToolError::from(err(401, "InvalidAuthenticationToken")).code,
            "AUTH_001"
        );
        assert_eq!(
            ToolError::from(err(403, "Authorization_RequestDenied")).code,
            "PERM_001"
        );
        assert_eq!(
            ToolError::from(err(400, "Authorization_RequestDenied")).code,
            "PERM_001"
        );
        let rate = ToolError::from(err(429, "TooManyRequests"));
        assert_eq!(rate.code, "RATE_001");
        assert_eq!(rate.retry_after, Some(7));
        let nf = ToolError::from(err(404, "Request_ResourceNotFound"));
        assert_eq!(nf.code, "GRAPH_001");
        assert_eq!(nf.detail("graphCode").unwrap(), "Request_ResourceNotFound");
        assert_eq!(nf.detail("requestId").unwrap(), "rid-1");
        assert!(nf.message.contains("rid-1"));
    }

    #[test]
    fn denied_is_plugin_error() {
        let mut g = err(0, "HttpRequestDenied");
        g.kind = GraphErrorKind::Denied;
        let e = ToolError::from(g);
        assert_eq!(e.code, "PLUGIN_001");
        assert_eq!(
            e.message,
            "The host refused this request: the plugin's manifest does not grant it."
        );
    }

    #[test]
    fn batch_answers_become_results() {
        let req = GraphRequest::new("GET", "/users").query(&[("$select", "signInActivity")]);
        let ok = json!({"id": "0", "status": 200, "body": {"value": [1]}});
        assert_eq!(batch_answer(Some(&ok), &req).unwrap()["value"], json!([1]));
        let refused = json!({"id": "1", "status": 403, "headers": {"Retry-After": "3"},
            "body": {"error": {"code": "Authentication_RequestFromNonPremiumTenantOrB2CTenant",
                "message": "Neither tenant is B2C or tenant doesn't have premium license",
                "innerError": {"request-id": "r-9"}}}});
        let e = batch_answer(Some(&refused), &req).unwrap_err();
        assert_eq!(e.status, 403);
        assert!(e.is("Authentication_RequestFromNonPremiumTenantOrB2CTenant"));
        assert_eq!(e.request_id.as_deref(), Some("r-9"));
        assert_eq!(e.retry_after, Some(3));
        assert_eq!(e.path, "/users");
        assert_eq!(ToolError::from(e).code, "PERM_001");
        let empty = json!({"id": "2", "status": 204});
        assert_eq!(batch_answer(Some(&empty), &req).unwrap(), Value::Null);
        assert_eq!(
            batch_answer(None, &req).unwrap_err().code,
            "BatchAnswerMissing"
        );
    }

    #[test]
    fn requests_split_query() {
        let r = GraphRequest::new("get", "/users?$top=5").query(&[("$select", "id,displayName")]);
        assert_eq!(r.method, "GET");
        assert_eq!(r.path, "/users");
        assert_eq!(r.query, "$top=5&$select=id%2CdisplayName");
    }
}
