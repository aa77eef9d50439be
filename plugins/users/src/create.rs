//! create_user: validate, check seats and UPN, create, license (rolling back
//! on failure), then wait for the mailbox.

use crate::licenses::{License, Sku, find_sku, parse_skus};
use crate::mailbox::{DEFAULT_WAIT_S, MAX_WAIT_S, MailboxState, wait_for_mailbox};
use crate::password;
use crate::{graph, str_field, user_path};
use m365_plugin_sdk::graph::collection;
use m365_plugin_sdk::host::{now_ms, progress, sleep_ms};
use m365_plugin_sdk::text::{is_valid_email, odata_string};
use m365_plugin_sdk::{GraphError, ToolError, time};
use schemars::JsonSchema;
use serde::Deserialize;
use serde_json::{Value, json};

const TOTAL: u64 = 7;

#[derive(Debug, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct CreateUserArgs {
    /// Sign-in name (UPN) and primary address, on a verified domain of the tenant.
    #[schemars(email, length(max = 113))]
    pub email: String,
    #[schemars(length(min = 1, max = 256))]
    pub display_name: String,
    #[schemars(length(min = 1, max = 64))]
    pub first_name: Option<String>,
    #[schemars(length(min = 1, max = 64))]
    pub last_name: Option<String>,
    /// Initial password: 8-256 characters, at least 3 of lowercase, uppercase, digit, symbol.
    pub password: String,
    pub license: License,
    #[schemars(length(min = 1, max = 64))]
    pub department: Option<String>,
    /// ISO 3166 alpha-2 country, needed for licensing (default: the tenant's country).
    #[schemars(regex(pattern = r"^[A-Za-z]{2}$"))]
    pub usage_location: Option<String>,
    /// Require a new password at first sign-in (default true).
    pub force_change_password_next_sign_in: Option<bool>,
    /// Mail alias (default: the part of email before @).
    #[schemars(length(min = 1, max = 64))]
    pub mail_nickname: Option<String>,
    /// Seconds to wait for the mailbox (default 60).
    #[schemars(range(max = 300))]
    pub wait_for_mailbox_seconds: Option<u32>,
}

/// Entra ID's rule for the user-name part of a UPN: letters, digits and
/// `' . - _ ! # ^ ~`, no leading, trailing or double dot, at most 64 characters.
pub fn upn_local_ok(local: &str) -> bool {
    !local.is_empty()
        && local.len() <= 64
        && !local.starts_with('.')
        && !local.ends_with('.')
        && !local.contains("..")
        && local
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "'.-_!#^~".contains(c))
}

/// Exchange's rule for mailNickname: ASCII, none of `@ ( ) \ [ ] " ; : < > ,`
/// or spaces, no leading/trailing dot, at most 64 characters.
pub fn nickname_ok(nick: &str) -> bool {
    !nick.is_empty()
        && nick.len() <= 64
        && !nick.starts_with('.')
        && !nick.ends_with('.')
        && nick
            .chars()
            .all(|c| c.is_ascii_graphic() && !"@()\\[]\";:<>,".contains(c))
}

/// The property in Graph's "Another object with the same value for property
/// X already exists." message.
pub fn conflicting_property(e: &GraphError) -> Option<String> {
    if e.status != 400 {
        return None;
    }
    let rest = e
        .message
        .split_once("Another object with the same value for property ")?
        .1;
    Some(
        rest.split_whitespace()
            .next()?
            .trim_end_matches('.')
            .to_string(),
    )
}

fn input_err(field: &str, msg: String) -> ToolError {
    ToolError::input(Some(field), msg)
}

fn user_exists(upn: &str, id: Option<&str>) -> ToolError {
    let e = ToolError::user_exists(format!(
        "A user with UPN {upn} already exists; choose another email or use get_user."
    ));
    match id {
        Some(id) => e.with_detail("userId", id),
        None => e,
    }
}

/// Users whose UPN is `upn` (0 or 1).
fn find_by_upn(upn: &str) -> Result<Vec<Value>, ToolError> {
    let filter = format!("userPrincipalName eq {}", odata_string(upn));
    let body = graph().get(
        "/users",
        &[
            ("$filter", &filter),
            (
                "$select",
                "id,userPrincipalName,displayName,createdDateTime,assignedLicenses",
            ),
        ],
    )?;
    Ok(collection(&body).to_vec())
}

