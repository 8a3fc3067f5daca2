//! Emails (the notify Lambda).
//!
//! - DynamoDB stream: every inserted award (API or CSV) with `notify` gets its day-1 email, exactly
//!   once: the stage is claimed with a conditional write before sending and marked `sent` after,
//!   so duplicated stream records and retries send nothing twice. A throttled send gives the
//!   claim back and reports the record as failed (the stream retries it); a permanent rejection
//!   is recorded and not retried, and so is a send SES may have accepted (no answer): at most
//!   once. Suppressed addresses get nothing. A batch's emails go out several at once
//!   ([`crate::mailer::Mailer::in_flight`]), the mailer's pace holding the send rate.
//! - Follow-ups: each inserted award's day-3, day-7 and expiry stages are queued in their
//!   hour bucket's partitions (sharded 16 ways), and the bucket's one-time schedule is created
//!   (named by the hour, so a second create is a harmless conflict). When it fires, every due
//!   stage in the bucket is checked again (award still valid, follow-ups on, something to
//!   recommend, not unsubscribed or suppressed, and for day 7 no enrolment click yet) and sent.
//! - KakaoTalk and SMS beside them: [`kakao`].

pub mod kakao;

use crate::{
    app::App,
    domain::{
        award::{Award, AwardStatus},
        followup::{self, Stage},
        ids::AwardId,
        template::Template,
        time::Zone,
    },
    email::{day1, followup as followup_mail, mime},
    events::BoxError,
    mailer::SendError,
    store::{followups::Due, StoreError},
};
use chrono::{DateTime, Utc};
use futures::{stream::FuturesUnordered, StreamExt};
use serde_json::{json, Value};
use std::collections::{BTreeMap, HashMap, HashSet};

/// How long a claimed stage stays claimed if the sender dies before marking it.
const CLAIM: chrono::Duration = chrono::Duration::minutes(5);

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Sent {
    Sent(String),
    AlreadyHandled,
    NotRequested,
    Suppressed,
    Rejected(String),
    /// SES may have accepted it (no answer): recorded, never sent again.
    Unknown(String),
    NoSuchAward,
    NoSender,
    /// Revoked or replaced before its email went (a backlog of day-1 emails behind a large CSV
    /// batch, and the admin revoked or re-issued meanwhile): no "your badge is here".
    NoLongerValid,
    /// SES refused it as it refuses every email for now ([`SendError::Paused`]): it waits in
    /// the bucket an hour on (`Stage::Day1`), not in the stream, whose records last 24 hours.
    Deferred(String),
}

