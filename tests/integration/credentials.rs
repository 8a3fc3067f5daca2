//! Issue #16: Open Badges 3.0 credentials from the local server (the verify function, as its
//! template.yaml principal), checked by outside tools: the 1EdTech JSON Schema (Python
//! `jsonschema`) and the DCC verifier (`tests/verifier/verify.mjs`, npm verifier-core, offline;
//! it resolves the issuer's did:web and fetches the status list from this server).

use accolade_tests::{spawn_app, template_body, unique_email, StatusCode, TestApp};
use serde_json::{json, Value};
use std::path::PathBuf;

fn write_temp(name: &str, bytes: &[u8]) -> PathBuf {
    let dir = infra::repo_root().join("test-output/credentials");
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join(format!("{}-{name}", uuid::Uuid::new_v4().simple()));
    std::fs::write(&path, bytes).unwrap();
    path
}

/// The DCC verifier's verdict: `{signature, expiration, revocation, errors, …}`.
async fn verify(credential: &str) -> Value {
    let path = write_temp("vc.json", credential.as_bytes());
    let out = tokio::process::Command::new("node")
        .arg(infra::repo_root().join("tests/verifier/verify.mjs"))
        .arg(&path)
        .output()
        .await
        .expect("node runs (make test installs tests/verifier with npm ci)");
    assert!(
        out.status.success(),
        "verifier harness failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).expect("the harness prints one JSON object")
}

async fn schema_errors(credential: &str) -> Option<String> {
    let path = write_temp("schema.json", credential.as_bytes());
    let python = std::env::var_os("TOOLS_PYTHON").map_or_else(
        || infra::repo_root().join(".venv/bin/python"),
        PathBuf::from,
    );
    let out = tokio::process::Command::new(python)
        .arg(infra::repo_root().join("infra/scripts/ob3_schema.py"))
        .arg(&path)
        .output()
        .await
        .unwrap();
    (!out.status.success()).then(|| String::from_utf8_lossy(&out.stdout).into_owned())
}

async fn credential_of(t: &TestApp, award: &Value) -> String {
    let path = t.path_of(award["urls"]["verifiable_credential"].as_str().unwrap());
    let r = t.browse(&path).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text());
    assert_eq!(r.header("content-type"), Some("application/ld+json"));
    r.text()
}

/// Key `n` of the issuer signing from now, as the two minutes a new key waits would make it.
async fn published(t: &TestApp, issuer: &str, n: u32) {
    let id = accolade::domain::ids::IssuerId::parse(issuer).unwrap();
    let (pk, sk) = accolade::store::keys::signing_key(&id, n);
    let now = chrono::Utc::now();
    aws_sdk_dynamodb::Client::new(&t.sdk)
        .update_item()
        .table_name(&t.names.table)
        .key("PK", aws_sdk_dynamodb::types::AttributeValue::S(pk))
        .key("SK", aws_sdk_dynamodb::types::AttributeValue::S(sk))
        .update_expression("SET signs_from = :c")
        .condition_expression("attribute_exists(PK)")
        .expression_attribute_values(
            ":c",
            aws_sdk_dynamodb::types::AttributeValue::S(now.to_rfc3339()),
        )
        .send()
        .await
        .unwrap();
}

fn signed_with(vc: &str) -> String {
    let v: Value = serde_json::from_str(vc).unwrap();
    let method = v["proof"][0]["verificationMethod"].as_str().unwrap();
    method.rsplit('#').next().unwrap().to_owned()
}

/// The verifier's verdict; its own check of the 1EdTech schema must pass too.
fn assert_verdict(v: &Value, signature: bool, expiration: bool, revocation: bool) {
    assert_eq!(
        (
            &v["signature"],
            &v["expiration"],
            &v["revocation"],
            &v["schema"]
        ),
        (
            &json!(signature),
            &json!(expiration),
            &json!(revocation),
            &json!(true)
        ),
        "{v:#}"
    );
}

