//! The features plugin: list_features, enable_feature and disable_feature
//! over a catalogue of tenant features (see `catalogue`), and
//! connect_service over a catalogue of service connections (see
//! `connect`). Every mutating tool reads first, changes only what differs,
//! has dryRun and reports before and after.

mod catalogue;
mod connect;
mod engine;
mod exo;

use m365_plugin_sdk::{Annotations, Plugin, Tool};

pub struct FeaturesPlugin;

impl Plugin for FeaturesPlugin {
    const NAME: &'static str = "features";
    const VERSION: &'static str = env!("CARGO_PKG_VERSION");

    fn tools() -> Vec<Tool> {
        vec![
            Tool::new(
                "list_features",
                "The feature catalogue with each feature's current state, scopes, configuration \
                 and how it is read, applied and reverted.",
                engine::list,
            )
            .title("List features")
            .annotations(Annotations::query()),
            Tool::new(
                "enable_feature",
                "Turn on a catalogue feature (unified-audit-log, mailbox-auditing, mail-retention, \
                 external-sender-tagging, focused-inbox, plus-addressing, security-defaults, \
                 smtp-auth-off). Already on: changes nothing. Returns before/after.",
                engine::enable,
            )
            .title("Enable feature")
            .annotations(Annotations::default().idempotent()),
            Tool::new(
                "disable_feature",
                "Turn off a catalogue feature, restoring the state it had before enable_feature \
                 changed it. Already off: changes nothing. Returns before/after.",
                engine::disable,
            )
            .title("Disable feature")
            .annotations(Annotations::default().idempotent()),
            Tool::new(
                "connect_service",
                "Connect services: teams->sharepoint (channel tab for the team's document \
                 library), teams->planner (plan for the team), teams->email (channel address, \
                 optionally a mailbox forwarding to it). Already connected: changes nothing.",
                connect::connect_service,
            )
            .title("Connect services")
            .annotations(Annotations::default().idempotent()),
        ]
    }
}

m365_plugin_sdk::export_plugin!(FeaturesPlugin);
