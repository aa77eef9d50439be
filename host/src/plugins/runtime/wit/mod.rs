//! The WIT contracts this host serves, and the dispatch by the one a
//! component was built for.
//!
//! Each released contract is frozen in its own folder, `wit/since_vX.Y.Z/`,
//! and has one module here, `since_vX_Y_Z.rs`, with its bindings and its
//! linker. The host serves the contracts from [`MIN_WIT`] to [`CURRENT_WIT`];
//! [`latest`] is the newest, whose types the rest of the host works in.
//! Before a component is compiled, admission reads which contract it was
//! built for ([`built_for`]: the SDK's stamp, or else the versioned names it
//! imports and exports); the runtime links it against that contract's
//! imports and calls its exports through [`PluginPre`] and
//! [`PluginInstance`], which have one arm per contract.
//!
//! Adding a contract (say 0.2.0): freeze it in `wit/since_v0.2.0/`, add
//! `since_v0_2_0.rs` and make it `latest`; in the older module, map the
//! interfaces that did not change to the new one's with bindgen's `with:`
//! and implement there only the changed imports, converting to the new
//! types; add an arm to [`SERVED`], [`Linkers`], [`PluginPre`] and
//! [`PluginInstance`], converting the older exports' results.

pub mod since_v0_1_0;
mod stamp;

pub use since_v0_1_0 as latest;
pub use stamp::{BuiltFor, Evidence, ReadError, built_for};

use super::imports::PluginState;
use latest::m365::plugin::types::{PluginInfo, Resource, ResourceContents, ToolError};
use std::fmt;
use std::str::FromStr;
use wasmtime::component::{Component, Linker};
use wasmtime::{Engine, Store};

/// Every contract this host serves, oldest first.
pub const SERVED: &[WitVersion] = &[since_v0_1_0::VERSION];
/// The oldest contract this host serves.
pub const MIN_WIT: WitVersion = SERVED[0];
/// The newest contract, the one the SDK in this repository builds for.
pub const CURRENT_WIT: WitVersion = latest::VERSION;

/// Whether this host serves the contract `m365:plugin@{version}`.
pub fn serves(version: WitVersion) -> bool {
    SERVED.contains(&version)
}

/// The contracts served, for messages: `0.1.0`, or `0.1.0 to 0.2.0`.
pub fn served_range() -> String {
    if MIN_WIT == CURRENT_WIT {
        MIN_WIT.to_string()
    } else {
        format!("{MIN_WIT} to {CURRENT_WIT}")
    }
}

/// The version of a WIT contract, `MAJOR.MINOR.PATCH`, as the package
/// `m365:plugin@…` and a manifest's `wit` field spell it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct WitVersion {
    pub major: u32,
    pub minor: u32,
    pub patch: u32,
}

impl WitVersion {
    pub const fn new(major: u32, minor: u32, patch: u32) -> WitVersion {
        WitVersion {
            major,
            minor,
            patch,
        }
    }
}

impl fmt::Display for WitVersion {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}.{}.{}", self.major, self.minor, self.patch)
    }
}

#[derive(Debug, thiserror::Error)]
#[error("{0:?} is not a WIT version (MAJOR.MINOR.PATCH, e.g. \"{CURRENT_WIT}\")")]
pub struct NotAVersion(pub String);

impl FromStr for WitVersion {
    type Err = NotAVersion;

    fn from_str(s: &str) -> Result<WitVersion, NotAVersion> {
        let number = |part: &str| {
            (!part.is_empty() && part.bytes().all(|b| b.is_ascii_digit()))
                .then(|| part.parse::<u32>().ok())
                .flatten()
        };
        let parts: Vec<Option<u32>> = s.split('.').map(number).collect();
        match parts[..] {
            [Some(major), Some(minor), Some(patch)] => Ok(WitVersion::new(major, minor, patch)),
            _ => Err(NotAVersion(s.to_string())),
        }
    }
}

impl<'de> serde::Deserialize<'de> for WitVersion {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<WitVersion, D::Error> {
        let text = String::deserialize(d)?;
        text.parse().map_err(serde::de::Error::custom)
    }
}

/// One linker per contract: WASI (granting nothing), the gated wasi:http,
/// and that contract's `m365:plugin` imports under its names.
pub struct Linkers {
    v0_1_0: Linker<PluginState>,
}

impl Linkers {
    pub fn new(engine: &Engine) -> wasmtime::Result<Linkers> {
        Ok(Linkers {
            v0_1_0: linker(engine, since_v0_1_0::add_to_linker)?,
        })
    }

