//! The application permissions each Graph API needs, in the route table's permission column,
//! and how it refuses a token without them — in the words of the service behind the API: the
//! directory's `Authorization_RequestDenied`, Exchange's `ErrorAccessDenied` for mailbox APIs,
//! Teams' `Forbidden` naming the roles it wanted, and the files and Planner services' codes.
//! Each list is the one in the API's "Permissions" table on Microsoft Learn (application
//! permissions, least to most privileged).

use http::StatusCode;

use crate::auth::Claims;
use crate::tenant::teams::teams_error;
use crate::web::GraphError;

/// What a route needs from the token: one of its roles, and who answers if it has none.
#[derive(Clone, Copy, Debug)]
pub(crate) enum Need {
    /// Nothing beyond a valid token (each step of a batch, for one, checks its own).
    Open,
    /// The directory: 403 `Authorization_RequestDenied`.
    Directory(&'static [&'static str]),
    /// Exchange Online behind Graph: 403 `ErrorAccessDenied`.
    Mailbox(&'static [&'static str]),
    /// Teams: 403 `Forbidden` with the roles the API requires and those the token has.
    Teams(&'static [&'static str]),
    /// SharePoint's files or Planner: 403 with the service's code.
    Service(&'static [&'static str], &'static str),
}

impl Need {
    /// Refuses a token that has none of the roles.
    pub fn check(self, claims: &Claims) -> Result<(), GraphError> {
        let roles = match self {
            Need::Open => return Ok(()),
            Need::Directory(r) | Need::Mailbox(r) | Need::Teams(r) | Need::Service(r, _) => r,
        };
        if claims.has_any(roles) {
            return Ok(());
        }
        Err(match self {
            Need::Open | Need::Directory(_) => GraphError::forbidden(),
            Need::Mailbox(_) => GraphError::new(
                StatusCode::FORBIDDEN,
                "ErrorAccessDenied",
                "Access is denied. Check credentials and try again.",
            ),
            Need::Teams(_) => teams_error(
                StatusCode::FORBIDDEN,
                "Forbidden",
                format!(
                    "Missing role permissions on the request. API requires one of '{}'. Roles on the request '{}'.",
                    roles.join(", "),
                    claims.roles.join(", ")
                ),
            ),
            Need::Service(_, code) => GraphError::new(
                StatusCode::FORBIDDEN,
                code,
                "Either scp or roles claim need to be present in the token with one of the permissions this API requires.",
            ),
        })
    }
}

pub(crate) const OPEN: Need = Need::Open;

// Users, licenses and the organization: the directory's own 403.

pub(crate) const USER_READ: Need = Need::Directory(&[
    "User.Read.All",
    "User.ReadWrite.All",
    "User.ReadBasic.All",
    "Directory.Read.All",
    "Directory.ReadWrite.All",
]);
pub(crate) const USER_WRITE: Need =
    Need::Directory(&["User.ReadWrite.All", "Directory.ReadWrite.All"]);
pub(crate) const LICENSE_WRITE: Need = Need::Directory(&[
    "LicenseAssignment.ReadWrite.All",
    "User.ReadWrite.All",
    "Directory.ReadWrite.All",
]);
pub(crate) const ORG_READ: Need = Need::Directory(&[
    "Organization.Read.All",
    "Organization.ReadWrite.All",
    "Directory.Read.All",
    "Directory.ReadWrite.All",
    "LicenseAssignment.Read.All",
]);
pub(crate) const DOMAIN_READ: Need = Need::Directory(&[
    "Domain.Read.All",
    "Domain.ReadWrite.All",
    "Directory.Read.All",
    "Directory.ReadWrite.All",
]);

// Mailbox settings, rules and mail: Exchange's 403.

pub(crate) const MAILBOX_READ: Need =
    Need::Mailbox(&["MailboxSettings.Read", "MailboxSettings.ReadWrite"]);
pub(crate) const MAILBOX_WRITE: Need = Need::Mailbox(&["MailboxSettings.ReadWrite"]);
pub(crate) const MAIL_SEND: Need = Need::Mailbox(&["Mail.Send"]);

