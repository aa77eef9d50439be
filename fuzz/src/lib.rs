//! The code under test comes from its crates: the host's grant matcher and
//! argument validator from `m365-policy`, and the templates plugin's
//! renderer and sanitizer from `m365-templating`, the library the plugin
//! compiles in. What is fuzzed is exactly what ships; this crate adds only
//! the oracles the fuzz targets judge it by.

pub mod html;
