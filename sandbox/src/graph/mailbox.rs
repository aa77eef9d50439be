//! Exchange Online through Graph: `users/{id}/mailboxSettings` and
//! `users/{id}/mailFolders/inbox/messageRules`. Both answer `MailboxNotEnabledForRESTAPI` until
//! the user holds an Exchange plan and its mailbox has finished provisioning.

use http::StatusCode;
use serde_json::{Map, Value, json};

use super::odata::json_object;
use crate::app::App;
use crate::tenant::{MailboxState, Tenant};
use crate::web::{Ctx, GraphError, GraphResult, Reply};

/// The expected shape of a PATCH body, for OData-style validation.
enum Ty {
    Str,
    /// An Edm time of day or date-time string.
    Time,
    DateTime,
    Enum(&'static str, &'static [&'static str]),
    Obj(&'static str, &'static [(&'static str, Ty)]),
    List(&'static Ty),
    ReadOnly,
}

const DATE_TIME_TZ: Ty = Ty::Obj(
    "microsoft.graph.dateTimeTimeZone",
    &[("dateTime", Ty::DateTime), ("timeZone", Ty::Str)],
);
const DAY: Ty = Ty::Enum(
    "microsoft.graph.dayOfWeek",
    &[
        "sunday",
        "monday",
        "tuesday",
        "wednesday",
        "thursday",
        "friday",
        "saturday",
    ],
);
const SETTINGS: Ty = Ty::Obj(
    "microsoft.graph.mailboxSettings",
    &[
        ("archiveFolder", Ty::Str),
        ("timeZone", Ty::Str),
        ("dateFormat", Ty::Str),
        ("timeFormat", Ty::Str),
        ("userPurpose", Ty::ReadOnly),
        (
            "delegateMeetingMessageDeliveryOptions",
            Ty::Enum(
                "microsoft.graph.delegateMeetingMessageDeliveryOptions",
                &[
                    "sendToDelegateAndInformationToPrincipal",
                    "sendToDelegateAndPrincipal",
                    "sendToDelegateOnly",
                ],
            ),
        ),
        (
            "automaticRepliesSetting",
            Ty::Obj(
                "microsoft.graph.automaticRepliesSetting",
                &[
                    (
                        "status",
                        Ty::Enum(
                            "microsoft.graph.automaticRepliesStatus",
                            &["disabled", "alwaysEnabled", "scheduled"],
                        ),
                    ),
                    (
                        "externalAudience",
                        Ty::Enum(
                            "microsoft.graph.externalAudienceScope",
                            &["none", "contactsOnly", "all"],
                        ),
                    ),
                    ("internalReplyMessage", Ty::Str),
                    ("externalReplyMessage", Ty::Str),
                    ("scheduledStartDateTime", DATE_TIME_TZ),
                    ("scheduledEndDateTime", DATE_TIME_TZ),
                ],
            ),
        ),
        (
            "language",
            Ty::Obj(
                "microsoft.graph.localeInfo",
                &[("locale", Ty::Str), ("displayName", Ty::ReadOnly)],
            ),
        ),
        (
            "workingHours",
            Ty::Obj(
                "microsoft.graph.workingHours",
                &[
                    ("daysOfWeek", Ty::List(&DAY)),
                    ("startTime", Ty::Time),
                    ("endTime", Ty::Time),
                    (
                        "timeZone",
                        Ty::Obj("microsoft.graph.timeZoneBase", &[("name", Ty::Str)]),
                    ),
                ],
            ),
        ),
    ],
);

fn body_read(message: String) -> GraphError {
    GraphError::new(StatusCode::BAD_REQUEST, "RequestBodyRead", message)
}

fn is_time(s: &str) -> bool {
    let main = s.split('.').next().unwrap_or_default();
    let parts: Vec<&str> = main.split(':').collect();
    parts.len() == 3
        && parts
            .iter()
            .all(|p| p.len() == 2 && p.chars().all(|c| c.is_ascii_digit()))
        && s.split('.')
            .nth(1)
            .is_none_or(|f| f.chars().all(|c| c.is_ascii_digit()))
}

fn is_date_time(s: &str) -> bool {
    let Some((date, time)) = s.split_once('T') else {
        return false;
    };
    let d: Vec<&str> = date.split('-').collect();
    d.len() == 3
        && d[0].len() == 4
        && d[1].len() == 2
        && d[2].len() == 2
        && d.iter().all(|p| p.chars().all(|c| c.is_ascii_digit()))
        && is_time(time.trim_end_matches('Z'))
}

fn check(ty: &Ty, name: &str, v: &Value) -> Result<(), GraphError> {
    let wrong = |expected: &str| {
        body_read(format!(
            "Cannot convert the value of property '{name}' to the expected type '{expected}'."
        ))
    };
    match ty {
        Ty::ReadOnly => Err(GraphError::new(
            StatusCode::BAD_REQUEST,
            "ErrorInvalidRequest",
            format!("The property '{name}' is read-only and cannot be set."),
        )),
        _ if v.is_null() => Ok(()),
        Ty::Str => v.as_str().map(|_| ()).ok_or_else(|| wrong("Edm.String")),
        Ty::Time => match v.as_str() {
            Some(s) if is_time(s) => Ok(()),
            _ => Err(wrong("Edm.TimeOfDay")),
        },
        Ty::DateTime => match v.as_str() {
            Some(s) if is_date_time(s) => Ok(()),
            _ => Err(GraphError::new(
                StatusCode::BAD_REQUEST,
                "ErrorInvalidRequest",
                format!("The value of property '{name}' is not a valid date and time."),
            )),
        },
        Ty::Enum(type_name, values) => match v.as_str() {
            Some(s) if values.contains(&s) => Ok(()),
            _ => Err(body_read(format!(
                "Cannot convert the literal '{}' to the expected type '{type_name}'.",
                v.as_str().map_or_else(|| v.to_string(), str::to_string)
            ))),
        },
        Ty::List(item) => match v.as_array() {
            Some(items) => items.iter().try_for_each(|i| check(item, name, i)),
            None => Err(wrong("Collection")),
        },
        Ty::Obj(type_name, fields) => {
            let Some(obj) = v.as_object() else {
                return Err(wrong(type_name));
            };
            for (k, val) in obj {
                if k.starts_with('@') {
                    continue;
                }
                let Some((_, fty)) = fields.iter().find(|(f, _)| f == k) else {
                    return Err(body_read(format!(
                        "The property '{k}' does not exist on type '{type_name}'. Make sure to only use property names that are defined by the type or mark the type as open type."
                    )));
                };
                check(fty, k, val)?;
            }
            Ok(())
        }
    }
}

fn merge(target: &mut Value, patch: &Value) {
    match (target, patch) {
        (Value::Object(t), Value::Object(p)) => {
            for (k, v) in p {
                if k.starts_with('@') {
                    continue;
                }
                match t.get_mut(k) {
                    Some(existing) if existing.is_object() && v.is_object() => merge(existing, v),
                    _ => {
                        t.insert(k.clone(), v.clone());
                    }
                }
            }
        }
        (t, p) => *t = p.clone(),
    }
}

fn locale_name(locale: &str) -> String {
    match locale.to_ascii_lowercase().as_str() {
        "en-us" => "English (United States)",
        "en-gb" => "English (United Kingdom)",
        "fr-fr" => "French (France)",
        "de-de" => "German (Germany)",
        "es-es" => "Spanish (Spain)",
        _ => locale,
    }
    .to_string()
}

/// The index of a user whose mailbox answers now, or Exchange's 404s.
pub(super) fn ready_user(t: &Tenant, key: &str, ctx: &Ctx) -> Result<usize, GraphError> {
    let i = t.find_user(key).ok_or_else(|| {
        GraphError::new(
            StatusCode::NOT_FOUND,
            "ErrorInvalidUser",
            format!("The requested user '{key}' is invalid."),
        )
    })?;
    match t.mailbox_state(&t.users[i], ctx.now) {
        MailboxState::Ready => Ok(i),
        MailboxState::None | MailboxState::Provisioning => Err(GraphError::new(
            StatusCode::NOT_FOUND,
            "MailboxNotEnabledForRESTAPI",
            "The mailbox is either inactive, soft-deleted, or is hosted on-premise.",
        )),
    }
}

fn user_context(app: &App, id: &str, tail: &str) -> String {
    format!("{}$metadata#users('{id}'){tail}", app.graph_root())
}

pub(super) fn get_settings(app: &App, ctx: &Ctx, key: &str) -> GraphResult {
    app.store.read(|t| {
        let u = &t.users[ready_user(t, key, ctx)?];
        let mut body = Map::new();
        body.insert(
            "@odata.context".into(),
            json!(user_context(app, &u.id, "/mailboxSettings")),
        );
        if let Some(Value::Object(s)) = u.mailbox.as_ref().map(|m| &m.settings) {
            body.extend(s.clone());
        }
        Ok(Reply::ok(Value::Object(body)))
    })
}

/// PATCH merges into the settings and answers 200 with the updated properties.
pub(super) fn patch_settings(app: &App, ctx: &Ctx, key: &str, body: &[u8]) -> GraphResult {
    let patch = Value::Object(json_object(body)?);
    check(&SETTINGS, "mailboxSettings", &patch)?;
    app.store.mutate(|t| {
        let i = ready_user(t, key, ctx)?;
        let id = t.users[i].id.clone();
        let Some(mailbox) = t.users[i].mailbox.as_mut() else {
            return Err(GraphError::not_found(key));
        };
        merge(&mut mailbox.settings, &patch);
        if let Some(locale) = patch["language"]["locale"].as_str() {
            mailbox.settings["language"]["displayName"] = json!(locale_name(locale));
        }
        let mut out = Map::new();
        out.insert(
            "@odata.context".into(),
            json!(user_context(app, &id, "/mailboxSettings")),
        );
        for k in patch.as_object().into_iter().flat_map(|o| o.keys()) {
            if !k.starts_with('@') {
                out.insert(k.clone(), mailbox.settings[k].clone());
            }
        }
        Ok(Reply::ok(Value::Object(out)))
    })
}

/// Any folder but the inbox: the sandbox's mailboxes keep rules there only.
pub(super) fn no_such_folder() -> GraphResult {
    Err(rule_not_found())
}

fn rule_not_found() -> GraphError {
    GraphError::new(
        StatusCode::NOT_FOUND,
        "ErrorItemNotFound",
        "The specified object was not found in the store.",
    )
}

fn invalid_rule(message: impl Into<String>) -> GraphError {
    GraphError::new(StatusCode::BAD_REQUEST, "ErrorInvalidRequest", message)
}

const RULE_ACTIONS: &[&str] = &[
    "assignCategories",
    "copyToFolder",
    "delete",
    "forwardAsAttachmentTo",
    "forwardTo",
    "markAsRead",
    "markImportance",
    "moveToFolder",
    "permanentDelete",
    "redirectTo",
    "stopProcessingRules",
];

fn check_recipients(list: &Value, field: &str) -> Result<(), GraphError> {
    let items = list
        .as_array()
        .ok_or_else(|| invalid_rule(format!("'{field}' must be a collection of recipients.")))?;
    for r in items {
        let address = r["emailAddress"]["address"].as_str().unwrap_or_default();
        let valid = address
            .split_once('@')
            .is_some_and(|(l, d)| !l.is_empty() && d.contains('.') && !d.contains('@'));
        if !valid {
            return Err(GraphError::new(
                StatusCode::BAD_REQUEST,
                "ErrorInvalidRecipients",
                format!(
                    "At least one recipient isn't valid: '{address}' is not a valid SMTP address."
                ),
            ));
        }
    }
    Ok(())
}

/// Validates a messageRule body (complete on create) into the stored fields.
fn check_rule(body: &Map<String, Value>, creating: bool) -> Result<(), GraphError> {
    for (k, v) in body {
        match k.as_str() {
            "displayName" => {
                if v.as_str().is_none_or(|s| s.trim().is_empty()) {
                    return Err(invalid_rule(
                        "The rule's displayName must be a non-empty string.",
                    ));
                }
            }
            "sequence" => {
                if v.as_i64().is_none_or(|n| n < 1) {
                    return Err(invalid_rule(
                        "The rule's sequence must be an integer greater than 0.",
                    ));
                }
            }
            "isEnabled" => {
                if !v.is_boolean() {
                    return Err(invalid_rule("isEnabled must be a boolean."));
                }
            }
            "conditions" | "exceptions" => {
                if !v.is_object() {
                    return Err(invalid_rule(format!(
                        "'{k}' must be a messageRulePredicates object."
                    )));
                }
            }
            "actions" => {
                let actions = v.as_object().ok_or_else(|| {
                    invalid_rule("'actions' must be a messageRuleActions object.")
                })?;
                for (a, av) in actions {
                    if !RULE_ACTIONS.contains(&a.as_str()) {
                        return Err(body_read(format!(
                            "The property '{a}' does not exist on type 'microsoft.graph.messageRuleActions'. Make sure to only use property names that are defined by the type or mark the type as open type."
                        )));
                    }
                    if matches!(
                        a.as_str(),
                        "forwardTo" | "redirectTo" | "forwardAsAttachmentTo"
                    ) {
                        check_recipients(av, a)?;
                    }
                }
            }
            "id" | "hasError" | "isReadOnly" => {}
            k if k.starts_with('@') => {}
            other => {
                return Err(body_read(format!(
                    "The property '{other}' does not exist on type 'microsoft.graph.messageRule'. Make sure to only use property names that are defined by the type or mark the type as open type."
                )));
            }
        }
    }
    if creating {
        if !body.contains_key("displayName") {
            return Err(invalid_rule("The rule's displayName is required."));
        }
        if !body.contains_key("sequence") {
            return Err(invalid_rule("The rule's sequence is required."));
        }
    }
    Ok(())
}

fn rule_id() -> String {
    use base64::Engine;
    let mut bytes = [0u8; 8];
    bytes[..4].copy_from_slice(&[1, 0, 0, 0]);
    loop {
        bytes[4..].copy_from_slice(&uuid::Uuid::new_v4().as_bytes()[..4]);
        let id = base64::engine::general_purpose::STANDARD.encode(bytes);
        // A '/' would split the id's path segment (`%2F` decodes before routing).
        if !id.contains('/') {
            return id;
        }
    }
}

fn rules_context(app: &App, user_id: &str, entity: bool) -> String {
    let tail = if entity { "/$entity" } else { "" };
    user_context(
        app,
        user_id,
        &format!("/mailFolders('inbox')/messageRules{tail}"),
    )
}

fn with_context(rule: &Value, context: String) -> Value {
    let mut out = Map::new();
    out.insert("@odata.context".into(), json!(context));
    if let Some(o) = rule.as_object() {
        out.extend(o.clone());
    }
    Value::Object(out)
}

pub(super) fn list_rules(app: &App, ctx: &Ctx, key: &str) -> GraphResult {
    app.store.read(|t| {
        let u = &t.users[ready_user(t, key, ctx)?];
        let mut rules = u
            .mailbox
            .as_ref()
            .map(|m| m.rules.clone())
            .unwrap_or_default();
        rules.sort_by_key(|r| r["sequence"].as_i64().unwrap_or(i64::MAX));
        Ok(Reply::ok(json!({
            "@odata.context": rules_context(app, &u.id, false),
            "value": rules,
        })))
    })
}

pub(super) fn get_rule(app: &App, ctx: &Ctx, key: &str, rule: &str) -> GraphResult {
    app.store.read(|t| {
        let u = &t.users[ready_user(t, key, ctx)?];
        let r = u
            .mailbox
            .iter()
            .flat_map(|m| m.rules.iter())
            .find(|r| r["id"].as_str() == Some(rule))
            .ok_or_else(rule_not_found)?;
        Ok(Reply::ok(with_context(r, rules_context(app, &u.id, true))))
    })
}

pub(super) fn create_rule(app: &App, ctx: &Ctx, key: &str, body: &[u8]) -> GraphResult {
    let body = json_object(body)?;
    check_rule(&body, true)?;
    app.store.mutate(|t| {
        let i = ready_user(t, key, ctx)?;
        let user_id = t.users[i].id.clone();
        let mut rule = Map::new();
        rule.insert("id".into(), json!(rule_id()));
        rule.insert("displayName".into(), body["displayName"].clone());
        rule.insert("sequence".into(), body["sequence"].clone());
        rule.insert(
            "isEnabled".into(),
            body.get("isEnabled").cloned().unwrap_or(json!(true)),
        );
        rule.insert("hasError".into(), json!(false));
        rule.insert("isReadOnly".into(), json!(false));
        rule.insert(
            "conditions".into(),
            body.get("conditions").cloned().unwrap_or(json!({})),
        );
        rule.insert(
            "actions".into(),
            body.get("actions").cloned().unwrap_or(json!({})),
        );
        if let Some(e) = body.get("exceptions") {
            rule.insert("exceptions".into(), e.clone());
        }
        let rule = Value::Object(rule);
        let reply = Reply::json(
            StatusCode::CREATED,
            with_context(&rule, rules_context(app, &user_id, true)),
        );
        if let Some(mb) = t.users[i].mailbox.as_mut() {
            mb.rules.push(rule);
        }
        Ok(reply)
    })
}

pub(super) fn patch_rule(app: &App, ctx: &Ctx, key: &str, rule: &str, body: &[u8]) -> GraphResult {
    let body = json_object(body)?;
    check_rule(&body, false)?;
    app.store.mutate(|t| {
        let i = ready_user(t, key, ctx)?;
        let user_id = t.users[i].id.clone();
        let r = t.users[i]
            .mailbox
            .as_mut()
            .and_then(|m| m.rules.iter_mut().find(|r| r["id"].as_str() == Some(rule)))
            .ok_or_else(rule_not_found)?;
        for (k, v) in &body {
            if !matches!(k.as_str(), "id" | "hasError" | "isReadOnly") && !k.starts_with('@') {
                r[k] = v.clone();
            }
        }
        Ok(Reply::ok(with_context(
            r,
            rules_context(app, &user_id, true),
        )))
    })
}

pub(super) fn delete_rule(app: &App, ctx: &Ctx, key: &str, rule: &str) -> GraphResult {
    app.store.mutate(|t| {
        let i = ready_user(t, key, ctx)?;
        let rules = &mut t.users[i]
            .mailbox
            .as_mut()
            .ok_or_else(rule_not_found)?
            .rules;
        let before = rules.len();
        rules.retain(|r| r["id"].as_str() != Some(rule));
        if rules.len() == before {
            return Err(rule_not_found());
        }
        Ok(Reply::no_content())
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::tenant::mailbox::default_settings;

    #[test]
    fn settings_validation_table() {
        let ok = [
            json!({"automaticRepliesSetting": {"status": "alwaysEnabled", "internalReplyMessage": "Away"}}),
            json!({"automaticRepliesSetting": {"status": "scheduled",
                "scheduledStartDateTime": {"dateTime": "2026-07-01T08:00:00", "timeZone": "UTC"}}}),
            json!({"workingHours": {"daysOfWeek": ["monday"], "startTime": "09:00:00.0000000"}}),
            json!({"timeZone": "Pacific Standard Time", "language": {"locale": "en-GB"}}),
        ];
        for body in ok {
            assert!(check(&SETTINGS, "mailboxSettings", &body).is_ok(), "{body}");
        }
        let bad = [
            (
                json!({"automaticRepliesSetting": {"status": "on"}}),
                "RequestBodyRead",
            ),
            (
                json!({"automaticRepliesSetting": {"externalAudience": "everyone"}}),
                "RequestBodyRead",
            ),
            (json!({"colour": "blue"}), "RequestBodyRead"),
            (
                json!({"workingHours": {"daysOfWeek": ["funday"]}}),
                "RequestBodyRead",
            ),
            (json!({"userPurpose": "shared"}), "ErrorInvalidRequest"),
            (
                json!({"automaticRepliesSetting": {"scheduledEndDateTime": {"dateTime": "tomorrow"}}}),
                "ErrorInvalidRequest",
            ),
        ];
        for (body, code) in bad {
            assert_eq!(
                check(&SETTINGS, "mailboxSettings", &body).unwrap_err().code,
                code,
                "{body}"
            );
        }
    }

    #[test]
    fn merge_is_deep() {
        let mut s = default_settings();
        merge(
            &mut s,
            &json!({"automaticRepliesSetting": {"status": "alwaysEnabled"}}),
        );
        assert_eq!(s["automaticRepliesSetting"]["status"], "alwaysEnabled");
        assert_eq!(s["automaticRepliesSetting"]["externalAudience"], "all");
    }

    #[test]
    fn rule_validation() {
        let good = json!({"displayName": "Fwd", "sequence": 1,
            "actions": {"forwardTo": [{"emailAddress": {"name": "B", "address": "b@example.com"}}], "stopProcessingRules": true}});
        assert!(check_rule(good.as_object().unwrap(), true).is_ok());
        let bad_addr = json!({"displayName": "Fwd", "sequence": 1,
            "actions": {"forwardTo": [{"emailAddress": {"address": "nope"}}]}});
        assert_eq!(
            check_rule(bad_addr.as_object().unwrap(), true)
                .unwrap_err()
                .code,
            "ErrorInvalidRecipients"
        );
        let missing = json!({"sequence": 1});
        assert!(check_rule(missing.as_object().unwrap(), true).is_err());
    }
}
