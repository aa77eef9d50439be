//! `users`: create, read (with `$select`), list (with `$filter`, `$top` and `$skiptoken`
//! paging), update and delete, with the directory's validation rules and error messages.
//!
//! `signInActivity` is returned only when `$select` names it, needs `AuditLog.Read.All`
//! besides a user-read permission, and a tenant with Microsoft Entra ID P1 or P2; without
//! one Graph answers 403 `Authentication_RequestFromNonPremiumTenantOrB2CTenant`, "Neither
//! tenant is B2C or tenant doesn't have premium license" (Graph known issues; Entra
//! troubleshooting). Microsoft shows the body only; the 403 is community-observed.

use http::StatusCode;
use serde_json::{Map, Value, json};

use super::odata::json_object;
use crate::app::App;
use crate::auth::Claims;
use crate::tenant::{Tenant, User};
use crate::web::paging::page;
use crate::web::query::{Query, matches, parse_filter};
use crate::web::time::rfc3339;
use crate::web::{Ctx, GraphError, GraphResult, Reply};

/// What Graph returns when no `$select` is given.
const DEFAULT_SELECT: &[&str] = &[
    "businessPhones",
    "displayName",
    "givenName",
    "id",
    "jobTitle",
    "mail",
    "mobilePhone",
    "officeLocation",
    "preferredLanguage",
    "surname",
    "userPrincipalName",
];

/// Every property the sandbox can return.
const SELECTABLE: &[&str] = &[
    "accountEnabled",
    "assignedLicenses",
    "businessPhones",
    "city",
    "companyName",
    "country",
    "createdDateTime",
    "creationType",
    "department",
    "displayName",
    "employeeId",
    "externalUserState",
    "externalUserStateChangeDateTime",
    "givenName",
    "id",
    "jobTitle",
    "mail",
    "mailNickname",
    "mobilePhone",
    "officeLocation",
    "otherMails",
    "postalCode",
    "preferredLanguage",
    "proxyAddresses",
    "state",
    "streetAddress",
    "surname",
    "usageLocation",
    "userPrincipalName",
    "userType",
];

const FILTER_EQ: &[&str] = &[
    "id",
    "userPrincipalName",
    "mail",
    "displayName",
    "department",
    "accountEnabled",
    "givenName",
    "surname",
    "jobTitle",
    "mailNickname",
    "usageLocation",
    "userType",
];
const FILTER_STARTSWITH: &[&str] = &[
    "displayName",
    "userPrincipalName",
    "givenName",
    "surname",
    "mail",
    "mailNickname",
];

/// How a writable property is validated.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Kind {
    /// A string of at most this many characters.
    Str(usize),
    Bool,
    StrList,
    Upn,
    MailNickname,
    UsageLocation,
    UserType,
}

const WRITABLE: &[(&str, Kind)] = &[
    ("accountEnabled", Kind::Bool),
    ("businessPhones", Kind::StrList),
    ("city", Kind::Str(128)),
    ("companyName", Kind::Str(64)),
    ("country", Kind::Str(128)),
    ("department", Kind::Str(64)),
    ("displayName", Kind::Str(256)),
    ("employeeId", Kind::Str(16)),
    ("givenName", Kind::Str(64)),
    ("jobTitle", Kind::Str(128)),
    ("mail", Kind::Str(256)),
    ("mailNickname", Kind::MailNickname),
    ("mobilePhone", Kind::Str(64)),
    ("officeLocation", Kind::Str(128)),
    ("otherMails", Kind::StrList),
    ("postalCode", Kind::Str(40)),
    ("preferredLanguage", Kind::Str(16)),
    ("state", Kind::Str(128)),
    ("streetAddress", Kind::Str(1024)),
    ("surname", Kind::Str(64)),
    ("usageLocation", Kind::UsageLocation),
    ("userPrincipalName", Kind::Upn),
    ("userType", Kind::UserType),
];

const READ_ONLY: &[&str] = &[
    "id",
    "createdDateTime",
    "assignedLicenses",
    "assignedPlans",
    "proxyAddresses",
];

const REQUIRED_ON_CREATE: &[&str] = &[
    "accountEnabled",
    "displayName",
    "mailNickname",
    "userPrincipalName",
];

/// Returned only when `$select` names it (see the module's note).
const SIGN_IN_ACTIVITY: &str = "signInActivity";

