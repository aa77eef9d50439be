//! The Exchange admin API through `exchange::handle`, with real tokens, on a tenant in a
//! temporary directory.

use http::Method;
use serde_json::{Value, json};
use time::{Duration, OffsetDateTime};

use crate::auth::{GRAPH_AUDIENCE, OUTLOOK_AUDIENCE};
use crate::testkit::{Answer, TENANT, kit, kit_with};
use crate::web::time::rfc3339;

const ADMIN: &str = "admin@libertygoldsilver.com";

fn invoke_path() -> String {
    format!("/beta/{TENANT}/InvokeCommand")
}

fn body(cmdlet: &str, parameters: Value) -> Vec<u8> {
    serde_json::to_vec(&json!({"CmdletInput": {"CmdletName": cmdlet, "Parameters": parameters}}))
        .unwrap()
}

fn assert_exo_error(a: &Answer, status: u16, code: &str, detail_has: &str) {
    assert_eq!(a.status, status, "{}", a.body);
    assert_eq!(a.code(), code, "{}", a.body);
    assert_eq!(a.message(), "Error executing cmdlet", "{}", a.body);
    assert_eq!(a.body["error"]["details"][0]["code"], "Client");
    assert!(a.detail().contains(detail_has), "{}", a.detail());
}

#[test]
fn tokens_are_for_one_resource_only() {
    let k = kit();
    let graph_token = k.token(GRAPH_AUDIENCE);
    let exo_token = k.token(OUTLOOK_AUDIENCE);
    let b = body("Get-OrganizationConfig", json!({}));

    // A Graph token is refused by Exchange, with Exchange's 401.
    let a = k.exchange_raw(Method::POST, &invoke_path(), Some(&graph_token), &[], &b);
    assert_eq!(a.status, 401);
    assert!(
        a.header("WWW-Authenticate")
            .unwrap()
            .contains("00000002-0000-0ff1-ce00-000000000000")
    );
    assert!(
        a.header("x-ms-diagnostics")
            .unwrap()
            .contains("invalid_resource")
    );
    let a = k.exchange_raw(Method::POST, &invoke_path(), None, &[], &b);
    assert_eq!(a.status, 401);
    let tampered = format!("{exo_token}x");
    let a = k.exchange_raw(Method::POST, &invoke_path(), Some(&tampered), &[], &b);
    assert_eq!(a.status, 401);

    // An Exchange token is refused by Graph.
    let e = crate::auth::verify_graph_token(
        &k.app,
        Some(&format!("Bearer {exo_token}")),
        OffsetDateTime::now_utc(),
    )
    .unwrap_err();
    assert_eq!(
        e.message,
        "Access token validation failure. Invalid audience."
    );

    // Each token carries its own resource's roles.
    let claims = crate::auth::verify_exchange_token(
        &k.app,
        Some(&format!("Bearer {exo_token}")),
        OffsetDateTime::now_utc(),
    )
    .unwrap();
    assert_eq!(claims.roles, vec!["Exchange.ManageAsApp"]);
    let claims = crate::auth::verify_graph_token(
        &k.app,
        Some(&format!("Bearer {graph_token}")),
        OffsetDateTime::now_utc(),
    )
    .unwrap();
    assert!(!claims.has_any(&["Exchange.ManageAsApp"]));
    assert!(claims.has_any(&["User.ReadWrite.All"]));

    // The right token works.
    let a = k.exchange_raw(Method::POST, &invoke_path(), Some(&exo_token), &[], &b);
    assert_eq!(a.status, 200, "{}", a.body);

    // Without the Exchange.ManageAsApp permission the token has no role for Exchange.
    let k2 = kit_with(vec!["User.ReadWrite.All".into()]);
    let a = k2.exo("Get-OrganizationConfig", json!({}));
    assert_eq!(a.status, 401);
    assert!(
        a.header("x-ms-diagnostics")
            .unwrap()
            .contains("Exchange.ManageAsApp")
    );
}

