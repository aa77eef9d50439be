//! Reading the tenant for the review, read-only and within Graph's limits:
//! the Graph reads the asked checks need go out together in one `$batch`
//! (their further pages, and the Global Administrators, follow as plain
//! GETs); the Exchange cmdlets run one by one, each once. Each check's reads
//! have a deadline and the review as a whole a budget: what is not read in
//! time is `unknown` for the checks that need it, with the reason, and never
//! an error that hides the other findings.
//!
//! A failed read becomes a reason that says what to do: the Entra ID P1 the
//! tenant lacks (`Authentication_RequestFromNonPremiumTenantOrB2CTenant`),
//! the Graph permission the app lacks, the grant the plugin lacks, or the
//! Exchange role the app's service principal lacks — `Get-InboxRule` "doesn't
//! work for … the Global Reader role" (Microsoft Learn: Get-InboxRule), so an
//! app with only read-only Exchange roles reviews everything but inbox rules.

use crate::data::{Data, InboxRules, Source, str_of};
use crate::finding::{Missing, Read, Unavailable};
use m365_plugin_sdk::cursor::Cursor;
use m365_plugin_sdk::exchange::{self, ExchangeError};
use m365_plugin_sdk::graph::{Graph, GraphError, GraphErrorKind, GraphRequest, collection};
use m365_plugin_sdk::host::{now_ms, progress};
use m365_plugin_sdk::serde_json::{Value, json};
use std::collections::BTreeSet;

/// The template id of Global Administrator.
pub const GLOBAL_ADMINISTRATOR: &str = "62e90394-69f5-4237-9190-012177145e10";

/// The longest a check's reads may take, and the whole review.
pub const CHECK_DEADLINE_MS: u64 = 60_000;
pub const REVIEW_BUDGET_MS: u64 = 240_000;

/// A Graph read: where, whether it is a collection, what it needs.
struct GraphRead {
    source: Source,
    path: &'static str,
    query: &'static [(&'static str, &'static str)],
    collection: bool,
    permission: &'static str,
    what: &'static str,
}

const USER_SELECT: &str = "id,displayName,userPrincipalName,mail,accountEnabled,userType,\
assignedLicenses,createdDateTime,externalUserState,externalUserStateChangeDateTime";

const GRAPH_READS: &[GraphRead] = &[
    GraphRead {
        source: Source::Organization,
        path: "/organization",
        query: &[("$select", "displayName")],
        collection: true,
        permission: "Organization.Read.All",
        what: "the organization",
    },
    GraphRead {
        source: Source::Users,
        path: "/users",
        query: &[("$select", USER_SELECT), ("$top", "999")],
        collection: true,
        permission: "User.Read.All",
        what: "users",
    },
    GraphRead {
        source: Source::SignIns,
        path: "/users",
        query: &[("$select", "id,signInActivity"), ("$top", "120")],
        collection: true,
        permission: "AuditLog.Read.All",
        what: "sign-in activity",
    },
    GraphRead {
        source: Source::Registration,
        path: "/reports/authenticationMethods/userRegistrationDetails",
        query: &[],
        collection: true,
        permission: "AuditLog.Read.All",
        what: "MFA registration details",
    },
    // The roles first; the Global Administrators' members follow.
    GraphRead {
        source: Source::GlobalAdmins,
        path: "/directoryRoles",
        query: &[],
        collection: true,
        permission: "RoleManagement.Read.Directory",
        what: "directory roles",
    },
    GraphRead {
        source: Source::SecurityDefaults,
        path: "/policies/identitySecurityDefaultsEnforcementPolicy",
        query: &[],
        collection: false,
        permission: "Policy.Read.All",
        what: "security defaults",
    },
    GraphRead {
        source: Source::ConditionalAccess,
        path: "/identity/conditionalAccess/policies",
        query: &[],
        collection: true,
        permission: "Policy.Read.All",
        what: "conditional access policies",
    },
    GraphRead {
        source: Source::Authorization,
        path: "/policies/authorizationPolicy",
        query: &[],
        collection: false,
        permission: "Policy.Read.All",
        what: "the authorization policy",
    },
    GraphRead {
        source: Source::Domains,
        path: "/domains",
        query: &[],
        collection: true,
        permission: "Domain.Read.All",
        what: "domains",
    },
    GraphRead {
        source: Source::Skus,
        path: "/subscribedSkus",
        query: &[],
        collection: true,
        permission: "LicenseAssignment.Read.All",
        what: "subscribed SKUs",
    },
];

