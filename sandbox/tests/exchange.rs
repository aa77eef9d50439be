//! Exchange Online's admin API end to end over HTTPS: the token for
//! `https://outlook.office365.com/.default`, `POST /adminapi/beta/{tenant}/InvokeCommand`, the
//! request log's cmdlet, faults on the Exchange path, the add-in catalogue served over the
//! sandbox's TLS, and message trace from mail sent through Graph.

mod common;

use std::path::PathBuf;

use common::App;
use m365_sandbox::client::SandboxClient;
use m365_sandbox::{Sandbox, Tuning};
use serde_json::{Value, json};

const TENANT: &str = "3a2b1c0d-9e8f-4a7b-8c6d-5e4f3a2b1c0d";
const APP: App = App {
    tenant: TENANT,
    client: "4b3c2d1e-0f9a-4b8c-9d7e-6f5a4b3c2d1e",
    secret: "exchange-s3cret~value",
};

struct Harness {
    sandbox: Sandbox,
    client: SandboxClient,
    dir: PathBuf,
}

impl Harness {
    async fn start() -> Harness {
        let dir = common::temp_dir("exo-e2e");
        let (sandbox, client) = common::start(common::config(
            dir.clone(),
            true,
            &APP,
            None,
            Tuning::default(),
        ))
        .await;
        Harness {
            sandbox,
            client,
            dir,
        }
    }

    async fn token(&self, scope: &str) -> String {
        common::token(&self.client, &APP, scope).await
    }

    async fn invoke(
        &self,
        token: &str,
        cmdlet: &str,
        parameters: Value,
    ) -> (u16, reqwest::header::HeaderMap, Value) {
        let resp = self
            .client
            .http()
            .post(
                self.client
                    .url(&format!("adminapi/beta/{TENANT}/InvokeCommand")),
            )
            .bearer_auth(token)
            .header(
                "X-AnchorMailbox",
                format!("APP:SystemMailbox{{bb558c35-97f1-4cb9-8ff7-d53741dc928c}}@{TENANT}"),
            )
            .json(&json!({"CmdletInput": {"CmdletName": cmdlet, "Parameters": parameters}}))
            .send()
            .await
            .unwrap();
        let status = resp.status().as_u16();
        let headers = resp.headers().clone();
        let text = resp.text().await.unwrap();
        (
            status,
            headers,
            serde_json::from_str(&text).unwrap_or(Value::Null),
        )
    }

    async fn graph(
        &self,
        token: &str,
        method: &str,
        path: &str,
        body: Option<Value>,
    ) -> (u16, Value) {
        let (status, _, text) = common::send(
            &self.client,
            method,
            &format!("v1.0/{path}"),
            Some(token),
            body.as_ref(),
        )
        .await;
        (status, serde_json::from_str(&text).unwrap_or(Value::Null))
    }

    async fn control(&self, method: &str, path: &str, body: Option<Value>) -> (u16, Value) {
        common::control(&self.client, method, path, body).await
    }

    async fn stop(self) {
        self.sandbox.shutdown().await;
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

#[tokio::test]
async fn invoke_command_over_https() {
    let h = Harness::start().await;
    let exo = h.token("https://outlook.office365.com/.default").await;
    let graph = h.token("https://graph.microsoft.com/.default").await;

    let (status, headers, body) = h
        .invoke(
            &exo,
            "Get-Mailbox",
            json!({"Identity": "admin@libertygoldsilver.com"}),
        )
        .await;
    assert_eq!(status, 200, "{body}");
    assert!(
        headers["content-type"]
            .to_str()
            .unwrap()
            .starts_with("application/json")
    );
    assert!(headers.contains_key("request-id"));
    assert_eq!(
        body["value"][0]["PrimarySmtpAddress"],
        "admin@libertygoldsilver.com"
    );

    // A Graph token is not an Exchange token.
    let (status, headers, _) = h.invoke(&graph, "Get-Mailbox", json!({})).await;
    assert_eq!(status, 401);
    assert!(headers.contains_key("www-authenticate"));

    // The request log names the cmdlet.
    let (_, log) = h.control("GET", "requests", None).await;
    let exo_requests: Vec<&Value> = log
        .as_array()
        .unwrap()
        .iter()
        .filter(|r| r["path"].as_str().unwrap().starts_with("/adminapi/"))
        .collect();
    assert_eq!(exo_requests.len(), 2);
    assert_eq!(exo_requests[0]["cmdlet"], "Get-Mailbox");
    assert_eq!(exo_requests[0]["status"], 200);
    assert_eq!(exo_requests[1]["status"], 401);

    // Throttling injected for one cmdlet only.
    let (status, _) = h
        .control(
            "POST",
            "faults",
            Some(json!({"pathPrefix": "/adminapi/", "cmdlet": "Set-Mailbox", "status": 429, "retryAfter": 3, "times": 1})),
        )
        .await;
    assert_eq!(status, 201);
    assert_eq!(
        h.invoke(&exo, "Get-OrganizationConfig", json!({})).await.0,
        200
    );
    let (status, headers, body) = h
        .invoke(
            &exo,
            "Set-Mailbox",
            json!({"Identity": "admin", "AuditEnabled": true}),
        )
        .await;
    assert_eq!(status, 429);
    assert_eq!(headers["retry-after"], "3");
    assert_eq!(body["error"]["code"], "TooManyRequests");
    let (status, _, body) = h
        .invoke(
            &exo,
            "Set-Mailbox",
            json!({"Identity": "admin", "AuditEnabled": false}),
        )
        .await;
    assert_eq!(status, 200, "{body}");

    // Exchange's state shows in /_sandbox/state and persists with the tenant.
    h.invoke(
        &exo,
        "Set-OrganizationConfig",
        json!({"ReadTrackingEnabled": true}),
    )
    .await;
    let (_, state) = h.control("GET", "state", None).await;
    assert_eq!(
        state["exchange"]["organizationConfig"]["ReadTrackingEnabled"],
        true
    );
    assert!(
        state["exchangeCmdlets"]
            .as_array()
            .unwrap()
            .iter()
            .any(|c| c == "Get-MessageTraceV2")
    );
    assert!(state["addins"].as_array().unwrap().len() >= 3);
    let saved: Value =
        serde_json::from_slice(&std::fs::read(h.dir.join("tenant.json")).unwrap()).unwrap();
    assert_eq!(
        saved["exchange"]["organizationConfig"]["ReadTrackingEnabled"],
        true
    );

    // Sent mail shows in message trace, through Exchange and through Graph.
    let (status, _) = h
        .graph(
            &graph,
            "POST",
            "users/admin@libertygoldsilver.com/sendMail",
            Some(json!({"message": {"subject": "Trace me", "body": {"contentType": "Text", "content": "x"},
                "toRecipients": [{"emailAddress": {"address": "someone@example.org"}}]}})),
        )
        .await;
    assert_eq!(status, 202);
    let (status, _, body) = h
        .invoke(
            &exo,
            "Get-MessageTraceV2",
            json!({"RecipientAddress": "someone@example.org"}),
        )
        .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["value"][0]["Subject"], "Trace me");
    let (status, body) = h
        .graph(
            &graph,
            "GET",
            "admin/exchange/tracing/messageTraces?$filter=recipientAddress%20eq%20'someone@example.org'",
            None,
        )
        .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["value"][0]["subject"], "Trace me");
    assert_eq!(body["value"][0]["status"], "delivered");

