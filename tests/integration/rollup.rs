//! Issue #15 item 2: a counted event (badge view, click, share, SES event) costs one read and one
//! write, the award's counters; notify rolls the table's stream up into the day items of the
//! award's segments — one `ADD` per segment day per batch, exactly once whatever Lambda
//! redelivers, bisects or half-writes.

use crate::analytics::{click, ses, world};
use accolade::domain::{award::Award, ids::AwardId, tally::Segment, time::Zone};
use accolade_tests::{spawn_app, StatusCode, TestApp};
use chrono::{Duration, Utc};
use serde_json::json;
use std::collections::BTreeMap;

/// Counters only the segments have (moved by the issuing and revoking transactions).
const LIFECYCLE: [&str; 3] = ["issued", "expires", "revoked"];

fn ops(pairs: &[(&str, u64)]) -> BTreeMap<String, u64> {
    pairs.iter().map(|(k, v)| ((*k).to_owned(), *v)).collect()
}

/// The sum of the counters of `of`, with `awards_viewed` / `awards_shared`: how many of them
/// were viewed / shared at all.
fn award_sums(
    of: &[&Award],
    counters: &BTreeMap<AwardId, BTreeMap<String, i64>>,
) -> BTreeMap<String, i64> {
    let mut want: BTreeMap<String, i64> = BTreeMap::new();
    for a in of {
        let c = counters.get(&a.id).cloned().unwrap_or_default();
        for (k, v) in &c {
            *want.entry(k.clone()).or_default() += v;
        }
        for (counter, first) in [("views", "awards_viewed"), ("shares", "awards_shared")] {
            if c.get(counter).is_some_and(|n| *n > 0) {
                *want.entry(first.to_owned()).or_default() += 1;
            }
        }
    }
    want.retain(|_, v| *v != 0);
    want
}

/// Every segment of `awards` (template, batch, cohort): its day items, yesterday to tomorrow (a
/// run across midnight still adds up), equal the sum of its awards' counters.
async fn assert_days_equal_award_sums(t: &TestApp, awards: &[String]) {
    let ids: Vec<AwardId> = awards.iter().map(|a| AwardId::parse(a).unwrap()).collect();
    let store = &t.app.store;
    let list = store.get_awards(&ids).await.unwrap();
    assert_eq!(list.len(), ids.len());
    let counters: BTreeMap<AwardId, BTreeMap<String, i64>> = store
        .award_counters_many(&ids)
        .await
        .unwrap()
        .into_iter()
        .collect();
    let mut members: BTreeMap<Segment, Vec<&Award>> = BTreeMap::new();
    for a in &list {
        for s in Segment::of(a) {
            members.entry(s).or_default().push(a);
        }
    }
    let today = Zone::default().date_of(Utc::now());
    for (seg, of) in &members {
        let mut got: BTreeMap<String, i64> = BTreeMap::new();
        let days = store
            .segment_days(seg, today - Duration::days(1), today + Duration::days(1))
            .await
            .unwrap();
        for (_, day) in days {
            for (k, v) in day {
                if !LIFECYCLE.contains(&k.as_str()) {
                    *got.entry(k).or_default() += v;
                }
            }
        }
        got.retain(|_, v| *v != 0);
        assert_eq!(got, award_sums(of, &counters), "{seg:?}");
    }
}

