//! `infra replay-failures`: what Lambda gave up on reaches the stack's failure queue, as in AWS;
//! once the cause is mended (here: the missing permission deployed), the replay hands it to the
//! function again and nothing is lost or done twice.

use accolade_tests::{spawn_app_with, spec, template_body, TestApp};
use infra::lambda::{Instruments, LocalLambda};
use infra::replay::{Invoker, Outcome, Replay, Scope};
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
    replay_discarding(t, lambda, dry_run, &[]).await
}

async fn replay_discarding(
    t: &TestApp,
    lambda: &LocalLambda,
    dry_run: bool,
    discard: &[String],
) -> Vec<Outcome> {
    let invoker = Invoker::Local(Box::new(lambda.clone()));
    let mut r = Replay::new(
        &t.sdk,
        &t.names.failure_queue_url,
        spec(),
        scope(t),
        invoker,
    );
    r.dry_run = dry_run;
    r.discard = discard.to_vec();
    r.poll_seconds = 0; // The emulator is one server: a short poll sees every message.
    r.run().await.expect("the replay ran")
}

/// The test stack: its stage's functions, its table's stream.
fn scope(t: &TestApp) -> Scope {
    Scope {
        stage: t.lambda.stack.stage.clone(),
        table: t.names.table.clone(),
        account: infra::iam::ACCOUNT.into(),
        region: infra::iam::REGION.into(),
    }
}

#[tokio::test]
async fn a_stream_batch_given_up_on_is_handed_on_again_once_mended_and_only_once() {
    let broken = accolade_tests::notify_without_batch_write();
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
    let without = accolade_tests::notify_without_rollup_update();
    let t = spawn_app_with(without).await;
    let (_, tpl, _) = t.one_award_viewed_and_rolled_up().await;
    let failures = t.lambda.failures();
    // The batch of the award and its view, then the day-1 email's mark `sent`.
    assert_eq!(failures.len(), 2, "{failures:#?}");
    let fixed = mended(&t).await;
    let done = replay(&t, &fixed, false).await;
    assert!(done.iter().all(|o| o.replayed), "{done:#?}");
    let tid = accolade::domain::ids::TemplateId::parse(tpl["id"].as_str().unwrap()).unwrap();
    let today = accolade::domain::time::Zone::default().date_of(chrono::Utc::now());
    let day = t.app.store.daily_counters(&tid, today).await.unwrap();
    assert_eq!(day.get("views"), Some(&1), "{day:?}");
    assert_eq!(day.get("email:day1:sent"), Some(&1), "{day:?}");
    // Replaying the same range again (a second message naming it) counts nothing twice.
    let batch = failures[0].to_string();
    aws_sdk_sqs_send(&t, &batch).await;
    let again = replay(&t, &fixed, false).await;
    assert!(again.iter().all(|o| o.replayed), "{again:#?}");
    let day = t.app.store.daily_counters(&tid, today).await.unwrap();
    assert_eq!(day.get("views"), Some(&1), "{day:?}");
}

