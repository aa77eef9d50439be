//! Graph's route table: every endpoint under `/v1.0` the sandbox serves, one line each — the
//! method, the path, the application permission it needs (see `permissions`) and the handler.
//! [`route`] finds the line (`web::router`), checks the permission, then runs the handler; a
//! known path with another method answers Graph's 405, an unknown one Graph's 400 naming the
//! first segment it does not know. `$batch` runs each of its steps through [`route`] again.
//!
//! Paths under `groups`, `teams`, `planner` and `directory` also take OData key segments
//! (`teams('x')`), and `/groups/{id}/team/…` answers as `/teams/{id}/…` does (only `PUT` is
//! its own: the older way to create a team).

use http::Method;

use super::connect::{email, files, planner, tabs};
use super::groups::{deleted, group, refs, settings};
use super::odata::{is, method_not_allowed, not_found_segment};
use super::permissions::*;
use super::teams::{channels, members, operations, team};
use super::{batch, licenses, mail, mailbox, org, policies, reports, roles, tracing, users};
use crate::app::App;
use crate::auth::Claims;
use crate::web::path::normalize;
use crate::web::router::{Lookup, Params, Route, Verb, find};
use crate::web::{Ctx, GraphResult, Query};

/// What a handler is given: the request, its token's claims and the path's parameters.
pub(super) struct Req<'a> {
    pub app: &'a App,
    pub ctx: &'a Ctx,
    pub claims: &'a Claims,
    pub query: &'a Query,
    pub body: &'a [u8],
    params: Params<'a>,
}

impl Req<'_> {
    /// The path segment the route captured as `{name}`.
    fn p(&self, name: &str) -> &str {
        self.params.get(name)
    }
}

type Handler = fn(&Req) -> GraphResult;

const fn get(path: &'static str, need: Need, h: Handler) -> Route<Need, Handler> {
    Route::new(Verb::Get, path, need, h)
}
const fn post(path: &'static str, need: Need, h: Handler) -> Route<Need, Handler> {
    Route::new(Verb::Post, path, need, h)
}
const fn put(path: &'static str, need: Need, h: Handler) -> Route<Need, Handler> {
    Route::new(Verb::Put, path, need, h)
}
const fn patch(path: &'static str, need: Need, h: Handler) -> Route<Need, Handler> {
    Route::new(Verb::Patch, path, need, h)
}
const fn delete(path: &'static str, need: Need, h: Handler) -> Route<Need, Handler> {
    Route::new(Verb::Delete, path, need, h)
}
const fn any(path: &'static str, h: Handler) -> Route<Need, Handler> {
    Route::new(Verb::Any, path, OPEN, h)
}
/// A resource that exists but takes no method: 405 for all.
const fn none(path: &'static str) -> Route<Need, Handler> {
    Route::new(Verb::None, path, OPEN, not_allowed)
}

fn not_allowed(_: &Req) -> GraphResult {
    Err(method_not_allowed())
}

