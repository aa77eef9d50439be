//! The rules that tie a group to the rest of the tenant: finding groups and their teams,
//! members that still exist, mail aliases unique among groups and users (soft-deleted groups
//! keep theirs), the kinds Graph can create, soft deletion into `directory/deletedItems`, and
//! what a group needs before it can get a team.

use http::StatusCode;
use serde_json::{Map, Value, json};
use time::OffsetDateTime;

use super::groups::{Group, check_kind, valid_nickname};
use super::state::Tenant;
use super::teams::{Team, bad, check_guid, no_team, teams_error};
use crate::web::GraphError;

impl Tenant {
    /// Index of the (not deleted) group with this id.
    pub fn find_group(&self, id: &str) -> Option<usize> {
        self.groups
            .iter()
            .position(|g| g.id.eq_ignore_ascii_case(id))
    }

    /// Index of the (not deleted) group with this id, or the directory's 404.
    pub fn group_index(&self, id: &str) -> Result<usize, GraphError> {
        self.find_group(id).ok_or_else(|| GraphError::not_found(id))
    }

    /// Index of the soft-deleted group with this id, or the directory's 404.
    pub fn deleted_index(&self, id: &str) -> Result<usize, GraphError> {
        self.deleted_groups
            .iter()
            .position(|g| g.id.eq_ignore_ascii_case(id))
            .ok_or_else(|| GraphError::not_found(id))
    }

    /// A group's owners and members that still exist in the directory, owners first, without
    /// duplicates.
    pub fn people(&self, g: &Group) -> Vec<String> {
        let mut out: Vec<String> = Vec::new();
        for id in g.owners.iter().chain(g.members.iter()) {
            if !out.iter().any(|o| o.eq_ignore_ascii_case(id)) && self.find_user(id).is_some() {
                out.push(id.clone());
            }
        }
        out
    }

    /// Resolves bound user keys to user ids, dropping duplicates.
    pub fn resolve_users(&self, keys: &[String]) -> Result<Vec<String>, GraphError> {
        let mut out: Vec<String> = Vec::new();
        for k in keys {
            let id = self.resolve_user(k)?;
            if !out.contains(&id) {
                out.push(id);
            }
        }
        Ok(out)
    }

    /// A Microsoft 365 group's alias is unique among Microsoft 365 groups, including
    /// soft-deleted ones (whose addresses stay reserved), and its address must not be another
    /// object's.
    pub fn check_nickname(&self, nick: &str, except_id: Option<&str>) -> Result<(), GraphError> {
        let taken = self
            .groups
            .iter()
            .chain(self.deleted_groups.iter())
            .filter(|g| g.is_unified() && Some(g.id.as_str()) != except_id)
            .any(|g| {
                g.prop_str("mailNickname")
                    .is_some_and(|n| n.eq_ignore_ascii_case(nick))
            });
        if taken {
            return Err(GraphError::bad_request(
                "Another object with the same value for property mailNickname already exists.",
            ));
        }
        let address = format!("{nick}@{}", self.default_domain());
        let user_has_it = self.users.iter().any(|u| {
            u.upn().eq_ignore_ascii_case(&address)
                || u.prop_str("mail")
                    .is_some_and(|m| m.eq_ignore_ascii_case(&address))
        });
        let group_has_it = self
            .groups
            .iter()
            .chain(self.deleted_groups.iter())
            .filter(|g| Some(g.id.as_str()) != except_id)
            .any(|g| {
                g.prop_str("mail")
                    .is_some_and(|m| m.eq_ignore_ascii_case(&address))
            });
        if user_has_it || group_has_it {
            return Err(GraphError::bad_request(
                "Another object with the same value for property proxyAddresses already exists.",
            ));
        }
        Ok(())
    }

    /// Creates a group from validated properties and resolved owners/members; returns its
    /// index. A Microsoft 365 group gets its address in the default domain.
    pub fn insert_group(
        &mut self,
        now: OffsetDateTime,
        mut props: Map<String, Value>,
        owners: Vec<String>,
        members: Vec<String>,
    ) -> Result<usize, GraphError> {
        let unified = check_kind(&props)?;
        let nick = props
            .get("mailNickname")
            .and_then(Value::as_str)
            .unwrap_or_default()
            .to_string();
        if unified {
            self.check_nickname(&nick, None)?;
            props.insert(
                "mail".into(),
                json!(format!("{nick}@{}", self.default_domain())),
            );
            props.entry("visibility").or_insert_with(|| json!("Public"));
        } else {
            props.insert("groupTypes".into(), json!([]));
        }
        props.retain(|_, v| !v.is_null());
        self.groups.push(Group {
            id: uuid::Uuid::new_v4().to_string(),
            created_date_time: now,
            deleted_date_time: None,
            props,
            owners,
            members,
            settings: Vec::new(),
            team_replication_misses: 0,
            team: None,
        });
        Ok(self.groups.len() - 1)
    }

