use crate::{
    app::App,
    domain::{
        api_key::{ApiKey, ApiKeySecret, Scope},
        ids::ApiKeyId,
        json::Obj,
        text,
    },
    http::{
        auth::Caller,
        body::JsonObject,
        error::ApiError,
        query::{ApiQuery, NoParams},
    },
};
use axum::{
    extract::{Path, State},
    http::StatusCode,
    response::IntoResponse,
    Json,
};
use serde_json::{json, Value};

fn key_json(k: &ApiKey) -> Value {
    json!({
        "id": k.id,
        "name": k.name,
        "scope": k.scope.as_str(),
        "hint": k.hint,
        "created_at": k.created_at,
        "revoked_at": k.revoked_at,
        "active": k.is_active(),
    })
}

/// Creates a key. The answer holds the key itself, once; only its hash is stored.
#[tracing::instrument(skip_all, fields(issuer = %caller.issuer_id))]
pub async fn create(
    State(app): State<App>,
    caller: Caller,
    JsonObject(body): JsonObject,
) -> Result<impl IntoResponse, ApiError> {
    caller.require_admin("manage API keys")?;
    let o = Obj::root(&body);
    o.only(&["name", "scope"])?;
    let name = o
        .parse("name", |s| text::line(s, text::NAME_MAX))?
        .unwrap_or_else(|| "API key".to_owned());
    // Least privilege: a new key is for an integration unless asked otherwise.
    let scope = o
        .parse("scope", Scope::parse)?
        .unwrap_or(Scope::Integration);
    let secret = ApiKeySecret::generate();
    let key = ApiKey::new(
        caller.issuer_id.clone(),
        name,
        scope,
        &secret,
        chrono::Utc::now(),
    );
    app.store.create_api_key(&key).await?;
    tracing::info!(key = %key.id, "API key created");
    let mut v = key_json(&key);
    v["key"] = json!(secret.expose());
    Ok((StatusCode::CREATED, Json(v)))
}

pub async fn list(
    State(app): State<App>,
    caller: Caller,
    _: ApiQuery<NoParams>,
) -> Result<impl IntoResponse, ApiError> {
    caller.require_admin("manage API keys")?;
    let keys = app.store.list_api_keys(&caller.issuer_id).await?;
    Ok(Json(super::list_json(
        keys.iter().map(key_json).collect(),
        None,
    )))
}

#[tracing::instrument(skip_all, fields(issuer = %caller.issuer_id, key = %id))]
pub async fn revoke(
    State(app): State<App>,
    caller: Caller,
    Path(id): Path<String>,
) -> Result<impl IntoResponse, ApiError> {
    caller.require_admin("manage API keys")?;
    let id = ApiKeyId::parse(&id).map_err(|_| ApiError::not_found("API key"))?;
    let key = app
        .store
        .get_api_key(&caller.issuer_id, &id)
        .await?
        .ok_or_else(|| ApiError::not_found("API key"))?;
    app.store.revoke_api_key(&key, chrono::Utc::now()).await?;
    tracing::info!("API key revoked");
    Ok(StatusCode::NO_CONTENT)
}
