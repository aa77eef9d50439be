//! The report as one self-contained HTML page: inline CSS and SVG, no
//! script, font or request of any kind (its Content-Security-Policy allows
//! none), every text from the tenant or a plugin escaped. It reads on a
//! laptop screen and prints on A4: sections do not break across pages.
//!
//! What it shows, top to bottom: the tenant and when; the summary figures;
//! charts of users by state, MFA coverage, license seats per SKU and findings
//! by severity; the findings with their fixes (failed, then not checked, then
//! the ids that passed); the feature states; the last 30 days of activity.

use super::svg::{self, Bar, Colour, esc};
use serde_json::Value;
use std::fmt::Write;

const STYLE: &str = r#"
:root { color-scheme: light; }
* { box-sizing: border-box; }
body { margin: 0; font: 14px/1.45 system-ui, -apple-system, "Segoe UI", Roboto, "Helvetica Neue", Arial, sans-serif; color: #1a202c; background: #f7fafc; }
main { max-width: 1040px; margin: 0 auto; padding: 24px; }
header h1 { font-size: 24px; margin: 0 0 4px; }
.meta { color: #4a5568; margin: 0; }
section { background: #fff; border: 1px solid #e2e8f0; border-radius: 8px; padding: 16px 20px; margin: 16px 0; break-inside: avoid; }
h2 { font-size: 17px; margin: 0 0 12px; }
.cards { display: grid; grid-template-columns: repeat(4, 1fr); gap: 12px; }
.card { border: 1px solid #e2e8f0; border-radius: 6px; padding: 10px 12px; }
.card .big { font-size: 26px; font-weight: 600; }
.card .small { color: #4a5568; font-size: 12px; }
.grid { display: grid; grid-template-columns: 1fr 1fr; gap: 16px; }
figure.chart { margin: 0; break-inside: avoid; }
figcaption { font-weight: 600; margin-bottom: 6px; }
svg text { font: 13px system-ui, -apple-system, "Segoe UI", Roboto, Arial, sans-serif; fill: #2d3748; }
svg text.centre { font-size: 22px; font-weight: 600; }
.legend { list-style: none; padding: 0; margin: 6px 0 0; display: flex; flex-wrap: wrap; gap: 12px; font-size: 12px; color: #4a5568; }
.legend svg { margin-right: 4px; vertical-align: -1px; }
.nodata { color: #718096; font-style: italic; }
.finding { border-left: 4px solid #a0aec0; padding: 8px 12px; margin: 10px 0; break-inside: avoid; background: #fdfdfe; }
.finding.high { border-color: #c53030; } .finding.medium { border-color: #c05621; } .finding.low { border-color: #b7791f; }
.finding.unknown { border-color: #6b46c1; } .finding.pass { border-color: #2f855a; }
.finding h3 { font-size: 14px; margin: 0 0 4px; }
.badge { display: inline-block; font-size: 11px; font-weight: 600; text-transform: uppercase; padding: 1px 6px; border-radius: 3px; color: #fff; margin-right: 6px; background: #718096; }
.badge.high { background: #c53030; } .badge.medium { background: #c05621; } .badge.low { background: #b7791f; }
.badge.unknown { background: #6b46c1; } .badge.pass { background: #2f855a; }
.finding p { margin: 4px 0; }
.evidence, .fix { font-size: 13px; }
.fix { background: #f1f5f9; border-radius: 4px; padding: 6px 8px; margin-top: 6px; }
code, pre { font: 12px ui-monospace, SFMono-Regular, Menlo, Consolas, monospace; }
pre { white-space: pre-wrap; word-break: break-word; margin: 4px 0; }
.baseline { color: #4a5568; font-size: 12px; }
table { border-collapse: collapse; width: 100%; font-size: 13px; }
th, td { text-align: left; padding: 4px 8px; border-bottom: 1px solid #edf2f7; vertical-align: top; }
.state-enabled { color: #2f855a; font-weight: 600; } .state-disabled { color: #c53030; font-weight: 600; }
.error { color: #c53030; }
footer { color: #718096; font-size: 12px; margin: 8px 0 24px; }
@page { size: A4; margin: 12mm; }
@media print {
  body { background: #fff; font-size: 11px; }
  main { max-width: none; padding: 0; }
  section { border: none; padding: 0; margin: 10px 0; }
  .cards { grid-template-columns: repeat(4, 1fr); }
  * { -webkit-print-color-adjust: exact; print-color-adjust: exact; }
}
@media (max-width: 720px) { .grid, .cards { grid-template-columns: 1fr; } }
"#;

fn s<'a>(v: &'a Value, pointer: &str) -> &'a str {
    v.pointer(pointer).and_then(Value::as_str).unwrap_or("")
}

fn n(v: &Value, pointer: &str) -> f64 {
    v.pointer(pointer).and_then(Value::as_f64).unwrap_or(0.0)
}

/// A value as the page prints it: strings bare, the rest as JSON.
fn text(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

/// `notRegistered` → `not registered`.
fn words(key: &str) -> String {
    let mut out = String::new();
    for c in key.chars() {
        if c.is_ascii_uppercase() {
            out.push(' ');
            out.push(c.to_ascii_lowercase());
        } else {
            out.push(c);
        }
    }
    out
}

fn error_of(v: &Value) -> Option<String> {
    v.get("error").map(|e| {
        format!(
            "{}: {}",
            e["code"].as_str().unwrap_or("ERROR"),
            e["message"].as_str().unwrap_or("")
        )
    })
}

fn header(r: &Value) -> String {
    let t = &r["tenant"];
    let name = match s(t, "/name") {
        "" => s(t, "/domain"),
        name => name,
    };
    format!(
        "<header><h1>{}</h1><p class=\"meta\">{} · tenant {} · {} · report made {}</p></header>",
        esc(if name.is_empty() {
            "Microsoft 365 tenant"
        } else {
            name
        }),
        esc(s(t, "/domain")),
        esc(s(t, "/tenantId")),
        esc(s(t, "/mode")),
        esc(s(r, "/generatedAt"))
    )
}

fn card(big: &str, label: &str, small: &str) -> String {
    format!(
        "<div class=\"card\"><div class=\"big\">{}</div><div>{}</div><div class=\"small\">{}</div></div>",
        esc(big),
        esc(label),
        esc(small)
    )
}

fn summary(r: &Value) -> String {
    let review = &r["review"];
    let c = &review["counts"];
    let t = &review["tenant"];
    let mfa_total = n(t, "/mfa/registered") + n(t, "/mfa/notRegistered");
    let mfa = if mfa_total > 0.0 {
        format!("{:.0}%", n(t, "/mfa/registered") / mfa_total * 100.0)
    } else {
        "unknown".into()
    };
    let (used, total) = t["licenses"]
        .as_array()
        .into_iter()
        .flatten()
        .fold((0.0, 0.0), |(u, tot), l| {
            (u + n(l, "/used"), tot + n(l, "/total"))
        });
    let mut out =
        String::from("<section data-section=\"summary\"><h2>Summary</h2><div class=\"cards\">");
    out.push_str(&card(
        &format!("{}", n(c, "/fail")),
        "checks failed",
        &format!(
            "{} high · {} medium · {} low · {} not checked",
            n(c, "/high"),
            n(c, "/medium"),
            n(c, "/low"),
            n(c, "/unknown")
        ),
    ));
    out.push_str(&card(
        &format!("{}", n(t, "/users/enabled")),
        "people signing in",
        &format!(
            "{} blocked · {} guests",
            n(t, "/users/blocked"),
            n(t, "/users/guests")
        ),
    ));
    out.push_str(&card(&mfa, "registered for MFA", "enabled members"));
    out.push_str(&card(
        &format!("{used} / {total}"),
        "license seats used",
        "all subscriptions",
    ));
    out.push_str("</div></section>");
    out
}

fn charts(r: &Value) -> String {
    let review = &r["review"];
    let t = &review["tenant"];
    let users = bars_of(&[
        ("Enabled members", n(t, "/users/enabled"), svg::BLUE),
        ("Blocked members", n(t, "/users/blocked"), svg::GREY),
        ("Guests", n(t, "/users/guests"), svg::PURPLE),
        (
            "Shared mailboxes",
            n(t, "/users/sharedMailboxAccounts"),
            svg::YELLOW,
        ),
    ]);
    let licenses: Vec<Bar> = t["licenses"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|l| {
            let (used, total) = (n(l, "/used"), n(l, "/total"));
            Bar {
                label: s(l, "/sku").to_string(),
                parts: vec![(used, svg::BLUE), ((total - used).max(0.0), svg::GREY)],
                value: format!("{used} of {total}"),
            }
        })
        .collect();
    let c = &review["counts"];
    let severity = bars_of(&[
        ("High", n(c, "/high"), svg::RED),
        ("Medium", n(c, "/medium"), svg::ORANGE),
        ("Low", n(c, "/low"), svg::YELLOW),
        ("Not checked", n(c, "/unknown"), svg::PURPLE),
        ("Passed", n(c, "/pass"), svg::GREEN),
    ]);
    let registered = n(t, "/mfa/registered");
    let missing = n(t, "/mfa/notRegistered");
    let centre = if registered + missing > 0.0 {
        format!("{:.0}%", registered / (registered + missing) * 100.0)
    } else {
        String::new()
    };
    format!(
        "<section data-section=\"charts\"><h2>The tenant at a glance</h2><div class=\"grid\">{}{}{}{}</div></section>",
        svg::bars("users", "Users by state", &users, &[]),
        svg::donut(
            "mfa",
            "MFA coverage (enabled members)",
            &[
                ("Registered", registered, svg::GREEN),
                ("Not registered", missing, svg::RED)
            ],
            &centre
        ),
        svg::bars(
            "licenses",
            "License seats per SKU",
            &licenses,
            &[("used", svg::BLUE), ("free", svg::GREY)]
        ),
        svg::bars("severity", "Findings by severity", &severity, &[]),
    )
}

fn bars_of(rows: &[(&str, f64, Colour)]) -> Vec<Bar> {
    rows.iter()
        .map(|(label, v, c)| Bar {
            label: label.to_string(),
            parts: vec![(*v, *c)],
            value: format!("{v}"),
        })
        .collect()
}

fn fix_html(fix: &Value) -> String {
    if !fix.is_object() {
        return String::new();
    }
    let mut out = String::from("<div class=\"fix\"><strong>Fix:</strong> ");
    for call in fix["calls"].as_array().into_iter().flatten() {
        let _ = write!(
            out,
            "<pre>{} {}</pre>",
            esc(s(call, "/tool")),
            esc(&call["arguments"].to_string())
        );
    }
    if let Some(path) = fix["adminCenter"].as_str() {
        let _ = write!(out, "<p>{}</p>", esc(path));
    }
    for (key, label) in [("powershell", "PowerShell"), ("graph", "Graph")] {
        if let Some(step) = fix[key].as_str() {
            let _ = write!(out, "<p>{label}:</p><pre>{}</pre>", esc(step));
        }
    }
    if let Some(note) = fix["note"].as_str() {
        let _ = write!(out, "<p>{}</p>", esc(note));
    }
    out.push_str("</div>");
    out
}

fn evidence_html(e: &Value) -> String {
    let Some(map) = e.as_object() else {
        return String::new();
    };
    let facts: Vec<String> = map
        .iter()
        .filter(|(k, _)| *k != "names" && *k != "more")
        .map(|(k, v)| format!("{}: {}", esc(&words(k)), esc(&text(v))))
        .collect();
    let mut out = String::from("<div class=\"evidence\">");
    if !facts.is_empty() {
        let _ = write!(out, "<p>{}</p>", facts.join(" · "));
    }
    if let Some(names) = map.get("names").and_then(Value::as_array) {
        out.push_str("<ul>");
        for name in names {
            let _ = write!(out, "<li>{}</li>", esc(&text(name)));
        }
        if let Some(more) = map.get("more") {
            let _ = write!(out, "<li>and {} more</li>", esc(&text(more)));
        }
        out.push_str("</ul>");
    }
    out.push_str("</div>");
    out
}

fn finding_html(f: &Value) -> String {
    let status = s(f, "/status");
    let class = if status == "fail" {
        s(f, "/severity")
    } else {
        status
    };
    let badge = match status {
        "fail" => s(f, "/severity").to_string(),
        "unknown" => "not checked".into(),
        other => other.to_string(),
    };
    let baseline: Vec<String> = f["baseline"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|b| esc(&text(b)))
        .collect();
    let mut out = format!(
        "<article class=\"finding {}\" data-finding=\"{}\"><h3><span class=\"badge {}\">{}</span>{} {}</h3>",
        esc(class),
        esc(s(f, "/id")),
        esc(class),
        esc(&badge),
        esc(s(f, "/id")),
        esc(s(f, "/title"))
    );
    if let Some(reason) = f["reason"].as_str() {
        let _ = write!(out, "<p>{}</p>", esc(reason));
    }
    out.push_str(&evidence_html(&f["evidence"]));
    out.push_str(&fix_html(&f["fix"]));
    let _ = write!(
        out,
        "<p class=\"baseline\">Baseline: {}</p></article>",
        baseline.join(", ")
    );
    out
}

fn findings(r: &Value) -> String {
    let review = &r["review"];
    let mut out = String::from("<section data-section=\"findings\"><h2>Findings and fixes</h2>");
    if let Some(e) = error_of(review) {
        let _ = write!(
            out,
            "<p class=\"error\">The security review did not run: {}</p></section>",
            esc(&e)
        );
        return out;
    }
    let _ = write!(out, "<p>{}</p>", esc(s(review, "/summary")));
    let all: Vec<&Value> = review["findings"]
        .as_array()
        .into_iter()
        .flatten()
        .collect();
    for f in all.iter().filter(|f| f["status"] != "pass") {
        out.push_str(&finding_html(f));
    }
    let passed: Vec<String> = all
        .iter()
        .filter(|f| f["status"] == "pass")
        .map(|f| format!("{} {}", esc(s(f, "/id")), esc(s(f, "/title"))))
        .collect();
    if !passed.is_empty() {
        let _ = write!(
            out,
            "<p data-passed=\"{}\"><strong>Passed:</strong> {}</p>",
            passed.len(),
            passed.join(" · ")
        );
    }
    out.push_str("</section>");
    out
}

fn features(r: &Value) -> String {
    let mut out = String::from("<section data-section=\"features\"><h2>Feature states</h2>");
    if let Some(e) = error_of(&r["features"]) {
        let _ = write!(out, "<p class=\"error\">{}</p></section>", esc(&e));
        return out;
    }
    out.push_str(
        "<table><thead><tr><th>Feature</th><th>State</th><th>What it does</th></tr></thead><tbody>",
    );
    for f in r["features"].as_array().into_iter().flatten() {
        let state = s(f, "/state");
        let _ = write!(
            out,
            "<tr data-feature=\"{}\"><td>{}</td><td class=\"state-{}\">{}</td><td>{}</td></tr>",
            esc(s(f, "/name")),
            esc(s(f, "/name")),
            esc(state),
            esc(state),
            esc(s(f, "/description"))
        );
    }
    out.push_str("</tbody></table></section>");
    out
}

fn activity(r: &Value) -> String {
    let a = &r["activity"];
    let mut out = format!(
        "<section data-section=\"activity\"><h2>The last {} days</h2>",
        n(a, "/days")
    );
    if let Some(e) = error_of(a) {
        let _ = write!(out, "<p class=\"error\">{}</p></section>", esc(&e));
        return out;
    }
    let days: Vec<(String, Vec<(f64, Colour)>)> = a["callsPerDay"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|d| {
            let (calls, failed) = (n(d, "/calls"), n(d, "/failed"));
            (
                s(d, "/date").get(5..).unwrap_or("").to_string(),
                vec![((calls - failed).max(0.0), svg::BLUE), (failed, svg::RED)],
            )
        })
        .collect();
    let errors: Vec<Bar> = a["errorsByCode"]
        .as_object()
        .into_iter()
        .flatten()
        .map(|(code, count)| Bar {
            label: code.clone(),
            parts: vec![(count.as_f64().unwrap_or(0.0), svg::RED)],
            value: text(count),
        })
        .collect();
    let mut weeks: std::collections::BTreeMap<String, f64> = std::collections::BTreeMap::new();
    for per_week in a["templateSendsPerWeek"].as_object().into_iter().flatten() {
        for (week, count) in per_week.1.as_object().into_iter().flatten() {
            *weeks.entry(week.clone()).or_default() += count.as_f64().unwrap_or(0.0);
        }
    }
    let sends: Vec<Bar> = weeks
        .into_iter()
        .map(|(week, count)| Bar {
            label: week,
            parts: vec![(count, svg::GREEN)],
            value: format!("{count}"),
        })
        .collect();
    let _ = write!(
        out,
        "{}<div class=\"grid\">{}{}</div><p class=\"small\">Upstream requests: {} · throttled: {} · retried: {}</p></section>",
        svg::columns(
            "calls",
            "Tool calls per day",
            &days,
            5,
            &[("succeeded", svg::BLUE), ("failed", svg::RED)]
        ),
        svg::bars("errors", "Errors by code", &errors, &[]),
        svg::bars("sends", "Template sends per week", &sends, &[]),
        n(a, "/upstream/requests"),
        n(a, "/upstream/throttled"),
        n(a, "/upstream/retried"),
    );
    out
}

/// The page for a report from [`super::gather`].
pub fn render(report: &Value) -> String {
    let title = format!("Tenant report: {}", s(report, "/tenant/domain"));
    format!(
        "<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\">\
         <meta http-equiv=\"Content-Security-Policy\" content=\"default-src 'none'; style-src 'unsafe-inline'; img-src data:\">\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\
         <title>{}</title><style>{STYLE}</style></head><body><main>{}{}{}{}{}{}\
         <footer>Made by m365-admin from review_security, list_features and the audit trail. \
         Baselines: CISA SCuBA (Microsoft Entra ID, Exchange Online, Security Suite) and Microsoft's guidance.</footer>\
         </main></body></html>",
        esc(&title),
        header(report),
        summary(report),
        charts(report),
        findings(report),
        features(report),
        activity(report),
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn report() -> Value {
        json!({
            "generatedAt": "2026-12-01T10:00:00Z",
            "tenant": {"tenantId": "t-1", "domain": "contoso.com", "mode": "sandbox", "name": "Contoso <Ltd>"},
            "review": {
                "summary": "1 of 2 checks failed",
                "counts": {"fail": 1, "unknown": 0, "pass": 1, "high": 1, "medium": 0, "low": 0},
                "findings": [
                    {"id": "AUD-001", "title": "Unified audit log on", "severity": "high", "status": "fail",
                     "evidence": {"unifiedAuditLogIngestionEnabled": false},
                     "baseline": ["MS.SECURITYSUITE.5.1v1"],
                     "fix": {"calls": [{"tool": "enable_feature", "arguments": {"featureName": "unified-audit-log"}}]}},
                    {"id": "AUD-002", "title": "Mailbox auditing on", "severity": "medium", "status": "pass", "baseline": ["MS.EXO.13.1v1"]}
                ],
                "tenant": {"users": {"enabled": 3, "blocked": 1, "guests": 2, "sharedMailboxAccounts": 1},
                           "mfa": {"registered": 2, "notRegistered": 1},
                           "licenses": [{"sku": "BusinessBasic", "used": 2, "total": 10}]}
            },
            "features": [{"name": "unified-audit-log", "state": "disabled", "description": "Records activity."}],
            "activity": {"days": 30, "callsPerDay": [{"date": "2026-12-01", "calls": 4, "failed": 1}],
                         "errorsByCode": {"GRAPH_001": 1}, "templateSendsPerWeek": {"welcome": {"2026-W49": 2}},
                         "upstream": {"requests": 9, "throttled": 0, "retried": 0}}
        })
    }

    #[test]
    fn the_page_holds_every_section_and_no_way_out() {
        let page = render(&report());
        for marker in [
            "data-section=\"summary\"",
            "data-chart=\"users\"",
            "data-chart=\"mfa\"",
            "data-chart=\"licenses\"",
            "data-chart=\"severity\"",
            "data-chart=\"calls\"",
            "data-chart=\"errors\"",
            "data-chart=\"sends\"",
            "data-finding=\"AUD-001\"",
            "data-feature=\"unified-audit-log\"",
            "enable_feature {&quot;featureName&quot;:&quot;unified-audit-log&quot;}",
            "Contoso &lt;Ltd&gt;",
            "67%",
        ] {
            assert!(page.contains(marker), "no {marker}");
        }
        for outward in [
            "<script", "http://", "https://", "url(", "@import", "<link", "<img",
        ] {
            assert!(!page.contains(outward), "{outward} in the page");
        }
        assert!(page.contains("default-src 'none'"));
    }

    #[test]
    fn a_section_that_failed_says_why() {
        let mut r = report();
        r["review"] = json!({"error": {"code": "PLUGIN_001", "message": "There is no tool named \"review_security\"."}});
        r["features"] = json!({"error": {"code": "INPUT_001", "message": "not selected"}});
        let page = render(&r);
        assert!(
            page.contains("The security review did not run: PLUGIN_001"),
            "{page}"
        );
        assert!(page.contains("INPUT_001: not selected"));
        assert!(
            page.contains("data-chart=\"users\""),
            "the charts still render, empty"
        );
    }
}
