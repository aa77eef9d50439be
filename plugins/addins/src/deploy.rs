//! deploy_outlook_addin, list_outlook_addins and remove_outlook_addin.

use crate::apps::{self, App};
use m365_plugin_sdk::addins::{AddinManifest, fetch_manifest};
use m365_plugin_sdk::exchange::{address, invoke};
use m365_plugin_sdk::host::progress;
use m365_plugin_sdk::text::is_valid_email;
use m365_plugin_sdk::{ToolError, Value, json};
use schemars::JsonSchema;
use serde::Deserialize;

#[derive(Debug, Clone, Copy, PartialEq, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub enum DeploymentScope {
    Organization,
    SpecificUsers,
}

#[derive(Debug, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct DeployArgs {
    /// https URL of the add-in's XML manifest.
    #[schemars(url, length(max = 2048))]
    pub addin_manifest_url: String,
    pub deployment_scope: DeploymentScope,
    /// Mailboxes that get it (scope specificUsers).
    #[schemars(length(min = 1, max = 100), inner(email))]
    pub target_users: Option<Vec<String>>,
    /// Available at once (default true).
    pub enabled: Option<bool>,
    /// Users cannot turn it off (default false).
    pub mandatory: Option<bool>,
    /// Required when the add-in asks for full read/write access to mailboxes.
    pub allow_read_write_mailbox: Option<bool>,
    /// Fetch and check the manifest, show what would happen; deploy nothing.
    pub dry_run: Option<bool>,
}

/// Permissions that give an add-in read/write access to the whole mailbox
/// (add-in only manifest, unified manifest).
const READ_WRITE_MAILBOX: &[&str] = &["ReadWriteMailbox", "Mailbox.ReadWrite.User"];

fn manifest_json(m: &AddinManifest) -> Value {
    json!({
        "id": m.id.to_ascii_lowercase(),
        "displayName": m.display_name,
        "version": m.version,
        "provider": m.provider,
        "permissions": m.permissions,
        "hosts": m.hosts,
        "format": m.format,
        "sha256": m.sha256,
        "manifestUrl": m.url,
    })
}

/// The mailboxes' primary addresses, or INPUT_001 naming every unknown one.
fn resolve_users(users: &[String]) -> Result<Vec<String>, ToolError> {
    let mut found = Vec::new();
    let mut missing = Vec::new();
    for (i, u) in users.iter().enumerate() {
        let u = u.trim();
        if !is_valid_email(u) {
            return Err(ToolError::input(
                Some(&format!("targetUsers[{i}]")),
                format!("{u} is not an e-mail address; fix it and call again."),
            ));
        }
        progress(
            i as u64,
            users.len() as u64,
            &format!("Checking mailbox {u}"),
        );
        match invoke("Get-Mailbox", json!({ "Identity": u })) {
            Ok(list) => {
                let addr = list
                    .first()
                    .map(address)
                    .unwrap_or_else(|| u.to_ascii_lowercase());
                if !found.contains(&addr) {
                    found.push(addr);
                }
            }
            Err(e) if e.is_not_found() => missing.push(u.to_string()),
            Err(e) => return Err(e.into()),
        }
    }
    if !missing.is_empty() {
        return Err(ToolError::input(
            Some("targetUsers"),
            format!(
                "No mailbox for {}; check the addresses (list_users shows the users).",
                missing.join(", ")
            ),
        )
        .with_detail("unknownUsers", json!(missing)));
    }
    Ok(found)
}

fn same_users(a: &[String], b: &[String]) -> bool {
    let norm = |l: &[String]| {
        let mut v: Vec<String> = l.iter().map(|s| s.to_ascii_lowercase()).collect();
        v.sort();
        v
    };
    norm(a) == norm(b)
}