/// An Exchange read: the cmdlet and its parameters.
fn cmdlet_of(source: Source) -> Option<(&'static str, Value)> {
    let all = || json!({"ResultSize": "Unlimited"});
    Some(match source {
        Source::Transport => ("Get-TransportConfig", Value::Null),
        Source::AuditLog => ("Get-AdminAuditLogConfig", Value::Null),
        Source::OrgConfig => ("Get-OrganizationConfig", Value::Null),
        Source::RemoteDomains => ("Get-RemoteDomain", Value::Null),
        Source::OutboundSpam => ("Get-HostedOutboundSpamFilterPolicy", Value::Null),
        Source::Dkim => ("Get-DkimSigningConfig", Value::Null),
        Source::Mailboxes => ("Get-Mailbox", all()),
        Source::CasMailboxes => ("Get-CASMailbox", all()),
        _ => return None,
    })
}

/// Why a Graph read failed, as the review says it.
pub fn graph_reason(what: &str, permission: &str, e: &GraphError) -> Unavailable {
    let said = e.message.trim_end_matches('.');
    match e.kind {
        GraphErrorKind::Denied => Unavailable::new(
            Missing::Permission,
            format!(
                "the security plugin's grants do not include {} {}, so {what} could not be read; reinstall the bundled plugin",
                e.method, e.path
            ),
        ),
        GraphErrorKind::Response
            if e.is("Authentication_RequestFromNonPremiumTenantOrB2CTenant")
                || (e.status == 403 && e.message.contains("not licensed")) =>
        {
            Unavailable::new(
                Missing::Licence,
                format!(
                    "needs Microsoft Entra ID P1 for {what}, and the tenant has none (Business Premium includes it)"
                ),
            )
        }
        GraphErrorKind::Response if e.status == 403 || e.status == 401 => Unavailable::new(
            Missing::Permission,
            format!(
                "the app may not read {what} ({said}): grant the Graph application permission {permission} with admin consent"
            ),
        ),
        _ => Unavailable::new(
            Missing::Failed,
            format!(
                "{what} could not be read ({} {}: {said}); run the review again",
                e.status, e.code
            ),
        ),
    }
}

/// Why a cmdlet failed, as the review says it.
pub fn exchange_reason(cmdlet: &str, e: &ExchangeError) -> Unavailable {
    let message = &e.error.message;
    let not_in_session = e
        .exception
        .as_deref()
        .is_some_and(|x| x.ends_with("CommandNotFoundException"));
    if not_in_session {
        let extra = if cmdlet.eq_ignore_ascii_case("Get-InboxRule") {
            " (it does not work for Global Reader or View-Only Organization Management)"
        } else {
            ""
        };
        return Unavailable::new(
            Missing::Permission,
            format!(
                "the app's Exchange role does not include {cmdlet}{extra}: assign the app's service principal Exchange Administrator in Entra (Roles and administrators)"
            ),
        );
    }
    match e.error.code.as_str() {
        "PLUGIN_001" => Unavailable::new(
            Missing::Permission,
            format!(
                "the security plugin's grants do not include {cmdlet}; reinstall the bundled plugin"
            ),
        ),
        "PERM_001" => Unavailable::new(
            Missing::Permission,
            format!(
                "Exchange Online refused {cmdlet}: the app needs Exchange.ManageAsApp and an Exchange role on its service principal"
            ),
        ),
        _ => Unavailable::new(
            Missing::Failed,
            format!(
                "{cmdlet} failed ({}); run the review again",
                message.trim_end_matches('.')
            ),
        ),
    }
}

