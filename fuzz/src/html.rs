//! The template_render oracle: reads sanitized HTML the way a browser's
//! tokenizer would, independently of ammonia and html5ever, and names
//! anything in it that could run script.
//!
//! The markup is tokenized (tags, quoted and unquoted attribute values,
//! comments and raw-text elements, per the HTML tokenizer's data, tag and
//! attribute states), so that what counts is what a browser would act on:
//! an element, an attribute, a URL's scheme after character references are
//! decoded, and a `style` attribute's CSS after CSS escapes are decoded (the
//! sanitizer promises to take out CSS that runs code or loads remote content).

/// Elements that run script, submit, frame or embed, or redirect the page.
const FORBIDDEN_ELEMENTS: &[&str] = &[
    "script", "iframe", "frame", "frameset", "object", "embed", "applet", "form", "base", "meta",
    "link", "svg", "math",
];

/// Attributes a browser reads as URLs.
const URL_ATTRIBUTES: &[&str] = &[
    "href",
    "src",
    "cite",
    "action",
    "formaction",
    "background",
    "poster",
    "longdesc",
    "lowsrc",
    "dynsrc",
    "data",
    "codebase",
    "classid",
    "archive",
    "usemap",
    "ping",
    "srcset",
    "manifest",
    "icon",
    "profile",
    "xlink:href",
];

/// URL schemes that run code or carry a document of their own.
const FORBIDDEN_SCHEMES: &[&str] = &["javascript", "vbscript", "livescript", "data"];

/// CSS functions that fetch or run something (`-webkit-` forms listed
/// apart: a name must not be preceded by a name character).
const CSS_FUNCTIONS: &[&str] = &[
    "url",
    "src",
    "image-set",
    "-webkit-image-set",
    "cross-fade",
    "-webkit-cross-fade",
    "expression",
];

/// CSS properties and at-rules that fetch or run something.
const CSS_NAMES: &[&str] = &["behavior:", "-moz-binding:", "@import"];

/// Elements whose content the tokenizer reads as text up to their end tag.
const RAW_TEXT: &[&str] = &[
    "script", "style", "xmp", "iframe", "noembed", "noframes", "noscript", "textarea", "title",
];

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Tag {
    /// Lower-cased, as the tokenizer reports it.
    pub name: String,
    /// Names lower-cased, values with character references decoded.
    pub attributes: Vec<(String, String)>,
}

/// The start tags of `html`, in order.
pub fn start_tags(html: &str) -> Vec<Tag> {
    let b = html.as_bytes();
    let mut tags = Vec::new();
    let mut i = 0;
    while let Some(off) = html[i..].find('<') {
        let lt = i + off;
        let next = b.get(lt + 1).copied();
        match next {
            Some(c) if c.is_ascii_alphabetic() => {
                let Some((tag, end)) = read_tag(html, lt + 1) else {
                    // End of input inside a tag: the tokenizer drops it.
                    return tags;
                };
                i = end;
                if tag.name == "plaintext" {
                    tags.push(tag);
                    return tags;
                }
                if RAW_TEXT.contains(&tag.name.as_str()) {
                    i = skip_raw_text(html, i, &tag.name);
                }
                tags.push(tag);
            }
            Some(b'/') if b.get(lt + 2).is_some_and(u8::is_ascii_alphabetic) => {
                // An end tag: its attributes mean nothing, skip to its `>`
                // the same way a start tag's would be read.
                match read_tag(html, lt + 2) {
                    Some((_, end)) => i = end,
                    None => return tags,
                }
            }
            Some(b'!') if html[lt..].starts_with("<!--") => {
                let body = lt + 4;
                i = if html[body..].starts_with('>') {
                    body + 1
                } else if html[body..].starts_with("->") {
                    body + 2
                } else {
                    match html[body..].find("-->") {
                        Some(e) => body + e + 3,
                        None => return tags,
                    }
                };
            }
            Some(b'!') | Some(b'?') | Some(b'/') => {
                // Bogus comment (or `</>`): up to the next `>`.
                match html[lt + 1..].find('>') {
                    Some(e) => i = lt + 1 + e + 1,
                    None => return tags,
                }
            }
            _ => i = lt + 1,
        }
    }
    tags
}

