//! What a client is shown of a call: a success as pretty JSON text plus
//! structured content, a coded error as an `isError` result, both redacted
//! once more and stamped with the envelope; and a result too long for the
//! model's context cut to its head, with the whole kept for this session as
//! `m365://results/{id}` (the 20 newest).

use super::envelope::ENVELOPE_KEY;
use crate::errors::{CodedError, ErrorCode};
use rmcp::model::{CallToolResult, ContentBlock};
use serde_json::{Value, json};
use std::collections::VecDeque;
use std::sync::Mutex;

/// How many cut results a session keeps readable.
const KEPT: usize = 20;

/// The URI prefix of a kept result.
pub const RESULTS_PREFIX: &str = "m365://results/";

/// The result a client sees for a coded error.
/// A plugin's message may quote anything it was given; the client is never
/// shown a registered secret or a token.
pub fn error_result(e: &CodedError) -> CallToolResult {
    let text = crate::secret::redact(&e.to_string());
    let mut r = CallToolResult::error(vec![ContentBlock::text(text)]);
    r.structured_content = Some(crate::secret::redact_strings(&e.to_json()));
    r
}

pub fn success_result(v: Value) -> CallToolResult {
    let v = crate::secret::redact_strings(&v);
    let text = serde_json::to_string_pretty(&v).unwrap_or_default();
    let mut r = CallToolResult::success(vec![ContentBlock::text(text)]);
    if v.is_object() {
        r.structured_content = Some(v);
    }
    r
}

/// Says where the call ran, in the structured result and in `_meta`.
pub fn with_envelope(mut r: CallToolResult, envelope: &Value) -> CallToolResult {
    if envelope.is_null() {
        return r;
    }
    if let Some(Value::Object(o)) = r.structured_content.as_mut() {
        o.insert(ENVELOPE_KEY.into(), envelope.clone());
    }
    let mut meta = r.meta.take().unwrap_or_default();
    meta.0.insert(ENVELOPE_KEY.into(), envelope.clone());
    r.meta = Some(meta);
    r
}

/// Results too long to return whole, kept for this session (newest last).
#[derive(Default)]
pub struct KeptResults(Mutex<VecDeque<(String, String)>>);

impl KeptResults {
    /// Keeps `text` readable as `m365://results/{id}`; returns that URI.
    fn keep(&self, tool: &str, text: &str) -> String {
        let id = format!(
            "{tool}-{}",
            &uuid::Uuid::new_v4().simple().to_string()[..12]
        );
        let mut kept = self.0.lock().unwrap();
        kept.push_back((id.clone(), text.to_string()));
        while kept.len() > KEPT {
            kept.pop_front();
        }
        format!("{RESULTS_PREFIX}{id}")
    }

    /// The kept result `id` (the part of the URI after the prefix).
    pub fn read(&self, uri: &str, id: &str) -> Result<String, CodedError> {
        let kept = self.0.lock().unwrap();
        kept.iter()
            .find(|(k, _)| k == id)
            .map(|(_, text)| text.clone())
            .ok_or_else(|| {
                CodedError::new(
                    ErrorCode::Input001,
                    format!("{uri} is no longer kept (only the {KEPT} newest long results of this session are); call the tool again."),
                )
            })
    }

    /// A result too long for the client's context: its head, and a link to
    /// the whole, which stays readable as a resource for this session.
    pub fn bounded(&self, max: usize, tool: &str, r: CallToolResult) -> CallToolResult {
        let text: String = r
            .content
            .iter()
            .filter_map(|c| c.as_text().map(|t| t.text.clone()))
            .collect();
        if text.chars().count() <= max {
            return r;
        }
        let uri = self.keep(tool, &text);
        let head: String = text.chars().take(max.saturating_sub(400)).collect();
        let total = text.chars().count();
        let note = format!(
            "\n… [cut at {} of {total} characters so as not to flood the conversation; the whole result is the resource {uri}. Read it, or call the tool again with a smaller `top` or a narrower filter.]",
            head.chars().count()
        );
        let link = ContentBlock::resource_link(
            rmcp::model::Resource::new(uri.clone(), format!("{tool} result"))
                .with_description(format!("The whole {tool} result ({total} characters)"))
                .with_mime_type("application/json"),
        );
        let mut out =
            CallToolResult::success(vec![ContentBlock::text(format!("{head}{note}")), link]);
        out.is_error = r.is_error;
        out.structured_content =
            Some(json!({"truncated": true, "resource": uri, "characters": total}));
        out
    }
}
