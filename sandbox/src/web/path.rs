//! Request paths: percent-decoding into segments, OData key segments (`teams('x')`), and the
//! references clients bind with (`@odata.bind`, `@odata.id`).

/// Percent-decodes the whole path, splits it into segments (dropping empty ones) and refuses
/// `.`/`..` segments.
pub(crate) fn decode_path(raw: &str) -> Result<Vec<String>, &'static str> {
    let bytes = raw.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' {
            let hex = bytes.get(i + 1..i + 3).ok_or("bad percent-encoding")?;
            let hex = std::str::from_utf8(hex).map_err(|_| "bad percent-encoding")?;
            out.push(u8::from_str_radix(hex, 16).map_err(|_| "bad percent-encoding")?);
            i += 3;
        } else {
            out.push(bytes[i]);
            i += 1;
        }
    }
    let decoded = String::from_utf8(out).map_err(|_| "path is not UTF-8")?;
    let segments: Vec<String> = decoded
        .split('/')
        .filter(|s| !s.is_empty())
        .map(str::to_string)
        .collect();
    if segments.iter().any(|s| s == ".." || s == ".") {
        return Err("path contains a '.' or '..' segment");
    }
    Ok(segments)
}

/// Splits OData key segments: `teams('x')` becomes `teams`, `x`.
pub(crate) fn normalize(segs: &[String]) -> Vec<String> {
    let mut out = Vec::with_capacity(segs.len() + 2);
    for s in segs {
        match s.split_once('(') {
            Some((name, rest)) if !name.is_empty() && rest.ends_with(')') => {
                let key = &rest[..rest.len() - 1];
                let key = key.trim();
                let key = key
                    .strip_prefix('\'')
                    .and_then(|k| k.strip_suffix('\''))
                    .unwrap_or(key);
                out.push(name.to_string());
                out.push(key.replace("''", "'"));
            }
            _ => out.push(s.clone()),
        }
    }
    out
}

/// The key of an `@odata.bind` / `@odata.id` reference such as
/// `https://graph.microsoft.com/v1.0/users/{id}`, `…/users('{id}')` or `…/directoryObjects/{id}`,
/// if it names one of `sets`.
pub(crate) fn bound_key(url: &str, sets: &[&str]) -> Option<String> {
    let path = url.split(['?', '#']).next().unwrap_or_default();
    let rest = ["/v1.0/", "/beta/"]
        .iter()
        .find_map(|v| path.find(v).map(|i| &path[i + v.len()..]))
        .unwrap_or(if path.contains("://") { "" } else { path });
    let segs: Vec<String> = rest
        .split('/')
        .filter(|s| !s.is_empty())
        .map(str::to_string)
        .collect();
    match normalize(&segs).as_slice() {
        [set, key] if sets.iter().any(|s| s.eq_ignore_ascii_case(set)) && !key.is_empty() => {
            Some(key.clone())
        }
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decode_path_table() {
        let ok = [
            ("/v1.0/users", vec!["v1.0", "users"]),
            ("/v1.0/users/a%40b.com", vec!["v1.0", "users", "a@b.com"]),
            ("//v1.0//users/", vec!["v1.0", "users"]),
            ("/v1.0/%24batch", vec!["v1.0", "$batch"]),
        ];
        for (raw, want) in ok {
            assert_eq!(decode_path(raw).unwrap(), want, "{raw}");
        }
        for bad in [
            "/v1.0/../x",
            "/v1.0/%2e%2e/x",
            "/v1.0/a%2F..%2Fb",
            "/v1.0/%zz",
            "/%ff",
        ] {
            assert!(decode_path(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn reference_and_key_parsing() {
        let users = &["users", "directoryObjects"];
        let cases = [
            ("https://graph.microsoft.com/v1.0/users/abc", Some("abc")),
            ("https://graph.microsoft.com/v1.0/users('abc')", Some("abc")),
            (
                "https://graph.microsoft.com/beta/directoryObjects/abc",
                Some("abc"),
            ),
            (
                "https://graph.microsoft.com/v1.0/users('o''neil@x.com')",
                Some("o'neil@x.com"),
            ),
            ("users/abc", Some("abc")),
            ("https://graph.microsoft.com/v1.0/groups/abc", None),
            ("https://graph.microsoft.com/v1.0/users/abc/manager", None),
            ("https://example.com/abc", None),
        ];
        for (url, want) in cases {
            assert_eq!(bound_key(url, users).as_deref(), want, "{url}");
        }
        assert_eq!(
            bound_key(
                "https://graph.microsoft.com/v1.0/teamsTemplates('standard')",
                &["teamsTemplates"]
            )
            .as_deref(),
            Some("standard")
        );
        let segs: Vec<String> = ["teams('a')", "operations('b')"]
            .iter()
            .map(|s| s.to_string())
            .collect();
        assert_eq!(normalize(&segs), vec!["teams", "a", "operations", "b"]);
    }
}
