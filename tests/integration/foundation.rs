//! Issue #2: issuer, templates, API keys, isolation between issuers, errors, concurrency.

use accolade_tests::{spawn_app, template_body, FunctionName, StatusCode, TestApp};
use axum::{body::Body, http::Request};
use serde_json::{json, Value};

#[tokio::test]
async fn template_crud_round_trip() {
    let t = spawn_app().await;
    let (_, key) = t.issuer("Hanbit University").await;

    let created = t
        .create_template(
            &key,
            json!({
                "name": "데이터 분석 기초",
                "description": "스프레드시트로 데이터를 요약합니다.",
                "criteria": { "narrative": "8주 과정 수료", "url": "https://univ.example.ac.kr/c/1" },
                "skills": ["Excel", "excel", "통계"],
                "validity": { "kind": "days_after_issue", "days": 365 },
                "reissue_policy": "one_active_per_recipient",
            }),
        )
        .await;
    let id = created["id"].as_str().unwrap().to_owned();
    assert!(id.starts_with("tpl_"));
    assert_eq!(created["version"], 1);
    assert_eq!(created["status"], "active");
    assert_eq!(
        created["skills"],
        json!(["Excel", "통계"]),
        "skills de-duplicated case-insensitively"
    );

    let got = t
        .call("GET", &format!("/v1/templates/{id}"), Some(&key), None)
        .await;
    assert_eq!(got.status, StatusCode::OK);
    assert_eq!(got.header("etag"), Some("\"1\""));
    assert_eq!(got.json()["name"], "데이터 분석 기초");
    assert_eq!(
        got.json()["validity"],
        json!({"kind": "days_after_issue", "days": 365})
    );

    let patched = t
        .call(
            "PATCH",
            &format!("/v1/templates/{id}"),
            Some(&key),
            Some(json!({ "name": "데이터 분석 입문", "criteria": { "url": null } })),
        )
        .await;
    assert_eq!(patched.status, StatusCode::OK, "{}", patched.text());
    let p = patched.json();
    assert_eq!(p["name"], "데이터 분석 입문");
    assert_eq!(p["version"], 2);
    assert!(
        p["criteria"].get("url").is_none(),
        "null removes a field (merge patch)"
    );
    assert_eq!(p["criteria"]["narrative"], "8주 과정 수료");

    // Stale If-Match is refused and changes nothing.
    let stale = t
        .call_with(
            "PATCH",
            &format!("/v1/templates/{id}"),
            Some(&key),
            Some(json!({"name": "x"})),
            &[("if-match", "\"1\"")],
        )
        .await;
    assert_eq!(stale.status, StatusCode::PRECONDITION_FAILED);
    assert_eq!(stale.json()["error"]["code"], "version_conflict");
    let fresh = t
        .call_with(
            "PATCH",
            &format!("/v1/templates/{id}"),
            Some(&key),
            Some(json!({"name": "Data 101"})),
            &[("if-match", "\"2\"")],
        )
        .await;
    assert_eq!(fresh.status, StatusCode::OK);
    // A patch that changes a tagged field's kind replaces it (the old kind's fields would be
    // refused as unknown): a validity of 365 days becomes "never".
    let never = t
        .call(
            "PATCH",
            &format!("/v1/templates/{id}"),
            Some(&key),
            Some(json!({"validity": {"kind": "never"}})),
        )
        .await;
    assert_eq!(never.status, StatusCode::OK, "{}", never.text());
    assert_eq!(never.json()["validity"], json!({"kind": "never"}));

    // List with pagination.
    for i in 0..4 {
        t.create_template(&key, template_body(&format!("T{i}")))
            .await;
    }
    let mut seen = vec![];
    let mut cursor: Option<String> = None;
    loop {
        let path = match &cursor {
            Some(c) => format!("/v1/templates?limit=2&cursor={c}"),
            None => "/v1/templates?limit=2".into(),
        };
        let page = t.call("GET", &path, Some(&key), None).await.json();
        assert!(page["data"].as_array().unwrap().len() <= 2);
        for item in page["data"].as_array().unwrap() {
            seen.push(item["id"].as_str().unwrap().to_owned());
        }
        match page["next_cursor"].as_str() {
            Some(c) => cursor = Some(c.to_owned()),
            None => break,
        }
    }
    seen.sort();
    seen.dedup();
    assert_eq!(seen.len(), 5);

    // DELETE archives; the template stays readable and its public BadgeClass stays up.
    let del = t
        .call("DELETE", &format!("/v1/templates/{id}"), Some(&key), None)
        .await;
    assert_eq!(del.status, StatusCode::OK);
    assert_eq!(del.json()["status"], "archived");
    let active = t
        .call("GET", "/v1/templates?status=active", Some(&key), None)
        .await
        .json();
    assert!(!active["data"]
        .as_array()
        .unwrap()
        .iter()
        .any(|x| x["id"] == id.as_str()));
    // A filter fills the page: the one archived template (the oldest, behind four active ones)
    // is in the first page, not behind empty pages with a cursor.
    let archived = t
        .call(
            "GET",
            "/v1/templates?status=archived&limit=2",
            Some(&key),
            None,
        )
        .await
        .json();
    assert_eq!(
        archived["data"].as_array().unwrap().len(),
        1,
        "{archived:#}"
    );
    assert_eq!(archived["data"][0]["id"], id.as_str());
    assert_eq!(archived["next_cursor"], Value::Null);
    assert_eq!(
        t.browse(&format!("/templates/{id}.json")).await.status,
        StatusCode::OK
    );
}

