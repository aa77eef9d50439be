//! The `[grants]` section of a plugin's manifest, as the file says it: the
//! first of two stages. `resolve` turns it into the `Policy` the host
//! enforces, refusing the first grant that is not one.

use crate::exchange::CmdletGrant;
use crate::grant::GrantError;
use crate::graph::GraphPolicy;
use crate::policy::Policy;
use serde::Deserialize;

#[derive(Clone, Debug, Default, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct GrantsSection {
    /// `METHOD /path` patterns (`GET /users/*`).
    #[serde(default)]
    pub graph: Vec<String>,
    /// Documents and logs of the plugin's own in the host's database.
    #[serde(default)]
    pub store: bool,
    /// Exchange Online cmdlets, by name (`Get-Mailbox`).
    #[serde(default)]
    pub exchange: Vec<String>,
    /// Outlook add-in manifests fetched and checked by the host.
    #[serde(default, rename = "addin-manifests")]
    pub addin_manifests: bool,
}

impl GrantsSection {
    /// The policy these grants give; Graph grants are checked first, then
    /// cmdlets, each in the order written.
    pub fn resolve(&self) -> Result<Policy, GrantError> {
        let graph = GraphPolicy::parse(&self.graph)?;
        let exchange = self
            .exchange
            .iter()
            .map(|c| CmdletGrant::parse(c))
            .collect::<Result<Vec<_>, _>>()?;
        Ok(Policy::new(
            graph,
            exchange,
            self.store,
            self.addin_manifests,
        ))
    }
}
