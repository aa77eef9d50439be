//! End-to-end tests of the sandbox tenant over real HTTPS, trusting only its CA.

mod common;

use std::path::{Path, PathBuf};
use std::time::Duration;

use base64::Engine;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use m365_sandbox::client::SandboxClient;
use m365_sandbox::{Sandbox, SandboxConfig, Tuning};
use openssl::asn1::Asn1Time;
use openssl::hash::{MessageDigest, hash};
use openssl::pkey::{PKey, Private};
use openssl::rsa::Rsa;
use openssl::sign::Signer;
use openssl::x509::{X509, X509NameBuilder};
use serde_json::{Value, json};

const TENANT: &str = "7f1c2f4e-5a55-4c2b-9a61-3c0d4a3e9b10";
const CLIENT: &str = "0b8e2c55-1d7a-4f3e-8a0e-5b1f6f2d7c33";
const SECRET: &str = "sandbox-s3cret~value";
const GRAPH_SCOPE: &str = "https://graph.microsoft.com/.default";

const APP: common::App = common::App {
    tenant: TENANT,
    client: CLIENT,
    secret: SECRET,
};

struct Harness {
    sandbox: Sandbox,
    client: SandboxClient,
    dir: PathBuf,
}

fn temp_dir() -> PathBuf {
    common::temp_dir("test")
}

fn config(dir: &Path, reset: bool, certificate_pem: Option<String>) -> SandboxConfig {
    let tuning = Tuning {
        mailbox_provisioning_delay: Duration::from_millis(400),
        ..Tuning::default()
    };
    common::config(dir.to_path_buf(), reset, &APP, certificate_pem, tuning)
}

impl Harness {
    async fn start_in(dir: PathBuf, reset: bool, cert: Option<String>) -> Harness {
        let (sandbox, client) = common::start(config(&dir, reset, cert)).await;
        Harness {
            sandbox,
            client,
            dir,
        }
    }

    async fn start() -> Harness {
        Self::start_in(temp_dir(), false, None).await
    }

    fn url(&self, path: &str) -> String {
        self.client.url(path)
    }

    fn token_url(&self, tenant: &str) -> String {
        self.url(&format!("{tenant}/oauth2/v2.0/token"))
    }

    async fn token_request(&self, tenant: &str, form: &[(&str, &str)]) -> (u16, Value) {
        common::token_request(&self.client, tenant, form).await
    }

    async fn token(&self) -> String {
        common::token(&self.client, &APP, GRAPH_SCOPE).await
    }

    /// A Graph call with a fresh token; returns status, headers and JSON body (Null if none).
    async fn graph(
        &self,
        method: &str,
        path: &str,
        body: Option<Value>,
    ) -> (u16, reqwest::header::HeaderMap, Value) {
        let token = self.token().await;
        self.graph_with(method, path, body, Some(&token)).await
    }

    async fn graph_with(
        &self,
        method: &str,
        path: &str,
        body: Option<Value>,
        token: Option<&str>,
    ) -> (u16, reqwest::header::HeaderMap, Value) {
        let (status, headers, text) = common::send(
            &self.client,
            method,
            &format!("v1.0/{}", path.trim_start_matches('/')),
            token,
            body.as_ref(),
        )
        .await;
        let json = if text.is_empty() {
            Value::Null
        } else {
            serde_json::from_str(&text).unwrap_or(Value::String(text))
        };
        (status, headers, json)
    }

    async fn control(&self, method: &str, path: &str, body: Option<Value>) -> (u16, Value) {
        common::control(&self.client, method, path, body).await
    }

    async fn stop(self) -> PathBuf {
        self.sandbox.shutdown().await;
        self.dir
    }
}

fn new_user(nick: &str) -> Value {
    json!({
        "accountEnabled": true,
        "displayName": format!("User {nick}"),
        "mailNickname": nick,
        "userPrincipalName": format!("{nick}@libertygoldsilver.com"),
        "passwordProfile": {"forceChangePasswordNextSignIn": true, "password": "Xw9!pLm2qR"},
    })
}

