//! Connector operations as Model Context Protocol tools, for AI agents:
//! one tool per operation, named `<connector>__<operation>`, described by
//! its title and description, taking its input schema, with read-only and
//! destructive hints. On `serve`, each stored workflow is a tool too,
//! `workflow.<name>`, taking the workflow's inputs and answering with the
//! record of the run it started (which the call waits for). A call's output comes back as structured content and
//! as text; a failed call is a tool result with `isError` whose text names
//! the error kind and message, so the agent can read and fix it. Served
//! over stdio (`connector-host mcp`) and Streamable HTTP (`/mcp` on
//! `serve`, behind its token); connectors loaded or unloaded meanwhile send
//! `notifications/tools/list_changed`.
//!
//! Guards against an agent reaching past the operator's choice: tools
//! outside the `--tools` patterns are neither listed nor callable, and
//! every call runs as any other invocation (sandbox, grants, limits, the
//! configured authentication).

use std::sync::Arc;

use rmcp::model::{
    CallToolRequestParams, CallToolResponse, CallToolResult, ContentBlock, Implementation, InitializeResult,
    ListToolsResult, PaginatedRequestParams, ServerCapabilities, SubscriptionFilter, Tool, ToolAnnotations,
};
use rmcp::service::{NotificationContext, RequestContext, SubscriptionContext};
use rmcp::{ErrorData, RoleServer, ServerHandler};
use serde_json::Value;

use crate::escape::truncate_chars;
use crate::runtime::{CallContext, Connector, Runtime, RuntimeEvent};

/// Tools listed per page of `tools/list`.
const PAGE: usize = 100;

/// How often a session's notification task looks whether its session is
/// still there.
const SESSION_CHECK: std::time::Duration = std::time::Duration::from_secs(30);

/// Which tools an MCP server offers, and as whom its calls sign.
#[derive(Debug, Clone, Default)]
pub struct McpOptions {
    /// Glob patterns (`*`, `?`) over tool names; none means every tool.
    pub tools: Vec<String>,
    /// The named authentication calls sign with.
    pub authentication: Option<String>,
}

/// The MCP server over a runtime. Cheap to clone: one per session.
#[derive(Clone)]
pub struct McpServer {
    runtime: Runtime,
    options: Arc<McpOptions>,
    /// On `serve`: the server, whose stored workflows are tools too.
    server: Option<super::AppState>,
}

/// The prefix of a stored workflow's tool name. A connector's tools have
/// `__` between two names without dots, so the two never meet.
const WORKFLOW_TOOL: &str = "workflow.";

impl McpServer {
    pub fn new(runtime: Runtime, options: McpOptions) -> Self {
        McpServer { runtime, options: Arc::new(options), server: None }
    }

    /// This server, with `state`'s stored workflows as tools.
    pub(super) fn with_workflows(mut self, state: super::AppState) -> Self {
        self.server = Some(state);
        self
    }

    /// A tool per stored workflow that is offered.
    async fn workflow_tools(&self) -> Vec<Tool> {
        let Some(state) = &self.server else { return Vec::new() };
        let stored = match state.library.list().await {
            Ok(stored) => stored,
            Err(e) => {
                tracing::warn!(error = %format!("{e:#}"), "could not list the stored workflows for MCP");
                return Vec::new();
            }
        };
        stored
            .into_iter()
            .filter_map(|stored| {
                let name = format!("{WORKFLOW_TOOL}{}", stored.name);
                if !self.offered(&name) {
                    return None;
                }
                let mut schema = match stored.workflow.get("inputs") {
                    Some(Value::Object(schema)) => schema.clone(),
                    _ => serde_json::Map::new(),
                };
                schema.entry("type").or_insert_with(|| Value::String("object".into()));
                let title = stored.workflow.get("name").and_then(Value::as_str).filter(|t| !t.is_empty());
                let title = title.unwrap_or(&stored.name).to_owned();
                let description = format!(
                    "Runs the stored workflow `{}` (version {}) with these inputs, and answers with the run's \
                     record: each step's input and output or error.",
                    stored.name, stored.version
                );
                let mut annotations = ToolAnnotations::with_title(title.clone());
                annotations.read_only_hint = Some(false);
                annotations.open_world_hint = Some(true);
                Some(Tool::new(name, description, Arc::new(schema)).with_title(title).with_annotations(annotations))
            })
            .collect()
    }

