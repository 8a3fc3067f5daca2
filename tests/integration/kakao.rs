//! KakaoTalk and SMS (issue #18): settings with encrypted credentials, day 1 as AlimTalk exactly
//! once with the SMS fallback, promotional day 3/day 7 (광고, opt-out, never at night), a CSV's
//! messages 100 to a request, bad numbers refused — against the provider's stand-in, which
//! checks every request as NAVER Cloud SENS documents it.

use accolade::domain::{followup::bucket_fires_at, kakao::korea};
use accolade_tests::{
    kakao_settings, spawn_app, template_body, unique_email, FunctionName, TestApp,
};
use chrono::{Duration, TimeZone, Utc};
use serde_json::{json, Value};

/// An issuer with KakaoTalk on and a template that recommends something.
async fn kakao_storefront(t: &TestApp) -> (String, Value) {
    let (key, tpl) = crate::emails::storefront(t).await;
    t.kakao_on(&key, kakao_settings()).await;
    (key, tpl)
}

/// The day-3 promotion bucket holding the awards whose day 1 went between `from` and `to`.
async fn day3_bucket(
    t: &TestApp,
    from: chrono::DateTime<Utc>,
    to: chrono::DateTime<Utc>,
) -> String {
    t.bucket_holding(
        [from, to].map(|at| accolade::notify::kakao::promotion_bucket(at + Duration::days(3))),
    )
    .await
}

/// The record of award `id`'s `stage` message, which must exist.
async fn record(
    t: &TestApp,
    id: &accolade::domain::ids::AwardId,
    stage: &str,
) -> accolade::store::emails::EmailRecord {
    let rec = t.app.store.email_record(id, stage).await.unwrap();
    rec.unwrap_or_else(|| panic!("no {stage} record of {id}"))
}

fn kinds(t: &TestApp, to: &str, kind: &str) -> Vec<infra::sens::Message> {
    t.sens()
        .messages()
        .into_iter()
        .filter(|m| m.to == to && m.kind == kind)
        .collect()
}

#[tokio::test]
async fn settings_keep_credentials_secret_and_bad_numbers_are_refused() {
    let t = spawn_app().await;
    let (_, key) = t.issuer("한빛대학교").await;
    let none = t.call("GET", "/v1/issuer/kakao", Some(&key), None).await;
    assert_eq!(none.status, 404);
    let mut without_keys = kakao_settings();
    without_keys.as_object_mut().unwrap().remove("secret_key");
    let r = t
        .call("PUT", "/v1/issuer/kakao", Some(&key), Some(without_keys))
        .await;
    assert_eq!(r.status, 400, "{}", r.text());
    assert!(
        r.text().contains("access_key") || r.text().contains("secret_key"),
        "{}",
        r.text()
    );
    let r = t
        .call(
            "PUT",
            "/v1/issuer/kakao",
            Some(&key),
            Some(kakao_settings()),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.text());
    let got = t.call("GET", "/v1/issuer/kakao", Some(&key), None).await;
    for answer in [r.text(), got.text()] {
        assert!(answer.contains("\"credentials\":\"set\""), "{answer}");
        assert!(
            !answer.contains(infra::sens::SECRET_KEY) && !answer.contains(infra::sens::ACCESS_KEY),
            "{answer}"
        );
    }
    // Saving again without keys keeps the stored ones; the table holds only ciphertext.
    let mut again = kakao_settings();
    again.as_object_mut().unwrap().remove("access_key");
    again.as_object_mut().unwrap().remove("secret_key");
    again["stages"] = json!({"day7": false});
    let r = t
        .call("PUT", "/v1/issuer/kakao", Some(&key), Some(again))
        .await;
    assert_eq!(r.status, 200, "{}", r.text());
    assert_eq!(r.json()["stages"]["day7"], false);
    assert_eq!(r.json()["credentials"], "set");
    let me = t.call("GET", "/v1/issuer", Some(&key), None).await.json();
    let issuer = accolade::domain::ids::IssuerId::parse(me["id"].as_str().unwrap()).unwrap();
    let (_, ciphertext) = t.app.store.get_kakao(&issuer).await.unwrap().unwrap();
    let stored = String::from_utf8_lossy(&ciphertext.unwrap()).to_string();
    assert!(!stored.contains(infra::sens::SECRET_KEY));

    let tpl = t.create_template(&key, template_body("SQL")).await;
    for (phone, why) in [
        ("02-123-4567", "not a mobile"),
        ("+1 212 555 0100", "not a Korean number"),
    ] {
        let r = t
            .call("POST", "/v1/awards", Some(&key), Some(json!({"template_id": tpl["id"], "recipient": {"email": unique_email("p"), "name": "A", "phone": phone}})))
            .await;
        assert_eq!(r.status, 400, "{}", r.text());
        assert!(
            r.text().contains("recipient.phone") && r.text().contains(why),
            "{}",
            r.text()
        );
    }
}

