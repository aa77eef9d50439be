//! create_teams_group's arguments, their validation into a [`Plan`] (every
//! check that needs no request: names, aliases, addresses, channel names),
//! and the dry run: the Graph requests the plan would make.

use crate::api::{MAX_BINDINGS, REPLICATION_RETRIES, REPLICATION_WAIT_MS};
use crate::journal::Step;
use m365_plugin_sdk::ToolError;
use m365_plugin_sdk::text::is_valid_email;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema, Default)]
pub enum Visibility {
    #[default]
    Private,
    Public,
}

impl Visibility {
    pub fn as_str(self) -> &'static str {
        match self {
            Visibility::Private => "Private",
            Visibility::Public => "Public",
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema, Default)]
#[serde(rename_all = "camelCase")]
pub enum MembershipType {
    #[default]
    Standard,
    Private,
    Shared,
}

impl MembershipType {
    pub fn as_str(self) -> &'static str {
        match self {
            MembershipType::Standard => "standard",
            MembershipType::Private => "private",
            MembershipType::Shared => "shared",
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ChannelSpec {
    #[schemars(length(min = 1, max = 50))]
    pub display_name: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(length(max = 1024))]
    pub description: Option<String>,
    /// standard (default), private or shared; private/shared get the first owner as channel owner.
    pub membership_type: Option<MembershipType>,
}

/// Team settings; omitted ones keep Teams' defaults.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct TeamSettings {
    /// Members may create and edit channels.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub allow_create_update_channels: Option<bool>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub allow_delete_channels: Option<bool>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub allow_add_remove_apps: Option<bool>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub allow_user_edit_messages: Option<bool>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub allow_user_delete_messages: Option<bool>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub allow_giphy: Option<bool>,
}

#[derive(Debug, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct CreateTeamsGroupArgs {
    /// Team and group name; must not be taken.
    #[schemars(length(min = 1, max = 256))]
    pub display_name: String,
    #[schemars(length(max = 1024))]
    pub description: Option<String>,
    /// Default Private.
    pub visibility: Option<Visibility>,
    /// At least one; owners are members too.
    #[schemars(length(min = 1, max = 100), inner(email))]
    pub owners: Vec<String>,
    #[schemars(length(max = 1000), inner(email))]
    pub members: Option<Vec<String>>,
    #[schemars(length(max = 50))]
    pub channels: Option<Vec<ChannelSpec>>,
    /// Let owners add guests (default false).
    pub enable_guest_access: Option<bool>,
    pub settings: Option<TeamSettings>,
    /// Return the planned requests without making any.
    pub dry_run: Option<bool>,
}

/// A validated channel.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ChannelPlan {
    pub display_name: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    pub membership_type: MembershipType,
}

/// A validated create_teams_group request, as the journal keeps it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Plan {
    pub display_name: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    pub mail_nickname: String,
    pub visibility: Visibility,
    /// Addresses, trimmed and without duplicates.
    pub owners: Vec<String>,
    /// Addresses that are not also owners.
    pub members: Vec<String>,
    pub channels: Vec<ChannelPlan>,
    pub enable_guest_access: bool,
    #[serde(default)]
    pub settings: TeamSettings,
}

/// Characters Teams refuses in channel names.
const CHANNEL_FORBIDDEN: &str = "~#%&*{}+/\\:<>?|'\",";
/// Names Teams refuses for channels (SharePoint and Windows reserve them).
const RESERVED_CHANNEL_NAMES: &[&str] = &[
    "forms",
    "CON",
    "CONIN$",
    "CONOUT$",
    "PRN",
    "AUX",
    "NUL",
    "COM1",
    "COM2",
    "COM3",
    "COM4",
    "COM5",
    "COM6",
    "COM7",
    "COM8",
    "COM9",
    "LPT1",
    "LPT2",
    "LPT3",
    "LPT4",
    "LPT5",
    "LPT6",
    "LPT7",
    "LPT8",
    "LPT9",
    "desktop.ini",
];

/// Why `name` cannot be a channel name, if it cannot.
pub fn channel_name_problem(name: &str) -> Option<String> {
    let n = name.chars().count();
    if n == 0 || n > 50 {
        return Some("must be 1 to 50 characters".into());
    }
    if let Some(c) = name.chars().find(|c| CHANNEL_FORBIDDEN.contains(*c)) {
        return Some(format!(
            "contains {c:?}; channel names cannot contain any of {CHANNEL_FORBIDDEN}"
        ));
    }
    if name.chars().any(char::is_control) {
        return Some("contains a control character".into());
    }
    if name.contains("..") || name.starts_with(['_', '.']) || name.ends_with('.') {
        return Some("cannot contain .., start with _ or . or end with .".into());
    }
    if name.eq_ignore_ascii_case("General") {
        return Some("General is the channel every team already has".into());
    }
    if RESERVED_CHANNEL_NAMES
        .iter()
        .any(|r| r.eq_ignore_ascii_case(name))
        || name.to_ascii_lowercase().contains("_vti_")
    {
        return Some("is a name Teams reserves".into());
    }
    None
}

