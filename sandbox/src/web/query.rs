//! OData query options as Graph's directory handles them for users: `$select`, `$top`,
//! `$skiptoken` and the `$filter` subset we support (`eq` and `startswith`, joined by `and`).

use serde_json::Value;

use super::reply::GraphError;

/// The query options of one request (with or without the `$` prefix, as Graph accepts).
#[derive(Debug, Default, Clone)]
pub(crate) struct Query {
    pub pairs: Vec<(String, String)>,
}

impl Query {
    pub fn parse(raw: Option<&str>) -> Self {
        Query {
            pairs: raw
                .map(|q| {
                    url::form_urlencoded::parse(q.as_bytes())
                        .into_owned()
                        .collect()
                })
                .unwrap_or_default(),
        }
    }

    /// The value of `$name` (or `name`), matched case-insensitively.
    pub fn get(&self, name: &str) -> Option<&str> {
        self.pairs
            .iter()
            .find(|(k, _)| {
                let k = k.strip_prefix('$').unwrap_or(k);
                k.eq_ignore_ascii_case(name)
            })
            .map(|(_, v)| v.as_str())
    }

    /// Refuses system query options this resource does not support.
    pub fn only(&self, supported: &[&str]) -> Result<(), GraphError> {
        for (k, _) in &self.pairs {
            if let Some(opt) = k.strip_prefix('$')
                && !supported.iter().any(|s| s.eq_ignore_ascii_case(opt))
            {
                return Err(GraphError::new(
                    http::StatusCode::BAD_REQUEST,
                    "Request_UnsupportedQuery",
                    format!("The query option '${opt}' is not supported for this request."),
                ));
            }
        }
        Ok(())
    }
}

/// One `$filter` clause.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Clause {
    Eq(String, Literal),
    StartsWith(String, String),
}

#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Literal {
    Str(String),
    Bool(bool),
    Null,
}

#[derive(Debug, Clone, PartialEq)]
enum Tok {
    Ident(String),
    Str(String),
    Open,
    Close,
    Comma,
}

fn invalid(detail: &str) -> GraphError {
    GraphError::odata(format!("Invalid filter clause: {detail}"))
}

fn tokenize(s: &str) -> Result<Vec<Tok>, GraphError> {
    let chars: Vec<char> = s.chars().collect();
    let mut out = Vec::new();
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        match c {
            ' ' | '\t' => i += 1,
            '(' => {
                out.push(Tok::Open);
                i += 1;
            }
            ')' => {
                out.push(Tok::Close);
                i += 1;
            }
            ',' => {
                out.push(Tok::Comma);
                i += 1;
            }
            '\'' => {
                let mut lit = String::new();
                i += 1;
                loop {
                    match chars.get(i) {
                        None => return Err(invalid("unterminated string literal.")),
                        Some('\'') if chars.get(i + 1) == Some(&'\'') => {
                            lit.push('\'');
                            i += 2;
                        }
                        Some('\'') => {
                            i += 1;
                            break;
                        }
                        Some(ch) => {
                            lit.push(*ch);
                            i += 1;
                        }
                    }
                }
                out.push(Tok::Str(lit));
            }
            c if c.is_alphanumeric() || c == '_' || c == '/' || c == '.' || c == '@' => {
                let start = i;
                while i < chars.len() && (chars[i].is_alphanumeric() || "_/.@-".contains(chars[i]))
                {
                    i += 1;
                }
                out.push(Tok::Ident(chars[start..i].iter().collect()));
            }
            other => return Err(invalid(&format!("unexpected character '{other}'."))),
        }
    }
    Ok(out)
}

