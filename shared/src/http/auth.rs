//! `Authorization: Bearer acc_…` → the calling issuer. One consistent read per request.

use super::error::ApiError;
use crate::{
    app::App,
    domain::{
        api_key::{ApiKeySecret, Scope},
        ids::ApiKeyId,
        ids::IssuerId,
        issuer::Issuer,
    },
};
use axum::{extract::FromRequestParts, http::request::Parts};

/// The authenticated caller. Every `/v1` handler takes one; every read and write is scoped to
/// `issuer_id`.
#[derive(Debug, Clone)]
pub struct Caller {
    pub issuer_id: IssuerId,
    pub key_id: ApiKeyId,
    pub scope: Scope,
}

impl Caller {
    /// Managing API keys and the issuer's settings takes an admin key (403 otherwise).
    pub fn require_admin(&self, what: &str) -> Result<(), ApiError> {
        match self.scope {
            Scope::Admin => Ok(()),
            Scope::Integration => Err(ApiError::new(
                axum::http::StatusCode::FORBIDDEN,
                "forbidden",
                format!("an integration key cannot {what}; use an admin key"),
            )),
        }
    }
}

impl Caller {
    /// The calling issuer (404 if it is gone).
    pub async fn issuer(&self, app: &App) -> Result<Issuer, ApiError> {
        app.store
            .get_issuer(&self.issuer_id)
            .await?
            .ok_or_else(|| ApiError::not_found("issuer"))
    }
}

impl FromRequestParts<App> for Caller {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, app: &App) -> Result<Self, ApiError> {
        let header = parts
            .headers
            .get(axum::http::header::AUTHORIZATION)
            .ok_or_else(|| {
                ApiError::unauthorized("send your API key as `Authorization: Bearer acc_…`")
            })?
            .to_str()
            .map_err(|_| ApiError::unauthorized("the Authorization header is not readable text"))?;
        // The scheme is case-insensitive (RFC 9110 §11.1), separated by spaces or tabs.
        let token = header
            .trim()
            .split_once([' ', '\t'])
            .filter(|(scheme, _)| scheme.eq_ignore_ascii_case("bearer"))
            .map(|(_, token)| token.trim())
            .ok_or_else(|| {
                ApiError::unauthorized("the Authorization header must be `Bearer acc_…`")
            })?;
        let secret = ApiKeySecret::parse(token).map_err(|e| ApiError::unauthorized(e.0))?;
        let owner = app
            .store
            .authenticate(&secret.hash())
            .await?
            .ok_or_else(|| {
                ApiError::unauthorized("this API key is not valid (unknown or revoked)")
            })?;
        Ok(Caller {
            issuer_id: owner.issuer_id,
            key_id: owner.key_id,
            scope: owner.scope,
        })
    }
}
