//! Paging of Graph collections with `$top` and `$skiptoken`, the one implementation every list
//! uses: the page size (`$top`, within the collection's bounds), the opaque `$skiptoken` of an
//! offset, and the absolute `@odata.nextLink` that repeats the request's other query options,
//! as Graph's do ("Paging Microsoft Graph data in your app").

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde_json::{Map, Value, json};

use super::query::Query;
use super::reply::{GraphError, GraphResult, Reply};

/// The directory's page size when `$top` is absent, and its largest.
const DEFAULT_TOP: usize = 100;
const MAX_TOP: usize = 999;

/// `$top`: `default` when absent, else a number from 1 to `max`, or `invalid(value)`.
pub(crate) fn top(
    q: &Query,
    default: usize,
    max: usize,
    invalid: impl FnOnce(&str) -> GraphError,
) -> Result<usize, GraphError> {
    match q.get("top") {
        None => Ok(default),
        Some(v) => v
            .trim()
            .parse::<usize>()
            .ok()
            .filter(|n| (1..=max).contains(n))
            .ok_or_else(|| invalid(v)),
    }
}

/// `{root}{path}?…`: the request's query options without its `$skiptoken`, then `skiptoken`.
pub(crate) fn next_link(root: &str, path: &str, q: &Query, skiptoken: &str) -> String {
    let enc = |s: &str| url::form_urlencoded::byte_serialize(s.as_bytes()).collect::<String>();
    let mut parts: Vec<String> = q
        .pairs
        .iter()
        .filter(|(k, _)| !k.trim_start_matches('$').eq_ignore_ascii_case("skiptoken"))
        .map(|(k, v)| format!("{}={}", enc(k).replace("%24", "$"), enc(v)))
        .collect();
    parts.push(format!("$skiptoken={}", enc(skiptoken)));
    format!("{root}{path}?{}", parts.join("&"))
}

/// One page of a directory collection (`$top` 1–999, default 100) at the offset the
/// `$skiptoken` names, with `@odata.context` and, when more follow, `@odata.nextLink`.
pub(crate) fn page(
    root: &str,
    q: &Query,
    path: &str,
    context: String,
    items: Vec<Value>,
) -> GraphResult {
    let top = top(q, DEFAULT_TOP, MAX_TOP, |v| {
        GraphError::bad_request(format!(
            "Invalid page size specified: '{v}'. Must be between 1 and {MAX_TOP} inclusive."
        ))
    })?;
    let offset = match q.get("skiptoken") {
        None => 0,
        Some(tok) => decode_offset(tok).ok_or_else(|| {
            GraphError::bad_request("The specified page token value has expired or is invalid.")
        })?,
    };
    let total = items.len();
    let page: Vec<Value> = items.into_iter().skip(offset).take(top).collect();
    let mut body = Map::new();
    body.insert("@odata.context".into(), json!(context));
    if offset + top < total {
        let token = encode_offset(offset + top);
        body.insert(
            "@odata.nextLink".into(),
            json!(next_link(root, path, q, &token)),
        );
    }
    body.insert("value".into(), Value::Array(page));
    Ok(Reply::ok(Value::Object(body)))
}

fn encode_offset(offset: usize) -> String {
    URL_SAFE_NO_PAD.encode(format!("sandbox-page:{offset}"))
}

fn decode_offset(tok: &str) -> Option<usize> {
    let raw = URL_SAFE_NO_PAD.decode(tok.trim()).ok()?;
    String::from_utf8(raw)
        .ok()?
        .strip_prefix("sandbox-page:")?
        .parse()
        .ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn skiptoken_round_trip() {
        assert_eq!(decode_offset(&encode_offset(42)), Some(42));
        assert_eq!(decode_offset("garbage!"), None);
    }

    #[test]
    fn pages_and_next_links() {
        let items: Vec<Value> = (0..5).map(|i| json!(i)).collect();
        let q = Query::parse(Some("$top=2&$select=id,displayName"));
        let reply = page("https://h/v1.0/", &q, "users", "ctx".into(), items.clone()).unwrap();
        let crate::web::reply::ReplyBody::Json(body) = reply.body else {
            panic!("a JSON body")
        };
        assert_eq!(body["value"], json!([0, 1]));
        let next = body["@odata.nextLink"].as_str().unwrap();
        assert!(
            next.starts_with("https://h/v1.0/users?$top=2&$select=id%2CdisplayName&$skiptoken="),
            "{next}"
        );
        let (_, query) = next.split_once('?').unwrap();
        let reply = page(
            "https://h/v1.0/",
            &Query::parse(Some(query)),
            "users",
            "ctx".into(),
            items,
        )
        .unwrap();
        let crate::web::reply::ReplyBody::Json(body) = reply.body else {
            panic!("a JSON body")
        };
        assert_eq!(body["value"], json!([2, 3]));
        for bad in ["$top=0", "$top=1000", "$top=x", "$skiptoken=nope"] {
            let e = page("r/", &Query::parse(Some(bad)), "users", "c".into(), vec![]).unwrap_err();
            assert_eq!(e.status, http::StatusCode::BAD_REQUEST, "{bad}");
        }
    }
}