/// The permissions that may read `signInActivity` (with a user-read permission).
const SIGN_IN_READ: &[&str] = &["AuditLog.Read.All"];

/// Refuses `signInActivity` to an app without `AuditLog.Read.All` or a tenant without P1.
fn check_sign_in_access(t: &Tenant, claims: &Claims) -> Result<(), GraphError> {
    if !claims.has_any(SIGN_IN_READ) {
        return Err(GraphError::forbidden());
    }
    if !t.has_entra_p1() {
        return Err(GraphError::new(
            StatusCode::FORBIDDEN,
            "Authentication_RequestFromNonPremiumTenantOrB2CTenant",
            "Neither tenant is B2C or tenant doesn't have premium license",
        ));
    }
    Ok(())
}

fn sign_in_json(u: &User) -> Value {
    let at = |t: Option<time::OffsetDateTime>| t.map(rfc3339);
    let request = |t: Option<time::OffsetDateTime>, kind: &str| {
        t.map(|t| {
            crate::tenant::ids::derived_guid(&format!("sign-in/{}/{kind}/{}", u.id, rfc3339(t)))
        })
    };
    let s = &u.sign_in;
    json!({
        "lastSignInDateTime": at(s.last_sign_in),
        "lastSignInRequestId": request(s.last_sign_in, "interactive"),
        "lastNonInteractiveSignInDateTime": at(s.last_non_interactive_sign_in),
        "lastNonInteractiveSignInRequestId": request(s.last_non_interactive_sign_in, "non-interactive"),
        "lastSuccessfulSignInDateTime": at(s.last_successful_sign_in),
        "lastSuccessfulSignInRequestId": request(s.last_successful_sign_in, "successful"),
    })
}

