//! `m365-admin serve --sandbox` started as a child process and spoken to
//! with rmcp's client over its stdio, many requests in flight at once, the
//! way Claude Code sees the server. Beside the client, `write_line` slips a
//! raw line (which need not be JSON-RPC) onto the same stdin between two of
//! its messages, for the soak's hostile input; and the child's `/proc` figures (memory, descriptors)
//! are read for the bench and the soak.

use crate::fail;
use crate::launch::Launch;
use rmcp::model::{CallToolRequestParams, CallToolResult};
use rmcp::service::{RunningService, ServiceError};
use rmcp::{RoleClient, ServiceExt};
use serde_json::{Value, json};
use std::collections::VecDeque;
use std::pin::Pin;
use std::process::Stdio;
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll, ready};
use std::time::Duration;
use tokio::io::AsyncWrite;
use tokio::process::{Child, ChildStdin};

/// Raw lines waiting to go onto the server's stdin.
type RawLines = Arc<Mutex<VecDeque<Vec<u8>>>>;

/// Why a `tools/call` gave no result.
#[derive(Debug, thiserror::Error)]
pub enum CallFailed {
    /// The request did not get an answer, or the answer was a protocol error.
    #[error(transparent)]
    Protocol(#[from] ServiceError),
    /// The tool ran and failed: the error's text.
    #[error("{0}")]
    Tool(String),
}

/// A running server and an MCP client for it.
pub struct Server {
    client: RunningService<RoleClient, ()>,
    child: Child,
    /// Raw lines for the server's stdin, between the client's messages.
    raw: RawLines,
}

impl Server {
    /// Starts the server and completes MCP's `initialize` handshake with it.
    pub async fn start(launch: &Launch) -> std::io::Result<Server> {
        let mut child = launch
            .command()
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()?;
        let stdin = child.stdin.take().expect("piped stdin");
        let stdout = child.stdout.take().expect("piped stdout");
        let raw = RawLines::default();
        let writer = LineWriter {
            stdin,
            at_boundary: true,
            raw: raw.clone(),
            writing: None,
        };
        let client = ()
            .serve((stdout, writer))
            .await
            .map_err(|e| fail(format!("the server did not initialize: {e}")))?;
        Ok(Server { client, child, raw })
    }

    /// `tools/list`: the answer's size in bytes (as the JSON-RPC response
    /// the server wrote) and the number of tools.
    pub async fn tools_list(&self) -> std::io::Result<(usize, usize)> {
        let result = self
            .client
            .list_tools(None)
            .await
            .map_err(|e| fail(format!("tools/list: {e}")))?;
        let tools = result.tools.len();
        let answer = json!({"jsonrpc": "2.0", "id": 2, "result": result});
        Ok((answer.to_string().len(), tools))
    }

    async fn call_result(
        &self,
        tool: &str,
        arguments: Value,
    ) -> Result<CallToolResult, ServiceError> {
        let mut params = CallToolRequestParams::new(tool.to_string());
        if let Value::Object(map) = arguments {
            params = params.with_arguments(map);
        }
        self.client.call_tool(params).await
    }

    /// One `tools/call`: the structured result, or why there is none.
    pub async fn call(&self, tool: &str, arguments: Value) -> Result<Value, CallFailed> {
        let r = self.call_result(tool, arguments).await?;
        if r.is_error == Some(true) {
            let text = r
                .content
                .first()
                .and_then(|c| c.as_text())
                .map_or("tool error".to_string(), |t| t.text.clone());
            return Err(CallFailed::Tool(text));
        }
        Ok(r.structured_content.unwrap_or(Value::Null))
    }

    /// One `tools/call`, its answer as JSON-RPC carries it: `{"result": …}`
    /// or `{"error": …}`; null when no answer came (the server went away).
    pub async fn answer(&self, tool: &str, arguments: Value) -> Value {
        match self.call_result(tool, arguments).await {
            Ok(result) => json!({ "result": result }),
            Err(ServiceError::McpError(error)) => json!({ "error": error }),
            Err(_) => Value::Null,
        }
    }

    /// Queues one raw line for the server's stdin: it goes out whole,
    /// before the client's next message.
    pub fn write_line(&self, line: &str) {
        let mut bytes = line.as_bytes().to_vec();
        bytes.push(b'\n');
        self.raw.lock().unwrap().push_back(bytes);
    }

