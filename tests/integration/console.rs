//! Issue #8 (server side): console sessions, CSRF, bad input writing nothing. The full walk-through
//! in a real browser is tests/browser/console.test.mjs (run by `make test`).

use accolade_tests::{spawn_app, template_body, StatusCode, TestApp};
use axum::{body::Body, http::Request};

fn enc(s: &str) -> String {
    accolade::urls::encode(s)
}

async fn post_form(
    t: &TestApp,
    path: &str,
    cookie: Option<&str>,
    fields: &[(&str, &str)],
    extra: &[(&str, &str)],
) -> accolade_tests::Response {
    let body = fields
        .iter()
        .map(|(k, v)| format!("{}={}", enc(k), enc(v)))
        .collect::<Vec<_>>()
        .join("&");
    let mut b = Request::builder()
        .method("POST")
        .uri(path)
        .header("content-type", "application/x-www-form-urlencoded")
        .header("host", "127.0.0.1");
    if let Some(c) = cookie {
        b = b.header("cookie", c);
    }
    // What a current browser says of a form posted from the console's own page, unless the
    // test says otherwise (or, with `("sec-fetch-site", "")`, nothing at all).
    let says_where =
        |h: &&str| h.eq_ignore_ascii_case("origin") || h.eq_ignore_ascii_case("sec-fetch-site");
    if !extra.iter().any(|(h, _)| says_where(h)) {
        b = b.header("sec-fetch-site", "same-origin");
    }
    for (h, v) in extra
        .iter()
        .filter(|(h, v)| !(says_where(h) && v.is_empty()))
    {
        b = b.header(*h, *v);
    }
    t.send(b.body(Body::from(body)).unwrap()).await
}

pub(crate) async fn get(t: &TestApp, path: &str, cookie: &str) -> accolade_tests::Response {
    t.call_with("GET", path, None, None, &[("cookie", cookie)])
        .await
}

/// Signs in; answers the session cookie and a CSRF token from a page.
pub(crate) async fn sign_in(t: &TestApp, key: &str) -> (String, String) {
    let r = post_form(
        t,
        "/console/login",
        None,
        &[("api_key", key), ("next", "/console/templates")],
        &[],
    )
    .await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.text());
    assert_eq!(r.header("location"), Some("/console/templates"));
    let set = r.header("set-cookie").unwrap().to_owned();
    // `__Host-`: browsers take the name only with `Secure`, `Path=/` and no `Domain`.
    assert!(set.starts_with("__Host-accolade_session="), "{set}");
    let attrs: Vec<&str> = set.split(';').skip(1).map(str::trim).collect();
    for attr in ["HttpOnly", "Secure", "SameSite=Strict", "Path=/"] {
        assert!(attrs.contains(&attr), "{set}");
    }
    assert!(!set.to_ascii_lowercase().contains("domain="), "{set}");
    let cookie = set.split(';').next().unwrap().to_owned();
    let page = get(t, "/console/templates/new", &cookie).await;
    assert_eq!(page.status, StatusCode::OK);
    let html = page.text();
    let csrf = html
        .split("name=\"_csrf\" value=\"")
        .nth(1)
        .unwrap()
        .split('"')
        .next()
        .unwrap()
        .to_owned();
    (cookie, csrf)
}

