//! Entra ID: MFA registration and enforcement, legacy sign-in, the Global
//! Administrators, accounts nobody uses, password expiry.
//!
//! SCuBA (cisagov/ScubaGear `baselines/aad.md`): MS.AAD.3.2v2 "MFA SHALL be
//! enforced for all users"; MS.AAD.1.1v1 "Legacy authentication SHALL be
//! blocked"; MS.AAD.3.6v1 "Phishing-resistant MFA SHALL be required for
//! highly privileged roles"; MS.AAD.7.1v1 "A minimum of two users and a
//! maximum of eight users SHALL be provisioned with the Global Administrator
//! role" — for a firm of fewer than ten people we advise at most four;
//! MS.AAD.6.1v1 "User passwords SHALL NOT expire" (`passwordValidityPeriodInDays`
//! null or 2147483647).

use super::Check;
use crate::data::{Data, Source, date_of, id_of, str_of, upn};
use crate::finding::{Evidence, Fix, Outcome, Severity, Unavailable, need};
use crate::reads::GLOBAL_ADMINISTRATOR;
use m365_plugin_sdk::serde_json::{Value, json};
use m365_plugin_sdk::time;

pub static CHECKS: &[Check] = &[
    Check {
        id: "MFA-001",
        title: "Members registered for MFA",
        severity: Severity::High,
        baseline: &["MS.AAD.3.2v2"],
        needs: &[Source::Users, Source::Registration, Source::Mailboxes],
        run: mfa_registered,
    },
    Check {
        id: "MFA-002",
        title: "MFA enforced for all users",
        severity: Severity::High,
        baseline: &["MS.AAD.3.2v2"],
        needs: &[Source::SecurityDefaults, Source::ConditionalAccess],
        run: mfa_enforced,
    },
    Check {
        id: "AUTH-001",
        title: "Legacy authentication blocked",
        severity: Severity::High,
        baseline: &["MS.AAD.1.1v1"],
        needs: &[Source::SecurityDefaults, Source::ConditionalAccess],
        run: legacy_blocked,
    },
    Check {
        id: "ADM-001",
        title: "Two to four Global Administrators",
        severity: Severity::Medium,
        baseline: &["MS.AAD.7.1v1"],
        needs: &[Source::GlobalAdmins],
        run: admin_count,
    },
    Check {
        id: "ADM-002",
        title: "Global Administrators registered for MFA",
        severity: Severity::High,
        baseline: &["MS.AAD.3.6v1"],
        needs: &[Source::GlobalAdmins, Source::Registration],
        run: admins_mfa,
    },
    Check {
        id: "ADM-003",
        title: "Global Administrators use no daily mailbox",
        severity: Severity::Low,
        baseline: &["Microsoft Entra: separate admin accounts"],
        needs: &[
            Source::GlobalAdmins,
            Source::Users,
            Source::Skus,
            Source::SignIns,
        ],
        run: admins_separate,
    },
    Check {
        id: "USR-001",
        title: "No enabled account unused for 90 days",
        severity: Severity::Medium,
        baseline: &["Microsoft Entra: inactive users"],
        needs: &[Source::Users, Source::SignIns, Source::Mailboxes],
        run: stale_accounts,
    },
    Check {
        id: "PWD-001",
        title: "Passwords never expire",
        severity: Severity::Low,
        baseline: &["MS.AAD.6.1v1"],
        needs: &[Source::Domains],
        run: password_expiry,
    },
];

const REGISTRATION_DETAILS: &str =
    "Entra admin center > Protection > Authentication methods > User registration details";

/// Days after which an account nobody signs in with counts as unused.
pub const STALE_DAYS: i64 = 90;

fn enable_security_defaults() -> Fix {
    Fix::call(
        "enable_feature",
        json!({"featureName": "security-defaults", "scope": "organization"}),
    )
}

fn strings<'a>(v: &'a Value, pointer: &str) -> Vec<&'a str> {
    v.pointer(pointer)
        .and_then(Value::as_array)
        .map(|a| a.iter().filter_map(Value::as_str).collect())
        .unwrap_or_default()
}

/// An enabled conditional access policy that applies to all users.
fn for_everyone(p: &Value) -> bool {
    str_of(p, "state") == Some("enabled")
        && strings(p, "/conditions/users/includeUsers").contains(&"All")
}

