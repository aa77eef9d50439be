//! Organization-wide settings: `Get-/Set-OrganizationConfig`, `Get-/Set-AdminAuditLogConfig`,
//! `Get-/Set-TransportConfig` and `Get-/Set-ExternalInOutlook`. Set- cmdlets output nothing and
//! warn, as Exchange does, when they change nothing.

use serde_json::{Map, Value, json};

use super::cmdlet::{Call, Cmdlet, size_text};
use super::error::ExoError;
use super::params::{Bound, Param, Ty, n, p};
use crate::tenant::ids::derived_guid;
use crate::tenant::{INITIAL_DOMAIN, Tenant};
use crate::web::time::rfc3339;

const ORG_SETTABLE: &[Param] = &[
    p("ReadTrackingEnabled", Ty::Bool),
    p("AuditDisabled", Ty::Bool),
    p("FocusedInboxOn", Ty::Bool),
    p("DisablePlusAddressInRecipients", Ty::Bool),
    p("AutomaticForcedReadReceiptEnabled", Ty::Bool),
    p("MailTipsAllTipsEnabled", Ty::Bool),
    p("MailTipsExternalRecipientsTipsEnabled", Ty::Bool),
    p("MailTipsGroupMetricsEnabled", Ty::Bool),
    p(
        "MailTipsLargeAudienceThreshold",
        Ty::Int { min: 0, max: 1000 },
    ),
    p("MailTipsMailboxSourcedTipsEnabled", Ty::Bool),
    p("AppsForOfficeEnabled", Ty::Bool),
    p("SendFromAliasEnabled", Ty::Bool),
    p("OAuth2ClientProfileEnabled", Ty::Bool),
    p("LinkPreviewEnabled", Ty::Bool),
    p("ConnectorsEnabled", Ty::Bool),
    p("BookingsEnabled", Ty::Bool),
    p("MessageRemindersEnabled", Ty::Bool),
    p("OutlookTextPredictionDisabled", Ty::Bool),
    p("WebSuggestedRepliesDisabled", Ty::Bool),
    p("Confirm", Ty::Switch),
    p("Force", Ty::Switch),
    p("WhatIf", Ty::Switch),
];

pub(crate) const CMDLETS: &[Cmdlet] = &[
    Cmdlet {
        name: "Get-OrganizationConfig",
        params: &[],
        run: get_organization_config,
    },
    Cmdlet {
        name: "Set-OrganizationConfig",
        params: ORG_SETTABLE,
        run: set_organization_config,
    },
    Cmdlet {
        name: "Get-AdminAuditLogConfig",
        params: &[],
        run: get_admin_audit_log_config,
    },
    Cmdlet {
        name: "Set-AdminAuditLogConfig",
        params: &[
            p("UnifiedAuditLogIngestionEnabled", Ty::Bool),
            p("Confirm", Ty::Switch),
            p("Force", Ty::Switch),
            p("WhatIf", Ty::Switch),
        ],
        run: set_admin_audit_log_config,
    },
    Cmdlet {
        name: "Get-TransportConfig",
        params: &[p("Identity", Ty::Str)],
        run: get_transport_config,
    },
    Cmdlet {
        name: "Set-TransportConfig",
        params: &[
            p("Identity", Ty::Str),
            p("SmtpClientAuthenticationDisabled", Ty::Bool),
            p("ReplyAllStormProtectionEnabled", Ty::Bool),
            n("ExternalPostmasterAddress", Ty::Smtp),
            p("Confirm", Ty::Switch),
            p("Force", Ty::Switch),
            p("WhatIf", Ty::Switch),
        ],
        run: set_transport_config,
    },
    Cmdlet {
        name: "Get-ExternalInOutlook",
        params: &[p("Identity", Ty::Str)],
        run: get_external_in_outlook,
    },
    Cmdlet {
        name: "Set-ExternalInOutlook",
        params: &[
            p("Identity", Ty::Str),
            p("Enabled", Ty::Bool),
            p("AllowList", Ty::ListUpdate),
        ],
        run: set_external_in_outlook,
    },
];

/// The parameters that only steer the call, never settings.
fn is_control(name: &str) -> bool {
    matches!(name, "Identity" | "Confirm" | "Force" | "WhatIf")
}

/// An OrganizationIdParameter: this organization by id, domain or name.
fn check_organization(t: &Tenant, b: &Bound, object_names: &[&str]) -> Result<(), ExoError> {
    let Some(key) = b.str("Identity") else {
        return Ok(());
    };
    let ok = key.eq_ignore_ascii_case(&t.id)
        || t.is_verified_domain(key)
        || key.eq_ignore_ascii_case(&t.display_name)
        || object_names.iter().any(|n| n.eq_ignore_ascii_case(key));
    if ok {
        Ok(())
    } else {
        Err(ExoError::not_found(key))
    }
}

