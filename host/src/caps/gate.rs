//! The capability gate: the `send_request` hook of wasmtime-wasi-http, the one
//! place a plugin's network request is judged, by the plugin's policy (the
//! policy crate's `Policy`, which decides what is allowed and why not). Only
//! `https://graph.microsoft.com` is reachable, only with a method and path the
//! plugin's grants allow (each request inside a `$batch` too), and Exchange
//! Online's admin API
//! (`https://outlook.office365.com/adminapi/beta/{tenant}/InvokeCommand`) only
//! for this tenant and the cmdlets granted; never with the plugin's own
//! `Authorization` or `Host`. A refusal is `HttpRequestDenied` to the guest
//! and, to the caller, the denial's code (PLUGIN_001, or PERM_001 in
//! read-only mode) and its sentence naming what was missing.

use super::call::CallCtx;
use super::upstream::{MAX_BODY, Service, Upstream, UpstreamRequest};
use crate::errors::CodedError;
use bytes::Bytes;
use http::{HeaderName, header};
use http_body_util::{BodyExt, Full, Limited};
use m365_policy::headers::{check_header, check_host_header};
use m365_policy::{Denial, DenialKind, Mode, Policy, Route};
use std::sync::Arc;
use wasmtime_wasi_http::{
    DEFAULT_FORBIDDEN_HEADERS, Error as HttpError, RequestOptions, WasiBody, WasiHttpHooks,
};

/// Marks a POST the plugin made safe to retry; stripped before sending.
pub const RETRY_SAFE_HEADER: &str = "x-m365-retry-safe";

pub struct Gate {
    pub upstream: Option<Arc<Upstream>>,
    pub policy: Arc<Policy>,
    /// Read-only mode: only reads go upstream, whatever the tool claims.
    pub mode: Mode,
    pub call: Arc<CallCtx>,
}

type Pending = Box<dyn Future<Output = Result<(), HttpError>> + Send>;
type SendFuture =
    Box<dyn Future<Output = Result<(http::Response<WasiBody>, Pending), HttpError>> + Send>;

/// Records `denial` as the call's cause: its code and its sentence.
fn record(call: &CallCtx, denial: &Denial) {
    call.host_error(CodedError::new(
        denial.code(),
        denial.sentence(&call.plugin),
    ));
}

/// A request the policy refused: logged, recorded, and denied to the guest.
fn refuse(call: &CallCtx, denial: &Denial) {
    tracing::warn!(plugin = %call.plugin, tool = %call.tool, why = %denial, "request refused by the gate");
    record(call, denial);
}

/// What goes upstream for an allowed request, once its body is in.
#[derive(Debug)]
struct Outgoing {
    service: Service,
    /// A `$batch` or `InvokeCommand` body as judged: rebuilt from the
    /// judged parts only, never the plugin's own bytes.
    body: Bytes,
    /// How many requests Graph counts it as: a `$batch` is its requests.
    weight: u32,
}

/// Judges the body a request's route says must be judged, and gives what to
/// send.
fn judge_body(policy: &Policy, mode: Mode, route: Route, body: Bytes) -> Result<Outgoing, Denial> {
    Ok(match route {
        Route::Graph => Outgoing {
            service: Service::Graph,
            body,
            weight: 1,
        },
        Route::GraphBatch => {
            let judged = policy.judge_batch(&body, mode)?;
            Outgoing {
                service: Service::Graph,
                body: Bytes::from(judged.body),
                weight: judged.requests.max(1),
            }
        }
        Route::Exchange => {
            let judged = policy.judge_exchange_body(&body, mode)?;
            Outgoing {
                service: Service::Exchange {
                    cmdlet: judged.cmdlet,
                },
                body: Bytes::from(judged.body),
                weight: 1,
            }
        }
    })
}

impl Gate {
    fn deny(&self, denial: impl Into<Denial>) -> SendFuture {
        refuse(&self.call, &denial.into());
        Box::new(async { Err(HttpError::HttpRequestDenied) })
    }
}

impl WasiHttpHooks for Gate {
    fn is_forbidden_header(&mut self, name: &HeaderName) -> bool {
        if let Err(denial) = check_header(name) {
            record(&self.call, &denial);
            return true;
        }
        DEFAULT_FORBIDDEN_HEADERS.contains(name)
    }

