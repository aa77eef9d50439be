//! Rendering with minijinja, locked down: each part (subject, HTML, text) is
//! its own template in its own environment with no loader, so there is
//! nothing to include or import; undefined is an error; only the declared
//! variables exist; values are HTML-escaped in the HTML body only; fuel
//! bounds the work and a size check bounds the output.

use crate::model::Template;
use m365_plugin_sdk::ToolError;
use minijinja::{AutoEscape, Environment, UndefinedBehavior};
use serde_json::{Map, Value};
use std::collections::BTreeSet;

/// Instructions one part may run: plenty for a letter, nothing like a loop
/// over millions.
const FUEL: u64 = 200_000;
/// Largest rendered part (Graph takes 4 MB per request).
pub const MAX_OUTPUT: usize = 512 * 1024;
/// Largest value of one variable.
const MAX_VALUE: usize = 10_000;
const MAX_VARIABLES: usize = 100;

/// Tags that would reach other templates.
const FORBIDDEN_TAGS: &[&str] = &["include", "import", "from", "extends"];

#[derive(Clone, Copy, PartialEq, Eq)]
pub enum Part {
    Subject,
    Html,
    Text,
}

impl Part {
    fn name(self) -> &'static str {
        match self {
            Part::Subject => "subject",
            Part::Html => "bodyHtml",
            Part::Text => "bodyText",
        }
    }
}

fn environment(part: Part) -> Environment<'static> {
    let mut env = Environment::new();
    env.set_undefined_behavior(UndefinedBehavior::Strict);
    env.set_fuel(Some(FUEL));
    let escape = if part == Part::Html {
        AutoEscape::Html
    } else {
        AutoEscape::None
    };
    env.set_auto_escape_callback(move |_| escape);
    env
}

fn syntax_error(part: Part, e: &minijinja::Error) -> ToolError {
    ToolError::input(
        Some(part.name()),
        format!(
            "{} is not a valid template: {}. Variables are written {{{{ name }}}}; fix it and try again.",
            part.name(),
            e.detail().unwrap_or(&e.to_string())
        ),
    )
}

/// Refuses `{% include %}` and the like, whatever the spacing or trim marks.
fn check_tags(part: Part, source: &str) -> Result<(), ToolError> {
    let mut rest = source;
    while let Some(i) = rest.find("{%") {
        let tag = rest[i + 2..].trim_start_matches(['-', '+']).trim_start();
        let word: String = tag
            .chars()
            .take_while(|c| c.is_ascii_alphabetic())
            .collect();
        if FORBIDDEN_TAGS.contains(&word.as_str()) {
            return Err(ToolError::input(
                Some(part.name()),
                format!(
                    "{} uses {{% {word} %}}; templates cannot include or import other templates. Put the text in the template itself.",
                    part.name()
                ),
            ));
        }
        rest = &rest[i + 2..];
    }
    Ok(())
}

/// The variables a part uses.
pub fn used_variables(part: Part, source: &str) -> Result<BTreeSet<String>, ToolError> {
    check_tags(part, source)?;
    let env = environment(part);
    let tmpl = env
        .template_from_named_str(part.name(), source)
        .map_err(|e| syntax_error(part, &e))?;
    Ok(tmpl.undeclared_variables(false).into_iter().collect())
}

/// Checks a template's parts against its declared variables: every variable
/// used must be declared (names the ones that are not).
pub fn check_template(t: &Template) -> Result<(), ToolError> {
    let declared: BTreeSet<&str> = t.variables.iter().map(String::as_str).collect();
    let mut undeclared = BTreeSet::new();
    let parts = [
        (Part::Subject, Some(t.subject.as_str())),
        (Part::Html, Some(t.body_html.as_str())),
        (Part::Text, t.body_text.as_deref()),
    ];
    for (part, source) in parts {
        if let Some(source) = source {
            for v in used_variables(part, source)? {
                if !declared.contains(v.as_str()) {
                    undeclared.insert(v);
                }
            }
        }
    }
    if !undeclared.is_empty() {
        let names: Vec<String> = undeclared.into_iter().collect();
        return Err(ToolError::input(
            Some("variables"),
            format!(
                "The template uses variables it does not declare: {}. Add them to `variables` or remove them from the text.",
                names.join(", ")
            ),
        )
        .with_detail("undeclared", names));
    }
    Ok(())
}

