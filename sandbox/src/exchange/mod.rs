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
//! The cmdlets keep their state in the tenant (`Tenant::exchange`), so it persists.

mod apps;
mod cloud_params;
mod mailbox;
pub(crate) mod manifest;
mod org;
pub(crate) mod params;
mod retention;
pub(crate) mod state;
pub(crate) mod trace;

#[cfg(test)]
mod tests;

use http::{HeaderMap, Method, StatusCode};
use serde_json::{Map, Value, json};

use crate::app::App;
use crate::errors::{Ctx, GraphError, Reply};
use crate::faults::Fault;
use crate::state::Tenant;
use crate::token::{TokenProblem, verify_exchange_token};
use params::{Bound, Param, bind};

pub(crate) use state::ExchangeState;

/// The Exchange side's state that is not persisted: the add-in manifest catalogue and the
/// message-trace throttling windows.
#[derive(Default)]
pub(crate) struct Runtime {
    pub addins: crate::addins::Catalogue,
    /// `Get-MessageTraceV2` calls in the last five minutes.
    pub exo_trace_queries: trace::Throttle,
    /// Graph `messageTraces` calls in the last five minutes.
    pub graph_trace_queries: trace::Throttle,
}

/// The Exchange Online resource's app id (an accepted `aud` besides its URI).
pub(crate) const EXCHANGE_APP_ID: &str = "00000002-0000-0ff1-ce00-000000000000";
/// The app roles the "Office 365 Exchange Online" resource defines that the sandbox knows.
pub(crate) const EXCHANGE_ROLES: &[&str] = &[
    "Exchange.ManageAsApp",
    "Exchange.ManageAsAppV2",
    "full_access_as_app",
];
/// The domain controller Exchange names in its not-found messages.
const DC: &str = "SN6PR01A001DC001.NAMPR01A001.PROD.OUTLOOK.COM";

/// A failed call, in Exchange's terms.
#[derive(Debug, Clone)]
pub(crate) struct ExoError {
    pub status: StatusCode,
    pub code: String,
    pub message: String,
    /// `details[0].message`: `{error id}|{exception type}|{text}`.
    pub detail: Option<String>,
    pub headers: Vec<(String, String)>,
}

impl ExoError {
    fn failure(status: StatusCode, code: &str, detail: String) -> Self {
        ExoError {
            status,
            code: code.into(),
            message: "Error executing cmdlet".into(),
            detail: Some(detail),
            headers: Vec::new(),
        }
    }

    /// 400 from PowerShell's parameter binder.
    pub fn binding(message: impl Into<String>) -> Self {
        Self::failure(
            StatusCode::BAD_REQUEST,
            "BadRequest",
            format!(
                "|System.Management.Automation.ParameterBindingException|{}",
                message.into()
            ),
        )
    }

    /// 400 from the cmdlet itself: `{id}|{exception}|{text}`.
    pub fn task(id: &str, exception: &str, message: impl Into<String>) -> Self {
        Self::failure(
            StatusCode::BAD_REQUEST,
            "BadRequest",
            format!("{id}|{exception}|{}", message.into()),
        )
    }

    /// 404 for an object the cmdlet cannot find.
    pub fn not_found(object: &str) -> Self {
        Self::failure(
            StatusCode::NOT_FOUND,
            "NotFound",
            format!(
                "Ex6F9304|Microsoft.Exchange.Configuration.Tasks.ManagementObjectNotFoundException|The operation couldn't be performed because object '{object}' couldn't be found on '{DC}'."
            ),
        )
    }

    /// 400 for an identity that matches more than one object.
    pub fn ambiguous(object: &str) -> Self {
        Self::task(
            "Ex0EDFD3",
            "Microsoft.Exchange.Configuration.Tasks.ManagementObjectAmbiguousException",
            format!(
                "The operation couldn't be performed because '{object}' matches multiple entries."
            ),
        )
    }

    /// 400 for a documented parameter this sandbox does not emulate.
    pub fn not_emulated(cmdlet: &str, parameter: &str) -> Self {
        Self::failure(
            StatusCode::BAD_REQUEST,
            "BadRequest",
            format!(
                "|Microsoft.Exchange.Sandbox.NotEmulatedException|The sandbox tenant does not emulate the '{parameter}' parameter of {cmdlet} (Exchange Online documents it); use only the parameters the sandbox emulates."
            ),
        )
    }

