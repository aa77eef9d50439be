//! Exchange Online: cmdlet grants (`Get-Mailbox` in the manifest,
//! `get-mailbox` in approvals), the one endpoint a plugin may call, and the
//! `InvokeCommand` body, parsed into the parts that are judged and rebuilt
//! from them alone, so that a duplicate or differently-cased key Exchange
//! might read instead cannot ride along.

use crate::denial::{Denial, DenialKind};
use crate::grant::GrantError;
use http::{Method, Uri};
use serde_json::{Map, Value};
use std::fmt;
use std::str::FromStr;

/// The Exchange Online host a plugin may reach, for granted cmdlets only.
pub const EXCHANGE_AUTHORITY: &str = "outlook.office365.com";

/// One granted cmdlet. Cmdlet names are case-insensitive, so the grant is
/// kept (and shown) lower-cased.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct CmdletGrant {
    name: String,
}

impl CmdletGrant {
    /// A `Verb-Noun` name of ASCII letters, digits and `-`.
    pub fn parse(text: &str) -> Result<CmdletGrant, GrantError> {
        let ok = text.split_once('-').is_some_and(|(verb, noun)| {
            !verb.is_empty()
                && !noun.is_empty()
                && text.chars().all(|c| c.is_ascii_alphanumeric() || c == '-')
        });
        if !ok {
            return Err(GrantError::Cmdlet(text.into()));
        }
        Ok(CmdletGrant {
            name: text.to_ascii_lowercase(),
        })
    }

    /// Whether this grant allows running `cmdlet`, as the body names it.
    pub fn allows(&self, cmdlet: &str) -> bool {
        self.name.eq_ignore_ascii_case(cmdlet)
    }
}

impl fmt::Display for CmdletGrant {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.name)
    }
}

impl FromStr for CmdletGrant {
    type Err = GrantError;

    fn from_str(text: &str) -> Result<CmdletGrant, GrantError> {
        CmdletGrant::parse(text)
    }
}

/// Whether a cmdlet only reads: the `Get-` verb.
pub(crate) fn reads_only(cmdlet: &str) -> bool {
    cmdlet.to_ascii_lowercase().starts_with("get-")
}

/// A request to Exchange Online is exactly `POST
/// /adminapi/beta/{tenant}/InvokeCommand` for this tenant, with no query.
/// The path is compared as sent: nothing to normalise, nothing to smuggle
/// through encodings. An empty `tenant` (no tenant connection) matches
/// nothing.
pub(crate) fn check_endpoint(method: &Method, uri: &Uri, tenant: &str) -> Result<(), Denial> {
    let ok = *method == Method::POST
        && uri.query().is_none()
        && !tenant.is_empty()
        && uri
            .path()
            .eq_ignore_ascii_case(&format!("/adminapi/beta/{tenant}/InvokeCommand"));
    if !ok {
        return Err(DenialKind::ExchangeEndpoint {
            method: method.to_string(),
            path: uri.path().to_string(),
        }
        .into());
    }
    Ok(())
}

/// An `InvokeCommand` body that may be sent.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct JudgedCommand {
    /// The cmdlet, as the plugin spelled it.
    pub cmdlet: String,
    /// The rebuilt body.
    pub body: String,
}

/// An `InvokeCommand` body, as judged: the cmdlet and its parameters.
pub(crate) struct Command {
    pub cmdlet: String,
    parameters: Option<Map<String, Value>>,
}

impl Command {
    pub fn parse(body: &[u8]) -> Result<Command, Denial> {
        let v: Value =
            serde_json::from_slice(body).map_err(|_| Denial::from(DenialKind::ExchangeNotJson))?;
        let input = &v["CmdletInput"];
        let cmdlet = input["CmdletName"]
            .as_str()
            .ok_or(DenialKind::ExchangeNoCmdlet)?;
        let parameters = match &input["Parameters"] {
            Value::Object(p) => Some(p.clone()),
            Value::Null => None,
            _ => return Err(DenialKind::ExchangeParameters.into()),
        };
        Ok(Command {
            cmdlet: cmdlet.to_string(),
            parameters,
        })
    }

    /// The body to send, from the judged parts only.
    pub fn to_body(&self) -> String {
        let mut judged = serde_json::json!({"CmdletInput": {"CmdletName": self.cmdlet}});
        if let Some(p) = &self.parameters {
            judged["CmdletInput"]["Parameters"] = Value::Object(p.clone());
        }
        judged.to_string()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cmdlet_grants_parse_lower_cased_and_match_any_case() {
        let g = CmdletGrant::parse("Get-Mailbox").unwrap();
        assert_eq!(g.to_string(), "get-mailbox");
        for (cmdlet, want) in [
            ("Get-Mailbox", true),
            ("get-mailbox", true),
            ("GET-MAILBOX", true),
            ("Get-MailboxStatistics", false),
            ("Set-Mailbox", false),
            ("Get-Mailbox ", false),
        ] {
            assert_eq!(g.allows(cmdlet), want, "{cmdlet:?}");
        }
        for bad in [
            "Get Mailbox; rm",
            "GetMailbox",
            "-Mailbox",
            "Get-",
            "Get-Mailbox(x)",
            "",
        ] {
            assert_eq!(
                CmdletGrant::parse(bad),
                Err(GrantError::Cmdlet(bad.into())),
                "{bad:?}"
            );
        }
    }

    #[test]
    fn only_this_tenants_invoke_command_is_reachable() {
        let uri = |p: &str| -> Uri { format!("https://{EXCHANGE_AUTHORITY}{p}").parse().unwrap() };
        let ok = "/adminapi/beta/t1/InvokeCommand";
        let cases = [
            (Method::POST, ok, "t1", true),
            (Method::POST, "/adminapi/beta/t1/invokecommand", "t1", true),
            (Method::GET, ok, "t1", false),
            (Method::POST, "/adminapi/beta/t2/InvokeCommand", "t1", false),
            (
                Method::POST,
                "/adminapi/beta/t1/InvokeCommand?x=1",
                "t1",
                false,
            ),
            (
                Method::POST,
                "/adminapi/beta/t1/InvokeCommand/",
                "t1",
                false,
            ),
            (Method::POST, "/adminapi/beta//InvokeCommand", "", false),
        ];
        for (method, path, tenant, want) in cases {
            assert_eq!(
                check_endpoint(&method, &uri(path), tenant).is_ok(),
                want,
                "{method} {path} for {tenant:?}"
            );
        }
    }
}
