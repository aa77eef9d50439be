//! The Exchange Online part of the tenant, persisted with it: organization-wide configuration
//! objects, per-mailbox settings changed by Set- cmdlets, retention tags and policies, the
//! organization's add-ins, and mail flow protection (remote domains, the outbound spam filter
//! policy, DKIM signing per domain). Objects are kept by their Exchange property names, as the cmdlets
//! output them. A new tenant starts as Exchange Online provisions one (the Default MRM Policy
//! and its tags included).

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value, json};

use super::ids::derived_guid;

/// The name of the retention policy every new mailbox gets.
pub(crate) const DEFAULT_MRM_POLICY: &str = "Default MRM Policy";

#[derive(Serialize, Deserialize, Clone, Debug)]
#[serde(rename_all = "camelCase", default)]
pub(crate) struct ExchangeState {
    /// The values of the Set-OrganizationConfig parameters the sandbox emulates.
    pub organization_config: Map<String, Value>,
    pub admin_audit_log_config: Map<String, Value>,
    pub transport_config: Map<String, Value>,
    pub external_in_outlook: Map<String, Value>,
    /// Per mailbox (by user id): the properties Set-Mailbox changed.
    pub mailboxes: BTreeMap<String, Map<String, Value>>,
    /// Per mailbox (by user id): the properties Set-MailboxMessageConfiguration changed.
    pub message_configurations: BTreeMap<String, Map<String, Value>>,
    pub retention_tags: Vec<Map<String, Value>>,
    pub retention_policies: Vec<Map<String, Value>>,
    /// Organization add-ins installed with New-App -OrganizationApp.
    pub apps: Vec<Map<String, Value>>,
    /// Per mailbox (by user id): client access settings (`ImapEnabled`, …) that differ from
    /// a new mailbox's.
    pub cas_mailboxes: BTreeMap<String, Map<String, Value>>,
    /// Remote domains (`Get-RemoteDomain`), the built-in `Default` (`*`) first.
    pub remote_domains: Vec<Map<String, Value>>,
    /// Outbound spam filter policies (`Get-HostedOutboundSpamFilterPolicy`), `Default` first.
    pub outbound_spam_policies: Vec<Map<String, Value>>,
    /// DKIM signing configurations of custom domains, by domain (lower case): enabled or not.
    /// The initial `*.onmicrosoft.com` domain is always signed.
    pub dkim: BTreeMap<String, bool>,
}

fn obj(v: Value) -> Map<String, Value> {
    match v {
        Value::Object(m) => m,
        _ => Map::new(),
    }
}

impl Default for ExchangeState {
    fn default() -> Self {
        let (retention_tags, retention_policies) = seed_retention();
        ExchangeState {
            organization_config: obj(json!({
                "ReadTrackingEnabled": false,
                "AuditDisabled": false,
                "FocusedInboxOn": null,
                "FocusedInboxOnLastUpdateTime": null,
                "DisablePlusAddressInRecipients": false,
                "AutomaticForcedReadReceiptEnabled": false,
                "MailTipsAllTipsEnabled": true,
                "MailTipsExternalRecipientsTipsEnabled": false,
                "MailTipsGroupMetricsEnabled": true,
                "MailTipsLargeAudienceThreshold": 25,
                "MailTipsMailboxSourcedTipsEnabled": true,
                "AppsForOfficeEnabled": true,
                "SendFromAliasEnabled": false,
                "OAuth2ClientProfileEnabled": true,
                "LinkPreviewEnabled": true,
                "ConnectorsEnabled": true,
                "BookingsEnabled": true,
                "MessageRemindersEnabled": true,
                "OutlookTextPredictionDisabled": false,
                "WebSuggestedRepliesDisabled": false,
            })),
            admin_audit_log_config: obj(json!({
                "UnifiedAuditLogIngestionEnabled": false,
                "UnifiedAuditLogFirstOptInDate": null,
            })),
            transport_config: obj(json!({
                "SmtpClientAuthenticationDisabled": false,
                "ReplyAllStormProtectionEnabled": true,
                "ExternalPostmasterAddress": null,
            })),
            external_in_outlook: obj(json!({
                "Enabled": false,
                "AllowList": [],
            })),
            mailboxes: BTreeMap::new(),
            message_configurations: BTreeMap::new(),
            retention_tags,
            retention_policies,
            apps: Vec::new(),
            cas_mailboxes: BTreeMap::new(),
            remote_domains: vec![default_remote_domain()],
            outbound_spam_policies: vec![default_outbound_spam_policy()],
            dkim: BTreeMap::new(),
        }
    }
}

