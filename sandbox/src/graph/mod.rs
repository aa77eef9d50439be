//! Microsoft Graph v1.0: authentication of the bearer token, routing of `/v1.0/...` paths to
//! the resource modules, application-permission checks, and Graph's answers for unknown
//! segments and unsupported methods. Routing is over decoded path segments and is synchronous,
//! so `$batch` runs each step through the very same [`route`].

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
mod teams;
mod tracing;
mod users;

use http::{HeaderMap, Method, StatusCode};

use crate::app::App;
use crate::auth::{Claims, verify_graph_token};
use crate::web::{Ctx, GraphError, GraphResult, Query, Reply};
use odata::{is, method_not_allowed, not_found_segment};
use permissions::{require, require_mailbox};

const WWW_AUTHENTICATE: &str = "Bearer realm=\"\", authorization_uri=\"https://login.microsoftonline.com/common/oauth2/authorize\", client_id=\"00000003-0000-0000-c000-000000000000\"";

/// Roles that allow reading or writing users.
const USER_READ: &[&str] = &[
    "User.Read.All",
    "User.ReadWrite.All",
    "User.ReadBasic.All",
    "Directory.Read.All",
    "Directory.ReadWrite.All",
];
const USER_WRITE: &[&str] = &["User.ReadWrite.All", "Directory.ReadWrite.All"];
const LICENSE_WRITE: &[&str] = &[
    "LicenseAssignment.ReadWrite.All",
    "User.ReadWrite.All",
    "Directory.ReadWrite.All",
];
const ORG_READ: &[&str] = &[
    "Organization.Read.All",
    "Organization.ReadWrite.All",
    "Directory.Read.All",
    "Directory.ReadWrite.All",
    "LicenseAssignment.Read.All",
];
const DOMAIN_READ: &[&str] = &[
    "Domain.Read.All",
    "Domain.ReadWrite.All",
    "Directory.Read.All",
    "Directory.ReadWrite.All",
];
const MAILBOX_READ: &[&str] = &["MailboxSettings.Read", "MailboxSettings.ReadWrite"];
const MAILBOX_WRITE: &[&str] = &["MailboxSettings.ReadWrite"];
const MAIL_SEND: &[&str] = &["Mail.Send"];

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
    let result = match segments {
        [b] if b.eq_ignore_ascii_case("$batch") => {
            if *method == Method::POST {
                batch::handle(app, &claims, body, route)
            } else {
                Err(method_not_allowed())
            }
        }
        _ => route(
            app,
            ctx,
            &claims,
            method,
            segments,
            &Query::parse(raw_query),
            body,
        ),
    };
    result.unwrap_or_else(|e| e.into_reply(ctx))
}

