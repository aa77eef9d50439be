//! The add-in manifest catalogue: the manifests the sandbox serves under
//! `{base}_sandbox/addins/{name}`, and the only place Exchange's `New-App -Url` "downloads" from
//! (the sandbox fetches nothing from the network). It belongs to the sandbox process, not to the
//! persisted tenant.
//!
//! Seeded: `message-tagger.xml` (a valid Outlook add-in-only XML manifest), `compliance-footer.json`
//! (a valid unified manifest for Microsoft 365, schema 1.17) and `not-a-manifest.html` (an HTML
//! page).

use std::collections::BTreeMap;
use std::sync::Mutex;

use url::Url;

/// A valid add-in-only (XML) manifest for an Outlook mail add-in.
pub(crate) const SAMPLE_XML: &str = r#"<?xml version="1.0" encoding="UTF-8"?>
<OfficeApp xmlns="http://schemas.microsoft.com/office/appforoffice/1.1"
           xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance"
           xmlns:bt="http://schemas.microsoft.com/office/officeappbasictypes/1.0"
           xmlns:mailappor="http://schemas.microsoft.com/office/mailappversionoverrides/1.0"
           xsi:type="MailApp">
  <Id>5d3e7b1a-9c64-4f0e-8a21-6b2f4c1d9e07</Id>
  <Version>1.0.0.0</Version>
  <ProviderName>Liberty Gold Silver IT</ProviderName>
  <DefaultLocale>en-US</DefaultLocale>
  <DisplayName DefaultValue="Message Tagger"/>
  <Description DefaultValue="Tags messages with a project code."/>
  <IconUrl DefaultValue="https://addins.libertygoldsilver.com/tagger/icon-64.png"/>
  <HighResolutionIconUrl DefaultValue="https://addins.libertygoldsilver.com/tagger/icon-128.png"/>
  <SupportUrl DefaultValue="https://addins.libertygoldsilver.com/tagger/support"/>
  <AppDomains>
    <AppDomain>https://addins.libertygoldsilver.com</AppDomain>
  </AppDomains>
  <Hosts>
    <Host Name="Mailbox"/>
  </Hosts>
  <Requirements>
    <Sets>
      <Set Name="Mailbox" MinVersion="1.1"/>
    </Sets>
  </Requirements>
  <FormSettings>
    <Form xsi:type="ItemRead">
      <DesktopSettings>
        <SourceLocation DefaultValue="https://addins.libertygoldsilver.com/tagger/taskpane.html"/>
        <RequestedHeight>250</RequestedHeight>
      </DesktopSettings>
    </Form>
  </FormSettings>
  <Permissions>ReadWriteItem</Permissions>
  <Rule xsi:type="RuleCollection" Mode="Or">
    <Rule xsi:type="ItemIs" ItemType="Message" FormType="Read"/>
  </Rule>
  <DisableEntityHighlighting>false</DisableEntityHighlighting>
</OfficeApp>
"#;

