//! The code under test, compiled in from its own source files, and the
//! oracles the fuzz targets judge it by.
//!
//! The host's grant matcher and argument validator come from their crate,
//! `m365-policy`, which the fuzz targets use directly. The templates
//! plugin's modules below are the real files, included with `#[path]`: the
//! plugin is a `cdylib` with private modules, so it cannot be a dependency.
//! The files are compiled unchanged; they sit at this crate's root because
//! that is where their `crate::` paths point (`crate::model` from
//! render.rs).

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
