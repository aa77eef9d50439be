//! Secrets and their redaction, in one place. Every value registered here
//! (client secret, certificate password, access tokens as they are issued) is
//! replaced by `[REDACTED]` wherever `redact` is applied: the log writer,
//! error messages and tool results. Bearer values and JWT-shaped strings are
//! redacted even when they were never registered.

use std::fmt;
use std::sync::{OnceLock, RwLock};

pub const REDACTED: &str = "[REDACTED]";

/// A secret string: its Debug and Display never show the value.
#[derive(Clone, PartialEq, Eq)]
pub struct Secret(String);

impl Secret {
    /// Wraps and registers the value so that it is redacted everywhere.
    pub fn new(value: impl Into<String>) -> Self {
        let value = value.into();
        register(&value);
        Secret(value)
    }

    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(REDACTED)
    }
}

impl fmt::Display for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(REDACTED)
    }
}

fn registry() -> &'static RwLock<Vec<String>> {
    static KNOWN: OnceLock<RwLock<Vec<String>>> = OnceLock::new();
    KNOWN.get_or_init(|| RwLock::new(Vec::new()))
}

/// Adds a value to the set that `redact` removes. Very short values are not
/// registered: redacting every "a" would make logs unreadable and protect
/// nothing.
pub fn register(value: &str) {
    if value.len() < 6 {
        return;
    }
    let mut known = registry().write().unwrap_or_else(|e| e.into_inner());
    if !known.iter().any(|k| k == value) {
        known.push(value.to_string());
        // Longest first, so a secret that contains another is removed whole.
        known.sort_by_key(|k| std::cmp::Reverse(k.len()));
    }
}

/// Returns `text` with every registered secret, bearer value and JWT removed.
pub fn redact(text: &str) -> String {
    let mut out = text.to_string();
    {
        let known = registry().read().unwrap_or_else(|e| e.into_inner());
        for k in known.iter() {
            if out.contains(k.as_str()) {
                out = out.replace(k.as_str(), REDACTED);
            }
        }
    }
    redact_shapes(&out)
}

/// Removes what looks like a credential whatever its source: the value after
/// `Bearer `, and three-part base64url strings that start like a JWT header.
fn redact_shapes(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(pos) = find_credential(rest) {
        let (start, len) = pos;
        out.push_str(&rest[..start]);
        out.push_str(REDACTED);
        rest = &rest[start + len..];
    }
    out.push_str(rest);
    out
}

fn find_credential(text: &str) -> Option<(usize, usize)> {
    let is_token_char =
        |c: char| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.' | '~' | '+' | '/' | '=');
    let bytes = text.as_bytes();
    // Bytes, not chars: on the path of every call, and "bearer " is ASCII,
    // so a match starts and ends on character boundaries.
    let bearer = (0..bytes.len().saturating_sub(6))
        .filter(|&i| bytes[i] | 0x20 == b'b' && bytes[i..i + 7].eq_ignore_ascii_case(b"bearer "))
        .map(|i| i + 7)
        .find(|&i| {
            text[i..].starts_with(|c: char| is_token_char(c)) && !text[i..].starts_with(REDACTED)
        });
    let jwt = text.find("eyJ").filter(|&i| {
        let candidate: String = text[i..]
            .chars()
            .take_while(|&c| is_token_char(c))
            .collect();
        candidate.matches('.').count() >= 2 && candidate.len() >= 20
    });
    let start = match (bearer, jwt) {
        (Some(a), Some(b)) => a.min(b),
        (a, b) => a.or(b)?,
    };
    let len = text[start..]
        .chars()
        .take_while(|&c| is_token_char(c))
        .map(char::len_utf8)
        .sum();
    Some((start, len))
}

/// Whether a field's name says its value is a credential, wherever it
/// appears in a JSON document.
fn is_secret_name(name: &str) -> bool {
    let n = name.to_ascii_lowercase().replace(['_', '-'], "");
    [
        "password",
        "secret",
        "token",
        "credential",
        "privatekey",
        "apikey",
        "authorization",
        "encryptionkey",
        "passphrase",
    ]
    .iter()
    .any(|s| n.contains(s))
}

