//! Plugins: manifests, admission (the checks every plugin passes before it
//! runs; it builds each tool's argument validator, the policy crate's), the
//! wasmtime runtime and the registry of what is loaded.

pub mod admission;
pub mod manifest;
pub mod registry;
pub mod runtime;
