//! The Entra v2.0 token endpoint (`POST /{tenant}/oauth2/v2.0/token`, the client-credentials
//! grant with a client secret or a certificate-signed client assertion) and the tenant's
//! OpenID configuration. The tokens it issues are `auth`'s. Secrets and assertions are never
//! logged or echoed.

use http::{Method, StatusCode};
use openssl::hash::{MessageDigest, hash};
use openssl::pkey::{PKey, Public};
use openssl::rsa::Padding;
use openssl::sign::{RsaPssSaltlen, Verifier};
use serde_json::{Value, json};
use time::OffsetDateTime;

use crate::app::App;
use crate::auth::{GRAPH_AUDIENCE, OUTLOOK_AUDIENCE, b64, b64_json, mint};
use crate::web::reply::entra_error;
use crate::web::router::{Lookup, Params, Route, Verb, find, knows};
use crate::web::{Ctx, Reply};

const JWT_BEARER: &str = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer";
/// Clock skew Entra tolerates on assertion `nbf`/`exp`.
const SKEW_SECS: i64 = 300;

/// A failed token request, in Entra's terms.
struct EntraError {
    status: StatusCode,
    error: &'static str,
    code: u32,
    description: String,
}

fn entra(
    status: StatusCode,
    error: &'static str,
    code: u32,
    description: impl Into<String>,
) -> EntraError {
    EntraError {
        status,
        error,
        code,
        description: description.into(),
    }
}

fn missing(param: &str) -> EntraError {
    entra(
        StatusCode::BAD_REQUEST,
        "invalid_request",
        900144,
        format!("The request body must contain the following parameter: '{param}'."),
    )
}

fn bad_assertion(code: u32, description: impl Into<String>) -> EntraError {
    entra(
        StatusCode::UNAUTHORIZED,
        "invalid_client",
        code,
        description,
    )
}

/// What a route's handler is given.
struct Req<'a> {
    app: &'a App,
    ctx: &'a Ctx,
    body: &'a [u8],
    params: Params<'a>,
}

type Handler = fn(&Req) -> Reply;

/// The token endpoint's routes (below the authority host).
static ROUTES: &[Route<(), Handler>] = &[
    Route::new(Verb::Post, "{tenant}/oauth2/v2.0/token", (), |r| {
        issue(r.app, r.ctx, r.params.get("tenant"), r.body)
            .unwrap_or_else(|e| entra_error(r.ctx, e.status, e.error, e.code, &e.description))
    }),
    Route::new(
        Verb::Any,
        "{tenant}/v2.0/.well-known/openid-configuration",
        (),
        |r| openid_configuration(r.app, r.ctx, r.params.get("tenant")),
    ),
];

/// Whether a path is one of the token endpoint's.
pub(crate) fn serves(segs: &[String]) -> bool {
    let segs: Vec<&str> = segs.iter().map(String::as_str).collect();
    knows(ROUTES, &segs)
}

/// Entry for the token endpoint and the OpenID configuration (a path [`serves`] accepts).
pub(crate) fn handle(app: &App, ctx: &Ctx, method: &Method, segs: &[String], body: &[u8]) -> Reply {
    let s: Vec<&str> = segs.iter().map(String::as_str).collect();
    match find(ROUTES, method, &s) {
        Lookup::Route(route, params) => (route.handler)(&Req {
            app,
            ctx,
            body,
            params,
        }),
        Lookup::MethodNotAllowed | Lookup::NotFound { .. } => entra_error(
            ctx,
            StatusCode::BAD_REQUEST,
            "invalid_request",
            900561,
            &format!(
                "The endpoint only accepts POST, OPTIONS requests. Received a {method} request."
            ),
        ),
    }
}

fn known_tenant(app: &App, tenant: &str) -> bool {
    tenant.eq_ignore_ascii_case(&app.reg.tenant_id)
        || app.store.read(|t| t.is_verified_domain(tenant))
}

