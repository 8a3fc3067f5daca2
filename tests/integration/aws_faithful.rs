//! Issue #12: the local stack refuses what AWS would refuse. Each function's AWS calls are made as
//! that function, with exactly its template.yaml policy; taking a permission out of the template
//! makes the feature that needs it fail here, as it would after `sam deploy`.

use accolade::domain::ids::AwardId;
use accolade::ingest::IngestOptions;
use accolade_tests::{
    csv_rows, edited_template, spawn_app, spawn_app_with, template_body, FunctionName, StatusCode,
    TestApp,
};
use serde_json::{json, Value};

/// RFC 8058 one-click unsubscribe: the mail client's POST.
async fn one_click(t: &TestApp, award: &str) -> accolade_tests::Response {
    let req = axum::http::Request::builder()
        .method("POST")
        .uri(t.unsubscribe_path(award).await)
        .header("content-type", "application/x-www-form-urlencoded")
        .body(axum::body::Body::from("List-Unsubscribe=One-Click"))
        .unwrap();
    t.send(req).await
}

async fn unsubscribed(t: &TestApp, award: &Value) -> bool {
    let id = AwardId::parse(award["id"].as_str().unwrap()).unwrap();
    let a = t.app.store.get_award(&id).await.unwrap().unwrap();
    t.app
        .store
        .is_unsubscribed(&a.issuer_id, &a.recipient.email.lookup_key())
        .await
        .unwrap()
}

#[tokio::test]
async fn one_click_unsubscribe_needs_verifys_put_item_and_has_it() {
    let t = spawn_app().await;
    let (_, _, award) = t.one_award().await;
    let r = one_click(&t, award["id"].as_str().unwrap()).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text());
    assert!(unsubscribed(&t, &award).await);

    // The same request where verify may not PutItem: refused, nothing recorded.
    let without = edited_template(
        "            # One-click unsubscribe (RFC 8058) records the recipient's choice.\n            - Effect: Allow\n              Action: dynamodb:PutItem",
        "            - Effect: Allow\n              Action: dynamodb:DescribeLimits",
    );
    let t = spawn_app_with(without).await;
    let (_, _, award) = t.one_award().await;
    let r = one_click(&t, award["id"].as_str().unwrap()).await;
    assert_eq!(r.status, StatusCode::SERVICE_UNAVAILABLE, "{}", r.text());
    assert!(!unsubscribed(&t, &award).await, "nothing written");
}

#[tokio::test]
async fn verify_reads_no_api_keys_and_no_session_secret() {
    let t = spawn_app().await;
    let (key, _, _) = t.one_award().await;
    let hash = accolade::domain::api_key::ApiKeySecret::parse(&key)
        .unwrap()
        .hash();
    let store = &t.app_of(FunctionName::Verify).store;
    let lookup = store.authenticate(&hash).await;
    assert!(lookup.is_err(), "verify read an API key item: {lookup:?}");
    assert!(
        store.session_secret().await.is_err(),
        "verify read the session secret"
    );
    // The api function may (it authenticates keys and signs console sessions).
    let api = &t.app_of(FunctionName::Api).store;
    assert!(api.authenticate(&hash).await.unwrap().is_some());
}

#[tokio::test]
async fn follow_ups_need_notifys_batch_write_item_and_it_has_it() {
    // With the template's policy the day-1 stream batch queues follow-ups (BatchWriteItem).
    let t = spawn_app().await;
    t.one_award().await;
    t.requests.reset();
    t.runner().deliver_stream().await.unwrap();
    assert_eq!(
        t.requests.get("dynamodb.BatchWriteItem"),
        1,
        "follow-ups queued"
    );
    assert!(t.lambda.failures().is_empty());

    // Without it: every attempt fails, the stream mapping retries (MaximumRetryAttempts: 10)
    // and hands the batch to the on-failure destination; nothing is queued.
    let without = accolade_tests::notify_without_batch_write();
    let t = spawn_app_with(without).await;
    t.one_award().await;
    t.runner().deliver_stream().await.unwrap();
    let failures = t.lambda.failures();
    assert_eq!(failures.len(), 1, "{failures:#?}");
    assert_eq!(
        failures[0]["requestContext"]["condition"],
        "RetryAttemptsExhausted"
    );
    assert_eq!(failures[0]["requestContext"]["approximateInvokeCount"], 11);
    assert_eq!(failures[0]["DDBStreamBatchInfo"]["batchSize"], 1);
}