#[tokio::test]
async fn day1_is_one_alimtalk_even_when_records_repeat_and_falls_back_to_sms_once() {
    let t = spawn_app().await;
    let (key, tpl) = kakao_storefront(&t).await;
    let a = t
        .issue(&key, json!({"template_id": tpl["id"], "recipient": {"email": unique_email("k"), "name": "김민수", "phone": "010-1234-5678"}}))
        .await;
    assert_eq!(a["recipient"]["phone"], "+821012345678");
    let b = t
        .issue(&key, json!({"template_id": tpl["id"], "recipient": {"email": unique_email("k"), "name": "이서연", "phone": "010 5555 0000"}}))
        .await;
    let mut runner = t.runner();
    runner.deliver_stream().await.unwrap();
    let sent = kinds(&t, "01012345678", "alimtalk");
    assert_eq!(sent.len(), 1, "{:?}", t.sens().requests());
    assert!(
        sent[0]
            .content
            .starts_with("김민수님, 한빛대학교에서 배지를 발급했습니다."),
        "{}",
        sent[0].content
    );
    assert!(sent[0].content.contains("배지: 데이터 분석 기초"));
    assert_eq!(sent[0].button.as_deref(), a["urls"]["page"].as_str());
    // No KakaoTalk on that number: the provider's SMS fallback, once, with the link.
    let fallback = kinds(&t, "01055550000", "fallback");
    assert_eq!(fallback.len(), 1);
    assert!(fallback[0]
        .content
        .contains(b["urls"]["page"].as_str().unwrap()));
    assert!(kinds(&t, "01055550000", "alimtalk").is_empty());

    // The same records again (Lambda retries, duplicated delivery).
    let id = a["id"].as_str().unwrap();
    let record = json!({"eventName": "INSERT", "dynamodb": {"NewImage": {"type": {"S": "award"}, "id": {"S": id}, "recipient": {"M": {"phone": {"S": "+821012345678"}}}}, "SequenceNumber": "1"}});
    let event = json!({"Records": [record.clone(), record]});
    let (r1, r2) = tokio::join!(
        t.invoke(FunctionName::Notify, event.clone()),
        t.invoke(FunctionName::Notify, event)
    );
    assert_eq!(r1.unwrap()["batchItemFailures"], json!([]));
    assert_eq!(r2.unwrap()["batchItemFailures"], json!([]));
    assert_eq!(
        kinds(&t, "01012345678", "alimtalk").len(),
        1,
        "still exactly one"
    );
    let rec = t
        .app
        .store
        .email_record(
            &accolade::domain::ids::AwardId::parse(id).unwrap(),
            "kakao-day1",
        )
        .await
        .unwrap()
        .unwrap();
    assert_eq!(rec.state, "sent");
    // Minutes later the provider is asked what became of them: delivered, and fell back to SMS.
    runner
        .fire_due_schedules(Utc::now() + Duration::minutes(6))
        .await
        .unwrap();
    let a_counts = counters(&t, &a).await;
    assert_eq!(a_counts.get("kakao:day1:sent"), Some(&1));
    assert_eq!(
        a_counts.get("kakao:day1:delivered"),
        Some(&1),
        "{a_counts:?}"
    );
    let b_counts = counters(&t, &b).await;
    assert_eq!(
        b_counts.get("kakao:day1:fallback_sms"),
        Some(&1),
        "{b_counts:?}"
    );
    assert_eq!(b_counts.get("kakao:day1:delivered"), None);
    // A result counted again (a retried run that got past its index): refused by its marker.
    let store = &t.app_of(FunctionName::Notify).store;
    let award = store
        .get_award(&accolade::domain::ids::AwardId::parse(id).unwrap())
        .await
        .unwrap()
        .unwrap();
    let attr = ["kakao:day1:delivered".to_owned()];
    let zone = Default::default();
    let again = store
        .count_result_once(&award, "kakao-day1", "delivered", zone, Utc::now(), &attr)
        .await
        .unwrap();
    assert!(!again, "counted once");
    assert_eq!(counters(&t, &a).await, a_counts);
    // The template's report, rolled up from the stream: next to the emails.
    t.roll_up().await;
    let q = format!("/v1/analytics?template={}", tpl["id"].as_str().unwrap());
    let r = t.call("GET", &q, Some(&key), None).await.json();
    let day1 = &r["totals"]["kakao"]["day1"];
    assert_eq!(day1["sent"], 2, "{r:#}");
    assert_eq!(day1["delivered"], 1);
    assert_eq!(day1["fallback_sms"], 1);
    assert_eq!(r["totals"]["kakao_delivery_rate"], 1.0);
}

/// Two badges to one phone number (a learner who finished two courses) are never in one
/// request: the provider's results name messages by number, so each goes in its own request and
/// each award is counted with its own message's result.
#[tokio::test]
async fn two_badges_to_one_number_go_in_two_requests_and_each_is_counted() {
    let t = spawn_app().await;
    let (key, tpl) = kakao_storefront(&t).await;
    let mut awards = Vec::new();
    for name in ["김민수", "김민수"] {
        let body = json!({"template_id": tpl["id"], "recipient": {"email": unique_email("two"), "name": name, "phone": "010-7777-8888"}});
        awards.push(t.issue(&key, body).await);
    }
    let mut runner = t.runner();
    runner.deliver_stream().await.unwrap();
    let sent = kinds(&t, "01077778888", "alimtalk");
    assert_eq!(sent.len(), 2, "{:?}", t.sens().requests());
    assert_ne!(sent[0].request_id, sent[1].request_id, "one request each");
    runner
        .fire_due_schedules(Utc::now() + Duration::minutes(6))
        .await
        .unwrap();
    for a in &awards {
        let c = counters(&t, a).await;
        assert_eq!(c.get("kakao:day1:delivered"), Some(&1), "{c:?}");
    }
}

