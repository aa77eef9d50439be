//! How start-up and per-call time grow with the number of loaded plugins:
//! 6, 12 and 24, the bundled ones plus copies of them in the plugin folder,
//! each approved with `plugins add --yes --sandbox` as an administrator
//! would.
//!
//! The registry refuses a plugin whose manifest name differs from the name
//! its component reports, and a tool name another plugin already offers. A
//! copy therefore needs its own plugin name and tool names *inside* the
//! component. Rather than rebuilding, each copy is the real component with
//! those names rewritten in place to names of the same length (copy 7 of
//! `users` is `u007s`, its `create_user` is `c007te_user`), in its core
//! modules' data and, where the compiler inlined a short name as an integer
//! constant, their code; the component's types, imports and exports are
//! untouched, so it links as the original does (see [`Rename`]). Each copy
//! is checked to describe itself under its new names before it is
//! approved. Code, size and compile cost are the original's.

use super::startup::time_start;
use super::{Launch, Options, PREVIEW_TOOL, Server, fail, median, ms, p50_p99, preview_args};
use m365_admin::config::CallLimits;
use m365_admin::plugins::admission::Checked;
use m365_admin::plugins::registry::{BUNDLED, Registry};
use m365_admin::plugins::runtime::{Runtime, Services};
use serde_json::{Value, json};
use std::ops::Range;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

const COUNTS: [usize; 3] = [6, 12, 24];

/// A bundled plugin as the copies are made from it.
struct Original {
    name: String,
    version: String,
    manifest: String,
    wasm: Vec<u8>,
    tools: Vec<String>,
}

pub(super) async fn run(opts: &Options, root: &Path, cache: &Path) -> std::io::Result<Value> {
    let (runtime, originals) = originals(root, cache).await?;
    let bundled = originals.len();
    let staging = root.join("copies");
    // Copy k is of the next original in turn that can be copied.
    let mut copies: Vec<PathBuf> = Vec::new();
    let mut made: Vec<Value> = Vec::new();
    let mut not_copyable: serde_json::Map<String, Value> = serde_json::Map::new();
    let mut turn = 0;
    let mut rows = Vec::new();
    for n in COUNTS {
        if n < bundled {
            rows.push(json!({"plugins": n, "skipped": format!("{bundled} plugins are bundled")}));
            continue;
        }
        let launch = Launch::sandbox(&opts.server, &root.join(format!("scaling-{n}")), cache);
        let started = Instant::now();
        for k in 1..=n - bundled {
            while copies.len() < k {
                if not_copyable.len() == bundled {
                    return Err(fail(format!(
                        "no bundled plugin could be copied: {}",
                        Value::Object(not_copyable)
                    )));
                }
                let original = &originals[turn % bundled];
                turn += 1;
                if not_copyable.contains_key(&original.name) {
                    continue;
                }
                match make_copy(&runtime, original, k, &staging).await? {
                    Ok((dir, how)) => {
                        made.push(json!({
                            "copy": k,
                            "of": original.name,
                            "name": dir.file_name().map(|n| n.to_string_lossy().into_owned()),
                            "renamedIn": format!("{how:?}"),
                            "componentBytes": original.wasm.len(),
                        }));
                        copies.push(dir);
                    }
                    Err(why) => {
                        not_copyable.insert(original.name.clone(), json!(why));
                    }
                }
            }
            launch.approve(&copies[k - 1]).await?;
        }
        let approve_s = started.elapsed().as_secs_f64();
        // The first start after approving: not counted (it would also
        // compile any copy `plugins add` had not).
        let (_, first_list, _, _) = time_start(&launch).await?;
        let (mut inits, mut lists) = (Vec::new(), Vec::new());
        let (mut bytes, mut tools) = (0, 0);
        for _ in 0..opts.runs {
            let (init, list, b, t) = time_start(&launch).await?;
            inits.push(init);
            lists.push(list);
            (bytes, tools) = (b, t);
        }
        let (call, idle_kb, anon_kb) = per_call(&launch, opts.calls).await?;
        rows.push(json!({
            "plugins": n,
            "tools": tools,
            "toolsListBytes": bytes,
            "approveCopiesS": super::r3(approve_s),
            "firstStartToToolsListMs": first_list,
            "warmToInitializeMedianMs": median(inits),
            "warmToToolsListMedianMs": median(lists),
            "call": call,
            "idleRssMb": super::r3(idle_kb as f64 / 1024.0),
            "idleRssAnonMb": super::r3(anon_kb as f64 / 1024.0),
        }));
    }
    Ok(json!({
        "method": "the bundled plugins plus renamed copies of them in the plugin folder, approved with plugins add; warm compile cache; every start on the same data folder",
        "warmRuns": opts.runs,
        "rows": rows,
        "copies": made,
        "notCopyable": not_copyable,
    }))
}

