//! Messaging records management: retention tags (`Get-/New-/Remove-RetentionPolicyTag`) and
//! retention policies (`Get-/New-/Set-/Remove-RetentionPolicy`), with the rules Microsoft
//! documents: a tag with retention enabled needs an age limit and an action, `MoveToArchive` only
//! for tags of type All, Personal and RecoverableItems, RecoverableItems tags only move to the
//! archive, a policy holds at most one tag per default-folder type (one default policy tag), and
//! removing a policy that mailboxes use needs `-Force`.

use serde_json::{Map, Value, json};

use super::cmdlet::{Call, Cmdlet};
use super::error::{DC, ExoError};
use super::params::{Bound, Ty, m, p};
use crate::tenant::Tenant;
use crate::tenant::exchange::{retention_policy, retention_tag};
use crate::web::time::rfc3339;

const FOLDER_TYPES: &[&str] = &[
    "All",
    "Archive",
    "Calendar",
    "Clutter",
    "Contacts",
    "ConversationHistory",
    "DeletedItems",
    "Drafts",
    "Inbox",
    "Journal",
    "JunkEmail",
    "LegacyArchiveJournals",
    "ManagedCustomFolder",
    "Notes",
    "Outbox",
    "Personal",
    "RecoverableItems",
    "RssSubscriptions",
    "SentItems",
    "SyncIssues",
    "Tasks",
];
const ELC_FOLDER_TYPE: &str = "Microsoft.Exchange.Data.Directory.SystemConfiguration.ElcFolderType";
const ACTIONS: &[&str] = &[
    "MoveToDeletedItems",
    "MoveToFolder",
    "DeleteAndAllowRecovery",
    "PermanentlyDelete",
    "MarkAsPastRetentionLimit",
    "MoveToArchive",
];
/// The longest age limit Exchange accepts, in days.
const MAX_AGE_DAYS: i64 = 24855;

pub(crate) const CMDLETS: &[Cmdlet] = &[
    Cmdlet {
        name: "Get-RetentionPolicyTag",
        params: &[
            p("Identity", Ty::Str),
            p("Types", Ty::EnumList(ELC_FOLDER_TYPE, FOLDER_TYPES)),
            p("IncludeSystemTags", Ty::Switch),
        ],
        run: get_tags,
    },
    Cmdlet {
        name: "New-RetentionPolicyTag",
        params: &[
            m("Name", Ty::Str),
            p("Type", Ty::Enum(ELC_FOLDER_TYPE, FOLDER_TYPES)),
            p("AgeLimitForRetention", Ty::Days),
            p(
                "RetentionAction",
                Ty::Enum(
                    "Microsoft.Exchange.Data.Directory.SystemConfiguration.RetentionAction",
                    ACTIONS,
                ),
            ),
            p("RetentionEnabled", Ty::Bool),
            p("Comment", Ty::Str),
            p("Confirm", Ty::Switch),
            p("WhatIf", Ty::Switch),
        ],
        run: new_tag,
    },
    Cmdlet {
        name: "Remove-RetentionPolicyTag",
        params: &[
            m("Identity", Ty::Str),
            p("Confirm", Ty::Switch),
            p("WhatIf", Ty::Switch),
        ],
        run: remove_tag,
    },
    Cmdlet {
        name: "Get-RetentionPolicy",
        params: &[p("Identity", Ty::Str)],
        run: get_policies,
    },
    Cmdlet {
        name: "New-RetentionPolicy",
        params: &[
            m("Name", Ty::Str),
            p("RetentionPolicyTagLinks", Ty::List),
            p("IsDefault", Ty::Switch),
            p("Confirm", Ty::Switch),
            p("WhatIf", Ty::Switch),
        ],
        run: new_policy,
    },
    Cmdlet {
        name: "Set-RetentionPolicy",
        params: &[
            m("Identity", Ty::Str),
            p("Name", Ty::Str),
            p("RetentionPolicyTagLinks", Ty::ListUpdate),
            p("IsDefault", Ty::Switch),
            p("Force", Ty::Switch),
            p("Confirm", Ty::Switch),
            p("WhatIf", Ty::Switch),
        ],
        run: set_policy,
    },
    Cmdlet {
        name: "Remove-RetentionPolicy",
        params: &[
            m("Identity", Ty::Str),
            p("Force", Ty::Switch),
            p("Confirm", Ty::Switch),
            p("WhatIf", Ty::Switch),
        ],
        run: remove_policy,
    },
];

