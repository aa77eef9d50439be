//! list_features, enable_feature and disable_feature over the catalogue.
//!
//! Both directions are idempotent: a feature already in the asked state is
//! left alone and the result says so. When a call changes a feature, the
//! state it found is kept in the plugin store (`feature/{name}/{target}`),
//! so that the opposite call restores exactly that state (for mail
//! retention: each mailbox's earlier policy) and removes what was created.

use crate::catalogue::{self, Feature, Mechanism, Source, Toggle};
use crate::exo;
use m365_plugin_sdk::exchange::{self, invoke};
use m365_plugin_sdk::host::{now_ms, progress};
use m365_plugin_sdk::store::{self, Expect};
use m365_plugin_sdk::text::is_valid_email;
use m365_plugin_sdk::{Graph, ToolError, Value, json};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use serde_json::Map;
use std::collections::{BTreeMap, HashMap};

#[derive(Debug, Clone, Copy, PartialEq, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub enum Scope {
    User,
    Organization,
}

#[derive(Debug, Clone, Copy, PartialEq, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub enum RetentionAction {
    // Deleted mail stays recoverable for 14 days.
    Delete,
    // Needs the mailbox's archive enabled.
    Archive,
}

#[derive(Debug, Default, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Configuration {
    /// mail-retention: age in days after which mail is acted on.
    #[schemars(range(min = 1, max = 24855))]
    pub days: Option<u32>,
    /// mail-retention: delete (default) or archive.
    pub action: Option<RetentionAction>,
}

#[derive(Debug, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct EnableArgs {
    /// A catalogue name from list_features, e.g. unified-audit-log, mail-retention.
    #[schemars(length(min = 1, max = 100))]
    pub feature_name: String,
    pub scope: Scope,
    /// The mailbox, for scope user.
    #[schemars(email)]
    pub target_email: Option<String>,
    pub configuration: Option<Configuration>,
    /// Report what would change; change nothing.
    pub dry_run: Option<bool>,
}

#[derive(Debug, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct DisableArgs {
    /// A catalogue name from list_features.
    #[schemars(length(min = 1, max = 100))]
    pub feature_name: String,
    pub scope: Scope,
    /// The mailbox, for scope user.
    #[schemars(email)]
    pub target_email: Option<String>,
    /// Report what would change; change nothing.
    pub dry_run: Option<bool>,
}

#[derive(Debug, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ListArgs {
    /// Also show the per-mailbox state of features that have one.
    #[schemars(email)]
    pub target_email: Option<String>,
    /// Page size (default 20).
    #[schemars(range(min = 1, max = 50))]
    pub top: Option<u32>,
    /// nextCursor from the previous page.
    #[schemars(length(min = 1, max = 100))]
    pub cursor: Option<String>,
}

/// What the plugin keeps after changing a feature.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct Record {
    /// "enable" or "disable": the call that changed the feature.
    pub changed_by: String,
    /// The state found before that call.
    pub earlier: Value,
    /// Objects that call created (mail retention): `{"kind", "name"}`.
    #[serde(default)]
    pub created: Vec<Value>,
    /// When, ms since the epoch.
    pub at: u64,
}

/// Where a call applies: the organization, or one mailbox (its address).
#[derive(Debug, Clone, PartialEq)]
pub enum Target {
    Organization,
    Mailbox(String),
}

impl Target {
    fn label(&self) -> &str {
        match self {
            Target::Organization => "organization",
            Target::Mailbox(m) => m,
        }
    }
}

fn record_key(f: &Feature, t: &Target) -> String {
    format!("feature/{}/{}", f.name, t.label())
}

fn verb(on: bool) -> &'static str {
    if on { "enable" } else { "disable" }
}

/// The mechanism for a scope, and the resolved target.
fn resolve(
    f: &'static Feature,
    scope: Scope,
    target_email: Option<&str>,
) -> Result<(Mechanism, Target), ToolError> {
    match scope {
        Scope::Organization => {
            if target_email.is_some() {
                return Err(ToolError::input(
                    Some("targetEmail"),
                    "targetEmail is only for scope user; drop it, or use scope user.",
                ));
            }
            let m = f.organization.ok_or_else(|| {
                ToolError::input(
                    Some("scope"),
                    format!(
                        "{} is per mailbox; use scope user with targetEmail.",
                        f.name
                    ),
                )
            })?;
            Ok((m, Target::Organization))
        }
        Scope::User => {
            let m = f.user.ok_or_else(|| {
                ToolError::input(
                    Some("scope"),
                    format!(
                        "{} is organization-wide; call again with scope organization.",
                        f.name
                    ),
                )
            })?;
            let who = target_email.map(str::trim).ok_or_else(|| {
                ToolError::input(
                    Some("targetEmail"),
                    "Scope user needs targetEmail, the mailbox.",
                )
            })?;
            if !is_valid_email(who) {
                return Err(ToolError::input(
                    Some("targetEmail"),
                    format!("{who} is not an e-mail address; fix it and call again."),
                ));
            }
            let mb = exo::mailbox(who)?;
            Ok((m, Target::Mailbox(exchange::address(&mb))))
        }
    }
}

