//! Groups and Teams through the real router (`graph::route`), on a tenant in a temporary
//! directory.

use std::path::PathBuf;

use http::Method;
use serde_json::{Value, json};

use crate::app::App;
use crate::auth::Claims;
use crate::graph::{Query, batch, route};
use crate::tenant::Store;
use crate::web::{Ctx, ReplyBody};
use crate::{AppRegistration, Tuning};

const TENANT: &str = "11111111-2222-3333-4444-555555555555";

struct Tenant {
    app: App,
    dir: PathBuf,
    claims: Claims,
}

impl Drop for Tenant {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

struct Answer {
    status: u16,
    body: Value,
    headers: Vec<(String, String)>,
}

impl Answer {
    fn code(&self) -> &str {
        self.body["error"]["code"].as_str().unwrap_or_default()
    }
    fn message(&self) -> &str {
        self.body["error"]["message"].as_str().unwrap_or_default()
    }
    fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }
}

fn tenant_with(tuning: Tuning) -> Tenant {
    let dir = std::env::temp_dir().join(format!("m365-sandbox-teams-{}", uuid::Uuid::new_v4()));
    std::fs::create_dir_all(&dir).unwrap();
    let store = Store::open(&dir, true, TENANT).unwrap();
    let app = App::new(
        AppRegistration {
            tenant_id: TENANT.into(),
            client_id: "22222222-2222-2222-2222-222222222222".into(),
            client_secret: Some("secret".into()),
            certificate_pem: None,
            roles: AppRegistration::default_roles(),
        },
        None,
        url::Url::parse("https://127.0.0.1:9/").unwrap(),
        tuning,
        store,
    );
    Tenant {
        app,
        dir,
        claims: Claims {
            roles: AppRegistration::default_roles(),
        },
    }
}

fn tenant() -> Tenant {
    tenant_with(Tuning::default())
}

