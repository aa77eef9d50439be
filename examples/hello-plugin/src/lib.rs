//! The smallest useful m365-admin plugin: one read-only tool that greets.
//! Copy this folder, rename the crate, the plugin and the tool, and build.

use m365_plugin_sdk::{Annotations, Plugin, Tool, ToolError};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

/// The greeting, fixed when the plugin is built (so two builds can differ).
const GREETING: &str = match option_env!("HELLO_GREETING") {
    Some(g) => g,
    None => "Hello",
};

/// The tool's arguments; their JSON Schema is derived from this type, and
/// the doc comments become the descriptions the model reads.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct HelloArgs {
    /// Who to greet.
    #[schemars(length(min = 1, max = 100))]
    pub name: String,
}

/// The tool's result (its JSON Schema is the tool's output schema).
#[derive(Debug, Serialize, JsonSchema)]
pub struct Greeting {
    pub message: String,
}

fn hello(args: HelloArgs) -> Result<Greeting, ToolError> {
    if args.name.trim().is_empty() {
        return Err(ToolError::input(Some("name"), "Give a name to greet."));
    }
    Ok(Greeting {
        message: format!("{GREETING}, {}!", args.name.trim()),
    })
}

pub struct HelloPlugin;

impl Plugin for HelloPlugin {
    const NAME: &'static str = "hello";
    const VERSION: &'static str = env!("CARGO_PKG_VERSION");

    fn tools() -> Vec<Tool> {
        vec![
            Tool::new("hello", "Greet someone by name.", hello)
                .title("Hello")
                .output::<Greeting>()
                .annotations(Annotations::query()),
        ]
    }
}

m365_plugin_sdk::export_plugin!(HelloPlugin);
