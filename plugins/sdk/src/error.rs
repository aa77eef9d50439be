//! The error a tool returns: a documented code, a sentence saying what to do,
//! and optional details (Graph's request-id, the field at fault, ...).

use serde_json::{Map, Value};
use std::fmt;

/// The documented error codes (spec §5 and ARCHITECTURE.md §5).
pub mod codes {
    /// Authentication with Microsoft 365 failed.
    pub const AUTH_001: &str = "AUTH_001";
    /// The access token expired.
    pub const AUTH_002: &str = "AUTH_002";
    /// The app lacks a permission the operation needs.
    pub const PERM_001: &str = "PERM_001";
    /// The user already exists.
    pub const USER_001: &str = "USER_001";
    /// The team name is taken.
    pub const TEAM_001: &str = "TEAM_001";
    /// The template does not exist.
    pub const TMPL_001: &str = "TMPL_001";
    /// Rate limit exceeded.
    pub const RATE_001: &str = "RATE_001";
    /// Microsoft Graph returned an error.
    pub const GRAPH_001: &str = "GRAPH_001";
    /// The arguments are invalid.
    pub const INPUT_001: &str = "INPUT_001";
    /// The operation needs confirmation.
    pub const CONFIRM_001: &str = "CONFIRM_001";
    /// The plugin exceeded its grants or failed.
    pub const PLUGIN_001: &str = "PLUGIN_001";
    /// Storage error.
    pub const STORE_001: &str = "STORE_001";
    /// Exchange Online error.
    pub const EXO_001: &str = "EXO_001";
    /// No free license seat, or the SKU is not in the tenant.
    pub const LICENSE_001: &str = "LICENSE_001";
}

/// A failure the model sees. `message` is a sentence that says what to do.
#[derive(Debug, Clone, PartialEq)]
pub struct ToolError {
    pub code: String,
    pub message: String,
    /// Seconds after which a retry may succeed.
    pub retry_after: Option<u32>,
    /// Extra JSON for the caller (an object), e.g. `{"field": "password"}`.
    pub details: Option<Value>,
}

impl ToolError {
    /// An error with any code; prefer the named constructors.
    pub fn new(code: &str, message: impl Into<String>) -> Self {
        ToolError {
            code: code.to_string(),
            message: message.into(),
            retry_after: None,
            details: None,
        }
    }

    /// Authentication with Microsoft 365 failed (`AUTH_001`).
    pub fn auth(message: impl Into<String>) -> Self {
        Self::new(codes::AUTH_001, message)
    }
    /// The token expired (`AUTH_002`).
    pub fn auth_expired(message: impl Into<String>) -> Self {
        Self::new(codes::AUTH_002, message)
    }
    /// Insufficient permissions (`PERM_001`).
    pub fn permission(message: impl Into<String>) -> Self {
        Self::new(codes::PERM_001, message)
    }
    /// The user already exists (`USER_001`).
    pub fn user_exists(message: impl Into<String>) -> Self {
        Self::new(codes::USER_001, message)
    }
    /// The team name is taken (`TEAM_001`).
    pub fn team_exists(message: impl Into<String>) -> Self {
        Self::new(codes::TEAM_001, message)
    }
    /// The template does not exist (`TMPL_001`).
    pub fn template_not_found(message: impl Into<String>) -> Self {
        Self::new(codes::TMPL_001, message)
    }
    /// Throttled (`RATE_001`); `retry_after` in seconds when known.
    pub fn rate_limited(message: impl Into<String>, retry_after: Option<u32>) -> Self {
        Self::new(codes::RATE_001, message).with_retry_after(retry_after)
    }
    /// Microsoft Graph returned an error (`GRAPH_001`).
    pub fn graph(message: impl Into<String>) -> Self {
        Self::new(codes::GRAPH_001, message)
    }
    /// Invalid input (`INPUT_001`); `field` is the argument at fault, as a
    /// dotted path (`settings.automaticReplies.status`), when there is one.
    pub fn input(field: Option<&str>, message: impl Into<String>) -> Self {
        let e = Self::new(codes::INPUT_001, message);
        match field {
            Some(f) => e.with_detail("field", f),
            None => e,
        }
    }
    /// Confirmation required (`CONFIRM_001`).
    pub fn confirm(message: impl Into<String>) -> Self {
        Self::new(codes::CONFIRM_001, message)
    }
    /// The plugin exceeded its grants or failed (`PLUGIN_001`).
    pub fn plugin(message: impl Into<String>) -> Self {
        Self::new(codes::PLUGIN_001, message)
    }
    /// Storage error (`STORE_001`).
    pub fn store(message: impl Into<String>) -> Self {
        Self::new(codes::STORE_001, message)
    }
    /// Exchange Online error (`EXO_001`).
    pub fn exchange(message: impl Into<String>) -> Self {
        Self::new(codes::EXO_001, message)
    }
    /// No free license seat or unknown SKU (`LICENSE_001`).
    pub fn license(message: impl Into<String>) -> Self {
        Self::new(codes::LICENSE_001, message)
    }

    /// The same error under another code, e.g. a Graph conflict that is
    /// USER_001 or TEAM_001 to the caller (message and details kept).
    pub fn with_code(mut self, code: &str) -> Self {
        self.code = code.to_string();
        self
    }

    /// Sets `retry_after` (seconds).
    pub fn with_retry_after(mut self, seconds: Option<u32>) -> Self {
        self.retry_after = seconds;
        self
    }

    /// Adds `key: value` to the details object (creating it if needed).
    pub fn with_detail(mut self, key: &str, value: impl Into<Value>) -> Self {
        let mut map = match self.details.take() {
            Some(Value::Object(m)) => m,
            Some(other) => {
                let mut m = Map::new();
                m.insert("detail".into(), other);
                m
            }
            None => Map::new(),
        };
        map.insert(key.to_string(), value.into());
        self.details = Some(Value::Object(map));
        self
    }

    /// Puts `prefix` in front of the message (e.g. what was already done).
    pub fn with_prefix(mut self, prefix: &str) -> Self {
        self.message = format!("{prefix} {}", self.message);
        self
    }

    /// A detail's value, if present.
    pub fn detail(&self, key: &str) -> Option<&Value> {
        self.details.as_ref().and_then(|d| d.get(key))
    }
}

impl fmt::Display for ToolError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.code, self.message)
    }
}

impl std::error::Error for ToolError {}

impl From<ToolError> for crate::bindings::m365::plugin::types::ToolError {
    fn from(e: ToolError) -> Self {
        crate::bindings::m365::plugin::types::ToolError {
            code: e.code,
            message: e.message,
            retry_after: e.retry_after,
            details: e.details.map(|d| d.to_string()),
        }
    }
}

impl From<crate::bindings::m365::plugin::types::ToolError> for ToolError {
    fn from(e: crate::bindings::m365::plugin::types::ToolError) -> Self {
        ToolError {
            code: e.code,
            message: e.message,
            retry_after: e.retry_after,
            details: e.details.and_then(|d| serde_json::from_str(&d).ok()),
        }
    }
}
