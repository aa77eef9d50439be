//! Licensing: `subscribedSkus`, `users/{id}/assignLicense` (usage location, seat and SKU checks;
//! assigning an Exchange plan starts mailbox provisioning) and `users/{id}/licenseDetails`.

use http::StatusCode;
use serde_json::{Map, Value, json};

use super::json_object;
use super::users::entity_reply;
use crate::app::App;
use crate::errors::{Ctx, GraphError, GraphResult, Reply};
use crate::state::{AssignedLicense, Mailbox, Sku, Tenant};

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

/// One entry of `addLicenses`.
struct Add {
    sku_id: String,
    disabled_plans: Vec<String>,
}

fn parse_assign(body: &Map<String, Value>) -> Result<(Vec<Add>, Vec<String>), GraphError> {
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
            Ok(Add {
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
    let delay = app.tuning().mailbox_provisioning_delay;
    app.store.mutate(|t| {
        let i = t.find_user(key).ok_or_else(|| GraphError::not_found(key))?;
        if !adds.is_empty() && t.users[i].prop_str("usageLocation").is_none() {
            return Err(GraphError::bad_request(
                "License assignment cannot be done for user with invalid usage location.",
            ));
        }
        for add in &adds {
            let sku = t.sku(&add.sku_id).ok_or_else(|| {
                GraphError::bad_request(format!(
                    "License {} does not correspond to a valid company License.",
                    add.sku_id
                ))
            })?;
            for plan in &add.disabled_plans {
                if !sku.service_plans.iter().any(|p| p.service_plan_id.eq_ignore_ascii_case(plan)) {
                    return Err(GraphError::bad_request(format!(
                        "Service plan {plan} does not correspond to a valid service plan of license {}.",
                        add.sku_id
                    )));
                }
            }
            let already = t.users[i]
                .assigned_licenses
                .iter()
                .any(|l| l.sku_id.eq_ignore_ascii_case(&add.sku_id));
            if !already && t.consumed(&add.sku_id) >= sku.enabled {
                return Err(GraphError::bad_request(format!(
                    "Subscription with SKU {} does not have any available licenses.",
                    add.sku_id
                )));
            }
        }
        for remove in &removes {
            let user = &mut t.users[i];
            let before = user.assigned_licenses.len();
            user.assigned_licenses.retain(|l| !l.sku_id.eq_ignore_ascii_case(remove));
            if user.assigned_licenses.len() == before {
                return Err(GraphError::bad_request(format!(
                    "User does not have a corresponding license {remove}."
                )));
            }
        }
        for add in adds {
            let user = &mut t.users[i];
            match user.assigned_licenses.iter_mut().find(|l| l.sku_id == add.sku_id) {
                Some(l) => l.disabled_plans = add.disabled_plans,
                None => user.assigned_licenses.push(AssignedLicense {
                    sku_id: add.sku_id,
                    disabled_plans: add.disabled_plans,
                }),
            }
        }
        if t.has_exchange(&t.users[i]) {
            let user = &mut t.users[i];
            if user.prop_str("mail").is_none() {
                let upn = user.upn().to_string();
                user.props.insert("mail".into(), json!(upn));
            }
            if user.mailbox.is_none() {
                let ready_at = ctx.now + delay;
                user.mailbox = Some(Mailbox {
                    ready_at,
                    settings: super::mailbox::default_settings(),
                    rules: Vec::new(),
                });
            }
        }
        Ok(entity_reply(app, t, &t.users[i], StatusCode::OK))
    })
}