fn is_space(c: u8) -> bool {
    matches!(c, b'\t' | b'\n' | b'\x0C' | b'\r' | b' ')
}

/// Reads a tag whose name starts at `start`; returns it and the index after
/// its `>`, or `None` at end of input.
fn read_tag(html: &str, start: usize) -> Option<(Tag, usize)> {
    let b = html.as_bytes();
    let mut i = start;
    while i < b.len() && !is_space(b[i]) && b[i] != b'/' && b[i] != b'>' {
        i += 1;
    }
    let name = html[start..i].to_ascii_lowercase();
    let mut attributes = Vec::new();
    loop {
        while i < b.len() && (is_space(b[i]) || b[i] == b'/') {
            i += 1;
        }
        match b.get(i) {
            None => return None,
            Some(b'>') => return Some((Tag { name, attributes }, i + 1)),
            _ => {}
        }
        // An attribute name; a leading `=` belongs to it.
        let name_start = i;
        i += 1;
        while i < b.len() && !is_space(b[i]) && !matches!(b[i], b'/' | b'>' | b'=') {
            i += 1;
        }
        let attr = html[name_start..i].to_ascii_lowercase();
        let mut j = i;
        while j < b.len() && is_space(b[j]) {
            j += 1;
        }
        let mut value = String::new();
        if b.get(j) == Some(&b'=') {
            j += 1;
            while j < b.len() && is_space(b[j]) {
                j += 1;
            }
            match b.get(j) {
                None => return None,
                Some(&q @ (b'"' | b'\'')) => {
                    let close = html[j + 1..].find(q as char)?;
                    value = decode_references(&html[j + 1..j + 1 + close]);
                    i = j + 1 + close + 1;
                }
                Some(_) => {
                    let mut k = j;
                    while k < b.len() && !is_space(b[k]) && b[k] != b'>' {
                        k += 1;
                    }
                    value = decode_references(&html[j..k]);
                    i = k;
                }
            }
        }
        attributes.push((attr, value));
    }
}

/// Index after the end tag that closes raw-text element `name`, or the end.
fn skip_raw_text(html: &str, from: usize, name: &str) -> usize {
    let b = html.as_bytes();
    let mut i = from;
    while let Some(off) = html[i..].find("</") {
        let at = i + off;
        let n = at + 2;
        let end = n + name.len();
        if html
            .get(n..end)
            .is_some_and(|s| s.eq_ignore_ascii_case(name))
            && b.get(end)
                .is_none_or(|&c| is_space(c) || c == b'/' || c == b'>')
        {
            return at;
        }
        i = at + 2;
    }
    html.len()
}

/// Decodes character references once: numeric ones and the named ones a
/// serializer writes or an attacker would use to hide a scheme.
pub fn decode_references(s: &str) -> String {
    const NAMED: &[(&str, char)] = &[
        ("amp;", '&'),
        ("quot;", '"'),
        ("apos;", '\''),
        ("lt;", '<'),
        ("gt;", '>'),
        ("nbsp;", '\u{a0}'),
        ("tab;", '\t'),
        ("newline;", '\n'),
        ("colon;", ':'),
    ];
    let mut out = String::with_capacity(s.len());
    let mut rest = s;
    while let Some(amp) = rest.find('&') {
        out.push_str(&rest[..amp]);
        let after = &rest[amp + 1..];
        if let Some(num) = after.strip_prefix('#') {
            let (digits, radix, skip) = match num.strip_prefix(['x', 'X']) {
                Some(hex) => (hex.bytes().take_while(u8::is_ascii_hexdigit).count(), 16, 2),
                None => (num.bytes().take_while(u8::is_ascii_digit).count(), 10, 1),
            };
            let start = amp + 1 + skip;
            if digits > 0 {
                let text = &rest[start..start + digits];
                let c = u32::from_str_radix(text, radix)
                    .ok()
                    .and_then(char::from_u32)
                    .unwrap_or('\u{fffd}');
                out.push(c);
                let mut end = start + digits;
                if rest[end..].starts_with(';') {
                    end += 1;
                }
                rest = &rest[end..];
                continue;
            }
        } else if let Some((name, c)) = NAMED.iter().find(|(n, _)| {
            after
                .get(..n.len())
                .is_some_and(|a| a.eq_ignore_ascii_case(n))
        }) {
            out.push(*c);
            rest = &after[name.len()..];
            continue;
        }
        out.push('&');
        rest = after;
    }
    out.push_str(rest);
    out
}

