//! Exchange Online cmdlets over its admin REST API (what the
//! ExchangeOnlineManagement module uses): `POST
//! https://outlook.office365.com/adminapi/beta/{tenant}/InvokeCommand` with
//! `{"CmdletInput": {"CmdletName": ..., "Parameters": {...}}}`. The host
//! adds the Exchange token and lets through only the cmdlets the manifest
//! grants (`[grants] exchange = ["Get-Mailbox", ...]`).
//!
//! Besides [`invoke`], the lookups plugins share: [`one`] object, [`find`]
//! by identity (`None` when Exchange says there is no such object),
//! [`user_mailboxes`], and the addresses of a mailbox ([`address`],
//! [`plain_address`]).
//!
//! A missing object is Exchange's `ManagementObjectNotFoundException`,
//! which the service wraps in a 404 whose `details[0].message` reads
//! `Ex6F9304|Microsoft.Exchange.Configuration.Tasks.ManagementObjectNotFoundException|The
//! operation couldn't be performed because object '…' couldn't be found on
//! '…'.` ([`ExchangeError::is_not_found`]). Other 404s (an unknown tenant or
//! path) are not a missing object. Exchange treats SMTP addresses without
//! regard to case (`-Identity Ann@Contoso.com` finds ann@contoso.com), so
//! the addresses these helpers return are lower case, for plugins to compare
//! and show alike.
//!
//! ```ignore
//! let boxes = exchange::invoke("Get-Mailbox", json!({"Identity": "ann@contoso.com"}))?;
//! ```

use crate::error::{ToolError, codes};
use crate::graph::MAX_RESPONSE_BYTES;
use crate::http::{self, HttpError, Request};
use serde_json::{Value, json};
use std::fmt;

pub const AUTHORITY: &str = "outlook.office365.com";

/// The exception Exchange throws for an identity that matches nothing.
const NOT_FOUND_EXCEPTION: &str = "ManagementObjectNotFoundException";

/// A failed cmdlet: the coded error the model sees, and the exception type
/// Exchange named, so that callers can tell a missing object from a failure.
/// `?` turns it into the [`ToolError`].
#[derive(Debug, Clone, PartialEq)]
pub struct ExchangeError {
    /// EXO_001, PERM_001, RATE_001 or PLUGIN_001, with a sentence saying
    /// what to do and Exchange's status, cmdlet, code and request id.
    pub error: ToolError,
    /// The .NET exception type from Exchange's message
    /// (`Microsoft.Exchange.Configuration.Tasks.ManagementObjectNotFoundException`),
    /// when it named one.
    pub exception: Option<String>,
}

impl ExchangeError {
    /// Whether Exchange said the object does not exist: its not-found
    /// exception, or, where it named no exception, its not-found wording.
    pub fn is_not_found(&self) -> bool {
        if self.error.code != codes::EXO_001 {
            return false;
        }
        match self.exception.as_deref() {
            Some(x) => x.rsplit('.').next() == Some(NOT_FOUND_EXCEPTION),
            None => ["couldn't be found", "could not be found"]
                .iter()
                .any(|w| self.error.message.contains(w)),
        }
    }

    /// `instead()` when the object does not exist, keeping Exchange's details
    /// (status, cmdlet, request id) beneath its own; any other failure as it is.
    pub fn not_found_as(self, instead: impl FnOnce() -> ToolError) -> ToolError {
        if !self.is_not_found() {
            return self.error;
        }
        let mut e = instead();
        let own = std::mem::replace(&mut e.details, self.error.details);
        if let Some(Value::Object(own)) = own {
            for (k, v) in own {
                e = e.with_detail(&k, v);
            }
        }
        e
    }
}

impl From<ExchangeError> for ToolError {
    fn from(e: ExchangeError) -> Self {
        e.error
    }
}

impl fmt::Display for ExchangeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.error.fmt(f)
    }
}

impl std::error::Error for ExchangeError {}

/// Runs `cmdlet` with `parameters` (a JSON object; `null` for none) and
/// returns the objects it output (empty for most Set-/Remove- cmdlets).
pub fn invoke(cmdlet: &str, parameters: Value) -> Result<Vec<Value>, ExchangeError> {
    let tenant = crate::host::tenant().tenant_id;
    let body = json!({"CmdletInput": {"CmdletName": cmdlet, "Parameters": if parameters.is_null() { json!({}) } else { parameters }}});
    let req = Request {
        method: "POST".into(),
        scheme: "https".into(),
        authority: AUTHORITY.into(),
        path_with_query: format!("/adminapi/beta/{tenant}/InvokeCommand"),
        headers: vec![
            ("content-type".into(), "application/json".into()),
            ("accept".into(), "application/json".into()),
            ("client-request-id".into(), http::new_uuid()),
        ],
        body: Some(body.to_string().into_bytes()),
    };
    let resp = http::send(&req, MAX_RESPONSE_BYTES).map_err(|e| ExchangeError {
        error: match e {
            HttpError::Denied => ToolError::plugin(format!(
                "The host refused Exchange cmdlet {cmdlet}: the plugin's manifest does not grant it."
            )),
            other => ToolError::exchange(format!(
                "Exchange Online could not be reached for {cmdlet} ({}). Try again.",
                other.code_name()
            )),
        },
        exception: None,
    })?;
    let parsed: Value = serde_json::from_slice(&resp.body).unwrap_or(Value::Null);
    if resp.status < 300 {
        return Ok(parsed["value"].as_array().cloned().unwrap_or_default());
    }
    Err(error(
        cmdlet,
        resp.status,
        &parsed,
        resp.header("request-id"),
    ))
}

