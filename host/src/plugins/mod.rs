//! Plugins: manifests, the wasmtime runtime, argument validation and the
//! registry of what is loaded.

pub mod manifest;
pub mod registry;
pub mod runtime;
pub mod validate;
