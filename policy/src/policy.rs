//! A plugin's resolved policy: the second stage after `GrantsSection`, and
//! the one value that answers every check the host makes on the plugin's
//! behalf with `Ok(())` or a `Denial`. The checks, in the order the gate
//! applies them to a request:
//!
//! 1. `check_request`: scheme `https`; authority `graph.microsoft.com`
//!    (then `check_graph`) or `outlook.office365.com` (this tenant's
//!    `InvokeCommand` only); anything else is refused.
//! 2. `check_graph`: the path normalised, refused in read-only mode unless a
//!    `GET` (a `$batch` passes, its requests are judged one by one), then
//!    matched against the Graph grants.
//! 3. `judge_batch` (a `$batch`'s body) and `judge_exchange_body` (an
//!    `InvokeCommand` body): each inner request or the cmdlet judged, and the
//!    body rebuilt from what was judged.
//!
//! `check_store` and `check_addin_manifests` judge the two host imports that
//! need a grant.

use crate::batch::{self, JudgedBatch};
use crate::denial::{Denial, DenialKind, GraphRequest};
use crate::exchange::{self, CmdletGrant, Command, EXCHANGE_AUTHORITY, JudgedCommand};
use crate::grant::Grant;
use crate::graph::{GRAPH_AUTHORITY, GraphPolicy, normalize_path};
use http::{Method, Uri};

/// Whether the operator switched read-only mode on: only reads reach the
/// tenant, whatever a tool claims.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Mode {
    #[default]
    ReadWrite,
    ReadOnly,
}

/// Where an allowed request goes, and what of its body must be judged next.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Route {
    /// Graph; the body is not looked at.
    Graph,
    /// Graph's `$batch`: `judge_batch` must pass its body.
    GraphBatch,
    /// Exchange's `InvokeCommand`: `judge_exchange_body` must pass its body.
    Exchange,
}

/// What the host enforces for one plugin.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Policy {
    graph: GraphPolicy,
    exchange: Vec<CmdletGrant>,
    store: bool,
    addin_manifests: bool,
}

impl Policy {
    pub(crate) fn new(
        graph: GraphPolicy,
        exchange: Vec<CmdletGrant>,
        store: bool,
        addin_manifests: bool,
    ) -> Policy {
        Policy {
            graph,
            exchange,
            store,
            addin_manifests,
        }
    }

    /// The Graph grants.
    pub fn graph(&self) -> &GraphPolicy {
        &self.graph
    }

    /// A request as the plugin sent it. `tenant` is the connected tenant's
    /// id, empty when there is none (then no Exchange request is allowed).
    pub fn check_request(
        &self,
        method: &Method,
        uri: &Uri,
        tenant: &str,
        mode: Mode,
    ) -> Result<Route, Denial> {
        if uri.scheme_str() != Some("https") {
            return Err(DenialKind::Scheme {
                scheme: uri.scheme_str().unwrap_or("").into(),
            }
            .into());
        }
        let authority = uri.authority().map(|a| a.as_str()).unwrap_or("");
        if authority.eq_ignore_ascii_case(EXCHANGE_AUTHORITY) {
            return exchange::check_endpoint(method, uri, tenant).map(|()| Route::Exchange);
        }
        if !authority.eq_ignore_ascii_case(GRAPH_AUTHORITY) {
            return Err(DenialKind::Authority {
                authority: authority.into(),
            }
            .into());
        }
        self.check_graph(method, uri.path(), mode)
    }

    /// A Graph request's method and path (without query). The decision is
    /// made on the decoded path, the one Graph acts on: `/v1.0/%24batch` is
    /// a `$batch`.
    pub fn check_graph(&self, method: &Method, path: &str, mode: Mode) -> Result<Route, Denial> {
        let segments = normalize_path(path).map_err(|error| DenialKind::GraphPath {
            path: path.into(),
            error,
        })?;
        let request = || GraphRequest {
            method: method.to_string(),
            path: format!("/{}", segments.join("/")),
        };
        // A $batch is a POST that may only read: its requests are judged one
        // by one, under the same rule.
        let is_batch = segments.len() == 1 && segments[0].eq_ignore_ascii_case("$batch");
        if mode == Mode::ReadOnly && *method != Method::GET && !is_batch {
            return Err(DenialKind::GraphReadOnly(request()).into());
        }
        if !self.graph.allows(method.as_str(), &segments) {
            return Err(DenialKind::GraphNotGranted(request()).into());
        }
        Ok(if is_batch {
            Route::GraphBatch
        } else {
            Route::Graph
        })
    }