impl Sent {
    /// What happened, as a bucket run counts it: the kind alone, without a message id or an
    /// error's text (which may name the address or the request), so a run of 10,000 follow-ups
    /// logs a handful of outcomes, not 10,000. The text is the stage record's (`finish_email`).
    pub fn outcome(&self) -> String {
        match self {
            Sent::Sent(_) => "Sent".into(),
            Sent::Rejected(_) => "Rejected".into(),
            Sent::Unknown(_) => "Unknown".into(),
            Sent::Deferred(_) => "Deferred".into(),
            other => format!("{other:?}"),
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum NotifyError {
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error("send failed, to be retried: {0}")]
    Retry(String),
    /// SES refuses every email for now (sending paused, an unverified sender): nothing sent,
    /// the claim given back.
    #[error("SES refuses every email for now: {0}")]
    Paused(String),
}

/// Where an email SES refused for the account waits: the hour bucket of a minute after `after`
/// (a bucket runs at the end of its hour, so within the hour; from a bucket's run, the next
/// hour's).
fn waits(id: &AwardId, stage: Stage, after: DateTime<Utc>) -> Planned {
    let at = after + chrono::Duration::minutes(1);
    (Due::new(id.clone(), stage, followup::bucket_of(at)), at)
}

/// When a bucket's run that found `d` ran, for what it moves on: after the bucket's hour and
/// after `now`, whichever is later.
fn after_run(d: &Due, now: DateTime<Utc>) -> DateTime<Utc> {
    let ran = followup::bucket_fires_at(&d.bucket).unwrap_or(now);
    now.max(ran).max(Utc::now())
}

pub use crate::store::followups::Planned;

/// The notify function: a stream batch of new awards, or a due hour bucket. `until`: when to stop
/// starting new work (the invocation's deadline less a margin).
pub async fn handle_event(
    app: App,
    event: Value,
    until: Option<DateTime<Utc>>,
) -> Result<Value, BoxError> {
    if event.get("kind").and_then(Value::as_str) == Some("due") {
        let bucket = event
            .get("bucket")
            .and_then(Value::as_str)
            .unwrap_or_default();
        let now = event
            .get("now")
            .and_then(Value::as_str)
            .and_then(|t| DateTime::parse_from_rfc3339(t).ok())
            .map(|t| t.with_timezone(&Utc))
            .unwrap_or_else(Utc::now);
        let report = Box::pin(handle_due(&app, bucket, now, until)).await?;
        return Ok(report);
    }
    let Some(records) = event.get("Records").and_then(Value::as_array) else {
        tracing::warn!(event = %event, "unknown invocation; ignored");
        return Ok(Value::Null);
    };
    let (planned, failures) = send_day1s(&app, records).await;
    if let Err(e) = queue_followups(&app, &planned).await {
        tracing::error!(error = %e, "follow-ups not queued; the batch will be retried");
        return Err(e.into());
    }
    if let Err(e) = Box::pin(kakao::on_stream(&app, records)).await {
        tracing::error!(error = %e, "KakaoTalk messages not handled; the batch will be retried");
        return Err(e.into());
    }
    Ok(json!({ "batchItemFailures": failures }))
}

/// The day-1 emails of the awards a stream batch inserted: the follow-ups they plan, and the
/// batch item failures (`itemIdentifier`: the sequence number) of the records to deliver again.
async fn send_day1s(app: &App, records: &[Value]) -> (Vec<Planned>, Vec<Value>) {
    let mut planned: Vec<Planned> = Vec::new();
    let mut failures = Vec::new();
    let awards: Vec<(AwardId, &Value)> = records
        .iter()
        .filter_map(|r| Some((inserted_award(r)?, r)))
        .collect();
    // Several at once (the mailer's pace holds the rate): one at a time, the round trips of each
    // email, not the send rate, would set how fast a large batch goes out.
    let sends: Vec<_> = awards
        .iter()
        .map(|(id, _)| Box::pin(send_day1(app, id, Utc::now())))
        .collect();
    let results: Vec<_> = futures::stream::iter(sends)
        .buffered(app.mailer.in_flight())
        .collect()
        .await;
    for ((id, r), result) in awards.iter().zip(results) {
        match result {
            Ok((outcome, plan)) => {
                tracing::info!(award = %id, ?outcome, "day-1 email");
                if matches!(outcome, Sent::Deferred(_)) {
                    planned.push(waits(id, Stage::Day1, Utc::now()));
                }
                planned.extend(plan);
            }
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
    (planned, failures)
}

/// The award a stream record inserted; `None` for any other record (one without a readable id
/// is logged).
fn inserted_award(r: &Value) -> Option<AwardId> {
    let inserted_award = r.get("eventName").and_then(Value::as_str) == Some("INSERT")
        && r.pointer("/dynamodb/NewImage/type/S")
            .and_then(Value::as_str)
            == Some("award");
    if !inserted_award {
        return None;
    }
    let id = r
        .pointer("/dynamodb/NewImage/id/S")
        .and_then(Value::as_str)
        .and_then(|s| AwardId::parse(s).ok());
    if id.is_none() {
        tracing::warn!("award record without a readable id; skipped");
    }
    id
}

/// Writes the due items and makes sure each hour bucket's schedule exists.
pub async fn queue_followups(app: &App, planned: &[Planned]) -> Result<(), NotifyError> {
    if planned.is_empty() {
        return Ok(());
    }
    app.store.put_followups(planned).await?;
    let mut buckets: Vec<&str> = planned.iter().map(|(d, _)| d.bucket.as_str()).collect();
    buckets.sort_unstable();
    buckets.dedup();
    for b in buckets {
        app.schedules
            .ensure_bucket(b)
            .await
            .map_err(NotifyError::Retry)?;
    }
    Ok(())
}

/// Sends every follow-up due in an hour bucket. Failures worth retrying make the invocation
/// fail (Scheduler invokes asynchronously: Lambda retries it twice, then the failure queue);
/// handled stages have left the bucket (an item several share, once all of them are handled), so
/// a retry only redoes the rest.
/// A bucket larger than one invocation can send (at the send rate, before `until`) schedules its
/// remainder a minute later and stops.
pub async fn handle_due(
    app: &App,
    bucket: &str,
    now: DateTime<Utc>,
    until: Option<DateTime<Utc>>,
) -> Result<Value, NotifyError> {
    let (kakao, due): (Vec<Due>, Vec<Due>) = app
        .store
        .due_in(bucket)
        .await?
        .into_iter()
        .partition(|d| d.stage.is_kakao());
    // KakaoTalk's trouble never holds back the emails of the bucket.
    let mut retry = None;
    let mut outcomes = if kakao.is_empty() {
        Default::default()
    } else {
        Box::pin(kakao::handle_due(app, bucket, kakao, now, until))
            .await
            .unwrap_or_else(|e| {
                tracing::warn!(bucket, error = %e, "KakaoTalk part of the bucket failed");
                retry = Some(e);
                Default::default()
            })
    };
    let handled =
        handle_while_time(app, &due, bucket, (now, until), &mut outcomes, &mut retry).await;
    if handled < due.len() {
        app.schedules
            .continue_bucket(bucket, Utc::now())
            .await
            .map_err(NotifyError::Retry)?;
        let left = due.len() - handled;
        tracing::info!(
            bucket,
            left,
            "out of time; the rest of the bucket continues in a new schedule"
        );
        return Ok(
            json!({ "bucket": bucket, "due": due.len(), "outcomes": outcomes, "continued": left }),
        );
    }
    tracing::info!(
        bucket,
        due = due.len(),
        ?outcomes,
        "follow-up bucket handled"
    );
    match retry {
        Some(e) => Err(e),
        None => Ok(json!({ "bucket": bucket, "due": due.len(), "outcomes": outcomes })),
    }
}

/// Handles `due` several at once, as day 1 does, starting each only while there is time left
/// (`until`): answers how many were handled, counting each outcome and keeping the last failure
/// worth retrying in `retry`.
async fn handle_while_time(
    app: &App,
    due: &[Due],
    bucket: &str,
    (now, until): (DateTime<Utc>, Option<DateTime<Utc>>),
    outcomes: &mut BTreeMap<String, u64>,
    retry: &mut Option<NotifyError>,
) -> usize {
    let endpoints = &crate::webhooks::Endpoints::default();
    let (mut next, mut running) = (due.iter(), FuturesUnordered::new());
    let mut handled = 0;
    let mut groups = Groups::of(due);
    loop {
        while running.len() < app.mailer.in_flight() && until.is_none_or(|u| Utc::now() < u) {
            let Some(d) = next.next() else { break };
            let run = Run {
                bucket,
                now,
                endpoints,
            };
            running.push(async move { (d, Box::pin(handle_one(app, d, run)).await) });
        }
        let Some((d, result)) = running.next().await else {
            return handled;
        };
        handled += 1;
        let done = match result {
            Ok((outcome, done)) => {
                *outcomes.entry(outcome).or_default() += 1;
                done
            }
            Err(e) => {
                tracing::warn!(award = %d.award, stage = d.stage.as_str(), error = %e, "follow-up failed");
                *retry = Some(e);
                false
            }
        };
        if let Some(group) = groups.handled(d, done) {
            if let Err(e) = app.store.followups_done(&group).await {
                tracing::warn!(bucket, error = %e, "handled follow-ups left in their bucket");
                *retry = Some(e.into());
            }
        }
    }
}

/// The due items of a run that hold several follow-ups ([`Due::group`]), and how many of each
/// are still to be handled in this run. An item is done when every follow-up it holds was:
/// one left in the bucket for later (an expiry not reached), one that failed or one this run had
/// no time for keeps it, and the next run of the bucket (a retry, a continuation) walks its
/// follow-ups again — each handled one costs that run its reads and a refused claim, and is not
/// sent again.
#[derive(Default)]
struct Groups {
    left: HashMap<(String, String), usize>,
    kept: HashSet<(String, String)>,
}

impl Groups {
    fn of(due: &[Due]) -> Self {
        let mut g = Groups::default();
        for key in due.iter().filter_map(|d| d.group.clone()) {
            *g.left.entry(key).or_default() += 1;
        }
        g
    }

    /// Notes `d` handled (`done`: it may leave its bucket) or not; answers its group's key once
    /// every follow-up of the group is done.
    fn handled(&mut self, d: &Due, done: bool) -> Option<(String, String)> {
        let key = d.group.as_ref()?;
        if !done {
            self.kept.insert(key.clone());
        }
        let left = self.left.get_mut(key)?;
        *left -= 1;
        (*left == 0 && !self.kept.contains(key)).then(|| key.clone())
    }
}

/// One run of a due bucket: its name, its time, and the issuers' webhook endpoints as this run
/// read them (once per issuer, however many of its awards expire in the bucket).
#[derive(Clone, Copy)]
struct Run<'a> {
    bucket: &'a str,
    now: DateTime<Utc>,
    endpoints: &'a crate::webhooks::Endpoints,
}

/// One due follow-up: handled, then its item deleted (one held with others leaves with them:
/// answered done) — or, for an expiry its bucket reached early (a bucket due within minutes runs
/// a minute after its first item is queued), left in its bucket for a run at the expiry time
/// (answered not done).
async fn handle_one(app: &App, d: &Due, run: Run<'_>) -> Result<(String, bool), NotifyError> {
    let outcome = match d.stage {
        Stage::Expired => match Box::pin(expired(app, &d.award, run)).await? {
            Some(outcome) => outcome,
            None => {
                let later = "award.expired: not yet, run again at the expiry";
                return Ok((later.into(), false));
            }
        },
        Stage::Day1 => Box::pin(day1_again(app, d, run.now)).await?,
        stage => match Box::pin(send_followup(app, &d.award, stage, run.now)).await {
            // SES refuses every email for now: it waits in the next hour's bucket, as day 1 does.
            Err(NotifyError::Paused(why)) => {
                queue_followups(app, &[waits(&d.award, stage, after_run(d, run.now))]).await?;
                format!("waits: {why}")
            }
            outcome => outcome?,
        },
    };
    if d.group.is_none() {
        app.store.followup_done(d).await?;
    }
    Ok((outcome, true))
}

/// An award's expiry time has come: its `award.expired` webhook event, if it did expire (not
/// revoked or replaced meanwhile). `None` when it has not expired yet: the bucket runs again at
/// the expiry time (a schedule of its own).
async fn expired(app: &App, id: &AwardId, run: Run<'_>) -> Result<Option<String>, NotifyError> {
    let Run { bucket, now, .. } = run;
    let Some(award) = app.store.get_award(id).await? else {
        return Ok(Some("no award".into()));
    };
    match award.status(now) {
        AwardStatus::Expired { .. } => {}
        AwardStatus::Valid => {
            let Some(on) = award.expires_on.filter(|on| *on > now) else {
                return Ok(Some("no event: no expiry".into()));
            };
            // Not before the expiry: `at()` takes whole seconds.
            let at = crate::schedules::whole_second_up(on);
            app.schedules
                .continue_bucket(bucket, at)
                .await
                .map_err(NotifyError::Retry)?;
            return Ok(None);
        }
        other => return Ok(Some(format!("no event: award {}", other.code()))),
    }
    let fact = crate::webhooks::facts::expired(&award);
    if !crate::webhooks::enqueue_with(app, run.endpoints, vec![fact])
        .await
        .is_empty()
    {
        return Err(NotifyError::Retry("award.expired not queued".into()));
    }
    Ok(Some("award.expired".into()))
}

/// Why a promotional message is not sent to an award issued before its unsubscribe link carried a
/// token (2026-11-30): that link would answer 404, and a promotion needs a working opt-out (RFC
/// 8058's one-click POST; Korea's 정보통신망법 §50).
pub const NO_UNSUBSCRIBE_LINK: &str =
    "not sent: no working unsubscribe link (issued before 2026-11-30)";

/// One follow-up, if it is still wanted. Answers what happened, as a word for logs and tests.
pub async fn send_followup(
    app: &App,
    id: &AwardId,
    stage: Stage,
    now: DateTime<Utc>,
) -> Result<String, NotifyError> {
    let Some(award) = app.store.get_award(id).await? else {
        return Ok("no award".into());
    };
    if !award.status(now).is_valid() {
        return Ok(format!("not sent: award {}", award.status(now).code()));
    }
    let Some((template, issuer)) = app.template_and_issuer(&award).await? else {
        return Ok("no template".into());
    };
    if let Some(why) = not_for_now(&award, &template, stage, now) {
        return Ok(why.into());
    }
    let notice = !award.can_unsubscribe();
    let recs = if notice {
        vec![]
    } else {
        app.recommendations(&template).await?
    };
    let enrol = template.spec.enrolment.as_ref().is_some_and(|e| e.enabled);
    if stage != Stage::Expiry && recs.is_empty() && !enrol {
        return Ok("not sent: nothing to recommend".into());
    }
    if let Some(why) = not_wanted(app, &award, stage).await? {
        return Ok(why.into());
    }
    let Some(sender) = app.config.sender_email.clone() else {
        return Ok("not sent: no sender".into());
    };
    // Claimed from the real time when the schedule's is past (a retry, a continuation, an
    // overdue bucket): a claim counted from an old `now` could lapse before it was written.
    let at = now.max(Utc::now());
    if !app
        .store
        .claim_email(id, stage.as_str(), at + CLAIM, at)
        .await?
    {
        return Ok("already handled".into());
    }
    let raw = followup_message(app, (&award, &template, &issuer), stage, &recs, &sender);
    let due = followup::plan(&award, &template)
        .into_iter()
        .find_map(|(s, at)| (s == stage).then_some(at))
        .unwrap_or(award.created_at);
    let zone = issuer.profile.time_zone;
    let sent = send_claimed(app, &award, (stage.as_str(), zone), &sender, raw).await;
    paused_too_long(app, id, stage.as_str(), (due, now), sent)
        .await
        .map(|s| s.outcome())
}

/// Why follow-up `stage` of a valid `award` is not sent, by the award and its template alone.
fn not_for_now(
    award: &Award,
    template: &Template,
    stage: Stage,
    now: DateTime<Utc>,
) -> Option<&'static str> {
    if !award.notify || !switched_on(template, stage) {
        return Some("not sent: switched off");
    }
    // A day-3 email held back (an SES pause, a bucket run days late) until day 7's time is
    // overtaken by day 7: one promotion, not two in an hour.
    if stage == Stage::Day3
        && template.spec.follow_ups.day7
        && now >= award.created_at + chrono::Duration::days(7)
    {
        return Some("not sent: day 7's time has come");
    }
    // Without a working opt-out only the expiry reminder goes, as a plain notice
    // (`followup_mail::render`).
    (!award.can_unsubscribe() && stage != Stage::Expiry).then_some(NO_UNSUBSCRIBE_LINK)
}

/// The raw message of follow-up `stage`: a promotion with its one-click unsubscribe headers, or,
/// for an award without a working opt-out, a plain notice (`followup_mail::render` decides the
/// body the same way).
fn followup_message(
    app: &App,
    (award, template, issuer): (&Award, &Template, &crate::domain::issuer::Issuer),
    stage: Stage,
    recs: &[crate::render::badge_page::Recommendation],
    sender: &str,
) -> Vec<u8> {
    let r = followup_mail::render(stage, award, template, issuer, app.urls(), recs);
    let unsubscribe = followup_mail::unsubscribe_url(&app.urls(), award);
    let headers = if award.can_unsubscribe() {
        vec![
            ("List-Unsubscribe", format!("<{unsubscribe}>")),
            ("List-Unsubscribe-Post", "List-Unsubscribe=One-Click".into()),
        ]
    } else {
        vec![]
    };
    message(
        award,
        issuer,
        sender,
        stage.as_str(),
        (&r.subject, &r.text, &r.html),
        headers,
    )
}

/// A send's result, except that SES refusing every email more than [`WAITS_AT_MOST`] after the
/// email was `due` gives it up (recorded rejected) instead of letting it wait again.
async fn paused_too_long(
    app: &App,
    id: &AwardId,
    stage: &str,
    (due, now): (DateTime<Utc>, DateTime<Utc>),
    sent: Result<Sent, NotifyError>,
) -> Result<Sent, NotifyError> {
    match sent {
        Err(NotifyError::Paused(why)) if now - due > WAITS_AT_MOST => {
            give_up(app, id, stage, &why).await
        }
        other => other,
    }
}

/// How long an email waits out SES refusing every email (a suspended account, a sandbox that is
/// never left) before it is recorded as rejected: counted from when it was due (day 1: issued).
/// KakaoTalk messages wait their provider out as long.
pub(crate) const WAITS_AT_MOST: chrono::Duration = chrono::Duration::days(14);

/// Records `stage` of award `id` as rejected after waiting out SES refusing every email for
/// [`WAITS_AT_MOST`] (unless another run holds or finished it meanwhile).
async fn give_up(app: &App, id: &AwardId, stage: &str, why: &str) -> Result<Sent, NotifyError> {
    let why = format!(
        "SES refused every email for {} days: {why}",
        WAITS_AT_MOST.num_days()
    );
    let claimed = app
        .store
        .claim_email(id, stage, Utc::now() + CLAIM, Utc::now());
    if !claimed.await? {
        return Ok(Sent::AlreadyHandled);
    }
    app.store
        .finish_email(id, stage, "rejected", &why, Utc::now())
        .await?;
    Ok(Sent::Rejected(why))
}

/// Whether the template sends this follow-up stage.
fn switched_on(template: &Template, stage: Stage) -> bool {
    let f = &template.spec.follow_ups;
    match stage {
        Stage::Day3 => f.day3,
        Stage::Day7 => f.day7,
        Stage::Expiry => f.expiry_reminder_days.is_some(),
        // Not emails: the expiry event, and the KakaoTalk stages (`kakao`).
        _ => false,
    }
}

/// Why the recipient is not to get this follow-up, if so: unsubscribed from the issuer,
/// suppressed, or (day 7) already clicked the enrolment link.
async fn not_wanted(
    app: &App,
    award: &Award,
    stage: Stage,
) -> Result<Option<&'static str>, NotifyError> {
    let lookup = award.recipient.email.lookup_key();
    if app.store.is_unsubscribed(&award.issuer_id, &lookup).await? {
        return Ok(Some("not sent: unsubscribed"));
    }
    if app.store.is_suppressed(&lookup).await? {
        return Ok(Some("not sent: suppressed"));
    }
    if stage == Stage::Day7
        && app
            .store
            .award_counters(&award.id)
            .await?
            .get("click:enrol")
            .copied()
            .unwrap_or(0)
            > 0
    {
        return Ok(Some("not sent: already clicked enrolment"));
    }
    Ok(None)
}

/// The raw MIME message of one stage for one award: from the issuer's name at the sender
/// address, to the recipient, with the award and stage in headers, plus `extra` headers.
fn message(
    award: &Award,
    issuer: &crate::domain::issuer::Issuer,
    sender: &str,
    stage: &str,
    (subject, text, html): (&str, &str, &str),
    extra: Vec<(&'static str, String)>,
) -> Vec<u8> {
    let mut headers = extra;
    headers.push(("X-Accolade-Award", award.id.to_string()));
    headers.push(("X-Accolade-Stage", stage.to_owned()));
    mime::build(
        &mime::Message {
            from_name: &issuer.profile.name,
            from_address: sender,
            to: award.recipient.email.as_str(),
            subject,
            text,
            html,
            headers,
            message_id_domain: sender.rsplit('@').next().unwrap_or("accolade.invalid"),
        },
        Utc::now(),
    )
}

/// Counts an email SES refused outright (`email:{stage}:rejected`, as its rare Reject event
/// would): SES publishes no event for a send it refused, so analytics would never see it. Once
/// (`count_first`); best effort, the stage is marked already.
async fn count_rejected(app: &App, award: &Award, stage: &str, zone: Zone) {
    let attr = format!("email:{stage}:rejected");
    if let Err(e) = app.store.count_first(award, zone, Utc::now(), &attr).await {
        tracing::warn!(award = %award.id, error = %e, "rejected email not counted");
    }
}

/// Sends a claimed stage: marks it sent, rejected or unknown (SES may have accepted it: never
/// sent again); gives the claim back if worth retrying. Unless told to leave it to SES's Send
/// event (`Config::sent_by_mark`), the mark `sent` carries the tags that count the email sent (in
/// the issuer's `zone`), and the message's `counted` tag tells the analytics function not to
/// count its Send event.
async fn send_claimed(
    app: &App,
    award: &Award,
    (stage, zone): (&str, Zone),
    sender: &str,
    raw: Vec<u8>,
) -> Result<Sent, NotifyError> {
    let id = &award.id;
    let by_mark = app.config.sent_by_mark;
    let mut tags = vec![
        (crate::email_events::TAG_AWARD, award.id.as_str()),
        (crate::email_events::TAG_STAGE, stage),
    ];
    tags.extend(by_mark.then_some(crate::email_events::COUNTED_BY_MARK));
    // Waits of 200 ms, 400 ms and 800 ms (plus jitter) between the four tries.
    let mut retry = crate::store::Backoff::over(2..5);
    loop {
        let to = award.recipient.email.as_str();
        match app.mailer.send_raw(sender, to, raw.clone(), &tags).await {
            Ok(message_id) if by_mark => {
                app.store
                    .finish_email_sent(award, stage, &message_id, zone, Utc::now())
                    .await?;
                return Ok(Sent::Sent(message_id));
            }
            Ok(message_id) => {
                app.store
                    .finish_email(id, stage, "sent", &message_id, Utc::now())
                    .await?;
                return Ok(Sent::Sent(message_id));
            }
            Err(SendError::Rejected(why)) => {
                app.store
                    .finish_email(id, stage, "rejected", &why, Utc::now())
                    .await?;
                count_rejected(app, award, stage, zone).await;
                return Ok(Sent::Rejected(why));
            }
            Err(SendError::Unknown(why)) => {
                app.store
                    .finish_email(id, stage, "unknown", &why, Utc::now())
                    .await?;
                return Ok(Sent::Unknown(why));
            }
            // Not again in seconds: an operator has to act first.
            Err(SendError::Paused(why)) => {
                app.store.release_email(id, stage).await?;
                return Err(NotifyError::Paused(why));
            }
            Err(e @ (SendError::Throttled(_) | SendError::Other(_))) => {
                if !retry.wait().await {
                    app.store.release_email(id, stage).await?;
                    return Err(NotifyError::Retry(e.to_string()));
                }
            }
        }
    }
}

/// Sends the day-1 email of one award, at most once; answers what happened and the follow-ups
/// the award is due.
/// At `now`: a bucket's run passes its time (the clock's when later).
pub async fn send_day1(
    app: &App,
    id: &AwardId,
    now: DateTime<Utc>,
) -> Result<(Sent, Vec<Planned>), NotifyError> {
    const STAGE: &str = "day1";
    let now = now.max(Utc::now());
    // Consistent: its stream record may come before an eventually consistent read sees it, and
    // a missed award would lose its email, follow-ups and expiry for good.
    let Some(award) = app.store.get_award_consistent(id).await? else {
        return Ok((Sent::NoSuchAward, vec![]));
    };
    let Some((template, issuer)) = app.template_and_issuer(&award).await? else {
        return Ok((Sent::NoSuchAward, vec![]));
    };
    let plan = followup_plan(&award, &template);
    if let Some(not) = day1_not_wanted(&award, now) {
        return Ok((not, plan));
    }
    let Some(sender) = app.config.sender_email.clone() else {
        tracing::error!("SENDER_EMAIL is not set; no email can be sent");
        return Ok((Sent::NoSender, plan));
    };
    // Read before the claim: an invocation that dies between claiming and sending loses the
    // email (at most once), so nothing but the claim comes between them.
    let suppressed = app
        .store
        .is_suppressed(&award.recipient.email.lookup_key())
        .await?;
    if !app.store.claim_email(id, STAGE, now + CLAIM, now).await? {
        return Ok((Sent::AlreadyHandled, plan));
    }
    if suppressed {
        let why = "address is on the suppression list";
        app.store
            .finish_email(id, STAGE, "suppressed", why, now)
            .await?;
        return Ok((Sent::Suppressed, plan));
    }
    let r = day1::render(&award, &template, &issuer, app.urls());
    let raw = message(
        &award,
        &issuer,
        &sender,
        STAGE,
        (&r.subject, &r.text, &r.html),
        vec![],
    );
    let zone = issuer.profile.time_zone;
    let sent = send_claimed(app, &award, (STAGE, zone), &sender, raw).await;
    let sent = match paused_too_long(app, id, STAGE, (award.created_at, now), sent).await {
        Err(NotifyError::Paused(why)) => Sent::Deferred(why),
        sent => sent?,
    };
    Ok((sent, plan))
}

/// Why an award's day-1 email is not to go at `now`, by the award alone: none asked for, or the
/// badge revoked, replaced or expired before it went (a backlog behind a large batch, an email
/// that waited out an SES pause): no "your badge is here".
fn day1_not_wanted(award: &Award, now: DateTime<Utc>) -> Option<Sent> {
    if !award.notify {
        return Some(Sent::NotRequested);
    }
    matches!(
        award.status(now),
        AwardStatus::Revoked { .. } | AwardStatus::Superseded { .. } | AwardStatus::Expired { .. }
    )
    .then_some(Sent::NoLongerValid)
}

/// A day-1 email that waited in bucket `d`: sent now, or (SES still refusing every email) into
/// the next hour's bucket. Its follow-ups were queued when it first waited.
async fn day1_again(app: &App, d: &Due, now: DateTime<Utc>) -> Result<String, NotifyError> {
    let (sent, _) = send_day1(app, &d.award, now).await?;
    // Held by another run right now (a retried stream batch): it may be refused and wait again,
    // and the item this run deletes would be the one it waits in; so this one waits too (the
    // claim still sends it at most once).
    let held = matches!(sent, Sent::AlreadyHandled)
        && app
            .store
            .email_record(&d.award, "day1")
            .await?
            .is_some_and(|r| r.state == "sending");
    if matches!(sent, Sent::Deferred(_)) || held {
        queue_followups(app, &[waits(&d.award, Stage::Day1, after_run(d, now))]).await?;
    }
    Ok(format!("day1 {}", sent.outcome()))
}

/// The follow-ups an award is due, each with its hour bucket.
fn followup_plan(award: &Award, template: &Template) -> Vec<Planned> {
    followup::plan(award, template)
        .into_iter()
        .map(|(stage, at)| {
            (
                Due::new(award.id.clone(), stage, followup::bucket_of(at)),
                at,
            )
        })
        .collect()
}

#[cfg(test)]
mod group_tests {
    use super::*;

    #[test]
    fn sent_emails_count_as_one_outcome_whatever_their_ids() {
        let (a, b) = (Sent::Sent("msg-a".into()), Sent::Sent("msg-b".into()));
        assert_eq!(a.outcome(), b.outcome());
        assert_eq!(a.outcome(), "Sent");
        let rejected = |why: &str| Sent::Rejected(why.into()).outcome();
        assert_eq!(
            rejected("not verified: a@x.kr"),
            rejected("not verified: b@x.kr")
        );
        assert_eq!(Sent::AlreadyHandled.outcome(), "AlreadyHandled");
    }

    #[test]
    fn an_item_holding_several_goes_once_all_are_done_and_stays_if_one_is_not() {
        let key = |n: &str| Some(("DUE#b#00".to_owned(), format!("day3#G#{n}")));
        let due = |n: &str| Due {
            group: key(n),
            ..Due::new(AwardId::generate(), Stage::Day3, "b".into())
        };
        let (a, b, c) = (due("x"), due("x"), due("x"));
        let (d, e) = (due("y"), due("y"));
        let alone = Due::new(AwardId::generate(), Stage::Day7, "b".into());
        let all = [
            a.clone(),
            b.clone(),
            c.clone(),
            d.clone(),
            e.clone(),
            alone.clone(),
        ];
        let mut groups = Groups::of(&all);
        assert_eq!(groups.handled(&a, true), None);
        assert_eq!(groups.handled(&d, false), None, "left for later");
        assert_eq!(groups.handled(&b, true), None);
        assert_eq!(groups.handled(&alone, true), None, "not held with others");
        assert_eq!(groups.handled(&c, true), key("x"), "the last of x");
        assert_eq!(groups.handled(&e, true), None, "y keeps its item");
    }
}