#[test]
fn envelope_shapes_and_errors() {
    let k = kit();
    let token = k.token(OUTLOOK_AUDIENCE);
    let a = k.exo("Get-Mailbox", json!({}));
    assert_eq!(a.status, 200);
    assert_eq!(
        a.body["@odata.context"],
        format!(
            "https://127.0.0.1:9/adminapi/beta/{TENANT}/$metadata#Collection(Exchange.GenericHashTable)"
        )
    );
    assert_eq!(a.body["@adminapi.warnings"], json!([]));

    // The tenant may be named by a verified domain.
    let a = k.exchange_raw(
        Method::POST,
        "/beta/libertygoldsilver.onmicrosoft.com/InvokeCommand",
        Some(&token),
        &[],
        &body("Get-Mailbox", json!({})),
    );
    assert_eq!(a.status, 200, "{}", a.body);

    let a = k.exo("Get-Mailboxes", json!({}));
    assert_exo_error(
        &a,
        400,
        "BadRequest",
        "|System.Management.Automation.CommandNotFoundException|The term 'Get-Mailboxes' is not recognized as the name of a cmdlet",
    );
    for (method, path, b, status) in [
        (
            Method::GET,
            invoke_path(),
            body("Get-Mailbox", json!({})),
            405,
        ),
        (
            Method::POST,
            format!("/v1.0/{TENANT}/InvokeCommand"),
            body("Get-Mailbox", json!({})),
            405,
        ),
        (
            Method::POST,
            "/beta/contoso.onmicrosoft.com/InvokeCommand".to_string(),
            body("Get-Mailbox", json!({})),
            404,
        ),
        (Method::POST, invoke_path(), b"not json".to_vec(), 400),
        (
            Method::POST,
            invoke_path(),
            b"{\"Cmdlet\": 1}".to_vec(),
            400,
        ),
        (
            Method::POST,
            format!("/beta/{TENANT}/Mailbox"),
            Vec::new(),
            404,
        ),
    ] {
        let a = k.exchange_raw(method.clone(), &path, Some(&token), &[], &b);
        assert_eq!(a.status, status, "{method} {path}: {}", a.body);
        assert!(a.body["error"]["code"].is_string());
    }
    // Cmdlet names are case-insensitive, as in PowerShell.
    assert_eq!(k.exo("get-organizationconfig", json!({})).status, 200);
}

#[test]
fn paging_with_maxpagesize() {
    let k = kit();
    k.mailbox_user("ann");
    k.mailbox_user("bob");
    let token = k.token(OUTLOOK_AUDIENCE);
    let b = body("Get-Mailbox", json!({"ResultSize": "Unlimited"}));
    let prefer = [("Prefer", "odata.maxpagesize=2")];
    let a = k.exchange_raw(Method::POST, &invoke_path(), Some(&token), &prefer, &b);
    assert_eq!(a.value().len(), 2);
    let next = a.body["@odata.nextLink"].as_str().unwrap().to_string();
    let rest = next.strip_prefix("https://127.0.0.1:9/adminapi").unwrap();
    let a = k.exchange_raw(Method::POST, rest, Some(&token), &prefer, &b);
    assert_eq!(a.value().len(), 1);
    assert!(a.body.get("@odata.nextLink").is_none());
}

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
    assert!(k.ok("Get-Mailbox", json!({"Identity": ann}))[0]["ForwardingSmtpAddress"].is_null());

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

