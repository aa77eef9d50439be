//! HTML that is safe to store and to send: ammonia's allow-list (no scripts,
//! event handlers, `javascript:` URLs, forms, frames or embedded objects),
//! plus inline styles, which e-mail needs, with any style attribute whose
//! CSS could run code or load remote content dropped whole. What was removed
//! is reported in words an administrator understands. Also the CAN-SPAM
//! checks for marketing mail.

use std::collections::BTreeMap;
use std::collections::BTreeSet;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

/// CSS that executes or fetches: IE expressions and behaviours, Mozilla
/// bindings, imports, and every function that loads an image or a resource
/// (remote images double as trackers). Matched anywhere in a style value,
/// strings included, after [`css_forms`] has decoded it: a search, not a
/// CSS parser, so it errs on the side of dropping a harmless style.
const CSS_DANGER: &[&str] = &[
    "url(",
    "image(",
    "image-set(",
    "-webkit-image-set(",
    "cross-fade(",
    "element(",
    "src(",
    "expression(",
    "javascript:",
    "vbscript:",
    "behavior:",
    "-moz-binding",
    "@import",
];

/// Elements the cleaner removes that are worth naming, by tag name.
const ELEMENTS: &[(&str, &str)] = &[
    ("script", "script elements"),
    ("form", "forms"),
    ("iframe", "frames"),
    ("frame", "frames"),
    ("frameset", "frames"),
    ("object", "embedded objects"),
    ("embed", "embedded objects"),
    ("applet", "embedded objects"),
    ("style", "style sheets (<style> elements)"),
    ("link", "linked resources"),
    ("meta", "meta elements"),
    ("base", "base elements"),
    ("svg", "SVG"),
];

/// URL schemes the cleaner removes, as a URL parser reads them.
const SCHEMES: &[(&str, &str)] = &[
    ("javascript:", "javascript: URLs"),
    ("vbscript:", "vbscript: URLs"),
    ("data:", "data: URLs"),
];

pub struct Cleaned {
    pub html: String,
    /// Kinds of content removed, e.g. "event handler attributes (onerror)".
    pub removed: Vec<String>,
}

/// Cleans `html` and says what it removed.
///
/// ammonia does not say what it removed, so the report compares the input
/// with the output: a kind of content is reported when the input has more
/// of it than the output (an element's start tags, a URL scheme after
/// character references are decoded and tabs and line breaks taken out, as
/// browsers read URLs, an `on...=` attribute inside a tag). So
/// `title="javascript:x"`, which is kept, is not reported, and
/// `href="java&#x09;script:x"`, which is removed, is. It is a count, not a
/// parse: a `<script` in a comment, which is removed with the comment,
/// reports script elements.
pub fn clean(html: &str) -> Cleaned {
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
            if attribute == "style" && css_is_dangerous(value) {
                flag.store(true, Ordering::Relaxed);
                return None;
            }
            Some(value.into())
        })
        .clean(html)
        .to_string();

    // The output escapes `<` in attribute values, and the input may spell
    // anything with character references: compare decoded text.
    let (text_in, text_out) = (decoded(html), decoded(&cleaned));
    let mut removed = BTreeSet::new();
    for (name, what) in ELEMENTS {
        if start_tags(&text_in, name) > start_tags(&text_out, name) {
            removed.insert(what.to_string());
        }
    }
    let as_url = |text: &str| text.replace(['\t', '\n', '\r'], "");
    let (urls_in, urls_out) = (as_url(&text_in), as_url(&text_out));
    for (scheme, what) in SCHEMES {
        if urls_in.matches(scheme).count() > urls_out.matches(scheme).count() {
            removed.insert(what.to_string());
        }
    }
    let handlers_out = event_handlers(&cleaned.to_ascii_lowercase());
    let handlers: Vec<String> = event_handlers(&html.to_ascii_lowercase())
        .into_iter()
        .filter(|(name, n)| handlers_out.get(name).copied().unwrap_or(0) < *n)
        .map(|(name, _)| name)
        .collect();
    if !handlers.is_empty() {
        removed.insert(format!(
            "event handler attributes ({})",
            handlers.join(", ")
        ));
    }
    if styles_dropped.load(Ordering::Relaxed) {
        removed.insert(
            "inline styles that run code or load remote content (url(), image-set(), expression(), behavior, @import)"
                .into(),
        );
    }
    Cleaned {
        html: cleaned,
        removed: removed.into_iter().collect(),
    }
}