impl Tenant {
    fn call_as(&self, claims: &Claims, method: Method, path: &str, body: Option<Value>) -> Answer {
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

    fn call(&self, method: Method, path: &str, body: Option<Value>) -> Answer {
        self.call_as(&self.claims, method, path, body)
    }

    fn user(&self, nick: &str) -> String {
        let a = self.call(
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

    fn group(&self, nick: &str, owners: &[&str], members: &[&str]) -> String {
        let a = self.call(
            Method::POST,
            "/groups",
            Some(group_body(nick, owners, members)),
        );
        assert_eq!(a.status, 201, "{}", a.body);
        a.body["id"].as_str().unwrap().to_string()
    }

    /// A group with an owner and a provisioned team; returns (group id, owner id).
    fn team(&self, nick: &str) -> (String, String) {
        let owner = self.user(&format!("{nick}-owner"));
        let gid = self.group(nick, &[&owner], &[&owner]);
        let a = self.call(Method::POST, "/teams", Some(team_body(&gid)));
        assert_eq!(a.status, 202, "{}", a.body);
        let location = a.header("Location").unwrap().to_string();
        loop {
            let op = self.call(Method::GET, &location, None);
            assert_eq!(op.status, 200, "{}", op.body);
            if op.body["status"] == "succeeded" {
                break;
            }
        }
        (gid, owner)
    }
}

fn user_url(id: &str) -> String {
    format!("https://graph.microsoft.com/v1.0/users/{id}")
}

fn group_body(nick: &str, owners: &[&str], members: &[&str]) -> Value {
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

fn team_body(gid: &str) -> Value {
    json!({
        "template@odata.bind": "https://graph.microsoft.com/v1.0/teamsTemplates('standard')",
        "group@odata.bind": format!("https://graph.microsoft.com/v1.0/groups('{gid}')"),
        "memberSettings": {"allowCreateUpdateChannels": false},
        "funSettings": {"allowGiphy": true, "giphyContentRating": "Strict"}
    })
}

fn ids(v: &Value) -> Vec<String> {
    v["value"]
        .as_array()
        .unwrap()
        .iter()
        .map(|x| x["id"].as_str().unwrap().to_string())
        .collect()
}

#[test]
fn create_group_with_binds_and_validation() {
    let t = tenant();
    let alice = t.user("alice");
    let bob = t.user("bob");
    let a = t.call(
        Method::POST,
        "/groups",
        Some(group_body("project", &[&alice], &[&alice, &bob])),
    );
    assert_eq!(a.status, 201, "{}", a.body);
    assert_eq!(a.body["mail"], "project@libertygoldsilver.com");
    assert_eq!(a.body["groupTypes"], json!(["Unified"]));
    assert_eq!(a.body["resourceProvisioningOptions"], json!([]));
    assert_eq!(a.body["visibility"], "Private");
    assert!(a.body["createdDateTime"].as_str().unwrap().ends_with('Z'));
    assert!(
        a.body["@odata.context"]
            .as_str()
            .unwrap()
            .ends_with("$metadata#groups/$entity")
    );
    let gid = a.body["id"].as_str().unwrap();

    let owners = t.call(Method::GET, &format!("/groups/{gid}/owners"), None);
    assert_eq!(ids(&owners.body), vec![alice.clone()]);
    assert_eq!(
        owners.body["value"][0]["@odata.type"],
        "#microsoft.graph.user"
    );
    let members = t.call(
        Method::GET,
        &format!("/groups/{gid}/members?$select=id,displayName"),
        None,
    );
    assert_eq!(ids(&members.body), vec![alice.clone(), bob.clone()]);
    assert_eq!(members.body["value"][1]["displayName"], "bob");

    // PATCH binds more members (up to 20), refusing ones already there.
    let carol = t.user("carol");
    let a = t.call(
        Method::PATCH,
        &format!("/groups/{gid}"),
        Some(json!({"members@odata.bind": [user_url(&carol)], "description": "Changed"})),
    );
    assert_eq!(a.status, 204, "{}", a.body);
    let members = t.call(Method::GET, &format!("/groups/{gid}/members"), None);
    assert_eq!(
        ids(&members.body),
        vec![alice.clone(), bob.clone(), carol.clone()]
    );
    let a = t.call(
        Method::PATCH,
        &format!("/groups/{gid}"),
        Some(json!({"members@odata.bind": [user_url(&carol)]})),
    );
    assert_eq!(a.status, 400);
    let a = t.call(
        Method::PATCH,
        &format!("/groups/{gid}"),
        Some(json!({"groupTypes": []})),
    );
    assert_eq!(a.status, 400);
    assert_eq!(
        t.call(Method::GET, &format!("/groups/{gid}"), None).body["description"],
        "Changed"
    );

    // A user bound by the ('…') key form, and one that does not exist.
    let mut body = group_body("other", &[], &[]);
    body["owners@odata.bind"] = json!([
        format!("https://graph.microsoft.com/v1.0/users('{bob}')"),
        user_url("00000000-0000-0000-0000-00000000dead"),
    ]);
    let a = t.call(Method::POST, "/groups", Some(body));
    assert_eq!(a.status, 404);
    assert_eq!(a.code(), "Request_ResourceNotFound");
    assert!(a.message().contains("00000000-0000-0000-0000-00000000dead"));

    // At most 20 references per request.
    let many: Vec<String> = (0..21).map(|_| alice.clone()).collect();
    let mut body = group_body("many", &[], &[]);
    body["members@odata.bind"] = json!(many.iter().map(|m| user_url(m)).collect::<Vec<_>>());
    let a = t.call(Method::POST, "/groups", Some(body));
    assert_eq!((a.status, a.code()), (400, "Request_BadRequest"));

    // Required properties, alias rules, and what Graph can't create.
    let cases = [
        (
            json!({"displayName": "x", "mailEnabled": true, "securityEnabled": false, "groupTypes": ["Unified"]}),
            "Invalid value specified for property 'mailNickname' of resource 'Group'.",
        ),
        (
            json!({"displayName": "x", "mailNickname": "a.b", "mailEnabled": true, "securityEnabled": false, "groupTypes": ["Unified"]}),
            "Invalid value specified for property 'mailNickname' of resource 'Group'.",
        ),
        (
            json!({"displayName": "x", "mailNickname": "dl", "mailEnabled": true, "securityEnabled": false, "groupTypes": []}),
            "The service does not currently support writes of mail-enabled groups. Please ensure that the mail-enablement property is unset or is set to false.",
        ),
        (
            json!({"displayName": "x", "mailNickname": "x", "mailEnabled": true, "securityEnabled": false, "groupTypes": ["Unified"], "favourite": 1}),
            "Invalid property 'favourite'.",
        ),
    ];
    for (body, message) in cases {
        let a = t.call(Method::POST, "/groups", Some(body));
        assert_eq!((a.status, a.message()), (400, message));
    }

    // A security group has no mail address.
    let a = t.call(
        Method::POST,
        "/groups",
        Some(json!({"displayName": "Sec", "mailNickname": "sec", "mailEnabled": false, "securityEnabled": true})),
    );
    assert_eq!(a.status, 201, "{}", a.body);
    assert_eq!(a.body["mail"], Value::Null);
    assert_eq!(a.body["groupTypes"], json!([]));
}

#[test]
fn duplicate_nickname_is_refused_even_while_deleted() {
    let t = tenant();
    let gid = t.group("finance", &[], &[]);
    let a = t.call(
        Method::POST,
        "/groups",
        Some(group_body("FINANCE", &[], &[])),
    );
    assert_eq!(a.status, 400);
    assert_eq!(a.code(), "Request_BadRequest");
    assert_eq!(
        a.message(),
        "Another object with the same value for property mailNickname already exists."
    );
    // The alias stays reserved while the group is in the recycle bin.
    assert_eq!(
        t.call(Method::DELETE, &format!("/groups/{gid}"), None)
            .status,
        204
    );
    let a = t.call(
        Method::POST,
        "/groups",
        Some(group_body("finance", &[], &[])),
    );
    assert_eq!(a.status, 400);
    // A user's address is taken too.
    let a = t.call(Method::POST, "/groups", Some(group_body("admin", &[], &[])));
    assert_eq!(
        a.message(),
        "Another object with the same value for property proxyAddresses already exists."
    );
}

#[test]
fn list_groups_with_filters_select_and_paging() {
    let t = tenant();
    for n in ["alpha", "alpine", "beta"] {
        t.group(n, &[], &[]);
    }
    let a = t.call(
        Method::GET,
        "/groups?$filter=startswith(displayName,'Group al')&$select=id,displayName",
        None,
    );
    assert_eq!(a.status, 200, "{}", a.body);
    assert_eq!(a.body["value"].as_array().unwrap().len(), 2);
    assert!(a.body["value"][0].get("mail").is_none());
    let a = t.call(Method::GET, "/groups?$filter=mailNickname eq 'beta'", None);
    assert_eq!(a.body["value"][0]["mailNickname"], "beta");
    let a = t.call(Method::GET, "/groups?$top=2", None);
    let next = a.body["@odata.nextLink"].as_str().unwrap();
    assert!(next.contains("/v1.0/groups?$top=2&$skiptoken="), "{next}");
    let rest = next.split_once("/v1.0").unwrap().1;
    let b = t.call(Method::GET, rest, None);
    assert_eq!(b.body["value"].as_array().unwrap().len(), 1);
    assert!(b.body.get("@odata.nextLink").is_none());
    let a = t.call(
        Method::GET,
        "/groups?$filter=groupTypes/any(c:c eq 'Unified') and displayName eq 'Group beta'",
        None,
    );
    assert_eq!(a.body["value"].as_array().unwrap().len(), 1);
    let a = t.call(Method::GET, "/groups?$filter=jobTitle eq 'x'", None);
    assert_eq!((a.status, a.code()), (400, "Request_UnsupportedQuery"));
    let a = t.call(Method::GET, "/groups?$select=nope", None);
    assert_eq!(a.status, 400);
}

#[test]
fn team_creation_is_async_with_replication_misses_and_polling() {
    let t = tenant_with(Tuning {
        team_replication_misses: 2,
        team_provisioning_polls: 2,
        ..Tuning::default()
    });
    let owner = t.user("owner");
    let gid = t.group("launch", &[&owner], &[]);

    // Replication: the first two attempts answer 404 as Microsoft documents.
    for _ in 0..2 {
        let a = t.call(Method::POST, "/teams", Some(team_body(&gid)));
        assert_eq!((a.status, a.code()), (404, "NotFound"), "{}", a.body);
    }
    let a = t.call(Method::POST, "/teams", Some(team_body(&gid)));
    assert_eq!(a.status, 202, "{}", a.body);
    assert_eq!(a.body, Value::Null);
    let location = a.header("Location").unwrap().to_string();
    assert!(
        location.starts_with(&format!("/teams('{gid}')/operations('")),
        "{location}"
    );
    assert_eq!(
        a.header("Content-Location"),
        Some(format!("/teams('{gid}')").as_str())
    );

    // While provisioning: the team is 404 and a second create is a conflict.
    let a = t.call(Method::GET, &format!("/teams/{gid}"), None);
    assert_eq!((a.status, a.code()), (404, "NotFound"));
    assert_eq!(a.message(), format!("No team found with Group Id {gid}"));
    let a = t.call(Method::POST, "/teams", Some(team_body(&gid)));
    assert_eq!(a.status, 409);
    let listed = t.call(
        Method::GET,
        "/groups?$filter=resourceProvisioningOptions/Any(x:x eq 'Team')",
        None,
    );
    assert_eq!(listed.body["value"], json!([]));

    // The GET above counted as one poll; one more reports inProgress, the next succeeded.
    let op = t.call(Method::GET, &location, None);
    assert_eq!(op.status, 200, "{}", op.body);
    assert_eq!(op.body["status"], "inProgress");
    assert_eq!(op.body["operationType"], "createTeam");
    assert_eq!(op.body["targetResourceId"], gid.as_str());
    assert_eq!(op.body["error"], Value::Null);
    let op = t.call(Method::GET, &location, None);
    assert_eq!(op.body["status"], "succeeded");
    assert_eq!(op.body["attemptsCount"], 1);
    assert_eq!(
        op.body["targetResourceLocation"],
        format!("/teams('{gid}')")
    );

    let team = t.call(Method::GET, &format!("/teams/{gid}"), None);
    assert_eq!(team.status, 200, "{}", team.body);
    assert_eq!(team.body["displayName"], "Group launch");
    assert_eq!(team.body["visibility"], "private");
    assert_eq!(team.body["isArchived"], false);
    assert_eq!(
        team.body["memberSettings"]["allowCreateUpdateChannels"],
        false
    );
    assert_eq!(team.body["memberSettings"]["allowDeleteChannels"], true);
    assert_eq!(team.body["funSettings"]["giphyContentRating"], "strict");
    assert!(team.body["webUrl"].as_str().unwrap().contains(&gid));

    let listed = t.call(
        Method::GET,
        "/groups?$filter=resourceProvisioningOptions/Any(x:x eq 'Team')",
        None,
    );
    assert_eq!(ids(&listed.body), vec![gid.clone()]);
    assert_eq!(
        listed.body["value"][0]["resourceProvisioningOptions"],
        json!(["Team"])
    );
    let a = t.call(Method::POST, "/teams", Some(team_body(&gid)));
    assert_eq!((a.status, a.message()), (409, "Team already exists"));

    // Settings: PATCH answers 204.
    let a = t.call(
        Method::PATCH,
        &format!("/teams/{gid}"),
        Some(
            json!({"messagingSettings": {"allowUserDeleteMessages": false}, "description": "New"}),
        ),
    );
    assert_eq!(a.status, 204, "{}", a.body);
    let team = t.call(Method::GET, &format!("/teams/{gid}"), None);
    assert_eq!(
        team.body["messagingSettings"]["allowUserDeleteMessages"],
        false
    );
    assert_eq!(team.body["description"], "New");
    let a = t.call(
        Method::PATCH,
        &format!("/teams/{gid}"),
        Some(json!({"funSettings": {"allowGiphy": "yes"}})),
    );
    assert_eq!(a.status, 400);
    let a = t.call(Method::GET, "/teams/not-a-guid", None);
    assert_eq!(a.message(), "teamId needs to be a valid GUID.");
}

#[test]
fn team_creation_refusals() {
    let t = tenant();
    let owner = t.user("owner");
    let ownerless = t.group("ownerless", &[], &[owner.as_str()]);
    let a = t.call(Method::POST, "/teams", Some(team_body(&ownerless)));
    assert_eq!(a.status, 400, "{}", a.body);
    let gid = t.group("templated", &[&owner], &[]);
    let mut body = team_body(&gid);
    body["template@odata.bind"] = json!("https://graph.microsoft.com/v1.0/teamsTemplates('nope')");
    let a = t.call(Method::POST, "/teams", Some(body));
    assert_eq!(
        a.message(),
        "A template with id 'nope' and locale 'en-US' could not be found."
    );
    let mut body = team_body(&gid);
    body["displayName"] = json!("Not allowed with a group");
    assert_eq!(t.call(Method::POST, "/teams", Some(body)).status, 400);
    // The older PUT /groups/{id}/team answers 201 with the team at once.
    let a = t.call(
        Method::PUT,
        &format!("/groups/{gid}/team"),
        Some(json!({"memberSettings": {"allowCreateUpdateChannels": true}})),
    );
    assert_eq!(a.status, 201, "{}", a.body);
    assert_eq!(a.body["id"], gid.as_str());
    assert_eq!(
        t.call(Method::GET, &format!("/groups/{gid}/team"), None)
            .status,
        200
    );
    assert_eq!(
        t.call(Method::PUT, &format!("/groups/{gid}/team"), None)
            .status,
        409
    );
}

#[test]
fn standalone_team_creates_its_group() {
    let t = tenant_with(Tuning {
        team_provisioning_polls: 0,
        ..Tuning::default()
    });
    let owner = t.user("lead");
    let body = json!({
        "template@odata.bind": "https://graph.microsoft.com/v1.0/teamsTemplates('standard')",
        "displayName": "Sales Team",
        "description": "Sales",
        "members": [{
            "@odata.type": "#microsoft.graph.aadUserConversationMember",
            "roles": ["owner"],
            "user@odata.bind": format!("https://graph.microsoft.com/v1.0/users('{owner}')")
        }]
    });
    let a = t.call(Method::POST, "/teams", Some(body.clone()));
    assert_eq!(a.status, 202, "{}", a.body);
    let location = a.header("Location").unwrap().to_string();
    assert_eq!(
        t.call(Method::GET, &location, None).body["status"],
        "succeeded"
    );
    let gid = location.split('\'').nth(1).unwrap();
    let g = t.call(Method::GET, &format!("/groups/{gid}"), None);
    assert_eq!(g.body["mailNickname"], "SalesTeam");
    assert_eq!(g.body["visibility"], "Private");
    let mut no_owner = body;
    no_owner["members"][0]["roles"] = json!([]);
    assert_eq!(t.call(Method::POST, "/teams", Some(no_owner)).status, 400);
}

#[test]
fn channels_rules() {
    let t = tenant();
    let (gid, owner) = t.team("chan");
    let base = format!("/teams/{gid}/channels");
    let a = t.call(Method::GET, &base, None);
    assert_eq!(a.status, 200);
    assert_eq!(a.body["value"][0]["displayName"], "General");
    let general = a.body["value"][0]["id"].as_str().unwrap().to_string();

    let a = t.call(Method::POST, &base, Some(json!({"displayName": "Architecture", "description": "Plans", "membershipType": "standard"})));
    assert_eq!(a.status, 201, "{}", a.body);
    let id = a.body["id"].as_str().unwrap().to_string();
    assert!(
        id.starts_with("19:") && id.ends_with("@thread.tacv2"),
        "{id}"
    );
    assert_eq!(a.body["membershipType"], "standard");
    assert!(
        a.body["webUrl"]
            .as_str()
            .unwrap()
            .starts_with("https://teams.microsoft.com/l/channel/19%3A")
    );

    // Duplicate (case-insensitively), and General.
    for name in ["architecture", "General"] {
        let a = t.call(Method::POST, &base, Some(json!({"displayName": name})));
        assert_eq!(
            (a.status, a.message()),
            (400, "Channel name already existed, please use other name.")
        );
    }
    // Name rules.
    for name in [
        "a/b",
        "_hidden",
        "trailing.",
        "x".repeat(51).as_str(),
        "CON",
        "it's",
    ] {
        let a = t.call(Method::POST, &base, Some(json!({"displayName": name})));
        assert_eq!(a.status, 400, "{name}: {}", a.body);
    }
    // A private channel needs an owner among its members, who must be in the team.
    let a = t.call(
        Method::POST,
        &base,
        Some(json!({"displayName": "Secret", "membershipType": "private"})),
    );
    assert_eq!(a.status, 400);
    assert!(a.message().contains("owner"), "{}", a.message());
    let stranger = t.user("stranger");
    let member = |uid: &str| {
        json!({
            "@odata.type": "#microsoft.graph.aadUserConversationMember",
            "roles": ["owner"],
            "user@odata.bind": format!("https://graph.microsoft.com/v1.0/users('{uid}')")
        })
    };
    let a = t.call(Method::POST, &base, Some(json!({"displayName": "Secret", "membershipType": "private", "members": [member(&stranger)]})));
    assert_eq!(a.status, 400);
    let a = t.call(Method::POST, &base, Some(json!({"displayName": "Secret", "membershipType": "private", "members": [member(&owner)]})));
    assert_eq!(a.status, 201, "{}", a.body);
    assert_eq!(a.body["membershipType"], "private");
    let secret = a.body["id"].as_str().unwrap().to_string();
    let m = t.call(Method::GET, &format!("{base}/{secret}/members"), None);
    assert_eq!(m.body["value"][0]["userId"], owner.as_str());
    assert_eq!(m.body["value"][0]["roles"], json!(["owner"]));

    let a = t.call(
        Method::GET,
        &format!("{base}?$filter=membershipType eq 'private'"),
        None,
    );
    assert_eq!(ids(&a.body), vec![secret.clone()]);

    // PATCH and DELETE; General stays.
    let a = t.call(
        Method::PATCH,
        &format!("{base}/{id}"),
        Some(json!({"description": "Updated"})),
    );
    assert_eq!(a.status, 204);
    assert_eq!(
        t.call(Method::GET, &format!("{base}/{id}"), None).body["description"],
        "Updated"
    );
    assert_eq!(
        t.call(Method::DELETE, &format!("{base}/{general}"), None)
            .status,
        400
    );
    assert_eq!(
        t.call(Method::DELETE, &format!("{base}/{id}"), None).status,
        204
    );
    assert_eq!(
        t.call(Method::GET, &format!("{base}/{id}"), None).status,
        404
    );
    assert_eq!(
        t.call(Method::GET, &format!("/teams/{gid}/primaryChannel"), None)
            .body["id"],
        general.as_str()
    );
}

#[test]
fn soft_delete_removes_the_team_and_restore_brings_it_back() {
    let t = tenant();
    let (gid, _) = t.team("gone");
    assert_eq!(
        t.call(Method::DELETE, &format!("/groups/{gid}"), None)
            .status,
        204
    );
    assert_eq!(
        t.call(Method::GET, &format!("/groups/{gid}"), None).status,
        404
    );
    let a = t.call(Method::GET, &format!("/teams/{gid}"), None);
    assert_eq!((a.status, a.code()), (404, "NotFound"));
    assert_eq!(
        t.call(Method::GET, &format!("/teams/{gid}/channels"), None)
            .status,
        404
    );
    assert_eq!(t.call(Method::GET, "/teams", None).body["value"], json!([]));
    assert_eq!(
        t.call(Method::GET, "/groups", None).body["value"],
        json!([])
    );

    let deleted = t.call(
        Method::GET,
        "/directory/deletedItems/microsoft.graph.group",
        None,
    );
    assert_eq!(ids(&deleted.body), vec![gid.clone()]);
    assert!(deleted.body["value"][0]["deletedDateTime"].is_string());
    let one = t.call(Method::GET, &format!("/directory/deletedItems/{gid}"), None);
    assert_eq!(one.body["@odata.type"], "#microsoft.graph.group");
    assert_eq!(
        t.call(Method::GET, "/directory/deletedItems", None).status,
        400
    );

    let a = t.call(
        Method::POST,
        &format!("/directory/deletedItems/{gid}/restore"),
        None,
    );
    assert_eq!(a.status, 200, "{}", a.body);
    assert_eq!(a.body["id"], gid.as_str());
    assert_eq!(a.body["deletedDateTime"], Value::Null);
    assert_eq!(
        t.call(Method::GET, &format!("/groups/{gid}"), None).status,
        200
    );
    assert_eq!(
        t.call(Method::GET, &format!("/teams/{gid}"), None).status,
        200
    );

    // Deleted again, then permanently.
    t.call(Method::DELETE, &format!("/groups/{gid}"), None);
    assert_eq!(
        t.call(
            Method::DELETE,
            &format!("/directory/deletedItems/{gid}"),
            None
        )
        .status,
        204
    );
    let a = t.call(
        Method::POST,
        &format!("/directory/deletedItems/{gid}/restore"),
        None,
    );
    assert_eq!((a.status, a.code()), (404, "Request_ResourceNotFound"));
    // The alias is free again.
    t.group("gone", &[], &[]);
}

#[test]
fn team_and_group_membership_stay_in_step() {
    let t = tenant();
    let (gid, owner) = t.team("sync");
    let carol = t.user("carol");
    let dave = t.user("dave");

    // Team → group.
    let add = |uid: &str, roles: Value| {
        t.call(
            Method::POST,
            &format!("/teams/{gid}/members"),
            Some(json!({
                "@odata.type": "#microsoft.graph.aadUserConversationMember",
                "roles": roles,
                "user@odata.bind": format!("https://graph.microsoft.com/v1.0/users('{uid}')")
            })),
        )
    };
    let a = add(&carol, json!([]));
    assert_eq!(a.status, 201, "{}", a.body);
    assert_eq!(
        a.body["@odata.type"],
        "#microsoft.graph.aadUserConversationMember"
    );
    assert_eq!(a.body["userId"], carol.as_str());
    assert_eq!(a.body["email"], "carol@libertygoldsilver.com");
    assert_eq!(a.body["roles"], json!([]));
    let mid = a.body["id"].as_str().unwrap().to_string();
    let members = t.call(Method::GET, &format!("/groups/{gid}/members"), None);
    assert!(ids(&members.body).contains(&carol));
    // Adding again answers 201 with the same membership; roles ["owner"] promotes.
    let again = add(&carol, json!(["owner"]));
    assert_eq!(
        (again.status, again.body["id"].as_str()),
        (201, Some(mid.as_str()))
    );
    assert_eq!(again.body["roles"], json!(["owner"]));
    assert!(
        ids(&t
            .call(Method::GET, &format!("/groups/{gid}/owners"), None)
            .body)
        .contains(&carol)
    );
    assert_eq!(
        add("00000000-0000-0000-0000-000000000000", json!([])).status,
        404
    );

    // Group → team.
    let a = t.call(
        Method::POST,
        &format!("/groups/{gid}/members/$ref"),
        Some(json!({"@odata.id": format!("https://graph.microsoft.com/v1.0/directoryObjects/{dave}")})),
    );
    assert_eq!(a.status, 204, "{}", a.body);
    let team_members = t.call(Method::GET, &format!("/teams/{gid}/members"), None);
    let users: Vec<&str> = team_members.body["value"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["userId"].as_str().unwrap())
        .collect();
    assert_eq!(users, vec![owner.as_str(), carol.as_str(), dave.as_str()]);
    let a = t.call(
        Method::POST,
        &format!("/groups/{gid}/members/$ref"),
        Some(json!({"@odata.id": format!("https://graph.microsoft.com/v1.0/directoryObjects/{dave}")})),
    );
    assert_eq!(a.status, 400);
    assert_eq!(
        a.message(),
        "One or more added object references already exist for the following modified properties: 'members'."
    );

    // Removing from the group removes from the team, and the other way round.
    assert_eq!(
        t.call(
            Method::DELETE,
            &format!("/groups/{gid}/members/{dave}/$ref"),
            None
        )
        .status,
        204
    );
    assert_eq!(
        t.call(
            Method::DELETE,
            &format!("/groups/{gid}/members/{dave}/$ref"),
            None
        )
        .status,
        404
    );
    let team_members = t.call(Method::GET, &format!("/teams/{gid}/members"), None);
    assert_eq!(team_members.body["value"].as_array().unwrap().len(), 2);
    assert_eq!(
        t.call(Method::DELETE, &format!("/teams/{gid}/members/{mid}"), None)
            .status,
        204
    );
    let owners = t.call(Method::GET, &format!("/groups/{gid}/owners"), None);
    assert_eq!(ids(&owners.body), vec![owner.clone()]);
    assert!(
        !ids(&t
            .call(Method::GET, &format!("/groups/{gid}/members"), None)
            .body)
        .contains(&carol)
    );
}

#[test]
fn archive_and_unarchive_are_operations() {
    let t = tenant();
    let (gid, _) = t.team("arch");
    let a = t.call(
        Method::POST,
        &format!("/teams/{gid}/archive"),
        Some(json!({"shouldSetSpoSiteReadOnlyForMembers": true})),
    );
    assert_eq!(a.status, 202, "{}", a.body);
    let location = a.header("Location").unwrap().to_string();
    let op = t.call(Method::GET, &location, None);
    assert_eq!(
        (
            op.body["operationType"].as_str(),
            op.body["status"].as_str()
        ),
        (Some("archiveTeam"), Some("inProgress"))
    );
    assert_eq!(
        t.call(Method::GET, &location, None).body["status"],
        "succeeded"
    );
    assert_eq!(
        t.call(Method::GET, &format!("/teams/{gid}"), None).body["isArchived"],
        true
    );
    let a = t.call(
        Method::POST,
        &format!("/teams/{gid}/channels"),
        Some(json!({"displayName": "Late"})),
    );
    assert_eq!(a.status, 400);
    // Membership changes are still allowed on an archived team.
    let erin = t.user("erin");
    let a = t.call(
        Method::POST,
        &format!("/teams/{gid}/members"),
        Some(json!({
            "@odata.type": "#microsoft.graph.aadUserConversationMember",
            "roles": [],
            "user@odata.bind": format!("https://graph.microsoft.com/v1.0/users('{erin}')")
        })),
    );
    assert_eq!(a.status, 201);
    let a = t.call(Method::POST, &format!("/teams/{gid}/unarchive"), None);
    assert_eq!(a.status, 202);
    let location = a.header("Location").unwrap().to_string();
    assert_eq!(
        t.call(Method::GET, &location, None).body["operationType"],
        "unarchiveTeam"
    );
    t.call(Method::GET, &location, None);
    assert_eq!(
        t.call(Method::GET, &format!("/teams/{gid}"), None).body["isArchived"],
        false
    );
}

#[test]
fn group_guest_setting() {
    let t = tenant();
    let gid = t.group("guests", &[], &[]);
    let body = json!({
        "templateId": "08d542b9-071f-4e16-94b0-74abb372e3d9",
        "values": [{"name": "AllowToAddGuests", "value": "false"}]
    });
    let a = t.call(
        Method::POST,
        &format!("/groups/{gid}/settings"),
        Some(body.clone()),
    );
    assert_eq!(a.status, 201, "{}", a.body);
    assert_eq!(
        a.body["values"],
        json!([{"name": "AllowToAddGuests", "value": "false"}])
    );
    let sid = a.body["id"].as_str().unwrap().to_string();
    assert_eq!(
        t.call(Method::POST, &format!("/groups/{gid}/settings"), Some(body))
            .status,
        400
    );
    let a = t.call(
        Method::PATCH,
        &format!("/groups/{gid}/settings/{sid}"),
        Some(json!({"values": [{"name": "AllowToAddGuests", "value": "true"}]})),
    );
    assert_eq!(a.status, 204, "{}", a.body);
    let a = t.call(Method::GET, &format!("/groups/{gid}/settings"), None);
    assert_eq!(a.body["value"][0]["values"][0]["value"], "true");
    let a = t.call(
        Method::POST,
        &format!("/groups/{gid}/settings"),
        Some(json!({"templateId": "62375ab9-6b52-47ed-826b-58e47e0e304b", "values": []})),
    );
    assert_eq!(a.status, 400);
}

#[test]
fn roles_are_checked() {
    let t = tenant();
    let reader = Claims {
        roles: vec!["User.Read.All".into()],
    };
    let a = t.call_as(
        &reader,
        Method::POST,
        "/groups",
        Some(group_body("x", &[], &[])),
    );
    assert_eq!((a.status, a.code()), (403, "Authorization_RequestDenied"));
    let a = t.call_as(
        &reader,
        Method::POST,
        "/teams",
        Some(team_body("00000000-0000-0000-0000-000000000000")),
    );
    assert_eq!((a.status, a.code()), (403, "Forbidden"));
    assert!(a.message().contains("Team.Create"), "{}", a.message());

    // Team.Create alone may create a team and poll its operation, but not read groups.
    let owner = t.user("o");
    let gid = t.group("narrow", &[&owner], &[]);
    let creator = Claims {
        roles: vec!["Team.Create".into()],
    };
    let a = t.call_as(&creator, Method::POST, "/teams", Some(team_body(&gid)));
    assert_eq!(a.status, 202, "{}", a.body);
    let op = t.call_as(&creator, Method::GET, a.header("Location").unwrap(), None);
    assert_eq!(op.status, 200);
    assert_eq!(
        t.call_as(&creator, Method::GET, &format!("/groups/{gid}"), None)
            .status,
        403
    );
    let a = t.call_as(
        &creator,
        Method::POST,
        &format!("/teams/{gid}/channels"),
        Some(json!({"displayName": "x"})),
    );
    assert_eq!(a.status, 403);
}

#[test]
fn batch_runs_team_steps() {
    let t = tenant();
    let owner = t.user("batcher");
    let gid = t.group("batched", &[&owner], &[]);
    let body = json!({"requests": [
        {"id": "1", "method": "POST", "url": "/teams", "headers": {"Content-Type": "application/json"}, "body": team_body(&gid)},
        {"id": "2", "method": "GET", "url": format!("/groups('{gid}')"), "dependsOn": ["1"]}
    ]});
    let reply = batch::handle(
        &t.app,
        &t.claims,
        &serde_json::to_vec(&body).unwrap(),
        route,
    )
    .unwrap();
    let ReplyBody::Json(v) = reply.body else {
        panic!("json")
    };
    assert_eq!(v["responses"][0]["status"], 202);
    assert!(
        v["responses"][0]["headers"]["Location"]
            .as_str()
            .unwrap()
            .starts_with(&format!("/teams('{gid}')/operations('"))
    );
    assert_eq!(v["responses"][1]["status"], 200);
}

#[test]
fn state_persists_groups_and_teams() {
    let t = tenant();
    let (gid, _) = t.team("kept");
    let store = Store::open(&t.dir, false, TENANT).unwrap();
    store.read(|tenant| {
        let g = &tenant.groups[tenant.find_group(&gid).unwrap()];
        assert!(g.has_team());
        assert_eq!(g.team.as_ref().unwrap().channels[0].display_name, "General");
    });
    // A tenant.json written before groups existed still loads.
    let mut old = serde_json::to_value(crate::tenant::Tenant::seed(TENANT)).unwrap();
    old.as_object_mut().unwrap().remove("groups");
    old.as_object_mut().unwrap().remove("deletedGroups");
    let loaded: crate::tenant::Tenant = serde_json::from_value(old).unwrap();
    assert!(loaded.groups.is_empty() && loaded.deleted_groups.is_empty());
}
