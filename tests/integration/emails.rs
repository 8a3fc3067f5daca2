//! Issue #6 (first part): the day-1 email from the DynamoDB stream, exactly once.

use accolade::domain::ids::AwardId;
use accolade_tests::{csv_rows, spawn_app, template_body, unique_email, FunctionName, TestApp};
use serde_json::{json, Value};

#[tokio::test]
async fn one_day1_email_per_award_even_when_records_repeat() {
    let t = spawn_app().await;
    let (key, tpl) = t.issuer_with_template().await;
    let to = unique_email("kim");
    let a = t
        .issue(
            &key,
            json!({"template_id": tpl["id"], "recipient": {"email": to, "name": "김민수"}}),
        )
        .await;
    let id = a["id"].as_str().unwrap();
    let mut runner = t.runner();
    runner.deliver_stream().await.unwrap();
    let mails = t.mail_to(&to).await;
    assert_eq!(mails.len(), 1);
    let m = &mails[0];
    assert_eq!(
        m.subject(),
        "[한빛대학교] 데이터 분석 기초 배지가 발급되었습니다"
    );
    assert_eq!(m.header("To").as_deref(), Some(to.as_str()));
    assert!(m
        .header("From")
        .unwrap()
        .ends_with(&format!("<{}>", accolade_tests::SENDER)));
    assert!(
        m.header("List-Unsubscribe").is_none(),
        "day 1 is transactional"
    );
    assert!(m.text.contains("김민수님, 축하합니다!"), "{}", m.text);
    assert!(m
        .text
        .contains(&a["urls"]["page"].as_str().unwrap().to_string()));
    assert!(m.html.contains(&format!("/b/{id}/go/linkedin-add")));
    assert!(m.html.contains(&format!("/b/{id}/qr.png")));
    assert!(m.html.contains("<html lang=\"ko\">"));

    // The same records again (Lambda retries, duplicated delivery), and the stream polled again.
    let record = json!({"eventName": "INSERT", "dynamodb": {"NewImage": {"type": {"S": "award"}, "id": {"S": id}}, "SequenceNumber": "1"}});
    let event = json!({"Records": [record.clone(), record]});
    let (r1, r2) = tokio::join!(
        t.invoke(FunctionName::Notify, event.clone()),
        t.invoke(FunctionName::Notify, event)
    );
    assert_eq!(r1.unwrap()["batchItemFailures"], json!([]));
    assert_eq!(r2.unwrap()["batchItemFailures"], json!([]));
    runner.deliver_stream().await.unwrap();
    assert_eq!(t.mail_to(&to).await.len(), 1, "still exactly one email");
    let rec = t
        .app
        .store
        .email_record(&AwardId::parse(id).unwrap(), "day1")
        .await
        .unwrap()
        .unwrap();
    assert_eq!(rec.state, "sent");
}

#[tokio::test]
async fn english_awards_get_english_mail_and_hostile_names_are_escaped() {
    let t = spawn_app().await;
    let (key, tpl) = t.issuer_with_template().await;
    let to = unique_email("jane");
    t.issue(&key, json!({"template_id": tpl["id"], "locale": "en", "recipient": {"email": to, "name": "Jane <script>x</script>"}})).await;
    t.runner().deliver_stream().await.unwrap();
    let m = &t.mail_to(&to).await[0];
    assert_eq!(m.subject(), "Your 데이터 분석 기초 badge from 한빛대학교");
    assert!(
        m.text.contains("Congratulations, Jane <script>x</script>!"),
        "plain text is plain"
    );
    assert!(
        m.html.contains("Jane &lt;script&gt;x&lt;/script&gt;") && !m.html.contains("<script>x"),
        "HTML is escaped"
    );
    assert!(m.html.contains("Add to LinkedIn profile"));
}

#[tokio::test]
async fn no_mail_when_not_wanted_suppressed_or_rejected() {
    let t = spawn_app().await;
    let (key, tpl) = t.issuer_with_template().await;
    let quiet = unique_email("quiet");
    t.issue(&key, json!({"template_id": tpl["id"], "notify": false, "recipient": {"email": quiet, "name": "Q"}})).await;
    let bounced = unique_email("bounced");
    let email = accolade::domain::email::Email::parse(&bounced).unwrap();
    t.app
        .store
        .suppress(&email.lookup_key(), "hard bounce", chrono::Utc::now())
        .await
        .unwrap();
    let b = t
        .issue(
            &key,
            json!({"template_id": tpl["id"], "recipient": {"email": bounced, "name": "B"}}),
        )
        .await;
    t.runner().deliver_stream().await.unwrap();
    assert!(t.mail_to(&quiet).await.is_empty());
    assert!(t.mail_to(&bounced).await.is_empty());
    let rec = t
        .app
        .store
        .email_record(&AwardId::parse(b["id"].as_str().unwrap()).unwrap(), "day1")
        .await
        .unwrap()
        .unwrap();
    assert_eq!(rec.state, "suppressed");

    // A sender SES does not know: a permanent rejection, recorded, not retried.
    let mut config = t.app.config.clone();
    config.sender_email = Some("badges@not-verified.example".into());
    let app = accolade::app::App::new(config, &t.sdk);
    let (rid, _) = issue_to_new(&t, &key, &tpl, "rejected").await;
    let (out, _) = accolade::notify::send_day1(&app, &rid, chrono::Utc::now())
        .await
        .unwrap();
    assert!(
        matches!(out, accolade::notify::Sent::Rejected(_)),
        "{out:?}"
    );
    let rec = t
        .app
        .store
        .email_record(&rid, "day1")
        .await
        .unwrap()
        .unwrap();
    assert_eq!(rec.state, "rejected");
    assert!(rec.detail.unwrap().contains("MessageRejected"));
    assert_eq!(
        accolade::notify::send_day1(&app, &rid, chrono::Utc::now())
            .await
            .unwrap()
            .0,
        accolade::notify::Sent::AlreadyHandled
    );
    // Counted for analytics, once (SES publishes no event for a send it refused).
    let counters = t.app.store.award_counters(&rid).await.unwrap();
    assert_eq!(
        counters.get("email:day1:rejected"),
        Some(&1),
        "{counters:?}"
    );
}

#[tokio::test]
async fn csv_batches_send_one_email_per_row_unless_notify_is_off() {
    let t = spawn_app().await;
    let (key, tpl) = t.issuer_with_template().await;
    let prefix = format!("row{}.", uuid::Uuid::new_v4().simple());
    let on = t
        .create_batch(
            &key,
            json!({"filename": "on.csv", "template_id": tpl["id"]}),
        )
        .await;
    t.upload(on["id"].as_str().unwrap(), csv_rows(3, &prefix))
        .await;
    let prefix_off = format!("off{}.", uuid::Uuid::new_v4().simple());
    let off = t
        .create_batch(
            &key,
            json!({"filename": "off.csv", "template_id": tpl["id"], "notify": false}),
        )
        .await;
    t.upload(off["id"].as_str().unwrap(), csv_rows(3, &prefix_off))
        .await;
    let mut runner = t.runner();
    runner.deliver_uploads().await.unwrap();
    runner.deliver_stream().await.unwrap();
    runner.deliver_stream().await.unwrap();
    for i in 0..3 {
        assert_eq!(
            t.mail_to(&format!("{prefix}{i}@example.com")).await.len(),
            1,
            "row {i}"
        );
        assert!(
            t.mail_to(&format!("{prefix_off}{i}@example.com"))
                .await
                .is_empty(),
            "row {i} (notify off)"
        );
    }
}

#[tokio::test]
async fn the_local_outbox_page_lists_received_mail() {
    let t = spawn_app().await;
    let (key, tpl) = t.issuer_with_template().await;
    let to = unique_email("outbox");
    t.issue(
        &key,
        json!({"template_id": tpl["id"], "recipient": {"email": to, "name": "<b>Outbox</b>"}}),
    )
    .await;
    t.runner().deliver_stream().await.unwrap();
    let page = t.browse("/_local/outbox").await;
    assert_eq!(page.status, accolade_tests::StatusCode::OK);
    let html = page.text();
    assert!(html.contains(&to), "the recipient is listed");
    assert!(
        html.contains("[한빛대학교] 데이터 분석 기초 배지가 발급되었습니다"),
        "subject decoded"
    );
    assert!(html.contains("sandbox=\"\""), "HTML parts are sandboxed");
    assert!(
        !html.contains("<b>Outbox</b>"),
        "mail content is escaped into the page"
    );
}

/// A template that recommends something (follow-ups need something to recommend).
pub(crate) async fn storefront(t: &TestApp) -> (String, Value) {
    let (_, key) = t.issuer("한빛대학교").await;
    let next = t
        .create_template(&key, template_body("데이터 분석 심화"))
        .await;
    let mut body = template_body("데이터 분석 기초");
    body["related"] = json!([{"template_id": next["id"], "label": "다음 단계"}]);
    body["enrolment"] = json!({"program_name": "심화 과정", "program_url": "https://univ.example.ac.kr/enrol", "period": "12주"});
    (key.clone(), t.create_template(&key, body).await)
}