#[test]
fn organization_configuration() {
    let k = kit();
    let org = &k.ok("Get-OrganizationConfig", json!({}))[0];
    assert_eq!(org["ReadTrackingEnabled"], false);
    assert_eq!(org["AuditDisabled"], false);
    assert!(org["FocusedInboxOn"].is_null());
    assert_eq!(org["DisablePlusAddressInRecipients"], false);

    k.ok(
        "Set-OrganizationConfig",
        json!({"ReadTrackingEnabled": true, "FocusedInboxOn": true}),
    );
    let org = &k.ok("Get-OrganizationConfig", json!({}))[0];
    assert_eq!(org["ReadTrackingEnabled"], true);
    assert_eq!(org["FocusedInboxOn"], true);
    assert!(org["FocusedInboxOnLastUpdateTime"].is_string());
    let a = k.exo(
        "Set-OrganizationConfig",
        json!({"ReadTrackingEnabled": true}),
    );
    assert_eq!(a.warnings().len(), 1, "{}", a.body);

    // AllowPlusAddressInRecipients is gone from the cloud cmdlet; AdfsIssuer is on-premises
    // only; EwsEnabled exists but is not emulated.
    assert_exo_error(
        &k.exo(
            "Set-OrganizationConfig",
            json!({"AllowPlusAddressInRecipients": true}),
        ),
        400,
        "BadRequest",
        "A parameter cannot be found that matches parameter name 'AllowPlusAddressInRecipients'.",
    );
    assert_exo_error(
        &k.exo("Set-OrganizationConfig", json!({"AdfsIssuer": "https://x"})),
        400,
        "BadRequest",
        "A parameter cannot be found",
    );
    assert_exo_error(
        &k.exo("Set-OrganizationConfig", json!({"EwsEnabled": false})),
        400,
        "BadRequest",
        "does not emulate",
    );
    assert_exo_error(
        &k.exo("Set-OrganizationConfig", json!({"AuditDisabled": "maybe"})),
        400,
        "BadRequest",
        "Boolean parameters accept only Boolean values and numbers",
    );

    // Admin audit log, transport and external tagging.
    assert_eq!(
        k.ok("Get-AdminAuditLogConfig", json!({}))[0]["UnifiedAuditLogIngestionEnabled"],
        false
    );
    k.ok(
        "Set-AdminAuditLogConfig",
        json!({"UnifiedAuditLogIngestionEnabled": true}),
    );
    let audit = &k.ok("Get-AdminAuditLogConfig", json!({}))[0];
    assert_eq!(audit["UnifiedAuditLogIngestionEnabled"], true);
    assert!(audit["UnifiedAuditLogFirstOptInDate"].is_string());
    assert_exo_error(
        &k.exo(
            "Set-AdminAuditLogConfig",
            json!({"AdminAuditLogEnabled": true}),
        ),
        400,
        "BadRequest",
        "A parameter cannot be found",
    );

    assert_eq!(
        k.ok("Get-TransportConfig", json!({}))[0]["SmtpClientAuthenticationDisabled"],
        false
    );
    k.ok(
        "Set-TransportConfig",
        json!({"SmtpClientAuthenticationDisabled": true}),
    );
    assert_eq!(
        k.ok("Get-TransportConfig", json!({}))[0]["SmtpClientAuthenticationDisabled"],
        true
    );
    assert_eq!(
        k.exo("Get-TransportConfig", json!({"Identity": "contoso.com"}))
            .status,
        404
    );

    assert_eq!(
        k.ok("Get-ExternalInOutlook", json!({}))[0]["Enabled"],
        false
    );
    k.ok(
        "Set-ExternalInOutlook",
        json!({"Enabled": true, "AllowList": ["partner.com", "x@fabrikam.com"]}),
    );
    k.ok(
        "Set-ExternalInOutlook",
        json!({"AllowList": {"@odata.type": "#Exchange.GenericHashTable", "Add": "y@fabrikam.com", "Remove": "partner.com"}}),
    );
    let ext = &k.ok("Get-ExternalInOutlook", json!({}))[0];
    assert_eq!(ext["Enabled"], true);
    assert_eq!(
        ext["AllowList"],
        json!(["x@fabrikam.com", "y@fabrikam.com"])
    );
}

