//! Admission: the one path by which a manifest and a component become a
//! plugin the host can run, taken by the registry (at every start and
//! reload) and by `plugins add` (before an administrator is asked). In
//! order: the manifest parses and names a supported WIT; the component's
//! digest matches the one the manifest pins, if it pins one; the grants
//! parse ([`Checked`]). The caller may refuse here, before anything is
//! compiled (the registry checks the approval of a folder plugin). Then the
//! component compiles (or loads from the cache) and links; it describes
//! itself, under its manifest's name; every tool has a valid name and JSON
//! Schemas the host can use ([`Checked::admit`]).

use super::manifest::{Manifest, ManifestError};
use super::runtime::bindings::m365::plugin::types::Tool;
use super::runtime::{PluginInfo, Prepared, Runtime};
use crate::errors::CodedError;
use m365_policy::arguments::{ArgumentValidator, SchemaError};
use m365_policy::{Grant, Policy};
use serde_json::Value;
use sha2::{Digest, Sha256};

/// Why a plugin is not admitted; its text is what health, `plugins list`
/// and the log show.
#[derive(Debug, thiserror::Error)]
pub enum Refusal {
    #[error(transparent)]
    Manifest(#[from] ManifestError),
    #[error("not a loadable plugin component: {0:#}")]
    NotLoadable(wasmtime::Error),
    /// `describe` failed; the coded error is the plugin's or the runtime's.
    #[error("{}", .0.message)]
    Describe(CodedError),
    #[error("the component calls itself {reported:?} but its manifest says {manifest:?}")]
    Name { reported: String, manifest: String },
    #[error("tool name {0:?} does not match ^[a-zA-Z0-9_-]{{1,64}}$")]
    ToolName(String),
    #[error("tool {tool}: input schema is not JSON ({source})")]
    InputNotJson {
        tool: String,
        source: serde_json::Error,
    },
    #[error("tool {tool}: {source}")]
    InputSchema { tool: String, source: SchemaError },
    #[error("tool {0}: input schema is not an object")]
    InputNotObject(String),
    #[error("tool {0}: output schema is not a JSON object")]
    OutputNotObject(String),
}

/// A tool as the host offers it: what the plugin described, its schemas as
/// JSON, and the validator its arguments pass before the plugin runs.
pub struct ToolEntry {
    pub plugin: String,
    pub tool: Tool,
    pub input_schema: serde_json::Map<String, Value>,
    pub output_schema: Option<serde_json::Map<String, Value>>,
    pub validator: ArgumentValidator,
}

/// A plugin whose manifest and digest passed, not yet compiled.
pub struct Checked {
    pub manifest: Manifest,
    pub digest: String,
    policy: Policy,
}

/// A plugin ready to run.
pub struct Admitted {
    pub manifest: Manifest,
    pub digest: String,
    /// What its policy grants, in canonical order.
    pub grants: Vec<Grant>,
    pub prepared: Prepared,
    pub info: PluginInfo,
    /// Its tools, in the order it described them.
    pub tools: Vec<ToolEntry>,
}

impl Checked {
    /// The checks that need no compiling: manifest, digest, grants.
    pub fn new(manifest_text: &str, wasm: &[u8]) -> Result<Checked, Refusal> {
        let manifest = Manifest::parse(manifest_text)?;
        let digest = hex::encode(Sha256::digest(wasm));
        manifest.check_digest(&digest)?;
        let policy = manifest.policy()?;
        Ok(Checked {
            manifest,
            digest,
            policy,
        })
    }

    /// The policy its grants give.
    pub fn policy(&self) -> &Policy {
        &self.policy
    }

    /// Compiles and links the component, has it describe itself and checks
    /// what it says.
    pub async fn admit(self, runtime: &Runtime, wasm: &[u8]) -> Result<Admitted, Refusal> {
        let Checked {
            manifest,
            digest,
            policy,
        } = self;
        let grants = policy.grants();
        let prepared = runtime
            .prepare(&digest, wasm, policy)
            .map_err(Refusal::NotLoadable)?;
        let info = runtime
            .describe(&prepared, &manifest.name)
            .await
            .map_err(Refusal::Describe)?;
        if info.name != manifest.name {
            return Err(Refusal::Name {
                reported: info.name.clone(),
                manifest: manifest.name.clone(),
            });
        }
        let tools = info
            .tools
            .iter()
            .map(|tool| tool_entry(&manifest.name, tool))
            .collect::<Result<Vec<_>, _>>()?;
        Ok(Admitted {
            manifest,
            digest,
            grants,
            prepared,
            info,
            tools,
        })
    }
}

fn tool_entry(plugin: &str, tool: &Tool) -> Result<ToolEntry, Refusal> {
    if !valid_tool_name(&tool.name) {
        return Err(Refusal::ToolName(tool.name.clone()));
    }
    let input: Value =
        serde_json::from_str(&tool.input_schema).map_err(|source| Refusal::InputNotJson {
            tool: tool.name.clone(),
            source,
        })?;
    let validator = ArgumentValidator::new(&input, crate::secret::redact).map_err(|source| {
        Refusal::InputSchema {
            tool: tool.name.clone(),
            source,
        }
    })?;
    let Value::Object(input_schema) = input else {
        return Err(Refusal::InputNotObject(tool.name.clone()));
    };
    let output_schema = match &tool.output_schema {
        Some(s) => match serde_json::from_str(s) {
            Ok(Value::Object(o)) => Some(o),
            _ => return Err(Refusal::OutputNotObject(tool.name.clone())),
        },
        None => None,
    };
    Ok(ToolEntry {
        plugin: plugin.to_string(),
        tool: tool.clone(),
        input_schema,
        output_schema,
        validator,
    })
}

/// A manifest's `component` must name a file beside the manifest: the
/// registry and `plugins add` read it from there, and nowhere else.
pub fn component_is_a_file_name(component: &str) -> bool {
    !component.contains(['/', '\\']) && !component.starts_with('.')
}

pub fn valid_tool_name(name: &str) -> bool {
    (1..=64).contains(&name.len())
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-')
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tool_names_follow_the_mcp_pattern() {
        assert!(valid_tool_name("create_user"));
        assert!(valid_tool_name("a-b_C9"));
        assert!(!valid_tool_name(""));
        assert!(!valid_tool_name("bad name"));
        assert!(!valid_tool_name(&"x".repeat(65)));
    }

    #[test]
    fn a_component_is_named_by_a_file_name_only() {
        let cases = [
            ("users.wasm", true),
            ("../users.wasm", false),
            ("sub/users.wasm", false),
            ("sub\\users.wasm", false),
            (".hidden.wasm", false),
        ];
        for (name, want) in cases {
            assert_eq!(component_is_a_file_name(name), want, "{name}");
        }
    }
}