/// The user's Graph JSON with every property `select` names (`signInActivity` included).
fn selected_json(t: &Tenant, u: &User, select: &[&'static str]) -> Map<String, Value> {
    let mut full = full_json(t, u);
    if select.contains(&SIGN_IN_ACTIVITY) {
        full.insert(SIGN_IN_ACTIVITY.into(), sign_in_json(u));
    }
    project(&full, select)
}

/// The user as Graph represents it, with every selectable property.
pub(super) fn full_json(t: &Tenant, u: &User) -> Map<String, Value> {
    let mut out = Map::new();
    for name in SELECTABLE {
        let value = match *name {
            "id" => json!(u.id),
            "createdDateTime" => json!(rfc3339(u.created_date_time)),
            "assignedLicenses" => json!(
                u.assigned_licenses
                    .iter()
                    .map(|l| json!({"disabledPlans": l.disabled_plans, "skuId": l.sku_id}))
                    .collect::<Vec<_>>()
            ),
            "proxyAddresses" => match u.prop_str("mail") {
                Some(m) if t.has_exchange(u) || u.mailbox.is_some() => json!([format!("SMTP:{m}")]),
                _ => json!([]),
            },
            "businessPhones" | "otherMails" => u.props.get(*name).cloned().unwrap_or(json!([])),
            "userType" => u.props.get(*name).cloned().unwrap_or(json!("Member")),
            other => u.props.get(other).cloned().unwrap_or(Value::Null),
        };
        out.insert((*name).to_string(), value);
    }
    out
}

fn project(full: &Map<String, Value>, select: &[&'static str]) -> Map<String, Value> {
    select
        .iter()
        .map(|p| {
            (
                (*p).to_string(),
                full.get(*p).cloned().unwrap_or(Value::Null),
            )
        })
        .collect()
}

/// `$select`, canonicalised; `None` means the default set.
fn parse_select(q: &Query) -> Result<Option<Vec<&'static str>>, GraphError> {
    let Some(raw) = q.get("select") else {
        return Ok(None);
    };
    let mut out = Vec::new();
    for name in raw.split(',').map(str::trim).filter(|s| !s.is_empty()) {
        let canonical = SELECTABLE
            .iter()
            .chain(&[SIGN_IN_ACTIVITY])
            .find(|p| p.eq_ignore_ascii_case(name))
            .ok_or_else(|| {
                GraphError::odata(format!(
                    "Could not find a property named '{name}' on type 'microsoft.graph.user'."
                ))
            })?;
        if !out.contains(canonical) {
            out.push(*canonical);
        }
    }
    Ok(Some(out))
}

fn context(app: &App, select: Option<&[&str]>, entity: bool) -> String {
    let sel = select
        .map(|s| format!("({})", s.join(",")))
        .unwrap_or_default();
    let suffix = if entity { "/$entity" } else { "" };
    format!("{}$metadata#users{sel}{suffix}", app.graph_root())
}

/// The user (default properties) with its `@odata.context`, as POST and assignLicense return it.
pub(super) fn entity_reply(app: &App, t: &Tenant, u: &User, status: StatusCode) -> Reply {
    let mut body = Map::new();
    body.insert("@odata.context".into(), json!(context(app, None, true)));
    body.extend(project(&full_json(t, u), DEFAULT_SELECT));
    Reply::json(status, Value::Object(body))
}

pub(super) fn get(app: &App, claims: &Claims, key: &str, q: &Query) -> GraphResult {
    q.only(&["select"])?;
    let select = parse_select(q)?;
    let fields = select.as_deref().unwrap_or(DEFAULT_SELECT);
    app.store.read(|t| {
        let u = &t.users[t.find_user(key).ok_or_else(|| GraphError::not_found(key))?];
        if fields.contains(&SIGN_IN_ACTIVITY) {
            check_sign_in_access(t, claims)?;
        }
        let mut body = Map::new();
        body.insert(
            "@odata.context".into(),
            json!(context(app, select.as_deref(), true)),
        );
        body.extend(selected_json(t, u, fields));
        Ok(Reply::ok(Value::Object(body)))
    })
}

pub(super) fn list(app: &App, claims: &Claims, q: &Query) -> GraphResult {
    q.only(&["select", "filter", "top", "skiptoken"])?;
    let select = parse_select(q)?;
    let clauses = match q.get("filter") {
        Some(f) => parse_filter(f, "User", FILTER_EQ, FILTER_STARTSWITH)?,
        None => Vec::new(),
    };
    let fields = select.as_deref().unwrap_or(DEFAULT_SELECT);
    let all: Vec<Map<String, Value>> = app.store.read(|t| {
        if fields.contains(&SIGN_IN_ACTIVITY) {
            check_sign_in_access(t, claims)?;
        }
        Ok::<_, GraphError>(
            t.users
                .iter()
                .filter(|u| matches(&clauses, &Value::Object(full_json(t, u))))
                .map(|u| selected_json(t, u, fields))
                .collect(),
        )
    })?;
    page(
        &app.graph_root(),
        q,
        "users",
        context(app, select.as_deref(), false),
        all.into_iter().map(Value::Object).collect(),
    )
}

/// Entra's password rule: 8–256 characters from the allowed set, with 3 of lower, upper,
/// digit and symbol.
pub(crate) fn password_is_complex(p: &str) -> bool {
    const SYMBOLS: &str = "@#$%^&*-_!+=[]{}|\\:',.?/`~\"();<> ";
    let len = p.chars().count();
    if !(8..=256).contains(&len) {
        return false;
    }
    if !p
        .chars()
        .all(|c| c.is_ascii_alphanumeric() || SYMBOLS.contains(c))
    {
        return false;
    }
    let classes = [
        p.chars().any(|c| c.is_ascii_lowercase()),
        p.chars().any(|c| c.is_ascii_uppercase()),
        p.chars().any(|c| c.is_ascii_digit()),
        p.chars().any(|c| SYMBOLS.contains(c)),
    ];
    classes.iter().filter(|b| **b).count() >= 3
}

fn weak_password() -> GraphError {
    GraphError::bad_request(
        "The specified password does not comply with password complexity requirements. Please provide a different password.",
    )
}

fn valid_upn_local(local: &str) -> bool {
    !local.is_empty()
        && local.len() <= 64
        && !local.starts_with('.')
        && !local.ends_with('.')
        && local
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || ".-_'!#^~&".contains(c))
}