fn no_seats(license: License, sku: &Sku) -> ToolError {
    ToolError::license(format!(
        "No free {} license: {} purchased, {} assigned. Free a seat (remove the license from \
         a former user) or buy more in the Microsoft 365 admin center, then call create_user \
         again.",
        license.product_name(),
        sku.enabled,
        sku.consumed
    ))
    .with_detail("skuPartNumber", sku.part_number.clone())
    .with_detail("enabled", sku.enabled)
    .with_detail("consumed", sku.consumed)
}

pub fn create_user(args: CreateUserArgs) -> Result<Value, ToolError> {
    // 1. Everything that can be checked without a request.
    if let Err(why) = password::check(&args.password) {
        return Err(input_err(
            "password",
            format!(
                "The password does not meet Microsoft Entra ID's password policy: {why}. It \
                 needs {}; choose another and call again.",
                password::RULE
            ),
        ));
    }
    let upn = args.email.trim().to_string();
    let Some((local, _domain)) = upn.split_once('@').filter(|_| is_valid_email(&upn)) else {
        return Err(input_err(
            "email",
            format!(
                "{upn} is not an e-mail address; give the user's address, e.g. ann@contoso.com."
            ),
        ));
    };
    if !upn_local_ok(local) || upn.len() > 113 {
        return Err(input_err(
            "email",
            format!(
                "{upn} is not a valid user principal name: the part before @ may use only \
                 letters, digits and ' . - _ ! # ^ ~ (no leading, trailing or double dot, at most \
                 64 characters); choose another email."
            ),
        ));
    }
    let display_name = args.display_name.trim().to_string();
    if display_name.is_empty() {
        return Err(input_err(
            "displayName",
            "displayName is empty; give the user's name.".into(),
        ));
    }
    let nickname = args
        .mail_nickname
        .as_deref()
        .map(str::trim)
        .unwrap_or(local)
        .to_string();
    if !nickname_ok(&nickname) {
        return Err(input_err(
            "mailNickname",
            format!(
                "{nickname} is not a valid mail alias: use ASCII without spaces or @ ( ) \\ [ ] \" \
                 ; : < > , (at most 64 characters); give mailNickname."
            ),
        ));
    }
    let usage_location = match args.usage_location.as_deref().map(str::trim) {
        Some(c) if c.len() == 2 && c.chars().all(|ch| ch.is_ascii_alphabetic()) => {
            Some(c.to_ascii_uppercase())
        }
        Some(c) => {
            return Err(input_err(
                "usageLocation",
                format!("{c} is not an ISO 3166 alpha-2 country code; give one such as US or DE."),
            ));
        }
        None => None,
    };
    let force_change = args.force_change_password_next_sign_in.unwrap_or(true);
    let wait_s = args
        .wait_for_mailbox_seconds
        .unwrap_or(DEFAULT_WAIT_S)
        .min(MAX_WAIT_S);
    let license = args.license;
    let mut steps: Vec<String> = vec!["checked arguments and password policy".into()];
    progress(1, TOTAL, "Checked arguments and password policy");

    // 2. A free seat of the SKU.
    let skus = parse_skus(&graph().get("/subscribedSkus", &[])?);
    let sku =
        find_sku(&skus, license).cloned().ok_or_else(|| {
            ToolError::license(format!(
            "The tenant has no {} ({}) subscription; buy it in the Microsoft 365 admin center or \
             choose another license.",
            license.product_name(),
            license.sku_part_number()
        ))
        .with_detail("skuPartNumber", license.sku_part_number())
        .with_detail(
            "tenantSkus",
            skus.iter().map(|s| s.part_number.clone()).collect::<Vec<_>>(),
        )
        })?;
    if sku.free() <= 0 {
        return Err(no_seats(license, &sku));
    }
    steps.push(format!(
        "checked {} seats ({} free)",
        sku.part_number,
        sku.free()
    ));
    progress(
        2,
        TOTAL,
        &format!("{} free {} seat(s)", sku.free(), license.product_name()),
    );

    // 3. Usage location (licensing needs one).
    let usage_location = match usage_location {
        Some(c) => c,
        None => {
            let org = graph().get("/organization", &[("$select", "countryLetterCode")])?;
            let country = collection(&org)
                .first()
                .and_then(|o| str_field(o, "countryLetterCode"))
                .filter(|c| c.len() == 2)
                .map(str::to_ascii_uppercase);
            let Some(country) = country else {
                return Err(input_err(
                    "usageLocation",
                    "The tenant has no country set; give usageLocation (ISO 3166 alpha-2, e.g. US) \
                     and call again."
                        .into(),
                ));
            };
            steps.push(format!(
                "used the tenant's country {country} as usage location"
            ));
            country
        }
    };
    progress(3, TOTAL, &format!("Usage location {usage_location}"));

    // 4. The UPN must be free.
    if let Some(existing) = find_by_upn(&upn)?.first() {
        return Err(user_exists(&upn, str_field(existing, "id")));
    }
    steps.push("checked the UPN is free".into());
    progress(4, TOTAL, &format!("{upn} is free"));

    // 5. Create. Safe for the host to retry: we just checked the UPN is free.
    let mut body = json!({
        "accountEnabled": true,
        "displayName": display_name,
        "mailNickname": nickname,
        "userPrincipalName": upn,
        "usageLocation": usage_location,
        "passwordProfile": {
            "forceChangePasswordNextSignIn": force_change,
            "password": args.password,
        },
    });
    for (key, value) in [
        ("givenName", &args.first_name),
        ("surname", &args.last_name),
        ("department", &args.department),
    ] {
        if let Some(v) = value.as_deref().map(str::trim).filter(|v| !v.is_empty()) {
            body[key] = json!(v);
        }
    }
    let started = now_ms();
    let id =
        match graph().post_retry_safe("/users", &body) {
            Ok(created) => created
                .as_ref()
                .and_then(|c| str_field(c, "id"))
                .map(str::to_string)
                .ok_or_else(|| {
                    ToolError::graph(format!(
                        "Microsoft Graph created {upn} but returned no id; check with get_user \
                     before calling create_user again."
                    ))
                })?,
            Err(e) => {
                match conflicting_property(&e).as_deref() {
                    Some("userPrincipalName") => {
                        // A host retry after a lost response can meet the user this
                        // call created: adopt it only if it is plainly ours.
                        let ours = find_by_upn(&upn)?.into_iter().find(|u| {
                            let fresh = str_field(u, "createdDateTime")
                                .and_then(time::parse)
                                .and_then(|t| u64::try_from(t).ok())
                                .is_some_and(|t| t + 120_000 >= started);
                            let unlicensed = u
                                .get("assignedLicenses")
                                .and_then(Value::as_array)
                                .is_none_or(|a| a.is_empty());
                            fresh
                                && unlicensed
                                && str_field(u, "displayName") == Some(display_name.as_str())
                        });
                        match ours.as_ref().and_then(|u| str_field(u, "id")) {
                            Some(id) => {
                                steps.push("adopted the user created by a retried request".into());
                                id.to_string()
                            }
                            None => return Err(user_exists(&upn, None)),
                        }
                    }
                    Some(prop) => {
                        return Err(e.to_tool_error_with(format!(
                    "Another object in the tenant already uses this {prop} ({upn} or alias \
                     {nickname}); choose another email or mailNickname."
                ))
                .with_detail("field", if prop == "mailNickname" { "mailNickname" } else { "email" })
                .with_code(m365_plugin_sdk::codes::USER_001));
                    }
                    None if e.status == 400
                        && e.message.to_ascii_lowercase().contains("password") =>
                    {
                        return Err(e
                    .to_tool_error_with(format!(
                        "Entra ID rejected the password: {} Choose a stronger one (not containing \
                         the user's name) and call again.",
                        e.message
                    ))
                    .with_detail("field", "password")
                    .with_code(m365_plugin_sdk::codes::INPUT_001));
                    }
                    None if e.status == 400
                        && e.message.to_ascii_lowercase().contains("domain") =>
                    {
                        return Err(e
                    .to_tool_error_with(format!(
                        "Entra ID rejected the address {upn}: {} Use a verified domain of the \
                         tenant.",
                        e.message
                    ))
                    .with_detail("field", "email")
                    .with_code(m365_plugin_sdk::codes::INPUT_001));
                    }
                    None => return Err(e.into()),
                }
            }
        };
    steps.push(format!("created user {upn}"));
    progress(5, TOTAL, &format!("Created {upn}"));

    // 6. License; roll back the user if that fails.
    let assign = json!({
        "addLicenses": [{ "skuId": sku.sku_id, "disabledPlans": [] }],
        "removeLicenses": [],
    });
    let assign_path = format!("{}/assignLicense", user_path(&id));
    let mut attempt = 0;
    let assigned = loop {
        attempt += 1;
        match graph().post(&assign_path, &assign) {
            // A user created a moment ago may not have replicated yet.
            Err(e) if e.is_not_found() && attempt < 4 => sleep_ms(2000 * attempt),
            other => break other,
        }
    };
    if let Err(e) = assigned {
        let (cause, why) = if e
            .message
            .to_ascii_lowercase()
            .contains("available licenses")
        {
            let c = no_seats(license, &sku);
            let why = c.message.clone();
            (c, why)
        } else {
            let why = format!("Graph answered {} {}: {}", e.status, e.code, e.message);
            (ToolError::from(e), why)
        };
        return Err(roll_back(&id, &upn, license, cause, &why));
    }
    steps.push(format!("assigned {}", sku.part_number));
    progress(6, TOTAL, &format!("Assigned {}", license.product_name()));

    // 7. The mailbox.
    let (mailbox, note) = match wait_for_mailbox(&id, &upn, wait_s, 6, TOTAL)? {
        MailboxState::Ready(_) => {
            steps.push("mailbox ready".into());
            ("ready", None)
        }
        MailboxState::Provisioning { waited_s, .. } => {
            steps.push("mailbox still provisioning".into());
            (
                "provisioning",
                Some(format!(
                    "The mailbox was still being provisioned after {waited_s} s; it usually \
                     appears within minutes. configure_mailbox waits for it."
                )),
            )
        }
    };
    progress(TOTAL, TOTAL, &format!("Mailbox {mailbox}"));

    let mut out = json!({
        "id": id,
        "userPrincipalName": upn,
        "displayName": display_name,
        "department": args.department,
        "usageLocation": usage_location,
        "license": {
            "name": license.name(),
            "product": license.product_name(),
            "skuPartNumber": sku.part_number,
            "skuId": sku.sku_id,
        },
        "mailbox": mailbox,
        "forceChangePasswordNextSignIn": force_change,
        "steps": steps,
    });
    if let Some(n) = note {
        out["note"] = json!(n);
    }
    Ok(out)
}