/// An SES event whose three attempts all failed (here analytics may not write awards' counters)
/// reaches the failure queue as Lambda's on-failure record of an asynchronous invocation, sent as
/// analytics; once mended, the replay hands the event to analytics again and it is counted once,
/// and a second copy of the record counts nothing more.
#[tokio::test]
async fn an_asynchronous_event_given_up_on_is_counted_once_mended() {
    let t = spawn_app_with(accolade_tests::analytics_without_award_writes()).await;
    let (_, _, award) = t.one_award().await;
    let id = award["id"].as_str().unwrap();
    let to = award["recipient"]["email"].as_str().unwrap();
    let delivery = crate::emails::ses_event(
        "Delivery",
        id,
        "day1",
        to,
        json!({"delivery": {"recipients": [to]}}),
    );
    let analytics = accolade_tests::FunctionName::Analytics;
    let out = t.lambda.invoke_async(analytics, delivery.clone()).await;
    assert!(out.is_err(), "every attempt is refused: {out:?}");

    // What Lambda sends: the record of the invocation, the event as it was given.
    let record = queued_record(&t).await;
    assert_eq!(record["requestContext"]["condition"], "RetriesExhausted");
    assert_eq!(record["requestContext"]["approximateInvokeCount"], 3);
    let arn = record["requestContext"]["functionArn"].as_str().unwrap();
    assert!(arn.starts_with(&t.lambda.function_arn(analytics)), "{arn}");
    assert_eq!(record["requestPayload"], delivery);
    let counted = || async {
        let aid = accolade::domain::ids::AwardId::parse(id).unwrap();
        let c = t.app.store.award_counters(&aid).await.unwrap();
        c.get("email:day1:delivered").copied()
    };
    assert_eq!(counted().await, None, "no attempt counted it");

    let fixed = mended(&t).await;
    let done = replay(&t, &fixed, false).await;
    assert_eq!(done.len(), 1, "{done:#?}");
    assert!(done[0].replayed, "{done:#?}");
    assert!(
        done[0].note.starts_with("analytics: invoked again"),
        "{done:#?}"
    );
    assert_eq!(counted().await, Some(1));
    // The same record again (SQS delivers at least once): nothing counted twice.
    aws_sdk_sqs_send(&t, &record.to_string()).await;
    let again = replay(&t, &fixed, false).await;
    assert!(again.len() == 1 && again[0].replayed, "{again:#?}");
    assert_eq!(counted().await, Some(1));
    assert!(replay(&t, &fixed, true).await.is_empty(), "deleted");
}

/// The one message in the test stack's failure queue, read and left there (visible again at
/// once), as JSON.
async fn queued_record(t: &TestApp) -> serde_json::Value {
    let sqs = aws_sdk_sqs::Client::new(&t.sdk);
    let got = sqs
        .receive_message()
        .queue_url(&t.names.failure_queue_url)
        .max_number_of_messages(10)
        .visibility_timeout(0)
        .send()
        .await
        .unwrap();
    let messages = got.messages();
    assert_eq!(messages.len(), 1, "{messages:#?}");
    serde_json::from_str(messages[0].body().unwrap_or_default()).unwrap()
}

#[tokio::test]
async fn what_cannot_be_replayed_is_left_in_the_queue_with_why() {
    let t = spawn_app_with(spec().clone()).await;
    t.one_award().await;
    t.runner().deliver_stream().await.unwrap();
    let notify = t.lambda.function_arn(accolade_tests::FunctionName::Notify);
    let (stream, shard) = table_stream(&t).await;
    // A range before the shard's first record: what a range older than 24 hours is.
    let batch = |function: &str, stream: &str| {
        json!({
            "requestContext": {"functionArn": function, "condition": "RetryAttemptsExhausted"},
            "DDBStreamBatchInfo": {"shardId": shard, "startSequenceNumber": "1", "endSequenceNumber": "2", "batchSize": 2, "streamArn": stream}
        })
        .to_string()
    };
    let foreign_stream =
        "arn:aws:dynamodb:us-east-1:123456789012:table/other/stream/2026-01-01T00:00:00.000";
    let outsider = json!({
        "requestContext": {"functionArn": "arn:aws:lambda:us-east-1:999999999999:function:evil-notify:$LATEST", "condition": "RetriesExhausted"},
        "requestPayload": {"Records": []}
    });
    let api = json!({
        "requestContext": {"functionArn": t.lambda.function_arn(accolade_tests::FunctionName::Api), "condition": "RetriesExhausted"},
        "requestPayload": {"version": "2.0", "rawPath": "/v1/awards"}
    });
    for body in [
        api.to_string(),                // a function nothing invokes asynchronously
        batch(&notify, &stream),        // records the stream no longer holds
        batch(&notify, foreign_stream), // another table's stream
        outsider.to_string(),           // a function outside the stack
        json!({"issuer_id": "iss_x", "webhook_id": "whk_x", "message_id": "msg_x"}).to_string(), // a webhook dead letter
    ] {
        aws_sdk_sqs_send(&t, &body).await;
    }
    let lambda = t.lambda.clone();
    let invoked = |l: &LocalLambda| -> u64 {
        l.instruments
            .invocations
            .snapshot()
            .values()
            .map(|(n, _)| n)
            .sum()
    };
    let before = invoked(&lambda);
    let out = replay(&t, &lambda, false).await;
    assert_eq!(out.len(), 5, "{out:#?}");
    assert!(
        out.iter()
            .all(|o| !o.replayed && o.note.starts_with("left: ")),
        "{out:#?}"
    );
    for why in [
        "no longer holds",
        "is not a stream of table",
        "is not a function of stage",
        "api is not invoked asynchronously",
        "/v1/webhooks/whk_x/deliveries/msg_x/retry",
    ] {
        assert!(out.iter().any(|o| o.note.contains(why)), "{why}: {out:#?}");
    }
    assert_eq!(invoked(&lambda), before, "nothing invoked");
    // Left visible at once: the next run sees them again; one discarded by id goes.
    let dead_letter = out.iter().find(|o| o.note.contains("/retry")).unwrap();
    let again = replay_discarding(
        &t,
        &lambda,
        false,
        std::slice::from_ref(&dead_letter.message_id),
    )
    .await;
    assert_eq!(again.len(), 5, "{again:#?}");
    assert_eq!(again.iter().filter(|o| o.replayed).count(), 1, "{again:#?}");
    assert_eq!(replay(&t, &lambda, true).await.len(), 4);
}