#[test]
fn retention_tags_and_policies() {
    let k = kit();
    let (_, ann) = k.mailbox_user("ann");
    let tags = k.ok("Get-RetentionPolicyTag", json!({}));
    assert!(
        tags.iter()
            .any(|t| t["Name"] == "Default 2 year move to archive")
    );
    let policies = k.ok("Get-RetentionPolicy", json!({}));
    assert_eq!(policies[0]["Name"], "Default MRM Policy");
    assert_eq!(policies[0]["IsDefault"], true);

    let tag = &k.ok(
        "New-RetentionPolicyTag",
        json!({"Name": "Mail 3 years", "Type": "All", "AgeLimitForRetention": 1095, "RetentionAction": "DeleteAndAllowRecovery", "RetentionEnabled": true}),
    )[0];
    assert_eq!(tag["AgeLimitForRetention"], "1095.00:00:00");
    assert_eq!(tag["Type"], "All");
    assert_eq!(
        k.exo("New-RetentionPolicyTag", json!({"Name": "Mail 3 years", "Type": "All", "AgeLimitForRetention": 1, "RetentionAction": "PermanentlyDelete"}))
            .status,
        400
    );
    // Documented rules.
    for (params, want) in [
        (
            json!({"Name": "a", "Type": "All", "RetentionEnabled": true}),
            "AgeLimitForRetention and RetentionAction",
        ),
        (
            json!({"Name": "b", "Type": "RecoverableItems", "AgeLimitForRetention": 14, "RetentionAction": "PermanentlyDelete"}),
            "only valid retention action is MoveToArchive",
        ),
        (
            json!({"Name": "c", "Type": "Inbox", "AgeLimitForRetention": 14, "RetentionAction": "MoveToArchive"}),
            "MoveToArchive action can be used only",
        ),
        (
            json!({"Name": "d", "Type": "Everything", "AgeLimitForRetention": 14, "RetentionAction": "MoveToArchive"}),
            "Unable to match the identifier name Everything",
        ),
        (
            json!({"Name": "e", "Type": "All", "AgeLimitForRetention": 14, "RetentionAction": "Shred"}),
            "DeleteAndAllowRecovery, PermanentlyDelete",
        ),
    ] {
        let a = k.exo("New-RetentionPolicyTag", params.clone());
        assert_eq!(a.status, 400, "{params}");
        assert!(a.detail().contains(want), "{params}: {}", a.detail());
    }

    let policy = &k.ok(
        "New-RetentionPolicy",
        json!({"Name": "Mail 3 years policy", "RetentionPolicyTagLinks": ["Mail 3 years", "1 Week Delete"]}),
    )[0];
    assert_eq!(
        policy["RetentionPolicyTagLinks"],
        json!(["Mail 3 years", "1 Week Delete"])
    );
    assert_eq!(policy["IsDefault"], false);
    // Two default policy tags in one policy are refused.
    let a = k.exo(
        "New-RetentionPolicy",
        json!({"Name": "two", "RetentionPolicyTagLinks": "Mail 3 years,Default 2 year move to archive"}),
    );
    assert!(
        a.detail().contains("only one default policy tag"),
        "{}",
        a.body
    );
    assert_eq!(
        k.exo(
            "New-RetentionPolicy",
            json!({"Name": "x", "RetentionPolicyTagLinks": ["nope"]})
        )
        .status,
        404
    );

    k.ok(
        "Set-Mailbox",
        json!({"Identity": ann, "RetentionPolicy": "Mail 3 years policy"}),
    );
    assert_eq!(
        k.ok("Get-Mailbox", json!({"Identity": ann}))[0]["RetentionPolicy"],
        "Mail 3 years policy"
    );
    // In use: removal needs -Force, and leaves the mailbox without a policy.
    let a = k.exo(
        "Remove-RetentionPolicy",
        json!({"Identity": "Mail 3 years policy", "Confirm": false}),
    );
    assert_eq!(a.status, 400);
    assert!(a.detail().contains("use -Force"), "{}", a.detail());
    k.ok(
        "Remove-RetentionPolicy",
        json!({"Identity": "Mail 3 years policy", "Force": true, "Confirm": false}),
    );
    assert!(k.ok("Get-Mailbox", json!({"Identity": ann}))[0]["RetentionPolicy"].is_null());
    assert_eq!(
        k.exo(
            "Get-RetentionPolicy",
            json!({"Identity": "Mail 3 years policy"})
        )
        .status,
        404
    );
    k.ok(
        "Remove-RetentionPolicyTag",
        json!({"Identity": "Mail 3 years", "Confirm": false}),
    );
    assert_eq!(
        k.exo(
            "Remove-RetentionPolicyTag",
            json!({"Identity": "Mail 3 years"})
        )
        .status,
        404
    );

    // Set-RetentionPolicy -IsDefault warns that it replaces the default.
    k.ok("New-RetentionPolicy", json!({"Name": "Other"}));
    let a = k.exo(
        "Set-RetentionPolicy",
        json!({"Identity": "Other", "IsDefault": true}),
    );
    assert_eq!(a.status, 200);
    assert!(a.warnings()[0].contains("replaces 'Default MRM Policy'"));
    // A mailbox with no policy of its own follows the default.
    let (_, bob) = k.mailbox_user("bob");
    assert_eq!(
        k.ok("Get-Mailbox", json!({"Identity": bob}))[0]["RetentionPolicy"],
        "Other"
    );
}