fn error_code(body: &Value) -> &str {
    body["error"]["code"].as_str().unwrap_or_default()
}

fn error_message(body: &Value) -> &str {
    body["error"]["message"].as_str().unwrap_or_default()
}

#[tokio::test]
async fn token_with_secret_and_graph_auth() {
    let h = Harness::start().await;
    let (status, body) = h
        .token_request(
            TENANT,
            &[
                ("grant_type", "client_credentials"),
                ("client_id", CLIENT),
                ("client_secret", SECRET),
                ("scope", GRAPH_SCOPE),
            ],
        )
        .await;
    assert_eq!(status, 200);
    assert_eq!(body["token_type"], "Bearer");
    assert_eq!(body["expires_in"], 3599);
    let token = body["access_token"].as_str().unwrap();
    let claims: Value = serde_json::from_slice(
        &URL_SAFE_NO_PAD
            .decode(token.split('.').nth(1).unwrap())
            .unwrap(),
    )
    .unwrap();
    assert_eq!(claims["aud"], "https://graph.microsoft.com");
    assert_eq!(claims["tid"], TENANT);
    assert_eq!(claims["appid"], CLIENT);
    assert!(
        claims["roles"]
            .as_array()
            .unwrap()
            .contains(&json!("User.ReadWrite.All"))
    );

    // Wrong secret: 401 invalid_client, never echoing the secret.
    let (status, body) = h
        .token_request(
            TENANT,
            &[
                ("grant_type", "client_credentials"),
                ("client_id", CLIENT),
                ("client_secret", "wrong-secret-value"),
                ("scope", GRAPH_SCOPE),
            ],
        )
        .await;
    assert_eq!(status, 401);
    assert_eq!(body["error"], "invalid_client");
    assert_eq!(body["error_codes"], json!([7000215]));
    assert!(
        body["error_description"]
            .as_str()
            .unwrap()
            .starts_with("AADSTS7000215: ")
    );
    assert!(!body.to_string().contains("wrong-secret-value"));

    // Unknown tenant, unknown client, bad scope.
    let form = |client: &'static str, scope: &'static str| {
        vec![
            ("grant_type", "client_credentials"),
            ("client_id", client),
            ("client_secret", SECRET),
            ("scope", scope),
        ]
    };
    let (status, body) = h
        .token_request("contoso.com", &form(CLIENT, GRAPH_SCOPE))
        .await;
    assert_eq!(
        (status, body["error"].as_str()),
        (400, Some("invalid_request"))
    );
    assert_eq!(body["error_codes"], json!([90002]));
    let (status, body) = h
        .token_request(
            TENANT,
            &form("00000000-0000-0000-0000-000000000001", GRAPH_SCOPE),
        )
        .await;
    assert_eq!(
        (status, body["error"].as_str()),
        (400, Some("unauthorized_client"))
    );
    assert_eq!(body["error_codes"], json!([700016]));
    let (status, body) = h
        .token_request(
            TENANT,
            &form(CLIENT, "https://graph.microsoft.com/User.Read"),
        )
        .await;
    assert_eq!(
        (status, body["error"].as_str()),
        (400, Some("invalid_scope"))
    );
    // Tenant by verified domain works, and an Outlook token is not a Graph token.
    let (status, body) = h
        .token_request(
            "libertygoldsilver.onmicrosoft.com",
            &form(CLIENT, "https://outlook.office365.com/.default"),
        )
        .await;
    assert_eq!(status, 200);
    let outlook_token = body["access_token"].as_str().unwrap().to_string();

    // Graph: missing, wrong-audience, tampered and good tokens.
    let (status, headers, body) = h.graph_with("GET", "organization", None, None).await;
    assert_eq!(status, 401);
    assert_eq!(error_code(&body), "InvalidAuthenticationToken");
    assert_eq!(error_message(&body), "Access token is empty.");
    assert!(headers.contains_key("www-authenticate"));
    let (status, _, body) = h
        .graph_with("GET", "organization", None, Some(&outlook_token))
        .await;
    assert_eq!(status, 401);
    assert_eq!(
        error_message(&body),
        "Access token validation failure. Invalid audience."
    );
    let tampered = format!("{}x", &token[..token.len() - 1]);
    let (status, _, _) = h
        .graph_with("GET", "organization", None, Some(&tampered))
        .await;
    assert_eq!(status, 401);

    let (status, headers, body) = h.graph_with("GET", "organization", None, Some(token)).await;
    assert_eq!(status, 200);
    assert!(headers.contains_key("request-id"));
    assert!(headers.contains_key("date"));
    assert_eq!(body["value"][0]["id"], TENANT);
    assert_eq!(body["value"][0]["countryLetterCode"], "US");
    let domains = body["value"][0]["verifiedDomains"].as_array().unwrap();
    assert!(
        domains
            .iter()
            .any(|d| d["name"] == "libertygoldsilver.com" && d["isDefault"] == true)
    );

    // Expired tokens: lifetime 0.
    h.control("PATCH", "tuning", Some(json!({"tokenLifetimeSecs": 0})))
        .await;
    let expired = h.token().await;
    let (status, _, body) = h.graph_with("GET", "domains", None, Some(&expired)).await;
    assert_eq!(status, 401);
    assert_eq!(
        error_message(&body),
        "Lifetime validation failed, the token is expired."
    );
    h.stop().await;
}

