//! Mailboxes: `Get-Mailbox`, `Set-Mailbox`, `Get-MailboxMessageConfiguration` and
//! `Set-MailboxMessageConfiguration`. The mailboxes are the sandbox users whose mailbox has been
//! provisioned (an Exchange plan assigned, or a shared mailbox, and the provisioning delay
//! past); a user without one is not found, as in Exchange Online.

use serde_json::{Map, Value, json};
use time::OffsetDateTime;

use super::cmdlet::{Call, Cmdlet, size_text};
use super::error::ExoError;
use super::params::{Bound, Param, Ty, m, n, p};
use crate::tenant::ids::derived_guid;
use crate::tenant::mailbox::MailboxKind;
use crate::tenant::{INITIAL_DOMAIN, Tenant, User};
use crate::web::time::rfc3339;

pub(crate) const CMDLETS: &[Cmdlet] = &[
    Cmdlet {
        name: "Get-Mailbox",
        params: &[
            p("Identity", Ty::Str),
            p("ResultSize", Ty::Unlimited),
            p(
                "RecipientTypeDetails",
                Ty::EnumList(
                    "Microsoft.Exchange.Data.Directory.Recipient.RecipientTypeDetails",
                    RECIPIENT_TYPES,
                ),
            ),
        ],
        run: get_mailbox,
    },
    Cmdlet {
        name: "Set-Mailbox",
        params: &[
            m("Identity", Ty::Str),
            n("ForwardingSmtpAddress", Ty::Smtp),
            n("ForwardingAddress", Ty::Str),
            p("DeliverToMailboxAndForward", Ty::Bool),
            p("AuditEnabled", Ty::Bool),
            n("RetentionPolicy", Ty::Str),
            p("HiddenFromAddressListsEnabled", Ty::Bool),
            p("MessageCopyForSentAsEnabled", Ty::Bool),
            p("MessageCopyForSendOnBehalfEnabled", Ty::Bool),
            p("MessageTrackingReadStatusEnabled", Ty::Bool),
            p("Force", Ty::Switch),
            p("Confirm", Ty::Switch),
            p("WhatIf", Ty::Switch),
        ],
        run: set_mailbox,
    },
    Cmdlet {
        name: "Get-MailboxMessageConfiguration",
        params: &[m("Identity", Ty::Str)],
        run: get_message_configuration,
    },
    Cmdlet {
        name: "Set-MailboxMessageConfiguration",
        params: MESSAGE_CONFIGURATION_PARAMS,
        run: set_message_configuration,
    },
];

const RECIPIENT_TYPES: &[&str] = &[
    "UserMailbox",
    "SharedMailbox",
    "RoomMailbox",
    "EquipmentMailbox",
    "SchedulingMailbox",
    "LegacyMailbox",
    "LinkedMailbox",
    "TeamMailbox",
    "DiscoveryMailbox",
    "GroupMailbox",
];

