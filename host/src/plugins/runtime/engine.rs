//! The one wasmtime engine (epoch interruption, with a ticker thread that
//! advances the epoch every `TICK`) and the compiled-component cache on disk:
//! `<cache>/<sha256>-<hash>.cwasm`, the hash covering the engine's
//! compatibility hash and the host version, so an upgrade recompiles and an
//! old file is never read again.

use std::path::{Path, PathBuf};
use std::time::Duration;
use wasmtime::Engine;
use wasmtime::component::Component;

/// How often the epoch advances; the unit of the CPU budget.
pub(super) const TICK: Duration = Duration::from_millis(10);

/// An engine whose epoch advances every `TICK` for as long as it lives.
pub(super) fn engine() -> wasmtime::Result<Engine> {
    let mut config = wasmtime::Config::new();
    config.epoch_interruption(true);
    config.max_wasm_stack(1 << 20);
    let engine = Engine::new(&config)?;
    let ticker = engine.weak();
    std::thread::Builder::new()
        .name("m365-epoch".into())
        .spawn(move || {
            while let Some(engine) = ticker.upgrade() {
                engine.increment_epoch();
                drop(engine);
                std::thread::sleep(TICK);
            }
        })?;
    Ok(engine)
}

/// Components compiled once and kept on disk by digest.
pub(super) struct CompiledCache {
    pub(super) dir: PathBuf,
}

impl CompiledCache {
    /// The component for `wasm`: loaded from the cache, or compiled and cached.
    pub(super) fn component(
        &self,
        engine: &Engine,
        digest: &str,
        wasm: &[u8],
    ) -> wasmtime::Result<Component> {
        use std::hash::{Hash, Hasher};
        let mut h = std::collections::hash_map::DefaultHasher::new();
        engine.precompile_compatibility_hash().hash(&mut h);
        env!("CARGO_PKG_VERSION").hash(&mut h);
        let path = self.dir.join(format!("{digest}-{:016x}.cwasm", h.finish()));
        if path.exists() {
            // SAFETY: the file was written by `Component::serialize` of this
            // same engine configuration (the name carries its compatibility
            // hash) into the user's own cache directory.
            match unsafe { Component::deserialize_file(engine, &path) } {
                Ok(c) => return Ok(c),
                Err(e) => {
                    tracing::warn!(path = %path.display(), error = %e, "compiled plugin cache unusable; recompiling")
                }
            }
        }
        let component = Component::new(engine, wasm)?;
        if let Err(e) = write_cache(&path, &component.serialize()?) {
            tracing::warn!(path = %path.display(), error = %e, "could not cache the compiled plugin");
            return Ok(component);
        }
        // Served from the file just written, the code is a mapping the kernel
        // can share and drop, instead of heap that stays resident for the
        // server's life after a compiling start.
        drop(component);
        release_freed_memory();
        // SAFETY: as above; this process has just written the file.
        unsafe { Component::deserialize_file(engine, &path) }
    }
}

/// Compiling leaves tens of MB of freed heap that glibc keeps mapped; give it
/// back, or a server whose start compiled its plugins stays that large.
fn release_freed_memory() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    // SAFETY: malloc_trim only returns free pages to the system.
    unsafe {
        libc::malloc_trim(0);
    }
}

fn write_cache(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    if let Some(dir) = path.parent() {
        // The cache holds native code the host will run: owner-only, so
        // another local user cannot plant a file in it.
        std::os::unix::fs::DirBuilderExt::mode(std::fs::DirBuilder::new().recursive(true), 0o700)
            .create(dir)?;
    }
    let tmp = path.with_extension(format!("tmp{}", std::process::id()));
    std::fs::write(&tmp, bytes)?;
    std::fs::rename(&tmp, path)
}
