//! Groups: Microsoft 365 (unified) and security groups as the directory keeps them, with their
//! owners and members, their group settings and the team that lives on the group record (so it
//! is deleted and restored with it), and the rules of their kinds, names and membership.

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};
use time::{Duration, OffsetDateTime};

use super::teams::Team;
use crate::web::GraphError;

/// The `Group.Unified.Guest` template, the only one that applies to a single group.
pub(crate) const GUEST_TEMPLATE_ID: &str = "08d542b9-071f-4e16-94b0-74abb372e3d9";
/// Its display name.
pub(crate) const GUEST_TEMPLATE_NAME: &str = "Group.Unified.Guest";

/// How long after a group's creation Teams may not see it yet (Microsoft: "less than 15
/// minutes ago").
const REPLICATION_WINDOW: Duration = Duration::minutes(15);

/// A group as persisted: its writable properties by Graph name, its relationships, and its team.
#[derive(Serialize, Deserialize, Clone, Debug)]
#[serde(rename_all = "camelCase")]
pub(crate) struct Group {
    pub id: String,
    #[serde(with = "time::serde::rfc3339")]
    pub created_date_time: OffsetDateTime,
    #[serde(default, with = "time::serde::rfc3339::option")]
    pub deleted_date_time: Option<OffsetDateTime>,
    /// `displayName`, `mailNickname`, `groupTypes`, `mail`, `visibility`, …
    pub props: Map<String, Value>,
    /// User ids.
    pub owners: Vec<String>,
    /// User ids.
    pub members: Vec<String>,
    #[serde(default)]
    pub settings: Vec<GroupSetting>,
    /// `POST /teams` calls refused so far because the group had not "replicated" to Teams.
    #[serde(default)]
    pub team_replication_misses: u32,
    /// The team, from the moment its creation was accepted (see `Team::provisioned`).
    #[serde(default)]
    pub team: Option<Team>,
}

#[derive(Serialize, Deserialize, Clone, Debug)]
#[serde(rename_all = "camelCase")]
pub(crate) struct GroupSetting {
    pub id: String,
    pub template_id: String,
    pub values: Vec<SettingValue>,
}

#[derive(Serialize, Deserialize, Clone, Debug)]
pub(crate) struct SettingValue {
    pub name: String,
    pub value: String,
}

impl Group {
    pub fn prop_str(&self, name: &str) -> Option<&str> {
        self.props.get(name).and_then(Value::as_str)
    }

    pub fn display_name(&self) -> &str {
        self.prop_str("displayName").unwrap_or_default()
    }

    pub fn is_unified(&self) -> bool {
        self.props
            .get("groupTypes")
            .and_then(Value::as_array)
            .is_some_and(|ts| {
                ts.iter().any(|t| {
                    t.as_str()
                        .is_some_and(|s| s.eq_ignore_ascii_case("Unified"))
                })
            })
    }

    /// Whether the group has a team that finished provisioning.
    pub fn has_team(&self) -> bool {
        self.team.as_ref().is_some_and(|t| t.provisioned)
    }

    pub fn is_owner(&self, user_id: &str) -> bool {
        self.owners.iter().any(|o| o.eq_ignore_ascii_case(user_id))
    }

    pub fn is_member(&self, user_id: &str) -> bool {
        self.members.iter().any(|o| o.eq_ignore_ascii_case(user_id))
    }

    /// Adds users as owners or members, refusing (and changing nothing) if any is already one.
    pub fn add_refs(&mut self, ids: Vec<String>, owners: bool) -> Result<(), GraphError> {
        let present = |g: &Group, id: &str| {
            if owners {
                g.is_owner(id)
            } else {
                g.is_member(id)
            }
        };
        if ids.iter().any(|id| present(self, id)) {
            return Err(GraphError::bad_request(format!(
                "One or more added object references already exist for the following modified properties: '{}'.",
                if owners { "owners" } else { "members" }
            )));
        }
        let list = if owners {
            &mut self.owners
        } else {
            &mut self.members
        };
        list.extend(ids);
        Ok(())
    }

    /// Makes `uid` a member (and, if `owner`, an owner): a team's members are its group's.
    pub fn enrol(&mut self, uid: &str, owner: bool) {
        if !self.is_member(uid) {
            self.members.push(uid.to_string());
        }
        if owner && !self.is_owner(uid) {
            self.owners.push(uid.to_string());
        }
    }

    /// Removes `uid` from the group's owners and members and from its team's channels.
    pub fn remove_person(&mut self, uid: &str) {
        self.owners.retain(|o| !o.eq_ignore_ascii_case(uid));
        self.members.retain(|o| !o.eq_ignore_ascii_case(uid));
        if let Some(team) = self.team.as_mut() {
            for c in &mut team.channels {
                c.members.retain(|m| !m.user_id.eq_ignore_ascii_case(uid));
            }
        }
    }

    /// A team member's roles: `["owner"]` for the group's owners.
    pub fn team_roles(&self, uid: &str) -> Vec<String> {
        if self.is_owner(uid) {
            vec!["owner".into()]
        } else {
            Vec::new()
        }
    }

    /// The replication emulation: a group created less than 15 minutes ago is refused the
    /// first `misses` times. Returns whether this call is refused (and counts it).
    pub fn replication_miss(&mut self, misses: u32, now: OffsetDateTime) -> bool {
        if now - self.created_date_time < REPLICATION_WINDOW
            && self.team_replication_misses < misses
        {
            self.team_replication_misses += 1;
            true
        } else {
            false
        }
    }
}

/// Graph's rule for a group's mail alias: 1–64 ASCII characters except
/// `@ ( ) \ [ ] " ; : . < > ,` and space.
pub(crate) fn valid_nickname(s: &str) -> bool {
    !s.is_empty()
        && s.len() <= 64
        && s.is_ascii()
        && !s
            .chars()
            .any(|c| "@()\\[]\";:.<>, ".contains(c) || c.is_control())
}

/// The combinations Graph can create: a Microsoft 365 group (`["Unified"]`, mail-enabled) or a
/// security group (`[]`, not mail-enabled, security-enabled).
pub(crate) fn check_kind(props: &Map<String, Value>) -> Result<bool, GraphError> {
    let unified = props
        .get("groupTypes")
        .and_then(Value::as_array)
        .is_some_and(|t| !t.is_empty());
    let mail = props.get("mailEnabled").and_then(Value::as_bool) == Some(true);
    let security = props.get("securityEnabled").and_then(Value::as_bool) == Some(true);
    if unified && !mail {
        return Err(invalid_value("mailEnabled"));
    }
    if !unified && mail {
        return Err(GraphError::bad_request(
            "The service does not currently support writes of mail-enabled groups. Please ensure that the mail-enablement property is unset or is set to false.",
        ));
    }
    if !unified && !security {
        return Err(invalid_value("securityEnabled"));
    }
    if !unified && props.get("visibility").is_some_and(|v| !v.is_null()) {
        return Err(invalid_value("visibility"));
    }
    Ok(unified)
}

/// 400 for a group property with a value Graph refuses.
pub(crate) fn invalid_value(property: &str) -> GraphError {
    GraphError::bad_request(format!(
        "Invalid value specified for property '{property}' of resource 'Group'."
    ))
}
