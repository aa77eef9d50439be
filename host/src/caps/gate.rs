//! The capability gate: the `send_request` hook of wasmtime-wasi-http, the one
//! place a plugin's network request is judged. Only `https://graph.microsoft.com`
//! is reachable, only with a method and path the plugin's grants allow (each
//! request inside a `$batch` too), and Exchange Online's admin API
//! (`https://outlook.office365.com/adminapi/beta/{tenant}/InvokeCommand`) only
//! for this tenant and the cmdlets granted; never with the plugin's own
//! `Authorization` or `Host`. A refusal is `HttpRequestDenied` to the guest
//! and a PLUGIN_001 naming what was missing to the caller.

use super::call::CallCtx;
use super::grants::{GraphPolicy, normalize_path};
use super::upstream::{MAX_BODY, Service, Upstream, UpstreamRequest};
use crate::errors::{CodedError, ErrorCode};
use bytes::Bytes;
use http::{HeaderName, Method, header};
use http_body_util::{BodyExt, Full, Limited};
use std::sync::Arc;
use wasmtime_wasi_http::{
    DEFAULT_FORBIDDEN_HEADERS, Error as HttpError, RequestOptions, WasiBody, WasiHttpHooks,
};

pub const GRAPH_AUTHORITY: &str = "graph.microsoft.com";
pub const EXCHANGE_AUTHORITY: &str = "outlook.office365.com";
/// Marks a POST the plugin made safe to retry; stripped before sending.
pub const RETRY_SAFE_HEADER: &str = "x-m365-retry-safe";
/// Graph's documented limit on requests in one `$batch`.
const MAX_BATCH: usize = 20;

pub struct Gate {
    pub upstream: Option<Arc<Upstream>>,
    pub policy: Arc<GraphPolicy>,
    /// Granted Exchange cmdlets, lower-cased.
    pub exchange: Arc<Vec<String>>,
    /// Read-only mode: only reads go upstream, whatever the tool claims.
    pub read_only: bool,
    pub call: Arc<CallCtx>,
}

/// A refusal: the sentence, and whether it is read-only mode (PERM_001)
/// rather than the plugin's grants (PLUGIN_001).
const READ_ONLY_MARK: &str = "read-only mode";

type Pending = Box<dyn Future<Output = Result<(), HttpError>> + Send>;
type SendFuture =
    Box<dyn Future<Output = Result<(http::Response<WasiBody>, Pending), HttpError>> + Send>;

impl Gate {
    fn deny(&self, why: String) -> SendFuture {
        tracing::warn!(plugin = %self.call.plugin, tool = %self.call.tool, %why, "request refused by the gate");
        let code = if why.contains(READ_ONLY_MARK) {
            ErrorCode::Perm001
        } else {
            ErrorCode::Plugin001
        };
        self.call.host_error(CodedError::new(
            code,
            format!("Plugin `{}` was refused: {why}", self.call.plugin),
        ));
        Box::new(async { Err(HttpError::HttpRequestDenied) })
    }

    /// Checks an Exchange request's method and path: a POST to this tenant's
    /// InvokeCommand, nothing else. The cmdlet is judged once the body is in.
    fn judge_exchange(&self, method: &Method, uri: &http::Uri) -> Result<(), String> {
        // One exact path, compared as sent: nothing to normalise, nothing to
        // smuggle through encodings.
        let tenant = self.upstream.as_ref().map(|u| u.tenant_id()).unwrap_or("");
        let ok = *method == Method::POST
            && uri.query().is_none()
            && !tenant.is_empty()
            && uri
                .path()
                .eq_ignore_ascii_case(&format!("/adminapi/beta/{tenant}/InvokeCommand"));
        if !ok {
            return Err(format!(
                "Exchange Online is reachable only as `POST /adminapi/beta/{{tenant}}/InvokeCommand` for this tenant, not `{method} {}`.",
                uri.path()
            ));
        }
        Ok(())
    }

    /// The cmdlet an InvokeCommand body runs, if the plugin was granted it,
    /// and the body to send: rebuilt from the judged parts only, so a
    /// duplicate or differently-cased key Exchange might read instead cannot
    /// ride along.
    fn judge_cmdlet(&self, body: &[u8]) -> Result<(String, Bytes), String> {
        let v: serde_json::Value = serde_json::from_slice(body)
            .map_err(|_| "its Exchange request body is not JSON.".to_string())?;
        let input = &v["CmdletInput"];
        let cmdlet = input["CmdletName"]
            .as_str()
            .ok_or("its Exchange request has no CmdletInput.CmdletName.")?;
        if !(input["Parameters"].is_object() || input["Parameters"].is_null()) {
            return Err("its Exchange request's Parameters is not an object.".into());
        }
        if self.read_only && !cmdlet.to_ascii_lowercase().starts_with("get-") {
            return Err(format!(
                "{READ_ONLY_MARK} is on, so Exchange cmdlet `{cmdlet}` (not a Get-) is not sent."
            ));
        }
        if !self.exchange.contains(&cmdlet.to_ascii_lowercase()) {
            return Err(format!(
                "its manifest grants no Exchange cmdlet `{cmdlet}`; add it under [grants] exchange and approve it to allow this request."
            ));
        }
        let mut judged = serde_json::json!({"CmdletInput": {"CmdletName": cmdlet}});
        if input["Parameters"].is_object() {
            judged["CmdletInput"]["Parameters"] = input["Parameters"].clone();
        }
        Ok((cmdlet.to_string(), Bytes::from(judged.to_string())))
    }