/// Reads organization objects once per call.
#[derive(Default)]
struct Reader {
    cache: HashMap<String, Value>,
}

impl Reader {
    /// The toggle's property (null when absent).
    fn read(&mut self, t: &Toggle, target: &Target) -> Result<Value, ToolError> {
        let obj = match (t.source, target) {
            (Source::Mailbox, Target::Mailbox(m)) => exo::mailbox(m)?,
            (Source::Mailbox, Target::Organization) => {
                return Err(ToolError::plugin(
                    "A mailbox feature was read without a mailbox; report this bug.",
                ));
            }
            (Source::Exchange { get, .. }, _) => match self.cache.get(get) {
                Some(v) => v.clone(),
                None => {
                    let v = exchange::one(get, Value::Null)?;
                    self.cache.insert(get.to_string(), v.clone());
                    v
                }
            },
            (Source::Graph { path }, _) => match self.cache.get(path) {
                Some(v) => v.clone(),
                None => {
                    let v = Graph::new().get(path, &[])?;
                    self.cache.insert(path.to_string(), v.clone());
                    v
                }
            },
        };
        Ok(obj.get(t.property).cloned().unwrap_or(Value::Null))
    }

    fn forget(&mut self) {
        self.cache.clear();
    }
}

fn write(t: &Toggle, target: &Target, value: bool) -> Result<(), ToolError> {
    match (t.source, target) {
        (Source::Mailbox, Target::Mailbox(m)) => {
            invoke("Set-Mailbox", json!({ "Identity": m, t.property: value }))?;
        }
        (Source::Exchange { set, .. }, _) => {
            invoke(set, json!({ t.property: value }))?;
        }
        (Source::Graph { path }, _) => {
            Graph::new().patch(path, &json!({ t.property: value }))?;
        }
        (Source::Mailbox, Target::Organization) => {
            return Err(ToolError::plugin(
                "A mailbox feature was set without a mailbox; report this bug.",
            ));
        }
    }
    Ok(())
}

pub fn enable(a: EnableArgs) -> Result<Value, ToolError> {
    let f = catalogue::find(&a.feature_name)?;
    let config = a.configuration.unwrap_or_default();
    if f.configuration.is_none() && (config.days.is_some() || config.action.is_some()) {
        return Err(ToolError::input(
            Some("configuration"),
            format!("{} takes no configuration; drop it.", f.name),
        ));
    }
    let (mech, target) = resolve(f, a.scope, a.target_email.as_deref())?;
    let dry = a.dry_run.unwrap_or(false);
    match mech {
        Mechanism::Toggle(t) => switch_toggle(f, &t, &target, true, dry),
        Mechanism::Retention => {
            let days = config.days.ok_or_else(|| {
                ToolError::input(
                    Some("configuration.days"),
                    "mail-retention needs configuration.days, the age in days after which mail \
                     is deleted (or archived), e.g. {\"days\": 365}.",
                )
            })?;
            let action = config.action.unwrap_or(RetentionAction::Delete);
            retention_enable(f, &target, days, action, dry)
        }
    }
}

pub fn disable(a: DisableArgs) -> Result<Value, ToolError> {
    let f = catalogue::find(&a.feature_name)?;
    let (mech, target) = resolve(f, a.scope, a.target_email.as_deref())?;
    let dry = a.dry_run.unwrap_or(false);
    match mech {
        Mechanism::Toggle(t) => switch_toggle(f, &t, &target, false, dry),
        Mechanism::Retention => retention_disable(f, &target, dry),
    }
}

fn outcome(
    f: &Feature,
    target: &Target,
    status: &str,
    summary: String,
    before: Value,
    after: Value,
    dry: bool,
) -> Value {
    json!({
        "summary": summary,
        "feature": f.name,
        "target": target.label(),
        "status": status,
        "changed": matches!(status, "enabled" | "disabled"),
        "dryRun": dry,
        "before": before,
        "after": after,
    })
}