const MESSAGE_CONFIGURATION_PARAMS: &[Param] = &[
    m("Identity", Ty::Str),
    p(
        "ReadReceiptResponse",
        Ty::Enum(
            "Microsoft.Exchange.Data.Storage.Management.ReadReceiptResponse",
            &["DoNotAutomaticallySend", "AlwaysSend", "NeverSend"],
        ),
    ),
    p("IsReplyAllTheDefaultResponse", Ty::Bool),
    p("AlwaysShowBcc", Ty::Bool),
    p("AlwaysShowFrom", Ty::Bool),
    p(
        "DefaultFormat",
        Ty::Enum(
            "Microsoft.Exchange.Data.Storage.Management.MailFormat",
            &["PlainText", "Html"],
        ),
    ),
    p(
        "AfterMoveOrDeleteBehavior",
        Ty::Enum(
            "Microsoft.Exchange.Data.Storage.Management.AfterMoveOrDeleteBehavior",
            &["OpenPreviousItem", "OpenNextItem", "ReturnToView"],
        ),
    ),
    p(
        "NewItemNotification",
        Ty::Enum(
            "Microsoft.Exchange.Data.Storage.Management.NewItemNotification",
            &[
                "Sound",
                "EMailToast",
                "VoiceMailToast",
                "FaxToast",
                "None",
                "All",
            ],
        ),
    ),
    p(
        "PreviewMarkAsReadBehavior",
        Ty::Enum(
            "Microsoft.Exchange.Data.Storage.Management.PreviewMarkAsReadBehavior",
            &["Delayed", "OnSelectionChange", "Never"],
        ),
    ),
    p("PreviewMarkAsReadDelaytime", Ty::Int { min: 0, max: 30 }),
    p(
        "ConversationSortOrder",
        Ty::Enum(
            "Microsoft.Exchange.Data.Storage.Management.ConversationSortOrder",
            &[
                "Chronological",
                "Tree",
                "NewestOnTop",
                "NewestOnBottom",
                "ChronologicalNewestOnTop",
                "ChronologicalNewestOnBottom",
                "TreeNewestOnBottom",
            ],
        ),
    ),
    p("ShowConversationAsTree", Ty::Bool),
    p("HideDeletedItems", Ty::Bool),
    p("EmptyDeletedItemsOnLogoff", Ty::Bool),
    p("CheckForForgottenAttachments", Ty::Bool),
    p("AutoAddSignature", Ty::Bool),
    p("AutoAddSignatureOnReply", Ty::Bool),
    n("SignatureHtml", Ty::Str),
    n("SignatureText", Ty::Str),
    p("DefaultFontName", Ty::Str),
    p("DefaultFontSize", Ty::Int { min: 1, max: 7 }),
    p("DefaultFontColor", Ty::Str),
    p("IsFocusedInboxEnabled", Ty::Bool),
    p("LinkPreviewEnabled", Ty::Bool),
    p("Confirm", Ty::Switch),
    p("WhatIf", Ty::Switch),
];

pub(super) const RESULT_SIZE_WARNING: &str = "By default, only the first 1000 items are returned. Use the ResultSize parameter to specify the number of items returned. To return all items, specify \"-ResultSize Unlimited\". Be aware that, depending on the actual number of items, returning all items can take a long time and consume a large amount of memory. Also, we don't recommend storing the results in a variable. Instead, pipe the results to another task or script to perform batch changes.";

fn exchange_guid(u: &User) -> String {
    derived_guid(&format!("exchange-guid/{}", u.id))
}

fn object_guid(u: &User) -> String {
    derived_guid(&format!("mailbox-guid/{}", u.id))
}

/// Whether `key` names this mailbox, as a MailboxIdParameter does.
fn names(u: &User, key: &str) -> bool {
    let key = key.trim();
    let bare = key
        .split_once(':')
        .filter(|(prefix, _)| prefix.eq_ignore_ascii_case("smtp"))
        .map(|(_, a)| a)
        .unwrap_or(key);
    let alias = u.alias();
    [
        u.id.clone(),
        u.upn().to_string(),
        u.primary_smtp(),
        alias.clone(),
        format!("{alias}@{INITIAL_DOMAIN}"),
        u.prop_str("displayName").unwrap_or_default().to_string(),
        exchange_guid(u),
        object_guid(u),
    ]
    .iter()
    .any(|candidate| !candidate.is_empty() && candidate.eq_ignore_ascii_case(bare))
}

/// The user index of the one mailbox `key` names.
pub(crate) fn resolve(t: &Tenant, key: &str, now: OffsetDateTime) -> Result<usize, ExoError> {
    let found: Vec<usize> = t
        .mailbox_users(now)
        .into_iter()
        .filter(|&i| names(&t.users[i], key))
        .collect();
    match found.as_slice() {
        [i] => Ok(*i),
        [] => Err(ExoError::not_found(key)),
        _ => Err(ExoError::ambiguous(key)),
    }
}