/// Deletes the user created by this call after licensing failed, and says
/// exactly what happened.
fn roll_back(id: &str, upn: &str, license: License, cause: ToolError, why: &str) -> ToolError {
    let what = format!(
        "Assigning the {} license to {upn} failed ({}).",
        license.product_name(),
        why.trim_end_matches('.')
    );
    let deleted = match graph().delete(&user_path(id)) {
        Ok(()) => Ok(()),
        Err(e) if e.is_not_found() => Ok(()),
        Err(e) => Err(e),
    };
    let mut err = cause.clone();
    match deleted {
        Ok(()) => {
            err.message = format!(
                "{what} The user was rolled back (deleted; it stays restorable in Deleted users \
                 for 30 days), so no unlicensed account is left behind. Fix the cause and call \
                 create_user again."
            );
            err.with_detail("rolledBack", true)
        }
        Err(d) => {
            err.message = format!(
                "{what} Rolling back also failed ({} {}): the user {upn} (id {id}) exists \
                 without a license. Delete it or assign a license in the Microsoft 365 admin \
                 center before calling create_user again.",
                d.status, d.code
            );
            err.with_detail("rolledBack", false)
                .with_detail("leftBehind", json!({ "id": id, "userPrincipalName": upn }))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use m365_plugin_sdk::graph::GraphErrorKind;

    #[test]
    fn upn_rules() {
        assert!(upn_local_ok("ann.lee"));
        assert!(upn_local_ok("o'brien_1~x"));
        assert!(!upn_local_ok("ann+tag"));
        assert!(!upn_local_ok(".ann"));
        assert!(!upn_local_ok("an..n"));
        assert!(!upn_local_ok(&"a".repeat(65)));
        assert!(nickname_ok("ann.lee"));
        assert!(!nickname_ok("ann lee"));
        assert!(!nickname_ok("ann@x"));
        assert!(!nickname_ok("ann;"));
    }

    #[test]
    fn conflicts_name_the_property() {
        let e = GraphError {
            kind: GraphErrorKind::Response,
            status: 400,
            code: "Request_BadRequest".into(),
            message:
                "Another object with the same value for property userPrincipalName already exists."
                    .into(),
            request_id: None,
            client_request_id: String::new(),
            retry_after: None,
            method: "POST".into(),
            path: "/users".into(),
        };
        assert_eq!(
            conflicting_property(&e).as_deref(),
            Some("userPrincipalName")
        );
        let mut other = e.clone();
        other.message = "Something else".into();
        assert_eq!(conflicting_property(&other), None);
    }
}
