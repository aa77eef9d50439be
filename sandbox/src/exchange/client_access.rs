//! `Get-CASMailbox`: each mailbox's client access settings. A new mailbox has every protocol
//! on ("The default value is $true" for `ImapEnabled`, `PopEnabled`, `ActiveSyncEnabled`,
//! `MAPIEnabled`, `OWAEnabled`, `EwsEnabled`) and `SmtpClientAuthenticationDisabled` `$null`,
//! which means the organization's `Set-TransportConfig` setting applies (Set-CASMailbox); the
//! tenant keeps only what differs. Without `-ResultSize` at most 1000 come back, with the
//! warning Get-Mailbox gives.
//!
//! Microsoft Learn: Get-CASMailbox; Set-CASMailbox.

use serde_json::{Map, Value, json};

use super::cmdlet::{Call, Cmdlet};
use super::error::ExoError;
use super::mailbox::{RESULT_SIZE_WARNING, resolve};
use super::params::{Bound, Ty, p};
use crate::tenant::ids::derived_guid;
use crate::tenant::{Tenant, User};

pub(crate) const CMDLETS: &[Cmdlet] = &[Cmdlet {
    name: "Get-CASMailbox",
    params: &[p("Identity", Ty::Str), p("ResultSize", Ty::Unlimited)],
    run: get_cas_mailbox,
}];

fn cas_json(t: &Tenant, u: &User) -> Value {
    let mut out = Map::new();
    let alias = u.alias();
    for (k, v) in [
        ("Name", json!(alias)),
        ("Identity", json!(alias)),
        ("DisplayName", json!(u.prop_str("displayName"))),
        ("PrimarySmtpAddress", json!(u.primary_smtp())),
        ("ExternalDirectoryObjectId", json!(u.id)),
        (
            "Guid",
            json!(derived_guid(&format!("mailbox-guid/{}", u.id))),
        ),
        ("ActiveSyncEnabled", json!(true)),
        ("OWAEnabled", json!(true)),
        ("OWAforDevicesEnabled", json!(true)),
        ("PopEnabled", json!(true)),
        ("ImapEnabled", json!(true)),
        ("MAPIEnabled", json!(true)),
        ("EwsEnabled", json!(true)),
        ("UniversalOutlookEnabled", json!(true)),
        ("OutlookMobileEnabled", json!(true)),
        ("MacOutlookEnabled", json!(true)),
        ("ECPEnabled", json!(true)),
        ("SmtpClientAuthenticationDisabled", Value::Null),
        ("IsValid", json!(true)),
        ("ObjectState", json!("Unchanged")),
    ] {
        out.insert(k.into(), v);
    }
    if let Some(set) = t.exchange.cas_mailboxes.get(&u.id) {
        for (k, v) in set {
            out.insert(k.clone(), v.clone());
        }
    }
    Value::Object(out)
}

fn get_cas_mailbox(call: &mut Call, b: &Bound) -> Result<Vec<Value>, ExoError> {
    let now = call.ctx.now;
    let (list, truncated) = call.read(|t| {
        let users = match b.str("Identity") {
            Some(key) => vec![resolve(t, key, now)?],
            None => t.mailbox_users(now),
        };
        let mut list: Vec<Value> = users.iter().map(|&i| cas_json(t, &t.users[i])).collect();
        let limit = match b.get("ResultSize") {
            Some(Value::Number(n)) => n.as_u64().unwrap_or(1000) as usize,
            Some(_) => usize::MAX,
            None => 1000,
        };
        let truncated = list.len() > limit && !b.has("ResultSize");
        list.truncate(limit);
        Ok::<_, ExoError>((list, truncated))
    })?;
    if truncated {
        call.warnings.push(RESULT_SIZE_WARNING.into());
    }
    Ok(list)
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use crate::testkit::{ADMIN, assert_exo_error, kit};

    #[test]
    fn cas_mailboxes_start_with_every_protocol_on() {
        let k = kit();
        k.mailbox_user("ann");
        let all = k.ok("Get-CASMailbox", json!({"ResultSize": "Unlimited"}));
        assert_eq!(all.len(), 2);
        let admin = &k.ok("Get-CASMailbox", json!({"Identity": ADMIN}))[0];
        assert_eq!(admin["ImapEnabled"], true);
        assert_eq!(admin["PopEnabled"], true);
        assert!(admin["SmtpClientAuthenticationDisabled"].is_null());
        k.app
            .store
            .mutate(|t| {
                let id = t.users[0].id.clone();
                t.exchange.cas_mailboxes.insert(
                    id,
                    json!({"ImapEnabled": false}).as_object().cloned().unwrap(),
                );
                Ok(())
            })
            .unwrap();
        let admin = &k.ok("Get-CASMailbox", json!({"Identity": "admin"}))[0];
        assert_eq!(admin["ImapEnabled"], false);
        assert_exo_error(
            &k.exo("Get-CASMailbox", json!({"Identity": "ghost"})),
            404,
            "NotFound",
            "object 'ghost' couldn't be found",
        );
    }
}
