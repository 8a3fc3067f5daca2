//! The webhooks function: attempts. Its event is an SQS batch of the webhook queue: first
//! attempts (queued by notify and the API) and retries (put there by their Scheduler schedules),
//! so every attempt passes the event source mapping's concurrency cap. Each attempt of a delivery:
//!
//! 1. reads the delivery (consistent) and its endpoint: a delivery no longer waiting, or a
//!    retry of an attempt made already, is done (a claim that ran out — its sender died — is
//!    taken over); an endpoint switched off or removed cancels it;
//! 2. claims the attempt (`attempts` n → n + 1, conditional): one sender per attempt;
//! 3. POSTs the body, signed with every secret that signs now (`webhook-id`,
//!    `webhook-timestamp`, `webhook-signature`), through [`crate::outbound`] (addresses checked,
//!    no redirects, 15 s);
//! 4. records the outcome. A 2xx ends it. Otherwise the next attempt is a one-time Scheduler
//!    schedule ([`retry_after`], or later when a 429 or 503 asked for longer with `Retry-After`,
//!    up to a day: [`asked_wait`]; created before the outcome is recorded, so a crash between them
//!    leaves a schedule that finds the claim expired and tries again), and the endpoint is marked
//!    failing since then; an endpoint failing for [`FAILING_LIMIT`] is switched off and its
//!    admins are emailed once.
//!
//! The clock of the schedule (the retry times, how long the endpoint has been failing) is the
//! time the attempt was due: the schedule's `<aws.scheduler.scheduled-time>` (in the message it
//! queued), or now for a first attempt. `webhook-timestamp` is always the real time of sending, as receivers check it.

use crate::{
    app::App,
    domain::{
        ids::{IssuerId, WebhookId},
        webhook::{
            asked_wait, excerpt, failure_ko, jittered, retry_after, signature, Attempt, Delivery,
            DeliveryState, Webhook, FAILING_LIMIT,
        },
    },
    email::{mime, webhook_disabled},
    events::BoxError,
    outbound::KEEP,
    schedules::not_before_next_minute,
    store::StoreError,
};
use chrono::{DateTime, Utc};
use serde::Deserialize;
use serde_json::{json, Value};
use std::time::Duration;

/// A receiver has this long to answer with a 2xx, connection included (Standard Webhooks
/// recommends 15–30 s; the claim, [`crate::store::webhooks::CLAIM_SECS`], outlasts it).
pub const DEADLINE: Duration = Duration::from_secs(15);

/// One attempt to make.
#[derive(Debug, Clone, Deserialize)]
pub struct Job {
    pub issuer_id: IssuerId,
    pub webhook_id: WebhookId,
    pub message_id: String,
    /// The attempts the delivery had when this message was queued (a first attempt's: 0; a
    /// manual retry's: those it was reopened at; a retry schedule's: those when it was
    /// scheduled). A copy of a message whose attempt was made is stale. Absent in messages
    /// queued before 2026-12-07: due whenever the delivery waits.
    #[serde(default)]
    pub attempt: Option<u32>,
    /// When the attempt was due (Scheduler's scheduled time); unreadable is as absent (now),
    /// never a reason to drop the message.
    #[serde(default, deserialize_with = "lenient_time")]
    pub scheduled_time: Option<DateTime<Utc>>,
}

fn lenient_time<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Option<DateTime<Utc>>, D::Error> {
    let raw = Option::<Value>::deserialize(d)?;
    Ok(raw
        .as_ref()
        .and_then(Value::as_str)
        .and_then(|t| DateTime::parse_from_rfc3339(t).ok())
        .map(|t| t.with_timezone(&Utc)))
}

/// The function's event: `{"Records": [SQS messages]}` → `batchItemFailures` of the messages
/// whose attempt could not be recorded (SQS gives them again after the visibility timeout).
pub async fn handle_event(app: &App, event: Value) -> Result<Value, BoxError> {
    let records = event
        .get("Records")
        .and_then(Value::as_array)
        .ok_or("not an SQS batch")?;
    let runs = records.iter().map(|r| async move {
        let id = r.get("messageId").and_then(Value::as_str).unwrap_or_default();
        let job = r
            .get("body")
            .and_then(Value::as_str)
            .and_then(|b| serde_json::from_str::<Job>(b).ok());
        let Some(job) = job else {
            // Failed, not dropped: after the queue's receive limit it lands in the failure queue,
            // where its alarm and `infra replay-failures` see it.
            tracing::error!(message = id, "unreadable webhook message; left to the failure queue");
            return Some(json!({ "itemIdentifier": id }));
        };
        match attempt(app, &job).await {
            Ok(outcome) => {
                tracing::info!(delivery = %job.message_id, outcome, "webhook attempt");
                None
            }
            Err(e) => {
                tracing::warn!(delivery = %job.message_id, error = %e, "webhook attempt not recorded; SQS will retry");
                Some(json!({ "itemIdentifier": id }))
            }
        }
    });
    // Every message of the batch at once: a slow endpoint holds only its own message.
    let failures: Vec<Value> = futures::future::join_all(runs)
        .await
        .into_iter()
        .flatten()
        .collect();
    Ok(json!({ "batchItemFailures": failures }))
}

