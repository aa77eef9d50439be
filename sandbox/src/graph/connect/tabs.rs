//! Channel tabs: `GET/POST /teams/{id}/channels/{cid}/tabs`, `GET/PATCH/DELETE …/tabs/{tabId}`
//! (`teamsApp@odata.bind` to one of the built-in apps, `displayName`, `configuration`;
//! `$expand=teamsApp` and `$filter=teamsApp/id eq '…'` on the list).

use http::StatusCode;
use serde_json::{Map, Value, json};

use crate::app::App;
use crate::graph::odata::{enc, is, json_object, unknown_property};
use crate::tenant::Tenant;
use crate::tenant::connect::Tab;
use crate::tenant::teams::{archived, bad, teams_error};
use crate::web::path::normalize;
use crate::web::{GraphError, GraphResult, Query, Reply};

/// The apps every team has, which tabs can pin: (teamsApp id, display name).
const BUILT_IN_APPS: &[(&str, &str)] = &[
    (
        "com.microsoft.teamspace.tab.files.sharepoint",
        "Document Library",
    ),
    (
        "com.microsoft.teamspace.tab.planner",
        "Tasks by Planner and To Do",
    ),
    ("com.microsoft.teamspace.tab.web", "Website"),
    ("com.microsoft.teamspace.tab.wiki", "Wiki"),
    ("com.microsoft.teamspace.tab.file.staticviewer.word", "Word"),
    (
        "com.microsoft.teamspace.tab.file.staticviewer.excel",
        "Excel",
    ),
    (
        "com.microsoft.teamspace.tab.file.staticviewer.powerpoint",
        "PowerPoint",
    ),
    ("com.microsoft.teamspace.tab.file.staticviewer.pdf", "PDF"),
    ("com.microsoft.teamspace.tab.powerbi", "Power BI"),
    ("0d820ecd-def2-4297-adad-78056cde7c78", "OneNote"),
    ("81fef3a6-72aa-4648-a763-de824aeafb7d", "Forms"),
    ("2a527703-1f6f-4559-a332-d8a7d288cd88", "SharePoint"),
];

fn app_name(app_id: &str) -> Option<&'static str> {
    BUILT_IN_APPS
        .iter()
        .find(|(id, _)| id.eq_ignore_ascii_case(app_id))
        .map(|(_, n)| *n)
}

fn tab_json(t: &Tenant, tab: &Tab, expand_app: bool, context: Option<String>) -> Value {
    let mut o = Map::new();
    if let Some(c) = context {
        o.insert("@odata.context".into(), json!(c));
    }
    o.insert("id".into(), json!(tab.id));
    o.insert("displayName".into(), json!(tab.display_name));
    o.insert(
        "webUrl".into(),
        json!(format!(
            "https://teams.microsoft.com/l/channel/{}/tab%3a%3a{}?label={}&groupId={}&tenantId={}",
            enc(&tab.channel_id),
            tab.id,
            enc(&tab.display_name),
            tab.team_id,
            t.id
        )),
    );
    let mut config = Map::new();
    for k in ["entityId", "contentUrl", "removeUrl", "websiteUrl"] {
        config.insert(
            k.into(),
            tab.configuration.get(k).cloned().unwrap_or(Value::Null),
        );
    }
    o.insert("configuration".into(), Value::Object(config));
    if expand_app {
        o.insert(
            "teamsApp".into(),
            json!({
                "id": tab.teams_app_id,
                "externalId": null,
                "displayName": app_name(&tab.teams_app_id),
                "distributionMethod": "store",
            }),
        );
    }
    Value::Object(o)
}

fn tabs_context(app: &App, tid: &str, cid: &str) -> String {
    format!(
        "{}$metadata#teams('{tid}')/channels('{}')/tabs",
        app.graph_root(),
        enc(cid)
    )
}

fn expand_app(q: &Query) -> Result<bool, GraphError> {
    match q.get("expand") {
        None => Ok(false),
        Some(e) if is(e.trim(), "teamsApp") => Ok(true),
        Some(e) => Err(bad(format!(
            "Parsing OData Select and Expand failed: Could not find a property named '{e}' on type 'microsoft.graph.teamsTab'."
        ))),
    }
}