#[tokio::test]
async fn sessions_are_signed_checked_against_the_key_and_end_with_it() {
    let t = spawn_app().await;
    let (_, key) = t.issuer("콘솔대학").await;
    // Not signed in: to the login page, remembering where to go.
    let r = t.call("GET", "/console/awards", None, None).await;
    assert_eq!(r.status, StatusCode::SEE_OTHER);
    assert_eq!(
        r.header("location"),
        Some("/console/login?next=%2Fconsole%2Fawards")
    );
    // A wrong key: 401 with the error next to the field, no cookie.
    let r = post_form(
        &t,
        "/console/login",
        None,
        &[("api_key", "acc_nonsense")],
        &[],
    )
    .await;
    assert_eq!(r.status, StatusCode::UNAUTHORIZED);
    assert!(r.text().contains("id=\"f-api_key-error\""));
    assert!(r.header("set-cookie").is_none());
    // An open redirect through `next` is refused.
    let r = post_form(
        &t,
        "/console/login",
        None,
        &[("api_key", &key), ("next", "//evil.example/x")],
        &[],
    )
    .await;
    assert_eq!(r.header("location"), Some("/console"));

    let (cookie, _) = sign_in(&t, &key).await;
    assert_eq!(get(&t, "/console", &cookie).await.status, StatusCode::OK);
    // The same signed value under a name a sibling subdomain can set (the cookie's name before
    // `__Host-`) is no session.
    let planted = cookie.replacen("__Host-", "", 1);
    assert!(planted.starts_with("accolade_session="));
    assert_eq!(
        get(&t, "/console", &planted).await.status,
        StatusCode::SEE_OTHER
    );
    // A tampered cookie is no session.
    let mut forged = cookie.clone();
    forged.insert(forged.find('=').unwrap() + 3, 'x');
    assert_eq!(
        get(&t, "/console", &forged).await.status,
        StatusCode::SEE_OTHER
    );
    // Revoking the key ends its sessions at once.
    let keys = t.call("GET", "/v1/api-keys", Some(&key), None).await.json();
    let id = keys["data"][0]["id"].as_str().unwrap().to_owned();
    let other = t
        .call(
            "POST",
            "/v1/api-keys",
            Some(&key),
            Some(serde_json::json!({"scope": "admin"})),
        )
        .await
        .json();
    let r = t
        .call(
            "DELETE",
            &format!("/v1/api-keys/{id}"),
            Some(other["key"].as_str().unwrap()),
            None,
        )
        .await;
    assert_eq!(r.status, StatusCode::NO_CONTENT);
    assert_eq!(
        get(&t, "/console", &cookie).await.status,
        StatusCode::SEE_OTHER
    );
}

#[tokio::test]
async fn forms_need_the_sessions_csrf_token_and_the_same_origin() {
    let t = spawn_app().await;
    let (_, key) = t.issuer("콘솔대학").await;
    let (cookie, csrf) = sign_in(&t, &key).await;
    let fields = [
        ("name", "CSRF 배지"),
        ("description", "d"),
        ("criteria.narrative", "c"),
    ];
    let r = post_form(&t, "/console/templates", Some(&cookie), &fields, &[]).await;
    assert_eq!(r.status, StatusCode::FORBIDDEN, "no token");
    let mut with = fields.to_vec();
    with.push(("_csrf", "AAAA"));
    assert_eq!(
        post_form(&t, "/console/templates", Some(&cookie), &with, &[])
            .await
            .status,
        StatusCode::FORBIDDEN,
        "wrong token"
    );
    let mut good = fields.to_vec();
    good.push(("_csrf", &csrf));
    let r = post_form(
        &t,
        "/console/templates",
        Some(&cookie),
        &good,
        &[("origin", "https://evil.example")],
    )
    .await;
    assert_eq!(r.status, StatusCode::FORBIDDEN, "cross-site");
    let r = post_form(
        &t,
        "/console/templates",
        Some(&cookie),
        &good,
        &[("origin", "null")],
    )
    .await;
    assert_eq!(r.status, StatusCode::FORBIDDEN, "opaque origin");
    // No Origin, but the browser says where the request came from: a sibling subdomain of the
    // same site (`same-site`) or another site is refused, sign-in included.
    for site in ["same-site", "cross-site"] {
        let r = post_form(
            &t,
            "/console/templates",
            Some(&cookie),
            &good,
            &[("sec-fetch-site", site)],
        )
        .await;
        assert_eq!(r.status, StatusCode::FORBIDDEN, "Sec-Fetch-Site: {site}");
        let r = post_form(
            &t,
            "/console/login",
            None,
            &[("api_key", key.as_str())],
            &[("sec-fetch-site", site)],
        )
        .await;
        assert_eq!(r.status, StatusCode::FORBIDDEN, "login from {site}");
    }
    // Neither header (no current browser posts so): refused, sign-in included, saying why.
    let none = [("sec-fetch-site", "")];
    let r = post_form(&t, "/console/templates", Some(&cookie), &good, &none).await;
    assert_eq!(r.status, StatusCode::FORBIDDEN, "neither header");
    assert!(
        r.text().contains("neither an Origin nor a Sec-Fetch-Site"),
        "{}",
        r.text()
    );
    let r = post_form(
        &t,
        "/console/login",
        None,
        &[("api_key", key.as_str())],
        &none,
    )
    .await;
    assert_eq!(
        r.status,
        StatusCode::FORBIDDEN,
        "sign-in with neither header"
    );
    assert!(r.header("set-cookie").is_none());
    assert_eq!(t.template_count(&key).await, 0, "nothing was written");
    let r = post_form(
        &t,
        "/console/templates",
        Some(&cookie),
        &good,
        // The deployment's public origin, whatever Host API Gateway sees (CloudFront, a custom
        // domain): the origin check compares with PUBLIC_BASE_URL.
        &[
            ("origin", t.base_url.as_str()),
            ("host", "abc123.execute-api.us-east-1.amazonaws.com"),
        ],
    )
    .await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.text());
    let list = t
        .call("GET", "/v1/templates", Some(&key), None)
        .await
        .json();
    assert_eq!(list["data"][0]["name"], "CSRF 배지");
}

