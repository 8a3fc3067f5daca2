//! `/v1/webhooks`: an issuer's endpoints (admin keys only: they receive recipients' addresses),
//! their deliveries, test events, manual retries and secret rotation. Another issuer's endpoint
//! or delivery is a 404, as everywhere.

use super::once::{self, once, Once};
use crate::{
    app::App,
    domain::{
        ids::WebhookId,
        json::{merge_patch, Obj},
        webhook::{Delivery, Webhook, WebhookSpec},
    },
    http::{
        auth::Caller,
        body::JsonObject,
        error::ApiError,
        query::{ApiQuery, NoParams},
        PageQuery,
    },
    store::{creations::Creation, StoreError},
};
use axum::{
    extract::{Path, State},
    http::StatusCode,
    response::IntoResponse,
    Json,
};
use chrono::Utc;
use serde_json::{json, Value};

/// At most this many endpoints per issuer (each event is one delivery per endpoint).
pub const MAX_ENDPOINTS: usize = 20;

const WHAT: &str = "manage webhooks";

pub fn webhook_json(w: &Webhook) -> Value {
    json!({
        "id": w.id,
        "url": w.url.as_str(),
        "events": w.events,
        "description": w.description,
        "enabled": w.enabled,
        "disabled_reason": w.disabled_reason,
        "failing_since": w.failing_since,
        "secret_fingerprint": w.secret_fingerprint(),
        "created_at": w.created_at,
        "version": w.version,
    })
}

pub fn delivery_json(d: &Delivery) -> Value {
    json!({
        "id": d.id,
        "webhook_id": d.webhook_id,
        "event_type": d.event_type,
        "event": serde_json::from_str::<Value>(&d.body).unwrap_or(Value::Null),
        "state": d.state,
        "attempts": d.attempts,
        "created_at": d.created_at,
        "next_attempt_at": d.next_attempt_at,
        "last_attempt": d.last,
    })
}

/// The caller's endpoint, or 404 (also for a malformed id and another issuer's endpoint); 403
/// first for a key that may not manage webhooks.
async fn found(app: &App, caller: &Caller, id: &str) -> Result<Webhook, ApiError> {
    caller.require_admin(WHAT)?;
    let id = WebhookId::parse(id).map_err(|_| ApiError::not_found("webhook"))?;
    app.store
        .webhook(&caller.issuer_id, &id)
        .await?
        .ok_or_else(|| ApiError::not_found("webhook"))
}

/// Creates an endpoint and answers its signing secret (shown here and on a rotation only). With
/// an `Idempotency-Key`, the same request sent again within 24 hours answers the same endpoint
/// and secret, 200 (without one it is refused as `webhook_exists`: the secret would be lost).
#[tracing::instrument(skip_all, fields(issuer = %caller.issuer_id))]
pub async fn create(
    State(app): State<App>,
    caller: Caller,
    headers: axum::http::HeaderMap,
    JsonObject(body): JsonObject,
) -> Result<axum::response::Response, ApiError> {
    caller.require_admin(WHAT)?;
    let spec = WebhookSpec::parse(&Obj::root(&body), &app.config.webhook_allowed_hosts)?;
    let asked = json!({"url": spec.url.as_str(), "events": spec.events,
        "description": spec.description, "enabled": spec.enabled});
    let pending = match once(&app, &caller, &headers, "webhook", &asked).await? {
        Once::Made(earlier) => return made_before(&app, &caller, &earlier).await,
        Once::Create(pending) => pending,
    };
    if let Err(refused) = room_for(&app, &caller, &spec).await {
        return match &pending {
            Some(p) => match p.made_meanwhile(&app).await? {
                Some(earlier) => made_before(&app, &caller, &earlier).await,
                None => Err(refused),
            },
            None => Err(refused),
        };
    }
    let w = Webhook::new(caller.issuer_id.clone(), spec, Utc::now());
    let record = pending.map(|p| Creation {
        secret: w.secret_digest(),
        ..p.of(&w.id)
    });
    if let Some(earlier) = app.store.create_webhook(&w, record.as_ref()).await? {
        once::made(&earlier, record.as_ref().unwrap_or(&earlier))?;
        return made_before(&app, &caller, &earlier).await;
    }
    tracing::info!(webhook = %w.id, "webhook endpoint created");
    Ok((StatusCode::CREATED, Json(with_secret(&w))).into_response())
}

