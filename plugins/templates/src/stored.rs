//! Where templates live in the plugin's store: `t/{id}` holds the current
//! version (earlier ones are the store's history of that key), `usage/{id}`
//! is the log of messages sent.

use m365_plugin_sdk::ToolError;
use m365_plugin_sdk::store::{self, Document, Expect};
use m365_templating::model::{Template, slug};

/// Key of a template in the store.
pub fn key(id: &str) -> String {
    format!("t/{id}")
}

/// Name of a template's usage log.
pub fn usage_log(id: &str) -> String {
    format!("usage/{id}")
}

/// The current version of a template, or TMPL_001.
pub fn load(id: &str) -> Result<Document<Template>, ToolError> {
    store::get::<Template>(&key(id))?.ok_or_else(|| not_found(id))
}

pub fn not_found(id: &str) -> ToolError {
    ToolError::template_not_found(format!(
        "There is no template {id:?}; list_email_templates shows the ids."
    ))
}

/// Every current template, in id order.
pub fn all() -> Result<Vec<Document<Template>>, ToolError> {
    let mut out = Vec::new();
    let mut after: Option<String> = None;
    loop {
        let page = store::list::<Template>("t/", after.as_deref(), 500)?;
        let done = page.len() < 500;
        after = page.last().map(|d| d.key.clone());
        out.extend(page);
        if done {
            return Ok(out);
        }
    }
}

/// Writes a new template under a fresh id; fails if the name is taken.
pub fn insert(mut t: Template) -> Result<(Template, u64), ToolError> {
    let existing = all()?;
    if let Some(same) = existing
        .iter()
        .find(|d| d.value.template_name.eq_ignore_ascii_case(&t.template_name))
    {
        return Err(ToolError::input(
            Some("templateName"),
            format!(
                "A template named {:?} exists already (id {}); update it with update_email_template or choose another name.",
                same.value.template_name, same.value.template_id
            ),
        ));
    }
    let base = slug(&t.template_name);
    let mut id = base.clone();
    let mut n = 2;
    while existing.iter().any(|d| d.value.template_id == id) {
        id = format!("{base}-{n}");
        n += 1;
    }
    t.template_id = id.clone();
    let version = store::put(&key(&id), &t, Expect::New)?;
    Ok((t, version))
}