#[tokio::test]
async fn a_counted_event_is_one_read_and_one_write_and_a_batch_one_add_per_segment_day() {
    let t = spawn_app().await;
    let w = world(&t).await;
    let (a0, a1, a2) = (&w.awards[0], &w.awards[1], &w.awards[2]);
    // Warm verify's and analytics' caches (issuer, template); roll up everything so far.
    assert_eq!(t.browse(&format!("/b/{a0}")).await.status, StatusCode::OK);
    t.ses_event(&ses("Open", a2, "day1")).await;
    t.roll_up().await;

    let one_write = ops(&[("dynamodb.GetItem", 1), ("dynamodb.UpdateItem", 1)]);
    for (what, path) in [
        ("a first view", format!("/b/{a1}")),
        ("a view", format!("/b/{a1}")),
        ("a click", format!("/b/{a0}/go/banner")),
        (
            "a click from an email",
            format!("/b/{a0}/go/enrol?src=email-day3"),
        ),
        ("a share", format!("/b/{a0}/go/share-x")),
        ("a first share", format!("/b/{a1}/go/linkedin-add")),
    ] {
        t.requests.reset();
        let status = t.browse(&path).await.status;
        assert!(
            status == StatusCode::OK || status == StatusCode::FOUND,
            "{what}: {status}"
        );
        assert_eq!(t.requests.snapshot(), one_write, "{what}");
    }
    t.requests.reset();
    assert_eq!(
        t.ses_event(&ses("Delivery", a0, "day1")).await,
        "counted email:day1:delivered"
    );
    assert_eq!(
        t.requests.snapshot(),
        ops(&[("dynamodb.GetItem", 2), ("dynamodb.UpdateItem", 1)]),
        "an SES delivery: the award and the email's mark (whether its send ended unknown), then \
         its counting write, on the condition that it is the first"
    );
    t.requests.reset();
    assert_eq!(
        t.ses_event(&ses("Open", a0, "day1")).await,
        "counted email:day1:opened"
    );
    assert_eq!(
        t.requests.snapshot(),
        ops(&[("dynamodb.GetItem", 1), ("dynamodb.TransactWriteItems", 1)]),
        "an SES open (opens repeat): the award, then its counting write and the event's mark together"
    );
    t.requests.reset();
    t.browse(&format!("/b/{a0}.json")).await;
    assert_eq!(
        t.requests.snapshot(),
        ops(&[("dynamodb.GetItem", 1)]),
        "Open Badges JSON"
    );

    // Twenty more views of three badges, at once; then one stream batch rolls all of it up in
    // one transaction: the span of records it covers, and today's template and cohort items
    // (a2 has no cohort), each once however many events it sums, after one Query of the
    // shard's spans around the batch and, beside it, one GetItem of the stream's mark (was it
    // rolled up by award lately? no). a2's first view is a webhook fact (`award.viewed`): one
    // Query of the issuer's endpoints (it has none) for the whole batch.
    let views = (0..20).map(|i| {
        let (t, id) = (&t, [a0, a1, a2][i % 3]);
        async move { t.browse(&format!("/b/{id}")).await.status }
    });
    let statuses = futures::future::join_all(views).await;
    assert!(statuses.iter().all(|s| *s == StatusCode::OK));
    t.requests.reset();
    t.roll_up().await;
    assert_eq!(
        t.requests.snapshot(),
        ops(&[
            ("dynamodb.GetItem", 1),
            ("dynamodb.Query", 2),
            ("dynamodb.TransactWriteItems", 1)
        ])
    );
    // (Every badge of the world: each one's day-1 email is counted sent.)
    let mut every = w.awards.clone();
    for a in t.batch_awards(&w.key, &w.batch).await {
        every.push(a["id"].as_str().unwrap().to_owned());
    }
    every.push(w.of_b.clone());
    assert_days_equal_award_sums(&t, &every).await;
    // Nothing new on the stream: nothing written.
    t.requests.reset();
    t.roll_up().await;
    assert_eq!(t.requests.total(), 0, "{:?}", t.requests.snapshot());
}

/// What one badge gets in the concurrent round: views, a preview, clicks and shares, SES events.
async fn activity(t: &TestApp, id: &str, i: usize, recommends: bool) {
    for _ in 0..=(i % 3) {
        assert_eq!(t.browse(&format!("/b/{id}")).await.status, StatusCode::OK);
    }
    if i % 2 == 0 {
        let bot = [(
            "user-agent",
            "Slackbot-LinkExpanding 1.0 (+https://api.slack.com/robots)",
        )];
        t.call_with("GET", &format!("/b/{id}"), None, None, &bot)
            .await;
    }
    let mut slots = ["share-linkedin", "share-x", "linkedin-add"][..i % 4].to_vec();
    if recommends {
        slots.extend(["banner", "enrol?src=email-day7"]);
    }
    for slot in slots {
        click(t, id, slot).await;
    }
    t.ses_event(&ses("Send", id, "day1")).await;
    if i % 3 != 1 {
        t.ses_event(&ses("Delivery", id, "day1")).await;
        t.ses_event(&ses("Delivery", id, "day1")).await; // reported twice: counted once
    }
    for _ in 0..(i % 3) {
        t.ses_event(&ses("Open", id, "day1")).await;
    }
}

