//! SES delivery events (configuration set → EventBridge → the analytics Lambda): per-award and
//! per-template-day counters for every stage, and the suppression list.
//!
//! Counters: `email:{stage}:{sent|delivered|bounced|complained|opened|clicked|rejected}`. An
//! EventBridge event can arrive twice, and a repeat counts nothing. What happens to an email
//! once (sent, delivered, bounced, complained, rejected) is counted by one conditional write of
//! the award's counters item: the counter is 1 or absent, and is its own mark. Opens and clicks
//! repeat: each one's event id is recorded in the same transaction as its counting write. A
//! permanent bounce or a complaint suppresses the address for every later send.
//!
//! `sent` is counted by the stage's mark (notify's put of `EMAIL#{stage}`, `state` = `sent`, its
//! stream record rolled up: `store::counters::change_of`), not by SES's Send event, which the
//! configuration set publishes only during an upgrade (`CountSentEmailsBy`, README step 15): one
//! write and one invocation less an email. A message says so by its tag [`COUNTED_BY_MARK`]; one
//! without it (sent by an earlier release, or with `send-event`) is counted by its Send event.

use crate::{app::App, domain::ids::AwardId, events::BoxError, store::StoreError};
use chrono::{DateTime, Utc};
use serde_json::{json, Value};

/// Our tags on every message (SESv2 `EmailTags`), read back from the event.
pub const TAG_AWARD: &str = "award";
pub const TAG_STAGE: &str = "stage";
/// Our tag on a message whose stage's mark `sent` counts it (`email:{stage}:sent`): its Send
/// event, if the configuration set publishes one (`CountSentEmailsBy` `both`), counts nothing.
pub const COUNTED_BY_MARK: (&str, &str) = ("counted", "mark");

/// The counter an event adds to. A bounce or "complaint" SES raises because the address is on
/// the AWS account's suppression list (`bounceSubType` / `complaintSubType`
/// `OnAccountSuppressionList`: SES accepted the email and never tried to send it) is neither a
/// mailbox's bounce nor a recipient's complaint: the email was not sent, which is what
/// `rejected` counts.
fn counter_word(event_type: &str, detail: &Value) -> Option<&'static str> {
    let listed = Some(&json!("OnAccountSuppressionList"));
    let on_the_list = match event_type {
        "Bounce" => detail.pointer("/bounce/bounceSubType") == listed,
        "Complaint" => detail.pointer("/complaint/complaintSubType") == listed,
        _ => false,
    };
    if on_the_list {
        return Some("rejected");
    }
    Some(match event_type {
        "Send" => "sent",
        "Delivery" => "delivered",
        "Bounce" => "bounced",
        "Complaint" => "complained",
        "Open" => "opened",
        "Click" => "clicked",
        "Reject" => "rejected",
        _ => return None,
    })
}

/// What happens to an email at most once (it is sent, delivered or bounced once; a badge gets one
/// email per stage): counted on the award's counters item alone, whose counter is its own mark.
/// Opens and clicks can repeat: each is counted once by its event id.
/// Listed, not excluded: a new kind of event is counted per event until it is known to happen once.
fn once_per_email(word: &str) -> bool {
    matches!(
        word,
        "sent" | "delivered" | "bounced" | "complained" | "rejected"
    )
}

fn tag<'a>(detail: &'a Value, name: &str) -> Option<&'a str> {
    detail
        .pointer(&format!("/mail/tags/{name}/0"))
        .and_then(Value::as_str)
}

/// What an event says of the address, when it is not what its type says: a bounce that is not
/// permanent (a full mailbox, an auto-reply: `Transient`, `Undetermined`; the email is often
/// delivered after all) is not a bounce, and a complaint whose feedback says `not-spam` is not a
/// complaint. Neither is counted, announced or suppresses.
fn not_what_it_says(detail: &Value, event_type: &str) -> Option<&'static str> {
    let at = |p: &str| detail.pointer(p).and_then(Value::as_str);
    match event_type {
        "Bounce" if at("/bounce/bounceType") != Some("Permanent") => Some("not a permanent bounce"),
        "Complaint" if at("/complaint/complaintFeedbackType") == Some("not-spam") => {
            Some("feedback says not spam")
        }
        _ => None,
    }
}

