//! Sends a gated request to Graph or Exchange Online on a plugin's behalf:
//! the shared rate limit, the bearer token for the service (a plugin never
//! sees it), and the retry policy of
//! ARCHITECTURE.md §3 — 429 for any method (Graph throttles before it acts),
//! 503/504 and dropped connections only where a retry cannot create a
//! duplicate (GET, PUT, DELETE, PATCH of properties, or a POST the plugin
//! marked retry-safe), a connection that never opened for any request, at
//! most three attempts, honouring Retry-After, else exponential backoff with
//! jitter.

use super::call::{CallCtx, RequestRecord};
use super::ratelimit::RateLimiter;
use crate::auth::{Auth, EXCHANGE_SCOPE, GRAPH_SCOPE};
use crate::errors::{CodedError, ErrorCode};
use bytes::Bytes;
use http::{HeaderMap, HeaderName, HeaderValue, Method};
use std::sync::Arc;
use std::time::Duration;
use tokio::time::Instant;

pub const MAX_ATTEMPTS: u32 = 3;
/// Largest request or response body the host carries for a plugin.
pub const MAX_BODY: usize = 8 * 1024 * 1024;

/// Request headers a plugin may set; everything else is dropped.
const FORWARDED: [&str; 7] = [
    "accept",
    "content-type",
    "client-request-id",
    "prefer",
    "consistencylevel",
    "if-match",
    "if-none-match",
];

/// Which Microsoft service a request goes to.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Service {
    Graph,
    /// Exchange Online's admin REST API; the cmdlet the request invokes.
    Exchange {
        cmdlet: String,
    },
}

impl Service {
    fn name(&self) -> &'static str {
        match self {
            Service::Graph => "Microsoft Graph",
            Service::Exchange { .. } => "Exchange Online",
        }
    }
}

pub struct UpstreamRequest {
    pub service: Service,
    pub method: Method,
    /// Graph: starts with `/v1.0/`; may carry a query. Exchange: the
    /// InvokeCommand path.
    pub path_and_query: String,
    pub headers: HeaderMap,
    pub body: Bytes,
    pub retry_safe: bool,
    /// How many requests Graph counts this as: 1, or the requests inside a
    /// `$batch` (Graph throttles each of them), for the rate limit.
    pub weight: u32,
}

pub struct UpstreamResponse {
    pub status: u16,
    pub headers: HeaderMap,
    pub body: Bytes,
}

pub struct Upstream {
    client: reqwest::Client,
    graph_base: url::Url,
    exchange_base: url::Url,
    tenant_id: String,
    auth: Arc<Auth>,
    limiter: RateLimiter,
    retry_base: Duration,
}

impl Upstream {
    #[allow(clippy::too_many_arguments)]
    pub fn new(
        client: reqwest::Client,
        graph_base: url::Url,
        exchange_base: url::Url,
        tenant_id: String,
        auth: Arc<Auth>,
        limiter: RateLimiter,
        retry_base: Duration,
    ) -> Upstream {
        Upstream {
            client,
            graph_base,
            exchange_base,
            tenant_id,
            auth,
            limiter,
            retry_base,
        }
    }

    pub fn auth(&self) -> &Arc<Auth> {
        &self.auth
    }

    /// The tenant whose Exchange organisation requests may address.
    pub fn tenant_id(&self) -> &str {
        &self.tenant_id
    }

