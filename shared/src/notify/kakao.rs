//! KakaoTalk and SMS notifications (the notify function), beside the emails:
//!
//! - Day 1 as AlimTalk, with the provider's SMS fallback. An award issued by the API is sent from
//!   the stream batch that inserted it (its batch's awards grouped per issuer, 100 to a request).
//!   An award issued by CSV waits in its batch's bucket (`batch-{id}` in the `DUE` index) and the
//!   whole file goes when the batch ends, 100 to a request.
//! - Day 3 and day 7 are advertising: SMS/LMS with `contentType: AD`, `(광고)` and a free opt-out,
//!   planned from the day-1 send in hour buckets that never fire between 21:00 and 08:00 in Korea
//!   (a bucket run at night puts its messages off to 08:00). Revoked, opted out (by SMS/KakaoTalk:
//!   apart from email) or, for day 7, already enrolled: nothing.
//! - Exactly once per award and stage, as the emails: claimed (`EMAIL#kakao-day1` items) before
//!   the request, marked `sent` with the provider's message id after; counted on the award as
//!   `kakao:{stage}:{sent|failed}`.

use crate::{
    app::App,
    domain::{
        award::Award,
        followup::{bucket_fires_at, bucket_of, Stage},
        ids::{BatchId, IssuerId},
        issuer::Issuer,
        kakao::{is_night, not_at_night, Credentials, KakaoSettings},
        phone::Phone,
        template::Template,
    },
    messaging::{self, text, Account, Provider, ProviderError},
    notify::{queue_followups, NotifyError, Planned},
    store::followups::Due,
};
use chrono::{DateTime, Duration, Utc};
use serde_json::Value;
use std::{collections::BTreeMap, sync::Arc};

/// The KMS encryption context's purpose of the provider credentials.
pub const PURPOSE: &str = "kakao";

/// How long a claimed stage stays claimed if the sender dies before marking it.
const CLAIM: Duration = Duration::minutes(5);

/// An issuer's provider account, ready to send: its settings and decrypted credentials.
pub struct Ready {
    pub settings: KakaoSettings,
    pub credentials: Credentials,
    pub provider: &'static dyn Provider,
}

/// The issuer's account if KakaoTalk is on and complete; `None` otherwise (logged).
pub async fn account(app: &App, issuer: &IssuerId) -> Result<Option<Ready>, NotifyError> {
    let Some((settings, Some(ciphertext))) = app.store.get_kakao(issuer).await? else {
        return Ok(None);
    };
    let Some(provider) = messaging::provider(&settings.provider).filter(|_| settings.enabled)
    else {
        return Ok(None);
    };
    let plain = app
        .kms
        .decrypt_secret(issuer, PURPOSE, &ciphertext)
        .await
        .map_err(|e| NotifyError::Retry(e.to_string()))?;
    let credentials = serde_json::from_slice(&plain)
        .map_err(|_| NotifyError::Retry("stored KakaoTalk credentials are unreadable".into()))?;
    Ok(Some(Ready {
        settings,
        credentials,
        provider,
    }))
}

/// The bucket of a CSV batch's day-1 messages.
pub fn batch_bucket(b: &BatchId) -> String {
    format!("batch-{b}")
}

/// The hour bucket of a promotional message due at `t`: its own, unless that fires at night;
/// then the one that fires at the next 08:00 in Korea.
pub fn promotion_bucket(t: DateTime<Utc>) -> String {
    let b = bucket_of(t);
    match bucket_fires_at(&b) {
        Some(fires) if is_night(fires) => bucket_of(not_at_night(fires) - Duration::seconds(1)),
        _ => b,
    }
}