async fn schedule_names(t: &TestApp) -> Vec<String> {
    let c = aws_sdk_scheduler::Client::new(&t.sdk);
    let out = c
        .list_schedules()
        .group_name(&t.names.schedule_group)
        .send()
        .await
        .unwrap();
    out.schedules()
        .iter()
        .filter_map(|s| s.name().map(str::to_owned))
        .collect()
}

#[tokio::test]
async fn day3_and_day7_go_out_in_their_bucket_with_unsubscribe_and_the_ad_mark() {
    let t = spawn_app().await;
    let (key, tpl) = storefront(&t).await;
    let to = unique_email("follow");
    let a = t
        .issue(
            &key,
            json!({"template_id": tpl["id"], "recipient": {"email": to, "name": "김민수"}}),
        )
        .await;
    let id = a["id"].as_str().unwrap().to_owned();
    let mut runner = t.runner();
    runner.deliver_stream().await.unwrap();
    let names = schedule_names(&t).await;
    assert!(
        !names.is_empty() && names.len() <= 4,
        "one schedule per hour bucket: {names:?}"
    );
    assert!(names.iter().all(|n| n.starts_with("due-")));
    // Nothing fires before day 3.
    assert_eq!(
        runner
            .fire_due_schedules(chrono::Utc::now() + chrono::Duration::days(2))
            .await
            .unwrap(),
        0
    );
    assert_eq!(t.mail_to(&to).await.len(), 1, "only the day-1 email so far");
    // Day 3's bucket.
    let fired = runner
        .fire_due_schedules(
            chrono::Utc::now() + chrono::Duration::days(3) + chrono::Duration::hours(2),
        )
        .await
        .unwrap();
    assert!(fired >= 1);
    let mails = t.mail_to(&to).await;
    assert_eq!(mails.len(), 2, "day 1 + day 3");
    let day3 = mails
        .iter()
        .find(|m| m.header("X-Accolade-Stage").as_deref() == Some("day3"))
        .unwrap();
    assert!(day3.subject().starts_with("(광고) "), "{}", day3.subject());
    let unsubscribe = format!("<{}{}>", t.base_url, t.unsubscribe_path(&id).await);
    assert_eq!(day3.header("List-Unsubscribe"), Some(unsubscribe.clone()));
    assert_eq!(
        day3.header("List-Unsubscribe-Post").as_deref(),
        Some("List-Unsubscribe=One-Click")
    );
    assert!(day3
        .html
        .contains(&format!("/b/{id}/go/enrol?src=email-day3")));
    assert!(
        day3.html.contains("데이터 분석 심화")
            && day3.html.contains(&t.unsubscribe_path(&id).await)
    );
    // Fired schedules are deleted, as Scheduler does with ActionAfterCompletion DELETE.
    assert!(schedule_names(&t).await.len() < names.len());
    // Day 7.
    runner
        .fire_due_schedules(chrono::Utc::now() + chrono::Duration::days(8))
        .await
        .unwrap();
    let mails = t.mail_to(&to).await;
    assert_eq!(mails.len(), 3, "day 1 + day 3 + day 7");
    // Firing again sends nothing more.
    let _ = accolade::notify::handle_due(
        t.app_of(FunctionName::Notify),
        &accolade::domain::followup::bucket_of(chrono::Utc::now() + chrono::Duration::days(7)),
        chrono::Utc::now(),
        None,
    )
    .await
    .unwrap();
    assert_eq!(t.mail_to(&to).await.len(), 3);
}

#[tokio::test]
async fn follow_ups_respect_revocation_unsubscribe_conversion_and_settings() {
    let t = spawn_app().await;
    let (key, tpl) = storefront(&t).await;
    let revoked = unique_email("revoked");
    let unsub = unique_email("unsub");
    let converted = unique_email("converted");
    let ids: Vec<String> = {
        let mut v = Vec::new();
        for to in [&revoked, &unsub, &converted] {
            let a = t
                .issue(
                    &key,
                    json!({"template_id": tpl["id"], "recipient": {"email": to, "name": "X"}}),
                )
                .await;
            v.push(a["id"].as_str().unwrap().to_owned());
        }
        v
    };
    let mut runner = t.runner();
    runner.deliver_stream().await.unwrap();
    t.call(
        "POST",
        &format!("/v1/awards/{}/revoke", ids[0]),
        Some(&key),
        Some(json!({"reason": "error"})),
    )
    .await;
    // One-click unsubscribe, as a mail provider posts it (RFC 8058). Without the link's token
    // (a badge link is public), nothing happens.
    let bare = format!("/b/{}/unsubscribe", ids[1]);
    let link = t.unsubscribe_path(&ids[1]).await;
    for wrong in [bare.clone(), format!("{bare}?t=AAAAAAAAAAAAAAAAAAAAAA")] {
        let r = t
            .call_with(
                "POST",
                &wrong,
                None,
                None,
                &[("content-type", "application/x-www-form-urlencoded")],
            )
            .await;
        assert_eq!(r.status, accolade_tests::StatusCode::NOT_FOUND, "{wrong}");
        assert_eq!(
            t.browse(&wrong).await.status,
            accolade_tests::StatusCode::NOT_FOUND
        );
    }
    let r = t
        .call_with(
            "POST",
            &link,
            None,
            None,
            &[("content-type", "application/x-www-form-urlencoded")],
        )
        .await;
    assert_eq!(r.status, accolade_tests::StatusCode::OK);
    assert!(r.text().contains("수신 거부되었습니다"));
    let page = t.browse(&link).await;
    assert!(
        page.text().contains("<form method=\"post\""),
        "GET only shows the button"
    );
    // The third recipient enrolled from the page before day 7.
    t.browse(&format!("/b/{}/go/enrol", ids[2])).await;
    runner
        .fire_due_schedules(
            chrono::Utc::now() + chrono::Duration::days(3) + chrono::Duration::hours(2),
        )
        .await
        .unwrap();
    runner
        .fire_due_schedules(chrono::Utc::now() + chrono::Duration::days(8))
        .await
        .unwrap();
    assert_eq!(t.mail_to(&revoked).await.len(), 1, "revoked: day 1 only");
    assert_eq!(t.mail_to(&unsub).await.len(), 1, "unsubscribed: day 1 only");
    let conv = t.mail_to(&converted).await;
    let stages: Vec<String> = conv
        .iter()
        .filter_map(|m| m.header("X-Accolade-Stage"))
        .collect();
    assert_eq!(
        stages.len(),
        2,
        "converted: day 1 and day 3, no day-7 reminder: {stages:?}"
    );
    assert!(!stages.contains(&"day7".to_string()));

    // A template with follow-ups switched off, or nothing to recommend, sends none.
    let mut quiet = template_body("조용한 배지");
    quiet["follow_ups"] = json!({"day3": false, "day7": false});
    let quiet = t.create_template(&key, quiet).await;
    let bare = t
        .create_template(&key, template_body("추천 없는 배지"))
        .await;
    let q = unique_email("quiet");
    let b = unique_email("bare");
    t.issue(
        &key,
        json!({"template_id": quiet["id"], "recipient": {"email": q, "name": "Q"}}),
    )
    .await;
    t.issue(
        &key,
        json!({"template_id": bare["id"], "recipient": {"email": b, "name": "B"}}),
    )
    .await;
    runner.deliver_stream().await.unwrap();
    runner
        .fire_due_schedules(chrono::Utc::now() + chrono::Duration::days(8))
        .await
        .unwrap();
    assert_eq!(t.mail_to(&q).await.len(), 1);
    assert_eq!(t.mail_to(&b).await.len(), 1);
}

#[tokio::test]
async fn a_csv_batch_creates_a_handful_of_schedules_not_one_per_award() {
    let t = spawn_app().await;
    let (key, tpl) = storefront(&t).await;
    let b = t
        .create_batch(
            &key,
            json!({"filename": "cohort.csv", "template_id": tpl["id"]}),
        )
        .await;
    let prefix = format!("s{}.", uuid::Uuid::new_v4().simple());
    t.upload(b["id"].as_str().unwrap(), csv_rows(300, &prefix))
        .await;
    let mut runner = t.runner();
    runner.deliver_uploads().await.unwrap();
    for _ in 0..5 {
        runner.deliver_stream().await.unwrap();
    }
    let names = schedule_names(&t).await;
    assert!(
        names.len() <= 4,
        "300 awards, {} schedules: {names:?}",
        names.len()
    );
    // The awards may straddle an hour boundary: count the day-3 stage in every bucket they use.
    let mut buckets: Vec<String> = t
        .batch_awards(&key, b["id"].as_str().unwrap())
        .await
        .iter()
        .map(|a| {
            let issued: chrono::DateTime<chrono::Utc> =
                a["issued_on"].as_str().unwrap().parse().unwrap();
            accolade::domain::followup::bucket_of(issued + chrono::Duration::days(3))
        })
        .collect();
    buckets.sort();
    buckets.dedup();
    let mut day3 = 0;
    for bucket in &buckets {
        day3 += t
            .app
            .store
            .due_in(bucket)
            .await
            .unwrap()
            .iter()
            .filter(|d| d.stage == accolade::domain::followup::Stage::Day3)
            .count();
    }
    assert_eq!(
        day3, 300,
        "every award's day-3 follow-up is queued ({buckets:?})"
    );
}

