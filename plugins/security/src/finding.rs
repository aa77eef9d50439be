//! What one check reports: its status (with the reason when it failed or
//! could not run), the evidence (counts and at most ten names), and the fix —
//! the exact calls of our tools, or the admin-center path and the PowerShell
//! or Graph step where none of ours can.

use serde::Serialize;
use serde_json::{Map, Value, json};

/// How many names or objects evidence lists.
pub const MAX_NAMES: usize = 10;

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "camelCase")]
pub enum Severity {
    High,
    Medium,
    Low,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "camelCase")]
pub enum Status {
    Fail,
    Unknown,
    Pass,
}

/// Why something could not be read, as a sentence saying what to do.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Unavailable {
    pub kind: Missing,
    pub reason: String,
}

/// What kind of gap an [`Unavailable`] is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Missing {
    /// The tenant lacks a licence (Entra ID P1) the read needs.
    Licence,
    /// The app lacks a permission or role, or the plugin a grant.
    Permission,
    /// The check's (or the review's) time ran out first.
    Deadline,
    /// The read failed (service error, throttling, network).
    Failed,
    /// No selected check asked for it.
    NotRead,
}

impl Unavailable {
    pub fn new(kind: Missing, reason: impl Into<String>) -> Self {
        Unavailable {
            kind,
            reason: reason.into(),
        }
    }
}

/// A read that may have failed.
pub type Read<T> = Result<T, Unavailable>;

/// The value of a read, or why there is none.
pub fn need<T>(read: &Read<T>) -> Result<&T, Unavailable> {
    read.as_ref().map_err(Clone::clone)
}

/// One call of one of our tools.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ToolCall {
    pub tool: &'static str,
    pub arguments: Value,
}

/// How to fix a finding: our tools' calls, else the manual step.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Fix {
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub calls: Vec<ToolCall>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub admin_center: Option<&'static str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub powershell: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub graph: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub note: Option<String>,
}

impl Fix {
    /// `tool` called once with each of `arguments` (at most [`MAX_NAMES`]).
    pub fn calls(tool: &'static str, arguments: impl IntoIterator<Item = Value>) -> Fix {
        Fix {
            calls: arguments
                .into_iter()
                .take(MAX_NAMES)
                .map(|arguments| ToolCall { tool, arguments })
                .collect(),
            ..Fix::default()
        }
    }

    /// `tool` called once with `arguments`.
    pub fn call(tool: &'static str, arguments: Value) -> Fix {
        Fix::calls(tool, [arguments])
    }

    /// Where in an admin center it is fixed by hand.
    pub fn manual(admin_center: &'static str) -> Fix {
        Fix {
            admin_center: Some(admin_center),
            ..Fix::default()
        }
    }

    pub fn powershell(mut self, command: impl Into<String>) -> Fix {
        self.powershell = Some(command.into());
        self
    }

    pub fn graph(mut self, request: impl Into<String>) -> Fix {
        self.graph = Some(request.into());
        self
    }

    pub fn note(mut self, note: impl Into<String>) -> Fix {
        self.note = Some(note.into());
        self
    }
}

/// Counts and names, in the order added.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Evidence(Map<String, Value>);

impl Evidence {
    pub fn new() -> Evidence {
        Evidence::default()
    }

    pub fn with(mut self, key: &str, value: impl Into<Value>) -> Evidence {
        self.0.insert(key.into(), value.into());
        self
    }

    /// At most [`MAX_NAMES`] names under `names`, and how many more there are.
    pub fn names<S: Into<String>>(mut self, names: impl IntoIterator<Item = S>) -> Evidence {
        let all: Vec<String> = names.into_iter().map(Into::into).collect();
        if all.is_empty() {
            return self;
        }
        let more = all.len().saturating_sub(MAX_NAMES);
        self.0.insert(
            "names".into(),
            json!(all.into_iter().take(MAX_NAMES).collect::<Vec<_>>()),
        );
        if more > 0 {
            self.0.insert("more".into(), json!(more));
        }
        self
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    pub fn into_value(self) -> Value {
        Value::Object(self.0)
    }
}

/// What a check concluded.
#[derive(Debug, Clone, PartialEq)]
pub struct Outcome {
    pub status: Status,
    /// Why it could not run; for a failure, what the title and evidence do not say.
    pub reason: Option<String>,
    pub evidence: Evidence,
    pub fix: Option<Fix>,
}

impl Outcome {
    pub fn pass(evidence: Evidence) -> Outcome {
        Outcome {
            status: Status::Pass,
            reason: None,
            evidence,
            fix: None,
        }
    }

    /// A failure; the title and evidence say what is wrong, [`Outcome::because`]
    /// adds what they cannot.
    pub fn fail(evidence: Evidence, fix: Fix) -> Outcome {
        Outcome {
            status: Status::Fail,
            reason: None,
            evidence,
            fix: Some(fix),
        }
    }

    /// Why it matters, or how the baseline and our advice differ.
    pub fn because(mut self, reason: impl Into<String>) -> Outcome {
        self.reason = Some(reason.into());
        self
    }

    pub fn unknown(why: Unavailable) -> Outcome {
        Outcome {
            status: Status::Unknown,
            reason: Some(why.reason),
            evidence: Evidence::new(),
            fix: None,
        }
    }
}

/// One finding as the review returns it.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Finding {
    pub id: &'static str,
    pub title: &'static str,
    pub severity: Severity,
    pub status: Status,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    #[serde(skip_serializing_if = "Value::is_null")]
    pub evidence: Value,
    pub baseline: &'static [&'static str],
    #[serde(skip_serializing_if = "Option::is_none")]
    pub fix: Option<Fix>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn evidence_names_at_most_ten_and_counts_the_rest() {
        let e = Evidence::new()
            .with("of", 12)
            .names((0..12).map(|i| format!("u{i}@x.com")))
            .into_value();
        assert_eq!(e["names"].as_array().unwrap().len(), MAX_NAMES);
        assert_eq!(e["more"], 2);
        assert_eq!(
            Evidence::new().names(Vec::<String>::new()).into_value(),
            json!({})
        );
    }

    #[test]
    fn fixes_serialize_only_what_they_have() {
        let f = Fix::call("enable_feature", json!({"featureName": "x"}));
        assert_eq!(
            serde_json::to_value(&f).unwrap(),
            json!({"calls": [{"tool": "enable_feature", "arguments": {"featureName": "x"}}]})
        );
        let m = Fix::manual("Admin center > X").powershell("Set-X");
        assert_eq!(
            serde_json::to_value(&m).unwrap(),
            json!({"adminCenter": "Admin center > X", "powershell": "Set-X"})
        );
        assert_eq!(
            Fix::calls("t", (0..20).map(|i| json!(i))).calls.len(),
            MAX_NAMES
        );
    }
}
