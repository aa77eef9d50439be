//! Reading an Outlook add-in's XML manifest the way `New-App` does before it installs one: a
//! small XML reader that, like .NET's `XmlReader` with DTD processing prohibited, refuses DTDs
//! and undeclared entities (so hostile manifests cannot expand entities or reach files), and the
//! checks of the add-in-only manifest schema that matter for a mail add-in: `OfficeApp` with
//! `xsi:type="MailApp"`, a GUID `Id`, a dotted `Version`, `ProviderName`, `DisplayName`, the
//! `Mailbox` host and one of the four permission levels. The unified (JSON) manifest is not an
//! XML manifest: Exchange's `New-App` cannot read it (it is deployed from the Microsoft 365 admin
//! center), so it fails here as any non-XML file does.

/// The most a manifest may weigh.
pub(crate) const MAX_MANIFEST_BYTES: usize = 256 * 1024;

const XSI: &str = "http://www.w3.org/2001/XMLSchema-instance";
const OFFICE_NAMESPACES: &[&str] = &[
    "http://schemas.microsoft.com/office/appforoffice/1.1",
    "http://schemas.microsoft.com/office/appforoffice/1.0",
];
const PERMISSIONS: &[&str] = &[
    "Restricted",
    "ReadItem",
    "ReadWriteItem",
    "ReadWriteMailbox",
];

/// What `New-App` keeps from a manifest.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct AddinManifest {
    pub id: String,
    pub version: String,
    pub provider_name: String,
    pub display_name: String,
    pub description: String,
    pub default_locale: String,
    pub permissions: String,
    pub icon_url: Option<String>,
    pub source_location: Option<String>,
}

#[derive(Debug, Clone)]
pub(crate) struct Element {
    /// The qualified name as written (`bt:Url`).
    pub name: String,
    pub attrs: Vec<(String, String)>,
    pub children: Vec<Node>,
}

#[derive(Debug, Clone)]
pub(crate) enum Node {
    Element(Element),
    Text(String),
}

fn local(name: &str) -> &str {
    name.rsplit(':').next().unwrap_or(name)
}

impl Element {
    pub fn attr(&self, name: &str) -> Option<&str> {
        self.attrs
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    }

    /// The first child element with this local name.
    pub fn child(&self, name: &str) -> Option<&Element> {
        self.children.iter().find_map(|c| match c {
            Node::Element(e) if local(&e.name) == name => Some(e),
            _ => None,
        })
    }

    pub fn elements(&self) -> impl Iterator<Item = &Element> {
        self.children.iter().filter_map(|c| match c {
            Node::Element(e) => Some(e),
            Node::Text(_) => None,
        })
    }

    pub fn text(&self) -> String {
        self.children
            .iter()
            .filter_map(|c| match c {
                Node::Text(t) => Some(t.as_str()),
                Node::Element(_) => None,
            })
            .collect::<String>()
            .trim()
            .to_string()
    }
}

/// An XmlException-like message with its line and position.
struct Reader<'a> {
    s: &'a str,
    i: usize,
}

