//! Paging a Graph list for the model: the `@odata.nextLink` of a page
//! becomes an opaque `nextCursor`, and the cursor the model hands back
//! becomes the next request, after checking that it is one.
//!
//! Graph's advice is to follow the whole nextLink and not to take its token
//! apart (<https://learn.microsoft.com/graph/paging>): the link carries the
//! original query options and a `$skiptoken` (some APIs use `$skip`
//! instead). So the cursor is the link's query string, base64url-encoded;
//! the path stays the tool's own, which keeps a cursor from reaching another
//! resource.
//!
//! ```ignore
//! let req = match &args.cursor {
//!     Some(c) => Cursor::parse_arg(c, "list_users")?.resume(GraphRequest::new("GET", "/users")),
//!     None => GraphRequest::new("GET", "/users").query(&[("$top", "25")]),
//! };
//! let page = graph.request(req)?.body.unwrap_or(Value::Null);
//! json!({ "users": collection(&page), "nextCursor": Cursor::after(&page) })
//! ```

use crate::error::ToolError;
use crate::graph::GraphRequest;
use crate::text::{base64url_decode, base64url_encode, percent_decode};
use serde_json::Value;

/// Where the next page starts: the query string of a nextLink.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Cursor {
    query: String,
}

impl Cursor {
    /// Where the page after `page` (a Graph collection response) starts,
    /// `None` on the last page.
    pub fn next_page(page: &Value) -> Option<Cursor> {
        page.get("@odata.nextLink")
            .and_then(Value::as_str)
            .and_then(Cursor::from_next_link)
    }

    /// [`Cursor::next_page`], encoded for the model.
    pub fn after(page: &Value) -> Option<String> {
        Cursor::next_page(page).map(|c| c.encode())
    }

    /// The cursor a nextLink stands for, `None` when it has no query.
    pub fn from_next_link(link: &str) -> Option<Cursor> {
        let (_, query) = link.split_once('?')?;
        Some(Cursor {
            query: query.to_string(),
        })
    }

    /// The opaque text the model is given.
    pub fn encode(&self) -> String {
        base64url_encode(self.query.as_bytes())
    }

    /// The cursor `text` encodes, if it is one ([`Cursor::from_query`] of
    /// its base64url).
    pub fn decode(text: &str) -> Option<Cursor> {
        Cursor::from_query(String::from_utf8(base64url_decode(text.trim())?).ok()?)
    }

    /// A query string handed back, if a nextLink could have carried it:
    /// printable ASCII with no fragment, continuing the list with a
    /// `$skiptoken` or `$skip`.
    pub fn from_query(query: String) -> Option<Cursor> {
        let printable = query.bytes().all(|b| b.is_ascii_graphic() && b != b'#');
        let continues = query.split('&').any(|pair| {
            let (name, value) = pair.split_once('=').unwrap_or((pair, ""));
            let name = percent_decode(name).unwrap_or_default();
            !value.is_empty()
                && (name.eq_ignore_ascii_case("$skiptoken") || name.eq_ignore_ascii_case("$skip"))
        });
        (printable && continues).then_some(Cursor { query })
    }

    /// [`Cursor::decode`] of a tool's `cursor` argument, or INPUT_001 telling
    /// the model to start `tool` again without one.
    pub fn parse_arg(text: &str, tool: &str) -> Result<Cursor, ToolError> {
        Cursor::decode(text).ok_or_else(|| {
            ToolError::input(
                Some("cursor"),
                format!(
                    "The cursor is not one {tool} returned; call {tool} without it to start again."
                ),
            )
        })
    }

    /// The query string the cursor stands for.
    pub fn query(&self) -> &str {
        &self.query
    }

    /// [`Cursor::query`], taken.
    pub fn into_query(self) -> String {
        self.query
    }

    /// `req` (the tool's first request, without its query) at this cursor.
    pub fn resume(&self, req: GraphRequest) -> GraphRequest {
        req.raw_query(&self.query)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn cursors_round_trip_and_reject_junk() {
        for (link, query) in [
            (
                "https://graph.microsoft.com/v1.0/users?$select=id&$top=2&$skiptoken=RFNwdAIAAQ",
                "$select=id&$top=2&$skiptoken=RFNwdAIAAQ",
            ),
            (
                "https://graph.microsoft.com/v1.0/teams?$top=2&$skiptoken=RFNwdAIAAQ",
                "$top=2&$skiptoken=RFNwdAIAAQ",
            ),
            (
                "https://graph.microsoft.com/v1.0/x?$skipToken=abc",
                "$skipToken=abc",
            ),
            (
                "https://graph.microsoft.com/v1.0/x?$top=5&$skip=5",
                "$top=5&$skip=5",
            ),
        ] {
            let page = json!({ "value": [], "@odata.nextLink": link });
            let c = Cursor::after(&page).unwrap();
            assert_eq!(Cursor::decode(&c).unwrap().query(), query, "{link}");
            assert_eq!(Cursor::next_page(&page).unwrap().query(), query, "{link}");
        }
        assert_eq!(Cursor::after(&json!({ "value": [] })), None);
        for junk in [
            "not a cursor".to_string(),
            base64url_encode(b"$top=5"),
            base64url_encode(b"$skiptoken=a b"),
            base64url_encode(b"$skiptoken=a#b"),
            base64url_encode(b"$skiptoken="),
            base64url_encode(b"$filter=x eq 'skiptoken='"),
            base64url_encode(b"$filter=skiptoken=1"),
        ] {
            assert!(Cursor::decode(&junk).is_none(), "{junk}");
        }
        let e = Cursor::parse_arg("nope", "list_users").unwrap_err();
        assert_eq!(e.code, "INPUT_001");
        assert_eq!(e.detail("field").unwrap(), "cursor");
        assert!(e.message.contains("call list_users without it"));
    }
}
