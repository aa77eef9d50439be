//! review_security: picks the checks, reads what they need (with progress,
//! one step per check), runs them, and returns the findings — failures first
//! by severity, then what could not be checked, then (when asked) what
//! passed — with counts, a one-line summary, and an overview of the tenant
//! from what was read (users by state, MFA coverage, license seats).

use crate::checks::{self, Check};
use crate::data::{Data, Source, id_of, is_enabled, is_guest, str_of};
use crate::finding::{Finding, Severity, Status};
use crate::reads::{self, Reader};
use m365_plugin_sdk::host::{now_ms, progress};
use m365_plugin_sdk::licenses::License;
use m365_plugin_sdk::serde_json::{Value, json};
use m365_plugin_sdk::{ToolError, time};
use schemars::JsonSchema;
use serde::Deserialize;
use std::collections::BTreeSet;

#[derive(Debug, Default, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ReviewArgs {
    /// Check ids or families, e.g. ["MFA-001","FWD"]; all when absent.
    #[schemars(length(min = 1, max = 40), inner(length(min = 2, max = 12)))]
    pub checks: Option<Vec<String>>,
    /// Also return the checks that passed in full (default: their ids only).
    pub include_passed: Option<bool>,
}

pub fn review_security(args: ReviewArgs) -> Result<Value, ToolError> {
    let selected = checks::select(args.checks.as_deref()).map_err(|unknown| {
        let known: Vec<&str> = checks::all().iter().map(|c| c.id).collect();
        ToolError::input(
            Some("checks"),
            format!(
                "No check is called {}. Use ids or families of: {}.",
                unknown.join(", "),
                known.join(", ")
            ),
        )
        .with_detail("knownChecks", json!(known))
    })?;
    let data = read(&selected);
    Ok(result(
        &selected,
        &data,
        args.include_passed.unwrap_or(false),
    ))
}

/// Reads what `selected` needs: the Graph reads together first, then, check
/// by check, the Exchange reads each needs within its deadline.
fn read(selected: &[&Check]) -> Data {
    let mut wanted: BTreeSet<Source> = selected
        .iter()
        .flat_map(|c| c.needs.iter().copied())
        .collect();
    // The overview names the organization, whatever was asked.
    wanted.insert(Source::Organization);
    let total = selected.len() as u64 + 1;
    let graph_reads = wanted.iter().filter(|s| !reads::is_exchange(**s)).count();
    progress(
        0,
        total,
        &format!("Reading the directory ({graph_reads} reads in one batch)"),
    );
    let mut data = Data::empty(now_ms() as i64);
    let reader = Reader::new();
    reader.graph(&wanted, &mut data);
    let mut done: BTreeSet<Source> = BTreeSet::new();
    for (i, check) in selected.iter().enumerate() {
        let step = i as u64 + 1;
        progress(
            step,
            total,
            &format!("Checking {}: {}", check.id, check.title),
        );
        let started = now_ms();
        for source in check.needs.iter().copied() {
            if !reads::is_exchange(source) || !done.insert(source) {
                continue;
            }
            if source == Source::InboxRules {
                if done.insert(Source::Mailboxes) {
                    reader.exchange(Source::Mailboxes, started, &mut data);
                }
                reader.inbox_rules(started, (step, total), &mut data);
            } else {
                reader.exchange(source, started, &mut data);
            }
        }
    }
    progress(total, total, "Review done");
    data
}

fn finding(check: &Check, data: &Data) -> Finding {
    let o = checks::evaluate(check, data);
    Finding {
        id: check.id,
        title: check.title,
        severity: check.severity,
        status: o.status,
        reason: o.reason,
        evidence: if o.evidence.is_empty() {
            Value::Null
        } else {
            o.evidence.into_value()
        },
        baseline: check.baseline,
        fix: o.fix,
    }
}

/// The tool's result for `selected` run on `data`.
pub fn result(selected: &[&Check], data: &Data, include_passed: bool) -> Value {
    let mut findings: Vec<Finding> = selected.iter().map(|c| finding(c, data)).collect();
    // Failures by severity, then unknown, then passed; the catalogue's order within.
    findings.sort_by_key(|f| (f.status, f.severity));
    let count = |s: Status| findings.iter().filter(|f| f.status == s).count();
    let failed_at = |sev: Severity| {
        findings
            .iter()
            .filter(|f| f.status == Status::Fail && f.severity == sev)
            .count()
    };
    let (fail, unknown, pass) = (
        count(Status::Fail),
        count(Status::Unknown),
        count(Status::Pass),
    );
    let (high, medium, low) = (
        failed_at(Severity::High),
        failed_at(Severity::Medium),
        failed_at(Severity::Low),
    );
    let summary = format!(
        "{fail} of {} checks failed ({high} high, {medium} medium, {low} low); {unknown} could not \
         be checked; {pass} passed.",
        findings.len()
    );
    let passed: Vec<&str> = findings
        .iter()
        .filter(|f| f.status == Status::Pass)
        .map(|f| f.id)
        .collect();
    let shown: Vec<&Finding> = findings
        .iter()
        .filter(|f| include_passed || f.status != Status::Pass)
        .collect();
    let mut out = json!({
        "summary": summary,
        "counts": {"fail": fail, "unknown": unknown, "pass": pass, "high": high, "medium": medium, "low": low},
        "findings": shown,
    });
    if !include_passed {
        out["passed"] = json!(passed);
    }
    let tenant = overview(data);
    if !tenant.as_object().is_some_and(|o| o.is_empty()) {
        out["tenant"] = tenant;
    }
    out["reviewedAt"] = json!(time::rfc3339(data.now_ms));
    out
}

