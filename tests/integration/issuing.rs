//! Issue #3, API side: issuing, idempotency, re-issue policy, revoke, re-issue, listing.

use accolade_tests::{spawn_app, template_body, StatusCode};
use serde_json::json;

#[tokio::test]
async fn issue_answers_urls_and_defaults_expiry_from_the_template() {
    let t = spawn_app().await;
    let (_, key) = t.issuer("U").await;
    let mut body = template_body("Course");
    body["validity"] = json!({"kind": "days_after_issue", "days": 3650});
    let tpl = t.create_template(&key, body).await;
    let a = t
        .issue(
            &key,
            json!({"template_id": tpl["id"], "recipient": {"email": " Kim@Example.COM ", "name": "김민수"}, "issued_on": "2026-03-01"}),
        )
        .await;
    let id = a["id"].as_str().unwrap();
    assert_eq!(id.len(), 22, "22 url-safe chars = 128-bit id");
    assert_eq!(a["recipient"]["email"], "Kim@example.com");
    assert_eq!(
        a["issued_on"], "2026-02-28T15:00:00Z",
        "a bare date is midnight in the issuer's zone (Seoul)"
    );
    assert_eq!(a["expires_on"], "2036-02-26T15:00:00Z");
    assert_eq!(a["status"], "valid");
    let urls = &a["urls"];
    assert_eq!(urls["page"], format!("{}/b/{id}", t.base_url));
    assert_eq!(
        urls["open_badges_assertion"],
        format!("{}/b/{id}.json", t.base_url)
    );
    assert_eq!(urls["qr_png"], format!("{}/b/{id}/qr.png", t.base_url));
    let li = urls["linkedin_add_to_profile"].as_str().unwrap();
    assert!(li.starts_with(
        "https://www.linkedin.com/profile/add?startTask=CERTIFICATION_NAME&name=Course"
    ));
    assert!(
        li.contains("issueYear=2026&issueMonth=3&"),
        "the month in the issuer's time zone: {li}"
    );
    assert!(li.contains(&format!("certId={id}")));
    // Explicit null: no expiry, despite the template rule.
    let b = t
        .issue(&key, json!({"template_id": tpl["id"], "recipient": {"email": "x@example.com", "name": "X"}, "expires_on": null}))
        .await;
    assert!(b["expires_on"].is_null());
}

#[tokio::test]
async fn bad_award_input_names_the_field_and_writes_nothing() {
    let t = spawn_app().await;
    let (_, key) = t.issuer("U").await;
    let tpl = t.create_template(&key, template_body("C")).await;
    let tid = tpl["id"].as_str().unwrap();
    let cases = [
        (
            json!({"recipient": {"email": "a@b.co", "name": "A"}}),
            "template_id",
        ),
        (
            json!({"template_id": "tpl_nope", "recipient": {"email": "a@b.co", "name": "A"}}),
            "template_id",
        ),
        (json!({"template_id": tid}), "recipient"),
        (
            json!({"template_id": tid, "recipient": {"email": "not-an-email", "name": "A"}}),
            "recipient.email",
        ),
        (
            json!({"template_id": tid, "recipient": {"email": "a@b.co", "name": ""}}),
            "recipient.name",
        ),
        (
            json!({"template_id": tid, "recipient": {"email": "a@b.co", "name": "A"}, "issued_on": "yesterday"}),
            "issued_on",
        ),
        (
            json!({"template_id": tid, "recipient": {"email": "a@b.co", "name": "A"}, "issued_on": "2026-01-02", "expires_on": "2026-01-01"}),
            "expires_on",
        ),
        (
            json!({"template_id": tid, "recipient": {"email": "a@b.co", "name": "A"}, "issued_on": "2999-01-01"}),
            "issued_on",
        ),
        (
            json!({"template_id": tid, "recipient": {"email": "a@b.co", "name": "A"}, "evidence": [{"url": "javascript:alert(1)"}]}),
            "evidence[0].url",
        ),
        (
            json!({"template_id": tid, "recipient": {"email": "a@b.co", "name": "A"}, "evidence": [{}]}),
            "evidence[0].url",
        ),
        (
            json!({"template_id": tid, "recipient": {"email": "a@b.co", "name": "A"}, "locale": "fr"}),
            "locale",
        ),
        (
            json!({"template_id": tid, "recipient": {"email": "a@b.co", "name": "A"}, "notify": "yes"}),
            "notify",
        ),
        (
            json!({"template_id": tid, "recipient": {"email": "a@b.co", "name": "A"}, "expires_at": "2030-01-01"}),
            "expires_at",
        ),
    ];
    for (body, field) in cases {
        let r = t
            .call("POST", "/v1/awards", Some(&key), Some(body.clone()))
            .await;
        assert_eq!(r.status, StatusCode::BAD_REQUEST, "{body}: {}", r.text());
        assert_eq!(r.json()["error"]["field"], field, "{body}: {}", r.text());
    }
    let list = t.call("GET", "/v1/awards", Some(&key), None).await.json();
    assert_eq!(list["data"].as_array().unwrap().len(), 0);
    // Archived template: no new awards.
    t.call("DELETE", &format!("/v1/templates/{tid}"), Some(&key), None)
        .await;
    let r = t
        .call(
            "POST",
            "/v1/awards",
            Some(&key),
            Some(json!({"template_id": tid, "recipient": {"email": "a@b.co", "name": "A"}})),
        )
        .await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST);
    assert!(r.json()["error"]["message"]
        .as_str()
        .unwrap()
        .contains("archived"));
}

