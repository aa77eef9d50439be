//! Files: the group's document library `GET /groups/{id}/drive` and a channel's folder in it
//! `GET /teams/{id}/channels/{cid}/filesFolder` (private and shared channels have a site of
//! their own), with SharePoint's id forms.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use http::StatusCode;
use serde_json::{Value, json};

use crate::app::App;
use crate::graph::odata::enc;
use crate::tenant::ids::digest;
use crate::tenant::{Group, INITIAL_DOMAIN};
use crate::web::time::rfc3339;
use crate::web::{GraphError, GraphResult, Reply};

fn tenant_prefix() -> &'static str {
    INITIAL_DOMAIN.split('.').next().unwrap_or("contoso")
}

/// A drive id in SharePoint's `b!…` form, stable for a seed.
fn drive_id(seed: &str) -> String {
    let mut bytes = digest(&format!("drive/{seed}"));
    bytes.extend(digest(&format!("drive2/{seed}")));
    format!("b!{}", URL_SAFE_NO_PAD.encode(&bytes[..48]))
}

/// A driveItem id in OneDrive's 34-character form.
fn item_id(seed: &str) -> String {
    const ALPHABET: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";
    let d = digest(&format!("item/{seed}"));
    let tail: String = d
        .iter()
        .take(32)
        .map(|b| ALPHABET[(*b & 31) as usize] as char)
        .collect();
    format!("01{tail}")
}

fn site_url(nick: &str) -> String {
    format!(
        "https://{}.sharepoint.com/sites/{}",
        tenant_prefix(),
        enc(nick)
    )
}

fn group_drive_json(app: &App, g: &Group) -> Value {
    let nick = g.prop_str("mailNickname").unwrap_or_default();
    let created = rfc3339(g.created_date_time);
    json!({
        "@odata.context": format!("{}$metadata#drives/$entity", app.graph_root()),
        "createdDateTime": created,
        "description": "",
        "id": drive_id(&g.id),
        "lastModifiedDateTime": created,
        "name": "Documents",
        "webUrl": format!("{}/Shared%20Documents", site_url(nick)),
        "driveType": "documentLibrary",
        "createdBy": {"user": {"displayName": "System Account"}},
        "lastModifiedBy": {"user": {"displayName": "System Account"}},
        "owner": {"group": {"email": g.prop_str("mail"), "id": g.id, "displayName": g.display_name()}},
        "quota": {"deleted": 0, "remaining": 27487790694400u64, "state": "normal", "total": 27487790694400u64, "used": 0},
    })
}

pub(crate) fn group_drive(app: &App, gid: &str) -> GraphResult {
    app.store.read(|t| {
        let i = t.find_group(gid).ok_or_else(|| GraphError::not_found(gid))?;
        let g = &t.groups[i];
        if !g.is_unified() {
            return Err(GraphError::new(
                StatusCode::NOT_FOUND,
                "itemNotFound",
                "The resource could not be found: only Microsoft 365 groups have a document library.",
            ));
        }
        Ok(Reply::ok(group_drive_json(app, g)))
    })
}

pub(crate) fn channel_folder(app: &App, tid: &str, cid: &str) -> GraphResult {
    app.store.read(|t| {
        let (gi, ci) = t.team_channel(tid, cid)?;
        let g = &t.groups[gi];
        let c = &g.team.as_ref().expect("team").channels[ci];
        let nick = g.prop_str("mailNickname").unwrap_or_default();
        // Private and shared channels have a site of their own.
        let (site, drive) = if c.membership_type == "standard" {
            (site_url(nick), drive_id(&g.id))
        } else {
            let channel_site: String = c
                .display_name
                .chars()
                .filter(|ch| !ch.is_whitespace())
                .collect();
            (
                site_url(&format!("{nick}-{channel_site}")),
                drive_id(&format!("{}/{}", g.id, c.id)),
            )
        };
        let created = rfc3339(c.created_date_time);
        Ok(Reply::ok(json!({
            "@odata.context": format!(
                "{}$metadata#teams('{}')/channels('{}')/filesFolder/$entity",
                app.graph_root(),
                g.id,
                enc(&c.id)
            ),
            "id": item_id(&format!("{}/{}", g.id, c.id)),
            "createdDateTime": created,
            "lastModifiedDateTime": created,
            "name": c.display_name,
            "webUrl": format!("{site}/Shared%20Documents/{}", enc(&c.display_name)),
            "size": 0,
            "parentReference": {"driveId": drive, "driveType": "documentLibrary"},
            "fileSystemInfo": {"createdDateTime": created, "lastModifiedDateTime": created},
            "folder": {"childCount": 0},
        })))
    })
}
