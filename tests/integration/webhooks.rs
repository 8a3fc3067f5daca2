//! Issue #17: outbound webhooks. A receiver on 127.0.0.1 (registered as `http://localhost:…`,
//! the local stack's one allowed host) records what arrives; the Standard Webhooks reference
//! library (PyPI `standardwebhooks`, `infra/scripts/webhook_verify.py`) checks every signature.
//! Everything runs through the functions' entry points as their principals: notify turns stream
//! records into deliveries, the webhooks function gets them from the queue (the runner is SQS's
//! event source mapping) and from retry schedules (fired on a test clock).

use accolade::domain::{
    ids::{IssuerId, WebhookId},
    webhook::{AllowedHosts, Webhook, WebhookSpec, WebhookUrl},
};
use accolade_tests::{csv_rows, spawn_app, unique_email, StatusCode, TestApp};
use axum::{extract::State, http::HeaderMap, response::IntoResponse, routing::post, Router};
use chrono::{DateTime, Utc};
use serde_json::{json, Value};
use std::{
    collections::VecDeque,
    path::PathBuf,
    sync::{Arc, Mutex},
};
use tokio::io::AsyncWriteExt;

/// One request the receiver got.
#[derive(Debug, Clone)]
pub(crate) struct Got {
    headers: Value,
    body: String,
}

impl Got {
    fn json(&self) -> Value {
        serde_json::from_str(&self.body).unwrap()
    }
    fn header(&self, name: &str) -> &str {
        self.headers[name].as_str().unwrap_or_default()
    }
}

#[derive(Clone, Default)]
pub(crate) struct Inbox {
    got: Arc<Mutex<Vec<Got>>>,
    /// Statuses to answer with, in order (then 200).
    plan: Arc<Mutex<VecDeque<u16>>>,
}

impl Inbox {
    pub(crate) fn all(&self) -> Vec<Got> {
        self.got.lock().unwrap().clone()
    }
    fn of_type(&self, t: &str) -> Vec<Got> {
        self.all()
            .into_iter()
            .filter(|g| g.json()["type"] == t)
            .collect()
    }
}

async fn hook(State(inbox): State<Inbox>, headers: HeaderMap, body: String) -> impl IntoResponse {
    let headers: serde_json::Map<String, Value> = headers
        .iter()
        .map(|(k, v)| (k.as_str().to_owned(), json!(v.to_str().unwrap_or_default())))
        .collect();
    inbox.got.lock().unwrap().push(Got {
        headers: Value::Object(headers),
        body,
    });
    let status = inbox.plan.lock().unwrap().pop_front().unwrap_or(200);
    let code = StatusCode::from_u16(status).unwrap();
    // A receiver that is rate-limiting asks for an hour.
    let wait = if status == 429 { "3600" } else { "" };
    (
        code,
        [
            ("location", "http://localhost:1/elsewhere"),
            ("retry-after", wait),
        ],
        "thanks; 고맙습니다",
    )
}

/// A receiver on 127.0.0.1: its URL (through the allowed host name) and what it got.
pub(crate) async fn receiver(plan: &[u16]) -> (String, Inbox) {
    let inbox = Inbox::default();
    inbox.plan.lock().unwrap().extend(plan);
    let app = Router::new()
        .route("/hook", post(hook))
        .with_state(inbox.clone());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    tokio::spawn(async move {
        let _ = axum::serve(listener, app).await;
    });
    (format!("http://localhost:{port}/hook"), inbox)
}

/// The reference libraries' verdict on each message, with `secret`: Python's (PyPI
/// `standardwebhooks`) and Node's (npm `standardwebhooks`, as the README's snippet uses it), which
/// must agree.
async fn verdicts(secret: &str, messages: &[Got]) -> Vec<String> {
    let python = std::env::var_os("TOOLS_PYTHON").map_or_else(
        || infra::repo_root().join(".venv/bin/python"),
        PathBuf::from,
    );
    let job = json!({
        "secret": secret,
        "messages": messages.iter().map(|m| json!({"headers": m.headers, "body": m.body})).collect::<Vec<_>>(),
    });
    let scripts = infra::repo_root();
    let py = run_checker(
        python.into_os_string(),
        scripts.join("infra/scripts/webhook_verify.py"),
        &job,
    )
    .await;
    let node = run_checker(
        "node".into(),
        scripts.join("tests/verifier/webhook.mjs"),
        &job,
    )
    .await;
    let ok = |v: &[String]| v.iter().map(|x| x == "ok").collect::<Vec<_>>();
    assert_eq!(ok(&py), ok(&node), "Python says {py:?}, Node says {node:?}");
    py
}

async fn run_checker(program: std::ffi::OsString, script: PathBuf, job: &Value) -> Vec<String> {
    let mut child = tokio::process::Command::new(&program)
        .arg(&script)
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| {
            panic!(
                "{program:?} {}: {e} (make test installs both)",
                script.display()
            )
        });
    let mut stdin = child.stdin.take().unwrap();
    stdin.write_all(job.to_string().as_bytes()).await.unwrap();
    drop(stdin);
    let out = child.wait_with_output().await.unwrap();
    assert!(out.status.success(), "{} failed", script.display());
    serde_json::from_slice(&out.stdout).unwrap()
}

/// The README's shell recipe (openssl) for one request: `v1,{signature}`.
async fn shell_signature(secret: &str, g: &Got) -> String {
    const RECIPE: &str = r#"key=$(printf %s "${SECRET#whsec_}" | base64 -d | od -An -tx1 | tr -d ' \n')
printf '%s.%s.%s' "$WEBHOOK_ID" "$WEBHOOK_TIMESTAMP" "$(cat body.json)" \
  | openssl dgst -sha256 -mac HMAC -macopt "hexkey:$key" -binary | base64"#;
    let readme = std::fs::read_to_string(infra::repo_root().join("README.md")).unwrap();
    assert!(
        readme.contains(RECIPE),
        "the README's recipe is the one tested"
    );
    let dir = std::env::temp_dir().join(format!("webhook-{}", uuid::Uuid::new_v4().simple()));
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(dir.join("body.json"), &g.body).unwrap();
    let out = tokio::process::Command::new("sh")
        .args(["-c", RECIPE])
        .current_dir(&dir)
        .env("SECRET", secret)
        .env("WEBHOOK_ID", g.header("webhook-id"))
        .env("WEBHOOK_TIMESTAMP", g.header("webhook-timestamp"))
        .output()
        .await
        .unwrap();
    let _ = std::fs::remove_dir_all(&dir);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    format!("v1,{}", String::from_utf8_lossy(&out.stdout).trim())
}

/// The same request with one byte of the body changed.
fn tampered(g: &Got) -> Got {
    let mut bytes = g.body.clone().into_bytes();
    let i = bytes
        .iter()
        .position(|b| b.is_ascii_digit() || b.is_ascii_lowercase())
        .unwrap();
    bytes[i] = if bytes[i] == b'1' { b'2' } else { b'1' };
    Got {
        headers: g.headers.clone(),
        body: String::from_utf8(bytes).unwrap(),
    }
}

async fn register(t: &TestApp, key: &str, body: Value) -> Value {
    let r = t.call("POST", "/v1/webhooks", Some(key), Some(body)).await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.text());
    r.json()
}

/// Stream → notify (deliveries queued) → queue → webhooks, until nothing moves.
async fn settle(t: &TestApp) {
    loop {
        let moved = t.roll_up().await + t.deliver_webhooks().await;
        if moved == 0 {
            return;
        }
    }
}

async fn deliveries(t: &TestApp, key: &str, webhook: &str) -> Vec<Value> {
    let r = t
        .call(
            "GET",
            &format!("/v1/webhooks/{webhook}/deliveries"),
            Some(key),
            None,
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text());
    r.json()["data"].as_array().unwrap().clone()
}

