//! Issue #5: recommendations, banner and enrolment on the badge page; tracked clicks; no open
//! redirect.

use accolade::domain::ids::{AwardId, TemplateId};
use accolade_tests::{
    edited_template, spawn_app, spawn_app_with, template_body, FunctionName, StatusCode, TestApp,
};
use serde_json::{json, Value};

struct Shop {
    key: String,
    main: Value,
    next: Value,
    other: Value,
    award: String,
}

async fn shop(t: &TestApp) -> Shop {
    let (_, key) = t.issuer("한빛대학교").await;
    let next = t
        .create_template(&key, template_body("데이터 분석 심화"))
        .await;
    let other = t.create_template(&key, template_body("SQL 실무")).await;
    let mut body = template_body("데이터 분석 기초");
    body["related"] = json!([
        {"template_id": next["id"], "label": "다음 단계", "enabled": true},
        {"template_id": other["id"], "label": "관련 과정"},
    ]);
    body["banner"] = json!({"image": {"kind": "url", "url": "https://univ.example.ac.kr/b.png"}, "alt": "봄학기 모집", "target_url": "https://univ.example.ac.kr/admissions", "enabled": true});
    body["enrolment"] = json!({"program_type": "교육 프로그램", "program_name": "심화 과정", "program_url": "https://univ.example.ac.kr/enrol", "period": "12주"});
    let main = t.create_template(&key, body).await;
    let a = t.issue(&key, json!({"template_id": main["id"], "recipient": {"email": "s@example.com", "name": "S"}})).await;
    Shop {
        key,
        main,
        next,
        other,
        award: a["id"].as_str().unwrap().to_owned(),
    }
}

fn pos(html: &str, needle: &str) -> usize {
    html.find(needle)
        .unwrap_or_else(|| panic!("`{needle}` not on the page"))
}

#[tokio::test]
async fn recommendations_banner_and_enrolment_render_in_order_and_state() {
    let t = spawn_app().await;
    let s = shop(&t).await;
    let html = t.browse(&format!("/b/{}", s.award)).await.text();
    let next_link = format!(
        "/b/{}/go/related-{}",
        s.award,
        s.next["id"].as_str().unwrap()
    );
    let other_link = format!(
        "/b/{}/go/related-{}",
        s.award,
        s.other["id"].as_str().unwrap()
    );
    let p_recs = pos(&html, "다음 추천 과정");
    let p_next = pos(&html, &next_link);
    let p_other = pos(&html, &other_link);
    let p_banner = pos(&html, &format!("/b/{}/go/banner", s.award));
    let p_enrol = pos(&html, &format!("/b/{}/go/enrol", s.award));
    assert!(
        p_recs < p_next && p_next < p_other && p_other < p_banner && p_banner < p_enrol,
        "order: recommendations, banner, enrolment"
    );
    assert!(
        html.contains("다음 단계")
            && html.contains("데이터 분석 심화")
            && html.contains("봄학기 모집")
            && html.contains("12주")
    );
    // No outbound link on the page bypasses /go.
    for raw in [
        "https://univ.example.ac.kr/admissions",
        "https://univ.example.ac.kr/enrol",
        "linkedin.com/profile/add",
        "facebook.com/sharer",
    ] {
        assert!(
            !html.contains(&format!("href=\"{raw}")),
            "{raw} linked directly"
        );
    }

    // Reorder and toggle: the other first, the next switched off, banner off, enrolment off.
    let path = format!("/v1/templates/{}", s.main["id"].as_str().unwrap());
    let r = t
        .call("PATCH", &path, Some(&s.key), Some(json!({
            "related": [{"template_id": s.other["id"], "label": "관련 과정"}, {"template_id": s.next["id"], "enabled": false}],
            "banner": {"enabled": false},
            "enrolment": {"enabled": false},
        })))
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text());
    let html = t
        .browse_until(&format!("/b/{}", s.award), |r| {
            !r.text().contains(&next_link)
        })
        .await
        .text();
    assert!(html.contains(&other_link));
    assert!(!html.contains(&next_link), "switched off");
    assert!(
        !html.contains("/go/banner") && !html.contains("/go/enrol"),
        "switched off"
    );
    // A switched-off slot no longer redirects.
    assert_eq!(
        t.browse(&format!("/b/{}/go/enrol", s.award)).await.status,
        StatusCode::NOT_FOUND
    );
    assert_eq!(t.browse(&next_link).await.status, StatusCode::NOT_FOUND);

    // An archived recommendation is hidden, not broken.
    t.call(
        "DELETE",
        &format!("/v1/templates/{}", s.other["id"].as_str().unwrap()),
        Some(&s.key),
        None,
    )
    .await;
    let html = t
        .browse_until(&format!("/b/{}", s.award), |r| {
            !r.text().contains(&other_link)
        })
        .await
        .text();
    assert!(!html.contains(&other_link));
    assert!(!html.contains("다음 추천 과정"));
    assert_eq!(t.browse(&other_link).await.status, StatusCode::NOT_FOUND);
}

