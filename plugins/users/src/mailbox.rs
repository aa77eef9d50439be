//! configure_mailbox, and waiting for a new user's mailbox.

use crate::exchange::{self, MailboxForwarding, Wanted};
use crate::{fetch_user, graph, str_field, user_path};
use m365_plugin_sdk::graph::collection;
use m365_plugin_sdk::host::{now_ms, progress, sleep_ms};
use m365_plugin_sdk::text::is_valid_email;
use m365_plugin_sdk::{GraphError, ToolError};
use schemars::JsonSchema;
use serde::Deserialize;
use serde_json::{Map, Value, json};

/// Default and largest wait for a mailbox, in seconds.
pub const DEFAULT_WAIT_S: u32 = 60;
pub const MAX_WAIT_S: u32 = 300;

#[derive(Debug, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ConfigureMailboxArgs {
    /// The user's UPN.
    #[schemars(email)]
    pub user_email: String,
    pub settings: MailboxSettingsArgs,
    /// Seconds to wait for a mailbox still being provisioned (default 60).
    #[schemars(range(max = 300))]
    pub wait_for_mailbox_seconds: Option<u32>,
}

#[derive(Debug, Default, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct MailboxSettingsArgs {
    /// Answer read-receipt requests automatically (true: always send, false: never send).
    pub read_receipts: Option<bool>,
    /// Show read status of mail to this mailbox in senders' delivery reports.
    pub delivery_receipts: Option<bool>,
    /// Mailbox-level forwarding of all mail (Exchange), unlike forwardingRules.
    pub forwarding: Option<MailboxForwarding>,
    pub automatic_replies: Option<AutomaticReplies>,
    /// Each becomes an inbox rule forwarding (or redirecting) all mail.
    #[schemars(length(min = 1, max = 10))]
    pub forwarding_rules: Option<Vec<ForwardingRule>>,
    /// Windows or IANA time zone, e.g. "W. Europe Standard Time" or "Europe/Berlin".
    #[schemars(length(min = 1, max = 100))]
    pub time_zone: Option<String>,
    /// Locale, e.g. "en-US".
    #[schemars(regex(pattern = r"^[A-Za-z]{2,3}(-[A-Za-z0-9]{2,8})*$"))]
    pub language: Option<String>,
}

#[derive(Debug, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct AutomaticReplies {
    pub status: AutoReplyStatus,
    #[schemars(length(max = 8000))]
    pub internal_reply_message: Option<String>,
    #[schemars(length(max = 8000))]
    pub external_reply_message: Option<String>,
    pub external_audience: Option<ExternalAudience>,
    /// UTC; required when status is scheduled.
    #[schemars(extend("format" = "date-time"))]
    pub scheduled_start_date_time: Option<String>,
    /// UTC; required when status is scheduled.
    #[schemars(extend("format" = "date-time"))]
    pub scheduled_end_date_time: Option<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub enum AutoReplyStatus {
    Disabled,
    AlwaysEnabled,
    Scheduled,
}

#[derive(Debug, Clone, Copy, PartialEq, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub enum ExternalAudience {
    None,
    ContactsOnly,
    All,
}

#[derive(Debug, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ForwardingRule {
    #[schemars(length(min = 1, max = 10), inner(email))]
    pub forward_to: Vec<String>,
    /// Rule name (default "Forward to ...").
    #[schemars(length(min = 1, max = 256))]
    pub name: Option<String>,
    /// Redirect (keeps the original sender) instead of forward.
    pub redirect: Option<bool>,
    /// Stop processing later rules (default false).
    pub stop_processing_rules: Option<bool>,
}

/// What the wait for a mailbox ended with.
#[derive(Debug)]
pub enum MailboxState {
    /// The mailbox answers; its current mailboxSettings.
    Ready(Value),
    /// Still provisioning after `waited_s` seconds.
    Provisioning { waited_s: u64, last: GraphError },
}

