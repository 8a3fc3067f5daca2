use crate::{
    app::App,
    domain::{
        issuer::{Issuer, IssuerProfile},
        json::{merge_patch, reject_read_only, Obj},
    },
    http::{auth::Caller, body::JsonObject, error::ApiError, etag, if_match},
};
use axum::{
    extract::State,
    http::{header, HeaderMap},
    response::IntoResponse,
    Json,
};
use serde_json::{json, Value};

/// Fields of the API's issuer that a PATCH cannot set.
const READ_ONLY: &[&str] = &["id", "version", "created_at", "updated_at", "urls"];

pub fn issuer_json(app: &App, i: &Issuer) -> Value {
    let mut v = serde_json::to_value(&i.profile).unwrap_or_else(|_| json!({}));
    v["id"] = json!(i.id);
    v["version"] = json!(i.version);
    v["created_at"] = json!(i.created_at);
    v["updated_at"] = json!(i.updated_at);
    v["urls"] = json!({ "open_badges_profile": app.urls().issuer_json(&i.id) });
    v
}

async fn load(app: &App, caller: &Caller) -> Result<Issuer, ApiError> {
    app.store
        .get_issuer(&caller.issuer_id)
        .await?
        .ok_or_else(|| ApiError::not_found("issuer"))
}

#[tracing::instrument(skip_all, fields(issuer = %caller.issuer_id))]
pub async fn get_issuer(
    State(app): State<App>,
    caller: Caller,
) -> Result<impl IntoResponse, ApiError> {
    let i = load(&app, &caller).await?;
    Ok((
        [(header::ETAG, etag(i.version))],
        Json(issuer_json(&app, &i)),
    ))
}

#[tracing::instrument(skip_all, fields(issuer = %caller.issuer_id))]
pub async fn patch_issuer(
    State(app): State<App>,
    caller: Caller,
    headers: HeaderMap,
    JsonObject(patch): JsonObject,
) -> Result<impl IntoResponse, ApiError> {
    reject_read_only(&patch, READ_ONLY)?;
    let expected = if_match(&headers)?;
    let patch = Value::Object(patch);
    for _ in 0..5 {
        let current = load(&app, &caller).await?;
        if let Some(v) = expected {
            if v != current.version {
                return Err(crate::store::StoreError::VersionConflict { expected: v }.into());
            }
        }
        let mut doc = serde_json::to_value(&current.profile).map_err(|_| ApiError::internal())?;
        merge_patch(&mut doc, &patch);
        let obj = doc.as_object().cloned().unwrap_or_default();
        let profile = IssuerProfile::parse(&Obj::root(&obj))?;
        let mut next = current.clone();
        next.profile = profile;
        next.version += 1;
        next.updated_at = chrono::Utc::now();
        match app.store.update_issuer(&next).await {
            Ok(()) => {
                app.forget_issuer(&next.id);
                return Ok((
                    [(header::ETAG, etag(next.version))],
                    Json(issuer_json(&app, &next)),
                ));
            }
            Err(crate::store::StoreError::VersionConflict { .. }) if expected.is_none() => continue,
            Err(e) => return Err(e.into()),
        }
    }
    Err(crate::store::StoreError::Throttled.into())
}
