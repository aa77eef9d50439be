//! The HTTPS front: accepts TCP, completes the TLS handshake with tokio-rustls, serves HTTP/1.1
//! with hyper, and for every request decodes the path, routes it (control API, token endpoint or
//! Graph), applies injected faults and latency, records it, and adds the headers Graph sends.

use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use http::{HeaderMap, HeaderValue, Request, Response, StatusCode};
use http_body_util::{BodyExt, Full, Limited};
use hyper::body::Incoming;
use hyper::service::service_fn;
use hyper_util::rt::TokioIo;
use tokio::net::TcpListener;
use tokio::sync::oneshot;
use tokio::task::JoinSet;
use tokio_rustls::TlsAcceptor;

use crate::app::{App, RequestRecord};
use crate::faults::Reset;
use crate::web::path::decode_path;
use crate::web::time::{http_date, rfc3339};
use crate::web::{Ctx, GraphError, Reply, ReplyBody};

const MAX_BODY: usize = 8 * 1024 * 1024;
const GRAPH_CONTENT_TYPE: &str = "application/json;odata.metadata=minimal;odata.streaming=true;IEEE754Compatible=false;charset=utf-8";
const JSON_CONTENT_TYPE: &str = "application/json; charset=utf-8";

/// Serves until `stop` fires (or its sender is dropped), then drops every open connection.
pub(crate) async fn serve(
    listener: TcpListener,
    config: Arc<rustls::ServerConfig>,
    app: Arc<App>,
    mut stop: oneshot::Receiver<()>,
) {
    let acceptor = TlsAcceptor::from(config);
    let mut conns = JoinSet::new();
    loop {
        tokio::select! {
            _ = &mut stop => break,
            accepted = listener.accept() => {
                let Ok((tcp, _)) = accepted else { continue };
                let acceptor = acceptor.clone();
                let app = app.clone();
                conns.spawn(async move {
                    let handshake = tokio::time::timeout(Duration::from_secs(10), acceptor.accept(tcp));
                    let Ok(Ok(tls)) = handshake.await else { return };
                    let service = service_fn(move |req| {
                        let app = app.clone();
                        async move { handle(app, req).await }
                    });
                    let _ = hyper::server::conn::http1::Builder::new()
                        .serve_connection(TokioIo::new(tls), service)
                        .await;
                });
            }
            Some(_) = conns.join_next(), if !conns.is_empty() => {}
        }
    }
    conns.abort_all();
    while conns.join_next().await.is_some() {}
}

