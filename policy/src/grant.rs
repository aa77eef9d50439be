//! One grant of any kind, in the canonical form an administrator approves
//! and approvals store: `graph:GET /users/*`, `exchange:get-mailbox`,
//! `store`, `addin-manifests`. `Display` writes that form and `FromStr`
//! (and serde) read it back, so what was shown is what is compared.

use crate::exchange::CmdletGrant;
use crate::graph::GraphGrant;
use serde::{Deserialize, Deserializer, Serialize, Serializer};
use std::fmt;
use std::str::FromStr;

/// Why a grant in a manifest (or an approval record) is not one.
#[derive(Clone, Debug, thiserror::Error, PartialEq, Eq)]
#[non_exhaustive]
pub enum GrantError {
    #[error("grant {0:?} must be \"METHOD /path\"")]
    Shape(String),
    #[error("grant {0:?} has an unknown method")]
    Method(String),
    #[error("grant {0:?}: `**` may only be the last segment and no segment may be empty")]
    Pattern(String),
    #[error(
        "grant {0:?}: its path may hold single spaces, but no tabs, line breaks or runs of spaces"
    )]
    Whitespace(String),
    #[error("exchange grant {0:?} must be a cmdlet name such as \"Get-Mailbox\"")]
    Cmdlet(String),
    #[error(
        "grant {0:?} must be `graph:METHOD /path`, `exchange:cmdlet`, `store` or `addin-manifests`"
    )]
    Kind(String),
}

/// A capability a plugin may be granted.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Grant {
    /// A Graph method on a path pattern.
    Graph(GraphGrant),
    /// An Exchange Online cmdlet.
    Exchange(CmdletGrant),
    /// Documents and logs of the plugin's own in the host's database.
    Store,
    /// Outlook add-in manifests fetched and checked by the host.
    AddinManifests,
}

impl fmt::Display for Grant {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Grant::Graph(g) => write!(f, "graph:{g}"),
            Grant::Exchange(c) => write!(f, "exchange:{c}"),
            Grant::Store => f.write_str("store"),
            Grant::AddinManifests => f.write_str("addin-manifests"),
        }
    }
}

impl FromStr for Grant {
    type Err = GrantError;

    fn from_str(text: &str) -> Result<Grant, GrantError> {
        if let Some(g) = text.strip_prefix("graph:") {
            return Ok(Grant::Graph(g.parse()?));
        }
        if let Some(c) = text.strip_prefix("exchange:") {
            return Ok(Grant::Exchange(c.parse()?));
        }
        match text {
            "store" => Ok(Grant::Store),
            "addin-manifests" => Ok(Grant::AddinManifests),
            _ => Err(GrantError::Kind(text.into())),
        }
    }
}

impl Serialize for Grant {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for Grant {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Grant, D::Error> {
        let text = String::deserialize(d)?;
        text.parse().map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_kind_prints_its_canonical_form_and_parses_back() {
        let cases = [
            (
                Grant::Graph("get /users/*".parse().unwrap()),
                "graph:GET /users/*",
            ),
            (
                Grant::Graph("POST /users/*/assignLicense".parse().unwrap()),
                "graph:POST /users/*/assignLicense",
            ),
            (
                Grant::Exchange("Get-Mailbox".parse().unwrap()),
                "exchange:get-mailbox",
            ),
            (Grant::Store, "store"),
            (Grant::AddinManifests, "addin-manifests"),
        ];
        for (grant, text) in cases {
            assert_eq!(grant.to_string(), text);
            assert_eq!(text.parse::<Grant>(), Ok(grant.clone()), "{text}");
            let json = serde_json::to_value(&grant).unwrap();
            assert_eq!(json, text);
            assert_eq!(serde_json::from_value::<Grant>(json).unwrap(), grant);
        }
    }

    #[test]
    fn what_is_not_a_grant_is_refused_with_its_reason() {
        let cases = [
            ("graph:GET users", GrantError::Shape("GET users".into())),
            (
                "graph:FETCH /users",
                GrantError::Method("FETCH /users".into()),
            ),
            (
                "exchange:Get Mailbox",
                GrantError::Cmdlet("Get Mailbox".into()),
            ),
            ("Store", GrantError::Kind("Store".into())),
            (
                "addin-manifests ",
                GrantError::Kind("addin-manifests ".into()),
            ),
            ("GET /users/*", GrantError::Kind("GET /users/*".into())),
            ("", GrantError::Kind(String::new())),
        ];
        for (text, want) in cases {
            assert_eq!(text.parse::<Grant>(), Err(want), "{text:?}");
        }
        assert!(serde_json::from_str::<Grant>("\"graph:GET users\"").is_err());
    }
}