#[tokio::test]
async fn idempotency_key_and_external_id_never_make_a_second_award() {
    let t = spawn_app().await;
    let (_, key) = t.issuer("U").await;
    let tpl = t.create_template(&key, template_body("C")).await;
    let body =
        json!({"template_id": tpl["id"], "recipient": {"email": "a@example.com", "name": "A"}});
    let first = t
        .call_with(
            "POST",
            "/v1/awards",
            Some(&key),
            Some(body.clone()),
            &[("idempotency-key", "lms-42")],
        )
        .await;
    assert_eq!(first.status, StatusCode::CREATED);
    let again = t
        .call_with(
            "POST",
            "/v1/awards",
            Some(&key),
            Some(body.clone()),
            &[("idempotency-key", "lms-42")],
        )
        .await;
    assert_eq!(again.status, StatusCode::OK);
    assert_eq!(again.json()["id"], first.json()["id"]);
    // Same key, different recipient: refused, not silently answered with someone else's award.
    let other =
        json!({"template_id": tpl["id"], "recipient": {"email": "b@example.com", "name": "B"}});
    let r = t
        .call_with(
            "POST",
            "/v1/awards",
            Some(&key),
            Some(other),
            &[("idempotency-key", "lms-42")],
        )
        .await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
    // Same key and recipient, another request (a narrative added): refused too, as documented.
    let mut changed = body.clone();
    changed["narrative"] = json!("Capstone: 우수");
    let r = t
        .call_with(
            "POST",
            "/v1/awards",
            Some(&key),
            Some(changed),
            &[("idempotency-key", "lms-42")],
        )
        .await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", r.text());
    assert_eq!(r.json()["error"]["code"], "idempotency_key_reused");
    assert_eq!(r.json()["error"]["field"], "Idempotency-Key");

    let mut with_ext = body.clone();
    with_ext["external_id"] = json!("HR-2026-0001");
    let e1 = t
        .call("POST", "/v1/awards", Some(&key), Some(with_ext.clone()))
        .await;
    assert_eq!(e1.status, StatusCode::CREATED);
    let e2 = t
        .call("POST", "/v1/awards", Some(&key), Some(with_ext.clone()))
        .await;
    assert_eq!(e2.status, StatusCode::OK);
    assert_eq!(e1.json()["id"], e2.json()["id"]);
    // The same external id for another recipient: its own code, naming the field.
    let mut clash = with_ext.clone();
    clash["recipient"] = json!({"email": "c@example.com", "name": "C"});
    let r = t.call("POST", "/v1/awards", Some(&key), Some(clash)).await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", r.text());
    assert_eq!(r.json()["error"]["code"], "external_id_reused");
    assert_eq!(r.json()["error"]["field"], "external_id");

    // Ten concurrent retries of one request: exactly one award.
    let mut set = tokio::task::JoinSet::new();
    let mut concurrent = body.clone();
    concurrent["external_id"] = json!("HR-2026-0002");
    for _ in 0..10 {
        let router = t.router.clone();
        let (key, b) = (key.clone(), concurrent.clone());
        set.spawn(async move {
            use tower::ServiceExt;
            let req = axum::http::Request::builder()
                .method("POST")
                .uri("/v1/awards")
                .header("authorization", format!("Bearer {key}"))
                .header("content-type", "application/json")
                .body(axum::body::Body::from(b.to_string()))
                .unwrap();
            let resp = router.oneshot(req).await.unwrap();
            let status = resp.status();
            let bytes = http_body_util::BodyExt::collect(resp.into_body())
                .await
                .unwrap()
                .to_bytes();
            let v: serde_json::Value = serde_json::from_slice(&bytes).unwrap();
            (status, v["id"].as_str().map(str::to_owned))
        });
    }
    let results = set.join_all().await;
    let ids: std::collections::HashSet<_> =
        results.iter().filter_map(|(_, id)| id.clone()).collect();
    assert_eq!(ids.len(), 1, "{results:?}");
    assert_eq!(
        results
            .iter()
            .filter(|(s, _)| *s == StatusCode::CREATED)
            .count(),
        1,
        "{results:?}"
    );
    let list = t
        .call(
            "GET",
            "/v1/awards?recipient=a@example.com",
            Some(&key),
            None,
        )
        .await
        .json();
    assert_eq!(list["data"].as_array().unwrap().len(), 3);
}

