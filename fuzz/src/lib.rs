//! The code under test, compiled in from its own source files, and the
//! oracles the fuzz targets judge it by.
//!
//! Each module below is the real file, included with `#[path]` rather than
//! through its crate: the host crate `m365-admin` would bring wasmtime, SQLCipher
//! and a build script that compiles every plugin into each fuzz build, so it
//! cannot be a dependency. The files are compiled unchanged; they sit at this
//! crate's root because that is where their `crate::` paths point
//! (`crate::errors`, `crate::secret` from validate.rs). The templates plugin's
//! renderer and sanitizer come from their library crate, `m365-templating`.

// host/src: the Graph grant matcher and path normaliser (std + thiserror).
#[allow(dead_code)]
#[path = "../../host/src/caps/grants.rs"]
pub mod grants;

// host/src: the argument validator and what it needs from the host crate.
#[allow(dead_code)]
#[path = "../../host/src/errors.rs"]
pub mod errors;
#[allow(dead_code)]
#[path = "../../host/src/secret.rs"]
pub mod secret;
#[allow(dead_code)]
#[path = "../../host/src/plugins/validate.rs"]
pub mod validate;

pub mod html;