fn self_signed_cert() -> (PKey<Private>, X509) {
    let key = PKey::from_rsa(Rsa::generate(2048).unwrap()).unwrap();
    let mut name = X509NameBuilder::new().unwrap();
    name.append_entry_by_text("CN", "m365-admin test").unwrap();
    let name = name.build();
    let mut b = X509::builder().unwrap();
    b.set_version(2).unwrap();
    b.set_subject_name(&name).unwrap();
    b.set_issuer_name(&name).unwrap();
    b.set_pubkey(&key).unwrap();
    b.set_not_before(&Asn1Time::days_from_now(0).unwrap())
        .unwrap();
    b.set_not_after(&Asn1Time::days_from_now(30).unwrap())
        .unwrap();
    b.sign(&key, MessageDigest::sha256()).unwrap();
    (key, b.build())
}

/// A client assertion as azure_identity's ClientCertificateCredential makes it.
fn assertion(key: &PKey<Private>, cert: &X509, aud: &str, exp_offset: i64) -> String {
    let thumb = hash(MessageDigest::sha1(), &cert.to_der().unwrap()).unwrap();
    let header = json!({"alg": "RS256", "typ": "JWT", "x5t": STANDARD.encode(thumb)});
    let now = time::OffsetDateTime::now_utc().unix_timestamp();
    let payload = json!({
        "aud": aud, "iss": CLIENT, "sub": CLIENT,
        "exp": now + exp_offset, "nbf": now - 60, "jti": uuid::Uuid::new_v4().to_string(),
    });
    let input = format!(
        "{}.{}",
        URL_SAFE_NO_PAD.encode(header.to_string()),
        URL_SAFE_NO_PAD.encode(payload.to_string())
    );
    let mut signer = Signer::new(MessageDigest::sha256(), key).unwrap();
    signer.update(input.as_bytes()).unwrap();
    format!(
        "{input}.{}",
        URL_SAFE_NO_PAD.encode(signer.sign_to_vec().unwrap())
    )
}