/// Makes the job's attempt if it is still due; answers what happened, in a word.
pub async fn attempt(app: &App, job: &Job) -> Result<&'static str, StoreError> {
    let Some(d) = app.store.delivery(&job.webhook_id, &job.message_id).await? else {
        return Ok("no such delivery");
    };
    if d.issuer_id != job.issuer_id {
        return Ok("no such delivery");
    }
    let now = Utc::now();
    // Waiting, and this message is for the attempt it waits for (a retry's message names the
    // attempts it follows; an older one is stale) — or held by a claim that ran out, whatever
    // message finds it (its sender died before scheduling anything).
    let due = match d.state {
        DeliveryState::Pending => job.attempt.is_none_or(|n| n == d.attempts),
        DeliveryState::Sending => d.claim_ends.is_some_and(|t| t < now.timestamp()),
        _ => false,
    };
    if !due {
        return Ok("not due");
    }
    // The endpoint as it is now: switched off, deleted, or no longer subscribed to this event
    // type since the delivery was made (a retry can come days later; a due bucket's run reads the
    // endpoints once), it gets nothing more.
    let endpoint = app.store.webhook(&job.issuer_id, &job.webhook_id).await?;
    let Some(w) = endpoint.filter(|w| w.wants(d.event_type)) else {
        app.store.cancel_delivery(&d).await?;
        return Ok("cancelled: the endpoint is off, gone or no longer subscribed");
    };
    if !app.store.claim_attempt(&d, now).await? {
        return Ok("claimed by another sender");
    }
    let made = post(app, &w, &d).await;
    let clock = job.scheduled_time.unwrap_or_else(Utc::now);
    if made.succeeded() {
        app.store
            .finish_attempt(&d, &made, DeliveryState::Succeeded, None)
            .await?;
        if w.failing_since.is_some() {
            // Lost, this write leaves a stale mark; `still_failing` sees through it.
            app.store.set_failing(&w, None).await?;
        }
        return Ok("delivered");
    }
    Box::pin(after_failure(app, &w, &d, &made, clock)).await
}

/// A failed attempt: the next one scheduled, or the delivery failed; the endpoint switched off
/// when it has failed for [`FAILING_LIMIT`].
async fn after_failure(
    app: &App,
    w: &Webhook,
    d: &Delivery,
    made: &Attempt,
    clock: DateTime<Utc>,
) -> Result<&'static str, StoreError> {
    if made.status_code == Some(410) {
        // Standard Webhooks: "410 Gone … the sender should disable the webhook endpoint".
        app.store
            .finish_attempt(d, made, DeliveryState::Failed, None)
            .await?;
        switch_off(app, w, made).await?;
        return Ok("failed: 410 Gone; the endpoint is switched off");
    }
    if w.failing_since.is_none() {
        app.store.set_failing(w, Some(clock)).await?;
    }
    if still_failing(app, w, clock).await? {
        app.store
            .finish_attempt(d, made, DeliveryState::Failed, None)
            .await?;
        switch_off(app, w, made).await?;
        return Ok("failed; the endpoint is switched off");
    }
    let jitter = f64::from(uuid::Uuid::new_v4().as_bytes()[0]) / 255.0;
    let Some(scheduled) = retry_after(made.number, jitter) else {
        app.store
            .finish_attempt(d, made, DeliveryState::Failed, None)
            .await?;
        return Ok("failed");
    };
    // A receiver that asked for time (429 or 503 with `Retry-After`, up to a day) gets it,
    // counted from its answer (the clock may be a late retry's), with the schedule's jitter.
    let latency = chrono::Duration::milliseconds(i64::try_from(made.latency_ms).unwrap_or(0));
    let asked_until = made
        .asked_wait
        .map(|w| made.at + latency + jittered(w, jitter));
    let due = asked_until.map_or(clock + scheduled, |u| u.max(clock + scheduled));
    // Late (a throttled or retried invocation), the retry is still in the future: Scheduler
    // never fires a one-time schedule created after its time.
    let at = not_before_next_minute(due);
    let input = json!({
        "issuer_id": d.issuer_id,
        "webhook_id": d.webhook_id,
        "message_id": d.id,
        "attempt": made.number,
        "scheduled_time": "<aws.scheduler.scheduled-time>",
    });
    let name = format!("wh-{}-{}", d.id, made.number);
    app.schedules
        .webhook_retry(&name, at, &input, d.issuer_id.as_str())
        .await
        .map_err(StoreError::Aws)?;
    app.store
        .finish_attempt(d, made, DeliveryState::Pending, Some(at))
        .await?;
    Ok("failed; retry scheduled")
}

