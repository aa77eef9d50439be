//! The orchestration behind create_teams_group and resume_operation: runs
//! the steps in order from where the journal says, writing the journal
//! before and after each, and reports each step as MCP progress. A step
//! started in an earlier run (the server was killed, or a call was paused)
//! looks at what exists before it creates anything, so resuming never makes
//! a second group, team or channel. When a step fails, what was done is
//! undone in reverse order — everything after the group lives inside the
//! group, so deleting the group undoes them all — and the error says which
//! step failed, what was rolled back, and what, if anything, is left.

use crate::api::{self, OperationEnd, REPLICATION_RETRIES, REPLICATION_WAIT_MS};
use crate::journal::{self, CreatedChannel, Status, Step, Tracked, taken_over};
use crate::people::{self, Person};
use crate::plan::MembershipType;
use crate::str_field;
use m365_plugin_sdk::host::{info, now_ms, progress, sleep_ms};
use m365_plugin_sdk::{GraphError, ToolError, time};
use serde_json::{Value, json};

/// A group this operation finds by its alias counts as its own only if it
/// was created at most this long before the operation started (clock skew).
const ADOPT_SKEW_MS: u64 = 5 * 60 * 1000;

/// How a step ended badly.
enum StepError {
    /// Roll back and report.
    Failed(ToolError),
    /// Microsoft is still working; keep everything for resume_operation.
    Paused(ToolError),
}

impl From<ToolError> for StepError {
    fn from(e: ToolError) -> Self {
        StepError::Failed(e)
    }
}

impl From<GraphError> for StepError {
    fn from(e: GraphError) -> Self {
        StepError::Failed(e.into())
    }
}

type StepResult = Result<String, StepError>;

/// Runs the operation's remaining steps. `resuming`: this call took over an
/// operation an earlier call started.
pub fn run(t: &mut Tracked, resuming: bool) -> Result<Value, ToolError> {
    let began = now_ms();
    let first = t.j.last_done() + 1;
    if resuming && first > 1 {
        progress(
            u64::from(first - 1),
            Step::TOTAL,
            &format!(
                "Resuming {} after step {}/{}",
                t.j.id,
                first - 1,
                Step::TOTAL
            ),
        );
    }
    for step in Step::ALL.into_iter().filter(|s| s.number() >= first) {
        // Started in an earlier run: look before creating.
        let earlier = t.j.started(step);
        if let Err(e) = t.begin(step) {
            return Err(if taken_over(&e) { e } else { fail(t, step, e) });
        }
        match exec(t, step, earlier) {
            Ok(note) => {
                if let Err(e) = t.done(step, &note) {
                    return Err(if taken_over(&e) { e } else { fail(t, step, e) });
                }
                progress(
                    u64::from(step.number()),
                    Step::TOTAL,
                    &format!("Step {}/{}: {note}", step.number(), Step::TOTAL),
                );
            }
            Err(StepError::Paused(e)) => {
                t.j.status = Status::Paused;
                let _ = t.save();
                return Err(e
                    .with_detail("operationId", t.j.id.clone())
                    .with_detail("status", "paused"));
            }
            Err(StepError::Failed(e)) if taken_over(&e) => return Err(e),
            Err(StepError::Failed(e)) => return Err(fail(t, step, e)),
        }
    }
    t.j.status = Status::Completed;
    t.save()?;
    Ok(completed(t, now_ms().saturating_sub(began)))
}

fn exec(t: &mut Tracked, step: Step, earlier: bool) -> StepResult {
    match step {
        Step::Check => check(t),
        Step::Group => group(t, earlier),
        Step::Provisioning => provisioning(t),
        Step::Team => team(t, earlier),
        Step::Channels => channels(t, earlier),
        Step::Members => members(t),
        Step::GuestAccess => guest_access(t, earlier),
        Step::Settings => settings(t),
    }
}

fn group_id(t: &Tracked) -> Result<String, StepError> {
    t.j.group_id.clone().ok_or_else(|| {
        StepError::Failed(ToolError::plugin(
            "The journal has no group id although the group step is done; report this bug and \
             call rollback_operation.",
        ))
    })
}