/// A cold Lambda's badge page with two recommendations: the award and the catalogue (every
/// issuer and template) in two reads made at once, then only the counting write: three requests,
/// where a warm page makes two (issue #15). In DynamoDB the two reads overlap.
#[tokio::test]
async fn a_cold_badge_page_reads_the_catalogue_beside_the_award_and_nothing_after() {
    let t = spawn_app().await;
    let s = shop(&t).await;
    t.requests.reset();
    let html = t.browse(&format!("/b/{}", s.award)).await.text();
    let seen = t.requests.snapshot();
    assert_recommends(&html, &s);
    assert_eq!(t.requests.get("dynamodb.GetItem"), 1, "{seen:?}");
    assert_eq!(t.requests.get("dynamodb.Query"), 1, "{seen:?}");
    assert_eq!(t.requests.get("dynamodb.UpdateItem"), 1, "{seen:?}");
    assert_eq!(t.requests.total(), 3, "{seen:?}");
    // Then warm: the award and the counting write; the catalogue is not read again.
    t.requests.reset();
    t.browse(&format!("/b/{}", s.award)).await;
    assert_eq!(t.requests.total(), 2, "{:?}", t.requests.snapshot());
}

fn assert_recommends(html: &str, s: &Shop) {
    for rec in [&s.next, &s.other] {
        let link = format!("/b/{}/go/related-{}", s.award, rec["id"].as_str().unwrap());
        assert!(html.contains(&link), "{link} on the cold page");
    }
}

/// The catalogue read is only a saving: when it fails (throttled: it is made once, not retried
/// while the page waits), the cold page reads its issuer and template, then its recommended
/// templates, by key, as a warm Lambda does once its cache entries expire.
#[tokio::test]
async fn a_cold_page_whose_catalogue_read_fails_reads_its_page_data_by_key() {
    let t = spawn_app().await;
    let s = shop(&t).await;
    t.faults().arm("Query", 1);
    t.requests.reset();
    let r = t.browse(&format!("/b/{}", s.award)).await;
    let seen = t.requests.snapshot();
    assert_eq!(r.status, StatusCode::OK);
    assert_recommends(&r.text(), &s);
    assert_eq!(t.faults().remaining("Query"), 0, "the catalogue was read");
    assert_eq!(t.requests.get("dynamodb.Query"), 1, "not retried: {seen:?}");
    assert_eq!(t.requests.get("dynamodb.BatchGetItem"), 2, "{seen:?}");
    assert_eq!(t.requests.total(), 5, "{seen:?}");
}

