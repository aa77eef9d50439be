//! The feature catalogue: every feature this plugin can turn on and off,
//! what it does, where it applies, how its state is read, and how it is
//! applied and reverted. Most features are one boolean property of an
//! organization-wide object (Exchange or Graph) or of a mailbox; mail
//! retention is a retention tag and policy assigned to mailboxes.

use m365_plugin_sdk::{ToolError, json};

/// Where a feature's property lives.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Source {
    /// An organization-wide Exchange object read with `get` and set with `set`.
    Exchange {
        get: &'static str,
        set: &'static str,
    },
    /// A Graph object read with GET and set with PATCH.
    Graph { path: &'static str },
    /// One mailbox (`Get-Mailbox` / `Set-Mailbox -Identity`).
    Mailbox,
}

/// A feature that is one boolean property.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Toggle {
    pub source: Source,
    pub property: &'static str,
    /// The property's value when the feature is on.
    pub on: bool,
    /// What the property means when it was never set (null).
    pub null_means: bool,
}

impl Toggle {
    /// Whether `value` of the property means the feature is on.
    pub fn is_on(&self, value: &serde_json::Value) -> bool {
        value.as_bool().unwrap_or(self.null_means) == self.on
    }
}

/// How a feature is applied at one scope.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Mechanism {
    Toggle(Toggle),
    /// A retention tag of type All and a policy linking it, assigned to
    /// the mailboxes in scope.
    Retention,
}

#[derive(Debug)]
pub struct Feature {
    pub name: &'static str,
    /// Other spellings accepted for the name.
    pub aliases: &'static [&'static str],
    pub what: &'static str,
    pub organization: Option<Mechanism>,
    /// At scope user (one mailbox), when the feature has a per-mailbox form.
    pub user: Option<Mechanism>,
    pub read: &'static str,
    pub apply: &'static str,
    pub revert: &'static str,
    /// The `configuration` it takes, if any.
    pub configuration: Option<&'static str>,
}

const ORG: Source = Source::Exchange {
    get: "Get-OrganizationConfig",
    set: "Set-OrganizationConfig",
};

const REVERT: &str = "disable_feature restores the value it had before enable_feature (kept in the plugin store); otherwise sets the off value";

pub static CATALOGUE: &[Feature] = &[
    Feature {
        name: "unified-audit-log",
        aliases: &["audit-log", "unified-audit-log-ingestion", "audit-logging"],
        what: "Records user and admin activity across Microsoft 365 for audit search.",
        organization: Some(Mechanism::Toggle(Toggle {
            source: Source::Exchange {
                get: "Get-AdminAuditLogConfig",
                set: "Set-AdminAuditLogConfig",
            },
            property: "UnifiedAuditLogIngestionEnabled",
            on: true,
            null_means: false,
        })),
        user: None,
        read: "Get-AdminAuditLogConfig: UnifiedAuditLogIngestionEnabled",
        apply: "Set-AdminAuditLogConfig -UnifiedAuditLogIngestionEnabled $true",
        revert: REVERT,
        configuration: None,
    },
    Feature {
        name: "mailbox-auditing",
        aliases: &["mailbox-audit", "mailbox-audit-logging"],
        what: "Logs access to mailboxes and actions by owners, delegates and admins.",
        organization: Some(Mechanism::Toggle(Toggle {
            source: ORG,
            property: "AuditDisabled",
            on: false,
            null_means: false,
        })),
        user: Some(Mechanism::Toggle(Toggle {
            source: Source::Mailbox,
            property: "AuditEnabled",
            on: true,
            null_means: true,
        })),
        read: "organization: Get-OrganizationConfig AuditDisabled; user: Get-Mailbox AuditEnabled",
        apply: "organization: Set-OrganizationConfig -AuditDisabled $false; user: Set-Mailbox -AuditEnabled $true",
        revert: REVERT,
        configuration: None,
    },
    Feature {
        name: "mail-retention",
        aliases: &["retention", "retention-policy", "mail-retention-policy"],
        what: "Deletes (or archives) mail older than a number of days through an Exchange retention policy.",
        organization: Some(Mechanism::Retention),
        user: Some(Mechanism::Retention),
        read: "Get-Mailbox: RetentionPolicy of every user mailbox (organization) or one (user)",
        apply: "New-RetentionPolicyTag (type All, AgeLimitForRetention days) and New-RetentionPolicy, then Set-Mailbox -RetentionPolicy",
        revert: "disable_feature puts each mailbox back on its earlier policy and removes the tag and policy it created",
        configuration: Some(
            "days (1-24855, required to enable); action: delete (default, recoverable for 14 days) or archive",
        ),
    },
    Feature {
        name: "external-sender-tagging",
        aliases: &[
            "external-tagging",
            "external-in-outlook",
            "external-sender-tag",
        ],
        what: "Shows an External tag in Outlook on mail from outside the organization.",
        organization: Some(Mechanism::Toggle(Toggle {
            source: Source::Exchange {
                get: "Get-ExternalInOutlook",
                set: "Set-ExternalInOutlook",
            },
            property: "Enabled",
            on: true,
            null_means: false,
        })),
        user: None,
        read: "Get-ExternalInOutlook: Enabled",
        apply: "Set-ExternalInOutlook -Enabled $true",
        revert: REVERT,
        configuration: None,
    },
    Feature {
        name: "focused-inbox",
        aliases: &["focused"],
        what: "Splits each inbox into Focused and Other in Outlook.",
        organization: Some(Mechanism::Toggle(Toggle {
            source: ORG,
            property: "FocusedInboxOn",
            on: true,
            null_means: true,
        })),
        user: None,
        read: "Get-OrganizationConfig: FocusedInboxOn (unset means on)",
        apply: "Set-OrganizationConfig -FocusedInboxOn $true",
        revert: REVERT,
        configuration: None,
    },
    Feature {
        name: "plus-addressing",
        aliases: &["sub-addressing", "plus-addresses"],
        what: "Delivers mail for user+tag@domain to user's mailbox.",
        organization: Some(Mechanism::Toggle(Toggle {
            source: ORG,
            property: "DisablePlusAddressInRecipients",
            on: false,
            null_means: false,
        })),
        user: None,
        read: "Get-OrganizationConfig: DisablePlusAddressInRecipients",
        apply: "Set-OrganizationConfig -DisablePlusAddressInRecipients $false",
        revert: REVERT,
        configuration: None,
    },
    Feature {
        name: "security-defaults",
        aliases: &["entra-security-defaults"],
        what: "Microsoft Entra security defaults: MFA for everyone, legacy authentication blocked.",
        organization: Some(Mechanism::Toggle(Toggle {
            source: Source::Graph {
                path: "/policies/identitySecurityDefaultsEnforcementPolicy",
            },
            property: "isEnabled",
            on: true,
            null_means: false,
        })),
        user: None,
        read: "GET /policies/identitySecurityDefaultsEnforcementPolicy: isEnabled",
        apply: "PATCH /policies/identitySecurityDefaultsEnforcementPolicy {isEnabled: true}",
        revert: REVERT,
        configuration: None,
    },
    Feature {
        name: "smtp-auth-off",
        aliases: &["disable-smtp-auth", "smtp-auth-disabled", "block-smtp-auth"],
        what: "Turns off SMTP AUTH client submission (legacy authenticated SMTP) for the organization.",
        organization: Some(Mechanism::Toggle(Toggle {
            source: Source::Exchange {
                get: "Get-TransportConfig",
                set: "Set-TransportConfig",
            },
            property: "SmtpClientAuthenticationDisabled",
            on: true,
            null_means: false,
        })),
        user: None,
        read: "Get-TransportConfig: SmtpClientAuthenticationDisabled",
        apply: "Set-TransportConfig -SmtpClientAuthenticationDisabled $true",
        revert: REVERT,
        configuration: None,
    },
];

