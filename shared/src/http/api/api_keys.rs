use super::once::{self, once, Once};
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
    http::{HeaderMap, StatusCode},
    response::{IntoResponse, Response},
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

/// Creates a key, 201. The answer holds the key itself, once; only its hash is stored. With an
/// `Idempotency-Key`, the same request sent again within 24 hours answers the key it made, 200,
/// with a new secret in place of the one in the lost answer (which stops working): one key,
/// and a secret the caller has.
#[tracing::instrument(skip_all, fields(issuer = %caller.issuer_id))]
pub async fn create(
    State(app): State<App>,
    caller: Caller,
    headers: HeaderMap,
    JsonObject(body): JsonObject,
) -> Result<Response, ApiError> {
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
    let request = json!({"name": name, "scope": scope.as_str()});
    let pending = match once(&app, &caller, &headers, KIND, &request).await? {
        Once::Made(earlier) => return made_before(&app, &caller, &earlier.id).await,
        Once::Create(pending) => pending,
    };
    let secret = ApiKeySecret::generate();
    let key = ApiKey::new(
        caller.issuer_id.clone(),
        name,
        scope,
        &secret,
        chrono::Utc::now(),
    );
    let record = pending.map(|p| p.of(&key.id));
    if let Some(earlier) = app.store.create_api_key(&key, record.as_ref()).await? {
        once::made(&earlier, record.as_ref().unwrap_or(&earlier))?;
        return made_before(&app, &caller, &earlier.id).await;
    }
    tracing::info!(key = %key.id, "API key created");
    Ok(with_secret(&key, &secret, StatusCode::CREATED))
}

/// What a create's `Idempotency-Key` is kept under.
const KIND: &str = "api_key";

fn with_secret(key: &ApiKey, secret: &ApiKeySecret, status: StatusCode) -> Response {
    let mut v = key_json(key);
    v["key"] = json!(secret.expose());
    (status, Json(v)).into_response()
}

/// The answer to a create sent again: the key its `Idempotency-Key` made, with a new secret
/// (the first answer's is never stored, so it cannot be shown again; it stops working now).
async fn made_before(app: &App, caller: &Caller, id: &str) -> Result<Response, ApiError> {
    let key = match ApiKeyId::parse(id) {
        Ok(made) => app.store.get_api_key(&caller.issuer_id, &made).await?,
        Err(_) => None,
    };
    let Some(key) = key.filter(ApiKey::is_active) else {
        return Err(once::gone("API key", id));
    };
    let secret = ApiKeySecret::generate();
    let now = ApiKey {
        hint: secret.hint(),
        key_hash: secret.hash(),
        ..key.clone()
    };
    if !app.store.reissue_api_key(&key, &now).await? {
        return Err(ApiError::conflict(
            "idempotency_key_in_use",
            "another request with this Idempotency-Key changed this API key at the same moment (or it was revoked); send the request again",
        )
        .ko("같은 Idempotency-Key의 다른 요청이 같은 순간에 이 API 키를 바꾸었습니다(또는 키가 폐기되었습니다). 다시 보내세요."));
    }
    tracing::info!(key = %key.id, "API key's create sent again: a new secret answered");
    Ok(with_secret(&now, &secret, StatusCode::OK))
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