    /// An error of the request itself (not of a cmdlet), without details.
    pub fn request(status: StatusCode, code: &str, message: impl Into<String>) -> Self {
        ExoError {
            status,
            code: code.into(),
            message: message.into(),
            detail: None,
            headers: Vec::new(),
        }
    }

    pub fn into_reply(self) -> Reply {
        let mut error = Map::new();
        error.insert("code".into(), json!(self.code));
        error.insert("message".into(), json!(self.message));
        if let Some(d) = &self.detail {
            error.insert(
                "details".into(),
                json!([{"code": "Client", "target": "", "message": d}]),
            );
            error.insert(
                "innererror".into(),
                json!({
                    "message": self.message,
                    "type": "Microsoft.Exchange.Admin.OData.Core.ODataServiceException",
                    "internalexception": {
                        "message": "Exception of type 'Microsoft.Exchange.Management.PSDirectInvoke.DirectInvokeCmdletExecutionException' was thrown.",
                        "type": "Microsoft.Exchange.Management.PSDirectInvoke.DirectInvokeCmdletExecutionException",
                    },
                }),
            );
            error.insert(
                "adminapi.warnings@odata.type".into(),
                json!("#Collection(String)"),
            );
            error.insert("@adminapi.warnings".into(), json!([]));
        }
        let mut reply = Reply::json(self.status, json!({ "error": error }));
        reply.headers.extend(self.headers);
        reply
    }
}

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
    if let crate::errors::ReplyBody::Json(_) = reply.body {
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
        reply.body = crate::errors::ReplyBody::Json(json!({
            "error": {"code": code, "message": message}
        }));
    }
    Some(reply)
}

/// One cmdlet call in progress.
pub(crate) struct Call<'a> {
    pub app: &'a App,
    pub ctx: &'a Ctx,
    /// Warnings to return in `@adminapi.warnings`.
    pub warnings: Vec<String>,
}

impl Call<'_> {
    pub fn read<R>(&self, f: impl FnOnce(&Tenant) -> R) -> R {
        self.app.store.read(f)
    }

    /// Runs `f` on a copy of the tenant and keeps (and persists) it only if `f` succeeds.
    pub fn mutate<R>(
        &self,
        f: impl FnOnce(&mut Tenant) -> Result<R, ExoError>,
    ) -> Result<R, ExoError> {
        let mut failure = None;
        let out = self.app.store.mutate(|t| {
            f(t).map_err(|e| {
                failure = Some(e);
                GraphError::odata("cmdlet failed")
            })
        });
        out.map_err(|g| {
            failure.unwrap_or_else(|| {
                ExoError::request(
                    StatusCode::INTERNAL_SERVER_ERROR,
                    "InternalServerError",
                    g.message,
                )
            })
        })
    }

    /// The warning Exchange gives when a Set- cmdlet changes nothing.
    pub fn nothing_modified(&mut self, identity: &str) {
        self.warnings.push(format!(
            "The command completed successfully but no settings of '{identity}' have been modified."
        ));
    }
}

type Run = fn(&mut Call, &Bound) -> Result<Vec<Value>, ExoError>;

/// An emulated cmdlet: its name, the parameters it emulates and its implementation.
pub(crate) struct Cmdlet {
    pub name: &'static str,
    pub params: &'static [Param],
    pub run: Run,
}

fn cmdlets() -> impl Iterator<Item = &'static Cmdlet> {
    mailbox::CMDLETS
        .iter()
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

/// Entry for `/adminapi/...` (the segments after `adminapi`).
#[allow(clippy::too_many_arguments)]
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
        Ok(claims) => {
            if !claims.has_any(&["Exchange.ManageAsApp", "Exchange.ManageAsAppV2"]) {
                return unauthorized(
                    app,
                    "The token has no Exchange.ManageAsApp role: grant the app the Office 365 Exchange Online application permission Exchange.ManageAsApp and consent to it.",
                    "insufficient_claims",
                );
            }
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
    let result = route(app, ctx, method, rest, query, headers, body);
    result.unwrap_or_else(ExoError::into_reply)
}

