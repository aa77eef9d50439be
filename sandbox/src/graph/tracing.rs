//! `admin/exchange/tracing/messageTraces` (v1.0, application permission
//! ExchangeMessageTrace.Read.All) and its `getDetailsByRecipient(recipientAddress='…')`, over the
//! records `tenant::trace` generates from the outbox.
//!
//! As documented: `$filter` on `receivedDateTime` (`ge` and `le`, both bounds, at most 10 days
//! apart, the start at most 90 days back, the end not after now; the last 48 hours without
//! one), `eq` on `id`, `messageId`, `senderAddress`, `recipientAddress`, `status`, `fromIP` and
//! `toIP`, `contains`/`startsWith`/`endsWith` on `subject`, joined by `and`; `$top` from 1 to
//! 5000 (1000 by default); `@odata.nextLink` with a `$skiptoken`; 100 requests per 5 minutes
//! per tenant.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use http::StatusCode;
use serde_json::{Value, json};
use time::{Duration, OffsetDateTime};

use super::odata::{is, not_found_segment};
use crate::app::App;
use crate::tenant::trace::{
    HISTORY, QUERIES_PER_WINDOW, RangeError, TraceRecord, check_range, events,
};
use crate::web::paging;
use crate::web::time::{parse_date, rfc3339};
use crate::web::{Ctx, GraphError, GraphResult, Query, Reply};

const DEFAULT_TOP: usize = 1000;
const MAX_TOP: usize = 5000;

fn bad(message: impl Into<String>) -> GraphError {
    GraphError::new(StatusCode::BAD_REQUEST, "BadRequest", message)
}

/// `getDetailsByRecipient(recipientAddress='…')`: the address, or `None` for another segment.
fn details_argument(seg: &str) -> Result<Option<String>, GraphError> {
    let Some((name, rest)) = seg.split_once('(') else {
        return Ok(None);
    };
    if !is(name, "getDetailsByRecipient") {
        return Ok(None);
    }
    let inner = rest
        .strip_suffix(')')
        .ok_or_else(|| bad("The function call is not closed with ')'."))?;
    let (key, value) = inner.split_once('=').unwrap_or(("", ""));
    let value = value.trim();
    if !is(key.trim(), "recipientAddress") {
        return Err(bad(
            "The function 'getDetailsByRecipient' needs its parameter: recipientAddress='…'.",
        ));
    }
    let value = value
        .strip_prefix('\'')
        .and_then(|v| v.strip_suffix('\''))
        .ok_or_else(|| bad("The value of recipientAddress must be a quoted string."))?
        .replace("''", "'");
    Ok(Some(value))
}

