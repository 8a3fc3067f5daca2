//! What became of the messages. Minutes after a request, the messages it took wait in a bucket
//! of their own (`poll{1|3|7}-{yymmddHHMM}-{request id}`); when it runs, one request lists them
//! at the provider, and each final one is counted exactly once on its award
//! (`kakao:{stage}:{delivered|fallback_sms|failed}`, set with the stage's `result` in one
//! transaction). Pending ones are asked about again every 10 minutes, for a day.

use super::{account, account_of, awards_of, clock, done, dues_of, post, Context, Ready};
use crate::{
    app::App,
    domain::{award::Award, followup::Stage},
    messaging::{Account, Channel, Delivery, Listed, ProviderError},
    notify::{NotifyError, Planned},
    store::followups::Due,
};
use chrono::{DateTime, Duration, NaiveDateTime, Utc};
use futures::StreamExt;
use std::{
    collections::{BTreeMap, HashMap, HashSet},
    sync::atomic::{AtomicBool, Ordering},
};

const FIRST_ASK: Duration = Duration::minutes(5);
const AGAIN: Duration = Duration::minutes(10);
const GIVE_UP: Duration = Duration::hours(24);

fn digit(stage: Stage) -> char {
    match stage {
        Stage::KakaoDay7 => '7',
        Stage::KakaoDay3 => '3',
        _ => '1',
    }
}

/// A result bucket's stage, send time and request id.
fn parse(bucket: &str) -> Option<(Stage, DateTime<Utc>, &str)> {
    let rest = bucket.strip_prefix("poll")?;
    let (d, rest) = rest.split_at_checked(1)?;
    let stage = match d {
        "1" => Stage::KakaoDay1,
        "3" => Stage::KakaoDay3,
        "7" => Stage::KakaoDay7,
        _ => return None,
    };
    let (when, id) = rest.strip_prefix('-')?.split_once('-')?;
    let at = NaiveDateTime::parse_from_str(when, "%y%m%d%H%M")
        .ok()?
        .and_utc();
    Some((stage, at, id))
}

/// Whether a due bucket is one of these.
pub fn is_results(bucket: &str) -> bool {
    parse(bucket).is_some()
}

/// Puts the messages a request took in its result bucket, asked about in 5 minutes.
pub async fn ask_later(
    app: &App,
    stage: Stage,
    request_id: &str,
    taken: &[&Context],
    now: DateTime<Utc>,
) -> Result<(), NotifyError> {
    if taken.is_empty() || request_id.is_empty() || request_id.starts_with('(') {
        return Ok(());
    }
    let bucket = format!(
        "poll{}-{}-{request_id}",
        digit(stage),
        now.format("%y%m%d%H%M")
    );
    let at = now + FIRST_ASK;
    let planned: Vec<Planned> = taken
        .iter()
        .map(|c| {
            let due = Due::new(c.award.id.clone(), Stage::KakaoResult, bucket.clone());
            (due, at)
        })
        .collect();
    app.store.put_followups(&planned).await?;
    app.schedules
        .continue_bucket(&bucket, at)
        .await
        .map_err(NotifyError::Retry)?;
    Ok(())
}

/// Asks the provider about a result bucket's messages and counts the final ones.
pub async fn handle(
    app: &App,
    bucket: &str,
    due: Vec<Due>,
    now: DateTime<Utc>,
) -> Result<BTreeMap<String, u64>, NotifyError> {
    let mut outcomes = BTreeMap::new();
    let awards = awards_of(app, due).await?;
    // One request's messages: one issuer's.
    let found = match (parse(bucket), awards.first()) {
        (Some(p), Some((first, _))) => account(app, &first.issuer_id).await?.map(|r| (p, r)),
        _ => None,
    };
    let Some(((stage, sent_at, request_id), ready)) = found else {
        done(app, &dues_of(awards)).await?;
        return Ok(outcomes);
    };
    // Only the messages still waiting for a result are asked about one by one.
    let waiting: HashSet<String> = awards
        .iter()
        .filter(|(_, due)| due.is_some())
        .filter_map(|(a, _)| a.recipient.phone.as_ref().map(|p| p.national()))
        .collect();
    let found = listed(app, &ready, (stage, request_id, bucket), &waiting).await;
    let pending = count_final(app, stage, awards, &found, now, &mut outcomes).await?;
    if !pending.is_empty() {
        if clock(now) - sent_at < GIVE_UP {
            app.schedules
                .continue_bucket(bucket, clock(now) + AGAIN)
                .await
                .map_err(NotifyError::Retry)?;
        } else {
            done(app, &pending).await?;
        }
        outcomes.insert("pending".into(), pending.len() as u64);
    }
    Ok(outcomes)
}

