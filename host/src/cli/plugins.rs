//! `m365-admin plugins add|list|remove|verify`: how an administrator brings
//! in, reviews, swaps and removes plugins. Adding shows the plugin's tools,
//! its grants and the Entra permissions they imply, asks for approval, copies
//! it into the plugin directory and records the approved digest and grants; a
//! running server picks it up by itself.

use m365_admin::config::Config;
use m365_admin::errors::{CodedError, ErrorCode};
use m365_admin::plugins::admission::{Checked, Refusal, component_is_a_file_name};
use m365_admin::plugins::manifest::Manifest;
use m365_admin::plugins::registry::{BUNDLED, Registry};
use m365_admin::plugins::runtime::{PluginInfo, Runtime, Services};
use m365_admin::store::Database;
use m365_policy::Grant;
use m365_policy::entra;
use serde_json::{Value, json};
use std::io::{BufRead, IsTerminal, Write};
use std::path::{Path, PathBuf};
use std::process::ExitCode;

#[derive(clap::Subcommand)]
pub enum PluginsCommand {
    /// Shows a plugin's tools, grants and the permissions they imply, asks
    /// for approval, installs it into the plugin folder and records the
    /// approved digest and grants.
    Add {
        /// The plugin's folder (manifest.toml and its .wasm).
        path: PathBuf,
        /// Approve without asking.
        #[arg(long)]
        yes: bool,
    },
    /// Every plugin: version, digest, tools, grants, state.
    List,
    /// Removes a plugin from the plugin folder and forgets its approval.
    Remove { name: String },
    /// Checks the plugin folder against the approvals; exits 1 if any plugin
    /// would be refused.
    Verify,
}

pub async fn run(command: PluginsCommand, sandbox: bool) -> Result<ExitCode, CodedError> {
    let config = super::offline_config(sandbox);
    // Adding may create the database (a first plugin before a first serve).
    let db = match &command {
        PluginsCommand::Add { .. } => Some(m365_admin::store::open(&config)?.0),
        PluginsCommand::List => m365_admin::store::open(&config).ok().map(|(db, _)| db),
        _ => Some(super::open_existing(&config)?.0),
    };
    match command {
        PluginsCommand::Add { path, yes } => {
            super::print_json(&add(&config, db.as_ref().unwrap(), &path, yes).await?);
            Ok(ExitCode::SUCCESS)
        }
        PluginsCommand::List => {
            super::print_json(&list(&config, db.as_ref()).await?);
            Ok(ExitCode::SUCCESS)
        }
        PluginsCommand::Remove { name } => {
            super::print_json(&remove(&config, db.as_ref().unwrap(), &name)?);
            Ok(ExitCode::SUCCESS)
        }
        PluginsCommand::Verify => {
            let (report, clean) = verify(&config, db.as_ref().unwrap()).await?;
            super::print_json(&report);
            Ok(if clean {
                ExitCode::SUCCESS
            } else {
                ExitCode::from(1)
            })
        }
    }
}

fn fail(code: ErrorCode, message: String) -> CodedError {
    CodedError::new(code, message)
}

fn runtime(config: &Config) -> Result<Runtime, CodedError> {
    Runtime::new(
        config.cache_dir.join("compiled"),
        config.limits,
        Services::default(),
    )
    .map_err(|e| {
        fail(
            ErrorCode::Plugin001,
            format!("The plugin runtime could not start: {e}"),
        )
    })
}

/// A plugin as found on disk, admitted (described in the sandbox) but not
/// yet approved.
struct Candidate {
    dir: PathBuf,
    manifest: Manifest,
    manifest_text: String,
    wasm: Vec<u8>,
    digest: String,
    /// What its policy grants, as the administrator approves them.
    grants: Vec<Grant>,
    info: PluginInfo,
}

