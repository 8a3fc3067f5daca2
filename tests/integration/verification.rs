//! Issue #3, public side: the badge page, Open Badges JSON, status, privacy, escaping, views.

use accolade::{
    domain::ids::{AwardId, TemplateId},
    store::counters::Counter,
};
use accolade_tests::{spawn_app, template_body, StatusCode, TestApp};
use serde_json::{json, Value};
use sha2::{Digest, Sha256};

async fn setup(t: &TestApp, issuer_patch: Option<Value>) -> (String, Value) {
    let (_, key) = t.issuer("한빛대학교").await;
    if let Some(p) = issuer_patch {
        let r = t.call("PATCH", "/v1/issuer", Some(&key), Some(p)).await;
        assert_eq!(r.status, StatusCode::OK, "{}", r.text());
    }
    let mut body = template_body("데이터 분석 기초");
    body["validity"] = json!({"kind": "days_after_issue", "days": 365});
    let tpl = t.create_template(&key, body).await;
    (key, tpl)
}

#[tokio::test]
async fn valid_award_page_and_open_badges_documents() {
    let t = spawn_app().await;
    let (key, tpl) = setup(&t, Some(json!({"linkedin_organization_id": "9876543"}))).await;
    let email = "minsu.kim@example.com";
    let a = t
        .issue(&key, json!({"template_id": tpl["id"], "recipient": {"email": email, "name": "김민수"}, "narrative": "최종 프로젝트"}))
        .await;
    let id = a["id"].as_str().unwrap();
    let page = t.browse(&format!("/b/{id}")).await;
    assert_eq!(page.status, StatusCode::OK);
    assert_eq!(
        page.header("content-type"),
        Some("text/html; charset=utf-8")
    );
    let csp = page.header("content-security-policy").unwrap();
    assert!(csp.contains("default-src 'none'") && csp.contains("frame-ancestors 'none'"));
    assert_eq!(
        page.header("strict-transport-security"),
        Some("max-age=31536000")
    );
    let html = page.text();
    assert!(html.contains("<html lang=\"ko\">"));
    assert!(html.contains("유효한 배지"), "status banner");
    assert!(
        html.contains("데이터 분석 기초") && html.contains("김민수") && html.contains("한빛대학교")
    );
    assert!(html.contains("최종 프로젝트"));
    assert!(
        html.contains("property=\"og:title\"")
            && html.contains("property=\"og:image\"")
            && html.contains("name=\"twitter:card\"")
    );
    assert!(html.contains(&format!("/b/{id}/qr.svg")));
    assert!(
        html.contains(&format!("/b/{id}/go/linkedin-add")),
        "tracked add-to-profile link"
    );
    let li = t.browse(&format!("/b/{id}/go/linkedin-add")).await;
    let target = li.header("location").unwrap();
    assert!(
        target.starts_with("https://www.linkedin.com/profile/add?startTask=CERTIFICATION_NAME"),
        "{target}"
    );
    assert!(target.contains("organizationId=9876543"));
    assert!(!html.contains("<script src"), "no external scripts");
    assert!(!html.contains("fonts.googleapis"), "no external fonts");
    assert!(html.contains("alt=\""), "images have alt text");

    // OB 2.0 Assertion.
    let j = t.browse(&format!("/b/{id}.json")).await;
    assert_eq!(j.status, StatusCode::OK);
    assert_eq!(j.header("content-type"), Some("application/ld+json"));
    let v = j.json();
    assert_eq!(v["@context"], "https://w3id.org/openbadges/v2");
    assert_eq!(v["type"], "Assertion");
    assert_eq!(v["id"], format!("{}/b/{id}.json", t.base_url));
    assert_eq!(v["verification"]["type"], "hosted");
    assert_eq!(v["recipient"]["type"], "email");
    assert_eq!(v["recipient"]["hashed"], true);
    let salt = v["recipient"]["salt"].as_str().unwrap();
    let want = format!(
        "sha256${}",
        hex::encode(Sha256::digest(format!("{email}{salt}")))
    );
    assert_eq!(v["recipient"]["identity"], want);
    assert!(v.get("expires").is_some());
    // BadgeClass and Profile it points to.
    let bc = t
        .browse(&t.path_of(v["badge"].as_str().unwrap()))
        .await
        .json();
    assert_eq!(bc["type"], "BadgeClass");
    assert_eq!(bc["name"], "데이터 분석 기초");
    assert_eq!(
        bc["criteria"]["narrative"],
        "Attend 80% and pass the final project."
    );
    let prof = t
        .browse(&t.path_of(bc["issuer"].as_str().unwrap()))
        .await
        .json();
    assert_eq!(prof["type"], "Issuer");
    assert_eq!(prof["name"], "한빛대학교");
    let img = t.browse(&t.path_of(bc["image"].as_str().unwrap())).await;
    assert_eq!(img.status, StatusCode::OK);
}

