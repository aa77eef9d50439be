//! The teams plugin: create_teams_group (a Microsoft 365 group and its team,
//! provisioned in journaled steps with progress, rolled back on failure and
//! resumable after a crash), list_operations, resume_operation,
//! rollback_operation, get_team, list_teams, add_team_members,
//! add_team_channel, archive_team, and the resources `m365://teams/{teamId}`
//! and `m365://teams/operations` (unfinished operations).

mod api;
mod engine;
mod journal;
mod manage;
mod ops;
mod people;
mod plan;
mod read;

use m365_plugin_sdk::graph::Graph;
use m365_plugin_sdk::text::{encode_path_segment, percent_decode};
use m365_plugin_sdk::{
    Annotations, Plugin, Resource, ResourceContents, ResourceTemplate, Tool, ToolError,
};
use serde_json::Value;

pub struct TeamsPlugin;

const TEAM_RESOURCE_PREFIX: &str = "m365://teams/";
/// The resource listing unfinished operations (`operations` is never a team id).
const OPERATIONS_URI: &str = "m365://teams/operations";

impl Plugin for TeamsPlugin {
    const NAME: &'static str = "teams";
    const VERSION: &'static str = env!("CARGO_PKG_VERSION");

    fn tools() -> Vec<Tool> {
        vec![
            Tool::new(
                "create_teams_group",
                "Create a Microsoft 365 group and its team with owners, members, channels, guest \
                 access and settings, in 8 journaled steps with progress. Any failure rolls back \
                 (deletes the group) and names the step. dryRun lists the requests without \
                 making any. Interrupted runs: list_operations.",
                ops::create_teams_group,
            )
            .title("Create team")
            .bulk("members")
            .plan(ops::plan_create_teams_group),
            Tool::new(
                "list_operations",
                "List create_teams_group operations left unfinished (server stopped, paused, or \
                 rollback failed); all=true adds finished ones.",
                ops::list_operations,
            )
            .title("List team operations")
            .annotations(Annotations::query()),
            Tool::new(
                "resume_operation",
                "Finish an unfinished create_teams_group operation from its last completed \
                 step, re-using what already exists.",
                ops::resume_operation,
            )
            .title("Resume team operation")
            .annotations(Annotations::default().idempotent()),
            Tool::new(
                "rollback_operation",
                "Undo an unfinished create_teams_group operation: permanently delete the group \
                 it created with its team, channels and site. Destructive: confirmed first.",
                ops::rollback_operation,
            )
            .title("Roll back team operation")
            .annotations(Annotations::default().destructive().idempotent())
            .plan(ops::plan_rollback_operation),
            Tool::new(
                "get_team",
                "Get a team (by id or exact name): settings, channels, owners and members.",
                read::get_team,
            )
            .title("Get team")
            .annotations(Annotations::query()),
            Tool::new(
                "list_teams",
                "List teams (id, name, description); paged.",
                read::list_teams,
            )
            .title("List teams")
            .annotations(Annotations::query()),
            Tool::new(
                "add_team_members",
                "Add users to a team as members or owners; skips those already in, promotes \
                 members when role is owner.",
                manage::add_team_members,
            )
            .title("Add team members")
            .annotations(Annotations::default().idempotent())
            .bulk("members")
            .plan(manage::plan_add_team_members),
            Tool::new(
                "add_team_channel",
                "Create a channel in a team: standard, private or shared (private/shared get an \
                 owner: the given one or the team's first owner).",
                manage::add_team_channel,
            )
            .title("Add team channel"),
            Tool::new(
                "archive_team",
                "Archive a team: read-only, kept, can be unarchived. Destructive: confirmed \
                 first.",
                manage::archive_team,
            )
            .title("Archive team")
            .annotations(Annotations::default().destructive().idempotent())
            .plan(manage::plan_archive_team),
        ]
    }

    fn resource_templates() -> Vec<ResourceTemplate> {
        vec![ResourceTemplate {
            uri_template: "m365://teams/{teamId}".into(),
            name: "team".into(),
            description: "A team by id or exact name (as get_team); m365://teams/operations \
                          lists unfinished create_teams_group operations."
                .into(),
            mime_type: "application/json".into(),
        }]
    }

    fn read_resource(uri: &str) -> Result<ResourceContents, ToolError> {
        if uri == OPERATIONS_URI {
            return Ok(ResourceContents::json(uri, &ops::operations_resource()?));
        }
        let team = uri
            .strip_prefix(TEAM_RESOURCE_PREFIX)
            .and_then(percent_decode)
            .filter(|t| !t.trim().is_empty() && !t.contains('/'))
            .ok_or_else(|| {
                ToolError::input(
                    Some("uri"),
                    format!(
                        "{uri} is not a team resource; use m365://teams/{{teamId}} with a team \
                         id or name, or m365://teams/operations."
                    ),
                )
            })?;
        Ok(ResourceContents::json(uri, &read::team_resource(&team)?))
    }

    fn list_resources() -> Vec<Resource> {
        let n = ops::operations(false).map(|o| o.len()).unwrap_or(0);
        vec![Resource {
            uri: OPERATIONS_URI.into(),
            name: "Unfinished team operations".into(),
            description: Some(format!(
                "{n} unfinished create_teams_group operation(s) to resume or roll back."
            )),
            mime_type: "application/json".into(),
        }]
    }
}

m365_plugin_sdk::export_plugin!(TeamsPlugin);

/// The Graph client.
pub(crate) fn graph() -> Graph {
    Graph::new()
}

/// One encoded path segment.
pub(crate) fn seg(s: &str) -> String {
    encode_path_segment(s)
}

/// A string field of a Graph object.
pub(crate) fn str_field<'a>(v: &'a Value, key: &str) -> Option<&'a str> {
    v.get(key).and_then(Value::as_str)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tool_descriptions_stay_tight() {
        let tools = TeamsPlugin::tools();
        assert_eq!(tools.len(), 9);
        for t in &tools {
            assert!(t.description().len() <= 320, "{}", t.name());
            let schema = t.input_schema().to_string();
            assert!(schema.len() < 4000, "{}: {} bytes", t.name(), schema.len());
        }
        let total: usize = tools
            .iter()
            .map(|t| t.description().len() + t.input_schema().to_string().len())
            .sum();
        assert!(total < 9000, "{total} bytes");
    }
}
