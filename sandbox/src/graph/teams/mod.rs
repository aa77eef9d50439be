//! Microsoft Teams through Graph, by sub-resource: the team (creation and its settings), its channels,
//! its members (kept in step with the group's members and owners) and its asynchronous
//! operations. The team lives on its group in the tenant model (`tenant::teams`).

pub(crate) mod channels;
pub(crate) mod members;
pub(crate) mod operations;
mod settings;
pub(crate) mod team;
