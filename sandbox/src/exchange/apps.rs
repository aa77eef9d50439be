//! Organization add-ins: `New-App -OrganizationApp -Url …`, `Get-App -OrganizationApp` and
//! `Remove-App -OrganizationApp`. New-App "downloads" the manifest from the sandbox's add-in
//! catalogue (see `tenant::addins`) and reads it as Exchange does (see `manifest`). With app-only
//! authentication there is no signed-in user's mailbox, so the sandbox emulates only
//! organization add-ins.

use serde_json::{Value, json};

use super::cmdlet::{Call, Cmdlet};
use super::error::ExoError;
use super::mailbox::resolve;
use super::manifest::read_manifest;
use super::params::{Bound, Ty, m, p};
use crate::tenant::Tenant;

pub(crate) const CMDLETS: &[Cmdlet] = &[
    Cmdlet {
        name: "New-App",
        params: &[
            p("Url", Ty::Str),
            p("OrganizationApp", Ty::Switch),
            p(
                "ProvidedTo",
                Ty::Enum(
                    "Microsoft.Exchange.Data.ClientExtensionProvidedTo",
                    &["Everyone", "SpecificUsers"],
                ),
            ),
            p("UserList", Ty::List),
            p(
                "DefaultStateForUser",
                Ty::Enum(
                    "Microsoft.Exchange.Data.DefaultStateForUser",
                    &["Enabled", "Disabled", "AlwaysEnabled"],
                ),
            ),
            p("Enabled", Ty::Bool),
            p("Confirm", Ty::Switch),
            p("WhatIf", Ty::Switch),
        ],
        run: new_app,
    },
    Cmdlet {
        name: "Get-App",
        params: &[p("Identity", Ty::Str), p("OrganizationApp", Ty::Switch)],
        run: get_app,
    },
    Cmdlet {
        name: "Remove-App",
        params: &[
            m("Identity", Ty::Str),
            p("OrganizationApp", Ty::Switch),
            p("Confirm", Ty::Switch),
            p("WhatIf", Ty::Switch),
        ],
        run: remove_app,
    },
];

const EXTENSION_EXCEPTION: &str =
    "Microsoft.Exchange.Management.Extension.OwaExtensionOperationException";
/// Microsoft's limit on UserList.
const MAX_USERS: usize = 1000;

fn needs_organization_app(cmdlet: &str) -> ExoError {
    ExoError::task(
        "Ex1E0B7D",
        EXTENSION_EXCEPTION,
        format!(
            "{cmdlet} without -OrganizationApp acts on the calling user's mailbox, and an app-only connection has none. Use -OrganizationApp for an organization add-in (the sandbox does not emulate -Mailbox)."
        ),
    )
}

fn find_app(t: &Tenant, key: &str) -> Option<usize> {
    t.exchange.apps.iter().position(|a| {
        ["AppId", "Identity", "DisplayName"].iter().any(|k| {
            a.get(*k)
                .and_then(Value::as_str)
                .is_some_and(|v| v.eq_ignore_ascii_case(key.trim()))
        })
    })
}

