//! Teams: the team that lives on a Microsoft 365 group (settings, channels and their members,
//! and the `teamsAsyncOperation`s that create, archive and unarchive it, each moving one step
//! per poll), the rules of channel names, and the errors the Teams service answers with.

use http::StatusCode;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};
use time::OffsetDateTime;

use crate::web::GraphError;

/// A team, stored on its group.
#[derive(Serialize, Deserialize, Clone, Debug)]
#[serde(rename_all = "camelCase")]
pub(crate) struct Team {
    #[serde(with = "time::serde::rfc3339")]
    pub created_date_time: OffsetDateTime,
    /// Whether the `createTeam` operation has succeeded (until then the team answers 404).
    pub provisioned: bool,
    pub is_archived: bool,
    /// The General channel's thread id, which Graph reports as the team's `internalId`.
    pub internal_id: String,
    /// `memberSettings`, `guestSettings`, `messagingSettings`, `funSettings`, `discoverySettings`.
    pub settings: Map<String, Value>,
    pub channels: Vec<Channel>,
    pub operations: Vec<TeamsOperation>,
}

#[derive(Serialize, Deserialize, Clone, Debug)]
#[serde(rename_all = "camelCase")]
pub(crate) struct Channel {
    pub id: String,
    pub display_name: String,
    pub description: Option<String>,
    /// `standard`, `private` or `shared`.
    pub membership_type: String,
    #[serde(with = "time::serde::rfc3339")]
    pub created_date_time: OffsetDateTime,
    /// Members of a private or shared channel (standard channels have the team's).
    #[serde(default)]
    pub members: Vec<ChannelMember>,
}

#[derive(Serialize, Deserialize, Clone, Debug)]
#[serde(rename_all = "camelCase")]
pub(crate) struct ChannelMember {
    pub user_id: String,
    pub roles: Vec<String>,
}

#[derive(Serialize, Deserialize, Clone, Debug)]
#[serde(rename_all = "camelCase")]
pub(crate) struct TeamsOperation {
    pub id: String,
    /// `createTeam`, `archiveTeam` or `unarchiveTeam`.
    pub operation_type: String,
    /// `notStarted`, `inProgress` or `succeeded`.
    pub status: String,
    #[serde(with = "time::serde::rfc3339")]
    pub created_date_time: OffsetDateTime,
    #[serde(with = "time::serde::rfc3339")]
    pub last_action_date_time: OffsetDateTime,
    pub attempts_count: u32,
    /// Polls that will still report `inProgress`.
    pub polls_left: u32,
}

impl Team {
    /// One poll of an operation: `inProgress` while polls remain, then `succeeded` with its effect.
    pub fn poll(&mut self, i: usize, now: OffsetDateTime) {
        let op = &mut self.operations[i];
        if op.status == "succeeded" {
            return;
        }
        op.last_action_date_time = now;
        op.attempts_count = 1;
        if op.polls_left > 0 {
            op.polls_left -= 1;
            op.status = "inProgress".into();
            return;
        }
        op.status = "succeeded".into();
        let kind = op.operation_type.clone();
        match kind.as_str() {
            "createTeam" => self.provisioned = true,
            "archiveTeam" => self.is_archived = true,
            "unarchiveTeam" => self.is_archived = false,
            _ => {}
        }
    }

    /// The index of the channel with this id, or Teams' 404.
    pub fn channel_index(&self, cid: &str) -> Result<usize, GraphError> {
        self.channels
            .iter()
            .position(|c| c.id == cid)
            .ok_or_else(|| {
                teams_error(
                    StatusCode::NOT_FOUND,
                    "NotFound",
                    format!("Channel {cid} was not found in the team."),
                )
            })
    }

    /// Channel names are unique in a team (ignoring case).
    pub fn check_unique_channel(&self, name: &str, except: Option<&str>) -> Result<(), GraphError> {
        if self
            .channels
            .iter()
            .filter(|c| Some(c.id.as_str()) != except)
            .any(|c| c.display_name.eq_ignore_ascii_case(name))
        {
            return Err(bad("Channel name already existed, please use other name."));
        }
        Ok(())
    }
}

pub(crate) fn new_operation(kind: &str, now: OffsetDateTime, polls: u32) -> TeamsOperation {
    TeamsOperation {
        id: uuid::Uuid::new_v4().to_string(),
        operation_type: kind.into(),
        status: "notStarted".into(),
        created_date_time: now,
        last_action_date_time: now,
        attempts_count: 0,
        polls_left: polls,
    }
}

/// A new channel's thread id.
pub(crate) fn thread_id() -> String {
    format!("19:{}@thread.tacv2", uuid::Uuid::new_v4().simple())
}

const RESERVED_CHANNEL_NAMES: &[&str] = &[
    "forms",
    "CON",
    "CONIN$",
    "CONOUT$",
    "PRN",
    "AUX",
    "NUL",
    "COM1",
    "COM2",
    "COM3",
    "COM4",
    "COM5",
    "COM6",
    "COM7",
    "COM8",
    "COM9",
    "LPT1",
    "LPT2",
    "LPT3",
    "LPT4",
    "LPT5",
    "LPT6",
    "LPT7",
    "LPT8",
    "LPT9",
    "desktop.ini",
];

/// Teams' channel name rules: at most 50 characters; none of `~ # % & * { } + / \ : < > ? | ' "`;
/// not starting with `_` or `.`, not ending with `.`; not a reserved name.
pub(crate) fn check_channel_name(name: &str) -> Result<String, GraphError> {
    let name = name.trim();
    let invalid = |why: &str| bad(format!("Channel name '{name}' is invalid: {why}."));
    if name.is_empty() {
        return Err(bad("Channel displayName is required and can't be empty."));
    }
    if name.chars().count() > 50 {
        return Err(invalid("it is longer than 50 characters"));
    }
    if let Some(c) = name.chars().find(|c| "~#%&*{}+/\\:<>?|'\"".contains(*c)) {
        return Err(invalid(&format!("it contains the character '{c}'")));
    }
    if name.starts_with('_') || name.starts_with('.') || name.ends_with('.') {
        return Err(invalid(
            "it can't start with an underscore or a period, or end with a period",
        ));
    }
    if RESERVED_CHANNEL_NAMES
        .iter()
        .any(|r| r.eq_ignore_ascii_case(name))
        || name.to_ascii_lowercase().contains("_vti_")
    {
        return Err(invalid("it is a reserved name"));
    }
    Ok(name.to_string())
}

// Errors, as the Teams service behind Graph words them.

pub(crate) fn teams_error(
    status: StatusCode,
    code: &str,
    message: impl Into<String>,
) -> GraphError {
    GraphError::new(status, code, message)
}

pub(crate) fn bad(message: impl Into<String>) -> GraphError {
    teams_error(StatusCode::BAD_REQUEST, "BadRequest", message)
}

pub(crate) fn no_team(id: &str) -> GraphError {
    teams_error(
        StatusCode::NOT_FOUND,
        "NotFound",
        format!("No team found with Group Id {id}"),
    )
}

pub(crate) fn check_guid(id: &str) -> Result<(), GraphError> {
    uuid::Uuid::parse_str(id)
        .map(|_| ())
        .map_err(|_| bad("teamId needs to be a valid GUID."))
}

/// 400 for a change to an archived team.
pub(crate) fn archived(id: &str) -> GraphError {
    bad(format!(
        "Team {id} is archived: its settings and channels can't be changed until it is unarchived."
    ))
}
