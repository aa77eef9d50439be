//! `m365-admin doctor`: is this installation ready? Configuration,
//! credentials (a token is fetched), the database and its audit chain, each
//! plugin's state, and — for every loaded plugin — the Entra ID permissions
//! its grants need compared with the `roles` the app's tokens actually carry.

use super::{ScopeArgs, TenantArgs};
use m365_admin::app::App;
use m365_admin::auth::token_roles;
use m365_admin::errors::{CodedError, ErrorCode};
use m365_policy::entra::{self, EXCHANGE_APP_PERMISSION};
use serde_json::{Value, json};
use std::process::ExitCode;

struct Report {
    json: Value,
    /// Lines for a person, in the order to act on them.
    lines: Vec<String>,
    ok: bool,
}

pub async fn run(tenant: TenantArgs) -> Result<ExitCode, CodedError> {
    let app = super::start(tenant, ScopeArgs::default(), true).await?;
    let report = check(&app).await;
    super::print_json(&report.json);
    for line in &report.lines {
        eprintln!("{line}");
    }
    app.shutdown().await;
    Ok(if report.ok {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    })
}

/// The application permissions the app's tokens carry, for Graph and for
/// Exchange (read from the tokens' `roles` claims).
async fn granted_roles(app: &App) -> Result<(Vec<String>, Vec<String>), CodedError> {
    let upstream = app
        .upstream
        .as_ref()
        .ok_or_else(|| CodedError::new(ErrorCode::Auth001, "No tenant connection in this mode."))?;
    let graph = upstream.auth().token(m365_admin::auth::GRAPH_SCOPE).await?;
    let exchange = upstream
        .auth()
        .token(m365_admin::auth::EXCHANGE_SCOPE)
        .await
        .map(|t| token_roles(t.expose()))
        .unwrap_or_default();
    Ok((token_roles(graph.expose()), exchange))
}

async fn check(app: &App) -> Report {
    let mut lines = Vec::new();
    let mut ok = true;
    let health = m365_admin::health::report(app).await;
    let tenant = health["tenant"].clone();
    lines.push(format!(
        "Tenant {} ({}), app {}",
        tenant["tenantId"].as_str().unwrap_or("?"),
        tenant["mode"].as_str().unwrap_or("?"),
        tenant["clientId"].as_str().unwrap_or("?")
    ));
    if health["database"]["status"] != "ok" || health["auditChain"]["status"] != "verified" {
        ok = false;
        lines.push(format!(
            "PROBLEM database: {} / audit chain: {}",
            health["database"], health["auditChain"]
        ));
    }
    let registry = app.registry();
    for p in &registry.problems {
        ok = false;
        lines.push(format!(
            "PROBLEM plugin {} not loaded: {}",
            p.source, p.reason
        ));
    }
    let (graph_roles, exchange_roles, token_error) = match granted_roles(app).await {
        Ok((g, e)) => (g, e, None),
        Err(e) => (Vec::new(), Vec::new(), Some(e.to_string())),
    };
    if let Some(e) = &token_error {
        ok = false;
        lines.push(format!("PROBLEM credentials: {e}"));
    }
    let mut missing = Vec::new();
    let host_grants = vec![entra::host_grant()];
    let owners = registry
        .plugins
        .values()
        .map(|p| (p.name.as_str(), &p.grants))
        .chain(std::iter::once(("(host)", &host_grants)));
    for (name, grants) in owners {
        for grant in grants {
            if let Some(need) = entra::needs(grant) {
                let held = if need.permission == EXCHANGE_APP_PERMISSION {
                    &exchange_roles
                } else {
                    &graph_roles
                };
                if token_error.is_none() && !need.met_by(held) {
                    missing.push(json!({"plugin": name, "grant": grant, "permission": need.permission, "alternatives": need.alternatives}));
                }
            }
        }
    }
    missing.dedup();
    // One line per permission to grant, naming every plugin and grant
    // that needs it.
    let mut by_permission: std::collections::BTreeMap<&str, Vec<String>> = Default::default();
    for m in &missing {
        by_permission
            .entry(m["permission"].as_str().unwrap_or(""))
            .or_default()
            .push(format!(
                "plugin {} for {}",
                m["plugin"].as_str().unwrap_or(""),
                m["grant"].as_str().unwrap_or("")
            ));
    }
    for (permission, users) in &by_permission {
        ok = false;
        let api = if *permission == EXCHANGE_APP_PERMISSION {
            "Office 365 Exchange Online"
        } else {
            "Microsoft Graph"
        };
        lines.push(format!(
            "MISSING {permission} ({api} application permission), needed by {}: in Entra ID, App registrations > this app > API permissions > Add a permission > {api} > Application permissions > {permission}, then Grant admin consent.",
            users.join(", ")
        ));
    }
    if ok {
        lines.push("OK: credentials work, the database verifies, every plugin loaded and has the permissions it needs.".into());
    }
    Report {
        json: json!({
            "ok": ok,
            "tenant": tenant,
            "database": health["database"],
            "auditChain": health["auditChain"],
            "plugins": health["plugins"],
            "pluginsNotLoaded": health["pluginsNotLoaded"],
            "graphRoles": graph_roles,
            "exchangeRoles": exchange_roles,
            "missingPermissions": missing,
        }),
        lines,
        ok,
    }
}
