//! Exchange Online's admin REST API, as the ExchangeOnlineManagement module (v3) uses it:
//! `POST {base}/adminapi/beta/{tenant}/InvokeCommand` with
//! `{"CmdletInput":{"CmdletName":"Get-Mailbox","Parameters":{…}}}` and a bearer token for
//! `https://outlook.office365.com` carrying the `Exchange.ManageAsApp` role.
//!
//! Answers: `200 {"@odata.context": …#Collection(Exchange.GenericHashTable), "@adminapi.warnings":
//! […], "value": […]}` (Set-/Remove- cmdlets output nothing), or the error body the service
//! wraps every cmdlet failure in: `{"error":{"code":"NotFound"|"BadRequest",…,"message":"Error
//! executing cmdlet","details":[{"code":"Client","target":"","message":"Ex6F9304|<exception
//! type>|<text>"}],"innererror":{…}}}`. `Prefer: odata.maxpagesize=N` pages the output with
//! `@odata.nextLink` (the client posts the same body to it).
//!
//! The cmdlets keep their state in the tenant (`Tenant::exchange`), so it persists. Which
//! cmdlets the app may run follows its Entra roles (`tenant::roles`): a cmdlet outside them is
//! one its session does not have.

mod apps;
mod client_access;
mod cloud_params;
mod cmdlet;
mod error;
mod inbox_rules;
mod mailbox;
mod manifest;
mod org;
mod params;
mod protection;
mod retention;
mod trace;

use http::{HeaderMap, Method, StatusCode};
use serde_json::{Map, Value, json};

use crate::app::App;
use crate::auth::{EXCHANGE_APP_ID, TokenProblem, verify_exchange_token};
use crate::faults::Fault;
use crate::web::router::{Lookup, Params, Route, Verb, find};
use crate::web::{Ctx, Query, Reply, ReplyBody};
use cmdlet::{Call, Cmdlet};
use error::ExoError;
use params::bind;

/// The cmdlet name of an `InvokeCommand` body, for the request log and fault matching.
pub(crate) fn cmdlet_name(body: &[u8]) -> Option<String> {
    let v: Value = serde_json::from_slice(body).ok()?;
    v.pointer("/CmdletInput/CmdletName")
        .and_then(Value::as_str)
        .map(str::to_string)
}

/// The reply of an injected fault on the Exchange path, in Exchange's shape.
pub(crate) fn fault_reply(fault: &Fault, ctx: &Ctx) -> Option<Reply> {
    let mut reply = fault.reply(ctx)?;
    if let ReplyBody::Json(_) = reply.body {
        let (code, message) = match reply.status.as_u16() {
            429 => (
                "TooManyRequests",
                "You have reached the maximum number of concurrent requests per tenant. Please wait and try again.",
            ),
            503 => (
                "ServiceUnavailable",
                "The service is temporarily unavailable.",
            ),
            504 => ("GatewayTimeout", "The operation timed out."),
            500 => ("InternalServerError", "Error executing cmdlet"),
            _ => ("UnknownError", "An error was injected by the sandbox."),
        };
        reply.body = ReplyBody::Json(json!({
            "error": {"code": code, "message": message}
        }));
    }
    Some(reply)
}

fn cmdlets() -> impl Iterator<Item = &'static Cmdlet> {
    mailbox::CMDLETS
        .iter()
        .chain(client_access::CMDLETS)
        .chain(inbox_rules::CMDLETS)
        .chain(protection::CMDLETS)
        .chain(org::CMDLETS)
        .chain(retention::CMDLETS)
        .chain(apps::CMDLETS)
        .chain(trace::CMDLETS)
}

/// The names of the emulated cmdlets.
pub(crate) fn cmdlet_names() -> Vec<&'static str> {
    cmdlets().map(|c| c.name).collect()
}

