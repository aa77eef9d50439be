//! HTML that is safe to store and to send: ammonia's allow-list (no scripts,
//! event handlers, `javascript:` URLs, forms, frames or embedded objects),
//! plus inline styles, which e-mail needs, with CSS that runs code or loads
//! remote content taken out. What was removed is reported in words an
//! administrator understands. Also the CAN-SPAM checks for marketing mail.

use std::collections::BTreeSet;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

/// CSS that executes or fetches: IE expressions and behaviours, Mozilla
/// bindings, imports and `url(...)` (remote images double as trackers).
const CSS_DANGER: &[&str] = &[
    "expression(",
    "javascript:",
    "behavior:",
    "-moz-binding",
    "@import",
    "url(",
];

/// What a scan of the input finds that the cleaner will remove.
const FINDINGS: &[(&str, &str)] = &[
    ("<script", "script elements"),
    ("javascript:", "javascript: URLs"),
    ("vbscript:", "vbscript: URLs"),
    ("<form", "forms"),
    ("<iframe", "frames"),
    ("<frame", "frames"),
    ("<object", "embedded objects"),
    ("<embed", "embedded objects"),
    ("<style", "style sheets (<style> elements)"),
    ("<link", "linked resources"),
    ("<meta", "meta elements"),
    ("<base", "base elements"),
    ("<svg", "SVG"),
    ("data:", "data: URLs"),
];

pub struct Cleaned {
    pub html: String,
    /// Kinds of content removed, e.g. "event handler attributes (onerror)".
    pub removed: Vec<String>,
}

/// Cleans `html` and says what it removed.
pub fn clean(html: &str) -> Cleaned {
    let lower = html.to_ascii_lowercase();
    let mut removed: BTreeSet<String> = FINDINGS
        .iter()
        .filter(|(needle, _)| lower.contains(needle))
        .map(|(_, what)| what.to_string())
        .collect();
    let handlers = event_handlers(&lower);
    if !handlers.is_empty() {
        removed.insert(format!(
            "event handler attributes ({})",
            handlers.into_iter().collect::<Vec<_>>().join(", ")
        ));
    }
    let styles_dropped = Arc::new(AtomicBool::new(false));
    let flag = styles_dropped.clone();
    let cleaned = ammonia::Builder::default()
        .add_generic_attributes(["style", "align", "valign", "bgcolor", "width", "height"])
        .add_tags(["center", "font"])
        .add_tag_attributes("font", ["color", "face", "size"])
        .add_tag_attributes("td", ["colspan", "rowspan"])
        .add_tag_attributes("th", ["colspan", "rowspan"])
        .link_rel(Some("noopener noreferrer"))
        .attribute_filter(move |_element, attribute, value| {
            if attribute == "style" {
                let v = value
                    .to_ascii_lowercase()
                    .replace(['\\', ' ', '\t', '\n'], "");
                if CSS_DANGER.iter().any(|d| v.contains(d)) {
                    flag.store(true, Ordering::Relaxed);
                    return None;
                }
            }
            Some(value.into())
        })
        .clean(html)
        .to_string();
    if styles_dropped.load(Ordering::Relaxed) {
        removed.insert(
            "inline styles that run code or load remote content (expression(), url(), behavior)"
                .into(),
        );
    }
    Cleaned {
        html: cleaned,
        removed: removed.into_iter().collect(),
    }
}

/// Names of `on...=` attributes in lower-cased HTML.
fn event_handlers(lower: &str) -> BTreeSet<String> {
    let bytes = lower.as_bytes();
    let mut found = BTreeSet::new();
    let mut i = 0;
    while let Some(pos) = lower[i..].find("on") {
        let at = i + pos;
        let before_ok = at > 0
            && matches!(
                bytes[at - 1],
                b' ' | b'\t' | b'\n' | b'\r' | b'/' | b'"' | b'\''
            );
        let name: String = lower[at..]
            .chars()
            .take_while(|c| c.is_ascii_alphanumeric())
            .collect();
        let rest = lower[at + name.len()..].trim_start();
        if before_ok && name.len() > 2 && rest.starts_with('=') && inside_tag(lower, at) {
            found.insert(name.clone());
        }
        i = at + 2;
    }
    found
}

/// Whether position `at` is inside a tag (after a `<` not yet closed).
fn inside_tag(text: &str, at: usize) -> bool {
    let before = &text[..at];
    match (before.rfind('<'), before.rfind('>')) {
        (Some(open), Some(close)) => open > close,
        (Some(_), None) => true,
        _ => false,
    }
}

/// What a marketing message lacks under CAN-SPAM: an unsubscribe link and
/// the sender's physical postal address. Checked on the template (where a
/// variable may stand for them) and again on the rendered message.
pub fn can_spam_problems(html: &str, text: Option<&str>, template_form: bool) -> Vec<String> {
    let mut problems = Vec::new();
    if !has_unsubscribe_link(html) {
        problems.push(
            "an unsubscribe link in the HTML body, e.g. <a href=\"{{ unsubscribe_url }}\">Unsubscribe</a>"
                .to_string(),
        );
    }
    let all = format!("{html}\n{}", text.unwrap_or(""));
    let address_ok = has_postal_address(&all) || (template_form && has_address_variable(&all));
    if !address_ok {
        problems.push(
            "the firm's physical postal address, e.g. \"Liberty Gold Silver, 100 Main Street, Suite 200, Springfield, IL 62701\" (or a variable such as {{ postal_address }})"
                .to_string(),
        );
    }
    problems
}