/// The scheme of a URL as the URL parser finds it: surrounding C0 controls
/// and spaces stripped, tabs and newlines removed anywhere, lower-cased.
pub fn url_scheme(value: &str) -> Option<String> {
    let v: String = value
        .trim_matches(|c: char| c <= ' ')
        .chars()
        .filter(|c| !matches!(c, '\t' | '\n' | '\r'))
        .collect();
    let (scheme, _) = v.split_once(':')?;
    let mut chars = scheme.chars();
    let first_ok = chars.next().is_some_and(|c| c.is_ascii_alphabetic());
    (first_ok && chars.all(|c| c.is_ascii_alphanumeric() || matches!(c, '+' | '-' | '.')))
        .then(|| scheme.to_ascii_lowercase())
}

/// CSS as the CSS tokenizer reads it, for matching: escapes decoded,
/// comments made a space and the insides of strings an `s` (neither is
/// code), ASCII lower-cased, and whitespace before a `:` removed
/// (`behavior :` is still the property).
pub fn css_text(css: &str) -> String {
    let chars: Vec<char> = css.chars().collect();
    let mut out = String::with_capacity(css.len());
    let mut quote: Option<char> = None;
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        let decoded = if c == '\\' {
            match chars.get(i + 1) {
                None => {
                    i += 1;
                    '\u{fffd}'
                }
                Some(h) if h.is_ascii_hexdigit() => {
                    let digits: String = chars[i + 1..]
                        .iter()
                        .take(6)
                        .take_while(|c| c.is_ascii_hexdigit())
                        .collect();
                    i += 1 + digits.len();
                    // One whitespace after a hex escape belongs to it.
                    if chars.get(i) == Some(&'\r') && chars.get(i + 1) == Some(&'\n') {
                        i += 2;
                    } else if chars
                        .get(i)
                        .is_some_and(|c| matches!(c, ' ' | '\t' | '\n' | '\r' | '\x0C'))
                    {
                        i += 1;
                    }
                    let n = u32::from_str_radix(&digits, 16).unwrap_or(0);
                    match char::from_u32(n) {
                        Some(c) if n != 0 => c,
                        _ => '\u{fffd}',
                    }
                }
                // Not an escape: the backslash stands for itself.
                Some('\n' | '\r' | '\x0C') => {
                    i += 1;
                    '\\'
                }
                Some(&e) => {
                    i += 2;
                    e
                }
            }
        } else {
            i += 1;
            c
        };
        let escaped = c == '\\';
        match quote {
            Some(q) if decoded == q && !escaped => {
                quote = None;
                out.push(q);
            }
            Some(_) => out.push('s'),
            None if !escaped && (decoded == '"' || decoded == '\'') => {
                quote = Some(decoded);
                out.push(decoded);
            }
            None if !escaped && decoded == '/' && chars.get(i) == Some(&'*') => {
                i = (i + 1..chars.len().saturating_sub(1))
                    .find(|&j| chars[j] == '*' && chars[j + 1] == '/')
                    .map_or(chars.len(), |j| j + 2);
                out.push(' ');
            }
            None => out.push(decoded.to_ascii_lowercase()),
        }
    }
    let mut squeezed = String::with_capacity(out.len());
    for c in out.chars() {
        if c == ':' {
            while squeezed.ends_with([' ', '\t', '\n', '\r', '\x0C']) {
                squeezed.pop();
            }
        }
        squeezed.push(c);
    }
    squeezed
}

/// What in CSS text (already through `css_text`) fetches or runs something.
pub fn css_hazards(css: &str) -> Vec<String> {
    let mut found = Vec::new();
    let name_char = |c: char| c.is_ascii_alphanumeric() || c == '-' || c == '_' || !c.is_ascii();
    for f in CSS_FUNCTIONS {
        let call = format!("{f}(");
        if css
            .match_indices(&call)
            .any(|(at, _)| !css[..at].chars().next_back().is_some_and(name_char))
        {
            found.push(format!("{f}()"));
        }
    }
    for n in CSS_NAMES {
        if css
            .match_indices(n)
            .any(|(at, _)| !css[..at].chars().next_back().is_some_and(name_char))
        {
            found.push(n.trim_end_matches(':').to_string());
        }
    }
    found
}

