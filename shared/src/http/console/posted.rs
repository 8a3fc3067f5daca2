//! What a state-changing console request brings, checked before any handler runs: the session
//! and its CSRF token — in the form (`Posted`) or, for the page's scripts, in the
//! `X-CSRF-Token` header (`Scripted`). No handler reads the token itself, so none can forget it.

use super::{form, page::forbidden, session::Session};
use crate::{app::App, http::body::JsonObject};
use axum::{
    extract::{Form, FromRequest, FromRequestParts, Request},
    http::{request::Parts, StatusCode},
    response::{IntoResponse, Response},
    Json,
};
use serde_json::json;

/// A form posted by the signed-in admin, its CSRF token already checked: every state-changing
/// console handler takes one, so none can forget the check. A missing or wrong token is the 403
/// page; no session is the sign-in redirect.
pub struct Posted {
    pub s: Session,
    pub f: Vec<(String, String)>,
}

impl FromRequest<App> for Posted {
    type Rejection = Response;

    async fn from_request(req: Request, app: &App) -> Result<Self, Response> {
        let (mut parts, body) = req.into_parts();
        let s = Session::from_request_parts(&mut parts, app).await?;
        let Form(f) =
            Form::<Vec<(String, String)>>::from_request(Request::from_parts(parts, body), app)
                .await
                .map_err(IntoResponse::into_response)?;
        if !s.csrf_ok(form::value(&f, "_csrf")) {
            return Err(forbidden(app, s.lang));
        }
        if f.len() > form::MAX_FIELDS {
            // No console form comes near; reading only part of one would save part of it.
            let message = s.lang.t(
                "양식의 항목이 너무 많습니다 (최대 1,000개).",
                "the form has too many fields (at most 1,000)",
            );
            return Err((StatusCode::PAYLOAD_TOO_LARGE, message).into_response());
        }
        Ok(Posted { s, f })
    }
}

/// A request from the console's own scripts (uploads, batch creation): the signed-in session,
/// its CSRF token checked from the `X-CSRF-Token` header. A missing or wrong token is a 403 with
/// the API's JSON error shape (the script shows it); no session is the sign-in redirect.
pub struct Scripted(pub Session);

impl FromRequestParts<App> for Scripted {
    type Rejection = Response;

    async fn from_request_parts(parts: &mut Parts, app: &App) -> Result<Self, Response> {
        let s = Session::from_request_parts(parts, app).await?;
        let token = parts
            .headers
            .get("x-csrf-token")
            .and_then(|v| v.to_str().ok());
        if !s.csrf_ok(token) {
            let message = s.lang.t(
                "페이지를 새로 고친 뒤 다시 시도하세요.",
                "reload the page and try again",
            );
            let error = json!({"error": {"code": "csrf", "message": message}});
            return Err((StatusCode::FORBIDDEN, Json(error)).into_response());
        }
        Ok(Scripted(s))
    }
}

/// Builds the request body a `/v1` handler expects from a form.
pub fn json_of(fields: &[(String, String)]) -> JsonObject {
    JsonObject(form::to_json(fields))
}