fn switch_toggle(
    f: &Feature,
    t: &Toggle,
    target: &Target,
    want_on: bool,
    dry: bool,
) -> Result<Value, ToolError> {
    let key = record_key(f, target);
    let mut reader = Reader::default();
    let before_value = reader.read(t, target)?;
    let before = json!({ t.property: before_value });
    let state = if want_on { "enabled" } else { "disabled" };
    if t.is_on(&before_value) == want_on {
        return Ok(outcome(
            f,
            target,
            &format!("already{}", capitalised(state)),
            format!(
                "{} is already {state} for {}; nothing was changed.",
                f.name,
                target.label()
            ),
            before.clone(),
            before,
            dry,
        ));
    }
    let value = if want_on { t.on } else { !t.on };
    let record = store::get::<Record>(&key)?;
    let restoring = record
        .as_ref()
        .is_some_and(|r| r.value.changed_by == verb(!want_on));
    if dry {
        return Ok(outcome(
            f,
            target,
            &format!("would{}", capitalised(verb(want_on))),
            format!(
                "Dry run: would set {} to {value} ({} {}); nothing was changed.",
                t.property,
                state,
                target.label()
            ),
            before,
            json!({ t.property: value }),
            true,
        ));
    }
    write(t, target, value)?;
    reader.forget();
    let after_value = reader.read(t, target)?;
    match (&record, restoring) {
        (Some(r), true) => {
            store::delete(&key, Expect::Version(r.version))?;
        }
        _ => {
            let rec = Record {
                changed_by: verb(want_on).into(),
                earlier: before_value,
                created: Vec::new(),
                at: now_ms(),
            };
            store::put(&key, &rec, Expect::Any)?;
        }
    }
    let how = if restoring {
        " (the state it had before this server changed it)"
    } else {
        ""
    };
    Ok(outcome(
        f,
        target,
        state,
        format!(
            "{} {state} for {}: {} is now {after_value}{how}.",
            f.name,
            target.label(),
            t.property
        ),
        before,
        json!({ t.property: after_value }),
        false,
    ))
}

fn capitalised(s: &str) -> String {
    let mut c = s.chars();
    match c.next() {
        Some(first) => format!("{}{}", first.to_ascii_uppercase(), c.as_str()),
        None => String::new(),
    }
}

// ---- mail retention -------------------------------------------------------

/// The prefix of every retention policy this plugin creates.
const POLICY_PREFIX: &str = "m365-admin mail retention";

fn retention_names(days: u32, action: RetentionAction) -> (String, String) {
    let (verb, _) = retention_action(action);
    (
        format!("m365-admin: {verb} mail after {days} days"),
        format!("{POLICY_PREFIX}: {verb} after {days} days"),
    )
}

/// (word, Exchange RetentionAction)
fn retention_action(action: RetentionAction) -> (&'static str, &'static str) {
    match action {
        RetentionAction::Delete => ("delete", "DeleteAndAllowRecovery"),
        RetentionAction::Archive => ("archive", "MoveToArchive"),
    }
}

fn is_ours(policy: &Value) -> bool {
    policy
        .as_str()
        .is_some_and(|p| p.to_ascii_lowercase().starts_with(POLICY_PREFIX))
}

/// Each mailbox in scope and its retention policy.
fn retention_state(target: &Target) -> Result<BTreeMap<String, Value>, ToolError> {
    let mailboxes = match target {
        Target::Organization => exchange::user_mailboxes()?,
        Target::Mailbox(m) => vec![exo::mailbox(m)?],
    };
    Ok(mailboxes
        .iter()
        .map(|m| {
            (
                exchange::address(m),
                m.get("RetentionPolicy").cloned().unwrap_or(Value::Null),
            )
        })
        .collect())
}

fn set_policy(mailbox: &str, policy: &Value) -> Result<(), ToolError> {
    invoke(
        "Set-Mailbox",
        json!({ "Identity": mailbox, "RetentionPolicy": policy }),
    )?;
    Ok(())
}

