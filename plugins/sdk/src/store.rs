//! The plugin's own documents and logs, kept by the host in its encrypted
//! database (needs `store = true` in the manifest's grants). Values are JSON:
//! [`get`] and [`put`] (de)serialize them, and a version check on `put` keeps
//! two calls from overwriting each other's changes.

use crate::bindings::m365::plugin::store as imp;
use crate::error::ToolError;
use serde::Serialize;
use serde::de::DeserializeOwned;

/// A stored document with its value decoded.
#[derive(Debug, Clone, PartialEq)]
pub struct Document<T> {
    pub key: String,
    pub value: T,
    pub version: u64,
    pub updated_at: String,
    /// Only in [`history`]: this version was a deletion.
    pub deleted: bool,
}

/// One entry of an append-only log.
pub use imp::LogEntry;

/// The raw record, as [`raw`] returns it.
type WitDocument = imp::Document;

/// The version to expect when writing: a new key, or the version read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Expect {
    /// Write whatever is there.
    Any,
    /// The key must not exist yet.
    New,
    /// The key must still be at this version.
    Version(u64),
}

impl Expect {
    fn wire(self) -> Option<u64> {
        match self {
            Expect::Any => None,
            Expect::New => Some(0),
            Expect::Version(v) => Some(v),
        }
    }
}

fn decode<T: DeserializeOwned>(d: WitDocument) -> Result<Document<T>, ToolError> {
    let value = if d.deleted {
        serde_json::from_str("null")
    } else {
        serde_json::from_str(&d.value)
    }
    .map_err(|e| {
        ToolError::store(format!(
            "The stored document {:?} does not have the expected shape ({e}); it was written by \
             another version of this plugin. Update or delete it.",
            d.key
        ))
    })?;
    Ok(Document {
        key: d.key,
        value,
        version: d.version,
        updated_at: d.updated_at,
        deleted: d.deleted,
    })
}

/// Reads `key`, decoding its JSON value.
pub fn get<T: DeserializeOwned>(key: &str) -> Result<Option<Document<T>>, ToolError> {
    imp::get(key)?.map(decode).transpose()
}

/// Writes `value` as JSON under `key`; returns the new version.
pub fn put<T: Serialize>(key: &str, value: &T, expect: Expect) -> Result<u64, ToolError> {
    let text = serde_json::to_string(value)
        .map_err(|e| ToolError::plugin(format!("Could not encode {key:?} as JSON ({e}).")))?;
    Ok(imp::put(key, &text, expect.wire())?)
}

/// Deletes `key`; returns whether it existed.
pub fn delete(key: &str, expect: Expect) -> Result<bool, ToolError> {
    Ok(imp::delete(key, expect.wire())?)
}

/// Documents whose key starts with `prefix`, in key order, after `after`.
pub fn list<T: DeserializeOwned>(
    prefix: &str,
    after: Option<&str>,
    limit: u32,
) -> Result<Vec<Document<T>>, ToolError> {
    imp::list(prefix, after, limit)?
        .into_iter()
        .map(decode)
        .collect()
}

/// Earlier versions of `key`, newest first (a deletion decodes as `null`, so
/// use an `Option` type to read one).
pub fn history<T: DeserializeOwned>(key: &str, limit: u32) -> Result<Vec<Document<T>>, ToolError> {
    imp::history(key, limit)?.into_iter().map(decode).collect()
}

/// Raw access: values as text, versions as the WIT has them (`Some(0)`: the
/// key must not exist).
pub mod raw {
    use super::*;
    pub use imp::{Document, LogEntry};

    pub fn get(key: &str) -> Result<Option<Document>, ToolError> {
        Ok(imp::get(key)?)
    }
    pub fn put(key: &str, value: &str, expected: Option<u64>) -> Result<u64, ToolError> {
        Ok(imp::put(key, value, expected)?)
    }
    pub fn delete(key: &str, expected: Option<u64>) -> Result<bool, ToolError> {
        Ok(imp::delete(key, expected)?)
    }
    pub fn list(prefix: &str, after: Option<&str>, limit: u32) -> Result<Vec<Document>, ToolError> {
        Ok(imp::list(prefix, after, limit)?)
    }
    pub fn history(key: &str, limit: u32) -> Result<Vec<Document>, ToolError> {
        Ok(imp::history(key, limit)?)
    }
    pub fn append(log: &str, entry: &str) -> Result<u64, ToolError> {
        Ok(imp::append(log, entry)?)
    }
    pub fn read_log(log: &str, after: Option<u64>, limit: u32) -> Result<Vec<LogEntry>, ToolError> {
        Ok(imp::read_log(log, after, limit)?)
    }
}

/// Appends `entry` to the log `log`; returns its sequence number.
pub fn append(log: &str, entry: &str) -> Result<u64, ToolError> {
    Ok(imp::append(log, entry)?)
}

/// Entries of `log` after sequence number `after`.
pub fn read_log(log: &str, after: Option<u64>, limit: u32) -> Result<Vec<LogEntry>, ToolError> {
    Ok(imp::read_log(log, after, limit)?)
}
