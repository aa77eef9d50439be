//! Which contract a component says it was built for, read from its bytes
//! before anything is compiled.
//!
//! The SDK stamps its contract's version into every plugin: a custom section
//! named [`STAMP_SECTION`] holding the version as text (`0.1.0`), in the
//! plugin's core module inside the component. A component built before the
//! stamp existed is recognised by the versioned names it imports and
//! exports (`m365:plugin/tools@0.1.0`). When it has both they must agree.
//!
//! What a component says here only chooses the bindings it is linked
//! against; wasmtime still checks every import and export against them,
//! and nothing in it widens what the plugin is granted.

use super::WitVersion;
use std::collections::BTreeSet;
use wasmparser::{Encoding, Parser, Payload};

/// The custom section the SDK's `export_plugin!` writes.
pub const STAMP_SECTION: &str = "m365-plugin-wit";

/// The package whose interfaces a plugin imports and exports.
const PACKAGE: &str = "m365:plugin/";

/// The contract a component was built for, and what says so.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct BuiltFor {
    pub version: WitVersion,
    pub evidence: Evidence,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Evidence {
    /// The SDK's stamp (and the names agree with it).
    Stamp,
    /// Its versioned `m365:plugin` names: built before the stamp.
    Names,
}

impl std::fmt::Display for Evidence {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Evidence::Stamp => "its `m365-plugin-wit` stamp",
            Evidence::Names => "the versions of the m365:plugin interfaces it imports and exports (it has no `m365-plugin-wit` stamp)",
        })
    }
}

/// Why the contract a component was built for cannot be told.
#[derive(Debug, thiserror::Error)]
pub enum ReadError {
    #[error("it is not a readable WebAssembly component ({0})")]
    Unreadable(#[from] wasmparser::BinaryReaderError),
    #[error("it is a core WebAssembly module, not a component; build it for wasm32-wasip2")]
    NotAComponent,
    #[error("its `m365-plugin-wit` stamp {0:?} is not a version")]
    BadStamp(String),
    #[error("it carries more than one `m365-plugin-wit` stamp ({})", .0.join(", "))]
    Stamps(Vec<String>),
    #[error(
        "an m365:plugin interface it imports or exports, {0:?}, has no version the host can read"
    )]
    BadName(String),
    #[error("it imports or exports m365:plugin interfaces of several versions ({})", list(.0))]
    MixedNames(Vec<WitVersion>),
    #[error(
        "its `m365-plugin-wit` stamp says {stamp}, but the m365:plugin interfaces it imports and exports are {names}"
    )]
    StampContradictsNames {
        stamp: WitVersion,
        names: WitVersion,
    },
    #[error(
        "it neither carries an `m365-plugin-wit` stamp nor imports or exports an m365:plugin interface; it is not an m365-admin plugin"
    )]
    Unversioned,
}

fn list(versions: &[WitVersion]) -> String {
    versions
        .iter()
        .map(ToString::to_string)
        .collect::<Vec<_>>()
        .join(", ")
}

/// Reads the contract `wasm` was built for: its stamp, checked against its
/// names, or its names alone.
pub fn built_for(wasm: &[u8]) -> Result<BuiltFor, ReadError> {
    let mut depth = 0usize;
    let mut stamps = BTreeSet::new();
    let mut names = BTreeSet::new();
    for payload in Parser::new(0).parse_all(wasm) {
        match payload? {
            Payload::Version { encoding, .. } => {
                if depth == 0 && encoding != Encoding::Component {
                    return Err(ReadError::NotAComponent);
                }
                depth += 1;
            }
            Payload::End(_) => depth = depth.saturating_sub(1),
            Payload::CustomSection(section) if section.name() == STAMP_SECTION => {
                stamps.insert(String::from_utf8_lossy(section.data()).into_owned());
            }
            // The component's own imports and exports, not those of the
            // components nested in it.
            Payload::ComponentImportSection(imports) if depth == 1 => {
                for import in imports {
                    versioned_name(import?.name.name, &mut names)?;
                }
            }
            Payload::ComponentExportSection(exports) if depth == 1 => {
                for export in exports {
                    versioned_name(export?.name.name, &mut names)?;
                }
            }
            _ => {}
        }
    }
    let names = match names.len() {
        0 => None,
        1 => names.pop_first(),
        _ => return Err(ReadError::MixedNames(names.into_iter().collect())),
    };
    let stamp = match stamps.len() {
        0 => None,
        1 => {
            let text = stamps.pop_first().unwrap_or_default();
            Some(text.parse().map_err(|_| ReadError::BadStamp(text))?)
        }
        _ => return Err(ReadError::Stamps(stamps.into_iter().collect())),
    };
    match (stamp, names) {
        (Some(stamp), Some(names)) if stamp != names => {
            Err(ReadError::StampContradictsNames { stamp, names })
        }
        (Some(version), _) => Ok(BuiltFor {
            version,
            evidence: Evidence::Stamp,
        }),
        (None, Some(version)) => Ok(BuiltFor {
            version,
            evidence: Evidence::Names,
        }),
        (None, None) => Err(ReadError::Unversioned),
    }
}