impl Reader<'_> {
    fn at(&self, i: usize) -> String {
        let before = &self.s[..i.min(self.s.len())];
        let line = before.matches('\n').count() + 1;
        let col = before.rsplit('\n').next().map_or(0, |l| l.chars().count()) + 1;
        format!("Line {line}, position {col}.")
    }

    fn error(&self, message: &str) -> String {
        format!("{message} {}", self.at(self.i))
    }

    fn rest(&self) -> &str {
        &self.s[self.i..]
    }

    fn eat(&mut self, prefix: &str) -> bool {
        if self.rest().starts_with(prefix) {
            self.i += prefix.len();
            true
        } else {
            false
        }
    }

    fn skip_ws(&mut self) {
        while let Some(c) = self.rest().chars().next() {
            if c.is_whitespace() {
                self.i += c.len_utf8();
            } else {
                break;
            }
        }
    }

    fn until(&mut self, end: &str, what: &str) -> Result<&str, String> {
        match self.rest().find(end) {
            Some(n) => {
                let start = self.i;
                self.i += n + end.len();
                Ok(&self.s[start..start + n])
            }
            None => {
                self.i = self.s.len();
                Err(self.error(&format!(
                    "Unexpected end of file while parsing {what} has occurred."
                )))
            }
        }
    }

    fn name(&mut self) -> Result<String, String> {
        let start = self.i;
        let mut end = start;
        for (n, c) in self.s[start..].char_indices() {
            let ok = c.is_alphanumeric() || matches!(c, '_' | ':' | '-' | '.');
            if !ok || (n == 0 && (c.is_ascii_digit() || matches!(c, '-' | '.'))) {
                break;
            }
            end = start + n + c.len_utf8();
        }
        self.i = end;
        if self.i == start {
            let shown = self
                .rest()
                .chars()
                .next()
                .map_or(String::new(), |c| c.to_string());
            return Err(self.error(&format!("Name cannot begin with the '{shown}' character.")));
        }
        Ok(self.s[start..self.i].to_string())
    }

    /// Skips comments, processing instructions and whitespace; refuses DTDs.
    fn misc(&mut self) -> Result<(), String> {
        loop {
            self.skip_ws();
            if self.eat("<!--") {
                self.until("-->", "a comment")?;
            } else if self.rest().starts_with("<?") {
                self.i += 2;
                self.until("?>", "a processing instruction")?;
            } else if self.rest().starts_with("<!DOCTYPE") || self.rest().starts_with("<!doctype") {
                return Err(self.error(
                    "For security reasons DTD is prohibited in this XML document. To enable DTD processing set the DtdProcessing property on XmlReaderSettings to Parse and pass the settings into XmlReader.Create method.",
                ));
            } else {
                return Ok(());
            }
        }
    }

    fn element(&mut self, depth: usize) -> Result<Element, String> {
        if depth > 64 {
            return Err(self.error("The XML document is nested too deeply."));
        }
        let open_at = self.i;
        if !self.eat("<") {
            return Err(self.error("Data at the root level is invalid."));
        }
        let name = self.name()?;
        let mut attrs: Vec<(String, String)> = Vec::new();
        loop {
            self.skip_ws();
            if self.eat("/>") {
                return Ok(Element {
                    name,
                    attrs,
                    children: Vec::new(),
                });
            }
            if self.eat(">") {
                break;
            }
            if self.rest().is_empty() {
                return Err(self.error("Unexpected end of file has occurred."));
            }
            let key = self.name()?;
            self.skip_ws();
            if !self.eat("=") {
                return Err(self.error(&format!("'=' is expected after the attribute '{key}'.")));
            }
            self.skip_ws();
            let quote = match self.rest().chars().next() {
                Some(q @ ('"' | '\'')) => q,
                _ => {
                    return Err(self
                        .error("'\"' is an unexpected token. The expected token is '\"' or '''."));
                }
            };
            self.i += 1;
            let raw = self
                .until(&quote.to_string(), "an attribute value")?
                .to_string();
            if raw.contains('<') {
                return Err(
                    self.error("'<', hexadecimal value 0x3C, is an invalid attribute character.")
                );
            }
            let value = self.unescape(&raw)?;
            if attrs.iter().any(|(k, _)| *k == key) {
                return Err(self.error(&format!("'{key}' is a duplicate attribute name.")));
            }
            attrs.push((key, value));
        }
        let mut children = Vec::new();
        loop {
            if self.rest().is_empty() {
                return Err(format!(
                    "Unexpected end of file has occurred. The following elements are not closed: {name}, {}",
                    self.at(open_at)
                ));
            }
            if self.eat("</") {
                let end = self.name()?;
                self.skip_ws();
                if !self.eat(">") {
                    return Err(self.error("'>' is expected."));
                }
                if end != name {
                    return Err(format!(
                        "The '{name}' start tag on {} does not match the end tag of '{end}'. {}",
                        self.at(open_at).trim_end_matches('.'),
                        self.at(self.i)
                    ));
                }
                return Ok(Element {
                    name,
                    attrs,
                    children,
                });
            }
            if self.eat("<!--") {
                self.until("-->", "a comment")?;
            } else if self.eat("<![CDATA[") {
                let text = self.until("]]>", "a CDATA section")?.to_string();
                children.push(Node::Text(text));
            } else if self.rest().starts_with("<!") {
                return Err(self.error(
                    "For security reasons DTD is prohibited in this XML document. To enable DTD processing set the DtdProcessing property on XmlReaderSettings to Parse and pass the settings into XmlReader.Create method.",
                ));
            } else if self.rest().starts_with("<?") {
                self.i += 2;
                self.until("?>", "a processing instruction")?;
            } else if self.rest().starts_with('<') {
                children.push(Node::Element(self.element(depth + 1)?));
            } else {
                let n = self.rest().find('<').unwrap_or(self.rest().len());
                let raw = self.s[self.i..self.i + n].to_string();
                self.i += n;
                children.push(Node::Text(self.unescape(&raw)?));
            }
        }
    }

    fn unescape(&self, raw: &str) -> Result<String, String> {
        let mut out = String::with_capacity(raw.len());
        let mut rest = raw;
        while let Some(amp) = rest.find('&') {
            out.push_str(&rest[..amp]);
            let after = &rest[amp + 1..];
            let Some(semi) = after.find(';') else {
                return Err(self.error("An error occurred while parsing EntityName."));
            };
            let entity = &after[..semi];
            let c = match entity {
                "lt" => Some('<'),
                "gt" => Some('>'),
                "amp" => Some('&'),
                "quot" => Some('"'),
                "apos" => Some('\''),
                e if e.starts_with("#x") => u32::from_str_radix(&e[2..], 16)
                    .ok()
                    .and_then(char::from_u32),
                e if e.starts_with('#') => e[1..].parse().ok().and_then(char::from_u32),
                e => return Err(self.error(&format!("Reference to undeclared entity '{e}'."))),
            };
            let Some(c) = c else {
                return Err(self.error(&format!("Invalid character reference '&{entity};'.")));
            };
            out.push(c);
            rest = &after[semi + 1..];
        }
        out.push_str(rest);
        Ok(out)
    }
}

