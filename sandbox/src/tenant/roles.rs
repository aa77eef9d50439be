//! Microsoft Entra directory roles: the activated roles (`/directoryRoles`, which lists a role
//! only once someone holds it), their members — users, and this app's service principal — and
//! what the app's roles let it do in Exchange Online.
//!
//! App-only Exchange needs an Entra role on the app's service principal as well as
//! `Exchange.ManageAsApp`; only Global Administrator and Exchange Administrator "provide the
//! required permissions for any task", and `Get-InboxRule` "doesn't work for members of the
//! View-Only Organization Management role group … or the Global Reader role" (Microsoft Learn:
//! app-only authentication for unattended scripts; Get-InboxRule). Exchange's role-based access
//! builds a caller's session from its roles, so a cmdlet outside them is one the session does
//! not have; the answer the sandbox gives (the "is not recognized" of an unknown cmdlet) is
//! what RBAC's session model implies, not a documented error body (UNCONFIRMED).

use serde::{Deserialize, Serialize};

use super::ids::derived_guid;
use super::state::Tenant;

pub(crate) const GLOBAL_ADMINISTRATOR: &str = "62e90394-69f5-4237-9190-012177145e10";
pub(crate) const EXCHANGE_ADMINISTRATOR: &str = "29232cdf-9323-42fd-ade2-1d097af3e4de";
pub(crate) const GLOBAL_READER: &str = "f2ef992c-3afb-46b9-b7cf-a126ee74c451";
pub(crate) const SECURITY_READER: &str = "5d6b6bb7-de71-4623-b4af-96380a352509";

/// The role templates the sandbox knows: (template id, display name, description).
pub(crate) const TEMPLATES: &[(&str, &str, &str)] = &[
    (
        GLOBAL_ADMINISTRATOR,
        "Global Administrator",
        "Can manage all aspects of Microsoft Entra ID and Microsoft services that use Microsoft Entra identities.",
    ),
    (
        EXCHANGE_ADMINISTRATOR,
        "Exchange Administrator",
        "Can manage all aspects of the Exchange product.",
    ),
    (
        GLOBAL_READER,
        "Global Reader",
        "Can read everything that a Global Administrator can, but not update anything.",
    ),
    (
        SECURITY_READER,
        "Security Reader",
        "Can read security information and reports in Microsoft Entra ID and Office 365.",
    ),
    (
        "fe930be7-5e62-47db-91af-98c3a49a38b1",
        "User Administrator",
        "Can manage all aspects of users and groups, including resetting passwords for limited admins.",
    ),
    (
        "729827e3-9c14-49f7-bb1b-9608f156bbb8",
        "Helpdesk Administrator",
        "Can reset passwords for non-administrators and Helpdesk Administrators.",
    ),
];

/// Who holds a role.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, Eq)]
#[serde(rename_all = "camelCase", tag = "kind", content = "id")]
pub(crate) enum RoleMember {
    User(String),
    /// The service principal of the app registration the sandbox serves.
    ThisApp,
}

/// An activated directory role and its members.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq)]
#[serde(rename_all = "camelCase")]
pub(crate) struct DirectoryRole {
    pub role_template_id: String,
    pub members: Vec<RoleMember>,
}

impl DirectoryRole {
    pub fn new(template: &str, members: Vec<RoleMember>) -> DirectoryRole {
        DirectoryRole {
            role_template_id: template.into(),
            members,
        }
    }

    /// The activated role's object id (stable for the template).
    pub fn id(&self) -> String {
        derived_guid(&format!("directory-role/{}", self.role_template_id))
    }

    pub fn display_name(&self) -> &'static str {
        template(&self.role_template_id).map_or("", |t| t.1)
    }

    pub fn description(&self) -> &'static str {
        template(&self.role_template_id).map_or("", |t| t.2)
    }
}

/// The template with this id or display name (any case).
pub(crate) fn template(key: &str) -> Option<&'static (&'static str, &'static str, &'static str)> {
    TEMPLATES
        .iter()
        .find(|t| t.0.eq_ignore_ascii_case(key) || t.1.eq_ignore_ascii_case(key))
}

