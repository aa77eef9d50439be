//! What connects a team to its other services, persisted with the tenant: channel tabs, the
//! email addresses channels are given (in the Teams client), and Planner plans.

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};
use time::OffsetDateTime;

use super::directory::INITIAL_DOMAIN;
use super::ids::digest;

/// Tabs, channel addresses and plans.
#[derive(Serialize, Deserialize, Clone, Debug, Default)]
#[serde(rename_all = "camelCase", default)]
pub(crate) struct ConnectState {
    pub tabs: Vec<Tab>,
    pub channel_emails: Vec<ChannelEmail>,
    pub plans: Vec<Plan>,
}

#[derive(Serialize, Deserialize, Clone, Debug)]
#[serde(rename_all = "camelCase")]
pub(crate) struct Tab {
    pub team_id: String,
    pub channel_id: String,
    pub id: String,
    pub display_name: String,
    pub teams_app_id: String,
    pub configuration: Map<String, Value>,
}

#[derive(Serialize, Deserialize, Clone, Debug)]
#[serde(rename_all = "camelCase")]
pub(crate) struct ChannelEmail {
    pub team_id: String,
    pub channel_id: String,
    pub email: String,
}

#[derive(Serialize, Deserialize, Clone, Debug)]
#[serde(rename_all = "camelCase")]
pub(crate) struct Plan {
    pub id: String,
    pub group_id: String,
    pub title: String,
    #[serde(with = "time::serde::rfc3339")]
    pub created_date_time: OffsetDateTime,
    /// The app that created it.
    pub created_by_app: String,
}

impl ConnectState {
    /// The channel's provisioned email address, if any.
    pub fn channel_email(&self, team_id: &str, channel_id: &str) -> Option<String> {
        self.channel_emails
            .iter()
            .find(|e| e.team_id.eq_ignore_ascii_case(team_id) && e.channel_id == channel_id)
            .map(|e| e.email.clone())
    }

    /// What the Teams client's "Get email address" does: the channel's address, made (stable
    /// for the channel) the first time.
    pub fn provision_email(&mut self, team_id: &str, channel_id: &str) -> String {
        if let Some(e) = self.channel_email(team_id, channel_id) {
            return e;
        }
        let hex: String = digest(&format!("channel-email/{team_id}/{channel_id}"))
            .iter()
            .take(4)
            .map(|b| format!("{b:02x}"))
            .collect();
        let email = format!("{hex}.{INITIAL_DOMAIN}@amer.teams.ms");
        self.channel_emails.push(ChannelEmail {
            team_id: team_id.to_string(),
            channel_id: channel_id.to_string(),
            email: email.clone(),
        });
        email
    }

    /// Removes the channel's address; whether it had one.
    pub fn remove_email(&mut self, team_id: &str, channel_id: &str) -> bool {
        let before = self.channel_emails.len();
        self.channel_emails
            .retain(|e| !(e.team_id.eq_ignore_ascii_case(team_id) && e.channel_id == channel_id));
        self.channel_emails.len() != before
    }
}
