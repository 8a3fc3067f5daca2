//! KakaoTalk and SMS notifications (the notify function), beside the emails:
//!
//! - Day 1 as AlimTalk, with the provider's SMS fallback. An award issued by the API is sent from
//!   the stream batch that inserted it (its batch's awards grouped per issuer, 100 to a request).
//!   An award issued by CSV waits in its batch's bucket (`batch-{id}`, a due bucket of its own) and the
//!   whole file goes when the batch ends, 100 to a request.
//! - Day 3 and day 7 are advertising: SMS/LMS with `contentType: AD`, `(광고)` and a free opt-out,
//!   planned from the day-1 send in hour buckets that never fire between 21:00 and 08:00 in Korea
//!   (a bucket run at night puts its messages off to 08:00). Revoked, opted out (by SMS/KakaoTalk:
//!   apart from email) or, for day 7, already enrolled: nothing.
//! - Exactly once per award and stage, as the emails: claimed (`EMAIL#kakao-day1` items) before
//!   the request, marked `sent` with the provider's message id after; counted on the award as
//!   `kakao:{stage}:{sent|failed}`. One issuer's trouble (its keys, its provider's quota) holds
//!   back only its own messages: they wait in a bucket and go again, the others go.

mod results;
mod send;

use crate::{
    app::App,
    domain::{
        award::Award,
        followup::{bucket_fires_at, bucket_of, Stage},
        ids::{AwardId, BatchId, IssuerId},
        issuer::Issuer,
        kakao::{is_night, not_at_night, Credentials, KakaoSettings},
        phone::Phone,
        template::Template,
    },
    messaging::{self, text, Account, Provider},
    notify::{queue_followups, NotifyError, Planned},
    render::badge_page::Recommendation,
    store::followups::Due,
};
use chrono::{DateTime, Duration, Utc};
use send::clock;
use serde_json::Value;
use std::{
    collections::{BTreeMap, HashSet},
    sync::Arc,
};

// How long a message waits for its issuer's provider (keys refused, unreachable) past its day
// before it is not sent at all: as long as the emails wait for SES.
use crate::notify::WAITS_AT_MOST as GIVE_UP_AFTER;

/// The KMS encryption context's purpose of the provider credentials.
pub const PURPOSE: &str = "kakao";

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
                .run_bucket_soon(&batch_bucket(&b), now)
                .await
                .map_err(NotifyError::Retry)?;
        }
    }
    let mut direct = Vec::new();
    let mut queued: Vec<Planned> = Vec::new();
    let ids: Vec<_> = records.iter().filter_map(inserted_with_phone).collect();
    for award in app.store.get_awards(&ids).await? {
        match &award.batch_id {
            Some(b) => queued.push((
                Due::new(award.id.clone(), Stage::KakaoDay1, batch_bucket(b)),
                now,
            )),
            None => direct.push(award),
        }
    }
    if !queued.is_empty() {
        app.store.put_followups(&queued).await?;
        run_ended_batches(app, &queued, now).await?;
    }
    let run = day1(
        app,
        direct.into_iter().map(|a| (a, None)).collect(),
        now,
        None,
    )
    .await?;
    // An issuer whose messages could not go: into the next bucket, sent from there.
    let retry: Vec<Due> = run
        .failed_awards
        .into_iter()
        // In no bucket yet: again_later names it.
        .map(|award| Due::new(award, Stage::KakaoDay1, String::new()))
        .collect();
    again_later(app, &retry, now).await
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
                .run_bucket_soon(bucket, now)
                .await
                .map_err(NotifyError::Retry)?;
        }
    }
    Ok(())
}

/// An inserted award whose recipient has a phone number.
fn inserted_with_phone(r: &Value) -> Option<AwardId> {
    let img = r.pointer("/dynamodb/NewImage")?;
    let ok = r.get("eventName").and_then(Value::as_str) == Some("INSERT")
        && img.pointer("/type/S").and_then(Value::as_str) == Some("award")
        && img.pointer("/recipient/M/phone/S").is_some();
    ok.then(|| img.pointer("/id/S")?.as_str())
        .flatten()
        .and_then(|s| AwardId::parse(s).ok())
}