/// Users by state, MFA coverage and license seats, from what was read.
pub fn overview(d: &Data) -> Value {
    let mut out = json!({});
    if let Some(name) = d
        .organization
        .iter()
        .flatten()
        .find_map(|o| str_of(o, "displayName"))
    {
        out["organization"] = json!(name);
    }
    if let Ok(users) = &d.users {
        let shared = d.shared_mailbox_ids();
        let members: Vec<&Value> = users.iter().filter(|u| !is_guest(u)).collect();
        let shared_accounts = members
            .iter()
            .filter(|u| shared.contains(&id_of(u).to_ascii_lowercase()))
            .count();
        let enabled = members.iter().filter(|u| is_enabled(u)).count();
        out["users"] = json!({
            "members": members.len(),
            "enabled": enabled,
            "blocked": members.len() - enabled,
            "guests": users.len() - members.len(),
            "sharedMailboxAccounts": shared_accounts,
        });
    }
    if let (Ok(people), Ok(rows)) = (d.enabled_people(), &d.registration) {
        let registered = people
            .iter()
            .filter(|u| {
                rows.iter()
                    .find(|r| id_of(r).eq_ignore_ascii_case(id_of(u)))
                    .and_then(|r| r["isMfaRegistered"].as_bool())
                    == Some(true)
            })
            .count();
        out["mfa"] = json!({"registered": registered, "notRegistered": people.len() - registered});
    }
    if let Ok(skus) = &d.skus {
        out["licenses"] = json!(
            skus.iter()
                .map(|s| {
                    let part = str_of(s, "skuPartNumber").unwrap_or("?");
                    json!({
                        "sku": License::from_part_number(part).map_or(part.to_string(), |l| l.name().to_string()),
                        "used": s["consumedUnits"].as_i64().unwrap_or(0),
                        "total": s.pointer("/prepaidUnits/enabled").and_then(Value::as_i64).unwrap_or(0),
                    })
                })
                .collect::<Vec<_>>()
        );
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::checks::testdata::{seeded, without_p1};

    #[test]
    fn a_full_review_of_the_seed_is_compact_and_ordered() {
        let all = checks::all();
        let out = result(&all, &seeded(), false);
        let text = out.to_string();
        std::fs::write(
            "/tmp/review.json",
            serde_json::to_string_pretty(&out).unwrap(),
        )
        .unwrap();
        assert!(text.len() < 8000, "{} characters", text.len());
        let findings = out["findings"].as_array().unwrap();
        assert!(findings.iter().all(|f| f["status"] != "pass"));
        let order: Vec<(&str, &str)> = findings
            .iter()
            .map(|f| {
                (
                    f["status"].as_str().unwrap(),
                    f["severity"].as_str().unwrap(),
                )
            })
            .collect();
        let mut sorted = order.clone();
        let rank = |(s, v): &(&str, &str)| {
            (
                ["fail", "unknown", "pass"].iter().position(|x| x == s),
                ["high", "medium", "low"].iter().position(|x| x == v),
            )
        };
        sorted.sort_by_key(rank);
        assert_eq!(order, sorted);
        assert_eq!(
            out["counts"]["fail"].as_u64().unwrap() as usize,
            findings.len()
        );
        assert!(
            out["passed"]
                .as_array()
                .unwrap()
                .contains(&json!("AUD-002"))
        );
        assert_eq!(out["tenant"]["users"]["guests"], 2);
        assert_eq!(
            out["tenant"]["organization"],
            "Liberty Gold Silver (sandbox)"
        );
        assert_eq!(out["tenant"]["users"]["sharedMailboxAccounts"], 1);
        assert_eq!(
            out["tenant"]["mfa"],
            json!({"registered": 3, "notRegistered": 1})
        );
        assert_eq!(out["tenant"]["licenses"][2]["sku"], "BusinessPremium");
        // Every failure names a fix.
        assert!(findings.iter().all(|f| f["fix"].is_object()), "{text}");
    }

    #[test]
    fn passed_checks_come_in_full_when_asked() {
        let all = checks::all();
        let out = result(&all, &seeded(), true);
        assert!(out.get("passed").is_none());
        let last = out["findings"].as_array().unwrap().last().unwrap();
        assert_eq!(last["status"], "pass");
        assert!(last.get("fix").is_none());
    }

    #[test]
    fn without_p1_the_summary_counts_the_unknown() {
        let all = checks::all();
        let out = result(&all, &without_p1(), false);
        assert_eq!(out["counts"]["unknown"], 3, "{}", out["summary"]);
        assert!(out.get("tenant").unwrap().get("mfa").is_none());
    }
}
