//! The loaded plugins and the tools they offer. Bundled plugins come from the
//! binary; a plugin directory may add more, or replace a bundled one of the
//! same name (that is how an admin swaps a plugin without rebuilding). A
//! plugin that cannot be loaded is recorded with the reason, for
//! `m365://health` and the log, and the others still load.

use super::manifest::Manifest;
use super::runtime::{PluginInfo, Prepared, Runtime};
use super::validate::ArgumentValidator;
use crate::store::Database;
use serde_json::Value;
use sha2::{Digest, Sha256};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

include!(concat!(env!("OUT_DIR"), "/bundled.rs"));

/// A plugin compiled into this binary.
pub struct BundledPlugin {
    pub name: &'static str,
    pub manifest: &'static str,
    pub wasm: &'static [u8],
}

pub struct LoadedPlugin {
    pub name: String,
    pub version: String,
    pub source: String,
    pub digest: String,
    pub grants: Vec<String>,
    pub prepared: Prepared,
    pub info: PluginInfo,
}

pub struct ToolEntry {
    pub plugin: String,
    pub tool: super::runtime::bindings::m365::plugin::types::Tool,
    pub input_schema: serde_json::Map<String, Value>,
    pub output_schema: Option<serde_json::Map<String, Value>>,
    pub validator: ArgumentValidator,
}

#[derive(Clone, Debug, serde::Serialize)]
pub struct Problem {
    pub source: String,
    pub reason: String,
}

#[derive(Default)]
pub struct Registry {
    pub plugins: BTreeMap<String, LoadedPlugin>,
    pub tools: BTreeMap<String, ToolEntry>,
    pub problems: Vec<Problem>,
}

struct Candidate {
    source: String,
    manifest: String,
    wasm: Result<Vec<u8>, String>,
    /// From the plugin directory: loads only as approved. Bundled plugins
    /// were approved by building them into the host.
    needs_approval: bool,
}

impl Registry {
    /// Loads the bundled plugins and those in `plugin_dir` that `approvals`
    /// approved with this digest and at least these grants.
    pub async fn load(
        runtime: &Runtime,
        plugin_dir: &Path,
        approvals: Option<&Database>,
    ) -> Registry {
        let mut candidates: BTreeMap<String, Candidate> = BTreeMap::new();
        for b in BUNDLED {
            candidates.insert(
                b.name.to_string(),
                Candidate {
                    source: "bundled".into(),
                    manifest: b.manifest.into(),
                    wasm: Ok(b.wasm.to_vec()),
                    needs_approval: false,
                },
            );
        }
        let mut reg = Registry::default();
        for (dir, manifest) in dir_manifests(plugin_dir) {
            let source = dir.display().to_string();
            let text = match std::fs::read_to_string(&manifest) {
                Ok(t) => t,
                Err(e) => {
                    reg.problem(&source, format!("cannot read manifest.toml ({e})"));
                    continue;
                }
            };
            let (name, component) = match Manifest::parse(&text) {
                Ok(m) => (m.name, m.component),
                Err(e) => {
                    reg.problem(&source, e.to_string());
                    continue;
                }
            };
            if component.contains(['/', '\\']) || component.starts_with('.') {
                reg.problem(
                    &source,
                    format!("component {component:?} must be a file name beside the manifest"),
                );
                continue;
            }
            let wasm = std::fs::read(dir.join(&component))
                .map_err(|e| format!("cannot read {component} ({e})"));
            candidates.insert(
                name,
                Candidate {
                    source,
                    manifest: text,
                    wasm,
                    needs_approval: true,
                },
            );
        }
        for (_, c) in candidates {
            if let Err(reason) = reg.add(runtime, &c, approvals).await {
                reg.problem(&c.source, reason);
            }
        }
        reg
    }

    fn problem(&mut self, source: &str, reason: String) {
        tracing::warn!(plugin = %source, %reason, "plugin not loaded");
        self.problems.push(Problem {
            source: source.into(),
            reason,
        });
    }

