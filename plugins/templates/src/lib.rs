//! The templates plugin: reusable email templates kept in the host's
//! encrypted store, their HTML sanitized when saved, rendered in a
//! locked-down minijinja, and sent through Graph's sendMail.

mod examples;
mod send;
mod stored;
mod tools;

use m365_plugin_sdk::store;
use m365_plugin_sdk::text::percent_decode;
use m365_plugin_sdk::{
    Annotations, Plugin, Resource, ResourceContents, ResourceTemplate, Tool, ToolError,
};
use serde_json::{Value, json};

pub struct TemplatesPlugin;

const PREFIX: &str = "m365://templates/";

impl Plugin for TemplatesPlugin {
    const NAME: &'static str = "templates";
    const VERSION: &'static str = env!("CARGO_PKG_VERSION");

    fn tools() -> Vec<Tool> {
        vec![
            Tool::new(
                "create_email_template",
                "Save a reusable email template (subject, HTML and text bodies with {{ variables }}). \
                 Unsafe HTML is removed and reported; marketing templates need an unsubscribe link \
                 and a postal address.",
                tools::create,
            )
            .title("Create email template"),
            Tool::new(
                "list_email_templates",
                "List templates, by category or words in name, subject or description; paged.",
                tools::list,
            )
            .title("List email templates")
            .annotations(Annotations::query()),
            Tool::new(
                "get_email_template",
                "Get a template (or an earlier version) with its bodies and variables.",
                tools::get,
            )
            .title("Get email template")
            .annotations(Annotations::query()),
            Tool::new(
                "update_email_template",
                "Change a template; it gets a new version and earlier versions stay readable.",
                tools::update,
            )
            .title("Update email template"),
            Tool::new(
                "delete_email_template",
                "Delete a template (its history stays). Destructive: the administrator confirms first.",
                tools::delete,
            )
            .title("Delete email template")
            .annotations(Annotations::default().destructive().idempotent())
            .plan(tools::plan_delete),
            Tool::new(
                "preview_email_template",
                "Render a template with variables without sending; wiring previews mask account \
                 numbers unless revealAccountNumbers.",
                tools::preview,
            )
            .title("Preview email template")
            .annotations(Annotations::query()),
            Tool::new(
                "send_from_template",
                "Send a template to recipients (to, cc, bcc) from a tenant mailbox, optionally with \
                 read/delivery receipts; records usage per recipient. Wiring mail to outside \
                 domains needs the administrator's approval.",
                tools::send_from_template,
            )
            .title("Send from template")
            .annotations(Annotations::default().open_world())
            .bulk("to"),
        ]
    }

    fn resource_templates() -> Vec<ResourceTemplate> {
        vec![
            ResourceTemplate {
                uri_template: "m365://templates/{templateId}".into(),
                name: "email template".into(),
                description: "An email template's content and metadata (as get_email_template)."
                    .into(),
                mime_type: "application/json".into(),
            },
            ResourceTemplate {
                uri_template: "m365://templates/{templateId}/usage".into(),
                name: "email template usage".into(),
                description: "Messages sent from a template: one record per recipient.".into(),
                mime_type: "application/json".into(),
            },
        ]
    }

    fn list_resources() -> Vec<Resource> {
        if examples::ensure().is_err() {
            return Vec::new();
        }
        stored::all()
            .unwrap_or_default()
            .into_iter()
            .map(|d| Resource {
                uri: format!("{PREFIX}{}", d.value.template_id),
                name: d.value.template_name.clone(),
                description: d.value.description.clone(),
                mime_type: "application/json".into(),
            })
            .collect()
    }

    fn read_resource(uri: &str) -> Result<ResourceContents, ToolError> {
        examples::ensure()?;
        let rest = uri
            .strip_prefix(PREFIX)
            .and_then(percent_decode)
            .ok_or_else(|| bad_uri(uri))?;
        let value = match rest.split('/').collect::<Vec<_>>().as_slice() {
            [id] if !id.is_empty() => {
                let t = stored::load(id)?;
                tools::full(&t.value, t.version)
            }
            [id, "usage"] if !id.is_empty() => {
                stored::load(id)?;
                let entries: Vec<Value> = store::read_log(&stored::usage_log(id), None, 1000)?
                    .into_iter()
                    .filter_map(|e| serde_json::from_str(&e.entry).ok())
                    .collect();
                json!({"templateId": id, "sent": entries.len(), "usage": entries})
            }
            _ => return Err(bad_uri(uri)),
        };
        Ok(ResourceContents::json(uri, &value))
    }
}

fn bad_uri(uri: &str) -> ToolError {
    ToolError::input(
        Some("uri"),
        format!(
            "{uri} is not a template resource; use m365://templates/{{templateId}} or m365://templates/{{templateId}}/usage."
        ),
    )
}

m365_plugin_sdk::export_plugin!(TemplatesPlugin);