/// The built-in remote domain: "the AutoForwardEnabled parameter … default value is $true"
/// for it in Exchange Online (Set-RemoteDomain).
fn default_remote_domain() -> Map<String, Value> {
    obj(json!({
        "Name": "Default",
        "Identity": "Default",
        "DomainName": "*",
        "IsInternal": false,
        "AutoForwardEnabled": true,
        "AutoReplyEnabled": true,
        "AllowedOOFType": "External",
        "DeliveryReportEnabled": true,
        "NDREnabled": true,
        "MeetingForwardNotificationEnabled": false,
        "TrustedMailOutboundEnabled": false,
        "TrustedMailInboundEnabled": false,
        "ContentType": "MimeHtmlText",
        "CharacterSet": "iso-8859-1",
        "TNEFEnabled": null,
        "IsValid": true,
        "ObjectState": "Unchanged",
    }))
}

/// The default outbound spam filter policy: `AutoForwardingMode` "Automatic - System-controlled
/// … This is the default value" (Set-HostedOutboundSpamFilterPolicy).
fn default_outbound_spam_policy() -> Map<String, Value> {
    obj(json!({
        "Name": "Default",
        "Identity": "Default",
        "IsDefault": true,
        "Enabled": true,
        "AutoForwardingMode": "Automatic",
        "RecipientLimitExternalPerHour": 0,
        "RecipientLimitInternalPerHour": 0,
        "RecipientLimitPerDay": 0,
        "ActionWhenThresholdReached": "BlockUserForToday",
        "NotifyOutboundSpam": false,
        "NotifyOutboundSpamRecipients": [],
        "BccSuspiciousOutboundMail": false,
        "BccSuspiciousOutboundAdditionalRecipients": [],
        "AdminDisplayName": "",
        "ConfigurationType": "Configuration",
        "IsValid": true,
        "ObjectState": "Unchanged",
    }))
}

impl ExchangeState {
    /// The name of the default retention policy, if there is one.
    pub fn default_policy(&self) -> Option<String> {
        self.retention_policies
            .iter()
            .find(|p| p.get("IsDefault").and_then(Value::as_bool) == Some(true))
            .and_then(|p| p.get("Name").and_then(Value::as_str))
            .map(str::to_string)
    }

    /// A mailbox's retention policy: the one set on it, else the default policy.
    pub fn mailbox_policy(&self, user_id: &str) -> Value {
        match self
            .mailboxes
            .get(user_id)
            .and_then(|m| m.get("RetentionPolicy"))
        {
            Some(v) => v.clone(),
            None => json!(self.default_policy()),
        }
    }
}