#[tokio::test]
async fn template_validation_names_the_field() {
    let t = spawn_app().await;
    let (_, key) = t.issuer("U").await;
    let cases = [
        (
            json!({"description": "d", "criteria": {"narrative": "n"}}),
            "name",
        ),
        (
            json!({"name": "  ", "description": "d", "criteria": {"narrative": "n"}}),
            "name",
        ),
        (json!({"name": "n", "description": "d"}), "criteria"),
        (
            json!({"name": "n", "description": "d", "criteria": {"url": "javascript:alert(1)"}}),
            "criteria.url",
        ),
        (
            json!({"name": "n", "description": "d", "criteria": {"narrative": "n"}, "validity": {"kind": "days_after_issue", "days": 0}}),
            "validity.days",
        ),
        (
            json!({"name": "n", "description": "d", "criteria": {"narrative": "n"}, "validity": {"kind": "weekly"}}),
            "validity.kind",
        ),
        (
            json!({"name": "n", "description": "d", "criteria": {"narrative": "n"}, "skills": [1]}),
            "skills[0]",
        ),
        (
            json!({"name": "n", "description": "d", "criteria": {"narrative": "n"}, "colour": "red"}),
            "colour",
        ),
        (
            json!({"name": 5, "description": "d", "criteria": {"narrative": "n"}}),
            "name",
        ),
        (
            json!({"name": "n", "description": "d", "criteria": {"narrative": "n"}, "image": {"kind": "uploaded"}}),
            "image.kind",
        ),
    ];
    for (body, field) in cases {
        let r = t
            .call("POST", "/v1/templates", Some(&key), Some(body.clone()))
            .await;
        assert_eq!(r.status, StatusCode::BAD_REQUEST, "{body}: {}", r.text());
        assert_eq!(r.json()["error"]["field"], field, "{body}: {}", r.text());
        assert!(!r.json()["error"]["message"].as_str().unwrap().is_empty());
    }
    assert_eq!(
        t.template_count(&key).await,
        0,
        "nothing written on bad input"
    );
}

#[tokio::test]
async fn malformed_requests_get_clear_errors() {
    let t = spawn_app().await;
    let (_, key) = t.issuer("U").await;
    let raw = |body: &'static str, ct: &'static str| {
        Request::builder()
            .method("POST")
            .uri("/v1/templates")
            .header("authorization", format!("Bearer {key}"))
            .header("content-type", ct)
            .body(Body::from(body))
            .unwrap()
    };
    let r = t.send(raw("{\"name\": ", "application/json")).await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST);
    assert_eq!(r.json()["error"]["code"], "malformed_json");
    let r = t.send(raw("[1,2]", "application/json")).await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST);
    let r = t
        .send(raw("name=x", "application/x-www-form-urlencoded"))
        .await;
    assert_eq!(r.status, StatusCode::UNSUPPORTED_MEDIA_TYPE);
    let big = format!("{{\"name\": \"{}\"}}", "a".repeat(300 * 1024));
    let req = Request::builder()
        .method("POST")
        .uri("/v1/templates")
        .header("authorization", format!("Bearer {key}"))
        .header("content-type", "application/json")
        .body(Body::from(big))
        .unwrap();
    let r = t.send(req).await;
    assert_eq!(r.status, StatusCode::PAYLOAD_TOO_LARGE);
    assert_eq!(r.json()["error"]["code"], "payload_too_large");
    let r = t.call("GET", "/v1/nothing-here", Some(&key), None).await;
    assert_eq!(r.status, StatusCode::NOT_FOUND);
    assert_eq!(r.json()["error"]["code"], "not_found");
    let r = t
        .call("GET", "/v1/templates/not-an-id", Some(&key), None)
        .await;
    assert_eq!(r.status, StatusCode::NOT_FOUND);
    let r = t
        .call("GET", "/v1/templates?limit=0", Some(&key), None)
        .await;
    assert_eq!(r.json()["error"]["field"], "limit");
    let r = t
        .call("GET", "/v1/templates?cursor=garbage", Some(&key), None)
        .await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST);
    assert_eq!(r.json()["error"]["field"], "cursor");
    // A parameter given twice is refused by name, in the API's JSON (never axum's plain text).
    for path in [
        "/v1/awards?status=valid&status=revoked",
        "/v1/templates?limit=5&limit=6",
        "/v1/analytics?from=2026-03-01&from=2026-03-02",
    ] {
        let r = t.call("GET", path, Some(&key), None).await;
        assert_eq!(r.status, StatusCode::BAD_REQUEST, "{path}");
        assert_eq!(r.json()["error"]["code"], "invalid_field", "{path}");
        let field = path.split(['?', '=']).nth(1).unwrap();
        assert_eq!(r.json()["error"]["field"], field, "{path}");
    }
    // The lists that take no parameters refuse one by name (README), not list everything.
    for path in ["/v1/webhooks?limit=5", "/v1/api-keys?status=active"] {
        let r = t.call("GET", path, Some(&key), None).await;
        assert_eq!(r.status, StatusCode::BAD_REQUEST, "{path}");
        let field = path.split(['?', '=']).nth(1).unwrap();
        assert_eq!(r.json()["error"]["field"], field, "{path}");
        let message = r.json()["error"]["message"].as_str().unwrap().to_owned();
        assert!(message.ends_with("this route takes none"), "{message}");
    }
}