/// The bundled plugins with their tool names, from their own description.
async fn originals(root: &Path, cache: &Path) -> std::io::Result<(Runtime, Vec<Original>)> {
    let limits = CallLimits {
        memory_bytes: 256 << 20,
        timeout: Duration::from_secs(60),
        cpu: Duration::from_secs(10),
    };
    let runtime = Runtime::new(cache.join("compiled"), limits, Services::default())
        .map_err(|e| fail(format!("plugin runtime: {e}")))?;
    let registry = Registry::load(&runtime, &root.join("no-plugin-folder"), None).await;
    let mut out = Vec::new();
    for b in BUNDLED {
        let loaded = registry
            .plugins
            .get(b.name)
            .ok_or_else(|| fail(format!("bundled plugin {} did not load", b.name)))?;
        out.push(Original {
            name: loaded.name.clone(),
            version: loaded.version.clone(),
            manifest: b.manifest.to_string(),
            wasm: b.wasm.to_vec(),
            tools: loaded.info.tools.iter().map(|t| t.name.clone()).collect(),
        });
    }
    Ok((runtime, out))
}

/// Sequential preview calls with the plugins loaded; idle RSS before them.
async fn per_call(launch: &Launch, calls: usize) -> std::io::Result<(Value, u64, u64)> {
    let s = Server::start(launch).await?;
    s.tools_list().await?;
    tokio::time::sleep(Duration::from_millis(500)).await;
    let (idle, anon) = (s.status_kb("VmRSS"), s.status_kb("RssAnon"));
    s.call(PREVIEW_TOOL, preview_args())
        .await
        .map_err(|e| fail(e.to_string()))?;
    let mut trips = Vec::with_capacity(calls);
    for _ in 0..calls {
        let t0 = Instant::now();
        s.call(PREVIEW_TOOL, preview_args())
            .await
            .map_err(|e| fail(e.to_string()))?;
        trips.push(ms(t0.elapsed()));
    }
    Ok((p50_p99(trips), idle, anon))
}

/// `name` with its characters 1 to 3 replaced by `k` in three digits
/// (`users` → `u007s`, `create_user` → `c007te_user`): still a valid
/// plugin or tool name, the same length, and the same from the fifth
/// character on.
fn renamed(name: &str, k: usize) -> Option<String> {
    (name.len() >= 4 && name.is_ascii())
        .then(|| format!("{}{:03}{}", &name[..1], k % 1000, &name[4..]))
}

/// How a copy's names are rewritten inside its component; the first that
/// gives a component describing itself under the copy's names is used.
#[derive(Clone, Copy, Debug, PartialEq)]
enum Rename {
    /// In the data segments: the plugin's name where it sits beside its
    /// version (`users0.1.0`, the literal `describe` returns) and every
    /// occurrence of each tool name.
    Data,
    /// Also where the compiler inlined a short name into the code as an
    /// integer constant (the first 4 or 8 bytes of the name as an
    /// `i32.const` or `i64.const`).
    DataAndCode,
    /// As `DataAndCode`, with every occurrence of the plugin's name in the
    /// data (messages and type names too): for a plugin whose name literal
    /// is shared with other strings.
    Everywhere,
}