pub(crate) fn ses_event(kind: &str, award: &str, stage: &str, to: &str, detail: Value) -> Value {
    let mut d = json!({
        "eventType": kind,
        "mail": {"messageId": "m-1", "destination": [to], "tags": {"award": [award], "stage": [stage]}},
    });
    if let (Some(o), Some(extra)) = (d.as_object_mut(), detail.as_object()) {
        o.extend(extra.clone());
    }
    json!({"version": "0", "id": uuid::Uuid::new_v4().to_string(), "detail-type": format!("Email {kind}"), "source": "aws.ses", "detail": d})
}

/// A badge of a new issuer's template, issued to a new address (`tag` in it): its id, the
/// address and the template.
async fn issued_to_new_recipient(t: &TestApp, tag: &str) -> (String, String, Value) {
    let (key, tpl) = t.issuer_with_template().await;
    let (id, to) = issue_to_new(t, &key, &tpl, tag).await;
    (id.to_string(), to, tpl)
}

/// Issues an award of `tpl` to a new address (with `tag` in it): the award's id and the address.
async fn issue_to_new(t: &TestApp, key: &str, tpl: &Value, tag: &str) -> (AwardId, String) {
    let to = unique_email(tag);
    let body = json!({"template_id": tpl["id"], "recipient": {"email": to, "name": "수신자"}});
    let id = AwardId::parse(t.issue(key, body).await["id"].as_str().unwrap()).unwrap();
    (id, to)
}

/// Today's day item (in the demo issuers' zone, Seoul) of the template `tpl`.
async fn today_of(t: &TestApp, tpl: &Value) -> std::collections::BTreeMap<String, i64> {
    let tid = accolade::domain::ids::TemplateId::parse(tpl["id"].as_str().unwrap()).unwrap();
    let day = chrono::Utc::now()
        .with_timezone(&chrono_tz::Asia::Seoul)
        .date_naive();
    t.app.store.daily_counters(&tid, day).await.unwrap()
}

/// The counters item of award `id`.
async fn counters_of(t: &TestApp, id: &str) -> std::collections::BTreeMap<String, i64> {
    let id = AwardId::parse(id).unwrap();
    t.app.store.award_counters(&id).await.unwrap()
}

/// What happens to an email once (here its delivery) is counted once per email by one
/// conditional write of the award's counters item — no `EVENT#` item, no transaction — even when
/// SES reports it again under another event id; opens repeat and each counts.
#[tokio::test]
async fn an_email_is_counted_delivered_once_by_one_write_and_each_open_counts() {
    let t = spawn_app().await;
    let (id, to, tpl) = issued_to_new_recipient(&t, "once").await;
    t.runner().deliver_stream().await.unwrap();
    let delivery = || {
        let d = json!({"delivery": {"recipients": [to]}});
        ses_event("Delivery", &id, "day1", &to, d)
    };
    t.ses_event(&delivery()).await; // the first event warms the function's caches
    let again = delivery();
    t.request_units().await;
    assert_eq!(t.ses_event(&again).await, "ignored: already counted");
    let units = t.request_units().await;
    assert_eq!(units["UpdateItem"]["requests"], 1, "{units}");
    // (DynamoDB bills a refused condition as the write would have been.)
    assert_eq!(units["UpdateItem"]["wru"], 1, "{units}");
    assert!(units.get("TransactWriteItems").is_none(), "{units}");
    assert!(units.get("PutItem").is_none(), "{units}");
    // Its Send event, should the configuration set publish one, counts nothing and reads
    // nothing: the email's mark `sent` counts it (rolled up from the stream, below).
    let mut sent = ses_event("Send", &id, "day1", &to, json!({}));
    sent["detail"]["mail"]["tags"]["counted"] = json!(["mark"]);
    let not_counted = "Send: not counted, the stage's mark counts it";
    assert_eq!(t.ses_event(&sent).await, not_counted);
    let units = t.request_units().await;
    assert_eq!(units, json!({}), "{units}");
    for _ in 0..2 {
        let open = ses_event("Open", &id, "day1", &to, json!({"open": {}}));
        assert_eq!(t.ses_event(&open).await, "counted email:day1:opened");
        assert_eq!(t.ses_event(&open).await, "ignored: already counted");
    }
    let c = counters_of(&t, &id).await;
    assert_eq!(c.get("email:day1:delivered"), Some(&1), "{c:?}");
    assert_eq!(c.get("email:day1:sent"), None, "its mark has it: {c:?}");
    assert_eq!(c.get("email:day1:opened"), Some(&2), "{c:?}");
    let aid = AwardId::parse(&id).unwrap();
    let exported = t
        .app
        .store
        .award_counters_many(std::slice::from_ref(&aid))
        .await
        .unwrap();
    assert_eq!(
        exported[&aid].get("email:day1:sent"),
        Some(&1),
        "{exported:?}"
    );
    t.roll_up().await;
    let daily = today_of(&t, &tpl).await;
    assert_eq!(daily.get("email:day1:sent"), Some(&1), "{daily:?}");
    assert_eq!(daily.get("email:day1:delivered"), Some(&1), "{daily:?}");
    assert_eq!(daily.get("email:day1:opened"), Some(&2), "{daily:?}");
}

/// The first two deploys of an upgrade from before 2026-12-08 (README step 15): with
/// `CountSentEmailsBy` send-event notify tags neither its message nor its mark, and the email is
/// counted sent by its Send event; with `both` the Send event is still published, and the mark
/// counts the email. Once either way.
#[tokio::test]
async fn while_send_events_are_published_an_email_is_counted_sent_once() {
    for (step, on_counters) in [("send-event", Some(&1)), ("both", None)] {
        let t = accolade_tests::spawn_app_with(accolade_tests::sent_counted_by(step)).await;
        sent_once_with_send_events(&t, on_counters).await;
    }
}

/// An email sent while the configuration set publishes Send events: counted sent once in the
/// day item and the export; `on_counters`: what the award's counters item holds.
async fn sent_once_with_send_events(t: &TestApp, on_counters: Option<&i64>) {
    let (id, _, tpl) = issued_to_new_recipient(t, "upgrade").await;
    let mut runner = t.runner();
    runner.deliver_stream().await.unwrap();
    let published = runner.deliver_ses_events().await.unwrap();
    assert_eq!(published, 2, "Send and Delivery");
    while runner.deliver_stream().await.unwrap() > 0 {}
    let aid = AwardId::parse(&id).unwrap();
    let c = counters_of(t, &id).await;
    assert_eq!(c.get("email:day1:sent"), on_counters, "{c:?}");
    let exported = t.app.store.award_counters_many(std::slice::from_ref(&aid));
    let exported = exported.await.unwrap();
    let sent = exported[&aid].get("email:day1:sent");
    assert_eq!(sent, Some(&1), "{exported:?}");
    let daily = today_of(t, &tpl).await;
    assert_eq!(daily.get("email:day1:sent"), Some(&1), "{daily:?}");
    assert_eq!(daily.get("email:day1:delivered"), Some(&1), "{daily:?}");
}

/// An email whose send ended `unknown` (SES's answer lost: no mark `sent`) is counted sent by the
/// first event that says SES took it, once; one marked `sent` is not counted again by them.
#[tokio::test]
async fn an_email_whose_send_ended_unknown_is_counted_sent_when_ses_reports_it() {
    let t = spawn_app().await;
    let (id, to, _) = issued_to_new_recipient(&t, "unknown").await;
    t.runner().deliver_stream().await.unwrap();
    let aid = AwardId::parse(&id).unwrap();
    let store = &t.app_of(FunctionName::Notify).store;
    let now = chrono::Utc::now();
    assert!(store
        .claim_email(&aid, "day3", now + chrono::Duration::minutes(5), now)
        .await
        .unwrap());
    store
        .finish_email(&aid, "day3", "unknown", "timed out", now)
        .await
        .unwrap();
    let tagged = |kind: &str, stage: &str, detail: Value| {
        let mut e = ses_event(kind, &id, stage, &to, detail);
        e["detail"]["mail"]["tags"]["counted"] = json!(["mark"]);
        e
    };
    let delivered = || json!({"delivery": {"recipients": [to]}});
    for _ in 0..2 {
        t.ses_event(&tagged("Delivery", "day3", delivered())).await;
        t.ses_event(&tagged("Delivery", "day1", delivered())).await;
    }
    // A soft bounce (SES reports one only once it gave up on the email) says SES took it too.
    assert!(store
        .claim_email(&aid, "day7", now + chrono::Duration::minutes(5), now)
        .await
        .unwrap());
    store
        .finish_email(&aid, "day7", "unknown", "timed out", now)
        .await
        .unwrap();
    let soft = json!({"bounce": {"bounceType": "Transient", "bouncedRecipients": []}});
    let out = t.ses_event(&tagged("Bounce", "day7", soft)).await;
    assert_eq!(out, "Bounce: not counted, not a permanent bounce");
    let c = counters_of(&t, &id).await;
    assert_eq!(c.get("email:day3:sent"), Some(&1), "{c:?}");
    assert_eq!(c.get("email:day3:delivered"), Some(&1), "{c:?}");
    assert_eq!(c.get("email:day1:sent"), None, "day 1's mark has it: {c:?}");
    assert_eq!(c.get("email:day1:delivered"), Some(&1), "{c:?}");
    assert_eq!(c.get("email:day7:sent"), Some(&1), "{c:?}");
    assert_eq!(c.get("email:day7:bounced"), None, "{c:?}");
}

