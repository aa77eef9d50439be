//! Message trace: the records Exchange Online keeps for the messages that pass through the
//! organization, generated here from the sandbox outbox (one record per recipient, sharing the
//! message's trace id), and the `Get-MessageTraceV2` / `Get-MessageTraceDetailV2` cmdlets over
//! them, with Microsoft's documented limits: 90 days of history, at most 10 days per query, the
//! last 48 hours when no dates are given, 1 to 5000 results (1000 by default), paging with
//! `-StartingRecipientAddress` and `-EndDate`, and 100 queries per 5 minutes per tenant.
//! Graph's `messageTraces` (see `graph::tracing`) reads the same records.

use std::collections::VecDeque;
use std::sync::Mutex;

use http::StatusCode;
use serde_json::{Value, json};
use time::{Duration, OffsetDateTime};

use super::mailbox::{alias, mailbox_users, primary_smtp};
use super::params::{Bound, Ty, m, p};
use super::{Call, Cmdlet, ExoError};
use crate::app::App;
use crate::errors::rfc3339;
use crate::state::{INITIAL_DOMAIN, Tenant};

/// How far back message trace reaches.
pub(crate) const HISTORY: Duration = Duration::days(90);
/// The widest date range one query may ask for.
pub(crate) const MAX_RANGE: Duration = Duration::days(10);
/// The range used when no dates are given.
pub(crate) const DEFAULT_RANGE: Duration = Duration::hours(48);
/// Queries accepted per tenant in `WINDOW`.
pub(crate) const QUERIES_PER_WINDOW: usize = 100;
pub(crate) const WINDOW: Duration = Duration::minutes(5);

/// A sliding window of accepted queries.
#[derive(Default)]
pub(crate) struct Throttle(Mutex<VecDeque<OffsetDateTime>>);

impl Throttle {
    /// Admits a query at `now`, or says how many seconds to wait.
    pub fn admit(&self, now: OffsetDateTime) -> Result<(), u64> {
        let mut q = self.0.lock().unwrap_or_else(|e| e.into_inner());
        while q.front().is_some_and(|t| now - *t >= WINDOW) {
            q.pop_front();
        }
        if q.len() >= QUERIES_PER_WINDOW {
            let oldest = *q.front().unwrap_or(&now);
            let wait = (WINDOW - (now - oldest)).whole_seconds().max(1);
            return Err(u64::try_from(wait).unwrap_or(1));
        }
        q.push_back(now);
        Ok(())
    }
}

/// The delivery status of one recipient.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Status {
    Delivered,
    Failed,
}

impl Status {
    /// The cmdlet's name (`Delivered`).
    pub fn exchange(self) -> &'static str {
        match self {
            Status::Delivered => "Delivered",
            Status::Failed => "Failed",
        }
    }

    /// Graph's `exchangeMessageTraceStatus` (`delivered`).
    pub fn graph(self) -> &'static str {
        match self {
            Status::Delivered => "delivered",
            Status::Failed => "failed",
        }
    }
}

/// One message trace record: one message to one recipient.
#[derive(Clone, Debug)]
pub(crate) struct TraceRecord {
    pub message_trace_id: String,
    pub message_id: String,
    pub received: OffsetDateTime,
    pub sender: String,
    pub recipient: String,
    pub subject: String,
    pub status: Status,
    pub from_ip: String,
    pub to_ip: String,
    pub size: u64,
    /// The recipient is in one of the tenant's domains.
    pub internal: bool,
}

/// The IP of a made-up MX host for an outside domain (TEST-NET-3, stable per domain).
fn mx_ip(domain: &str) -> String {
    let sum: u32 = domain.bytes().map(u32::from).sum();
    format!("203.0.113.{}", sum % 250 + 2)
}

/// Whether an internal address reaches a mailbox or a group.
fn resolvable(t: &Tenant, address: &str, now: OffsetDateTime) -> bool {
    let user = mailbox_users(t, now).into_iter().any(|i| {
        let u = &t.users[i];
        primary_smtp(u).eq_ignore_ascii_case(address)
            || u.upn().eq_ignore_ascii_case(address)
            || format!("{}@{INITIAL_DOMAIN}", alias(u)).eq_ignore_ascii_case(address)
    });
    user || t.groups.iter().any(|g| {
        g.prop_str("mail")
            .is_some_and(|m| m.eq_ignore_ascii_case(address))
    })
}