pub(crate) fn list(app: &App, tid: &str, cid: &str, q: &Query) -> GraphResult {
    q.only(&["expand", "filter"])?;
    let expand = expand_app(q)?;
    let filter = match q.get("filter") {
        None => None,
        Some(f) => {
            let (prop, value) = f
                .split_once(" eq ")
                .map(|(p, v)| (p.trim(), v.trim()))
                .ok_or_else(|| bad("Invalid filter clause: only 'teamsApp/id eq' and 'displayName eq' are supported."))?;
            let value = value
                .strip_prefix('\'')
                .and_then(|v| v.strip_suffix('\''))
                .ok_or_else(|| bad("Invalid filter clause: the value must be a quoted string."))?
                .to_string();
            if !(is(prop, "teamsApp/id") || is(prop, "displayName")) {
                return Err(bad(format!(
                    "Invalid filter clause: filtering on '{prop}' is not supported."
                )));
            }
            Some((is(prop, "teamsApp/id"), value))
        }
    };
    app.store.read(|t| {
        let (gi, ci) = t.team_channel(tid, cid)?;
        let gid = &t.groups[gi].id;
        let channel_id = &t.groups[gi].team.as_ref().expect("team").channels[ci].id;
        let value: Vec<Value> = t
            .connect
            .tabs
            .iter()
            .filter(|tab| tab.team_id.eq_ignore_ascii_case(gid) && tab.channel_id == *channel_id)
            .filter(|tab| match &filter {
                None => true,
                Some((true, v)) => tab.teams_app_id.eq_ignore_ascii_case(v),
                Some((false, v)) => tab.display_name == *v,
            })
            .map(|tab| tab_json(t, tab, expand, None))
            .collect();
        Ok(Reply::ok(json!({
            "@odata.context": tabs_context(app, gid, channel_id),
            "@odata.count": value.len(),
            "value": value,
        })))
    })
}

/// Checks a `configuration` object (a teamsTabConfiguration).
fn check_configuration(v: &Value) -> Result<Map<String, Value>, GraphError> {
    let Value::Object(o) = v else {
        return Err(bad(
            "The 'configuration' property must be a teamsTabConfiguration object.",
        ));
    };
    let mut out = Map::new();
    for (k, val) in o {
        if k.starts_with('@') {
            continue;
        }
        let known = ["entityId", "contentUrl", "removeUrl", "websiteUrl"]
            .iter()
            .find(|p| p.eq_ignore_ascii_case(k));
        let Some(name) = known else {
            return Err(unknown_property(k, "microsoft.graph.teamsTabConfiguration"));
        };
        if !(val.is_string() || val.is_null()) {
            return Err(bad(format!(
                "The value of configuration.{name} must be a string or null."
            )));
        }
        out.insert(name.to_string(), val.clone());
    }
    Ok(out)
}

fn teams_app_of(bind: &Value) -> Result<String, GraphError> {
    let url = bind
        .as_str()
        .ok_or_else(|| bad("teamsApp@odata.bind must be a URL string."))?;
    let path = url.split(['?', '#']).next().unwrap_or_default();
    let segs: Vec<&str> = path.split('/').filter(|s| !s.is_empty()).collect();
    match segs.as_slice() {
        [.., catalogs, apps, id] if is(catalogs, "appCatalogs") && is(apps, "teamsApps") => {
            Ok(id.to_string())
        }
        [.., last] if last.starts_with("teamsApps(") => {
            let key = normalize(&[last.to_string()]);
            key.get(1)
                .cloned()
                .ok_or_else(|| bad("Invalid teamsApp@odata.bind value."))
        }
        _ => Err(bad(format!(
            "Invalid teamsApp@odata.bind value '{url}': bind an app with https://graph.microsoft.com/v1.0/appCatalogs/teamsApps/{{id}}."
        ))),
    }
}

pub(crate) fn create(app: &App, tid: &str, cid: &str, body: &[u8]) -> GraphResult {
    let body = json_object(body)?;
    let mut name = None;
    let mut app_id = None;
    let mut configuration = Map::new();
    for (k, v) in &body {
        match k.as_str() {
            "displayName" => name = v.as_str().map(str::trim).map(str::to_string),
            "teamsApp@odata.bind" => app_id = Some(teams_app_of(v)?),
            "configuration" => configuration = check_configuration(v)?,
            k if k.starts_with('@') => {}
            other => return Err(unknown_property(other, "microsoft.graph.teamsTab")),
        }
    }
    let name = name
        .filter(|n| !n.is_empty())
        .ok_or_else(|| bad("The tab's displayName is required."))?;
    if name.chars().count() > 128 {
        return Err(bad("The tab's displayName can be at most 128 characters."));
    }
    let app_id =
        app_id.ok_or_else(|| bad("teamsApp@odata.bind is required: the app whose tab to add."))?;
    let Some(_) = app_name(&app_id) else {
        return Err(teams_error(
            StatusCode::NOT_FOUND,
            "NotFound",
            format!(
                "The app '{app_id}' is not installed in the team. Install it first (POST /teams/{tid}/installedApps)."
            ),
        ));
    };
    let canonical = BUILT_IN_APPS
        .iter()
        .find(|(id, _)| id.eq_ignore_ascii_case(&app_id))
        .map(|(id, _)| id.to_string())
        .unwrap_or(app_id);
    app.store.mutate(|t| {
        let (gi, ci) = t.team_channel(tid, cid)?;
        let g = &t.groups[gi];
        let team = g.team.as_ref().expect("team");
        if team.is_archived {
            return Err(archived(tid));
        }
        let tab = Tab {
            team_id: g.id.clone(),
            channel_id: team.channels[ci].id.clone(),
            id: uuid::Uuid::new_v4().to_string(),
            display_name: name,
            teams_app_id: canonical,
            configuration,
        };
        let context = format!(
            "{}/$entity",
            tabs_context(app, &tab.team_id, &tab.channel_id)
        );
        let out = tab_json(t, &tab, false, Some(context));
        t.connect.tabs.push(tab);
        Ok(Reply::json(StatusCode::CREATED, out))
    })
}