/// `Unified Audit_Log` → `unified-audit-log`.
pub fn normalise(name: &str) -> String {
    name.trim()
        .to_ascii_lowercase()
        .chars()
        .map(|c| if c == ' ' || c == '_' { '-' } else { c })
        .collect()
}

/// The feature named `name` (or one of its aliases), or INPUT_001 listing them.
pub fn find(name: &str) -> Result<&'static Feature, ToolError> {
    let n = normalise(name);
    CATALOGUE
        .iter()
        .find(|f| f.name == n || f.aliases.contains(&n.as_str()))
        .ok_or_else(|| {
            let known: Vec<&str> = CATALOGUE.iter().map(|f| f.name).collect();
            ToolError::input(
                Some("featureName"),
                format!(
                    "Unknown feature '{}'. Known features: {}. list_features describes each.",
                    name.trim(),
                    known.join(", ")
                ),
            )
            .with_detail("knownFeatures", json!(known))
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_and_aliases_are_unique_and_found() {
        let mut all = Vec::new();
        for f in CATALOGUE {
            assert_eq!(normalise(f.name), f.name);
            assert!(f.organization.is_some() || f.user.is_some(), "{}", f.name);
            all.push(f.name);
            all.extend(f.aliases);
        }
        let n = all.len();
        all.sort();
        all.dedup();
        assert_eq!(all.len(), n, "duplicate name or alias");
        assert_eq!(find("Unified Audit_Log").unwrap().name, "unified-audit-log");
        assert_eq!(find("retention").unwrap().name, "mail-retention");
        let e = find("teleportation").unwrap_err();
        assert_eq!(e.code, "INPUT_001");
        assert!(e.message.contains("smtp-auth-off"), "{}", e.message);
    }

    #[test]
    fn toggles_read_null_as_documented() {
        let focused = Toggle {
            source: ORG,
            property: "FocusedInboxOn",
            on: true,
            null_means: true,
        };
        assert!(focused.is_on(&serde_json::Value::Null));
        assert!(!focused.is_on(&json!(false)));
        let audit_disabled = Toggle {
            source: ORG,
            property: "AuditDisabled",
            on: false,
            null_means: false,
        };
        assert!(audit_disabled.is_on(&json!(false)));
        assert!(!audit_disabled.is_on(&json!(true)));
    }
}
