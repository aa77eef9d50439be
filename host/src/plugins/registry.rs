//! The loaded plugins and the tools they offer. Bundled plugins come from the
//! binary; a plugin directory may add more, or replace a bundled one of the
//! same name (that is how an admin swaps a plugin without rebuilding). A
//! plugin that cannot be loaded is recorded with the reason, for
//! `m365://health` and the log, and the others still load.

use super::admission::{Checked, Refusal, ToolEntry, component_is_a_file_name};
use super::manifest::Manifest;
use super::runtime::{PluginInfo, Prepared, Runtime};
use crate::store::{Database, StoreError};
use m365_policy::Grant;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

include!(concat!(env!("OUT_DIR"), "/bundled.rs"));

/// A plugin compiled into this binary.
pub struct BundledPlugin {
    pub name: &'static str,
    pub manifest: &'static str,
    pub wasm: &'static [u8],
}

/// Where the build left the probe test plugin (its component and manifest):
/// in a source checkout only, and never loaded unless installed and
/// approved like any folder plugin. The harness's bulk benchmark uses it.
pub const PROBE_TEST_PLUGIN: Option<(&str, &str)> = match (
    option_env!("M365_TEST_PLUGIN_PROBE_WASM"),
    option_env!("M365_TEST_PLUGIN_PROBE_MANIFEST"),
) {
    (Some(wasm), Some(manifest)) => Some((wasm, manifest)),
    _ => None,
};

pub struct LoadedPlugin {
    pub name: String,
    pub version: String,
    pub source: String,
    pub digest: String,
    /// What its policy grants, in canonical order.
    pub grants: Vec<Grant>,
    pub prepared: Prepared,
    pub info: PluginInfo,
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
    wasm: Result<Vec<u8>, Refused>,
    /// From the plugin directory: loads only as approved. Bundled plugins
    /// were approved by building them into the host.
    needs_approval: bool,
}

/// Why a candidate did not load; its text is the problem's reason.
#[derive(Debug, thiserror::Error)]
enum Refused {
    #[error(transparent)]
    Admission(#[from] Refusal),
    #[error("cannot read {component} ({error})")]
    Unreadable {
        component: String,
        error: std::io::Error,
    },
    #[error(transparent)]
    NotApproved(#[from] NotApproved),
    #[error("tool {tool} is already offered by plugin {plugin}")]
    ToolTaken { tool: String, plugin: String },
}

/// A folder plugin without a matching approval.
#[derive(Debug, thiserror::Error)]
enum NotApproved {
    #[error("its approval cannot be checked without the database; {}", again(.dir))]
    NoDatabase { dir: String },
    #[error("its approval cannot be read ({0})")]
    Unreadable(StoreError),
    #[error("it has not been approved; {}", again(.dir))]
    Missing { dir: String },
    #[error("its component changed since it was approved (sha256 {now} now, {approved} approved); {}", again(.dir))]
    Changed {
        dir: String,
        now: String,
        approved: String,
    },
    #[error("its manifest asks for more than was approved ({}); {}", list(.extra), again(.dir))]
    Wider { dir: String, extra: Vec<Grant> },
}

fn list(grants: &[Grant]) -> String {
    grants
        .iter()
        .map(Grant::to_string)
        .collect::<Vec<_>>()
        .join(", ")
}

fn again(dir: &str) -> String {
    format!("review and approve it with `m365-admin plugins add {dir}`")
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
            if !component_is_a_file_name(&component) {
                reg.problem(
                    &source,
                    format!("component {component:?} must be a file name beside the manifest"),
                );
                continue;
            }
            let wasm = std::fs::read(dir.join(&component)).map_err(|error| Refused::Unreadable {
                component: component.clone(),
                error,
            });
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
            let source = c.source.clone();
            if let Err(refused) = reg.add(runtime, c, approvals).await {
                reg.problem(&source, refused.to_string());
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
        c: Candidate,
        approvals: Option<&Database>,
    ) -> Result<(), Refused> {
        let wasm = c.wasm?;
        let checked = Checked::new(&c.manifest, &wasm)?;
        if c.needs_approval {
            check_approval(&checked, &c.source, approvals)?;
        }
        let admitted = checked.admit(runtime, &wasm).await?;
        if let Some((tool, other)) = admitted
            .tools
            .iter()
            .find_map(|t| Some((&t.tool.name, self.tools.get(&t.tool.name)?)))
        {
            return Err(Refused::ToolTaken {
                tool: tool.clone(),
                plugin: other.plugin.clone(),
            });
        }
        let manifest = admitted.manifest;
        for e in admitted.tools {
            self.tools.insert(e.tool.name.clone(), e);
        }
        tracing::info!(plugin = %manifest.name, version = %manifest.version, source = %c.source, tools = admitted.info.tools.len(), "plugin loaded");
        self.plugins.insert(
            manifest.name.clone(),
            LoadedPlugin {
                name: manifest.name.clone(),
                version: manifest.version.clone(),
                source: c.source,
                digest: admitted.digest,
                grants: admitted.grants,
                prepared: admitted.prepared,
                info: admitted.info,
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
    checked: &Checked,
    source: &str,
    approvals: Option<&Database>,
) -> Result<(), NotApproved> {
    let dir = || source.to_string();
    let manifest = &checked.manifest;
    let db = approvals.ok_or_else(|| NotApproved::NoDatabase { dir: dir() })?;
    let approval = db
        .approval_get(&manifest.name)
        .map_err(NotApproved::Unreadable)?
        .ok_or_else(|| NotApproved::Missing { dir: dir() })?;
    if approval.digest != checked.digest {
        return Err(NotApproved::Changed {
            dir: dir(),
            now: checked.digest[..12].to_string(),
            approved: approval.digest[..approval.digest.len().min(12)].to_string(),
        });
    }
    let extra = checked.policy().beyond(&approval.grants);
    if !extra.is_empty() {
        return Err(NotApproved::Wider { dir: dir(), extra });
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
}