/// A batch that just ended (completed or failed): not one written again after it had (a
/// second S3 event's lease on a finished batch), which would only ask its bucket to run again.
fn ended_batch(r: &Value) -> Option<BatchId> {
    let img = r.pointer("/dynamodb/NewImage")?;
    let now = img.pointer("/status/S").and_then(Value::as_str);
    let before = r
        .pointer("/dynamodb/OldImage/status/S")
        .and_then(Value::as_str);
    let ended = r.get("eventName").and_then(Value::as_str) == Some("MODIFY")
        && img.pointer("/type/S").and_then(Value::as_str) == Some("batch")
        && matches!(now, Some("completed" | "failed"))
        && before != now;
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
    let Some((template, issuer)) = app.template_and_issuer(&award).await? else {
        return Ok(None);
    };
    Ok(Some(Context {
        award,
        phone,
        template,
        issuer,
    }))
}

/// A message to send: for whom, the recommendations (promotions), and the due item it came from
/// (none for a day 1 sent from the stream).
struct Item {
    c: Context,
    recs: Vec<Recommendation>,
    due: Option<Due>,
}

/// Why a run stopped before the end: out of the invocation's time, or night fell in Korea.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Stop {
    OutOfTime,
    Night,
}

/// What a run did: messages sent, where it stopped (and the due items left), the issuers that
/// failed (their items left in their bucket; from the stream, their awards).
#[derive(Default)]
pub struct Run {
    pub sent: usize,
    /// When the run stops sending (before Lambda's timeout): none from the stream.
    until: Option<DateTime<Utc>>,
    stop: Option<Stop>,
    rest: Vec<Due>,
    failed: Vec<String>,
    failed_awards: Vec<AwardId>,
    /// The due items of issuers that failed: they go again from a later bucket.
    failed_dues: Vec<Due>,
    /// The messages the provider answered for in this run: never queued again, whatever fails
    /// after (their claims, left unmarked by a failed mark, would have lapsed by then).
    handed_over: HashSet<(AwardId, Stage)>,
    outcomes: BTreeMap<String, u64>,
}

impl Run {
    fn out_of_time(&self) -> bool {
        self.until.is_some_and(|u| Utc::now() >= u)
    }

    fn skipped(&mut self, why: &str) {
        *self.outcomes.entry(why.to_owned()).or_default() += 1;
    }

    /// An issuer's run of `stage` failed: its messages the provider was not asked to send go
    /// again later.
    fn failed(&mut self, e: &NotifyError, stage: Stage, awards: Vec<AwardId>, dues: Vec<Due>) {
        self.failed.push(e.to_string());
        let handed = |a: &AwardId| self.handed_over.contains(&(a.clone(), stage));
        let awards: Vec<AwardId> = awards.into_iter().filter(|a| !handed(a)).collect();
        let dues: Vec<Due> = dues.into_iter().filter(|d| !handed(&d.award)).collect();
        self.failed_awards.extend(awards);
        self.failed_dues.extend(dues);
    }
}

/// Sends `items` of one issuer and stage, 100 to a request: before each request, stops when out
/// of time or (promotions) when it is night in Korea, leaving the rest in their bucket; each due
/// item leaves it once its message is handled.
async fn send_items(
    app: &App,
    ready: &Ready,
    stage: Stage,
    mut items: Vec<Item>,
    now: DateTime<Utc>,
    run: &mut Run,
) -> Result<(), NotifyError> {
    while !items.is_empty() {
        let stop = if run.out_of_time() {
            Some(Stop::OutOfTime)
        } else if stage != Stage::KakaoDay1 && is_night(clock(now)) {
            Some(Stop::Night)
        } else {
            None
        };
        if let Some(stop) = stop {
            run.stop = Some(stop);
            run.rest.extend(items.into_iter().filter_map(|i| i.due));
            return Ok(());
        }
        let chunk = one_per_number(&mut items, |i| i.c.phone.national());
        let (claimed, finished) = send::claim(app, chunk, stage, now).await?;
        done(app, &finished).await?;
        if !claimed.is_empty() {
            let mut splits = SPLITS;
            send_claimed(app, ready, stage, claimed, now, run, &mut splits).await?;
        }
    }
    Ok(())
}