/// What in `html` could run script, one sentence each; empty when safe.
pub fn hazards(html: &str) -> Vec<String> {
    let mut found = Vec::new();
    for tag in start_tags(html) {
        if FORBIDDEN_ELEMENTS.contains(&tag.name.as_str()) {
            found.push(format!("a <{}> element", tag.name));
        }
        for (name, value) in &tag.attributes {
            if name.starts_with("on") {
                found.push(format!("an event handler {name}= on <{}>", tag.name));
            }
            if URL_ATTRIBUTES.contains(&name.as_str())
                && let Some(scheme) = url_scheme(value)
                && FORBIDDEN_SCHEMES.contains(&scheme.as_str())
            {
                found.push(format!("a {scheme}: URL in {name}= on <{}>", tag.name));
            }
            if name == "style" {
                for what in css_hazards(&css_text(value)) {
                    found.push(format!("CSS {what} in style= on <{}>", tag.name));
                }
            }
        }
    }
    found
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hazards_table() {
        let cases: &[(&str, bool)] = &[
            ("<p>hi</p>", false),
            ("<p title=\"<script>alert(1)</script>\">x</p>", false),
            ("&lt;script&gt;", false),
            ("<p>javascript:alert(1)</p>", false),
            ("<p title=\"javascript:x\">t</p>", false),
            ("<!-- <script> -->", false),
            ("<textarea><script></textarea>", false),
            ("<a href=\"https://ok.example/\">ok</a>", false),
            ("<ScRiPt>alert(1)</script>", true),
            ("<p><script\n>x</script></p>", true),
            ("<a href=\"javascript:alert(1)\">x</a>", true),
            ("<a href=\" JaVa\tScRiPt:alert(1)\">x</a>", true),
            ("<a href=\"&#106;avascript:alert(1)\">x</a>", true),
            ("<a href=\"java&Tab;script&colon;x\">x</a>", true),
            ("<a href=javascript:x>x</a>", true),
            ("<a href=\"&amp;#106;avascript:x\">x</a>", false),
            ("<img src=x onerror=alert(1)>", true),
            ("<img/src=\"x\"/onerror=alert(1)>", true),
            ("<img/src=x/onerror=alert(1)>", false),
            ("<img src=\"data:text/html,x\">", true),
            ("<svg><a>x</a></svg>", true),
            ("<p title=\"x>\" onclick=\"y\">", true),
            ("<p style=\"color: red; width: 10px\">x</p>", false),
            (
                "<p style=\"background: curl(x); content: 'url(x)'\">x</p>",
                false,
            ),
            ("<p style=\"content: '\\75 rl(x) \\' url(x)'\">x</p>", false),
            ("<p style=\"content: '' url(x)\">x</p>", true),
            ("<p style=\"background: u/**/rl(x)\">x</p>", false),
            ("<p style=\"background: URL(x)\">x</p>", true),
            ("<p style=\"background: \\75 rl(x)\">x</p>", true),
            ("<p style=\"background: \\000075rl(x)\">x</p>", true),
            ("<p style=\"background: u\\rl(x)\">x</p>", true),
            (
                "<p style=\"background-image: image-set('x.png' 1x)\">x</p>",
                true,
            ),
            ("<p style=\"width: e\\78 pression(alert(1))\">x</p>", true),
            ("<p style=\"behavior : url(x.htc)\">x</p>", true),
            ("<p style=\"x:1;/* a */@import 'x'\">x</p>", true),
        ];
        for (html, bad) in cases {
            assert_eq!(
                !hazards(html).is_empty(),
                *bad,
                "{html}: {:?}",
                hazards(html)
            );
        }
    }

    #[test]
    fn references_decode_once() {
        assert_eq!(decode_references("a&amp;b&#x3C;&#60&lt;"), "a&b<<<");
        assert_eq!(decode_references("&amp;#106;"), "&#106;");
        assert_eq!(decode_references("&unknown; & &#;"), "&unknown; & &#;");
    }
}
