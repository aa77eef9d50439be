//! Starts the real `m365-admin serve --sandbox` in a temporary data directory
//! and speaks MCP to it over stdio with the rmcp client; reaches the sandbox
//! tenant's control API (request log, faults, seats) through the endpoint file
//! the sandbox writes into the data directory.

use m365_sandbox::client::SandboxClient;
use rmcp::model::{
    CallToolRequest, CallToolRequestParams, CallToolResult, ClientConfig, ClientRequest,
    ElicitRequestParams, ElicitResult, ElicitationAction, ElicitationCapability,
    ProgressNotificationParam, ReadResourceRequestParams, ServerResult,
};
use rmcp::service::{NotificationContext, PeerRequestOptions, RequestContext, RunningService};
use rmcp::transport::TokioChildProcess;
use rmcp::{ClientHandler, ErrorData, RoleClient, ServiceExt};
use serde_json::{Value, json};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

#[path = "../common/command.rs"]
mod command;
pub use command::{Cli, SENTINEL_SECRET};

pub const BIN: &str = env!("CARGO_BIN_EXE_m365-admin");
/// A distinctive password that must never appear in any output.
pub const SENTINEL_PASSWORD: &str = "Sentinel#Passw0rd!4711";

#[derive(Default)]
pub struct Options {
    pub env: Vec<(String, String)>,
    pub probe: bool,
    pub snoop: bool,
    /// Rewrites the probe's manifest before the server starts.
    pub probe_manifest: Option<fn(&str) -> String>,
    /// The client offers elicitation and answers every question so.
    pub elicit: Option<bool>,
}

impl Options {
    pub fn env(mut self, k: &str, v: &str) -> Self {
        self.env.push((k.into(), v.into()));
        self
    }

    pub fn with_probe(mut self) -> Self {
        self.probe = true;
        self
    }

    pub fn with_snoop(mut self) -> Self {
        self.snoop = true;
        self
    }

    pub fn probe_manifest(mut self, edit: fn(&str) -> String) -> Self {
        self.probe = true;
        self.probe_manifest = Some(edit);
        self
    }

    /// A client that supports elicitation and accepts (`true`) or declines.
    pub fn elicit(mut self, accept: bool) -> Self {
        self.elicit = Some(accept);
        self
    }
}

/// The MCP client: like Claude Code, it may offer elicitation; it records
/// the questions it was asked.
#[derive(Clone, Default)]
pub struct TestClient {
    answer: Option<bool>,
    pub asked: Arc<Mutex<Vec<String>>>,
    /// Every progress notification received, in arrival order.
    pub progress: Arc<Mutex<Vec<ProgressNotificationParam>>>,
    /// How many `notifications/tools/list_changed` arrived.
    pub tools_changed: Arc<std::sync::atomic::AtomicUsize>,
}

impl ClientHandler for TestClient {
    fn get_info(&self) -> ClientConfig {
        let mut info = ClientConfig::default();
        if self.answer.is_some() {
            info.capabilities.elicitation = Some(ElicitationCapability::new());
        }
        info
    }

    async fn create_elicitation(
        &self,
        request: ElicitRequestParams,
        _context: RequestContext<RoleClient>,
    ) -> Result<ElicitResult, ErrorData> {
        if let ElicitRequestParams::FormElicitationParams { message, .. } = &request {
            self.asked.lock().unwrap().push(message.clone());
        }
        Ok(match self.answer {
            Some(true) => {
                let mut r = ElicitResult::new(ElicitationAction::Accept);
                r.content = Some(json!({"confirm": true}));
                r
            }
            _ => ElicitResult::new(ElicitationAction::Decline),
        })
    }

    async fn on_progress(
        &self,
        params: ProgressNotificationParam,
        _context: NotificationContext<RoleClient>,
    ) {
        self.progress.lock().unwrap().push(params);
    }

    async fn on_tool_list_changed(&self, _context: NotificationContext<RoleClient>) {
        self.tools_changed
            .fetch_add(1, std::sync::atomic::Ordering::SeqCst);
    }
}

/// Stops the server with SIGTERM when a test drops it, and waits for it to
/// exit: dropping the MCP client alone would SIGKILL it, which skips the
/// shutdown path (audit head, coverage profile) and can outlive the data
/// directory. First field, so it runs before the directory is deleted.
struct StopOnDrop(Option<u32>);