#[tokio::test]
async fn every_route_requires_a_valid_key() {
    let t = spawn_app().await;
    let (_, key) = t.issuer("U").await;
    for (method, path) in accolade::http::api::routes()
        .into_iter()
        .chain(accolade::http::analytics::routes())
    {
        if path == "/v1/openapi.json" {
            let r = t.call(method, path, None, None).await;
            assert_eq!(r.status, StatusCode::OK);
            continue;
        }
        let path = path.replace("{id}", "x");
        for bad in [
            None,
            Some("acc_"),
            Some("nonsense"),
            Some("acc_AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"),
        ] {
            let r = t.call(method, &path, bad, Some(json!({}))).await;
            assert_eq!(
                r.status,
                StatusCode::UNAUTHORIZED,
                "{method} {path} with {bad:?}: {}",
                r.text()
            );
            assert_eq!(r.json()["error"]["code"], "unauthorized");
        }
    }
    // The right key reaches the handler (proves every listed route is mounted).
    for (method, path) in accolade::http::api::routes()
        .into_iter()
        .chain(accolade::http::analytics::routes())
    {
        let r = t
            .call(
                method,
                &path.replace("{id}", "x"),
                Some(&key),
                Some(json!({})),
            )
            .await;
        assert_ne!(r.status, StatusCode::UNAUTHORIZED, "{method} {path}");
        assert_ne!(r.status, StatusCode::METHOD_NOT_ALLOWED, "{method} {path}");
        if r.status == StatusCode::NOT_FOUND {
            assert_ne!(
                r.json()["error"]["message"],
                "no such route; see /v1/openapi.json",
                "{method} {path} is not mounted"
            );
        }
    }
}

#[tokio::test]
async fn api_keys_shown_once_listed_without_secret_and_revocable() {
    let t = spawn_app().await;
    let (_, key) = t.issuer("U").await;
    let created = t
        .call(
            "POST",
            "/v1/api-keys",
            Some(&key),
            Some(json!({"name": "LMS"})),
        )
        .await;
    assert_eq!(created.status, StatusCode::CREATED);
    let c = created.json();
    let second = c["key"].as_str().unwrap().to_owned();
    assert!(second.starts_with("acc_"));
    assert_eq!(
        t.call("GET", "/v1/issuer", Some(&second), None)
            .await
            .status,
        StatusCode::OK
    );

    let list = t.call("GET", "/v1/api-keys", Some(&key), None).await;
    assert!(!list.text().contains(&second), "the secret is never listed");
    assert!(!list.text().contains(&second[4..]));
    assert_eq!(list.json()["data"].as_array().unwrap().len(), 2);

    let id = c["id"].as_str().unwrap();
    let r = t
        .call("DELETE", &format!("/v1/api-keys/{id}"), Some(&key), None)
        .await;
    assert_eq!(r.status, StatusCode::NO_CONTENT);
    let r = t.call("GET", "/v1/issuer", Some(&second), None).await;
    assert_eq!(
        r.status,
        StatusCode::UNAUTHORIZED,
        "a revoked key stops working at once"
    );
    assert_eq!(
        t.call("GET", "/v1/issuer", Some(&key), None).await.status,
        StatusCode::OK
    );
    // Revoking again is harmless.
    let r = t
        .call("DELETE", &format!("/v1/api-keys/{id}"), Some(&key), None)
        .await;
    assert_eq!(r.status, StatusCode::NO_CONTENT);
}