/// The provider's list of a request's messages, by national phone number, with what became of
/// the ones it names without saying asked for one by one (a few at once). The provider's
/// trouble (or a list not ready yet) only means: ask again later, so it is left out.
async fn listed(
    app: &App,
    ready: &Ready,
    (stage, request_id, bucket): (Stage, &str, &str),
    waiting: &HashSet<String>,
) -> HashMap<String, Delivery> {
    let channel = if stage == Stage::KakaoDay1 {
        Channel::AlimTalk
    } else {
        Channel::Sms
    };
    let account = account_of(app, ready);
    let now_ms = Utc::now().timestamp_millis();
    let req = ready
        .provider
        .results(&account, channel, request_id, now_ms);
    let listed = match post(app, &req).await {
        Ok((status, body)) => ready
            .provider
            .deliveries(channel, status, &body)
            .map_err(|e| e.to_string()),
        Err(e) => Err(e.to_string()),
    };
    let listed = listed.unwrap_or_else(|why| {
        tracing::warn!(bucket, error = %why, "KakaoTalk results not read; asked again later");
        Listed::default()
    });
    let mut ask: Vec<_> = (listed.ask.into_iter())
        .filter(|(to, _)| waiting.contains(to))
        .collect();
    // From another place each round: a round cut short by a 429 must not leave the same
    // messages unasked every time (those at the end of the list would never be counted).
    if !ask.is_empty() {
        let from = usize::from(uuid::Uuid::new_v4().as_bytes()[0]) % ask.len();
        ask.rotate_left(from);
    }
    let asked = ask_each(app, ready, (&account, channel), ask.into_iter(), bucket).await;
    listed.known.into_iter().chain(asked).collect()
}

/// What became of each message of `ask` (national number, message id), asked for one by one,
/// [`ASKED_AT_ONCE`] at a time. Once the provider answers one with "not now" (throttled,
/// unavailable: [`ProviderError::Retry`]) or not clearly, the round stops asking: the messages
/// not asked yet wait for the next poll instead of meeting the same answer (the caller starts
/// each round at another place of the list, so none waits every time).
async fn ask_each(
    app: &App,
    ready: &Ready,
    (account, channel): (&Account<'_>, Channel),
    ask: impl Iterator<Item = (String, String)>,
    bucket: &str,
) -> Vec<(String, Delivery)> {
    let stopped = AtomicBool::new(false);
    let stopped = &stopped;
    futures::stream::iter(ask)
        .map(|(to, id)| async move {
            if stopped.load(Ordering::Relaxed) {
                return None;
            }
            let req = (ready.provider).result(account, channel, &id, Utc::now().timestamp_millis());
            let read = match post(app, &req).await {
                Ok((status, body)) => ready.provider.delivery(channel, status, &body),
                Err(e) => Err(e),
            };
            match read {
                Ok(d) => Some((to, d)),
                Err(why) => {
                    if matches!(why, ProviderError::Retry(_) | ProviderError::Unknown(_)) {
                        stopped.store(true, Ordering::Relaxed);
                    }
                    tracing::warn!(bucket, message = %id, error = %why, "KakaoTalk result not read; asked again later");
                    None
                }
            }
        })
        .buffer_unordered(ASKED_AT_ONCE)
        .filter_map(|r| async move { r })
        .collect()
        .await
}

/// How many of a request's messages are asked about at once.
const ASKED_AT_ONCE: usize = 8;

/// Counts each message the list says is final, once, and takes its due item out; answers the
/// due items of the messages still pending.
async fn count_final(
    app: &App,
    stage: Stage,
    awards: Vec<(Award, Option<Due>)>,
    found: &HashMap<String, Delivery>,
    now: DateTime<Utc>,
    outcomes: &mut BTreeMap<String, u64>,
) -> Result<Vec<Due>, NotifyError> {
    let mut pending = Vec::new();
    let name = stage.as_str().trim_start_matches("kakao-");
    for (award, due) in awards {
        let Some(due) = due else { continue };
        let word = award
            .recipient
            .phone
            .as_ref()
            .and_then(|p| found.get(&p.national()))
            .and_then(|d| d.word());
        let Some(word) = word else {
            pending.push(due);
            continue;
        };
        let zone = app
            .issuer_for_page(&award.issuer_id)
            .await?
            .map(|i| i.profile.time_zone)
            .unwrap_or_default();
        let attr = format!("kakao:{name}:{word}");
        app.store
            .count_result_once(&award, stage.as_str(), word, zone, clock(now), &[attr])
            .await?;
        done(app, std::slice::from_ref(&due)).await?;
        *outcomes.entry(word.to_owned()).or_default() += 1;
    }
    Ok(pending)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn result_buckets_name_their_request() {
        let (stage, at, id) = parse("poll3-2612011430-RSSA-1700000000000-4236-abc").unwrap();
        assert_eq!(stage, Stage::KakaoDay3);
        assert_eq!(at.format("%Y-%m-%d %H:%M").to_string(), "2026-12-01 14:30");
        assert_eq!(id, "RSSA-1700000000000-4236-abc");
        // Scheduler's 64 characters, with a continuation's 9 more: a long bucket is hashed.
        let long = format!("poll1-2612011430-{}", "R".repeat(60));
        let name = crate::schedules::schedule_name(&long);
        assert!(name.len() + 9 <= 64, "{name}");
        assert_ne!(name, crate::schedules::schedule_name(&format!("{long}X")));
        for not in [
            "2026-12-01T14",
            "batch-bat_x",
            "poll9-2612011430-x",
            "poll1-junk-x",
        ] {
            assert!(!is_results(not), "{not}");
        }
    }
}
