//! The template tools: create, list, get, update, delete, preview, send.

use crate::send::{self, Message};
use crate::stored::{self, key, load, usage_log};
use m365_plugin_sdk::store::{self, Expect};
use m365_plugin_sdk::text::is_valid_email;
use m365_plugin_sdk::{ToolError, host, time};
use m365_templating::model::{Category, Template};
use m365_templating::render::{self, Part};
use m365_templating::sanitize;
use schemars::JsonSchema;
use serde::Deserialize;
use serde_json::{Map, Value, json};

fn now() -> String {
    time::rfc3339_millis(host::now_ms() as i64)
}

fn check_variable_names(vars: &[String]) -> Result<(), ToolError> {
    for v in vars {
        let ok = !v.is_empty()
            && v.len() <= 64
            && v.starts_with(|c: char| c.is_ascii_alphabetic() || c == '_')
            && v.chars().all(|c| c.is_ascii_alphanumeric() || c == '_');
        if !ok {
            return Err(ToolError::input(
                Some("variables"),
                format!(
                    "Variable name {v:?} is not valid: use letters, digits and _ (e.g. customer_name)."
                ),
            ));
        }
    }
    Ok(())
}

fn check_subject_line(subject: &str) -> Result<(), ToolError> {
    if subject.contains(['\r', '\n']) {
        return Err(ToolError::input(
            Some("subject"),
            "The subject contains a line break; a subject is one line (line breaks could inject mail headers).",
        ));
    }
    Ok(())
}

fn marketing_check(t: &Template) -> Result<(), ToolError> {
    if t.category != Category::Marketing {
        return Ok(());
    }
    let problems = sanitize::can_spam_problems(&t.body_html, t.body_text.as_deref(), true);
    if problems.is_empty() {
        return Ok(());
    }
    Err(ToolError::input(
        Some("bodyHtml"),
        format!(
            "Marketing mail must let recipients opt out and say where the sender is (CAN-SPAM). Add {}.",
            problems.join(" and ")
        ),
    )
    .with_detail("missing", problems))
}

/// Cleans the HTML and checks the whole template; returns what was removed.
fn prepare(t: &mut Template) -> Result<Vec<String>, ToolError> {
    check_variable_names(&t.variables)?;
    check_subject_line(&t.subject)?;
    let cleaned = sanitize::clean(&t.body_html);
    t.body_html = cleaned.html;
    render::check_template(t)?;
    marketing_check(t)?;
    Ok(cleaned.removed)
}

/// The checks a created template gets, for the built-in examples.
pub fn prepare_example(t: &mut Template) -> Result<(), ToolError> {
    prepare(t).map(|_| ())
}

fn summary(t: &Template, version: u64) -> Value {
    json!({
        "templateId": t.template_id,
        "templateName": t.template_name,
        "category": t.category,
        "subject": t.subject,
        "description": t.description,
        "variables": t.variables,
        "version": version,
        "updatedAt": t.updated_at,
    })
}

pub fn full(t: &Template, version: u64) -> Value {
    let mut v = summary(t, version);
    v["bodyHtml"] = json!(t.body_html);
    v["bodyText"] = json!(t.body_text);
    v["createdAt"] = json!(t.created_at);
    v["usageResource"] = json!(format!("m365://templates/{}/usage", t.template_id));
    v
}

#[derive(Debug, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct CreateArgs {
    /// Unique name; the id is made from it (e.g. wiring-instructions-v1).
    #[schemars(length(min = 1, max = 128))]
    pub template_name: String,
    /// One line; may use {{ variables }}.
    #[schemars(length(min = 1, max = 998))]
    pub subject: String,
    /// HTML body; unsafe markup is removed and reported.
    #[schemars(length(min = 1, max = 500000))]
    pub body_html: String,
    /// Plain-text alternative.
    #[schemars(length(max = 500000))]
    pub body_text: Option<String>,
    pub category: Category,
    /// Names of the variables the template uses, e.g. ["customer_name"].
    #[schemars(length(max = 100))]
    pub variables: Option<Vec<String>>,
    #[schemars(length(max = 1000))]
    pub description: Option<String>,
}

pub fn create(a: CreateArgs) -> Result<Value, ToolError> {
    crate::examples::ensure()?;
    let at = now();
    let mut t = Template {
        template_id: String::new(),
        template_name: a.template_name.trim().to_string(),
        subject: a.subject,
        body_html: a.body_html,
        body_text: a.body_text.filter(|t| !t.trim().is_empty()),
        category: a.category,
        variables: a.variables.unwrap_or_default(),
        description: a.description,
        created_at: at.clone(),
        updated_at: at,
    };
    let removed = prepare(&mut t)?;
    let (t, version) = stored::insert(t)?;
    Ok(json!({
        "template": full(&t, version),
        "removedFromHtml": removed,
        "message": if removed.is_empty() {
            format!("Created template {}.", t.template_id)
        } else {
            format!("Created template {}; unsafe HTML was removed: {}.", t.template_id, removed.join("; "))
        },
    }))
}

