//! Outlook add-in manifests, fetched and checked by the host before a plugin
//! deploys one: the URL must be https on a public host (in sandbox mode, the
//! sandbox itself), no redirects, at most 1 MiB; the bytes must be an
//! add-in-only XML manifest (`OfficeApp` of type `MailApp`) or a unified
//! JSON manifest, from which id, version, names, permissions and hosts are
//! read so the administrator sees what the add-in asks for.

use crate::errors::{CodedError, ErrorCode};
use quick_xml::events::Event;
use sha2::{Digest, Sha256};
use std::time::Duration;

const MAX_MANIFEST: usize = 1024 * 1024;
const TIMEOUT: Duration = Duration::from_secs(15);

#[derive(Clone, Debug, PartialEq, Default)]
pub struct AddinManifest {
    pub format: String,
    pub id: String,
    pub version: String,
    pub display_name: String,
    pub provider: String,
    pub permissions: Vec<String>,
    pub hosts: Vec<String>,
    pub sha256: String,
    pub url: String,
}

/// Where manifests may come from.
#[derive(Clone)]
pub struct ManifestFetcher {
    pub client: reqwest::Client,
    /// Sandbox mode: the only authority allowed (the sandbox's own).
    pub only_authority: Option<String>,
}

fn bad(message: String) -> CodedError {
    CodedError::new(ErrorCode::Input001, message)
}

impl ManifestFetcher {
    /// Checks the URL, fetches it and reads the manifest.
    pub async fn fetch(&self, url: &str) -> Result<AddinManifest, CodedError> {
        let parsed = url::Url::parse(url).map_err(|_| {
            bad(format!(
                "{url:?} is not a URL; give the https address of the add-in's manifest."
            ))
        })?;
        self.check_url(&parsed)?;
        if self.only_authority.is_none() {
            public_addresses_only(&parsed).await?;
        }
        let resp = tokio::time::timeout(TIMEOUT, self.client.get(parsed.clone()).send())
            .await
            .map_err(|_| {
                bad(format!(
                    "{url} did not answer within {} s.",
                    TIMEOUT.as_secs()
                ))
            })?
            .map_err(|e| bad(format!("{url} could not be fetched ({}).", e.without_url())))?;
        let status = resp.status();
        if status.is_redirection() {
            return Err(bad(format!(
                "{url} redirects elsewhere; give the manifest's final address."
            )));
        }
        if !status.is_success() {
            return Err(bad(format!(
                "{url} answered HTTP {}; check the address.",
                status.as_u16()
            )));
        }
        if resp
            .content_length()
            .is_some_and(|l| l as usize > MAX_MANIFEST)
        {
            return Err(bad(format!(
                "{url} is larger than a manifest can be (1 MiB)."
            )));
        }
        let bytes = resp
            .bytes()
            .await
            .map_err(|e| bad(format!("{url} broke off ({}).", e.without_url())))?;
        if bytes.len() > MAX_MANIFEST {
            return Err(bad(format!(
                "{url} is larger than a manifest can be (1 MiB)."
            )));
        }
        let mut manifest = parse(&bytes).map_err(|why| {
            bad(format!(
                "{url} is not a valid Outlook add-in manifest: {why}."
            ))
        })?;
        manifest.sha256 = hex::encode(Sha256::digest(&bytes));
        manifest.url = url.to_string();
        Ok(manifest)
    }

    fn check_url(&self, url: &url::Url) -> Result<(), CodedError> {
        if url.scheme() != "https" {
            return Err(bad(format!(
                "{url} is not https; Outlook loads add-ins over https only."
            )));
        }
        if !url.username().is_empty() || url.password().is_some() {
            return Err(bad(
                "The manifest URL must not carry a user name or password.".into(),
            ));
        }
        let host = url.host_str().unwrap_or("");
        let authority = match url.port() {
            Some(p) => format!("{host}:{p}"),
            None => host.to_string(),
        };
        if let Some(only) = &self.only_authority {
            if !authority.eq_ignore_ascii_case(only) {
                return Err(bad(format!(
                    "In sandbox mode add-in manifests come from the sandbox ({only}), not {authority}."
                )));
            }
            return Ok(());
        }
        // `localhost.` is `localhost`: judge the name without its root dot.
        let name = host.trim_end_matches('.').to_ascii_lowercase();
        let private = matches!(url.host(), Some(url::Host::Ipv4(_) | url::Host::Ipv6(_)))
            || name == "localhost"
            || [".local", ".localhost", ".internal", ".lan", ".home.arpa"]
                .iter()
                .any(|s| name.ends_with(s))
            || !name.contains('.');
        if private {
            return Err(bad(format!(
                "{host} is not a public host name; add-in manifests must be on a public https site."
            )));
        }
        Ok(())
    }
}