    /// Runs stored workflow `name` with `inputs` and answers with its
    /// record, as a tool result.
    async fn call_workflow(&self, state: &super::AppState, name: &str, inputs: Value) -> CallToolResult {
        let stored = match state.library.get(name, None).await {
            Ok(Some(stored)) => stored,
            Ok(None) => {
                return error_result("unknown-tool", &format!("no stored workflow `{}`", truncate_chars(name, 80)));
            }
            Err(e) => return error_result("invalid-workflow", &format!("{e:#}")),
        };
        match super::runs::start_run(state.clone(), stored.workflow, Some(inputs), true, Some(stored.version)).await {
            Ok(super::runs::Started::Ended(record)) => {
                let failed = record.status != crate::workflow::RunStatus::Succeeded;
                let mut result = CallToolResult::structured(serde_json::to_value(&record).unwrap_or_default());
                if failed {
                    result.is_error = Some(true);
                }
                result
            }
            Ok(super::runs::Started::Accepted(id)) => CallToolResult::structured(serde_json::json!({
                "id": id, "status": "running",
                "note": "the run goes on; GET /v1/runs/{id} reads its record"
            })),
            Err(error) => {
                let body = error.body();
                let kind = body.get("kind").and_then(Value::as_str).unwrap_or("host");
                let message = body.get("message").and_then(Value::as_str).unwrap_or("the run could not start");
                error_result(kind, message)
            }
        }
    }

    fn offered(&self, name: &str) -> bool {
        self.options.tools.is_empty() || self.options.tools.iter().any(|pattern| glob_matches(pattern, name))
    }

    /// Every offered tool, in a stable order.
    fn tools(&self) -> Vec<Tool> {
        let mut tools = Vec::new();
        for connector in self.runtime.list() {
            for op in &connector.manifest().operations {
                let name = tool_name(&connector, &op.name);
                if !self.offered(&name) {
                    continue;
                }
                let mut schema = match &op.input_schema {
                    Value::Object(schema) => schema.clone(),
                    _ => Default::default(),
                };
                // MCP wants an object schema at the root; a connector's
                // inputs are objects, whether or not its schema says so.
                schema.entry("type").or_insert_with(|| Value::String("object".into()));
                let hints = op.hints();
                let description = if op.description.is_empty() {
                    op.title.clone()
                } else {
                    format!("{}. {}", op.title.trim_end_matches('.'), op.description)
                };
                let mut annotations = ToolAnnotations::with_title(op.title.clone());
                annotations.read_only_hint = Some(hints.read_only);
                annotations.destructive_hint = Some(hints.destructive && !hints.read_only);
                annotations.open_world_hint = Some(true);
                tools.push(
                    Tool::new(name, description, Arc::new(schema))
                        .with_title(op.title.clone())
                        .with_annotations(annotations),
                );
            }
        }
        tools
    }

    /// The connector and operation a tool name means, if it is offered.
    fn resolve(&self, tool: &str) -> Option<(Connector, String)> {
        if !self.offered(tool) {
            return None;
        }
        // Connector names may hold `_`: try each `__` split.
        tool.match_indices("__").find_map(|(at, _)| {
            let (connector, operation) = (&tool[..at], &tool[at + 2..]);
            let found = self.runtime.get(connector)?;
            found.manifest().operation(operation)?;
            Some((found, operation.to_owned()))
        })
    }
}

fn tool_name(connector: &Connector, operation: &str) -> String {
    format!("{}__{operation}", connector.name())
}

/// Whether `name` matches `pattern`, where `*` is any run of characters and
/// `?` any one.
pub fn glob_matches(pattern: &str, name: &str) -> bool {
    let (pattern, name): (Vec<char>, Vec<char>) = (pattern.chars().collect(), name.chars().collect());
    // The classic two-pointer walk with one backtrack point: linear-ish,
    // never exponential, whatever the pattern.
    let (mut p, mut n, mut star, mut mark) = (0, 0, None, 0);
    while n < name.len() {
        if p < pattern.len() && (pattern[p] == '?' || pattern[p] == name[n]) {
            p += 1;
            n += 1;
        } else if p < pattern.len() && pattern[p] == '*' {
            star = Some(p);
            mark = n;
            p += 1;
        } else if let Some(s) = star {
            p = s + 1;
            mark += 1;
            n = mark;
        } else {
            return false;
        }
    }
    pattern[p..].iter().all(|c| *c == '*')
}

impl ServerHandler for McpServer {
    fn get_info(&self) -> InitializeResult {
        let capabilities = ServerCapabilities::builder().enable_tools().enable_tool_list_changed().build();
        InitializeResult::new(capabilities)
            .with_server_info(Implementation::new("connector-host", env!("CARGO_PKG_VERSION")))
            .with_instructions(
                "Each tool runs one operation of a sandboxed connector; the host signs its AWS requests. \
                 A failed call returns isError with the error kind and message.",
            )
    }

    async fn list_tools(
        &self,
        request: Option<PaginatedRequestParams>,
        _context: RequestContext<RoleServer>,
    ) -> Result<ListToolsResult, ErrorData> {
        let mut tools = self.tools();
        tools.extend(self.workflow_tools().await);
        let start = match request.and_then(|r| r.cursor) {
            None => 0,
            Some(cursor) => cursor
                .parse::<usize>()
                .ok()
                .filter(|&at| at <= tools.len())
                .ok_or_else(|| ErrorData::invalid_params("the cursor is not one this server gave", None))?,
        };
        let end = (start + PAGE).min(tools.len());
        let mut page = ListToolsResult::with_all_items(tools[start..end].to_vec());
        if end < tools.len() {
            page.next_cursor = Some(end.to_string());
        }
        Ok(page)
    }