#[tokio::test]
async fn one_active_award_per_recipient_is_enforced() {
    let t = spawn_app().await;
    let (key, tpl) = t.one_active_template("U", "Certified").await;
    let req =
        json!({"template_id": tpl["id"], "recipient": {"email": "kim@example.com", "name": "Kim"}});
    let first = t.issue(&key, req.clone()).await;
    // Same person, address typed differently: still the same recipient.
    let dup =
        json!({"template_id": tpl["id"], "recipient": {"email": "KIM@example.com", "name": "Kim"}});
    let r = t.call("POST", "/v1/awards", Some(&key), Some(dup)).await;
    assert_eq!(r.status, StatusCode::CONFLICT, "{}", r.text());
    assert_eq!(r.json()["error"]["code"], "already_awarded");
    assert!(r.json()["error"]["message"]
        .as_str()
        .unwrap()
        .contains(first["id"].as_str().unwrap()));
    // The field at fault, and the holder's award by id.
    assert_eq!(r.json()["error"]["field"], "recipient.email");
    assert_eq!(r.json()["error"]["existing_award_id"], first["id"]);
    // After revocation the slot is free.
    let id = first["id"].as_str().unwrap();
    t.call(
        "POST",
        &format!("/v1/awards/{id}/revoke"),
        Some(&key),
        Some(json!({"reason": "issued in error"})),
    )
    .await;
    let second = t
        .call("POST", "/v1/awards", Some(&key), Some(req.clone()))
        .await;
    assert_eq!(second.status, StatusCode::CREATED);
    // An expired holder frees the slot too.
    let tpl2 = t
        .create_template(&key, {
            let mut b = template_body("Yearly");
            b["reissue_policy"] = json!("one_active_per_recipient");
            b
        })
        .await;
    let old = json!({"template_id": tpl2["id"], "recipient": {"email": "lee@example.com", "name": "Lee"}, "issued_on": "2020-01-01", "expires_on": "2021-01-01"});
    t.issue(&key, old).await;
    let renewed = t
        .call("POST", "/v1/awards", Some(&key), Some(json!({"template_id": tpl2["id"], "recipient": {"email": "lee@example.com", "name": "Lee"}})))
        .await;
    assert_eq!(renewed.status, StatusCode::CREATED, "{}", renewed.text());
    // And "allow multiple" templates accept repeats.
    let many = t
        .create_template(&key, template_body("Participation"))
        .await;
    for _ in 0..2 {
        t.issue(&key, json!({"template_id": many["id"], "recipient": {"email": "kim@example.com", "name": "Kim"}})).await;
    }
}

#[tokio::test]
async fn revoke_requires_a_reason_and_is_idempotent() {
    let t = spawn_app().await;
    let (_, key) = t.issuer("U").await;
    let tpl = t.create_template(&key, template_body("C")).await;
    let a = t
        .issue(
            &key,
            json!({"template_id": tpl["id"], "recipient": {"email": "a@example.com", "name": "A"}}),
        )
        .await;
    let path = format!("/v1/awards/{}/revoke", a["id"].as_str().unwrap());
    let r = t.call("POST", &path, Some(&key), Some(json!({}))).await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST);
    assert_eq!(r.json()["error"]["field"], "reason");
    let r1 = t
        .call(
            "POST",
            &path,
            Some(&key),
            Some(json!({"reason": "Academic misconduct"})),
        )
        .await;
    assert_eq!(r1.status, StatusCode::OK);
    assert_eq!(r1.json()["status"], "revoked");
    let r2 = t
        .call(
            "POST",
            &path,
            Some(&key),
            Some(json!({"reason": "another reason"})),
        )
        .await;
    assert_eq!(r2.status, StatusCode::OK);
    assert_eq!(
        r2.json()["revocation"]["reason"],
        "Academic misconduct",
        "the first revocation stands"
    );
    assert_eq!(r2.json()["revocation"]["at"], r1.json()["revocation"]["at"]);
}

