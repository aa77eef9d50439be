//! The one HTTP client the host uses upstream (Graph and the token endpoint):
//! reqwest over rustls with the ring provider. Against the live tenant it
//! verifies with the platform's roots; in sandbox mode it is the sandbox
//! crate's client builder that trusts only the sandbox's own CA
//! (`client::trusting`), so the real TLS path runs without a bypass. Either
//! way the host sets its own user agent, timeouts and redirect policy.

use std::sync::Arc;

pub fn build(sandbox_ca_pem: Option<&str>) -> anyhow::Result<reqwest::Client> {
    let builder = match sandbox_ca_pem {
        Some(pem) => m365_sandbox::client::trusting(pem)?,
        None => {
            use rustls_platform_verifier::BuilderVerifierExt;
            let provider = Arc::new(rustls::crypto::ring::default_provider());
            let tls = rustls::ClientConfig::builder_with_provider(provider)
                .with_safe_default_protocol_versions()?
                .with_platform_verifier()?
                .with_no_client_auth();
            reqwest::Client::builder().tls_backend_preconfigured(tls)
        }
    };
    Ok(builder
        .user_agent(concat!("m365-admin/", env!("CARGO_PKG_VERSION")))
        .connect_timeout(std::time::Duration::from_secs(20))
        .timeout(std::time::Duration::from_secs(120))
        .redirect(reqwest::redirect::Policy::none())
        .build()?)
}
