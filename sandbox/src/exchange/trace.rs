//! Message trace cmdlets: `Get-MessageTraceV2` and `Get-MessageTraceDetailV2` over the tenant's
//! trace records (see `tenant::trace`), with Microsoft's documented limits: 1 to 5000 results
//! (1000 by default), paging with `-StartingRecipientAddress` and `-EndDate`, and the date and
//! throttling limits the records share with Graph's `messageTraces`.

use http::StatusCode;
use serde_json::{Value, json};

use super::cmdlet::{Call, Cmdlet};
use super::error::ExoError;
use super::params::{Bound, Ty, m, p};
use crate::tenant::INITIAL_DOMAIN;
use crate::tenant::trace::{QUERIES_PER_WINDOW, TraceRecord, check_range, events};
use crate::web::time::rfc3339;

const STATUSES: &[&str] = &[
    "Delivered",
    "Expanded",
    "Failed",
    "FilteredAsSpam",
    "GettingStatus",
    "Pending",
    "Quarantined",
];

pub(crate) const CMDLETS: &[Cmdlet] = &[
    Cmdlet {
        name: "Get-MessageTraceV2",
        params: &[
            p("SenderAddress", Ty::List),
            p("RecipientAddress", Ty::List),
            p("MessageId", Ty::List),
            p("MessageTraceId", Ty::Guid),
            p("StartDate", Ty::Date),
            p("EndDate", Ty::Date),
            p(
                "Status",
                Ty::EnumList(
                    "Microsoft.Exchange.Management.FfoReporting.MessageTraceStatus",
                    STATUSES,
                ),
            ),
            p("ResultSize", Ty::Int { min: 1, max: 5000 }),
            p("StartingRecipientAddress", Ty::Str),
            p("Subject", Ty::Str),
            p(
                "SubjectFilterType",
                Ty::Enum(
                    "Microsoft.Exchange.Management.FfoReporting.SubjectFilterType",
                    &["Contains", "EndsWith", "StartsWith"],
                ),
            ),
            p("FromIP", Ty::Str),
            p("ToIP", Ty::Str),
        ],
        run: get_message_trace,
    },
    Cmdlet {
        name: "Get-MessageTraceDetailV2",
        params: &[
            m("MessageTraceId", Ty::Guid),
            m("RecipientAddress", Ty::Str),
            p("StartDate", Ty::Date),
            p("EndDate", Ty::Date),
            p("Event", Ty::List),
            p("Action", Ty::List),
            p("MessageId", Ty::Str),
            p("SenderAddress", Ty::Str),
        ],
        run: get_message_trace_detail,
    },
];

fn trace_error(message: impl Into<String>) -> ExoError {
    ExoError::task(
        "Ex8F5B1C",
        "Microsoft.Exchange.Management.FfoReporting.InvalidQueryException",
        message,
    )
}

fn any_matches(list: &Option<Vec<String>>, value: &str) -> bool {
    list.as_ref()
        .is_none_or(|l| l.iter().any(|x| x.trim().eq_ignore_ascii_case(value)))
}

fn record_json(r: &TraceRecord) -> Value {
    json!({
        "Organization": INITIAL_DOMAIN,
        "MessageId": r.message_id,
        "Received": rfc3339(r.received),
        "SenderAddress": r.sender,
        "RecipientAddress": r.recipient,
        "Subject": r.subject,
        "Status": r.status.exchange(),
        "ToIP": if r.to_ip.is_empty() { Value::Null } else { json!(r.to_ip) },
        "FromIP": r.from_ip,
        "Size": r.size,
        "MessageTraceId": r.message_trace_id,
    })
}