    /// Checks scheme, authority, method and path; returns whether the
    /// request is a Graph `$batch` (whose body must be judged too), or the
    /// sentence saying what is missing. The decision is made on the decoded
    /// path, the one Graph acts on: `/v1.0/%24batch` is a `$batch`.
    fn judge(&self, method: &Method, uri: &http::Uri) -> Result<bool, String> {
        if uri.scheme_str() != Some("https") {
            return Err(format!(
                "only https is allowed, not {:?}.",
                uri.scheme_str().unwrap_or("")
            ));
        }
        let authority = uri.authority().map(|a| a.as_str()).unwrap_or("");
        if authority.eq_ignore_ascii_case(EXCHANGE_AUTHORITY) {
            return self.judge_exchange(method, uri).map(|()| false);
        }
        if !authority.eq_ignore_ascii_case(GRAPH_AUTHORITY) {
            return Err(format!(
                "host {authority:?} is not granted; a plugin may reach only {GRAPH_AUTHORITY} (and {EXCHANGE_AUTHORITY} for granted cmdlets)."
            ));
        }
        let segments = normalize_path(uri.path()).map_err(|e| format!("{} ({e}).", uri.path()))?;
        // A $batch is a POST that may only read: its requests are judged one
        // by one, under the same rule.
        let is_batch = segments.len() == 1 && segments[0].eq_ignore_ascii_case("$batch");
        if self.read_only && *method != Method::GET && !is_batch {
            return Err(format!(
                "{READ_ONLY_MARK} is on, so `{method} /{}` is not sent; only reads reach the tenant.",
                segments.join("/")
            ));
        }
        if !self.policy.allows(method.as_str(), &segments) {
            return Err(format!(
                "its manifest grants no `{method} /{}`; add that grant to the manifest and approve it to allow this request.",
                segments.join("/")
            ));
        }
        Ok(is_batch)
    }

    /// Every request inside a `$batch` body must itself be granted. Returns
    /// the body to send, rebuilt from the judged fields only (as
    /// `judge_cmdlet` does).
    fn judge_batch(&self, body: &[u8]) -> Result<(Bytes, u32), String> {
        let v: serde_json::Value =
            serde_json::from_slice(body).map_err(|_| "its $batch body is not JSON.".to_string())?;
        let requests = v["requests"]
            .as_array()
            .ok_or("its $batch body has no `requests` array.")?;
        if requests.len() > MAX_BATCH {
            return Err(format!(
                "its $batch has {} requests; Graph takes at most {MAX_BATCH}.",
                requests.len()
            ));
        }
        let mut judged = Vec::with_capacity(requests.len());
        for r in requests {
            let method = r["method"].as_str().unwrap_or("").to_ascii_uppercase();
            let url = r["url"].as_str().unwrap_or("");
            if url.contains("://") {
                return Err(format!("a $batch request names an absolute URL ({url})."));
            }
            let path = url.split('?').next().unwrap_or("");
            let full = format!("/v1.0/{}", path.trim_start_matches('/'));
            let method = Method::from_bytes(method.as_bytes())
                .map_err(|_| "a $batch request has no valid method.".to_string())?;
            let uri: http::Uri = format!("https://{GRAPH_AUTHORITY}{full}")
                .parse()
                .map_err(|_| format!("a $batch request has an unusable URL ({url})."))?;
            let nested = self
                .judge(&method, &uri)
                .map_err(|why| format!("inside $batch: {why}"))?;
            if nested {
                return Err("a $batch request may not be another $batch.".into());
            }
            let mut one = serde_json::json!({"id": r["id"], "method": method.as_str(), "url": url});
            for key in ["headers", "body", "dependsOn"] {
                if !r[key].is_null() {
                    one[key] = r[key].clone();
                }
            }
            judged.push(one);
        }
        let count = judged.len() as u32;
        Ok((
            Bytes::from(serde_json::json!({"requests": judged}).to_string()),
            count,
        ))
    }
}

