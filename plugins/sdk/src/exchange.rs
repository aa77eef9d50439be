//! Exchange Online cmdlets over its admin REST API (what the
//! ExchangeOnlineManagement module uses): `POST
//! https://outlook.office365.com/adminapi/beta/{tenant}/InvokeCommand` with
//! `{"CmdletInput": {"CmdletName": ..., "Parameters": {...}}}`. The host
//! adds the Exchange token and lets through only the cmdlets the manifest
//! grants (`[grants] exchange = ["Get-Mailbox", ...]`).
//!
//! ```ignore
//! let boxes = exchange::invoke("Get-Mailbox", json!({"Identity": "ann@contoso.com"}))?;
//! ```

use crate::error::ToolError;
use crate::graph::MAX_RESPONSE_BYTES;
use crate::http::{self, HttpError, Request};
use serde_json::{Value, json};

pub const AUTHORITY: &str = "outlook.office365.com";

/// Runs `cmdlet` with `parameters` (a JSON object; `null` for none) and
/// returns the objects it output (empty for most Set-/Remove- cmdlets).
pub fn invoke(cmdlet: &str, parameters: Value) -> Result<Vec<Value>, ToolError> {
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
    let resp = http::send(&req, MAX_RESPONSE_BYTES).map_err(|e| match e {
        HttpError::Denied => ToolError::plugin(format!(
            "The host refused Exchange cmdlet {cmdlet}: the plugin's manifest does not grant it."
        )),
        other => ToolError::exchange(format!(
            "Exchange Online could not be reached for {cmdlet} ({}). Try again.",
            other.code_name()
        )),
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

/// The human part of an Exchange error message: Exchange prefixes it with
/// an id and the exception's type, separated by `|`.
pub fn exchange_message(raw: &str) -> &str {
    raw.rsplit('|').next().unwrap_or(raw).trim()
}

fn error(cmdlet: &str, status: u16, body: &Value, request_id: Option<&str>) -> ToolError {
    let top = body["error"]["message"].as_str().unwrap_or("");
    let detail = body["error"]["details"][0]["message"]
        .as_str()
        .unwrap_or("");
    let message = exchange_message(if detail.is_empty() { top } else { detail });
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
    match request_id {
        Some(id) => e.with_detail("requestId", id),
        None => e,
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
        let e = error("Get-Mailbox", 404, &body, Some("r1"));
        assert_eq!(e.code, "EXO_001");
        assert!(e.message.contains("Not there."));
        assert_eq!(e.detail("requestId").unwrap(), "r1");
        assert_eq!(error("Set-Mailbox", 403, &body, None).code, "PERM_001");
    }
}
