//! Who may do what: guests and the invitations that made them, user consent
//! to apps and app registration, licenses on blocked accounts, and shared
//! mailboxes' accounts.
//!
//! SCuBA (`baselines/aad.md`): MS.AAD.8.1v1 "Guest users SHOULD have limited
//! or restricted access to Microsoft Entra ID directory objects"
//! (`guestUserRoleId` Limited `10dae51f-…` or Restricted `2af84b1e-…`);
//! MS.AAD.8.2v1 "Only users with the Guest Inviter role SHOULD be able to
//! invite guest users" (`allowInvitesFrom` `adminsAndGuestInviters`);
//! MS.AAD.5.2v1 "User consent to applications SHALL be restricted" (the
//! legacy and Microsoft-recommended consent policies fail it);
//! MS.AAD.5.1v1 "Only administrators SHALL be allowed to register
//! applications". Microsoft: "always block sign-in for the shared mailbox
//! account" (About shared mailboxes).

use super::Check;
use crate::data::{Data, Source, date_of, id_of, is_enabled, is_guest, str_of, upn};
use crate::finding::{Evidence, Fix, Outcome, Severity, Unavailable, need};
use m365_plugin_sdk::licenses::License;
use m365_plugin_sdk::serde_json::{Value, json};
use m365_plugin_sdk::time;
use std::collections::BTreeMap;

pub static CHECKS: &[Check] = &[
    Check {
        id: "GST-001",
        title: "Guests accepted and still active",
        severity: Severity::Low,
        baseline: &["Microsoft Entra: guest access reviews"],
        needs: &[Source::Users, Source::SignIns],
        run: guests,
    },
    Check {
        id: "GST-002",
        title: "Guest directory access limited",
        severity: Severity::Medium,
        baseline: &["MS.AAD.8.1v1"],
        needs: &[Source::Authorization],
        run: guest_access,
    },
    Check {
        id: "GST-003",
        title: "Only admins and Guest Inviters invite guests",
        severity: Severity::Low,
        baseline: &["MS.AAD.8.2v1"],
        needs: &[Source::Authorization],
        run: guest_invites,
    },
    Check {
        id: "APP-001",
        title: "User consent to apps restricted",
        severity: Severity::Medium,
        baseline: &["MS.AAD.5.2v1"],
        needs: &[Source::Authorization],
        run: user_consent,
    },
    Check {
        id: "APP-002",
        title: "Only admins register applications",
        severity: Severity::Low,
        baseline: &["MS.AAD.5.1v1"],
        needs: &[Source::Authorization],
        run: app_registration,
    },
    Check {
        id: "LIC-001",
        title: "No license on a blocked account",
        severity: Severity::Low,
        baseline: &["Microsoft 365: unassign licenses"],
        needs: &[Source::Users, Source::Skus],
        run: licensed_blocked,
    },
    Check {
        id: "SHR-001",
        title: "Shared mailbox accounts cannot sign in",
        severity: Severity::Medium,
        baseline: &["Microsoft 365: shared mailbox sign-in"],
        needs: &[Source::Mailboxes, Source::Users],
        run: shared_sign_in,
    },
];

const LIMITED_GUESTS: &str = "10dae51f-b6af-4016-8d66-8c2a99b929b3";
const RESTRICTED_GUESTS: &str = "2af84b1e-32c8-42b7-82bc-daa82404023b";
const EXTERNAL_COLLABORATION: &str =
    "Entra admin center > External Identities > External collaboration settings";

/// A guest invitation not accepted after this many days is stale.
const PENDING_DAYS: i64 = 30;