#[tokio::test]
async fn token_with_certificate_assertion() {
    let (key, cert) = self_signed_cert();
    let pem = String::from_utf8(cert.to_pem().unwrap()).unwrap();
    let h = Harness::start_in(temp_dir(), false, Some(pem)).await;
    let aud = h.token_url(TENANT);
    let request = |jwt: String| async {
        let form = [
            ("grant_type", "client_credentials".to_string()),
            ("client_id", CLIENT.to_string()),
            ("scope", GRAPH_SCOPE.to_string()),
            (
                "client_assertion_type",
                "urn:ietf:params:oauth:client-assertion-type:jwt-bearer".to_string(),
            ),
            ("client_assertion", jwt),
        ];
        let pairs: Vec<(&str, &str)> = form.iter().map(|(k, v)| (*k, v.as_str())).collect();
        h.token_request(TENANT, &pairs).await
    };

    let (status, body) = request(assertion(&key, &cert, &aud, 600)).await;
    assert_eq!(status, 200, "{body}");
    let token = body["access_token"].as_str().unwrap().to_string();
    let (status, _, _) = h.graph_with("GET", "users", None, Some(&token)).await;
    assert_eq!(status, 200);

    // Signed by another key with the registered thumbprint.
    let (other_key, _) = self_signed_cert();
    let (status, body) = request(assertion(&other_key, &cert, &aud, 600)).await;
    assert_eq!(
        (status, body["error"].as_str()),
        (401, Some("invalid_client"))
    );
    assert_eq!(body["error_codes"], json!([700027]));
    // An unregistered certificate.
    let (k2, c2) = self_signed_cert();
    let (status, body) = request(assertion(&k2, &c2, &aud, 600)).await;
    assert_eq!(
        (status, body["error_codes"].clone()),
        (401, json!([700027]))
    );
    // Wrong audience and expired.
    let (status, _) = request(assertion(
        &key,
        &cert,
        "https://login.microsoftonline.com/x/oauth2/v2.0/token",
        600,
    ))
    .await;
    assert_eq!(status, 401);
    let (status, body) = request(assertion(&key, &cert, &aud, -3600)).await;
    assert_eq!(
        (status, body["error_codes"].clone()),
        (401, json!([700024]))
    );
    h.stop().await;
}