fn new_app(call: &mut Call, b: &Bound) -> Result<Vec<Value>, ExoError> {
    if !b.switch("OrganizationApp") {
        return Err(needs_organization_app("New-App"));
    }
    let Some(url) = b.str("Url").map(str::trim).map(str::to_string) else {
        return Err(ExoError::task(
            "Ex1E0B7E",
            EXTENSION_EXCEPTION,
            "Specify the add-in's manifest with -Url (the sandbox does not emulate -FileData or the Office Store parameters).",
        ));
    };
    let entry = call
        .app
        .addins
        .download(&call.app.base_url, &url)
        .map_err(|why| {
            ExoError::task(
                "Ex9C1E5A",
                EXTENSION_EXCEPTION,
                format!("The app couldn't be downloaded from '{url}'. {why}"),
            )
        })?;
    let manifest = read_manifest(&entry.body).map_err(|why| {
        ExoError::task(
            "Ex9C1E5B",
            EXTENSION_EXCEPTION,
            format!("The app couldn't be installed because its manifest isn't valid. {why}"),
        )
    })?;
    let provided_to = b.str("ProvidedTo").unwrap_or("Everyone").to_string();
    let default_state = b
        .str("DefaultStateForUser")
        .unwrap_or("Disabled")
        .to_string();
    let enabled = b.bool("Enabled").unwrap_or(true);
    let users = b.list("UserList").unwrap_or_default();
    if users.len() > MAX_USERS {
        return Err(ExoError::binding(format!(
            "Cannot validate argument on parameter 'UserList'. The number of provided arguments ({}) exceeds the maximum number of allowed arguments ({MAX_USERS}). Provide fewer than {MAX_USERS} arguments, and then try the command again.",
            users.len()
        )));
    }
    let now = call.ctx.now;
    let what_if = b.switch("WhatIf");
    let app = call.mutate(|t| {
        let mut user_list: Vec<String> = Vec::new();
        for key in &users {
            let i = resolve(t, key, now)?;
            let address = t.users[i].primary_smtp();
            if !user_list.iter().any(|u| u.eq_ignore_ascii_case(&address)) {
                user_list.push(address);
            }
        }
        if let Some(existing) = find_app(t, &manifest.id) {
            let name = t.exchange.apps[existing]["DisplayName"].clone();
            return Err(ExoError::task(
                "Ex4D8A21",
                EXTENSION_EXCEPTION,
                format!(
                    "The app '{}' ({}) is already installed for the organization. Remove it with Remove-App before installing it again.",
                    name.as_str().unwrap_or_default(),
                    manifest.id
                ),
            ));
        }
        let app = json!({
            "Identity": manifest.id,
            "AppId": manifest.id,
            "DisplayName": manifest.display_name,
            "Description": manifest.description,
            "ProviderName": manifest.provider_name,
            "AppVersion": manifest.version,
            "Enabled": enabled,
            "DefaultStateForUser": default_state,
            "ProvidedTo": provided_to,
            "UserList@odata.type": "#Collection(String)",
            "UserList": user_list,
            "Scope": "Organization",
            "Type": "Private",
            "Requirements": "1.1",
            "IconURL": manifest.icon_url,
            "LicenseType": "Free",
            "AppStatus": "",
            "MarketplaceAssetID": null,
            "IsValid": true,
            "ObjectState": "Unchanged",
        });
        if !what_if && let Value::Object(o) = &app {
            t.exchange.apps.push(o.clone());
        }
        Ok(app)
    })?;
    Ok(if what_if { Vec::new() } else { vec![app] })
}

fn get_app(call: &mut Call, b: &Bound) -> Result<Vec<Value>, ExoError> {
    if !b.switch("OrganizationApp") {
        return Err(needs_organization_app("Get-App"));
    }
    call.read(|t| match b.str("Identity") {
        Some(key) => {
            let i = find_app(t, key).ok_or_else(|| ExoError::not_found(key))?;
            Ok(vec![Value::Object(t.exchange.apps[i].clone())])
        }
        None => Ok(t.exchange.apps.iter().cloned().map(Value::Object).collect()),
    })
}