/// The group's mail alias for a team name: its ASCII letters, digits and
/// `-_.`, lowercased, at most 64 characters; a stable `team-<hash>` when
/// nothing of the name is left.
pub fn mail_nickname(name: &str) -> String {
    let mut s: String = name
        .chars()
        .filter(|c| c.is_ascii_alphanumeric() || "-_.".contains(*c))
        .map(|c| c.to_ascii_lowercase())
        .collect();
    while s.contains("..") {
        s = s.replace("..", ".");
    }
    let s: String = s.trim_matches('.').chars().take(64).collect();
    let s = s.trim_end_matches('.').to_string();
    if s.is_empty() {
        // FNV-1a: the same name always gives the same alias.
        let mut h: u32 = 0x811c_9dc5;
        for b in name.bytes() {
            h = (h ^ u32::from(b)).wrapping_mul(0x0100_0193);
        }
        format!("team-{h:08x}")
    } else {
        s
    }
}

/// Trimmed, valid, case-insensitively distinct addresses; INPUT_001 naming
/// `field[i]` for the first that is not an address.
pub fn addresses(field: &str, list: &[String]) -> Result<Vec<String>, ToolError> {
    let mut out: Vec<String> = Vec::with_capacity(list.len());
    for (i, a) in list.iter().enumerate() {
        let a = a.trim();
        if !is_valid_email(a) {
            return Err(ToolError::input(
                Some(&format!("{field}[{i}]")),
                format!(
                    "{a:?} in {field} is not an e-mail address; give addresses such as ann@contoso.com."
                ),
            ));
        }
        if !out.iter().any(|o| o.eq_ignore_ascii_case(a)) {
            out.push(a.to_string());
        }
    }
    Ok(out)
}

impl CreateTeamsGroupArgs {
    /// Every check that needs no request.
    pub fn validate(&self) -> Result<Plan, ToolError> {
        let display_name = self.display_name.trim().to_string();
        if display_name.is_empty() {
            return Err(ToolError::input(
                Some("displayName"),
                "displayName is empty; give the team's name.",
            ));
        }
        let owners = addresses("owners", &self.owners)?;
        if owners.is_empty() {
            return Err(ToolError::input(
                Some("owners"),
                "A team needs at least one owner; give owners.",
            ));
        }
        let members: Vec<String> = addresses("members", self.members.as_deref().unwrap_or(&[]))?
            .into_iter()
            .filter(|m| !owners.iter().any(|o| o.eq_ignore_ascii_case(m)))
            .collect();
        let mut channels: Vec<ChannelPlan> = Vec::new();
        for (i, c) in self.channels.iter().flatten().enumerate() {
            let name = c.display_name.trim().to_string();
            if let Some(why) = channel_name_problem(&name) {
                return Err(ToolError::input(
                    Some(&format!("channels[{i}].displayName")),
                    format!("Channel name {name:?} {why}; choose another."),
                ));
            }
            if channels
                .iter()
                .any(|p| p.display_name.eq_ignore_ascii_case(&name))
            {
                return Err(ToolError::input(
                    Some(&format!("channels[{i}].displayName")),
                    format!("Channel {name:?} is listed twice; give each channel once."),
                ));
            }
            channels.push(ChannelPlan {
                display_name: name,
                description: c
                    .description
                    .as_deref()
                    .map(str::trim)
                    .filter(|d| !d.is_empty())
                    .map(str::to_string),
                membership_type: c.membership_type.unwrap_or_default(),
            });
        }
        Ok(Plan {
            mail_nickname: mail_nickname(&display_name),
            display_name,
            description: self
                .description
                .as_deref()
                .map(str::trim)
                .filter(|d| !d.is_empty())
                .map(str::to_string),
            visibility: self.visibility.unwrap_or_default(),
            owners,
            members,
            channels,
            enable_guest_access: self.enable_guest_access.unwrap_or(false),
            settings: self.settings.clone().unwrap_or_default(),
        })
    }
}

