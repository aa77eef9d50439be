//! get_message_tracking_logs: the message trace, from Graph's
//! `/admin/exchange/tracing/messageTraces` and, when Graph refuses (the app
//! lacks ExchangeMessageTrace.Read.All, or the API is not offered in the
//! tenant's cloud), from Exchange's `Get-MessageTraceV2`. Both keep 90 days
//! and answer at most 10 days per query; a window past either is refused
//! here, naming the limit, before anything is sent.

use m365_plugin_sdk::cursor::Cursor as NextLink;
use m365_plugin_sdk::exchange::invoke;
use m365_plugin_sdk::graph::{GraphErrorKind, GraphRequest, collection};
use m365_plugin_sdk::host::now_ms;
use m365_plugin_sdk::text::{base64url_decode, base64url_encode, is_valid_email, odata_string};
use m365_plugin_sdk::time;
use m365_plugin_sdk::{Graph, ToolError, Value, json};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

/// Days of history the service keeps.
pub const HISTORY_DAYS: i64 = 90;
/// Days one query may span.
pub const MAX_WINDOW_DAYS: i64 = 10;
const DAY_MS: i64 = 86_400_000;
/// Tolerance for clocks and "now" rounding at the edges.
const SLACK_MS: i64 = 5 * 60_000;

const TRACE_PATH: &str = "/admin/exchange/tracing/messageTraces";

#[derive(Debug, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct TraceArgs {
    /// Start (UTC), at most 90 days ago.
    #[schemars(extend("format" = "date-time"))]
    pub start_date: String,
    /// End (UTC), at most 10 days after startDate.
    #[schemars(extend("format" = "date-time"))]
    pub end_date: String,
    #[schemars(email)]
    pub sender_email: Option<String>,
    #[schemars(email)]
    pub recipient_email: Option<String>,
    /// The Message-ID header, e.g. <abc@contoso.com>.
    #[schemars(length(min = 3, max = 512))]
    pub message_id: Option<String>,
    /// Page size (default 50).
    #[schemars(range(min = 1, max = 1000))]
    pub top: Option<u32>,
    /// nextCursor from the previous page; the other filters are then those of the first call.
    #[schemars(length(min = 1, max = 4096))]
    pub cursor: Option<String>,
}

/// One traced message to one recipient.
#[derive(Debug, Serialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct TraceRow {
    pub received: Value,
    pub sender: Value,
    pub recipient: Value,
    pub subject: Value,
    /// delivered, pending, failed, expanded, quarantined, filteredAsSpam, ...
    pub status: Value,
    pub message_id: Value,
    pub size: Value,
    /// The trace id (for the trace details in the Exchange admin center).
    pub trace_id: Value,
}

/// The validated query.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct Query {
    pub start: i64,
    pub end: i64,
    pub sender: Option<String>,
    pub recipient: Option<String>,
    pub message_id: Option<String>,
}

fn bad(field: &str, limit: Option<&str>, message: String) -> ToolError {
    let e = ToolError::input(Some(field), message);
    match limit {
        Some(l) => e.with_detail("limit", l),
        None => e,
    }
}

/// `<id>` with the angle brackets the Message-ID header has.
pub fn bracketed(id: &str) -> String {
    let id = id.trim().trim_start_matches('<').trim_end_matches('>');
    format!("<{id}>")
}