/// `POST /{tenant}/oauth2/v2.0/token`: an access token for the client-credentials grant.
fn issue(app: &App, ctx: &Ctx, tenant: &str, body: &[u8]) -> Result<Reply, EntraError> {
    if !known_tenant(app, tenant) {
        return Err(entra(
            StatusCode::BAD_REQUEST,
            "invalid_request",
            90002,
            format!(
                "Tenant '{tenant}' not found. Check to make sure you have the correct tenant ID and are signing into the correct cloud. Check with your subscription administrator, this may happen if there are no active subscriptions for the tenant."
            ),
        ));
    }
    let form: Vec<(String, String)> = url::form_urlencoded::parse(body).into_owned().collect();
    let param = |name: &str| {
        form.iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
            .filter(|v| !v.is_empty())
    };

    let grant = param("grant_type").ok_or_else(|| missing("grant_type"))?;
    if grant != "client_credentials" {
        return Err(entra(
            StatusCode::BAD_REQUEST,
            "unsupported_grant_type",
            70003,
            format!("The app requested an unsupported grant type '{grant}'."),
        ));
    }
    let client_id = param("client_id").ok_or_else(|| missing("client_id"))?;
    if !client_id.eq_ignore_ascii_case(&app.reg.client_id) {
        let tenant_name = app.store.read(|t| t.display_name.clone());
        return Err(entra(
            StatusCode::BAD_REQUEST,
            "unauthorized_client",
            700016,
            format!(
                "Application with identifier '{client_id}' was not found in the directory '{tenant_name}'. This can happen if the application has not been installed by the administrator of the tenant or consented to by any user in the tenant. You may have sent your authentication request to the wrong tenant."
            ),
        ));
    }
    let scope = param("scope").ok_or_else(|| missing("scope"))?;
    let audience = audience_for_scope(scope)
        .map_err(|(code, error, msg)| entra(StatusCode::BAD_REQUEST, error, code, msg))?;

    let now = ctx.now;
    let assertion_type = param("client_assertion_type");
    let acr = match (param("client_secret"), param("client_assertion")) {
        (Some(secret), None) => {
            let ok = app
                .reg
                .client_secret
                .as_deref()
                .is_some_and(|expected| secrets_equal(secret, expected));
            if !ok {
                return Err(entra(
                    StatusCode::UNAUTHORIZED,
                    "invalid_client",
                    7000215,
                    format!(
                        "Invalid client secret provided. Ensure the secret being sent in the request is the client secret value, not the client secret ID, for a secret added to app '{client_id}'."
                    ),
                ));
            }
            "1"
        }
        (None, Some(assertion)) => {
            match assertion_type {
                None => return Err(missing("client_assertion_type")),
                Some(JWT_BEARER) => {}
                Some(other) => {
                    return Err(entra(
                        StatusCode::BAD_REQUEST,
                        "invalid_request",
                        50027,
                        format!(
                            "Invalid client_assertion_type '{other}'; expected '{JWT_BEARER}'."
                        ),
                    ));
                }
            }
            verify_assertion(app, tenant, client_id, assertion, now)?;
            "2"
        }
        (Some(_), Some(_)) => {
            return Err(entra(
                StatusCode::BAD_REQUEST,
                "invalid_request",
                90068,
                "The request contains both 'client_secret' and 'client_assertion'; send only one.",
            ));
        }
        (None, None) => {
            return Err(entra(
                StatusCode::UNAUTHORIZED,
                "invalid_client",
                7000218,
                "The request body must contain the following parameter: 'client_assertion' or 'client_secret'.",
            ));
        }
    };

    let lifetime = i64::try_from(app.tuning().token_lifetime.as_secs()).unwrap_or(3599);
    let token = mint(app, audience, acr, now, lifetime);
    Ok(Reply::ok(json!({
        "token_type": "Bearer",
        "expires_in": lifetime,
        "ext_expires_in": lifetime,
        "access_token": token,
    })))
}