impl Drop for StopOnDrop {
    fn drop(&mut self) {
        let Some(pid) = self.0 else { return };
        let _ = std::process::Command::new("kill")
            .args(["-TERM", &pid.to_string()])
            .stderr(std::process::Stdio::null())
            .status();
        let stat = format!("/proc/{pid}/stat");
        for _ in 0..250 {
            match std::fs::read_to_string(&stat) {
                // The state follows the command name in parentheses.
                Ok(s)
                    if s.rsplit(')')
                        .next()
                        .is_some_and(|r| r.trim_start().starts_with('Z')) =>
                {
                    return;
                }
                Ok(_) => std::thread::sleep(std::time::Duration::from_millis(20)),
                Err(_) => return,
            }
        }
    }
}

pub struct Server {
    stop_on_drop: StopOnDrop,
    pub client: RunningService<RoleClient, TestClient>,
    pub dir: tempfile::TempDir,
    pub asked: Arc<Mutex<Vec<String>>>,
    pid: Option<u32>,
}

fn install_test_plugin(
    dir: &Path,
    name: &str,
    wasm: &str,
    manifest: &str,
    edit: Option<fn(&str) -> String>,
) {
    let target = dir.join("plugins").join(name);
    std::fs::create_dir_all(&target).unwrap();
    std::fs::copy(wasm, target.join(format!("{name}.wasm"))).unwrap();
    let text = std::fs::read_to_string(manifest).unwrap();
    let text = edit.map(|f| f(&text)).unwrap_or(text);
    std::fs::write(target.join("manifest.toml"), text).unwrap();
}

pub fn base_command(dir: &Path) -> tokio::process::Command {
    command::base_command(Path::new(BIN), dir)
}

impl Server {
    pub async fn start(opts: Options) -> Server {
        Server::start_in(tempfile::tempdir().unwrap(), opts).await
    }

    /// Starts a server on an existing data directory (a restart).
    pub async fn start_in(dir: tempfile::TempDir, opts: Options) -> Server {
        warm_cache().await;
        if opts.probe {
            install_test_plugin(
                dir.path(),
                "probe",
                env!("M365_TEST_PLUGIN_PROBE_WASM"),
                env!("M365_TEST_PLUGIN_PROBE_MANIFEST"),
                opts.probe_manifest,
            );
        }
        if opts.snoop {
            install_test_plugin(
                dir.path(),
                "snoop",
                env!("M365_TEST_PLUGIN_SNOOP_WASM"),
                env!("M365_TEST_PLUGIN_SNOOP_MANIFEST"),
                None,
            );
        }
        for (wanted, name) in [(opts.probe, "probe"), (opts.snoop, "snoop")] {
            if wanted {
                approve(dir.path(), &dir.path().join("plugins").join(name)).await;
            }
        }
        let mut cmd = base_command(dir.path());
        cmd.args(["serve", "--sandbox"]);
        for (k, v) in &opts.env {
            cmd.env(k, v);
        }
        let stderr = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(dir.path().join("stderr.log"))
            .unwrap();
        let (transport, _) = TokioChildProcess::builder(cmd)
            .stderr(stderr)
            .spawn()
            .unwrap();
        let pid = transport.id();
        let handler = TestClient {
            answer: opts.elicit,
            asked: Arc::default(),
            ..TestClient::default()
        };
        let asked = handler.asked.clone();
        let client = handler.serve(transport).await.expect("MCP initialize");
        Server {
            stop_on_drop: StopOnDrop(pid),
            client,
            dir,
            asked,
            pid,
        }
    }

    /// The data directory of a server already killed.
    pub fn into_dir(self) -> tempfile::TempDir {
        drop(self.client);
        self.dir
    }

    /// Kills the server with SIGKILL, as a crash would, while it is in use;
    /// calls in flight then fail.
    pub fn kill9_now(&self) {
        let pid = self.pid.expect("server pid");
        let status = std::process::Command::new("kill")
            .args(["-9", &pid.to_string()])
            .status()
            .unwrap();
        assert!(status.success());
    }

    /// Stops the server cleanly and returns its data directory.
    pub async fn stop(mut self) -> tempfile::TempDir {
        self.stop_on_drop.0 = None;
        let _ = self.client.cancel().await;
        tokio::time::sleep(std::time::Duration::from_millis(300)).await;
        self.dir
    }

