//! `m365-harness bench` runs its parts alone: the host's own share of a call,
//! measured in-process, comes back as JSON with its breakdown.

use crate::harness::*;

#[tokio::test]
async fn bench_measures_the_hosts_share_of_a_call_alone() {
    let dir = tempfile::tempdir().unwrap();
    let out = cli(
        dir.path(),
        &["bench", "--only", "host", "--calls", "30"],
        &[],
    )
    .await;
    assert_eq!(out.code, Some(0), "{}", out.stderr);
    let v: serde_json::Value = serde_json::from_str(&out.stdout).unwrap();
    let host = &v["host"];
    assert_eq!(host["failed"], 0, "{v}");
    assert!(host["callTool"]["p50Ms"].as_f64().unwrap() > 0.0, "{v}");
    for part in [
        "instantiate",
        "pluginWork",
        "ofWhichStoreReads",
        "auditWrite",
        "restOfCallTool",
    ] {
        assert!(host["breakdownP50Ms"][part].is_number(), "{part}: {v}");
    }
    assert!(host["hostShareP50Ms"].is_number(), "{v}");
    // Only the part asked for ran.
    for other in ["startup", "call", "bulk", "scaling", "memory"] {
        assert!(v.get(other).is_none(), "{other} ran: {v}");
    }
}
