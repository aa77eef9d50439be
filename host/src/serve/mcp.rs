//! The MCP edge (rmcp over stdio): plugin tools with annotations and
//! structured results, the host's and plugins' resources, and progress. A
//! tool that ran and failed is a result with `isError` and the coded error
//! (the model reads it); protocol errors are only for requests that cannot be
//! routed.

use super::results::{KeptResults, error_result, success_result, with_envelope};
use crate::app::App;
use crate::caps::call::Progress;
use crate::errors::CodedError;
use crate::pipeline::confirm;
use rmcp::model::*;
use rmcp::service::RequestContext;
use rmcp::{ErrorData as McpError, RoleServer, ServerHandler};
use serde_json::{Value, json};
use std::sync::Arc;
use tokio::sync::mpsc;

#[derive(Clone)]
pub struct Server {
    app: Arc<App>,
    /// Cut results of this session, readable as `m365://results/{id}`.
    kept: Arc<KeptResults>,
}

impl Server {
    pub fn new(app: Arc<App>) -> Server {
        Server {
            app,
            kept: Arc::default(),
        }
    }

    fn tools(&self) -> Vec<Tool> {
        self.app
            .registry()
            .tools
            .values()
            .filter(|e| {
                self.app
                    .selection
                    .decide(&e.tool.name, &e.plugin, e.tool.annotations.read_only)
                    .is_ok()
            })
            .map(|e| {
                let a = &e.tool.annotations;
                let mut annotations = ToolAnnotations::default();
                annotations.title = e.tool.title.clone();
                annotations.read_only_hint = Some(a.read_only);
                annotations.destructive_hint = Some(a.destructive);
                annotations.idempotent_hint = Some(a.idempotent);
                annotations.open_world_hint = Some(a.open_world);
                let mut schema = e.input_schema.clone();
                let confirmable = a.destructive || e.tool.bulk_argument.is_some();
                if confirmable
                    && self.app.config.enable_confirmation
                    && let Some(Value::Object(props)) = schema.get_mut("properties")
                {
                    props.insert(confirm::TOKEN_ARG.into(), confirm::token_property());
                }
                let mut tool = Tool::new(
                    e.tool.name.clone(),
                    e.tool.description.clone(),
                    Arc::new(schema),
                );
                tool.title = e.tool.title.clone();
                tool.output_schema = e.output_schema.clone().map(Arc::new);
                tool.annotations = Some(annotations);
                tool
            })
            .collect()
    }
}

/// Asks for confirmation through MCP elicitation when the client declared
/// it: a form with one boolean, `confirm`. A client error or a protocol that
/// forbids server-to-client requests falls back to the token flow.
fn elicitor(peer: &rmcp::Peer<RoleServer>) -> Option<confirm::Elicitor> {
    use confirm::Answer;
    if peer.supported_elicitation_modes().is_empty() {
        return None;
    }
    let peer = peer.clone();
    Some(std::sync::Arc::new(move |message: String| {
        let peer = peer.clone();
        Box::pin(async move {
            let schema = ElicitationSchema::builder()
                .required_bool("confirm")
                .build()
                .ok()?;
            let params = ElicitRequestParams::FormElicitationParams {
                meta: None,
                message,
                requested_schema: schema,
            };
            let reply = peer
                .create_elicitation_with_timeout(params, Some(std::time::Duration::from_secs(300)))
                .await;
            match reply {
                Ok(r) => match r.action {
                    ElicitationAction::Accept => {
                        let yes = r
                            .content
                            .as_ref()
                            .and_then(|c| c.get("confirm"))
                            .and_then(Value::as_bool)
                            .unwrap_or(false);
                        Some(if yes {
                            Answer::Accepted
                        } else {
                            Answer::Declined
                        })
                    }
                    _ => Some(Answer::Declined),
                },
                Err(e) => {
                    tracing::warn!(error = %e, "elicitation failed; falling back to a confirmation token");
                    None
                }
            }
        })
    }))
}

impl ServerHandler for Server {
    fn get_info(&self) -> ServerConfig {
        let capabilities = ServerCapabilities::builder()
            .enable_tools()
            .enable_tool_list_changed()
            .enable_resources()
            .enable_resources_list_changed()
            .build();
        let mut info = ServerConfig::new(capabilities);
        info.server_info = Implementation::new("m365-admin", env!("CARGO_PKG_VERSION"));
        info.instructions = Some(
            "Administers one Microsoft 365 tenant: users and mailboxes, and more as plugins add them. Read m365://health to see which tenant (sandbox or live) and which plugins are loaded. Errors carry a code (e.g. INPUT_001) and say what to do.".into(),
        );
        info
    }

