//! Issue #12: AWS's retry and time rules. Work that does not fit one invocation continues;
//! work whose retries run out fails visibly; nothing is scheduled in the past.

use accolade::{
    digest,
    domain::{followup, ids::IssuerId},
};
use accolade_tests::{csv_rows, spawn_app, template_body, FunctionName, TestApp};
use chrono::{TimeZone, Utc};
use serde_json::json;

#[tokio::test]
async fn a_batch_whose_attempts_all_fail_is_failed_visibly_not_left_issuing() {
    let t = spawn_app().await;
    let (_, key) = t.issuer("한빛대학교").await;
    let tpl = t
        .create_template(&key, template_body("데이터 분석 기초"))
        .await;
    let file = csv_rows(20, "fail");
    let (id, source) = t
        .uploaded_batch(
            &key,
            json!({"filename": "a.csv", "template_id": tpl["id"]}),
            &file,
        )
        .await;
    let id = id.as_str();
    // Every read of the file fails, as S3 or the network might for a while.
    t.faults().arm("GetObject", 1_000);
    let out = t
        .lambda
        .invoke_async(FunctionName::Ingest, t.s3_event(&source, file.len() as u64))
        .await;
    // Lambda's three attempts: the first two fail (and are retried), the third gives up.
    assert!(out.is_ok(), "{out:?}");
    let got = t.batch(&key, id).await;
    assert_eq!(got["status"], "failed", "{got:#}");
    let reason = got["failure_reason"]
        .as_str()
        .unwrap_or_default()
        .to_owned();
    assert!(reason.contains("3 attempts in a row"), "{reason}");
    assert!(t.lambda.failures().is_empty(), "handled, not dropped");
}

#[tokio::test]
async fn a_bucket_that_runs_out_of_time_continues_in_a_new_schedule() {
    let t = spawn_app().await;
    let (_, key) = t.issuer("한빛대학교").await;
    let tpl = t
        .create_template(&key, template_body("데이터 분석 기초"))
        .await;
    let issued_from = Utc::now();
    let mut emails = Vec::new();
    for i in 0..3 {
        let to = format!("due{i}.{}@example.com", uuid::Uuid::new_v4().simple());
        t.issue(
            &key,
            json!({"template_id": tpl["id"], "recipient": {"email": to, "name": "K"}}),
        )
        .await;
        emails.push(to);
    }
    let mut runner = t.runner();
    runner.deliver_stream().await.unwrap(); // day-1 emails; day-3 items queued
    let day3 = Utc::now() + chrono::Duration::days(3);
    let bucket = t
        .bucket_holding(
            [issued_from, Utc::now()].map(|at| followup::bucket_of(at + chrono::Duration::days(3))),
        )
        .await;
    // The invocation's time is up before it starts: nothing sent, the rest rescheduled.
    let notify = t.app_of(FunctionName::Notify);
    let report = accolade::notify::handle_due(notify, &bucket, day3, Some(Utc::now()))
        .await
        .unwrap();
    assert_eq!(report["continued"], 3, "{report}");
    for to in &emails {
        assert_eq!(t.mail_to(to).await.len(), 1, "day 1 only, so far");
    }
    assert_eq!(
        t.app.store.due_in(&bucket).await.unwrap().len(),
        3,
        "still queued"
    );
    let names = schedule_names(&t).await;
    let own = accolade::schedules::schedule_name(&bucket);
    assert!(
        names.iter().any(|n| n.starts_with(&own) && n != &own),
        "a continuation: {names:?}"
    );
    // The bucket's own schedule and the continuation fire; the bucket is handled once.
    let fired = runner
        .fire_due_schedules(Utc::now() + chrono::Duration::days(4))
        .await
        .unwrap();
    assert!(fired >= 2, "{fired}");
    assert!(
        t.app.store.due_in(&bucket).await.unwrap().is_empty(),
        "every item handled"
    );
    for to in &emails {
        assert_eq!(
            t.mail_to(to).await.len(),
            1,
            "no recommendation on this template: no day-3 mail"
        );
    }
}

async fn schedule_names(t: &TestApp) -> Vec<String> {
    aws_sdk_scheduler::Client::new(&t.sdk)
        .list_schedules()
        .group_name(&t.names.schedule_group)
        .send()
        .await
        .unwrap()
        .schedules()
        .iter()
        .filter_map(|s| s.name().map(str::to_owned))
        .collect()
}

#[test]
fn schedules_are_never_created_in_the_past() {
    let past = Utc::now() - chrono::Duration::hours(5);
    let at = accolade::schedules::not_before_next_minute(past);
    assert!(at > Utc::now() + chrono::Duration::seconds(59));
    assert_eq!(chrono::Timelike::second(&at), 0);
    let later = Utc::now() + chrono::Duration::days(3);
    assert_eq!(accolade::schedules::not_before_next_minute(later), later);
}

/// Monday 23 Nov 2026, 09:10 in Seoul: an hour after the digest's first run.
fn monday_nine() -> chrono::DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 11, 23, 0, 10, 0).unwrap()
}

/// A new issuer and the Monday of the week its digest at [`monday_nine`] reports.
async fn issuer_and_week(t: &TestApp, name: &str) -> (IssuerId, chrono::NaiveDate) {
    let (iid, _) = t.issuer(name).await;
    let issuer = t.app.store.get_issuer(&iid).await.unwrap().unwrap();
    (iid, digest::last_week(&issuer, monday_nine()).0)
}