#[derive(Debug, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ListArgs {
    pub category: Option<Category>,
    /// Words to find in the name, subject or description.
    #[schemars(length(min = 1, max = 200))]
    pub search_query: Option<String>,
    /// Page size (default 25).
    #[schemars(range(min = 1, max = 100))]
    pub top: Option<u32>,
    /// nextCursor from the previous page.
    #[schemars(length(min = 1, max = 200))]
    pub cursor: Option<String>,
}

pub fn list(a: ListArgs) -> Result<Value, ToolError> {
    crate::examples::ensure()?;
    let query = a.search_query.as_deref().map(str::to_lowercase);
    let matches: Vec<Value> = stored::all()?
        .into_iter()
        .filter(|d| a.category.is_none_or(|c| d.value.category == c))
        .filter(|d| {
            query.as_ref().is_none_or(|q| {
                let t = &d.value;
                let hay = format!(
                    "{} {} {}",
                    t.template_name,
                    t.subject,
                    t.description.as_deref().unwrap_or("")
                )
                .to_lowercase();
                q.split_whitespace().all(|w| hay.contains(w))
            })
        })
        .filter(|d| {
            a.cursor
                .as_ref()
                .is_none_or(|c| d.value.template_id.as_str() > c.as_str())
        })
        .map(|d| summary(&d.value, d.version))
        .collect();
    let top = a.top.unwrap_or(25) as usize;
    let more = matches.len() > top;
    let page: Vec<Value> = matches.into_iter().take(top).collect();
    let next = more
        .then(|| {
            page.last()
                .and_then(|t| t["templateId"].as_str().map(str::to_string))
        })
        .flatten();
    Ok(json!({"templates": page, "nextCursor": next}))
}

#[derive(Debug, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct GetArgs {
    #[schemars(length(min = 1, max = 128))]
    pub template_id: String,
    /// An earlier version (default: the current one).
    #[schemars(range(min = 1))]
    pub version: Option<u64>,
}

/// A template at a version: the current one or one from its history.
pub fn at_version(id: &str, version: Option<u64>) -> Result<(Template, u64), ToolError> {
    let current = load(id)?;
    match version {
        None => Ok((current.value, current.version)),
        Some(v) if v == current.version => Ok((current.value, current.version)),
        Some(v) => store::history::<Option<Template>>(&key(id), 50)?
            .into_iter()
            .find(|d| d.version == v)
            .and_then(|d| d.value.map(|t| (t, d.version)))
            .ok_or_else(|| {
                ToolError::template_not_found(format!(
                    "Template {id} has no version {v}; the current version is {}.",
                    current.version
                ))
            }),
    }
}

pub fn get(a: GetArgs) -> Result<Value, ToolError> {
    crate::examples::ensure()?;
    let (t, version) = at_version(&a.template_id, a.version)?;
    let earlier: Vec<u64> = store::history::<Option<Template>>(&key(&a.template_id), 50)?
        .into_iter()
        .filter(|d| !d.deleted)
        .map(|d| d.version)
        .collect();
    let mut v = full(&t, version);
    v["earlierVersions"] = json!(earlier);
    Ok(v)
}

#[derive(Debug, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct UpdateArgs {
    #[schemars(length(min = 1, max = 128))]
    pub template_id: String,
    #[schemars(length(min = 1, max = 998))]
    pub subject: Option<String>,
    #[schemars(length(min = 1, max = 500000))]
    pub body_html: Option<String>,
    /// Plain-text alternative; "" removes it.
    #[schemars(length(max = 500000))]
    pub body_text: Option<String>,
    pub category: Option<Category>,
    #[schemars(length(max = 100))]
    pub variables: Option<Vec<String>>,
    #[schemars(length(max = 1000))]
    pub description: Option<String>,
    /// The version you read; the update is refused if it changed since.
    #[schemars(range(min = 1))]
    pub expected_version: Option<u64>,
}

pub fn update(a: UpdateArgs) -> Result<Value, ToolError> {
    let current = load(&a.template_id)?;
    if let Some(v) = a.expected_version
        && v != current.version
    {
        return Err(ToolError::store(format!(
            "Template {} is at version {}, not {v}: someone changed it since you read it. Read it again and re-apply your change.",
            a.template_id, current.version
        )));
    }
    let mut t = current.value;
    if let Some(s) = a.subject {
        t.subject = s;
    }
    if let Some(h) = a.body_html {
        t.body_html = h;
    }
    if let Some(x) = a.body_text {
        t.body_text = Some(x).filter(|x| !x.trim().is_empty());
    }
    if let Some(c) = a.category {
        t.category = c;
    }
    if let Some(v) = a.variables {
        t.variables = v;
    }
    if let Some(d) = a.description {
        t.description = Some(d);
    }
    t.updated_at = now();
    let removed = prepare(&mut t)?;
    let version = store::put(&key(&t.template_id), &t, Expect::Version(current.version))?;
    Ok(json!({
        "template": full(&t, version),
        "previousVersion": current.version,
        "removedFromHtml": removed,
        "message": format!("Template {} is now at version {version}; version {} stays readable (get_email_template with version).", t.template_id, current.version),
    }))
}

