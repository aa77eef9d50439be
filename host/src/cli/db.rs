//! `m365-admin db backup FILE | restore FILE [--sandbox]`: an encrypted,
//! consistent copy while a server may run, and a restore that checks the
//! backup first and refuses while a server uses the database.

use m365_admin::errors::{CodedError, ErrorCode};
use std::path::PathBuf;
use std::process::ExitCode;

#[derive(clap::Subcommand)]
pub enum DbCommand {
    /// Writes an encrypted, consistent copy (same key) while the server may run.
    Backup { file: PathBuf },
    /// Replaces the database with a backup, after checking that it opens with
    /// the key and its audit trail verifies. Stop the server first; the current
    /// database is kept beside it as `<name>.before-restore-<time>`.
    Restore { file: PathBuf },
}

pub fn run(command: DbCommand, sandbox: bool) -> Result<ExitCode, CodedError> {
    let config = super::offline_config(sandbox);
    match command {
        DbCommand::Backup { file } => {
            let (db, key) = super::open_existing(&config)?;
            let head = db.backup_to(&file, &key)?;
            let _ = db.audit_event(
                "backup",
                &serde_json::json!({"file": file, "auditRows": head.rows}),
            );
            println!(
                "{}",
                serde_json::json!({"backup": file, "auditRows": head.rows, "auditLastHash": head.last_hash})
            );
            Ok(ExitCode::SUCCESS)
        }
        DbCommand::Restore { file } => {
            if let Some(pid) = m365_admin::store::serving::running_server(&config.database_path) {
                return Err(CodedError::new(
                    ErrorCode::Store001,
                    format!(
                        "A server (process {pid}) is using {}; stop it (close the MCP client or end the process) and run the restore again. Nothing was changed.",
                        config.database_path.display()
                    ),
                ));
            }
            let key = m365_admin::store::resolve_key(&config)?;
            let report = m365_admin::store::backup::restore(&config.database_path, &key, &file)?;
            println!(
                "{}",
                serde_json::to_string_pretty(&report).unwrap_or_default()
            );
            Ok(ExitCode::SUCCESS)
        }
    }
}
