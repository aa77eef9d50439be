//! A user's Exchange mailbox: created when an Exchange plan is first assigned, answering once
//! provisioning finishes, with its `mailboxSettings` and inbox rules. A shared mailbox needs no
//! license ("up to 50 GB without a license", Microsoft Learn: About shared mailboxes).

use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use time::OffsetDateTime;

#[derive(Serialize, Deserialize, Clone, Debug)]
#[serde(rename_all = "camelCase")]
pub(crate) struct Mailbox {
    /// Wall-clock time from which the mailbox answers (provisioning survives restarts).
    #[serde(with = "time::serde::rfc3339")]
    pub ready_at: OffsetDateTime,
    pub settings: Value,
    pub rules: Vec<Value>,
    #[serde(default)]
    pub kind: MailboxKind,
}

/// What `RecipientTypeDetails` calls the mailbox.
#[derive(Serialize, Deserialize, Clone, Copy, Debug, Default, PartialEq, Eq)]
#[serde(rename_all = "camelCase")]
pub(crate) enum MailboxKind {
    #[default]
    User,
    Shared,
}

impl MailboxKind {
    pub fn recipient_type_details(self) -> &'static str {
        match self {
            MailboxKind::User => "UserMailbox",
            MailboxKind::Shared => "SharedMailbox",
        }
    }
}

impl Mailbox {
    /// A mailbox answering from `ready_at`, with a new mailbox's settings and no rules.
    pub fn new(ready_at: OffsetDateTime, kind: MailboxKind) -> Mailbox {
        Mailbox {
            ready_at,
            settings: default_settings(),
            rules: Vec::new(),
            kind,
        }
    }
}

/// Whether a user's mailbox answers REST calls now.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum MailboxState {
    /// No Exchange plan assigned (or never provisioned).
    None,
    Provisioning,
    Ready,
}

/// A new mailbox's settings, in the documented `mailboxSettings` shape.
pub(crate) fn default_settings() -> Value {
    json!({
        "archiveFolder": "AQMkAGUAAAIBDAAAAA==",
        "timeZone": "UTC",
        "delegateMeetingMessageDeliveryOptions": "sendToDelegateOnly",
        "dateFormat": "M/d/yyyy",
        "timeFormat": "h:mm tt",
        "userPurpose": "user",
        "automaticRepliesSetting": {
            "status": "disabled",
            "externalAudience": "all",
            "internalReplyMessage": "",
            "externalReplyMessage": "",
            "scheduledStartDateTime": {"dateTime": "2026-01-01T00:00:00.0000000", "timeZone": "UTC"},
            "scheduledEndDateTime": {"dateTime": "2026-01-02T00:00:00.0000000", "timeZone": "UTC"}
        },
        "language": {"locale": "en-US", "displayName": "English (United States)"},
        "workingHours": {
            "daysOfWeek": ["monday", "tuesday", "wednesday", "thursday", "friday"],
            "startTime": "08:00:00.0000000",
            "endTime": "17:00:00.0000000",
            "timeZone": {"name": "UTC"}
        }
    })
}