/// An `<a>` element with a non-empty href whose href or text says
/// "unsubscribe" (or opt out).
fn has_unsubscribe_link(html: &str) -> bool {
    let lower = html.to_ascii_lowercase();
    let mut rest = lower.as_str();
    while let Some(start) = rest.find("<a") {
        let after = &rest[start..];
        let end = after.find("</a>").unwrap_or(after.len());
        let anchor = &after[..end];
        let has_href = anchor
            .find("href=")
            .map(|i| {
                let v = anchor[i + 5..].trim_start_matches(['"', '\'']);
                !v.starts_with(['"', '\'', '>', ' '])
            })
            .unwrap_or(false);
        let says = anchor.contains("unsubscribe")
            || anchor.contains("opt out")
            || anchor.contains("opt-out");
        if has_href && says {
            return true;
        }
        rest = &after[end.max(2)..];
    }
    false
}

/// A US-style postal address (street number and street word, or PO Box,
/// with a ZIP code) anywhere in the text.
fn has_postal_address(text: &str) -> bool {
    let lower = text.to_ascii_lowercase();
    let has_zip = lower
        .split(|c: char| !c.is_ascii_alphanumeric() && c != '-')
        .any(|w| {
            let digits = w.split('-').next().unwrap_or("");
            digits.len() == 5 && digits.bytes().all(|b| b.is_ascii_digit())
        });
    let street_words = [
        " street",
        " st.",
        " st,",
        " avenue",
        " ave",
        " road",
        " rd",
        " boulevard",
        " blvd",
        " drive",
        " dr.",
        " lane",
        " ln",
        " way",
        " suite",
        " floor",
        "p.o. box",
        "po box",
    ];
    let has_street = street_words.iter().any(|w| lower.contains(w));
    let has_number = lower.split_whitespace().any(|w| {
        w.len() <= 6 && !w.is_empty() && w.trim_end_matches(',').bytes().all(|b| b.is_ascii_digit())
    });
    has_zip && has_street && has_number
}

/// A template variable that stands for the postal address.
fn has_address_variable(text: &str) -> bool {
    let lower = text.to_ascii_lowercase().replace(' ', "");
    [
        "{{postal_address",
        "{{mailing_address",
        "{{physical_address",
        "{{postaladdress",
        "{{company_address",
    ]
    .iter()
    .any(|v| lower.contains(v))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hostile_markup_is_removed_and_reported() {
        let input = r#"<p onclick="x()">Hi {{ name }}</p><script>alert(1)</script>
<a href="javascript:alert(1)">click</a><img src="x" onerror="steal()">
<div style="width: expression(alert(1))">css</div><form action="https://evil.example"><input></form>
<p style="color: red">red</p><a href="https://ok.example/a?b=1">ok</a>"#;
        let c = clean(input);
        let lower = c.html.to_ascii_lowercase();
        for gone in [
            "<script",
            "onclick",
            "onerror",
            "javascript:",
            "expression(",
            "<form",
            "<input",
        ] {
            assert!(!lower.contains(gone), "{gone} survived: {}", c.html);
        }
        assert!(c.html.contains("Hi {{ name }}"), "{}", c.html);
        assert!(c.html.contains("style=\"color: red\""), "{}", c.html);
        assert!(c.html.contains("https://ok.example/a?b=1"), "{}", c.html);
        let report = c.removed.join("; ");
        for said in [
            "script elements",
            "onclick",
            "onerror",
            "javascript: URLs",
            "forms",
            "expression()",
        ] {
            assert!(report.contains(said), "{said} not reported: {report}");
        }
    }

    #[test]
    fn clean_html_reports_nothing() {
        let c = clean("<p>Dear {{ name }},</p><p>Our reply online: 10 on the dot.</p>");
        assert!(c.removed.is_empty(), "{:?}", c.removed);
    }

    #[test]
    fn can_spam() {
        let ok = r#"<p>Sale!</p><a href="{{ unsubscribe_url }}">Unsubscribe</a><p>Liberty Gold Silver, 100 Main Street, Springfield, IL 62701</p>"#;
        assert!(can_spam_problems(ok, None, true).is_empty());
        let with_var =
            r#"<a href="{{ unsubscribe_url }}">Unsubscribe</a><p>{{ postal_address }}</p>"#;
        assert!(can_spam_problems(with_var, None, true).is_empty());
        assert_eq!(can_spam_problems(with_var, None, false).len(), 1);
        let none = "<p>Sale!</p>";
        let p = can_spam_problems(none, None, true);
        assert_eq!(p.len(), 2, "{p:?}");
        let no_href = r#"<a>Unsubscribe</a> 100 Main Street, Springfield, IL 62701"#;
        assert_eq!(can_spam_problems(no_href, None, true).len(), 1);
    }
}