/// The recommended templates' read failing past the SDK's retries (3 throttles in a row) leaves
/// them off the page; the badge and its status, what a recruiter came for, are served.
#[tokio::test]
async fn a_page_whose_recommendations_cannot_be_read_is_served_without_them() {
    let t = spawn_app().await;
    let s = shop(&t).await;
    // The catalogue read fails, so the page reads by key: its award's issuer and template, then
    // the recommended templates (the second BatchGetItem), throttled three times.
    t.faults().arm("Query", 1);
    t.faults().arm_at_nth(
        "dynamodb.BatchGetItem",
        1,
        3,
        infra::metering::Fault::Throttle,
    );
    let r = t.browse(&format!("/b/{}", s.award)).await;
    assert!(t.faults().fired().is_some(), "{:?}", t.faults().calls());
    assert_eq!(r.status, StatusCode::OK, "{}", r.text());
    let html = r.text();
    assert!(!html.contains("/go/related-"), "no recommendations");
    assert!(html.contains(s.award.as_str()), "the badge's page");
}

/// A slow catalogue does not hold a cold page: once its award is here the page waits for the
/// catalogue only `CATALOGUE_WAIT_MS` more (here 50 ms; the Query is held until the page is
/// served), then reads its page data by key. The catalogue read goes on, is not made again, and
/// fills the caches: a page of another template after it reads only its award.
#[tokio::test]
async fn a_slow_catalogue_does_not_hold_a_cold_page_and_fills_the_caches_when_it_comes() {
    let verify = "unsubscribe (no auth)\n      Environment:\n        Variables:\n";
    let edited = format!("{verify}          CATALOGUE_WAIT_MS: \"50\"\n");
    let t = spawn_app_with(edited_template(verify, &edited)).await;
    let s = shop(&t).await;
    // A template page A neither shows nor recommends (so only the catalogue brings it).
    let alone = t.create_template(&s.key, template_body("경영 기초")).await;
    let other = t.issue(&s.key, json!({"template_id": alone["id"], "recipient": {"email": "o@example.com", "name": "O"}})).await;
    t.holds().hold("Query");
    t.requests.reset();
    // The catalogue's entries are kept as read when its Query was sent, at or after this.
    let sent = std::time::Instant::now();
    // Were the page to wait for the held read, it would never answer: fail instead of hanging.
    let path = format!("/b/{}", s.award);
    let page = t.browse(&path);
    let r = tokio::time::timeout(std::time::Duration::from_secs(120), page)
        .await
        .expect("the page does not wait for the catalogue");
    let seen = t.requests.snapshot();
    assert_eq!(r.status, StatusCode::OK);
    assert_recommends(&r.text(), &s);
    assert_eq!(t.requests.get("dynamodb.Query"), 1, "{seen:?}");
    assert_eq!(
        t.requests.get("dynamodb.BatchGetItem"),
        2,
        "by key: {seen:?}"
    );
    assert_eq!(t.requests.total(), 5, "{seen:?}");
    t.holds().release("Query");
    let verify = t.lambda.function(FunctionName::Verify).app().clone();
    verify.catalogue_read().await;
    t.requests.reset();
    let r = t
        .browse(&format!("/b/{}", other["id"].as_str().unwrap()))
        .await;
    assert_eq!(r.status, StatusCode::OK);
    let seen = t.requests.snapshot();
    assert_eq!(t.requests.get("dynamodb.Query"), 0, "read once: {seen:?}");
    if sent.elapsed() < accolade::app::PAGE_DATA_TTL {
        assert_eq!(
            t.requests.total(),
            2,
            "the award and the counting write: {seen:?}"
        );
    } else {
        // A machine so busy that the entries had expired by now (PAGE_DATA_TTL from the
        // Query's sending): the template is read again by key, nothing else.
        assert_eq!(t.requests.total(), 3, "{seen:?}");
    }
}