#[tokio::test]
async fn users_create_validate_query_and_delete() {
    let h = Harness::start().await;
    let (_, _, seeded) = h.graph("GET", "users?$top=999&$select=id", None).await;
    let seeded = seeded["value"].as_array().unwrap().len();
    let (status, _, body) = h.graph("POST", "users", Some(new_user("alice"))).await;
    assert_eq!(status, 201, "{body}");
    assert!(
        body["@odata.context"]
            .as_str()
            .unwrap()
            .ends_with("$metadata#users/$entity")
    );
    assert_eq!(body["userPrincipalName"], "alice@libertygoldsilver.com");
    assert_eq!(body["mail"], Value::Null);
    let alice_id = body["id"].as_str().unwrap().to_string();

    let (status, _, body) = h.graph("POST", "users", Some(new_user("alice"))).await;
    assert_eq!(status, 400);
    assert_eq!(error_code(&body), "Request_BadRequest");
    assert_eq!(
        error_message(&body),
        "Another object with the same value for property userPrincipalName already exists."
    );
    assert!(body["error"]["innerError"]["request-id"].is_string());

    let mut bad = new_user("bob");
    bad["userPrincipalName"] = json!("bob@contoso.com");
    let (status, _, body) = h.graph("POST", "users", Some(bad)).await;
    assert_eq!(status, 400);
    assert!(
        error_message(&body)
            .starts_with("The domain portion of the userPrincipalName property is invalid.")
    );
    let mut bad = new_user("bob");
    bad.as_object_mut().unwrap().remove("mailNickname");
    let (_, _, body) = h.graph("POST", "users", Some(bad)).await;
    assert_eq!(
        error_message(&body),
        "Invalid value specified for property 'mailNickname' of resource 'User'."
    );
    let mut bad = new_user("bob");
    bad["passwordProfile"]["password"] = json!("password");
    let (_, _, body) = h.graph("POST", "users", Some(bad)).await;
    assert!(error_message(&body).starts_with("The specified password does not comply"));

    for nick in ["bob", "carol", "dave"] {
        let mut u = new_user(nick);
        // Departments the seeded people do not work in.
        u["department"] = json!(if nick == "dave" { "Vault" } else { "Bullion" });
        assert_eq!(h.graph("POST", "users", Some(u)).await.0, 201);
    }

    // Get by UPN (any case) with $select.
    let (status, _, body) = h
        .graph(
            "GET",
            "users/ALICE@LibertyGoldSilver.com?$select=id,displayName,accountEnabled",
            None,
        )
        .await;
    assert_eq!(status, 200);
    assert_eq!(body["id"], alice_id.as_str());
    assert_eq!(body["accountEnabled"], true);
    assert!(body.get("userPrincipalName").is_none());
    let (status, _, body) = h
        .graph("GET", "users/nobody@libertygoldsilver.com", None)
        .await;
    assert_eq!(status, 404);
    assert_eq!(error_code(&body), "Request_ResourceNotFound");
    let (status, _, _) = h.graph("GET", "users?$select=shoeSize", None).await;
    assert_eq!(status, 400);

    // $filter
    let (_, _, body) = h
        .graph("GET", "users?$filter=department%20eq%20'bullion'", None)
        .await;
    assert_eq!(body["value"].as_array().unwrap().len(), 2);
    let (_, _, body) = h
        .graph("GET", "users?$filter=startswith(displayName,'User')%20and%20department%20eq%20'Vault'&$select=mailNickname", None)
        .await;
    assert_eq!(body["value"], json!([{"mailNickname": "dave"}]));
    let (status, _, body) = h
        .graph("GET", "users?$filter=displayName%20ne%20'x'", None)
        .await;
    assert_eq!(
        (status, error_code(&body)),
        (400, "Request_UnsupportedQuery")
    );

    // Paging: the seeded users and the 4 made here, 2 per page.
    let mut next = Some(h.url("v1.0/users?$top=2&$select=id"));
    let mut seen = Vec::new();
    let token = h.token().await;
    while let Some(url) = next {
        let body: Value = h
            .client
            .http()
            .get(&url)
            .bearer_auth(&token)
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        seen.extend(
            body["value"]
                .as_array()
                .unwrap()
                .iter()
                .map(|u| u["id"].clone()),
        );
        next = body["@odata.nextLink"].as_str().map(str::to_string);
    }
    assert_eq!(seen.len(), seeded + 4);
    let (status, _, _) = h.graph("GET", "users?$top=1000", None).await;
    assert_eq!(status, 400);

    // PATCH then DELETE.
    let (status, _, _) = h
        .graph(
            "PATCH",
            &format!("users/{alice_id}"),
            Some(json!({"jobTitle": "Trader", "usageLocation": "us"})),
        )
        .await;
    assert_eq!(status, 204);
    let (_, _, body) = h
        .graph(
            "GET",
            &format!("users/{alice_id}?$select=jobTitle,usageLocation"),
            None,
        )
        .await;
    assert_eq!(
        (body["jobTitle"].as_str(), body["usageLocation"].as_str()),
        (Some("Trader"), Some("US"))
    );
    assert_eq!(
        h.graph("DELETE", &format!("users/{alice_id}"), None)
            .await
            .0,
        204
    );
    assert_eq!(
        h.graph("GET", &format!("users/{alice_id}"), None).await.0,
        404
    );
    h.stop().await;
}

