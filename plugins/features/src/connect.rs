//! connect_service over a catalogue of connections between services:
//! - teams -> sharepoint: a channel tab showing the team's SharePoint
//!   document library (`POST /teams/{id}/channels/{cid}/tabs` with the
//!   `com.microsoft.teamspace.tab.files.sharepoint` app);
//! - teams -> planner: a Planner plan owned by the team's group
//!   (`POST /planner/plans` with the group as container);
//! - teams -> email: a channel's email address, and optionally a mailbox
//!   forwarding its mail there (`Set-Mailbox -ForwardingSmtpAddress`).
//!   Graph's `provisionEmail` works only for a signed-in user, so when the
//!   channel has no address yet the error says how to get one in Teams.
//!
//! Each first reads what exists, so connecting twice changes nothing.

use crate::exo;
use m365_plugin_sdk::exchange::{self, invoke, plain_address};
use m365_plugin_sdk::graph::{GraphError, collection};
use m365_plugin_sdk::host::progress;
use m365_plugin_sdk::text::{encode_path_segment, odata_string};
use m365_plugin_sdk::{Graph, ToolError, Value, json};
use schemars::JsonSchema;
use serde::Deserialize;

const GRAPH_URL: &str = "https://graph.microsoft.com/v1.0";
/// The Teams app of a SharePoint document library tab.
const FILES_TAB_APP: &str = "com.microsoft.teamspace.tab.files.sharepoint";

#[derive(Debug, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ConnectArgs {
    /// teams
    #[schemars(length(min = 1, max = 64))]
    pub source_service: String,
    /// sharepoint (library tab in a channel), planner (plan for the team) or email (channel address).
    #[schemars(length(min = 1, max = 64))]
    pub target_service: String,
    pub connection_config: ConnectionConfig,
    /// Report what would change; change nothing.
    pub dry_run: Option<bool>,
}

#[derive(Debug, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ConnectionConfig {
    /// Team id or exact team name.
    #[schemars(length(min = 1, max = 256))]
    pub team_id: String,
    /// Channel id or name (sharepoint, email; default General).
    #[schemars(length(min = 1, max = 256))]
    pub channel: Option<String>,
    /// Tab name (sharepoint, default Documents) or plan title (planner, default the team's name).
    #[schemars(length(min = 1, max = 128))]
    pub name: Option<String>,
    /// email: a mailbox (e.g. a shared one) whose mail is forwarded to the channel.
    #[schemars(email)]
    pub mailbox: Option<String>,
}

#[derive(Debug, Clone, Copy, PartialEq)]
enum Connection {
    FilesTab,
    Planner,
    ChannelEmail,
}

/// The known connections: (source, target, what it does).
const KNOWN: &[(&str, &str, &str)] = &[
    (
        "teams",
        "sharepoint",
        "a channel tab for the team's SharePoint document library",
    ),
    ("teams", "planner", "a Planner plan for the team"),
    (
        "teams",
        "email",
        "a team channel's email address, with a mailbox forwarding to it",
    ),
];

fn norm(s: &str) -> String {
    s.trim().to_ascii_lowercase().replace(['_', ' ', '-'], "")
}

fn connection(source: &str, target: &str) -> Result<Connection, ToolError> {
    let source_ok = matches!(norm(source).as_str(), "teams" | "team" | "microsoftteams");
    let c = match norm(target).as_str() {
        "sharepoint" | "sharepointlibrary" | "documentlibrary" | "documents" | "files" => {
            Some(Connection::FilesTab)
        }
        "planner" | "plan" | "tasks" => Some(Connection::Planner),
        "email" | "mail" | "exchange" | "outlook" | "channelemail" => {
            Some(Connection::ChannelEmail)
        }
        _ => None,
    };
    match (source_ok, c) {
        (true, Some(c)) => Ok(c),
        _ => {
            let known: Vec<String> = KNOWN
                .iter()
                .map(|(s, t, what)| format!("{s} -> {t} ({what})"))
                .collect();
            Err(ToolError::input(
                Some(if source_ok {
                    "targetService"
                } else {
                    "sourceService"
                }),
                format!(
                    "Unknown connection {} -> {}. Known connections: {}.",
                    source.trim(),
                    target.trim(),
                    known.join("; ")
                ),
            )
            .with_detail(
                "knownConnections",
                json!(KNOWN
                    .iter()
                    .map(|(s, t, what)| json!({"sourceService": s, "targetService": t, "description": what}))
                    .collect::<Vec<_>>()),
            ))
        }
    }
}