pub fn deploy(a: DeployArgs) -> Result<Value, ToolError> {
    let dry = a.dry_run.unwrap_or(false);
    let targets = match (a.deployment_scope, a.target_users.as_deref()) {
        (DeploymentScope::SpecificUsers, None | Some([])) => {
            return Err(ToolError::input(
                Some("targetUsers"),
                "deploymentScope specificUsers needs targetUsers, the mailboxes that get the \
                 add-in.",
            ));
        }
        (DeploymentScope::Organization, Some(_)) => {
            return Err(ToolError::input(
                Some("targetUsers"),
                "targetUsers is only for deploymentScope specificUsers; drop it to deploy to \
                 everyone.",
            ));
        }
        (_, t) => t.unwrap_or_default(),
    };

    progress(0, None, "Fetching and checking the add-in manifest");
    let manifest = fetch_manifest(a.addin_manifest_url.trim())?;
    let addin = manifest_json(&manifest);
    let needs_rw = manifest.permissions.iter().any(|p| {
        READ_WRITE_MAILBOX
            .iter()
            .any(|rw| rw.eq_ignore_ascii_case(p))
    });
    if needs_rw && a.allow_read_write_mailbox != Some(true) {
        return Err(ToolError::input(
            Some("allowReadWriteMailbox"),
            format!(
                "{} asks for full read/write access to every mailbox it runs in ({}). If you \
                 trust {}, call again with allowReadWriteMailbox true.",
                manifest.display_name,
                manifest.permissions.join(", "),
                if manifest.provider.is_empty() {
                    "its provider"
                } else {
                    &manifest.provider
                }
            ),
        )
        .with_detail("addin", addin));
    }

    if manifest.format.eq_ignore_ascii_case("json") {
        return Err(ToolError::input(
            Some("addinManifestUrl"),
            format!(
                "{} {} has a unified (JSON) manifest, which Exchange's New-App cannot install: \
                 deploy it from the Microsoft 365 admin center (Settings > Integrated apps), or \
                 give the add-in's XML manifest.",
                manifest.display_name, manifest.version
            ),
        )
        .with_detail("addin", addin));
    }
    let users = resolve_users(targets)?;
    let id = manifest.id.to_ascii_lowercase();
    let existing = apps::all()?.into_iter().find(|x| x.id == id);
    let provided_to = match a.deployment_scope {
        DeploymentScope::Organization => "Everyone",
        DeploymentScope::SpecificUsers => "SpecificUsers",
    };
    let enabled = a.enabled.unwrap_or(true);
    let default_state = if a.mandatory.unwrap_or(false) {
        "AlwaysEnabled"
    } else {
        "Enabled"
    };
    let deployment = json!({
        "providedTo": provided_to,
        "users": users,
        "enabled": enabled,
        "defaultStateForUser": default_state,
    });

    if let Some(x) = &existing {
        let same = x.provided_to.eq_ignore_ascii_case(provided_to)
            && same_users(&x.users, &users)
            && x.version.as_str() == Some(manifest.version.as_str())
            && x.enabled.as_bool().unwrap_or(true) == enabled;
        if !same {
            return Err(ToolError::input(
                Some("addinManifestUrl"),
                format!(
                    "{} is already deployed (version {}, to {}). To change its version or who \
                     gets it, remove it with remove_outlook_addin, then deploy again.",
                    x.display_name,
                    x.version.as_str().unwrap_or("?"),
                    x.audience()
                ),
            )
            .with_detail("deployed", json!(x)));
        }
        return Ok(json!({
            "summary": format!(
                "{} {} is already deployed to {}; nothing was changed.",
                x.display_name, manifest.version, x.audience()
            ),
            "dryRun": dry,
            "status": "alreadyDeployed",
            "addin": addin,
            "before": x,
            "after": x,
        }));
    }

    let audience = if users.is_empty() {
        "everyone in the organization".to_string()
    } else {
        users.join(", ")
    };
    if dry {
        return Ok(json!({
            "summary": format!(
                "Dry run: would deploy {} {} by {} to {audience}; nothing was changed.",
                manifest.display_name, manifest.version, manifest.provider
            ),
            "dryRun": true,
            "status": "wouldDeploy",
            "addin": addin,
            "deployment": deployment,
            "before": Value::Null,
        }));
    }

    progress(1, 2, &format!("Deploying {}", manifest.display_name));
    let mut params = json!({
        "OrganizationApp": true,
        "Url": manifest.url,
        "ProvidedTo": provided_to,
        "DefaultStateForUser": default_state,
        "Enabled": enabled,
    });
    if !users.is_empty() {
        params["UserList"] = json!(users);
    }
    if needs_rw {
        params["AllowReadWriteMailbox"] = json!(true);
    }
    invoke("New-App", params)?;
    let after = apps::all()?.into_iter().find(|x| x.id == id);
    progress(2, 2, "Done");
    Ok(json!({
        "summary": format!(
            "Deployed {} {} by {} to {audience}{}. Outlook shows it within a few hours (up to 24).",
            manifest.display_name,
            manifest.version,
            manifest.provider,
            if enabled { "" } else { " (disabled)" }
        ),
        "dryRun": false,
        "status": "deployed",
        "addin": addin,
        "deployment": deployment,
        "before": Value::Null,
        "after": after,
    }))
}

