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
