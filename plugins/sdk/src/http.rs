//! Raw HTTP over `wasi:http/outgoing-handler`, with no conveniences: the
//! request goes out exactly as given (method, scheme, authority, path, headers,
//! body). The host's capability gate decides whether it is sent at all.
//!
//! Plugins normally use [`crate::graph::Graph`]; this layer is for it and for
//! test plugins that must send arbitrary requests.

use crate::error::ToolError;
use serde_json::json;
use wasi::http::outgoing_handler;
use wasi::http::types::{
    ErrorCode, Fields, HeaderError, Method, OutgoingBody, OutgoingRequest, Scheme,
};
use wasi::io::streams::StreamError;

/// The most a single `blocking_write_and_flush` may take (wasi:io contract).
const WRITE_CHUNK: usize = 4096;
/// How much to ask for per read.
const READ_CHUNK: u64 = 64 * 1024;

/// One request, sent as given.
#[derive(Debug, Clone, Default)]
pub struct Request {
    /// `GET`, `POST`, ... or any other token.
    pub method: String,
    /// `https` or `http` (anything else is passed through as given).
    pub scheme: String,
    /// `host[:port]`.
    pub authority: String,
    /// Path and query, as sent (no normalisation, no encoding).
    pub path_with_query: String,
    pub headers: Vec<(String, String)>,
    pub body: Option<Vec<u8>>,
}

/// A response whose body was read completely.
#[derive(Debug, Clone)]
pub struct Response {
    pub status: u16,
    /// Header names are lower-case as wasi:http reports them.
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
}

impl Response {
    /// The first value of a header (case-insensitive name).
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }
}

/// Why a request produced no (complete) response.
#[derive(Debug, Clone, PartialEq)]
pub enum HttpError {
    /// The host refused the request (`HttpRequestDenied`): not granted.
    Denied,
    /// A header was refused when building the request.
    Header { name: String, forbidden: bool },
    /// The method, scheme, authority or path could not be set.
    InvalidRequest(&'static str),
    /// Any other wasi-http error code (DNS, connection, TLS, ...), by name.
    Transport(String),
    /// The response body exceeded the limit given to [`send`].
    BodyTooLarge(usize),
    /// A stream failed mid-body.
    Stream(String),
}

impl HttpError {
    /// The wasi-http error-code name (`HttpRequestDenied`, `ConnectionRefused`, ...)
    /// or a short name for errors raised before sending.
    pub fn code_name(&self) -> String {
        match self {
            HttpError::Denied => "HttpRequestDenied".into(),
            HttpError::Header {
                forbidden: true, ..
            } => "HeaderForbidden".into(),
            HttpError::Header { .. } => "HeaderInvalidSyntax".into(),
            HttpError::InvalidRequest(_) => "HttpRequestUriInvalid".into(),
            HttpError::Transport(name) => name.clone(),
            HttpError::BodyTooLarge(_) => "HttpResponseBodySize".into(),
            HttpError::Stream(_) => "HttpResponseIncomplete".into(),
        }
    }

