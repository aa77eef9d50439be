//! Rendering with minijinja, locked down: each part (subject, HTML, text) is
//! its own template in its own environment with no loader, so there is
//! nothing to include or import; undefined is an error; only the declared
//! variables exist; values are HTML-escaped in the HTML body only.
//!
//! Work and memory are bounded, because a plugin has a fixed memory (256 MiB
//! by default) and running out of it is a trap, not an error the caller can
//! act on:
//! - fuel bounds the instructions a render runs;
//! - the output goes into a writer that refuses to grow past [`MAX_OUTPUT`],
//!   so a long loop stops there rather than after building all of its text;
//! - the language is cut down to what cannot build large values: the tags
//!   `if` and `for` only (no `set`, `with`, `macro`, `call`, `filter` or
//!   `block`, which store or capture text beyond the writer's reach), an
//!   allow-list of filters and tests that at most multiply a value by a small
//!   constant ([`FILTERS`]), no functions, no `*` (minijinja repeats strings
//!   with it) and no list, tuple or dict literals (printed, they quote and
//!   escape their items, and that compounds when nested);
//! - what is left can still join values (`~`, `+`) and run that in loops,
//!   so every expression is given a worst-case size, and a template whose
//!   expressions could hold more than [`MAX_WORK`] bytes at once, or build
//!   more than [`MAX_BUILT`] bytes over the render (which bounds its time),
//!   is refused (see [`Budget`]).
//!
//! All of this is checked when a template is saved ([`check_template`]) and
//! again before every render, whatever the template's source.

use crate::model::Template;
use m365_plugin_sdk::ToolError;
use minijinja::{AutoEscape, Environment, UndefinedBehavior};
use serde_json::{Map, Value};
use std::collections::{BTreeSet, HashMap};

/// Instructions one part may run: plenty for a letter, nothing like a loop
/// over millions.
const FUEL: u64 = 200_000;
/// Largest rendered part (Graph takes 4 MB per request).
pub const MAX_OUTPUT: usize = 512 * 1024;
/// Largest value of one variable, in bytes.
const MAX_VALUE: usize = 10_000;
const MAX_VARIABLES: usize = 100;
/// Most bytes of text the expressions of one part may build and hold at
/// once, in the worst case [`Budget`] computes. The real peak is a small
/// multiple of it (joining copies; a String grows by doubling), well within
/// a plugin's memory.
const MAX_WORK: usize = 4 * 1024 * 1024;
/// Most bytes of text the expressions of one part may build over a whole
/// render, in the worst case [`Budget`] computes: this bounds the time a
/// render takes (fuel counts instructions, and one instruction can copy
/// megabytes), a fraction of a second.
const MAX_BUILT: usize = 256 * 1024 * 1024;
/// Longest text a number can print as (an f64 is at most 309 digits and a
/// sign, a point and a fraction).
const NUMBER_TEXT: usize = 400;
/// Largest item of a loop over a string (a character) or over `loop`
/// (an attribute name), and the longest `loop` prints as (`<loop 3/10>`).
const ITEM_TEXT: usize = 16;
const LOOP_TEXT: usize = 64;

/// Tags that would reach other templates.
const FORBIDDEN_TAGS: &[&str] = &["include", "import", "from", "extends"];
/// The only tags a template may use (`raw` is read by the lexer itself).
const ALLOWED_TAGS: &[&str] = &[
    "if", "elif", "else", "endif", "for", "endfor", "raw", "endraw",
];
/// The filters a template may use, with how many times longer than its
/// input a filter's result can be, in bytes: Unicode case mapping can turn
/// two bytes into six (`ΐ` into `Ϊ́`); HTML escaping turns `'` into `&#x27;`.
/// None of them grows a value by more than a constant, and [`Budget`]
/// multiplies those constants along a chain (`x|e|upper|e` is 108 times x).
const FILTERS: &[(&str, usize)] = &[
    ("upper", 3),
    ("lower", 3),
    ("title", 3),
    ("capitalize", 3),
    ("escape", 6),
    ("e", 6),
    ("safe", 1),
    ("trim", 1),
    ("default", 1),
    ("d", 1),
    ("length", 1),
    ("count", 1),
    ("first", 1),
    ("last", 1),
    ("round", 1),
    ("int", 1),
    ("float", 1),
    ("abs", 1),
];
/// The tests a template may use (`x is defined`); all give true or false.
const TESTS: &[&str] = &[
    "defined",
    "undefined",
    "none",
    "safe",
    "escaped",
    "boolean",
    "true",
    "false",
    "number",
    "integer",
    "int",
    "float",
    "string",
    "odd",
    "even",
    "divisibleby",
    "eq",
    "equalto",
    "ne",
    "lt",
    "lessthan",
    "le",
    "gt",
    "greaterthan",
    "ge",
    "in",
    "startingwith",
    "endingwith",
    "lower",
    "upper",
];
/// Names the expression language reserves: operators and constants.
const KEYWORDS: &[&str] = &[
    "and", "or", "not", "in", "is", "if", "else", "true", "false", "none", "True", "False", "None",
];

#[derive(Clone, Copy, PartialEq, Eq)]
pub enum Part {
    Subject,
    Html,
    Text,
}

impl Part {
    fn name(self) -> &'static str {
        match self {
            Part::Subject => "subject",
            Part::Html => "bodyHtml",
            Part::Text => "bodyText",
        }
    }
}

/// An environment with nothing in it but the allowed filters and tests: no
/// globals (so no `range`, `namespace` or `debug`) and no loader.
fn environment(part: Part) -> Environment<'static> {
    use minijinja::{filters as f, tests as t};
    let mut env = Environment::empty();
    env.set_undefined_behavior(UndefinedBehavior::Strict);
    env.set_fuel(Some(FUEL));
    let escape = if part == Part::Html {
        AutoEscape::Html
    } else {
        AutoEscape::None
    };
    env.set_auto_escape_callback(move |_| escape);
    // Keep in step with FILTERS and TESTS (a unit test checks).
    env.add_filter("upper", f::upper);
    env.add_filter("lower", f::lower);
    env.add_filter("title", f::title);
    env.add_filter("capitalize", f::capitalize);
    env.add_filter("escape", f::escape);
    env.add_filter("e", f::escape);
    env.add_filter("safe", f::safe);
    env.add_filter("trim", f::trim);
    env.add_filter("default", f::default);
    env.add_filter("d", f::default);
    env.add_filter("length", f::length);
    env.add_filter("count", f::length);
    env.add_filter("first", f::first);
    env.add_filter("last", f::last);
    env.add_filter("round", f::round);
    env.add_filter("int", f::int);
    env.add_filter("float", f::float);
    env.add_filter("abs", f::abs);
    env.add_test("defined", t::is_defined);
    env.add_test("undefined", t::is_undefined);
    env.add_test("none", t::is_none);
    env.add_test("safe", t::is_safe);
    env.add_test("escaped", t::is_safe);
    env.add_test("boolean", t::is_boolean);
    env.add_test("true", t::is_true);
    env.add_test("false", t::is_false);
    env.add_test("number", t::is_number);
    env.add_test("integer", t::is_integer);
    env.add_test("int", t::is_integer);
    env.add_test("float", t::is_float);
    env.add_test("string", t::is_string);
    env.add_test("odd", t::is_odd);
    env.add_test("even", t::is_even);
    env.add_test("divisibleby", t::is_divisibleby);
    env.add_test("eq", t::is_eq);
    env.add_test("equalto", t::is_eq);
    env.add_test("ne", t::is_ne);
    env.add_test("lt", t::is_lt);
    env.add_test("lessthan", t::is_lt);
    env.add_test("le", t::is_le);
    env.add_test("gt", t::is_gt);
    env.add_test("greaterthan", t::is_gt);
    env.add_test("ge", t::is_ge);
    env.add_test("in", t::is_in);
    env.add_test("startingwith", t::is_startingwith);
    env.add_test("endingwith", t::is_endingwith);
    env.add_test("lower", t::is_lower);
    env.add_test("upper", t::is_upper);
    env
}

