//! Issue #12: every sample in `tests/events/` (AWS's documented event shapes, one per trigger)
//! through its function's real entry point, as that function's principal. Ids, keys and names
//! that only exist in a deployment are swapped for this stack's; the shape is the file's.

use accolade::domain::{
    email::Email,
    ids::{IssuerId, TemplateId},
    tally::Segment,
};
use accolade_tests::{csv_rows, spawn_app, FunctionName, TestApp};
use base64::Engine;
use chrono::NaiveDate;
use serde_json::{json, Value};

const PLACEHOLDER_AWARD: &str = "AAAAAAAAAAAAAAAAAAAAAA";
const PLACEHOLDER_TEMPLATE: &str = "tpl_AAAAAAAAAAAAAAAAAAAAAA";
const PLACEHOLDER_ISSUER: &str = "iss_AAAAAAAAAAAAAAAAAAAAAA";

fn sample(name: &str) -> String {
    let path = infra::repo_root().join("tests/events").join(name);
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// A stream sample whose template, issuer and award are this world's (the template's and issuer's
/// placeholders first: they end in the award's).
fn award_sample(name: &str, w: &World) -> Value {
    let text = sample(name)
        .replace(PLACEHOLDER_TEMPLATE, &w.template)
        .replace(PLACEHOLDER_ISSUER, &w.issuer)
        .replace(PLACEHOLDER_AWARD, &w.award);
    event(&text)
}

fn event(text: &str) -> Value {
    serde_json::from_str(text).expect("a sample is JSON")
}

struct World {
    key: String,
    template: String,
    issuer: String,
    award: String,
}

async fn world(t: &TestApp) -> World {
    let (key, tpl, award) = t.one_award().await;
    World {
        key,
        template: tpl["id"].as_str().unwrap().to_owned(),
        issuer: tpl["issuer_id"].as_str().unwrap().to_owned(),
        award: award["id"].as_str().unwrap().to_owned(),
    }
}

fn body_bytes(answer: &Value) -> Vec<u8> {
    let body = answer["body"].as_str().unwrap_or_default();
    if answer["isBase64Encoded"] == true {
        base64::engine::general_purpose::STANDARD
            .decode(body)
            .unwrap()
    } else {
        body.as_bytes().to_vec()
    }
}

#[tokio::test]
async fn api_gateway_requests_reach_the_http_functions() {
    let t = spawn_app().await;
    let w = world(&t).await;
    // A binary upload (base64 body), cookies, a repeated query key.
    let text = sample("apigw-v2-request.json")
        .replace(PLACEHOLDER_TEMPLATE, &w.template)
        .replace("not-a-real-key", &w.key);
    let answer = t.invoke(FunctionName::Api, event(&text)).await.unwrap();
    assert_eq!(answer["statusCode"], 200, "{answer}");
    let body: Value = serde_json::from_slice(&body_bytes(&answer)).unwrap();
    assert_eq!(body["image"]["kind"], "uploaded", "{body}");
    // As sent (an unknown key): refused, in the API's error shape.
    let answer = t
        .invoke(FunctionName::Api, event(&sample("apigw-v2-request.json")))
        .await
        .unwrap();
    assert_eq!(answer["statusCode"], 401, "{answer}");

    let text = sample("apigw-v2-public-get.json").replace(PLACEHOLDER_AWARD, &w.award);
    let answer = t.invoke(FunctionName::Verify, event(&text)).await.unwrap();
    assert_eq!(answer["statusCode"], 200, "{answer}");
    let html = String::from_utf8(body_bytes(&answer)).unwrap();
    assert!(html.contains("데이터 분석 기초"));
    let answer = t
        .invoke(
            FunctionName::Verify,
            event(&sample("apigw-v2-public-get.json")),
        )
        .await
        .unwrap();
    assert_eq!(answer["statusCode"], 404);
}

#[tokio::test]
async fn s3_notifications_reach_ingest() {
    let t = spawn_app().await;
    let w = world(&t).await;
    // As sent: the key is read (URL-decoded, `+` a space) and names no batch of this stack.
    let answer = t
        .invoke(
            FunctionName::Ingest,
            event(&sample("s3-object-created.json")),
        )
        .await
        .unwrap();
    assert!(
        answer["outcomes"][0].as_str().unwrap().contains("Rejected"),
        "{answer}"
    );

    let b = t
        .create_batch(
            &w.key,
            json!({"filename": "명단.csv", "template_id": w.template, "notify": false}),
        )
        .await;
    let batch = b["id"].as_str().unwrap();
    let file = csv_rows(5, "s3");
    t.upload(batch, file.clone()).await;
    let mut e = event(&sample("s3-object-created.json"));
    e["Records"][0]["s3"]["bucket"]["name"] = json!(t.names.bucket);
    e["Records"][0]["s3"]["object"]["key"] =
        json!(format!("uploads/{}/{batch}/source.csv", w.issuer));
    e["Records"][0]["s3"]["object"]["size"] = json!(file.len());
    let answer = t.invoke(FunctionName::Ingest, e).await.unwrap();
    assert_eq!(answer["outcomes"], json!(["Completed"]), "{answer}");
    assert_eq!(t.batch(&w.key, batch).await["counts"]["issued"], 5);
}

#[tokio::test]
async fn stream_records_and_schedules_reach_notify() {
    let t = spawn_app().await;
    let w = world(&t).await;
    let text = sample("dynamodb-stream-insert.json").replace(PLACEHOLDER_AWARD, &w.award);
    let answer = t.invoke(FunctionName::Notify, event(&text)).await.unwrap();
    assert_eq!(answer["batchItemFailures"], json!([]), "{answer}");
    let award: Value = t
        .call(
            "GET",
            &format!("/v1/awards/{}", w.award),
            Some(&w.key),
            None,
        )
        .await
        .json();
    let to = award["recipient"]["email"].as_str().unwrap();
    assert_eq!(t.mail_to(to).await.len(), 1, "the day-1 email");

    let answer = t
        .invoke(
            FunctionName::Notify,
            event(&sample("scheduler-followups-due.json")),
        )
        .await;
    assert!(answer.is_ok(), "{answer:?}");
}

#[tokio::test]
async fn counting_writes_on_the_stream_reach_the_rollup_once() {
    let t = spawn_app().await;
    let w = world(&t).await;
    let e = award_sample("dynamodb-stream-counters.json", &w);
    // Both stream samples pass the filter of notify's mapping in template.yaml.
    let trigger = t.lambda.spec(FunctionName::Notify).stream.clone().unwrap();
    let insert = event(&sample("dynamodb-stream-insert.json"));
    for r in [&e["Records"][0], &insert["Records"][0]] {
        assert!(
            trigger.filters.iter().any(|p| infra::sam::matches(p, r)),
            "{r}"
        );
    }
    // Delivered twice (Lambda delivers at least once): rolled up once.
    for _ in 0..2 {
        let answer = t.invoke(FunctionName::Notify, e.clone()).await.unwrap();
        assert_eq!(answer["batchItemFailures"], json!([]), "{answer}");
    }
    let day = |d| NaiveDate::from_ymd_opt(2026, 11, d).unwrap();
    let tid = TemplateId::parse(&w.template).unwrap();
    let store = &t.app.store;
    let on_17 = store.daily_counters(&tid, day(17)).await.unwrap();
    for k in ["clicks", "click:share-linkedin", "shares", "share:linkedin"] {
        assert_eq!(on_17.get(k), Some(&1), "{k}: {on_17:?}");
    }
    assert!(!on_17.contains_key("views"), "this write moved no views");
    let on_16 = store.daily_counters(&tid, day(16)).await.unwrap();
    assert_eq!(
        on_16.get("awards_shared"),
        Some(&1),
        "the badge's first share, on the day it was recorded: {on_16:?}"
    );
    let cohort = Segment::Cohort(IssuerId::parse(&w.issuer).unwrap(), "2026-봄".into());
    let days = store.segment_days(&cohort, day(16), day(17)).await.unwrap();
    assert_eq!(days.len(), 2, "{days:?}");
}

/// An email stage's mark `sent` (tagged by notify since 2026-12-08) is the email's counting write:
/// it passes the mapping's filter and counts `email:{stage}:sent` once on its send's day, however
/// often it is delivered; an older release's mark (no tags: its Send event counts it) is filtered
/// out, and would count nothing if it came.
#[tokio::test]
async fn an_email_marked_sent_on_the_stream_is_counted_sent_once() {
    let t = spawn_app().await;
    let w = world(&t).await;
    let e = award_sample("dynamodb-stream-email-sent.json", &w);
    let trigger = t.lambda.spec(FunctionName::Notify).stream.clone().unwrap();
    let passes = |r: &Value| trigger.filters.iter().any(|p| infra::sam::matches(p, r));
    assert!(passes(&e["Records"][0]));
    let mut older = e.clone();
    let image = older["Records"][0]["dynamodb"]["NewImage"]
        .as_object_mut()
        .unwrap();
    for k in ["template_id", "issuer_id", "cohort", "day", "recorded_day"] {
        image.remove(k);
    }
    assert!(!passes(&older["Records"][0]), "an older release's mark");
    // (Another record: were it counted, it would be counted again.)
    older["Records"][0]["dynamodb"]["SequenceNumber"] = json!("1405400000000002063283012");
    let mut claim = e.clone();
    claim["Records"][0]["dynamodb"]["NewImage"]["state"] = json!({"S": "sending"});
    assert!(!passes(&claim["Records"][0]), "a claim");
    for delivery in [&e, &older, &e] {
        let answer = t
            .invoke(FunctionName::Notify, delivery.clone())
            .await
            .unwrap();
        assert_eq!(answer["batchItemFailures"], json!([]), "{answer}");
    }
    let tid = TemplateId::parse(&w.template).unwrap();
    let day = NaiveDate::from_ymd_opt(2026, 11, 17).unwrap();
    let counted = t.app.store.daily_counters(&tid, day).await.unwrap();
    assert_eq!(counted.get("email:day3:sent"), Some(&1), "{counted:?}");
    let cohort = Segment::Cohort(IssuerId::parse(&w.issuer).unwrap(), "2026-봄".into());
    let days = t.app.store.segment_days(&cohort, day, day).await.unwrap();
    assert_eq!(days.len(), 1, "{days:?}");
}

#[tokio::test]
async fn a_windows_last_invocation_is_answered_with_a_state_and_a_batch_without_its_shard_is_rolled_up_by_award(
) {
    let t = spawn_app().await;
    let w = world(&t).await;
    // Without `state` in the answer Lambda counts the invocation as failed.
    let last = event(&sample("dynamodb-stream-window-final.json"));
    let answer = t.invoke(FunctionName::Notify, last).await.unwrap();
    assert_eq!(answer["state"], json!({}), "{answer}");
    assert_eq!(answer["batchItemFailures"], json!([]), "{answer}");
    // A mapping without its tumbling window (a deploy between the function and its mapping)
    // sends no `shardId`: the batch is rolled up award by award, once however often it comes.
    let mut e = award_sample("dynamodb-stream-counters.json", &w);
    for k in [
        "window",
        "state",
        "shardId",
        "isFinalInvokeForWindow",
        "isWindowTerminatedEarly",
    ] {
        e.as_object_mut().unwrap().remove(k);
    }
    let tid = TemplateId::parse(&w.template).unwrap();
    let day = NaiveDate::from_ymd_opt(2026, 11, 17).unwrap();
    for delivery in 1..=2 {
        let answer = t.invoke(FunctionName::Notify, e.clone()).await.unwrap();
        assert_eq!(
            answer["batchItemFailures"],
            json!([]),
            "{delivery}: {answer}"
        );
        assert!(answer.get("state").is_none(), "{answer}");
        let on_17 = t.app.store.daily_counters(&tid, day).await.unwrap();
        assert_eq!(
            on_17.get("clicks"),
            Some(&1),
            "delivery {delivery}: {on_17:?}"
        );
    }
    let spans = aws_sdk_dynamodb::Client::new(&t.sdk)
        .query()
        .table_name(&t.names.table)
        .key_condition_expression("PK = :pk")
        .expression_attribute_values(
            ":pk",
            aws_sdk_dynamodb::types::AttributeValue::S(format!(
                "ROLLUP#2026-11-01T00:00:00.000#award#{}",
                w.award
            )),
        )
        .send()
        .await
        .unwrap();
    assert_eq!(spans.count(), 1, "one span, the award's own: {spans:?}");
    // The mapping has its window now, and the batch comes back naming its shard (an invocation
    // that failed on another record): the stream's mark sends the rollup to the award's spans.
    let with_shard = award_sample("dynamodb-stream-counters.json", &w);
    let answer = t.invoke(FunctionName::Notify, with_shard).await.unwrap();
    assert_eq!(answer["batchItemFailures"], json!([]), "{answer}");
    let on_17 = t.app.store.daily_counters(&tid, day).await.unwrap();
    assert_eq!(on_17.get("clicks"), Some(&1), "with its shard: {on_17:?}");
}

#[tokio::test]
async fn schedules_and_ses_events_reach_analytics() {
    let t = spawn_app().await;
    let w = world(&t).await;
    let answer = t
        .invoke(
            FunctionName::Analytics,
            event(&sample("scheduler-weekly-digest.json")),
        )
        .await
        .unwrap();
    assert!(answer.get("digests").is_some(), "{answer}");

    let text = sample("eventbridge-ses-delivery.json").replace(PLACEHOLDER_AWARD, &w.award);
    assert_eq!(
        t.ses_event(&event(&text)).await,
        "counted email:day1:delivered"
    );
    let text = sample("eventbridge-ses-bounce.json").replace(PLACEHOLDER_AWARD, &w.award);
    assert_eq!(
        t.ses_event(&event(&text)).await,
        "counted email:day1:bounced"
    );
    let gone = Email::parse("gone@example.com").unwrap();
    assert!(
        t.app.store.is_suppressed(&gone.lookup_key()).await.unwrap(),
        "a permanent bounce suppresses"
    );
}