/// One message the provider will not take (SENS refuses the whole request, 400) costs only
/// itself: the request is sent again in halves until that message is alone; the others go.
#[tokio::test]
async fn a_message_the_provider_refuses_does_not_take_the_others_with_it() {
    let t = spawn_app().await;
    let (key, tpl) = kakao_storefront(&t).await;
    t.sens().refuse_requests_to("01099990003");
    let mut awards = Vec::new();
    for i in 0..6 {
        let body = json!({"template_id": tpl["id"], "recipient": {"email": unique_email("r"), "name": "학습자", "phone": format!("010-9999-000{i}")}});
        awards.push(t.issue(&key, body).await);
    }
    let mut runner = t.runner();
    runner.deliver_stream().await.unwrap();
    let requests = t.sens().requests();
    assert_eq!(
        (requests[0].1, requests[0].2),
        (6, 400),
        "one request for the six, refused whole: {requests:?}"
    );
    for (i, a) in awards.iter().enumerate() {
        let number = format!("01099990{i:03}");
        let id = accolade::domain::ids::AwardId::parse(a["id"].as_str().unwrap()).unwrap();
        let rec = record(&t, &id, "kakao-day1").await;
        // (A number without KakaoTalk gets the SMS fallback: either way, one message.)
        let got = t.sens().messages().into_iter().filter(|m| m.to == number);
        if i == 3 {
            assert_eq!(got.count(), 0);
            assert_eq!(rec.state, "rejected", "{rec:?}");
        } else {
            assert_eq!(got.count(), 1, "{number}: {requests:?}");
            assert_eq!(rec.state, "sent", "{rec:?}");
        }
    }
}

async fn counters(t: &TestApp, award: &Value) -> std::collections::BTreeMap<String, i64> {
    let id = accolade::domain::ids::AwardId::parse(award["id"].as_str().unwrap()).unwrap();
    t.app.store.award_counters(&id).await.unwrap()
}

/// A wrong secret (an admin's typo, keys rotated at NAVER Cloud): SENS answers 401, nothing is
/// taken, and the messages wait — each hour they are tried again — until the settings are
/// fixed; then each goes once. (Recorded as refused for good, they would have been lost.)
#[tokio::test]
async fn a_wrong_secret_holds_the_messages_until_the_settings_are_fixed() {
    let t = spawn_app().await;
    let (_, key) = t.issuer("한빛대학교").await;
    let mut s = kakao_settings();
    s["secret_key"] = json!("not-the-secret");
    t.kakao_on(&key, s).await;
    let tpl = t.create_template(&key, template_body("SQL")).await;
    let a = t
        .issue(&key, json!({"template_id": tpl["id"], "recipient": {"email": unique_email("w"), "name": "A", "phone": "01011112222"}}))
        .await;
    let mut runner = t.runner();
    runner.deliver_stream().await.unwrap();
    let requests = t.sens().requests();
    assert!(
        !requests.is_empty() && requests.iter().all(|r| r.2 == 401),
        "the stand-in checks the signature as SENS does: {requests:?}"
    );
    assert!(t.sens().messages().is_empty());
    let id = accolade::domain::ids::AwardId::parse(a["id"].as_str().unwrap()).unwrap();
    let rec = t.app.store.email_record(&id, "kakao-day1").await.unwrap();
    assert!(
        rec.as_ref().is_none_or(|r| r.state != "rejected"),
        "not given up: {rec:?}"
    );
    // Still wrong an hour on: tried again, still waiting.
    let tried = t.sens().requests().len();
    runner
        .fire_due_schedules(Utc::now() + Duration::minutes(80))
        .await
        .unwrap();
    assert!(t.sens().requests().len() > tried, "tried again");
    assert!(t.sens().messages().is_empty());
    // Fixed: the next run sends it, once.
    t.kakao_on(&key, kakao_settings()).await;
    runner
        .fire_due_schedules(Utc::now() + Duration::minutes(160))
        .await
        .unwrap();
    assert_eq!(kinds(&t, "01011112222", "alimtalk").len(), 1);
    assert_eq!(record(&t, &id, "kakao-day1").await.state, "sent");
}