    /// Sends `req`, retrying as the policy allows. `Err` means no response
    /// could be had; the reason is also recorded on `call`.
    pub async fn send(
        &self,
        req: UpstreamRequest,
        call: &CallCtx,
    ) -> Result<UpstreamResponse, CodedError> {
        let started = Instant::now();
        let service = req.service.name();
        let unreachable_code = match req.service {
            Service::Graph => ErrorCode::Graph001,
            Service::Exchange { .. } => ErrorCode::Exo001,
        };
        let (path, idempotent, base, scope) = match &req.service {
            Service::Graph => (
                req.path_and_query
                    .split('?')
                    .next()
                    .unwrap_or("")
                    .to_string(),
                matches!(
                    req.method,
                    Method::GET
                        | Method::HEAD
                        | Method::PUT
                        | Method::DELETE
                        | Method::PATCH
                        | Method::OPTIONS
                ) || req.retry_safe,
                &self.graph_base,
                GRAPH_SCOPE,
            ),
            Service::Exchange { cmdlet } => {
                // Reading or setting a value twice does no harm; creating
                // does (New-*), so only those are never repeated.
                let verb = cmdlet.split('-').next().unwrap_or("").to_ascii_lowercase();
                (
                    format!("exchange/{cmdlet}"),
                    matches!(verb.as_str(), "get" | "set" | "test") || req.retry_safe,
                    &self.exchange_base,
                    EXCHANGE_SCOPE,
                )
            }
        };
        let url = base
            .join(req.path_and_query.trim_start_matches('/'))
            .map_err(|e| {
                CodedError::new(
                    ErrorCode::Plugin001,
                    format!("The plugin sent an unusable URL ({e})."),
                )
            })?;
        let mut headers = HeaderMap::new();
        for (k, v) in req.headers.iter() {
            if FORWARDED.contains(&k.as_str()) {
                headers.insert(k.clone(), v.clone());
            }
        }
        if !headers.contains_key("client-request-id") {
            headers.insert(
                HeaderName::from_static("client-request-id"),
                HeaderValue::from_str(&uuid::Uuid::new_v4().to_string()).unwrap(),
            );
        }

        let mut attempts = 0;
        let mut refreshed = false;
        let outcome = loop {
            attempts += 1;
            self.limiter.acquire(req.weight).await;
            let token = match self.auth.token(scope).await {
                Ok(t) => t,
                Err(e) => break Err(e),
            };
            let sent = self
                .client
                .request(req.method.clone(), url.clone())
                .headers(headers.clone())
                .bearer_auth(token.expose())
                .body(req.body.clone())
                .send()
                .await;
            let retry_wait = match sent {
                Ok(resp) => {
                    let status = resp.status().as_u16();
                    let resp_headers = resp.headers().clone();
                    let body = match read_limited(resp).await {
                        Ok(b) => b,
                        Err(e) => break Err(e),
                    };
                    if status == 401 && !refreshed && is_expired_token(&body) {
                        // Expired: drop the cached token and ask once more; this
                        // retry is not counted against the attempt budget.
                        refreshed = true;
                        attempts -= 1;
                        if let Err(e) = self.auth.refresh() {
                            break Err(e);
                        }
                        continue;
                    }
                    if status == 401 && refreshed && is_expired_token(&body) {
                        call.host_error(CodedError::new(
                            ErrorCode::Auth002,
                            format!("{service} rejected the access token as expired even after it was refreshed. Check the machine's clock and the app registration, then try again."),
                        ));
                    }
                    let retry_after = retry_after(&resp_headers);
                    let retryable = status == 429 || (idempotent && matches!(status, 503 | 504));
                    if !retryable || attempts >= MAX_ATTEMPTS {
                        if retryable {
                            call.retry_note(format!(
                                "The host tried {attempts} times; {service} answered HTTP {status} each time."
                            ));
                            if status == 429 {
                                call.host_error(CodedError::new(
                                    ErrorCode::Rate001,
                                    format!("{service} is throttling this app (HTTP 429 on {attempts} attempts). Wait {} seconds and try again.", retry_after.map_or(60, |d| d.as_secs())),
                                ));
                            }
                        }
                        break Ok(UpstreamResponse {
                            status,
                            headers: resp_headers,
                            body,
                        });
                    }
                    let wait = retry_after.unwrap_or_else(|| self.backoff(attempts));
                    if status == 429 {
                        self.limiter.pause(wait).await;
                    }
                    tracing::info!(plugin = %call.plugin, method = %req.method, %path, status, attempt = attempts, wait_ms = wait.as_millis() as u64, "upstream asked to retry");
                    wait
                }
                Err(e) => {
                    // A failed connect sent nothing, so even a create may be
                    // sent again; once the request went out, a lost answer
                    // may hide a change that was made.
                    let unsent = e.is_connect();
                    let reason = crate::secret::redact(&e.without_url().to_string());
                    if !(idempotent || unsent) || attempts >= MAX_ATTEMPTS {
                        let advice = if idempotent || unsent {
                            "Check the network and try again.".to_string()
                        } else {
                            format!(
                                "The request was sent, so {service} may have carried it out: check (for example with the matching get_ or list_ tool) before trying again."
                            )
                        };
                        break Err(CodedError::new(
                            unreachable_code,
                            format!(
                                "Could not reach {service} after {attempts} attempt(s): {reason}. {advice}"
                            ),
                        ));
                    }
                    self.backoff(attempts)
                }
            };
            if Instant::now() + retry_wait >= call.deadline {
                break Err(CodedError::new(
                    ErrorCode::Rate001,
                    format!(
                        "{service} asked to wait longer than this call may run. Try again later."
                    ),
                ));
            }
            tokio::time::sleep(retry_wait).await;
        };

        let record = RequestRecord {
            method: req.method.to_string(),
            path,
            status: outcome.as_ref().ok().map(|r| r.status),
            attempts,
            request_id: outcome
                .as_ref()
                .ok()
                .and_then(|r| r.headers.get("request-id"))
                .and_then(|v| v.to_str().ok())
                .map(String::from),
            duration_ms: started.elapsed().as_millis() as u64,
        };
        tracing::debug!(plugin = %call.plugin, tool = %call.tool, method = %record.method, path = %record.path, status = ?record.status, attempts, "upstream request");
        call.record_request(record);
        if let Err(e) = &outcome {
            call.host_error(e.clone());
        }
        outcome
    }

