//! Why the host refused what a plugin asked for. A `Denial` is a kind (what
//! was refused, carrying the denied value) and decides its own error code,
//! so no caller reads a code back out of a sentence. Its `Display` is the
//! reason the gate shows after "Plugin `x` was refused: "; `sentence` gives
//! the whole text the caller sees.

use crate::batch::MAX_BATCH;
use crate::codes::ErrorCode;
use crate::exchange::EXCHANGE_AUTHORITY;
use crate::graph::{GRAPH_AUTHORITY, PathError};
use std::fmt;

/// A refusal.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Denial {
    kind: DenialKind,
    inside_batch: bool,
}

/// A Graph request as a denial names it: the method and the decoded path
/// below `/v1.0` (`PATCH /users/a@b.com`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct GraphRequest {
    pub method: String,
    pub path: String,
}

impl fmt::Display for GraphRequest {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} {}", self.method, self.path)
    }
}

/// What was refused. New checks add kinds, so matching on it needs a
/// fallback arm outside this crate.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum DenialKind {
    /// Read-only mode is on and the Graph request is not a `GET`.
    #[error("read-only mode is on, so `{0}` is not sent; only reads reach the tenant.")]
    GraphReadOnly(GraphRequest),
    /// No Graph grant allows the method on the path.
    #[error(
        "its manifest grants no `{0}`; add that grant to the manifest and approve it to allow this request."
    )]
    GraphNotGranted(GraphRequest),
    /// The Graph path could be read two ways, or is outside `/v1.0`.
    #[error("{path} ({error}).")]
    GraphPath { path: String, error: PathError },

    /// Read-only mode is on and the cmdlet is not a `Get-`.
    #[error("read-only mode is on, so Exchange cmdlet `{cmdlet}` (not a Get-) is not sent.")]
    CmdletReadOnly { cmdlet: String },
    /// No Exchange grant names the cmdlet.
    #[error(
        "its manifest grants no Exchange cmdlet `{cmdlet}`; add it under [grants] exchange and approve it to allow this request."
    )]
    CmdletNotGranted { cmdlet: String },
    /// An Exchange request other than this tenant's `InvokeCommand`.
    #[error(
        "Exchange Online is reachable only as `POST /adminapi/beta/{{tenant}}/InvokeCommand` for this tenant, not `{method} {path}`."
    )]
    ExchangeEndpoint { method: String, path: String },
    #[error("its Exchange request body is not JSON.")]
    ExchangeNotJson,
    #[error("its Exchange request has no CmdletInput.CmdletName.")]
    ExchangeNoCmdlet,
    #[error("its Exchange request's Parameters is not an object.")]
    ExchangeParameters,

    #[error("its $batch body is not JSON.")]
    BatchNotJson,
    #[error("its $batch body has no `requests` array.")]
    BatchNoRequests,
    #[error("its $batch has {requests} requests; Graph takes at most {MAX_BATCH}.")]
    BatchTooMany { requests: usize },
    #[error("a $batch request names an absolute URL ({url}).")]
    BatchAbsoluteUrl { url: String },
    #[error("a $batch request has no valid method.")]
    BatchMethod,
    #[error("a $batch request has an unusable URL ({url}).")]
    BatchUrl { url: String },
    #[error("a $batch request may not be another $batch.")]
    BatchNested,

    #[error("only https is allowed, not {scheme:?}.")]
    Scheme { scheme: String },
    #[error(
        "host {authority:?} is not granted; a plugin may reach only {GRAPH_AUTHORITY} (and {EXCHANGE_AUTHORITY} for granted cmdlets)."
    )]
    Authority { authority: String },
    /// The `Host` header wasi-http sets differs from the request's authority.
    #[error("its Host header does not match the request's authority.")]
    HostHeader,
    /// The plugin tried to set `Authorization` or `Cookie`.
    #[error("it tried to set its own `{header}` header; the host adds credentials itself.")]
    CredentialHeader { header: String },
    /// The declared body length is over the limit (bytes).
    #[error(
        "its request body of {:.1} MiB is over the {} MiB a request may carry.",
        *.declared as f64 / (1024.0 * 1024.0),
        .limit / 1024 / 1024
    )]
    BodyTooLarge { declared: u64, limit: u64 },
    /// The body turned out longer than the limit while it was read (bytes).
    #[error("sent a request body over {} MiB.", .limit / 1024 / 1024)]
    BodyOverLimit { limit: u64 },
    /// The command runs without a connection to a tenant.
    #[error("this command runs without a tenant connection.")]
    NoTenant,

    #[error(
        "used the store without the `store` grant; its manifest must say `store = true` under [grants] (and an administrator must approve it)."
    )]
    StoreNotGranted,
    #[error(
        "asked for an add-in manifest without the `addin-manifests` grant; its manifest must say `addin-manifests = true` under [grants]."
    )]
    AddinManifestsNotGranted,
}

