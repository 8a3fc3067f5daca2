//! One provider request for up to 100 messages of one issuer and stage: each message claimed
//! just before it (a claim made at the real time, so a retried invocation never mistakes a live
//! claim for a dead one), and marked after it by what the provider answered.

use super::{Context, Item, Ready};
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

/// Claims the messages of `chunk` not sent yet: the ones this invocation may send.
pub async fn claim(
    app: &App,
    chunk: Vec<Item>,
    stage: Stage,
    now: DateTime<Utc>,
) -> Result<Vec<Item>, NotifyError> {
    let mut claimed = Vec::with_capacity(chunk.len());
    for item in chunk {
        let at = clock(now);
        if app
            .store
            .claim_email(&item.c.award.id, stage.as_str(), at + CLAIM, at)
            .await?
        {
            claimed.push(item);
        }
    }
    Ok(claimed)
}

/// How a message ended: its state on the award's `EMAIL#{stage}` item, the detail kept there, and
/// the counter it adds (`kakao:{stage}:{sent|failed}`).
struct Ended {
    state: &'static str,
    detail: String,
    counter: &'static str,
}

/// Makes the request for `chunk` (claimed) and marks each message: `sent` with the provider's
/// message id; `rejected` when the provider refused it; `unknown` (never sent again: the
/// provider may have taken it) when no clear answer came. When the provider asks to try later
/// (429, 503) past the retries, the claims are given back and the error returned.
/// What a request sent: the provider's request id, and the messages it took (by index in the
/// chunk).
pub struct Sent {
    pub request_id: String,
    pub taken: Vec<usize>,
}

pub async fn request(
    app: &App,
    ready: &Ready,
    req: messaging::Request,
    chunk: &[Context],
    stage: Stage,
) -> Result<Sent, NotifyError> {
    let mut retry = crate::store::Backoff::over(2..5);
    let answer = loop {
        match post(app, &req).await {
            Ok((status, body)) => match ready.provider.accepted(status, &body, chunk.len()) {
                Err(ProviderError::Retry(why)) => {
                    if !retry.wait().await {
                        release(app, chunk, stage).await?;
                        return Err(NotifyError::Retry(why));
                    }
                }
                other => break other,
            },
            Err(why) => break Err(ProviderError::Unknown(why)),
        }
    };
    let request_id = answer
        .as_ref()
        .map(|a| a.request_id.clone())
        .unwrap_or_default();
    let ended = endings(answer, chunk.len());
    let taken: Vec<usize> = (0..ended.len())
        .filter(|i| ended[*i].state == "sent")
        .collect();
    mark(app, chunk, stage, ended).await?;
    tracing::info!(
        stage = stage.as_str(),
        messages = chunk.len(),
        sent = taken.len(),
        "KakaoTalk/SMS request"
    );
    Ok(Sent { request_id, taken })
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
    for (c, e) in chunk.iter().zip(ended) {
        app.store
            .finish_email(&c.award.id, stage.as_str(), e.state, &e.detail, now)
            .await?;
        let attr = format!("kakao:{name}:{}", e.counter);
        app.store
            .count_activity(&c.award, c.issuer.profile.time_zone, now, &[attr])
            .await?;
    }
    Ok(())
}

/// Gives the claims of `chunk` back (nothing was sent).
pub async fn release(app: &App, chunk: &[Context], stage: Stage) -> Result<(), NotifyError> {
    for c in chunk {
        app.store.release_email(&c.award.id, stage.as_str()).await?;
    }
    Ok(())
}

/// The request made: the answer's status and body, or why none came (the credentials and the
/// message texts are never logged).
pub async fn post(app: &App, req: &messaging::Request) -> Result<(u16, Vec<u8>), String> {
    let url = url::Url::parse(&req.url).map_err(|e| format!("bad provider URL: {e}"))?;
    let headers: Vec<(&str, String)> = req.headers.iter().map(|(k, v)| (*k, v.clone())).collect();
    let answer = app
        .outbound
        .call(
            req.method,
            &url,
            &headers,
            req.body.clone(),
            std::time::Duration::from_secs(10),
            256 * 1024,
        )
        .await
        .map_err(|e| e.to_string())?;
    Ok((answer.status, answer.body))
}
