//! Directory policies: security defaults (`identitySecurityDefaultsEnforcementPolicy`), the
//! authorization policy (who may invite guests, what guests see, what users may consent to
//! and create) and the conditional access policies (kept as Graph shows them).

use serde::{Deserialize, Serialize};
use serde_json::Value;

/// `guestUserRoleId` of "Guest users have limited access to properties and memberships of
/// directory objects", the default (Microsoft Learn, "Restrict guest access permissions").
pub(crate) const GUEST_LIMITED: &str = "10dae51f-b6af-4016-8d66-8c2a99b929b3";

/// The consent policy of tenants from before Microsoft's recommended settings: users may
/// consent to any app asking for any permission that needs no admin consent.
pub(crate) const CONSENT_LEGACY: &str =
    "ManagePermissionGrantsForSelf.microsoft-user-default-legacy";

#[derive(Serialize, Deserialize, Clone, Debug, Default)]
#[serde(rename_all = "camelCase", default)]
pub(crate) struct PoliciesState {
    /// Whether security defaults are enforced. The sandbox tenant predates the defaults being on
    /// for new tenants, so they start off.
    pub security_defaults_enabled: bool,
    pub authorization: AuthorizationPolicy,
    /// Conditional access policies, as `identity/conditionalAccess/policies` lists them.
    pub conditional_access: Vec<Value>,
}

/// The settings of the tenant's `authorizationPolicy` the sandbox keeps.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq)]
#[serde(rename_all = "camelCase", default)]
pub(crate) struct AuthorizationPolicy {
    /// none, adminsAndGuestInviters, adminsGuestInvitersAndAllMembers or everyone.
    pub allow_invites_from: String,
    pub guest_user_role_id: String,
    pub allowed_to_create_apps: bool,
    pub allowed_to_create_security_groups: bool,
    pub allowed_to_read_other_users: bool,
    pub permission_grant_policies_assigned: Vec<String>,
    pub allowed_to_use_sspr: bool,
    pub block_msol_powershell: bool,
}

impl Default for AuthorizationPolicy {
    /// Microsoft's defaults: "everyone is the default setting for all cloud environments except
    /// US Government"; guests get limited access; users may register apps and create groups.
    fn default() -> Self {
        AuthorizationPolicy {
            allow_invites_from: "everyone".into(),
            guest_user_role_id: GUEST_LIMITED.into(),
            allowed_to_create_apps: true,
            allowed_to_create_security_groups: true,
            allowed_to_read_other_users: true,
            permission_grant_policies_assigned: vec![CONSENT_LEGACY.into()],
            allowed_to_use_sspr: true,
            block_msol_powershell: false,
        }
    }
}
