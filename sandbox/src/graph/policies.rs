//! `policies/identitySecurityDefaultsEnforcementPolicy`: read (Policy.Read.All) and update
//! `isEnabled` (Policy.ReadWrite.SecurityDefaults or Policy.ReadWrite.ConditionalAccess), as
//! Graph documents it; PATCH answers 204. `policies/authorizationPolicy`: read, the singleton
//! "that always exists for the tenant". `identity/conditionalAccess/policies`: list and get
//! (Policy.Read.All); conditional access needs Microsoft Entra ID P1, and a tenant without it
//! is refused with the 403 `AccessDenied` "Your tenant is not licensed for this feature."
//! that Graph gives when such a tenant creates a policy (community-observed; the answer to a
//! GET is UNCONFIRMED).
//!
//! Microsoft Learn: Get identitySecurityDefaultsEnforcementPolicy; authorizationPolicy
//! resource type; List policies (conditional access).

use http::StatusCode;
use serde_json::{Value, json};

use super::odata::json_object;
use crate::app::App;
use crate::tenant::Tenant;
use crate::web::Query;
use crate::web::{GraphError, GraphResult, Reply};

const POLICY: &str = "identitySecurityDefaultsEnforcementPolicy";

fn policy_json(app: &App, enabled: bool) -> Value {
    json!({
        "@odata.context": format!("{}$metadata#policies/{POLICY}/$entity", app.graph_root()),
        "id": "00000000-0000-0000-0000-000000000005",
        "displayName": "Security Defaults",
        "description": "Security defaults is a set of basic identity security mechanisms recommended by Microsoft. When enabled, these recommendations will be automatically enforced in your organization. Administrators and users will be better protected from common identity related attacks.",
        "isEnabled": enabled,
    })
}

/// `GET policies/identitySecurityDefaultsEnforcementPolicy`.
pub(super) fn get(app: &App, q: &Query) -> GraphResult {
    q.only(&["select"])?;
    let enabled = app.store.read(|t| t.policies.security_defaults_enabled);
    Ok(Reply::ok(policy_json(app, enabled)))
}

/// `PATCH policies/identitySecurityDefaultsEnforcementPolicy`: only `isEnabled` can change.
pub(super) fn patch(app: &App, body: &[u8]) -> GraphResult {
    let patch = json_object(body)?;
    let mut enabled = None;
    for (k, v) in &patch {
        match k.as_str() {
            k if k.starts_with('@') => {}
            "isEnabled" => {
                enabled = Some(v.as_bool().ok_or_else(|| {
                    GraphError::odata(
                        "Cannot convert the literal to the expected type 'Edm.Boolean' for property 'isEnabled'.",
                    )
                })?);
            }
            "id" | "displayName" | "description" => {
                return Err(GraphError::new(
                    StatusCode::BAD_REQUEST,
                    "BadRequest",
                    format!("Property '{k}' is read-only and cannot be set."),
                ));
            }
            other => {
                return Err(GraphError::odata(format!(
                    "The property '{other}' does not exist on type 'microsoft.graph.{POLICY}'. Make sure to only use property names that are defined by the type or mark the type as open type."
                )));
            }
        }
    }
    if let Some(e) = enabled {
        app.store.mutate(|t| {
            t.policies.security_defaults_enabled = e;
            Ok(())
        })?;
    }
    Ok(Reply::no_content())
}

/// `GET policies/authorizationPolicy`.
pub(super) fn get_authorization(app: &App, q: &Query) -> GraphResult {
    q.only(&["select"])?;
    let p = app.store.read(|t| t.policies.authorization.clone());
    Ok(Reply::ok(json!({
        "@odata.context": format!("{}$metadata#policies/authorizationPolicy/$entity", app.graph_root()),
        "id": "authorizationPolicy",
        "displayName": "Authorization Policy",
        "description": "Used to manage authorization related settings across the company.",
        "allowInvitesFrom": p.allow_invites_from,
        "allowedToSignUpEmailBasedSubscriptions": true,
        "allowedToUseSSPR": p.allowed_to_use_sspr,
        "allowEmailVerifiedUsersToJoinOrganization": false,
        "allowUserConsentForRiskyApps": false,
        "blockMsolPowerShell": p.block_msol_powershell,
        "guestUserRoleId": p.guest_user_role_id,
        "defaultUserRolePermissions": {
            "allowedToCreateApps": p.allowed_to_create_apps,
            "allowedToCreateSecurityGroups": p.allowed_to_create_security_groups,
            "allowedToCreateTenants": true,
            "allowedToReadBitlockerKeysForOwnedDevice": true,
            "allowedToReadOtherUsers": p.allowed_to_read_other_users,
            "permissionGrantPoliciesAssigned": p.permission_grant_policies_assigned,
        },
    })))
}

fn conditional_access(t: &Tenant) -> Result<&[Value], GraphError> {
    if !t.has_entra_p1() {
        return Err(GraphError::new(
            StatusCode::FORBIDDEN,
            "AccessDenied",
            "Your tenant is not licensed for this feature. Please upgrade your subscription to access it.",
        ));
    }
    Ok(&t.policies.conditional_access)
}

