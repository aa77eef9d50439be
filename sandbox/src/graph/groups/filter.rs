//! A group `$filter`: the directory's subset (`eq`, `startswith`, `and`; see `web::query`) plus
//! the `collection/any(x:x eq 'v')` lambda on `resourceProvisioningOptions`, `groupTypes` and
//! `proxyAddresses` (how one lists the groups that have a team).

use http::StatusCode;
use serde_json::{Map, Value, json};

use crate::web::GraphError;
use crate::web::query::{Clause, Query, matches, parse_filter};

const FILTER_EQ: &[&str] = &[
    "id",
    "displayName",
    "mailNickname",
    "mail",
    "description",
    "visibility",
    "mailEnabled",
    "securityEnabled",
    "__any0",
    "__any1",
    "__any2",
    "__any3",
];

const FILTER_STARTSWITH: &[&str] = &["displayName", "mailNickname", "mail"];

const LAMBDA_PROPS: &[&str] = &[
    "resourceProvisioningOptions",
    "groupTypes",
    "proxyAddresses",
];

/// A parsed group `$filter`: plain clauses plus `any` lambdas, each of which stands in the plain
/// clauses as `__anyN eq true`.
#[derive(Debug, Default)]
pub(super) struct GroupFilter {
    clauses: Vec<Clause>,
    lambdas: Vec<(String, String)>,
}

impl GroupFilter {
    pub fn parse(q: &Query) -> Result<GroupFilter, GraphError> {
        let Some(raw) = q.get("filter") else {
            return Ok(GroupFilter::default());
        };
        let (rest, lambdas) = extract_lambdas(raw)?;
        if lambdas.len() > 4 {
            return Err(GraphError::new(
                StatusCode::BAD_REQUEST,
                "Request_UnsupportedQuery",
                "The sandbox tenant supports at most 4 'any' clauses in one filter.",
            ));
        }
        Ok(GroupFilter {
            clauses: parse_filter(&rest, "Group", FILTER_EQ, FILTER_STARTSWITH)?,
            lambdas,
        })
    }

    pub fn matches(&self, full: &Map<String, Value>) -> bool {
        let mut object = full.clone();
        for (i, (prop, value)) in self.lambdas.iter().enumerate() {
            let hit = full
                .get(prop)
                .and_then(Value::as_array)
                .is_some_and(|items| {
                    items.iter().any(|v| {
                        v.as_str()
                            .is_some_and(|s| s.to_lowercase() == value.to_lowercase())
                    })
                });
            object.insert(format!("__any{i}"), json!(hit));
        }
        matches(&self.clauses, &Value::Object(object))
    }
}

fn unsupported_filter(prop: &str) -> GraphError {
    GraphError::new(
        StatusCode::BAD_REQUEST,
        "Request_UnsupportedQuery",
        format!(
            "Unsupported or invalid query filter clause specified for property '{prop}' of resource 'Group'."
        ),
    )
}

fn invalid_filter(detail: &str) -> GraphError {
    GraphError::odata(format!("Invalid filter clause: {detail}"))
}

/// Replaces each `prop/any(x:x eq 'v')` (outside string literals) with `__anyN eq true`.
fn extract_lambdas(s: &str) -> Result<(String, Vec<(String, String)>), GraphError> {
    let lower = s.to_ascii_lowercase();
    let bytes = s.as_bytes();
    let mut out = String::new();
    let mut lambdas = Vec::new();
    let mut copied = 0;
    let mut in_quote = false;
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'\'' {
            in_quote = !in_quote;
            i += 1;
            continue;
        }
        if !in_quote && lower[i..].starts_with("/any(") {
            let prop_start = s[..i]
                .rfind(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
                .map_or(0, |p| p + 1);
            let prop = &s[prop_start..i];
            let canonical = LAMBDA_PROPS
                .iter()
                .find(|p| p.eq_ignore_ascii_case(prop))
                .ok_or_else(|| unsupported_filter(prop))?;
            let open = i + 4;
            let close = closing_paren(bytes, open)
                .ok_or_else(|| invalid_filter("unbalanced parentheses."))?;
            let value = lambda_value(&s[open + 1..close])?;
            out.push_str(&s[copied..prop_start]);
            out.push_str(&format!("__any{} eq true", lambdas.len()));
            lambdas.push(((*canonical).to_string(), value));
            copied = close + 1;
            i = close + 1;
            continue;
        }
        i += 1;
    }
    out.push_str(&s[copied..]);
    Ok((out, lambdas))
}

fn closing_paren(bytes: &[u8], open: usize) -> Option<usize> {
    let mut depth = 0usize;
    let mut in_quote = false;
    for (i, b) in bytes.iter().enumerate().skip(open) {
        match b {
            b'\'' => in_quote = !in_quote,
            b'(' if !in_quote => depth += 1,
            b')' if !in_quote => {
                depth -= 1;
                if depth == 0 {
                    return Some(i);
                }
            }
            _ => {}
        }
    }
    None
}

/// `x: x eq 'Team'` → `Team`.
fn lambda_value(inner: &str) -> Result<String, GraphError> {
    let bad = || invalid_filter("the lambda expression must be of the form 'x:x eq 'value''.");
    let (var, expr) = inner.split_once(':').ok_or_else(bad)?;
    let var = var.trim();
    if var.is_empty() || !var.chars().all(|c| c.is_ascii_alphanumeric() || c == '_') {
        return Err(bad());
    }
    let expr = expr.trim();
    let rest = expr
        .get(..var.len())
        .filter(|v| v.eq_ignore_ascii_case(var))
        .map(|_| expr[var.len()..].trim_start())
        .ok_or_else(bad)?;
    let rest = rest
        .get(..2)
        .filter(|op| op.eq_ignore_ascii_case("eq"))
        .map(|_| rest[2..].trim())
        .ok_or_else(|| {
            GraphError::new(
                StatusCode::BAD_REQUEST,
                "Request_UnsupportedQuery",
                "Only 'eq' is supported inside an 'any' lambda.",
            )
        })?;
    let lit = rest
        .strip_prefix('\'')
        .and_then(|r| r.strip_suffix('\''))
        .ok_or_else(bad)?;
    if lit.replace("''", "").contains('\'') {
        return Err(bad());
    }
    Ok(lit.replace("''", "'"))
}