fn guests(d: &Data) -> Result<Outcome, Unavailable> {
    let all: Vec<&Value> = need(&d.users)?.iter().filter(|u| is_guest(u)).collect();
    let mut listed: Vec<String> = Vec::new();
    let mut stale = Vec::new();
    for g in &all {
        let invited = str_of(g, "createdDateTime").unwrap_or_default();
        let state = str_of(g, "externalUserState").unwrap_or("unknown");
        let last = d.last_sign_in(id_of(g)).ok();
        let mut row = format!(
            "{}: invited {}, {state}",
            str_of(g, "mail").unwrap_or(upn(g)),
            date_of(invited)
        );
        if let Some(last) = last {
            let when = last.map_or("never".into(), |t| date_of(&time::rfc3339(t)).to_string());
            row.push_str(&format!(", last sign-in {when}"));
        }
        let invited_days = time::parse(invited).map_or(0, |t| d.days_since(t));
        let pending = state == "PendingAcceptance" && invited_days > PENDING_DAYS;
        let idle = state == "Accepted"
            && invited_days > super::identity::STALE_DAYS
            && matches!(last, Some(l) if l.is_none_or(|t| d.days_since(t) > super::identity::STALE_DAYS));
        if pending || idle {
            stale.push(upn(g).to_string());
        }
        listed.push(row);
    }
    let mut evidence = Evidence::new()
        .with("guests", all.len())
        .with("stale", stale.len())
        .names(listed);
    if let Err(e) = &d.sign_ins {
        evidence = evidence.with("lastSignIn", format!("unknown: {}", e.reason));
    }
    if stale.is_empty() {
        return Ok(Outcome::pass(evidence));
    }
    Ok(Outcome::fail(
        evidence,
        Fix::calls("delete_user", stale.iter().map(|u| json!({"userEmail": u}))),
    ))
}

fn guest_access(d: &Data) -> Result<Outcome, Unavailable> {
    let role = str_of(need(&d.authorization)?, "guestUserRoleId").unwrap_or_default();
    let level = match role {
        LIMITED_GUESTS => "limited",
        RESTRICTED_GUESTS => "restricted",
        _ => "same as members",
    };
    let evidence = Evidence::new().with("guestAccess", level);
    if level != "same as members" {
        return Ok(Outcome::pass(evidence));
    }
    Ok(Outcome::fail(
        evidence,
        Fix::manual(EXTERNAL_COLLABORATION).graph(format!(
            "PATCH /policies/authorizationPolicy {{\"guestUserRoleId\":\"{RESTRICTED_GUESTS}\"}}"
        )),
    ))
}

fn guest_invites(d: &Data) -> Result<Outcome, Unavailable> {
    let who = str_of(need(&d.authorization)?, "allowInvitesFrom").unwrap_or("everyone");
    let evidence = Evidence::new().with("allowInvitesFrom", who);
    if matches!(who, "adminsAndGuestInviters" | "none") {
        return Ok(Outcome::pass(evidence));
    }
    Ok(Outcome::fail(
        evidence,
        Fix::manual(EXTERNAL_COLLABORATION).graph(
            "PATCH /policies/authorizationPolicy {\"allowInvitesFrom\":\"adminsAndGuestInviters\"}",
        ),
    ))
}

fn user_consent(d: &Data) -> Result<Outcome, Unavailable> {
    let auth = need(&d.authorization)?;
    let assigned: Vec<&str> = auth
        .pointer("/defaultUserRolePermissions/permissionGrantPoliciesAssigned")
        .and_then(Value::as_array)
        .map(|a| a.iter().filter_map(Value::as_str).collect())
        .unwrap_or_default();
    let own: Vec<&str> = assigned
        .iter()
        .copied()
        .filter(|p| p.starts_with("ManagePermissionGrantsForSelf."))
        .collect();
    let (allowed, pass) = if own.is_empty() {
        ("no apps", true)
    } else if own.iter().any(|p| p.ends_with("-legacy")) {
        ("any app", false)
    } else if own.iter().any(|p| p.ends_with("-recommended")) {
        ("apps Microsoft's recommended policy allows", false)
    } else if own.iter().all(|p| p.ends_with("-low")) {
        ("verified publishers' apps, low-impact permissions", true)
    } else {
        ("apps a custom policy allows", false)
    };
    let evidence = Evidence::new().with("usersMayConsentTo", allowed);
    if pass {
        return Ok(Outcome::pass(evidence));
    }
    Ok(Outcome::fail(evidence,
        Fix::manual("Entra admin center > Enterprise apps > Consent and permissions > User consent settings")
            .graph("PATCH /policies/authorizationPolicy {\"defaultUserRolePermissions\":{\"permissionGrantPoliciesAssigned\":[]}}")))
}

