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
