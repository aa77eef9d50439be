//! Sending a rendered template through `POST /users/{from}/sendMail`: as a
//! JSON message when there is only an HTML body, as base64 MIME
//! (multipart/alternative) when there is a text body too, since Graph's JSON
//! message holds one body only. Each message carries our send id in an
//! `X-` header, which is what the usage records point at.

use base64_lite::encode as b64;
use m365_plugin_sdk::graph::{Graph, GraphRequest};
use m365_plugin_sdk::text::encode_path_segment;
use m365_plugin_sdk::{ToolError, host};
use serde_json::{Value, json};

pub struct Message<'a> {
    pub from: &'a str,
    pub to: &'a [String],
    pub cc: &'a [String],
    pub bcc: &'a [String],
    pub subject: &'a str,
    pub html: &'a str,
    pub text: Option<&'a str>,
    pub read_receipt: bool,
    pub delivery_receipt: bool,
    /// (name, value) custom headers, names starting with `X-`.
    pub headers: Vec<(String, String)>,
}

fn recipients(list: &[String]) -> Value {
    json!(
        list.iter()
            .map(|a| json!({"emailAddress": {"address": a}}))
            .collect::<Vec<_>>()
    )
}

fn json_message(m: &Message) -> Value {
    json!({
        "message": {
            "subject": m.subject,
            "body": {"contentType": "HTML", "content": m.html},
            "toRecipients": recipients(m.to),
            "ccRecipients": recipients(m.cc),
            "bccRecipients": recipients(m.bcc),
            "isReadReceiptRequested": m.read_receipt,
            "isDeliveryReceiptRequested": m.delivery_receipt,
            "internetMessageHeaders": m.headers.iter().map(|(n, v)| json!({"name": n, "value": v})).collect::<Vec<_>>(),
        },
        "saveToSentItems": true,
    })
}

/// RFC 2047 encoded-word for a header value that is not plain ASCII.
fn header_text(value: &str) -> String {
    if value.bytes().all(|b| (0x20..0x7f).contains(&b)) {
        value.to_string()
    } else {
        format!("=?UTF-8?B?{}?=", b64(value.as_bytes()))
    }
}

/// Base64 body lines of at most 76 characters, as MIME requires.
fn body_lines(text: &str) -> String {
    let encoded = b64(text.as_bytes());
    encoded
        .as_bytes()
        .chunks(76)
        .map(|c| String::from_utf8_lossy(c).into_owned())
        .collect::<Vec<_>>()
        .join("\r\n")
}

/// The MIME text of `m` (multipart/alternative: text first, HTML last, as
/// readers prefer the last part they can show).
pub fn mime_message(m: &Message, boundary: &str) -> String {
    let mut out = String::new();
    let mut header = |name: &str, value: &str| {
        out.push_str(name);
        out.push_str(": ");
        out.push_str(value);
        out.push_str("\r\n");
    };
    header("From", m.from);
    if !m.to.is_empty() {
        header("To", &m.to.join(", "));
    }
    if !m.cc.is_empty() {
        header("Cc", &m.cc.join(", "));
    }
    if !m.bcc.is_empty() {
        header("Bcc", &m.bcc.join(", "));
    }
    header("Subject", &header_text(m.subject));
    if m.read_receipt {
        header("Disposition-Notification-To", m.from);
    }
    if m.delivery_receipt {
        header("Return-Receipt-To", m.from);
    }
    for (n, v) in &m.headers {
        header(n, &header_text(v));
    }
    header("MIME-Version", "1.0");
    header(
        "Content-Type",
        &format!("multipart/alternative; boundary=\"{boundary}\""),
    );
    out.push_str("\r\n");
    for (kind, body) in [("text/plain", m.text.unwrap_or("")), ("text/html", m.html)] {
        out.push_str(&format!(
            "--{boundary}\r\nContent-Type: {kind}; charset=utf-8\r\nContent-Transfer-Encoding: base64\r\n\r\n{}\r\n",
            body_lines(body)
        ));
    }
    out.push_str(&format!("--{boundary}--\r\n"));
    out
}