fn country_name(code: &str) -> String {
    match code.to_ascii_uppercase().as_str() {
        "US" => "United States",
        "GB" => "United Kingdom",
        "CA" => "Canada",
        "DE" => "Germany",
        "FR" => "France",
        "ES" => "Spain",
        "IT" => "Italy",
        "NL" => "Netherlands",
        "AU" => "Australia",
        "IN" => "India",
        "JP" => "Japan",
        "BR" => "Brazil",
        "MX" => "Mexico",
        other => return other.to_string(),
    }
    .to_string()
}

/// The mailbox's `RecipientTypeDetails`.
pub(super) fn recipient_type(u: &User) -> &'static str {
    u.mailbox
        .as_ref()
        .map_or(MailboxKind::User, |m| m.kind)
        .recipient_type_details()
}

/// A mailbox as Get-Mailbox outputs it.
fn mailbox_json(t: &Tenant, u: &User) -> Value {
    let set = t.exchange.mailboxes.get(&u.id).cloned().unwrap_or_default();
    let value = |name: &str, default: Value| set.get(name).cloned().unwrap_or(default);
    let alias = u.alias();
    let primary = u.primary_smtp();
    let created = rfc3339(u.created_date_time);
    let dn = format!(
        "CN={alias},OU={INITIAL_DOMAIN},OU=Microsoft Exchange Hosted Organizations,DC=NAMPR01A001,DC=PROD,DC=OUTLOOK,DC=COM"
    );
    let mut addresses = vec![format!("SMTP:{primary}")];
    let initial = format!("smtp:{alias}@{INITIAL_DOMAIN}");
    if !initial.eq_ignore_ascii_case(&format!("smtp:{primary}")) {
        addresses.push(initial);
    }
    let mut out = match json!({
        "Name": alias,
        "Identity": alias,
        "Id": alias,
        "Alias": alias,
        "DisplayName": u.prop_str("displayName"),
        "UserPrincipalName": u.upn(),
        "PrimarySmtpAddress": primary,
        "WindowsEmailAddress": primary,
        "MicrosoftOnlineServicesID": u.upn(),
        "EmailAddresses@odata.type": "#Collection(String)",
        "EmailAddresses": addresses,
        "ExternalDirectoryObjectId": u.id,
        "Guid": object_guid(u),
        "ExchangeGuid": exchange_guid(u),
        "DistinguishedName": dn,
        "OrganizationalUnit": format!("NAMPR01A001.PROD.OUTLOOK.COM/Microsoft Exchange Hosted Organizations/{INITIAL_DOMAIN}"),
        "RecipientType": "UserMailbox",
        "RecipientTypeDetails": recipient_type(u),
        "IsMailboxEnabled": true,
        "IsInactiveMailbox": false,
        "IsSoftDeletedByRemove": false,
        "AccountDisabled": !u.is_enabled(),
        "UsageLocation": u.prop_str("usageLocation").map(country_name),
        "ForwardingAddress": value("ForwardingAddress", Value::Null),
        "ForwardingSmtpAddress": value("ForwardingSmtpAddress", Value::Null),
        "DeliverToMailboxAndForward": value("DeliverToMailboxAndForward", json!(false)),
        "AuditEnabled": value("AuditEnabled", json!(true)),
        "AuditLogAgeLimit": "90.00:00:00",
        "DefaultAuditSet@odata.type": "#Collection(String)",
        "DefaultAuditSet": ["Admin", "Delegate", "Owner"],
        "RetentionPolicy": t.exchange.mailbox_policy(&u.id),
    }) {
        Value::Object(m) => m,
        _ => Map::new(),
    };
    let more = json!({
        "RetentionHoldEnabled": false,
        "LitigationHoldEnabled": false,
        "SingleItemRecoveryEnabled": true,
        "RetainDeletedItemsFor": "14.00:00:00",
        "HiddenFromAddressListsEnabled": value("HiddenFromAddressListsEnabled", json!(false)),
        "MessageCopyForSentAsEnabled": value("MessageCopyForSentAsEnabled", json!(false)),
        "MessageCopyForSendOnBehalfEnabled": value("MessageCopyForSendOnBehalfEnabled", json!(false)),
        // Documented default: senders may see whether their mail was read.
        "MessageTrackingReadStatusEnabled": value("MessageTrackingReadStatusEnabled", json!(true)),
        "ArchiveStatus": "None",
        "ArchiveGuid": "00000000-0000-0000-0000-000000000000",
        "AutoExpandingArchiveEnabled": false,
        "ProhibitSendQuota": size_text(99 << 30),
        "ProhibitSendReceiveQuota": size_text(100 << 30),
        "IssueWarningQuota": size_text(98 << 30),
        "RecoverableItemsQuota": size_text(30 << 30),
        "MaxSendSize": size_text(35 << 20),
        "MaxReceiveSize": size_text(36 << 20),
        "UseDatabaseQuotaDefaults": false,
        "WhenCreated": created,
        "WhenCreatedUTC": created,
        "WhenMailboxCreated": created,
        "WhenChanged": created,
        "WhenChangedUTC": created,
        "IsValid": true,
        "ObjectState": "Unchanged",
    });
    if let Value::Object(m) = more {
        out.extend(m);
    }
    Value::Object(out)
}

