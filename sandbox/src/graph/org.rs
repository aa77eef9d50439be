//! `organization` and `domains`: the tenant's identity and its verified domains.

use http::StatusCode;
use serde_json::{Value, json};

use crate::app::App;
use crate::tenant::Tenant;
use crate::web::time::rfc3339;
use crate::web::{GraphError, GraphResult, Reply};

fn organization_json(t: &Tenant) -> Value {
    json!({
        "id": t.id,
        "displayName": t.display_name,
        "countryLetterCode": t.country_letter_code,
        "createdDateTime": rfc3339(t.created_date_time),
        "tenantType": "AAD",
        "preferredLanguage": "en",
        "businessPhones": [],
        "technicalNotificationMails": [format!("admin@{}", crate::tenant::DEFAULT_DOMAIN)],
        "assignedPlans": [],
        "verifiedDomains": t.domains.iter().map(|d| json!({
            "capabilities": "Email, OfficeCommunicationsOnline",
            "isDefault": d.is_default,
            "isInitial": d.is_initial,
            "name": d.name,
            "type": "Managed",
        })).collect::<Vec<_>>(),
    })
}

fn domain_json(d: &crate::tenant::directory::Domain) -> Value {
    json!({
        "authenticationType": "Managed",
        "availabilityStatus": null,
        "id": d.name,
        "isAdminManaged": true,
        "isDefault": d.is_default,
        "isInitial": d.is_initial,
        "isRoot": true,
        "isVerified": true,
        "passwordNotificationWindowInDays": 14,
        "passwordValidityPeriodInDays": d.password_validity_period_in_days,
        "supportedServices": ["Email", "OfficeCommunicationsOnline"],
        "state": null,
    })
}

pub(super) fn list_organization(app: &App) -> GraphResult {
    let org = app.store.read(organization_json);
    Ok(Reply::ok(json!({
        "@odata.context": format!("{}$metadata#organization", app.graph_root()),
        "value": [org],
    })))
}

pub(super) fn get_organization(app: &App, id: &str) -> GraphResult {
    let org = app
        .store
        .read(|t| t.id.eq_ignore_ascii_case(id).then(|| organization_json(t)));
    let mut org = org.ok_or_else(|| GraphError::not_found(id))?;
    org["@odata.context"] = json!(format!(
        "{}$metadata#organization/$entity",
        app.graph_root()
    ));
    Ok(Reply::ok(org))
}

pub(super) fn list_domains(app: &App) -> GraphResult {
    let domains: Vec<Value> = app
        .store
        .read(|t| t.domains.iter().map(domain_json).collect());
    Ok(Reply::ok(json!({
        "@odata.context": format!("{}$metadata#domains", app.graph_root()),
        "value": domains,
    })))
}

pub(super) fn get_domain(app: &App, id: &str) -> GraphResult {
    let domain = app.store.read(|t| {
        t.domains
            .iter()
            .find(|d| d.name.eq_ignore_ascii_case(id))
            .map(domain_json)
    });
    let mut domain = domain.ok_or_else(|| {
        GraphError::new(
            StatusCode::NOT_FOUND,
            "Request_ResourceNotFound",
            format!("Resource '{id}' does not exist or one of its queried reference-property objects are not present."),
        )
    })?;
    domain["@odata.context"] = json!(format!("{}$metadata#domains/$entity", app.graph_root()));
    Ok(Reply::ok(domain))
}

/// The service document at `/v1.0/`: the entity sets the sandbox serves.
pub(super) fn service_document(app: &App) -> GraphResult {
    Ok(Reply::ok(json!({
        "@odata.context": format!("{}$metadata", app.graph_root()),
        "value": [
            {"name": "users", "kind": "EntitySet", "url": "users"},
            {"name": "organization", "kind": "EntitySet", "url": "organization"},
            {"name": "domains", "kind": "EntitySet", "url": "domains"},
            {"name": "subscribedSkus", "kind": "EntitySet", "url": "subscribedSkus"},
            {"name": "groups", "kind": "EntitySet", "url": "groups"},
            {"name": "teams", "kind": "EntitySet", "url": "teams"},
        ]
    })))
}