/// Sends `m` as `m.from`. Not retried by the host on a server error: a
/// second send could deliver twice.
pub fn send(m: &Message, send_id: &str) -> Result<(), ToolError> {
    let path = format!("/users/{}/sendMail", encode_path_segment(m.from));
    let req = match m.text {
        None => GraphRequest::new("POST", &path).json(json_message(m)),
        Some(_) => {
            let mime = mime_message(m, &format!("=_m365admin_{send_id}"));
            GraphRequest::new("POST", &path).raw("text/plain", b64(mime.as_bytes()).into_bytes())
        }
    };
    Graph::new().request(req).map_err(|e| {
        if e.is_not_found() {
            e.to_tool_error_with(format!(
                "{} cannot send mail: no such user, or their mailbox is not ready. Check the address (from) or wait a few minutes after creating the user.",
                m.from
            ))
        } else {
            e.into()
        }
    })?;
    host::debug(&format!("sent {send_id}"));
    Ok(())
}

/// The tenant's verified domains, lower-case.
pub fn verified_domains() -> Result<Vec<String>, ToolError> {
    let body = Graph::new().get("/domains", &[("$select", "id,isVerified")])?;
    Ok(m365_plugin_sdk::graph::collection(&body)
        .iter()
        .filter(|d| d["isVerified"].as_bool().unwrap_or(true))
        .filter_map(|d| d["id"].as_str().map(str::to_ascii_lowercase))
        .collect())
}

/// Recipients whose domain is not one of `domains`.
pub fn outside(recipients: &[&String], domains: &[String]) -> Vec<String> {
    recipients
        .iter()
        .filter(|a| {
            let domain = a.rsplit_once('@').map(|(_, d)| d.to_ascii_lowercase());
            !domain.is_some_and(|d| domains.contains(&d))
        })
        .map(|a| a.to_string())
        .collect()
}

/// Minimal standard base64 (the SDK has only the URL alphabet).
mod base64_lite {
    const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

    pub fn encode(data: &[u8]) -> String {
        let mut out = String::with_capacity(data.len().div_ceil(3) * 4);
        for chunk in data.chunks(3) {
            let b = [
                chunk[0],
                *chunk.get(1).unwrap_or(&0),
                *chunk.get(2).unwrap_or(&0),
            ];
            let n = (u32::from(b[0]) << 16) | (u32::from(b[1]) << 8) | u32::from(b[2]);
            for i in 0..4 {
                if i <= chunk.len() {
                    out.push(ALPHABET[((n >> (18 - 6 * i)) & 63) as usize] as char);
                } else {
                    out.push('=');
                }
            }
        }
        out
    }

    #[cfg(test)]
    #[test]
    fn rfc4648_vectors() {
        for (input, want) in [
            ("", ""),
            ("f", "Zg=="),
            ("fo", "Zm8="),
            ("foo", "Zm9v"),
            ("foob", "Zm9vYg=="),
            ("fooba", "Zm9vYmE="),
            ("foobar", "Zm9vYmFy"),
        ] {
            assert_eq!(encode(input.as_bytes()), want);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mime_has_both_parts_receipts_and_encoded_subject() {
        let to = vec!["a@b.co".to_string()];
        let m = Message {
            from: "s@b.co",
            to: &to,
            cc: &[],
            bcc: &["x@y.co".to_string()],
            subject: "Überweisung",
            html: "<p>Hi</p>",
            text: Some("Hi"),
            read_receipt: true,
            delivery_receipt: false,
            headers: vec![("X-Send-Id".into(), "abc".into())],
        };
        let text = mime_message(&m, "b1");
        assert!(text.contains("Subject: =?UTF-8?B?"), "{text}");
        assert!(text.contains("Bcc: x@y.co\r\n"));
        assert!(text.contains("Disposition-Notification-To: s@b.co\r\n"));
        assert!(!text.contains("Return-Receipt-To"));
        assert!(text.contains("Content-Type: text/plain; charset=utf-8"));
        assert!(text.contains("Content-Type: text/html; charset=utf-8"));
        assert!(text.ends_with("--b1--\r\n"));
    }

    #[test]
    fn outside_domains() {
        let a = "ann@libertygoldsilver.com".to_string();
        let b = "bob@Elsewhere.example".to_string();
        let domains = vec!["libertygoldsilver.com".to_string()];
        assert_eq!(outside(&[&a, &b], &domains), vec![b.clone()]);
    }
}