#[test]
fn organization_add_ins() {
    let k = kit();
    let (_, ann) = k.mailbox_user("ann");
    let url = "https://127.0.0.1:9/_sandbox/addins/message-tagger.xml";
    let app = &k.ok(
        "New-App",
        json!({"OrganizationApp": true, "Url": url, "ProvidedTo": "SpecificUsers", "UserList": format!("{ann},{ADMIN}"), "DefaultStateForUser": "Enabled"}),
    )[0];
    for (prop, want) in [
        ("AppId", json!("5d3e7b1a-9c64-4f0e-8a21-6b2f4c1d9e07")),
        ("DisplayName", json!("Message Tagger")),
        ("AppVersion", json!("1.0.0.0")),
        ("ProviderName", json!("Liberty Gold Silver IT")),
        ("Enabled", json!(true)),
        ("ProvidedTo", json!("SpecificUsers")),
        ("UserList", json!([ann, ADMIN])),
        ("DefaultStateForUser", json!("Enabled")),
        ("Scope", json!("Organization")),
    ] {
        assert_eq!(app[prop], want, "{prop}");
    }
    let listed = k.ok("Get-App", json!({"OrganizationApp": true}));
    assert_eq!(listed.len(), 1);
    assert_eq!(
        k.ok(
            "Get-App",
            json!({"OrganizationApp": true, "Identity": "5d3e7b1a-9c64-4f0e-8a21-6b2f4c1d9e07"})
        )[0]["DisplayName"],
        "Message Tagger"
    );
    // Installing it twice is refused.
    let a = k.exo("New-App", json!({"OrganizationApp": true, "Url": url}));
    assert!(a.detail().contains("already installed"), "{}", a.body);

    // Manifests Exchange can't use.
    for (name, want) in [
        (
            "compliance-footer.json",
            "Data at the root level is invalid. Line 1, position 1.",
        ),
        ("not-a-manifest.html", "DTD is prohibited"),
        ("nothing-here.xml", "(404) Not Found"),
    ] {
        let a = k.exo(
            "New-App",
            json!({"OrganizationApp": true, "Url": format!("https://127.0.0.1:9/_sandbox/addins/{name}")}),
        );
        assert_eq!(a.status, 400, "{name}");
        assert!(a.detail().contains(want), "{name}: {}", a.detail());
    }
    let a = k.exo(
        "New-App",
        json!({"OrganizationApp": true, "Url": "https://contoso.example/manifest.xml"}),
    );
    assert!(
        a.detail().contains("couldn't be downloaded"),
        "{}",
        a.detail()
    );
    // A crafted one: entity expansion is refused.
    k.app.addins.put(
        "bomb.xml",
        crate::tenant::addins::Entry {
            content_type: "application/xml".into(),
            body: b"<?xml version=\"1.0\"?><!DOCTYPE lolz [<!ENTITY lol \"lol\"><!ENTITY lol2 \"&lol;&lol;\">]><OfficeApp>&lol2;</OfficeApp>".to_vec(),
        },
    );
    let a = k.exo(
        "New-App",
        json!({"OrganizationApp": true, "Url": "https://127.0.0.1:9/_sandbox/addins/bomb.xml"}),
    );
    assert!(a.detail().contains("DTD is prohibited"), "{}", a.detail());

    // Enum and identity validation.
    assert!(
        k.exo(
            "New-App",
            json!({"OrganizationApp": true, "Url": url, "ProvidedTo": "Some"})
        )
        .detail()
        .contains("Everyone, SpecificUsers")
    );
    let a = k.exo(
        "New-App",
        json!({"OrganizationApp": true, "Url": url, "ProvidedTo": "SpecificUsers", "UserList": ["ghost"]}),
    );
    assert_eq!(a.status, 404);
    // Without -OrganizationApp there is no mailbox to act on with app-only access.
    assert_eq!(k.exo("Get-App", json!({})).status, 400);

    k.ok(
        "Remove-App",
        json!({"OrganizationApp": true, "Identity": "5d3e7b1a-9c64-4f0e-8a21-6b2f4c1d9e07", "Confirm": false}),
    );
    assert!(k.ok("Get-App", json!({"OrganizationApp": true})).is_empty());
    assert_exo_error(
        &k.exo(
            "Remove-App",
            json!({"OrganizationApp": true, "Identity": "5d3e7b1a-9c64-4f0e-8a21-6b2f4c1d9e07"}),
        ),
        404,
        "NotFound",
        "ManagementObjectNotFoundException",
    );
}