fn unauthorized(app: &App, reason: &str, category: &str) -> Reply {
    let mut reply = Reply::json(
        StatusCode::UNAUTHORIZED,
        json!({"error": {"code": "Unauthorized", "message": reason}}),
    );
    reply.headers.push((
        "WWW-Authenticate".into(),
        format!(
            "Bearer client_id=\"{EXCHANGE_APP_ID}\", trusted_issuers=\"00000001-0000-0000-c000-000000000000@*\", token_types=\"app_asserted_user_v1 service_asserted_app_v1\", authorization_uri=\"{}common/oauth2/authorize\", error=\"invalid_token\"",
            app.base_url
        ),
    ));
    reply.headers.push((
        "x-ms-diagnostics".into(),
        format!("2000003;reason=\"{reason}\";error_category=\"{category}\""),
    ));
    reply
}

/// What a route's handler is given.
struct Req<'a> {
    app: &'a App,
    ctx: &'a Ctx,
    query: Option<&'a str>,
    headers: &'a HeaderMap,
    body: &'a [u8],
    params: Params<'a>,
}

type Handler = fn(&Req) -> Result<Reply, ExoError>;

/// The roles every admin API route needs. Exchange checks them with the token, before the
/// path, and refuses a token without them with 401, as it does an invalid one.
const MANAGE_AS_APP: &[&str] = &["Exchange.ManageAsApp", "Exchange.ManageAsAppV2"];

/// The admin API's routes (below `/adminapi`), all of them needing [`MANAGE_AS_APP`].
static ROUTES: &[Route<(), Handler>] = &[
    Route::new(Verb::Post, "beta/{tenant}/InvokeCommand", (), invoke),
    // Only `beta` answers InvokeCommand; v1.0 serves the module's REST-backed Get-EXO* cmdlets.
    Route::new(Verb::Any, "v1.0/{tenant}/InvokeCommand", (), |_| {
        Err(ExoError::request(
            StatusCode::METHOD_NOT_ALLOWED,
            "MethodNotAllowed",
            "InvokeCommand is available only under /adminapi/beta.",
        ))
    }),
];

/// Entry for `/adminapi/...` (the segments after `adminapi`): the token and its roles, then the
/// route and its handler.
pub(crate) fn handle(
    app: &App,
    ctx: &Ctx,
    method: &Method,
    rest: &[String],
    query: Option<&str>,
    headers: &HeaderMap,
    body: &[u8],
) -> Reply {
    let auth = headers
        .get(http::header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok());
    match verify_exchange_token(app, auth, ctx.now) {
        Ok(claims) if claims.has_any(MANAGE_AS_APP) => {}
        Ok(_) => {
            return unauthorized(
                app,
                "The token has no Exchange.ManageAsApp role: grant the app the Office 365 Exchange Online application permission Exchange.ManageAsApp and consent to it.",
                "insufficient_claims",
            );
        }
        Err(problem) => {
            let (reason, category) = match problem {
                TokenProblem::Empty => ("No access token was presented.", "invalid_token"),
                TokenProblem::Malformed => ("The token is not a well-formed JWT.", "invalid_token"),
                TokenProblem::Signature => ("The token signature is invalid.", "invalid_signature"),
                TokenProblem::Audience => (
                    "The audience claim value is invalid for current resource. The token's audience must be https://outlook.office365.com.",
                    "invalid_resource",
                ),
                TokenProblem::Issuer => {
                    ("The token was issued for another tenant.", "invalid_tenant")
                }
                TokenProblem::Expired => ("The token has expired.", "invalid_lifetime"),
            };
            return unauthorized(app, reason, category);
        }
    }
    let segs: Vec<&str> = rest.iter().map(String::as_str).collect();
    let (route, params) = match find(ROUTES, method, &segs) {
        Lookup::Route(route, params) => (route, params),
        Lookup::MethodNotAllowed => {
            return ExoError::request(
                StatusCode::METHOD_NOT_ALLOWED,
                "MethodNotAllowed",
                format!("The HTTP method '{method}' is not allowed for InvokeCommand; use POST."),
            )
            .into_reply();
        }
        Lookup::NotFound { .. } => return not_found_path().into_reply(),
    };
    let req = Req {
        app,
        ctx,
        query,
        headers,
        body,
        params,
    };
    (route.handler)(&req).unwrap_or_else(ExoError::into_reply)
}

