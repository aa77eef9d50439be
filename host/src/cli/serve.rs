//! `m365-admin serve [--sandbox] [--read-only] [--tools …] [--plugins …]`
//! (and no command at all): one MCP session over stdio.

use super::{ScopeArgs, TenantArgs};
use m365_admin::errors::CodedError;
use std::process::ExitCode;

pub async fn run(tenant: TenantArgs, scope: ScopeArgs) -> Result<ExitCode, CodedError> {
    let app = super::start(tenant, scope, true).await?;
    m365_admin::serve::session::run(app).await?;
    Ok(ExitCode::SUCCESS)
}