fn validate_value(name: &str, kind: Kind, v: &Value) -> Result<Value, GraphError> {
    let bad = || GraphError::invalid_property(name);
    if v.is_null() {
        return match kind {
            Kind::Upn | Kind::MailNickname | Kind::Bool => Err(bad()),
            _ => Ok(Value::Null),
        };
    }
    match kind {
        Kind::Bool => v.as_bool().map(Value::Bool).ok_or_else(bad),
        Kind::Str(max) => match v.as_str() {
            Some(s)
                if s.chars().count() <= max && !(name == "displayName" && s.trim().is_empty()) =>
            {
                Ok(json!(s))
            }
            _ => Err(bad()),
        },
        Kind::StrList => match v.as_array() {
            Some(items) if items.iter().all(Value::is_string) => Ok(v.clone()),
            _ => Err(bad()),
        },
        Kind::MailNickname => match v.as_str() {
            Some(s)
                if !s.is_empty()
                    && s.len() <= 64
                    && s.is_ascii()
                    && !s
                        .chars()
                        .any(|c| "@()\\[]\";:<>, ".contains(c) || c.is_control()) =>
            {
                Ok(json!(s))
            }
            _ => Err(bad()),
        },
        Kind::UsageLocation => match v.as_str() {
            Some(s) if s.len() == 2 && s.chars().all(|c| c.is_ascii_alphabetic()) => {
                Ok(json!(s.to_ascii_uppercase()))
            }
            _ => Err(bad()),
        },
        Kind::UserType => match v.as_str() {
            Some(s @ ("Member" | "Guest")) => Ok(json!(s)),
            _ => Err(bad()),
        },
        Kind::Upn => match v.as_str().and_then(|s| s.split_once('@')) {
            Some((local, domain))
                if valid_upn_local(local) && !domain.contains('@') && !domain.is_empty() =>
            {
                Ok(json!(format!("{local}@{}", domain.to_ascii_lowercase())))
            }
            _ => Err(bad()),
        },
    }
}

/// A validated create or update body.
struct UserInput {
    props: Map<String, Value>,
    password: Option<String>,
}

fn validate_input(body: &Map<String, Value>, creating: bool) -> Result<UserInput, GraphError> {
    let mut props = Map::new();
    let mut password = None;
    for (key, value) in body {
        if key.starts_with('@') || key.contains("@odata") {
            continue;
        }
        if key.eq_ignore_ascii_case("passwordProfile") {
            let Some(profile) = value.as_object() else {
                return Err(GraphError::invalid_property("passwordProfile"));
            };
            for (k, v) in profile {
                match k.as_str() {
                    "password" => match v.as_str() {
                        Some(p) => password = Some(p.to_string()),
                        None => return Err(GraphError::invalid_property("passwordProfile")),
                    },
                    "forceChangePasswordNextSignIn" | "forceChangePasswordNextSignInWithMfa" => {
                        if !v.is_boolean() {
                            return Err(GraphError::invalid_property("passwordProfile"));
                        }
                    }
                    other => {
                        return Err(GraphError::bad_request(format!(
                            "Invalid property '{other}'."
                        )));
                    }
                }
            }
            continue;
        }
        if let Some(ro) = READ_ONLY.iter().find(|p| p.eq_ignore_ascii_case(key)) {
            return Err(GraphError::bad_request(format!(
                "Property '{ro}' is read-only and cannot be set."
            )));
        }
        let Some((name, kind)) = WRITABLE.iter().find(|(n, _)| n.eq_ignore_ascii_case(key)) else {
            return Err(GraphError::bad_request(format!(
                "Invalid property '{key}'."
            )));
        };
        props.insert((*name).to_string(), validate_value(name, *kind, value)?);
    }
    if creating {
        for required in REQUIRED_ON_CREATE {
            if props.get(*required).is_none_or(Value::is_null) {
                return Err(GraphError::invalid_property(required));
            }
        }
        if password.is_none() {
            return Err(GraphError::invalid_property("passwordProfile"));
        }
    }
    if let Some(p) = &password
        && !password_is_complex(p)
    {
        return Err(weak_password());
    }
    Ok(UserInput { props, password })
}

/// Checks a (new) UPN against the tenant: verified domain, no other object holding it.
fn check_upn(t: &Tenant, upn: &str, except_id: Option<&str>) -> Result<(), GraphError> {
    let domain = upn.rsplit_once('@').map(|(_, d)| d).unwrap_or_default();
    if !t.is_verified_domain(domain) {
        return Err(GraphError::bad_request(
            "The domain portion of the userPrincipalName property is invalid. You must use one of the verified domain names in your organization.",
        ));
    }
    let taken = t.users.iter().any(|u| {
        Some(u.id.as_str()) != except_id
            && (u.upn().eq_ignore_ascii_case(upn)
                || u.prop_str("mail")
                    .is_some_and(|m| m.eq_ignore_ascii_case(upn)))
    });
    if taken {
        return Err(GraphError::bad_request(
            "Another object with the same value for property userPrincipalName already exists.",
        ));
    }
    Ok(())
}