#[tokio::test]
async fn issuer_profile_get_and_patch() {
    let t = spawn_app().await;
    let (iid, key) = t.issuer("Hanbit").await;
    let r = t.call("GET", "/v1/issuer", Some(&key), None).await;
    assert_eq!(r.json()["id"], iid.as_str());
    assert_eq!(r.json()["default_locale"], "ko");
    let r = t
        .call(
            "PATCH",
            "/v1/issuer",
            Some(&key),
            Some(json!({"primary_color": "#0B3D91", "linkedin_organization_id": "123456", "mask_recipient_names": true, "default_locale": "en-US"})),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text());
    let v = r.json();
    assert_eq!(v["primary_color"], "#0b3d91");
    assert_eq!(v["mask_recipient_names"], true);
    assert_eq!(v["default_locale"], "en");
    assert_eq!(v["name"], "Hanbit");
    for (body, field) in [
        (json!({"primary_color": "red"}), "primary_color"),
        (
            json!({"linkedin_organization_id": "hanbit"}),
            "linkedin_organization_id",
        ),
        (json!({"time_zone": "Seoul"}), "time_zone"),
        (
            json!({"logo_url": "data:image/png;base64,AAAA"}),
            "logo_url",
        ),
        (json!({"email": "nope"}), "email"),
        (json!({"id": "iss_x"}), "id"),
    ] {
        let r = t
            .call("PATCH", "/v1/issuer", Some(&key), Some(body.clone()))
            .await;
        assert_eq!(r.status, StatusCode::BAD_REQUEST, "{body}");
        assert_eq!(r.json()["error"]["field"], field, "{body}");
    }
    let after = t.call("GET", "/v1/issuer", Some(&key), None).await.json();
    assert_eq!(after["version"], v["version"], "bad input wrote nothing");
}

#[tokio::test]
async fn another_issuers_objects_are_invisible_on_every_route() {
    let t = spawn_app().await;
    let (_, key_a) = t.issuer("A").await;
    let (_, key_b) = t.issuer("B").await;
    let tpl = t.create_template(&key_a, template_body("A's badge")).await;
    let tid = tpl["id"].as_str().unwrap();
    let award = t
        .issue(
            &key_a,
            json!({"template_id": tid, "recipient": {"email": "a@example.com", "name": "Ann"}}),
        )
        .await;
    let aid = award["id"].as_str().unwrap();
    let a_key = t
        .call(
            "POST",
            "/v1/api-keys",
            Some(&key_a),
            Some(json!({"name": "x"})),
        )
        .await
        .json();
    let kid = a_key["id"].as_str().unwrap();

    // Every id-addressed route, with B's key and A's ids: 404, never A's data, nothing changed.
    let cases = [
        ("GET", format!("/v1/templates/{tid}"), None),
        (
            "PATCH",
            format!("/v1/templates/{tid}"),
            Some(json!({"name": "hijacked"})),
        ),
        ("DELETE", format!("/v1/templates/{tid}"), None),
        ("PUT", format!("/v1/templates/{tid}/image"), None),
        ("DELETE", format!("/v1/api-keys/{kid}"), None),
        ("GET", format!("/v1/awards/{aid}"), None),
        (
            "POST",
            format!("/v1/awards/{aid}/revoke"),
            Some(json!({"reason": "hijack"})),
        ),
        ("POST", format!("/v1/awards/{aid}/reissue"), Some(json!({}))),
    ];
    for (method, path, body) in cases {
        let r = t.call(method, &path, Some(&key_b), body).await;
        assert_eq!(
            r.status,
            StatusCode::NOT_FOUND,
            "{method} {path}: {}",
            r.text()
        );
        assert!(!r.text().contains("A's badge") && !r.text().contains("a@example.com"));
    }
    // Issuing with A's template from B's key.
    let r = t
        .call(
            "POST",
            "/v1/awards",
            Some(&key_b),
            Some(
                json!({"template_id": tid, "recipient": {"email": "b@example.com", "name": "Bo"}}),
            ),
        )
        .await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST);
    assert_eq!(r.json()["error"]["field"], "template_id");
    // Lists and filters show B nothing of A's.
    for path in [
        "/v1/templates".to_string(),
        "/v1/awards".to_string(),
        "/v1/awards?recipient=a@example.com".to_string(),
        "/v1/api-keys".to_string(),
        "/v1/issuer".to_string(),
    ] {
        let r = t.call("GET", &path, Some(&key_b), None).await;
        assert_eq!(r.status, StatusCode::OK, "{path}");
        assert!(
            !r.text().contains(tid) && !r.text().contains(aid) && !r.text().contains(kid),
            "{path} leaks A's data"
        );
    }
    let r = t
        .call(
            "GET",
            &format!("/v1/awards?template={tid}"),
            Some(&key_b),
            None,
        )
        .await;
    // A filter by A's template is not found, like the template itself.
    assert_eq!(r.status, StatusCode::NOT_FOUND, "{}", r.text());
    assert_eq!(r.json()["error"]["code"], "not_found");
    // A's objects are untouched.
    let still = t
        .call("GET", &format!("/v1/templates/{tid}"), Some(&key_a), None)
        .await
        .json();
    assert_eq!(still["name"], "A's badge");
    assert_eq!(still["status"], "active");
    let aw = t
        .call("GET", &format!("/v1/awards/{aid}"), Some(&key_a), None)
        .await
        .json();
    assert_eq!(aw["status"], "valid");
    assert_eq!(
        t.call(
            "GET",
            "/v1/issuer",
            Some(a_key["key"].as_str().unwrap()),
            None
        )
        .await
        .status,
        StatusCode::OK
    );
}