fn requires_mfa(p: &Value) -> bool {
    for_everyone(p)
        && (strings(p, "/grantControls/builtInControls").contains(&"mfa")
            || p.pointer("/grantControls/authenticationStrength")
                .is_some_and(|s| !s.is_null()))
}

fn blocks_legacy(p: &Value) -> bool {
    let apps = strings(p, "/conditions/clientAppTypes");
    for_everyone(p)
        && apps.contains(&"exchangeActiveSync")
        && apps.contains(&"other")
        && strings(p, "/grantControls/builtInControls").contains(&"block")
}

/// Security defaults on (`Ok(true)`), or the conditional access policies
/// that do what `wanted` asks; a tenant without P1 has none.
fn enforced_by(
    d: &Data,
    wanted: fn(&Value) -> bool,
) -> Result<(bool, Vec<String>, Option<String>), Unavailable> {
    if need(&d.security_defaults)?["isEnabled"].as_bool() == Some(true) {
        return Ok((true, Vec::new(), None));
    }
    match &d.conditional_access {
        Ok(policies) => Ok((
            false,
            policies
                .iter()
                .filter(|p| wanted(p))
                .filter_map(|p| str_of(p, "displayName").map(String::from))
                .collect(),
            None,
        )),
        Err(e) if e.kind == crate::finding::Missing::Licence => {
            Ok((false, Vec::new(), Some(e.reason.clone())))
        }
        Err(e) => Err(e.clone()),
    }
}

fn mfa_enforced(d: &Data) -> Result<Outcome, Unavailable> {
    let (defaults, policies, no_ca) = enforced_by(d, requires_mfa)?;
    let evidence = Evidence::new().with("securityDefaults", defaults);
    if defaults || !policies.is_empty() {
        return Ok(Outcome::pass(evidence.names(policies)));
    }
    let evidence = match &no_ca {
        Some(why) => evidence.with("conditionalAccess", why.as_str()),
        None => evidence.with("conditionalAccessPolicies", 0),
    };
    Ok(Outcome::fail(evidence, enable_security_defaults()))
}

fn legacy_blocked(d: &Data) -> Result<Outcome, Unavailable> {
    let (defaults, policies, no_ca) = enforced_by(d, blocks_legacy)?;
    let evidence = Evidence::new().with("securityDefaults", defaults);
    if defaults || !policies.is_empty() {
        return Ok(Outcome::pass(evidence.names(policies)));
    }
    let evidence = match &no_ca {
        Some(why) => evidence.with("conditionalAccess", why.as_str()),
        None => evidence.with("conditionalAccessPolicies", 0),
    };
    Ok(Outcome::fail(evidence, enable_security_defaults()))
}

/// Registration details by user id: `isMfaRegistered`.
fn registered(d: &Data, user_id: &str) -> Result<bool, Unavailable> {
    Ok(need(&d.registration)?
        .iter()
        .find(|r| id_of(r).eq_ignore_ascii_case(user_id))
        .and_then(|r| r["isMfaRegistered"].as_bool())
        .unwrap_or(false))
}

fn mfa_registered(d: &Data) -> Result<Outcome, Unavailable> {
    let people = d.enabled_people()?;
    need(&d.registration)?;
    let mut missing = Vec::new();
    for u in &people {
        if !registered(d, id_of(u))? {
            missing.push(upn(u).to_string());
        }
    }
    let evidence = Evidence::new()
        .with("notRegistered", missing.len())
        .with("of", people.len());
    if missing.is_empty() {
        return Ok(Outcome::pass(evidence));
    }
    Ok(Outcome::fail(
        evidence.names(missing),
        Fix::manual(REGISTRATION_DETAILS).note("They register at https://aka.ms/mysecurityinfo."),
    ))
}

/// The users among the Global Administrator role's members.
fn admin_users(d: &Data) -> Result<Vec<&Value>, Unavailable> {
    Ok(need(&d.global_admins)?
        .iter()
        .filter(|m| str_of(m, "@odata.type").is_none_or(|t| t.ends_with(".user")))
        .collect())
}

