//! Logs go to stderr (stdout carries only MCP) or to LOG_FILE, and every
//! line passes through the redactor first.

use std::io::Write;
use std::sync::{Arc, Mutex};
use tracing_subscriber::EnvFilter;
use tracing_subscriber::fmt::MakeWriter;

#[derive(Clone)]
struct Redacting {
    sink: Arc<Mutex<Box<dyn Write + Send>>>,
}

struct Line {
    sink: Arc<Mutex<Box<dyn Write + Send>>>,
}

impl Write for Line {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        let text = crate::secret::redact(&String::from_utf8_lossy(buf));
        self.sink
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .write_all(text.as_bytes())?;
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        self.sink.lock().unwrap_or_else(|e| e.into_inner()).flush()
    }
}

impl<'a> MakeWriter<'a> for Redacting {
    type Writer = Line;
    fn make_writer(&'a self) -> Line {
        Line {
            sink: self.sink.clone(),
        }
    }
}

pub fn init(level: &str, file: Option<&std::path::Path>) -> anyhow::Result<()> {
    let sink: Box<dyn Write + Send> = match file {
        Some(path) => {
            if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
                std::fs::create_dir_all(dir)?;
            }
            Box::new(
                // Owner-only, like the database: a log names users and tenants.
                std::os::unix::fs::OpenOptionsExt::mode(
                    std::fs::OpenOptions::new().create(true).append(true),
                    0o600,
                )
                .open(path)?,
            )
        }
        None => Box::new(std::io::stderr()),
    };
    let filter = EnvFilter::try_new(format!(
        "{},wasmtime=warn,cranelift=warn,rmcp=warn",
        level.to_ascii_lowercase()
    ))
    .unwrap_or_else(|_| EnvFilter::new("info"));
    tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_ansi(false)
        .with_writer(Redacting {
            sink: Arc::new(Mutex::new(sink)),
        })
        .try_init()
        .map_err(|e| anyhow::anyhow!("{e}"))?;
    Ok(())
}