    async fn add(
        &mut self,
        runtime: &Runtime,
        c: &Candidate,
        approvals: Option<&Database>,
    ) -> Result<(), String> {
        let manifest = Manifest::parse(&c.manifest).map_err(|e| e.to_string())?;
        let wasm = c.wasm.as_ref().map_err(Clone::clone)?;
        let digest = hex::encode(Sha256::digest(wasm));
        manifest.check_digest(&digest).map_err(|e| e.to_string())?;
        let policy = manifest.policy().map_err(|e| e.to_string())?;
        if c.needs_approval {
            check_approval(&manifest, &digest, &c.source, approvals)?;
        }
        let prepared = runtime
            .prepare(&digest, wasm, policy)
            .map_err(|e| format!("not a loadable plugin component: {e:#}"))?;
        let info = runtime
            .describe(&prepared, &manifest.name)
            .await
            .map_err(|e| e.message)?;
        if info.name != manifest.name {
            return Err(format!(
                "the component calls itself {:?} but its manifest says {:?}",
                info.name, manifest.name
            ));
        }
        let mut entries = Vec::new();
        for tool in &info.tools {
            if !valid_tool_name(&tool.name) {
                return Err(format!(
                    "tool name {:?} does not match ^[a-zA-Z0-9_-]{{1,64}}$",
                    tool.name
                ));
            }
            if let Some(other) = self.tools.get(&tool.name) {
                return Err(format!(
                    "tool {} is already offered by plugin {}",
                    tool.name, other.plugin
                ));
            }
            let input: Value = serde_json::from_str(&tool.input_schema)
                .map_err(|e| format!("tool {}: input schema is not JSON ({e})", tool.name))?;
            let validator =
                ArgumentValidator::new(&input).map_err(|e| format!("tool {}: {e}", tool.name))?;
            let Value::Object(input_schema) = input else {
                return Err(format!("tool {}: input schema is not an object", tool.name));
            };
            let output_schema = match &tool.output_schema {
                Some(s) => match serde_json::from_str(s) {
                    Ok(Value::Object(o)) => Some(o),
                    _ => {
                        return Err(format!(
                            "tool {}: output schema is not a JSON object",
                            tool.name
                        ));
                    }
                },
                None => None,
            };
            entries.push(ToolEntry {
                plugin: manifest.name.clone(),
                tool: tool.clone(),
                input_schema,
                output_schema,
                validator,
            });
        }
        for e in entries {
            self.tools.insert(e.tool.name.clone(), e);
        }
        tracing::info!(plugin = %manifest.name, version = %manifest.version, source = %c.source, tools = info.tools.len(), "plugin loaded");
        self.plugins.insert(
            manifest.name.clone(),
            LoadedPlugin {
                name: manifest.name.clone(),
                version: manifest.version.clone(),
                source: c.source.clone(),
                digest,
                grants: manifest.grant_list(),
                prepared,
                info,
            },
        );
        Ok(())
    }

    /// The plugin whose resource templates match `uri`.
    pub fn plugin_for_uri(&self, uri: &str) -> Option<&LoadedPlugin> {
        self.plugins.values().find(|p| {
            p.info
                .resource_templates
                .iter()
                .any(|t| template_matches(&t.uri_template, uri))
        })
    }
}

/// A plugin from the plugin directory loads only with the digest and within
/// the grants an administrator approved.
fn check_approval(
    manifest: &Manifest,
    digest: &str,
    source: &str,
    approvals: Option<&Database>,
) -> Result<(), String> {
    let again = format!("review and approve it with `m365-admin plugins add {source}`");
    let db = approvals
        .ok_or_else(|| format!("its approval cannot be checked without the database; {again}"))?;
    let approval = db
        .approval_get(&manifest.name)
        .map_err(|e| format!("its approval cannot be read ({e})"))?
        .ok_or_else(|| format!("it has not been approved; {again}"))?;
    if approval.digest != digest {
        return Err(format!(
            "its component changed since it was approved (sha256 {} now, {} approved); {again}",
            &digest[..12],
            &approval.digest[..approval.digest.len().min(12)]
        ));
    }
    let extra: Vec<String> = manifest
        .grant_list()
        .into_iter()
        .filter(|g| !approval.grants.contains(g))
        .collect();
    if !extra.is_empty() {
        return Err(format!(
            "its manifest asks for more than was approved ({}); {again}",
            extra.join(", ")
        ));
    }
    Ok(())
}

fn dir_manifests(dir: &Path) -> Vec<(PathBuf, PathBuf)> {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return Vec::new();
    };
    let mut out: Vec<(PathBuf, PathBuf)> = entries
        .filter_map(|e| e.ok())
        .map(|e| e.path())
        .filter(|p| p.join("manifest.toml").is_file())
        .map(|p| (p.clone(), p.join("manifest.toml")))
        .collect();
    out.sort();
    out
}

pub fn valid_tool_name(name: &str) -> bool {
    (1..=64).contains(&name.len())
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-')
}

/// RFC 6570 level 1: each `{var}` matches one non-empty run without `/`.
pub fn template_matches(template: &str, uri: &str) -> bool {
    let mut rest = uri;
    let mut parts = template.split('{').peekable();
    let Some(first) = parts.next() else {
        return false;
    };
    let Some(r) = rest.strip_prefix(first) else {
        return false;
    };
    rest = r;
    for part in parts {
        let Some((_, literal)) = part.split_once('}') else {
            return false;
        };
        let end = if literal.is_empty() {
            rest.len()
        } else {
            match rest.find(literal) {
                Some(i) => i,
                None => return false,
            }
        };
        let value = &rest[..end];
        if value.is_empty() || value.contains('/') {
            return false;
        }
        rest = &rest[end + literal.len()..];
    }
    rest.is_empty()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn templates_match_one_segment_per_variable() {
        let cases = [
            ("m365://users/{userEmail}", "m365://users/a@b.com", true),
            ("m365://users/{userEmail}", "m365://users/", false),
            ("m365://users/{userEmail}", "m365://users/a/b", false),
            ("m365://users/{userEmail}", "m365://teams/x", false),
            ("m365://t/{a}/x/{b}", "m365://t/1/x/2", true),
            ("m365://t/{a}/x/{b}", "m365://t/1/y/2", false),
        ];
        for (t, u, want) in cases {
            assert_eq!(template_matches(t, u), want, "{t} vs {u}");
        }
    }

    #[test]
    fn tool_names_follow_the_mcp_pattern() {
        assert!(valid_tool_name("create_user"));
        assert!(valid_tool_name("a-b_C9"));
        assert!(!valid_tool_name(""));
        assert!(!valid_tool_name("bad name"));
        assert!(!valid_tool_name(&"x".repeat(65)));
    }
}