fn seg(s: &str) -> String {
    encode_path_segment(s)
}

fn is_guid(s: &str) -> bool {
    s.len() == 36
        && s.char_indices().all(|(i, c)| match i {
            8 | 13 | 18 | 23 => c == '-',
            _ => c.is_ascii_hexdigit(),
        })
}

/// The team's id and name, for an id or an exact team name.
fn resolve_team(team: &str) -> Result<(String, String), ToolError> {
    let team = team.trim();
    let id = if is_guid(team) {
        team.to_ascii_lowercase()
    } else {
        let filter = format!("displayName eq {}", odata_string(team));
        let body = Graph::new().get(
            "/groups",
            &[
                ("$filter", &filter),
                ("$select", "id,displayName,resourceProvisioningOptions"),
            ],
        )?;
        let teams: Vec<&Value> = collection(&body)
            .iter()
            .filter(|g| {
                g["resourceProvisioningOptions"]
                    .as_array()
                    .is_some_and(|o| o.iter().any(|v| v == "Team"))
            })
            .collect();
        match teams.as_slice() {
            [one] => one["id"].as_str().unwrap_or_default().to_string(),
            [] => {
                return Err(ToolError::input(
                    Some("connectionConfig.teamId"),
                    format!("No team is named '{team}'; list_teams shows the teams and their ids."),
                ));
            }
            many => {
                return Err(ToolError::input(
                    Some("connectionConfig.teamId"),
                    format!(
                        "{} teams are named '{team}'; give the id of one: {}.",
                        many.len(),
                        many.iter()
                            .filter_map(|g| g["id"].as_str())
                            .collect::<Vec<_>>()
                            .join(", ")
                    ),
                ));
            }
        }
    };
    let t = Graph::new()
        .get(&format!("/teams/{}", seg(&id)), &[])
        .map_err(|e| {
            not_found(
                e,
                "connectionConfig.teamId",
                &format!("No team has id {id}; list_teams shows the teams."),
            )
        })?;
    Ok((
        id,
        t["displayName"].as_str().unwrap_or_default().to_string(),
    ))
}

fn not_found(e: GraphError, field: &str, message: &str) -> ToolError {
    if e.is_not_found() {
        e.to_tool_error_with(message).with_detail("field", field)
    } else {
        e.into()
    }
}

/// The channel (id or name; default General) of a team.
fn resolve_channel(team_id: &str, channel: Option<&str>) -> Result<Value, ToolError> {
    let want = channel.map(str::trim).unwrap_or("General");
    let body = Graph::new().get(&format!("/teams/{}/channels", seg(team_id)), &[])?;
    let channels = collection(&body);
    channels
        .iter()
        .find(|c| c["id"].as_str() == Some(want))
        .or_else(|| {
            channels.iter().find(|c| {
                c["displayName"]
                    .as_str()
                    .is_some_and(|n| n.eq_ignore_ascii_case(want))
            })
        })
        .cloned()
        .ok_or_else(|| {
            let names: Vec<&str> = channels
                .iter()
                .filter_map(|c| c["displayName"].as_str())
                .collect();
            ToolError::input(
                Some("connectionConfig.channel"),
                format!(
                    "The team has no channel '{want}'; its channels are: {}.",
                    names.join(", ")
                ),
            )
        })
}