/// Parses `$filter` into clauses, all of which must hold. `eq_props` may be compared with `eq`,
/// `prefix_props` with `startswith`; anything else is `Request_UnsupportedQuery`.
pub(crate) fn parse_filter(
    s: &str,
    resource: &str,
    eq_props: &[&str],
    prefix_props: &[&str],
) -> Result<Vec<Clause>, GraphError> {
    let unsupported = |prop: &str| {
        GraphError::new(
            http::StatusCode::BAD_REQUEST,
            "Request_UnsupportedQuery",
            format!(
                "Unsupported or invalid query filter clause specified for property '{prop}' of resource '{resource}'."
            ),
        )
    };
    let canonical = |prop: &str, allowed: &[&str]| {
        allowed
            .iter()
            .find(|a| a.eq_ignore_ascii_case(prop))
            .map(|a| a.to_string())
            .ok_or_else(|| unsupported(prop))
    };
    let toks = tokenize(s)?;
    let mut clauses = Vec::new();
    let mut i = 0;
    loop {
        match toks.get(i..) {
            Some(
                [
                    Tok::Ident(f),
                    Tok::Open,
                    Tok::Ident(prop),
                    Tok::Comma,
                    Tok::Str(v),
                    Tok::Close,
                    ..,
                ],
            ) if f.eq_ignore_ascii_case("startswith") => {
                clauses.push(Clause::StartsWith(
                    canonical(prop, prefix_props)?,
                    v.clone(),
                ));
                i += 6;
            }
            Some([Tok::Ident(prop), Tok::Ident(op), lit, ..]) if op.eq_ignore_ascii_case("eq") => {
                let lit = match lit {
                    Tok::Str(v) => Literal::Str(v.clone()),
                    Tok::Ident(b) if b == "true" => Literal::Bool(true),
                    Tok::Ident(b) if b == "false" => Literal::Bool(false),
                    Tok::Ident(b) if b == "null" => Literal::Null,
                    _ => return Err(invalid("expected a literal after 'eq'.")),
                };
                clauses.push(Clause::Eq(canonical(prop, eq_props)?, lit));
                i += 3;
            }
            Some([Tok::Ident(prop), Tok::Ident(op), ..]) => {
                let op = op.to_ascii_lowercase();
                if ["ne", "gt", "ge", "lt", "le", "in", "has"].contains(&op.as_str()) {
                    return Err(unsupported(prop));
                }
                return Err(invalid(&format!("unknown operator '{op}'.")));
            }
            Some([Tok::Ident(f), Tok::Open, ..]) => return Err(unsupported(f)),
            _ => return Err(invalid("the expression is not well formed.")),
        }
        match toks.get(i) {
            None => break,
            Some(Tok::Ident(kw)) if kw.eq_ignore_ascii_case("and") => i += 1,
            Some(Tok::Ident(kw)) if kw.eq_ignore_ascii_case("or") => {
                return Err(GraphError::new(
                    http::StatusCode::BAD_REQUEST,
                    "Request_UnsupportedQuery",
                    "The 'or' operator is not supported by the sandbox tenant.",
                ));
            }
            _ => return Err(invalid("expected 'and' between clauses.")),
        }
    }
    Ok(clauses)
}

/// Whether an object (its Graph JSON) satisfies every clause; string comparisons ignore case,
/// as the directory's do.
pub(crate) fn matches(clauses: &[Clause], object: &Value) -> bool {
    clauses.iter().all(|c| match c {
        Clause::Eq(p, Literal::Str(v)) => object[p]
            .as_str()
            .is_some_and(|s| s.to_lowercase() == v.to_lowercase()),
        Clause::Eq(p, Literal::Bool(b)) => object[p].as_bool() == Some(*b),
        Clause::Eq(p, Literal::Null) => object[p].is_null(),
        Clause::StartsWith(p, v) => object[p]
            .as_str()
            .is_some_and(|s| s.to_lowercase().starts_with(&v.to_lowercase())),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    const EQ: &[&str] = &["displayName", "accountEnabled", "mail"];
    const SW: &[&str] = &["displayName"];

    #[test]
    fn parses_supported_filters() {
        let cases = [
            (
                "displayName eq 'O''Brien'",
                vec![Clause::Eq(
                    "displayName".into(),
                    Literal::Str("O'Brien".into()),
                )],
            ),
            (
                "startswith(DisplayName,'Al') and accountEnabled eq true",
                vec![
                    Clause::StartsWith("displayName".into(), "Al".into()),
                    Clause::Eq("accountEnabled".into(), Literal::Bool(true)),
                ],
            ),
            (
                "mail eq null",
                vec![Clause::Eq("mail".into(), Literal::Null)],
            ),
        ];
        for (input, want) in cases {
            assert_eq!(
                parse_filter(input, "User", EQ, SW).unwrap(),
                want,
                "{input}"
            );
        }
    }

    #[test]
    fn rejects_unsupported_filters() {
        let cases = [
            ("jobTitle eq 'x'", "Request_UnsupportedQuery"),
            ("startswith(mail,'x')", "Request_UnsupportedQuery"),
            ("displayName ne 'x'", "Request_UnsupportedQuery"),
            (
                "displayName eq 'x' or displayName eq 'y'",
                "Request_UnsupportedQuery",
            ),
            ("displayName eq 'x", "BadRequest"),
            ("displayName eq", "BadRequest"),
            ("displayName eq 'x' displayName eq 'y'", "BadRequest"),
        ];
        for (input, code) in cases {
            assert_eq!(
                parse_filter(input, "User", EQ, SW).unwrap_err().code,
                code,
                "{input}"
            );
        }
    }

    #[test]
    fn matching_ignores_case() {
        let user = json!({"displayName": "Alice Smith", "accountEnabled": true, "mail": null});
        let f = parse_filter(
            "startswith(displayName,'al') and mail eq null",
            "User",
            EQ,
            SW,
        )
        .unwrap();
        assert!(matches(&f, &user));
        let f = parse_filter(
            "displayName eq 'ALICE SMITH' and accountEnabled eq false",
            "User",
            EQ,
            SW,
        )
        .unwrap();
        assert!(!matches(&f, &user));
    }
}
