//! Plugins: manifests, admission (the checks every plugin passes before it
//! runs), the wasmtime runtime, argument validation and the registry of what
//! is loaded.

pub mod admission;
pub mod manifest;
pub mod registry;
pub mod runtime;
pub mod validate;
