//! `directoryRoles`: the activated Microsoft Entra roles (a role is listed once someone holds
//! it), one by id or by the alternate key `directoryRoles(roleTemplateId='…')`, and its
//! `members` — users and service principals, each with its `@odata.type`. Reading needs
//! `RoleManagement.Read.Directory` (least) or `Directory.Read.All`.
//!
//! Microsoft Learn: List directoryRoles; Get directoryRole; List members of a directory role.

use serde_json::{Map, Value, json};

use crate::app::App;
use crate::tenant::Tenant;
use crate::tenant::ids::derived_guid;
use crate::tenant::roles::{DirectoryRole, RoleMember};
use crate::web::query::{Query, matches, parse_filter};
use crate::web::{GraphError, GraphResult, Reply};

/// The user properties a `directoryObject` collection returns by default.
const USER_DEFAULT: &[&str] = &[
    "businessPhones",
    "displayName",
    "givenName",
    "jobTitle",
    "mail",
    "mobilePhone",
    "officeLocation",
    "preferredLanguage",
    "surname",
    "userPrincipalName",
    "id",
];

fn role_json(r: &DirectoryRole) -> Value {
    json!({
        "id": r.id(),
        "deletedDateTime": null,
        "description": r.description(),
        "displayName": r.display_name(),
        "roleTemplateId": r.role_template_id,
    })
}

/// The role a key names: its object id, or `roleTemplateId='…'` (the alternate key).
fn find<'a>(t: &'a Tenant, key: &str) -> Result<&'a DirectoryRole, GraphError> {
    let template = key
        .split_once('=')
        .filter(|(k, _)| k.trim().eq_ignore_ascii_case("roleTemplateId"))
        .map(|(_, v)| v.trim().trim_matches('\''));
    t.directory_roles
        .iter()
        .find(|r| match template {
            Some(id) => r.role_template_id.eq_ignore_ascii_case(id),
            None => r.id().eq_ignore_ascii_case(key),
        })
        .ok_or_else(|| GraphError::not_found(key))
}

pub(super) fn list(app: &App, q: &Query) -> GraphResult {
    q.only(&["filter"])?;
    let clauses = match q.get("filter") {
        Some(f) => parse_filter(f, "directoryRole", &["roleTemplateId", "displayName"], &[])?,
        None => Vec::new(),
    };
    let roles: Vec<Value> = app.store.read(|t| {
        t.directory_roles
            .iter()
            .map(role_json)
            .filter(|r| matches(&clauses, r))
            .collect()
    });
    Ok(Reply::ok(json!({
        "@odata.context": format!("{}$metadata#directoryRoles", app.graph_root()),
        "value": roles,
    })))
}

pub(super) fn get(app: &App, key: &str) -> GraphResult {
    app.store.read(|t| {
        let mut body = role_json(find(t, key)?);
        body["@odata.context"] = json!(format!(
            "{}$metadata#directoryRoles/$entity",
            app.graph_root()
        ));
        Ok(Reply::ok(body))
    })
}

fn member_json(app: &App, t: &Tenant, m: &RoleMember) -> Option<Value> {
    match m {
        RoleMember::User(id) => {
            let u = &t.users[t.find_user(id)?];
            let mut out = Map::new();
            out.insert("@odata.type".into(), json!("#microsoft.graph.user"));
            for p in USER_DEFAULT {
                let v = match *p {
                    "id" => json!(u.id),
                    "businessPhones" => u.props.get(*p).cloned().unwrap_or(json!([])),
                    other => u.props.get(other).cloned().unwrap_or(Value::Null),
                };
                out.insert((*p).into(), v);
            }
            Some(Value::Object(out))
        }
        RoleMember::ThisApp => Some(json!({
            "@odata.type": "#microsoft.graph.servicePrincipal",
            "id": derived_guid(&format!("service-principal/{}", app.reg.client_id)),
            "appId": app.reg.client_id,
            "displayName": "m365-admin",
            "servicePrincipalType": "Application",
            "accountEnabled": true,
        })),
    }
}

pub(super) fn members(app: &App, key: &str, q: &Query) -> GraphResult {
    q.only(&[])?;
    app.store.read(|t| {
        let role = find(t, key)?;
        let members: Vec<Value> = role
            .members
            .iter()
            .filter_map(|m| member_json(app, t, m))
            .collect();
        Ok(Reply::ok(json!({
            "@odata.context": format!("{}$metadata#directoryObjects", app.graph_root()),
            "value": members,
        })))
    })
}

#[cfg(test)]
mod tests {
    use http::Method;

    use crate::auth::Claims;
    use crate::tenant::roles::GLOBAL_ADMINISTRATOR;
    use crate::testkit::{ADMIN, kit};

    #[test]
    fn roles_and_members_by_id_and_template() {
        let k = kit();
        let a = k.graph(Method::GET, "/directoryRoles", None);
        assert_eq!(a.status, 200, "{}", a.body);
        let names: Vec<&str> = a
            .value()
            .iter()
            .map(|r| r["displayName"].as_str().unwrap())
            .collect();
        assert_eq!(names, ["Global Administrator", "Exchange Administrator"]);
        let ga = a.value()[0]["id"].as_str().unwrap().to_string();

        for path in [
            format!("/directoryRoles/{ga}/members"),
            format!("/directoryRoles(roleTemplateId='{GLOBAL_ADMINISTRATOR}')/members"),
        ] {
            let m = k.graph(Method::GET, &path, None);
            assert_eq!(m.status, 200, "{path}: {}", m.body);
            assert_eq!(m.value().len(), 1);
            assert_eq!(m.value()[0]["@odata.type"], "#microsoft.graph.user");
            assert_eq!(m.value()[0]["userPrincipalName"], ADMIN);
        }
        let exo = &a.value()[1]["id"];
        let m = k.graph(
            Method::GET,
            &format!("/directoryRoles/{}/members", exo.as_str().unwrap()),
            None,
        );
        assert_eq!(
            m.value()[0]["@odata.type"],
            "#microsoft.graph.servicePrincipal"
        );
        let one = k.graph(Method::GET, &format!("/directoryRoles/{ga}"), None);
        assert_eq!(one.body["roleTemplateId"], GLOBAL_ADMINISTRATOR);
        let filtered = k.graph(
            Method::GET,
            &format!("/directoryRoles?$filter=roleTemplateId eq '{GLOBAL_ADMINISTRATOR}'"),
            None,
        );
        assert_eq!(filtered.value().len(), 1);
        let missing = k.graph(
            Method::GET,
            "/directoryRoles/00000000-0000-0000-0000-000000000000/members",
            None,
        );
        assert_eq!(
            (missing.status, missing.code()),
            (404, "Request_ResourceNotFound")
        );

        let reader = Claims {
            roles: vec!["RoleManagement.Read.Directory".into()],
        };
        assert_eq!(
            k.graph_as(&reader, Method::GET, "/directoryRoles", None)
                .status,
            200
        );
        let nobody = Claims {
            roles: vec!["User.Read.All".into()],
        };
        assert_eq!(
            k.graph_as(&nobody, Method::GET, "/directoryRoles", None)
                .status,
            403
        );
    }
}
