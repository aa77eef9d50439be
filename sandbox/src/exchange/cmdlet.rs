//! What a cmdlet implementation works with: the call in progress (the app, the request's
//! context, the warnings to return) and the cmdlet's declaration (name, emulated parameters,
//! implementation).

use http::StatusCode;
use serde_json::Value;

use super::error::ExoError;
use super::params::{Bound, Param};
use crate::app::App;
use crate::tenant::Tenant;
use crate::web::{Ctx, GraphError};

/// One cmdlet call in progress.
pub(crate) struct Call<'a> {
    pub app: &'a App,
    pub ctx: &'a Ctx,
    /// Warnings to return in `@adminapi.warnings`.
    pub warnings: Vec<String>,
}

impl Call<'_> {
    pub fn read<R>(&self, f: impl FnOnce(&Tenant) -> R) -> R {
        self.app.store.read(f)
    }

    /// Runs `f` on a copy of the tenant and keeps (and persists) it only if `f` succeeds.
    pub fn mutate<R>(
        &self,
        f: impl FnOnce(&mut Tenant) -> Result<R, ExoError>,
    ) -> Result<R, ExoError> {
        let mut failure = None;
        let out = self.app.store.mutate(|t| {
            f(t).map_err(|e| {
                failure = Some(e);
                GraphError::odata("cmdlet failed")
            })
        });
        out.map_err(|g| {
            failure.unwrap_or_else(|| {
                ExoError::request(
                    StatusCode::INTERNAL_SERVER_ERROR,
                    "InternalServerError",
                    g.message,
                )
            })
        })
    }

    /// The warning Exchange gives when a Set- cmdlet changes nothing.
    pub fn nothing_modified(&mut self, identity: &str) {
        self.warnings.push(format!(
            "The command completed successfully but no settings of '{identity}' have been modified."
        ));
    }
}

type Run = fn(&mut Call, &Bound) -> Result<Vec<Value>, ExoError>;

/// An emulated cmdlet: its name, the parameters it emulates and its implementation.
pub(crate) struct Cmdlet {
    pub name: &'static str,
    pub params: &'static [Param],
    pub run: Run,
}

/// A size as Exchange shows it: `35 MB (36,700,160 bytes)`.
pub(crate) fn size_text(bytes: u64) -> String {
    const UNITS: &[(&str, u64)] = &[("GB", 1 << 30), ("MB", 1 << 20), ("KB", 1 << 10)];
    let grouped = {
        let s = bytes.to_string();
        let mut out = String::new();
        for (i, c) in s.chars().enumerate() {
            if i > 0 && (s.len() - i).is_multiple_of(3) {
                out.push(',');
            }
            out.push(c);
        }
        out
    };
    for (unit, size) in UNITS {
        if bytes >= *size {
            let whole = bytes as f64 / *size as f64;
            let shown = if (whole.fract()).abs() < f64::EPSILON {
                format!("{whole:.0}")
            } else {
                format!("{whole:.1}")
            };
            return format!("{shown} {unit} ({grouped} bytes)");
        }
    }
    format!("{bytes} B ({grouped} bytes)")
}
