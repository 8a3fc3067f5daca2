//! Outbound webhooks (Standard Webhooks): the facts of the table's stream become deliveries, one
//! per fact and subscribed endpoint, and each delivery's attempts are made by the webhooks
//! function (see ARCHITECTURE.md, "Webhooks").
//!
//! - [`enqueue`] (in notify, on its stream batch; [`enqueue_with`] in a due bucket's run, whose
//!   `award.expired` facts share one [`Endpoints`]): facts → for each issuer with facts, its
//!   endpoints (one Query) → a delivery per subscribed endpoint (a conditional put; its id is
//!   derived from the fact, so a redelivered record makes nothing new) → one SQS message each.
//! - [`send::handle_event`] (the webhooks function): an SQS batch of first attempts (and manual
//!   retries), or a retry schedule; see [`send`].
//! - [`test_event`] and [`retry`]: the API's "send a test event" and "retry this delivery".

pub mod facts;
pub mod send;

use crate::{
    app::App,
    domain::{
        award::Award,
        batch::Batch,
        ids::IssuerId,
        webhook::{body, Delivery, DeliveryState, EventType, Webhook},
    },
    store::StoreError,
};
use chrono::{DateTime, Utc};
use facts::{Fact, Subject};
use serde_json::{json, Value};
use std::{
    collections::{BTreeMap, HashMap},
    sync::{Arc, Mutex},
};
use tokio::sync::OnceCell;

/// An SQS message: which delivery to attempt (now), with its tenant (the issuer), and the
/// attempts it has had (a copy of the message, or a second copy queued by a retried stream
/// batch, finds that attempt made and sends nothing).
pub fn message(d: &Delivery) -> (String, String) {
    let body = json!({
        "issuer_id": d.issuer_id,
        "webhook_id": d.webhook_id,
        "message_id": d.id,
        "attempt": d.attempts,
    });
    (d.issuer_id.to_string(), body.to_string())
}

/// Deliveries for the facts of a stream batch. Answers the sequence numbers of records whose
/// deliveries could not all be made and queued (the batch's failed items: Lambda retries from
/// the first, and everything done already is found done).
pub async fn enqueue(app: &App, facts: Vec<Fact>) -> Vec<String> {
    enqueue_with(app, &Endpoints::default(), facts).await
}

/// The webhook endpoints of each issuer, read once (one consistent Query) for as long as this
/// lives: one stream batch, or one run of a due bucket, whose `award.expired` events all happened
/// before the run began. Callers that miss together wait for the one read.
#[derive(Default)]
pub struct Endpoints(Mutex<HashMap<IssuerId, Read>>);

/// One issuer's endpoints, read once.
type Read = Arc<OnceCell<Vec<Webhook>>>;

impl Endpoints {
    async fn of(&self, app: &App, issuer: &IssuerId) -> Result<Vec<Webhook>, StoreError> {
        let cell = {
            let mut cells = self.0.lock().unwrap_or_else(|e| e.into_inner());
            Arc::clone(cells.entry(issuer.clone()).or_default())
        };
        let read = || app.store.webhooks_of(issuer);
        cell.get_or_try_init(read).await.cloned()
    }
}

/// [`enqueue`], with the endpoints read through `endpoints`.
pub async fn enqueue_with(app: &App, endpoints: &Endpoints, facts: Vec<Fact>) -> Vec<String> {
    let mut by_issuer: BTreeMap<IssuerId, Vec<Fact>> = BTreeMap::new();
    for f in facts {
        by_issuer.entry(f.issuer.clone()).or_default().push(f);
    }
    let mut failed = Vec::new();
    for (issuer, facts) in by_issuer {
        if let Err(e) = enqueue_issuer(app, endpoints, &issuer, &facts).await {
            tracing::warn!(%issuer, error = %e, "webhook deliveries not queued; the records will be retried");
            failed.extend(facts.into_iter().map(|f| f.seq));
        }
    }
    failed
}

async fn enqueue_issuer(
    app: &App,
    endpoints: &Endpoints,
    issuer: &IssuerId,
    facts: &[Fact],
) -> Result<(), String> {
    let endpoints = endpoints.of(app, issuer).await.map_err(|e| e.to_string())?;
    if endpoints.is_empty() {
        return Ok(());
    }
    let mut messages = Vec::new();
    for fact in facts {
        let wanted: Vec<&Webhook> = endpoints.iter().filter(|w| w.wants(fact.kind)).collect();
        if wanted.is_empty() {
            continue;
        }
        let Some((at, data)) = data_of(app, fact).await.map_err(|e| e.to_string())? else {
            continue;
        };
        let body = body(fact.kind, at, &data);
        for w in wanted {
            let d = new_delivery(w, fact.kind, &fact.key, body.clone());
            messages.extend(create_or_find(app, d).await.map_err(|e| e.to_string())?);
        }
    }
    app.queue.send_all(&messages).await
}

