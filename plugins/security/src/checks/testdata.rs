//! What the review reads from a tenant like the sandbox's seed, in the
//! shapes Graph and Exchange document, for the checks' unit tests.

use crate::data::{Data, InboxRules};
use crate::finding::{Missing, Unavailable};
use m365_plugin_sdk::serde_json::{Value, json};
use m365_plugin_sdk::time;

pub const NOW: &str = "2026-06-01T12:00:00Z";
const DOMAIN: &str = "libertygoldsilver.com";
const BASIC: &str = "3b555118-da6a-4418-894f-7df1e2096870";
const STANDARD: &str = "f245ecc8-75af-4f8e-b61f-27d8114de5b3";
const PREMIUM: &str = "cbdc14ab-d96c-4c30-b9f4-6ada7cdc1d46";

fn days_ago(days: i64) -> String {
    time::rfc3339(time::parse(NOW).unwrap() - days * 86_400_000)
}

fn user(id: &str, nick: &str, sku: Option<&str>, created: i64) -> Value {
    json!({
        "id": id,
        "displayName": nick,
        "userPrincipalName": format!("{nick}@{DOMAIN}"),
        "mail": format!("{nick}@{DOMAIN}"),
        "accountEnabled": true,
        "userType": "Member",
        "assignedLicenses": sku.map(|s| vec![json!({"skuId": s, "disabledPlans": []})]).unwrap_or_default(),
        "createdDateTime": days_ago(created),
    })
}

fn guest(id: &str, address: &str, state: &str, invited: i64) -> Value {
    json!({
        "id": id,
        "displayName": address,
        "userPrincipalName": format!("{}#EXT#@libertygoldsilver.onmicrosoft.com", address.replace('@', "_")),
        "mail": address,
        "accountEnabled": true,
        "userType": "Guest",
        "assignedLicenses": [],
        "createdDateTime": days_ago(invited),
        "externalUserState": state,
        "externalUserStateChangeDateTime": days_ago(invited),
    })
}

fn sign_in(id: &str, days: Option<i64>) -> Value {
    let at = days.map(days_ago);
    json!({"id": id, "signInActivity": {
        "lastSignInDateTime": at, "lastNonInteractiveSignInDateTime": at, "lastSuccessfulSignInDateTime": at}})
}

fn registration(id: &str, nick: &str, methods: &[&str], admin: bool) -> Value {
    json!({
        "id": id,
        "userPrincipalName": format!("{nick}@{DOMAIN}"),
        "userType": "member",
        "isAdmin": admin,
        "isMfaRegistered": methods.iter().any(|m| *m != "email"),
        "methodsRegistered": methods,
    })
}

fn mailbox(id: &str, nick: &str, kind: &str, forwarding: Option<&str>) -> Value {
    json!({
        "Identity": nick, "Alias": nick,
        "PrimarySmtpAddress": format!("{nick}@{DOMAIN}"),
        "UserPrincipalName": format!("{nick}@{DOMAIN}"),
        "ExternalDirectoryObjectId": id,
        "RecipientTypeDetails": kind,
        "ForwardingSmtpAddress": forwarding,
        "ForwardingAddress": null,
        "DeliverToMailboxAndForward": false,
    })
}

fn cas(nick: &str, imap: bool, smtp_auth_disabled: Value) -> Value {
    json!({"Identity": nick, "PrimarySmtpAddress": format!("{nick}@{DOMAIN}"),
        "PopEnabled": false, "ImapEnabled": imap, "ActiveSyncEnabled": true,
        "SmtpClientAuthenticationDisabled": smtp_auth_disabled})
}

fn plans(names: &[&str]) -> Value {
    json!(
        names
            .iter()
            .map(|n| json!({"servicePlanName": n}))
            .collect::<Vec<_>>()
    )
}