#[tokio::test]
async fn ses_events_move_counters_once_and_hard_bounces_suppress() {
    let t = spawn_app().await;
    let (key, tpl) = storefront(&t).await;
    let (id, to) = issue_to_new(&t, &key, &tpl, "events").await;
    let id = id.to_string();
    t.runner().deliver_stream().await.unwrap();
    let events = [
        ses_event("Send", &id, "day1", &to, json!({})),
        ses_event(
            "Delivery",
            &id,
            "day1",
            &to,
            json!({"delivery": {"recipients": [to]}}),
        ),
        ses_event("Open", &id, "day1", &to, json!({"open": {}})),
        ses_event(
            "Click",
            &id,
            "day1",
            &to,
            json!({"click": {"link": "https://x"}}),
        ),
    ];
    for e in &events {
        let out = t.ses_event(e).await;
        assert!(out.starts_with("counted"), "{out}");
    }
    // A transient bounce (a full mailbox, an auto-reply; often delivered after all) is not a
    // bounce: not counted, not announced, no suppression.
    let soft = ses_event(
        "Bounce",
        &id,
        "day1",
        &to,
        json!({"bounce": {"bounceType": "Transient", "bouncedRecipients": [{"emailAddress": to}]}}),
    );
    assert_eq!(
        t.ses_event(&soft).await,
        "Bounce: not counted, not a permanent bounce"
    );
    // EventBridge delivers at least once: the same event again counts nothing.
    assert_eq!(t.ses_event(&events[1]).await, "ignored: already counted");
    let aid = AwardId::parse(&id).unwrap();
    let c = t.app.store.award_counters(&aid).await.unwrap();
    for k in [
        "email:day1:sent",
        "email:day1:delivered",
        "email:day1:opened",
        "email:day1:clicked",
    ] {
        assert_eq!(c.get(k), Some(&1), "{k}: {c:?}");
    }
    assert_eq!(c.get("email:day1:bounced"), None, "{c:?}");
    t.roll_up().await;
    let daily = today_of(&t, &tpl).await;
    assert_eq!(daily.get("email:day1:delivered"), Some(&1), "{daily:?}");
    let email = accolade::domain::email::Email::parse(&to).unwrap();
    assert!(
        !t.app
            .store
            .is_suppressed(&email.lookup_key())
            .await
            .unwrap(),
        "a transient bounce does not suppress"
    );

    // A permanent bounce suppresses the address: no follow-ups, no mail for later awards.
    let hard = ses_event(
        "Bounce",
        &id,
        "day1",
        &to,
        json!({"bounce": {"bounceType": "Permanent", "bouncedRecipients": [{"emailAddress": to.to_uppercase()}]}}),
    );
    t.ses_event(&hard).await;
    assert!(t
        .app
        .store
        .is_suppressed(&email.lookup_key())
        .await
        .unwrap());
    let mut runner = t.runner();
    runner
        .fire_due_schedules(chrono::Utc::now() + chrono::Duration::days(8))
        .await
        .unwrap();
    t.issue(
        &key,
        json!({"template_id": tpl["id"], "recipient": {"email": to, "name": "E"}}),
    )
    .await;
    runner.deliver_stream().await.unwrap();
    assert_eq!(t.mail_to(&to).await.len(), 1, "only the first day-1 email");
    // Complaints suppress too; events of other senders are ignored.
    let other = unique_email("complaint");
    let complaint = ses_event(
        "Complaint",
        &id,
        "day1",
        &other,
        json!({"complaint": {"complainedRecipients": [{"emailAddress": other}]}}),
    );
    t.ses_event(&complaint).await;
    assert!(t
        .app
        .store
        .is_suppressed(
            &accolade::domain::email::Email::parse(&other)
                .unwrap()
                .lookup_key()
        )
        .await
        .unwrap());
    // A complaint whose feedback says "not-spam" is no complaint.
    let fine = unique_email("not-spam");
    let not_spam = ses_event(
        "Complaint",
        &id,
        "day1",
        &fine,
        json!({"complaint": {"complaintFeedbackType": "not-spam", "complainedRecipients": [{"emailAddress": fine}]}}),
    );
    assert!(t.ses_event(&not_spam).await.contains("not counted"));
    let fine = accolade::domain::email::Email::parse(&fine).unwrap();
    assert!(!t.app.store.is_suppressed(&fine.lookup_key()).await.unwrap());
    let foreign = json!({"id": "x", "source": "aws.ec2", "detail": {}});
    assert!(t.ses_event(&foreign).await.starts_with("ignored"));
}

#[tokio::test]
async fn backdated_awards_get_follow_ups_counted_from_now_not_from_issued_on() {
    let t = spawn_app().await;
    let (key, tpl) = storefront(&t).await;
    let to = unique_email("backfill");
    t.issue(&key, json!({"template_id": tpl["id"], "issued_on": "2025-03-01", "recipient": {"email": to, "name": "B"}})).await;
    let mut runner = t.runner();
    runner.deliver_stream().await.unwrap();
    runner
        .fire_due_schedules(chrono::Utc::now() + chrono::Duration::hours(2))
        .await
        .unwrap();
    assert_eq!(
        t.mail_to(&to).await.len(),
        1,
        "only day 1 now, not day 3 and 7 at once"
    );
    runner
        .fire_due_schedules(
            chrono::Utc::now() + chrono::Duration::days(3) + chrono::Duration::hours(2),
        )
        .await
        .unwrap();
    assert_eq!(t.mail_to(&to).await.len(), 2);
}

#[tokio::test]
async fn expiry_reminders_go_out_before_the_badge_expires() {
    let t = spawn_app().await;
    let (key, tpl) = storefront(&t).await;
    let to = unique_email("expiry");
    let in_40_days = (chrono::Utc::now() + chrono::Duration::days(40)).to_rfc3339();
    t.issue(&key, json!({"template_id": tpl["id"], "locale": "en", "expires_on": in_40_days, "recipient": {"email": to, "name": "Exp"}})).await;
    let mut runner = t.runner();
    runner.deliver_stream().await.unwrap();
    // The default reminder is 30 days before: due in 10 days.
    runner
        .fire_due_schedules(chrono::Utc::now() + chrono::Duration::days(9))
        .await
        .unwrap();
    assert!(t
        .mail_to(&to)
        .await
        .iter()
        .all(|m| m.header("X-Accolade-Stage").as_deref() != Some("expiry")));
    runner
        .fire_due_schedules(
            chrono::Utc::now() + chrono::Duration::days(10) + chrono::Duration::hours(2),
        )
        .await
        .unwrap();
    let mails = t.mail_to(&to).await;
    let expiry = mails
        .iter()
        .find(|m| m.header("X-Accolade-Stage").as_deref() == Some("expiry"))
        .expect("an expiry reminder");
    assert!(
        expiry
            .subject()
            .starts_with("(광고) [Ad] Your 데이터 분석 기초 badge expires on "),
        "{}",
        expiry.subject()
    );
    assert!(expiry.header("List-Unsubscribe").is_some());
    assert!(expiry.html.contains("?src=email-expiry"));
}

/// An award stored before unsubscribe links carried a token (2026-11-30) still gets its expiry
/// reminder, as a plain notice: no `(광고)`, no recommendations or enrolment link, no
/// unsubscribe link or header (it would answer 404).
#[tokio::test]
async fn an_award_without_a_working_unsubscribe_link_gets_its_expiry_reminder_as_a_plain_notice() {
    let t = spawn_app().await;
    let (key, tpl) = storefront(&t).await;
    let to = unique_email("expiry-notice");
    let in_40_days = (chrono::Utc::now() + chrono::Duration::days(40)).to_rfc3339();
    let a = t.issue(&key, json!({"template_id": tpl["id"], "expires_on": in_40_days, "recipient": {"email": to, "name": "김민수"}})).await;
    let id = AwardId::parse(a["id"].as_str().unwrap()).unwrap();
    stored_without_unsubscribe_token(&t, &id).await;
    let mut runner = t.runner();
    runner.deliver_stream().await.unwrap();
    runner
        .fire_due_schedules(
            chrono::Utc::now() + chrono::Duration::days(10) + chrono::Duration::hours(2),
        )
        .await
        .unwrap();
    assert!(t.lambda.failures().is_empty(), "{:?}", t.lambda.failures());
    let mails = t.mail_to(&to).await;
    let stages: Vec<String> = mails
        .iter()
        .filter_map(|m| m.header("X-Accolade-Stage"))
        .collect();
    assert_eq!(
        stages.iter().filter(|s| *s == "expiry").count(),
        1,
        "{stages:?}"
    );
    assert!(
        !stages.iter().any(|s| s == "day3" || s == "day7"),
        "{stages:?}"
    );
    let expiry = mails
        .iter()
        .find(|m| m.header("X-Accolade-Stage").as_deref() == Some("expiry"))
        .unwrap();
    assert!(!expiry.subject().contains("(광고)"), "{}", expiry.subject());
    assert!(expiry.header("List-Unsubscribe").is_none());
    assert!(!expiry.html.contains("unsubscribe"), "no opt-out link");
    assert!(
        !expiry.html.contains("/go/"),
        "no tracked recommendation or enrolment link"
    );
}