/// A permanent bounce or a complaint puts each address it names on the suppression list.
async fn suppress_recipients(
    app: &App,
    detail: &Value,
    event_type: &str,
) -> Result<(), StoreError> {
    let list = if event_type == "Bounce" {
        "/bounce/bouncedRecipients"
    } else if event_type == "Complaint" {
        "/complaint/complainedRecipients"
    } else {
        return Ok(());
    };
    for r in detail
        .pointer(list)
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
    {
        let Some(addr) = r.get("emailAddress").and_then(Value::as_str) else {
            continue;
        };
        if let Ok(email) = crate::domain::email::Email::parse(addr) {
            app.store
                .suppress(
                    &email.lookup_key(),
                    &format!("SES {event_type}"),
                    Utc::now(),
                )
                .await?;
        }
    }
    Ok(())
}

/// The day an event is counted on: what happens to an email once (sent, delivered, bounced, …)
/// on the day it was sent (`mail.timestamp`), so a week's delivery rate divides the deliveries
/// of its own sends (an email sent Sunday 23:59 and delivered Monday counts in Sunday's week);
/// an open or a click when it happened (the event's `time`). Never when it was processed:
/// EventBridge retries for up to a day, and a replay comes later still.
fn happened_at(event: &Value, word: &str) -> DateTime<Utc> {
    let pointer = if once_per_email(word) {
        "/detail/mail/timestamp"
    } else {
        "/time"
    };
    event
        .pointer(pointer)
        .and_then(Value::as_str)
        .and_then(|t| DateTime::parse_from_rfc3339(t).ok())
        .map_or_else(Utc::now, |t| t.with_timezone(&Utc))
}

/// Our message's award and stage, from its tags, and whether its mark counts it sent.
fn ours(detail: &Value) -> Option<(AwardId, &str, bool)> {
    let award = tag(detail, TAG_AWARD).and_then(|a| AwardId::parse(a).ok())?;
    let stage = tag(detail, TAG_STAGE).filter(|s| crate::domain::metrics::STAGES.contains(s))?;
    let by_mark = tag(detail, COUNTED_BY_MARK.0) == Some(COUNTED_BY_MARK.1);
    Some((award, stage, by_mark))
}

/// SES's events that say what became of an email it took (a bounce of any kind: SES reports a
/// soft one only once it gave up).
const OUTCOMES: [&str; 4] = ["Delivery", "Bounce", "Complaint", "Reject"];

/// An email whose send ended `unknown` (SES's answer was lost) has no mark `sent`, yet SES took
/// it if it reports what became of it: counted sent here, once (`count_first`), on its send's
/// day. The mark is read consistently: it is written seconds before such an event can come.
async fn count_sent_if_unmarked(
    app: &App,
    award: &AwardId,
    stage: &str,
    event: &Value,
) -> Result<(), StoreError> {
    if app
        .store
        .email_state_consistent(award, stage)
        .await?
        .as_deref()
        != Some("unknown")
    {
        return Ok(());
    }
    let Some(a) = app.store.get_award(award).await? else {
        return Ok(());
    };
    let issuer = app.issuer_for_page(&a.issuer_id).await?;
    let zone = issuer.map(|i| i.profile.time_zone).unwrap_or_default();
    let attr = format!("email:{stage}:sent");
    let sent_at = happened_at(event, "sent");
    app.store.count_first(&a, zone, sent_at, &attr).await?;
    Ok(())
}

pub async fn handle_event(app: App, event: Value) -> Result<Value, BoxError> {
    Ok(json!({ "outcome": record(&app, &event).await? }))
}