pub(super) fn create(app: &App, ctx: &Ctx, body: &[u8]) -> GraphResult {
    let input = validate_input(&json_object(body)?, true)?;
    let _ = input.password; // validated, never stored
    app.store.mutate(|t| {
        let upn = input.props["userPrincipalName"]
            .as_str()
            .unwrap_or_default()
            .to_string();
        check_upn(t, &upn, None)?;
        let props = input
            .props
            .into_iter()
            .filter(|(_, v)| !v.is_null())
            .collect();
        let user = User::new(uuid::Uuid::new_v4().to_string(), ctx.now, props);
        let reply = entity_reply(app, t, &user, StatusCode::CREATED);
        t.users.push(user);
        Ok(reply)
    })
}

pub(super) fn update(app: &App, key: &str, body: &[u8]) -> GraphResult {
    let input = validate_input(&json_object(body)?, false)?;
    app.store.mutate(|t| {
        let i = t.find_user(key).ok_or_else(|| GraphError::not_found(key))?;
        if let Some(upn) = input.props.get("userPrincipalName").and_then(Value::as_str) {
            check_upn(t, upn, Some(&t.users[i].id.clone()))?;
        }
        let user = &mut t.users[i];
        for (k, v) in input.props {
            if v.is_null() {
                user.props.remove(&k);
            } else {
                user.props.insert(k, v);
            }
        }
        Ok(Reply::no_content())
    })
}

pub(super) fn delete(app: &App, key: &str) -> GraphResult {
    app.store.mutate(|t| {
        let i = t.find_user(key).ok_or_else(|| GraphError::not_found(key))?;
        let user = t.users.remove(i);
        t.forget_role_member(&user.id);
        Ok(Reply::no_content())
    })
}

/// `/me`, which names the signed-in user: there is none with an app-only token.
pub(super) fn me() -> GraphResult {
    Err(GraphError::odata(
        "/me request is only valid with delegated authentication flow.",
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn password_complexity_table() {
        let cases = [
            ("Passw0rd!", true),
            ("passw0rd!", true),
            ("Password1", true),
            ("password1", false),
            ("Pa1!", false),
            ("PASSWORD!", false),
            ("Pässw0rd!", false),
        ];
        for (p, ok) in cases {
            assert_eq!(password_is_complex(p), ok, "{p}");
        }
        assert!(!password_is_complex(&"Aa1!".repeat(65)));
    }

    #[test]
    fn input_validation_table() {
        let base = json!({
            "accountEnabled": true,
            "displayName": "Jo",
            "mailNickname": "jo",
            "userPrincipalName": "jo@libertygoldsilver.com",
            "passwordProfile": {"password": "Str0ng!pass"}
        });
        let with = |k: &str, v: Value| {
            let mut b = base.as_object().unwrap().clone();
            if v.is_null() {
                b.remove(k);
            } else {
                b.insert(k.into(), v);
            }
            b
        };
        assert!(validate_input(base.as_object().unwrap(), true).is_ok());
        let cases = [
            (
                with("mailNickname", Value::Null),
                "Invalid value specified for property 'mailNickname' of resource 'User'.",
            ),
            (
                with("mailNickname", json!("a b")),
                "Invalid value specified for property 'mailNickname' of resource 'User'.",
            ),
            (
                with("userPrincipalName", json!("nope")),
                "Invalid value specified for property 'userPrincipalName' of resource 'User'.",
            ),
            (
                with("passwordProfile", json!({"password": "weak"})),
                "The specified password does not comply with password complexity requirements. Please provide a different password.",
            ),
            (
                with("usageLocation", json!("USA")),
                "Invalid value specified for property 'usageLocation' of resource 'User'.",
            ),
            (
                with("id", json!("x")),
                "Property 'id' is read-only and cannot be set.",
            ),
            (
                with("favouriteColour", json!("x")),
                "Invalid property 'favouriteColour'.",
            ),
        ];
        for (body, msg) in cases {
            assert_eq!(
                validate_input(&body, true)
                    .err()
                    .map(|e| e.message)
                    .as_deref(),
                Some(msg)
            );
        }
        // An update needs nothing.
        assert!(validate_input(&Map::new(), false).is_ok());
    }
}