    /// Calls a tool; the result as the client sees it.
    pub async fn call(&self, tool: &str, args: Value) -> CallToolResult {
        let Value::Object(map) = args else {
            panic!("arguments must be an object")
        };
        let result = self
            .client
            .call_tool(CallToolRequestParams::new(tool.to_string()).with_arguments(map))
            .await
            .unwrap_or_else(|e| panic!("{tool}: protocol error {e}"));
        let text = text_of(&result);
        self.record(&text);
        assert_envelope(tool, &result);
        result
    }

    /// Calls a tool asking for progress; the result and the progress
    /// notifications of this call, in the order they arrived.
    pub async fn call_with_progress(
        &self,
        tool: &str,
        args: Value,
    ) -> (CallToolResult, Vec<ProgressNotificationParam>) {
        let Value::Object(map) = args else {
            panic!("arguments must be an object")
        };
        let params = CallToolRequestParams::new(tool.to_string()).with_arguments(map);
        // The client gives every request a progress token of its own.
        let handle = self
            .client
            .send_cancellable_request(
                ClientRequest::CallToolRequest(CallToolRequest::new(params)),
                PeerRequestOptions::no_options(),
            )
            .await
            .unwrap_or_else(|e| panic!("{tool}: protocol error {e}"));
        let token = handle.progress_token.clone();
        let result = match handle.await_response().await {
            Ok(ServerResult::CallToolResult(r)) => r,
            other => panic!("{tool}: unexpected response {other:?}"),
        };
        self.record(&text_of(&result));
        // Notifications sent before the result may still be in the client's queue.
        let seen = self.client.service().progress.clone();
        let mine = || -> Vec<ProgressNotificationParam> {
            seen.lock()
                .unwrap()
                .iter()
                .filter(|p| p.progress_token == token)
                .cloned()
                .collect()
        };
        let mut last = usize::MAX;
        for _ in 0..20 {
            let n = mine().len();
            if n == last {
                break;
            }
            last = n;
            tokio::time::sleep(std::time::Duration::from_millis(50)).await;
        }
        (result, mine())
    }

    /// Calls a tool that must succeed; its structured result.
    pub async fn ok(&self, tool: &str, args: Value) -> Value {
        let r = self.call(tool, args).await;
        assert_ne!(r.is_error, Some(true), "{tool} failed: {}", text_of(&r));
        r.structured_content.clone().expect("structured result")
    }

    /// Calls a tool that must fail; its error object (code, message, details).
    pub async fn err(&self, tool: &str, args: Value) -> Value {
        let r = self.call(tool, args).await;
        assert_eq!(
            r.is_error,
            Some(true),
            "{tool} unexpectedly succeeded: {}",
            text_of(&r)
        );
        r.structured_content.clone().expect("structured error")["error"].clone()
    }

    pub async fn read(&self, uri: &str) -> Value {
        let r = self
            .client
            .read_resource(ReadResourceRequestParams::new(uri.to_string()))
            .await
            .unwrap_or_else(|e| panic!("read {uri}: {e}"));
        let text = match &r.contents[0] {
            rmcp::model::ResourceContents::TextResourceContents { text, .. } => text.clone(),
            other => panic!("unexpected contents {other:?}"),
        };
        self.record(&text);
        serde_json::from_str(&text).unwrap()
    }

    /// Everything the client was shown is kept, to check for leaked secrets.
    fn record(&self, text: &str) {
        use std::io::Write;
        let mut f = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(self.dir.path().join("results.log"))
            .unwrap();
        writeln!(f, "{text}").unwrap();
    }

    pub fn sandbox(&self) -> Sandbox {
        Sandbox::open(self.dir.path())
    }

    /// Stops the server and returns (stderr, log file, results shown).
    pub async fn finish(self) -> (String, String, String) {
        let dir = self.stop().await;
        outputs(dir.path())
    }
}

/// (stderr, log file, results shown) of the servers run in `dir`.
pub fn outputs(dir: &Path) -> (String, String, String) {
    let read = |n: &str| std::fs::read_to_string(dir.join(n)).unwrap_or_default();
    (read("stderr.log"), read("server.log"), read("results.log"))
}

/// Compiles the bundled plugins into the shared cache once, before the
/// tests' servers start in parallel: on a fresh clone every test would
/// otherwise compile every component at the same time on a small machine.
pub async fn warm_cache() {
    static WARM: tokio::sync::OnceCell<()> = tokio::sync::OnceCell::const_new();
    WARM.get_or_init(|| async {
        let dir = tempfile::tempdir().unwrap();
        let out = cli(dir.path(), &["tools"], &[]).await;
        assert_eq!(
            out.code,
            Some(0),
            "warming the plugin cache: {}",
            out.stderr
        );
    })
    .await;
}