fn syntax_error(part: Part, e: &minijinja::Error) -> ToolError {
    ToolError::input(
        Some(part.name()),
        format!(
            "{} is not a valid template: {}. Variables are written {{{{ name }}}}; fix it and try again.",
            part.name(),
            e.detail().unwrap_or(&e.to_string())
        ),
    )
}

fn refused(part: Part, what: String) -> ToolError {
    ToolError::input(Some(part.name()), format!("{} {what}", part.name()))
}

/// Refuses every tag but `if` and `for`, whatever the spacing or trim marks.
/// This reads every `{%` in the source, also inside comments, strings and
/// `raw` blocks, so it never misses a tag (and refuses, say, `{# {% set %} #}`
/// too).
fn check_tags(part: Part, source: &str) -> Result<(), ToolError> {
    let mut rest = source;
    while let Some(i) = rest.find("{%") {
        let tag = rest[i + 2..].trim_start_matches(['-', '+']).trim_start();
        let word: String = tag
            .chars()
            .take_while(|c| c.is_ascii_alphabetic())
            .collect();
        if FORBIDDEN_TAGS.contains(&word.as_str()) {
            return Err(refused(
                part,
                format!(
                    "uses {{% {word} %}}; templates cannot include or import other templates. Put the text in the template itself."
                ),
            ));
        }
        // No word: not a tag, or a syntax error minijinja will report.
        if !word.is_empty() && !ALLOWED_TAGS.contains(&word.as_str()) {
            return Err(refused(
                part,
                format!(
                    "uses {{% {word} %}}; templates may use only {{{{ variables }}}}, {{% if %}} and {{% for %}} (not set, with, macro, call, filter or block, which could build text without limit). Write the text out instead."
                ),
            ));
        }
        rest = &rest[i + 2..];
    }
    Ok(())
}

/// Parses a part and checks it uses only what may be rendered within bounds:
/// allowed tags, filters and tests, and expressions within [`MAX_WORK`] and
/// [`MAX_BUILT`] when each variable is `value_size` bytes long and, if
/// `scalars`, a string, number or boolean.
fn compile<'e>(
    env: &'e Environment<'e>,
    part: Part,
    source: &'e str,
    value_size: usize,
    scalars: bool,
) -> Result<minijinja::Template<'e, 'e>, ToolError> {
    // Tags first, before minijinja compiles anything: its code generator
    // panics on some of what its parser accepts in the tags refused here
    // (`{% import 'm' as m|join %}` reaches an `unreachable!()`), and a
    // panic is a trap in the plugin.
    check_tags(part, source)?;
    let tmpl = env
        .template_from_named_str(part.name(), source)
        .map_err(|e| syntax_error(part, &e))?;
    let mut budget = Budget {
        part,
        value_size,
        item_size: scalars.then_some(ITEM_TEXT),
        sizes: HashMap::new(),
        open: Vec::new(),
        work: 0,
        built: 0,
    };
    blocks(source, |tag, toks| budget.block(tag, toks)).map_err(|e| {
        e.unwrap_or_else(|| {
            // minijinja accepted the source and `blocks` could not read it:
            // the two lexers disagree. Refuse rather than render unchecked.
            debug_assert!(false, "template lexer out of step with minijinja: {source:?}");
            refused(
                part,
                "could not be checked: it uses template syntax this plugin does not support. Use only {{ variables }}, {% if %} and {% for %}.".to_string(),
            )
        })
    })?;
    Ok(tmpl)
}