/// The verdict once `done` holds: the verify Lambda reuses a signed status list for a few
/// seconds, so a revocation reaches verifiers a little later (never a fixed wait).
async fn verify_until(credential: &str, done: impl Fn(&Value) -> bool) -> Value {
    for _ in 0..60 {
        let v = verify(credential).await;
        if done(&v) {
            return v;
        }
    }
    panic!("the verifier never saw the change")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_credential_is_schema_valid_verifies_fails_when_changed_and_is_revoked_by_status() {
    let t = spawn_app().await;
    let (_, key) = t.issuer("한빛대학교").await;
    // a tab pasted from a spreadsheet, and evidence URLs that are URLs but not IRIs: all signed
    let mut body = template_body("데이터 분석 기초");
    body["description"] = json!("8주 과정\t수료");
    let tpl = t.create_template(&key, body).await;
    let award = t
        .issue(
            &key,
            json!({"template_id": tpl["id"], "recipient": {"email": unique_email("learner"), "name": "김민수"},
                   "evidence": [{"url": "https://e.example/a[1]?q=%zz", "narrative": "과제"},
                                {"url": "https://e.example:abc/", "narrative": "포트"},
                                // the achievement's own id: one node of two types
                                {"url": tpl["urls"]["page"], "narrative": "과정 페이지"}]}),
        )
        .await;
    let vc = credential_of(&t, &award).await;
    assert_eq!(schema_errors(&vc).await, None);
    let doc: Value = serde_json::from_str(&vc).unwrap();
    assert!(doc["issuer"]["id"]
        .as_str()
        .unwrap()
        .starts_with("did:web:127.0.0.1%3A"));
    assert!(
        !vc.contains('@') || !vc.contains("learner"),
        "the email never appears: {vc}"
    );
    assert_eq!(doc["proof"][0]["cryptosuite"], "eddsa-rdfc-2022");
    assert_verdict(&verify(&vc).await, true, true, true);
    // The status list is valid from well before now: a verifier whose clock is a little slow
    // still accepts it (DCC checks the list's `validFrom`).
    let list = t
        .browse(
            &t.path_of(
                doc["credentialStatus"]["statusListCredential"]
                    .as_str()
                    .unwrap(),
            ),
        )
        .await
        .json();
    let from: chrono::DateTime<chrono::Utc> = list["validFrom"].as_str().unwrap().parse().unwrap();
    assert!(
        chrono::Utc::now() - from > chrono::Duration::minutes(59),
        "{from}"
    );
    // the same credential on every request (signed once, stored), at one read
    t.requests.reset();
    assert_eq!(credential_of(&t, &award).await, vc);
    assert_eq!(
        t.requests.get("dynamodb.GetItem"),
        1,
        "{:?}",
        t.requests.snapshot()
    );
    assert_eq!(t.requests.total(), 1, "{:?}", t.requests.snapshot());

    // one byte of the signed credential changed
    let changed = vc.replacen("데이터 분석 기초", "데이터 분석 기조", 1);
    assert_ne!(changed, vc);
    assert_eq!(verify(&changed).await["signature"], json!(false));

    let id = award["id"].as_str().unwrap();
    let r = t
        .call(
            "POST",
            &format!("/v1/awards/{id}/revoke"),
            Some(&key),
            Some(json!({"reason": "issued in error"})),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text());
    let v = verify_until(&vc, |v| v["revocation"] == json!(false)).await;
    assert_verdict(&v, true, true, false);

    // the issuer's one list is served under one spelling; lists it has not started are not
    let issuer = doc["issuer"]["id"]
        .as_str()
        .unwrap()
        .rsplit(':')
        .next()
        .unwrap()
        .to_owned();
    for (list, want) in [
        ("1", StatusCode::OK),
        ("01", StatusCode::NOT_FOUND),
        ("2", StatusCode::NOT_FOUND),
    ] {
        let r = t.browse(&format!("/issuers/{issuer}/status/{list}")).await;
        assert_eq!(r.status, want, "list {list}: {}", r.text());
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_expired_award_verifies_as_expired_and_a_revoked_one_gets_no_new_credential() {
    let t = spawn_app().await;
    let (key, tpl) = t.issuer_with_template().await;
    let expired = t
        .issue(
            &key,
            json!({"template_id": tpl["id"], "recipient": {"email": unique_email("old"), "name": "Old"},
                   "issued_on": "2024-01-02T00:00:00Z", "expires_on": "2025-01-02T00:00:00Z"}),
        )
        .await;
    let vc = credential_of(&t, &expired).await;
    assert_eq!(schema_errors(&vc).await, None);
    assert_verdict(&verify(&vc).await, true, false, true);

    let revoked = t
        .issue(&key, json!({"template_id": tpl["id"], "recipient": {"email": unique_email("r"), "name": "R"}}))
        .await;
    let id = revoked["id"].as_str().unwrap();
    let r = t
        .call(
            "POST",
            &format!("/v1/awards/{id}/revoke"),
            Some(&key),
            Some(json!({"reason": "x"})),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text());
    let r = t.browse(&format!("/b/{id}/credential.json")).await;
    assert_eq!(r.status, StatusCode::GONE, "{}", r.text());
    assert_eq!(r.json()["error"]["code"], "revoked");
    assert_eq!(r.header("access-control-allow-origin"), Some("*"));
}

/// Two first requests for one credential at once: in DynamoDB the later transaction may be
/// cancelled for the conflict (`TransactionConflict`), not by the put's condition. That request
/// serves the credential stored, as the other did, rather than a 503.
#[tokio::test]
async fn a_first_request_whose_store_meets_a_conflict_serves_the_stored_credential() {
    let t = spawn_app().await;
    let (_, _, award) = t.one_award().await;
    t.faults().arm_at_nth(
        "dynamodb.TransactWriteItems",
        0,
        1,
        infra::metering::Fault::Conflict,
    );
    t.requests.reset();
    let first = credential_of(&t, &award).await;
    assert_eq!(
        t.faults().fired().as_deref(),
        Some("dynamodb.TransactWriteItems")
    );
    assert_eq!(
        t.requests.get("dynamodb.TransactWriteItems"),
        2,
        "the cancelled transaction wrote nothing, and was sent again: {:?}",
        t.requests.snapshot()
    );
    assert_eq!(credential_of(&t, &award).await, first, "one credential");
}

/// The credential inside `<openbadges:credential><![CDATA[…]]>`.
fn from_svg(svg: &str) -> String {
    let start = svg.find("<openbadges:credential><![CDATA[").unwrap() + 32;
    let end = svg[start..].find("]]></openbadges:credential>").unwrap();
    svg[start..start + end].to_owned()
}

/// The `openbadgecredential` iTXt text of a PNG, read with the `png` crate's decoder.
fn from_png(bytes: &[u8]) -> String {
    let reader = png::Decoder::new(std::io::Cursor::new(bytes))
        .read_info()
        .unwrap();
    let chunk = reader
        .info()
        .utf8_text
        .iter()
        .find(|c| c.keyword == "openbadgecredential")
        .expect("an openbadgecredential iTXt chunk");
    chunk.get_text().unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn baked_svg_and_png_carry_a_credential_that_verifies() {
    let t = spawn_app().await;
    let (key, _tpl, award) = t.one_award().await;
    let id = award["id"].as_str().unwrap().to_owned();
    // the badge page offers both downloads
    let page = t.browse(&format!("/b/{id}")).await.text();
    assert!(page.contains(&format!("/b/{id}/credential.json")), "{page}");
    assert!(page.contains(&format!("/b/{id}/badge.svg")), "{page}");
    let svg = t.browse(&format!("/b/{id}/badge.svg")).await;
    assert_eq!(svg.status, StatusCode::OK, "{}", svg.text());
    assert_eq!(svg.header("content-type"), Some("image/svg+xml"));
    let baked = from_svg(&svg.text());
    assert_eq!(baked, credential_of(&t, &award).await);
    assert_verdict(&verify(&baked).await, true, true, true);
    // the generated image is SVG; its PNG copy carries the credential as well
    let png = t.browse(&format!("/b/{id}/badge.png")).await;
    assert_eq!(png.status, StatusCode::OK, "{}", png.text());
    assert_verdict(&verify(&from_png(&png.body)).await, true, true, true);

    // a template with an uploaded PNG image
    let tpl = t.create_template(&key, template_body("PNG badge")).await;
    let tid = tpl["id"].as_str().unwrap();
    let image = accolade::render::qr::png("https://example.org/badge", 4).unwrap();
    let req = axum::http::Request::builder()
        .method("PUT")
        .uri(format!("/v1/templates/{tid}/image"))
        .header("authorization", format!("Bearer {key}"))
        .header("content-type", "image/png")
        .body(axum::body::Body::from(image))
        .unwrap();
    assert_eq!(t.send(req).await.status, StatusCode::OK);
    let award = t
        .issue(
            &key,
            json!({"template_id": tid, "recipient": {"email": unique_email("png"), "name": "P"}}),
        )
        .await;
    let pid = award["id"].as_str().unwrap();
    let png = t.browse(&format!("/b/{pid}/badge.png")).await;
    assert_eq!(png.status, StatusCode::OK, "{}", png.text());
    let baked = from_png(&png.body);
    assert_verdict(&verify(&baked).await, true, true, true);
    // an uploaded PNG is no SVG: that is refused with a reason
    let svg = t.browse(&format!("/b/{pid}/badge.svg")).await;
    assert_eq!(svg.status, StatusCode::NOT_FOUND);
    assert_eq!(svg.json()["error"]["code"], "other_format");
    let ob2 = t.browse(&format!("/b/{pid}/badge-ob2.png")).await;
    assert_eq!(ob2.status, StatusCode::OK);
    let reader = png::Decoder::new(std::io::Cursor::new(&ob2.body[..]))
        .read_info()
        .unwrap();
    let text = reader
        .info()
        .utf8_text
        .iter()
        .find(|c| c.keyword == "openbadges")
        .unwrap();
    assert!(text
        .get_text()
        .unwrap()
        .ends_with(&format!("/b/{pid}.json")));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn after_rotation_old_credentials_verify_and_new_ones_use_the_new_key() {
    let t = spawn_app().await;
    let (key, tpl, before) = t.one_award().await;
    let old = credential_of(&t, &before).await;
    let r = t
        .call("POST", "/v1/issuer/signing-keys/rotate", Some(&key), None)
        .await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.text());
    assert_eq!(r.json()["key"], "key-2");
    let signs_from: chrono::DateTime<chrono::Utc> =
        r.json()["signs_from"].as_str().unwrap().parse().unwrap();
    assert!(
        signs_from > chrono::Utc::now() + chrono::Duration::seconds(100),
        "two minutes on: {signs_from}"
    );
    let issue = |who: &'static str| {
        t.issue(&key, json!({"template_id": tpl["id"], "recipient": {"email": unique_email(who), "name": "N"}}))
    };
    // Key 2 is in the DID document at once (below) but does not sign while verifiers may hold
    // a copy of the document without it.
    let during = credential_of(&t, &issue("d").await).await;
    assert_eq!(signed_with(&during), "key-1");
    let issuer = t.call("GET", "/v1/issuer", Some(&key), None).await.json();
    published(&t, issuer["id"].as_str().unwrap(), 2).await;
    let new = credential_of(&t, &issue("n").await).await;
    assert_eq!(signed_with(&old), "key-1");
    assert_eq!(signed_with(&new), "key-2");
    assert_verdict(&verify(&old).await, true, true, true);
    assert_verdict(&verify(&during).await, true, true, true);
    assert_verdict(&verify(&new).await, true, true, true);
    let did = t
        .browse(&t.path_of(issuer["urls"]["did_document"].as_str().unwrap()))
        .await
        .json();
    assert_eq!(did["id"], issuer["did"]);
    assert_eq!(did["assertionMethod"].as_array().unwrap().len(), 2);
}

/// After a suspected leak the old key is retired: it leaves the DID document, so a credential a
/// thief signs with it fails verification, and the credentials it signed are signed again with
/// the new key when next asked for (same document and status entry, a new proof).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_rotation_after_a_leak_retires_the_old_key_and_its_credentials_are_signed_again() {
    let t = spawn_app().await;
    let (key, _tpl, award) = t.one_award().await;
    let old = credential_of(&t, &award).await;
    assert_verdict(&verify(&old).await, true, true, true);
    let r = t
        .call(
            "POST",
            "/v1/issuer/signing-keys/rotate?retire_previous=true",
            Some(&key),
            None,
        )
        .await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.text());
    assert_eq!(r.json()["key"], "key-2");
    assert_eq!(r.json()["retired"], json!(["key-1"]));
    let issuer = t.call("GET", "/v1/issuer", Some(&key), None).await.json();
    let did = t
        .browse(&t.path_of(issuer["urls"]["did_document"].as_str().unwrap()))
        .await
        .json();
    let methods = did["assertionMethod"].as_array().unwrap();
    assert_eq!(methods.len(), 1, "{did:#}");
    assert!(methods[0].as_str().unwrap().ends_with("#key-2"));
    // What key 1 signed (the credential as downloaded before, or a thief's) no longer verifies.
    let v = verify(&old).await;
    assert_eq!(v["signature"], json!(false), "{v:#}");
    // The credential asked for again: the same document, signed with key 2 (verify, not the api
    // function that rotated, reads the retirement once its cached key list expires).
    let path = t.path_of(award["urls"]["verifiable_credential"].as_str().unwrap());
    let again = t
        .browse_until(&path, |r| r.text().contains("#key-2"))
        .await
        .text();
    let doc = |vc: &str| {
        let mut v: Value = serde_json::from_str(vc).unwrap();
        v.as_object_mut().unwrap().remove("proof");
        v
    };
    assert_eq!(doc(&again), doc(&old), "the same document");
    assert!(again.contains("#key-2"), "{again}");
    assert_verdict(&verify(&again).await, true, true, true);
    assert_eq!(
        credential_of(&t, &award).await,
        again,
        "stored once, then served"
    );
}

/// A revoked badge whose key is then retired gets no fresh proof: its stored credential, served
/// until the retirement reaches the verify function, is `410` after it, and nothing is signed.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_revoked_badge_whose_key_is_retired_is_gone_and_not_signed_again() {
    let t = spawn_app().await;
    let (key, _tpl, award) = t.one_award().await;
    let old = credential_of(&t, &award).await;
    let id = award["id"].as_str().unwrap();
    let r = t
        .call(
            "POST",
            &format!("/v1/awards/{id}/revoke"),
            Some(&key),
            Some(json!({"reason": "x"})),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text());
    let r = t
        .call(
            "POST",
            "/v1/issuer/signing-keys/rotate?retire_previous=true",
            Some(&key),
            None,
        )
        .await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.text());
    let path = t.path_of(award["urls"]["verifiable_credential"].as_str().unwrap());
    let r = t.browse_until(&path, |r| r.status != StatusCode::OK).await;
    assert_eq!(r.status, StatusCode::GONE, "{}", r.text());
    assert_eq!(r.json()["error"]["code"], "revoked");
    let stored = t
        .app
        .store
        .get_credential(&accolade::domain::ids::AwardId::parse(id).unwrap())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(stored.json, old, "not signed again");
}

