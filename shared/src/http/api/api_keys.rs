use super::once::{self, once, Once};
use crate::{
    app::App,
    domain::{
        api_key::{ApiKey, ApiKeySecret, Scope, SECRET_HELD_FOR},
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
/// `Idempotency-Key`, the same request from the same key sent again within 24 hours answers the
/// key it made, 200, with a new secret in place of the one in the lost answer (which stops
/// working): one key, and a secret the caller has. Not within [`SECRET_HELD_FOR`] of the
/// secret's making, nor while the first send may still be running: 409.
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
    // The key that sends it is part of the request: another admin key's retry is not this one.
    let request = json!({"name": name, "scope": scope.as_str(), "by": caller.key_id});
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
        // Sent twice at once: the other send made the key and is answering it now.
        once::made(&earlier, record.as_ref().unwrap_or(&earlier))?;
        return Err(in_use(SECRET_HELD_FOR));
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
    let Some(key) = active_key(app, caller, id).await? else {
        return Err(once::gone("API key", id, ("revoked", "폐기되었습니다")));
    };
    if key.id == caller.key_id {
        return Err(ApiError::conflict(
            "conflict",
            "this request is sent with the API key it made, which it would give a new secret: you hold that key's secret, so the first answer was not lost",
        )
        .ko("이 요청은 그 요청이 만든 API 키로 보내졌습니다. 그 키의 비밀값을 이미 가지고 있으니 첫 응답은 잃어버리지 않았습니다."));
    }
    let at = chrono::Utc::now();
    let held = key.secret_held(at);
    if held > chrono::Duration::zero() {
        return Err(in_use(held));
    }
    let secret = ApiKeySecret::generate();
    let now = ApiKey {
        hint: secret.hint(),
        key_hash: secret.hash(),
        secret_set_at: Some(at),
        ..key.clone()
    };
    if !app.store.reissue_api_key(&key, &now, at).await? {
        // Revoked meanwhile, or given its secret by another send at this moment.
        return Err(match active_key(app, caller, id).await? {
            None => once::gone("API key", id, ("revoked", "폐기되었습니다")),
            Some(_) => in_use(SECRET_HELD_FOR),
        });
    }
    tracing::info!(key = %key.id, "API key's create sent again: a new secret answered");
    Ok(with_secret(&now, &secret, StatusCode::OK))
}

/// The caller's issuer's key `id`, unless it is gone or revoked.
async fn active_key(app: &App, caller: &Caller, id: &str) -> Result<Option<ApiKey>, ApiError> {
    let Ok(id) = ApiKeyId::parse(id) else {
        return Ok(None);
    };
    let key = app.store.get_api_key(&caller.issuer_id, &id).await?;
    Ok(key.filter(ApiKey::is_active))
}

/// 409: the key's secret was made or answered moments ago (its send may still be running, or be
/// answered as this one comes), or changed by another send at this moment.
fn in_use(wait: chrono::Duration) -> ApiError {
    let secs = wait.num_seconds().max(1);
    ApiError::conflict(
        "idempotency_key_in_use",
        format!("the API key this Idempotency-Key made got its secret moments ago (an earlier send of this request may still be answering); if no answer with it reached you, send the request again in {secs} seconds"),
    )
    .ko(format!("이 Idempotency-Key로 만든 API 키의 비밀값이 방금 만들어졌습니다(같은 요청의 앞선 전송이 아직 응답 중일 수 있습니다). 그 응답을 받지 못했다면 {secs}초 뒤에 다시 보내세요."))
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
    // Read again when a create sent again gave the key a new secret between the read and the
    // write (its look-up item is another one then).
    for _ in 0..3 {
        let key = app
            .store
            .get_api_key(&caller.issuer_id, &id)
            .await?
            .ok_or_else(|| ApiError::not_found("API key"))?;
        if app.store.revoke_api_key(&key, chrono::Utc::now()).await? {
            tracing::info!("API key revoked");
            return Ok(StatusCode::NO_CONTENT);
        }
    }
    Err(crate::store::StoreError::Throttled.into())
}