#[tokio::test]
async fn concurrent_template_edits_do_not_lose_updates() {
    let t = spawn_app().await;
    let (_, key) = t.issuer("U").await;
    let tpl = t.create_template(&key, template_body("Original")).await;
    let path = format!("/v1/templates/{}", tpl["id"].as_str().unwrap());
    let patches = [
        json!({"name": "New name"}),
        json!({"description": "New description"}),
        json!({"skills": ["Rust"]}),
        json!({"validity": {"kind": "days_after_issue", "days": 30}}),
        json!({"reissue_policy": "one_active_per_recipient"}),
        json!({"criteria": {"url": "https://univ.example.ac.kr/criteria"}}),
    ];
    let results = futures_join(&t, &path, &key, &patches).await;
    for r in &results {
        assert_eq!(*r, StatusCode::OK);
    }
    let v = t.call("GET", &path, Some(&key), None).await.json();
    assert_eq!(v["name"], "New name");
    assert_eq!(v["description"], "New description");
    assert_eq!(v["skills"], json!(["Rust"]));
    assert_eq!(v["validity"]["days"], 30);
    assert_eq!(v["reissue_policy"], "one_active_per_recipient");
    assert_eq!(v["criteria"]["url"], "https://univ.example.ac.kr/criteria");
    assert_eq!(
        v["criteria"]["narrative"],
        "Attend 80% and pass the final project."
    );
    assert_eq!(v["version"], 1 + patches.len() as u64);
}

async fn futures_join(t: &TestApp, path: &str, key: &str, patches: &[Value]) -> Vec<StatusCode> {
    let mut set = tokio::task::JoinSet::new();
    for p in patches {
        let router = t.router.clone();
        let (path, key, p) = (path.to_owned(), key.to_owned(), p.clone());
        set.spawn(async move {
            use tower::ServiceExt;
            let req = Request::builder()
                .method("PATCH")
                .uri(path)
                .header("authorization", format!("Bearer {key}"))
                .header("content-type", "application/json")
                .body(Body::from(p.to_string()))
                .unwrap();
            router.oneshot(req).await.unwrap().status()
        });
    }
    set.join_all().await
}

#[tokio::test]
async fn template_image_upload_sniffs_and_serves() {
    let t = spawn_app().await;
    let (_, key) = t.issuer("U").await;
    let tpl = t.create_template(&key, template_body("Pic")).await;
    let id = tpl["id"].as_str().unwrap();
    // Generated SVG by default.
    let img = t.browse(&format!("/templates/{id}/image")).await;
    assert_eq!(img.status, StatusCode::OK);
    assert_eq!(img.header("content-type"), Some("image/svg+xml"));
    assert!(img.text().contains("Pic"));
    let put = |bytes: Vec<u8>| {
        Request::builder()
            .method("PUT")
            .uri(format!("/v1/templates/{id}/image"))
            .header("authorization", format!("Bearer {key}"))
            .header("content-type", "image/png")
            .body(Body::from(bytes))
            .unwrap()
    };
    let r = t.send(put(b"not an image at all".to_vec())).await;
    assert_eq!(r.status, StatusCode::UNSUPPORTED_MEDIA_TYPE);
    let png = accolade::render::qr::png("x", 2).unwrap();
    let r = t.send(put(png.clone())).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text());
    assert_eq!(r.json()["image"]["kind"], "uploaded");
    assert!(
        r.json()["image"].get("key").is_none(),
        "storage keys stay internal"
    );
    let img = t
        .browse_until(&format!("/templates/{id}/image"), |r| {
            r.header("content-type") == Some("image/png")
        })
        .await;
    assert_eq!(img.header("content-type"), Some("image/png"));
    assert_eq!(img.body, png);
    let csp = img.header("content-security-policy").unwrap_or_default();
    assert!(
        csp.ends_with("; sandbox"),
        "an uploaded image is sandboxed: {csp}"
    );
    let r = t.send(put(vec![0x89; 2 * 1024 * 1024])).await;
    assert_eq!(r.status, StatusCode::PAYLOAD_TOO_LARGE);
    // Keeping the uploaded image through a PATCH of other fields.
    let r = t
        .call(
            "PATCH",
            &format!("/v1/templates/{id}"),
            Some(&key),
            Some(json!({"name": "Pic 2"})),
        )
        .await;
    assert_eq!(r.json()["image"]["kind"], "uploaded");
}