/// Maps a client-credentials scope to the resource (audience) it names.
fn audience_for_scope(scope: &str) -> Result<&'static str, (u32, &'static str, String)> {
    let scope = scope.trim();
    let Some(resource) = scope.strip_suffix("/.default") else {
        return Err((
            1002012,
            "invalid_scope",
            format!(
                "The provided value for scope {scope} is not valid. Client credential flows must have a scope value with /.default suffixed to the resource identifier (application ID URI)."
            ),
        ));
    };
    match resource.trim_end_matches('/') {
        r if r.eq_ignore_ascii_case(GRAPH_AUDIENCE) => Ok(GRAPH_AUDIENCE),
        r if r.eq_ignore_ascii_case(OUTLOOK_AUDIENCE) => Ok(OUTLOOK_AUDIENCE),
        r => Err((
            500011,
            "invalid_resource",
            format!(
                "The resource principal named {r} was not found in the tenant. This can happen if the application has not been installed by the administrator of the tenant or consented to by any user in the tenant. You might have sent your authentication request to the wrong tenant."
            ),
        )),
    }
}

fn secrets_equal(given: &str, expected: &str) -> bool {
    let a = hash(MessageDigest::sha256(), given.as_bytes());
    let b = hash(MessageDigest::sha256(), expected.as_bytes());
    matches!((a, b), (Ok(a), Ok(b)) if openssl::memcmp::eq(&a, &b))
}

/// Checks a client assertion as Entra does: registered thumbprint, RS256/PS256 signature,
/// audience = this token endpoint, issuer = subject = client id, and its validity window.
fn verify_assertion(
    app: &App,
    tenant: &str,
    client_id: &str,
    assertion: &str,
    now: OffsetDateTime,
) -> Result<(), EntraError> {
    let malformed = || {
        bad_assertion(
            700027,
            "Client assertion contains an invalid signature or is not a well-formed JWT.",
        )
    };
    let parts: Vec<&str> = assertion.split('.').collect();
    let [h, p, s] = parts.as_slice() else {
        return Err(malformed());
    };
    let header = b64_json(h).ok_or_else(malformed)?;
    let payload = b64_json(p).ok_or_else(malformed)?;
    let signature = b64(s).ok_or_else(malformed)?;

    let Some(cert) = &app.cert else {
        return Err(bad_assertion(
            700027,
            "The certificate with identifier used to sign the client assertion is not registered on application. [Reason - No certificate is registered on the application.]",
        ));
    };
    let thumb_ok = match (
        header.get("x5t#S256").and_then(Value::as_str),
        header.get("x5t").and_then(Value::as_str),
    ) {
        (Some(t), _) => b64(t).is_some_and(|t| t == cert.sha256),
        (None, Some(t)) => b64(t).is_some_and(|t| t == cert.sha1),
        (None, None) => false,
    };
    if !thumb_ok {
        return Err(bad_assertion(
            700027,
            "The certificate with identifier used to sign the client assertion is not registered on application. [Reason - The key was not found.]",
        ));
    }
    let signing_input = format!("{h}.{p}");
    let verified = match header.get("alg").and_then(Value::as_str) {
        Some("RS256") => verify_rsa(&cert.key, false, signing_input.as_bytes(), &signature),
        Some("PS256") => verify_rsa(&cert.key, true, signing_input.as_bytes(), &signature),
        _ => false,
    };
    if !verified {
        return Err(bad_assertion(
            700027,
            "Client assertion failed signature validation.",
        ));
    }

    let expected_aud = [
        format!("{}{tenant}/oauth2/v2.0/token", app.base_url),
        format!("{}{}/oauth2/v2.0/token", app.base_url, app.reg.tenant_id),
        format!("{}{tenant}/v2.0", app.base_url),
    ];
    let aud_ok = match payload.get("aud") {
        Some(Value::String(a)) => expected_aud.iter().any(|e| e.eq_ignore_ascii_case(a)),
        Some(Value::Array(list)) => list
            .iter()
            .filter_map(Value::as_str)
            .any(|a| expected_aud.iter().any(|e| e.eq_ignore_ascii_case(a))),
        _ => false,
    };
    if !aud_ok {
        return Err(bad_assertion(
            700027,
            "Client assertion contains an invalid audience claim; it must be the token endpoint URL.",
        ));
    }
    let claim = |name: &str| payload.get(name).and_then(Value::as_str);
    if claim("iss") != Some(client_id) || claim("sub") != Some(client_id) {
        return Err(bad_assertion(
            700021,
            "Client assertion application identifier doesn't match 'client_id' parameter.",
        ));
    }
    let now_s = now.unix_timestamp();
    let exp = payload.get("exp").and_then(Value::as_i64);
    let nbf = payload.get("nbf").and_then(Value::as_i64);
    let in_window =
        exp.is_some_and(|e| now_s < e + SKEW_SECS) && nbf.is_none_or(|n| n <= now_s + SKEW_SECS);
    if !in_window {
        return Err(bad_assertion(
            700024,
            format!(
                "Client assertion is not within its valid time range. Current time: {now_s}, assertion valid from {}, expiry time of assertion {}.",
                nbf.map_or("-".into(), |n| n.to_string()),
                exp.map_or("-".into(), |e| e.to_string())
            ),
        ));
    }
    Ok(())
}