fn admin_count(d: &Data) -> Result<Outcome, Unavailable> {
    let admins = admin_users(d)?;
    let n = admins.len();
    let evidence = Evidence::new()
        .with("globalAdmins", n)
        .names(admins.iter().map(|u| upn(u).to_string()));
    if (2..=4).contains(&n) {
        return Ok(Outcome::pass(evidence));
    }
    let role = format!(
        "POST /roleManagement/directory/roleAssignments {{\"principalId\":\"<user id>\",\"roleDefinitionId\":\"{GLOBAL_ADMINISTRATOR}\",\"directoryScopeId\":\"/\"}}"
    );
    let (reason, fix) = if n < 2 {
        (
            format!("Only {n} Global Administrator. SCuBA asks 2 to 8; we advise 2 to 4."),
            Fix::manual(
                "Entra admin center > Roles & admins > Global Administrator > Add assignments",
            )
            .graph(role),
        )
    } else {
        (
            format!("{n} Global Administrators: SCuBA allows 8 at most; we advise 4 at most."),
            Fix::manual(
                "Entra admin center > Roles & admins > Global Administrator > remove assignments",
            )
            .note("Give the others a narrower role (User, Exchange or Helpdesk Administrator)."),
        )
    };
    Ok(Outcome::fail(evidence, fix).because(reason))
}

const PHISHING_RESISTANT: &[&str] = &[
    "fido2SecurityKey",
    "windowsHelloForBusiness",
    "passKeyDeviceBound",
    "passKeyDeviceBoundAuthenticator",
    "passKeyDeviceBoundWindowsHello",
];

fn admins_mfa(d: &Data) -> Result<Outcome, Unavailable> {
    let admins = admin_users(d)?;
    let rows = need(&d.registration)?;
    let row = |id: &str| rows.iter().find(|r| id_of(r).eq_ignore_ascii_case(id));
    let without: Vec<String> = admins
        .iter()
        .filter(|a| row(id_of(a)).and_then(|r| r["isMfaRegistered"].as_bool()) != Some(true))
        .map(|a| upn(a).to_string())
        .collect();
    let phishing_resistant = admins
        .iter()
        .filter(|a| {
            row(id_of(a)).is_some_and(|r| {
                strings(r, "/methodsRegistered")
                    .iter()
                    .any(|m| PHISHING_RESISTANT.contains(m))
            })
        })
        .count();
    let evidence = Evidence::new()
        .with("withoutMfa", without.len())
        .with("of", admins.len())
        .with("phishingResistant", phishing_resistant);
    if without.is_empty() {
        return Ok(Outcome::pass(evidence));
    }
    Ok(Outcome::fail(
        evidence.names(without),
        Fix::manual(REGISTRATION_DETAILS)
            .note("SCuBA asks admins for a phishing-resistant method (FIDO2 key, Windows Hello)."),
    ))
}

/// SKU ids whose service plans include an Exchange Online mailbox.
fn mailbox_skus(d: &Data) -> Result<Vec<&str>, Unavailable> {
    Ok(need(&d.skus)?
        .iter()
        .filter(|s| {
            s["servicePlans"].as_array().is_some_and(|plans| {
                plans.iter().any(|p| {
                    str_of(p, "servicePlanName").is_some_and(|n| n.starts_with("EXCHANGE_S_"))
                })
            })
        })
        .filter_map(|s| str_of(s, "skuId"))
        .collect())
}

fn admins_separate(d: &Data) -> Result<Outcome, Unavailable> {
    let admins = admin_users(d)?;
    let users = need(&d.users)?;
    let with_mailbox = mailbox_skus(d)?;
    let mut daily = Vec::new();
    for a in &admins {
        let Some(u) = users
            .iter()
            .find(|u| id_of(u).eq_ignore_ascii_case(id_of(a)))
        else {
            continue;
        };
        let licensed = u["assignedLicenses"].as_array().is_some_and(|ls| {
            ls.iter()
                .filter_map(|l| str_of(l, "skuId"))
                .any(|id| with_mailbox.iter().any(|m| m.eq_ignore_ascii_case(id)))
        });
        if !licensed {
            continue;
        }
        // In daily use: signed in within 30 days, where sign-in activity is known.
        let recent = match d.last_sign_in(id_of(u)) {
            Ok(last) => last.is_some_and(|t| d.days_since(t) <= 30),
            Err(_) => true,
        };
        if recent {
            daily.push(upn(u).to_string());
        }
    }
    let mut evidence = Evidence::new()
        .with("withDailyMailbox", daily.len())
        .with("of", admins.len());
    if d.sign_ins.is_err() {
        evidence = evidence.with("signInActivity", "unknown: every licensed admin counts");
    }
    if daily.is_empty() {
        return Ok(Outcome::pass(evidence));
    }
    Ok(Outcome::fail(evidence.names(daily),
        Fix::manual("Microsoft 365 admin center > Users > Add a user (unlicensed) for admin work; move the role to it")).because("A Global Administrator reads mail daily: one phishing mail reaches the tenant's keys."))
}