/// The first object a Get- cmdlet output (an error when it output none).
pub fn one(cmdlet: &str, params: Value) -> Result<Value, ToolError> {
    invoke(cmdlet, params)?.into_iter().next().ok_or_else(|| {
        ToolError::exchange(format!(
            "Exchange Online returned nothing for {cmdlet}; try again in a minute."
        ))
    })
}

/// `{cmdlet} -Identity {identity}`, `None` when there is no such object.
pub fn find(cmdlet: &str, identity: &str) -> Result<Option<Value>, ToolError> {
    match invoke(cmdlet, json!({ "Identity": identity })) {
        Ok(v) => Ok(v.into_iter().next()),
        Err(e) if e.is_not_found() => Ok(None),
        Err(e) => Err(e.into()),
    }
}

/// Every user mailbox (not shared, room or equipment mailboxes).
pub fn user_mailboxes() -> Result<Vec<Value>, ToolError> {
    let all = invoke(
        "Get-Mailbox",
        json!({ "RecipientTypeDetails": "UserMailbox", "ResultSize": "Unlimited" }),
    )?;
    Ok(all.into_iter().filter(is_user_mailbox).collect())
}

/// Whether a Get-Mailbox object is a user's own mailbox (one that does not
/// say is taken as one).
fn is_user_mailbox(mailbox: &Value) -> bool {
    mailbox
        .get("RecipientTypeDetails")
        .and_then(Value::as_str)
        .is_none_or(|t| t == "UserMailbox")
}

/// The address to show for a mailbox (or other recipient) object, lower case.
pub fn address(mailbox: &Value) -> String {
    [
        "PrimarySmtpAddress",
        "UserPrincipalName",
        "Identity",
        "Name",
    ]
    .iter()
    .find_map(|k| mailbox.get(*k).and_then(Value::as_str))
    .unwrap_or("(unknown)")
    .to_ascii_lowercase()
}

/// `smtp:a@b` / `SMTP:a@b` / `a@b` → `a@b` (lower case), `None` for null or
/// empty: the address in a proxy-address value such as `ForwardingSmtpAddress`.
pub fn plain_address(v: &Value) -> Option<String> {
    let s = v.as_str()?.trim();
    let a = match s.split_once(':') {
        Some((p, a)) if p.eq_ignore_ascii_case("smtp") => a,
        _ => s,
    };
    (!a.is_empty()).then(|| a.to_ascii_lowercase())
}

/// The human part of an Exchange error message: Exchange prefixes it with
/// an id and the exception's type, separated by `|`.
pub fn exchange_message(raw: &str) -> &str {
    raw.rsplit('|').next().unwrap_or(raw).trim()
}

/// The exception type in an Exchange error message (`{id}|{type}|{text}`).
fn exception_type(raw: &str) -> Option<&str> {
    let mut parts = raw.rsplit('|');
    parts.next();
    parts.next().map(str::trim).filter(|t| !t.is_empty())
}

