//! `m365-admin audit tail|verify|export [--sandbox]`: read the audit trail,
//! check its chain against the head kept beside the database, or write it
//! out as JSON lines or CSV.

use m365_admin::errors::{CodedError, ErrorCode};
use m365_admin::store::audit;
use std::process::ExitCode;

#[derive(clap::Subcommand)]
pub enum AuditCommand {
    /// The newest rows, oldest first.
    Tail {
        #[arg(short = 'n', default_value_t = 20)]
        n: u32,
    },
    /// Checks every row's hash and link, and the head kept beside the database;
    /// names the first broken link and exits non-zero if there is one.
    Verify,
    /// Writes the trail (or the part since a time) to stdout.
    Export {
        #[arg(long, value_enum, default_value = "jsonl")]
        format: ExportFormat,
        /// RFC 3339 time or a date (2026-11-01); only rows at or after it.
        #[arg(long)]
        since: Option<String>,
    },
}

#[derive(Clone, Copy, clap::ValueEnum)]
pub enum ExportFormat {
    Jsonl,
    Csv,
}

pub fn run(command: AuditCommand, sandbox: bool) -> Result<ExitCode, CodedError> {
    let config = super::offline_config(sandbox);
    let (db, _) = super::open_existing(&config)?;
    let io = |e: std::io::Error| {
        CodedError::new(
            ErrorCode::Store001,
            format!("Could not write the output: {e}"),
        )
    };
    match command {
        AuditCommand::Tail { n } => {
            let rows = db.audit_tail(n)?;
            let mut out = std::io::stdout().lock();
            audit::export_jsonl(&rows, &mut out).map_err(io)?;
            Ok(ExitCode::SUCCESS)
        }
        AuditCommand::Verify => {
            let report = m365_admin::store::chain::verify(&db)?;
            println!(
                "{}",
                serde_json::to_string_pretty(&report).unwrap_or_default()
            );
            if report.ok {
                eprintln!("audit trail verified: {} rows", report.rows);
                Ok(ExitCode::SUCCESS)
            } else {
                if let Some(b) = &report.first_broken {
                    eprintln!("audit trail BROKEN at row {}: {}", b.id, b.explanation);
                }
                Ok(ExitCode::from(1))
            }
        }
        AuditCommand::Export { format, since } => {
            let since = since.as_deref().map(super::parse_since).transpose()?;
            let rows = db.audit_since(since)?;
            let mut out = std::io::stdout().lock();
            match format {
                ExportFormat::Jsonl => audit::export_jsonl(&rows, &mut out),
                ExportFormat::Csv => audit::export_csv(&rows, &mut out),
            }
            .map_err(io)?;
            Ok(ExitCode::SUCCESS)
        }
    }
}