fn not_found_path() -> ExoError {
    ExoError::request(
        StatusCode::NOT_FOUND,
        "NotFound",
        "The requested resource was not found. The sandbox serves only POST /adminapi/beta/{tenant}/InvokeCommand.",
    )
}

fn route(
    app: &App,
    ctx: &Ctx,
    method: &Method,
    rest: &[String],
    query: Option<&str>,
    headers: &HeaderMap,
    body: &[u8],
) -> Result<Reply, ExoError> {
    let [version, tenant, op] = rest else {
        return Err(not_found_path());
    };
    if !op.eq_ignore_ascii_case("InvokeCommand") {
        return Err(not_found_path());
    }
    if version.eq_ignore_ascii_case("v1.0") {
        // Only `beta` answers InvokeCommand; v1.0 serves the module's REST-backed Get-EXO* cmdlets.
        return Err(ExoError::request(
            StatusCode::METHOD_NOT_ALLOWED,
            "MethodNotAllowed",
            "InvokeCommand is available only under /adminapi/beta.",
        ));
    }
    if !version.eq_ignore_ascii_case("beta") {
        return Err(not_found_path());
    }
    let known = tenant.eq_ignore_ascii_case(&app.reg.tenant_id)
        || app.store.read(|t| t.is_verified_domain(tenant));
    if !known {
        return Err(ExoError::request(
            StatusCode::NOT_FOUND,
            "NotFound",
            format!(
                "The tenant '{tenant}' wasn't found. Use the tenant's id or one of its verified domains."
            ),
        ));
    }
    if *method != Method::POST {
        return Err(ExoError::request(
            StatusCode::METHOD_NOT_ALLOWED,
            "MethodNotAllowed",
            format!("The HTTP method '{method}' is not allowed for InvokeCommand; use POST."),
        ));
    }
    let input: Value = serde_json::from_slice(body).map_err(|e| {
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
    let Some(cmdlet) = cmdlets().find(|c| c.name.eq_ignore_ascii_case(name.trim())) else {
        return Err(ExoError::failure(
            StatusCode::BAD_REQUEST,
            "BadRequest",
            format!(
                "|System.Management.Automation.CommandNotFoundException|The term '{name}' is not recognized as the name of a cmdlet, function, script file, or operable program. Check the spelling of the name, or if a path was included, verify that the path is correct and try again."
            ),
        ));
    };
    let bound = bind(cmdlet.name, cmdlet.params, parameters)?;
    let mut call = Call {
        app,
        ctx,
        warnings: Vec::new(),
    };
    let value = (cmdlet.run)(&mut call, &bound)?;
    Ok(page(app, tenant, query, headers, value, call.warnings))
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
        .map(|q| crate::graph::Query::parse(Some(q)))
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

/// A GUID derived from `seed`: stable for the same seed.
pub(crate) fn derived_guid(seed: &str) -> String {
    let digest = openssl::hash::hash(openssl::hash::MessageDigest::sha256(), seed.as_bytes())
        .map(|d| d.to_vec())
        .unwrap_or_else(|_| vec![0; 32]);
    let mut bytes = [0u8; 16];
    bytes.copy_from_slice(&digest[..16]);
    uuid::Builder::from_random_bytes(bytes)
        .into_uuid()
        .to_string()
}

/// A size as Exchange shows it: `35 MB (36,700,160 bytes)`.
pub(crate) fn size_text(bytes: u64) -> String {
    const UNITS: &[(&str, u64)] = &[("GB", 1 << 30), ("MB", 1 << 20), ("KB", 1 << 10)];
    let grouped = {
        let s = bytes.to_string();
        let mut out = String::new();
        for (i, c) in s.chars().enumerate() {
            if i > 0 && (s.len() - i).is_multiple_of(3) {
                out.push(',');
            }
            out.push(c);
        }
        out
    };
    for (unit, size) in UNITS {
        if bytes >= *size {
            let whole = bytes as f64 / *size as f64;
            let shown = if (whole.fract()).abs() < f64::EPSILON {
                format!("{whole:.0}")
            } else {
                format!("{whole:.1}")
            };
            return format!("{shown} {unit} ({grouped} bytes)");
        }
    }
    format!("{bytes} B ({grouped} bytes)")
}
