//! Access tokens: the HS256 JWTs the token endpoint issues (Entra's claims, signed with a
//! per-process key), and their validation for Graph and Exchange Online (signature, audience,
//! tenant, lifetime). App roles belong to one resource: a Graph token carries the Graph
//! permissions, an Exchange token the Exchange Online ones.

use base64::Engine;
use base64::engine::general_purpose::{STANDARD, STANDARD_NO_PAD, URL_SAFE, URL_SAFE_NO_PAD};
use http::StatusCode;
use openssl::hash::MessageDigest;
use openssl::pkey::PKey;
use openssl::sign::Signer;
use serde_json::{Value, json};
use time::OffsetDateTime;

use crate::app::App;
use crate::tenant::ids::derived_guid;
use crate::web::GraphError;

pub(crate) const GRAPH_AUDIENCE: &str = "https://graph.microsoft.com";
pub(crate) const OUTLOOK_AUDIENCE: &str = "https://outlook.office365.com";
pub(crate) const GRAPH_APP_ID: &str = "00000003-0000-0000-c000-000000000000";
/// The Exchange Online resource's app id (an accepted `aud` besides its URI).
pub(crate) const EXCHANGE_APP_ID: &str = "00000002-0000-0ff1-ce00-000000000000";
/// The app roles the "Office 365 Exchange Online" resource defines that the sandbox knows.
pub(crate) const EXCHANGE_ROLES: &[&str] = &[
    "Exchange.ManageAsApp",
    "Exchange.ManageAsAppV2",
    "full_access_as_app",
];
/// Decodes base64 in any of the alphabets/paddings clients use.
pub(crate) fn b64(s: &str) -> Option<Vec<u8>> {
    let s = s.trim();
    [URL_SAFE_NO_PAD, URL_SAFE, STANDARD, STANDARD_NO_PAD]
        .iter()
        .find_map(|engine| engine.decode(s).ok())
}

pub(crate) fn b64_json(s: &str) -> Option<Value> {
    serde_json::from_slice(&b64(s)?).ok()
}

pub(crate) fn hmac(key: &[u8], data: &[u8]) -> Vec<u8> {
    PKey::hmac(key)
        .and_then(|k| Signer::new(MessageDigest::sha256(), &k)?.sign_oneshot_to_vec(data))
        .unwrap_or_default()
}

/// The app roles a token for `audience` carries: app roles belong to one resource, so a Graph
/// token has the Graph permissions and an Exchange token the Exchange Online ones.
fn roles_for(roles: &[String], audience: &str) -> Vec<String> {
    let exchange = audience.eq_ignore_ascii_case(OUTLOOK_AUDIENCE);
    roles
        .iter()
        .filter(|r| EXCHANGE_ROLES.iter().any(|e| e.eq_ignore_ascii_case(r)) == exchange)
        .cloned()
        .collect()
}

/// Issues an access token for `audience`.
pub(crate) fn mint(
    app: &App,
    audience: &str,
    acr: &str,
    now: OffsetDateTime,
    lifetime: i64,
) -> String {
    let iat = now.unix_timestamp();
    // The service principal's object id: stable for a client id.
    let oid = derived_guid(&app.reg.client_id);
    let header = json!({"typ": "JWT", "alg": "HS256", "kid": "m365-sandbox"});
    let claims = json!({
        "aud": audience,
        "iss": format!("https://sts.windows.net/{}/", app.reg.tenant_id),
        "iat": iat,
        "nbf": iat,
        "exp": iat + lifetime,
        "app_displayname": "m365-admin",
        "appid": app.reg.client_id,
        "appidacr": acr,
        "idp": format!("https://sts.windows.net/{}/", app.reg.tenant_id),
        "idtyp": "app",
        "oid": oid,
        "roles": roles_for(&app.reg.roles, audience),
        "sub": oid,
        "tid": app.reg.tenant_id,
        "uti": uuid::Uuid::new_v4().simple().to_string(),
        "ver": "1.0",
    });
    let enc = |v: &Value| URL_SAFE_NO_PAD.encode(serde_json::to_vec(v).unwrap_or_default());
    let input = format!("{}.{}", enc(&header), enc(&claims));
    let sig = URL_SAFE_NO_PAD.encode(hmac(&app.token_key, input.as_bytes()));
    format!("{input}.{sig}")
}

/// What a Graph handler needs from a validated token.
#[derive(Debug, Clone)]
pub(crate) struct Claims {
    pub roles: Vec<String>,
}

impl Claims {
    /// Whether any of `roles` was granted.
    pub fn has_any(&self, roles: &[&str]) -> bool {
        self.roles
            .iter()
            .any(|r| roles.iter().any(|want| r.eq_ignore_ascii_case(want)))
    }
}