#[tokio::test]
async fn promotions_carry_the_ad_mark_and_opt_out_wait_for_morning_and_stop_on_opt_out() {
    let t = spawn_app().await;
    let (key, tpl) = kakao_storefront(&t).await;
    let email = unique_email("promo");
    let a = t
        .issue(&key, json!({"template_id": tpl["id"], "recipient": {"email": email, "name": "김민수", "phone": "010-2222-3333"}}))
        .await;
    let id = a["id"].as_str().unwrap().to_owned();
    let mut runner = t.runner();
    let sent_from = Utc::now();
    runner.deliver_stream().await.unwrap();
    let sent_to = Utc::now();
    assert_eq!(kinds(&t, "01022223333", "alimtalk").len(), 1);

    // Day 3's bucket never fires at night in Korea; run late, at 23:30 KST, it holds to 08:00.
    let day3 = day3_bucket(&t, sent_from, sent_to).await;
    let fires = bucket_fires_at(&day3).unwrap();
    assert!(
        !accolade::domain::kakao::is_night(fires),
        "{day3} fires at {fires}"
    );
    let local = fires.with_timezone(&korea()).date_naive();
    let night = korea()
        .from_local_datetime(&local.and_hms_opt(23, 30, 0).unwrap())
        .unwrap()
        .with_timezone(&Utc);
    t.sens().set_clock(night);
    let out = accolade::notify::handle_due(t.app_of(FunctionName::Notify), &day3, night, None)
        .await
        .unwrap();
    assert!(out.to_string().contains("held to 08:00"), "{out}");
    assert!(
        kinds(&t, "01022223333", "sms").is_empty(),
        "nothing at night"
    );
    let morning = korea()
        .from_local_datetime(&(local + Duration::days(1)).and_hms_opt(8, 0, 0).unwrap())
        .unwrap()
        .with_timezone(&Utc);
    // Moved, not copied: due in the bucket that fires at 08:00, no longer in its own.
    let kakao_day3 = |due: Vec<accolade::store::followups::Due>| {
        due.iter()
            .filter(|d| d.stage == accolade::domain::followup::Stage::KakaoDay3)
            .count()
    };
    let at_eight = accolade::domain::followup::bucket_of(morning - Duration::seconds(1));
    assert_eq!(kakao_day3(t.app.store.due_in(&day3).await.unwrap()), 0);
    assert_eq!(kakao_day3(t.app.store.due_in(&at_eight).await.unwrap()), 1);
    t.sens().set_clock(morning);
    runner.fire_due_schedules(morning).await.unwrap();
    let sms = kinds(&t, "01022223333", "sms");
    assert_eq!(sms.len(), 1, "{:?}", t.sens().requests());
    let m = &sms[0];
    assert!(m.advertising);
    assert!(m.content.starts_with("(광고) 한빛대학교"), "{}", m.content);
    assert!(
        m.content.contains("무료수신거부 080-123-4567"),
        "{}",
        m.content
    );
    assert!(
        m.content
            .contains(&format!("/b/{id}/go/enrol?src=sms-day3")),
        "{}",
        m.content
    );
    assert!(m.content.contains("데이터 분석 심화") || m.content.contains("다음 단계"));
    runner
        .fire_due_schedules(morning + Duration::minutes(6))
        .await
        .unwrap();
    let counts = counters(&t, &a).await;
    assert_eq!(counts.get("kakao:day3:sent"), Some(&1), "{counts:?}");
    assert_eq!(counts.get("kakao:day3:delivered"), Some(&1), "{counts:?}");

    // Opted out by the SMS link: no day-7 text; the email opt-out is apart (day 7 email still goes).
    let path = t.unsubscribe_path(&id).await.replace("?t=", "?c=sms&t=");
    let r = t
        .call_with(
            "POST",
            &path,
            None,
            None,
            &[("content-type", "application/x-www-form-urlencoded")],
        )
        .await;
    assert_eq!(r.status, 200);
    let day7 = Utc::now() + Duration::days(8);
    t.sens().set_clock(day7);
    runner.fire_due_schedules(day7).await.unwrap();
    assert_eq!(kinds(&t, "01022223333", "sms").len(), 1, "opted out of SMS");
    let mails = t.mail_to(&email).await;
    assert!(
        mails
            .iter()
            .any(|m| m.header("X-Accolade-Stage").as_deref() == Some("day7")),
        "email day 7 still sent"
    );
}