fn names_object(o: &Map<String, Value>, key: &str) -> bool {
    ["Name", "Guid", "RetentionId"]
        .iter()
        .filter_map(|k| o.get(*k).and_then(Value::as_str))
        .any(|v| v.eq_ignore_ascii_case(key.trim()))
}

fn find_tag(t: &Tenant, key: &str) -> Result<usize, ExoError> {
    t.exchange
        .retention_tags
        .iter()
        .position(|o| names_object(o, key))
        .ok_or_else(|| ExoError::not_found(key))
}

/// The index of the retention policy `key` names (name or GUID).
pub(crate) fn find_policy(t: &Tenant, key: &str) -> Result<usize, ExoError> {
    t.exchange
        .retention_policies
        .iter()
        .position(|o| names_object(o, key))
        .ok_or_else(|| ExoError::not_found(key))
}

fn already_exists(kind: &str, name: &str) -> ExoError {
    ExoError::task(
        "Ex5FB3B4",
        "Microsoft.Exchange.Data.Directory.ADObjectAlreadyExistsException",
        format!(
            "Active Directory operation failed on {}. The object 'CN={name},CN={kind},CN=Transport Settings,CN=Configuration' already exists.",
            DC
        ),
    )
}

fn invalid_tag(message: impl Into<String>) -> ExoError {
    ExoError::task(
        "Ex4C1A3E",
        "Microsoft.Exchange.Management.SystemConfigurationTasks.RetentionPolicyTagTaskException",
        message,
    )
}

fn get_tags(call: &mut Call, b: &Bound) -> Result<Vec<Value>, ExoError> {
    call.read(|t| {
        let tags = &t.exchange.retention_tags;
        let mut out: Vec<Value> = match b.str("Identity") {
            Some(key) => vec![Value::Object(tags[find_tag(t, key)?].clone())],
            None => tags.iter().cloned().map(Value::Object).collect(),
        };
        if let Some(types) = b.list("Types") {
            out.retain(|tag| {
                types
                    .iter()
                    .any(|k| tag["Type"].as_str() == Some(k.as_str()))
            });
        }
        Ok(out)
    })
}

fn new_tag(call: &mut Call, b: &Bound) -> Result<Vec<Value>, ExoError> {
    let name = b.str("Name").unwrap_or_default().trim().to_string();
    if name.is_empty() || name.len() > 64 {
        return Err(ExoError::binding(
            "Cannot validate argument on parameter 'Name'. The name must be 1 to 64 characters long.",
        ));
    }
    let Some(kind) = b.str("Type") else {
        return Err(invalid_tag(
            "The Type parameter must be specified: the type of retention tag to create (for example All, Inbox or Personal).",
        ));
    };
    let enabled = b.bool("RetentionEnabled").unwrap_or(true);
    let days = b.int("AgeLimitForRetention");
    let action = b.str("RetentionAction");
    if enabled && (days.is_none() || action.is_none()) {
        return Err(invalid_tag(
            "When RetentionEnabled is $true, both AgeLimitForRetention and RetentionAction must be specified.",
        ));
    }
    if let Some(d) = days
        && !(1..=MAX_AGE_DAYS).contains(&d)
    {
        return Err(invalid_tag(format!(
            "AgeLimitForRetention must be between 1 and {MAX_AGE_DAYS} days."
        )));
    }
    if let Some(a) = action {
        if kind == "RecoverableItems" && a != "MoveToArchive" {
            return Err(invalid_tag(
                "For tags of type RecoverableItems, the only valid retention action is MoveToArchive.",
            ));
        }
        if a == "MoveToArchive" && !matches!(kind, "All" | "Personal" | "RecoverableItems") {
            return Err(invalid_tag(format!(
                "The MoveToArchive action can be used only with retention tags of type All, Personal and RecoverableItems, not {kind}."
            )));
        }
    }
    let when = rfc3339(call.ctx.now);
    let tag = retention_tag(
        &name,
        kind,
        days,
        action.unwrap_or("DeleteAndAllowRecovery"),
        enabled,
        b.str("Comment").unwrap_or(""),
        &when,
    );
    let what_if = b.switch("WhatIf");
    call.mutate(|t| {
        if t.exchange
            .retention_tags
            .iter()
            .any(|o| names_object(o, &name))
        {
            return Err(already_exists("Retention Policy Tag Container", &name));
        }
        if !what_if {
            t.exchange.retention_tags.push(tag.clone());
        }
        Ok(())
    })?;
    Ok(if what_if {
        Vec::new()
    } else {
        vec![Value::Object(tag)]
    })
}

