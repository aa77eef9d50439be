//! `m365-admin call TOOL [ARGUMENTS]`: one tool through the same pipeline
//! as MCP; prints the result (or the coded error) with its envelope, and
//! exits 1 if the call failed.

use super::{ScopeArgs, TenantArgs};
use m365_admin::errors::{CodedError, ErrorCode};
use std::process::ExitCode;

pub async fn run(
    tool: &str,
    arguments: &str,
    tenant: TenantArgs,
    scope: ScopeArgs,
) -> Result<ExitCode, CodedError> {
    let args: serde_json::Value = serde_json::from_str(arguments).map_err(|e| {
        CodedError::new(ErrorCode::Input001, format!("The arguments are not JSON ({e}); pass an object such as '{{\"userEmail\":\"a@b.com\"}}'."))
    })?;
    let app = super::start(tenant, scope, true).await?;
    let result = m365_admin::pipeline::call_tool(&app, tool, args, None, None).await;
    let (mut json, code) = match &result {
        Ok(v) => (v.clone(), ExitCode::SUCCESS),
        Err(e) => (e.to_json(), ExitCode::from(1)),
    };
    if let serde_json::Value::Object(o) = &mut json {
        o.insert(
            m365_admin::serve::ENVELOPE_KEY.into(),
            m365_admin::serve::envelope::envelope(&app).await,
        );
    }
    super::print_json(&json);
    app.shutdown().await;
    Ok(code)
}
