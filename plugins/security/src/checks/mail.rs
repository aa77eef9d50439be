//! Exchange Online: SMTP AUTH and legacy protocols, external forwarding (the
//! organization's controls, mailbox forwarding and inbox rules), auditing,
//! and DKIM signing.
//!
//! SCuBA (`baselines/exo.md`): MS.EXO.5.1v1 "SMTP AUTH SHALL be disabled"
//! (`Get-TransportConfig` `SmtpClientAuthenticationDisabled`); MS.EXO.1.1v2
//! "Automatic forwarding to external domains SHALL be disabled", which
//! ScubaGear checks on the remote domains (`AutoForwardEnabled`);
//! MS.EXO.13.1v1 "Mailbox auditing SHALL be enabled" (`AuditDisabled`);
//! MS.EXO.3.1v1 "DKIM SHOULD be enabled for all domains" (ScubaGear also
//! checks the DNS record, which needs a resolver this review does not have).
//! `baselines/securitysuite.md`: MS.SECURITYSUITE.5.1v1 "Unified Audit
//! logging SHALL be enabled" (formerly MS.EXO.17.1v1).
//!
//! A per-mailbox `SmtpClientAuthenticationDisabled` of `$false` turns SMTP
//! AUTH on for that mailbox whatever the organization says; `$null` follows
//! the organization (Set-CASMailbox). App passwords are not readable through
//! Graph: they exist only with legacy per-user MFA, and blocking legacy
//! authentication (AUTH-001) stops the clients that use them.

use super::Check;
use crate::data::{Data, Source, str_of};
use crate::finding::{Evidence, Fix, Outcome, Severity, Unavailable, need};
use m365_plugin_sdk::exchange::{address, plain_address};
use m365_plugin_sdk::serde_json::{Value, json};

pub static CHECKS: &[Check] = &[
    Check {
        id: "SMTP-001",
        title: "SMTP AUTH off for the organization",
        severity: Severity::Medium,
        baseline: &["MS.EXO.5.1v1"],
        needs: &[Source::Transport],
        run: smtp_auth,
    },
    Check {
        id: "PROTO-001",
        title: "No mailbox with POP, IMAP or SMTP AUTH turned on",
        severity: Severity::Low,
        baseline: &["MS.EXO.5.1v1", "MS.AAD.1.1v1"],
        needs: &[Source::CasMailboxes],
        run: protocols,
    },
    Check {
        id: "FWD-001",
        title: "Automatic forwarding to external domains blocked",
        severity: Severity::Medium,
        baseline: &["MS.EXO.1.1v2"],
        needs: &[Source::RemoteDomains, Source::OutboundSpam],
        run: forwarding_controls,
    },
    Check {
        id: "FWD-002",
        title: "No mailbox forwards outside the tenant",
        severity: Severity::High,
        baseline: &["MS.EXO.1.1v2"],
        needs: &[Source::Mailboxes, Source::Domains],
        run: mailbox_forwarding,
    },
    Check {
        id: "FWD-003",
        title: "No inbox rule forwards or redirects outside",
        severity: Severity::High,
        baseline: &["MS.EXO.1.1v2"],
        needs: &[Source::Domains, Source::Mailboxes, Source::InboxRules],
        run: forwarding_rules,
    },
    Check {
        id: "AUD-001",
        title: "Unified audit log on",
        severity: Severity::High,
        baseline: &["MS.SECURITYSUITE.5.1v1"],
        needs: &[Source::AuditLog],
        run: unified_audit_log,
    },
    Check {
        id: "AUD-002",
        title: "Mailbox auditing on",
        severity: Severity::Medium,
        baseline: &["MS.EXO.13.1v1"],
        needs: &[Source::OrgConfig],
        run: mailbox_auditing,
    },
    Check {
        id: "DKIM-001",
        title: "DKIM signing for every custom domain",
        severity: Severity::Medium,
        baseline: &["MS.EXO.3.1v1"],
        needs: &[Source::Domains, Source::Dkim],
        run: dkim,
    },
];

fn organization(feature: &str) -> Fix {
    Fix::call(
        "enable_feature",
        json!({"featureName": feature, "scope": "organization"}),
    )
}

fn smtp_auth(d: &Data) -> Result<Outcome, Unavailable> {
    let off = need(&d.transport)?["SmtpClientAuthenticationDisabled"].as_bool() == Some(true);
    let evidence = Evidence::new().with("smtpClientAuthenticationDisabled", off);
    if off {
        return Ok(Outcome::pass(evidence));
    }
    Ok(Outcome::fail(evidence, organization("smtp-auth-off")))
}