/// One token of an expression, as minijinja's lexer reads it.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Tok<'s> {
    Name(&'s str),
    /// A string literal, by its length in the source (at least its value's).
    Str(usize),
    Num,
    Op(&'s str),
}

/// Calls `each` with the tokens of every `{{ ... }}` (`false`) and
/// `{% ... %}` (`true`) in `source`, in order, skipping comments and `raw`
/// blocks, as minijinja's lexer reads them (default syntax and whitespace
/// settings). `Err(None)` if the source cannot be read so; `each`'s error
/// is passed on.
fn blocks<'s, F>(source: &'s str, mut each: F) -> Result<(), Option<ToolError>>
where
    F: FnMut(bool, &[Tok<'s>]) -> Result<(), ToolError>,
{
    let b = source.as_bytes();
    let mut i = 0;
    let mut toks = Vec::new();
    while let Some(off) = b[i..]
        .windows(2)
        .position(|w| w[0] == b'{' && matches!(w[1], b'{' | b'%' | b'#'))
    {
        let at = i + off;
        let kind = b[at + 1];
        let mut j = at + 2;
        if matches!(b.get(j), Some(b'-' | b'+')) {
            j += 1;
        }
        if kind == b'#' {
            let end = source[j..].find("#}").ok_or(None)?;
            i = j + end + 2;
            continue;
        }
        if kind == b'%'
            && let Some(len) = basic_tag(&source[j..], "raw", false)
        {
            // Everything up to the first `{% endraw %}` is text.
            let mut p = j + len;
            loop {
                p += source[p..].find("{%").ok_or(None)? + 2;
                if let Some(len) = basic_tag(&source[p..], "endraw", true) {
                    i = p + len;
                    break;
                }
            }
            continue;
        }
        let end = if kind == b'%' { "%}" } else { "}}" };
        toks.clear();
        i = tokenize(source, j, end, &mut toks).ok_or(None)?;
        each(kind == b'%', &toks).map_err(Some)?;
    }
    Ok(())
}

/// The length of `{% name %}` after its `{%` at the start of `s` (minijinja's
/// `skip_basic_tag`), if that is what `s` starts with.
fn basic_tag(s: &str, name: &str, trim_mark: bool) -> Option<usize> {
    let mut p = s;
    if trim_mark {
        p = p.strip_prefix(['-', '+']).unwrap_or(p);
    }
    p = p.trim_start_matches(|c: char| c.is_ascii_whitespace());
    p = p.strip_prefix(name)?;
    p = p.trim_start_matches(|c: char| c.is_ascii_whitespace());
    p = p.strip_prefix(['-', '+']).unwrap_or(p);
    p = p.strip_prefix("%}")?;
    Some(s.len() - p.len())
}

/// Reads the tokens of one block from `start` up to its `end` delimiter
/// (`}}` or `%}`, optionally after `-` or `+`, outside brackets); returns
/// the offset after the delimiter.
fn tokenize<'s>(
    source: &'s str,
    start: usize,
    end: &str,
    toks: &mut Vec<Tok<'s>>,
) -> Option<usize> {
    let b = source.as_bytes();
    let mut p = start;
    let mut depth = 0isize;
    loop {
        let rest = &source[p..];
        let c = *rest.as_bytes().first()?;
        if c.is_ascii_whitespace() {
            p += 1;
            continue;
        }
        if depth == 0 {
            if matches!(c, b'-' | b'+') && rest[1..].starts_with(end) {
                return Some(p + 1 + end.len());
            }
            if rest.starts_with(end) {
                return Some(p + end.len());
            }
        }
        if let Some(op) = ["//", "**", "==", "!=", ">=", "<="]
            .into_iter()
            .find(|op| rest.starts_with(op))
        {
            toks.push(Tok::Op(op));
            p += 2;
            continue;
        }
        match c {
            b'+' | b'-' | b'*' | b'/' | b'%' | b'.' | b',' | b':' | b'~' | b'|' | b'=' | b'>'
            | b'<' | b'(' | b')' | b'[' | b']' | b'{' | b'}' => {
                match c {
                    b'(' | b'[' | b'{' => depth += 1,
                    b')' | b']' | b'}' => depth -= 1,
                    _ => {}
                }
                toks.push(Tok::Op(&rest[..1]));
                p += 1;
            }
            b'\'' | b'"' => {
                let mut k = p + 1;
                loop {
                    match *b.get(k)? {
                        b'\\' => k += 2,
                        q if q == c => break,
                        _ => k += 1,
                    }
                }
                toks.push(Tok::Str(k - p - 1));
                p = k + 1;
            }
            b'0'..=b'9' => {
                p += number_len(rest);
                toks.push(Tok::Num);
            }
            b'_' | b'a'..=b'z' | b'A'..=b'Z' => {
                let len = rest
                    .bytes()
                    .take_while(|c| c.is_ascii_alphanumeric() || *c == b'_')
                    .count();
                toks.push(Tok::Name(&rest[..len]));
                p += len;
            }
            _ => return None,
        }
    }
}

/// The length of the number at the start of `s` (minijinja's `eat_number`).
fn number_len(s: &str) -> usize {
    let b = s.as_bytes();
    let radix = match b.get(..2) {
        Some(b"0b" | b"0B") => 2,
        Some(b"0o" | b"0O") => 8,
        Some(b"0x" | b"0X") => 16,
        _ => 10,
    };
    #[derive(Clone, Copy, PartialEq)]
    enum S {
        Radix,
        Int,
        Fraction,
        Exponent,
        ExponentSign,
    }
    let (mut state, mut n) = if radix == 10 {
        (S::Int, 0)
    } else {
        (S::Radix, 2)
    };
    n += b[n..].iter().take_while(|c| c.is_ascii_digit()).count();
    while let Some(&c) = b.get(n) {
        state = match (c, state) {
            (b'.', S::Int) => {
                let is_exp = matches!(b.get(n + 1), Some(b'e' | b'E'))
                    && matches!(b.get(n + 2), Some(b'+' | b'-' | b'0'..=b'9'));
                let ident_follows = matches!(b.get(n + 1), Some(b'_' | b'a'..=b'z' | b'A'..=b'Z'));
                if !is_exp && ident_follows {
                    break;
                }
                S::Fraction
            }
            (b'E' | b'e', S::Int | S::Fraction) => S::Exponent,
            (b'+' | b'-', S::Exponent) => S::ExponentSign,
            (b'0'..=b'9', S::Exponent) => S::ExponentSign,
            (b'0'..=b'9', s) => s,
            (b'a'..=b'f' | b'A'..=b'F', S::Radix) if radix == 16 => state,
            (b'_', s) => s,
            _ => break,
        };
        n += 1;
    }
    n
}

/// The worst case of the text a part's expressions can build.
///
/// Without `set`, `with`, macros, capturing blocks, functions, `*` and
/// literal lists, a value can only be built inside one expression, from the
/// variables (each at most `value_size` bytes), loop variables and literals
/// it names, by joining (`~`, `+`), slicing and the allowed filters. So the
/// size of an expression's result is at most the sum of the sizes of the
/// names and literals in it, times the growth factors of its filters
/// ([`FILTERS`]).
///
/// A `for` loop's variables are bound to items of its sequence, inside the
/// loop (around it, the names mean what they meant before). When every
/// value is a string, number or boolean (as [`check_values`] requires), every
/// sequence is a string, and an item is one character. Otherwise (lists and
/// maps, which only reach [`render`] unchecked) an item is taken to be as
/// large as the sequence, and nested loops over joined values
/// (`{% for a in x ~ x %}{% for b in a ~ a %}`) double at each level, which
/// the sizes follow.
///
/// Memory: what is alive at any moment while rendering is the sequence of
/// each enclosing loop plus the expression being evaluated (earlier results
/// are written out and dropped), so the sum of the sizes of all the part's
/// expressions bounds it; that sum must stay within [`MAX_WORK`]. An
/// expression that is only a name (`{{ name }}`, `{{ loop.index }}`) or a
/// literal builds nothing (it shares the value, which is written out as it
/// is escaped), and costs nothing. Printed text is bounded by the writer.
///
/// Time: evaluating an expression once builds at most its size once per
/// operation in it (joining `k` values copies the partial results `k`
/// times), counted as its number of tokens times its size; a loop runs its
/// body at most once per character of its sequence, and never more times
/// than there is fuel. The sum over the part, times the runs of the loops
/// around each expression, must stay within [`MAX_BUILT`].
struct Budget<'s> {
    part: Part,
    value_size: usize,
    /// The largest item of a sequence, when known from the values.
    item_size: Option<usize>,
    /// Loop variables in scope, by the largest value they may hold (any
    /// other name is a variable, of `value_size`).
    sizes: HashMap<&'s str, usize>,
    /// The `if` and `for` blocks open around the current position.
    open: Vec<Open<'s>>,
    work: usize,
    built: usize,
}