fn get_message_trace(call: &mut Call, b: &Bound) -> Result<Vec<Value>, ExoError> {
    let now = call.ctx.now;
    let (start, end) = check_range(b.date("StartDate"), b.date("EndDate"), now)
        .map_err(|e| trace_error(e.to_string()))?;
    if let Err(wait) = call.app.exo_trace_queries.admit(now) {
        let mut e = ExoError::request(
            StatusCode::TOO_MANY_REQUESTS,
            "TooManyRequests",
            format!(
                "Message trace accepts at most {QUERIES_PER_WINDOW} queries in 5 minutes per tenant. Retry after {wait} seconds."
            ),
        );
        e.headers.push(("Retry-After".into(), wait.to_string()));
        return Err(e);
    }
    let senders = b.list("SenderAddress");
    let recipients = b.list("RecipientAddress");
    let ids = b.list("MessageId");
    let statuses = b.list("Status");
    let trace_id = b.str("MessageTraceId");
    let starting = b.str("StartingRecipientAddress").map(str::to_lowercase);
    let subject = b.str("Subject").map(str::to_lowercase);
    let subject_type = b.str("SubjectFilterType").unwrap_or("Contains");
    let limit = usize::try_from(b.int("ResultSize").unwrap_or(1000)).unwrap_or(1000);
    let matching: Vec<TraceRecord> = call
        .app
        .trace_records(now)
        .into_iter()
        .filter(|r| r.received >= start && r.received <= end)
        .filter(|r| match &starting {
            Some(s) => r.received < end || r.recipient.as_str() > s.as_str(),
            None => true,
        })
        .filter(|r| any_matches(&senders, &r.sender))
        .filter(|r| any_matches(&recipients, &r.recipient))
        .filter(|r| any_matches(&ids, &r.message_id))
        .filter(|r| any_matches(&statuses, r.status.exchange()))
        .filter(|r| trace_id.is_none_or(|id| id.eq_ignore_ascii_case(&r.message_trace_id)))
        .filter(|r| b.str("FromIP").is_none_or(|ip| ip == r.from_ip))
        .filter(|r| b.str("ToIP").is_none_or(|ip| ip == r.to_ip))
        .filter(|r| match &subject {
            None => true,
            Some(s) => {
                let subj = r.subject.to_lowercase();
                match subject_type {
                    "StartsWith" => subj.starts_with(s.as_str()),
                    "EndsWith" => subj.ends_with(s.as_str()),
                    _ => subj.contains(s.as_str()),
                }
            }
        })
        .collect();
    if matching.len() > limit
        && let Some(last) = matching.get(limit - 1)
    {
        call.warnings.push(format!(
            "There are more results than the {limit} returned. To get the next results, run the query again with -StartingRecipientAddress '{}' -EndDate '{}'.",
            last.recipient,
            rfc3339(last.received)
        ));
    }
    Ok(matching.iter().take(limit).map(record_json).collect())
}

fn get_message_trace_detail(call: &mut Call, b: &Bound) -> Result<Vec<Value>, ExoError> {
    let now = call.ctx.now;
    if b.has("StartDate") || b.has("EndDate") {
        check_range(b.date("StartDate"), b.date("EndDate"), now)
            .map_err(|e| trace_error(e.to_string()))?;
    }
    let trace_id = b.str("MessageTraceId").unwrap_or_default();
    let recipient = b.str("RecipientAddress").unwrap_or_default();
    let events_wanted = b.list("Event");
    let actions_wanted = b.list("Action");
    let Some(record) = call.app.trace_records(now).into_iter().find(|r| {
        r.message_trace_id.eq_ignore_ascii_case(trace_id)
            && r.recipient.eq_ignore_ascii_case(recipient.trim())
    }) else {
        return Ok(Vec::new());
    };
    if b.str("MessageId").is_some_and(|m| m != record.message_id)
        || b.str("SenderAddress")
            .is_some_and(|s| !s.eq_ignore_ascii_case(&record.sender))
    {
        return Ok(Vec::new());
    }
    Ok(events(&record)
        .into_iter()
        .filter(|e| any_matches(&events_wanted, e.event))
        .filter(|e| any_matches(&actions_wanted, e.action))
        .map(|e| {
            json!({
                "Organization": INITIAL_DOMAIN,
                "MessageId": record.message_id,
                "MessageTraceId": record.message_trace_id,
                "Date": rfc3339(e.at),
                "Event": e.event,
                "Action": e.action,
                "Detail": e.detail,
                "Data": format!("<root><MEP Name=\"ConnectorId\" String=\"{}\"/></root>", INITIAL_DOMAIN),
            })
        })
        .collect())
}

#[cfg(test)]
mod tests {
    use serde_json::json;
    use time::{Duration, OffsetDateTime};

    use crate::testkit::{ADMIN, kit};
    use crate::web::time::rfc3339;