#[tokio::test]
async fn a_long_csv_needs_ingests_put_on_its_continuation_marker() {
    let without = edited_template(
        "\n                - !Sub \"arn:${AWS::Partition}:s3:::accolade-${Stage}-uploads-${AWS::AccountId}-${AWS::Region}/uploads/*/continue/*\"",
        "",
    );
    let t = spawn_app_with(without).await;
    let (_, key) = t.issuer("한빛대학교").await;
    let tpl = t.create_template(&key, template_body("긴 명단")).await;
    let file = csv_rows(300, "long");
    let (_, source) = t
        .uploaded_batch(
            &key,
            json!({"filename": "long.csv", "template_id": tpl["id"]}),
            &file,
        )
        .await;
    let short = IngestOptions {
        chunk_rows: 100,
        time_budget: std::time::Duration::ZERO,
        ..IngestOptions::default()
    };
    let out = t
        .ingest_with(t.s3_event(&source, file.len() as u64), short)
        .await;
    let err = out.expect_err("S3 refuses the marker");
    assert!(err.to_string().contains("AccessDenied"), "{err}");
    // (With the template's policy the same run continues: bulk::a_long_file_continues_in_a_new_invocation.)
}

#[tokio::test]
async fn a_missing_object_is_404_with_list_bucket_and_403_without() {
    for (template, want) in [
        (accolade_tests::spec().clone(), StatusCode::NOT_FOUND),
        (
            edited_template(
                "            # Without ListBucket a missing image is 403, not 404 (keys hold only random ids).\n            - Effect: Allow\n              Action: s3:ListBucket\n",
                "            - Effect: Allow\n              Action: s3:GetBucketLocation\n",
            ),
            StatusCode::SERVICE_UNAVAILABLE,
        ),
    ] {
        let t = spawn_app_with(template).await;
        let (key, tpl, _) = t.one_award().await;
        let id = tpl["id"].as_str().unwrap();
        let png = accolade::render::qr::png("x", 2).unwrap();
        let req = axum::http::Request::builder()
            .method("PUT")
            .uri(format!("/v1/templates/{id}/image"))
            .header("authorization", format!("Bearer {key}"))
            .header("content-type", "image/png")
            .body(axum::body::Body::from(png))
            .unwrap();
        assert_eq!(t.send(req).await.status, StatusCode::OK);
        // The object disappears (a lifecycle rule, an operator): verify answers as S3 lets it.
        let list = accolade::aws::s3(&t.sdk)
            .list_objects_v2()
            .bucket(&t.names.bucket)
            .prefix("images/")
            .send()
            .await
            .unwrap();
        for o in list.contents() {
            accolade::aws::s3(&t.sdk)
                .delete_object()
                .bucket(&t.names.bucket)
                .key(o.key().unwrap())
                .send()
                .await
                .unwrap();
        }
        let r = t.browse(&format!("/templates/{id}/image")).await;
        assert_eq!(r.status, want);
    }
}

#[tokio::test]
async fn a_share_card_needs_verifys_put_on_derived() {
    let without = edited_template(
        "                - s3:GetObject\n                - s3:PutObject\n              Resource: !Sub \"arn:${AWS::Partition}:s3:::accolade-${Stage}-uploads-${AWS::AccountId}-${AWS::Region}/derived/*\"",
        "                - s3:GetObject\n              Resource: !Sub \"arn:${AWS::Partition}:s3:::accolade-${Stage}-uploads-${AWS::AccountId}-${AWS::Region}/derived/*\"",
    );
    let t = spawn_app_with(without).await;
    let (_, _, award) = t.one_award().await;
    let r = t
        .browse(&format!("/b/{}/card.png", award["id"].as_str().unwrap()))
        .await;
    assert_eq!(r.status, StatusCode::SERVICE_UNAVAILABLE, "{}", r.text());
    // (With the template's policy the card is drawn and kept: share_cards.)
}

#[tokio::test]
async fn csv_downloads_keep_their_bom_through_api_gateway() {
    let t = spawn_app().await;
    let (key, tpl, _) = t.one_award().await;
    for path in [
        "/v1/batches/template.csv".to_owned(),
        format!(
            "/v1/analytics/export?template={}",
            tpl["id"].as_str().unwrap()
        ),
    ] {
        let r = t.call("GET", &path, Some(&key), None).await;
        assert_eq!(r.status, StatusCode::OK, "{path}: {}", r.text());
        assert!(r.header("content-type").unwrap().starts_with("text/csv"));
        assert!(
            r.body.starts_with(b"\xEF\xBB\xBF"),
            "{path} lost its UTF-8 BOM: {:?}",
            &r.body[..8.min(r.body.len())]
        );
    }
}

