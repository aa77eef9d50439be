//! Outlook add-in manifests, fetched and checked by the host (needs
//! `addin-manifests = true` in the manifest's grants): a plugin gets the
//! manifest's id, version, names, permissions and hosts, never raw bytes
//! from an arbitrary URL.

use crate::bindings::m365::plugin::addins as imp;
use crate::error::ToolError;

pub use imp::AddinManifest;

/// Fetches the manifest at `url` (https, public host) and reads it.
pub fn fetch_manifest(url: &str) -> Result<AddinManifest, ToolError> {
    imp::fetch_manifest(url).map_err(Into::into)
}