#[tokio::test]
async fn licenses_and_mailbox_provisioning() {
    let h = Harness::start().await;
    let (_, _, body) = h.graph("GET", "subscribedSkus", None).await;
    let spb = body["value"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["skuPartNumber"] == "SPB")
        .unwrap()
        .clone();
    assert_eq!(spb["skuId"], "cbdc14ab-d96c-4c30-b9f4-6ada7cdc1d46");
    assert_eq!(spb["consumedUnits"], 1);
    assert_eq!(spb["prepaidUnits"]["enabled"], 5);
    let sku = spb["skuId"].as_str().unwrap();

    let (_, _, user) = h.graph("POST", "users", Some(new_user("erin"))).await;
    let id = user["id"].as_str().unwrap();
    let assign =
        json!({"addLicenses": [{"skuId": sku, "disabledPlans": []}], "removeLicenses": []});
    let (status, _, body) = h
        .graph(
            "POST",
            &format!("users/{id}/assignLicense"),
            Some(assign.clone()),
        )
        .await;
    assert_eq!(status, 400);
    assert_eq!(
        error_message(&body),
        "License assignment cannot be done for user with invalid usage location."
    );

    h.graph(
        "PATCH",
        &format!("users/{id}"),
        Some(json!({"usageLocation": "US"})),
    )
    .await;
    let unknown = json!({"addLicenses": [{"skuId": "11111111-1111-1111-1111-111111111111"}], "removeLicenses": []});
    let (_, _, body) = h
        .graph("POST", &format!("users/{id}/assignLicense"), Some(unknown))
        .await;
    assert_eq!(
        error_message(&body),
        "License 11111111-1111-1111-1111-111111111111 does not correspond to a valid company License."
    );

    // Seats exhausted.
    let (status, _) = h
        .control("PUT", "skus/SPB", Some(json!({"enabled": 1})))
        .await;
    assert_eq!(status, 200);
    let (status, _, body) = h
        .graph(
            "POST",
            &format!("users/{id}/assignLicense"),
            Some(assign.clone()),
        )
        .await;
    assert_eq!(status, 400);
    assert_eq!(
        error_message(&body),
        format!("Subscription with SKU {sku} does not have any available licenses.")
    );
    h.control("PUT", "skus/SPB", Some(json!({"enabled": 5})))
        .await;

    // Mailbox: not enabled before the license, provisioning after, ready after the delay.
    let (status, _, body) = h
        .graph("GET", &format!("users/{id}/mailboxSettings"), None)
        .await;
    assert_eq!(
        (status, error_code(&body)),
        (404, "MailboxNotEnabledForRESTAPI")
    );
    let (status, _, body) = h
        .graph("POST", &format!("users/{id}/assignLicense"), Some(assign))
        .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["mail"], "erin@libertygoldsilver.com");
    let (status, _, body) = h
        .graph("GET", &format!("users/{id}/mailboxSettings"), None)
        .await;
    assert_eq!(
        (status, error_code(&body)),
        (404, "MailboxNotEnabledForRESTAPI")
    );
    assert_eq!(
        error_message(&body),
        "The mailbox is either inactive, soft-deleted, or is hosted on-premise."
    );
    tokio::time::sleep(Duration::from_millis(500)).await;
    let (status, _, body) = h
        .graph("GET", &format!("users/{id}/mailboxSettings"), None)
        .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["automaticRepliesSetting"]["status"], "disabled");

    let patch = json!({"automaticRepliesSetting": {"status": "alwaysEnabled", "internalReplyMessage": "Out"}});
    let (status, _, body) = h
        .graph("PATCH", &format!("users/{id}/mailboxSettings"), Some(patch))
        .await;
    assert_eq!(status, 200);
    assert_eq!(body["automaticRepliesSetting"]["status"], "alwaysEnabled");
    assert_eq!(body["automaticRepliesSetting"]["externalAudience"], "all");
    let (status, _, _) = h
        .graph(
            "PATCH",
            &format!("users/{id}/mailboxSettings"),
            Some(json!({"automaticRepliesSetting": {"status": "sometimes"}})),
        )
        .await;
    assert_eq!(status, 400);

    // Inbox rules.
    let rule = json!({"displayName": "Forward to archive", "sequence": 1, "isEnabled": true,
        "actions": {"forwardTo": [{"emailAddress": {"name": "Archive", "address": "archive@example.com"}}], "stopProcessingRules": true}});
    let (status, _, body) = h
        .graph(
            "POST",
            &format!("users/{id}/mailFolders/inbox/messageRules"),
            Some(rule),
        )
        .await;
    assert_eq!(status, 201, "{body}");
    let rule_id = body["id"].as_str().unwrap().to_string();
    assert_eq!(body["hasError"], false);
    let (_, _, body) = h
        .graph(
            "GET",
            &format!("users/{id}/mailFolders/inbox/messageRules"),
            None,
        )
        .await;
    assert_eq!(body["value"].as_array().unwrap().len(), 1);
    let rule_path = format!(
        "users/{id}/mailFolders/inbox/messageRules/{}",
        urlencode(&rule_id)
    );
    assert_eq!(h.graph("DELETE", &rule_path, None).await.0, 204);
    assert_eq!(h.graph("GET", &rule_path, None).await.0, 404);

    // Deleting the user frees the seat.
    h.graph("DELETE", &format!("users/{id}"), None).await;
    let (_, state) = h.control("GET", "state", None).await;
    let spb = state["skus"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["skuPartNumber"] == "SPB")
        .unwrap()
        .clone();
    assert_eq!(spb["consumedUnits"], 1);
    h.stop().await;
}