    /// Links `component`, built for contract `wit`, against that contract.
    pub fn instantiate_pre(
        &self,
        wit: WitVersion,
        component: &Component,
    ) -> wasmtime::Result<PluginPre> {
        match wit {
            since_v0_1_0::VERSION => Ok(PluginPre::V0_1_0(since_v0_1_0::PluginPre::new(
                self.v0_1_0.instantiate_pre(component)?,
            )?)),
            other => wasmtime::bail!(
                "this host serves m365:plugin {}, not {other}",
                served_range()
            ),
        }
    }
}

fn linker(
    engine: &Engine,
    contract: fn(&mut Linker<PluginState>) -> wasmtime::Result<()>,
) -> wasmtime::Result<Linker<PluginState>> {
    let mut linker = Linker::new(engine);
    wasmtime_wasi::p2::add_to_linker_async(&mut linker)?;
    wasmtime_wasi_http::p2::add_only_http_to_linker_async(&mut linker)?;
    contract(&mut linker)?;
    Ok(linker)
}

/// A component linked against the contract it was built for.
pub enum PluginPre {
    V0_1_0(since_v0_1_0::PluginPre<PluginState>),
}

/// An instance of a plugin, whose exports answer in the newest contract's
/// types whichever contract it was built for.
pub enum PluginInstance {
    V0_1_0(since_v0_1_0::Plugin),
}

impl PluginPre {
    pub async fn instantiate_async(
        &self,
        store: &mut Store<PluginState>,
    ) -> wasmtime::Result<PluginInstance> {
        Ok(match self {
            PluginPre::V0_1_0(pre) => PluginInstance::V0_1_0(pre.instantiate_async(store).await?),
        })
    }
}

impl PluginInstance {
    pub async fn describe(&self, store: &mut Store<PluginState>) -> wasmtime::Result<PluginInfo> {
        match self {
            PluginInstance::V0_1_0(p) => p.m365_plugin_tools().call_describe(store).await,
        }
    }

    pub async fn call(
        &self,
        store: &mut Store<PluginState>,
        tool: &str,
        args: &str,
    ) -> wasmtime::Result<Result<String, ToolError>> {
        match self {
            PluginInstance::V0_1_0(p) => p.m365_plugin_tools().call_call(store, tool, args).await,
        }
    }

    pub async fn plan(
        &self,
        store: &mut Store<PluginState>,
        tool: &str,
        args: &str,
    ) -> wasmtime::Result<Result<String, ToolError>> {
        match self {
            PluginInstance::V0_1_0(p) => p.m365_plugin_tools().call_plan(store, tool, args).await,
        }
    }

    pub async fn read_resource(
        &self,
        store: &mut Store<PluginState>,
        uri: &str,
    ) -> wasmtime::Result<Result<ResourceContents, ToolError>> {
        match self {
            PluginInstance::V0_1_0(p) => p.m365_plugin_tools().call_read_resource(store, uri).await,
        }
    }

    pub async fn list_resources(
        &self,
        store: &mut Store<PluginState>,
    ) -> wasmtime::Result<Vec<Resource>> {
        match self {
            PluginInstance::V0_1_0(p) => p.m365_plugin_tools().call_list_resources(store).await,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn versions_parse_only_as_three_numbers() {
        let cases = [
            ("0.1.0", Some(WitVersion::new(0, 1, 0))),
            ("1.20.300", Some(WitVersion::new(1, 20, 300))),
            ("0.1", None),
            ("0.1.0.0", None),
            ("0.1.x", None),
            ("0.1.0-rc1", None),
            ("+0.1.0", None),
            (" 0.1.0", None),
            ("0..0", None),
            ("", None),
            ("0.1.99999999999", None),
        ];
        for (text, want) in cases {
            assert_eq!(text.parse::<WitVersion>().ok(), want, "{text:?}");
        }
        assert_eq!(WitVersion::new(0, 1, 0).to_string(), "0.1.0");
    }

    #[test]
    fn the_served_range_runs_from_min_to_current() {
        assert!(MIN_WIT <= CURRENT_WIT);
        assert!(SERVED.windows(2).all(|w| w[0] < w[1]), "oldest first");
        assert_eq!(SERVED.first(), Some(&MIN_WIT));
        assert_eq!(SERVED.last(), Some(&CURRENT_WIT));
        assert!(serves(WitVersion::new(0, 1, 0)));
        assert!(!serves(WitVersion::new(0, 1, 1)));
        assert!(!serves(WitVersion::new(0, 9, 0)));
    }
}
