//! The tools around the journal: create_teams_group (starts an operation),
//! list_operations, resume_operation, rollback_operation, and the
//! `m365://teams/operations` resource listing unfinished operations.

use crate::engine::{self, Undone};
use crate::journal::{self, Status, Step, Tracked};
use crate::plan::CreateTeamsGroupArgs;
use m365_plugin_sdk::{ToolError, time};
use schemars::JsonSchema;
use serde::Deserialize;
use serde_json::{Value, json};

pub fn create_teams_group(args: CreateTeamsGroupArgs) -> Result<Value, ToolError> {
    let plan = args.validate()?;
    if args.dry_run == Some(true) {
        return Ok(plan.dry_run());
    }
    let mut t = Tracked::create(plan)?;
    engine::run(&mut t, false)
}

/// What the administrator approves when the member list makes the call bulk.
pub fn plan_create_teams_group(args: CreateTeamsGroupArgs) -> Result<String, ToolError> {
    let p = args.validate()?;
    let channels: Vec<String> = p
        .channels
        .iter()
        .map(|c| format!("{} ({})", c.display_name, c.membership_type.as_str()))
        .collect();
    Ok(format!(
        "{}Create the {} team '{}' (alias {}) with {} owner(s) ({}) and {} member(s) ({}); \
         channels: {}; guests {}.",
        if args.dry_run == Some(true) {
            "Dry run, nothing is created: "
        } else {
            ""
        },
        p.visibility.as_str(),
        p.display_name,
        p.mail_nickname,
        p.owners.len(),
        p.owners.join(", "),
        p.members.len(),
        p.members.join(", "),
        if channels.is_empty() {
            "General only".to_string()
        } else {
            channels.join(", ")
        },
        if p.enable_guest_access {
            "allowed"
        } else {
            "not allowed"
        }
    ))
}

#[derive(Debug, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ListOperationsArgs {
    /// Include finished operations (the 50 newest are kept).
    pub all: Option<bool>,
}

#[derive(Debug, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct OperationArgs {
    /// From list_operations or an error's details, e.g. op-3fa2c1d9e0b4.
    #[schemars(length(min = 1, max = 64))]
    pub operation_id: String,
}

/// Unfinished operations (or all), newest first, as summaries.
pub fn operations(all: bool) -> Result<Vec<Value>, ToolError> {
    Ok(journal::all()?
        .iter()
        .filter(|j| all || j.status.unfinished())
        .map(|j| j.summary())
        .collect())
}

pub fn list_operations(args: ListOperationsArgs) -> Result<Value, ToolError> {
    let ops = operations(args.all.unwrap_or(false))?;
    let unfinished = ops
        .iter()
        .filter(|o| {
            serde_json::from_value::<Status>(o["status"].clone()).is_ok_and(Status::unfinished)
        })
        .count();
    Ok(json!({
        "operations": ops,
        "unfinished": unfinished,
        "hint": if unfinished > 0 {
            "resume_operation finishes one from its last completed step; rollback_operation deletes what it created."
        } else {
            "No unfinished operations."
        },
    }))
}

/// The `m365://teams/operations` resource.
pub fn operations_resource() -> Result<Value, ToolError> {
    let ops = operations(false)?;
    Ok(json!({ "unfinishedOperations": ops, "count": ops.len() }))
}

pub fn resume_operation(args: OperationArgs) -> Result<Value, ToolError> {
    let mut t = Tracked::load(&args.operation_id)?;
    match t.j.status {
        Status::Running | Status::Paused => {}
        Status::Completed => {
            return Ok(json!({
                "operationId": t.j.id,
                "status": t.j.status,
                "teamId": t.j.group_id,
                "note": "Already completed; nothing to resume.",
            }));
        }
        Status::RolledBack | Status::Failed => {
            return Err(ToolError::input(
                Some("operationId"),
                format!(
                    "Operation {} ended ({:?}) and left nothing to finish; call \
                     create_teams_group again.",
                    t.j.id, t.j.status
                ),
            ));
        }
        Status::RollbackFailed => {
            return Err(ToolError::input(
                Some("operationId"),
                format!(
                    "Operation {} failed and undoing it failed too; call rollback_operation to \
                     finish undoing it.",
                    t.j.id
                ),
            ));
        }
    }
    // Taking it over: a call still driving it stops at its next journal write.
    t.j.status = Status::Running;
    t.j.failure = None;
    t.save()?;
    engine::run(&mut t, true)
}

