//! `Get-InboxRule -Mailbox`: a mailbox's inbox rules, the same rules Graph's `messageRules`
//! serve (one store, two faces), as Exchange shows them: `Name`, `Identity`
//! (`{alias}\{RuleIdentity}`), `Priority`, `Enabled`, and the recipients of `ForwardTo`,
//! `RedirectTo` and `ForwardAsAttachmentTo` as `"name" [SMTP:address]` — or, for a mailbox of
//! this organization, `"name" [EX:/o=ExchangeLabs/…]`, the routing type that tells internal
//! from external (community-observed format; Microsoft documents the properties, not their
//! text). App-only callers have no mailbox of their own, so `-Mailbox` is required here
//! (without it the cmdlet would read the caller's). The cmdlet "doesn't work for … the Global
//! Reader role" (Get-InboxRule), which `tenant::roles` keeps from an app with only that role.
//!
//! Microsoft Learn: Get-InboxRule; messageRule resource type.

use serde_json::{Map, Value, json};

use super::cmdlet::{Call, Cmdlet};
use super::error::ExoError;
use super::mailbox::resolve;
use super::params::{Bound, Ty, m, p};
use crate::tenant::{Tenant, User};

pub(crate) const CMDLETS: &[Cmdlet] = &[Cmdlet {
    name: "Get-InboxRule",
    params: &[
        m("Mailbox", Ty::Str),
        p("Identity", Ty::Str),
        p("IncludeHidden", Ty::Switch),
    ],
    run: get_inbox_rule,
}];

/// The number Exchange identifies a rule by, derived from the rule's Graph id.
fn rule_identity(graph_id: &str) -> u64 {
    use base64::Engine;
    let bytes = base64::engine::general_purpose::STANDARD
        .decode(graph_id)
        .unwrap_or_default();
    bytes.iter().fold(0u64, |acc, b| {
        acc.wrapping_mul(256).wrapping_add(u64::from(*b))
    })
}

/// A recipient of a rule action, as Exchange prints it.
fn recipient(t: &Tenant, r: &Value, now: time::OffsetDateTime) -> String {
    let address = r["emailAddress"]["address"].as_str().unwrap_or_default();
    let name = r["emailAddress"]["name"].as_str().unwrap_or(address);
    match resolve(t, address, now) {
        Ok(i) => {
            let u = &t.users[i];
            format!(
                "\"{}\" [EX:/o=ExchangeLabs/ou=Exchange Administrative Group (FYDIBOHF23SPDLT)/cn=Recipients/cn={}-{}]",
                u.prop_str("displayName").unwrap_or(name),
                u.id.replace('-', ""),
                u.alias()
            )
        }
        Err(_) => format!("\"{name}\" [SMTP:{address}]"),
    }
}

fn rule_json(t: &Tenant, owner: &User, rule: &Value, now: time::OffsetDateTime) -> Value {
    let id = rule_identity(rule["id"].as_str().unwrap_or_default());
    let actions = &rule["actions"];
    let list = |key: &str| -> Value {
        match actions[key].as_array() {
            Some(a) if !a.is_empty() => {
                json!(a.iter().map(|r| recipient(t, r, now)).collect::<Vec<_>>())
            }
            _ => Value::Null,
        }
    };
    let mut out = Map::new();
    for (k, v) in [
        ("Name", rule["displayName"].clone()),
        ("Identity", json!(format!("{}\\{id}", owner.alias()))),
        ("RuleIdentity", json!(id.to_string())),
        ("MailboxOwnerId", json!(owner.alias())),
        ("Priority", rule["sequence"].clone()),
        ("Enabled", rule["isEnabled"].clone()),
        ("InError", rule["hasError"].clone()),
        (
            "StopProcessingRules",
            json!(actions["stopProcessingRules"].as_bool().unwrap_or(false)),
        ),
        ("ForwardTo", list("forwardTo")),
        ("RedirectTo", list("redirectTo")),
        ("ForwardAsAttachmentTo", list("forwardAsAttachmentTo")),
        (
            "DeleteMessage",
            json!(actions["delete"].as_bool().unwrap_or(false)),
        ),
        (
            "MarkAsRead",
            json!(actions["markAsRead"].as_bool().unwrap_or(false)),
        ),
        ("MoveToFolder", actions["moveToFolder"].clone()),
        ("SupportedByTask", json!(true)),
        ("IsValid", json!(true)),
        ("ObjectState", json!("Unchanged")),
    ] {
        out.insert(k.into(), v);
    }
    Value::Object(out)
}

