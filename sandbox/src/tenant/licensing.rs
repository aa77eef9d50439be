//! Licensing: assigning and removing a user's licenses within the seats the tenant bought,
//! and the mailbox an Exchange Online plan brings (provisioned from `ready_at` on, kept when
//! the plan goes).

use serde_json::json;
use time::OffsetDateTime;

use super::directory::AssignedLicense;
use super::mailbox::{Mailbox, MailboxKind};
use super::state::Tenant;
use crate::web::GraphError;

/// One entry of `addLicenses`.
pub(crate) struct LicenseAdd {
    /// Lower-cased.
    pub sku_id: String,
    pub disabled_plans: Vec<String>,
}

impl Tenant {
    /// Adds and removes user `i`'s licenses, all or nothing: the user needs a usage location,
    /// each SKU and disabled plan must exist, and a new license needs a free seat. A license
    /// with an Exchange Online plan gives the user a mailbox (and an address) if it has none.
    pub fn assign_licenses(
        &mut self,
        i: usize,
        adds: Vec<LicenseAdd>,
        removes: &[String],
        ready_at: OffsetDateTime,
    ) -> Result<(), GraphError> {
        if !adds.is_empty() && self.users[i].prop_str("usageLocation").is_none() {
            return Err(GraphError::bad_request(
                "License assignment cannot be done for user with invalid usage location.",
            ));
        }
        for add in &adds {
            let sku = self.sku(&add.sku_id).ok_or_else(|| {
                GraphError::bad_request(format!(
                    "License {} does not correspond to a valid company License.",
                    add.sku_id
                ))
            })?;
            for plan in &add.disabled_plans {
                if !sku
                    .service_plans
                    .iter()
                    .any(|p| p.service_plan_id.eq_ignore_ascii_case(plan))
                {
                    return Err(GraphError::bad_request(format!(
                        "Service plan {plan} does not correspond to a valid service plan of license {}.",
                        add.sku_id
                    )));
                }
            }
            let already = self.users[i]
                .assigned_licenses
                .iter()
                .any(|l| l.sku_id.eq_ignore_ascii_case(&add.sku_id));
            if !already && self.consumed(&add.sku_id) >= sku.enabled {
                return Err(GraphError::bad_request(format!(
                    "Subscription with SKU {} does not have any available licenses.",
                    add.sku_id
                )));
            }
        }
        for remove in removes {
            let user = &mut self.users[i];
            let before = user.assigned_licenses.len();
            user.assigned_licenses
                .retain(|l| !l.sku_id.eq_ignore_ascii_case(remove));
            if user.assigned_licenses.len() == before {
                return Err(GraphError::bad_request(format!(
                    "User does not have a corresponding license {remove}."
                )));
            }
        }
        for add in adds {
            let user = &mut self.users[i];
            match user
                .assigned_licenses
                .iter_mut()
                .find(|l| l.sku_id == add.sku_id)
            {
                Some(l) => l.disabled_plans = add.disabled_plans,
                None => user.assigned_licenses.push(AssignedLicense {
                    sku_id: add.sku_id,
                    disabled_plans: add.disabled_plans,
                }),
            }
        }
        if self.has_exchange(&self.users[i]) {
            let user = &mut self.users[i];
            if user.prop_str("mail").is_none() {
                let upn = user.upn().to_string();
                user.props.insert("mail".into(), json!(upn));
            }
            if user.mailbox.is_none() {
                user.mailbox = Some(Mailbox::new(ready_at, MailboxKind::User));
            }
        }
        Ok(())
    }
}