/// The sandbox's seeded tenant.
pub fn seeded() -> Data {
    let mut d = Data::empty(time::parse(NOW).unwrap());
    d.organization = Ok(vec![
        json!({"displayName": "Liberty Gold Silver (sandbox)"}),
    ]);
    let mut dana = user("u-dana", "dana.whitfield", Some(STANDARD), 900);
    dana["accountEnabled"] = json!(false);
    d.users = Ok(vec![
        user("u-admin", "admin", Some(PREMIUM), 1000),
        user("u-ann", "ann.lee", Some(STANDARD), 700),
        user("u-ben", "ben.ortiz", Some(BASIC), 500),
        user("u-chris", "chris.pike", Some(BASIC), 400),
        dana,
        user("u-info", "info", None, 300),
        guest("u-sam", "sam.reyes@example.com", "Accepted", 365),
        guest("u-pat", "pat.kim@example.net", "PendingAcceptance", 120),
    ]);
    d.sign_ins = Ok(vec![
        sign_in("u-admin", Some(0)),
        sign_in("u-ann", Some(2)),
        sign_in("u-ben", Some(5)),
        sign_in("u-chris", Some(200)),
        sign_in("u-dana", Some(45)),
        sign_in("u-info", None),
        sign_in("u-sam", Some(10)),
        sign_in("u-pat", None),
    ]);
    d.registration = Ok(vec![
        registration(
            "u-admin",
            "admin",
            &["microsoftAuthenticatorPush", "mobilePhone"],
            true,
        ),
        registration("u-ann", "ann.lee", &["microsoftAuthenticatorPush"], false),
        registration("u-ben", "ben.ortiz", &[], false),
        registration("u-chris", "chris.pike", &["mobilePhone"], false),
        registration(
            "u-dana",
            "dana.whitfield",
            &["microsoftAuthenticatorPush"],
            false,
        ),
        registration("u-info", "info", &[], false),
    ]);
    d.global_admins = Ok(vec![json!({
        "@odata.type": "#microsoft.graph.user", "id": "u-admin",
        "userPrincipalName": format!("admin@{DOMAIN}")})]);
    d.security_defaults = Ok(json!({"isEnabled": false}));
    d.conditional_access = Ok(vec![]);
    d.authorization = Ok(json!({
        "allowInvitesFrom": "adminsAndGuestInviters",
        "guestUserRoleId": "10dae51f-b6af-4016-8d66-8c2a99b929b3",
        "defaultUserRolePermissions": {
            "allowedToCreateApps": false,
            "permissionGrantPoliciesAssigned": ["ManagePermissionGrantsForSelf.microsoft-user-default-low"],
        },
    }));
    d.domains = Ok(vec![
        json!({"id": DOMAIN, "isDefault": true, "isInitial": false, "isVerified": true, "passwordValidityPeriodInDays": 2147483647}),
        json!({"id": "libertygoldsilver.onmicrosoft.com", "isDefault": false, "isInitial": true, "isVerified": true, "passwordValidityPeriodInDays": 2147483647}),
        json!({"id": "libertygoldsilver.co.uk", "isDefault": false, "isInitial": false, "isVerified": true, "passwordValidityPeriodInDays": 2147483647}),
    ]);
    let exchange = ["EXCHANGE_S_STANDARD", "TEAMS1"];
    d.skus = Ok(vec![
        json!({"skuId": BASIC, "skuPartNumber": "O365_BUSINESS_ESSENTIALS", "consumedUnits": 2, "prepaidUnits": {"enabled": 10}, "servicePlans": plans(&exchange)}),
        json!({"skuId": STANDARD, "skuPartNumber": "O365_BUSINESS_PREMIUM", "consumedUnits": 2, "prepaidUnits": {"enabled": 10}, "servicePlans": plans(&exchange)}),
        json!({"skuId": PREMIUM, "skuPartNumber": "SPB", "consumedUnits": 1, "prepaidUnits": {"enabled": 5}, "servicePlans": plans(&["EXCHANGE_S_STANDARD", "AAD_PREMIUM"])}),
    ]);
    d.transport = Ok(json!({"SmtpClientAuthenticationDisabled": false}));
    d.audit_log = Ok(json!({"UnifiedAuditLogIngestionEnabled": false}));
    d.org_config = Ok(json!({"AuditDisabled": false}));
    d.remote_domains = Ok(vec![
        json!({"Name": "Default", "DomainName": "*", "AutoForwardEnabled": true}),
    ]);
    d.outbound_spam = Ok(vec![
        json!({"Name": "Default", "IsDefault": true, "AutoForwardingMode": "Automatic"}),
    ]);
    d.dkim = Ok(vec![
        json!({"Domain": "libertygoldsilver.onmicrosoft.com", "Enabled": true}),
        json!({"Domain": DOMAIN, "Enabled": true}),
        json!({"Domain": "libertygoldsilver.co.uk", "Enabled": false}),
    ]);
    d.mailboxes = Ok(vec![
        mailbox("u-admin", "admin", "UserMailbox", None),
        mailbox("u-ann", "ann.lee", "UserMailbox", None),
        mailbox("u-ben", "ben.ortiz", "UserMailbox", None),
        mailbox("u-chris", "chris.pike", "UserMailbox", None),
        mailbox(
            "u-dana",
            "dana.whitfield",
            "UserMailbox",
            Some("smtp:dana.whitfield@example.org"),
        ),
        mailbox("u-info", "info", "SharedMailbox", None),
    ]);
    d.cas_mailboxes = Ok(vec![
        cas("admin", false, json!(false)),
        cas("ann.lee", true, Value::Null),
        cas("ben.ortiz", false, Value::Null),
        cas("chris.pike", false, Value::Null),
        cas("dana.whitfield", false, Value::Null),
        cas("info", false, Value::Null),
    ]);
    let ann = format!("ann.lee@{DOMAIN}");
    d.inbox_rules = Ok(InboxRules {
        rules: vec![
            (
                ann.clone(),
                json!({"Name": "Invoices to Ben", "Enabled": true,
                "ForwardTo": ["\"Ben Ortiz\" [EX:/o=ExchangeLabs/ou=Exchange Administrative Group (FYDIBOHF23SPDLT)/cn=Recipients/cn=abc-ben.ortiz]"],
                "RedirectTo": null, "ForwardAsAttachmentTo": null}),
            ),
            (
                ann,
                json!({"Name": "Sync", "Enabled": true, "ForwardTo": null,
                "RedirectTo": ["\"ann.lee.archive@example.net\" [SMTP:ann.lee.archive@example.net]"],
                "ForwardAsAttachmentTo": null}),
            ),
        ],
        scanned: 6,
        total: 6,
        stopped: None,
    });
    d
}

/// The same tenant without Entra ID P1: the reports and conditional access
/// are refused.
pub fn without_p1() -> Data {
    let mut d = seeded();
    let no = |what: &str| {
        Err(Unavailable::new(
            Missing::Licence,
            format!("needs Microsoft Entra ID P1 for {what}, and the tenant has none"),
        ))
    };
    d.sign_ins = no("sign-in activity");
    d.registration = no("MFA registration details");
    d.conditional_access = no("conditional access policies");
    d
}
