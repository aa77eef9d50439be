//! `POST /users/{id}/sendMail`, as Graph documents it: a JSON `message` (one
//! body, HTML or text, with recipients and receipt flags) or, with
//! `Content-Type: text/plain`, a base64-encoded MIME message. Accepted
//! messages answer `202` with no body and land in an outbox that tests read
//! through `/_sandbox/outbox`.

use base64::Engine;
use http::StatusCode;
use mail_parser::{Address, MessageParser};
use serde_json::{Map, Value, json};

use super::mailbox::ready_user;
use crate::app::App;
use crate::web::time::rfc3339;
use crate::web::{Ctx, GraphError, GraphResult, Reply, ReplyBody};

/// Exchange Online's limit on a sendMail request made through Graph.
const MAX_REQUEST_BYTES: usize = 4 * 1024 * 1024;

fn invalid_recipients(which: &str) -> GraphError {
    GraphError::new(
        StatusCode::BAD_REQUEST,
        "ErrorInvalidRecipients",
        format!(
            "At least one recipient isn't valid., Recipient '{which}' isn't resolved. All recipients must be resolved before a message can be submitted."
        ),
    )
}

fn no_recipients() -> GraphError {
    GraphError::new(
        StatusCode::BAD_REQUEST,
        "ErrorInvalidRecipients",
        "At least one recipient isn't valid., A message can't be sent because it contains no recipients.",
    )
}

/// An address Exchange would resolve: one `@`, a non-empty local part and a
/// dotted domain, no spaces or control characters.
fn valid_address(a: &str) -> bool {
    let Some((local, domain)) = a.rsplit_once('@') else {
        return false;
    };
    !local.is_empty()
        && domain.contains('.')
        && !domain.starts_with('.')
        && !domain.ends_with('.')
        && !a.chars().any(|c| c.is_whitespace() || c.is_control())
        && !local.contains('@')
}

fn check_recipients(lists: &[&Vec<String>]) -> Result<(), GraphError> {
    if lists.iter().all(|l| l.is_empty()) {
        return Err(no_recipients());
    }
    for a in lists.iter().flat_map(|l| l.iter()) {
        if !valid_address(a) {
            return Err(invalid_recipients(a));
        }
    }
    Ok(())
}

fn json_addresses(message: &Map<String, Value>, field: &str) -> Result<Vec<String>, GraphError> {
    let Some(list) = message.get(field) else {
        return Ok(Vec::new());
    };
    let list = list
        .as_array()
        .ok_or_else(|| GraphError::invalid_property(field))?;
    list.iter()
        .map(|r| {
            r.pointer("/emailAddress/address")
                .and_then(Value::as_str)
                .map(str::to_string)
                .ok_or_else(|| invalid_recipients(""))
        })
        .collect()
}

/// The outbox entry of a JSON sendMail.
fn from_json(body: &[u8]) -> Result<Map<String, Value>, GraphError> {
    let mut request = super::odata::json_object(body)?;
    let Some(Value::Object(message)) = request.remove("message") else {
        return Err(GraphError::new(
            StatusCode::BAD_REQUEST,
            "ErrorInvalidRequest",
            "The request is invalid: the 'message' property is required.",
        ));
    };
    let to = json_addresses(&message, "toRecipients")?;
    let cc = json_addresses(&message, "ccRecipients")?;
    let bcc = json_addresses(&message, "bccRecipients")?;
    check_recipients(&[&to, &cc, &bcc])?;
    let body = message.get("body").cloned().unwrap_or(Value::Null);
    let content_type = body
        .pointer("/contentType")
        .and_then(Value::as_str)
        .unwrap_or("text");
    let content = body
        .pointer("/content")
        .and_then(Value::as_str)
        .unwrap_or("")
        .to_string();
    let (html, text) = if content_type.eq_ignore_ascii_case("html") {
        (Some(content), None)
    } else {
        (None, Some(content))
    };
    let headers: Map<String, Value> = message
        .get("internetMessageHeaders")
        .and_then(Value::as_array)
        .map(|a| {
            a.iter()
                .filter_map(|h| Some((h["name"].as_str()?.to_string(), h["value"].clone())))
                .collect()
        })
        .unwrap_or_default();
    for name in headers.keys() {
        // Graph accepts only custom headers here.
        if !name.to_ascii_lowercase().starts_with("x-") {
            return Err(GraphError::new(
                StatusCode::BAD_REQUEST,
                "InvalidInternetMessageHeader",
                format!(
                    "The internet message header name '{name}' should start with 'x-' or 'X-'."
                ),
            ));
        }
    }
    let flag = |f: &str| message.get(f).and_then(Value::as_bool).unwrap_or(false);
    let mut entry = Map::new();
    entry.insert("format".into(), json!("json"));
    entry.insert(
        "subject".into(),
        message.get("subject").cloned().unwrap_or(json!("")),
    );
    entry.insert("bodyHtml".into(), json!(html));
    entry.insert("bodyText".into(), json!(text));
    entry.insert("to".into(), json!(to));
    entry.insert("cc".into(), json!(cc));
    entry.insert("bcc".into(), json!(bcc));
    entry.insert(
        "isReadReceiptRequested".into(),
        json!(flag("isReadReceiptRequested")),
    );
    entry.insert(
        "isDeliveryReceiptRequested".into(),
        json!(flag("isDeliveryReceiptRequested")),
    );
    entry.insert("headers".into(), Value::Object(headers));
    entry.insert(
        "saveToSentItems".into(),
        json!(
            request
                .get("saveToSentItems")
                .and_then(Value::as_bool)
                .unwrap_or(true)
        ),
    );
    Ok(entry)
}

