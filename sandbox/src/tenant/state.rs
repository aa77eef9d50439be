//! The tenant as a whole, as `tenant.json` persists it: the organization, its domains and
//! SKUs, users, directory roles, groups (with their teams), Exchange Online's state,
//! connections and policies; the bare tenant the seed (`seed`) builds on; and the directory's
//! lookups across them.

use serde::{Deserialize, Serialize};
use serde_json::json;
use time::OffsetDateTime;

use super::connect::ConnectState;
use super::directory::{
    AssignedLicense, DEFAULT_DOMAIN, Domain, INITIAL_DOMAIN, ServicePlan, Sku, User,
};
use super::exchange::ExchangeState;
use super::groups::Group;
use super::mailbox::{Mailbox, MailboxKind, MailboxState};
use super::policies::PoliciesState;
use super::roles::{self, DirectoryRole, RoleMember};
use crate::web::GraphError;

/// The whole tenant, as persisted.
#[derive(Serialize, Deserialize, Clone, Debug)]
#[serde(rename_all = "camelCase")]
pub(crate) struct Tenant {
    pub id: String,
    pub display_name: String,
    pub country_letter_code: String,
    #[serde(with = "time::serde::rfc3339")]
    pub created_date_time: OffsetDateTime,
    pub domains: Vec<Domain>,
    pub skus: Vec<Sku>,
    pub users: Vec<User>,
    /// Groups (with their teams), newest last.
    #[serde(default)]
    pub groups: Vec<Group>,
    /// Soft-deleted Microsoft 365 groups (`directory/deletedItems`), restorable.
    #[serde(default)]
    pub deleted_groups: Vec<Group>,
    /// Exchange Online: organization configuration, mailbox settings, retention, add-ins.
    #[serde(default)]
    pub exchange: ExchangeState,
    /// Channel tabs, channel email addresses and Planner plans.
    #[serde(default)]
    pub connect: ConnectState,
    /// Directory policies (security defaults, authorization, conditional access).
    #[serde(default)]
    pub policies: PoliciesState,
    /// Activated directory roles and who holds them.
    #[serde(default = "roles::default_roles")]
    pub directory_roles: Vec<DirectoryRole>,
}

impl Tenant {
    /// The organization, its domains and SKUs, and one licensed Global Administrator; the app
    /// is Exchange Administrator. Unit tests start here; a new sandbox starts from
    /// [`Tenant::seed`].
    pub fn bare(tenant_id: &str) -> Tenant {
        let now = OffsetDateTime::now_utc();
        let plan = |id: &str, name: &str| ServicePlan {
            service_plan_id: id.into(),
            service_plan_name: name.into(),
        };
        let exchange = plan(
            "9aaf7827-d63c-4b61-89c3-182f06f82e5c",
            "EXCHANGE_S_STANDARD",
        );
        let sharepoint = plan("c7699d2e-19aa-44de-8edf-1736da088ca1", "SHAREPOINTSTANDARD");
        let teams = plan("57ff2da0-773e-42df-b2af-ffb7a2317929", "TEAMS1");
        let skype = plan("0feaeb32-d00e-4d66-bd5a-43b5b83db82c", "MCOSTANDARD");
        let web_apps = plan("e95bec33-7c88-4a70-8e19-b10bd9d0c014", "SHAREPOINTWAC");
        let office = plan("094e7854-93fc-4d55-b2c0-3ab5369ebdc1", "OFFICE_BUSINESS");
        let sku = |id: &str, part: &str, seats: u32, plans: Vec<ServicePlan>| Sku {
            sku_id: id.into(),
            sku_part_number: part.into(),
            subscription_id: uuid::Uuid::new_v4().to_string(),
            enabled: seats,
            service_plans: plans,
        };
        let skus = vec![
            sku(
                "3b555118-da6a-4418-894f-7df1e2096870",
                "O365_BUSINESS_ESSENTIALS",
                10,
                vec![
                    exchange.clone(),
                    sharepoint.clone(),
                    teams.clone(),
                    skype.clone(),
                    web_apps.clone(),
                ],
            ),
            sku(
                "f245ecc8-75af-4f8e-b61f-27d8114de5b3",
                "O365_BUSINESS_PREMIUM",
                10,
                vec![
                    exchange.clone(),
                    sharepoint.clone(),
                    teams.clone(),
                    skype.clone(),
                    web_apps.clone(),
                    office.clone(),
                ],
            ),
            sku(
                "cbdc14ab-d96c-4c30-b9f4-6ada7cdc1d46",
                "SPB",
                5,
                vec![
                    exchange,
                    sharepoint,
                    teams,
                    skype,
                    web_apps,
                    office,
                    plan("c1ec4a95-1f05-45b3-a911-aa3fa01094f5", "INTUNE_A"),
                    plan("41781fb2-bc02-4b7c-bd55-b576c07bb09d", "AAD_PREMIUM"),
                    plan("f20fedf3-f3c3-43c3-8267-2bfdd51c0939", "ATP_ENTERPRISE"),
                ],
            ),
        ];
        let upn = format!("admin@{DEFAULT_DOMAIN}");
        let mut admin = User::new(
            uuid::Uuid::new_v4().to_string(),
            now,
            json!({
                "accountEnabled": true,
                "displayName": "Sandbox Admin",
                "givenName": "Sandbox",
                "surname": "Admin",
                "mailNickname": "admin",
                "userPrincipalName": upn,
                "mail": upn,
                "usageLocation": "US",
                "jobTitle": "IT Administrator",
                "businessPhones": [],
            })
            .as_object()
            .cloned()
            .unwrap_or_default(),
        );
        admin.assigned_licenses = vec![AssignedLicense {
            sku_id: "cbdc14ab-d96c-4c30-b9f4-6ada7cdc1d46".into(),
            disabled_plans: vec![],
        }];
        admin.mailbox = Some(Mailbox::new(now, MailboxKind::User));
        let directory_roles = vec![
            DirectoryRole::new(
                roles::GLOBAL_ADMINISTRATOR,
                vec![RoleMember::User(admin.id.clone())],
            ),
            DirectoryRole::new(roles::EXCHANGE_ADMINISTRATOR, vec![RoleMember::ThisApp]),
        ];
        Tenant {
            id: tenant_id.into(),
            display_name: "Liberty Gold Silver (sandbox)".into(),
            country_letter_code: "US".into(),
            created_date_time: now,
            domains: vec![
                Domain::new(DEFAULT_DOMAIN, true, false),
                Domain::new(INITIAL_DOMAIN, false, true),
            ],
            skus,
            users: vec![admin],
            groups: Vec::new(),
            deleted_groups: Vec::new(),
            exchange: Default::default(),
            connect: Default::default(),
            policies: Default::default(),
            directory_roles,
        }
    }