/// How many more requests one refused request may cost while its refused message is looked
/// for: enough to find one among 100 (two halves at each of 7 levels).
const SPLITS: usize = 14;

/// Sends claimed messages in one request. A request the provider refused whole (a 400 for a
/// message it would not take — or for all of them) is sent again as two halves, and a half
/// refused whole is split again, until the refused message is alone (rejected by itself) or
/// `splits` more requests were made (what is refused then is rejected): one message the
/// provider will not take no longer costs the 99 beside it.
async fn send_claimed(
    app: &App,
    ready: &Ready,
    stage: Stage,
    items: Vec<Item>,
    now: DateTime<Utc>,
    run: &mut Run,
    splits: &mut usize,
) -> Result<(), NotifyError> {
    let req = request_of(app, ready, stage, &items);
    let contexts: Vec<Context> = items.iter().map(|i| i.c.clone()).collect();
    let split = items.len() > 1 && *splits >= 2;
    match send::request(app, ready, req, &contexts, stage, now, split).await? {
        send::Sent::Answered(sent) => {
            run.handed_over
                .extend(contexts.iter().map(|c| (c.award.id.clone(), stage)));
            run.sent += sent;
            // Done as each request is answered: a later half's failure must not leave these
            // due, for a later run of the bucket to find (and, a mark lost, send again).
            let dues: Vec<Due> = items.into_iter().filter_map(|i| i.due).collect();
            done(app, &dues).await?;
        }
        send::Sent::RefusedWhole if run.out_of_time() => {
            give_back(app, items, stage, run).await?;
        }
        send::Sent::RefusedWhole => {
            *splits -= 2;
            let mut first = items;
            let second = first.split_off(first.len() / 2);
            let tried = Box::pin(send_claimed(app, ready, stage, first, now, run, splits)).await;
            if let Err(e) = tried {
                // The second half was never tried: its claims go back with the error, as the
                // failed half's did, so the messages go with the issuer's next try.
                let untried: Vec<Context> = second.into_iter().map(|i| i.c).collect();
                send::release(app, &untried, stage).await?;
                return Err(e);
            }
            if run.out_of_time() {
                return give_back(app, second, stage, run).await;
            }
            Box::pin(send_claimed(app, ready, stage, second, now, run, splits)).await?;
        }
    }
    Ok(())
}

/// Out of time between the halves of a split request: the claims go back and the due items
/// stay in their bucket, for the run that continues it (the stream's day 1 has no deadline).
async fn give_back(
    app: &App,
    items: Vec<Item>,
    stage: Stage,
    run: &mut Run,
) -> Result<(), NotifyError> {
    let contexts: Vec<Context> = items.iter().map(|i| i.c.clone()).collect();
    send::release(app, &contexts, stage).await?;
    run.stop = Some(Stop::OutOfTime);
    run.rest.extend(items.into_iter().filter_map(|i| i.due));
    Ok(())
}

/// The next request's messages, taken from `items` in order: up to
/// [`messaging::MAX_PER_REQUEST`], and one per phone number — the provider's results name a
/// message by its number, so two to one number in one request could not be told apart (one
/// award would be counted with the other's result). A second message to a number waits for the
/// next request.
fn one_per_number<T>(items: &mut Vec<T>, number: impl Fn(&T) -> String) -> Vec<T> {
    let mut numbers = HashSet::new();
    let (mut chunk, mut rest) = (Vec::new(), Vec::new());
    for item in items.drain(..) {
        if chunk.len() < messaging::MAX_PER_REQUEST && numbers.insert(number(&item)) {
            chunk.push(item);
        } else {
            rest.push(item);
        }
    }
    *items = rest;
    chunk
}

/// The provider's request for claimed messages of `stage`.
fn request_of(app: &App, ready: &Ready, stage: Stage, items: &[Item]) -> messaging::Request {
    let account = account_of(app, ready);
    let now_ms = Utc::now().timestamp_millis();
    if stage == Stage::KakaoDay1 {
        let msgs: Vec<_> = items
            .iter()
            .map(|i| text::day1(&i.c.to(), app.urls()))
            .collect();
        return ready.provider.alimtalk(&account, &msgs, now_ms);
    }
    let email_stage = if stage == Stage::KakaoDay7 {
        Stage::Day7
    } else {
        Stage::Day3
    };
    let msgs: Vec<_> = items
        .iter()
        .map(|i| {
            let opt_out = match &ready.settings.opt_out_number {
                Some(n) => text::OptOut::Number(n.clone()),
                None => text::OptOut::Link(opt_out_url(app, &i.c.award)),
            };
            text::promotion(email_stage, &i.c.to(), app.urls(), &i.recs, &opt_out)
        })
        .collect();
    ready.provider.promotions(&account, &msgs, now_ms)
}

