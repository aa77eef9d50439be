//! What a plugin's grants need from Entra ID: the Microsoft Graph
//! application permissions behind each `graph:METHOD /path` grant, and the
//! Exchange permission and role behind `exchange:` grants. Used to show an
//! administrator what approving a plugin implies, and by `doctor` to compare
//! with the roles the app's token actually holds.

/// Exchange cmdlets need this app permission plus an Exchange role on the
/// app's service principal.
pub const EXCHANGE_APP_PERMISSION: &str = "Exchange.ManageAsApp";
pub const EXCHANGE_ROLE: &str =
    "Exchange Administrator (Entra role on the app's service principal)";

/// (method is a write, path prefix segments, least permission, alternatives
/// that also satisfy it). The first matching row wins, so the specific come
/// before the general.
const GRAPH: &[(bool, &str, &str, &[&str])] = &[
    (true, "users/*/sendMail", "Mail.Send", &[]),
    (
        true,
        "users/*/assignLicense",
        "LicenseAssignment.ReadWrite.All",
        &["User.ReadWrite.All", "Directory.ReadWrite.All"],
    ),
    (
        false,
        "users/*/mailboxSettings",
        "MailboxSettings.Read",
        &["MailboxSettings.ReadWrite"],
    ),
    (
        true,
        "users/*/mailboxSettings",
        "MailboxSettings.ReadWrite",
        &[],
    ),
    (
        false,
        "users/*/mailFolders",
        "MailboxSettings.Read",
        &["MailboxSettings.ReadWrite", "Mail.ReadWrite"],
    ),
    (
        true,
        "users/*/mailFolders",
        "MailboxSettings.ReadWrite",
        &["Mail.ReadWrite"],
    ),
    (
        false,
        "users",
        "User.Read.All",
        &[
            "User.ReadWrite.All",
            "Directory.Read.All",
            "Directory.ReadWrite.All",
        ],
    ),
    (
        true,
        "users",
        "User.ReadWrite.All",
        &["Directory.ReadWrite.All"],
    ),
    (
        false,
        "subscribedSkus",
        "Organization.Read.All",
        &[
            "LicenseAssignment.Read.All",
            "Directory.Read.All",
            "Directory.ReadWrite.All",
            "Organization.ReadWrite.All",
        ],
    ),
    (
        false,
        "organization",
        "Organization.Read.All",
        &[
            "Organization.ReadWrite.All",
            "Directory.Read.All",
            "Directory.ReadWrite.All",
        ],
    ),
    (
        false,
        "domains",
        "Domain.Read.All",
        &[
            "Domain.ReadWrite.All",
            "Directory.Read.All",
            "Directory.ReadWrite.All",
        ],
    ),
    (
        false,
        "groups",
        "Group.Read.All",
        &["Group.ReadWrite.All", "Directory.Read.All"],
    ),
    (
        true,
        "groups",
        "Group.ReadWrite.All",
        &["Directory.ReadWrite.All"],
    ),
    (
        false,
        "directory/deletedItems",
        "Directory.Read.All",
        &[
            "Directory.ReadWrite.All",
            "Group.Read.All",
            "Group.ReadWrite.All",
        ],
    ),
    (
        true,
        "directory/deletedItems",
        "Group.ReadWrite.All",
        &["Directory.ReadWrite.All"],
    ),
    (
        true,
        "teams/*/channels/*/tabs",
        "TeamsTab.Create",
        &["TeamsTab.ReadWrite.All", "Group.ReadWrite.All"],
    ),
    (
        false,
        "teams/*/channels/*/tabs",
        "TeamsTab.Read.All",
        &[
            "TeamsTab.ReadWrite.All",
            "Group.Read.All",
            "Group.ReadWrite.All",
        ],
    ),
    (
        true,
        "teams/*/channels/*/provisionEmail",
        "ChannelSettings.ReadWrite.All",
        &[],
    ),
    (
        true,
        "teams/*/channels/*/removeEmail",
        "ChannelSettings.ReadWrite.All",
        &[],
    ),
    (
        true,
        "teams/*/channels",
        "Channel.Create",
        &["Group.ReadWrite.All"],
    ),
    (
        false,
        "teams/*/channels",
        "Channel.ReadBasic.All",
        &[
            "ChannelSettings.Read.All",
            "ChannelSettings.ReadWrite.All",
            "Group.Read.All",
            "Group.ReadWrite.All",
        ],
    ),
    (
        true,
        "teams/*/members",
        "TeamMember.ReadWrite.All",
        &["Group.ReadWrite.All"],
    ),
    (
        false,
        "teams/*/members",
        "TeamMember.Read.All",
        &[
            "TeamMember.ReadWrite.All",
            "Group.Read.All",
            "Group.ReadWrite.All",
        ],
    ),
    (
        true,
        "teams/*",
        "TeamSettings.ReadWrite.All",
        &["Group.ReadWrite.All"],
    ),
    (true, "teams", "Team.Create", &["Group.ReadWrite.All"]),
    (
        false,
        "teams",
        "Team.ReadBasic.All",
        &[
            "TeamSettings.Read.All",
            "Group.Read.All",
            "Group.ReadWrite.All",
        ],
    ),
    (
        false,
        "admin/exchange/tracing",
        "ExchangeMessageTrace.Read.All",
        &[],
    ),
    (
        false,
        "directoryRoles",
        "RoleManagement.Read.Directory",
        &[
            "RoleManagement.ReadWrite.Directory",
            "Directory.Read.All",
            "Directory.ReadWrite.All",
        ],
    ),
    (
        false,
        "identity/conditionalAccess",
        "Policy.Read.All",
        &["Policy.ReadWrite.ConditionalAccess"],
    ),
    (
        false,
        "policies",
        "Policy.Read.All",
        &[
            "Policy.ReadWrite.ConditionalAccess",
            "Policy.ReadWrite.SecurityDefaults",
        ],
    ),
    (
        true,
        "policies/identitySecurityDefaultsEnforcementPolicy",
        "Policy.ReadWrite.SecurityDefaults",
        &["Policy.ReadWrite.ConditionalAccess"],
    ),
    (true, "policies", "Policy.ReadWrite.ConditionalAccess", &[]),
    (false, "planner", "Tasks.Read.All", &["Tasks.ReadWrite.All"]),
    (true, "planner", "Tasks.ReadWrite.All", &[]),
    (
        false,
        "reports/authenticationMethods",
        "AuditLog.Read.All",
        &[],
    ),
    (false, "reports", "Reports.Read.All", &[]),
    (false, "auditLogs", "AuditLog.Read.All", &[]),
];

