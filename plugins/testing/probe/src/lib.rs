//! A test plugin for the host's gate and sandbox tests: raw HTTP, runaway
//! loops, memory and stack exhaustion, a panic, an echo, a progress flood,
//! raw access to its store, a bulk tool and a destructive one.
//! Never ship it.

use m365_plugin_sdk::http::{self, Request};
use m365_plugin_sdk::store::raw as store;
use m365_plugin_sdk::{Annotations, Plugin, Tool, ToolError};
use schemars::JsonSchema;
use serde::Deserialize;
use serde_json::{Value, json};
use std::collections::BTreeMap;
use std::hint::black_box;

pub struct Probe;

/// Largest response body the `http` tool reads.
const MAX_BODY: usize = 8 << 20;

#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct HttpArgs {
    /// Any method token, sent as given.
    #[schemars(length(min = 1, max = 32))]
    pub method: String,
    /// Absolute URL `scheme://authority/path?query`, sent without normalisation.
    #[schemars(length(min = 1, max = 8192))]
    pub url: String,
    /// Request headers, sent as given (Authorization and Host included).
    pub headers: Option<BTreeMap<String, String>>,
    /// Request body.
    pub body: Option<String>,
    /// Send the body this many times over (for oversized bodies without an
    /// oversized argument).
    #[serde(rename = "bodyRepeat")]
    pub body_repeat: Option<u32>,
}

#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Empty {}

#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct EchoArgs {
    /// Any JSON value.
    pub value: Value,
}

#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct FloodArgs {
    /// Number of progress notifications to send.
    pub n: u32,
}

/// Splits `scheme://authority/path?query` without touching the path.
pub fn split_url(url: &str) -> Option<(String, String, String)> {
    let (scheme, rest) = url.split_once("://")?;
    let (authority, path) = match rest.find(['/', '?']) {
        Some(i) => (&rest[..i], &rest[i..]),
        None => (rest, "/"),
    };
    let path = if path.starts_with('?') {
        format!("/{path}")
    } else {
        path.to_string()
    };
    (!scheme.is_empty() && !authority.is_empty())
        .then(|| (scheme.to_string(), authority.to_string(), path))
}

fn http_tool(args: HttpArgs) -> Result<Value, ToolError> {
    let (scheme, authority, path_with_query) = split_url(&args.url).ok_or_else(|| {
        ToolError::input(
            Some("url"),
            "url must be absolute: scheme://authority/path; fix it and call again.",
        )
    })?;
    let req = Request {
        method: args.method,
        scheme,
        authority,
        path_with_query,
        headers: args.headers.unwrap_or_default().into_iter().collect(),
        body: args.body.map(|b| {
            b.repeat(args.body_repeat.unwrap_or(1) as usize)
                .into_bytes()
        }),
    };
    match http::send(&req, MAX_BODY) {
        Ok(resp) => Ok(http::response_json(&resp)),
        // PLUGIN_001 for HttpRequestDenied and refused headers, GRAPH_001 otherwise.
        Err(e) => Err(e.to_tool_error(&req.authority)),
    }
}

fn spin(_: Empty) -> Result<Value, ToolError> {
    let mut i: u64 = 0;
    loop {
        i = black_box(i.wrapping_add(1));
    }
}

fn hog(_: Empty) -> Result<Value, ToolError> {
    let mut chunks: Vec<Vec<u8>> = Vec::new();
    loop {
        let mut chunk = vec![0u8; 1 << 20];
        // Touch every page so the memory is really committed.
        for b in chunk.iter_mut().step_by(4096) {
            *b = 1;
        }
        chunks.push(black_box(chunk));
        black_box(&chunks);
    }
}

fn crash(_: Empty) -> Result<Value, ToolError> {
    panic!("probe: crash requested");
}

fn echo(args: EchoArgs) -> Result<Value, ToolError> {
    Ok(json!({ "value": args.value }))
}

#[inline(never)]
fn recurse(depth: u64) -> u64 {
    let frame = black_box([depth; 64]);
    // Never true; keeps the compiler from proving the recursion endless.
    if black_box(depth) == u64::MAX {
        return frame[0];
    }
    black_box(recurse(black_box(depth + 1))).wrapping_add(frame[(depth % 64) as usize])
}

fn stack(_: Empty) -> Result<Value, ToolError> {
    Ok(json!({ "depth": recurse(0) }))
}

#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct StoreArgs {
    /// Document key (or log name for store_append / store_read_log).
    pub key: String,
    /// Value to write (store_put) or entry to append (store_append).
    pub value: Option<String>,
    /// Expected version for store_put / store_delete (0: must not exist).
    pub expected: Option<u64>,
    /// store_list: keys after this one; store_read_log: entries after this seq.
    pub after: Option<String>,
    pub limit: Option<u32>,
}

#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct BulkArgs {
    /// Items to echo; a long list makes the call bulk.
    pub items: Vec<String>,
}

fn doc_json(d: store::Document) -> Value {
    json!({"key": d.key, "value": d.value, "version": d.version, "updatedAt": d.updated_at, "deleted": d.deleted})
}