fn unauthorized(message: &str) -> GraphError {
    GraphError::new(
        StatusCode::UNAUTHORIZED,
        "InvalidAuthenticationToken",
        message,
    )
}

/// Why a bearer token was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum TokenProblem {
    Empty,
    Malformed,
    Signature,
    Audience,
    Issuer,
    Expired,
}

/// Validates `Authorization: Bearer …`: signature, one of `audiences`, tenant, lifetime.
fn validate(
    app: &App,
    authorization: Option<&str>,
    now: OffsetDateTime,
    audiences: &[&str],
) -> Result<Claims, TokenProblem> {
    let token = authorization
        .map(str::trim)
        .and_then(|v| {
            let (scheme, rest) = v.split_once(' ')?;
            scheme.eq_ignore_ascii_case("bearer").then(|| rest.trim())
        })
        .filter(|t| !t.is_empty())
        .ok_or(TokenProblem::Empty)?;
    let parts: Vec<&str> = token.split('.').collect();
    let [h, p, s] = parts.as_slice() else {
        return Err(TokenProblem::Malformed);
    };
    let payload = b64_json(p).ok_or(TokenProblem::Malformed)?;
    b64_json(h).ok_or(TokenProblem::Malformed)?;
    let sig = URL_SAFE_NO_PAD
        .decode(s)
        .map_err(|_| TokenProblem::Malformed)?;
    let expected = hmac(&app.token_key, format!("{h}.{p}").as_bytes());
    if sig.len() != expected.len() || !openssl::memcmp::eq(&sig, &expected) {
        return Err(TokenProblem::Signature);
    }
    let aud = payload
        .get("aud")
        .and_then(Value::as_str)
        .unwrap_or_default();
    if !audiences.iter().any(|a| aud.eq_ignore_ascii_case(a)) {
        return Err(TokenProblem::Audience);
    }
    let tid = payload
        .get("tid")
        .and_then(Value::as_str)
        .unwrap_or_default();
    if !tid.eq_ignore_ascii_case(&app.reg.tenant_id) {
        return Err(TokenProblem::Issuer);
    }
    let exp = payload.get("exp").and_then(Value::as_i64).unwrap_or(0);
    if now.unix_timestamp() >= exp {
        return Err(TokenProblem::Expired);
    }
    let roles = payload
        .get("roles")
        .and_then(Value::as_array)
        .map(|r| {
            r.iter()
                .filter_map(Value::as_str)
                .map(String::from)
                .collect()
        })
        .unwrap_or_default();
    Ok(Claims { roles })
}

/// Validates `Authorization: Bearer …` for Graph, with Graph's messages.
pub(crate) fn verify_graph_token(
    app: &App,
    authorization: Option<&str>,
    now: OffsetDateTime,
) -> Result<Claims, GraphError> {
    validate(app, authorization, now, &[GRAPH_AUDIENCE, GRAPH_APP_ID]).map_err(|p| {
        unauthorized(match p {
            TokenProblem::Empty => "Access token is empty.",
            TokenProblem::Malformed => "CompactToken parsing failed with error code: 80049217",
            TokenProblem::Signature => "Access token validation failure.",
            TokenProblem::Audience => "Access token validation failure. Invalid audience.",
            TokenProblem::Issuer => "Access token validation failure. Invalid issuer.",
            TokenProblem::Expired => "Lifetime validation failed, the token is expired.",
        })
    })
}

/// Validates `Authorization: Bearer …` for Exchange Online (audience
/// `https://outlook.office365.com`).
pub(crate) fn verify_exchange_token(
    app: &App,
    authorization: Option<&str>,
    now: OffsetDateTime,
) -> Result<Claims, TokenProblem> {
    validate(
        app,
        authorization,
        now,
        &[OUTLOOK_AUDIENCE, EXCHANGE_APP_ID],
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn roles_follow_the_resource() {
        let roles: Vec<String> = ["User.ReadWrite.All", "Exchange.ManageAsApp", "Mail.Send"]
            .iter()
            .map(|s| s.to_string())
            .collect();
        assert_eq!(
            roles_for(&roles, GRAPH_AUDIENCE),
            vec!["User.ReadWrite.All", "Mail.Send"]
        );
        assert_eq!(
            roles_for(&roles, OUTLOOK_AUDIENCE),
            vec!["Exchange.ManageAsApp"]
        );
    }

    #[test]
    fn base64_variants() {
        let raw = [0xfbu8, 0xff, 0x01];
        for s in ["-_8B", "+/8B", "-_8B", "+/8B"] {
            assert_eq!(b64(s).unwrap(), raw, "{s}");
        }
    }
}