fn get_mailbox(call: &mut Call, b: &Bound) -> Result<Vec<Value>, ExoError> {
    let now = call.ctx.now;
    let (list, truncated) = call.read(|t| {
        let users: Vec<usize> = match b.str("Identity") {
            Some(key) => vec![resolve(t, key, now)?],
            None => t.mailbox_users(now),
        };
        let mut list: Vec<Value> = users
            .iter()
            .map(|&i| mailbox_json(t, &t.users[i]))
            .collect();
        if let Some(kinds) = b.list("RecipientTypeDetails") {
            list.retain(|mb| {
                kinds
                    .iter()
                    .any(|k| mb["RecipientTypeDetails"].as_str() == Some(k.as_str()))
            });
        }
        let limit = match b.get("ResultSize") {
            Some(Value::Number(n)) => n.as_u64().unwrap_or(1000) as usize,
            Some(_) => usize::MAX,
            None => 1000,
        };
        let truncated = list.len() > limit && !b.has("ResultSize");
        list.truncate(limit);
        Ok::<_, ExoError>((list, truncated))
    })?;
    if truncated {
        call.warnings.push(RESULT_SIZE_WARNING.into());
    }
    Ok(list)
}

fn set_mailbox(call: &mut Call, b: &Bound) -> Result<Vec<Value>, ExoError> {
    let now = call.ctx.now;
    let key = b.str("Identity").unwrap_or_default().to_string();
    let what_if = b.switch("WhatIf");
    let (identity, changed) = call.mutate(|t| {
        let i = resolve(t, &key, now)?;
        let user_id = t.users[i].id.clone();
        let identity = t.users[i].alias();
        let mut updates: Vec<(&str, Value)> = Vec::new();
        for (name, v) in b.iter() {
            let new = match name {
                "ForwardingSmtpAddress" => match v.as_str() {
                    Some(a) => json!(format!("smtp:{a}")),
                    None => Value::Null,
                },
                "ForwardingAddress" => match v.as_str() {
                    Some(target) => {
                        let j = resolve(t, target, now)?;
                        json!(t.users[j].alias())
                    }
                    None => Value::Null,
                },
                "RetentionPolicy" => match v.as_str() {
                    Some(policy) => {
                        let p = super::retention::find_policy(t, policy)?;
                        t.exchange.retention_policies[p]["Name"].clone()
                    }
                    None => Value::Null,
                },
                "DeliverToMailboxAndForward"
                | "AuditEnabled"
                | "HiddenFromAddressListsEnabled"
                | "MessageCopyForSentAsEnabled"
                | "MessageCopyForSendOnBehalfEnabled"
                | "MessageTrackingReadStatusEnabled" => v.clone(),
                _ => continue,
            };
            updates.push((name, new));
        }
        let current = mailbox_json(t, &t.users[i]);
        let changed = updates.iter().any(|(k, v)| current[*k] != *v);
        if !what_if {
            let entry = t.exchange.mailboxes.entry(user_id).or_default();
            for (k, v) in updates {
                entry.insert(k.to_string(), v);
            }
        }
        Ok((identity, changed))
    })?;
    if !changed && !what_if {
        call.nothing_modified(&identity);
    }
    Ok(Vec::new())
}