#[tokio::test]
async fn ten_thousand_awards_make_a_handful_of_schedules_and_share_their_due_items() {
    use accolade::{domain::followup, store::followups::Due};
    let t = spawn_app().await;
    let start = chrono::Utc::now();
    // 10,000 awards recorded over five minutes, each due day 3 and day 7: what the stream
    // handler queues for a 10,000-row batch (the ingest itself is tested elsewhere; on moto it
    // takes minutes).
    let planned: Vec<(Due, chrono::DateTime<chrono::Utc>)> = (0..10_000)
        .flat_map(|i| {
            let created = start + chrono::Duration::milliseconds(i * 30);
            let award = AwardId::generate();
            [(followup::Stage::Day3, 3), (followup::Stage::Day7, 7)].map(|(stage, days)| {
                let at = created + chrono::Duration::days(days);
                (Due::new(award.clone(), stage, followup::bucket_of(at)), at)
            })
        })
        .collect();
    t.requests.reset();
    accolade::notify::queue_followups(t.app_of(FunctionName::Notify), &planned)
        .await
        .unwrap();
    let names = schedule_names(&t).await;
    assert!(
        names.len() <= 4,
        "{} schedules for 10,000 awards: {names:?}",
        names.len()
    );
    // Each stage's follow-ups of one hour bucket share items, 32 to an item of under 1 KB
    // (1 WRU each), and 25 items go in a BatchWriteItem: 20,000 follow-ups in ~626 items.
    let mut per_bucket_and_stage = std::collections::BTreeMap::new();
    for (d, _) in &planned {
        *per_bucket_and_stage
            .entry((d.bucket.clone(), d.stage.as_str()))
            .or_insert(0usize) += 1;
    }
    let items: usize = per_bucket_and_stage
        .values()
        .map(|n| n.div_ceil(accolade::store::followups::GROUP_MAX))
        .sum();
    assert!(items <= 20_000 / 32 + 4, "{items} items");
    let writes = t.requests.get("dynamodb.BatchWriteItem");
    assert_eq!(
        writes,
        items.div_ceil(25) as u64,
        "25 items per BatchWriteItem"
    );
    let mut queued = 0;
    for b in planned
        .iter()
        .map(|(d, _)| d.bucket.clone())
        .collect::<std::collections::BTreeSet<_>>()
    {
        queued += t.app.store.due_in(&b).await.unwrap().len();
    }
    assert_eq!(queued, 20_000);
}

/// An SES event whose handling failed part-way is handled in full when EventBridge delivers it
/// again: the event is remembered only together with what it counts, so the retry is not
/// skipped as "already counted" and a hard bounce still suppresses the address. A write that
/// landed although its caller saw an error (the counting transaction) is not done twice.
#[tokio::test]
async fn an_ses_event_that_failed_part_way_is_handled_in_full_on_retry() {
    let t = spawn_app().await;
    let (key, tpl) = t.issuer_with_template().await;
    let (id, to) = issue_to_new(&t, &key, &tpl, "retry").await;
    let id = id.to_string();
    let hard = ses_event(
        "Bounce",
        &id,
        "day1",
        &to,
        json!({"bounce": {"bounceType": "Permanent", "bouncedRecipients": [{"emailAddress": to}]}}),
    );
    // Every attempt the SDK makes at the first write fails (after reaching the table).
    t.faults().arm("PutItem", 3);
    let first = t.invoke(FunctionName::Analytics, hard.clone()).await;
    t.faults().arm("PutItem", 0);
    assert!(first.is_err(), "the first delivery fails: {first:?}");
    assert_eq!(t.ses_event(&hard).await, "counted email:day1:bounced");
    let email = accolade::domain::email::Email::parse(&to).unwrap();
    let suppressed = t.app.store.is_suppressed(&email.lookup_key()).await;
    assert!(suppressed.unwrap(), "the retry suppressed the address");
    // The counting transaction lands but its answer is lost: the retry counts nothing more.
    let click = ses_event(
        "Click",
        &id,
        "day1",
        &to,
        json!({"click": {"link": "https://x"}}),
    );
    // (The SDK's own retry of the transaction already finds the event counted.)
    t.faults().arm("TransactWriteItems", 1);
    let lost = t.invoke(FunctionName::Analytics, click.clone()).await;
    t.faults().arm("TransactWriteItems", 0);
    assert_eq!(
        lost.ok().map(|v| v["outcome"].clone()),
        Some(json!("ignored: already counted"))
    );
    assert_eq!(t.ses_event(&click).await, "ignored: already counted");
    assert_eq!(t.ses_event(&hard).await, "ignored: already counted");
    let c = counters_of(&t, &id).await;
    assert_eq!(c.get("email:day1:bounced"), Some(&1), "{c:?}");
    assert_eq!(c.get("email:day1:clicked"), Some(&1), "{c:?}");
}

/// The conditional counting write of a delivery lands but its answer is lost (it looks
/// throttled): the SDK's retry finds the counter there and counts nothing more, and so does a
/// redelivery of the event. (The retry cannot tell its own landed write from another's, so the
/// outcome says "already counted", as for a transaction.)
#[tokio::test]
async fn a_lost_answer_to_the_counting_write_of_a_delivery_counts_it_once() {
    let t = spawn_app().await;
    let (id, to, _) = issued_to_new_recipient(&t, "lost").await;
    let d = json!({"delivery": {"recipients": [to]}});
    let delivery = ses_event("Delivery", &id, "day1", &to, d);
    t.faults().arm("UpdateItem", 1);
    let first = t.invoke(FunctionName::Analytics, delivery.clone()).await;
    let left = t.faults().remaining("UpdateItem");
    t.faults().arm("UpdateItem", 0);
    assert_eq!(left, 0, "the counting write was answered with a fault");
    assert_eq!(
        first.ok().map(|v| v["outcome"].clone()),
        Some(json!("ignored: already counted"))
    );
    assert_eq!(t.ses_event(&delivery).await, "ignored: already counted");
    let c = counters_of(&t, &id).await;
    assert_eq!(c.get("email:day1:delivered"), Some(&1));
}

/// A CSV batch of `rows` uploaded and ingested (its stream records not delivered yet); answers
/// the addresses' prefix.
async fn ingested_batch(t: &TestApp, key: &str, tpl: &Value, rows: usize) -> String {
    let prefix = format!("par{}.", uuid::Uuid::new_v4().simple());
    let b = t
        .create_batch(
            key,
            json!({"filename": "par.csv", "template_id": tpl["id"]}),
        )
        .await;
    t.upload(b["id"].as_str().unwrap(), csv_rows(rows, &prefix))
        .await;
    t.runner().deliver_uploads().await.unwrap();
    prefix
}

/// Emails received by each of `rows` addresses.
async fn received(t: &TestApp, prefix: &str, rows: usize) -> Vec<usize> {
    let mut n = Vec::new();
    for i in 0..rows {
        n.push(t.mail_to(&format!("{prefix}{i}@example.com")).await.len());
    }
    n
}

