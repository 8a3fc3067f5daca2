//! `infra replay-failures`: what Lambda gave up on reaches the stack's failure queue, as in AWS;
//! once the cause is mended (here: the missing permission deployed), the replay hands it to the
//! function again and nothing is lost or done twice.

use accolade_tests::{edited_template, spawn_app_with, spec, template_body, TestApp};
use infra::lambda::{Instruments, LocalLambda};
use infra::replay::{Invoker, Outcome, Replay};
use serde_json::json;

/// The functions deployed again with template.yaml as it is (the operator's fix, deployed).
async fn mended(t: &TestApp) -> LocalLambda {
    let mut stack = t.lambda.stack.clone();
    stack.spec = std::sync::Arc::new(spec().clone());
    LocalLambda::deploy(stack, Instruments::default())
        .await
        .expect("functions deployed again")
}

/// One run of the replay over the test stack's failure queue.
async fn replay(t: &TestApp, lambda: &LocalLambda, dry_run: bool) -> Vec<Outcome> {
    let invoker = Invoker::Local(Box::new(lambda.clone()));
    let mut r = Replay::new(&t.sdk, &t.names.failure_queue_url, spec(), invoker);
    r.dry_run = dry_run;
    r.run().await.expect("the replay ran")
}

#[tokio::test]
async fn a_stream_batch_given_up_on_is_handed_on_again_once_mended_and_only_once() {
    // Without BatchWriteItem notify cannot queue the follow-ups: every attempt at the day-1
    // batch fails, and Lambda gives it up to the failure queue.
    let broken = edited_template(
        "                - dynamodb:BatchWriteItem\n                - dynamodb:DeleteItem\n",
        "                - dynamodb:DeleteItem\n",
    );
    let t = spawn_app_with(broken).await;
    let (_, key) = t.issuer("한빛대학교").await;
    let tpl = t
        .create_template(&key, template_body("데이터 분석 기초"))
        .await;
    let to = accolade_tests::unique_email("replay");
    t.issue(
        &key,
        json!({"template_id": tpl["id"], "recipient": {"email": to, "name": "김민수"}}),
    )
    .await;
    t.runner().deliver_stream().await.unwrap();
    assert_eq!(t.lambda.failures().len(), 1);

    // A dry run says what is there and leaves it.
    let fixed = mended(&t).await;
    let seen = replay(&t, &fixed, true).await;
    assert_eq!(seen.len(), 1, "{seen:#?}");
    assert!(!seen[0].replayed);
    assert!(seen[0].note.contains("stream batch of"), "{}", seen[0].note);
    assert_eq!(fixed.instruments.requests.get("dynamodb.BatchWriteItem"), 0);

    let done = replay(&t, &fixed, false).await;
    assert_eq!(done.len(), 1, "{done:#?}");
    assert!(done[0].replayed, "{}", done[0].note);
    assert!(done[0].note.contains("1 records"), "{}", done[0].note);
    assert_eq!(
        fixed.instruments.requests.get("dynamodb.BatchWriteItem"),
        1,
        "the follow-ups are queued"
    );
    // The day-1 email went once, whether it was sent before the batch failed or on replay.
    let day1 = t.mail_to(&to).await;
    assert_eq!(
        day1.len(),
        1,
        "{:?}",
        day1.iter().map(|m| m.subject()).collect::<Vec<_>>()
    );
    // The message is gone: a second run finds nothing.
    assert!(replay(&t, &fixed, false).await.is_empty());
}

#[tokio::test]
async fn a_counting_record_given_up_on_reaches_the_daily_counters_once_mended() {
    let without = edited_template(
        "            - Effect: Allow\n              Action: dynamodb:UpdateItem\n              Resource: !GetAtt Table.Arn\n              Condition:\n                ForAllValues:StringLike:\n                  dynamodb:LeadingKeys: [\"TEMPLATE#*\", \"BATCH#*\", \"ISSUER#*#COHORT#*\"]\n",
        "",
    );
    let t = spawn_app_with(without).await;
    let (_, tpl, award) = t.one_award().await;
    t.browse(&format!("/b/{}", award["id"].as_str().unwrap()))
        .await;
    t.roll_up().await;
    let failures = t.lambda.failures();
    assert_eq!(failures.len(), 1, "{failures:#?}");
    let fixed = mended(&t).await;
    let done = replay(&t, &fixed, false).await;
    assert!(done.iter().all(|o| o.replayed), "{done:#?}");
    let tid = accolade::domain::ids::TemplateId::parse(tpl["id"].as_str().unwrap()).unwrap();
    let today = accolade::domain::time::Zone::default().date_of(chrono::Utc::now());
    let day = t.app.store.daily_counters(&tid, today).await.unwrap();
    assert_eq!(day.get("views"), Some(&1), "{day:?}");
    // Replaying the same range again (a second message naming it) counts nothing twice.
    let batch = failures[0].to_string();
    aws_sdk_sqs_send(&t, &batch).await;
    let again = replay(&t, &fixed, false).await;
    assert!(again.iter().all(|o| o.replayed), "{again:#?}");
    let day = t.app.store.daily_counters(&tid, today).await.unwrap();
    assert_eq!(day.get("views"), Some(&1), "{day:?}");
}

#[tokio::test]
async fn what_cannot_be_replayed_is_left_in_the_queue_with_why() {
    let t = spawn_app_with(spec().clone()).await;
    t.one_award().await;
    t.runner().deliver_stream().await.unwrap();
    // A range the stream never held, and a dead letter of the webhook queue.
    let gone = json!({
        "requestContext": {"functionArn": t.lambda.function_arn(accolade_tests::FunctionName::Notify), "condition": "RetryAttemptsExhausted"},
        "DDBStreamBatchInfo": {"shardId": "shardId-00000000000000000000-00000000", "startSequenceNumber": "1", "endSequenceNumber": "2", "batchSize": 2,
            "streamArn": "arn:aws:dynamodb:us-east-1:123456789012:table/gone/stream/2026-01-01T00:00:00.000"}
    });
    aws_sdk_sqs_send(&t, &gone.to_string()).await;
    aws_sdk_sqs_send(&t, "{\"delivery\":\"dlv_x\"}").await;
    let lambda = t.lambda.clone();
    let out = replay(&t, &lambda, false).await;
    assert_eq!(out.len(), 2, "{out:#?}");
    assert!(
        out.iter()
            .all(|o| !o.replayed && o.note.starts_with("left: ")),
        "{out:#?}"
    );
    assert!(
        out.iter().any(|o| o.note.contains("no longer holds")),
        "{out:#?}"
    );
    // Left visible at once: the next run sees them again.
    assert_eq!(replay(&t, &lambda, true).await.len(), 2);
}

/// Puts `body` in the test stack's failure queue, as Lambda or SQS would.
async fn aws_sdk_sqs_send(t: &TestApp, body: &str) {
    infra::replay::send_to_queue(&t.sdk, &t.names.failure_queue_url, body)
        .await
        .unwrap();
}