#[tokio::test]
async fn revoked_award_shows_reason_on_page_and_json() {
    let t = spawn_app().await;
    let (key, tpl) = setup(&t, Some(json!({"default_locale": "en"}))).await;
    let a = t.issue(&key, json!({"template_id": tpl["id"], "recipient": {"email": "r@example.com", "name": "Rae"}})).await;
    let id = a["id"].as_str().unwrap();
    t.call(
        "POST",
        &format!("/v1/awards/{id}/revoke"),
        Some(&key),
        Some(json!({"reason": "Issued to the wrong person"})),
    )
    .await;
    let html = t.browse(&format!("/b/{id}")).await.text();
    assert!(
        html.contains("Revoked: Issued to the wrong person"),
        "{html}"
    );
    assert!(
        !html.contains("Add to LinkedIn profile"),
        "no sharing of a revoked badge"
    );
    let v = t.browse(&format!("/b/{id}.json")).await.json();
    assert_eq!(v["revoked"], true);
    assert_eq!(v["revocationReason"], "Issued to the wrong person");
    assert_eq!(v["id"], format!("{}/b/{id}.json", t.base_url));
    assert!(v.get("recipient").is_none());
}

#[tokio::test]
async fn expired_award_says_so_in_both_languages() {
    let t = spawn_app().await;
    let (key, tpl) = setup(&t, None).await;
    let ko = t
        .issue(&key, json!({"template_id": tpl["id"], "recipient": {"email": "e@example.com", "name": "E"}, "issued_on": "2020-01-01", "expires_on": "2021-01-01"}))
        .await;
    let en = t
        .issue(&key, json!({"template_id": tpl["id"], "recipient": {"email": "f@example.com", "name": "F"}, "issued_on": "2020-01-01", "expires_on": "2021-01-01", "locale": "en"}))
        .await;
    let ko_html = t
        .browse(&format!("/b/{}", ko["id"].as_str().unwrap()))
        .await
        .text();
    assert!(ko_html.contains("2021년 1월 1일에 만료됨"), "{ko_html}");
    let en_html = t
        .browse(&format!("/b/{}", en["id"].as_str().unwrap()))
        .await
        .text();
    assert!(en_html.contains("Expired on January 1, 2021"));
    assert!(en_html.contains("<html lang=\"en\">"));
    let v = t
        .browse(&format!("/b/{}.json", ko["id"].as_str().unwrap()))
        .await
        .json();
    assert_eq!(v["expires"], "2020-12-31T15:00:00Z");
    let api = t
        .call(
            "GET",
            &format!("/v1/awards/{}", ko["id"].as_str().unwrap()),
            Some(&key),
            None,
        )
        .await
        .json();
    assert_eq!(api["status"], "expired");
}

#[tokio::test]
async fn names_are_masked_when_the_issuer_asks() {
    let t = spawn_app().await;
    let (key, tpl) = setup(&t, Some(json!({"mask_recipient_names": true}))).await;
    for (name, masked) in [("김민수", "김*수"), ("John Smith", "J*** S****")] {
        let a = t.issue(&key, json!({"template_id": tpl["id"], "recipient": {"email": "m@example.com", "name": name}})).await;
        let html = t
            .browse(&format!("/b/{}", a["id"].as_str().unwrap()))
            .await
            .text();
        assert!(html.contains(masked), "{masked}");
        assert!(!html.contains(name), "{name} must not appear");
    }
}