fn protocols(d: &Data) -> Result<Outcome, Unavailable> {
    let boxes = need(&d.cas_mailboxes)?;
    let mut open = Vec::new();
    for m in boxes {
        let mut on = Vec::new();
        if m["PopEnabled"].as_bool() == Some(true) {
            on.push("POP");
        }
        if m["ImapEnabled"].as_bool() == Some(true) {
            on.push("IMAP");
        }
        if m["SmtpClientAuthenticationDisabled"].as_bool() == Some(false) {
            on.push("SMTP AUTH");
        }
        if !on.is_empty() {
            open.push((address(m), on));
        }
    }
    let evidence = Evidence::new()
        .with("mailboxes", open.len())
        .with("of", boxes.len());
    if open.is_empty() {
        return Ok(Outcome::pass(evidence));
    }
    let (first, on) = &open[0];
    let mut command = format!("Set-CASMailbox -Identity {first}");
    for p in on {
        command.push_str(match *p {
            "POP" => " -PopEnabled $false",
            "IMAP" => " -ImapEnabled $false",
            _ => " -SmtpClientAuthenticationDisabled $true",
        });
    }
    Ok(Outcome::fail(
        evidence.names(
            open.iter()
                .map(|(m, on)| format!("{m} ({})", on.join(", "))),
        ),
        Fix::manual("Exchange admin center > Recipients > Mailboxes > Mail apps")
            .powershell(command),
    ))
}

fn forwarding_controls(d: &Data) -> Result<Outcome, Unavailable> {
    let allowing: Vec<String> = need(&d.remote_domains)?
        .iter()
        .filter(|r| r["AutoForwardEnabled"].as_bool() == Some(true))
        .map(|r| {
            format!(
                "{} ({})",
                str_of(r, "Name").unwrap_or("?"),
                str_of(r, "DomainName").unwrap_or("?")
            )
        })
        .collect();
    let spam = need(&d.outbound_spam)?;
    let default = spam
        .iter()
        .find(|p| p["IsDefault"].as_bool() == Some(true))
        .or(spam.first());
    let mode = default
        .and_then(|p| str_of(p, "AutoForwardingMode"))
        .unwrap_or("Automatic");
    let evidence = Evidence::new()
        .with("outboundSpamPolicy", mode)
        .names(allowing.iter().cloned());
    if allowing.is_empty() {
        return Ok(Outcome::pass(evidence));
    }
    let policy = match mode {
        "Off" => "the outbound spam policy blocks it for now",
        "On" => "the outbound spam policy lets it through",
        _ => "the outbound spam policy leaves it to Microsoft",
    };
    Ok(Outcome::fail(evidence,
        Fix::manual("Exchange admin center > Mail flow > Remote domains > Default")
            .powershell("Set-RemoteDomain -Identity Default -AutoForwardEnabled $false; Set-HostedOutboundSpamFilterPolicy -Identity Default -AutoForwardingMode Off")).because(format!(
            "Remote domain {} allows auto-forwarding outside; {policy}.",
            allowing.join(", ")
        )))
}

fn mailbox_forwarding(d: &Data) -> Result<Outcome, Unavailable> {
    let own = d.own_domains();
    let boxes = need(&d.mailboxes)?;
    let outside: Vec<(String, String)> = boxes
        .iter()
        .filter_map(|m| {
            let to = plain_address(&m["ForwardingSmtpAddress"])?;
            d.is_external(&to, &own).then(|| (address(m), to))
        })
        .collect();
    let evidence = Evidence::new()
        .with("forwardingOutside", outside.len())
        .with("of", boxes.len());
    if outside.is_empty() {
        return Ok(Outcome::pass(evidence));
    }
    Ok(Outcome::fail(
        evidence.names(outside.iter().map(|(m, to)| format!("{m} -> {to}"))),
        Fix::calls(
            "configure_mailbox",
            outside.iter().map(
                |(m, _)| json!({"userEmail": m, "settings": {"forwarding": {"enabled": false}}}),
            ),
        ),
    ))
}

/// The address of a recipient as Get-InboxRule prints it, when it is one
/// outside the organization: `"name" [SMTP:a@b]` (an `[EX:…]` recipient is
/// a mailbox of the organization).
fn external_recipient(
    d: &Data,
    own: &std::collections::BTreeSet<String>,
    r: &str,
) -> Option<String> {
    let routed = r
        .rsplit_once('[')
        .map(|(_, rest)| rest.trim_end_matches(']'));
    let address = match routed {
        Some(rest) => {
            let (kind, a) = rest.split_once(':')?;
            if !kind.eq_ignore_ascii_case("smtp") {
                return None;
            }
            a.to_string()
        }
        None => r.trim().trim_matches('"').to_string(),
    };
    d.is_external(&address, own)
        .then(|| address.to_ascii_lowercase())
}