/// Step 1: the name and alias are free; every owner and member exists.
fn check(t: &mut Tracked) -> StepResult {
    let p = t.j.plan.clone();
    if let Some(g) = api::groups_where("displayName", &p.display_name)?.first() {
        let what = if api::has_team(g) { "team" } else { "group" };
        return Err(ToolError::team_exists(format!(
            "A {what} named '{}' already exists (id {}); choose another name, or see it with \
             get_team.",
            p.display_name,
            str_field(g, "id").unwrap_or("?")
        ))
        .with_detail("existingId", str_field(g, "id").unwrap_or_default())
        .into());
    }
    if let Some(g) = api::groups_where("mailNickname", &p.mail_nickname)?.first() {
        return Err(ToolError::team_exists(format!(
            "The mail alias '{}' made from the name is already used by the group '{}' (id {}); \
             choose a different name.",
            p.mail_nickname,
            str_field(g, "displayName").unwrap_or("?"),
            str_field(g, "id").unwrap_or("?")
        ))
        .with_detail("existingId", str_field(g, "id").unwrap_or_default())
        .into());
    }
    let (owners, unknown_owners) = people::resolve(&p.owners)?;
    let (members, unknown_members) = people::resolve(&p.members)?;
    if !unknown_owners.is_empty() || !unknown_members.is_empty() {
        return Err(people::unknown_error(&unknown_owners, &unknown_members, "").into());
    }
    // Two addresses of one user (UPN and mail) count once; owner wins.
    let mut seen: Vec<String> = Vec::new();
    let mut keep = |p: &Person| {
        let new = !seen.contains(&p.id);
        seen.push(p.id.clone());
        new
    };
    t.j.owners = owners.into_iter().filter(|p| keep(p)).collect();
    t.j.members = members.into_iter().filter(|p| keep(p)).collect();
    Ok(format!(
        "'{}' is free; found {} owner(s) and {} member(s)",
        p.display_name,
        t.j.owners.len(),
        t.j.members.len()
    ))
}

/// The group this operation created, found by its alias, name and age
/// (after a crash or a lost response left its id unrecorded); never a group
/// another operation's journal claims.
fn adopt(t: &Tracked) -> Result<Option<String>, ToolError> {
    let p = &t.j.plan;
    let since = t.j.started_at.saturating_sub(ADOPT_SKEW_MS);
    let candidates: Vec<String> = api::groups_where("mailNickname", &p.mail_nickname)?
        .iter()
        .filter(|g| {
            str_field(g, "displayName") == Some(p.display_name.as_str())
                && str_field(g, "createdDateTime")
                    .and_then(time::parse)
                    .and_then(|c| u64::try_from(c).ok())
                    .is_none_or(|c| c >= since)
        })
        .filter_map(|g| str_field(g, "id").map(str::to_string))
        .collect();
    if candidates.is_empty() {
        return Ok(None);
    }
    let claimed: Vec<String> = journal::all()?
        .into_iter()
        .filter(|j| j.id != t.j.id)
        .filter_map(|j| j.group_id)
        .collect();
    Ok(candidates.into_iter().find(|c| !claimed.contains(c)))
}

fn already_exists(e: &GraphError) -> bool {
    e.status == 409 || (e.status == 400 && e.message.to_ascii_lowercase().contains("already exist"))
}