    /// One request inside a `$batch`: a URL relative to `/v1.0`, judged as
    /// `http::Uri` reads it, by the same rules as any Graph request; and not
    /// itself a `$batch`.
    pub fn check_batch_request(&self, method: &str, url: &str, mode: Mode) -> Result<(), Denial> {
        if url.contains("://") {
            return Err(DenialKind::BatchAbsoluteUrl { url: url.into() }.into());
        }
        let path = url.split('?').next().unwrap_or("");
        let full = format!("/v1.0/{}", path.trim_start_matches('/'));
        let method = Method::from_bytes(method.to_ascii_uppercase().as_bytes())
            .map_err(|_| Denial::from(DenialKind::BatchMethod))?;
        let uri: Uri = format!("https://{GRAPH_AUTHORITY}{full}")
            .parse()
            .map_err(|_| Denial::from(DenialKind::BatchUrl { url: url.into() }))?;
        match self.check_graph(&method, uri.path(), mode) {
            Ok(Route::GraphBatch) => Err(DenialKind::BatchNested.into()),
            Ok(_) => Ok(()),
            Err(denial) => Err(denial.in_batch()),
        }
    }

    /// A `$batch` body: every request judged, and the body to send rebuilt
    /// from the judged fields.
    pub fn judge_batch(&self, body: &[u8], mode: Mode) -> Result<JudgedBatch, Denial> {
        batch::judge(body, |method, url| {
            self.check_batch_request(method, url, mode)
        })
    }

    /// A cmdlet, by the name the request gives (any case).
    pub fn check_cmdlet(&self, cmdlet: &str, mode: Mode) -> Result<(), Denial> {
        if mode == Mode::ReadOnly && !exchange::reads_only(cmdlet) {
            return Err(DenialKind::CmdletReadOnly {
                cmdlet: cmdlet.into(),
            }
            .into());
        }
        if !self.exchange.iter().any(|g| g.allows(cmdlet)) {
            return Err(DenialKind::CmdletNotGranted {
                cmdlet: cmdlet.into(),
            }
            .into());
        }
        Ok(())
    }

    /// An `InvokeCommand` body: the cmdlet judged, and the body to send
    /// rebuilt from the cmdlet and its parameters alone.
    pub fn judge_exchange_body(&self, body: &[u8], mode: Mode) -> Result<JudgedCommand, Denial> {
        let command = Command::parse(body)?;
        self.check_cmdlet(&command.cmdlet, mode)?;
        Ok(JudgedCommand {
            body: command.to_body(),
            cmdlet: command.cmdlet,
        })
    }

    /// The plugin's own documents and logs.
    pub fn check_store(&self) -> Result<(), Denial> {
        if self.store {
            Ok(())
        } else {
            Err(DenialKind::StoreNotGranted.into())
        }
    }

    /// An Outlook add-in manifest fetched and checked by the host.
    pub fn check_addin_manifests(&self) -> Result<(), Denial> {
        if self.addin_manifests {
            Ok(())
        } else {
            Err(DenialKind::AddinManifestsNotGranted.into())
        }
    }

    /// Every grant, once each, in the order of their canonical text.
    pub fn grants(&self) -> Vec<Grant> {
        let mut out: Vec<Grant> = self
            .graph
            .grants()
            .iter()
            .cloned()
            .map(Grant::Graph)
            .chain(self.exchange.iter().cloned().map(Grant::Exchange))
            .chain(self.store.then_some(Grant::Store))
            .chain(self.addin_manifests.then_some(Grant::AddinManifests))
            .collect();
        out.sort_by_cached_key(Grant::to_string);
        out.dedup();
        out
    }

    /// The grants in canonical text, for approval records and display:
    /// `graph:GET /users/*`, `exchange:get-mailbox`, `store`,
    /// `addin-manifests`, sorted.
    pub fn grant_list(&self) -> Vec<String> {
        self.grants().iter().map(Grant::to_string).collect()
    }

