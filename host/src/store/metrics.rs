//! Usage and health figures computed from the audit trail (nothing new is
//! stored for them): calls and success rate per tool, average and p95
//! duration, errors by code, upstream requests and throttling, and template
//! sends per template per week (`m365://metrics`, `m365-admin stats`), and
//! calls and failed calls per day (the report's activity chart).

use crate::store::audit::AuditRow;
use serde_json::{Value, json};
use std::collections::BTreeMap;

#[derive(Default)]
struct ToolFigures {
    calls: u64,
    ok: u64,
    durations: Vec<u64>,
}

fn p95(sorted: &[u64]) -> u64 {
    if sorted.is_empty() {
        return 0;
    }
    let i = ((sorted.len() as f64) * 0.95).ceil() as usize;
    sorted[i.clamp(1, sorted.len()) - 1]
}

/// The ISO week of an RFC 3339 time, e.g. `2026-W48`.
fn week(at: &str) -> String {
    let date = at.get(..10).unwrap_or("");
    let parsed = time::Date::parse(
        date,
        time::macros::format_description!("[year]-[month]-[day]"),
    );
    match parsed {
        Ok(d) => {
            let (year, week, _) = d.to_iso_week_date();
            format!("{year}-W{week:02}")
        }
        Err(_) => "unknown".into(),
    }
}

pub fn compute(rows: &[AuditRow]) -> Value {
    let mut tools: BTreeMap<String, ToolFigures> = BTreeMap::new();
    let mut errors: BTreeMap<String, u64> = BTreeMap::new();
    let mut templates: BTreeMap<String, BTreeMap<String, u64>> = BTreeMap::new();
    let (mut upstream, mut throttled, mut retried) = (0u64, 0u64, 0u64);
    let mut first: Option<&str> = None;
    let mut last: Option<&str> = None;
    for r in rows {
        first = first.or(Some(r.at.as_str()));
        last = Some(r.at.as_str());
        match r.kind.as_str() {
            "call" => {
                let tool = r.tool.clone().unwrap_or_default();
                let f = tools.entry(tool.clone()).or_default();
                f.calls += 1;
                if r.outcome.as_deref() == Some("ok") {
                    f.ok += 1;
                }
                if let Some(d) = r.duration_ms {
                    f.durations.push(d);
                }
                if let Some(code) = &r.error_code {
                    *errors.entry(code.clone()).or_default() += 1;
                }
                if tool == "send_from_template" && r.outcome.as_deref() == Some("ok") {
                    let id = r
                        .arguments
                        .as_deref()
                        .and_then(|a| serde_json::from_str::<Value>(a).ok())
                        .and_then(|a| a["templateId"].as_str().map(str::to_string))
                        .unwrap_or_else(|| "unknown".into());
                    *templates
                        .entry(id)
                        .or_default()
                        .entry(week(&r.at))
                        .or_default() += 1;
                }
            }
            "request" => {
                upstream += 1;
                if r.status == Some(429) {
                    throttled += 1;
                }
                if r.attempts.unwrap_or(1) > 1 {
                    retried += 1;
                }
            }
            _ => {}
        }
    }
    let per_tool: BTreeMap<String, Value> = tools
        .into_iter()
        .map(|(name, mut f)| {
            f.durations.sort_unstable();
            let avg = if f.durations.is_empty() {
                0.0
            } else {
                f.durations.iter().sum::<u64>() as f64 / f.durations.len() as f64
            };
            (
                name,
                json!({
                    "calls": f.calls,
                    "succeeded": f.ok,
                    "successRate": if f.calls == 0 { 0.0 } else { (f.ok as f64 / f.calls as f64 * 1000.0).round() / 1000.0 },
                    "avgMs": (avg * 10.0).round() / 10.0,
                    "p95Ms": p95(&f.durations),
                }),
            )
        })
        .collect();
    json!({
        "from": first,
        "to": last,
        "tools": per_tool,
        "errorsByCode": errors,
        "upstream": {"requests": upstream, "throttled": throttled, "retried": retried},
        "templateSendsPerWeek": templates,
    })
}

/// Tool calls and failed tool calls on each of the `days` days up to and
/// including `today` (UTC), oldest first; a day without calls is there with 0.
pub fn per_day(rows: &[AuditRow], today: time::Date, days: u16) -> Vec<(String, u64, u64)> {
    let mut counts: BTreeMap<&str, (u64, u64)> = BTreeMap::new();
    for r in rows.iter().filter(|r| r.kind == "call") {
        let c = counts.entry(r.at.get(..10).unwrap_or("")).or_default();
        c.0 += 1;
        if r.outcome.as_deref() != Some("ok") {
            c.1 += 1;
        }
    }
    (0..days)
        .rev()
        .filter_map(|back| today.checked_sub(time::Duration::days(i64::from(back))))
        .map(|d| {
            let date = d.to_string();
            let (calls, failed) = counts.get(date.as_str()).copied().unwrap_or_default();
            (date, calls, failed)
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn row(kind: &str, tool: &str, outcome: &str, code: Option<&str>, ms: u64) -> AuditRow {
        let mut r = AuditRow::new("2026-11-25T10:00:00.000000Z", kind);
        r.tool = Some(tool.into());
        r.outcome = Some(outcome.into());
        r.error_code = code.map(str::to_string);
        r.duration_ms = Some(ms);
        r
    }

    #[test]
    fn figures_from_rows() {
        let mut send = row("call", "send_from_template", "ok", None, 30);
        send.arguments = Some(r#"{"templateId":"invoice"}"#.into());
        let mut throttled = AuditRow::new("2026-11-25T10:00:01.000000Z", "request");
        throttled.status = Some(429);
        throttled.attempts = Some(3);
        let rows = vec![
            row("call", "get_user", "ok", None, 10),
            row("call", "get_user", "error", Some("GRAPH_001"), 20),
            row("call", "get_user", "ok", None, 100),
            send,
            throttled,
        ];
        let m = compute(&rows);
        assert_eq!(m["tools"]["get_user"]["calls"], 3);
        assert_eq!(m["tools"]["get_user"]["successRate"], 0.667);
        assert_eq!(m["tools"]["get_user"]["p95Ms"], 100);
        assert_eq!(m["errorsByCode"]["GRAPH_001"], 1);
        assert_eq!(m["upstream"]["throttled"], 1);
        assert_eq!(m["upstream"]["retried"], 1);
        assert_eq!(m["templateSendsPerWeek"]["invoice"]["2026-W48"], 1);
    }

    #[test]
    fn calls_per_day_fill_every_day() {
        let rows = vec![
            row("call", "get_user", "ok", None, 10),
            row("call", "get_user", "error", Some("GRAPH_001"), 20),
            row("request", "get_user", "ok", None, 5),
        ];
        let today = time::macros::date!(2026 - 11 - 26);
        let days = per_day(&rows, today, 3);
        assert_eq!(
            days,
            [
                ("2026-11-24".to_string(), 0, 0),
                ("2026-11-25".to_string(), 2, 1),
                ("2026-11-26".to_string(), 0, 0),
            ]
        );
    }
}