/// Reads the plugin at `path` (its folder or its manifest.toml) and runs it
/// through the same admission as the registry: manifest, digest, grants,
/// compile, `describe`, names and schemas.
async fn inspect(rt: &Runtime, path: &Path) -> Result<Candidate, CodedError> {
    let dir = if path.is_dir() {
        path.to_path_buf()
    } else {
        path.parent().map(Path::to_path_buf).unwrap_or_default()
    };
    let manifest_path = dir.join("manifest.toml");
    let manifest_text = std::fs::read_to_string(&manifest_path).map_err(|e| {
        fail(
            ErrorCode::Input001,
            format!("Cannot read {} ({e}); give the plugin's folder, which holds manifest.toml and the .wasm.", manifest_path.display()),
        )
    })?;
    let manifest = Manifest::parse(&manifest_text).map_err(|e| {
        fail(
            ErrorCode::Plugin001,
            format!("{}: {e}", manifest_path.display()),
        )
    })?;
    if !component_is_a_file_name(&manifest.component) {
        return Err(fail(
            ErrorCode::Plugin001,
            format!(
                "component {:?} must be a file name beside the manifest.",
                manifest.component
            ),
        ));
    }
    // Beside the manifest, or where `cargo build --release` in a plugin
    // crate puts it.
    let beside = dir.join(&manifest.component);
    let built = dir
        .join("target/wasm32-wasip2/release")
        .join(&manifest.component);
    let component_path = if beside.is_file() || !built.is_file() {
        beside
    } else {
        built
    };
    let wasm = std::fs::read(&component_path).map_err(|e| {
        fail(
            ErrorCode::Input001,
            format!("Cannot read {} ({e}); build the plugin first (`cargo build --release` in its folder).", component_path.display()),
        )
    })?;
    let refused = |e: Refusal| match e {
        Refusal::Describe(e) => e,
        other => fail(ErrorCode::Plugin001, format!("{}: {other}.", dir.display())),
    };
    let checked = Checked::new(&manifest_text, &wasm).map_err(refused)?;
    let admitted = checked.admit(rt, &wasm).await.map_err(refused)?;
    Ok(Candidate {
        dir,
        manifest: admitted.manifest,
        manifest_text,
        wasm,
        digest: admitted.digest,
        grants: admitted.grants,
        info: admitted.info,
    })
}

/// What the administrator is asked to approve.
fn describe(c: &Candidate) -> String {
    let mut out = format!(
        "Plugin {} {} (WIT {}), sha256 {}\nfrom {}\n\nTools:\n",
        c.manifest.name,
        c.manifest.version,
        c.manifest.wit,
        c.digest,
        c.dir.display()
    );
    for t in &c.info.tools {
        let a = &t.annotations;
        let kind = if a.read_only {
            "reads"
        } else if a.destructive {
            "DESTROYS"
        } else {
            "writes"
        };
        out.push_str(&format!(
            "  {:<28} {kind:<8} {}\n",
            t.name,
            t.description.lines().next().unwrap_or("")
        ));
    }
    out.push_str("\nGrants (what it may do in the tenant):\n");
    let grants = &c.grants;
    if grants.is_empty() {
        out.push_str("  none\n");
    }
    for g in grants {
        match entra::needs(g) {
            Some(need) => out.push_str(&format!(
                "  {:<48} needs {}\n",
                g.to_string(),
                need.permission
            )),
            None => out.push_str(&format!("  {g}\n")),
        }
    }
    let perms = entra::permissions_for(grants);
    if !perms.is_empty() {
        out.push_str(&format!(
            "\nEntra ID application permissions it implies: {}\n",
            perms.join(", ")
        ));
    }
    if grants.iter().any(|g| matches!(g, Grant::Exchange(_))) {
        out.push_str(&format!("Exchange: {}\n", entra::EXCHANGE_ROLE));
    }
    out
}

fn ask(question: &str) -> bool {
    eprint!("{question} [y/N] ");
    let _ = std::io::stderr().flush();
    let mut line = String::new();
    let _ = std::io::stdin().lock().read_line(&mut line);
    matches!(line.trim().to_ascii_lowercase().as_str(), "y" | "yes")
}

/// Copies the plugin's manifest and component into `<plugin_dir>/<name>`,
/// replacing what was there in one rename.
fn install(config: &Config, c: &Candidate) -> Result<PathBuf, CodedError> {
    let target = config.plugin_dir.join(&c.manifest.name);
    let io = |what: &str, e: std::io::Error| {
        fail(
            ErrorCode::Plugin001,
            format!("Could not {what} in {} ({e}).", config.plugin_dir.display()),
        )
    };
    if c.dir.canonicalize().ok() == target.canonicalize().ok() && target.exists() {
        return Ok(target);
    }
    std::fs::create_dir_all(&config.plugin_dir).map_err(|e| io("create the plugin folder", e))?;
    let staging = config.plugin_dir.join(format!(
        ".{}.staging-{}",
        c.manifest.name,
        std::process::id()
    ));
    let _ = std::fs::remove_dir_all(&staging);
    std::fs::create_dir_all(&staging).map_err(|e| io("stage the plugin", e))?;
    std::fs::write(staging.join("manifest.toml"), &c.manifest_text)
        .map_err(|e| io("write manifest.toml", e))?;
    std::fs::write(staging.join(&c.manifest.component), &c.wasm)
        .map_err(|e| io("write the component", e))?;
    let old = config
        .plugin_dir
        .join(format!(".{}.old-{}", c.manifest.name, std::process::id()));
    if target.exists() {
        std::fs::rename(&target, &old).map_err(|e| io("move the old version aside", e))?;
    }
    if let Err(e) = std::fs::rename(&staging, &target) {
        let _ = std::fs::rename(&old, &target);
        return Err(io("put the plugin in place", e));
    }
    let _ = std::fs::remove_dir_all(&old);
    Ok(target)
}

