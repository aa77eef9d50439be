//! What the review read, as plain values: one field per source, each the
//! objects Graph or Exchange returned or why they could not be read. The
//! checks are pure functions of this, so they are tested natively on JSON
//! shaped as Microsoft documents it; `reads` fills it.

use crate::finding::{Missing, Read, Unavailable};
use m365_plugin_sdk::serde_json::Value;
use m365_plugin_sdk::time;
use std::collections::BTreeSet;

/// Something the review reads once.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Source {
    /// The organization's name, for the overview.
    Organization,
    Users,
    SignIns,
    Registration,
    GlobalAdmins,
    SecurityDefaults,
    ConditionalAccess,
    Authorization,
    Domains,
    Skus,
    Transport,
    AuditLog,
    OrgConfig,
    RemoteDomains,
    OutboundSpam,
    Dkim,
    Mailboxes,
    CasMailboxes,
    InboxRules,
}

/// The inbox rules of the mailboxes scanned before the check's deadline.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct InboxRules {
    /// (mailbox address, Get-InboxRule object).
    pub rules: Vec<(String, Value)>,
    pub scanned: usize,
    pub total: usize,
    /// Why the scan stopped before the last mailbox.
    pub stopped: Option<Unavailable>,
}

/// Everything read, by source.
#[derive(Debug, Clone)]
pub struct Data {
    /// When the review ran, ms since the epoch.
    pub now_ms: i64,
    pub organization: Read<Vec<Value>>,
    pub users: Read<Vec<Value>>,
    /// `{id, signInActivity}` per user.
    pub sign_ins: Read<Vec<Value>>,
    pub registration: Read<Vec<Value>>,
    /// The Global Administrator role's members (users and service principals).
    pub global_admins: Read<Vec<Value>>,
    pub security_defaults: Read<Value>,
    pub conditional_access: Read<Vec<Value>>,
    pub authorization: Read<Value>,
    pub domains: Read<Vec<Value>>,
    pub skus: Read<Vec<Value>>,
    pub transport: Read<Value>,
    pub audit_log: Read<Value>,
    pub org_config: Read<Value>,
    pub remote_domains: Read<Vec<Value>>,
    pub outbound_spam: Read<Vec<Value>>,
    pub dkim: Read<Vec<Value>>,
    pub mailboxes: Read<Vec<Value>>,
    pub cas_mailboxes: Read<Vec<Value>>,
    pub inbox_rules: Read<InboxRules>,
}

fn not_read<T>() -> Read<T> {
    Err(Unavailable::new(
        Missing::NotRead,
        "not read: no check that was asked for needs it",
    ))
}

impl Data {
    /// Nothing read yet.
    pub fn empty(now_ms: i64) -> Data {
        Data {
            now_ms,
            organization: not_read(),
            users: not_read(),
            sign_ins: not_read(),
            registration: not_read(),
            global_admins: not_read(),
            security_defaults: not_read(),
            conditional_access: not_read(),
            authorization: not_read(),
            domains: not_read(),
            skus: not_read(),
            transport: not_read(),
            audit_log: not_read(),
            org_config: not_read(),
            remote_domains: not_read(),
            outbound_spam: not_read(),
            dkim: not_read(),
            mailboxes: not_read(),
            cas_mailboxes: not_read(),
            inbox_rules: not_read(),
        }
    }

    /// The tenant's own domains (lower case): its verified domains, or,
    /// where those were not read, the domains of its users' sign-in names.
    pub fn own_domains(&self) -> BTreeSet<String> {
        match &self.domains {
            Ok(domains) => domains
                .iter()
                .filter_map(|d| str_of(d, "id"))
                .map(str::to_ascii_lowercase)
                .collect(),
            Err(_) => self
                .users
                .iter()
                .flatten()
                .filter(|u| !is_guest(u))
                .filter_map(|u| str_of(u, "userPrincipalName")?.rsplit_once('@'))
                .map(|(_, d)| d.to_ascii_lowercase())
                .collect(),
        }
    }

    /// Whether `address` is outside the tenant (not on one of its domains).
    pub fn is_external(&self, address: &str, own: &BTreeSet<String>) -> bool {
        match address.rsplit_once('@') {
            Some((_, domain)) => !own.contains(&domain.to_ascii_lowercase()),
            None => false,
        }
    }

    /// The user ids of shared mailboxes, where the mailboxes were read.
    pub fn shared_mailbox_ids(&self) -> BTreeSet<String> {
        self.mailboxes
            .iter()
            .flatten()
            .filter(|m| str_of(m, "RecipientTypeDetails") == Some("SharedMailbox"))
            .filter_map(|m| str_of(m, "ExternalDirectoryObjectId"))
            .map(str::to_ascii_lowercase)
            .collect()
    }

    /// The enabled member accounts people sign in with: not guests, not
    /// blocked, not a shared mailbox's account.
    pub fn enabled_people(&self) -> Read<Vec<&Value>> {
        let shared = self.shared_mailbox_ids();
        Ok(crate::finding::need(&self.users)?
            .iter()
            .filter(|u| !is_guest(u) && is_enabled(u))
            .filter(|u| !shared.contains(&id_of(u).to_ascii_lowercase()))
            .collect())
    }

    /// The last time a user signed in, interactively or not (ms), from the
    /// sign-in activity read: `Ok(None)` when never.
    pub fn last_sign_in(&self, user_id: &str) -> Read<Option<i64>> {
        let rows = crate::finding::need(&self.sign_ins)?;
        let row = rows.iter().find(|r| id_of(r).eq_ignore_ascii_case(user_id));
        Ok(row.and_then(|r| {
            let a = &r["signInActivity"];
            [
                "lastSignInDateTime",
                "lastNonInteractiveSignInDateTime",
                "lastSuccessfulSignInDateTime",
            ]
            .iter()
            .filter_map(|k| a[*k].as_str().and_then(time::parse))
            .max()
        }))
    }

    /// Whole days from `ms` to when the review ran.
    pub fn days_since(&self, ms: i64) -> i64 {
        (self.now_ms - ms).div_euclid(86_400_000)
    }
}

pub fn str_of<'a>(v: &'a Value, key: &str) -> Option<&'a str> {
    v.get(key).and_then(Value::as_str)
}

pub fn id_of(v: &Value) -> &str {
    str_of(v, "id").unwrap_or_default()
}

/// A user's sign-in name (its display name where it has none).
pub fn upn(u: &Value) -> &str {
    str_of(u, "userPrincipalName")
        .or_else(|| str_of(u, "displayName"))
        .unwrap_or("(unnamed)")
}

pub fn is_guest(u: &Value) -> bool {
    str_of(u, "userType").is_some_and(|t| t.eq_ignore_ascii_case("guest"))
}

pub fn is_enabled(u: &Value) -> bool {
    u.get("accountEnabled").and_then(Value::as_bool) != Some(false)
}

/// The date part of an RFC 3339 instant.
pub fn date_of(instant: &str) -> &str {
    instant.get(..10).unwrap_or(instant)
}
