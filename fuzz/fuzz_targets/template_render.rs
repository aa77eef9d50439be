//! Arbitrary template source and variables through the templates plugin's
//! renderer and sanitizer. Input, in sections separated by a line `%%`:
//! the subject, the HTML body, the text body (absent: none), and variables,
//! one a line: `name=value` (declared and given), `name` (declared only),
//! `+name=value` (given only); a value is JSON if it parses, else a string.
//!
//! Beyond "no panic":
//! - `render` of any part returns text within `MAX_OUTPUT` or an INPUT_001
//!   error, and its peak heap use stays within `MAX_RENDER_HEAP`, well below
//!   a plugin's 256 MB default memory, so a hostile template gets an error
//!   rather than a trap; a hang is caught by libFuzzer's -timeout;
//! - as the plugin saves and sends a template (tools.rs `prepare` and
//!   `render_all`): the cleaned HTML body, and the rendered body cleaned
//!   again, contain no `<script` at all, and no script element, event
//!   handler, `javascript:` URL or CSS that fetches or runs something as a
//!   browser would read them (src/html.rs); a rendered subject has no line
//!   break.

#![no_main]

use libfuzzer_sys::fuzz_target;
use m365_admin_fuzz::html::hazards;
use m365_plugin_sdk::ToolError;
use m365_templating::model::{Category, Template};
use m365_templating::render::{
    MAX_OUTPUT, Part, check_template, check_values, render, render_subject, used_variables,
};
use m365_templating::sanitize::clean;
use serde_json::{Map, Value};
use std::alloc::{GlobalAlloc, Layout, System};
use std::sync::atomic::{AtomicUsize, Ordering};

/// Peak heap one render may use: a quarter of a plugin's default memory
/// (M365_PLUGIN_MEMORY_MB, 256), which also holds the plugin's own state.
const MAX_RENDER_HEAP: usize = 64 * 1024 * 1024;

/// The system allocator, counting live bytes and their peak.
struct Counting;

static LIVE: AtomicUsize = AtomicUsize::new(0);
static PEAK: AtomicUsize = AtomicUsize::new(0);

unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        let p = unsafe { System.alloc(layout) };
        if !p.is_null() {
            grew(layout.size());
        }
        p
    }
    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        let p = unsafe { System.alloc_zeroed(layout) };
        if !p.is_null() {
            grew(layout.size());
        }
        p
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        unsafe { System.dealloc(ptr, layout) };
        LIVE.fetch_sub(layout.size(), Ordering::Relaxed);
    }
    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        let p = unsafe { System.realloc(ptr, layout, new_size) };
        if !p.is_null() {
            LIVE.fetch_sub(layout.size(), Ordering::Relaxed);
            grew(new_size);
        }
        p
    }
}

fn grew(size: usize) {
    let live = LIVE.fetch_add(size, Ordering::Relaxed) + size;
    PEAK.fetch_max(live, Ordering::Relaxed);
}

#[global_allocator]
static ALLOCATOR: Counting = Counting;

/// Runs `f`, returning its result and the most heap it held above what was
/// live when it started.
fn measured<T>(f: impl FnOnce() -> T) -> (T, usize) {
    let base = LIVE.load(Ordering::Relaxed);
    PEAK.store(base, Ordering::Relaxed);
    let out = f();
    (out, PEAK.load(Ordering::Relaxed).saturating_sub(base))
}

/// Renders and checks the bounds every render must keep.
fn bounded_render(part: Part, source: &str, values: &Map<String, Value>) -> Option<String> {
    let (result, heap) = measured(|| render(part, source, values));
    assert!(
        heap <= MAX_RENDER_HEAP,
        "rendering {source:?} held {} MB of heap",
        heap / (1024 * 1024)
    );
    match result {
        Ok(out) => {
            assert!(
                out.len() <= MAX_OUTPUT,
                "{source:?} rendered {} bytes",
                out.len()
            );
            Some(out)
        }
        Err(e) => {
            is_input_error(&e, source);
            None
        }
    }
}

fn is_input_error(e: &ToolError, source: &str) {
    assert_eq!(e.code, "INPUT_001", "{source:?}: {}", e.message);
}

fn assert_safe(html: &str, what: &str, source: &str) {
    // Text and attribute values come out with `<` escaped, so any `<script`
    // left would be markup.
    assert!(
        !html.to_ascii_lowercase().contains("<script"),
        "{what} holds <script\n  output: {html:?}\n  source: {source:?}"
    );
    let found = hazards(html);
    assert!(
        found.is_empty(),
        "{what} holds {found:?}\n  output: {html:?}\n  source: {source:?}"
    );
}

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let mut sections = text.split("\n%%\n");
    let subject = sections.next().unwrap_or_default();
    let html = sections.next().unwrap_or_default();
    let body_text = sections.next();
    let mut declared = Vec::new();
    let mut values = Map::new();
    for line in sections.next().unwrap_or_default().lines() {
        let (given_only, line) = match line.strip_prefix('+') {
            Some(rest) => (true, rest),
            None => (false, line),
        };
        let (name, value) = match line.split_once('=') {
            Some((n, v)) => (n, Some(v)),
            None => (line, None),
        };
        if !given_only {
            declared.push(name.to_string());
        }
        if let Some(v) = value {
            let v = serde_json::from_str(v).unwrap_or_else(|_| Value::String(v.to_string()));
            values.insert(name.to_string(), v);
        }
    }

    // Each part on its own, whatever the values.
    for (part, source) in [
        (Part::Subject, Some(subject)),
        (Part::Html, Some(html)),
        (Part::Text, body_text),
    ] {
        if let Some(source) = source {
            bounded_render(part, source, &values);
            if let Err(e) = used_variables(part, source) {
                is_input_error(&e, source);
            }
        }
    }

    // Saved as the plugin saves it: the HTML cleaned, then the whole checked.
    let cleaned = clean(html);
    assert_safe(&cleaned.html, "the cleaned body", html);
    let t = Template {
        template_id: "fuzz".into(),
        template_name: "Fuzz".into(),
        subject: subject.into(),
        body_html: cleaned.html,
        body_text: body_text.map(str::to_string),
        category: Category::CustomerCommunication,
        variables: declared,
        description: None,
        created_at: String::new(),
        updated_at: String::new(),
    };
    if check_template(&t).is_err() || check_values(&t, &values).is_err() {
        return;
    }

    // Sent as the plugin sends it: rendered, then cleaned again.
    let (subject, heap) = measured(|| render_subject(&t, &values));
    assert!(heap <= MAX_RENDER_HEAP, "the subject held {heap} bytes");
    match subject {
        Ok(s) => assert!(!s.contains(['\r', '\n']), "subject {s:?} has a line break"),
        Err(e) => is_input_error(&e, &t.subject),
    }
    if let Some(rendered) = bounded_render(Part::Html, &t.body_html, &values) {
        assert_safe(&clean(&rendered).html, "the rendered body", &t.body_html);
    }
});