/// A valid unified manifest for Microsoft 365 (schema 1.17) for an Outlook add-in.
pub(crate) const SAMPLE_JSON: &str = r##"{
  "$schema": "https://developer.microsoft.com/json-schemas/teams/v1.17/MicrosoftTeams.schema.json",
  "manifestVersion": "1.17",
  "version": "1.0.0",
  "id": "8a1f3c52-4b7e-4d19-9f60-2c5e7a9b3d14",
  "developer": {
    "name": "Liberty Gold Silver IT",
    "websiteUrl": "https://addins.libertygoldsilver.com",
    "privacyUrl": "https://addins.libertygoldsilver.com/privacy",
    "termsOfUseUrl": "https://addins.libertygoldsilver.com/terms"
  },
  "name": {
    "short": "Compliance Footer",
    "full": "Compliance Footer for Outlook"
  },
  "description": {
    "short": "Adds the compliance footer to new messages.",
    "full": "Adds the company's compliance footer to every new message and reply."
  },
  "icons": {
    "outline": "assets/outline.png",
    "color": "assets/color.png"
  },
  "accentColor": "#1E3A5F",
  "localizationInfo": {
    "defaultLanguageTag": "en-us"
  },
  "validDomains": ["addins.libertygoldsilver.com"],
  "authorization": {
    "permissions": {
      "resourceSpecific": [
        {"name": "MailboxItem.ReadWrite.User", "type": "Delegated"}
      ]
    }
  },
  "extensions": [
    {
      "requirements": {
        "scopes": ["mail"],
        "capabilities": [{"name": "Mailbox", "minVersion": "1.3"}]
      },
      "runtimes": [
        {
          "requirements": {"capabilities": [{"name": "Mailbox", "minVersion": "1.3"}]},
          "id": "TaskPaneRuntime",
          "type": "general",
          "code": {"page": "https://addins.libertygoldsilver.com/footer/taskpane.html"},
          "lifetime": "short",
          "actions": [{"id": "TaskPaneRuntimeShow", "type": "openPage"}]
        }
      ],
      "ribbons": [
        {
          "contexts": ["mailCompose"],
          "tabs": [
            {
              "builtInTabId": "TabDefault",
              "groups": [
                {
                  "id": "footerGroup",
                  "label": "Compliance",
                  "icons": [{"size": 16, "url": "https://addins.libertygoldsilver.com/footer/icon-16.png"}],
                  "controls": [
                    {
                      "id": "footerButton",
                      "type": "button",
                      "label": "Add footer",
                      "icons": [{"size": 16, "url": "https://addins.libertygoldsilver.com/footer/icon-16.png"}],
                      "supertip": {"title": "Add footer", "description": "Adds the compliance footer."},
                      "actionId": "TaskPaneRuntimeShow"
                    }
                  ]
                }
              ]
            }
          ]
        }
      ]
    }
  ]
}
"##;

/// Not a manifest at all.
pub(crate) const SAMPLE_INVALID: &str = "<!DOCTYPE html>\n<html><head><title>Add-ins</title></head><body><p>Our add-ins are coming soon.</p></body></html>\n";

/// One catalogue entry.
#[derive(Clone, Debug)]
pub(crate) struct Entry {
    pub content_type: String,
    pub body: Vec<u8>,
}

/// The catalogue, in memory (it belongs to the sandbox process, not to the tenant).
pub(crate) struct Catalogue(Mutex<BTreeMap<String, Entry>>);

impl Default for Catalogue {
    fn default() -> Self {
        let mut entries = BTreeMap::new();
        for (name, content_type, body) in [
            ("message-tagger.xml", "application/xml", SAMPLE_XML),
            ("compliance-footer.json", "application/json", SAMPLE_JSON),
            (
                "not-a-manifest.html",
                "text/html; charset=utf-8",
                SAMPLE_INVALID,
            ),
        ] {
            entries.insert(
                name.to_string(),
                Entry {
                    content_type: content_type.into(),
                    body: body.as_bytes().to_vec(),
                },
            );
        }
        Catalogue(Mutex::new(entries))
    }
}

impl Catalogue {
    fn lock(&self) -> std::sync::MutexGuard<'_, BTreeMap<String, Entry>> {
        self.0.lock().unwrap_or_else(|e| e.into_inner())
    }

    pub fn get(&self, name: &str) -> Option<Entry> {
        self.lock().get(name).cloned()
    }

    pub fn put(&self, name: &str, entry: Entry) {
        self.lock().insert(name.to_string(), entry);
    }

    pub fn remove(&self, name: &str) -> bool {
        self.lock().remove(name).is_some()
    }

    pub fn names(&self) -> Vec<(String, Entry)> {
        self.lock()
            .iter()
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect()
    }

    /// What a download of `url` would find: the catalogue entry it names, or why not.
    pub fn download(&self, base_url: &Url, url: &str) -> Result<Entry, String> {
        let prefix = format!("{base_url}_sandbox/addins/");
        let Some(name) = url
            .get(..prefix.len())
            .filter(|p| p.eq_ignore_ascii_case(&prefix))
            .map(|_| &url[prefix.len()..])
        else {
            return Err(format!(
                "The remote name could not be resolved: the sandbox tenant downloads add-in manifests only from its catalogue ({prefix}{{name}})."
            ));
        };
        let name = name.split(['?', '#']).next().unwrap_or_default();
        self.get(name)
            .ok_or_else(|| "The remote server returned an error: (404) Not Found.".to_string())
    }
}

/// The URL of a catalogue entry.
pub(crate) fn url_of(base_url: &Url, name: &str) -> String {
    format!("{base_url}_sandbox/addins/{name}")
}
