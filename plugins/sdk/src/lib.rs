//! Guest-side SDK for m365-admin plugins.
//!
//! A plugin is a `cdylib` crate built for `wasm32-wasip2`. It implements
//! [`Plugin`] and exports it with one line:
//!
//! ```ignore
//! struct UsersPlugin;
//! impl m365_plugin_sdk::Plugin for UsersPlugin { /* name, version, tools */ }
//! m365_plugin_sdk::export_plugin!(UsersPlugin);
//! ```
//!
//! What the SDK gives a plugin:
//! - [`Tool`]: a tool declared from Rust types; the input schema is derived
//!   with `schemars`, arguments are deserialized into the type before the
//!   handler runs (a failure there is `INPUT_001` naming the field).
//! - [`ToolError`] with one constructor per documented error code.
//! - [`host`]: progress, logging, clock and sleep from the host.
//! - [`graph::Graph`]: a blocking Microsoft Graph client over `wasi:http`
//!   (the host adds the token; a plugin never sets `Authorization`).
//! - [`cursor::Cursor`]: a Graph list's `@odata.nextLink` as the opaque
//!   `nextCursor` a tool returns, and back, checked.
//! - [`addins`]: Outlook add-in manifests fetched and checked by the host.
//! - [`exchange`]: Exchange Online cmdlets (`invoke`), as granted, with
//!   [`exchange::ExchangeError::is_not_found`] and the shared lookups
//!   (`one`, `find`, `user_mailboxes`, `address`).
//! - [`store`]: the plugin's own documents and logs in the host's encrypted
//!   database (needs the `store` grant).
//! - [`http`]: the raw `wasi:http` request used underneath (no conveniences).
//! - [`text`]: OData literal escaping, path-segment and query encoding,
//!   e-mail address validation.
//! - [`time`]: RFC 3339 instants to and from milliseconds since the epoch.
//! - [`licenses`]: the spec's license names, their SKU part numbers and list
//!   prices, and the tenant's SKUs with their seats.

extern crate self as m365_plugin_sdk;

/// Bindings generated from the frozen contract `wit/since_v0.1.0` (world
/// `plugin`). [`WIT_VERSION`] names the same contract; the two change together.
#[doc(hidden)]
pub mod bindings {
    wit_bindgen::generate!({
        world: "plugin",
        path: "../../wit/since_v0.1.0",
        pub_export_macro: true,
        export_macro_name: "export",
        default_bindings_module: "m365_plugin_sdk::bindings",
    });
}

/// The version of the WIT contract (`m365:plugin@…`) this SDK's bindings were
/// generated from, and so the one every plugin built with it was built for.
/// A plugin's manifest says the same in its `wit` field.
pub const WIT_VERSION: &str = "0.1.0";

/// [`WIT_VERSION`] as the bytes [`export_plugin!`] stamps into the plugin.
#[doc(hidden)]
pub const WIT_STAMP: [u8; WIT_VERSION.len()] = {
    let version = WIT_VERSION.as_bytes();
    let mut out = [0; WIT_VERSION.len()];
    let mut i = 0;
    while i < out.len() {
        out[i] = version[i];
        i += 1;
    }
    out
};

pub mod addins;
pub mod cursor;
pub mod error;
pub mod exchange;
pub mod graph;
pub mod host;
pub mod http;
pub mod licenses;
pub mod plugin;
pub mod store;
pub mod text;
pub mod time;
pub mod tool;

pub use error::{ToolError, codes};
pub use graph::{Graph, GraphError};
pub use plugin::{Plugin, Resource, ResourceContents, ResourceTemplate};
pub use tool::{Annotations, Tool};

// Re-exported so plugins derive with the same versions the SDK uses.
pub use schemars;
pub use serde;
pub use serde_json;
pub use serde_json::{Value, json};

/// Exports a type implementing [`Plugin`] as the component's `tools` interface,
/// and stamps the component with the contract it was built for.
///
/// Use it once per plugin crate, at the crate root:
/// `m365_plugin_sdk::export_plugin!(UsersPlugin);`
///
/// The stamp is [`WIT_VERSION`] in a custom section named `m365-plugin-wit`
/// of the plugin's core module, which the host reads before it instantiates
/// the component. It is a static of the plugin crate itself, not of the SDK,
/// so that the linker keeps it in every profile: in a debug build, an unused
/// static of a dependency sits in an object file nothing pulls in.
#[macro_export]
macro_rules! export_plugin {
    ($plugin:ty) => {
        const _: () = {
            #[doc(hidden)]
            type __M365PluginExports = $crate::plugin::Exports<$plugin>;
    $crate::bindings::export!(__M365PluginExports with_types_in $crate::bindings);

            #[cfg(target_arch = "wasm32")]
            #[used]
            #[unsafe(link_section = "m365-plugin-wit")]
            static __M365_PLUGIN_WIT: [u8; $crate::WIT_VERSION.len()] = $crate::WIT_STAMP;
        };
    };
}