/// What real clients send: the `Bearer` scheme in any case and spacing, a JSON body with a byte
/// order mark (PowerShell, Windows tools), `If-Match: *`, and a weak tag (as a compressing
/// proxy hands the ETag on).
#[tokio::test]
async fn clients_in_the_wild_are_understood() {
    let t = spawn_app().await;
    let (_, key) = t.issuer("Hanbit University").await;
    let raw = |method: &str, path: &str, auth: String, body: Vec<u8>, extra: &[(&str, &str)]| {
        let mut b = Request::builder()
            .method(method)
            .uri(path)
            .header("authorization", auth)
            .header("content-type", "application/json");
        for (h, v) in extra {
            b = b.header(*h, *v);
        }
        t.send(b.body(Body::from(body)).unwrap())
    };
    for auth in [
        format!("BEARER {key}"),
        format!("Bearer\t{key}"),
        format!("bearer  {key} "),
    ] {
        let r = raw("GET", "/v1/templates", auth.clone(), vec![], &[]).await;
        assert_eq!(r.status, StatusCode::OK, "{auth:?}: {}", r.text());
    }
    let r = raw("GET", "/v1/templates", format!("Basic {key}"), vec![], &[]).await;
    assert_eq!(r.status, StatusCode::UNAUTHORIZED);
    // A path that is not UTF-8 once decoded: the API's JSON error, not axum's plain text.
    let r = raw(
        "GET",
        "/v1/awards/%FF%FE",
        format!("Bearer {key}"),
        vec![],
        &[],
    )
    .await;
    assert!(r.status.is_client_error(), "{}", r.status);
    assert_eq!(
        r.header("content-type"),
        Some("application/json"),
        "{}",
        r.text()
    );
    assert_eq!(r.json()["error"]["code"], "invalid_request", "{}", r.text());
    let mut body = b"\xEF\xBB\xBF".to_vec();
    body.extend(template_body("BOM").to_string().into_bytes());
    let r = raw("POST", "/v1/templates", format!("Bearer {key}"), body, &[]).await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.text());
    let id = r.json()["id"].as_str().unwrap().to_owned();
    let path = format!("/v1/templates/{id}");
    let patch = |v: &str| serde_json::to_vec(&json!({"name": v})).unwrap();
    // A weak tag (a compressing proxy weakened the ETag) is the same version; a stale one is 412.
    let weak = [("if-match", "W/\"1\"")];
    let key_h = format!("Bearer {key}");
    let r = raw("PATCH", &path, key_h.clone(), patch("weak"), &weak).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text());
    let r = raw("PATCH", &path, key_h, patch("stale"), &weak).await;
    assert_eq!(r.status, StatusCode::PRECONDITION_FAILED, "{}", r.text());
    let any = [("if-match", "*")];
    let r = raw("PATCH", &path, format!("Bearer {key}"), patch("any"), &any).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text());
    assert_eq!(r.json()["name"], "any");
    // A list of tags (RFC 9110): any of them; none current is 412.
    assert_eq!(r.header("etag"), Some("\"3\""));
    let listed = [("if-match", "\"1\", W/\"3\"")];
    let r = raw(
        "PATCH",
        &path,
        format!("Bearer {key}"),
        patch("listed"),
        &listed,
    )
    .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text());
    let r = raw(
        "PATCH",
        &path,
        format!("Bearer {key}"),
        patch("again"),
        &listed,
    )
    .await;
    assert_eq!(r.status, StatusCode::PRECONDITION_FAILED, "{}", r.text());
    let bad = [("if-match", "\"4\", x")];
    let r = raw("PATCH", &path, format!("Bearer {key}"), patch("bad"), &bad).await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST, "{}", r.text());
    // A PATCH that changes nothing writes nothing: the version (and ETag) stay.
    let r = raw(
        "PATCH",
        &path,
        format!("Bearer {key}"),
        patch("listed"),
        &[],
    )
    .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text());
    assert_eq!(r.json()["version"], 4, "{}", r.text());
    assert_eq!(r.header("etag"), Some("\"4\""));
}