/// Approves the plugin in `plugin` (`plugins add --yes`), as an
/// administrator would before the server loads it.
pub async fn approve(dir: &Path, plugin: &Path) {
    let out = cli(
        dir,
        &[
            "plugins",
            "add",
            plugin.to_str().unwrap(),
            "--yes",
            "--sandbox",
        ],
        &[],
    )
    .await;
    assert_eq!(
        out.code,
        Some(0),
        "plugins add {}: {}",
        plugin.display(),
        out.stderr
    );
}

/// Runs `m365-admin ARGS` (not serve) on the data directory `dir`.
pub async fn cli(dir: &Path, args: &[&str], env: &[(&str, &str)]) -> Cli {
    command::run(Path::new(BIN), dir, args, env).await
}

/// The sandbox database's key as generated on first start.
pub fn sandbox_db_key(dir: &Path) -> String {
    std::fs::read_to_string(dir.join("data/sandbox/db.key"))
        .unwrap()
        .trim()
        .to_string()
}

pub fn db_path(dir: &Path) -> PathBuf {
    dir.join("data/m365_admin.db")
}

/// Every tool result says where it ran: the sandbox tenant, its domain, the
/// app, read-only or not; in `_meta` and in the structured result.
pub fn assert_envelope(tool: &str, r: &CallToolResult) {
    let key = "m365-admin/envelope";
    let meta = r
        .meta
        .as_ref()
        .and_then(|m| m.0.get(key))
        .unwrap_or_else(|| panic!("{tool}: no envelope in _meta"));
    assert_eq!(meta["mode"], "sandbox", "{tool}: {meta}");
    assert_eq!(meta["domain"], "libertygoldsilver.com", "{tool}: {meta}");
    assert!(
        meta["tenantId"].as_str().is_some_and(|t| !t.is_empty()),
        "{tool}: {meta}"
    );
    assert!(
        meta["clientId"].is_string() && meta["readOnly"].is_boolean(),
        "{tool}: {meta}"
    );
    if let Some(Value::Object(o)) = &r.structured_content
        && !o.contains_key("truncated")
    {
        assert_eq!(
            o.get(key),
            Some(meta),
            "{tool}: envelope in structuredContent"
        );
    }
}

pub fn text_of(r: &CallToolResult) -> String {
    r.content
        .iter()
        .filter_map(|c| c.as_text().map(|t| t.text.clone()))
        .collect::<Vec<_>>()
        .join("\n")
}

/// The sandbox tenant's control API, through the sandbox crate's client (which trusts the
/// sandbox's CA, as `endpoint.json` in its folder gives it).
pub struct Sandbox {
    client: SandboxClient,
}

impl Sandbox {
    pub fn open(dir: &Path) -> Sandbox {
        let client = SandboxClient::from_endpoint_file(&dir.join("data/sandbox"))
            .unwrap_or_else(|e| panic!("{e}"));
        Sandbox { client }
    }

    pub async fn get(&self, path: &str) -> Value {
        self.client
            .http()
            .get(self.client.url(path))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap()
    }

    pub async fn send(&self, method: reqwest::Method, path: &str, body: Option<Value>) {
        let mut req = self.client.http().request(method, self.client.url(path));
        if let Some(b) = body {
            req = req.json(&b);
        }
        let resp = req.send().await.unwrap();
        assert!(resp.status().is_success(), "{path}: {}", resp.status());
    }

    /// Graph requests (under /v1.0) the sandbox has seen since the last clear.
    pub async fn graph_requests(&self) -> Vec<Value> {
        self.client.graph_requests().await.unwrap()
    }

    pub async fn clear_requests(&self) {
        self.client.clear_requests().await.unwrap();
    }

    pub async fn fault(&self, fault: Value) {
        self.client.add_fault(&fault).await.unwrap();
    }

    pub async fn set_seats(&self, part: &str, enabled: u32) {
        self.client.set_seats(part, enabled).await.unwrap();
    }

    /// Gives the app's service principal exactly these Entra roles.
    pub async fn set_app_roles(&self, roles: &[&str]) {
        self.client.set_app_roles(roles).await.unwrap();
    }

    pub async fn state(&self) -> Value {
        self.client.state().await.unwrap()
    }

    /// Messages the tenant accepted through sendMail, oldest first.
    pub async fn outbox(&self) -> Vec<Value> {
        self.client.outbox().await.unwrap()
    }
}
