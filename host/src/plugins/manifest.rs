//! A plugin's manifest (`manifest.toml` beside its `.wasm`): name, version,
//! the WIT version it was built for, its grants and optionally the sha256 of
//! its component. Parsed in two stages: `Manifest` is what the file says (its
//! `[grants]` the policy crate's `GrantsSection`), `Manifest::policy` the
//! `Policy` the host enforces.

use m365_policy::{GrantError, GrantsSection, Policy};
use serde::Deserialize;

/// The WIT package versions this host can run (major.minor).
pub const SUPPORTED_WIT: &[(u64, u64)] = &[(0, 1)];

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Manifest {
    pub name: String,
    pub version: String,
    pub wit: String,
    pub component: String,
    pub sha256: Option<String>,
    #[serde(default)]
    pub grants: GrantsSection,
}

#[derive(Debug, thiserror::Error)]
pub enum ManifestError {
    #[error("manifest is not valid TOML of the expected shape: {0}")]
    Parse(#[from] toml::de::Error),
    #[error("plugin name {0:?} must be 1-64 lowercase letters, digits or '-'")]
    Name(String),
    #[error("plugin {name} was built for WIT m365:plugin@{wit}; this host supports {supported}")]
    Wit {
        name: String,
        wit: String,
        supported: String,
    },
    #[error("plugin {name}: {source}")]
    Grant { name: String, source: GrantError },
    #[error("plugin {name}: component digest is {actual}, the manifest says {expected}")]
    Digest {
        name: String,
        expected: String,
        actual: String,
    },
}

impl Manifest {
    pub fn parse(text: &str) -> Result<Manifest, ManifestError> {
        let m: Manifest = toml::from_str(text)?;
        let name_ok = !m.name.is_empty()
            && m.name.len() <= 64
            && m.name
                .chars()
                .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-');
        if !name_ok {
            return Err(ManifestError::Name(m.name));
        }
        if !wit_supported(&m.wit) {
            let supported = SUPPORTED_WIT
                .iter()
                .map(|(a, b)| format!("{a}.{b}.x"))
                .collect::<Vec<_>>()
                .join(", ");
            return Err(ManifestError::Wit {
                name: m.name,
                wit: m.wit,
                supported,
            });
        }
        Ok(m)
    }

    /// The policy its grants give, or the first grant that is not one.
    pub fn policy(&self) -> Result<Policy, ManifestError> {
        self.grants
            .resolve()
            .map_err(|source| ManifestError::Grant {
                name: self.name.clone(),
                source,
            })
    }

    /// Refuses a component whose digest differs from the one declared.
    pub fn check_digest(&self, actual: &str) -> Result<(), ManifestError> {
        match &self.sha256 {
            Some(expected) if !expected.eq_ignore_ascii_case(actual) => {
                Err(ManifestError::Digest {
                    name: self.name.clone(),
                    expected: expected.clone(),
                    actual: actual.to_string(),
                })
            }
            _ => Ok(()),
        }
    }
}

fn wit_supported(v: &str) -> bool {
    let mut parts = v.split('.').map(|p| p.parse::<u64>());
    match (parts.next(), parts.next()) {
        (Some(Ok(major)), Some(Ok(minor))) => SUPPORTED_WIT.contains(&(major, minor)),
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const GOOD: &str = r#"
name = "users"
version = "0.1.0"
wit = "0.1.0"
component = "users.wasm"
[grants]
graph = ["GET /users/*"]
"#;

    #[test]
    fn a_good_manifest_resolves_to_a_policy() {
        let m = Manifest::parse(GOOD).unwrap();
        let p = m.policy().unwrap();
        assert!(p.graph().allows("GET", &["users".into(), "x".into()]));
        assert!(!p.graph().allows("DELETE", &["users".into(), "x".into()]));
    }

    #[test]
    fn unsupported_wit_names_both_versions() {
        let err = Manifest::parse(&GOOD.replace("wit = \"0.1.0\"", "wit = \"0.9.0\"")).unwrap_err();
        let msg = err.to_string();
        assert!(msg.contains("0.9.0") && msg.contains("0.1.x"), "{msg}");
    }

    #[test]
    fn bad_names_grants_fields_and_digests_are_refused() {
        assert!(Manifest::parse(&GOOD.replace("\"users\"", "\"Users!\"")).is_err());
        assert!(Manifest::parse(&format!("{GOOD}\nextra = 1")).is_err());
        let m = Manifest::parse(&GOOD.replace("GET /users/*", "GET users")).unwrap();
        assert!(m.policy().is_err());
        let m = Manifest::parse(&format!("{GOOD}exchange = [\"Get-Mailbox\"]")).unwrap();
        assert_eq!(
            m.policy().unwrap().grant_list(),
            ["exchange:get-mailbox", "graph:GET /users/*"]
        );
        let m = Manifest::parse(&format!("{GOOD}exchange = [\"Get Mailbox; rm\"]")).unwrap();
        assert!(m.policy().is_err());
        let m = Manifest::parse(&GOOD.replace("[grants]", "sha256 = \"ab\"\n[grants]")).unwrap();
        assert!(m.check_digest("cd").is_err());
        assert!(m.check_digest("AB").is_ok());
    }
}