fn remove_tag(call: &mut Call, b: &Bound) -> Result<Vec<Value>, ExoError> {
    let key = b.str("Identity").unwrap_or_default().to_string();
    let what_if = b.switch("WhatIf");
    call.mutate(|t| {
        let i = find_tag(t, &key)?;
        if what_if {
            return Ok(());
        }
        let removed = t.exchange.retention_tags.remove(i);
        let name = removed["Name"].as_str().unwrap_or_default().to_string();
        for policy in &mut t.exchange.retention_policies {
            if let Some(Value::Array(links)) = policy.get_mut("RetentionPolicyTagLinks") {
                links.retain(|l| l.as_str().is_none_or(|s| !s.eq_ignore_ascii_case(&name)));
            }
        }
        Ok(())
    })?;
    Ok(Vec::new())
}

fn get_policies(call: &mut Call, b: &Bound) -> Result<Vec<Value>, ExoError> {
    call.read(|t| {
        let policies = &t.exchange.retention_policies;
        Ok(match b.str("Identity") {
            Some(key) => vec![Value::Object(policies[find_policy(t, key)?].clone())],
            None => policies.iter().cloned().map(Value::Object).collect(),
        })
    })
}

/// Resolves tag identities to their names and checks that the set is a valid policy.
fn resolve_links(t: &Tenant, keys: &[String]) -> Result<Vec<String>, ExoError> {
    let mut names: Vec<String> = Vec::new();
    for key in keys {
        let tag = &t.exchange.retention_tags[find_tag(t, key)?];
        let name = tag["Name"].as_str().unwrap_or_default().to_string();
        if !names.iter().any(|n| n.eq_ignore_ascii_case(&name)) {
            names.push(name);
        }
    }
    check_links(t, &names)?;
    Ok(names)
}

fn check_links(t: &Tenant, names: &[String]) -> Result<(), ExoError> {
    let mut seen: Vec<(String, String)> = Vec::new();
    for name in names {
        let Some(tag) = t
            .exchange
            .retention_tags
            .iter()
            .find(|o| names_object(o, name))
        else {
            continue;
        };
        let kind = tag["Type"].as_str().unwrap_or_default().to_string();
        if kind == "Personal" {
            continue;
        }
        if let Some((other, _)) = seen.iter().find(|(_, k)| *k == kind) {
            let what = if kind == "All" {
                "default policy tag (type All)".to_string()
            } else {
                format!("retention policy tag of type {kind}")
            };
            return Err(ExoError::task(
                "Ex2A5C0F",
                "Microsoft.Exchange.Management.SystemConfigurationTasks.RetentionPolicyTagTaskException",
                format!(
                    "A retention policy can have only one {what}; '{other}' and '{name}' are both of that type."
                ),
            ));
        }
        seen.push((name.clone(), kind));
    }
    Ok(())
}

fn replaces_default_warning(call: &mut Call, old: Option<String>, new: &str) {
    if let Some(old) = old
        && !old.eq_ignore_ascii_case(new)
    {
        call.warnings.push(format!(
            "The retention policy '{new}' replaces '{old}' as the default retention policy."
        ));
    }
}