#[derive(Debug, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct DeleteArgs {
    #[schemars(length(min = 1, max = 128))]
    pub template_id: String,
}

pub fn plan_delete(a: DeleteArgs) -> Result<String, ToolError> {
    let t = load(&a.template_id)?;
    let sent = store::read_log(&usage_log(&a.template_id), None, 10_000)?.len();
    Ok(format!(
        "Delete the {} template {:?} ({}, version {}, used for {sent} recipient(s)). It can no longer be previewed or sent; its earlier versions and usage history stay in the encrypted database.",
        t.value.category.as_str(),
        t.value.template_name,
        t.value.template_id,
        t.version
    ))
}

pub fn delete(a: DeleteArgs) -> Result<Value, ToolError> {
    let t = load(&a.template_id)?;
    store::delete(&key(&a.template_id), Expect::Version(t.version))?;
    Ok(json!({"deleted": true, "templateId": a.template_id, "lastVersion": t.version}))
}

#[derive(Debug, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct PreviewArgs {
    #[schemars(length(min = 1, max = 128))]
    pub template_id: String,
    /// Values for every declared variable.
    pub variables: Map<String, Value>,
    /// Wiring templates: show account numbers in full (masked by default).
    pub reveal_account_numbers: Option<bool>,
    #[schemars(range(min = 1))]
    pub version: Option<u64>,
}

struct Rendered {
    subject: String,
    html: String,
    text: Option<String>,
    removed: Vec<String>,
}

fn render_all(t: &Template, values: &Map<String, Value>) -> Result<Rendered, ToolError> {
    render::check_values(t, values)?;
    let subject = render::render_subject(t, values)?;
    let html = render::render(Part::Html, &t.body_html, values)?;
    // Values are escaped, but one placed in an attribute (an href) could
    // still carry a javascript: URL: clean the result too.
    let cleaned = sanitize::clean(&html);
    let text = t
        .body_text
        .as_deref()
        .map(|s| render::render(Part::Text, s, values))
        .transpose()?;
    // The operator may mark every message the agent sends (M365_MAIL_SIGNOFF).
    let (html, text) = match host::setting("mail-signoff").filter(|s| !s.trim().is_empty()) {
        Some(signoff) => (
            format!("{}<p>{}</p>", cleaned.html, escape_html(signoff.trim())),
            text.map(|t| format!("{t}\n\n-- \n{}", signoff.trim())),
        ),
        None => (cleaned.html, text),
    };
    Ok(Rendered {
        subject,
        html,
        text,
        removed: cleaned.removed,
    })
}

fn escape_html(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

pub fn preview(a: PreviewArgs) -> Result<Value, ToolError> {
    crate::examples::ensure()?;
    let (t, version) = at_version(&a.template_id, a.version)?;
    let r = render_all(&t, &a.variables)?;
    let mask = t.category == Category::Wiring && !a.reveal_account_numbers.unwrap_or(false);
    let shown = |s: &str| {
        if mask {
            render::mask_account_numbers(s)
        } else {
            s.to_string()
        }
    };
    let mut problems = Vec::new();
    if t.category == Category::Marketing {
        problems = sanitize::can_spam_problems(&r.html, r.text.as_deref(), false);
    }
    Ok(json!({
        "templateId": t.template_id,
        "version": version,
        "subject": shown(&r.subject),
        "bodyHtml": shown(&r.html),
        "bodyText": r.text.as_deref().map(shown),
        "accountNumbersMasked": mask,
        "removedFromRenderedHtml": r.removed,
        "wouldBeRefused": problems,
        "sent": false,
    }))
}

#[derive(Debug, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct SendArgs {
    #[schemars(length(min = 1, max = 128))]
    pub template_id: String,
    /// Recipient addresses.
    #[schemars(length(min = 1, max = 500))]
    pub to: Vec<String>,
    /// Values for every declared variable.
    pub variables: Map<String, Value>,
    /// The mailbox to send as (a user in the tenant).
    #[schemars(length(min = 3, max = 254))]
    pub from: Option<String>,
    #[schemars(length(max = 500))]
    pub cc: Option<Vec<String>>,
    #[schemars(length(max = 500))]
    pub bcc: Option<Vec<String>>,
    /// Ask recipients' mail clients for a read receipt.
    pub request_read_receipt: Option<bool>,
    /// Ask for a delivery receipt.
    pub request_delivery_receipt: Option<bool>,
}

