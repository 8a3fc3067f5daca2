//! One provider request for up to 100 messages of one issuer and stage: each message claimed
//! just before it (a claim made at the real time, so a retried invocation never mistakes a live
//! claim for a dead one), and marked after it by what the provider answered.

use super::{Context, Item, Ready};
use crate::store::followups::Due;
use crate::{
    app::App,
    domain::followup::Stage,
    messaging::{self, Accepted, ProviderError},
    notify::NotifyError,
};
use chrono::{DateTime, Duration, Utc};

/// How long a claim holds: longer than the notify function's 300-second timeout, so a claim is
/// never taken over while the invocation that made it may still be sending.
const CLAIM: Duration = Duration::minutes(15);

/// The latest of the invocation's `now` (a test's clock, a schedule's time) and the real time:
/// a late run must not believe it is earlier than it is.
pub fn clock(now: DateTime<Utc>) -> DateTime<Utc> {
    now.max(Utc::now())
}

/// Claims the messages of `chunk` not sent yet: the ones this invocation may send; and the due
/// items of the others that are finished (a message another invocation is sending right now
/// keeps its due item: a later run of the bucket finds it finished, or its claim run out; a
/// copy no run comes back for is deleted by its TTL, 30 days after it was due).
pub async fn claim(
    app: &App,
    chunk: Vec<Item>,
    stage: Stage,
    now: DateTime<Utc>,
) -> Result<(Vec<Item>, Vec<Due>), NotifyError> {
    let mut claimed = Vec::with_capacity(chunk.len());
    let mut finished = Vec::new();
    for item in chunk {
        let at = clock(now);
        let id = &item.c.award.id;
        if app
            .store
            .claim_email(id, stage.as_str(), at + CLAIM, at)
            .await?
        {
            claimed.push(item);
        } else if app
            .store
            .email_record(id, stage.as_str())
            .await?
            .is_some_and(|r| r.state != "sending")
        {
            finished.extend(item.due);
        }
    }
    Ok((claimed, finished))
}

/// How a message ended: its state on the award's `EMAIL#{stage}` item, the detail kept there, and
/// the counter it adds (`kakao:{stage}:{sent|failed}`).
struct Ended {
    state: &'static str,
    detail: String,
    counter: &'static str,
}

/// What became of a request.
pub enum Sent {
    /// The provider answered for each message (`n` taken), and each is marked.
    Answered(usize),
    /// The provider refused the request whole as invalid (HTTP 400: one message it would not
    /// take, or all), and the caller asked to be told: nothing is marked, the claims are still
    /// held. (Other refusals — a wrong service id, 404 — are every message's: not split.)
    RefusedWhole,
}