fn retention_enable(
    f: &Feature,
    target: &Target,
    days: u32,
    action: RetentionAction,
    dry: bool,
) -> Result<Value, ToolError> {
    let key = record_key(f, target);
    let (tag, policy) = retention_names(days, action);
    let before = retention_state(target)?;
    if before.is_empty() {
        return Err(ToolError::input(
            Some("scope"),
            "The organization has no user mailboxes to apply a retention policy to.",
        ));
    }
    let pending: Vec<&String> = before
        .iter()
        .filter(|(_, p)| p.as_str() != Some(policy.as_str()))
        .map(|(m, _)| m)
        .collect();
    let before_json = json!({ "mailboxes": before });
    if pending.is_empty() {
        return Ok(outcome(
            f,
            target,
            "alreadyEnabled",
            format!(
                "{} is already enabled for {} ({policy}); nothing was changed.",
                f.name,
                target.label()
            ),
            before_json.clone(),
            before_json,
            dry,
        ));
    }
    let wanted: BTreeMap<&String, &str> = before.keys().map(|m| (m, policy.as_str())).collect();
    let tag_exists = exchange::find("Get-RetentionPolicyTag", &tag)?.is_some();
    let policy_exists = exchange::find("Get-RetentionPolicy", &policy)?.is_some();
    if dry {
        let mut create = Vec::new();
        if !tag_exists {
            create.push(json!({"kind": "retentionPolicyTag", "name": tag}));
        }
        if !policy_exists {
            create.push(json!({"kind": "retentionPolicy", "name": policy}));
        }
        let mut out = outcome(
            f,
            target,
            "wouldEnable",
            format!(
                "Dry run: would put {} mailbox(es) on '{policy}'; nothing was changed.",
                pending.len()
            ),
            before_json,
            json!({ "mailboxes": wanted }),
            true,
        );
        out["wouldCreate"] = json!(create);
        return Ok(out);
    }

    let mut created = Vec::new();
    let total = 2 + pending.len() as u64;
    progress(0, total, &format!("Preparing retention tag '{tag}'"));
    if !tag_exists {
        let (_, exo_action) = retention_action(action);
        invoke(
            "New-RetentionPolicyTag",
            json!({
                "Name": tag,
                "Type": "All",
                "AgeLimitForRetention": days,
                "RetentionAction": exo_action,
                "RetentionEnabled": true,
                "Comment": "Created by m365-admin enable_feature mail-retention.",
            }),
        )?;
        created.push(json!({"kind": "retentionPolicyTag", "name": tag}));
    }
    progress(1, total, &format!("Preparing retention policy '{policy}'"));
    if !policy_exists {
        let made = invoke(
            "New-RetentionPolicy",
            json!({ "Name": policy, "RetentionPolicyTagLinks": [tag] }),
        );
        if let Err(e) = made {
            undo_created(&created);
            return Err(e.into());
        }
        created.push(json!({"kind": "retentionPolicy", "name": policy}));
    }
    // Keep the earlier state before the first mailbox changes, so a failure
    // half-way can still be undone by disable_feature.
    let record = store::get::<Record>(&key)?;
    let mut rec = match record.map(|d| d.value) {
        Some(r) if r.changed_by == "enable" => r,
        _ => Record {
            changed_by: "enable".into(),
            earlier: json!({ "mailboxes": {} }),
            created: Vec::new(),
            at: now_ms(),
        },
    };
    if let Some(Value::Object(earlier)) = rec.earlier.get_mut("mailboxes") {
        for (m, p) in &before {
            earlier.entry(m.clone()).or_insert_with(|| p.clone());
        }
    }
    rec.created.extend(created.iter().cloned());
    store::put(&key, &rec, Expect::Any)?;

    for (i, m) in pending.iter().enumerate() {
        progress(2 + i as u64, total, &format!("Assigning '{policy}' to {m}"));
        set_policy(m, &json!(policy)).map_err(|e| {
            e.with_prefix(&format!(
                "{i} of {} mailbox(es) were moved to '{policy}' before this failed \
                 (enable_feature again finishes; disable_feature undoes):",
                pending.len()
            ))
        })?;
    }
    progress(total, total, "Done");
    let after = retention_state(target)?;
    let note = match action {
        RetentionAction::Archive => {
            " Mail moves only for mailboxes with an archive (Enable-Mailbox -Archive)."
        }
        RetentionAction::Delete => " Deleted mail stays recoverable for 14 days.",
    };
    Ok(outcome(
        f,
        target,
        "enabled",
        format!(
            "{} enabled for {}: {} mailbox(es) now on '{policy}' (mail older than {days} days is \
             {}d by the Managed Folder Assistant, within 7 days).{note}",
            f.name,
            target.label(),
            pending.len(),
            retention_action(action).0
        ),
        before_json,
        json!({ "mailboxes": after, "created": created }),
        false,
    ))
}