/// Step 2: the Microsoft 365 group, owners and members bound.
fn group(t: &mut Tracked, earlier: bool) -> StepResult {
    if let Some(gid) = t.j.group_id.clone() {
        return match api::get_group(&gid) {
            Ok(_) => Ok(format!("group {gid} was created before the interruption")),
            Err(e) if e.is_not_found() => Err(e
                .to_tool_error_with(format!(
                    "The group {gid} this operation created is gone (deleted by someone?)."
                ))
                .into()),
            Err(e) => Err(e.into()),
        };
    }
    if earlier && let Some(gid) = adopt(t)? {
        t.j.group_id = Some(gid.clone());
        return Ok(format!(
            "found group {gid}, created before the interruption"
        ));
    }
    let p = t.j.plan.clone();
    let (owner_refs, member_refs) = {
        let (o, m) = p.bindings(&t.j.owners, &t.j.members);
        let refs = |list: Vec<&Person>| -> Vec<String> {
            list.iter().map(|x| api::user_ref(&x.id)).collect()
        };
        (refs(o), refs(m))
    };
    let mut body = json!({
        "displayName": p.display_name,
        "mailNickname": p.mail_nickname,
        "mailEnabled": true,
        "securityEnabled": false,
        "groupTypes": ["Unified"],
        "visibility": p.visibility.as_str(),
        "owners@odata.bind": owner_refs,
        "members@odata.bind": member_refs,
    });
    if let Some(d) = &p.description {
        body["description"] = json!(d);
    }
    let gid = match api::create_group(&body) {
        Ok(g) => str_field(&g, "id").map(str::to_string).ok_or_else(|| {
            ToolError::graph(
                "Microsoft Graph created the group but returned no id; list_operations and \
                 rollback_operation can clean it up.",
            )
        })?,
        // A retried request can meet the group the first attempt created.
        Err(e) if already_exists(&e) => match adopt(t)? {
            Some(gid) => gid,
            None => {
                return Err(e
                    .to_tool_error_with(format!(
                        "Another object already uses the alias '{}' or name '{}' (a group \
                         deleted in the last 30 days keeps its alias); choose a different name.",
                        p.mail_nickname, p.display_name
                    ))
                    .with_code(m365_plugin_sdk::codes::TEAM_001)
                    .into());
            }
        },
        Err(e) => return Err(e.into()),
    };
    t.j.group_id = Some(gid.clone());
    Ok(format!(
        "created group '{}' (id {gid}, alias {}) with {} owner(s) and {} member(s)",
        p.display_name,
        p.mail_nickname,
        owner_refs.len(),
        member_refs.len()
    ))
}

/// Step 3: the group is readable and has its owners (a team needs one).
fn provisioning(t: &mut Tracked) -> StepResult {
    let gid = group_id(t)?;
    for attempt in 0..=REPLICATION_RETRIES {
        if attempt > 0 {
            info(&format!(
                "group {gid} not replicated yet; checking again in {} s",
                REPLICATION_WAIT_MS / 1000
            ));
            sleep_ms(REPLICATION_WAIT_MS);
        }
        match api::group_owners(&gid) {
            Ok(o) if !o.is_empty() => {
                return Ok(format!("group provisioned with {} owner(s)", o.len()));
            }
            Ok(_) => {}
            Err(e) if e.is_not_found() => {}
            Err(e) => return Err(e.into()),
        }
    }
    Ok(format!(
        "group not fully replicated after {} s; creating the team retries",
        u64::from(REPLICATION_RETRIES) * u64::from(REPLICATION_WAIT_MS) / 1000
    ))
}

/// Step 4: the team, from the group: `202` and a teamsAsyncOperation to
/// poll; a 404 (the group has not replicated to Teams yet) is retried as
/// Microsoft advises.
fn team(t: &mut Tracked, earlier: bool) -> StepResult {
    let gid = group_id(t)?;
    if earlier {
        match api::get_team(&gid) {
            Ok(_) => return Ok(format!("team {gid} exists")),
            Err(e) if e.is_not_found() => {}
            Err(e) => return Err(e.into()),
        }
    }
    let mut misses = 0;
    let path = match t.j.team_operation.clone() {
        Some(p) => p,
        None => {
            let resp = loop {
                match api::create_team_from_group(&gid) {
                    Ok(r) => break r,
                    Err(e) if e.status == 409 => {
                        return Ok(format!("team {gid} already existed"));
                    }
                    Err(e) if e.is_not_found() && misses < REPLICATION_RETRIES => {
                        misses += 1;
                        info(&format!(
                            "POST /teams answered 404 (replication); retry {misses} of \
                             {REPLICATION_RETRIES} in {} s",
                            REPLICATION_WAIT_MS / 1000
                        ));
                        sleep_ms(REPLICATION_WAIT_MS);
                    }
                    Err(e) if e.is_not_found() => {
                        return Err(e
                            .to_tool_error_with(format!(
                                "Microsoft Teams still could not find the group after {} \
                                 retries {} s apart (replication); try again in a few minutes.",
                                REPLICATION_RETRIES,
                                REPLICATION_WAIT_MS / 1000
                            ))
                            .into());
                    }
                    Err(e) => return Err(e.into()),
                }
            };
            if resp.status == 201 {
                return Ok(format!("team {gid} created"));
            }
            match resp.header("location").and_then(api::operation_path) {
                Some(p) => {
                    t.j.team_operation = Some(p.clone());
                    t.save()?;
                    p
                }
                None => {
                    return match api::get_team(&gid) {
                        Ok(_) => Ok(format!("team {gid} created")),
                        Err(e) => Err(e
                            .to_tool_error_with(
                                "Microsoft Graph accepted the team but gave no operation to \
                                 follow and the team is not readable yet.",
                            )
                            .into()),
                    };
                }
            }
        }
    };
    let retried = if misses > 0 {
        format!(
            " after {misses} replication retr{}",
            if misses == 1 { "y" } else { "ies" }
        )
    } else {
        String::new()
    };
    match api::wait_for_operation(&path, "creating the team")? {
        OperationEnd::Succeeded => Ok(format!("team {gid} created{retried}")),
        OperationEnd::StillRunning { waited_s } => {
            Err(StepError::Paused(ToolError::graph(format!(
                "Microsoft Teams is still creating the team after {waited_s} s (this can take \
                 longer for a new group). Operation {} is kept: call resume_operation later to \
                 finish it, or rollback_operation to undo it.",
                t.j.id
            ))))
        }
    }
}