impl Denial {
    pub fn kind(&self) -> &DenialKind {
        &self.kind
    }

    /// Whether it was one request inside a `$batch` that was refused.
    pub fn inside_batch(&self) -> bool {
        self.inside_batch
    }

    pub(crate) fn in_batch(self) -> Denial {
        Denial {
            inside_batch: true,
            ..self
        }
    }

    /// Read-only mode is PERM_001 (the operator's choice, not the plugin's
    /// fault); everything else is PLUGIN_001.
    pub fn code(&self) -> ErrorCode {
        match self.kind {
            DenialKind::GraphReadOnly(_) | DenialKind::CmdletReadOnly { .. } => ErrorCode::Perm001,
            _ => ErrorCode::Plugin001,
        }
    }

    /// The whole sentence for the caller: `Plugin `x` was refused: …` for a
    /// refused request; `Plugin `x` used the store without …` when the plugin
    /// used a host import without its grant, or its body outgrew the limit
    /// while it was read.
    pub fn sentence(&self, plugin: &str) -> String {
        match self.kind {
            DenialKind::StoreNotGranted
            | DenialKind::AddinManifestsNotGranted
            | DenialKind::BodyOverLimit { .. } => format!("Plugin `{plugin}` {self}"),
            _ => format!("Plugin `{plugin}` was refused: {self}"),
        }
    }
}

impl From<DenialKind> for Denial {
    fn from(kind: DenialKind) -> Denial {
        Denial {
            kind,
            inside_batch: false,
        }
    }
}

impl fmt::Display for Denial {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.inside_batch {
            f.write_str("inside $batch: ")?;
        }
        self.kind.fmt(f)
    }
}

impl std::error::Error for Denial {}

#[cfg(test)]
mod tests {
    use super::*;

    const MIB: u64 = 1024 * 1024;

    /// The refusals the host makes itself, outside any grant: each kind's
    /// code and the sentence the caller sees.
    #[test]
    fn sentences_and_codes_table() {
        let graph = GraphRequest {
            method: "PATCH".into(),
            path: "/users/a".into(),
        };
        let cases = [
            (
                DenialKind::HostHeader.into(),
                ErrorCode::Plugin001,
                "Plugin `p` was refused: its Host header does not match the request's authority.",
            ),
            (
                DenialKind::CredentialHeader {
                    header: "authorization".into(),
                }
                .into(),
                ErrorCode::Plugin001,
                "Plugin `p` was refused: it tried to set its own `authorization` header; the host adds credentials itself.",
            ),
            (
                DenialKind::BodyTooLarge {
                    declared: 9 * MIB + MIB / 2,
                    limit: 8 * MIB,
                }
                .into(),
                ErrorCode::Plugin001,
                "Plugin `p` was refused: its request body of 9.5 MiB is over the 8 MiB a request may carry.",
            ),
            (
                DenialKind::BodyOverLimit { limit: 8 * MIB }.into(),
                ErrorCode::Plugin001,
                "Plugin `p` sent a request body over 8 MiB.",
            ),
            (
                DenialKind::NoTenant.into(),
                ErrorCode::Plugin001,
                "Plugin `p` was refused: this command runs without a tenant connection.",
            ),
            (
                DenialKind::GraphReadOnly(graph.clone()).into(),
                ErrorCode::Perm001,
                "Plugin `p` was refused: read-only mode is on, so `PATCH /users/a` is not sent; only reads reach the tenant.",
            ),
            (
                Denial::from(DenialKind::GraphReadOnly(graph)).in_batch(),
                ErrorCode::Perm001,
                "Plugin `p` was refused: inside $batch: read-only mode is on, so `PATCH /users/a` is not sent; only reads reach the tenant.",
            ),
        ];
        for (denial, code, sentence) in cases {
            let denial: Denial = denial;
            assert_eq!(denial.code(), code, "{denial}");
            assert_eq!(denial.sentence("p"), sentence);
        }
    }
}