/// Makes one fact of every kind but `award.expired`: two awards (`a`, `b`), a first view and a
/// first share of `a` (each twice: the second is no new fact), `a` revoked, `b` re-issued, a batch
/// of two that completes and one that fails, a bounce of `b`'s day-1 email and a complaint about
/// `a`'s. Answers `a` and `b`'s id.
async fn every_fact(t: &TestApp, key: &str, tpl: &Value) -> (Value, String) {
    let issue = |to: String| {
        t.issue(
            key,
            json!({"template_id": tpl["id"], "recipient": {"email": to, "name": "김민수"}}),
        )
    };
    let a = issue(unique_email("a")).await;
    let b = issue(unique_email("b")).await;
    let (a_id, b_id) = (a["id"].as_str().unwrap(), b["id"].as_str().unwrap());
    // First human view and first share of `a`, twice each (the second is no new fact).
    for _ in 0..2 {
        t.browse(&format!("/b/{a_id}")).await;
        t.browse(&format!("/b/{a_id}/go/share-linkedin")).await;
    }
    let r = t
        .call(
            "POST",
            &format!("/v1/awards/{a_id}/revoke"),
            Some(key),
            Some(json!({"reason": "오발급"})),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text());
    let r = t
        .call(
            "POST",
            &format!("/v1/awards/{b_id}/reissue"),
            Some(key),
            Some(json!({})),
        )
        .await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.text());
    // A batch that completes and one that fails (no email column).
    let done = t
        .ingested_batch(
            key,
            json!({"filename": "명단.csv", "template_id": tpl["id"], "notify": false}),
            &csv_rows(2, &format!("wh{}-", uuid::Uuid::new_v4().simple())),
        )
        .await;
    assert_eq!(done["status"], "completed", "{done:#}");
    let broke = t
        .ingested_batch(
            key,
            json!({"filename": "bad.csv", "template_id": tpl["id"]}),
            b"name\nKim\n",
        )
        .await;
    assert_eq!(broke["status"], "failed", "{broke:#}");
    // SES says the day-1 email of `b` bounced, and a complaint about `a`'s.
    for (award, kind) in [
        (b_id, "eventbridge-ses-bounce.json"),
        (a_id, "eventbridge-ses-complaint.json"),
    ] {
        let path = infra::repo_root().join("tests/events").join(kind);
        let text = std::fs::read_to_string(path)
            .unwrap()
            .replace("AAAAAAAAAAAAAAAAAAAAAA", award);
        let mut e: Value = serde_json::from_str(&text).unwrap();
        e["id"] = json!(uuid::Uuid::new_v4().to_string());
        t.ses_event(&e).await;
    }
    (a, b_id.to_owned())
}

