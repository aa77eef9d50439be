//! The tenant report (`m365-admin report`, `m365://report`): the tenant and
//! when the report was made, the security review with its overview (users by
//! state, MFA coverage, license seats), the feature states, and the last 30
//! days from the audit trail. The host writes none of the tenant's reads
//! itself: it calls the plugins' tools (`review_security`, `list_features`)
//! through the one call pipeline, so they are selected, run and audited like
//! any other call; a section whose tool is missing or fails says why. The
//! audit figures are the metrics module's (`store::metrics`). `html` renders
//! the report as one self-contained page.

pub mod html;
mod svg;

use crate::app::App;
use crate::errors::CodedError;
use serde_json::{Value, json};
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

/// How many days of the audit trail the report shows.
pub const ACTIVITY_DAYS: u16 = 30;

/// A tool's result, or its error as the section's content.
async fn section(app: &App, tool: &str, args: Value) -> Value {
    match crate::pipeline::call_tool(app, tool, args, None, None).await {
        Ok(v) => v,
        Err(e) => error_section(&e),
    }
}

fn error_section(e: &CodedError) -> Value {
    json!({"error": {"code": e.code.as_str(), "message": e.message}})
}

/// The last `ACTIVITY_DAYS` days of the audit trail, up to `now`.
fn activity(app: &App, now: OffsetDateTime) -> Value {
    let Some(db) = &app.db else {
        return json!({"error": {"code": "STORE_001", "message": "No database is open, so there is no audit trail to report."}});
    };
    let since = (now - time::Duration::days(i64::from(ACTIVITY_DAYS) - 1))
        .date()
        .midnight()
        .assume_utc();
    let rows = match db.audit_since(Some(since)) {
        Ok(rows) => rows,
        Err(e) => return error_section(&CodedError::from(e)),
    };
    let metrics = crate::store::metrics::compute(&rows);
    let days: Vec<Value> = crate::store::metrics::per_day(&rows, now.date(), ACTIVITY_DAYS)
        .into_iter()
        .map(|(date, calls, failed)| json!({"date": date, "calls": calls, "failed": failed}))
        .collect();
    json!({
        "days": ACTIVITY_DAYS,
        "callsPerDay": days,
        "errorsByCode": metrics["errorsByCode"],
        "templateSendsPerWeek": metrics["templateSendsPerWeek"],
        "upstream": metrics["upstream"],
    })
}

/// Gathers the report: the review and the features through their tools,
/// the activity from the audit trail.
pub async fn gather(app: &App) -> Value {
    let now = OffsetDateTime::now_utc()
        .replace_nanosecond(0)
        .unwrap_or_else(|_| OffsetDateTime::now_utc());
    let mut tenant = crate::serve::envelope::envelope(app).await;
    let review = section(app, "review_security", json!({"includePassed": true})).await;
    if let Some(name) = review.pointer("/tenant/organization") {
        tenant["name"] = name.clone();
    }
    let features = section(app, "list_features", json!({"top": 50})).await;
    let features = match features.get("features") {
        Some(list) => json!(
            list.as_array()
                .into_iter()
                .flatten()
                .map(|f| json!({"name": f["name"], "state": f["state"], "description": f["description"]}))
                .collect::<Vec<_>>()
        ),
        None => features,
    };
    json!({
        "generatedAt": now.format(&Rfc3339).unwrap_or_default(),
        "tenant": tenant,
        "review": review,
        "features": features,
        "activity": activity(app, now),
    })
}