/// Checks the values given for a render: exactly the declared variables,
/// each a string, number or boolean of bounded size.
pub fn check_values(t: &Template, values: &Map<String, Value>) -> Result<(), ToolError> {
    let declared: BTreeSet<&str> = t.variables.iter().map(String::as_str).collect();
    let missing: Vec<&str> = declared
        .iter()
        .filter(|v| !values.contains_key(**v))
        .copied()
        .collect();
    let extra: Vec<&str> = values
        .keys()
        .map(String::as_str)
        .filter(|k| !declared.contains(k))
        .collect();
    if !missing.is_empty() || !extra.is_empty() {
        let mut why = Vec::new();
        if !missing.is_empty() {
            why.push(format!("missing {}", missing.join(", ")));
        }
        if !extra.is_empty() {
            why.push(format!("not declared by the template {}", extra.join(", ")));
        }
        return Err(ToolError::input(
            Some("variables"),
            format!(
                "The variables do not match template {}: {}. It takes exactly: {}.",
                t.template_id,
                why.join("; "),
                t.variables.join(", ")
            ),
        )
        .with_detail("missing", missing)
        .with_detail("undeclared", extra));
    }
    if values.len() > MAX_VARIABLES {
        return Err(ToolError::input(
            Some("variables"),
            format!("At most {MAX_VARIABLES} variables."),
        ));
    }
    for (k, v) in values {
        let ok = match v {
            Value::String(s) => s.len() <= MAX_VALUE,
            Value::Number(_) | Value::Bool(_) => true,
            _ => false,
        };
        if !ok {
            return Err(ToolError::input(
                Some(&format!("variables.{k}")),
                format!(
                    "Variable {k} must be a string (at most {MAX_VALUE} characters), a number or true/false."
                ),
            ));
        }
    }
    Ok(())
}

/// Renders one part with `values` (already checked).
pub fn render(part: Part, source: &str, values: &Map<String, Value>) -> Result<String, ToolError> {
    check_tags(part, source)?;
    let env = environment(part);
    let tmpl = env
        .template_from_named_str(part.name(), source)
        .map_err(|e| syntax_error(part, &e))?;
    let out = tmpl
        .render(minijinja::Value::from_serialize(values))
        .map_err(|e| {
            let why = match e.kind() {
                minijinja::ErrorKind::OutOfFuel => {
                    "it does too much work (a loop that runs too long?)".to_string()
                }
                _ => e
                    .detail()
                    .map(str::to_string)
                    .unwrap_or_else(|| e.to_string()),
            };
            ToolError::input(
                Some(part.name()),
                format!(
                    "{} could not be rendered: {why}. Fix the template or the variables.",
                    part.name()
                ),
            )
        })?;
    if out.len() > MAX_OUTPUT {
        return Err(ToolError::input(
            Some(part.name()),
            format!(
                "{} renders to {} bytes, more than the {MAX_OUTPUT} allowed; shorten the template or the values.",
                part.name(),
                out.len()
            ),
        ));
    }
    Ok(out)
}

/// The rendered subject, refused if a value put a line break in it (that
/// would let a value add mail headers).
pub fn render_subject(t: &Template, values: &Map<String, Value>) -> Result<String, ToolError> {
    let subject = render(Part::Subject, &t.subject, values)?;
    if subject.contains(['\r', '\n']) {
        let culprits: Vec<&str> = values
            .iter()
            .filter(|(_, v)| v.as_str().is_some_and(|s| s.contains(['\r', '\n'])))
            .map(|(k, _)| k.as_str())
            .collect();
        return Err(ToolError::input(
            Some("variables"),
            format!(
                "The subject would contain a line break (from {}); line breaks in a subject could inject mail headers. Remove them.",
                if culprits.is_empty() {
                    "the template".to_string()
                } else {
                    culprits.join(", ")
                }
            ),
        ));
    }
    Ok(subject)
}