fn mime_addresses(a: Option<&Address>) -> Vec<String> {
    a.map(|a| {
        a.iter()
            .filter_map(|x| x.address().map(str::to_string))
            .collect()
    })
    .unwrap_or_default()
}

/// The outbox entry of a MIME sendMail (base64 text in the body).
fn from_mime(body: &[u8]) -> Result<Map<String, Value>, GraphError> {
    let compact: Vec<u8> = body
        .iter()
        .copied()
        .filter(|b| !b.is_ascii_whitespace())
        .collect();
    let raw = base64::engine::general_purpose::STANDARD
        .decode(&compact)
        .map_err(|_| {
            GraphError::new(
                StatusCode::BAD_REQUEST,
                "ErrorMimeContentInvalidBase64String",
                "Invalid base64 string for MIME content.",
            )
        })?;
    let msg = MessageParser::default().parse(&raw).ok_or_else(|| {
        GraphError::new(
            StatusCode::BAD_REQUEST,
            "ErrorMimeContentConversionFailed",
            "The MIME content could not be converted.",
        )
    })?;
    let to = mime_addresses(msg.to());
    let cc = mime_addresses(msg.cc());
    let bcc = mime_addresses(msg.bcc());
    check_recipients(&[&to, &cc, &bcc])?;
    let mut headers = Map::new();
    for h in msg.headers() {
        let name = h.name().to_string();
        if name.to_ascii_lowercase().starts_with("x-")
            && let Some(v) = h.value().as_text()
        {
            headers.insert(name, json!(v));
        }
    }
    let has = |name: &str| msg.header(name).is_some();
    let mut entry = Map::new();
    entry.insert("format".into(), json!("mime"));
    entry.insert("subject".into(), json!(msg.subject().unwrap_or("")));
    entry.insert(
        "bodyHtml".into(),
        json!(msg.body_html(0).map(|b| b.into_owned())),
    );
    entry.insert(
        "bodyText".into(),
        json!(msg.body_text(0).map(|b| b.into_owned())),
    );
    entry.insert("to".into(), json!(to));
    entry.insert("cc".into(), json!(cc));
    entry.insert("bcc".into(), json!(bcc));
    entry.insert(
        "isReadReceiptRequested".into(),
        json!(has("Disposition-Notification-To")),
    );
    entry.insert(
        "isDeliveryReceiptRequested".into(),
        json!(has("Return-Receipt-To")),
    );
    entry.insert("headers".into(), Value::Object(headers));
    entry.insert("saveToSentItems".into(), json!(true));
    Ok(entry)
}