/// The message configuration a new mailbox has.
fn default_message_configuration() -> Map<String, Value> {
    let mut out = match json!({
        "AfterMoveOrDeleteBehavior": "OpenNextItem",
        "NewItemNotification": "All",
        "EmptyDeletedItemsOnLogoff": false,
        "AutoAddSignature": false,
        "AutoAddSignatureOnReply": false,
        "SignatureText": "",
        "SignatureHtml": "",
        "AutoAddSignatureOnMobile": false,
        "SignatureTextOnMobile": "",
        "UseDefaultSignatureOnMobile": true,
        "DefaultFontName": "Aptos",
        "DefaultFontSize": 3,
        "DefaultFontColor": "#000000",
        "DefaultFontFlags": "Normal",
        "AlwaysShowBcc": false,
        "AlwaysShowFrom": false,
        "DefaultFormat": "Html",
        "ReadReceiptResponse": "DoNotAutomaticallySend",
        "PreviewMarkAsReadBehavior": "OnSelectionChange",
        "PreviewMarkAsReadDelaytime": 5,
    }) {
        Value::Object(m) => m,
        _ => Map::new(),
    };
    let more = json!({
        "ConversationSortOrder": "ChronologicalNewestOnTop",
        "ShowConversationAsTree": false,
        "HideDeletedItems": false,
        "SendAddressDefault": "",
        "EmailComposeMode": "Inline",
        "CheckForForgottenAttachments": true,
        "CheckForReportJunkDialog": false,
        "IsFavoritesFolderTreeCollapsed": false,
        "IsMailRootFolderTreeCollapsed": false,
        "IsReplyAllTheDefaultResponse": true,
        "LinkPreviewEnabled": true,
        "ShowInlinePreviews": true,
        "ShowPreviewTextInListView": true,
        "ShowReadingPaneOnFirstLoad": false,
        "ShowSenderOnTopInListView": true,
        "ShowUpNext": true,
        "SmimeEncrypt": false,
        "SmimeSign": false,
        "IsFocusedInboxEnabled": true,
        "DisplayDensityMode": "Full",
        "MailSendUndoInterval": 0,
        "IsValid": true,
        "ObjectState": "Unchanged",
    });
    if let Value::Object(m) = more {
        out.extend(m);
    }
    out
}

fn message_configuration_json(t: &Tenant, u: &User) -> Value {
    let mut out = Map::new();
    out.insert("Identity".into(), json!(u.alias()));
    out.insert("MailboxOwnerId".into(), json!(u.alias()));
    out.extend(default_message_configuration());
    if let Some(set) = t.exchange.message_configurations.get(&u.id) {
        for (k, v) in set {
            out.insert(k.clone(), v.clone());
        }
    }
    Value::Object(out)
}

fn get_message_configuration(call: &mut Call, b: &Bound) -> Result<Vec<Value>, ExoError> {
    let now = call.ctx.now;
    call.read(|t| {
        let i = resolve(t, b.str("Identity").unwrap_or_default(), now)?;
        Ok(vec![message_configuration_json(t, &t.users[i])])
    })
}

