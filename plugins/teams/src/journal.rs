//! The journal of one create_teams_group operation, kept in the plugin's
//! store under `ops/{operationId}`: the validated request, what each step
//! created (group id, team operation, channels), and a log of steps started
//! and done, written before and after every step. A server killed mid-way
//! leaves the journal saying how far it got; `resume_operation` and
//! `rollback_operation` start from it.
//!
//! Every write expects the version last read, so two calls can never both
//! drive one operation: a call that takes an operation over (resume or
//! rollback) bumps the version, and the call it took over from stops at its
//! next write without changing anything more.

use crate::people::Person;
use crate::plan::Plan;
use m365_plugin_sdk::host::now_ms;
use m365_plugin_sdk::store::{self, Expect};
use m365_plugin_sdk::{ToolError, time};
use serde::{Deserialize, Serialize};

/// Store key prefix of operation journals.
pub const PREFIX: &str = "ops/";
/// Finished operations kept for list_operations(all); older ones are pruned.
const KEEP_FINISHED: usize = 50;
/// Journals read at most when listing.
const LIST_LIMIT: u32 = 500;

/// The steps of create_teams_group, in order.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Step {
    Check = 1,
    Group,
    Provisioning,
    Team,
    Channels,
    Members,
    GuestAccess,
    Settings,
}

impl Step {
    pub const ALL: [Step; 8] = [
        Step::Check,
        Step::Group,
        Step::Provisioning,
        Step::Team,
        Step::Channels,
        Step::Members,
        Step::GuestAccess,
        Step::Settings,
    ];
    pub const TOTAL: u64 = Step::ALL.len() as u64;

    pub fn number(self) -> u8 {
        self as u8
    }

    pub fn from_number(n: u8) -> Option<Step> {
        Step::ALL.get(usize::from(n).checked_sub(1)?).copied()
    }

    /// Short name, as in errors' `details.failedStep`.
    pub fn name(self) -> &'static str {
        match self {
            Step::Check => "check",
            Step::Group => "group",
            Step::Provisioning => "provisioning",
            Step::Team => "team",
            Step::Channels => "channels",
            Step::Members => "members",
            Step::GuestAccess => "guestAccess",
            Step::Settings => "settings",
        }
    }

    /// What the step does, for people.
    pub fn title(self) -> &'static str {
        match self {
            Step::Check => "check the name is free and every owner and member exists",
            Step::Group => "create the Microsoft 365 group with its owners and members",
            Step::Provisioning => "wait for the group to be provisioned",
            Step::Team => "create the team from the group",
            Step::Channels => "create the channels",
            Step::Members => "add owners and members not yet in the team",
            Step::GuestAccess => "set guest access",
            Step::Settings => "apply the team settings",
        }
    }
}

/// Where an operation stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum Status {
    /// A call is driving it, or the server stopped while one was.
    Running,
    /// Waiting on Microsoft Teams longer than one call may; resume later.
    Paused,
    Completed,
    /// A step failed before anything was created.
    Failed,
    /// A step failed (or the administrator asked) and everything was undone.
    RolledBack,
    /// Undoing failed: something is left in the tenant.
    RollbackFailed,
}

impl Status {
    /// Whether the operation needs resume_operation or rollback_operation.
    pub fn unfinished(self) -> bool {
        matches!(
            self,
            Status::Running | Status::Paused | Status::RollbackFailed
        )
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum StepState {
    Started,
    Done,
    Failed,
}

/// One line of the step log.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct StepEntry {
    pub step: u8,
    pub state: StepState,
    /// Milliseconds since the epoch.
    pub at: u64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub note: Option<String>,
}

/// A channel this operation created (or found already there on resume).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct CreatedChannel {
    pub display_name: String,
    pub id: String,
    pub membership_type: String,
}