/// Whether a mailboxSettings error means "not provisioned (yet)".
fn is_provisioning(e: &GraphError) -> bool {
    e.is("MailboxNotEnabledForRESTAPI") || e.is_not_found()
}

/// Polls `GET /users/{id}/mailboxSettings` while the mailbox is being
/// provisioned, with backoff (2 s doubling to 15 s), up to `max_s` seconds,
/// reporting progress as step `step` of `total`.
pub fn wait_for_mailbox(
    user_id: &str,
    upn: &str,
    max_s: u32,
    step: u64,
    total: u64,
) -> Result<MailboxState, ToolError> {
    let path = format!("{}/mailboxSettings", user_path(user_id));
    let start = now_ms();
    let deadline = start + u64::from(max_s.min(MAX_WAIT_S)) * 1000;
    let mut delay: u64 = 2000;
    loop {
        match graph().get(&path, &[]) {
            Ok(settings) => return Ok(MailboxState::Ready(settings)),
            Err(e) if is_provisioning(&e) => {
                let now = now_ms();
                let waited = now.saturating_sub(start) / 1000;
                if now >= deadline {
                    return Ok(MailboxState::Provisioning {
                        waited_s: waited,
                        last: e,
                    });
                }
                progress(
                    step,
                    total,
                    &format!(
                        "Waiting for the mailbox of {upn} to be provisioned ({waited} s of {max_s} s)"
                    ),
                );
                let pause = delay.min(deadline - now).max(1);
                sleep_ms(u32::try_from(pause).unwrap_or(u32::MAX));
                delay = (delay * 2).min(15_000);
            }
            Err(e) => return Err(e.into()),
        }
    }
}

/// Normalises an ISO 8601 UTC date-time to Graph's `dateTime` form
/// (`YYYY-MM-DDTHH:MM:SS`, time zone given separately as UTC).
pub fn utc_date_time(value: &str) -> Option<String> {
    let v = value.trim();
    let body = v
        .strip_suffix('Z')
        .or_else(|| v.strip_suffix('z'))
        .or_else(|| v.strip_suffix("+00:00"))
        .unwrap_or(v);
    if body.len() < 19 {
        return None;
    }
    let (main, frac) = body.split_at(19);
    let b = main.as_bytes();
    let digits = |r: std::ops::Range<usize>| b[r].iter().all(u8::is_ascii_digit);
    let shape = digits(0..4)
        && b[4] == b'-'
        && digits(5..7)
        && b[7] == b'-'
        && digits(8..10)
        && (b[10] == b'T' || b[10] == b't')
        && digits(11..13)
        && b[13] == b':'
        && digits(14..16)
        && b[16] == b':'
        && digits(17..19);
    let frac_ok = frac.is_empty()
        || (frac.starts_with('.')
            && frac.len() > 1
            && frac[1..].bytes().all(|c| c.is_ascii_digit()));
    let num = |r: std::ops::Range<usize>| main[r].parse::<u32>().unwrap_or(99);
    let ranges_ok = shape
        && (1..=12).contains(&num(5..7))
        && (1..=31).contains(&num(8..10))
        && num(11..13) < 24
        && num(14..16) < 60
        && num(17..19) < 60;
    (ranges_ok && frac_ok).then(|| main.replace('t', "T"))
}