/// Checks the window against the service's limits and the filters' forms.
pub fn validate(a: &TraceArgs, now: i64) -> Result<Query, ToolError> {
    let start = time::parse(&a.start_date).ok_or_else(|| {
        bad(
            "startDate",
            None,
            "startDate must be an ISO 8601 date-time, e.g. 2026-05-01T00:00:00Z.".into(),
        )
    })?;
    let end = time::parse(&a.end_date).ok_or_else(|| {
        bad(
            "endDate",
            None,
            "endDate must be an ISO 8601 date-time, e.g. 2026-05-08T00:00:00Z.".into(),
        )
    })?;
    if end <= start {
        return Err(bad(
            "endDate",
            None,
            "endDate must be after startDate; fix the window and call again.".into(),
        ));
    }
    let oldest = now - HISTORY_DAYS * DAY_MS;
    if start < oldest - SLACK_MS {
        return Err(bad(
            "startDate",
            Some("90 days"),
            format!(
                "The message trace keeps only {HISTORY_DAYS} days of history: startDate must be \
                 on or after {}. Older mail cannot be traced.",
                time::rfc3339(oldest)
            ),
        ));
    }
    if end - start > MAX_WINDOW_DAYS * DAY_MS {
        return Err(bad(
            "endDate",
            Some("10 days"),
            format!(
                "The message trace answers at most {MAX_WINDOW_DAYS} days per query, and \
                 {:.1} days were asked; split the window into pieces of 10 days or less.",
                (end - start) as f64 / DAY_MS as f64
            ),
        ));
    }
    if start > now + SLACK_MS {
        return Err(bad(
            "startDate",
            None,
            "startDate is in the future; nothing has been traced there yet.".into(),
        ));
    }
    for (field, v) in [
        ("senderEmail", &a.sender_email),
        ("recipientEmail", &a.recipient_email),
    ] {
        if let Some(addr) = v
            && !is_valid_email(addr.trim())
        {
            return Err(bad(
                field,
                None,
                format!("{addr} is not an e-mail address; fix it and call again."),
            ));
        }
    }
    let clean = |v: &Option<String>| {
        v.as_deref()
            .map(str::trim)
            .filter(|s| !s.is_empty())
            .map(str::to_string)
    };
    Ok(Query {
        start,
        end: end.min(now.max(start + 1000)),
        sender: clean(&a.sender_email).map(|s| s.to_ascii_lowercase()),
        recipient: clean(&a.recipient_email).map(|s| s.to_ascii_lowercase()),
        message_id: clean(&a.message_id).map(|m| bracketed(&m)),
    })
}

/// Graph's `$filter` for a query.
pub fn graph_filter(q: &Query) -> String {
    let mut f = vec![
        format!("receivedDateTime ge {}", time::rfc3339(q.start)),
        format!("receivedDateTime le {}", time::rfc3339(q.end)),
    ];
    if let Some(s) = &q.sender {
        f.push(format!("senderAddress eq {}", odata_string(s)));
    }
    if let Some(r) = &q.recipient {
        f.push(format!("recipientAddress eq {}", odata_string(r)));
    }
    if let Some(m) = &q.message_id {
        f.push(format!("messageId eq {}", odata_string(m)));
    }
    f.join(" and ")
}

/// A cursor: where the next page comes from.
#[derive(Debug, Serialize, Deserialize, PartialEq)]
#[serde(tag = "s")]
enum Cursor {
    /// Graph: the query string of `@odata.nextLink`.
    #[serde(rename = "g")]
    Graph { q: String },
    /// Exchange: the query with its end moved to the last row shown, and
    /// the recipient to start from (Get-MessageTraceV2's continuation).
    #[serde(rename = "x")]
    Exchange {
        query: Query,
        from_recipient: String,
        top: u32,
    },
}

fn encode_cursor(c: &Cursor) -> String {
    base64url_encode(serde_json::to_string(c).unwrap_or_default().as_bytes())
}

fn decode_cursor(s: &str) -> Option<Cursor> {
    let bytes = base64url_decode(s.trim())?;
    let c: Cursor = serde_json::from_slice(&bytes).ok()?;
    match c {
        Cursor::Graph { q } => NextLink::from_query(q).map(|n| Cursor::Graph { q: n.into_query() }),
        Cursor::Exchange { .. } => Some(c),
    }
}

/// The Graph row as a TraceRow.
fn graph_row(v: &Value) -> TraceRow {
    let f = |k: &str| v.get(k).cloned().unwrap_or(Value::Null);
    TraceRow {
        received: f("receivedDateTime"),
        sender: f("senderAddress"),
        recipient: f("recipientAddress"),
        subject: f("subject"),
        status: f("status"),
        message_id: f("messageId"),
        size: f("size"),
        trace_id: f("id"),
    }
}

