//! Channel email: `POST …/channels/{cid}/provisionEmail` and `…/removeEmail`, which Graph
//! supports only with delegated permissions, so an app-only token (every sandbox token) gets
//! 403; the control API `POST /_sandbox/channelEmail` does what "Get email address" in the
//! Teams client does (`Tenant::provision_channel_email`), and the channel's `email` then shows
//! the address.

use http::StatusCode;

use crate::tenant::teams::teams_error;
use crate::web::GraphResult;

/// `POST …/channels/{cid}/provisionEmail` and `…/removeEmail`: delegated-only, so an app-only
/// token is refused.
pub(crate) fn delegated_only(action: &str) -> GraphResult {
    Err(teams_error(
        StatusCode::FORBIDDEN,
        "Forbidden",
        format!(
            "{action} is not supported with application permissions: it needs delegated ChannelSettings.ReadWrite.All (a signed-in user). Provision the channel's email address in the Teams client (Get email address), then read it from the channel's email property."
        ),
    ))
}

#[cfg(test)]
mod tests {
    use http::Method;

    use crate::testkit::{Kit, kit};
    use crate::web::GraphError;

    /// What `POST /_sandbox/channelEmail` does.
    fn provision(k: &Kit, team: &str, channel: &str) -> Result<String, GraphError> {
        k.app
            .store
            .mutate(|t| t.provision_channel_email(team, channel))
    }

    #[test]
    fn channel_email_is_delegated_only() {
        let k = kit();
        let (gid, general) = k.team("support");
        let channel = format!("/teams/{gid}/channels/{general}");
        let a = k.graph(Method::POST, &format!("{channel}/provisionEmail"), None);
        assert_eq!(a.status, 403, "{}", a.body);
        assert!(a.message().contains("delegated"));
        assert_eq!(
            k.graph(Method::POST, &format!("{channel}/removeEmail"), None)
                .status,
            403
        );
        assert_eq!(k.graph(Method::GET, &channel, None).body["email"], "");

        // What the Teams client does, through the control API.
        let email = provision(&k, &gid, &general).unwrap();
        assert!(
            email.ends_with(".libertygoldsilver.onmicrosoft.com@amer.teams.ms"),
            "{email}"
        );
        assert_eq!(provision(&k, &gid, &general).unwrap(), email);
        assert_eq!(k.graph(Method::GET, &channel, None).body["email"], email);
        k.app
            .store
            .mutate(|t| t.remove_channel_email(&gid, &general))
            .unwrap();
        assert_eq!(k.graph(Method::GET, &channel, None).body["email"], "");
        assert!(
            k.app
                .store
                .mutate(|t| t.remove_channel_email(&gid, &general))
                .is_err()
        );
    }
}