impl Plan {
    /// Everyone to bind at group creation: (owners, members), at most
    /// [`MAX_BINDINGS`] in all, owners first; owners are members too.
    pub fn bindings<'a, T>(&self, owners: &'a [T], members: &'a [T]) -> (Vec<&'a T>, Vec<&'a T>) {
        let bound_owners: Vec<&T> = owners.iter().take(MAX_BINDINGS).collect();
        let room = MAX_BINDINGS - bound_owners.len();
        let bound_members: Vec<&T> = owners.iter().chain(members).take(room).collect();
        (bound_owners, bound_members)
    }

    /// The `PATCH /teams/{id}` body: guests may not create or delete
    /// channels; the rest as given.
    pub fn team_patch(&self) -> Value {
        let s = &self.settings;
        let mut body = json!({
            "guestSettings": { "allowCreateUpdateChannels": false, "allowDeleteChannels": false },
        });
        let mut put = |group: &str, key: &str, v: Option<bool>| {
            if let Some(v) = v {
                body[group][key] = json!(v);
            }
        };
        put(
            "memberSettings",
            "allowCreateUpdateChannels",
            s.allow_create_update_channels,
        );
        put(
            "memberSettings",
            "allowDeleteChannels",
            s.allow_delete_channels,
        );
        put(
            "memberSettings",
            "allowAddRemoveApps",
            s.allow_add_remove_apps,
        );
        put(
            "messagingSettings",
            "allowUserEditMessages",
            s.allow_user_edit_messages,
        );
        put(
            "messagingSettings",
            "allowUserDeleteMessages",
            s.allow_user_delete_messages,
        );
        put("funSettings", "allowGiphy", s.allow_giphy);
        body
    }

    /// The dry run: each step and the requests it would make.
    pub fn dry_run(&self) -> Value {
        let (bo, bm) = self.bindings(&self.owners, &self.members);
        let later = (self.owners.len() + self.members.len()).saturating_sub(bm.len());
        let mut check = vec![
            format!("GET /groups?$filter=displayName eq '{}'", self.display_name),
            format!(
                "GET /groups?$filter=mailNickname eq '{}'",
                self.mail_nickname
            ),
        ];
        for a in self.owners.iter().chain(&self.members) {
            check.push(format!(
                "GET /users/{a} (then /users?$filter=mail eq '{a}' if not found)"
            ));
        }
        let channels: Vec<String> = if self.channels.is_empty() {
            vec!["(no channels besides General)".into()]
        } else {
            self.channels
                .iter()
                .map(|c| {
                    format!(
                        "POST /teams/{{teamId}}/channels '{}' ({}{})",
                        c.display_name,
                        c.membership_type.as_str(),
                        if c.membership_type == MembershipType::Standard {
                            ""
                        } else {
                            ", first owner as channel owner"
                        }
                    )
                })
                .collect()
        };
        let requests: Vec<Vec<String>> = vec![
            check,
            vec![format!(
                "POST /groups {{displayName '{}', mailNickname '{}', visibility {}, groupTypes \
                 [Unified], {} owner(s) and {} member(s) bound}}",
                self.display_name,
                self.mail_nickname,
                self.visibility.as_str(),
                bo.len(),
                bm.len()
            )],
            vec![format!(
                "GET /groups/{{groupId}}/owners until the group is readable (up to \
                 {REPLICATION_RETRIES} retries, {} s apart)",
                REPLICATION_WAIT_MS / 1000
            )],
            vec![
                format!(
                    "POST /teams {{template standard, group@odata.bind}} (a 404 is retried \
                     {REPLICATION_RETRIES} times, {} s apart)",
                    REPLICATION_WAIT_MS / 1000
                ),
                "GET /teams/{teamId}/operations/{operationId} until it succeeds".into(),
            ],
            channels,
            vec![
                "GET /teams/{teamId}/members".into(),
                format!(
                    "POST /teams/{{teamId}}/members for each not yet in ({later} beyond the \
                     {MAX_BINDINGS} bound at creation)"
                ),
            ],
            vec![format!(
                "POST /groups/{{groupId}}/settings Group.Unified.Guest AllowToAddGuests={}",
                self.enable_guest_access
            )],
            vec![format!("PATCH /teams/{{teamId}} {}", self.team_patch())],
        ];
        let steps: Vec<Value> = Step::ALL
            .iter()
            .zip(requests)
            .map(|(s, r)| json!({"step": s.number(), "name": s.name(), "does": s.title(), "requests": r}))
            .collect();
        json!({
            "dryRun": true,
            "displayName": self.display_name,
            "mailNickname": self.mail_nickname,
            "visibility": self.visibility.as_str(),
            "owners": self.owners,
            "members": self.members,
            "channels": self.channels,
            "enableGuestAccess": self.enable_guest_access,
            "steps": steps,
            "note": "No request was made. On failure the real run deletes the group it created \
                     (which removes the team, channels and site).",
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn args(v: Value) -> CreateTeamsGroupArgs {
        serde_json::from_value(v).unwrap()
    }

    #[test]
    fn aliases_from_names() {
        for (name, want) in [
            ("Sales Team 2024", "salesteam2024"),
            ("R&D / Labs", "rdlabs"),
            ("..Odd..Name..", "odd.name"),
            ("Équipe Café", "quipecaf"),
        ] {
            assert_eq!(mail_nickname(name), want, "{name}");
        }
        let a = mail_nickname("日本");
        assert!(a.starts_with("team-") && a.len() == 13, "{a}");
        assert_eq!(a, mail_nickname("日本"));
        assert_eq!(mail_nickname(&"x".repeat(100)).len(), 64);
    }

    #[test]
    fn channel_names() {
        for (name, ok) in [
            ("Deals", true),
            ("Q3 planning - EU", true),
            ("", false),
            (&"x".repeat(51), false),
            ("a/b", false),
            ("what?", false),
            ("_hidden", false),
            (".dot", false),
            ("end.", false),
            ("a..b", false),
            ("general", false),
            ("it's", false),
            ("Forms", false),
            ("com1", false),
            ("a_vti_b", false),
        ] {
            assert_eq!(channel_name_problem(name).is_none(), ok, "{name}");
        }
    }

    #[test]
    fn validation_dedupes_and_names_the_field() {
        let p = args(json!({
            "displayName": "  Sales  ",
            "owners": ["Ann@contoso.com", "ann@contoso.com", "bob@contoso.com"],
            "members": ["bob@contoso.com", "cy@contoso.com"],
            "channels": [{"displayName": "Deals", "membershipType": "private"}],
        }))
        .validate()
        .unwrap();
        assert_eq!(p.display_name, "Sales");
        assert_eq!(p.owners, ["Ann@contoso.com", "bob@contoso.com"]);
        assert_eq!(p.members, ["cy@contoso.com"]);
        assert_eq!(p.visibility, Visibility::Private);
        assert_eq!(p.channels[0].membership_type, MembershipType::Private);

        let e = args(json!({"displayName": "S", "owners": ["a@contoso.com"],
            "channels": [{"displayName": "X"}, {"displayName": "x"}]}))
        .validate()
        .unwrap_err();
        assert_eq!(e.detail("field").unwrap(), "channels[1].displayName");
        let e = args(json!({"displayName": "S", "owners": ["a@contoso.com", "nope"]}))
            .validate()
            .unwrap_err();
        assert_eq!(e.detail("field").unwrap(), "owners[1]");
        let e = args(json!({"displayName": " ", "owners": ["a@contoso.com"]}))
            .validate()
            .unwrap_err();
        assert_eq!(e.detail("field").unwrap(), "displayName");
    }

    #[test]
    fn bindings_stay_within_the_limit() {
        let p = args(json!({"displayName": "S", "owners": ["a@contoso.com"]}))
            .validate()
            .unwrap();
        let owners: Vec<u32> = (0..3).collect();
        let members: Vec<u32> = (3..30).collect();
        let (o, m) = p.bindings(&owners, &members);
        assert_eq!(o.len(), 3);
        assert_eq!(o.len() + m.len(), MAX_BINDINGS);
        assert_eq!(*m[0], 0, "owners are bound as members first");
        let (o, m) = p.bindings(&owners[..2], &members[..3]);
        assert_eq!((o.len(), m.len()), (2, 5));
    }

    #[test]
    fn team_patch_keeps_guests_out_of_channel_management() {
        let mut p = args(json!({"displayName": "S", "owners": ["a@contoso.com"]}))
            .validate()
            .unwrap();
        let body = p.team_patch();
        assert_eq!(body["guestSettings"]["allowDeleteChannels"], false);
        assert!(body.get("memberSettings").is_none());
        p.settings.allow_giphy = Some(false);
        p.settings.allow_delete_channels = Some(false);
        let body = p.team_patch();
        assert_eq!(body["funSettings"]["allowGiphy"], false);
        assert_eq!(body["memberSettings"]["allowDeleteChannels"], false);
    }

    #[test]
    fn dry_run_lists_every_step() {
        let p = args(json!({"displayName": "Sales", "owners": ["a@contoso.com"],
            "channels": [{"displayName": "Deals", "membershipType": "private"}]}))
        .validate()
        .unwrap();
        let d = p.dry_run();
        assert_eq!(d["steps"].as_array().unwrap().len(), 8);
        assert!(
            d["steps"][4]["requests"][0]
                .as_str()
                .unwrap()
                .contains("Deals")
        );
    }
}