fn remove_app(call: &mut Call, b: &Bound) -> Result<Vec<Value>, ExoError> {
    if !b.switch("OrganizationApp") {
        return Err(needs_organization_app("Remove-App"));
    }
    let key = b.str("Identity").unwrap_or_default().to_string();
    let what_if = b.switch("WhatIf");
    call.mutate(|t| {
        let i = find_app(t, &key).ok_or_else(|| ExoError::not_found(&key))?;
        if !what_if {
            t.exchange.apps.remove(i);
        }
        Ok(())
    })?;
    Ok(Vec::new())
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use crate::testkit::{ADMIN, assert_exo_error, kit};

    #[test]
    fn organization_add_ins() {
        let k = kit();
        let (_, ann) = k.mailbox_user("ann");
        let url = "https://127.0.0.1:9/_sandbox/addins/message-tagger.xml";
        let app = &k.ok(
            "New-App",
            json!({"OrganizationApp": true, "Url": url, "ProvidedTo": "SpecificUsers", "UserList": format!("{ann},{ADMIN}"), "DefaultStateForUser": "Enabled"}),
        )[0];
        for (prop, want) in [
            ("AppId", json!("5d3e7b1a-9c64-4f0e-8a21-6b2f4c1d9e07")),
            ("DisplayName", json!("Message Tagger")),
            ("AppVersion", json!("1.0.0.0")),
            ("ProviderName", json!("Liberty Gold Silver IT")),
            ("Enabled", json!(true)),
            ("ProvidedTo", json!("SpecificUsers")),
            ("UserList", json!([ann, ADMIN])),
            ("DefaultStateForUser", json!("Enabled")),
            ("Scope", json!("Organization")),
        ] {
            assert_eq!(app[prop], want, "{prop}");
        }
        let listed = k.ok("Get-App", json!({"OrganizationApp": true}));
        assert_eq!(listed.len(), 1);
        assert_eq!(
            k.ok(
                "Get-App",
                json!({"OrganizationApp": true, "Identity": "5d3e7b1a-9c64-4f0e-8a21-6b2f4c1d9e07"})
            )[0]["DisplayName"],
            "Message Tagger"
        );
        // Installing it twice is refused.
        let a = k.exo("New-App", json!({"OrganizationApp": true, "Url": url}));
        assert!(a.detail().contains("already installed"), "{}", a.body);

        // Manifests Exchange can't use.
        for (name, want) in [
            (
                "compliance-footer.json",
                "Data at the root level is invalid. Line 1, position 1.",
            ),
            ("not-a-manifest.html", "DTD is prohibited"),
            ("nothing-here.xml", "(404) Not Found"),
        ] {
            let a = k.exo(
                "New-App",
                json!({"OrganizationApp": true, "Url": format!("https://127.0.0.1:9/_sandbox/addins/{name}")}),
            );
            assert_eq!(a.status, 400, "{name}");
            assert!(a.detail().contains(want), "{name}: {}", a.detail());
        }
        let a = k.exo(
            "New-App",
            json!({"OrganizationApp": true, "Url": "https://contoso.example/manifest.xml"}),
        );
        assert!(
            a.detail().contains("couldn't be downloaded"),
            "{}",
            a.detail()
        );
        // A crafted one: entity expansion is refused.
        k.app.addins.put(
            "bomb.xml",
            crate::tenant::addins::Entry {
                content_type: "application/xml".into(),
                body: b"<?xml version=\"1.0\"?><!DOCTYPE lolz [<!ENTITY lol \"lol\"><!ENTITY lol2 \"&lol;&lol;\">]><OfficeApp>&lol2;</OfficeApp>".to_vec(),
            },
        );
        let a = k.exo(
            "New-App",
            json!({"OrganizationApp": true, "Url": "https://127.0.0.1:9/_sandbox/addins/bomb.xml"}),
        );
        assert!(a.detail().contains("DTD is prohibited"), "{}", a.detail());

        // Enum and identity validation.
        assert!(
            k.exo(
                "New-App",
                json!({"OrganizationApp": true, "Url": url, "ProvidedTo": "Some"})
            )
            .detail()
            .contains("Everyone, SpecificUsers")
        );
        let a = k.exo(
            "New-App",
            json!({"OrganizationApp": true, "Url": url, "ProvidedTo": "SpecificUsers", "UserList": ["ghost"]}),
        );
        assert_eq!(a.status, 404);
        // Without -OrganizationApp there is no mailbox to act on with app-only access.
        assert_eq!(k.exo("Get-App", json!({})).status, 400);

        k.ok(
            "Remove-App",
            json!({"OrganizationApp": true, "Identity": "5d3e7b1a-9c64-4f0e-8a21-6b2f4c1d9e07", "Confirm": false}),
        );
        assert!(k.ok("Get-App", json!({"OrganizationApp": true})).is_empty());
        assert_exo_error(
            &k.exo(
                "Remove-App",
                json!({"OrganizationApp": true, "Identity": "5d3e7b1a-9c64-4f0e-8a21-6b2f4c1d9e07"}),
            ),
            404,
            "NotFound",
            "ManagementObjectNotFoundException",
        );
    }
}