/// The `automaticRepliesSetting` body, or an INPUT_001 error.
pub fn auto_replies_body(a: &AutomaticReplies) -> Result<Value, ToolError> {
    const FIELD: &str = "settings.automaticReplies";
    let status = match a.status {
        AutoReplyStatus::Disabled => "disabled",
        AutoReplyStatus::AlwaysEnabled => "alwaysEnabled",
        AutoReplyStatus::Scheduled => "scheduled",
    };
    let mut body = json!({ "status": status });
    if let Some(m) = &a.internal_reply_message {
        body["internalReplyMessage"] = json!(m);
    }
    if let Some(m) = &a.external_reply_message {
        body["externalReplyMessage"] = json!(m);
    }
    if let Some(aud) = a.external_audience {
        body["externalAudience"] = json!(match aud {
            ExternalAudience::None => "none",
            ExternalAudience::ContactsOnly => "contactsOnly",
            ExternalAudience::All => "all",
        });
    }
    let parse = |v: &Option<String>, name: &str| -> Result<Option<String>, ToolError> {
        match v {
            None => Ok(None),
            Some(s) => utc_date_time(s).map(Some).ok_or_else(|| {
                ToolError::input(
                    Some(&format!("{FIELD}.{name}")),
                    format!(
                        "{name} must be an ISO 8601 date-time in UTC, e.g. 2026-07-01T08:00:00Z; \
                         fix it and call again."
                    ),
                )
            }),
        }
    };
    let start = parse(&a.scheduled_start_date_time, "scheduledStartDateTime")?;
    let end = parse(&a.scheduled_end_date_time, "scheduledEndDateTime")?;
    if a.status == AutoReplyStatus::Scheduled {
        let (Some(s), Some(e)) = (&start, &end) else {
            return Err(ToolError::input(
                Some(FIELD),
                "Scheduled automatic replies need scheduledStartDateTime and \
                 scheduledEndDateTime (UTC); give both and call again.",
            ));
        };
        if e <= s {
            return Err(ToolError::input(
                Some(&format!("{FIELD}.scheduledEndDateTime")),
                "scheduledEndDateTime must be after scheduledStartDateTime; fix it and call again.",
            ));
        }
    }
    if let Some(s) = start {
        body["scheduledStartDateTime"] = json!({ "dateTime": s, "timeZone": "UTC" });
    }
    if let Some(e) = end {
        body["scheduledEndDateTime"] = json!({ "dateTime": e, "timeZone": "UTC" });
    }
    Ok(body)
}

/// The messageRule body for a forwarding rule.
pub fn rule_body(rule: &ForwardingRule, sequence: i64) -> Value {
    let redirect = rule.redirect.unwrap_or(false);
    let recipients: Vec<Value> = rule
        .forward_to
        .iter()
        .map(|a| json!({ "emailAddress": { "address": a } }))
        .collect();
    let action = if redirect { "redirectTo" } else { "forwardTo" };
    let mut actions = Map::new();
    actions.insert(action.into(), Value::Array(recipients));
    actions.insert(
        "stopProcessingRules".into(),
        json!(rule.stop_processing_rules.unwrap_or(false)),
    );
    json!({
        "displayName": rule_name(rule),
        "sequence": sequence,
        "isEnabled": true,
        "actions": actions,
    })
}

/// The rule's name: the given one, or "Forward to a, b" / "Redirect to a".
pub fn rule_name(rule: &ForwardingRule) -> String {
    match &rule.name {
        Some(n) if !n.trim().is_empty() => n.trim().to_string(),
        _ => {
            let verb = if rule.redirect.unwrap_or(false) {
                "Redirect"
            } else {
                "Forward"
            };
            format!("{verb} to {}", rule.forward_to.join(", "))
        }
    }
}

/// Checks what the schema cannot: addresses, no forwarding to oneself.
fn validate_rules(rules: &[ForwardingRule], upn: &str) -> Result<(), ToolError> {
    for (i, r) in rules.iter().enumerate() {
        for (j, addr) in r.forward_to.iter().enumerate() {
            let field = format!("settings.forwardingRules[{i}].forwardTo[{j}]");
            if !is_valid_email(addr) {
                return Err(ToolError::input(
                    Some(&field),
                    format!("{addr} is not an e-mail address; fix it and call again."),
                ));
            }
            if addr.eq_ignore_ascii_case(upn) {
                return Err(ToolError::input(
                    Some(&field),
                    "A mailbox cannot forward to itself; give another address.",
                ));
            }
        }
    }
    Ok(())
}

fn pick(settings: &Value, keys: &[&str]) -> Value {
    let mut out = Map::new();
    for k in keys {
        out.insert(
            (*k).into(),
            settings.get(*k).cloned().unwrap_or(Value::Null),
        );
    }
    Value::Object(out)
}