/// Records the version of `name` if it is one of the package's interfaces.
fn versioned_name(name: &str, into: &mut BTreeSet<WitVersion>) -> Result<(), ReadError> {
    let Some(rest) = name.strip_prefix(PACKAGE) else {
        return Ok(());
    };
    let version = rest
        .split_once('@')
        .and_then(|(_, v)| v.parse().ok())
        .ok_or_else(|| ReadError::BadName(name.to_string()))?;
    into.insert(version);
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::plugins::registry::BUNDLED;

    /// The hello example as built at commit 6901942, before the SDK stamped
    /// components (see the fixture's README).
    const BEFORE_THE_STAMP: &[u8] =
        include_bytes!("../../../../../tests/fixtures/wit-0.1.0/hello/hello.wasm");

    /// `bytes` with every `from` replaced by `to` (of the same length, so
    /// the component stays well-formed).
    fn patched(bytes: &[u8], edits: &[(&str, &str)]) -> Vec<u8> {
        let mut out = bytes.to_vec();
        for (from, to) in edits {
            assert_eq!(from.len(), to.len());
            let (from, to) = (from.as_bytes(), to.as_bytes());
            let mut hits = 0;
            let mut i = 0;
            while i + from.len() <= out.len() {
                if &out[i..i + from.len()] == from {
                    out[i..i + from.len()].copy_from_slice(to);
                    hits += 1;
                    i += from.len();
                } else {
                    i += 1;
                }
            }
            assert!(hits > 0, "{} not found", String::from_utf8_lossy(from));
        }
        out
    }

    fn users() -> &'static [u8] {
        BUNDLED.iter().find(|b| b.name == "users").unwrap().wasm
    }

    const V0_1_0: WitVersion = WitVersion::new(0, 1, 0);
    const V0_9_0: WitVersion = WitVersion::new(0, 9, 0);

    #[test]
    fn every_bundled_plugin_carries_the_current_stamp() {
        for b in BUNDLED {
            assert_eq!(
                built_for(b.wasm).unwrap(),
                BuiltFor {
                    version: super::super::CURRENT_WIT,
                    evidence: Evidence::Stamp,
                },
                "{}",
                b.name
            );
        }
    }

    #[test]
    fn what_a_component_says_it_was_built_for() {
        let ok = |version, evidence| Ok::<_, ReadError>(BuiltFor { version, evidence });
        let to_0_9 = [
            ("plugin/types@0.1.0", "plugin/types@0.9.0"),
            ("plugin/tools@0.1.0", "plugin/tools@0.9.0"),
        ];
        let cases: Vec<(&str, Vec<u8>, Result<BuiltFor, ReadError>)> = vec![
            (
                "built before the stamp",
                BEFORE_THE_STAMP.to_vec(),
                ok(V0_1_0, Evidence::Names),
            ),
            (
                "unstamped, other names",
                patched(BEFORE_THE_STAMP, &to_0_9),
                ok(V0_9_0, Evidence::Names),
            ),
            (
                "unstamped, names of two versions",
                patched(BEFORE_THE_STAMP, &to_0_9[1..]),
                Err(ReadError::MixedNames(vec![V0_1_0, V0_9_0])),
            ),
            (
                "stamp renamed away",
                patched(users(), &[("m365-plugin-wit0.1.0", "m365-plugin-wiz0.1.0")]),
                ok(V0_1_0, Evidence::Names),
            ),
            (
                "stamp contradicting the names",
                patched(users(), &[("m365-plugin-wit0.1.0", "m365-plugin-wit0.9.0")]),
                Err(ReadError::StampContradictsNames {
                    stamp: V0_9_0,
                    names: V0_1_0,
                }),
            ),
            (
                "stamp that is no version",
                patched(users(), &[("m365-plugin-wit0.1.0", "m365-plugin-wit0.1.x")]),
                Err(ReadError::BadStamp("0.1.x".into())),
            ),
            (
                "a core module",
                b"\0asm\x01\0\0\0".to_vec(),
                Err(ReadError::NotAComponent),
            ),
            (
                "an empty component",
                b"\0asm\x0d\0\x01\0".to_vec(),
                Err(ReadError::Unversioned),
            ),
        ];
        for (what, wasm, want) in cases {
            let got = built_for(&wasm);
            assert_eq!(format!("{got:?}"), format!("{want:?}"), "{what}");
        }
        assert!(matches!(
            built_for(b"not wasm at all"),
            Err(ReadError::Unreadable(_))
        ));
    }
}
