//! The tenant a new sandbox starts as: a small firm's, with the mix of good and bad settings a
//! real one collects over the years, so that a security review of a fresh sandbox finds real
//! problems (and the fixes have something to fix).
//!
//! On top of the bare tenant (the organization, its SKUs and the Global Administrator):
//! - Ann Lee (Sales, Business Standard, MFA): an inbox rule redirecting all mail to an outside
//!   address, one forwarding to a colleague, and IMAP on;
//! - Ben Ortiz (Operations, Business Basic): never registered for MFA;
//! - Chris Pike (a former intern, Business Basic): enabled, last signed in 200 days ago;
//! - Dana Whitfield (left; sign-in blocked): still licensed, her mail forwarded to a private
//!   address;
//! - info@: a shared mailbox whose account can still sign in;
//! - two guests: an accountant who accepted a year ago, and one invited 120 days ago who never
//!   accepted;
//! - a second custom domain, `libertygoldsilver.co.uk`, without DKIM signing;
//! - the admin's mailbox with SMTP AUTH on (for the office scanner);
//! - guest invitations limited to admins and Guest Inviters, app registration to admins, and
//!   user consent to verified publishers' apps asking for low-impact permissions;
//! - and, as for any tenant of its age: security defaults off, no conditional access, SMTP
//!   AUTH allowed, the unified audit log off, external forwarding left to the defaults.
//!
//! Addresses outside the tenant use the reserved `example.*` domains.

use serde_json::{Map, Value, json};
use time::{Duration, OffsetDateTime};

use super::directory::{AssignedLicense, DEFAULT_DOMAIN, Domain, INITIAL_DOMAIN, User};
use super::identity::{AuthMethod, AuthMethodKind, SignInActivity};
use super::mailbox::{Mailbox, MailboxKind};
use super::state::Tenant;

const BUSINESS_BASIC: &str = "3b555118-da6a-4418-894f-7df1e2096870";
const BUSINESS_STANDARD: &str = "f245ecc8-75af-4f8e-b61f-27d8114de5b3";
pub(crate) const SECOND_DOMAIN: &str = "libertygoldsilver.co.uk";

/// One seeded person: name, local part, department, license, how long ago they were created
/// and last signed in (days), and their methods.
struct Person {
    given: &'static str,
    surname: &'static str,
    nick: &'static str,
    department: &'static str,
    license: Option<&'static str>,
    created_days_ago: i64,
    signed_in_days_ago: Option<i64>,
    methods: &'static [AuthMethodKind],
}

const PEOPLE: &[Person] = &[
    Person {
        given: "Ann",
        surname: "Lee",
        nick: "ann.lee",
        department: "Sales",
        license: Some(BUSINESS_STANDARD),
        created_days_ago: 700,
        signed_in_days_ago: Some(2),
        methods: &[AuthMethodKind::MicrosoftAuthenticator],
    },
    Person {
        given: "Ben",
        surname: "Ortiz",
        nick: "ben.ortiz",
        department: "Operations",
        license: Some(BUSINESS_BASIC),
        created_days_ago: 500,
        signed_in_days_ago: Some(5),
        methods: &[],
    },
    Person {
        given: "Chris",
        surname: "Pike",
        nick: "chris.pike",
        department: "Sales",
        license: Some(BUSINESS_BASIC),
        created_days_ago: 400,
        signed_in_days_ago: Some(200),
        methods: &[AuthMethodKind::Phone],
    },
    Person {
        given: "Dana",
        surname: "Whitfield",
        nick: "dana.whitfield",
        department: "Finance",
        license: Some(BUSINESS_STANDARD),
        created_days_ago: 900,
        signed_in_days_ago: Some(45),
        methods: &[AuthMethodKind::MicrosoftAuthenticator],
    },
];

fn obj(v: Value) -> Map<String, Value> {
    match v {
        Value::Object(m) => m,
        _ => Map::new(),
    }
}

