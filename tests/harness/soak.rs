//! A short soak: concurrent clients, injected faults and hostile requests
//! against a real server; nothing acknowledged lost or duplicated, every
//! failure coded, no hostile request accepted, the audit chain intact.
//! (`scripts/stress` runs the same for half an hour.)

use crate::harness::*;
use serde_json::Value;

#[tokio::test]
async fn a_short_soak_loses_nothing_and_lets_nothing_through() {
    warm_cache().await;
    let dir = tempfile::tempdir().unwrap();
    let run = cli(
        dir.path(),
        &["soak", "--seconds", "8", "--clients", "3", "--seed", "11"],
        &[],
    )
    .await;
    let summary: Value = serde_json::from_str(&run.stdout)
        .unwrap_or_else(|e| panic!("{e}: {}\n{}", run.stdout, run.stderr));
    assert_eq!(run.code, Some(0), "{summary:#}");
    assert_eq!(summary["pass"], true, "{summary:#}");
    assert!(summary["calls"].as_u64().unwrap() >= 30, "{summary:#}");
    assert!(summary["attacksTried"].as_u64().unwrap() > 0, "{summary:#}");
    assert!(
        summary["faultsInjected"].as_u64().unwrap() > 0,
        "{summary:#}"
    );
    for kind in [
        "templatesCreated",
        "usersCreated",
        "usersDeleted",
        "mailsSent",
    ] {
        assert!(
            summary["acknowledged"][kind].as_u64().unwrap() > 0,
            "no {kind}: {summary:#}"
        );
    }
    assert_eq!(summary["escapes"], 0, "{summary:#}");
    assert_eq!(summary["operationsLost"], 0, "{summary:#}");
    assert_eq!(summary["duplicates"], 0, "{summary:#}");
    assert_eq!(summary["auditChain"], "verified", "{summary:#}");
    assert!(summary["rssKb"]["end"].as_u64().unwrap() > 0, "{summary:#}");
    assert!(summary["fds"]["end"].as_u64().unwrap() > 0, "{summary:#}");
}
