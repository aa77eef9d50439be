//! The tenant model: every entity the sandbox emulates and the rules that keep it consistent,
//! below the protocol faces (Graph, Exchange, the token endpoint, the control API), which read
//! and change it and never reach into each other.
//!
//! - `directory`: domains, SKUs and users; `licensing`: licenses within seats, and the mailbox
//!   they bring; `mailbox`: a user's mailbox, its settings and rules.
//! - `groups`, `group_rules`: groups, their kinds, names and membership; `teams`: the team on a
//!   group, its channels and operations; `connect`: tabs, channel addresses and plans.
//! - `exchange`: Exchange Online's organization state (configuration, retention, add-ins);
//!   `trace`: message trace records; `addins`: the manifest catalogue add-ins install from.
//! - `identity`: users' authentication methods and sign-in activity, and the tenant's Entra ID
//!   P1; `roles`: directory roles, their members and the app's Exchange access.
//! - `policies`: directory policies; `ids`: identifiers derived from seeds.
//! - `state`: the tenant as a whole; `seed`: the realistic tenant a new sandbox starts as;
//!   `store`: its persistence as `tenant.json`.
//!
//! A new entity is a module here and a field of [`Tenant`] (with `#[serde(default)]`, so
//! existing `tenant.json` files stay readable).

pub(crate) mod addins;
pub(crate) mod connect;
pub(crate) mod directory;
pub(crate) mod exchange;
mod group_rules;
pub(crate) mod groups;
pub(crate) mod identity;
pub(crate) mod ids;
pub(crate) mod licensing;
pub(crate) mod mailbox;
pub(crate) mod policies;
pub(crate) mod roles;
mod seed;
pub(crate) mod state;
pub(crate) mod store;
pub(crate) mod teams;
pub(crate) mod trace;

pub(crate) use directory::{DEFAULT_DOMAIN, INITIAL_DOMAIN, User};
pub(crate) use groups::Group;
pub(crate) use mailbox::MailboxState;
pub(crate) use state::Tenant;
pub(crate) use store::Store;
