//! The mailbox settings configure_mailbox applies through Exchange Online,
//! because Graph has no API for them: the read-receipt response
//! (`Set-MailboxMessageConfiguration -ReadReceiptResponse`), read status in
//! senders' delivery reports (`Set-Mailbox -MessageTrackingReadStatusEnabled`)
//! and mailbox forwarding (`Set-Mailbox -ForwardingSmtpAddress
//! -DeliverToMailboxAndForward`). Each is read first and set only if it
//! differs.

use m365_plugin_sdk::ToolError;
use m365_plugin_sdk::exchange::{ExchangeError, invoke, plain_address};
use m365_plugin_sdk::text::is_valid_email;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value, json};

#[derive(Debug, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct MailboxForwarding {
    /// false turns mailbox forwarding off.
    pub enabled: bool,
    /// Where all mail is forwarded (required when enabled).
    #[schemars(email)]
    pub forward_to: Option<String>,
    /// Keep a copy in the mailbox (default true).
    pub keep_copy: Option<bool>,
}

/// The Exchange settings asked for.
#[derive(Debug, Default)]
pub struct Wanted<'a> {
    pub read_receipts: Option<bool>,
    pub delivery_receipts: Option<bool>,
    pub forwarding: Option<&'a MailboxForwarding>,
}

impl Wanted<'_> {
    pub fn is_empty(&self) -> bool {
        self.read_receipts.is_none()
            && self.delivery_receipts.is_none()
            && self.forwarding.is_none()
    }
}

/// One Exchange setting, before and after.
#[derive(Debug, Clone, Serialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct Change {
    pub setting: &'static str,
    pub before: Value,
    pub after: Value,
    /// changed | unchanged
    pub status: &'static str,
}

/// Checks what the schema cannot: a forwarding address, and not oneself.
pub fn validate(w: &Wanted, upn: &str) -> Result<(), ToolError> {
    let Some(f) = w.forwarding else {
        return Ok(());
    };
    const FIELD: &str = "settings.forwarding.forwardTo";
    match (f.enabled, f.forward_to.as_deref().map(str::trim)) {
        (true, None | Some("")) => Err(ToolError::input(
            Some(FIELD),
            "Forwarding needs forwardTo, the address to forward to; give it, or set enabled false.",
        )),
        (true, Some(a)) if !is_valid_email(a) => Err(ToolError::input(
            Some(FIELD),
            format!("{a} is not an e-mail address; fix it and call again."),
        )),
        (true, Some(a)) if a.eq_ignore_ascii_case(upn) => Err(ToolError::input(
            Some(FIELD),
            "A mailbox cannot forward to itself; give another address.",
        )),
        _ => Ok(()),
    }
}

fn receipt_value(on: bool) -> &'static str {
    if on { "AlwaysSend" } else { "NeverSend" }
}

fn change(setting: &'static str, before: Value, after: Value, same: bool) -> Change {
    Change {
        setting,
        before,
        after,
        status: if same { "unchanged" } else { "pending" },
    }
}

/// Rewords "couldn't be found" for a mailbox Graph already answered for.
fn exchange_error(e: ExchangeError, upn: &str) -> ToolError {
    e.not_found_as(|| {
        ToolError::exchange(format!(
            "Exchange Online has no mailbox {upn} yet (it can lag a few minutes behind a new \
             user); call configure_mailbox again shortly."
        ))
        .with_retry_after(Some(60))
    })
}

