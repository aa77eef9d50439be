//! Licensing: `subscribedSkus`, `users/{id}/assignLicense` (usage location, seat and SKU checks;
//! assigning an Exchange plan starts mailbox provisioning) and `users/{id}/licenseDetails`.

use http::StatusCode;
use serde_json::{Map, Value, json};

use super::odata::json_object;
use super::users::entity_reply;
use crate::app::App;
use crate::tenant::Tenant;
use crate::tenant::directory::Sku;
use crate::tenant::licensing::LicenseAdd;
use crate::web::{Ctx, GraphError, GraphResult, Reply};

fn plans_json(sku: &Sku) -> Vec<Value> {
    sku.service_plans
        .iter()
        .map(|p| {
            json!({
                "servicePlanId": p.service_plan_id,
                "servicePlanName": p.service_plan_name,
                "provisioningStatus": "Success",
                "appliesTo": "User",
            })
        })
        .collect()
}

fn sku_json(t: &Tenant, sku: &Sku) -> Value {
    json!({
        "accountName": "libertygoldsilver",
        "accountId": t.id,
        "appliesTo": "User",
        "capabilityStatus": "Enabled",
        "consumedUnits": t.consumed(&sku.sku_id),
        "id": format!("{}_{}", t.id, sku.sku_id),
        "skuId": sku.sku_id,
        "skuPartNumber": sku.sku_part_number,
        "subscriptionIds": [sku.subscription_id],
        "prepaidUnits": {"enabled": sku.enabled, "suspended": 0, "warning": 0, "lockedOut": 0},
        "servicePlans": plans_json(sku),
    })
}

pub(super) fn list_skus(app: &App) -> GraphResult {
    let value: Vec<Value> = app
        .store
        .read(|t| t.skus.iter().map(|s| sku_json(t, s)).collect());
    Ok(Reply::ok(json!({
        "@odata.context": format!("{}$metadata#subscribedSkus", app.graph_root()),
        "value": value,
    })))
}

pub(super) fn get_sku(app: &App, id: &str) -> GraphResult {
    let sku = app.store.read(|t| {
        t.skus
            .iter()
            .find(|s| format!("{}_{}", t.id, s.sku_id).eq_ignore_ascii_case(id))
            .map(|s| sku_json(t, s))
    });
    let mut sku = sku.ok_or_else(|| GraphError::not_found(id))?;
    sku["@odata.context"] = json!(format!(
        "{}$metadata#subscribedSkus/$entity",
        app.graph_root()
    ));
    Ok(Reply::ok(sku))
}

pub(super) fn license_details(app: &App, key: &str) -> GraphResult {
    app.store.read(|t| {
        let u = &t.users[t.find_user(key).ok_or_else(|| GraphError::not_found(key))?];
        let value: Vec<Value> = u
            .assigned_licenses
            .iter()
            .filter_map(|l| t.sku(&l.sku_id))
            .map(|sku| {
                json!({
                    "id": format!("{}{}", u.id.replace('-', ""), sku.sku_id.replace('-', "")),
                    "skuId": sku.sku_id,
                    "skuPartNumber": sku.sku_part_number,
                    "servicePlans": plans_json(sku),
                })
            })
            .collect();
        Ok(Reply::ok(json!({
            "@odata.context": format!("{}$metadata#users('{}')/licenseDetails", app.graph_root(), u.id),
            "value": value,
        })))
    })
}

fn parse_assign(body: &Map<String, Value>) -> Result<(Vec<LicenseAdd>, Vec<String>), GraphError> {
    let bad = |p: &str| {
        GraphError::bad_request(format!(
            "Invalid value specified for property '{p}' of resource 'assignLicense'."
        ))
    };
    for key in body.keys() {
        if key != "addLicenses" && key != "removeLicenses" {
            return Err(GraphError::odata(format!(
                "The parameter '{key}' in the request payload is not a valid parameter for the operation 'assignLicense'."
            )));
        }
    }
    let adds = body
        .get("addLicenses")
        .and_then(Value::as_array)
        .ok_or_else(|| bad("addLicenses"))?
        .iter()
        .map(|a| {
            let sku_id = a
                .get("skuId")
                .and_then(Value::as_str)
                .ok_or_else(|| bad("skuId"))?;
            let disabled_plans = match a.get("disabledPlans") {
                None | Some(Value::Null) => Vec::new(),
                Some(Value::Array(list)) => list
                    .iter()
                    .map(|p| {
                        p.as_str()
                            .map(str::to_string)
                            .ok_or_else(|| bad("disabledPlans"))
                    })
                    .collect::<Result<_, _>>()?,
                Some(_) => return Err(bad("disabledPlans")),
            };
            Ok(LicenseAdd {
                sku_id: sku_id.to_ascii_lowercase(),
                disabled_plans,
            })
        })
        .collect::<Result<Vec<_>, _>>()?;
    let removes = body
        .get("removeLicenses")
        .and_then(Value::as_array)
        .ok_or_else(|| bad("removeLicenses"))?
        .iter()
        .map(|r| {
            r.as_str()
                .map(str::to_ascii_lowercase)
                .ok_or_else(|| bad("removeLicenses"))
        })
        .collect::<Result<Vec<_>, _>>()?;
    Ok((adds, removes))
}

pub(super) fn assign(app: &App, ctx: &Ctx, key: &str, body: &[u8]) -> GraphResult {
    let (adds, removes) = parse_assign(&json_object(body)?)?;
    let ready_at = ctx.now + app.tuning().mailbox_provisioning_delay;
    app.store.mutate(|t| {
        let i = t.find_user(key).ok_or_else(|| GraphError::not_found(key))?;
        t.assign_licenses(i, adds, &removes, ready_at)?;
        Ok(entity_reply(app, t, &t.users[i], StatusCode::OK))
    })
}