/// The export is built whole before it is answered (Lambda buffers a response anyway): a read
/// that fails part way answers the API's JSON error (503 `throttled`, which the client may
/// retry), not a 200 whose body stops short, and the function serves the next request.
#[tokio::test]
async fn an_error_while_building_an_export_answers_503_not_a_short_body() {
    let t = spawn_app().await;
    let (key, tpl, _) = t.one_award().await;
    let path = format!(
        "/v1/analytics/export?template={}",
        tpl["id"].as_str().unwrap()
    );
    // The counters of each page are read as the body is built: make those reads fail.
    t.faults().arm("BatchGetItem", 1_000);
    let event = json!({
        "version": "2.0", "routeKey": "GET /v1/analytics/{proxy+}", "rawPath": "/v1/analytics/export",
        "rawQueryString": path.split_once('?').unwrap().1,
        "headers": {"authorization": format!("Bearer {key}"), "host": "badges.example"},
        "requestContext": {"http": {"method": "GET", "path": "/v1/analytics/export", "protocol": "HTTP/1.1", "sourceIp": "127.0.0.1", "userAgent": "t"},
                           "routeKey": "GET /v1/analytics/{proxy+}", "stage": "$default", "requestId": "r", "accountId": "1", "apiId": "a", "domainName": "badges.example", "domainPrefix": "badges", "time": "30/Nov/2026:06:00:00 +0000", "timeEpoch": 0},
        "isBase64Encoded": false
    });
    let out = t
        .invoke(FunctionName::Analytics, event)
        .await
        .expect("an answer, not a function error");
    assert_eq!(out["statusCode"], 503, "{out}");
    let body: Value = serde_json::from_str(out["body"].as_str().unwrap()).unwrap();
    assert_eq!(body["error"]["code"], "throttled", "{out}");
    t.faults().arm("BatchGetItem", 0);
    let r = t.call("GET", &path, Some(&key), None).await;
    assert_eq!(
        r.status,
        StatusCode::OK,
        "the same function serves the next request"
    );
}

#[tokio::test]
async fn the_uploads_bucket_lets_browsers_put_from_the_public_origin_only() {
    let t = spawn_app().await;
    // The browser's CORS preflight before its presigned PUT, answered from the bucket's CORS
    // rules in template.yaml (the public origin; locally, the local server's).
    let url = format!(
        "{}/{}/uploads/i/b/source.csv?x-id=PutObject",
        t.endpoint, t.names.bucket
    );
    for (origin, want) in [
        (t.base_url.as_str(), "200"),
        ("https://evil.example", "403"),
    ] {
        let out = tokio::process::Command::new("curl")
            .args([
                "-s",
                "-o",
                "/dev/null",
                "-w",
                "%{http_code}",
                "-X",
                "OPTIONS",
            ])
            .args(["-H", &format!("Origin: {origin}")])
            .args(["-H", "Access-Control-Request-Method: PUT"])
            .args(["-H", "Access-Control-Request-Headers: content-type"])
            .arg(&url)
            .output()
            .await
            .expect("curl");
        assert_eq!(
            String::from_utf8_lossy(&out.stdout),
            want,
            "preflight from {origin}"
        );
    }
}

/// Today's counters of the award's template (the rollup's day item).
async fn template_day(t: &TestApp, template: &Value) -> std::collections::BTreeMap<String, i64> {
    let tid = accolade::domain::ids::TemplateId::parse(template["id"].as_str().unwrap()).unwrap();
    let today = accolade::domain::time::Zone::default().date_of(chrono::Utc::now());
    t.app.store.daily_counters(&tid, today).await.unwrap()
}

#[tokio::test]
async fn the_rollup_needs_notifys_update_item_on_day_items_and_has_it() {
    let t = spawn_app().await;
    let (_, tpl, award) = t.one_award().await;
    t.browse(&format!("/b/{}", award["id"].as_str().unwrap()))
        .await;
    t.roll_up().await;
    assert_eq!(template_day(&t, &tpl).await.get("views"), Some(&1));
    assert!(t.lambda.failures().is_empty());

    // Without it: the rollup's transaction is refused on every delivery, the mapping retries
    // (MaximumRetryAttempts: 10) and hands the batch on; no day item moves.
    let without = accolade_tests::notify_without_rollup_update();
    let t = spawn_app_with(without).await;
    let (_, tpl, _) = t.one_award_viewed_and_rolled_up().await;
    assert_eq!(template_day(&t, &tpl).await.get("views"), None);
    let failures = t.lambda.failures();
    // The batch of the award and its view, then the day-1 email's mark `sent`.
    assert_eq!(failures.len(), 2, "{failures:#?}");
    for f in &failures {
        assert_eq!(f["requestContext"]["approximateInvokeCount"], 11, "{f:#}");
    }
}