/// Writes copy `k` of `original` (component and manifest) into its own
/// folder under `staging`, after checking that the component describes
/// itself under the copy's names. The check compiles the copy into the
/// shared cache, where `plugins add` finds it. None if no way of renaming
/// works for this plugin.
async fn make_copy(
    runtime: &Runtime,
    original: &Original,
    k: usize,
    staging: &Path,
) -> std::io::Result<Result<(PathBuf, Rename), String>> {
    let mut why = String::new();
    for how in [Rename::Data, Rename::DataAndCode, Rename::Everywhere] {
        let (wasm, name) = match copy_component(original, k, how) {
            Ok(c) => c,
            Err(e) => {
                why = format!("{how:?}: {e}");
                continue;
            }
        };
        let manifest = copy_manifest(&original.manifest, &name);
        match describes_itself(runtime, &wasm, &manifest, original).await {
            Ok(()) => {
                let dir = staging.join(&name);
                std::fs::create_dir_all(&dir)?;
                std::fs::write(dir.join(format!("{name}.wasm")), wasm)?;
                std::fs::write(dir.join("manifest.toml"), manifest)?;
                return Ok(Ok((dir, how)));
            }
            Err(e) => why = format!("{how:?}: {e}"),
        }
    }
    Ok(Err(why))
}

/// Whether the copy passes the registry's admission (so it reports the
/// copy's name) and offers none of the original's tool names.
async fn describes_itself(
    runtime: &Runtime,
    wasm: &[u8],
    manifest: &str,
    original: &Original,
) -> Result<(), String> {
    let admitted = Checked::new(manifest, wasm)
        .map_err(|e| e.to_string())?
        .admit(runtime, wasm)
        .await
        .map_err(|e| e.to_string())?;
    if let Some(t) = admitted
        .info
        .tools
        .iter()
        .find(|t| original.tools.contains(&t.name))
    {
        return Err(format!("the copy still offers {}", t.name));
    }
    Ok(())
}

/// The manifest with the copy's name and component file, and no pinned
/// digest (the approval pins the copy's own).
fn copy_manifest(text: &str, name: &str) -> String {
    let mut out = String::new();
    for line in text.lines() {
        let key = line.split('=').next().unwrap_or("").trim();
        match key {
            "name" => out.push_str(&format!("name = \"{name}\"")),
            "component" => out.push_str(&format!("component = \"{name}.wasm\"")),
            "sha256" => continue,
            _ => out.push_str(line),
        }
        out.push('\n');
    }
    out
}

/// The component of copy `k`, and the copy's plugin name.
fn copy_component(original: &Original, k: usize, how: Rename) -> Result<(Vec<u8>, String), String> {
    let mut wasm = original.wasm.clone();
    let ranges = ranges(&wasm)?;
    let rename = |s: &str| renamed(s, k).ok_or_else(|| format!("{s:?} is too short to rename"));
    let name = rename(&original.name)?;
    if how == Rename::Everywhere {
        if replace_all(&mut wasm, &ranges.data, &original.name, &name) == 0 {
            return Err(format!("its name {:?} is not in its data", original.name));
        }
    } else {
        let tagged = format!("{}{}", original.name, original.version);
        let [at] = find_all(&wasm, &ranges.data, tagged.as_bytes())[..] else {
            return Err(format!("{tagged:?} is not in its data once"));
        };
        wasm[at..at + name.len()].copy_from_slice(name.as_bytes());
    }
    // Longest first, so a tool name inside a longer one is renamed with it.
    let mut tools = original.tools.clone();
    tools.sort_by_key(|t| std::cmp::Reverse(t.len()));
    for t in &tools {
        replace_all(&mut wasm, &ranges.data, t, &rename(t)?);
    }
    if how != Rename::Data {
        for old in std::iter::once(&original.name).chain(&tools) {
            replace_constants(&mut wasm, &ranges.code, old, &rename(old)?)?;
        }
    }
    Ok((wasm, name))
}