#[tokio::test]
async fn a_dead_letter_event_of_eventbridge_is_given_to_its_target_function() {
    let t = spawn_app_with(spec().clone()).await;
    let analytics = t
        .lambda
        .function_arn(accolade_tests::FunctionName::Analytics);
    let event = std::fs::read_to_string(
        infra::repo_root().join("tests/events/eventbridge-ses-delivery.json"),
    )
    .unwrap();
    aws_sdk_sqs::Client::new(&t.sdk)
        .send_message()
        .queue_url(&t.names.failure_queue_url)
        .message_body(event)
        .message_attributes(
            "TARGET_ARN",
            aws_sdk_sqs::types::MessageAttributeValue::builder()
                .data_type("String")
                .string_value(&analytics)
                .build()
                .unwrap(),
        )
        .send()
        .await
        .unwrap();
    let lambda = t.lambda.clone();
    let out = replay(&t, &lambda, false).await;
    assert_eq!(out.len(), 1, "{out:#?}");
    assert!(out[0].replayed, "{out:#?}");
    assert!(
        out[0].note.starts_with("analytics: invoked again"),
        "{out:#?}"
    );
    let runs = lambda.instruments.invocations.snapshot();
    assert_eq!(runs.get("analytics").map(|r| r.0), Some(1), "{runs:?}");
    assert!(replay(&t, &lambda, true).await.is_empty(), "deleted");
}

/// The test stack's table's stream, and its first shard.
async fn table_stream(t: &TestApp) -> (String, String) {
    let arn = aws_sdk_dynamodb::Client::new(&t.sdk)
        .describe_table()
        .table_name(&t.names.table)
        .send()
        .await
        .unwrap()
        .table
        .and_then(|d| d.latest_stream_arn)
        .expect("the table has a stream");
    let shard = aws_sdk_dynamodbstreams::Client::new(&t.sdk)
        .describe_stream()
        .stream_arn(&arn)
        .send()
        .await
        .unwrap()
        .stream_description
        .and_then(|d| d.shards)
        .and_then(|s| s.into_iter().next())
        .and_then(|s| s.shard_id)
        .expect("the stream has a shard");
    (arn, shard)
}

/// Puts `body` in the test stack's failure queue, as Lambda or SQS would.
async fn aws_sdk_sqs_send(t: &TestApp, body: &str) {
    aws_sdk_sqs::Client::new(&t.sdk)
        .send_message()
        .queue_url(&t.names.failure_queue_url)
        .message_body(body)
        .send()
        .await
        .unwrap();
}