/// `POST beta/{tenant}/InvokeCommand`: runs one cmdlet of a tenant this sandbox is.
fn invoke(r: &Req) -> Result<Reply, ExoError> {
    let tenant = r.params.get("tenant");
    let known = tenant.eq_ignore_ascii_case(&r.app.reg.tenant_id)
        || r.app.store.read(|t| t.is_verified_domain(tenant));
    if !known {
        return Err(ExoError::request(
            StatusCode::NOT_FOUND,
            "NotFound",
            format!(
                "The tenant '{tenant}' wasn't found. Use the tenant's id or one of its verified domains."
            ),
        ));
    }
    let input: Value = serde_json::from_slice(r.body).map_err(|e| {
        ExoError::request(
            StatusCode::BAD_REQUEST,
            "BadRequest",
            format!("The request body is not valid JSON: {e}."),
        )
    })?;
    let Some(cmdlet_input) = input.get("CmdletInput").and_then(Value::as_object) else {
        return Err(ExoError::request(
            StatusCode::BAD_REQUEST,
            "BadRequest",
            "The request body must be {\"CmdletInput\":{\"CmdletName\":…,\"Parameters\":{…}}}.",
        ));
    };
    let Some(name) = cmdlet_input.get("CmdletName").and_then(Value::as_str) else {
        return Err(ExoError::request(
            StatusCode::BAD_REQUEST,
            "BadRequest",
            "CmdletInput.CmdletName is required.",
        ));
    };
    let empty = Map::new();
    let parameters = match cmdlet_input.get("Parameters") {
        None | Some(Value::Null) => &empty,
        Some(Value::Object(o)) => o,
        Some(_) => {
            return Err(ExoError::request(
                StatusCode::BAD_REQUEST,
                "BadRequest",
                "CmdletInput.Parameters must be an object of parameter names and values.",
            ));
        }
    };
    let access = r.app.store.read(|t| t.app_exchange_access());
    let Some(cmdlet) = cmdlets()
        .find(|c| c.name.eq_ignore_ascii_case(name.trim()))
        .filter(|c| access.allows(c.name))
    else {
        return Err(not_recognized(name));
    };
    let bound = bind(cmdlet.name, cmdlet.params, parameters)?;
    let mut call = Call {
        app: r.app,
        ctx: r.ctx,
        warnings: Vec::new(),
    };
    let value = (cmdlet.run)(&mut call, &bound)?;
    Ok(page(
        r.app,
        tenant,
        r.query,
        r.headers,
        value,
        call.warnings,
    ))
}

/// A cmdlet the session does not have: unknown, or outside the app's roles.
fn not_recognized(name: &str) -> ExoError {
    ExoError::failure(
        StatusCode::BAD_REQUEST,
        "BadRequest",
        format!(
            "|System.Management.Automation.CommandNotFoundException|The term '{name}' is not recognized as the name of a cmdlet, function, script file, or operable program. Check the spelling of the name, or if a path was included, verify that the path is correct and try again."
        ),
    )
}

fn not_found_path() -> ExoError {
    ExoError::request(
        StatusCode::NOT_FOUND,
        "NotFound",
        "The requested resource was not found. The sandbox serves only POST /adminapi/beta/{tenant}/InvokeCommand.",
    )
}

/// The 200 body, paged when the client asked for `odata.maxpagesize`.
fn page(
    app: &App,
    tenant: &str,
    query: Option<&str>,
    headers: &HeaderMap,
    value: Vec<Value>,
    warnings: Vec<String>,
) -> Reply {
    let skip = query
        .map(|q| Query::parse(Some(q)))
        .and_then(|q| q.get("skiptoken").and_then(|s| s.parse::<usize>().ok()))
        .unwrap_or(0);
    let page_size = headers
        .get_all("prefer")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .find_map(|p| {
            let (k, v) = p.trim().split_once('=')?;
            k.trim()
                .eq_ignore_ascii_case("odata.maxpagesize")
                .then(|| v.trim().parse::<usize>().ok())
                .flatten()
        })
        .filter(|n| *n > 0);
    let root = format!("{}adminapi/beta/{tenant}/", app.base_url);
    let total = value.len();
    let (items, next) = match page_size {
        Some(n) => {
            let items: Vec<Value> = value.into_iter().skip(skip).take(n).collect();
            let next =
                (skip + n < total).then(|| format!("{root}InvokeCommand?$skiptoken={}", skip + n));
            (items, next)
        }
        None => (value.into_iter().skip(skip).collect(), None),
    };
    let mut body = Map::new();
    body.insert(
        "@odata.context".into(),
        json!(format!(
            "{root}$metadata#Collection(Exchange.GenericHashTable)"
        )),
    );
    body.insert(
        "adminapi.warnings@odata.type".into(),
        json!("#Collection(String)"),
    );
    body.insert("@adminapi.warnings".into(), json!(warnings));
    if let Some(next) = next {
        body.insert("@odata.nextLink".into(), json!(next));
    }
    body.insert("value".into(), Value::Array(items));
    Reply::ok(Value::Object(body))
}