/// Templates and batches created with an `Idempotency-Key`: the same request sent again (its
/// answer lost) answers what the first made, 200; another request with the key is refused.
#[tokio::test]
async fn a_template_or_batch_created_again_with_its_idempotency_key_is_made_once() {
    let t = spawn_app().await;
    let (_, key) = t.issuer("한번만대학교").await;
    let post = |path: &'static str, body: Value, idem: &'static str| {
        let key = key.clone();
        let t = &t;
        async move {
            let h = [("idempotency-key", idem)];
            t.call_with("POST", path, Some(&key), Some(body), &h).await
        }
    };
    let body = template_body("한 번만 만드는 배지");
    let first = post("/v1/templates", body.clone(), "tpl-1").await;
    assert_eq!(first.status, StatusCode::CREATED, "{}", first.text());
    let again = post("/v1/templates", body.clone(), "tpl-1").await;
    assert_eq!(again.status, StatusCode::OK, "{}", again.text());
    assert_eq!(again.json()["id"], first.json()["id"]);
    let list = t
        .call("GET", "/v1/templates", Some(&key), None)
        .await
        .json();
    assert_eq!(list["data"].as_array().unwrap().len(), 1, "{list:#}");
    let other = post("/v1/templates", template_body("다른 배지"), "tpl-1").await;
    other.assert_refused(StatusCode::UNPROCESSABLE_ENTITY, "idempotency_key_reused");
    // Without a key, the same request makes a second template, as before.
    let plain = t
        .call("POST", "/v1/templates", Some(&key), Some(body))
        .await;
    assert_eq!(plain.status, StatusCode::CREATED, "{}", plain.text());
    assert_ne!(plain.json()["id"], first.json()["id"]);

    let tpl = first.json()["id"].clone();
    let batch = json!({"filename": "봄학기.csv", "template_id": tpl});
    let b1 = post("/v1/batches", batch.clone(), "batch-1").await;
    assert_eq!(b1.status, StatusCode::CREATED, "{}", b1.text());
    let b2 = post("/v1/batches", batch.clone(), "batch-1").await;
    assert_eq!(b2.status, StatusCode::OK, "{}", b2.text());
    assert_eq!(b2.json()["id"], b1.json()["id"]);
    assert!(
        b2.json()["upload_url"].as_str().is_some(),
        "still waiting for its file: a fresh upload URL {}",
        b2.text()
    );
    let b3 = post(
        "/v1/batches",
        json!({"filename": "가을학기.csv"}),
        "batch-1",
    )
    .await;
    b3.assert_refused(StatusCode::UNPROCESSABLE_ENTITY, "idempotency_key_reused");
    let list = t.call("GET", "/v1/batches", Some(&key), None).await.json();
    assert_eq!(list["data"].as_array().unwrap().len(), 1, "{list:#}");
    // A key is its route's own: the template's key makes a batch.
    let b4 = post("/v1/batches", batch, "tpl-1").await;
    assert_eq!(b4.status, StatusCode::CREATED, "{}", b4.text());
}

/// An API key created again with its `Idempotency-Key` (the answer lost): still one key, and the
/// answer holds a working secret — a new one, since a key's secret is never stored; the lost
/// answer's stops working, and the sessions signed in with it end. Not while the first send may
/// still be answering (a minute): 409. Another request, or the same from another key, under the
/// key is 422; a revoked key's key is 409.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_api_key_created_again_with_its_idempotency_key_is_one_key_with_a_working_secret() {
    let t = spawn_app().await;
    let (iid, admin) = t.issuer("열쇠대학교").await;
    let create = |by: String, body: Value, idem: &'static str| {
        let t = &t;
        async move {
            let h = [("idempotency-key", idem)];
            t.call_with("POST", "/v1/api-keys", Some(&by), Some(body), &h)
                .await
        }
    };
    let body = json!({"name": "LMS 연동", "scope": "integration"});
    let first = create(admin.clone(), body.clone(), "key-1").await;
    assert_eq!(first.status, StatusCode::CREATED, "{}", first.text());
    let first = first.json();
    let works = |secret: &str| {
        let (t, secret) = (&t, secret.to_owned());
        async move {
            t.call("GET", "/v1/templates", Some(&secret), None)
                .await
                .status
        }
    };
    // At once: the first send may still be answering; its secret is left alone.
    let soon = create(admin.clone(), body.clone(), "key-1").await;
    soon.assert_refused(StatusCode::CONFLICT, "idempotency_key_in_use");
    let lost = first["key"].as_str().unwrap();
    assert_eq!(works(lost).await, StatusCode::OK);
    // A minute on, as if: the answer was lost, and the retry gets the key with a new secret.
    let id = first["id"].as_str().unwrap();
    age_api_key(&t, &iid, id).await;
    let again = create(admin.clone(), body.clone(), "key-1").await;
    assert_eq!(again.status, StatusCode::OK, "{}", again.text());
    let again = again.json();
    assert_eq!(again["id"], first["id"]);
    let kept = again["key"].as_str().unwrap();
    assert_ne!(lost, kept);
    assert_eq!(works(kept).await, StatusCode::OK);
    assert_eq!(works(lost).await, StatusCode::UNAUTHORIZED);
    let kid = accolade::domain::ids::ApiKeyId::parse(id).unwrap();
    let stored = t.app.store.get_api_key(&iid, &kid).await.unwrap().unwrap();
    assert!(stored.sessions_ended_at.is_some(), "{stored:?}");
    let keys = t
        .call("GET", "/v1/api-keys", Some(&admin), None)
        .await
        .json();
    let named: Vec<_> = keys["data"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|k| k["name"] == "LMS 연동")
        .collect();
    assert_eq!(named.len(), 1, "{keys:#}");
    assert_eq!(
        named[0]["hint"].as_str().unwrap(),
        format!("{}…", &kept[..10])
    );
    let other = create(admin.clone(), json!({"name": "HR 연동"}), "key-1").await;
    other.assert_refused(StatusCode::UNPROCESSABLE_ENTITY, "idempotency_key_reused");
    // Another admin key sending the same request under the same key is another request.
    let second = t
        .call(
            "POST",
            "/v1/api-keys",
            Some(&admin),
            Some(json!({"scope": "admin"})),
        )
        .await
        .json();
    let by_other = create(
        second["key"].as_str().unwrap().to_owned(),
        body.clone(),
        "key-1",
    )
    .await;
    by_other.assert_refused(StatusCode::UNPROCESSABLE_ENTITY, "idempotency_key_reused");
    let r = t
        .call("DELETE", &format!("/v1/api-keys/{id}"), Some(&admin), None)
        .await;
    assert_eq!(r.status, StatusCode::NO_CONTENT);
    let revoked = create(admin.clone(), body, "key-1").await;
    revoked.assert_refused(StatusCode::CONFLICT, "idempotency_key_used");
    assert_eq!(works(kept).await, StatusCode::UNAUTHORIZED);
}