fn set_message_configuration(call: &mut Call, b: &Bound) -> Result<Vec<Value>, ExoError> {
    let now = call.ctx.now;
    let what_if = b.switch("WhatIf");
    let (identity, changed) = call.mutate(|t| {
        let i = resolve(t, b.str("Identity").unwrap_or_default(), now)?;
        let current = message_configuration_json(t, &t.users[i]);
        let identity = t.users[i].alias();
        let updates: Vec<(&str, Value)> = b
            .iter()
            .filter(|(k, _)| !matches!(*k, "Identity" | "Confirm" | "WhatIf"))
            .map(|(k, v)| {
                // Clearing a signature leaves it empty.
                let v = if v.is_null() { json!("") } else { v.clone() };
                (k, v)
            })
            .collect();
        let changed = updates.iter().any(|(k, v)| current[*k] != *v);
        if !what_if {
            let user_id = t.users[i].id.clone();
            let entry = t
                .exchange
                .message_configurations
                .entry(user_id)
                .or_default();
            for (k, v) in updates {
                entry.insert(k.to_string(), v);
            }
        }
        Ok((identity, changed))
    })?;
    if !changed && !what_if {
        call.nothing_modified(&identity);
    }
    Ok(Vec::new())
}

#[cfg(test)]
mod tests {
    use http::Method;
    use serde_json::{Value, json};

    use crate::testkit::{ADMIN, assert_exo_error, kit};

    #[test]
    fn mailboxes_get_and_set() {
        let k = kit();
        let (ann_id, ann) = k.mailbox_user("ann");
        let all = k.ok("Get-Mailbox", json!({}));
        assert_eq!(all.len(), 2);
        let mb = &k.ok("Get-Mailbox", json!({"Identity": ann}))[0];
        for (prop, want) in [
            ("PrimarySmtpAddress", json!(ann)),
            ("UserPrincipalName", json!(ann)),
            ("Alias", json!("ann")),
            ("ExternalDirectoryObjectId", json!(ann_id)),
            ("RecipientTypeDetails", json!("UserMailbox")),
            ("ForwardingSmtpAddress", Value::Null),
            ("DeliverToMailboxAndForward", json!(false)),
            ("AuditEnabled", json!(true)),
            ("RetentionPolicy", json!("Default MRM Policy")),
        ] {
            assert_eq!(mb[prop], want, "{prop}");
        }
        // Any unique identity works: alias, display name, object id.
        for key in [
            "ann",
            "User ann",
            ann_id.as_str(),
            "SMTP:ann@libertygoldsilver.com",
        ] {
            assert_eq!(
                k.ok("Get-Mailbox", json!({"Identity": key}))[0]["Alias"],
                "ann"
            );
        }

        // Set-Mailbox forwards and changes auditing; Set- outputs nothing.
        let out = k.ok(
            "Set-Mailbox",
            json!({"Identity": ann, "ForwardingSmtpAddress": "smtp:archive@example.org", "DeliverToMailboxAndForward": true, "AuditEnabled": "$false"}),
        );
        assert!(out.is_empty());
        let mb = &k.ok("Get-Mailbox", json!({"Identity": "ann"}))[0];
        assert_eq!(mb["ForwardingSmtpAddress"], "smtp:archive@example.org");
        assert_eq!(mb["DeliverToMailboxAndForward"], true);
        assert_eq!(mb["AuditEnabled"], false);

        // Setting the same values again changes nothing, and says so.
        let a = k.exo(
            "Set-Mailbox",
            json!({"Identity": ann, "ForwardingSmtpAddress": "archive@example.org"}),
        );
        assert_eq!(a.status, 200);
        assert_eq!(
            a.warnings(),
            vec!["The command completed successfully but no settings of 'ann' have been modified."]
        );
        // $null clears forwarding.
        k.ok(
            "Set-Mailbox",
            json!({"Identity": ann, "ForwardingSmtpAddress": null}),
        );
        assert!(
            k.ok("Get-Mailbox", json!({"Identity": ann}))[0]["ForwardingSmtpAddress"].is_null()
        );

        // Errors: unknown identity, unknown parameter, bad address, unknown policy, a user without
        // a mailbox.
        assert_exo_error(
            &k.exo(
                "Get-Mailbox",
                json!({"Identity": "ghost@libertygoldsilver.com"}),
            ),
            404,
            "NotFound",
            "Ex6F9304|Microsoft.Exchange.Configuration.Tasks.ManagementObjectNotFoundException|The operation couldn't be performed because object 'ghost@libertygoldsilver.com' couldn't be found on '",
        );
        assert_exo_error(
            &k.exo(
                "Set-Mailbox",
                json!({"Identity": ann, "ForwardTo": "x@y.z"}),
            ),
            400,
            "BadRequest",
            "A parameter cannot be found that matches parameter name 'ForwardTo'.",
        );
        assert_exo_error(
            &k.exo(
                "Set-Mailbox",
                json!({"Identity": ann, "ForwardingSmtpAddress": "not-an-address"}),
            ),
            400,
            "BadRequest",
            "isn't a valid SMTP address",
        );
        assert_exo_error(
            &k.exo(
                "Set-Mailbox",
                json!({"Identity": ann, "RetentionPolicy": "Nope"}),
            ),
            404,
            "NotFound",
            "object 'Nope' couldn't be found",
        );
        assert_exo_error(
            &k.exo("Set-Mailbox", json!({"AuditEnabled": true})),
            400,
            "BadRequest",
            "missing mandatory parameters: Identity.",
        );
        // A documented parameter the sandbox does not emulate is refused, not ignored.
        assert_exo_error(
            &k.exo(
                "Set-Mailbox",
                json!({"Identity": ann, "LitigationHoldEnabled": true}),
            ),
            400,
            "BadRequest",
            "does not emulate the 'LitigationHoldEnabled' parameter of Set-Mailbox",
        );
        let a = k.graph(
            Method::POST,
            "/users",
            Some(json!({"accountEnabled": true, "displayName": "No Box", "mailNickname": "nobox",
                "userPrincipalName": "nobox@libertygoldsilver.com", "passwordProfile": {"password": "Str0ng!pass"}})),
        );
        assert_eq!(a.status, 201);
        assert_eq!(
            k.exo("Get-Mailbox", json!({"Identity": "nobox"})).status,
            404
        );
    }