/// Step 5: the channels; private and shared ones get the first owner as
/// channel owner (application permissions require one).
fn channels(t: &mut Tracked, earlier: bool) -> StepResult {
    let gid = group_id(t)?;
    let plan = t.j.plan.channels.clone();
    if plan.is_empty() {
        return Ok("no channels besides General".into());
    }
    let owner = t.j.owners.first().map(|o| o.id.clone()).unwrap_or_default();
    let existing = if earlier || !t.j.channels.is_empty() {
        api::list_channels(&gid)?
    } else {
        Vec::new()
    };
    let find = |list: &[Value], name: &str| -> Option<CreatedChannel> {
        list.iter()
            .find(|c| str_field(c, "displayName").is_some_and(|n| n.eq_ignore_ascii_case(name)))
            .map(|c| CreatedChannel {
                display_name: name.to_string(),
                id: str_field(c, "id").unwrap_or_default().to_string(),
                membership_type: str_field(c, "membershipType")
                    .unwrap_or("standard")
                    .to_string(),
            })
    };
    let (mut created, mut found) = (0, 0);
    for c in &plan {
        if t.j
            .channels
            .iter()
            .any(|x| x.display_name.eq_ignore_ascii_case(&c.display_name))
        {
            continue;
        }
        if let Some(x) = find(&existing, &c.display_name) {
            t.j.channels.push(x);
            t.save()?;
            found += 1;
            continue;
        }
        let mut body = json!({
            "displayName": c.display_name,
            "membershipType": c.membership_type.as_str(),
        });
        if let Some(d) = &c.description {
            body["description"] = json!(d);
        }
        if c.membership_type != MembershipType::Standard {
            body["members"] = json!([api::conversation_member(&owner, true)]);
        }
        let record = match api::create_channel(&gid, &body) {
            Ok(ch) => CreatedChannel {
                display_name: c.display_name.clone(),
                id: str_field(&ch, "id").unwrap_or_default().to_string(),
                membership_type: c.membership_type.as_str().to_string(),
            },
            Err(e) if already_exists(&e) => {
                match find(&api::list_channels(&gid)?, &c.display_name) {
                    Some(x) => x,
                    None => return Err(channel_error(&c.display_name, e).into()),
                }
            }
            Err(e) => return Err(channel_error(&c.display_name, e).into()),
        };
        t.j.channels.push(record);
        t.save()?;
        created += 1;
    }
    let names: Vec<String> =
        t.j.channels
            .iter()
            .map(|c| format!("{} ({})", c.display_name, c.membership_type))
            .collect();
    Ok(format!(
        "{created} channel(s) created{}: {}",
        if found > 0 {
            format!(", {found} already there")
        } else {
            String::new()
        },
        names.join(", ")
    ))
}

fn channel_error(name: &str, e: GraphError) -> ToolError {
    ToolError::from(e).with_prefix(&format!("Creating channel '{name}':"))
}