    /// Index of the user whose id or userPrincipalName (case-insensitively) is `key`.
    pub fn find_user(&self, key: &str) -> Option<usize> {
        self.users
            .iter()
            .position(|u| u.id.eq_ignore_ascii_case(key) || u.upn().eq_ignore_ascii_case(key))
    }

    pub fn is_verified_domain(&self, domain: &str) -> bool {
        self.domains
            .iter()
            .any(|d| d.name.eq_ignore_ascii_case(domain))
    }

    pub fn sku(&self, sku_id: &str) -> Option<&Sku> {
        self.skus
            .iter()
            .find(|s| s.sku_id.eq_ignore_ascii_case(sku_id))
    }

    /// Seats in use for a SKU.
    pub fn consumed(&self, sku_id: &str) -> u32 {
        let n = self
            .users
            .iter()
            .filter(|u| {
                u.assigned_licenses
                    .iter()
                    .any(|l| l.sku_id.eq_ignore_ascii_case(sku_id))
            })
            .count();
        u32::try_from(n).unwrap_or(u32::MAX)
    }

    /// Whether a user holds a license with an enabled Exchange Online plan.
    pub fn has_exchange(&self, user: &User) -> bool {
        user.assigned_licenses.iter().any(|l| {
            self.sku(&l.sku_id).is_some_and(|sku| {
                sku.service_plans.iter().any(|p| {
                    p.is_exchange()
                        && !l
                            .disabled_plans
                            .iter()
                            .any(|d| d.eq_ignore_ascii_case(&p.service_plan_id))
                })
            })
        })
    }

    /// A user mailbox answers while an Exchange plan is assigned; a shared one needs none.
    pub fn mailbox_state(&self, user: &User, now: OffsetDateTime) -> MailboxState {
        match &user.mailbox {
            Some(mb) if mb.kind == MailboxKind::Shared || self.has_exchange(user) => {
                if now >= mb.ready_at {
                    MailboxState::Ready
                } else {
                    MailboxState::Provisioning
                }
            }
            _ => MailboxState::None,
        }
    }

    /// The id of the user a reference (id or userPrincipalName) names, or 404.
    pub fn resolve_user(&self, key: &str) -> Result<String, GraphError> {
        self.find_user(key)
            .map(|i| self.users[i].id.clone())
            .ok_or_else(|| GraphError::not_found(key))
    }

    /// The default domain's name.
    pub fn default_domain(&self) -> String {
        self.domains
            .iter()
            .find(|d| d.is_default)
            .map_or_else(|| DEFAULT_DOMAIN.to_string(), |d| d.name.clone())
    }

    /// Indexes of the users whose mailbox exists at `now`.
    pub fn mailbox_users(&self, now: OffsetDateTime) -> Vec<usize> {
        (0..self.users.len())
            .filter(|&i| self.mailbox_state(&self.users[i], now) == MailboxState::Ready)
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn seed_has_licensed_admin_with_ready_mailbox() {
        let t = Tenant::bare("tid");
        let admin = &t.users[t.find_user("ADMIN@LibertyGoldSilver.com").unwrap()];
        assert!(t.has_exchange(admin));
        assert_eq!(
            t.mailbox_state(admin, OffsetDateTime::now_utc()),
            MailboxState::Ready
        );
        assert_eq!(t.consumed("cbdc14ab-d96c-4c30-b9f4-6ada7cdc1d46"), 1);
        assert!(t.is_verified_domain("LIBERTYGOLDSILVER.onmicrosoft.com"));
        assert!(!t.is_verified_domain("example.com"));
    }

    #[test]
    fn disabled_exchange_plan_means_no_mailbox() {
        let mut t = Tenant::bare("tid");
        t.users[0].assigned_licenses[0].disabled_plans =
            vec!["9aaf7827-d63c-4b61-89c3-182f06f82e5c".into()];
        assert!(!t.has_exchange(&t.users[0]));
    }
}
