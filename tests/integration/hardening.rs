//! Issue #14 (in part): answers that harden what a browser does with them.

use accolade_tests::{spawn_app, StatusCode};

/// Every HTTP function's answers, errors included, carry `Strict-Transport-Security`.
#[tokio::test]
async fn every_http_answer_carries_hsts() {
    let t = spawn_app().await;
    let (key, tpl, award) = t.one_award().await;
    let id = award["id"].as_str().unwrap();
    let tid = tpl["id"].as_str().unwrap();
    let answers = [
        t.browse(&format!("/b/{id}")).await,
        t.browse(&format!("/b/{id}.json")).await,
        t.browse(&format!("/templates/{tid}/image")).await,
        t.browse("/b/not-an-award").await,
        t.call("GET", "/v1/issuer", Some(&key), None).await,
        t.call("GET", "/v1/issuer", Some("acc_wrong"), None).await,
        t.call("GET", "/v1/analytics", Some(&key), None).await,
        t.call("GET", "/console/login", None, None).await,
    ];
    let statuses: Vec<StatusCode> = answers.iter().map(|r| r.status).collect();
    assert!(statuses.contains(&StatusCode::NOT_FOUND), "{statuses:?}");
    assert!(statuses.contains(&StatusCode::UNAUTHORIZED), "{statuses:?}");
    for (i, r) in answers.iter().enumerate() {
        assert_eq!(
            r.header("strict-transport-security"),
            Some("max-age=31536000"),
            "answer {i} ({})",
            r.status
        );
    }
}

/// Another issuer's batch id in `?batch=` is not found (API, analytics), like every foreign id:
/// its awards' ids, times and the cursor over them stay hidden.
#[tokio::test]
async fn another_issuers_batch_is_not_found_in_filters() {
    let t = spawn_app().await;
    let (key_a, tpl) = t.issuer_with_template().await;
    let (_, key_b) = t.issuer("다른대학").await;
    let file = accolade_tests::csv_rows(3, "foreign");
    let (batch, source) = t
        .uploaded_batch(
            &key_a,
            serde_json::json!({"filename": "a.csv", "template_id": tpl["id"]}),
            &file,
        )
        .await;
    t.ingest_with(t.s3_event(&source, file.len() as u64), Default::default())
        .await
        .unwrap();
    let own = t
        .call(
            "GET",
            &format!("/v1/awards?batch={batch}"),
            Some(&key_a),
            None,
        )
        .await;
    assert_eq!(
        own.json()["data"].as_array().unwrap().len(),
        3,
        "{}",
        own.text()
    );
    for path in [
        format!("/v1/awards?batch={batch}"),
        format!("/v1/awards?batch={batch}&limit=1"),
        format!("/v1/analytics?batch={batch}"),
    ] {
        let r = t.call("GET", &path, Some(&key_b), None).await;
        assert_eq!(r.status, StatusCode::NOT_FOUND, "{path}: {}", r.text());
        assert_eq!(r.json()["error"]["code"], "not_found", "{}", r.text());
        assert!(r.json().get("data").is_none() && r.json().get("next_cursor").is_none());
    }
}
