//! A real headless Chromium (Debian's `chromium` package), driven over the
//! Chrome DevTools Protocol on a pipe (`--remote-debugging-pipe`: commands on
//! the browser's fd 3, answers and events on fd 4, each message JSON ended by
//! a NUL). The pipe needs no port, no WebSocket client and no crate beyond
//! tokio: a shell maps the child's stdin and stdout onto fds 3 and 4.
//! It records every `Network.requestWillBeSent`, so a test can see what a
//! page fetched.

use base64::Engine;
use serde_json::{Value, json};
use std::path::Path;
use std::time::Duration;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::process::{Child, ChildStdin, ChildStdout, Command};

const WAIT: Duration = Duration::from_secs(60);

pub struct Browser {
    child: Child,
    to: ChildStdin,
    from: ChildStdout,
    buffer: Vec<u8>,
    next_id: u64,
    session: Option<String>,
    /// Every event received, in order.
    pub events: Vec<Value>,
}

/// The Chromium binary: `$CHROMIUM`, or the first of Debian's names on PATH.
fn binary() -> String {
    if let Ok(b) = std::env::var("CHROMIUM") {
        return b;
    }
    for name in ["chromium", "chromium-browser", "google-chrome"] {
        let found = std::process::Command::new("sh")
            .args(["-c", &format!("command -v {name}")])
            .output()
            .is_ok_and(|o| o.status.success());
        if found {
            return name.into();
        }
    }
    panic!(
        "this test renders the report in headless Chromium, which is not installed: run \
         `apt-get install -y chromium` (.ci/run does it when it is missing), or set CHROMIUM"
    );
}

impl Browser {
    /// Starts headless Chromium with a fresh profile in `profile`.
    pub async fn launch(profile: &Path) -> Browser {
        let flags = [
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--no-first-run",
            "--no-default-browser-check",
            "--disable-extensions",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--hide-scrollbars",
            "--remote-debugging-pipe",
        ];
        let script = format!(
            "exec \"$0\" {} --user-data-dir=\"$1\" about:blank 3<&0 4>&1 </dev/null >&2",
            flags.join(" ")
        );
        let mut child = Command::new("sh")
            .arg("-c")
            .arg(script)
            .arg(binary())
            .arg(profile)
            .stdin(std::process::Stdio::piped())
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::null())
            .kill_on_drop(true)
            .spawn()
            .expect("chromium starts");
        let to = child.stdin.take().unwrap();
        let from = child.stdout.take().unwrap();
        Browser {
            child,
            to,
            from,
            buffer: Vec::new(),
            next_id: 1,
            session: None,
            events: Vec::new(),
        }
    }

    async fn message(&mut self) -> Value {
        loop {
            if let Some(end) = self.buffer.iter().position(|b| *b == 0) {
                let raw: Vec<u8> = self.buffer.drain(..=end).collect();
                return serde_json::from_slice(&raw[..raw.len() - 1]).expect("CDP sends JSON");
            }
            // On the heap: a 64 KiB array would live in every future awaiting this one.
            let mut chunk = vec![0u8; 64 * 1024];
            let n = tokio::time::timeout(WAIT, self.from.read(&mut chunk))
                .await
                .expect("chromium answers within a minute")
                .expect("the pipe reads");
            assert!(n > 0, "chromium closed the pipe");
            self.buffer.extend_from_slice(&chunk[..n]);
        }
    }

    /// Sends a command (to the page, once one is open) and returns its result.
    pub async fn send(&mut self, method: &str, params: Value) -> Value {
        let id = self.next_id;
        self.next_id += 1;
        let mut msg = json!({"id": id, "method": method, "params": params});
        if let Some(s) = &self.session {
            msg["sessionId"] = json!(s);
        }
        let mut bytes = msg.to_string().into_bytes();
        bytes.push(0);
        self.to.write_all(&bytes).await.unwrap();
        self.to.flush().await.unwrap();
        loop {
            let m = self.message().await;
            if m["id"] == id {
                assert!(m.get("error").is_none(), "{method}: {m}");
                return m["result"].clone();
            }
            self.events.push(m);
        }
    }

    /// Waits for the event `method`, keeping the others.
    async fn until(&mut self, method: &str) {
        if self.events.iter().any(|e| e["method"] == method) {
            return;
        }
        loop {
            let m = self.message().await;
            let done = m["method"] == method;
            self.events.push(m);
            if done {
                return;
            }
        }
    }

    /// Opens `url` in a new page of `width`×`height` and waits for its load event.
    pub async fn open(&mut self, url: &str, width: u32, height: u32) {
        let target = self
            .send("Target.createTarget", json!({"url": "about:blank"}))
            .await;
        let attached = self
            .send(
                "Target.attachToTarget",
                json!({"targetId": target["targetId"], "flatten": true}),
            )
            .await;
        self.session = attached["sessionId"].as_str().map(str::to_string);
        self.send("Network.enable", json!({})).await;
        self.send("Page.enable", json!({})).await;
        self.send(
            "Emulation.setDeviceMetricsOverride",
            json!({"width": width, "height": height, "deviceScaleFactor": 1, "mobile": false}),
        )
        .await;
        self.events.clear();
        self.send("Page.navigate", json!({"url": url})).await;
        self.until("Page.loadEventFired").await;
    }

    /// Evaluates `expression` in the page; its JSON value.
    pub async fn eval(&mut self, expression: &str) -> Value {
        let r = self
            .send(
                "Runtime.evaluate",
                json!({"expression": expression, "returnByValue": true}),
            )
            .await;
        assert!(r.get("exceptionDetails").is_none(), "{expression}: {r}");
        r["result"]["value"].clone()
    }

    /// The whole page as PNG.
    pub async fn screenshot(&mut self) -> Vec<u8> {
        let r = self
            .send(
                "Page.captureScreenshot",
                json!({"format": "png", "captureBeyondViewport": true}),
            )
            .await;
        base64::engine::general_purpose::STANDARD
            .decode(r["data"].as_str().unwrap())
            .unwrap()
    }

    /// The top `height` CSS pixels of the page, as PNG.
    pub async fn screenshot_top(&mut self, width: u32, height: u32) -> Vec<u8> {
        let r = self
            .send(
                "Page.captureScreenshot",
                json!({"format": "png", "captureBeyondViewport": true, "clip": {"x": 0, "y": 0, "width": width, "height": height, "scale": 1}}),
            )
            .await;
        base64::engine::general_purpose::STANDARD
            .decode(r["data"].as_str().unwrap())
            .unwrap()
    }

    /// The page printed to PDF on A4 (8.27 × 11.69 in), with its CSS page size.
    pub async fn print_a4(&mut self) -> Vec<u8> {
        let r = self
            .send(
                "Page.printToPDF",
                json!({"paperWidth": 8.27, "paperHeight": 11.69, "printBackground": true, "preferCSSPageSize": true}),
            )
            .await;
        base64::engine::general_purpose::STANDARD
            .decode(r["data"].as_str().unwrap())
            .unwrap()
    }

    /// The URL of every request the page started.
    pub fn requests(&self) -> Vec<String> {
        self.events
            .iter()
            .filter(|e| e["method"] == "Network.requestWillBeSent")
            .filter_map(|e| e["params"]["request"]["url"].as_str().map(str::to_string))
            .collect()
    }

    pub async fn close(mut self) {
        self.session = None;
        let id = self.next_id;
        let msg = format!("{}\0", json!({"id": id, "method": "Browser.close"}));
        let _ = self.to.write_all(msg.as_bytes()).await;
        let _ = tokio::time::timeout(Duration::from_secs(10), self.child.wait()).await;
    }
}