#[cfg(test)]
mod tests {
    use http::Method;
    use serde_json::json;
    use time::OffsetDateTime;

    use crate::auth::{GRAPH_AUDIENCE, OUTLOOK_AUDIENCE};
    use crate::testkit::{
        Answer, TENANT, assert_exo_error, invoke_body, invoke_path, kit, kit_with,
    };

    #[test]
    fn tokens_are_for_one_resource_only() {
        let k = kit();
        let graph_token = k.token(GRAPH_AUDIENCE);
        let exo_token = k.token(OUTLOOK_AUDIENCE);
        let b = invoke_body("Get-OrganizationConfig", json!({}));

        // A Graph token is refused by Exchange, with Exchange's 401.
        let a = k.exchange_raw(Method::POST, &invoke_path(), Some(&graph_token), &[], &b);
        assert_eq!(a.status, 401);
        assert!(
            a.header("WWW-Authenticate")
                .unwrap()
                .contains("00000002-0000-0ff1-ce00-000000000000")
        );
        assert!(
            a.header("x-ms-diagnostics")
                .unwrap()
                .contains("invalid_resource")
        );
        let a = k.exchange_raw(Method::POST, &invoke_path(), None, &[], &b);
        assert_eq!(a.status, 401);
        let tampered = format!("{exo_token}x");
        let a = k.exchange_raw(Method::POST, &invoke_path(), Some(&tampered), &[], &b);
        assert_eq!(a.status, 401);

        // An Exchange token is refused by Graph.
        let e = crate::auth::verify_graph_token(
            &k.app,
            Some(&format!("Bearer {exo_token}")),
            OffsetDateTime::now_utc(),
        )
        .unwrap_err();
        assert_eq!(
            e.message,
            "Access token validation failure. Invalid audience."
        );

        // Each token carries its own resource's roles.
        let claims = crate::auth::verify_exchange_token(
            &k.app,
            Some(&format!("Bearer {exo_token}")),
            OffsetDateTime::now_utc(),
        )
        .unwrap();
        assert_eq!(claims.roles, vec!["Exchange.ManageAsApp"]);
        let claims = crate::auth::verify_graph_token(
            &k.app,
            Some(&format!("Bearer {graph_token}")),
            OffsetDateTime::now_utc(),
        )
        .unwrap();
        assert!(!claims.has_any(&["Exchange.ManageAsApp"]));
        assert!(claims.has_any(&["User.ReadWrite.All"]));

        // The right token works.
        let a = k.exchange_raw(Method::POST, &invoke_path(), Some(&exo_token), &[], &b);
        assert_eq!(a.status, 200, "{}", a.body);

        // Without the Exchange.ManageAsApp permission the token has no role for Exchange.
        let k2 = kit_with(vec!["User.ReadWrite.All".into()]);
        let a = k2.exo("Get-OrganizationConfig", json!({}));
        assert_eq!(a.status, 401);
        assert!(
            a.header("x-ms-diagnostics")
                .unwrap()
                .contains("Exchange.ManageAsApp")
        );
    }