/// A form of more fields than any console page has is refused whole, not read in part.
#[tokio::test]
async fn a_form_of_more_than_a_thousand_fields_is_refused_and_writes_nothing() {
    let t = spawn_app().await;
    let (_, key) = t.issuer("콘솔대학").await;
    let (cookie, csrf) = sign_in(&t, &key).await;
    let names: Vec<String> = (0..1_000).map(|i| format!("tags[{}]", i % 50)).collect();
    let mut fields: Vec<(&str, &str)> = vec![
        ("_csrf", &csrf),
        ("name", "많은 항목"),
        ("description", "d"),
        ("criteria.narrative", "c"),
    ];
    fields.extend(names.iter().map(|n| (n.as_str(), "x")));
    let r = post_form(&t, "/console/templates", Some(&cookie), &fields, &[]).await;
    assert_eq!(r.status, StatusCode::PAYLOAD_TOO_LARGE, "{}", r.text());
    assert!(r.text().contains("1,000"), "{}", r.text());
    assert_eq!(t.template_count(&key).await, 0, "nothing was written");
    fields.truncate(4);
    let r = post_form(&t, "/console/templates", Some(&cookie), &fields, &[]).await;
    assert_eq!(
        r.status,
        StatusCode::SEE_OTHER,
        "the same form within the limit: {}",
        r.text()
    );
}

#[tokio::test]
async fn bad_input_is_shown_at_its_field_keeps_what_was_typed_and_writes_nothing() {
    let t = spawn_app().await;
    let (_, key) = t.issuer("콘솔대학").await;
    let tpl = t.create_template(&key, template_body("원래 이름")).await;
    let id = tpl["id"].as_str().unwrap();
    let (cookie, csrf) = sign_in(&t, &key).await;
    // An invalid enrolment URL on edit: 422, the message next to that input, values kept.
    let r = post_form(
        &t,
        &format!("/console/templates/{id}"),
        Some(&cookie),
        &[
            ("_csrf", &csrf),
            ("_version", "1"),
            ("name", "바뀐 이름 <b>"),
            ("description", "설명"),
            ("criteria.narrative", "기준"),
            ("enrolment.program_url", "javascript:alert(1)"),
            ("validity.kind", "days_after_issue"),
            ("validity.days:int", "abc"),
        ],
        &[],
    )
    .await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
    let html = r.text();
    assert!(
        html.contains("value=\"바뀐 이름 &lt;b&gt;\""),
        "typed value kept, escaped"
    );
    assert!(
        html.contains("class=\"error\" id=\"f-validity-days-error\"")
            || html.contains("id=\"f-enrolment-program_url-error\""),
        "{html}"
    );
    let now = t
        .call("GET", &format!("/v1/templates/{id}"), Some(&key), None)
        .await
        .json();
    assert_eq!(now["name"], "원래 이름");
    assert_eq!(now["version"], 1);
    // A stale version (someone else saved meanwhile) is refused, not overwritten.
    t.call(
        "PATCH",
        &format!("/v1/templates/{id}"),
        Some(&key),
        Some(serde_json::json!({"description": "다른 사람"})),
    )
    .await;
    let r = post_form(
        &t,
        &format!("/console/templates/{id}"),
        Some(&cookie),
        &[
            ("_csrf", &csrf),
            ("_version", "1"),
            ("name", "내 이름"),
            ("description", "내 설명"),
            ("criteria.narrative", "기준"),
        ],
        &[],
    )
    .await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
    let now = t
        .call("GET", &format!("/v1/templates/{id}"), Some(&key), None)
        .await
        .json();
    assert_eq!(now["description"], "다른 사람");
    // The issue form: a bad email writes no award.
    let r = post_form(
        &t,
        "/console/issue",
        Some(&cookie),
        &[
            ("_csrf", &csrf),
            ("template_id", id),
            ("recipient.email", "nope"),
            ("recipient.name", "김"),
        ],
        &[],
    )
    .await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(r.text().contains("id=\"f-recipient-email-error\""));
    let awards = t.call("GET", "/v1/awards", Some(&key), None).await.json();
    assert_eq!(awards["data"].as_array().unwrap().len(), 0);
    // The same form twice (a double click) issues one badge.
    let fields = [
        ("_csrf", csrf.as_str()),
        ("_idem", "same-click"),
        ("template_id", id),
        ("recipient.email", "kim@example.com"),
        ("recipient.name", "김민수"),
    ];
    let a = post_form(&t, "/console/issue", Some(&cookie), &fields, &[]).await;
    let b = post_form(&t, "/console/issue", Some(&cookie), &fields, &[]).await;
    assert_eq!(a.status, StatusCode::SEE_OTHER);
    assert_eq!(a.header("location"), b.header("location"));
    let awards = t.call("GET", "/v1/awards", Some(&key), None).await.json();
    assert_eq!(awards["data"].as_array().unwrap().len(), 1);
}

