//! The users plugin: create_user, configure_mailbox, get_user, list_users,
//! delete_user,
//! and the `m365://users/{userEmail}` resource.

mod create;
mod delete;
mod exchange;
mod mailbox;
mod password;
mod read;

use m365_plugin_sdk::graph::Graph;
use m365_plugin_sdk::licenses;
use m365_plugin_sdk::text::{encode_path_segment, percent_decode};
use m365_plugin_sdk::{
    Annotations, GraphError, Plugin, ResourceContents, ResourceTemplate, Tool, ToolError,
};
use serde_json::Value;

pub struct UsersPlugin;

const USER_RESOURCE_PREFIX: &str = "m365://users/";

impl Plugin for UsersPlugin {
    const NAME: &'static str = "users";
    const VERSION: &'static str = env!("CARGO_PKG_VERSION");

    fn tools() -> Vec<Tool> {
        vec![
            Tool::new(
                "create_user",
                "Create a Microsoft 365 user with a license and wait for the mailbox. Checks \
                 password policy, free license seats and UPN before creating; rolls back if \
                 licensing fails.",
                create::create_user,
            )
            .title("Create user")
            .secret("password"),
            Tool::new(
                "configure_mailbox",
                "Configure a user's mailbox: read-receipt response, delivery-report read status, \
                 mailbox forwarding (Exchange), automatic replies, forwarding inbox rules, time \
                 zone, language. Waits for a new mailbox; returns before/after.",
                mailbox::configure_mailbox,
            )
            .title("Configure mailbox"),
            Tool::new(
                "get_user",
                "Get one user's account details and licenses.",
                read::get_user,
            )
            .title("Get user")
            .annotations(Annotations::query()),
            Tool::new(
                "list_users",
                "List users, optionally by department or display-name prefix; paged.",
                read::list_users,
            )
            .title("List users")
            .annotations(Annotations::query()),
            Tool::new(
                "delete_user",
                "Delete a user (restorable for 30 days from Deleted users). Destructive: the \
                 administrator confirms a plan first.",
                delete::delete_user,
            )
            .title("Delete user")
            .annotations(Annotations::default().destructive().idempotent())
            .plan(delete::plan_delete_user),
        ]
    }

    fn resource_templates() -> Vec<ResourceTemplate> {
        vec![ResourceTemplate {
            uri_template: "m365://users/{userEmail}".into(),
            name: "user".into(),
            description: "A user's account details and licenses (as get_user).".into(),
            mime_type: "application/json".into(),
        }]
    }

    fn read_resource(uri: &str) -> Result<ResourceContents, ToolError> {
        let user = uri
            .strip_prefix(USER_RESOURCE_PREFIX)
            .and_then(percent_decode)
            .filter(|u| !u.is_empty() && !u.contains('/'))
            .ok_or_else(|| {
                ToolError::input(
                    Some("uri"),
                    format!(
                        "{uri} is not a user resource; use m365://users/{{userEmail}}, e.g. \
                         m365://users/ann@contoso.com."
                    ),
                )
            })?;
        let value = read::user_details(&user)?;
        Ok(ResourceContents::json(uri, &value))
    }
}

m365_plugin_sdk::export_plugin!(UsersPlugin);

/// The Graph client.
pub(crate) fn graph() -> Graph {
    Graph::new()
}

/// `/users/{id or UPN}` with the segment encoded.
pub(crate) fn user_path(user: &str) -> String {
    format!("/users/{}", encode_path_segment(user))
}

/// The error for a user that does not exist.
pub(crate) fn no_such_user(user: &str, e: &GraphError) -> ToolError {
    e.to_tool_error_with(format!(
        "No user {user} in the tenant; check the address or use list_users."
    ))
}

/// `GET /users/{user}?$select=...`, with a clear error when there is no such user.
pub(crate) fn fetch_user(user: &str, select: &str) -> Result<Value, ToolError> {
    graph()
        .get(&user_path(user), &[("$select", select)])
        .map_err(|e| {
            if e.is_not_found() {
                no_such_user(user, &e)
            } else {
                e.into()
            }
        })
}

/// A string field of a Graph object.
pub(crate) fn str_field<'a>(v: &'a Value, key: &str) -> Option<&'a str> {
    v.get(key).and_then(Value::as_str)
}
