//! The error codes a user sees (docs/admin-guide.md §13). They live here
//! because a denial and an argument error decide their own code; the host
//! re-exports `ErrorCode` and builds its coded errors from it.

use serde::Serialize;
use std::fmt;

/// A documented error code. The spec's codes plus the ones the host adds.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize)]
pub enum ErrorCode {
    #[serde(rename = "AUTH_001")]
    Auth001,
    #[serde(rename = "AUTH_002")]
    Auth002,
    #[serde(rename = "PERM_001")]
    Perm001,
    #[serde(rename = "USER_001")]
    User001,
    #[serde(rename = "TEAM_001")]
    Team001,
    #[serde(rename = "TMPL_001")]
    Tmpl001,
    #[serde(rename = "RATE_001")]
    Rate001,
    #[serde(rename = "GRAPH_001")]
    Graph001,
    #[serde(rename = "INPUT_001")]
    Input001,
    #[serde(rename = "CONFIRM_001")]
    Confirm001,
    #[serde(rename = "PLUGIN_001")]
    Plugin001,
    #[serde(rename = "STORE_001")]
    Store001,
    #[serde(rename = "EXO_001")]
    Exo001,
    #[serde(rename = "LICENSE_001")]
    License001,
}

impl ErrorCode {
    pub const ALL: [ErrorCode; 14] = [
        ErrorCode::Auth001,
        ErrorCode::Auth002,
        ErrorCode::Perm001,
        ErrorCode::User001,
        ErrorCode::Team001,
        ErrorCode::Tmpl001,
        ErrorCode::Rate001,
        ErrorCode::Graph001,
        ErrorCode::Input001,
        ErrorCode::Confirm001,
        ErrorCode::Plugin001,
        ErrorCode::Store001,
        ErrorCode::Exo001,
        ErrorCode::License001,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            ErrorCode::Auth001 => "AUTH_001",
            ErrorCode::Auth002 => "AUTH_002",
            ErrorCode::Perm001 => "PERM_001",
            ErrorCode::User001 => "USER_001",
            ErrorCode::Team001 => "TEAM_001",
            ErrorCode::Tmpl001 => "TMPL_001",
            ErrorCode::Rate001 => "RATE_001",
            ErrorCode::Graph001 => "GRAPH_001",
            ErrorCode::Input001 => "INPUT_001",
            ErrorCode::Confirm001 => "CONFIRM_001",
            ErrorCode::Plugin001 => "PLUGIN_001",
            ErrorCode::Store001 => "STORE_001",
            ErrorCode::Exo001 => "EXO_001",
            ErrorCode::License001 => "LICENSE_001",
        }
    }

    /// Parses a code a plugin returned; plugins may only use documented codes.
    pub fn parse(code: &str) -> Option<ErrorCode> {
        ErrorCode::ALL.into_iter().find(|c| c.as_str() == code)
    }
}

impl fmt::Display for ErrorCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_round_trip_through_their_names() {
        for code in ErrorCode::ALL {
            assert_eq!(ErrorCode::parse(code.as_str()), Some(code));
            assert_eq!(serde_json::to_value(code).unwrap(), code.as_str());
        }
        assert_eq!(ErrorCode::parse("NOPE_001"), None);
    }
}