/// A template the catalogue does not hold (written before the index existed, and not since) is
/// read by its key: the page is the same.
#[tokio::test]
async fn a_template_missing_from_the_catalogue_is_read_by_key() {
    let t = spawn_app().await;
    let s = shop(&t).await;
    let pk = format!("TEMPLATE#{}", s.next["id"].as_str().unwrap());
    remove_catalogue_keys(&t, pk, "TEMPLATE").await;
    t.requests.reset();
    let html = t.browse(&format!("/b/{}", s.award)).await.text();
    let seen = t.requests.snapshot();
    assert_recommends(&html, &s);
    assert_eq!(t.requests.get("dynamodb.Query"), 1, "{seen:?}");
    assert_eq!(t.requests.get("dynamodb.BatchGetItem"), 0, "{seen:?}");
    assert_eq!(
        t.requests.get("dynamodb.GetItem"),
        2,
        "the award, then the template: {seen:?}"
    );
    assert_eq!(t.requests.total(), 4, "{seen:?}");
}

/// After an upgrade, `infra index-catalogue` adds what older releases wrote (no catalogue keys)
/// and leaves what is there; run again, it adds nothing. A cold page then finds it all in the
/// catalogue.
#[tokio::test]
async fn indexing_the_catalogue_adds_what_older_releases_wrote_once() {
    let t = spawn_app().await;
    let s = shop(&t).await;
    let issuer = s.main["issuer_id"].as_str().unwrap();
    let next = s.next["id"].as_str().unwrap();
    for (pk, sk) in [
        (format!("ISSUER#{issuer}"), "ISSUER"),
        (format!("TEMPLATE#{next}"), "TEMPLATE"),
    ] {
        remove_catalogue_keys(&t, pk, sk).await;
    }
    let before = t.app.store.get_catalogue(100).await.unwrap();
    assert_eq!((before.issuers.len(), before.templates.len()), (0, 2));
    let done = t.app.store.index_catalogue().await.unwrap();
    assert_eq!((done.added, done.present, done.unreadable), (2, 2, 0));
    let again = t.app.store.index_catalogue().await.unwrap();
    assert_eq!((again.added, again.present, again.unreadable), (0, 4, 0));
    let after = t.app.store.get_catalogue(100).await.unwrap();
    assert_eq!((after.issuers.len(), after.templates.len()), (1, 3));
    assert!(after.complete);
    // Issuers sort first, and a read of part of it says so.
    let part = t.app.store.get_catalogue(2).await.unwrap();
    assert_eq!((part.issuers.len(), part.templates.len()), (1, 1));
    assert!(!part.complete);
    t.requests.reset();
    assert_recommends(&t.browse(&format!("/b/{}", s.award)).await.text(), &s);
    assert_eq!(t.requests.total(), 3, "{:?}", t.requests.snapshot());
}

async fn remove_catalogue_keys(t: &TestApp, pk: String, sk: &str) {
    use aws_sdk_dynamodb::types::AttributeValue::S;
    aws_sdk_dynamodb::Client::new(&t.sdk)
        .update_item()
        .table_name(&t.names.table)
        .key("PK", S(pk))
        .key("SK", S(sk.into()))
        .update_expression("REMOVE CATPK, CATSK")
        .send()
        .await
        .unwrap();
}

/// Callers that miss the page-data cache together (notify sends a batch's emails several at
/// once, and the entries expire for all of them at the same moment) make one read between them.
#[tokio::test]
async fn callers_that_miss_the_page_cache_together_make_one_read() {
    let t = spawn_app().await;
    let s = shop(&t).await;
    let app = t.app_of(FunctionName::Notify);
    let award = app
        .store
        .get_award(&AwardId::parse(&s.award).unwrap())
        .await;
    let award = award.unwrap().expect("the award");
    app.forget_issuer(&award.issuer_id);
    app.forget_template(&award.template_id);
    t.requests.reset();
    let reads = (0..8).map(|_| app.template_and_issuer(&award));
    let found = futures::future::join_all(reads).await;
    let seen = t.requests.snapshot();
    assert!(found.iter().all(|f| matches!(f, Ok(Some(_)))), "{found:?}");
    assert_eq!(t.requests.get("dynamodb.BatchGetItem"), 1, "{seen:?}");
    assert_eq!(t.requests.total(), 1, "{seen:?}");
}