fn new_policy(call: &mut Call, b: &Bound) -> Result<Vec<Value>, ExoError> {
    let name = b.str("Name").unwrap_or_default().trim().to_string();
    if name.is_empty() || name.len() > 64 {
        return Err(ExoError::binding(
            "Cannot validate argument on parameter 'Name'. The name must be 1 to 64 characters long.",
        ));
    }
    let keys = b.list("RetentionPolicyTagLinks").unwrap_or_default();
    let is_default = b.switch("IsDefault");
    let what_if = b.switch("WhatIf");
    let when = rfc3339(call.ctx.now);
    let (policy, old_default) = call.mutate(|t| {
        if t.exchange
            .retention_policies
            .iter()
            .any(|o| names_object(o, &name))
        {
            return Err(already_exists("Retention Policies Container", &name));
        }
        let links = resolve_links(t, &keys)?;
        let policy = retention_policy(&name, links, is_default, &when);
        let old_default = t.exchange.default_policy();
        if !what_if {
            if is_default {
                for other in &mut t.exchange.retention_policies {
                    other.insert("IsDefault".into(), json!(false));
                }
            }
            t.exchange.retention_policies.push(policy.clone());
        }
        Ok((policy, old_default))
    })?;
    if what_if {
        return Ok(Vec::new());
    }
    if is_default {
        replaces_default_warning(call, old_default, &name);
    }
    Ok(vec![Value::Object(policy)])
}

fn set_policy(call: &mut Call, b: &Bound) -> Result<Vec<Value>, ExoError> {
    let key = b.str("Identity").unwrap_or_default().to_string();
    let what_if = b.switch("WhatIf");
    let now = rfc3339(call.ctx.now);
    let (name, changed, old_default) = call.mutate(|t| {
        let i = find_policy(t, &key)?;
        let before = t.exchange.retention_policies[i].clone();
        let old_name = before["Name"].as_str().unwrap_or_default().to_string();
        let mut links: Vec<String> = before["RetentionPolicyTagLinks"]
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(Value::as_str)
            .map(str::to_string)
            .collect();
        match b.get("RetentionPolicyTagLinks") {
            Some(Value::Object(update)) => {
                let add: Vec<String> = update["Add"]
                    .as_array()
                    .into_iter()
                    .flatten()
                    .filter_map(Value::as_str)
                    .map(str::to_string)
                    .collect();
                for n in resolve_links(t, &add)? {
                    if !links.iter().any(|l| l.eq_ignore_ascii_case(&n)) {
                        links.push(n);
                    }
                }
                for r in update["Remove"].as_array().into_iter().flatten() {
                    let r = r.as_str().unwrap_or_default();
                    let n = t.exchange.retention_tags[find_tag(t, r)?]["Name"]
                        .as_str()
                        .unwrap_or_default()
                        .to_string();
                    links.retain(|l| !l.eq_ignore_ascii_case(&n));
                }
            }
            Some(Value::Array(_)) => {
                links = resolve_links(t, &b.list("RetentionPolicyTagLinks").unwrap_or_default())?;
            }
            _ => {}
        }
        check_links(t, &links)?;
        let new_name = b
            .str("Name")
            .map(str::trim)
            .unwrap_or(&old_name)
            .to_string();
        if !new_name.eq_ignore_ascii_case(&old_name)
            && t.exchange
                .retention_policies
                .iter()
                .any(|o| names_object(o, &new_name))
        {
            return Err(already_exists("Retention Policies Container", &new_name));
        }
        let old_default = t.exchange.default_policy();
        let mut after = before.clone();
        after.insert("Name".into(), json!(new_name));
        after.insert("Identity".into(), json!(new_name));
        after.insert("RetentionPolicyTagLinks".into(), json!(links));
        if b.switch("IsDefault") {
            after.insert("IsDefault".into(), json!(true));
        }
        let changed = after != before;
        if changed && !what_if {
            after.insert("WhenChanged".into(), json!(now));
            after.insert("WhenChangedUTC".into(), json!(now));
            if b.switch("IsDefault") {
                for other in &mut t.exchange.retention_policies {
                    other.insert("IsDefault".into(), json!(false));
                }
            }
            t.exchange.retention_policies[i] = after;
            if new_name != old_name {
                for settings in t.exchange.mailboxes.values_mut() {
                    if settings.get("RetentionPolicy").and_then(Value::as_str) == Some(&old_name) {
                        settings.insert("RetentionPolicy".into(), json!(new_name));
                    }
                }
            }
        }
        Ok((new_name, changed, old_default))
    })?;
    if what_if {
        return Ok(Vec::new());
    }
    if !changed {
        call.nothing_modified(&name);
    } else if b.switch("IsDefault") {
        replaces_default_warning(call, old_default, &name);
    }
    Ok(Vec::new())
}

