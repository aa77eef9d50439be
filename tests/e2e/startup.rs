//! Start-up: health, and refusing to serve a live tenant without credentials.

use crate::harness::*;

#[tokio::test]
async fn health_reports_the_sandbox_tenant_and_plugins() {
    let s = Server::start(Options::default()).await;
    let h = s.read("m365://health").await;
    assert_eq!(h["status"], "healthy", "{h}");
    assert_eq!(h["authenticated"], true);
    assert_eq!(h["graphApiConnected"], true);
    assert!(h["lastCheck"].is_string());
    assert_eq!(h["tenant"]["mode"], "sandbox");
    assert!(h["plugins"].to_string().contains("users"));
    s.finish().await;
}

#[tokio::test]
async fn serve_without_sandbox_or_credentials_exits_with_auth_001() {
    let dir = tempfile::tempdir().unwrap();
    let mut cmd = base_command(dir.path());
    cmd.env_remove("AZURE_CLIENT_SECRET").arg("serve");
    let out = tokio::time::timeout(std::time::Duration::from_secs(60), cmd.output())
        .await
        .unwrap()
        .unwrap();
    assert!(!out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("AUTH_001"), "{stderr}");
    for var in [
        "AZURE_TENANT_ID",
        "AZURE_CLIENT_ID",
        "AZURE_CLIENT_SECRET",
        "AZURE_CERTIFICATE_PATH",
    ] {
        assert!(stderr.contains(var), "{var} not named: {stderr}");
    }
    assert!(out.stdout.is_empty(), "stdout is for MCP only");
}

#[tokio::test]
async fn certificate_credentials_authenticate_through_azure_identity() {
    use openssl::{asn1::Asn1Time, hash::MessageDigest, pkey::PKey, rsa::Rsa, x509};
    let key = PKey::from_rsa(Rsa::generate(2048).unwrap()).unwrap();
    let mut name = x509::X509NameBuilder::new().unwrap();
    name.append_entry_by_text("CN", "m365-admin-test").unwrap();
    let name = name.build();
    let mut cert = x509::X509Builder::new().unwrap();
    cert.set_version(2).unwrap();
    cert.set_subject_name(&name).unwrap();
    cert.set_issuer_name(&name).unwrap();
    cert.set_pubkey(&key).unwrap();
    cert.set_not_before(&Asn1Time::days_from_now(0).unwrap())
        .unwrap();
    cert.set_not_after(&Asn1Time::days_from_now(30).unwrap())
        .unwrap();
    cert.sign(&key, MessageDigest::sha256()).unwrap();
    let pem_dir = tempfile::tempdir().unwrap();
    let path = pem_dir.path().join("app.pem");
    let mut pem = cert.build().to_pem().unwrap();
    pem.extend(key.private_key_to_pem_pkcs8().unwrap());
    std::fs::write(&path, pem).unwrap();

    let s = Server::start(Options::default().env("AZURE_CERTIFICATE_PATH", path.to_str().unwrap()))
        .await;
    let listed = s.ok("list_users", serde_json::json!({})).await;
    assert!(listed.to_string().contains("admin@libertygoldsilver.com"));
    let h = s.read("m365://health").await;
    assert_eq!(h["authenticated"], true, "{h}");
    let (stderr, log, _) = s.finish().await;
    let private = String::from_utf8(key.private_key_to_pem_pkcs8().unwrap()).unwrap();
    let body = private.lines().nth(1).unwrap();
    assert!(
        !stderr.contains(body) && !log.contains(body),
        "private key material in the logs"
    );
}

#[tokio::test]
async fn an_expired_token_is_refreshed_without_the_caller_noticing() {
    let s = Server::start(Options::default().env("M365_SANDBOX_TOKEN_LIFETIME_SECS", "1")).await;
    s.ok(
        "get_user",
        serde_json::json!({"userEmail": "admin@libertygoldsilver.com"}),
    )
    .await;
    tokio::time::sleep(std::time::Duration::from_millis(2500)).await;
    s.ok(
        "get_user",
        serde_json::json!({"userEmail": "admin@libertygoldsilver.com"}),
    )
    .await;
    let tokens = s.sandbox().get("/_sandbox/requests").await;
    let fetched = tokens
        .as_array()
        .unwrap()
        .iter()
        .filter(|r| r["path"].as_str().unwrap().ends_with("/oauth2/v2.0/token"))
        .count();
    assert!(fetched >= 2, "the token was not fetched again: {tokens}");
    s.finish().await;
}

#[tokio::test]
async fn the_cli_lists_tools_and_calls_one_through_the_same_path() {
    let dir = tempfile::tempdir().unwrap();
    let out = base_command(dir.path())
        .arg("tools")
        .output()
        .await
        .unwrap();
    assert!(out.status.success());
    let listing = String::from_utf8_lossy(&out.stdout);
    for tool in ["create_user", "configure_mailbox", "get_user", "list_users"] {
        assert!(
            listing
                .lines()
                .any(|l| l.starts_with(tool) && l.contains("users")),
            "{tool}: {listing}"
        );
    }
    let out = base_command(dir.path())
        .args([
            "call",
            "get_user",
            r#"{"userEmail":"admin@libertygoldsilver.com"}"#,
            "--sandbox",
        ])
        .output()
        .await
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["userPrincipalName"], "admin@libertygoldsilver.com");
    let out = base_command(dir.path())
        .args(["call", "get_user", r#"{"userEmail":"nope"}"#, "--sandbox"])
        .output()
        .await
        .unwrap();
    assert!(!out.status.success());
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["error"]["code"], "GRAPH_001", "{v}");
    assert!(
        v["error"]["message"].as_str().unwrap().contains("nope"),
        "{v}"
    );
    assert_eq!(
        v["error"]["details"]["graphCode"], "Request_ResourceNotFound",
        "{v}"
    );
}

/// docs/tools.md is what `tools --markdown` prints today: regenerate it
/// with `cargo run -- tools --markdown > docs/tools.md` when tools change.
#[tokio::test]
async fn the_tool_reference_in_docs_is_current() {
    let dir = tempfile::tempdir().unwrap();
    let out = cli(dir.path(), &["tools", "--markdown"], &[]).await;
    assert_eq!(out.code, Some(0), "{}", out.stderr);
    assert!(out.stdout.contains("### `create_user`"));
    assert!(out.stdout.contains("| `password` |") && out.stdout.contains("secret"));
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../docs/tools.md");
    let doc = std::fs::read_to_string(&path).unwrap_or_default();
    assert!(
        doc == out.stdout,
        "docs/tools.md is stale: run `cargo run -- tools --markdown > docs/tools.md`"
    );
}