/// What the host itself reads, whatever plugins are loaded: `GET
/// /organization` for health and the tenant's domain in every result.
pub const HOST_NEEDS: &str = "graph:GET /organization";

/// One permission a grant needs: the least one, and others that also do.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Need {
    pub grant: String,
    pub permission: String,
    pub alternatives: Vec<String>,
}

impl Need {
    /// Whether any of `roles` satisfies it.
    pub fn met_by(&self, roles: &[String]) -> bool {
        std::iter::once(&self.permission)
            .chain(&self.alternatives)
            .any(|p| roles.iter().any(|r| r.eq_ignore_ascii_case(p)))
    }
}

fn prefix_matches(pattern: &str, path: &[&str]) -> bool {
    let pattern: Vec<&str> = pattern.split('/').collect();
    pattern.len() <= path.len()
        && pattern
            .iter()
            .zip(path)
            .all(|(p, s)| *p == "*" || p.eq_ignore_ascii_case(s) || *s == "*" || *s == "**")
}

/// What one normalised grant (`graph:GET /users/*`, `exchange:get-mailbox`,
/// `store`, `addin-manifests`) needs from Entra ID.
pub fn needs(grant: &str) -> Vec<Need> {
    if grant.starts_with("exchange:") {
        return vec![Need {
            grant: grant.into(),
            permission: EXCHANGE_APP_PERMISSION.into(),
            alternatives: Vec::new(),
        }];
    }
    let Some(rest) = grant.strip_prefix("graph:") else {
        return Vec::new();
    };
    let Some((method, path)) = rest.split_once(' ') else {
        return Vec::new();
    };
    let write = method != "GET";
    let segments: Vec<&str> = path.trim_start_matches('/').split('/').collect();
    GRAPH
        .iter()
        .find(|(w, p, _, _)| *w == write && prefix_matches(p, &segments))
        .map(|(_, _, perm, alts)| {
            vec![Need {
                grant: grant.into(),
                permission: perm.to_string(),
                alternatives: alts.iter().map(|a| a.to_string()).collect(),
            }]
        })
        .unwrap_or_default()
}