#[tokio::test]
async fn a_thousand_row_csv_sends_ten_requests_per_stage_and_refuses_bad_numbers_by_row() {
    let t = spawn_app().await;
    let (key, tpl) = kakao_storefront(&t).await;
    let mut csv = String::from("email,name,휴대폰\n");
    for i in 0..1_000 {
        csv.push_str(&format!(
            "row{i}@example.com,학습자 {i},010-{:04}-{:04}\n",
            1000 + i / 100,
            1000 + i
        ));
    }
    csv.push_str("bad1@example.com,틀린 번호,02-123-4567\n");
    csv.push_str("bad2@example.com,틀린 번호,1.01235E+10\n");
    let b = t
        .create_batch(
            &key,
            json!({"filename": "kakao.csv", "template_id": tpl["id"]}),
        )
        .await;
    let batch = b["id"].as_str().unwrap().to_owned();
    t.upload(&batch, csv.into_bytes()).await;
    let mut runner = t.runner();
    runner.deliver_uploads().await.unwrap();
    let got = t.batch(&key, &batch).await;
    assert_eq!(got["counts"]["issued"], 1_000, "{got:#}");
    let report = t.report(&batch).await.expect("an error report");
    let text = format!("{report:?}");
    assert!(
        text.contains("not a mobile") && text.contains("scientific notation"),
        "{text}"
    );
    // The awards' records, then the batch's end: one run of its bucket.
    runner.deliver_stream().await.unwrap();
    runner.deliver_stream().await.unwrap();
    t.requests.reset();
    let day1_from = Utc::now();
    runner
        .fire_due_schedules(Utc::now() + Duration::minutes(2))
        .await
        .unwrap();
    let day1_to = Utc::now();
    let seen = t.requests.snapshot();
    let dynamodb: u64 = seen
        .iter()
        .filter(|(k, _)| k.starts_with("dynamodb."))
        .map(|(_, v)| v)
        .sum();
    println!("The batch's day-1 bucket, 1,000 AlimTalks: {dynamodb} DynamoDB requests {seen:?}");
    let alimtalk: Vec<_> = t
        .sens()
        .requests()
        .into_iter()
        .filter(|r| r.0.contains("/alimtalk/"))
        .collect();
    assert_eq!(
        alimtalk.iter().map(|r| r.1).sum::<usize>(),
        1_000,
        "{alimtalk:?}"
    );
    assert!(alimtalk.len() <= 10, "{} requests", alimtalk.len());
    assert!(alimtalk.iter().all(|r| r.2 == 202));
    // Day 3: the hour bucket three days after the day-1 run (two buckets if that run crossed an
    // hour), each run at its time (never at night in Korea). Only the KakaoTalk part is run
    // here, as the notify function (its 1,000 emails are the emails' tests' business, and would
    // take minutes on the emulator).
    // The run's clock is the schedule's time (up to the 2 minutes fired ahead), which may be in
    // the next hour when the test runs just before one.
    let fired = day1_to + Duration::minutes(2);
    let buckets: std::collections::BTreeSet<String> = [day1_from, day1_to, fired]
        .map(|t| accolade::notify::kakao::promotion_bucket(t + Duration::days(3)))
        .into();
    let notify = t.app_of(FunctionName::Notify);
    let mut found = 0;
    for bucket in &buckets {
        let day3 = bucket_fires_at(bucket).unwrap();
        t.sens().set_clock(day3);
        let due: Vec<_> = notify
            .store
            .due_in(bucket)
            .await
            .unwrap()
            .into_iter()
            .filter(|d| d.stage == accolade::domain::followup::Stage::KakaoDay3)
            .collect();
        found += due.len();
        accolade::notify::kakao::handle_due(notify, bucket, due, day3, None)
            .await
            .unwrap();
    }
    assert_eq!(found, 1_000, "the whole file's day 3, in {buckets:?}");
    let sms: Vec<_> = t
        .sens()
        .requests()
        .into_iter()
        .filter(|r| r.0.contains("/sms/"))
        .collect();
    assert_eq!(sms.iter().map(|r| r.1).sum::<usize>(), 1_000, "{sms:?}");
    assert!(sms.len() <= 10 * buckets.len(), "{} requests", sms.len());
}

#[tokio::test]
async fn a_throttled_provider_holds_back_only_its_issuer_and_the_message_goes_later_once() {
    let t = spawn_app().await;
    let (key, tpl) = kakao_storefront(&t).await;
    // Four answers of 429: the first try and its three retries.
    t.sens().fail_next(&[429, 429, 429, 429]);
    t.issue(&key, json!({"template_id": tpl["id"], "recipient": {"email": unique_email("busy"), "name": "김민수", "phone": "010-4444-5555"}}))
        .await;
    let mut runner = t.runner();
    runner.deliver_stream().await.unwrap();
    assert!(
        kinds(&t, "01044445555", "alimtalk").is_empty(),
        "throttled: nothing taken yet"
    );
    // The stream batch did not fail for it (no retry of the batch); the message waits in a bucket.
    runner
        .fire_due_schedules(Utc::now() + Duration::minutes(80))
        .await
        .unwrap();
    assert_eq!(
        kinds(&t, "01044445555", "alimtalk").len(),
        1,
        "{:?}",
        t.sens().requests()
    );
    let statuses: Vec<u16> = t
        .sens()
        .requests()
        .iter()
        .map(|r| r.2)
        .filter(|s| *s != 200)
        .collect();
    assert_eq!(statuses, vec![429, 429, 429, 429, 202]);
}

/// One award's day-3 and day-7 texts can meet in one bucket (both moved on while its issuer's
/// provider failed for days): the day-7 text goes, once (two advertising texts at once would be
/// noise; the emails do the same), and both due items are done.
#[tokio::test]
async fn an_awards_day3_and_day7_in_one_bucket_send_the_day7_text_only() {
    use accolade::{domain::followup::Stage, store::followups::Due};
    let t = spawn_app().await;
    let (key, tpl) = kakao_storefront(&t).await;
    let a = t
        .issue(&key, json!({"template_id": tpl["id"], "recipient": {"email": unique_email("both"), "name": "김민수", "phone": "010-6666-7777"}}))
        .await;
    t.runner().deliver_stream().await.unwrap();
    let aid = accolade::domain::ids::AwardId::parse(a["id"].as_str().unwrap()).unwrap();
    let bucket = accolade::notify::kakao::promotion_bucket(Utc::now() + Duration::days(10));
    let fires = bucket_fires_at(&bucket).unwrap();
    let both: Vec<_> = [Stage::KakaoDay3, Stage::KakaoDay7]
        .into_iter()
        .map(|stage| (Due::new(aid.clone(), stage, bucket.clone()), fires))
        .collect();
    t.app.store.put_followups(&both).await.unwrap();
    t.sens().set_clock(fires);
    accolade::notify::handle_due(t.app_of(FunctionName::Notify), &bucket, fires, None)
        .await
        .unwrap();
    let sms = kinds(&t, "01066667777", "sms");
    assert_eq!(sms.len(), 1, "{:?}", t.sens().requests());
    let day7 = t.app.store.email_record(&aid, "kakao-day7").await.unwrap();
    assert_eq!(day7.map(|r| r.state).as_deref(), Some("sent"));
    let day3 = t.app.store.email_record(&aid, "kakao-day3").await.unwrap();
    assert!(day3.as_ref().is_none_or(|r| r.state != "sent"), "{day3:?}");
    assert!(t.app.store.due_in(&bucket).await.unwrap().is_empty());
}

