//! Groups through Graph — Microsoft 365 (unified) and security groups — by sub-resource: the
//! group, its `$filter`, its members and owners, its settings, and the recycle bin. The group
//! and the rules it keeps live in the tenant model (`tenant::groups`); a group's team lives on
//! the group record, so it disappears and comes back with it.

pub(crate) mod deleted;
mod filter;
pub(crate) mod group;
pub(crate) mod refs;
pub(crate) mod settings;
