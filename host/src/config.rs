//! Configuration from the environment variables the spec names (plus the
//! plugin and data directories). Secrets are wrapped in `Secret` as soon as
//! they are read, so no later Debug print can show them.

use crate::secret::Secret;
use std::path::PathBuf;

/// Where credentials come from.
#[derive(Clone, Debug)]
pub enum Credentials {
    Secret(Secret),
    Certificate {
        path: PathBuf,
        password: Option<Secret>,
    },
}

#[derive(Clone, Debug)]
pub struct Config {
    pub sandbox: bool,
    pub sandbox_reset: bool,
    pub tenant_id: Option<String>,
    pub client_id: Option<String>,
    pub credentials: Option<Credentials>,
    pub data_dir: PathBuf,
    pub database_path: PathBuf,
    /// DB_ENCRYPTION_KEY: 64 hex digits (a raw key) or a passphrase.
    pub db_key: Option<Secret>,
    /// DB_ENCRYPTION_KEY_FILE: a file holding the key, readable by its owner only.
    pub db_key_file: Option<PathBuf>,
    pub cache_dir: PathBuf,
    pub plugin_dir: PathBuf,
    pub log_level: String,
    pub log_file: Option<PathBuf>,
    pub enable_confirmation: bool,
    /// A bulk tool call with more items than this needs confirmation.
    pub bulk_threshold: usize,
    /// Only read-only tools, and only reads upstream (M365_READ_ONLY).
    pub read_only: bool,
    /// Tool name globs, `!` to exclude (M365_TOOLS).
    pub tools: Option<String>,
    /// Plugin names to enable (M365_PLUGINS).
    pub plugins: Option<String>,
    /// A tool result longer than this many characters is cut to its head
    /// with a link to the whole (M365_MAX_RESULT_CHARS).
    pub max_result_chars: usize,
    /// Where `serve` keeps its daily encrypted backups (M365_BACKUP_DIR).
    pub backup_dir: PathBuf,
    /// Time between scheduled backups (M365_BACKUP_INTERVAL_SECS, a day); 0
    /// turns them off.
    pub backup_every: std::time::Duration,
    /// How long backups are kept (M365_BACKUP_KEEP_DAYS, 30).
    pub backup_keep: std::time::Duration,
    /// Added to every message the templates plugin sends (M365_MAIL_SIGNOFF).
    pub mail_signoff: Option<String>,
    /// How long a confirmation token stays valid (M365_CONFIRM_TTL_SECS, 300).
    pub confirm_ttl: std::time::Duration,
    pub rate_limit_enabled: bool,
    pub max_requests_per_minute: u32,
    pub graph_endpoint: String,
    /// Exchange Online's admin API root (M365_EXCHANGE_ENDPOINT).
    pub exchange_endpoint: String,
    /// First backoff between upstream retries; doubles per attempt.
    pub retry_base: std::time::Duration,
    pub limits: CallLimits,
}

/// Bounds on one plugin call.
#[derive(Clone, Copy, Debug)]
pub struct CallLimits {
    pub memory_bytes: usize,
    pub timeout: std::time::Duration,
    pub cpu: std::time::Duration,
}

fn var(name: &str) -> Option<String> {
    std::env::var(name).ok().filter(|v| !v.trim().is_empty())
}

/// A yes/no setting. A value that is neither (a typo such as `ture`) keeps
/// the default rather than silently meaning "no", and says so.
fn flag(name: &str, default: bool) -> bool {
    match var(name).map(|v| v.to_ascii_lowercase()) {
        Some(v) if matches!(v.as_str(), "1" | "true" | "yes" | "on") => true,
        Some(v) if matches!(v.as_str(), "0" | "false" | "no" | "off") => false,
        Some(v) => {
            eprintln!(
                "m365-admin: {name}={v:?} is not true or false; using the default ({default})"
            );
            default
        }
        None => default,
    }
}

fn number<T: std::str::FromStr>(name: &str, default: T) -> T {
    var(name).and_then(|v| v.parse().ok()).unwrap_or(default)
}