/// Rewrites the integer constants a compiler makes of a short string's
/// first 8 (or 4) bytes: `i64.const` (or `i32.const`) of those bytes read
/// little-endian, in signed LEB128. Old and new must encode to the same
/// length (they do when the last byte replaced is a letter in both, as
/// `renamed` keeps it).
fn replace_constants(
    b: &mut [u8],
    code: &[Range<usize>],
    old: &str,
    new: &str,
) -> Result<usize, String> {
    let (op, width) = match old.len() {
        8.. => (0x42u8, 8),
        4.. => (0x41u8, 4),
        _ => return Ok(0),
    };
    let value = |s: &str| {
        let mut buf = [0u8; 8];
        buf[..width].copy_from_slice(&s.as_bytes()[..width]);
        let v = i64::from_le_bytes(buf);
        // An i32.const holds the 4 bytes as a signed 32-bit number.
        if width == 4 { i64::from(v as i32) } else { v }
    };
    let encode = |v: i64| {
        let mut out = vec![op];
        out.extend(sleb128(v));
        out
    };
    let (from, to) = (encode(value(old)), encode(value(new)));
    if from.len() != to.len() {
        return Err(format!("the constant of {old:?} would change length"));
    }
    let hits = find_all(b, code, &from);
    for &at in &hits {
        b[at..at + to.len()].copy_from_slice(&to);
    }
    Ok(hits.len())
}

fn sleb128(mut v: i64) -> Vec<u8> {
    let mut out = Vec::new();
    loop {
        let byte = (v & 0x7f) as u8;
        v >>= 7;
        let last = (v == 0 && byte & 0x40 == 0) || (v == -1 && byte & 0x40 != 0);
        out.push(if last { byte } else { byte | 0x80 });
        if last {
            return out;
        }
    }
}

fn find_all(b: &[u8], ranges: &[Range<usize>], needle: &[u8]) -> Vec<usize> {
    let mut out = Vec::new();
    for r in ranges {
        let hay = &b[r.clone()];
        let mut i = 0;
        while i + needle.len() <= hay.len() {
            if &hay[i..i + needle.len()] == needle {
                out.push(r.start + i);
                i += needle.len();
            } else {
                i += 1;
            }
        }
    }
    out
}

fn replace_all(b: &mut [u8], ranges: &[Range<usize>], from: &str, to: &str) -> usize {
    assert_eq!(from.len(), to.len(), "same-length rewrites only");
    let hits = find_all(b, ranges, from.as_bytes());
    for &at in &hits {
        b[at..at + to.len()].copy_from_slice(to.as_bytes());
    }
    hits.len()
}

/// Where the core modules of a component keep their data and their code.
#[derive(Default)]
struct Ranges {
    data: Vec<Range<usize>>,
    code: Vec<Range<usize>>,
}

