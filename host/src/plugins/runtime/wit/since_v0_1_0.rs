//! The frozen contract `m365:plugin@0.1.0` (`wit/since_v0.1.0`): its
//! bindings, and its imports linked under their `@0.1.0` names.
//!
//! While it is the newest contract, its bindings are the host's working
//! types and `imports/` implements its traits directly. Once a newer one
//! exists, interfaces that did not change are taken from it with bindgen's
//! `with:`, so one implementation serves both; only what changed gets an
//! implementation here that converts and calls the newer one.

use super::WitVersion;
use crate::plugins::runtime::imports::PluginState;
use wasmtime::component::{HasSelf, Linker};

pub const VERSION: WitVersion = WitVersion::new(0, 1, 0);

wasmtime::component::bindgen!({
    world: "plugin",
    path: "../wit/since_v0.1.0",
    imports: { default: async | trappable },
    exports: { default: async },
});

/// Adds this contract's imports to `linker`, each under its `@0.1.0` name.
///
/// Not the world's generated `add_to_linker`: for an interface mapped with
/// `with:` to a newer contract's, that would register it under the newer
/// contract's name, which a 0.1.0 component does not import.
pub fn add_to_linker(linker: &mut Linker<PluginState>) -> wasmtime::Result<()> {
    use m365::plugin::{addins, host, store, types};
    let name = |interface: &str| format!("m365:plugin/{interface}@{VERSION}");
    types::add_to_linker_instance::<_, HasSelf<_>>(&mut linker.instance(&name("types"))?, |s| s)?;
    host::add_to_linker_instance::<_, HasSelf<_>>(&mut linker.instance(&name("host"))?, |s| s)?;
    store::add_to_linker_instance::<_, HasSelf<_>>(&mut linker.instance(&name("store"))?, |s| s)?;
    addins::add_to_linker_instance::<_, HasSelf<_>>(&mut linker.instance(&name("addins"))?, |s| s)?;
    Ok(())
}