/// `Delivered` → `delivered`, as Graph spells statuses.
fn camel(v: Option<&Value>) -> Value {
    match v.and_then(Value::as_str) {
        Some(s) => {
            let mut c = s.chars();
            match c.next() {
                Some(first) => json!(format!("{}{}", first.to_ascii_lowercase(), c.as_str())),
                None => json!(s),
            }
        }
        None => v.cloned().unwrap_or(Value::Null),
    }
}

/// The Exchange row as a TraceRow.
fn exchange_row(v: &Value) -> TraceRow {
    let f = |k: &str| v.get(k).cloned().unwrap_or(Value::Null);
    TraceRow {
        received: f("Received"),
        sender: f("SenderAddress"),
        recipient: f("RecipientAddress"),
        subject: f("Subject"),
        status: camel(v.get("Status")),
        message_id: f("MessageId"),
        size: f("Size"),
        trace_id: f("MessageTraceId"),
    }
}

/// Whether Graph's refusal means "use Exchange instead".
fn use_exchange_instead(e: &m365_plugin_sdk::GraphError) -> bool {
    e.kind == GraphErrorKind::Response && matches!(e.status, 403 | 404 | 501)
}

pub fn get_message_tracking_logs(a: TraceArgs) -> Result<Value, ToolError> {
    let top = a.top.unwrap_or(50).clamp(1, 1000);
    if let Some(c) = &a.cursor {
        return match decode_cursor(c) {
            Some(Cursor::Graph { q }) => {
                from_graph(GraphRequest::new("GET", TRACE_PATH).raw_query(&q), None)
            }
            Some(Cursor::Exchange {
                query,
                from_recipient,
                top,
            }) => from_exchange(&query, top, Some(&from_recipient), None),
            None => Err(ToolError::input(
                Some("cursor"),
                "The cursor is not one get_message_tracking_logs returned; call without it to \
                 start again.",
            )),
        };
    }
    let q = validate(&a, now_ms() as i64)?;
    let req = GraphRequest::new("GET", TRACE_PATH)
        .query(&[("$filter", &graph_filter(&q)), ("$top", &top.to_string())]);
    from_graph(req, Some((&q, top)))
}

/// Runs the Graph query; on a refusal that Exchange may not share, runs
/// the same query through Get-MessageTraceV2 (when `fallback` is given).
fn from_graph(req: GraphRequest, fallback: Option<(&Query, u32)>) -> Result<Value, ToolError> {
    let page = match Graph::new().request(req) {
        Ok(r) => r.body.unwrap_or(Value::Null),
        Err(e) => {
            if let (true, Some((q, top))) = (use_exchange_instead(&e), fallback) {
                let why = format!("Graph refused the message trace ({} {})", e.status, e.code);
                return from_exchange(q, top, None, Some(why));
            }
            if e.kind == GraphErrorKind::Response && e.status == 400 {
                return Err(e.to_tool_error_with(format!(
                    "The message trace refused the query: {} Check the dates (at most 10 days, \
                     within the last 90) and the filters.",
                    e.message
                )));
            }
            return Err(e.into());
        }
    };
    let rows: Vec<TraceRow> = collection(&page).iter().map(graph_row).collect();
    let next =
        NextLink::next_page(&page).map(|n| encode_cursor(&Cursor::Graph { q: n.into_query() }));
    Ok(result(rows, next, "graph", None))
}

fn from_exchange(
    q: &Query,
    top: u32,
    from_recipient: Option<&str>,
    why: Option<String>,
) -> Result<Value, ToolError> {
    let mut params = json!({
        "StartDate": time::rfc3339(q.start),
        "EndDate": time::rfc3339(q.end),
        "ResultSize": top + 1,
    });
    if let Some(s) = &q.sender {
        params["SenderAddress"] = json!(s);
    }
    if let Some(r) = &q.recipient {
        params["RecipientAddress"] = json!(r);
    }
    if let Some(m) = &q.message_id {
        params["MessageId"] = json!(m);
    }
    if let Some(r) = from_recipient {
        params["StartingRecipientAddress"] = json!(r);
    }
    let mut rows = invoke("Get-MessageTraceV2", params)?;
    let more = rows.len() > top as usize;
    rows.truncate(top as usize);
    let next = if more {
        rows.last().and_then(|last| {
            let received = last
                .get("Received")
                .and_then(Value::as_str)
                .and_then(time::parse)?;
            let recipient = last.get("RecipientAddress").and_then(Value::as_str)?;
            Some(encode_cursor(&Cursor::Exchange {
                query: Query {
                    end: received,
                    ..q.clone()
                },
                from_recipient: recipient.to_string(),
                top,
            }))
        })
    } else {
        None
    };
    let rows = rows.iter().map(exchange_row).collect();
    Ok(result(rows, next, "exchange", why))
}

