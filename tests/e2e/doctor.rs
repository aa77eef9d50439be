//! `m365-admin doctor` tells an administrator what is wrong and what to do:
//! here, a sandbox app registration without `Mail.Send`.

use crate::harness::*;

#[tokio::test]
async fn doctor_names_a_missing_permission_and_the_plugin_that_needs_it() {
    let dir = tempfile::tempdir().unwrap();
    let healthy = cli(dir.path(), &["doctor", "--sandbox"], &[]).await;
    assert_eq!(
        healthy.code,
        Some(0),
        "{}\n{}",
        healthy.stdout,
        healthy.stderr
    );
    assert!(healthy.stderr.contains("OK"), "{}", healthy.stderr);

    let all_but_mail_send: Vec<String> = m365_sandbox::AppRegistration::default_roles()
        .into_iter()
        .filter(|r| r != "Mail.Send")
        .collect();
    let lacking = cli(
        dir.path(),
        &["doctor", "--sandbox"],
        &[("M365_SANDBOX_APP_ROLES", &all_but_mail_send.join(","))],
    )
    .await;
    assert_eq!(lacking.code, Some(1), "{}", lacking.stderr);
    let line = lacking
        .stderr
        .lines()
        .find(|l| l.starts_with("MISSING Mail.Send"))
        .unwrap_or_else(|| panic!("no Mail.Send line: {}", lacking.stderr));
    assert!(line.contains("plugin templates"), "{line}");
    assert!(line.contains("Grant admin consent"), "{line}");
    let report: serde_json::Value = serde_json::from_str(&lacking.stdout).unwrap();
    assert!(
        report["missingPermissions"]
            .as_array()
            .unwrap()
            .iter()
            .all(|m| m["permission"] == "Mail.Send"),
        "only Mail.Send is missing: {report}"
    );
    assert!(!lacking.stderr.contains(SENTINEL_SECRET));
}
