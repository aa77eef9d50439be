//! The code under test, compiled in from its own source files, and the
//! oracles the fuzz targets judge it by.
//!
//! Each module below is the real file, included with `#[path]` rather than
//! through its crate: the host crate `m365-admin` would bring wasmtime, SQLCipher
//! and a build script that compiles every plugin into each fuzz build, and the
//! templates plugin is a `cdylib` with private modules, so neither can be a
//! dependency. The files are compiled unchanged; they sit at this crate's
//! root because that is where their `crate::` paths point (`crate::errors`,
//! `crate::secret` from validate.rs, `crate::model` from render.rs).

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

// plugins/templates/src: rendering, sanitizing and the template they work on.
// Only pure functions are called; model.rs's store calls (host imports) are
// compiled but never reached.
#[allow(dead_code)]
#[path = "../../plugins/templates/src/model.rs"]
pub mod model;
#[allow(dead_code)]
#[path = "../../plugins/templates/src/render.rs"]
pub mod render;
#[allow(dead_code)]
#[path = "../../plugins/templates/src/sanitize.rs"]
pub mod sanitize;

pub mod html;