fn tab_index(t: &Tenant, gid: &str, channel_id: &str, tab: &str) -> Result<usize, GraphError> {
    t.connect
        .tabs
        .iter()
        .position(|x| {
            x.team_id.eq_ignore_ascii_case(gid) && x.channel_id == channel_id && x.id == tab
        })
        .ok_or_else(|| {
            teams_error(
                StatusCode::NOT_FOUND,
                "NotFound",
                format!("Tab {tab} was not found in the channel."),
            )
        })
}

pub(crate) fn get(app: &App, tid: &str, cid: &str, tab: &str, q: &Query) -> GraphResult {
    q.only(&["expand", "select"])?;
    let expand = expand_app(q)?;
    app.store.read(|t| {
        let (gi, ci) = t.team_channel(tid, cid)?;
        let gid = t.groups[gi].id.clone();
        let channel_id = t.groups[gi].team.as_ref().expect("team").channels[ci]
            .id
            .clone();
        let i = tab_index(t, &gid, &channel_id, tab)?;
        let context = format!("{}/$entity", tabs_context(app, &gid, &channel_id));
        Ok(Reply::ok(tab_json(
            t,
            &t.connect.tabs[i],
            expand,
            Some(context),
        )))
    })
}

pub(crate) fn patch(app: &App, tid: &str, cid: &str, tab: &str, body: &[u8]) -> GraphResult {
    let body = json_object(body)?;
    let mut name = None;
    let mut configuration = None;
    for (k, v) in &body {
        match k.as_str() {
            "displayName" => {
                name = Some(
                    v.as_str()
                        .map(str::trim)
                        .filter(|n| !n.is_empty())
                        .ok_or_else(|| bad("The tab's displayName must be a non-empty string."))?
                        .to_string(),
                )
            }
            "configuration" => configuration = Some(check_configuration(v)?),
            k if k.starts_with('@') => {}
            other => return Err(unknown_property(other, "microsoft.graph.teamsTab")),
        }
    }
    app.store.mutate(|t| {
        let (gi, ci) = t.team_channel(tid, cid)?;
        let gid = t.groups[gi].id.clone();
        let channel_id = t.groups[gi].team.as_ref().expect("team").channels[ci]
            .id
            .clone();
        let i = tab_index(t, &gid, &channel_id, tab)?;
        let tab = &mut t.connect.tabs[i];
        if let Some(n) = name {
            tab.display_name = n;
        }
        if let Some(c) = configuration {
            for (k, v) in c {
                tab.configuration.insert(k, v);
            }
        }
        let tab = tab.clone();
        let context = format!("{}/$entity", tabs_context(app, &gid, &channel_id));
        Ok(Reply::ok(tab_json(t, &tab, false, Some(context))))
    })
}

pub(crate) fn delete(app: &App, tid: &str, cid: &str, tab: &str) -> GraphResult {
    app.store.mutate(|t| {
        let (gi, ci) = t.team_channel(tid, cid)?;
        let gid = t.groups[gi].id.clone();
        let channel_id = t.groups[gi].team.as_ref().expect("team").channels[ci]
            .id
            .clone();
        let i = tab_index(t, &gid, &channel_id, tab)?;
        t.connect.tabs.remove(i);
        Ok(Reply::no_content())
    })
}

#[cfg(test)]
mod tests {
    use http::Method;
    use serde_json::json;

    use crate::auth::Claims;
    use crate::testkit::kit;

    const DOCS: &str = "https://graph.microsoft.com/v1.0/appCatalogs/teamsApps/com.microsoft.teamspace.tab.files.sharepoint";