#[tokio::test]
async fn the_email_appears_on_no_public_url() {
    let t = spawn_app().await;
    let (key, tpl) = setup(&t, None).await;
    let email = "private.person@secret-domain.example";
    let a = t
        .issue(&key, json!({"template_id": tpl["id"], "recipient": {"email": email, "name": "P"}, "evidence": [{"narrative": "n"}]}))
        .await;
    let id = a["id"].as_str().unwrap();
    let tid = tpl["id"].as_str().unwrap();
    let bc = t.browse(&format!("/templates/{tid}.json")).await.json();
    let issuer_path = t.path_of(bc["issuer"].as_str().unwrap());
    for path in [
        format!("/b/{id}"),
        format!("/b/{id}.json"),
        format!("/b/{id}/qr.svg"),
        format!("/templates/{tid}.json"),
        format!("/templates/{tid}/image"),
        issuer_path,
    ] {
        let r = t.browse(&path).await;
        assert_eq!(r.status, StatusCode::OK, "{path}");
        let body = r.text().to_lowercase();
        assert!(
            !body.contains("private.person") && !body.contains("secret-domain"),
            "{path} leaks the email"
        );
    }
}

#[tokio::test]
async fn hostile_text_comes_out_escaped() {
    let t = spawn_app().await;
    let (_, key) = t.issuer("<b>Evil U</b>").await;
    let xss = "<script>alert('x')</script>";
    let attr = "\"><img src=x onerror=alert(1)>";
    let tpl = t
        .create_template(
            &key,
            json!({"name": format!("Badge {xss}"), "description": format!("Desc {attr}"), "criteria": {"narrative": format!("Crit {xss}")}, "skills": [attr]}),
        )
        .await;
    let a = t
        .issue(&key, json!({"template_id": tpl["id"], "recipient": {"email": "x@example.com", "name": format!("Name {attr}")}, "narrative": format!("Narr {xss}"), "evidence": [{"narrative": xss}]}))
        .await;
    let html = t
        .browse(&format!("/b/{}", a["id"].as_str().unwrap()))
        .await
        .text();
    assert!(!html.contains("<script>alert"), "script tag injected");
    assert!(!html.contains("<img src=x"), "attribute breakout");
    assert!(!html.contains("<b>Evil"), "issuer name not escaped");
    assert!(html.contains("&lt;script&gt;alert"));
    assert!(
        html.contains("&quot;&gt;&lt;img src=x onerror=alert(1)&gt;")
            || html.contains("\"&gt;&lt;img")
    );
    let svg = t
        .browse(&format!("/templates/{}/image", tpl["id"].as_str().unwrap()))
        .await
        .text();
    assert!(!svg.contains("<script>"));
}

#[tokio::test]
async fn unknown_and_malformed_ids_get_friendly_404s() {
    let t = spawn_app().await;
    let (badge, page) = ("배지를 찾을 수 없습니다", "페이지를 찾을 수 없습니다");
    for (path, title) in [
        ("/b/AAAAAAAAAAAAAAAAAAAAAA", badge),
        ("/b/short", badge),
        ("/b/..%2F..%2Fetc", badge),
        ("/b/%3Cscript%3E", badge),
        ("/templates/tpl_x/image", badge),
        // A path that is no route does not speak of a badge.
        ("/nothing", page),
        ("/b", page),
    ] {
        let r = t.browse(path).await;
        assert_eq!(r.status, StatusCode::NOT_FOUND, "{path}");
        assert!(
            r.header("content-type").unwrap().starts_with("text/html"),
            "{path}"
        );
        let text = r.text();
        assert!(text.contains(title), "{path}");
        assert!(title == badge || !text.contains(badge), "{path}");
    }
    let r = t
        .call_with(
            "GET",
            "/b/AAAAAAAAAAAAAAAAAAAAAA",
            None,
            None,
            &[("accept-language", "en-US,en;q=0.9")],
        )
        .await;
    assert!(r.text().contains("<html lang=\"en\">"));
    for path in [
        "/b/AAAAAAAAAAAAAAAAAAAAAA.json",
        "/issuers/iss_AAAAAAAAAAAAAAAAAAAAAA.json",
        "/templates/tpl_AAAAAAAAAAAAAAAAAAAAAA.json",
        "/issuers/nope.json",
    ] {
        let r = t.browse(path).await;
        assert_eq!(r.status, StatusCode::NOT_FOUND, "{path}");
        assert_eq!(r.json()["error"]["code"], "not_found", "{path}");
        // A browser-based verifier reads the error, not a CORS failure.
        assert_eq!(r.header("access-control-allow-origin"), Some("*"), "{path}");
    }
}

