//! `m365-admin stats [--since T] [--sandbox]`: usage figures from the audit
//! trail, the same as `m365://metrics`.

use m365_admin::errors::CodedError;
use std::process::ExitCode;

pub fn run(since: Option<&str>, sandbox: bool) -> Result<ExitCode, CodedError> {
    let config = super::offline_config(sandbox);
    let (db, _) = super::open_existing(&config)?;
    let since = since.map(super::parse_since).transpose()?;
    super::print_json(&m365_admin::store::metrics::compute(
        &db.audit_since(since)?,
    ));
    Ok(ExitCode::SUCCESS)
}
