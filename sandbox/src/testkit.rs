//! A tenant in a temporary directory for unit tests, reached through the real routers
//! (`graph::route`, `exchange::handle`) with real tokens, and the fixtures the tests build on
//! it (users, mailboxes, groups, teams, mail).

use std::path::PathBuf;
use std::time::Duration;

use http::{HeaderMap, HeaderValue, Method};
use serde_json::{Value, json};

use crate::app::App;
use crate::auth::{Claims, OUTLOOK_AUDIENCE, mint};
use crate::config::{AppRegistration, Tuning};
use crate::graph::route;
use crate::tenant::{Store, Tenant};
use crate::web::Query;
use crate::web::{Ctx, Reply, ReplyBody};

pub(crate) const TENANT: &str = "0e1d2c3b-4a59-4867-9a8b-7c6d5e4f3a21";
/// O365_BUSINESS_PREMIUM (10 seats in the seed).
pub(crate) const SKU: &str = "f245ecc8-75af-4f8e-b61f-27d8114de5b3";

pub(crate) struct Kit {
    pub app: App,
    pub dir: PathBuf,
    pub claims: Claims,
}

impl Drop for Kit {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

#[derive(Debug)]
pub(crate) struct Answer {
    pub status: u16,
    pub body: Value,
    pub headers: Vec<(String, String)>,
}

impl Answer {
    pub fn from(reply: Reply) -> Self {
        Answer {
            status: reply.status.as_u16(),
            body: match reply.body {
                ReplyBody::Json(v) => v,
                ReplyBody::Empty => Value::Null,
                ReplyBody::Raw(s) => Value::String(s),
            },
            headers: reply.headers,
        }
    }

    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    /// Exchange's `details[0].message`.
    pub fn detail(&self) -> &str {
        self.body["error"]["details"][0]["message"]
            .as_str()
            .unwrap_or_default()
    }

    pub fn code(&self) -> &str {
        self.body["error"]["code"].as_str().unwrap_or_default()
    }

    pub fn message(&self) -> &str {
        self.body["error"]["message"].as_str().unwrap_or_default()
    }

    pub fn value(&self) -> &Vec<Value> {
        self.body["value"].as_array().expect("a value array")
    }

    pub fn warnings(&self) -> Vec<String> {
        self.body["@adminapi.warnings"]
            .as_array()
            .map(|w| {
                w.iter()
                    .filter_map(Value::as_str)
                    .map(String::from)
                    .collect()
            })
            .unwrap_or_default()
    }
}

/// A tenant whose app has `roles`, with no provisioning delays.
pub(crate) fn kit_with(roles: Vec<String>) -> Kit {
    kit_tuned(
        roles,
        Tuning {
            mailbox_provisioning_delay: Duration::ZERO,
            team_provisioning_polls: 0,
            ..Tuning::default()
        },
    )
}

/// A tenant whose app has `roles`, with `tuning`.
pub(crate) fn kit_tuned(roles: Vec<String>, tuning: Tuning) -> Kit {
    let dir = std::env::temp_dir().join(format!("m365-sandbox-kit-{}", uuid::Uuid::new_v4()));
    std::fs::create_dir_all(&dir).unwrap();
    let store = Store::open(&dir, true, TENANT, Tenant::bare).unwrap();
    let app = App::new(
        AppRegistration {
            tenant_id: TENANT.into(),
            client_id: "22222222-2222-2222-2222-222222222222".into(),
            client_secret: Some("secret".into()),
            certificate_pem: None,
            roles: roles.clone(),
        },
        None,
        url::Url::parse("https://127.0.0.1:9/").unwrap(),
        tuning,
        store,
    );
    Kit {
        app,
        dir,
        claims: Claims { roles },
    }
}

/// The tenant the Groups and Teams scenarios run on: the default roles and the default
/// tuning (a 3 s mailbox delay, one `inProgress` poll per operation).
pub(crate) fn tenant() -> Kit {
    tenant_with(Tuning::default())
}

pub(crate) fn tenant_with(tuning: Tuning) -> Kit {
    kit_tuned(AppRegistration::default_roles(), tuning)
}

pub(crate) fn kit() -> Kit {
    kit_with(AppRegistration::default_roles())
}

impl Kit {
    pub fn token(&self, audience: &str) -> String {
        mint(
            &self.app,
            audience,
            "1",
            time::OffsetDateTime::now_utc(),
            3600,
        )
    }

    pub fn graph(&self, method: Method, path: &str, body: Option<Value>) -> Answer {
        self.graph_as(&self.claims, method, path, body)
    }

    pub fn graph_as(
        &self,
        claims: &Claims,
        method: Method,
        path: &str,
        body: Option<Value>,
    ) -> Answer {
        let (p, q) = match path.split_once('?') {
            Some((p, q)) => (p, Some(q)),
            None => (path, None),
        };
        let segs = crate::web::path::decode_path(p).unwrap();
        let ctx = Ctx::new(None);
        let bytes = body
            .map(|b| serde_json::to_vec(&b).unwrap())
            .unwrap_or_default();
        let reply = route(
            &self.app,
            &ctx,
            claims,
            &method,
            &segs,
            &Query::parse(q),
            &bytes,
        )
        .unwrap_or_else(|e| e.into_reply(&ctx));
        Answer::from(reply)
    }

