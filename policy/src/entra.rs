//! What grants need from Entra ID: the Microsoft Graph application
//! permission behind each Graph grant, and the Exchange permission and role
//! behind cmdlet grants. Pure data over typed grants; the host shows it when
//! a plugin is approved (`plugins add`, `permissions`) and `doctor` compares
//! it with the roles the app's token holds.

use crate::grant::Grant;
use crate::graph::{GraphGrant, Segment};

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

/// `HOST_NEEDS` as a grant.
pub fn host_grant() -> Grant {
    HOST_NEEDS.parse().expect("HOST_NEEDS is a grant")
}

/// One permission a grant needs: the least one, and others that also do.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Need {
    pub permission: &'static str,
    pub alternatives: &'static [&'static str],
}

impl Need {
    /// Whether any of `roles` satisfies it.
    pub fn met_by(&self, roles: &[String]) -> bool {
        std::iter::once(&self.permission)
            .chain(self.alternatives)
            .any(|p| roles.iter().any(|r| r.eq_ignore_ascii_case(p)))
    }
}

/// Whether a table row's path prefix (`users/*/sendMail`) covers the grant's
/// pattern: a `*` in the row matches any segment, and a `*` or `**` in the
/// grant may stand for the row's literal.
fn prefix_matches(prefix: &str, grant: &GraphGrant) -> bool {
    let prefix: Vec<&str> = prefix.split('/').collect();
    let segments = grant.segments();
    prefix.len() <= segments.len()
        && prefix.iter().zip(segments).all(|(p, s)| match s {
            Segment::One | Segment::Rest => true,
            Segment::Literal(l) => *p == "*" || p.eq_ignore_ascii_case(l),
        })
}

/// What one grant needs from Entra ID, if anything.
pub fn needs(grant: &Grant) -> Option<Need> {
    match grant {
        Grant::Exchange(_) => Some(Need {
            permission: EXCHANGE_APP_PERMISSION,
            alternatives: &[],
        }),
        Grant::Graph(g) => {
            let write = g.method() != "GET";
            GRAPH
                .iter()
                .find(|(w, p, _, _)| *w == write && prefix_matches(p, g))
                .map(|(_, _, permission, alternatives)| Need {
                    permission,
                    alternatives,
                })
        }
        Grant::Store | Grant::AddinManifests => None,
    }
}

/// The distinct permissions a list of grants needs, sorted.
pub fn permissions_for(grants: &[Grant]) -> Vec<&'static str> {
    let mut out: Vec<&'static str> = grants
        .iter()
        .filter_map(needs)
        .map(|n| n.permission)
        .collect();
    out.sort();
    out.dedup();
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn grant(text: &str) -> Grant {
        text.parse().unwrap()
    }

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
            (
                "graph:GET /reports/authenticationMethods/userRegistrationDetails",
                "AuditLog.Read.All",
            ),
            (
                "graph:GET /directoryRoles/*/members",
                "RoleManagement.Read.Directory",
            ),
            (
                "graph:GET /identity/conditionalAccess/policies",
                "Policy.Read.All",
            ),
            ("graph:GET /policies/authorizationPolicy", "Policy.Read.All"),
            ("exchange:set-mailbox", "Exchange.ManageAsApp"),
            ("graph:GET /Users/*/MailboxSettings", "MailboxSettings.Read"),
        ];
        for (text, want) in cases {
            assert_eq!(
                needs(&grant(text)).map(|n| n.permission),
                Some(want),
                "{text}"
            );
        }
        assert_eq!(needs(&Grant::Store), None);
        assert_eq!(needs(&Grant::AddinManifests), None);
        assert_eq!(needs(&grant("graph:GET /me")), None, "no row, no need");
        assert_eq!(
            needs(&grant("graph:POST /$batch")),
            None,
            "a batch needs what its requests need"
        );
    }

    #[test]
    fn alternatives_satisfy_a_need() {
        let n = needs(&grant("graph:GET /users/*")).unwrap();
        assert!(n.met_by(&["User.ReadWrite.All".into()]));
        assert!(n.met_by(&["user.read.all".into()]));
        assert!(!n.met_by(&["Mail.Send".into()]));
    }

    #[test]
    fn permissions_are_listed_once_and_sorted() {
        let grants: Vec<Grant> = [
            "graph:GET /users",
            "graph:GET /users/*",
            "graph:POST /users/*/sendMail",
            "exchange:get-mailbox",
            "exchange:set-mailbox",
            "store",
        ]
        .into_iter()
        .map(grant)
        .collect();
        assert_eq!(
            permissions_for(&grants),
            ["Exchange.ManageAsApp", "Mail.Send", "User.Read.All"]
        );
        assert_eq!(permissions_for(&[host_grant()]), ["Organization.Read.All"]);
    }
}