    #[test]
    fn mailbox_message_configuration() {
        let k = kit();
        let cfg = &k.ok(
            "Get-MailboxMessageConfiguration",
            json!({"Identity": ADMIN}),
        )[0];
        assert_eq!(cfg["ReadReceiptResponse"], "DoNotAutomaticallySend");
        assert_eq!(cfg["IsReplyAllTheDefaultResponse"], true);
        assert_eq!(cfg["Identity"], "admin");
        k.ok(
            "Set-MailboxMessageConfiguration",
            json!({"Identity": ADMIN, "ReadReceiptResponse": "alwayssend", "IsReplyAllTheDefaultResponse": false, "DefaultFormat": "PlainText"}),
        );
        let cfg = &k.ok(
            "Get-MailboxMessageConfiguration",
            json!({"Identity": "admin"}),
        )[0];
        assert_eq!(cfg["ReadReceiptResponse"], "AlwaysSend");
        assert_eq!(cfg["IsReplyAllTheDefaultResponse"], false);
        assert_eq!(cfg["DefaultFormat"], "PlainText");

        assert_exo_error(
            &k.exo(
                "Set-MailboxMessageConfiguration",
                json!({"Identity": ADMIN, "ReadReceiptResponse": "Sometimes"}),
            ),
            400,
            "BadRequest",
            "Cannot bind parameter 'ReadReceiptResponse'. Cannot convert value \"Sometimes\" to type \"Microsoft.Exchange.Data.Storage.Management.ReadReceiptResponse\". Error: \"Unable to match the identifier name Sometimes to a valid enumerator name. Specify one of the following enumerator names and try again:\r\nDoNotAutomaticallySend, AlwaysSend, NeverSend\"",
        );
        assert_exo_error(
            &k.exo(
                "Get-MailboxMessageConfiguration",
                json!({"Identity": "ghost"}),
            ),
            404,
            "NotFound",
            "object 'ghost' couldn't be found",
        );
        assert_exo_error(
            &k.exo(
                "Set-MailboxMessageConfiguration",
                json!({"Identity": ADMIN, "PreviewMarkAsReadDelaytime": 31}),
            ),
            400,
            "BadRequest",
            "greater than the maximum allowed range of 30",
        );
    }
}