fn methods(kinds: &[AuthMethodKind], at: OffsetDateTime, owner: &str) -> Vec<AuthMethod> {
    kinds
        .iter()
        .enumerate()
        .map(|(i, kind)| AuthMethod {
            id: super::ids::derived_guid(&format!("auth-method/{owner}/{i}")),
            kind: *kind,
            created_date_time: at,
        })
        .collect()
}

fn person(p: &Person, now: OffsetDateTime) -> User {
    let upn = format!("{}@{DEFAULT_DOMAIN}", p.nick);
    let created = now - Duration::days(p.created_days_ago);
    let mut u = User::new(
        uuid::Uuid::new_v4().to_string(),
        created,
        obj(json!({
            "accountEnabled": true,
            "displayName": format!("{} {}", p.given, p.surname),
            "givenName": p.given,
            "surname": p.surname,
            "mailNickname": p.nick,
            "userPrincipalName": upn,
            "mail": upn,
            "usageLocation": "US",
            "department": p.department,
            "businessPhones": [],
        })),
    );
    if let Some(sku) = p.license {
        u.assigned_licenses = vec![AssignedLicense {
            sku_id: sku.into(),
            disabled_plans: vec![],
        }];
        u.mailbox = Some(Mailbox::new(created, MailboxKind::User));
    }
    u.auth_methods = methods(p.methods, created, p.nick);
    if let Some(days) = p.signed_in_days_ago {
        u.sign_in = SignInActivity::at(now - Duration::days(days));
    }
    u
}

fn guest(
    name: &str,
    address: &str,
    state: &str,
    invited_days_ago: i64,
    now: OffsetDateTime,
) -> User {
    let invited = now - Duration::days(invited_days_ago);
    let upn = format!("{}#EXT#@{INITIAL_DOMAIN}", address.replace('@', "_"));
    User::new(
        uuid::Uuid::new_v4().to_string(),
        invited,
        obj(json!({
            "accountEnabled": true,
            "displayName": name,
            "mailNickname": address.replace('@', "_"),
            "userPrincipalName": upn,
            "mail": address,
            "userType": "Guest",
            "creationType": "Invitation",
            "externalUserState": state,
            "externalUserStateChangeDateTime": crate::web::time::rfc3339(invited),
            "otherMails": [address],
            "businessPhones": [],
        })),
    )
}

/// An inbox rule as Graph's `messageRules` shows it, acting on all mail.
fn rule(id: &str, name: &str, sequence: i64, action: &str, to: &str) -> Value {
    json!({
        "id": id,
        "displayName": name,
        "sequence": sequence,
        "isEnabled": true,
        "hasError": false,
        "isReadOnly": false,
        "conditions": {},
        "actions": {
            action: [{"emailAddress": {"name": to, "address": to}}],
            "stopProcessingRules": false,
        },
    })
}