#[tokio::test]
async fn page_views_and_bot_previews_are_counted_apart() {
    let t = spawn_app().await;
    let (key, tpl) = setup(&t, None).await;
    let a = t
        .issue(
            &key,
            json!({"template_id": tpl["id"], "recipient": {"email": "v@example.com", "name": "V"}}),
        )
        .await;
    let id = a["id"].as_str().unwrap();
    for _ in 0..3 {
        t.browse(&format!("/b/{id}")).await;
    }
    for ua in [
        "LinkedInBot/1.0 (compatible; Mozilla/5.0; Apache-HttpClient +http://www.linkedin.com)",
        "Slackbot-LinkExpanding 1.0 (+https://api.slack.com/robots)",
    ] {
        t.call_with(
            "GET",
            &format!("/b/{id}"),
            None,
            None,
            &[("user-agent", ua)],
        )
        .await;
    }
    // JSON and QR fetches are not page views.
    t.browse(&format!("/b/{id}.json")).await;
    t.browse(&format!("/b/{id}/qr.svg")).await;
    let aid = AwardId::parse(id).unwrap();
    let tid = TemplateId::parse(tpl["id"].as_str().unwrap()).unwrap();
    let store = &t.app.store;
    assert_eq!(store.award_counter(&aid, Counter::Views).await.unwrap(), 3);
    // The template's day item has them once the stream is rolled up.
    t.roll_up().await;
    assert_eq!(
        store.award_counter(&aid, Counter::Previews).await.unwrap(),
        2
    );
    let today = chrono_tz::Asia::Seoul;
    let day = chrono::Utc::now().with_timezone(&today).date_naive();
    assert_eq!(
        store
            .daily_counter(&tid, day, Counter::Views)
            .await
            .unwrap(),
        3
    );
    assert_eq!(
        store
            .daily_counter(&tid, day, Counter::Previews)
            .await
            .unwrap(),
        2
    );
}

/// What another site or the browser's speculation makes a visitor's browser fetch is not a view,
/// a click or a share: another site's `<img>` of the page or of a tracked link, a prefetch (a
/// preview at most), a share "reported" from another site. A link followed from another site is
/// a view, and the page's own share report counts.
#[tokio::test]
async fn only_a_persons_own_visits_count() {
    let t = spawn_app().await;
    let (key, tpl) = setup(&t, None).await;
    let to = accolade_tests::unique_email("fetch");
    let body = json!({"template_id": tpl["id"], "recipient": {"email": to, "name": "V"}});
    let id = t.issue(&key, body).await["id"].as_str().unwrap().to_owned();
    let ua = (
        "user-agent",
        "Mozilla/5.0 (Windows NT 10.0) Chrome/131.0 Safari/537.36",
    );
    let get = |path: String, headers: Vec<(&'static str, &'static str)>| {
        let t = &t;
        async move {
            let mut all = vec![ua];
            all.extend(headers);
            t.call_with("GET", &path, None, None, &all).await.status
        }
    };
    let from_img = vec![
        ("sec-fetch-dest", "image"),
        ("sec-fetch-site", "cross-site"),
    ];
    let prefetch = vec![("sec-purpose", "prefetch"), ("sec-fetch-dest", "document")];
    let followed = vec![
        ("sec-fetch-dest", "document"),
        ("sec-fetch-site", "cross-site"),
    ];
    let own_report = vec![
        ("sec-fetch-dest", "image"),
        ("sec-fetch-site", "same-origin"),
    ];
    assert_eq!(
        get(format!("/b/{id}"), from_img.clone()).await,
        StatusCode::OK
    );
    assert_eq!(
        get(format!("/b/{id}"), prefetch.clone()).await,
        StatusCode::OK
    );
    assert_eq!(
        get(format!("/b/{id}"), followed.clone()).await,
        StatusCode::OK
    );
    let share = format!("/b/{id}/go/share-copy");
    assert_eq!(
        get(share.clone(), from_img.clone()).await,
        StatusCode::NO_CONTENT
    );
    assert_eq!(get(share, own_report).await, StatusCode::NO_CONTENT);
    let linkedin = format!("/b/{id}/go/share-linkedin");
    assert_eq!(get(linkedin.clone(), from_img).await, StatusCode::FOUND);
    assert_eq!(get(linkedin.clone(), prefetch).await, StatusCode::FOUND);
    assert_eq!(get(linkedin, followed).await, StatusCode::FOUND);
    let aid = AwardId::parse(&id).unwrap();
    let c = t.app.store.award_counters(&aid).await.unwrap();
    assert_eq!(c.get("views"), Some(&1), "{c:?}");
    assert_eq!(c.get("previews"), Some(&1), "{c:?}");
    assert_eq!(c.get("share:copy"), Some(&1), "{c:?}");
    assert_eq!(c.get("share:linkedin"), Some(&1), "{c:?}");
    assert_eq!(c.get("clicks"), Some(&2), "{c:?}");
}