/// An issuer has at most [`MAX_ENDPOINTS`] endpoints, one per URL: a create sent twice (a
/// reloaded console page, a client's retry) would make a second endpoint whose copies of every
/// event carry other ids and another secret.
async fn room_for(app: &App, caller: &Caller, spec: &WebhookSpec) -> Result<(), ApiError> {
    let existing = app.store.webhooks_of(&caller.issuer_id).await?;
    if let Some(same) = existing.iter().find(|w| w.url == spec.url) {
        let mut e = ApiError::conflict(
            "webhook_exists",
            format!(
                "endpoint {} already receives at this URL; change its events with PATCH /v1/webhooks/{}",
                same.id, same.id
            ),
        )
        .ko("이 URL로 받는 엔드포인트가 이미 있습니다. 그 엔드포인트의 이벤트를 수정하세요.");
        e.field = Some("url".into());
        return Err(e);
    }
    if existing.len() >= MAX_ENDPOINTS {
        return Err(ApiError::new(
            StatusCode::UNPROCESSABLE_ENTITY,
            "too_many_webhooks",
            format!("an issuer has at most {MAX_ENDPOINTS} webhook endpoints; remove one first"),
        )
        .ko(format!(
            "웹훅 엔드포인트는 {MAX_ENDPOINTS}개까지 만들 수 있습니다. 먼저 하나를 지우세요."
        )));
    }
    Ok(())
}

/// The endpoint and its current secret.
fn with_secret(w: &Webhook) -> Value {
    let mut v = webhook_json(w);
    v["secret"] = json!(w.secrets[0].secret.expose());
    v
}

/// The answer to a create sent again: the endpoint its key made, with the secret it was made
/// with — while that is still its secret (a rotation's secret is shown by the rotation only).
async fn made_before(
    app: &App,
    caller: &Caller,
    earlier: &Creation,
) -> Result<axum::response::Response, ApiError> {
    let id = &earlier.id;
    let w = found(app, caller, id).await.map_err(|e| match e.status {
        StatusCode::NOT_FOUND => once::gone("webhook endpoint", id, ("removed", "삭제되었습니다")),
        _ => e,
    })?;
    if earlier.secret.is_some() && w.secret_digest() != earlier.secret {
        return Err(ApiError::conflict(
            "idempotency_key_used",
            format!("the webhook endpoint this Idempotency-Key made ({id}) has had its secret rotated since; a rotation's secret is shown by the rotation only"),
        )
        .ko(format!("이 Idempotency-Key로 만든 엔드포인트 {id}의 서명 비밀값은 그 뒤 교체되었습니다. 새 비밀값은 교체할 때만 보여 줍니다.")));
    }
    Ok(Json(with_secret(&w)).into_response())
}

pub async fn list(
    State(app): State<App>,
    caller: Caller,
    _: ApiQuery<NoParams>,
) -> Result<impl IntoResponse, ApiError> {
    caller.require_admin(WHAT)?;
    let all = app.store.webhooks_of(&caller.issuer_id).await?;
    Ok(Json(super::list_json(
        all.iter().map(webhook_json).collect(),
        None,
    )))
}

pub async fn get_one(
    State(app): State<App>,
    caller: Caller,
    Path(id): Path<String>,
) -> Result<impl IntoResponse, ApiError> {
    Ok(Json(webhook_json(&found(&app, &caller, &id).await?)))
}

/// What an edit did to the endpoint it read.
enum Edited<T> {
    /// Changed it: save.
    Changed(T),
    /// Nothing to change (a request repeated): nothing is written.
    Unchanged(T),
}

/// An edit: read, change, save at the version read; a concurrent change means read again.
async fn edit<T>(
    app: &App,
    caller: &Caller,
    id: &str,
    change: impl Fn(&mut Webhook) -> Result<Edited<T>, ApiError>,
) -> Result<(Webhook, T), ApiError> {
    for _ in 0..8 {
        let mut w = found(app, caller, id).await?;
        let out = match change(&mut w)? {
            Edited::Changed(out) => out,
            Edited::Unchanged(out) => return Ok((w, out)),
        };
        w.version += 1;
        match app.store.update_webhook(&w).await {
            Ok(()) => return Ok((w, out)),
            Err(StoreError::VersionConflict { .. }) => {}
            Err(e) => return Err(e.into()),
        }
    }
    Err(ApiError::from(StoreError::Throttled))
}

/// JSON merge patch of `url`, `events`, `description`, `enabled`.
#[tracing::instrument(skip_all, fields(issuer = %caller.issuer_id, webhook = %id))]
pub async fn patch(
    State(app): State<App>,
    caller: Caller,
    Path(id): Path<String>,
    JsonObject(patch): JsonObject,
) -> Result<impl IntoResponse, ApiError> {
    let patch = Value::Object(patch);
    let allowed = app.config.webhook_allowed_hosts.clone();
    let (w, ()) = edit(&app, &caller, &id, |w| {
        let mut doc = w.spec_json();
        merge_patch(&mut doc, &patch);
        let obj = doc.as_object().cloned().unwrap_or_default();
        let before = w.clone();
        w.apply(WebhookSpec::parse(&Obj::root(&obj), &allowed)?);
        // A PATCH that changes nothing writes nothing (its version stays).
        Ok(match *w == before {
            true => Edited::Unchanged(()),
            false => Edited::Changed(()),
        })
    })
    .await?;
    Ok(Json(webhook_json(&w)))
}

