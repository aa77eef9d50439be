//! Persistence of the tenant: `tenant.json`, loaded at start unless reset (else seeded), and
//! written atomically after every successful mutation, so a user's sandbox survives restarts
//! and upgrades (the file keeps its shape).

use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::Mutex;

use super::state::Tenant;
use crate::config::SandboxError;
use crate::web::GraphError;

/// The tenant behind a lock, persisted to `tenant.json` after every successful mutation.
pub(crate) struct Store {
    path: PathBuf,
    tenant: Mutex<Tenant>,
}

impl Store {
    /// Loads `dir/tenant.json` unless `reset` or absent, else starts (and persists) a new tenant
    /// from `seed` (a sandbox's is [`Tenant::seed`]).
    pub fn open(
        dir: &Path,
        reset: bool,
        tenant_id: &str,
        seed: fn(&str) -> Tenant,
    ) -> Result<Store, SandboxError> {
        let path = dir.join("tenant.json");
        let loaded = if reset || !path.exists() {
            None
        } else {
            let bytes = std::fs::read(&path).map_err(|source| SandboxError::Io {
                path: path.clone(),
                source,
            })?;
            let mut tenant: Tenant =
                serde_json::from_slice(&bytes).map_err(|e| SandboxError::State {
                    path: path.clone(),
                    message: e.to_string(),
                })?;
            // The directory is the tenant; the configured id names it.
            tenant.id = tenant_id.to_string();
            Some(tenant)
        };
        let fresh = loaded.is_none();
        let store = Store {
            tenant: Mutex::new(loaded.unwrap_or_else(|| seed(tenant_id))),
            path,
        };
        if fresh {
            let tenant = store.read(Clone::clone);
            store.persist(&tenant).map_err(|source| SandboxError::Io {
                path: store.path.clone(),
                source,
            })?;
        }
        Ok(store)
    }

    pub fn read<R>(&self, f: impl FnOnce(&Tenant) -> R) -> R {
        let guard = self.tenant.lock().unwrap_or_else(|e| e.into_inner());
        f(&guard)
    }

    /// Applies `f` to a copy of the tenant; on success persists and keeps the copy, so a
    /// request that fails half-way changes nothing.
    pub fn mutate<R>(
        &self,
        f: impl FnOnce(&mut Tenant) -> Result<R, GraphError>,
    ) -> Result<R, GraphError> {
        let mut guard = self.tenant.lock().unwrap_or_else(|e| e.into_inner());
        let mut copy = guard.clone();
        let out = f(&mut copy)?;
        self.persist(&copy).map_err(|e| {
            tracing::error!(error = %e, path = %self.path.display(), "sandbox could not persist state");
            GraphError::new(
                http::StatusCode::INTERNAL_SERVER_ERROR,
                "generalException",
                "An internal server error occurred while saving the tenant state.",
            )
        })?;
        *guard = copy;
        Ok(out)
    }

    fn persist(&self, tenant: &Tenant) -> std::io::Result<()> {
        let bytes = serde_json::to_vec_pretty(tenant).map_err(std::io::Error::other)?;
        write_atomic(&self.path, &bytes)
    }
}

/// Writes `bytes` to a temporary file beside `path`, syncs it and renames it over `path`.
pub(crate) fn write_atomic(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let tmp = path.with_file_name(format!(".{name}.{}.tmp", uuid::Uuid::new_v4().simple()));
    let result = (|| {
        let mut file = std::fs::File::create(&tmp)?;
        file.write_all(bytes)?;
        file.sync_all()?;
        std::fs::rename(&tmp, path)
    })();
    if result.is_err() {
        let _ = std::fs::remove_file(&tmp);
    }
    result
}

#[cfg(test)]
mod tests {
    use super::Store;
    use crate::tenant::Tenant;
    use crate::testkit::{TENANT, tenant};

    #[test]
    fn state_persists_groups_and_teams() {
        let t = tenant();
        let (gid, _) = t.group_team("kept");
        let store = Store::open(&t.dir, false, TENANT, Tenant::seed).unwrap();
        store.read(|tenant| {
            let g = &tenant.groups[tenant.find_group(&gid).unwrap()];
            assert!(g.has_team());
            assert_eq!(g.team.as_ref().unwrap().channels[0].display_name, "General");
        });
        // A tenant.json written before groups, roles and sign-ins existed still loads.
        let mut old = serde_json::to_value(Tenant::seed(TENANT)).unwrap();
        let o = old.as_object_mut().unwrap();
        for key in ["groups", "deletedGroups", "directoryRoles"] {
            o.remove(key);
        }
        for u in o["users"].as_array_mut().unwrap() {
            let u = u.as_object_mut().unwrap();
            u.remove("authMethods");
            u.remove("signIn");
        }
        for d in o["domains"].as_array_mut().unwrap() {
            d.as_object_mut()
                .unwrap()
                .remove("passwordValidityPeriodInDays");
        }
        let loaded: Tenant = serde_json::from_value(old).unwrap();
        assert!(loaded.groups.is_empty() && loaded.deleted_groups.is_empty());
        assert_eq!(
            loaded.app_exchange_access(),
            crate::tenant::roles::ExchangeAccess::Full
        );
        assert!(
            loaded
                .users
                .iter()
                .all(|u| u.sign_in.last_sign_in.is_none())
        );
    }
}
