//! Graph grants and the path normaliser: the policy crate's
//! (`policy/src/graph.rs`), re-exported here until the gate, the runtime
//! and the manifest take their checks from `m365_policy::Policy` directly.

pub use m365_policy::GrantError;
pub use m365_policy::graph::{GraphPolicy, normalize_path};