fn account_of<'a>(app: &'a App, r: &'a Ready) -> Account<'a> {
    Account {
        settings: &r.settings,
        credentials: &r.credentials,
        base_url: &app.config.kakao_api_url,
    }
}

/// Day-1 AlimTalks for `awards` (of any issuers; each with its due item when it waited in a
/// bucket), 100 to a request, and their promotional follow-ups planned. An issuer that fails is
/// noted in the run and the others go on.
pub async fn day1(
    app: &App,
    awards: Vec<(Award, Option<Due>)>,
    now: DateTime<Utc>,
    until: Option<DateTime<Utc>>,
) -> Result<Run, NotifyError> {
    let mut run = Run {
        until,
        ..Run::default()
    };
    for (issuer, list) in by_issuer(awards) {
        let ids: Vec<_> = list.iter().map(|(a, _)| a.id.clone()).collect();
        let dues: Vec<Due> = list.iter().filter_map(|(_, d)| d.clone()).collect();
        if run.stop.is_some() {
            run.rest.extend(dues);
            continue;
        }
        if let Err(e) = day1_of(app, &issuer, list, now, &mut run).await {
            tracing::warn!(issuer = %issuer, error = %e, "KakaoTalk day 1 failed; it goes again later");
            run.failed(&e, Stage::KakaoDay1, ids, dues);
        }
    }
    Ok(run)
}

async fn day1_of(
    app: &App,
    issuer: &IssuerId,
    list: Vec<(Award, Option<Due>)>,
    now: DateTime<Utc>,
    run: &mut Run,
) -> Result<(), NotifyError> {
    let Some(ready) = account(app, issuer).await? else {
        run.skipped("not sent: KakaoTalk off");
        return done(app, &dues_of(list)).await;
    };
    let (mut items, mut planned, mut skipped) = (Vec::new(), Vec::new(), Vec::new());
    for (award, due) in list {
        // A day-1 message that has waited this long (the issuer's keys refused for two weeks)
        // is news no more.
        let fresh = clock(now) - award.created_at <= GIVE_UP_AFTER;
        let wanted = award.notify && award.status(clock(now)).is_valid() && fresh;
        let Some(c) = context(app, award).await?.filter(|_| wanted) else {
            skipped.extend(due);
            continue;
        };
        planned.extend(promotions_planned(&c, &ready.settings, clock(now)));
        if ready.settings.day1 {
            items.push(Item {
                c,
                recs: vec![],
                due,
            });
        } else {
            skipped.extend(due);
        }
    }
    queue_followups(app, &planned).await?;
    done(app, &skipped).await?;
    send_items(app, &ready, Stage::KakaoDay1, items, now, run).await
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
        let due = Due::new(c.award.id.clone(), stage, promotion_bucket(at));
        (due, at)
    })
    .collect()
}

fn by_issuer<T>(list: Vec<(Award, T)>) -> BTreeMap<IssuerId, Vec<(Award, T)>> {
    let mut m: BTreeMap<IssuerId, Vec<(Award, T)>> = BTreeMap::new();
    for (a, t) in list {
        m.entry(a.issuer_id.clone()).or_default().push((a, t));
    }
    m
}