/// A public name can still point inside the network: every address it
/// resolves to must be a public one. (The fetch resolves again, so a name
/// that changes its answer in between is not caught; the 1 MiB, no-redirect
/// and manifest-shape checks still bound what it can reach.)
async fn public_addresses_only(url: &url::Url) -> Result<(), CodedError> {
    let host = url.host_str().unwrap_or("").trim_end_matches('.');
    let port = url.port_or_known_default().unwrap_or(443);
    let addrs = tokio::net::lookup_host((host, port))
        .await
        .map_err(|_| bad(format!("{host} could not be resolved; check the address.")))?;
    for addr in addrs {
        if !is_public(addr.ip()) {
            return Err(bad(format!(
                "{host} resolves to {}, which is not a public address; add-in manifests must be on a public https site.",
                addr.ip()
            )));
        }
    }
    Ok(())
}

fn is_public(ip: std::net::IpAddr) -> bool {
    use std::net::IpAddr;
    match ip {
        IpAddr::V4(v4) => {
            let [a, b, ..] = v4.octets();
            !(v4.is_loopback()
                || v4.is_private()
                || v4.is_link_local()
                || v4.is_unspecified()
                || v4.is_broadcast()
                || v4.is_documentation()
                || a == 0
                || (a == 100 && (64..128).contains(&b))
                || a >= 240)
        }
        IpAddr::V6(v6) => {
            if let Some(v4) = v6.to_ipv4_mapped() {
                return is_public(IpAddr::V4(v4));
            }
            let first = v6.segments()[0];
            !(v6.is_loopback()
                || v6.is_unspecified()
                || (first & 0xfe00) == 0xfc00
                || (first & 0xffc0) == 0xfe80)
        }
    }
}

/// Why bytes are not an Outlook add-in manifest; the text completes "… is
/// not a valid Outlook add-in manifest: ".
#[derive(Debug, thiserror::Error)]
pub enum NotAManifest {
    #[error("it is not UTF-8 text")]
    NotUtf8,
    #[error("it is neither XML nor JSON")]
    NeitherXmlNorJson,
    #[error("its XML is malformed ({0})")]
    MalformedXml(quick_xml::Error),
    #[error("its root element is <{0}>, not <OfficeApp>")]
    Root(String),
    #[error("its OfficeApp is not of type MailApp (an Outlook add-in)")]
    NotMailApp,
    #[error("it has no <OfficeApp> element")]
    NoOfficeApp,
    #[error("its JSON is malformed ({0})")]
    MalformedJson(serde_json::Error),
    #[error("it has no manifestVersion (not a unified manifest)")]
    NoManifestVersion,
    #[error("its Id {0:?} is not a GUID")]
    Id(String),
    #[error("its Version {0:?} is not a version number like 1.0.0.0")]
    Version(String),
    #[error("it has no display name")]
    NoDisplayName,
    #[error("it is not an Outlook add-in (its hosts are {0:?}, not Mailbox)")]
    NotOutlook(Vec<String>),
}

/// Reads an XML or JSON manifest.
pub fn parse(bytes: &[u8]) -> Result<AddinManifest, NotAManifest> {
    let text = std::str::from_utf8(bytes).map_err(|_| NotAManifest::NotUtf8)?;
    let text = text.trim_start_matches('\u{feff}').trim_start();
    if text.starts_with('<') {
        parse_xml(text)
    } else if text.starts_with('{') {
        parse_json(text)
    } else {
        Err(NotAManifest::NeitherXmlNorJson)
    }
}

fn is_guid(s: &str) -> bool {
    let parts: Vec<&str> = s.split('-').collect();
    parts.len() == 5
        && [8, 4, 4, 4, 12]
            .iter()
            .zip(&parts)
            .all(|(n, p)| p.len() == *n && p.bytes().all(|b| b.is_ascii_hexdigit()))
}

fn is_version(s: &str) -> bool {
    let parts: Vec<&str> = s.split('.').collect();
    (1..=4).contains(&parts.len())
        && parts
            .iter()
            .all(|p| !p.is_empty() && p.len() <= 9 && p.bytes().all(|b| b.is_ascii_digit()))
}