#[rustfmt::skip]
static ROUTES: &[Route<Need, Handler>] = &[
    any("", |r| org::service_document(r.app)),
    post("$batch", OPEN, |r| batch::handle(r.app, r.claims, r.body, route)),
    any("me", |_| users::me()),
    // The organization, its domains and licenses.
    get("organization", ORG_READ, |r| org::list_organization(r.app)),
    get("organization/{id}", ORG_READ, |r| org::get_organization(r.app, r.p("id"))),
    get("domains", DOMAIN_READ, |r| org::list_domains(r.app)),
    get("domains/{id}", DOMAIN_READ, |r| org::get_domain(r.app, r.p("id"))),
    get("subscribedSkus", ORG_READ, |r| licenses::list_skus(r.app)),
    get("subscribedSkus/{id}", ORG_READ, |r| licenses::get_sku(r.app, r.p("id"))),
    // Users.
    get("users", USER_READ, |r| users::list(r.app, r.claims, r.query)),
    post("users", USER_WRITE, |r| users::create(r.app, r.ctx, r.body)),
    get("users/{id}", USER_READ, |r| users::get(r.app, r.claims, r.p("id"), r.query)),
    patch("users/{id}", USER_WRITE, |r| users::update(r.app, r.p("id"), r.body)),
    delete("users/{id}", USER_WRITE, |r| users::delete(r.app, r.p("id"))),
    post("users/{id}/assignLicense", LICENSE_WRITE, |r| licenses::assign(r.app, r.ctx, r.p("id"), r.body)),
    get("users/{id}/licenseDetails", USER_READ, |r| licenses::license_details(r.app, r.p("id"))),
    // Mailboxes.
    post("users/{id}/sendMail", MAIL_SEND, |r| mail::send_mail(r.app, r.ctx, r.p("id"), r.body)),
    get("users/{id}/mailboxSettings", MAILBOX_READ, |r| mailbox::get_settings(r.app, r.ctx, r.p("id"))),
    patch("users/{id}/mailboxSettings", MAILBOX_WRITE, |r| mailbox::patch_settings(r.app, r.ctx, r.p("id"), r.body)),
    get("users/{id}/mailFolders/inbox/messageRules", MAILBOX_READ, |r| mailbox::list_rules(r.app, r.ctx, r.p("id"))),
    post("users/{id}/mailFolders/inbox/messageRules", MAILBOX_WRITE, |r| mailbox::create_rule(r.app, r.ctx, r.p("id"), r.body)),
    get("users/{id}/mailFolders/inbox/messageRules/{rule}", MAILBOX_READ, |r| mailbox::get_rule(r.app, r.ctx, r.p("id"), r.p("rule"))),
    patch("users/{id}/mailFolders/inbox/messageRules/{rule}", MAILBOX_WRITE, |r| mailbox::patch_rule(r.app, r.ctx, r.p("id"), r.p("rule"), r.body)),
    delete("users/{id}/mailFolders/inbox/messageRules/{rule}", MAILBOX_WRITE, |r| mailbox::delete_rule(r.app, r.ctx, r.p("id"), r.p("rule"))),
    any("users/{id}/mailFolders/{folder}/messageRules", |_| mailbox::no_such_folder()),
    any("users/{id}/mailFolders/{folder}/messageRules/{rule}", |_| mailbox::no_such_folder()),
    // Message trace.
    get("admin/exchange/tracing/messageTraces", TRACE_READ, |r| tracing::list(r.app, r.ctx, r.query)),
    none("admin/exchange/tracing/messageTraces/{id}"),
    get("admin/exchange/tracing/messageTraces/{id}/{function}", TRACE_READ, |r| tracing::function(r.app, r.ctx, r.p("id"), r.p("function"))),
    // Directory roles.
    get("directoryRoles", ROLE_READ, |r| roles::list(r.app, r.query)),
    get("directoryRoles/{id}", ROLE_READ, |r| roles::get(r.app, r.p("id"))),
    get("directoryRoles/{id}/members", ROLE_READ, |r| roles::members(r.app, r.p("id"), r.query)),
    // Reports.
    none("reports"),
    none("reports/authenticationMethods"),
    get("reports/authenticationMethods/userRegistrationDetails", AUDIT_READ, |r| reports::list(r.app, r.query)),
    get("reports/authenticationMethods/userRegistrationDetails/{id}", AUDIT_READ, |r| reports::get(r.app, r.p("id"))),
    // Policies.
    none("policies"),
    get("policies/identitySecurityDefaultsEnforcementPolicy", POLICY_READ, |r| policies::get(r.app, r.query)),
    patch("policies/identitySecurityDefaultsEnforcementPolicy", POLICY_WRITE, |r| policies::patch(r.app, r.body)),
    get("policies/authorizationPolicy", AUTHORIZATION_POLICY_READ, |r| policies::get_authorization(r.app, r.query)),
    none("identity"),
    none("identity/conditionalAccess"),
    get("identity/conditionalAccess/policies", CONDITIONAL_ACCESS_READ, |r| policies::list_conditional_access(r.app, r.query)),
    get("identity/conditionalAccess/policies/{id}", CONDITIONAL_ACCESS_READ, |r| policies::get_conditional_access(r.app, r.p("id"))),
    // Groups and their recycle bin.
    any("directory/deletedItems", |_| deleted::cast_required()),
    get("directory/deletedItems/{cast:type}", DELETED_READ, |r| deleted::list(r.app, r.p("cast"), r.query)),
    get("directory/deletedItems/microsoft.graph.group/{id}", DELETED_READ, |r| deleted::get(r.app, r.p("id"))),
    get("directory/deletedItems/{id}", DELETED_READ, |r| deleted::get(r.app, r.p("id"))),
    delete("directory/deletedItems/{id}", GROUP_WRITE, |r| deleted::purge(r.app, r.p("id"))),
    post("directory/deletedItems/{id}/restore", GROUP_WRITE, |r| deleted::restore(r.app, r.p("id"))),
    get("groups", GROUP_READ, |r| group::list(r.app, r.query)),
    post("groups", GROUP_CREATE, |r| group::create(r.app, r.ctx, r.body)),
    get("groups/{id}", GROUP_READ, |r| group::get(r.app, r.p("id"), r.query)),
    patch("groups/{id}", GROUP_WRITE, |r| group::update(r.app, r.p("id"), r.body)),
    delete("groups/{id}", GROUP_WRITE, |r| group::delete(r.app, r.ctx, r.p("id"))),
    get("groups/{id}/members", GROUP_MEMBER_READ, |r| refs::list(r.app, r.query, r.p("id"), false)),
    get("groups/{id}/owners", GROUP_MEMBER_READ, |r| refs::list(r.app, r.query, r.p("id"), true)),
    post("groups/{id}/members/$ref", GROUP_MEMBER_WRITE, |r| refs::add(r.app, r.p("id"), false, r.body)),
    post("groups/{id}/owners/$ref", GROUP_MEMBER_WRITE, |r| refs::add(r.app, r.p("id"), true, r.body)),
    delete("groups/{id}/members/{user}/$ref", GROUP_MEMBER_WRITE, |r| refs::remove(r.app, r.p("id"), r.p("user"), false)),
    delete("groups/{id}/owners/{user}/$ref", GROUP_MEMBER_WRITE, |r| refs::remove(r.app, r.p("id"), r.p("user"), true)),
    get("groups/{id}/settings", GROUP_READ, |r| settings::list(r.app, r.p("id"))),
    post("groups/{id}/settings", GROUP_WRITE, |r| settings::create(r.app, r.p("id"), r.body)),
    get("groups/{id}/settings/{sid}", GROUP_READ, |r| settings::get(r.app, r.p("id"), r.p("sid"))),
    patch("groups/{id}/settings/{sid}", GROUP_WRITE, |r| settings::patch(r.app, r.p("id"), r.p("sid"), r.body)),
    delete("groups/{id}/settings/{sid}", GROUP_WRITE, |r| settings::delete(r.app, r.p("id"), r.p("sid"))),
    get("groups/{id}/drive", DRIVE_READ, |r| files::group_drive(r.app, r.p("id"))),
    get("groups/{id}/planner/plans", PLAN_READ, |r| planner::group_plans(r.app, r.p("id"))),
    put("groups/{id}/team", TEAM_PUT, |r| team::put(r.app, r.ctx, r.p("id"), r.body)),
    // Teams.
    get("teams", TEAM_READ, |r| team::list(r.app, r.query)),
    post("teams", TEAM_CREATE, |r| team::create(r.app, r.ctx, r.body)),
    get("teams/{id}", TEAM_READ, |r| team::get(r.app, r.ctx, r.p("id"), r.query)),
    patch("teams/{id}", TEAM_SETTINGS_WRITE, |r| team::patch(r.app, r.p("id"), r.body)),
    get("teams/{id}/operations", OPERATION_READ, |r| operations::list(r.app, r.p("id"))),
    get("teams/{id}/operations/{op}", OPERATION_READ, |r| operations::get(r.app, r.ctx, r.p("id"), r.p("op"))),
    post("teams/{id}/archive", TEAM_SETTINGS_WRITE, |r| operations::archive(r.app, r.ctx, r.p("id"), r.body, true)),
    post("teams/{id}/unarchive", TEAM_SETTINGS_WRITE, |r| operations::archive(r.app, r.ctx, r.p("id"), r.body, false)),
    get("teams/{id}/members", TEAM_MEMBER_READ, |r| members::list(r.app, r.p("id"), r.query)),
    post("teams/{id}/members", TEAM_MEMBER_WRITE, |r| members::add(r.app, r.p("id"), r.body)),
    get("teams/{id}/members/{mid}", TEAM_MEMBER_READ, |r| members::get(r.app, r.p("id"), r.p("mid"))),
    patch("teams/{id}/members/{mid}", TEAM_MEMBER_WRITE, |r| members::patch(r.app, r.p("id"), r.p("mid"), r.body)),
    delete("teams/{id}/members/{mid}", TEAM_MEMBER_WRITE, |r| members::remove(r.app, r.p("id"), r.p("mid"))),
    // Channels.
    get("teams/{id}/primaryChannel", CHANNEL_READ, |r| channels::get(r.app, r.p("id"), "primaryChannel", r.query)),
    get("teams/{id}/channels", CHANNEL_READ, |r| channels::list(r.app, r.p("id"), r.query)),
    post("teams/{id}/channels", CHANNEL_CREATE, |r| channels::create(r.app, r.ctx, r.p("id"), r.body)),
    get("teams/{id}/channels/{cid}", CHANNEL_READ, |r| channels::get(r.app, r.p("id"), r.p("cid"), r.query)),
    patch("teams/{id}/channels/{cid}", CHANNEL_WRITE, |r| channels::patch(r.app, r.p("id"), r.p("cid"), r.body)),
    delete("teams/{id}/channels/{cid}", CHANNEL_DELETE, |r| channels::delete(r.app, r.p("id"), r.p("cid"))),
    get("teams/{id}/channels/{cid}/members", CHANNEL_MEMBER_READ, |r| channels::list_members(r.app, r.p("id"), r.p("cid"))),
    post("teams/{id}/channels/{cid}/members", CHANNEL_MEMBER_WRITE, |r| channels::add_member(r.app, r.p("id"), r.p("cid"), r.body)),
    // What a channel connects to: tabs, its files, its address.
    get("teams/{id}/channels/{cid}/tabs", TAB_READ, |r| tabs::list(r.app, r.p("id"), r.p("cid"), r.query)),
    post("teams/{id}/channels/{cid}/tabs", TAB_CREATE, |r| tabs::create(r.app, r.p("id"), r.p("cid"), r.body)),
    get("teams/{id}/channels/{cid}/tabs/{tab}", TAB_READ, |r| tabs::get(r.app, r.p("id"), r.p("cid"), r.p("tab"), r.query)),
    patch("teams/{id}/channels/{cid}/tabs/{tab}", TAB_WRITE, |r| tabs::patch(r.app, r.p("id"), r.p("cid"), r.p("tab"), r.body)),
    delete("teams/{id}/channels/{cid}/tabs/{tab}", TAB_WRITE, |r| tabs::delete(r.app, r.p("id"), r.p("cid"), r.p("tab"))),
    get("teams/{id}/channels/{cid}/filesFolder", FILES_FOLDER_READ, |r| files::channel_folder(r.app, r.p("id"), r.p("cid"))),
    post("teams/{id}/channels/{cid}/provisionEmail", OPEN, |_| email::delegated_only("provisionEmail")),
    post("teams/{id}/channels/{cid}/removeEmail", OPEN, |_| email::delegated_only("removeEmail")),
    // Planner.
    none("planner"),
    post("planner/plans", PLAN_CREATE, |r| planner::create(r.app, r.ctx, r.body)),
    get("planner/plans/{id}", PLAN_READ, |r| planner::get(r.app, r.p("id"))),
];