fn stale_accounts(d: &Data) -> Result<Outcome, Unavailable> {
    let people = d.enabled_people()?;
    need(&d.sign_ins)?;
    let mut stale = Vec::new();
    for u in &people {
        let last = d.last_sign_in(id_of(u))?;
        let idle = match last {
            Some(t) => d.days_since(t) > STALE_DAYS,
            None => str_of(u, "createdDateTime")
                .and_then(time::parse)
                .is_some_and(|c| d.days_since(c) > STALE_DAYS),
        };
        if idle {
            let when = last.map_or("never".to_string(), |t| {
                date_of(&time::rfc3339(t)).to_string()
            });
            stale.push((upn(u).to_string(), when));
        }
    }
    let evidence = Evidence::new()
        .with("unused", stale.len())
        .with("of", people.len());
    if stale.is_empty() {
        return Ok(Outcome::pass(evidence));
    }
    Ok(Outcome::fail(
        evidence.names(stale.iter().map(|(u, when)| format!("{u} ({when})"))),
        Fix::calls(
            "set_user_sign_in",
            stale
                .iter()
                .map(|(u, _)| json!({"userEmail": u, "enabled": false})),
        )
        .note("offboard_user instead if they left."),
    ))
}

fn password_expiry(d: &Data) -> Result<Outcome, Unavailable> {
    let domains = need(&d.domains)?;
    let expiring: Vec<(String, i64)> = domains
        .iter()
        .filter(|dm| dm["isVerified"].as_bool() != Some(false))
        .filter_map(|dm| {
            let days = dm["passwordValidityPeriodInDays"].as_i64()?;
            (days != i64::from(i32::MAX))
                .then(|| (str_of(dm, "id").unwrap_or("?").to_string(), days))
        })
        .collect();
    let evidence = Evidence::new()
        .with("expiring", expiring.len())
        .with("of", domains.len());
    if expiring.is_empty() {
        return Ok(Outcome::pass(evidence));
    }
    let first = expiring[0].0.clone();
    Ok(Outcome::fail(evidence.names(expiring.iter().map(|(dm, days)| format!("{dm} ({days} days)"))),
        Fix::manual("Microsoft 365 admin center > Settings > Org settings > Security & privacy > Password expiration policy")
            .graph(format!(
                "PATCH /domains/{first} {{\"passwordValidityPeriodInDays\":2147483647}}"
            ))).because("Passwords expire; Microsoft and CISA advise never-expiring ones with MFA."))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::checks::testdata::{seeded, without_p1};
    use crate::finding::Status;

    fn run(id: &str, d: &Data) -> Outcome {
        let c = CHECKS.iter().find(|c| c.id == id).unwrap();
        crate::checks::evaluate(c, d)
    }

    #[test]
    fn the_seeded_tenant_fails_and_passes_as_planned() {
        let d = seeded();
        let mfa = run("MFA-001", &d);
        assert_eq!(mfa.status, Status::Fail, "{mfa:?}");
        assert_eq!(
            mfa.evidence.clone().into_value()["names"],
            json!(["ben.ortiz@libertygoldsilver.com"])
        );
        let enforced = run("MFA-002", &d);
        assert_eq!(enforced.status, Status::Fail);
        assert_eq!(enforced.fix.unwrap().calls[0].tool, "enable_feature");
        assert_eq!(run("AUTH-001", &d).status, Status::Fail);
        let count = run("ADM-001", &d);
        assert_eq!(count.status, Status::Fail);
        assert!(count.reason.unwrap().contains("2 to 8"));
        assert_eq!(run("ADM-002", &d).status, Status::Pass);
        assert_eq!(run("ADM-003", &d).status, Status::Fail);
        let stale = run("USR-001", &d);
        assert_eq!(stale.status, Status::Fail, "{stale:?}");
        let names = stale.evidence.clone().into_value()["names"].clone();
        assert_eq!(names.as_array().unwrap().len(), 1, "{names}");
        assert!(
            names[0].as_str().unwrap().starts_with("chris.pike@"),
            "{names}"
        );
        assert_eq!(stale.fix.unwrap().calls[0].arguments["enabled"], false);
        assert_eq!(run("PWD-001", &d).status, Status::Pass);
    }

    #[test]
    fn fixes_turn_checks_to_pass() {
        let mut d = seeded();
        d.security_defaults = Ok(json!({"isEnabled": true}));
        assert_eq!(run("MFA-002", &d).status, Status::Pass);
        assert_eq!(run("AUTH-001", &d).status, Status::Pass);
        // Conditional access for all users does it too.
        let mut d = seeded();
        d.conditional_access = Ok(vec![json!({
            "displayName": "MFA and no legacy", "state": "enabled",
            "conditions": {"users": {"includeUsers": ["All"]}, "clientAppTypes": ["exchangeActiveSync", "other"]},
            "grantControls": {"builtInControls": ["mfa", "block"]}
        })]);
        assert_eq!(run("MFA-002", &d).status, Status::Pass);
        assert_eq!(run("AUTH-001", &d).status, Status::Pass);
        // A report-only policy enforces nothing.
        d.conditional_access.as_mut().unwrap()[0]["state"] =
            json!("enabledForReportingButNotEnforced");
        assert_eq!(run("MFA-002", &d).status, Status::Fail);
    }

    #[test]
    fn without_p1_the_reports_are_unknown_and_the_rest_still_runs() {
        let d = without_p1();
        for id in ["MFA-001", "ADM-002", "USR-001"] {
            let o = run(id, &d);
            assert_eq!(o.status, Status::Unknown, "{id}: {o:?}");
            assert!(o.reason.unwrap().contains("Entra ID P1"), "{id}");
        }
        // Without P1 there is no conditional access: MFA is simply not enforced.
        let o = run("MFA-002", &d);
        assert_eq!(o.status, Status::Fail);
        assert!(
            o.evidence.into_value()["conditionalAccess"]
                .as_str()
                .unwrap()
                .contains("P1")
        );
        // The admin check does not need sign-in activity to say something.
        assert_eq!(run("ADM-003", &d).status, Status::Fail);
        assert_eq!(run("ADM-001", &d).status, Status::Fail);
    }

    #[test]
    fn admin_counts_follow_the_baseline_and_our_rule() {
        let mut d = seeded();
        let admin = |i: usize| json!({"@odata.type": "#microsoft.graph.user", "id": format!("a{i}"), "userPrincipalName": format!("a{i}@x.com")});
        for (n, status) in [
            (1, Status::Fail),
            (2, Status::Pass),
            (4, Status::Pass),
            (5, Status::Fail),
            (9, Status::Fail),
        ] {
            let mut members: Vec<Value> = (0..n).map(admin).collect();
            members.push(json!({"@odata.type": "#microsoft.graph.servicePrincipal", "id": "app"}));
            d.global_admins = Ok(members);
            assert_eq!(run("ADM-001", &d).status, status, "{n} admins");
        }
    }

    #[test]
    fn expiring_passwords_are_named_by_domain() {
        let mut d = seeded();
        d.domains.as_mut().unwrap()[0]["passwordValidityPeriodInDays"] = json!(90);
        let o = run("PWD-001", &d);
        assert_eq!(o.status, Status::Fail);
        assert_eq!(
            o.evidence.into_value()["names"],
            json!(["libertygoldsilver.com (90 days)"])
        );
        d.domains.as_mut().unwrap()[0]["passwordValidityPeriodInDays"] = Value::Null;
        assert_eq!(run("PWD-001", &d).status, Status::Pass, "null means never");
    }
}