/// Every request verifies with both reference libraries and the README's shell recipe; none does
/// with one byte of its body changed.
async fn assert_signed(secret: &str, got: &[Got]) {
    assert!(verdicts(secret, got).await.iter().all(|v| v == "ok"));
    let changed: Vec<Got> = got.iter().map(tampered).collect();
    let refused = verdicts(secret, &changed).await;
    assert!(
        refused.iter().all(|v| v.starts_with("rejected")),
        "{refused:?}"
    );
    for (g, c) in got.iter().zip(&changed).take(3) {
        let listed = |sig: &str| g.header("webhook-signature").split(' ').any(|s| s == sig);
        assert!(
            listed(&shell_signature(secret, g).await),
            "the shell recipe agrees"
        );
        assert!(
            !listed(&shell_signature(secret, c).await),
            "not with a changed byte"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_event_type_arrives_once_with_a_signature_the_reference_library_accepts() {
    let t = spawn_app().await;
    let (key, tpl) = t.issuer_with_template().await;
    let (url, inbox) = receiver(&[]).await;
    let all = [
        "award.issued",
        "award.revoked",
        "award.reissued",
        "award.shared",
        "award.viewed",
        "batch.completed",
        "batch.failed",
        "email.bounced",
        "email.complained",
    ];
    let w = register(
        &t,
        &key,
        json!({"url": url, "events": all, "description": "LMS"}),
    )
    .await;
    assert!(w["secret"].as_str().unwrap().starts_with("whsec_"));
    let (a, b_id) = every_fact(&t, &key, &tpl).await;
    let a_id = a["id"].as_str().unwrap();
    settle(&t).await;
    for ty in all {
        assert_eq!(
            inbox.of_type(ty).len(),
            if ty == "award.issued" { 4 } else { 1 },
            "{ty}: {:#?}",
            inbox.all()
        );
    }
    let issued = inbox.of_type("award.issued");
    let first = issued
        .iter()
        .find(|g| g.json()["data"]["award_id"] == a_id)
        .unwrap()
        .json();
    assert_eq!(first["data"]["recipient"]["email"], a["recipient"]["email"]);
    assert_eq!(
        inbox.of_type("award.shared")[0].json()["data"]["network"],
        "linkedin"
    );
    assert_eq!(
        inbox.of_type("award.reissued")[0].json()["data"]["replaces"],
        b_id
    );
    assert_eq!(
        inbox.of_type("email.bounced")[0].json()["data"]["stage"],
        "day1"
    );
    // A batch's counts as the API shows them (README: `skipped_duplicate`, not the stored name).
    let done = inbox.of_type("batch.completed")[0].json();
    let counts = done["data"]["counts"].as_object().unwrap();
    let mut keys: Vec<&str> = counts.keys().map(String::as_str).collect();
    keys.sort_unstable();
    assert_eq!(
        keys,
        ["invalid", "issued", "rows", "skipped_duplicate", "valid"]
    );
    let got = inbox.all();
    let secret = w["secret"].as_str().unwrap();
    assert_signed(secret, &got).await;
    // The same stream records again (a retried batch) make no second event.
    let before = got.len();
    // A fresh mapping reads the stream from its start, as after a lost checkpoint.
    t.runner().deliver_stream().await.unwrap();
    t.deliver_webhooks().await;
    assert_eq!(
        inbox.all().len(),
        before,
        "a redelivered stream batch made new events"
    );
    let listed = deliveries(&t, &key, w["id"].as_str().unwrap()).await;
    assert_eq!(listed.len(), before);
    assert!(
        listed
            .iter()
            .all(|d| d["state"] == "succeeded" && d["last_attempt"]["status_code"] == 200),
        "{listed:#?}"
    );
    assert_eq!(listed[0]["last_attempt"]["response"], "thanks; 고맙습니다");
}

/// Retries are schedules; `clock` follows them as Scheduler would fire them.
async fn next_attempt(t: &TestApp, key: &str, webhook: &str) -> Option<DateTime<Utc>> {
    let d = &deliveries(t, key, webhook).await[0];
    d["next_attempt_at"].as_str().map(|s| s.parse().unwrap())
}

/// `429` with `Retry-After: 3600`: the next attempt waits the hour asked for, not the schedule's
/// minute.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_receiver_asking_for_an_hour_with_retry_after_is_left_alone_for_it() {
    let t = spawn_app().await;
    let (_, key) = t.issuer("한도대학교").await;
    let (url, inbox) = receiver(&[429]).await;
    let w = register(&t, &key, json!({"url": url})).await;
    let id = w["id"].as_str().unwrap();
    let sent = Utc::now();
    let r = t
        .call("POST", &format!("/v1/webhooks/{id}/test"), Some(&key), None)
        .await;
    assert_eq!(r.status, StatusCode::ACCEPTED, "{}", r.text());
    t.deliver_webhooks().await;
    assert_eq!(inbox.all().len(), 1);
    let at = next_attempt(&t, &key, id).await.expect("a retry");
    assert!(
        at >= sent + chrono::Duration::seconds(3600),
        "the hour asked for, not the schedule's first minute: {at}"
    );
    // Up to 10 % jitter, so that endpoints throttled together are not retried together.
    assert!(
        at <= Utc::now() + chrono::Duration::seconds(3960 + 120),
        "{at}"
    );
    assert_eq!(t.fire_schedules(at - chrono::Duration::seconds(1)).await, 0);
    assert_eq!(t.fire_schedules(at).await, 1);
    t.deliver_webhooks().await;
    assert_eq!(inbox.all().len(), 2, "then sent, and answered 200");
    assert!(next_attempt(&t, &key, id).await.is_none());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_receiver_answering_500_twice_gets_the_event_on_the_third_attempt() {
    let t = spawn_app().await;
    let (_, key) = t.issuer("재시도대학교").await;
    let (url, inbox) = receiver(&[500, 503]).await;
    let w = register(&t, &key, json!({"url": url})).await;
    let id = w["id"].as_str().unwrap();
    let r = t
        .call("POST", &format!("/v1/webhooks/{id}/test"), Some(&key), None)
        .await;
    assert_eq!(r.status, StatusCode::ACCEPTED, "{}", r.text());
    t.deliver_webhooks().await;
    assert_eq!(inbox.all().len(), 1);
    for expected in [2, 3] {
        let at = next_attempt(&t, &key, id)
            .await
            .expect("a retry is scheduled");
        assert!(at > Utc::now(), "retries wait");
        assert_eq!(
            t.fire_schedules(at - chrono::Duration::seconds(1)).await,
            0,
            "not before its time"
        );
        assert_eq!(t.fire_schedules(at).await, 1);
        assert_eq!(
            t.deliver_webhooks().await,
            1,
            "the retry's schedule queued it"
        );
        assert_eq!(inbox.all().len(), expected);
    }
    let d = &deliveries(&t, &key, id).await[0];
    assert_eq!(d["state"], "succeeded", "{d:#}");
    assert_eq!(d["attempts"], 3);
    let ids: Vec<String> = inbox
        .all()
        .iter()
        .map(|g| g.header("webhook-id").to_owned())
        .collect();
    assert!(
        ids.iter().all(|i| i == &ids[0]),
        "one message id across retries: {ids:?}"
    );
    let verdict = verdicts(w["secret"].as_str().unwrap(), &inbox.all()).await;
    assert!(verdict.iter().all(|v| v == "ok"), "{verdict:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn after_rotation_both_secrets_verify_for_the_overlap() {
    let t = spawn_app().await;
    let (_, key) = t.issuer("회전대학교").await;
    let (url, inbox) = receiver(&[]).await;
    let w = register(&t, &key, json!({"url": url})).await;
    let id = w["id"].as_str().unwrap();
    let r = t
        .call(
            "POST",
            &format!("/v1/webhooks/{id}/rotate-secret"),
            Some(&key),
            None,
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text());
    let rotated = r.json();
    assert_ne!(rotated["secret"], w["secret"]);
    assert!(rotated["previous_secret_expires_at"].is_string());
    t.call("POST", &format!("/v1/webhooks/{id}/test"), Some(&key), None)
        .await;
    t.deliver_webhooks().await;
    let got = inbox.all();
    assert_eq!(got.len(), 1);
    assert_eq!(got[0].header("webhook-signature").split(' ').count(), 2);
    for secret in [&w["secret"], &rotated["secret"]] {
        assert_eq!(verdicts(secret.as_str().unwrap(), &got).await, vec!["ok"]);
    }
    // Secrets are shown once: never in a read.
    let read = t
        .call("GET", &format!("/v1/webhooks/{id}"), Some(&key), None)
        .await
        .text();
    assert!(
        !read.contains(rotated["secret"].as_str().unwrap())
            && !read.contains(w["secret"].as_str().unwrap())
    );
}

/// A rotation sent again with its `Idempotency-Key` (its answer lost) answers the same secret and
/// rotates nothing: the secret the receiver still uses keeps signing for its 24 hours. Another key
/// rotates again.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_rotation_sent_again_with_its_idempotency_key_rotates_once() {
    let t = spawn_app().await;
    let (_, key) = t.issuer("한번대학교").await;
    let (url, inbox) = receiver(&[]).await;
    let w = register(&t, &key, json!({"url": url})).await;
    let id = w["id"].as_str().unwrap();
    let rotate = |idem: &'static str| {
        let path = format!("/v1/webhooks/{id}/rotate-secret");
        let key = key.clone();
        let t = &t;
        async move {
            let r = t
                .call_with(
                    "POST",
                    &path,
                    Some(&key),
                    None,
                    &[("idempotency-key", idem)],
                )
                .await;
            assert_eq!(r.status, StatusCode::OK, "{}", r.text());
            r.json()
        }
    };
    let first = rotate("rotation-2026-12-07").await;
    let again = rotate("rotation-2026-12-07").await;
    assert_eq!(again["secret"], first["secret"], "the same secret again");
    assert_eq!(
        again["previous_secret_expires_at"], first["previous_secret_expires_at"],
        "the first secret still signs for its 24 hours"
    );
    test_event(&t, &key, id).await;
    t.deliver_webhooks().await;
    let got = inbox.all();
    for secret in [&w["secret"], &first["secret"]] {
        assert_eq!(verdicts(secret.as_str().unwrap(), &got).await, vec!["ok"]);
    }
    let other = rotate("rotation-2026-12-08").await;
    assert_ne!(other["secret"], first["secret"], "another key rotates");
    let r = t
        .call_with(
            "POST",
            &format!("/v1/webhooks/{id}/rotate-secret"),
            Some(&key),
            None,
            &[("idempotency-key", "   ")],
        )
        .await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST, "{}", r.text());
    assert_eq!(r.json()["error"]["field"], "Idempotency-Key");
}

/// A create whose answer was lost, sent again with its `Idempotency-Key`, gets the endpoint and
/// secret it made (without the key it would be refused as `webhook_exists`: the secret lost).
#[tokio::test]
async fn a_create_sent_again_with_its_idempotency_key_answers_the_same_endpoint_and_secret() {
    let t = spawn_app().await;
    let (_, key) = t.issuer("재시도대학교").await;
    let (url, _inbox) = receiver(&[]).await;
    let create = |body: Value, idem: &'static str| {
        let key = key.clone();
        let t = &t;
        async move {
            let h = [("idempotency-key", idem)];
            t.call_with("POST", "/v1/webhooks", Some(&key), Some(body), &h)
                .await
        }
    };
    let body = json!({"url": url, "events": ["award.issued", "award.revoked"]});
    let first = create(body.clone(), "create-hook-1").await;
    assert_eq!(first.status, StatusCode::CREATED, "{}", first.text());
    // The same request, its fields in another order: the same endpoint and secret, 200.
    let reordered = json!({"events": ["award.revoked", "award.issued"], "url": url});
    let again = create(reordered, "create-hook-1").await;
    assert_eq!(again.status, StatusCode::OK, "{}", again.text());
    assert_eq!(again.json()["id"], first.json()["id"]);
    assert_eq!(again.json()["secret"], first.json()["secret"]);
    let all = t.call("GET", "/v1/webhooks", Some(&key), None).await.json();
    assert_eq!(all["data"].as_array().unwrap().len(), 1, "{all:#}");
    // The key with another request is refused, naming what it made.
    let other = create(
        json!({"url": url, "events": ["award.issued"]}),
        "create-hook-1",
    )
    .await;
    other.assert_refused(StatusCode::UNPROCESSABLE_ENTITY, "idempotency_key_reused");
    let id = first.json()["id"].as_str().unwrap().to_owned();
    assert!(other.text().contains(&id), "{}", other.text());
    // A PATCH that changes nothing writes nothing: the version stays.
    let same = json!({"events": ["award.revoked", "award.issued"]});
    let path = format!("/v1/webhooks/{id}");
    let r = t.call("PATCH", &path, Some(&key), Some(same)).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text());
    assert_eq!(r.json()["version"], 1, "{}", r.text());
    // After a rotation the create's key no longer shows a secret: the new one is the
    // rotation's to show.
    let rotated = t
        .call("POST", &format!("{path}/rotate-secret"), Some(&key), None)
        .await;
    assert_eq!(rotated.status, StatusCode::OK, "{}", rotated.text());
    let late = create(body.clone(), "create-hook-1").await;
    late.assert_refused(StatusCode::CONFLICT, "idempotency_key_used");
    assert!(!late
        .text()
        .contains(rotated.json()["secret"].as_str().unwrap()));
    // Once the endpoint is removed, its key says so instead of making another.
    t.call("DELETE", &format!("/v1/webhooks/{id}"), Some(&key), None)
        .await;
    let gone = create(body, "create-hook-1").await;
    gone.assert_refused(StatusCode::CONFLICT, "idempotency_key_used");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_receiver_that_never_answers_2xx_is_switched_off_after_the_schedule_and_admins_are_told()
{
    let t = spawn_app().await;
    let (_, key) = t.issuer("실패대학교").await;
    let (url, inbox) = receiver(&[500; 12]).await;
    let w = register(&t, &key, json!({"url": url})).await;
    let id = w["id"].as_str().unwrap();
    t.call("POST", &format!("/v1/webhooks/{id}/test"), Some(&key), None)
        .await;
    t.deliver_webhooks().await;
    let mut clock = Utc::now();
    while let Some(at) = next_attempt(&t, &key, id).await {
        assert!(at > clock);
        clock = at;
        assert_eq!(t.fire_schedules(clock).await, 1);
        assert_eq!(t.deliver_webhooks().await, 1);
    }
    assert_eq!(inbox.all().len(), 12, "the first attempt and 11 retries");
    assert!(clock - Utc::now() >= accolade::domain::webhook::FAILING_LIMIT);
    let d = &deliveries(&t, &key, id).await[0];
    assert_eq!(d["state"], "failed", "{d:#}");
    let now = t
        .call("GET", &format!("/v1/webhooks/{id}"), Some(&key), None)
        .await
        .json();
    assert_eq!(now["enabled"], false, "{now:#}");
    assert!(now["disabled_reason"]
        .as_str()
        .unwrap()
        .contains("HTTP 500"));
    let mail = admins_told_once(&t, id).await;
    assert!(mail[0].text.contains(&url));
    // A Korean issuer is told the failure in Korean, the receiver's words kept.
    let said = "마지막 오류: 수신 서버가 HTTP 500 오류로 응답했습니다";
    assert!(mail[0].text.contains(said), "{}", mail[0].text);
    // Switched off: a test event is refused; switching it on again clears the failure.
    let r = t
        .call("POST", &format!("/v1/webhooks/{id}/test"), Some(&key), None)
        .await;
    assert_eq!(r.status, StatusCode::CONFLICT);
    let on = t
        .call(
            "PATCH",
            &format!("/v1/webhooks/{id}"),
            Some(&key),
            Some(json!({"enabled": true})),
        )
        .await
        .json();
    assert_eq!(on["enabled"], true);
    assert!(on["disabled_reason"].is_null() && on["failing_since"].is_null());
    // The failed delivery can be retried by hand, once, now.
    let msg = d["id"].as_str().unwrap();
    let r = t
        .call(
            "POST",
            &format!("/v1/webhooks/{id}/deliveries/{msg}/retry"),
            Some(&key),
            None,
        )
        .await;
    assert_eq!(r.status, StatusCode::ACCEPTED, "{}", r.text());
    t.deliver_webhooks().await;
    assert_eq!(inbox.all().len(), 13);
    assert_eq!(deliveries(&t, &key, id).await[0]["state"], "succeeded");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ssrf_targets_are_refused_at_registration_and_at_send() {
    let t = spawn_app().await;
    let (issuer, key) = t.issuer("보안대학교").await;
    for (url, says) in [
        ("https://127.0.0.1/hook", "loopback"),
        ("https://10.0.0.1/hook", "private"),
        ("https://169.254.169.254/latest/meta-data/", "link-local"),
        ("https://[::1]/hook", "loopback"),
        ("https://[fd00::1]/hook", "unique-local"),
        ("http://lms.example.ac.kr/hook", "https://"),
        ("https://lms.example.ac.kr:8443/hook", "port 443"),
        ("http://127.0.0.1:9/hook", "https://"),
    ] {
        let r = t
            .call(
                "POST",
                "/v1/webhooks",
                Some(&key),
                Some(json!({"url": url})),
            )
            .await;
        assert_eq!(r.status, StatusCode::BAD_REQUEST, "{url}: {}", r.text());
        let e = r.json();
        assert_eq!(e["error"]["field"], "url", "{e:#}");
        assert!(
            e["error"]["message"].as_str().unwrap().contains(says),
            "{url}: {e:#}"
        );
    }
    // An endpoint stored before the rules (or whose name now points inside) is checked again
    // at send: nothing is sent, and the delivery says why.
    for (url, says) in [
        ("https://127.0.0.1/hook", "loopback"),
        ("https://10.0.0.1/hook", "private"),
        ("https://169.254.169.254/latest/meta-data/", "link-local"),
        ("http://lms.example.ac.kr/hook", "not https"),
        (
            "https://lms.example.ac.kr:8443/hook",
            "not https on port 443",
        ),
    ] {
        let inside = stored_endpoint(&t, &issuer, url).await;
        test_event(&t, &key, inside.as_str()).await;
        t.deliver_webhooks().await;
        let d = &deliveries(&t, &key, inside.as_str()).await[0];
        let error = d["last_attempt"]["error"].as_str().unwrap_or_default();
        assert!(
            error.starts_with("not sent") && error.contains(says),
            "{url}: {d:#}"
        );
    }
    // A redirect is an answer, not followed.
    let (url, inbox) = receiver(&[302]).await;
    let w = register(&t, &key, json!({"url": url})).await;
    let id = w["id"].as_str().unwrap();
    t.call("POST", &format!("/v1/webhooks/{id}/test"), Some(&key), None)
        .await;
    t.deliver_webhooks().await;
    assert_eq!(inbox.all().len(), 1);
    let d = &deliveries(&t, &key, id).await[0];
    assert_eq!(d["last_attempt"]["status_code"], 302);
    assert!(d["last_attempt"]["error"]
        .as_str()
        .unwrap()
        .contains("redirects are not followed"));
    assert_eq!(d["state"], "pending", "a redirect is a failure, retried");
}

/// An endpoint written straight to the table (as one stored under older rules would be).
async fn stored_endpoint(t: &TestApp, issuer: &IssuerId, url: &str) -> WebhookId {
    let ok = WebhookUrl::parse("https://lms.example.ac.kr/hook", &AllowedHosts::default()).unwrap();
    let spec = WebhookSpec {
        url: ok,
        events: vec![],
        description: String::new(),
        enabled: true,
    };
    let mut w = Webhook::new(issuer.clone(), spec, Utc::now());
    w.url = serde_json::from_value(json!(url)).unwrap();
    t.app.store.create_webhook(&w, None).await.unwrap();
    w.id
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn endpoints_are_managed_by_admin_keys_and_checked_field_by_field() {
    let t = spawn_app().await;
    let (_, key) = t.issuer("관리대학교").await;
    let r = t.call("POST", "/v1/webhooks", Some(&key), Some(json!({"url": "https://lms.example.ac.kr/h", "events": ["award.issued", "award.sent"]}))).await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST);
    assert_eq!(r.json()["error"]["field"], "events[1]");
    let w = register(&t, &key, json!({"url": "https://lms.example.ac.kr/h"})).await;
    // The same URL again (a reloaded form, a retried request): refused, not a second endpoint
    // sending every event twice under other ids.
    let again = t
        .call(
            "POST",
            "/v1/webhooks",
            Some(&key),
            Some(json!({"url": "https://lms.example.ac.kr/h"})),
        )
        .await;
    assert_eq!(again.status, StatusCode::CONFLICT, "{}", again.text());
    assert_eq!(again.json()["error"]["code"], "webhook_exists");
    assert_eq!(again.json()["error"]["field"], "url");
    let listed = t.call("GET", "/v1/webhooks", Some(&key), None).await.json();
    assert_eq!(listed["data"].as_array().unwrap().len(), 1);
    assert!(
        !w["events"]
            .as_array()
            .unwrap()
            .contains(&json!("award.viewed")),
        "award.viewed is chosen, not default"
    );
    let id = w["id"].as_str().unwrap();
    let p = t
        .call(
            "PATCH",
            &format!("/v1/webhooks/{id}"),
            Some(&key),
            Some(json!({"events": ["award.viewed"], "description": "CRM"})),
        )
        .await;
    assert_eq!(p.status, StatusCode::OK, "{}", p.text());
    assert_eq!(p.json()["events"], json!(["award.viewed"]));
    assert_eq!(p.json()["url"], "https://lms.example.ac.kr/h");
    let bad = t
        .call(
            "PATCH",
            &format!("/v1/webhooks/{id}"),
            Some(&key),
            Some(json!({"url": "https://10.1.1.1/x"})),
        )
        .await;
    assert_eq!(bad.status, StatusCode::BAD_REQUEST);
    // An integration key cannot see or change endpoints.
    let k = t
        .call(
            "POST",
            "/v1/api-keys",
            Some(&key),
            Some(json!({"name": "LMS"})),
        )
        .await
        .json();
    let integration = k["key"].as_str().unwrap();
    let r = t.call("GET", "/v1/webhooks", Some(integration), None).await;
    assert_eq!(r.status, StatusCode::FORBIDDEN);
    // Switched off with an event waiting: it is cancelled, not sent.
    let (url, inbox) = receiver(&[]).await;
    let p = json!({"url": url, "enabled": true});
    t.call("PATCH", &format!("/v1/webhooks/{id}"), Some(&key), Some(p))
        .await;
    test_event(&t, &key, id).await;
    let off = json!({"enabled": false});
    t.call(
        "PATCH",
        &format!("/v1/webhooks/{id}"),
        Some(&key),
        Some(off),
    )
    .await;
    t.deliver_webhooks().await;
    assert!(inbox.all().is_empty());
    assert_eq!(deliveries(&t, &key, id).await[0]["state"], "cancelled");
    let r = t
        .call("DELETE", &format!("/v1/webhooks/{id}"), Some(&key), None)
        .await;
    assert_eq!(r.status, StatusCode::NO_CONTENT);
    let r = t
        .call("GET", &format!("/v1/webhooks/{id}"), Some(&key), None)
        .await;
    assert_eq!(r.status, StatusCode::NOT_FOUND);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_aws_event_samples_reach_the_webhooks_function() {
    let t = spawn_app().await;
    let (issuer, key) = t.issuer("샘플대학교").await;
    let (url, inbox) = receiver(&[500]).await;
    let w = register(&t, &key, json!({"url": url})).await;
    let id = w["id"].as_str().unwrap();
    // A delivery waiting for its first attempt (its queued message is left in the queue).
    let d = t
        .call("POST", &format!("/v1/webhooks/{id}/test"), Some(&key), None)
        .await
        .json();
    let msg = d["id"].as_str().unwrap();
    let fill = |name: &str| -> Value {
        let text =
            std::fs::read_to_string(infra::repo_root().join("tests/events").join(name)).unwrap();
        let text = text
            .replace("iss_AAAAAAAAAAAAAAAAAAAAAA", issuer.as_str())
            .replace("whk_AAAAAAAAAAAAAAAAAAAAAA", id)
            .replace("msg_AAAAAAAAAAAAAAAAAAAAAA", msg);
        serde_json::from_str(&text).unwrap()
    };
    let out = t
        .invoke(
            accolade_tests::FunctionName::Webhooks,
            fill("sqs-webhook-attempts.json"),
        )
        .await
        .unwrap();
    assert_eq!(out, json!({"batchItemFailures": []}));
    assert_eq!(inbox.all().len(), 1);
    // The sample retry is of attempt 1, which failed: it is due, and makes attempt 2.
    let out = t
        .invoke(
            accolade_tests::FunctionName::Webhooks,
            fill("sqs-webhook-retry.json"),
        )
        .await
        .unwrap();
    assert_eq!(out, json!({"batchItemFailures": []}));
    assert_eq!(inbox.all().len(), 2);
    let d = &deliveries(&t, &key, id).await[0];
    let done = (d["state"].as_str(), d["attempts"].as_u64());
    assert_eq!(done, (Some("succeeded"), Some(2)), "{d:#}");
    // The queued copy of the first message finds it done: nothing more is sent.
    t.deliver_webhooks().await;
    assert_eq!(inbox.all().len(), 2);
}

/// An issuer whose endpoint (`webhook`) wants `award.expired`, and a time minutes ahead, with a
/// fraction of a second (as an API client may send it), for its awards to expire `at`.
struct Expiry {
    t: TestApp,
    key: String,
    tpl: Value,
    inbox: Inbox,
    webhook: String,
    at: DateTime<Utc>,
}

impl Expiry {
    async fn new() -> Self {
        let t = spawn_app().await;
        let (key, tpl) = t.issuer_with_template().await;
        let (url, inbox) = receiver(&[]).await;
        let w = register(&t, &key, json!({"url": url, "events": ["award.expired"]})).await;
        let webhook = w["id"].as_str().unwrap().to_owned();
        let at = Utc::now() + chrono::Duration::minutes(5);
        Expiry {
            t,
            key,
            tpl,
            inbox,
            webhook,
            at,
        }
    }

    /// An award that expires `at`; its emails sent or not.
    async fn award(&self, notify: bool) -> Value {
        let to = unique_email("exp");
        let body = json!({"template_id": self.tpl["id"], "notify": notify,
            "expires_on": self.at.to_rfc3339(), "recipient": {"email": to, "name": "만료 예정"}});
        self.t.issue(&self.key, body).await
    }

    /// The award ids of the `award.expired` events the receiver got, sorted.
    fn expired_events(&self) -> Vec<String> {
        sorted(
            (self.inbox.of_type("award.expired").iter())
                .map(|m| m.json()["data"]["award_id"].as_str().unwrap().to_owned())
                .collect(),
        )
    }

    /// The expiry's bucket, run (as Scheduler runs it) a second after the awards expired.
    async fn run_bucket(&self) -> Value {
        let bucket = accolade::domain::followup::bucket_of(self.at);
        let after = (self.at + chrono::Duration::seconds(1)).to_rfc3339();
        let due = json!({"kind": "due", "bucket": bucket, "now": after});
        let notify = accolade_tests::FunctionName::Notify;
        self.t.invoke(notify, due).await.unwrap()
    }
}

fn sorted(mut v: Vec<String>) -> Vec<String> {
    v.sort();
    v
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_award_that_expires_sends_award_expired_once_when_its_time_comes() {
    let e = Expiry::new().await;
    let (t, key, inbox, expires) = (&e.t, &e.key, &e.inbox, e.at);
    // One without emails (the event does not depend on them), one revoked before its time.
    let a = e.award(false).await;
    let b = e.award(true).await;
    let r = t
        .call(
            "POST",
            &format!("/v1/awards/{}/revoke", b["id"].as_str().unwrap()),
            Some(key),
            Some(json!({"reason": "취소"})),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK);
    settle(t).await;
    assert!(inbox.all().is_empty(), "nothing before the time");
    // The expiry hour's bucket fires at the end of that hour (Scheduler's time, the test clock).
    let bucket_end = accolade::domain::followup::bucket_fires_at(
        &accolade::domain::followup::bucket_of(expires),
    )
    .unwrap();
    // A bucket due within minutes runs a minute after it is queued, so maybe before the expiry:
    // then it leaves the item and runs again at the expiry (a schedule of its own).
    let bucket = accolade::domain::followup::bucket_of(expires);
    let early = (expires - chrono::Duration::minutes(1)).to_rfc3339();
    let due = json!({"kind": "due", "bucket": bucket, "now": early});
    t.invoke(accolade_tests::FunctionName::Notify, due)
        .await
        .unwrap();
    t.deliver_webhooks().await;
    assert!(inbox.all().is_empty(), "not before its time");
    // The rerun comes at the expiry itself, rounded up to Scheduler's whole second (rounded
    // down, it judged the expiry not yet come and could never be rescheduled): the event comes
    // from it, before the bucket's own end.
    let rerun = accolade::schedules::whole_second_up(expires);
    while t.fire_schedules(rerun).await > 0 {}
    t.deliver_webhooks().await;
    assert_eq!(
        inbox.of_type("award.expired").len(),
        1,
        "{:#?}",
        inbox.all()
    );
    while t.fire_schedules(bucket_end).await > 0 {}
    t.deliver_webhooks().await;
    let got = inbox.of_type("award.expired");
    assert_eq!(got.len(), 1, "once: {:#?}", inbox.all());
    let data = &got[0].json()["data"];
    assert_eq!(data["award_id"], a["id"]);
    assert_eq!(
        got[0].json()["timestamp"].as_str().unwrap()[..16],
        expires.to_rfc3339()[..16]
    );
    // The bucket again (Scheduler retrying it): no second event.
    t.runner().fire_due_schedules(bucket_end).await.unwrap();
    t.deliver_webhooks().await;
    assert_eq!(inbox.all().len(), 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_bucket_of_expiries_reads_the_issuers_endpoints_once_and_sends_each_event() {
    let e = Expiry::new().await;
    let mut ids = Vec::new();
    for _ in 0..4 {
        ids.push(e.award(false).await["id"].as_str().unwrap().to_owned());
    }
    settle(&e.t).await;
    e.t.requests.reset();
    let out = e.run_bucket().await;
    let seen = e.t.requests.snapshot();
    assert_eq!(out["outcomes"]["award.expired"], 4, "{out:#}");
    // The bucket's due items (one Query per shard of its partitions, and one per shard of the
    // old layout's index), then one for the issuer's endpoints: once for the bucket, not once
    // an award.
    let shards = u64::from(accolade::domain::followup::SHARDS);
    assert_eq!(
        e.t.requests.get("dynamodb.Query"),
        2 * shards + 1,
        "{seen:?}"
    );
    // One read an award: the one that finds it expired also gives the event its data.
    assert_eq!(e.t.requests.get("dynamodb.GetItem"), 4, "{seen:?}");
    e.t.deliver_webhooks().await;
    assert_eq!(e.expired_events(), sorted(ids));
}

/// The one read of the issuer's endpoints that a bucket's expiries share fails: throttled once
/// (the SDK retries it); throttled or timed out three times in a row, more than the SDK tries,
/// so the read fails for the award that made it — the next award's read is made again, not
/// the failure shared, and the failed award's run fails and Lambda's asynchronous retry runs
/// the bucket again; or the run dies there. Each `award.expired` is still sent once (none lost
/// to a failure taken for "no endpoints"), and the bucket is left empty.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_failed_endpoints_read_in_a_bucket_of_expiries_loses_and_doubles_nothing() {
    use infra::metering::Fault;
    let shards = usize::from(accolade::domain::followup::SHARDS);
    let plans = [
        (Fault::Throttle, 1),
        (Fault::Throttle, 3),
        (Fault::Timeout, 3),
        (Fault::Crash, 1),
    ];
    for (fault, times) in plans {
        let e = Expiry::new().await;
        let mut ids = Vec::new();
        for _ in 0..3 {
            ids.push(e.award(false).await["id"].as_str().unwrap().to_owned());
        }
        settle(&e.t).await;
        // The bucket's due items come first (16 shards, and 16 of the old layout's index), and
        // nothing else the run does is a Query: the next one is the endpoints read.
        e.t.faults()
            .arm_at_nth("dynamodb.Query", 2 * shards, times, fault);
        let bucket = accolade::domain::followup::bucket_of(e.at);
        let after = (e.at + chrono::Duration::seconds(1)).to_rfc3339();
        let due = json!({"kind": "due", "bucket": bucket, "now": after});
        let notify = accolade_tests::FunctionName::Notify;
        e.t.lambda.invoke_async(notify, due).await.unwrap();
        let fired = e.t.faults().fired();
        assert_eq!(
            fired.as_deref(),
            Some("dynamodb.Query"),
            "{fault:?} ×{times}"
        );
        assert!(e.t.lambda.failures().is_empty(), "{fault:?} ×{times}");
        e.t.deliver_webhooks().await;
        assert_eq!(
            e.expired_events(),
            sorted(ids.clone()),
            "{fault:?} ×{times}"
        );
        let left = e.t.app.store.due_in(&bucket).await.unwrap();
        assert!(left.is_empty(), "{fault:?} ×{times}: {left:?}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_event_the_endpoint_unsubscribed_from_before_its_attempt_is_cancelled_not_sent() {
    let e = Expiry::new().await;
    e.award(false).await;
    settle(&e.t).await;
    let out = e.run_bucket().await;
    assert_eq!(out["outcomes"]["award.expired"], 1, "{out:#}");
    // The delivery is made and queued; before its attempt, the endpoint drops the event type.
    let only_revoked = json!({"events": ["award.revoked"]});
    let path = format!("/v1/webhooks/{}", e.webhook);
    let r =
        e.t.call("PATCH", &path, Some(&e.key), Some(only_revoked))
            .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text());
    e.t.deliver_webhooks().await;
    assert!(e.inbox.all().is_empty(), "{:#?}", e.inbox.all());
    let d = &deliveries(&e.t, &e.key, &e.webhook).await[0];
    let got = (d["event_type"].as_str(), d["state"].as_str());
    assert_eq!(got, (Some("award.expired"), Some("cancelled")), "{d:#}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_attempt_whose_sender_died_is_taken_over_and_a_live_one_is_not_doubled() {
    let t = spawn_app().await;
    let (_, key) = t.issuer("중단대학교").await;
    let (url, inbox) = receiver(&[]).await;
    let w = register(&t, &key, json!({"url": url})).await;
    let id = w["id"].as_str().unwrap();
    let webhook = WebhookId::parse(id).unwrap();
    // A sender claimed the first attempt and is still at it: its queued copy sends nothing, and
    // a manual retry is refused.
    let live = test_event(&t, &key, id).await;
    let d = t
        .app
        .store
        .delivery(&webhook, &live)
        .await
        .unwrap()
        .unwrap();
    assert!(t.app.store.claim_attempt(&d, Utc::now()).await.unwrap());
    let r = t
        .call(
            "POST",
            &format!("/v1/webhooks/{id}/deliveries/{live}/retry"),
            Some(&key),
            None,
        )
        .await;
    assert_eq!(r.status, StatusCode::CONFLICT, "{}", r.text());
    t.deliver_webhooks().await;
    assert!(
        inbox.all().is_empty(),
        "the attempt in flight is not sent twice"
    );
    // A sender that claimed an attempt and died: once its claim has run out, the next message
    // takes the attempt over and sends it, once.
    let dead = test_event(&t, &key, id).await;
    let d = t
        .app
        .store
        .delivery(&webhook, &dead)
        .await
        .unwrap()
        .unwrap();
    let then = Utc::now() - chrono::Duration::seconds(accolade::store::webhooks::CLAIM_SECS + 5);
    assert!(t.app.store.claim_attempt(&d, then).await.unwrap());
    t.deliver_webhooks().await;
    assert_eq!(inbox.all().len(), 1);
    assert_eq!(inbox.all()[0].header("webhook-id"), dead);
    let d = t
        .app
        .store
        .delivery(&webhook, &dead)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        (d.state, d.attempts),
        (accolade::domain::webhook::DeliveryState::Succeeded, 2)
    );
}

/// A queued `webhook.test` delivery's id.
async fn test_event(t: &TestApp, key: &str, webhook: &str) -> String {
    let r = t
        .call(
            "POST",
            &format!("/v1/webhooks/{webhook}/test"),
            Some(key),
            None,
        )
        .await;
    assert_eq!(r.status, StatusCode::ACCEPTED, "{}", r.text());
    r.json()["id"].as_str().unwrap().to_owned()
}

/// What a webhook costs, in requests (asserted) and in the request units DynamoDB would bill
/// (printed; docs/performance.md): the stream batch that makes the delivery, then its attempt.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn what_an_event_and_its_delivery_cost() {
    let t = spawn_app().await;
    let (key, tpl) = t.issuer_with_template().await;
    let (url, inbox) = receiver(&[]).await;
    register(&t, &key, json!({"url": url, "events": ["award.issued"]})).await;
    let to = unique_email("cost");
    t.issue(&key, json!({"template_id": tpl["id"], "notify": false, "recipient": {"email": to, "name": "비용"}})).await;
    t.request_units().await;
    t.requests.reset();
    t.roll_up().await;
    let made = t.requests.snapshot();
    let units = t.request_units().await;
    eprintln!("webhooks: the stream batch with one award.issued for one endpoint: requests {made:?}, units {units}");
    assert_eq!(
        made.get("dynamodb.Query"),
        Some(&1),
        "the issuer's endpoints: {made:?}"
    );
    assert_eq!(
        made.get("dynamodb.PutItem"),
        Some(&1),
        "the delivery: {made:?}"
    );
    assert_eq!(made.get("sqs.SendMessageBatch"), Some(&1), "{made:?}");
    t.requests.reset();
    t.deliver_webhooks().await;
    let attempt = t.requests.snapshot();
    let units = t.request_units().await;
    eprintln!("webhooks: one delivered attempt: requests {attempt:?}, units {units}");
    assert_eq!(inbox.all().len(), 1);
    let want: std::collections::BTreeMap<String, u64> = [
        ("dynamodb.GetItem".to_owned(), 2),
        ("dynamodb.UpdateItem".to_owned(), 2),
    ]
    .into();
    assert_eq!(attempt, want);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_retry_whose_sender_died_after_claiming_is_taken_over_by_its_redelivered_message() {
    let t = spawn_app().await;
    let (_, key) = t.issuer("재시도중단대학교").await;
    let (url, inbox) = receiver(&[500]).await;
    let w = register(&t, &key, json!({"url": url})).await;
    let id = w["id"].as_str().unwrap();
    let msg = test_event(&t, &key, id).await;
    t.deliver_webhooks().await;
    let at = next_attempt(&t, &key, id)
        .await
        .expect("a retry is scheduled");
    // The retry's sender claims attempt 2 and dies before sending or scheduling anything; its
    // message (naming attempt 1) comes back once the claim has run out.
    let webhook = WebhookId::parse(id).unwrap();
    let d = t.app.store.delivery(&webhook, &msg).await.unwrap().unwrap();
    let then = Utc::now() - chrono::Duration::seconds(accolade::store::webhooks::CLAIM_SECS + 5);
    assert!(t.app.store.claim_attempt(&d, then).await.unwrap());
    assert_eq!(t.fire_schedules(at).await, 1);
    t.deliver_webhooks().await;
    assert_eq!(inbox.all().len(), 2, "taken over and sent");
    let d = t.app.store.delivery(&webhook, &msg).await.unwrap().unwrap();
    assert_eq!(
        (d.state, d.attempts),
        (accolade::domain::webhook::DeliveryState::Succeeded, 3)
    );
}

/// The claim of an attempt was written but its answer lost (DynamoDB throttled the answer; the
/// SDK sends the same request again): the resent claim finds its own token and the attempt goes
/// on. Before, the resend failed its condition, the attempt took the delivery for another
/// sender's, and the message was deleted with the delivery left `sending` for good.
#[tokio::test]
async fn an_attempt_whose_claims_answer_was_lost_is_sent_once() {
    let t = spawn_app().await;
    let (_, key) = t.issuer("응답유실대학").await;
    let (url, inbox) = receiver(&[]).await;
    let w = register(&t, &key, json!({"url": url})).await;
    let id = w["id"].as_str().unwrap();
    test_event(&t, &key, id).await;
    t.faults().arm_at_nth(
        "dynamodb.UpdateItem",
        0,
        1,
        infra::metering::Fault::Throttle,
    );
    t.deliver_webhooks().await;
    assert_eq!(t.faults().fired().as_deref(), Some("dynamodb.UpdateItem"));
    t.faults().arm_at(0, None);
    assert_eq!(inbox.all().len(), 1);
    let d = &deliveries(&t, &key, id).await[0];
    assert_eq!(d["state"], "succeeded", "{d:#}");
    assert_eq!(d["attempts"], 1, "{d:#}");
}

/// A message the function cannot read (a body that is not a delivery job) is reported failed,
/// not dropped: after the queue's receive limit it lands in the failure queue, where its alarm
/// and `infra replay-failures` see it. Before, it was deleted without a trace but a log line.
#[tokio::test]
async fn an_unreadable_webhook_message_is_failed_for_the_failure_queue_not_dropped() {
    let t = spawn_app().await;
    let event = serde_json::json!({"Records": [
        {"messageId": "m-unreadable", "body": "not a delivery job", "eventSource": "aws:sqs"}
    ]});
    let app = t.app_of(accolade_tests::FunctionName::Webhooks);
    let out = accolade::webhooks::send::handle_event(app, event)
        .await
        .unwrap();
    assert_eq!(
        out["batchItemFailures"],
        serde_json::json!([{"itemIdentifier": "m-unreadable"}]),
        "{out}"
    );
}

/// A second copy of a first attempt's message (a retried stream batch queues it again while the
/// first still waits in the queue) that comes after that attempt failed is stale: it sends
/// nothing, and the retry keeps its back-off. Before, a message without an attempt number was due
/// whenever the delivery waited: the copy made attempt 2 at once.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_copy_of_a_first_attempts_message_after_it_failed_sends_nothing() {
    let t = spawn_app().await;
    let (_, key) = t.issuer("중복메시지대학교").await;
    let (url, inbox) = receiver(&[500]).await;
    let w = register(&t, &key, json!({"url": url})).await;
    let id = w["id"].as_str().unwrap();
    let msg = test_event(&t, &key, id).await;
    let webhook = WebhookId::parse(id).unwrap();
    let queued = t.app.store.delivery(&webhook, &msg).await.unwrap().unwrap();
    assert_eq!(t.deliver_webhooks().await, 1);
    let retry_at = next_attempt(&t, &key, id)
        .await
        .expect("a retry is scheduled");
    // The same message again, as `enqueue` makes it for a delivery still at 0 attempts.
    let copy = accolade::webhooks::message(&queued);
    t.app.queue.send_all(&[copy]).await.unwrap();
    assert_eq!(t.deliver_webhooks().await, 1);
    assert_eq!(inbox.all().len(), 1, "the copy found attempt 1 made");
    assert_eq!(next_attempt(&t, &key, id).await, Some(retry_at));
    assert_eq!(t.fire_schedules(retry_at).await, 1);
    t.deliver_webhooks().await;
    assert_eq!(inbox.all().len(), 2);
    assert_eq!(deliveries(&t, &key, id).await[0]["state"], "succeeded");
}

/// The one email telling the issuer's admins that endpoint `id` was switched off.
async fn admins_told_once(t: &TestApp, id: &str) -> Vec<accolade_tests::Mail> {
    let mail: Vec<_> = t
        .mail_to("badges@univ.example.ac.kr")
        .await
        .into_iter()
        .filter(|m| m.header("X-Accolade-Webhook").as_deref() == Some(id))
        .collect();
    assert_eq!(mail.len(), 1, "the admins are told once");
    mail
}

/// A receiver answering 410 Gone is switched off at once (Standard Webhooks: "the sender should
/// disable the webhook endpoint"), not retried for 5 days; the admins are told why.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_receiver_answering_410_gone_is_switched_off_at_once() {
    let t = spawn_app().await;
    let (_, key) = t.issuer("사라진대학교").await;
    let (url, inbox) = receiver(&[410]).await;
    let w = register(&t, &key, json!({"url": url})).await;
    let id = w["id"].as_str().unwrap();
    test_event(&t, &key, id).await;
    t.deliver_webhooks().await;
    assert_eq!(inbox.all().len(), 1);
    let d = &deliveries(&t, &key, id).await[0];
    assert_eq!(d["state"], "failed", "{d:#}");
    assert!(d["next_attempt_at"].is_null());
    let now = t
        .call("GET", &format!("/v1/webhooks/{id}"), Some(&key), None)
        .await
        .json();
    assert_eq!(now["enabled"], false, "{now:#}");
    assert!(now["disabled_reason"].as_str().unwrap().contains("410"));
    let mail = admins_told_once(&t, id).await;
    assert!(mail[0].text.contains("410"), "{}", mail[0].text);
}

/// An endpoint answering 410, with a test event waiting for it: its id.
async fn gone(t: &TestApp, key: &str) -> String {
    let (url, _) = receiver(&[410]).await;
    let w = register(t, key, json!({"url": url})).await;
    let id = w["id"].as_str().unwrap().to_owned();
    test_event(t, key, &id).await;
    id
}

/// The switch-off's answer lost (a timeout after the write landed: the SDK sends it again, and
/// that copy finds the endpoint off already): the admins are still told, once.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_switch_off_whose_answer_was_lost_still_tells_the_admins_once() {
    let t = spawn_app().await;
    let (_, key) = t.issuer("끊긴대학교").await;
    // A clean run: the switch-off is the attempt's last UpdateItem.
    let first = gone(&t, &key).await;
    t.faults().arm_at(0, None);
    t.deliver_webhooks().await;
    let updates = t
        .faults()
        .calls()
        .iter()
        .filter(|c| *c == "dynamodb.UpdateItem")
        .count();
    admins_told_once(&t, &first).await;
    let second = gone(&t, &key).await;
    t.faults().arm_at_nth(
        "dynamodb.UpdateItem",
        updates - 1,
        1,
        infra::metering::Fault::Timeout,
    );
    t.deliver_webhooks().await;
    assert!(
        t.faults().fired().is_some(),
        "the switch-off's answer was lost"
    );
    let now = t
        .call("GET", &format!("/v1/webhooks/{second}"), Some(&key), None)
        .await
        .json();
    assert_eq!(now["enabled"], false, "{now:#}");
    admins_told_once(&t, &second).await;
}

/// The success that shows a mark stale may have overlapped the failure that set it: started
/// before the mark (a failure's mark is its clock, taken after a request of up to the deadline)
/// and answered while that failure waited. It still counts.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_success_overlapping_the_failure_that_set_the_mark_keeps_the_endpoint_on() {
    let t = spawn_app().await;
    let (issuer, key) = t.issuer("겹친대학교").await;
    let (url, inbox) = receiver(&[200, 502]).await;
    let w = register(&t, &key, json!({"url": url})).await;
    let id = w["id"].as_str().unwrap();
    let first = test_event(&t, &key, id).await;
    t.deliver_webhooks().await;
    let webhook = WebhookId::parse(id).unwrap();
    // Six days ago: the success started 10 s before the failure that set the mark.
    let long_ago = Utc::now() - chrono::Duration::days(6);
    let d = t
        .app
        .store
        .delivery(&webhook, &first)
        .await
        .unwrap()
        .unwrap();
    let mut success = d.last.clone().expect("its attempt");
    success.at = long_ago - chrono::Duration::seconds(10);
    let state = accolade::domain::webhook::DeliveryState::Succeeded;
    assert!(t
        .app
        .store
        .finish_attempt(&d, &success, state, None)
        .await
        .unwrap());
    let stored = t
        .app
        .store
        .webhook(&issuer, &webhook)
        .await
        .unwrap()
        .unwrap();
    t.app
        .store
        .set_failing(&stored, Some(long_ago))
        .await
        .unwrap();
    one_failure_keeps_it_on(&t, &key, id, &inbox).await;
}

/// A failing event after a stale mark: sent (the second request the receiver got), the endpoint
/// still on and the event retried as usual. Answers the endpoint as read after.
async fn one_failure_keeps_it_on(t: &TestApp, key: &str, id: &str, inbox: &Inbox) -> Value {
    test_event(t, key, id).await;
    t.deliver_webhooks().await;
    assert_eq!(inbox.all().len(), 2);
    let now = t
        .call("GET", &format!("/v1/webhooks/{id}"), Some(key), None)
        .await
        .json();
    assert_eq!(now["enabled"], true, "{now:#}");
    assert!(next_attempt(t, key, id).await.is_some(), "retried as usual");
    now
}

/// An endpoint's failing mark can outlive a success (the write that clears it lost, or a failure
/// racing the success marked it again): a single failure days later must not switch a healthy
/// endpoint off. A delivery that succeeded since the mark restarts the count.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_stale_failing_mark_does_not_switch_a_healthy_endpoint_off() {
    let t = spawn_app().await;
    let (issuer, key) = t.issuer("건강한대학교").await;
    let (url, inbox) = receiver(&[200, 502]).await;
    let w = register(&t, &key, json!({"url": url})).await;
    let id = w["id"].as_str().unwrap();
    test_event(&t, &key, id).await;
    t.deliver_webhooks().await;
    // The success's clear lost: the mark says failing since 6 days before that success.
    let webhook = WebhookId::parse(id).unwrap();
    let stored = t
        .app
        .store
        .webhook(&issuer, &webhook)
        .await
        .unwrap()
        .unwrap();
    let long_ago = Utc::now() - chrono::Duration::days(6);
    t.app
        .store
        .set_failing(&stored, Some(long_ago))
        .await
        .unwrap();
    let now = one_failure_keeps_it_on(&t, &key, id, &inbox).await;
    let since: DateTime<Utc> = now["failing_since"].as_str().unwrap().parse().unwrap();
    assert!(
        Utc::now() - since < chrono::Duration::hours(1),
        "counted from now: {since}"
    );
}
