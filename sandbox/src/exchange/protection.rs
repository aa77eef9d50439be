//! Mail flow protection: `Get-RemoteDomain` (the built-in `Default` remote domain allows
//! automatic forwarding: "The default value is $true" of `AutoForwardEnabled`),
//! `Get-HostedOutboundSpamFilterPolicy` (its `AutoForwardingMode` `Automatic`, `On` or `Off`)
//! and `Get-DkimSigningConfig` (one configuration per domain: the initial `*.onmicrosoft.com`
//! domain is signed by Microsoft; a custom domain has a configuration once one was created,
//! `Enabled` or not). An `-Identity` that matches nothing is Exchange's not-found error.
//!
//! Microsoft Learn: Set-RemoteDomain; Set-HostedOutboundSpamFilterPolicy;
//! Get-DkimSigningConfig; "Configuring and controlling external email forwarding".

use serde_json::{Map, Value, json};

use super::cmdlet::{Call, Cmdlet};
use super::error::ExoError;
use super::params::{Bound, Ty, p};
use crate::tenant::ids::derived_guid;
use crate::tenant::{INITIAL_DOMAIN, Tenant};
use crate::web::time::rfc3339;

pub(crate) const CMDLETS: &[Cmdlet] = &[
    Cmdlet {
        name: "Get-RemoteDomain",
        params: &[p("Identity", Ty::Str)],
        run: get_remote_domain,
    },
    Cmdlet {
        name: "Get-HostedOutboundSpamFilterPolicy",
        params: &[p("Identity", Ty::Str)],
        run: get_outbound_spam_policy,
    },
    Cmdlet {
        name: "Get-DkimSigningConfig",
        params: &[p("Identity", Ty::Str)],
        run: get_dkim_signing_config,
    },
];

/// The objects whose `Name` or `Identity` is `-Identity` (all without it), or not found.
fn by_identity(objects: Vec<Map<String, Value>>, b: &Bound) -> Result<Vec<Value>, ExoError> {
    let Some(key) = b.str("Identity") else {
        return Ok(objects.into_iter().map(Value::Object).collect());
    };
    let found: Vec<Value> = objects
        .into_iter()
        .filter(|o| {
            ["Name", "Identity", "DomainName", "Domain"]
                .iter()
                .any(|k| {
                    o.get(*k)
                        .and_then(Value::as_str)
                        .is_some_and(|v| v.eq_ignore_ascii_case(key))
                })
        })
        .map(Value::Object)
        .collect();
    if found.is_empty() {
        return Err(ExoError::not_found(key));
    }
    Ok(found)
}

fn get_remote_domain(call: &mut Call, b: &Bound) -> Result<Vec<Value>, ExoError> {
    let domains = call.read(|t| t.exchange.remote_domains.clone());
    by_identity(domains, b)
}

fn get_outbound_spam_policy(call: &mut Call, b: &Bound) -> Result<Vec<Value>, ExoError> {
    let policies = call.read(|t| t.exchange.outbound_spam_policies.clone());
    by_identity(policies, b)
}

fn dkim_json(t: &Tenant, domain: &str, enabled: bool) -> Map<String, Value> {
    let dashed = domain.replace('.', "-");
    let created = rfc3339(t.created_date_time);
    let mut out = Map::new();
    for (k, v) in [
        ("Domain", json!(domain)),
        ("Name", json!(domain)),
        ("Identity", json!(domain)),
        ("Enabled", json!(enabled)),
        ("Status", json!(if enabled { "Valid" } else { "Disabled" })),
        (
            "Selector1CNAME",
            json!(format!("selector1-{dashed}._domainkey.{INITIAL_DOMAIN}")),
        ),
        (
            "Selector2CNAME",
            json!(format!("selector2-{dashed}._domainkey.{INITIAL_DOMAIN}")),
        ),
        ("Selector1KeySize", json!(2048)),
        ("Selector2KeySize", json!(2048)),
        ("Algorithm", json!("RSA")),
        ("BodyCanonicalization", json!("Relaxed")),
        ("HeaderCanonicalization", json!("Relaxed")),
        ("KeyCreationTime", json!(created)),
        ("RotateOnDate", json!(created)),
        ("SelectorBeforeRotateOnDate", json!("selector2")),
        ("SelectorAfterRotateOnDate", json!("selector1")),
        (
            "IsDefault",
            json!(domain.eq_ignore_ascii_case(INITIAL_DOMAIN)),
        ),
        ("Guid", json!(derived_guid(&format!("dkim/{domain}")))),
        ("IsValid", json!(true)),
        ("ObjectState", json!("Unchanged")),
    ] {
        out.insert(k.into(), v);
    }
    out
}

fn get_dkim_signing_config(call: &mut Call, b: &Bound) -> Result<Vec<Value>, ExoError> {
    let configs = call.read(|t| {
        let mut out = vec![dkim_json(t, INITIAL_DOMAIN, true)];
        for d in t.domains.iter().filter(|d| !d.is_initial) {
            if let Some(enabled) = t.exchange.dkim.get(&d.name.to_ascii_lowercase()) {
                out.push(dkim_json(t, &d.name, *enabled));
            }
        }
        out
    });
    by_identity(configs, b)
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use crate::testkit::{assert_exo_error, kit};

    #[test]
    fn forwarding_controls_and_dkim_as_a_new_tenant_has_them() {
        let k = kit();
        let rd = k.ok("Get-RemoteDomain", json!({}));
        assert_eq!(rd.len(), 1);
        assert_eq!(rd[0]["DomainName"], "*");
        assert_eq!(rd[0]["AutoForwardEnabled"], true);
        assert_eq!(
            k.ok("Get-RemoteDomain", json!({"Identity": "Default"}))
                .len(),
            1
        );
        let spam = &k.ok("Get-HostedOutboundSpamFilterPolicy", json!({}))[0];
        assert_eq!(spam["AutoForwardingMode"], "Automatic");
        assert_exo_error(
            &k.exo(
                "Get-HostedOutboundSpamFilterPolicy",
                json!({"Identity": "Strict"}),
            ),
            404,
            "NotFound",
            "object 'Strict' couldn't be found",
        );

        // Only the initial domain is signed until a custom domain gets a configuration.
        let dkim = k.ok("Get-DkimSigningConfig", json!({}));
        assert_eq!(dkim.len(), 1);
        assert_eq!(dkim[0]["Domain"], "libertygoldsilver.onmicrosoft.com");
        assert_eq!(dkim[0]["Enabled"], true);
        k.app
            .store
            .mutate(|t| {
                t.exchange
                    .dkim
                    .insert("libertygoldsilver.com".into(), false);
                Ok(())
            })
            .unwrap();
        let custom = &k.ok(
            "Get-DkimSigningConfig",
            json!({"Identity": "libertygoldsilver.com"}),
        )[0];
        assert_eq!(custom["Enabled"], false);
        assert_eq!(
            custom["Selector1CNAME"],
            "selector1-libertygoldsilver-com._domainkey.libertygoldsilver.onmicrosoft.com"
        );
        assert_eq!(
            k.exo(
                "Get-DkimSigningConfig",
                json!({"Identity": "other.example"})
            )
            .status,
            404
        );
    }
}