fn error(cmdlet: &str, status: u16, body: &Value, request_id: Option<&str>) -> ExchangeError {
    let top = body["error"]["message"].as_str().unwrap_or("");
    let detail = body["error"]["details"][0]["message"]
        .as_str()
        .unwrap_or("");
    let raw = if detail.is_empty() { top } else { detail };
    let message = exchange_message(raw);
    let code = body["error"]["code"].as_str().unwrap_or("");
    let e = match status {
        401 | 403 => ToolError::permission(format!(
            "Exchange Online refused {cmdlet} ({message}). The app needs the Exchange.ManageAsApp permission and an Exchange role (e.g. Exchange Administrator) assigned to its service principal."
        )),
        429 => ToolError::rate_limited(
            format!(
                "Exchange Online is throttling this app ({message}). Wait a minute and try again."
            ),
            None,
        ),
        _ => ToolError::exchange(format!("Exchange Online: {cmdlet} failed: {message}")),
    };
    let e = e
        .with_detail("status", status)
        .with_detail("cmdlet", cmdlet)
        .with_detail("exchangeCode", code);
    ExchangeError {
        error: match request_id {
            Some(id) => e.with_detail("requestId", id),
            None => e,
        },
        exception: exception_type(raw).map(String::from),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn messages_lose_the_exception_prefix() {
        assert_eq!(
            exchange_message(
                "Ex6F9304|Microsoft.Exchange.Configuration.Tasks.ManagementObjectNotFoundException|The operation couldn't be performed because object 'x' couldn't be found."
            ),
            "The operation couldn't be performed because object 'x' couldn't be found."
        );
        assert_eq!(exchange_message("plain"), "plain");
    }

    #[test]
    fn errors_are_coded() {
        let body = json!({"error": {"code": "NotFound", "message": "x", "details": [{"message": "Ex1|T|Not there."}]}});
        let e = error("Get-Mailbox", 404, &body, Some("r1")).error;
        assert_eq!(e.code, "EXO_001");
        assert!(e.message.contains("Not there."));
        assert_eq!(e.detail("requestId").unwrap(), "r1");
        assert_eq!(
            error("Set-Mailbox", 403, &body, None).error.code,
            "PERM_001"
        );
    }

    /// An error body as Exchange Online wraps a cmdlet failure.
    fn failure(status: u16, code: &str, detail: &str) -> ExchangeError {
        let body = json!({"error": {"code": code, "message": "Error executing cmdlet",
            "details": [{"code": "Client", "target": "", "message": detail}]}});
        error("Get-Mailbox", status, &body, Some("r1"))
    }

    #[test]
    fn missing_objects_are_told_from_other_failures() {
        let missing = "Ex6F9304|Microsoft.Exchange.Configuration.Tasks.ManagementObjectNotFoundException|The operation couldn't be performed because object 'ghost@contoso.com' couldn't be found on 'SN6PR01A001DC001.NAMPR01A001.PROD.OUTLOOK.COM'.";
        let tenant = json!({"error": {"code": "NotFound", "message": "The tenant 'x' wasn't found. Use the tenant's id or one of its verified domains."}});
        for (what, e, not_found) in [
            (
                "Exchange's not-found exception",
                failure(404, "NotFound", missing),
                true,
            ),
            (
                "its wording, where no exception is named",
                failure(
                    404,
                    "NotFound",
                    "The operation couldn't be performed because object 'x' couldn't be found.",
                ),
                true,
            ),
            (
                "a binding error",
                failure(
                    400,
                    "BadRequest",
                    "|System.Management.Automation.ParameterBindingException|A parameter cannot be found that matches parameter name 'Colour'.",
                ),
                false,
            ),
            (
                "an ambiguous identity",
                failure(
                    400,
                    "BadRequest",
                    "Ex0EDFD3|Microsoft.Exchange.Configuration.Tasks.ManagementObjectAmbiguousException|The operation couldn't be performed because 'ann' matches multiple entries.",
                ),
                false,
            ),
            (
                "an unknown tenant (404, no object)",
                error("Get-Mailbox", 404, &tenant, None),
                false,
            ),
            ("a refusal", failure(403, "Forbidden", missing), false),
        ] {
            assert_eq!(e.is_not_found(), not_found, "{what}: {e:?}");
        }
        assert_eq!(
            failure(404, "NotFound", missing).exception.as_deref(),
            Some("Microsoft.Exchange.Configuration.Tasks.ManagementObjectNotFoundException")
        );
    }

    #[test]
    fn a_missing_object_is_reworded_and_keeps_exchanges_details() {
        let missing = "Ex6F9304|Microsoft.Exchange.Configuration.Tasks.ManagementObjectNotFoundException|The operation couldn't be performed because object 'ghost' couldn't be found on 'DC'.";
        let e = failure(404, "NotFound", missing).not_found_as(|| {
            ToolError::exchange("No mailbox ghost.").with_detail("mailbox", "ghost")
        });
        assert_eq!(e.message, "No mailbox ghost.");
        assert_eq!(e.detail("mailbox").unwrap(), "ghost");
        assert_eq!(e.detail("requestId").unwrap(), "r1");
        assert_eq!(e.detail("status").unwrap(), 404);
        let other = failure(400, "BadRequest", "Ex1|T|Broken.");
        assert_eq!(
            other
                .clone()
                .not_found_as(|| ToolError::exchange("No mailbox.")),
            other.error
        );
    }

    #[test]
    fn mailbox_addresses_are_lower_case() {
        for (mailbox, want) in [
            (
                json!({"PrimarySmtpAddress": "Ann@Contoso.com", "UserPrincipalName": "x@y"}),
                "ann@contoso.com",
            ),
            (
                json!({"UserPrincipalName": "Bob@Contoso.com", "Identity": "bob"}),
                "bob@contoso.com",
            ),
            (json!({"Identity": "Desk"}), "desk"),
            (json!({"Name": "Room 1"}), "room 1"),
            (json!({}), "(unknown)"),
        ] {
            assert_eq!(address(&mailbox), want, "{mailbox}");
        }
        assert!(is_user_mailbox(
            &json!({"RecipientTypeDetails": "UserMailbox"})
        ));
        assert!(is_user_mailbox(&json!({})));
        assert!(!is_user_mailbox(
            &json!({"RecipientTypeDetails": "SharedMailbox"})
        ));
    }

    #[test]
    fn addresses_lose_their_prefix() {
        assert_eq!(
            plain_address(&json!("smtp:Desk@X.com")).unwrap(),
            "desk@x.com"
        );
        assert_eq!(plain_address(&json!("desk@x.com")).unwrap(), "desk@x.com");
        assert!(plain_address(&json!("")).is_none());
        assert!(plain_address(&Value::Null).is_none());
    }
}