#[derive(Debug, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ListArgs {
    /// Page size (default 25).
    #[schemars(range(min = 1, max = 100))]
    pub top: Option<u32>,
    /// nextCursor from the previous page.
    #[schemars(length(min = 1, max = 100))]
    pub cursor: Option<String>,
}

pub fn list(a: ListArgs) -> Result<Value, ToolError> {
    let all = apps::all()?;
    let start = match &a.cursor {
        None => 0,
        Some(c) => c
            .trim()
            .parse::<usize>()
            .ok()
            .filter(|n| *n <= all.len())
            .ok_or_else(|| {
                ToolError::input(
                    Some("cursor"),
                    "The cursor is not one list_outlook_addins returned; call without it to \
                     start again.",
                )
            })?,
    };
    let top = a.top.unwrap_or(25) as usize;
    let page: Vec<&App> = all.iter().skip(start).take(top).collect();
    let next = (start + top < all.len()).then(|| (start + top).to_string());
    Ok(json!({ "addins": page, "total": all.len(), "nextCursor": next }))
}

#[derive(Debug, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct RemoveArgs {
    /// The add-in's id (GUID) or exact display name.
    #[schemars(length(min = 1, max = 256))]
    pub addin_id: String,
    /// Show what would be removed; remove nothing.
    pub dry_run: Option<bool>,
}

pub fn plan_remove(a: RemoveArgs) -> Result<String, ToolError> {
    let app = apps::find(&apps::all()?, &a.addin_id)?;
    let who = app.audience();
    let dry = if a.dry_run.unwrap_or(false) {
        "Dry run (nothing will be removed): "
    } else {
        ""
    };
    Ok(format!(
        "{dry}Remove the Outlook add-in \"{}\" ({}, version {}) from the organization. Who loses \
         it: {who}. Deploying it again later needs its manifest URL.",
        app.display_name,
        app.id,
        app.version.as_str().unwrap_or("?"),
    ))
}

pub fn remove(a: RemoveArgs) -> Result<Value, ToolError> {
    let app = apps::find(&apps::all()?, &a.addin_id)?;
    let who = app.audience();
    if a.dry_run.unwrap_or(false) {
        return Ok(json!({
            "summary": format!(
                "Dry run: would remove {} ({}); {who} would lose it. Nothing was changed.",
                app.display_name, app.id
            ),
            "dryRun": true,
            "before": app,
            "after": app,
        }));
    }
    invoke(
        "Remove-App",
        json!({ "Identity": app.id, "OrganizationApp": true }),
    )?;
    let still = apps::all()?.into_iter().find(|x| x.id == app.id);
    Ok(json!({
        "summary": format!(
            "Removed {} ({}); {who} no longer get it (Outlook drops it within a few hours).",
            app.display_name, app.id
        ),
        "dryRun": false,
        "removed": still.is_none(),
        "before": app,
        "after": still,
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn user_lists_compare_without_order_or_case() {
        let a = vec!["Ann@x.com".to_string(), "bob@x.com".to_string()];
        let b = vec!["bob@x.com".to_string(), "ann@x.com".to_string()];
        assert!(same_users(&a, &b));
        assert!(!same_users(&a, &b[..1]));
    }
}