#[tokio::test]
async fn another_issuers_objects_are_not_found_in_the_console() {
    let t = spawn_app().await;
    let (_, key_a) = t.issuer("A").await;
    let (_, key_b) = t.issuer("B").await;
    let tpl = t.create_template(&key_a, template_body("A의 배지")).await;
    let id = tpl["id"].as_str().unwrap();
    let award = t
        .issue(&key_a, serde_json::json!({"template_id": id, "recipient": {"email": "a@example.com", "name": "A"}}))
        .await;
    let (cookie_b, csrf_b) = sign_in(&t, &key_b).await;
    for path in [
        format!("/console/templates/{id}"),
        format!("/console/awards/{}", award["id"].as_str().unwrap()),
    ] {
        assert_eq!(
            get(&t, &path, &cookie_b).await.status,
            StatusCode::NOT_FOUND,
            "{path}"
        );
    }
    let r = post_form(
        &t,
        &format!("/console/awards/{}/revoke", award["id"].as_str().unwrap()),
        Some(&cookie_b),
        &[("_csrf", &csrf_b), ("reason", "x")],
        &[],
    )
    .await;
    assert_eq!(r.status, StatusCode::NOT_FOUND);
    let a = t
        .call(
            "GET",
            &format!("/v1/awards/{}", award["id"].as_str().unwrap()),
            Some(&key_a),
            None,
        )
        .await
        .json();
    assert_eq!(a["status"], "valid");
}

#[tokio::test]
async fn revoke_and_reissue_from_the_console() {
    let t = spawn_app().await;
    let (_, key) = t.issuer("콘솔대학").await;
    let tpl = t.create_template(&key, template_body("재발급 배지")).await;
    let award = t
        .issue(&key, serde_json::json!({"template_id": tpl["id"], "recipient": {"email": "re@example.com", "name": "재발급"}}))
        .await;
    let id = award["id"].as_str().unwrap();
    let (cookie, csrf) = sign_in(&t, &key).await;
    let page = get(&t, &format!("/console/awards/{id}"), &cookie).await;
    assert!(
        page.text().contains(&format!("/b/{id}")),
        "links its public page"
    );
    let r = post_form(
        &t,
        &format!("/console/awards/{id}/reissue"),
        Some(&cookie),
        &[("_csrf", &csrf)],
        &[],
    )
    .await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.text());
    let new_id = r
        .header("location")
        .unwrap()
        .trim_start_matches("/console/awards/")
        .split('?')
        .next()
        .unwrap()
        .to_owned();
    assert_ne!(new_id, id);
    let old = t
        .call("GET", &format!("/v1/awards/{id}"), Some(&key), None)
        .await
        .json();
    assert_eq!(old["status"], "superseded");
    // The form sent again (a double click, a reload): to the same replacement, nothing written.
    let r = post_form(
        &t,
        &format!("/console/awards/{id}/reissue"),
        Some(&cookie),
        &[("_csrf", &csrf)],
        &[],
    )
    .await;
    assert_eq!(r.status, StatusCode::SEE_OTHER);
    assert_eq!(
        r.header("location"),
        Some(format!("/console/awards/{new_id}?reissued=1").as_str())
    );
    // Revoke without a reason: the error at the reason field; with one: revoked.
    let r = post_form(
        &t,
        &format!("/console/awards/{new_id}/revoke"),
        Some(&cookie),
        &[("_csrf", &csrf), ("reason", "  ")],
        &[],
    )
    .await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(r.text().contains("id=\"f-reason-error\""));
    let r = post_form(
        &t,
        &format!("/console/awards/{new_id}/revoke"),
        Some(&cookie),
        &[("_csrf", &csrf), ("reason", "오발급")],
        &[],
    )
    .await;
    assert_eq!(r.status, StatusCode::SEE_OTHER);
    let now = t
        .call("GET", &format!("/v1/awards/{new_id}"), Some(&key), None)
        .await
        .json();
    assert_eq!(now["status"], "revoked");
    // A too-long key name is shown at its field.
    let long = "x".repeat(500);
    let r = post_form(
        &t,
        "/console/settings/keys",
        Some(&cookie),
        &[("_csrf", &csrf), ("key_name", &long)],
        &[],
    )
    .await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(r.text().contains("id=\"f-key_name-error\""), "{}", r.text());
}