    #[test]
    fn message_trace_from_sent_mail() {
        let k = kit();
        let (_, ann) = k.mailbox_user("ann");
        k.send(
            ADMIN,
            &[&ann, "partner@example.org", "ghost@libertygoldsilver.com"],
            "Quarterly report",
        );
        k.send(&ann, &[ADMIN], "Re: Quarterly report");
        let outbox = k.app.outbox.lock().unwrap().clone();
        let message_id = outbox[0]["internetMessageId"].as_str().unwrap().to_string();

        let all = k.ok("Get-MessageTraceV2", json!({}));
        assert_eq!(all.len(), 4);
        let by_sender = k.ok("Get-MessageTraceV2", json!({"SenderAddress": ADMIN}));
        assert_eq!(by_sender.len(), 3);
        let statuses: Vec<(&str, &str)> = by_sender
            .iter()
            .map(|r| {
                (
                    r["RecipientAddress"].as_str().unwrap(),
                    r["Status"].as_str().unwrap(),
                )
            })
            .collect();
        assert_eq!(
            statuses,
            vec![
                ("ann@libertygoldsilver.com", "Delivered"),
                ("ghost@libertygoldsilver.com", "Failed"),
                ("partner@example.org", "Delivered"),
            ]
        );
        let external = by_sender
            .iter()
            .find(|r| r["RecipientAddress"] == "partner@example.org")
            .unwrap();
        assert!(external["ToIP"].as_str().unwrap().starts_with("203.0.113."));
        assert!(by_sender[0]["ToIP"].is_null());
        let r = &by_sender[0];
        assert_eq!(r["MessageId"], message_id);
        assert_eq!(r["Subject"], "Quarterly report");
        assert!(r["Size"].as_u64().unwrap() > 0);
        assert!(uuid::Uuid::parse_str(r["MessageTraceId"].as_str().unwrap()).is_ok());

        let by_recipient = k.ok("Get-MessageTraceV2", json!({"RecipientAddress": ADMIN}));
        assert_eq!(by_recipient.len(), 1);
        assert_eq!(by_recipient[0]["SenderAddress"], ann);
        assert_eq!(
            k.ok("Get-MessageTraceV2", json!({"MessageId": message_id}))
                .len(),
            3
        );
        assert_eq!(
            k.ok("Get-MessageTraceV2", json!({"Status": "Failed"}))
                .len(),
            1
        );
        assert_eq!(
            k.ok(
                "Get-MessageTraceV2",
                json!({"Subject": "Re:", "SubjectFilterType": "StartsWith"})
            )
            .len(),
            1
        );

        // Paging as documented: StartingRecipientAddress and EndDate from the last record.
        let now = OffsetDateTime::now_utc();
        let start = rfc3339(now - Duration::days(1));
        let end = rfc3339(now + Duration::minutes(1));
        let first = k.exo(
            "Get-MessageTraceV2",
            json!({"StartDate": start, "EndDate": end, "ResultSize": 2}),
        );
        assert_eq!(first.value().len(), 2);
        assert!(
            first.warnings()[0].contains("StartingRecipientAddress"),
            "{}",
            first.body
        );
        let last = first.value().last().unwrap().clone();
        let rest = k.ok(
            "Get-MessageTraceV2",
            json!({"StartDate": start, "EndDate": last["Received"], "StartingRecipientAddress": last["RecipientAddress"]}),
        );
        assert_eq!(rest.len(), 2);
        let mut seen: Vec<String> = first
            .value()
            .iter()
            .chain(rest.iter())
            .map(|r| format!("{}{}", r["MessageTraceId"], r["RecipientAddress"]))
            .collect();
        seen.sort();
        seen.dedup();
        assert_eq!(seen.len(), 4);

        // Details of one recipient.
        let detail = k.ok(
            "Get-MessageTraceDetailV2",
            json!({"MessageTraceId": external["MessageTraceId"], "RecipientAddress": "partner@example.org"}),
        );
        let events: Vec<&str> = detail
            .iter()
            .map(|e| e["Event"].as_str().unwrap())
            .collect();
        assert_eq!(events, vec!["Receive", "Submit", "Send external"]);
    }

    #[test]
    fn message_trace_limits() {
        let k = kit();
        let now = OffsetDateTime::now_utc();
        for (params, want) in [
            (
                json!({"StartDate": rfc3339(now - Duration::days(11)), "EndDate": rfc3339(now)}),
                "can't exceed 10 days",
            ),
            (
                json!({"StartDate": rfc3339(now - Duration::days(95)), "EndDate": rfc3339(now - Duration::days(90))}),
                "can't be older than 90 days",
            ),
            (
                json!({"StartDate": rfc3339(now - Duration::days(1))}),
                "both StartDate and EndDate",
            ),
            (
                json!({"StartDate": rfc3339(now), "EndDate": rfc3339(now - Duration::days(1))}),
                "earlier than the EndDate",
            ),
            (json!({"ResultSize": 5001}), "maximum allowed range of 5000"),
            (json!({"Status": "Lost"}), "Delivered, Expanded, Failed"),
            (
                json!({"StartDate": "someday", "EndDate": "later"}),
                "not recognized as a valid DateTime",
            ),
        ] {
            let a = k.exo("Get-MessageTraceV2", params.clone());
            assert_eq!(a.status, 400, "{params}");
            assert!(a.detail().contains(want), "{params}: {}", a.detail());
        }
        // The US short date form works too.
        let d = |t: OffsetDateTime| format!("{}/{}/{}", u8::from(t.month()), t.day(), t.year());
        assert_eq!(
            k.exo(
                "Get-MessageTraceV2",
                json!({"StartDate": d(now - Duration::days(3)), "EndDate": d(now)}),
            )
            .status,
            200
        );
    }

    #[test]
    fn message_trace_throttles_at_100_queries_in_5_minutes() {
        let k = kit();
        for _ in 0..99 {
            k.app
                .exo_trace_queries
                .admit(OffsetDateTime::now_utc())
                .unwrap();
        }
        assert_eq!(k.exo("Get-MessageTraceV2", json!({})).status, 200);
        let a = k.exo("Get-MessageTraceV2", json!({}));
        assert_eq!(a.status, 429, "{}", a.body);
        assert!(a.header("Retry-After").is_some());
    }
}