/// A promotion that waited more than 14 days past its day (the issuer's KakaoTalk settings
/// broken for weeks, say) is not sent: a day-3 text due 18 days after its badge is dropped with
/// its due item, one due 16 days after is sent.
#[tokio::test]
async fn a_promotion_more_than_fourteen_days_past_its_day_is_dropped() {
    use accolade::{domain::followup::Stage, store::followups::Due};
    let t = spawn_app().await;
    let (key, tpl) = kakao_storefront(&t).await;
    let mut awards = Vec::new();
    for (days, phone) in [(18, "010-1212-3434"), (16, "010-5656-7878")] {
        let a = t
            .issue(&key, json!({"template_id": tpl["id"], "recipient": {"email": unique_email("late"), "name": "김민수", "phone": phone}}))
            .await;
        let aid = accolade::domain::ids::AwardId::parse(a["id"].as_str().unwrap()).unwrap();
        awards.push((aid, days));
    }
    t.runner().deliver_stream().await.unwrap();
    for (aid, days) in awards {
        let bucket = accolade::notify::kakao::promotion_bucket(Utc::now() + Duration::days(days));
        let fires = bucket_fires_at(&bucket).unwrap();
        let due = Due::new(aid.clone(), Stage::KakaoDay3, bucket.clone());
        t.app.store.put_followups(&[(due, fires)]).await.unwrap();
        t.sens().set_clock(fires);
        accolade::notify::handle_due(t.app_of(FunctionName::Notify), &bucket, fires, None)
            .await
            .unwrap();
        assert!(t.app.store.due_in(&bucket).await.unwrap().is_empty());
    }
    assert_eq!(
        kinds(&t, "01012123434", "sms").len(),
        0,
        "{:?}",
        t.sens().requests()
    );
    assert_eq!(
        kinds(&t, "01056567878", "sms").len(),
        1,
        "{:?}",
        t.sens().requests()
    );
}

/// A request refused whole whose answer comes after the run's deadline is not split then: the
/// claims go back, the due items stay in their bucket and the bucket continues in a new
/// schedule, whose run splits it — the refused text rejected alone, the others sent once.
#[tokio::test]
async fn a_split_that_would_outlast_the_run_is_left_to_its_continuation() {
    use accolade::{domain::followup::Stage, store::followups::Due};
    let t = spawn_app().await;
    let (key, tpl) = kakao_storefront(&t).await;
    let mut awards = Vec::new();
    for i in 0..6 {
        let body = json!({"template_id": tpl["id"], "recipient": {"email": unique_email("late"), "name": "학습자", "phone": format!("010-8888-000{i}")}});
        let a = t.issue(&key, body).await;
        awards.push(accolade::domain::ids::AwardId::parse(a["id"].as_str().unwrap()).unwrap());
    }
    t.runner().deliver_stream().await.unwrap();
    let bucket = accolade::notify::kakao::promotion_bucket(Utc::now() + Duration::days(10));
    let fires = bucket_fires_at(&bucket).unwrap();
    let dues: Vec<_> = awards
        .iter()
        .map(|a| (Due::new(a.clone(), Stage::KakaoDay7, bucket.clone()), fires))
        .collect();
    t.app.store.put_followups(&dues).await.unwrap();
    t.sens().set_clock(fires);
    t.sens().refuse_requests_to("01088880003");
    // The deadline passes while the provider answers the first request (refused whole).
    // (8 s: time enough to reach the request on a busy machine, and the client waits 10 s.)
    let until = Utc::now() + Duration::seconds(8);
    t.sens().hold_answers_until(Some(until));
    let before = t.sens().requests().len();
    let notify = t.app_of(FunctionName::Notify);
    let due = t.app.store.due_in(&bucket).await.unwrap();
    accolade::notify::kakao::handle_due(notify, &bucket, due, fires, Some(until))
        .await
        .unwrap();
    let requests = t.sens().requests()[before..].to_vec();
    assert_eq!(
        requests.len(),
        1,
        "no half sent after the deadline: {requests:?}"
    );
    assert_eq!((requests[0].1, requests[0].2), (6, 400));
    for a in &awards {
        let rec = t.app.store.email_record(a, "kakao-day7").await.unwrap();
        assert!(rec.is_none(), "the claim went back: {rec:?}");
    }
    assert_eq!(t.app.store.due_in(&bucket).await.unwrap().len(), 6);
    // The continuation's run, with time: the split finds the one refused text.
    t.sens().hold_answers_until(None);
    let due = t.app.store.due_in(&bucket).await.unwrap();
    accolade::notify::kakao::handle_due(notify, &bucket, due, fires, None)
        .await
        .unwrap();
    for (i, a) in awards.iter().enumerate() {
        let rec = record(&t, a, "kakao-day7").await;
        let texts = kinds(&t, &format!("01088880{i:03}"), "sms");
        if i == 3 {
            assert_eq!((rec.state.as_str(), texts.len()), ("rejected", 0));
        } else {
            assert_eq!((rec.state.as_str(), texts.len()), ("sent", 1), "{i}");
        }
    }
    assert!(t.app.store.due_in(&bucket).await.unwrap().is_empty());
}