/// The KakaoTalk work of a stream batch: day 1 for inserted awards with a phone number, and
/// the day-1 bucket of each CSV batch that ended.
pub async fn on_stream(app: &App, records: &[Value]) -> Result<(), NotifyError> {
    let now = Utc::now();
    for r in records {
        if let Some(b) = ended_batch(r) {
            app.schedules
                .continue_bucket(&batch_bucket(&b), now)
                .await
                .map_err(NotifyError::Retry)?;
        }
    }
    let mut direct = Vec::new();
    let mut queued: Vec<Planned> = Vec::new();
    for id in records.iter().filter_map(inserted_with_phone) {
        let Some(award) = app.store.get_award(&id).await? else {
            continue;
        };
        match &award.batch_id {
            Some(b) => queued.push((
                Due {
                    award: award.id.clone(),
                    stage: Stage::KakaoDay1,
                    bucket: batch_bucket(b),
                },
                now,
            )),
            None => direct.push(award),
        }
    }
    if !queued.is_empty() {
        app.store.put_followups(&queued).await?;
        run_ended_batches(app, &queued, now).await?;
    }
    day1(app, direct, now, None).await.map(|_| ())
}

/// A batch bucket filled after its batch ended (its stream record came first) runs again.
async fn run_ended_batches(
    app: &App,
    queued: &[Planned],
    now: DateTime<Utc>,
) -> Result<(), NotifyError> {
    let mut buckets: Vec<&str> = queued.iter().map(|(d, _)| d.bucket.as_str()).collect();
    buckets.dedup();
    for bucket in buckets {
        let Some(id) = bucket
            .strip_prefix("batch-")
            .and_then(|b| BatchId::parse(b).ok())
        else {
            continue;
        };
        if app
            .store
            .get_batch(&id)
            .await?
            .is_some_and(|b| b.status.is_final())
        {
            app.schedules
                .continue_bucket(bucket, now)
                .await
                .map_err(NotifyError::Retry)?;
        }
    }
    Ok(())
}

/// An inserted award whose recipient has a phone number.
fn inserted_with_phone(r: &Value) -> Option<crate::domain::ids::AwardId> {
    let img = r.pointer("/dynamodb/NewImage")?;
    let ok = r.get("eventName").and_then(Value::as_str) == Some("INSERT")
        && img.pointer("/type/S").and_then(Value::as_str) == Some("award")
        && img.pointer("/recipient/M/phone/S").is_some();
    ok.then(|| img.pointer("/id/S")?.as_str())
        .flatten()
        .and_then(|s| crate::domain::ids::AwardId::parse(s).ok())
}

/// A batch that just ended (completed or failed).
fn ended_batch(r: &Value) -> Option<BatchId> {
    let img = r.pointer("/dynamodb/NewImage")?;
    let ended = r.get("eventName").and_then(Value::as_str) == Some("MODIFY")
        && img.pointer("/type/S").and_then(Value::as_str) == Some("batch")
        && matches!(
            img.pointer("/status/S").and_then(Value::as_str),
            Some("completed" | "failed")
        );
    ended
        .then(|| img.pointer("/id/S")?.as_str())
        .flatten()
        .and_then(|s| BatchId::parse(s).ok())
}

/// What one award's message needs.
#[derive(Clone)]
struct Context {
    award: Award,
    phone: Phone,
    template: Arc<Template>,
    issuer: Arc<Issuer>,
}

impl Context {
    fn to(&self) -> text::To<'_> {
        text::To {
            award: &self.award,
            phone: &self.phone,
            template: &self.template,
            issuer: &self.issuer,
        }
    }
}

async fn context(app: &App, award: Award) -> Result<Option<Context>, NotifyError> {
    let Some(phone) = award.recipient.phone.clone() else {
        return Ok(None);
    };
    let (Some(template), Some(issuer)) = tokio::try_join!(
        app.template_for_page(&award.template_id),
        app.issuer_for_page(&award.issuer_id)
    )?
    else {
        return Ok(None);
    };
    Ok(Some(Context {
        award,
        phone,
        template,
        issuer,
    }))
}

