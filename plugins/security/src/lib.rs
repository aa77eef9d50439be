//! The security plugin: review_security, a read-only review of the tenant
//! against CISA's SCuBA baselines for Entra ID and Exchange Online (and
//! Microsoft's guidance where SCuBA has none), chosen for what a Business
//! Basic, Standard or Premium tenant can do. Each finding says what was
//! found, the baseline it follows, and the fix: the call of one of our tools,
//! or the admin-center path and the PowerShell or Graph step.
//!
//! - `checks`: the checks, pure functions of what was read;
//! - `reads`: reading the tenant (one `$batch` for Graph, the Get- cmdlets,
//!   deadlines) and why a read failed;
//! - `data`: what was read; `finding`: what a check reports;
//! - `review`: the tool, its progress and its result.

mod checks;
mod data;
mod finding;
mod reads;
mod review;

use m365_plugin_sdk::{Annotations, Plugin, Tool};

pub struct SecurityPlugin;

impl Plugin for SecurityPlugin {
    const NAME: &'static str = "security";
    const VERSION: &'static str = env!("CARGO_PKG_VERSION");

    fn tools() -> Vec<Tool> {
        vec![
            Tool::new(
                "review_security",
                "Read-only security review against CISA SCuBA baselines (MFA, admins, legacy \
                 auth, forwarding, audit, DKIM, guests, consent, stale or wasted accounts). \
                 Findings first, each with its baseline id and fix (our tool call or the manual \
                 step). Changes nothing.",
                review::review_security,
            )
            .title("Review security")
            .annotations(Annotations::query()),
        ]
    }
}

m365_plugin_sdk::export_plugin!(SecurityPlugin);
