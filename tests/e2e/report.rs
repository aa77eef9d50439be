//! The tenant report: `m365-admin report --html/--json` after some use of
//! the tools, rendered in a real headless Chromium — the findings and charts
//! are on the page with a size, it printed on A4, and it fetched nothing —
//! and the same data as the `m365://report` resource, gathered through the
//! audited call pipeline.

use crate::browser::Browser;
use crate::harness::*;
use serde_json::Value;
use std::path::Path;

/// Where the test keeps what it rendered (the screenshot), for whoever looks.
fn artifacts() -> std::path::PathBuf {
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join("e2e-artifacts");
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// Boxes of the elements the page must show: (selector, count, smallest width, smallest height).
const MEASURE: &str = r#"JSON.stringify([
  '[data-section="summary"]', '[data-chart="users"] svg', '[data-chart="mfa"] svg',
  '[data-chart="licenses"] svg', '[data-chart="severity"] svg', '[data-chart="calls"] svg',
  '[data-chart="errors"] svg', '[data-chart="sends"]', '[data-finding]', '[data-feature]',
  '[data-chart="licenses"] rect', '[data-chart="calls"] rect'
].map(sel => {
  const boxes = [...document.querySelectorAll(sel)].map(e => e.getBoundingClientRect());
  return [sel, boxes.length, Math.min(...boxes.map(b => b.width)), Math.min(...boxes.map(b => b.height))];
}))"#;

#[tokio::test]
async fn the_report_renders_in_chromium_with_findings_and_charts_and_fetches_nothing() {
    let dir = tempfile::tempdir().unwrap();
    // Some use first: calls that succeed, one that fails, a template sent.
    for (args, ok) in [
        (vec!["call", "list_users", "{}", "--sandbox"], true),
        (
            vec![
                "call",
                "get_user",
                r#"{"userEmail":"nobody@libertygoldsilver.com"}"#,
                "--sandbox",
            ],
            false,
        ),
        (
            vec![
                "call",
                "send_from_template",
                r#"{"templateId":"customer-order-update","from":"admin@libertygoldsilver.com","to":["c@customer.example"],"variables":{"customer_name":"Cy","order_number":"7","status":"shipped"}}"#,
                "--sandbox",
            ],
            true,
        ),
    ] {
        let out = cli(dir.path(), &args, &[]).await;
        assert_eq!(out.code == Some(0), ok, "{args:?}: {}", out.stderr);
    }
    let html = dir.path().join("report.html");
    let data = dir.path().join("report.json");
    let out = cli(
        dir.path(),
        &[
            "report",
            "--sandbox",
            "--html",
            html.to_str().unwrap(),
            "--json",
            data.to_str().unwrap(),
        ],
        &[],
    )
    .await;
    assert_eq!(out.code, Some(0), "{}", out.stderr);
    let report: Value = serde_json::from_str(&std::fs::read_to_string(&data).unwrap()).unwrap();
    assert_eq!(report["tenant"]["domain"], "libertygoldsilver.com");
    assert_eq!(report["tenant"]["name"], "Liberty Gold Silver (sandbox)");
    let days = report["activity"]["callsPerDay"].as_array().unwrap();
    assert_eq!(days.len(), 30);
    let today = days.last().unwrap();
    assert!(today["calls"].as_u64().unwrap() >= 3, "{today}");
    assert!(today["failed"].as_u64().unwrap() >= 1, "{today}");
    assert_eq!(
        report["activity"]["errorsByCode"]["GRAPH_001"], 1,
        "{}",
        report["activity"]
    );
    assert_eq!(
        report["activity"]["templateSendsPerWeek"]["customer-order-update"]
            .as_object()
            .unwrap()
            .values()
            .map(|v| v.as_u64().unwrap())
            .sum::<u64>(),
        1
    );
    let findings = report["review"]["findings"].as_array().unwrap();
    assert!(findings.len() >= 20, "every check, passed included");

    let page = std::fs::read_to_string(&html).unwrap();
    for outward in ["<script", "<link", "<img", "@import", "url("] {
        assert!(!page.contains(outward), "the page holds {outward}");
    }

    let mut browser = Browser::launch(&dir.path().join("chromium")).await;
    let url = format!("file://{}", html.display());
    browser.open(&url, 1280, 900).await;
    let measured = browser.eval(MEASURE).await;
    let measured: Vec<Value> = serde_json::from_str(measured.as_str().unwrap()).unwrap();
    for m in &measured {
        let (sel, count, w, h) = (
            &m[0],
            m[1].as_u64().unwrap(),
            m[2].as_f64().unwrap_or(0.0),
            m[3].as_f64().unwrap_or(0.0),
        );
        assert!(count > 0, "nothing matches {sel}");
        assert!(w > 0.0 && h > 0.0, "{sel} has no size: {m}");
    }
    let count = |sel: &str| {
        measured
            .iter()
            .find(|m| m[0] == sel)
            .and_then(|m| m[1].as_u64())
            .unwrap()
    };
    assert_eq!(
        count("[data-finding]") as usize,
        findings.iter().filter(|f| f["status"] != "pass").count()
    );
    assert!(
        count("[data-chart=\"calls\"] rect") >= 1,
        "today's calls are drawn"
    );
    let titles = browser
        .eval("[...document.querySelectorAll('[data-finding] h3')].map(h => h.textContent).join('\\n')")
        .await;
    let titles = titles.as_str().unwrap();
    for id in ["MFA-001", "FWD-003", "DKIM-001", "LIC-001"] {
        assert!(titles.contains(id), "{id} not on the page: {titles}");
    }
    let fix = browser
        .eval("document.querySelector('[data-finding=\"AUD-001\"] .fix').textContent")
        .await;
    assert!(fix.as_str().unwrap().contains("enable_feature"), "{fix}");

    let png = browser.screenshot().await;
    assert!(png.starts_with(b"\x89PNG"), "a PNG");
    std::fs::write(artifacts().join("report.png"), &png).unwrap();
    // The README's picture: the top of the page (M365_UPDATE_DOCS_SCREENSHOT=1 renews it).
    let top = browser.screenshot_top(1280, 1450).await;
    std::fs::write(artifacts().join("report-top.png"), &top).unwrap();
    if std::env::var_os("M365_UPDATE_DOCS_SCREENSHOT").is_some() {
        let docs = Path::new(env!("CARGO_MANIFEST_DIR")).join("../docs/report.png");
        std::fs::write(docs, &top).unwrap();
    }
    let pdf = browser.print_a4().await;
    assert!(pdf.starts_with(b"%PDF"), "a PDF");
    let marker = b"/Type /Page";
    let pages = pdf
        .windows(marker.len() + 1)
        .filter(|w| w.starts_with(marker) && w[marker.len()] != b's')
        .count();
    assert!(pages >= 2, "{pages} A4 pages");
    std::fs::write(artifacts().join("report.pdf"), &pdf).unwrap();

    // The only thing the page loaded is itself.
    let requests = browser.requests();
    assert!(!requests.is_empty(), "the request log works");
    assert!(
        requests.iter().all(|r| r == &url),
        "the page fetched something: {requests:?}"
    );
    browser.close().await;
}

