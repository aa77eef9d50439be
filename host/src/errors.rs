//! The error codes a user sees (ARCHITECTURE.md §5) and the coded error that
//! carries one to the MCP edge. Every message is a sentence saying what to do.

use serde::Serialize;
use serde_json::Value;
use std::fmt;

/// A documented error code. The spec's codes plus the ones the host adds.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize)]
pub enum ErrorCode {
    #[serde(rename = "AUTH_001")]
    Auth001,
    #[serde(rename = "AUTH_002")]
    Auth002,
    #[serde(rename = "PERM_001")]
    Perm001,
    #[serde(rename = "USER_001")]
    User001,
    #[serde(rename = "TEAM_001")]
    Team001,
    #[serde(rename = "TMPL_001")]
    Tmpl001,
    #[serde(rename = "RATE_001")]
    Rate001,
    #[serde(rename = "GRAPH_001")]
    Graph001,
    #[serde(rename = "INPUT_001")]
    Input001,
    #[serde(rename = "CONFIRM_001")]
    Confirm001,
    #[serde(rename = "PLUGIN_001")]
    Plugin001,
    #[serde(rename = "STORE_001")]
    Store001,
    #[serde(rename = "EXO_001")]
    Exo001,
    #[serde(rename = "LICENSE_001")]
    License001,
}

impl ErrorCode {
    pub const ALL: [ErrorCode; 14] = [
        ErrorCode::Auth001,
        ErrorCode::Auth002,
        ErrorCode::Perm001,
        ErrorCode::User001,
        ErrorCode::Team001,
        ErrorCode::Tmpl001,
        ErrorCode::Rate001,
        ErrorCode::Graph001,
        ErrorCode::Input001,
        ErrorCode::Confirm001,
        ErrorCode::Plugin001,
        ErrorCode::Store001,
        ErrorCode::Exo001,
        ErrorCode::License001,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            ErrorCode::Auth001 => "AUTH_001",
            ErrorCode::Auth002 => "AUTH_002",
            ErrorCode::Perm001 => "PERM_001",
            ErrorCode::User001 => "USER_001",
            ErrorCode::Team001 => "TEAM_001",
            ErrorCode::Tmpl001 => "TMPL_001",
            ErrorCode::Rate001 => "RATE_001",
            ErrorCode::Graph001 => "GRAPH_001",
            ErrorCode::Input001 => "INPUT_001",
            ErrorCode::Confirm001 => "CONFIRM_001",
            ErrorCode::Plugin001 => "PLUGIN_001",
            ErrorCode::Store001 => "STORE_001",
            ErrorCode::Exo001 => "EXO_001",
            ErrorCode::License001 => "LICENSE_001",
        }
    }

    /// Parses a code a plugin returned; plugins may only use documented codes.
    pub fn parse(code: &str) -> Option<ErrorCode> {
        ErrorCode::ALL.into_iter().find(|c| c.as_str() == code)
    }
}

impl fmt::Display for ErrorCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// An error with a code, a sentence for a person, and optional details
/// (Graph's request-id, the field at fault, ...).
#[derive(Clone, Debug, PartialEq)]
pub struct CodedError {
    pub code: ErrorCode,
    pub message: String,
    pub retry_after: Option<u32>,
    pub details: Option<Value>,
}

impl CodedError {
    pub fn new(code: ErrorCode, message: impl Into<String>) -> Self {
        CodedError {
            code,
            message: message.into(),
            retry_after: None,
            details: None,
        }
    }

    pub fn with_details(mut self, details: Value) -> Self {
        self.details = Some(details);
        self
    }

    /// The JSON a client receives as `structuredContent` of a failed call.
    pub fn to_json(&self) -> Value {
        let mut v = serde_json::json!({
            "error": { "code": self.code.as_str(), "message": self.message }
        });
        if let Some(r) = self.retry_after {
            v["error"]["retryAfter"] = r.into();
        }
        if let Some(d) = &self.details {
            v["error"]["details"] = d.clone();
        }
        v
    }
}

impl fmt::Display for CodedError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.code, self.message)
    }
}

impl std::error::Error for CodedError {}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_round_trip_through_their_names() {
        for code in ErrorCode::ALL {
            assert_eq!(ErrorCode::parse(code.as_str()), Some(code));
            assert_eq!(serde_json::to_value(code).unwrap(), code.as_str());
        }
        assert_eq!(ErrorCode::parse("NOPE_001"), None);
    }

    #[test]
    fn json_form_carries_code_message_and_details() {
        let e = CodedError::new(ErrorCode::Input001, "Field `email` is not an address.")
            .with_details(serde_json::json!({"field": "email"}));
        let v = e.to_json();
        assert_eq!(v["error"]["code"], "INPUT_001");
        assert_eq!(v["error"]["details"]["field"], "email");
        assert_eq!(e.to_string(), "INPUT_001: Field `email` is not an address.");
    }
}
