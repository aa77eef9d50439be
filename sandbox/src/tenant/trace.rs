//! Message trace: the records Exchange Online keeps for the messages that pass through the
//! organization, generated from the sandbox outbox (one record per recipient, sharing the
//! message's trace id), their delivery events, and Microsoft's documented limits: 90 days of
//! history, at most 10 days per query, the last 48 hours when no dates are given, and 100
//! queries per 5 minutes per tenant. Both `Get-MessageTraceV2` and Graph's `messageTraces` read
//! them.

use std::collections::VecDeque;
use std::fmt;
use std::sync::Mutex;

use serde_json::Value;
use time::{Duration, OffsetDateTime};

use super::directory::INITIAL_DOMAIN;
use super::state::Tenant;
use crate::web::time::rfc3339;

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
    let user = t.mailbox_users(now).into_iter().any(|i| {
        let u = &t.users[i];
        u.primary_smtp().eq_ignore_ascii_case(address)
            || u.upn().eq_ignore_ascii_case(address)
            || format!("{}@{INITIAL_DOMAIN}", u.alias()).eq_ignore_ascii_case(address)
    });
    user || t.groups.iter().any(|g| {
        g.prop_str("mail")
            .is_some_and(|m| m.eq_ignore_ascii_case(address))
    })
}

/// The trace records of everything in the outbox received since `now - HISTORY`, newest first
/// (and by recipient within a message).
pub(crate) fn records(outbox: &[Value], t: &Tenant, now: OffsetDateTime) -> Vec<TraceRecord> {
    let mut out: Vec<TraceRecord> = {
        let mut out = Vec::new();
        for msg in outbox {
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
    };
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

/// Why a query's date range is refused; `Display` is Exchange's wording.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) enum RangeError {
    /// One bound without the other.
    OneBound,
    Reversed,
    /// The start is more than 90 days back; `earliest` is the oldest allowed now.
    TooOld {
        earliest: OffsetDateTime,
    },
    /// More than 10 days, by this many.
    TooWide {
        days: f64,
    },
}

impl fmt::Display for RangeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            RangeError::OneBound => f.write_str(
                "Specify both StartDate and EndDate, or neither (for the last 48 hours).",
            ),
            RangeError::Reversed => f.write_str("The StartDate must be earlier than the EndDate."),
            RangeError::TooOld { earliest } => write!(
                f,
                "Invalid StartDate value. The StartDate can't be older than 90 days from today; the earliest StartDate now is {}.",
                rfc3339(*earliest)
            ),
            RangeError::TooWide { days } => write!(
                f,
                "The date range between StartDate and EndDate can't exceed 10 days; this query asks for {days:.1} days. Query the range in parts of 10 days or less."
            ),
        }
    }
}

/// Checks a query's date range against the documented limits; `None`s mean the default range.
pub(crate) fn check_range(
    start: Option<OffsetDateTime>,
    end: Option<OffsetDateTime>,
    now: OffsetDateTime,
) -> Result<(OffsetDateTime, OffsetDateTime), RangeError> {
    let (start, end) = match (start, end) {
        (None, None) => (now - DEFAULT_RANGE, now),
        (Some(s), Some(e)) => (s, e),
        _ => return Err(RangeError::OneBound),
    };
    if start > end {
        return Err(RangeError::Reversed);
    }
    if start < now - HISTORY {
        return Err(RangeError::TooOld {
            earliest: now - HISTORY,
        });
    }
    if end - start > MAX_RANGE {
        return Err(RangeError::TooWide {
            days: (end - start).as_seconds_f64() / 86400.0,
        });
    }
    Ok((start, end))
}