#[tokio::test]
async fn every_slot_redirects_to_its_target_and_moves_exactly_its_counters() {
    let t = spawn_app().await;
    let s = shop(&t).await;
    let aid = AwardId::parse(&s.award).unwrap();
    let tid = TemplateId::parse(s.main["id"].as_str().unwrap()).unwrap();
    let next_id = s.next["id"].as_str().unwrap();
    let page = format!("{}/b/{}", t.base_url, s.award);
    let enc = |x: &str| accolade::urls::encode(x);
    let cases: Vec<(String, String)> = vec![
        (
            format!("related-{next_id}"),
            format!("{}/templates/{next_id}", t.base_url),
        ),
        (
            "banner".into(),
            "https://univ.example.ac.kr/admissions".into(),
        ),
        ("enrol".into(), "https://univ.example.ac.kr/enrol".into()),
        (
            "share-linkedin".into(),
            format!(
                "https://www.linkedin.com/sharing/share-offsite/?url={}",
                enc(&page)
            ),
        ),
        (
            "share-facebook".into(),
            format!(
                "https://www.facebook.com/sharer/sharer.php?u={}",
                enc(&page)
            ),
        ),
        (
            "share-x".into(),
            format!(
                "https://twitter.com/intent/tweet?url={}&text={}",
                enc(&page),
                enc("데이터 분석 기초")
            ),
        ),
        (
            "share-email".into(),
            format!(
                "mailto:?subject={}&body={}",
                enc("데이터 분석 기초"),
                enc(&format!("데이터 분석 기초\n{page}"))
            ),
        ),
    ];
    let day = chrono::Utc::now()
        .with_timezone(&chrono_tz::Asia::Seoul)
        .date_naive();
    // The shares the page's script reports (share sheet, copy link) lead nowhere: a 204.
    let reported = ["share-native", "share-copy"].map(|s| (s.to_owned(), None));
    let cases = cases.into_iter().map(|(s, t)| (s, Some(t))).chain(reported);
    // What the stream holds so far (the day-1 email, its mark counting it sent) first.
    t.roll_up().await;
    for (slot, target) in cases {
        let before = t.app.store.award_counters(&aid).await.unwrap();
        let before_day = t.app.store.daily_counters(&tid, day).await.unwrap();
        let r = t.browse(&format!("/b/{}/go/{slot}", s.award)).await;
        let status = match target {
            Some(_) => StatusCode::FOUND,
            None => StatusCode::NO_CONTENT,
        };
        assert_eq!(r.status, status, "{slot}");
        assert_eq!(r.header("location"), target.as_deref(), "{slot}");
        t.roll_up().await;
        let after = t.app.store.award_counters(&aid).await.unwrap();
        let after_day = t.app.store.daily_counters(&tid, day).await.unwrap();
        let diff = |a: &std::collections::BTreeMap<String, i64>,
                    b: &std::collections::BTreeMap<String, i64>| {
            let mut d: Vec<String> = a
                .iter()
                .filter(|(k, v)| b.get(*k).copied().unwrap_or(0) != **v)
                .map(|(k, _)| k.clone())
                .collect();
            d.sort();
            d
        };
        let mut want = vec!["clicks".to_string(), format!("click:{slot}")];
        if slot.starts_with("share-") {
            want.push("shares".into());
            want.push(format!("share:{}", slot.trim_start_matches("share-")));
        }
        want.sort();
        assert_eq!(diff(&after, &before), want, "award counters for {slot}");
        // The award's first share also counts it once among the awards shared (issue #7).
        let mut want_day = want.clone();
        if want.contains(&"shares".to_string()) && !before.contains_key("shares") {
            want_day.push("awards_shared".into());
            want_day.sort();
        }
        assert_eq!(
            diff(&after_day, &before_day),
            want_day,
            "template-day counters for {slot}"
        );
        for k in &want {
            assert_eq!(
                after[k] - before.get(k).copied().unwrap_or(0),
                1,
                "{slot}: {k} moves by exactly 1"
            );
        }
    }
    // LinkedIn add-to-profile counts as a LinkedIn share.
    let r = t.browse(&format!("/b/{}/go/linkedin-add", s.award)).await;
    assert!(r
        .header("location")
        .unwrap()
        .starts_with("https://www.linkedin.com/profile/add?"));
    let c = t.app.store.award_counters(&aid).await.unwrap();
    assert_eq!(c["share:linkedin"], 2);
    assert_eq!(c["shares"], 7);
    assert_eq!(c["clicks"], 10);

    // Email-driven clicks are told apart.
    t.browse(&format!("/b/{}/go/enrol?src=email-day3", s.award))
        .await;
    let c = t.app.store.award_counters(&aid).await.unwrap();
    assert_eq!(c["click:enrol"], 2);
    assert_eq!(c["email_clicks"], 1);
    assert_eq!(c["click:enrol:email-day3"], 1);

    // Bots do not count.
    t.call_with(
        "GET",
        &format!("/b/{}/go/enrol", s.award),
        None,
        None,
        &[("user-agent", "Slackbot-LinkExpanding 1.0")],
    )
    .await;
    assert_eq!(
        t.app.store.award_counters(&aid).await.unwrap()["click:enrol"],
        2
    );
    // Nor do HEAD requests (link checkers probing where it leads): same answer, uncounted.
    let safari = "Mozilla/5.0 (Macintosh; Intel Mac OS X 14_0) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.0 Safari/605.1.15";
    let enrol = format!("/b/{}/go/enrol", s.award);
    let r = t
        .call_with("HEAD", &enrol, None, None, &[("user-agent", safari)])
        .await;
    assert_eq!(r.status, StatusCode::FOUND);
    assert_eq!(
        r.header("location"),
        Some("https://univ.example.ac.kr/enrol")
    );
    assert_eq!(
        t.app.store.award_counters(&aid).await.unwrap()["click:enrol"],
        2
    );

    // A warm redirect costs one read and one write (the award's counters).
    t.requests.reset();
    t.browse(&format!("/b/{}/go/banner", s.award)).await;
    let seen = t.requests.snapshot();
    assert_eq!(t.requests.get("dynamodb.GetItem"), 1, "{seen:?}");
    assert_eq!(t.requests.get("dynamodb.UpdateItem"), 1, "{seen:?}");
    assert_eq!(t.requests.total(), 2, "{seen:?}");
}

