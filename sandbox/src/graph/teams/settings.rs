//! A team's settings: the `memberSettings`, `guestSettings`, `messagingSettings`,
//! `funSettings` and `discoverySettings` complex types, their defaults, and the validation of a
//! request's partial settings (unknown properties and values refused as Teams refuses them).

use serde_json::{Map, Value, json};

use crate::graph::odata::unknown_property;
use crate::tenant::teams::{Team, bad};
use crate::web::GraphError;

pub(super) fn default_settings() -> Map<String, Value> {
    json!({
        "memberSettings": {
            "allowCreateUpdateChannels": true,
            "allowCreatePrivateChannels": true,
            "allowDeleteChannels": true,
            "allowAddRemoveApps": true,
            "allowCreateUpdateRemoveTabs": true,
            "allowCreateUpdateRemoveConnectors": true
        },
        "guestSettings": {
            "allowCreateUpdateChannels": false,
            "allowDeleteChannels": false
        },
        "messagingSettings": {
            "allowUserEditMessages": true,
            "allowUserDeleteMessages": true,
            "allowOwnerDeleteMessages": true,
            "allowTeamMentions": true,
            "allowChannelMentions": true
        },
        "funSettings": {
            "allowGiphy": true,
            "giphyContentRating": "moderate",
            "allowStickersAndMemes": true,
            "allowCustomMemes": true
        },
        "discoverySettings": {
            "showInTeamsSearchAndSuggestions": true
        }
    })
    .as_object()
    .cloned()
    .unwrap_or_default()
}

/// The team's settings complex types and their properties (`None`: Boolean; `Some`: enum).
type SettingFields = &'static [(&'static str, Option<&'static [&'static str]>)];

pub(super) const SETTINGS: &[(&str, &str, SettingFields)] = &[
    (
        "memberSettings",
        "microsoft.graph.teamMemberSettings",
        &[
            ("allowCreateUpdateChannels", None),
            ("allowCreatePrivateChannels", None),
            ("allowDeleteChannels", None),
            ("allowAddRemoveApps", None),
            ("allowCreateUpdateRemoveTabs", None),
            ("allowCreateUpdateRemoveConnectors", None),
        ],
    ),
    (
        "guestSettings",
        "microsoft.graph.teamGuestSettings",
        &[
            ("allowCreateUpdateChannels", None),
            ("allowDeleteChannels", None),
        ],
    ),
    (
        "messagingSettings",
        "microsoft.graph.teamMessagingSettings",
        &[
            ("allowUserEditMessages", None),
            ("allowUserDeleteMessages", None),
            ("allowOwnerDeleteMessages", None),
            ("allowTeamMentions", None),
            ("allowChannelMentions", None),
        ],
    ),
    (
        "funSettings",
        "microsoft.graph.teamFunSettings",
        &[
            ("allowGiphy", None),
            ("giphyContentRating", Some(&["moderate", "strict"])),
            ("allowStickersAndMemes", None),
            ("allowCustomMemes", None),
        ],
    ),
    (
        "discoverySettings",
        "microsoft.graph.teamDiscoverySettings",
        &[("showInTeamsSearchAndSuggestions", None)],
    ),
];

/// One settings type's name and the properties a request sets on it.
pub(super) type SettingsPatch = (String, Map<String, Value>);

/// If `key` names a settings type, validates `value` and returns (canonical key, normalised
/// partial settings).
pub(super) fn parse_settings(
    key: &str,
    value: &Value,
) -> Option<Result<SettingsPatch, GraphError>> {
    let (name, type_name, fields) = SETTINGS
        .iter()
        .find(|(n, _, _)| n.eq_ignore_ascii_case(key))?;
    let parse = || {
        let obj = value.as_object().ok_or_else(|| {
            bad(format!(
                "Cannot convert the value of property '{name}' to the expected type '{type_name}'."
            ))
        })?;
        let mut out = Map::new();
        for (k, v) in obj {
            if k.starts_with('@') {
                continue;
            }
            let (field, values) = fields
                .iter()
                .find(|(f, _)| f.eq_ignore_ascii_case(k))
                .ok_or_else(|| unknown_property(k, type_name))?;
            let normalised = match values {
                None => v.as_bool().map(Value::Bool).ok_or_else(|| {
                    bad(format!(
                        "Cannot convert the literal '{v}' to the expected type 'Edm.Boolean'."
                    ))
                })?,
                Some(allowed) => v
                    .as_str()
                    .and_then(|s| allowed.iter().find(|a| a.eq_ignore_ascii_case(s)))
                    .map(|a| json!(a))
                    .ok_or_else(|| {
                        bad(format!(
                            "Cannot convert the literal '{v}' to the expected type 'microsoft.graph.giphyRatingType'."
                        ))
                    })?,
            };
            out.insert((*field).to_string(), normalised);
        }
        Ok(((*name).to_string(), out))
    };
    Some(parse())
}

pub(super) fn apply_settings(team: &mut Team, patches: Vec<SettingsPatch>) {
    for (key, patch) in patches {
        let entry = team
            .settings
            .entry(key)
            .or_insert_with(|| Value::Object(Map::new()));
        if let Value::Object(obj) = entry {
            obj.extend(patch);
        }
    }
}
