//! Arguments are checked against the tool's input schema before any plugin
//! code runs, so bad input costs no upstream request. Every problem is named
//! by its field in one INPUT_001 error.

use crate::errors::{CodedError, ErrorCode};
use jsonschema::error::ValidationErrorKind;
use serde_json::Value;

pub struct ArgumentValidator {
    validator: jsonschema::Validator,
}

impl ArgumentValidator {
    pub fn new(schema: &Value) -> Result<ArgumentValidator, String> {
        let validator = jsonschema::options()
            .should_validate_formats(true)
            .build(schema)
            .map_err(|e| format!("its input schema is not valid JSON Schema: {e}"))?;
        Ok(ArgumentValidator { validator })
    }

    pub fn check(&self, tool: &str, args: &Value) -> Result<(), CodedError> {
        let mut problems = Vec::new();
        let mut fields = Vec::new();
        for err in self.validator.iter_errors(args) {
            let mut field = err
                .instance_path()
                .as_str()
                .trim_start_matches('/')
                .replace('/', ".");
            if let ValidationErrorKind::Required { property } = err.kind() {
                let name = property.as_str().unwrap_or_default();
                field = if field.is_empty() {
                    name.to_string()
                } else {
                    format!("{field}.{name}")
                };
                problems.push(format!("`{field}` is required"));
            } else if let ValidationErrorKind::AdditionalProperties { unexpected } = err.kind() {
                for u in unexpected {
                    problems.push(format!("`{u}` is not an argument of {tool}"));
                }
                field = unexpected.join(",");
            } else {
                let what = if field.is_empty() {
                    "the arguments".to_string()
                } else {
                    format!("`{field}`")
                };
                problems.push(format!("{what}: {}", short(&err.to_string())));
            }
            fields.push(field);
            if problems.len() >= 10 {
                break;
            }
        }
        if problems.is_empty() {
            return Ok(());
        }
        Err(CodedError::new(
            ErrorCode::Input001,
            format!(
                "Invalid arguments for {tool}: {}. Correct them and call again.",
                problems.join("; ")
            ),
        )
        .with_details(serde_json::json!({ "fields": fields })))
    }
}

/// jsonschema quotes the whole offending value; a 10 MB string must not come back.
fn short(s: &str) -> String {
    let s = crate::secret::redact(s);
    if s.chars().count() > 200 {
        format!("{}…", s.chars().take(200).collect::<String>())
    } else {
        s
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn schema() -> Value {
        json!({
            "type": "object",
            "properties": {
                "email": {"type": "string", "format": "email"},
                "license": {"enum": ["BusinessBasic", "BusinessStandard"]},
                "count": {"type": "integer"}
            },
            "required": ["email", "license"],
            "additionalProperties": false
        })
    }

    #[test]
    fn each_kind_of_problem_names_its_field() {
        let v = ArgumentValidator::new(&schema()).unwrap();
        let cases = [
            (
                json!({"email": "not-an-address", "license": "BusinessBasic"}),
                "email",
            ),
            (
                json!({"email": "a@b.com", "license": "Enterprise"}),
                "license",
            ),
            (json!({"license": "BusinessBasic"}), "email"),
            (
                json!({"email": "a@b.com", "license": "BusinessBasic", "count": "3"}),
                "count",
            ),
            (
                json!({"email": "a@b.com", "license": "BusinessBasic", "extra": 1}),
                "extra",
            ),
        ];
        for (args, field) in cases {
            let e = v.check("create_user", &args).unwrap_err();
            assert_eq!(e.code, ErrorCode::Input001);
            assert!(
                e.message.contains(&format!("`{field}`")),
                "{field}: {}",
                e.message
            );
            assert!(
                e.details.as_ref().unwrap()["fields"]
                    .to_string()
                    .contains(field)
            );
        }
        assert!(
            v.check(
                "create_user",
                &json!({"email": "a@b.com", "license": "BusinessBasic"})
            )
            .is_ok()
        );
    }
}
