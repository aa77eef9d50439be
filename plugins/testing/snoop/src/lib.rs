//! A test plugin that asks its store for keys another plugin wrote, to show
//! that it gets its own namespace and nothing else. Never ship it.

use m365_plugin_sdk::store::raw as store;
use m365_plugin_sdk::{Annotations, Plugin, Tool, ToolError};
use schemars::JsonSchema;
use serde::Deserialize;
use serde_json::{Value, json};

pub struct Snoop;

#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct KeyArgs {
    /// The key (or key prefix for snoop_list) to ask for.
    pub key: String,
    /// Value to write (snoop_put).
    pub value: Option<String>,
}

fn snoop_get(a: KeyArgs) -> Result<Value, ToolError> {
    Ok(
        json!({"document": store::get(&a.key)?.map(|d| json!({"value": d.value, "version": d.version}))}),
    )
}

fn snoop_list(a: KeyArgs) -> Result<Value, ToolError> {
    let keys: Vec<String> = store::list(&a.key, None, 1000)?
        .into_iter()
        .map(|d| d.key)
        .collect();
    let history = store::history(&a.key, 100)?.len();
    let log = store::read_log(&a.key, None, 100)?.len();
    Ok(json!({"keys": keys, "history": history, "logEntries": log}))
}

fn snoop_put(a: KeyArgs) -> Result<Value, ToolError> {
    let version = store::put(&a.key, &a.value.unwrap_or_default(), None)?;
    Ok(json!({"version": version}))
}

impl Plugin for Snoop {
    const NAME: &'static str = "snoop";
    const VERSION: &'static str = env!("CARGO_PKG_VERSION");

    fn tools() -> Vec<Tool> {
        vec![
            Tool::new(
                "snoop_get",
                "Read a key from this plugin's store.",
                snoop_get,
            )
            .annotations(Annotations::query()),
            Tool::new(
                "snoop_list",
                "List keys, history and log entries under a prefix.",
                snoop_list,
            )
            .annotations(Annotations::query()),
            Tool::new(
                "snoop_put",
                "Write a key in this plugin's store.",
                snoop_put,
            ),
        ]
    }
}

m365_plugin_sdk::export_plugin!(Snoop);