/// Routes one Graph request (the path below `/v1.0`, decoded) once its token is valid.
pub(crate) fn route(
    app: &App,
    ctx: &Ctx,
    claims: &Claims,
    method: &Method,
    segs: &[String],
    query: &Query,
    body: &[u8],
) -> GraphResult {
    let segs = match segs.first() {
        Some(first) if takes_keys(first) => normalize(segs),
        _ => segs.to_vec(),
    };
    let s: Vec<&str> = segs.iter().map(String::as_str).collect();
    let mut found = find(ROUTES, method, &s);
    let aliased = team_of_group(&s);
    if let (Lookup::MethodNotAllowed | Lookup::NotFound { .. }, Some(team)) = (&found, &aliased) {
        match find(ROUTES, method, team) {
            Lookup::NotFound { .. } if matches!(found, Lookup::MethodNotAllowed) => {}
            other => found = other,
        }
    }
    match found {
        Lookup::Route(route, params) => {
            route.need.check(claims)?;
            (route.handler)(&Req {
                app,
                ctx,
                claims,
                query,
                body,
                params,
            })
        }
        Lookup::MethodNotAllowed => Err(method_not_allowed()),
        Lookup::NotFound { at } => {
            let segs = aliased.as_deref().unwrap_or(&s);
            Err(not_found_segment(segs.get(at).copied().unwrap_or_default()))
        }
    }
}