fn mailbox_not_ready(upn: &str, waited_s: u64, last: &GraphError, licensed: bool) -> ToolError {
    if !licensed {
        return last.to_tool_error_with(format!(
            "{upn} has no mailbox that Microsoft Graph can reach, and the user has no license; \
             assign a license that includes Exchange Online, then call configure_mailbox again."
        ));
    }
    last.to_tool_error_with(format!(
        "The mailbox of {upn} is not ready (still provisioning after {waited_s} s); call \
         configure_mailbox again in a few minutes. If the user has no license with Exchange \
         Online, assign one first."
    ))
    .with_retry_after(Some(60))
}

pub fn configure_mailbox(args: ConfigureMailboxArgs) -> Result<Value, ToolError> {
    let upn = args.user_email.trim().to_string();
    let s = &args.settings;
    let rules: &[ForwardingRule] = s.forwarding_rules.as_deref().unwrap_or(&[]);
    let mut patch = Map::new();
    if let Some(a) = &s.automatic_replies {
        patch.insert("automaticRepliesSetting".into(), auto_replies_body(a)?);
    }
    if let Some(tz) = s.time_zone.as_deref().map(str::trim) {
        if tz.is_empty() {
            return Err(ToolError::input(
                Some("settings.timeZone"),
                "timeZone is empty; give a time zone name such as Europe/Berlin.",
            ));
        }
        patch.insert("timeZone".into(), json!(tz));
    }
    if let Some(lang) = s.language.as_deref().map(str::trim) {
        patch.insert("language".into(), json!({ "locale": lang }));
    }
    let wanted = Wanted {
        read_receipts: s.read_receipts,
        delivery_receipts: s.delivery_receipts,
        forwarding: s.forwarding.as_ref(),
    };
    if patch.is_empty() && rules.is_empty() && wanted.is_empty() {
        return Err(ToolError::input(
            Some("settings"),
            "settings is empty; give at least one of readReceipts, deliveryReceipts, \
             forwarding, automaticReplies, forwardingRules, timeZone, language.",
        ));
    }
    validate_rules(rules, &upn)?;
    exchange::validate(&wanted, &upn)?;

    let needs_mailbox = !patch.is_empty() || !rules.is_empty() || !wanted.is_empty();
    let total: u64 = 1 + u64::from(needs_mailbox)
        * (1 + u64::from(!patch.is_empty()) + rules.len() as u64 + u64::from(!wanted.is_empty()));
    progress(0, total, &format!("Looking up {upn}"));
    let user = fetch_user(&upn, "id,userPrincipalName,assignedLicenses")?;
    let id = str_field(&user, "id").unwrap_or(&upn).to_string();
    let upn = str_field(&user, "userPrincipalName")
        .unwrap_or(&upn)
        .to_string();
    let mut done = 1;
    let mut applied = Map::new();
    let mut created_rules: Vec<Value> = Vec::new();

    if needs_mailbox {
        // An unlicensed user has no mailbox coming (unless it is a shared
        // mailbox, which answers at once): do not wait for it.
        let licensed = user
            .get("assignedLicenses")
            .and_then(Value::as_array)
            .is_some_and(|a| !a.is_empty());
        let wait = if licensed {
            args.wait_for_mailbox_seconds
                .unwrap_or(DEFAULT_WAIT_S)
                .min(MAX_WAIT_S)
        } else {
            0
        };
        progress(done, total, &format!("Checking the mailbox of {upn}"));
        let before = match wait_for_mailbox(&id, &upn, wait, done, total)? {
            MailboxState::Ready(v) => v,
            MailboxState::Provisioning { waited_s, last } => {
                return Err(mailbox_not_ready(&upn, waited_s, &last, licensed));
            }
        };
        done += 1;

        if !patch.is_empty() {
            progress(done, total, &format!("Updating mailbox settings of {upn}"));
            let keys: Vec<&str> = patch.keys().map(String::as_str).collect();
            let path = format!("{}/mailboxSettings", user_path(&id));
            let after = match graph().patch(&path, &Value::Object(patch.clone())) {
                Ok(Some(v)) => v,
                Ok(None) => graph().get(&path, &[])?,
                Err(e) if e.status == 400 => {
                    return Err(e.to_tool_error_with(format!(
                        "Exchange rejected the mailbox settings: {} Fix settings and call again; \
                         nothing was changed.",
                        e.message
                    ))
                    .with_detail("field", "settings"));
                }
                Err(e) => return Err(e.into()),
            };
            applied.insert(
                "mailboxSettings".into(),
                json!({ "before": pick(&before, &keys), "after": pick(&after, &keys) }),
            );
            done += 1;
        }

        if !rules.is_empty() {
            let rules_path = format!("{}/mailFolders/inbox/messageRules", user_path(&id));
            let existing = graph()
                .get(&rules_path, &[])
                .map_err(|e| partial(ToolError::from(e), &applied, &created_rules, &upn))?;
            let existing = collection(&existing);
            let mut next_seq = existing
                .iter()
                .filter_map(|r| r.get("sequence").and_then(Value::as_i64))
                .max()
                .unwrap_or(0)
                + 1;
            for rule in rules {
                let name = rule_name(rule);
                progress(done, total, &format!("Creating inbox rule \"{name}\""));
                let body = rule_body(rule, next_seq);
                let same = existing.iter().find(|r| {
                    str_field(r, "displayName") == Some(name.as_str())
                        && r.get("actions") == body.get("actions")
                });
                if let Some(r) = same {
                    created_rules.push(json!({
                        "id": r.get("id"), "name": name, "status": "alreadyPresent",
                    }));
                } else {
                    let made = graph()
                        .post(&rules_path, &body)
                        .map_err(|e| partial(ToolError::from(e), &applied, &created_rules, &upn))?
                        .unwrap_or(Value::Null);
                    created_rules.push(json!({
                        "id": made.get("id"),
                        "name": name,
                        "status": "created",
                        "forwardTo": rule.forward_to,
                        "redirect": rule.redirect.unwrap_or(false),
                        "sequence": next_seq,
                    }));
                    next_seq += 1;
                }
                done += 1;
            }
        }

        if !wanted.is_empty() {
            progress(done, total, &format!("Applying Exchange settings of {upn}"));
            let changes = exchange::apply(&wanted, &upn)
                .map_err(|e| partial(e, &applied, &created_rules, &upn))?;
            applied.insert("exchange".into(), json!(changes));
        }
    }
    progress(total, total, "Done");

    let mut parts = Vec::new();
    if applied.contains_key("mailboxSettings") {
        let keys: Vec<&str> = patch.keys().map(String::as_str).collect();
        parts.push(format!("Updated {} of {upn}.", keys.join(", ")));
    }
    if !created_rules.is_empty() {
        let created = created_rules
            .iter()
            .filter(|r| r["status"] == "created")
            .count();
        parts.push(format!(
            "Inbox rules: {created} created, {} already present.",
            created_rules.len() - created
        ));
    }
    if let Some(changes) = applied.get("exchange").and_then(Value::as_array) {
        let changed: Vec<&str> = changes
            .iter()
            .filter(|c| c["status"] == "changed")
            .filter_map(|c| c["setting"].as_str())
            .collect();
        parts.push(if changed.is_empty() {
            "Exchange settings already as asked.".to_string()
        } else {
            format!("Exchange: set {}.", changed.join(", "))
        });
    }
    if parts.is_empty() {
        parts.push(format!("Nothing was changed on {upn}."));
    }
    let mut out = json!({
        "summary": parts.join(" "),
        "userId": id,
        "userPrincipalName": upn,
        "applied": applied,
        "rules": created_rules,
    });
    if let Some(note) = exchange::external_forwarding_note(&wanted, &upn) {
        out["note"] = json!(note);
    }
    Ok(out)
}