    /// A raw call of `/adminapi/{rest}` with the given token.
    pub fn exchange_raw(
        &self,
        method: Method,
        rest: &str,
        token: Option<&str>,
        headers: &[(&str, &str)],
        body: &[u8],
    ) -> Answer {
        let (p, q) = match rest.split_once('?') {
            Some((p, q)) => (p, Some(q)),
            None => (rest, None),
        };
        let segs = crate::web::path::decode_path(p).unwrap();
        let mut h = HeaderMap::new();
        if let Some(t) = token {
            h.insert(
                http::header::AUTHORIZATION,
                HeaderValue::from_str(&format!("Bearer {t}")).unwrap(),
            );
        }
        for (k, v) in headers {
            h.append(
                http::HeaderName::from_bytes(k.as_bytes()).unwrap(),
                HeaderValue::from_str(v).unwrap(),
            );
        }
        let ctx = Ctx::new(None);
        Answer::from(crate::exchange::handle(
            &self.app, &ctx, &method, &segs, q, &h, body,
        ))
    }

    /// Runs a cmdlet through InvokeCommand with an Exchange token.
    pub fn exo(&self, cmdlet: &str, parameters: Value) -> Answer {
        let token = self.token(OUTLOOK_AUDIENCE);
        let body = json!({"CmdletInput": {"CmdletName": cmdlet, "Parameters": parameters}});
        self.exchange_raw(
            Method::POST,
            &format!("/beta/{TENANT}/InvokeCommand"),
            Some(&token),
            &[],
            &serde_json::to_vec(&body).unwrap(),
        )
    }

    /// Runs a cmdlet that must succeed; returns its output.
    pub fn ok(&self, cmdlet: &str, parameters: Value) -> Vec<Value> {
        let a = self.exo(cmdlet, parameters);
        assert_eq!(a.status, 200, "{cmdlet}: {}", a.body);
        a.value().clone()
    }

    /// A licensed user whose mailbox is provisioned; returns (id, upn).
    pub fn mailbox_user(&self, nick: &str) -> (String, String) {
        let upn = format!("{nick}@libertygoldsilver.com");
        let a = self.graph(
            Method::POST,
            "/users",
            Some(json!({
                "accountEnabled": true,
                "displayName": format!("User {nick}"),
                "mailNickname": nick,
                "userPrincipalName": upn,
                "usageLocation": "US",
                "passwordProfile": {"password": "Str0ng!pass"}
            })),
        );
        assert_eq!(a.status, 201, "{}", a.body);
        let id = a.body["id"].as_str().unwrap().to_string();
        let a = self.graph(
            Method::POST,
            &format!("/users/{id}/assignLicense"),
            Some(
                json!({"addLicenses": [{"skuId": SKU, "disabledPlans": []}], "removeLicenses": []}),
            ),
        );
        assert_eq!(a.status, 200, "{}", a.body);
        std::thread::sleep(Duration::from_millis(5));
        (id, upn)
    }

    /// A Microsoft 365 group with a provisioned team; returns (group id, General channel id).
    pub fn team(&self, nick: &str) -> (String, String) {
        let owner = self.mailbox_user(&format!("{nick}-owner")).0;
        let a = self.graph(
            Method::POST,
            "/groups",
            Some(json!({
                "displayName": format!("Group {nick}"),
                "mailNickname": nick,
                "groupTypes": ["Unified"],
                "mailEnabled": true,
                "securityEnabled": false,
                "visibility": "Private",
                "owners@odata.bind": [format!("https://graph.microsoft.com/v1.0/users/{owner}")],
            })),
        );
        assert_eq!(a.status, 201, "{}", a.body);
        let gid = a.body["id"].as_str().unwrap().to_string();
        let a = self.graph(
            Method::POST,
            "/teams",
            Some(json!({
                "template@odata.bind": "https://graph.microsoft.com/v1.0/teamsTemplates('standard')",
                "group@odata.bind": format!("https://graph.microsoft.com/v1.0/groups('{gid}')"),
            })),
        );
        assert_eq!(a.status, 202, "{}", a.body);
        let location = a.header("Location").unwrap().to_string();
        for _ in 0..10 {
            let op = self.graph(Method::GET, &location, None);
            if op.body["status"] == "succeeded" {
                break;
            }
        }
        let a = self.graph(Method::GET, &format!("/teams/{gid}/primaryChannel"), None);
        assert_eq!(a.status, 200, "{}", a.body);
        (gid, a.body["id"].as_str().unwrap().to_string())
    }