#[tokio::test]
async fn crafted_slots_and_parameters_cannot_redirect_elsewhere() {
    let t = spawn_app().await;
    let s = shop(&t).await;
    let (_, other_key) = t.issuer("Other").await;
    let foreign = t
        .create_template(&other_key, template_body("Foreign"))
        .await;
    let aid = AwardId::parse(&s.award).unwrap();
    let before = t.app.store.award_counters(&aid).await.unwrap();
    for slot in [
        "https:%2F%2Fevil.example".to_string(),
        "evil.example".into(),
        "..%2F..%2Fadmin".into(),
        format!("related-{}", foreign["id"].as_str().unwrap()),
        "related-tpl_AAAAAAAAAAAAAAAAAAAAAA".into(),
        "share-myspace".into(),
        "".into(),
    ] {
        let r = t.browse(&format!("/b/{}/go/{slot}", s.award)).await;
        assert!(r.status == StatusCode::NOT_FOUND, "{slot}: {}", r.status);
        assert!(r.header("location").is_none());
    }
    for q in [
        "?url=https://evil.example",
        "?target=https://evil.example",
        "?src=https://evil.example",
        "?next=//evil.example",
    ] {
        let r = t.browse(&format!("/b/{}/go/banner{q}", s.award)).await;
        assert_eq!(
            r.header("location"),
            Some("https://univ.example.ac.kr/admissions"),
            "{q}"
        );
    }
    let after = t.app.store.award_counters(&aid).await.unwrap();
    assert_eq!(
        after.get("click:banner").copied().unwrap_or(0)
            - before.get("click:banner").copied().unwrap_or(0),
        4
    );
    // Unknown award.
    assert_eq!(
        t.browse("/b/AAAAAAAAAAAAAAAAAAAAAA/go/banner").await.status,
        StatusCode::NOT_FOUND
    );
}

