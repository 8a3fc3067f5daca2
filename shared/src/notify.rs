//! Emails (the notify Lambda).
//!
//! - DynamoDB stream: every inserted award (API or CSV) with `notify` gets its day-1 email, exactly
//!   once: the stage is claimed with a conditional write before sending and marked `sent` after,
//!   so duplicated stream records and retries send nothing twice. A throttled send gives the
//!   claim back and reports the record as failed (the stream retries it); a permanent rejection
//!   is recorded and not retried. Suppressed addresses get nothing.
//! - Scheduler (day 3, day 7, expiry reminders) is not built yet (issue #6): such invocations are
//!   logged.

use crate::{
    app::App,
    domain::ids::AwardId,
    email::{day1, mime},
    entry::BoxError,
    mailer::SendError,
    store::StoreError,
};
use chrono::Utc;
use serde_json::{json, Value};

/// How long a claimed stage stays claimed if the sender dies before marking it.
const CLAIM: chrono::Duration = chrono::Duration::minutes(5);

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Sent {
    Sent(String),
    AlreadyHandled,
    NotRequested,
    Suppressed,
    Rejected(String),
    NoSuchAward,
    NoSender,
}

#[derive(Debug, thiserror::Error)]
pub enum NotifyError {
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error("send failed, to be retried: {0}")]
    Retry(String),
}

pub async fn handle_event(app: App, event: Value) -> Result<Value, BoxError> {
    let Some(records) = event.get("Records").and_then(Value::as_array) else {
        tracing::info!(event = %event, "scheduled invocation received; follow-ups are not implemented yet");
        return Ok(Value::Null);
    };
    let mut failures = Vec::new();
    for r in records {
        let inserted_award = r.get("eventName").and_then(Value::as_str) == Some("INSERT")
            && r.pointer("/dynamodb/NewImage/type/S")
                .and_then(Value::as_str)
                == Some("award");
        if !inserted_award {
            continue;
        }
        let Some(id) = r
            .pointer("/dynamodb/NewImage/id/S")
            .and_then(Value::as_str)
            .and_then(|s| AwardId::parse(s).ok())
        else {
            tracing::warn!("award record without a readable id; skipped");
            continue;
        };
        match send_day1(&app, &id).await {
            Ok(outcome) => tracing::info!(award = %id, ?outcome, "day-1 email"),
            Err(e) => {
                tracing::warn!(award = %id, error = %e, "day-1 email failed; the record will be retried");
                if let Some(seq) = r
                    .pointer("/dynamodb/SequenceNumber")
                    .and_then(Value::as_str)
                {
                    failures.push(json!({ "itemIdentifier": seq }));
                }
            }
        }
    }
    Ok(json!({ "batchItemFailures": failures }))
}

/// Sends the day-1 email of one award, at most once.
pub async fn send_day1(app: &App, id: &AwardId) -> Result<Sent, NotifyError> {
    const STAGE: &str = "day1";
    let Some(award) = app.store.get_award(id).await? else {
        return Ok(Sent::NoSuchAward);
    };
    if !award.notify {
        return Ok(Sent::NotRequested);
    }
    let Some(sender) = app.config.sender_email.clone() else {
        tracing::error!("SENDER_EMAIL is not set; no email can be sent");
        return Ok(Sent::NoSender);
    };
    let now = Utc::now();
    if !app.store.claim_email(id, STAGE, now + CLAIM, now).await? {
        return Ok(Sent::AlreadyHandled);
    }
    if app
        .store
        .is_suppressed(&award.recipient.email.lookup_key())
        .await?
    {
        app.store
            .finish_email(
                id,
                STAGE,
                "suppressed",
                "address is on the suppression list",
                now,
            )
            .await?;
        return Ok(Sent::Suppressed);
    }
    let (template, issuer) = match tokio::try_join!(
        app.template_for_page(&award.template_id),
        app.issuer_for_page(&award.issuer_id)
    )? {
        (Some(t), Some(i)) => (t, i),
        _ => {
            app.store
                .finish_email(id, STAGE, "skipped", "template or issuer missing", now)
                .await?;
            return Ok(Sent::NoSuchAward);
        }
    };
    let r = day1::render(&award, &template, &issuer, app.urls());
    let domain = sender
        .rsplit('@')
        .next()
        .unwrap_or("accolade.invalid")
        .to_owned();
    let raw = mime::build(
        &mime::Message {
            from_name: &issuer.profile.name,
            from_address: &sender,
            to: award.recipient.email.as_str(),
            subject: &r.subject,
            text: &r.text,
            html: &r.html,
            headers: vec![
                ("X-Accolade-Award", award.id.to_string()),
                ("X-Accolade-Stage", STAGE.to_owned()),
            ],
            message_id_domain: &domain,
        },
        now,
    );
    let mut attempt = 0;
    loop {
        match app
            .mailer
            .send_raw(&sender, award.recipient.email.as_str(), raw.clone())
            .await
        {
            Ok(message_id) => {
                app.store
                    .finish_email(id, STAGE, "sent", &message_id, Utc::now())
                    .await?;
                return Ok(Sent::Sent(message_id));
            }
            Err(SendError::Rejected(why)) => {
                app.store
                    .finish_email(id, STAGE, "rejected", &why, Utc::now())
                    .await?;
                return Ok(Sent::Rejected(why));
            }
            Err(e @ (SendError::Throttled(_) | SendError::Other(_))) => {
                if attempt >= 3 {
                    app.store.release_email(id, STAGE).await?;
                    return Err(NotifyError::Retry(e.to_string()));
                }
                crate::store::awards::backoff(attempt + 2).await;
                attempt += 1;
            }
        }
    }
}