fn urlencode(s: &str) -> String {
    url::form_urlencoded::byte_serialize(s.as_bytes())
        .collect::<String>()
        .replace('+', "%20")
}

#[tokio::test]
async fn batch_limits_and_steps() {
    let h = Harness::start().await;
    let many: Vec<Value> = (1..=21)
        .map(|i| json!({"id": i.to_string(), "method": "GET", "url": "/users"}))
        .collect();
    let (status, _, body) = h
        .graph("POST", "$batch", Some(json!({"requests": many})))
        .await;
    assert_eq!(status, 400);
    assert_eq!(
        error_message(&body),
        "Number of batch request steps exceeds the maximum of 20."
    );

    let batch = json!({"requests": [
        {"id": "1", "method": "POST", "url": "/users", "headers": {"Content-Type": "application/json"}, "body": new_user("frank")},
        {"id": "2", "method": "GET", "url": "/users/frank@libertygoldsilver.com?$select=displayName", "dependsOn": ["1"]},
        {"id": "3", "method": "POST", "url": "/users", "headers": {"Content-Type": "application/json"}, "body": new_user("frank")},
        {"id": "4", "method": "GET", "url": "/users/x", "dependsOn": ["3"]},
        {"id": "5", "method": "GET", "url": "/nonsense"}
    ]});
    let (status, _, body) = h.graph("POST", "$batch", Some(batch)).await;
    assert_eq!(status, 200, "{body}");
    let by_id = |id: &str| {
        body["responses"]
            .as_array()
            .unwrap()
            .iter()
            .find(|r| r["id"] == id)
            .unwrap()
            .clone()
    };
    assert_eq!(by_id("1")["status"], 201);
    assert_eq!(by_id("2")["status"], 200);
    assert_eq!(by_id("2")["body"]["displayName"], "User frank");
    assert_eq!(by_id("3")["status"], 400);
    assert_eq!(by_id("4")["status"], 424);
    assert_eq!(by_id("5")["status"], 400);
    assert_eq!(
        by_id("5")["body"]["error"]["message"],
        "Resource not found for the segment 'nonsense'."
    );
    h.stop().await;
}

