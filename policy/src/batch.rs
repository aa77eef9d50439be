//! A Graph `$batch` body: at most `MAX_BATCH` requests, each judged by the
//! policy on its own, and the body rebuilt from the judged fields only, so
//! that a second, differently-cased `requests` or `url` Graph might read
//! instead cannot ride along.

use crate::denial::{Denial, DenialKind};
use serde_json::Value;

/// Graph's documented limit on requests in one `$batch`.
pub const MAX_BATCH: usize = 20;

/// A `$batch` body as it may be sent.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct JudgedBatch {
    /// The rebuilt body.
    pub body: String,
    /// How many requests it holds (Graph throttles each).
    pub requests: u32,
}

/// Judges every request of `body` with `check(method, url)`, in order, and
/// rebuilds the body from what was judged.
pub(crate) fn judge(
    body: &[u8],
    mut check: impl FnMut(&str, &str) -> Result<(), Denial>,
) -> Result<JudgedBatch, Denial> {
    let v: Value =
        serde_json::from_slice(body).map_err(|_| Denial::from(DenialKind::BatchNotJson))?;
    let requests = v["requests"]
        .as_array()
        .ok_or(DenialKind::BatchNoRequests)?;
    if requests.len() > MAX_BATCH {
        return Err(DenialKind::BatchTooMany {
            requests: requests.len(),
        }
        .into());
    }
    let mut judged = Vec::with_capacity(requests.len());
    for r in requests {
        let method = r["method"].as_str().unwrap_or("").to_ascii_uppercase();
        let url = r["url"].as_str().unwrap_or("");
        check(&method, url)?;
        let mut one = serde_json::json!({"id": r["id"], "method": method, "url": url});
        for key in ["headers", "body", "dependsOn"] {
            if !r[key].is_null() {
                one[key] = r[key].clone();
            }
        }
        judged.push(one);
    }
    Ok(JudgedBatch {
        requests: judged.len() as u32,
        body: serde_json::json!({"requests": judged}).to_string(),
    })
}
