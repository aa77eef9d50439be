//! `m365-admin report [--html FILE] [--json [FILE]]`: gathers the tenant
//! report (`report::gather`, through the same call pipeline as MCP) and
//! writes it as a self-contained HTML page and/or JSON; with neither flag,
//! the JSON goes to stdout.

use super::{ScopeArgs, TenantArgs};
use m365_admin::errors::{CodedError, ErrorCode};
use std::path::{Path, PathBuf};
use std::process::ExitCode;

fn write(path: &Path, text: &str) -> Result<(), CodedError> {
    std::fs::write(path, text).map_err(|e| {
        CodedError::new(
            ErrorCode::Input001,
            format!(
                "The report could not be written to {} ({e}); give a file in a folder you can write to.",
                path.display()
            ),
        )
    })
}

pub async fn run(
    html: Option<PathBuf>,
    json: Option<PathBuf>,
    tenant: TenantArgs,
    scope: ScopeArgs,
) -> Result<ExitCode, CodedError> {
    let app = super::start(tenant, scope, true).await?;
    let report = m365_admin::report::gather(&app).await;
    app.shutdown().await;
    if let Some(path) = &html {
        write(path, &m365_admin::report::html::render(&report))?;
        eprintln!("m365-admin: report written to {}", path.display());
    }
    match json.as_deref() {
        Some(path) if path != Path::new("-") => {
            write(
                path,
                &serde_json::to_string_pretty(&report).unwrap_or_default(),
            )?;
            eprintln!("m365-admin: report data written to {}", path.display());
        }
        Some(_) => super::print_json(&report),
        None if html.is_none() => super::print_json(&report),
        None => {}
    }
    Ok(ExitCode::SUCCESS)
}
