//! Responses and error bodies in the shapes Microsoft sends them: Graph's
//! `{"error":{"code","message","innerError":{…}}}` and Entra's OAuth2 error object.

use http::StatusCode;
use serde_json::{Value, json};
use time::OffsetDateTime;

use super::time::{entra_timestamp, rfc3339};

/// Per-request identifiers that every Graph response and error body carries.
#[derive(Clone, Debug)]
pub(crate) struct Ctx {
    pub request_id: String,
    pub client_request_id: String,
    pub now: OffsetDateTime,
}

impl Ctx {
    /// A context for one request: a new `request-id`, and the caller's `client-request-id` if it
    /// sent one (Graph echoes it), else a new one.
    pub fn new(client_request_id: Option<&str>) -> Self {
        Ctx {
            request_id: uuid::Uuid::new_v4().to_string(),
            client_request_id: client_request_id
                .map(str::to_string)
                .unwrap_or_else(|| uuid::Uuid::new_v4().to_string()),
            now: OffsetDateTime::now_utc(),
        }
    }
}

/// A response before transport: status, extra headers and an optional body.
#[derive(Debug)]
pub(crate) struct Reply {
    pub status: StatusCode,
    pub headers: Vec<(String, String)>,
    pub body: ReplyBody,
}

/// The body of a [`Reply`].
#[derive(Debug)]
pub(crate) enum ReplyBody {
    Empty,
    Json(Value),
    /// Not JSON at all (fault injection of a malformed body).
    Raw(String),
}

impl Reply {
    pub fn json(status: StatusCode, body: Value) -> Self {
        Reply {
            status,
            headers: Vec::new(),
            body: ReplyBody::Json(body),
        }
    }

    pub fn ok(body: Value) -> Self {
        Self::json(StatusCode::OK, body)
    }

    pub fn no_content() -> Self {
        Reply {
            status: StatusCode::NO_CONTENT,
            headers: Vec::new(),
            body: ReplyBody::Empty,
        }
    }

    pub fn with_header(mut self, name: &str, value: impl Into<String>) -> Self {
        self.headers.push((name.to_string(), value.into()));
        self
    }
}

/// A Graph error: the handler's decision, turned into a body with [`GraphError::into_reply`].
#[derive(Debug, Clone)]
pub(crate) struct GraphError {
    pub status: StatusCode,
    pub code: String,
    pub message: String,
    pub retry_after: Option<u64>,
}

pub(crate) type GraphResult = Result<Reply, GraphError>;

impl GraphError {
    pub fn new(status: StatusCode, code: &str, message: impl Into<String>) -> Self {
        GraphError {
            status,
            code: code.to_string(),
            message: message.into(),
            retry_after: None,
        }
    }

    /// 400 `Request_BadRequest`, the directory's validation error.
    pub fn bad_request(message: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, "Request_BadRequest", message)
    }

    /// 400 `BadRequest`, the OData layer's error (routing, query options, JSON).
    pub fn odata(message: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, "BadRequest", message)
    }

    /// 400 for a property that is missing or has a value of the wrong shape.
    pub fn invalid_property(property: &str) -> Self {
        Self::bad_request(format!(
            "Invalid value specified for property '{property}' of resource 'User'."
        ))
    }

    /// 404 `Request_ResourceNotFound` for a directory object.
    pub fn not_found(id: &str) -> Self {
        Self::new(
            StatusCode::NOT_FOUND,
            "Request_ResourceNotFound",
            format!(
                "Resource '{id}' does not exist or one of its queried reference-property objects are not present."
            ),
        )
    }

    /// 400 for a body that is not JSON.
    pub fn unreadable_body() -> Self {
        Self::odata(
            "Unable to read JSON request payload. Please ensure Content-Type header is set and payload is of valid JSON format.",
        )
    }

    /// 403 for a token whose roles do not allow the operation.
    pub fn forbidden() -> Self {
        Self::new(
            StatusCode::FORBIDDEN,
            "Authorization_RequestDenied",
            "Insufficient privileges to complete the operation.",
        )
    }

    pub fn into_reply(self, ctx: &Ctx) -> Reply {
        let mut reply = Reply::json(
            self.status,
            graph_error_body(ctx, &self.code, &self.message),
        );
        if let Some(secs) = self.retry_after {
            reply = reply.with_header("Retry-After", secs.to_string());
        }
        reply
    }
}

/// The body Graph sends with every error.
pub(crate) fn graph_error_body(ctx: &Ctx, code: &str, message: &str) -> Value {
    json!({
        "error": {
            "code": code,
            "message": message,
            "innerError": {
                "date": rfc3339(ctx.now),
                "request-id": ctx.request_id,
                "client-request-id": ctx.client_request_id,
            }
        }
    })
}

/// An Entra token-endpoint error (`invalid_client`, `unauthorized_client`, …).
pub(crate) fn entra_error(
    ctx: &Ctx,
    status: StatusCode,
    error: &str,
    aadsts: u32,
    description: &str,
) -> Reply {
    let timestamp = entra_timestamp(ctx.now);
    let description = format!(
        "AADSTS{aadsts}: {description} Trace ID: {} Correlation ID: {} Timestamp: {timestamp}",
        ctx.request_id, ctx.client_request_id
    );
    Reply::json(
        status,
        json!({
            "error": error,
            "error_description": description,
            "error_codes": [aadsts],
            "timestamp": timestamp,
            "trace_id": ctx.request_id,
            "correlation_id": ctx.client_request_id,
            "error_uri": format!("https://login.microsoftonline.com/error?code={aadsts}"),
        }),
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    #[test]
    fn graph_error_body_has_documented_shape() {
        let ctx = Ctx::new(Some("abc"));
        let body = graph_error_body(&ctx, "Request_BadRequest", "bad");
        assert_eq!(body["error"]["code"], "Request_BadRequest");
        assert_eq!(body["error"]["innerError"]["client-request-id"], "abc");
        assert!(
            body["error"]["innerError"]["date"]
                .as_str()
                .unwrap()
                .ends_with('Z')
        );
    }
}