fn finish(mut m: AddinManifest) -> Result<AddinManifest, NotAManifest> {
    if !is_guid(&m.id) {
        return Err(NotAManifest::Id(m.id));
    }
    if !is_version(&m.version) {
        return Err(NotAManifest::Version(m.version));
    }
    if m.display_name.trim().is_empty() {
        return Err(NotAManifest::NoDisplayName);
    }
    if !m.hosts.iter().any(|h| h.eq_ignore_ascii_case("Mailbox")) {
        return Err(NotAManifest::NotOutlook(m.hosts));
    }
    m.permissions.sort();
    m.permissions.dedup();
    Ok(m)
}

/// An add-in only manifest: `<OfficeApp xsi:type="MailApp">` with Id,
/// Version, ProviderName, DisplayName/@DefaultValue, Permissions and
/// Hosts/Host/@Name.
fn parse_xml(text: &str) -> Result<AddinManifest, NotAManifest> {
    let mut reader = quick_xml::Reader::from_str(text);
    reader.config_mut().trim_text(true);
    let mut m = AddinManifest {
        format: "xml".into(),
        ..Default::default()
    };
    // Element names from the root down to the current one.
    let mut stack: Vec<String> = Vec::new();
    let mut root_ok = false;
    loop {
        let event = reader.read_event().map_err(NotAManifest::MalformedXml)?;
        match event {
            Event::Start(e) => {
                let name = on_element(&e, &stack, &mut m, &mut root_ok)?;
                stack.push(name);
            }
            Event::Empty(e) => {
                on_element(&e, &stack, &mut m, &mut root_ok)?;
            }
            Event::Text(t) => {
                let value = t.xml10_content().trim().to_string();
                match (stack.len(), stack.last().map(String::as_str)) {
                    (2, Some("Id")) => m.id = value,
                    (2, Some("Version")) => m.version = value,
                    (2, Some("ProviderName")) => m.provider = value,
                    (2, Some("Permissions")) => m.permissions.push(value),
                    _ => {}
                }
            }
            Event::End(_) => {
                stack.pop();
            }
            Event::Eof => break,
            _ => {}
        }
    }
    if !root_ok {
        return Err(NotAManifest::NoOfficeApp);
    }
    finish(m)
}

/// Reads what an element's attributes say; returns its name.
fn on_element(
    e: &quick_xml::events::BytesStart,
    stack: &[String],
    m: &mut AddinManifest,
    root_ok: &mut bool,
) -> Result<String, NotAManifest> {
    let name = e.local_name().into_inner().to_string();
    let attr = |key: &str| {
        e.attributes().flatten().find_map(|a| {
            (a.key.local_name().into_inner() == key)
                .then(|| {
                    a.normalized_value(quick_xml::XmlVersion::Implicit1_0)
                        .ok()
                        .map(|v| v.into_owned())
                })
                .flatten()
        })
    };
    if stack.is_empty() {
        if name != "OfficeApp" {
            return Err(NotAManifest::Root(name));
        }
        if attr("type").as_deref() != Some("MailApp") {
            return Err(NotAManifest::NotMailApp);
        }
        *root_ok = true;
    }
    match (stack.last().map(String::as_str), name.as_str()) {
        (Some("OfficeApp"), "DisplayName") => {
            m.display_name = attr("DefaultValue").unwrap_or_default()
        }
        (Some("Hosts"), "Host") => m.hosts.extend(attr("Name")),
        _ => {}
    }
    Ok(name)
}