    /// The grants `approved` does not hold, in canonical order: what a
    /// folder plugin asks for beyond its approval.
    pub fn beyond(&self, approved: &[Grant]) -> Vec<Grant> {
        self.grants()
            .into_iter()
            .filter(|g| !approved.contains(g))
            .collect()
    }

    /// Whether every grant is one `approved` holds.
    pub fn is_subset_of(&self, approved: &[Grant]) -> bool {
        self.beyond(approved).is_empty()
    }
}

impl FromIterator<Grant> for Policy {
    fn from_iter<I: IntoIterator<Item = Grant>>(grants: I) -> Policy {
        let mut policy = Policy::default();
        let mut graph = Vec::new();
        for grant in grants {
            match grant {
                Grant::Graph(g) => graph.push(g),
                Grant::Exchange(c) => policy.exchange.push(c),
                Grant::Store => policy.store = true,
                Grant::AddinManifests => policy.addin_manifests = true,
            }
        }
        policy.graph = graph.into_iter().collect();
        policy
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::codes::ErrorCode;
    use crate::section::GrantsSection;
    use serde_json::{Value, json};

    const TENANT: &str = "0b6f1e2a-tenant";

    fn policy(graph: &[&str], exchange: &[&str]) -> Policy {
        GrantsSection {
            graph: graph.iter().map(|g| g.to_string()).collect(),
            exchange: exchange.iter().map(|c| c.to_string()).collect(),
            ..Default::default()
        }
        .resolve()
        .unwrap()
    }

    /// The outcome as the caller sees it: the route, or the code and the
    /// reason the gate shows.
    fn outcome(r: Result<Route, Denial>) -> Result<Route, (ErrorCode, String)> {
        r.map_err(|d| (d.code(), d.to_string()))
    }

    fn refused(code: ErrorCode, why: &str) -> Result<Route, (ErrorCode, String)> {
        Err((code, why.to_string()))
    }

    const NOT_GRANTED_USERS_X: &str = "its manifest grants no `DELETE /users/x`; add that grant to the manifest and approve it to allow this request.";

    #[test]
    fn requests_table() {
        use ErrorCode::{Perm001, Plugin001};
        use Mode::{ReadOnly, ReadWrite};
        let p = policy(
            &["GET /users/*", "PATCH /users/*", "POST /$batch"],
            &["Get-Mailbox"],
        );
        let exo = "https://outlook.office365.com/adminapi/beta/0b6f1e2a-tenant/InvokeCommand";
        let cases = [
            // exact and wildcard, through the authority's case
            (
                "GET",
                "https://graph.microsoft.com/v1.0/users/a@b.com",
                ReadWrite,
                Ok(Route::Graph),
            ),
            (
                "GET",
                "https://graph.microsoft.com/v1.0/users/a%40b.com",
                ReadOnly,
                Ok(Route::Graph),
            ),
            (
                "GET",
                "https://GRAPH.microsoft.com/v1.0/Users/x",
                ReadWrite,
                Ok(Route::Graph),
            ),
            (
                "PATCH",
                "https://graph.microsoft.com/v1.0/users/x",
                ReadWrite,
                Ok(Route::Graph),
            ),
            // not granted: method, too many segments, too few
            (
                "DELETE",
                "https://graph.microsoft.com/v1.0/users/x",
                ReadWrite,
                refused(Plugin001, NOT_GRANTED_USERS_X),
            ),
            (
                "GET",
                "https://graph.microsoft.com/v1.0/users/x/manager",
                ReadWrite,
                refused(
                    Plugin001,
                    "its manifest grants no `GET /users/x/manager`; add that grant to the manifest and approve it to allow this request.",
                ),
            ),
            (
                "GET",
                "https://graph.microsoft.com/v1.0/users",
                ReadWrite,
                refused(
                    Plugin001,
                    "its manifest grants no `GET /users`; add that grant to the manifest and approve it to allow this request.",
                ),
            ),
            // a query cannot change the path judged
            (
                "GET",
                "https://graph.microsoft.com/v1.0/groups?u=/users/x",
                ReadWrite,
                refused(
                    Plugin001,
                    "its manifest grants no `GET /groups`; add that grant to the manifest and approve it to allow this request.",
                ),
            ),
            // path tricks
            (
                "GET",
                "https://graph.microsoft.com/v1.0/users/x/../../groups",
                ReadWrite,
                refused(
                    Plugin001,
                    "/v1.0/users/x/../../groups (the path has an empty, `.` or `..` segment).",
                ),
            ),
            (
                "GET",
                "https://graph.microsoft.com/v1.0/users/%2e%2e",
                ReadWrite,
                refused(
                    Plugin001,
                    "/v1.0/users/%2e%2e (the path has an encoded `/`, `\\`, `.` or `%`, or a control character).",
                ),
            ),
            (
                "GET",
                "https://graph.microsoft.com/beta/users/x",
                ReadWrite,
                refused(
                    Plugin001,
                    "/beta/users/x (the path must start with /v1.0/).",
                ),
            ),
            // scheme and authority
            (
                "GET",
                "http://graph.microsoft.com/v1.0/users/x",
                ReadWrite,
                refused(Plugin001, "only https is allowed, not \"http\"."),
            ),
            (
                "GET",
                "https://example.com/v1.0/users/x",
                ReadWrite,
                refused(
                    Plugin001,
                    "host \"example.com\" is not granted; a plugin may reach only graph.microsoft.com (and outlook.office365.com for granted cmdlets).",
                ),
            ),
            (
                "GET",
                "https://graph.microsoft.com:8443/v1.0/users/x",
                ReadWrite,
                refused(
                    Plugin001,
                    "host \"graph.microsoft.com:8443\" is not granted; a plugin may reach only graph.microsoft.com (and outlook.office365.com for granted cmdlets).",
                ),
            ),
            (
                "GET",
                "https://[::1]/v1.0/users/x",
                ReadWrite,
                refused(
                    Plugin001,
                    "host \"[::1]\" is not granted; a plugin may reach only graph.microsoft.com (and outlook.office365.com for granted cmdlets).",
                ),
            ),
            // read-only: judged before the grants, a $batch passes to be looked into
            (
                "PATCH",
                "https://graph.microsoft.com/v1.0/users/x",
                ReadOnly,
                refused(
                    Perm001,
                    "read-only mode is on, so `PATCH /users/x` is not sent; only reads reach the tenant.",
                ),
            ),
            (
                "DELETE",
                "https://graph.microsoft.com/v1.0/users/x",
                ReadOnly,
                refused(
                    Perm001,
                    "read-only mode is on, so `DELETE /users/x` is not sent; only reads reach the tenant.",
                ),
            ),
            (
                "POST",
                "https://graph.microsoft.com/v1.0/$batch",
                ReadOnly,
                Ok(Route::GraphBatch),
            ),
            (
                "POST",
                "https://graph.microsoft.com/v1.0/%24batch",
                ReadWrite,
                Ok(Route::GraphBatch),
            ),
            (
                "POST",
                "https://graph.microsoft.com/v1.0/$Batch",
                ReadWrite,
                Ok(Route::GraphBatch),
            ),
            // Exchange: this tenant's InvokeCommand only; the cmdlet is judged with the body
            ("POST", exo, ReadOnly, Ok(Route::Exchange)),
            (
                "POST",
                "https://Outlook.Office365.com/adminapi/beta/0b6f1e2a-tenant/invokecommand",
                ReadWrite,
                Ok(Route::Exchange),
            ),
            (
                "GET",
                exo,
                ReadWrite,
                refused(
                    Plugin001,
                    "Exchange Online is reachable only as `POST /adminapi/beta/{tenant}/InvokeCommand` for this tenant, not `GET /adminapi/beta/0b6f1e2a-tenant/InvokeCommand`.",
                ),
            ),
            (
                "POST",
                "https://outlook.office365.com/adminapi/beta/other/InvokeCommand",
                ReadWrite,
                refused(
                    Plugin001,
                    "Exchange Online is reachable only as `POST /adminapi/beta/{tenant}/InvokeCommand` for this tenant, not `POST /adminapi/beta/other/InvokeCommand`.",
                ),
            ),
        ];
        for (method, url, mode, want) in cases {
            let method = Method::from_bytes(method.as_bytes()).unwrap();
            let uri: Uri = url.parse().unwrap();
            assert_eq!(
                outcome(p.check_request(&method, &uri, TENANT, mode)),
                want,
                "{method} {url} {mode:?}"
            );
        }
        // No tenant connection: no Exchange request at all.
        let uri: Uri = "https://outlook.office365.com/adminapi/beta//InvokeCommand"
            .parse()
            .unwrap();
        assert!(
            p.check_request(&Method::POST, &uri, "", Mode::ReadWrite)
                .is_err()
        );
    }

    /// What a body check should give: a value, or the code and reason.
    type Want<T> = Result<T, (ErrorCode, &'static str)>;

    fn batch(requests: Value) -> Vec<u8> {
        json!({ "requests": requests }).to_string().into_bytes()
    }

    #[test]
    fn batch_table() {
        use ErrorCode::{Perm001, Plugin001};
        use Mode::{ReadOnly, ReadWrite};
        let p = policy(&["GET /users/*", "PATCH /users/*", "POST /$batch"], &[]);
        let no_nesting = policy(&["GET /users/*"], &[]);
        let get = |url: &str| json!({"id": "1", "method": "GET", "url": url});
        let many: Vec<Value> = (0..21).map(|_| get("/users/a")).collect();
        let twenty: Vec<Value> = (0..20).map(|_| get("/users/a")).collect();
        let cases: Vec<(&Policy, Vec<u8>, Mode, Want<u32>)> = vec![
            (
                &p,
                batch(json!([get("/users/a"), get("users/b?$select=id")])),
                ReadOnly,
                Ok(2),
            ),
            (&p, batch(json!(twenty)), ReadWrite, Ok(20)),
            (
                &p,
                batch(json!([{"id": "1", "method": "patch", "url": "/users/a"}])),
                ReadWrite,
                Ok(1),
            ),
            (
                &p,
                batch(json!([get("/users/a"), {"id": "2", "method": "PATCH", "url": "/users/a"}])),
                ReadOnly,
                Err((
                    Perm001,
                    "inside $batch: read-only mode is on, so `PATCH /users/a` is not sent; only reads reach the tenant.",
                )),
            ),
            (
                &p,
                batch(json!([{"id": "1", "method": "DELETE", "url": "/users/a"}])),
                ReadWrite,
                Err((
                    Plugin001,
                    "inside $batch: its manifest grants no `DELETE /users/a`; add that grant to the manifest and approve it to allow this request.",
                )),
            ),
            (
                &p,
                batch(json!([get("/users/../groups")])),
                ReadWrite,
                Err((
                    Plugin001,
                    "inside $batch: /v1.0/users/../groups (the path has an empty, `.` or `..` segment).",
                )),
            ),
            (
                &p,
                batch(json!(many)),
                ReadWrite,
                Err((
                    Plugin001,
                    "its $batch has 21 requests; Graph takes at most 20.",
                )),
            ),
            (
                &p,
                batch(json!([get("https://evil.example/v1.0/users")])),
                ReadWrite,
                Err((
                    Plugin001,
                    "a $batch request names an absolute URL (https://evil.example/v1.0/users).",
                )),
            ),
            (
                &p,
                batch(json!([{"id": "1", "url": "/users/a"}])),
                ReadWrite,
                Err((Plugin001, "a $batch request has no valid method.")),
            ),
            (
                &p,
                batch(json!([get("/users/a b")])),
                ReadWrite,
                Err((
                    Plugin001,
                    "a $batch request has an unusable URL (/users/a b).",
                )),
            ),
            (
                &p,
                batch(
                    json!([{"id": "1", "method": "POST", "url": "/$batch", "body": {"requests": []}}]),
                ),
                ReadOnly,
                Err((Plugin001, "a $batch request may not be another $batch.")),
            ),
            (
                &no_nesting,
                batch(json!([{"id": "1", "method": "POST", "url": "/$batch"}])),
                ReadWrite,
                Err((
                    Plugin001,
                    "inside $batch: its manifest grants no `POST /$batch`; add that grant to the manifest and approve it to allow this request.",
                )),
            ),
            (
                &p,
                b"{\"requests\": [".to_vec(),
                ReadWrite,
                Err((Plugin001, "its $batch body is not JSON.")),
            ),
            (
                &p,
                b"{\"Requests\": []}".to_vec(),
                ReadWrite,
                Err((Plugin001, "its $batch body has no `requests` array.")),
            ),
        ];
        for (policy, body, mode, want) in cases {
            let got = policy
                .judge_batch(&body, mode)
                .map(|j| j.requests)
                .map_err(|d| (d.code(), d.to_string()));
            let want = want.map_err(|(c, w)| (c, w.to_string()));
            assert_eq!(got, want, "{} {mode:?}", String::from_utf8_lossy(&body));
        }
    }

    #[test]
    fn a_batch_is_sent_as_judged() {
        let p = policy(&["GET /users/*"], &[]);
        let body = br#"{"requests":[{"id":"1","method":"get","url":"/users/a","URL":"/users/a/manager",
                        "headers":{"ConsistencyLevel":"eventual"}}],"Requests":[{"id":"2","method":"DELETE","url":"/users/a"}]}"#;
        let judged = p.judge_batch(body, Mode::ReadWrite).unwrap();
        assert_eq!(judged.requests, 1, "one request inside");
        let sent: Value = serde_json::from_str(&judged.body).unwrap();
        assert_eq!(
            sent,
            json!({"requests": [{"id": "1", "method": "GET", "url": "/users/a",
                                 "headers": {"ConsistencyLevel": "eventual"}}]})
        );
    }

    fn command(cmdlet: &str) -> Vec<u8> {
        json!({"CmdletInput": {"CmdletName": cmdlet, "Parameters": {"Identity": "a"}}})
            .to_string()
            .into_bytes()
    }

    #[test]
    fn exchange_table() {
        use ErrorCode::{Perm001, Plugin001};
        use Mode::{ReadOnly, ReadWrite};
        let p = policy(&[], &["Get-Mailbox", "Set-Mailbox"]);
        let cases: Vec<(Vec<u8>, Mode, Want<&str>)> = vec![
            (command("Get-Mailbox"), ReadOnly, Ok("Get-Mailbox")),
            // cmdlet case: any, as Exchange reads it; sent as written
            (command("get-MAILBOX"), ReadWrite, Ok("get-MAILBOX")),
            (command("Set-Mailbox"), ReadWrite, Ok("Set-Mailbox")),
            (
                br#"{"CmdletInput":{"CmdletName":"Get-Mailbox","Parameters":null}}"#.to_vec(),
                ReadWrite,
                Ok("Get-Mailbox"),
            ),
            (
                command("Set-Mailbox"),
                ReadOnly,
                Err((
                    Perm001,
                    "read-only mode is on, so Exchange cmdlet `Set-Mailbox` (not a Get-) is not sent.",
                )),
            ),
            // read-only is judged before the grants
            (
                command("Remove-Mailbox"),
                ReadOnly,
                Err((
                    Perm001,
                    "read-only mode is on, so Exchange cmdlet `Remove-Mailbox` (not a Get-) is not sent.",
                )),
            ),
            (
                command("Remove-Mailbox"),
                ReadWrite,
                Err((
                    Plugin001,
                    "its manifest grants no Exchange cmdlet `Remove-Mailbox`; add it under [grants] exchange and approve it to allow this request.",
                )),
            ),
            (
                command("Get-MailboxStatistics"),
                ReadWrite,
                Err((
                    Plugin001,
                    "its manifest grants no Exchange cmdlet `Get-MailboxStatistics`; add it under [grants] exchange and approve it to allow this request.",
                )),
            ),
            (
                b"Get-Mailbox".to_vec(),
                ReadWrite,
                Err((Plugin001, "its Exchange request body is not JSON.")),
            ),
            (
                br#"{"CmdletInput":{"Parameters":{}}}"#.to_vec(),
                ReadWrite,
                Err((
                    Plugin001,
                    "its Exchange request has no CmdletInput.CmdletName.",
                )),
            ),
            (
                br#"{"CmdletInput":{"CmdletName":"Get-Mailbox","Parameters":["-Identity","a"]}}"#
                    .to_vec(),
                ReadWrite,
                Err((
                    Plugin001,
                    "its Exchange request's Parameters is not an object.",
                )),
            ),
        ];
        for (body, mode, want) in cases {
            let got = p
                .judge_exchange_body(&body, mode)
                .map_err(|d| (d.code(), d.to_string()));
            let want = want.map_err(|(c, w)| (c, w.to_string()));
            assert_eq!(
                got.as_ref()
                    .map(|j| j.cmdlet.as_str())
                    .map_err(Clone::clone),
                want,
                "{} {mode:?}",
                String::from_utf8_lossy(&body)
            );
        }
    }

    #[test]
    fn an_exchange_body_is_sent_as_judged() {
        let p = policy(&[], &["Get-Mailbox"]);
        // A second, differently-cased key that a case-insensitive reader
        // might take instead of the judged one.
        let body = br#"{"CmdletInput":{"CmdletName":"Get-Mailbox","Parameters":{"Identity":"a"}},
                        "cmdletinput":{"CmdletName":"Remove-Mailbox"}}"#;
        let judged = p.judge_exchange_body(body, Mode::ReadWrite).unwrap();
        assert_eq!(judged.cmdlet, "Get-Mailbox");
        let sent: Value = serde_json::from_str(&judged.body).unwrap();
        assert_eq!(
            sent,
            json!({"CmdletInput": {"CmdletName": "Get-Mailbox", "Parameters": {"Identity": "a"}}})
        );
        let bare = br#"{"CmdletInput":{"CmdletName":"Get-Mailbox"}}"#;
        let sent: Value =
            serde_json::from_str(&p.judge_exchange_body(bare, Mode::ReadWrite).unwrap().body)
                .unwrap();
        assert_eq!(sent, json!({"CmdletInput": {"CmdletName": "Get-Mailbox"}}));
    }

    #[test]
    fn host_imports_need_their_grants() {
        let none = Policy::default();
        let both: Policy = [Grant::Store, Grant::AddinManifests].into_iter().collect();
        assert_eq!(both.check_store(), Ok(()));
        assert_eq!(both.check_addin_manifests(), Ok(()));
        let store = none.check_store().unwrap_err();
        assert_eq!(store.code(), ErrorCode::Plugin001);
        assert_eq!(
            store.sentence("snoop"),
            "Plugin `snoop` used the store without the `store` grant; its manifest must say `store = true` under [grants] (and an administrator must approve it)."
        );
        let addins = none.check_addin_manifests().unwrap_err();
        assert_eq!(addins.code(), ErrorCode::Plugin001);
        assert_eq!(
            addins.sentence("snoop"),
            "Plugin `snoop` asked for an add-in manifest without the `addin-manifests` grant; its manifest must say `addin-manifests = true` under [grants]."
        );
        // A refused request reads differently.
        let d = none
            .check_graph(&Method::DELETE, "/v1.0/users/x", Mode::ReadWrite)
            .unwrap_err();
        assert_eq!(
            d.sentence("probe"),
            format!("Plugin `probe` was refused: {NOT_GRANTED_USERS_X}")
        );
    }

    fn grants(texts: &[&str]) -> Vec<Grant> {
        texts.iter().map(|t| t.parse().unwrap()).collect()
    }

    #[test]
    fn subset_table() {
        let p = GrantsSection {
            graph: vec!["get /users/*".into(), "POST /users".into()],
            exchange: vec!["Get-Mailbox".into()],
            store: true,
            addin_manifests: false,
        }
        .resolve()
        .unwrap();
        let exact = [
            "graph:GET /users/*",
            "graph:POST /users",
            "exchange:get-mailbox",
            "store",
        ];
        let cases: [(&[&str], &[&str]); 5] = [
            (&exact, &[]),
            (
                &[
                    "addin-manifests",
                    "exchange:get-mailbox",
                    "exchange:set-mailbox",
                    "graph:GET /users/*",
                    "graph:POST /users",
                    "store",
                ],
                &[],
            ),
            (
                &[
                    "graph:GET /users/*",
                    "graph:POST /users",
                    "exchange:get-mailbox",
                ],
                &["store"],
            ),
            (
                &[],
                &[
                    "exchange:get-mailbox",
                    "graph:GET /users/*",
                    "graph:POST /users",
                    "store",
                ],
            ),
            // Compared as approved, not by what the patterns match: a wider
            // or differently-cased approval is a new review.
            (
                &[
                    "graph:GET /users/**",
                    "graph:POST /Users",
                    "exchange:get-mailbox",
                    "store",
                ],
                &["graph:GET /users/*", "graph:POST /users"],
            ),
        ];
        for (approved, beyond) in cases {
            let approved = grants(approved);
            assert_eq!(p.beyond(&approved), grants(beyond), "{approved:?}");
            assert_eq!(p.is_subset_of(&approved), beyond.is_empty(), "{approved:?}");
        }
    }

    #[test]
    fn a_policy_is_its_grants() {
        let p = policy(&["GET /users/*", "POST /$batch"], &["Get-Mailbox"]);
        let rebuilt: Policy = p.grants().into_iter().collect();
        assert_eq!(rebuilt.grants(), p.grants());
        assert!(rebuilt.graph().allows("GET", &["users".into(), "x".into()]));
        assert_eq!(rebuilt.check_cmdlet("get-mailbox", Mode::ReadOnly), Ok(()));
    }

    /// How approvals recorded a manifest's grants before this crate
    /// (host/src/plugins/manifest.rs `grant_list`): the form every stored
    /// approval is in, which the canonical form must keep.
    fn as_approvals_recorded_it(g: &GrantsSection) -> Vec<String> {
        let mut out: Vec<String> = g
            .graph
            .iter()
            .map(|g| {
                let g = g.split_whitespace().collect::<Vec<_>>().join(" ");
                match g.split_once(' ') {
                    Some((m, p)) => format!("graph:{} {p}", m.to_ascii_uppercase()),
                    None => format!("graph:{g}"),
                }
            })
            .chain(
                g.exchange
                    .iter()
                    .map(|c| format!("exchange:{}", c.to_ascii_lowercase())),
            )
            .collect();
        if g.store {
            out.push("store".into());
        }
        if g.addin_manifests {
            out.push("addin-manifests".into());
        }
        out.sort();
        out.dedup();
        out
    }

    fn section_of(manifest: &str) -> GrantsSection {
        let v: toml::Table = toml::from_str(manifest).unwrap();
        v.get("grants")
            .cloned()
            .map(|g| g.try_into().unwrap())
            .unwrap_or_default()
    }

    #[test]
    fn the_canonical_list_is_what_approvals_store() {
        let mut sections: Vec<GrantsSection> = [
            include_str!("../../plugins/users/manifest.toml"),
            include_str!("../../plugins/teams/manifest.toml"),
            include_str!("../../plugins/templates/manifest.toml"),
            include_str!("../../plugins/features/manifest.toml"),
            include_str!("../../plugins/tracking/manifest.toml"),
            include_str!("../../plugins/addins/manifest.toml"),
            include_str!("../../plugins/testing/probe/manifest.toml"),
            include_str!("../../plugins/testing/snoop/manifest.toml"),
        ]
        .into_iter()
        .map(section_of)
        .collect();
        sections.push(GrantsSection {
            graph: vec![
                " get  /users/* ".into(),
                "GET /users/*".into(),
                "delete /Users/*/mailFolders".into(),
                "GET /a b".into(),
            ],
            exchange: vec!["GET-MAILBOX".into(), "Get-Mailbox".into()],
            store: false,
            addin_manifests: true,
        });
        for s in &sections {
            let list = s.resolve().unwrap().grant_list();
            assert_eq!(list, as_approvals_recorded_it(s), "{s:?}");
            for text in &list {
                assert_eq!(&text.parse::<Grant>().unwrap().to_string(), text);
            }
        }
    }

    #[test]
    fn a_section_resolves_or_names_its_first_bad_grant() {
        use crate::grant::GrantError;
        let bad_graph = GrantsSection {
            graph: vec!["GET /users".into(), "GET users".into(), "FETCH /x".into()],
            exchange: vec!["Get Mailbox; rm".into()],
            ..Default::default()
        };
        assert_eq!(
            bad_graph.resolve(),
            Err(GrantError::Shape("GET users".into()))
        );
        let bad_cmdlet = GrantsSection {
            exchange: vec!["Get-Mailbox".into(), "Get Mailbox; rm".into()],
            ..Default::default()
        };
        assert_eq!(
            bad_cmdlet.resolve().unwrap_err().to_string(),
            "exchange grant \"Get Mailbox; rm\" must be a cmdlet name such as \"Get-Mailbox\""
        );
        assert!(toml::from_str::<GrantsSection>("graph = []\nnetwork = true").is_err());
        assert_eq!(
            toml::from_str::<GrantsSection>("addin-manifests = true").unwrap(),
            GrantsSection {
                addin_manifests: true,
                ..Default::default()
            }
        );
    }
}
