//! `policies/identitySecurityDefaultsEnforcementPolicy`: read (Policy.Read.All) and update
//! `isEnabled` (Policy.ReadWrite.SecurityDefaults or Policy.ReadWrite.ConditionalAccess), as
//! Graph documents it; PATCH answers 204.

use http::StatusCode;
use serde_json::{Value, json};

use super::odata::json_object;
use crate::app::App;
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
}