#[derive(Debug, Clone, PartialEq)]
enum Clause {
    Eq(&'static str, String),
    Ge(OffsetDateTime),
    Le(OffsetDateTime),
    Subject(&'static str, String),
}

const EQ_PROPS: &[&str] = &[
    "id",
    "messageId",
    "senderAddress",
    "recipientAddress",
    "status",
    "fromIP",
    "toIP",
];

fn tokens(s: &str) -> Result<Vec<String>, GraphError> {
    let chars: Vec<char> = s.chars().collect();
    let mut out = Vec::new();
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        if c.is_whitespace() {
            i += 1;
        } else if matches!(c, '(' | ')' | ',') {
            out.push(c.to_string());
            i += 1;
        } else if c == '\'' {
            let mut lit = String::from("'");
            i += 1;
            loop {
                match chars.get(i) {
                    None => return Err(bad("Invalid filter clause: unterminated string literal.")),
                    Some('\'') if chars.get(i + 1) == Some(&'\'') => {
                        lit.push('\'');
                        i += 2;
                    }
                    Some('\'') => {
                        i += 1;
                        break;
                    }
                    Some(ch) => {
                        lit.push(*ch);
                        i += 1;
                    }
                }
            }
            out.push(lit);
        } else {
            let start = i;
            while i < chars.len() && !chars[i].is_whitespace() && !"(),'".contains(chars[i]) {
                i += 1;
            }
            out.push(chars[start..i].iter().collect());
        }
    }
    Ok(out)
}

fn literal(tok: &str) -> Option<String> {
    tok.strip_prefix('\'').map(str::to_string)
}

fn unsupported(detail: &str) -> GraphError {
    bad(format!(
        "Unsupported filter: {detail} messageTraces supports receivedDateTime ge/le, eq on id, messageId, senderAddress, recipientAddress, status, fromIP and toIP, and contains/startsWith/endsWith on subject, joined by 'and'."
    ))
}

fn parse_filter(s: &str) -> Result<Vec<Clause>, GraphError> {
    let toks = tokens(s)?;
    let mut out = Vec::new();
    let mut i = 0;
    loop {
        let at = i;
        let t = |k: usize| toks.get(at + k).map(String::as_str);
        match (t(0), t(1), t(2)) {
            (Some(f), Some("("), Some(prop))
                if ["contains", "startswith", "endswith"]
                    .iter()
                    .any(|x| f.eq_ignore_ascii_case(x)) =>
            {
                if !is(prop, "subject") {
                    return Err(unsupported(&format!("{f} on '{prop}'.")));
                }
                let (Some(","), Some(v), Some(")")) = (t(3), t(4), t(5)) else {
                    return Err(bad("Invalid filter clause: expected (subject, '…')."));
                };
                let v = literal(v).ok_or_else(|| {
                    bad("Invalid filter clause: the value must be a quoted string.")
                })?;
                let kind = match f.to_ascii_lowercase().as_str() {
                    "contains" => "contains",
                    "startswith" => "startsWith",
                    _ => "endsWith",
                };
                out.push(Clause::Subject(kind, v));
                i += 6;
            }
            (Some(prop), Some(op), Some(value)) => {
                let op = op.to_ascii_lowercase();
                if is(prop, "receivedDateTime") {
                    let when = parse_date(value.trim_start_matches('\'')).ok_or_else(|| {
                        bad(format!("Invalid filter clause: '{value}' is not a date and time (use YYYY-MM-DDThh:mm:ssZ)."))
                    })?;
                    match op.as_str() {
                        "ge" => out.push(Clause::Ge(when)),
                        "le" => out.push(Clause::Le(when)),
                        _ => return Err(unsupported(&format!("'{op}' on receivedDateTime."))),
                    }
                } else if let Some(p) = EQ_PROPS.iter().find(|p| p.eq_ignore_ascii_case(prop)) {
                    if op != "eq" {
                        return Err(unsupported(&format!("'{op}' on {p}.")));
                    }
                    let v = literal(value).ok_or_else(|| {
                        bad("Invalid filter clause: the value must be a quoted string.")
                    })?;
                    out.push(Clause::Eq(p, v));
                } else {
                    return Err(unsupported(&format!("the property '{prop}'.")));
                }
                i += 3;
            }
            _ => {
                return Err(bad(
                    "Invalid filter clause: the expression is not well formed.",
                ));
            }
        }
        match toks.get(i).map(String::as_str) {
            None => break,
            Some(kw) if kw.eq_ignore_ascii_case("and") => i += 1,
            Some(kw) if kw.eq_ignore_ascii_case("or") => return Err(unsupported("'or'.")),
            Some(_) => {
                return Err(bad(
                    "Invalid filter clause: expected 'and' between clauses.",
                ));
            }
        }
    }
    Ok(out)
}

fn record_json(r: &TraceRecord) -> Value {
    json!({
        "id": r.message_trace_id,
        "senderAddress": r.sender,
        "recipientAddress": r.recipient,
        "messageId": r.message_id,
        "receivedDateTime": rfc3339(r.received),
        "subject": r.subject,
        "size": r.size,
        "fromIP": r.from_ip,
        "toIP": r.to_ip,
        "status": r.status.graph(),
    })
}

fn matches(c: &Clause, r: &TraceRecord) -> bool {
    match c {
        Clause::Ge(t) => r.received >= *t,
        Clause::Le(t) => r.received <= *t,
        Clause::Eq(p, v) => {
            let have = match *p {
                "id" => &r.message_trace_id,
                "messageId" => &r.message_id,
                "senderAddress" => &r.sender,
                "recipientAddress" => &r.recipient,
                "fromIP" => &r.from_ip,
                "toIP" => &r.to_ip,
                _ => return r.status.graph().eq_ignore_ascii_case(v),
            };
            have.eq_ignore_ascii_case(v)
        }
        Clause::Subject(kind, v) => {
            let s = r.subject.to_lowercase();
            let v = v.to_lowercase();
            match *kind {
                "contains" => s.contains(&v),
                "startsWith" => s.starts_with(&v),
                _ => s.ends_with(&v),
            }
        }
    }
}

/// The position of a record in the listing order: received (newest first), then recipient,
/// then trace id.
fn cursor(r: &TraceRecord) -> String {
    let key = format!(
        "{}|{}|{}",
        r.received.unix_timestamp_nanos(),
        r.recipient,
        r.message_trace_id
    );
    URL_SAFE_NO_PAD.encode(key)
}

fn after(r: &TraceRecord, token: &str) -> Result<bool, GraphError> {
    let invalid = || bad("The $skiptoken value is not valid.");
    let raw = URL_SAFE_NO_PAD.decode(token).map_err(|_| invalid())?;
    let raw = String::from_utf8(raw).map_err(|_| invalid())?;
    let mut parts = raw.splitn(3, '|');
    let nanos: i128 = parts
        .next()
        .and_then(|n| n.parse().ok())
        .ok_or_else(invalid)?;
    let recipient = parts.next().ok_or_else(invalid)?;
    let id = parts.next().ok_or_else(invalid)?;
    let at = OffsetDateTime::from_unix_timestamp_nanos(nanos).map_err(|_| invalid())?;
    Ok(r.received < at
        || (r.received == at
            && (r.recipient.as_str(), r.message_trace_id.as_str()) > (recipient, id)))
}

pub(super) fn list(app: &App, ctx: &Ctx, q: &Query) -> GraphResult {
    q.only(&["filter", "top", "skiptoken"])?;
    let clauses = match q.get("filter") {
        Some(f) => parse_filter(f)?,
        None => Vec::new(),
    };
    let top = paging::top(q, DEFAULT_TOP, MAX_TOP, |t| {
        bad(format!(
            "Invalid $top value '{t}': $top must be between 1 and {MAX_TOP}."
        ))
    })?;
    let starts: Vec<OffsetDateTime> = clauses
        .iter()
        .filter_map(|c| match c {
            Clause::Ge(t) => Some(*t),
            _ => None,
        })
        .collect();
    let ends: Vec<OffsetDateTime> = clauses
        .iter()
        .filter_map(|c| match c {
            Clause::Le(t) => Some(*t),
            _ => None,
        })
        .collect();
    if starts.len() > 1 || ends.len() > 1 {
        return Err(bad(
            "Filter on receivedDateTime with one 'ge' and one 'le' bound.",
        ));
    }
    let now = ctx.now;
    if (starts.len(), ends.len()) == (1, 0) || (starts.len(), ends.len()) == (0, 1) {
        return Err(bad(
            "To query a time period, filter on receivedDateTime with both bounds: receivedDateTime ge {start} and receivedDateTime le {end}.",
        ));
    }
    if let Some(end) = ends.first()
        && *end > now + Duration::minutes(5)
    {
        return Err(bad(format!(
            "The end of the receivedDateTime range ({}) must not be later than the current date and time ({}).",
            rfc3339(*end),
            rfc3339(now)
        )));
    }
    let (start, end) = check_range(starts.first().copied(), ends.first().copied(), now).map_err(|why| match why {
        RangeError::TooOld { .. } => bad(format!(
            "The start of the receivedDateTime range must not be more than 90 days before the current date; the earliest allowed now is {}.",
            rfc3339(now - HISTORY)
        )),
        RangeError::TooWide { .. } => bad("The receivedDateTime range must not exceed 10 days. Query the period in parts of 10 days or less."),
        other => bad(other.to_string()),
    })?;
    if let Err(wait) = app.graph_trace_queries.admit(now) {
        let mut e = GraphError::new(
            StatusCode::TOO_MANY_REQUESTS,
            "TooManyRequests",
            format!(
                "Message trace accepts at most {QUERIES_PER_WINDOW} requests in 5 minutes per tenant. Retry after {wait} seconds."
            ),
        );
        e.retry_after = Some(wait);
        return Err(e);
    }
    let skip = q.get("skiptoken");
    let mut matching = Vec::new();
    for r in app.trace_records(now) {
        if r.received < start || r.received > end || !clauses.iter().all(|c| matches(c, &r)) {
            continue;
        }
        if let Some(token) = skip
            && !after(&r, token)?
        {
            continue;
        }
        matching.push(r);
    }
    let more = matching.len() > top;
    matching.truncate(top);
    let mut body = json!({
        "@odata.context": format!("{}$metadata#admin/exchange/tracing/messageTraces", app.graph_root()),
        "value": matching.iter().map(record_json).collect::<Vec<_>>(),
    });
    if more && let Some(last) = matching.last() {
        body["@odata.nextLink"] = json!(paging::next_link(
            &app.graph_root(),
            "admin/exchange/tracing/messageTraces",
            q,
            &cursor(last)
        ));
    }
    Ok(Reply::ok(body))
}

fn details(app: &App, ctx: &Ctx, id: &str, recipient: &str) -> GraphResult {
    let all = app.trace_records(ctx.now);
    let of_message: Vec<&TraceRecord> = all
        .iter()
        .filter(|r| r.message_trace_id.eq_ignore_ascii_case(id))
        .collect();
    if of_message.is_empty() {
        return Err(GraphError::new(
            StatusCode::NOT_FOUND,
            "NotFound",
            format!("The message trace '{id}' was not found in the last 90 days."),
        ));
    }
    let value: Vec<Value> = of_message
        .iter()
        .filter(|r| r.recipient.eq_ignore_ascii_case(recipient.trim()))
        .flat_map(|r| {
            events(r).into_iter().map(|e| {
                json!({
                    "id": r.message_trace_id,
                    "messageId": r.message_id,
                    "dateTime": rfc3339(e.at),
                    "event": e.event,
                    "action": e.action,
                    "description": e.detail,
                    "data": "<root><MEP Name=\"ConnectorId\" String=\"\"/></root>",
                })
            })
        })
        .collect();
    Ok(Reply::ok(json!({
        "@odata.context": format!("{}$metadata#Collection(microsoft.graph.exchangeMessageTraceDetail)", app.graph_root()),
        "value": value,
    })))
}

/// `GET …/messageTraces/{id}/{function}`: `getDetailsByRecipient(recipientAddress='…')`, or
/// Graph's 400 for another segment.
pub(super) fn function(app: &App, ctx: &Ctx, id: &str, function: &str) -> GraphResult {
    let Some(recipient) = details_argument(function)? else {
        return Err(not_found_segment(function));
    };
    details(app, ctx, id, &recipient)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn filters_parse() {
        let f = parse_filter(
            "receivedDateTime ge 2026-01-20T00:00:00Z and receivedDateTime le 2026-01-23T00:00:00Z and senderAddress eq 'a@b.com' and contains(subject, 'Weekly digest') and status eq 'delivered'",
        )
        .unwrap();
        assert_eq!(f.len(), 5);
        assert_eq!(f[2], Clause::Eq("senderAddress", "a@b.com".into()));
        assert_eq!(f[3], Clause::Subject("contains", "Weekly digest".into()));
        for bad in [
            "receivedDateTime gt 2026-01-20T00:00:00Z",
            "size eq 10",
            "subject eq 'x'",
            "senderAddress eq 'a' or senderAddress eq 'b'",
            "contains(senderAddress, 'x')",
            "receivedDateTime ge yesterday",
            "senderAddress eq",
        ] {
            assert!(parse_filter(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn function_argument() {
        assert_eq!(
            details_argument("getDetailsByRecipient(recipientAddress='o''neil@x.com')").unwrap(),
            Some("o'neil@x.com".into())
        );
        assert_eq!(details_argument("other").unwrap(), None);
        assert!(details_argument("getDetailsByRecipient(address='x')").is_err());
    }
}

#[cfg(test)]
mod kit_tests {
    use http::Method;
    use time::{Duration, OffsetDateTime};

    use crate::auth::Claims;
    use crate::testkit::kit;
    use crate::web::time::rfc3339;

    const ADMIN: &str = "admin@libertygoldsilver.com";
    const LIST: &str = "/admin/exchange/tracing/messageTraces";

    fn filter(s: &str) -> String {
        url::form_urlencoded::byte_serialize(s.as_bytes()).collect()
    }

    #[test]
    fn traces_of_sent_mail_with_filters_and_paging() {
        let k = kit();
        let (_, ann) = k.mailbox_user("ann");
        k.send(
            ADMIN,
            &[&ann, "partner@example.org"],
            "Weekly digest: numbers",
        );
        k.send(&ann, &[ADMIN], "Thanks");
        let a = k.graph(Method::GET, LIST, None);
        assert_eq!(a.status, 200, "{}", a.body);
        assert!(
            a.body["@odata.context"]
                .as_str()
                .unwrap()
                .ends_with("$metadata#admin/exchange/tracing/messageTraces")
        );
        let all = a.value().clone();
        assert_eq!(all.len(), 3);
        let r = all
            .iter()
            .find(|r| r["recipientAddress"] == "partner@example.org")
            .unwrap();
        for key in [
            "id",
            "messageId",
            "senderAddress",
            "recipientAddress",
            "subject",
            "size",
            "status",
            "receivedDateTime",
            "fromIP",
            "toIP",
        ] {
            assert!(!r[key].is_null(), "{key}");
        }
        assert_eq!(r["status"], "delivered");
        assert_eq!(r["senderAddress"], ADMIN);

        let now = OffsetDateTime::now_utc();
        let window = format!(
            "receivedDateTime ge {} and receivedDateTime le {}",
            rfc3339(now - Duration::days(2)),
            rfc3339(now + Duration::minutes(1))
        );
        let by = |f: &str| {
            let a = k.graph(Method::GET, &format!("{LIST}?$filter={}", filter(f)), None);
            assert_eq!(a.status, 200, "{f}: {}", a.body);
            a.value().clone()
        };
        assert_eq!(
            by(&format!("{window} and senderAddress eq '{ADMIN}'")).len(),
            2
        );
        assert_eq!(by(&format!("recipientAddress eq '{ADMIN}'")).len(), 1);
        let message_id = r["messageId"].as_str().unwrap();
        assert_eq!(by(&format!("messageId eq '{message_id}'")).len(), 2);
        assert_eq!(by("startsWith(subject, 'weekly digest')").len(), 2);
        assert_eq!(by("status eq 'failed'").len(), 0);
        assert_eq!(
            by(&format!("id eq '{}'", r["id"].as_str().unwrap())).len(),
            2
        );

        // $top and @odata.nextLink.
        let a = k.graph(Method::GET, &format!("{LIST}?$top=2"), None);
        assert_eq!(a.value().len(), 2);
        let next = a.body["@odata.nextLink"].as_str().unwrap();
        let path = next.strip_prefix("https://127.0.0.1:9/v1.0").unwrap();
        let b = k.graph(Method::GET, path, None);
        assert_eq!(b.status, 200, "{}", b.body);
        assert_eq!(b.value().len(), 1);
        assert!(b.body.get("@odata.nextLink").is_none());
        let mut keys: Vec<String> = a
            .value()
            .iter()
            .chain(b.value().iter())
            .map(|r| format!("{}{}", r["id"], r["recipientAddress"]))
            .collect();
        keys.sort();
        keys.dedup();
        assert_eq!(keys.len(), 3);

        // Details by recipient.
        let a = k.graph(
            Method::GET,
            &format!(
                "{LIST}/{}/getDetailsByRecipient(recipientAddress='partner@example.org')",
                r["id"].as_str().unwrap()
            ),
            None,
        );
        assert_eq!(a.status, 200, "{}", a.body);
        let events: Vec<&str> = a
            .value()
            .iter()
            .map(|e| e["event"].as_str().unwrap())
            .collect();
        assert_eq!(events, vec!["Receive", "Submit", "Send external"]);
        assert!(
            a.body["@odata.context"]
                .as_str()
                .unwrap()
                .ends_with("$metadata#Collection(microsoft.graph.exchangeMessageTraceDetail)")
        );
        let a = k.graph(
            Method::GET,
            &format!(
                "{LIST}/{}/getDetailsByRecipient(recipientAddress='x@y.z')",
                uuid::Uuid::new_v4()
            ),
            None,
        );
        assert_eq!(a.status, 404);
    }

    #[test]
    fn documented_limits() {
        let k = kit();
        let now = OffsetDateTime::now_utc();
        let range = |from: OffsetDateTime, to: OffsetDateTime| {
            format!(
                "receivedDateTime ge {} and receivedDateTime le {}",
                rfc3339(from),
                rfc3339(to)
            )
        };
        for (query, want) in [
            (
                format!("$filter={}", filter(&range(now - Duration::days(11), now))),
                "must not exceed 10 days",
            ),
            (
                format!(
                    "$filter={}",
                    filter(&range(now - Duration::days(91), now - Duration::days(88)))
                ),
                "more than 90 days",
            ),
            (
                format!("$filter={}", filter(&range(now, now + Duration::days(1)))),
                "must not be later than the current date",
            ),
            (
                format!(
                    "$filter={}",
                    filter(&format!("receivedDateTime ge {}", rfc3339(now)))
                ),
                "both bounds",
            ),
            ("$top=5001".to_string(), "between 1 and 5000"),
            ("$top=0".to_string(), "between 1 and 5000"),
            ("$orderby=subject".to_string(), "not supported"),
            (
                format!("$filter={}", filter("size eq 10")),
                "Unsupported filter",
            ),
        ] {
            let a = k.graph(Method::GET, &format!("{LIST}?{query}"), None);
            assert_eq!(a.status, 400, "{query}: {}", a.body);
            assert!(a.message().contains(want), "{query}: {}", a.message());
        }
        let nobody = Claims {
            roles: vec!["User.Read.All".into()],
        };
        assert_eq!(k.graph_as(&nobody, Method::GET, LIST, None).status, 403);
        for _ in 0..100 {
            assert_eq!(k.graph(Method::GET, LIST, None).status, 200);
        }
        let a = k.graph(Method::GET, LIST, None);
        assert_eq!(a.status, 429);
        assert!(a.header("Retry-After").is_some());
    }
}