    #[test]
    fn envelope_shapes_and_errors() {
        let k = kit();
        let token = k.token(OUTLOOK_AUDIENCE);
        let a = k.exo("Get-Mailbox", json!({}));
        assert_eq!(a.status, 200);
        assert_eq!(
            a.body["@odata.context"],
            format!(
                "https://127.0.0.1:9/adminapi/beta/{TENANT}/$metadata#Collection(Exchange.GenericHashTable)"
            )
        );
        assert_eq!(a.body["@adminapi.warnings"], json!([]));

        // The tenant may be named by a verified domain.
        let a = k.exchange_raw(
            Method::POST,
            "/beta/libertygoldsilver.onmicrosoft.com/InvokeCommand",
            Some(&token),
            &[],
            &invoke_body("Get-Mailbox", json!({})),
        );
        assert_eq!(a.status, 200, "{}", a.body);

        let a = k.exo("Get-Mailboxes", json!({}));
        assert_exo_error(
            &a,
            400,
            "BadRequest",
            "|System.Management.Automation.CommandNotFoundException|The term 'Get-Mailboxes' is not recognized as the name of a cmdlet",
        );
        for (method, path, b, status) in [
            (
                Method::GET,
                invoke_path(),
                invoke_body("Get-Mailbox", json!({})),
                405,
            ),
            (
                Method::POST,
                format!("/v1.0/{TENANT}/InvokeCommand"),
                invoke_body("Get-Mailbox", json!({})),
                405,
            ),
            (
                Method::POST,
                "/beta/contoso.onmicrosoft.com/InvokeCommand".to_string(),
                invoke_body("Get-Mailbox", json!({})),
                404,
            ),
            (Method::POST, invoke_path(), b"not json".to_vec(), 400),
            (
                Method::POST,
                invoke_path(),
                b"{\"Cmdlet\": 1}".to_vec(),
                400,
            ),
            (
                Method::POST,
                format!("/beta/{TENANT}/Mailbox"),
                Vec::new(),
                404,
            ),
        ] {
            let a = k.exchange_raw(method.clone(), &path, Some(&token), &[], &b);
            assert_eq!(a.status, status, "{method} {path}: {}", a.body);
            assert!(a.body["error"]["code"].is_string());
        }
        // Cmdlet names are case-insensitive, as in PowerShell.
        assert_eq!(k.exo("get-organizationconfig", json!({})).status, 200);
    }

    #[test]
    fn paging_with_maxpagesize() {
        let k = kit();
        k.mailbox_user("ann");
        k.mailbox_user("bob");
        let token = k.token(OUTLOOK_AUDIENCE);
        let b = invoke_body("Get-Mailbox", json!({"ResultSize": "Unlimited"}));
        let prefer = [("Prefer", "odata.maxpagesize=2")];
        let a = k.exchange_raw(Method::POST, &invoke_path(), Some(&token), &prefer, &b);
        assert_eq!(a.value().len(), 2);
        let next = a.body["@odata.nextLink"].as_str().unwrap().to_string();
        let rest = next.strip_prefix("https://127.0.0.1:9/adminapi").unwrap();
        let a = k.exchange_raw(Method::POST, rest, Some(&token), &prefer, &b);
        assert_eq!(a.value().len(), 1);
        assert!(a.body.get("@odata.nextLink").is_none());
    }

    #[test]
    fn request_log_and_faults_see_the_cmdlet() {
        use crate::faults::Fault;
        let k = kit();
        k.app
            .faults
            .add(Fault {
                path_prefix: Some("/adminapi/".into()),
                status: Some(429),
                retry_after: Some(2),
                times: Some(1),
                cmdlet: Some("Get-Mailbox".into()),
                ..Fault::default()
            })
            .unwrap();
        let ctx = crate::web::Ctx::new(None);
        let fault = k
            .app
            .faults
            .take_for(
                &Method::POST,
                "/adminapi/beta/x/InvokeCommand",
                Some("get-mailbox"),
            )
            .unwrap();
        let reply = Answer::from(super::fault_reply(&fault, &ctx).unwrap());
        assert_eq!(reply.status, 429);
        assert_eq!(reply.header("Retry-After"), Some("2"));
        assert_eq!(reply.body["error"]["code"], "TooManyRequests");
        assert_eq!(
            super::cmdlet_name(&invoke_body("Set-Mailbox", json!({}))).as_deref(),
            Some("Set-Mailbox")
        );
    }
}
