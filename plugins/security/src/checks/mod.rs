//! The checks: each a stable id, a title, a severity, the baseline it
//! follows, the sources it reads, and a pure function from what was read to
//! its outcome. `identity` covers Entra ID (MFA, admins, legacy sign-in,
//! stale accounts, passwords), `access` who may do what (guests, consent,
//! licenses, shared mailboxes), `mail` Exchange Online (SMTP AUTH and
//! protocols, forwarding, auditing, DKIM).
//!
//! Baselines: CISA SCuBA's Microsoft Entra ID and Exchange Online baselines
//! (`MS.AAD.*`, `MS.EXO.*`) and the Security Suite baseline the unified audit
//! log check moved to (`MS.SECURITYSUITE.5.1v1`, formerly `MS.EXO.17.1v1`),
//! as published in cisagov/ScubaGear; and, where SCuBA has no policy,
//! Microsoft's own guidance, named by its page.

mod access;
mod identity;
mod mail;

use crate::data::{Data, Source};
use crate::finding::{Outcome, Severity, Unavailable};

/// One check of the review.
pub struct Check {
    pub id: &'static str,
    pub title: &'static str,
    pub severity: Severity,
    pub baseline: &'static [&'static str],
    /// What it reads, in the order it needs them.
    pub needs: &'static [Source],
    pub run: fn(&Data) -> Result<Outcome, Unavailable>,
}

/// Every check, in the order the review runs them.
pub fn all() -> Vec<&'static Check> {
    identity::CHECKS
        .iter()
        .chain(access::CHECKS)
        .chain(mail::CHECKS)
        .collect()
}

/// The checks `asked` names (ids or families such as `FWD`, any case), all
/// when `None`; `Err` lists the names that match nothing.
pub fn select(asked: Option<&[String]>) -> Result<Vec<&'static Check>, Vec<String>> {
    let all = all();
    let Some(asked) = asked else {
        return Ok(all);
    };
    let unknown: Vec<String> = asked
        .iter()
        .filter(|a| !all.iter().any(|c| matches(c, a)))
        .cloned()
        .collect();
    if !unknown.is_empty() {
        return Err(unknown);
    }
    Ok(all
        .into_iter()
        .filter(|c| asked.iter().any(|a| matches(c, a)))
        .collect())
}

fn matches(check: &Check, asked: &str) -> bool {
    let asked = asked.trim();
    check.id.eq_ignore_ascii_case(asked)
        || check
            .id
            .split_once('-')
            .is_some_and(|(family, _)| family.eq_ignore_ascii_case(asked))
}

/// Runs one check on what was read: a read it needs that is missing makes
/// it `unknown` with that read's reason.
pub fn evaluate(check: &Check, data: &Data) -> Outcome {
    (check.run)(data).unwrap_or_else(Outcome::unknown)
}

#[cfg(test)]
pub(crate) mod testdata;

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::BTreeSet;

    #[test]
    fn ids_are_unique_stable_and_each_cites_a_baseline() {
        let all = all();
        let ids: BTreeSet<&str> = all.iter().map(|c| c.id).collect();
        assert_eq!(ids.len(), all.len());
        assert!(all.len() >= 15, "the issue asks for at least 15 checks");
        for c in &all {
            let (family, number) = c.id.split_once('-').unwrap();
            assert!(family.chars().all(|ch| ch.is_ascii_uppercase()), "{}", c.id);
            assert_eq!(number.len(), 3, "{}", c.id);
            assert!(!c.baseline.is_empty() && !c.needs.is_empty(), "{}", c.id);
            assert!(c.title.len() <= 60, "{} title too long", c.id);
        }
    }

    #[test]
    fn checks_are_chosen_by_id_or_family() {
        let pick = |names: &[&str]| {
            let names: Vec<String> = names.iter().map(|s| s.to_string()).collect();
            select(Some(&names)).map(|cs| cs.iter().map(|c| c.id).collect::<Vec<_>>())
        };
        assert_eq!(pick(&["mfa-001"]).unwrap(), ["MFA-001"]);
        assert_eq!(pick(&["FWD"]).unwrap(), ["FWD-001", "FWD-002", "FWD-003"]);
        assert_eq!(pick(&["XYZ-9", "FWD"]).unwrap_err(), ["XYZ-9"]);
        assert_eq!(select(None).unwrap().len(), all().len());
    }
}
