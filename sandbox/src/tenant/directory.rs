//! Directory objects: the organization's domains, its subscribed SKUs and their service plans,
//! and users with their assigned licenses. A user's properties are kept by their Graph names;
//! how they sign in (methods, activity) is `identity`.

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};
use time::OffsetDateTime;

use super::identity::{AuthMethod, SignInActivity};
use super::mailbox::Mailbox;

pub(crate) const DEFAULT_DOMAIN: &str = "libertygoldsilver.com";
pub(crate) const INITIAL_DOMAIN: &str = "libertygoldsilver.onmicrosoft.com";

#[derive(Serialize, Deserialize, Clone, Debug)]
#[serde(rename_all = "camelCase")]
pub(crate) struct Domain {
    pub name: String,
    pub is_default: bool,
    pub is_initial: bool,
    /// `passwordValidityPeriodInDays`: `2147483647` (and null) mean passwords never expire.
    #[serde(default = "never_expires")]
    pub password_validity_period_in_days: Option<i32>,
}

/// The value Microsoft documents for "passwords never expire".
pub(crate) const NEVER_EXPIRES: i32 = i32::MAX;

fn never_expires() -> Option<i32> {
    Some(NEVER_EXPIRES)
}

impl Domain {
    /// A verified domain whose passwords never expire.
    pub fn new(name: &str, is_default: bool, is_initial: bool) -> Domain {
        Domain {
            name: name.into(),
            is_default,
            is_initial,
            password_validity_period_in_days: never_expires(),
        }
    }
}

#[derive(Serialize, Deserialize, Clone, Debug)]
#[serde(rename_all = "camelCase")]
pub(crate) struct Sku {
    pub sku_id: String,
    pub sku_part_number: String,
    pub subscription_id: String,
    /// Prepaid (purchased) seats.
    pub enabled: u32,
    pub service_plans: Vec<ServicePlan>,
}

#[derive(Serialize, Deserialize, Clone, Debug)]
#[serde(rename_all = "camelCase")]
pub(crate) struct ServicePlan {
    pub service_plan_id: String,
    pub service_plan_name: String,
}

impl ServicePlan {
    pub fn is_exchange(&self) -> bool {
        self.service_plan_name.starts_with("EXCHANGE_S_")
    }
}

#[derive(Serialize, Deserialize, Clone, Debug)]
#[serde(rename_all = "camelCase")]
pub(crate) struct User {
    pub id: String,
    #[serde(with = "time::serde::rfc3339")]
    pub created_date_time: OffsetDateTime,
    /// The user's writable Graph properties, by their Graph names (`displayName`, …).
    pub props: Map<String, Value>,
    pub assigned_licenses: Vec<AssignedLicense>,
    /// Created when an Exchange plan is first assigned; kept (inactive) if it is removed.
    pub mailbox: Option<Mailbox>,
    /// Registered authentication methods besides the password.
    #[serde(default)]
    pub auth_methods: Vec<AuthMethod>,
    /// When the user last signed in (none: never).
    #[serde(default)]
    pub sign_in: SignInActivity,
}

#[derive(Serialize, Deserialize, Clone, Debug)]
#[serde(rename_all = "camelCase")]
pub(crate) struct AssignedLicense {
    pub sku_id: String,
    pub disabled_plans: Vec<String>,
}

impl User {
    pub fn prop_str(&self, name: &str) -> Option<&str> {
        self.props.get(name).and_then(Value::as_str)
    }

    /// A user with these Graph properties, no license, mailbox, method or sign-in.
    pub fn new(id: String, created_date_time: OffsetDateTime, props: Map<String, Value>) -> User {
        User {
            id,
            created_date_time,
            props,
            assigned_licenses: Vec::new(),
            mailbox: None,
            auth_methods: Vec::new(),
            sign_in: SignInActivity::default(),
        }
    }

    pub fn is_enabled(&self) -> bool {
        self.props
            .get("accountEnabled")
            .and_then(Value::as_bool)
            .unwrap_or(true)
    }

    pub fn is_guest(&self) -> bool {
        self.prop_str("userType") == Some("Guest")
    }

    pub fn upn(&self) -> &str {
        self.prop_str("userPrincipalName").unwrap_or_default()
    }

    /// The mailbox's alias: the user's mailNickname, else the UPN's local part.
    pub fn alias(&self) -> String {
        self.prop_str("mailNickname")
            .filter(|s| !s.is_empty())
            .map(str::to_string)
            .unwrap_or_else(|| self.upn().split('@').next().unwrap_or_default().to_string())
    }

    /// The primary SMTP address: the user's mail, else the UPN.
    pub fn primary_smtp(&self) -> String {
        self.prop_str("mail")
            .filter(|s| !s.is_empty())
            .unwrap_or(self.upn())
            .to_string()
    }
}