/// Whether a style attribute's value (character references already
/// decoded, by the HTML parser) holds CSS that runs code or fetches.
fn css_is_dangerous(css: &str) -> bool {
    let (whole, without_comments) = css_forms(css);
    CSS_DANGER
        .iter()
        .any(|d| whole.contains(d) || without_comments.contains(d))
}

/// CSS as a browser could read it, for matching: escapes decoded (`\75 rl(`
/// is `url(`, `e\78 pression(` is `expression(`), ASCII lower-cased and
/// whitespace taken out; once with comments kept and once with them taken
/// out (IE read `exp/**/ression(` as `expression(`; `behavior/**/:` is the
/// property). Matching on both means a comment can neither hide nor split
/// anything, without having to tell comments from strings.
fn css_forms(css: &str) -> (String, String) {
    let mut decoded = String::with_capacity(css.len());
    let mut chars = css.chars().peekable();
    while let Some(c) = chars.next() {
        if c != '\\' {
            decoded.push(c);
            continue;
        }
        match chars.peek().copied() {
            None => decoded.push('\u{fffd}'),
            // `\` and 1-6 hex digits, then one optional whitespace.
            Some(h) if h.is_ascii_hexdigit() => {
                let mut n = 0u32;
                for _ in 0..6 {
                    match chars.peek().and_then(|h| h.to_digit(16)) {
                        Some(d) => {
                            n = n * 16 + d;
                            chars.next();
                        }
                        None => break,
                    }
                }
                match chars.peek() {
                    Some('\r') => {
                        chars.next();
                        if chars.peek() == Some(&'\n') {
                            chars.next();
                        }
                    }
                    Some(' ' | '\t' | '\n' | '\x0C') => {
                        chars.next();
                    }
                    _ => {}
                }
                decoded.push(match char::from_u32(n) {
                    Some(c) if n != 0 => c,
                    _ => '\u{fffd}',
                });
            }
            // A line continuation in a string; outside one the backslash is
            // a stray character. Either way it joins nothing up: drop it.
            Some('\n' | '\r' | '\x0C') => {}
            // `\` and any other character is that character.
            Some(other) => {
                decoded.push(other);
                chars.next();
            }
        }
    }
    let whole: String = decoded
        .chars()
        .filter(|c| !c.is_whitespace())
        .map(|c| c.to_ascii_lowercase())
        .collect();
    let mut without_comments = String::with_capacity(whole.len());
    let mut rest = whole.as_str();
    while let Some(i) = rest.find("/*") {
        without_comments.push_str(&rest[..i]);
        rest = rest[i + 2..]
            .find("*/")
            .map_or("", |j| &rest[i + 2 + j + 2..]);
    }
    without_comments.push_str(rest);
    (whole, without_comments)
}

/// How many start tags `<name` (followed by a space, `/` or `>`) lower-cased
/// HTML has (or would have, in [`decoded`] text).
fn start_tags(lower: &str, name: &str) -> usize {
    let open = format!("<{name}");
    lower
        .match_indices(&open)
        .filter(|(at, _)| {
            lower[at + open.len()..]
                .chars()
                .next()
                .is_none_or(|c| c.is_ascii_whitespace() || c == '/' || c == '>')
        })
        .count()
}

