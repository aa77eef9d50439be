//! Fault injection for tests: queued faults that answer matching token and Graph requests with
//! an error status (and `Retry-After`) or add latency, before the real handler runs, or that
//! drop the connection without an answer, before or after the handler has made its change.

use std::sync::Mutex;

use http::{Method, StatusCode};
use serde::{Deserialize, Serialize};

use crate::web::{Ctx, GraphError, Reply, ReplyBody};

/// One queued fault, as posted to `POST /_sandbox/faults`.
#[derive(Deserialize, Serialize, Clone, Debug, Default)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub(crate) struct Fault {
    /// Only requests with this method (any if absent).
    #[serde(default)]
    pub method: Option<String>,
    /// Only requests whose decoded path starts with this (any if absent).
    #[serde(default)]
    pub path_prefix: Option<String>,
    /// The status to answer with; absent means "only add latency".
    #[serde(default)]
    pub status: Option<u16>,
    /// `Retry-After` seconds.
    #[serde(default)]
    pub retry_after: Option<u64>,
    /// How many requests it applies to; absent means until cleared.
    #[serde(default)]
    pub times: Option<u32>,
    /// Delay before answering.
    #[serde(default)]
    pub latency_ms: Option<u64>,
    /// `"malformed"` sends a body that is not JSON.
    #[serde(default)]
    pub body: Option<String>,
    /// Only Exchange `InvokeCommand` requests for this cmdlet (any if absent).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cmdlet: Option<String>,
    /// Drop the connection instead of answering: `"before"` the request is handled (it is
    /// lost in transit), `"after"` (the change is made and the response lost).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reset: Option<Reset>,
    /// Answer `302 Found` with this `Location` instead (a front end sending the
    /// client elsewhere); no status is given with it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub redirect: Option<String>,
}

/// When an injected connection reset happens.
#[derive(Deserialize, Serialize, Clone, Copy, Debug, PartialEq, Eq)]
#[serde(rename_all = "lowercase")]
pub(crate) enum Reset {
    Before,
    After,
}

impl Fault {
    fn validate(&self) -> Result<(), String> {
        if let Some(s) = self.status
            && !(400..=599).contains(&s)
        {
            return Err(format!("status {s} is not an error status (400..=599)"));
        }
        if let Some(m) = &self.method
            && Method::from_bytes(m.as_bytes()).is_err()
        {
            return Err(format!("method '{m}' is not an HTTP method"));
        }
        if let Some(b) = &self.body
            && b != "malformed"
        {
            return Err("body must be null or \"malformed\"".into());
        }
        if self.times == Some(0) {
            return Err("times must be at least 1 (or null for until cleared)".into());
        }
        if self.status.is_none()
            && self.latency_ms.is_none()
            && self.reset.is_none()
            && self.redirect.is_none()
        {
            return Err("a fault needs a status, a latencyMs, a reset or a redirect".into());
        }
        if self.redirect.is_some() && (self.status.is_some() || self.reset.is_some()) {
            return Err("a redirect answers 302 by itself: no status or reset with it".into());
        }
        if self.status.is_some() && self.reset.is_some() {
            return Err("a reset fault sends no answer, so it takes no status".into());
        }
        Ok(())
    }

    fn matches(&self, method: &Method, path: &str, cmdlet: Option<&str>) -> bool {
        self.cmdlet
            .as_deref()
            .is_none_or(|want| cmdlet.is_some_and(|c| c.trim().eq_ignore_ascii_case(want)))
            && self
                .method
                .as_deref()
                .is_none_or(|m| m.eq_ignore_ascii_case(method.as_str()))
            && self.path_prefix.as_deref().is_none_or(|p| {
                path.to_ascii_lowercase()
                    .starts_with(&p.to_ascii_lowercase())
            })
    }

    /// The error reply this fault answers with, if it has a status.
    pub fn reply(&self, ctx: &Ctx) -> Option<Reply> {
        if let Some(to) = &self.redirect {
            return Some(Reply {
                status: StatusCode::FOUND,
                headers: vec![("Location".into(), to.clone())],
                body: ReplyBody::Empty,
            });
        }
        let status = StatusCode::from_u16(self.status?).ok()?;
        let (code, message) = match status.as_u16() {
            429 => ("TooManyRequests", "Too many requests"),
            503 => (
                "ServiceNotAvailable",
                "The service is temporarily unavailable. Please retry later.",
            ),
            504 => (
                "GatewayTimeout",
                "The gateway did not receive a timely response from the upstream service.",
            ),
            500 => ("generalException", "General exception while processing."),
            _ => ("UnknownError", "An error was injected by the sandbox."),
        };
        let mut err = GraphError::new(status, code, message);
        err.retry_after = self.retry_after;
        let mut reply = err.into_reply(ctx);
        if self.body.as_deref() == Some("malformed") {
            reply.body = ReplyBody::Raw("{\"error\":{\"code\":\"".into());
        }
        Some(reply)
    }
}

/// The queue of faults, first match wins.
#[derive(Default)]
pub(crate) struct Faults(Mutex<Vec<Fault>>);

