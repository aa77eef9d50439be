//! A group's settings: the `Group.Unified.Guest` template (whether owners may add guests), the
//! only one that applies to a single Microsoft 365 group.

use http::StatusCode;
use serde_json::{Map, Value, json};

use crate::app::App;
use crate::graph::odata::json_object;
use crate::tenant::Group;
use crate::tenant::groups::{GUEST_TEMPLATE_ID, GUEST_TEMPLATE_NAME, GroupSetting, SettingValue};
use crate::web::{GraphError, GraphResult, Reply};

fn setting_json(app: &App, s: &GroupSetting, entity: bool) -> Value {
    let mut obj = Map::new();
    if entity {
        obj.insert(
            "@odata.context".into(),
            json!(format!(
                "{}$metadata#groupSettings/$entity",
                app.graph_root()
            )),
        );
    }
    obj.insert("id".into(), json!(s.id));
    obj.insert("displayName".into(), json!(GUEST_TEMPLATE_NAME));
    obj.insert("templateId".into(), json!(s.template_id));
    obj.insert(
        "values".into(),
        json!(
            s.values
                .iter()
                .map(|v| json!({"name": v.name, "value": v.value}))
                .collect::<Vec<_>>()
        ),
    );
    Value::Object(obj)
}

fn invalid_setting(property: &str) -> GraphError {
    GraphError::bad_request(format!(
        "Invalid value specified for property '{property}' of resource 'GroupSetting'."
    ))
}

/// Validates `values` against the `Group.Unified.Guest` template (`AllowToAddGuests`, a
/// `"true"`/`"false"` string) and merges them over `current`.
fn merge_values(current: &[SettingValue], v: &Value) -> Result<Vec<SettingValue>, GraphError> {
    let items = v.as_array().ok_or_else(|| invalid_setting("values"))?;
    let mut out = current.to_vec();
    for item in items {
        let name = item["name"]
            .as_str()
            .ok_or_else(|| invalid_setting("values"))?;
        if !name.eq_ignore_ascii_case("AllowToAddGuests") {
            return Err(invalid_setting("values"));
        }
        let value = match item["value"].as_str() {
            Some(s) if s.eq_ignore_ascii_case("true") => "true",
            Some(s) if s.eq_ignore_ascii_case("false") => "false",
            _ => return Err(invalid_setting("values")),
        };
        match out.iter_mut().find(|s| s.name == "AllowToAddGuests") {
            Some(s) => s.value = value.to_string(),
            None => out.push(SettingValue {
                name: "AllowToAddGuests".into(),
                value: value.to_string(),
            }),
        }
    }
    Ok(out)
}

pub(crate) fn create(app: &App, id: &str, body: &[u8]) -> GraphResult {
    let body = json_object(body)?;
    for key in body.keys() {
        if !(key.starts_with('@')
            || ["templateId", "values", "displayName"]
                .iter()
                .any(|k| k.eq_ignore_ascii_case(key)))
        {
            return Err(GraphError::bad_request(format!(
                "Invalid property '{key}'."
            )));
        }
    }
    let template = body
        .get("templateId")
        .and_then(Value::as_str)
        .filter(|t| t.eq_ignore_ascii_case(GUEST_TEMPLATE_ID))
        .ok_or_else(|| invalid_setting("templateId"))?;
    let defaults = vec![SettingValue {
        name: "AllowToAddGuests".into(),
        value: "true".into(),
    }];
    let values = merge_values(&defaults, body.get("values").unwrap_or(&json!([])))?;
    app.store.mutate(|t| {
        let i = t.group_index(id)?;
        let g = &mut t.groups[i];
        if !g.is_unified() {
            return Err(GraphError::bad_request(
                "Group settings apply only to Microsoft 365 groups.",
            ));
        }
        if g
            .settings
            .iter()
            .any(|s| s.template_id.eq_ignore_ascii_case(template))
        {
            return Err(GraphError::bad_request(
                "A conflicting object with one or more of the specified property values is present in the directory.",
            ));
        }
        let setting = GroupSetting {
            id: uuid::Uuid::new_v4().to_string(),
            template_id: GUEST_TEMPLATE_ID.into(),
            values,
        };
        let reply = Reply::json(StatusCode::CREATED, setting_json(app, &setting, true));
        g.settings.push(setting);
        Ok(reply)
    })
}