/// Step 6: everyone not yet in the team (those beyond the 20 bound at
/// creation, or lost to replication) is added; owners get the owner role.
fn members(t: &mut Tracked) -> StepResult {
    let gid = group_id(t)?;
    let existing = api::list_members(&gid)?;
    let (mut added, mut promoted) = (0, 0);
    let wanted: Vec<(Person, bool)> =
        t.j.owners
            .iter()
            .map(|p| (p.clone(), true))
            .chain(t.j.members.iter().map(|p| (p.clone(), false)))
            .collect();
    for (p, owner) in &wanted {
        match existing.iter().find(|m| m.user_id == p.id) {
            Some(m) if *owner && !m.owner => {
                api::make_owner(&gid, &m.membership_id).map_err(|e| {
                    ToolError::from(e).with_prefix(&format!("Making {} an owner:", p.email))
                })?;
                promoted += 1;
            }
            Some(_) => {}
            None => {
                api::add_member(&gid, &p.id, *owner)
                    .map_err(|e| ToolError::from(e).with_prefix(&format!("Adding {}:", p.email)))?;
                added += 1;
            }
        }
    }
    Ok(format!(
        "all {} owner(s) and member(s) are in the team ({added} added, {promoted} made owner)",
        wanted.len()
    ))
}

/// Step 7: the group's guest setting (Group.Unified.Guest AllowToAddGuests).
fn guest_access(t: &mut Tracked, earlier: bool) -> StepResult {
    let gid = group_id(t)?;
    let allow = t.j.plan.enable_guest_access;
    let note = if allow {
        "guests may be added".to_string()
    } else {
        "guests may not be added".to_string()
    };
    let update = |gid: &str| -> Result<bool, GraphError> {
        match api::guest_setting(gid)? {
            Some((_, Some(cur))) if cur == allow => Ok(true),
            Some((sid, _)) => api::update_guest_setting(gid, &sid, allow).map(|_| true),
            None => Ok(false),
        }
    };
    if earlier && update(&gid)? {
        return Ok(note);
    }
    match api::create_guest_setting(&gid, allow) {
        Ok(()) => Ok(note),
        Err(e) if already_exists(&e) => {
            if update(&gid)? {
                Ok(note)
            } else {
                Err(e.into())
            }
        }
        Err(e) => Err(e.into()),
    }
}

/// Step 8: team settings (guests never manage channels; the rest as given).
fn settings(t: &mut Tracked) -> StepResult {
    let gid = group_id(t)?;
    let body = t.j.plan.team_patch();
    api::patch_team(&gid, &body)?;
    let groups: Vec<&str> = body
        .as_object()
        .map(|o| o.keys().map(String::as_str).collect())
        .unwrap_or_default();
    Ok(format!("team settings applied ({})", groups.join(", ")))
}

/// What a rollback did.
pub enum Undone {
    /// Nothing had been created.
    Nothing,
    /// The group (and everything in it) is gone; the sentence says what.
    Deleted(String),
    /// Deleting failed; (what is left, why).
    Left(String, String),
}

/// What the group holds by now, for messages.
fn group_contents(t: &Tracked) -> String {
    let mut parts = Vec::new();
    if t.j.last_done() >= Step::Team.number() || t.j.team_operation.is_some() {
        parts.push("its team".to_string());
    }
    if !t.j.channels.is_empty() {
        parts.push(format!("{} channel(s)", t.j.channels.len()));
    }
    parts.push("its members and SharePoint site".to_string());
    parts.join(", ")
}