/// A throttled table is the same answer in the console as in the API: 503 with `Retry-After`,
/// not a 500 — and the page works again once DynamoDB does.
#[tokio::test]
async fn a_throttled_store_is_503_in_the_console_as_in_the_api() {
    let t = spawn_app().await;
    let (_, key) = t.issuer("혼잡대학").await;
    let (cookie, _) = sign_in(&t, &key).await;
    t.faults().arm("Query", 1_000);
    let page = get(&t, "/console/templates", &cookie).await;
    let api = t
        .call_with("GET", "/v1/templates", Some(&key), None, &[])
        .await;
    t.faults().arm("Query", 0);
    assert_eq!(
        api.status,
        StatusCode::SERVICE_UNAVAILABLE,
        "{}",
        api.text()
    );
    assert_eq!(
        page.status,
        StatusCode::SERVICE_UNAVAILABLE,
        "{}",
        page.text()
    );
    assert!(page.header("retry-after").is_some());
    assert!(page.text().contains("잠시 후 다시 시도하세요"));
    assert_eq!(
        get(&t, "/console/templates", &cookie).await.status,
        StatusCode::OK
    );
}

/// The page scripts' writes (batch creation, image uploads) take the CSRF token in
/// `X-CSRF-Token`, checked by one extractor: missing or wrong is 403 with the API's error shape,
/// in the session's language; the right one goes through.
#[tokio::test]
async fn script_writes_need_the_csrf_header() {
    let t = spawn_app().await;
    let (_, key) = t.issuer("스크립트대학").await;
    let tpl = t
        .create_template(&key, template_body("스크립트 배지"))
        .await;
    let tid = tpl["id"].as_str().unwrap().to_owned();
    let (cookie, csrf) = sign_in(&t, &key).await;
    let png = accolade::render::qr::png("https://example.org", 1).unwrap();
    let send = |path: String, token: Option<String>, body: Vec<u8>, ct: &'static str| {
        let mut b = Request::builder()
            .method(if path.contains("/files/") {
                "PUT"
            } else {
                "POST"
            })
            .uri(path)
            .header("content-type", ct)
            .header("cookie", cookie.as_str())
            .header("sec-fetch-site", "same-origin");
        if let Some(tok) = token {
            b = b.header("x-csrf-token", tok);
        }
        t.send(b.body(Body::from(body)).unwrap())
    };
    let batch = serde_json::to_vec(&serde_json::json!({"filename": "a.csv"})).unwrap();
    let upload = format!("/console/templates/{tid}/files/image");
    for token in [None, Some("AAAA".to_owned())] {
        let r = send(
            "/console/bulk/batches".into(),
            token.clone(),
            batch.clone(),
            "application/json",
        )
        .await;
        assert_eq!(r.status, StatusCode::FORBIDDEN, "batch, token {token:?}");
        assert_eq!(r.json()["error"]["code"], "csrf");
        let r = send(upload.clone(), token.clone(), png.clone(), "image/png").await;
        assert_eq!(r.status, StatusCode::FORBIDDEN, "upload, token {token:?}");
        assert!(r.json()["error"]["message"]
            .as_str()
            .unwrap()
            .contains("새로 고친"));
    }
    let r = send(
        "/console/bulk/batches".into(),
        Some(csrf.clone()),
        batch,
        "application/json",
    )
    .await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.text());
    let r = send(upload.clone(), Some(csrf.clone()), png, "image/png").await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text());
    // What the API refuses, the script shows in the page's language (this session's: Korean).
    let xlsx = serde_json::to_vec(&serde_json::json!({"filename": "명단.xlsx"})).unwrap();
    let r = send(
        "/console/bulk/batches".into(),
        Some(csrf.clone()),
        xlsx,
        "application/json",
    )
    .await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST);
    assert_eq!(r.json()["error"]["field"], "filename");
    assert!(
        r.json()["error"]["message"]
            .as_str()
            .unwrap()
            .starts_with("CSV 파일(.csv)을 올리세요"),
        "{}",
        r.text()
    );
    let r = send(upload, Some(csrf), b"not an image".to_vec(), "image/png").await;
    assert_eq!(r.status, StatusCode::UNSUPPORTED_MEDIA_TYPE);
    assert!(
        r.json()["error"]["message"]
            .as_str()
            .unwrap()
            .contains("이미지만"),
        "{}",
        r.text()
    );
}