/// Removes objects in reverse order of creation, when no mailbox uses them;
/// what could not be removed is returned.
fn undo_created(created: &[Value]) -> Vec<Value> {
    let in_use: Vec<String> = exchange::user_mailboxes()
        .map(|ms| {
            ms.iter()
                .filter_map(|m| m.get("RetentionPolicy").and_then(Value::as_str))
                .map(str::to_ascii_lowercase)
                .collect()
        })
        .unwrap_or_default();
    let mut kept = Vec::new();
    for c in created.iter().rev() {
        let name = c["name"].as_str().unwrap_or_default();
        let cmdlet = match c["kind"].as_str() {
            Some("retentionPolicy") if !in_use.contains(&name.to_ascii_lowercase()) => {
                "Remove-RetentionPolicy"
            }
            Some("retentionPolicyTag") => "Remove-RetentionPolicyTag",
            _ => {
                kept.push(c.clone());
                continue;
            }
        };
        match invoke(cmdlet, json!({ "Identity": name })) {
            Ok(_) => {}
            Err(e) if e.is_not_found() => {}
            Err(_) => kept.push(c.clone()),
        }
    }
    kept
}

fn retention_disable(f: &Feature, target: &Target, dry: bool) -> Result<Value, ToolError> {
    let key = record_key(f, target);
    let before = retention_state(target)?;
    let record = store::get::<Record>(&key)?.filter(|d| d.value.changed_by == "enable");
    let earlier: Map<String, Value> = record
        .as_ref()
        .and_then(|d| d.value.earlier.get("mailboxes"))
        .and_then(Value::as_object)
        .cloned()
        .unwrap_or_default();
    // What each mailbox goes back to: its earlier policy when this server
    // changed it, else the default policy (null) if it is on one of ours.
    let mut restore: BTreeMap<String, Value> = BTreeMap::new();
    for (m, current) in &before {
        let back = match earlier.get(m) {
            Some(p) => p.clone(),
            None if is_ours(current) => Value::Null,
            None => continue,
        };
        if &back != current {
            restore.insert(m.clone(), back);
        }
    }
    let before_json = json!({ "mailboxes": before });
    if restore.is_empty() && record.is_none() {
        return Ok(outcome(
            f,
            target,
            "alreadyDisabled",
            format!(
                "{} is not enabled for {}; nothing was changed.",
                f.name,
                target.label()
            ),
            before_json.clone(),
            before_json,
            dry,
        ));
    }
    if dry {
        let mut after = before.clone();
        for (m, p) in &restore {
            after.insert(m.clone(), p.clone());
        }
        let mut out = outcome(
            f,
            target,
            "wouldDisable",
            format!(
                "Dry run: would put {} mailbox(es) back on their earlier policy; nothing was \
                 changed.",
                restore.len()
            ),
            before_json,
            json!({ "mailboxes": after }),
            true,
        );
        if let Some(r) = &record {
            out["wouldRemove"] = json!(r.value.created);
        }
        return Ok(out);
    }
    let total = restore.len() as u64 + 1;
    for (i, (m, p)) in restore.iter().enumerate() {
        progress(
            i as u64,
            total,
            &format!("Restoring the retention policy of {m}"),
        );
        set_policy(m, p).map_err(|e| {
            e.with_prefix(&format!(
                "{i} of {} mailbox(es) were restored before this failed (disable_feature again \
                 finishes):",
                restore.len()
            ))
        })?;
    }
    progress(
        restore.len() as u64,
        total,
        "Removing what enable_feature created",
    );
    let kept = match &record {
        Some(r) => {
            let kept = undo_created(&r.value.created);
            store::delete(&key, Expect::Version(r.version))?;
            kept
        }
        None => Vec::new(),
    };
    progress(total, total, "Done");
    let after = retention_state(target)?;
    let mut out = outcome(
        f,
        target,
        "disabled",
        format!(
            "{} disabled for {}: {} mailbox(es) back on their earlier retention policy.",
            f.name,
            target.label(),
            restore.len()
        ),
        before_json,
        json!({ "mailboxes": after }),
        false,
    );
    if !kept.is_empty() {
        out["kept"] = json!(kept);
        out["summary"] = json!(format!(
            "{} Kept (still in use elsewhere): {}.",
            out["summary"].as_str().unwrap_or_default(),
            kept.iter()
                .filter_map(|c| c["name"].as_str())
                .collect::<Vec<_>>()
                .join(", ")
        ));
    }
    Ok(out)
}

