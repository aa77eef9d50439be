//! What connects a team to its other services, by kind of connection: channel tabs (`tabs`),
//! the group's and channels' files (`files`), Planner plans (`planner`) and channel email
//! addresses (`email`). Routes under `/groups/{id}/team/…` work as under `/teams/{id}/…`.

pub(crate) mod email;
pub(crate) mod files;
pub(crate) mod planner;
pub(crate) mod tabs;
