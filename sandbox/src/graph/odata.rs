//! What Graph's resource modules share: request bodies, `$select`, path segments compared as
//! OData does (ignoring case), Graph's answers for unknown segments and unsupported methods,
//! and the Teams service's error for an unknown property.

use http::StatusCode;
use serde_json::{Map, Value};

use crate::tenant::teams::bad;
use crate::web::{GraphError, Query};

/// Parses a request body that must be a JSON object.
pub(crate) fn json_object(body: &[u8]) -> Result<Map<String, Value>, GraphError> {
    match serde_json::from_slice::<Value>(body) {
        Ok(Value::Object(map)) => Ok(map),
        _ => Err(GraphError::unreadable_body()),
    }
}

/// 400 for a path segment Graph does not know.
pub(crate) fn not_found_segment(seg: &str) -> GraphError {
    GraphError::odata(format!("Resource not found for the segment '{seg}'."))
}

/// 405, as Graph answers a method a resource does not support.
pub(crate) fn method_not_allowed() -> GraphError {
    GraphError::new(
        StatusCode::METHOD_NOT_ALLOWED,
        "Request_BadRequest",
        "Specified HTTP method is not allowed for the request target.",
    )
}

/// Whether a path segment is `name`, ignoring case.
pub(crate) fn is(segment: &str, name: &str) -> bool {
    segment.eq_ignore_ascii_case(name)
}

/// `$select` against a set of property names; `None` means every property.
pub(crate) fn parse_select(
    q: &Query,
    selectable: &[&str],
    type_name: &str,
) -> Result<Option<Vec<String>>, GraphError> {
    let Some(raw) = q.get("select") else {
        return Ok(None);
    };
    let mut out: Vec<String> = Vec::new();
    for name in raw.split(',').map(str::trim).filter(|s| !s.is_empty()) {
        let canonical = selectable
            .iter()
            .find(|p| p.eq_ignore_ascii_case(name))
            .ok_or_else(|| {
                GraphError::odata(format!(
                    "Could not find a property named '{name}' on type '{type_name}'."
                ))
            })?;
        if !out.iter().any(|o| o == canonical) {
            out.push((*canonical).to_string());
        }
    }
    Ok(Some(out))
}

/// Keeps only `select`ed properties (`@odata.*` annotations stay).
pub(crate) fn project(full: Map<String, Value>, select: Option<&[String]>) -> Map<String, Value> {
    match select {
        None => full,
        Some(fields) => full
            .into_iter()
            .filter(|(k, _)| k.starts_with('@') || fields.iter().any(|f| f == k))
            .collect(),
    }
}

/// `(a,b)` after the entity set in `@odata.context` for a `$select`.
pub(crate) fn select_suffix(select: Option<&[String]>) -> String {
    select
        .map(|s| format!("({})", s.join(",")))
        .unwrap_or_default()
}

/// The Teams service's 400 for a property its type does not have.
pub(crate) fn unknown_property(name: &str, type_name: &str) -> GraphError {
    bad(format!(
        "The property '{name}' does not exist on type '{type_name}'. Make sure to only use property names that are defined by the type or mark the type as open type."
    ))
}

/// Percent-encodes a path segment or query value (spaces as `%20`), as Teams' links do.
pub(crate) fn enc(s: &str) -> String {
    url::form_urlencoded::byte_serialize(s.as_bytes())
        .collect::<String>()
        .replace('+', "%20")
}