#[test]
fn message_trace_from_sent_mail() {
    let k = kit();
    let (_, ann) = k.mailbox_user("ann");
    k.send(
        ADMIN,
        &[&ann, "partner@example.org", "ghost@libertygoldsilver.com"],
        "Quarterly report",
    );
    k.send(&ann, &[ADMIN], "Re: Quarterly report");
    let outbox = k.app.outbox.lock().unwrap().clone();
    let message_id = outbox[0]["internetMessageId"].as_str().unwrap().to_string();

    let all = k.ok("Get-MessageTraceV2", json!({}));
    assert_eq!(all.len(), 4);
    let by_sender = k.ok("Get-MessageTraceV2", json!({"SenderAddress": ADMIN}));
    assert_eq!(by_sender.len(), 3);
    let statuses: Vec<(&str, &str)> = by_sender
        .iter()
        .map(|r| {
            (
                r["RecipientAddress"].as_str().unwrap(),
                r["Status"].as_str().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        statuses,
        vec![
            ("ann@libertygoldsilver.com", "Delivered"),
            ("ghost@libertygoldsilver.com", "Failed"),
            ("partner@example.org", "Delivered"),
        ]
    );
    let external = by_sender
        .iter()
        .find(|r| r["RecipientAddress"] == "partner@example.org")
        .unwrap();
    assert!(external["ToIP"].as_str().unwrap().starts_with("203.0.113."));
    assert!(by_sender[0]["ToIP"].is_null());
    let r = &by_sender[0];
    assert_eq!(r["MessageId"], message_id);
    assert_eq!(r["Subject"], "Quarterly report");
    assert!(r["Size"].as_u64().unwrap() > 0);
    assert!(uuid::Uuid::parse_str(r["MessageTraceId"].as_str().unwrap()).is_ok());

    let by_recipient = k.ok("Get-MessageTraceV2", json!({"RecipientAddress": ADMIN}));
    assert_eq!(by_recipient.len(), 1);
    assert_eq!(by_recipient[0]["SenderAddress"], ann);
    assert_eq!(
        k.ok("Get-MessageTraceV2", json!({"MessageId": message_id}))
            .len(),
        3
    );
    assert_eq!(
        k.ok("Get-MessageTraceV2", json!({"Status": "Failed"}))
            .len(),
        1
    );
    assert_eq!(
        k.ok(
            "Get-MessageTraceV2",
            json!({"Subject": "Re:", "SubjectFilterType": "StartsWith"})
        )
        .len(),
        1
    );

    // Paging as documented: StartingRecipientAddress and EndDate from the last record.
    let now = OffsetDateTime::now_utc();
    let start = rfc3339(now - Duration::days(1));
    let end = rfc3339(now + Duration::minutes(1));
    let first = k.exo(
        "Get-MessageTraceV2",
        json!({"StartDate": start, "EndDate": end, "ResultSize": 2}),
    );
    assert_eq!(first.value().len(), 2);
    assert!(
        first.warnings()[0].contains("StartingRecipientAddress"),
        "{}",
        first.body
    );
    let last = first.value().last().unwrap().clone();
    let rest = k.ok(
        "Get-MessageTraceV2",
        json!({"StartDate": start, "EndDate": last["Received"], "StartingRecipientAddress": last["RecipientAddress"]}),
    );
    assert_eq!(rest.len(), 2);
    let mut seen: Vec<String> = first
        .value()
        .iter()
        .chain(rest.iter())
        .map(|r| format!("{}{}", r["MessageTraceId"], r["RecipientAddress"]))
        .collect();
    seen.sort();
    seen.dedup();
    assert_eq!(seen.len(), 4);

    // Details of one recipient.
    let detail = k.ok(
        "Get-MessageTraceDetailV2",
        json!({"MessageTraceId": external["MessageTraceId"], "RecipientAddress": "partner@example.org"}),
    );
    let events: Vec<&str> = detail
        .iter()
        .map(|e| e["Event"].as_str().unwrap())
        .collect();
    assert_eq!(events, vec!["Receive", "Submit", "Send external"]);
}

#[test]
fn message_trace_limits() {
    let k = kit();
    let now = OffsetDateTime::now_utc();
    for (params, want) in [
        (
            json!({"StartDate": rfc3339(now - Duration::days(11)), "EndDate": rfc3339(now)}),
            "can't exceed 10 days",
        ),
        (
            json!({"StartDate": rfc3339(now - Duration::days(95)), "EndDate": rfc3339(now - Duration::days(90))}),
            "can't be older than 90 days",
        ),
        (
            json!({"StartDate": rfc3339(now - Duration::days(1))}),
            "both StartDate and EndDate",
        ),
        (
            json!({"StartDate": rfc3339(now), "EndDate": rfc3339(now - Duration::days(1))}),
            "earlier than the EndDate",
        ),
        (json!({"ResultSize": 5001}), "maximum allowed range of 5000"),
        (json!({"Status": "Lost"}), "Delivered, Expanded, Failed"),
        (
            json!({"StartDate": "someday", "EndDate": "later"}),
            "not recognized as a valid DateTime",
        ),
    ] {
        let a = k.exo("Get-MessageTraceV2", params.clone());
        assert_eq!(a.status, 400, "{params}");
        assert!(a.detail().contains(want), "{params}: {}", a.detail());
    }
    // The US short date form works too.
    let d = |t: OffsetDateTime| format!("{}/{}/{}", u8::from(t.month()), t.day(), t.year());
    assert_eq!(
        k.exo(
            "Get-MessageTraceV2",
            json!({"StartDate": d(now - Duration::days(3)), "EndDate": d(now)}),
        )
        .status,
        200
    );
}

#[test]
fn message_trace_throttles_at_100_queries_in_5_minutes() {
    let k = kit();
    for _ in 0..99 {
        k.app
            .exo_trace_queries
            .admit(OffsetDateTime::now_utc())
            .unwrap();
    }
    assert_eq!(k.exo("Get-MessageTraceV2", json!({})).status, 200);
    let a = k.exo("Get-MessageTraceV2", json!({}));
    assert_eq!(a.status, 429, "{}", a.body);
    assert!(a.header("Retry-After").is_some());
}

#[test]
fn request_log_and_faults_see_the_cmdlet() {
    use crate::faults::Fault;
    let k = kit();
    k.app
        .faults
        .add(Fault {
            path_prefix: Some("/adminapi/".into()),
            status: Some(429),
            retry_after: Some(2),
            times: Some(1),
            cmdlet: Some("Get-Mailbox".into()),
            ..Fault::default()
        })
        .unwrap();
    let ctx = crate::web::Ctx::new(None);
    let fault = k
        .app
        .faults
        .take_for(
            &Method::POST,
            "/adminapi/beta/x/InvokeCommand",
            Some("get-mailbox"),
        )
        .unwrap();
    let reply = Answer::from(super::fault_reply(&fault, &ctx).unwrap());
    assert_eq!(reply.status, 429);
    assert_eq!(reply.header("Retry-After"), Some("2"));
    assert_eq!(reply.body["error"]["code"], "TooManyRequests");
    assert_eq!(
        super::cmdlet_name(&body("Set-Mailbox", json!({}))).as_deref(),
        Some("Set-Mailbox")
    );
}
