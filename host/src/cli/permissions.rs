//! `m365-admin permissions [--tools …] [--plugins …] [--read-only]`: the
//! Entra ID application permissions (and the Exchange role) that the
//! selected tools' plugins need, plus the host's own read, to consent
//! exactly those.

use super::{ScopeArgs, TenantArgs};
use m365_admin::errors::CodedError;
use m365_policy::Grant;
use m365_policy::entra::{EXCHANGE_APP_PERMISSION, EXCHANGE_ROLE, host_grant, permissions_for};
use std::process::ExitCode;

pub async fn run(scope: ScopeArgs) -> Result<ExitCode, CodedError> {
    let app = super::start(TenantArgs::default(), scope, false).await?;
    let registry = app.registry();
    let mut plugins: Vec<&str> = registry
        .tools
        .iter()
        .filter(|(name, e)| {
            app.selection
                .decide(name, &e.plugin, e.tool.annotations.read_only)
                .is_ok()
        })
        .map(|(_, e)| e.plugin.as_str())
        .collect();
    plugins.sort();
    plugins.dedup();
    // The host's own read (health, the domain in every envelope).
    let mut graph = permissions_for(&[host_grant()]);
    let mut exchange = false;
    for p in &plugins {
        let grants = &registry.plugins[*p].grants;
        exchange |= grants.iter().any(|g| matches!(g, Grant::Exchange(_)));
        for perm in permissions_for(grants) {
            if perm != EXCHANGE_APP_PERMISSION {
                graph.push(perm);
            }
        }
    }
    graph.sort();
    graph.dedup();
    println!(
        "Microsoft Graph application permissions (for plugins {}):",
        plugins.join(", ")
    );
    for p in &graph {
        println!("  {p}");
    }
    if exchange {
        println!("Office 365 Exchange Online application permission:\n  {EXCHANGE_APP_PERMISSION}");
        println!("Exchange role:\n  {EXCHANGE_ROLE}");
    }
    Ok(ExitCode::SUCCESS)
}