enum Open<'s> {
    If,
    For {
        /// How many times the loop may run its body.
        runs: usize,
        /// What its variables' names meant around it, to restore after it.
        outer: Vec<(&'s str, Option<usize>)>,
    },
}

impl<'s> Budget<'s> {
    fn block(&mut self, tag: bool, toks: &[Tok<'s>]) -> Result<(), ToolError> {
        if !tag {
            return self.charge(toks).map(|_| ());
        }
        match toks {
            [Tok::Name("if"), expr @ ..] => {
                self.open.push(Open::If);
                self.charge(expr).map(|_| ())
            }
            [Tok::Name("elif"), expr @ ..] => self.charge(expr).map(|_| ()),
            [Tok::Name("endif" | "endfor")] => {
                if let Some(Open::For { outer, .. }) = self.open.pop() {
                    for (name, size) in outer.into_iter().rev() {
                        match size {
                            Some(size) => self.sizes.insert(name, size),
                            None => self.sizes.remove(name),
                        };
                    }
                }
                Ok(())
            }
            // A loop's `else` runs when it has no items: its names may mean
            // what they meant around it, or (whatever minijinja does) the
            // loop's variables; count the larger.
            [Tok::Name("else")] => {
                if let Some(Open::For { outer, .. }) = self.open.last() {
                    for &(name, size) in outer {
                        let around = size.unwrap_or(self.value_size);
                        let s = self.sizes.entry(name).or_insert(0);
                        *s = (*s).max(around);
                    }
                }
                Ok(())
            }
            [Tok::Name("for"), rest @ ..] => {
                let Some(at) = rest.iter().position(|t| *t == Tok::Name("in")) else {
                    return Err(self.unsupported("a for loop without `in`"));
                };
                let (targets, seq) = (&rest[..at], &rest[at + 1..]);
                if seq.contains(&Tok::Name("recursive")) {
                    return Err(refused(
                        self.part,
                        "uses a recursive loop; templates cannot use recursion. Write the loop out instead.".into(),
                    ));
                }
                // `for x in seq if cond`: minijinja reads the sequence
                // without inline `if`s, so the first `if` outside brackets
                // starts the filter. The sequence runs once per run of the
                // loops around it; the filter once per item, with the loop
                // variables bound.
                let mut depth = 0isize;
                let split = seq.iter().position(|t| {
                    match t {
                        Tok::Op("(" | "[" | "{") => depth += 1,
                        Tok::Op(")" | "]" | "}") => depth -= 1,
                        _ => {}
                    }
                    depth == 0 && *t == Tok::Name("if")
                });
                let (seq, filter) = match split {
                    Some(k) => (&seq[..k], &seq[k + 1..]),
                    None => (seq, &[][..]),
                };
                let size = self.charge(seq)?;
                let item = self.item_size.unwrap_or(size);
                let mut outer = Vec::new();
                for (name, inside) in targets
                    .iter()
                    .filter_map(|t| match *t {
                        Tok::Name(n) => Some((n, item)),
                        _ => None,
                    })
                    .chain([("loop", LOOP_TEXT)])
                {
                    outer.push((name, self.sizes.insert(name, inside)));
                }
                self.open.push(Open::For {
                    runs: size.max(1),
                    outer,
                });
                if !filter.is_empty() {
                    self.charge(filter)?;
                }
                Ok(())
            }
            _ => Err(self.unsupported("this tag")),
        }
    }

    fn unsupported(&self, what: &str) -> ToolError {
        refused(
            self.part,
            format!(
                "uses {what}, which this plugin does not support; use only {{{{ variables }}}}, {{% if %}} and {{% for %}}."
            ),
        )
    }

    /// Adds an expression's cost to the work; returns its size.
    fn charge(&mut self, toks: &[Tok<'s>]) -> Result<usize, ToolError> {
        let size = self.size(toks)?;
        if !plain(toks) {
            self.work = self.work.saturating_add(size);
            let runs = self
                .open
                .iter()
                .filter_map(|o| match o {
                    Open::For { runs, .. } => Some(*runs),
                    Open::If => None,
                })
                .fold(1usize, |n, m| n.saturating_mul(m))
                .min(FUEL as usize);
            let once = size.saturating_mul(toks.len());
            self.built = self.built.saturating_add(once.saturating_mul(runs));
        }
        if self.built > MAX_BUILT {
            return Err(refused(
                self.part,
                format!(
                    "could build up to {} MB of text while rendering, more than the {} MB allowed, and take too long: each variable counts as its longest value ({} characters), and a join (~ or +) or filter inside a loop counts once per character looped over. Move joins and filters out of loops, or join fewer values in one expression.",
                    self.built / (1024 * 1024),
                    MAX_BUILT / (1024 * 1024),
                    MAX_VALUE
                ),
            ));
        }
        if self.work > MAX_WORK {
            return Err(refused(
                self.part,
                format!(
                    "could build up to {} KB of text while rendering, more than the {} KB allowed: each variable counts as its longest value ({} characters) every time it is joined (~ or +), filtered, compared or looped over. Join fewer values in one expression (write {{{{ a }}}} {{{{ b }}}} rather than {{{{ a ~ ' ' ~ b }}}}) or use fewer filters and loops.",
                    self.work / 1024,
                    MAX_WORK / 1024,
                    MAX_VALUE
                ),
            ));
        }
        Ok(size)
    }

    /// The largest value `toks` can evaluate to, in bytes; refuses what is
    /// not allowed.
    fn size(&self, toks: &[Tok<'s>]) -> Result<usize, ToolError> {
        let part = self.part;
        let mut sum = 0usize;
        let mut factor = 1usize;
        // Open brackets: `(` grouping, `c` call arguments, `[` subscript.
        let mut open: Vec<u8> = Vec::new();
        for (i, &t) in toks.iter().enumerate() {
            let prev = i.checked_sub(1).map(|j| toks[j]);
            let next = toks.get(i + 1).copied();
            // A test's name: `x is defined`, `x is not none`.
            let is_test = match t {
                Tok::Name(n) => {
                    (prev == Some(Tok::Name("is")) && n != "not")
                        || (prev == Some(Tok::Name("not"))
                            && i >= 2
                            && toks[i - 2] == Tok::Name("is"))
                }
                _ => false,
            };
            match t {
                // An attribute: `loop.index`, `x.y`.
                Tok::Name(_) if prev == Some(Tok::Op(".")) => {}
                Tok::Name(name) if prev == Some(Tok::Op("|")) => {
                    let Some((_, grows)) = FILTERS.iter().find(|(f, _)| *f == name) else {
                        let names: Vec<&str> = FILTERS.iter().map(|(f, _)| *f).collect();
                        return Err(refused(
                            part,
                            format!(
                                "uses the filter `{name}`, which templates cannot use; the filters allowed are {}. Pass the value already formatted instead.",
                                names.join(", ")
                            ),
                        ));
                    };
                    if next == Some(Tok::Op(".")) {
                        return Err(refused(
                            part,
                            format!("uses the filter `{name}.…`, which templates cannot use."),
                        ));
                    }
                    factor = factor.saturating_mul(*grows);
                }
                Tok::Name(name)
                    if is_test && (!TESTS.contains(&name) || next == Some(Tok::Op("."))) =>
                {
                    return Err(refused(
                        part,
                        format!(
                            "uses the test `is {name}`, which templates cannot use; the tests allowed are {}.",
                            TESTS.join(", ")
                        ),
                    ));
                }
                Tok::Name(_) if is_test => {}
                Tok::Name("true" | "false" | "none" | "True" | "False" | "None") => sum += 5,
                Tok::Name(name) if KEYWORDS.contains(&name) => {}
                // A keyword argument: `round(precision=2)`.
                Tok::Name(_) if next == Some(Tok::Op("=")) => {}
                Tok::Name(name) => {
                    if next == Some(Tok::Op("(")) {
                        return Err(refused(
                            part,
                            format!(
                                "calls {name}(); templates cannot call functions. Pass what you need as variables."
                            ),
                        ));
                    }
                    let size = self.sizes.get(name).copied().unwrap_or(self.value_size);
                    sum = sum.saturating_add(size);
                }
                Tok::Str(len) => sum = sum.saturating_add(len),
                Tok::Num => sum = sum.saturating_add(NUMBER_TEXT),
                Tok::Op("*") => {
                    return Err(refused(
                        part,
                        "uses `*`; templates cannot multiply (it also repeats text, which could build text without limit). Pass the computed value as a variable.".into(),
                    ));
                }
                Tok::Op("[") if follows_value(prev) => open.push(b'['),
                Tok::Op("(") if follows_value(prev) => open.push(b'c'),
                Tok::Op("(") => open.push(b'('),
                Tok::Op(",") if matches!(open.last(), Some(b'c' | b'[')) => {}
                Tok::Op("[" | "{" | ",") => {
                    return Err(refused(
                        part,
                        "builds a list, tuple or dict ([a, b], a, b or {'k': v}); templates can use only the values given. Pass what you need as variables.".into(),
                    ));
                }
                Tok::Op(")" | "]" | "}") => {
                    open.pop();
                }
                _ => {}
            }
        }
        Ok(sum.saturating_mul(factor))
    }
}

/// Whether a bracket after `prev` calls or subscripts it (rather than
/// grouping or starting a literal).
fn follows_value(prev: Option<Tok>) -> bool {
    match prev {
        Some(Tok::Name(n)) => {
            !KEYWORDS.contains(&n)
                || matches!(n, "true" | "false" | "none" | "True" | "False" | "None")
        }
        Some(Tok::Str(_)) | Some(Tok::Op(")" | "]")) => true,
        _ => false,
    }
}

/// An expression that is a name, with attributes (`loop.index`), or a
/// literal: it shares a value rather than building one.
fn plain(toks: &[Tok]) -> bool {
    match toks {
        [Tok::Str(_)] | [Tok::Num] => true,
        [Tok::Name(n), rest @ ..] if !KEYWORDS.contains(n) => rest
            .chunks(2)
            .all(|c| matches!(c, [Tok::Op("."), Tok::Name(_) | Tok::Num])),
        _ => false,
    }
}

/// The variables a part uses.
pub fn used_variables(part: Part, source: &str) -> Result<BTreeSet<String>, ToolError> {
    let env = environment(part);
    let tmpl = compile(&env, part, source, MAX_VALUE, true)?;
    Ok(tmpl.undeclared_variables(false).into_iter().collect())
}

/// Checks a template's parts against its declared variables: every variable
/// used must be declared (names the ones that are not).
pub fn check_template(t: &Template) -> Result<(), ToolError> {
    let declared: BTreeSet<&str> = t.variables.iter().map(String::as_str).collect();
    let mut undeclared = BTreeSet::new();
    let parts = [
        (Part::Subject, Some(t.subject.as_str())),
        (Part::Html, Some(t.body_html.as_str())),
        (Part::Text, t.body_text.as_deref()),
    ];
    for (part, source) in parts {
        if let Some(source) = source {
            for v in used_variables(part, source)? {
                if !declared.contains(v.as_str()) {
                    undeclared.insert(v);
                }
            }
        }
    }
    if !undeclared.is_empty() {
        let names: Vec<String> = undeclared.into_iter().collect();
        return Err(ToolError::input(
            Some("variables"),
            format!(
                "The template uses variables it does not declare: {}. Add them to `variables` or remove them from the text.",
                names.join(", ")
            ),
        )
        .with_detail("undeclared", names));
    }
    Ok(())
}

/// Checks the values given for a render: exactly the declared variables,
/// each a string, number or boolean of bounded size.
pub fn check_values(t: &Template, values: &Map<String, Value>) -> Result<(), ToolError> {
    let declared: BTreeSet<&str> = t.variables.iter().map(String::as_str).collect();
    let missing: Vec<&str> = declared
        .iter()
        .filter(|v| !values.contains_key(**v))
        .copied()
        .collect();
    let extra: Vec<&str> = values
        .keys()
        .map(String::as_str)
        .filter(|k| !declared.contains(k))
        .collect();
    if !missing.is_empty() || !extra.is_empty() {
        let mut why = Vec::new();
        if !missing.is_empty() {
            why.push(format!("missing {}", missing.join(", ")));
        }
        if !extra.is_empty() {
            why.push(format!("not declared by the template {}", extra.join(", ")));
        }
        return Err(ToolError::input(
            Some("variables"),
            format!(
                "The variables do not match template {}: {}. It takes exactly: {}.",
                t.template_id,
                why.join("; "),
                t.variables.join(", ")
            ),
        )
        .with_detail("missing", missing)
        .with_detail("undeclared", extra));
    }
    if values.len() > MAX_VARIABLES {
        return Err(ToolError::input(
            Some("variables"),
            format!("At most {MAX_VARIABLES} variables."),
        ));
    }
    for (k, v) in values {
        let ok = match v {
            Value::String(s) => s.len() <= MAX_VALUE,
            Value::Number(_) | Value::Bool(_) => true,
            _ => false,
        };
        if !ok {
            return Err(ToolError::input(
                Some(&format!("variables.{k}")),
                format!(
                    "Variable {k} must be a string (at most {MAX_VALUE} characters), a number or true/false."
                ),
            ));
        }
    }
    Ok(())
}

/// The output of a render, refusing to grow past `limit` bytes.
struct Bounded {
    buf: Vec<u8>,
    limit: usize,
    overflowed: bool,
}

impl std::io::Write for Bounded {
    fn write(&mut self, data: &[u8]) -> std::io::Result<usize> {
        if self.buf.len().saturating_add(data.len()) > self.limit {
            self.overflowed = true;
            return Err(std::io::Error::other("the rendered text is too long"));
        }
        self.buf.extend_from_slice(data);
        Ok(data.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// The longest a variable's value can print as: [`MAX_VALUE`], or more for
/// values that did not go through [`check_values`] (lists and maps print
/// with their items quoted and escaped, at most three times their JSON).
fn value_size(values: &Map<String, Value>) -> usize {
    values
        .values()
        .map(|v| match v {
            Value::String(s) => s.len(),
            other => other.to_string().len().saturating_mul(3),
        })
        .fold(MAX_VALUE, usize::max)
}

/// Renders one part with `values` (already checked).
pub fn render(part: Part, source: &str, values: &Map<String, Value>) -> Result<String, ToolError> {
    let env = environment(part);
    let scalars = values
        .values()
        .all(|v| matches!(v, Value::String(_) | Value::Number(_) | Value::Bool(_)));
    let tmpl = compile(&env, part, source, value_size(values), scalars)?;
    let mut out = Bounded {
        buf: Vec::new(),
        limit: MAX_OUTPUT,
        overflowed: false,
    };
    let rendered = tmpl.render_captured_to(minijinja::Value::from_serialize(values), &mut out);
    if out.overflowed {
        return Err(ToolError::input(
            Some(part.name()),
            format!(
                "{} renders to more than the {MAX_OUTPUT} bytes allowed (a loop over a long value?); shorten the template or the values.",
                part.name()
            ),
        ));
    }
    rendered.map_err(|e| {
        let why = match e.kind() {
            minijinja::ErrorKind::OutOfFuel => {
                "it does too much work (a loop that runs too long?)".to_string()
            }
            _ => e
                .detail()
                .map(str::to_string)
                .unwrap_or_else(|| e.to_string()),
        };
        ToolError::input(
            Some(part.name()),
            format!(
                "{} could not be rendered: {why}. Fix the template or the variables.",
                part.name()
            ),
        )
    })?;
    // minijinja writes whole strings, and the writer takes a write whole or
    // not at all.
    String::from_utf8(out.buf).map_err(|_| {
        ToolError::input(
            Some(part.name()),
            format!("{} rendered to text that is not UTF-8.", part.name()),
        )
    })
}

/// The rendered subject, refused if a value put a line break in it (that
/// would let a value add mail headers).
pub fn render_subject(t: &Template, values: &Map<String, Value>) -> Result<String, ToolError> {
    let subject = render(Part::Subject, &t.subject, values)?;
    if subject.contains(['\r', '\n']) {
        let culprits: Vec<&str> = values
            .iter()
            .filter(|(_, v)| v.as_str().is_some_and(|s| s.contains(['\r', '\n'])))
            .map(|(k, _)| k.as_str())
            .collect();
        return Err(ToolError::input(
            Some("variables"),
            format!(
                "The subject would contain a line break (from {}); line breaks in a subject could inject mail headers. Remove them.",
                if culprits.is_empty() {
                    "the template".to_string()
                } else {
                    culprits.join(", ")
                }
            ),
        ));
    }
    Ok(subject)
}

/// Replaces all but the last four digits of long digit runs (account and
/// routing numbers; runs may contain spaces or hyphens) with bullets.
pub fn mask_account_numbers(text: &str) -> String {
    let chars: Vec<char> = text.chars().collect();
    let mut out = String::with_capacity(text.len());
    let mut i = 0;
    while i < chars.len() {
        if !chars[i].is_ascii_digit() {
            out.push(chars[i]);
            i += 1;
            continue;
        }
        // A run of digits with single separators between them.
        let mut j = i;
        let mut digits = 0;
        while j < chars.len() {
            if chars[j].is_ascii_digit() {
                digits += 1;
                j += 1;
            } else if matches!(chars[j], ' ' | '-')
                && j + 1 < chars.len()
                && chars[j + 1].is_ascii_digit()
            {
                j += 1;
            } else {
                break;
            }
        }
        if digits >= 6 {
            let mut seen = 0;
            for &c in &chars[i..j] {
                if c.is_ascii_digit() {
                    seen += 1;
                    out.push(if digits - seen < 4 { c } else { '•' });
                } else {
                    out.push(c);
                }
            }
        } else {
            out.extend(&chars[i..j]);
        }
        i = j;
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn tmpl(subject: &str, html: &str, vars: &[&str]) -> Template {
        Template {
            template_id: "t".into(),
            template_name: "T".into(),
            subject: subject.into(),
            body_html: html.into(),
            body_text: None,
            category: crate::model::Category::CustomerCommunication,
            variables: vars.iter().map(|s| s.to_string()).collect(),
            description: None,
            created_at: String::new(),
            updated_at: String::new(),
        }
    }

    fn values(v: Value) -> Map<String, Value> {
        v.as_object().unwrap().clone()
    }

    #[test]
    fn html_is_escaped_text_is_not() {
        let v = values(json!({"name": "<b>Ann</b> & co"}));
        assert_eq!(
            render(Part::Html, "<p>{{ name }}</p>", &v).unwrap(),
            "<p>&lt;b&gt;Ann&lt;&#x2f;b&gt; &amp; co</p>"
        );
        assert_eq!(
            render(Part::Text, "Hi {{ name }}", &v).unwrap(),
            "Hi <b>Ann</b> & co"
        );
    }

    #[test]
    fn hostile_templates_are_refused_or_contained() {
        let v = values(json!({"x": "1"}));
        let cases = [
            "{{ ''.__class__ }}",
            "{{ x.__class__.__mro__ }}",
            "{% include 'other' %}",
            "{%- import 'm' as m %}",
            "{% extends 'base' %}",
            "{% for i in range(100000) %}{% for j in range(100000) %}x{% endfor %}{% endfor %}",
            "{% macro r(n) %}{{ r(n) }}{% endmacro %}{{ r(1) }}",
            "{{ undefined_thing }}",
            "{{ x ~ ",
        ];
        for source in cases {
            let r = render(Part::Text, source, &v);
            assert!(r.is_err(), "{source} rendered: {r:?}");
            assert_eq!(r.unwrap_err().code, "INPUT_001", "{source}");
        }
    }

    #[test]
    fn declared_variables_are_enforced() {
        let t = tmpl(
            "Hi {{ name }}",
            "<p>{{ amount }} {{ secret }}</p>",
            &["name", "amount"],
        );
        let e = check_template(&t).unwrap_err();
        assert!(e.message.contains("secret"), "{}", e.message);
        let t = tmpl("Hi {{ name }}", "<p>{{ amount }}</p>", &["name", "amount"]);
        check_template(&t).unwrap();
        let e = check_values(&t, &values(json!({"name": "A", "other": "B"}))).unwrap_err();
        assert!(e.message.contains("missing amount"), "{}", e.message);
        assert!(e.message.contains("other"), "{}", e.message);
        let e = check_values(&t, &values(json!({"name": "A", "amount": {"a": 1}}))).unwrap_err();
        assert!(e.message.contains("amount"), "{}", e.message);
    }

    #[test]
    fn line_breaks_in_a_subject_are_refused() {
        let t = tmpl("Invoice {{ n }}", "<p></p>", &["n"]);
        let e =
            render_subject(&t, &values(json!({"n": "1\r\nBcc: evil@example.com"}))).unwrap_err();
        assert!(e.message.contains("from n"), "{}", e.message);
    }

    fn largest(name: &str) -> Map<String, Value> {
        values(json!({ name: "y".repeat(MAX_VALUE) }))
    }

    /// Refused with INPUT_001 both when saved (check_template) and when
    /// rendered; returns the render's message.
    fn refused_everywhere(source: &str, vars: &Map<String, Value>) -> String {
        let names: Vec<&str> = vars.keys().map(String::as_str).collect();
        let mut t = tmpl("s", "<p></p>", &names);
        t.body_text = Some(source.into());
        let e = check_template(&t).unwrap_err();
        assert_eq!(e.code, "INPUT_001", "{source}: {}", e.message);
        let e = render(Part::Text, source, vars).unwrap_err();
        assert_eq!(e.code, "INPUT_001", "{source}: {}", e.message);
        assert!(e.message.starts_with("bodyText "), "{}", e.message);
        e.message
    }

    // fuzz/corpus/template_render/one-filter-call: 10,000 replacements of
    // 10,000 bytes each, in one filter call.
    #[test]
    fn amplifying_filters_are_refused() {
        let m = refused_everywhere("{{ x|replace('y', x)|length }}", &largest("x"));
        assert!(m.contains("`replace`") && m.contains("upper"), "{m}");
        for source in [
            "{{ x|join(x) }}",
            "{{ x|indent(50) }}",
            "{{ x|tojson }}",
            "{{ x|format(x) }}",
            "{{ x|urlencode }}",
            "{{ x|list|sort }}",
        ] {
            refused_everywhere(source, &largest("x"));
        }
        let m = refused_everywhere("{{ x is sameas x }}", &largest("x"));
        assert!(m.contains("is sameas"), "{m}");
    }

    // fuzz/corpus/template_render/loop-of-largest-value: range() is gone
    // (no functions at all); a loop over a value that prints a value stops
    // at MAX_OUTPUT, as soon as it gets there.
    #[test]
    fn long_loops_stop_at_the_output_limit() {
        let m = refused_everywhere(
            "{% for i in range(100000) %}{{ x }}{% endfor %}",
            &largest("x"),
        );
        assert!(m.contains("calls range()"), "{m}");
        // 10,000 x 10,000 bytes, were it not stopped.
        let source = "{% for c in x %}{{ x }}{% endfor %}";
        let t = {
            let mut t = tmpl("s", "<p></p>", &["x"]);
            t.body_text = Some(source.into());
            t
        };
        check_template(&t).unwrap();
        let e = render(Part::Text, source, &largest("x")).unwrap_err();
        assert_eq!(e.code, "INPUT_001");
        assert!(
            e.message.contains("more than the 524288 bytes"),
            "{}",
            e.message
        );
        // In the HTML body, where escaping makes it longer still.
        let big = values(json!({ "x": "<".repeat(MAX_VALUE) }));
        let e = render(Part::Html, source, &big).unwrap_err();
        assert!(
            e.message.contains("bodyHtml renders to more than"),
            "{}",
            e.message
        );
        // Up to the limit is fine.
        let out = render(
            Part::Text,
            "{% for c in x %}{{ c }}{% endfor %}",
            &largest("x"),
        )
        .unwrap();
        assert_eq!(out.len(), MAX_VALUE);
    }

    // fuzz/corpus/template_render/doubling, and the other ways to keep a
    // built value and build on it.
    #[test]
    fn tags_that_store_or_capture_text_are_refused() {
        let doubling = format!(
            "{{% set y = x ~ x %}}{}{{{{ y|length }}}}",
            "{% set y = y ~ y %}".repeat(14)
        );
        let m = refused_everywhere(&doubling, &largest("x"));
        assert!(m.contains("{% set %}") && m.contains("{% if %}"), "{m}");
        for source in [
            "{% macro r(n) %}{{ r(n) }}{% endmacro %}{{ r(1) }}",
            "{% macro d(v) %}{{ v ~ v }}{% endmacro %}{{ d(d(d(x))) }}",
            "{% with y = x ~ x %}{% with z = y ~ y %}{{ z }}{% endwith %}{% endwith %}",
            "{% filter upper %}{% for c in x %}{{ x }}{% endfor %}{% endfilter %}",
            "{% set y %}{{ x }}{{ x }}{% endset %}{{ y }}",
            "{% block b %}{{ x }}{% endblock %}{{ self.b() }}",
            "{% call r() %}x{% endcall %}",
            "{% autoescape false %}{{ x }}{% endautoescape %}",
            "{% for c in x recursive %}{{ loop(x) }}{% endfor %}",
            // minijinja's code generator panics on this one: refused before
            // it is compiled (fuzz/corpus/template_render/import-as-filter).
            "{%- import 'm' as m|join %}",
        ] {
            refused_everywhere(source, &largest("x"));
        }
    }

    #[test]
    fn repetition_literals_and_long_joins_are_refused() {
        let vars = largest("x");
        let m = refused_everywhere("{{ x * 10000 }}", &vars);
        assert!(m.contains("`*`"), "{m}");
        for source in [
            "{{ [x, x] ~ '' }}",
            "{{ (x, x) }}",
            "{{ {'a': x} }}",
            "{% for a in [x ~ x] %}{{ a }}{% endfor %}",
        ] {
            let m = refused_everywhere(source, &vars);
            assert!(m.contains("list, tuple or dict"), "{source}: {m}");
        }
        // One expression joining 500 values: 5 MB, copied 500 times over.
        let long = format!("{{{{ x{} }}}}", " ~ x".repeat(499));
        let m = refused_everywhere(&long, &vars);
        assert!(m.contains("of text while rendering"), "{m}");
        // Filters multiply: x|e|upper|e is 108 times x, 1 MB; four are
        // more than MAX_WORK held at once.
        let m = refused_everywhere(&"{{ x|e|upper|e }}".repeat(4), &vars);
        assert!(m.contains("KB of text") && m.contains("4096 KB"), "{m}");
        let chain = format!("{{{{ x{} }}}}", "|e|upper".repeat(4));
        refused_everywhere(&chain, &vars);
        // A join inside a loop runs once per character: 10,000 joins of
        // 10,000 bytes (and the CPU time to match).
        let m = refused_everywhere("{% for c in x %}{{ (x ~ c)|length }}{% endfor %}", &vars);
        assert!(
            m.contains("MB of text") && m.contains("inside a loop"),
            "{m}"
        );
        // With lists (which check_values refuses, but render may be given),
        // an item is as large as its list, and loops over joined items
        // double at each level.
        let list = values(json!({ "x": vec!["y".repeat(1000); 5] }));
        let mut nested = "{% for a0 in x %}".to_string();
        for i in 1..12 {
            nested += &format!("{{% for a{i} in a{} ~ a{} %}}", i - 1, i - 1);
        }
        nested += &"{% endfor %}".repeat(12);
        let e = render(Part::Text, &nested, &list).unwrap_err();
        assert_eq!(e.code, "INPUT_001");
        assert!(
            e.message.contains("of text while rendering"),
            "{}",
            e.message
        );
        // A loop variable is one character inside its loop only: after
        // it, and in its `else`, the name is the 10,000-byte variable again.
        // (130 joins of 10,000 bytes are over MAX_BUILT, of 130 characters
        // twice are not.)
        let joins = " ~ x".repeat(129);
        for source in [
            format!("{{% for x in 'ab' %}}{{% endfor %}}{{{{ (x{joins})|length }}}}"),
            format!("{{% for x in 'ab' %}}{{% else %}}{{{{ (x{joins})|length }}}}{{% endfor %}}"),
        ] {
            let m = refused_everywhere(&source, &vars);
            assert!(m.contains("of text while rendering"), "{m}");
        }
        let inside = format!("{{% for x in 'ab' %}}{{{{ (x{joins})|length }}}}{{% endfor %}}");
        let mut t = tmpl("s", "<p></p>", &["x"]);
        t.body_text = Some(inside);
        check_template(&t).unwrap();
        // Hundreds of plain uses build nothing.
        let many = "{{ x }}".repeat(1000);
        let mut t = tmpl("s", "<p></p>", &["x"]);
        t.body_text = Some(many.clone());
        check_template(&t).unwrap();
    }

    #[test]
    fn what_email_templates_need_still_works() {
        let v = values(json!({
            "first": "ann", "last": "Lee", "code": "AB1", "amount": "12.345",
            "tier": "gold", "note": "  hi  ", "n": 3,
        }));
        let cases = [
            ("{{ first|title }} {{ last|upper }}", "Ann LEE"),
            ("{{ first ~ ' ' ~ last }}", "ann Lee"),
            ("{{ first + last }}", "annLee"),
            ("{{ amount|float|round(2) }}", "12.35"),
            ("[{{ note|trim }}] {{ note|length }}", "[hi] 6"),
            ("{{ code|first }}{{ code|last|lower }}", "A1"),
            (
                "{{ (first if false)|default('n/a') }} {{ first|capitalize }}",
                "n/a Ann",
            ),
            (
                "{% if tier == 'gold' and n is odd %}VIP{% elif n > 1 %}x{% else %}y{% endif %}",
                "VIP",
            ),
            (
                "{% if first is defined and first is string and n is not none %}ok{% endif %}",
                "ok",
            ),
            (
                "{% for c in code %}{% if not loop.first %}-{% endif %}{{ loop.index }}{{ c }}{% endfor %}",
                "1A-2B-31",
            ),
            (
                "{% for c in code if c != 'B' %}{{ c }}{% else %}none{% endfor %}",
                "A1",
            ),
            (
                "{{ code[0] }}{{ code[1:] }}{{ n + 1 }}{{ n ** 2 }}{{ n // 2 }}",
                "AB1491",
            ),
            ("{# a note #}{% raw %}{{ kept }}{% endraw %}", "{{ kept }}"),
            ("{{- first -}} {{ 'x'|e }}", "annx"),
        ];
        for (source, want) in cases {
            let names: Vec<&str> = v.keys().map(String::as_str).collect();
            let mut t = tmpl("s", "<p></p>", &names);
            t.body_text = Some(source.into());
            check_template(&t).unwrap_or_else(|e| panic!("{source}: {}", e.message));
            let got = render(Part::Text, source, &v)
                .unwrap_or_else(|e| panic!("{source}: {}", e.message));
            assert_eq!(got, want, "{source}");
        }
    }

    /// Every filter and test the check allows is in the environment.
    #[test]
    fn allowed_filters_and_tests_exist() {
        let env = environment(Part::Text);
        for (f, _) in FILTERS {
            if let Err(e) = env.render_str(&format!("{{{{ '2'|{f} }}}}"), ()) {
                assert_ne!(e.kind(), minijinja::ErrorKind::UnknownFilter, "{f}");
            }
        }
        for t in TESTS {
            if let Err(e) = env.render_str(&format!("{{{{ 2 is {t}(2) }}}}"), ()) {
                assert_ne!(e.kind(), minijinja::ErrorKind::UnknownTest, "{t}");
            }
        }
        let e = env.render_str("{{ 2|replace('a', 'b') }}", ()).unwrap_err();
        assert_eq!(e.kind(), minijinja::ErrorKind::UnknownFilter);
    }

    /// The lexer reads what minijinja reads: strings holding delimiters,
    /// trim marks, comments, raw blocks and numbers.
    #[test]
    fn the_lexer_keeps_in_step() {
        let v = largest("x");
        // A `}}` or `%}` in a string does not end the block: the joins
        // after it are still counted.
        let joins = " ~ x".repeat(499);
        for source in [
            format!("{{{{ '}}}}' ~ \"%}}\" ~ '\\'' {joins} }}}}"),
            format!("{{%- if 'a' ~ x {joins} -%}}y{{%+ endif +%}}"),
            format!("{{# {{{{ #}}{{{{ (x){joins} }}}}"),
            format!("{{% raw %}}{{{{ '{{% endraw %}}{{{{ x {joins} }}}}"),
            format!("{{{{ 1.5e3 ~ 0x1F ~ 1_000 ~ x.0 {joins} }}}}"),
        ] {
            let e = render(Part::Text, &source, &v).unwrap_err();
            assert!(
                e.message.contains("of text while rendering"),
                "{source}: {}",
                e.message
            );
        }
    }

    #[test]
    fn masking() {
        assert_eq!(
            mask_account_numbers("Acct 4471-9920-3318 ok"),
            "Acct ••••-••••-3318 ok"
        );
        assert_eq!(mask_account_numbers("ABA 021000021."), "ABA •••••0021.");
        assert_eq!(
            mask_account_numbers("Zip 62701, 12 May"),
            "Zip 62701, 12 May"
        );
    }
}