#[tokio::test]
async fn a_digest_claimed_by_a_run_that_died_is_sent_by_a_later_run() {
    let t = spawn_app().await;
    let (iid, from) = issuer_and_week(&t, "다이제스트대학").await;
    let monday_nine = monday_nine();
    let store = &t.app_of(FunctionName::Analytics).store;
    // The 08:00 run claimed it and timed out; its claim is still live: nobody else sends.
    assert!(store
        .claim_digest(
            &iid,
            from,
            Utc::now() + chrono::Duration::minutes(5),
            Utc::now()
        )
        .await
        .unwrap());
    let out = digest::run(t.app_of(FunctionName::Analytics), monday_nine, false, None)
        .await
        .unwrap();
    assert!(
        out.contains(&digest::Outcome::AlreadySent {
            issuer: iid.to_string()
        }),
        "{out:?}"
    );
    // Once the dead run's claim has run out, the next run takes it over and finishes it.
    let (pk, sk) = accolade::store::keys::digest(&iid, from);
    aws_sdk_dynamodb::Client::new(&t.sdk)
        .update_item()
        .table_name(&t.names.table)
        .key("PK", aws_sdk_dynamodb::types::AttributeValue::S(pk))
        .key("SK", aws_sdk_dynamodb::types::AttributeValue::S(sk))
        .update_expression("SET #u = :past")
        .expression_attribute_names("#u", "until")
        .expression_attribute_values(
            ":past",
            aws_sdk_dynamodb::types::AttributeValue::S(accolade::store::keys::sortable(
                Utc::now() - chrono::Duration::minutes(1),
            )),
        )
        .send()
        .await
        .unwrap();
    let out = digest::run(t.app_of(FunctionName::Analytics), monday_nine, false, None)
        .await
        .unwrap();
    assert!(
        out.contains(&digest::Outcome::Quiet {
            issuer: iid.to_string()
        }),
        "{out:?}"
    );
    // Finished: never again.
    let out = digest::run(t.app_of(FunctionName::Analytics), monday_nine, false, None)
        .await
        .unwrap();
    assert!(
        out.contains(&digest::Outcome::AlreadySent {
            issuer: iid.to_string()
        }),
        "{out:?}"
    );
}

/// An item where releases before 2026-12-05 kept digest claims: `state`, and `until` if given.
async fn put_legacy(
    t: &TestApp,
    key: (String, String),
    state: &str,
    until: Option<chrono::DateTime<Utc>>,
) {
    use aws_sdk_dynamodb::types::AttributeValue::S;
    let mut put = aws_sdk_dynamodb::Client::new(&t.sdk)
        .put_item()
        .table_name(&t.names.table)
        .item("PK", S(key.0))
        .item("SK", S(key.1))
        .item("state", S(state.into()));
    if let Some(u) = until {
        put = put.item("until", S(accolade::store::keys::sortable(u)));
    }
    put.send().await.unwrap();
}

/// Releases before 2026-12-05 claimed a week's digest in the issuer's own partition; the claims
/// moved to a partition of their own (analytics may not write the issuer's). A week claimed
/// the old way is not claimed, nor sent, again.
#[tokio::test]
async fn a_digest_claimed_where_older_releases_claimed_it_is_not_sent_again() {
    use accolade::store::keys::{legacy_digest, legacy_digest_copy};
    let t = spawn_app().await;
    let (iid, from) = issuer_and_week(&t, "이전판대학").await;
    put_legacy(&t, legacy_digest(&iid, from), "sent", None).await;
    let out = digest::run(
        t.app_of(FunctionName::Analytics),
        monday_nine(),
        false,
        None,
    )
    .await
    .unwrap();
    let already = digest::Outcome::AlreadySent {
        issuer: iid.to_string(),
    };
    assert!(out.contains(&already), "{out:?}");
    // An old release's run that died mid-send: its claim, once run out, is taken over in the
    // new partition (while live, it is not), and the admins it had claimed get no second copy.
    let store = &t.app_of(FunctionName::Analytics).store;
    let (other, from) = issuer_and_week(&t, "새판대학").await;
    let now = Utc::now();
    let later = now + chrono::Duration::minutes(5);
    put_legacy(&t, legacy_digest(&other, from), "sending", Some(later)).await;
    let claimed = store.claim_digest(&other, from, later, now).await.unwrap();
    assert!(!claimed, "a live old claim is left to its run");
    let ran_out = Some(now - chrono::Duration::minutes(1));
    put_legacy(&t, legacy_digest(&other, from), "sending", ran_out).await;
    assert!(store.claim_digest(&other, from, later, now).await.unwrap());
    assert!(!store.claim_digest(&other, from, later, now).await.unwrap());
    let sent = legacy_digest_copy(&other, from, "a@example.com");
    put_legacy(&t, sent, "sending", None).await;
    let copy = |who: &'static str| store.claim_digest_copy(&other, from, who, now);
    assert!(
        !copy("a@example.com").await.unwrap(),
        "claimed by the old run"
    );
    assert!(copy("b@example.com").await.unwrap());
    assert!(!copy("b@example.com").await.unwrap());
}
