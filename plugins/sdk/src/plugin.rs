//! The [`Plugin`] trait a plugin implements, and the glue that exports it.

use crate::bindings::exports::m365::plugin::tools::Guest;
use crate::bindings::m365::plugin::types as wit;
use crate::error::ToolError;
use crate::tool::Tool;
use serde_json::Value;
use std::marker::PhantomData;

/// An RFC 6570 level-1 resource template, e.g. `m365://users/{userEmail}`.
#[derive(Debug, Clone, PartialEq)]
pub struct ResourceTemplate {
    pub uri_template: String,
    pub name: String,
    pub description: String,
    pub mime_type: String,
}

/// A concrete resource to list.
#[derive(Debug, Clone, PartialEq)]
pub struct Resource {
    pub uri: String,
    pub name: String,
    pub description: Option<String>,
    pub mime_type: String,
}

/// A resource's contents.
#[derive(Debug, Clone, PartialEq)]
pub struct ResourceContents {
    pub uri: String,
    pub mime_type: String,
    pub text: String,
}

impl ResourceContents {
    /// `application/json` contents from a JSON value.
    pub fn json(uri: &str, value: &Value) -> Self {
        ResourceContents {
            uri: uri.to_string(),
            mime_type: "application/json".into(),
            text: value.to_string(),
        }
    }
}

/// What a plugin implements. Export it with [`crate::export_plugin!`].
pub trait Plugin: 'static {
    /// Plugin name, as in the manifest.
    const NAME: &'static str;
    /// Plugin version, as in the manifest.
    const VERSION: &'static str;

    /// The plugin's tools. Called on `describe` and on every `call`; keep it
    /// cheap (schemas are generated only for `describe`).
    fn tools() -> Vec<Tool>;

    /// Resource templates (may be empty).
    fn resource_templates() -> Vec<ResourceTemplate> {
        Vec::new()
    }

    /// Reads a resource matching one of the templates.
    fn read_resource(uri: &str) -> Result<ResourceContents, ToolError> {
        Err(ToolError::input(
            Some("uri"),
            format!(
                "This plugin has no resource {uri}; list resource templates to see what it offers."
            ),
        ))
    }

    /// Concrete resources (may be empty).
    fn list_resources() -> Vec<Resource> {
        Vec::new()
    }
}

/// Runs tool `name` of plugin `P` with JSON `arguments`.
pub fn dispatch<P: Plugin>(name: &str, arguments: &str) -> Result<Value, ToolError> {
    with_tool::<P, _>(name, arguments, |tool, args| tool.invoke(args))
}

/// The plan of tool `name` of plugin `P` for JSON `arguments`.
pub fn plan<P: Plugin>(name: &str, arguments: &str) -> Result<String, ToolError> {
    with_tool::<P, _>(name, arguments, |tool, args| tool.plan_for(args))
}

fn with_tool<P: Plugin, T>(
    name: &str,
    arguments: &str,
    run: impl FnOnce(&Tool, Value) -> Result<T, ToolError>,
) -> Result<T, ToolError> {
    let tools = P::tools();
    let Some(tool) = tools.iter().find(|t| t.name() == name) else {
        return Err(ToolError::plugin(format!(
            "Plugin {} has no tool {name}; list the tools and call one of them.",
            P::NAME
        )));
    };
    let args: Value = if arguments.trim().is_empty() {
        Value::Object(Default::default())
    } else {
        serde_json::from_str(arguments).map_err(|_| {
            ToolError::input(
                None,
                "The arguments are not valid JSON; send a JSON object.".to_string(),
            )
        })?
    };
    let args = match args {
        Value::Null => Value::Object(Default::default()),
        v @ Value::Object(_) => v,
        _ => {
            return Err(ToolError::input(
                None,
                "The arguments must be a JSON object; send one.",
            ));
        }
    };
    run(tool, args)
}

/// The plugin's description for the host.
pub fn describe<P: Plugin>() -> wit::PluginInfo {
    let tools = P::tools()
        .iter()
        .map(|t| {
            let a = t.annotations_ref();
            wit::Tool {
                name: t.name().to_string(),
                title: t.title_ref().map(str::to_string),
                description: t.description().to_string(),
                input_schema: t.input_schema().to_string(),
                output_schema: t.output_schema().map(|s| s.to_string()),
                annotations: wit::Annotations {
                    read_only: a.read_only,
                    destructive: a.destructive,
                    idempotent: a.idempotent,
                    open_world: a.open_world,
                },
                secret_fields: t.secret_fields().iter().map(|s| s.to_string()).collect(),
                bulk_argument: t.bulk_argument().map(str::to_string),
            }
        })
        .collect();
    let resource_templates = P::resource_templates()
        .into_iter()
        .map(|r| wit::ResourceTemplate {
            uri_template: r.uri_template,
            name: r.name,
            description: r.description,
            mime_type: r.mime_type,
        })
        .collect();
    wit::PluginInfo {
        name: P::NAME.to_string(),
        version: P::VERSION.to_string(),
        tools,
        resource_templates,
    }
}

/// The exported `tools` interface for plugin `P` (used by `export_plugin!`).
#[doc(hidden)]
pub struct Exports<P>(PhantomData<P>);

impl<P: Plugin> Guest for Exports<P> {
    fn describe() -> wit::PluginInfo {
        describe::<P>()
    }

    fn call(tool: String, arguments: String) -> Result<String, wit::ToolError> {
        dispatch::<P>(&tool, &arguments)
            .map(|v| v.to_string())
            .map_err(Into::into)
    }

    fn plan(tool: String, arguments: String) -> Result<String, wit::ToolError> {
        plan::<P>(&tool, &arguments).map_err(Into::into)
    }

    fn read_resource(uri: String) -> Result<wit::ResourceContents, wit::ToolError> {
        P::read_resource(&uri)
            .map(|c| wit::ResourceContents {
                uri: c.uri,
                mime_type: c.mime_type,
                text: c.text,
            })
            .map_err(Into::into)
    }

    fn list_resources() -> Vec<wit::Resource> {
        P::list_resources()
            .into_iter()
            .map(|r| wit::Resource {
                uri: r.uri,
                name: r.name,
                description: r.description,
                mime_type: r.mime_type,
            })
            .collect()
    }
}