/// Applies the settings in `b` to `target`; returns whether any value changed.
fn apply(target: &mut Map<String, Value>, b: &Bound, what_if: bool) -> bool {
    let mut changed = false;
    for (name, v) in b.iter().filter(|(k, _)| !is_control(k)) {
        let current = target.get(name).cloned().unwrap_or(Value::Null);
        let new = match v {
            Value::Object(update) => {
                // @{Add=…; Remove=…} on a multi-valued property.
                let mut list: Vec<Value> = current.as_array().cloned().unwrap_or_default();
                for a in update["Add"].as_array().into_iter().flatten() {
                    if !list.iter().any(|x| same_text(x, a)) {
                        list.push(a.clone());
                    }
                }
                for r in update["Remove"].as_array().into_iter().flatten() {
                    list.retain(|x| !same_text(x, r));
                }
                Value::Array(list)
            }
            other => other.clone(),
        };
        if new != current {
            changed = true;
            if !what_if {
                target.insert(name.to_string(), new);
            }
        }
    }
    changed
}

fn same_text(a: &Value, b: &Value) -> bool {
    match (a.as_str(), b.as_str()) {
        (Some(x), Some(y)) => x.eq_ignore_ascii_case(y),
        _ => a == b,
    }
}

fn organization_config_json(t: &Tenant) -> Value {
    let mut out = Map::new();
    let created = rfc3339(t.created_date_time);
    for (k, v) in [
        ("Name", json!(INITIAL_DOMAIN)),
        ("Identity", json!(INITIAL_DOMAIN)),
        ("DisplayName", json!(t.display_name)),
        (
            "Guid",
            json!(derived_guid(&format!("organization/{}", t.id))),
        ),
        ("ExchangeObjectId", json!(t.id)),
        ("IsDehydrated", json!(false)),
        ("IsTenantInGracePeriod", json!(false)),
        ("IsTenantAccessBlocked", json!(false)),
        ("AllowPlusAddressInRecipients", json!(false)),
        ("MailTipsLargeAudienceThreshold", json!(25)),
        ("DefaultPublicFolderAgeLimit", Value::Null),
        ("PublicFoldersEnabled", json!("Local")),
        ("ActivityBasedAuthenticationTimeoutEnabled", json!(true)),
        (
            "ActivityBasedAuthenticationTimeoutInterval",
            json!("06:00:00"),
        ),
        ("CustomerLockboxEnabled", json!(false)),
        ("EwsEnabled", Value::Null),
        ("MapiHttpEnabled", json!(true)),
        ("SmtpActionableMessagesEnabled", json!(true)),
        ("WhenCreated", json!(created)),
        ("WhenCreatedUTC", json!(created)),
        ("IsValid", json!(true)),
        ("ObjectState", json!("Unchanged")),
    ] {
        out.insert(k.into(), v);
    }
    for (k, v) in &t.exchange.organization_config {
        out.insert(k.clone(), v.clone());
    }
    Value::Object(out)
}

fn get_organization_config(call: &mut Call, _b: &Bound) -> Result<Vec<Value>, ExoError> {
    Ok(vec![call.read(organization_config_json)])
}

fn set_organization_config(call: &mut Call, b: &Bound) -> Result<Vec<Value>, ExoError> {
    let what_if = b.switch("WhatIf");
    let now = rfc3339(call.ctx.now);
    let changed = call.mutate(|t| {
        let config = &mut t.exchange.organization_config;
        let focused_before = config.get("FocusedInboxOn").cloned();
        let changed = apply(config, b, what_if);
        if !what_if
            && b.has("FocusedInboxOn")
            && config.get("FocusedInboxOn") != focused_before.as_ref()
        {
            config.insert("FocusedInboxOnLastUpdateTime".into(), json!(now));
        }
        Ok(changed)
    })?;
    if !changed && !what_if {
        call.nothing_modified(INITIAL_DOMAIN);
    }
    Ok(Vec::new())
}

const AUDIT_NAME: &str = "Admin Audit Log Settings";

