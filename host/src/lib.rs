//! m365-admin: an MCP server that administers a small Microsoft 365 tenant
//! through sandboxed WebAssembly plugins. This crate is the trusted side:
//! credentials, the capability gate, the plugin runtime, the call pipeline
//! and the MCP edge. The `m365-admin` binary (`main.rs`, `cli/`) and the
//! harness (`harness/`) are built on it.

pub mod app;
pub mod auth;
pub mod caps;
pub mod config;
pub mod errors;
pub mod health;
pub mod http_client;
pub mod logging;
pub mod pipeline;
pub mod plugins;
pub mod reload;
pub mod report;
pub mod secret;
pub mod serve;
pub mod store;
pub mod tenant;