// ---- list -----------------------------------------------------------------

fn state_word(on: bool) -> &'static str {
    if on { "enabled" } else { "disabled" }
}

/// A feature's state at one target: (state, current values).
fn feature_state(
    mech: Mechanism,
    target: &Target,
    reader: &mut Reader,
) -> Result<(String, Value), ToolError> {
    match mech {
        Mechanism::Toggle(t) => {
            let v = reader.read(&t, target)?;
            Ok((state_word(t.is_on(&v)).into(), json!({ t.property: v })))
        }
        Mechanism::Retention => {
            let state = retention_state(target)?;
            let ours = state.values().filter(|p| is_ours(p)).count();
            let word = match ours {
                0 => "disabled",
                n if n == state.len() => "enabled",
                _ => "partial",
            };
            let mut policies: Vec<&str> = state.values().filter_map(Value::as_str).collect();
            policies.sort();
            policies.dedup();
            Ok((
                word.into(),
                json!({ "mailboxes": state.len(), "onThisPolicy": ours, "policies": policies }),
            ))
        }
    }
}

pub fn list(a: ListArgs) -> Result<Value, ToolError> {
    let start = match &a.cursor {
        None => 0,
        Some(c) => c
            .trim()
            .parse::<usize>()
            .ok()
            .filter(|n| *n < catalogue::CATALOGUE.len())
            .ok_or_else(|| {
                ToolError::input(
                    Some("cursor"),
                    "The cursor is not one list_features returned; call without it.",
                )
            })?,
    };
    let mailbox = match a.target_email.as_deref().map(str::trim) {
        Some(m) => Some(Target::Mailbox(exchange::address(&exo::mailbox(m)?))),
        None => None,
    };
    let top = a.top.unwrap_or(20) as usize;
    let mut reader = Reader::default();
    let mut rows = Vec::new();
    let page: Vec<&Feature> = catalogue::CATALOGUE.iter().skip(start).take(top).collect();
    for (i, f) in page.iter().enumerate() {
        progress(i as u64, page.len() as u64, &format!("Reading {}", f.name));
        let mut scopes = Vec::new();
        if f.organization.is_some() {
            scopes.push("organization");
        }
        if f.user.is_some() {
            scopes.push("user");
        }
        let mut row = json!({
            "name": f.name,
            "description": f.what,
            "scopes": scopes,
            "read": f.read,
            "apply": f.apply,
            "revert": f.revert,
        });
        if let Some(c) = f.configuration {
            row["configuration"] = json!(c);
        }
        if let Some(mech) = f.organization {
            let t = Target::Organization;
            match feature_state(mech, &t, &mut reader) {
                Ok((state, value)) => {
                    row["state"] = json!(state);
                    row["current"] = value;
                }
                Err(e) => {
                    row["state"] = json!("unknown");
                    row["error"] = json!({"code": e.code, "message": e.message});
                }
            }
            row["changedByThisServer"] = json!(store::get::<Record>(&record_key(f, &t))?.is_some());
        }
        if let (Some(mech), Some(t)) = (f.user, &mailbox) {
            row["mailbox"] = match feature_state(mech, t, &mut reader) {
                Ok((state, value)) => {
                    json!({ "address": t.label(), "state": state, "current": value })
                }
                Err(e) => json!({ "address": t.label(), "state": "unknown", "error": e.message }),
            };
        }
        rows.push(row);
    }
    let next = (start + top < catalogue::CATALOGUE.len()).then(|| (start + top).to_string());
    Ok(json!({ "features": rows, "nextCursor": next }))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn retention_names_fit_exchange_limits() {
        let (tag, policy) = retention_names(24855, RetentionAction::Archive);
        assert!(tag.len() <= 64 && policy.len() <= 64, "{tag} / {policy}");
        assert!(is_ours(&json!(policy)));
        assert!(!is_ours(&json!("Default MRM Policy")));
        assert!(!is_ours(&Value::Null));
    }

    #[test]
    fn records_round_trip() {
        let r = Record {
            changed_by: "enable".into(),
            earlier: json!(false),
            created: vec![],
            at: 1,
        };
        let back: Record = serde_json::from_value(serde_json::to_value(&r).unwrap()).unwrap();
        assert_eq!(back, r);
        assert_eq!(capitalised("enabled"), "Enabled");
    }
}