    fn send_request(
        &mut self,
        request: http::Request<WasiBody>,
        _options: Option<RequestOptions>,
        _fut: Pending,
    ) -> SendFuture {
        let (parts, body) = request.into_parts();
        if let Err(denial) = check_host_header(&parts.uri, parts.headers.get(header::HOST)) {
            return self.deny(denial);
        }
        let tenant = self.upstream.as_ref().map(|u| u.tenant_id()).unwrap_or("");
        let route = match self
            .policy
            .check_request(&parts.method, &parts.uri, tenant, self.mode)
        {
            Ok(route) => route,
            Err(denial) => return self.deny(denial),
        };
        // A declared length over the limit is refused before any of the body
        // is read; an undeclared one is cut off by `Limited` below.
        if let Some(declared) = parts
            .headers
            .get(header::CONTENT_LENGTH)
            .and_then(|v| v.to_str().ok()?.parse::<u64>().ok())
            && declared > MAX_BODY as u64
        {
            return self.deny(DenialKind::BodyTooLarge {
                declared,
                limit: MAX_BODY as u64,
            });
        }
        let Some(upstream) = self.upstream.clone() else {
            return self.deny(DenialKind::NoTenant);
        };
        let call = self.call.clone();
        let policy = self.policy.clone();
        let mode = self.mode;
        Box::new(async move {
            let body = match Limited::new(body, MAX_BODY).collect().await {
                Ok(b) => b.to_bytes(),
                Err(_) => {
                    record(
                        &call,
                        &DenialKind::BodyOverLimit {
                            limit: MAX_BODY as u64,
                        }
                        .into(),
                    );
                    return Err(HttpError::HttpRequestBodySize(None));
                }
            };
            let Outgoing {
                service,
                body,
                weight,
            } = match judge_body(&policy, mode, route, body) {
                Ok(outgoing) => outgoing,
                Err(denial) => {
                    refuse(&call, &denial);
                    return Err(HttpError::HttpRequestDenied);
                }
            };
            let retry_safe = parts
                .headers
                .get(RETRY_SAFE_HEADER)
                .is_some_and(|v| v.as_bytes().eq_ignore_ascii_case(b"true"));
            let path_and_query = parts
                .uri
                .path_and_query()
                .map(|p| p.as_str().to_string())
                .unwrap_or_default();
            let req = UpstreamRequest {
                service,
                method: parts.method,
                path_and_query,
                headers: parts.headers,
                body,
                retry_safe,
                weight,
            };
            match upstream.send(req, &call).await {
                Ok(resp) => {
                    let mut builder = http::Response::builder().status(resp.status);
                    for (k, v) in resp.headers.iter() {
                        if !DEFAULT_FORBIDDEN_HEADERS.contains(k)
                            && *k != header::SET_COOKIE
                            && *k != header::CONTENT_LENGTH
                        {
                            builder = builder.header(k, v);
                        }
                    }
                    let body: WasiBody = Full::new(resp.body)
                        .map_err(|never| match never {})
                        .boxed_unsync();
                    let response = builder
                        .body(body)
                        .map_err(|e| HttpError::InternalError(Some(e.to_string())))?;
                    Ok((response, Box::new(async { Ok(()) }) as Pending))
                }
                Err(e) => Err(HttpError::InternalError(Some(format!(
                    "{}: {}",
                    e.code, e.message
                )))),
            }
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use m365_policy::GrantsSection;
    use serde_json::{Value, json};

    fn policy(graph: &[&str], exchange: &[&str]) -> Policy {
        GrantsSection {
            graph: graph.iter().map(|g| g.to_string()).collect(),
            exchange: exchange.iter().map(|c| c.to_string()).collect(),
            ..Default::default()
        }
        .resolve()
        .unwrap()
    }

    #[test]
    fn an_exchange_body_is_sent_as_judged() {
        let p = policy(&[], &["Get-Mailbox"]);
        // A second, differently-cased key that a case-insensitive reader
        // might take instead of the judged one.
        let body = br#"{"CmdletInput":{"CmdletName":"Get-Mailbox","Parameters":{"Identity":"a"}},
                        "cmdletinput":{"CmdletName":"Remove-Mailbox"}}"#;
        let out = judge_body(
            &p,
            Mode::ReadWrite,
            Route::Exchange,
            Bytes::from_static(body),
        )
        .unwrap();
        assert_eq!(
            out.service,
            Service::Exchange {
                cmdlet: "Get-Mailbox".into()
            }
        );
        let sent: Value = serde_json::from_slice(&out.body).unwrap();
        assert_eq!(
            sent,
            json!({"CmdletInput": {"CmdletName": "Get-Mailbox", "Parameters": {"Identity": "a"}}})
        );
    }

    #[test]
    fn a_batch_is_sent_as_judged() {
        let p = policy(&["GET /users/*"], &[]);
        let body = br#"{"requests":[{"id":"1","method":"get","url":"/users/a","URL":"/users/a/manager",
                        "headers":{"ConsistencyLevel":"eventual"}}],"Requests":[{"id":"2","method":"DELETE","url":"/users/a"}]}"#;
        let out = judge_body(
            &p,
            Mode::ReadWrite,
            Route::GraphBatch,
            Bytes::from_static(body),
        )
        .unwrap();
        assert_eq!(out.weight, 1, "one request inside");
        assert_eq!(out.service, Service::Graph);
        let sent: Value = serde_json::from_slice(&out.body).unwrap();
        assert_eq!(
            sent,
            json!({"requests": [{"id": "1", "method": "GET", "url": "/users/a",
                                 "headers": {"ConsistencyLevel": "eventual"}}]})
        );
        let denied = br#"{"requests":[{"id":"1","method":"DELETE","url":"/users/a"}]}"#;
        assert!(
            judge_body(
                &p,
                Mode::ReadWrite,
                Route::GraphBatch,
                Bytes::from_static(denied)
            )
            .is_err()
        );
    }

    #[test]
    fn a_plain_graph_body_is_sent_as_it_came() {
        let p = policy(&["PATCH /users/*"], &[]);
        let body = Bytes::from_static(br#"{"displayName":"A"}"#);
        let out = judge_body(&p, Mode::ReadWrite, Route::Graph, body.clone()).unwrap();
        assert_eq!(
            (out.service, out.body, out.weight),
            (Service::Graph, body, 1)
        );
    }
}
