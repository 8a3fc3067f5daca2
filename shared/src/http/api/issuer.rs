use crate::{
    app::App,
    domain::{
        issuer::{Issuer, IssuerProfile},
        json::{merge_patch, reject_read_only, Obj},
    },
    http::{
        auth::Caller,
        body::JsonObject,
        error::ApiError,
        etag, if_match,
        versioned::{self, IssuerRecord},
    },
};
use axum::{
    extract::State,
    http::{header, HeaderMap},
    response::IntoResponse,
    Json,
};
use serde_json::{json, Value};

/// Fields of the API's issuer that a PATCH cannot set.
const READ_ONLY: &[&str] = &["id", "did", "version", "created_at", "updated_at", "urls"];

pub fn issuer_json(app: &App, i: &Issuer) -> Value {
    let mut v = serde_json::to_value(&i.profile).unwrap_or_else(|_| json!({}));
    v["id"] = json!(i.id);
    v["version"] = json!(i.version);
    v["created_at"] = json!(i.created_at);
    v["updated_at"] = json!(i.updated_at);
    v["did"] = json!(app.urls().issuer_did(&i.id));
    v["urls"] = json!({
        "open_badges_profile": app.urls().issuer_json(&i.id),
        "did_document": app.urls().did_document(&i.id),
    });
    v
}

#[tracing::instrument(skip_all, fields(issuer = %caller.issuer_id))]
pub async fn get_issuer(
    State(app): State<App>,
    caller: Caller,
) -> Result<impl IntoResponse, ApiError> {
    let i = caller.issuer(&app).await?;
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
    caller.require_admin("change the issuer's settings")?;
    reject_read_only(&patch, READ_ONLY)?;
    let expected = if_match(&headers)?;
    let patch = Value::Object(patch);
    let record = IssuerRecord {
        app: &app,
        issuer: &caller.issuer_id,
    };
    let patch = &patch;
    let next = versioned::update(
        &record,
        expected.as_deref(),
        |mut issuer: Issuer| async move {
            let mut doc =
                serde_json::to_value(&issuer.profile).map_err(|_| ApiError::internal())?;
            merge_patch(&mut doc, patch);
            let obj = doc.as_object().cloned().unwrap_or_default();
            issuer.profile = IssuerProfile::parse(&Obj::root(&obj))?;
            Ok(Some(issuer))
        },
    )
    .await?;
    Ok((
        [(header::ETAG, etag(next.version))],
        Json(issuer_json(&app, &next)),
    ))
}

/// `?retire_previous=true` on a rotation.
#[derive(Debug, Default, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RotateQuery {
    #[serde(default)]
    retire_previous: bool,
}

/// `POST /v1/issuer/signing-keys/rotate`: a new Ed25519 key joins the DID document and signs
/// credentials from `signs_from` (two minutes on, once verifiers' cached copies list it); the
/// old keys stay in the DID document, so credentials signed with them keep verifying — unless
/// `?retire_previous=true` (a suspected leak): then they leave it, the new key signs at once, and
/// each credential they signed is signed again with the new key when next asked for.
#[tracing::instrument(skip_all, fields(issuer = %caller.issuer_id))]
pub async fn rotate_signing_key(
    State(app): State<App>,
    caller: Caller,
    crate::http::query::ApiQuery(q): crate::http::query::ApiQuery<RotateQuery>,
) -> Result<impl IntoResponse, ApiError> {
    caller.require_admin("rotate the issuer's signing key")?;
    let rotated = crate::credentials::rotate_key(&app, &caller.issuer_id, q.retire_previous)
        .await
        .map_err(|e| {
            tracing::error!(error = %e, "key rotation failed");
            ApiError::new(
                axum::http::StatusCode::SERVICE_UNAVAILABLE,
                "unavailable",
                "the signing key could not be rotated just now; retry",
            )
        })?;
    let urls = app.urls();
    let n = rotated.key;
    Ok((
        axum::http::StatusCode::CREATED,
        Json(json!({
            "key": n.fragment(),
            "verification_method": crate::ob3::verification_method(&urls, &caller.issuer_id, n),
            "did": urls.issuer_did(&caller.issuer_id),
            "signs_from": rotated.signs_from.to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
            "retired": rotated.retired.iter().map(|k| k.fragment()).collect::<Vec<_>>(),
        })),
    ))
}