#[tokio::test]
async fn day_items_equal_the_sum_of_award_counters_whatever_the_stream_redelivers() {
    let t = spawn_app().await;
    let w = world(&t).await;
    // Template A: 3 API badges (2 in cohort 2026-봄) and a CSV batch of 4 (2026-봄); template
    // B: its badge and 2 more in cohort 2026-가을 (every badge's day-1 email is counted sent).
    let mut awards = w.awards.clone();
    for a in t.batch_awards(&w.key, &w.batch).await {
        awards.push(a["id"].as_str().unwrap().to_owned());
    }
    let of_a = awards.len();
    awards.push(w.of_b.clone());
    for i in 0..2 {
        let to = format!("fall{i}.{}@example.com", uuid::Uuid::new_v4().simple());
        let a = t
            .issue(&w.key, json!({"template_id": w.b, "cohort": "2026-가을", "recipient": {"email": to, "name": "가을"}}))
            .await;
        awards.push(a["id"].as_str().unwrap().to_owned());
    }

    // Every badge's activity at once, while the stream is rolled up alongside.
    let events = futures::future::join_all(
        awards
            .iter()
            .enumerate()
            .map(|(i, id)| activity(&t, id, i, i < of_a)),
    );
    let rollups = async {
        for _ in 0..3 {
            t.roll_up().await;
        }
    };
    tokio::join!(events, rollups);
    t.roll_up().await;
    assert_days_equal_award_sums(&t, &awards).await;

    // A rollup transaction lands but its answer is lost; the SDK's retry finds its span there,
    // the rollup reads the spans again and writes nothing more.
    let paths: Vec<String> = awards.iter().map(|id| format!("/b/{id}")).collect();
    futures::future::join_all(paths.iter().map(|p| t.browse(p))).await;
    t.faults().arm("TransactWriteItems", 1);
    t.roll_up().await;
    assert_eq!(t.faults().remaining("TransactWriteItems"), 0);
    assert_days_equal_award_sums(&t, &awards).await;

    // Every try the SDK makes fails after the first landed: the batch reports its first record
    // failed, and Lambda delivers it again; the span written makes that a no-op.
    for id in &awards {
        click(&t, id, "share-facebook").await;
    }
    t.faults().arm("TransactWriteItems", 3);
    t.requests.reset();
    t.roll_up().await;
    assert_eq!(t.faults().remaining("TransactWriteItems"), 0);
    assert_eq!(
        t.requests.snapshot(),
        ops(&[
            ("dynamodb.GetItem", 2),
            ("dynamodb.Query", 4),
            ("dynamodb.TransactWriteItems", 3)
        ]),
        "delivered twice, each time one Query of the spans, one GetItem of the stream's mark and \
         one Query of the issuer's webhook endpoints; the SDK's three tries of the one \
         transaction, and none on the redelivery, which found its records in the span that landed"
    );
    assert_days_equal_award_sums(&t, &awards).await;

    // The function fails after the rollup was written (the new badge's follow-ups cannot be
    // queued): Lambda bisects the batch and delivers both halves again.
    let to = format!("late.{}@example.com", uuid::Uuid::new_v4().simple());
    let late = t
        .issue(&w.key, json!({"template_id": w.a, "cohort": "2026-봄", "recipient": {"email": to, "name": "늦게"}}))
        .await;
    awards.push(late["id"].as_str().unwrap().to_owned());
    for id in awards.iter().rev().take(4) {
        t.browse(&format!("/b/{id}")).await;
        click(&t, id, "share-linkedin").await;
    }
    t.faults().arm("BatchWriteItem", 3);
    t.roll_up().await;
    assert_eq!(t.faults().remaining("BatchWriteItem"), 0);
    assert_days_equal_award_sums(&t, &awards).await;
    assert!(
        t.lambda.failures().is_empty(),
        "nothing given up on: {:?}",
        t.lambda.failures()
    );
}

/// Releases before 2026-12-05 kept a watermark per award (`AWARD#{aid}`/`ROLLUP`). A batch they
/// had rolled up in part and that comes back after the upgrade (the first of its shard, so no
/// span precedes it) skips what they had rolled up; after it, the shard's spans decide.
#[tokio::test]
async fn what_older_releases_rolled_up_by_award_watermarks_is_not_rolled_up_again() {
    use aws_sdk_dynamodb::types::AttributeValue::{N, S};
    let t = spawn_app().await;
    let (_, tpl, award) = t.one_award().await;
    let id = award["id"].as_str().unwrap();
    for _ in 0..3 {
        assert_eq!(t.browse(&format!("/b/{id}")).await.status, StatusCode::OK);
    }
    // An older release had rolled up the first two views (the counters' versions 1 and 2).
    let (pk, sk) = accolade::store::keys::award_rollup(&AwardId::parse(id).unwrap());
    aws_sdk_dynamodb::Client::new(&t.sdk)
        .put_item()
        .table_name(&t.names.table)
        .item("PK", S(pk))
        .item("SK", S(sk))
        .item("rolled", N("2".into()))
        .item("type", S("award_rollup".into()))
        .send()
        .await
        .unwrap();
    t.roll_up().await;
    let tid = accolade::domain::ids::TemplateId::parse(tpl["id"].as_str().unwrap()).unwrap();
    let today = Zone::default().date_of(Utc::now());
    let day = t.app.store.daily_counters(&tid, today).await.unwrap();
    assert_eq!(day.get("views"), Some(&1), "the third view only: {day:?}");
    assert_eq!(
        day.get("awards_viewed"),
        None,
        "the first view was rolled up before: {day:?}"
    );
    // The next batch follows the span just written; the old watermark is not read again.
    t.browse(&format!("/b/{id}")).await;
    t.requests.reset();
    t.roll_up().await;
    assert_eq!(
        t.requests.get("dynamodb.BatchGetItem"),
        0,
        "{:?}",
        t.requests.snapshot()
    );
    let day = t.app.store.daily_counters(&tid, today).await.unwrap();
    assert_eq!(day.get("views"), Some(&2), "{day:?}");
}