impl Faults {
    pub fn add(&self, fault: Fault) -> Result<(), String> {
        fault.validate()?;
        self.lock().push(fault);
        Ok(())
    }

    pub fn clear(&self) {
        self.lock().clear();
    }

    pub fn list(&self) -> Vec<Fault> {
        self.lock().clone()
    }

    /// The first fault matching the request, consuming one of its `times`.
    pub fn take(&self, method: &Method, path: &str) -> Option<Fault> {
        self.take_for(method, path, None)
    }

    /// [`Faults::take`] for a request that may run an Exchange cmdlet.
    pub fn take_for(&self, method: &Method, path: &str, cmdlet: Option<&str>) -> Option<Fault> {
        let mut faults = self.lock();
        let i = faults
            .iter()
            .position(|f| f.matches(method, path, cmdlet))?;
        let fault = faults[i].clone();
        match &mut faults[i].times {
            Some(1) => {
                faults.remove(i);
            }
            Some(n) => *n -= 1,
            None => {}
        }
        Some(fault)
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Vec<Fault>> {
        self.0.lock().unwrap_or_else(|e| e.into_inner())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fault(method: Option<&str>, prefix: Option<&str>, times: Option<u32>) -> Fault {
        Fault {
            method: method.map(String::from),
            path_prefix: prefix.map(String::from),
            status: Some(429),
            retry_after: Some(1),
            times,
            ..Fault::default()
        }
    }

    #[test]
    fn matching_and_counting() {
        let faults = Faults::default();
        faults
            .add(fault(Some("POST"), Some("/v1.0/users"), Some(2)))
            .unwrap();
        assert!(faults.take(&Method::GET, "/v1.0/users").is_none());
        assert!(faults.take(&Method::POST, "/v1.0/groups").is_none());
        assert!(faults.take(&Method::POST, "/v1.0/users").is_some());
        assert!(faults.take(&Method::POST, "/v1.0/Users/x").is_some());
        assert!(faults.take(&Method::POST, "/v1.0/users").is_none());
    }

    #[test]
    fn cmdlet_faults_match_only_that_cmdlet() {
        let faults = Faults::default();
        let mut f = fault(Some("POST"), Some("/adminapi/"), Some(1));
        f.cmdlet = Some("Get-MessageTraceV2".into());
        faults.add(f).unwrap();
        let path = "/adminapi/beta/t/InvokeCommand";
        assert!(faults.take(&Method::POST, path).is_none());
        assert!(
            faults
                .take_for(&Method::POST, path, Some("Get-Mailbox"))
                .is_none()
        );
        assert!(
            faults
                .take_for(&Method::POST, path, Some("get-messagetracev2"))
                .is_some()
        );
        assert!(
            faults
                .take_for(&Method::POST, path, Some("Get-MessageTraceV2"))
                .is_none()
        );
    }

    #[test]
    fn until_cleared_and_validation() {
        let faults = Faults::default();
        faults.add(fault(None, None, None)).unwrap();
        for _ in 0..5 {
            assert!(faults.take(&Method::GET, "/anything").is_some());
        }
        faults.clear();
        assert!(faults.take(&Method::GET, "/anything").is_none());
        let mut bad = fault(None, None, None);
        bad.status = Some(200);
        assert!(faults.add(bad).is_err());
    }

    #[test]
    fn reply_has_retry_after_and_code() {
        let ctx = Ctx::new(None);
        let reply = fault(None, None, None).reply(&ctx).unwrap();
        assert_eq!(reply.status, StatusCode::TOO_MANY_REQUESTS);
        assert!(
            reply
                .headers
                .iter()
                .any(|(k, v)| k == "Retry-After" && v == "1")
        );
        let ReplyBody::Json(body) = reply.body else {
            panic!("json body")
        };
        assert_eq!(body["error"]["code"], "TooManyRequests");
    }

    fn parsed(v: serde_json::Value) -> Result<Fault, String> {
        let f: Fault = serde_json::from_value(v).map_err(|e| e.to_string())?;
        f.validate().map(|()| f)
    }

    #[test]
    fn a_reset_is_before_or_after_and_takes_no_status() {
        let f = parsed(serde_json::json!({"reset": "after", "times": 1})).unwrap();
        assert_eq!(f.reset, Some(Reset::After));
        assert!(parsed(serde_json::json!({"reset": "during"})).is_err());
        let both = parsed(serde_json::json!({"reset": "before", "status": 503})).unwrap_err();
        assert!(both.contains("no status"), "{both}");
        let empty = parsed(serde_json::json!({"times": 2})).unwrap_err();
        assert!(empty.contains("reset"), "{empty}");
        let moved = parsed(serde_json::json!({"redirect": "https://evil.example/x"})).unwrap();
        let reply = moved.reply(&Ctx::new(None)).unwrap();
        assert_eq!(reply.status, StatusCode::FOUND);
        assert!(parsed(serde_json::json!({"redirect": "https://e/x", "status": 503})).is_err());
    }
}