    h.stop().await;
}

#[tokio::test]
async fn add_in_catalogue_over_https() {
    let h = Harness::start().await;
    let base = h.sandbox.base_url().to_string();
    let resp = h
        .client
        .http()
        .get(format!("{base}_sandbox/addins/message-tagger.xml"))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 200);
    assert_eq!(resp.headers()["content-type"], "application/xml");
    assert!(resp.text().await.unwrap().contains("<OfficeApp"));
    let resp = h
        .client
        .http()
        .get(format!("{base}_sandbox/addins/compliance-footer.json"))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.headers()["content-type"], "application/json");
    let manifest: Value = resp.json().await.unwrap();
    assert_eq!(manifest["manifestVersion"], "1.17");
    assert_eq!(manifest["name"]["short"], "Compliance Footer");
    assert!(manifest["authorization"]["permissions"]["resourceSpecific"].is_array());
    let (status, list) = h.control("GET", "addins", None).await;
    assert_eq!(status, 200);
    assert!(
        list.as_array()
            .unwrap()
            .iter()
            .any(|e| e["name"] == "not-a-manifest.html")
    );

    // A crafted manifest, with its own content type.
    let hostile = "<?xml version=\"1.0\"?><!DOCTYPE x [<!ENTITY xxe SYSTEM \"file:///etc/passwd\">]><OfficeApp>&xxe;</OfficeApp>";
    let resp = h
        .client
        .http()
        .post(format!("{base}_sandbox/addins/xxe.xml"))
        .header("content-type", "text/xml")
        .body(hostile)
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 201);
    let resp = h
        .client
        .http()
        .get(format!("{base}_sandbox/addins/xxe.xml"))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.headers()["content-type"], "text/xml");
    assert_eq!(resp.text().await.unwrap(), hostile);
    assert_eq!(
        h.client
            .http()
            .get(format!("{base}_sandbox/addins/none"))
            .send()
            .await
            .unwrap()
            .status(),
        404
    );

    let exo = h.token("https://outlook.office365.com/.default").await;
    let (status, _, body) = h
        .invoke(
            &exo,
            "New-App",
            json!({"OrganizationApp": true, "Url": format!("{base}_sandbox/addins/xxe.xml")}),
        )
        .await;
    assert_eq!(status, 400);
    assert!(
        body["error"]["details"][0]["message"]
            .as_str()
            .unwrap()
            .contains("DTD is prohibited")
    );
    let (status, _, body) = h
        .invoke(
            &exo,
            "New-App",
            json!({"OrganizationApp": true, "Url": format!("{base}_sandbox/addins/message-tagger.xml"), "ProvidedTo": "Everyone", "DefaultStateForUser": "AlwaysEnabled"}),
        )
        .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["value"][0]["DisplayName"], "Message Tagger");
    let (_, _, body) = h
        .invoke(&exo, "Get-App", json!({"OrganizationApp": true}))
        .await;
    assert_eq!(body["value"][0]["DefaultStateForUser"], "AlwaysEnabled");

    // Channel email as the Teams client provisions it: unknown team is a clear error.
    let (status, body) = h
        .control(
            "POST",
            "channelEmail",
            Some(json!({"teamId": "00000000-0000-0000-0000-000000000000", "channelId": "19:x@thread.tacv2"})),
        )
        .await;
    assert_eq!(status, 404, "{body}");
    h.stop().await;
}