/// `POST /users/{id}/sendMail`.
pub(super) fn send_mail(app: &App, ctx: &Ctx, user: &str, body: &[u8]) -> GraphResult {
    if body.len() > MAX_REQUEST_BYTES {
        return Err(GraphError::new(
            StatusCode::PAYLOAD_TOO_LARGE,
            "ErrorRequestEntityTooLarge",
            "The request is larger than the 4 MB that sendMail accepts; send large attachments with an upload session.",
        ));
    }
    let sender = app.store.read(|t| {
        let i = ready_user(t, user, ctx)?;
        Ok::<_, GraphError>(t.users[i].upn().to_string())
    })?;
    // Graph tells the two forms apart by Content-Type; a JSON object is
    // never valid base64, so the body itself is as good a sign here.
    let looks_json = body.iter().find(|b| !b.is_ascii_whitespace()) == Some(&b'{');
    let mut entry = if looks_json {
        from_json(body)?
    } else {
        from_mime(body)?
    };
    let domain = sender.rsplit_once('@').map(|(_, d)| d).unwrap_or("sandbox");
    entry.insert("id".into(), json!(uuid::Uuid::new_v4().to_string()));
    entry.insert("from".into(), json!(sender));
    entry.insert("sentAt".into(), json!(rfc3339(ctx.now)));
    entry.insert(
        "internetMessageId".into(),
        json!(format!("<{}@{domain}>", uuid::Uuid::new_v4().simple())),
    );
    app.outbox
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .push(Value::Object(entry));
    Ok(Reply {
        status: StatusCode::ACCEPTED,
        headers: Vec::new(),
        body: ReplyBody::Empty,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn addresses_table() {
        for (a, ok) in [
            ("ann@contoso.com", true),
            ("ann@contoso", false),
            ("ann contoso.com", false),
            ("ann@contoso.com\r\nBcc: x@y.z", false),
            ("@contoso.com", false),
        ] {
            assert_eq!(valid_address(a), ok, "{a:?}");
        }
    }

    #[test]
    fn json_messages_need_recipients_and_custom_headers_only() {
        let none = br#"{"message": {"subject": "s", "body": {"contentType": "HTML", "content": "<p>x</p>"}}}"#;
        assert_eq!(from_json(none).unwrap_err().code, "ErrorInvalidRecipients");
        let bad_header = br#"{"message": {"toRecipients": [{"emailAddress": {"address": "a@b.co"}}], "internetMessageHeaders": [{"name": "Subject", "value": "x"}]}}"#;
        assert_eq!(
            from_json(bad_header).unwrap_err().code,
            "InvalidInternetMessageHeader"
        );
        let ok = br#"{"message": {"subject": "Hi", "body": {"contentType": "HTML", "content": "<p>x</p>"}, "toRecipients": [{"emailAddress": {"address": "a@b.co"}}], "isReadReceiptRequested": true}}"#;
        let e = from_json(ok).unwrap();
        assert_eq!(e["bodyHtml"], "<p>x</p>");
        assert_eq!(e["isReadReceiptRequested"], true);
        assert_eq!(e["isDeliveryReceiptRequested"], false);
    }

    #[test]
    fn mime_messages_are_parsed_with_both_bodies_and_receipts() {
        let mime = "From: a@b.co\r\nTo: c@d.co, e@f.co\r\nBcc: g@h.co\r\nSubject: =?UTF-8?B?SMOpbGxv?=\r\nDisposition-Notification-To: a@b.co\r\nX-Template: t1\r\nMIME-Version: 1.0\r\nContent-Type: multipart/alternative; boundary=\"b1\"\r\n\r\n--b1\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: base64\r\n\r\nSGVsbG8=\r\n--b1\r\nContent-Type: text/html; charset=utf-8\r\nContent-Transfer-Encoding: base64\r\n\r\nPHA+SGVsbG88L3A+\r\n--b1--\r\n";
        let b64 = base64::engine::general_purpose::STANDARD.encode(mime);
        let e = from_mime(b64.as_bytes()).unwrap();
        assert_eq!(e["subject"], "Héllo");
        assert_eq!(e["to"], json!(["c@d.co", "e@f.co"]));
        assert_eq!(e["bcc"], json!(["g@h.co"]));
        assert_eq!(e["bodyText"], "Hello");
        assert_eq!(e["bodyHtml"], "<p>Hello</p>");
        assert_eq!(e["isReadReceiptRequested"], true);
        assert_eq!(e["isDeliveryReceiptRequested"], false);
        assert_eq!(e["headers"]["X-Template"], "t1");
        assert_eq!(
            from_mime(b"not base64!").unwrap_err().code,
            "ErrorMimeContentInvalidBase64String"
        );
    }
}