#[tokio::test]
async fn reissue_supersedes_the_old_award() {
    let t = spawn_app().await;
    let (_, key) = t.issuer("U").await;
    let mut body = template_body("C");
    body["reissue_policy"] = json!("one_active_per_recipient");
    body["validity"] = json!({"kind": "days_after_issue", "days": 365});
    let tpl = t.create_template(&key, body).await;
    let old = t
        .issue(&key, json!({"template_id": tpl["id"], "recipient": {"email": "a@example.com", "name": "A"}, "narrative": "Project X"}))
        .await;
    let oid = old["id"].as_str().unwrap();
    let r = t
        .call(
            "POST",
            &format!("/v1/awards/{oid}/reissue"),
            Some(&key),
            Some(json!({})),
        )
        .await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.text());
    let new = r.json();
    let nid = new["id"].as_str().unwrap();
    assert_ne!(nid, oid);
    assert_eq!(new["supersedes"], oid);
    assert_eq!(new["narrative"], "Project X");
    assert_eq!(new["status"], "valid");
    let old_now = t
        .call("GET", &format!("/v1/awards/{oid}"), Some(&key), None)
        .await
        .json();
    assert_eq!(old_now["status"], "superseded");
    assert_eq!(old_now["superseded_by"], nid);
    // The old page says so and links to the new one.
    let page = t.browse(&format!("/b/{oid}")).await.text();
    assert!(page.contains(&format!("/b/{nid}")));
    // Re-issuing the old one again (a retry after a lost answer) answers the award that replaced
    // it, and makes nothing new.
    let r = t
        .call(
            "POST",
            &format!("/v1/awards/{oid}/reissue"),
            Some(&key),
            Some(json!({})),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text());
    assert_eq!(r.json()["id"], nid);
    let listed = t
        .call(
            "GET",
            "/v1/awards?recipient=a@example.com",
            Some(&key),
            None,
        )
        .await
        .json();
    assert_eq!(listed["data"].as_array().unwrap().len(), 2, "{listed:#}");
    // The one-active slot moved to the new award: a fresh issue is still refused.
    let r = t
        .call("POST", "/v1/awards", Some(&key), Some(json!({"template_id": tpl["id"], "recipient": {"email": "a@example.com", "name": "A"}})))
        .await;
    assert_eq!(r.status, StatusCode::CONFLICT);
    assert!(r.json()["error"]["message"].as_str().unwrap().contains(nid));
}