/// The KakaoTalk items of a due bucket: a CSV batch's day-1 messages, and promotional messages.
/// Out of time, the rest continues in a new schedule; at night in Korea, promotions wait for the
/// bucket that fires at 08:00. The items of an issuer that failed go again from a bucket 15
/// minutes later, after the others went.
pub async fn handle_due(
    app: &App,
    bucket: &str,
    due: Vec<Due>,
    now: DateTime<Utc>,
    until: Option<DateTime<Utc>>,
) -> Result<BTreeMap<String, u64>, NotifyError> {
    if results::is_results(bucket) {
        return results::handle(app, bucket, due, now).await;
    }
    let (day1s, promos): (Vec<Due>, Vec<Due>) =
        due.into_iter().partition(|d| d.stage == Stage::KakaoDay1);
    let mut run = day1(app, awards_of(app, day1s).await?, now, until).await?;
    promotions(app, promos, now, &mut run).await?;
    match run.stop {
        Some(Stop::OutOfTime) => {
            app.schedules
                .continue_bucket(bucket, Utc::now())
                .await
                .map_err(NotifyError::Retry)?;
        }
        Some(Stop::Night) => {
            // The bucket of the hour before 08:00 fires at 08:00.
            let later = not_at_night(clock(now));
            let to = bucket_of(later - Duration::seconds(1));
            requeue(app, &run.rest, |_| (to.clone(), later)).await?;
            run.skipped("kakao promotions held to 08:00");
        }
        None => {}
    }
    again_later(app, &run.failed_dues, clock(now)).await?;
    let mut outcomes = run.outcomes;
    outcomes.insert("kakao sent".into(), run.sent as u64);
    if !run.failed_dues.is_empty() {
        outcomes.insert(
            "kakao failed, again in 15 minutes".into(),
            run.failed_dues.len() as u64,
        );
    }
    Ok(outcomes)
}

/// The due items of issuers that failed (their provider, keys or KMS), in the bucket of 15
/// minutes from now (promotions: one that does not fire at night). Lambda retries a failed run
/// only twice; this keeps them going for as long as the trouble lasts.
async fn again_later(app: &App, dues: &[Due], now: DateTime<Utc>) -> Result<(), NotifyError> {
    let at = now + Duration::minutes(15);
    requeue(app, dues, |d| {
        let bucket = if d.stage == Stage::KakaoDay1 {
            bucket_of(at)
        } else {
            promotion_bucket(at)
        };
        (bucket, at)
    })
    .await
}

/// Moves `dues` to the bucket and time `to` gives each: queued there first, then deleted from
/// the bucket they were in (if any), so a crash in between leaves one due twice (its message
/// is claimed once), never lost.
async fn requeue(
    app: &App,
    dues: &[Due],
    to: impl Fn(&Due) -> (String, DateTime<Utc>),
) -> Result<(), NotifyError> {
    let moved: Vec<Planned> = dues
        .iter()
        .map(|d| {
            let (bucket, at) = to(d);
            (Due::new(d.award.clone(), d.stage, bucket), at)
        })
        .collect();
    queue_followups(app, &moved).await?;
    let left: Vec<Due> = dues
        .iter()
        .zip(&moved)
        // Not the item just written (same bucket), unless it was in the old layout.
        .filter(|(d, (m, _))| !d.bucket.is_empty() && (d.legacy || d.bucket != m.bucket))
        .map(|(d, _)| d.clone())
        .collect();
    done(app, &left).await
}

/// The awards of due items. An item whose award is gone leaves its bucket, and so does a second
/// item of one message (award and stage) — its copy in the old layout, or one a move left
/// behind — while the first is handled. One award's several stages in one bucket each stay.
async fn awards_of(app: &App, due: Vec<Due>) -> Result<Vec<(Award, Option<Due>)>, NotifyError> {
    // BatchGetItem, 100 to a request.
    let ids: Vec<_> = due.iter().map(|d| d.award.clone()).collect();
    let found: std::collections::HashMap<_, Award> = app
        .store
        .get_awards(&ids)
        .await?
        .into_iter()
        .map(|a| (a.id.clone(), a))
        .collect();
    let mut out = Vec::with_capacity(due.len());
    let (mut gone, mut seen) = (Vec::new(), HashSet::new());
    for d in due {
        match found.get(&d.award) {
            Some(a) if seen.insert((d.award.clone(), d.stage)) => out.push((a.clone(), Some(d))),
            _ => gone.push(d),
        }
    }
    done(app, &gone).await?;
    Ok(out)
}

/// The due items of a list of awards.
fn dues_of<T>(list: impl IntoIterator<Item = (T, Option<Due>)>) -> Vec<Due> {
    list.into_iter().filter_map(|(_, d)| d).collect()
}