/// Issue #15: a stream batch's day-1 emails are prepared and sent several at once (one at a time,
/// each email's round trips capped a large batch at ~10 a second whatever the send rate), and
/// an invocation that dies in the middle of such a batch sends nothing twice when the batch is
/// retried; it loses at most the emails it had claimed and not yet handed to SES.
#[tokio::test]
async fn a_batch_of_day1_emails_goes_out_in_parallel_and_a_crash_sends_nothing_twice() {
    const ROWS: usize = 40;
    let t = spawn_app().await;
    let (key, tpl) = t.issuer_with_template().await;
    let mut runner = t.runner();
    runner.deliver_stream().await.unwrap();

    let clean = ingested_batch(&t, &key, &tpl, ROWS).await;
    t.faults().arm_at(0, None);
    runner.deliver_stream().await.unwrap();
    let calls = t.faults().calls();
    assert_eq!(received(&t, &clean, ROWS).await, vec![1; ROWS]);
    let first_send = calls.iter().position(|c| c == "sesv2.SendEmail").unwrap();
    let reads_before = calls[..first_send]
        .iter()
        .filter(|c| *c == "dynamodb.GetItem")
        .count();
    assert!(
        reads_before >= 3,
        "several awards read before the first send: {:?}",
        &calls[..first_send]
    );

    // The same shape again, the invocation killed at the 20th send.
    let crashed = ingested_batch(&t, &key, &tpl, ROWS).await;
    let k = calls
        .iter()
        .enumerate()
        .filter(|(_, c)| *c == "sesv2.SendEmail")
        .nth(19)
        .unwrap()
        .0;
    t.faults().arm_at(k, Some(infra::metering::Fault::Crash));
    runner.deliver_stream().await.unwrap();
    assert!(t.faults().fired().is_some(), "the crash was injected");
    t.faults().arm_at(0, None);
    let got = received(&t, &crashed, ROWS).await;
    assert!(got.iter().all(|n| *n <= 1), "an email sent twice: {got:?}");
    let lost = got.iter().filter(|n| **n == 0).count();
    assert!(lost <= 16, "{lost} emails lost to one crash: {got:?}");
}

/// A day-3 follow-up queued by the layout before 2026-12-03 (an item of its award in the sparse
/// `DUE` index), as a deployment upgraded from it still holds: its bucket's run sends it once and
/// deletes it, also when the same follow-up is queued in both layouts (the old code, running
/// during the deployment, queued it again).
#[tokio::test]
async fn a_follow_up_queued_by_the_old_layout_is_sent_once_and_deleted() {
    use accolade::domain::followup::{bucket_of, shard_of, Stage};
    use accolade::store::{followups::Due, keys};
    use aws_sdk_dynamodb::types::AttributeValue as Av;
    let t = spawn_app().await;
    let (key, tpl) = storefront(&t).await;
    // Day 3's time (a day-3 email is not sent once day 7's has come).
    let at = chrono::Utc::now() + chrono::Duration::days(3) + chrono::Duration::hours(2);
    let bucket = bucket_of(at);
    let db = aws_sdk_dynamodb::Client::new(&t.sdk);
    let mut awards = Vec::new();
    for both in [false, true] {
        let (aid, to) = issue_to_new(&t, &key, &tpl, "legacy").await;
        let (pk, sk) = queue_day3_the_old_way(&t, &aid, &bucket).await;
        if both {
            let due = Due::new(aid.clone(), Stage::Day3, bucket.clone());
            t.app.store.put_followups(&[(due, at)]).await.unwrap();
            // Kept at most 30 days after it is due (a copy no run comes back for).
            let (pk, sk) = keys::due_item(&bucket, shard_of(&aid), "day3", &aid);
            let item = db
                .get_item()
                .table_name(&t.names.table)
                .key("PK", Av::S(pk))
                .key("SK", Av::S(sk))
                .send()
                .await
                .unwrap()
                .item
                .unwrap();
            let ttl = (at + chrono::Duration::days(30)).timestamp().to_string();
            assert_eq!(item.get(keys::TTL), Some(&Av::N(ttl)));
        }
        awards.push((aid, to, (pk, sk)));
    }
    let found = t.app.store.due_in(&bucket).await.unwrap();
    assert_eq!(found.iter().filter(|d| d.legacy).count(), 2, "{found:?}");
    assert_eq!(found.len(), 3, "{found:?}");
    run_bucket_after(&t, &bucket, at).await;
    assert!(t.lambda.failures().is_empty(), "{:?}", t.lambda.failures());
    for (aid, to, (pk, sk)) in &awards {
        let mails = t.mail_to(to).await;
        assert_eq!(mails.len(), 1, "one day-3 email to {to}");
        assert_eq!(mails[0].header("X-Accolade-Stage").as_deref(), Some("day3"));
        let old = db
            .get_item()
            .table_name(&t.names.table)
            .key("PK", Av::S(pk.clone()))
            .key("SK", Av::S(sk.clone()))
            .consistent_read(true)
            .send()
            .await
            .unwrap();
        assert!(old.item.is_none(), "{aid}'s old item is deleted");
    }
    assert!(t.app.store.due_in(&bucket).await.unwrap().is_empty());
}

/// Queues the award's day-3 follow-up in `bucket` as the layout before 2026-12-03 did: an item of
/// the award in the sparse `DUE` index. Answers the item's key.
async fn queue_day3_the_old_way(t: &TestApp, aid: &AwardId, bucket: &str) -> (String, String) {
    use accolade::store::keys;
    use aws_sdk_dynamodb::types::AttributeValue as Av;
    let shard = accolade::domain::followup::shard_of(aid);
    let (pk, sk) = keys::legacy_followup(aid, "day3");
    aws_sdk_dynamodb::Client::new(&t.sdk)
        .put_item()
        .table_name(&t.names.table)
        .item("PK", Av::S(pk.clone()))
        .item("SK", Av::S(sk.clone()))
        .item("type", Av::S("followup".into()))
        .item(keys::Index::Due.pk(), Av::S(keys::due(bucket, shard)))
        .item(keys::Index::Due.sk(), Av::S(format!("day3#{aid}")))
        .send()
        .await
        .unwrap();
    (pk, sk)
}

/// `infra move-due-items`, run once after an upgrade: every follow-up the old layout's index
/// still holds moves into its bucket's partition and out of the index (a second run finds
/// nothing to move; what cannot be read stays and is counted), and its bucket then sends it once.
#[tokio::test]
async fn moving_the_old_layouts_follow_ups_empties_its_index_and_each_still_goes_once() {
    use accolade::store::followups::LegacyMove;
    use aws_sdk_dynamodb::types::AttributeValue as Av;
    let t = spawn_app().await;
    let (key, tpl) = storefront(&t).await;
    // Day 3's time (a day-3 email is not sent once day 7's has come).
    let at = chrono::Utc::now() + chrono::Duration::days(3) + chrono::Duration::hours(2);
    let bucket = accolade::domain::followup::bucket_of(at);
    let mut to = Vec::new();
    for _ in 0..2 {
        let (aid, address) = issue_to_new(&t, &key, &tpl, "moved").await;
        queue_day3_the_old_way(&t, &aid, &bucket).await;
        to.push(address);
    }
    // An index item that names no follow-up stays (logged) and is counted as left.
    let (junk, _) = issue_to_new(&t, &key, &tpl, "junk").await;
    let (pk, sk) = queue_day3_the_old_way(&t, &junk, &bucket).await;
    aws_sdk_dynamodb::Client::new(&t.sdk)
        .update_item()
        .table_name(&t.names.table)
        .key("PK", Av::S(pk))
        .key("SK", Av::S(sk))
        .update_expression("SET DUESK = :junk")
        .expression_attribute_values(":junk", Av::S("not-a-follow-up".into()))
        .send()
        .await
        .unwrap();
    let moved = |moved, left| LegacyMove { moved, left };
    let store = &t.app.store;
    assert_eq!(store.move_legacy_due_items().await.unwrap(), moved(2, 1));
    assert_eq!(store.move_legacy_due_items().await.unwrap(), moved(0, 1));
    let due = t.app.store.due_in(&bucket).await.unwrap();
    assert_eq!(due.len(), 2, "{due:?}");
    assert!(due.iter().all(|d| !d.legacy), "{due:?}");
    run_bucket_after(&t, &bucket, at).await;
    for address in &to {
        assert_eq!(
            t.mail_to(address).await.len(),
            1,
            "one day-3 email to {address}"
        );
    }
    assert!(t.app.store.due_in(&bucket).await.unwrap().is_empty());
}

/// Runs `bucket` as its schedule does, an hour after `at`, through notify's entry point with
/// Lambda's asynchronous retries.
async fn run_bucket_after(t: &TestApp, bucket: &str, at: chrono::DateTime<chrono::Utc>) {
    let after = (at + chrono::Duration::hours(1)).to_rfc3339();
    let due = json!({"kind": "due", "bucket": bucket, "now": after});
    t.lambda
        .invoke_async(FunctionName::Notify, due)
        .await
        .unwrap();
}

/// An award stored before unsubscribe links carried a token (2026-11-30) has no working
/// unsubscribe link: its day-3 and day-7 promotions are not sent (they would carry a link that
/// answers 404), while an award with a token gets both, and nothing is left to retry.
#[tokio::test]
async fn follow_ups_are_not_sent_to_an_award_without_a_working_unsubscribe_link() {
    let t = spawn_app().await;
    let (key, tpl) = storefront(&t).await;
    let (old, old_to) = issue_to_new(&t, &key, &tpl, "tokenless").await;
    let (_, new_to) = issue_to_new(&t, &key, &tpl, "tokened").await;
    stored_without_unsubscribe_token(&t, &old).await;
    assert!(t
        .app
        .store
        .get_award(&old)
        .await
        .unwrap()
        .unwrap()
        .unsubscribe_token
        .is_none());
    let mut runner = t.runner();
    runner.deliver_stream().await.unwrap();
    runner
        .fire_due_schedules(chrono::Utc::now() + chrono::Duration::days(8))
        .await
        .unwrap();
    assert!(t.lambda.failures().is_empty(), "{:?}", t.lambda.failures());
    let stages = |mails: Vec<accolade_tests::Mail>| -> Vec<String> {
        let mut s: Vec<String> = mails
            .iter()
            .filter_map(|m| m.header("X-Accolade-Stage"))
            .collect();
        s.sort();
        s
    };
    assert_eq!(stages(t.mail_to(&new_to).await), ["day1", "day3", "day7"]);
    assert_eq!(
        stages(t.mail_to(&old_to).await),
        ["day1"],
        "no promotion without a working link"
    );
}

