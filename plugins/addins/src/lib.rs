//! The addins plugin: deploy_outlook_addin, list_outlook_addins and
//! remove_outlook_addin. Outlook add-ins are deployed as organization apps
//! in Exchange Online (`New-App -OrganizationApp -Url … -ProvidedTo …`);
//! the host fetches and checks the manifest first, so the administrator sees
//! the add-in's id, version and permissions before anything is deployed.

mod apps;
mod deploy;

use m365_plugin_sdk::{Annotations, Plugin, Tool};

pub struct AddinsPlugin;

impl Plugin for AddinsPlugin {
    const NAME: &'static str = "addins";
    const VERSION: &'static str = env!("CARGO_PKG_VERSION");

    fn tools() -> Vec<Tool> {
        vec![
            Tool::new(
                "deploy_outlook_addin",
                "Deploy an Outlook add-in from its XML manifest URL to the organization or \
                 specific users (a unified JSON manifest is checked and shown, not deployed). \
                 Shows id, version and permissions; dryRun changes nothing.",
                deploy::deploy,
            )
            .title("Deploy Outlook add-in")
            .annotations(Annotations::default().idempotent().open_world()),
            Tool::new(
                "list_outlook_addins",
                "List the Outlook add-ins deployed to the organization, with who gets them; paged.",
                deploy::list,
            )
            .title("List Outlook add-ins")
            .annotations(Annotations::query()),
            Tool::new(
                "remove_outlook_addin",
                "Remove a deployed Outlook add-in (by id or exact name); its users lose it. \
                 Destructive: the administrator confirms a plan first.",
                deploy::remove,
            )
            .title("Remove Outlook add-in")
            .annotations(Annotations::default().destructive().idempotent())
            .plan(deploy::plan_remove),
        ]
    }
}

m365_plugin_sdk::export_plugin!(AddinsPlugin);