fn app_registration(d: &Data) -> Result<Outcome, Unavailable> {
    let may = need(&d.authorization)?
        .pointer("/defaultUserRolePermissions/allowedToCreateApps")
        .and_then(Value::as_bool)
        .unwrap_or(true);
    let evidence = Evidence::new().with("usersMayRegisterApps", may);
    if !may {
        return Ok(Outcome::pass(evidence));
    }
    Ok(Outcome::fail(evidence,
        Fix::manual("Entra admin center > Identity > Users > User settings > Users can register applications")
            .graph("PATCH /policies/authorizationPolicy {\"defaultUserRolePermissions\":{\"allowedToCreateApps\":false}}")))
}

fn licensed_blocked(d: &Data) -> Result<Outcome, Unavailable> {
    let users = need(&d.users)?;
    let skus = need(&d.skus)?;
    let part = |sku_id: &str| {
        skus.iter()
            .find(|s| str_of(s, "skuId").is_some_and(|i| i.eq_ignore_ascii_case(sku_id)))
            .and_then(|s| str_of(s, "skuPartNumber"))
            .unwrap_or(sku_id)
            .to_string()
    };
    let mut seats: BTreeMap<String, u32> = BTreeMap::new();
    let mut wasted = Vec::new();
    for u in users.iter().filter(|u| !is_enabled(u)) {
        let parts: Vec<String> = u["assignedLicenses"]
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(|l| str_of(l, "skuId"))
            .map(part)
            .collect();
        if parts.is_empty() {
            continue;
        }
        for p in &parts {
            *seats.entry(p.clone()).or_default() += 1;
        }
        wasted.push((upn(u).to_string(), parts));
    }
    let cost: f64 = seats
        .iter()
        .filter_map(|(p, n)| {
            License::from_part_number(p).map(|l| l.monthly_list_price_usd() * f64::from(*n))
        })
        .sum();
    let mut evidence = Evidence::new()
        .with("accounts", wasted.len())
        .with("seats", json!(seats));
    if cost > 0.0 {
        evidence = evidence.with("monthlyListPriceUsd", cost);
    }
    if wasted.is_empty() {
        return Ok(Outcome::pass(evidence));
    }
    let name =
        |p: &str| License::from_part_number(p).map_or(p.to_string(), |l| l.name().to_string());
    Ok(Outcome::fail(evidence.names(wasted.iter().map(|(u, _)| u.clone())),
        Fix::calls(
            "set_user_licenses",
            wasted.iter().map(|(u, parts)| {
                json!({"userEmail": u, "remove": parts.iter().map(|p| name(p)).collect::<Vec<_>>()})
            }),
        )
        .note("convert_mailbox {address, to: \"shared\"} first keeps the mail.")))
}