/// A copy of `value` fit for the audit trail and logs: the top-level
/// `secret_fields` a tool declared, every field whose name marks a credential,
/// and every registered secret or token shape inside strings, replaced.
pub fn redact_json(value: &serde_json::Value, secret_fields: &[String]) -> serde_json::Value {
    match value {
        serde_json::Value::Object(m) => serde_json::Value::Object(
            m.iter()
                .map(|(k, v)| {
                    redact_field(k, v, is_secret_name(k) || secret_fields.contains(k), true)
                })
                .collect(),
        ),
        other => redact_walk(other, true),
    }
}

/// `value` with every registered secret and credential shape removed from
/// its strings (keys included), by value only: for what a client is shown,
/// where a field named `confirmationToken` must stay readable.
pub fn redact_strings(value: &serde_json::Value) -> serde_json::Value {
    redact_walk(value, false)
}

/// Redacts every string of `v`; with `by_name`, also replaces the value of
/// every field whose name marks a credential.
fn redact_walk(v: &serde_json::Value, by_name: bool) -> serde_json::Value {
    use serde_json::Value;
    match v {
        Value::String(s) => Value::String(redact(s)),
        Value::Array(a) => Value::Array(a.iter().map(|v| redact_walk(v, by_name)).collect()),
        Value::Object(m) => Value::Object(
            m.iter()
                .map(|(k, v)| redact_field(k, v, by_name && is_secret_name(k), by_name))
                .collect(),
        ),
        other => other.clone(),
    }
}

fn redact_field(
    k: &str,
    v: &serde_json::Value,
    secret: bool,
    by_name: bool,
) -> (String, serde_json::Value) {
    if secret && !v.is_null() {
        (redact(k), serde_json::Value::String(REDACTED.into()))
    } else {
        (redact(k), redact_walk(v, by_name))
    }
}

/// Registers the values of a call's secret arguments, so that whatever the
/// plugin or upstream does with them, they are redacted from everything the
/// host writes or returns afterwards.
pub fn register_fields(args: &serde_json::Value, secret_fields: &[String]) {
    for f in secret_fields {
        if let Some(v) = args.get(f).and_then(|v| v.as_str()) {
            register(v);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn json_redaction_covers_declared_named_and_registered_secrets() {
        register("registered-secret-value-99");
        let args = serde_json::json!({
            "userEmail": "ann@contoso.com",
            "password": "Declared-Pw-1",
            "nested": {"clientSecret": "abc", "note": "has registered-secret-value-99 inside", "list": [{"access_token": "x"}]},
            "pin": "1234",
        });
        let out = redact_json(&args, &["pin".to_string()]);
        let text = out.to_string();
        for leaked in [
            "Declared-Pw-1",
            "\"abc\"",
            "registered-secret-value-99",
            "1234",
            "\"x\"",
        ] {
            assert!(!text.contains(leaked), "{leaked} in {text}");
        }
        assert_eq!(out["userEmail"], "ann@contoso.com");
        assert_eq!(out["nested"]["note"], "has [REDACTED] inside");
    }

    #[test]
    fn registered_values_are_removed_everywhere() {
        let s = Secret::new("sentinel-client-secret-4711");
        assert_eq!(format!("{s:?} {s}"), "[REDACTED] [REDACTED]");
        assert_eq!(
            redact("secret=sentinel-client-secret-4711&x=1"),
            "secret=[REDACTED]&x=1"
        );
    }

    #[test]
    fn shapes_are_removed_without_registration() {
        let cases = [
            (
                "Authorization: Bearer abc.def-ghi",
                "Authorization: Bearer [REDACTED]",
            ),
            (
                "token eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxIn0.sig end",
                "token [REDACTED] end",
            ),
            ("no secrets here", "no secrets here"),
            ("bearer ", "bearer "),
            (
                "Frau Müller → Bürö ünd ÿ ïs «ok»",
                "Frau Müller → Bürö ünd ÿ ïs «ok»",
            ),
            ("é Bearer tok€n", "é Bearer [REDACTED]€n"),
        ];
        for (input, want) in cases {
            assert_eq!(redact(input), want, "input {input:?}");
        }
    }

    #[test]
    fn short_values_are_not_registered() {
        register("abc");
        assert_eq!(redact("abc abc"), "abc abc");
    }
}
