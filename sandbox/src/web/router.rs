//! Route tables. Each face lists its endpoints as one static table of [`Route`]s — method,
//! path pattern, the permission it needs, handler — and [`find`] picks the one a request names,
//! so that every face answers the same way: the handler of the first pattern that matches the
//! path and allows the method; "method not allowed" for a path some pattern matches with other
//! methods only; "not found" at the first segment no pattern matches. The face turns the last
//! two into its service's error bodies and checks the permission before it calls the handler.
//!
//! A pattern is segments separated by `/`, matched without regard to case: a literal, a
//! `{name}` (any one segment, captured), or a `{name:type}` (a segment naming an OData type
//! cast, i.e. with a `.` in it). `""` is the root.

use http::Method;

/// The methods a route answers.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Verb {
    Get,
    Post,
    Put,
    Patch,
    Delete,
    /// Every method.
    Any,
    /// No method: a resource that exists but supports none here, so every method is "not
    /// allowed" rather than "not found".
    None,
}

impl Verb {
    fn allows(self, method: &Method) -> bool {
        match self {
            Verb::Get => method == Method::GET,
            Verb::Post => method == Method::POST,
            Verb::Put => method == Method::PUT,
            Verb::Patch => method == Method::PATCH,
            Verb::Delete => method == Method::DELETE,
            Verb::Any => true,
            Verb::None => false,
        }
    }
}

/// One line of a face's table: what the endpoint answers to, what the caller needs (`N`, the
/// face's own kind of requirement), and what handles it (`H`).
pub(crate) struct Route<N, H> {
    pub verb: Verb,
    pub path: &'static str,
    pub need: N,
    pub handler: H,
}

impl<N, H> Route<N, H> {
    pub const fn new(verb: Verb, path: &'static str, need: N, handler: H) -> Self {
        Route {
            verb,
            path,
            need,
            handler,
        }
    }
}

/// The segments a route's `{name}`s captured.
#[derive(Debug, Default)]
pub(crate) struct Params<'a>(Vec<(&'static str, &'a str)>);

impl<'a> Params<'a> {
    /// The segment captured as `name`; empty if the pattern has no such parameter.
    pub fn get(&self, name: &str) -> &'a str {
        self.0
            .iter()
            .find(|(n, _)| *n == name)
            .map(|(_, v)| *v)
            .unwrap_or_default()
    }
}

/// What a table has for a request.
pub(crate) enum Lookup<'r, 'a, N, H> {
    Route(&'r Route<N, H>, Params<'a>),
    /// A pattern matches the path, but not with this method.
    MethodNotAllowed,
    /// No pattern matches; `at` is the index of the first segment none of them matches (the
    /// last segment when the path is a prefix of some pattern).
    NotFound {
        at: usize,
    },
}

/// The route for `method` on `segs`: among the routes whose pattern is the first to match the
/// path, the one that allows the method.
pub(crate) fn find<'r, 'a, N, H>(
    routes: &'r [Route<N, H>],
    method: &Method,
    segs: &[&'a str],
) -> Lookup<'r, 'a, N, H> {
    let mut matched: Option<&str> = None;
    let mut deepest = 0;
    for route in routes {
        if matched.is_some_and(|p| p != route.path) {
            continue;
        }
        match match_path(route.path, segs) {
            Ok(params) => {
                matched = Some(route.path);
                if route.verb.allows(method) {
                    return Lookup::Route(route, params);
                }
            }
            Err(depth) => deepest = deepest.max(depth),
        }
    }
    if matched.is_some() {
        Lookup::MethodNotAllowed
    } else {
        Lookup::NotFound {
            at: deepest.min(segs.len().saturating_sub(1)),
        }
    }
}

/// Whether some route's pattern matches the path, whatever the method.
pub(crate) fn knows<N, H>(routes: &[Route<N, H>], segs: &[&str]) -> bool {
    routes.iter().any(|r| match_path(r.path, segs).is_ok())
}

/// The parameters `pattern` captures from `segs`, or how many leading segments it matched.
fn match_path<'a>(pattern: &'static str, segs: &[&'a str]) -> Result<Params<'a>, usize> {
    let mut params = Params::default();
    let mut n = 0;
    for (i, p) in pattern.split('/').filter(|p| !p.is_empty()).enumerate() {
        let Some(seg) = segs.get(i) else {
            return Err(segs.len());
        };
        match p.strip_prefix('{').and_then(|p| p.strip_suffix('}')) {
            Some(name) => {
                let name = match name.split_once(':') {
                    Some((_name, "type")) if !seg.contains('.') => return Err(i),
                    Some((name, _)) => name,
                    None => name,
                };
                params.0.push((name, seg));
            }
            None if p.eq_ignore_ascii_case(seg) => {}
            None => return Err(i),
        }
        n = i + 1;
    }
    if segs.len() > n {
        return Err(n);
    }
    Ok(params)
}

#[cfg(test)]
mod tests {
    use super::*;

    const ROUTES: &[Route<(), &str>] = &[
        Route::new(Verb::Any, "", (), "root"),
        Route::new(Verb::Get, "users", (), "list"),
        Route::new(Verb::Post, "users", (), "create"),
        Route::new(Verb::Get, "users/{id}", (), "get"),
        Route::new(Verb::Get, "items/{cast:type}", (), "cast"),
        Route::new(Verb::Delete, "items/{id}", (), "purge"),
        Route::new(Verb::Get, "items/{id}", (), "item"),
        Route::new(Verb::None, "frozen", (), "never"),
    ];

    fn found(method: Method, path: &str) -> String {
        let segs: Vec<&str> = path.split('/').filter(|s| !s.is_empty()).collect();
        match find(ROUTES, &method, &segs) {
            Lookup::Route(r, p) => format!("{} {}", r.handler, p.get("id")),
            Lookup::MethodNotAllowed => "405".into(),
            Lookup::NotFound { at } => format!("404 at {at}"),
        }
    }

    #[test]
    fn routes_table() {
        for (method, path, want) in [
            (Method::DELETE, "", "root "),
            (Method::GET, "Users", "list "),
            (Method::POST, "users", "create "),
            (Method::PATCH, "users", "405"),
            (Method::GET, "users/ABC", "get ABC"),
            (Method::DELETE, "users/ABC", "405"),
            (Method::GET, "users/ABC/x/y", "404 at 2"),
            (Method::GET, "nothing/here", "404 at 0"),
            (Method::GET, "items/microsoft.graph.group", "cast "),
            // The first pattern to match decides: a cast has no DELETE.
            (Method::DELETE, "items/microsoft.graph.group", "405"),
            (Method::DELETE, "items/42", "purge 42"),
            (Method::GET, "items/42", "item 42"),
            (Method::GET, "frozen", "405"),
        ] {
            assert_eq!(found(method.clone(), path), want, "{method} {path}");
        }
        assert!(knows(ROUTES, &["users", "x"]));
        assert!(!knows(ROUTES, &["users", "x", "y"]));
    }
}