    /// A tool error for this failure: `PLUGIN_001` when the host or the wasi
    /// layer refused the request, `GRAPH_001` when it could not be completed.
    pub fn to_tool_error(&self, what: &str) -> ToolError {
        let e = match self {
            HttpError::Denied => ToolError::plugin(
                "The host refused this request: the plugin's manifest does not grant it.",
            ),
            HttpError::Header {
                name,
                forbidden: true,
            } => ToolError::plugin(format!(
                "The host refused the request header `{name}`; plugins may not set it."
            )),
            HttpError::Header { name, .. } => ToolError::plugin(format!(
                "The request header `{name}` is not valid HTTP; fix the plugin."
            )),
            HttpError::InvalidRequest(part) => ToolError::plugin(format!(
                "The request's {part} was refused as invalid; fix the plugin."
            )),
            HttpError::Transport(name) => ToolError::graph(format!(
                "Could not complete the request to {what} ({name}); check the network and the \
                 host's endpoint configuration, then retry."
            )),
            HttpError::BodyTooLarge(limit) => ToolError::graph(format!(
                "The response from {what} was larger than {} MiB; ask for less (fewer items, \
                 $select) and retry.",
                limit >> 20
            )),
            HttpError::Stream(detail) => ToolError::graph(format!(
                "The response from {what} broke off ({detail}); retry."
            )),
        };
        e.with_detail("wasiHttpError", self.code_name())
    }
}

fn error_code_name(e: &ErrorCode) -> String {
    // The Debug form is `ErrorCode::Name(payload)`; keep the bare name, and the
    // payload for internal errors, which carry the host's explanation.
    let dbg = format!("{e:?}");
    let dbg = dbg.strip_prefix("ErrorCode::").unwrap_or(&dbg);
    match e {
        ErrorCode::InternalError(Some(msg)) => format!("InternalError: {msg}"),
        _ => dbg.split('(').next().unwrap_or(dbg).to_string(),
    }
}

fn map_error_code(e: ErrorCode) -> HttpError {
    match e {
        ErrorCode::HttpRequestDenied => HttpError::Denied,
        other => HttpError::Transport(error_code_name(&other)),
    }
}

fn method_of(m: &str) -> Method {
    match m {
        "GET" => Method::Get,
        "HEAD" => Method::Head,
        "POST" => Method::Post,
        "PUT" => Method::Put,
        "DELETE" => Method::Delete,
        "CONNECT" => Method::Connect,
        "OPTIONS" => Method::Options,
        "TRACE" => Method::Trace,
        "PATCH" => Method::Patch,
        other => Method::Other(other.to_string()),
    }
}

fn scheme_of(s: &str) -> Scheme {
    match s {
        "https" | "HTTPS" => Scheme::Https,
        "http" | "HTTP" => Scheme::Http,
        other => Scheme::Other(other.to_string()),
    }
}

/// Sends `req` and reads the whole response body, refusing bodies larger than
/// `max_body` bytes. Blocks until done.
pub fn send(req: &Request, max_body: usize) -> Result<Response, HttpError> {
    let fields = Fields::new();
    for (name, value) in &req.headers {
        fields
            .append(name, value.as_bytes())
            .map_err(|e| HttpError::Header {
                name: name.clone(),
                forbidden: matches!(e, HeaderError::Forbidden),
            })?;
    }
    // Declared up front, so the host can refuse an oversized body before any
    // of it is written, and wasi-http checks that exactly this much follows.
    if let Some(body) = &req.body
        && !req
            .headers
            .iter()
            .any(|(k, _)| k.eq_ignore_ascii_case("content-length"))
    {
        fields
            .append("content-length", body.len().to_string().as_bytes())
            .map_err(|e| HttpError::Header {
                name: "content-length".into(),
                forbidden: matches!(e, HeaderError::Forbidden),
            })?;
    }
    let outgoing = OutgoingRequest::new(fields);
    outgoing
        .set_method(&method_of(&req.method))
        .map_err(|()| HttpError::InvalidRequest("method"))?;
    outgoing
        .set_scheme(Some(&scheme_of(&req.scheme)))
        .map_err(|()| HttpError::InvalidRequest("scheme"))?;
    outgoing
        .set_authority(Some(&req.authority))
        .map_err(|()| HttpError::InvalidRequest("authority"))?;
    outgoing
        .set_path_with_query(Some(&req.path_with_query))
        .map_err(|()| HttpError::InvalidRequest("path"))?;

    let body = outgoing
        .body()
        .map_err(|()| HttpError::InvalidRequest("body"))?;
    let future = outgoing_handler::handle(outgoing, None).map_err(map_error_code)?;
    if let Some(bytes) = &req.body {
        let stream = body
            .write()
            .map_err(|()| HttpError::Stream("request body unavailable".into()))?;
        for chunk in bytes.chunks(WRITE_CHUNK) {
            stream
                .blocking_write_and_flush(chunk)
                .map_err(|e| HttpError::Stream(format!("writing the request body: {e:?}")))?;
        }
        drop(stream);
    }
    OutgoingBody::finish(body, None).map_err(map_error_code)?;

    future.subscribe().block();
    let response = match future.get() {
        Some(Ok(Ok(resp))) => resp,
        Some(Ok(Err(code))) => return Err(map_error_code(code)),
        Some(Err(())) | None => {
            return Err(HttpError::Stream("the response was already taken".into()));
        }
    };
    drop(future);

    let status = response.status();
    let headers = response
        .headers()
        .entries()
        .into_iter()
        .map(|(k, v)| {
            (
                k.to_ascii_lowercase(),
                String::from_utf8_lossy(&v).into_owned(),
            )
        })
        .collect();
    let incoming = response
        .consume()
        .map_err(|()| HttpError::Stream("response body unavailable".into()))?;
    let mut data = Vec::new();
    {
        let stream = incoming
            .stream()
            .map_err(|()| HttpError::Stream("response body unavailable".into()))?;
        loop {
            match stream.blocking_read(READ_CHUNK) {
                Ok(chunk) => {
                    if data.len() + chunk.len() > max_body {
                        return Err(HttpError::BodyTooLarge(max_body));
                    }
                    data.extend_from_slice(&chunk);
                }
                Err(StreamError::Closed) => break,
                Err(StreamError::LastOperationFailed(e)) => {
                    return Err(HttpError::Stream(e.to_debug_string()));
                }
            }
        }
    }
    drop(incoming);
    drop(response);
    Ok(Response {
        status,
        headers,
        body: data,
    })
}

/// A fresh random UUID (v4) from `wasi:random`, e.g. for `client-request-id`.
pub fn new_uuid() -> String {
    use wasi::random::random::get_random_u64;
    crate::text::uuid_v4(get_random_u64(), get_random_u64())
}

/// The JSON shape the probe and tests use for a response.
pub fn response_json(resp: &Response) -> serde_json::Value {
    let headers: serde_json::Map<String, serde_json::Value> = resp
        .headers
        .iter()
        .map(|(k, v)| (k.clone(), json!(v)))
        .collect();
    json!({
        "status": resp.status,
        "headers": headers,
        "body": String::from_utf8_lossy(&resp.body),
    })
}