#[tokio::test]
async fn concurrent_views_are_counted_exactly() {
    let t = spawn_app().await;
    let (key, tpl) = setup(&t, None).await;
    let a = t
        .issue(
            &key,
            json!({"template_id": tpl["id"], "recipient": {"email": "c@example.com", "name": "C"}}),
        )
        .await;
    let id = a["id"].as_str().unwrap().to_owned();
    let mut set = tokio::task::JoinSet::new();
    for _ in 0..25 {
        let router = t.router.clone();
        let id = id.clone();
        set.spawn(async move {
            use tower::ServiceExt;
            let req = axum::http::Request::builder()
                .uri(format!("/b/{id}"))
                .header("user-agent", "Mozilla/5.0 (iPhone) Safari/604.1")
                .body(axum::body::Body::empty())
                .unwrap();
            router.oneshot(req).await.unwrap().status()
        });
    }
    assert!(set.join_all().await.iter().all(|s| *s == StatusCode::OK));
    let aid = AwardId::parse(&id).unwrap();
    assert_eq!(
        t.app
            .store
            .award_counter(&aid, Counter::Views)
            .await
            .unwrap(),
        25
    );
}

/// A view whose counting write DynamoDB keeps refusing (one hot badge throttled) does not hold
/// the page for seconds: one attempt and one retry, none by the SDK, then the page is served
/// uncounted.
#[tokio::test]
async fn a_view_count_throttled_for_good_gives_up_after_one_retry_and_serves_the_page() {
    let t = spawn_app().await;
    let (_, _, a) = t.one_award().await;
    let path = format!("/b/{}", a["id"].as_str().unwrap());
    assert_eq!(t.browse(&path).await.status, StatusCode::OK);
    t.faults().arm_at_nth(
        "dynamodb.UpdateItem",
        0,
        1_000,
        infra::metering::Fault::Throttle,
    );
    t.requests.reset();
    assert_eq!(t.browse(&path).await.status, StatusCode::OK);
    let seen = t.requests.snapshot();
    assert_eq!(t.requests.get("dynamodb.UpdateItem"), 2, "{seen:?}");
    t.faults().arm_at(0, None);
    t.requests.reset();
    assert_eq!(t.browse(&path).await.status, StatusCode::OK);
    assert_eq!(
        t.requests.get("dynamodb.UpdateItem"),
        1,
        "counted again once it can be"
    );
}

#[tokio::test]
async fn a_badge_page_costs_one_read_and_one_write() {
    let t = spawn_app().await;
    let (key, tpl) = setup(&t, None).await;
    let a = t
        .issue(
            &key,
            json!({"template_id": tpl["id"], "recipient": {"email": "o@example.com", "name": "O"}}),
        )
        .await;
    let path = format!("/b/{}", a["id"].as_str().unwrap());
    // Cold (verify's first request): the award and, at the same time, the catalogue (issuer and
    // template among it) into the warm cache, then the counting write.
    t.requests.reset();
    assert_eq!(t.browse(&path).await.status, StatusCode::OK);
    let seen = t.requests.snapshot();
    assert_eq!(t.requests.get("dynamodb.GetItem"), 1, "{seen:?}");
    assert_eq!(t.requests.get("dynamodb.Query"), 1, "{seen:?}");
    assert_eq!(t.requests.get("dynamodb.UpdateItem"), 1, "{seen:?}");
    assert_eq!(t.requests.total(), 3, "{seen:?}");
    // Warm: exactly one read and one write (the award's counters; the day items follow from
    // the stream), the first view included.
    for _ in 0..3 {
        t.requests.reset();
        assert_eq!(t.browse(&path).await.status, StatusCode::OK);
        let seen = t.requests.snapshot();
        assert_eq!(t.requests.get("dynamodb.GetItem"), 1, "{seen:?}");
        assert_eq!(t.requests.get("dynamodb.UpdateItem"), 1, "{seen:?}");
        assert_eq!(t.requests.total(), 2, "{seen:?}");
    }
    // The Open Badges JSON: one read, no writes.
    t.requests.reset();
    t.browse(&format!("{path}.json")).await;
    assert_eq!(t.requests.total(), 1, "{:?}", t.requests.snapshot());
    // As DynamoDB bills them: half a read unit (an eventually consistent read of an award under
    // 4 KB) and one write unit (the counters item stays under 1 KB, in no index).
    t.request_units().await;
    assert_eq!(t.browse(&path).await.status, StatusCode::OK);
    let units = t.request_units().await;
    assert_eq!(units["GetItem"]["rru"], 0.5, "{units}");
    assert_eq!(units["UpdateItem"]["wru"], 1, "{units}");
    assert_eq!(units["UpdateItem"]["index_wru"], 0, "{units}");
    assert_eq!(units.as_object().map(|o| o.len()), Some(2), "{units}");
    // The same browser again today (its `seen` cookie): one read, nothing written.
    let first = t.browse(&path).await;
    let seen = first
        .header("set-cookie")
        .expect("a counted view leaves its day")
        .to_owned();
    let cookie = seen.split(';').next().unwrap().to_owned();
    t.requests.reset();
    let again = t
        .call_with(
            "GET",
            &path,
            None,
            None,
            &[("user-agent", BROWSER), ("cookie", &cookie)],
        )
        .await;
    assert_eq!(again.status, StatusCode::OK);
    assert_eq!(again.header("set-cookie"), None);
    assert_eq!(t.requests.total(), 1, "{:?}", t.requests.snapshot());
}