    fn backoff(&self, attempt: u32) -> Duration {
        let base = self.retry_base * 2u32.pow(attempt.saturating_sub(1));
        let jitter = rand::random_range(0.0..0.25);
        base.mul_f64(1.0 + jitter)
    }
}

async fn read_limited(mut resp: reqwest::Response) -> Result<Bytes, CodedError> {
    let too_big = || {
        CodedError::new(
            ErrorCode::Graph001,
            format!(
                "Graph's response was larger than the host accepts ({} MiB). Narrow the request with $select or $top.",
                MAX_BODY / 1024 / 1024
            ),
        )
    };
    if resp.content_length().is_some_and(|l| l as usize > MAX_BODY) {
        return Err(too_big());
    }
    let mut buf = Vec::new();
    while let Some(chunk) = resp.chunk().await.map_err(|e| {
        CodedError::new(
            ErrorCode::Graph001,
            format!(
                "Graph's response broke off ({}). Try again.",
                e.without_url()
            ),
        )
    })? {
        if buf.len() + chunk.len() > MAX_BODY {
            return Err(too_big());
        }
        buf.extend_from_slice(&chunk);
    }
    Ok(Bytes::from(buf))
}

fn retry_after(headers: &HeaderMap) -> Option<Duration> {
    let v = headers.get("retry-after")?.to_str().ok()?;
    v.trim()
        .parse::<u64>()
        .ok()
        .map(|s| Duration::from_secs(s.min(300)))
}

fn is_expired_token(body: &[u8]) -> bool {
    let Ok(v) = serde_json::from_slice::<serde_json::Value>(body) else {
        return false;
    };
    v["error"]["code"] == "InvalidAuthenticationToken"
        && v["error"]["message"]
            .as_str()
            .is_some_and(|m| m.to_ascii_lowercase().contains("expired"))
}