/// Reads the current values, sets those that differ, and returns each
/// setting before and after. On failure, the error says what was set.
pub fn apply(w: &Wanted, upn: &str) -> Result<Vec<Change>, ToolError> {
    let mut changes = Vec::new();
    let mut mailbox_set = Map::new();
    let mut message_set = Map::new();

    if w.delivery_receipts.is_some() || w.forwarding.is_some() {
        let mb = invoke("Get-Mailbox", json!({ "Identity": upn }))
            .map_err(|e| exchange_error(e, upn))?
            .into_iter()
            .next()
            .unwrap_or(Value::Null);
        if let Some(on) = w.delivery_receipts {
            let before = mb
                .get("MessageTrackingReadStatusEnabled")
                .cloned()
                .unwrap_or(Value::Null);
            let c = change(
                "MessageTrackingReadStatusEnabled",
                before.clone(),
                json!(on),
                before == json!(on),
            );
            if c.status == "pending" {
                mailbox_set.insert(c.setting.into(), json!(on));
            }
            changes.push(c);
        }
        if let Some(f) = w.forwarding {
            let before_addr = mb.get("ForwardingSmtpAddress").and_then(plain_address);
            let before_keep = mb
                .get("DeliverToMailboxAndForward")
                .and_then(Value::as_bool)
                .unwrap_or(false);
            let want_addr = f.enabled.then(|| {
                f.forward_to
                    .as_deref()
                    .unwrap_or("")
                    .trim()
                    .to_ascii_lowercase()
            });
            let c = change(
                "ForwardingSmtpAddress",
                json!(before_addr),
                json!(want_addr),
                before_addr == want_addr,
            );
            if c.status == "pending" {
                mailbox_set.insert(
                    c.setting.into(),
                    want_addr
                        .as_ref()
                        .map_or(Value::Null, |a| json!(format!("smtp:{a}"))),
                );
            }
            changes.push(c);
            // Keeping a copy only means something while forwarding is on.
            let want_keep = f.enabled && f.keep_copy.unwrap_or(true);
            let c = change(
                "DeliverToMailboxAndForward",
                json!(before_keep),
                json!(want_keep),
                before_keep == want_keep,
            );
            if c.status == "pending" {
                mailbox_set.insert(c.setting.into(), json!(want_keep));
            }
            changes.push(c);
        }
    }
    if let Some(on) = w.read_receipts {
        let cfg = invoke(
            "Get-MailboxMessageConfiguration",
            json!({ "Identity": upn }),
        )
        .map_err(|e| exchange_error(e, upn))?
        .into_iter()
        .next()
        .unwrap_or(Value::Null);
        let before = cfg
            .get("ReadReceiptResponse")
            .cloned()
            .unwrap_or(Value::Null);
        let after = json!(receipt_value(on));
        let c = change(
            "ReadReceiptResponse",
            before.clone(),
            after.clone(),
            before == after,
        );
        if c.status == "pending" {
            message_set.insert(c.setting.into(), after);
        }
        changes.push(c);
    }

    let mark = |changes: &mut Vec<Change>, set: &Map<String, Value>| {
        for c in changes.iter_mut() {
            if set.contains_key(c.setting) {
                c.status = "changed";
            }
        }
    };
    if !mailbox_set.is_empty() {
        mailbox_set.insert("Identity".into(), json!(upn));
        invoke("Set-Mailbox", Value::Object(mailbox_set.clone()))?;
        mark(&mut changes, &mailbox_set);
    }
    if !message_set.is_empty() {
        message_set.insert("Identity".into(), json!(upn));
        invoke(
            "Set-MailboxMessageConfiguration",
            Value::Object(message_set.clone()),
        )
        .map_err(|e| {
            let e = ToolError::from(e);
            let done: Vec<&Change> = changes.iter().filter(|c| c.status == "changed").collect();
            if done.is_empty() {
                e
            } else {
                e.with_prefix("Mailbox forwarding/read status were set before this failed:")
                    .with_detail("exchange", json!(done))
            }
        })?;
        mark(&mut changes, &message_set);
    }
    Ok(changes)
}

/// A note when mail is forwarded outside the user's own domain: Exchange
/// Online's outbound spam policy blocks automatic external forwarding
/// unless an administrator allows it.
pub fn external_forwarding_note(w: &Wanted, upn: &str) -> Option<String> {
    let f = w.forwarding.filter(|f| f.enabled)?;
    let to = f.forward_to.as_deref()?.trim();
    let domain = |a: &str| a.rsplit_once('@').map(|(_, d)| d.to_ascii_lowercase());
    (domain(to) != domain(upn)).then(|| {
        format!(
            "{to} is outside {}: Exchange Online's default outbound spam policy blocks automatic \
             forwarding to outside addresses unless it is allowed (AutoForwardingMode).",
            domain(upn).unwrap_or_default()
        )
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn forwarding_needs_an_address_not_oneself() {
        let on = |to: Option<&str>| MailboxForwarding {
            enabled: true,
            forward_to: to.map(String::from),
            keep_copy: None,
        };
        let check = |f: &MailboxForwarding| {
            validate(
                &Wanted {
                    forwarding: Some(f),
                    ..Wanted::default()
                },
                "ann@contoso.com",
            )
        };
        assert!(check(&on(Some("desk@contoso.com"))).is_ok());
        assert!(check(&on(None)).is_err());
        assert!(check(&on(Some("Ann@Contoso.com"))).is_err());
        assert!(check(&on(Some("nope"))).is_err());
        let off = MailboxForwarding {
            enabled: false,
            forward_to: None,
            keep_copy: None,
        };
        assert!(check(&off).is_ok());
        let outside = on(Some("x@elsewhere.example"));
        let w = Wanted {
            forwarding: Some(&outside),
            ..Wanted::default()
        };
        assert!(external_forwarding_note(&w, "ann@contoso.com").is_some());
    }
}
