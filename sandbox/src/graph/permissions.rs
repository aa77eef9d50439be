//! Graph's application-permission checks, each in the words of the service behind the API:
//! the directory's `Authorization_RequestDenied`, Exchange's `ErrorAccessDenied` for mailbox
//! APIs, Teams' `Forbidden` naming the roles it wanted, and the files and Planner services'
//! own codes.

use http::StatusCode;

use crate::auth::Claims;
use crate::tenant::teams::teams_error;
use crate::web::GraphError;

pub(crate) fn require(claims: &Claims, roles: &[&str]) -> Result<(), GraphError> {
    if claims.has_any(roles) {
        Ok(())
    } else {
        Err(GraphError::forbidden())
    }
}

pub(crate) fn require_mailbox(claims: &Claims, roles: &[&str]) -> Result<(), GraphError> {
    if claims.has_any(roles) {
        Ok(())
    } else {
        Err(GraphError::new(
            StatusCode::FORBIDDEN,
            "ErrorAccessDenied",
            "Access is denied. Check credentials and try again.",
        ))
    }
}

pub(crate) fn require_teams(claims: &Claims, roles: &[&str]) -> Result<(), GraphError> {
    if claims.has_any(roles) {
        Ok(())
    } else {
        Err(teams_error(
            StatusCode::FORBIDDEN,
            "Forbidden",
            format!(
                "Missing role permissions on the request. API requires one of '{}'. Roles on the request '{}'.",
                roles.join(", "),
                claims.roles.join(", ")
            ),
        ))
    }
}

pub(crate) fn require_graph(claims: &Claims, roles: &[&str], code: &str) -> Result<(), GraphError> {
    if claims.has_any(roles) {
        Ok(())
    } else {
        Err(GraphError::new(
            StatusCode::FORBIDDEN,
            code,
            "Either scp or roles claim need to be present in the token with one of the permissions this API requires.",
        ))
    }
}