#[tokio::test]
async fn awards_list_by_template_recipient_and_status() {
    let t = spawn_app().await;
    let (_, key) = t.issuer("U").await;
    let t1 = t.create_template(&key, template_body("One")).await;
    let t2 = t.create_template(&key, template_body("Two")).await;
    let mut ids = vec![];
    for (i, tpl) in [&t1, &t1, &t2].iter().enumerate() {
        let a = t
            .issue(&key, json!({"template_id": tpl["id"], "recipient": {"email": format!("p{i}@example.com"), "name": "P"}}))
            .await;
        ids.push(a["id"].as_str().unwrap().to_owned());
    }
    t.call(
        "POST",
        &format!("/v1/awards/{}/revoke", ids[0]),
        Some(&key),
        Some(json!({"reason": "r"})),
    )
    .await;
    let count = |v: serde_json::Value| v["data"].as_array().unwrap().len();
    assert_eq!(
        count(t.call("GET", "/v1/awards", Some(&key), None).await.json()),
        3
    );
    // A filter misspelt (the body's field name) is refused, naming it, not ignored (which would
    // list every award).
    let path = format!("/v1/awards?template_id={}", t1["id"].as_str().unwrap());
    let r = t.call("GET", &path, Some(&key), None).await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST, "{}", r.text());
    assert_eq!(r.json()["error"]["field"], "template_id");
    assert_eq!(
        count(
            t.call(
                "GET",
                &format!("/v1/awards?template={}", t1["id"].as_str().unwrap()),
                Some(&key),
                None
            )
            .await
            .json()
        ),
        2
    );
    assert_eq!(
        count(
            t.call(
                "GET",
                "/v1/awards?recipient=P2@example.com",
                Some(&key),
                None
            )
            .await
            .json()
        ),
        1
    );
    assert_eq!(
        count(
            t.call("GET", "/v1/awards?status=revoked", Some(&key), None)
                .await
                .json()
        ),
        1
    );
    // The filter fills the page: the revoked award (the oldest) is in the first page, not
    // behind an empty page with a cursor.
    let one = t
        .call("GET", "/v1/awards?status=revoked&limit=2", Some(&key), None)
        .await
        .json();
    assert_eq!(one["data"][0]["id"], ids[0].as_str(), "{one:#}");
    assert_eq!(one["next_cursor"], serde_json::Value::Null, "{one:#}");
    // A page cut inside a read goes on after its last award: valid ones, one per page.
    let mut cursor = String::new();
    let mut valid = vec![];
    loop {
        let path = format!("/v1/awards?status=valid&limit=1&cursor={cursor}");
        let page = t.call("GET", &path, Some(&key), None).await.json();
        for a in page["data"].as_array().unwrap() {
            valid.push(a["id"].as_str().unwrap().to_owned());
        }
        match page["next_cursor"].as_str() {
            Some(c) => cursor = c.to_owned(),
            None => break,
        }
    }
    assert_eq!(valid, vec![ids[2].clone(), ids[1].clone()]);
    assert_eq!(
        count(
            t.call("GET", "/v1/awards?status=valid", Some(&key), None)
                .await
                .json()
        ),
        2
    );
    let r = t
        .call("GET", "/v1/awards?status=lost", Some(&key), None)
        .await;
    assert_eq!(r.json()["error"]["field"], "status");
    let r = t
        .call("GET", "/v1/awards?recipient=nope", Some(&key), None)
        .await;
    assert_eq!(r.json()["error"]["field"], "recipient");
    // Newest first, paginated.
    let p1 = t
        .call("GET", "/v1/awards?limit=2", Some(&key), None)
        .await
        .json();
    assert_eq!(p1["data"][0]["id"], ids[2].as_str());
    let c = p1["next_cursor"].as_str().unwrap();
    let p2 = t
        .call(
            "GET",
            &format!("/v1/awards?limit=2&cursor={c}"),
            Some(&key),
            None,
        )
        .await
        .json();
    assert_eq!(p2["data"][0]["id"], ids[0].as_str());
}

/// DynamoDB's eventually consistent reads may miss a write of a moment ago (moto's never do;
/// `TestApp::lagging_reads` makes them). Decisions about an award just written read it
/// consistently: a second award for the holder of the one-active slot is still refused (an
/// eventually consistent read of the holder found nothing, took it for gone and issued a second
/// active award), and a retried request with the same Idempotency-Key answers the same award.
#[tokio::test]
async fn awards_written_a_moment_ago_are_seen_where_issuing_decides_on_them() {
    let t = spawn_app().await;
    let (key, tpl) = t.one_active_template("U", "Certified").await;
    t.lagging_reads(true).await;
    let req =
        json!({"template_id": tpl["id"], "recipient": {"email": "lee@example.com", "name": "Lee"}});
    let first = t.issue(&key, req.clone()).await;
    let r = t.call("POST", "/v1/awards", Some(&key), Some(req)).await;
    assert_eq!(r.status, StatusCode::CONFLICT, "{}", r.text());
    assert_eq!(r.json()["error"]["code"], "already_awarded");
    let idem = json!({"template_id": tpl["id"], "recipient": {"email": "park@example.com", "name": "Park"}});
    let mut ids = Vec::new();
    for _ in 0..2 {
        let r = t
            .call_with(
                "POST",
                "/v1/awards",
                Some(&key),
                Some(idem.clone()),
                &[("idempotency-key", "lms-lag-1")],
            )
            .await;
        assert!(r.status.is_success(), "{}: {}", r.status, r.text());
        ids.push(r.json()["id"].as_str().unwrap().to_owned());
    }
    assert_eq!(ids[0], ids[1]);
    assert_ne!(ids[0], first["id"].as_str().unwrap());
}