/// Applies one EventBridge SES event. Answers what it did, for logs and tests.
pub async fn record(app: &App, event: &Value) -> Result<String, StoreError> {
    if event.get("source").and_then(Value::as_str) != Some("aws.ses") {
        return Ok("ignored: not an SES event".into());
    }
    let detail = &event["detail"];
    let event_type = detail
        .get("eventType")
        .or_else(|| detail.get("notificationType"))
        .and_then(Value::as_str)
        .unwrap_or("");
    let Some(id) = event.get("id").and_then(Value::as_str) else {
        return Ok("ignored: no event id".into());
    };
    let ours = ours(detail);
    if let Some((award, stage, true)) = &ours {
        if event_type == "Send" {
            return Ok("Send: not counted, the stage's mark counts it".into());
        }
        if OUTCOMES.contains(&event_type) {
            count_sent_if_unmarked(app, award, stage, event).await?;
        }
    }
    if let Some(why) = not_what_it_says(detail, event_type) {
        return Ok(format!("{event_type}: not counted, {why}"));
    }
    // Suppress first: it matters even for mail we cannot tie to an award. Putting an address on
    // the list twice is harmless, so a retry (EventBridge delivers at least once, and again
    // after a failure) always gets this far; only the counting below must happen once.
    suppress_recipients(app, detail, event_type).await?;
    let (Some(word), Some((award, stage, _))) = (counter_word(event_type, detail), ours) else {
        return Ok(format!("{event_type}: not ours or not counted"));
    };
    let Some(a) = app.store.get_award(&award).await? else {
        return Ok("ignored: unknown award".into());
    };
    let issuer = app.issuer_for_page(&a.issuer_id).await?;
    let zone = issuer.map(|i| i.profile.time_zone).unwrap_or_default();
    let attr = format!("email:{stage}:{word}");
    let now = happened_at(event, word);
    let counted = if once_per_email(word) {
        app.store.count_first(&a, zone, now, &attr).await?
    } else {
        let attrs = std::slice::from_ref(&attr);
        app.store.count_event_once(id, &a, zone, now, attrs).await?
    };
    Ok(if counted {
        format!("counted {attr}")
    } else {
        "ignored: already counted".into()
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_bounce_or_complaint_raised_by_the_accounts_suppression_list_counts_as_not_sent() {
        let listed = json!({"complaint": {"complaintSubType": "OnAccountSuppressionList"}});
        assert_eq!(counter_word("Complaint", &listed), Some("rejected"));
        let real =
            json!({"complaint": {"complaintSubType": null, "complaintFeedbackType": "abuse"}});
        assert_eq!(counter_word("Complaint", &real), Some("complained"));
        assert_eq!(counter_word("Delivery", &listed), Some("delivered"));
        let bounce = json!({"bounce": {"bounceType": "Permanent", "bounceSubType": "OnAccountSuppressionList"}});
        assert_eq!(counter_word("Bounce", &bounce), Some("rejected"));
        let mailbox = json!({"bounce": {"bounceType": "Permanent", "bounceSubType": "General"}});
        assert_eq!(counter_word("Bounce", &mailbox), Some("bounced"));
    }

    #[test]
    fn an_email_is_counted_on_the_day_it_was_sent_and_an_open_when_it_happened() {
        let event = json!({
            "time": "2026-11-23T00:05:00Z",
            "detail": {"mail": {"timestamp": "2026-11-22T14:59:00.000Z"}},
        });
        let day = |word| happened_at(&event, word).to_rfc3339();
        assert_eq!(day("delivered"), "2026-11-22T14:59:00+00:00");
        assert_eq!(day("bounced"), "2026-11-22T14:59:00+00:00");
        assert_eq!(day("opened"), "2026-11-23T00:05:00+00:00");
        let bare = json!({});
        let before = Utc::now();
        assert!(happened_at(&bare, "delivered") >= before, "unreadable: now");
    }
}
