//! `m365-sandbox`: a local, faithful emulator of the parts of Microsoft Graph v1.0, Exchange
//! Online's admin REST API (`/adminapi/beta/{tenant}/InvokeCommand`) and the Entra (Azure AD)
//! token endpoint that m365-admin uses, served over HTTPS on 127.0.0.1.
//!
//! It follows Microsoft's documented behaviour — shapes, status codes, error bodies, headers — so
//! the host's real TLS, token, retry and error paths run against it. State persists in
//! `data_dir/tenant.json`, as a real tenant's would; a control API under `/_sandbox/` lets tests
//! inspect requests, inject faults and tune delays; [`client`] is the client of both.
//!
//! Layout, each layer importing only those below it (there is no import circle):
//! - the faces: `graph/` (Graph v1.0), `exchange/` (the admin API's cmdlets), `token` (the
//!   Entra token endpoint), `control` (the control API) and `addins` (the manifest
//!   catalogue). Each routes through one table (`web::router`) and never imports another.
//! - `tenant/`: the model — every entity the sandbox emulates, the rules that keep it
//!   consistent, and its persistence.
//! - the plumbing: `web/` (replies and error bodies, dates, paths, OData query options,
//!   paging, the router), `auth` (access tokens), `app` (the running sandbox's shared state),
//!   `faults`, `tls`, `config`.
//! - `server` (the HTTPS front, which hands each path to its face) and `sandbox` (start and
//!   stop).
//!
//! A new endpoint is an entity (or a rule) in `tenant/`, a handler in its face and one line in
//! the face's route table.
//!
//! ```no_run
//! # async fn demo() -> Result<(), m365_sandbox::SandboxError> {
//! use m365_sandbox::*;
//! let sandbox = Sandbox::start(SandboxConfig {
//!     data_dir: "/tmp/sandbox".into(),
//!     reset: false,
//!     app: AppRegistration {
//!         tenant_id: "11111111-1111-1111-1111-111111111111".into(),
//!         client_id: "22222222-2222-2222-2222-222222222222".into(),
//!         client_secret: Some("s3cret".into()),
//!         certificate_pem: None,
//!         roles: AppRegistration::default_roles(),
//!     },
//!     tuning: Tuning::from_env(),
//! })
//! .await?;
//! println!("Graph at {}v1.0/", sandbox.base_url());
//! sandbox.shutdown().await;
//! # Ok(()) }
//! ```

mod addins;
mod app;
mod auth;
pub mod client;
mod config;
mod control;
mod exchange;
mod faults;
mod graph;
mod sandbox;
mod server;
mod tenant;
#[cfg(test)]
mod testkit;
mod tls;
mod token;
mod web;

pub use config::{AppRegistration, SandboxConfig, SandboxError, Tuning};
pub use sandbox::Sandbox;