#[tokio::test]
async fn faults_request_log_and_routing() {
    let h = Harness::start().await;
    let token = h.token().await;
    let (status, _) = h
        .control("POST", "faults", Some(json!({"method": "GET", "pathPrefix": "/v1.0/users", "status": 429, "retryAfter": 1, "times": 1})))
        .await;
    assert_eq!(status, 201);
    let resp = h
        .client
        .http()
        .get(h.url("v1.0/users"))
        .bearer_auth(&token)
        .header("client-request-id", "abc-123")
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status().as_u16(), 429);
    assert_eq!(resp.headers()["retry-after"], "1");
    assert_eq!(resp.headers()["client-request-id"], "abc-123");
    let body: Value = resp.json().await.unwrap();
    assert_eq!(error_code(&body), "TooManyRequests");
    assert_eq!(body["error"]["innerError"]["client-request-id"], "abc-123");
    // Consumed: the next one passes.
    assert_eq!(
        h.graph_with("GET", "users", None, Some(&token)).await.0,
        200
    );

    // 503 until cleared, on the token endpoint too.
    h.control(
        "POST",
        "faults",
        Some(json!({"pathPrefix": "/", "status": 503})),
    )
    .await;
    let (status, _) = h
        .token_request(TENANT, &[("grant_type", "client_credentials")])
        .await;
    assert_eq!(status, 503);
    assert_eq!(
        h.graph_with("GET", "domains", None, Some(&token)).await.0,
        503
    );
    assert_eq!(h.control("DELETE", "faults", None).await.0, 204);
    assert_eq!(
        h.graph_with("GET", "domains", None, Some(&token)).await.0,
        200
    );

    // Routing errors.
    let (status, _, body) = h.graph_with("GET", "widgets", None, Some(&token)).await;
    assert_eq!(
        (status, error_message(&body)),
        (400, "Resource not found for the segment 'widgets'.")
    );
    let (status, _, _) = h.graph_with("PUT", "users", None, Some(&token)).await;
    assert_eq!(status, 405);
    let resp = h
        .client
        .http()
        .get(h.url("v1.0/users/%2e%2e/x"))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status().as_u16(), 400);

    // The log has every token and Graph request, without secrets or tokens.
    let (status, log) = h.control("GET", "requests", None).await;
    assert_eq!(status, 200);
    let entries = log.as_array().unwrap();
    assert!(entries.iter().any(|e| e["status"] == 429
        && e["clientRequestId"] == "abc-123"
        && e["hasAuthorization"] == true));
    assert!(
        entries
            .iter()
            .any(|e| e["path"] == format!("/{TENANT}/oauth2/v2.0/token"))
    );
    let text = log.to_string();
    assert!(!text.contains(SECRET) && !text.contains(&token));
    assert_eq!(h.control("DELETE", "requests", None).await.0, 204);
    let (_, log) = h.control("GET", "requests", None).await;
    assert_eq!(log, json!([]));
    h.stop().await;
}

#[tokio::test]
async fn state_persists_across_restart_and_reset_clears_it() {
    let h = Harness::start().await;
    assert_eq!(
        h.graph("POST", "users", Some(new_user("gina"))).await.0,
        201
    );
    let dir = h.stop().await;
    let endpoint: Value =
        serde_json::from_slice(&std::fs::read(dir.join("endpoint.json")).unwrap()).unwrap();
    assert!(
        endpoint["baseUrl"]
            .as_str()
            .unwrap()
            .starts_with("https://127.0.0.1:")
    );
    assert!(
        endpoint["caCertPem"]
            .as_str()
            .unwrap()
            .contains("BEGIN CERTIFICATE")
    );

    let h = Harness::start_in(dir, false, None).await;
    assert_eq!(
        h.graph("GET", "users/gina@libertygoldsilver.com", None)
            .await
            .0,
        200
    );
    let dir = h.stop().await;

    let h = Harness::start_in(dir, true, None).await;
    assert_eq!(
        h.graph("GET", "users/gina@libertygoldsilver.com", None)
            .await
            .0,
        404
    );
    assert_eq!(
        h.graph("GET", "users/admin@libertygoldsilver.com", None)
            .await
            .0,
        200
    );
    let dir = h.stop().await;
    let _ = std::fs::remove_dir_all(dir);
}