fn get_admin_audit_log_config(call: &mut Call, _b: &Bound) -> Result<Vec<Value>, ExoError> {
    let v = call.read(|t| {
        let mut out = Map::new();
        for (k, v) in [
            ("Name", json!(AUDIT_NAME)),
            ("Identity", json!(AUDIT_NAME)),
            ("AdminAuditLogEnabled", json!(true)),
            ("LogLevel", json!("None")),
            ("TestCmdletLoggingEnabled", json!(false)),
            ("AdminAuditLogCmdlets", json!(["*"])),
            ("AdminAuditLogParameters", json!(["*"])),
            ("AdminAuditLogExcludedCmdlets", json!([])),
            ("AdminAuditLogAgeLimit", json!("90.00:00:00")),
            ("IsValid", json!(true)),
            ("ObjectState", json!("Unchanged")),
        ] {
            out.insert(k.into(), v);
        }
        for (k, v) in &t.exchange.admin_audit_log_config {
            out.insert(k.clone(), v.clone());
        }
        Value::Object(out)
    });
    Ok(vec![v])
}

fn set_admin_audit_log_config(call: &mut Call, b: &Bound) -> Result<Vec<Value>, ExoError> {
    let what_if = b.switch("WhatIf");
    let now = rfc3339(call.ctx.now);
    let changed = call.mutate(|t| {
        let config = &mut t.exchange.admin_audit_log_config;
        let changed = apply(config, b, what_if);
        let on = config
            .get("UnifiedAuditLogIngestionEnabled")
            .and_then(Value::as_bool)
            .unwrap_or(false);
        if !what_if
            && on
            && config
                .get("UnifiedAuditLogFirstOptInDate")
                .is_none_or(Value::is_null)
        {
            config.insert("UnifiedAuditLogFirstOptInDate".into(), json!(now));
        }
        Ok(changed)
    })?;
    if !changed && !what_if {
        call.nothing_modified(AUDIT_NAME);
    }
    Ok(Vec::new())
}

const TRANSPORT_NAME: &str = "Transport Settings";

fn get_transport_config(call: &mut Call, b: &Bound) -> Result<Vec<Value>, ExoError> {
    call.read(|t| {
        check_organization(t, b, &[TRANSPORT_NAME])?;
        let mut out = Map::new();
        for (k, v) in [
            ("Name", json!(TRANSPORT_NAME)),
            ("Identity", json!(TRANSPORT_NAME)),
            ("MaxSendSize", json!(size_text(35 << 20))),
            ("MaxReceiveSize", json!(size_text(36 << 20))),
            ("MaxRecipientEnvelopeLimit", json!("500")),
            ("ReplyAllStormDetectionMinimumRecipients", json!(2500)),
            ("ReplyAllStormDetectionMinimumReplies", json!(10)),
            ("ReplyAllStormBlockDurationHours", json!(6)),
            ("InternalSMTPServers", json!([])),
            ("TLSReceiveDomainSecureList", json!([])),
            ("TLSSendDomainSecureList", json!([])),
            ("AllowLegacyTLSClients", json!(false)),
            ("ExternalDsnReportingAuthority", Value::Null),
            ("IsValid", json!(true)),
            ("ObjectState", json!("Unchanged")),
        ] {
            out.insert(k.into(), v);
        }
        for (k, v) in &t.exchange.transport_config {
            out.insert(k.clone(), v.clone());
        }
        Ok(vec![Value::Object(out)])
    })
}

fn set_transport_config(call: &mut Call, b: &Bound) -> Result<Vec<Value>, ExoError> {
    let what_if = b.switch("WhatIf");
    let changed = call.mutate(|t| {
        check_organization(t, b, &[TRANSPORT_NAME])?;
        Ok(apply(&mut t.exchange.transport_config, b, what_if))
    })?;
    if !changed && !what_if {
        call.nothing_modified(TRANSPORT_NAME);
    }
    Ok(Vec::new())
}

fn external_json(t: &Tenant) -> Value {
    let mut out = Map::new();
    out.insert("Identity".into(), json!(t.id));
    out.insert("Enabled".into(), json!(false));
    out.insert("AllowList@odata.type".into(), json!("#Collection(String)"));
    out.insert("AllowList".into(), json!([]));
    for (k, v) in &t.exchange.external_in_outlook {
        out.insert(k.clone(), v.clone());
    }
    out.insert("IsValid".into(), json!(true));
    out.insert("ObjectState".into(), json!("Unchanged"));
    Value::Object(out)
}

fn get_external_in_outlook(call: &mut Call, b: &Bound) -> Result<Vec<Value>, ExoError> {
    call.read(|t| {
        check_organization(t, b, &[])?;
        Ok(vec![external_json(t)])
    })
}