    #[test]
    fn document_library_tab_drive_and_files_folder() {
        let k = kit();
        let (gid, general) = k.team("sales");
        let drive = k.graph(Method::GET, &format!("/groups/{gid}/drive"), None);
        assert_eq!(drive.status, 200, "{}", drive.body);
        assert_eq!(drive.body["driveType"], "documentLibrary");
        assert_eq!(drive.body["name"], "Documents");
        let web = drive.body["webUrl"].as_str().unwrap().to_string();
        assert_eq!(
            web,
            "https://libertygoldsilver.sharepoint.com/sites/sales/Shared%20Documents"
        );
        assert!(drive.body["id"].as_str().unwrap().starts_with("b!"));

        let folder = k.graph(
            Method::GET,
            &format!("/teams/{gid}/channels/{general}/filesFolder"),
            None,
        );
        assert_eq!(folder.status, 200, "{}", folder.body);
        assert_eq!(folder.body["name"], "General");
        assert_eq!(folder.body["webUrl"], format!("{web}/General"));
        assert_eq!(folder.body["parentReference"]["driveId"], drive.body["id"]);
        assert!(folder.body["folder"].is_object());

        let tabs = format!("/teams/{gid}/channels/{general}/tabs");
        let a = k.graph(
            Method::POST,
            &tabs,
            Some(json!({
                "displayName": "Documents",
                "teamsApp@odata.bind": DOCS,
                "configuration": {"entityId": "", "contentUrl": web, "removeUrl": null, "websiteUrl": null}
            })),
        );
        assert_eq!(a.status, 201, "{}", a.body);
        let tab_id = a.body["id"].as_str().unwrap().to_string();
        assert_eq!(a.body["configuration"]["contentUrl"], web);
        assert!(
            a.body["webUrl"]
                .as_str()
                .unwrap()
                .starts_with("https://teams.microsoft.com/l/channel/")
        );

        let list = k.graph(Method::GET, &format!("{tabs}?$expand=teamsApp"), None);
        assert_eq!(list.status, 200, "{}", list.body);
        assert_eq!(list.value().len(), 1);
        assert_eq!(
            list.value()[0]["teamsApp"]["id"],
            "com.microsoft.teamspace.tab.files.sharepoint"
        );
        let filtered = k.graph(
            Method::GET,
            &format!("{tabs}?$filter=teamsApp/id%20eq%20'com.microsoft.teamspace.tab.planner'"),
            None,
        );
        assert_eq!(filtered.value().len(), 0);
        // The same through /groups/{id}/team.
        let via_group = k.graph(
            Method::GET,
            &format!("/groups/{gid}/team/channels/{general}/tabs"),
            None,
        );
        assert_eq!(via_group.value().len(), 1);

        let a = k.graph(
            Method::PATCH,
            &format!("{tabs}/{tab_id}"),
            Some(json!({"displayName": "Files"})),
        );
        assert_eq!(a.status, 200, "{}", a.body);
        assert_eq!(a.body["displayName"], "Files");
        assert_eq!(
            k.graph(Method::DELETE, &format!("{tabs}/{tab_id}"), None)
                .status,
            204
        );
        assert_eq!(
            k.graph(Method::GET, &format!("{tabs}/{tab_id}"), None)
                .status,
            404
        );

        // Validation and permissions.
        for (body, status) in [
            (json!({"teamsApp@odata.bind": DOCS}), 400),
            (json!({"displayName": "x"}), 400),
            (
                json!({"displayName": "x", "teamsApp@odata.bind": "https://graph.microsoft.com/v1.0/users/x"}),
                400,
            ),
            (
                json!({"displayName": "x", "teamsApp@odata.bind": "https://graph.microsoft.com/v1.0/appCatalogs/teamsApps/unknown.app"}),
                404,
            ),
            (
                json!({"displayName": "x", "teamsApp@odata.bind": DOCS, "configuration": {"colour": "red"}}),
                400,
            ),
            (
                json!({"displayName": "x", "teamsApp@odata.bind": DOCS, "sortOrder": 1}),
                400,
            ),
        ] {
            assert_eq!(
                k.graph(Method::POST, &tabs, Some(body.clone())).status,
                status,
                "{body}"
            );
        }
        let reader = Claims {
            roles: vec!["TeamsTab.Read.All".into()],
        };
        let a = k.graph_as(
            &reader,
            Method::POST,
            &tabs,
            Some(json!({"displayName": "x", "teamsApp@odata.bind": DOCS})),
        );
        assert_eq!(a.status, 403);
        assert!(a.message().contains("TeamsTab.Create"));
        assert_eq!(
            k.graph(
                Method::GET,
                &format!("/teams/{gid}/channels/19:nope@thread.tacv2/tabs"),
                None
            )
            .status,
            404
        );
        assert_eq!(
            k.graph(Method::GET, "/teams/not-a-guid/channels/x/tabs", None)
                .status,
            400
        );
    }
}
