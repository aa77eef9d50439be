//! What the host offers besides the network: progress, logging, clock, sleep
//! and confirmation.

use crate::bindings::m365::plugin::host as imp;

pub use imp::LogLevel;

/// Reports progress of the current call (an MCP progress notification when the
/// client asked for one). `total` may be a number or `None` when unknown.
pub fn progress(done: u64, total: impl Into<Option<u64>>, message: &str) {
    imp::progress(done, total.into(), message);
}

/// Writes to the server log (and MCP logging); the host redacts secrets, but
/// never pass one.
pub fn log(level: LogLevel, message: &str) {
    imp::log(level, message);
}

/// Logs at `debug`.
pub fn debug(message: &str) {
    log(LogLevel::Debug, message);
}

/// Logs at `info`.
pub fn info(message: &str) {
    log(LogLevel::Info, message);
}

/// Logs at `warn`.
pub fn warn(message: &str) {
    log(LogLevel::Warn, message);
}

/// The tenant this server manages (sandbox or live, and its id).
pub fn tenant() -> imp::TenantInfo {
    imp::tenant()
}

/// An operator setting meant for plugins (e.g. `mail-signoff`), if set.
pub fn setting(name: &str) -> Option<String> {
    imp::setting(name)
}

/// Milliseconds since the Unix epoch, from the host.
pub fn now_ms() -> u64 {
    imp::now()
}

/// Blocks for `ms` milliseconds (bounded by the call's deadline).
pub fn sleep_ms(ms: u32) {
    imp::sleep(ms);
}

/// Asks the administrator to approve `plan` (see the WIT `host.confirm`).
/// On `Err`, return the error from the tool unchanged and change nothing:
/// it carries the plan and the token for the approved retry.
pub fn confirm(plan: &str) -> Result<(), crate::ToolError> {
    imp::confirm(plan).map_err(Into::into)
}