/// Lower-cased HTML with numeric character references and `&lt;`, `&gt;`,
/// `&Tab;`, `&NewLine;` and `&colon;` decoded: `java&#x09;script&colon;`
/// reads `java\tscript:`, which a URL parser reads as `javascript:`.
fn decoded(html: &str) -> String {
    let mut out = String::with_capacity(html.len());
    let mut rest = html;
    while let Some(i) = rest.find('&') {
        out.push_str(&rest[..i]);
        rest = &rest[i..];
        let (c, len) = char_reference(rest).unwrap_or(('&', 1));
        out.push(c);
        rest = &rest[len..];
    }
    out.push_str(rest);
    out.to_ascii_lowercase()
}

/// The character a reference at the start of `s` stands for, and its length.
fn char_reference(s: &str) -> Option<(char, usize)> {
    for (name, c) in [
        ("&lt;", '<'),
        ("&gt;", '>'),
        ("&tab;", '\t'),
        ("&newline;", '\n'),
        ("&colon;", ':'),
    ] {
        if s.as_bytes()
            .get(..name.len())
            .is_some_and(|h| h.eq_ignore_ascii_case(name.as_bytes()))
        {
            return Some((c, name.len()));
        }
    }
    let body = s.strip_prefix("&#")?;
    let (radix, digits_at) = match body.as_bytes().first() {
        Some(b'x' | b'X') => (16, 1),
        _ => (10, 0),
    };
    let digits = body[digits_at..]
        .bytes()
        .take_while(|b| (*b as char).is_digit(radix))
        .count();
    if digits == 0 {
        return None;
    }
    let n = body[digits_at..digits_at + digits]
        .chars()
        .fold(0u32, |n, d| {
            n.saturating_mul(radix)
                .saturating_add(d.to_digit(radix).unwrap_or(0))
        });
    let mut len = 2 + digits_at + digits;
    if s[len..].starts_with(';') {
        len += 1;
    }
    Some((char::from_u32(n).unwrap_or('\u{fffd}'), len))
}