pub fn connect_service(a: ConnectArgs) -> Result<Value, ToolError> {
    let c = connection(&a.source_service, &a.target_service)?;
    let dry = a.dry_run.unwrap_or(false);
    let cfg = &a.connection_config;
    if c == Connection::Planner && cfg.channel.is_some() {
        return Err(ToolError::input(
            Some("connectionConfig.channel"),
            "A Planner plan belongs to the whole team, not a channel; drop channel.",
        ));
    }
    progress(0, None, "Finding the team");
    let (team_id, team_name) = resolve_team(&cfg.team_id)?;
    match c {
        Connection::FilesTab => files_tab(&team_id, &team_name, cfg, dry),
        Connection::Planner => planner(&team_id, &team_name, cfg, dry),
        Connection::ChannelEmail => channel_email(&team_id, &team_name, cfg, dry),
    }
}

fn result(
    connection: &str,
    status: &str,
    summary: String,
    before: Value,
    after: Value,
    dry: bool,
) -> Value {
    json!({
        "summary": summary,
        "connection": connection,
        "status": status,
        "changed": status == "connected",
        "dryRun": dry,
        "before": before,
        "after": after,
    })
}

fn tab_app_id(tab: &Value) -> Option<&str> {
    tab["teamsApp"]["id"].as_str().or_else(|| {
        tab["teamsApp@odata.bind"]
            .as_str()
            .and_then(|b| b.rsplit('/').next())
    })
}

fn files_tab(
    team_id: &str,
    team_name: &str,
    cfg: &ConnectionConfig,
    dry: bool,
) -> Result<Value, ToolError> {
    const NAME: &str = "teams -> sharepoint";
    let channel = resolve_channel(team_id, cfg.channel.as_deref())?;
    let cid = channel["id"].as_str().unwrap_or_default().to_string();
    let cname = channel["displayName"]
        .as_str()
        .unwrap_or_default()
        .to_string();
    progress(1, None, "Reading the team's document library");
    let drive = Graph::new().get(&format!("/groups/{}/drive", seg(team_id)), &[])?;
    let library = drive["webUrl"].as_str().unwrap_or_default().to_string();
    if library.is_empty() {
        return Err(ToolError::graph(format!(
            "The SharePoint site of {team_name} has no document library yet (it is created a \
             few minutes after the team); try again shortly."
        )));
    }
    let tabs_path = format!("/teams/{}/channels/{}/tabs", seg(team_id), seg(&cid));
    let tabs = Graph::new().get(&tabs_path, &[("$expand", "teamsApp")])?;
    let existing = collection(&tabs).iter().find(|t| {
        tab_app_id(t) == Some(FILES_TAB_APP)
            && t["configuration"]["contentUrl"]
                .as_str()
                .is_some_and(|u| u.eq_ignore_ascii_case(&library))
    });
    let tab_names: Vec<&str> = collection(&tabs)
        .iter()
        .filter_map(|t| t["displayName"].as_str())
        .collect();
    let before = json!({ "channel": cname, "tabs": tab_names });
    let display = cfg.name.as_deref().map(str::trim).unwrap_or("Documents");
    if let Some(t) = existing {
        return Ok(result(
            NAME,
            "alreadyConnected",
            format!(
                "Channel {cname} of {team_name} already has a tab '{}' for the document library; \
                 nothing was changed.",
                t["displayName"].as_str().unwrap_or("?")
            ),
            before.clone(),
            before,
            dry,
        ));
    }
    let body = json!({
        "displayName": display,
        "teamsApp@odata.bind": format!("{GRAPH_URL}/appCatalogs/teamsApps/{FILES_TAB_APP}"),
        "configuration": {
            "entityId": "",
            "contentUrl": library,
            "removeUrl": null,
            "websiteUrl": null,
        },
    });
    if dry {
        return Ok(result(
            NAME,
            "wouldConnect",
            format!(
                "Dry run: would add tab '{display}' for {library} to channel {cname} of \
                 {team_name}; nothing was changed."
            ),
            before,
            json!({ "channel": cname, "newTab": body }),
            true,
        ));
    }
    progress(2, None, &format!("Adding tab '{display}'"));
    let made = Graph::new().post(&tabs_path, &body)?.unwrap_or(Value::Null);
    let mut after_tabs = tab_names.clone();
    after_tabs.push(display);
    Ok(result(
        NAME,
        "connected",
        format!(
            "Added tab '{display}' for the document library to channel {cname} of {team_name}."
        ),
        before,
        json!({
            "channel": cname,
            "tabs": after_tabs,
            "tab": {"id": made["id"], "displayName": made["displayName"], "webUrl": made["webUrl"], "contentUrl": library},
        }),
        false,
    ))
}

