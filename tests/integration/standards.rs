//! Issue #3 against real outside tools: the 1EdTech Open Badges 2.0 validator and a QR decoder.

use accolade_tests::{spawn_app, template_body, StatusCode};
use serde_json::json;
use std::path::PathBuf;

fn python(var: &str, venv: &str) -> PathBuf {
    std::env::var_os(var).map_or_else(
        || infra::repo_root().join(venv).join("bin/python"),
        PathBuf::from,
    )
}

fn script(name: &str) -> PathBuf {
    infra::repo_root().join("infra/scripts").join(name)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn openbadges_validator_accepts_the_hosted_assertion() {
    let t = spawn_app().await;
    let (_, key) = t.issuer("Hanbit University").await;
    let mut body = template_body("Data Analysis Foundations");
    body["validity"] = json!({"kind": "days_after_issue", "days": 365});
    // Brackets as LMSs write query arrays: published percent-encoded (the validator wants URIs).
    body["criteria"]["url"] = json!("https://univ.example.ac.kr/criteria/data?tags[]=sql");
    let tpl = t.create_template(&key, body).await;
    let email = "Validator.Test@Example.com";
    let a = t
        .issue(
            &key,
            json!({"template_id": tpl["id"], "recipient": {"email": email, "name": "Val Idator"},
                   "narrative": "Final project", "evidence": [{"url": "https://github.com/example/project?files[]=a", "narrative": "Repository"}]}),
        )
        .await;
    let url = a["urls"]["open_badges_assertion"]
        .as_str()
        .unwrap()
        .to_owned();
    // The recipient as a backpack holds the address (Badgr lower-cases it on both sides).
    let holder = a["recipient"]["email"]
        .as_str()
        .unwrap()
        .to_ascii_lowercase();
    let out = tokio::process::Command::new(python("OPENBADGES_PYTHON", ".venv-openbadges"))
        .arg(script("ob2_validate.py"))
        .arg(&url)
        .arg(&holder)
        .output()
        .await
        .expect("the validator runs (make test installs it)");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let report: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap_or_else(|_| {
        panic!(
            "{}\n{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        )
    });
    assert_eq!(report["valid"], true, "{report:#}");
    assert_eq!(report["errorCount"], 0, "{report:#}");

    // The link the learner was given (email, LinkedIn, share buttons) pasted into the validator:
    // it asks for JSON-LD, and the page's URL answers with the assertion (no view counted).
    let page = a["urls"]["page"].as_str().unwrap();
    let out = tokio::process::Command::new(python("OPENBADGES_PYTHON", ".venv-openbadges"))
        .arg(script("ob2_validate.py"))
        .arg(page)
        .arg(&holder)
        .output()
        .await
        .unwrap();
    let report: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap_or_else(|_| {
        panic!("{}", String::from_utf8_lossy(&out.stderr));
    });
    assert_eq!(report["valid"], true, "by the page's URL: {report:#}");
    let id = a["id"].as_str().unwrap();
    let counters = t
        .app
        .store
        .award_counters(&accolade::domain::ids::AwardId::parse(id).unwrap())
        .await
        .unwrap();
    assert_eq!(counters.get("views"), None, "{counters:?}");
    let browser = t.browse(&t.path_of(page)).await;
    assert!(browser
        .header("content-type")
        .unwrap()
        .starts_with("text/html"));
    assert_eq!(browser.header("vary"), Some("Accept"));

    // The validator checks the hash only with the right address: a wrong one must fail.
    let out = tokio::process::Command::new(python("OPENBADGES_PYTHON", ".venv-openbadges"))
        .arg(script("ob2_validate.py"))
        .arg(&url)
        .arg("someone.else@example.com")
        .output()
        .await
        .unwrap();
    let report: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(
        report["valid"], false,
        "a wrong recipient must not verify: {report:#}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn qr_png_decodes_to_the_page_url() {
    let t = spawn_app().await;
    let (_, key) = t.issuer("U").await;
    let tpl = t.create_template(&key, template_body("QR")).await;
    let a = t
        .issue(
            &key,
            json!({"template_id": tpl["id"], "recipient": {"email": "q@example.com", "name": "Q"}}),
        )
        .await;
    let id = a["id"].as_str().unwrap();
    let png = t.browse(&format!("/b/{id}/qr.png")).await;
    assert_eq!(png.status, StatusCode::OK);
    assert_eq!(png.header("content-type"), Some("image/png"));
    assert!(png
        .header("cache-control")
        .unwrap()
        .contains("max-age=31536000"));
    let dir = std::env::temp_dir().join(format!("accolade-qr-{id}"));
    std::fs::create_dir_all(&dir).unwrap();
    let file = dir.join("qr.png");
    std::fs::write(&file, &png.body).unwrap();
    let out = tokio::process::Command::new(python("TOOLS_PYTHON", ".venv"))
        .arg(script("qr_decode.py"))
        .arg(&file)
        .output()
        .await
        .expect("the QR decoder runs (make test installs it)");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(
        String::from_utf8_lossy(&out.stdout).trim(),
        a["urls"]["page"].as_str().unwrap()
    );
    let svg = t.browse(&format!("/b/{id}/qr.svg")).await;
    assert_eq!(svg.header("content-type"), Some("image/svg+xml"));
    assert!(svg.text().contains("<svg"));
    // QR codes are not minted for ids that do not exist.
    assert_eq!(
        t.browse("/b/AAAAAAAAAAAAAAAAAAAAAA/qr.png").await.status,
        StatusCode::NOT_FOUND
    );
    assert_eq!(
        t.browse(&format!("/b/{id}/qr.gif")).await.status,
        StatusCode::NOT_FOUND
    );
}
