//! `m365:plugin/host`: what every plugin may use without a grant — progress
//! to the client, log lines to the server log (redacted, capped per call),
//! operator settings, who the tenant is, the time, the administrator's
//! confirmation of a plan, and a sleep bounded by the call's deadline.

use super::{PluginState, to_tool_error};
use crate::caps::call::Progress;
use crate::plugins::runtime::bindings;
use bindings::m365::plugin::host::{LogLevel, TenantInfo};
use bindings::m365::plugin::types::ToolError;
use std::time::Duration;

impl bindings::m365::plugin::host::Host for PluginState {
    async fn progress(
        &mut self,
        done: u64,
        total: Option<u64>,
        message: String,
    ) -> wasmtime::Result<()> {
        let message: String = crate::secret::redact(&message).chars().take(500).collect();
        self.call.progress(Progress {
            done,
            total,
            message,
        });
        Ok(())
    }

    async fn log(&mut self, level: LogLevel, message: String) -> wasmtime::Result<()> {
        use crate::caps::call::{LogAdmission, MAX_LOG_LINES};
        let plugin = &self.call.plugin;
        match self.call.admit_log_line() {
            LogAdmission::Write => {}
            LogAdmission::WriteDropNotice => {
                tracing::warn!(%plugin, tool = %self.call.tool, "more than {MAX_LOG_LINES} log lines in one call; the rest of this call's are dropped");
                return Ok(());
            }
            LogAdmission::Drop => return Ok(()),
        }
        let message: String = crate::secret::redact(&message).chars().take(2000).collect();
        match level {
            LogLevel::Trace => tracing::trace!(%plugin, "{message}"),
            LogLevel::Debug => tracing::debug!(%plugin, "{message}"),
            LogLevel::Info => tracing::info!(%plugin, "{message}"),
            LogLevel::Warn => tracing::warn!(%plugin, "{message}"),
            LogLevel::Error => tracing::error!(%plugin, "{message}"),
        }
        Ok(())
    }

    async fn setting(&mut self, name: String) -> wasmtime::Result<Option<String>> {
        Ok(self
            .settings
            .iter()
            .find(|(k, _)| *k == name)
            .map(|(_, v)| v.clone()))
    }

    async fn tenant(&mut self) -> wasmtime::Result<TenantInfo> {
        Ok(self.environment.clone())
    }

    async fn now(&mut self) -> wasmtime::Result<u64> {
        Ok(std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_millis() as u64)
            .unwrap_or(0))
    }

    async fn confirm(&mut self, plan: String) -> wasmtime::Result<Result<(), ToolError>> {
        let Some(approval) = self.call.approval.clone() else {
            // Confirmation is turned off (ENABLE_OPERATION_CONFIRMATION=false).
            return Ok(Ok(()));
        };
        let plan: String = crate::secret::redact(plan.trim())
            .chars()
            .take(4000)
            .collect();
        match approval
            .obtain(&plan, "the plugin asks for it for these arguments")
            .await
        {
            Ok(()) => Ok(Ok(())),
            Err((e, _)) => {
                self.call.host_error(e.clone());
                Ok(Err(to_tool_error(e)))
            }
        }
    }

    async fn sleep(&mut self, ms: u32) -> wasmtime::Result<()> {
        let until = (tokio::time::Instant::now() + Duration::from_millis(ms.into()))
            .min(self.call.deadline);
        tokio::time::sleep_until(until).await;
        Ok(())
    }
}