/// `plugins add PATH [--yes]`.
async fn add(config: &Config, db: &Database, path: &Path, yes: bool) -> Result<Value, CodedError> {
    let rt = runtime(config)?;
    let c = inspect(&rt, path).await?;
    // Tools may not collide with another plugin's.
    let current = Registry::load(&rt, &config.plugin_dir, Some(db)).await;
    for t in &c.info.tools {
        if let Some(other) = current.tools.get(&t.name)
            && other.plugin != c.manifest.name
        {
            return Err(fail(
                ErrorCode::Plugin001,
                format!(
                    "Tool {} is already offered by plugin {}; rename the tool or remove that plugin first.",
                    t.name, other.plugin
                ),
            ));
        }
    }
    eprintln!("{}", describe(&c));
    if !yes {
        if !std::io::stdin().is_terminal() {
            return Err(fail(
                ErrorCode::Confirm001,
                "Nothing was installed: approving a plugin needs a yes. Review what it asks for above and run again with --yes to approve it.".into(),
            ));
        }
        if !ask("Approve this plugin with these grants?") {
            return Err(fail(
                ErrorCode::Confirm001,
                "Not approved; nothing was installed.".into(),
            ));
        }
    }
    let target = install(config, &c)?;
    db.approval_put(&c.manifest.name, &c.manifest.version, &c.digest, &c.grants)?;
    let _ = db.audit_event(
        "plugin approved",
        &json!({"plugin": c.manifest.name, "version": c.manifest.version, "digest": c.digest, "grants": c.grants}),
    );
    Ok(json!({
        "approved": c.manifest.name,
        "version": c.manifest.version,
        "digest": c.digest,
        "installedAt": target,
        "tools": c.info.tools.iter().map(|t| t.name.clone()).collect::<Vec<_>>(),
        "grants": c.grants,
        "message": "Approved and installed; a running server loads it within a few seconds.",
    }))
}

/// `plugins list`: every plugin with its state.
async fn list(config: &Config, db: Option<&Database>) -> Result<Value, CodedError> {
    let rt = runtime(config)?;
    let reg = Registry::load(&rt, &config.plugin_dir, db).await;
    let mut out: Vec<Value> = reg
        .plugins
        .values()
        .map(|p| {
            json!({
                "name": p.name, "version": p.version, "source": p.source, "digest": p.digest,
                "tools": p.info.tools.iter().map(|t| t.name.clone()).collect::<Vec<_>>(),
                "grants": p.grants, "state": "loaded",
            })
        })
        .collect();
    for problem in &reg.problems {
        out.push(
            json!({"source": problem.source, "state": "not loaded", "reason": problem.reason}),
        );
    }
    if let Some(db) = db {
        for a in db.approval_list()? {
            if !config.plugin_dir.join(&a.name).exists() {
                out.push(json!({"name": a.name, "version": a.version, "digest": a.digest, "state": "approved, not installed"}));
            }
        }
    }
    Ok(json!({"plugins": out, "pluginDir": config.plugin_dir}))
}

/// `plugins remove NAME`.
fn remove(config: &Config, db: &Database, name: &str) -> Result<Value, CodedError> {
    let dir = config.plugin_dir.join(name);
    let in_dir = dir.join("manifest.toml").is_file();
    let approved = db.approval_get(name)?.is_some();
    if !in_dir && !approved {
        let bundled = BUNDLED.iter().any(|b| b.name == name);
        return Err(fail(
            ErrorCode::Input001,
            if bundled {
                format!(
                    "{name} is built into m365-admin and cannot be removed; a plugin of the same name in the plugin folder replaces it."
                )
            } else {
                format!(
                    "There is no plugin {name} in {}; `m365-admin plugins list` shows what there is.",
                    config.plugin_dir.display()
                )
            },
        ));
    }
    if in_dir {
        std::fs::remove_dir_all(&dir).map_err(|e| {
            fail(
                ErrorCode::Plugin001,
                format!("Could not remove {} ({e}).", dir.display()),
            )
        })?;
    }
    db.approval_delete(name)?;
    let _ = db.audit_event("plugin removed", &json!({"plugin": name}));
    Ok(
        json!({"removed": name, "message": "Removed; a running server drops its tools within a few seconds."}),
    )
}

/// `plugins verify`: the plugin folder against the approvals.
async fn verify(config: &Config, db: &Database) -> Result<(Value, bool), CodedError> {
    let rt = runtime(config)?;
    let reg = Registry::load(&rt, &config.plugin_dir, Some(db)).await;
    let ok: Vec<Value> = reg
        .plugins
        .values()
        .filter(|p| p.source != "bundled")
        .map(|p| json!({"name": p.name, "version": p.version, "digest": p.digest, "state": "verified"}))
        .collect();
    let bad: Vec<Value> = reg
        .problems
        .iter()
        .map(|p| json!({"source": p.source, "state": "refused", "reason": p.reason}))
        .collect();
    let clean = bad.is_empty();
    Ok((json!({"verified": ok, "refused": bad}), clean))
}