#[tokio::test]
async fn a_stream_reader_keeps_its_place_across_a_cancelled_transaction() {
    // moto restores a cancelled transaction's table from a copy; the shard a reader's iterator
    // points at must stay the one new records go to (infra/scripts/moto_server.py).
    let t = spawn_app().await;
    let (_, tpl, award) = t.one_award().await;
    let id = award["id"].as_str().unwrap();
    assert!(t.roll_up().await > 0, "the award's insert");
    // And whatever its day-1 email wrote (its mark `sent`), until the stream is read to its end.
    while t.roll_up().await > 0 {}
    let event = json!({"version": "0", "id": uuid::Uuid::new_v4().to_string(), "detail-type": "Email Delivered",
        "source": "aws.ses", "detail": {"eventType": "Delivery",
        "mail": {"messageId": "m", "destination": ["x@example.com"], "tags": {"award": [id], "stage": ["day1"]}}}});
    assert_eq!(t.ses_event(&event).await, "counted email:day1:delivered");
    assert_eq!(t.ses_event(&event).await, "ignored: already counted");
    t.browse(&format!("/b/{id}")).await;
    assert_eq!(
        t.roll_up().await,
        2,
        "the event's and the view's counting writes"
    );
    let day = template_day(&t, &tpl).await;
    assert_eq!(
        (
            day.get("email:day1:sent"),
            day.get("email:day1:delivered"),
            day.get("views")
        ),
        (Some(&1), Some(&1), Some(&1))
    );
}

/// The webhook queue's event source mapping polls as the webhooks function's role, and only its
/// own statement grants that (the template declares the mapping itself, so SAM attaches no
/// managed policy reaching every queue): without it, nothing is delivered.
#[tokio::test]
async fn the_webhook_queues_mapping_needs_the_functions_own_sqs_statement() {
    let t = spawn_app().await;
    assert_eq!(t.runner().deliver_queue().await, Ok(0));
    let without = edited_template("                - sqs:ReceiveMessage\n", "");
    let t = spawn_app_with(without).await;
    let e = t.runner().deliver_queue().await.unwrap_err();
    assert!(e.contains("sqs:ReceiveMessage"), "{e}");
}

#[tokio::test]
async fn kakao_keys_decrypt_only_in_notify_and_signing_keys_never_there() {
    let t = spawn_app().await;
    let (_, key) = t.issuer("키 분리 대학").await;
    // The api encrypts (kms:Encrypt with the `kakao` purpose: its own statement).
    t.kakao_on(&key, accolade_tests::kakao_settings()).await;
    let me = t.call("GET", "/v1/issuer", Some(&key), None).await.json();
    let issuer = accolade::domain::ids::IssuerId::parse(me["id"].as_str().unwrap()).unwrap();
    let (_, sealed) = t.app.store.get_kakao(&issuer).await.unwrap().unwrap();
    let sealed = sealed.unwrap();
    let purpose = accolade::notify::kakao::PURPOSE;
    let notify = &t.app_of(FunctionName::Notify).kms;
    let plain = notify
        .decrypt_secret(&issuer, purpose, &sealed)
        .await
        .unwrap();
    assert!(String::from_utf8(plain)
        .unwrap()
        .contains(infra::sens::SECRET_KEY));
    // The public verify function decrypts signing keys, never a KakaoTalk key.
    let verify = &t.app_of(FunctionName::Verify).kms;
    let refused = verify.decrypt_secret(&issuer, purpose, &sealed).await;
    assert!(refused.is_err(), "verify decrypted a KakaoTalk key");
    // And notify decrypts no signing key (a ciphertext without the purpose).
    let n = accolade::domain::credential::KeyNumber(1);
    let (_, wrapped) = t.app.kms.new_signing_key(&issuer, n).await.unwrap();
    assert!(notify.signing_key(&issuer, n, &wrapped).await.is_err());
    assert!(verify.signing_key(&issuer, n, &wrapped).await.is_ok());
}

#[tokio::test]
async fn analytics_claims_digests_in_their_partition_and_writes_no_issuer_profile() {
    let t = spawn_app().await;
    let (iid, _) = t.issuer("권한대학").await;
    let store = &t.app_of(FunctionName::Analytics).store;
    let issuer = store.get_issuer(&iid).await.unwrap().unwrap();
    let err = store.update_issuer(&issuer).await.unwrap_err();
    assert!(err.to_string().contains("AccessDenied"), "{err}");
    let monday = chrono::NaiveDate::from_ymd_opt(2026, 11, 23).unwrap();
    let now = chrono::Utc::now();
    let until = now + chrono::Duration::minutes(15);
    assert!(store.claim_digest(&iid, monday, until, now).await.unwrap());
}
