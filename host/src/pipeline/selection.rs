//! Which tools this server offers: the operator's choice (`--tools` /
//! `M365_TOOLS` globs with `!` to exclude, `--plugins` / `M365_PLUGINS`) and
//! read-only mode (`--read-only` / `M365_READ_ONLY`), which keeps only tools
//! annotated read-only. A tool left out is neither listed nor callable, and
//! `m365-admin tools` says why each is in or out.

#[derive(Clone, Debug, Default)]
pub struct Selection {
    pub read_only: bool,
    include: Vec<String>,
    exclude: Vec<String>,
    plugins: Option<Vec<String>>,
}

/// Why a tool is left out.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Out {
    ReadOnlyMode,
    NotSelected(String),
    PluginNotSelected,
}

impl Out {
    pub fn explain(&self, tool: &str) -> String {
        match self {
            Out::ReadOnlyMode => format!(
                "Read-only mode is on (--read-only / M365_READ_ONLY), and `{tool}` can change the tenant; it is not available. Ask the operator to restart the server without read-only mode to use it."
            ),
            Out::NotSelected(why) => format!(
                "`{tool}` is not enabled on this server ({why}); ask the operator to add it to --tools / M365_TOOLS."
            ),
            Out::PluginNotSelected => format!(
                "`{tool}` belongs to a plugin not enabled on this server (--plugins / M365_PLUGINS); ask the operator to enable it."
            ),
        }
    }
}

/// `*` any run of characters, `?` one character; case-sensitive, as tool
/// names are.
pub fn glob(pattern: &str, name: &str) -> bool {
    fn go(p: &[u8], n: &[u8]) -> bool {
        match (p.first(), n.first()) {
            (None, None) => true,
            (Some(b'*'), _) => go(&p[1..], n) || (!n.is_empty() && go(p, &n[1..])),
            (Some(b'?'), Some(_)) => go(&p[1..], &n[1..]),
            (Some(a), Some(b)) if a == b => go(&p[1..], &n[1..]),
            _ => false,
        }
    }
    go(pattern.as_bytes(), name.as_bytes())
}

fn list(text: Option<&str>) -> Vec<String> {
    text.map(|t| {
        t.split(',')
            .map(|s| s.trim().to_string())
            .filter(|s| !s.is_empty())
            .collect()
    })
    .unwrap_or_default()
}

impl Selection {
    pub fn new(read_only: bool, tools: Option<&str>, plugins: Option<&str>) -> Selection {
        let (exclude, include): (Vec<String>, Vec<String>) =
            list(tools).into_iter().partition(|p| p.starts_with('!'));
        Selection {
            read_only,
            include,
            exclude: exclude
                .into_iter()
                .map(|p| p.trim_start_matches('!').to_string())
                .collect(),
            plugins: plugins.map(|p| list(Some(p))),
        }
    }

    /// Ok with the reason a tool is in, or why it is out.
    pub fn decide(
        &self,
        tool: &str,
        plugin: &str,
        annotated_read_only: bool,
    ) -> Result<String, Out> {
        if let Some(plugins) = &self.plugins
            && !plugins.iter().any(|p| p == plugin)
        {
            return Err(Out::PluginNotSelected);
        }
        if let Some(p) = self.exclude.iter().find(|p| glob(p, tool)) {
            return Err(Out::NotSelected(format!("excluded by !{p}")));
        }
        let why = if self.include.is_empty() {
            "all tools are selected".to_string()
        } else {
            match self.include.iter().find(|p| glob(p, tool)) {
                Some(p) => format!("matches {p}"),
                None => {
                    return Err(Out::NotSelected(format!(
                        "matches none of {}",
                        self.include.join(", ")
                    )));
                }
            }
        };
        if self.read_only && !annotated_read_only {
            return Err(Out::ReadOnlyMode);
        }
        Ok(why)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn globs() {
        for (p, n, want) in [
            ("get_*", "get_user", true),
            ("get_*", "list_users", false),
            ("*_user", "create_user", true),
            ("?et_user", "get_user", true),
            ("*", "anything", true),
            ("list_users", "list_users", true),
            ("list_user", "list_users", false),
        ] {
            assert_eq!(glob(p, n), want, "{p} {n}");
        }
    }

    #[test]
    fn include_exclude_plugins_and_read_only() {
        let s = Selection::new(false, Some("get_*, list_*, !list_teams"), None);
        assert!(s.decide("get_user", "users", true).is_ok());
        assert!(s.decide("list_users", "users", true).is_ok());
        assert_eq!(
            s.decide("list_teams", "teams", true),
            Err(Out::NotSelected("excluded by !list_teams".into()))
        );
        assert!(matches!(
            s.decide("create_user", "users", false),
            Err(Out::NotSelected(_))
        ));
        let s = Selection::new(true, None, Some("users"));
        assert!(s.decide("get_user", "users", true).is_ok());
        assert_eq!(
            s.decide("create_user", "users", false),
            Err(Out::ReadOnlyMode)
        );
        assert_eq!(
            s.decide("send_from_template", "templates", false),
            Err(Out::PluginNotSelected)
        );
        let all = Selection::new(false, Some("!delete_*"), None);
        assert!(all.decide("create_user", "users", false).is_ok());
        assert!(all.decide("delete_user", "users", false).is_err());
    }
}
