//! API errors: `{"error": {"code", "message", "field"?}}` with the right status, mapped once.

use crate::{
    blobs::BlobError,
    domain::{award::IssueRuleError, FieldError, Invalid},
    store::{awards::InsertError, StoreError},
};
use axum::{
    http::StatusCode,
    response::{IntoResponse, Response},
    Json,
};
use serde_json::json;

#[derive(Debug)]
pub struct ApiError {
    pub status: StatusCode,
    pub code: &'static str,
    pub message: String,
    pub field: Option<String>,
    /// The message in Korean, for the console's Korean pages; never sent (the API speaks English).
    pub ko: Option<String>,
    /// The id of what the request ran into (`existing_award_id` of an `already_awarded`).
    pub related: Option<Box<(&'static str, String)>>,
}

impl ApiError {
    pub fn new(status: StatusCode, code: &'static str, message: impl Into<String>) -> Self {
        Self {
            status,
            code,
            message: message.into(),
            field: None,
            ko: None,
            related: None,
        }
    }
    pub fn field(field: impl Into<String>, message: impl Into<String>) -> Self {
        Self {
            field: Some(field.into()),
            ..Self::new(StatusCode::BAD_REQUEST, "invalid_field", message)
        }
    }
    /// A rejected value named by `field`, with the parser's own message (no field prefix).
    pub fn invalid(field: impl Into<String>, e: Invalid) -> Self {
        let ko = e.korean().map(str::to_owned);
        Self {
            ko,
            ..Self::field(field, e.0)
        }
    }
    /// The id of what the request ran into, under `key` beside the message.
    pub fn related(mut self, key: &'static str, id: impl Into<String>) -> Self {
        self.related = Some(Box::new((key, id.into())));
        self
    }
    /// The same message in Korean.
    pub fn ko(mut self, korean: impl Into<String>) -> Self {
        self.ko = Some(korean.into());
        self
    }
    pub fn not_found(what: &str) -> Self {
        Self::new(
            StatusCode::NOT_FOUND,
            "not_found",
            format!("{what} not found"),
        )
    }
    pub fn unauthorized(message: impl Into<String>) -> Self {
        Self::new(StatusCode::UNAUTHORIZED, "unauthorized", message)
    }
    pub fn conflict(code: &'static str, message: impl Into<String>) -> Self {
        Self::new(StatusCode::CONFLICT, code, message)
    }
    pub fn internal() -> Self {
        Self::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            "internal",
            "something went wrong on our side; it has been logged",
        )
        .ko("서버에서 문제가 생겼습니다. 기록되었으니 잠시 후 다시 시도하세요.")
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let mut err = json!({ "code": self.code, "message": self.message });
        if let Some(f) = self.field {
            err["field"] = json!(f);
        }
        if let Some(related) = self.related {
            let (key, id) = *related;
            err[key] = json!(id);
        }
        let mut resp = (self.status, Json(json!({ "error": err }))).into_response();
        if self.status == StatusCode::UNAUTHORIZED {
            resp.headers_mut().insert(
                axum::http::header::WWW_AUTHENTICATE,
                axum::http::HeaderValue::from_static("Bearer"),
            );
        }
        resp
    }
}

impl From<FieldError> for ApiError {
    fn from(e: FieldError) -> Self {
        let message = e.to_string();
        ApiError {
            ko: e.ko,
            ..ApiError::field(e.field, message)
        }
    }
}

/// A refusal of the issue rules: 400 on its field, in both languages.
impl From<IssueRuleError> for ApiError {
    fn from(e: IssueRuleError) -> Self {
        ApiError::invalid(e.field(), e.invalid())
    }
}

impl From<StoreError> for ApiError {
    fn from(e: StoreError) -> Self {
        match e {
            StoreError::NotFound => ApiError::not_found("resource"),
            StoreError::VersionConflict { .. } => ApiError::new(
                StatusCode::PRECONDITION_FAILED,
                "version_conflict",
                e.to_string(),
            ),
            StoreError::BadCursor => ApiError::field("cursor", e.to_string()),
            StoreError::Throttled => {
                ApiError::new(StatusCode::SERVICE_UNAVAILABLE, "throttled", e.to_string())
                    .ko("요청이 많아 처리하지 못했습니다. 잠시 후 다시 시도하세요.")
            }
            StoreError::Corrupt(_) | StoreError::Aws(_) => {
                tracing::error!(error = %e, "store failure");
                ApiError::internal()
            }
        }
    }
}

impl From<InsertError> for ApiError {
    fn from(e: InsertError) -> Self {
        match e {
            InsertError::Store(s) => s.into(),
            InsertError::Taken(t) => {
                ApiError::conflict("conflict", format!("conflicts with award {}", t.existing))
            }
        }
    }
}

impl From<BlobError> for ApiError {
    fn from(e: BlobError) -> Self {
        tracing::error!(error = %e, "blob failure");
        ApiError::internal()
    }
}