#[tracing::instrument(skip_all, fields(issuer = %caller.issuer_id, webhook = %id))]
pub async fn delete(
    State(app): State<App>,
    caller: Caller,
    Path(id): Path<String>,
) -> Result<impl IntoResponse, ApiError> {
    let w = found(&app, &caller, &id).await?;
    app.store.delete_webhook(&w.issuer_id, &w.id).await?;
    tracing::info!("webhook endpoint removed");
    Ok(StatusCode::NO_CONTENT)
}

/// A new secret; the previous one keeps signing beside it for 24 hours. With an
/// `Idempotency-Key`, the same request sent again (its answer lost) gets the same secret
/// instead of a second rotation, which would end the previous secret at once.
#[tracing::instrument(skip_all, fields(issuer = %caller.issuer_id, webhook = %id))]
pub async fn rotate_secret(
    State(app): State<App>,
    caller: Caller,
    Path(id): Path<String>,
    headers: axum::http::HeaderMap,
) -> Result<impl IntoResponse, ApiError> {
    let key = super::idempotency_key(&headers)?;
    let now = Utc::now();
    let (w, secret) = edit(&app, &caller, &id, |w| {
        match key.as_deref().and_then(|k| w.rotated_with(k, now)) {
            Some(made) => Ok(Edited::Unchanged(made.clone())),
            None => Ok(Edited::Changed(w.rotate(now, key.clone()))),
        }
    })
    .await?;
    let mut v = webhook_json(&w);
    v["secret"] = json!(secret.expose());
    v["previous_secret_expires_at"] = json!(w.secrets.get(1).and_then(|s| s.retires_at));
    Ok(Json(v))
}

/// Queues a `webhook.test` event to this endpoint; its delivery shows how it went.
#[tracing::instrument(skip_all, fields(issuer = %caller.issuer_id, webhook = %id))]
pub async fn test(
    State(app): State<App>,
    caller: Caller,
    Path(id): Path<String>,
) -> Result<impl IntoResponse, ApiError> {
    let w = found(&app, &caller, &id).await?;
    if !w.enabled {
        return Err(ApiError::conflict(
            "webhook_disabled",
            "this endpoint is switched off; switch it on (PATCH enabled: true) to send to it",
        )
        .ko("이 엔드포인트는 꺼져 있습니다. 켠 뒤에 보내세요."));
    }
    let d = crate::webhooks::test_event(&app, &w)
        .await
        .map_err(queue_failed)?;
    Ok((StatusCode::ACCEPTED, Json(delivery_json(&d))))
}

fn queue_failed(e: String) -> ApiError {
    tracing::error!(error = %e, "webhook delivery not queued");
    ApiError::new(
        StatusCode::SERVICE_UNAVAILABLE,
        "queue_unavailable",
        "the delivery could not be queued; retry shortly",
    )
    .ko("지금은 전송을 대기열에 넣지 못했습니다. 잠시 후 다시 시도하세요.")
}

/// The endpoint's deliveries, newest first.
pub async fn deliveries(
    State(app): State<App>,
    caller: Caller,
    Path(id): Path<String>,
    ApiQuery(q): ApiQuery<PageQuery>,
) -> Result<impl IntoResponse, ApiError> {
    let w = found(&app, &caller, &id).await?;
    let (items, next) = app.store.deliveries(&w.id, q.limit()?, q.cursor()).await?;
    Ok(Json(super::list_json(
        items.iter().map(delivery_json).collect(),
        next,
    )))
}

/// One more attempt, now: of a finished delivery (succeeded, failed or cancelled) or of one
/// waiting for its next retry.
#[tracing::instrument(skip_all, fields(issuer = %caller.issuer_id, webhook = %id))]
pub async fn retry(
    State(app): State<App>,
    caller: Caller,
    Path((id, delivery)): Path<(String, String)>,
) -> Result<impl IntoResponse, ApiError> {
    let w = found(&app, &caller, &id).await?;
    let well_formed = delivery.len() == 26 && delivery.starts_with("msg_");
    let d = match well_formed {
        true => app.store.delivery(&w.id, &delivery).await?,
        false => None,
    }
    .ok_or_else(|| ApiError::not_found("delivery"))?;
    if !w.enabled {
        return Err(ApiError::conflict(
            "webhook_disabled",
            "this endpoint is switched off; switch it on (PATCH enabled: true) before retrying",
        )
        .ko("이 엔드포인트는 꺼져 있습니다. 켠 뒤에 다시 보내세요."));
    }
    if !crate::webhooks::retry(&app, &d)
        .await
        .map_err(queue_failed)?
    {
        return Err(ApiError::conflict(
            "delivery_in_progress",
            "an attempt of this delivery is in flight; look again in a minute",
        )
        .ko("이 전송을 지금 보내는 중입니다. 1분 뒤에 다시 확인하세요."));
    }
    let d = app.store.delivery(&w.id, &d.id).await?.unwrap_or(d);
    Ok((StatusCode::ACCEPTED, Json(delivery_json(&d))))
}