/// SES refuses the day-1 email while the account's sending is paused (a bounce rate, a review:
/// often days): it is not marked rejected (that would drop it for good), nor left to the stream
/// (whose records last 24 hours, after which the email and its follow-ups were lost). It waits in
/// the hour bucket an hour on, again each hour while SES still refuses, and goes once when SES
/// takes it; its follow-ups are queued at once.
#[tokio::test]
async fn a_day1_email_refused_while_sending_is_paused_waits_in_a_bucket_and_goes_once() {
    let t = spawn_app().await;
    let (key, tpl) = storefront(&t).await;
    let before = chrono::Utc::now();
    let (id, to) = issue_to_new(&t, &key, &tpl, "paused").await;
    // Refused from the stream, and again from the first bucket.
    sending_paused_for(&t, 2);
    let mut runner = t.runner();
    runner.deliver_stream().await.unwrap();
    assert_eq!(t.faults().fired().as_deref(), Some("sesv2.SendEmail"));
    assert!(t.lambda.failures().is_empty(), "{:?}", t.lambda.failures());
    assert_eq!(t.mail_to(&to).await.len(), 0);
    let day1 = |h| accolade::domain::followup::bucket_of(before + chrono::Duration::hours(h));
    let first = t.bucket_holding([day1(0), day1(1)]).await;
    let day3 = |at: chrono::DateTime<chrono::Utc>| {
        accolade::domain::followup::bucket_of(at + chrono::Duration::days(3))
    };
    t.bucket_holding([day3(before), day3(chrono::Utc::now())])
        .await;
    // The first bucket's hour: SES still refuses; into the next hour's bucket.
    let fires = |b: &str| accolade::domain::followup::bucket_fires_at(b).unwrap();
    runner.fire_due_schedules(fires(&first)).await.unwrap();
    assert_eq!(t.mail_to(&to).await.len(), 0);
    let next = accolade::domain::followup::bucket_of(fires(&first) + chrono::Duration::minutes(1));
    let second = t.bucket_holding([next]).await;
    assert_ne!(first, second);
    assert!(t.app.store.due_in(&first).await.unwrap().is_empty());
    // SES takes it: sent once, and no later run sends it again.
    runner.fire_due_schedules(fires(&second)).await.unwrap();
    runner
        .fire_due_schedules(fires(&second) + chrono::Duration::hours(3))
        .await
        .unwrap();
    assert!(t.lambda.failures().is_empty(), "{:?}", t.lambda.failures());
    let rec = day1_record(&t, &id).await;
    assert_eq!(rec.state, "sent", "{:?}", rec.detail);
    assert_eq!(t.mail_to(&to).await.len(), 1);
}

/// A day-1 email waiting out SES refusing every email gives up after 14 days (a suspended
/// account, a sandbox never left): recorded as rejected, not moved on every hour for good; and
/// one whose badge expired meanwhile is not sent at all.
#[tokio::test]
async fn a_waiting_day1_email_gives_up_after_two_weeks_and_skips_an_expired_badge() {
    let t = spawn_app().await;
    let (key, tpl) = storefront(&t).await;
    let before = chrono::Utc::now();
    let (id, to) = issue_to_new(&t, &key, &tpl, "paused-long").await;
    let soon = (before + chrono::Duration::hours(3)).to_rfc3339();
    let short = t.issue(&key, json!({"template_id": tpl["id"], "expires_on": soon, "recipient": {"email": unique_email("paused-short"), "name": "Short"}})).await;
    let short = AwardId::parse(short["id"].as_str().unwrap()).unwrap();
    sending_paused_for(&t, 3);
    t.runner().deliver_stream().await.unwrap();
    let day1 = |h| accolade::domain::followup::bucket_of(before + chrono::Duration::hours(h));
    let bucket = t.bucket_holding([day1(0), day1(1)]).await;
    let notify = t.app_of(FunctionName::Notify);
    let later = before + chrono::Duration::days(15);
    let out = accolade::notify::handle_due(notify, &bucket, later, None)
        .await
        .unwrap();
    t.faults().arm_at(0, None);
    assert!(out.to_string().contains("NoLongerValid"), "{out}");
    gave_up(&t, &id, "day1", &bucket, later).await;
    assert!(t
        .app
        .store
        .email_record(&short, "day1")
        .await
        .unwrap()
        .is_none());
    assert_eq!(t.mail_to(&to).await.len(), 0);
}

/// Stage `stage` of award `id` was given up on after waiting out an SES pause: recorded rejected
/// after 14 days, and waiting in neither its bucket nor the next hour's (its run was at `later`).
async fn gave_up(
    t: &TestApp,
    id: &AwardId,
    stage: &str,
    bucket: &str,
    later: chrono::DateTime<chrono::Utc>,
) {
    let rec = t.app.store.email_record(id, stage).await.unwrap().unwrap();
    assert_eq!(rec.state, "rejected", "{:?}", rec.detail);
    assert!(
        rec.detail
            .as_deref()
            .unwrap_or_default()
            .contains("14 days"),
        "{:?}",
        rec.detail
    );
    let next = accolade::domain::followup::bucket_of(later + chrono::Duration::minutes(1));
    assert!(t.app.store.due_in(&next).await.unwrap().is_empty());
    assert!(t.app.store.due_in(bucket).await.unwrap().is_empty());
}

/// SES refuses a day-3 email while the account's sending is paused: it waits in the next hour's
/// bucket, as day 1 does, instead of failing its bucket's run (Lambda's two retries, then the
/// failure queue, where it waited for an operator), and goes once when SES takes it. A follow-up
/// still refused 14 days after it was due is recorded as rejected.
#[tokio::test]
async fn a_follow_up_refused_while_sending_is_paused_waits_an_hour_and_goes_once() {
    let t = spawn_app().await;
    let (key, tpl) = storefront(&t).await;
    let before = chrono::Utc::now();
    let (id, to) = issue_to_new(&t, &key, &tpl, "paused-day3").await;
    let mut runner = t.runner();
    runner.deliver_stream().await.unwrap();
    let stage_bucket = |days| {
        let at = |t: chrono::DateTime<chrono::Utc>| t + chrono::Duration::days(days);
        let b = |t| accolade::domain::followup::bucket_of(at(t));
        [b(before), b(chrono::Utc::now())]
    };
    let day3 = t.bucket_holding(stage_bucket(3)).await;
    let fires = |b: &str| accolade::domain::followup::bucket_fires_at(b).unwrap();
    sending_paused_for(&t, 1);
    runner.fire_due_schedules(fires(&day3)).await.unwrap();
    assert_eq!(t.faults().fired().as_deref(), Some("sesv2.SendEmail"));
    assert!(t.lambda.failures().is_empty(), "{:?}", t.lambda.failures());
    assert_eq!(t.mail_to(&to).await.len(), 1, "day 1 only");
    assert!(t.app.store.due_in(&day3).await.unwrap().is_empty());
    let next = accolade::domain::followup::bucket_of(fires(&day3) + chrono::Duration::minutes(1));
    assert_eq!(t.app.store.due_in(&next).await.unwrap().len(), 1);
    assert!(t
        .app
        .store
        .email_record(&id, "day3")
        .await
        .unwrap()
        .is_none());
    runner.fire_due_schedules(fires(&next)).await.unwrap();
    runner
        .fire_due_schedules(fires(&next) + chrono::Duration::hours(3))
        .await
        .unwrap();
    assert!(t.lambda.failures().is_empty(), "{:?}", t.lambda.failures());
    assert_eq!(
        t.app
            .store
            .email_record(&id, "day3")
            .await
            .unwrap()
            .unwrap()
            .state,
        "sent"
    );
    assert_eq!(t.mail_to(&to).await.len(), 2, "day 1 and day 3, once each");
    // Day 7, still refused 15 days after it was due: rejected, not moved on.
    let day7 = t.bucket_holding(stage_bucket(7)).await;
    sending_paused_for(&t, 1);
    let notify = t.app_of(FunctionName::Notify);
    let later = fires(&day7) + chrono::Duration::days(15);
    let out = accolade::notify::handle_due(notify, &day7, later, None)
        .await
        .unwrap();
    assert!(out.to_string().contains("Rejected"), "{out}");
    gave_up(&t, &id, "day7", &day7, later).await;
    assert_eq!(t.mail_to(&to).await.len(), 2);
}