fn result(rows: Vec<TraceRow>, next: Option<String>, source: &str, why: Option<String>) -> Value {
    let mut out = json!({
        "count": rows.len(),
        "messages": rows,
        "nextCursor": next,
        "source": source,
    });
    if let Some(w) = why {
        out["fallbackReason"] = json!(w);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    const NOW: i64 = 1_795_564_800_000; // 2026-11-25T00:00:00Z

    fn args(start: &str, end: &str) -> TraceArgs {
        TraceArgs {
            start_date: start.into(),
            end_date: end.into(),
            sender_email: Some("Ann@Contoso.com".into()),
            recipient_email: None,
            message_id: Some("abc@contoso.com".into()),
            top: None,
            cursor: None,
        }
    }

    #[test]
    fn windows_are_checked_against_the_limits() {
        let q = validate(&args("2026-11-20T00:00:00Z", "2026-11-24T00:00:00Z"), NOW).unwrap();
        assert_eq!(q.sender.as_deref(), Some("ann@contoso.com"));
        assert_eq!(q.message_id.as_deref(), Some("<abc@contoso.com>"));
        let e = validate(&args("2026-11-01T00:00:00Z", "2026-11-24T00:00:00Z"), NOW).unwrap_err();
        assert_eq!(e.code, "INPUT_001");
        assert_eq!(e.detail("limit").unwrap(), "10 days");
        assert!(e.message.contains("10 days"), "{}", e.message);
        let e = validate(&args("2026-08-01T00:00:00Z", "2026-08-05T00:00:00Z"), NOW).unwrap_err();
        assert_eq!(e.detail("limit").unwrap(), "90 days");
        assert!(e.message.contains("90 days"), "{}", e.message);
        let e = validate(&args("2026-11-24T00:00:00Z", "2026-11-20T00:00:00Z"), NOW).unwrap_err();
        assert_eq!(e.detail("field").unwrap(), "endDate");
        // An end in the future is clamped to now.
        let q = validate(&args("2026-11-20T00:00:00Z", "2026-11-26T00:00:00Z"), NOW).unwrap();
        assert_eq!(q.end, NOW);
    }

    #[test]
    fn graph_filters_quote_values() {
        let q = Query {
            start: NOW - DAY_MS,
            end: NOW,
            sender: Some("o'brien@contoso.com".into()),
            recipient: Some("b@contoso.com".into()),
            message_id: Some("<x@y>".into()),
        };
        assert_eq!(
            graph_filter(&q),
            "receivedDateTime ge 2026-11-24T00:00:00Z and receivedDateTime le \
             2026-11-25T00:00:00Z and senderAddress eq 'o''brien@contoso.com' and \
             recipientAddress eq 'b@contoso.com' and messageId eq '<x@y>'"
        );
    }

    #[test]
    fn cursors_round_trip_and_reject_junk() {
        let g = Cursor::Graph {
            q: "$top=5&$skiptoken=abc".into(),
        };
        assert_eq!(decode_cursor(&encode_cursor(&g)).unwrap(), g);
        assert!(decode_cursor("not a cursor").is_none());
        let bad = Cursor::Graph { q: "a b#c".into() };
        assert!(decode_cursor(&encode_cursor(&bad)).is_none());
    }

    #[test]
    fn exchange_rows_use_graph_spelling() {
        let r = exchange_row(
            &json!({"Received": "2026-11-24T10:00:00Z", "Status": "FilteredAsSpam", "MessageTraceId": "t"}),
        );
        assert_eq!(r.status, "filteredAsSpam");
        assert_eq!(r.trace_id, "t");
    }
}
