//! Arbitrary JSON as the arguments of a real tool, checked by the host's
//! argument validator against that tool's input schema (schemas/*.json, as
//! the plugins describe them). Input: a first line naming the tool
//! (`create_user`, `send_from_template` or `configure_mailbox`), optionally
//! followed by ` xN` to repeat every string and key N times (N ≤ 64, so that
//! small inputs reach the sizes a length bound is about), then the JSON.
//!
//! Beyond "no panic":
//! - `check` refuses exactly what the schema refuses, always as INPUT_001;
//! - its error is bounded whatever the input's size, the property `short`
//!   in policy/src/arguments.rs is there for: the message and details each
//!   fit in `MAX_ERROR` characters, and no string or key of the input longer
//!   than `MAX_ECHO` comes back whole.

#![no_main]

use libfuzzer_sys::fuzz_target;
use m365_policy::ErrorCode;
use m365_policy::arguments::ArgumentValidator;
use serde_json::Value;
use std::sync::LazyLock;

/// Ten problems at most, each a field name and a 200-character excerpt in a
/// sentence, with room to spare; independent of the input's size.
const MAX_ERROR: usize = 6 * 1024;
/// Longer than `short`'s 200-character excerpt.
const MAX_ECHO: usize = 256;
const MAX_REPEAT: usize = 64;

struct Tool {
    name: &'static str,
    checker: ArgumentValidator,
    /// The same schema compiled with the same options, as the reference.
    reference: jsonschema::Validator,
}

/// The host passes its `secret::redact` (tested in host/src/secret.rs). The
/// bounds checked here come from the cut the validator makes after
/// redacting, so the target leaves the text as it is.
fn redact(text: &str) -> String {
    text.to_string()
}

fn tool(name: &'static str, schema: &str) -> Tool {
    let schema: Value = serde_json::from_str(schema).expect("a committed schema is JSON");
    Tool {
        name,
        checker: ArgumentValidator::new(&schema, redact).expect("a plugin's schema compiles"),
        // As ArgumentValidator::new builds it.
        reference: jsonschema::options()
            .should_validate_formats(true)
            .build(&schema)
            .expect("a plugin's schema compiles"),
    }
}

static TOOLS: LazyLock<Vec<Tool>> = LazyLock::new(|| {
    vec![
        tool("create_user", include_str!("../schemas/create_user.json")),
        tool(
            "send_from_template",
            include_str!("../schemas/send_from_template.json"),
        ),
        tool(
            "configure_mailbox",
            include_str!("../schemas/configure_mailbox.json"),
        ),
    ]
});

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let Some((header, json)) = text.split_once('\n') else {
        return;
    };
    let (name, repeat) = match header.split_once(" x") {
        Some((name, n)) => match n.parse::<usize>() {
            Ok(n) if (1..=MAX_REPEAT).contains(&n) => (name, n),
            _ => return,
        },
        None => (header, 1),
    };
    let Some(tool) = TOOLS.iter().find(|t| t.name == name) else {
        return;
    };
    // MCP arguments arrive as parsed JSON; text that is not JSON never
    // reaches the validator.
    let Ok(mut args) = serde_json::from_str::<Value>(json) else {
        return;
    };
    if repeat > 1 {
        args = inflate(&args, repeat);
    }

    let result = tool.checker.check(tool.name, &args);
    assert_eq!(
        result.is_ok(),
        tool.reference.is_valid(&args),
        "check and the schema disagree on {args}"
    );
    let Err(e) = result else {
        return;
    };
    assert_eq!(e.code(), ErrorCode::Input001, "{e}");
    let chars = e.message.chars().count();
    assert!(
        chars <= MAX_ERROR,
        "a {}-byte argument gave a {chars}-character error: {}…",
        args.to_string().len(),
        e.message.chars().take(300).collect::<String>()
    );
    let details = e.details().to_string();
    assert!(
        details.chars().count() <= MAX_ERROR,
        "a {}-byte argument gave {}-character details: {}…",
        args.to_string().len(),
        details.chars().count(),
        details.chars().take(300).collect::<String>()
    );
    let mut long = Vec::new();
    strings(&args, &mut long);
    for s in long {
        assert!(
            !e.message.contains(s.as_str()),
            "the error repeats a {}-character input string whole: {}…",
            s.chars().count(),
            e.message.chars().take(300).collect::<String>()
        );
    }
});

/// `value` with every string and object key repeated `n` times.
fn inflate(value: &Value, n: usize) -> Value {
    match value {
        Value::String(s) => Value::String(s.repeat(n)),
        Value::Array(a) => Value::Array(a.iter().map(|v| inflate(v, n)).collect()),
        Value::Object(m) => Value::Object(
            m.iter()
                .map(|(k, v)| (k.repeat(n), inflate(v, n)))
                .collect(),
        ),
        other => other.clone(),
    }
}

/// The strings and keys in `value` longer than `MAX_ECHO` characters.
fn strings(value: &Value, out: &mut Vec<String>) {
    let long = |s: &str| s.chars().count() > MAX_ECHO;
    match value {
        Value::String(s) if long(s) => out.push(s.clone()),
        Value::Array(a) => a.iter().for_each(|v| strings(v, out)),
        Value::Object(m) => {
            for (k, v) in m {
                if long(k) {
                    out.push(k.clone());
                }
                strings(v, out);
            }
        }
        _ => {}
    }
}