fn planner(
    team_id: &str,
    team_name: &str,
    cfg: &ConnectionConfig,
    dry: bool,
) -> Result<Value, ToolError> {
    const NAME: &str = "teams -> planner";
    let title = cfg.name.as_deref().map(str::trim).unwrap_or(team_name);
    progress(1, None, "Reading the team's plans");
    let plans = Graph::new().get(&format!("/groups/{}/planner/plans", seg(team_id)), &[])?;
    let titles: Vec<&str> = collection(&plans)
        .iter()
        .filter_map(|p| p["title"].as_str())
        .collect();
    let before = json!({ "plans": titles });
    if let Some(p) = collection(&plans).iter().find(|p| {
        p["title"]
            .as_str()
            .is_some_and(|t| t.eq_ignore_ascii_case(title))
    }) {
        return Ok(result(
            NAME,
            "alreadyConnected",
            format!(
                "{team_name} already has a plan '{title}' ({}); nothing was changed.",
                p["id"].as_str().unwrap_or("?")
            ),
            before.clone(),
            before,
            dry,
        ));
    }
    let body = json!({
        "container": { "url": format!("{GRAPH_URL}/groups/{team_id}") },
        "title": title,
    });
    if dry {
        return Ok(result(
            NAME,
            "wouldConnect",
            format!("Dry run: would create plan '{title}' for {team_name}; nothing was changed."),
            before,
            json!({ "newPlan": body }),
            true,
        ));
    }
    progress(2, None, &format!("Creating plan '{title}'"));
    let made = Graph::new()
        .post("/planner/plans", &body)?
        .unwrap_or(Value::Null);
    let mut after = titles.clone();
    after.push(title);
    Ok(result(
        NAME,
        "connected",
        format!(
            "Created plan '{title}' for {team_name}; its members can use it in Teams and Planner."
        ),
        before,
        json!({ "plans": after, "plan": {"id": made["id"], "title": made["title"]} }),
        false,
    ))
}