fn store_tool(op: &str, a: StoreArgs) -> Result<Value, ToolError> {
    let limit = a.limit.unwrap_or(100);
    let value = a.value.unwrap_or_default();
    Ok(match op {
        "get" => json!({"document": store::get(&a.key)?.map(doc_json)}),
        "put" => json!({"version": store::put(&a.key, &value, a.expected)?}),
        "delete" => json!({"deleted": store::delete(&a.key, a.expected)?}),
        "list" => {
            json!({"documents": store::list(&a.key, a.after.as_deref(), limit)?.into_iter().map(doc_json).collect::<Vec<_>>()})
        }
        "history" => {
            json!({"documents": store::history(&a.key, limit)?.into_iter().map(doc_json).collect::<Vec<_>>()})
        }
        "append" => json!({"seq": store::append(&a.key, &value)?}),
        _ => {
            let after = a.after.and_then(|s| s.parse().ok());
            let entries = store::read_log(&a.key, after, limit)?;
            json!({"entries": entries.into_iter().map(|e| json!({"seq": e.seq, "entry": e.entry, "at": e.at})).collect::<Vec<_>>()})
        }
    })
}

#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ExoArgs {
    /// Cmdlet name, e.g. Get-Mailbox.
    pub cmdlet: String,
    /// Its parameters.
    pub parameters: Option<Value>,
}

fn exo(args: ExoArgs) -> Result<Value, ToolError> {
    let out =
        m365_plugin_sdk::exchange::invoke(&args.cmdlet, args.parameters.unwrap_or(Value::Null))?;
    Ok(json!({ "value": out }))
}

fn bulk_echo(args: BulkArgs) -> Result<Value, ToolError> {
    Ok(json!({ "count": args.items.len() }))
}

fn wipe(args: EchoArgs) -> Result<Value, ToolError> {
    Ok(json!({ "wiped": args.value }))
}

fn plan_wipe(args: EchoArgs) -> Result<String, ToolError> {
    Ok(format!(
        "Wipe {} (nothing is really wiped: test fixture).",
        args.value
    ))
}

fn log_flood(args: FloodArgs) -> Result<Value, ToolError> {
    for i in 0..args.n {
        m365_plugin_sdk::host::log(
            m365_plugin_sdk::host::LogLevel::Warn,
            &format!("probe flood line {i}"),
        );
    }
    Ok(json!({ "sent": args.n }))
}

fn progress_flood(args: FloodArgs) -> Result<Value, ToolError> {
    for i in 0..args.n {
        m365_plugin_sdk::host::progress(u64::from(i) + 1, u64::from(args.n), "flood");
    }
    Ok(json!({ "sent": args.n }))
}

impl Plugin for Probe {
    const NAME: &'static str = "probe";
    const VERSION: &'static str = env!("CARGO_PKG_VERSION");

    fn tools() -> Vec<Tool> {
        let ro = Annotations::default().read_only();
        vec![
            Tool::new(
                "http",
                "Send one raw HTTP request through wasi:http.",
                http_tool,
            )
            .annotations(ro.open_world()),
            Tool::new("spin", "Loop forever.", spin).annotations(ro),
            Tool::new("hog", "Allocate memory without bound.", hog).annotations(ro),
            Tool::new("crash", "Panic (traps).", crash).annotations(ro),
            Tool::new("echo", "Return the value given.", echo).annotations(ro.idempotent()),
            Tool::new("stack", "Recurse without bound.", stack).annotations(ro),
            Tool::new(
                "progress_flood",
                "Send n progress notifications.",
                progress_flood,
            )
            .annotations(ro.idempotent()),
            Tool::new("log_flood", "Write n log lines.", log_flood).annotations(ro.idempotent()),
            Tool::new("store_get", "Read a document of this plugin.", |a| {
                store_tool("get", a)
            })
            .annotations(ro),
            Tool::new("store_put", "Write a document.", |a| store_tool("put", a)),
            Tool::new("store_delete", "Delete a document.", |a| {
                store_tool("delete", a)
            }),
            Tool::new("store_list", "List documents by key prefix.", |a| {
                store_tool("list", a)
            })
            .annotations(ro),
            Tool::new("store_history", "Earlier versions of a key.", |a| {
                store_tool("history", a)
            })
            .annotations(ro),
            Tool::new("store_append", "Append to a log.", |a| {
                store_tool("append", a)
            }),
            Tool::new("store_read_log", "Read a log.", |a| {
                store_tool("read_log", a)
            })
            .annotations(ro),
            Tool::new("bulk_echo", "Count the items given.", bulk_echo).bulk("items"),
            Tool::new("exo", "Run an Exchange Online cmdlet.", exo),
            Tool::new("wipe", "A destructive tool that changes nothing.", wipe)
                .annotations(Annotations::default().destructive())
                .plan(plan_wipe),
        ]
    }
}

m365_plugin_sdk::export_plugin!(Probe);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls_split_without_normalising() {
        assert_eq!(
            split_url("https://graph.microsoft.com/v1.0/users/../groups").unwrap(),
            (
                "https".into(),
                "graph.microsoft.com".into(),
                "/v1.0/users/../groups".into()
            )
        );
        assert_eq!(
            split_url("http://127.0.0.1:8080?x=1").unwrap(),
            ("http".into(), "127.0.0.1:8080".into(), "/?x=1".into())
        );
        assert_eq!(split_url("https://evil.example").unwrap().2, "/");
        assert_eq!(
            split_url("https://h/v1.0/%2e%2e/%252e").unwrap().2,
            "/v1.0/%2e%2e/%252e"
        );
        assert!(split_url("/relative").is_none());
        assert!(split_url("https:///x").is_none());
    }
}
