//! Directory policies: security defaults (`identitySecurityDefaultsEnforcementPolicy`).

use serde::{Deserialize, Serialize};

#[derive(Serialize, Deserialize, Clone, Debug, Default)]
#[serde(rename_all = "camelCase", default)]
pub(crate) struct PoliciesState {
    /// Whether security defaults are enforced. The sandbox tenant predates the defaults being on
    /// for new tenants, so they start off.
    pub security_defaults_enabled: bool,
}