async fn done(app: &App, due: &[Due]) -> Result<(), NotifyError> {
    for d in due {
        app.store.followup_done(d).await?;
    }
    Ok(())
}

/// The promotional messages still wanted, 100 to a request per issuer and stage.
async fn promotions(
    app: &App,
    due: Vec<Due>,
    now: DateTime<Utc>,
    run: &mut Run,
) -> Result<(), NotifyError> {
    let mut groups: BTreeMap<(IssuerId, &'static str), Vec<(Award, Due)>> = BTreeMap::new();
    for (a, d) in awards_of(app, due).await? {
        let Some(d) = d else { continue };
        groups
            .entry((a.issuer_id.clone(), d.stage.as_str()))
            .or_default()
            .push((a, d));
    }
    // An award whose day-7 text is due in this run (both waited while its issuer's provider
    // refused) gets that one only: two advertising texts at once would be noise.
    let day7: HashSet<AwardId> = groups
        .iter()
        .filter(|((_, s), _)| *s == Stage::KakaoDay7.as_str())
        .flat_map(|(_, l)| l.iter().map(|(a, _)| a.id.clone()))
        .collect();
    for ((issuer, stage), mut list) in groups {
        let stage = Stage::parse(stage).unwrap_or(Stage::KakaoDay3);
        if stage == Stage::KakaoDay3 && run.stop.is_none() {
            let (overtaken, rest): (Vec<_>, Vec<_>) =
                list.into_iter().partition(|(a, _)| day7.contains(&a.id));
            list = rest;
            for _ in &overtaken {
                run.skipped("not sent: the day-7 text goes in the same run");
            }
            done(
                app,
                &dues_of(overtaken.into_iter().map(|(a, d)| (a, Some(d)))),
            )
            .await?;
        }
        if list.is_empty() {
            continue;
        }
        if run.stop.is_some() {
            run.rest.extend(list.into_iter().map(|(_, d)| d));
            continue;
        }
        let dues: Vec<Due> = list.iter().map(|(_, d)| d.clone()).collect();
        if let Err(e) = promotions_of(app, &issuer, stage, list, now, run).await {
            tracing::warn!(issuer = %issuer, error = %e, "KakaoTalk promotions failed; they go again later");
            run.failed(&e, stage, vec![], dues);
        }
    }
    Ok(())
}

async fn promotions_of(
    app: &App,
    issuer: &IssuerId,
    stage: Stage,
    list: Vec<(Award, Due)>,
    now: DateTime<Utc>,
    run: &mut Run,
) -> Result<(), NotifyError> {
    let Some(ready) = account(app, issuer).await? else {
        run.skipped("not sent: KakaoTalk off");
        return done(app, &dues_of(list.into_iter().map(|(a, d)| (a, Some(d))))).await;
    };
    let (mut items, mut skipped) = (Vec::new(), Vec::new());
    for (award, due) in list {
        match wanted(app, &ready, award, stage, clock(now)).await? {
            Ok((c, recs)) => items.push(Item {
                c,
                recs,
                due: Some(due),
            }),
            Err(why) => {
                run.skipped(why);
                skipped.push(due);
            }
        }
    }
    done(app, &skipped).await?;
    send_items(app, &ready, stage, items, now, run).await
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
) -> Result<Result<(Context, Vec<Recommendation>), &'static str>, NotifyError> {
    if !award.notify || !award.status(now).is_valid() {
        return Ok(Err("not sent: award not valid or notifications off"));
    }
    let days = if stage == Stage::KakaoDay7 { 7 } else { 3 };
    if now - award.created_at > Duration::days(days) + GIVE_UP_AFTER {
        return Ok(Err("not sent: waited more than 14 days past its day"));
    }
    let Some(c) = context(app, award).await? else {
        return Ok(Err("not sent: no template"));
    };
    let f = &c.template.spec.follow_ups;
    let on = match stage {
        Stage::KakaoDay7 => ready.settings.day7 && f.day7,
        _ => ready.settings.day3 && f.day3,
    };
    if !on {
        return Ok(Err("not sent: switched off"));
    };
    if ready.settings.opt_out_number.is_none() && !c.award.can_unsubscribe() {
        return Ok(Err(crate::notify::NO_UNSUBSCRIBE_LINK));
    }
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

/// The request made: the answer's status and body, or why none came (the credentials and the
/// message texts are never logged): `Retry` when the provider was never reached (DNS, connection,
/// TLS: it has certainly not got the messages), `Unknown` when the request may have reached it,
/// `Refused` when it could not be made at all (the provider URL).
async fn post(
    app: &App,
    req: &messaging::Request,
) -> Result<(u16, Vec<u8>), messaging::ProviderError> {
    use crate::outbound::OutboundError;
    use messaging::ProviderError;
    let url = url::Url::parse(&req.url)
        .map_err(|e| ProviderError::Refused(format!("bad provider URL: {e}")))?;
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
        .map_err(|e| match e {
            OutboundError::Unreached(_) => ProviderError::Retry(e.to_string()),
            OutboundError::Refused(_) => ProviderError::Refused(e.to_string()),
            OutboundError::Failed(_) => ProviderError::Unknown(e.to_string()),
        })?;
    Ok((answer.status, answer.body))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_batch_ends_once_not_on_each_later_write() {
        let id = BatchId::generate();
        let record = |old: &str, new: &str| {
            serde_json::json!({"eventName": "MODIFY", "dynamodb": {
                "OldImage": {"type": {"S": "batch"}, "id": {"S": id.as_str()}, "status": {"S": old}},
                "NewImage": {"type": {"S": "batch"}, "id": {"S": id.as_str()}, "status": {"S": new}}}})
        };
        assert_eq!(
            ended_batch(&record("issuing", "completed")),
            Some(id.clone())
        );
        assert_eq!(
            ended_batch(&record("validating", "failed")),
            Some(id.clone())
        );
        assert_eq!(ended_batch(&record("completed", "completed")), None);
        assert_eq!(ended_batch(&record("validating", "issuing")), None);
    }

    #[test]
    fn a_request_holds_one_message_per_number_and_at_most_a_hundred() {
        let mut items: Vec<String> = ["010-1", "010-2", "010-1", "010-3", "010-2"]
            .map(String::from)
            .to_vec();
        let first = one_per_number(&mut items, Clone::clone);
        assert_eq!(first, ["010-1", "010-2", "010-3"]);
        assert_eq!(items, ["010-1", "010-2"], "the repeats wait, in order");
        assert_eq!(one_per_number(&mut items, Clone::clone), ["010-1", "010-2"]);
        assert!(items.is_empty());
        let mut many: Vec<String> = (0..250).map(|i| format!("010-{i}")).collect();
        assert_eq!(one_per_number(&mut many, Clone::clone).len(), 100);
        assert_eq!(many.len(), 150);
        assert_eq!(many[0], "010-100");
    }

    /// An issuer's run fails after the provider answered for some of its messages (a mark and
    /// then the next chunk's claim failing): only the others go again later. Queued again, the
    /// first ones' claims — unmarked, lapsed by then — would have sent them a second time.
    #[test]
    fn a_failed_run_queues_again_only_what_the_provider_was_not_asked_to_send() {
        let (taken, other) = (AwardId::generate(), AwardId::generate());
        let due = |a: &AwardId, stage| Due::new(a.clone(), stage, "b".into());
        let mut run = Run::default();
        run.handed_over.insert((taken.clone(), Stage::KakaoDay1));
        run.handed_over.insert((other.clone(), Stage::KakaoDay7));
        let e = NotifyError::Retry("the next chunk's claim failed".into());
        let day1 = [due(&taken, Stage::KakaoDay1), due(&other, Stage::KakaoDay1)];
        run.failed(
            &e,
            Stage::KakaoDay1,
            vec![taken.clone(), other.clone()],
            day1.to_vec(),
        );
        assert_eq!(run.failed_awards, std::slice::from_ref(&other));
        assert_eq!(run.failed_dues, [due(&other, Stage::KakaoDay1)]);
        let day3 = [due(&taken, Stage::KakaoDay3)];
        run.failed(&e, Stage::KakaoDay3, vec![], day3.to_vec());
        assert_eq!(run.failed_dues.len(), 2, "{:?}", run.failed_dues);
        assert_eq!(run.failed.len(), 2);
    }
}
