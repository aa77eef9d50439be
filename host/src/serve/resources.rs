//! The resources a client can list and read. The host's own are here, each
//! listed and read through [`HostResource`]: `m365://health`,
//! `m365://metrics`, `m365://report` (the tenant report, `report`), and
//! `m365://results/{id}` (a cut result of this session, read but not listed). Every other URI goes to the plugin whose
//! resource template matches it, read in a fresh instance and audited
//! (`pipeline::read_resource`).

use super::results::{KeptResults, RESULTS_PREFIX};
use crate::app::App;
use crate::caps::call::CallCtx;
use crate::errors::{CodedError, ErrorCode};
use crate::plugins::runtime::deadline;
use rmcp::model::Resource;
use std::sync::Arc;

const JSON: &str = "application/json";

/// A resource the host answers itself.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum HostResource {
    Health,
    Metrics,
    Report,
    KeptResult,
}

impl HostResource {
    const ALL: [HostResource; 4] = [
        HostResource::Health,
        HostResource::Metrics,
        HostResource::Report,
        HostResource::KeptResult,
    ];

    /// Its URI, or for a kept result the prefix of one.
    fn uri(self) -> &'static str {
        match self {
            HostResource::Health => "m365://health",
            HostResource::Metrics => "m365://metrics",
            HostResource::Report => "m365://report",
            HostResource::KeptResult => RESULTS_PREFIX,
        }
    }

    /// How it is listed; kept results are only linked from the cut result.
    fn listing(self) -> Option<Resource> {
        let (name, description) = match self {
            HostResource::Health => (
                "MCP Server Health Status",
                "Status, authentication, Graph connectivity, tenant and loaded plugins",
            ),
            HostResource::Metrics => (
                "Usage metrics",
                "From the audit trail: calls, success rate, avg/p95 duration per tool, errors by code, throttling, template sends per week",
            ),
            HostResource::Report => (
                "Tenant report",
                "Security review with fixes, users by state, MFA coverage, license seats, feature states, 30 days of activity (runs review_security and list_features)",
            ),
            HostResource::KeptResult => return None,
        };
        Some(
            Resource::new(self.uri(), name)
                .with_description(description)
                .with_mime_type(JSON),
        )
    }

    /// The host resource `uri` names, if any.
    fn of(uri: &str) -> Option<HostResource> {
        HostResource::ALL.into_iter().find(|r| match r {
            HostResource::KeptResult => uri.starts_with(r.uri()),
            _ => uri == r.uri(),
        })
    }

    async fn read(self, app: &App, kept: &KeptResults, uri: &str) -> Result<String, CodedError> {
        match self {
            HostResource::Health => Ok(crate::health::report(app).await.to_string()),
            HostResource::Metrics => {
                let db = app.db.as_ref().ok_or_else(|| {
                    CodedError::new(ErrorCode::Store001, "No database is open in this mode.")
                })?;
                let rows = db.audit_since(None)?;
                Ok(crate::store::metrics::compute(&rows).to_string())
            }
            HostResource::Report => Ok(crate::report::gather(app).await.to_string()),
            HostResource::KeptResult => kept.read(uri, &uri[RESULTS_PREFIX.len()..]),
        }
    }
}

/// The host's resources, then each plugin's (`list-resources`, a fresh
/// instance per plugin; one that fails is left out and logged).
pub async fn list(app: &App) -> Vec<Resource> {
    let mut out: Vec<Resource> = HostResource::ALL
        .into_iter()
        .filter_map(HostResource::listing)
        .collect();
    let registry = app.registry();
    for p in registry.plugins.values() {
        let call = Arc::new(CallCtx::new(
            &p.name,
            "list-resources",
            deadline(app.runtime.limits().timeout),
            None,
        ));
        match app.runtime.list_resources(&p.prepared, call).await {
            Ok(list) => out.extend(list.into_iter().map(|r| {
                let mut res = Resource::new(r.uri, r.name).with_mime_type(r.mime_type);
                if let Some(d) = r.description {
                    res = res.with_description(d);
                }
                res
            })),
            Err(e) => tracing::warn!(plugin = %p.name, error = %e, "listing resources failed"),
        }
    }
    out
}

/// Reads `uri`: (MIME type, text).
pub async fn read(
    app: &App,
    kept: &KeptResults,
    uri: &str,
) -> Result<(String, String), CodedError> {
    if let Some(host) = HostResource::of(uri) {
        return Ok((JSON.into(), host.read(app, kept, uri).await?));
    }
    let registry = app.registry();
    let plugin = registry.plugin_for_uri(uri).ok_or_else(|| {
        CodedError::new(ErrorCode::Input001, format!("No resource matches {uri:?}. List resources and resource templates to see what can be read."))
    })?;
    let contents = crate::pipeline::read_resource(app, plugin, uri).await?;
    Ok((contents.mime_type, contents.text))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn host_uris_name_their_resource_and_kept_results_are_not_listed() {
        let cases = [
            ("m365://health", Some(HostResource::Health)),
            ("m365://metrics", Some(HostResource::Metrics)),
            ("m365://report", Some(HostResource::Report)),
            (
                "m365://results/list_users-0123",
                Some(HostResource::KeptResult),
            ),
            ("m365://health/x", None),
            ("m365://users/a@b.com", None),
        ];
        for (uri, want) in cases {
            assert_eq!(HostResource::of(uri), want, "{uri}");
        }
        let listed: Vec<String> = HostResource::ALL
            .into_iter()
            .filter_map(HostResource::listing)
            .map(|r| r.uri.clone())
            .collect();
        assert_eq!(listed, ["m365://health", "m365://metrics", "m365://report"]);
    }
}
