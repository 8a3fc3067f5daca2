//! `GET` and `PUT /v1/issuer/kakao`: the issuer's KakaoTalk/SMS settings. The provider
//! credentials are encrypted with KMS before they are stored (bound to the issuer) and never
//! come back: answers say `"credentials": "set"` or `"not set"`.

use crate::{
    app::App,
    domain::{
        ids::IssuerId,
        json::Obj,
        kakao::{credentials_of, KakaoSettings},
        FieldError,
    },
    http::{auth::Caller, body::JsonObject, error::ApiError},
    notify::kakao::PURPOSE,
};
use axum::{extract::State, http::StatusCode, response::IntoResponse, Json};
use serde_json::{Map, Value};

#[tracing::instrument(skip_all, fields(issuer = %caller.issuer_id))]
pub async fn get(State(app): State<App>, caller: Caller) -> Result<impl IntoResponse, ApiError> {
    caller.require_admin("read the KakaoTalk settings")?;
    match app.store.get_kakao(&caller.issuer_id).await? {
        Some((s, c)) => Ok(Json(s.view(c.is_some()))),
        None => Err(ApiError::not_found("KakaoTalk settings (none saved yet)")),
    }
}

#[tracing::instrument(skip_all, fields(issuer = %caller.issuer_id))]
pub async fn put(
    State(app): State<App>,
    caller: Caller,
    JsonObject(body): JsonObject,
) -> Result<impl IntoResponse, ApiError> {
    caller.require_admin("change the KakaoTalk settings")?;
    let view = save(&app, &caller.issuer_id, &body).await?;
    Ok((StatusCode::OK, Json(view)))
}

/// Reads, encrypts and stores the settings of `PUT /v1/issuer/kakao` (and the console's form):
/// new credentials replace the stored ones; without any, the stored ones are kept (the first
/// save needs them).
pub async fn save(
    app: &App,
    issuer: &IssuerId,
    body: &Map<String, Value>,
) -> Result<Value, ApiError> {
    let o = Obj::root(body);
    let settings = KakaoSettings::parse(&o)?;
    let fresh = credentials_of(&o)?;
    let stored = app.store.get_kakao(issuer).await?.and_then(|(_, c)| c);
    let ciphertext = match (fresh, stored) {
        (Some(c), _) => {
            let plain = serde_json::to_vec(&c).map_err(|_| ApiError::internal())?;
            app.kms
                .encrypt_secret(issuer, PURPOSE, &plain)
                .await
                .map_err(|e| {
                    tracing::error!(error = %e, "KakaoTalk credentials not encrypted");
                    ApiError::new(
                        StatusCode::SERVICE_UNAVAILABLE,
                        "unavailable",
                        "the credentials could not be encrypted just now; retry",
                    )
                    .ko("지금은 키를 암호화하지 못했습니다. 잠시 후 다시 저장하세요.")
                })?
        }
        (None, Some(c)) => c,
        (None, None) => {
            return Err(FieldError::new(
                "access_key",
                "is required the first time (with secret_key): the provider's API keys",
            )
            .ko("처음 저장할 때는 Access Key ID와 Secret Key를 모두 입력하세요.")
            .into())
        }
    };
    app.store
        .put_kakao(issuer, &settings, Some(&ciphertext))
        .await?;
    tracing::info!("KakaoTalk settings saved");
    Ok(settings.view(true))
}