fn deadline(what: &str, seconds: u64) -> Unavailable {
    Unavailable::new(
        Missing::Deadline,
        format!(
            "{what} was not read within {seconds} s; run review_security again with only this check"
        ),
    )
}

/// Reads the tenant for the review.
pub struct Reader {
    graph: Graph,
    review_ends: u64,
}

impl Reader {
    pub fn new() -> Reader {
        Reader {
            graph: Graph::new(),
            review_ends: now_ms() + REVIEW_BUDGET_MS,
        }
    }

    /// Reads the Graph sources among `wanted` in one batch.
    pub fn graph(&self, wanted: &BTreeSet<Source>, data: &mut Data) {
        let reads: Vec<&GraphRead> = GRAPH_READS
            .iter()
            .filter(|r| wanted.contains(&r.source))
            .collect();
        if reads.is_empty() {
            return;
        }
        let requests: Vec<GraphRequest> = reads
            .iter()
            .map(|r| GraphRequest::new("GET", r.path).query(r.query))
            .collect();
        let answers = match self.graph.batch(&requests) {
            Ok(a) => a,
            Err(e) => {
                let why = graph_reason("the directory", "User.Read.All", &e);
                for r in &reads {
                    store_graph(data, r.source, Err(why.clone()));
                }
                return;
            }
        };
        for (r, answer) in reads.iter().zip(answers) {
            let value = answer
                .map_err(|e| graph_reason(r.what, r.permission, &e))
                .and_then(|body| {
                    if r.collection {
                        self.rest_of(r, body).map(Value::Array)
                    } else {
                        Ok(body)
                    }
                });
            store_graph(data, r.source, value);
        }
        // What was read for GlobalAdmins is the roles list; their members next.
        if wanted.contains(&Source::GlobalAdmins) {
            data.global_admins = self.global_admins(&data.global_admins);
        }
    }

    /// A collection's items: the first page's and those of its nextLinks.
    fn rest_of(&self, r: &GraphRead, first: Value) -> Read<Vec<Value>> {
        let mut items = collection(&first).to_vec();
        let mut next = Cursor::next_page(&first);
        while let Some(cursor) = next {
            if now_ms() > self.review_ends {
                return Err(deadline(r.what, REVIEW_BUDGET_MS / 1000));
            }
            let page = self
                .graph
                .request(cursor.resume(GraphRequest::new("GET", r.path)))
                .map_err(|e| graph_reason(r.what, r.permission, &e))?
                .body
                .unwrap_or(Value::Null);
            items.extend_from_slice(collection(&page));
            next = Cursor::next_page(&page);
        }
        Ok(items)
    }

    /// The Global Administrator role's members, from the roles read.
    fn global_admins(&self, roles: &Read<Vec<Value>>) -> Read<Vec<Value>> {
        let roles = crate::finding::need(roles)?;
        let Some(role) = roles
            .iter()
            .find(|r| str_of(r, "roleTemplateId") == Some(GLOBAL_ADMINISTRATOR))
        else {
            // Not activated: nobody holds it.
            return Ok(Vec::new());
        };
        let why = |e: GraphError| {
            graph_reason(
                "the Global Administrators",
                "RoleManagement.Read.Directory",
                &e,
            )
        };
        let path = format!(
            "/directoryRoles/{}/members",
            m365_plugin_sdk::text::encode_path_segment(crate::data::id_of(role))
        );
        let first = self.graph.get(&path, &[]).map_err(why)?;
        let mut items = collection(&first).to_vec();
        let mut next = Cursor::next_page(&first);
        while let Some(cursor) = next {
            let page = self
                .graph
                .request(cursor.resume(GraphRequest::new("GET", &path)))
                .map_err(why)?
                .body
                .unwrap_or(Value::Null);
            items.extend_from_slice(collection(&page));
            next = Cursor::next_page(&page);
        }
        Ok(items)
    }