fn channel_email(
    team_id: &str,
    team_name: &str,
    cfg: &ConnectionConfig,
    dry: bool,
) -> Result<Value, ToolError> {
    const NAME: &str = "teams -> email";
    let channel = resolve_channel(team_id, cfg.channel.as_deref())?;
    let cid = channel["id"].as_str().unwrap_or_default().to_string();
    let cname = channel["displayName"]
        .as_str()
        .unwrap_or_default()
        .to_string();
    let mut address = channel["email"]
        .as_str()
        .unwrap_or_default()
        .to_ascii_lowercase();
    let mailbox = match cfg.mailbox.as_deref().map(str::trim) {
        Some(m) => Some(exo::mailbox_for(m, "connectionConfig.mailbox")?),
        None => None,
    };
    let forwarding = mailbox.as_ref().map(|m| {
        (
            exchange::address(m),
            m.get("ForwardingSmtpAddress").and_then(plain_address),
            m.get("DeliverToMailboxAndForward")
                .and_then(Value::as_bool)
                .unwrap_or(false),
        )
    });
    let before = json!({
        "channel": cname,
        "email": (!address.is_empty()).then_some(&address),
        "mailbox": forwarding.as_ref().map(|(m, to, keep)| json!({"address": m, "forwardingTo": to, "keepCopy": keep})),
    });
    let connected = !address.is_empty()
        && forwarding
            .as_ref()
            .is_none_or(|(_, to, keep)| to.as_deref() == Some(address.as_str()) && *keep);
    if connected {
        return Ok(result(
            NAME,
            "alreadyConnected",
            format!(
                "Channel {cname} of {team_name} already receives mail at {address}{}; nothing \
                 was changed.",
                forwarding
                    .as_ref()
                    .map(|(m, _, _)| format!(", and {m} forwards to it"))
                    .unwrap_or_default()
            ),
            before.clone(),
            before,
            dry,
        ));
    }
    if dry {
        let mut steps = Vec::new();
        if address.is_empty() {
            steps.push(format!("give channel {cname} an email address"));
        }
        if let Some((m, _, _)) = &forwarding {
            steps.push(format!("forward {m}'s mail to it, keeping a copy"));
        }
        return Ok(result(
            NAME,
            "wouldConnect",
            format!(
                "Dry run: would {}; nothing was changed.",
                steps.join(" and ")
            ),
            before,
            json!({ "channel": cname, "email": (!address.is_empty()).then_some(&address) }),
            true,
        ));
    }
    if address.is_empty() {
        progress(
            1,
            None,
            &format!("Provisioning an email address for {cname}"),
        );
        let path = format!(
            "/teams/{}/channels/{}/provisionEmail",
            seg(team_id),
            seg(&cid)
        );
        let made = Graph::new().post(&path, &json!({})).map_err(|e| {
            if e.status == 403 {
                e.to_tool_error_with(format!(
                    "Teams gives a channel an email address only for a signed-in user, not for an \
                     app like this server. In Teams, open channel {cname} of {team_name} > ... > \
                     Get email address, then call connect_service again (it then finds the \
                     address{}).",
                    if forwarding.is_some() {
                        " and sets up the forwarding"
                    } else {
                        ""
                    }
                ))
            } else {
                e.into()
            }
        })?;
        address = made
            .and_then(|v| v["email"].as_str().map(str::to_ascii_lowercase))
            .unwrap_or_default();
    }
    if let Some((m, _, _)) = &forwarding {
        progress(2, None, &format!("Forwarding {m} to {address}"));
        invoke(
            "Set-Mailbox",
            json!({
                "Identity": m,
                "ForwardingSmtpAddress": format!("smtp:{address}"),
                "DeliverToMailboxAndForward": true,
            }),
        )?;
    }
    let after = json!({
        "channel": cname,
        "email": address,
        "mailbox": forwarding.as_ref().map(|(m, _, _)| json!({"address": m, "forwardingTo": address, "keepCopy": true})),
    });
    Ok(result(
        NAME,
        "connected",
        format!(
            "Channel {cname} of {team_name} receives mail at {address}{}.",
            forwarding
                .as_ref()
                .map(|(m, _, _)| format!(
                    "; {m} now forwards its mail there (keeping a copy). \
                     If the forwarded mail does not arrive, allow automatic forwarding in the \
                     outbound spam policy"
                ))
                .unwrap_or_default()
        ),
        before,
        after,
        false,
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn connections_are_found_by_loose_names() {
        assert_eq!(
            connection("Teams", "SharePoint").unwrap(),
            Connection::FilesTab
        );
        assert_eq!(
            connection("microsoft-teams", "planner").unwrap(),
            Connection::Planner
        );
        assert_eq!(
            connection("team", "Exchange").unwrap(),
            Connection::ChannelEmail
        );
        let e = connection("teams", "yammer").unwrap_err();
        assert_eq!(e.code, "INPUT_001");
        assert_eq!(e.detail("field").unwrap(), "targetService");
        assert!(e.message.contains("teams -> planner"), "{}", e.message);
        let e = connection("sharepoint", "teams").unwrap_err();
        assert_eq!(e.detail("field").unwrap(), "sourceService");
    }
}