fn forwarding_rules(d: &Data) -> Result<Outcome, Unavailable> {
    let own = d.own_domains();
    let scan = need(&d.inbox_rules)?;
    let mut found = Vec::new();
    for (mailbox, rule) in &scan.rules {
        for (key, verb) in [
            ("ForwardTo", "forwards"),
            ("RedirectTo", "redirects"),
            ("ForwardAsAttachmentTo", "forwards as attachment"),
        ] {
            let outside: Vec<String> = rule[key]
                .as_array()
                .into_iter()
                .flatten()
                .filter_map(Value::as_str)
                .filter_map(|r| external_recipient(d, &own, r))
                .collect();
            if !outside.is_empty() {
                let name = str_of(rule, "Name").unwrap_or("(unnamed)").to_string();
                found.push((mailbox.clone(), name, verb, outside.join(", ")));
            }
        }
    }
    let mut evidence = Evidence::new()
        .with("rules", found.len())
        .with("mailboxesScanned", scan.scanned);
    if let Some(stopped) = &scan.stopped {
        evidence = evidence.with("incomplete", stopped.reason.as_str());
    }
    if found.is_empty() {
        return match &scan.stopped {
            Some(stopped) => Err(stopped.clone()),
            None => Ok(Outcome::pass(evidence)),
        };
    }
    let (mailbox, rule, _, _) = &found[0];
    Ok(Outcome::fail(
        evidence.names(
            found
                .iter()
                .map(|(m, r, verb, to)| format!("{m}: rule '{r}' {verb} to {to}")),
        ),
        Fix::manual("Outlook on the web > Settings > Mail > Rules")
            .powershell(format!(
                "Remove-InboxRule -Mailbox {mailbox} -Identity '{}' -Confirm:$false",
                rule.replace('\'', "''")
            ))
            .note(
                "Not the owner's? First set_user_sign_in {enabled: false, revokeSessions: true}.",
            ),
    )
    .because(format!(
        "{} inbox rule(s) send mail outside, a classic sign of a compromised mailbox.",
        found.len()
    )))
}

fn unified_audit_log(d: &Data) -> Result<Outcome, Unavailable> {
    let on = need(&d.audit_log)?["UnifiedAuditLogIngestionEnabled"].as_bool() == Some(true);
    let evidence = Evidence::new().with("unifiedAuditLogIngestionEnabled", on);
    if on {
        return Ok(Outcome::pass(evidence));
    }
    Ok(Outcome::fail(evidence, organization("unified-audit-log")))
}

fn mailbox_auditing(d: &Data) -> Result<Outcome, Unavailable> {
    let disabled = need(&d.org_config)?["AuditDisabled"].as_bool() == Some(true);
    let evidence = Evidence::new().with("auditDisabled", disabled);
    if !disabled {
        return Ok(Outcome::pass(evidence));
    }
    Ok(Outcome::fail(evidence, organization("mailbox-auditing")))
}

