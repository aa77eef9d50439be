//! One tool call, end to end, whoever asks (MCP, `m365-admin call`, the
//! harness): the confirmation token taken out of the arguments, the tool
//! looked up in the registry the call started with, the selection's
//! verdict, secrets registered and the arguments redacted for the record,
//! schema validation, confirmation when the host decides a call needs it
//! (with the plugin's plan), the plugin run in a fresh instance, and one
//! audit row (`audit.rs`). A plugin's resource read is recorded the same way.

pub mod audit;
pub mod confirm;
pub mod selection;

use crate::app::App;
use crate::caps::call::{CallCtx, Progress};
use crate::errors::{CodedError, ErrorCode};
use crate::plugins::registry::LoadedPlugin;
use crate::plugins::runtime::{ResourceContents, deadline};
use audit::Ran;
use confirm::Elicitor;
use serde_json::{Value, json};
use std::sync::Arc;
use std::time::Instant;
use tokio::sync::mpsc;

/// Validates, confirms when needed, runs and audits one tool call.
/// `elicit` asks the administrator in the client, when it can.
pub async fn call_tool(
    app: &App,
    name: &str,
    args: Value,
    progress: Option<mpsc::UnboundedSender<Progress>>,
    elicit: Option<Elicitor>,
) -> Result<Value, CodedError> {
    let started = Instant::now();
    let ran = run_tool(app, name, args, progress, elicit).await;
    let ms = started.elapsed().as_millis() as u64;
    match &ran.result {
        Ok(_) => {
            tracing::info!(tool = name, plugin = %ran.plugin, ms, upstream = ran.requests.len(), "tool call succeeded")
        }
        Err(e) => {
            tracing::info!(tool = name, plugin = %ran.plugin, ms, upstream = ran.requests.len(), code = %e.code, outcome = ran.outcome, "tool call failed")
        }
    }
    if let Some(db) = &app.db {
        ran.record(db, name, ms);
    }
    ran.result
}

async fn run_tool(
    app: &App,
    name: &str,
    mut args: Value,
    progress: Option<mpsc::UnboundedSender<Progress>>,
    elicit: Option<Elicitor>,
) -> Ran<Value> {
    let token = confirm::take_token(&mut args);
    let registry = app.registry();
    let mut ran = Ran {
        result: Ok(Value::Null),
        plugin: String::new(),
        outcome: "error",
        arguments: crate::secret::redact_json(&args, &[]),
        requests: Vec::new(),
    };
    let Some(entry) = registry.tools.get(name) else {
        ran.result = Err(CodedError::new(
            ErrorCode::Input001,
            format!(
                "There is no tool named {name:?}. List the tools (tools/list or `m365-admin tools`) and use one of those names."
            ),
        ));
        return ran;
    };
    ran.plugin = entry.plugin.clone();
    if let Err(out) = app
        .selection
        .decide(name, &entry.plugin, entry.tool.annotations.read_only)
    {
        ran.outcome = "refused";
        ran.result = Err(CodedError::new(ErrorCode::Perm001, out.explain(name)));
        return ran;
    }
    if args.is_null() {
        args = json!({});
    }
    crate::secret::register_fields(&args, &entry.tool.secret_fields);
    ran.arguments = crate::secret::redact_json(&args, &entry.tool.secret_fields);
    if let Err(e) = entry.validator.check(name, &args) {
        ran.result = Err(e.into());
        return ran;
    }
    let plugin = &registry.plugins[&entry.plugin];
    let approval = match (&app.db, app.config.enable_confirmation) {
        (Some(db), true) => Some(Arc::new(confirm::Approval::new(
            db.clone(),
            name,
            args.clone(),
            token,
            elicit,
            app.config.confirm_ttl,
        ))),
        _ => None,
    };
    let why = confirm::reason(
        entry.tool.annotations.destructive,
        entry.tool.bulk_argument.as_deref(),
        &args,
        app.config.bulk_threshold,
    );
    if let (Some(why), Some(approval)) = (why, &approval) {
        let plan = match plan(app, name, plugin, &args, &ran.arguments).await {
            Ok(p) => p,
            Err(e) => {
                ran.result = Err(e);
                return ran;
            }
        };
        if let Err((e, outcome)) = approval.obtain(&plan, &why).await {
            ran.result = Err(e);
            ran.outcome = outcome;
            return ran;
        }
    }
    let mut call = CallCtx::new(
        &plugin.name,
        name,
        deadline(app.runtime.limits().timeout),
        progress,
    );
    call.approval = approval;
    let call = Arc::new(call);
    let outcome = app
        .runtime
        .call(&plugin.prepared, call.clone(), &args.to_string())
        .await;
    ran.result = outcome.and_then(|text| {
        serde_json::from_str::<Value>(&text).map_err(|e| {
            CodedError::new(ErrorCode::Plugin001, format!("Plugin `{}` returned a result that is not JSON ({e}); report this to its author.", plugin.name))
        })
    });
    ran.outcome = match &ran.result {
        Ok(_) => "ok",
        // The plugin asked for approval (host.confirm) and did not get it yet.
        Err(e) if e.code == ErrorCode::Confirm001 => "confirmation-required",
        Err(_) => "error",
    };
    ran.requests = call.requests();
    ran
}

/// The plugin's plan for a call that needs approval, or the host's own.
async fn plan(
    app: &App,
    tool: &str,
    plugin: &LoadedPlugin,
    args: &Value,
    redacted: &Value,
) -> Result<String, CodedError> {
    let call = Arc::new(CallCtx::new(
        &plugin.name,
        tool,
        deadline(app.runtime.limits().timeout),
        None,
    ));
    let plan = app
        .runtime
        .plan(&plugin.prepared, call, &args.to_string())
        .await?;
    Ok(if plan.trim().is_empty() {
        confirm::generic_plan(tool, &plugin.name, redacted)
    } else {
        crate::secret::redact(plan.trim())
    })
}

/// Reads one of `plugin`'s resources in a fresh instance; audited as the
/// tool `resources/read`.
pub async fn read_resource(
    app: &App,
    plugin: &LoadedPlugin,
    uri: &str,
) -> Result<ResourceContents, CodedError> {
    let started = Instant::now();
    let call = Arc::new(CallCtx::new(
        &plugin.name,
        "read-resource",
        deadline(app.runtime.limits().timeout),
        None,
    ));
    let result = app
        .runtime
        .read_resource(&plugin.prepared, call.clone(), uri)
        .await;
    let ran = Ran {
        outcome: if result.is_ok() { "ok" } else { "error" },
        result,
        plugin: plugin.name.clone(),
        arguments: json!({"uri": crate::secret::redact(uri)}),
        requests: call.requests(),
    };
    if let Some(db) = &app.db {
        ran.record(db, "resources/read", started.elapsed().as_millis() as u64);
    }
    ran.result
}
