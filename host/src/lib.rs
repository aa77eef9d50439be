//! m365-admin: an MCP server that administers a small Microsoft 365 tenant
//! through sandboxed WebAssembly plugins. This crate is the trusted side:
//! credentials, the capability gate, the plugin runtime and the MCP edge.

pub mod app;
pub mod auth;
pub mod backups;
pub mod bench;
pub mod caps;
pub mod child_server;
pub mod config;
pub mod confirm;
pub mod database;
pub mod doctor;
pub mod errors;
pub mod http_client;
pub mod logging;
pub mod mcp;
pub mod metrics;
pub mod permissions;
pub mod plugin_admin;
pub mod plugins;
pub mod reference;
pub mod secret;
pub mod selection;
pub mod soak;
pub mod store;