    /// Deletes group `i`: a Microsoft 365 group goes to the recycle bin (with its team), a
    /// security group is deleted for good.
    pub fn delete_group(&mut self, i: usize, now: OffsetDateTime) {
        let mut g = self.groups.remove(i);
        if g.is_unified() {
            g.deleted_date_time = Some(now);
            self.deleted_groups.push(g);
        }
    }

    /// Brings soft-deleted group `i` back, team and all; returns its new index.
    pub fn restore_group(&mut self, i: usize) -> usize {
        let mut g = self.deleted_groups.remove(i);
        g.deleted_date_time = None;
        self.groups.push(g);
        self.groups.len() - 1
    }

    /// A mail alias from a display name: its ASCII letters and digits, made unique.
    pub fn unique_nickname(&self, name: &str) -> String {
        let mut base: String = name
            .chars()
            .filter(char::is_ascii_alphanumeric)
            .take(56)
            .collect();
        if base.is_empty() {
            base = "team".into();
        }
        let taken = |n: &str| {
            self.groups
                .iter()
                .chain(self.deleted_groups.iter())
                .any(|g| {
                    g.prop_str("mailNickname")
                        .is_some_and(|m| m.eq_ignore_ascii_case(n))
                })
                || self.users.iter().any(|u| {
                    u.prop_str("mailNickname")
                        .is_some_and(|m| m.eq_ignore_ascii_case(n))
                })
        };
        let mut nick = base.clone();
        while taken(&nick) || !valid_nickname(&nick) {
            nick = format!("{base}{:04x}", rand_u16());
        }
        nick
    }

    /// The checks before a group gets a team, after replication: one team per group,
    /// Microsoft 365 groups only, and an owner.
    pub fn check_teamable(&self, g: &Group) -> Result<(), GraphError> {
        if let Some(team) = &g.team {
            let message = if team.provisioned {
                "Team already exists"
            } else {
                "Team migration provisioning already in progress"
            };
            return Err(teams_error(StatusCode::CONFLICT, "Conflict", message));
        }
        if !g.is_unified() {
            return Err(bad(format!(
                "Group {} is not a Microsoft 365 group: a team needs a group with groupTypes [\"Unified\"].",
                g.id
            )));
        }
        if !g.owners.iter().any(|o| self.find_user(o).is_some()) {
            return Err(bad(format!(
                "Group {} has no owner: a team can be created only from a group with at least one owner.",
                g.id
            )));
        }
        Ok(())
    }

    /// Index of the group whose team is provisioned, or Teams' 404 (400 for an id that is not
    /// a GUID).
    pub fn team_group(&self, id: &str) -> Result<usize, GraphError> {
        check_guid(id)?;
        self.find_group(id)
            .filter(|&i| self.groups[i].has_team())
            .ok_or_else(|| no_team(id))
    }

    /// The team of group `i`, which [`Tenant::team_group`] found.
    pub fn team_mut(&mut self, i: usize) -> &mut Team {
        self.groups[i]
            .team
            .as_mut()
            .expect("team_group returns only groups with a team")
    }

    /// The group index of a provisioned team and the index of its channel `channel_id`
    /// (`primaryChannel` is General).
    pub fn team_channel(
        &self,
        team_id: &str,
        channel_id: &str,
    ) -> Result<(usize, usize), GraphError> {
        let gi = self.team_group(team_id)?;
        let team = self.groups[gi].team.as_ref().expect("team_group");
        let ci = if channel_id.eq_ignore_ascii_case("primaryChannel") {
            0
        } else {
            team.channel_index(channel_id)?
        };
        Ok((gi, ci))
    }

    /// What the Teams client's "Get email address" does for a channel of a provisioned team:
    /// its address, made the first time.
    pub fn provision_channel_email(
        &mut self,
        team_id: &str,
        channel_id: &str,
    ) -> Result<String, GraphError> {
        let (gid, cid) = self.channel_ids(team_id, channel_id)?;
        Ok(self.connect.provision_email(&gid, &cid))
    }

    /// Removes a channel's address, or 404 if it has none.
    pub fn remove_channel_email(
        &mut self,
        team_id: &str,
        channel_id: &str,
    ) -> Result<(), GraphError> {
        let (gid, cid) = self.channel_ids(team_id, channel_id)?;
        if self.connect.remove_email(&gid, &cid) {
            Ok(())
        } else {
            Err(GraphError::new(
                StatusCode::NOT_FOUND,
                "NotFound",
                "The channel has no email address.",
            ))
        }
    }

    /// The stored ids of a team and its channel.
    fn channel_ids(&self, team_id: &str, channel_id: &str) -> Result<(String, String), GraphError> {
        let (gi, ci) = self.team_channel(team_id, channel_id)?;
        let g = &self.groups[gi];
        let channel = &g.team.as_ref().expect("team_channel").channels[ci];
        Ok((g.id.clone(), channel.id.clone()))
    }
}

fn rand_u16() -> u16 {
    let b = uuid::Uuid::new_v4();
    u16::from_le_bytes([b.as_bytes()[0], b.as_bytes()[1]])
}