    async fn list_tools(
        &self,
        _request: Option<PaginatedRequestParams>,
        _context: RequestContext<RoleServer>,
    ) -> Result<ListToolsResult, McpError> {
        Ok(ListToolsResult::with_all_items(self.tools()))
    }

    async fn call_tool(
        &self,
        request: CallToolRequestParams,
        context: RequestContext<RoleServer>,
    ) -> Result<CallToolResponse, McpError> {
        let args = request.arguments.map(Value::Object).unwrap_or(json!({}));
        let token = context.meta.get_progress_token();
        let (tx, mut rx) = mpsc::unbounded_channel::<Progress>();
        let forward = token.map(|token| {
            let peer = context.peer.clone();
            tokio::spawn(async move {
                while let Some(p) = rx.recv().await {
                    let mut param = ProgressNotificationParam::new(token.clone(), p.done as f64);
                    param.total = p.total.map(|t| t as f64);
                    param.message = Some(p.message);
                    if peer.notify_progress(param).await.is_err() {
                        break;
                    }
                }
            })
        });
        let progress = forward.is_some().then_some(tx);
        let elicit = elicitor(&context.peer);
        // On its own task, so that a bug that panics in the host still
        // answers the call instead of leaving the client waiting.
        let app = self.app.clone();
        let name = request.name.to_string();
        let task = tokio::spawn(async move {
            crate::pipeline::call_tool(&app, &name, args, progress, elicit).await
        });
        let abort = task.abort_handle();
        let joined = async {
            task.await.unwrap_or_else(|e| {
                tracing::error!(tool = %request.name, error = %e, "internal error while running a tool");
                Err(CodedError::new(
                    crate::errors::ErrorCode::Plugin001,
                    format!("m365-admin hit an internal error while running `{}`; the call may not have completed. Check the log, and report it with the log lines.", request.name),
                ))
            })
        };
        let outcome = tokio::select! {
            r = joined => Some(r),
            _ = context.ct.cancelled() => {
                abort.abort();
                None
            }
        };
        if let Some(f) = forward {
            // Let queued progress reach the client before the result does.
            let _ = f.await;
        }
        let result = match outcome {
            Some(Ok(v)) => self.kept.bounded(
                self.app.config.max_result_chars,
                &request.name,
                success_result(v),
            ),
            Some(Err(e)) => error_result(&e),
            None => error_result(&CodedError::new(
                crate::errors::ErrorCode::Plugin001,
                "The call was cancelled by the client; the plugin was stopped.",
            )),
        };
        let result = with_envelope(result, &super::envelope::envelope(&self.app).await);
        Ok(CallToolResponse::Complete(result))
    }

    async fn list_resources(
        &self,
        _request: Option<PaginatedRequestParams>,
        _context: RequestContext<RoleServer>,
    ) -> Result<ListResourcesResult, McpError> {
        let resources = super::resources::list(&self.app).await;
        Ok(ListResourcesResult::with_all_items(resources))
    }

    async fn list_resource_templates(
        &self,
        _request: Option<PaginatedRequestParams>,
        _context: RequestContext<RoleServer>,
    ) -> Result<ListResourceTemplatesResult, McpError> {
        let templates = self
            .app
            .registry()
            .plugins
            .values()
            .flat_map(|p| p.info.resource_templates.iter())
            .map(|t| {
                ResourceTemplate::new(t.uri_template.clone(), t.name.clone())
                    .with_description(t.description.clone())
                    .with_mime_type(t.mime_type.clone())
            })
            .collect();
        Ok(ListResourceTemplatesResult::with_all_items(templates))
    }

    async fn read_resource(
        &self,
        request: ReadResourceRequestParams,
        _context: RequestContext<RoleServer>,
    ) -> Result<ReadResourceResponse, McpError> {
        match super::resources::read(&self.app, &self.kept, &request.uri).await {
            Ok((mime, text)) => Ok(ReadResourceResponse::Complete(ReadResourceResult::new(
                vec![ResourceContents::text(text, request.uri.clone()).with_mime_type(mime)],
            ))),
            Err(e) => Err(McpError::invalid_params(e.to_string(), Some(e.to_json()))),
        }
    }
}
