//! The templates plugin's pure core, a library so that the plugin and the
//! fuzzers (`fuzz/`) run the same code: the template model ([`model`]), its
//! rendering in a locked-down minijinja ([`render`]), and the HTML
//! sanitizer and CAN-SPAM checks ([`sanitize`]).
//!
//! Nothing here calls the host: where templates are stored, and sending
//! them, stay in the plugin. Errors are the SDK's [`ToolError`] with the
//! documented codes, as the plugin returns them.
//!
//! [`ToolError`]: m365_plugin_sdk::ToolError

pub mod model;
pub mod render;
pub mod sanitize;