fn remove_policy(call: &mut Call, b: &Bound) -> Result<Vec<Value>, ExoError> {
    let key = b.str("Identity").unwrap_or_default().to_string();
    let force = b.switch("Force");
    let what_if = b.switch("WhatIf");
    let now = call.ctx.now;
    call.mutate(|t| {
        let i = find_policy(t, &key)?;
        let name = t.exchange.retention_policies[i]["Name"]
            .as_str()
            .unwrap_or_default()
            .to_string();
        let users: Vec<(String, String)> = t.mailbox_users(now)
            .into_iter()
            .map(|u| (t.users[u].id.clone(), t.users[u].alias()))
            .filter(|(id, _)| t.exchange.mailbox_policy(id).as_str() == Some(name.as_str()))
            .collect();
        if !users.is_empty() && !force {
            return Err(ExoError::task(
                "Ex7B1C2D",
                "Microsoft.Exchange.Management.SystemConfigurationTasks.RetentionPolicyInUseException",
                format!(
                    "Retention policy '{name}' is assigned to {} mailbox(es) ({}). Removing it leaves them without a retention policy; use -Force to remove it anyway.",
                    users.len(),
                    users.iter().map(|(_, a)| a.as_str()).collect::<Vec<_>>().join(", ")
                ),
            ));
        }
        if what_if {
            return Ok(());
        }
        for (id, _) in users {
            t.exchange
                .mailboxes
                .entry(id)
                .or_default()
                .insert("RetentionPolicy".into(), Value::Null);
        }
        t.exchange.retention_policies.remove(i);
        Ok(())
    })?;
    Ok(Vec::new())
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use crate::testkit::kit;

    #[test]
    fn retention_tags_and_policies() {
        let k = kit();
        let (_, ann) = k.mailbox_user("ann");
        let tags = k.ok("Get-RetentionPolicyTag", json!({}));
        assert!(
            tags.iter()
                .any(|t| t["Name"] == "Default 2 year move to archive")
        );
        let policies = k.ok("Get-RetentionPolicy", json!({}));
        assert_eq!(policies[0]["Name"], "Default MRM Policy");
        assert_eq!(policies[0]["IsDefault"], true);

        let tag = &k.ok(
            "New-RetentionPolicyTag",
            json!({"Name": "Mail 3 years", "Type": "All", "AgeLimitForRetention": 1095, "RetentionAction": "DeleteAndAllowRecovery", "RetentionEnabled": true}),
        )[0];
        assert_eq!(tag["AgeLimitForRetention"], "1095.00:00:00");
        assert_eq!(tag["Type"], "All");
        assert_eq!(
            k.exo("New-RetentionPolicyTag", json!({"Name": "Mail 3 years", "Type": "All", "AgeLimitForRetention": 1, "RetentionAction": "PermanentlyDelete"}))
                .status,
            400
        );
        // Documented rules.
        for (params, want) in [
            (
                json!({"Name": "a", "Type": "All", "RetentionEnabled": true}),
                "AgeLimitForRetention and RetentionAction",
            ),
            (
                json!({"Name": "b", "Type": "RecoverableItems", "AgeLimitForRetention": 14, "RetentionAction": "PermanentlyDelete"}),
                "only valid retention action is MoveToArchive",
            ),
            (
                json!({"Name": "c", "Type": "Inbox", "AgeLimitForRetention": 14, "RetentionAction": "MoveToArchive"}),
                "MoveToArchive action can be used only",
            ),
            (
                json!({"Name": "d", "Type": "Everything", "AgeLimitForRetention": 14, "RetentionAction": "MoveToArchive"}),
                "Unable to match the identifier name Everything",
            ),
            (
                json!({"Name": "e", "Type": "All", "AgeLimitForRetention": 14, "RetentionAction": "Shred"}),
                "DeleteAndAllowRecovery, PermanentlyDelete",
            ),
        ] {
            let a = k.exo("New-RetentionPolicyTag", params.clone());
            assert_eq!(a.status, 400, "{params}");
            assert!(a.detail().contains(want), "{params}: {}", a.detail());
        }

        let policy = &k.ok(
            "New-RetentionPolicy",
            json!({"Name": "Mail 3 years policy", "RetentionPolicyTagLinks": ["Mail 3 years", "1 Week Delete"]}),
        )[0];
        assert_eq!(
            policy["RetentionPolicyTagLinks"],
            json!(["Mail 3 years", "1 Week Delete"])
        );
        assert_eq!(policy["IsDefault"], false);
        // Two default policy tags in one policy are refused.
        let a = k.exo(
            "New-RetentionPolicy",
            json!({"Name": "two", "RetentionPolicyTagLinks": "Mail 3 years,Default 2 year move to archive"}),
        );
        assert!(
            a.detail().contains("only one default policy tag"),
            "{}",
            a.body
        );
        assert_eq!(
            k.exo(
                "New-RetentionPolicy",
                json!({"Name": "x", "RetentionPolicyTagLinks": ["nope"]})
            )
            .status,
            404
        );

        k.ok(
            "Set-Mailbox",
            json!({"Identity": ann, "RetentionPolicy": "Mail 3 years policy"}),
        );
        assert_eq!(
            k.ok("Get-Mailbox", json!({"Identity": ann}))[0]["RetentionPolicy"],
            "Mail 3 years policy"
        );
        // In use: removal needs -Force, and leaves the mailbox without a policy.
        let a = k.exo(
            "Remove-RetentionPolicy",
            json!({"Identity": "Mail 3 years policy", "Confirm": false}),
        );
        assert_eq!(a.status, 400);
        assert!(a.detail().contains("use -Force"), "{}", a.detail());
        k.ok(
            "Remove-RetentionPolicy",
            json!({"Identity": "Mail 3 years policy", "Force": true, "Confirm": false}),
        );
        assert!(k.ok("Get-Mailbox", json!({"Identity": ann}))[0]["RetentionPolicy"].is_null());
        assert_eq!(
            k.exo(
                "Get-RetentionPolicy",
                json!({"Identity": "Mail 3 years policy"})
            )
            .status,
            404
        );
        k.ok(
            "Remove-RetentionPolicyTag",
            json!({"Identity": "Mail 3 years", "Confirm": false}),
        );
        assert_eq!(
            k.exo(
                "Remove-RetentionPolicyTag",
                json!({"Identity": "Mail 3 years"})
            )
            .status,
            404
        );

        // Set-RetentionPolicy -IsDefault warns that it replaces the default.
        k.ok("New-RetentionPolicy", json!({"Name": "Other"}));
        let a = k.exo(
            "Set-RetentionPolicy",
            json!({"Identity": "Other", "IsDefault": true}),
        );
        assert_eq!(a.status, 200);
        assert!(a.warnings()[0].contains("replaces 'Default MRM Policy'"));
        // A mailbox with no policy of its own follows the default.
        let (_, bob) = k.mailbox_user("bob");
        assert_eq!(
            k.ok("Get-Mailbox", json!({"Identity": bob}))[0]["RetentionPolicy"],
            "Other"
        );
    }
}