/// Day-1 AlimTalks for `awards` (of any issuers), 100 to a request, and their promotional
/// follow-ups planned. Answers how many were sent. Stops starting requests at `until`.
pub async fn day1(
    app: &App,
    awards: Vec<Award>,
    now: DateTime<Utc>,
    until: Option<DateTime<Utc>>,
) -> Result<usize, NotifyError> {
    let mut sent = 0;
    for (issuer, awards) in by_issuer(awards) {
        let Some(ready) = account(app, &issuer).await? else {
            continue;
        };
        let mut claimed = Vec::new();
        let mut planned = Vec::new();
        for award in awards
            .into_iter()
            .filter(|a| a.notify && a.status(now).is_valid())
        {
            let Some(c) = context(app, award).await? else {
                continue;
            };
            planned.extend(promotions_planned(&c, &ready.settings, now));
            if ready.settings.day1 && claim(app, &c.award, Stage::KakaoDay1, now).await? {
                claimed.push(c);
            }
        }
        for chunk in claimed.chunks(messaging::MAX_PER_REQUEST) {
            if until.is_some_and(|u| Utc::now() >= u) {
                release(app, chunk, Stage::KakaoDay1).await?;
                return Err(NotifyError::Retry("out of time".into()));
            }
            let msgs: Vec<_> = chunk
                .iter()
                .map(|c| text::day1(&c.to(), app.urls()))
                .collect();
            let req = ready
                .provider
                .alimtalk(&account_of(app, &ready), &msgs, now_ms());
            sent += send(app, &ready, req, chunk, Stage::KakaoDay1).await?;
        }
        queue_followups(app, &planned).await?;
    }
    Ok(sent)
}

fn account_of<'a>(app: &'a App, r: &'a Ready) -> Account<'a> {
    Account {
        settings: &r.settings,
        credentials: &r.credentials,
        base_url: &app.config.kakao_api_url,
    }
}

fn now_ms() -> i64 {
    Utc::now().timestamp_millis()
}

/// The day-3 and day-7 messages an award sent its day 1 at `now` is due, if switched on.
fn promotions_planned(c: &Context, s: &KakaoSettings, now: DateTime<Utc>) -> Vec<Planned> {
    let f = &c.template.spec.follow_ups;
    [
        (Stage::KakaoDay3, s.day3 && f.day3, 3),
        (Stage::KakaoDay7, s.day7 && f.day7, 7),
    ]
    .into_iter()
    .filter(|(_, on, _)| *on)
    .map(|(stage, _, days)| {
        let at = now + Duration::days(days);
        let due = Due {
            award: c.award.id.clone(),
            stage,
            bucket: promotion_bucket(at),
        };
        (due, at)
    })
    .collect()
}

fn by_issuer(awards: Vec<Award>) -> BTreeMap<IssuerId, Vec<Award>> {
    let mut m: BTreeMap<IssuerId, Vec<Award>> = BTreeMap::new();
    for a in awards {
        m.entry(a.issuer_id.clone()).or_default().push(a);
    }
    m
}

async fn claim(
    app: &App,
    a: &Award,
    stage: Stage,
    now: DateTime<Utc>,
) -> Result<bool, NotifyError> {
    Ok(app
        .store
        .claim_email(&a.id, stage.as_str(), now + CLAIM, now)
        .await?)
}

async fn release(app: &App, chunk: &[Context], stage: Stage) -> Result<(), NotifyError> {
    for c in chunk {
        app.store.release_email(&c.award.id, stage.as_str()).await?;
    }
    Ok(())
}

/// The stage's name in counters: `day1`, `day3`, `day7`.
fn counter_stage(stage: Stage) -> &'static str {
    stage.as_str().trim_start_matches("kakao-")
}

/// Makes one request for `chunk` (claimed) and marks each message: `sent` with the provider's
/// id; `rejected` when the provider refuses it for good; `unknown` (never sent again) when no
/// answer came; the claims given back when the provider asks to try later.
async fn send(
    app: &App,
    ready: &Ready,
    req: messaging::Request,
    chunk: &[Context],
    stage: Stage,
) -> Result<usize, NotifyError> {
    let mut retry = crate::store::Backoff::over(2..5);
    let outcome = loop {
        let answer = post(app, &req).await;
        match answer.map(|(status, body)| ready.provider.accepted(status, &body, chunk.len())) {
            Ok(Err(ProviderError::Retry(why))) => {
                if !retry.wait().await {
                    release(app, chunk, stage).await?;
                    return Err(NotifyError::Retry(why));
                }
            }
            other => break other,
        }
    };
    let now = Utc::now();
    let (state, details, counter) = match outcome {
        Ok(Ok(a)) => {
            let ids = a
                .message_ids
                .iter()
                .map(|m| m.clone().unwrap_or_else(|| a.request_id.clone()));
            ("sent", ids.collect::<Vec<_>>(), "sent")
        }
        Ok(Err(e)) => ("rejected", vec![e.to_string(); chunk.len()], "failed"),
        Err(why) => ("unknown", vec![why; chunk.len()], "failed"),
    };
    for (c, detail) in chunk.iter().zip(details) {
        app.store
            .finish_email(&c.award.id, stage.as_str(), state, &detail, now)
            .await?;
        let attr = format!("kakao:{}:{counter}", counter_stage(stage));
        app.store
            .count_activity(&c.award, c.issuer.profile.time_zone, now, &[attr])
            .await?;
    }
    tracing::info!(
        stage = stage.as_str(),
        messages = chunk.len(),
        state,
        "KakaoTalk/SMS request"
    );
    Ok(if state == "sent" { chunk.len() } else { 0 })
}

