//! The control API for tests, under `/_sandbox/` (no auth, never under `/v1.0`): the request
//! log, fault injection, SKU seats, the app's directory roles, tuning, a view of the tenant state (Exchange's included),
//! the outbox, and channel email addresses as the Teams client provisions them. The add-in
//! manifest catalogue is `addins.rs`; `client.rs` is the typed client of both.

use std::sync::{Mutex, MutexGuard};
use std::time::Duration;

use http::{Method, StatusCode};
use serde::Deserialize;
use serde_json::{Value, json};

use crate::app::App;
use crate::faults::Fault;
use crate::tenant::{MailboxState, Tenant};
use crate::web::router::{Lookup, Params, Route, Verb, find};
use crate::web::time::rfc3339;
use crate::web::{GraphError, Reply};

fn error(status: StatusCode, message: impl Into<String>) -> Reply {
    Reply::json(status, json!({"error": message.into()}))
}

fn parse<T: for<'de> Deserialize<'de>>(body: &[u8]) -> Result<T, Reply> {
    serde_json::from_slice(body)
        .map_err(|e| error(StatusCode::BAD_REQUEST, format!("invalid body: {e}")))
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct ChannelRef {
    team_id: String,
    channel_id: String,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Seats {
    enabled: u32,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct AppRoles {
    /// Role template ids or display names.
    roles: Vec<String>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct TuningPatch {
    mailbox_provisioning_delay_ms: Option<u64>,
    token_lifetime_secs: Option<u64>,
    latency_ms: Option<u64>,
    team_replication_misses: Option<u32>,
    team_provisioning_polls: Option<u32>,
}

/// What a route's handler is given.
struct Req<'a> {
    app: &'a App,
    body: &'a [u8],
    params: Params<'a>,
    /// The cmdlets the Exchange face emulates, which `GET state` lists.
    exchange_cmdlets: &'a [&'a str],
}

type Handler = fn(&Req) -> Result<Reply, Reply>;

const fn get(path: &'static str, h: Handler) -> Route<(), Handler> {
    Route::new(Verb::Get, path, (), h)
}
const fn post(path: &'static str, h: Handler) -> Route<(), Handler> {
    Route::new(Verb::Post, path, (), h)
}
const fn put(path: &'static str, h: Handler) -> Route<(), Handler> {
    Route::new(Verb::Put, path, (), h)
}
const fn patch(path: &'static str, h: Handler) -> Route<(), Handler> {
    Route::new(Verb::Patch, path, (), h)
}
const fn delete(path: &'static str, h: Handler) -> Route<(), Handler> {
    Route::new(Verb::Delete, path, (), h)
}

/// The control API's routes (below `/_sandbox`).
static ROUTES: &[Route<(), Handler>] = &[
    get("requests", |r| Ok(Reply::ok(json!(*lock(&r.app.requests))))),
    delete("requests", |r| {
        lock(&r.app.requests).clear();
        Ok(Reply::no_content())
    }),
    get("faults", |r| Ok(Reply::ok(json!(r.app.faults.list())))),
    post("faults", add_fault),
    delete("faults", |r| {
        r.app.faults.clear();
        Ok(Reply::no_content())
    }),
    put("skus/{part}", |r| {
        let seats = parse::<Seats>(r.body)?;
        set_seats(r.app, r.params.get("part"), seats.enabled)
    }),
    // What an admin does in Entra (Roles and administrators) to the app's service principal.
    put("appRoles", |r| {
        let roles = parse::<AppRoles>(r.body)?.roles;
        r.app
            .store
            .mutate(|t| {
                t.set_app_roles(&roles)
                    .map_err(|unknown| GraphError::not_found(&unknown))
            })
            .map(|()| Reply::no_content())
            .map_err(|e| error(StatusCode::BAD_REQUEST, e.message))
    }),
    get("tuning", |r| Ok(tuning_reply(r.app))),
    patch("tuning", set_tuning),
    get("state", |r| Ok(state_reply(r.app, r.exchange_cmdlets))),
    get("outbox", |r| {
        Ok(Reply::ok(Value::Array(lock(&r.app.outbox).clone())))
    }),
    delete("outbox", |r| {
        lock(&r.app.outbox).clear();
        Ok(Reply::no_content())
    }),
    // What the Teams client's "Get email address" does (Graph's provisionEmail is
    // delegated-only).
    post("channelEmail", |r| {
        let c = parse::<ChannelRef>(r.body)?;
        r.app
            .store
            .mutate(|t| t.provision_channel_email(&c.team_id, &c.channel_id))
            .map(|email| Reply::ok(json!({"email": email})))
            .map_err(|e| error(e.status, e.message))
    }),
    delete("channelEmail", |r| {
        let c = parse::<ChannelRef>(r.body)?;
        r.app
            .store
            .mutate(|t| t.remove_channel_email(&c.team_id, &c.channel_id))
            .map(|()| Reply::no_content())
            .map_err(|e| error(e.status, e.message))
    }),
];

/// Entry for `/_sandbox/…` (the segments after `_sandbox`).
pub(crate) fn handle(
    app: &App,
    method: &Method,
    segs: &[String],
    body: &[u8],
    exchange_cmdlets: &[&str],
) -> Reply {
    let segs: Vec<&str> = segs.iter().map(String::as_str).collect();
    let result = match find(ROUTES, method, &segs) {
        Lookup::Route(route, params) => (route.handler)(&Req {
            app,
            body,
            params,
            exchange_cmdlets,
        }),
        Lookup::MethodNotAllowed => {
            Err(error(StatusCode::METHOD_NOT_ALLOWED, "method not allowed"))
        }
        Lookup::NotFound { .. } => Err(error(StatusCode::NOT_FOUND, "no such control endpoint")),
    };
    result.unwrap_or_else(|e| e)
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

fn add_fault(r: &Req) -> Result<Reply, Reply> {
    let fault = parse::<Fault>(r.body)?;
    let echo = json!(fault);
    r.app
        .faults
        .add(fault)
        .map(|()| Reply::json(StatusCode::CREATED, echo))
        .map_err(|e| error(StatusCode::BAD_REQUEST, e))
}

fn set_tuning(r: &Req) -> Result<Reply, Reply> {
    let p = parse::<TuningPatch>(r.body)?;
    {
        let mut t = lock(&r.app.tuning);
        if let Some(ms) = p.mailbox_provisioning_delay_ms {
            t.mailbox_provisioning_delay = Duration::from_millis(ms);
        }
        if let Some(s) = p.token_lifetime_secs {
            t.token_lifetime = Duration::from_secs(s);
        }
        if let Some(ms) = p.latency_ms {
            t.latency = Duration::from_millis(ms);
        }
        if let Some(n) = p.team_replication_misses {
            t.team_replication_misses = n;
        }
        if let Some(n) = p.team_provisioning_polls {
            t.team_provisioning_polls = n;
        }
    }
    Ok(tuning_reply(r.app))
}

fn set_seats(app: &App, part: &str, enabled: u32) -> Result<Reply, Reply> {
    app.store
        .mutate(|t| {
            let sku = t
                .skus
                .iter_mut()
                .find(|s| s.sku_part_number.eq_ignore_ascii_case(part))
                .ok_or_else(|| GraphError::not_found(part))?;
            sku.enabled = enabled;
            let sku_id = sku.sku_id.clone();
            Ok(json!({
                "skuPartNumber": part.to_ascii_uppercase(),
                "skuId": sku_id,
                "enabled": enabled,
                "consumedUnits": t.consumed(&sku_id),
            }))
        })
        .map(Reply::ok)
        .map_err(|e| error(e.status, e.message))
}

fn tuning_reply(app: &App) -> Reply {
    let t = app.tuning();
    Reply::ok(json!({
        "mailboxProvisioningDelayMs": u64::try_from(t.mailbox_provisioning_delay.as_millis()).unwrap_or(u64::MAX),
        "tokenLifetimeSecs": t.token_lifetime.as_secs(),
        "latencyMs": u64::try_from(t.latency.as_millis()).unwrap_or(u64::MAX),
        "teamReplicationMisses": t.team_replication_misses,
        "teamProvisioningPolls": t.team_provisioning_polls,
    }))
}

/// The persisted tenant (groups and deleted groups included), plus each user's mailbox state,
/// each SKU's consumed seats and a summary of the teams with their channels.
fn state_reply(app: &App, exchange_cmdlets: &[&str]) -> Reply {
    let now = time::OffsetDateTime::now_utc();
    app.store.read(|t| {
        let mut v = serde_json::to_value(t).unwrap_or(Value::Null);
        if let Some(users) = v["users"].as_array_mut() {
            for (u, json) in t.users.iter().zip(users.iter_mut()) {
                let state = match t.mailbox_state(u, now) {
                    MailboxState::None => "none",
                    MailboxState::Provisioning => "provisioning",
                    MailboxState::Ready => "ready",
                };
                json["mailboxState"] = json!(state);
            }
        }
        if let Some(skus) = v["skus"].as_array_mut() {
            for (s, json) in t.skus.iter().zip(skus.iter_mut()) {
                json["consumedUnits"] = json!(t.consumed(&s.sku_id));
            }
        }
        v["teams"] = teams_view(t);
        v["exchangeCmdlets"] = json!(exchange_cmdlets);
        v["addins"] = json!(
            app.addins
                .names()
                .iter()
                .map(|(name, e)| json!({
                    "name": name,
                    "url": app.addin_url(name),
                    "contentType": e.content_type,
                }))
                .collect::<Vec<_>>()
        );
        v["now"] = json!(rfc3339(now));
        Reply::ok(v)
    })
}

/// For `/_sandbox/state`: the teams of groups that are not deleted, with their channels and
/// members.
fn teams_view(t: &Tenant) -> Value {
    let teams: Vec<Value> = t
        .groups
        .iter()
        .filter_map(|g| g.team.as_ref().map(|team| (g, team)))
        .map(|(g, team)| {
            json!({
                "id": g.id,
                "displayName": g.display_name(),
                "provisioned": team.provisioned,
                "isArchived": team.is_archived,
                "owners": g.owners,
                "members": t.people(g),
                "channels": team.channels.iter().map(|c| json!({
                    "id": c.id,
                    "displayName": c.display_name,
                    "membershipType": c.membership_type,
                    "members": c.members.iter().map(|m| &m.user_id).collect::<Vec<_>>(),
                })).collect::<Vec<_>>(),
                "operations": team.operations.iter().map(|o| json!({
                    "id": o.id,
                    "operationType": o.operation_type,
                    "status": o.status,
                })).collect::<Vec<_>>(),
            })
        })
        .collect();
    Value::Array(teams)
}