/// Why the operation stopped.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Failure {
    pub step: u8,
    pub code: String,
    pub message: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Journal {
    pub id: String,
    pub status: Status,
    pub started_at: u64,
    pub updated_at: u64,
    pub plan: Plan,
    /// Resolved in the check step.
    #[serde(default)]
    pub owners: Vec<Person>,
    #[serde(default)]
    pub members: Vec<Person>,
    /// The group (and so the team) id, once created.
    #[serde(default)]
    pub group_id: Option<String>,
    /// The teamsAsyncOperation path to poll, once the team was requested.
    #[serde(default)]
    pub team_operation: Option<String>,
    #[serde(default)]
    pub channels: Vec<CreatedChannel>,
    #[serde(default)]
    pub steps: Vec<StepEntry>,
    #[serde(default)]
    pub failure: Option<Failure>,
    #[serde(default)]
    pub rolled_back: Vec<String>,
    #[serde(default)]
    pub left_behind: Vec<String>,
}

impl Journal {
    /// The highest step done (0: none).
    pub fn last_done(&self) -> u8 {
        self.steps
            .iter()
            .filter(|s| s.state == StepState::Done)
            .map(|s| s.step)
            .max()
            .unwrap_or(0)
    }

    /// Whether `step` was ever started.
    pub fn started(&self, step: Step) -> bool {
        self.steps.iter().any(|s| s.step == step.number())
    }

    /// The step to run next (None: all done).
    pub fn next_step(&self) -> Option<Step> {
        Step::from_number(self.last_done() + 1)
    }

    /// A short view for list_operations and the operations resource.
    pub fn summary(&self) -> serde_json::Value {
        let last = Step::from_number(self.last_done());
        serde_json::json!({
            "operationId": self.id,
            "status": self.status,
            "displayName": self.plan.display_name,
            "groupId": self.group_id,
            "lastCompletedStep": last.map(|s| serde_json::json!({
                "number": s.number(), "name": s.name(),
            })),
            "nextStep": if self.status.unfinished() {
                self.next_step().map(|s| serde_json::json!({"number": s.number(), "name": s.name()}))
            } else {
                None
            },
            "totalSteps": Step::TOTAL,
            "startedAt": time::rfc3339(self.started_at as i64),
            "updatedAt": time::rfc3339(self.updated_at as i64),
            "failure": self.failure,
            "leftBehind": self.left_behind,
        })
    }
}

/// A journal with the store version it was read or written at.
#[derive(Debug)]
pub struct Tracked {
    pub key: String,
    pub version: u64,
    pub j: Journal,
}

impl Tracked {
    /// Starts the journal of a new operation.
    pub fn create(plan: Plan) -> Result<Tracked, ToolError> {
        prune();
        let id = format!(
            "op-{}",
            m365_plugin_sdk::http::new_uuid()
                .replace('-', "")
                .get(..12)
                .unwrap_or("000000000000")
        );
        let now = now_ms();
        let j = Journal {
            id: id.clone(),
            status: Status::Running,
            started_at: now,
            updated_at: now,
            plan,
            owners: Vec::new(),
            members: Vec::new(),
            group_id: None,
            team_operation: None,
            channels: Vec::new(),
            steps: Vec::new(),
            failure: None,
            rolled_back: Vec::new(),
            left_behind: Vec::new(),
        };
        let key = format!("{PREFIX}{id}");
        let version = store::put(&key, &j, Expect::New).map_err(|e| {
            e.with_prefix("Could not start the operation's journal, so nothing was created.")
        })?;
        Ok(Tracked { key, version, j })
    }

    /// Reads the journal of operation `id`.
    pub fn load(id: &str) -> Result<Tracked, ToolError> {
        let id = id.trim();
        let valid = id.len() <= 64
            && !id.is_empty()
            && id.chars().all(|c| c.is_ascii_alphanumeric() || c == '-');
        let doc = if valid {
            store::get::<Journal>(&format!("{PREFIX}{id}"))?
        } else {
            None
        };
        let doc = doc.ok_or_else(|| {
            ToolError::input(
                Some("operationId"),
                format!(
                    "There is no operation {id}; list_operations shows the operation ids \
                     (e.g. op-3fa2c1d9e0b4)."
                ),
            )
        })?;
        Ok(Tracked {
            key: doc.key,
            version: doc.version,
            j: doc.value,
        })
    }