/// The data and code sections of every core module in a component (nested
/// components included).
fn ranges(wasm: &[u8]) -> Result<Ranges, String> {
    fn leb(b: &[u8], i: &mut usize) -> Result<usize, String> {
        let (mut v, mut shift) = (0usize, 0);
        loop {
            let byte = *b.get(*i).ok_or("truncated LEB128")?;
            *i += 1;
            v |= usize::from(byte & 0x7f) << shift;
            if byte & 0x80 == 0 {
                return Ok(v);
            }
            shift += 7;
            if shift > 35 {
                return Err("LEB128 too long".into());
            }
        }
    }
    fn walk(b: &[u8], span: Range<usize>, component: bool, out: &mut Ranges) -> Result<(), String> {
        if span.len() < 8 || &b[span.start..span.start + 4] != b"\0asm" {
            return Err("not a wasm binary".into());
        }
        let mut i = span.start + 8;
        while i < span.end {
            let id = b[i];
            i += 1;
            let size = leb(b, &mut i)?;
            let section = i..i + size;
            if section.end > span.end {
                return Err("a section runs past its end".into());
            }
            match (component, id) {
                // A core module, and a nested component.
                (true, 1) => walk(b, section.clone(), false, out)?,
                (true, 4) => walk(b, section.clone(), true, out)?,
                // A core module's code and data sections.
                (false, 10) => out.code.push(section.clone()),
                (false, 11) => out.data.push(section.clone()),
                _ => {}
            }
            i = section.end;
        }
        Ok(())
    }
    let mut out = Ranges::default();
    walk(wasm, 0..wasm.len(), true, &mut out)?;
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn copies_carry_their_number_after_the_first_character() {
        let cases = [
            ("users", 7, Some("u007s")),
            ("create_user", 12, Some("c012te_user")),
            ("features", 2, Some("f002ures")),
            ("abc", 1, None),
        ];
        for (name, k, want) in cases {
            assert_eq!(renamed(name, k).as_deref(), want, "{name}");
        }
    }

    #[test]
    fn signed_leb128_matches_the_spec_examples() {
        let cases: [(i64, &[u8]); 5] = [
            (0, &[0x00]),
            (2, &[0x02]),
            (-1, &[0x7f]),
            (63, &[0x3f]),
            (64, &[0xc0, 0x00]),
        ];
        for (v, want) in cases {
            assert_eq!(sleb128(v), want, "{v}");
        }
    }

    #[test]
    fn the_manifest_copy_has_the_new_name_and_no_digest() {
        let text = "# c\nname = \"users\"\nversion = \"0.1.0\"\ncomponent = \"users.wasm\"\nsha256 = \"ab\"\n[grants]\ngraph = []\n";
        let copy = copy_manifest(text, "u001s");
        assert!(copy.contains("name = \"u001s\"\n"));
        assert!(copy.contains("component = \"u001s.wasm\"\n"));
        assert!(!copy.contains("sha256"));
        assert!(copy.contains("[grants]\ngraph = []\n"));
    }

    /// A component with a custom section called "users" and one core
    /// module whose code holds `i32.const "user"` and whose data names
    /// "users" twice.
    fn tiny_component() -> Vec<u8> {
        let section = |id: u8, body: &[u8]| {
            let mut s = vec![id, body.len() as u8];
            s.extend_from_slice(body);
            s
        };
        let mut code = vec![0x41];
        code.extend(sleb128(i64::from(i32::from_le_bytes(*b"user"))));
        let data = b"\x01\x00\x41\x00\x0b\x10users0.1.0users!";
        let mut module = b"\0asm\x01\x00\x00\x00".to_vec();
        module.extend(section(10, &code));
        module.extend(section(11, data));
        let mut c = b"\0asm\x0d\x00\x01\x00".to_vec();
        c.extend(section(0, b"\x05users"));
        c.extend(section(1, &module));
        c
    }

    #[test]
    fn names_are_rewritten_in_core_data_and_code_only() {
        let c = tiny_component();
        let original = Original {
            name: "users".into(),
            version: "0.1.0".into(),
            manifest: String::new(),
            wasm: c.clone(),
            tools: vec![],
        };
        let text = |b: &[u8]| String::from_utf8_lossy(b).into_owned();
        let (copy, name) = copy_component(&original, 3, Rename::Data).unwrap();
        assert_eq!(name, "u003s");
        assert!(text(&copy).contains("u003s0.1.0users!"), "{}", text(&copy));
        assert_eq!(copy[..16], c[..16], "the custom section is untouched");
        assert_eq!(copy.len(), c.len());
        let (copy, _) = copy_component(&original, 3, Rename::Everywhere).unwrap();
        assert!(text(&copy).contains("u003s0.1.0u003s!"));
        assert_eq!(copy[..16], c[..16]);
        let code = ranges(&copy).unwrap().code;
        let want: Vec<u8> = std::iter::once(0x41)
            .chain(sleb128(i64::from(i32::from_le_bytes(*b"u003"))))
            .collect();
        assert_eq!(copy[code[0].clone()], want[..]);
        assert!(ranges(b"nope").is_err());
    }
}