/// Which face of the sandbox a path belongs to (each routes the rest through its own table).
enum Face<'a> {
    /// The add-in manifest catalogue, `/_sandbox/addins/…`.
    Addins(&'a [String]),
    /// The control API, `/_sandbox/…`.
    Control(&'a [String]),
    /// The token endpoint and OpenID configuration, `/{tenant}/…`.
    Token(&'a [String]),
    Graph(&'a [String]),
    Exchange(&'a [String]),
    BadVersion(&'a str),
}

fn classify(segments: &[String]) -> Face<'_> {
    match segments {
        [first, second, rest @ ..] if first == "_sandbox" && second == "addins" => {
            Face::Addins(rest)
        }
        [first, rest @ ..] if first == "_sandbox" => Face::Control(rest),
        [first, rest @ ..] if first.eq_ignore_ascii_case("v1.0") => Face::Graph(rest),
        [first, rest @ ..] if first.eq_ignore_ascii_case("adminapi") => Face::Exchange(rest),
        _ if crate::token::serves(segments) => Face::Token(segments),
        [first, ..] => Face::BadVersion(first),
        [] => Face::BadVersion(""),
    }
}

/// Returned by the service to make hyper drop the connection without an
/// answer, as a connection reset does.
#[derive(Debug, thiserror::Error)]
#[error("connection dropped by an injected fault")]
struct InjectedReset;

async fn handle(
    app: Arc<App>,
    req: Request<Incoming>,
) -> Result<Response<Full<Bytes>>, InjectedReset> {
    let (parts, body) = req.into_parts();
    let ctx = Ctx::new(header(&parts.headers, "client-request-id"));
    let body = match Limited::new(body, MAX_BODY).collect().await {
        Ok(collected) => collected.to_bytes(),
        Err(_) => {
            let err = GraphError::new(
                StatusCode::PAYLOAD_TOO_LARGE,
                "RequestEntityTooLarge",
                "The request body is too large.",
            );
            return Ok(finish(err.into_reply(&ctx), &ctx, GRAPH_CONTENT_TYPE));
        }
    };
    let segments = match decode_path(parts.uri.path()) {
        Ok(s) => s,
        Err(why) => {
            let reply = GraphError::odata(format!("Invalid request path: {why}.")).into_reply(&ctx);
            return Ok(finish(reply, &ctx, GRAPH_CONTENT_TYPE));
        }
    };
    let query = parts.uri.query().map(str::to_string);
    let method = parts.method.clone();
    let path = format!("/{}", segments.join("/"));

    let face = classify(&segments);
    if let Face::Addins(rest) = face {
        let raw = crate::addins::handle(&app, &method, rest, &parts.headers, &body);
        let mut response = Response::new(Full::new(Bytes::from(raw.body)));
        *response.status_mut() = raw.status;
        if let Ok(v) = HeaderValue::from_str(&raw.content_type)
            && !raw.content_type.is_empty()
        {
            response.headers_mut().insert(http::header::CONTENT_TYPE, v);
        }
        if let Ok(v) = HeaderValue::from_str(&http_date(ctx.now)) {
            response.headers_mut().insert(http::header::DATE, v);
        }
        return Ok(response);
    }
    if let Face::Control(rest) = face {
        let reply =
            crate::control::handle(&app, &method, rest, &body, &crate::exchange::cmdlet_names());
        return Ok(finish(reply, &ctx, JSON_CONTENT_TYPE));
    }

    let is_exchange = matches!(face, Face::Exchange(_));
    let is_graph = is_exchange || matches!(face, Face::Graph(_) | Face::BadVersion(_));
    let cmdlet = if is_exchange {
        crate::exchange::cmdlet_name(&body)
    } else {
        None
    };
    let mut reply = None;
    let mut reset = None;
    if let Some(fault) = app.faults.take_for(&method, &path, cmdlet.as_deref()) {
        if let Some(ms) = fault.latency_ms {
            tokio::time::sleep(Duration::from_millis(ms)).await;
        }
        reset = fault.reset;
        if reset == Some(Reset::Before) {
            app.record(RequestRecord {
                method: method.to_string(),
                path,
                query,
                status: 0,
                client_request_id: header(&parts.headers, "client-request-id").map(str::to_string),
                has_authorization: parts.headers.contains_key(http::header::AUTHORIZATION),
                at: rfc3339(ctx.now),
                cmdlet,
                reset,
            });
            return Err(InjectedReset);
        }
        reply = if is_exchange {
            crate::exchange::fault_reply(&fault, &ctx)
        } else {
            fault.reply(&ctx)
        };
    }
    let reply = match reply {
        Some(r) => r,
        None => match face {
            Face::Token(segs) => crate::token::handle(&app, &ctx, &method, segs, &body),
            Face::Graph(rest) => crate::graph::handle(
                &app,
                &ctx,
                &method,
                rest,
                query.as_deref(),
                &parts.headers,
                &body,
            ),
            Face::Exchange(rest) => crate::exchange::handle(
                &app,
                &ctx,
                &method,
                rest,
                query.as_deref(),
                &parts.headers,
                &body,
            ),
            Face::BadVersion(seg) => {
                GraphError::odata(format!("Invalid version: {seg}")).into_reply(&ctx)
            }
            Face::Control(_) | Face::Addins(_) => unreachable!("handled above"),
        },
    };
    if is_graph {
        let latency = app.tuning().latency;
        if !latency.is_zero() {
            tokio::time::sleep(latency).await;
        }
    }
    app.record(RequestRecord {
        method: method.to_string(),
        path,
        query,
        status: reply.status.as_u16(),
        client_request_id: header(&parts.headers, "client-request-id").map(str::to_string),
        has_authorization: parts.headers.contains_key(http::header::AUTHORIZATION),
        at: rfc3339(ctx.now),
        cmdlet,
        reset,
    });
    if reset.is_some() {
        return Err(InjectedReset);
    }
    let content_type = if is_graph {
        GRAPH_CONTENT_TYPE
    } else {
        JSON_CONTENT_TYPE
    };
    let mut response = finish(reply, &ctx, content_type);
    if !is_graph {
        let h = response.headers_mut();
        h.insert(
            "cache-control",
            HeaderValue::from_static("no-store, no-cache"),
        );
        if let Ok(v) = HeaderValue::from_str(&ctx.request_id) {
            h.insert("x-ms-request-id", v);
        }
    }
    Ok(response)
}

fn header<'a>(headers: &'a HeaderMap, name: &str) -> Option<&'a str> {
    headers.get(name).and_then(|v| v.to_str().ok())
}

/// Serialises a reply with the headers every response carries.
fn finish(reply: Reply, ctx: &Ctx, content_type: &str) -> Response<Full<Bytes>> {
    let (body, has_body) = match reply.body {
        ReplyBody::Empty => (Bytes::new(), false),
        ReplyBody::Json(v) => (
            Bytes::from(serde_json::to_vec(&v).unwrap_or_default()),
            true,
        ),
        ReplyBody::Raw(s) => (Bytes::from(s), true),
    };
    let mut response = Response::new(Full::new(body));
    *response.status_mut() = reply.status;
    let h = response.headers_mut();
    let mut set = |name: &'static str, value: &str| {
        if let Ok(v) = HeaderValue::from_str(value) {
            h.insert(name, v);
        }
    };
    set("request-id", &ctx.request_id);
    set("client-request-id", &ctx.client_request_id);
    set("date", &http_date(ctx.now));
    if has_body {
        set("content-type", content_type);
    }
    for (name, value) in reply.headers {
        if let (Ok(n), Ok(v)) = (
            http::HeaderName::from_bytes(name.as_bytes()),
            HeaderValue::from_str(&value),
        ) {
            h.insert(n, v);
        }
    }
    response
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn classify_table() {
        let segs = |p: &str| decode_path(p).unwrap();
        assert!(matches!(
            classify(&segs("/_sandbox/state")),
            Face::Control(_)
        ));
        assert!(matches!(
            classify(&segs("/_sandbox/addins/x.xml")),
            Face::Addins([_])
        ));
        assert!(matches!(classify(&segs("/V1.0/users")), Face::Graph(_)));
        assert!(matches!(
            classify(&segs("/t/oauth2/v2.0/token")),
            Face::Token([tenant, ..]) if tenant == "t"
        ));
        assert!(matches!(
            classify(&segs("/beta/users")),
            Face::BadVersion("beta")
        ));
        assert!(matches!(
            classify(&segs("/adminapi/beta/t/InvokeCommand")),
            Face::Exchange([_, _, _])
        ));
    }
}