    /// Writes the journal, expecting nobody else wrote since we did.
    pub fn save(&mut self) -> Result<(), ToolError> {
        self.j.updated_at = now_ms();
        match store::put(&self.key, &self.j, Expect::Version(self.version)) {
            Ok(v) => {
                self.version = v;
                Ok(())
            }
            Err(e) => {
                let now = store::raw::get(&self.key).ok().flatten();
                if now.is_some_and(|d| d.version != self.version) {
                    Err(ToolError::store(format!(
                        "Operation {} was taken over by another call (resume_operation or \
                         rollback_operation); this call stopped without changing anything more. \
                         list_operations shows where it stands.",
                        self.j.id
                    ))
                    .with_detail("operationId", self.j.id.clone())
                    .with_detail("takenOver", true))
                } else {
                    Err(e)
                }
            }
        }
    }

    fn log(&mut self, step: Step, state: StepState, note: Option<String>) {
        self.j.steps.push(StepEntry {
            step: step.number(),
            state,
            at: now_ms(),
            note,
        });
    }

    /// Records that `step` starts (before any request of it).
    pub fn begin(&mut self, step: Step) -> Result<(), ToolError> {
        self.j.status = Status::Running;
        self.log(step, StepState::Started, None);
        self.save()
    }

    /// Records that `step` is done.
    pub fn done(&mut self, step: Step, note: &str) -> Result<(), ToolError> {
        self.log(step, StepState::Done, Some(note.to_string()));
        self.save()
    }

    /// Records that `step` failed (not saved: the caller saves after rollback).
    pub fn failed(&mut self, step: Step, e: &ToolError) {
        self.log(step, StepState::Failed, Some(e.message.clone()));
        self.j.failure = Some(Failure {
            step: step.number(),
            code: e.code.clone(),
            message: e.message.clone(),
        });
    }
}

/// Whether an error means another call took the operation over.
pub fn taken_over(e: &ToolError) -> bool {
    e.detail("takenOver").and_then(|v| v.as_bool()) == Some(true)
}

/// Every journal, newest first.
pub fn all() -> Result<Vec<Journal>, ToolError> {
    let mut out: Vec<Journal> = store::list::<Journal>(PREFIX, None, LIST_LIMIT)?
        .into_iter()
        .map(|d| d.value)
        .collect();
    out.sort_by_key(|j| std::cmp::Reverse(j.started_at));
    Ok(out)
}

/// Deletes the oldest finished journals beyond [`KEEP_FINISHED`]; best effort.
fn prune() {
    let Ok(docs) = store::list::<Journal>(PREFIX, None, LIST_LIMIT) else {
        return;
    };
    let mut finished: Vec<_> = docs
        .into_iter()
        .filter(|d| !d.value.status.unfinished())
        .collect();
    if finished.len() <= KEEP_FINISHED {
        return;
    }
    finished.sort_by_key(|d| d.value.started_at);
    let excess = finished.len() - KEEP_FINISHED;
    for d in finished.into_iter().take(excess) {
        let _ = store::delete(&d.key, Expect::Version(d.version));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn steps_are_numbered_in_order() {
        for (i, s) in Step::ALL.iter().enumerate() {
            assert_eq!(usize::from(s.number()), i + 1);
            assert_eq!(Step::from_number(s.number()), Some(*s));
        }
        assert_eq!(Step::from_number(0), None);
        assert_eq!(Step::from_number(9), None);
        assert_eq!(Step::TOTAL, 8);
    }

    #[test]
    fn unfinished_statuses() {
        for (s, want) in [
            (Status::Running, true),
            (Status::Paused, true),
            (Status::RollbackFailed, true),
            (Status::Completed, false),
            (Status::Failed, false),
            (Status::RolledBack, false),
        ] {
            assert_eq!(s.unfinished(), want, "{s:?}");
        }
    }
}