fn rollback_target(t: &Tracked) -> String {
    match &t.j.group_id {
        Some(g) => format!(
            "Permanently delete the Microsoft 365 group '{}' (id {g}) and with it its team, \
             channels, membership and SharePoint site",
            t.j.plan.display_name
        ),
        None => format!(
            "Look for a group '{}' (alias {}) this operation may have created, delete it if \
             found",
            t.j.plan.display_name, t.j.plan.mail_nickname
        ),
    }
}

/// What the administrator approves before rollback_operation runs.
pub fn plan_rollback_operation(args: OperationArgs) -> Result<String, ToolError> {
    let t = Tracked::load(&args.operation_id)?;
    if !t.j.status.unfinished() {
        return Ok(format!(
            "Nothing to do: operation {} is {:?}.",
            t.j.id, t.j.status
        ));
    }
    let at = Step::from_number(t.j.last_done())
        .map(|s| format!("after step {}/{} ({})", s.number(), Step::TOTAL, s.title()))
        .unwrap_or_else(|| "before its first step finished".into());
    Ok(format!(
        "{}, created by operation {} (started {}, stopped {at}), and close the operation. This \
         cannot be undone.",
        rollback_target(&t),
        t.j.id,
        time::rfc3339(t.j.started_at as i64)
    ))
}

pub fn rollback_operation(args: OperationArgs) -> Result<Value, ToolError> {
    let mut t = Tracked::load(&args.operation_id)?;
    match t.j.status {
        Status::Running | Status::Paused | Status::RollbackFailed => {}
        Status::Completed => {
            return Err(ToolError::input(
                Some("operationId"),
                format!(
                    "Operation {} completed: the team {} is in use, so it is not rolled back. \
                     To retire it use archive_team, or delete the group in the Microsoft 365 \
                     admin center.",
                    t.j.id,
                    t.j.group_id.as_deref().unwrap_or("?")
                ),
            ));
        }
        Status::RolledBack | Status::Failed => {
            return Ok(json!({
                "operationId": t.j.id,
                "status": t.j.status,
                "rolledBack": t.j.rolled_back,
                "leftBehind": t.j.left_behind,
                "note": "Already closed; nothing to roll back.",
            }));
        }
    }
    // Take it over before deleting anything.
    t.save()?;
    let undone = engine::roll_back(&mut t);
    if matches!(undone, Undone::Nothing) {
        t.j.status = Status::RolledBack;
    }
    t.save()?;
    match undone {
        Undone::Left(what, why) => Err(ToolError::graph(format!(
            "Rolling back operation {} failed ({why}); still left: {what}. Try rollback_operation \
             again later, or delete the group in the Microsoft 365 admin center.",
            t.j.id
        ))
        .with_detail("operationId", t.j.id.clone())
        .with_detail("leftBehind", json!(t.j.left_behind))),
        Undone::Deleted(what) => Ok(json!({
            "operationId": t.j.id,
            "status": t.j.status,
            "rolledBack": t.j.rolled_back,
            "leftBehind": [],
            "message": format!("Deleted {what}. Nothing of operation {} is left in the tenant.", t.j.id),
        })),
        Undone::Nothing => Ok(json!({
            "operationId": t.j.id,
            "status": t.j.status,
            "rolledBack": [],
            "leftBehind": [],
            "message": format!("Operation {} had created nothing; it is closed.", t.j.id),
        })),
    }
}