async fn sign_out(t: &TestApp, cookie: &str, csrf: &str) -> accolade_tests::Response {
    post_form(t, "/console/logout", Some(cookie), &[("_csrf", csrf)], &[]).await
}

/// Signing out ends the session on the server: the cookie, copied before, no longer works; the
/// key itself keeps working, and signing in again gives a working session.
#[tokio::test]
async fn signing_out_ends_the_session_even_for_a_copied_cookie() {
    let t = spawn_app().await;
    let (_, key) = t.issuer("로그아웃대학").await;
    let (cookie, csrf) = sign_in(&t, &key).await;
    let copied = cookie.clone();
    assert_eq!(get(&t, "/console", &copied).await.status, StatusCode::OK);
    let r = sign_out(&t, &cookie, &csrf).await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.text());
    assert_eq!(r.header("location"), Some("/console/login"));
    let after = get(&t, "/console", &copied).await;
    assert_eq!(
        after.status,
        StatusCode::SEE_OTHER,
        "a copied cookie is over"
    );
    assert!(after
        .header("location")
        .unwrap()
        .starts_with("/console/login"));
    let api = t.call("GET", "/v1/issuer", Some(&key), None).await;
    assert_eq!(api.status, StatusCode::OK, "the key is not revoked");
    let (again, _) = sign_in(&t, &key).await;
    assert_eq!(get(&t, "/console", &again).await.status, StatusCode::OK);
}

/// In DynamoDB a write can meet a transaction on the same item: signing out (one UpdateItem of
/// the key's listing item, which a revocation's transaction also writes) gets
/// `TransactionConflictException`, and a revocation's transaction is cancelled for the conflict.
/// Neither is retried by the SDK; both are by the store, so neither fails.
#[tokio::test]
async fn signing_out_and_revoking_a_key_survive_a_transaction_conflict() {
    use infra::metering::Fault::Conflict;
    let t = spawn_app().await;
    let (_, key) = t.issuer("충돌대학").await;
    let (cookie, csrf) = sign_in(&t, &key).await;
    t.faults().arm_at_nth("dynamodb.UpdateItem", 0, 1, Conflict);
    let r = sign_out(&t, &cookie, &csrf).await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.text());
    assert_eq!(t.faults().fired().as_deref(), Some("dynamodb.UpdateItem"));
    let after = get(&t, "/console", &cookie).await;
    assert_eq!(after.status, StatusCode::SEE_OTHER, "the session is over");

    let created = t
        .call(
            "POST",
            "/v1/api-keys",
            Some(&key),
            Some(serde_json::json!({"name": "lms"})),
        )
        .await;
    assert_eq!(created.status, StatusCode::CREATED, "{}", created.text());
    let (id, second) = (created.json()["id"].clone(), created.json()["key"].clone());
    t.faults()
        .arm_at_nth("dynamodb.TransactWriteItems", 0, 1, Conflict);
    let path = format!("/v1/api-keys/{}", id.as_str().unwrap());
    let r = t.call("DELETE", &path, Some(&key), None).await;
    assert_eq!(r.status, StatusCode::NO_CONTENT, "{}", r.text());
    assert_eq!(
        t.faults().fired().as_deref(),
        Some("dynamodb.TransactWriteItems")
    );
    let r = t
        .call("GET", "/v1/issuer", Some(second.as_str().unwrap()), None)
        .await;
    assert_eq!(r.status, StatusCode::UNAUTHORIZED, "revoked");
}