fn set_external_in_outlook(call: &mut Call, b: &Bound) -> Result<Vec<Value>, ExoError> {
    let (identity, changed) = call.mutate(|t| {
        check_organization(t, b, &[])?;
        let id = t.id.clone();
        Ok((id, apply(&mut t.exchange.external_in_outlook, b, false)))
    })?;
    if !changed {
        call.nothing_modified(&identity);
    }
    Ok(Vec::new())
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use crate::testkit::{assert_exo_error, kit};

    #[test]
    fn organization_configuration() {
        let k = kit();
        let org = &k.ok("Get-OrganizationConfig", json!({}))[0];
        assert_eq!(org["ReadTrackingEnabled"], false);
        assert_eq!(org["AuditDisabled"], false);
        assert!(org["FocusedInboxOn"].is_null());
        assert_eq!(org["DisablePlusAddressInRecipients"], false);

        k.ok(
            "Set-OrganizationConfig",
            json!({"ReadTrackingEnabled": true, "FocusedInboxOn": true}),
        );
        let org = &k.ok("Get-OrganizationConfig", json!({}))[0];
        assert_eq!(org["ReadTrackingEnabled"], true);
        assert_eq!(org["FocusedInboxOn"], true);
        assert!(org["FocusedInboxOnLastUpdateTime"].is_string());
        let a = k.exo(
            "Set-OrganizationConfig",
            json!({"ReadTrackingEnabled": true}),
        );
        assert_eq!(a.warnings().len(), 1, "{}", a.body);

        // AllowPlusAddressInRecipients is gone from the cloud cmdlet; AdfsIssuer is on-premises
        // only; EwsEnabled exists but is not emulated.
        assert_exo_error(
            &k.exo(
                "Set-OrganizationConfig",
                json!({"AllowPlusAddressInRecipients": true}),
            ),
            400,
            "BadRequest",
            "A parameter cannot be found that matches parameter name 'AllowPlusAddressInRecipients'.",
        );
        assert_exo_error(
            &k.exo("Set-OrganizationConfig", json!({"AdfsIssuer": "https://x"})),
            400,
            "BadRequest",
            "A parameter cannot be found",
        );
        assert_exo_error(
            &k.exo("Set-OrganizationConfig", json!({"EwsEnabled": false})),
            400,
            "BadRequest",
            "does not emulate",
        );
        assert_exo_error(
            &k.exo("Set-OrganizationConfig", json!({"AuditDisabled": "maybe"})),
            400,
            "BadRequest",
            "Boolean parameters accept only Boolean values and numbers",
        );

        // Admin audit log, transport and external tagging.
        assert_eq!(
            k.ok("Get-AdminAuditLogConfig", json!({}))[0]["UnifiedAuditLogIngestionEnabled"],
            false
        );
        k.ok(
            "Set-AdminAuditLogConfig",
            json!({"UnifiedAuditLogIngestionEnabled": true}),
        );
        let audit = &k.ok("Get-AdminAuditLogConfig", json!({}))[0];
        assert_eq!(audit["UnifiedAuditLogIngestionEnabled"], true);
        assert!(audit["UnifiedAuditLogFirstOptInDate"].is_string());
        assert_exo_error(
            &k.exo(
                "Set-AdminAuditLogConfig",
                json!({"AdminAuditLogEnabled": true}),
            ),
            400,
            "BadRequest",
            "A parameter cannot be found",
        );

        assert_eq!(
            k.ok("Get-TransportConfig", json!({}))[0]["SmtpClientAuthenticationDisabled"],
            false
        );
        k.ok(
            "Set-TransportConfig",
            json!({"SmtpClientAuthenticationDisabled": true}),
        );
        assert_eq!(
            k.ok("Get-TransportConfig", json!({}))[0]["SmtpClientAuthenticationDisabled"],
            true
        );
        assert_eq!(
            k.exo("Get-TransportConfig", json!({"Identity": "contoso.com"}))
                .status,
            404
        );

        assert_eq!(
            k.ok("Get-ExternalInOutlook", json!({}))[0]["Enabled"],
            false
        );
        k.ok(
            "Set-ExternalInOutlook",
            json!({"Enabled": true, "AllowList": ["partner.com", "x@fabrikam.com"]}),
        );
        k.ok(
            "Set-ExternalInOutlook",
            json!({"AllowList": {"@odata.type": "#Exchange.GenericHashTable", "Add": "y@fabrikam.com", "Remove": "partner.com"}}),
        );
        let ext = &k.ok("Get-ExternalInOutlook", json!({}))[0];
        assert_eq!(ext["Enabled"], true);
        assert_eq!(
            ext["AllowList"],
            json!(["x@fabrikam.com", "y@fabrikam.com"])
        );
    }
}