#[tokio::test]
async fn the_report_resource_is_the_same_data_gathered_through_audited_calls() {
    let s = Server::start(Options::default()).await;
    let listed = s.client.list_all_resources().await.unwrap();
    assert!(
        listed.iter().any(|r| r.uri == "m365://report"),
        "{listed:?}"
    );
    let report = s.read("m365://report").await;
    assert!(
        report["review"]["counts"]["fail"].as_u64().unwrap() > 0,
        "{}",
        report["review"]
    );
    assert!(
        report["review"]["findings"]
            .as_array()
            .unwrap()
            .iter()
            .any(|f| f["status"] == "pass")
    );
    let features = report["features"].as_array().unwrap();
    assert!(
        features
            .iter()
            .any(|f| f["name"] == "unified-audit-log" && f["state"] == "disabled")
    );
    assert_eq!(report["activity"]["days"], 30);
    assert!(report["generatedAt"].as_str().unwrap().ends_with('Z'));
    let dir = s.stop().await;
    // Each tool the report ran is a call in the audit trail, with its upstream requests.
    let out = cli(dir.path(), &["audit", "export", "--sandbox"], &[]).await;
    assert_eq!(out.code, Some(0), "{}", out.stderr);
    let rows: Vec<Value> = out
        .stdout
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    for tool in ["review_security", "list_features"] {
        let call = rows
            .iter()
            .find(|r| r["kind"] == "call" && r["tool"] == tool)
            .unwrap_or_else(|| panic!("{tool} not audited"));
        assert_eq!(call["outcome"], "ok", "{call}");
    }
    assert!(rows.iter().filter(|r| r["kind"] == "request").count() >= 10);
}