/// A credential stored before credentials recorded their issuer (2026-12-07) is served as it is
/// and, on that request, rewritten with its issuer (the same document), so the verify function's
/// one-read path serves it from then on.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_credential_stored_without_its_issuer_is_served_and_given_it() {
    let t = spawn_app().await;
    let (_key, _tpl, award) = t.one_award().await;
    let first = credential_of(&t, &award).await;
    let id = accolade::domain::ids::AwardId::parse(award["id"].as_str().unwrap()).unwrap();
    let stored = || async { t.app.store.get_credential(&id).await.unwrap().unwrap() };
    let issuer = stored().await.issuer.expect("stored with its issuer");
    let (pk, sk) = accolade::store::keys::credential(&id);
    aws_sdk_dynamodb::Client::new(&t.sdk)
        .update_item()
        .table_name(&t.names.table)
        .key("PK", aws_sdk_dynamodb::types::AttributeValue::S(pk))
        .key("SK", aws_sdk_dynamodb::types::AttributeValue::S(sk))
        .update_expression("REMOVE issuer_id")
        .send()
        .await
        .unwrap();
    assert_eq!(stored().await.issuer, None, "as stored before 2026-12-07");
    assert_eq!(credential_of(&t, &award).await, first, "served as it was");
    let again = stored().await;
    assert_eq!(again.issuer, Some(issuer), "rewritten with its issuer");
    assert_eq!(again.json, first, "the same document");
    assert_eq!(credential_of(&t, &award).await, first);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reissuing_revokes_the_replaced_credential_in_the_status_list() {
    let t = spawn_app().await;
    let (key, _tpl, award) = t.one_award().await;
    let old = credential_of(&t, &award).await;
    let id = award["id"].as_str().unwrap();
    let r = t
        .call(
            "POST",
            &format!("/v1/awards/{id}/reissue"),
            Some(&key),
            Some(json!({})),
        )
        .await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.text());
    let v = verify_until(&old, |v| v["revocation"] == json!(false)).await;
    assert_verdict(&v, true, true, false);
    let new = credential_of(&t, &r.json()).await;
    assert_verdict(&verify(&new).await, true, true, true);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_operator_cli_rotates_an_issuers_key() {
    let t = spawn_app().await;
    let (key, tpl, before) = t.one_award().await;
    let old = credential_of(&t, &before).await;
    let issuer = t.call("GET", "/v1/issuer", Some(&key), None).await.json();
    // `infra --local` reads the stack from $ACCOLADE_STACK_DIR/stack.json, as `make dev` writes it
    let dir = write_temp("stack", b"").with_extension("d");
    std::fs::create_dir_all(&dir).unwrap();
    let stack = json!({"endpoint_url": t.endpoint, "table_name": t.names.table,
        "uploads_bucket": t.names.bucket, "signing_key_arn": t.names.credential_key,
        "base_url": t.base_url});
    std::fs::write(dir.join("stack.json"), stack.to_string()).unwrap();
    let exe = std::env::current_exe().unwrap();
    let infra_bin = exe.parent().and_then(|d| d.parent()).unwrap().join("infra");
    let out = tokio::process::Command::new(infra_bin)
        .args(["--local", "issuer", "rotate-signing-key", "--issuer"])
        .arg(issuer["id"].as_str().unwrap())
        .env("ACCOLADE_STACK_DIR", &dir)
        .output()
        .await
        .expect("the infra binary is built (make test builds every binary)");
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{stdout}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        stdout
            .lines()
            .any(|l| l.starts_with("key-2\tsigns from ") && l.contains(" as did:web:")),
        "{stdout}"
    );
    published(&t, issuer["id"].as_str().unwrap(), 2).await;
    let after = t
        .issue(&key, json!({"template_id": tpl["id"], "recipient": {"email": unique_email("c"), "name": "C"}}))
        .await;
    let new: Value = serde_json::from_str(&credential_of(&t, &after).await).unwrap();
    assert!(new["proof"][0]["verificationMethod"]
        .as_str()
        .unwrap()
        .ends_with("#key-2"));
    assert_verdict(&verify(&old).await, true, true, true);
    assert_verdict(&verify(&new.to_string()).await, true, true, true);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_revocations_each_set_their_own_bit() {
    let t = spawn_app().await;
    let (key, tpl) = t.issuer_with_template().await;
    let mut credentials = Vec::new();
    for i in 0..4 {
        let a = t
            .issue(&key, json!({"template_id": tpl["id"], "recipient": {"email": unique_email(&format!("c{i}")), "name": "C"}}))
            .await;
        credentials.push((
            a["id"].as_str().unwrap().to_owned(),
            credential_of(&t, &a).await,
        ));
    }
    // three revoked at once (same status chunk item); the fourth stays valid
    let (t, key) = (&t, &key);
    let revocations = credentials[..3].iter().map(|(id, _)| async move {
        let path = format!("/v1/awards/{id}/revoke");
        let body = json!({"reason": "batch error"});
        t.call("POST", &path, Some(key), Some(body)).await.status
    });
    let answers = futures::future::join_all(revocations).await;
    assert!(answers.iter().all(|s| *s == StatusCode::OK), "{answers:?}");
    for (_, vc) in &credentials[..3] {
        let v = verify_until(vc, |v| v["revocation"] == json!(false)).await;
        assert_verdict(&v, true, true, false);
    }
    assert_verdict(&verify(&credentials[3].1).await, true, true, true);
}