/// What a tenant created before roles were modelled starts with: the app as Exchange
/// Administrator, as the setup guide assigns it.
pub(crate) fn default_roles() -> Vec<DirectoryRole> {
    vec![DirectoryRole::new(
        EXCHANGE_ADMINISTRATOR,
        vec![RoleMember::ThisApp],
    )]
}

/// What the app may run in Exchange Online, by its roles.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum ExchangeAccess {
    /// Global or Exchange Administrator: every cmdlet.
    Full,
    /// Global Reader or Security Reader: `Get-` cmdlets, except `Get-InboxRule`.
    ReadOnly,
    /// No role that Exchange Online accepts for app-only access.
    None,
}

impl ExchangeAccess {
    pub fn allows(self, cmdlet: &str) -> bool {
        match self {
            ExchangeAccess::Full => true,
            ExchangeAccess::ReadOnly => {
                let lower = cmdlet.to_ascii_lowercase();
                lower.starts_with("get-") && lower != "get-inboxrule"
            }
            ExchangeAccess::None => false,
        }
    }
}

impl Tenant {
    /// The activated roles `member` holds.
    pub fn roles_of(&self, member: &RoleMember) -> Vec<&DirectoryRole> {
        self.directory_roles
            .iter()
            .filter(|r| r.members.contains(member))
            .collect()
    }

    /// Whether the user holds any directory role (`isAdmin` in the registration report).
    pub fn is_admin(&self, user_id: &str) -> bool {
        !self
            .roles_of(&RoleMember::User(user_id.to_string()))
            .is_empty()
    }

    /// What this app's roles let it do in Exchange Online.
    pub fn app_exchange_access(&self) -> ExchangeAccess {
        let held: Vec<&str> = self
            .roles_of(&RoleMember::ThisApp)
            .iter()
            .map(|r| r.role_template_id.as_str())
            .collect();
        if held
            .iter()
            .any(|t| [GLOBAL_ADMINISTRATOR, EXCHANGE_ADMINISTRATOR].contains(t))
        {
            ExchangeAccess::Full
        } else if held
            .iter()
            .any(|t| [GLOBAL_READER, SECURITY_READER].contains(t))
        {
            ExchangeAccess::ReadOnly
        } else {
            ExchangeAccess::None
        }
    }

    /// Gives this app exactly the roles named (template ids or display names), activating
    /// them as needed; `Err` names one the sandbox does not know.
    pub fn set_app_roles(&mut self, roles: &[String]) -> Result<(), String> {
        let templates = roles
            .iter()
            .map(|r| template(r).map(|t| t.0).ok_or_else(|| r.clone()))
            .collect::<Result<Vec<_>, _>>()?;
        for role in &mut self.directory_roles {
            role.members.retain(|m| *m != RoleMember::ThisApp);
        }
        for t in templates {
            match self
                .directory_roles
                .iter_mut()
                .find(|r| r.role_template_id == t)
            {
                Some(role) => role.members.push(RoleMember::ThisApp),
                None => self
                    .directory_roles
                    .push(DirectoryRole::new(t, vec![RoleMember::ThisApp])),
            }
        }
        Ok(())
    }

    /// Removes a deleted user from every role.
    pub fn forget_role_member(&mut self, user_id: &str) {
        for role in &mut self.directory_roles {
            role.members
                .retain(|m| !matches!(m, RoleMember::User(id) if id.eq_ignore_ascii_case(user_id)));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_apps_roles_decide_its_exchange_access() {
        let mut t = Tenant::bare("tid");
        assert_eq!(t.app_exchange_access(), ExchangeAccess::Full);
        t.set_app_roles(&["Global Reader".into()]).unwrap();
        let access = t.app_exchange_access();
        assert_eq!(access, ExchangeAccess::ReadOnly);
        assert!(access.allows("Get-Mailbox") && access.allows("get-casmailbox"));
        assert!(!access.allows("Get-InboxRule") && !access.allows("Set-Mailbox"));
        t.set_app_roles(&[]).unwrap();
        assert_eq!(t.app_exchange_access(), ExchangeAccess::None);
        t.set_app_roles(&[EXCHANGE_ADMINISTRATOR.into()]).unwrap();
        assert_eq!(t.app_exchange_access(), ExchangeAccess::Full);
        assert_eq!(
            t.set_app_roles(&["Chief Wizard".into()]),
            Err("Chief Wizard".into())
        );
    }
}
