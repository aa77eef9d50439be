//! A failed call, in Exchange's terms: the body the admin API wraps every cmdlet failure in
//! (`{"error":{"code","message":"Error executing cmdlet","details":[{"message":"{id}|{exception
//! type}|{text}"}],…}}`), or an error of the request itself.

use http::StatusCode;
use serde_json::{Map, json};

use crate::web::Reply;

/// The domain controller Exchange names in its not-found messages.
pub(crate) const DC: &str = "SN6PR01A001DC001.NAMPR01A001.PROD.OUTLOOK.COM";

/// A failed call, in Exchange's terms.
#[derive(Debug, Clone)]
pub(crate) struct ExoError {
    pub status: StatusCode,
    pub code: String,
    pub message: String,
    /// `details[0].message`: `{error id}|{exception type}|{text}`.
    pub detail: Option<String>,
    pub headers: Vec<(String, String)>,
}

impl ExoError {
    pub fn failure(status: StatusCode, code: &str, detail: String) -> Self {
        ExoError {
            status,
            code: code.into(),
            message: "Error executing cmdlet".into(),
            detail: Some(detail),
            headers: Vec::new(),
        }
    }

    /// 400 from PowerShell's parameter binder.
    pub fn binding(message: impl Into<String>) -> Self {
        Self::failure(
            StatusCode::BAD_REQUEST,
            "BadRequest",
            format!(
                "|System.Management.Automation.ParameterBindingException|{}",
                message.into()
            ),
        )
    }

    /// 400 from the cmdlet itself: `{id}|{exception}|{text}`.
    pub fn task(id: &str, exception: &str, message: impl Into<String>) -> Self {
        Self::failure(
            StatusCode::BAD_REQUEST,
            "BadRequest",
            format!("{id}|{exception}|{}", message.into()),
        )
    }

    /// 404 for an object the cmdlet cannot find.
    pub fn not_found(object: &str) -> Self {
        Self::failure(
            StatusCode::NOT_FOUND,
            "NotFound",
            format!(
                "Ex6F9304|Microsoft.Exchange.Configuration.Tasks.ManagementObjectNotFoundException|The operation couldn't be performed because object '{object}' couldn't be found on '{DC}'."
            ),
        )
    }

    /// 400 for an identity that matches more than one object.
    pub fn ambiguous(object: &str) -> Self {
        Self::task(
            "Ex0EDFD3",
            "Microsoft.Exchange.Configuration.Tasks.ManagementObjectAmbiguousException",
            format!(
                "The operation couldn't be performed because '{object}' matches multiple entries."
            ),
        )
    }

    /// 400 for a documented parameter this sandbox does not emulate.
    pub fn not_emulated(cmdlet: &str, parameter: &str) -> Self {
        Self::failure(
            StatusCode::BAD_REQUEST,
            "BadRequest",
            format!(
                "|Microsoft.Exchange.Sandbox.NotEmulatedException|The sandbox tenant does not emulate the '{parameter}' parameter of {cmdlet} (Exchange Online documents it); use only the parameters the sandbox emulates."
            ),
        )
    }

    /// An error of the request itself (not of a cmdlet), without details.
    pub fn request(status: StatusCode, code: &str, message: impl Into<String>) -> Self {
        ExoError {
            status,
            code: code.into(),
            message: message.into(),
            detail: None,
            headers: Vec::new(),
        }
    }

    pub fn into_reply(self) -> Reply {
        let mut error = Map::new();
        error.insert("code".into(), json!(self.code));
        error.insert("message".into(), json!(self.message));
        if let Some(d) = &self.detail {
            error.insert(
                "details".into(),
                json!([{"code": "Client", "target": "", "message": d}]),
            );
            error.insert(
                "innererror".into(),
                json!({
                    "message": self.message,
                    "type": "Microsoft.Exchange.Admin.OData.Core.ODataServiceException",
                    "internalexception": {
                        "message": "Exception of type 'Microsoft.Exchange.Management.PSDirectInvoke.DirectInvokeCmdletExecutionException' was thrown.",
                        "type": "Microsoft.Exchange.Management.PSDirectInvoke.DirectInvokeCmdletExecutionException",
                    },
                }),
            );
            error.insert(
                "adminapi.warnings@odata.type".into(),
                json!("#Collection(String)"),
            );
            error.insert("@adminapi.warnings".into(), json!([]));
        }
        let mut reply = Reply::json(self.status, json!({ "error": error }));
        reply.headers.extend(self.headers);
        reply
    }
}