/// Without a free opt-out number, a promotional text's opt-out is the award's unsubscribe link;
/// an award stored before that link carried a token (2026-11-30) has none that works, so it gets
/// no day-3 or day-7 text, while an award with a token gets both.
#[tokio::test]
async fn no_promotional_text_without_a_working_opt_out() {
    let t = spawn_app().await;
    let (key, tpl) = crate::emails::storefront(&t).await;
    let mut settings = kakao_settings();
    settings.as_object_mut().unwrap().remove("opt_out_number");
    t.kakao_on(&key, settings).await;
    let mut ids = Vec::new();
    for phone in ["010-4444-0001", "010-4444-0002"] {
        let body = json!({"template_id": tpl["id"], "recipient": {"email": unique_email("optout"), "name": "이서연", "phone": phone}});
        ids.push(t.issue(&key, body).await["id"].as_str().unwrap().to_owned());
    }
    let old = accolade::domain::ids::AwardId::parse(&ids[0]).unwrap();
    crate::emails::stored_without_unsubscribe_token(&t, &old).await;
    let mut runner = t.runner();
    runner.deliver_stream().await.unwrap();
    // Ten in the morning in Korea, eight days on: every day-3 and day-7 bucket is due.
    let day = (Utc::now() + Duration::days(8))
        .with_timezone(&korea())
        .date_naive();
    let morning = korea()
        .from_local_datetime(&day.and_hms_opt(10, 0, 0).unwrap())
        .unwrap()
        .with_timezone(&Utc);
    t.sens().set_clock(morning);
    runner.fire_due_schedules(morning).await.unwrap();
    assert!(t.lambda.failures().is_empty(), "{:?}", t.lambda.failures());
    assert_eq!(
        kinds(&t, "01044440002", "sms").len(),
        2,
        "{:?}",
        t.sens().requests()
    );
    assert!(kinds(&t, "01044440002", "sms")[0]
        .content
        .contains("/unsubscribe?c=sms&t="));
    assert_eq!(
        kinds(&t, "01044440001", "sms").len(),
        0,
        "no working opt-out: no promotion"
    );
}

/// The provider took a day-1 AlimTalk, then asking for its result failed (the result bucket's
/// schedule could not be made): the message is not queued again for the issuer — its claim
/// would have lapsed by then — so it goes once.
#[tokio::test]
async fn a_message_the_provider_took_is_not_sent_again_when_what_follows_fails() {
    let t = spawn_app().await;
    let (key, tpl) = kakao_storefront(&t).await;
    t.issue(&key, json!({"template_id": tpl["id"], "recipient": {"email": unique_email("k"), "name": "김민수", "phone": "010-7777-0001"}}))
        .await;
    // The result bucket's CreateSchedule comes after one for each distinct bucket of the email
    // follow-ups and the KakaoTalk promotions (day 3 and day 7; a promotion is held out of the
    // Korean night, so at some hours of the day it shares the email's bucket): its answers are
    // lost, the SDK's three tries. (A fixed fifth call failed the test from 22:00 to 23:00 UTC.)
    let now = Utc::now();
    let buckets: std::collections::BTreeSet<String> = [3, 7]
        .into_iter()
        .flat_map(|days| {
            let at = now + Duration::days(days);
            [
                accolade::domain::followup::bucket_of(at),
                accolade::notify::kakao::promotion_bucket(at),
            ]
        })
        .collect();
    t.faults().arm_at_nth(
        "scheduler.CreateSchedule",
        buckets.len(),
        3,
        infra::metering::Fault::Throttle,
    );
    let mut runner = t.runner();
    runner.deliver_stream().await.unwrap();
    assert_eq!(
        t.faults().fired().as_deref(),
        Some("scheduler.CreateSchedule")
    );
    t.faults().arm_at(0, None);
    assert_eq!(kinds(&t, "01077770001", "alimtalk").len(), 1);
    // An hour on, every schedule due has fired: still one.
    let later = Utc::now() + Duration::hours(1);
    t.sens().set_clock(later);
    runner.fire_due_schedules(later).await.unwrap();
    assert_eq!(
        kinds(&t, "01077770001", "alimtalk").len(),
        1,
        "{:?}",
        t.sens().requests()
    );
}