    /// Runs the cmdlet behind an Exchange source (once), unless the check
    /// that needs it started more than its deadline ago.
    pub fn exchange(&self, source: Source, check_started: u64, data: &mut Data) {
        let Some((cmdlet, params)) = cmdlet_of(source) else {
            return;
        };
        let value = if self.late(check_started) {
            Err(deadline(cmdlet, CHECK_DEADLINE_MS / 1000))
        } else {
            exchange::invoke(cmdlet, params).map_err(|e| exchange_reason(cmdlet, &e))
        };
        match source {
            Source::Transport => data.transport = first(value, cmdlet),
            Source::AuditLog => data.audit_log = first(value, cmdlet),
            Source::OrgConfig => data.org_config = first(value, cmdlet),
            Source::RemoteDomains => data.remote_domains = value,
            Source::OutboundSpam => data.outbound_spam = value,
            Source::Dkim => data.dkim = value,
            Source::Mailboxes => data.mailboxes = value,
            Source::CasMailboxes => data.cas_mailboxes = value,
            _ => {}
        }
    }

    /// Every mailbox's inbox rules, until the check's deadline.
    pub fn inbox_rules(&self, check_started: u64, step: (u64, u64), data: &mut Data) {
        let mailboxes = match crate::finding::need(&data.mailboxes) {
            Ok(m) => m.clone(),
            Err(e) => {
                data.inbox_rules = Err(e);
                return;
            }
        };
        let mut out = InboxRules {
            total: mailboxes.len(),
            ..InboxRules::default()
        };
        for (i, mb) in mailboxes.iter().enumerate() {
            if self.late(check_started) {
                out.stopped = Some(deadline(
                    &format!("the inbox rules of {} mailbox(es)", out.total - out.scanned),
                    CHECK_DEADLINE_MS / 1000,
                ));
                break;
            }
            let address = exchange::address(mb);
            progress(
                step.0,
                step.1,
                &format!("Reading inbox rules: {} of {} mailboxes", i + 1, out.total),
            );
            match exchange::invoke("Get-InboxRule", json!({"Mailbox": address})) {
                Ok(rules) => out
                    .rules
                    .extend(rules.into_iter().map(|r| (address.clone(), r))),
                Err(e) if e.is_not_found() => {}
                Err(e) => {
                    let why = exchange_reason("Get-InboxRule", &e);
                    if out.scanned == 0 {
                        data.inbox_rules = Err(why);
                        return;
                    }
                    out.stopped = Some(why);
                    break;
                }
            }
            out.scanned += 1;
        }
        data.inbox_rules = Ok(out);
    }

    fn late(&self, check_started: u64) -> bool {
        let now = now_ms();
        now > self.review_ends || now > check_started + CHECK_DEADLINE_MS
    }
}

fn store_graph(data: &mut Data, source: Source, value: Read<Value>) {
    let list = |v: Read<Value>| v.map(|v| v.as_array().cloned().unwrap_or_default());
    match source {
        Source::Organization => data.organization = list(value),
        Source::Users => data.users = list(value),
        Source::SignIns => data.sign_ins = list(value),
        Source::Registration => data.registration = list(value),
        Source::GlobalAdmins => data.global_admins = list(value),
        Source::SecurityDefaults => data.security_defaults = value,
        Source::ConditionalAccess => data.conditional_access = list(value),
        Source::Authorization => data.authorization = value,
        Source::Domains => data.domains = list(value),
        Source::Skus => data.skus = list(value),
        _ => {}
    }
}

/// The one object a Get- cmdlet of the organization outputs.
fn first(value: Read<Vec<Value>>, cmdlet: &str) -> Read<Value> {
    value?.into_iter().next().ok_or_else(|| {
        Unavailable::new(
            Missing::Failed,
            format!("{cmdlet} returned nothing; run the review again"),
        )
    })
}

/// Whether `source` is read through Exchange (one cmdlet each).
pub fn is_exchange(source: Source) -> bool {
    cmdlet_of(source).is_some() || source == Source::InboxRules
}