/// Routes one Graph request (below `/v1.0`) to its handler.
pub(crate) fn route(
    app: &App,
    ctx: &Ctx,
    claims: &Claims,
    method: &Method,
    segs: &[String],
    q: &Query,
    body: &[u8],
) -> GraphResult {
    let m = method.clone();
    match segs {
        [] => Ok(Reply::ok(serde_json::json!({
            "@odata.context": format!("{}$metadata", app.graph_root()),
            "value": [
                {"name": "users", "kind": "EntitySet", "url": "users"},
                {"name": "organization", "kind": "EntitySet", "url": "organization"},
                {"name": "domains", "kind": "EntitySet", "url": "domains"},
                {"name": "subscribedSkus", "kind": "EntitySet", "url": "subscribedSkus"},
                {"name": "groups", "kind": "EntitySet", "url": "groups"},
                {"name": "teams", "kind": "EntitySet", "url": "teams"},
            ]
        }))),
        [r] if is(r, "me") => Err(GraphError::odata(
            "/me request is only valid with delegated authentication flow.",
        )),
        [r, rest @ ..] if is(r, "organization") => {
            require(claims, ORG_READ)?;
            match (m, rest) {
                (Method::GET, []) => org::list_organization(app),
                (Method::GET, [id]) => org::get_organization(app, id),
                (_, [] | [_]) => Err(method_not_allowed()),
                (_, [_, seg, ..]) => Err(not_found_segment(seg)),
            }
        }
        [r, rest @ ..] if is(r, "domains") => {
            require(claims, DOMAIN_READ)?;
            match (m, rest) {
                (Method::GET, []) => org::list_domains(app),
                (Method::GET, [id]) => org::get_domain(app, id),
                (_, [] | [_]) => Err(method_not_allowed()),
                (_, [_, seg, ..]) => Err(not_found_segment(seg)),
            }
        }
        [r, rest @ ..] if is(r, "subscribedSkus") => {
            require(claims, ORG_READ)?;
            match (m, rest) {
                (Method::GET, []) => licenses::list_skus(app),
                (Method::GET, [id]) => licenses::get_sku(app, id),
                (_, [] | [_]) => Err(method_not_allowed()),
                (_, [_, seg, ..]) => Err(not_found_segment(seg)),
            }
        }
        [r] if is(r, "users") => match m {
            Method::GET => {
                require(claims, USER_READ)?;
                users::list(app, q)
            }
            Method::POST => {
                require(claims, USER_WRITE)?;
                users::create(app, ctx, body)
            }
            _ => Err(method_not_allowed()),
        },
        [r, id] if is(r, "users") => match m {
            Method::GET => {
                require(claims, USER_READ)?;
                users::get(app, id, q)
            }
            Method::PATCH => {
                require(claims, USER_WRITE)?;
                users::update(app, id, body)
            }
            Method::DELETE => {
                require(claims, USER_WRITE)?;
                users::delete(app, id)
            }
            _ => Err(method_not_allowed()),
        },
        [r, id, action] if is(r, "users") && is(action, "assignLicense") => match m {
            Method::POST => {
                require(claims, LICENSE_WRITE)?;
                licenses::assign(app, ctx, id, body)
            }
            _ => Err(method_not_allowed()),
        },
        [r, id, nav] if is(r, "users") && is(nav, "licenseDetails") => match m {
            Method::GET => {
                require(claims, USER_READ)?;
                licenses::license_details(app, id)
            }
            _ => Err(method_not_allowed()),
        },
        [r, id, action] if is(r, "users") && is(action, "sendMail") => match m {
            Method::POST => {
                require_mailbox(claims, MAIL_SEND)?;
                mail::send_mail(app, ctx, id, body)
            }
            _ => Err(method_not_allowed()),
        },
        [r, id, nav] if is(r, "users") && is(nav, "mailboxSettings") => match m {
            Method::GET => {
                require_mailbox(claims, MAILBOX_READ)?;
                mailbox::get_settings(app, ctx, id)
            }
            Method::PATCH => {
                require_mailbox(claims, MAILBOX_WRITE)?;
                mailbox::patch_settings(app, ctx, id, body)
            }
            _ => Err(method_not_allowed()),
        },
        [r, id, folders, folder, rules, rest @ ..]
            if is(r, "users") && is(folders, "mailFolders") && is(rules, "messageRules") =>
        {
            if !is(folder, "inbox") {
                return Err(GraphError::new(
                    StatusCode::NOT_FOUND,
                    "ErrorItemNotFound",
                    "The specified object was not found in the store.",
                ));
            }
            match (m, rest) {
                (Method::GET, []) => {
                    require_mailbox(claims, MAILBOX_READ)?;
                    mailbox::list_rules(app, ctx, id)
                }
                (Method::POST, []) => {
                    require_mailbox(claims, MAILBOX_WRITE)?;
                    mailbox::create_rule(app, ctx, id, body)
                }
                (Method::GET, [rule]) => {
                    require_mailbox(claims, MAILBOX_READ)?;
                    mailbox::get_rule(app, ctx, id, rule)
                }
                (Method::PATCH, [rule]) => {
                    require_mailbox(claims, MAILBOX_WRITE)?;
                    mailbox::patch_rule(app, ctx, id, rule, body)
                }
                (Method::DELETE, [rule]) => {
                    require_mailbox(claims, MAILBOX_WRITE)?;
                    mailbox::delete_rule(app, ctx, id, rule)
                }
                (_, [] | [_]) => Err(method_not_allowed()),
                (_, [_, seg, ..]) => Err(not_found_segment(seg)),
            }
        }
        [r, _, seg, ..] if is(r, "users") => Err(not_found_segment(seg)),
        [r, ..] if tracing::handles(r) => tracing::route(app, ctx, claims, &m, segs, q),
        [r, ..] if policies::handles(r) => policies::route(app, claims, &m, segs, q, body),
        _ if connect::handles(segs) => connect::route(app, ctx, claims, &m, segs, q, body),
        [r, ..] if groups::handles(r) => groups::route(app, ctx, claims, &m, segs, q, body),
        [r, ..] if teams::handles(r) => teams::route(app, ctx, claims, &m, segs, q, body),
        [seg, ..] => Err(not_found_segment(seg)),
    }
}