/// Names of `on...=` attributes in lower-cased HTML, with how many times
/// each occurs, in one pass (the HTML may be 500,000 characters).
fn event_handlers(lower: &str) -> BTreeMap<String, usize> {
    let bytes = lower.as_bytes();
    let mut found = BTreeMap::new();
    // Whether `seen` is inside a tag (after a `<` not yet closed by `>`).
    let (mut in_tag, mut seen) = (false, 0);
    let mut i = 0;
    while let Some(pos) = lower[i..].find("on") {
        let at = i + pos;
        for &b in &bytes[seen..at] {
            match b {
                b'<' => in_tag = true,
                b'>' => in_tag = false,
                _ => {}
            }
        }
        seen = at;
        let before_ok = at > 0
            && matches!(
                bytes[at - 1],
                b' ' | b'\t' | b'\n' | b'\r' | b'/' | b'"' | b'\''
            );
        let len = bytes[at..]
            .iter()
            .take_while(|c| c.is_ascii_alphanumeric())
            .count();
        if in_tag && before_ok && len > 2 && lower[at + len..].trim_start().starts_with('=') {
            *found.entry(lower[at..at + len].to_string()).or_insert(0) += 1;
        }
        // An `on` further into this name follows a letter: not a name.
        i = at + len.max(2);
    }
    found
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

    /// The style attribute is dropped whole, the element and its text kept,
    /// and the report says so.
    fn style_dropped(style: &str) {
        let input = format!("<p style=\"{style}\">Hello</p>");
        let c = clean(&input);
        assert_eq!(c.html, "<p>Hello</p>", "{style:?} survived");
        assert!(
            c.removed.iter().any(|r| r.starts_with("inline styles")),
            "{style:?} not reported: {:?}",
            c.removed
        );
    }

    // fuzz/corpus/template_render/css-escaped-url and css-image-set, and
    // the other ways to spell what fetches or runs.
    #[test]
    fn css_that_fetches_or_runs_is_dropped_however_spelt() {
        for style in [
            r"background:\75 rl(https://tracker.example/p.gif)",
            r"background:\000075rl(https://tracker.example/p.gif)",
            r"background:\55\52\4c(https://tracker.example/p.gif)",
            r"background:\75\72\6c\28https://tracker.example/p.gif)",
            r"background:U\RL(https://tracker.example/p.gif)",
            r"background:u&#114;l(https://tracker.example/p.gif)",
            "background:URL (https://tracker.example/p.gif)",
            "background-image:image-set('https://tracker.example/p.gif' 1x)",
            "background-image:-webkit-image-set(url(a.png) 1x)",
            "background-image:\\2d webkit-image-set('https://t.example/p.gif' 1x)",
            "background-image:cross-fade('https://t.example/a.gif', 'b.gif', 50%)",
            "background-image:image('https://t.example/p.gif')",
            "background:element(#logo)",
            "background:src('https://t.example/p.gif')",
            r"width:e\78 pression(alert(1))",
            r"width:\65\78\70\72\65\73\73\69\6f\6e(alert(1))",
            "width:exp/**/ression(alert(1))",
            "width:expression\r\n(alert(1))",
            "behavior/**/:url(x.htc)",
            "-moz-binding:url(x.xml#xss)",
            "@import 'https://t.example/x.css'",
            "@\\69mport 'https://t.example/x.css'",
            // A comment marker in a string hides nothing.
            "content:'/*';background:url(https://t.example/p.gif);content:'*/'",
            r"color:red;background:j\61vascript:alert(1)",
        ] {
            style_dropped(style);
        }
        // Ordinary e-mail CSS is kept.
        for style in [
            "color: red",
            "font-family: 'Segoe UI', Arial, sans-serif; font-size: 14px",
            "padding: 4px 8px; border: 1px solid #ccc; background-color: #fff",
            "text-align: center; line-height: 1.5",
        ] {
            let c = clean(&format!("<p style=\"{style}\">Hi</p>"));
            assert!(c.html.contains(style), "{style:?} dropped: {}", c.html);
            assert!(c.removed.is_empty(), "{:?}", c.removed);
        }
    }

    #[test]
    fn the_report_says_what_was_removed() {
        // Kept, so not reported.
        for kept in [
            r#"<p title="javascript:x">a</p>"#,
            r#"<p title="<script>alert(1)</script>">a</p>"#,
            r#"<p title="a onclick=b">a</p>"#,
            "<p>Your data: 3 files; see <a href=\"https://ok.example/\">here</a>.</p>",
        ] {
            let c = clean(kept);
            assert!(
                c.removed.is_empty(),
                "{kept}: {:?} -> {}",
                c.removed,
                c.html
            );
        }
        // Removed, so reported, however spelt.
        for (removed, said) in [
            (
                r#"<a href="java&#x09;script:alert(1)">x</a>"#,
                "javascript: URLs",
            ),
            (
                r#"<a href="&#106;avascript:alert(1)">x</a>"#,
                "javascript: URLs",
            ),
            (
                r#"<a href="javascript&colon;alert(1)">x</a>"#,
                "javascript: URLs",
            ),
            (
                r#"<a href=" JaVaScRiPt:alert(1)">x</a>"#,
                "javascript: URLs",
            ),
            (r#"<img src="data:image/gif;base64,R0lG">"#, "data: URLs"),
            (
                "<p title=\"javascript:x\">a</p><a href=\"javascript:y\">b</a>",
                "javascript: URLs",
            ),
            ("<SCRIPT>alert(1)</SCRIPT>", "script elements"),
            ("<p onclick=\"x\" title=\"a onclick=b\">a</p>", "onclick"),
        ] {
            let c = clean(removed);
            let report = c.removed.join("; ");
            assert!(report.contains(said), "{removed}: {report:?} -> {}", c.html);
        }
        let c = clean(r#"<a href="java&#x09;script:alert(1)">x</a>"#);
        assert_eq!(c.html, "<a rel=\"noopener noreferrer\">x</a>");
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