impl WasiHttpHooks for Gate {
    fn is_forbidden_header(&mut self, name: &HeaderName) -> bool {
        if *name == header::AUTHORIZATION || *name == header::COOKIE {
            self.call.host_error(CodedError::new(
                ErrorCode::Plugin001,
                format!(
                    "Plugin `{}` was refused: it tried to set its own `{name}` header; the host adds credentials itself.",
                    self.call.plugin
                ),
            ));
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
        // The Host header wasi-http sets from the authority must agree with it.
        if let Some(host) = parts.headers.get(header::HOST)
            && parts.uri.authority().map(|a| a.as_str().as_bytes()) != Some(host.as_bytes())
        {
            return self.deny("its Host header does not match the request's authority.".into());
        }
        let is_batch = match self.judge(&parts.method, &parts.uri) {
            Ok(is_batch) => is_batch,
            Err(why) => return self.deny(why),
        };
        // A declared length over the limit is refused before any of the body
        // is read; an undeclared one is cut off by `Limited` below.
        if let Some(declared) = parts
            .headers
            .get(header::CONTENT_LENGTH)
            .and_then(|v| v.to_str().ok()?.parse::<u64>().ok())
            && declared > MAX_BODY as u64
        {
            return self.deny(format!(
                "its request body of {:.1} MiB is over the {} MiB a request may carry.",
                declared as f64 / (1024.0 * 1024.0),
                MAX_BODY / 1024 / 1024
            ));
        }
        let is_exchange = parts
            .uri
            .authority()
            .is_some_and(|a| a.as_str().eq_ignore_ascii_case(EXCHANGE_AUTHORITY));
        let Some(upstream) = self.upstream.clone() else {
            return self.deny("this command runs without a tenant connection.".into());
        };
        let call = self.call.clone();
        let policy = self.policy.clone();
        let exchange = self.exchange.clone();
        let read_only = self.read_only;
        Box::new(async move {
            let body = match Limited::new(body, MAX_BODY).collect().await {
                Ok(b) => b.to_bytes(),
                Err(_) => {
                    call.host_error(CodedError::new(
                        ErrorCode::Plugin001,
                        format!(
                            "Plugin `{}` sent a request body over {} MiB.",
                            call.plugin,
                            MAX_BODY / 1024 / 1024
                        ),
                    ));
                    return Err(HttpError::HttpRequestBodySize(None));
                }
            };
            let gate = Gate {
                upstream: None,
                policy,
                exchange,
                read_only,
                call: call.clone(),
            };
            let mut body = body;
            let mut weight = 1;
            if is_batch {
                match gate.judge_batch(&body) {
                    Ok((judged, count)) => {
                        body = judged;
                        weight = count.max(1);
                    }
                    Err(why) => {
                        let _ = Box::into_pin(gate.deny(why)).await;
                        return Err(HttpError::HttpRequestDenied);
                    }
                }
            }
            let service = if is_exchange {
                match gate.judge_cmdlet(&body) {
                    Ok((cmdlet, judged)) => {
                        body = judged;
                        Service::Exchange { cmdlet }
                    }
                    Err(why) => {
                        let _ = Box::into_pin(gate.deny(why)).await;
                        return Err(HttpError::HttpRequestDenied);
                    }
                }
            } else {
                Service::Graph
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
    use serde_json::{Value, json};

    fn gate(graph: &[&str], exchange: &[&str]) -> Gate {
        Gate {
            upstream: None,
            policy: Arc::new(GraphPolicy::parse(graph).unwrap()),
            exchange: Arc::new(exchange.iter().map(|c| c.to_ascii_lowercase()).collect()),
            read_only: false,
            call: Arc::new(CallCtx::new(
                "p",
                "t",
                tokio::time::Instant::now() + std::time::Duration::from_secs(5),
                None,
            )),
        }
    }

    #[test]
    fn an_exchange_body_is_sent_as_judged() {
        let g = gate(&[], &["Get-Mailbox"]);
        // A second, differently-cased key that a case-insensitive reader
        // might take instead of the judged one.
        let body = br#"{"CmdletInput":{"CmdletName":"Get-Mailbox","Parameters":{"Identity":"a"}},
                        "cmdletinput":{"CmdletName":"Remove-Mailbox"}}"#;
        let (cmdlet, sent) = g.judge_cmdlet(body).unwrap();
        assert_eq!(cmdlet, "Get-Mailbox");
        let sent: Value = serde_json::from_slice(&sent).unwrap();
        assert_eq!(
            sent,
            json!({"CmdletInput": {"CmdletName": "Get-Mailbox", "Parameters": {"Identity": "a"}}})
        );
    }

    #[test]
    fn a_batch_is_sent_as_judged() {
        let g = gate(&["GET /users/*"], &[]);
        let body = br#"{"requests":[{"id":"1","method":"get","url":"/users/a","URL":"/users/a/manager",
                        "headers":{"ConsistencyLevel":"eventual"}}],"Requests":[{"id":"2","method":"DELETE","url":"/users/a"}]}"#;
        let (sent, weight) = g.judge_batch(body).unwrap();
        assert_eq!(weight, 1, "one request inside");
        let sent: Value = serde_json::from_slice(&sent).unwrap();
        assert_eq!(
            sent,
            json!({"requests": [{"id": "1", "method": "GET", "url": "/users/a",
                                 "headers": {"ConsistencyLevel": "eventual"}}]})
        );
        let denied = br#"{"requests":[{"id":"1","method":"DELETE","url":"/users/a"}]}"#;
        assert!(g.judge_batch(denied).is_err());
    }
}