fn verify_rsa(key: &PKey<Public>, pss: bool, data: &[u8], sig: &[u8]) -> bool {
    let Ok(mut v) = Verifier::new(MessageDigest::sha256(), key) else {
        return false;
    };
    if pss
        && (v.set_rsa_padding(Padding::PKCS1_PSS).is_err()
            || v.set_rsa_pss_saltlen(RsaPssSaltlen::DIGEST_LENGTH).is_err())
    {
        return false;
    }
    v.update(data).is_ok() && v.verify(sig).unwrap_or(false)
}

/// `GET /{tenant}/v2.0/.well-known/openid-configuration`.
fn openid_configuration(app: &App, ctx: &Ctx, tenant: &str) -> Reply {
    if !known_tenant(app, tenant) {
        return entra_error(
            ctx,
            StatusCode::BAD_REQUEST,
            "invalid_tenant",
            90002,
            &format!("Tenant '{tenant}' not found."),
        );
    }
    let base = &app.base_url;
    let tid = &app.reg.tenant_id;
    Reply::ok(json!({
        "token_endpoint": format!("{base}{tid}/oauth2/v2.0/token"),
        "token_endpoint_auth_methods_supported": ["client_secret_post", "private_key_jwt", "client_secret_basic"],
        "jwks_uri": format!("{base}{tid}/discovery/v2.0/keys"),
        "response_types_supported": ["code", "id_token", "code id_token", "id_token token"],
        "subject_types_supported": ["pairwise"],
        "id_token_signing_alg_values_supported": ["RS256"],
        "issuer": format!("{base}{tid}/v2.0"),
        "authorization_endpoint": format!("{base}{tid}/oauth2/v2.0/authorize"),
        "tenant_region_scope": "NA",
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scopes() {
        assert_eq!(
            audience_for_scope("https://graph.microsoft.com/.default").unwrap(),
            GRAPH_AUDIENCE
        );
        assert_eq!(
            audience_for_scope("https://outlook.office365.com/.default").unwrap(),
            OUTLOOK_AUDIENCE
        );
        assert_eq!(
            audience_for_scope("https://graph.microsoft.com/User.Read")
                .unwrap_err()
                .0,
            1002012
        );
        assert_eq!(
            audience_for_scope("https://example.com/.default")
                .unwrap_err()
                .0,
            500011
        );
    }

    #[test]
    fn constant_time_secret_compare() {
        assert!(secrets_equal("abc", "abc"));
        assert!(!secrets_equal("abc", "abd"));
        assert!(!secrets_equal("", "abc"));
    }
}