/// Makes the delivery, or finds it made: answers the message to queue when it still waits for
/// its first attempt (a retried record whose message was lost queues it again).
async fn create_or_find(app: &App, d: Delivery) -> Result<Option<(String, String)>, StoreError> {
    if app.store.create_delivery(&d).await? {
        return Ok(Some(message(&d)));
    }
    let existing = app.store.delivery(&d.webhook_id, &d.id).await?;
    Ok(existing
        .filter(|e| e.state == DeliveryState::Pending && e.attempts == 0)
        .map(|e| message(&e)))
}

fn new_delivery(w: &Webhook, kind: EventType, key: &str, body: String) -> Delivery {
    Delivery {
        id: w.message_id(key),
        webhook_id: w.id.clone(),
        issuer_id: w.issuer_id.clone(),
        event_type: kind,
        body,
        created_at: Utc::now(),
        state: DeliveryState::Pending,
        attempts: 0,
        claim_ends: None,
        next_attempt_at: None,
        last: None,
    }
}

/// The event's time and `data`; `None` when what it is about is gone.
async fn data_of(app: &App, fact: &Fact) -> Result<Option<(DateTime<Utc>, Value)>, StoreError> {
    match &fact.subject {
        // Consistent: the fact comes from the write's stream record, a moment after it.
        Subject::Award(id) => Ok(app
            .store
            .get_award_consistent(id)
            .await?
            .map(|a| award_event(app, fact, &a))),
        Subject::Read(a) => Ok(Some(award_event(app, fact, a))),
        // The record's time: `updated_at` moves with any later write to the batch.
        Subject::Batch(id) => Ok(app
            .store
            .get_batch(id)
            .await?
            .map(|b| (fact.at.unwrap_or(b.updated_at), batch_data(&b)))),
    }
}

/// An award fact's time and `data`.
fn award_event(app: &App, fact: &Fact, a: &Award) -> (DateTime<Utc>, Value) {
    let at = match (fact.kind, &a.revocation, a.expires_on) {
        (EventType::AwardRevoked, Some(r), _) => r.at,
        (EventType::AwardIssued | EventType::AwardReissued, ..) => a.created_at,
        (EventType::AwardExpired, _, Some(on)) => on,
        // A view, a share, an email event: when its stream record was made.
        _ => fact.at.unwrap_or_else(Utc::now),
    };
    let mut data = award_data(app, a);
    if let (Some(extra), Some(map)) = (fact.extra.as_object(), data.as_object_mut()) {
        map.extend(extra.clone());
    }
    (at, data)
}

/// What a receiver needs about an award: ids, the recipient (as the API gives it to the issuer),
/// dates, status and links. Never the unsubscribe token or the evidence.
fn award_data(app: &App, a: &Award) -> Value {
    let urls = app.urls();
    json!({
        "award_id": a.id,
        "issuer_id": a.issuer_id,
        "template_id": a.template_id,
        "batch_id": a.batch_id,
        "external_id": a.external_id,
        "recipient": { "email": a.recipient.email.as_str(), "name": a.recipient.name },
        "issued_on": a.issued_on,
        "expires_on": a.expires_on,
        "revocation": a.revocation.as_ref().map(|r| json!({ "reason": r.reason, "at": r.at })),
        "replaces": a.supersedes,
        "replaced_by": a.superseded_by,
        "urls": {
            "badge_page": urls.award_page(&a.id),
            "assertion": urls.award_json(&a.id),
        },
    })
}

fn batch_data(b: &Batch) -> Value {
    json!({
        "batch_id": b.id,
        "issuer_id": b.issuer_id,
        "template_id": b.template_id,
        "filename": b.filename,
        "status": b.status,
        "failure_reason": b.failure_reason,
        "counts": b.counts.public(),
        "report_available": b.report_key.is_some(),
    })
}

/// `POST /v1/webhooks/{id}/test`: a `webhook.test` delivery to this endpoint, queued.
pub async fn test_event(app: &App, w: &Webhook) -> Result<Delivery, String> {
    let now = Utc::now();
    let data = json!({
        "webhook_id": w.id,
        "issuer_id": w.issuer_id,
        "message": "A test event from Accolade. Verify its signature as you will verify every event.",
    });
    let key = format!("webhook.test:{}", crate::domain::ids::random_token());
    let d = new_delivery(w, EventType::Test, &key, body(EventType::Test, now, &data));
    app.store
        .create_delivery(&d)
        .await
        .map_err(|e| e.to_string())?;
    app.queue.send_all(&[message(&d)]).await?;
    Ok(d)
}

/// `POST …/deliveries/{id}/retry`: one more attempt, now (a finished delivery, or one waiting
/// for its next retry, which that attempt replaces). False while an attempt is in flight.
pub async fn retry(app: &App, d: &Delivery) -> Result<bool, String> {
    if !app
        .store
        .reopen_delivery(d, Utc::now())
        .await
        .map_err(|e| e.to_string())?
    {
        return Ok(false);
    }
    app.queue.send_all(&[message(d)]).await?;
    Ok(true)
}
