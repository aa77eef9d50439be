//! The tracking plugin: configure_tracking (read receipts, delivery-report
//! read status, organization read tracking, all Exchange settings),
//! get_message_tracking_logs (the message trace) and the
//! `m365://tracking-settings` resource.

mod configure;
mod exo;
mod trace;

use m365_plugin_sdk::{Annotations, Plugin, ResourceContents, ResourceTemplate, Tool, ToolError};

pub struct TrackingPlugin;

const SETTINGS_URI: &str = "m365://tracking-settings";

impl Plugin for TrackingPlugin {
    const NAME: &'static str = "tracking";
    const VERSION: &'static str = env!("CARGO_PKG_VERSION");

    fn tools() -> Vec<Tool> {
        vec![
            Tool::new(
                "configure_tracking",
                "Configure Outlook tracking in Exchange: read-receipt response and delivery-report \
                 read status (one mailbox, or every user mailbox at scope organization) and \
                 org-wide read tracking (messageTracking). Changes only what differs; returns \
                 before/after.",
                configure::configure_tracking,
            )
            .title("Configure tracking")
            .annotations(Annotations::default().idempotent()),
            Tool::new(
                "get_message_tracking_logs",
                "Message trace: delivery status of mail by sender, recipient or Message-ID. At \
                 most 10 days per query, within the last 90 days; paged. Read status is not \
                 traced.",
                trace::get_message_tracking_logs,
            )
            .title("Message tracking logs")
            .annotations(Annotations::query()),
        ]
    }

    fn resource_templates() -> Vec<ResourceTemplate> {
        vec![ResourceTemplate {
            uri_template: SETTINGS_URI.into(),
            name: "Organization Tracking Settings".into(),
            description: "Org read tracking, each mailbox's read-receipt response and \
                          delivery-report read status, message-trace limits."
                .into(),
            mime_type: "application/json".into(),
        }]
    }

    fn read_resource(uri: &str) -> Result<ResourceContents, ToolError> {
        if uri != SETTINGS_URI {
            return Err(ToolError::input(
                Some("uri"),
                format!("This plugin has no resource {uri}; read {SETTINGS_URI}."),
            ));
        }
        Ok(ResourceContents::json(
            uri,
            &configure::tracking_settings()?,
        ))
    }

    fn list_resources() -> Vec<m365_plugin_sdk::Resource> {
        vec![m365_plugin_sdk::Resource {
            uri: SETTINGS_URI.into(),
            name: "Organization Tracking Settings".into(),
            description: Some("Current read-tracking configuration.".into()),
            mime_type: "application/json".into(),
        }]
    }
}

m365_plugin_sdk::export_plugin!(TrackingPlugin);