fn get_inbox_rule(call: &mut Call, b: &Bound) -> Result<Vec<Value>, ExoError> {
    let now = call.ctx.now;
    call.read(|t| {
        let owner = &t.users[resolve(t, b.str("Mailbox").unwrap_or_default(), now)?];
        let mut rules: Vec<&Value> = owner.mailbox.iter().flat_map(|m| m.rules.iter()).collect();
        rules.sort_by_key(|r| r["sequence"].as_i64().unwrap_or(i64::MAX));
        let mut out: Vec<Value> = rules.iter().map(|r| rule_json(t, owner, r, now)).collect();
        if let Some(key) = b.str("Identity") {
            out.retain(|r| {
                ["Name", "RuleIdentity", "Identity"]
                    .iter()
                    .any(|k| r[*k].as_str().is_some_and(|v| v.eq_ignore_ascii_case(key)))
            });
            if out.is_empty() {
                return Err(ExoError::not_found(key));
            }
        }
        Ok(out)
    })
}

#[cfg(test)]
mod tests {
    use http::Method;
    use serde_json::json;

    use crate::testkit::{ADMIN, assert_exo_error, kit};

    #[test]
    fn inbox_rules_show_what_graph_created_with_routing_types() {
        let k = kit();
        let (_, ann) = k.mailbox_user("ann");
        for (name, action, to) in [
            ("To Ann", "forwardTo", ann.as_str()),
            ("Out", "redirectTo", "thief@example.net"),
        ] {
            let a = k.graph(
                Method::POST,
                &format!("/users/{ADMIN}/mailFolders/inbox/messageRules"),
                Some(
                    json!({"displayName": name, "sequence": 1, "isEnabled": true,
                    "actions": {action: [{"emailAddress": {"name": to, "address": to}}]}}),
                ),
            );
            assert_eq!(a.status, 201, "{}", a.body);
        }
        let rules = k.ok("Get-InboxRule", json!({"Mailbox": ADMIN}));
        assert_eq!(rules.len(), 2);
        let to_ann = rules.iter().find(|r| r["Name"] == "To Ann").unwrap();
        assert!(
            to_ann["ForwardTo"][0]
                .as_str()
                .unwrap()
                .contains("[EX:/o=ExchangeLabs"),
            "{to_ann}"
        );
        assert!(to_ann["RedirectTo"].is_null());
        let out = rules.iter().find(|r| r["Name"] == "Out").unwrap();
        assert_eq!(
            out["RedirectTo"][0],
            "\"thief@example.net\" [SMTP:thief@example.net]"
        );
        assert!(out["Identity"].as_str().unwrap().starts_with("admin\\"));
        assert_eq!(
            k.ok(
                "Get-InboxRule",
                json!({"Mailbox": ADMIN, "Identity": "Out"})
            )
            .len(),
            1
        );
        assert_exo_error(
            &k.exo("Get-InboxRule", json!({"Mailbox": "ghost"})),
            404,
            "NotFound",
            "object 'ghost' couldn't be found",
        );

        // An app that is only Global Reader has no Get-InboxRule in its session.
        k.app
            .store
            .mutate(|t| {
                t.set_app_roles(&["Global Reader".into()]).unwrap();
                Ok(())
            })
            .unwrap();
        assert_exo_error(
            &k.exo("Get-InboxRule", json!({"Mailbox": ADMIN})),
            400,
            "BadRequest",
            "The term 'Get-InboxRule' is not recognized",
        );
        assert_eq!(k.exo("Get-Mailbox", json!({"Identity": ADMIN})).status, 200);
        assert_eq!(
            k.exo(
                "Set-Mailbox",
                json!({"Identity": ADMIN, "AuditEnabled": true})
            )
            .status,
            400
        );
    }
}
