//! Arguments are checked against the tool's input schema before any plugin
//! code runs, so bad input costs no upstream request. Every problem is named
//! by its field in one INPUT_001 error.

use crate::errors::{CodedError, ErrorCode};
use jsonschema::error::ValidationErrorKind;
use serde_json::Value;

pub struct ArgumentValidator {
    validator: jsonschema::Validator,
}

/// A tool's input schema that cannot be used to check arguments.
#[derive(Debug, thiserror::Error)]
#[error("its input schema is not valid JSON Schema: {0}")]
pub struct SchemaError(String);

impl ArgumentValidator {
    pub fn new(schema: &Value) -> Result<ArgumentValidator, SchemaError> {
        let validator = jsonschema::options()
            .should_validate_formats(true)
            .build(schema)
            .map_err(|e| SchemaError(e.to_string()))?;
        Ok(ArgumentValidator { validator })
    }

    pub fn check(&self, tool: &str, args: &Value) -> Result<(), CodedError> {
        let mut problems: Vec<String> = Vec::new();
        let mut fields: Vec<String> = Vec::new();
        'errors: for err in self.validator.iter_errors(args) {
            let path = err
                .instance_path()
                .as_str()
                .trim_start_matches('/')
                .replace('/', ".");
            let mut found = Vec::new();
            if let ValidationErrorKind::Required { property } = err.kind() {
                let name = property.as_str().unwrap_or_default();
                let field = if path.is_empty() {
                    name.to_string()
                } else {
                    format!("{path}.{name}")
                };
                found.push((format!("`{}` is required", name_of(&field)), field));
            } else if let ValidationErrorKind::AdditionalProperties { unexpected } = err.kind() {
                for u in unexpected {
                    found.push((
                        format!("`{}` is not an argument of {tool}", name_of(u)),
                        u.clone(),
                    ));
                }
            } else {
                let what = if path.is_empty() {
                    "the arguments".to_string()
                } else {
                    format!("`{}`", name_of(&path))
                };
                found.push((format!("{what}: {}", short(&err.to_string())), path));
            }
            for (problem, field) in found {
                if problems.len() >= MAX_PROBLEMS {
                    problems.push("and more".into());
                    break 'errors;
                }
                problems.push(problem);
                fields.push(name_of(&field));
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

/// At most this many problems are named in one error: the error's size must
/// not grow with the input's.
const MAX_PROBLEMS: usize = 10;

/// A field name or path as the error shows it: an argument's name comes from
/// the caller, so a long one is cut like a value.
fn name_of(field: &str) -> String {
    cut(field, 64)
}

/// jsonschema quotes the whole offending value; a 10 MB string must not come back.
fn short(s: &str) -> String {
    cut(s, 200)
}

/// `text` redacted and cut to `max` characters, with `…` where it was cut.
fn cut(text: &str, max: usize) -> String {
    let text = crate::secret::redact(text);
    if text.chars().count() > max {
        format!("{}…", text.chars().take(max).collect::<String>())
    } else {
        text
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn the_error_does_not_grow_with_the_input() {
        let v = ArgumentValidator::new(&schema()).unwrap();
        // Found by fuzz/fuzz_targets/arguments.rs: a long unknown key came back
        // whole, and 300 unknown keys gave an error 7 times the input.
        let long_key = "k".repeat(300);
        let mut many = serde_json::Map::new();
        many.insert("email".into(), json!("a@b.com"));
        many.insert("license".into(), json!("BusinessBasic"));
        many.insert(long_key.clone(), json!(1));
        for i in 0..300 {
            many.insert(format!("{i}"), json!(1));
        }
        let e = v.check("create_user", &Value::Object(many)).unwrap_err();
        assert!(!e.message.contains(&long_key), "{}", e.message);
        assert!(e.message.len() < 2_000, "{} chars", e.message.len());
        let fields = e.details.as_ref().unwrap()["fields"]
            .as_array()
            .unwrap()
            .len();
        assert!(fields <= MAX_PROBLEMS, "{fields} fields");
        assert!(e.message.contains("and more"), "{}", e.message);
    }

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