/// The trace records of everything in the outbox received since `now - HISTORY`, newest first
/// (and by recipient within a message).
pub(crate) fn records(app: &App, now: OffsetDateTime) -> Vec<TraceRecord> {
    let outbox = app.outbox.lock().unwrap_or_else(|e| e.into_inner()).clone();
    let mut out: Vec<TraceRecord> = app.store.read(|t| {
        let mut out = Vec::new();
        for msg in &outbox {
            let received = msg["sentAt"]
                .as_str()
                .and_then(|s| {
                    OffsetDateTime::parse(s, &time::format_description::well_known::Rfc3339).ok()
                })
                .unwrap_or(now);
            if received < now - HISTORY {
                continue;
            }
            let trace_id = msg["id"]
                .as_str()
                .map(str::to_string)
                .unwrap_or_else(|| uuid::Uuid::new_v4().to_string());
            let subject = msg["subject"].as_str().unwrap_or_default().to_string();
            let body_len = msg["bodyHtml"].as_str().map_or(0, str::len)
                + msg["bodyText"].as_str().map_or(0, str::len);
            let size = u64::try_from(body_len + subject.len() + 2048).unwrap_or(u64::MAX);
            let mut recipients: Vec<String> = Vec::new();
            for field in ["to", "cc", "bcc"] {
                for a in msg[field].as_array().into_iter().flatten() {
                    if let Some(a) = a.as_str()
                        && !recipients.iter().any(|r| r.eq_ignore_ascii_case(a))
                    {
                        recipients.push(a.to_string());
                    }
                }
            }
            for recipient in recipients {
                let domain = recipient
                    .rsplit_once('@')
                    .map(|(_, d)| d)
                    .unwrap_or_default();
                let internal = t.is_verified_domain(domain);
                // `sentAt` has whole seconds; the recipient's mailbox is judged as of now.
                let status = if !internal || resolvable(t, &recipient, now) {
                    Status::Delivered
                } else {
                    Status::Failed
                };
                out.push(TraceRecord {
                    message_trace_id: trace_id.clone(),
                    message_id: msg["internetMessageId"]
                        .as_str()
                        .unwrap_or_default()
                        .to_string(),
                    received,
                    sender: msg["from"].as_str().unwrap_or_default().to_string(),
                    recipient: recipient.to_lowercase(),
                    subject: subject.clone(),
                    status,
                    from_ip: "127.0.0.1".into(),
                    to_ip: if internal {
                        String::new()
                    } else {
                        mx_ip(domain)
                    },
                    size,
                    internal,
                });
            }
        }
        out
    });
    out.sort_by(|a, b| {
        b.received
            .cmp(&a.received)
            .then_with(|| a.recipient.cmp(&b.recipient))
            .then_with(|| a.message_trace_id.cmp(&b.message_trace_id))
    });
    out
}

/// One event of a record's delivery, as the detail views show them.
pub(crate) struct TraceEvent {
    pub at: OffsetDateTime,
    pub event: &'static str,
    pub action: &'static str,
    pub detail: String,
}

pub(crate) fn events(r: &TraceRecord) -> Vec<TraceEvent> {
    let server = "SN6PR01MB4321.namprd01.prod.outlook.com";
    let mut out = vec![
        TraceEvent {
            at: r.received,
            event: "Receive",
            action: "",
            detail: format!("Message received by: {server}"),
        },
        TraceEvent {
            at: r.received,
            event: "Submit",
            action: "",
            detail: "The message was submitted.".into(),
        },
    ];
    let later = r.received + Duration::seconds(2);
    out.push(match (r.status, r.internal) {
        (Status::Failed, _) => TraceEvent {
            at: later,
            event: "Fail",
            action: "",
            detail: "Reason: [{LED=550 5.1.10 RESOLVER.ADR.RecipientNotFound; Recipient not found by SMTP address lookup};{MSG=};{FQDN=};{IP=};{LRT=}]".into(),
        },
        (Status::Delivered, true) => TraceEvent {
            at: later,
            event: "Deliver",
            action: "",
            detail: "The message was successfully delivered.".into(),
        },
        (Status::Delivered, false) => {
            let domain = r.recipient.rsplit_once('@').map(|(_, d)| d).unwrap_or_default();
            TraceEvent {
                at: later,
                event: "Send external",
                action: "",
                detail: format!(
                    "Message sent to mx.{domain} at {} using TLS1.3 with AES256",
                    r.to_ip
                ),
            }
        }
    });
    out
}

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

/// Checks a query's date range against the documented limits; `None`s mean the default range.
pub(crate) fn check_range(
    start: Option<OffsetDateTime>,
    end: Option<OffsetDateTime>,
    now: OffsetDateTime,
) -> Result<(OffsetDateTime, OffsetDateTime), String> {
    let (start, end) = match (start, end) {
        (None, None) => (now - DEFAULT_RANGE, now),
        (Some(s), Some(e)) => (s, e),
        _ => {
            return Err(
                "Specify both StartDate and EndDate, or neither (for the last 48 hours).".into(),
            );
        }
    };
    if start > end {
        return Err("The StartDate must be earlier than the EndDate.".into());
    }
    if start < now - HISTORY {
        return Err(format!(
            "Invalid StartDate value. The StartDate can't be older than 90 days from today; the earliest StartDate now is {}.",
            rfc3339(now - HISTORY)
        ));
    }
    if end - start > MAX_RANGE {
        return Err(format!(
            "The date range between StartDate and EndDate can't exceed 10 days; this query asks for {:.1} days. Query the range in parts of 10 days or less.",
            (end - start).as_seconds_f64() / 86400.0
        ));
    }
    Ok((start, end))
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
    let (start, end) =
        check_range(b.date("StartDate"), b.date("EndDate"), now).map_err(trace_error)?;
    if let Err(wait) = call.app.exchange.exo_trace_queries.admit(now) {
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
    let matching: Vec<TraceRecord> = records(call.app, now)
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
        check_range(b.date("StartDate"), b.date("EndDate"), now).map_err(trace_error)?;
    }
    let trace_id = b.str("MessageTraceId").unwrap_or_default();
    let recipient = b.str("RecipientAddress").unwrap_or_default();
    let events_wanted = b.list("Event");
    let actions_wanted = b.list("Action");
    let Some(record) = records(call.app, now).into_iter().find(|r| {
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