    /// Sends mail as `from` through Graph's sendMail.
    pub fn send(&self, from: &str, to: &[&str], subject: &str) {
        let recipients: Vec<Value> = to
            .iter()
            .map(|a| json!({"emailAddress": {"address": a}}))
            .collect();
        let a = self.graph(
            Method::POST,
            &format!("/users/{from}/sendMail"),
            Some(json!({"message": {
                "subject": subject,
                "body": {"contentType": "Text", "content": "Hello"},
                "toRecipients": recipients,
            }})),
        );
        assert_eq!(a.status, 202, "{}", a.body);
    }

    /// A user without a license; returns its id.
    pub fn user(&self, nick: &str) -> String {
        let a = self.graph(
            Method::POST,
            "/users",
            Some(json!({
                "accountEnabled": true,
                "displayName": nick,
                "mailNickname": nick,
                "userPrincipalName": format!("{nick}@libertygoldsilver.com"),
                "passwordProfile": {"password": "Str0ng!pass"}
            })),
        );
        assert_eq!(a.status, 201, "{}", a.body);
        a.body["id"].as_str().unwrap().to_string()
    }

    /// A Microsoft 365 group (see [`group_body`]); returns its id.
    pub fn group(&self, nick: &str, owners: &[&str], members: &[&str]) -> String {
        let a = self.graph(
            Method::POST,
            "/groups",
            Some(group_body(nick, owners, members)),
        );
        assert_eq!(a.status, 201, "{}", a.body);
        a.body["id"].as_str().unwrap().to_string()
    }

    /// A group with an owner (also a member) and a team, polled until provisioned; returns
    /// (group id, owner id).
    pub fn group_team(&self, nick: &str) -> (String, String) {
        let owner = self.user(&format!("{nick}-owner"));
        let gid = self.group(nick, &[&owner], &[&owner]);
        let a = self.graph(Method::POST, "/teams", Some(team_body(&gid)));
        assert_eq!(a.status, 202, "{}", a.body);
        let location = a.header("Location").unwrap().to_string();
        loop {
            let op = self.graph(Method::GET, &location, None);
            assert_eq!(op.status, 200, "{}", op.body);
            if op.body["status"] == "succeeded" {
                break;
            }
        }
        (gid, owner)
    }
}

pub(crate) fn user_url(id: &str) -> String {
    format!("https://graph.microsoft.com/v1.0/users/{id}")
}

/// A private Microsoft 365 group binding `owners` (by users URL) and `members` (by
/// directoryObjects URL).
pub(crate) fn group_body(nick: &str, owners: &[&str], members: &[&str]) -> Value {
    let mut body = json!({
        "displayName": format!("Group {nick}"),
        "mailNickname": nick,
        "description": "A test group",
        "groupTypes": ["Unified"],
        "mailEnabled": true,
        "securityEnabled": false,
        "visibility": "Private",
    });
    if !owners.is_empty() {
        body["owners@odata.bind"] = json!(owners.iter().map(|o| user_url(o)).collect::<Vec<_>>());
    }
    if !members.is_empty() {
        body["members@odata.bind"] = json!(
            members
                .iter()
                .map(|m| format!("https://graph.microsoft.com/v1.0/directoryObjects/{m}"))
                .collect::<Vec<_>>()
        );
    }
    body
}

/// `POST /teams` from group `gid`, with some settings.
pub(crate) fn team_body(gid: &str) -> Value {
    json!({
        "template@odata.bind": "https://graph.microsoft.com/v1.0/teamsTemplates('standard')",
        "group@odata.bind": format!("https://graph.microsoft.com/v1.0/groups('{gid}')"),
        "memberSettings": {"allowCreateUpdateChannels": false},
        "funSettings": {"allowGiphy": true, "giphyContentRating": "Strict"}
    })
}

/// The ids in a collection's `value`.
pub(crate) fn ids(v: &Value) -> Vec<String> {
    v["value"]
        .as_array()
        .unwrap()
        .iter()
        .map(|x| x["id"].as_str().unwrap().to_string())
        .collect()
}

/// The seeded admin, who has a mailbox.
pub(crate) const ADMIN: &str = "admin@libertygoldsilver.com";

/// `InvokeCommand` below `/adminapi`, for [`Kit::exchange_raw`].
pub(crate) fn invoke_path() -> String {
    format!("/beta/{TENANT}/InvokeCommand")
}

/// An `InvokeCommand` body.
pub(crate) fn invoke_body(cmdlet: &str, parameters: Value) -> Vec<u8> {
    serde_json::to_vec(&json!({"CmdletInput": {"CmdletName": cmdlet, "Parameters": parameters}}))
        .unwrap()
}

/// Asserts a cmdlet failure in Exchange's shape.
pub(crate) fn assert_exo_error(a: &Answer, status: u16, code: &str, detail_has: &str) {
    assert_eq!(a.status, status, "{}", a.body);
    assert_eq!(a.code(), code, "{}", a.body);
    assert_eq!(a.message(), "Error executing cmdlet", "{}", a.body);
    assert_eq!(a.body["error"]["details"][0]["code"], "Client");
    assert!(a.detail().contains(detail_has), "{}", a.detail());
}
