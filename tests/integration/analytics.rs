//! Issue #7: analytics from pre-aggregated counters: every metric and rate for a template, a
//! batch, a cohort and the whole issuer, driven by real events through the local stack.

use accolade::{
    analytics::{self, Scope},
    digest,
    domain::{
        ids::{AwardId, TemplateId},
        metrics::Granularity,
    },
    issuing::{self, IssueRequest},
    store::Patience,
};
use accolade_tests::{
    csv_rows, spawn_app, template_body, unique_email, FunctionName, StatusCode, TestApp,
};
use chrono::{TimeZone, Utc};
use serde_json::{json, Value};
use std::collections::BTreeMap;

const SHARE: &str = "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/126.0 Safari/537.36";

/// A report, once the stream has rolled every counted event up into the day items.
async fn get(t: &TestApp, key: &str, query: &str) -> Value {
    t.roll_up().await;
    report(t, key, query).await
}

/// The report as it stands.
async fn report(t: &TestApp, key: &str, query: &str) -> Value {
    let r = t
        .call("GET", &format!("/v1/analytics{query}"), Some(key), None)
        .await;
    assert_eq!(r.status, StatusCode::OK, "{query}: {}", r.text());
    r.json()
}

pub(crate) async fn click(t: &TestApp, award: &str, slot: &str) {
    let r = t
        .call_with(
            "GET",
            &format!("/b/{award}/go/{slot}"),
            None,
            None,
            &[("user-agent", SHARE)],
        )
        .await;
    assert_eq!(r.status, StatusCode::FOUND, "{slot}: {}", r.text());
}

/// An SES event of an email this release sent (tagged `counted: mark`: its mark counts it sent,
/// and its Send event, if one comes, counts nothing).
pub(crate) fn ses(kind: &str, award: &str, stage: &str) -> Value {
    json!({"version": "0", "id": uuid::Uuid::new_v4().to_string(), "detail-type": format!("Email {kind}"),
           "source": "aws.ses", "detail": {"eventType": kind,
           "mail": {"messageId": "m", "destination": ["x@example.com"], "tags": {"award": [award], "stage": [stage], "counted": ["mark"]}},
           "bounce": {"bounceType": "Permanent", "bouncedRecipients": []}}})
}

pub(crate) struct World {
    pub key: String,
    pub a: String,
    pub b: String,
    /// Template A's badges issued by the API.
    pub awards: Vec<String>,
    /// Template B's one badge.
    pub of_b: String,
    pub batch: String,
}

