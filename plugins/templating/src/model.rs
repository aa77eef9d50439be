//! A template and its category: what the templates plugin stores, renders
//! and sends, and the id a template's name gives it.

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum Category {
    /// Wire transfer instructions: sensitive; reads and sends are audited,
    /// previews mask account numbers, outside recipients need approval.
    Wiring,
    CustomerCommunication,
    /// Must carry an unsubscribe link and a postal address (CAN-SPAM).
    Marketing,
}

impl Category {
    pub fn as_str(self) -> &'static str {
        match self {
            Category::Wiring => "wiring",
            Category::CustomerCommunication => "customer_communication",
            Category::Marketing => "marketing",
        }
    }
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Template {
    pub template_id: String,
    pub template_name: String,
    pub subject: String,
    pub body_html: String,
    pub body_text: Option<String>,
    pub category: Category,
    pub variables: Vec<String>,
    pub description: Option<String>,
    pub created_at: String,
    pub updated_at: String,
}

/// A stable id from a name: lowercase ASCII letters and digits joined by
/// single hyphens ("Wiring Instructions v1" → "wiring-instructions-v1").
pub fn slug(name: &str) -> String {
    let mut out = String::new();
    for c in name.chars() {
        if c.is_ascii_alphanumeric() {
            out.push(c.to_ascii_lowercase());
        } else if !out.is_empty() && !out.ends_with('-') {
            out.push('-');
        }
    }
    let out = out.trim_end_matches('-').to_string();
    let out: String = out.chars().take(60).collect();
    if out.is_empty() {
        "template".into()
    } else {
        out.trim_end_matches('-').to_string()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn slugs() {
        for (name, want) in [
            ("Wiring Instructions v1", "wiring-instructions-v1"),
            ("  Customer -- Update!! ", "customer-update"),
            ("Ünïcode only", "n-code-only"),
            ("!!!", "template"),
        ] {
            assert_eq!(slug(name), want, "{name}");
        }
    }
}