pub(crate) fn list(app: &App, id: &str) -> GraphResult {
    app.store.read(|t| {
        let g = &t.groups[t.group_index(id)?];
        Ok(Reply::ok(json!({
            "@odata.context": format!("{}$metadata#groups('{}')/settings", app.graph_root(), g.id),
            "value": g.settings.iter().map(|s| setting_json(app, s, false)).collect::<Vec<_>>(),
        })))
    })
}

fn setting_index(g: &Group, sid: &str) -> Result<usize, GraphError> {
    g.settings
        .iter()
        .position(|s| s.id.eq_ignore_ascii_case(sid))
        .ok_or_else(|| GraphError::not_found(sid))
}

pub(crate) fn get(app: &App, id: &str, sid: &str) -> GraphResult {
    app.store.read(|t| {
        let g = &t.groups[t.group_index(id)?];
        let s = &g.settings[setting_index(g, sid)?];
        Ok(Reply::ok(setting_json(app, s, true)))
    })
}

pub(crate) fn patch(app: &App, id: &str, sid: &str, body: &[u8]) -> GraphResult {
    let body = json_object(body)?;
    for key in body.keys() {
        if key.eq_ignore_ascii_case("templateId") {
            return Err(GraphError::bad_request(
                "Property 'templateId' is read-only and cannot be set.",
            ));
        }
        if !(key.starts_with('@') || key.eq_ignore_ascii_case("values")) {
            return Err(GraphError::bad_request(format!(
                "Invalid property '{key}'."
            )));
        }
    }
    app.store.mutate(|t| {
        let i = t.group_index(id)?;
        let g = &mut t.groups[i];
        let s = setting_index(g, sid)?;
        if let Some(v) = body.get("values") {
            g.settings[s].values = merge_values(&g.settings[s].values, v)?;
        }
        Ok(Reply::no_content())
    })
}

pub(crate) fn delete(app: &App, id: &str, sid: &str) -> GraphResult {
    app.store.mutate(|t| {
        let i = t.group_index(id)?;
        let g = &mut t.groups[i];
        let s = setting_index(g, sid)?;
        g.settings.remove(s);
        Ok(Reply::no_content())
    })
}

#[cfg(test)]
mod tests {
    use http::Method;
    use serde_json::json;

    use crate::testkit::tenant;

    #[test]
    fn group_guest_setting() {
        let t = tenant();
        let gid = t.group("guests", &[], &[]);
        let body = json!({
            "templateId": "08d542b9-071f-4e16-94b0-74abb372e3d9",
            "values": [{"name": "AllowToAddGuests", "value": "false"}]
        });
        let a = t.graph(
            Method::POST,
            &format!("/groups/{gid}/settings"),
            Some(body.clone()),
        );
        assert_eq!(a.status, 201, "{}", a.body);
        assert_eq!(
            a.body["values"],
            json!([{"name": "AllowToAddGuests", "value": "false"}])
        );
        let sid = a.body["id"].as_str().unwrap().to_string();
        assert_eq!(
            t.graph(Method::POST, &format!("/groups/{gid}/settings"), Some(body))
                .status,
            400
        );
        let a = t.graph(
            Method::PATCH,
            &format!("/groups/{gid}/settings/{sid}"),
            Some(json!({"values": [{"name": "AllowToAddGuests", "value": "true"}]})),
        );
        assert_eq!(a.status, 204, "{}", a.body);
        let a = t.graph(Method::GET, &format!("/groups/{gid}/settings"), None);
        assert_eq!(a.body["value"][0]["values"][0]["value"], "true");
        let a = t.graph(
            Method::POST,
            &format!("/groups/{gid}/settings"),
            Some(json!({"templateId": "62375ab9-6b52-47ed-826b-58e47e0e304b", "values": []})),
        );
        assert_eq!(a.status, 400);
    }
}