impl Config {
    /// Reads the environment. `sandbox` comes from the command line.
    pub fn from_env(sandbox: bool, sandbox_reset: bool) -> Config {
        let home = var("HOME")
            .map(PathBuf::from)
            .unwrap_or_else(|| PathBuf::from("."));
        let data_home = var("XDG_DATA_HOME")
            .map(PathBuf::from)
            .unwrap_or_else(|| home.join(".local/share"));
        let cache_home = var("XDG_CACHE_HOME")
            .map(PathBuf::from)
            .unwrap_or_else(|| home.join(".cache"));
        let explicit_db = var("DATABASE_PATH").map(PathBuf::from);
        // Everything that belongs with the database lives beside it.
        let data_dir = var("M365_DATA_DIR").map(PathBuf::from).unwrap_or_else(|| {
            explicit_db
                .as_ref()
                .and_then(|p| p.parent())
                .map(PathBuf::from)
                .unwrap_or_else(|| data_home.join("m365-admin"))
        });
        // The sandbox keeps its own database (and key) unless told otherwise,
        // so trying things out never mixes with a live tenant's audit trail.
        let database_path = explicit_db.unwrap_or_else(|| {
            if sandbox {
                data_dir.join("sandbox").join("m365_admin.db")
            } else {
                data_dir.join("m365_admin.db")
            }
        });
        let credentials = if let Some(path) = var("AZURE_CERTIFICATE_PATH") {
            Some(Credentials::Certificate {
                path: PathBuf::from(path),
                password: var("AZURE_CERTIFICATE_PASSWORD").map(Secret::new),
            })
        } else {
            var("AZURE_CLIENT_SECRET").map(|s| Credentials::Secret(Secret::new(s)))
        };
        let backup_dir = var("M365_BACKUP_DIR")
            .map(PathBuf::from)
            .unwrap_or_else(|| {
                database_path
                    .parent()
                    .map(|p| p.join("backups"))
                    .unwrap_or_else(|| PathBuf::from("backups"))
            });
        Config {
            sandbox,
            sandbox_reset,
            tenant_id: var("AZURE_TENANT_ID"),
            client_id: var("AZURE_CLIENT_ID"),
            credentials,
            plugin_dir: var("M365_PLUGIN_DIR")
                .map(PathBuf::from)
                .unwrap_or_else(|| data_dir.join("plugins")),
            cache_dir: var("M365_CACHE_DIR")
                .map(PathBuf::from)
                .unwrap_or_else(|| cache_home.join("m365-admin")),
            data_dir,
            database_path,
            db_key: var("DB_ENCRYPTION_KEY").map(Secret::new),
            db_key_file: var("DB_ENCRYPTION_KEY_FILE").map(PathBuf::from),
            log_level: var("LOG_LEVEL").unwrap_or_else(|| "info".into()),
            log_file: var("LOG_FILE").map(PathBuf::from),
            enable_confirmation: flag("ENABLE_OPERATION_CONFIRMATION", true),
            bulk_threshold: number("M365_BULK_CONFIRM_THRESHOLD", 10usize),
            read_only: flag("M365_READ_ONLY", false),
            tools: var("M365_TOOLS"),
            plugins: var("M365_PLUGINS"),
            max_result_chars: number("M365_MAX_RESULT_CHARS", 40_000usize).max(1000),
            mail_signoff: var("M365_MAIL_SIGNOFF"),
            backup_dir,
            backup_every: std::time::Duration::from_secs(number(
                "M365_BACKUP_INTERVAL_SECS",
                86_400u64,
            )),
            backup_keep: std::time::Duration::from_secs(
                number("M365_BACKUP_KEEP_DAYS", 30u64) * 86_400,
            ),
            confirm_ttl: std::time::Duration::from_secs(
                number("M365_CONFIRM_TTL_SECS", 300u64).max(1),
            ),
            rate_limit_enabled: flag("RATE_LIMIT_ENABLED", true),
            max_requests_per_minute: number("MAX_REQUESTS_PER_MINUTE", 60u32).max(1),
            graph_endpoint: var("M365_GRAPH_ENDPOINT")
                .unwrap_or_else(|| "https://graph.microsoft.com".into()),
            exchange_endpoint: var("M365_EXCHANGE_ENDPOINT")
                .unwrap_or_else(|| "https://outlook.office365.com".into()),
            retry_base: std::time::Duration::from_millis(number("M365_RETRY_BASE_MS", 1000u64)),
            limits: CallLimits {
                memory_bytes: number("M365_PLUGIN_MEMORY_MB", 256usize) * 1024 * 1024,
                timeout: std::time::Duration::from_secs(number("M365_CALL_TIMEOUT_SECS", 600u64)),
                cpu: std::time::Duration::from_millis(number("M365_PLUGIN_CPU_MS", 10_000u64)),
            },
        }
    }

    /// The sandbox tenant's state (and, in sandbox mode, its database key).
    pub fn sandbox_dir(&self) -> PathBuf {
        self.data_dir.join("sandbox")
    }
}