#[tokio::test]
async fn revoked_awards_show_no_recommendations_and_slots_lead_back_to_the_page() {
    let t = spawn_app().await;
    let s = shop(&t).await;
    t.call(
        "POST",
        &format!("/v1/awards/{}/revoke", s.award),
        Some(&s.key),
        Some(json!({"reason": "error"})),
    )
    .await;
    let html = t.browse(&format!("/b/{}", s.award)).await.text();
    assert!(
        !html.contains("/go/"),
        "no tracked outbound links on a revoked badge"
    );
    let r = t.browse(&format!("/b/{}/go/enrol", s.award)).await;
    assert_eq!(
        r.header("location"),
        Some(format!("{}/b/{}", t.base_url, s.award).as_str())
    );
    let c = t
        .app
        .store
        .award_counters(&AwardId::parse(&s.award).unwrap())
        .await
        .unwrap();
    assert!(!c.contains_key("click:enrol"));
}

#[tokio::test]
async fn links_to_itself_or_another_issuers_template_are_refused() {
    let t = spawn_app().await;
    let s = shop(&t).await;
    let (_, other_key) = t.issuer("Other").await;
    let foreign = t
        .create_template(&other_key, template_body("Foreign"))
        .await;
    let path = format!("/v1/templates/{}", s.main["id"].as_str().unwrap());
    let cases = [
        (
            json!({"related": [{"template_id": s.main["id"]}]}),
            "related[0].template_id",
            "itself",
        ),
        (
            json!({"related": [{"template_id": s.next["id"]}, {"template_id": foreign["id"]}]}),
            "related[1].template_id",
            "not one of your templates",
        ),
        (
            json!({"related": [{"template_id": s.next["id"]}, {"template_id": s.next["id"]}]}),
            "related[1].template_id",
            "twice",
        ),
        (
            json!({"banner": {"target_url": "javascript:alert(1)"}}),
            "banner.target_url",
            "https://",
        ),
        (
            json!({"banner": {"image": {"kind": "url", "url": "http://insecure.example/b.png"}}}),
            "banner.image.url",
            "https",
        ),
        (
            json!({"enrolment": {"program_url": null}}),
            "enrolment.program_url",
            "required",
        ),
        (
            json!({"enrolment": {"program_url": "data:text/html,hi"}}),
            "enrolment.program_url",
            "https://",
        ),
        (
            json!({"related": [{"template_id": s.next["id"], "label": "x".repeat(61)}]}),
            "related[0].label",
            "at most 60",
        ),
    ];
    for (patch, field, msg) in cases {
        let r = t
            .call("PATCH", &path, Some(&s.key), Some(patch.clone()))
            .await;
        assert_eq!(r.status, StatusCode::BAD_REQUEST, "{patch}: {}", r.text());
        assert_eq!(r.json()["error"]["field"], field, "{patch}");
        assert!(
            r.json()["error"]["message"].as_str().unwrap().contains(msg),
            "{patch}: {}",
            r.text()
        );
    }
    let unchanged = t.call("GET", &path, Some(&s.key), None).await.json();
    assert_eq!(
        unchanged["version"], s.main["version"],
        "bad input wrote nothing"
    );
    // On create, another issuer's template is refused too.
    let mut body = template_body("New");
    body["related"] = json!([{"template_id": foreign["id"]}]);
    let r = t
        .call("POST", "/v1/templates", Some(&s.key), Some(body))
        .await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST);
}