/// A unified manifest (Teams/Microsoft 365 app manifest with a mail
/// extension).
fn parse_json(text: &str) -> Result<AddinManifest, NotAManifest> {
    let v: serde_json::Value = serde_json::from_str(text).map_err(NotAManifest::MalformedJson)?;
    if !v["manifestVersion"].is_string() {
        return Err(NotAManifest::NoManifestVersion);
    }
    let str_at = |p: &str| {
        v.pointer(p)
            .and_then(|x| x.as_str())
            .unwrap_or("")
            .to_string()
    };
    let mut permissions: Vec<String> = v
        .pointer("/authorization/permissions/resourceSpecific")
        .and_then(|x| x.as_array())
        .map(|a| {
            a.iter()
                .filter_map(|p| p["name"].as_str().map(str::to_string))
                .collect()
        })
        .unwrap_or_default();
    permissions.retain(|p| !p.is_empty());
    let mail = v["extensions"].as_array().is_some_and(|exts| {
        exts.iter().any(|e| {
            e.pointer("/requirements/scopes")
                .and_then(|s| s.as_array())
                .is_some_and(|s| s.iter().any(|x| x.as_str() == Some("mail")))
        })
    });
    finish(AddinManifest {
        format: "json".into(),
        id: str_at("/id"),
        version: str_at("/version"),
        display_name: str_at("/name/short"),
        provider: str_at("/developer/name"),
        permissions,
        hosts: if mail {
            vec!["Mailbox".into()]
        } else {
            Vec::new()
        },
        ..Default::default()
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    const XML: &str = r#"<?xml version="1.0" encoding="UTF-8"?>
<OfficeApp xmlns="http://schemas.microsoft.com/office/appforoffice/1.1" xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" xsi:type="MailApp">
  <Id>7a774f0c-7a6f-11e0-85ad-07fb4824019b</Id>
  <Version>1.0.0.0</Version>
  <ProviderName>Contoso</ProviderName>
  <DefaultLocale>en-US</DefaultLocale>
  <DisplayName DefaultValue="Contoso Tracker"/>
  <Description DefaultValue="Tracks things"/>
  <Hosts><Host Name="Mailbox"/></Hosts>
  <Permissions>ReadWriteItem</Permissions>
</OfficeApp>"#;

    #[test]
    fn xml_manifest_is_read() {
        let m = parse(XML.as_bytes()).unwrap();
        assert_eq!(m.format, "xml");
        assert_eq!(m.id, "7a774f0c-7a6f-11e0-85ad-07fb4824019b");
        assert_eq!(m.version, "1.0.0.0");
        assert_eq!(m.display_name, "Contoso Tracker");
        assert_eq!(m.provider, "Contoso");
        assert_eq!(m.permissions, ["ReadWriteItem"]);
        assert_eq!(m.hosts, ["Mailbox"]);
    }

    #[test]
    fn json_manifest_is_read() {
        let json = r#"{"manifestVersion": "1.17", "id": "00000000-1111-2222-3333-444444444444", "version": "2.1.0",
            "name": {"short": "Signer"}, "developer": {"name": "Fabrikam"},
            "authorization": {"permissions": {"resourceSpecific": [{"name": "MailboxItem.Read.User", "type": "Delegated"}]}},
            "extensions": [{"requirements": {"scopes": ["mail"]}}]}"#;
        let m = parse(json.as_bytes()).unwrap();
        assert_eq!(m.format, "json");
        assert_eq!(m.display_name, "Signer");
        assert_eq!(m.permissions, ["MailboxItem.Read.User"]);
    }

    #[test]
    fn non_manifests_are_refused_with_the_reason() {
        let cases = [
            ("<html><body>hi</body></html>", "<OfficeApp>"),
            (&XML.replace("MailApp", "TaskPaneApp"), "MailApp"),
            (
                &XML.replace("7a774f0c-7a6f-11e0-85ad-07fb4824019b", "x"),
                "GUID",
            ),
            (&XML.replace("<Version>1.0.0.0", "<Version>one"), "Version"),
            ("{\"a\": 1}", "manifestVersion"),
            ("hello", "neither XML nor JSON"),
            ("<OfficeApp", "malformed"),
        ];
        for (text, why) in cases {
            let e = parse(text.as_bytes()).unwrap_err().to_string();
            assert!(e.contains(why), "{text}: {e}");
        }
    }

    #[test]
    fn only_public_addresses_are_public() {
        for ip in [
            "127.0.0.1",
            "10.1.2.3",
            "192.168.0.1",
            "172.16.5.5",
            "169.254.169.254",
            "100.64.0.1",
            "0.0.0.0",
            "::1",
            "fd00::1",
            "fe80::1",
            "::ffff:10.0.0.1",
        ] {
            assert!(!is_public(ip.parse().unwrap()), "{ip}");
        }
        for ip in ["52.96.0.1", "2603:1036::1"] {
            assert!(is_public(ip.parse().unwrap()), "{ip}");
        }
    }

    #[tokio::test]
    async fn urls_must_be_public_https() {
        let f = ManifestFetcher {
            client: crate::http_client::build(None).unwrap(),
            only_authority: None,
        };
        for url in [
            "http://contoso.com/m.xml",
            "https://127.0.0.1/m.xml",
            "https://localhost/m.xml",
            "https://[::1]/m.xml",
            "https://intranet/m.xml",
            "https://user:pw@contoso.com/m.xml",
            "https://box.internal/m.xml",
            "https://localhost./m.xml",
            "https://intranet./m.xml",
        ] {
            let e = f.fetch(url).await.unwrap_err();
            assert_eq!(e.code, ErrorCode::Input001, "{url}");
        }
    }
}
