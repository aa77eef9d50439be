//! The request headers a plugin may not choose: it never sets credentials
//! (the host adds the token after the gate), and the `Host` wasi-http sets
//! from the authority must agree with it.

use crate::denial::{Denial, DenialKind};
use http::header::{AUTHORIZATION, COOKIE, HeaderName};
use http::{HeaderValue, Uri};

/// A header the plugin tries to set.
pub fn check_header(name: &HeaderName) -> Result<(), Denial> {
    if *name == AUTHORIZATION || *name == COOKIE {
        return Err(DenialKind::CredentialHeader {
            header: name.to_string(),
        }
        .into());
    }
    Ok(())
}

/// The request's `Host` header, if it has one, against its authority.
pub fn check_host_header(uri: &Uri, host: Option<&HeaderValue>) -> Result<(), Denial> {
    match host {
        Some(host) if uri.authority().map(|a| a.as_str().as_bytes()) != Some(host.as_bytes()) => {
            Err(DenialKind::HostHeader.into())
        }
        _ => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn credentials_are_the_hosts_to_add() {
        for (name, refused) in [
            ("authorization", true),
            ("Authorization", true),
            ("cookie", true),
            ("content-type", false),
            ("consistencylevel", false),
        ] {
            let name = HeaderName::try_from(name).unwrap();
            assert_eq!(check_header(&name).is_err(), refused, "{name}");
        }
    }

    #[test]
    fn the_host_header_must_be_the_authority() {
        let uri: Uri = "https://graph.microsoft.com/v1.0/users".parse().unwrap();
        let host = |h: &str| HeaderValue::from_str(h).unwrap();
        assert!(check_host_header(&uri, None).is_ok());
        assert!(check_host_header(&uri, Some(&host("graph.microsoft.com"))).is_ok());
        for bad in [
            "evil.example",
            "Graph.Microsoft.com",
            "graph.microsoft.com:443",
        ] {
            assert_eq!(
                check_host_header(&uri, Some(&host(bad)))
                    .unwrap_err()
                    .kind(),
                &DenialKind::HostHeader,
                "{bad}"
            );
        }
    }
}
