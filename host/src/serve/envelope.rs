//! The envelope every tool result carries: which tenant a call went to (its
//! id and default domain), sandbox or live, as which app, read-only or not.
//! The first call to a live tenant also says so once on stderr, so that an
//! administrator watching the server sees where calls go.

use crate::app::App;
use serde_json::{Value, json};
use std::sync::atomic::{AtomicBool, Ordering};

/// The key of the envelope in structured results and `_meta`.
pub const ENVELOPE_KEY: &str = "m365-admin/envelope";

/// Whether the live tenant has been announced on stderr yet.
#[derive(Default)]
pub struct Announcement(AtomicBool);

impl Announcement {
    /// True the first time only.
    fn first(&self) -> bool {
        !self.0.swap(true, Ordering::SeqCst)
    }
}

/// Where a call runs; null when no tenant is connected (`tools`).
pub async fn envelope(app: &App) -> Value {
    let Some(t) = &app.tenant else {
        return Value::Null;
    };
    let live = t.mode == "live";
    let first = live && app.announcement.first();
    if first {
        app.health.check_graph(app.upstream.as_deref()).await;
    }
    let domain = app.health.default_domain();
    let envelope = json!({
        "tenantId": t.tenant_id,
        "domain": domain,
        "mode": t.mode,
        "clientId": t.client_id,
        "readOnly": app.config.read_only,
    });
    if first {
        eprintln!(
            "m365-admin: tool calls in this session go to the LIVE tenant {} ({}) as app {}{}",
            t.tenant_id,
            domain.as_deref().unwrap_or("domain unknown"),
            t.client_id,
            if app.config.read_only {
                ", read-only"
            } else {
                ""
            }
        );
    }
    envelope
}