/// Template A (recommends B, banner, enrolment) with 3 API awards (2 in cohort "2026-봄") and a
/// CSV batch of 4 (cohort "2026-봄" from the file); template B with 1 award.
pub(crate) async fn world(t: &TestApp) -> World {
    let (_, key) = t.issuer("한빛대학교").await;
    let b = t.create_template(&key, template_body("심화 과정")).await;
    let b = b["id"].as_str().unwrap().to_owned();
    let mut body = template_body("데이터 분석 기초");
    body["related"] = json!([{"template_id": b}]);
    body["banner"] = json!({"image": {"kind": "url", "url": "https://univ.example.ac.kr/b.png"}, "alt": "모집", "target_url": "https://univ.example.ac.kr/admissions"});
    body["enrolment"] = json!({"program_url": "https://univ.example.ac.kr/enrol"});
    let a = t.create_template(&key, body).await["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let mut awards = Vec::new();
    // The second award's cohort as a macOS file holds it (봄 decomposed): the same cohort.
    let decomposed = "2026-\u{1107}\u{1169}\u{11B7}";
    for (i, cohort) in [Some("2026-봄"), Some(decomposed), None].iter().enumerate() {
        let mut req = json!({"template_id": a, "recipient": {"email": format!("api{i}.{}@example.com", uuid::Uuid::new_v4().simple()), "name": format!("학생{i}")}});
        if let Some(c) = cohort {
            req["cohort"] = json!(c);
        }
        awards.push(t.issue(&key, req).await["id"].as_str().unwrap().to_owned());
    }
    let of_b = t
        .issue(
            &key,
            json!({"template_id": b, "recipient": {"email": "b@example.com", "name": "B"}}),
        )
        .await["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let batch = t
        .create_batch(&key, json!({"filename": "spring.csv", "template_id": a}))
        .await;
    let batch = batch["batch_id"].as_str().unwrap().to_owned();
    t.upload(
        &batch,
        csv_rows(4, &format!("csv.{}.", uuid::Uuid::new_v4().simple())),
    )
    .await;
    t.runner().deliver_uploads().await.unwrap();
    assert_eq!(t.batch(&key, &batch).await["counts"]["issued"], 4);
    World {
        key,
        a,
        b,
        awards,
        of_b,
        batch,
    }
}

#[tokio::test]
async fn every_metric_for_a_template_a_batch_a_cohort_and_the_issuer() {
    let t = spawn_app().await;
    let w = world(&t).await;
    let batch_awards: Vec<String> = t
        .batch_awards(&w.key, &w.batch)
        .await
        .iter()
        .map(|a| a["id"].as_str().unwrap().to_owned())
        .collect();
    let (a0, a1, a2, c0) = (&w.awards[0], &w.awards[1], &w.awards[2], &batch_awards[0]);
    // Every award's day-1 email goes out (7 of template A, 4 of them the batch's): each one's
    // mark counts it sent.
    t.roll_up().await;

    // Views: a0 ×2, a1 ×1, c0 ×1 (human); one link preview of a0.
    for id in [a0, a0, a1, c0] {
        assert_eq!(t.browse(&format!("/b/{id}")).await.status, StatusCode::OK);
    }
    let r = t
        .call_with(
            "GET",
            &format!("/b/{a0}"),
            None,
            None,
            &[(
                "user-agent",
                "Slackbot-LinkExpanding 1.0 (+https://api.slack.com/robots)",
            )],
        )
        .await;
    assert_eq!(r.status, StatusCode::OK);
    // Shares: a0 on LinkedIn twice (one award shared), a1 add-to-profile, c0 on X.
    for (id, slot) in [
        (a0, "share-linkedin"),
        (a0, "share-linkedin"),
        (a1, "linkedin-add"),
        (c0, "share-x"),
    ] {
        click(&t, id, slot).await;
    }
    // Recommendation clicks: banner and related on the page; enrolment from the day-3 email
    // (a conversion) and from the page.
    click(&t, a0, "banner").await;
    click(&t, a0, &format!("related-{}", w.b)).await;
    click(&t, a1, "enrol?src=email-day3").await;
    click(&t, c0, "enrol").await;
    // Email events: day 1 delivered to a0 and c0; a1 bounced (permanent). Their Send events
    // count nothing (the marks did).
    for e in [
        ses("Send", a0, "day1"),
        ses("Send", a1, "day1"),
        ses("Send", c0, "day1"),
        ses("Delivery", a0, "day1"),
        ses("Delivery", c0, "day1"),
        ses("Bounce", a1, "day1"),
        ses("Send", a1, "day3"),
        ses("Open", a1, "day3"),
    ] {
        t.ses_event(&e).await;
    }
    // Revoke a2.
    let r = t
        .call(
            "POST",
            &format!("/v1/awards/{a2}/revoke"),
            Some(&w.key),
            Some(json!({"reason": "오발급"})),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text());

    // --- Template A.
    let rep = get(&t, &w.key, &format!("?template={}", w.a)).await;
    let m = &rep["totals"];
    assert_eq!(rep["scope"]["kind"], "template");
    assert_eq!(rep["time_zone"], "Asia/Seoul");
    assert_eq!(m["issued"], 7);
    assert_eq!(m["revoked"], 1);
    assert_eq!(m["expired"], 0);
    assert_eq!(m["views"], 4);
    assert_eq!(m["previews"], 1);
    assert_eq!(m["awards_viewed"], 3);
    assert_eq!(m["shares"], 4);
    assert_eq!(m["awards_shared"], 3);
    assert_eq!(m["share_rate"], json!(0.4286)); // 3 / 7
    assert_eq!(
        m["shares_by_network"],
        json!({"linkedin": 3, "x": 1, "facebook": 0, "email": 0, "native": 0, "copy": 0})
    );
    assert_eq!(m["linkedin_add_to_profile"], 1);
    assert_eq!(m["emails"]["day1"]["sent"], 7);
    assert_eq!(m["emails"]["day1"]["delivered"], 2);
    assert_eq!(m["emails"]["day1"]["bounced"], 1);
    assert_eq!(m["emails"]["day3"]["sent"], 0, "no day-3 email went");
    assert_eq!(m["emails"]["day3"]["opened"], 1);
    assert_eq!(m["delivery_rate"], json!(0.2857)); // 2 / 7
    assert_eq!(m["clicks"]["banner"], 1);
    assert_eq!(m["clicks"]["enrol"], 2);
    assert_eq!(
        m["clicks"]["related"],
        json!([{"template_id": w.b, "clicks": 1}])
    );
    assert_eq!(m["clicks"]["from_page"], 3);
    assert_eq!(m["clicks"]["from_email"], 1);
    assert_eq!(m["click_through_rate"], json!(0.75)); // 3 page clicks / 4 views
    assert_eq!(m["follow_up_conversions"], 1);
    assert_eq!(m["conversions_by_stage"], json!({"day3": 1, "day7": 0}));
    // The default range: the last 28 days by day, today last.
    let series = rep["series"].as_array().unwrap();
    assert_eq!(series.len(), 28);
    assert_eq!(series[27]["issued"], 7);
    assert_eq!(series[0]["issued"], 0);
    assert_eq!(
        series[0]["share_rate"],
        Value::Null,
        "no awards: no rate, not 0"
    );

    // --- The batch: only its 4 awards and what happened to them.
    let m = get(&t, &w.key, &format!("?batch={}", w.batch)).await["totals"].clone();
    assert_eq!(
        (m["issued"].as_i64(), m["views"].as_i64()),
        (Some(4), Some(1))
    );
    assert_eq!(m["awards_shared"], 1);
    assert_eq!(m["share_rate"], json!(0.25));
    assert_eq!(m["clicks"]["enrol"], 1);
    assert_eq!(m["delivery_rate"], json!(0.25)); // c0's of the 4
    assert_eq!(m["revoked"], 0);

    // --- The cohort: a0, a1 and the 4 CSV rows (their file gives cohort 2026-봄).
    let m = get(&t, &w.key, "?cohort=2026-%EB%B4%84").await["totals"].clone();
    assert_eq!(m["issued"], 6);
    assert_eq!(m["awards_shared"], 3);
    assert_eq!(m["revoked"], 0);

    // --- The whole issuer, with a per-template breakdown.
    let rep = get(&t, &w.key, "?granularity=week").await;
    assert_eq!(rep["scope"]["kind"], "issuer");
    assert_eq!(rep["totals"]["issued"], 8);
    let per: BTreeMap<String, i64> = rep["templates"]
        .as_array()
        .unwrap()
        .iter()
        .map(|x| {
            (
                x["template_id"].as_str().unwrap().to_owned(),
                x["issued"].as_i64().unwrap(),
            )
        })
        .collect();
    assert_eq!(per, BTreeMap::from([(w.a.clone(), 7), (w.b.clone(), 1)]));
    assert_eq!(rep["templates"][0]["name"], "데이터 분석 기초");
    let weeks = rep["series"].as_array().unwrap();
    assert_eq!(weeks.len(), 12);
    assert_eq!(weeks.last().unwrap()["issued"], 8);

    // --- Daily counters agree with the per-award counters they were counted with.
    let mut ids: Vec<AwardId> = w
        .awards
        .iter()
        .map(|a| AwardId::parse(a).unwrap())
        .collect();
    ids.extend(batch_awards.iter().map(|a| AwardId::parse(a).unwrap()));
    let per_award = t.app.store.award_counters_many(&ids).await.unwrap();
    let tid = TemplateId::parse(&w.a).unwrap();
    let today = accolade::domain::time::Zone::default().date_of(Utc::now());
    let daily = t.app.store.daily_counters(&tid, today).await.unwrap();
    for (attr, v) in &daily {
        if [
            "issued",
            "expires",
            "revoked",
            "awards_viewed",
            "awards_shared",
        ]
        .contains(&attr.as_str())
        {
            continue; // lifecycle counters live on the segments only
        }
        let sum: i64 = per_award
            .values()
            .map(|c| c.get(attr).copied().unwrap_or(0))
            .sum();
        assert_eq!(sum, *v, "{attr}: awards {sum} vs daily {v}");
    }
    assert!(daily.contains_key("views") && daily.contains_key("click:banner"));
    let viewed = per_award
        .values()
        .filter(|c| c.get("views").is_some_and(|v| *v > 0))
        .count();
    assert_eq!(viewed as i64, daily["awards_viewed"]);

    // --- An empty period: zeros and null rates.
    let rep = get(
        &t,
        &w.key,
        &format!(
            "?template={}&from=2020-01-01&to=2020-01-31&granularity=week",
            w.a
        ),
    )
    .await;
    let m = &rep["totals"];
    assert_eq!(m["issued"], 0);
    for rate in ["delivery_rate", "share_rate", "click_through_rate"] {
        assert_eq!(m[rate], Value::Null, "{rate}");
    }
    assert_eq!(rep["series"].as_array().unwrap().len(), 5);
    assert_eq!(rep["series"][0]["start"], "2020-01-01");
    assert_eq!(rep["series"][0]["end"], "2020-01-05");
}

#[tokio::test]
async fn bad_requests_name_the_parameter_and_other_issuers_see_nothing() {
    let t = spawn_app().await;
    let w = world(&t).await;
    for (q, field) in [
        (format!("?template={}&batch={}", w.a, w.batch), "batch"),
        ("?granularity=month".to_owned(), "granularity"),
        ("?from=2026-02-30".to_owned(), "from"),
        ("?from=2026-05-02&to=2026-05-01".to_owned(), "from"),
        ("?from=2020-01-01&to=2026-01-01".to_owned(), "from"),
        ("?template=nonsense".to_owned(), "template"),
        ("?tempalte=x".to_owned(), "tempalte"),
    ] {
        let r = t
            .call("GET", &format!("/v1/analytics{q}"), Some(&w.key), None)
            .await;
        assert_eq!(r.status, StatusCode::BAD_REQUEST, "{q}: {}", r.text());
        assert_eq!(r.json()["error"]["field"], field, "{q}");
    }
    let (_, other) = t.issuer("남의 대학").await;
    for q in [format!("?template={}", w.a), format!("?batch={}", w.batch)] {
        for path in ["/v1/analytics", "/v1/analytics/export"] {
            let r = t
                .call("GET", &format!("{path}{q}"), Some(&other), None)
                .await;
            assert_eq!(r.status, StatusCode::NOT_FOUND, "{path}{q}");
        }
    }
    // The other issuer's own report is empty, not ours.
    let m = get(&t, &other, "").await;
    assert_eq!(m["totals"]["issued"], 0);
    assert_eq!(m["templates"], json!([]));
    let r = t
        .call("GET", "/v1/analytics/export", Some(&other), None)
        .await;
    assert_eq!(
        r.text().trim_start_matches('\u{feff}').lines().count(),
        1,
        "header only"
    );
}

#[tokio::test]
async fn export_lists_every_award_with_its_counters() {
    let t = spawn_app().await;
    let w = world(&t).await;
    let a0 = &w.awards[0];
    t.browse(&format!("/b/{a0}")).await;
    t.browse(&format!("/b/{a0}")).await;
    click(&t, a0, "share-facebook").await;
    // A hostile name is neutralised for spreadsheets.
    t.issue(&w.key, json!({"template_id": w.b, "recipient": {"email": "evil@example.com", "name": "=HYPERLINK(\"http://x\")"}}))
        .await;
    let r = t
        .call("GET", "/v1/analytics/export", Some(&w.key), None)
        .await;
    assert_eq!(r.status, StatusCode::OK);
    assert!(r.header("content-type").unwrap().starts_with("text/csv"));
    assert!(r
        .header("content-disposition")
        .unwrap()
        .contains("attachment"));
    let body = r.text();
    assert!(body.starts_with('\u{feff}'), "BOM for Excel");
    let mut rd = csv::Reader::from_reader(body.trim_start_matches('\u{feff}').as_bytes());
    let header: Vec<String> = rd.headers().unwrap().iter().map(str::to_owned).collect();
    assert_eq!(header, accolade::http::analytics::export_header());
    let col = |n: &str| header.iter().position(|h| h == n).unwrap();
    let rows: Vec<csv::StringRecord> = rd.records().map(Result::unwrap).collect();
    assert_eq!(rows.len(), 9, "3 + 1 + 4 + 1 awards");
    // An id that starts with `-` (1 in 64) is written `'-…` so a spreadsheet keeps it as text.
    let row = rows
        .iter()
        .find(|r| r[col("award_id")].trim_start_matches('\'') == a0.as_str())
        .unwrap();
    assert_eq!(&row[col("views")], "2");
    assert_eq!(&row[col("shares_facebook")], "1");
    assert_eq!(&row[col("template_name")], "데이터 분석 기초");
    assert_eq!(&row[col("cohort")], "2026-봄");
    assert_eq!(&row[col("status")], "valid");
    let evil = rows
        .iter()
        .find(|r| &r[col("recipient_email")] == "evil@example.com")
        .unwrap();
    assert!(
        evil[col("recipient_name")].starts_with('\''),
        "{}",
        &evil[col("recipient_name")]
    );
    // Scoped exports.
    let r = t
        .call(
            "GET",
            &format!("/v1/analytics/export?batch={}", w.batch),
            Some(&w.key),
            None,
        )
        .await;
    assert_eq!(r.text().lines().count(), 1 + 4);
    let r = t
        .call(
            "GET",
            "/v1/analytics/export?cohort=2026-%EB%B4%84",
            Some(&w.key),
            None,
        )
        .await;
    assert_eq!(r.text().lines().count(), 1 + 6);
    let r = t
        .call(
            "GET",
            "/v1/analytics/export?from=2020-01-01&to=2020-12-31",
            Some(&w.key),
            None,
        )
        .await;
    assert_eq!(r.text().lines().count(), 1, "nothing recorded in 2020");
    // `to` alone is open on the other side: every award up to that day (not its last 28 days).
    let r = t
        .call(
            "GET",
            "/v1/analytics/export?to=2099-12-31",
            Some(&w.key),
            None,
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text());
    assert_eq!(r.text().lines().count(), 1 + 9);
    // Named for the issuer's today.
    let today = Utc::now()
        .with_timezone(&chrono_tz::Asia::Seoul)
        .format("%Y%m%d")
        .to_string();
    assert!(
        r.header("content-disposition").unwrap().contains(&today),
        "{:?}",
        r.header("content-disposition")
    );
}

#[tokio::test]
async fn the_export_pages_with_a_next_link_and_loses_or_repeats_nothing() {
    let t = spawn_app().await;
    let w = world(&t).await;
    let mut path = "/v1/analytics/export?limit=3".to_owned();
    let mut ids = Vec::new();
    let mut pages = 0;
    loop {
        let r = t.call("GET", &path, Some(&w.key), None).await;
        assert_eq!(r.status, StatusCode::OK, "{path}: {}", r.text());
        let body = r.text();
        let mut rd = csv::Reader::from_reader(body.trim_start_matches('\u{feff}').as_bytes());
        let rows: Vec<csv::StringRecord> = rd.records().map(Result::unwrap).collect();
        assert!(rows.len() <= 3);
        ids.extend(rows.iter().map(|r| r[0].to_owned()));
        pages += 1;
        assert!(pages < 10);
        match r.header("link") {
            Some(l) => {
                assert!(l.ends_with("; rel=\"next\""), "{l}");
                assert!(r.header("x-next-cursor").is_some());
                path = l
                    .trim_start_matches('<')
                    .split('>')
                    .next()
                    .unwrap()
                    .to_owned();
                assert!(path.contains("limit=3"), "{path}");
            }
            None => break,
        }
    }
    let unique: std::collections::HashSet<_> = ids.iter().collect();
    assert_eq!(ids.len(), 8, "{ids:?}");
    assert_eq!(unique.len(), 8);
    // Bad limits and foreign cursors are refused by name.
    for (q, field) in [
        ("limit=0", "limit"),
        ("limit=abc", "limit"),
        ("limit=1000000", "limit"),
        ("cursor=garbage", "cursor"),
    ] {
        let r = t
            .call(
                "GET",
                &format!("/v1/analytics/export?{q}"),
                Some(&w.key),
                None,
            )
            .await;
        assert_eq!(r.status, StatusCode::BAD_REQUEST, "{q}");
        assert_eq!(r.json()["error"]["field"], field, "{q}");
    }
    let r = t
        .call("GET", "/v1/analytics?limit=3", Some(&w.key), None)
        .await;
    assert_eq!(r.json()["error"]["field"], "limit", "only the export pages");
}

#[tokio::test]
async fn concurrent_events_stay_exact() {
    let t = spawn_app().await;
    let w = world(&t).await;
    let mut jobs = Vec::new();
    for i in 0..30 {
        let id = w.awards[i % 3].clone();
        let t = &t;
        jobs.push(async move {
            t.browse(&format!("/b/{id}")).await;
            click(t, &id, "share-linkedin").await;
        });
    }
    futures::future::join_all(jobs).await;
    let m = get(&t, &w.key, &format!("?template={}", w.a)).await["totals"].clone();
    assert_eq!(m["views"], 30);
    assert_eq!(m["shares"], 30);
    assert_eq!(
        m["awards_viewed"], 3,
        "each award's first view counted once"
    );
    assert_eq!(m["awards_shared"], 3);
    // Concurrent API issues on one template all land in the same daily item.
    let mut jobs = Vec::new();
    for i in 0..12 {
        let (t, key, a) = (&t, &w.key, &w.a);
        jobs.push(async move {
            t.issue(key, json!({"template_id": a, "recipient": {"email": format!("c{i}@example.com"), "name": "C"}}))
                .await
        });
    }
    futures::future::join_all(jobs).await;
    let m = get(&t, &w.key, &format!("?template={}", w.a)).await["totals"].clone();
    assert_eq!(m["issued"], 7 + 12);
}

/// Issues an award of `template` recorded at `at` (the clock passed to the same code the API runs).
async fn issue_at(
    t: &TestApp,
    issuer: &accolade::domain::issuer::Issuer,
    template: &str,
    at: chrono::DateTime<Utc>,
    expires_days: Option<i64>,
) -> accolade::domain::award::Award {
    let tpl = t
        .app
        .store
        .get_template(&TemplateId::parse(template).unwrap())
        .await
        .unwrap()
        .unwrap();
    let req = IssueRequest {
        email: accolade::domain::email::Email::parse(&format!(
            "{}@example.com",
            uuid::Uuid::new_v4().simple()
        ))
        .unwrap(),
        name: "주간".into(),
        phone: None,
        issued_on: None,
        expires_on: Some(expires_days.map(|d| at + chrono::Duration::days(d))),
        narrative: None,
        evidence: vec![],
        external_id: None,
        locale: None,
        notify: false,
        cohort: None,
        batch_id: None,
    };
    match issuing::issue(
        &t.app_of(FunctionName::Api).store,
        issuer,
        &tpl,
        &req,
        None,
        at,
    )
    .await
    .unwrap()
    {
        issuing::Issued::Created(a) => a,
        other => panic!("{other:?}"),
    }
}

#[tokio::test]
async fn weeks_are_cut_in_the_issuers_time_zone_and_expiries_count_when_they_happen() {
    let t = spawn_app().await;
    let (iid, key) = t.issuer("주간대학").await;
    let issuer = t.app.store.get_issuer(&iid).await.unwrap().unwrap();
    let tpl = t.create_template(&key, template_body("주간 배지")).await;
    let tid = tpl["id"].as_str().unwrap();
    // Sunday 8 Nov 2026 23:30 in Seoul, and Monday 9 Nov 00:30 in Seoul: the same UTC Sunday.
    let sun = Utc.with_ymd_and_hms(2026, 11, 8, 14, 30, 0).unwrap();
    let mon = Utc.with_ymd_and_hms(2026, 11, 8, 15, 30, 0).unwrap();
    let x = issue_at(&t, &issuer, tid, sun, Some(3)).await; // expires Wed 11 Nov (Seoul)
    let y = issue_at(&t, &issuer, tid, mon, Some(400)).await;
    let _ = y;
    let q = format!("?template={tid}&from=2026-11-02&to=2026-11-15&granularity=week");
    let rep = get(&t, &key, &q).await;
    let s = rep["series"].as_array().unwrap();
    assert_eq!(s.len(), 2);
    assert_eq!(
        (s[0]["start"].as_str(), s[0]["end"].as_str()),
        (Some("2026-11-02"), Some("2026-11-08"))
    );
    assert_eq!(s[0]["issued"], 1, "Sunday 23:30 in Seoul is last week");
    assert_eq!(s[1]["issued"], 1, "Monday 00:30 in Seoul is this week");
    // x expires on the 11th: counted as expired on that day, which has come.
    assert_eq!(s[1]["expired"], 1);
    // A UTC issuer would have seen both on the same Sunday.
    let utc_day = Utc
        .with_ymd_and_hms(2026, 11, 8, 0, 0, 0)
        .unwrap()
        .date_naive();
    assert_eq!(
        accolade::domain::time::Zone::parse("UTC")
            .unwrap()
            .date_of(mon),
        utc_day
    );

    // Revoking before expiry takes a future expiry back; revoking after leaves "expired" alone.
    let z = issue_at(&t, &issuer, tid, Utc::now(), Some(10)).await;
    let far = format!(
        "?template={tid}&from={}&to={}",
        issuer.profile.time_zone.date_of(Utc::now()),
        issuer
            .profile
            .time_zone
            .date_of(Utc::now() + chrono::Duration::days(11))
    );
    let before = t
        .app
        .store
        .segment_days(
            &accolade::domain::tally::Segment::Template(TemplateId::parse(tid).unwrap()),
            issuer.profile.time_zone.date_of(Utc::now()),
            issuer
                .profile
                .time_zone
                .date_of(Utc::now() + chrono::Duration::days(11)),
        )
        .await
        .unwrap();
    assert!(
        before.iter().any(|(_, c)| c.get("expires") == Some(&1)),
        "future expiry recorded on its day"
    );
    assert_eq!(
        get(&t, &key, &far).await["totals"]["expired"],
        0,
        "not expired yet"
    );
    let r = t
        .call(
            "POST",
            &format!("/v1/awards/{}/revoke", z.id),
            Some(&key),
            Some(json!({"reason": "x"})),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK);
    let after = t
        .app
        .store
        .segment_days(
            &accolade::domain::tally::Segment::Template(TemplateId::parse(tid).unwrap()),
            issuer.profile.time_zone.date_of(Utc::now()),
            issuer
                .profile
                .time_zone
                .date_of(Utc::now() + chrono::Duration::days(11)),
        )
        .await
        .unwrap();
    assert!(
        after
            .iter()
            .all(|(_, c)| c.get("expires").copied().unwrap_or(0) == 0),
        "{after:?}"
    );
    let r = t
        .call(
            "POST",
            &format!("/v1/awards/{}/revoke", x.id),
            Some(&key),
            Some(json!({"reason": "late"})),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK);
    let rep = get(&t, &key, &q).await;
    assert_eq!(
        rep["series"][1]["expired"], 1,
        "already expired: stays counted"
    );
    // Revoking again changes nothing.
    t.call(
        "POST",
        &format!("/v1/awards/{}/revoke", x.id),
        Some(&key),
        Some(json!({"reason": "late"})),
    )
    .await;
    let total = get(&t, &key, &format!("?template={tid}")).await["totals"]["revoked"].clone();
    assert_eq!(total, 2);
}

/// One issuer whose digest fails (its week's claim refused by DynamoDB) does not
/// cost the issuers after it their week: they are sent, the run fails (for Lambda's retries),
/// and the next run sends the one that failed.
#[tokio::test]
async fn one_issuers_failing_digest_does_not_hold_back_the_others() {
    let t = spawn_app().await;
    let tue = Utc.with_ymd_and_hms(2026, 11, 17, 3, 0, 0).unwrap();
    let mut admins = Vec::new();
    for name in ["가대학", "나대학"] {
        let (iid, key) = t.issuer(name).await;
        let admin = format!("dean.{}@example.com", uuid::Uuid::new_v4().simple());
        let r = t
            .call(
                "PATCH",
                "/v1/issuer",
                Some(&key),
                Some(json!({"digest_recipients": [admin]})),
            )
            .await;
        assert_eq!(r.status, StatusCode::OK, "{}", r.text());
        let issuer = t.app.store.get_issuer(&iid).await.unwrap().unwrap();
        let tpl = t.create_template(&key, template_body("배지")).await;
        issue_at(&t, &issuer, tpl["id"].as_str().unwrap(), tue, None).await;
        admins.push(admin);
    }
    t.roll_up().await;
    let due = Utc.with_ymd_and_hms(2026, 11, 22, 23, 10, 0).unwrap();
    let analytics = t.app_of(FunctionName::Analytics);
    // The first issuer's claim of its week refused by DynamoDB (a conflicting transaction on
    // the item: not retried by the SDK; nothing written).
    t.faults()
        .arm_at_nth("dynamodb.PutItem", 0, 1, infra::metering::Fault::Conflict);
    let first = digest::run(analytics, due, false, None).await;
    assert!(
        first.is_err(),
        "the run fails, for a retry: {first:?} {:?}",
        t.faults().calls()
    );
    assert!(t.faults().fired().is_some());
    let mut got = Vec::new();
    for a in &admins {
        got.push(t.mail_to(a).await.len());
    }
    assert_eq!(
        got.iter().sum::<usize>(),
        1,
        "the other issuer's digest went: {got:?} {:?}",
        t.faults().calls()
    );
    let again = digest::run(analytics, due, false, None).await.unwrap();
    assert_eq!(
        again
            .iter()
            .filter(|o| matches!(o, digest::Outcome::Sent { .. }))
            .count(),
        1,
        "{again:?}"
    );
    for a in &admins {
        assert_eq!(t.mail_to(a).await.len(), 1, "{a}: once");
    }
}

#[tokio::test]
async fn weekly_digest_goes_to_the_admins_once_and_can_be_switched_off() {
    let t = spawn_app().await;
    let (iid, key) = t.issuer("디지털대학").await;
    let admin1 = format!("dean.{}@example.com", uuid::Uuid::new_v4().simple());
    let admin2 = format!("office.{}@example.com", uuid::Uuid::new_v4().simple());
    // A third admin's address bounced hard once: the digest honours the suppression list.
    let bounced = format!("gone.{}@example.com", uuid::Uuid::new_v4().simple());
    let lookup = accolade::domain::email::Email::parse(&bounced)
        .unwrap()
        .lookup_key();
    t.app
        .store
        .suppress(&lookup, "SES Bounce", Utc::now())
        .await
        .unwrap();
    let r = t
        .call(
            "PATCH",
            "/v1/issuer",
            Some(&key),
            Some(json!({"digest_recipients": [admin1, admin2, bounced]})),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text());
    let r = t
        .call(
            "PATCH",
            "/v1/issuer",
            Some(&key),
            Some(json!({"digest_recipients": ["not-an-email"]})),
        )
        .await;
    assert_eq!(r.json()["error"]["field"], "digest_recipients[0]");
    let issuer = t.app.store.get_issuer(&iid).await.unwrap().unwrap();
    let good = t
        .create_template(&key, template_body("잘 나가는 배지"))
        .await;
    let quiet = t.create_template(&key, template_body("조용한 배지")).await;
    let single = t.create_template(&key, template_body("한 장 배지")).await;
    // Last week (16–22 Nov, Seoul): 10 + 10 + 1 awards; half the good ones shared, and the
    // single one (too few to be ranked, though 100 %).
    let tue = Utc.with_ymd_and_hms(2026, 11, 17, 3, 0, 0).unwrap();
    let mut shared = Vec::new();
    for i in 0..10 {
        let g = issue_at(&t, &issuer, good["id"].as_str().unwrap(), tue, None).await;
        if i < 5 {
            shared.push(g);
        }
        issue_at(&t, &issuer, quiet["id"].as_str().unwrap(), tue, None).await;
    }
    shared.push(issue_at(&t, &issuer, single["id"].as_str().unwrap(), tue, None).await);
    let g1 = shared[0].clone();
    for a in &shared {
        let what = ["views".into(), "shares".into(), "share:linkedin".into()];
        let zone = issuer.profile.time_zone;
        t.app
            .store
            .count_activity(a, zone, tue, &what, Patience::Work)
            .await
            .unwrap();
    }
    t.roll_up().await;
    // The week before: 1 award.
    issue_at(
        &t,
        &issuer,
        quiet["id"].as_str().unwrap(),
        tue - chrono::Duration::days(7),
        None,
    )
    .await;

    // Monday 23 Nov 07:10 in Seoul: not yet.
    let early = Utc.with_ymd_and_hms(2026, 11, 22, 22, 10, 0).unwrap();
    let out = digest::run(t.app_of(FunctionName::Analytics), early, false, None)
        .await
        .unwrap();
    assert!(!out
        .iter()
        .any(|o| matches!(o, digest::Outcome::Sent { issuer, .. } if issuer == iid.as_str())));
    // 08:10: sent to both admins, once.
    let due = Utc.with_ymd_and_hms(2026, 11, 22, 23, 10, 0).unwrap();
    // A run out of time starts no issuer (a copy claimed, then cut off by the function's
    // timeout, would be lost for the week): left to the next run, nothing claimed or sent.
    let spent = Some(Utc::now());
    let out = digest::run(t.app_of(FunctionName::Analytics), due, false, spent)
        .await
        .unwrap();
    assert!(
        out.contains(&digest::Outcome::Later {
            issuer: iid.to_string()
        }),
        "{out:?}"
    );
    let out = digest::run(t.app_of(FunctionName::Analytics), due, false, None)
        .await
        .unwrap();
    assert!(
        out.contains(&digest::Outcome::Sent {
            issuer: iid.to_string(),
            recipients: 2
        }),
        "{out:?}"
    );
    let out = digest::run(t.app_of(FunctionName::Analytics), due, false, None)
        .await
        .unwrap();
    assert!(out.contains(&digest::Outcome::AlreadySent {
        issuer: iid.to_string()
    }));
    assert!(
        t.mail_to(&bounced).await.is_empty(),
        "a suppressed admin gets no digest"
    );
    for admin in [&admin1, &admin2] {
        let mails = t.mail_to(admin).await;
        assert_eq!(mails.len(), 1, "{admin}");
        let m = &mails[0];
        let unsubscribe = m.header("List-Unsubscribe").unwrap_or_default();
        assert!(unsubscribe.ends_with("/console/settings>"), "{unsubscribe}");
        assert_eq!(
            m.subject(),
            "[디지털대학] 주간 배지 리포트 (11월 16일–11월 22일)"
        );
        assert!(m.text.contains("발급: 21 (지난주 대비 +20)"), "{}", m.text);
        assert!(m.text.contains("공유율: 28.6%"), "{}", m.text);
        assert!(
            !m.text.contains("한 장 배지"),
            "too few to rank: {}",
            m.text
        );
        assert!(
            m.text.contains("공유율 최고: 잘 나가는 배지 (50.0%)"),
            "{}",
            m.text
        );
        assert!(
            m.text.contains("공유율 최저: 조용한 배지 (0.0%)"),
            "{}",
            m.text
        );
        assert!(m.html.contains("<html lang=\"ko\">"));
    }
    // Switched off: nothing next week.
    let r = t
        .call(
            "PATCH",
            "/v1/issuer",
            Some(&key),
            Some(json!({"weekly_digest": false})),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK);
    let next = due + chrono::Duration::days(7);
    let out = digest::run(t.app_of(FunctionName::Analytics), next, false, None)
        .await
        .unwrap();
    assert!(out.contains(&digest::Outcome::Off {
        issuer: iid.to_string()
    }));
    assert_eq!(t.mail_to(&admin1).await.len(), 1);
    // The analytics function's event entry point dispatches the schedule's input to the digest
    // (and anything else to the SES event handler).
    let out = t
        .invoke(
            FunctionName::Analytics,
            json!({"kind": "weekly_digest", "force": true}),
        )
        .await
        .unwrap();
    assert!(out["digests"].as_str().unwrap().contains("Off"), "{out}");
    let out = t
        .invoke(
            FunctionName::Analytics,
            ses("Delivery", g1.id.as_str(), "day1"),
        )
        .await
        .unwrap();
    assert_eq!(out["outcome"], "counted email:day1:delivered");
    // The report the digest is built from is the API's.
    let (from, to) = digest::last_week(&issuer, due);
    let rep = analytics::report(
        &t.app.store,
        &issuer,
        &Scope::Issuer,
        from,
        to,
        Granularity::Week,
        to,
    )
    .await
    .unwrap();
    assert_eq!(rep.totals.issued, 21);
}

#[tokio::test]
async fn a_report_costs_days_times_templates_never_awards() {
    let t = spawn_app().await;
    let w = world(&t).await;
    let count = |q: &str| {
        let q = q.to_owned();
        let t = &t;
        let key = w.key.clone();
        async move {
            t.requests.reset();
            report(t, &key, &q).await;
            t.requests.snapshot()
        }
    };
    let issuer_before = count("?granularity=week").await;
    let template_before = count(&format!("?template={}", w.a)).await;
    // Many more awards on the same template.
    let batch = t
        .create_batch(&w.key, json!({"filename": "more.csv", "template_id": w.a}))
        .await;
    let id = batch["batch_id"].as_str().unwrap().to_owned();
    t.upload(&id, csv_rows(150, "more.")).await;
    t.runner().deliver_uploads().await.unwrap();
    assert_eq!(t.batch(&w.key, &id).await["counts"]["issued"], 150);
    assert_eq!(
        count("?granularity=week").await,
        issuer_before,
        "issuer report: same requests"
    );
    assert_eq!(count(&format!("?template={}", w.a)).await, template_before);
    // Issuer: auth + issuer + template list + one Query per template (2 templates).
    assert_eq!(
        issuer_before.get("dynamodb.Query").copied(),
        Some(3),
        "{issuer_before:?}"
    );
    assert_eq!(
        template_before.get("dynamodb.Query").copied(),
        Some(1),
        "{template_before:?}"
    );
}

#[tokio::test]
async fn the_local_runner_publishes_ses_events_for_what_the_local_ses_accepted() {
    let t = spawn_app().await;
    let w = world(&t).await;
    let mut runner = t.runner();
    // The day-1 emails of every award.
    runner.deliver_stream().await.unwrap();
    // The Delivery of each of the 8 day-1 emails (7 of template A, 1 of B), matched by
    // template.yaml's rule (this stack's configuration set); no Send events: the configuration
    // set does not publish them (an email's mark counts it sent).
    assert_eq!(runner.deliver_ses_events().await.unwrap(), 8);
    assert_eq!(
        runner.deliver_ses_events().await.unwrap(),
        0,
        "nothing twice"
    );
    let m = get(&t, &w.key, &format!("?template={}", w.a)).await["totals"].clone();
    assert_eq!(m["emails"]["day1"]["sent"], 7, "{m}");
    assert_eq!(m["emails"]["day1"]["delivered"], 7);
    assert_eq!(m["delivery_rate"], json!(1.0));
    // Four days later the day-3 follow-ups go out (template A recommends B and has an enrolment
    // link); their SES events count under day3.
    runner
        .fire_due_schedules(Utc::now() + chrono::Duration::days(4))
        .await
        .unwrap();
    runner.deliver_ses_events().await.unwrap();
    let m = get(&t, &w.key, &format!("?template={}", w.a)).await["totals"].clone();
    assert_eq!(m["emails"]["day3"]["sent"], 7, "{m}");
    assert_eq!(m["emails"]["day3"]["delivered"], 7);
    assert_eq!(m["emails"]["day1"]["sent"], 7, "unchanged");
}

#[tokio::test]
async fn the_local_runner_fires_the_weekly_digest_schedule_from_template_yaml() {
    let t = spawn_app().await;
    let (_, key) = t.issuer("스케줄대학").await;
    let admin = format!("runner.{}@example.com", uuid::Uuid::new_v4().simple());
    t.call(
        "PATCH",
        "/v1/issuer",
        Some(&key),
        Some(json!({"digest_recipients": [admin]})),
    )
    .await;
    let issuer = t
        .app
        .store
        .get_issuer(
            &accolade::domain::ids::IssuerId::parse(
                t.call("GET", "/v1/issuer", Some(&key), None).await.json()["id"]
                    .as_str()
                    .unwrap(),
            )
            .unwrap(),
        )
        .await
        .unwrap()
        .unwrap();
    let tpl = t.create_template(&key, template_body("스케줄 배지")).await;
    // Nothing happened yet: Monday 08:00 brings no email.
    let quiet = Utc.with_ymd_and_hms(2026, 11, 22, 23, 0, 0).unwrap();
    let out = digest::run(t.app_of(FunctionName::Analytics), quiet, false, None)
        .await
        .unwrap();
    assert!(
        matches!(out.as_slice(), [digest::Outcome::Quiet { .. }]),
        "{out:?}"
    );
    // A badge issued during the week of 23–29 Nov (Seoul).
    issue_at(
        &t,
        &issuer,
        tpl["id"].as_str().unwrap(),
        Utc.with_ymd_and_hms(2026, 11, 25, 3, 0, 0).unwrap(),
        None,
    )
    .await;
    let mut runner = t.runner();
    // Sunday 23:00 UTC = Monday 08:00 in Seoul: the schedule fires, the digest goes out.
    let at = Utc.with_ymd_and_hms(2026, 11, 29, 23, 0, 0).unwrap();
    assert_eq!(runner.fire_recurring(at).await.unwrap(), 1);
    assert_eq!(
        runner.fire_recurring(at).await.unwrap(),
        0,
        "once per minute"
    );
    assert_eq!(
        runner
            .fire_recurring(at + chrono::Duration::minutes(1))
            .await
            .unwrap(),
        0,
        "hourly"
    );
    let mails = t.mail_to(&admin).await;
    assert_eq!(mails.len(), 1);
    assert!(
        mails[0].subject().contains("주간 배지 리포트"),
        "{}",
        mails[0].subject()
    );
    // Tuesday (UTC) runs too (what Monday's runs left, until Tuesday 08:00 local); Wednesday
    // no run.
    let tue = Utc.with_ymd_and_hms(2026, 12, 1, 23, 0, 0).unwrap();
    assert_eq!(runner.fire_recurring(tue).await.unwrap(), 1);
    assert_eq!(t.mail_to(&admin).await.len(), 1, "sent once");
    let wed = Utc.with_ymd_and_hms(2026, 12, 2, 23, 0, 0).unwrap();
    assert_eq!(runner.fire_recurring(wed).await.unwrap(), 0);
}

/// DynamoDB ends a Query page at 1 MB read, whatever its `Limit`: awards of ~110 KB fill a page
/// at 9. The export still sends every award once, whole file or page by page, because each
/// response reads up to its boundary's key rather than counting the items it asked for.
#[tokio::test]
async fn the_export_of_large_awards_sends_each_once_across_pages_cut_at_one_megabyte() {
    let t = spawn_app().await;
    let (key, tpl) = t.issuer_with_template().await;
    let long = "가".repeat(9_000);
    let evidence: Vec<Value> = (0..3).map(|_| json!({"narrative": long})).collect();
    let mut issued = std::collections::HashSet::new();
    for i in 0..14 {
        let body = json!({"template_id": tpl["id"], "narrative": long, "evidence": evidence,
            "recipient": {"email": format!("big{i}.{}@example.com", uuid::Uuid::new_v4().simple()), "name": "큰 배지"}});
        issued.insert(t.issue(&key, body).await["id"].as_str().unwrap().to_owned());
    }
    for limit in [None, Some(10), Some(4)] {
        let mut path = match limit {
            Some(n) => format!("/v1/analytics/export?limit={n}"),
            None => "/v1/analytics/export".to_owned(),
        };
        let mut ids = Vec::new();
        loop {
            let r = t.call("GET", &path, Some(&key), None).await;
            assert_eq!(r.status, StatusCode::OK, "{path}: {}", r.text());
            let body = r.text();
            let mut rd = csv::Reader::from_reader(body.trim_start_matches('\u{feff}').as_bytes());
            let rows: Vec<String> = rd.records().map(|r| award_id_cell(&r.unwrap())).collect();
            assert!(
                rows.len() <= limit.unwrap_or(usize::MAX),
                "{limit:?}: {}",
                rows.len()
            );
            ids.extend(rows);
            match next_link(&r) {
                Some(next) => path = next,
                None => break,
            }
        }
        let unique: std::collections::HashSet<String> = ids.iter().cloned().collect();
        assert_eq!(ids.len(), 14, "{limit:?}: {ids:?}");
        assert_eq!(unique, issued, "{limit:?}");
    }
}

/// Lambda answers at most 6 MB. Awards whose names, cohorts and external ids are as long as
/// allowed make ~1.9 KB rows: the export's first response ends before 5 MB as Lambda writes it
/// (a JSON string), its Link goes on, and the pages together hold every award once.
#[tokio::test]
async fn an_export_of_long_rows_stays_inside_lambdas_response_limit_and_loses_none() {
    let t = spawn_app().await;
    let (key, tpl) = t.issuer_with_template().await;
    let tid = tpl["id"].as_str().unwrap();
    let (name, cohort, ext) = ("가".repeat(200), "나".repeat(100), "다".repeat(190));
    let mut file = String::from("email,name,template_id,cohort,external_id\r\n");
    let rows = 3_000;
    for i in 0..rows {
        let local = format!("{}{i:05}", "a".repeat(59));
        file += &format!(
            "{local}@{}.example.com,{name},{tid},{cohort},{ext}{i:05}\r\n",
            "b".repeat(60)
        );
    }
    let batch = t
        .ingested_batch(
            &key,
            json!({"filename": "long.csv", "template_id": tid}),
            file.as_bytes(),
        )
        .await;
    assert_eq!(batch["counts"]["issued"], rows, "{batch}");
    let mut path = "/v1/analytics/export".to_owned();
    let (mut ids, mut pages) = (Vec::new(), 0);
    loop {
        let r = t.call("GET", &path, Some(&key), None).await;
        assert_eq!(r.status, StatusCode::OK, "{path}");
        let body = r.text();
        let as_lambda_writes_it = serde_json::to_string(&body).unwrap().len();
        assert!(as_lambda_writes_it <= 5_000_000, "{as_lambda_writes_it}");
        let mut rd = csv::Reader::from_reader(body.trim_start_matches('\u{feff}').as_bytes());
        ids.extend(rd.records().map(|r| award_id_cell(&r.unwrap())));
        pages += 1;
        match next_link(&r) {
            Some(next) => path = next,
            None => break,
        }
    }
    assert!(pages >= 2, "the body limit ended the first page");
    let unique: std::collections::HashSet<&String> = ids.iter().collect();
    assert_eq!((ids.len(), unique.len()), (rows, rows));
}

/// The path of an export response's `Link: <…>; rel="next"`, if it has one.
fn next_link(r: &accolade_tests::Response) -> Option<String> {
    let l = r.header("link")?;
    Some(l.trim_start_matches('<').split('>').next()?.to_owned())
}

/// The award id of an export row. An id can start with `-` (one in 64), which a spreadsheet
/// takes for a formula: the export writes it formula-safe, after a `'` (OWASP's CSV injection
/// advice), which a program reading the file strips.
fn award_id_cell(row: &csv::StringRecord) -> String {
    row[0].strip_prefix('\'').unwrap_or(&row[0]).to_owned()
}

/// Clicks from a promotional KakaoTalk/SMS text (`?src=sms-day3`, `sms-day7`) are counted apart
/// from the page's and the emails' (before, they counted as page clicks and raised the click-
/// through rate), and an enrolment from a day-3 text is a day-3 conversion.
#[tokio::test]
async fn clicks_from_texts_are_counted_apart_and_convert() {
    let t = spawn_app().await;
    let (key, tpl) = crate::emails::storefront(&t).await;
    let a = t
        .issue(&key, json!({"template_id": tpl["id"], "recipient": {"email": unique_email("text-click"), "name": "T"}}))
        .await;
    let id = a["id"].as_str().unwrap();
    click(&t, id, "enrol?src=sms-day3").await;
    click(&t, id, "enrol?src=sms-day7").await;
    click(&t, id, "enrol").await;
    let rep = get(
        &t,
        &key,
        &format!("?template={}", tpl["id"].as_str().unwrap()),
    )
    .await;
    let m = &rep["totals"];
    assert_eq!(m["clicks"]["from_text"], 2, "{m}");
    assert_eq!(m["clicks"]["from_page"], 1, "{m}");
    assert_eq!(m["clicks"]["from_email"], 0, "{m}");
    assert_eq!(m["conversions_by_stage"], json!({"day3": 1, "day7": 1}));
}