/// A retention tag object as Get-RetentionPolicyTag outputs it.
pub(crate) fn retention_tag(
    name: &str,
    kind: &str,
    days: Option<i64>,
    action: &str,
    enabled: bool,
    comment: &str,
    when: &str,
) -> Map<String, Value> {
    let guid = derived_guid(&format!("retention-tag/{name}"));
    let age = days.map(|d| format!("{d}.00:00:00"));
    obj(json!({
        "Name": name,
        "Identity": name,
        "Guid": guid,
        "RetentionId": derived_guid(&format!("retention-id/{name}")),
        "Type": kind,
        "AgeLimitForRetention": age,
        "RetentionAction": action,
        "RetentionEnabled": enabled,
        "Comment": comment,
        "LocalizedComment": [],
        "LocalizedRetentionPolicyTagName": [],
        "MessageClass": "*",
        "MessageClassDisplayName": "All Mailbox Content",
        "Description": "Managed Content Settings",
        "MustDisplayCommentEnabled": false,
        "IsDefaultAutoGroupPolicyTag": false,
        "IsDefaultModeratedRecipientsPolicyTag": false,
        "SystemTag": false,
        "JournalingEnabled": false,
        "AddressForJournaling": null,
        "MessageFormatForJournaling": "UseTnef",
        "LabelForJournaling": "",
        "ObjectState": "Unchanged",
        "IsValid": true,
        "WhenCreated": when,
        "WhenCreatedUTC": when,
        "WhenChanged": when,
        "WhenChangedUTC": when,
    }))
}

/// A retention policy object as Get-RetentionPolicy outputs it.
pub(crate) fn retention_policy(
    name: &str,
    links: Vec<String>,
    is_default: bool,
    when: &str,
) -> Map<String, Value> {
    obj(json!({
        "Name": name,
        "Identity": name,
        "Guid": derived_guid(&format!("retention-policy/{name}")),
        "RetentionId": derived_guid(&format!("retention-policy-id/{name}")),
        "RetentionPolicyTagLinks": links,
        "IsDefault": is_default,
        "IsDefaultArbitrationMailbox": false,
        "ObjectState": "Unchanged",
        "IsValid": true,
        "WhenCreated": when,
        "WhenCreatedUTC": when,
        "WhenChanged": when,
        "WhenChangedUTC": when,
    }))
}

/// The Default MRM Policy and its tags, as Exchange Online provisions them.
/// Exchange objects by property name.
type Objects = Vec<Map<String, Value>>;

fn seed_retention() -> (Objects, Objects) {
    let when = "2026-01-01T00:00:00Z";
    let seeds: &[(&str, &str, Option<i64>, &str, bool)] = &[
        (
            "Default 2 year move to archive",
            "All",
            Some(730),
            "MoveToArchive",
            true,
        ),
        (
            "Recoverable Items 14 days move to archive",
            "RecoverableItems",
            Some(14),
            "MoveToArchive",
            true,
        ),
        (
            "Personal 1 year move to archive",
            "Personal",
            Some(365),
            "MoveToArchive",
            true,
        ),
        (
            "Personal 5 year move to archive",
            "Personal",
            Some(1825),
            "MoveToArchive",
            true,
        ),
        (
            "Personal never move to archive",
            "Personal",
            None,
            "MoveToArchive",
            false,
        ),
        (
            "1 Week Delete",
            "Personal",
            Some(7),
            "DeleteAndAllowRecovery",
            true,
        ),
        (
            "1 Month Delete",
            "Personal",
            Some(30),
            "DeleteAndAllowRecovery",
            true,
        ),
        (
            "6 Month Delete",
            "Personal",
            Some(180),
            "DeleteAndAllowRecovery",
            true,
        ),
        (
            "1 Year Delete",
            "Personal",
            Some(365),
            "DeleteAndAllowRecovery",
            true,
        ),
        (
            "5 Year Delete",
            "Personal",
            Some(1825),
            "DeleteAndAllowRecovery",
            true,
        ),
        (
            "Never Delete",
            "Personal",
            None,
            "DeleteAndAllowRecovery",
            false,
        ),
    ];
    let tags: Vec<Map<String, Value>> = seeds
        .iter()
        .map(|(name, kind, days, action, enabled)| {
            retention_tag(name, kind, *days, action, *enabled, "", when)
        })
        .collect();
    let links = seeds.iter().map(|s| s.0.to_string()).collect();
    let policy = retention_policy(DEFAULT_MRM_POLICY, links, true, when);
    (tags, vec![policy])
}
