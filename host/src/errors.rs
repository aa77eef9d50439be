//! The coded error that carries one of the documented codes (the policy
//! crate's `ErrorCode`, ARCHITECTURE.md §5) to the MCP edge. Every message is
//! a sentence saying what to do.

pub use m365_policy::ErrorCode;
use m365_policy::arguments::ArgumentsError;
use serde_json::Value;
use std::fmt;

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

/// Arguments a tool's schema refused: INPUT_001 naming the fields at fault.
impl From<ArgumentsError> for CodedError {
    fn from(e: ArgumentsError) -> CodedError {
        let details = e.details();
        CodedError::new(e.code(), e.message).with_details(details)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn json_form_carries_code_message_and_details() {
        let e = CodedError::new(ErrorCode::Input001, "Field `email` is not an address.")
            .with_details(serde_json::json!({"field": "email"}));
        let v = e.to_json();
        assert_eq!(v["error"]["code"], "INPUT_001");
        assert_eq!(v["error"]["details"]["field"], "email");
        assert_eq!(e.to_string(), "INPUT_001: Field `email` is not an address.");
    }

    #[test]
    fn refused_arguments_are_input_001_with_their_fields() {
        let e = CodedError::from(ArgumentsError {
            message: "Invalid arguments for t: `a` is required. Correct them and call again."
                .into(),
            fields: vec!["a".into()],
        });
        assert_eq!(e.code, ErrorCode::Input001);
        assert_eq!(
            e.message,
            "Invalid arguments for t: `a` is required. Correct them and call again."
        );
        assert_eq!(e.details, Some(serde_json::json!({"fields": ["a"]})));
    }
}
