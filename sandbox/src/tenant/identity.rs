//! How users sign in: the authentication methods each has registered, when each last signed
//! in, and whether the tenant holds Microsoft Entra ID P1, without which Graph reports on
//! neither ("A Microsoft Entra ID P1 or P2 license is required to access usage and insights";
//! `signInActivity` "requires a Microsoft Entra ID P1 or P2 license").
//!
//! A user's registration as `reports/authenticationMethods/userRegistrationDetails` shows it
//! is derived from their methods here, so a method removed (or added) changes the report.

use serde::{Deserialize, Serialize};
use time::OffsetDateTime;

use super::directory::User;
use super::state::Tenant;

/// The service plans that carry Microsoft Entra ID P1 (P2 includes P1).
const ENTRA_PREMIUM_PLANS: &[&str] = &["AAD_PREMIUM", "AAD_PREMIUM_P2"];

/// A registered authentication method, by the Graph resource it is listed as under
/// `/users/{id}/authentication/methods`.
#[derive(Serialize, Deserialize, Clone, Copy, Debug, PartialEq, Eq)]
#[serde(rename_all = "camelCase")]
pub(crate) enum AuthMethodKind {
    MicrosoftAuthenticator,
    Phone,
    Fido2,
    SoftwareOath,
    Email,
    TemporaryAccessPass,
    WindowsHelloForBusiness,
}

impl AuthMethodKind {
    /// The value `userRegistrationDetails.methodsRegistered` names it by.
    pub fn registered_as(self) -> &'static str {
        match self {
            AuthMethodKind::MicrosoftAuthenticator => "microsoftAuthenticatorPush",
            AuthMethodKind::Phone => "mobilePhone",
            AuthMethodKind::Fido2 => "fido2SecurityKey",
            AuthMethodKind::SoftwareOath => "softwareOneTimePasscode",
            AuthMethodKind::Email => "email",
            AuthMethodKind::TemporaryAccessPass => "temporaryAccessPass",
            AuthMethodKind::WindowsHelloForBusiness => "windowsHelloForBusiness",
        }
    }

    /// Whether it is a second factor for MFA (email serves password reset only).
    pub fn is_strong(self) -> bool {
        !matches!(self, AuthMethodKind::Email)
    }

    /// Whether it signs in without a password.
    pub fn is_passwordless(self) -> bool {
        matches!(
            self,
            AuthMethodKind::Fido2 | AuthMethodKind::WindowsHelloForBusiness
        )
    }

    /// Whether it can reset a password (self-service password reset).
    pub fn serves_sspr(self) -> bool {
        matches!(
            self,
            AuthMethodKind::MicrosoftAuthenticator
                | AuthMethodKind::Phone
                | AuthMethodKind::Email
                | AuthMethodKind::SoftwareOath
        )
    }
}

#[derive(Serialize, Deserialize, Clone, Debug, PartialEq)]
#[serde(rename_all = "camelCase")]
pub(crate) struct AuthMethod {
    pub id: String,
    pub kind: AuthMethodKind,
    #[serde(with = "time::serde::rfc3339")]
    pub created_date_time: OffsetDateTime,
}

/// The user's `signInActivity`: none of the instants means never.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq)]
#[serde(rename_all = "camelCase", default)]
pub(crate) struct SignInActivity {
    #[serde(with = "time::serde::rfc3339::option")]
    pub last_sign_in: Option<OffsetDateTime>,
    #[serde(with = "time::serde::rfc3339::option")]
    pub last_non_interactive_sign_in: Option<OffsetDateTime>,
    #[serde(with = "time::serde::rfc3339::option")]
    pub last_successful_sign_in: Option<OffsetDateTime>,
}

impl SignInActivity {
    /// An interactive, successful sign-in at `at`.
    pub fn at(at: OffsetDateTime) -> SignInActivity {
        SignInActivity {
            last_sign_in: Some(at),
            last_non_interactive_sign_in: Some(at),
            last_successful_sign_in: Some(at),
        }
    }
}

/// What the registration report says of one user.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Registration {
    pub methods: Vec<&'static str>,
    pub mfa_registered: bool,
    pub passwordless_capable: bool,
    pub sspr_registered: bool,
}

impl User {
    pub fn registration(&self) -> Registration {
        let kinds = || self.auth_methods.iter().map(|m| m.kind);
        let mut methods: Vec<&'static str> = kinds().map(AuthMethodKind::registered_as).collect();
        methods.sort_unstable();
        methods.dedup();
        Registration {
            methods,
            mfa_registered: kinds().any(AuthMethodKind::is_strong),
            passwordless_capable: kinds().any(AuthMethodKind::is_passwordless),
            sspr_registered: kinds().any(AuthMethodKind::serves_sspr),
        }
    }
}

impl Tenant {
    /// Whether a subscribed SKU with seats carries Microsoft Entra ID P1 or P2: the tenant's
    /// licence level for the reports and conditional access.
    pub fn has_entra_p1(&self) -> bool {
        self.skus.iter().any(|s| {
            s.enabled > 0
                && s.service_plans
                    .iter()
                    .any(|p| ENTRA_PREMIUM_PLANS.contains(&p.service_plan_name.as_str()))
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::Map;

    fn method(kind: AuthMethodKind) -> AuthMethod {
        AuthMethod {
            id: "m".into(),
            kind,
            created_date_time: OffsetDateTime::UNIX_EPOCH,
        }
    }

    #[test]
    fn registration_follows_the_methods() {
        let mut u = User::new("u".into(), OffsetDateTime::UNIX_EPOCH, Map::new());
        assert_eq!(
            u.registration(),
            Registration {
                methods: vec![],
                mfa_registered: false,
                passwordless_capable: false,
                sspr_registered: false,
            }
        );
        u.auth_methods = vec![method(AuthMethodKind::Email)];
        let r = u.registration();
        assert!(!r.mfa_registered && r.sspr_registered, "{r:?}");
        u.auth_methods.push(method(AuthMethodKind::Fido2));
        u.auth_methods
            .push(method(AuthMethodKind::MicrosoftAuthenticator));
        let r = u.registration();
        assert!(r.mfa_registered && r.passwordless_capable);
        assert_eq!(
            r.methods,
            ["email", "fido2SecurityKey", "microsoftAuthenticatorPush"]
        );
    }

    #[test]
    fn p1_comes_with_a_subscription_that_has_seats() {
        let mut t = Tenant::bare("tid");
        assert!(t.has_entra_p1(), "the seed's Business Premium carries P1");
        for s in t.skus.iter_mut().filter(|s| s.sku_part_number == "SPB") {
            s.enabled = 0;
        }
        assert!(!t.has_entra_p1());
    }
}