/// Undoes the operation: deletes the group it created (which removes the
/// team, channels, membership and site) and removes it from Deleted groups
/// so its alias is free again. Updates the journal's status and lists but
/// does not save it.
pub fn roll_back(t: &mut Tracked) -> Undone {
    let gid = match t.j.group_id.clone() {
        Some(g) => Some(g),
        None if t.j.started(Step::Group) => match adopt(t) {
            Ok(g) => g,
            Err(e) => {
                let what = format!(
                    "possibly a group '{}' (alias {}) created by this operation",
                    t.j.plan.display_name, t.j.plan.mail_nickname
                );
                t.j.left_behind = vec![what.clone()];
                t.j.status = Status::RollbackFailed;
                return Undone::Left(what, format!("could not look for it: {}", e.message));
            }
        },
        None => None,
    };
    let Some(gid) = gid else {
        return Undone::Nothing;
    };
    let what = format!(
        "the group '{}' (id {gid}) with {}",
        t.j.plan.display_name,
        group_contents(t)
    );
    match delete_group(&gid) {
        Ok(how) => {
            let done = format!("{what} ({how})");
            t.j.group_id = Some(gid);
            t.j.rolled_back.push(done.clone());
            t.j.left_behind.clear();
            t.j.status = Status::RolledBack;
            Undone::Deleted(done)
        }
        Err(e) => {
            t.j.group_id = Some(gid);
            t.j.left_behind = vec![what.clone()];
            t.j.status = Status::RollbackFailed;
            let why = format!(
                "DELETE answered {} {}{}",
                e.status,
                e.code,
                e.request_id
                    .as_deref()
                    .map(|r| format!(", request-id {r}"))
                    .unwrap_or_default()
            );
            Undone::Left(what, why)
        }
    }
}

/// Deletes a group and purges it from Deleted groups; how it went.
fn delete_group(gid: &str) -> Result<&'static str, GraphError> {
    match api::delete_group(gid) {
        Ok(()) => {}
        Err(e) if e.is_not_found() => {
            return match api::get_group(gid) {
                Err(g) if g.is_not_found() => Ok("it was already gone"),
                Ok(_) => Err(e),
                Err(g) => Err(g),
            };
        }
        Err(e) => return Err(e),
    }
    Ok(match api::purge_deleted_group(gid) {
        Ok(()) => "deleted permanently",
        Err(_) => "deleted; restorable from Deleted groups for 30 days",
    })
}

/// Records a failed step, rolls back, and builds the error the caller sees.
fn fail(t: &mut Tracked, step: Step, cause: ToolError) -> ToolError {
    t.failed(step, &cause);
    let undone = roll_back(t);
    if matches!(undone, Undone::Nothing) {
        t.j.status = Status::Failed;
    }
    let _ = t.save();
    let head = format!(
        "Step {}/{} ({}) of creating team '{}' failed: {}",
        step.number(),
        Step::TOTAL,
        step.title(),
        t.j.plan.display_name,
        cause.message.trim()
    );
    let tail = match &undone {
        Undone::Nothing => {
            "Nothing had been created, so nothing is left behind. Fix the cause and call \
             create_teams_group again."
                .to_string()
        }
        Undone::Deleted(what) => format!(
            "Rolled back: deleted {what}; nothing is left in the tenant. Fix the cause and \
             call create_teams_group again."
        ),
        Undone::Left(what, why) => format!(
            "Rolling back failed ({why}), so this is left behind: {what}. Call \
             rollback_operation with operationId {} to try again, or delete the group in the \
             Microsoft 365 admin center.",
            t.j.id
        ),
    };
    let mut e = cause;
    e.message = format!("{head} {tail}");
    e.with_detail("operationId", t.j.id.clone())
        .with_detail(
            "failedStep",
            json!({"number": step.number(), "name": step.name(), "title": step.title()}),
        )
        .with_detail("rolledBack", json!(t.j.rolled_back))
        .with_detail("leftBehind", json!(t.j.left_behind))
}

/// The result of a completed operation.
fn completed(t: &Tracked, took_ms: u64) -> Value {
    let j = &t.j;
    let notes: Vec<String> = j
        .steps
        .iter()
        .filter(|s| s.state == crate::journal::StepState::Done)
        .map(|s| {
            format!(
                "{}/{}: {}",
                s.step,
                Step::TOTAL,
                s.note.as_deref().unwrap_or("")
            )
        })
        .collect();
    json!({
        "operationId": j.id,
        "status": j.status,
        "teamId": j.group_id,
        "groupId": j.group_id,
        "displayName": j.plan.display_name,
        "mailNickname": j.plan.mail_nickname,
        "visibility": j.plan.visibility.as_str(),
        "owners": j.owners.iter().map(|p| p.email.as_str()).collect::<Vec<_>>(),
        "members": j.members.iter().map(|p| p.email.as_str()).collect::<Vec<_>>(),
        "channels": j.channels,
        "guestAccess": j.plan.enable_guest_access,
        "steps": notes,
        "startedAt": time::rfc3339(j.started_at as i64),
        "secondsThisCall": took_ms / 1000,
    })
}