// Groups, their members and deleted items.

pub(crate) const GROUP_READ: Need = Need::Directory(&[
    "Group.Read.All",
    "Group.ReadWrite.All",
    "Directory.Read.All",
    "Directory.ReadWrite.All",
]);
pub(crate) const GROUP_CREATE: Need = Need::Directory(&[
    "Group.Create",
    "Group.ReadWrite.All",
    "Directory.ReadWrite.All",
]);
pub(crate) const GROUP_WRITE: Need =
    Need::Directory(&["Group.ReadWrite.All", "Directory.ReadWrite.All"]);
pub(crate) const GROUP_MEMBER_READ: Need = Need::Directory(&[
    "GroupMember.Read.All",
    "GroupMember.ReadWrite.All",
    "Group.Read.All",
    "Group.ReadWrite.All",
    "Directory.Read.All",
    "Directory.ReadWrite.All",
]);
pub(crate) const GROUP_MEMBER_WRITE: Need = Need::Directory(&[
    "GroupMember.ReadWrite.All",
    "Group.ReadWrite.All",
    "Directory.ReadWrite.All",
]);
pub(crate) const DELETED_READ: Need = Need::Directory(&[
    "Group.Read.All",
    "Group.ReadWrite.All",
    "User.Read.All",
    "User.ReadWrite.All",
    "Directory.Read.All",
    "Directory.ReadWrite.All",
]);

// Directory policies and message trace.

pub(crate) const POLICY_READ: Need = Need::Directory(&[
    "Policy.Read.All",
    "Policy.ReadWrite.SecurityDefaults",
    "Policy.ReadWrite.ConditionalAccess",
]);
pub(crate) const POLICY_WRITE: Need = Need::Directory(&[
    "Policy.ReadWrite.SecurityDefaults",
    "Policy.ReadWrite.ConditionalAccess",
]);
pub(crate) const TRACE_READ: Need = Need::Directory(&["ExchangeMessageTrace.Read.All"]);
/// The authentication-method reports: AuditLog.Read.All only ("Higher privileged
/// permissions: Not available").
pub(crate) const AUDIT_READ: Need = Need::Directory(&["AuditLog.Read.All"]);
pub(crate) const AUTHORIZATION_POLICY_READ: Need =
    Need::Directory(&["Policy.Read.All", "Policy.ReadWrite.Authorization"]);
pub(crate) const CONDITIONAL_ACCESS_READ: Need =
    Need::Directory(&["Policy.Read.All", "Policy.ReadWrite.ConditionalAccess"]);
pub(crate) const ROLE_READ: Need = Need::Directory(&[
    "RoleManagement.Read.Directory",
    "RoleManagement.ReadWrite.Directory",
    "Directory.Read.All",
    "Directory.ReadWrite.All",
]);

// Teams, channels and their members: Teams' 403 names the roles.