/// The awards list filtered by another issuer's batch or template is the not-found page, as in
/// the API.
#[tokio::test]
async fn another_issuers_batch_is_not_found_in_the_awards_list() {
    let t = spawn_app().await;
    let (key_a, tpl) = t.issuer_with_template().await;
    let (_, key_b) = t.issuer("다른대학").await;
    let batch = t
        .create_batch(
            &key_a,
            serde_json::json!({"filename": "a.csv", "template_id": tpl["id"]}),
        )
        .await;
    let id = batch["id"].as_str().unwrap();
    let (cookie_a, _) = sign_in(&t, &key_a).await;
    let (cookie_b, _) = sign_in(&t, &key_b).await;
    let template = tpl["id"].as_str().unwrap();
    for path in [
        format!("/console/awards?batch={id}"),
        format!("/console/awards?template={template}"),
    ] {
        assert_eq!(get(&t, &path, &cookie_a).await.status, StatusCode::OK);
        assert_eq!(
            get(&t, &path, &cookie_b).await.status,
            StatusCode::NOT_FOUND,
            "{path}"
        );
    }
}

/// The endpoint page's buttons: rotate (once per secret, the new one shown on that answer only),
/// off and on, delete; another word is not found.
#[tokio::test]
async fn a_webhook_endpoint_is_rotated_switched_and_deleted_from_the_console() {
    let t = spawn_app().await;
    let (_, key) = t.issuer("웹훅대학").await;
    let (cookie, csrf) = sign_in(&t, &key).await;
    let body = serde_json::json!({"url": "https://lms.example.ac.kr/h"});
    let r = t.call("POST", "/v1/webhooks", Some(&key), Some(body)).await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.text());
    let id = r.json()["id"].as_str().unwrap().to_owned();
    let one = || {
        let (path, key, t) = (format!("/v1/webhooks/{id}"), key.clone(), &t);
        async move { t.call("GET", &path, Some(&key), None).await.json() }
    };
    let before = one().await;
    let fp = before["secret_fingerprint"].as_str().unwrap().to_owned();
    let act = |what: &'static str, extra: Vec<(&'static str, String)>| {
        let (path, cookie, csrf) = (
            format!("/console/settings/webhooks/{id}/{what}"),
            cookie.clone(),
            csrf.clone(),
        );
        let t = &t;
        async move {
            let mut f: Vec<(&str, &str)> = vec![("_csrf", &csrf)];
            f.extend(extra.iter().map(|(k, v)| (*k, v.as_str())));
            post_form(t, &path, Some(&cookie), &f, &[]).await
        }
    };
    let r = act("rotate", vec![("replaces", fp.clone())]).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text());
    let rotated = one().await;
    let new_fp = rotated["secret_fingerprint"].as_str().unwrap().to_owned();
    assert_ne!(new_fp, fp);
    assert!(r.text().contains("whsec_"), "the new secret is shown once");
    // The same form sent again (a reload) names the old secret: nothing rotates.
    let r = act("rotate", vec![("replaces", fp.clone())]).await;
    assert_eq!(r.status, StatusCode::OK);
    assert!(!r.text().contains("whsec_"));
    assert_eq!(one().await["secret_fingerprint"], new_fp.as_str());
    for (what, enabled) in [("off", false), ("on", true)] {
        let r = act(what, vec![]).await;
        assert_eq!(r.status, StatusCode::SEE_OTHER, "{what}: {}", r.text());
        let to = format!("/console/settings/webhooks/{id}?done={what}");
        assert_eq!(r.header("location"), Some(to.as_str()));
        assert_eq!(one().await["enabled"], enabled, "{what}");
    }
    assert_eq!(act("explode", vec![]).await.status, StatusCode::NOT_FOUND);
    let r = act("delete", vec![]).await;
    assert_eq!(r.status, StatusCode::SEE_OTHER);
    assert_eq!(r.header("location"), Some("/console/settings/webhooks"));
    let path = format!("/v1/webhooks/{id}");
    let r = t.call("GET", &path, Some(&key), None).await;
    assert_eq!(r.status, StatusCode::NOT_FOUND);
    assert_eq!(
        act("on", vec![]).await.status,
        StatusCode::NOT_FOUND,
        "gone"
    );
}