/// A day-3 email whose bucket runs only after day 7's time (it waited out an SES pause, or the
/// bucket ran days late) is not sent: day 7 follows it in the same hour otherwise, two
/// promotions at once.
#[tokio::test]
async fn a_day3_email_overtaken_by_day_7_is_not_sent() {
    let t = spawn_app().await;
    let (id, to, bucket) = issued_with_day3_due(&t, "overtaken").await;
    let notify = t.app_of(FunctionName::Notify);
    let late = chrono::Utc::now() + chrono::Duration::days(8);
    let out = accolade::notify::handle_due(notify, &bucket, late, None)
        .await
        .unwrap();
    assert!(out.to_string().contains("day 7's time has come"), "{out}");
    assert!(t
        .app
        .store
        .email_record(&id, "day3")
        .await
        .unwrap()
        .is_none());
    assert_eq!(t.mail_to(&to).await.len(), 1, "day 1 only");
    assert!(t.app.store.due_in(&bucket).await.unwrap().is_empty());
}

/// An award issued to a new address from the storefront template, its day-1 email sent: its
/// id, its address and the bucket its day-3 email waits in.
async fn issued_with_day3_due(t: &TestApp, tag: &str) -> (AwardId, String, String) {
    let (key, tpl) = storefront(t).await;
    let before = chrono::Utc::now();
    let (id, to) = issue_to_new(t, &key, &tpl, tag).await;
    t.runner().deliver_stream().await.unwrap();
    let day3 = |at: chrono::DateTime<chrono::Utc>| {
        accolade::domain::followup::bucket_of(at + chrono::Duration::days(3))
    };
    let bucket = t
        .bucket_holding([day3(before), day3(chrono::Utc::now())])
        .await;
    (id, to, bucket)
}

/// SES refuses the next `sends` emails as it does while the account's sending is paused.
fn sending_paused_for(t: &TestApp, sends: usize) {
    t.faults().arm_at_nth(
        "sesv2.SendEmail",
        0,
        sends,
        infra::metering::Fault::SendingPaused,
    );
}

/// The day-1 email record of award `id` (it must exist).
async fn day1_record(t: &TestApp, id: &AwardId) -> accolade::store::emails::EmailRecord {
    t.app.store.email_record(id, "day1").await.unwrap().unwrap()
}

/// Award `id` as awards were stored before unsubscribe links carried a token (2026-11-30).
pub(crate) async fn stored_without_unsubscribe_token(t: &TestApp, id: &AwardId) {
    use aws_sdk_dynamodb::types::AttributeValue as Av;
    let (pk, sk) = accolade::store::keys::award(id);
    aws_sdk_dynamodb::Client::new(&t.sdk)
        .update_item()
        .table_name(&t.names.table)
        .key("PK", Av::S(pk))
        .key("SK", Av::S(sk))
        .update_expression("REMOVE unsubscribe_token")
        .send()
        .await
        .unwrap();
}

/// The day-1 email reads its award consistently: its stream record can come before an
/// eventually consistent read sees the award (`TestApp::lagging_reads`), and a missed award lost
/// its email, follow-ups and expiry for good, with nothing failed.
#[tokio::test]
async fn the_day1_email_goes_out_even_when_a_replica_has_not_seen_the_award_yet() {
    let t = spawn_app().await;
    let (key, tpl) = storefront(&t).await;
    t.lagging_reads(true).await;
    let (id, to) = issue_to_new(&t, &key, &tpl, "lagging").await;
    t.runner().deliver_stream().await.unwrap();
    assert!(t.lambda.failures().is_empty(), "{:?}", t.lambda.failures());
    assert_eq!(t.mail_to(&to).await.len(), 1);
    t.lagging_reads(false).await;
    let rec = t.app.store.email_record(&id, "day1").await.unwrap();
    assert_eq!(rec.map(|r| r.state).as_deref(), Some("sent"));
}

/// A badge revoked before its day-1 email went (a backlog behind a large CSV batch, and the
/// admin revoked it meanwhile) gets no "your badge is here".
#[tokio::test]
async fn no_day1_email_for_a_badge_revoked_before_it_went() {
    let t = spawn_app().await;
    let (key, tpl) = storefront(&t).await;
    let (id, to) = issue_to_new(&t, &key, &tpl, "revoked-early").await;
    let (_, kept_to) = issue_to_new(&t, &key, &tpl, "kept").await;
    let r = t
        .call(
            "POST",
            &format!("/v1/awards/{id}/revoke"),
            Some(&key),
            Some(json!({"reason": "wrong file"})),
        )
        .await;
    assert!(r.status.is_success(), "{}", r.text());
    t.runner().deliver_stream().await.unwrap();
    assert!(t.lambda.failures().is_empty(), "{:?}", t.lambda.failures());
    assert_eq!(t.mail_to(&kept_to).await.len(), 1);
    assert_eq!(t.mail_to(&to).await.len(), 0, "revoked before its email");
}

/// SES took a day-3 email but DynamoDB refused its mark (a conflict, three times): the mark is
/// tried again in place, so the claim never lapses unmarked, and a later run of the bucket
/// (a continuation, a retry) finds it sent instead of taking it over and sending it again.
#[tokio::test]
async fn a_follow_up_whose_mark_is_refused_after_ses_took_it_is_sent_once() {
    let t = spawn_app().await;
    let (id, to, bucket) = issued_with_day3_due(&t, "mark-refused").await;
    let at = chrono::Utc::now() + chrono::Duration::days(3) + chrono::Duration::hours(2);
    let notify = t.app_of(FunctionName::Notify);
    // The bucket's first PutItem claims the email, its second marks it sent.
    t.faults()
        .arm_at_nth("dynamodb.PutItem", 1, 3, infra::metering::Fault::Conflict);
    let first = accolade::notify::handle_due(notify, &bucket, at, None).await;
    assert!(first.is_ok(), "{first:?}");
    assert_eq!(t.faults().fired().as_deref(), Some("dynamodb.PutItem"));
    t.faults().arm_at(0, None);
    let rec = t
        .app
        .store
        .email_record(&id, "day3")
        .await
        .unwrap()
        .unwrap();
    assert_eq!(rec.state, "sent");
    // Ten minutes on, past the claim's five.
    let _ = accolade::notify::handle_due(notify, &bucket, at + chrono::Duration::minutes(10), None)
        .await;
    let day3 = t
        .mail_to(&to)
        .await
        .iter()
        .filter(|m| m.header("X-Accolade-Stage").as_deref() == Some("day3"))
        .count();
    assert_eq!(day3, 1);
}

/// Follow-ups queued together share one item, which leaves its bucket only once every one of
/// them is handled: one left for later (an expiry the bucket's run reached early) keeps it, and
/// the run at that time handles the rest and deletes it.
#[tokio::test]
async fn follow_ups_queued_together_leave_their_bucket_together() {
    use accolade::{domain::followup::Stage, store::followups::Due};
    let t = spawn_app().await;
    let (key, tpl) = storefront(&t).await;
    let tomorrow = chrono::Utc::now() + chrono::Duration::days(1);
    let mut ids = Vec::new();
    for hours in [0, 2] {
        let on = (tomorrow + chrono::Duration::hours(hours)).to_rfc3339();
        let body = json!({"template_id": tpl["id"], "expires_on": on, "recipient": {"email": unique_email("together"), "name": "함께"}});
        let a = t.issue(&key, body).await;
        ids.push(AwardId::parse(a["id"].as_str().unwrap()).unwrap());
    }
    let bucket = accolade::domain::followup::bucket_of(tomorrow);
    let planned: Vec<_> = ids
        .iter()
        .map(|id| {
            (
                Due::new(id.clone(), Stage::Expired, bucket.clone()),
                tomorrow,
            )
        })
        .collect();
    let notify = t.app_of(FunctionName::Notify);
    t.requests.reset();
    notify.store.put_followups(&planned).await.unwrap();
    assert_eq!(t.requests.get("dynamodb.BatchWriteItem"), 1);
    let held = notify.store.due_in(&bucket).await.unwrap();
    assert_eq!(held.len(), 2);
    assert!(
        held[0].group.is_some() && held[0].group == held[1].group,
        "{held:?}"
    );
    // One hour on: the first has expired, the second has not.
    let run = |at| accolade::notify::handle_due(notify, &bucket, at, None);
    let first = run(tomorrow + chrono::Duration::hours(1)).await.unwrap();
    assert!(first.to_string().contains("not yet"), "{first}");
    let left = notify.store.due_in(&bucket).await.unwrap();
    assert_eq!(left.len(), 2, "kept for the one not yet expired: {first}");
    // At the second's expiry: both handled (the first again, at no harm), the item gone.
    t.requests.reset();
    let second = run(tomorrow + chrono::Duration::hours(3)).await.unwrap();
    assert_eq!(second["outcomes"]["award.expired"], 2, "{second}");
    assert_eq!(t.requests.get("dynamodb.DeleteItem"), 1, "{second}");
    assert!(notify.store.due_in(&bucket).await.unwrap().is_empty());
}