/// Makes the request for `chunk` (claimed) and marks each message: `sent` with the provider's
/// message id; `rejected` when the provider refused it; `unknown` (never sent again: the
/// provider may have taken it) when no clear answer came. When the provider asks to try later
/// (429, 503), refuses the issuer's keys (401, 403: fixed, they work again), or was never
/// reached, past the retries, the claims are given back and the error returned. With `split`,
/// a request refused whole is [`Sent::RefusedWhole`] instead of every message rejected.
pub async fn request(
    app: &App,
    ready: &Ready,
    req: messaging::Request,
    chunk: &[Context],
    stage: Stage,
    now: DateTime<Utc>,
    split: bool,
) -> Result<Sent, NotifyError> {
    let numbers: Vec<String> = chunk.iter().map(|c| c.phone.national()).collect();
    let mut retry = crate::store::Backoff::over(2..5);
    let answer = loop {
        let tried = match super::post(app, &req).await {
            Ok((status, body)) => ready.provider.accepted(status, &body, &numbers),
            Err(e) => Err(e),
        };
        match tried {
            // Throttled, or never reached: nothing was taken.
            Err(ProviderError::Retry(why)) => {
                if !retry.wait().await {
                    release(app, chunk, stage).await?;
                    return Err(NotifyError::Retry(why));
                }
            }
            other => break other,
        }
    };
    if split && matches!(answer, Err(ProviderError::Invalid(_))) {
        return Ok(Sent::RefusedWhole);
    }
    let request_id = answer
        .as_ref()
        .map(|a| a.request_id.clone())
        .unwrap_or_default();
    let ended = endings(answer, chunk.len());
    let taken: Vec<usize> = (0..ended.len())
        .filter(|i| ended[*i].state == "sent")
        .collect();
    // The results are asked for first: a mark that fails half-way still leaves them counted.
    // Past the provider's answer nothing may send these messages again, so neither failure is
    // returned: returned, the issuer's messages would be queued again 15 minutes on, where
    // their claims (unmarked) would have lapsed, and sent a second time. Logged instead; an
    // unmarked message stays `sending` and its due item is done.
    let taken_contexts: Vec<&Context> = taken.iter().map(|i| &chunk[*i]).collect();
    let asked = super::results::ask_later(app, stage, &request_id, &taken_contexts, clock(now));
    if let Err(e) = asked.await {
        tracing::error!(stage = stage.as_str(), request_id, error = %e, "the provider took the messages; their results will not be asked for");
    }
    if let Err(e) = mark(app, chunk, stage, ended).await {
        tracing::error!(stage = stage.as_str(), request_id, error = %e, "the provider took the messages; not all are marked");
    }
    tracing::info!(
        stage = stage.as_str(),
        messages = chunk.len(),
        sent = taken.len(),
        "KakaoTalk/SMS request"
    );
    Ok(Sent::Answered(taken.len()))
}

/// Each message's ending from the provider's answer.
fn endings(answer: Result<Accepted, ProviderError>, n: usize) -> Vec<Ended> {
    let each = |state, detail: String, counter| Ended {
        state,
        detail,
        counter,
    };
    match answer {
        Ok(a) => a
            .messages
            .into_iter()
            .map(|m| match m {
                Ok(id) => each("sent", id.unwrap_or_else(|| a.request_id.clone()), "sent"),
                Err(why) => each("rejected", why, "failed"),
            })
            .collect(),
        Err(ProviderError::Unknown(why)) => (0..n)
            .map(|_| each("unknown", why.clone(), "failed"))
            .collect(),
        Err(e) => (0..n)
            .map(|_| each("rejected", e.to_string(), "failed"))
            .collect(),
    }
}

async fn mark(
    app: &App,
    chunk: &[Context],
    stage: Stage,
    ended: Vec<Ended>,
) -> Result<(), NotifyError> {
    let now = Utc::now();
    let name = stage.as_str().trim_start_matches("kakao-");
    // Every message is marked before any is counted, and one failure stops neither: a message
    // left unmarked stays `sending`, a claim that lapses.
    let mut first_error = None;
    for (c, e) in chunk.iter().zip(&ended) {
        let marked = app
            .store
            .finish_email(&c.award.id, stage.as_str(), e.state, &e.detail, now);
        if let Err(e) = marked.await {
            first_error.get_or_insert(NotifyError::from(e));
        }
    }
    for (c, e) in chunk.iter().zip(&ended) {
        let attr = [format!("kakao:{name}:{}", e.counter)];
        let counted = app.store.count_activity(
            &c.award,
            c.issuer.profile.time_zone,
            now,
            &attr,
            crate::store::Patience::Work,
        );
        if let Err(e) = counted.await {
            first_error.get_or_insert(NotifyError::from(e));
        }
    }
    first_error.map_or(Ok(()), Err)
}

/// Gives the claims of `chunk` back (nothing was sent).
pub async fn release(app: &App, chunk: &[Context], stage: Stage) -> Result<(), NotifyError> {
    for c in chunk {
        app.store.release_email(&c.award.id, stage.as_str()).await?;
    }
    Ok(())
}