/// Whether the endpoint has failed every attempt for [`FAILING_LIMIT`] by `clock`. Its mark
/// (`failing_since`) can be stale: the write that clears it after a success lost, or a failure
/// racing a success marked it again. So before switching off, its newest deliveries are read
/// (one Query, only then): one that succeeded since the mark restarts the count from `clock`.
async fn still_failing(app: &App, w: &Webhook, clock: DateTime<Utc>) -> Result<bool, StoreError> {
    let Some(since) = w.failing_since.filter(|t| clock - *t >= FAILING_LIMIT) else {
        return Ok(false);
    };
    let (recent, _) = app.store.deliveries(&w.id, RECENT, None).await?;
    // A success that overlapped the failure which set the mark started before it (the mark is
    // that failure's clock, taken after its request of up to `DEADLINE`).
    let overlap =
        chrono::Duration::from_std(DEADLINE).unwrap_or_default() + chrono::Duration::seconds(5);
    let answered = recent.iter().any(|d| {
        d.state == DeliveryState::Succeeded
            && d.last.as_ref().is_some_and(|a| a.at > since - overlap)
    });
    if answered {
        tracing::info!(webhook = %w.id, %since, "stale failing mark; counted again from now");
        app.store.set_failing(w, None).await?;
        app.store.set_failing(w, Some(clock)).await?;
    }
    Ok(!answered)
}

/// How many of an endpoint's newest deliveries [`still_failing`] reads.
const RECENT: i32 = 50;

/// The request, signed; its outcome as an [`Attempt`] (number: the claimed one).
async fn post(app: &App, w: &Webhook, d: &Delivery) -> Attempt {
    let now = Utc::now();
    let secrets = w.signing_secrets(now);
    let headers = [
        ("webhook-id", d.id.clone()),
        ("webhook-timestamp", now.timestamp().to_string()),
        (
            "webhook-signature",
            signature(&secrets, &d.id, now.timestamp(), &d.body),
        ),
    ];
    let sent = app
        .outbound
        .post(&w.url.url(), &headers, d.body.clone(), DEADLINE)
        .await;
    let mut made = Attempt {
        number: d.attempts + 1,
        at: now,
        status_code: None,
        latency_ms: 0,
        response: String::new(),
        error: None,
        asked_wait: None,
    };
    match sent {
        Ok(answer) => {
            made.status_code = Some(answer.status);
            made.latency_ms = u64::try_from(answer.latency.as_millis()).unwrap_or(u64::MAX);
            made.response = excerpt(&answer.body, KEEP);
            made.asked_wait = asked_wait(answer.status, answer.retry_after.as_deref(), now);
            if (300..400).contains(&answer.status) {
                made.error = Some(format!(
                    "HTTP {}: redirects are not followed",
                    answer.status
                ));
            }
        }
        Err(e) => made.error = Some(e.to_string()),
    }
    made
}

/// Why an endpoint was switched off, as stored (the console says it in Korean too): the
/// receiver's 410, or this prefix and the last attempt's failure.
pub const OFF_GONE: &str = "the receiver answered HTTP 410 Gone";
pub const OFF_FAILING: &str = "every attempt failed for 5 days; last: ";

/// Switches the endpoint off after attempt `last` (a 410, or failing for [`FAILING_LIMIT`]) and,
/// the one time that happens, emails the issuer's admins.
async fn switch_off(app: &App, w: &Webhook, last: &Attempt) -> Result<(), StoreError> {
    let gone = last.status_code == Some(410);
    let why = if gone {
        OFF_GONE.to_owned()
    } else {
        format!("{OFF_FAILING}{}", last.failure())
    };
    if !app.store.disable_webhook(w, &why).await? {
        return Ok(());
    }
    tracing::warn!(webhook = %w.id, issuer = %w.issuer_id, %why, "webhook endpoint switched off");
    let (Some(issuer), Some(sender)) = (
        app.store.get_issuer(&w.issuer_id).await?,
        app.config.sender_email.as_deref(),
    ) else {
        return Ok(());
    };
    let console_url = format!("{}/console/settings/webhooks", app.config.public_base_url);
    let locale = issuer.profile.default_locale;
    let notice = webhook_disabled::Notice {
        issuer_name: &issuer.profile.name,
        url: w.url.as_str(),
        reason: &locale.t(failure_ko(&last.failure()), last.failure()),
        gone,
        console_url: &console_url,
        locale,
    };
    let (subject, text, html) = webhook_disabled::render(&notice);
    for admin in issuer.profile.admins() {
        if app.store.is_suppressed(&admin.lookup_key()).await? {
            continue;
        }
        let raw = mime::build(
            &mime::Message {
                from_name: "Accolade",
                from_address: sender,
                to: admin.as_str(),
                subject: &subject,
                text: &text,
                html: &html,
                headers: vec![("X-Accolade-Webhook", w.id.to_string())],
                message_id_domain: sender.rsplit('@').next().unwrap_or("accolade.invalid"),
            },
            Utc::now(),
        );
        let sent = app
            .mailer
            .send_raw(sender, admin.as_str(), raw, &[("kind", "webhook_disabled")])
            .await;
        if let Err(e) = sent {
            tracing::warn!(webhook = %w.id, error = %e, "switch-off notice not delivered to one admin");
        }
    }
    Ok(())
}