/// The provider took a day-3 promotion, its mark failed (left `sending`, a claim that lapses),
/// and then deleting its due item failed too, which fails the issuer's run: before, every
/// message of that run was queued again 15 minutes on, where the lapsed claim let this one go a
/// second time. Only what the provider was not asked to send goes again.
#[tokio::test]
async fn a_promotion_the_provider_took_is_not_queued_again_when_its_run_fails_after() {
    let t = spawn_app().await;
    let (key, tpl) = kakao_storefront(&t).await;
    t.issue(&key, json!({"template_id": tpl["id"], "recipient": {"email": unique_email("taken"), "name": "김민수", "phone": "010-4444-5555"}}))
        .await;
    let mut runner = t.runner();
    let sent_from = Utc::now();
    runner.deliver_stream().await.unwrap();
    let sent_to = Utc::now();
    let day3 = day3_bucket(&t, sent_from, sent_to).await;
    let at = bucket_fires_at(&day3).unwrap();
    t.sens().set_clock(at);
    // The run's calls: PutItem (claim), BatchWriteItem + CreateSchedule (its results asked for
    // later), PutItem (mark), UpdateItem (count), DeleteItem (its due item). The mark is refused
    // on every try; the due item's deletion lands but its answers are lost, the SDK's 3 tries.
    t.faults()
        .arm_at_nth("dynamodb.PutItem", 1, 11, infra::metering::Fault::Conflict);
    t.faults().arm("DeleteItem", 3);
    let notify = t.app_of(FunctionName::Notify);
    let out = accolade::notify::handle_due(notify, &day3, at, None)
        .await
        .unwrap();
    assert_eq!(t.faults().fired().as_deref(), Some("dynamodb.PutItem"));
    assert_eq!(t.faults().remaining("DeleteItem"), 0);
    t.faults().arm_at(0, None);
    assert!(!out.to_string().contains("again in 15 minutes"), "{out}");
    assert_eq!(kinds(&t, "01044445555", "sms").len(), 1);
    // Hours on, every schedule due has fired (a run 15 minutes on, where the message's claim
    // has lapsed, among them before the fix): still one.
    let later = at + Duration::hours(3);
    t.sens().set_clock(later);
    runner.fire_due_schedules(later).await.unwrap();
    assert_eq!(
        kinds(&t, "01044445555", "sms").len(),
        1,
        "{:?}",
        t.sens().requests()
    );
}

/// A result round asks for each SMS's result one by one; once SENS throttles those queries, the
/// round stops asking (the rest would meet the same 429) and the next poll asks again.
#[tokio::test]
async fn a_result_round_stops_asking_once_the_provider_throttles_and_the_next_poll_counts_all() {
    let t = spawn_app().await;
    let (key, tpl) = kakao_storefront(&t).await;
    let phones: Vec<String> = (0..12).map(|i| format!("0105555{:04}", 1000 + i)).collect();
    let mut awards = Vec::new();
    for p in &phones {
        awards.push(t.issue(&key, json!({"template_id": tpl["id"], "recipient": {"email": unique_email("round"), "name": "김민수", "phone": p}}))
            .await);
    }
    let mut runner = t.runner();
    let sent_from = Utc::now();
    runner.deliver_stream().await.unwrap();
    let day3 = day3_bucket(&t, sent_from, Utc::now()).await;
    // Held to 08:00 by a run at night, so the day-3 texts go at a known time.
    let local = bucket_fires_at(&day3)
        .unwrap()
        .with_timezone(&korea())
        .date_naive();
    let at = |day: chrono::NaiveDate, h, m| {
        let local = day.and_hms_opt(h, m, 0).unwrap();
        korea()
            .from_local_datetime(&local)
            .unwrap()
            .with_timezone(&Utc)
    };
    let night = at(local, 23, 30);
    t.sens().set_clock(night);
    accolade::notify::handle_due(t.app_of(FunctionName::Notify), &day3, night, None)
        .await
        .unwrap();
    let morning = at(local + Duration::days(1), 8, 0);
    t.sens().set_clock(morning);
    runner.fire_due_schedules(morning).await.unwrap();
    let texts = phones
        .iter()
        .map(|p| kinds(&t, p, "sms").len())
        .sum::<usize>();
    assert_eq!(texts, 12, "{:?}", t.sens().requests());
    let per_message = |t: &TestApp| -> Vec<u16> {
        let q = t.sens().queries();
        q.iter()
            .filter(|(path, _)| path.starts_with("/sms/") && path.contains("/messages/"))
            .map(|(_, status)| *status)
            .collect()
    };
    let delivered = |counts: Vec<std::collections::BTreeMap<String, i64>>| {
        counts
            .iter()
            .filter(|c| c.get("kakao:day3:delivered") == Some(&1))
            .count()
    };

    // The first poll: the first eight queries (all in flight at once) are throttled, and no
    // more are made.
    t.sens().fail_next_queries(&[429; 8]);
    let first = morning + Duration::minutes(6);
    t.sens().set_clock(first);
    runner.fire_due_schedules(first).await.unwrap();
    assert_eq!(
        per_message(&t),
        vec![429; 8],
        "the round stops at the throttle"
    );
    let mut counts = Vec::new();
    for a in &awards {
        counts.push(counters(&t, a).await);
    }
    assert_eq!(delivered(counts), 0);

    // The next poll asks for all twelve and counts each once.
    let next = morning + Duration::minutes(17);
    t.sens().set_clock(next);
    runner.fire_due_schedules(next).await.unwrap();
    let statuses = per_message(&t);
    assert_eq!(statuses.len(), 20, "{statuses:?}");
    assert!(statuses[8..].iter().all(|s| *s == 200), "{statuses:?}");
    let mut counts = Vec::new();
    for a in &awards {
        counts.push(counters(&t, a).await);
    }
    assert_eq!(delivered(counts), 12);
}