fn shared_sign_in(d: &Data) -> Result<Outcome, Unavailable> {
    let mailboxes = need(&d.mailboxes)?;
    let users = need(&d.users)?;
    let shared: Vec<&Value> = mailboxes
        .iter()
        .filter(|m| str_of(m, "RecipientTypeDetails") == Some("SharedMailbox"))
        .collect();
    let open: Vec<String> = shared
        .iter()
        .filter(|m| {
            let id = str_of(m, "ExternalDirectoryObjectId").unwrap_or_default();
            users
                .iter()
                .find(|u| id_of(u).eq_ignore_ascii_case(id))
                .is_some_and(is_enabled)
        })
        .map(|m| m365_plugin_sdk::exchange::address(m))
        .collect();
    let evidence = Evidence::new()
        .with("canSignIn", open.len())
        .with("of", shared.len());
    if open.is_empty() {
        return Ok(Outcome::pass(evidence));
    }
    Ok(Outcome::fail(
        evidence.names(open.iter().cloned()),
        Fix::calls(
            "set_user_sign_in",
            open.iter()
                .map(|m| json!({"userEmail": m, "enabled": false})),
        ),
    ))
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
        let g = run("GST-001", &d);
        assert_eq!(g.status, Status::Fail, "{g:?}");
        let e = g.evidence.into_value();
        assert_eq!(e["guests"], 2);
        assert_eq!(e["stale"], 1);
        assert_eq!(
            e["names"][0],
            "sam.reyes@example.com: invited 2025-06-01, Accepted, last sign-in 2026-05-22",
            "{e}"
        );
        assert_eq!(
            e["names"][1],
            "pat.kim@example.net: invited 2026-02-01, PendingAcceptance, last sign-in never"
        );
        let fix = g.fix.unwrap();
        assert_eq!(fix.calls[0].tool, "delete_user");
        assert!(
            fix.calls[0].arguments["userEmail"]
                .as_str()
                .unwrap()
                .starts_with("pat.kim_example.net#EXT#")
        );
        assert_eq!(run("GST-002", &d).status, Status::Pass);
        assert_eq!(run("GST-003", &d).status, Status::Pass);
        assert_eq!(run("APP-001", &d).status, Status::Pass);
        assert_eq!(run("APP-002", &d).status, Status::Pass);
        let lic = run("LIC-001", &d);
        assert_eq!(lic.status, Status::Fail);
        let e = lic.evidence.into_value();
        assert_eq!(e["monthlyListPriceUsd"], 12.5);
        assert_eq!(e["seats"]["O365_BUSINESS_PREMIUM"], 1);
        assert_eq!(
            lic.fix.unwrap().calls[0].arguments,
            json!({"userEmail": "dana.whitfield@libertygoldsilver.com", "remove": ["BusinessStandard"]})
        );
        let shr = run("SHR-001", &d);
        assert_eq!(shr.status, Status::Fail);
        assert_eq!(
            shr.fix.unwrap().calls[0].arguments,
            json!({"userEmail": "info@libertygoldsilver.com", "enabled": false})
        );
    }

    #[test]
    fn consent_policies_read_as_scuba_does() {
        let mut d = seeded();
        for (policies, status) in [
            (json!([]), Status::Pass),
            (
                json!(["ManagePermissionGrantsForSelf.microsoft-user-default-legacy"]),
                Status::Fail,
            ),
            (
                json!(["ManagePermissionGrantsForSelf.microsoft-user-default-low"]),
                Status::Pass,
            ),
            (
                json!(["ManagePermissionGrantsForSelf.microsoft-user-default-recommended"]),
                Status::Fail,
            ),
            (
                json!([
                    "ManagePermissionGrantsForOwnedResource.microsoft-dynamically-managed-permissions-for-team"
                ]),
                Status::Pass,
            ),
        ] {
            d.authorization.as_mut().unwrap()["defaultUserRolePermissions"]["permissionGrantPoliciesAssigned"] =
                policies.clone();
            assert_eq!(run("APP-001", &d).status, status, "{policies}");
        }
    }

    #[test]
    fn guests_without_p1_still_show_who_and_since_when() {
        let d = without_p1();
        let g = run("GST-001", &d);
        assert_eq!(
            g.status,
            Status::Fail,
            "the pending invitation needs no sign-in data"
        );
        let e = g.evidence.into_value();
        assert!(e["lastSignIn"].as_str().unwrap().contains("P1"));
        assert!(!e["names"][0].as_str().unwrap().contains("last sign-in"));
    }
}
