//! Issue #6 (first part): the day-1 email from the DynamoDB stream, exactly once.

use accolade::domain::ids::AwardId;
use accolade_tests::{csv_rows, spawn_app, template_body, TestApp};
use serde_json::{json, Value};

fn unique(prefix: &str) -> String {
    format!("{prefix}.{}@example.com", uuid::Uuid::new_v4().simple())
}

async fn setup(t: &TestApp) -> (String, Value) {
    let (_, key) = t.issuer("한빛대학교").await;
    let tpl = t
        .create_template(&key, template_body("데이터 분석 기초"))
        .await;
    (key, tpl)
}

#[tokio::test]
async fn one_day1_email_per_award_even_when_records_repeat() {
    let t = spawn_app().await;
    let (key, tpl) = setup(&t).await;
    let to = unique("kim");
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
        accolade::notify::handle_event(t.app.clone(), event.clone()),
        accolade::notify::handle_event(t.app.clone(), event)
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
    let (key, tpl) = setup(&t).await;
    let to = unique("jane");
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
    let (key, tpl) = setup(&t).await;
    let quiet = unique("quiet");
    t.issue(&key, json!({"template_id": tpl["id"], "notify": false, "recipient": {"email": quiet, "name": "Q"}})).await;
    let bounced = unique("bounced");
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
    let mut config = (*t.app.config).clone();
    config.sender_email = Some("badges@not-verified.example".into());
    let sdk = accolade::aws::local_sdk_config(&t.endpoint);
    let app = accolade::app::App::new(config, &sdk);
    let to = unique("rejected");
    let r = t
        .issue(
            &key,
            json!({"template_id": tpl["id"], "recipient": {"email": to, "name": "R"}}),
        )
        .await;
    let rid = AwardId::parse(r["id"].as_str().unwrap()).unwrap();
    let out = accolade::notify::send_day1(&app, &rid).await.unwrap();
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
        accolade::notify::send_day1(&app, &rid).await.unwrap(),
        accolade::notify::Sent::AlreadyHandled
    );
}

#[tokio::test]
async fn csv_batches_send_one_email_per_row_unless_notify_is_off() {
    let t = spawn_app().await;
    let (key, tpl) = setup(&t).await;
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
    let (key, tpl) = setup(&t).await;
    let to = unique("outbox");
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
