//! Bad input over MCP, sent as raw bytes on stdio the way a broken or
//! hostile client could: malformed JSON-RPC, unknown methods, invalid UTF-8,
//! deep nesting, a 10 MB argument, wrong types, and SQL and HTML in every
//! string. Each gets a clear answer or is dropped; the server keeps serving
//! and the database is left as it was.

use crate::harness::*;
use serde_json::{Value, json};
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};

struct Raw {
    child: tokio::process::Child,
    stdin: tokio::process::ChildStdin,
    stdout: tokio::io::Lines<BufReader<tokio::process::ChildStdout>>,
    next_id: u64,
}

impl Raw {
    async fn start(dir: &std::path::Path) -> Raw {
        let mut cmd = base_command(dir);
        cmd.args(["serve", "--sandbox"])
            .stdin(std::process::Stdio::piped())
            .stdout(std::process::Stdio::piped())
            .stderr(std::fs::File::create(dir.join("stderr.log")).unwrap());
        let mut child = cmd.spawn().unwrap();
        let stdin = child.stdin.take().unwrap();
        let stdout = BufReader::new(child.stdout.take().unwrap()).lines();
        let mut raw = Raw {
            child,
            stdin,
            stdout,
            next_id: 100,
        };
        let init = raw
            .request(json!({"jsonrpc": "2.0", "id": 1, "method": "initialize", "params": {
                "protocolVersion": "2025-06-18", "capabilities": {}, "clientInfo": {"name": "raw", "version": "0"}}}))
            .await;
        assert!(init["result"]["serverInfo"].is_object(), "{init}");
        raw.send_line(br#"{"jsonrpc":"2.0","method":"notifications/initialized"}"#)
            .await;
        raw
    }

    async fn send_line(&mut self, bytes: &[u8]) {
        self.stdin.write_all(bytes).await.unwrap();
        self.stdin.write_all(b"\n").await.unwrap();
        self.stdin.flush().await.unwrap();
    }

    /// Sends a request and returns the response with its id.
    async fn request(&mut self, msg: Value) -> Value {
        let id = msg["id"].clone();
        self.send_line(msg.to_string().as_bytes()).await;
        self.response_to(&id).await
    }

    async fn response_to(&mut self, id: &Value) -> Value {
        loop {
            let line =
                tokio::time::timeout(std::time::Duration::from_secs(30), self.stdout.next_line())
                    .await
                    .expect("an answer within 30 s")
                    .unwrap()
                    .expect("the server is still running");
            let v: Value = serde_json::from_str(&line).expect("stdout carries only JSON-RPC");
            if &v["id"] == id {
                return v;
            }
        }
    }

    async fn call(&mut self, tool: &str, args: Value) -> Value {
        self.next_id += 1;
        let id = self.next_id;
        self.request(json!({"jsonrpc": "2.0", "id": id, "method": "tools/call", "params": {"name": tool, "arguments": args}}))
            .await
    }

    /// The server still answers a well-formed call.
    async fn alive(&mut self) {
        let r = self.call("list_users", json!({"top": 1})).await;
        assert_ne!(r["result"]["isError"], true, "{r}");
        assert!(r["result"]["structuredContent"]["users"].is_array(), "{r}");
    }
}

#[tokio::test]
async fn malformed_and_hostile_input_gets_answers_and_the_server_lives() {
    let dir = tempfile::tempdir().unwrap();
    let mut s = Raw::start(dir.path()).await;
    s.alive().await;

    // Not JSON, not JSON-RPC, invalid UTF-8, an unknown method.
    for line in [
        &b"this is not json"[..],
        b"{\"jsonrpc\": \"2.0\", \"id\": 7, \"method\": ",
        b"[1, 2, 3]",
        b"{\"id\": 8, \"method\": \"tools/list\"}",
        b"{\"jsonrpc\":\"2.0\",\"id\":9,\"method\":\"tools/call\",\"params\":{\"name\":\"get_user\",\"arguments\":{\"userEmail\":\"\xff\xfe\"}}}",
    ] {
        s.send_line(line).await;
    }
    let unknown = s
        .request(json!({"jsonrpc": "2.0", "id": 10, "method": "no/such/method"}))
        .await;
    assert!(unknown["error"]["code"].is_i64(), "{unknown}");
    s.alive().await;

    // Deep nesting and a 10 MB argument.
    // Built as text: a Value this deep would overflow this test's own stack.
    let deep = format!("{}\"bottom\"{}", "{\"a\":".repeat(5000), "}".repeat(5000));
    let line = format!(
        r#"{{"jsonrpc":"2.0","id":11,"method":"tools/call","params":{{"name":"get_user","arguments":{{"userEmail":{deep}}}}}}}"#
    );
    s.send_line(line.as_bytes()).await;
    s.alive().await;
    let big = "x".repeat(10 * 1024 * 1024);
    let r = s.call("get_user", json!({"userEmail": big})).await;
    let e = &r["result"]["structuredContent"]["error"];
    assert_eq!(
        e["code"],
        "INPUT_001",
        "{}",
        r.to_string().chars().take(500).collect::<String>()
    );
    assert!(
        r.to_string().len() < 100_000,
        "the 10 MB value was echoed back"
    );
    s.alive().await;

    // Wrong types, missing fields.
    for args in [
        json!({"userEmail": 42}),
        json!({}),
        json!({"userEmail": ["a@b.c"]}),
        json!({"userEmail": null}),
    ] {
        let r = s.call("get_user", args.clone()).await;
        assert_eq!(
            r["result"]["structuredContent"]["error"]["code"], "INPUT_001",
            "{args}: {r}"
        );
    }

    // SQL metacharacters and HTML in every string field of a template: stored
    // as text, rendered escaped, nothing executed; the database still verifies.
    let nasty = "'); DROP TABLE documents; -- <script>alert(1)</script> \" OR 1=1 --";
    let r = s
        .call(
            "create_email_template",
            json!({"templateName": nasty, "subject": nasty, "bodyHtml": format!("<p>{nasty}</p>"),
                   "bodyText": nasty, "category": "customer_communication", "description": nasty}),
        )
        .await;
    let id = r["result"]["structuredContent"]["template"]["templateId"]
        .as_str()
        .unwrap_or_else(|| panic!("{r}"))
        .to_string();
    let got = s
        .call("get_email_template", json!({"templateId": id}))
        .await;
    let t = &got["result"]["structuredContent"];
    assert_eq!(t["templateName"], nasty);
    assert!(!t["bodyHtml"].as_str().unwrap().contains("<script"), "{t}");
    let r = s.call("list_users", json!({"search": nasty})).await;
    assert_ne!(r["result"]["isError"], true, "{r}");
    s.alive().await;

    drop(s.stdin);
    let _ = tokio::time::timeout(std::time::Duration::from_secs(10), s.child.wait()).await;
    let verify = cli(dir.path(), &["audit", "verify", "--sandbox"], &[]).await;
    assert_eq!(verify.code, Some(0), "{}{}", verify.stdout, verify.stderr);
}