const BROWSER: &str = "Mozilla/5.0 (Macintosh; Intel Mac OS X 14_0) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.0 Safari/605.1.15";

/// A person's view counts once a day per browser: a reload or a second look the same day brings
/// back the `seen` cookie the first left (the day, in the issuer's zone; the badge's path only);
/// another day's, or another browser, counts again.
#[tokio::test]
async fn a_browser_counts_one_view_a_day_of_a_badge() {
    let t = spawn_app().await;
    let (key, tpl) = setup(&t, None).await;
    let issue = |email: &'static str| {
        let (t, key, tpl) = (&t, key.clone(), tpl["id"].clone());
        async move {
            let body = json!({"template_id": tpl, "recipient": {"email": email, "name": "S"}});
            t.issue(&key, body).await["id"].as_str().unwrap().to_owned()
        }
    };
    let (id, other) = (
        issue("seen1@example.com").await,
        issue("seen2@example.com").await,
    );
    let view = |path: String, cookie: Option<String>| {
        let t = &t;
        async move {
            let mut h = vec![("user-agent", BROWSER.to_owned())];
            h.extend(cookie.map(|c| ("cookie", c)));
            let h: Vec<(&str, &str)> = h.iter().map(|(k, v)| (*k, v.as_str())).collect();
            t.call_with("GET", &path, None, None, &h).await
        }
    };
    let seoul = || {
        chrono::Utc::now()
            .with_timezone(&chrono_tz::Asia::Seoul)
            .format("%Y-%m-%d")
            .to_string()
    };
    let before = seoul();
    let first = view(format!("/b/{id}"), None).await;
    let set = first
        .header("set-cookie")
        .expect("the day it was counted")
        .to_owned();
    let today = set
        .strip_prefix("seen=")
        .and_then(|s| s.split(';').next())
        .unwrap_or_default()
        .to_owned();
    assert!(today == before || today == seoul(), "{set}");
    assert!(
        set.starts_with(&format!("seen={today}; Path=/b/{id};")),
        "{set}"
    );
    assert!(set.contains("HttpOnly") && set.contains("Secure"), "{set}");
    assert_eq!(first.header("cache-control"), Some("private, no-cache"));
    let cookie = format!("lang=ko; seen={today}");
    for _ in 0..3 {
        assert_eq!(
            view(format!("/b/{id}"), Some(cookie.clone())).await.status,
            StatusCode::OK
        );
    }
    view(format!("/b/{id}"), Some("seen=2020-01-01".into())).await;
    view(format!("/b/{id}"), None).await;
    // Another badge's page is another count (a browser sends the cookie only on its path).
    view(format!("/b/{other}"), None).await;
    let views = |id: String| {
        let t = &t;
        async move {
            let aid = AwardId::parse(&id).unwrap();
            t.app
                .store
                .award_counter(&aid, Counter::Views)
                .await
                .unwrap()
        }
    };
    assert_eq!(
        views(id).await,
        3,
        "the first, yesterday's cookie, no cookie"
    );
    assert_eq!(views(other).await, 1);
}