/// An error after part of the work was done: say what was done.
fn partial(err: ToolError, applied: &Map<String, Value>, rules: &[Value], upn: &str) -> ToolError {
    if applied.is_empty() && rules.is_empty() {
        return err;
    }
    let mut done = Vec::new();
    if applied.contains_key("mailboxSettings") {
        done.push("the mailbox settings were updated".to_string());
    }
    if applied.contains_key("exchange") {
        done.push("the Exchange settings were applied".to_string());
    }
    if !rules.is_empty() {
        done.push(format!(
            "{} inbox rule(s) were created or already present",
            rules.len()
        ));
    }
    err.with_prefix(&format!(
        "On {upn}, {} before this failed (calling configure_mailbox again is safe):",
        done.join(" and ")
    ))
    .with_detail("applied", Value::Object(applied.clone()))
    .with_detail("rules", Value::Array(rules.to_vec()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn utc_times_normalise() {
        assert_eq!(
            utc_date_time("2026-07-01T08:00:00Z").unwrap(),
            "2026-07-01T08:00:00"
        );
        assert_eq!(
            utc_date_time("2026-07-01T08:00:00.123Z").unwrap(),
            "2026-07-01T08:00:00"
        );
        assert_eq!(
            utc_date_time("2026-07-01t08:00:00+00:00").unwrap(),
            "2026-07-01T08:00:00"
        );
        assert!(utc_date_time("2026-07-01T08:00:00+02:00").is_none());
        assert!(utc_date_time("2026-13-01T08:00:00Z").is_none());
        assert!(utc_date_time("2026-07-01").is_none());
        assert!(utc_date_time("yesterday").is_none());
    }

    fn replies(
        status: AutoReplyStatus,
        start: Option<&str>,
        end: Option<&str>,
    ) -> AutomaticReplies {
        AutomaticReplies {
            status,
            internal_reply_message: Some("Out".into()),
            external_reply_message: None,
            external_audience: Some(ExternalAudience::ContactsOnly),
            scheduled_start_date_time: start.map(String::from),
            scheduled_end_date_time: end.map(String::from),
        }
    }

    #[test]
    fn scheduled_replies_need_ordered_times() {
        let ok = auto_replies_body(&replies(
            AutoReplyStatus::Scheduled,
            Some("2026-07-01T08:00:00Z"),
            Some("2026-07-10T17:00:00Z"),
        ))
        .unwrap();
        assert_eq!(ok["status"], "scheduled");
        assert_eq!(ok["externalAudience"], "contactsOnly");
        assert_eq!(ok["scheduledEndDateTime"]["timeZone"], "UTC");
        assert_eq!(
            ok["scheduledStartDateTime"]["dateTime"],
            "2026-07-01T08:00:00"
        );
        let missing =
            auto_replies_body(&replies(AutoReplyStatus::Scheduled, None, None)).unwrap_err();
        assert_eq!(missing.code, "INPUT_001");
        let reversed = auto_replies_body(&replies(
            AutoReplyStatus::Scheduled,
            Some("2026-07-10T08:00:00Z"),
            Some("2026-07-01T08:00:00Z"),
        ))
        .unwrap_err();
        assert_eq!(
            reversed.detail("field").unwrap(),
            "settings.automaticReplies.scheduledEndDateTime"
        );
        let always =
            auto_replies_body(&replies(AutoReplyStatus::AlwaysEnabled, None, None)).unwrap();
        assert!(always.get("scheduledStartDateTime").is_none());
    }

    #[test]
    fn rules_forward_or_redirect() {
        let r = ForwardingRule {
            forward_to: vec!["a@x.com".into(), "b@y.com".into()],
            name: None,
            redirect: Some(true),
            stop_processing_rules: None,
        };
        let b = rule_body(&r, 3);
        assert_eq!(b["displayName"], "Redirect to a@x.com, b@y.com");
        assert_eq!(b["sequence"], 3);
        assert_eq!(
            b["actions"]["redirectTo"][1]["emailAddress"]["address"],
            "b@y.com"
        );
        assert!(b["actions"].get("forwardTo").is_none());
        assert!(validate_rules(&[r], "A@X.com").is_err());
    }
}