fn check_addresses(field: &str, list: &[String]) -> Result<(), ToolError> {
    for (i, a) in list.iter().enumerate() {
        if !is_valid_email(a) {
            return Err(ToolError::input(
                Some(&format!("{field}[{i}]")),
                format!(
                    "{a:?} in {field} is not an e-mail address (name@domain, no display name or line breaks); fix it and send again."
                ),
            ));
        }
    }
    Ok(())
}

/// Variable values for the usage record: secret-looking names redacted,
/// account numbers masked in wiring mail.
fn recorded_values(t: &Template, values: &Map<String, Value>) -> Value {
    let secret = |k: &str| {
        let k = k.to_ascii_lowercase();
        ["password", "secret", "token", "pin", "ssn"]
            .iter()
            .any(|s| k.contains(s))
    };
    Value::Object(
        values
            .iter()
            .map(|(k, v)| {
                let v = if secret(k) {
                    json!("[REDACTED]")
                } else if t.category == Category::Wiring {
                    match v {
                        Value::String(s) => json!(render::mask_account_numbers(s)),
                        Value::Number(n) => json!(render::mask_account_numbers(&n.to_string())),
                        other => other.clone(),
                    }
                } else {
                    v.clone()
                };
                (k.clone(), v)
            })
            .collect(),
    )
}

pub fn send_from_template(a: SendArgs) -> Result<Value, ToolError> {
    crate::examples::ensure()?;
    let from = a.from.clone().ok_or_else(|| {
        ToolError::input(
            Some("from"),
            "Say which mailbox sends the message: give `from`, a user's address in this tenant.",
        )
    })?;
    check_addresses("from", std::slice::from_ref(&from))?;
    let cc = a.cc.clone().unwrap_or_default();
    let bcc = a.bcc.clone().unwrap_or_default();
    check_addresses("to", &a.to)?;
    check_addresses("cc", &cc)?;
    check_addresses("bcc", &bcc)?;
    let current = load(&a.template_id)?;
    let (t, version) = (current.value, current.version);
    let r = render_all(&t, &a.variables)?;
    if t.category == Category::Marketing {
        let problems = sanitize::can_spam_problems(&r.html, r.text.as_deref(), false);
        if !problems.is_empty() {
            return Err(ToolError::input(
                Some("variables"),
                format!(
                    "This marketing message would go out without {}; CAN-SPAM requires them. Fill the variables (or fix the template) and send again.",
                    problems.join(" and ")
                ),
            ));
        }
    }
    let everyone: Vec<&String> = a.to.iter().chain(&cc).chain(&bcc).collect();
    if t.category == Category::Wiring {
        let outside = send::outside(&everyone, &send::verified_domains()?);
        if !outside.is_empty() {
            host::confirm(&format!(
                "Send wire transfer instructions ({}, template {} version {version}) from {from} to {} outside the firm's verified domains. Wiring fraud often starts with instructions sent to a look-alike address: check each address with the customer by phone before approving.",
                t.template_name,
                t.template_id,
                outside.join(", ")
            ))?;
        }
    }
    let send_id = new_send_id();
    let msg = Message {
        from: &from,
        to: &a.to,
        cc: &cc,
        bcc: &bcc,
        subject: &r.subject,
        html: &r.html,
        text: r.text.as_deref(),
        read_receipt: a.request_read_receipt.unwrap_or(false),
        delivery_receipt: a.request_delivery_receipt.unwrap_or(false),
        headers: vec![
            ("X-M365Admin-Send-Id".into(), send_id.clone()),
            (
                "X-M365Admin-Template".into(),
                format!("{};v{version}", t.template_id),
            ),
        ],
    };
    send::send(&msg, &send_id)?;
    let sent_at = now();
    let values = recorded_values(&t, &a.variables);
    let mut records = 0;
    for (kind, list) in [("to", &a.to), ("cc", &cc), ("bcc", &bcc)] {
        for recipient in list {
            let entry = json!({
                "templateId": t.template_id, "version": version, "sender": from,
                "recipient": recipient, "kind": kind, "variables": values,
                "sentAt": sent_at, "sendId": send_id,
            });
            store::append(&usage_log(&t.template_id), &entry.to_string())?;
            records += 1;
        }
    }
    Ok(json!({
        "sent": true,
        "templateId": t.template_id,
        "version": version,
        "from": from,
        "recipients": everyone.len(),
        "subject": if t.category == Category::Wiring { render::mask_account_numbers(&r.subject) } else { r.subject.clone() },
        "sendId": send_id,
        "usageRecords": records,
        "removedFromRenderedHtml": r.removed,
    }))
}

fn new_send_id() -> String {
    m365_plugin_sdk::http::new_uuid()
}
