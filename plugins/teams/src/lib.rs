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

/// Days since 1970-01-01 for a civil date (proleptic Gregorian).
fn days_from_civil(y: i64, m: i64, d: i64) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let doy = (153 * (m + if m > 2 { -3 } else { 9 }) + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

/// The civil date of a day count since 1970-01-01.
fn civil_from_days(z: i64) -> (i64, i64, i64) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    (yoe + era * 400 + i64::from(m <= 2), m, d)
}

/// Milliseconds since the epoch of a Graph UTC timestamp (`2026-01-02T03:04:05Z`).
pub(crate) fn parse_graph_time_ms(s: &str) -> Option<u64> {
    let n = |r: std::ops::Range<usize>| s.get(r)?.parse::<i64>().ok();
    let days = days_from_civil(n(0..4)?, n(5..7)?, n(8..10)?);
    let secs = days * 86_400 + n(11..13)? * 3600 + n(14..16)? * 60 + n(17..19)?;
    u64::try_from(secs).ok().map(|s| s * 1000)
}

/// RFC 3339 UTC (seconds) for milliseconds since the epoch.
pub(crate) fn fmt_time(ms: u64) -> String {
    let secs = i64::try_from(ms / 1000).unwrap_or(0);
    let (y, m, d) = civil_from_days(secs.div_euclid(86_400));
    let rem = secs.rem_euclid(86_400);
    format!(
        "{y:04}-{m:02}-{d:02}T{:02}:{:02}:{:02}Z",
        rem / 3600,
        rem % 3600 / 60,
        rem % 60
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn times_round_trip() {
        for s in [
            "1970-01-01T00:00:00Z",
            "2000-02-29T23:59:59Z",
            "2026-07-28T10:30:00Z",
        ] {
            assert_eq!(fmt_time(parse_graph_time_ms(s).unwrap()), s);
        }
        assert_eq!(parse_graph_time_ms("garbage"), None);
    }

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