/// `GET identity/conditionalAccess/policies`.
pub(super) fn list_conditional_access(app: &App, q: &Query) -> GraphResult {
    q.only(&["select", "filter"])?;
    let policies = app
        .store
        .read(|t| conditional_access(t).map(<[Value]>::to_vec))?;
    Ok(Reply::ok(json!({
        "@odata.context": format!("{}$metadata#identity/conditionalAccess/policies", app.graph_root()),
        "value": policies,
    })))
}

/// `GET identity/conditionalAccess/policies/{id}`.
pub(super) fn get_conditional_access(app: &App, id: &str) -> GraphResult {
    app.store.read(|t| {
        let policy = conditional_access(t)?
            .iter()
            .find(|p| p["id"].as_str().is_some_and(|p| p.eq_ignore_ascii_case(id)))
            .ok_or_else(|| GraphError::not_found(id))?;
        let mut body = policy.clone();
        body["@odata.context"] = json!(format!(
            "{}$metadata#identity/conditionalAccess/policies/$entity",
            app.graph_root()
        ));
        Ok(Reply::ok(body))
    })
}

#[cfg(test)]
mod tests {
    use http::Method;
    use serde_json::json;

    use crate::auth::Claims;
    use crate::testkit::kit;

    const PATH: &str = "/policies/identitySecurityDefaultsEnforcementPolicy";

    #[test]
    fn security_defaults_read_and_update() {
        let k = kit();
        let a = k.graph(Method::GET, PATH, None);
        assert_eq!(a.status, 200, "{}", a.body);
        assert_eq!(a.body["isEnabled"], false);
        assert_eq!(a.body["id"], "00000000-0000-0000-0000-000000000005");
        assert_eq!(a.body["displayName"], "Security Defaults");
        assert!(
            a.body["@odata.context"]
                .as_str()
                .unwrap()
                .ends_with("$metadata#policies/identitySecurityDefaultsEnforcementPolicy/$entity")
        );
        let a = k.graph(Method::PATCH, PATH, Some(json!({"isEnabled": true})));
        assert_eq!(a.status, 204, "{}", a.body);
        assert_eq!(k.graph(Method::GET, PATH, None).body["isEnabled"], true);

        for bad in [
            json!({"isEnabled": "yes"}),
            json!({"displayName": "Mine"}),
            json!({"enforced": true}),
        ] {
            assert_eq!(
                k.graph(Method::PATCH, PATH, Some(bad.clone())).status,
                400,
                "{bad}"
            );
        }
        // Read needs Policy.Read.All; writing needs a ReadWrite permission.
        let reader = Claims {
            roles: vec!["Policy.Read.All".into()],
        };
        assert_eq!(k.graph_as(&reader, Method::GET, PATH, None).status, 200);
        let a = k.graph_as(
            &reader,
            Method::PATCH,
            PATH,
            Some(json!({"isEnabled": false})),
        );
        assert_eq!(a.status, 403);
        assert_eq!(a.code(), "Authorization_RequestDenied");
        let nobody = Claims { roles: vec![] };
        assert_eq!(k.graph_as(&nobody, Method::GET, PATH, None).status, 403);
        assert_eq!(k.graph(Method::GET, "/policies/nothing", None).status, 400);
    }

    #[test]
    fn authorization_policy_and_conditional_access() {
        let k = kit();
        let a = k.graph(Method::GET, "/policies/authorizationPolicy", None);
        assert_eq!(a.status, 200, "{}", a.body);
        assert_eq!(a.body["id"], "authorizationPolicy");
        assert_eq!(a.body["allowInvitesFrom"], "everyone");
        assert_eq!(
            a.body["guestUserRoleId"],
            "10dae51f-b6af-4016-8d66-8c2a99b929b3"
        );
        assert_eq!(
            a.body["defaultUserRolePermissions"]["permissionGrantPoliciesAssigned"],
            json!(["ManagePermissionGrantsForSelf.microsoft-user-default-legacy"])
        );
        let ca = "/identity/conditionalAccess/policies";
        let a = k.graph(Method::GET, ca, None);
        assert_eq!(a.status, 200, "{}", a.body);
        assert_eq!(a.body["value"], json!([]));
        let policy = json!({"id": "p1", "displayName": "Require MFA", "state": "enabled"});
        k.app
            .store
            .mutate(|t| {
                t.policies.conditional_access.push(policy.clone());
                Ok(())
            })
            .unwrap();
        assert_eq!(
            k.graph(Method::GET, &format!("{ca}/p1"), None).body["state"],
            "enabled"
        );
        assert_eq!(k.graph(Method::GET, &format!("{ca}/p2"), None).status, 404);
        let nobody = Claims {
            roles: vec!["User.Read.All".into()],
        };
        assert_eq!(k.graph_as(&nobody, Method::GET, ca, None).status, 403);
        // A tenant without Entra ID P1 has no conditional access.
        k.app
            .store
            .mutate(|t| {
                for s in &mut t.skus {
                    s.enabled = 0;
                }
                Ok(())
            })
            .unwrap();
        let a = k.graph(Method::GET, ca, None);
        assert_eq!((a.status, a.code()), (403, "AccessDenied"));
    }
}