#[tokio::test]
async fn hostile_labels_and_names_are_escaped_and_the_template_page_works() {
    let t = spawn_app().await;
    let (_, key) = t.issuer("U").await;
    let evil = t
        .create_template(&key, template_body("<img src=x onerror=alert(1)>"))
        .await;
    let mut body = template_body("Main");
    body["related"] = json!([{"template_id": evil["id"], "label": "<script>alert(1)</script>"}]);
    body["banner"] = json!({"image": {"kind": "url", "url": "https://x.example/b.png"}, "alt": "\"><script>alert(2)</script>", "target_url": "https://x.example"});
    body["enrolment"] = json!({"program_url": "https://x.example/e", "program_name": "<b>bold</b>", "period": "<i>8</i>"});
    let main = t.create_template(&key, body).await;
    let a = t.issue(&key, json!({"template_id": main["id"], "recipient": {"email": "e@example.com", "name": "E"}})).await;
    let html = t
        .browse(&format!("/b/{}", a["id"].as_str().unwrap()))
        .await
        .text();
    assert!(
        !html.contains("<script>alert")
            && !html.contains("<img src=x")
            && !html.contains("<b>bold")
            && !html.contains("<i>8")
    );
    assert!(html.contains("&lt;script&gt;alert(1)"));
    // The landing page the recommendation leads to.
    let page = t
        .browse(&format!("/templates/{}", main["id"].as_str().unwrap()))
        .await;
    assert_eq!(page.status, StatusCode::OK);
    let text = page.text();
    assert!(
        text.contains("Main") && text.contains("https://x.example/e") && !text.contains("<b>bold")
    );
}

/// An archived template's public page (where recommendations and old links lead) says it is no
/// longer offered and has no Enrol button; every `dd` of its programme has its `dt`.
#[tokio::test]
async fn an_archived_templates_page_offers_no_enrolment() {
    let t = spawn_app().await;
    let (_, key) = t.issuer("보관대학교").await;
    let mut body = template_body("Old course");
    body["enrolment"] = json!({"program_url": "https://x.example/e", "program_name": "Data 101"});
    let tpl = t.create_template(&key, body).await;
    let id = tpl["id"].as_str().unwrap();
    let open = t.browse(&format!("/templates/{id}")).await.text();
    assert!(open.contains("https://x.example/e"));
    assert!(open.contains("<dt>과정</dt><dd>Data 101</dd>"), "{open}");
    let r = t
        .call("DELETE", &format!("/v1/templates/{id}"), Some(&key), None)
        .await;
    assert!(r.status.is_success(), "{}", r.text());
    let archived = t
        .browse_until(&format!("/templates/{id}"), |r| {
            !r.text().contains("https://x.example/e")
        })
        .await
        .text();
    assert!(!archived.contains("https://x.example/e"), "no Enrol button");
    assert!(archived.contains("더 이상 발급되지 않습니다"), "{archived}");
}

#[tokio::test]
async fn changes_reach_badge_pages_within_the_page_cache_ttl() {
    let t = spawn_app().await;
    let s = shop(&t).await;
    let html = t.browse(&format!("/b/{}", s.award)).await.text();
    assert!(html.contains("12주"));
    let path = format!("/v1/templates/{}", s.main["id"].as_str().unwrap());
    let patched = t
        .call(
            "PATCH",
            &path,
            Some(&s.key),
            Some(json!({"enrolment": {"period": "10주"}})),
        )
        .await;
    assert_eq!(patched.status, StatusCode::OK, "{}", patched.text());
    // The api and verify functions are different Lambdas: verify sees the change when its
    // cached copy expires.
    let html = t
        .browse_until(&format!("/b/{}", s.award), |r| r.text().contains("10주"))
        .await
        .text();
    assert!(html.contains("10주") && !html.contains("12주"));
    assert!(
        accolade::app::PAGE_DATA_TTL <= std::time::Duration::from_secs(60),
        "other Lambdas see it within a minute"
    );
}
