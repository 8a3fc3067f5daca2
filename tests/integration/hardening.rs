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
/// its awards' ids, times and the cursor over them stay hidden. So is its template in
/// `?template=` (it was a 400 naming the field in the awards list).
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
        format!("/v1/awards?template={}", tpl["id"].as_str().unwrap()),
    ] {
        let r = t.call("GET", &path, Some(&key_b), None).await;
        assert_eq!(r.status, StatusCode::NOT_FOUND, "{path}: {}", r.text());
        assert_eq!(r.json()["error"]["code"], "not_found", "{}", r.text());
        assert!(r.json().get("data").is_none() && r.json().get("next_cursor").is_none());
    }
}

/// API keys have scopes: a new key is for an integration unless created as `admin`; it issues
/// and reads but cannot manage keys or settings, nor sign in to the console. Keys made by the
/// operator (and keys stored before scopes) are admin keys.
#[tokio::test]
async fn integration_keys_issue_and_read_but_do_not_manage() {
    let t = spawn_app().await;
    let (admin, tpl) = t.issuer_with_template().await;
    let make = |body: serde_json::Value| t.call("POST", "/v1/api-keys", Some(&admin), Some(body));
    let lms = make(serde_json::json!({"name": "LMS"})).await.json();
    assert_eq!(lms["scope"], "integration", "{lms}");
    let second_admin = make(serde_json::json!({"scope": "admin"})).await.json();
    assert_eq!(second_admin["scope"], "admin");
    let bad = make(serde_json::json!({"scope": "root"})).await;
    assert_eq!(bad.status, StatusCode::BAD_REQUEST);
    assert_eq!(bad.json()["error"]["field"], "scope");
    let key = lms["key"].as_str().unwrap();
    let award = serde_json::json!({"template_id": tpl["id"], "recipient": {"email": accolade_tests::unique_email("lms"), "name": "LMS 학생"}});
    let issued = t.call("POST", "/v1/awards", Some(key), Some(award)).await;
    assert_eq!(issued.status, StatusCode::CREATED, "{}", issued.text());
    assert_eq!(
        t.call("GET", "/v1/issuer", Some(key), None).await.status,
        StatusCode::OK
    );
    let kid = second_admin["id"].as_str().unwrap();
    let refused = [
        t.call("GET", "/v1/api-keys", Some(key), None).await,
        t.call(
            "POST",
            "/v1/api-keys",
            Some(key),
            Some(serde_json::json!({"scope": "admin"})),
        )
        .await,
        t.call("DELETE", &format!("/v1/api-keys/{kid}"), Some(key), None)
            .await,
        t.call(
            "PATCH",
            "/v1/issuer",
            Some(key),
            Some(serde_json::json!({"name": "탈취"})),
        )
        .await,
    ];
    for r in &refused {
        assert_eq!(r.status, StatusCode::FORBIDDEN, "{}", r.text());
        assert_eq!(r.json()["error"]["code"], "forbidden");
    }
    let issuer = t.call("GET", "/v1/issuer", Some(&admin), None).await.json();
    assert_ne!(issuer["name"], "탈취", "nothing changed");
    let second = second_admin["key"].as_str().unwrap();
    assert_eq!(
        t.call("GET", "/v1/api-keys", Some(second), None)
            .await
            .status,
        StatusCode::OK
    );
    // The console signs in only with an admin key.
    let login = |k: &str| {
        let body = format!("api_key={}", accolade::urls::encode(k));
        let req = axum::http::Request::builder()
            .method("POST")
            .uri("/console/login")
            .header("content-type", "application/x-www-form-urlencoded")
            .header("sec-fetch-site", "same-origin")
            .body(axum::body::Body::from(body))
            .unwrap();
        t.send(req)
    };
    let r = login(key).await;
    assert_eq!(r.status, StatusCode::FORBIDDEN);
    assert!(r.header("set-cookie").is_none());
    assert_eq!(login(second).await.status, StatusCode::SEE_OTHER);
}