/// Two sends of one API key create at once (a client that timed out and retried while its first
/// send still ran, or two workers): one key, one secret that works. On the emulator the second
/// send may meet the first's record before or after its write lands; either way it must not
/// make a second key or replace the secret the other answer gave.
#[tokio::test]
async fn two_sends_of_one_api_key_create_at_once_make_one_key_whose_answered_secret_works() {
    let t = spawn_app().await;
    let (_iid, admin) = t.issuer("동시대학교").await;
    let body = json!({"name": "동시 연동", "scope": "integration"});
    let h = [("idempotency-key", "at-once")];
    let send = || t.call_with("POST", "/v1/api-keys", Some(&admin), Some(body.clone()), &h);
    let (a, b) = tokio::join!(send(), send());
    let (made, other) = match (a.status, b.status) {
        (StatusCode::CREATED, _) => (a, b),
        _ => (b, a),
    };
    assert_eq!(made.status, StatusCode::CREATED, "{}", made.text());
    other.assert_refused(StatusCode::CONFLICT, "idempotency_key_in_use");
    let secret = made.json()["key"].as_str().unwrap().to_owned();
    let r = t.call("GET", "/v1/templates", Some(&secret), None).await;
    assert_eq!(r.status, StatusCode::OK);
    let keys = t
        .call("GET", "/v1/api-keys", Some(&admin), None)
        .await
        .json();
    let named = keys["data"].as_array().unwrap().iter();
    assert_eq!(
        named.filter(|k| k["name"] == "동시 연동").count(),
        1,
        "{keys:#}"
    );
}

/// A revocation that read the key before a create sent again gave it a new secret: its write
/// (the old look-up is gone) writes nothing and says so, as the api function; the route reads
/// the key again and revokes it with its new secret.
#[tokio::test]
async fn a_revocation_that_read_the_key_before_its_new_secret_writes_nothing_and_reads_again() {
    let t = spawn_app().await;
    let (iid, admin) = t.issuer("경합대학교").await;
    let h = [("idempotency-key", "race")];
    let body = json!({"name": "경합 연동"});
    let create = || t.call_with("POST", "/v1/api-keys", Some(&admin), Some(body.clone()), &h);
    let first = create().await.json();
    let id = first["id"].as_str().unwrap();
    let kid = accolade::domain::ids::ApiKeyId::parse(id).unwrap();
    let api = &t.app_of(FunctionName::Api).store;
    let read_before = api.get_api_key(&iid, &kid).await.unwrap().unwrap();
    age_api_key(&t, &iid, id).await;
    let again = create().await;
    assert_eq!(again.status, StatusCode::OK, "{}", again.text());
    let secret = again.json()["key"].as_str().unwrap().to_owned();
    let revoked = api.revoke_api_key(&read_before, chrono::Utc::now()).await;
    assert!(
        !revoked.unwrap(),
        "the old look-up is gone: nothing revoked"
    );
    let now = api.get_api_key(&iid, &kid).await.unwrap().unwrap();
    assert_eq!(now.revoked_at, None, "all or nothing: {now:?}");
    let works = |s: String| {
        let t = &t;
        async move { t.call("GET", "/v1/templates", Some(&s), None).await.status }
    };
    assert_eq!(works(secret.clone()).await, StatusCode::OK);
    let path = format!("/v1/api-keys/{id}");
    let r = t.call("DELETE", &path, Some(&admin), None).await;
    assert_eq!(r.status, StatusCode::NO_CONTENT);
    assert_eq!(works(secret).await, StatusCode::UNAUTHORIZED);
    let old = first["key"].as_str().unwrap().to_owned();
    assert_eq!(works(old).await, StatusCode::UNAUTHORIZED);
}

/// Moves API key `id`'s making two minutes back (what a minute's wait would do).
async fn age_api_key(t: &TestApp, iid: &accolade::domain::ids::IssuerId, id: &str) {
    use aws_sdk_dynamodb::types::AttributeValue::S;
    let (pk, sk) =
        accolade::store::keys::api_key(iid, &accolade::domain::ids::ApiKeyId::parse(id).unwrap());
    let then = chrono::Utc::now() - chrono::Duration::minutes(2);
    aws_sdk_dynamodb::Client::new(&t.sdk)
        .update_item()
        .table_name(&t.names.table)
        .key("PK", S(pk))
        .key("SK", S(sk))
        .update_expression("SET created_at = :t")
        .expression_attribute_values(":t", S(then.to_rfc3339()))
        .send()
        .await
        .unwrap();
}
