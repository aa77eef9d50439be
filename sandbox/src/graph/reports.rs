//! `reports/authenticationMethods/userRegistrationDetails`: each user's registered methods and
//! what they are registered and capable of (MFA, self-service password reset, passwordless),
//! derived from the methods the tenant keeps. It needs `AuditLog.Read.All` and a tenant with
//! Microsoft Entra ID P1 or P2 ("A Microsoft Entra ID P1 or P2 license is required to access
//! usage and insights", Authentication Methods Activity); without one the sandbox answers as
//! Graph's reports do for `signInActivity`, 403 `Authentication_RequestFromNonPremiumTenantOrB2CTenant`
//! (community-observed; Microsoft documents no body for this API). `$filter` takes `eq` on the
//! documented Boolean properties and `userType`; paging is `$top` and `$skiptoken`.
//!
//! Microsoft Learn: List userRegistrationDetails; userRegistrationDetails resource type.

use http::StatusCode;
use serde_json::{Value, json};

use crate::app::App;
use crate::tenant::{Tenant, User};
use crate::web::paging::page;
use crate::web::query::{Query, matches, parse_filter};
use crate::web::time::rfc3339;
use crate::web::{GraphError, GraphResult, Reply};

const FILTER_EQ: &[&str] = &[
    "isAdmin",
    "isMfaRegistered",
    "isMfaCapable",
    "isSsprRegistered",
    "isSsprEnabled",
    "isSsprCapable",
    "isPasswordlessCapable",
    "userType",
    "userPrincipalName",
];

fn no_premium() -> GraphError {
    GraphError::new(
        StatusCode::FORBIDDEN,
        "Authentication_RequestFromNonPremiumTenantOrB2CTenant",
        "Neither tenant is B2C or tenant doesn't have premium license",
    )
}

fn details_json(t: &Tenant, u: &User) -> Value {
    let r = u.registration();
    let default_method = r
        .methods
        .iter()
        .find(|m| **m != "email")
        .copied()
        .unwrap_or("none");
    json!({
        "id": u.id,
        "userPrincipalName": u.upn(),
        "userDisplayName": u.prop_str("displayName"),
        "userType": if u.is_guest() { "guest" } else { "member" },
        "isAdmin": t.is_admin(&u.id),
        "isSsprRegistered": r.sspr_registered,
        "isSsprEnabled": r.sspr_registered,
        "isSsprCapable": r.sspr_registered,
        "isMfaRegistered": r.mfa_registered,
        "isMfaCapable": r.mfa_registered,
        "isPasswordlessCapable": r.passwordless_capable,
        "isSystemPreferredAuthenticationMethodEnabled": false,
        "methodsRegistered": r.methods,
        "systemPreferredAuthenticationMethods": [],
        "userPreferredMethodForSecondaryAuthentication": if r.mfa_registered { default_method } else { "none" },
        "defaultMfaMethod": if r.mfa_registered { default_method } else { "none" },
        "lastUpdatedDateTime": u.auth_methods.iter().map(|m| m.created_date_time).max().map(rfc3339),
    })
}

fn context(app: &App, entity: bool) -> String {
    let tail = if entity { "/$entity" } else { "" };
    format!(
        "{}$metadata#reports/authenticationMethods/userRegistrationDetails{tail}",
        app.graph_root()
    )
}

pub(super) fn list(app: &App, q: &Query) -> GraphResult {
    q.only(&["filter", "top", "skiptoken"])?;
    let clauses = match q.get("filter") {
        Some(f) => parse_filter(f, "userRegistrationDetails", FILTER_EQ, &[])?,
        None => Vec::new(),
    };
    let items = app.store.read(|t| {
        if !t.has_entra_p1() {
            return Err(no_premium());
        }
        Ok(t.users
            .iter()
            .map(|u| details_json(t, u))
            .filter(|d| matches(&clauses, d))
            .collect::<Vec<_>>())
    })?;
    page(
        &app.graph_root(),
        q,
        "reports/authenticationMethods/userRegistrationDetails",
        context(app, false),
        items,
    )
}

pub(super) fn get(app: &App, id: &str) -> GraphResult {
    app.store.read(|t| {
        if !t.has_entra_p1() {
            return Err(no_premium());
        }
        let u = t
            .users
            .iter()
            .find(|u| u.id.eq_ignore_ascii_case(id))
            .ok_or_else(|| GraphError::not_found(id))?;
        let mut body = details_json(t, u);
        body["@odata.context"] = json!(context(app, true));
        Ok(Reply::ok(body))
    })
}

#[cfg(test)]
mod tests {
    use http::Method;

    use crate::auth::Claims;
    use crate::testkit::kit;

    const PATH: &str = "/reports/authenticationMethods/userRegistrationDetails";

    #[test]
    fn registration_details_follow_methods_and_need_p1() {
        let k = kit();
        let ann = k.user("ann");
        let a = k.graph(Method::GET, PATH, None);
        assert_eq!(a.status, 200, "{}", a.body);
        let row = a.value().iter().find(|r| r["id"] == ann).unwrap().clone();
        assert_eq!(row["isMfaRegistered"], false);
        assert_eq!(row["methodsRegistered"], serde_json::json!([]));
        assert_eq!(row["userType"], "member");
        assert_eq!(row["isAdmin"], false);
        let admin = a.value().iter().find(|r| r["isAdmin"] == true).unwrap();
        assert_eq!(admin["userPrincipalName"], crate::testkit::ADMIN);

        let only = k.graph(
            Method::GET,
            &format!("{PATH}?$filter=isAdmin eq true"),
            None,
        );
        assert_eq!(only.value().len(), 1, "{}", only.body);
        let one = k.graph(Method::GET, &format!("{PATH}/{ann}"), None);
        assert_eq!(one.status, 200);
        assert!(
            one.body["@odata.context"]
                .as_str()
                .unwrap()
                .ends_with("/$entity")
        );
        assert_eq!(
            k.graph(
                Method::GET,
                &format!("{PATH}?$filter=userDisplayName eq 'x'"),
                None
            )
            .status,
            400
        );

        let reader = Claims {
            roles: vec!["User.Read.All".into()],
        };
        assert_eq!(k.graph_as(&reader, Method::GET, PATH, None).status, 403);

        // Without a subscription carrying Entra ID P1, the report is refused.
        k.app
            .store
            .mutate(|t| {
                for s in &mut t.skus {
                    s.enabled = 0;
                }
                Ok(())
            })
            .unwrap();
        let a = k.graph(Method::GET, PATH, None);
        assert_eq!(
            (a.status, a.code()),
            (403, "Authentication_RequestFromNonPremiumTenantOrB2CTenant")
        );
        assert_eq!(
            a.message(),
            "Neither tenant is B2C or tenant doesn't have premium license"
        );
    }
}