impl Tenant {
    /// The tenant a new sandbox starts as (see the module's list).
    pub fn seed(tenant_id: &str) -> Tenant {
        let now = OffsetDateTime::now_utc();
        let mut t = Tenant::bare(tenant_id);
        t.domains.push(Domain::new(SECOND_DOMAIN, false, false));
        t.exchange.dkim.insert(DEFAULT_DOMAIN.into(), true);
        t.exchange.dkim.insert(SECOND_DOMAIN.into(), false);

        let admin = &mut t.users[0];
        admin.auth_methods = methods(
            &[
                AuthMethodKind::MicrosoftAuthenticator,
                AuthMethodKind::Phone,
            ],
            now,
            "admin",
        );
        admin.sign_in = SignInActivity::at(now - Duration::hours(2));
        let admin_id = admin.id.clone();

        for p in PEOPLE {
            t.users.push(person(p, now));
        }
        let id_of = |t: &Tenant, nick: &str| {
            t.users[t
                .find_user(&format!("{nick}@{DEFAULT_DOMAIN}"))
                .expect("seeded person")]
            .id
            .clone()
        };
        let ann = id_of(&t, "ann.lee");
        let ben_address = format!("ben.ortiz@{DEFAULT_DOMAIN}");
        if let Some(mb) = t
            .users
            .iter_mut()
            .find(|u| u.id == ann)
            .and_then(|u| u.mailbox.as_mut())
        {
            mb.rules = vec![
                rule(
                    "AQAAAAAAAAE=",
                    "Invoices to Ben",
                    1,
                    "forwardTo",
                    &ben_address,
                ),
                rule(
                    "AQAAAAAAAAI=",
                    "Sync",
                    2,
                    "redirectTo",
                    "ann.lee.archive@example.net",
                ),
            ];
        }
        let dana = id_of(&t, "dana.whitfield");
        if let Some(u) = t.users.iter_mut().find(|u| u.id == dana) {
            u.props.insert("accountEnabled".into(), json!(false));
        }
        t.exchange.mailboxes.insert(
            dana.clone(),
            obj(json!({
                "ForwardingSmtpAddress": "smtp:dana.whitfield@example.org",
                "DeliverToMailboxAndForward": false,
            })),
        );

        let info_created = now - Duration::days(300);
        let info_upn = format!("info@{DEFAULT_DOMAIN}");
        let mut info = User::new(
            uuid::Uuid::new_v4().to_string(),
            info_created,
            obj(json!({
                "accountEnabled": true,
                "displayName": "Info",
                "mailNickname": "info",
                "userPrincipalName": info_upn,
                "mail": info_upn,
                "businessPhones": [],
            })),
        );
        info.mailbox = Some(Mailbox::new(info_created, MailboxKind::Shared));
        t.users.push(info);

        t.users.push(guest(
            "Sam Reyes (Reyes Accounting)",
            "sam.reyes@example.com",
            "Accepted",
            365,
            now,
        ));
        let sam = t.users.len() - 1;
        t.users[sam].sign_in = SignInActivity::at(now - Duration::days(10));
        t.users.push(guest(
            "Pat Kim",
            "pat.kim@example.net",
            "PendingAcceptance",
            120,
            now,
        ));

        // A previous admin turned POP and IMAP off, except for Ann's old phone app; the
        // scanner sends as the admin with SMTP AUTH.
        let ids: Vec<String> = t
            .users
            .iter()
            .filter(|u| u.mailbox.is_some())
            .map(|u| u.id.clone())
            .collect();
        for id in ids {
            let mut cas = obj(json!({"PopEnabled": false, "ImapEnabled": id == ann}));
            if id == admin_id {
                cas.insert("SmtpClientAuthenticationDisabled".into(), json!(false));
            }
            t.exchange.cas_mailboxes.insert(id, cas);
        }

        let auth = &mut t.policies.authorization;
        auth.allow_invites_from = "adminsAndGuestInviters".into();
        auth.allowed_to_create_apps = false;
        auth.permission_grant_policies_assigned =
            vec!["ManagePermissionGrantsForSelf.microsoft-user-default-low".into()];
        t
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::tenant::MailboxState;

    #[test]
    fn the_seed_holds_the_mix_within_its_seats() {
        let t = Tenant::seed("tid");
        let now = OffsetDateTime::now_utc();
        for sku in &t.skus {
            assert!(
                t.consumed(&sku.sku_id) <= sku.enabled,
                "{}",
                sku.sku_part_number
            );
        }
        assert_eq!(t.consumed(BUSINESS_STANDARD), 2);
        assert!(t.has_entra_p1());
        let user = |upn: &str| &t.users[t.find_user(upn).unwrap()];
        let info = user("info@libertygoldsilver.com");
        assert!(info.assigned_licenses.is_empty() && info.is_enabled());
        assert_eq!(
            t.mailbox_state(info, now),
            MailboxState::Ready,
            "shared needs no license"
        );
        let ben = user("ben.ortiz@libertygoldsilver.com");
        assert!(!ben.registration().mfa_registered);
        assert!(!user("dana.whitfield@libertygoldsilver.com").is_enabled());
        assert_eq!(t.users.iter().filter(|u| u.is_guest()).count(), 2);
        assert!(t.is_admin(&t.users[0].id) && !t.is_admin(&ben.id));
        assert_eq!(t.exchange.dkim.get(SECOND_DOMAIN), Some(&false));
    }
}