/// The request made: the answer's status and body, or why none came (the credentials and the
/// message texts are never logged).
async fn post(app: &App, req: &messaging::Request) -> Result<(u16, Vec<u8>), String> {
    let url = url::Url::parse(&req.url).map_err(|e| format!("bad provider URL: {e}"))?;
    let headers: Vec<(&str, String)> = req.headers.iter().map(|(k, v)| (*k, v.clone())).collect();
    let answer = app
        .outbound
        .post_keeping(
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

/// The KakaoTalk items of a due bucket: a CSV batch's day-1 messages, or promotional messages
/// (put off to 08:00 when the bucket runs at night). Handled items leave the index.
pub async fn handle_due(
    app: &App,
    due: &[Due],
    now: DateTime<Utc>,
    until: Option<DateTime<Utc>>,
) -> Result<BTreeMap<String, u64>, NotifyError> {
    let mut outcomes = BTreeMap::new();
    let (day1s, promos): (Vec<&Due>, Vec<&Due>) =
        due.iter().partition(|d| d.stage == Stage::KakaoDay1);
    if !day1s.is_empty() {
        let awards = awards_of(app, &day1s).await?;
        let n = day1(app, awards, now, until).await?;
        outcomes.insert("kakao day 1 sent".into(), n as u64);
        done(app, &day1s).await?;
    }
    if promos.is_empty() {
        return Ok(outcomes);
    }
    if is_night(now) {
        // The bucket of the hour before 08:00 fires at 08:00.
        let later = not_at_night(now);
        let bucket = bucket_of(later - Duration::seconds(1));
        let moved: Vec<Planned> = promos
            .iter()
            .map(|d| {
                (
                    Due {
                        bucket: bucket.clone(),
                        ..(*d).clone()
                    },
                    later,
                )
            })
            .collect();
        queue_followups(app, &moved).await?;
        outcomes.insert("kakao promotions held to 08:00".into(), moved.len() as u64);
        return Ok(outcomes);
    }
    let n = promotions(app, &promos, now, &mut outcomes).await?;
    outcomes.insert("kakao promotions sent".into(), n as u64);
    done(app, &promos).await?;
    Ok(outcomes)
}

async fn awards_of(app: &App, due: &[&Due]) -> Result<Vec<Award>, NotifyError> {
    let mut out = Vec::with_capacity(due.len());
    for d in due {
        if let Some(a) = app.store.get_award(&d.award).await? {
            out.push(a);
        }
    }
    Ok(out)
}

async fn done(app: &App, due: &[&Due]) -> Result<(), NotifyError> {
    for d in due {
        app.store
            .followup_done(&d.award, d.stage, "handled")
            .await?;
    }
    Ok(())
}

/// The promotional messages still wanted, 100 to a request per issuer and stage.
async fn promotions(
    app: &App,
    due: &[&Due],
    now: DateTime<Utc>,
    outcomes: &mut BTreeMap<String, u64>,
) -> Result<usize, NotifyError> {
    let mut groups: BTreeMap<(IssuerId, &'static str), Vec<(Stage, Award)>> = BTreeMap::new();
    for d in due {
        if let Some(a) = app.store.get_award(&d.award).await? {
            groups
                .entry((a.issuer_id.clone(), d.stage.as_str()))
                .or_default()
                .push((d.stage, a));
        }
    }
    let mut sent = 0;
    for ((issuer, _), list) in groups {
        let Some(ready) = account(app, &issuer).await? else {
            *outcomes
                .entry("not sent: KakaoTalk off".into())
                .or_default() += list.len() as u64;
            continue;
        };
        let mut claimed = Vec::new();
        let mut stage = Stage::KakaoDay3;
        for (s, award) in list {
            stage = s;
            match wanted(app, &ready, award, s, now).await? {
                Ok(c) if claim(app, &c.0.award, s, now).await? => claimed.push(c),
                Ok(_) => *outcomes.entry("already handled".into()).or_default() += 1,
                Err(why) => *outcomes.entry(why.into()).or_default() += 1,
            }
        }
        sent += send_promotions(app, &ready, &claimed, stage).await?;
    }
    Ok(sent)
}

async fn send_promotions(
    app: &App,
    ready: &Ready,
    claimed: &[(Context, Vec<crate::render::badge_page::Recommendation>)],
    stage: Stage,
) -> Result<usize, NotifyError> {
    let mut sent = 0;
    for chunk in claimed.chunks(messaging::MAX_PER_REQUEST) {
        let msgs: Vec<_> = chunk
            .iter()
            .map(|(c, recs)| {
                let opt_out = match &ready.settings.opt_out_number {
                    Some(n) => text::OptOut::Number(n.clone()),
                    None => text::OptOut::Link(opt_out_url(app, &c.award)),
                };
                let s = if stage == Stage::KakaoDay7 {
                    Stage::Day7
                } else {
                    Stage::Day3
                };
                text::promotion(s, &c.to(), app.urls(), recs, &opt_out)
            })
            .collect();
        let req = ready
            .provider
            .promotions(&account_of(app, ready), &msgs, now_ms());
        let contexts: Vec<Context> = chunk.iter().map(|(c, _)| c.clone()).collect();
        sent += send(app, ready, req, &contexts, stage).await?;
    }
    Ok(sent)
}

/// The free opt-out link of promotional texts (SMS/KakaoTalk only; email has its own).
pub fn opt_out_url(app: &App, award: &Award) -> String {
    let base = app.urls().award_page(&award.id);
    match &award.unsubscribe_token {
        Some(t) => format!("{base}/unsubscribe?c=sms&t={t}"),
        None => format!("{base}/unsubscribe?c=sms"),
    }
}

/// The award's message context and recommendations if the promotion is still wanted, else why
/// not: as the emails (valid, switched on, something to recommend, day 7 not enrolled yet),
/// and not opted out of SMS/KakaoTalk.
async fn wanted(
    app: &App,
    ready: &Ready,
    award: Award,
    stage: Stage,
    now: DateTime<Utc>,
) -> Result<
    Result<(Context, Vec<crate::render::badge_page::Recommendation>), &'static str>,
    NotifyError,
> {
    if !award.notify || !award.status(now).is_valid() {
        return Ok(Err("not sent: award not valid or notifications off"));
    }
    let on = match stage {
        Stage::KakaoDay7 => ready.settings.day7,
        _ => ready.settings.day3,
    };
    let Some(c) = context(app, award).await?.filter(|_| on) else {
        return Ok(Err("not sent: switched off"));
    };
    let recs = app.recommendations(&c.template).await?;
    let enrol = c
        .template
        .spec
        .enrolment
        .as_ref()
        .is_some_and(|e| e.enabled);
    if recs.is_empty() && !enrol {
        return Ok(Err("not sent: nothing to recommend"));
    }
    if app
        .store
        .is_unsubscribed(&c.award.issuer_id, &c.phone.lookup_key())
        .await?
    {
        return Ok(Err("not sent: opted out of SMS/KakaoTalk"));
    }
    if stage == Stage::KakaoDay7
        && app
            .store
            .award_counters(&c.award.id)
            .await?
            .get("click:enrol")
            .is_some_and(|n| *n > 0)
    {
        return Ok(Err("not sent: already clicked enrolment"));
    }
    Ok(Ok((c, recs)))
}