/// The distinct permissions a list of grants needs, sorted.
pub fn permissions_for(grants: &[String]) -> Vec<String> {
    let mut out: Vec<String> = grants
        .iter()
        .flat_map(|g| needs(g))
        .map(|n| n.permission)
        .collect();
    out.sort();
    out.dedup();
    out
}

/// The `roles` claim of a JWT access token (application permissions), read
/// without checking the signature: this is for telling the administrator what
/// the token says, not for trusting it.
pub fn token_roles(token: &str) -> Vec<String> {
    use base64::Engine;
    let Some(payload) = token.split('.').nth(1) else {
        return Vec::new();
    };
    let Ok(bytes) =
        base64::engine::general_purpose::URL_SAFE_NO_PAD.decode(payload.trim_end_matches('='))
    else {
        return Vec::new();
    };
    serde_json::from_slice::<serde_json::Value>(&bytes)
        .ok()
        .and_then(|v| {
            v["roles"].as_array().map(|a| {
                a.iter()
                    .filter_map(|r| r.as_str().map(str::to_string))
                    .collect()
            })
        })
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn grants_map_to_least_permissions() {
        let cases = [
            ("graph:GET /users/*", "User.Read.All"),
            ("graph:POST /users", "User.ReadWrite.All"),
            (
                "graph:POST /users/*/assignLicense",
                "LicenseAssignment.ReadWrite.All",
            ),
            ("graph:POST /users/*/sendMail", "Mail.Send"),
            (
                "graph:PATCH /users/*/mailboxSettings",
                "MailboxSettings.ReadWrite",
            ),
            ("graph:GET /subscribedSkus", "Organization.Read.All"),
            ("graph:POST /teams", "Team.Create"),
            ("graph:POST /teams/*/channels", "Channel.Create"),
            (
                "graph:GET /admin/exchange/tracing/messageTraces",
                "ExchangeMessageTrace.Read.All",
            ),
            ("exchange:set-mailbox", "Exchange.ManageAsApp"),
        ];
        for (grant, want) in cases {
            let n = needs(grant);
            assert_eq!(
                n.first().map(|n| n.permission.as_str()),
                Some(want),
                "{grant}"
            );
        }
        assert!(needs("store").is_empty());
    }

    #[test]
    fn alternatives_satisfy_a_need() {
        let n = &needs("graph:GET /users/*")[0];
        assert!(n.met_by(&["User.ReadWrite.All".into()]));
        assert!(!n.met_by(&["Mail.Send".into()]));
    }

    #[test]
    fn roles_are_read_from_the_token() {
        use base64::Engine;
        let payload = base64::engine::general_purpose::URL_SAFE_NO_PAD
            .encode(br#"{"roles":["User.Read.All","Mail.Send"]}"#);
        assert_eq!(
            token_roles(&format!("eyJhbGciOiJIUzI1NiJ9.{payload}.sig")),
            ["User.Read.All", "Mail.Send"]
        );
        assert!(token_roles("garbage").is_empty());
    }
}