pub(crate) const TEAM_CREATE: Need = Need::Teams(&[
    "Team.Create",
    "Group.ReadWrite.All",
    "Directory.ReadWrite.All",
]);
pub(crate) const TEAM_PUT: Need = Need::Teams(&["Group.ReadWrite.All", "Directory.ReadWrite.All"]);
pub(crate) const TEAM_READ: Need = Need::Teams(&[
    "Team.ReadBasic.All",
    "TeamSettings.Read.All",
    "TeamSettings.ReadWrite.All",
    "Group.Read.All",
    "Group.ReadWrite.All",
    "Directory.Read.All",
    "Directory.ReadWrite.All",
]);
pub(crate) const OPERATION_READ: Need = Need::Teams(&[
    "Team.Create",
    "Team.ReadBasic.All",
    "TeamSettings.Read.All",
    "TeamSettings.ReadWrite.All",
    "Group.Read.All",
    "Group.ReadWrite.All",
    "Directory.Read.All",
    "Directory.ReadWrite.All",
]);
pub(crate) const TEAM_SETTINGS_WRITE: Need = Need::Teams(&[
    "TeamSettings.ReadWrite.All",
    "Group.ReadWrite.All",
    "Directory.ReadWrite.All",
]);
pub(crate) const CHANNEL_READ: Need = Need::Teams(&[
    "Channel.ReadBasic.All",
    "ChannelSettings.Read.All",
    "ChannelSettings.ReadWrite.All",
    "Group.Read.All",
    "Group.ReadWrite.All",
    "Directory.Read.All",
    "Directory.ReadWrite.All",
]);
pub(crate) const CHANNEL_CREATE: Need = Need::Teams(&[
    "Channel.Create",
    "Group.ReadWrite.All",
    "Directory.ReadWrite.All",
]);
pub(crate) const CHANNEL_WRITE: Need = Need::Teams(&[
    "ChannelSettings.ReadWrite.All",
    "Group.ReadWrite.All",
    "Directory.ReadWrite.All",
]);
pub(crate) const CHANNEL_DELETE: Need = Need::Teams(&[
    "Channel.Delete.All",
    "Group.ReadWrite.All",
    "Directory.ReadWrite.All",
]);
pub(crate) const TEAM_MEMBER_READ: Need = Need::Teams(&[
    "TeamMember.Read.All",
    "TeamMember.ReadWrite.All",
    "Group.Read.All",
    "Group.ReadWrite.All",
    "Directory.Read.All",
    "Directory.ReadWrite.All",
]);
pub(crate) const TEAM_MEMBER_WRITE: Need = Need::Teams(&[
    "TeamMember.ReadWrite.All",
    "Group.ReadWrite.All",
    "Directory.ReadWrite.All",
]);
pub(crate) const CHANNEL_MEMBER_READ: Need = Need::Teams(&[
    "ChannelMember.Read.All",
    "ChannelMember.ReadWrite.All",
    "Group.Read.All",
    "Group.ReadWrite.All",
    "Directory.Read.All",
    "Directory.ReadWrite.All",
]);
pub(crate) const CHANNEL_MEMBER_WRITE: Need = Need::Teams(&[
    "ChannelMember.ReadWrite.All",
    "Group.ReadWrite.All",
    "Directory.ReadWrite.All",
]);

// Tabs, files and plans.

pub(crate) const TAB_READ: Need = Need::Teams(&[
    "TeamsTab.Read.All",
    "TeamsTab.ReadWriteForTeam.All",
    "TeamsTab.ReadWrite.All",
    "Group.Read.All",
    "Group.ReadWrite.All",
    "Directory.Read.All",
    "Directory.ReadWrite.All",
]);
pub(crate) const TAB_CREATE: Need = Need::Teams(&[
    "TeamsTab.Create",
    "TeamsTab.ReadWriteForTeam.All",
    "TeamsTab.ReadWrite.All",
    "Group.ReadWrite.All",
    "Directory.ReadWrite.All",
]);
pub(crate) const TAB_WRITE: Need = Need::Teams(&[
    "TeamsTab.ReadWriteForTeam.All",
    "TeamsTab.ReadWrite.All",
    "Group.ReadWrite.All",
    "Directory.ReadWrite.All",
]);
pub(crate) const FILES_FOLDER_READ: Need = Need::Teams(&[
    "Files.Read.All",
    "Files.ReadWrite.All",
    "Group.Read.All",
    "Group.ReadWrite.All",
]);
pub(crate) const DRIVE_READ: Need = Need::Service(
    &[
        "Files.Read.All",
        "Files.ReadWrite.All",
        "Sites.Read.All",
        "Sites.ReadWrite.All",
        "Group.Read.All",
        "Group.ReadWrite.All",
    ],
    "accessDenied",
);
pub(crate) const PLAN_READ: Need =
    Need::Service(&["Tasks.Read.All", "Tasks.ReadWrite.All"], "Forbidden");
pub(crate) const PLAN_CREATE: Need = Need::Service(&["Tasks.ReadWrite.All"], "Forbidden");
