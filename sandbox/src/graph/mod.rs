//! Microsoft Graph v1.0: the bearer token is checked here, then `routes` finds the endpoint in
//! Graph's route table and the resource modules answer it. Routing is over decoded path
//! segments and is synchronous, so `$batch` runs each step through the same table.
//!
//! Resource modules: `users`, `licenses` (SKUs, assignments), `org` (organization, domains),
//! `mailbox` (settings, rules), `mail` (sendMail), `groups`, `teams` (and their channels and
//! members), `connect` (tabs, files, Planner), `tracing` (message trace), `policies`
//! (security defaults, authorization, conditional access), `roles` (directory roles) and
//! `reports` (authentication-method registration).
//! A new endpoint is a handler in one of them and a line in `routes`.

mod batch;
mod connect;
mod groups;
mod licenses;
mod mail;
mod mailbox;
mod odata;
mod org;
mod permissions;
mod policies;
mod reports;
mod roles;
mod routes;
mod teams;
mod tracing;
mod users;

use http::{HeaderMap, Method};

use crate::app::App;
use crate::auth::verify_graph_token;
use crate::web::{Ctx, Query, Reply};

pub(crate) use routes::route;

const WWW_AUTHENTICATE: &str = "Bearer realm=\"\", authorization_uri=\"https://login.microsoftonline.com/common/oauth2/authorize\", client_id=\"00000003-0000-0000-c000-000000000000\"";

/// Entry for a top-level Graph request: validates the token, then routes.
pub(crate) fn handle(
    app: &App,
    ctx: &Ctx,
    method: &Method,
    segments: &[String],
    raw_query: Option<&str>,
    headers: &HeaderMap,
    body: &[u8],
) -> Reply {
    let auth = headers
        .get(http::header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok());
    let claims = match verify_graph_token(app, auth, ctx.now) {
        Ok(c) => c,
        Err(e) => {
            return e
                .into_reply(ctx)
                .with_header("WWW-Authenticate", WWW_AUTHENTICATE);
        }
    };
    let query = Query::parse(raw_query);
    route(app, ctx, &claims, method, segments, &query, body).unwrap_or_else(|e| e.into_reply(ctx))
}