/// Whether a path's first segment may be followed by OData key segments.
fn takes_keys(first: &str) -> bool {
    let name = first.split('(').next().unwrap_or_default();
    ["groups", "teams", "planner", "directoryRoles"]
        .iter()
        .any(|n| is(name, n))
        || is(first, "directory")
}

/// `/groups/{id}/team[/…]` as `/teams/{id}[/…]`.
fn team_of_group<'a>(segs: &[&'a str]) -> Option<Vec<&'a str>> {
    match segs {
        [g, id, t, rest @ ..] if is(g, "groups") && is(t, "team") => {
            let mut out = vec!["teams", *id];
            out.extend_from_slice(rest);
            Some(out)
        }
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use http::Method;
    use serde_json::json;

    use crate::auth::Claims;

    use crate::testkit::{group_body, team_body, tenant};

    #[test]
    fn roles_are_checked() {
        let t = tenant();
        let reader = Claims {
            roles: vec!["User.Read.All".into()],
        };
        let a = t.graph_as(
            &reader,
            Method::POST,
            "/groups",
            Some(group_body("x", &[], &[])),
        );
        assert_eq!((a.status, a.code()), (403, "Authorization_RequestDenied"));
        let a = t.graph_as(
            &reader,
            Method::POST,
            "/teams",
            Some(team_body("00000000-0000-0000-0000-000000000000")),
        );
        assert_eq!((a.status, a.code()), (403, "Forbidden"));
        assert!(a.message().contains("Team.Create"), "{}", a.message());

        // Team.Create alone may create a team and poll its operation, but not read groups.
        let owner = t.user("o");
        let gid = t.group("narrow", &[&owner], &[]);
        let creator = Claims {
            roles: vec!["Team.Create".into()],
        };
        let a = t.graph_as(&creator, Method::POST, "/teams", Some(team_body(&gid)));
        assert_eq!(a.status, 202, "{}", a.body);
        let op = t.graph_as(&creator, Method::GET, a.header("Location").unwrap(), None);
        assert_eq!(op.status, 200);
        assert_eq!(
            t.graph_as(&creator, Method::GET, &format!("/groups/{gid}"), None)
                .status,
            403
        );
        let a = t.graph_as(
            &creator,
            Method::POST,
            &format!("/teams/{gid}/channels"),
            Some(json!({"displayName": "x"})),
        );
        assert_eq!(a.status, 403);
    }
}