fn dkim(d: &Data) -> Result<Outcome, Unavailable> {
    let custom: Vec<&str> = need(&d.domains)?
        .iter()
        .filter(|dm| dm["isInitial"].as_bool() != Some(true))
        .filter(|dm| dm["isVerified"].as_bool() != Some(false))
        .filter_map(|dm| str_of(dm, "id"))
        .collect();
    let configs = need(&d.dkim)?;
    let enabled = |domain: &str| {
        configs
            .iter()
            .find(|c| str_of(c, "Domain").is_some_and(|x| x.eq_ignore_ascii_case(domain)))
            .map(|c| c["Enabled"].as_bool() == Some(true))
    };
    let unsigned: Vec<(&str, bool)> = custom
        .iter()
        .filter_map(|dm| match enabled(dm) {
            Some(true) => None,
            Some(false) => Some((*dm, true)),
            None => Some((*dm, false)),
        })
        .collect();
    let evidence = Evidence::new()
        .with("unsigned", unsigned.len())
        .with("of", custom.len());
    if unsigned.is_empty() {
        return Ok(Outcome::pass(evidence));
    }
    let (first, has_config) = unsigned[0];
    let command = if has_config {
        format!("Set-DkimSigningConfig -Identity {first} -Enabled $true")
    } else {
        format!("New-DkimSigningConfig -DomainName {first} -Enabled $true")
    };
    Ok(Outcome::fail(evidence.names(unsigned.iter().map(|(dm, _)| dm.to_string())),
        Fix::manual("Defender portal > Email & collaboration > Threat policies > Email authentication settings > DKIM")
            .powershell(command)
            .note("Publish its two DKIM CNAME records first.")))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::checks::testdata::seeded;
    use crate::finding::{Missing, Status};

    fn run(id: &str, d: &Data) -> Outcome {
        let c = CHECKS.iter().find(|c| c.id == id).unwrap();
        crate::checks::evaluate(c, d)
    }

    #[test]
    fn the_seeded_tenant_fails_and_passes_as_planned() {
        let d = seeded();
        assert_eq!(
            run("SMTP-001", &d).fix.unwrap().calls[0].arguments["featureName"],
            "smtp-auth-off"
        );
        let proto = run("PROTO-001", &d);
        assert_eq!(proto.status, Status::Fail);
        assert_eq!(
            proto.evidence.into_value()["names"],
            json!([
                "admin@libertygoldsilver.com (SMTP AUTH)",
                "ann.lee@libertygoldsilver.com (IMAP)"
            ])
        );
        assert_eq!(run("FWD-001", &d).status, Status::Fail);
        let fwd = run("FWD-002", &d);
        assert_eq!(fwd.status, Status::Fail);
        assert_eq!(
            fwd.fix.unwrap().calls[0].arguments,
            json!({"userEmail": "dana.whitfield@libertygoldsilver.com", "settings": {"forwarding": {"enabled": false}}})
        );
        let rules = run("FWD-003", &d);
        assert_eq!(rules.status, Status::Fail);
        let e = rules.evidence.into_value();
        assert_eq!(e["rules"], 1, "the internal forward is not counted: {e}");
        assert_eq!(
            e["names"],
            json!([
                "ann.lee@libertygoldsilver.com: rule 'Sync' redirects to ann.lee.archive@example.net"
            ])
        );
        assert!(
            rules
                .fix
                .unwrap()
                .powershell
                .unwrap()
                .contains("-Identity 'Sync'")
        );
        assert_eq!(
            run("AUD-001", &d).fix.unwrap().calls[0].arguments["featureName"],
            "unified-audit-log"
        );
        assert_eq!(run("AUD-002", &d).status, Status::Pass);
        let dkim = run("DKIM-001", &d);
        assert_eq!(dkim.status, Status::Fail);
        assert_eq!(
            dkim.evidence.into_value()["names"],
            json!(["libertygoldsilver.co.uk"])
        );
        assert_eq!(
            dkim.fix.unwrap().powershell.unwrap(),
            "Set-DkimSigningConfig -Identity libertygoldsilver.co.uk -Enabled $true"
        );
    }

    #[test]
    fn fixes_turn_checks_to_pass() {
        let mut d = seeded();
        d.transport = Ok(json!({"SmtpClientAuthenticationDisabled": true}));
        d.audit_log = Ok(json!({"UnifiedAuditLogIngestionEnabled": true}));
        d.mailboxes.as_mut().unwrap()[4]["ForwardingSmtpAddress"] = Value::Null;
        for id in ["SMTP-001", "AUD-001", "FWD-002"] {
            assert_eq!(run(id, &d).status, Status::Pass, "{id}");
        }
        // Forwarding to a colleague, on the tenant's own domain, is not outside.
        d.mailboxes.as_mut().unwrap()[4]["ForwardingSmtpAddress"] =
            json!("smtp:Ann.Lee@LibertyGoldSilver.com");
        assert_eq!(run("FWD-002", &d).status, Status::Pass);
    }

    #[test]
    fn inbox_rules_the_app_may_not_read_are_unknown_with_the_role() {
        let mut d = seeded();
        d.inbox_rules = Err(Unavailable::new(
            Missing::Permission,
            "the app's Exchange role does not include Get-InboxRule (it does not work for Global Reader or View-Only Organization Management)",
        ));
        let o = run("FWD-003", &d);
        assert_eq!(o.status, Status::Unknown);
        assert!(o.reason.unwrap().contains("Global Reader"));
        // A scan cut short that found nothing is unknown; one that found a rule fails.
        let mut d = seeded();
        let scan = d.inbox_rules.as_mut().unwrap();
        scan.stopped = Some(Unavailable::new(Missing::Deadline, "not read within 60 s"));
        assert_eq!(run("FWD-003", &d).status, Status::Fail);
        d.inbox_rules.as_mut().unwrap().rules.clear();
        assert_eq!(run("FWD-003", &d).status, Status::Unknown);
    }

    #[test]
    fn recipients_are_told_apart_by_routing_type_and_domain() {
        let d = seeded();
        let own = d.own_domains();
        for (printed, external) in [
            ("\"X\" [SMTP:x@example.net]", Some("x@example.net")),
            (
                "\"Ben\" [EX:/o=ExchangeLabs/ou=Exchange Administrative Group (FYDIBOHF23SPDLT)/cn=Recipients/cn=1-ben]",
                None,
            ),
            ("\"Me\" [SMTP:me@libertygoldsilver.co.uk]", None),
            ("someone@example.org", Some("someone@example.org")),
        ] {
            assert_eq!(
                external_recipient(&d, &own, printed).as_deref(),
                external,
                "{printed}"
            );
        }
    }
}
