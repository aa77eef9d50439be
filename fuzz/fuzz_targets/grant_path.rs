//! An arbitrary method and request path (and an arbitrary extra grant)
//! against the grants our plugins declare. Input: `METHOD /v1.0/path`, then
//! optionally a newline and a grant such as `GET /users/*/manager`. Beyond "no panic":
//!
//! - a path `normalize_path` accepts has only non-empty segments, none `.`,
//!   `..` or starting `..`, none with `/`, `%`, `\` or a control character;
//! - normalising is idempotent: the segments, joined again (with `#` and `?`
//!   re-encoded, the only characters that would change a path's meaning when
//!   written back), normalise to themselves;
//! - a WHATWG URL parser (the `url` crate, which resolves dot segments,
//!   `%2e` and backslashes the way servers and browsers do) reads an accepted
//!   path as the same segments, so the path Graph acts on is the one matched;
//! - `allows` agrees with a segment-by-segment reading of the grant text:
//!   literals equal ignoring ASCII case, `*` one segment, `**` one or more;
//! - a grant that parses prints as text that parses to the same grant.

#![no_main]

use libfuzzer_sys::fuzz_target;
use m365_policy::graph::{GraphGrant, GraphPolicy, normalize_path};

/// Grants from the plugins' manifests, plus the `**` and `$batch` forms the
/// matcher supports.
const GRANTS: &[&str] = &[
    "GET /users",
    "GET /users/*",
    "PATCH /users/*",
    "DELETE /users/*",
    "POST /users/*/assignLicense",
    "GET /users/*/mailboxSettings",
    "DELETE /users/*/mailFolders/inbox/messageRules/*",
    "GET /admin/exchange/tracing/messageTraces",
    "PATCH /teams/*/members/*",
    "POST /teams/*/channels/*/tabs",
    "DELETE /directory/deletedItems/*",
    "GET /groups/*/members/**",
    "POST /$batch",
];

fuzz_target!(|data: &[u8]| {
    // `METHOD /path` on the first line, optionally an extra grant on the
    // second: readable seeds, and mutations that stay meaningful.
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let (request, extra) = match text.split_once('\n') {
        Some((r, g)) => (r, Some(g)),
        None => (text, None),
    };
    let (method, path) = request.split_once(' ').unwrap_or((request, ""));

    let mut grants: Vec<(String, GraphGrant)> = GRANTS
        .iter()
        .map(|g| {
            (
                g.to_string(),
                GraphGrant::parse(g).expect("a built-in grant parses"),
            )
        })
        .collect();
    if let Some(text) = extra
        && let Ok(g) = GraphGrant::parse(text)
    {
        // Display gives the canonical text, which parses to the same grant.
        let shown = g.to_string();
        assert_eq!(
            GraphGrant::parse(&shown).as_ref(),
            Ok(&g),
            "grant {text:?} prints as {shown:?}, which parses differently"
        );
        grants.push((text.to_string(), g));
    }

    let Ok(segments) = normalize_path(path) else {
        return;
    };

    // What an accepted path may contain.
    assert!(!segments.is_empty(), "{path:?} normalised to no segments");
    for s in &segments {
        assert!(
            !s.is_empty() && s != "." && s != ".." && !s.starts_with(".."),
            "{path:?} kept a dot or empty segment {s:?}"
        );
        assert!(
            !s.contains(['/', '\\', '%']) && !s.chars().any(char::is_control),
            "{path:?} kept {s:?}, with a slash, backslash, percent or control character"
        );
    }

    // Idempotence.
    let rejoined = format!("/v1.0/{}", encode_for_path(&segments));
    assert_eq!(
        normalize_path(&rejoined).as_ref(),
        Ok(&segments),
        "{path:?} normalised to {segments:?}, but {rejoined:?} does not"
    );

    // A URL parser sees the same path, for every path the gate can be given:
    // one an `http::Uri` carries (no raw spaces or controls) and without a
    // query (a raw `?`), as `uri.path()` hands it over.
    let full = format!("https://graph.microsoft.com{path}");
    if full.parse::<http::Uri>().is_ok_and(|u| u.path() == path) {
        let url = url::Url::parse(&full)
            .unwrap_or_else(|e| panic!("{path:?} was accepted but is not a URL path: {e}"));
        let seen: Vec<String> = url
            .path_segments()
            .expect("an https URL has a path")
            .map(|s| {
                percent_encoding::percent_decode_str(s)
                    .decode_utf8()
                    .unwrap_or_else(|_| panic!("{path:?}: the URL parser made non-UTF-8 {s:?}"))
                    .into_owned()
            })
            .collect();
        assert_eq!(
            seen.first().map(String::as_str),
            Some("v1.0"),
            "{path:?}: a URL parser puts this path outside /v1.0 ({})",
            url.path()
        );
        assert_eq!(
            &seen[1..],
            &segments[..],
            "{path:?}: the matcher sees {segments:?} but a URL parser sees {:?} ({})",
            &seen[1..],
            url.path()
        );
    }

    // The matcher agrees with the grant text, one grant at a time and as a policy.
    let mut any = false;
    for (text, grant) in &grants {
        let allowed = grant.allows(method, &segments);
        assert_eq!(
            allowed,
            reference_allows(text, method, &segments),
            "{text:?} vs {method} {path:?} ({segments:?})"
        );
        any |= allowed;
    }
    let texts: Vec<&str> = grants.iter().map(|(t, _)| t.as_str()).collect();
    let policy = GraphPolicy::parse(&texts).expect("the grants parsed one by one");
    assert_eq!(policy.allows(method, &segments), any, "{method} {path:?}");
});

/// Joins segments into a path, percent-encoding the two characters that a
/// segment may hold but a raw path may not: `#` (a fragment) and `?` (a query).
fn encode_for_path(segments: &[String]) -> String {
    segments
        .iter()
        .map(|s| s.replace('#', "%23").replace('?', "%3F"))
        .collect::<Vec<_>>()
        .join("/")
}

/// The grant's meaning read straight from its text, written independently of
/// policy/src/graph.rs: `METHOD /a/*/b/**`, method and literals compared
/// ignoring ASCII case, `*` one segment, `**` (last) one or more.
fn reference_allows(text: &str, method: &str, segments: &[String]) -> bool {
    let (m, pattern) = text.trim().split_once(' ').expect("the grant parsed");
    if !m.eq_ignore_ascii_case(method) {
        return false;
    }
    let pattern: Vec<&str> = pattern.trim()[1..].split('/').collect();
    if pattern.last() == Some(&"**") {
        let fixed = &pattern[..pattern.len() - 1];
        segments.len() > fixed.len() && matches_fixed(fixed, &segments[..fixed.len()])
    } else {
        segments.len() == pattern.len() && matches_fixed(&pattern, segments)
    }
}

fn matches_fixed(pattern: &[&str], segments: &[String]) -> bool {
    pattern
        .iter()
        .zip(segments)
        .all(|(p, s)| *p == "*" || p.eq_ignore_ascii_case(s))
}