    pub fn pid(&self) -> Option<u32> {
        self.child.id()
    }

    /// Open file descriptors.
    pub fn open_fds(&self) -> usize {
        let Some(pid) = self.pid() else { return 0 };
        std::fs::read_dir(format!("/proc/{pid}/fd")).map_or(0, |d| d.count())
    }

    /// Closes stdin, as a client that quits does, and waits for the exit
    /// code (killing the server if it takes over 30 s).
    pub async fn stop(self) -> Option<i32> {
        let Server {
            client, mut child, ..
        } = self;
        // Dropping the client's transport closes the pipe.
        let _ = client.cancel().await;
        match tokio::time::timeout(Duration::from_secs(30), child.wait()).await {
            Ok(Ok(status)) => status.code(),
            _ => {
                let _ = child.kill().await;
                None
            }
        }
    }

    /// A `/proc/<pid>/status` figure in kB (VmRSS, VmHWM, RssAnon, ...).
    pub fn status_kb(&self, field: &str) -> u64 {
        let Some(pid) = self.pid() else { return 0 };
        std::fs::read_to_string(format!("/proc/{pid}/status"))
            .ok()
            .and_then(|s| {
                s.lines()
                    .find(|l| l.starts_with(field) && l[field.len()..].starts_with(':'))
                    .and_then(|l| l.split_whitespace().nth(1))
                    .and_then(|n| n.parse().ok())
            })
            .unwrap_or(0)
    }
}

/// The server's stdin as rmcp's client writes it, with raw lines slipped
/// in between two of its messages: a queued line goes out whole before the
/// client's next message, never inside one (a 2 MiB argument takes several
/// writes to the pipe). rmcp writes straight to the pipe otherwise.
struct LineWriter<W = ChildStdin> {
    stdin: W,
    /// The last byte written ended a message (or nothing was written yet).
    at_boundary: bool,
    raw: RawLines,
    /// A raw line being written, and how much of it is out.
    writing: Option<(Vec<u8>, usize)>,
}

impl<W: AsyncWrite + Unpin> LineWriter<W> {
    /// Writes the queued raw lines, if the client is between messages.
    fn poll_raw(&mut self, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        loop {
            if let Some((line, done)) = &mut self.writing {
                *done += ready!(Pin::new(&mut self.stdin).poll_write(cx, &line[*done..]))?;
                if *done == line.len() {
                    self.writing = None;
                }
                continue;
            }
            if !self.at_boundary {
                return Poll::Ready(Ok(()));
            }
            match self.raw.lock().unwrap().pop_front() {
                Some(line) => self.writing = Some((line, 0)),
                None => return Poll::Ready(Ok(())),
            }
        }
    }
}

impl<W: AsyncWrite + Unpin> AsyncWrite for LineWriter<W> {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        data: &[u8],
    ) -> Poll<std::io::Result<usize>> {
        let this = self.get_mut();
        ready!(this.poll_raw(cx))?;
        let n = ready!(Pin::new(&mut this.stdin).poll_write(cx, data))?;
        if n > 0 {
            this.at_boundary = data[n - 1] == b'\n';
        }
        Poll::Ready(Ok(n))
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.get_mut().stdin).poll_flush(cx)
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.get_mut().stdin).poll_shutdown(cx)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use tokio::io::AsyncWriteExt;

    #[tokio::test]
    async fn raw_lines_go_out_between_messages_never_inside_one() {
        let raw = RawLines::default();
        let mut w = LineWriter {
            stdin: Vec::new(),
            at_boundary: true,
            raw: raw.clone(),
            writing: None,
        };
        raw.lock().unwrap().push_back(b"first\n".to_vec());
        w.write_all(b"{\"a\":").await.unwrap();
        // Queued while a message is half written: it waits for the next one.
        raw.lock().unwrap().push_back(b"{\"id\": \n".to_vec());
        w.write_all(b"1}\n").await.unwrap();
        w.write_all(b"{\"b\":2}\n").await.unwrap();
        assert_eq!(
            String::from_utf8(w.stdin).unwrap(),
            "first\n{\"a\":1}\n{\"id\": \n{\"b\":2}\n"
        );
        assert!(raw.lock().unwrap().is_empty());
    }
}