/// Replaces all but the last four digits of long digit runs (account and
/// routing numbers; runs may contain spaces or hyphens) with bullets.
pub fn mask_account_numbers(text: &str) -> String {
    let chars: Vec<char> = text.chars().collect();
    let mut out = String::with_capacity(text.len());
    let mut i = 0;
    while i < chars.len() {
        if !chars[i].is_ascii_digit() {
            out.push(chars[i]);
            i += 1;
            continue;
        }
        // A run of digits with single separators between them.
        let mut j = i;
        let mut digits = 0;
        while j < chars.len() {
            if chars[j].is_ascii_digit() {
                digits += 1;
                j += 1;
            } else if matches!(chars[j], ' ' | '-')
                && j + 1 < chars.len()
                && chars[j + 1].is_ascii_digit()
            {
                j += 1;
            } else {
                break;
            }
        }
        if digits >= 6 {
            let mut seen = 0;
            for &c in &chars[i..j] {
                if c.is_ascii_digit() {
                    seen += 1;
                    out.push(if digits - seen < 4 { c } else { '•' });
                } else {
                    out.push(c);
                }
            }
        } else {
            out.extend(&chars[i..j]);
        }
        i = j;
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn tmpl(subject: &str, html: &str, vars: &[&str]) -> Template {
        Template {
            template_id: "t".into(),
            template_name: "T".into(),
            subject: subject.into(),
            body_html: html.into(),
            body_text: None,
            category: crate::model::Category::CustomerCommunication,
            variables: vars.iter().map(|s| s.to_string()).collect(),
            description: None,
            created_at: String::new(),
            updated_at: String::new(),
        }
    }

    fn values(v: Value) -> Map<String, Value> {
        v.as_object().unwrap().clone()
    }

    #[test]
    fn html_is_escaped_text_is_not() {
        let v = values(json!({"name": "<b>Ann</b> & co"}));
        assert_eq!(
            render(Part::Html, "<p>{{ name }}</p>", &v).unwrap(),
            "<p>&lt;b&gt;Ann&lt;&#x2f;b&gt; &amp; co</p>"
        );
        assert_eq!(
            render(Part::Text, "Hi {{ name }}", &v).unwrap(),
            "Hi <b>Ann</b> & co"
        );
    }

    #[test]
    fn hostile_templates_are_refused_or_contained() {
        let v = values(json!({"x": "1"}));
        let cases = [
            "{{ ''.__class__ }}",
            "{{ x.__class__.__mro__ }}",
            "{% include 'other' %}",
            "{%- import 'm' as m %}",
            "{% extends 'base' %}",
            "{% for i in range(100000) %}{% for j in range(100000) %}x{% endfor %}{% endfor %}",
            "{% macro r(n) %}{{ r(n) }}{% endmacro %}{{ r(1) }}",
            "{{ undefined_thing }}",
            "{{ x ~ ",
        ];
        for source in cases {
            let r = render(Part::Text, source, &v);
            assert!(r.is_err(), "{source} rendered: {r:?}");
            assert_eq!(r.unwrap_err().code, "INPUT_001", "{source}");
        }
    }

    #[test]
    fn declared_variables_are_enforced() {
        let t = tmpl(
            "Hi {{ name }}",
            "<p>{{ amount }} {{ secret }}</p>",
            &["name", "amount"],
        );
        let e = check_template(&t).unwrap_err();
        assert!(e.message.contains("secret"), "{}", e.message);
        let t = tmpl("Hi {{ name }}", "<p>{{ amount }}</p>", &["name", "amount"]);
        check_template(&t).unwrap();
        let e = check_values(&t, &values(json!({"name": "A", "other": "B"}))).unwrap_err();
        assert!(e.message.contains("missing amount"), "{}", e.message);
        assert!(e.message.contains("other"), "{}", e.message);
        let e = check_values(&t, &values(json!({"name": "A", "amount": {"a": 1}}))).unwrap_err();
        assert!(e.message.contains("amount"), "{}", e.message);
    }

    #[test]
    fn line_breaks_in_a_subject_are_refused() {
        let t = tmpl("Invoice {{ n }}", "<p></p>", &["n"]);
        let e =
            render_subject(&t, &values(json!({"n": "1\r\nBcc: evil@example.com"}))).unwrap_err();
        assert!(e.message.contains("from n"), "{}", e.message);
    }

    #[test]
    fn masking() {
        assert_eq!(
            mask_account_numbers("Acct 4471-9920-3318 ok"),
            "Acct ••••-••••-3318 ok"
        );
        assert_eq!(mask_account_numbers("ABA 021000021."), "ABA •••••0021.");
        assert_eq!(
            mask_account_numbers("Zip 62701, 12 May"),
            "Zip 62701, 12 May"
        );
    }
}
