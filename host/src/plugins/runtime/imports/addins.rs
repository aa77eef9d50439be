//! `m365:plugin/addins`: Outlook add-in manifests, fetched and checked by
//! the host (`caps/addin_manifest.rs`) for a plugin granted
//! `addin-manifests`; each fetch is recorded as one of the call's requests.

use super::{PluginState, to_tool_error};
use crate::errors::{CodedError, ErrorCode};
use crate::plugins::runtime::bindings;
use bindings::m365::plugin::addins::AddinManifest as WitAddinManifest;
use bindings::m365::plugin::types::ToolError;

impl bindings::m365::plugin::addins::Host for PluginState {
    async fn fetch_manifest(
        &mut self,
        url: String,
    ) -> wasmtime::Result<Result<WitAddinManifest, ToolError>> {
        if let Err(denial) = self.policy.check_addin_manifests() {
            return Ok(Err(self.refuse(denial)));
        }
        let Some(fetcher) = self.manifests.clone() else {
            return Ok(Err(to_tool_error(CodedError::new(
                ErrorCode::Input001,
                "Add-in manifests cannot be fetched in this mode; run the tool through `m365-admin serve`.",
            ))));
        };
        let started = std::time::Instant::now();
        let result = fetcher.fetch(&url).await;
        self.call.record_request(crate::caps::call::RequestRecord {
            method: "GET".into(),
            path: crate::secret::redact(&url),
            status: None,
            attempts: 1,
            request_id: None,
            duration_ms: started.elapsed().as_millis() as u64,
        });
        Ok(result
            .map(|m| WitAddinManifest {
                format: m.format,
                id: m.id,
                version: m.version,
                display_name: m.display_name,
                provider: m.provider,
                permissions: m.permissions,
                hosts: m.hosts,
                sha256: m.sha256,
                url: m.url,
            })
            .map_err(to_tool_error))
    }
}