    async fn call_tool(
        &self,
        request: CallToolRequestParams,
        _context: RequestContext<RoleServer>,
    ) -> Result<CallToolResponse, ErrorData> {
        if let (Some(workflow), Some(state)) = (request.name.strip_prefix(WORKFLOW_TOOL), &self.server)
            && self.offered(&request.name)
        {
            let inputs = Value::Object(request.arguments.unwrap_or_default());
            return Ok(self.call_workflow(state, workflow, inputs).await.into());
        }
        let Some((connector, operation)) = self.resolve(&request.name) else {
            let name = truncate_chars(&request.name, 80);
            return Ok(error_result("unknown-tool", &format!("no tool called `{name}` is offered")).into());
        };
        let input = Value::Object(request.arguments.unwrap_or_default());
        let context = CallContext { authentication: self.options.authentication.clone(), ..CallContext::default() };
        let result = match self.runtime.host().invoke_in(&connector, &operation, &input, &context).await {
            Ok(output) => CallToolResult::structured(output),
            Err(error) => {
                let mut result = error_result(error.kind(), &error.to_string());
                result.structured_content = Some(serde_json::json!({ "error": error.to_json() }));
                result
            }
        };
        Ok(result.into())
    }

    async fn on_initialized(&self, context: NotificationContext<RoleServer>) {
        // Sessions of the handshake protocols get list changes pushed on
        // their peer, for as long as it is there: the task ends with the
        // session (checked now and then, as no event may come for days),
        // and missed events (a lagging receiver) still count as a change.
        let peer = context.peer.clone();
        let mut events = self.runtime.subscribe();
        tokio::spawn(async move {
            let mut check = tokio::time::interval(SESSION_CHECK);
            loop {
                let changed = tokio::select! {
                    event = events.recv() => match event {
                        Ok(event) => changes_tools(&event),
                        Err(tokio::sync::broadcast::error::RecvError::Lagged(_)) => true,
                        Err(tokio::sync::broadcast::error::RecvError::Closed) => return,
                    },
                    _ = check.tick() => false,
                };
                if peer.is_transport_closed() || (changed && peer.notify_tool_list_changed().await.is_err()) {
                    return;
                }
            }
        });
    }

    fn accepted_subscription_filter(&self, requested: &SubscriptionFilter) -> Option<SubscriptionFilter> {
        let mut accepted = SubscriptionFilter::new();
        accepted.tools_list_changed = requested.tools_list_changed;
        Some(accepted)
    }

    async fn listen(&self, context: SubscriptionContext) -> Result<(), ErrorData> {
        let mut events = self.runtime.subscribe();
        loop {
            tokio::select! {
                _ = context.cancelled() => return Ok(()),
                event = events.recv() => match event {
                    Ok(event) if !changes_tools(&event) => {}
                    Ok(_) | Err(tokio::sync::broadcast::error::RecvError::Lagged(_)) => {
                        if context.sink().notify_tool_list_changed().await.is_err() {
                            return Ok(());
                        }
                    }
                    Err(tokio::sync::broadcast::error::RecvError::Closed) => return Ok(()),
                },
            }
        }
    }
}

fn changes_tools(event: &RuntimeEvent) -> bool {
    matches!(event, RuntimeEvent::Loaded { .. } | RuntimeEvent::Unloaded { .. })
}

/// A tool result the agent reads as a failure: `kind: message`.
fn error_result(kind: &str, message: &str) -> CallToolResult {
    CallToolResult::error(vec![ContentBlock::text(format!("{kind}: {message}"))])
}

/// Serves `server` over stdin and stdout until the client goes away.
pub async fn serve_stdio(server: McpServer) -> anyhow::Result<()> {
    use rmcp::ServiceExt;
    let running = server.serve(rmcp::transport::stdio()).await.map_err(|e| anyhow::anyhow!("MCP over stdio: {e}"))?;
    running.waiting().await.map_err(|e| anyhow::anyhow!("MCP over stdio: {e}"))?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn globs_match_names() {
        assert!(glob_matches("aws-cognito__list_*", "aws-cognito__list_users"));
        assert!(!glob_matches("aws-cognito__list_*", "aws-cognito__admin_list_groups_for_user"));
        assert!(glob_matches("*__get_?ser", "aws-cognito__get_user"));
        assert!(glob_matches("*", ""));
        assert!(!glob_matches("a*b", "acd"));
        let long = "a".repeat(10_000);
        assert!(!glob_matches(&format!("{}b", "*a".repeat(50)), &long), "no blow-up");
    }
}