/// Parses an XML document into its root element.
pub(crate) fn parse_xml(bytes: &[u8]) -> Result<Element, String> {
    let text = std::str::from_utf8(bytes)
        .map_err(|_| "Invalid character in the given encoding. Line 1, position 1.".to_string())?;
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    let mut r = Reader { s: text, i: 0 };
    r.misc()?;
    if !r.rest().starts_with('<') {
        return Err(r.error("Data at the root level is invalid."));
    }
    let root = r.element(0)?;
    r.misc()?;
    if !r.rest().is_empty() {
        return Err(r.error("There are multiple root elements."));
    }
    Ok(root)
}

fn is_guid(s: &str) -> bool {
    uuid::Uuid::parse_str(s).is_ok() && s.len() == 36
}

fn is_version(s: &str) -> bool {
    let parts: Vec<&str> = s.split('.').collect();
    (1..=4).contains(&parts.len())
        && parts
            .iter()
            .all(|p| !p.is_empty() && p.len() <= 5 && p.chars().all(|c| c.is_ascii_digit()))
}

/// Reads and checks an Outlook add-in manifest; the error says what is wrong.
pub(crate) fn read_manifest(bytes: &[u8]) -> Result<AddinManifest, String> {
    if bytes.len() > MAX_MANIFEST_BYTES {
        return Err(format!(
            "The manifest is {} bytes; the limit is {MAX_MANIFEST_BYTES} bytes.",
            bytes.len()
        ));
    }
    let root = parse_xml(bytes)?;
    if local(&root.name) != "OfficeApp" {
        return Err(format!(
            "The root element is '{}'; an add-in manifest's root element is OfficeApp.",
            root.name
        ));
    }
    let ns = root.attr("xmlns").unwrap_or_default();
    if !OFFICE_NAMESPACES.contains(&ns) {
        return Err(format!(
            "The OfficeApp element's namespace is '{ns}'; expected '{}'.",
            OFFICE_NAMESPACES[0]
        ));
    }
    let xsi_prefix = root
        .attrs
        .iter()
        .find(|(k, v)| k.starts_with("xmlns:") && v == XSI)
        .map(|(k, _)| k.trim_start_matches("xmlns:").to_string());
    let kind = xsi_prefix
        .and_then(|p| root.attr(&format!("{p}:type")).map(str::to_string))
        .unwrap_or_default();
    if local(&kind) != "MailApp" {
        return Err(format!(
            "The add-in's type is '{kind}'; only mail add-ins (xsi:type=\"MailApp\") can be installed in Exchange."
        ));
    }
    let text = |name: &str| root.child(name).map(|e| e.text()).unwrap_or_default();
    let default_value = |name: &str| {
        root.child(name)
            .and_then(|e| e.attr("DefaultValue"))
            .unwrap_or_default()
            .trim()
            .to_string()
    };
    let id = text("Id");
    if !is_guid(&id) {
        return Err(format!("The Id element must be a GUID, not '{id}'."));
    }
    let version = text("Version");
    if !is_version(&version) {
        return Err(format!(
            "The Version element must be a version such as 1.0.0.0, not '{version}'."
        ));
    }
    let provider_name = text("ProviderName");
    if provider_name.is_empty() {
        return Err("The ProviderName element is missing or empty.".into());
    }
    let display_name = default_value("DisplayName");
    if display_name.is_empty() || display_name.chars().count() > 125 {
        return Err("The DisplayName element needs a DefaultValue of 1 to 125 characters.".into());
    }
    let default_locale = text("DefaultLocale");
    if default_locale.is_empty() {
        return Err("The DefaultLocale element is missing or empty.".into());
    }
    let mailbox_host = root
        .child("Hosts")
        .is_some_and(|h| h.elements().any(|e| e.attr("Name") == Some("Mailbox")))
        || root
            .child("Requirements")
            .and_then(|r| r.child("Sets"))
            .is_some_and(|s| s.elements().any(|e| e.attr("Name") == Some("Mailbox")));
    if !mailbox_host {
        return Err(
            "The manifest does not name the Mailbox host (Hosts/Host Name=\"Mailbox\").".into(),
        );
    }
    let permissions = text("Permissions");
    if !PERMISSIONS.contains(&permissions.as_str()) {
        return Err(format!(
            "The Permissions element must be one of {}, not '{permissions}'.",
            PERMISSIONS.join(", ")
        ));
    }
    let source_location = root
        .child("FormSettings")
        .and_then(|f| {
            f.elements().find_map(|form| {
                form.elements()
                    .find_map(|s| s.child("SourceLocation"))
                    .and_then(|s| s.attr("DefaultValue"))
            })
        })
        .map(str::to_string);
    Ok(AddinManifest {
        id: id.to_lowercase(),
        version,
        provider_name,
        display_name,
        description: default_value("Description"),
        default_locale,
        permissions,
        icon_url: root
            .child("IconUrl")
            .and_then(|e| e.attr("DefaultValue"))
            .map(str::to_string),
        source_location,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_the_catalogue_manifest() {
        let m = read_manifest(crate::tenant::addins::SAMPLE_XML.as_bytes()).unwrap();
        assert_eq!(m.id, "5d3e7b1a-9c64-4f0e-8a21-6b2f4c1d9e07");
        assert_eq!(m.version, "1.0.0.0");
        assert_eq!(m.provider_name, "Liberty Gold Silver IT");
        assert_eq!(m.display_name, "Message Tagger");
        assert_eq!(m.permissions, "ReadWriteItem");
        assert!(m.source_location.unwrap().starts_with("https://"));
    }

    #[test]
    fn refuses_what_xmlreader_and_the_schema_refuse() {
        let good = crate::tenant::addins::SAMPLE_XML;
        let cases: Vec<(String, &str)> = vec![
            (
                crate::tenant::addins::SAMPLE_JSON.into(),
                "Data at the root level is invalid. Line 1, position 1.",
            ),
            (
                "<html><body>not a manifest".into(),
                "Unexpected end of file",
            ),
            (
                "<?xml version=\"1.0\"?><!DOCTYPE x [<!ENTITY a \"aaaa\">]><x>&a;</x>".into(),
                "DTD is prohibited",
            ),
            (
                "<x>&xxe;</x>".into(),
                "Reference to undeclared entity 'xxe'.",
            ),
            ("<a><b></a>".into(), "does not match the end tag of 'a'"),
            ("<a/><b/>".into(), "multiple root elements"),
            (good.replace("MailApp", "TaskPaneApp"), "only mail add-ins"),
            (
                good.replace("5d3e7b1a-9c64-4f0e-8a21-6b2f4c1d9e07", "not-a-guid"),
                "must be a GUID",
            ),
            (
                good.replace("<Version>1.0.0.0</Version>", "<Version>one</Version>"),
                "Version element",
            ),
            (
                good.replace("ReadWriteItem", "Everything"),
                "Permissions element",
            ),
            (
                good.replace("Name=\"Mailbox\"", "Name=\"Workbook\""),
                "Mailbox host",
            ),
            ("x".repeat(MAX_MANIFEST_BYTES + 1), "the limit is"),
        ];
        for (doc, want) in cases {
            let e = read_manifest(doc.as_bytes()).unwrap_err();
            assert!(e.contains(want), "{}: {e}", &doc[..doc.len().min(60)]);
        }
    }

    #[test]
    fn entities_and_cdata_are_read() {
        let e = parse_xml(b"<a x='1 &amp; 2'>&lt;b&gt; <![CDATA[<c>]]> &#65;&#x42;</a>").unwrap();
        assert_eq!(e.attr("x"), Some("1 & 2"));
        assert_eq!(e.text(), "<b> <c> AB");
    }
}