/// The awards list shows 50 a page from reads of 100: "More" goes on after the 50th shown, so
/// browsing page by page reaches every award once.
#[tokio::test]
async fn paging_the_awards_list_shows_every_award_once() {
    let t = spawn_app().await;
    let (key, tpl) = t.issuer_with_template().await;
    let mut issued = std::collections::HashSet::new();
    for i in 0..120 {
        let body = serde_json::json!({"template_id": tpl["id"],
            "recipient": {"email": format!("p{i}.{}@example.com", uuid::Uuid::new_v4().simple()), "name": format!("학생{i}")}});
        issued.insert(t.issue(&key, body).await["id"].as_str().unwrap().to_owned());
    }
    let (cookie, _) = sign_in(&t, &key).await;
    let mut path = "/console/awards".to_owned();
    let mut seen = Vec::new();
    for page in 0.. {
        assert!(page < 5, "{path}");
        let r = get(&t, &path, &cookie).await;
        assert_eq!(r.status, StatusCode::OK, "{path}");
        let html = r.text();
        let ids: Vec<String> = html
            .split("href=\"/console/awards/")
            .skip(1)
            .map(|s| s.split('"').next().unwrap().to_owned())
            .filter(|id| issued.contains(id))
            .collect();
        assert!(ids.len() <= 50, "{}", ids.len());
        seen.extend(ids);
        match html.split("href=\"/console/awards?").nth(1) {
            Some(rest) => {
                let q = rest.split('"').next().unwrap().replace("&amp;", "&");
                path = format!("/console/awards?{q}");
            }
            None => break,
        }
    }
    let unique: std::collections::HashSet<String> = seen.iter().cloned().collect();
    assert_eq!(seen.len(), 120, "each award once");
    assert_eq!(unique, issued);
}

/// The issue form sent, its answer lost, then changed and sent again: the first send issued an
/// award; the page says so (in Korean on a Korean page) and gives the form a new key, so sending
/// it once more issues the award now typed — never stuck on "key reused".
#[tokio::test]
async fn an_issue_form_sent_again_with_other_values_is_not_stuck() {
    let t = spawn_app().await;
    let (_, key) = t.issuer("콘솔대학").await;
    let tpl = t.create_template(&key, template_body("양식 배지")).await;
    let tid = tpl["id"].as_str().unwrap();
    let (cookie, csrf) = sign_in(&t, &key).await;
    let send = |name: &'static str, idem: String| {
        let (cookie, csrf) = (cookie.clone(), csrf.clone());
        let t = &t;
        async move {
            let fields = [
                ("_csrf", csrf.as_str()),
                ("_idem", idem.as_str()),
                ("template_id", tid),
                ("recipient.email", "form@example.com"),
                ("recipient.name", name),
            ];
            post_form(t, "/console/issue", Some(&cookie), &fields, &[]).await
        }
    };
    let first = send("김민수", "form-1".into()).await;
    assert_eq!(first.status, StatusCode::SEE_OTHER, "{}", first.text());
    let changed = send("김민수 (수정)", "form-1".into()).await;
    assert_eq!(changed.status, StatusCode::UNPROCESSABLE_ENTITY);
    let page = changed.text();
    assert!(page.contains("이미 발급되었습니다"), "{page}");
    let fresh = page
        .split("name=\"_idem\" value=\"")
        .nth(1)
        .and_then(|s| s.split('"').next())
        .unwrap()
        .to_owned();
    assert_ne!(fresh, "form-1", "a new key");
    let again = send("김민수 (수정)", fresh).await;
    assert_eq!(again.status, StatusCode::SEE_OTHER, "{}", again.text());
    let listed = t
        .call(
            "GET",
            "/v1/awards?recipient=form@example.com",
            Some(&key),
            None,
        )
        .await
        .json();
    assert_eq!(listed["data"].as_array().unwrap().len(), 2, "{listed:#}");
}
