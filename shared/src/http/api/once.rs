//! A create's `Idempotency-Key` (templates, batches, webhook endpoints, API keys; awards have their own,
//! lasting guards). The same request sent again within 24 hours — its answer lost to a timeout —
//! answers what the first one made, 200, instead of making a second; the key sent with another
//! request is refused (422 `idempotency_key_reused`).

use crate::{
    app::App,
    domain::ids::IssuerId,
    http::{auth::Caller, error::ApiError},
    store::creations::Creation,
};
use axum::http::{HeaderMap, StatusCode};
use serde_json::Value;
use sha2::{Digest, Sha256};

/// What to do with a create.
pub(crate) enum Once {
    /// Make it; with a key, write this record (its `id` named by [`Pending::of`]) beside it.
    Create(Option<Pending>),
    /// The key made this resource already: answer it.
    Made(Creation),
}

/// The record of a key not used yet: what it is for and what the request asked.
pub(crate) struct Pending {
    record: Creation,
    issuer: IssuerId,
}

impl Pending {
    /// The record, naming what the create made.
    pub(crate) fn of(&self, id: impl ToString) -> Creation {
        Creation {
            id: id.to_string(),
            ..self.record.clone()
        }
    }

    /// A create refused by a rule (a webhook endpoint's URL taken): when the key's record has
    /// appeared since the look-up — the first send, still running when this one came (API
    /// Gateway gives up after 30 s, Lambda goes on), made it — what it made.
    pub(crate) async fn made_meanwhile(&self, app: &App) -> Result<Option<Creation>, ApiError> {
        let c = &self.record;
        let now = chrono::Utc::now();
        match app
            .store
            .creation(&self.issuer, &c.kind, &c.key, now)
            .await?
        {
            Some(earlier) => made(&earlier, c).map(|()| Some(earlier)),
            None => Ok(None),
        }
    }
}

/// Looks the request's `Idempotency-Key` up. `kind`: what the route creates (a key is the
/// route's own). `request`: what the request asks for, as parsed (so the same request spelt
/// otherwise is the same), for the fingerprint.
pub(crate) async fn once(
    app: &App,
    caller: &Caller,
    headers: &HeaderMap,
    kind: &str,
    request: &Value,
) -> Result<Once, ApiError> {
    let Some(key) = super::idempotency_key(headers)? else {
        return Ok(Once::Create(None));
    };
    let record = Creation {
        key,
        kind: kind.to_owned(),
        fingerprint: fingerprint(kind, request),
        id: String::new(),
        secret: None,
    };
    let now = chrono::Utc::now();
    let issuer = &caller.issuer_id;
    match app.store.creation(issuer, kind, &record.key, now).await? {
        Some(earlier) => made(&earlier, &record).map(|()| Once::Made(earlier)),
        None => Ok(Once::Create(Some(Pending {
            record,
            issuer: issuer.clone(),
        }))),
    }
}

/// Whether `earlier` was made for the same request as `ours`; else 422.
pub(crate) fn made(earlier: &Creation, ours: &Creation) -> Result<(), ApiError> {
    if earlier.kind == ours.kind && earlier.fingerprint == ours.fingerprint {
        return Ok(());
    }
    let mut e = ApiError::new(
        StatusCode::UNPROCESSABLE_ENTITY,
        "idempotency_key_reused",
        format!(
            "this Idempotency-Key was sent in the last 24 hours with another request, which made {} {}; use a new key for a new request",
            earlier.kind, earlier.id
        ),
    )
    .ko(format!(
        "이 Idempotency-Key는 최근 24시간 안에 다른 요청에 쓰였습니다({} {}). 새 요청에는 새 키를 쓰세요.",
        earlier.kind, earlier.id
    ));
    e.field = Some("Idempotency-Key".into());
    Err(e)
}

/// What the key made is gone since: `(en, ko)` says how (a removed webhook endpoint, a revoked
/// API key).
pub(crate) fn gone(c: &str, id: &str, (en, ko): (&str, &str)) -> ApiError {
    ApiError::conflict(
        "idempotency_key_used",
        format!("the {c} this Idempotency-Key made ({id}) has been {en} since; send the request again with a new key"),
    )
    .ko(format!("이 Idempotency-Key로 만든 {id}는 그 뒤 {ko}. 새 키로 다시 보내세요."))
}

/// sha256 of the kind and the request in canonical JSON (object keys sorted), versioned.
fn fingerprint(kind: &str, request: &Value) -> String {
    let mut h = Sha256::new();
    h.update(b"create.v1|");
    h.update(kind.as_bytes());
    h.update(b"|");
    h.update(canonical(request).as_bytes());
    hex::encode(h.finalize())
}

fn canonical(v: &Value) -> String {
    match v {
        Value::Object(m) => {
            let mut keys: Vec<_> = m.keys().collect();
            keys.sort();
            let fields: Vec<String> = keys
                .into_iter()
                .map(|k| format!("{}:{}", Value::String(k.clone()), canonical(&m[k])))
                .collect();
            format!("{{{}}}", fields.join(","))
        }
        Value::Array(a) => format!(
            "[{}]",
            a.iter().map(canonical).collect::<Vec<_>>().join(",")
        ),
        other => other.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn creation(kind: &str, request: &Value) -> Creation {
        Creation {
            key: "k".into(),
            kind: kind.into(),
            fingerprint: fingerprint(kind, request),
            id: "wh_1".into(),
            secret: None,
        }
    }

    #[test]
    fn the_same_request_in_another_order_is_the_same_and_another_is_refused() {
        let a = json!({"url": "https://x.example/h", "events": ["a", "b"], "enabled": true});
        let b = json!({"enabled": true, "events": ["a", "b"], "url": "https://x.example/h"});
        let earlier = creation("webhook", &a);
        made(&earlier, &creation("webhook", &b)).unwrap();
        let other = json!({"url": "https://x.example/h", "events": ["b", "a"], "enabled": true});
        let e = made(&earlier, &creation("webhook", &other)).unwrap_err();
        assert_eq!(e.code, "idempotency_key_reused");
        assert_eq!(e.field.as_deref(), Some("Idempotency-Key"));
        let e = made(&earlier, &creation("template", &a)).unwrap_err();
        assert!(e.message.contains("webhook wh_1"), "{}", e.message);
    }
}
